"""Commands that execute notebooks: run, reproduce, retrain, ci, sweep."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import TYPE_CHECKING

import click

from nbmlops.cli import context_store, echo_frame, echo_warning, main, one_line_errors
from nbmlops.entities import RunStatus

if TYPE_CHECKING:
    from nbmlops.jobs.sweeps import ChildResult, SweepResult
from nbmlops.store.folder import open_store

EXPERIMENT_HELP = ("Experiment of the run (default: the one the notebook names with %%track -e NAME, "
                   "else the current one).")
NEW_PARAMS_HELP = ("Inject parameter names the notebook's parameters cell does not declare (by default "
                   "an error, usually a typo); the run is tagged nbmlops.new_params.")


@main.command("run")
@click.argument("notebook", type=click.Path(dir_okay=False))
@click.option("-p", "--param", "params", nargs=2, multiple=True, metavar="NAME VALUE",
              help="Set a parameter (repeatable); converted to the type of its default.")
@click.option("-f", "--params-file", type=click.Path(exists=True, dir_okay=False), metavar="FILE",
              help="YAML or JSON file of parameters (-p values win).")
@click.option("-e", "--experiment", metavar="NAME", help=EXPERIMENT_HELP)
@click.option("--name", metavar="NAME", help="Run name (default: the notebook's name).")
@click.option("--timeout", type=click.FloatRange(min=0, min_open=True), metavar="SECONDS",
              help="Fail a cell that runs longer than this.")
@click.option("--kernel", metavar="NAME", help="Kernel to use (default: the notebook's).")
@click.option("--output", type=click.Path(dir_okay=False), metavar="PATH",
              help="Also write the executed notebook here (it is always stored with the run).")
@click.option("--allow-new-params", is_flag=True, help=NEW_PARAMS_HELP)
@click.option("--strict", is_flag=True, hidden=True,
              help="Does nothing: refusing undeclared parameters is the default now (kept so old scripts run).")
@click.pass_context
@one_line_errors
def run_command(ctx: click.Context, notebook: str, params: tuple[tuple[str, str], ...],
                params_file: str | None, experiment: str | None, name: str | None, timeout: float | None,
                kernel: str | None, output: str | None, allow_new_params: bool, strict: bool) -> None:
    """Execute NOTEBOOK with papermill as one tracked run (its %%track cells join it).

    Parameters must be declared in the notebook's cell tagged `parameters`; the run goes to -e, else
    to the experiment the notebook names (`%%track -e NAME`), else to the current one."""
    from nbmlops.jobs.runner import run_notebook
    from nbmlops.tracking.tracker import Tracker

    values: dict[str, object] = dict(_read_params_file(params_file)) if params_file else {}
    values.update(dict(params))
    tracker = Tracker(context_store(ctx))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = run_notebook(tracker, notebook, values, experiment, name, timeout=timeout,
                              kernel=kernel, output=output, allow_new_params=allow_new_params)
    _echo_warnings(caught)
    where = f"; executed notebook: {result.output}" if result.output else \
        f"; executed notebook stored with the run (nbmlops show {result.run_id[:12]})"
    if result.status is not RunStatus.FINISHED:
        first = (result.error or "").splitlines()[0] if result.error else "failed"
        raise click.ClickException(f"run {result.name} ({result.run_id}) {result.status.value}: {first}{where}")
    click.echo(f"run {result.name} ({result.run_id}) FINISHED in {result.duration:.1f} s{where}")


@main.command()
@click.argument("run_id")
@click.option("--tolerance", type=click.FloatRange(min=0), default=1e-9, show_default=True,
              help="Relative and absolute tolerance for metrics to count as equal.")
@click.option("--timeout", type=click.FloatRange(min=0, min_open=True), metavar="SECONDS",
              help="Fail a cell that runs longer than this.")
@click.pass_context
@one_line_errors
def reproduce(ctx: click.Context, run_id: str, tolerance: float, timeout: float | None) -> None:
    """Re-execute RUN_ID's stored notebook with its params and compare the metrics."""
    from nbmlops.jobs.reproduce import reproduce as _reproduce
    from nbmlops.tracking.tracker import Tracker

    outcome = _reproduce(Tracker(context_store(ctx)), run_id, tolerance=tolerance, timeout=timeout)
    for warning in outcome.data_warnings:
        echo_warning(warning)
    new = outcome.result
    click.echo(f"reproduced {outcome.original.name} as {new.name} ({new.run_id}): {new.status.value}")
    for diff in outcome.differences:
        click.echo(f"  {diff.key}: {diff.original} then, {diff.reproduced} now")
    if not outcome.matches:
        reason = "the run failed" if new.status is not RunStatus.FINISHED else \
            f"{len(outcome.differences)} metric(s) differ beyond {tolerance:g}"
        raise click.ClickException(f"not reproduced: {reason}")
    click.echo(f"all {len(outcome.original.metrics)} metrics match within {tolerance:g}")


