"""Store files from other versions, and damaged ones: upgraded, refused, or skipped, never lost."""

from __future__ import annotations

import gzip
import hashlib
import json
import logging
import shutil
import struct
import zlib
from pathlib import Path

import duckdb
import pytest

import nbmlops
from nbmlops.store.catalog import schema_version
from nbmlops.store.folder import Store
from nbmlops.store.journal import read_frames
from nbmlops.store.migrations import latest_version
from nbmlops.tracking import tracker as tracking
from tests.conftest import run_python

FIXTURES = Path(__file__).parent / "fixtures"


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _use(store: Store) -> None:
    tracking._default = tracking.Tracker(store)


def test_store_of_schema_v1_opens_and_upgrades(fresh_store: Store, tmp_path: Path) -> None:
    old = Store(tmp_path / "legacy" / ".nbmlops")
    old.root.mkdir(parents=True)
    with gzip.open(FIXTURES / "store_v1" / "store.duckdb.gz") as src, open(old.catalog_path, "wb") as dst:
        shutil.copyfileobj(src, dst)
    con = duckdb.connect(str(old.catalog_path), read_only=True)
    assert schema_version(con) == 1
    con.close()

    _use(old)
    df = nbmlops.runs("legacy", order_by="name")
    assert df["name"].tolist() == ["old-0", "old-1"]
    assert df["params.C"].tolist() == [0.1, 1.0]
    assert df["tags.era"].tolist() == ["v1", "v1"]
    assert nbmlops.metric_history(df["run_id"][0], "loss")["value"].tolist() == [1.0, 0.5, 1 / 3]
    with nbmlops.start_run(experiment="legacy", name="new"):  # and it takes new runs
        nbmlops.log_metric("loss", 0.1)
    assert len(nbmlops.runs("legacy")) == 3
    old.release()
    con = duckdb.connect(str(old.catalog_path), read_only=True)
    try:
        assert schema_version(con) == latest_version()
        assert con.execute("SELECT count(*) FROM model_versions").fetchone() == (0,)
        assert [r[0] for r in con.execute("SELECT version FROM schema_migrations ORDER BY 1").fetchall()] \
            == list(range(1, latest_version() + 1))
    finally:
        con.close()


def test_store_of_a_newer_schema_is_refused_and_untouched(fresh_store: Store) -> None:
    con = duckdb.connect(str(fresh_store.catalog_path))
    con.execute("INSERT INTO schema_migrations VALUES (99, 'from the future', now()::TIMESTAMP)")
    con.close()
    before = _digest(fresh_store.catalog_path)
    expected = rf"schema version 99, this nbmlops reads up to {latest_version()}: pip install -U nbmlops"
    with pytest.raises(nbmlops.StoreVersionError, match=expected):
        nbmlops.runs()
    assert _digest(fresh_store.catalog_path) == before


def test_a_catalog_in_a_newer_duckdb_file_format_is_named_and_untouched(tmp_path: Path) -> None:
    """DuckDB 2.0 writes a file format DuckDB 1.5 (the one nbmlops[team] installs) cannot read."""
    store = Store(tmp_path / ".nbmlops")
    store.root.mkdir()
    with gzip.open(FIXTURES / "store_duckdb2" / "store.duckdb.gz") as src, open(store.catalog_path, "wb") as dst:
        shutil.copyfileobj(src, dst)
    before = _digest(store.catalog_path)
    _use(store)
    if duckdb.__version__.startswith("1."):
        with pytest.raises(nbmlops.StoreVersionError,
                           match=r"written by a newer DuckDB \(file format 999\).*nbmlops export.*not changed"):
            nbmlops.runs("legacy")
        assert _digest(store.catalog_path) == before
    else:  # a DuckDB that reads it upgrades it as any old store
        assert nbmlops.runs("legacy", order_by="name")["name"].tolist() == ["old-0", "old-1"]


