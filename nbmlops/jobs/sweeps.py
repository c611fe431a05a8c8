"""Parameter sweeps: one parent run, one child run per parameter combination, run in parallel.

Combinations: the product of the grid values, crossed with `random` points sampled (seeded) from
the distributions. Children run `runner.run_notebook` on an executor (jobs/executors.py): a process
pool here, or dask.distributed workers.
- The parent ends FINISHED when every child FINISHED, else FAILED with an error naming the failed
  combinations; with a metric it gets `best_<metric>` and the tag `sweep.best_run`.
- A kernel that does not start is infrastructure, not the notebook: the combination runs again (at
  most SWEEP_RETRIES more times); the abandoned run keeps `runner.infrastructure_failure=true` and
  is left out of the table.
- Resume finds the parent by name (latest run with a `sweep.combinations` tag), reuses FINISHED
  children whose notebook parameters all match, runs the rest as new children of that parent, tags
  it `sweep.resumed_at` and ends it again with the new status (status and error overwritten).
- A notebook that registers its model (`%%track --model VAR:NAME`, `log_model(m, NAME)`) registers
  nothing from a child: each child keeps its model as a run artifact, and the sweep registers the
  best child's (by `metric`) once at the end; `register_all` registers every child's, as a plain
  run would. Children of every executor defer the same way (the runner tells their kernels).
- Dask workers need nbmlops installed and one thread each (a worker runs one notebook at a time).
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import itertools
import json
import math
import numbers
import random as _random
import re
import sys
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pandas as pd

from nbmlops.entities import RunStatus
from nbmlops.errors import InvalidInputError, NbmlopsError, NotFoundError
from nbmlops.jobs.executors import EXECUTORS, ChildResult, ChildSpec, Combination, Executor, open_executor
from nbmlops.jobs.runner import (
    coerce,
    known_values,
    notebook_experiment,
    notebook_parameters,
    option_parameters,
    read_notebook,
    resolve_parameters,
    unknown_parameters,
)
from nbmlops.registry import models as registry
from nbmlops.store import runs as search
from nbmlops.store.folder import Store
from nbmlops.tracking import system, validation
from nbmlops.tracking.tracker import Tracker

SWEEP_RETRIES = 3
DIST_FORMS = "uniform(a,b), loguniform(a,b), int(a,b) (inclusive) or choice(x,y,...)"
_DIST = re.compile(r"^\s*([A-Za-z_]\w*)\s*=\s*([A-Za-z_]\w*)\s*\((.*)\)\s*$")


@dataclass(frozen=True)
class Dist:
    """A distribution of one parameter: `uniform`, `loguniform`, `int` (inclusive) or `choice`."""

    kind: str
    args: tuple[Any, ...]
    text: str

    def sample(self, rng: _random.Random) -> Any:
        """One value drawn with `rng`."""
        if self.kind == "uniform":
            return rng.uniform(*self.args)
        if self.kind == "loguniform":
            low, high = self.args
            return min(max(math.exp(rng.uniform(math.log(low), math.log(high))), low), high)
        return rng.randint(*self.args) if self.kind == "int" else rng.choice(self.args)


@dataclass(frozen=True)
class SweepPlan:
    """The combinations of a sweep, its spec as parent-run tags, and the fixed parameters (typed)."""

    combinations: list[Combination]
    tags: dict[str, str]
    fixed: dict[str, Any]


@dataclass
class SweepResult:
    """A finished sweep: the parent run, every combination's child, and the table ranked by metric."""

    parent_run_id: str
    name: str
    experiment: str
    status: RunStatus
    children: list[ChildResult]
    table: pd.DataFrame
    metric: str | None = None
    best: ChildResult | None = None
    infrastructure_retries: int = 0
    resumed: bool = False
    failed: list[ChildResult] = field(default_factory=list)
    registered: list[registry.ModelVersion] = field(default_factory=list)  # the best child's models
    # A study (`trials=`; see jobs/studies.py): its name, best trial, the `sweep/trials` table (one row
    # per trial, also logged on the parent) and `sweep/importances` (None when not computed).
    study: str | None = None
    best_trial: int | None = None
    trials: pd.DataFrame | None = None
    importances: pd.DataFrame | None = None
    pruned: list[ChildResult] = field(default_factory=list)


