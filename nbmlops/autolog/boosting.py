"""What XGBoost and LightGBM fits log beyond params: per-round evaluation metrics, the best
iteration, feature importance and the model (xgboost.py and lightgbm.py say how they hook in).

- Rounds. A callback added to the training call logs every eval set's metrics at each boosting
  round, as `<eval set>-<metric>` (`validation_0-logloss`, `valid-rmse`: the names the library
  prints), step = the round as the library numbers it (XGBoost from 0, LightGBM from 1), so the
  metric's point at step `best_iteration` is the best score. Points go through `log_metric`:
  buffered, flushed in batches, NaN and infinities kept as they are. Keys hold `- / . :` and
  word characters, so `metrics.validation_0-logloss` is a bare word in `runs(where=...)`;
  metric names such as `ndcg@10` are queried quoted: ``metrics.`valid-ndcg@10` ``.
- The callback goes into a new list: the caller's `callbacks` list is never changed, and nothing
  of ours stays on an estimator after its fit.
- Early stopping: metrics `best_iteration` and `best_score`.
- Feature importance: a table `feature_importance` (Parquet, `media/table/feature_importance.parquet`),
  one row per feature, one column per importance type, most important first.
"""

from __future__ import annotations

import functools
import inspect
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import pandas as pd

from nbmlops.autolog import sklearn as autolog
from nbmlops.registry.serialization import log_model_artifact
from nbmlops.tracking import media
from nbmlops.tracking.tracker import Tracker

IMPORTANCE_TABLE = "feature_importance"
Report = Callable[[Tracker, Any, str], None]  # (tracker, trained booster, key prefix): best iteration, importance


class Rounds:
    """Logs one fit's evaluation results: one point per round, eval set and metric."""

    def __init__(self, tracker: Tracker, prefix: str) -> None:
        self.tracker, self.prefix = tracker, prefix
        self.keys: dict[tuple[str, str], str | None] = {}  # (eval set, metric) -> key; None: not loggable

    def log(self, step: int, results: Iterable[tuple[str, str, Any]]) -> None:
        """Log (eval set, metric, value) triples at `step`; a key or value that cannot be logged is
        reported once and skipped, the rest go on."""
        log_metric = self.tracker.log_metric
        for data, metric, value in results:
            key = self.keys.get((data, metric), "")
            if key == "":
                key = self.keys[(data, metric)] = f"{self.prefix}{data}-{metric}"
            if key is None:
                continue
            try:
                log_metric(key, value, step)
            except Exception as exc:  # an eval set named with control characters, a value that is no number
                self.keys[(data, metric)] = None
                autolog.warn_once(f"metric {key!r}", exc)


class Pending(threading.local):
    """The rounds of an estimator fit being logged in this thread, until its training call takes them."""

    rounds: Rounds | None = None

    def take(self) -> Rounds | None:
        rounds, self.rounds = self.rounds, None
        return rounds


class EstimatorHook:
    """The fit hook of a library's scikit-learn estimators: its inner training call logs rounds.

    No training_score: predicting the whole training set again costs 5-10% of a boosting fit (a
    100k-row, 200-round XGBoost fit), and the eval sets' rounds already say how the model does.
    """

    training_score = False

    def __init__(self, pending: Pending, report: Report, booster_of: Callable[[Any], Any]) -> None:
        self.pending, self.report, self.booster_of = pending, report, booster_of

    def before(self, tracker: Tracker, estimator: Any, prefix: str) -> None:
        self.pending.rounds = Rounds(tracker, prefix)

    def done(self) -> None:
        self.pending.rounds = None  # a fit that failed before training leaves nothing for the next call

    def after(self, tracker: Tracker, estimator: Any, prefix: str) -> None:
        self.report(tracker, self.booster_of(estimator), prefix)


