"""The catalog backend seam: a dialect without ON CONFLICT and RETURNING (as DuckLake's, the team
store's, will be) folds the same journals into the same catalog as the local DuckDB file's."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pytest
from conftest import run_python, spawn_python

from nbmlops.store.autofold import ENV_VAR as AUTOFOLD
from nbmlops.store.catalog import LocalCatalog
from nbmlops.store.dialect import Dialect, DuckDBFile
from nbmlops.store.folder import Store

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


class MergeDialect(DuckDBFile):
    """Spelled as for tables without PRIMARY KEY or UNIQUE: MERGE, and a SELECT before an UPDATE."""

    def insert_new(self, table: str, keys: Sequence[str], rows: str) -> str:
        return f"MERGE INTO {table} USING ({rows}) AS excluded ON {_on(table, keys)} WHEN NOT MATCHED THEN INSERT"

    def upsert(self, table: str, keys: Sequence[str], rows: str, assignments: str, when: str | None = None) -> str:
        matched = f"WHEN MATCHED AND ({when})" if when else "WHEN MATCHED"
        return (f"MERGE INTO {table} USING ({rows}) AS excluded ON {_on(table, keys)} "
                f"{matched} THEN UPDATE SET {assignments} WHEN NOT MATCHED THEN INSERT")

    def update_returning(self, con: duckdb.DuckDBPyConnection, table: str, assignments: str, where: str,
                         params: Sequence[Any], returning: str) -> list[Any]:
        bound = assignments.count("?")
        keys = [r[0] for r in con.execute(f"SELECT {returning} FROM {table} WHERE {where}",
                                          list(params[bound:])).fetchall()]
        con.execute(f"UPDATE {table} SET {assignments} WHERE {where}", list(params))
        return keys


def _on(table: str, keys: Sequence[str]) -> str:
    return " AND ".join(f"{table}.{key} = excluded.{key}" for key in keys)


@dataclass(frozen=True)
class MergeCatalog(LocalCatalog):
    @property
    def dialect(self) -> Dialect:
        return MergeDialect()


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
