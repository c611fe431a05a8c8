"""`python -m nbmlops.demo`: train a few scikit-learn models, track them, print the leaderboard.

Runs on the store found by the usual rule; creates `./.nbmlops` when none is found above here.
"""

from __future__ import annotations

import os
import pickle
import sys
import tempfile
import time
from pathlib import Path

import nbmlops

EXPERIMENT = "demo-breast-cancer"


def _candidates() -> list[tuple[str, dict[str, object]]]:
    return [
        ("logistic_regression", {"C": 0.01}),
        ("logistic_regression", {"C": 0.1}),
        ("logistic_regression", {"C": 1.0}),
        ("logistic_regression", {"C": 10.0}),
        ("random_forest", {"n_estimators": 50, "max_depth": 3}),
        ("random_forest", {"n_estimators": 200, "max_depth": None}),
        ("gradient_boosting", {"n_estimators": 100, "learning_rate": 0.1, "max_depth": 2}),
        ("gradient_boosting", {"n_estimators": 100, "learning_rate": 0.3, "max_depth": 3}),
    ]


def main() -> int:
    """Track one run per candidate model and print the runs ordered by ROC AUC."""
    try:
        from sklearn.datasets import load_breast_cancer
        from sklearn.ensemble import GradientBoostingClassifier, RandomForestClassifier
        from sklearn.linear_model import LogisticRegression
        from sklearn.metrics import accuracy_score, f1_score, log_loss, roc_auc_score
        from sklearn.model_selection import train_test_split
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler
    except ImportError:
        print("the demo needs scikit-learn: pip install 'nbmlops[dev]'", file=sys.stderr)
        return 1

    if not os.environ.get("NBMLOPS_STORE") and not (Path.cwd() / ".nbmlops").is_dir():
        nbmlops.init(Path.cwd())
    store = nbmlops.get_store()
    print(f"Tracking into {store.root}")

    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=0,
                                                        stratify=y)
    makers = {
        "logistic_regression": lambda p: make_pipeline(StandardScaler(),
                                                       LogisticRegression(max_iter=2000, **p)),
        "random_forest": lambda p: RandomForestClassifier(random_state=0, **p),
        "gradient_boosting": lambda p: GradientBoostingClassifier(random_state=0, **p),
    }
    for family, params in _candidates():
        with nbmlops.start_run(experiment=EXPERIMENT,
                               tags={"family": family, "dataset": "breast_cancer"}):
            nbmlops.log_params({"model": family, **params, "train_rows": len(X_train)})
            model = makers[family](params)
            started = time.perf_counter()
            model.fit(X_train, y_train)
            nbmlops.log_metric("fit_seconds", time.perf_counter() - started)
            if family == "gradient_boosting":
                # One point per boosting stage: a metric history to compare in the panel.
                for stage, proba in enumerate(model.staged_predict_proba(X_test)):
                    nbmlops.log_metric("val_log_loss", log_loss(y_test, proba), step=stage)
            proba = model.predict_proba(X_test)[:, 1]
            predicted = (proba >= 0.5).astype(int)
            nbmlops.log_metrics({
                "accuracy": accuracy_score(y_test, predicted),
                "f1": f1_score(y_test, predicted),
                "roc_auc": roc_auc_score(y_test, proba),
            })
            with tempfile.TemporaryDirectory() as tmp:
                path = Path(tmp) / "model.pkl"
                path.write_bytes(pickle.dumps(model))
                nbmlops.log_artifact(path)

    board = nbmlops.runs(EXPERIMENT, where="status = 'FINISHED'", order_by="metrics.roc_auc desc",
                         limit=10)
    columns = ["name", "params.model", "metrics.roc_auc", "metrics.accuracy", "metrics.f1",
               "metrics.fit_seconds"]
    print(f"\nLeaderboard of {EXPERIMENT!r} (top 10 by ROC AUC):")
    print(board[columns].to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    print("\nNext: `nbmlops runs -e demo-breast-cancer`, `nbmlops show RUN_ID`, or "
          "nbmlops.runs(where=\"metrics.roc_auc > 0.99\") in Python.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
