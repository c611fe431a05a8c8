"""Serializing fitted models into run artifacts and loading them back safely.

scikit-learn estimators and pipelines are written with skops, whose loader builds only the types
it is allowed to: loading accepts the exact names `modeltrust` allows (scikit-learn's own classes, a
few pure functions, listed NumPy and SciPy types) and refuses any other name the file gives unless
the caller says `trusted=True`. XGBoost and LightGBM models (boosters and their scikit-learn
estimators) are written in their libraries' own formats and loaded without pickle (`boosting`).
Deep-learning models are written without pickle too: torch modules (LightningModules included)
as safetensors weights (`pytorch`), Keras 3 models as `.keras` files loaded with `safe_mode`
(`keras`), Hugging Face transformers models as their `save_pretrained` folder (`transformers`).
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

from nbmlops.errors import InvalidInputError, UntrustedModelError
from nbmlops.registry import boosting
from nbmlops.registry import keras as keras_flavor
from nbmlops.registry import pytorch as torch_flavor
from nbmlops.registry import transformers as hf_flavor
from nbmlops.registry import trust as modeltrust
from nbmlops.tracking import validation
from nbmlops.tracking.tracker import Tracker

SKOPS = "sklearn-skops"
PICKLE = "pickle"
XGBOOST = boosting.XGBOOST
LIGHTGBM = boosting.LIGHTGBM
PYTORCH = torch_flavor.FLAVOR
KERAS = keras_flavor.FLAVOR
TRANSFORMERS = hf_flavor.FLAVOR
# Checked in this order: Keras 3 (on the torch backend) and transformers models are torch modules too.
TENSOR_FLAVORS = {m.FLAVOR: m for m in (keras_flavor, hf_flavor, torch_flavor)}
FILES = {SKOPS: "model.skops", PICKLE: "model.pkl", **boosting.FILES,
         **{f: m.FILE for f, m in TENSOR_FLAVORS.items()}}  # flavor -> model file name (path in models/<name>/)


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


def tensor_flavor(obj: object) -> str | None:
    """`keras`, `transformers` or `pytorch` for those libraries' models, else None."""
    return next((f for f, m in TENSOR_FLAVORS.items() if m.matches(obj)), None)


def dump(obj: object) -> tuple[bytes, str]:
    """The model as bytes and the flavor that reads them back."""
    return _dump(obj)[:2]


def _dump(obj: object) -> tuple[bytes, str, dict[str, Any] | None]:
    """The model's bytes, its flavor, and what a tensor flavor's loader needs beyond them."""
    deep = tensor_flavor(obj)
    if deep is not None:
        data, extra = TENSOR_FLAVORS[deep].save(obj)
        return data, deep, extra
    flavor = boosting.flavor_of(obj)  # before scikit-learn: XGBClassifier is a scikit-learn estimator too
    if flavor is not None:
        return boosting.dump(obj, flavor), flavor, None
    if is_sklearn(obj):
        try:
            import skops.io as sio
        except ImportError:
            pass
        else:
            return sio.dumps(obj), SKOPS, None
    warnings.warn(f"{type(obj).__name__} is stored with pickle: loading it later runs code from the "
                  "file, so it loads only with trusted=True", stacklevel=3)
    buffer = io.BytesIO()
    pickle.dump(obj, buffer, protocol=pickle.HIGHEST_PROTOCOL)
    return buffer.getvalue(), PICKLE, None


def flavor_of_file(path: str) -> str:
    """The flavor of a model file by its name (`models/<name>/model.ubj` -> xgboost)."""
    # the longest name that fits: `pretrained/model.safetensors` before `model.safetensors`
    found = [(len(name), f) for f, name in FILES.items() if path.endswith("/" + name)]
    return max(found)[1] if found else PICKLE


def load(data: bytes, flavor: str, *, trusted: bool = False, label: str = "the model",
         meta: dict[str, Any] | None = None, model_class: Any = None) -> Any:
    """A model from its bytes (and its `meta.json`), refusing unknown code unless `trusted`.

    `model_class` rebuilds a PyTorch model as that torch.nn.Module class (else its state dict is
    returned), or loads a transformers model as that class; other flavors take none.
    """
    if flavor in TENSOR_FLAVORS:
        return TENSOR_FLAVORS[flavor].load(data, meta or {}, label, model_class)
    if model_class is not None:
        raise InvalidInputError(f"model_class is for PyTorch and transformers models, and {label} is a "
                                f"{flavor} model: leave it out")
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
    """Input columns and dtypes the model itself knows (boosting models; tensor models' input
    names, dtypes and shapes where they can be derived), else None."""
    deep = tensor_flavor(obj)
    if deep is not None:
        return TENSOR_FLAVORS[deep].signature(obj)
    flavor = boosting.flavor_of(obj)
    return boosting.signature(obj, flavor) if flavor is not None else None


def predict(model: Any, X: Any) -> Any:
    """The model's predictions for `X`, whatever input type its flavor's predict wants."""
    return boosting.predict(model, X)


def log_model_artifact(tracker: Tracker, obj: object, name: str = "model", *,
                       signature: dict[str, Any] | None = None) -> StoredModel:
    """Store a fitted model with the active run under `models/<name>/`.

    A tensor model's `meta.json` also holds its signature: `signature`, else what the model knows.
    """
    validation.key("model", name)
    data, flavor, extra = _dump(obj)
    meta = {**describe(obj), "flavor": flavor}
    if extra is not None:
        meta[flavor] = extra
        found = signature if signature is not None else TENSOR_FLAVORS[flavor].signature(obj)
        if found is not None:
            meta["signature"] = found
    path = validation.artifact_name(f"models/{name}/{FILES[flavor]}")
    sha, size = tracker.store.put_bytes(data)
    run_id = tracker.emit("artifact", {"path": path, "sha256": sha, "size": size})  # starts a run if none is active
    for side, content in (hf_flavor.side_files(meta) if flavor == TRANSFORMERS else {}).items():
        tracker.put_bytes(content, f"models/{name}/{side}")  # the save_pretrained folder, as stored
    tracker.put_bytes(json.dumps(meta, indent=1, sort_keys=True, default=str).encode(),
                      f"models/{name}/meta.json")
    tracker.set_tags({f"model.{name}": meta["class"]})
    return StoredModel(run_id, path, sha, size, flavor, meta["class"], meta)
