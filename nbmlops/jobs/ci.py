"""Continuous integration of models and data: run notebooks headless, check gates, report.

`nbmlops ci` executes each notebook as a run, evaluates every gate against that run (and, with
`--compare-to`, against a registered model version as the champion), writes a Markdown report
and JUnit XML, and fails when a notebook fails or a gate does not pass.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

from nbmlops.entities import Run, RunStatus
from nbmlops.jobs.runner import (
    NotebookResult,
    known_values,
    notebook_experiment,
    notebook_parameters,
    read_notebook,
    resolve_parameters,
    run_notebook,
)
from nbmlops.jobs.substitution import used_datasets
from nbmlops.query.gates import Facts, GateResult, evaluate_gate, missing_references, parse_gate
from nbmlops.registry import models as registry
from nbmlops.store.folder import Store
from nbmlops.store.runs import get_run, run_attributes
from nbmlops.tracking.tracker import Tracker


@dataclass(frozen=True)
class NotebookCheck:
    """One notebook's execution and its gates."""

    notebook: str
    result: NotebookResult
    run: Run
    gates: list[GateResult] = field(default_factory=list)
    data: list[dict[str, Any]] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        """The notebook finished and every gate passed."""
        return self.result.status is RunStatus.FINISHED and all(g.passed for g in self.gates)


@dataclass(frozen=True)
class CheckReport:
    """All notebooks of one `nbmlops ci` invocation."""

    checks: list[NotebookCheck]
    champion: registry.ModelVersion | None
    seconds: float

    @property
    def passed(self) -> bool:
        """Every notebook passed."""
        return all(c.passed for c in self.checks)


def _facts(store: Store, run: Run, version: registry.ModelVersion | None = None) -> Facts:
    """What a gate reads of a run, or of a registered version (its metrics and number) and its run."""
    with store.reading() as con:
        attributes = run_attributes(con, run.run_id)
    metrics = version.metrics if version is not None else run.metrics
    return Facts(dict(metrics), dict(run.params), dict(run.tags), version.version if version is not None else None,
                 attributes)


DEFAULT_EXPERIMENT = "ci"


def check(tracker: Tracker, notebooks: list[str | os.PathLike[str]], gates: list[str], *,
          parameters: dict[str, Any] | None = None, compare_to: str | None = None,
          experiment: str | None = None, timeout: float | None = None,
          allow_new_params: bool = False) -> CheckReport:
    """Run each notebook and evaluate the gates; never raises for a failing notebook or gate.

    Each run goes to `experiment`, else to the one its notebook names (`%%track -e NAME`), else to
    "ci". A parameter a notebook does not declare is an error unless `allow_new_params`.
    """
    for gate in gates:
        parse_gate(gate)  # a typo in a gate fails fast, before any notebook runs
    experiments = {}
    for notebook in notebooks:  # and so does a parameter a notebook lacks
        declared = notebook_parameters(notebook)
        values = resolve_parameters(Path(notebook), parameters or {}, allow_new_params, declared=declared)
        experiments[str(notebook)] = experiment if experiment is not None else notebook_experiment(
            read_notebook(notebook), known_values(values, declared, parameters or {})) or DEFAULT_EXPERIMENT
    started = dt.datetime.now(dt.timezone.utc)
    champion = registry.resolve(tracker.store, compare_to) if compare_to else None
    champion_facts = None
    if champion is not None and champion.run_id:
        champion_facts = _facts(tracker.store, get_run(tracker.store, champion.run_id), champion)
    for line in (line for gate in gates for line in missing_references(gate, None, champion_facts)):
        warnings.warn(line, UserWarning, stacklevel=2)  # a misspelt champion key, before any notebook runs
    checks = []
    for notebook in notebooks:
        result = run_notebook(tracker, notebook, parameters or {}, experiments[str(notebook)], Path(notebook).stem,
                              timeout=timeout, tags={"ci": "true"}, allow_new_params=allow_new_params)
        run = get_run(tracker.store, result.run_id)
        facts = _facts(tracker.store, run)
        evaluated = [evaluate_gate(g, facts, champion_facts) for g in gates] \
            if result.status is RunStatus.FINISHED else []
        for line in (line for gate in evaluated for line in missing_references(gate.expression, facts, None)):
            warnings.warn(line, UserWarning, stacklevel=2)
        used = used_datasets(tracker.store, run.run_id)
        checks.append(NotebookCheck(str(notebook), result, run, evaluated, used))
    seconds = (dt.datetime.now(dt.timezone.utc) - started).total_seconds()
    return CheckReport(checks, champion, seconds)