# -- planning ----------------------------------------------------------------------------------
def parse_grid(specs: Iterable[str]) -> dict[str, list[str]]:
    """`["C=0.01,0.1", "max_iter=100,200"]` as `{"C": ["0.01", "0.1"], "max_iter": ["100", "200"]}`."""
    grid: dict[str, list[str]] = {}
    for spec in specs:
        name, sep, values = str(spec).partition("=")
        name, items = name.strip(), [v.strip() for v in values.split(",")]
        if not sep or not name.isidentifier() or not all(items):
            raise InvalidInputError(f"bad --grid {spec!r}: expected NAME=VALUE,VALUE,... e.g. C=0.01,0.1,1")
        if name in grid:
            raise InvalidInputError(f"--grid names {name!r} twice: give all its values in one NAME=V1,V2")
        grid[name] = items
    return grid


def parse_dist(spec: str) -> tuple[str, Dist]:
    """`"C=loguniform(1e-3,10)"` as `("C", Dist("loguniform", (0.001, 10.0), ...))`."""
    found = _DIST.match(str(spec))
    if not found:
        raise InvalidInputError(f"bad --dist {spec!r}: expected NAME=FORM with FORM one of {DIST_FORMS}")
    name, kind, body = found.groups()
    args = [a.strip() for a in body.split(",")]
    text = f"{kind}({','.join(args)})"
    if kind == "choice" and all(args):
        return name, Dist(kind, tuple(args), text)
    if kind not in ("uniform", "loguniform", "int"):
        raise InvalidInputError(f"bad --dist {spec!r}: " + ("choice takes one or more values, e.g. choice(a,b)"
                                if kind == "choice" else f"unknown distribution {kind!r}; use {DIST_FORMS}"))
    why = f"{kind} takes two {'integers' if kind == 'int' else 'numbers'} a, b"
    try:
        low, high = (int(a) for a in args) if kind == "int" else (float(a) for a in args)
    except ValueError:
        raise InvalidInputError(f"bad --dist {spec!r}: {why}") from None
    if not math.isfinite(low) or not math.isfinite(high) or (high < low if kind == "int" else high <= low):
        why = f"{kind} needs a {'<=' if kind == 'int' else '<'} b, got {low} and {high}"
    elif kind == "loguniform" and low <= 0:
        why = "loguniform needs 0 < a < b"
    else:
        return name, Dist(kind, (low, high), text)
    raise InvalidInputError(f"bad --dist {spec!r}: {why}")


def plan(notebook: str | Path, grid: Mapping[str, Any] | Sequence[str] | None = None, random: int | None = None,
         dists: Mapping[str, str] | Sequence[str] | None = None, seed: int = 0,
         fixed: Mapping[str, Any] | None = None, *, allow_new_params: bool = False) -> SweepPlan:
    """The combinations a sweep of `notebook` runs, checked against its parameters cell.

    >>> plan("train.ipynb", ["C=0.1,1"], random=4, dists=["max_iter=int(50,500)"], seed=1).combinations
    """
    raw, found = parse_space(grid, dists)
    if random is not None and (isinstance(random, bool) or not isinstance(random, int) or random < 1):
        raise InvalidInputError(f"--random must be a whole number of samples >= 1, got {random!r}")
    if random and not found:
        raise InvalidInputError("--random N needs at least one --dist NAME=FORM to sample from")
    if found and not random:
        raise InvalidInputError("--dist needs --random N: how many points to sample")
    if not raw and not found:
        raise InvalidInputError("nothing to sweep: give --grid NAME=V1,V2,... and/or --random N with --dist NAME=FORM")
    typed, laws, base, given = typed_space(notebook, raw, found, fixed, allow_new_params)
    rng = _random.Random(seed)  # noqa: S311 - seeded on purpose: the same seed samples the same points
    samples = [{k: d.sample(rng) for k, d in laws.items()} for _ in range(random or 0)] or [{}]
    points = [{**dict(zip(typed, p, strict=True)), **s} for p in itertools.product(*typed.values()) for s in samples]
    tags = {"sweep.combinations": str(len(points)), "sweep.seed": str(seed), **space_tags(typed, laws, given),
            **({"sweep.random": str(random)} if laws else {})}
    return SweepPlan([Combination(i + 1, p, {**base, **p}) for i, p in enumerate(points)], tags, given)


