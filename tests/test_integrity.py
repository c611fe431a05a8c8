"""The catalog tells the truth: right latest values, damaged journals resynchronised, honest errors."""

from __future__ import annotations

import hashlib
import logging
import math
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

import nbmlops
from nbmlops.store import catalog
from nbmlops.store.folder import Store
from nbmlops.store.journal import _HEAD as HEAD
from nbmlops.store.journal import KIND_BATCH, _batch_payload, _frame, read_frames
from nbmlops.tracking import tracker as tracking
from tests.conftest import run_python


def _flush() -> None:
    """Write the tracker's buffer to its journal as one frame, without folding it."""
    tracking.tracker().flush()


def test_latest_metric_is_highest_step_across_flushes(fresh_store: Store) -> None:
    with nbmlops.start_run() as run:
        for step in range(3):
            nbmlops.log_metric("auc", 0.5 + step / 10, step=step)
            _flush()  # one frame per point: the next read folds three frames at once
    assert nbmlops.get_run(run.run_id).metrics == {"auc": 0.7}
    assert nbmlops.metric_history(run.run_id, "auc")["value"].tolist() == [0.5, 0.6, 0.7]
    assert nbmlops.runs(where="metrics.auc > 0.65")["run_id"].tolist() == [run.run_id]


def test_latest_metric_ignores_lower_steps_logged_later_in_one_fold(fresh_store: Store) -> None:
    with nbmlops.start_run() as run:
        nbmlops.log_metric("loss", 0.1, step=10)
        _flush()
        nbmlops.log_metric("loss", 0.9, step=2)  # a late point of an earlier step
        _flush()
        nbmlops.log_metric("loss", 0.2, step=10)  # same step again: the later one counts
        _flush()
    assert nbmlops.get_run(run.run_id).metrics == {"loss": 0.2}


def test_latest_metric_compares_with_the_value_already_in_the_catalog(fresh_store: Store) -> None:
    with nbmlops.start_run() as run:
        nbmlops.log_metric("acc", 0.8, step=5)
        assert nbmlops.get_run(run.run_id).metrics == {"acc": 0.8}  # folded
        nbmlops.log_metric("acc", 0.1, step=1)
        _flush()
        nbmlops.log_metric("acc", 0.2, step=3)
        _flush()
    assert nbmlops.get_run(run.run_id).metrics == {"acc": 0.8}


def test_nan_latest_value_folded_from_several_frames_stays_nan(fresh_store: Store) -> None:
    with nbmlops.start_run() as run:
        nbmlops.log_metric("grad", 1.0, step=0)
        _flush()
        nbmlops.log_metric("grad", float("nan"), step=1)
        _flush()
        nbmlops.log_metric("ok", float("nan"), step=0)
        _flush()
        nbmlops.log_metric("ok", 3.0, step=1)
        _flush()
    metrics = nbmlops.get_run(run.run_id).metrics
    assert math.isnan(metrics["grad"]) and metrics["ok"] == 3.0
    fresh_store.release()
    with fresh_store.reading() as con:  # NaN, not NULL, in the catalog itself
        rows = con.execute("SELECT key, isnan(value) FROM latest_metrics ORDER BY key").fetchall()
    assert rows == [("grad", True), ("ok", False)]


FINISHED_IN_FRAMES = """
import nbmlops
from nbmlops.tracking import tracker as tracking
run = nbmlops.start_run(name="finished")
for step in range(4):
    nbmlops.log_metric("m", float(step), step=step)
    nbmlops.log_param(f"p{step}", step)
    tracking.tracker().flush()  # one frame per step
nbmlops.end_run()
print(run.run_id, tracking.tracker()._writer.path, flush=True)
"""


def _finished_journal(store: Store) -> tuple[str, Path, int, int]:
    """A closed journal of a FINISHED run: (run id, path, start and end offset of step 1's frame)."""
    out = run_python(FINISHED_IN_FRAMES, store).stdout.split()
    run_id, path = out[0], Path(out[1])
    frames = read_frames(path, 0).frames
    index = next(i for i, f in enumerate(frames) if f.points is not None and 1 in f.points["step"])
    return run_id, path, frames[index - 1].end, frames[index].end


def _damage(path: Path, *offsets: int, mask: int = 0x40) -> None:
    data = bytearray(path.read_bytes())
    for at in offsets:
        data[at] ^= mask
    path.write_bytes(bytes(data))


