"""Executing notebooks as runs with papermill: parameters, one run per execution, failures kept.

The run is created here, before the kernel starts, and its id is handed to the kernel through
the environment (NBMLOPS_RUN_ID), so every `%%track` cell and API call in the notebook logs into
it. This process owns the run: it ends it FINISHED, FAILED (with the failing cell, the error and
the executed notebook with papermill's error banner) or KILLED.

What the run records is what the notebook used:
- a name its `parameters` cell does not declare is an error before any kernel starts (a typo would
  otherwise be recorded as a param the notebook never read); `allow_new_params` injects it anyway
  and tags the run `nbmlops.new_params`;
- the run goes to the experiment given, else the one the notebook names (its first `%%track -e` or
  literal `start_run(experiment=...)`/`set_experiment(...)`), else the current one;
- a parameter the notebook only uses as a `%%track` option (`-e {experiment}`) is not a param.
"""

from __future__ import annotations

import ast
import difflib
import hashlib
import json
import logging
import os
import re
import shutil
import tempfile
import time
import warnings
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nbmlops.entities import RunStatus
from nbmlops.errors import InvalidInputError, KernelStartError, UnknownParameterError
from nbmlops.notebook import cells as capture
from nbmlops.registry.models import DEFER_REGISTRATION_ENV
from nbmlops.tracking.tracker import Tracker
from nbmlops.tracking.trials import TRIAL_ENV, RunPruned

KERNEL_START_RETRIES = 3
NEW_PARAMS_TAG = "nbmlops.new_params"
_RUN_ENV = ("NBMLOPS_RUN_ID", "NBMLOPS_RUN_NAME", "NBMLOPS_EXPERIMENT", "NBMLOPS_NOTEBOOK", "NBMLOPS_STORE",
            DEFER_REGISTRATION_ENV, TRIAL_ENV)
_EXPANSION = re.compile(r"\{([A-Za-z_]\w*)\}|\$([A-Za-z_]\w*)")


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
    literal: bool = True  # False: the default is an expression, kept as its source text


def notebook_parameters(path: str | os.PathLike[str]) -> dict[str, Parameter]:
    """The notebook's `parameters` cell: names, default values and help, in order."""
    import papermill

    found: dict[str, Parameter] = {}
    for name, info in papermill.inspect_notebook(read_notebook(path)).items():
        literal = True
        try:
            default = ast.literal_eval(info["default"])
        except (ValueError, SyntaxError):
            default, literal = info["default"], False  # an expression: kept as its source text
        found[name] = Parameter(name, default, type(default).__name__, info.get("help", ""), literal)
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


def unknown_parameters(notebook: str | os.PathLike[str], names: Iterable[str],
                       declared: Mapping[str, Parameter], allow_new_params: bool = False) -> list[str]:
    """The names `declared` lacks; an UnknownParameterError unless `allow_new_params`."""
    unknown = [n for n in dict.fromkeys(names) if n not in declared]
    if unknown and not allow_new_params:
        raise UnknownParameterError(_unknown_message(Path(notebook).name, unknown, list(declared)))
    return unknown


def _unknown_message(notebook: str, unknown: list[str], declared: list[str]) -> str:
    names, them = ", ".join(unknown), "it" if len(unknown) == 1 else "them"
    if not declared:
        return (f"{notebook} has no parameters cell, so {names} cannot be set: tag the cell that assigns the "
                "defaults 'parameters' (JupyterLab: Property Inspector > Cell Tags); --allow-new-params "
                f"injects {them} anyway")
    guesses = {u: _closest(u, declared) for u in unknown}
    found = {u: g for u, g in guesses.items() if g}
    if len(unknown) == 1:
        hint = f" did you mean {found[unknown[0]]}?" if found else ""
    else:
        hint = f" did you mean {', '.join(f'{g} for {u}' for u, g in found.items())}?" if found else ""
    verb = "is not a parameter" if len(unknown) == 1 else "are not parameters"
    return (f"{names} {verb} of {notebook} (its parameters: {', '.join(declared)});{hint} "
            f"--allow-new-params injects {them} anyway")


def _closest(name: str, declared: list[str]) -> str | None:
    same_case = [d for d in declared if d.lower() == name.lower()]
    if same_case:
        return same_case[0]
    close = difflib.get_close_matches(name, declared, n=1)
    return close[0] if close else None


