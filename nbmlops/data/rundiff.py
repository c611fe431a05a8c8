"""Why did this run differ? Two runs side by side: params, metrics, code, data, environment, git, models.

Everything comes from what the store already holds: params and latest metrics, the notebook a job
ran (`notebook/source.ipynb`) or the `%%track` cell (`cell.py`) and the kernel's history before it,
the dataset versions each role used (diffed with `nbmlops.data.diff`), the environment and git
diff files provenance stored, and the model versions each run registered. A section with nothing
to say is left out of the result.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

from nbmlops.data import codediff
from nbmlops.data import diff as datadiff
from nbmlops.entities import Run, metric_direction
from nbmlops.errors import InvalidInputError, NbmlopsError, NotFoundError
from nbmlops.render import rundiff as rendering
from nbmlops.store import datasets as dataset_catalog
from nbmlops.store import models as model_catalog
from nbmlops.store.backend import Connection
from nbmlops.store.folder import Store
from nbmlops.store.runs import get_run, resolve_run_id
from nbmlops.tracking import provenance, system

SECTIONS = ("params", "metrics", "code", "data", "environment", "git", "models")
MAX_STATS = 50  # differing column statistics kept per dataset
MAX_DIFF_LINES = 400  # lines kept of each run's uncommitted git diff


@dataclass(frozen=True)
class RunDiff:
    """The differences between run A and run B, section by section (empty sections are None or [])."""

    a: dict[str, Any]
    b: dict[str, Any]
    params: list[dict[str, Any]] = field(default_factory=list)
    metrics: list[dict[str, Any]] = field(default_factory=list)
    code: dict[str, Any] | None = None
    data: list[dict[str, Any]] = field(default_factory=list)
    environment: dict[str, Any] | None = None
    git: dict[str, Any] | None = None
    models: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (what `nbmlops diff --format json` prints and the REST API answers):
        `a`, `b` and each non-empty section; non-finite numbers are "NaN", "Infinity", "-Infinity"."""
        doc: dict[str, Any] = {"a": self.a, "b": self.b}
        doc.update({name: getattr(self, name) for name in SECTIONS if getattr(self, name)})
        return json_safe(doc)

    def text(self, color: bool = False) -> str:
        """The differences as text for a terminal (ANSI colours when `color`)."""
        return rendering.text(self.to_dict(), color=color)

    def __str__(self) -> str:
        return self.text()

    def _repr_html_(self) -> str:
        """The differences as HTML, for notebooks."""
        return rendering.html(self.to_dict())


def json_safe(value: Any) -> Any:
    """`value` as plain JSON data: non-finite floats as strings, other objects as their text."""
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if hasattr(value, "item") and callable(value.item):  # numpy scalars
        return json_safe(value.item())
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def run_ref(run: object, label: str) -> str:
    """The id, id prefix or name a caller gave for run `label` (A or B): text, or a Run / ActiveRun's id."""
    found = getattr(run, "run_id", run)
    if isinstance(found, str) and not found.strip():
        raise InvalidInputError(f"run {label} is empty: give a run id, a unique id prefix or a run name")
    if not isinstance(found, str):
        raise InvalidInputError(f"give run {label} as its id, a unique id prefix or its name, not "
                                f"{type(run).__name__} {str(run)[:40]!r}")
    return found


def diff(store: Store, a: object, b: object, *, rows: bool = True) -> RunDiff:
    """Compare run `a` with run `b` (ids, unique prefixes or names); `rows=False` skips the row-level
    comparison of dataset snapshots (schema, row counts and statistics stay)."""
    refs = run_ref(a, "A"), run_ref(b, "B")
    with store.reading() as con:
        ids = [_resolve(con, ref, label, store) for ref, label in zip(refs, "AB", strict=True)]
        if ids[0] == ids[1]:
            raise InvalidInputError(f"{refs[0]!r} and {refs[1]!r} are the same run ({ids[0][:12]}): "
                                    "give two different runs")
        datasets = [dataset_catalog.run_dataset_versions(con, rid) for rid in ids]
        models = [model_catalog.registered_by(con, rid) for rid in ids]
    first, second = (get_run(store, rid) for rid in ids)
    return RunDiff(
        a=_summary(first), b=_summary(second),
        params=params_diff(first.params, second.params),
        metrics=metrics_diff(first.metrics, second.metrics),
        code=_code(store, first, second),
        data=_data(store, datasets[0], datasets[1], rows),
        environment=_environment(store, first, second),
        git=_git(store, first, second),
        models=None if not any(models) else {"a": [f"{n}/{v}" for n, v in models[0]],
                                             "b": [f"{n}/{v}" for n, v in models[1]]})


