"""Commands for the store and its runs: init, experiments, runs, show, diff, compact, export, import."""

from __future__ import annotations

import difflib
import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

import click
import pandas as pd

from nbmlops.cli import FORMAT, context_store, echo_frame, echo_warning, main, one_line_errors, terminal
from nbmlops.data import rundiff
from nbmlops.render import rundiff as render_diff
from nbmlops.store import bundles as bundle
from nbmlops.store import runs as search
from nbmlops.store.folder import Store, nearest_store_folder, open_store
from nbmlops.store.journal import list_journals
from nbmlops.store.team import TeamStore
from nbmlops.units import counted, format_bytes


@main.command()
@click.argument("path", required=False, type=click.Path(file_okay=False))
@click.option("--store", "url", metavar="URL", help="A team store to create: postgresql://USER@HOST:PORT/DB "
              "(default: $NBMLOPS_STORE when it is one).")
@click.option("--data", metavar="LOCATION", envvar="NBMLOPS_DATA",
              help="Where a new team store keeps its files: s3://BUCKET/PREFIX or a shared folder "
                   "(default: $NBMLOPS_DATA).")
@click.pass_context
@one_line_errors
def init(ctx: click.Context, path: str | None, url: str | None, data: str | None) -> None:
    """Create a store in PATH/.nbmlops (default: the current folder), or a team store's tables."""
    url = url or (ctx.obj.get("store") if ctx.obj and not path else None)
    if url and "://" in url:
        team = open_store(url)
        if not isinstance(team, TeamStore):
            raise click.ClickException(f"{url} is not a team store URL: postgresql://USER@HOST:PORT/DB")
        done = team.init(data)
        click.echo(f"Team store {team.location}: {done}; files at {team.blobs().location}; "
                   f"this machine's spool at {team.root}")
        return
    if data:
        raise click.ClickException("--data is for a team store (--store postgresql://...): a store folder "
                                   "keeps its own files")
    target = Path(path or url or Path.cwd())
    root = target if target.name == ".nbmlops" else target / ".nbmlops"
    store = Store(root)
    existed = store.catalog_path.exists()
    store.init()
    click.echo(f"{'Store already exists' if existed else 'Created store'} at {store.root}")


@main.command()
@click.pass_context
@one_line_errors
def sync(ctx: click.Context) -> None:
    """Ship what this machine's processes left unshipped into the team store (after an outage, or
    a process killed before it shipped)."""
    store = context_store(ctx)
    if not isinstance(store, TeamStore):
        raise click.ClickException(f"{store.location} is a store folder: its journals are folded when read; "
                                   "sync is for a team store (--store postgresql://...)")
    report = store.ship()
    left = len(list(list_journals(store.journal_dir)))
    click.echo(f"Synced {report.journals} journals ({report.events} events, {report.points} points) into "
               f"{store.location}; {left} still written to by running processes" if left else
               f"Synced {report.journals} journals ({report.events} events, {report.points} points) into "
               f"{store.location}")


@main.command()
@FORMAT
@click.pass_context
@one_line_errors
def experiments(ctx: click.Context, fmt: str) -> None:
    """List experiments with run counts and last activity."""
    echo_frame(search.experiments(context_store(ctx)), fmt,
          empty="No experiments yet: start a run with nbmlops.start_run() or %%track.")


@main.command()
@click.option("-e", "--experiment", multiple=True, metavar="NAME", help="Only this experiment (repeatable).")
@click.option("-w", "--where", metavar="EXPR", help="Filter, e.g. \"metrics.acc > 0.9 and params.C < 1\".")
@click.option("-o", "--order-by", metavar="EXPR", help="Sort, e.g. \"metrics.acc desc, start_time\".")
@click.option("-n", "--limit", type=click.IntRange(min=0), metavar="N", help="At most N runs.")
@click.option("-c", "--columns", metavar="COLS",
              help="Comma-separated columns (e.g. 'name,params.lr,metrics.*': a trailing * selects a prefix), "
                   "or 'all'. The table shows by default name, status, start, duration, the metrics and the "
                   "params that differ between the listed runs, fitted to the terminal ($COLUMNS).")
@click.option("--as-of", "as_of", metavar="TIME",
              help="The runs as a team store stood at TIME (ISO 8601, e.g. '2026-12-01 09:30'; UTC unless an "
                   "offset is given), to reproduce an earlier leaderboard.")
