"""Sweeps that search: an Optuna study whose objective is a notebook run.

`sweep(..., trials=N)` asks the study for a point, runs the notebook there as a child run of the
sweep's parent run (tagged `sweep.trial`), and tells the study the child's final `metric`; with
`workers` trials in flight on the executor, a new trial is asked each time one ends, until N.
- The space is the sweep's: `--dist` forms become Optuna distributions (uniform, loguniform with
  log=True, int, choice as categorical) and `--grid` values categorical ones; `sampler="grid"`
  walks the grid with GridSampler.
- A trial fails (FAIL) when its notebook fails or logs no finite metric; the study goes on. A
  kernel that does not start is retried as in any sweep and is not a trial's outcome.
- Pruning (`prune`): the kernel reports each point of the metric to its trial and stops when the
  pruner says so (tracking/trials.py); the child run ends PRUNED, the trial is told PRUNED.
- The study lives with the store, shared by every worker: a journal file beside a store folder's
  catalog (`optuna.journal`), or the team store's PostgreSQL (RDBStorage; credentials from libpq's
  environment and ~/.pgpass, never in the URL). Its name is `<experiment>/<sweep name>`; resume
  continues it up to the new total of trials.
- The parent run records the study (tags `sweep.*`, metric `best_<metric>`) and two tables, re-logged
  at the end of every session: `sweep.trials` and `sweep.importances` (see `trials_table` and
  `importances_table`: the panel reads exactly those columns).
"""

from __future__ import annotations

import contextlib
import difflib
import math
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pandas as pd

from nbmlops.entities import RunStatus
from nbmlops.errors import InvalidInputError, NbmlopsError
from nbmlops.jobs import sweeps
from nbmlops.jobs.executors import ChildResult, ChildSpec, Combination, open_executor
from nbmlops.jobs.runner import read_notebook
from nbmlops.query.lexer import did_you_mean
from nbmlops.store import runs as found_runs
from nbmlops.store.folder import Store
from nbmlops.tracking import media, validation
from nbmlops.tracking.tracker import Tracker
from nbmlops.tracking.trials import encode_pruner, open_storage

SAMPLERS = ("tpe", "cmaes", "random", "grid")
PRUNERS = ("median", "hyperband")
JOURNAL_NAME = "optuna.journal"
# A media name is one path segment (no slash: media.parse reads media/table/NAME.parquet only), so
# the tables the brief called sweep/trials and sweep/importances are named with a dot.
TRIALS_TABLE = "sweep.trials"
IMPORTANCES_TABLE = "sweep.importances"
_STATES = {"COMPLETE": "COMPLETE", "PRUNED": "PRUNED", "FAIL": "FAIL"}


def require_optuna() -> Any:
    """The optuna module, or a one-line error saying how to install it."""
    try:
        import optuna
    except ImportError:
        raise NbmlopsError("a sweep with --trials needs Optuna: pip install 'nbmlops[optuna]'") from None
    return optuna


def storage_location(store: Store) -> str:
    """Where the store keeps its studies: a team store's PostgreSQL (as a SQLAlchemy URL without
    password), else a journal file beside the catalog."""
    if store.shared:
        return "postgresql+psycopg://" + store.location.split("://", 1)[1]
    return str(store.root / JOURNAL_NAME)


def study_name(experiment: str, sweep_name: str) -> str:
    """The study of sweep `sweep_name` in `experiment`."""
    return f"{experiment}/{sweep_name}"


@dataclass(frozen=True)
class Search:
    """A study's settings, checked: how many trials, the space, the sampler and the pruner."""

    trials: int
    space: dict[str, Any]  # name -> optuna distribution
    grid: dict[str, list[Any]]
    sampler_name: str
    sampler: Any
    pruner_name: str
    pruner: Any
    maximize: bool
    metric: str

    @property
    def direction(self) -> str:
        return "maximize" if self.maximize else "minimize"