def parse_space(grid: Mapping[str, Any] | Sequence[str] | None,
                dists: Mapping[str, str] | Sequence[str] | None) -> tuple[dict[str, list[Any]], dict[str, Dist]]:
    """The grid's values (as given) and the distributions, each parameter named once."""
    raw = {k: _values(k, v) for k, v in grid.items()} if isinstance(grid, Mapping) else parse_grid(_specs(grid))
    pairs = [parse_dist(f"{k}={v}") for k, v in dists.items()] if isinstance(dists, Mapping) else \
        [parse_dist(s) for s in _specs(dists)]
    found = dict(pairs)
    if len(found) < len(pairs):
        raise InvalidInputError("--dist names a parameter twice: give each parameter one distribution")
    return raw, found


def typed_space(notebook: str | Path, raw: dict[str, list[Any]], found: dict[str, Dist],
                fixed: Mapping[str, Any] | None, allow_new_params: bool
                ) -> tuple[dict[str, list[Any]], dict[str, Dist], dict[str, Any], dict[str, Any]]:
    """Grid values and distributions typed like the parameters' defaults, every parameter's base value,
    and the fixed ones given; checked against the notebook's parameters cell."""
    declared = notebook_parameters(notebook)
    both = sorted(set(raw) & set(found))
    if both:
        raise InvalidInputError(f"{', '.join(map(repr, both))} is both in --grid and --dist: choose one")
    unknown_parameters(notebook, [*raw, *found, *(fixed or {})], declared, allow_new_params)
    defaults = {k: p.default for k, p in declared.items()}
    typed = {k: [coerce(k, v, defaults.get(k)) if isinstance(v, str) else v for v in vs] for k, vs in raw.items()}
    laws = {k: _typed(k, d, defaults.get(k)) for k, d in found.items()}
    base = resolve_parameters(Path(notebook), dict(fixed or {}), allow_new_params, declared=declared)
    return typed, laws, base, {k: base[k] for k in fixed or {}}


def space_tags(grid: Mapping[str, list[Any]], dists: Mapping[str, Dist], given: Mapping[str, Any]) -> dict[str, str]:
    """The swept space as parent-run tags: `sweep.grid`, `sweep.dist`, `sweep.fixed` (those that apply)."""
    tags = {}
    if grid:
        tags["sweep.grid"] = "; ".join(f"{k}={','.join(map(str, v))}" for k, v in grid.items())
    if dists:
        tags["sweep.dist"] = "; ".join(f"{k}={d.text}" for k, d in dists.items())
    if given:
        tags["sweep.fixed"] = " ".join(f"{k}={v!r}" for k, v in given.items())
    return tags


def _specs(value: Sequence[str] | None) -> Sequence[str]:
    """Command-line style specs: none, one (a string) or several."""
    return [] if value is None else [value] if isinstance(value, str) else value


def _values(name: str, values: Any) -> list[Any]:
    items = [v.strip() for v in values.split(",")] if isinstance(values, str) else list(values)
    if not items or any(v == "" for v in items):
        raise InvalidInputError(f"grid values of {name!r} are empty: give at least one value")
    return items


