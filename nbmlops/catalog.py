"""The DuckDB catalog file: opened briefly, with backoff on another process's lock, migrated.

DuckDB lets one process open a file read-write and locks every other process out, even readers.
So nobody keeps the catalog open: each read or ingest opens it, works for milliseconds and closes.
"""

from __future__ import annotations

import random
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from .errors import CorruptStoreError, StoreLockedError, StoreVersionError
from .schema import MIGRATIONS, latest_version

LOCK_WAIT_SECONDS = 60.0
_process_lock = threading.RLock()  # one catalog connection at a time inside a process


@contextmanager
def open_catalog(path: Path, *, wait: float | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-write connection to an up-to-date catalog, closed on exit."""
    with _process_lock:
        con = _connect(path, LOCK_WAIT_SECONDS if wait is None else wait)
        try:
            con.execute("SET TimeZone = 'UTC'")  # stored timestamps are naive UTC
            _migrate(con, path)
            yield con
        finally:
            con.close()


def _connect(path: Path, wait: float) -> duckdb.DuckDBPyConnection:
    deadline = time.monotonic() + wait
    delay = 0.002
    while True:
        try:
            return duckdb.connect(str(path), config={"threads": 2})
        except duckdb.IOException as exc:
            text = str(exc)
            if "lock" not in text.lower():
                raise _corrupt(path, exc) from exc
            if time.monotonic() >= deadline:
                found = re.search(r"held in (.*?) \(PID (\d+)\)", text)
                holder = f"PID {found.group(2)} ({found.group(1)})" if found else "another process"
                raise StoreLockedError(
                    f"catalog {path} stayed locked for {wait:.0f} s by {holder}: "
                    "stop the process that holds it open with plain duckdb, then retry") from exc
            time.sleep(delay * (0.5 + random.random()))
            delay = min(delay * 2, 0.1)
        except duckdb.Error as exc:
            raise _corrupt(path, exc) from exc


def _corrupt(path: Path, exc: Exception) -> CorruptStoreError:
    detail = str(exc).splitlines()[0][:200]
    return CorruptStoreError(
        f"catalog {path} cannot be read ({detail}); it was left untouched: restore it from a "
        "backup, or move it aside to start an empty catalog")


def schema_version(con: duckdb.DuckDBPyConnection) -> int:
    """The highest migration applied to this catalog (0 for a new file)."""
    exists = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'schema_migrations'"
    ).fetchone()
    if not exists or not exists[0]:
        return 0
    row = con.execute("SELECT coalesce(max(version), 0) FROM schema_migrations").fetchone()
    return int(row[0]) if row else 0


def _migrate(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    try:
        current = schema_version(con)
    except duckdb.Error as exc:
        raise _corrupt(path, exc) from exc
    if current > latest_version():
        raise StoreVersionError(
            f"store at {path.parent} is schema version {current}, this nbmlops reads up to "
            f"{latest_version()}: pip install -U nbmlops (the store was not changed)")
    if current == latest_version():
        return
    if current == 0:
        con.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations "
            "(version INTEGER PRIMARY KEY, name VARCHAR NOT NULL, applied_at TIMESTAMP NOT NULL)")
    for migration in MIGRATIONS[current:]:
        con.execute("BEGIN TRANSACTION")
        try:
            migration.apply(con)
            con.execute("INSERT INTO schema_migrations VALUES (?, ?, now()::TIMESTAMP)",
                        [migration.version, migration.name])
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
