"""MLflow adapter of the peer benchmark: tool `mlflow_sqlite` (SQLite store) or `mlflow_file` (file store)."""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path
from typing import Any

# Before mlflow is imported; child processes inherit them.
os.environ.update(MLFLOW_DISABLE_TELEMETRY="true", DO_NOT_TRACK="true", MLFLOW_LOGGING_LEVEL="ERROR",
                  MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT="true", MLFLOW_ENABLE_ASYNC_LOGGING="false",
                  MLFLOW_ALLOW_FILE_STORE="true")  # the file store is in maintenance mode, still shipped

import mlflow  # noqa: E402
from mlflow import MlflowClient  # noqa: E402
from mlflow.entities import Metric  # noqa: E402

BATCH_LIMIT = 1000  # MLflow's maximum number of metrics per log_batch request
_client: MlflowClient | None = None
_experiments: dict[str, str] = {}


def setup(root: Path, tool: str) -> None:
    """Point MLflow at a SQLite database or a file store under `root`."""
    global _client
    uri = f"sqlite:///{root / 'mlflow.db'}" if tool == "mlflow_sqlite" else (root / "mlruns").as_uri()
    os.environ["MLFLOW_TRACKING_URI"] = uri
    mlflow.set_tracking_uri(uri)
    logging.getLogger("alembic").setLevel(logging.ERROR)
    _client = MlflowClient()
    _experiments.clear()


def version() -> str:
    """The tool's version."""
    return mlflow.__version__


def _experiment_id(name: str) -> str:
    if name not in _experiments:
        found = mlflow.get_experiment_by_name(name)
        _experiments[name] = found.experiment_id if found else mlflow.create_experiment(name)
    return _experiments[name]


def start(experiment: str, name: str, params: dict[str, Any] | None = None) -> Any:
    """Start a run (with its params) through the fluent API."""
    run = mlflow.start_run(experiment_id=_experiment_id(experiment), run_name=name)
    if params:
        mlflow.log_params(params)
    return run


def log(h: Any, metrics: dict[str, float], step: int) -> None:
    """Log several metrics at one step."""
    mlflow.log_metrics(metrics, step=step)


def log_metric(h: Any, key: str, value: float, step: int) -> None:
    """Log one point."""
    mlflow.log_metric(key, value, step=step)


def log_series(h: Any, key: str, values: list[float]) -> None:
    """Log the values through log_batch, 1,000 points a request (MLflow's fast path)."""
    assert _client is not None
    run_id, ts = h.info.run_id, int(time.time() * 1000)
    for lo in range(0, len(values), BATCH_LIMIT):
        chunk = [Metric(key, values[i], ts, i) for i in range(lo, min(lo + BATCH_LIMIT, len(values)))]
        _client.log_batch(run_id, metrics=chunk)


def finish(h: Any) -> None:
    """End the run."""
    mlflow.end_run()


def flush() -> None:
    """Nothing buffered (async logging is off)."""


def run_ref(h: Any) -> str:
    """The run id."""
    return h.info.run_id


def search(experiment: str, threshold: float) -> int:
    """mlflow.search_runs with a filter string."""
    return len(mlflow.search_runs(experiment_names=[experiment], filter_string=f"metrics.m0 > {threshold}"))


def history(ref: str, key: str) -> list[tuple[int, float]]:
    """MlflowClient.get_metric_history."""
    assert _client is not None
    return [(m.step, m.value) for m in _client.get_metric_history(ref, key)]


def count_points(refs: list[str], key: str) -> int:
    """Points of `key` read back over several runs."""
    return sum(len(history(ref, key)) for ref in refs)
