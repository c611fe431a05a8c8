"""`python -m nbmlops.demo`: train models with notebooks/train.ipynb, tracked, and print a leaderboard.

Executes the notebook with papermill once per parameter set, like a sweep would, on the store
found by the usual rule (creating `./.nbmlops` when none is found above here).
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

import nbmlops

EXPERIMENT = "demo-breast-cancer"
CANDIDATES: list[dict[str, object]] = [
    {"model": "logistic_regression", "C": 0.05},
    {"model": "logistic_regression", "C": 1.0},
    {"model": "random_forest", "n_estimators": 100, "max_depth": 3},
    {"model": "random_forest", "n_estimators": 300, "max_depth": 8},
    {"model": "gradient_boosting", "n_estimators": 100, "max_depth": 2},
    {"model": "gradient_boosting", "n_estimators": 200, "max_depth": 3},
]


def notebook_path() -> Path:
    """notebooks/train.ipynb of this checkout."""
    for base in (Path.cwd(), Path(__file__).resolve().parent.parent):
        candidate = base / "notebooks" / "train.ipynb"
        if candidate.is_file():
            return candidate
    raise SystemExit("notebooks/train.ipynb not found: run the demo from the nbmlops checkout")


def main() -> int:
    """Execute the training notebook for each candidate and print the runs by ROC AUC."""
    try:
        import papermill
    except ImportError:
        print("the demo needs papermill and scikit-learn: pip install -e '.[dev]'", file=sys.stderr)
        return 1
    if not os.environ.get("NBMLOPS_STORE") and not (Path.cwd() / ".nbmlops").is_dir():
        nbmlops.init(Path.cwd())
    store = nbmlops.get_store()
    notebook = notebook_path()
    os.environ["NBMLOPS_STORE"] = str(store.root)  # the kernels write where this process reads
    os.environ["NBMLOPS_NOTEBOOK"] = str(notebook)
    print(f"Tracking into {store.root}; executing {notebook.name} {len(CANDIDATES)} times")
    with tempfile.TemporaryDirectory() as outputs:
        for i, params in enumerate(CANDIDATES, 1):
            started = time.perf_counter()
            papermill.execute_notebook(str(notebook), str(Path(outputs) / f"run-{i}.ipynb"),
                                       parameters={**params, "experiment": EXPERIMENT},
                                       progress_bar=False, log_output=False)
            shown = ", ".join(f"{k}={v}" for k, v in params.items())
            print(f"  [{i}/{len(CANDIDATES)}] {shown}: {time.perf_counter() - started:.1f} s")

    board = nbmlops.runs(EXPERIMENT, where="status = 'FINISHED'",
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
