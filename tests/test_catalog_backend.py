"""The catalog backend seam: a dialect without ON CONFLICT and RETURNING, on tables without PRIMARY KEYs
(as DuckLake's, the team store's, will be), folds the same journals, keeps the same registry, gc and
monitoring rows and moves the same bundles as the local DuckDB file's."""

from __future__ import annotations

import ast
import datetime as dt
import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pytest
from conftest import ROOT, run_python, spawn_python
from sklearn.linear_model import LogisticRegression

import nbmlops
from nbmlops.store import disk
from nbmlops.store import models as store_models
from nbmlops.store.autofold import ENV_VAR as AUTOFOLD
from nbmlops.store.bundles import export_bundle, import_bundle
from nbmlops.store.catalog import LocalCatalog, transaction
from nbmlops.store.dialect import DUCKLAKE, Dialect, DuckLake, bind
from nbmlops.store.folder import Store
from nbmlops.tracking import tracker as tracking

LONG_RUN = """
import os, sys, time, nbmlops
from nbmlops.tracking.tracker import tracker
nbmlops.start_run(name="long")
nbmlops.log_param("p", 1)
nbmlops.log_metric("m", 1.0, step=2)
nbmlops.set_tags({"t": "x", "gone": "soon"})
tracker().flush()
print("ready", flush=True)
while not os.path.exists(sys.argv[1]):  # the test folds meanwhile
    time.sleep(0.01)
nbmlops.log_metric("m", 5.0, step=1)  # a lower step: the latest value stays the step-2 one ...
nbmlops.log_metric("m", 3.0, step=2)  # ... which this later point at the same step replaces
nbmlops.set_tags({"t": "y"})
nbmlops.delete_tag("gone")
nbmlops.end_run()
"""
DATA_RUN = """
import sys, pathlib, nbmlops
import pandas as pd
with nbmlops.start_run(name=sys.argv[1]):
    nbmlops.log_dataset(pd.DataFrame({"x": [1, 2, 3]}), name="frame", role="train", snapshot=False)
    path = pathlib.Path(sys.argv[2]) / (sys.argv[1] + ".txt")
    path.write_text(sys.argv[1])
    nbmlops.log_artifact(path, name="note.txt")
    nbmlops.log_artifact(path, name="note.txt")  # logged again under the same name
    nbmlops.log_metrics({"a": 1.0, "b": float("nan")})
"""
KILLED_RUN = """
import os, nbmlops
from nbmlops.tracking.tracker import tracker
nbmlops.start_run(name="killed")
nbmlops.log_metric("m", 1.0)
tracker().flush()
os._exit(0)  # no close event: the writer is gone, its run was killed
"""


class MergeDialect(DuckLake):
    """The team store's spelling (MERGE, a SELECT before an UPDATE or DELETE) on a local file, but
    without its counter row: what registry writes would do if nothing serialised them."""

    def serialize(self, con: duckdb.DuckDBPyConnection, scope: str) -> None:
        pass


@dataclass(frozen=True)
class MergeCatalog(LocalCatalog):
    @property
    def dialect(self) -> Dialect:
        return MergeDialect()


