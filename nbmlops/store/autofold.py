"""Folding closed journals in the background, so the next reader finds the catalog current.

A reader folds every journal before it queries (store.py). After a burst of short-lived writers
(500 scripts, a sweep's kernels) that is hundreds of journals, ~0.1 s of the reader's first search
that has nothing to do with its question. So a writer that closes its journal also makes sure a
folder process runs: one per store at a time (a flock on `journals/.fold.lock`, taken by the
writer and handed to the child so no second writer starts another). The folder folds once the
closes pause for a moment (or every second during a long burst), releases the catalog after each
fold so readers get in, and exits after a short quiet spell. It never creates a store or a catalog
and never reports: anything it cannot do is left for the next reader, which folds as before.

`NBMLOPS_AUTOFOLD=0` turns it off (the readers then fold everything themselves).
"""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
import time
from pathlib import Path

from nbmlops.errors import NbmlopsError
from nbmlops.store import journal
from nbmlops.store.fold import ingest
from nbmlops.store.folder import Store

ENV_VAR = "NBMLOPS_AUTOFOLD"
LOCK_NAME = ".fold.lock"
POLL_SECONDS = 0.05  # how often the folder looks for closed journals
QUIET_SECONDS = 0.05  # no new close for this long: the burst paused, fold now ...
MAX_DELAY_SECONDS = 1.0  # ... but during a long burst fold at least this often
LINGER_SECONDS = 1.0  # nothing to fold for this long: exit
FOLD_HERE_BYTES = 64 << 10  # a closed journal this big is folded by its writer at exit ...
FOLD_HERE_MAX_BYTES = 8 << 20  # ... up to this (~0.2 s of folding): bigger ones go to a folder, so exit stays quick
FOLD_WAIT_SECONDS = 5.0  # a reader holding the catalog longer than this folds for us


def enabled() -> bool:
    return os.environ.get(ENV_VAR, "1").strip().lower() not in ("0", "false", "no", "off")


def after_close(store: Store, closed: Path | None = None) -> bool:
    """Fold the journal just closed here, or start a folder for this store unless one runs; True if
    the journal was folded here or a folder was started.

    Called by a writer that just closed its journal. A journal that holds a fair amount of work
    (FOLD_HERE_BYTES to FOLD_HERE_MAX_BYTES: many runs, or a long one) is folded by this process when
    the catalog is free: it has everything imported, and a reader started the moment it exits then finds
    the catalog current (a folder needs ~0.4 s to start). A small journal costs a flock attempt when a
    folder already runs, and a spawn (a few milliseconds; the child imports nbmlops on its own time)
    when not."""
    if not enabled() or not store.catalog_path.is_file():
        return False  # a store never read has no catalog: its first reader creates it and folds
    if closed is not None and _fold_here(store, closed):
        return True
    lock = _take(store.journal_dir)
    if lock is None:
        return False  # a folder runs: it will see this journal
    # The child imports this very nbmlops (a notebook may have put it on sys.path by hand), from a
    # neutral working directory (`-m` puts it first on sys.path; the store's folder is not code).
    home = str(Path(__file__).resolve().parent.parent)
    path = os.pathsep.join(p for p in (home, os.environ.get("PYTHONPATH", "")) if p)
    try:
        subprocess.Popen(  # noqa: S603 - our own interpreter, our own module, no shell
            [sys.executable, "-m", "nbmlops.store.autofold", str(store.root), str(lock)],
            pass_fds=(lock,), start_new_session=True, close_fds=True, cwd="/",
            env={**os.environ, "PYTHONPATH": path},
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    except OSError:
        return False  # no interpreter to start (an embedded Python): readers fold as before
    finally:
        os.close(lock)  # the child holds the lock now (same open file description)
    return True


def _fold_here(store: Store, closed: Path) -> bool:
    """Fold everything into the catalog in this process if `closed` is big enough to be worth it and
    nobody holds the catalog; False (nothing done) otherwise."""
    try:
        size = closed.stat().st_size
    except OSError:
        return False
    return FOLD_HERE_BYTES <= size <= FOLD_HERE_MAX_BYTES and _fold(store, wait=0.0)  # held: a folder's job


def _fold(store: Store, wait: float) -> bool:
    """Fold every journal into the catalog, waiting `wait` seconds at most for it; False if it could not
    be done (held, damaged, newer: the next reader says so). The catalog is released after, so readers
    get in between two folds."""
    try:
        with store.catalog.connect(wait=wait) as con:
            ingest(con, store.journal_dir, store.catalog)
    except (NbmlopsError, OSError):
        return False
    finally:
        store.catalog.release()
    return True


def _take(journal_dir: Path) -> int | None:
    """The fold lock's descriptor, locked, or None if another process holds it."""
    try:
        fd = os.open(journal_dir / LOCK_NAME, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return None
    return fd


def closed_journals(journal_dir: Path) -> frozenset[str]:
    """Journals not yet retired whose writers are gone: what a fold would finish."""
    return frozenset(entry.name for entry in journal.list_journals(journal_dir)
                     if not journal.writer_alive(Path(entry.path)))


def serve(root: Path, lock: int) -> None:
    """The folder's loop: fold closed journals while writers keep closing them, then exit."""
    store = Store(root)
    catalog, journal_dir = store.catalog_path, store.journal_dir
    seen: frozenset[str] = frozenset()
    changed_at = last_fold = idle_since = time.monotonic()
    while True:
        if not catalog.is_file():
            return  # the store was removed (or moved aside): nothing of ours to do
        now = time.monotonic()
        closed = closed_journals(journal_dir)
        if closed != seen:
            seen, changed_at = closed, now
        if not closed:
            if now - idle_since >= LINGER_SECONDS:
                taken = _hand_back(journal_dir, lock)
                if taken is None:
                    return
                lock, idle_since = taken, now
        elif now - changed_at >= QUIET_SECONDS or now - last_fold >= MAX_DELAY_SECONDS:
            if not _fold(store, wait=FOLD_WAIT_SECONDS):
                return  # locked for long, damaged, newer: the next reader says so, not us
            if closed & closed_journals(journal_dir):
                return  # the fold could not finish them: leave them to the readers
            last_fold = idle_since = time.monotonic()
        time.sleep(POLL_SECONDS)


def _hand_back(journal_dir: Path, lock: int) -> int | None:
    """Release the lock; if a journal closed meanwhile (its writer saw the lock held and left the
    fold to us), take it again and return it."""
    os.close(lock)
    if not closed_journals(journal_dir):
        return None
    return _take(journal_dir)  # None: another folder took over


if __name__ == "__main__":
    serve(Path(sys.argv[1]), int(sys.argv[2]))
