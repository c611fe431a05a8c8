"""Autologging for scikit-learn: fits and `sklearn.metrics` calls recorded in the active run.

How it hooks in, and why this way:
- Fits. The `fit`, `fit_transform` and `fit_predict` that each estimator class resolves to are
  wrapped in place on the class that defines them (sklearn's `available_if` descriptors are
  copied with their function wrapped). Classes that exist at `autolog()` are found by walking
  `BaseEstimator.__subclasses__()` recursively, without importing anything more; classes created
  later (sklearn modules imported afterwards, the user's own estimators) are wrapped as they are
  created, by a `BaseEstimator.__init_subclass__` hook. Wrappers keep `__wrapped__`, so
  signatures and metadata routing see the real methods.
- Metric functions. `from sklearn.metrics import f1_score` done before `autolog()` holds the
  function object itself, so replacing the module attribute would miss it. Instead that object's
  `__code__` is swapped for a trampoline (with the same free variables, as Python requires, and
  our hook as a constant) that calls the hook, which calls an untouched copy of the function:
  every reference runs the hook, whatever the import style, for one extra call (`sys.setprofile`
  would tax every call in the process). `autolog(False)` puts the original code object back.
- Depth. A thread-local depth counts autologged frames (fits, `score`, scorers, cross-validation
  helpers, metric functions); only calls at depth 0 log. So Pipeline steps, search candidates,
  `score()` calling `accuracy_score`, `root_mean_squared_error` calling `mean_squared_error` log
  nothing. While an outermost fit is logged, a process-wide count silences other threads too
  (joblib's threading backend fits candidates on worker threads).
- Only into the active run: without one nothing is logged; autolog never starts a run.
- Params are write-once: the n-th autologged fit in a run (n >= 2) logs params, metrics and model
  under the prefix `fit<n>.` (`fit2.C`, `fit2.fit_time`, `models/fit2.model/`).
- A search (anything with `cv_results_`, e.g. GridSearchCV) also logs `best_<param>` params, the
  `best_cv_score` metric and one FINISHED child run per candidate, the best `max_child_runs` by
  rank; the parent's tag `autolog.skipped_child_runs` counts the others.
- Trouble inside nbmlops never breaks the user's call: it is reported once as an
  `AutologWarning`. Exceptions of the user's own calls propagate unchanged.
- Other libraries plug in here (`register_library`): xgboost.py and lightgbm.py are switched on
  and off with scikit-learn, share its depth, options and per-run fit count, and give their
  scikit-learn estimators a `FitHook`, so an XGBClassifier fit is logged once, by this wrapper,
  with the hook's extras (per-round metrics, best iteration, feature importance).
"""

from __future__ import annotations

import contextlib
import copy
import functools
import importlib.util
import inspect
import numbers
import sys
import threading
import time
import types
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol

from nbmlops.data.datasets import log_dataset
from nbmlops.errors import InvalidInputError, NbmlopsError
from nbmlops.registry.serialization import log_model_artifact
from nbmlops.tracking import tracker as tracking

FIT_METHODS = ("fit", "fit_transform", "fit_predict")
QUIET_METHODS = ("score",)  # run at depth > 0: the metrics they compute are not the user's
METRIC_SUFFIXES = ("_score", "_error", "_loss", "_deviance")
QUIET_FUNCTIONS = ("cross_validate", "cross_val_score", "cross_val_predict", "learning_curve",
                   "validation_curve", "permutation_test_score")  # in sklearn.model_selection
MAX_TRAINING_SCORE_SAMPLES = 1_000_000
_HOOK = "__nbmlops_autolog_hook__"  # placeholder constant, replaced by the hook itself
_TRAMPOLINE_FILE = "<nbmlops.autolog.sklearn trampoline>"
_MISSING = object()
_Make = Callable[[Callable[..., Any]], Callable[..., Any]]  # original -> its replacement


class AutologWarning(UserWarning):
    """nbmlops could not log part of an autologged call; the call itself went on."""


class _Depth(threading.local):
    value = 0


