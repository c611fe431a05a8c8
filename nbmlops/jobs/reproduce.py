"""Reproducing a run and retraining a model from the notebook and params that produced it.

Both re-execute the notebook snapshot stored with the original run (`notebook/source.ipynb`), so
they work after the notebook file has changed or moved; `reproduce` also restores data files that
are gone or changed from their dataset snapshots (see `substitution`).
"""

from __future__ import annotations

import math
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nbmlops.data.fingerprint import fingerprint
from nbmlops.drift.report import MonitoringReport
from nbmlops.drift.service import monitor
from nbmlops.entities import Run, RunStatus
from nbmlops.errors import GateFailedError, InvalidInputError, NotFoundError
from nbmlops.jobs.runner import NotebookResult, notebook_parameters, run_notebook, unknown_parameters
from nbmlops.jobs.substitution import substituted, used_datasets
from nbmlops.query.gates import GateResult
from nbmlops.registry import models as registry
from nbmlops.store.runs import get_run
from nbmlops.tracking.tracker import Tracker


@dataclass(frozen=True)
class MetricDifference:
    """A metric whose reproduced value differs from the original beyond the tolerance."""

    key: str
    original: float | None
    reproduced: float | None


@dataclass(frozen=True)
class Reproduction:
    """The outcome of `reproduce`."""

    original: Run
    result: NotebookResult
    differences: list[MetricDifference] = field(default_factory=list)
    data_warnings: list[str] = field(default_factory=list)

    @property
    def matches(self) -> bool:
        """True when the new run finished and every metric matched."""
        return self.result.status is RunStatus.FINISHED and not self.differences


def _snapshot(tracker: Tracker, run: Run, directory: Path) -> Path:
    """The notebook the run executed, written into `directory`."""
    source = next((a for a in run.artifacts if a.path == "notebook/source.ipynb"), None)
    if source is None:
        raise NotFoundError(f"run {run.run_id} has no notebook snapshot: only runs made by `nbmlops run`, "
                            "a sweep or retrain can be re-executed")
    path = directory / (Path(run.notebook).name if run.notebook else "notebook.ipynb")
    path.write_bytes(tracker.store.read_verified(source.sha256, f"the notebook of run {run.run_id}"))
    return path


def _notebook_params(path: Path, run: Run, overrides: dict[str, Any]) -> dict[str, Any]:
    declared = notebook_parameters(path)
    values = {k: v for k, v in run.params.items() if k in declared}
    values.update(overrides)
    return values


def _data_warnings(original: Run, datasets_then: list[dict[str, Any]]) -> list[str]:
    warnings = []
    for used in datasets_then:
        source = used.get("source")
        if not source:
            continue
        path = Path(source)
        if not path.exists():
            warnings.append(f"dataset {used['name']!r} ({source}) no longer exists")
            continue
        now = fingerprint(path, profile=False).fingerprint
        if now != used["fingerprint"]:
            warnings.append(f"dataset {used['name']!r} ({source}) changed since run {original.name}: "
                            f"fingerprint {used['fingerprint'][:12]} then, {now[:12]} now")
    return warnings


def reproduce(tracker: Tracker, run_id: str, *, tolerance: float = 1e-9,
              timeout: float | None = None) -> Reproduction:
    """Re-execute a run's notebook with its params and compare metrics within `tolerance` (relative)."""
    if not isinstance(tolerance, (int, float)) or tolerance < 0:
        raise InvalidInputError("tolerance must be a number >= 0")
    tracker.flush()
    original = get_run(tracker.store, run_id)
    used = used_datasets(tracker.store, original.run_id)
    data_warnings = _data_warnings(original, used)
    with tempfile.TemporaryDirectory(prefix="nbmlops-reproduce-") as tmp:
        notebook = _snapshot(tracker, original, Path(tmp))
        home = Path(original.notebook).parent if original.notebook else None
        with substituted(tracker.store, used, _notebook_params(notebook, original, {}), home,
                         Path(tmp) / "data") as data:  # gone or changed data comes from its snapshot
            result = run_notebook(tracker, notebook, data.parameters,
                                  original.experiment, f"{original.name}-reproduced", timeout=timeout,
                                  tags={"reproduces": original.run_id})
        data_warnings.extend(data.notes)
    reproduced = get_run(tracker.store, result.run_id)
    differences = [MetricDifference(k, original.metrics.get(k), reproduced.metrics.get(k))
                   for k in sorted(set(original.metrics) | set(reproduced.metrics))
                   if not _close(original.metrics.get(k), reproduced.metrics.get(k), tolerance)
                   and not k.endswith(("fit_time", "_seconds", "duration"))]
    now = used_datasets(tracker.store, result.run_id)
    then = {(d["name"]): d["fingerprint"] for d in used}
    for d in now:
        if d["name"] in then and then[d["name"]] != d["fingerprint"]:
            data_warnings.append(f"dataset {d['name']!r} differs from the original run's "
                                 f"({then[d['name']][:12]} then, {d['fingerprint'][:12]} now)")
    return Reproduction(original, result, differences, data_warnings)


