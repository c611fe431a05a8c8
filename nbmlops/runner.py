"""Executing notebooks as runs with papermill: parameters, one run per execution, failures kept.

The run is created here, before the kernel starts, and its id is handed to the kernel through
the environment (NBMLOPS_RUN_ID), so every `%%track` cell and API call in the notebook logs into
it. This process owns the run: it ends it FINISHED, FAILED (with the failing cell, the error and
the executed notebook with papermill's error banner) or KILLED.
"""

from __future__ import annotations

import ast
import hashlib
import logging
import os
import tempfile
import time
import warnings
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .entities import RunStatus
from .errors import InvalidInputError, NbmlopsError
from .tracking import Tracker

KERNEL_START_RETRIES = 3
_RUN_ENV = ("NBMLOPS_RUN_ID", "NBMLOPS_RUN_NAME", "NBMLOPS_EXPERIMENT", "NBMLOPS_NOTEBOOK", "NBMLOPS_STORE")


class NotebookFailedError(NbmlopsError):
    """The notebook raised in a cell; the run is FAILED and the executed notebook kept."""

    status = 422


class KernelStartError(NbmlopsError):
    """The kernel could not be started (an infrastructure problem, not the notebook's)."""

    status = 503


@dataclass(frozen=True)
class NotebookResult:
    """How one execution ended."""

    run_id: str
    name: str
    status: RunStatus
    parameters: dict[str, Any]
    output: Path | None
    duration: float
    error: str | None = None
    failed_cell: int | None = None
    kernel_retries: int = 0


@dataclass(frozen=True)
class Parameter:
    """A parameter of a notebook's `parameters` cell."""

    name: str
    default: Any
    type_name: str
    help: str


def notebook_parameters(path: str | os.PathLike[str]) -> dict[str, Parameter]:
    """The notebook's `parameters` cell: names, default values and help, in order."""
    import papermill

    found: dict[str, Parameter] = {}
    for name, info in papermill.inspect_notebook(read_notebook(path)).items():
        try:
            default = ast.literal_eval(info["default"])
        except (ValueError, SyntaxError):
            default = info["default"]  # an expression: kept as its source text
        found[name] = Parameter(name, default, type(default).__name__, info.get("help", ""))
    return found


def read_notebook(path: str | os.PathLike[str]) -> Any:
    """The notebook as an nbformat node; a notebook naming no kernel gets Python 3's."""
    import nbformat

    try:
        nb = nbformat.read(str(_existing(path)), as_version=4)
    except (ValueError, nbformat.ValidationError) as exc:  # not JSON, or not a notebook
        raise InvalidInputError(f"{path} is not a readable notebook: {str(exc).splitlines()[0]}") from None
    nb.metadata.setdefault("kernelspec", {"name": "python3", "language": "python", "display_name": "Python 3"})
    nb.metadata.setdefault("language_info", {"name": "python"})
    return nb


def coerce(name: str, raw: str, default: Any) -> Any:
    """A command-line string as a value of the default's type (`-p C 0.5` -> 0.5)."""
    text = raw.strip()
    try:
        if isinstance(default, bool):
            if text.lower() in ("true", "1", "yes"):
                return True
            if text.lower() in ("false", "0", "no"):
                return False
            raise ValueError
        if isinstance(default, int):
            return int(text)
        if isinstance(default, float):
            return float(text)
        if isinstance(default, str):
            return raw
        if isinstance(default, (list, dict, tuple)):
            return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        raise InvalidInputError(
            f"parameter {name!r} expects a {type(default).__name__} like {default!r}, got {raw!r}") from None
    try:  # no default type to follow: a Python literal, else the text
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return raw


def _existing(path: str | os.PathLike[str]) -> Path:
    notebook = Path(path)
    if not notebook.is_file():
        raise InvalidInputError(f"notebook {str(notebook)!r} not found")
    if notebook.suffix != ".ipynb":
        raise InvalidInputError(f"{str(notebook)!r} is not a notebook (.ipynb)")
    return notebook.resolve()


def resolve_parameters(path: Path, given: Mapping[str, Any], strict: bool) -> dict[str, Any]:
    """Defaults overridden by `given` (strings coerced to the defaults' types); unknown names warned."""
    declared = notebook_parameters(path)
    unknown = sorted(set(given) - set(declared))
    if unknown:
        message = (f"{path.name} has no parameter {', '.join(map(repr, unknown))}; its parameters: "
                   f"{', '.join(declared) or 'none (tag a cell parameters)'}")
        if strict:
            raise InvalidInputError(message)
        warnings.warn(message, stacklevel=3)
    values = {name: p.default for name, p in declared.items()}
    for name, value in given.items():
        default = declared[name].default if name in declared else None
        values[name] = coerce(name, value, default) if isinstance(value, str) and not isinstance(default, str) \
            else value
    return values


