"""Autologging for PyTorch Lightning: `Trainer.fit` of `lightning` 2.x and of `pytorch_lightning`.

How it hooks in: `Trainer.fit` has its code swapped like a metric function (sklearn.py says why),
once the library is imported (imports.py: importing Lightning takes seconds, so `autolog()` never
does it). A fit in an active run, with autolog on and no autologged call around it, gets one more
callback for its duration: appended to `trainer.callbacks`, so the user's callbacks all stay (and
ModelCheckpoint still runs last), and removed when the fit ends, whether it returned or raised. A
trainer that already holds our callback is not given a second one. Outside a run nothing is
logged: like scikit-learn's, this autolog never starts a run.

What a fit logs (the n-th autologged fit of a run under the prefix `fit<n>.`, as scikit-learn's):
- params: the LightningModule's hyperparameters (`save_hyperparameters`, nested dicts flattened
  with dots) and its datamodule's, the trainer settings (max_epochs, max_steps,
  accumulate_grad_batches, precision, ...), the optimizer's class and first param group
  (`optimizer.lr`, ...);
- metrics: what the module logs with `self.log`, under its own names (`train_loss`,
  `val_loss`, `train_loss_epoch`), at the trainer's global step (optimizer steps done): step-level
  values every `log_every_n_steps` batches, as Lightning's loggers get them, and epoch-level ones
  (validation included) at each epoch's end; none from the sanity check;
- `best_model_score` and the best checkpoint of the first ModelCheckpoint, as the artifact
  `checkpoints/<file name>` (Lightning's own file: a torch pickle, kept as a file, never loaded);
- the model: the LightningModule's weights at the end of the fit, as the `pytorch` flavor
  (safetensors), with a signature from the first training batch.
Only the process of global rank 0 logs.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any

from nbmlops.autolog import deep, imports
from nbmlops.autolog import sklearn as autolog
from nbmlops.registry.pytorch import tensor_signature

PACKAGES = ("lightning", "pytorch_lightning")
TRAINER_SETTINGS = ("max_epochs", "min_epochs", "max_steps", "accumulate_grad_batches", "gradient_clip_val",
                    "precision", "log_every_n_steps", "check_val_every_n_epoch", "val_check_interval")


def library(package: str) -> autolog.Library:
    """The autolog of one Lightning package (`lightning` or `pytorch_lightning`)."""
    def install() -> None:
        imports.when_imported(package, lambda module: autolog.guard(f"{package} fits", lambda: _patch(module)))

    def uninstall() -> None:
        imports.forget(package)

    return autolog.Library(package, install, uninstall)


def _patch(module: Any) -> None:
    """Swap the code of the package's `Trainer.fit` for one that adds the recorder."""
    base = module.pytorch.Callback if hasattr(module, "pytorch") else module.Callback
    recorder = _recorder_class(base)
    autolog.patch_function(module.Trainer.fit, lambda original: _logged_fit(original, recorder))


def _logged_fit(original: Callable[..., Any], recorder: type) -> Callable[..., Any]:
    def fit(self: Any, *args: Any, **kwargs: Any) -> Any:
        with autolog.outermost_fit() as run:
            if run is None or any(isinstance(c, recorder) for c in self.callbacks):
                return original(self, *args, **kwargs)
            callback = recorder(run)
            self.callbacks.append(callback)
            try:
                result = original(self, *args, **kwargs)
            finally:
                if callback in self.callbacks:
                    self.callbacks.remove(callback)
            if callback.logging:
                autolog.guard("the fit", lambda: _after_fit(run, self, callback))
            return result

    return fit


