"""The catalog tells the truth: right latest values, damaged journals resynchronised, honest errors."""

from __future__ import annotations

import math

import nbmlops
from nbmlops import tracking
from nbmlops.store import Store


def _flush() -> None:
    """Write the tracker's buffer to its journal as one frame, without folding it."""
    tracking.tracker().flush()


def test_latest_metric_is_highest_step_across_flushes(fresh_store: Store) -> None:
    with nbmlops.start_run() as run:
        for step in range(3):
            nbmlops.log_metric("auc", 0.5 + step / 10, step=step)
            _flush()  # one frame per point: the next read folds three frames at once
    assert nbmlops.get_run(run.run_id).metrics == {"auc": 0.7}
    assert nbmlops.metric_history(run.run_id, "auc")["value"].tolist() == [0.5, 0.6, 0.7]
    assert nbmlops.runs(where="metrics.auc > 0.65")["run_id"].tolist() == [run.run_id]


def test_latest_metric_ignores_lower_steps_logged_later_in_one_fold(fresh_store: Store) -> None:
    with nbmlops.start_run() as run:
        nbmlops.log_metric("loss", 0.1, step=10)
        _flush()
        nbmlops.log_metric("loss", 0.9, step=2)  # a late point of an earlier step
        _flush()
        nbmlops.log_metric("loss", 0.2, step=10)  # same step again: the later one counts
        _flush()
    assert nbmlops.get_run(run.run_id).metrics == {"loss": 0.2}


def test_latest_metric_compares_with_the_value_already_in_the_catalog(fresh_store: Store) -> None:
    with nbmlops.start_run() as run:
        nbmlops.log_metric("acc", 0.8, step=5)
        assert nbmlops.get_run(run.run_id).metrics == {"acc": 0.8}  # folded
        nbmlops.log_metric("acc", 0.1, step=1)
        _flush()
        nbmlops.log_metric("acc", 0.2, step=3)
        _flush()
    assert nbmlops.get_run(run.run_id).metrics == {"acc": 0.8}


def test_nan_latest_value_folded_from_several_frames_stays_nan(fresh_store: Store) -> None:
    with nbmlops.start_run() as run:
        nbmlops.log_metric("grad", 1.0, step=0)
        _flush()
        nbmlops.log_metric("grad", float("nan"), step=1)
        _flush()
        nbmlops.log_metric("ok", float("nan"), step=0)
        _flush()
        nbmlops.log_metric("ok", 3.0, step=1)
        _flush()
    metrics = nbmlops.get_run(run.run_id).metrics
    assert math.isnan(metrics["grad"]) and metrics["ok"] == 3.0
    fresh_store.release()
    with fresh_store.reading() as con:  # NaN, not NULL, in the catalog itself
        rows = con.execute("SELECT key, isnan(value) FROM latest_metrics ORDER BY key").fetchall()
    assert rows == [("grad", True), ("ok", False)]
