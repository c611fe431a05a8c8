"""Automatic logging for ML frameworks: params, metrics, datasets and models without calls.

scikit-learn (sklearn.py) carries the switch, the options and the per-run state; XGBoost and
LightGBM (xgboost.py, lightgbm.py, with boosting.py), PyTorch Lightning (lightning.py), Keras 3
(keras.py) and the transformers Trainer (transformers.py, with deep.py) register here and are
switched on and off with it, when installed. The deep-learning ones patch their library only once
it is imported (imports.py): `autolog()` never imports torch.
"""

from nbmlops.autolog import keras, lightgbm, lightning, sklearn, transformers, xgboost

for _module in (xgboost, lightgbm):
    sklearn.register_library(sklearn.Library(_module.__name__.rpartition(".")[2], _module.install, _module.uninstall))
for _library in (*(lightning.library(p) for p in lightning.PACKAGES), keras.library(), transformers.library()):
    sklearn.register_library(_library)
