"""nbmlops adapter of the peer benchmark (runs in /work/main/.venv)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import nbmlops


def setup(root: Path, tool: str) -> None:
    """Use the store `root/store` in this process."""
    nbmlops.set_store(root / "store")


def version() -> str:
    """The tool's version."""
    return nbmlops.__version__


def start(experiment: str, name: str, params: dict[str, Any] | None = None) -> Any:
    """Start a run (with its params)."""
    run = nbmlops.start_run(experiment=experiment, name=name)
    if params:
        nbmlops.log_params(params)
    return run


def log(h: Any, metrics: dict[str, float], step: int) -> None:
    """Log several metrics at one step."""
    nbmlops.log_metrics(metrics, step=step)


_log_metric = nbmlops.log_metric


def log_metric(h: Any, key: str, value: float, step: int) -> None:
    """Log one point."""
    _log_metric(key, value, step)


def log_series(h: Any, key: str, values: list[float]) -> None:
    """Log every value as a point (no batch API: log_metric is the fast path)."""
    for i, v in enumerate(values):
        _log_metric(key, v, i)


def finish(h: Any) -> None:
    """End the run."""
    nbmlops.end_run()


def flush() -> None:
    """Nothing to do: ending a run and exiting write the journal."""


def run_ref(h: Any) -> str:
    """A string another process can find the run by."""
    return h.run_id


def search(experiment: str, threshold: float) -> int:
    """How many runs of `experiment` have m0 > threshold."""
    return len(nbmlops.runs(experiment, where=f"metrics.m0 > {threshold}"))


def history(ref: str, key: str) -> list[tuple[int, float]]:
    """Every (step, value) of a metric, [] when none is visible yet."""
    try:
        frame = nbmlops.metric_history(ref, key)
    except nbmlops.NotFoundError:
        return []
    return list(zip(frame["step"].tolist(), frame["value"].tolist(), strict=True))


def count_points(refs: list[str], key: str) -> int:
    """Points of `key` read back over several runs."""
    return sum(len(history(ref, key)) for ref in refs)