def _number(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}" if math.isfinite(value) else str(value)
    return str(value)


def markdown(report: CheckReport) -> str:
    """The report as Markdown: verdicts, gates, params, metrics with deltas, data fingerprints."""
    verdict = "passed" if report.passed else "FAILED"
    lines = [f"# nbmlops CI: {verdict}", "",
             f"{len(report.checks)} notebook(s) in {report.seconds:.1f} s"
             + (f", compared with {report.champion.name} v{report.champion.version}" if report.champion else ""),
             ""]
    champion = report.champion.metrics if report.champion else {}
    for c in report.checks:
        mark = "passed" if c.passed else "FAILED"
        lines += [f"## {Path(c.notebook).name}: {mark}", "",
                  f"Run `{c.run.name}` (`{c.run.run_id}`), {c.result.status.value}, "
                  f"{c.result.duration:.1f} s.", ""]
        if c.result.error:
            lines += ["```", c.result.error.strip().splitlines()[0], "```", ""]
        if c.gates:
            lines += ["| gate | result | explanation |", "| --- | --- | --- |"]
            lines += [f"| `{g.expression}` | {'pass' if g.passed else 'FAIL'} | {g.explanation} |" for g in c.gates]
            lines.append("")
        if c.run.metrics:
            lines += ["| metric | value | champion | delta |", "| --- | --- | --- | --- |"]
            for key, value in sorted(c.run.metrics.items()):
                old = champion.get(key)
                delta = _number(value - old) if old is not None else ""
                lines.append(f"| {key} | {_number(value)} | {_number(old) if old is not None else ''} | {delta} |")
            lines.append("")
        if c.run.params:
            lines += ["| param | value |", "| --- | --- |"]
            lines += [f"| {k} | {_number(v)} |" for k, v in sorted(c.run.params.items())]
            lines.append("")
        if c.data:
            lines += ["| dataset | role | rows | fingerprint |", "| --- | --- | --- | --- |"]
            lines += [f"| {d['name']} | {', '.join(d['roles'])} | {d['rows']} | `{d['fingerprint'][:16]}` |"
                      for d in c.data]
            lines.append("")
    return "\n".join(lines)


def junit(report: CheckReport) -> str:
    """The report as JUnit XML: a test suite per notebook, a test case for its run and each gate."""
    suites = ET.Element("testsuites", name="nbmlops ci", time=f"{report.seconds:.3f}")
    for c in report.checks:
        failures = int(c.result.status is not RunStatus.FINISHED) + sum(not g.passed for g in c.gates)
        suite = ET.SubElement(suites, "testsuite", name=Path(c.notebook).name, tests=str(1 + len(c.gates)),
                              failures=str(failures), time=f"{c.result.duration:.3f}")
        case = ET.SubElement(suite, "testcase", classname=Path(c.notebook).stem, name="executes",
                             time=f"{c.result.duration:.3f}")
        if c.result.status is not RunStatus.FINISHED:
            ET.SubElement(case, "failure", message=(c.result.error or "failed").splitlines()[0]).text = c.result.error
        for gate in c.gates:
            case = ET.SubElement(suite, "testcase", classname=Path(c.notebook).stem, name=f"gate: {gate.expression}")
            if not gate.passed:
                ET.SubElement(case, "failure", message=gate.explanation)
    ET.indent(suites)
    return ET.tostring(suites, encoding="unicode", xml_declaration=True)
