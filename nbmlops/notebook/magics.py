"""IPython magics: `%%track` makes a cell a run; `%nbmlops` inspects runs from a notebook.

`%load_ext nbmlops` registers them.
"""

from __future__ import annotations

import ast
import os
import shlex
import sys
import time
import traceback
from argparse import ArgumentParser, Namespace
from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, cell_magic, line_magic, magics_class

from nbmlops.data import datasets as data
from nbmlops.entities import RunStatus
from nbmlops.errors import NbmlopsError
from nbmlops.notebook import cells as capture
from nbmlops.notebook import figures
from nbmlops.registry import models as registry
from nbmlops.registry import serialization as modelio
from nbmlops.store import runs as search
from nbmlops.tracking import validation
from nbmlops.tracking.tracker import Tracker, tracker

RUN_ID_ENV = "NBMLOPS_RUN_ID"  # set by `nbmlops run`: tracked cells join that run


class _Parser(ArgumentParser):
    """argparse that reports bad arguments as one-line UsageErrors instead of exiting."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{self.prog}: {message} (see %{self.prog.lstrip('%')} --help)")

    def exit(self, status: int = 0, message: str | None = None) -> None:  # type: ignore[override]
        if message:
            raise UsageError(message.strip())
        raise _HelpShown()


class _HelpShown(Exception):
    """--help was printed: stop quietly."""


def _track_parser(add_help: bool = True) -> _Parser:
    p = _Parser(prog="%%track", add_help=add_help,
                description="Run the cell as an nbmlops run: params it reads, metrics, datasets, model.")
    p.add_argument("-e", "--experiment", help="experiment name (default: the current experiment)")
    p.add_argument("-n", "--name", help="run name (default: generated)")
    p.add_argument("--params", default="", help="comma-separated extra variables to log as params")
    p.add_argument("--metrics", default="", help="comma-separated variables to log as metrics after the cell")
    p.add_argument("--model", action="append", default=[], metavar="VAR[:NAME]",
                   help="log this fitted model after the cell; with NAME, register its next version")
    p.add_argument("--dataset", action="append", default=[], metavar="VAR[:ROLE]",
                   help="fingerprint this dataset before the cell (repeatable; role default train)")
    p.add_argument("--snapshot", action="store_true",
                   help="also store the data of each --dataset, to load_dataset or reproduce it later")
    p.add_argument("--tag", action="append", default=[], metavar="KEY=VALUE", help="set a tag (repeatable)")
    p.add_argument("--no-autolog", action="store_true",
                   help="do not autolog scikit-learn, XGBoost, LightGBM, Lightning, Keras or transformers in this cell")
    p.add_argument("--no-figures", action="store_true",
                   help="do not keep the matplotlib figures the cell shows (kept as cell-figure-1, -2, ...)")
    p.add_argument("-q", "--quiet", action="store_true", help="print no summary line after the cell")
    return p


def track_options(line: str) -> Namespace | None:
    """The options of a `%%track` line the magic knows, read as the magic reads them (`{...}` and
    `$name` not yet expanded; options it does not know are left out); None if they do not parse."""
    try:
        return _track_parser(add_help=False).parse_known_args(shlex.split(line))[0]
    except (UsageError, ValueError):
        return None


def _names(text: str, option: str) -> list[str]:
    names = [n.strip() for n in text.split(",") if n.strip()]
    for name in names:
        if not name.isidentifier():
            raise UsageError(f"%%track {option}: {name!r} is not a variable name")
    return names


def _pair(spec: str, option: str, default: str | None) -> tuple[str, str | None]:
    var, _, second = spec.partition(":")
    if not var.isidentifier():
        raise UsageError(f"%%track {option}: {var!r} is not a variable name (use VAR or VAR:NAME)")
    return var, (second or default)


@magics_class
class NbmlopsMagics(Magics):
    """The `%%track` cell magic and the `%nbmlops` line magic."""

    def __init__(self, shell: Any = None, **kwargs: Any) -> None:
        super().__init__(shell, **kwargs)
        self._figures_kept: dict[str, int] = {}  # run id -> figures kept in it so far

    @cell_magic
    def track(self, line: str, cell: str) -> Any:
        """%%track [-e EXP] [-n NAME] [--params a,b] [--metrics m,n] [--model VAR[:NAME]]
        [--dataset VAR[:ROLE]]... [--snapshot] [--tag k=v]... [--no-autolog] [--no-figures]: track this cell
        as a run; the matplotlib figures it shows are kept as figures of the run (cell-figure-1, -2, ...)."""
        __tracebackhide__ = True  # noqa: F841  (IPython hides this frame in tracebacks)
        try:
            args = _track_parser().parse_args(shlex.split(line))
        except _HelpShown:
            return None
        except ValueError as exc:
            raise UsageError(f"%%track: {exc}") from None
        shell = self.shell
        if shell is None:  # IPython always gives registered magics their shell; a bare Magics() has none
            raise UsageError("%%track runs in an IPython shell: load it with %load_ext nbmlops")
        ns = shell.user_ns
        t = tracker()
        try:
            plan = _Plan.from_args(args, ns)
        except NbmlopsError as exc:
            raise UsageError(f"%%track: {exc}") from None
        run = _start(t, args, ns)
        started = time.perf_counter()
        try:
            try:
                _record_inputs(t, plan, ns, cell, shell)
            except NbmlopsError as exc:
                raise UsageError(f"%%track: {exc}") from None
            # Autolog only where a library it logs is in play: importing scikit-learn costs a second.
            with _autolog(not args.no_autolog and (any(lib in sys.modules for lib in AUTOLOGGED) or any(
                    lib in cell for lib in AUTOLOGGED)),
                          log_models=not plan.models):  # --model names the model to keep
                for var, role in plan.datasets:
                    data.log_dataset(t, ns[var], name=var, role=role, snapshot=True if args.snapshot else None)
                result = self._execute_keeping_figures(shell, cell, t, run.run_id, not args.no_figures)
            plan.log_after(t, ns)
        except KeyboardInterrupt:
            _end(t, run, RunStatus.KILLED, sys.exc_info())
            raise
        except BaseException:
            _end(t, run, RunStatus.FAILED, sys.exc_info())
            raise
        _end(t, run, RunStatus.FINISHED, None)
        if not args.quiet:
            print(f"nbmlops: {run.name} ({run.run_id[:12]}…) in {run.experiment!r} finished in "
                  f"{time.perf_counter() - started:.2f} s")
        return result

    def _execute_keeping_figures(self, shell: Any, cell: str, t: Tracker, run_id: str, keep: bool) -> Any:
        """Run the cell; with `keep`, log the figures it shows into its run, numbered on from earlier cells
        of the same run (a notebook run by `nbmlops run`)."""
        __tracebackhide__ = True  # noqa: F841
        if not keep:
            return _execute(shell, cell)
        kept = figures.FigureCapture(shell, t, run_id, first=self._figures_kept.get(run_id, 0) + 1)
        try:
            with kept:
                result = _execute(shell, cell)
                kept.flush()
                kept.keep_value(result)
        finally:
            self._figures_kept[run_id] = kept.count
        return result

    @line_magic
    def nbmlops(self, line: str) -> Any:
        """%nbmlops runs [WHERE] | compare RUN RUN... | show RUN | help"""
        words = shlex.split(line) if line.strip() else ["help"]
        command, rest = words[0], words[1:]
        try:
            t = tracker()
            t.flush()
            if command == "runs":
                return search.runs(t.store, where=" ".join(rest) or None, warn_unknown=True)
            if command == "show":
                if len(rest) != 1:
                    raise UsageError("%nbmlops show: give one run id, e.g. %nbmlops show 01a2f3")
                return search.get_run(t.store, rest[0])
            if command == "compare":
                if len(rest) < 2:
                    raise UsageError("%nbmlops compare: give two or more run ids")
                from nbmlops.notebook.widgets import compare

                return compare(*rest)
            if command in ("help", "-h", "--help"):
                print(_HELP)
                return None
        except NbmlopsError as exc:
            raise UsageError(f"%nbmlops {command}: {exc}") from None
        raise UsageError(f"%nbmlops: unknown command {command!r}; use runs, compare, show or help")


_HELP = """%nbmlops runs [WHERE]         runs as a table, e.g. %nbmlops runs metrics.acc > 0.9
%nbmlops show RUN             one run (id or unique prefix)
%nbmlops compare RUN RUN...   compare runs side by side
%%track [options]             track a cell as a run: %%track --help for the options"""


class _Plan:
    """What to log around the cell, checked before anything runs."""

    def __init__(self, params: list[str], metrics: list[str], models: list[tuple[str, str | None]],
                 datasets: list[tuple[str, str]], tags: dict[str, str]) -> None:
        self.params, self.metrics, self.models = params, metrics, models
        self.datasets, self.tags = datasets, tags

    @classmethod
    def from_args(cls, args: Any, ns: dict[str, Any]) -> _Plan:
        tags = {}
        for item in args.tag:
            key, sep, value = item.partition("=")
            if not sep:
                raise UsageError(f"%%track --tag: {item!r} must look like key=value")
            tags[validation.key("tag", key.strip())] = value
        datasets = [_pair(spec, "--dataset", "train") for spec in args.dataset]
        params = _names(args.params, "--params")
        for option, var in [*(("--dataset", v) for v, _ in datasets), *(("--params", v) for v in params)]:
            if var not in ns:
                raise UsageError(f"%%track {option}: no variable {var!r} is defined yet")
        models = [_pair(spec, "--model", None) for spec in args.model]
        return cls(params, _names(args.metrics, "--metrics"), models,
                   [(var, role or "train") for var, role in datasets], tags)

    def log_after(self, t: Tracker, ns: dict[str, Any]) -> None:
        missing = [v for v in (*self.metrics, *(m for m, _ in self.models)) if v not in ns]
        if missing:
            raise UsageError(f"%%track: the cell did not define {', '.join(missing)}")
        if self.metrics:
            t.log_metrics({name: ns[name] for name in self.metrics})
        for var, name in self.models:
            if name:  # --model VAR:NAME registers the next version of NAME
                registry.log_model(t, ns[var], name)
            else:
                modelio.log_model_artifact(t, ns[var], var)


def _start(t: Tracker, args: Any, ns: dict[str, Any]) -> Any:
    """A new run for this cell, or the run of the notebook execution that `nbmlops run` made."""
    joined = os.environ.get(RUN_ID_ENV)
    if joined:
        return t.attach_run(joined, name=os.environ.get("NBMLOPS_RUN_NAME", ""),
                            experiment=os.environ.get("NBMLOPS_EXPERIMENT", ""))
    try:
        return t.start_run(args.experiment, args.name, namespace=ns)
    except NbmlopsError as exc:
        raise UsageError(f"%%track: {exc}") from None


def _record_inputs(t: Tracker, plan: _Plan, ns: dict[str, Any], cell: str, shell: Any) -> None:
    """Params the cell reads, tags, the cell's code and the kernel's history so far."""
    options = _option_names(ns, cell)
    params = {k: v for k, v in {**_papermill_parameters(ns), **capture.scalar_params(cell, ns)}.items()
              if k not in options}
    params.update({name: ns[name] for name in plan.params})
    t.log_params(params)
    t.set_tags({"cell.execution_count": str(getattr(shell, "execution_count", "")), **plan.tags})
    t.put_bytes(cell.encode(), "cell.py")
    history = "\n\n".join(str(code) for code in ns.get("In", [])[1:])
    if history:
        t.put_bytes(history.encode(), "provenance/history.py")


def _option_names(ns: dict[str, Any], cell: str) -> set[str]:
    """Names this cell's `%%track` line expands in its options (`-e {experiment}`) and its body does
    not read: settings of the magic, not params. IPython expands the line before the magic sees it,
    so the names come from the cell as it entered the history."""
    history = ns.get("In") or [""]
    try:
        tree = ast.parse(str(history[-1]))
    except (SyntaxError, ValueError):
        return set()
    for node in ast.walk(tree):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and node.func.attr == "run_cell_magic" and len(node.args) == 3
                and all(isinstance(a, ast.Constant) and isinstance(a.value, str) for a in node.args)
                and node.args[0].value == "track" and node.args[2].value == cell):  # type: ignore[attr-defined]
            return set(capture.line_reads(node.args[1].value)) - set(capture.cell_inputs(cell))  # type: ignore
    return set()


def _papermill_parameters(ns: dict[str, Any]) -> dict[str, Any]:
    """Values of the parameters papermill injected into this kernel (its "# Parameters" cell)."""
    found: dict[str, Any] = {}
    for code in ns.get("In", [])[1:]:
        if isinstance(code, str) and code.startswith("# Parameters"):
            found.update(capture.scalars(capture.cell_outputs(code), ns))
    return found


def _end(t: Tracker, run: Any, status: RunStatus, exc_info: Any) -> None:
    error = "".join(traceback.format_exception(*exc_info)) if exc_info else None
    if os.environ.get(RUN_ID_ENV) == run.run_id:
        if error:  # the notebook's run is ended by `nbmlops run`; leave it the cell's traceback
            t.set_tags({"error.cell": error[-7000:]})
        t.detach_run(run.run_id)
    else:
        t.end_run(status, run_id=run.run_id, error=error)


AUTOLOGGED = ("sklearn", "xgboost", "lightgbm", "lightning", "pytorch_lightning", "keras", "transformers")


class _autolog:
    """Autolog scikit-learn (and XGBoost, LightGBM, Lightning, Keras, transformers) inside the cell when wanted."""

    def __init__(self, enabled: bool, log_models: bool = True) -> None:
        self.context: Any = None
        if enabled:
            from nbmlops.autolog.sklearn import autologging

            self.context = autologging(log_models=log_models)

    def __enter__(self) -> None:
        if self.context is not None:
            self.context.__enter__()

    def __exit__(self, *exc: Any) -> None:
        if self.context is not None:
            self.context.__exit__(*exc)


def _execute(shell: Any, cell: str) -> Any:
    """Run the cell in the user namespace like IPython would; return the last expression's value."""
    __tracebackhide__ = True  # noqa: F841
    transformed = shell.transform_cell(cell)
    filename = shell.compile.cache(transformed, shell.execution_count, raw_code=cell)
    tree = shell.compile.ast_parse(transformed, filename=filename)
    last = None
    if tree.body and isinstance(tree.body[-1], ast.Expr):
        last = ast.Expression(tree.body.pop().value)
    # The user's own cell, run as IPython runs it: exec and eval are the point here.
    exec(shell.compile(tree, filename, "exec"), shell.user_ns)  # noqa: S102 - the user's cell
    if last is not None:
        return eval(shell.compile(last, filename, "eval"), shell.user_ns)  # noqa: S307 - the user's cell
    return None


def register(ipython: Any) -> None:
    """Register the magics with an IPython shell."""
    ipython.register_magics(NbmlopsMagics)
