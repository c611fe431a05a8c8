"""Does the Optuna study search better than seeded random sampling, and what does pruning save?

    .venv/bin/python benchmarks/bench_optuna.py [--trials 20] [--seeds 5] [--workers 2] [--step-seconds 0.5]
                                                [--no-search] [--no-prune]

Search: a notebook logs score = -((x - 1.3)^2 + (y + 0.7)^2) (its peak at x=1.3, y=-0.7) for x, y
in uniform(-5, 5). For each seed, a TPE study (`--trials N --sampler tpe --seed S`) and a seeded
random sweep (`--random N --seed S`), both with `-j workers`, each in a fresh store; printed: each
seed's best distance to the peak, the means and their ratio, and the wall time per trial.
Pruning: a notebook logs the same score over 10 steps, `--step-seconds` apart, approaching its final value;
the same seeded TPE study runs with and without `--prune` (median pruner): trials pruned and the
kernel-seconds (sum of the children's run durations) both ways. Prints, never asserts.
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import tempfile
import time
from pathlib import Path

import nbformat

from nbmlops.jobs.sweeps import SweepResult, sweep
from nbmlops.store.folder import Store

PEAK = (1.3, -0.7)
SPACE = ["x=uniform(-5,5)", "y=uniform(-5,5)"]
SCORE = "-((x - 1.3) ** 2 + (y + 0.7) ** 2)"


def notebook(folder: Path, name: str, body: str) -> Path:
    cells = [nbformat.v4.new_code_cell("x = 0.0\ny = 0.0", metadata={"tags": ["parameters"]}),
             nbformat.v4.new_code_cell(body)]
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "language": "python", "display_name": "Python 3"}
    path = folder / f"{name}.ipynb"
    nbformat.write(nb, path)
    return path


def fresh_store() -> Store:
    store = Store(Path(tempfile.mkdtemp(prefix="bench-optuna-")) / ".nbmlops")
    store.init()
    store.release()
    return store


def timed(**kwargs: object) -> tuple[SweepResult, float]:
    start = time.perf_counter()
    result = sweep(fresh_store(), metric="score", progress=False, **kwargs)  # type: ignore[arg-type]
    return result, time.perf_counter() - start


def distance(result: SweepResult) -> float:
    best = result.best
    if best is None:
        return math.nan
    return math.hypot(best.params["x"] - PEAK[0], best.params["y"] - PEAK[1])


def kernel_seconds(result: SweepResult) -> float:
    return sum(c.duration or 0.0 for c in result.children)


def search(folder: Path, trials: int, seeds: int, workers: int) -> None:
    path = notebook(folder, "peak", f"import nbmlops\nnbmlops.log_metric('score', {SCORE})")
    rows = []
    for seed in range(seeds):
        tpe, tpe_wall = timed(notebook=path, trials=trials, dists=SPACE, sampler="tpe", seed=seed, workers=workers)
        rnd, rnd_wall = timed(notebook=path, random=trials, dists=SPACE, seed=seed, workers=workers)
        rows.append((distance(tpe), distance(rnd), tpe_wall / trials, rnd_wall / trials))
        print(f"seed {seed}: best distance to the peak  TPE {rows[-1][0]:.3f}  random {rows[-1][1]:.3f}   "
              f"wall per trial  TPE {rows[-1][2]:.2f} s  random {rows[-1][3]:.2f} s", flush=True)
    tpe_mean, rnd_mean = (statistics.mean(r[i] for r in rows) for i in (0, 1))
    print(f"mean best distance over {seeds} seeds, {trials} trials, -j {workers}: TPE {tpe_mean:.3f}, "
          f"random {rnd_mean:.3f} (TPE/random {tpe_mean / rnd_mean:.2f}); TPE closer in "
          f"{sum(r[0] < r[1] for r in rows)} of {seeds} seeds")
    print(f"mean wall per trial: TPE {statistics.mean(r[2] for r in rows):.2f} s, "
          f"random {statistics.mean(r[3] for r in rows):.2f} s", flush=True)


def pruning(folder: Path, trials: int, workers: int, step_seconds: float) -> None:
    body = ("import time, nbmlops\n"
            "for step in range(10):\n"
            f"    time.sleep({step_seconds})\n"
            f"    nbmlops.log_metric('score', {SCORE} - 5.0 / (step + 1), step=step)\n")
    path = notebook(folder, "steps", body)
    for prune in (False, True):
        result, wall = timed(notebook=path, trials=trials, dists=SPACE, sampler="tpe", seed=0, workers=workers,
                             prune=prune)
        print(f"{'with' if prune else 'without'} --prune, steps of {step_seconds} s: {len(result.pruned)} of "
              f"{len(result.children)} trials "
              f"pruned, {kernel_seconds(result):.1f} kernel-seconds, {wall:.1f} s wall, best distance "
              f"{distance(result):.3f}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--step-seconds", type=float, default=0.5, help="work per step of the pruning notebook")
    parser.add_argument("--no-search", action="store_true", help="skip TPE against random")
    parser.add_argument("--no-prune", action="store_true", help="skip the pruning figures")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench-optuna-nb-"))
    start = time.perf_counter()
    if not args.no_search:
        search(folder, args.trials, args.seeds, args.workers)
    if not args.no_prune:
        pruning(folder, args.trials, args.workers, args.step_seconds)
    print(f"total {time.perf_counter() - start:.0f} s", file=sys.stderr)


if __name__ == "__main__":
    main()
