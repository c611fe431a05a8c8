"""The DuckDB catalog file: leased briefly, with backoff on another process's lock, migrated.

`LocalCatalog` is this file as a catalog backend (store/backend.py); the module's functions, which
many callers use with a path, are its implementation.

DuckDB lets one process open a file read-write and locks every other process out, even readers.
So nobody keeps the catalog open for long. Opening costs ~30 ms, though, so a process keeps its
connection for a short lease: reads in quick succession (a notebook cell, a widget, the REST API)
share one connection, which is closed once idle for IDLE_SECONDS or held for MAX_HOLD_SECONDS.
Other processes wait for it with backoff.

DuckDB's lock is a POSIX record lock, which the kernel drops as soon as the process closes *any*
descriptor of the file. So while this process holds the catalog it never opens and closes the file
itself: `file_state` reads it through the descriptor its lease keeps open until after the connection
is closed (opening and closing the file once let another process in as a second writer, and its
commits and ours overwrote each other).
"""

from __future__ import annotations

import atexit
import errno
import os
import random
import re
import threading
import time
import weakref
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from nbmlops.errors import CorruptStoreError, NbmlopsError, StoreError, StoreLockedError, StoreVersionError
from nbmlops.store.dialect import DUCKDB_FILE, Dialect, bind
from nbmlops.store.migrations import MIGRATIONS, latest_version

LOCK_WAIT_SECONDS = 60.0
IDLE_SECONDS = 0.25
MAX_HOLD_SECONDS = 2.0
_process_lock = threading.RLock()  # one catalog connection at a time inside a process


class _Lease:
    """This process's open connection to one catalog file, and a descriptor to look at the file
    through while the connection holds DuckDB's lock (see the module's notes)."""

    def __init__(self, con: duckdb.DuckDBPyConnection, fd: int) -> None:
        self.con = con
        self.fd = fd
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
            fd = -1
            try:
                fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
                _check_complete(con, path)
                con.execute("SET TimeZone = 'UTC'")  # stored timestamps are naive UTC
                _migrate(con, path)
            except BaseException as exc:
                _close_both(con, fd)
                _raise_explained(path, exc)
                raise
            lease = _leases[path] = _Lease(con, fd)
        try:
            yield lease.con
        except BaseException as exc:
            _close(path)  # never reuse a connection that saw an error
            _raise_explained(path, exc)
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


def shutdown() -> None:
    """At exit: close every catalog connection and let the idle-closer thread end while the interpreter
    still runs. A daemon thread that drops the last reference to a DuckDB connection while the
    interpreter finalizes aborts the process ("FATAL: exception not rethrown")."""
    release()
    closer = _closer
    if closer is not None and closer is not threading.current_thread():
        closer.join(timeout=5)


def _close(path: Path) -> None:
    lease = _leases.get(path)
    if lease is not None:
        before = file_state(path)
        _close_both(lease.con, lease.fd)
        del _leases[path]
        # Closing checkpoints what this process wrote: the file changes, not what it holds (nobody
        # else could write while we held it; another process needs ~20 ms to open it after us).
        _closes[path] = (before, file_state(path))


def _close_both(con: duckdb.DuckDBPyConnection, fd: int) -> None:
    """Close a connection, then the descriptor kept beside it: the other order drops DuckDB's lock
    while the connection may still write (a checkpoint at close)."""
    with suppress(duckdb.Error):
        con.close()
    if fd >= 0:
        os.close(fd)


_closes: dict[Path, tuple[Any, Any]] = {}


