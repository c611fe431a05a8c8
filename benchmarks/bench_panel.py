"""The JupyterLab panel in Chromium: 10,000 runs painted, a 1,000,000-point metric history drawn,
a run's 500 images laid out and shown.

    python benchmarks/bench_panel.py [--runs 10000] [--points 1000000] [--images 500] [--repeats 3] [--rebuild]

Fills a store (kept in $TMPDIR between invocations: building it takes minutes, measuring
seconds; --rebuild makes a new one) with RUNS runs of a few params and metrics, written by two
processes through nbmlops' Python API, one run whose metric `loss` has POINTS points, and one run
with IMAGES images of 64x64 pixels under as many names (nbmlops.log_image). Then
Playwright (labextension/ui-tests/benchmarks/, Debian's /usr/bin/chromium) starts JupyterLab on
that store and times, inside the page:
  (a) from the "Open Runs" command until the first rows are painted, and from scrolling to the
      end until the last row is painted (target: 10,000 runs painted <= 1.5 s);
  (b) from the "Open Run" command until the history's chart canvas is drawn (target <= 1 s);
  (c) from the "Open Run" command until the Media section's grid of IMAGES thumbnails is painted,
      and until every thumbnail in the window has its image decoded (target <= 1 s each), with the
      layout shift the images caused (0: their boxes never move) and how many the browser fetched
      (lazy loading: those near the window, not all).
Prints the figures (median of --repeats, with min and max) and their ratio to the targets.
Needs `make install` and the ui-tests node packages (`make bench-panel` does both).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
UI_TESTS = ROOT / "labextension" / "ui-tests"
PORT = "8897"
EXPERIMENT = "bench"
HISTORY_EXPERIMENT = "bench-history"
MEDIA_EXPERIMENT = "bench-media"
TARGETS_MS = {"runs_first_rows_ms": 1500, "runs_last_row_ms": 1500, "history_drawn_ms": 1000,
              "media_grid_painted_ms": 1000, "media_visible_loaded_ms": 1000}
LABELS = {
    "runs_first_rows_ms": "runs view, command -> first rows painted",
    "runs_last_row_ms": "runs view, scroll to end -> last row painted",
    "history_drawn_ms": "run detail, command -> 1M-point chart drawn",
    "media_grid_painted_ms": "run detail, command -> media grid painted",
    "media_visible_loaded_ms": "run detail, command -> images in view shown",
}


def write_runs(store: str, start: int, stop: int) -> None:
    """Runs start..stop-1 of the benchmark experiment, in this process."""
    os.environ["NBMLOPS_STORE"] = store
    import nbmlops

    models = ["logistic_regression", "random_forest", "gradient_boosting"]
    for i in range(start, stop):
        with nbmlops.start_run(experiment=EXPERIMENT, name=f"bench-{i:05d}"):
            nbmlops.log_params({"lr": round(0.001 * (1 + i % 10), 4), "depth": i % 7,
                                "model": models[i % 3], "seed": i})
            nbmlops.log_metrics({"accuracy": 0.5 + (i * 7919 % 500) / 1000, "loss": 1 / (1 + i % 97),
                                 "f1": 0.4 + (i * 104729 % 600) / 1000})


def build_store(store: Path, runs: int, points: int) -> str:
    """A store with `runs` runs and one run with a `points`-point history; that run's id."""
    import numpy as np

    started = time.perf_counter()
    half = runs // 2
    with multiprocessing.get_context("spawn").Pool(2) as pool:
        pool.starmap(write_runs, [(str(store), 0, half), (str(store), half, runs)])
    print(f"  {runs:,} runs written in {time.perf_counter() - started:.0f} s", flush=True)

    os.environ["NBMLOPS_STORE"] = str(store)
    import nbmlops

    started = time.perf_counter()
    values = 1 / np.sqrt(np.arange(1, points + 1)) + np.random.default_rng(0).normal(0, 0.01, points)
    values[points // 3] = 5.0  # a spike the downsampled chart must keep
    with nbmlops.start_run(experiment=HISTORY_EXPERIMENT, name="history-1m"):
        for step, value in enumerate(values.tolist()):
            nbmlops.log_metric("loss", value, step=step)
    frame = nbmlops.runs(HISTORY_EXPERIMENT)  # folds every journal into the catalog now
    print(f"  {points:,}-point history written and folded in {time.perf_counter() - started:.0f} s",
          flush=True)
    return str(frame["run_id"].iloc[0])


def build_media_run(store: Path, images: int) -> str:
    """A run with `images` distinct 64x64 images, one per name; its id."""
    import numpy as np

    os.environ["NBMLOPS_STORE"] = str(store)
    os.environ["NBMLOPS_SYSTEM_METRICS"] = "0"  # the run's only content is its images
    import nbmlops

    started = time.perf_counter()
    rng = np.random.default_rng(0)
    with nbmlops.start_run(experiment=MEDIA_EXPERIMENT, name=f"media-{images}") as run:
        for i in range(images):
            image = np.zeros((64, 64, 3), dtype=np.uint8)
            image[:, :] = rng.integers(0, 256, 3, dtype=np.uint8)  # a flat color: a small PNG, as a sample grid's
            image[16:48, 16:48] = rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)
            nbmlops.log_image(image, f"sample-{i:04d}")
    nbmlops.runs(MEDIA_EXPERIMENT)
    print(f"  {images} images logged and folded in {time.perf_counter() - started:.0f} s", flush=True)
    return run.run_id


