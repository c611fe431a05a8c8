"""Many real processes writing and reading one store at once; killed writers."""

from __future__ import annotations

import contextlib
import signal
import time

import duckdb
import pytest

import nbmlops
from nbmlops.store import catalog
from nbmlops.store.folder import Store
from tests.conftest import run_python, spawn_python

WRITER = """
import sys, nbmlops
n = int(sys.argv[1])
with nbmlops.start_run(experiment="load", name=f"writer-{sys.argv[2]}"):
    nbmlops.log_param("writer", int(sys.argv[2]))
    for step in range(n):
        nbmlops.log_metric("loss", 1.0 / (step + 1))
        if step % 1000 == 0:
            nbmlops.log_metric("checkpoint", float(step))
"""

READER = """
import sys, time, nbmlops
deadline = time.time() + float(sys.argv[1])
queries = 0
while time.time() < deadline:
    df = nbmlops.runs("load", where="metrics.loss is not null")
    for run_id in df["run_id"]:
        assert len(nbmlops.metric_history(run_id, "loss")) > 0
    queries += 1
print(queries)
"""


def test_eight_writers_and_a_reader_lose_nothing(fresh_store: Store) -> None:
    reader = spawn_python(READER, fresh_store, "25")
    writers = [spawn_python(WRITER, fresh_store, "10000", str(i)) for i in range(8)]
    for proc in writers:
        out, err = proc.communicate(timeout=180)
        assert proc.returncode == 0, err
    out, err = reader.communicate(timeout=180)
    assert reader.returncode == 0, err
    assert int(out.strip()) > 0
    assert "Error" not in err

    df = nbmlops.runs("load", order_by="params.writer")
    assert df["params.writer"].tolist() == list(range(8))
    assert set(df["status"]) == {"FINISHED"}
    assert df["metrics.loss"].tolist() == [pytest.approx(1.0 / 10000)] * 8
    for run_id in df["run_id"]:
        history = nbmlops.metric_history(run_id, "loss")
        assert history["step"].tolist() == list(range(10000))
        assert nbmlops.metric_history(run_id, "checkpoint")["value"].tolist() == \
            [float(s) for s in range(0, 10000, 1000)]


KILLED_WRITER = """
import os, signal, sys, time, nbmlops
run = nbmlops.start_run(experiment="doomed", name="victim")
nbmlops.log_param("p", 1)
for step in range(500):
    nbmlops.log_metric("loss", float(step))
time.sleep(2.5)  # the background flush writes everything above within ~1 s

def die(*_):
    # Buffered, then SIGKILL before the flush thread (written within a fraction of a second) can run.
    nbmlops.log_metric("late", 1.0)
    os.kill(os.getpid(), signal.SIGKILL)

signal.signal(signal.SIGUSR1, die)
print(run.run_id, flush=True)
time.sleep(600)
"""


def test_sigkill_keeps_flushed_data_and_marks_run_killed(fresh_store: Store) -> None:
    proc = spawn_python(KILLED_WRITER, fresh_store)
    assert proc.stdout is not None
    run_id = proc.stdout.readline().strip()
    assert run_id, proc.stderr.read() if proc.stderr else ""
    live = nbmlops.get_run(run_id)
    assert live.status is nbmlops.RunStatus.RUNNING  # alive: not mistaken for killed
    proc.send_signal(signal.SIGUSR1)  # it logs "late" and kills itself with SIGKILL
    assert proc.wait(timeout=30) == -signal.SIGKILL

    run = nbmlops.get_run(run_id)
    assert run.status is nbmlops.RunStatus.KILLED
    assert run.end_time is not None and run.end_time >= run.start_time
    assert run.params == {"p": 1}
    assert nbmlops.metric_history(run_id, "loss")["step"].tolist() == list(range(500))
    assert "late" not in run.metrics
    assert nbmlops.runs("doomed")["status"].tolist() == ["KILLED"]