def _resolve(con: Connection, ref: str, label: str, store: Store) -> str:
    try:
        return resolve_run_id(con, ref)
    except NotFoundError:
        raise NotFoundError(f"run {label} {ref!r} is not in the store at {store.location} (by id, id prefix or "
                            "name): both runs must be in one store; bring the other's runs in with "
                            "`nbmlops export` there and `nbmlops import` here") from None


def _summary(run: Run) -> dict[str, Any]:
    return {"run_id": run.run_id, "name": run.name, "experiment": run.experiment, "status": run.status.value,
            "start_time": run.start_time.strftime("%Y-%m-%dT%H:%M:%S.%fZ"), "duration": run.duration,
            "notebook": run.notebook, "parent_run_id": run.parent_run_id}


def _same(x: Any, y: Any) -> bool:
    """Equal values, NaN equal to NaN (a param logged as NaN twice did not change)."""
    if isinstance(x, float) and isinstance(y, float) and math.isnan(x) and math.isnan(y):
        return True
    if isinstance(x, bool) != isinstance(y, bool):
        return False  # True == 1, but a flag that became a count changed
    return bool(x == y)


def params_diff(old: dict[str, Any], new: dict[str, Any]) -> list[dict[str, Any]]:
    """Params changed, added (in B only) and removed (in A only), with both values, by key."""
    rows = []
    for key in sorted(set(old) | set(new)):
        if key not in new:
            rows.append({"key": key, "change": "removed", "a": old[key], "b": None})
        elif key not in old:
            rows.append({"key": key, "change": "added", "a": None, "b": new[key]})
        elif not _same(old[key], new[key]):
            rows.append({"key": key, "change": "changed", "a": old[key], "b": new[key]})
    return rows


def metrics_diff(old: dict[str, float], new: dict[str, float]) -> list[dict[str, Any]]:
    """Every metric's final value in A and B, B - A, and whether B is better or worse by the metric's
    direction (`metric_direction`); system/... metrics are left out."""
    rows = []
    for key in sorted(set(old) | set(new)):
        if key.startswith(system.PREFIX):  # machine load sampled during a run: not a result of it
            continue
        x, y = old.get(key), new.get(key)
        direction = metric_direction(key)
        row: dict[str, Any] = {"key": key, "a": x, "b": y, "difference": None, "direction": direction}
        if x is None or y is None:
            row["verdict"] = "removed" if y is None else "added"
        elif math.isnan(x) or math.isnan(y) or math.isinf(x) or math.isinf(y):
            row["verdict"] = "same" if _same(x, y) or x == y else "changed"
        else:
            row["difference"] = y - x
            row["verdict"] = "same" if y == x else "better" if (y > x) == (direction == "max") else "worse"
        rows.append(row)
    return rows


def _artifact(store: Store, run: Run, path: str) -> bytes | None:
    sha = next((a.sha256 for a in run.artifacts if a.path == path), None)
    if sha is None:
        return None
    try:
        return store.read_verified(sha, f"{path} of run {run.run_id}")
    except NbmlopsError:  # a collected or damaged file: the rest of the diff still stands
        return None


def _code(store: Store, first: Run, second: Run) -> dict[str, Any] | None:
    notebooks = [_artifact(store, r, "notebook/source.ipynb") for r in (first, second)]
    if notebooks[0] is not None and notebooks[1] is not None:
        try:
            found = codediff.notebook_changes(notebooks[0], notebooks[1])
        except InvalidInputError as exc:  # a damaged notebook file: the other sections still stand
            return {"kind": "note", "note": str(exc)}
        return {"kind": "notebook", **found} if found["changes"] else None
    cells = [_artifact(store, r, "cell.py") for r in (first, second)]
    if cells[0] is not None and cells[1] is not None:
        texts = [cells[0].decode("utf-8", "replace"), cells[1].decode("utf-8", "replace")]
        histories = [codediff.history_before_cell(h.decode("utf-8", "replace")) if h is not None else ""
                     for h in (_artifact(store, r, "provenance/history.py") for r in (first, second))]
        cell, history = codediff.unified(texts[0], texts[1]), codediff.unified(histories[0], histories[1])
        return {"kind": "cell", "cell": cell, "history": history} if cell or history else None
    kinds = ["notebook" if n is not None else "cell" if c is not None else None
             for n, c in zip(notebooks, cells, strict=True)]
    if kinds[0] != kinds[1] and all(kinds):
        return {"kind": "note", "note": f"run A ran a {kinds[0]}, run B a {kinds[1]}: their code is not compared"}
    return None