def _length_field(path: Path, at: int) -> int:
    return int(HEAD.unpack_from(path.read_bytes(), at)[3])


def test_damaged_length_field_keeps_later_frames_and_the_run_finished(
        fresh_store: Store, caplog: pytest.LogCaptureFixture) -> None:
    run_id, path, start, _ = _finished_journal(fresh_store)
    _damage(path, start + 7)  # the high byte of the frame's length: it now runs past the end
    length = _length_field(path, start)
    with caplog.at_level(logging.WARNING, logger="nbmlops"):
        run = nbmlops.get_run(run_id)
    assert run.status is nbmlops.RunStatus.FINISHED
    assert run.params == {"p0": 0, "p1": 1, "p2": 2, "p3": 3}  # the damaged frame's data too
    assert run.metrics == {"m": 3.0}
    assert nbmlops.metric_history(run_id, "m")["step"].tolist() == [0, 1, 2, 3]
    assert path.name in caplog.text
    assert f"frame at byte {start} has a damaged header: its length field says {length} bytes" in caplog.text
    assert "killed" not in caplog.text


def test_damaged_header_and_data_skip_one_frame_and_name_the_offset_and_cause(
        fresh_store: Store, caplog: pytest.LogCaptureFixture) -> None:
    run_id, path, start, end = _finished_journal(fresh_store)
    _damage(path, start + 7, start + 30)  # length and payload: this frame is lost
    length = _length_field(path, start)
    with caplog.at_level(logging.WARNING, logger="nbmlops"):
        run = nbmlops.get_run(run_id)
    assert run.status is nbmlops.RunStatus.FINISHED
    assert run.params == {"p0": 0, "p2": 2, "p3": 3}
    assert run.metrics == {"m": 3.0}
    assert nbmlops.metric_history(run_id, "m")["step"].tolist() == [0, 2, 3]
    assert f"journal {path} is damaged: frame at byte {start} has a damaged header: its length field " \
        f"says {length} bytes, past the end of the journal" in caplog.text
    assert f"resumed at the next valid frame at byte {end}" in caplog.text
    assert "killed" not in caplog.text
    assert nbmlops.runs()["status"].tolist() == ["FINISHED"]  # and the journal was retired as read
    assert not list(fresh_store.journal_dir.glob("*.jnl"))


def test_damaged_length_of_the_last_frame_is_not_taken_for_a_killed_writer(
        fresh_store: Store, caplog: pytest.LogCaptureFixture) -> None:
    run_id, path, _, _ = _finished_journal(fresh_store)
    last = [f.end for f in read_frames(path, 0).frames][-2]  # where the close frame starts
    _damage(path, last + 7)
    with caplog.at_level(logging.WARNING, logger="nbmlops"):
        run = nbmlops.get_run(run_id)
    assert run.status is nbmlops.RunStatus.FINISHED and run.metrics == {"m": 3.0}
    assert f"frame at byte {last} has a damaged header" in caplog.text and "killed" not in caplog.text


