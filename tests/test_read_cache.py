"""Answers kept in memory: never older than what the store holds, equal when nothing changed, bounded."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import warnings

import pytest

import nbmlops
from nbmlops.store import readcache
from nbmlops.store.folder import Store
from tests.conftest import run_python, spawn_python

FINISHED_RUN = """
import sys, nbmlops
with nbmlops.start_run(name=sys.argv[1]):
    nbmlops.log_param("i", int(sys.argv[2]))
    nbmlops.log_metric("m", float(sys.argv[2]))
    nbmlops.set_tags({"team": "a", "stage": "dev"})
"""

LIVE_RUN = """
import sys, time, nbmlops
run = nbmlops.start_run(name="live")
nbmlops.log_metric("m", 1.0)
nbmlops.tracking.tracker.tracker().flush()
print(run.run_id, flush=True)
if sys.stdin.readline().strip() == "end":
    nbmlops.log_metric("m", 2.0)
    nbmlops.end_run()
    print("ended", flush=True)
time.sleep(600)
"""


def _names() -> list[str]:
    return sorted(nbmlops.runs()["name"])


def test_a_run_another_process_logs_is_seen_by_the_next_search(fresh_store: Store) -> None:
    run_python(FINISHED_RUN, fresh_store, "first", "1")
    assert _names() == ["first"]
    assert _names() == ["first"]  # answered from memory
    run_python(FINISHED_RUN, fresh_store, "second", "2")
    assert _names() == ["first", "second"]
    assert nbmlops.runs(where="params.i = 2")["name"].tolist() == ["second"]


def test_an_identical_query_with_nothing_changed_returns_equal_data_that_the_caller_may_change(
        fresh_store: Store) -> None:
    for i in range(3):
        run_python(FINISHED_RUN, fresh_store, f"r{i}", str(i))
    first = nbmlops.runs(where="metrics.m >= 1", order_by="params.i")
    first.loc[0, "name"] = "scribbled"  # the caller's copy, not the kept answer
    second = nbmlops.runs(where="metrics.m >= 1", order_by="params.i")
    assert second["name"].tolist() == ["r1", "r2"]
    assert second.drop(columns="duration").equals(
        nbmlops.runs(where="metrics.m >= 1", order_by="params.i").drop(columns="duration"))
    run = nbmlops.get_run(second["run_id"][0])
    run.params["i"] = 99
    assert nbmlops.get_run(second["run_id"][0]).params == {"i": 1}


def test_unknown_key_warning_is_repeated_for_a_kept_answer(fresh_store: Store) -> None:
    run_python(FINISHED_RUN, fresh_store, "r", "1")
    for _ in range(2):
        with pytest.warns(UserWarning, match="metrics.mm: no run has this metric; did you mean metrics.m"):
            nbmlops.runs(where="metrics.mm > 0")


def test_a_live_run_whose_process_is_killed_is_seen_killed(fresh_store: Store) -> None:
    victim = spawn_python(LIVE_RUN, fresh_store)
    try:
        assert victim.stdout is not None
        run_id = victim.stdout.readline().strip()
        assert nbmlops.get_run(run_id).status is nbmlops.RunStatus.RUNNING
        running = nbmlops.runs()
        assert running["status"].tolist() == ["RUNNING"] and running["duration"].notna().all()
        assert nbmlops.runs()["duration"][0] >= running["duration"][0]  # a kept answer's run runs on
        victim.send_signal(signal.SIGKILL)  # its journal does not change: only its writer is gone
        victim.wait(timeout=30)
        assert nbmlops.get_run(run_id).status is nbmlops.RunStatus.KILLED
        assert nbmlops.runs()["status"].tolist() == ["KILLED"]
    finally:
        victim.kill()
        victim.wait(timeout=30)


def test_a_run_ended_by_its_own_process_is_seen_finished(fresh_store: Store) -> None:
    env = {**os.environ, "NBMLOPS_STORE": str(fresh_store.root)}
    proc = subprocess.Popen([sys.executable, "-c", LIVE_RUN], env=env, text=True, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE)
    try:
        assert proc.stdin is not None and proc.stdout is not None
        run_id = proc.stdout.readline().strip()
        before = nbmlops.get_run(run_id)
        assert before.status is nbmlops.RunStatus.RUNNING and before.metrics == {"m": 1.0}
        proc.stdin.write("end\n")
        proc.stdin.flush()
        assert proc.stdout.readline().strip() == "ended"
        after = nbmlops.get_run(run_id)
        assert after.status is nbmlops.RunStatus.FINISHED and after.metrics == {"m": 2.0}
        assert nbmlops.runs()["status"].tolist() == ["FINISHED"]
    finally:
        proc.kill()
        proc.wait(timeout=30)


def test_tag_deleted_and_model_registered_by_another_process_are_seen(fresh_store: Store) -> None:
    run_python(FINISHED_RUN, fresh_store, "tagged", "1")
    run_id = nbmlops.runs()["run_id"][0]
    assert nbmlops.get_run(run_id).tags.get("stage") == "dev"
    run_python(f"""