def file_state(path: Path) -> tuple[Any, Any]:
    """What changes whenever anyone writes the catalog: its WAL's identity, then the file's identity
    and first blocks (DuckDB rewrites a database header, with a new iteration number, at every
    checkpoint: a change shows even within one tick of a coarse file clock).

    The WAL is looked at first: a commit is in the WAL when it is looked at, or was checkpointed
    into the file before the file is looked at. While this process holds the file, it is read
    through the lease's descriptor: opening and closing it would drop DuckDB's lock."""
    try:
        wal = os.stat(path.with_name(path.name + ".wal"))
        wal_id: tuple[int, ...] | None = (wal.st_ino, wal.st_size, wal.st_mtime_ns, wal.st_ctime_ns)
    except FileNotFoundError:
        wal_id = None
    with _process_lock:  # also keeps out a connection being opened by another thread
        try:
            held = _held_fd(path)
            if held is not None:
                return wal_id, _identity(held)
            fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
            try:
                return wal_id, _identity(fd)
            finally:
                os.close(fd)  # not a file this process holds (looked at above): no lock of ours goes
        except (FileNotFoundError, IsADirectoryError):
            return wal_id, None


def _held_fd(path: Path) -> int | None:
    """The lease's descriptor of the file at `path`, under whatever name this process opened it."""
    st = os.stat(path)
    for lease in _leases.values():
        held = os.fstat(lease.fd)
        if (held.st_dev, held.st_ino) == (st.st_dev, st.st_ino):
            return lease.fd
    return None


def _identity(fd: int) -> tuple[Any, ...]:
    st = os.fstat(fd)
    return st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns, os.pread(fd, _FILE_HEADERS, 0)


def own_close(path: Path) -> tuple[Any, Any] | None:
    """The catalog's `file_state` just before and just after this process last closed it."""
    return _closes.get(path)


def _schedule_close() -> None:
    global _closer
    if _closer is None or not _closer.is_alive():
        _closer = threading.Thread(target=_close_idle, name="nbmlops-catalog-lease", daemon=True)
        _closer.start()


def _close_idle() -> None:
    while True:
        with _process_lock:
            now = time.monotonic()
            for path in [p for p, lease in _leases.items() if now - lease.used >= IDLE_SECONDS]:
                _close(path)
            if not _leases:
                return
            wake = min(lease.used for lease in _leases.values()) + IDLE_SECONDS
        time.sleep(max(0.01, min(wake - time.monotonic(), IDLE_SECONDS)))  # no lease held while asleep


def _forget_after_fork() -> None:
    # A forked child must not use or close the parent's DuckDB connection.
    global _closer, _process_lock
    _leases.clear()
    _closes.clear()
    _closer = None
    _process_lock = threading.RLock()


os.register_at_fork(after_in_child=_forget_after_fork)
atexit.register(shutdown)


def _connect(path: Path, wait: float) -> duckdb.DuckDBPyConnection:
    deadline = time.monotonic() + wait
    delay = 0.002
    while True:
        try:
            # One thread: the fold's and the searches' statements are small, and a second thread
            # made them slower (~8 ms of a first search over 500 fresh runs), never faster here.
            return duckdb.connect(str(path), config={"threads": 1})
        except duckdb.IOException as exc:
            text = str(exc)
            # DuckDB looks for the WAL before it takes the file's lock: a process that held the lock
            # and checkpointed just then removes the WAL under it. Nothing is wrong: open again.
            vanished = f'"{path}.wal": No such file or directory' in text
            if "Could not set lock" not in text and not vanished:  # not "block at location" of a damaged file
                raise _unreadable(path, exc) from exc
            if vanished:
                if time.monotonic() >= deadline:
                    raise _unreadable(path, exc) from exc
                time.sleep(delay)
                continue
            if time.monotonic() >= deadline:
                found = re.search(r"held in (.*?) \(PID (\d+)\)", text)
                holder = f"PID {found.group(2)} ({found.group(1)})" if found else "another process"
                raise StoreLockedError(
                    f"catalog {path} stayed locked for {wait:.0f} s by {holder}: "
                    "stop the process that holds it open with plain duckdb, then retry") from exc
            time.sleep(delay * (0.5 + random.random()))  # noqa: S311 - jitter, not a secret
            delay = min(delay * 2, 0.05)
        except duckdb.Error as exc:
            raise _unreadable(path, exc) from exc