@main.command()
@click.argument("model")
@click.option("-p", "--param", "params", nargs=2, multiple=True, metavar="NAME VALUE",
              help="Override a notebook parameter (repeatable), e.g. -p data_path new.csv.")
@click.option("--promote-if", metavar="EXPR",
              help="Gate against the alias holder, e.g. \"metrics.auc >= champion.metrics.auc\".")
@click.option("--alias", default="production", show_default=True, help="Alias to promote to.")
@click.option("--timeout", type=click.FloatRange(min=0, min_open=True), metavar="SECONDS",
              help="Fail a cell that runs longer than this.")
@click.option("--if-drift", "drift_data", metavar="DATA",
              help="Retrain only when DATA (.csv or .parquet) shows dataset drift against MODEL's training "
                   "data (the report is stored); otherwise say so and exit 0 without running.")
@click.option("--allow-new-params", is_flag=True, help=NEW_PARAMS_HELP)
@click.pass_context
@one_line_errors
def retrain(ctx: click.Context, model: str, params: tuple[tuple[str, str], ...], promote_if: str | None,
            alias: str, timeout: float | None, drift_data: str | None, allow_new_params: bool) -> None:
    """Retrain MODEL[@ALIAS] from its notebook and params, register, and promote if the gate passes.

    The run goes to the experiment of the run that made MODEL."""
    from nbmlops.drift.service import read_batch
    from nbmlops.jobs.reproduce import retrain as _retrain
    from nbmlops.jobs.reproduce import retrain_on_drift
    from nbmlops.tracking.tracker import Tracker

    tracker = Tracker(context_store(ctx))
    if drift_data:
        report, retrained = retrain_on_drift(tracker, model, read_batch(drift_data), dict(params),
                                             promote_if=promote_if, alias=alias, timeout=timeout,
                                             source=str(Path(drift_data).resolve()),
                                             allow_new_params=allow_new_params)
        click.echo(report.summary())
        if retrained is None:
            click.echo(f"not retraining: no dataset drift in {drift_data}")
            return
        outcome = retrained
    else:
        outcome = _retrain(tracker, model, dict(params), promote_if=promote_if, alias=alias, timeout=timeout,
                           allow_new_params=allow_new_params)
    if outcome.new_version is not None:
        click.echo(f"registered {outcome.new_version.uri} from run {outcome.result.run_id}")
    click.echo(outcome.decision)
    if outcome.result.status is not RunStatus.FINISHED or outcome.new_version is None:
        raise click.ClickException(outcome.decision)