class FitHook(Protocol):
    """What another library adds to the logged fit of its scikit-learn estimators."""

    training_score: bool  # whether the fit still logs training_score (a second pass over the training data)

    def before(self, tracker: tracking.Tracker, estimator: Any, prefix: str) -> None:
        """Called before the fit (after params are logged); may raise: reported, the fit goes on."""

    def done(self) -> None:
        """Called after the fit, whether it raised or not; must not raise."""

    def after(self, tracker: tracking.Tracker, estimator: Any, prefix: str) -> None:
        """Called after a fit that returned; may raise: reported."""


@dataclass(frozen=True)
class Library:
    """Another library's autolog: installed with scikit-learn's when `module` can be imported."""

    module: str
    install: Callable[[], None]
    uninstall: Callable[[], None]


class _Autologger:
    """All autolog state of this process: options, what is patched, per-run counters."""

    def __init__(self) -> None:
        self.enabled, self.max_child_runs, self.log_models, self.log_datasets = False, 50, True, True
        # Patches installed but silent: what `autologging` leaves behind, so the next tracked
        # cell switches autolog on by a flag instead of re-patching every estimator (~13 ms).
        self.paused = False
        self.depth = _Depth()
        self.busy = 0  # outermost fits being logged, in any thread
        self.lock = threading.RLock()
        self.methods: list[tuple[type, str, Any, Any]] = []  # (class, name, original, replacement)
        self.functions: list[tuple[types.FunctionType, types.CodeType, Any]] = []
        self.base: Any = None  # sklearn.base.BaseEstimator, once installed
        self.init_subclass: Any = None  # what BaseEstimator.__dict__ held, or _MISSING
        self.fits: dict[str, int] = {}  # run id -> autologged fits
        self.metric_calls: dict[str, dict[str, int]] = {}  # run id -> metric name -> calls
        self.warned: set[tuple[str, type]] = set()
        self.libraries: list[Library] = []  # registered by the modules beside this one
        self.installed: list[Library] = []
        self.fit_hooks: list[tuple[type, FitHook]] = []  # (estimator base class, its hook), while installed

    def __reduce__(self) -> str:
        return "_STATE"  # pickled by name: the one instance of this process


_STATE = _Autologger()


def register_library(library: Library) -> None:
    """Switch `library`'s autolog on and off with scikit-learn's from now on."""
    with _STATE.lock:
        if all(known.module != library.module for known in _STATE.libraries):
            _STATE.libraries.append(library)
            if _STATE.enabled:
                _install_library(library)


def add_fit_hook(base: type, hook: FitHook) -> None:
    """Give fits of `base` and its subclasses `hook`'s extras (until autolog is switched off)."""
    _STATE.fit_hooks.append((base, hook))


def autolog(enable: bool = True, *, max_child_runs: int = 50, log_models: bool = True,
            log_datasets: bool = True) -> None:
    """Log scikit-learn, XGBoost and LightGBM fits (those installed) and sklearn.metrics calls into the active run.

    PyTorch Lightning, Keras 3 and transformers Trainer fits too, once their library is imported.

    >>> nbmlops.autolog()
    >>> with nbmlops.start_run():
    ...     model = LogisticRegression(C=0.5).fit(X, y)  # params, fit_time, training_score, model
    ...     f1_score(y_test, model.predict(X_test))      # metric f1_score
    ...     xgb.XGBClassifier().fit(X, y, eval_set=[(X_val, y_val)])  # + validation_0-logloss per round
    ...     lightning.Trainer(max_epochs=3).fit(module, loader)  # hparams, self.log metrics, weights
    """
    if isinstance(max_child_runs, bool) or not isinstance(max_child_runs, int) or max_child_runs < 0:
        raise InvalidInputError(f"max_child_runs must be an integer >= 0, got {max_child_runs!r}")
    with _STATE.lock:
        _STATE.max_child_runs = max_child_runs
        _STATE.log_models, _STATE.log_datasets = bool(log_models), bool(log_datasets)
        if enable:
            _STATE.paused = False
        if enable and not _STATE.enabled:
            _STATE.warned.clear()  # "once" means once per autolog() session
            try:
                _install()
            except BaseException:
                _uninstall()  # never leave sklearn half patched
                raise
        elif not enable and _STATE.enabled:
            _uninstall()