def search_settings(trials: Any, sampler: Any, prune: bool, pruner: Any, grid: dict[str, list[Any]],
                    dists: Mapping[str, sweeps.Dist], metric: str | None, maximize: bool, seed: int) -> Search:
    """The study's settings from the sweep's options, or a one-line error (before any kernel starts)."""
    if trials is None:
        raise InvalidInputError("--sampler, --prune and --pruner shape a study: give --trials N, how many runs "
                                "it makes")
    if isinstance(trials, bool) or not isinstance(trials, int) or trials < 1:
        raise InvalidInputError(f"--trials must be a whole number of trials >= 1, got {trials!r}")
    if metric is None:
        raise InvalidInputError("--trials needs --metric NAME: the metric the study optimizes (with --maximize "
                                "or --minimize)")
    if pruner is not None and not prune:
        raise InvalidInputError("--pruner chooses how --prune stops trials: add --prune")
    optuna = require_optuna()
    name = "tpe" if sampler is None else sampler if isinstance(sampler, str) else type(sampler).__name__
    if isinstance(sampler, str) and sampler not in SAMPLERS:
        raise InvalidInputError(f"sampler {sampler!r} is not one of {', '.join(SAMPLERS)}")
    if not grid and not dists:
        raise InvalidInputError("nothing to search: give --dist NAME=FORM (or --grid NAME=V1,V2,...)")
    if name == "grid":
        if not grid:
            raise InvalidInputError("--sampler grid walks the --grid values: give --grid NAME=V1,V2,...")
        if dists:
            raise InvalidInputError("--sampler grid walks only --grid values: turn each --dist into a --grid, "
                                    "or use another sampler")
    space = {k: _distribution(optuna, k, d) for k, d in dists.items()}
    for key, values in grid.items():
        _categorical_values(key, values)
        space[key] = optuna.distributions.CategoricalDistribution(values)
    numeric = [k for k, d in space.items() if not isinstance(d, optuna.distributions.CategoricalDistribution)]
    if name == "cmaes" and not numeric:
        raise InvalidInputError("cmaes samples numbers and this space has only choice/grid values: use "
                                "--sampler tpe or random")
    points = math.prod(len(v) for v in grid.values())
    if name == "grid" and trials > points:
        warnings.warn(f"--trials {trials} is more than the grid's {points} points: the study runs {points}",
                      stacklevel=3)
        trials = points
    return Search(trials, space, grid, name, _sampler(optuna, sampler, name, grid, seed),
                  _pruner_name(prune, pruner), _pruner(optuna, prune, pruner), maximize, metric)


def _distribution(optuna: Any, name: str, dist: sweeps.Dist) -> Any:
    d = optuna.distributions
    if dist.kind == "choice":
        return d.CategoricalDistribution(_categorical_values(name, list(dist.args)))
    if dist.kind == "int":
        return d.IntDistribution(*dist.args)
    return d.FloatDistribution(*dist.args, log=dist.kind == "loguniform")


def _categorical_values(name: str, values: list[Any]) -> list[Any]:
    """Values Optuna can store as choices (None, bool, int, float, str), each once."""
    bad = [v for v in values if v is not None and not isinstance(v, (bool, int, float, str))]
    if bad:
        raise InvalidInputError(f"{name!r} takes {bad[0]!r}, which a study cannot store as a choice: give "
                                "numbers or text")
    if len(set(map(repr, values))) < len(values):
        raise InvalidInputError(f"{name!r} lists a value twice: give each value once")
    return values


def _sampler(optuna: Any, sampler: Any, name: str, grid: dict[str, list[Any]], seed: int) -> Any:
    s = optuna.samplers
    if not isinstance(sampler, str) and sampler is not None:
        return _asked(s, sampler)  # an Optuna sampler given from Python
    if name == "grid":
        return _asked(s, s.GridSampler(grid, seed=seed))
    if name == "cmaes":
        return s.CmaEsSampler(seed=seed)
    return s.RandomSampler(seed=seed) if name == "random" else s.TPESampler(seed=seed, constant_liar=True)


def _asked(samplers: Any, sampler: Any) -> Any:
    """`sampler`, ready for ask-and-tell: a GridSampler calls `study.stop()` once its grid is
    walked, which Optuna allows only inside `optimize` (the sweep counts its trials itself)."""
    if isinstance(sampler, samplers.GridSampler):
        sampler.after_trial = lambda *args, **kwargs: None
    return sampler


def _pruner_name(prune: bool, pruner: Any) -> str:
    if not prune:
        return "none"
    return "median" if pruner is None else pruner if isinstance(pruner, str) else type(pruner).__name__


def _pruner(optuna: Any, prune: bool, pruner: Any) -> Any:
    if not prune:
        return optuna.pruners.NopPruner()
    if pruner is None or pruner == "median":
        return optuna.pruners.MedianPruner()
    if pruner == "hyperband":
        return optuna.pruners.HyperbandPruner()
    if isinstance(pruner, optuna.pruners.BasePruner):
        return pruner
    raise InvalidInputError(f"pruner {pruner!r} is not one of {', '.join(PRUNERS)}")