def test_torn_tail_after_damage_waits_for_its_writer(tmp_path: Path) -> None:
    path = tmp_path / "x.jnl"
    frame = _frame(KIND_BATCH, _batch_payload([["close", {"at": 1.0}]], {}, None))
    path.write_bytes(frame + b"garbage!" * 3 + frame[:len(frame) // 2])
    result = read_frames(path, 0)
    assert len(result.frames) == 1
    assert result.end == len(frame) + 24  # the garbage is skipped, the torn frame is left for later
    assert [d.at for d in result.damage] == [len(frame)]


# -- errors that say what happened ------------------------------------------------------------


def cli(store: Store, *args: str) -> subprocess.CompletedProcess[str]:
    """Run the `nbmlops` command against `store`, as a user would."""
    env = {**os.environ, "NBMLOPS_STORE": str(store.root)}
    return subprocess.run([sys.executable, "-m", "nbmlops.cli", *args], env=env, capture_output=True,
                          text=True, timeout=60)


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 16 MB filesystem of its own (a tmpfs: mounting one needs root)."""
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(mount)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"a full disk needs a small filesystem, and mounting a tmpfs failed: {done.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def _fill(folder: Path) -> Path:
    filler = folder / "filler"
    with open(filler, "wb") as f:
        try:
            while True:
                f.write(b"\0" * (1 << 20))
        except OSError:
            pass
    return filler


@pytest.mark.parametrize("points", [2_000, 300_000], ids=["commit-fails", "insert-fails"])
def test_full_disk_is_reported_as_such_and_loses_nothing(small_disk: Path, points: int) -> None:
    store = Store(small_disk / ".nbmlops")
    store.init()
    store.release()
    run_python(f"import nbmlops\nwith nbmlops.start_run(name='big'):\n"
               f"    for i in range({points}): nbmlops.log_metric('m', float(i))", store)
    filler = _fill(small_disk)
    previous = tracking._default
    tracking._default = tracking.Tracker(store)
    try:
        with pytest.raises(nbmlops.StoreError) as raised:
            nbmlops.runs()
        message = str(raised.value)
        assert "No space left on device" in message and str(store.root) in message and "free space" in message
        assert "rollback" not in message and "\n" not in message
        result = cli(store, "runs")
        assert result.returncode == 1
        assert len(result.stderr.strip().splitlines()) == 1
        assert "No space left on device" in result.stderr and "rollback" not in result.stderr
        filler.unlink()  # once there is room again, everything is there
        table = nbmlops.runs()
        assert table["name"].tolist() == ["big"] and table["metrics.m"].tolist() == [points - 1.0]
    finally:
        tracking._default.close()
        tracking._default = previous
        catalog.release()


def test_failed_commit_is_the_error_raised_not_the_rollback_after_it(fresh_store: Store) -> None:
    fresh_store.release()
    con = duckdb.connect(str(fresh_store.catalog_path))
    other = con.cursor()  # a second transaction on the same file, committing the same key first
    try:
        with (pytest.raises(duckdb.TransactionException, match="Failed to commit.*duplicate key"),
              catalog.transaction(con)):
            con.execute("INSERT INTO experiments VALUES ('clash', now()::TIMESTAMP)")
            other.execute("INSERT INTO experiments VALUES ('clash', now()::TIMESTAMP)")
    finally:
        con.close()


def test_an_error_masked_by_a_failing_rollback_is_unmasked(fresh_store: Store) -> None:
    # The pattern of a hand-written transaction: ROLLBACK after a failed COMMIT fails as well.
    with (pytest.raises(duckdb.TransactionException, match="Failed to commit.*duplicate key") as raised,
          catalog.open_catalog(fresh_store.catalog_path) as con):
        other = con.cursor()
        con.execute("BEGIN TRANSACTION")
        con.execute("INSERT INTO experiments VALUES ('clash', now()::TIMESTAMP)")
        other.execute("INSERT INTO experiments VALUES ('clash', now()::TIMESTAMP)")
        try:
            con.execute("COMMIT")
        except duckdb.Error:
            con.execute("ROLLBACK")
            raise
    assert "no transaction is active" not in str(raised.value)


FINISHED_RUN = """
import sys, nbmlops
with nbmlops.start_run(name=sys.argv[1]):
    nbmlops.log_param("i", int(sys.argv[2]))
    nbmlops.log_metric("m", float(sys.argv[2]))
"""


def test_catalog_cut_in_half_is_named_left_untouched_and_rebuilt_from_journals(fresh_store: Store) -> None:
    run_python(FINISHED_RUN, fresh_store, "retired", "1")
    assert nbmlops.runs()["name"].tolist() == ["retired"]  # its journal is now in journals/done
    run_python(FINISHED_RUN, fresh_store, "pending", "2")  # not folded yet
    fresh_store.release()
    path = fresh_store.catalog_path
    os.truncate(path, path.stat().st_size // 2)
    before = hashlib.sha256(path.read_bytes()).hexdigest()

    for read in (nbmlops.runs, lambda: nbmlops.get_run("anything")):
        with pytest.raises(nbmlops.CorruptStoreError) as raised:
            read()
        message = str(raised.value)
        assert f"catalog {path} is damaged and cannot be read" in message and "left untouched" in message
        assert "move it aside" in message and "rebuilds it from the journals" in message
        assert "\n" not in message
    result = cli(fresh_store, "runs")
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [f"Error: {message}"]
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before

    path.rename(path.with_name("store.duckdb.damaged"))  # what the message says to do
    table = nbmlops.runs(order_by="params.i")
    assert table["name"].tolist() == ["retired", "pending"]
    assert table["metrics.m"].tolist() == [1.0, 2.0]
    assert set(table["status"]) == {"FINISHED"}