def logged_training(original: Callable[..., Any], pending: Pending, callback: Callable[[Rounds], Any],
                    report: Report, params: Callable[[inspect.BoundArguments], dict[str, Any]]) -> Callable[..., Any]:
    """The replacement of a library's `train(...)`: inside a logged estimator fit it only adds the
    round logger; called by the user, it logs params, rounds, fit_time, best iteration, importance
    and the booster it returns."""
    signature = inspect.signature(original)

    def train(*args: Any, **kwargs: Any) -> Any:
        rounds = pending.take()
        if rounds is not None:
            return original(*args, **_with_callback(signature, args, kwargs, callback(rounds)))
        with autolog.outermost_fit() as fit:
            if fit is None:
                return original(*args, **kwargs)
            try:
                bound = signature.bind(*args, **kwargs)
            except TypeError:  # the library says what is wrong with the call
                return original(*args, **kwargs)
            autolog.guard("params", lambda: autolog.log_params(fit.tracker, {
                fit.prefix + k: v for k, v in params(bound).items()}))
            call = _with_callback(signature, args, kwargs, callback(Rounds(fit.tracker, fit.prefix)))
            start = time.perf_counter()
            booster = original(*args, **call)
            seconds = time.perf_counter() - start
            autolog.guard("the fit", lambda: _after_training(fit, booster, seconds, report))
            return booster

    return train


def _with_callback(signature: inspect.Signature, args: tuple[Any, ...], kwargs: dict[str, Any],
                   callback: Any) -> dict[str, Any]:
    """`kwargs` with `callback` added to a new copy of the call's callbacks list."""
    try:
        given = signature.bind_partial(*args, **kwargs).arguments.get("callbacks")
    except TypeError:
        return kwargs
    if "callbacks" not in kwargs and given is not None:  # passed by position: leave the call as it is
        return kwargs
    return {**kwargs, "callbacks": [*(given or ()), callback]}


def _after_training(fit: autolog.Fit, booster: Any, seconds: float, report: Report) -> None:
    fit.tracker.log_metric(fit.prefix + "fit_time", seconds)
    report(fit.tracker, booster, fit.prefix)
    if fit.log_models:
        log_model_artifact(fit.tracker, booster, name=fit.prefix + "model")


def log_best(tracker: Tracker, prefix: str, iteration: Any, score: Any) -> None:
    """Metrics best_iteration and best_score, those that are numbers."""
    for key, value in (("best_iteration", iteration), ("best_score", score)):
        if autolog.is_scalar(value):
            autolog.guard(f"metric {key}", functools.partial(tracker.log_metric, prefix + key, float(value)))


def log_importance(tracker: Tracker, prefix: str, features: list[str], columns: dict[str, Any]) -> None:
    """The feature importance table: a row per feature, a column per importance type, by gain."""
    if not features:
        return
    table = pd.DataFrame({"feature": features, **columns})
    table = table.sort_values("gain", ascending=False, kind="stable").reset_index(drop=True)
    media.log_table(tracker, table, prefix + IMPORTANCE_TABLE)


def scalar_params(pairs: Iterable[tuple[Any, Any]]) -> dict[str, Any]:
    """Params that are numbers, text, booleans or None, or lists of those; a key given twice
    (XGBoost's list of pairs, e.g. two eval_metric) keeps all its values as a list."""
    params: dict[str, Any] = {}
    for key, value in pairs:
        if isinstance(value, (list, tuple)):
            value = [v for v in value if _plain(v)]
        elif not _plain(value):
            continue
        key = str(key)
        if key in params:
            known = params[key]
            params[key] = [*(known if isinstance(known, list) else [known]),
                           *(value if isinstance(value, list) else [value])]
        else:
            params[key] = value
    return params


def _plain(value: Any) -> bool:
    return value is None or isinstance(value, (bool, int, float, str))


def pairs_of(params: Any) -> Iterator[tuple[Any, Any]]:
    """A params dict, or XGBoost's list of (key, value) pairs, as pairs."""
    if isinstance(params, dict):
        yield from params.items()
    elif isinstance(params, (list, tuple)):
        yield from (p for p in params if isinstance(p, tuple) and len(p) == 2)