def _corrupt(path: Path, exc: Exception | str) -> CorruptStoreError:
    detail = str(exc).splitlines()[0][:200]
    wal = path.with_name(path.name + ".wal")
    files = f"it and {wal.name}" if wal.exists() else "it"
    return CorruptStoreError(
        f"catalog {path} is damaged and cannot be read ({detail}); it was left untouched: restore "
        f"it from a backup, or move {files} aside (e.g. to {path.name}.damaged) and the next read "
        f"rebuilds it from the journals under {path.parent / 'journals'}, which hold every run not yet removed by "
        "`nbmlops compact` (registered models, aliases, monitoring reports and imported bundles "
        "are kept only in the catalog)")


def _unreadable(path: Path, exc: Exception) -> StoreError:
    """Why the catalog cannot be opened: a full disk, a newer DuckDB's file format, else damage."""
    text = str(exc)
    if "No space left on device" in text:
        return _disk_full(path, exc)
    newer = re.search(r"database file with version number (\d+)", text)
    if newer and "newer version of DuckDB" in text:
        return StoreVersionError(
            f"catalog {path} was written by a newer DuckDB (file format {newer.group(1)}) than the "
            f"DuckDB {duckdb.__version__} installed here (nbmlops[team] installs DuckDB 1.5): use the newer "
            "DuckDB for this store, or move its runs with `nbmlops export` there and `nbmlops import` "
            "here (the store was not changed)")
    return _corrupt(path, exc)


def _disk_full(path: Path, exc: BaseException) -> StoreError:
    detail = str(exc).splitlines()[0][:200]
    return StoreError(
        f"store at {path.parent}: No space left on device ({detail}); free space on that disk, "
        "then retry: the catalog was left as it was and the journals still hold the data")


def _raise_explained(path: Path, exc: BaseException) -> None:
    """Raise what the user should see instead of `exc`, if `exc` does not say it already."""
    better = _explain(path, exc)
    if better is None:
        return
    if isinstance(better, NbmlopsError):
        raise better from exc
    raise better from None  # the original error that a failed clean-up masked


def _explain(path: Path, exc: BaseException) -> BaseException | None:
    """The error a user should see instead of `exc` (None: `exc` says it already).

    A failed COMMIT (a full disk, say) ends the transaction, so the ROLLBACK that follows fails
    too ("no transaction is active"); the first error is the one that tells what happened.
    """
    if isinstance(exc, NbmlopsError):
        return None
    chain: list[BaseException] = []
    link: BaseException | None = exc
    while link is not None and link not in chain:
        chain.append(link)
        link = link.__cause__ or link.__context__
    for error in chain:
        text = str(error)
        if (isinstance(error, OSError) and error.errno == errno.ENOSPC) or "No space left on device" in text:
            return _disk_full(path, error)
    for error in chain:
        text = str(error)
        if isinstance(error, duckdb.Error) and ("Corrupt database file" in text or (
                isinstance(error, duckdb.IOException) and str(path) in text and "Could not read" in text)):
            return _corrupt(path, error)
    if _masks(exc) and len(chain) > 1:
        return chain[1]
    return None


def _masks(exc: BaseException) -> bool:
    """An error raised while cleaning up after another one, that says nothing of the first."""
    text = str(exc)
    return isinstance(exc, duckdb.Error) and (
        "no transaction is active" in text or "Current transaction is aborted" in text)


# Connections inside `transaction` or `one_snapshot` (DuckDB does not say, and a BEGIN inside one
# would fail and abort the transaction it is in).
_open_transactions: weakref.WeakSet[duckdb.DuckDBPyConnection] = weakref.WeakSet()


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """BEGIN ... COMMIT, rolled back on any error; the error that caused it is the one raised."""
    con.execute("BEGIN TRANSACTION")
    _open_transactions.add(con)
    try:
        yield con
        con.execute("COMMIT")
    except BaseException:
        with suppress(duckdb.Error):  # a failed COMMIT already ended the transaction: keep the first
            con.execute("ROLLBACK")
        raise
    finally:
        _open_transactions.discard(con)


