"""Figures, images and tables logged with a run: time per call against the targets.

    .venv/bin/python benchmarks/bench_media.py [--quick]

Each call is timed whole (checks, encoding, hashing, writing the file into the store, the journal
event) in a fresh temporary store; figures are the median and 90th percentile of many calls. Prints,
never asserts: a missed target shows as "below target" next to the figure.
"""

from __future__ import annotations

import argparse
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
from nbmlops.tracking import media  # noqa: E402

TARGET_IMAGE_S = 0.005


def per_call(call: Callable[[int], object], n: int) -> list[float]:
    """Wall time of `call(i)` for i in 0..n-1."""
    times = []
    for i in range(n):
        start = time.perf_counter()
        call(i)
        times.append(time.perf_counter() - start)
    return times


def summary(label: str, times: list[float], target: float | None = None) -> None:
    median = statistics.median(times)
    p90 = sorted(times)[int(len(times) * 0.9)]
    verdict = "" if target is None else \
        f" (target <= {fmt_time(target)}: {'ok' if median <= target else 'below target'})"
    print(f"  {label}: median {fmt_time(median)}, p90 {fmt_time(p90)} over {len(times)} calls{verdict}")


def bench_images(n: int) -> None:
    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:256, 0:256]
    photo_like = np.stack([x, y, (x + y) // 2], axis=-1).astype(np.uint8)  # smooth, as most pictures
    photo_like = np.clip(photo_like + rng.integers(-8, 8, photo_like.shape), 0, 255).astype(np.uint8)
    noise = rng.integers(0, 256, (256, 256, 3), dtype=np.uint8)  # the worst case for PNG
    print("log_image, 256x256x3 uint8 (a new step each call):")
    summary("smooth image with mild noise", per_call(lambda i: nbmlops.log_image(photo_like, "smooth", step=i), n),
            TARGET_IMAGE_S)
    summary("pure noise (incompressible)", per_call(lambda i: nbmlops.log_image(noise, "noise", step=i), n),
            TARGET_IMAGE_S)
    summary("encoding alone, smooth", per_call(lambda i: media.image_png(photo_like), n))
    summary("encoding alone, noise", per_call(lambda i: media.image_png(noise), n))
    floats = rng.random((256, 256, 3))
    summary("float64 in [0, 1]", per_call(lambda i: nbmlops.log_image(floats, "floats", step=i), n))


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
    times = per_call(lambda i: nbmlops.log_table(frame, "big", step=i), repeat)
    summary("log_table", times)
    size = os.path.getsize(nbmlops.get_store().artifact_path(
        next(a.sha256 for a in nbmlops.get_run(nbmlops.active_run().run_id).artifacts  # type: ignore[union-attr]
             if a.path.startswith("media/table/big/"))))
    print(f"  Parquet file: {size / 1e6:.1f} MB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer calls")
    args = parser.parse_args()
    calls = 50 if args.quick else 300
    with tempfile.TemporaryDirectory() as folder:
        os.environ["NBMLOPS_AUTOFOLD"] = "0"
        nbmlops.init(folder)
        with nbmlops.start_run(experiment="bench-media"):
            bench_images(calls)
            bench_figure(max(10, calls // 10))
            bench_table(100_000, 3 if args.quick else 10)


if __name__ == "__main__":
    main()
