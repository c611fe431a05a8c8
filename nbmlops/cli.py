"""The `nbmlops` command: store set-up, listing and inspecting runs, compaction."""

from __future__ import annotations

import functools
import json
import math
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click
import pandas as pd

from . import __version__, bundle, export, registry, search, serving
from .entities import RunStatus
from .errors import NbmlopsError
from .provenance import SYSTEM_TAGS
from .store import Store, find_store_path

F = TypeVar("F", bound=Callable[..., Any])


def _one_line_errors(fn: F) -> F:
    """Show failures as one line on stderr with exit code 1, never a traceback."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except NbmlopsError as exc:
            raise click.ClickException(str(exc)) from None
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except KeyboardInterrupt:
            raise click.ClickException("interrupted") from None
        except Exception as exc:
            if os.environ.get("NBMLOPS_DEBUG"):
                raise
            raise click.ClickException(
                f"unexpected {type(exc).__name__}: {exc} (set NBMLOPS_DEBUG=1 for the traceback)") from None

    return wrapper  # type: ignore[return-value]


def _store(ctx: click.Context) -> Store:
    path = ctx.obj.get("store") if ctx.obj else None
    return Store(Path(path) if path else find_store_path())


FORMAT = click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table",
                      show_default=True, help="Output format.")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="nbmlops")
@click.option("--store", "store", metavar="PATH", envvar="NBMLOPS_STORE",
              help="Store folder (default: $NBMLOPS_STORE, else the nearest .nbmlops/ "
                   "up from here, else ~/.nbmlops).")
@click.pass_context
def main(ctx: click.Context, store: str | None) -> None:
    """Experiment tracking for notebooks: inspect and manage an nbmlops store."""
    ctx.ensure_object(dict)
    ctx.obj["store"] = store


@main.command()
@click.argument("path", required=False, type=click.Path(file_okay=False))
@_one_line_errors
def init(path: str | None) -> None:
    """Create a store in PATH/.nbmlops (default: the current folder)."""
    target = Path(path) if path else Path.cwd()
    root = target if target.name == ".nbmlops" else target / ".nbmlops"
    store = Store(root)
    existed = store.catalog_path.exists()
    store.init()
    click.echo(f"{'Store already exists' if existed else 'Created store'} at {store.root}")


@main.command()
@FORMAT
@click.pass_context
@_one_line_errors
def experiments(ctx: click.Context, fmt: str) -> None:
    """List experiments with run counts and last activity."""
    _emit(search.experiments(_store(ctx)), fmt,
          empty="No experiments yet: start a run with nbmlops.start_run() or %%track.")


@main.command()
@click.option("-e", "--experiment", multiple=True, metavar="NAME", help="Only this experiment (repeatable).")
@click.option("-w", "--where", metavar="EXPR", help="Filter, e.g. \"metrics.acc > 0.9 and params.C < 1\".")
@click.option("-o", "--order-by", metavar="EXPR", help="Sort, e.g. \"metrics.acc desc, start_time\".")
@click.option("-n", "--limit", type=click.IntRange(min=0), metavar="N", help="At most N runs.")
@click.option("-c", "--columns", metavar="COLS",
              help="Comma-separated columns; a trailing * selects a prefix (e.g. 'name,metrics.*').")
@FORMAT
@click.pass_context
@_one_line_errors
def runs(ctx: click.Context, experiment: tuple[str, ...], where: str | None, order_by: str | None,
         limit: int | None, columns: str | None, fmt: str) -> None:
    """List runs, newest first, with params, latest metrics and tags as columns."""
    df = search.runs(_store(ctx), list(experiment) or None, where, order_by, limit)
    if columns:
        df = df[_select_columns(df, columns)]
    elif fmt == "table":
        hidden = ["end_time", "user", "host", "parent_run_id", "notebook",
                  *(f"tags.{t}" for t in SYSTEM_TAGS)]
        df = df.drop(columns=[c for c in hidden if c in df.columns])
    if df.empty and fmt == "table":
        click.echo("No runs match." if where or experiment else
                   "No runs yet: start one with nbmlops.start_run() or %%track in a notebook.")
        return
    _emit(df, fmt)


def _select_columns(df: pd.DataFrame, spec: str) -> list[str]:
    chosen: list[str] = []
    for part in (p.strip() for p in spec.split(",") if p.strip()):
        matches = [c for c in df.columns if c.startswith(part[:-1])] if part.endswith("*") else \
            [part] if part in df.columns else []
        if not matches and part.endswith("*"):
            continue
        if not matches:
            raise click.ClickException(f"no column {part!r}; columns are: {', '.join(df.columns)}")
        chosen.extend(c for c in matches if c not in chosen)
    return chosen


@main.command()
@click.argument("run_id")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True, help="Output format.")
@click.pass_context
@_one_line_errors
def show(ctx: click.Context, run_id: str, fmt: str) -> None:
    """Show one run (RUN_ID may be a unique prefix): params, metrics, tags, artifacts, error."""
    run = search.get_run(_store(ctx), run_id)
    if fmt == "json":
        doc = {
            "run_id": run.run_id, "name": run.name, "experiment": run.experiment,
            "status": run.status.value, "start_time": run.start_time.isoformat(),
            "end_time": run.end_time.isoformat() if run.end_time else None,
            "duration": run.duration, "user": run.user, "host": run.host,
            "parent_run_id": run.parent_run_id, "notebook": run.notebook, "error": run.error,
            "params": run.params, "metrics": {k: _json_number(v) for k, v in run.metrics.items()},
            "tags": run.tags,
            "artifacts": [{"path": a.path, "sha256": a.sha256, "size": a.size} for a in run.artifacts],
        }
        click.echo(json.dumps(doc, indent=2, ensure_ascii=False))
        return
    duration = f"{run.duration:.3f} s" if run.duration is not None else "running"
    lines = [
        f"Run {run.name}  ({run.run_id})",
        f"  experiment  {run.experiment}",
        f"  status      {run.status.value}",
        f"  started     {run.start_time:%Y-%m-%d %H:%M:%S} UTC   duration {duration}",
        f"  by          {run.user or '?'} on {run.host or '?'}",
    ]
    if run.parent_run_id:
        lines.append(f"  parent      {run.parent_run_id}")
    if run.notebook:
        lines.append(f"  notebook    {run.notebook}")
    for title, items in (("Params", run.params), ("Metrics", run.metrics), ("Tags", run.tags)):
        if items:
            lines.append(f"{title}:")
            width = max(len(k) for k in items)
            lines.extend(f"  {k:<{width}}  {v!r}" if title == "Params" else f"  {k:<{width}}  {v}"
                         for k, v in items.items())
    if run.artifacts:
        lines.append("Artifacts:")
        lines.extend(f"  {a.path}  ({a.size} bytes, sha256 {a.sha256[:12]})" for a in run.artifacts)
    if run.error:
        lines.append("Error:")
        lines.extend(f"  {line}" for line in run.error.rstrip().splitlines())
    click.echo("\n".join(lines))


def _json_number(value: float) -> float | str:
    return value if math.isfinite(value) else str(value)


@main.command()
@click.pass_context
@_one_line_errors
def compact(ctx: click.Context) -> None:
    """Fold every finished journal into the catalog, delete the folded journals, checkpoint."""
    store = _store(ctx)
    if not store.root.is_dir():
        raise click.ClickException(f"no store at {store.root}: create one with `nbmlops init`")
    report, removed = store.compact()
    click.echo(f"Folded {report.events} events and {report.points} metric points from "
               f"{report.journals} journals; removed {removed} folded journals.")
    if report.killed_runs:
        click.echo(f"Marked {len(report.killed_runs)} runs of killed processes as KILLED.")


@main.command("run")
@click.argument("notebook", type=click.Path(dir_okay=False))
@click.option("-p", "--param", "params", nargs=2, multiple=True, metavar="NAME VALUE",
              help="Set a parameter (repeatable); converted to the type of its default.")
@click.option("-f", "--params-file", type=click.Path(exists=True, dir_okay=False), metavar="FILE",
              help="YAML or JSON file of parameters (-p values win).")
@click.option("-e", "--experiment", metavar="NAME", help="Experiment of the run.")
@click.option("--name", metavar="NAME", help="Run name (default: the notebook's name).")
@click.option("--timeout", type=click.FloatRange(min=0, min_open=True), metavar="SECONDS",
              help="Fail a cell that runs longer than this.")
@click.option("--kernel", metavar="NAME", help="Kernel to use (default: the notebook's).")
@click.option("--output", type=click.Path(dir_okay=False), metavar="PATH",
              help="Also write the executed notebook here.")
@click.option("--strict", is_flag=True, help="Unknown parameter names are an error, not a warning.")
@click.pass_context
@_one_line_errors
def run_command(ctx: click.Context, notebook: str, params: tuple[tuple[str, str], ...],
                params_file: str | None, experiment: str | None, name: str | None, timeout: float | None,
                kernel: str | None, output: str | None, strict: bool) -> None:
    """Execute NOTEBOOK with papermill as one tracked run (its %%track cells join it)."""
    import warnings

    from .runner import run_notebook
    from .tracking import Tracker

    values: dict[str, object] = dict(_read_params_file(params_file)) if params_file else {}
    values.update(dict(params))
    tracker = Tracker(_store(ctx))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = run_notebook(tracker, notebook, values, experiment, name, timeout=timeout,
                              kernel=kernel, output=output, strict=strict)
    for warning in caught:
        click.echo(f"warning: {warning.message}", err=True)
    where = f"; executed notebook: {result.output}" if result.output else ""
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
@_one_line_errors
def reproduce(ctx: click.Context, run_id: str, tolerance: float, timeout: float | None) -> None:
    """Re-execute RUN_ID's stored notebook with its params and compare the metrics."""
    from .lifecycle import reproduce as _reproduce
    from .tracking import Tracker

    outcome = _reproduce(Tracker(_store(ctx)), run_id, tolerance=tolerance, timeout=timeout)
    for warning in outcome.data_warnings:
        click.echo(f"warning: {warning}", err=True)
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
@click.pass_context
@_one_line_errors
def retrain(ctx: click.Context, model: str, params: tuple[tuple[str, str], ...], promote_if: str | None,
            alias: str, timeout: float | None) -> None:
    """Retrain MODEL[@ALIAS] from its notebook and params, register, and promote if the gate passes."""
    from .lifecycle import retrain as _retrain
    from .tracking import Tracker

    outcome = _retrain(Tracker(_store(ctx)), model, dict(params), promote_if=promote_if, alias=alias,
                       timeout=timeout)
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
@click.option("--experiment", default="ci", show_default=True, help="Experiment of the CI runs.")
@click.option("--timeout", type=click.FloatRange(min=0, min_open=True), metavar="SECONDS",
              help="Fail a cell that runs longer than this.")