def test_live_metrics_are_visible_to_another_process(fresh_store: Store) -> None:
    code = """
import sys, time, nbmlops
with nbmlops.start_run(name="live") as run:
    print(run.run_id, flush=True)
    for step in range(200):
        nbmlops.log_metric("tick", time.time(), step=step)
        time.sleep(0.05)
"""
    proc = spawn_python(code, fresh_store)
    assert proc.stdout is not None
    run_id = proc.stdout.readline().strip()
    seen: set[int] = set()
    deadline = time.time() + 20
    while time.time() < deadline and len(seen) < 3:
        with contextlib.suppress(nbmlops.NotFoundError):  # not folded in yet
            seen.update(nbmlops.metric_history(run_id, "tick")["step"].tolist())
        time.sleep(0.2)
    assert len(seen) >= 3 and nbmlops.get_run(run_id).status is nbmlops.RunStatus.RUNNING
    proc.kill()
    proc.wait()


def test_child_process_after_fork_logs_into_the_parents_run(fresh_store: Store) -> None:
    code = """
import os, nbmlops
with nbmlops.start_run(name="forking") as run:
    nbmlops.log_metric("parent", 1.0)
    pid = os.fork()
    if pid == 0:
        nbmlops.log_metric("child", 2.0)
        raise SystemExit(0)  # a normal exit: the child's journal is flushed and closed
    os.waitpid(pid, 0)
print(run.run_id)
"""
    result = run_python(code, fresh_store)
    run_id = result.stdout.strip().splitlines()[-1]
    run = nbmlops.get_run(run_id)
    assert run.metrics == {"parent": 1.0, "child": 2.0}
    assert run.status is nbmlops.RunStatus.FINISHED  # the child did not end the parent's run


def test_reader_waits_for_a_catalog_held_by_another_process(fresh_store: Store) -> None:
    fresh_store.release()
    holder = spawn_python(
        "import duckdb, sys, time; con = duckdb.connect(sys.argv[1]); print('held', flush=True); "
        "time.sleep(1.5); con.close()", fresh_store, str(fresh_store.catalog_path))
    assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
    started = time.monotonic()
    assert nbmlops.runs().empty  # waited for the lock instead of failing
    assert time.monotonic() - started > 0.5
    holder.wait(timeout=30)


def test_a_held_catalog_stays_locked_while_its_holder_reads_and_caches(fresh_store: Store) -> None:
    # DuckDB's lock is dropped by the kernel when its process closes any descriptor of the file: looking
    # at the file (what every cached read does) once let a second writer in, and one of two versions
    # registered at once from two processes was lost.
    nbmlops.runs()
    try_open = ("import duckdb, sys\ntry:\n    duckdb.connect(sys.argv[1])\n    print('opened')\n"
                "except duckdb.IOException as exc:\n    print('locked' if 'lock' in str(exc) else exc)")
    with fresh_store.reading():
        fresh_store.catalog.state()
        nbmlops.runs()
        assert run_python(try_open, fresh_store, str(fresh_store.catalog_path)).stdout.strip() == "locked"
    fresh_store.release()
    assert run_python(try_open, fresh_store, str(fresh_store.catalog_path)).stdout.strip() == "opened"


def test_lock_held_too_long_gives_a_clear_error(fresh_store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(catalog, "LOCK_WAIT_SECONDS", 0.3)
    fresh_store.release()
    holder = spawn_python(
        "import duckdb, sys, time; con = duckdb.connect(sys.argv[1]); print('held', flush=True); "
        "time.sleep(30)", fresh_store, str(fresh_store.catalog_path))
    assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
    try:
        with pytest.raises(nbmlops.StoreLockedError, match=r"stayed locked for .* by .*PID"):
            nbmlops.runs()
    finally:
        holder.kill()
        holder.wait()
    assert nbmlops.runs().empty  # usable again once the holder is gone


def test_compact_folds_journals_and_keeps_data(fresh_store: Store) -> None:
    for i in range(3):
        run_python(f"import nbmlops\nwith nbmlops.start_run(name='r{i}'):\n nbmlops.log_metric('m', {i})",
                   fresh_store)
    assert len(nbmlops.runs()) == 3
    done = fresh_store.journal_dir / "done"
    assert len(list(done.iterdir())) == 3
    report, removed = fresh_store.compact()
    assert removed == 3 and not list(done.iterdir())
    assert sorted(nbmlops.runs()["metrics.m"].tolist()) == [0.0, 1.0, 2.0]
    fresh_store.release()
    con = duckdb.connect(str(fresh_store.catalog_path), read_only=True)
    try:
        assert con.execute("SELECT count(*) FROM metrics").fetchone() == (3,)
    finally:
        con.close()