def resolve_parameters(path: Path, given: Mapping[str, Any], allow_new_params: bool = False, *,
                       declared: Mapping[str, Parameter] | None = None) -> dict[str, Any]:
    """Defaults overridden by `given` (strings coerced to the defaults' types); undeclared names are
    an UnknownParameterError unless `allow_new_params`."""
    declared = notebook_parameters(path) if declared is None else declared
    unknown_parameters(path, given, declared, allow_new_params)
    values = {name: p.default for name, p in declared.items()}
    for name, value in given.items():
        default = declared[name].default if name in declared else None
        values[name] = coerce(name, value, default) if isinstance(value, str) and not isinstance(default, str) \
            else value
    return values


def _code_sources(node: Any) -> Iterator[str]:
    """The source of every code cell of a notebook, in order, without leading blank lines."""
    for cell in node.cells:
        if cell.cell_type == "code":
            yield "".join(cell.source).lstrip("\n")


def _track_cells(node: Any) -> Iterator[tuple[str, str]]:
    """(magic line, body) of every `%%track` cell of a notebook."""
    for source in _code_sources(node):
        line = _track_line(source)
        if line is not None:
            yield line, source.partition("\n")[2]


def _track_line(source: str) -> str | None:
    """The options line of a cell that starts with `%%track` (None for any other cell)."""
    first = source.partition("\n")[0]
    return first[7:] if first.startswith("%%track") and first[7:8] in ("", " ", "\t") else None


def option_parameters(node: Any) -> set[str]:
    """Names the notebook's `%%track` lines expand in their options (`-e {experiment}`) and no
    tracked cell reads: the magic's own settings, not parameters of the model."""
    used, read = set(), set()
    for line, body in _track_cells(node):
        used.update(capture.line_reads(line))
        read.update(capture.cell_inputs(body))
    return used - read


def known_values(values: Mapping[str, Any], declared: Mapping[str, Parameter],
                 given: Iterable[str]) -> dict[str, Any]:
    """The parameter values known before the notebook runs: given ones and literal defaults."""
    given = set(given)
    return {k: v for k, v in values.items() if k in given or k not in declared or declared[k].literal}


def notebook_experiment(node: Any, values: Mapping[str, Any]) -> str | None:
    """The experiment the notebook names: its first `%%track -e NAME` (with `{param}` expanded from
    `values`, see `known_values`) or literal `start_run(experiment=...)` / `set_experiment(...)`;
    None if it names none."""
    for source in _code_sources(node):
        line = _track_line(source)
        if line is not None:
            # Read with the magic's own parser (imported here: it brings IPython, which `import
            # nbmlops` does not need; a notebook job has it loaded anyway).
            from nbmlops.notebook.magics import track_options

            options = track_options(line)
            raw = options.experiment if options is not None else None
            if raw is None:
                continue
            named = _expand(raw, values)
            if named is None:
                warnings.warn(f"cannot tell which experiment `%%track -e {raw}` names before running it, so the run "
                              "goes to the current one: give -e NAME", stacklevel=3)
            return named
        named = _experiment_call(source)
        if named is not None:
            return named
    return None


def _expand(text: str, values: Mapping[str, Any]) -> str | None:
    """`text` with `{name}`/`$name` replaced from `values` as IPython would; None if it cannot be."""
    names = [a or b for a, b in _EXPANSION.findall(text)]
    rest = _EXPANSION.sub("", text)
    if any(n not in values for n in names) or "{" in rest or "$" in rest:  # an expression: known only when run
        return None
    return _EXPANSION.sub(lambda m: str(values[m.group(1) or m.group(2)]), text)


