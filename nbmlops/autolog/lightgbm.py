"""Autologging for LightGBM: `lightgbm.train` and the scikit-learn estimators (LGBMClassifier, ...).

As for XGBoost (xgboost.py): an estimator's fit is logged once by the scikit-learn autolog, with
this module's fit hook; `lightgbm.train` has its code swapped, so the estimators' own call to it
adds the round logger, and a call by the user in a run logs the params, `num_boost_round`, every
round of every `valid_sets` set (named as `valid_names` says, else `valid_0`, ...; the training
set as `training`), fit_time, best iteration and score (early stopping), feature importance
(split, gain) and the Booster (`model.txt`).
"""

from __future__ import annotations

import inspect
from typing import Any

from nbmlops.autolog import boosting
from nbmlops.autolog import sklearn as autolog
from nbmlops.tracking.tracker import Tracker

IMPORTANCE_TYPES = ("split", "gain")
_PENDING = boosting.Pending()
_ORDER = 15  # after log_evaluation (10), before early_stopping (30): a stopping round is logged too


class RoundLogger:
    """A LightGBM callback: logs each eval set's metrics after every round, step = round from 1."""

    before_iteration = False

    def __init__(self, rounds: boosting.Rounds) -> None:
        self.rounds = rounds
        self.order = _ORDER

    def __call__(self, env: Any) -> None:
        self.rounds.log(env.iteration + 1, ((item[0], item[1], item[2]) for item in env.evaluation_result_list))


def install() -> None:
    """Hook `lightgbm.train` and give LightGBM's scikit-learn estimators their fit hook."""
    import lightgbm
    import lightgbm.engine

    autolog.patch_function(lightgbm.engine.train, lambda original: boosting.logged_training(
        original, _PENDING, RoundLogger, report, _params))
    if hasattr(lightgbm, "LGBMModel"):
        autolog.add_fit_hook(lightgbm.LGBMModel, boosting.EstimatorHook(_PENDING, report, _booster))


def uninstall() -> None:
    """Nothing beyond what autolog(False) restores (the code of `train`, the fit hooks)."""
    _PENDING.rounds = None


def _booster(estimator: Any) -> Any:
    return estimator.booster_


def _params(bound: inspect.BoundArguments) -> dict[str, Any]:
    args = bound.arguments
    params = {"estimator_class": "Booster", **boosting.scalar_params(boosting.pairs_of(args.get("params")))}
    params.setdefault("num_boost_round", args.get("num_boost_round",
                                                  bound.signature.parameters["num_boost_round"].default))
    return params


def report(tracker: Tracker, booster: Any, prefix: str) -> None:
    """Best iteration and score (early stopping) and the feature importance table of a trained booster."""
    if booster.best_iteration > 0:
        boosting.log_best(tracker, prefix, booster.best_iteration, _best_score(booster.best_score))
    autolog.guard("feature importance", lambda: boosting.log_importance(
        tracker, prefix, list(booster.feature_name()),
        {kind: booster.feature_importance(importance_type=kind).astype(float) for kind in IMPORTANCE_TYPES}))


def _best_score(scores: dict[str, dict[str, float]]) -> float | None:
    """The score early stopping watched: the first metric of the last eval set other than the training data."""
    watched = [metrics for name, metrics in scores.items() if name != "training" and metrics] or \
        [m for m in scores.values() if m]
    return next(iter(watched[-1].values())) if watched else None
