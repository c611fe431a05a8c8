"""Commands for data versioning and disk space: data ls/show/diff, lineage, du, gc, pin, unpin, config."""

from __future__ import annotations

import json

import click
import pandas as pd

from nbmlops.cli import FORMAT, context_store, echo_frame, main, one_line_errors
from nbmlops.data import datasets as data
from nbmlops.data import diff as datadiff
from nbmlops.data import snapshots
from nbmlops.data.lineage import lineage as lineage_of
from nbmlops.store import disk as space
from nbmlops.store import settings
from nbmlops.store.folder import Store
from nbmlops.units import format_bytes


@main.group("data")
def data_group() -> None:
    """Dataset versions: list them, show one, compare two (schema, statistics, changed rows)."""


def _with_snapshots(store: Store, table: pd.DataFrame) -> pd.DataFrame:
    """The datasets table with a `snapshot` column (bytes of data stored, or empty)."""
    sizes = snapshots.sizes(store, table["fingerprint"])
    table = table.copy()
    table["snapshot"] = [format_bytes(sizes[f]) if f in sizes else "" for f in table["fingerprint"]]
    return table


@data_group.command("ls")
@click.argument("name", required=False)
@FORMAT
@click.pass_context
@one_line_errors
def data_ls(ctx: click.Context, name: str | None, fmt: str) -> None:
    """List dataset versions (of NAME, or all) with shape, roles, runs and snapshot size."""
    store = context_store(ctx)
    table = _with_snapshots(store, data.datasets(store, name))
    if fmt == "table":
        table = table.assign(fingerprint=table["fingerprint"].str[:12]).drop(columns=["run_ids", "source"])
    echo_frame(table, fmt, empty="No datasets yet: nbmlops.log_dataset(df, name=..., snapshot=True) in a run.")


def _split(ref: str) -> tuple[str, int | str | None]:
    name, at, version = ref.rpartition("@")
    return (name, data.parse_version(version)) if at and version else (ref, None)


@data_group.command("show")
@click.argument("ref", metavar="NAME[@VERSION]")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="Output format.")
@click.pass_context
@one_line_errors
def data_show(ctx: click.Context, ref: str, fmt: str) -> None:
    """Show one dataset version (default the latest): shape, source, runs, snapshot, schema and profile."""
    store = context_store(ctx)
    name, version = _split(ref)
    row = _with_snapshots(store, data.datasets(store, name))
    profile = data.dataset_profile(store, name, version)
    row = row[row["version"] == profile["version"]].iloc[0]
    if fmt == "json":
        click.echo(json.dumps({**{k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in row.items()
                                  if k not in ("roles", "run_ids")},
                               "roles": list(row["roles"] or []), "run_ids": list(row["run_ids"] or []),
                               "schema": profile["schema"], "profile": profile["profile"]}, default=str))
        return
    for key in ("name", "version", "fingerprint", "kind", "rows", "columns", "files", "size_bytes", "source",
                "created_at", "snapshot"):
        value = row[key]
        if not (value is None or value is pd.NA or (not isinstance(value, str) and pd.isna(value)) or value == ""):
            click.echo(f"{key + ':':<13}{value}")
    click.echo(f"{'roles:':<13}{', '.join(row['roles'] or [])}")
    click.echo(f"{'runs:':<13}{', '.join(r[:12] for r in (row['run_ids'] or []))}")
    if not row["snapshot"]:
        click.echo("snapshot:    none (only the fingerprint and profile were kept)")
    columns = []
    for column, dtype in profile["schema"].items():
        stats = profile["profile"].get(column, {})
        columns.append({"column": column, "dtype": dtype, **{s: stats.get(s) for s in datadiff.STATISTICS
                                                               if s in stats}})
    if columns:
        click.echo("")
        echo_frame(pd.DataFrame(columns), "table")


