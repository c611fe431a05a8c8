"""The fold against a plain Python model: random logs, flushes, folds, writer deaths and restarts.

Real trackers write real journals into a real store, and the catalog is read back through the
public API. The model knows what a tracker buffers and what it has flushed: a flush makes the
buffer durable, a writer's death loses the buffer (and, when it dies mid-write, the frame it was
writing), and a dead writer's open runs become KILLED at the next fold.
"""

from __future__ import annotations

import math
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import nbmlops
from nbmlops.store import catalog
from nbmlops.store.folder import Store
from nbmlops.tracking import tracker as tracking

METRIC_KEYS = ("m0", "m1")
PARAM_KEYS = ("p0", "p1")
TAG_KEYS = ("t0", "t1")  # provenance adds tags of its own; only these are the model's
PARAM_VALUES = (0, 1, 1.0, 0.5, "a", "b", True)
MAX_DEPTH = 2


@dataclass
class ModelRun:
    status: str = "RUNNING"
    params: dict[str, Any] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    history: dict[str, list[tuple[int, float]]] = field(default_factory=dict)  # in logging order

    def latest(self, key: str) -> float:
        """Highest step; among equal steps the point logged last (its timestamp is the latest)."""
        points = self.history[key]
        best = max(range(len(points)), key=lambda i: (points[i][0], i))
        return points[best][1]


@dataclass
class Model:
    runs: dict[str, ModelRun] = field(default_factory=dict)  # what the catalog holds after a fold
    buffer: list[Callable[[], None]] = field(default_factory=list)  # logged, not yet flushed
    stack: list[str] = field(default_factory=list)  # the live tracker's open runs
    known_params: dict[str, dict[str, Any]] = field(default_factory=dict)  # what the tracker checks
    last_step: dict[tuple[str, str], int] = field(default_factory=dict)

    def flush(self) -> None:
        for apply in self.buffer:
            apply()
        self.buffer.clear()

    def new_process(self) -> None:
        self.buffer.clear()
        self.stack.clear()
        self.known_params.clear()
        self.last_step.clear()


def _same_param(old: Any, new: Any) -> bool:
    # 1 and 1.0 are one value; True and 1 are not.
    numbers = (int, float)
    if type(old) in numbers and type(new) in numbers:
        return bool(old == new)
    return type(old) is type(new) and old == new