@FORMAT
@click.pass_context
@one_line_errors
def runs(ctx: click.Context, experiment: tuple[str, ...], where: str | None, order_by: str | None,
         limit: int | None, columns: str | None, as_of: str | None, fmt: str) -> None:
    """List runs, newest first, with params, latest metrics and tags as columns."""
    store = context_store(ctx)
    if as_of is not None:
        store = store.at(search.point_in_time(as_of))
    df = search.runs(store, list(experiment) or None, where, order_by, limit, warn_unknown=True)
    if columns and columns.strip().lower() != "all":
        df = df[_select_columns(df, columns)]
    if fmt != "table":
        echo_frame(df, fmt)
        return
    if df.empty:
        click.echo("No runs match." if where or experiment else
                   "No runs yet: start one with nbmlops.start_run() or %%track in a notebook.")
        return
    if columns:
        chosen = list(df.columns)
    else:
        short = search.short_ids(store, list(df["run_id"]))
        df = df.assign(id=[short[rid] for rid in df["run_id"]])
        chosen = _default_columns(df)
    limit_width = terminal.width()
    lines, hidden = terminal.table([_HEADERS.get(c, c) for c in chosen], lambda i: _shown(df, chosen[i]),
                                   [c in ("duration", "start_time", "end_time") or c.startswith("metrics.")
                                    or pd.api.types.is_numeric_dtype(df[c].dtype) for c in chosen], limit_width)
    click.echo("\n".join(lines))
    if hidden:
        first = chosen[len(chosen) - hidden]
        note = f"{hidden} more column{'s' if hidden > 1 else ''} hidden: show with --columns name,{first},..."
        click.echo(terminal.ellipsis(terminal.printable(note, keep_newlines=False), limit_width))


_HEADERS = {"start_time": "start", "end_time": "end"}


def _default_columns(df: pd.DataFrame) -> list[str]:
    """A short id (enough for `nbmlops show`), name, status, start, duration, every metric, and the params
    whose values differ between runs."""
    params = [c for c in df.columns if c.startswith("params.")
              and len({terminal.cell(v) for v in df[c].tolist()}) > 1]
    return ["id", "name", "status", "start_time", "duration", *(c for c in df.columns if c.startswith("metrics.")),
            *params]


def _shown(df: pd.DataFrame, column: str) -> list[object]:
    """A column's values as the table shows them: times to the minute, durations readable."""
    values = df[column].tolist()
    if column in ("start_time", "end_time"):
        return ["" if pd.isna(v) else f"{v:%Y-%m-%d %H:%M}" for v in values]
    if column == "duration":
        return [_duration(v) for v in values]
    return values


def _duration(seconds: float | None) -> str:
    if seconds is None or not math.isfinite(seconds):
        return ""
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


def _select_columns(df: pd.DataFrame, spec: str) -> list[str]:
    chosen: list[str] = []
    for part in (p.strip() for p in spec.split(",") if p.strip()):
        matches = [c for c in df.columns if c.startswith(part[:-1])] if part.endswith("*") else \
            [part] if part in df.columns else []
        if not matches and part.endswith("*"):
            continue
        if not matches:
            close = difflib.get_close_matches(part, list(df.columns), n=3)
            hint = f"did you mean {', '.join(close)}?" if close else "use --columns all to see every column"
            raise click.ClickException(f"no column {part!r}; {hint}")
        chosen.extend(c for c in matches if c not in chosen)
    return chosen


@main.command()
@click.argument("run_id", metavar="RUN")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True, help="Output format.")
@click.pass_context
@one_line_errors
def show(ctx: click.Context, run_id: str, fmt: str) -> None:
    """Show one run (RUN: its id, a unique id prefix, or a unique name): params, metrics, tags, artifacts, error."""
    run = search.get_run(context_store(ctx), run_id)
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
    clean = terminal.printable
    lines = [
        f"Run {clean(run.name)}  ({run.run_id})",
        f"  experiment  {clean(run.experiment)}",
        f"  status      {run.status.value}",
        f"  started     {run.start_time:%Y-%m-%d %H:%M:%S} UTC   duration {duration}",
        f"  by          {clean(run.user or '?')} on {clean(run.host or '?')}",
    ]
    if run.parent_run_id:
        lines.append(f"  parent      {clean(run.parent_run_id)}")
    if run.notebook:
        lines.append(f"  notebook    {clean(run.notebook)}")
    for title, items in (("Params", run.params), ("Metrics", run.metrics), ("Tags", run.tags)):
        if items:
            lines.append(f"{title}:")
            width = max(len(k) for k in items)
            # One line per value: a newline in a tag must not make up a line of its own.
            lines.extend(f"  {clean(k, keep_newlines=False):<{width}}  "
                         f"{clean(repr(v) if title == 'Params' else v, keep_newlines=False)}"
                         for k, v in items.items())
    if run.artifacts:
        lines.append("Artifacts:")
        lines.extend(f"  {clean(a.path)}  ({a.size} bytes, sha256 {a.sha256[:12]})" for a in run.artifacts)
    if run.error:
        lines.append("Error:")
        lines.extend(f"  {line}" for line in clean(run.error).rstrip().splitlines())
    click.echo("\n".join(lines))


