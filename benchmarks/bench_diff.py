"""`nbmlops diff` of two big runs: time against the targets.

    .venv/bin/python benchmarks/bench_diff.py [--rows N] [--cells N] [--repeat N]

Two runs whose notebooks have 1,000 cells (B is A edited: three cells changed, one removed, one
inserted, cell ids kept as Jupyter keeps them) and whose train datasets have 100 columns and 1M rows,
both logged with snapshots (B: 10,000 values of one column changed, 1,000 rows appended, one
column added). The notebooks are stored with each run as a job stores them
(`notebook/source.ipynb`); the runs are made in this process, then the diff is timed in it:
`nbmlops.diff(a, b, rows=False)` (everything but the row-level data diff; target <= 1 s) and
`nbmlops.diff(a, b)` (with it; target <= 5 s). The median of `--repeat` diffs is printed, and once
the cost of the first diff in a process (which imports nbdime, nbformat and jsonschema). A third
figure diffs notebooks without cell ids (nbformat 4.4) edited near both ends, where nbdime's fuzzy
cell matching would be quadratic. A fourth is the panel's REST answer without the row-level data
diff (`server.handlers.run_diff`), which adds nbdime's view of the changed cells (`code.notebook`).
Prints, never asserts.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("NBMLOPS_SYSTEM_METRICS", "0")
import nbmlops  # noqa: E402
from benchmarks.benchlog import fmt_time  # noqa: E402
from nbmlops.server.handlers import run_diff  # noqa: E402
from nbmlops.tracking.tracker import tracker  # noqa: E402

TARGET_FAST_S, TARGET_FULL_S = 1.0, 5.0


def notebook(cells: int, ids: bool) -> dict[str, object]:
    """A notebook of `cells` code cells of a few lines each (nbformat 4.5 with cell ids, else 4.4)."""
    body = []
    for i in range(cells):
        cell: dict[str, object] = {"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [],
                                   "source": [f"# step {i}\n", f"x{i} = transform(x{i - 1}, k={i % 7})\n",
                                              f"print(x{i}.shape)"]}
        if ids:
            cell["id"] = f"cell-{i:05d}"
        body.append(cell)
    return {"cells": body, "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                        "language": "python"}},
            "nbformat": 4, "nbformat_minor": 5 if ids else 4}


def edited(node: dict[str, object], where: list[int]) -> dict[str, object]:
    """`node` with cells at `where` changed, the one after the first removed and a new one inserted."""
    out = copy.deepcopy(node)
    cells: list[dict[str, object]] = out["cells"]  # type: ignore[assignment]
    for i in where:
        cells[i]["source"] = [f"# step {i}\n", f"x{i} = transform(x{i - 1}, k=99)  # tuned\n", f"print(x{i}.shape)"]
    del cells[where[0] + 1]
    new: dict[str, object] = {"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [],
                              "source": "assert x500.shape[0] > 0"}
    if "id" in cells[0]:
        new["id"] = "cell-new"
    cells.insert(len(cells) // 2, new)
    return out


def frame(rows: int, columns: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    data = {f"f{j:03d}": rng.standard_normal(rows, dtype=np.float32) for j in range(columns - 1)}
    data["id"] = np.arange(rows, dtype=np.int64)
    return pd.DataFrame(data)


def make_run(name: str, nb: dict[str, object], data: pd.DataFrame, params: dict[str, object],
             accuracy: float) -> str:
    with nbmlops.start_run(experiment="bench-diff", name=name) as run:
        nbmlops.log_params(params)
        nbmlops.log_metric("accuracy", accuracy)
        tracker().put_bytes(json.dumps(nb).encode(), "notebook/source.ipynb")  # as `nbmlops run` stores it
        nbmlops.log_dataset(data, name="train-data", role="train", snapshot=True)
        return run.run_id


def timed(fn: object, repeat: int) -> tuple[float, list[float]]:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()  # type: ignore[operator]
        times.append(time.perf_counter() - start)
    return statistics.median(times), times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--columns", type=int, default=100)
    parser.add_argument("--cells", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-diff-") as folder:
        nbmlops.init(folder)
        print(f"making two runs: notebooks of {args.cells} cells, datasets of {args.rows:,} rows x "
              f"{args.columns} columns with snapshots ...", flush=True)
        start = time.perf_counter()
        old = frame(args.rows, args.columns, 0)
        new = old.copy()
        new.loc[np.arange(0, args.rows, max(1, args.rows // 10_000)), "f000"] += 1
        new = pd.concat([new, old.tail(1000).assign(id=lambda f: f["id"] + args.rows)], ignore_index=True)
        new["extra"] = np.float32(1.0)
        base = notebook(args.cells, ids=True)
        a = make_run("run-a", base, old, {"C": 0.1, "solver": "lbfgs"}, 0.91)
        b = make_run("run-b", edited(base, [10, args.cells // 2, args.cells - 10]), new, {"C": 1.0, "solver": "lbfgs"},
                     0.87)
        plain = notebook(args.cells, ids=False)
        c = make_run("run-c", plain, old.head(1000), {"C": 0.1}, 0.91)
        d = make_run("run-d", edited(plain, [5, args.cells - 5]), old.head(1000), {"C": 0.1}, 0.91)
        del old, new
        print(f"  made in {time.perf_counter() - start:.1f} s\n", flush=True)

        start = time.perf_counter()
        first = nbmlops.diff(a, b, rows=False)
        cold = time.perf_counter() - start
        fast, _ = timed(lambda: nbmlops.diff(a, b, rows=False), args.repeat)
        full, _ = timed(lambda: nbmlops.diff(a, b), args.repeat)
        no_ids, _ = timed(lambda: nbmlops.diff(c, d, rows=False), max(1, args.repeat // 2))
        found = nbmlops.diff(a, b)
        changes = found.data[0]["changes"]
        code = found.code or {}
        print(f"code: {len(code.get('changes', []))} changed cells of {code.get('cells')}, aligned by "
              f"{code.get('aligned_by')}; data: rows {changes['rows']}, {changes['added']} added, "
              f"{changes['removed']} removed, schema changes {len(changes['schema'])}")
        assert first.code == found.code
        verdict = lambda t, target: "ok" if t <= target else "below target"  # noqa: E731
        print(f"diff without the row-level data diff: {fmt_time(fast)} median of {args.repeat} "
              f"(target <= {TARGET_FAST_S:.0f} s: {verdict(fast, TARGET_FAST_S)})")
        print(f"diff with the row-level data diff:    {fmt_time(full)} median of {args.repeat} "
              f"(target <= {TARGET_FULL_S:.0f} s: {verdict(full, TARGET_FULL_S)})")
        print(f"first diff in a process (imports nbdime, nbformat, jsonschema): {fmt_time(cold)}")
        aligned = (nbmlops.diff(c, d, rows=False).code or {}).get("aligned_by")
        print(f"notebooks without cell ids, edited near both ends (aligned by {aligned}): {fmt_time(no_ids)}")
        store = tracker().store
        rest, _ = timed(lambda: run_diff(store, a, b, False), args.repeat)
        view = run_diff(store, a, b, False)["code"]["notebook"]
        print(f"REST answer without the row-level data diff, with nbdime's view of {len(view['cells'])} of "
              f"{args.cells} cells ({len(json.dumps(view)):,} bytes): {fmt_time(rest)} median of {args.repeat} "
              f"(target <= {TARGET_FAST_S:.0f} s: {verdict(rest, TARGET_FAST_S)})")


if __name__ == "__main__":
    main()
