"""Logging datasets in runs: versions by content, roles, lineage, across processes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import nbmlops
from nbmlops.store.folder import Store
from tests.conftest import run_python


@pytest.fixture
def frame() -> pd.DataFrame:
    """A small mixed-type training frame."""
    rng = np.random.default_rng(0)
    return pd.DataFrame({"age": rng.integers(18, 90, 1000), "income": rng.normal(5e4, 1e4, 1000),
                         "city": rng.choice(["Oslo", "Lima", "Pune"], 1000)})


def test_same_content_is_one_version_and_lineage_lists_runs(fresh_store: Store, frame: pd.DataFrame) -> None:
    with nbmlops.start_run(name="first") as first:
        info = nbmlops.log_dataset(frame, name="customers", role="train")
        nbmlops.log_dataset(frame.tail(100), name="customers", role="validation")
    with nbmlops.start_run(name="second") as second:
        assert nbmlops.log_dataset(frame.copy(), name="customers").fingerprint == info.fingerprint
    changed = frame.copy()
    changed.loc[999, "income"] += 1.0  # one value, last row
    with nbmlops.start_run(name="third") as third:
        nbmlops.log_dataset(changed, name="customers")

    table = nbmlops.datasets("customers")
    assert table["version"].tolist() == [1, 2, 3]
    assert table["rows"].tolist() == [1000, 100, 1000]
    first_version = table.iloc[0]
    assert first_version["fingerprint"] == info.fingerprint and first_version["runs"] == 2
    assert sorted(first_version["run_ids"]) == sorted([first.run_id, second.run_id])
    assert list(table.iloc[1]["roles"]) == ["validation"]
    assert table.iloc[2]["run_ids"].tolist() == [third.run_id]
    used = nbmlops.datasets(run_id=first.run_id)
    assert used["version"].tolist() == [1, 2]
    assert info.schema == {"age": "int64", "income": "float64", "city": str(frame["city"].dtype)}
    assert info.profile["age"]["min"] >= 18 and info.profile["age"]["max"] <= 89


def test_files_and_folders_from_another_process(fresh_store: Store, tmp_path: Path) -> None:
    folder = tmp_path / "images"
    folder.mkdir()
    for i in range(5):
        (folder / f"{i}.bin").write_bytes(bytes([i]) * 1000)
    code = f"""
import nbmlops
with nbmlops.start_run(name="reader"):
    nbmlops.log_dataset({str(folder)!r}, role="train")
    nbmlops.log_dataset({str(folder / '0.bin')!r}, name="one-file", role="test")
"""
    run_python(code, fresh_store)
    table = nbmlops.datasets()
    by_name = {row["name"]: row for _, row in table.iterrows()}
    assert by_name["images"]["kind"] == "directory" and by_name["images"]["files"] == 5
    assert by_name["images"]["source"] == str(folder.resolve())
    assert by_name["one-file"]["kind"] == "file" and by_name["one-file"]["size_bytes"] == 1000


def test_bad_dataset_arguments(fresh_store: Store, tmp_path: Path) -> None:
    with nbmlops.start_run():
        with pytest.raises(nbmlops.InvalidInputError):
            nbmlops.log_dataset(object())
        with pytest.raises(nbmlops.InvalidInputError):
            nbmlops.log_dataset(tmp_path / "missing.csv")
        with pytest.raises(nbmlops.InvalidInputError, match="dataset role key is empty"):
            nbmlops.log_dataset(np.arange(3), role="")
    assert nbmlops.datasets().empty