@contextlib.contextmanager
def autologging(**kwargs: Any) -> Iterator[None]:
    """Autolog on inside the block, restored afterwards (what %%track uses).

    >>> with nbmlops.autologging(log_models=False):
    ...     model.fit(X, y)
    """
    active = _STATE.enabled and not _STATE.paused
    options = (_STATE.max_child_runs, _STATE.log_models, _STATE.log_datasets)
    enable = kwargs.pop("enable", True)
    if enable:
        autolog(True, **kwargs)
    else:
        _STATE.paused = _STATE.enabled
    try:
        yield
    finally:
        with _STATE.lock:
            _STATE.max_child_runs, _STATE.log_models, _STATE.log_datasets = options
            _STATE.paused = _STATE.enabled and not active


# -- installing and restoring ----------------------------------------------------------------
def _install() -> None:
    try:
        import sklearn.base
        import sklearn.metrics
        import sklearn.metrics._scorer
        import sklearn.model_selection
    except ImportError as exc:
        raise InvalidInputError(f"autolog needs scikit-learn ({exc}): pip install scikit-learn") from None
    base = _STATE.base = sklearn.base.BaseEstimator
    previous = base.__dict__.get("__init_subclass__", _MISSING)
    _STATE.init_subclass = previous

    def init_subclass(cls: type, **kwargs: Any) -> None:
        if previous is _MISSING:
            super(base, cls).__init_subclass__(**kwargs)
        else:
            previous.__get__(None, cls)(**kwargs)
        if _STATE.enabled:
            _wrap_class(cls)

    base.__init_subclass__ = classmethod(init_subclass)
    seen: set[type] = set()
    todo = [base]
    while todo:
        for sub in type.__subclasses__(todo.pop()):
            if sub not in seen:
                seen.add(sub)
                todo.append(sub)
                _wrap_class(sub)
    for cls in vars(sklearn.metrics._scorer).values():
        if isinstance(cls, type) and isinstance(cls.__dict__.get("__call__"), types.FunctionType):
            _wrap_attribute(cls, "__call__", _quiet)
    patched: set[int] = set()
    for name in dir(sklearn.metrics):
        func = getattr(sklearn.metrics, name)
        if name.startswith("_") or not isinstance(func, types.FunctionType) or id(func) in patched:
            continue
        if name.endswith(METRIC_SUFFIXES):
            _patch_function(func, functools.partial(_metric_hook, name=name))
        elif func.__module__ != "sklearn.metrics.pairwise":  # reports, curves: may call metrics
            _patch_function(func, _quiet)
        patched.add(id(func))
    for name in QUIET_FUNCTIONS:
        func = getattr(sklearn.model_selection, name, None)
        if isinstance(func, types.FunctionType):
            _patch_function(func, _quiet)
    _STATE.enabled = True
    for library in _STATE.libraries:
        _install_library(library)


def _install_library(library: Library) -> None:
    """Install one library's autolog if it is importable; a failure is reported and leaves it off."""
    try:
        if importlib.util.find_spec(library.module) is None:
            return
        library.install()
    except Exception as exc:  # a broken install of that library must not stop scikit-learn's autolog
        _guard(f"{library.module} fits", library.uninstall)
        _warn_once(f"{library.module} fits", exc)
        return
    _STATE.installed.append(library)