@click.option("--store", "ci_store", metavar="PATH", help="Store for this check (e.g. a fresh one in CI).")
@click.pass_context
@_one_line_errors
def ci_command(ctx: click.Context, notebooks: tuple[str, ...], params: tuple[tuple[str, str], ...],
               gates: tuple[str, ...], compare_to: str | None, report: str | None, junit: str | None,
               experiment: str, timeout: float | None, ci_store: str | None) -> None:
    """Run NOTEBOOKS headless, check the gates, write reports; exit 1 if anything failed."""
    from . import ci
    from .tracking import Tracker

    store = Store(Path(ci_store)) if ci_store else _store(ctx)
    outcome = ci.check(Tracker(store), list(notebooks), list(gates), parameters=dict(params),
                       compare_to=compare_to, experiment=experiment, timeout=timeout)
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
              help="Distribution of a parameter for --random: uniform(a,b), loguniform(a,b), "
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
@click.option("-e", "--experiment", metavar="NAME", help="Experiment of the runs.")
@click.option("--timeout", type=click.FloatRange(min=0, min_open=True), metavar="SECONDS",
              help="Fail a cell that runs longer than this.")
@click.option("--name", metavar="NAME", help="Name of the parent run (default: sweep-<notebook name>).")
@click.option("-p", "--param", "params", nargs=2, multiple=True, metavar="NAME VALUE",
              help="Set a parameter for every run (repeatable); converted to the type of its default.")
