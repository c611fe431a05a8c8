"""What the deep-learning autologs share: metric points from a training loop, params from configs,
and the end of a logged training (the model).

- Points go through `log_metric`: buffered in memory and written in batches, never one write per
  step; NaN and infinite losses are kept as they are, like `log_metric` keeps them. A key that
  cannot be logged (a name with control characters, a value that is no number) is reported once
  as an `AutologWarning` and skipped from then on; the others go on.
- Tensors, NumPy scalars and Python numbers are numbers; a one-element tensor is read with
  `.item()` (one device sync per logged value, so only at logging steps).
"""

from __future__ import annotations

import enum
import math
from collections.abc import Iterator, Mapping
from typing import Any

from nbmlops.autolog import sklearn as autolog
from nbmlops.registry.serialization import log_model_artifact
from nbmlops.tracking.tracker import Tracker


class Points:
    """Logs one training's metrics: named numbers at a step, each key checked once."""

    def __init__(self, tracker: Tracker, prefix: str) -> None:
        self.tracker, self.prefix = tracker, prefix
        self.keys: dict[str, str | None] = {}  # the library's name -> our key; None: not loggable

    def log(self, metrics: Mapping[str, Any], step: int, *, before: str = "") -> None:
        """Log each number of `metrics` at `step`, as `<prefix><before><name>`."""
        log_metric = self.tracker.log_metric
        for name, value in metrics.items():
            number = as_number(value)
            if number is None:
                continue
            key = self.keys.get(before + name, "")
            if key == "":
                key = self.keys[before + name] = f"{self.prefix}{before}{name}"
            if key is None:
                continue
            try:
                log_metric(key, number, step)
            except Exception as exc:  # a name the store cannot take: skip this key only
                self.keys[before + name] = None
                autolog.warn_once(f"metric {key!r}", exc)


def as_number(value: Any) -> float | None:
    """`value` as a float when it is one real number (a one-element tensor counts), else None."""
    if isinstance(value, float):
        return value
    if isinstance(value, bool) or value is None or isinstance(value, (str, bytes)):
        return None
    if isinstance(value, int):
        return float(value) if abs(value) < 2**1023 else None  # beyond a float: not a metric
    numel = getattr(value, "numel", None)  # torch tensors
    size = numel() if callable(numel) else getattr(value, "size", None)
    if size != 1 or not hasattr(value, "item"):
        return None
    try:
        item = value.item()
    except (TypeError, ValueError, RuntimeError):
        return None
    return float(item) if isinstance(item, (int, float)) and not isinstance(item, bool) else None


def plain_params(values: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Params from a config: numbers, text, booleans and None as they are, enums by value, nested
    mappings flattened with dots, lists of plain values kept; anything else (objects, tensors) left out."""
    return dict(_flatten(values, prefix))


def _flatten(values: Mapping[str, Any], prefix: str) -> Iterator[tuple[str, Any]]:
    for name, value in values.items():
        key = f"{prefix}{name}"
        if isinstance(value, enum.Enum):
            value = value.value
        if isinstance(value, float) and not math.isfinite(value):
            value = str(value)  # params are JSON: nan and inf as text
        if value is None or isinstance(value, (bool, int, float, str)):
            yield key, value
        elif isinstance(value, Mapping):
            yield from _flatten(value, key + ".")
        elif isinstance(value, (list, tuple)) and all(_plain(v) for v in value):
            yield key, [v.value if isinstance(v, enum.Enum) else v for v in value]


def _plain(value: Any) -> bool:
    return value is None or isinstance(value, (bool, int, float, str, enum.Enum))


def log_params(tracker: Tracker, params: Mapping[str, Any]) -> None:
    """Log params (reported, not raised, when one cannot be logged)."""
    autolog.guard("params", lambda: autolog.log_params(tracker, dict(params)))


def log_model(fit: autolog.Fit, model: Any, signature: dict[str, Any] | None = None) -> None:
    """The trained model as the fit's `model` (`fit<n>.model` for the n-th), when models are logged."""
    if fit.log_models:
        autolog.guard("the model", lambda: log_model_artifact(fit.tracker, model, name=fit.prefix + "model",
                                                               signature=signature))

