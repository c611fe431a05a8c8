"""Plain records that cross layer boundaries: what the store holds, as Python objects."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Literal

from nbmlops.render.html import run_html

Direction = Literal["min", "max"]

# Name fragments of metrics where lower is better; the panel reads the result through GET keys.
LOWER_IS_BETTER = ("loss", "error", "err", "mse", "mae", "rmse", "logloss", "perplexity", "time", "latency")


def metric_direction(key: str) -> Direction:
    """Whether lower ("min") or higher ("max") is better for a metric, guessed from its name.

    A name containing any of loss, error, err, mse, mae, rmse, logloss, perplexity, time or latency
    (case-insensitive, anywhere in the name) is minimized; every other metric is maximized:
    metric_direction("val_loss") == "min", metric_direction("fit_time") == "min",
    metric_direction("accuracy") == "max".
    """
    lower = key.lower()
    return "min" if any(fragment in lower for fragment in LOWER_IS_BETTER) else "max"


INT64 = (-(1 << 63), (1 << 63) - 1)  # the int params readers (pandas, DuckDB) hold exactly


def decode_param(text: str | None, kind: str) -> Any:
    """The Python value of a stored param."""
    if kind == "none" or text is None:
        return None
    if kind == "int":
        return int(text)
    if kind == "float":
        return float(text)
    if kind == "bool":
        return text == "true"
    if kind == "json":
        return json.loads(text)
    return text


class RunStatus(str, Enum):
    """Lifecycle of a run; KILLED means its process died without ending it, PRUNED that a sweep's
    pruner stopped it early (its points up to then are kept)."""

    RUNNING = "RUNNING"
    FINISHED = "FINISHED"
    FAILED = "FAILED"
    KILLED = "KILLED"
    PRUNED = "PRUNED"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class Artifact:
    """A file attached to a run, stored once by content hash."""

    path: str
    sha256: str
    size: int
    created_at: dt.datetime


@dataclass(frozen=True)
class Run:
    """A run with everything logged to it; metrics hold the latest value of each key."""

    run_id: str
    name: str
    experiment: str
    status: RunStatus
    start_time: dt.datetime
    end_time: dt.datetime | None = None
    user: str | None = None
    host: str | None = None
    parent_run_id: str | None = None
    notebook: str | None = None
    error: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    artifacts: list[Artifact] = field(default_factory=list)

    def _repr_html_(self) -> str:
        """The run as an HTML card, for notebooks."""
        return run_html(self)

    @property
    def duration(self) -> float | None:
        """Seconds from start to end, or None while running."""
        if self.end_time is None:
            return None
        return (self.end_time - self.start_time).total_seconds()


@dataclass(frozen=True)
class ModelVersion:
    """One registered version of a model (version 0: a model a run logged, not registered)."""

    name: str
    version: int
    run_id: str | None
    flavor: str
    model_class: str
    sha256: str
    size: int
    artifact_path: str
    created_at: dt.datetime
    user: str | None = None
    signature: dict[str, Any] | None = None
    aliases: list[str] = field(default_factory=list)
    metrics: dict[str, float] = field(default_factory=dict)

    @property
    def uri(self) -> str:
        """`name/version`, loadable with `load_model`."""
        return f"{self.name}/{self.version}"