def _typed(name: str, dist: Dist, default: Any) -> Dist:
    """`dist` drawing values of the default's type, or an error saying which form fits."""
    if dist.kind == "choice":
        return replace(dist, args=tuple(coerce(name, v, default) for v in dist.args))
    if isinstance(default, (bool, str)):
        raise InvalidInputError(f"parameter {name!r} is a {type(default).__name__}: sample it with choice(...)")
    if isinstance(default, int) and dist.kind != "int":
        raise InvalidInputError(f"parameter {name!r} is an int: sample it with int(a,b) or choice(...)")
    return dist


# -- running -----------------------------------------------------------------------------------
def sweep(store: Store, notebook: str | Path, grid: Mapping[str, Any] | Sequence[str] | None = None,
          random: int | None = None, dists: Mapping[str, str] | Sequence[str] | None = None, workers: int = 2,
          executor: str = "local", scheduler: str | None = None, metric: str | None = None,
          maximize: bool = True, resume: bool = False, experiment: str | None = None,
          timeout: float | None = None, name: str | None = None, fixed: Mapping[str, Any] | None = None,
          seed: int = 0, progress: bool = True,
          on_child: Callable[[ChildResult], None] | None = None, *, allow_new_params: bool = False,
          register_all: bool = False, trials: int | None = None, sampler: Any = None, prune: bool = False,
          pruner: Any = None) -> SweepResult:
    """Run `notebook` once per combination as child runs of one parent run, `workers` at a time.

    The runs go to `experiment`, else to the one the notebook names (`%%track -e NAME`). A model
    the notebook registers is registered once, from the best child by `metric` (`register_all`:
    from every child). With `trials`, an Optuna study searches the `grid`/`dists` space instead
    (see jobs/studies.py): `sampler` ("tpe", "cmaes", "random", "grid"), `prune`, `pruner`.

    >>> sweep(store, "train.ipynb", grid=["C=0.01,0.1,1"], metric="accuracy").best.run_id
    """
    path = Path(notebook)
    if trials is not None or sampler is not None or prune or pruner is not None:
        if random is not None:
            raise InvalidInputError("--random N samples points blindly and --trials N searches: give one of them")
        from nbmlops.jobs import studies  # optuna is optional: loaded only for a study

        check_options(executor, scheduler, workers, metric)
        return studies.study_sweep(
            store, path, trials, sampler=sampler, prune=prune, pruner=pruner, grid=grid, dists=dists,
            workers=workers, executor=executor, scheduler=scheduler, metric=metric, maximize=maximize,
            resume=resume, experiment=experiment, timeout=timeout, name=name, fixed=fixed, seed=seed,
            progress=progress, on_child=on_child, allow_new_params=allow_new_params, register_all=register_all)
    the_plan = plan(path, grid, random, dists, seed, fixed, allow_new_params=allow_new_params)
    check_options(executor, scheduler, workers, metric)
    sweep_name = validation.name("run", name) if name is not None else f"sweep-{path.stem}"
    tracker = Tracker(store)
    node = read_notebook(path)
    first = the_plan.combinations[0]
    exp = sweep_experiment(tracker, path, node, first, the_plan.fixed, experiment)
    tags = {**the_plan.tags, "sweep.notebook": str(path.resolve()), "sweep.executor": executor,
            "sweep.workers": str(workers), **({"sweep.metric": metric} if metric else {})}
    previous = previous_sweep(store, exp, sweep_name, "sweep.combinations") if resume else None
    reused, todo = (_split_done(store, previous, the_plan.combinations, metric, option_parameters(node))
                    if previous else ([], the_plan.combinations))
    # The pool starts before the parent run: an unreachable scheduler leaves no run behind.
    pool = open_executor(executor, min(workers, len(todo)), scheduler, store) if todo else None
    parent_id = start_parent(tracker, previous, sweep_name, exp, tags, path)
    for child in reused:
        if on_child:
            on_child(child)
    spec = ChildSpec(store.location, str(path.resolve()), exp, parent_id, sweep_name, timeout, the_plan.fixed,
                     allow_new_params, not register_all)
    try:
        ran, infra = drive(pool, spec, store, todo, metric, progress, on_child)
    except BaseException as exc:
        end_parent_on(tracker, parent_id, exc, bool(previous))
        raise
    children = sorted([*reused, *ran], key=lambda c: c.index)
    table = _table(store, parent_id, children, metric, maximize)
    ranked = [c for c in children if c.status is RunStatus.FINISHED and c.metric is not None]
    best = (max if maximize else min)(ranked, key=lambda c: c.metric) if metric and ranked else None  # type: ignore
    failed = [c for c in children if c.status is not RunStatus.FINISHED]
    error = None
    if failed:
        shown = "; ".join(f"#{c.index} {c.describe()}: {(c.error or c.status.value).splitlines()[0]}"
                          for c in failed[:5])
        error = f"{len(failed)} of {len(children)} combinations failed: {shown}" + \
            (f"; and {len(failed) - 5} more" if len(failed) > 5 else "")
    tracker.set_tags({"sweep.failed": str(len(failed)), "sweep.infrastructure_retries": str(infra)})
    if best is not None and best.metric is not None:
        tracker.log_metric(f"best_{metric}", best.metric)
        tracker.set_tags({"sweep.best_run": str(best.run_id)})
    registered = register_best(tracker, best, children) if not register_all else []
    status = RunStatus.FAILED if failed else RunStatus.FINISHED
    end_parent(tracker, parent_id, status, error, bool(previous))
    return SweepResult(parent_id, sweep_name, exp, status, children, table, metric, best, infra, bool(previous),
                       failed, registered)


