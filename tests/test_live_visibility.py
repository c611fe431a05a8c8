"""A running training loop's points reach other processes while the run is active, without a flush.

The writer's flush thread writes (without fsync) on a short cadence while a run logs, and writes
nothing while it does not. Nothing here asserts a timing: each point must be seen while the child's
run is still active, and the child keeps it active for a generous, known number of further points.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np

import nbmlops
from nbmlops.store.folder import Store
from nbmlops.tracking import tracker as tracking

# Logs `tick` = step / 2 every 20 ms, never flushes, and keeps its run active until told to stop on
# stdin or until it has logged `limit` points; with a pause, it logs one `warm` point, stays silent
# for 1.5 s (its flusher goes idle), then logs `late` = 7.5 and waits, its run active, for as long.
CHILD = """
import select, sys, time, nbmlops
limit, pause = int(sys.argv[1]), sys.argv[2] == "pause"

def told_to_stop(seconds):
    return bool(select.select([sys.stdin], [], [], seconds)[0])

with nbmlops.start_run(name="live") as run:
    print(run.run_id, flush=True)
    if pause:
        nbmlops.log_metric("warm", 1.0)
        time.sleep(1.5)
        nbmlops.log_metric("late", 7.5)
    for step in range(limit):
        if not pause:
            nbmlops.log_metric("tick", step / 2, step=step)
        if told_to_stop(0.02):
            break
print("ended", flush=True)
"""
LIMIT = 250  # 5 s of points at 50 a second: the run stays active at least that long


def _poll(run_id: str, key: str, deadline: float) -> tuple[list[int], list[float], str]:
    """The first history of `key` that holds a point, and the run's status right after reading it."""
    while time.monotonic() < deadline:
        try:
            history = nbmlops.metric_history(run_id, key)
        except nbmlops.NotFoundError:  # the run or its metric is not folded yet
            history = None
        if history is not None and len(history):
            return history["step"].tolist(), history["value"].tolist(), nbmlops.get_run(run_id).status.value
        time.sleep(0.01)
    raise AssertionError(f"no point of {key!r} seen from run {run_id} in time")


def _spawn(store: Store, mode: str) -> tuple[subprocess.Popen[str], str]:
    """The child started in `mode` ("loop" or "pause"), and its run's id once the run exists."""
    env = {**os.environ, "NBMLOPS_STORE": str(store.root)}
    proc = subprocess.Popen([sys.executable, "-c", CHILD, str(LIMIT), mode], env=env, text=True,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None
    run_id = proc.stdout.readline().strip()
    assert run_id, proc.stderr.read() if proc.stderr else ""
    return proc, run_id


def _finish(proc: subprocess.Popen[str]) -> str:
    """Tell the child to stop; its output once it has ended its run and exited."""
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write("stop\n")
    proc.stdin.close()
    out = proc.stdout.read()
    assert proc.wait(timeout=60) == 0, proc.stderr.read() if proc.stderr else ""
    return out


def test_points_of_a_running_loop_are_seen_while_its_run_is_active(fresh_store: Store) -> None:
    proc, run_id = _spawn(fresh_store, "loop")
    try:
        steps, values, status = _poll(run_id, "tick", time.monotonic() + 120)
        # Seen while the child was still logging: no flush, no run end made them visible.
        assert status == "RUNNING"
        assert steps == list(range(len(steps))) and values == [s / 2 for s in steps]
    finally:
        out = _finish(proc)
    assert "ended" in out
    final = nbmlops.metric_history(run_id, "tick")
    assert final["step"].tolist() == list(range(len(final)))
    assert nbmlops.get_run(run_id).status.value == "FINISHED"


def test_a_point_logged_after_a_pause_is_seen_while_the_run_is_active(fresh_store: Store) -> None:
    proc, run_id = _spawn(fresh_store, "pause")
    try:
        steps, values, status = _poll(run_id, "late", time.monotonic() + 120)
        assert (steps, values, status) == ([0], [7.5], "RUNNING")
    finally:
        _finish(proc)


def _journal_bytes(store: Store) -> int:
    return sum(p.stat().st_size for p in Path(store.journal_dir).glob("*.jnl"))


def test_an_idle_run_writes_nothing_and_its_next_point_is_written_unasked(fresh_store: Store) -> None:
    t = tracking.tracker()
    with nbmlops.start_run():
        nbmlops.log_metric("loss", 1.0)
        t.wait_for_provenance()
        t.flush()  # the run start, its provenance and the point are in the journal
        before = _journal_bytes(fresh_store)
        time.sleep(1.2)
        assert _journal_bytes(fresh_store) == before  # an idle flusher writes nothing at all
        nbmlops.log_metric("loss", 0.5)
        deadline = time.monotonic() + 60
        while _journal_bytes(fresh_store) == before and time.monotonic() < deadline:
            time.sleep(0.01)
        assert _journal_bytes(fresh_store) > before  # written by the flush thread, no flush() asked
    assert nbmlops.metric_history(nbmlops.runs()["run_id"][0], "loss")["value"].tolist() == [1.0, 0.5]


def test_threads_logging_during_frequent_writes_lose_and_repeat_nothing(fresh_store: Store) -> None:
    n, keys = 20_000, ["a", "b", "c", "d"]

    def loop(key: str) -> None:
        for i in range(n):
            nbmlops.log_metric(key, float(i), step=i)
            if i % 2_000 == 0:
                time.sleep(0.05)  # let the flush thread write many frames mid-loop

    with nbmlops.start_run() as run:
        threads = [threading.Thread(target=loop, args=(k,)) for k in keys]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    for key in keys:
        history = nbmlops.metric_history(run.run_id, key)
        assert history["step"].tolist() == list(range(n))
        np.testing.assert_array_equal(history["value"].to_numpy(), np.arange(n, dtype=float))