def prepared_store(runs: int, points: int, images: int, rebuild: bool) -> tuple[Path, dict[str, str]]:
    """The cached store for these sizes (built when missing or asked) and the ids of its special runs."""
    store = Path(tempfile.gettempdir()) / f"nbmlops-bench-panel-{runs}-{points}"
    info = store / "bench-panel.json"
    if rebuild or not info.is_file():
        shutil.rmtree(store, ignore_errors=True)
        print(f"Filling {store} (kept for the next run; --rebuild makes it again)", flush=True)
        run_id = build_store(store, runs, points)
        info.write_text(json.dumps({"history_run": run_id}))
    else:
        print(f"Reusing {store} (--rebuild to fill it again)", flush=True)
    ids = json.loads(info.read_text())
    if ids.get("media_images") != str(images):
        ids["media_run"] = build_media_run(store, images)
        ids["media_images"] = str(images)
        info.write_text(json.dumps(ids))
    return store, ids


def measure(store: Path, ids: dict[str, str], repeats: int) -> dict[str, object]:
    """Run the Playwright benchmark against `store`; the figures it wrote."""
    if not Path("/usr/bin/chromium").exists():
        raise SystemExit("bench_panel needs /usr/bin/chromium: apt-get update && apt-get install -y chromium")
    if not (UI_TESTS / "node_modules").is_dir():
        raise SystemExit("ui-tests node packages missing: "
                         "make bench-panel (or cd labextension/ui-tests && jlpm install)")
    venv_bin = Path(sys.executable).parent
    with tempfile.TemporaryDirectory() as tmp:
        output = Path(tmp) / "figures.json"
        env = {**os.environ, "PATH": f"{venv_bin}{os.pathsep}{os.environ.get('PATH', '')}",
               "NBMLOPS_UI_STORE": str(store), "NBMLOPS_UI_PORT": PORT,
               "NBMLOPS_BENCH_OUTPUT": str(output), "NBMLOPS_BENCH_EXPERIMENT": EXPERIMENT,
               "NBMLOPS_BENCH_HISTORY_RUN": ids["history_run"], "NBMLOPS_BENCH_MEDIA_RUN": ids["media_run"],
               "NBMLOPS_BENCH_REPEATS": str(repeats)}
        result = subprocess.run(["jlpm", "playwright", "test", "--config", "benchmarks/playwright.config.js"],
                                cwd=UI_TESTS, env=env)
        if result.returncode != 0 or not output.is_file():
            raise SystemExit("the browser benchmark failed (see above)")
        return json.loads(output.read_text())


def report(figures: dict[str, object], runs: int, images: int) -> None:
    """Median, min and max of each timing and its ratio to the target."""
    print(f"\nPanel in Chromium ({figures.get('runs_total')} runs in the runs view; "
          f"{os.cpu_count()} cores):")
    print(f"  {'measure':<48} {'median':>9} {'min':>9} {'max':>9} {'target':>8} {'ratio':>6}")
    for key, label in LABELS.items():
        values = figures.get(key)
        if not values:
            continue
        median = statistics.median(values)
        target = TARGETS_MS[key]
        print(f"  {label:<48} {median:>7.0f}ms {min(values):>7.0f}ms {max(values):>7.0f}ms "
              f"{target:>6}ms {median / target:>6.2f}")
    if figures.get("runs_total") != runs:
        print(f"  note: the view counted {figures.get('runs_total')} runs, expected {runs}")
    if not figures.get("history_caption_has_total"):
        print("  note: the chart's caption did not mention the 1,000,000 points it was downsampled from")
    if "media_cells" in figures:
        print(f"  media grid: {figures['media_cells']} of {images} thumbnails laid out, "
              f"{figures.get('media_visible')} of them in the window; images fetched by repeat "
              f"{figures.get('media_fetched')} (lazy loading: those near the window; later repeats find "
              f"some in the browser's cache); layout shift while they arrived {figures.get('media_layout_shift')}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument("--images", type=int, default=500)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--rebuild", action="store_true", help="fill the store again")
    args = parser.parse_args()
    store, ids = prepared_store(args.runs, args.points, args.images, args.rebuild)
    report(measure(store, ids, args.repeats), args.runs, args.images)
    return 0


if __name__ == "__main__":
    sys.exit(main())
