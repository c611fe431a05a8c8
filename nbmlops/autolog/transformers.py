"""Autologging for the Hugging Face transformers `Trainer`: `Trainer.train`.

How it hooks in: once `transformers.trainer` is imported (transformers imports its modules lazily;
imports.py), the code of `Trainer.train` is swapped like a metric function (sklearn.py says why). A
`train()` in an active run, with autolog on and no autologged call around it, gets a
`TrainerCallback` through `trainer.add_callback` for its duration, removed when it returns or raises:
the trainer's own callbacks all stay, and a trainer that already holds ours is not given another.
Outside a run nothing is logged.

What a `train()` logs (the n-th autologged training of a run under the prefix `fit<n>.`):
- params: the `TrainingArguments` (`learning_rate`, `num_train_epochs`, `per_device_train_batch_size`,
  ... every field that is a number, text, boolean or list of them; enums by value) and `model_class`;
- metrics: everything the Trainer logs (`loss`, `grad_norm`, `learning_rate`, `epoch`, the
  evaluations during training as `eval_loss`, `eval_<metric>`, and the final `train_loss`,
  `train_runtime`, ...) at the Trainer's global step;
- the model at the end of training, as the folder `save_pretrained` writes (the `transformers`
  flavor: safetensors weights and config.json), loaded back with `from_pretrained`.
A `trainer.evaluate()` called by the user after `train()` is not logged: log its dict with
`nbmlops.log_metrics`. Only the main process logs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from nbmlops.autolog import deep, imports
from nbmlops.autolog import sklearn as autolog

PACKAGE = "transformers"
TRAINER_MODULE = "transformers.trainer"
_SKIPPED_ARGS = ("hub_token", "push_to_hub_token", "push_to_hub_organization")  # never stored


def library() -> autolog.Library:
    """The transformers Trainer autolog."""
    def install() -> None:
        imports.when_imported(TRAINER_MODULE, lambda module: autolog.guard("transformers training",
                                                                          lambda: _patch(module)))

    def uninstall() -> None:
        imports.forget(TRAINER_MODULE)

    return autolog.Library(PACKAGE, install, uninstall)


def _patch(module: Any) -> None:
    from transformers.trainer_callback import TrainerCallback

    recorder = _recorder_class(TrainerCallback)
    autolog.patch_function(module.Trainer.train, lambda original: _logged_train(original, recorder))


def _logged_train(original: Callable[..., Any], recorder: type) -> Callable[..., Any]:
    def train(self: Any, *args: Any, **kwargs: Any) -> Any:
        with autolog.outermost_fit() as run:
            handler = getattr(self, "callback_handler", None)
            if run is None or handler is None or any(isinstance(c, recorder) for c in handler.callbacks):
                return original(self, *args, **kwargs)
            callback = recorder(run)
            self.add_callback(callback)
            try:
                result = original(self, *args, **kwargs)
            finally:
                self.remove_callback(callback)
            if callback.logging:
                deep.log_model(run, self.model)
            return result

    return train


def _recorder_class(base: type) -> type:
    class Recorder(base):
        """Logs the TrainingArguments and what the Trainer logs."""

        def __init__(self, run: autolog.Fit) -> None:
            self.run, self.points, self.logging = run, deep.Points(run.tracker, run.prefix), True

        def on_train_begin(self, args: Any, state: Any, control: Any, model: Any = None, **kwargs: Any) -> None:
            self.logging = bool(getattr(state, "is_world_process_zero", True))
            if self.logging:
                deep.log_params(self.run.tracker, _params(args, model, self.run.prefix))

        def on_log(self, args: Any, state: Any, control: Any, logs: Mapping[str, Any] | None = None,
                   **kwargs: Any) -> None:
            if self.logging and logs:
                self.points.log(logs, int(state.global_step))

    return Recorder


def _params(args: Any, model: Any, prefix: str) -> dict[str, Any]:
    values = autolog.guard("params", args.to_dict) or {}
    params = deep.plain_params({k: v for k, v in values.items() if k not in _SKIPPED_ARGS})
    if model is not None:
        params["model_class"] = type(model).__name__
    return {prefix + k: v for k, v in params.items()}
