"""Each run's provenance (git, environment, source) as soon as the process's one look-up has ended.

The first look-up of git and the installed packages takes tens to hundreds of milliseconds and
runs once per process and working directory in the background (`provenance.look_up`), so no run
start waits for it. Runs started meanwhile, even those that have already ended, queue here and
get their provenance events when it ends: one shared future, one callback for all of them.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

from nbmlops.store.folder import Store
from nbmlops.store.salvage import utf8
from nbmlops.tracking import provenance


@dataclass(frozen=True)
class _Request:
    """A run whose provenance is still to be recorded."""

    run_id: str
    user_keys: frozenset[str]  # tags the user set: provenance never overwrites them
    at: float
    script: bool  # started by a script, not a notebook: its path becomes the `source` tag
    cwd: str


class ProvenanceRecorder:
    """Turns each run's provenance into journal events, now or when the look-up ends."""

    def __init__(self, emit: Callable[[list[list[Any]]], None], store: Callable[[], Store]) -> None:
        self._emit = emit  # appends events to the tracker's buffer; its next flush writes them
        self._store = store
        self._stored_blobs: dict[bytes, tuple[str, int]] = {}  # provenance files already stored
        self._waiting: list[_Request] = []
        self._busy = 0  # callbacks emitting events right now
        self._done = threading.Condition()

    def record(self, run_id: str, user_keys: frozenset[str], at: float, script: bool) -> None:
        """Emit the provenance of run `run_id` now if it is known, else as soon as it is."""
        request = _Request(run_id, user_keys, at, script, provenance.working_dir())
        lookup = provenance.look_up(request.cwd or None)
        if lookup.done():
            self._emit(self._events(request))
            return
        with self._done:
            self._waiting.append(request)
            first = len(self._waiting) == 1
        if first:  # later requests ride on this callback
            lookup.add_done_callback(self._ready)

    def wait(self, timeout: float) -> None:
        """Return when every waiting run's events are buffered, or after `timeout` seconds."""
        with self._done:
            self._done.wait_for(lambda: not self._waiting and not self._busy, timeout)

    def forget_blobs(self) -> None:
        """Files stored in the old store are not in a new one."""
        self._stored_blobs.clear()

    def after_fork(self) -> None:
        """In a child process: the parent records its runs; the look-up thread does not exist here."""
        self._waiting, self._busy = [], 0
        self._done = threading.Condition()

    def _ready(self, _lookup: Future[None]) -> None:
        """On the look-up thread: emit the provenance of every run that waited for it."""
        with self._done:
            waiting, self._waiting = self._waiting, []
            self._busy += 1
        try:
            for request in waiting:
                try:
                    self._emit(self._events(request))
                except Exception as exc:  # provenance is best effort: the run itself is recorded
                    print(f"nbmlops: provenance of run {request.run_id} was not recorded: {exc}", file=sys.stderr)
        finally:
            with self._done:
                self._busy -= 1
                self._done.notify_all()

    def _events(self, request: _Request) -> list[list[Any]]:
        found = provenance.capture(request.cwd or None)
        tags = dict(found.tags)
        if request.script and sys.argv and sys.argv[0] and os.path.isfile(sys.argv[0]) \
                and "ipykernel" not in sys.modules:
            tags["source"] = utf8(os.path.abspath(sys.argv[0]))  # a script (a notebook has its own column)
        run_id, at = request.run_id, request.at
        items = [[k, v] for k, v in tags.items() if k not in request.user_keys]
        events: list[list[Any]] = [["tags", {"run_id": run_id, "at": at, "items": items}]]
        for path, data in found.files.items():
            stored = self._stored_blobs.get(data)
            if stored is None:
                stored = self._stored_blobs[data] = self._store().put_bytes(data)
            events.append(["artifact", {"run_id": run_id, "path": path, "sha256": stored[0],
                                        "size": stored[1], "at": at}])
        return events