def _uninstall() -> None:
    _STATE.enabled = False
    for library in reversed(_STATE.installed):
        _guard(f"{library.module} fits", library.uninstall)
    _STATE.installed, _STATE.fit_hooks = [], []
    for owner, name, original, replacement in reversed(_STATE.methods):
        if owner.__dict__.get(name) is replacement:  # not re-patched by someone else since
            setattr(owner, name, original)
    for func, code, signature in reversed(_STATE.functions):
        func.__code__ = code
        if signature is _MISSING:
            func.__dict__.pop("__signature__", None)
        else:
            func.__signature__ = signature
    if _STATE.init_subclass is not None:
        import sklearn.base

        if _STATE.init_subclass is _MISSING:
            del sklearn.base.BaseEstimator.__init_subclass__
        else:
            sklearn.base.BaseEstimator.__init_subclass__ = _STATE.init_subclass
    _STATE.methods, _STATE.functions, _STATE.init_subclass = [], [], None


def _wrap_class(cls: type) -> None:
    for name in FIT_METHODS + QUIET_METHODS:
        owner = next((k for k in cls.__mro__ if name in k.__dict__), None)
        if owner is not None and owner is not object:
            _wrap_attribute(owner, name, _logged_fit if name in FIT_METHODS else _quiet)


def _wrap_attribute(owner: type, name: str, make: _Make) -> None:
    original = owner.__dict__[name]
    if isinstance(original, types.FunctionType):
        if hasattr(original, "__nbmlops_original__"):
            return
        replacement: Any = functools.wraps(original)(make(original))
        replacement.__nbmlops_original__ = original
    elif isinstance(getattr(original, "fn", None), types.FunctionType):  # sklearn's available_if
        if hasattr(original.fn, "__nbmlops_original__"):
            return
        replacement = copy.copy(original)
        replacement.fn = functools.wraps(original.fn)(make(original.fn))
        replacement.fn.__nbmlops_original__ = original.fn
        replacement.__wrapped__ = replacement.fn
    else:
        return
    try:
        setattr(owner, name, replacement)
    except (TypeError, AttributeError):  # an immutable (extension) type: leave it alone
        return
    _STATE.methods.append((owner, name, original, replacement))


def _patch_function(func: types.FunctionType, make: _Make) -> None:
    """Make every reference to `func` run `make(copy of func)` by swapping its code object."""
    code = func.__code__
    if code.co_filename == _TRAMPOLINE_FILE or code.co_flags & (inspect.CO_GENERATOR | inspect.CO_COROUTINE):
        return
    twin = types.FunctionType(code, func.__globals__, func.__name__, func.__defaults__, func.__closure__)
    twin.__kwdefaults__ = func.__kwdefaults__
    twin.__dict__.update(func.__dict__)
    twin.__qualname__, twin.__module__, twin.__doc__ = func.__qualname__, func.__module__, func.__doc__
    try:
        signature: Any = inspect.signature(twin)
    except (TypeError, ValueError):
        signature = None
    previous = func.__dict__.get("__signature__", _MISSING)
    func.__code__ = _trampoline(code, make(twin))
    if signature is not None:  # the trampoline's own signature is (*args, **kwargs)
        func.__signature__ = signature  # type: ignore[attr-defined]
    _STATE.functions.append((func, code, previous))


def _trampoline(code: types.CodeType, hook: Callable[..., Any]) -> types.CodeType:
    """A code object with `code`'s free variables whose body is `return hook(*args, **kwargs)`."""
    free = code.co_freevars  # a function's code can only be swapped for one with as many
    lines = ["def outer():", *(f"    {v} = None" for v in free), "    def trampoline(*args, **kwargs):",
             f"        return {_HOOK!r}(*args, **kwargs)"]
    if free:
        lines.append(f"        {', '.join(free)}")  # unreachable, but makes them free variables
    lines.append("    return trampoline")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SyntaxWarning)  # "'str' object is not callable"
        module = compile("\n".join(lines), _TRAMPOLINE_FILE, "exec")
    outer = next(c for c in module.co_consts if isinstance(c, types.CodeType))
    inner = next(c for c in outer.co_consts if isinstance(c, types.CodeType))
    consts = tuple(hook if isinstance(c, str) and c == _HOOK else c for c in inner.co_consts)
    names = {"co_qualname": code.co_qualname} if hasattr(code, "co_qualname") else {}  # 3.11+
    return inner.replace(co_consts=consts, co_name=code.co_name, **names)