@click.pass_context
@_one_line_errors
def sweep_command(ctx: click.Context, notebook: str, grid: tuple[str, ...], samples: int | None,
                  dist: tuple[str, ...], seed: int, workers: int, executor: str | None, scheduler: str | None,
                  metric: str | None, maximize: bool, resume: bool, experiment: str | None,
                  timeout: float | None, name: str | None, params: tuple[tuple[str, str], ...]) -> None:
    """Execute NOTEBOOK once per parameter combination, in parallel, as child runs of one parent
    run; print each run as it ends, then the runs ranked by --metric (best marked *)."""
    from .sweeps import ChildResult, sweep

    def report(child: ChildResult) -> None:
        value = f"  {metric}={child.metric:.6g}" if metric and child.metric is not None else ""
        took = f"  {child.duration:.1f} s" if child.duration is not None else ""
        what = "already FINISHED (resumed)" if child.reused else child.status.value
        first = f"  {child.error.splitlines()[0]}" if child.error and not child.reused else ""
        click.echo(f"#{child.index} {what}  {child.describe()}{value}{took}{first}")

    result = sweep(_store(ctx), notebook, grid=list(grid) or None, random=samples, dists=list(dist) or None,
                   workers=workers, executor=executor or ("dask" if scheduler else "local"), scheduler=scheduler,
                   metric=metric, maximize=maximize, resume=resume, experiment=experiment, timeout=timeout,
                   name=name, fixed=dict(params) or None, seed=seed, on_child=report)
    table = result.table.copy()
    table.insert(0, "best", ["*" if result.best and r == result.best.run_id else "" for r in table["run_id"]])
    table["error"] = [str(e)[:60] if isinstance(e, str) else "" for e in table["error"]]
    click.echo("")
    _emit(table, "table")
    best = (f"; best {metric}={result.best.metric:.6g} (run {result.best.run_id})"
            if result.best and result.best.metric is not None else "")
    retries = (f"; kernel start failures retried: {result.infrastructure_retries}"
               if result.infrastructure_retries else "")
    done = len(result.children) - len(result.failed)
    click.echo(f"sweep {result.name} ({result.parent_run_id}): {done} of {len(result.children)} FINISHED"
               f"{best}{retries}")
    if result.failed:
        raise click.ClickException(f"{len(result.failed)} of {len(result.children)} runs failed "
                                   f"({', '.join('#' + str(c.index) for c in result.failed)}); parent run "
                                   f"{result.parent_run_id} is FAILED")


