"""Autologging for XGBoost: `xgboost.train` and the scikit-learn estimators (XGBClassifier, ...).

An XGBClassifier is a scikit-learn estimator, so its fit is wrapped, and logged once, by the
scikit-learn autolog (params, training data, fit_time, training_score, the model); this module
gives it a fit hook for the rest. `xgboost.train` itself has its code swapped like a metric
function (sklearn.py says why), so every reference to it, `xgboost.train`, `from xgboost import
train` and the estimators' own call, runs the hook:
- inside an estimator fit being logged, it only adds the round logger to the call's callbacks;
- called by the user in a run, it logs the booster's params, `num_boost_round` and
  `early_stopping_rounds`, every round of every `evals` set, fit_time, best iteration and score,
  feature importance (weight, gain, cover, total_gain, total_cover) and the Booster (`model.ubj`);
- anywhere else (no run, autolog off, inside another autologged call) it only trains.
"""

from __future__ import annotations

import inspect
from typing import Any

from nbmlops.autolog import boosting
from nbmlops.autolog import sklearn as autolog
from nbmlops.tracking.tracker import Tracker

IMPORTANCE_TYPES = ("weight", "gain", "cover", "total_gain", "total_cover")
_PENDING = boosting.Pending()


def install() -> None:
    """Hook `xgboost.train` and give XGBoost's scikit-learn estimators their fit hook."""
    import xgboost
    import xgboost.callback

    class RoundLogger(xgboost.callback.TrainingCallback):
        """Logs the last value of each eval set's metrics after every round."""

        def __init__(self, rounds: boosting.Rounds) -> None:
            super().__init__()
            self.rounds = rounds

        def after_iteration(self, model: Any, epoch: int, evals_log: dict[str, dict[str, list[Any]]]) -> bool:
            self.rounds.log(epoch, ((data, metric, _last(values)) for data, metrics in evals_log.items()
                                    for metric, values in metrics.items() if values))
            return False

    autolog.patch_function(xgboost.training.train, lambda original: boosting.logged_training(
        original, _PENDING, RoundLogger, report, _params))
    if hasattr(xgboost, "XGBModel"):  # only when XGBoost found scikit-learn
        autolog.add_fit_hook(xgboost.XGBModel, boosting.EstimatorHook(_PENDING, report, _booster))


def uninstall() -> None:
    """Nothing beyond what autolog(False) restores (the code of `train`, the fit hooks)."""
    _PENDING.rounds = None


def _last(values: list[Any]) -> Any:
    value = values[-1]
    return value[0] if isinstance(value, tuple) else value  # (mean, std) in xgboost.cv


def _booster(estimator: Any) -> Any:
    return estimator.get_booster()


def _params(bound: inspect.BoundArguments) -> dict[str, Any]:
    args = bound.arguments
    params = {"estimator_class": "Booster", **boosting.scalar_params(boosting.pairs_of(args.get("params")))}
    params["num_boost_round"] = args.get("num_boost_round", bound.signature.parameters["num_boost_round"].default)
    if args.get("early_stopping_rounds") is not None:
        params["early_stopping_rounds"] = args["early_stopping_rounds"]
    return params


def report(tracker: Tracker, booster: Any, prefix: str) -> None:
    """Best iteration and score (early stopping) and the feature importance table of a trained booster."""
    if booster.attr("best_iteration") is not None:
        boosting.log_best(tracker, prefix, booster.best_iteration, booster.best_score)
    autolog.guard("feature importance", lambda: _log_importance(tracker, booster, prefix))


def _log_importance(tracker: Tracker, booster: Any, prefix: str) -> None:
    names = booster.feature_names or [f"f{i}" for i in range(booster.num_features())]
    scores = {kind: booster.get_score(importance_type=kind) for kind in IMPORTANCE_TYPES}
    columns = {kind: [float(scores[kind].get(name, 0.0)) for name in names] for kind in IMPORTANCE_TYPES}
    boosting.log_importance(tracker, prefix, list(names), columns)