@contextmanager
def _kernel_environment(values: dict[str, str]) -> Iterator[None]:
    """Environment variables the kernel inherits, restored afterwards."""
    saved = {k: os.environ.get(k) for k in _RUN_ENV}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def run_notebook(tracker: Tracker, path: str | os.PathLike[str], parameters: Mapping[str, Any] | None = None,
                 experiment: str | None = None, name: str | None = None, *, timeout: float | None = None,
                 kernel: str | None = None, output: str | os.PathLike[str] | None = None,
                 strict: bool = False, parent: str | None = None,
                 tags: dict[str, str] | None = None) -> NotebookResult:
    """Execute a notebook as one run and return how it ended (raises only for bad arguments)."""
    import papermill

    notebook = _existing(path)
    values = resolve_parameters(notebook, parameters or {}, strict)
    source = notebook.read_bytes()
    node = read_notebook(notebook)
    run = tracker.start_run(experiment, name or notebook.stem, tags, parent, notebook=str(notebook))
    started = time.monotonic()
    tracker.log_params({k: v for k, v in values.items()})
    tracker.set_tags({"notebook.sha256": hashlib.sha256(source).hexdigest(), "runner": "papermill"})
    tracker.put_bytes(source, "notebook/source.ipynb")
    tracker.flush()
    out = Path(output) if output is not None else Path(tempfile.mkdtemp(prefix="nbmlops-run-")) / notebook.name
    out.parent.mkdir(parents=True, exist_ok=True)
    env = {"NBMLOPS_RUN_ID": run.run_id, "NBMLOPS_RUN_NAME": run.name, "NBMLOPS_EXPERIMENT": run.experiment,
           "NBMLOPS_NOTEBOOK": str(notebook), "NBMLOPS_STORE": str(tracker.store.root)}
    status, error, failed_cell, retries = RunStatus.FINISHED, None, None, 0
    logging.getLogger("papermill").setLevel(logging.ERROR)  # we report unknown parameters ourselves
    try:
        with _kernel_environment(env):
            while True:
                try:
                    papermill.execute_notebook(
                        node, str(out), parameters=_given(values, parameters or {}),
                        kernel_name=kernel or node.metadata.kernelspec.get("name") or "python3", execution_timeout=timeout, progress_bar=False,
                        log_output=False, start_timeout=60, cwd=str(notebook.parent),
                        # The kernel's own log (transport warnings, interrupts at shutdown) is noise
                        # on the user's terminal; a dead kernel is still reported by the client.
                        extra_arguments=["--IPKernelApp.log_level=CRITICAL"])
                    break
                except papermill.PapermillExecutionError as exc:
                    status, failed_cell = RunStatus.FAILED, int(exc.cell_index)
                    error = f"cell {exc.cell_index} (execution count {exc.exec_count}): {exc.ename}: {exc.evalue}"
                    error += "\n" + "\n".join(_plain(exc.traceback))
                    break
                except BaseException as exc:
                    if isinstance(exc, KeyboardInterrupt):
                        raise
                    if _is_kernel_start_failure(exc) and retries < KERNEL_START_RETRIES:
                        retries += 1  # infrastructure, not the notebook: try again
                        time.sleep(0.5 * retries)
                        continue
                    if _is_kernel_start_failure(exc):
                        raise KernelStartError(f"the kernel did not start after {retries + 1} tries: {exc}") from exc
                    status = RunStatus.FAILED
                    error = f"{type(exc).__name__}: {exc}".strip()
                    if "timed out" in error.lower() or type(exc).__name__ == "CellTimeoutError":
                        error = f"timed out after {timeout} s per cell: {error}"
                    break
    except KeyboardInterrupt:
        _finish(tracker, run.run_id, out, RunStatus.KILLED, "interrupted (Ctrl-C)", None, retries)
        raise
    except KernelStartError as exc:
        _finish(tracker, run.run_id, out, RunStatus.FAILED, str(exc), None, retries, infra=True)
        raise
    _finish(tracker, run.run_id, out, status, error, failed_cell, retries)
    return NotebookResult(run.run_id, run.name, status, values, out if out.exists() else None,
                          time.monotonic() - started, error, failed_cell, retries)


def _given(values: dict[str, Any], parameters: Mapping[str, Any]) -> dict[str, Any]:
    """Only the overridden parameters go to papermill, typed."""
    return {k: values[k] for k in parameters if k in values}


def _finish(tracker: Tracker, run_id: str, out: Path, status: RunStatus, error: str | None,
            failed_cell: int | None, retries: int, infra: bool = False) -> None:
    tags = {"runner.kernel_retries": str(retries)}
    if failed_cell is not None:
        tags["runner.failed_cell"] = str(failed_cell)
    if infra:
        tags["runner.infrastructure_failure"] = "true"
    tracker.set_tags(tags)
    if out.exists():
        tracker.put_bytes(out.read_bytes(), "notebook/executed.ipynb")
    tracker.end_run(status, run_id=run_id, error=error)


def _plain(lines: list[str]) -> list[str]:
    """Traceback lines without terminal colour codes."""
    import re

    return [re.sub(r"\x1b\[[0-9;]*m", "", line) for line in lines]


# How a kernel that failed to start looks when it surfaces as some other exception.
KERNEL_START_MARKERS = ("Kernel didn't respond", "Kernel died before replying", "kernel_info",
                        "Address already in use", "ZMQError", "start_timeout", "Kernel failed to start",
                        "Timeout waiting for kernel")


def kernel_start_failed(text: str) -> bool:
    """True when an error text says the kernel did not start (infrastructure, not the notebook)."""
    return any(marker in text for marker in KERNEL_START_MARKERS)


def _is_kernel_start_failure(exc: BaseException) -> bool:
    return kernel_start_failed(f"{type(exc).__name__}: {exc}")
