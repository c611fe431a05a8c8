"""The tracking service: the active run, input validation, and buffered journal writes.

Everything a process logs goes into an in-memory buffer that a background thread writes to the
process's journal (and at run start, run end, before a read and at exit). While a run is active and
logs, the thread writes every LIVE_INTERVAL (a plain write, no fsync: another process sees the point
within tens of milliseconds) and fsyncs about once a second; when nothing is logged it backs off,
and with no active run it wakes about once a second. A `log_metric` call is therefore a validation
and a list append; a process killed with SIGKILL loses at most what was logged in its last
LIVE_INTERVAL (what its kernel had not yet put on disk is lost only if the machine goes down too).
"""

from __future__ import annotations

import atexit
import getpass
import os
import socket
import sys
import threading
import time
import traceback
import warnings
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np

from nbmlops.entities import RunStatus
from nbmlops.errors import CorruptStoreError, InvalidInputError, NbmlopsError, ParamConflictError
from nbmlops.store import catalog
from nbmlops.store.folder import Store, find_store, open_store
from nbmlops.store.journal import POINT_DTYPE, JournalWriter
from nbmlops.store.salvage import utf8, writable_events
from nbmlops.store.settings import setting
from nbmlops.tracking import provenance, system, trials, validation
from nbmlops.tracking.artifact_files import artifact_files
from nbmlops.tracking.names import new_run_id, new_run_name
from nbmlops.tracking.run_provenance import ProvenanceRecorder

FLUSH_INTERVAL = 1.0  # fsync cadence, and the flusher's sleep while no run is active
# While a run is active and logs, written (not fsynced) this often: a frame costs one os.write and
# ~80 bytes of header, so 25 frames a second stay cheap and a live point reaches readers quickly.
LIVE_INTERVAL = 0.04
# An active run that logged within LIVE_WINDOW keeps the live cadence (an epoch loop logging every few
# seconds); after that the flusher sleeps IDLE_POLL: 10 wake-ups a second that find an empty buffer
# cost microseconds, and a point logged after a long pause still waits at most this.
LIVE_WINDOW = 10.0
IDLE_POLL = 0.1
_INT64_MAX = (1 << 63) - 1
_INT64_MIN = -(1 << 63)
_now = time.time
DEFAULT_EXPERIMENT = "Default"


@dataclass
class RunState:
    """What this process knows of a run it logs to."""

    run_id: str
    name: str
    experiment: str
    owned: bool = True  # this process started it and ends it
    series: dict[str, int] = field(default_factory=dict)  # metric key -> series id
    params: dict[str, tuple[str | None, float | None, str]] = field(default_factory=dict)


class ActiveRun:
    """The run returned by `start_run`; use it as a context manager to end it."""

    def __init__(self, tracker: Tracker, state: RunState) -> None:
        self._tracker = tracker
        self._state = state

    run_id = property(lambda self: self._state.run_id, doc="The run's id.")
    name = property(lambda self: self._state.name, doc="The run's name.")
    experiment = property(lambda self: self._state.experiment, doc="The run's experiment.")

    def __repr__(self) -> str:
        return f"<ActiveRun {self.name} ({self.run_id}) in {self.experiment!r}>"

    def __enter__(self) -> ActiveRun:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if kind is None:
            self._tracker.end_run(RunStatus.FINISHED, run_id=self.run_id)
        elif issubclass(kind, KeyboardInterrupt):
            self._tracker.end_run(RunStatus.KILLED, run_id=self.run_id,
                                  error="".join(traceback.format_exception(kind, exc, tb)))
        else:
            self._tracker.end_run(RunStatus.FAILED, run_id=self.run_id,
                                  error="".join(traceback.format_exception(kind, exc, tb)))