@contextlib.contextmanager
def _quiet(optuna: Any) -> Iterator[None]:
    """Optuna's INFO lines (one per trial) off while the sweep reports its own."""
    level = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        yield
    finally:
        optuna.logging.set_verbosity(level)


# -- running -----------------------------------------------------------------------------------
def study_sweep(store: Store, path: Path, trials: Any, *, sampler: Any, prune: bool, pruner: Any,
                grid: Mapping[str, Any] | Sequence[str] | None, dists: Mapping[str, str] | Sequence[str] | None,
                workers: int, executor: str, scheduler: str | None, metric: str | None, maximize: bool,
                resume: bool, experiment: str | None, timeout: float | None, name: str | None,
                fixed: Mapping[str, Any] | None, seed: int, progress: bool,
                on_child: Callable[[ChildResult], None] | None, allow_new_params: bool,
                register_all: bool) -> sweeps.SweepResult:
    """`sweeps.sweep` with `trials`: an Optuna study of `trials` notebook runs (see the module)."""
    raw, found = sweeps.parse_space(grid, dists)
    typed, laws, base, given = sweeps.typed_space(path, raw, found, fixed, allow_new_params)
    search = search_settings(trials, sampler, prune, pruner, typed, laws, metric, maximize, seed)
    optuna = require_optuna()
    sweep_name = validation.name("run", name) if name is not None else f"sweep-{path.stem}"
    tracker = Tracker(store)
    first = Combination(0, {}, base)
    exp = sweeps.sweep_experiment(tracker, path, read_notebook(path), first, given, experiment)
    title = study_name(exp, sweep_name)
    location = storage_location(store)
    with _quiet(optuna):
        previous = sweeps.previous_sweep(store, exp, sweep_name, "sweep.study") if resume else None
        study = _open_study(optuna, location, title, search, bool(previous), seed)
        done = _settled(study)
        todo = search.trials - done
        if todo <= 0:
            raise InvalidInputError(f"sweep {sweep_name!r} already ran {done} trials, --trials {search.trials} "
                                    f"leaves nothing to run: give --trials above {done} to run more")
        tags = {"sweep.notebook": str(path.resolve()), "sweep.executor": executor, "sweep.workers": str(workers),
                "sweep.sampler": search.sampler_name, "sweep.pruner": search.pruner_name,
                "sweep.trials": str(search.trials), "sweep.study": title, "sweep.direction": search.direction,
                "sweep.metric": search.metric, "sweep.seed": str(seed), **sweeps.space_tags(typed, laws, given)}
        pool = open_executor(executor, min(workers, todo), scheduler, store)
        parent_id = sweeps.start_parent(tracker, previous, sweep_name, exp, tags, path)
        spec = ChildSpec(store.location, str(path.resolve()), exp, parent_id, sweep_name, timeout, given,
                         allow_new_params, not register_all)
        driver = _Driver(store, study, search, base, location, title, todo)
        try:
            ran, infra = sweeps.drive(pool, spec, store, driver.start(min(workers, todo)), search.metric, progress,
                                      on_child, total=todo, settle=driver.settle)
        except BaseException as exc:
            sweeps.end_parent_on(tracker, parent_id, exc, bool(previous))
            raise
        return _finish(tracker, store, study, search, ran, infra, parent_id, sweep_name, exp, title,
                       bool(previous), register_all)


def _open_study(optuna: Any, location: str, title: str, search: Search, resuming: bool, seed: int) -> Any:
    """The sweep's study: created, or (resuming) loaded with its stale RUNNING trials told FAIL."""
    storage = _storage(location)
    exists = title in {s.study_name for s in optuna.get_all_study_summaries(storage, include_best_trial=False)}
    if exists and not resuming:
        raise InvalidInputError(f"a study {title!r} exists already: --resume continues it, or give another --name")
    if resuming and not exists:
        raise InvalidInputError(f"the sweep's study {title!r} is not in {location}: run without --resume to start "
                                "a new one")
    sampler = search.sampler
    if resuming and search.sampler_name in ("tpe", "random", "cmaes"):
        sampler = _sampler(optuna, search.sampler_name, search.sampler_name, search.grid,
                           seed + len(optuna.load_study(study_name=title, storage=storage).trials))
    study = optuna.create_study(storage=storage, study_name=title, sampler=sampler, pruner=search.pruner,
                                direction=search.direction, load_if_exists=resuming)
    if study.direction.name.lower() != search.direction:
        raise InvalidInputError(f"study {title!r} was run to {study.direction.name.lower()} its metric: resume it "
                                f"with --{study.direction.name.lower()}")
    for trial in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,)):
        study.tell(trial.number, state=optuna.trial.TrialState.FAIL, skip_if_finished=True)  # a sweep that died
    return study