def check_options(executor: str, scheduler: str | None, workers: int, metric: str | None) -> None:
    """One-line errors for an unknown executor, a misplaced scheduler, bad workers or metric."""
    if executor not in EXECUTORS:
        raise InvalidInputError(f"executor {executor!r} is not one of {', '.join(EXECUTORS)}")
    if scheduler and executor != "dask":
        raise InvalidInputError("a scheduler address is only used by the dask executor: pass executor='dask'")
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise InvalidInputError(f"workers must be a whole number >= 1, got {workers!r}")
    if metric is not None:
        validation.key("metric", metric)


def sweep_experiment(tracker: Tracker, path: Path, node: Any, first: Combination, fixed: Mapping[str, Any],
                     experiment: str | None) -> str:
    """The sweep's experiment: `experiment`, else the one the notebook names, else the current one."""
    named = notebook_experiment(node, known_values(first.values, notebook_parameters(path),
                                                   [*first.swept, *fixed])) if experiment is None else None
    return validation.name("experiment", experiment if experiment is not None else named or tracker.experiment)


def start_parent(tracker: Tracker, previous: str | None, name: str, experiment: str, tags: dict[str, str],
                 path: Path) -> str:
    """Start the parent run, or attach to the `previous` one being resumed; its id."""
    if previous:
        parent_id = tracker.attach_run(previous, name, experiment).run_id
        tracker.set_tags({**tags, "sweep.resumed_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")})
        return parent_id
    return tracker.start_run(experiment, name, tags, notebook=str(path.resolve())).run_id


def end_parent_on(tracker: Tracker, parent_id: str, exc: BaseException, attached: bool) -> None:
    """End the parent of a sweep stopped by `exc`: KILLED for Ctrl-C, else FAILED."""
    status = RunStatus.KILLED if isinstance(exc, KeyboardInterrupt) else RunStatus.FAILED
    end_parent(tracker, parent_id, status, f"sweep stopped: {type(exc).__name__}: {exc}", attached)


