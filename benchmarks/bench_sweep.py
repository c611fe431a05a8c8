"""Wall time of a sweep, serial vs parallel; prints figures and ratios, never asserts.

    .venv/bin/python benchmarks/bench_sweep.py [--runs 8] [--sleep 4] [--no-dask]

Sweeps a notebook that sleeps `--sleep` seconds and logs a tiny metric over `--runs` grid values:
with one worker (serial), with two local workers (process pool), and with the dask executor on a
LocalCluster of two workers (its start-up is included). Each mode uses a fresh temporary store.
Target: two local workers take <= 0.65 x the serial time. Kernel start-up (~2-5 s here) is part of
every run, so the ratio also shows how well two kernels start side by side on this machine.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import nbformat

from nbmlops.jobs.sweeps import sweep
from nbmlops.store.folder import Store

TARGET = 0.65


def make_notebook(folder: Path, sleep: float) -> Path:
    """A notebook whose run takes about `sleep` seconds plus the kernel's start."""
    cells = [nbformat.v4.new_code_cell("x = 0\nseconds = 4.0", metadata={"tags": ["parameters"]}),
             nbformat.v4.new_code_cell("import time, nbmlops\ntime.sleep(seconds)\n"
                                       "nbmlops.log_metric('y', sum(i * x for i in range(1000)))")]
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "language": "python", "display_name": "Python 3"}
    path = folder / "sleepy.ipynb"
    nbformat.write(nb, path)
    return path


def timed(notebook: Path, runs: int, sleep: float, workers: int, executor: str) -> tuple[float, int]:
    """Seconds for one sweep in a fresh store, and how many children FINISHED."""
    store = Store(Path(tempfile.mkdtemp(prefix="nbmlops-bench-sweep-")) / ".nbmlops")
    store.init()
    started = time.perf_counter()
    result = sweep(store, notebook, grid={"x": list(range(runs))}, workers=workers, executor=executor,
                   fixed={"seconds": sleep}, metric="y", progress=False)
    elapsed = time.perf_counter() - started
    store.release()
    return elapsed, len(result.children) - len(result.failed)


def main() -> None:
    """Measure and print serial, 2-worker local and 2-worker dask sweep times."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=8, help="combinations (notebook runs) per sweep")
    parser.add_argument("--sleep", type=float, default=4.0, help="seconds each notebook sleeps")
    parser.add_argument("--no-dask", action="store_true", help="skip the dask executor")
    args = parser.parse_args()
    os.environ.pop("NBMLOPS_STORE", None)
    notebook = make_notebook(Path(tempfile.mkdtemp(prefix="nbmlops-bench-nb-")), args.sleep)
    print(f"{args.runs} runs of a notebook sleeping {args.sleep:g} s; {os.cpu_count()} CPUs; "
          f"load average {os.getloadavg()[0]:.2f} at start", flush=True)
    modes = [("serial (local, 1 worker)", 1, "local"), ("local, 2 workers", 2, "local")]
    if not args.no_dask:
        modes.append(("dask LocalCluster, 2 workers", 2, "dask"))
    figures: dict[str, float] = {}
    for label, workers, executor in modes:
        print(f"  running: {label} ...", file=sys.stderr, flush=True)
        seconds, finished = timed(notebook, args.runs, args.sleep, workers, executor)
        figures[label] = seconds
        print(f"{label:<30} {seconds:7.1f} s  {seconds / args.runs:5.2f} s/run  {finished}/{args.runs} FINISHED",
              flush=True)
    serial = figures[modes[0][0]]
    for label, _, _ in modes[1:]:
        ratio = figures[label] / serial
        verdict = "ok" if ratio <= TARGET else "MISSED"
        print(f"{label:<30} ratio {ratio:.2f} x serial (target <= {TARGET} x): {verdict}")


if __name__ == "__main__":  # the process pool spawns workers that import this file
    main()
