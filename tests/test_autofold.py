"""The background fold: after writers close their journals the catalog becomes current without a reader."""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest
from conftest import run_python

import nbmlops
from nbmlops.store import autofold
from nbmlops.store.folder import Store

WRITE = """
import sys, nbmlops
with nbmlops.start_run(name=sys.argv[1]):
    nbmlops.log_params({"lr": 0.1, "tag": sys.argv[1]})
    nbmlops.log_metric("loss", 0.5)
"""


@pytest.fixture(autouse=True)
def autofold_on(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(autofold.ENV_VAR, "1")


def _catalog_runs(store: Store) -> list[tuple[str, str]]:
    """The catalog's runs read with plain DuckDB (no nbmlops reader, which would fold itself)."""
    con = duckdb.connect(str(store.catalog_path), read_only=True)
    try:
        return con.execute("SELECT name, status FROM runs ORDER BY name").fetchall()
    finally:
        con.close()


def _settled(store: Store, timeout: float = 20.0) -> None:
    """Wait until no journal is left to fold and no folder holds the catalog or the fold lock."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        fd = os.open(store.journal_dir / autofold.LOCK_NAME, os.O_RDWR | os.O_CREAT)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            fcntl.flock(fd, fcntl.LOCK_UN)
            free = True
        except OSError:
            free = False
        finally:
            os.close(fd)
        if free:
            return
        time.sleep(0.02)
    raise AssertionError("the background fold did not finish")


def test_closed_journals_are_folded_and_retired_without_any_reader(fresh_store: Store) -> None:
    for k in range(6):
        run_python(WRITE, fresh_store, f"run-{k}")
    _settled(fresh_store)
    assert _catalog_runs(fresh_store) == [(f"run-{k}", "FINISHED") for k in range(6)]
    assert list(nbmlops.store.journal.list_journals(fresh_store.journal_dir)) == []
    assert len(list((fresh_store.journal_dir / "done").glob("*.jnl"))) == 6
    found = nbmlops.runs(where="params.tag = 'run-3'")
    assert list(found["name"]) == ["run-3"] and list(found["metrics.loss"]) == [0.5]


def test_many_writers_at_once_with_a_reader_polling_lose_and_duplicate_nothing(fresh_store: Store) -> None:
    env = {**os.environ, "NBMLOPS_STORE": str(fresh_store.root)}
    writers = [subprocess.Popen([sys.executable, "-c", WRITE, f"w{k:02d}"], env=env) for k in range(12)]
    seen = 0
    while any(w.poll() is None for w in writers):
        seen = max(seen, len(nbmlops.runs()))  # readers fold too, racing the folder for the catalog
        fresh_store.release()
        time.sleep(0.01)
    assert all(w.returncode == 0 for w in writers)
    _settled(fresh_store)
    names = sorted(nbmlops.runs()["name"])
    assert names == [f"w{k:02d}" for k in range(12)]
    assert seen <= 12


def test_no_catalog_means_no_folder_and_nothing_created(tmp_path: Path) -> None:
    root = tmp_path / "never-read"
    result = subprocess.run([sys.executable, "-c", WRITE, "first"], capture_output=True, text=True,
                            env={**os.environ, "NBMLOPS_STORE": str(root)}, timeout=120)
    assert result.returncode == 0, result.stderr
    time.sleep(0.5)
    assert not (root / "store.duckdb").exists()  # the first reader creates it, and folds
    assert len(list(nbmlops.store.journal.list_journals(root / "journals"))) == 1


def test_turned_off_leaves_the_fold_to_readers(fresh_store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(autofold.ENV_VAR, "0")
    run_python(WRITE, fresh_store, "kept")
    time.sleep(0.5)
    assert _catalog_runs(fresh_store) == []
    assert len(list(nbmlops.store.journal.list_journals(fresh_store.journal_dir))) == 1
    assert list(nbmlops.runs()["name"]) == ["kept"]


def test_one_folder_at_a_time(fresh_store: Store) -> None:
    held = autofold._take(fresh_store.journal_dir)
    assert held is not None
    try:
        assert autofold.after_close(fresh_store) is False  # a folder "runs": nobody starts another
        run_python(WRITE, fresh_store, "waits")
        time.sleep(0.5)
        assert _catalog_runs(fresh_store) == []
    finally:
        os.close(held)


def test_a_damaged_catalog_is_left_untouched_and_the_reader_still_says_what_to_do(fresh_store: Store) -> None:
    run_python(WRITE, fresh_store, "before")
    _settled(fresh_store)
    with open(fresh_store.catalog_path, "r+b") as f:
        f.seek(4096)
        f.write(b"\xff" * 8192)
    damaged = fresh_store.catalog_path.read_bytes()
    run_python(WRITE, fresh_store, "after")
    _settled(fresh_store)
    assert fresh_store.catalog_path.read_bytes() == damaged
    assert len(list(nbmlops.store.journal.list_journals(fresh_store.journal_dir))) == 1  # left for a reader
    with pytest.raises(nbmlops.errors.CorruptStoreError, match="is damaged and cannot be read"):
        nbmlops.runs()


def test_a_removed_store_is_not_recreated(tmp_path: Path) -> None:
    store = Store(tmp_path / "gone")
    store.init()
    store.release()
    lock = autofold._take(store.journal_dir)
    assert lock is not None
    import shutil

    shutil.rmtree(store.root)
    autofold.serve(store.root, lock)  # returns at once: nothing to fold into
    assert not store.root.exists()


MANY = """
import nbmlops
for i in range(150):
    with nbmlops.start_run(name=f"many-{i:03d}"):
        nbmlops.log_params({f"p{k}": i + k for k in range(10)})
        nbmlops.log_metrics({f"m{k}": i / 7 + k for k in range(5)})
"""


def test_a_writer_of_many_runs_folds_its_own_journal_as_it_exits(fresh_store: Store) -> None:
    run_python(MANY, fresh_store)
    # No waiting: the catalog was current when the writer's process ended.
    rows = _catalog_runs(fresh_store)
    assert len(rows) == 150 and rows[0] == ("many-000", "FINISHED") and rows[-1] == ("many-149", "FINISHED")
    assert list(nbmlops.store.journal.list_journals(fresh_store.journal_dir)) == []


def test_a_writer_finding_the_catalog_held_exits_at_once_and_leaves_the_fold_to_a_folder(fresh_store: Store) -> None:
    held = duckdb.connect(str(fresh_store.catalog_path))  # another process's view: locked for the writer
    try:
        start = time.monotonic()
        run_python(MANY, fresh_store)
        assert time.monotonic() - start < 60  # it did not wait for the catalog (that would take 60 s)
        assert len(list(nbmlops.store.journal.list_journals(fresh_store.journal_dir))) == 1
    finally:
        held.close()
    _settled(fresh_store)
    assert len(nbmlops.runs()) == 150  # folded by the folder, or else by this reader: nothing lost