def notebook_diff(store: Store, run_a: str, run_b: str) -> dict[str, Any] | None:
    """nbdime's diff of the notebooks two jobs ran, for nbdime's diff view (`codediff.notebook_diff`);
    None unless both runs (ids) are notebook jobs whose notebooks can be read."""
    first, second = get_run(store, run_a), get_run(store, run_b)
    notebooks = [_artifact(store, r, "notebook/source.ipynb") for r in (first, second)]
    if notebooks[0] is None or notebooks[1] is None:
        return None
    try:
        return codediff.notebook_diff(notebooks[0], notebooks[1])
    except InvalidInputError:  # a damaged notebook: the code section's note says so
        return None


def _data(store: Store, old: list[tuple[str, str, int, str]], new: list[tuple[str, str, int, str]],
          rows: bool) -> list[dict[str, Any]]:
    """Per role and dataset name, the versions A and B used and, when they differ, what changed."""
    by_a = {(role, name): (version, fp) for role, name, version, fp in old}
    by_b = {(role, name): (version, fp) for role, name, version, fp in new}
    entries = []
    for role, name in sorted(set(by_a) | set(by_b)):
        x, y = by_a.get((role, name)), by_b.get((role, name))
        entry: dict[str, Any] = {"role": role, "name": name,
                                 "a": None if x is None else {"version": x[0], "fingerprint": x[1]},
                                 "b": None if y is None else {"version": y[0], "fingerprint": y[1]},
                                 "same": x is not None and y is not None and x[1] == y[1]}
        if x is not None and y is not None and x[1] != y[1]:
            try:
                entry["changes"] = _dataset_changes(datadiff.diff(store, name, x[0], y[0], rows=rows))
            except NbmlopsError as exc:
                entry["changes"] = {"notes": [str(exc)]}
        entries.append(entry)
    return entries


def _dataset_changes(found: datadiff.DatasetDiff) -> dict[str, Any]:
    # A column added or removed is one schema line, not a line per statistic it has on one side only.
    one_sided = set(found.schema.loc[found.schema["change"] != "dtype", "column"])
    stats = [r for r in found.stats.to_dict("records")
             if r["column"] not in one_sided and not _same(r["old"], r["new"])]
    return {"rows": list(found.rows), "schema": found.schema.to_dict("records"),
            "added": found.added, "removed": found.removed, "changed": found.changed,
            "statistics": stats[:MAX_STATS], "statistics_left_out": max(0, len(stats) - MAX_STATS),
            "notes": list(found.notes)}


def _environment(store: Store, first: Run, second: Run) -> dict[str, Any] | None:
    envs: list[dict[str, Any]] = []
    for run in (first, second):
        raw = _artifact(store, run, "provenance/environment.json")
        try:
            env = json.loads(raw) if raw else {}
        except ValueError:
            env = {}
        envs.append(env if isinstance(env, dict) else {})
    found: dict[str, Any] = {}
    for key, tag in (("python", "python"), ("platform", "platform")):
        values = [envs[i].get(key) or (first, second)[i].tags.get(tag) for i in (0, 1)]
        if values[0] != values[1]:
            found[key] = values
    old, new = ({str(k): v for k, v in e["packages"].items()} if isinstance(e.get("packages"), dict) else {}
                for e in envs)
    changes = [{"package": p, "change": "removed" if p not in new else "added" if p not in old else "changed",
                "a": old.get(p), "b": new.get(p)}
               for p in sorted(set(old) | set(new), key=str.lower) if old.get(p) != new.get(p)]
    if changes:
        found["packages"] = changes
    return found or None


def _git(store: Store, first: Run, second: Run) -> dict[str, Any] | None:
    commits = [r.tags.get("git.commit") for r in (first, second)]
    diffs = [(_artifact(store, r, "provenance/git.diff") or b"").decode("utf-8", "replace") for r in (first, second)]
    if not any(commits) and not any(diffs):
        return None
    found: dict[str, Any] = {"commits": commits, "branches": [r.tags.get("git.branch") for r in (first, second)],
                             "dirty": [r.tags.get("git.dirty") == "true" for r in (first, second)]}
    if commits[0] != commits[1]:
        if commits[0] and commits[1]:
            root = second.tags.get("git.root") or first.tags.get("git.root") or ""
            # None: the repository (or one of the commits) is not on this machine
            found["between"] = provenance.commits_between(root, commits[0], commits[1])
            found["behind"] = provenance.commits_between(root, commits[1], commits[0]) or []
    elif diffs[0] == diffs[1]:
        return None
    if diffs[0] != diffs[1]:
        found["diffs"] = [_cut(d) for d in diffs]
    return found


def _cut(text: str) -> str:
    lines = text.splitlines()
    if len(lines) <= MAX_DIFF_LINES:
        return text
    return "\n".join(lines[:MAX_DIFF_LINES]) + f"\n[{len(lines) - MAX_DIFF_LINES} more lines]"