def _same_float(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or a == b


def _multiset(points: list[tuple[int, float]]) -> list[tuple[int, bool, float]]:
    return sorted((int(s), math.isnan(v), 0.0 if math.isnan(v) else float(v)) for s, v in points)


class Harness:
    """Drives real trackers on one store and keeps the model in step."""

    def __init__(self, root: Path) -> None:
        self.store = Store(root)
        self.store.init()
        self.model = Model()
        self.tracker = self._new_tracker()

    def _new_tracker(self) -> tracking.Tracker:
        t = tracking.Tracker(self.store)
        # The background flusher would flush at moments the model cannot know: park it.
        t._interval = 3600.0
        tracking._default = t
        return t

    # -- operations --------------------------------------------------------------------------
    def start(self) -> None:
        if len(self.model.stack) >= MAX_DEPTH:
            return
        run_id = nbmlops.start_run().run_id
        self.model.stack.append(run_id)
        self.model.known_params[run_id] = {}
        self.model.buffer.append(lambda: self.model.runs.__setitem__(run_id, ModelRun()))
        self.model.flush()  # start_run flushes: the run exists on disk before its id is known

    def _active(self) -> str:
        if not self.model.stack:
            self.start()
        return self.model.stack[-1]

    def end(self, status: str) -> None:
        nbmlops.end_run(status)
        if not self.model.stack:
            return  # nothing to end: no flush either
        run_id = self.model.stack.pop()
        self.model.buffer.append(lambda: setattr(self.model.runs[run_id], "status", status))
        self.model.flush()

    def metric(self, key: str, value: float, step: int | None, then_flush: bool) -> None:
        run_id = self._active()
        nbmlops.log_metric(key, value, step=step)
        if step is None:
            step = self.model.last_step.get((run_id, key), -1) + 1
        self.model.last_step[(run_id, key)] = step
        point = (step, value)
        self.model.buffer.append(
            lambda: self.model.runs[run_id].history.setdefault(key, []).append(point))
        if then_flush:  # one frame per point: folds then see one metric in many frames
            self.flush()

    def param(self, key: str, value: Any) -> None:
        run_id = self._active()
        known = self.model.known_params[run_id]
        if key in known and not _same_param(known[key], value):
            with pytest.raises(nbmlops.ParamConflictError):
                nbmlops.log_param(key, value)
            return
        nbmlops.log_param(key, value)
        if key not in known:
            known[key] = value
            self.model.buffer.append(lambda: self.model.runs[run_id].params.__setitem__(key, value))

    def tag(self, key: str, value: str) -> None:
        run_id = self._active()
        nbmlops.set_tag(key, value)
        self.model.buffer.append(lambda: self.model.runs[run_id].tags.__setitem__(key, value))

    def untag(self, key: str) -> None:
        run_id = self._active()
        nbmlops.delete_tag(key)
        self.model.buffer.append(lambda: self.model.runs[run_id].tags.pop(key, None))

    def flush(self) -> None:
        self.tracker.flush()
        self.model.flush()

    def fold(self) -> None:
        self.store.refresh()

    def kill(self, mid_write: bool) -> None:
        """The process dies: its buffer is lost; mid-write, so is the frame it was writing."""
        t = self.tracker
        writer = t._writer
        if mid_write and writer is not None and writer.path is not None:
            before = writer.path.stat().st_size
            t.flush()
            after = writer.path.stat().st_size
            os.truncate(writer.path, before + (after - before) // 2)
        self.die()
        for run_id in self.model.stack:
            self.model.runs[run_id].status = "KILLED"
        self.model.new_process()
        self.tracker = self._new_tracker()

    def die(self) -> None:
        # Closing the journal's descriptor without a close event is what the kernel does for a
        # dead process: the flock is released and nothing more is written.
        t = self.tracker
        t._stopping = True
        t._wake.set()
        t._stack.clear()
        t._points.clear()
        t._events.clear()
        tracking._trackers.discard(t)  # no exit hook may write for a dead process
        if t._writer is not None and t._writer._fd is not None:
            os.close(t._writer._fd)
            t._writer._fd = None
        t._writer = None

    def restart(self) -> None:
        """The process exits normally (its runs end FINISHED) and a new one starts."""
        self.tracker.close()
        tracking._trackers.discard(self.tracker)
        for run_id in self.model.stack:
            self.model.buffer.append(lambda r=run_id: setattr(self.model.runs[r], "status", "FINISHED"))
        self.model.flush()
        self.model.new_process()
        self.tracker = self._new_tracker()

    # -- the comparison ----------------------------------------------------------------------
    def check(self) -> None:
        """Everything the public read API shows equals the model (a read flushes, then folds)."""
        self.model.flush()
        table = nbmlops.runs()
        assert sorted(table["run_id"]) == sorted(self.model.runs)
        statuses = dict(zip(table["run_id"], table["status"], strict=True))
        for run_id, expected in self.model.runs.items():
            assert statuses[run_id] == expected.status, run_id
            row = table[table["run_id"] == run_id].iloc[0]
            for key in expected.history:
                assert _same_float(float(row[f"metrics.{key}"]), expected.latest(key)), (run_id, key)
            run = nbmlops.get_run(run_id)
            assert run.status.value == expected.status
            assert {k: (type(v), v) for k, v in run.params.items()} == \
                {k: (type(v), v) for k, v in expected.params.items()}
            assert {k: v for k, v in run.tags.items() if k in TAG_KEYS} == expected.tags
            assert sorted(run.metrics) == sorted(expected.history)
            for key in expected.history:
                assert _same_float(run.metrics[key], expected.latest(key)), (run_id, key)
                history = nbmlops.metric_history(run_id, key)
                steps = history["step"].tolist()
                assert steps == sorted(steps)
                assert _multiset(list(zip(steps, history["value"].tolist(), strict=True))) == \
                    _multiset(expected.history[key])

    def close(self) -> None:
        self.die()
        catalog.release()


values = st.one_of(st.floats(allow_nan=True, allow_infinity=True, width=64),
                   st.sampled_from([float("nan"), 0.0, 1.0, -1.0]))
steps = st.one_of(st.none(), st.integers(min_value=0, max_value=6))  # out of order, repeated
metric = st.tuples(st.just("metric"), st.sampled_from(METRIC_KEYS), values, steps, st.booleans())
writes = st.one_of(
    metric, metric, metric, metric,  # the common case, and the one the fold gets wrong most easily
    st.tuples(st.just("start")),
    st.tuples(st.just("end"), st.sampled_from(["FINISHED", "FAILED", "KILLED"])),
    st.tuples(st.just("param"), st.sampled_from(PARAM_KEYS), st.sampled_from(PARAM_VALUES)),
    st.tuples(st.just("tag"), st.sampled_from(TAG_KEYS), st.sampled_from(["x", "y", ""])),
    st.tuples(st.just("untag"), st.sampled_from(TAG_KEYS)),
    st.tuples(st.just("flush")),
)
# What ends a round of writes: a reader folds (or reads), or the writing process dies or exits.
ends = st.one_of(st.tuples(st.just("fold")), st.tuples(st.just("check")),
                 st.tuples(st.just("kill"), st.booleans()), st.tuples(st.just("restart")))
rounds = st.lists(st.tuples(st.lists(writes, max_size=10), ends), min_size=1, max_size=4)


# No example database: it would leave a .hypothesis folder in the checkout; failures print their plan.
@settings(max_examples=60, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(rounds)
def test_fold_matches_a_model_of_logs_flushes_folds_kills_and_restarts(
        plan: list[tuple[list[tuple[Any, ...]], tuple[Any, ...]]]) -> None:
    previous = tracking._default
    with tempfile.TemporaryDirectory() as tmp:
        harness = Harness(Path(tmp) / ".nbmlops")
        try:
            for writes_, end in plan:
                for name, *args in [*writes_, end]:
                    getattr(harness, name)(*args)
            harness.fold()
            harness.check()
        finally:
            harness.close()
            tracking._default = previous