# -- wrappers --------------------------------------------------------------------------------
# They close over nothing but the original: cloudpickle copies a notebook's estimator classes,
# wrapped methods included, into joblib's worker processes, where `_STATE` pickles by name.
def _quiet(original: Callable[..., Any]) -> Callable[..., Any]:
    def quiet(*args: Any, **kwargs: Any) -> Any:
        depth = _STATE.depth
        depth.value += 1
        try:
            return original(*args, **kwargs)
        finally:
            depth.value -= 1

    return quiet


def _metric_hook(original: Callable[..., Any], name: str) -> Callable[..., Any]:
    def metric(*args: Any, **kwargs: Any) -> Any:
        state = _STATE
        depth = state.depth
        if depth.value or state.busy or not state.enabled or state.paused:
            return original(*args, **kwargs)
        depth.value += 1
        try:
            value = original(*args, **kwargs)
        finally:
            depth.value -= 1
        _log_metric_call(name, value)
        return value

    return metric


def _logged_fit(original: Callable[..., Any]) -> Callable[..., Any]:
    def fit(self: Any, *args: Any, **kwargs: Any) -> Any:
        state = _STATE
        depth, active = state.depth, None
        if not depth.value and not state.busy and state.enabled and not state.paused \
                and isinstance(self, state.base):
            active = _active()
        if active is None:
            depth.value += 1
            try:
                return original(self, *args, **kwargs)
            finally:
                depth.value -= 1
        with state.lock:
            state.busy += 1
        depth.value += 1
        try:
            X = args[0] if args else kwargs.get("X")
            y = args[1] if len(args) > 1 else kwargs.get("y")
            prefix = _guard("params", lambda: _before_fit(active, self, X, y)) or ""
            hook = next((h for base, h in state.fit_hooks if isinstance(self, base)), None)
            if hook is not None:
                _guard("the fit", lambda: hook.before(active[0], self, prefix))
            start = time.perf_counter()
            try:
                result = original(self, *args, **kwargs)
            finally:
                if hook is not None:
                    hook.done()
            seconds = time.perf_counter() - start
            scored = hook is None or hook.training_score
            _guard("the fit", lambda: _after_fit(active, self, X, y, seconds, prefix, scored))
            if hook is not None:
                _guard("the fit", lambda: hook.after(active[0], self, prefix))
            return result
        finally:
            depth.value -= 1
            with state.lock:
                state.busy -= 1

    return fit


# -- for the other libraries' autologs (boosting.py) -----------------------------------------
@dataclass(frozen=True)
class Fit:
    """An outermost training call being logged: where, under which key prefix, and with which options."""

    tracker: tracking.Tracker
    prefix: str
    log_models: bool


@contextlib.contextmanager
def outermost_fit() -> Iterator[Fit | None]:
    """Around a library's own training function: a Fit when this call is to be logged (autolog on,
    a run active, no autologged call around it), else None; calls inside it are not logged."""
    state = _STATE
    depth, active = state.depth, None
    if not depth.value and not state.busy and state.enabled and not state.paused:
        active = _active()
    if active is None:
        depth.value += 1
        try:
            yield None
        finally:
            depth.value -= 1
        return
    with state.lock:
        state.busy += 1
    depth.value += 1
    try:
        yield Fit(active[0], _next_prefix(active[1]), state.log_models)
    finally:
        depth.value -= 1
        with state.lock:
            state.busy -= 1


def patch_function(func: Callable[..., Any], make: _Make) -> None:
    """Make every reference to `func` run `make(copy of func)` until autolog is switched off."""
    if not isinstance(func, types.FunctionType):
        raise NbmlopsError(f"cannot hook {func!r}: it is not a Python function")
    _patch_function(func, make)


def guard(what: str, step: Callable[[], Any]) -> Any:
    """`step()`, or None with an AutologWarning (once) if it raises: logging never breaks the user's call."""
    return _guard(what, step)


def warn_once(what: str, exc: BaseException) -> None:
    """Report that `what` could not be logged, once per kind of failure and autolog session."""
    _warn_once(what, exc)


