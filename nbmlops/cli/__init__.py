"""The `nbmlops` command: the group, shared options and error handling; commands live in
`runs` (store and runs), `jobs` (notebooks as jobs), `models` (registry and delivery) and
`monitor` (production batches against training data)."""

from __future__ import annotations

import functools
import os
import warnings
from collections.abc import Callable
from typing import Any, TypeVar

import click
import pandas as pd

from nbmlops import __version__
from nbmlops.errors import NbmlopsError
from nbmlops.store.folder import Store, find_store, open_store

F = TypeVar("F", bound=Callable[..., Any])


def one_line_errors(fn: F) -> F:
    """Show failures as one line on stderr with exit code 1, never a traceback."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            with warnings.catch_warnings():
                warnings.showwarning = _warning_line
                return fn(*args, **kwargs)
        except NbmlopsError as exc:
            raise click.ClickException(str(exc)) from None
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except KeyboardInterrupt:
            raise click.ClickException("interrupted") from None
        except ModuleNotFoundError as exc:
            if os.environ.get("NBMLOPS_DEBUG"):
                raise
            package = (exc.name or "a package").split(".")[0]
            raise click.ClickException(
                f"this command needs the Python package {package}, which is not installed here: "
                f"pip install {package} (or reinstall nbmlops, which depends on it)") from None
        except Exception as exc:
            if os.environ.get("NBMLOPS_DEBUG"):
                raise
            raise click.ClickException(
                f"unexpected {type(exc).__name__}: {exc} (set NBMLOPS_DEBUG=1 for the traceback)") from None

    return wrapper  # type: ignore[return-value]


def echo_warning(message: Warning | str) -> None:
    """A warning as one line on stderr (`Warning: ...`), without the source location Python adds."""
    click.echo(f"Warning: {' '.join(str(message).split())}", err=True)


def _warning_line(message: Warning | str, category: type[Warning], filename: str, lineno: int,
                  file: Any = None, line: str | None = None) -> None:
    echo_warning(message)  # warnings.showwarning's signature


def context_store(ctx: click.Context) -> Store:
    """The store given by --store (or $NBMLOPS_STORE), else the one found from the working directory."""
    path = ctx.obj.get("store") if ctx.obj else None
    return open_store(path) if path else find_store()


FORMAT = click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table",
                      show_default=True, help="Output format.")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="nbmlops")
@click.option("--store", "store", metavar="PATH|URL", envvar="NBMLOPS_STORE",
              help="Store folder, or a team store's postgresql://USER@HOST:PORT/DB (default: "
                   "$NBMLOPS_STORE, else the nearest .nbmlops/ up from here, else ~/.nbmlops).")
@click.pass_context
def main(ctx: click.Context, store: str | None) -> None:
    """Experiment tracking for notebooks: inspect and manage an nbmlops store."""
    ctx.ensure_object(dict)
    ctx.obj["store"] = store


def echo_frame(df: pd.DataFrame, fmt: str, empty: str | None = None) -> None:
    """Print a DataFrame as a text table, CSV or JSON records (`--format`); `empty` instead of an empty table."""
    if df.empty and fmt == "table" and empty:
        click.echo(empty)
        return
    if fmt == "csv":
        click.echo(df.to_csv(index=False), nl=False)
    elif fmt == "json":
        click.echo(df.to_json(orient="records", date_format="iso", force_ascii=False))
    else:
        from nbmlops.cli.terminal import printable  # a text table never passes on a value's escape sequences

        text = df.select_dtypes(include="object").columns
        df = df.assign(**{c: df[c].map(lambda v: printable(v, keep_newlines=False) if isinstance(v, str) else v)
                          for c in text})
        with pd.option_context("display.max_columns", None, "display.width", 200,
                               "display.max_colwidth", 40):
            click.echo(df.to_string(index=False))


# Importing the command modules registers their commands on `main`.
from nbmlops.cli import (  # noqa: E402,F401
    data,  # noqa: E402,F401  (data versioning and disk space)
    jobs,
    models,
    monitor,
    runs,
)