@main.command("diff")
@click.argument("run_a", metavar="RUN_A")
@click.argument("run_b", metavar="RUN_B")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "html"]), default="text",
              show_default=True, help="Output format (text is coloured on a terminal).")
@click.option("--no-rows", is_flag=True,
              help="Skip the row-level comparison of dataset snapshots (schema, row counts and statistics stay).")
@click.pass_context
@one_line_errors
def diff_command(ctx: click.Context, run_a: str, run_b: str, fmt: str, no_rows: bool) -> None:
    """Why did RUN_B differ from RUN_A? (each an id, a unique id prefix, or a unique name): params, metrics
    (better or worse), code, data, environment, git and models. Exits 0 whatever the differences."""
    found = rundiff.diff(context_store(ctx), run_a, run_b, rows=not no_rows)
    if fmt == "json":
        click.echo(json.dumps(found.to_dict(), indent=2, ensure_ascii=False))
    elif fmt == "html":
        click.echo(found._repr_html_())
    else:  # colours only reach a terminal: click.echo drops them in a pipe or a file
        click.echo(render_diff.text(_printable(found.to_dict()), color=True))


def _printable(value: object) -> Any:
    """Every text in a run diff's JSON form without terminal control sequences."""
    if isinstance(value, str):
        return terminal.printable(value)
    if isinstance(value, dict):
        return {k: _printable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_printable(v) for v in value]
    return value


def _json_number(value: float) -> float | str:
    return value if math.isfinite(value) else str(value)


@main.command()
@click.pass_context
@one_line_errors
def compact(ctx: click.Context) -> None:
    """Fold every finished journal into the catalog, delete the folded journals, checkpoint."""
    store = context_store(ctx)
    if not store.shared and not store.root.is_dir():
        raise click.ClickException(f"no store at {store.root}: create one with `nbmlops init`")
    report, removed = store.compact()
    click.echo(f"Folded {report.events} events and {report.points} metric points from "
               f"{report.journals} journals; removed {removed} folded journals.")
    if report.killed_runs:
        click.echo(f"Marked {counted(len(report.killed_runs), 'run')} of killed processes as KILLED.")


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
@one_line_errors
def export_command(ctx: click.Context, output: str, experiment: tuple[str, ...], where: str | None,
                   run_ids: tuple[str, ...], no_models: bool) -> None:
    """Write runs (default: all) with their params, metrics, tags, artifacts, datasets and model
    versions to the bundle file OUTPUT (.tar.gz), which `nbmlops import` merges into another store."""
    # Given a destination, export_bundle returns the Path it wrote (bytes only without one).
    path = cast(Path, bundle.export_bundle(context_store(ctx), output, run_ids=list(run_ids) or None,
                                           experiment=list(experiment) or None, where=where,
                                           include_models=not no_models))
    manifest = bundle.read_manifest(path)
    counts = manifest["counts"]
    click.echo(f"Wrote {path}: {counted(counts['runs'], 'run')}, {counted(counts['metrics'], 'metric point')}, "
               f"{counted(len(manifest['artifacts']), 'artifact file')}, "
               f"{counted(counts.get('model_versions', 0), 'model version')}, {format_bytes(path.stat().st_size)}")


def _byte_count(ctx: click.Context, param: click.Parameter, value: str | None) -> int | None:
    """`--max-size` as bytes: a number with an optional K, M, G or T suffix (powers of 1024), or 'none'."""
    if value is None or value.strip().lower() == "none":
        return None
    text = value.strip().upper().removesuffix("IB").removesuffix("B")
    scale = 1 << (10 * ("KMGT".index(text[-1]) + 1)) if text and text[-1] in "KMGT" else 1
    try:
        number = float(text[:-1] if scale > 1 else text)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a size: give bytes, or e.g. 500M, 20G, none") from None
    if number < 0:
        raise click.BadParameter("a size cannot be negative")
    return int(number * scale)


@main.command("import")
@click.argument("bundle_path", metavar="BUNDLE | mlflow URI", type=click.Path(dir_okay=False))
@click.argument("uri", required=False, metavar="")
@click.option("--max-size", "max_size", default="20G", show_default=True, callback=_byte_count, metavar="SIZE",
              help="Refuse a bundle that would write more than SIZE bytes (K, M, G, T suffixes: powers of "
                   "1024; 'none': only the free disk space limits it). Checked before anything is written.")
@click.option("-e", "--experiment", "experiments", multiple=True, metavar="NAME",
              help="With `mlflow URI`: only this MLflow experiment (repeatable; default: every one).")
@click.option("--no-unpickle", "no_unpickle", is_flag=True,
              help="With `mlflow URI` from a source not trusted to run code here: pickled models are not opened "
                   "(kept as files, not registered).")
