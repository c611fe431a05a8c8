"""XGBoost and LightGBM models in their libraries' own formats, loaded back without pickle.

A native `Booster` and the scikit-learn estimators around one (`XGBClassifier`, `LGBMRegressor`,
...) are stored as the library writes them: XGBoost as UBJSON (`model.ubj`, what
`XGBModel.save_model` writes, so XGBoost alone can read it back), LightGBM as its model text
(`model.txt`). Neither format holds code, so loading needs no `trusted=True`.

What the model file does not say (which scikit-learn class wrapped the booster, its scalar
params, a LightGBM classifier's class labels) travels in the model's `meta.json` under
`estimator`. Loading rebuilds only the exact classes listed in `trust.BOOSTING_ESTIMATORS`; an
estimator of any other class (a user's subclass) is stored and loaded as the nearest listed class
it derives from, and a file naming no listed class loads as the library's `Booster`.
"""

from __future__ import annotations

import importlib
import re
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from nbmlops.errors import InvalidInputError, NbmlopsError
from nbmlops.registry import trust as modeltrust

XGBOOST = "xgboost"
LIGHTGBM = "lightgbm"
FILES = {XGBOOST: "model.ubj", LIGHTGBM: "model.txt"}
_BASES = {"Booster", "XGBModel", "LGBMModel"}  # a class of one of these names from the library is its model
_XGB_TYPES = {"int": "int64", "i": "bool", "c": "category"}  # XGBoost's feature types as pandas dtypes; else float64
_LGB_DEFAULT_NAME = re.compile(r"Column_(\d+)")  # what LightGBM calls the columns of an array


def flavor_of(obj: object) -> str | None:
    """`xgboost` or `lightgbm` for those libraries' boosters and estimators, else None."""
    for cls in type(obj).__mro__:
        library = cls.__module__.split(".")[0]
        if library in (XGBOOST, LIGHTGBM) and cls.__name__ in _BASES:
            return library
    return None


def estimator_name(obj: object, flavor: str) -> str:
    """The listed class `obj` is stored as: its own or the nearest listed base, else `Booster`."""
    for cls in type(obj).__mro__:
        if f"{cls.__module__}.{cls.__name__}" in modeltrust.BOOSTING_ESTIMATORS.get(flavor, ()):
            return cls.__name__
    return "Booster"


def _booster(obj: Any) -> Any:
    return obj if type(obj).__name__ == "Booster" else (obj.get_booster() if hasattr(obj, "get_booster")
                                                         else obj.booster_)


def _check_fitted(obj: Any) -> None:
    fitted = getattr(obj, "__sklearn_is_fitted__", None)
    if callable(fitted) and not fitted():
        raise InvalidInputError(f"this {type(obj).__name__} is not fitted: call fit() before logging it")


def dump(obj: Any, flavor: str) -> bytes:
    """The model file's bytes, in the library's own format."""
    _check_fitted(obj)
    if flavor == XGBOOST:
        if type(obj).__name__ == "Booster":
            return bytes(obj.save_raw(raw_format="ubj"))
        with tempfile.TemporaryDirectory(prefix="nbmlops-model-") as folder:
            path = Path(folder) / FILES[XGBOOST]
            obj.save_model(path)  # the estimator's own writer notes its kind in the file for XGBoost's loader
            return path.read_bytes()
    return str(_booster(obj).model_to_string()).encode()


def describe(obj: Any, flavor: str) -> dict[str, Any]:
    """What `load` needs beyond the file: the estimator class, and a LightGBM estimator's state."""
    name = estimator_name(obj, flavor)
    info: dict[str, Any] = {"estimator": name}
    if flavor == LIGHTGBM and name != "Booster":
        classes = getattr(obj, "_classes", None)
        objective = getattr(obj, "_objective", None)
        info.update(classes=None if classes is None else np.asarray(classes).tolist(),
                    objective=objective if isinstance(objective, str) else None,
                    feature_names=bool(getattr(obj, "_fitted_with_feature_names", False)))
    return info


