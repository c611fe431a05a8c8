"""Which names a skops model file may make nbmlops import, build or call without `trusted=True`.

A skops file names every type and function it needs by its full dotted name, and skops' loader
imports each name and, for several node kinds, *calls* it with arguments from the file. So the
question is never "which module is it from" (a prefix such as `builtins.` lets `builtins.exec`
through) but "is this exact name harmless to call with any arguments". nbmlops answers yes for:

- classes that scikit-learn itself defines (estimators, transformers and their helper types such
  as `sklearn.tree._tree.Tree`): the name must resolve to a class whose own `__module__` and
  `__qualname__` are that name, outside test, vendored and dataset-fetching modules, so a re-export
  or an alias of foreign code never matches; scikit-learn's constructors only store their arguments;
- the few pure functions that fitted scikit-learn objects hold (score functions, metrics, k-means
  steps), again resolved to a function defined in one of the listed modules;
- an exact list of NumPy and SciPy names: the dtype, reductions used as pooling functions, the
  sparse matrix and array classes, B-splines.
Anything else (every `builtins.*`, `os.*`, `subprocess.*`, `importlib.*`, NumPy's file I/O) needs
`trusted=True`.

XGBoost and LightGBM models hold no code at all (UBJSON, LightGBM's model text); what a loader may
build from one is `BOOSTING_ESTIMATORS`: the library's Booster and its own scikit-learn estimators.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import re

_SPARSE = ("bsr", "coo", "csc", "csr", "dia", "dok", "lil")
SAFE_NAMES = frozenset({
    "numpy.dtype",
    *(f"numpy.{f}" for f in ("mean", "median", "sum", "min", "max", "std", "var", "average", "nanmean",
                             "nanmedian", "nansum", "nanmin", "nanmax", "amin", "amax")),
    *(f"scipy.sparse._{kind}.{kind}_{shape}" for kind in _SPARSE for shape in ("matrix", "array")),
    "scipy.interpolate._bsplines.BSpline",
    # array-API shims that fitted estimators keep as their namespace's asarray
    "scipy._lib.array_api_compat.numpy._aliases.asarray",
    "sklearn.externals.array_api_compat.numpy._aliases.asarray",
})
# The classes an XGBoost or LightGBM model file is rebuilt as (registry/boosting.py), by flavor.
BOOSTING_ESTIMATORS = {
    "xgboost": frozenset({"xgboost.core.Booster", *(f"xgboost.sklearn.{n}" for n in (
        "XGBClassifier", "XGBRegressor", "XGBRanker", "XGBRFClassifier", "XGBRFRegressor"))}),
    "lightgbm": frozenset({"lightgbm.basic.Booster", *(f"lightgbm.sklearn.{n}" for n in (
        "LGBMClassifier", "LGBMRegressor", "LGBMRanker"))}),
}
# scikit-learn modules whose functions are pure computations a fitted object may hold.
_FUNCTION_MODULES = re.compile(
    r"sklearn\.(metrics\.(_classification|_regression|_ranking|pairwise|cluster\._supervised|cluster\._unsupervised)"
    r"|feature_selection\.(_univariate_selection|_mutual_info)|cluster\._kmeans|cluster\._k_means_\w+)")
# Never imported on a file's say-so: tests (need pytest, monkeypatch things), vendored third-party
# code, dataset fetchers (network, disk), build helpers.
_EXCLUDED_MODULES = re.compile(r"(^|\.)(tests?|_testing|conftest|externals|datasets|_build_utils|__check_build"
                               r"|_show_versions|experimental)(\.|$)")
_DOTTED = re.compile(r"sklearn(\.[A-Za-z_][A-Za-z0-9_]*)+")


def risky(names: list[str]) -> list[str]:
    """The names among `names` that need `trusted=True`."""
    return [n for n in names if not is_safe(n)]


@functools.lru_cache(maxsize=4096)
def is_safe(name: str) -> bool:
    """True when `name` is on the exact list or resolves to scikit-learn's own class or pure function."""
    if name in SAFE_NAMES:
        return True
    if not _DOTTED.fullmatch(name):
        return False
    module_name, _, attr = name.rpartition(".")
    if _EXCLUDED_MODULES.search(module_name):
        return False
    try:
        module = importlib.import_module(module_name)
    except Exception:  # not a module of the installed scikit-learn: unknown, so not safe
        return False
    obj = module.__dict__.get(attr)
    if inspect.isclass(obj):
        return obj.__module__ == module_name and obj.__qualname__ == attr
    if inspect.isfunction(obj) or inspect.isbuiltin(obj) or type(obj).__name__ == "cython_function_or_method":
        return (getattr(obj, "__module__", None) == module_name and getattr(obj, "__name__", None) == attr
                and _FUNCTION_MODULES.fullmatch(module_name) is not None)
    return False
