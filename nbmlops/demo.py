"""`python -m nbmlops.demo`: sweep notebooks/train.ipynb over a grid, tracked, and print a leaderboard.

A sweep of the notebook over a small grid on 2 workers (one parent run, a child run per
combination), on the store found by the usual rule (creating `./.nbmlops` when none is found).
"""

from __future__ import annotations

import importlib.util
import os
import sys
import time
from pathlib import Path

import nbmlops

EXPERIMENT = "demo-breast-cancer"
GRID = {"model": ["logistic_regression", "random_forest", "gradient_boosting"], "max_depth": [2, 4]}


def notebook_path() -> Path:
    """notebooks/train.ipynb of this checkout."""
    for base in (Path.cwd(), Path(__file__).resolve().parent.parent):
        candidate = base / "notebooks" / "train.ipynb"
        if candidate.is_file():
            return candidate
    raise SystemExit("notebooks/train.ipynb not found: run the demo from the nbmlops checkout")


def main() -> int:
    """Execute the training notebook for each candidate and print the runs by ROC AUC."""
    if importlib.util.find_spec("papermill") is None:
        print("the demo needs papermill and scikit-learn: pip install -e '.[dev]'", file=sys.stderr)
        return 1
    if not os.environ.get("NBMLOPS_STORE") and not (Path.cwd() / ".nbmlops").is_dir():
        nbmlops.init(Path.cwd())
    store = nbmlops.get_store()
    notebook = notebook_path()
    combinations = len(GRID["model"]) * len(GRID["max_depth"])
    print(f"Tracking into {store.root}; sweeping {notebook.name} over {combinations} combinations "
          "on 2 workers")
    started = time.perf_counter()
    result = nbmlops.sweep(notebook, GRID, workers=2, metric="roc_auc_score", maximize=True,
                           experiment=EXPERIMENT, name="demo-sweep")
    for child in result.children:
        print(f"  {child.status.value:<8} {child.describe()}")
    print(f"Sweep finished in {time.perf_counter() - started:.0f} s")

    board = nbmlops.runs(EXPERIMENT, where=f"status = 'FINISHED' and parent_run_id = '{result.parent_run_id}'",
                         order_by="metrics.roc_auc_score desc", limit=10)
    columns = ["name", "params.model", "params.C", "params.n_estimators", "params.max_depth",
               "metrics.roc_auc_score", "metrics.accuracy_score", "metrics.f1_score", "metrics.fit_time"]
    print(f"\nLeaderboard of {EXPERIMENT!r} (top 10 by ROC AUC):")
    print(board[[c for c in columns if c in board]].to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    print("\nNext: open notebooks/train.ipynb in JupyterLab, `nbmlops runs -e demo-breast-cancer`, "
          "`nbmlops show RUN_ID`, or nbmlops.runs_table() in a notebook.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