def _recorder_class(base: type) -> type:
    """The callback class, on this package's `Callback` base."""

    class Recorder(base):
        """Logs params, metrics and the first batch's shape of one fit."""

        def __init__(self, run: autolog.Fit) -> None:
            super().__init__()
            self.run, self.points = run, deep.Points(run.tracker, run.prefix)
            self.batches, self.logging = 0, True
            self.signature: dict[str, Any] | None = None

        def on_fit_start(self, trainer: Any, pl_module: Any) -> None:
            self.logging = bool(getattr(trainer, "is_global_zero", True))

        def on_train_start(self, trainer: Any, pl_module: Any) -> None:
            if self.logging:
                deep.log_params(self.run.tracker, _params(trainer, pl_module, self.run.prefix))

        def on_train_batch_start(self, trainer: Any, pl_module: Any, batch: Any, batch_idx: int) -> None:
            if self.signature is None and self.logging:
                self.signature = autolog.guard("the signature", lambda: tensor_signature(_inputs(batch))) or {}

        def on_train_batch_end(self, trainer: Any, pl_module: Any, outputs: Any, batch: Any, batch_idx: int) -> None:
            self.batches += 1
            every = getattr(trainer, "log_every_n_steps", 50) or 0
            if self.logging and every and self.batches % every == 0:
                self.points.log(_fresh(trainer), trainer.global_step)

        def on_train_epoch_end(self, trainer: Any, pl_module: Any) -> None:
            if self.logging:
                self.points.log(_fresh(trainer), trainer.global_step)

        def on_validation_epoch_end(self, trainer: Any, pl_module: Any) -> None:
            if self.logging and not trainer.sanity_checking:
                self.points.log(_fresh(trainer), trainer.global_step)

    return Recorder


def _fresh(trainer: Any) -> Mapping[str, Any]:
    """The metrics `self.log` gave for loggers at this point (this step's, or this epoch's at its end)."""
    try:
        fresh: Mapping[str, Any] = trainer._logger_connector.metrics["log"]
        return fresh
    except Exception:  # another Lightning version: what it last gave loggers
        logged: Mapping[str, Any] = trainer.logged_metrics
        return logged


def _params(trainer: Any, pl_module: Any, prefix: str) -> dict[str, Any]:
    params: dict[str, Any] = {"model_class": type(pl_module).__name__}
    hparams = getattr(pl_module, "hparams", None)
    if isinstance(hparams, Mapping):
        params.update(deep.plain_params(hparams))
    datamodule_hparams = getattr(getattr(trainer, "datamodule", None), "hparams", None)
    if isinstance(datamodule_hparams, Mapping):
        params.update(deep.plain_params(datamodule_hparams, "datamodule."))
    for name in TRAINER_SETTINGS:
        value = getattr(trainer, name, None)
        if value is None and name == "precision":
            value = getattr(getattr(trainer, "strategy", None), "precision_plugin", None)
            value = getattr(value, "precision", None)
        params.update(deep.plain_params({name: value}))
    optimizers = getattr(trainer, "optimizers", None) or []
    if optimizers:
        optimizer = optimizers[0]
        params["optimizer"] = type(optimizer).__name__
        groups = getattr(optimizer, "param_groups", None) or [{}]
        params.update(deep.plain_params({k: v for k, v in groups[0].items() if k != "params"}, "optimizer."))
    return {prefix + k: v for k, v in params.items()}


def _inputs(batch: Any) -> list[tuple[str, Any]]:
    """The model inputs of a batch: a tensor; the first item of a tuple or list; a dict's tensors."""
    if isinstance(batch, Mapping):
        return [(str(k), v) for k, v in batch.items() if hasattr(v, "shape")]
    if isinstance(batch, (list, tuple)) and batch:
        return [("input", batch[0])]
    return [("input", batch)]


def _after_fit(run: autolog.Fit, trainer: Any, callback: Any) -> None:
    """The best checkpoint, its score, and the model."""
    checkpoint = getattr(trainer, "checkpoint_callback", None)
    path = getattr(checkpoint, "best_model_path", "") or ""
    if path and os.path.isfile(path):
        autolog.guard("the checkpoint", lambda: run.tracker.log_artifact(
            path, name=f"{run.prefix}checkpoints/{os.path.basename(path)}"))
        score = deep.as_number(getattr(checkpoint, "best_model_score", None))
        if score is not None:
            autolog.guard("metric best_model_score", lambda: run.tracker.log_metric(
                run.prefix + "best_model_score", score))
    module = trainer.lightning_module
    if module is not None:
        deep.log_model(run, module, callback.signature or None)
