"""`python -m nbmlops.demo`: sweep notebooks/train.ipynb over a grid, tracked, print a leaderboard,
then monitor the model in production and retrain it when a batch drifts.

A sweep of the notebook over a small grid on 2 workers (one parent run, a child run per
combination), on the store found by the usual rule (creating `./.nbmlops` when none is found).
"""

from __future__ import annotations

import importlib.util
import os
import sys
import time
from pathlib import Path
from typing import Any

import nbmlops

EXPERIMENT = "demo-breast-cancer"
GRID: dict[str, list[Any]] = {"model": ["logistic_regression", "random_forest", "gradient_boosting"],
                              "max_depth": [2, 4]}
MODEL = "breast-cancer"  # registered by the notebook's %%track --model clf:breast-cancer


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
    monitor_and_retrain(result)
    print("\nNext: open notebooks/train.ipynb or notebooks/monitor.ipynb in JupyterLab, "
          "`nbmlops runs -e demo-breast-cancer`, `nbmlops show RUN` (an id or name from the list), "
          "or nbmlops.runs_table() in a notebook.")
    return 0


def monitor_and_retrain(result: Any) -> None:
    """Put the sweep's weakest model in production, monitor two batches, retrain on the drifted one."""
    from sklearn.datasets import load_breast_cancer

    from nbmlops.jobs.reproduce import retrain_on_drift
    from nbmlops.tracking.tracker import tracker

    finished = [c for c in result.children if c.run_id and c.metric is not None]
    if len(finished) < 2 or result.best is None:
        return
    from nbmlops.registry.models import register_logged

    weakest = min(finished, key=lambda c: c.metric)
    # The sweep registered only its best child's model; the weakest child kept its own as an artifact.
    version = register_logged(nbmlops.get_store(), weakest.run_id, MODEL).version
    nbmlops.promote(MODEL, version, "production", reason="demo: the sweep's weakest model goes first")
    print(f"\n{MODEL}@production is version {version} ({weakest.describe()}, ROC AUC {weakest.metric:.4f})")
    features = load_breast_cancer(as_frame=True).frame.drop(columns="target").sample(200, random_state=1)
    print("  a batch like the training data: " + nbmlops.monitor(f"{MODEL}@production", features).summary())
    shifted = features * 1.2  # e.g. a new scanner calibration: every measurement 20% larger
    report, retraining = retrain_on_drift(
        tracker(), f"{MODEL}@production", shifted, dict(result.best.params),
        promote_if="metrics.roc_auc_score > champion.metrics.roc_auc_score",
        source="the demo batch with every measurement 20% larger")
    print("  a shifted batch: " + report.summary())
    if retraining is not None:
        print(f"  retrained with the sweep's best configuration ({result.best.describe()}): {retraining.decision}")
    print(nbmlops.monitoring(MODEL)[["timestamp", "version", "n_rows", "drift_share", "dataset_drift"]]
          .tail(2).to_string(index=False))


if __name__ == "__main__":
    sys.exit(main())