def _storage(location: str) -> Any:
    """The study storage at `location`, or a one-line error (the location never holds a password)."""
    try:
        return open_storage(location)
    except ImportError:
        raise NbmlopsError("a study on a team store needs SQLAlchemy and psycopg: pip install "
                           "'nbmlops[optuna-team]'") from None
    except Exception as exc:  # the database refused or is unreachable; the message names no password
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise NbmlopsError(f"cannot open the sweep's study storage {location}: {first}") from None


def _settled(study: Any) -> int:
    """Trials that ended (COMPLETE, PRUNED or FAIL): what counts toward the total."""
    return sum(t.state.is_finished() for t in study.get_trials(deepcopy=False))


class _Driver:
    """Ask and tell: a trial per child, told how its child ended; the next asked while any are left."""

    def __init__(self, store: Store, study: Any, search: Search, base: dict[str, Any], location: str, title: str,
                 todo: int) -> None:
        self.store, self.study, self.search, self.base = store, study, search, base
        self.location, self.title = location, title
        self.left = todo
        self.open: dict[int, Any] = {}  # trial number -> optuna Trial

    def start(self, count: int) -> list[Combination]:
        return [self.ask() for _ in range(count)]

    def ask(self) -> Combination:
        trial = self.study.ask(self.search.space)
        self.open[trial.number] = trial
        self.left -= 1
        swept = {k: trial.params[k] for k in self.search.space}
        pruning = None
        if self.search.pruner_name != "none":
            pruning = {"storage": self.location, "study": self.title, "trial_id": trial._trial_id,
                       "number": trial.number, "metric": self.search.metric, "direction": self.search.direction,
                       "pruner": encode_pruner(self.search.pruner), "pruner_name": self.search.pruner_name}
        return Combination(trial.number, swept, {**self.base, **swept}, trial.number, pruning)

    def settle(self, combo: Combination, child: ChildResult) -> tuple[ChildResult, Combination | None]:
        from optuna.trial import TrialState

        trial = self.open.pop(combo.index)
        if child.run_id:
            trial.set_user_attr("run_id", child.run_id)
        if child.duration is not None:
            trial.set_user_attr("duration_s", child.duration)
        if child.status is RunStatus.PRUNED:
            self.study.tell(trial, state=TrialState.PRUNED)
        elif child.status is RunStatus.FINISHED and child.metric is not None and math.isfinite(child.metric):
            self.study.tell(trial, child.metric)
        else:
            if child.status is RunStatus.FINISHED:  # the notebook ran but gave the study nothing
                child = replace(child, error=self.missing_metric(child.run_id))
            self.study.tell(trial, state=TrialState.FAIL)
        return child, self.ask() if self.left > 0 else None

    def missing_metric(self, run_id: str | None) -> str:
        """Why a finished run gave its trial no value: the metric's NaN/inf, or a likely misspelling."""
        metric = self.search.metric
        logged = sorted(found_runs.get_run(self.store, run_id).metrics) if run_id else []
        if metric in logged:
            return f"metric {metric!r} is not a finite number"
        close = did_you_mean(difflib.get_close_matches(metric, logged, n=3))
        others = f"; it logged {', '.join(logged[:5])}{', ...' if len(logged) > 5 else ''}" if logged else \
            "; it logged no metric"
        return f"metric {metric!r} was not logged{close or others}"