@contextmanager
def one_snapshot(con: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """The statements of the block in one read transaction (one snapshot of the catalog), or in the
    transaction the connection is already in."""
    if con in _open_transactions:
        yield con
        return
    con.execute("BEGIN TRANSACTION")
    _open_transactions.add(con)
    try:
        yield con
    except BaseException:
        with suppress(duckdb.Error):  # the block's own error is the one raised
            con.execute("ROLLBACK")
        raise
    else:
        con.execute("COMMIT")
    finally:
        _open_transactions.discard(con)


_FILE_HEADERS = 3 * 4096  # DuckDB's main header and its two alternating database headers


def _check_complete(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    """Refuse a catalog file that lacks blocks it uses (cut short by a copy, a crash, a full disk).

    DuckDB itself shortens the file only by blocks that are free, so a healthy file misses at
    most `free_blocks` of its `total_blocks`. Checked before anything is written: on a file cut
    short DuckDB would otherwise extend it over the lost part.
    """
    row = con.execute("SELECT block_size, total_blocks, free_blocks FROM pragma_database_size() "
                      "WHERE database_name = current_database()").fetchone()
    if not row or not row[0]:
        return
    block_size, total, free = (int(v) for v in row)
    size = path.stat().st_size
    missing = total - max(0, size - _FILE_HEADERS) // block_size
    if missing > free:
        raise _corrupt(path, f"it was cut short: {missing} of its {total} blocks lie past its end at "
                             f"{size} bytes, but only {free} are free")


def schema_version(con: duckdb.DuckDBPyConnection) -> int:
    """The highest migration applied to this catalog (0 for a new file)."""
    # Asked directly: a look in information_schema first costs ~5 ms more on every open.
    try:
        row = con.execute("SELECT coalesce(max(version), 0) FROM schema_migrations").fetchone()
    except duckdb.CatalogException:
        return 0  # no such table: a new file
    return int(row[0]) if row else 0


def _migrate(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    try:
        current = schema_version(con)
    except duckdb.Error as exc:
        raise _unreadable(path, exc) from exc
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
        with transaction(con):
            migration.apply(con)
            con.execute("INSERT INTO schema_migrations VALUES (?, ?, now()::TIMESTAMP)",
                        [migration.version, migration.name])


@dataclass(frozen=True)
class LocalCatalog:
    """The catalog as one DuckDB file on this machine (a `CatalogBackend`); equal for equal paths."""

    path: Path

    @property
    def dialect(self) -> Dialect:
        """The DuckDB file's own SQL: constraints, ON CONFLICT and RETURNING exist."""
        return DUCKDB_FILE

    def connect(self, *, wait: float | None = None) -> AbstractContextManager[duckdb.DuckDBPyConnection]:
        """A read-write connection to the up-to-date file, leased for this block (see `open_catalog`)."""
        return self._connected(wait)

    @contextmanager
    def _connected(self, wait: float | None) -> Iterator[duckdb.DuckDBPyConnection]:
        with open_catalog(self.path, wait=wait) as con:
            # Bound on every block: the lease may outlive one backend object and serve another.
            yield bind(con, self.dialect)

    def transaction(self, con: duckdb.DuckDBPyConnection) -> AbstractContextManager[duckdb.DuckDBPyConnection]:
        """BEGIN ... COMMIT, rolled back on any error."""
        return transaction(con)

    def state(self) -> tuple[Any, Any]:
        """The file's and its WAL's identity (see `file_state`)."""
        return file_state(self.path)

    def own_close(self) -> tuple[Any, Any] | None:
        """`state()` around this process's last close of the file."""
        return own_close(self.path)

    def release(self) -> None:
        """Close this process's connection to the file now."""
        release(self.path)

    def checkpoint(self, con: duckdb.DuckDBPyConnection) -> None:
        """Write the WAL into the file."""
        con.execute(self.dialect.checkpoint)