def _without_constraints(store: Store) -> None:
    """Rebuild every catalog table without its PRIMARY KEY, as DuckLake's tables are: a statement that
    still leans on one (`ON CONFLICT`) then fails."""
    with store.catalog.connect() as con:
        tables = [r[0] for r in con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database()").fetchall()]
        for table in tables:
            con.execute(f"CREATE TABLE nb_copy AS SELECT * FROM {table}")
            con.execute(f"DROP TABLE {table}")
            con.execute(f"ALTER TABLE nb_copy RENAME TO {table}")
        assert not con.execute("SELECT count(*) FROM duckdb_constraints() WHERE database_name = current_database() "
                               "AND constraint_type IN ('PRIMARY KEY', 'UNIQUE')").fetchone()[0]  # type: ignore[index]


def _story(store: Store, tmp: Path) -> None:
    """Runs written across two folds: one ends in the later fold, one is killed, two share a dataset."""
    go_on = tmp / "go-on"
    long = spawn_python(LONG_RUN, store, str(go_on))
    assert long.stdout is not None
    assert long.stdout.readline().strip() == "ready"
    run_python(DATA_RUN, store, "first", str(tmp))
    run_python(KILLED_RUN, store)
    assert store.refresh().killed_runs
    go_on.touch()
    assert long.wait(60) == 0
    run_python(DATA_RUN, store, "second", str(tmp))
    store.refresh()


def _tables(store: Store) -> dict[str, list[tuple[Any, ...]]]:
    """What the catalog holds, by run name (run ids and times differ between two stories, and so do
    the provenance tags and artifacts of each process)."""
    with store.reading(refresh=False) as con:
        def named(columns: str, table: str, where: str = "true") -> list[tuple[Any, ...]]:
            return con.execute(f"SELECT r.name, {columns} FROM {table} x JOIN runs r USING (run_id) "
                               f"WHERE {where} ORDER BY ALL").fetchall()

        return {
            "runs": con.execute("SELECT name, status, end_time IS NOT NULL FROM runs ORDER BY ALL").fetchall(),
            "params": named("key, value, value_type", "params"),
            "latest": named("key, step, value::VARCHAR", "latest_metrics"),
            "tags": named("key, value", "tags", "key IN ('t', 'gone')"),
            "artifacts": named("path, sha256, size", "artifacts", "path = 'note.txt'"),
            "datasets": con.execute("SELECT name, fingerprint, rows FROM datasets ORDER BY ALL").fetchall(),
            "uses": named("x.name, role", "run_datasets"),
        }


def test_a_dialect_without_on_conflict_or_returning_folds_the_same_catalog(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(AUTOFOLD, "0")  # every fold is this process's, through the backend under test
    found = {}
    for name, backend in (("local", LocalCatalog), ("merge", MergeCatalog)):
        store = Store(tmp_path / name / ".nbmlops")
        store.init()
        store.catalog = backend(store.catalog_path)
        if backend is MergeCatalog:
            _without_constraints(store)
        (tmp_path / name / "files").mkdir()
        _story(store, tmp_path / name / "files")
        found[name] = _tables(store)
        store.release()
    local = found["local"]
    assert local["runs"] == [("first", "FINISHED", True), ("killed", "KILLED", True), ("long", "FINISHED", True),
                             ("second", "FINISHED", True)]
    assert ("long", "m", 2, "3.0") in local["latest"]
    assert [row for row in local["tags"] if row[0] == "long"] == [("long", "t", "y")]
    assert len(local["datasets"]) == 1 and len(local["uses"]) == 2
    assert found["merge"] == local


def _use(store: Store) -> None:
    """Make `store` (with the backend under test) the one this process's tracking API writes to."""
    if tracking._default is not None:
        tracking._default.close()
    tracking._default = tracking.Tracker(store)


def _fitted(seed: int) -> tuple[Any, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"age": rng.normal(40, 10, 300), "visits": rng.poisson(6, 300).astype(float)})
    return LogisticRegression().fit(frame, (frame["age"] > 40).astype(int)), frame


def _registry_story(store: Store, other: Store, files: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """Models registered, promoted, moved and removed with audit; a batch monitored; runs pinned,
    unpinned and collected; everything exported and imported (twice) into `other`, which already has
    a model of the same name. Returns the import's report."""
    _use(store)
    for seed, name in ((1, "first"), (2, "second")):
        model, frame = _fitted(seed)
        with nbmlops.start_run(experiment="registry", name=name):
            nbmlops.log_metric("accuracy", 0.8 + seed / 100)
            nbmlops.log_model(model, "churn", reference_data=frame)
    (files / "scratch.txt").write_text("nobody keeps me")
    with nbmlops.start_run(experiment="registry", name="scratch") as scratch:
        nbmlops.log_artifact(files / "scratch.txt")
    with nbmlops.start_run(experiment="registry", name="pinned") as pinned:
        (files / "pinned.txt").write_text("kept")
        nbmlops.log_artifact(files / "pinned.txt")
    nbmlops.promote("churn", 1, "production")
    nbmlops.promote("churn", 2, "production", gate="metrics.accuracy > champion.metrics.accuracy", reason="better")
    nbmlops.promote("churn", 1, "staging")
    nbmlops.unalias("churn", "staging", reason="done")
    nbmlops.monitor("churn@production", _fitted(3)[1])
    nbmlops.pin(pinned.run_id, "the paper")
    nbmlops.pin(scratch.run_id)
    nbmlops.unpin(scratch.run_id)
    monkeypatch.setattr(disk, "GRACE_SECONDS", 0)  # every run and file is old enough to go
    time.sleep(0.05)
    collected = disk.gc(store, dry_run=False)
    monkeypatch.undo()
    assert collected.runs == [scratch.run_id]
    bundle = export_bundle(store, files / "all.tar.gz")
    _use(other)
    with nbmlops.start_run(experiment="there", name="theirs"):
        nbmlops.log_model(_fitted(4)[0], "churn")
    first = import_bundle(other, bundle)
    again = import_bundle(other, bundle)
    assert (again.runs_added, again.models_added) == (0, 0)
    # Without the count of artifact files: runs that store equal content (provenance) within the same
    # second share a file, so two stories may differ there whatever the backend.
    return re.sub(r"\d+ artifact files?", "", first.summary())


def _registry_tables(store: Store) -> dict[str, list[tuple[Any, ...]]]:
    """What the catalog holds of the registry story, by run name and without times or ids."""
    with store.reading() as con:
        def rows(sql: str) -> list[tuple[Any, ...]]:
            return con.execute(sql + " ORDER BY ALL").fetchall()

        return {
            "counts": [(t, con.execute(f"SELECT count(*) FROM {t}").fetchone()[0])  # type: ignore[index]
                       for t in ("runs", "experiments", "tags", "artifacts", "datasets", "run_datasets",
                                 "registered_models", "model_versions", "model_aliases", "alias_audit",
                                 "model_references", "monitoring_reports", "monitoring_features")],
            "models": rows("SELECT name, description FROM registered_models"),
            "versions": rows("SELECT v.name, v.version, r.name FROM model_versions v "
                             "LEFT JOIN runs r USING (run_id)"),
            "aliases": rows("SELECT name, alias, version FROM model_aliases"),
            "audit": con.execute("SELECT name, alias, from_version, to_version, reason, gate IS NOT NULL "
                                 "FROM alias_audit ORDER BY changed_at, alias").fetchall(),
            "references": rows("SELECT name, version, rows, columns FROM model_references"),
            "reports": rows("SELECT name, version, n_rows, n_columns, drifted_columns FROM monitoring_reports"),
            "features": rows("SELECT column_name, kind, drifted FROM monitoring_features"),
            "tags": rows("SELECT r.name, t.key, left(t.value, 30) FROM tags t JOIN runs r USING (run_id) "
                         "WHERE t.key IN ('pinned', 'gc.removed') OR t.key LIKE 'model.%'"),
            "artifacts": rows("SELECT r.name, a.path FROM artifacts a JOIN runs r USING (run_id)"),
        }


def test_a_dialect_without_on_conflict_or_returning_keeps_the_same_registry_and_moves_the_same_bundles(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(AUTOFOLD, "0")
    previous = tracking._default
    found, reports = {}, {}
    try:
        for name, backend in (("local", LocalCatalog), ("merge", MergeCatalog)):
            stores = []
            for role in ("here", "there"):
                store = Store(tmp_path / name / role / ".nbmlops")
                store.init()
                store.catalog = backend(store.catalog_path)
                if backend is MergeCatalog:
                    _without_constraints(store)
                stores.append(store)
            (tmp_path / name / "files").mkdir()
            with monkeypatch.context() as patched:
                reports[name] = _registry_story(stores[0], stores[1], tmp_path / name / "files", patched)
            found[name] = (_registry_tables(stores[0]), _registry_tables(stores[1]))
            for store in stores:
                store.release()
    finally:
        if tracking._default is not None:
            tracking._default.close()
        tracking._default = previous
    here, there = found["local"]
    assert here["aliases"] == [("churn", "production", 2)]
    assert here["audit"] == [("churn", "production", None, 1, None, False),
                             ("churn", "production", 1, 2, "better", True),
                             ("churn", "staging", None, 1, None, False), ("churn", "staging", 1, None, "done", False)]
    assert ("pinned", "pinned", "the paper") in here["tags"]
    assert [row[:2] for row in here["tags"] if row[1] != "pinned" and not row[1].startswith("model.")] == \
        [("scratch", "gc.removed")]
    assert ("scratch", "scratch.txt") not in here["artifacts"] and ("pinned", "pinned.txt") in here["artifacts"]
    assert len(here["reports"]) == 1 and here["features"]
    assert there["versions"] == [("churn", 1, "theirs"), ("churn", 2, "first"), ("churn", 3, "second")]
    assert "churn version 1 is version 2 here" in reports["local"]
    assert found["merge"] == found["local"]
    assert reports["merge"] == reports["local"]  # the number of artifact files left out (see _registry_story)


def _add_version(con: duckdb.DuckDBPyConnection, number: int) -> int:
    return store_models.add_version(con, "churn", run_id=None, artifact_path="models/churn/model.skops",
                                    sha256=f"{number:064d}", size=1, flavor="sklearn-skops",
                                    model_class="LogisticRegression", signature_json=None,
                                    created_at=dt.datetime(2026, 1, number), user=None)


@pytest.mark.parametrize("dialect, versions, models", [(MergeDialect(), [1, 1], 2), (DUCKLAKE, [1, 2], 1)],
                         ids=["inserts-only", "counter-row"])
def test_concurrent_registrations_without_primary_keys_share_a_number_unless_they_serialize(
        tmp_path: Path, dialect: Dialect, versions: list[int], models: int) -> None:
    """Two transactions registering a model at once, on tables without PRIMARY KEY: inserts never
    conflict, so both take number 1 and register the model twice; a `serialize` that UPDATEs one
    counter row makes the second fail at once, and run again after the first committed, it takes
    number 2."""
    store = Store(tmp_path / ".nbmlops")
    store.init()
    _without_constraints(store)
    with store.catalog.connect() as con:
        con.execute("CREATE TABLE registry_clock AS SELECT 0 AS n")  # `nbmlops init` makes it on the team store
        first, second = bind(con.cursor(), dialect), bind(con.cursor(), dialect)
        numbers = []
        with transaction(first):
            numbers.append(_add_version(first, 1))
            try:
                with transaction(second):
                    numbers.append(_add_version(second, 2))
            except duckdb.TransactionException:
                retry = True
            else:
                retry = False
        if retry:  # what the team backend's transaction does with a conflict: the whole write again
            with transaction(second):
                numbers.append(_add_version(second, 2))
        assert numbers == versions
        assert con.execute("SELECT count(*) FROM registered_models").fetchone()[0] == models  # type: ignore[index]
    store.release()


def test_catalog_sql_that_a_backend_spells_its_own_way_is_written_only_in_the_dialect() -> None:
    """No statement outside store/dialect.py says ON CONFLICT, RETURNING, nextval or information_schema."""
    words = ("ON CONFLICT", "RETURNING", "NEXTVAL", "INFORMATION_SCHEMA")
    found = []
    for path in sorted((ROOT / "nbmlops").rglob("*.py")):
        if path.relative_to(ROOT).as_posix() == "nbmlops/store/dialect.py":
            continue
        tree = ast.parse(path.read_text())
        docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                      if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
                      and node.body and isinstance(node.body[0], ast.Expr)}
        found += [f"{path.relative_to(ROOT)}:{node.lineno}" for node in ast.walk(tree)
                  if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings
                  and any(word in node.value.upper() for word in words)]
    assert found == []


SCRIPT_THAT_WRITES_THEN_READS = """
import nbmlops
parent = nbmlops.start_run(experiment="exit", name="parent")
nbmlops.set_tags({"sweep.metric": "loss"})
for trial, status in ((0, "FINISHED"), (1, "PRUNED"), (2, "FAILED")):
    nbmlops.start_run(experiment="exit", name=f"r{trial}", parent=parent, tags={"sweep.trial": str(trial)})
    nbmlops.log_metric("loss", 0.5, step=1)
    nbmlops.end_run(status)
nbmlops.end_run("KILLED")
print(len(nbmlops.runs("exit")))
"""


def test_a_script_that_writes_then_reads_exits_cleanly_every_time(tmp_path: Path) -> None:
    # Its exit folds the journal into the catalog after the catalog's exit hook ran; the idle-closer
    # thread used to drop that connection while the interpreter finalized: an abort 1 time in 10.
    env = {**os.environ, "NBMLOPS_STORE": str(tmp_path / "store"), "NBMLOPS_SYSTEM_METRICS": "0"}
    for attempt in range(24):
        done = subprocess.run([sys.executable, "-c", SCRIPT_THAT_WRITES_THEN_READS], env=env, capture_output=True,
                              text=True, timeout=120)
        assert done.returncode == 0, f"attempt {attempt}: exit {done.returncode}: {done.stderr[-300:]}"
        assert done.stdout.strip() == str(4 * (attempt + 1))


def test_one_snapshot_reads_in_one_transaction_or_in_the_one_already_open(tmp_path: Path) -> None:
    from nbmlops.store.catalog import one_snapshot, transaction

    con = duckdb.connect(str(tmp_path / "c.duckdb"))
    con.execute("CREATE TABLE t (x INTEGER)")
    other = duckdb.connect(str(tmp_path / "c.duckdb"))  # another connection of the same process
    with one_snapshot(con):
        before = con.execute("SELECT count(*) FROM t").fetchone()
        other.execute("INSERT INTO t VALUES (1)")  # committed meanwhile: not in this snapshot
        assert con.execute("SELECT count(*) FROM t").fetchone() == before == (0,)
    assert con.execute("SELECT count(*) FROM t").fetchone() == (1,)
    with transaction(con), one_snapshot(con):  # inside a write: the write's transaction is the snapshot
        con.execute("INSERT INTO t VALUES (2)")
    assert con.execute("SELECT count(*) FROM t").fetchone() == (2,)
    with pytest.raises(duckdb.CatalogException), one_snapshot(con):
        con.execute("SELECT * FROM no_such_table")
    assert con.execute("SELECT count(*) FROM t").fetchone() == (2,)  # ended: the connection reads on
