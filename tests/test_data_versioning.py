"""Data versioning: snapshots of every kind of data, deduplication, diffs, reproduce from snapshots,
lineage, disk usage and garbage collection, against real stores, kernels and papermill runs."""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import nbmlops
from nbmlops.cli import main
from nbmlops.data import frames, parquet
from nbmlops.data.diff import diff
from nbmlops.data.fingerprint import fingerprint
from nbmlops.jobs.reproduce import reproduce
from nbmlops.store import disk as space
from nbmlops.store.bundles import export_bundle, import_bundle
from nbmlops.store.folder import Store
from nbmlops.tracking.tracker import tracker
from tests.conftest import make_notebook


def stored_files(store: Store) -> set[str]:
    """Content addresses of every file in the store."""
    return {p.parent.name + p.name for p in store.artifact_dir.glob("??/*")}


def cli(store: Store, *args: str) -> str:
    """Run the CLI against `store`; returns its output and checks it succeeded."""
    result = CliRunner().invoke(main, ["--store", str(store.root), *args])
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture
def awkward_frame() -> pd.DataFrame:
    """Unicode column names, categoricals, time zones, nullable integers, strings with None, a named index."""
    n = 500
    rng = np.random.default_rng(1)
    return pd.DataFrame({
        "größe": rng.normal(size=n),
        "名前": rng.choice(["α", "β", "γ"], n),
        "kind": pd.Categorical(rng.choice(["b", "a"], n), categories=["b", "a", "c"], ordered=True),
        "when": pd.date_range("2024-01-01", periods=n, freq="h"),
        "when_oslo": pd.date_range("2024-01-01", periods=n, freq="D", tz="Europe/Oslo"),
        "count": pd.array([None if i % 7 == 0 else i for i in range(n)], dtype="Int64"),
        "note": pd.Series([None if i % 5 == 0 else f"n{i}" for i in range(n)], dtype=object),
        "flag": rng.random(n) > 0.5,
        "small": rng.integers(0, 200, n).astype("uint8"),
    }, index=pd.Index([f"row{i}" for i in range(n)], name="row_id"))


def test_frame_series_and_array_round_trip(fresh_store: Store, awkward_frame: pd.DataFrame) -> None:
    arrays = {"matrix": np.arange(24.0).reshape(6, 4), "cube": np.arange(60, dtype="int32").reshape(3, 4, 5),
              "fortran": np.asfortranarray(np.arange(12).reshape(3, 4))}
    with nbmlops.start_run():
        nbmlops.log_dataset(awkward_frame, "frame", snapshot=True)
        nbmlops.log_dataset(awkward_frame["größe"], "series", snapshot=True)
        nbmlops.log_dataset(awkward_frame.reset_index(drop=True), "plain", snapshot=True)
        for name, arr in arrays.items():
            nbmlops.log_dataset(arr, name, snapshot=True)
    back = nbmlops.load_dataset("frame")
    pd.testing.assert_frame_equal(back, awkward_frame)
    assert fingerprint(back).fingerprint == fingerprint(awkward_frame).fingerprint
    pd.testing.assert_series_equal(nbmlops.load_dataset("series", 1), awkward_frame["größe"])
    pd.testing.assert_frame_equal(nbmlops.load_dataset("plain"), awkward_frame.reset_index(drop=True))
    for name, arr in arrays.items():
        loaded = nbmlops.load_dataset(name)
        assert loaded.dtype == arr.dtype and np.array_equal(loaded, arr)
        assert fingerprint(loaded).fingerprint == fingerprint(arr).fingerprint


