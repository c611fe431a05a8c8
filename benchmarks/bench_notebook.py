"""Overhead of `%%track` per cell, measured in a real kernel; prints figures, never asserts.

    .venv/bin/python benchmarks/bench_notebook.py [--cells 60]

Runs the same small cell untracked and tracked (with and without autolog) in one kernel and
reports the median wall time per execution seen by the client, and the difference.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time

from jupyter_client.manager import start_new_kernel

TARGET_MS = 10.0
SETUP = """
%load_ext nbmlops
import nbmlops, numpy as np
import sklearn.linear_model  # so that autolog is engaged in tracked cells
lr = 0.01
epochs = 5
data = np.arange(1000.0)
"""
BODY = "total = float((data * lr).sum()) + epochs"


def run(client: object, code: str) -> float:
    """Seconds from sending `code` to its execute reply; raises if the cell failed."""
    started = time.perf_counter()
    reply = client.execute_interactive(code, timeout=60, output_hook=lambda msg: None)  # type: ignore[attr-defined]
    elapsed = time.perf_counter() - started
    if reply["content"]["status"] != "ok":
        raise RuntimeError(f"cell failed: {reply['content'].get('evalue')}")
    return elapsed


def median_ms(client: object, code: str, cells: int) -> float:
    """Median milliseconds per execution of `code` over `cells` runs (after two warm-ups)."""
    for _ in range(2):
        run(client, code)
    return statistics.median(run(client, code) for _ in range(cells)) * 1000


def main() -> None:
    """Measure and print the per-cell overhead of tracking."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", type=int, default=60, help="executions per variant")
    args = parser.parse_args()
    store = tempfile.mkdtemp(prefix="nbmlops-bench-")
    os.environ["NBMLOPS_STORE"] = store
    manager, client = start_new_kernel(kernel_name="python3")
    try:
        run(client, SETUP)
        plain = median_ms(client, BODY, args.cells)
        tracked = median_ms(client, "%%track -q --no-autolog\n" + BODY, args.cells)
        autolog = median_ms(client, "%%track -q\n" + BODY, args.cells)
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)
    print(f"{'variant':<28}{'median ms/cell':>16}{'overhead ms':>14}{'target':>10}")
    print(f"{'plain cell':<28}{plain:>16.2f}{'':>14}{'':>10}")
    for label, value in (("%%track --no-autolog", tracked), ("%%track (autolog on)", autolog)):
        overhead = value - plain
        verdict = "ok" if overhead <= TARGET_MS else "over"
        print(f"{label:<28}{value:>16.2f}{overhead:>14.2f}{f'<= {TARGET_MS:g} {verdict}':>10}")
    print(f"store: {store}; {args.cells} executions per variant; python {sys.version.split()[0]}")


if __name__ == "__main__":
    main()