@main.command("ci")
@click.argument("notebooks", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("-p", "--param", "params", nargs=2, multiple=True, metavar="NAME VALUE",
              help="Set a parameter of every notebook (repeatable).")
@click.option("--gate", "gates", multiple=True, metavar="EXPR",
              help="A condition each run must meet (repeatable), e.g. \"metrics.acc > 0.9\".")
@click.option("--compare-to", metavar="MODEL@ALIAS", help="Registered version that `champion.` refers to.")
@click.option("--report", type=click.Path(dir_okay=False), metavar="FILE", help="Write a Markdown report.")
@click.option("--junit", type=click.Path(dir_okay=False), metavar="FILE", help="Write JUnit XML.")
@click.option("-e", "--experiment", metavar="NAME",
              help="Experiment of the CI runs (default: the one each notebook names with %%track -e NAME, "
                   "else ci).")
@click.option("--timeout", type=click.FloatRange(min=0, min_open=True), metavar="SECONDS",
              help="Fail a cell that runs longer than this.")
@click.option("--store", "ci_store", metavar="PATH|URL", help="Store for this check (e.g. a fresh one in CI, or "
              "the team store).")
@click.option("--allow-new-params", is_flag=True, help=NEW_PARAMS_HELP)
@click.pass_context
@one_line_errors
def ci_command(ctx: click.Context, notebooks: tuple[str, ...], params: tuple[tuple[str, str], ...],
               gates: tuple[str, ...], compare_to: str | None, report: str | None, junit: str | None,
               experiment: str | None, timeout: float | None, ci_store: str | None, allow_new_params: bool) -> None:
    """Run NOTEBOOKS headless, check the gates, write reports; exit 1 if anything failed."""
    from nbmlops.jobs import ci
    from nbmlops.tracking.tracker import Tracker

    store = open_store(ci_store) if ci_store else context_store(ctx)
    outcome = ci.check(Tracker(store), list(notebooks), list(gates), parameters=dict(params),
                       compare_to=compare_to, experiment=experiment, timeout=timeout,
                       allow_new_params=allow_new_params)
    if report:
        Path(report).write_text(ci.markdown(outcome))
    if junit:
        Path(junit).write_text(ci.junit(outcome))
    for c in outcome.checks:
        click.echo(f"{'PASS' if c.passed else 'FAIL'} {c.notebook}: run {c.run.name} {c.result.status.value}")
        for gate in c.gates:
            click.echo(f"  {'pass' if gate.passed else 'FAIL'} {gate.explanation}")
    if not outcome.passed:
        failed = sum(not c.passed for c in outcome.checks)
        raise click.ClickException(f"{failed} of {len(outcome.checks)} notebook(s) failed their checks")


def _echo_warnings(caught: list[warnings.WarningMessage]) -> None:
    """Every warning a job gave, repeats included, through the command's one-line warning display."""
    for w in caught:
        warnings.showwarning(w.message, w.category, w.filename, w.lineno)


def _read_params_file(path: str) -> dict[str, object]:
    import json

    text = Path(path).read_text()
    try:
        import yaml

        loaded = yaml.safe_load(text)
    except ImportError:
        loaded = json.loads(text)
    except Exception as exc:
        raise click.ClickException(f"cannot read parameters from {path}: {exc}") from None
    if not isinstance(loaded, dict):
        raise click.ClickException(f"{path} must hold a mapping of parameter names to values")
    return loaded


@main.command("sweep")
@click.argument("notebook", type=click.Path(dir_okay=False))
@click.option("--grid", multiple=True, metavar="NAME=V1,V2,...",
              help="Values of one parameter; runs every combination of the --grid values (repeatable).")
@click.option("--random", "samples", type=click.IntRange(min=1), metavar="N",
              help="Sample N points from the --dist distributions, each crossed with the grid.")
@click.option("--dist", multiple=True, metavar="NAME=FORM",
              help="Distribution of a parameter for --random or --trials: uniform(a,b), loguniform(a,b), "
                   "int(a,b) (inclusive) or choice(x,y,...) (repeatable).")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of --random: same seed, same points.")
@click.option("-j", "--workers", type=click.IntRange(min=1), default=2, show_default=True,
              help="Notebooks executed at once.")
@click.option("--executor", type=click.Choice(["local", "dask"]),
              help="local: a process pool here (default); dask: dask.distributed workers, a LocalCluster "
                   "unless --scheduler is given.")
@click.option("--scheduler", metavar="ADDRESS",
              help="Dask scheduler to send the runs to (implies --executor dask), e.g. tcp://10.0.0.5:8786.")
@click.option("--metric", metavar="NAME", help="Metric that ranks the runs; the parent run gets best_NAME.")
@click.option("--maximize/--minimize", default=True, show_default=True,
              help="Whether a higher or a lower --metric is better.")
@click.option("--resume", is_flag=True,
              help="Continue the sweep with this --name in this experiment: run only the combinations "
                   "without a FINISHED child.")
@click.option("-e", "--experiment", metavar="NAME", help=EXPERIMENT_HELP.replace("the run", "the runs"))
@click.option("--timeout", type=click.FloatRange(min=0, min_open=True), metavar="SECONDS",
              help="Fail a cell that runs longer than this.")
@click.option("--name", metavar="NAME", help="Name of the parent run (default: sweep-<notebook name>).")
@click.option("-p", "--param", "params", nargs=2, multiple=True, metavar="NAME VALUE",
              help="Set a parameter for every run (repeatable); converted to the type of its default.")
@click.option("--allow-new-params", is_flag=True, help=NEW_PARAMS_HELP)
@click.option("--register-all", is_flag=True,
              help="Register the model of every run (default: a model the notebook registers is registered "
                   "once, from the best run by --metric; the other runs keep theirs as run artifacts).")
@click.option("--trials", type=int, metavar="N",
              help="Search with an Optuna study of N runs (needs --metric); with --resume, the new total.")
@click.option("--sampler", type=click.Choice(["tpe", "cmaes", "random", "grid"]),
              help="How --trials picks points: tpe (default), cmaes, random, or grid (walks the --grid values).")
@click.option("--prune", is_flag=True,
              help="Stop a trial early when the --metric it logs step by step is worse than the others'.")
@click.option("--pruner", type=click.Choice(["median", "hyperband"]), help="Pruner of --prune (default: median).")
@click.pass_context
@one_line_errors
def sweep_command(ctx: click.Context, notebook: str, grid: tuple[str, ...], samples: int | None,
                  dist: tuple[str, ...], seed: int, workers: int, executor: str | None, scheduler: str | None,
                  metric: str | None, maximize: bool, resume: bool, experiment: str | None,
                  timeout: float | None, name: str | None, params: tuple[tuple[str, str], ...],
                  allow_new_params: bool, register_all: bool, trials: int | None, sampler: str | None,
                  prune: bool, pruner: str | None) -> None:
    """Execute NOTEBOOK once per parameter combination, in parallel, as child runs of one parent
    run; print each run as it ends, then the runs ranked by --metric (best marked *). A model the
    notebook registers (%%track --model VAR:NAME) is registered once, from the best run.

    With --trials N an Optuna study searches the --dist (and --grid) space instead: N runs, each a
    trial, the next point chosen from the metrics of those before (--sampler), --prune stopping
    unpromising runs early."""
    from nbmlops.jobs.sweeps import sweep

    study = trials is not None or sampler is not None or prune or pruner is not None

    def report(child: ChildResult) -> None:
        value = f"  {metric}={child.metric:.6g}" if metric and child.metric is not None else ""
        took = f"  {child.duration:.1f} s" if child.duration is not None else ""
        what = _trial_state(child) if study else child.status.value
        what += " (resumed)" if study and child.reused else ""
        what = "already FINISHED (resumed)" if child.reused and not study else what
        first = f"  {child.error.splitlines()[0]}" if child.error and not child.reused else ""
        label = f"trial {child.index}" if study else f"#{child.index}"
        click.echo(f"{label} {what}  {child.describe()}{value}{took}{first}")

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = sweep(context_store(ctx), notebook, grid=list(grid) or None, random=samples, dists=list(dist) or None,
                       workers=workers, executor=executor or ("dask" if scheduler else "local"),
                       scheduler=scheduler, metric=metric, maximize=maximize, resume=resume, experiment=experiment,
                       timeout=timeout, name=name, fixed=dict(params) or None, seed=seed, on_child=report,
                       allow_new_params=allow_new_params, register_all=register_all, trials=trials,
                       sampler=sampler, prune=prune, pruner=pruner)
    _echo_warnings(caught)
    if result.study is not None:
        _echo_study(result)
        return
    table = result.table.copy()
    table.insert(0, "best", ["*" if result.best and r == result.best.run_id else "" for r in table["run_id"]])
    table["error"] = [str(e)[:60] if isinstance(e, str) else "" for e in table["error"]]
    click.echo("")
    echo_frame(table, "table")
    best = (f"; best {metric}={result.best.metric:.6g} (run {result.best.run_id})"
            if result.best and result.best.metric is not None else "")
    retries = (f"; kernel start failures retried: {result.infrastructure_retries}"
               if result.infrastructure_retries else "")
    done = len(result.children) - len(result.failed)
    click.echo(f"sweep {result.name} ({result.parent_run_id}): {done} of {len(result.children)} FINISHED"
               f"{best}{retries}")
    for version in result.registered:
        click.echo(f"registered {version.uri} from the best run {version.run_id}")
    if result.failed:
        raise click.ClickException(f"{len(result.failed)} of {len(result.children)} runs failed "
                                   f"({', '.join('#' + str(c.index) for c in result.failed)}); parent run "
                                   f"{result.parent_run_id} is FAILED")


def _trial_state(child: ChildResult) -> str:
    """How a study's trial ended: COMPLETE, PRUNED or FAIL."""
    if child.status is RunStatus.PRUNED:
        return "PRUNED"
    return "COMPLETE" if child.status is RunStatus.FINISHED and not child.error else "FAIL"


def _echo_study(result: SweepResult) -> None:
    """The trials table, the summary line, what was registered; exit 1 when no trial completed."""
    table = result.trials.copy() if result.trials is not None else result.table.copy()
    table.insert(0, "best", ["*" if t == result.best_trial else "" for t in table["trial"]])
    click.echo("")
    echo_frame(table, "table")
    counts = table["state"].value_counts()
    states = ", ".join(f"{int(counts[s])} {s}" for s in ("COMPLETE", "PRUNED", "FAIL") if s in counts)
    best = (f"; best {result.metric}={result.best.metric:.6g} (trial {result.best_trial}, run {result.best.run_id})"
            if result.best is not None and result.best.metric is not None else "")
    retries = (f"; kernel start failures retried: {result.infrastructure_retries}"
               if result.infrastructure_retries else "")
    click.echo(f"study {result.study} ({result.parent_run_id}): {len(table)} trials: {states}{best}{retries}")
    for version in result.registered:
        click.echo(f"registered {version.uri} from the best run {version.run_id}")
    if result.status is not RunStatus.FINISHED:
        raise click.ClickException(f"no trial completed; parent run {result.parent_run_id} is FAILED")