def _close(a: float | None, b: float | None, tolerance: float) -> bool:
    if a is None or b is None:
        return a is b
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return math.isclose(a, b, rel_tol=tolerance, abs_tol=tolerance)


@dataclass(frozen=True)
class Retraining:
    """The outcome of `retrain`: the new version and what was decided about it."""

    result: NotebookResult
    previous: registry.ModelVersion
    new_version: registry.ModelVersion | None
    promoted: bool
    gate: GateResult | None
    decision: str


def retrain(tracker: Tracker, model: str, overrides: dict[str, Any] | None = None, *,
            promote_if: str | None = None, alias: str = "production",
            timeout: float | None = None, reason: str | None = None,
            allow_new_params: bool = False) -> Retraining:
    """Re-execute the notebook behind a model version with overrides, register, gate, promote.

    `reason` (why retrain, e.g. the drift found) goes into the audit log and the run's tags. An
    override the notebook's parameters cell does not declare is an error unless `allow_new_params`.
    """
    tracker.flush()
    previous = registry.resolve(tracker.store, model)
    if previous.run_id is None:
        raise NotFoundError(f"model {model!r} has no run to retrain from")
    source_run = get_run(tracker.store, previous.run_id)
    tags = {"retrains": f"{previous.name}/{previous.version}"}
    if reason:
        tags["retrain.reason"] = reason[:7900]
    with tempfile.TemporaryDirectory(prefix="nbmlops-retrain-") as tmp:
        notebook = _snapshot(tracker, source_run, Path(tmp))
        result = run_notebook(tracker, notebook, _notebook_params(notebook, source_run, overrides or {}),
                              source_run.experiment, f"retrain-{previous.name}",
                              timeout=timeout, tags=tags, allow_new_params=allow_new_params)
    if result.status is not RunStatus.FINISHED:
        decision = f"not promoted: the retraining run {result.status.value}"
        _decide(tracker, result.run_id, decision)
        return Retraining(result, previous, None, False, None, decision)
    versions = registry.model_versions(tracker.store, previous.name)
    mine = versions[versions["run_id"] == result.run_id]
    if mine.empty:
        decision = (f"not promoted: the notebook registered no new version of {previous.name!r} "
                    f"(use %%track --model VAR:{previous.name} or nbmlops.log_model(model, {previous.name!r}))")
        _decide(tracker, result.run_id, decision)
        return Retraining(result, previous, None, False, None, decision)
    new = registry.resolve(tracker.store, f"{previous.name}/{int(mine['version'].max())}")
    try:
        gate = registry.promote(tracker.store, new.name, new.version, alias, gate=promote_if,
                                reason=f"retrained from {previous.name}/{previous.version}"
                                + (f": {reason}" if reason else ""))
    except GateFailedError as exc:
        decision = f"not promoted to {alias}: {exc.result.explanation}"
        _decide(tracker, result.run_id, decision)
        return Retraining(result, previous, new, False, exc.result, decision)
    decision = f"promoted {new.name}/{new.version} to {alias}" + (f": {gate.explanation}" if gate else "")
    _decide(tracker, result.run_id, decision)
    return Retraining(result, previous, new, True, gate, decision)


def retrain_on_drift(tracker: Tracker, model: str, data: Any, overrides: dict[str, Any] | None = None, *,
                     labels: Any = None, promote_if: str | None = None, alias: str = "production",
                     timeout: float | None = None, source: str | None = None,
                     allow_new_params: bool = False) -> tuple[MonitoringReport, Retraining | None]:
    """Monitor `data` against the model; retrain it (gate, promotion, audit) only on dataset drift.

    The monitoring report is stored either way; the retraining is None when there was no drift.
    """
    tracker.flush()
    if overrides:  # a typo in an override fails before the batch is monitored
        _check_overrides(tracker, model, overrides, allow_new_params)
    report = monitor(tracker.store, model, data, labels, source=source)
    if not report.dataset_drift:
        return report, None
    why = (f"dataset drift in {source or 'the monitored batch'}: {len(report.drifted_columns)} of "
           f"{len(report.features)} columns drifted (report {report.report_id})")
    return report, retrain(tracker, model, overrides, promote_if=promote_if, alias=alias, timeout=timeout,
                           reason=why, allow_new_params=allow_new_params)


def _check_overrides(tracker: Tracker, model: str, overrides: dict[str, Any], allow_new_params: bool) -> None:
    """An UnknownParameterError if an override names no parameter of the model's notebook."""
    version = registry.resolve(tracker.store, model)
    if version.run_id is None:
        return
    with tempfile.TemporaryDirectory(prefix="nbmlops-retrain-") as tmp:
        notebook = _snapshot(tracker, get_run(tracker.store, version.run_id), Path(tmp))
        unknown_parameters(notebook, overrides, notebook_parameters(notebook), allow_new_params)


def _decide(tracker: Tracker, run_id: str, decision: str) -> None:
    """Record the retraining decision on the run that retrained."""
    tracker.emit("tags", {"items": [["retrain.decision", decision[:7900]]]}, run_id=run_id)
    tracker.flush()
