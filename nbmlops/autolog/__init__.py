"""Automatic logging for ML frameworks: params, metrics, datasets and models without calls.

scikit-learn (sklearn.py) carries the switch, the options and the per-run state; XGBoost and
LightGBM (xgboost.py, lightgbm.py, with boosting.py) register here and are switched on and off
with it, when installed.
"""

from nbmlops.autolog import lightgbm, sklearn, xgboost

for _module in (xgboost, lightgbm):
    sklearn.register_library(sklearn.Library(_module.__name__.rpartition(".")[2], _module.install, _module.uninstall))