def log_params(tracker: tracking.Tracker, params: dict[str, Any]) -> None:
    """Log params; one that is bad or conflicts is reported and the others are logged."""
    _log_params(tracker, params)


def is_scalar(value: Any) -> bool:
    """True for one real number (not a bool, an array or a tuple)."""
    return _is_scalar(value)


# -- logging ---------------------------------------------------------------------------------
def _active() -> tuple[tracking.Tracker, tracking.ActiveRun] | None:
    """This process's tracker and its active run, if both exist."""
    current = tracking.existing_tracker()  # never create a tracker: no run means nothing to log
    run = current.active_run() if current is not None else None
    return (current, run) if current is not None and run is not None else None


def _warn_once(what: str, exc: BaseException) -> None:
    if (what, type(exc)) in _STATE.warned:
        return
    _STATE.warned.add((what, type(exc)))
    frame: types.FrameType | None = sys._getframe(1)
    level = 2  # point the warning at the user's line, past our frames
    while frame is not None and (frame.f_code.co_filename in (__file__, _TRAMPOLINE_FILE)
                                 or frame.f_globals.get("__name__", "").startswith("sklearn.")):
        frame, level = frame.f_back, level + 1
    warnings.warn(f"nbmlops autolog could not log {what} ({type(exc).__name__}: {exc}); "
                  "the call itself went on", AutologWarning, stacklevel=level)


def _guard(what: str, step: Callable[[], Any]) -> Any:
    try:
        return step()
    except Exception as exc:  # logging must never break the user's fit
        _warn_once(what, exc)
        return None


def _log_metric_call(name: str, value: Any) -> None:
    active = _active()
    if active is None or not _is_scalar(value):  # per-class arrays, tuples: not one number
        return
    tracker, run = active
    calls = _STATE.metric_calls.setdefault(run.run_id, {})
    calls[name] = count = calls.get(name, 0) + 1
    key = name if count == 1 else f"{name}_{count}"
    _guard(f"metric {key}", functools.partial(_log_number, tracker, key, value))


def _log_number(tracker: tracking.Tracker, key: str, value: Any) -> None:
    tracker.log_metric(key, float(value))  # inside the guard: float() of an odd number type may fail


def _is_scalar(value: Any) -> bool:
    if isinstance(value, (float, int)):  # the common case first (numpy's float64 is a float)
        return not isinstance(value, bool)
    if type(value).__name__ == "bool_":
        return False
    if isinstance(value, numbers.Real):
        return True
    kind = getattr(getattr(value, "dtype", None), "kind", None)
    return getattr(value, "ndim", None) == 0 and kind in ("i", "u", "f")


def _before_fit(active: tuple[tracking.Tracker, tracking.ActiveRun], estimator: Any, X: Any, y: Any) -> str:
    """Log params and training data; returns the key prefix of this fit in its run."""
    tracker, run = active
    prefix = _next_prefix(run)
    params = {"estimator_class": type(estimator).__name__}
    params.update(_guard("params", lambda: _flat(estimator.get_params(deep=True))) or {})
    _log_params(tracker, {prefix + k: v for k, v in params.items()})
    if _STATE.log_datasets:
        for data, name in ((X, "X_train"), (y, "y_train")):
            if data is not None:
                _guard("training data", functools.partial(_log_data, tracker, data, name))
    return prefix


def _next_prefix(run: tracking.ActiveRun) -> str:
    """The key prefix of the run's next autologged fit: none for the first, `fit<n>.` for the n-th."""
    count = _STATE.fits[run.run_id] = _STATE.fits.get(run.run_id, 0) + 1
    return "" if count == 1 else f"fit{count}."


def _log_data(tracker: tracking.Tracker, data: Any, name: str) -> None:
    with contextlib.suppress(InvalidInputError):  # lists, sparse matrices: cannot fingerprint
        log_dataset(tracker, data, name=name, role="train")


