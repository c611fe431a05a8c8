"""Shipping a process's journal into a team store's catalog, from a thread of its own.

The hot path is the local store's: `log_metric` appends to a buffer, the tracker's flusher writes
the journal in the spool on this machine. This thread ships what was written about once a second
(sooner when a run ends) and once more when the writer closes its journal. Shipping is the fold
(store/fold.py) run against the team catalog: idempotent, so a ship that dies half way, or is
retried after a lost connection, adds nothing twice.

While the catalog or the bucket cannot be reached, runs go on and the data waits in the spool; the
process says so once ("waiting to sync") and again when it has caught up. One process at a time
ships a spool (a lock file beside the journals), so two never fold the same journal at once.
"""

from __future__ import annotations

import fcntl
import os
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import duckdb

from nbmlops.errors import NbmlopsError, StoreLockedError

SHIP_INTERVAL = 1.0  # seconds between ships while a writer runs
LOCK_NAME = ".ship.lock"
LOCK_WAIT_SECONDS = 60.0
# How long a closing writer waits for a ship in progress: a large one takes a while when the service
# answers; an unreachable one fails sooner (connect_timeout, NBMLOPS_S3_TIMEOUT).
JOIN_SECONDS = 300.0


class Shipper:
    """The shipping of one team store's spool, for this process."""

    def __init__(self, store: Any) -> None:
        self.store = store
        self._thread: threading.Thread | None = None
        self._wake = threading.Event()
        self._stopping = False
        self._pid = os.getpid()
        self.waiting: str | None = None  # why the last ship failed, while it does
        self._tidy_failed = False

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        """Hold this spool's ship lock (waiting for another process's ship to end)."""
        folder = self.store.journal_dir
        folder.mkdir(parents=True, exist_ok=True)
        fd = os.open(folder / LOCK_NAME, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            deadline = time.monotonic() + LOCK_WAIT_SECONDS
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise StoreLockedError(f"another process kept shipping {folder} for "
                                               f"{LOCK_WAIT_SECONDS:.0f} s: retry with `nbmlops sync`") from None
                    time.sleep(0.02)
            yield
        finally:
            os.close(fd)  # closing lets go of the lock

    def start(self) -> None:
        """Ship in the background from now on (a writer opened its journal)."""
        if self._pid != os.getpid():  # a forked child ships for itself
            self._thread, self._pid, self._wake = None, os.getpid(), threading.Event()
        if self._thread is None or not self._thread.is_alive():
            self._stopping = False
            self._thread = threading.Thread(target=self._loop, name="nbmlops-ship", daemon=True)
            self._thread.start()

    def wake(self) -> None:
        """Ship soon (a run ended, a file was stored)."""
        self._wake.set()

    def _loop(self) -> None:
        while not self._stopping:
            self._wake.wait(SHIP_INTERVAL)
            self._wake.clear()
            if self._stopping:
                return
            if self.ship_once():  # a ship with nothing new costs no round trip (see TeamStore.ship)
                self.tidy()

    def ship_once(self) -> bool:
        """Ship now; False (and the reason said once) when the team store cannot be reached."""
        try:
            self.store.ship()
        except (NbmlopsError, duckdb.Error, OSError) as exc:
            why = str(exc).splitlines()[0][:300]
            if self.waiting is None:
                print(f"nbmlops: waiting to sync with the team store {self.store.location}: {why}; runs go on "
                      f"and their data waits in {self.store.journal_dir}", file=sys.stderr)
            self.waiting = why
            return False
        if self.waiting is not None:
            print(f"nbmlops: synced with the team store {self.store.location} again", file=sys.stderr)
            self.waiting = None
        return True

    def tidy(self, *, now: bool = False) -> None:
        """Merge the small files ships leave, when due (TeamStore.tidy_if_due); a failure only waits
        for the next time: the data is in the catalog already."""
        try:
            self.store.tidy_if_due(now=now)
        except (NbmlopsError, duckdb.Error, OSError) as exc:
            if not self._tidy_failed:
                print(f"nbmlops: could not merge the team store's small files ({str(exc).splitlines()[0][:200]}); "
                      "nothing is lost, reads are slower until `nbmlops compact` merges them", file=sys.stderr)
            self._tidy_failed = True
        else:
            self._tidy_failed = False

    def stop_and_ship(self) -> None:
        """Stop the thread and ship what is left (the writer closed its journal)."""
        self._stopping = True
        self._wake.set()
        thread = self._thread
        if thread is not None and thread.is_alive() and thread is not threading.current_thread():
            thread.join(timeout=JOIN_SECONDS)
            if thread.is_alive():  # stuck on an unreachable service: the spool keeps the data
                print(f"nbmlops: the team store {self.store.location} did not answer; this process's data "
                      f"stays in {self.store.journal_dir}: the next nbmlops process on this machine ships it, "
                      "or `nbmlops sync`", file=sys.stderr)
                return
        if not self.ship_once():
            print(f"nbmlops: this process's data stays in {self.store.journal_dir} until the team store can "
                  "be reached: the next nbmlops process on this machine ships it, or `nbmlops sync`",
                  file=sys.stderr)
            return
        self.tidy(now=True)
