"""Figures, images and tables logged with a run, and pages of a table read back: time per call against the targets.

    .venv/bin/python benchmarks/bench_media.py [--quick]

Each call is timed whole (checks, encoding, hashing, writing the file into the store, the journal
event) in a fresh temporary store; figures are the median and 90th percentile wall time of many
calls and the process's CPU time per call, on which the target is judged (on a shared machine the
wall time carries other processes' load). Prints, never asserts: a missed target shows as "below
target" next to the figure.
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import nbmlops  # noqa: E402
from benchmarks.benchlog import fmt_time  # noqa: E402
from nbmlops.tracking import media, tables  # noqa: E402

TARGET_IMAGE_S = 0.005


def per_call(call: Callable[[int], object], n: int) -> tuple[list[float], float]:
    """Wall time of `call(i)` for i in 0..n-1, and the process's CPU time per call (the flush thread's too)."""
    times = []
    cpu = time.process_time()
    for i in range(n):
        start = time.perf_counter()
        call(i)
        times.append(time.perf_counter() - start)
    return times, (time.process_time() - cpu) / n


def summary(label: str, measured: tuple[list[float], float], target: float | None = None) -> None:
    """One line: median and 90th percentile wall time, CPU time per call; the median against `target`.

    On a shared machine the wall times carry other processes' load; the CPU time does not, so the
    target is judged on it.
    """
    times, cpu = measured
    median = statistics.median(times)
    p90 = sorted(times)[int(len(times) * 0.9)]
    verdict = "" if target is None else \
        f" (target <= {fmt_time(target)}, judged on CPU time: {'ok' if cpu <= target else 'below target'})"
    print(f"  {label}: median {fmt_time(median)}, p90 {fmt_time(p90)}, CPU {fmt_time(cpu)} per call, "
          f"over {len(times)} calls{verdict}")


def bench_images(n: int) -> None:
    from sklearn.datasets import load_sample_image  # two photos that ship with scikit-learn

    rng = np.random.default_rng(0)
    photo = np.ascontiguousarray(load_sample_image("china.jpg")[100:356, 200:456])
    noise = rng.integers(0, 256, (256, 256, 3), dtype=np.uint8)  # the worst case for PNG
    print("log_image, 256x256x3 uint8 (a new step each call):")
    summary("a photo (china.jpg, cropped)", per_call(lambda i: nbmlops.log_image(photo, "photo", step=i), n),
            TARGET_IMAGE_S)
    summary("pure noise (incompressible)", per_call(lambda i: nbmlops.log_image(noise, "noise", step=i), n),
            TARGET_IMAGE_S)
    summary("PNG encoding alone, photo", per_call(lambda i: media.image_png(photo), n))
    summary("PNG encoding alone, noise", per_call(lambda i: media.image_png(noise), n))
    summary("the photo through Pillow's encoder (for comparison)", per_call(lambda i: _pillow_png(photo), n))
    floats = photo / 255.0
    summary("the photo as float64 in [0, 1]", per_call(lambda i: nbmlops.log_image(floats, "floats", step=i), n))


def _pillow_png(pixels: np.ndarray) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.fromarray(pixels).save(out, format="PNG", compress_level=1)
    return out.getvalue()


def bench_figure(n: int) -> None:
    fig, ax = plt.subplots()
    ax.plot(np.linspace(0, 10, 200), np.sin(np.linspace(0, 10, 200)))
    ax.set_title("a line plot")
    print("log_figure, a line plot of 200 points (PNG and its SVG twin):")
    summary("PNG + SVG", per_call(lambda i: nbmlops.log_figure(fig, "line", step=i), n))
    summary("SVG alone", per_call(lambda i: media.figure_svg(fig), n))
    plt.close(fig)


def bench_table(rows: int, repeat: int) -> None:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({f"f{i}": rng.random(rows) for i in range(6)} |
                         {"i": rng.integers(0, 1000, rows), "s": rng.choice(["a", "b", "c"], rows),
                          "t": pd.date_range("2026-01-01", periods=rows, freq="s", tz="UTC"),
                          "c": pd.Categorical(rng.choice(["x", "y"], rows))})
    print(f"log_table, {rows:,} rows x {frame.shape[1]} columns (6 float, int, str, datetime with tz, category):")
    summary("log_table", per_call(lambda i: nbmlops.log_table(frame, "big", step=i), repeat))
    size = os.path.getsize(nbmlops.get_store().artifact_path(
        next(a.sha256 for a in nbmlops.get_run(nbmlops.active_run().run_id).artifacts  # type: ignore[union-attr]
             if a.path.startswith("media/table/big/"))))
    print(f"  Parquet file: {size / 1e6:.1f} MB")
    bench_table_pages(frame, repeat * 3)


def bench_table_pages(frame: pd.DataFrame, repeat: int) -> None:
    """Pages of a logged table as the panel asks for them: in the table's order, and sorted whole on a column."""
    nbmlops.log_table(frame, "pages")
    sha = next(a.sha256 for a in nbmlops.get_run(nbmlops.active_run().run_id).artifacts  # type: ignore[union-attr]
               if a.path == "media/table/pages.parquet")
    file = nbmlops.get_store().artifact_path(sha)
    rows = len(frame)
    print("a page of 100 rows of that table (tables.page, what GET runs/{id}/media/table reads):")
    summary("first page, the table's order", per_call(lambda i: tables.page(file, 0, 100), repeat))
    summary("middle page, the table's order", per_call(lambda i: tables.page(file, rows // 2, 100), repeat))
    summary("first page sorted on a float column", per_call(lambda i: tables.page(file, 0, 100, order_by="f0"),
                                                             repeat))
    summary("middle page sorted on a float column, descending",
            per_call(lambda i: tables.page(file, rows // 2, 100, order_by="f0", descending=True), repeat))
    summary("middle page sorted on a 3-value text column (ties in file order)",
            per_call(lambda i: tables.page(file, rows // 2, 100, order_by="s"), repeat))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer calls")
    args = parser.parse_args()
    calls = 50 if args.quick else 300
    print(f"load average at start: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory() as folder:
        os.environ["NBMLOPS_AUTOFOLD"] = "0"
        nbmlops.init(folder)
        with nbmlops.start_run(experiment="bench-media"):
            bench_images(calls)
            bench_figure(max(10, calls // 10))
            bench_table(100_000, 3 if args.quick else 10)


if __name__ == "__main__":
    main()