def test_file_and_folder_round_trip_and_one_changed_file_stores_one_file(fresh_store: Store, tmp_path: Path) -> None:
    folder = tmp_path / "images"
    (folder / "cats").mkdir(parents=True)
    for i in range(5):
        (folder / "cats" / f"{i}.bin").write_bytes(os.urandom(1000) + bytes([i]))
    (folder / "labels.csv").write_text("name,label\n0,cat\n")
    (folder / "run.sh").write_text("#!/bin/sh\n")
    (folder / "run.sh").chmod(0o755)
    with nbmlops.start_run():
        nbmlops.log_dataset(folder, "images", snapshot=True)
        nbmlops.log_dataset(folder / "labels.csv", "labels", snapshot=True)
    before = stored_files(fresh_store)
    (folder / "cats" / "3.bin").write_bytes(b"changed")
    with nbmlops.start_run():
        nbmlops.log_dataset(folder, "images", snapshot=True)
    added = stored_files(fresh_store) - before
    assert len(added) == 2  # the one changed file and the new version's manifest
    with nbmlops.start_run():  # the same content again: nothing new at all
        nbmlops.log_dataset(folder, "images", snapshot=True)
    assert stored_files(fresh_store) - before == added

    first = nbmlops.load_dataset("images", 1, path=tmp_path / "v1")
    assert first == tmp_path / "v1"
    assert fingerprint(first).fingerprint == nbmlops.datasets("images")["fingerprint"].iloc[0]
    assert (first / "cats" / "3.bin").read_bytes() != b"changed" and os.access(first / "run.sh", os.X_OK)
    assert (nbmlops.load_dataset("images", path=tmp_path / "v2") / "cats" / "3.bin").read_bytes() == b"changed"
    restored = nbmlops.load_dataset("labels", path=tmp_path / "one")
    assert restored == tmp_path / "one" / "labels.csv" and restored.read_text() == "name,label\n0,cat\n"
    with pytest.raises(nbmlops.InvalidInputError, match="exists already"):
        nbmlops.load_dataset("labels", path=tmp_path / "one")