import nbmlops
nbmlops.pin({run_id!r}, "keep")  # written straight into the catalog
""", fresh_store)
    assert nbmlops.get_run(run_id).tags.get("pinned") == "keep"
    assert nbmlops.runs()["tags.pinned"].tolist() == ["keep"]
    run_python(f"""
import nbmlops
nbmlops.unpin({run_id!r})
with nbmlops.start_run(name="other"):
    nbmlops.set_tag("stage", "x")
    nbmlops.delete_tag("stage")
""", fresh_store)
    assert "pinned" not in nbmlops.get_run(run_id).tags
    assert "tags.pinned" not in nbmlops.runs().columns
    assert nbmlops.runs(where="tags.stage = 'x'").empty

    run_python("""
import nbmlops
from sklearn.linear_model import LogisticRegression
with nbmlops.start_run(name="modelled"):
    nbmlops.log_model(LogisticRegression().fit([[0.0], [1.0]], [0, 1]), "clf")
nbmlops.promote("clf", 1, "production")
""", fresh_store)
    modelled = nbmlops.runs(where="name = 'modelled'")
    assert modelled["tags.model.clf.version"].tolist() == ["1"]
    assert nbmlops.get_model_version("clf@production").version == 1


def test_a_catalog_change_by_plain_duckdb_in_another_process_is_seen(fresh_store: Store) -> None:
    run_python(FINISHED_RUN, fresh_store, "before", "1")
    assert _names() == ["before"]
    fresh_store.release()  # let the other process in
    run_python(f"""
import duckdb
con = duckdb.connect({str(fresh_store.catalog_path)!r})
con.execute("UPDATE runs SET name = 'renamed'")
con.close()
""", fresh_store)
    assert _names() == ["renamed"]


def test_a_fold_by_another_process_is_seen(fresh_store: Store) -> None:
    run_python(FINISHED_RUN, fresh_store, "a", "1")
    assert _names() == ["a"]
    fresh_store.release()
    run_python(FINISHED_RUN, fresh_store, "b", "2")
    run_python("import nbmlops; nbmlops.get_store().refresh()", fresh_store)  # folds and retires b's journal
    assert not list(fresh_store.journal_dir.glob("*.jnl"))
    assert _names() == ["a", "b"]


def test_kept_answers_are_bounded(fresh_store: Store) -> None:
    run_python(FINISHED_RUN, fresh_store, "r", "1")
    for i in range(readcache.MAX_ENTRIES * 3):
        assert len(nbmlops.runs(where=f"params.i != {i + 2}")) == 1
    cache = readcache.cache_for(fresh_store.catalog, fresh_store.journal_dir)
    assert 0 < len(cache) <= readcache.MAX_ENTRIES


def test_a_catalog_cut_short_after_an_answer_was_kept_is_reported(fresh_store: Store) -> None:
    run_python(FINISHED_RUN, fresh_store, "r", "1")
    assert _names() == ["r"]
    fresh_store.release()
    path = fresh_store.catalog_path
    os.truncate(path, path.stat().st_size // 2)
    with pytest.raises(nbmlops.CorruptStoreError, match="is damaged and cannot be read"):
        nbmlops.runs()


def test_a_wrong_query_is_refused_as_before(fresh_store: Store) -> None:
    with pytest.raises(nbmlops.InvalidInputError):
        nbmlops.runs(where="metrics.m >>> 1")
    with pytest.raises(nbmlops.InvalidInputError):
        nbmlops.runs(experiment=[["not", "a", "name"]])  # type: ignore[list-item]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert nbmlops.runs().empty


HOLDER = """
import sys, time, duckdb
con = duckdb.connect(sys.argv[1])
print("holding", flush=True)
time.sleep(60)
"""


def test_a_repeated_question_is_answered_while_another_process_holds_the_catalog(
        fresh_store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    from nbmlops.store import catalog

    run_python(FINISHED_RUN, fresh_store, "r", "1")
    first = nbmlops.runs(where="params.i = 1")
    run = nbmlops.get_run(first["run_id"][0])
    fresh_store.release()
    monkeypatch.setattr(catalog, "LOCK_WAIT_SECONDS", 1.0)
    holder = spawn_python(HOLDER, fresh_store, str(fresh_store.catalog_path))
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "holding"
        again = nbmlops.runs(where="params.i = 1")  # from memory: nothing changed
        assert again.drop(columns="duration").equals(first.drop(columns="duration"))
        assert nbmlops.get_run(run.run_id) == run
        with pytest.raises(nbmlops.StoreLockedError):
            nbmlops.runs(where="params.i = 2")  # a new question needs the catalog
    finally:
        holder.kill()
        holder.wait(timeout=30)