# -- reading back ------------------------------------------------------------------------------
def _finish(tracker: Tracker, store: Store, study: Any, search: Search, ran: list[ChildResult], infra: int,
            parent_id: str, sweep_name: str, exp: str, title: str, resumed: bool,
            register_all: bool) -> sweeps.SweepResult:
    """Record the study on the parent run, register the best model, end the parent; the result."""
    frozen = sorted(study.get_trials(deepcopy=False), key=lambda t: t.number)
    table = trials_table(frozen, list(search.space), search.maximize)
    importances = importances_table(study, list(search.space))
    media.log_table(tracker, table, TRIALS_TABLE)
    if importances is not None:
        media.log_table(tracker, importances, IMPORTANCES_TABLE)
    fresh = {c.index for c in ran}
    children = sorted([*ran, *(_earlier(t) for t in frozen if t.number not in fresh and t.state.is_finished())],
                      key=lambda c: c.index)
    complete = [t for t in frozen if t.state.name == "COMPLETE"]
    best_trial = (max if search.maximize else min)(complete, key=lambda t: t.value) if complete else None
    best = next((c for c in children if best_trial is not None and c.index == best_trial.number), None)
    states = {t.number: _STATES.get(t.state.name, t.state.name) for t in frozen}
    failed = [c for c in children if states.get(c.index) == "FAIL"]
    pruned = [c for c in children if states.get(c.index) == "PRUNED"]
    tracker.set_tags({"sweep.failed": str(len(failed)), "sweep.pruned": str(len(pruned)),
                      "sweep.infrastructure_retries": str(infra)})
    if best_trial is not None and best is not None:
        tracker.log_metric(f"best_{search.metric}", float(best_trial.value))
        tracker.set_tags({"sweep.best_run": str(best.run_id), "sweep.best_trial": str(best_trial.number)})
    registered = sweeps.register_best(tracker, best, children) if not register_all else []
    error = None
    if best_trial is None:  # trials that fail or are pruned are the search's; none completing is the sweep's
        shown = "; ".join(f"trial {c.index} {c.describe()}: {(c.error or c.status.value).splitlines()[0]}"
                          for c in failed[:5])
        error = f"no trial of {len(frozen)} completed with a value of {search.metric}" + (f": {shown}" if shown else "")
    status = RunStatus.FINISHED if best_trial is not None else RunStatus.FAILED
    sweeps.end_parent(tracker, parent_id, status, error, resumed)
    return sweeps.SweepResult(parent_id, sweep_name, exp, status, children, table, search.metric, best, infra,
                              resumed, failed, registered, title, best_trial.number if best_trial else None, table,
                              importances, pruned)


def _earlier(trial: Any) -> ChildResult:
    """A trial of an earlier session of the sweep, as a (reused) child."""
    status = {"COMPLETE": RunStatus.FINISHED, "PRUNED": RunStatus.PRUNED}.get(trial.state.name, RunStatus.FAILED)
    return ChildResult(trial.number, dict(trial.params), trial.user_attrs.get("run_id"), status, trial.value,
                       duration=trial.user_attrs.get("duration_s"), reused=True)


def trials_table(trials: list[Any], params: list[str], maximize: bool) -> pd.DataFrame:
    """`sweep.trials`: trial, run_id, state, value, best_so_far, duration_s, params.<name>; by trial."""
    rows, best = [], math.nan
    for t in trials:
        state = _STATES.get(t.state.name, t.state.name)
        value = float(t.value) if t.value is not None else math.nan
        if state == "COMPLETE" and not math.isnan(value):
            best = value if math.isnan(best) else max(best, value) if maximize else min(best, value)
        duration = t.user_attrs.get("duration_s")
        if duration is None and t.datetime_start and t.datetime_complete:
            duration = (t.datetime_complete - t.datetime_start).total_seconds()
        rows.append({"trial": int(t.number), "run_id": t.user_attrs.get("run_id"), "state": state, "value": value,
                     "best_so_far": best, "duration_s": float(duration) if duration is not None else math.nan,
                     **{f"params.{p}": t.params.get(p) for p in params}})
    columns = ["trial", "run_id", "state", "value", "best_so_far", "duration_s", *(f"params.{p}" for p in params)]
    table = pd.DataFrame(rows, columns=columns)
    return table.astype({"trial": "int64", "value": "float64", "best_so_far": "float64", "duration_s": "float64"})


def importances_table(study: Any, params: list[str]) -> pd.DataFrame | None:
    """`sweep.importances`: param, importance, most important first; None with fewer than two
    COMPLETE trials or no parameter."""
    import optuna

    complete = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    if len(complete) < 2 or not params:
        return None
    try:
        found = optuna.importance.get_param_importances(study, params=params)
    except (RuntimeError, ValueError) as exc:  # e.g. every trial gave the same value
        warnings.warn(f"parameter importances not computed: {exc}", stacklevel=3)
        return None
    rows = sorted(found.items(), key=lambda kv: -kv[1])
    return pd.DataFrame({"param": [k for k, _ in rows], "importance": [float(v) for _, v in rows]})
