"""The kernel's side of a pruned sweep: report the sweep's metric to its Optuna trial, stop when told.

A sweep run with `--prune` hands each child's kernel its trial through NBMLOPS_TRIAL (JSON: the
study's storage location, study name, trial id and number, the metric, the direction, the pruner).
`install` then wraps the tracker's `log_metric` on that one tracker instance, so that:
- a point of the metric, logged into the trial's run, is reported to the trial
  (`trial.report(value, step)`) and the pruner asked whether to stop;
- once the pruner said stop, the next `log_metric` (of any key) raises RunPruned (a BaseException,
  so that `except Exception` does not swallow it), which ends the notebook; the runner knows it by
  name and ends the run PRUNED (tagged `sweep.pruned_at_step`).
Outside a pruned sweep nothing is installed: `log_metric`'s hot path is untouched. Inside one, a
key other than the metric costs one comparison.
"""

from __future__ import annotations

import base64
import json
import math
import os
import pickle  # noqa: S403 - the pruner comes from the sweep that started this kernel
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from nbmlops.tracking.tracker import Tracker

TRIAL_ENV = "NBMLOPS_TRIAL"
PRUNED_TAG = "sweep.pruned_at_step"


class RunPruned(BaseException):
    """Raised in a sweep's notebook once the pruner stopped its trial: the run ends PRUNED.

    A signal to stop, not an error (like KeyboardInterrupt): `except Exception` in the notebook or in
    a library's callbacks (autolog's guards) must not swallow it and train on unreported.
    """

    def _render_traceback_(self) -> list[str]:
        """IPython shows this one line instead of a traceback (papermill keeps it as the error)."""
        return [f"{type(self).__name__}: {self}"]


def open_storage(location: str) -> Any:
    """Optuna's storage at `location`: an RDB URL (`postgresql+psycopg://...`) or a journal file."""
    import optuna
    from optuna.storages.journal import JournalFileBackend

    if "://" in location:
        return optuna.storages.RDBStorage(location)
    return optuna.storages.JournalStorage(JournalFileBackend(location))


def encode_pruner(pruner: Any) -> str:
    """The pruner as text for NBMLOPS_TRIAL."""
    return base64.b64encode(pickle.dumps(pruner)).decode()


def install(tracker: Tracker) -> None:
    """Report the sweep's metric from `tracker` to its trial, if this kernel runs a pruned trial."""
    raw = os.environ.get(TRIAL_ENV)
    if not raw:
        return
    try:
        spec = json.loads(raw)
        metric, run_id = str(spec["metric"]), str(spec["run_id"])
    except (ValueError, KeyError, TypeError):
        print(f"nbmlops: {TRIAL_ENV} is not a trial this version reads; the run is not pruned", file=sys.stderr)
        return
    hook = _Pruning(spec, tracker, run_id)
    plain = tracker.log_metric

    def log_metric(key: str, value: float, step: int | None = None) -> None:
        if hook.stopped_at is not None:
            raise RunPruned(hook.why())
        plain(key, value, step)
        if key == metric:
            hook.report(key, value)

    log_metric.__doc__ = plain.__doc__
    tracker.log_metric = log_metric  # type: ignore[method-assign]


class _Pruning:
    """One trial of the sweep, loaded at its first report."""

    def __init__(self, spec: dict[str, Any], tracker: Tracker, run_id: str) -> None:
        self.spec = spec
        self.tracker = tracker
        self.run_id = run_id
        self.trial: Any = None
        self.broken = False
        self.stopped_at: int | None = None

    def why(self) -> str:
        return (f"trial {self.spec.get('number')} pruned at step {self.stopped_at} by the "
                f"{self.spec.get('pruner_name', 'sweep')} pruner")

    def report(self, key: str, value: float) -> None:
        state = self.tracker.active_run()
        if state is None or state.run_id != self.run_id or self.broken:
            return  # a run the notebook started itself: not the trial's
        step = self.tracker.last_step(key)
        number = float(value)
        if step is None or not math.isfinite(number):
            return
        trial = self._trial()
        if trial is None:
            return
        trial.report(number, step)
        if trial.should_prune():
            self.stopped_at = step
            self.tracker.set_tags({PRUNED_TAG: str(step)})
            self.tracker.flush()

    def _trial(self) -> Any:
        if self.trial is not None:
            return self.trial
        try:
            import optuna

            optuna.logging.set_verbosity(optuna.logging.WARNING)
            pruner = pickle.loads(base64.b64decode(self.spec["pruner"]))  # noqa: S301 - see the import
            study = optuna.load_study(study_name=self.spec["study"], storage=open_storage(self.spec["storage"]),
                                      sampler=optuna.samplers.RandomSampler(), pruner=pruner)
            self.trial = optuna.trial.Trial(study, int(self.spec["trial_id"]))
        except Exception as exc:  # the run goes on unpruned: the sweep still gets its final value
            self.broken = True
            print(f"nbmlops: cannot reach the sweep's study ({type(exc).__name__}: {exc}); this run is not pruned",
                  file=sys.stderr)
            return None
        return self.trial
