"""The monitor command: compare a production batch with a model's training data, for schedulers and CI."""

from __future__ import annotations

import json
from pathlib import Path

import click

from nbmlops.cli import FORMAT, context_store, echo_frame, main, one_line_errors


@main.command("monitor")
@click.argument("model")
@click.argument("data")
@click.option("--labels", metavar="COL", help="Column of DATA with the true labels: adds performance metrics.")
@click.option("--fail-on-drift", is_flag=True,
              help="Exit with status 1 when dataset drift is found (for schedulers and CI).")
@click.option("--timestamp", metavar="TIME",
              help="Time of the batch, ISO 8601 (UTC unless it names a zone); default: now.")
@click.option("--trusted", is_flag=True, help="Allow loading a pickled model to compare its predictions.")
@FORMAT
@click.pass_context
@one_line_errors
def monitor_command(ctx: click.Context, model: str, data: str, labels: str | None, fail_on_drift: bool,
                    timestamp: str | None, trusted: bool, fmt: str) -> None:
    """Compare DATA (.csv or .parquet) with the training data of MODEL (NAME@ALIAS or NAME/VERSION):
    drift per column, prediction drift, data quality, performance; the report is stored."""
    from nbmlops.drift.service import monitor, read_batch

    report = monitor(context_store(ctx), model, read_batch(data), labels, timestamp, trusted=trusted,
                     source=str(Path(data).resolve()))
    if fmt == "json":
        click.echo(json.dumps(report.to_json()))
    elif fmt == "csv":
        echo_frame(report.to_frame(), "csv")
    else:
        click.echo(report.summary())
        echo_frame(report.to_frame().round(4), "table")
        for issue in report.quality.issues():
            click.echo(f"quality: {issue}")
        for note in report.notes:
            click.echo(f"note: {note}")
    if fail_on_drift and report.dataset_drift:
        raise click.ClickException(
            f"dataset drift: {len(report.drifted_columns)} of {len(report.features)} columns drifted "
            f"({', '.join(report.drifted_columns[:10])})")