def register_best(tracker: Tracker, best: ChildResult | None,
                   children: list[ChildResult]) -> list[registry.ModelVersion]:
    """Register the models the best child kept back; warn (and tag the parent) when none can be."""
    held = sorted({n for c in children if c.run_id for n in registry.deferred_models(tracker.store, c.run_id)})
    if not held:
        return []
    if best is None or best.run_id is None:
        why = (f"registered no version of {', '.join(held)}: the sweep has no best run "
               "(give a metric to rank the runs, or register_all)")
        tracker.set_tags({"sweep.registered": why})
        warnings.warn(why, stacklevel=3)
        return []
    versions = []
    try:
        for name in registry.deferred_models(tracker.store, best.run_id):
            version = registry.register_logged(tracker.store, best.run_id, name)
            # the child's tag, as if it had registered the version itself
            tracker.emit("tags", {"items": [[f"model.{name}.version", str(version.version)]]}, run_id=best.run_id)
            versions.append(version)
    except NbmlopsError as exc:  # the children's runs stand; say what could not be registered
        why = f"the best run's model could not be registered: {exc}"
        tracker.set_tags({"sweep.registered": why[:7900]})
        warnings.warn(why, stacklevel=3)
        return versions
    tracker.set_tags({"sweep.registered": ", ".join(v.uri for v in versions) or "nothing"})
    return versions


def end_parent(tracker: Tracker, parent_id: str, status: RunStatus, error: str | None, attached: bool) -> None:
    if attached:  # a resumed parent was ended before: end it again ("" clears an earlier error)
        tracker.emit("run_end", {"status": status.value, "error": error or ""}, run_id=parent_id)
        tracker.detach_run(parent_id)
    else:
        tracker.end_run(status, run_id=parent_id, error=error)
    tracker.close()


Settle = Callable[[Combination, ChildResult], tuple[ChildResult, Combination | None]]


def drive(pool: Executor | None, spec: ChildSpec, store: Store, todo: list[Combination], metric: str | None,
          progress: bool, on_child: Callable[[ChildResult], None] | None, *, total: int | None = None,
          settle: Settle | None = None) -> tuple[list[ChildResult], int]:
    """Run `todo` on `pool`, retrying infrastructure failures; the children and the retry count.

    `settle` (a study's) sees each child as it ends, may amend it, and may give the next
    combination to run; `total` is how many children the progress bar expects."""
    if pool is None:
        return [], 0
    bar = None
    if progress and sys.stderr.isatty() and importlib.util.find_spec("tqdm"):  # tqdm is optional
        from tqdm import tqdm

        bar = tqdm(total=total or len(todo), file=sys.stderr, unit="run", desc="sweep", dynamic_ncols=True)
    retries = {c.index: 0 for c in todo}
    done: list[ChildResult] = []
    interrupted = False
    try:
        for combo in todo:
            pool.submit(spec, combo)
        for combo, child, infra in pool.results():
            if infra and retries[combo.index] < SWEEP_RETRIES:
                retries[combo.index] += 1
                pool.submit(spec, combo)
                continue
            if infra:  # out of retries: the sweep failed here, still not the notebook
                child = replace(child, run_id=None, status=RunStatus.FAILED, error=f"infrastructure: {child.error}")
            elif child.run_id and metric:
                value = search.get_run(store, child.run_id).metrics.get(metric)
                child = replace(child, metric=None if value is None or math.isnan(value) else value)
            child = replace(child, infrastructure_retries=retries[combo.index])
            if settle is not None:
                child, following = settle(combo, child)
                if following is not None:
                    retries[following.index] = 0
                    pool.submit(spec, following)
            done.append(child)
            if bar is not None:
                bar.update(1)
            if on_child:
                with type(bar).external_write_mode() if bar is not None else nullcontext():
                    on_child(done[-1])
    except KeyboardInterrupt:
        interrupted = True
        raise
    finally:
        if bar is not None:
            bar.close()
        pool.close(cancel=interrupted)
    return done, sum(retries.values())