@click.pass_context
@one_line_errors
def import_command(ctx: click.Context, bundle_path: str, uri: str | None, max_size: int | None,
                   experiments: tuple[str, ...], no_unpickle: bool) -> None:
    """Merge the runs, artifacts and model versions of BUNDLE (from `nbmlops export`) into this
    store without duplicates: importing it again changes nothing, and aliases here never move.

    Every member is checked (name, size, sha256) in a staging folder inside the store before
    anything lands in it; a bundle over --max-size or the free disk space is refused whole.

    `nbmlops import mlflow URI [-e NAME]...` brings an MLflow store's history over instead (URI:
    sqlite:///PATH, a file store folder, http://HOST:PORT; needs `pip install 'nbmlops[mlflow]'`):
    runs, params, every metric point, tags, artifacts, datasets, and registered scikit-learn models
    stored with skops (a pickled one is unpickled once to convert it, unless --no-unpickle).
    Importing again adds nothing and updates the runs that went on in MLflow."""
    store = context_store(ctx)
    if bundle_path == "mlflow" and (uri is not None or not Path(bundle_path).is_file()):
        if uri is None:
            raise click.UsageError("give the MLflow tracking URI: nbmlops import mlflow sqlite:///mlflow.db")
        _import_mlflow(store, uri, list(experiments), not no_unpickle)
        return
    if uri is not None or experiments or no_unpickle:
        raise click.UsageError("a bundle import takes one BUNDLE file; for MLflow: nbmlops import mlflow URI")
    report = bundle.import_bundle(store, bundle_path, max_size=max_size)
    click.echo(f"Imported {bundle_path} into {store.location}: {report.summary()}")


def _import_mlflow(store: Store, uri: str, experiments: list[str], unpickle: bool) -> None:
    from nbmlops.importers.mlflow import import_mlflow

    report = import_mlflow(store, uri, experiments or None, progress=True, unpickle=unpickle)
    for line in report.skipped:
        echo_warning(f"skipped {line}")
    click.echo(f"{report.summary()[0].upper()}{report.summary()[1:]} into {store.location}")


def _move(source: Store, target: Store, experiment: tuple[str, ...], where: str | None) -> str:
    """Copy the selected runs (with their files, datasets and model versions) from one store to another,
    as a bundle: idempotent, so moving the same runs again adds nothing."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="nbmlops-move-") as folder:
        path = Path(folder) / "move.tar.gz"
        bundle.export_bundle(source, path, experiment=list(experiment) or None, where=where)
        report = bundle.import_bundle(target, path, max_size=None)
    return report.summary()


def _local_and_team(ctx: click.Context, team_url: str, local: str | None) -> tuple[Store, TeamStore]:
    team = open_store(team_url)
    if not isinstance(team, TeamStore):
        raise click.ClickException(f"{team_url} is not a team store: give postgresql://USER@HOST:PORT/DB")
    if local:
        found = open_store(local)
    else:
        given = ctx.obj.get("store") if ctx.obj else None
        found = open_store(given) if given and "://" not in given else Store(nearest_store_folder())
    if found.shared:
        raise click.ClickException(f"{found.location} is a team store: give the local store with --local PATH")
    return found, team


def _moving(command: Callable[..., None]) -> Callable[..., None]:
    """The arguments push and pull share."""
    for option in reversed((
            click.argument("team_url", metavar="TEAM_URL"),
            click.option("--local", metavar="PATH",
                         help="The local store (default: --store, else the nearest .nbmlops/)."),
            click.option("-e", "--experiment", multiple=True, metavar="NAME",
                         help="Only this experiment (repeatable)."),
            click.option("-w", "--where", metavar="EXPR", help="Only the runs this filter selects."),
            click.pass_context, one_line_errors)):
        command = option(command)
    return command


@main.command()
@_moving
def push(ctx: click.Context, team_url: str, local: str | None, experiment: tuple[str, ...],
         where: str | None) -> None:
    """Copy a local store's runs, files, datasets and model versions into the team store at TEAM_URL.
    Pushing again adds nothing; aliases in the team store never move."""
    source, team = _local_and_team(ctx, team_url, local)
    click.echo(f"Pushed {source.root} into {team.location}: {_move(source, team, experiment, where)}")


@main.command()
@_moving
def pull(ctx: click.Context, team_url: str, local: str | None, experiment: tuple[str, ...],
         where: str | None) -> None:
    """Copy the team store's runs, files, datasets and model versions into a local store (to work
    offline, or to keep a copy). Pulling again adds nothing; local aliases never move."""
    target, team = _local_and_team(ctx, team_url, local)
    target.init()
    click.echo(f"Pulled {team.location} into {target.root}: {_move(team, target, experiment, where)}")
