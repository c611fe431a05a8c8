"""Every bad input gets a clear one-line message, nothing half-written, and the store stays readable."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import duckdb
import numpy as np
import pytest

import nbmlops
from nbmlops.store.folder import Store

BAD_KEYS = [
    ("", "is empty"),
    ("   ", "is empty"),
    ("x" * 251, "the limit is 250"),
    ("line\nbreak", "control characters"),
    (" padded", "starts or ends with spaces"),
    (42, "must be a string"),
    (None, "must be a string"),
]


@pytest.mark.parametrize("key, message", BAD_KEYS)
def test_bad_keys(fresh_store: Store, key: object, message: str) -> None:
    with nbmlops.start_run():
        for call in (lambda: nbmlops.log_metric(key, 1.0),  # type: ignore[arg-type]
                     lambda: nbmlops.log_param(key, 1),  # type: ignore[arg-type]
                     lambda: nbmlops.set_tag(key, "v")):  # type: ignore[arg-type]
            with pytest.raises(nbmlops.InvalidInputError, match=message) as info:
                call()
            assert "\n" not in str(info.value)


@pytest.mark.parametrize("value, message", [
    (True, "got a boolean"),
    (np.bool_(False), "got a boolean"),
    ("0.5", "got the string"),
    (None, "got None"),
    ([1.0], "got a list"),
    (10 ** 400, "too large for a 64-bit float"),
    (1 + 2j, "got a complex"),
], ids=["bool", "numpy-bool", "str", "none", "list", "huge-int", "complex"])
def test_bad_metric_values(fresh_store: Store, value: object, message: str) -> None:
    with nbmlops.start_run():
        with pytest.raises(nbmlops.InvalidInputError, match=message):
            nbmlops.log_metric("m", value)  # type: ignore[arg-type]
        with pytest.raises(nbmlops.InvalidInputError, match=message):
            nbmlops.log_metrics({"ok": 1.0, "m": value})  # type: ignore[dict-item]
    assert nbmlops.runs().filter(like="metrics.").empty  # the batch logged nothing


@pytest.mark.parametrize("value", [np.float64(0.25), np.int64(3), np.float32(2.5), 7, np.array(1.5),
                                   0.5])
def test_numeric_metric_values_of_any_kind(fresh_store: Store, value: object) -> None:
    with nbmlops.start_run() as run:
        nbmlops.log_metric("m", value)  # type: ignore[arg-type]
    assert nbmlops.get_run(run.run_id).metrics["m"] == pytest.approx(float(value))  # type: ignore[arg-type]


@pytest.mark.parametrize("step, message", [
    (1.5, "step must be an integer"),
    ("3", "step must be an integer"),
    (True, "step must be an integer"),
    (2 ** 63, "does not fit in 64 bits"),
])
def test_bad_steps(fresh_store: Store, step: object, message: str) -> None:
    with nbmlops.start_run(), pytest.raises(nbmlops.InvalidInputError, match=message):
        nbmlops.log_metric("m", 1.0, step=step)  # type: ignore[arg-type]


@pytest.mark.parametrize("value, message", [
    (object(), "params are numbers, strings, booleans"),
    ("x" * 8001, "the limit is 8000"),
    (list(range(5000)), "log it with log_artifact"),
    (10 ** 9000, "too large to store"),
    ({"a": object()}, "cannot be stored as JSON"),
], ids=["object", "long-string", "long-list", "huge-int", "dict-of-object"])
def test_bad_param_values(fresh_store: Store, value: object, message: str) -> None:
    with nbmlops.start_run(), pytest.raises(nbmlops.InvalidInputError, match=message):
        nbmlops.log_param("p", value)


def test_odd_but_valid_names_round_trip(fresh_store: Store) -> None:
    odd = ["ünïcødé/ключ", "with space", "a.b.c", "emoji 🚀", "quote's \"and\"", "train/loss@0.5"]
    with nbmlops.start_run(experiment="Эксперимент 🚀", name="run 'one'") as run:
        for i, key in enumerate(odd):
            nbmlops.log_metric(key, float(i))
            nbmlops.log_param(key, key)
            nbmlops.set_tag(key, key)
    got = nbmlops.get_run(run.run_id)
    assert got.experiment == "Эксперимент 🚀" and got.name == "run 'one'"
    assert got.metrics == {k: float(i) for i, k in enumerate(odd)}
    assert got.params == {k: k for k in odd}
    df = nbmlops.runs("Эксперимент 🚀", where='metrics.`emoji 🚀` = 3')
    assert df["run_id"].tolist() == [run.run_id]


@pytest.mark.parametrize("kwargs, message", [
    ({"experiment": ""}, "experiment name is empty"),
    ({"experiment": 3}, "experiment name must be a string"),
    ({"name": "a\x00b"}, "control characters"),
    ({"tags": ["a"]}, "tags must be a dict"),
    ({"tags": {"k": None}}, "use delete_tag"),
    ({"parent": 12}, "parent must be a run id"),
])
def test_bad_start_run_arguments(fresh_store: Store, kwargs: dict, message: str) -> None:
    with pytest.raises(nbmlops.InvalidInputError, match=message):
        nbmlops.start_run(**kwargs)
    assert nbmlops.active_run() is None


def test_store_readable_after_every_kind_of_bad_input(fresh_store: Store) -> None:
    with nbmlops.start_run() as run:
        nbmlops.log_metric("good", 1.0)
        for bad in (lambda: nbmlops.log_metric("", 1), lambda: nbmlops.log_param("p", object()),
                    lambda: nbmlops.log_metrics("nope"), lambda: nbmlops.log_params([1])):  # type: ignore[arg-type]
            with pytest.raises(nbmlops.NbmlopsError):
                bad()
        nbmlops.log_metric("good", 2.0)
    assert nbmlops.metric_history(run.run_id, "good")["value"].tolist() == [1.0, 2.0]
    assert nbmlops.get_run(run.run_id).status is nbmlops.RunStatus.FINISHED


def test_bad_query_arguments(fresh_store: Store) -> None:
    with pytest.raises(nbmlops.InvalidInputError, match="experiment must be"):
        nbmlops.runs(experiment=3)  # type: ignore[arg-type]
    with pytest.raises(nbmlops.InvalidInputError):
        nbmlops.runs(limit=-1)
    with pytest.raises(nbmlops.FilterSyntaxError, match="column 1"):
        nbmlops.runs(where="bogus = 1")
    with pytest.raises(nbmlops.FilterSyntaxError):
        nbmlops.runs(order_by="metrics.acc sideways")
    with pytest.raises(nbmlops.InvalidInputError, match="non-empty"):
        nbmlops.get_run("")


@pytest.mark.parametrize("url", ["s3://bucket/prefix", "gs://b/p", "mysql://ana@db/x"])
def test_a_store_url_is_a_one_line_error_not_a_folder_named_after_its_scheme(tmp_path: Path, url: str) -> None:
    env = {**os.environ, "NBMLOPS_STORE": url}
    for args in (["runs"], ["--store", url, "runs"]):
        result = subprocess.run([sys.executable, "-m", "nbmlops.cli", *args], cwd=tmp_path, env=env,
                                capture_output=True, text=True, timeout=120)
        assert result.returncode == 1
        assert result.stderr.strip().splitlines() == [
            f"Error: store {url} is a URL nbmlops does not open: give a store folder path or a team store's "
            "postgresql://USER@HOST:PORT/DATABASE (NBMLOPS_STORE, --store, set_store)"]
    with pytest.raises(nbmlops.StoreError, match="is a URL nbmlops does not open"):
        nbmlops.set_store(url)
    assert list(tmp_path.iterdir()) == []  # no folder named 's3:' (or anything) was made


def test_a_team_store_without_the_team_extra_is_one_line_naming_it(tmp_path: Path) -> None:
    """This suite's environment has DuckDB 2 and no team extensions (the team store's tests run in
    .venv-team): a team store URL says what to install."""
    env = {**os.environ, "NBMLOPS_STORE": "postgresql://ana@db.example:5432/mlops", "HOME": str(tmp_path)}
    result = subprocess.run([sys.executable, "-m", "nbmlops.cli", "runs"], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"Error: the team store needs DuckDB's ducklake extension, not found for DuckDB {duckdb.__version__}: pip "
        "install 'nbmlops[team]' (it installs DuckDB 1.5.5 with ducklake, postgres_scanner and httpfs)"]
