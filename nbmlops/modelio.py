"""Serializing fitted models into run artifacts: safe formats first, pickle only as a fallback.

scikit-learn estimators and pipelines are written with skops, whose loader does not run arbitrary
code. Anything else is pickled with a warning. Each model is stored as `models/<name>/` with the
model file and a `meta.json` (class, flavor, params), so it can be understood without loading it.
"""

from __future__ import annotations

import io
import json
import pickle
import warnings
from typing import Any

from . import validation
from .tracking import Tracker

SKOPS = "sklearn-skops"
PICKLE = "pickle"


def is_sklearn(obj: object) -> bool:
    """True for scikit-learn estimators (including pipelines and searches)."""
    return any(cls.__module__.startswith("sklearn.") and cls.__name__ == "BaseEstimator"
               for cls in type(obj).__mro__)


def dump(obj: object) -> tuple[bytes, str]:
    """The model as bytes and the flavor that reads them back."""
    if is_sklearn(obj):
        try:
            import skops.io as sio
        except ImportError:
            pass
        else:
            return sio.dumps(obj), SKOPS
    warnings.warn(f"{type(obj).__name__} is stored with pickle: loading it later runs code from the "
                  "file, so load it only from a store you trust", stacklevel=3)
    buffer = io.BytesIO()
    pickle.dump(obj, buffer, protocol=pickle.HIGHEST_PROTOCOL)
    return buffer.getvalue(), PICKLE


def describe(obj: object) -> dict[str, Any]:
    """Class and (for estimators) flattened scalar params of a model."""
    cls = type(obj)
    meta: dict[str, Any] = {"class": f"{cls.__module__}.{cls.__qualname__}"}
    get_params = getattr(obj, "get_params", None)
    if callable(get_params):
        try:
            params = get_params(deep=True)
        except Exception:
            params = {}
        meta["params"] = {k: v for k, v in params.items()
                          if v is None or isinstance(v, (bool, int, float, str))}
    return meta


def log_model_artifact(tracker: Tracker, obj: object, name: str = "model") -> dict[str, Any]:
    """Store a fitted model with the active run under `models/<name>/`; returns its metadata."""
    validation.key("model", name)
    data, flavor = dump(obj)
    meta = {**describe(obj), "flavor": flavor}
    filename = "model.skops" if flavor == SKOPS else "model.pkl"
    tracker.put_bytes(data, f"models/{name}/{filename}")
    tracker.put_bytes(json.dumps(meta, indent=1, sort_keys=True, default=str).encode(),
                      f"models/{name}/meta.json")
    tracker.set_tags({f"model.{name}": meta["class"]})
    return meta