@main.command("models")
@FORMAT
@click.pass_context
@_one_line_errors
def models_command(ctx: click.Context, fmt: str) -> None:
    """List registered models with their latest version and aliases."""
    _emit(registry.models(_store(ctx)), fmt,
          empty="No registered models yet: nbmlops.log_model(model, \"name\") or %%track --model VAR:NAME.")


@main.command("model")
@click.argument("name")
@FORMAT
@click.pass_context
@_one_line_errors
def model_command(ctx: click.Context, name: str, fmt: str) -> None:
    """Show the versions of model NAME with their runs, aliases and metrics."""
    _emit(registry.model_versions(_store(ctx), name), fmt)


@main.command()
@click.argument("name")
@click.argument("version", type=click.IntRange(min=1))
@click.argument("alias")
@click.option("--gate", metavar="EXPR",
              help="Condition to pass first, e.g. \"metrics.acc >= champion.metrics.acc + 0.01\".")
@click.option("--reason", metavar="TEXT", help="Why, for the audit log.")
@click.pass_context
@_one_line_errors
def promote(ctx: click.Context, name: str, version: int, alias: str, gate: str | None,
            reason: str | None) -> None:
    """Point ALIAS of model NAME at VERSION (checked against GATE; recorded in the audit log)."""
    result = registry.promote(_store(ctx), name, version, alias, gate=gate, reason=reason)
    click.echo(f"{name}@{alias} -> version {version}" + (f" (gate passed: {result.explanation})" if result else ""))


@main.command()
@click.argument("name")
@click.argument("alias")
@click.option("--reason", metavar="TEXT", help="Why, for the audit log.")
@click.pass_context
@_one_line_errors
def unalias(ctx: click.Context, name: str, alias: str, reason: str | None) -> None:
    """Remove ALIAS from model NAME (recorded in the audit log)."""
    registry.unalias(_store(ctx), name, alias, reason=reason)
    click.echo(f"{name}@{alias} removed")


@main.command()
@click.argument("name")
@FORMAT
@click.pass_context
@_one_line_errors
def history(ctx: click.Context, name: str, fmt: str) -> None:
    """Show the audit log of model NAME's aliases: when, who, from, to, why, gate."""
    _emit(registry.history(_store(ctx), name), fmt, empty=f"No alias changes for {name!r} yet.")