def _experiment_call(source: str) -> str | None:
    """A literal experiment in `start_run(experiment=...)`/`start_run("x")`/`set_experiment("x")`."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return None  # IPython syntax: such a cell names its experiment through %%track, if at all
    calls = sorted((n for n in ast.walk(tree) if isinstance(n, ast.Call)), key=lambda n: (n.lineno, n.col_offset))
    for call in calls:
        name = call.func.attr if isinstance(call.func, ast.Attribute) else getattr(call.func, "id", None)
        if name not in ("start_run", "set_experiment"):
            continue
        arg = next((k.value for k in call.keywords if k.arg == "experiment"), call.args[0] if call.args else None)
        if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
            return arg.value
    return None


@contextmanager
def _kernel_environment(values: dict[str, str | None]) -> Iterator[None]:
    """Environment variables the kernel inherits (None: unset), restored afterwards."""
    saved = {k: os.environ.get(k) for k in _RUN_ENV}
    for key, value in values.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    try:
        yield
    finally:
        for key, old in saved.items():
            if old is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = old


def run_notebook(tracker: Tracker, path: str | os.PathLike[str], parameters: Mapping[str, Any] | None = None,
                 experiment: str | None = None, name: str | None = None, *, timeout: float | None = None,
                 kernel: str | None = None, output: str | os.PathLike[str] | None = None,
                 allow_new_params: bool = False, parent: str | None = None,
                 tags: dict[str, str] | None = None, defer_registration: bool = False,
                 trial: dict[str, Any] | None = None) -> NotebookResult:
    """Execute a notebook as one run and return how it ended (raises only for bad arguments).

    `defer_registration`: `log_model(model, NAME)` in the notebook keeps the model as an artifact
    of the run without registering a version (a sweep registers its best child's model once).
    `trial`: the Optuna trial of a pruned sweep (see tracking/trials.py); its kernel reports the
    metric to it and a pruned run ends PRUNED.
    """
    notebook = _existing(path)
    node = read_notebook(notebook)
    declared = notebook_parameters(notebook)
    values = resolve_parameters(notebook, parameters or {}, allow_new_params, declared=declared)
    new = [k for k in parameters or {} if k not in declared]
    if experiment is None:
        experiment = notebook_experiment(node, known_values(values, declared, parameters or {}))
    source = notebook.read_bytes()
    options = option_parameters(node)
    run = tracker.start_run(experiment, name or notebook.stem, tags, parent, notebook=str(notebook))
    started = time.monotonic()
    tracker.log_params({k: v for k, v in values.items() if k not in options})
    tracker.set_tags({"notebook.sha256": hashlib.sha256(source).hexdigest(), "runner": "papermill",
                      **({NEW_PARAMS_TAG: ",".join(new)} if new else {})})
    tracker.put_bytes(source, "notebook/source.ipynb")
    tracker.flush()
    # Without --output the executed notebook lives in a scratch folder until it is stored with the
    # run (as notebook/executed.ipynb): the folder goes once the run has ended, however it ended.
    scratch = None if output is not None else Path(tempfile.mkdtemp(prefix="nbmlops-run-"))
    out = Path(output) if output is not None else scratch / notebook.name  # type: ignore[operator]
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        env = {"NBMLOPS_RUN_ID": run.run_id, "NBMLOPS_RUN_NAME": run.name, "NBMLOPS_EXPERIMENT": run.experiment,
               "NBMLOPS_NOTEBOOK": str(notebook), "NBMLOPS_STORE": tracker.store.location,
               DEFER_REGISTRATION_ENV: "1" if defer_registration else None,
               TRIAL_ENV: json.dumps({**trial, "run_id": run.run_id}) if trial else None}
        status, error, failed_cell, retries = _execute(node, out, notebook, values, parameters or {}, kernel,
                                                       timeout, env, tracker, run.run_id)
        _finish(tracker, run.run_id, out, status, error, failed_cell, retries)
        kept = out if scratch is None and out.exists() else None
    finally:
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)
    return NotebookResult(run.run_id, run.name, status, values, kept, time.monotonic() - started, error,
                          failed_cell, retries)


def _execute(node: Any, out: Path, notebook: Path, values: dict[str, Any], given: Mapping[str, Any],
             kernel: str | None, timeout: float | None, env: dict[str, str | None], tracker: Tracker,
             run_id: str) -> tuple[RunStatus, str | None, int | None, int]:
    """Run the notebook with papermill into `out`: (status, error, failed cell, kernel retries).

    Ctrl-C and a kernel that never starts end the run here (KILLED, FAILED) and re-raise."""
    import papermill

    status, error, failed_cell, retries = RunStatus.FINISHED, None, None, 0
    logging.getLogger("papermill").setLevel(logging.ERROR)  # we report unknown parameters ourselves
    try:
        with _kernel_environment(env):
            while True:
                try:
                    papermill.execute_notebook(
                        node, str(out), parameters=_given(values, given),
                        kernel_name=kernel or node.metadata.kernelspec.get("name") or "python3",
                        execution_timeout=timeout, progress_bar=False,
                        log_output=False, start_timeout=60, cwd=str(notebook.parent),
                        # The kernel's own log (transport warnings, interrupts at shutdown) is noise
                        # on the user's terminal; a dead kernel is still reported by the client.
                        extra_arguments=["--IPKernelApp.log_level=CRITICAL"])
                    break
                except papermill.PapermillExecutionError as exc:
                    if exc.ename == RunPruned.__name__:  # the pruner stopped it: not a failure
                        status, error = RunStatus.PRUNED, str(exc.evalue)
                        break
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
        _finish(tracker, run_id, out, RunStatus.KILLED, "interrupted (Ctrl-C)", None, retries)
        raise
    except KernelStartError as exc:
        _finish(tracker, run_id, out, RunStatus.FAILED, str(exc), None, retries, infra=True)
        raise
    return status, error, failed_cell, retries


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
