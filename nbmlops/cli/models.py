"""Commands for the model registry and delivering models: models, model, promote, unalias,
history, export-model, serve."""

from __future__ import annotations

import click

from nbmlops.cli import FORMAT, context_store, echo_frame, main, one_line_errors
from nbmlops.registry import export
from nbmlops.registry import models as registry


@main.command("models")
@FORMAT
@click.pass_context
@one_line_errors
def models_command(ctx: click.Context, fmt: str) -> None:
    """List registered models with their latest version and aliases."""
    echo_frame(registry.models(context_store(ctx)), fmt,
          empty="No registered models yet: nbmlops.log_model(model, \"name\") or %%track --model VAR:NAME.")


@main.command("model")
@click.argument("name")
@FORMAT
@click.pass_context
@one_line_errors
def model_command(ctx: click.Context, name: str, fmt: str) -> None:
    """Show the versions of model NAME with their runs, aliases and metrics."""
    echo_frame(registry.model_versions(context_store(ctx), name), fmt)


@main.command()
@click.argument("name")
@click.argument("version", type=click.IntRange(min=1))
@click.argument("alias")
@click.option("--gate", metavar="EXPR",
              help="Condition to pass first, e.g. \"metrics.acc >= champion.metrics.acc + 0.01\".")
@click.option("--reason", metavar="TEXT", help="Why, for the audit log.")
@click.pass_context
@one_line_errors
def promote(ctx: click.Context, name: str, version: int, alias: str, gate: str | None,
            reason: str | None) -> None:
    """Point ALIAS of model NAME at VERSION (checked against GATE; recorded in the audit log)."""
    result = registry.promote(context_store(ctx), name, version, alias, gate=gate, reason=reason)
    click.echo(f"{name}@{alias} -> version {version}" + (f" (gate passed: {result.explanation})" if result else ""))


@main.command()
@click.argument("name")
@click.argument("alias")
@click.option("--reason", metavar="TEXT", help="Why, for the audit log.")
@click.pass_context
@one_line_errors
def unalias(ctx: click.Context, name: str, alias: str, reason: str | None) -> None:
    """Remove ALIAS from model NAME (recorded in the audit log)."""
    registry.unalias(context_store(ctx), name, alias, reason=reason)
    click.echo(f"{name}@{alias} removed")


@main.command()
@click.argument("name")
@FORMAT
@click.pass_context
@one_line_errors
def history(ctx: click.Context, name: str, fmt: str) -> None:
    """Show the audit log of model NAME's aliases: when, who, from, to, why, gate."""
    echo_frame(registry.history(context_store(ctx), name), fmt, empty=f"No alias changes for {name!r} yet.")


@main.command("export-model")
@click.argument("uri", metavar="NAME@ALIAS|NAME/VERSION|NAME")
@click.argument("directory", metavar="DIR", type=click.Path(file_okay=False))
@click.pass_context
@one_line_errors
def export_model(ctx: click.Context, uri: str, directory: str) -> None:
    """Write a model to DIR (new or empty) with its signature, pinned requirements and a README
    on loading it without nbmlops."""
    click.echo(str(export.export_model(context_store(ctx), uri, directory)))


@main.command()
@click.argument("uri", metavar="NAME@ALIAS")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Interface to listen on; anything but localhost exposes the model without authentication.")
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True,
              help="Port to listen on; 0 picks a free one.")
@click.option("--trusted", is_flag=True,
              help="Also load pickles and skops types outside scikit-learn/NumPy/SciPy: only for models you trust.")
@click.option("--reload-token", envvar="NBMLOPS_RELOAD_TOKEN", metavar="TOKEN",
              help="The token POST /reload must send (default: a random one, printed at start). "
                   "Env: NBMLOPS_RELOAD_TOKEN.")
@click.option("--allow-reload", is_flag=True,
              help="Let POST /reload work without a token (still JSON only): any program on this machine "
                   "can then reload the model.")
@click.pass_context
@one_line_errors
def serve(ctx: click.Context, uri: str, host: str, port: int, trusted: bool, reload_token: str | None,
          allow_reload: bool) -> None:
    """Serve a model over local HTTP: GET /health, GET /signature, POST /predict, POST /reload.

    Inputs are checked against the model's signature. POST /reload or SIGHUP re-resolves the
    alias, so a promotion takes effect without a restart; Ctrl-C stops the server.

    POST requests must send Content-Type: application/json (else 415), so a web page cannot post
    to the server. POST /reload also needs the reload token printed at start, sent as
    'Authorization: Bearer TOKEN' or 'X-Nbmlops-Token: TOKEN' (else 401), unless --allow-reload.
    """
    if reload_token is not None and allow_reload:
        raise click.UsageError("give --reload-token or --allow-reload, not both")
    from nbmlops.registry import serving  # on first use: its tornado app loads the server extension's modules

    serving.serve(context_store(ctx), uri, host, port, trusted=trusted, echo=click.echo, reload_token=reload_token,
                  allow_reload=allow_reload)