@data_group.command("diff")
@click.argument("name")
@click.argument("old", metavar="V1")
@click.argument("new", metavar="V2")
@click.option("-k", "--key", "keys", multiple=True, metavar="COL",
              help="Key column identifying rows (repeatable); without it whole rows are compared.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="Output format.")
@click.pass_context
@one_line_errors
def data_diff(ctx: click.Context, name: str, old: str, new: str, keys: tuple[str, ...], fmt: str) -> None:
    """Compare versions V1 and V2 of dataset NAME: schema, rows, statistics, added/removed/changed rows."""
    result = datadiff.diff(context_store(ctx), name, data.parse_version(old), data.parse_version(new), list(keys))
    if fmt == "json":
        click.echo(json.dumps({"name": result.name, "versions": result.versions,
                               "fingerprints": result.fingerprints, "rows": result.rows,
                               "schema": result.schema.to_dict("records"), "stats": result.stats.to_dict("records"),
                               "added": result.added, "removed": result.removed, "changed": result.changed,
                               "keys": result.keys, "notes": result.notes}, default=str))
        return
    click.echo(result.summary())
    stats = result.stats
    if not stats.empty:
        changed = ["*" if str(a) != str(b) else "" for a, b in zip(stats["old"], stats["new"], strict=True)]
        shown = stats.assign(changed=changed)
        click.echo("")
        echo_frame(shown.rename(columns={"old": f"v{result.versions[0]}", "new": f"v{result.versions[1]}"}), "table")


@main.command("lineage")
@click.argument("ref", metavar="NAME@ALIAS|NAME/VERSION|RUN_ID|dataset:NAME@VERSION")
@FORMAT
@click.pass_context
@one_line_errors
def lineage_command(ctx: click.Context, ref: str, fmt: str) -> None:
    """List the lineage edges of a model, run or dataset version: data -> runs -> models -> aliases."""
    edges = lineage_of(context_store(ctx), ref)
    if fmt == "table":
        edges = edges[["source_label", "kind", "target_label", "detail"]]
    echo_frame(pd.DataFrame(edges), fmt, empty=f"No lineage recorded for {ref} yet.")


@main.command()
@FORMAT
@click.pass_context
@one_line_errors
def du(ctx: click.Context, fmt: str) -> None:
    """Show what takes room in the store: snapshots, models, notebooks, other artifacts, journals, catalog."""
    echo_frame(space.du(context_store(ctx)), fmt)


@main.command()
@click.option("--yes", is_flag=True, help="Really remove the files (without it: only report them).")
@click.pass_context
@one_line_errors
def gc(ctx: click.Context, yes: bool) -> None:
    """Remove snapshots and artifacts that no registered model version, alias or pinned run needs.

    Runs that are RUNNING, and anything written in the last 15 minutes, are always kept.
    """
    click.echo(space.gc(context_store(ctx), dry_run=not yes).summary())


@main.command()
@click.argument("run_id")
@click.option("--reason", metavar="TEXT", help="Why it is kept (the tag's value).")
@click.pass_context
@one_line_errors
def pin(ctx: click.Context, run_id: str, reason: str | None) -> None:
    """Keep RUN_ID's artifacts and dataset snapshots through `nbmlops gc`."""
    click.echo(f"pinned {space.pin(context_store(ctx), run_id, reason)}")


@main.command()
@click.argument("run_id")
@click.pass_context
@one_line_errors
def unpin(ctx: click.Context, run_id: str) -> None:
    """Let `nbmlops gc` collect RUN_ID's files again (unless a model version needs them)."""
    click.echo(f"unpinned {space.unpin(context_store(ctx), run_id)}")


@main.command()
@click.argument("name", required=False)
@click.argument("value", required=False, metavar="on|off")
@click.pass_context
@one_line_errors
def config(ctx: click.Context, name: str | None, value: str | None) -> None:
    """Show the store's settings, or one, or change one (e.g. `snapshot-train on`)."""
    store = context_store(ctx)
    if name is None:
        for key, current in settings.fresh(store).items():
            click.echo(f"{key} = {'on' if current else 'off'}    # {settings.SETTINGS[key].help}")
        return
    if value is not None:
        current = settings.set_setting(store, name, value)
    else:
        settings.fresh(store)  # a team store's: this machine's copy brought up to date first
        current = settings.setting(store, name)
    click.echo(f"{name} = {'on' if current else 'off'}")
