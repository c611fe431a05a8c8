"""Serializing fitted models into run artifacts and loading them back safely.

scikit-learn estimators and pipelines are written with skops, whose loader builds only the types
it is allowed to: loading accepts the exact names `modeltrust` allows (scikit-learn's own classes, a
few pure functions, listed NumPy and SciPy types) and refuses any other name the file gives unless
the caller says `trusted=True`. XGBoost and LightGBM models (boosters and their scikit-learn
estimators) are written in their libraries' own formats and loaded without pickle (`boosting`).
Anything else is pickled with a warning, and loading a pickle always needs `trusted=True`.
Each model is stored as `models/<name>/` in its run: the model file and a `meta.json` (class,
flavor, params), so it can be understood without loading it.
"""

from __future__ import annotations

import io
import json
import pickle
import warnings
from dataclasses import dataclass
from typing import Any

from nbmlops.errors import UntrustedModelError
from nbmlops.registry import boosting
from nbmlops.registry import trust as modeltrust
from nbmlops.tracking import validation
from nbmlops.tracking.tracker import Tracker

SKOPS = "sklearn-skops"
PICKLE = "pickle"
XGBOOST = boosting.XGBOOST
LIGHTGBM = boosting.LIGHTGBM
FILES = {SKOPS: "model.skops", PICKLE: "model.pkl", **boosting.FILES}  # flavor -> model file name


@dataclass(frozen=True)
class StoredModel:
    """Where a model went: the run, its artifact path in the run, content hash, flavor and class."""

    run_id: str
    path: str
    sha256: str
    size: int
    flavor: str
    model_class: str
    meta: dict[str, Any]


def is_sklearn(obj: object) -> bool:
    """True for scikit-learn estimators (including pipelines and searches)."""
    return any(cls.__module__.startswith("sklearn.") and cls.__name__ == "BaseEstimator"
               for cls in type(obj).__mro__)


def dump(obj: object) -> tuple[bytes, str]:
    """The model as bytes and the flavor that reads them back."""
    flavor = boosting.flavor_of(obj)  # before scikit-learn: XGBClassifier is a scikit-learn estimator too
    if flavor is not None:
        return boosting.dump(obj, flavor), flavor
    if is_sklearn(obj):
        try:
            import skops.io as sio
        except ImportError:
            pass
        else:
            return sio.dumps(obj), SKOPS
    warnings.warn(f"{type(obj).__name__} is stored with pickle: loading it later runs code from the "
                  "file, so it loads only with trusted=True", stacklevel=3)
    buffer = io.BytesIO()
    pickle.dump(obj, buffer, protocol=pickle.HIGHEST_PROTOCOL)
    return buffer.getvalue(), PICKLE


def flavor_of_file(path: str) -> str:
    """The flavor of a model file by its name (`models/<name>/model.ubj` -> xgboost)."""
    return next((f for f, name in FILES.items() if path.endswith("/" + name)), PICKLE)


def load(data: bytes, flavor: str, *, trusted: bool = False, label: str = "the model",
         meta: dict[str, Any] | None = None) -> Any:
    """A model from its bytes (and its `meta.json`), refusing unknown code unless `trusted`."""
    if flavor in boosting.FILES:
        return boosting.load(data, flavor, meta or {}, label)
    if flavor == SKOPS:
        import skops.io as sio

        unknown = sio.get_untrusted_types(data=data)
        risky = modeltrust.risky(unknown)
        if risky and not trusted:
            raise UntrustedModelError(
                f"{label} names types or functions that nbmlops does not trust ({', '.join(risky[:5])}): "
                "loading it could run code; load it with trusted=True only if you trust whoever stored it")
        return sio.loads(data, trusted=unknown)
    if flavor == PICKLE:
        if not trusted:
            raise UntrustedModelError(
                f"{label} is a pickle, and loading a pickle can run any code: pass trusted=True "
                "only if you trust whoever stored it")
        return pickle.loads(data)  # noqa: S301 - explicitly trusted by the caller
    raise UntrustedModelError(f"{label} has flavor {flavor!r}, which this nbmlops cannot load: "
                              "pip install -U nbmlops")


def describe(obj: object) -> dict[str, Any]:
    """Class, (for estimators) flattened scalar params, and what its flavor's loader needs."""
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
    flavor = boosting.flavor_of(obj)
    if flavor is not None:
        meta["estimator"] = boosting.describe(obj, flavor)
    return meta


def signature(obj: object) -> dict[str, Any] | None:
    """Input columns and dtypes the model itself knows (boosting models), else None."""
    flavor = boosting.flavor_of(obj)
    return boosting.signature(obj, flavor) if flavor is not None else None


def predict(model: Any, X: Any) -> Any:
    """The model's predictions for `X`, whatever input type its flavor's predict wants."""
    return boosting.predict(model, X)


def log_model_artifact(tracker: Tracker, obj: object, name: str = "model") -> StoredModel:
    """Store a fitted model with the active run under `models/<name>/`."""
    validation.key("model", name)
    data, flavor = dump(obj)
    meta = {**describe(obj), "flavor": flavor}
    path = validation.artifact_name(f"models/{name}/{FILES[flavor]}")
    sha, size = tracker.store.put_bytes(data)
    run_id = tracker.emit("artifact", {"path": path, "sha256": sha, "size": size})  # starts a run if none is active
    tracker.put_bytes(json.dumps(meta, indent=1, sort_keys=True, default=str).encode(),
                      f"models/{name}/meta.json")
    tracker.set_tags({f"model.{name}": meta["class"]})
    return StoredModel(run_id, path, sha, size, flavor, meta["class"], meta)