class Tracker:
    """This process's tracking context: one per process, created on first use."""

    def __init__(self, store: Store | None = None) -> None:
        self._store = store
        self._writer: JournalWriter | None = None
        self._lock = threading.Lock()  # guards the buffers
        self._flush_lock = threading.Lock()  # one journal write at a time
        self._points: list[tuple[int, float, int, float]] = []
        self._events: list[list[Any]] = []
        self._series_names: dict[int, tuple[str, str]] = {}
        self._last_step: list[int] = []  # by series id
        self._stack: list[RunState] = []
        self._thread: threading.Thread | None = None
        self._wake = threading.Event()
        self._stopping = False
        self._write_error: str | None = None
        self._interval = FLUSH_INTERVAL
        self._listeners: list[Callable[[np.ndarray, dict[int, tuple[str, str]]], None]] = []
        self.experiment = utf8(os.environ.get("NBMLOPS_EXPERIMENT") or DEFAULT_EXPERIMENT)
        self._user = current_user()
        self._host = socket.gethostname()
        self._provenance = ProvenanceRecorder(self._buffer, lambda: self.store)
        self._system = system.SystemMetrics()
        provenance.prewarm()
        _register(self)
        if os.environ.get(trials.TRIAL_ENV):  # a kernel of a pruned sweep: its metric goes to the trial
            trials.install(self)

    # -- store ---------------------------------------------------------------------------
    @property
    def store(self) -> Store:
        """The store this process writes to (found by the location rule on first use)."""
        if self._store is None:
            self._store = find_store()
        return self._store

    def set_store(self, path: str | os.PathLike[str]) -> Store:
        """Write to and read from the store at `path` from now on in this process."""
        self.wait_for_provenance()  # waiting runs' provenance belongs in the store they were started in
        self.flush()
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        if self._store is not None:
            self._store.release()
        self._store = open_store(path)
        self._provenance.forget_blobs()
        return self._store

    def flushed_store(self) -> Store:
        """The store, after writing this process's buffered events: a read then sees its own writes."""
        self.flush()
        return self.store

    # -- runs ----------------------------------------------------------------------------
    def start_run(self, experiment: str | None = None, name: str | None = None,
                  tags: dict[str, Any] | None = None, parent: str | ActiveRun | None = None,
                  notebook: str | None = None, namespace: dict[str, Any] | None = None, *,
                  system_metrics: bool | None = None, system_metrics_interval: float | None = None) -> ActiveRun:
        """Start a run (a child of the active run, if any) and make it the active run.

        `namespace` is the user namespace of a notebook, used to find the notebook's path.
        `system_metrics` and its interval: see nbmlops/tracking/system.py (None: the environment's
        or the store's choice).
        """
        sampling = system.options(system_metrics, system_metrics_interval, self._system_setting)
        exp = validation.name("experiment", experiment) if experiment is not None else self.experiment
        run_name = validation.name("run", name) if name is not None else new_run_name()
        clean_tags = self._clean_tags(tags or {})
        if isinstance(parent, ActiveRun):
            parent_id: str | None = parent.run_id
        elif parent is not None:
            if not isinstance(parent, str) or not parent:
                raise InvalidInputError("parent must be a run id or the run returned by start_run")
            parent_id = parent
        else:
            # Inside a notebook run by `nbmlops run`, new runs are children of the notebook's run.
            parent_id = self._stack[-1].run_id if self._stack else os.environ.get("NBMLOPS_RUN_ID") or None
        state = RunState(new_run_id(), run_name, exp)
        now = time.time()
        path = notebook or provenance.notebook_path(namespace)
        event = {"run_id": state.run_id, "experiment": exp, "name": run_name, "at": now,
                 "user": self._user, "host": self._host, "parent": parent_id,
                 "notebook": utf8(path) if path else None}  # a non-UTF-8 file name must not block the run
        with self._lock:
            self._events.append(["run_start", event])
        self._record_provenance(state.run_id, clean_tags, now, script=event["notebook"] is None)
        self._stack.append(state)
        self._ensure_thread()
        self.flush()  # the run exists on disk before anyone can learn its id
        self._go_live()
        self._system.run_started(state.run_id, sampling, self._log_sample)
        return ActiveRun(self, state)

    def _system_setting(self) -> bool:
        """The store's system-metrics setting; on (its default) when settings.json is unreadable."""
        try:
            return setting(self.store, system.SETTING)
        except CorruptStoreError as exc:
            print(f"nbmlops: {exc}", file=sys.stderr)
            return True

    def _go_live(self) -> None:
        """Wake the flusher into the live cadence, unless it was parked (a flush interval above
        FLUSH_INTERVAL: then only explicit flushes write, which the fold's model-based test needs)."""
        if self._interval <= FLUSH_INTERVAL:
            self._wake.set()

    def _record_provenance(self, run_id: str, user_tags: dict[str, str], now: float, script: bool) -> None:
        """The user's tags now; git, environment and source tags and files as soon as known."""
        if user_tags:
            with self._lock:
                self._events.append(["tags", {"run_id": run_id, "at": now, "items": list(user_tags.items())}])
        self._provenance.record(run_id, frozenset(user_tags), now, script)

    def _buffer(self, events: list[list[Any]]) -> None:
        with self._lock:
            self._events.extend(events)

    def wait_for_provenance(self, timeout: float = 10.0) -> None:
        """Let the background provenance look-up end and its events be buffered (before exit, or in tests)."""
        self._provenance.wait(timeout)

    def emit(self, kind: str, body: dict[str, Any], run_id: str | None = None) -> str:
        """Append an event for the active run (or `run_id`) to the journal buffer; returns the run id."""
        rid = run_id or self._current().run_id
        with self._lock:
            self._events.append([kind, {"run_id": rid, "at": time.time(), **body}])
        return rid

    def put_bytes(self, data: bytes, path: str) -> str:
        """Store `data` as the artifact `path` of the active run; returns the artifact name."""
        name = validation.artifact_name(path)
        sha, size = self.store.put_bytes(data)
        self.emit("artifact", {"path": name, "sha256": sha, "size": size})
        return name

    def end_run(self, status: RunStatus | str = RunStatus.FINISHED, *, run_id: str | None = None,
                error: str | None = None) -> None:
        """End the active run (or the run `run_id` of this process); no-op without one."""
        try:
            status = RunStatus(str(status).upper())
        except ValueError:
            raise InvalidInputError(
                f"status {status!r} is not one of {', '.join(s.value for s in RunStatus)}") from None
        if status is RunStatus.RUNNING:
            raise InvalidInputError("a run cannot end as RUNNING: use FINISHED, FAILED or KILLED")
        if not self._stack:
            return
        index = len(self._stack) - 1
        if run_id is not None:
            matches = [i for i, s in enumerate(self._stack) if s.run_id == run_id]
            if not matches:
                return  # already ended
            index = matches[-1]
        # Ending a run ends the children started inside it too; a sampled one takes its last sample first.
        self._system.runs_ended({s.run_id for s in self._stack[index:]})
        for state in reversed(self._stack[index:]):
            if state.owned:
                body = {"run_id": state.run_id, "status": status.value, "at": time.time(),
                        "error": utf8(error) if error is not None and state is self._stack[index] else None}
                with self._lock:
                    self._events.append(["run_end", body])
        del self._stack[index:]
        self.flush()
        self.store.run_ended()

    def attach_run(self, run_id: str, name: str = "", experiment: str = "") -> ActiveRun:
        """Log into a run that another process started and will end (e.g. `nbmlops run`)."""
        if not isinstance(run_id, str) or not run_id.strip():
            raise InvalidInputError("run id to attach to must be a non-empty string")
        state = RunState(run_id.strip(), name or run_id[:12], experiment or self.experiment, owned=False)
        self._stack.append(state)
        self._ensure_thread()
        self._go_live()
        return ActiveRun(self, state)

    def detach_run(self, run_id: str) -> None:
        """Stop logging into an attached run without ending it."""
        self._stack = [s for s in self._stack if not (s.run_id == run_id and not s.owned)]
        self.flush()

    def active_run(self) -> ActiveRun | None:
        """The innermost active run, or None."""
        return ActiveRun(self, self._stack[-1]) if self._stack else None

    def _current(self) -> RunState:
        if self._stack:
            return self._stack[-1]
        joined = os.environ.get("NBMLOPS_RUN_ID")
        if joined:  # a notebook executed by `nbmlops run`: log into its run
            self.attach_run(joined, os.environ.get("NBMLOPS_RUN_NAME", ""),
                            os.environ.get("NBMLOPS_EXPERIMENT", ""))
        else:
            self.start_run()  # like MLflow: logging outside a run starts one
        return self._stack[-1]

    # -- logging -------------------------------------------------------------------------
    def log_metric(self, key: str, value: float, step: int | None = None) -> None:
        """Record one point of a metric's history in the active run."""
        # The hot path: a few checks and one list append, no lock (list.append is atomic and
        # flush() only ever removes a prefix of the list).
        state = self._stack[-1] if self._stack else self._current()
        sid = state.series.get(key)
        if sid is None:
            sid = self._new_series(state, key)
        if type(value) is not float:
            value = validation.metric_value(key, value)
        if step is None:
            step = self._last_step[sid] + 1
        elif type(step) is not int or step > _INT64_MAX or step < _INT64_MIN:
            step = validation.step(step)
        self._last_step[sid] = step
        self._points.append((sid, value, step, _now()))

    def last_step(self, key: str) -> int | None:
        """The step of the latest point of `key` in the active run (None: none logged yet)."""
        sid = self._stack[-1].series.get(key) if self._stack else None
        return None if sid is None else self._last_step[sid]

    def log_metrics(self, metrics: dict[str, float], step: int | None = None) -> None:
        """Record several metrics at the same step; nothing is logged if one is invalid."""
        self._current()  # no active run: say so before anything else
        if not isinstance(metrics, dict):
            raise InvalidInputError(f"log_metrics takes a dict of name -> number, got {type(metrics).__name__}")
        clean = {validation.key("metric", k): validation.metric_value(k, v) for k, v in metrics.items()}
        if step is not None:
            step = validation.step(step)
        for k, v in clean.items():
            self.log_metric(k, v, step)

    def _log_sample(self, run_id: str, values: dict[str, float], step: int, at: float, last: bool) -> bool:
        """Log a sample of the system metrics sampler (its thread) into run `run_id`; False once it ended."""
        state = next((s for s in self._stack if s.run_id == run_id), None)
        if state is None:
            return False
        for key, value in values.items():
            sid = state.series.get(key)
            if sid is None:
                sid = self._new_series(state, key)
            self._last_step[sid] = step
            self._points.append((sid, value, step, at))
        # Written here, not by the flusher: points it writes keep it on the live cadence (25 wake-ups a
        # second for LIVE_WINDOW), which a sample every 5 s would make permanent for an idle run. The
        # last sample is written by the run's end, which waits for it.
        if not last:
            self._flush()
        return True

    def _new_series(self, state: RunState, key: str) -> int:
        validation.key("metric", key)
        with self._lock:
            sid = len(self._series_names)
            self._series_names[sid] = (state.run_id, key)
            self._last_step.append(-1)
        state.series[key] = sid
        return sid

    def log_params(self, params: dict[str, Any]) -> None:
        """Record params of the active run; each is write-once (same value again is a no-op)."""
        if not isinstance(params, dict):
            raise InvalidInputError(f"log_params takes a dict of name -> value, got {type(params).__name__}")
        state = self._current()
        fresh: dict[str, tuple[str | None, float | None, str]] = {}
        for k, v in params.items():
            validation.key("param", k)
            stored = validation.param_value(k, v)
            old = state.params.get(k, fresh.get(k))
            if old is not None and old != stored and not _same_number(old, stored):
                raise ParamConflictError(
                    f"param {k!r} is already {old[0]!s:.60} in run {state.name}; params are "
                    f"write-once: log {stored[0]!s:.60} under another key or start a new run")
            if old is None:
                fresh[k] = stored
                if stored[2] == "str" and not isinstance(v, str):  # validation keeps such an int as text
                    warnings.warn(f"param {k!r} = {stored[0]:.40} does not fit in 64 bits: kept exactly as "
                                  "text (read back as the string of its digits)", stacklevel=3)
        if fresh:
            state.params.update(fresh)
            with self._lock:
                self._events.append(["params", {"run_id": state.run_id, "at": time.time(),
                                                 "items": [[k, *v] for k, v in fresh.items()]}])

    def set_tags(self, tags: dict[str, Any]) -> None:
        """Set (or overwrite) tags on the active run."""
        state = self._current()
        clean = self._clean_tags(tags)
        if clean:
            with self._lock:
                self._events.append(["tags", {"run_id": state.run_id, "at": time.time(),
                                              "items": list(clean.items())}])

    def delete_tag(self, key: str) -> None:
        """Remove a tag from the active run."""
        state = self._current()
        validation.key("tag", key)
        with self._lock:
            self._events.append(["delete_tag", {"run_id": state.run_id, "key": key, "at": time.time()}])

    @staticmethod
    def _clean_tags(tags: dict[str, Any]) -> dict[str, str]:
        if not isinstance(tags, dict):
            raise InvalidInputError(f"tags must be a dict of name -> text, got {type(tags).__name__}")
        return {validation.key("tag", k): validation.tag_value(k, v) for k, v in tags.items()}

    def log_artifact(self, path: str | os.PathLike[str], name: str | None = None, *,
                     follow_symlinks: bool = False) -> list[str]:
        """Copy a file (or a folder's files) into the store as artifacts of the active run.

        A symbolic link that leads outside the logged path (the path itself, or a link inside a
        logged folder pointing out of it) is refused unless `follow_symlinks=True`: a link must
        not smuggle e.g. /etc/passwd into a store that gets shared.
        """
        source = Path(path)
        if not source.exists():
            raise InvalidInputError(f"cannot log artifact {str(source)!r}: no such file or folder")
        state = self._current()
        if name is None and utf8(source.name) != source.name:
            raise InvalidInputError(f"cannot log artifact {utf8(str(source))!r}: its file name is not UTF-8; "
                                    "pass name='...' to store it under another name")
        base = validation.artifact_name(name if name is not None else source.name)
        files = artifact_files(source, base, follow_symlinks)  # every check before anything is stored
        logged = []
        for file, artifact in files:
            sha, size = self.store.put_file(file)
            with self._lock:
                self._events.append(["artifact", {"run_id": state.run_id, "path": artifact,
                                                  "sha256": sha, "size": size, "at": time.time()}])
            logged.append(artifact)
        return logged

    # -- writing -------------------------------------------------------------------------
    def flush(self) -> None:
        """Write everything buffered to this process's journal now.

        Nothing buffered is ever dropped for a failure of the store: the data goes back into the
        buffer for the next flush. An event that cannot be encoded at all is dropped alone, with a
        warning that names it; the other events and the points are written.
        """
        self._flush()

    def _flush(self) -> bool:
        """`flush`, telling whether anything was written."""
        with self._flush_lock:
            with self._lock:
                events, self._events = self._events, []
            # Take a prefix of the points: appends racing with us land after it and stay.
            count = len(self._points)
            points = self._points[:count]
            del self._points[:count]
            series = self._series_names  # the writer only reads the ids it needs
            if not points and not events:
                return False
            array = None
            try:
                array = np.fromiter(points, dtype=POINT_DTYPE, count=len(points)) if points else None
                if self._writer is None:
                    self.store.ensure_layout()
                    self._writer = JournalWriter(self.store.journal_dir)
                    self.store.writer_started()
                try:
                    self._writer.write(events, series, array)
                except (TypeError, ValueError, RecursionError):  # UnicodeEncodeError is a ValueError
                    events = writable_events(events)
                    self._writer.write(events, series, array)
                self._write_error = None
            except Exception as exc:
                # Keep the data and try again on the next flush; tell the user once.
                self._points[:0] = points
                with self._lock:
                    self._events[:0] = events
                if self._write_error != str(exc):
                    self._write_error = str(exc)
                    why = str(exc) if isinstance(exc, OSError) else f"{type(exc).__name__}: {exc}"
                    print(f"nbmlops: cannot write to the store at {self._store_root()} ({why}); "
                          "keeping the data in memory and retrying", file=sys.stderr)
                return False
            if array is not None and self._listeners:
                self._notify(array, series)
            return True

    def _store_root(self) -> str:
        return self._store.location if self._store is not None else "(not found)"

    def sync(self) -> None:
        """Ask the OS to put the journal's written frames on the disk.

        The fsync runs on a descriptor of its own, outside the locks that run starts, ends and
        logging take: a caller never waits on an fsync it did not ask for.
        """
        with self._flush_lock:
            target = self._writer.path if self._writer is not None else None
        if target is None:
            return
        try:
            fd = os.open(target, os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            return
        try:
            os.fsync(fd)  # syncs the file, whichever descriptor asks
        finally:
            os.close(fd)

    def add_listener(self, listener: Callable[[np.ndarray, dict[int, tuple[str, str]]], None],
                     interval: float | None = None) -> None:
        """Call `listener(points, series)` with every batch of points as it is flushed.

        `points` has the fields series, value, step, ts; `series` maps a series id to
        (run_id, key). Listeners run on the flush thread and must be quick. With `interval`,
        batches are flushed that often (e.g. 0.25 s for a live plot) while the listener is on.
        """
        self._listeners.append(listener)
        if interval is not None:
            self._interval = min(self._interval, max(0.05, interval))
        self._wake.set()

    def remove_listener(self, listener: Callable[[np.ndarray, dict[int, tuple[str, str]]], None]) -> None:
        """Stop calling `listener`; the flush interval returns to normal when none is left."""
        if listener in self._listeners:
            self._listeners.remove(listener)
        if not self._listeners:
            self._interval = FLUSH_INTERVAL

    def _notify(self, points: np.ndarray, series: dict[int, tuple[str, str]]) -> None:
        for listener in list(self._listeners):
            try:
                listener(points, series)
            except Exception as exc:  # a broken display must never lose data
                print(f"nbmlops: a metric listener failed and was removed: {exc}", file=sys.stderr)
                self.remove_listener(listener)

    def _ensure_thread(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._flush_loop, name="nbmlops-flush", daemon=True)
            self._thread.start()

    def _flush_loop(self) -> None:
        synced: tuple[Path | None, int] = (None, 0)
        synced_at = time.monotonic()
        busy_at = time.monotonic()  # when the buffer last held something (or a run started)
        while not self._stopping:
            self._wake.wait(self._next_wait(busy_at))
            if self._wake.is_set():
                self._wake.clear()
                busy_at = time.monotonic()
            try:
                if self._flush():
                    busy_at = time.monotonic()
                writer = self._writer
                if writer is not None:
                    writer.heartbeat()
                    # fsync about once a second, and only if frames were written since the last one
                    # (by this thread or by a run start, run end or read in another).
                    written = (writer.path, writer.written)
                    if written != synced and time.monotonic() - synced_at >= FLUSH_INTERVAL:
                        self.sync()
                        synced_at, synced = time.monotonic(), written
            except Exception as exc:  # the flusher must never die silently
                print(f"nbmlops: background flush failed: {exc}", file=sys.stderr)

    def _next_wait(self, busy_at: float) -> float:
        """How long the flusher sleeps next: short while a run logs, longer once it stops logging."""
        if self._interval > FLUSH_INTERVAL or not self._stack:
            return self._interval  # no run (an idle kernel), or a test parked the flusher
        # A loop logging every 50 ms (or every epoch) leaves the buffer empty at many 40 ms wake-ups: stay
        # on the live cadence for a while after the last point, so those points do not wait longer.
        recent = time.monotonic() - busy_at < LIVE_WINDOW
        return min(LIVE_INTERVAL if recent else IDLE_POLL, self._interval)

    def close(self, status: RunStatus = RunStatus.FINISHED) -> None:
        """End this process's runs, flush and close the journal (at interpreter exit)."""
        self._stopping = True
        self._wake.set()
        while self._stack and not self._stack[0].owned:
            self._stack.pop(0)
        if self._stack:
            self.end_run(status, run_id=self._stack[0].run_id, error=_last_error())
        self.wait_for_provenance()
        self.flush()
        if self._writer is not None:
            self._writer.close()
            closed, self._writer = self._writer.path, None
            if closed is not None:
                self.store.writer_closed(closed)

    def _after_fork(self) -> None:
        # The child shares the parent's runs but must not write the parent's buffer or journal.
        self._lock = threading.Lock()
        self._flush_lock = threading.Lock()
        self._points, self._events = [], []
        self._thread = None
        self._provenance.after_fork()
        self._system = system.SystemMetrics()  # the parent's sampler did not come along, and must not restart here
        self._wake = threading.Event()
        if self._writer is not None:
            self._writer.abandon()
            self._writer = None
        for state in self._stack:
            state.owned = False
        if self._stack:
            self._ensure_thread()


def _same_number(a: tuple[str | None, float | None, str], b: tuple[str | None, float | None, str]) -> bool:
    # 1 and 1.0 are the same param value.
    return a[1] is not None and a[1] == b[1] and {a[2], b[2]} <= {"int", "float"}


def current_user() -> str:
    """Who is acting, for runs and audit rows: the login name, else the numeric user id."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return str(os.getuid())


_last_exception: list[BaseException] = []


def _last_error() -> str | None:
    if not _last_exception:
        return None
    exc = _last_exception[-1]
    return "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))


_trackers: weakref.WeakSet[Tracker] = weakref.WeakSet()
_hooks_installed = False


def _register(tracker: Tracker) -> None:
    """Install the exit, fork and uncaught-exception hooks once, when tracking is first used."""
    global _hooks_installed
    _trackers.add(tracker)
    if _hooks_installed:
        return
    _hooks_installed = True
    atexit.register(_at_exit)
    os.register_at_fork(after_in_child=_after_fork_in_child)
    previous = sys.excepthook

    def excepthook(kind: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
        _last_exception.append(exc)
        previous(kind, exc, tb)

    sys.excepthook = excepthook


def _after_fork_in_child() -> None:
    for tracker in list(_trackers):
        tracker._after_fork()


def _at_exit() -> None:
    status = RunStatus.FAILED if _last_exception else RunStatus.FINISHED
    for tracker in list(_trackers):
        try:
            tracker.close(status)
        except NbmlopsError as exc:
            print(f"nbmlops: {exc}", file=sys.stderr)
        except Exception as exc:
            print(f"nbmlops: could not close tracking cleanly: {exc}", file=sys.stderr)
    catalog.shutdown()  # closing may have folded into the catalog after the catalog's own exit hook ran


_default: Tracker | None = None


def existing_tracker() -> Tracker | None:
    """This process's tracker if tracking was used, without creating one (autolog: no tracker, no run)."""
    return _default


def tracker() -> Tracker:
    """This process's tracker."""
    global _default
    if _default is None:
        _default = Tracker()
    return _default