def test_corrupt_catalog_is_named_and_never_overwritten(fresh_store: Store) -> None:
    fresh_store.catalog_path.unlink()
    fresh_store.catalog_path.write_bytes(b"this is not a database" * 500)
    before = _digest(fresh_store.catalog_path)
    with pytest.raises(nbmlops.CorruptStoreError, match=rf"{fresh_store.catalog_path}.*left untouched"):
        nbmlops.runs()
    with nbmlops.start_run():  # writers never touch the catalog: tracking goes on
        nbmlops.log_metric("still", 1.0)
    with pytest.raises(nbmlops.CorruptStoreError):
        nbmlops.experiments()
    assert _digest(fresh_store.catalog_path) == before


def test_journal_from_a_newer_nbmlops_is_refused(fresh_store: Store) -> None:
    run_python("import nbmlops\nwith nbmlops.start_run(): pass", fresh_store)
    journal = next(fresh_store.journal_dir.glob("*.jnl"))
    # Rewrite the header frame as format 99, as a newer nbmlops would write it.
    data = journal.read_bytes()
    head = struct.Struct("<2sBBII")
    _, kind, _, length, _ = head.unpack_from(data, 0)
    header = json.loads(data[head.size:head.size + length])
    header["format"] = 99
    payload = json.dumps(header).encode()
    fresh = head.pack(b"NJ", kind, 0, len(payload), zlib.crc32(payload)) + payload
    journal.write_bytes(fresh + data[head.size + length:])
    with pytest.raises(nbmlops.StoreVersionError, match="has format 99.*pip install -U nbmlops"):
        nbmlops.runs()


KILLED_AFTER_FLUSH = """
import os, nbmlops
from nbmlops.tracking import tracker as tracking
run = nbmlops.start_run(name="torn")
for step in range(100):
    nbmlops.log_metric("m", float(step))
tracking.tracker().flush()
print(run.run_id, tracking.tracker()._writer.path, flush=True)
os._exit(0)  # no close event, like a crash
"""


def test_torn_tail_of_a_dead_writer_is_dropped(fresh_store: Store, caplog: pytest.LogCaptureFixture) -> None:
    out = run_python(KILLED_AFTER_FLUSH, fresh_store).stdout.split()
    run_id, journal = out[0], Path(out[1])
    with open(journal, "ab") as f:
        f.write(b"NJ\x02\x00" + (10_000).to_bytes(4, "little") + b"\x00\x00\x00\x00" + b"partial")
    with caplog.at_level(logging.WARNING, logger="nbmlops"):
        run = nbmlops.get_run(run_id)
    assert run.status is nbmlops.RunStatus.KILLED
    assert run.metrics == {"m": 99.0}
    assert "unfinished frame" in caplog.text


def test_damaged_frame_is_skipped_and_later_frames_are_kept(fresh_store: Store, tmp_path: Path,
                                                            caplog: pytest.LogCaptureFixture) -> None:
    code = """
import nbmlops
from nbmlops.tracking import tracker as tracking
run = nbmlops.start_run(name="damaged")
for step in range(3):
    nbmlops.log_metric("m", float(step), step=step)
    tracking.tracker().flush()
nbmlops.end_run()
print(run.run_id, tracking.tracker()._writer.path, flush=True)
"""
    out = run_python(code, fresh_store).stdout.split()
    run_id, journal = out[0], Path(out[1])
    frames = read_frames(journal, 0).frames
    data = bytearray(journal.read_bytes())
    # Flip a byte inside the frame that holds step 1.
    start = frames[1].end
    data[start + 20] ^= 0xFF
    journal.write_bytes(bytes(data))
    with caplog.at_level(logging.WARNING, logger="nbmlops"):
        steps = nbmlops.metric_history(run_id, "m")["step"].tolist()
    assert steps == [0, 2]
    assert "damaged" in caplog.text
    assert nbmlops.get_run(run_id).status is nbmlops.RunStatus.FINISHED
