"""The times a search shows are the times the run was logged at, to the microsecond, whether a run ended
in the fold that saw it start (inserted as ended) or in a later one (its row updated)."""

from __future__ import annotations

import time

import pandas as pd
import pytest

import nbmlops
from nbmlops.store.folder import Store


def _seconds(stamp: object) -> float:
    return stamp.timestamp()  # type: ignore[attr-defined]


def test_a_run_folded_after_it_ended_shows_its_times_to_the_microsecond(fresh_store: Store) -> None:
    before = time.time()
    with nbmlops.start_run(name="short") as run:
        nbmlops.log_param("p", 1)
        started = time.time()
        time.sleep(0.01)
        ending = time.time()
    after = time.time()

    row = nbmlops.runs(where="params.p = 1").set_index("run_id").loc[run.run_id]
    assert row["status"] == "FINISHED"
    # Whole seconds (a lost fraction) would fall before `before` or `ending` but for 1 in ~1,000 runs.
    assert before <= _seconds(row["start_time"]) <= started
    assert ending <= _seconds(row["end_time"]) <= after
    assert row["duration"] == pytest.approx(_seconds(row["end_time"]) - _seconds(row["start_time"]), abs=1e-6)


def test_a_run_seen_running_then_ended_shows_its_end_to_the_microsecond(fresh_store: Store) -> None:
    run = nbmlops.start_run(name="long")
    nbmlops.log_metric("loss", 0.5)
    seen = nbmlops.runs().set_index("run_id").loc[run.run_id]
    assert seen["status"] == "RUNNING" and pd.isna(seen["end_time"])

    ending = time.time()
    nbmlops.end_run(status="FAILED")
    after = time.time()
    row = nbmlops.runs().set_index("run_id").loc[run.run_id]
    assert row["status"] == "FAILED"
    assert row["start_time"] == seen["start_time"]
    assert ending <= _seconds(row["end_time"]) <= after