def load(data: bytes, flavor: str, meta: dict[str, Any], label: str = "the model") -> Any:
    """The model from its file: the listed estimator class `meta` names, else a Booster."""
    library = _library(flavor, label)
    found = meta.get("estimator")
    info: dict[str, Any] = found if isinstance(found, dict) else {}
    name = str(info.get("estimator", "Booster"))
    listed = {n.rpartition(".")[2]: n for n in modeltrust.BOOSTING_ESTIMATORS.get(flavor, ())}
    params = {k: v for k, v in (meta.get("params") or {}).items() if isinstance(k, str)}
    if flavor == XGBOOST:
        xgboost = library
        if name in listed and name != "Booster":
            estimator = _construct(getattr(xgboost, name), params)
            estimator.load_model(bytearray(data))
            return estimator
        booster = xgboost.Booster()
        booster.load_model(bytearray(data))
        return booster
    native = library.Booster(model_str=data.decode())
    if name not in listed or name == "Booster":
        return native
    return _lightgbm_estimator(getattr(library, name), params, native, info)


def _library(flavor: str, label: str) -> Any:
    try:
        return importlib.import_module(flavor)
    except ImportError:
        raise NbmlopsError(f"{label} is a {flavor} model, and {flavor} is not installed here: "
                           f"pip install {flavor} (or nbmlops[{flavor}])") from None


def _construct(cls: type, params: dict[str, Any]) -> Any:
    try:
        return cls(**params)
    except (TypeError, ValueError):  # a param this version of the library does not take
        return cls()


def _lightgbm_estimator(cls: type, params: dict[str, Any], booster: Any, info: dict[str, Any]) -> Any:
    """A fitted LightGBM estimator around `booster`, in the state its `fit` leaves (LightGBM has no loader)."""
    import lightgbm.sklearn

    estimator = _construct(cls, params)
    n = booster.num_feature()
    estimator._Booster, estimator.fitted_ = booster, True
    estimator._n_features = estimator._n_features_in = n
    estimator._fitted_with_feature_names = bool(info.get("feature_names"))
    estimator._objective = info.get("objective") or params.get("objective")
    estimator._best_iteration, estimator._best_score, estimator._evals_result = booster.best_iteration, {}, {}
    classes = info.get("classes")
    if classes is not None:
        from sklearn.preprocessing import LabelEncoder

        encoder = getattr(lightgbm.sklearn, "_LGBMLabelEncoder", LabelEncoder)  # what its fit uses, when it has one
        estimator._le = encoder().fit(np.asarray(classes))
        estimator._classes = estimator._le.classes_
        estimator._n_classes = len(estimator._classes)
        estimator._class_map = dict(zip(estimator._classes, estimator._le.transform(estimator._classes), strict=True))
    return estimator


def signature(obj: Any, flavor: str) -> dict[str, Any] | None:
    """Input columns and dtypes as the model knows them (positions "0".."n-1" when fitted on an array)."""
    try:
        booster = _booster(obj)
    except Exception:  # not fitted: no signature
        return None
    if flavor == XGBOOST:
        n = booster.num_features()
        names = booster.feature_names or [str(i) for i in range(n)]
        types = booster.feature_types or ["float"] * n
        return {"inputs": [{"name": str(c), "dtype": _XGB_TYPES.get(t, "float64")}
                           for c, t in zip(names, types, strict=True)]}
    names = [str(c) for c in booster.feature_name()]
    if all(_LGB_DEFAULT_NAME.fullmatch(c) for c in names):
        names = [str(i) for i in range(len(names))]
    return {"inputs": [{"name": c, "dtype": "float64"} for c in names]}


def predict(model: Any, X: Any) -> Any:
    """`model.predict(X)`; an XGBoost Booster takes its input as a DMatrix."""
    if type(model).__name__ == "Booster" and type(model).__module__.startswith(XGBOOST):
        import xgboost

        return model.predict(xgboost.DMatrix(X))
    return model.predict(X)