# -- reading back ------------------------------------------------------------------------------
def previous_sweep(store: Store, experiment: str, name: str, tag: str) -> str:
    """The latest run named `name` in `experiment` with `tag` (the kind of sweep it was)."""
    quoted = "'" + name.replace("'", "''") + "'"
    found = search.runs(store, experiment, where=f"name = {quoted} and tags.`{tag}` is not null",
                        order_by="start_time desc", limit=1)
    if found.empty:
        raise NotFoundError(f"no sweep named {name!r} in experiment {experiment!r} to resume: "
                            "check --name and -e, or run without --resume to start one")
    return str(found["run_id"].iloc[0])


def _split_done(store: Store, parent: str, combos: list[Combination], metric: str | None,
                unrecorded: set[str]) -> tuple[list[ChildResult], list[Combination]]:
    """Combinations with a FINISHED child of `parent` (reused) and the others (to run), matched on
    the parameters a run records (not `unrecorded`: the notebook's %%track options)."""
    rows = search.runs(store, where=f"parent_run_id = '{parent}' and status = 'FINISHED'")
    if "tags.runner.infrastructure_failure" in rows.columns:
        rows = rows[rows["tags.runner.infrastructure_failure"] != "true"]
    available: dict[tuple[Any, ...], list[Any]] = {}
    for _, row in rows.sort_values("start_time").iterrows():
        available.setdefault(_key({n: row.get(f"params.{n}") for n in combos[0].values if n not in unrecorded}),
                             []).append(row)
    reused, todo = [], []
    for combo in combos:
        matches = available.get(_key({k: v for k, v in combo.values.items() if k not in unrecorded}))
        if not matches:
            todo.append(combo)
            continue
        row = matches.pop(0)
        value = row.get(f"metrics.{metric}") if metric else None
        reused.append(ChildResult(combo.index, combo.swept, row["run_id"], RunStatus.FINISHED,
                                  None if value is None or pd.isna(value) else float(value),
                                  int(row.get("tags.runner.kernel_retries") or 0), 0, float(row["duration"]),
                                  reused=True))
    return reused, todo


def _key(values: Mapping[str, Any]) -> tuple[Any, ...]:
    """Parameter values as compared across runs: 1 == 1.0, containers by their JSON."""
    def canon(v: Any) -> tuple[Any, ...]:
        if isinstance(v, bool) or type(v).__name__ == "bool_":
            return ("b", bool(v))
        if isinstance(v, numbers.Number):
            return ("n", float(v))  # type: ignore[arg-type]
        if isinstance(v, (list, tuple, dict)):
            return ("j", json.dumps(v, sort_keys=True, default=str))
        return ("none",) if v is None else ("s", str(v))
    return tuple(sorted((k, canon(v)) for k, v in values.items()))


def _table(store: Store, parent: str, children: list[ChildResult], metric: str | None,
           maximize: bool) -> pd.DataFrame:
    """One row per combination: run, status, swept params, metrics (not the machine's `system/...`
    load), duration; ranked by `metric`."""
    runs = search.runs(store, where=f"parent_run_id = '{parent}'").set_index("run_id")
    metric_columns = sorted(c for c in runs.columns
                            if c.startswith("metrics.") and not c.startswith(f"metrics.{system.PREFIX}"))
    if metric is not None and f"metrics.{metric}" not in metric_columns:
        metric_columns.insert(0, f"metrics.{metric}")
    rows = []
    for child in children:
        known = child.run_id is not None and child.run_id in runs.index
        rows.append({"run_id": child.run_id, "status": child.status.value,
                     **{f"params.{k}": v for k, v in child.params.items()},
                     **{c: runs.at[child.run_id, c] if known and c in runs.columns else math.nan
                        for c in metric_columns},
                     "duration": child.duration, "kernel_retries": child.kernel_retries,
                     "error": child.error.splitlines()[0] if child.error else None})
    table = pd.DataFrame(rows)
    if metric is not None and not table.empty:
        table = table.sort_values(f"metrics.{metric}", ascending=not maximize, na_position="last", kind="mergesort")
    return table.reset_index(drop=True)