def test_appended_rows_store_only_new_parts(fresh_store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(frames, "PART_BYTES", 8 * 1000)  # 1000 rows of one float64 column per part
    monkeypatch.setattr(parquet, "PAGE_BYTES", 8 * 300)  # and pages of 300 values
    frame = pd.DataFrame({"x": np.arange(10_000, dtype=float)})
    frame.loc[3, "x"] = np.nan
    with nbmlops.start_run():
        nbmlops.log_dataset(frame, "growing", snapshot=True)
    before = stored_files(fresh_store)
    longer = pd.concat([frame, pd.DataFrame({"x": [1.0, 2.0]})], ignore_index=True)
    with nbmlops.start_run():
        nbmlops.log_dataset(longer, "growing", snapshot=True)
    assert len(stored_files(fresh_store) - before) == 2  # the new last part and the manifest
    pd.testing.assert_frame_equal(nbmlops.load_dataset("growing", 2), longer)


def test_diff_counts_known_changes_with_and_without_keys(fresh_store: Store, tmp_path: Path) -> None:
    old = pd.DataFrame({"id": np.arange(100), "x": np.arange(100) * 1.5, "city": ["Oslo", "Lima"] * 50})
    new = old.drop(index=[7, 8, 9]).copy()
    new.loc[new["id"] == 5, "x"] = -1.0  # one changed row
    new = pd.concat([new, pd.DataFrame({"id": [500, 501], "x": [0.0, 0.0], "city": ["Pune", "Pune"]})],
                    ignore_index=True)
    new["flag"] = True
    with nbmlops.start_run():
        nbmlops.log_dataset(old, "customers", snapshot=True)
    with nbmlops.start_run():
        nbmlops.log_dataset(new, "customers", snapshot=True)
    by_key = diff(fresh_store, "customers", 1, 2, ["id"])
    assert (by_key.added, by_key.removed, by_key.changed) == (2, 3, 1)
    assert by_key.rows == (100, 99)
    assert by_key.schema.to_dict("records") == [{"column": "flag", "change": "added", "old": None, "new": "bool"}]
    stats = by_key.stats.set_index(["column", "statistic"])
    assert stats.loc[("x", "min"), "old"] == 0.0 and stats.loc[("x", "min"), "new"] == -1.0
    whole = diff(fresh_store, "customers", 1, 2)
    assert (whole.added, whole.removed, whole.changed) == (3, 4, None)
    with pytest.raises(nbmlops.InvalidInputError, match="not in both versions"):
        diff(fresh_store, "customers", 1, 2, ["flag"])

    text = cli(fresh_store, "data", "diff", "customers", "1", "2", "--key", "id")
    assert "rows by id: 2 added, 3 removed, 1 changed" in text and "column 'flag' added" in text
    assert "customers" in cli(fresh_store, "data", "ls")
    assert "dataframe" in cli(fresh_store, "data", "show", "customers@2")

    folder = tmp_path / "docs"
    folder.mkdir()
    for name in "abc":
        (folder / name).write_text(name)
    with nbmlops.start_run():
        nbmlops.log_dataset(folder, "docs", snapshot=True)
    (folder / "a").write_text("A")
    (folder / "c").unlink()
    (folder / "d").write_text("d")
    with nbmlops.start_run():
        nbmlops.log_dataset(folder, "docs", snapshot=True)
    files = diff(fresh_store, "docs", 1, 2)
    assert (files.added, files.removed, files.changed) == (1, 1, 1)


def test_bad_inputs_are_one_clear_error(fresh_store: Store, tmp_path: Path) -> None:
    with nbmlops.start_run():
        nbmlops.log_dataset(pd.DataFrame({"a": [1, 2]}), "plain")  # no snapshot
        with pytest.raises(nbmlops.InvalidInputError, match="convert it with .astype"):
            nbmlops.log_dataset(pd.DataFrame({"mixed": [1, "a"]}), "mixed", snapshot=True)
        with pytest.raises(nbmlops.InvalidInputError, match="pickle"):
            nbmlops.log_dataset(np.array([{"a": 1}], dtype=object), "objects", snapshot=True)
        (tmp_path / "f.txt").write_text("x")
        nbmlops.log_dataset(tmp_path / "f.txt", "file", snapshot=True)
    with pytest.raises(nbmlops.NotFoundError, match="only its fingerprint and profile were kept"):
        nbmlops.load_dataset("plain")
    with pytest.raises(nbmlops.InvalidInputError, match="versions 1 to 1, not 4"):
        nbmlops.load_dataset("plain", 4)
    with pytest.raises(nbmlops.InvalidInputError, match="no dataset named"):
        nbmlops.load_dataset("nope")
    with pytest.raises(nbmlops.InvalidInputError, match="give path="):
        nbmlops.load_dataset("file")
    result = CliRunner().invoke(main, ["--store", str(fresh_store.root), "data", "show", "plain@9"])
    assert result.exit_code == 1 and result.output.count("\n") == 1 and "not 9" in result.output


def test_snapshot_train_setting_and_bundles_carry_snapshots(fresh_store: Store, tmp_path: Path) -> None:
    assert "snapshot-train = on" in cli(fresh_store, "config", "snapshot-train", "on")
    frame = pd.DataFrame({"a": np.arange(50)})
    with nbmlops.start_run() as run:
        nbmlops.log_dataset(frame, "train_data")  # role train: snapshotted by the setting
        nbmlops.log_dataset(frame.head(5), "test_data", role="test")
    pd.testing.assert_frame_equal(nbmlops.load_dataset("train_data"), frame)
    with pytest.raises(nbmlops.NotFoundError):
        nbmlops.load_dataset("test_data")

    bundle = export_bundle(fresh_store, tmp_path / "runs.tar.gz", run_ids=[run.run_id])
    other = Store(tmp_path / "other" / ".nbmlops")
    other.init()
    import_bundle(other, bundle)
    nbmlops.set_store(other.root)
    pd.testing.assert_frame_equal(nbmlops.load_dataset("train_data"), frame)


def test_lineage_of_a_promoted_model(fresh_store: Store) -> None:
    from sklearn.linear_model import LinearRegression

    frame = pd.DataFrame({"x": np.arange(20.0), "y": np.arange(20.0) * 2})
    with nbmlops.start_run() as other:
        nbmlops.log_dataset(frame, "sales")  # a sibling: used the same data, made no model
    with nbmlops.start_run(name="fit") as run:
        nbmlops.log_dataset(frame, "sales")
        nbmlops.log_dataset(frame.head(5), "holdout", role="test")
        nbmlops.log_model(LinearRegression().fit(frame[["x"]], frame["y"]), "sales-model")
    nbmlops.promote("sales-model", 1, "production")

    edges = nbmlops.lineage("sales-model@production")
    assert set(zip(edges["source"], edges["target"], edges["kind"], strict=True)) == {
        ("dataset:sales@1", f"run:{run.run_id}", "used"), ("dataset:holdout@1", f"run:{run.run_id}", "used"),
        (f"run:{run.run_id}", "model:sales-model/1", "registered"),
        ("model:sales-model/1", "alias:sales-model@production", "alias")}
    assert "<svg" in edges._repr_html_() and "sales-model@production" in edges._repr_html_()
    downstream = nbmlops.lineage("dataset:sales@1")
    assert {f"run:{other.run_id}", f"run:{run.run_id}", "alias:sales-model@production"} <= set(downstream["target"])
    assert len(nbmlops.lineage(run.run_id)) == 4
    assert "registered" in cli(fresh_store, "lineage", "sales-model/1")
    with pytest.raises(nbmlops.NotFoundError):
        nbmlops.lineage("nothing@here")


def test_gc_keeps_everything_referenced_and_removes_an_unreferenced_snapshot(
        fresh_store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    from sklearn.linear_model import LinearRegression

    def frame(seed: int) -> pd.DataFrame:
        return pd.DataFrame({"x": np.random.default_rng(seed).normal(size=200), "y": np.arange(200.0)})

    with nbmlops.start_run(name="scratch") as scratch:
        nbmlops.log_dataset(frame(1), "scratch", snapshot=True)
    with nbmlops.start_run(name="kept") as pinned:
        nbmlops.log_dataset(frame(2), "pinned", snapshot=True)
    with nbmlops.start_run(name="model"):
        nbmlops.log_dataset(frame(3), "modelled", snapshot=True)
        nbmlops.log_model(LinearRegression().fit(frame(3)[["x"]], frame(3)["y"]), "m")
    live = nbmlops.start_run(name="live")
    nbmlops.log_dataset(frame(4), "live", snapshot=True)
    tracker().flush()
    nbmlops.pin(pinned.run_id)

    assert cli(fresh_store, "gc").startswith("would remove 0 files")  # everything is recent
    monkeypatch.setattr(space, "GRACE_SECONDS", 0)
    time.sleep(0.05)
    dry = space.gc(fresh_store)
    assert dry.runs == [scratch.run_id] and dry.files and not dry.removed
    assert all(p.exists() for p in dry.files)
    assert "snapshots" in cli(fresh_store, "du")
    done = space.gc(fresh_store, dry_run=False)
    assert done.removed and sorted(map(str, done.files)) == sorted(map(str, dry.files))
    with pytest.raises(nbmlops.NotFoundError, match="no snapshot"):
        nbmlops.load_dataset("scratch")
    for name in ("pinned", "modelled", "live"):
        assert len(nbmlops.load_dataset(name)) == 200
    assert nbmlops.load_model("m/1") is not None
    assert nbmlops.get_run(scratch.run_id).tags["gc.removed"].startswith("artifacts removed by nbmlops gc")
    with fresh_store.reading() as con:  # no catalog row points at a missing file
        for (sha,) in con.execute("SELECT DISTINCT sha256 FROM artifacts").fetchall():
            assert fresh_store.artifact_path(sha).is_file()
    live.__exit__(None, None, None)
    nbmlops.unpin(pinned.run_id)
    assert space.gc(fresh_store, dry_run=False).runs == sorted([pinned.run_id, live.run_id])
    assert len(nbmlops.load_dataset("modelled")) == 200


def test_reproduce_after_the_source_files_were_deleted(store_env: Store, tmp_path: Path) -> None:
    data, other = tmp_path / "data.csv", tmp_path / "fixed" / "other.csv"
    other.parent.mkdir()
    pd.DataFrame({"x": np.arange(30.0)}).to_csv(data, index=False)
    pd.DataFrame({"z": [1.0, 2.0]}).to_csv(other, index=False)
    notebook = make_notebook(
        tmp_path / "train.ipynb", f"data_path = {str(data)!r}",
        "%load_ext nbmlops\nimport nbmlops, pandas as pd",
        "%%track --dataset data_path:train --snapshot -q\nframe = pd.read_csv(data_path)\n"
        "nbmlops.log_metric('total', float(frame['x'].sum()))",
        f"nbmlops.log_dataset({str(other)!r}, name='other', snapshot=True)\n"
        f"nbmlops.log_metric('other', float(pd.read_csv({str(other)!r})['z'].sum()))")
    first = nbmlops.run_notebook(notebook)
    assert first.status is nbmlops.RunStatus.FINISHED, first.error
    data.unlink()
    other.unlink()
    other.parent.rmdir()
    again = reproduce(tracker(), first.run_id)
    assert again.matches, (again.differences, again.result.error)
    assert any("parameter data_path pointed at a copy restored" in w for w in again.data_warnings)
    assert any("restored from its snapshot at its original path" in w for w in again.data_warnings)
    assert not other.parent.exists() and not data.exists()  # the user's folders are as they were


def test_the_setting_never_breaks_a_run_over_data_it_cannot_snapshot(fresh_store: Store) -> None:
    cli(fresh_store, "config", "snapshot-train", "on")
    with nbmlops.start_run(), pytest.warns(UserWarning, match="was not snapshotted: cannot snapshot column 'mixed'"):
        info = nbmlops.log_dataset(pd.DataFrame({"mixed": [1, "a"]}), "mixed")
    assert nbmlops.datasets("mixed")["fingerprint"].tolist() == [info.fingerprint]
