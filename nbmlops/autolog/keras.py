"""Autologging for Keras 3: `Model.fit`, on any backend.

How it hooks in: once `keras` is imported (imports.py), the code of the `fit` that `keras.Model`
resolves to is swapped like a metric function (sklearn.py says why). A fit in an active run, with
autolog on and no autologged call around it, is given a callback in a new `callbacks` list: the
caller's list is never changed and every callback in it runs. Outside a run nothing is logged.

What a fit logs (the n-th autologged fit of a run under the prefix `fit<n>.`):
- params: epochs, batch_size (32, Keras's default, when arrays are given without one),
  validation_split, initial_epoch, the loss when it is named, the optimizer's class and config
  (`optimizer.learning_rate`, ...);
- metrics: each epoch's logs under Keras's names (`loss`, `accuracy`, `val_loss`), step = the
  epoch (from 0, as Keras numbers it), and each batch's logs as `batch/<name>` (Keras's running
  average over the epoch so far), step = the batch's number counted over the whole fit (from 0);
- the model, as a `.keras` file (the `keras` flavor, loaded with `safe_mode=True`), with a
  signature from its inputs.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import Any

from nbmlops.autolog import deep, imports
from nbmlops.autolog import sklearn as autolog

PACKAGE = "keras"
FIT_SETTINGS = ("epochs", "validation_split", "initial_epoch", "steps_per_epoch")


def library() -> autolog.Library:
    """The Keras autolog."""
    def install() -> None:
        imports.when_imported(PACKAGE, lambda module: autolog.guard("keras fits", lambda: _patch(module)))

    def uninstall() -> None:
        imports.forget(PACKAGE)

    return autolog.Library(PACKAGE, install, uninstall)


def _patch(keras: Any) -> None:
    recorder = _recorder_class(keras.callbacks.Callback)
    autolog.patch_function(keras.Model.fit, lambda original: _logged_fit(original, recorder))


def _logged_fit(original: Callable[..., Any], recorder: type) -> Callable[..., Any]:
    signature = inspect.signature(original)

    def fit(self: Any, *args: Any, **kwargs: Any) -> Any:
        with autolog.outermost_fit() as run:
            if run is None:
                return original(self, *args, **kwargs)
            try:
                bound = signature.bind(self, *args, **kwargs)
            except TypeError:  # Keras says what is wrong with the call
                return original(self, *args, **kwargs)
            given = bound.arguments.get("callbacks")
            if any(isinstance(c, recorder) for c in given or ()):
                return original(self, *args, **kwargs)
            deep.log_params(run.tracker, _params(self, bound, run.prefix))
            bound.arguments["callbacks"] = [*(given or ()), recorder(run)]  # a new list: the caller's stays as it was
            history = original(*bound.args, **bound.kwargs)
            deep.log_model(run, self)
            return history

    return fit


def _recorder_class(base: type) -> type:
    class Recorder(base):
        """Logs each batch's and each epoch's logs."""

        def __init__(self, run: autolog.Fit) -> None:
            super().__init__()
            self.points, self.batches = deep.Points(run.tracker, run.prefix), 0

        def on_train_batch_end(self, batch: int, logs: Mapping[str, Any] | None = None) -> None:
            if logs:
                self.points.log(logs, self.batches, before="batch/")
            self.batches += 1

        def on_epoch_end(self, epoch: int, logs: Mapping[str, Any] | None = None) -> None:
            if logs:
                self.points.log(logs, epoch)

    return Recorder


def _params(model: Any, bound: inspect.BoundArguments, prefix: str) -> dict[str, Any]:
    args = {**{n: p.default for n, p in bound.signature.parameters.items()
               if p.default is not inspect.Parameter.empty}, **bound.arguments}
    params = {"model_class": type(model).__name__}
    params.update(deep.plain_params({n: args.get(n) for n in FIT_SETTINGS}))
    batch_size = args.get("batch_size")
    if batch_size is None and hasattr(args.get("x"), "shape"):
        batch_size = 32  # what Keras uses for arrays
    if batch_size is not None:
        params["batch_size"] = batch_size
    loss = getattr(model, "loss", None)
    if isinstance(loss, str):
        params["loss"] = loss
    optimizer = getattr(model, "optimizer", None)
    if optimizer is not None:
        params["optimizer"] = type(optimizer).__name__
        config = autolog.guard("params", optimizer.get_config) or {}
        params.update(deep.plain_params({k: v for k, v in config.items() if k != "name"}, "optimizer."))
    return {prefix + k: v for k, v in params.items() if v is not None}