def _after_fit(active: tuple[tracking.Tracker, tracking.ActiveRun], estimator: Any, X: Any, y: Any,
               seconds: float, prefix: str, scored: bool = True) -> None:
    tracker, run = active
    metrics: dict[str, Any] = {"fit_time": seconds}
    scorable = scored and y is not None and callable(getattr(estimator, "score", None))
    if scorable and _n_samples(X) <= MAX_TRAINING_SCORE_SAMPLES:
        metrics["training_score"] = _guard("training_score", lambda: estimator.score(X, y))
    best = getattr(estimator, "best_params_", None)
    if isinstance(best, dict):
        _log_params(tracker, {f"{prefix}best_{k}": v for k, v in _flat(best).items()})
    metrics["best_cv_score"] = getattr(estimator, "best_score_", None)
    for key, value in metrics.items():
        if _is_scalar(value):
            _guard(f"metric {key}", functools.partial(_log_number, tracker, prefix + key, value))
    if _STATE.log_models:
        _guard("the model", lambda: log_model_artifact(tracker, estimator, name=prefix + "model"))
    results = getattr(estimator, "cv_results_", None)
    if isinstance(results, dict) and "params" in results:
        _guard("search candidates", lambda: _log_candidates(tracker, run, estimator, results, prefix))


def _n_samples(X: Any) -> int:
    try:
        return int(X.shape[0]) if getattr(X, "shape", None) else len(X)
    except TypeError:
        return MAX_TRAINING_SCORE_SAMPLES + 1  # unknown size: do not risk a long score


def _log_params(tracker: tracking.Tracker, params: dict[str, Any]) -> None:
    try:
        tracker.log_params(params)
    except NbmlopsError:
        # One bad or conflicting value (e.g. the user logged `C` already) must not lose the rest.
        for key, value in params.items():
            _guard("params", functools.partial(tracker.log_params, {key: value}))


def _flat(params: dict[str, Any]) -> dict[str, Any]:
    """Scalar params as they are; estimators and functions by name; arrays and lists skipped."""
    flat: dict[str, Any] = {}
    for key, value in params.items():
        if value is None or isinstance(value, (bool, int, float, str)):
            flat[str(key)] = value
        elif hasattr(value, "item") and getattr(value, "ndim", None) == 0:  # numpy scalars
            flat[str(key)] = value.item()
        elif hasattr(value, "get_params") and not isinstance(value, type):
            flat[str(key)] = type(value).__name__
        elif isinstance(value, (type, types.FunctionType)):
            flat[str(key)] = value.__name__
    return flat


def _log_candidates(tracker: tracking.Tracker, parent: tracking.ActiveRun, search: Any,
                    results: dict[str, Any], prefix: str) -> None:
    """One child run per candidate of a search, the best `max_child_runs` by rank."""
    candidates = list(results["params"])
    refit = getattr(search, "refit", None)  # with several scorers, rank by the one refit uses
    rank_key = next((k for k in ("rank_test_score", f"rank_test_{refit}", *results) if k in results
                     and k.startswith("rank_test_")), None)
    ranks = [float(r) for r in results[rank_key]] if rank_key else list(range(len(candidates)))
    chosen = sorted(range(len(candidates)), key=lambda i: (ranks[i], i))[:_STATE.max_child_runs]
    tracker.set_tags({f"{prefix}autolog.candidates": len(candidates),
                      f"{prefix}autolog.skipped_child_runs": len(candidates) - len(chosen)})
    metric_keys = [k for k in results if k.startswith(("mean_", "std_", "rank_"))]
    base = getattr(search, "estimator", None)
    for i in chosen:
        params = _flat(candidates[i])
        if base is not None:
            params = {"estimator_class": type(base).__name__, **params}
        child = tracker.start_run(experiment=parent.experiment, name=f"{parent.name}-candidate-{i}",
                                  tags={"autolog.candidate": i}, parent=parent.run_id)
        try:
            _log_params(tracker, params)
            for key in metric_keys:
                value = results[key][i]
                if _is_scalar(value):
                    tracker.log_metric(key, float(value))
        finally:
            tracker.end_run(run_id=child.run_id)  # pops only the child: the parent is active again
