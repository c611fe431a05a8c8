"""The DuckDB catalog file: leased briefly, with backoff on another process's lock, migrated.

DuckDB lets one process open a file read-write and locks every other process out, even readers.
So nobody keeps the catalog open for long. Opening costs ~30 ms, though, so a process keeps its
connection for a short lease: reads in quick succession (a notebook cell, a widget, the REST API)
share one connection, which is closed once idle for IDLE_SECONDS or held for MAX_HOLD_SECONDS.
Other processes wait for it with backoff.
"""

from __future__ import annotations

import atexit
import os
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
IDLE_SECONDS = 0.25
MAX_HOLD_SECONDS = 2.0
_process_lock = threading.RLock()  # one catalog connection at a time inside a process


class _Lease:
    """This process's open connection to one catalog file."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con
        self.opened = self.used = time.monotonic()


_leases: dict[Path, _Lease] = {}
_closer: threading.Thread | None = None


@contextmanager
def open_catalog(path: Path, *, wait: float | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-write connection to an up-to-date catalog, leased for this block."""
    with _process_lock:
        lease = _leases.get(path)
        if lease is None:
            con = _connect(path, LOCK_WAIT_SECONDS if wait is None else wait)
            try:
                con.execute("SET TimeZone = 'UTC'")  # stored timestamps are naive UTC
                _migrate(con, path)
            except BaseException:
                con.close()
                raise
            lease = _leases[path] = _Lease(con)
        try:
            yield lease.con
        except BaseException:
            _close(path)  # never reuse a connection that saw an error
            raise
        lease.used = time.monotonic()
        if lease.used - lease.opened > MAX_HOLD_SECONDS:
            _close(path)  # let other processes in
        else:
            _schedule_close()


def release(path: Path | None = None) -> None:
    """Close this process's catalog connection(s) now."""
    with _process_lock:
        for key in [path] if path is not None else list(_leases):
            _close(key)


def _close(path: Path) -> None:
    lease = _leases.pop(path, None)
    if lease is not None:
        try:
            lease.con.close()
        except duckdb.Error:
            pass


def _schedule_close() -> None:
    global _closer
    if _closer is None or not _closer.is_alive():
        _closer = threading.Thread(target=_close_idle, name="nbmlops-catalog-lease", daemon=True)
        _closer.start()


def _close_idle() -> None:
    while True:
        with _process_lock:
            now = time.monotonic()
            for path, lease in list(_leases.items()):
                if now - lease.used >= IDLE_SECONDS:
                    _close(path)
            if not _leases:
                return
            wake = min(lease.used for lease in _leases.values()) + IDLE_SECONDS
        time.sleep(max(0.01, wake - time.monotonic()))


def _forget_after_fork() -> None:
    # A forked child must not use or close the parent's DuckDB connection.
    global _closer, _process_lock
    _leases.clear()
    _closer = None
    _process_lock = threading.RLock()


os.register_at_fork(after_in_child=_forget_after_fork)
atexit.register(release)


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
            delay = min(delay * 2, 0.05)
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