@main.command("export-model")
@click.argument("uri", metavar="NAME@ALIAS|NAME/VERSION|NAME")
@click.argument("directory", metavar="DIR", type=click.Path(file_okay=False))
@click.pass_context
@_one_line_errors
def export_model(ctx: click.Context, uri: str, directory: str) -> None:
    """Write a model to DIR (new or empty) with its signature, pinned requirements and a README
    on loading it without nbmlops."""
    click.echo(str(export.export_model(_store(ctx), uri, directory)))


@main.command()
@click.argument("uri", metavar="NAME@ALIAS")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Interface to listen on; anything but localhost exposes the model without authentication.")
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True,
              help="Port to listen on; 0 picks a free one.")
@click.option("--trusted", is_flag=True,
              help="Also load pickles and skops types outside scikit-learn/NumPy/SciPy: only for models you trust.")
@click.pass_context
@_one_line_errors
def serve(ctx: click.Context, uri: str, host: str, port: int, trusted: bool) -> None:
    """Serve a model over local HTTP: GET /health, GET /signature, POST /predict, POST /reload.

    Inputs are checked against the model's signature. POST /reload or SIGHUP re-resolves the
    alias, so a promotion takes effect without a restart; Ctrl-C stops the server.
    """
    serving.serve(_store(ctx), uri, host, port, trusted=trusted, echo=click.echo)


@main.command("export")
@click.argument("output", type=click.Path(dir_okay=False))
@click.option("-e", "--experiment", multiple=True, metavar="NAME",
              help="Only runs of this experiment (repeatable).")
@click.option("-w", "--where", metavar="EXPR",
              help="Only runs matching this filter, e.g. \"metrics.acc > 0.9 and params.C < 1\".")
@click.option("-r", "--run", "run_ids", multiple=True, metavar="RUN_ID",
              help="Only this run (repeatable; a unique prefix of its id works).")
@click.option("--no-models", is_flag=True,
              help="Leave out registered model versions, their aliases and audit log (run artifacts stay).")
@click.pass_context
@_one_line_errors
def export_command(ctx: click.Context, output: str, experiment: tuple[str, ...], where: str | None,
                   run_ids: tuple[str, ...], no_models: bool) -> None:
    """Write runs (default: all) with their params, metrics, tags, artifacts, datasets and model
    versions to the bundle file OUTPUT (.tar.gz), which `nbmlops import` merges into another store."""
    path = bundle.export_bundle(_store(ctx), output, run_ids=list(run_ids) or None,
                                experiment=list(experiment) or None, where=where,
                                include_models=not no_models)
    assert isinstance(path, Path)
    manifest = bundle.read_manifest(path)
    counts = manifest["counts"]
    click.echo(f"Wrote {path}: {counts['runs']} runs, {counts['metrics']} metric points, "
               f"{len(manifest['artifacts'])} artifact files, {counts.get('model_versions', 0)} model versions, "
               f"{_size(path.stat().st_size)}")


@main.command("import")
@click.argument("bundle_path", metavar="BUNDLE", type=click.Path(dir_okay=False))
@click.pass_context
@_one_line_errors
def import_command(ctx: click.Context, bundle_path: str) -> None:
    """Merge the runs, artifacts and model versions of BUNDLE (from `nbmlops export`) into this
    store without duplicates: importing it again changes nothing, and aliases here never move."""
    store = _store(ctx)
    report = bundle.import_bundle(store, bundle_path)
    click.echo(f"Imported {bundle_path} into {store.root}: {report.summary()}")


def _size(n: int) -> str:
    if n < 1024:
        return f"{n} bytes"
    value, units = n / 1024, ["KB", "MB", "GB"]
    while value >= 1024 and len(units) > 1:
        value, units = value / 1024, units[1:]
    return f"{value:.1f} {units[0]}"

def _emit(df: pd.DataFrame, fmt: str, empty: str | None = None) -> None:
    if df.empty and fmt == "table" and empty:
        click.echo(empty)
        return
    if fmt == "csv":
        click.echo(df.to_csv(index=False), nl=False)
    elif fmt == "json":
        click.echo(df.to_json(orient="records", date_format="iso", force_ascii=False))
    else:
        with pd.option_context("display.max_columns", None, "display.width", 200,
                               "display.max_colwidth", 40):
            click.echo(df.to_string(index=False))


if __name__ == "__main__":
    sys.exit(main())
