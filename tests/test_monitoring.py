"""Monitoring: drift, data quality, performance and the stored time series, on real models and stores."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from sklearn.compose import make_column_transformer
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.metrics import accuracy_score, f1_score, mean_absolute_error, r2_score, root_mean_squared_error
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

import nbmlops
from nbmlops.cli import main
from nbmlops.drift.reference import ReferenceProfile, build_profile
from nbmlops.drift.report import MonitoringReport
from nbmlops.drift.service import feature_drift, monitoring
from nbmlops.drift.statistics import compare
from nbmlops.errors import CorruptStoreError, NoReferenceError
from nbmlops.store.folder import Store
from tests.conftest import make_notebook

PLANS = ["basic", "plus", "pro"]


def customers(n: int, seed: int, shift: float = 0.0, plans: tuple[float, ...] = (0.5, 0.3, 0.2)) -> pd.DataFrame:
    """Synthetic customers; `shift` moves the numeric columns, `plans` sets the plan mix."""
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "age": rng.normal(40 + 10 * shift, 10, n),
        "income": rng.lognormal(10 + shift, 0.5, n),
        "visits": rng.poisson(6 + 4 * shift, n),
        "plan": rng.choice(PLANS, n, p=list(plans)),
        "region": rng.choice(["north", "south", "east", "west"], n),
    })


def churned(frame: pd.DataFrame, seed: int = 0) -> np.ndarray:
    """Labels that depend on the features (so predictions shift when they do)."""
    noise = np.random.default_rng(seed).normal(0, 0.5, len(frame))
    return ((frame["age"] - 40) / 10 + (frame["plan"] == "basic") + noise > 0.5).astype(int).to_numpy()


def classifier() -> object:
    return make_pipeline(make_column_transformer((OneHotEncoder(handle_unknown="ignore"), ["plan", "region"]),
                                                 remainder=StandardScaler()), LogisticRegression())


def register(name: str, train: pd.DataFrame, labels: np.ndarray, model: object | None = None,
             reference: bool = True) -> nbmlops.ModelVersion:
    """Fit, register with the training data as reference, and promote to production."""
    fitted = (model or classifier()).fit(train, labels)  # type: ignore[attr-defined]
    with nbmlops.start_run(experiment="monitoring"):
        version = nbmlops.log_model(fitted, name, reference_data=train if reference else None)
    nbmlops.promote(name, version.version)
    return version


@pytest.fixture(params=[500, 5000], ids=["small-reference", "large-reference"])
def churn(request: pytest.FixtureRequest, fresh_store: Store) -> Store:
    """Model `churn` in production, trained on 500 (exact tests) or 5000 rows (distances)."""
    train = customers(request.param, seed=1)
    register("churn", train, churned(train))
    return fresh_store


def stat_tests(report: MonitoringReport) -> dict[str, str]:
    return {f.column: f.stat_test for f in report.features}


# -- drift ----------------------------------------------------------------------------------------
def test_a_batch_from_the_same_distribution_does_not_drift(churn: Store) -> None:
    report = nbmlops.monitor("churn@production", customers(2000, seed=2))
    assert not report.dataset_drift
    assert len(report.drifted_columns) <= 1, report.to_frame()
    assert report.prediction is not None and not report.prediction.drifted
    small = report.features[0].stat_test == "ks"
    assert stat_tests(report) == ({"age": "ks", "income": "ks", "visits": "ks", "plan": "chisquare",
                                   "region": "chisquare"} if small else
                                  {"age": "wasserstein", "income": "wasserstein", "visits": "wasserstein",
                                   "plan": "jensenshannon", "region": "jensenshannon"})


def test_a_shifted_batch_drifts(churn: Store) -> None:
    report = nbmlops.monitor("churn@production", customers(2000, seed=3, shift=1.0, plans=(0.1, 0.3, 0.6)))
    assert report.dataset_drift
    assert set(report.drifted_columns) == {"age", "income", "visits", "plan"}
    assert report.drift_share == pytest.approx(0.8)
    assert report.prediction is not None and report.prediction.drifted
    assert "region" not in report.drifted_columns


def test_a_categorical_shift_alone_is_column_drift_not_dataset_drift(churn: Store) -> None:
    report = nbmlops.monitor("churn@production", customers(3000, seed=4, plans=(0.2, 0.3, 0.5)))
    assert "plan" in report.drifted_columns and len(report.drifted_columns) <= 2  # p < 0.05 by chance: 5%
    assert not report.dataset_drift
    assert report.to_frame().set_index("column").loc["plan", "psi"] > 0.1


def test_numeric_columns_with_few_values_are_compared_as_categories(fresh_store: Store) -> None:
    rng = np.random.default_rng(5)
    train = pd.DataFrame({"x": rng.normal(size=400), "level": rng.integers(0, 3, 400)})
    register("levels", train, (train["x"] > 0).astype(int).to_numpy(), LogisticRegression())
    same = nbmlops.monitor("levels@production", pd.DataFrame({"x": rng.normal(size=300),
                                                              "level": rng.integers(0, 3, 300)}))
    assert stat_tests(same)["level"] == "chisquare" and "level" not in same.drifted_columns
    moved = nbmlops.monitor("levels@production", pd.DataFrame({"x": rng.normal(size=300),
                                                               "level": rng.integers(1, 4, 300)}))
    assert "level" in moved.drifted_columns


# -- data quality ---------------------------------------------------------------------------------
def test_unseen_categories_nulls_and_out_of_range_values_are_reported(churn: Store) -> None:
    batch = customers(1000, seed=6)
    batch.loc[:99, "region"] = "atlantis"
    batch.loc[100:399, "income"] = np.nan
    batch.loc[400:429, "age"] = 500.0
    report = nbmlops.monitor("churn@production", batch)
    examples, rows = report.quality.unseen_categories["region"]
    assert (examples, rows) == (["atlantis"], 100)
    assert report.quality.nulls["income"] == (0.0, pytest.approx(0.3))
    assert report.quality.out_of_range["age"][0] >= 30
    assert report.quality.schema_ok
    assert any("atlantis" in line for line in report.quality.issues())


def test_schema_mismatch_with_the_signature_is_reported(churn: Store) -> None:
    batch = customers(500, seed=7).drop(columns="visits").assign(coupon=1)
    batch["age"] = batch["age"].round().astype(str)
    report = nbmlops.monitor("churn@production", batch)
    assert report.quality.missing_columns == ["visits"]
    assert report.quality.extra_columns == ["coupon"]
    assert report.quality.dtype_changes["age"][0] == "float64"
    assert not report.quality.schema_ok
    assert "visits" not in stat_tests(report)
    assert report.prediction is None and "lacks 1 column" in report.notes[0]


# -- performance ----------------------------------------------------------------------------------
def test_labels_give_classification_metrics_from_a_column_or_an_array(churn: Store) -> None:
    batch = customers(800, seed=8)
    y = churned(batch, seed=9)
    model = nbmlops.load_model("churn@production")
    predicted = model.predict(batch)
    by_column = nbmlops.monitor("churn@production", batch.assign(churned=y), labels="churned")
    assert by_column.metrics == pytest.approx({"accuracy": accuracy_score(y, predicted), "f1": f1_score(y, predicted)})
    assert "churned" not in by_column.quality.extra_columns
    assert nbmlops.monitor("churn@production", batch, labels=y).metrics == pytest.approx(by_column.metrics)
    assert nbmlops.monitor("churn@production", batch).metrics == {}


def test_labels_give_regression_metrics(fresh_store: Store) -> None:
    rng = np.random.default_rng(10)
    train = pd.DataFrame({"a": rng.normal(size=300), "b": rng.normal(size=300)})
    register("price", train, 3 * train["a"] - train["b"] + rng.normal(0, 0.1, 300), LinearRegression())
    batch = pd.DataFrame({"a": rng.normal(size=200), "b": rng.normal(size=200)})
    y = 3 * batch["a"] - batch["b"] + rng.normal(0, 0.3, 200)
    predicted = nbmlops.load_model("price@production").predict(batch)
    report = nbmlops.monitor("price@production", batch, labels=y)
    assert report.metrics == pytest.approx({"rmse": root_mean_squared_error(y, predicted),
                                            "mae": mean_absolute_error(y, predicted), "r2": r2_score(y, predicted)})


def test_labels_must_match_the_batch(churn: Store) -> None:
    with pytest.raises(nbmlops.InvalidInputError, match="labels column 'nope' is not in the data"):
        nbmlops.monitor("churn@production", customers(10, seed=0), labels="nope")
    with pytest.raises(nbmlops.InvalidInputError, match="labels has 3 values for 10 rows"):
        nbmlops.monitor("churn@production", customers(10, seed=0), labels=[1, 0, 1])


# -- references -----------------------------------------------------------------------------------
def test_training_data_logged_in_the_run_becomes_the_reference(fresh_store: Store) -> None:
    train = customers(300, seed=11)
    with nbmlops.start_run():
        nbmlops.log_dataset(train, "customers", role="train")
        version = nbmlops.log_model(classifier().fit(train, churned(train)), "implicit")
    report = nbmlops.monitor(f"implicit/{version.version}", train)
    assert report.drifted_columns == [] and len(report.features) == 5
    assert "models/implicit/reference.json" in {a.path for a in nbmlops.get_run(version.run_id).artifacts}


def test_a_model_without_reference_says_what_to_do(fresh_store: Store) -> None:
    train = customers(100, seed=12)
    register("old", train, churned(train), reference=False)
    with pytest.raises(NoReferenceError, match=r"old/1 has no reference profile .*reference_data=X_train"):
        nbmlops.monitor("old@production", train)


def test_a_damaged_reference_profile_says_so_instead_of_failing_inside() -> None:
    train = customers(2000, seed=14)  # more than SMALL_REFERENCE rows: the profile keeps quantiles
    doc = json.loads(build_profile(train).to_bytes())
    del doc["columns"]["age"]["quantiles"]
    damaged = ReferenceProfile.from_bytes(json.dumps(doc).encode())
    with pytest.raises(CorruptStoreError, match=r"column 'age' lacks its quantiles: register the model again"):
        compare(damaged.columns["age"], train["age"])


# -- the time series and rendering ------------------------------------------------------------------
def test_reports_are_stored_as_a_time_series_per_version(fresh_store: Store) -> None:
    train = customers(400, seed=13)
    register("series", train, churned(train))
    batch = customers(300, seed=14)
    nbmlops.monitor("series@production", batch, timestamp="2026-03-02T00:00:00Z")
    nbmlops.monitor("series@production", batch, labels=churned(batch), timestamp="2026-03-01")
    register("series", train, churned(train))  # version 2 goes to production
    latest = nbmlops.monitor("series@production", customers(300, seed=15, shift=1.0),
                             timestamp=pd.Timestamp("2026-03-03", tz="Europe/Paris"))

    history = nbmlops.monitoring("series")
    assert list(history["version"]) == [1, 1, 2]
    assert [t.isoformat() for t in history["timestamp"]] == [
        "2026-03-01T00:00:00+00:00", "2026-03-02T00:00:00+00:00", "2026-03-02T23:00:00+00:00"]
    assert list(history["dataset_drift"]) == [False, False, True]
    assert history["metrics.accuracy"].notna().tolist() == [True, False, False]
    assert {"drift_share", "n_rows", "drifted_columns", "prediction_drift", "report_id"} <= set(history.columns)
    assert len(nbmlops.monitoring("series/1")) == 2 and len(nbmlops.monitoring("series@production")) == 1

    table = nbmlops.feature_drift("series")
    assert set(table["report_id"]) == {latest.report_id}
    assert table.set_index("column")["drifted"].to_dict() == {f.column: f.drifted for f in latest.features}
    assert table["drifted"].tolist() == sorted(table["drifted"], reverse=True)
    assert len(feature_drift(fresh_store, "series/1")) == 5
    assert monitoring(fresh_store, "series").equals(history)
    with pytest.raises(nbmlops.NotFoundError, match="no registered model 'nope'"):
        nbmlops.monitoring("nope")


def test_report_renders_as_html_with_charts(churn: Store) -> None:
    report = nbmlops.monitor("churn@production", customers(500, seed=16, shift=1.0))
    html = report._repr_html_()
    assert "data:image/png;base64," in html and "dataset drift" in html and "Drift by column" in html
    assert repr(report).startswith("<MonitoringReport churn/1: dataset drift")
    assert json.loads(json.dumps(report.to_json()))["dataset_drift"] is True


# -- command line -----------------------------------------------------------------------------------
def cli(store: Store, *args: str) -> object:
    return CliRunner().invoke(main, ["--store", str(store.root), *args])


def test_cli_monitor_exit_codes_and_formats(churn: Store, tmp_path: Path) -> None:
    same, shifted = tmp_path / "same.csv", tmp_path / "shifted.parquet"
    customers(1000, seed=17).to_csv(same, index=False)
    duckdb.from_df(customers(1000, seed=18, shift=1.0, plans=(0.1, 0.3, 0.6))).write_parquet(str(shifted))

    ok = cli(churn, "monitor", "churn@production", str(same), "--fail-on-drift")
    assert ok.exit_code == 0, ok.output
    assert "no dataset drift" in ok.output.splitlines()[0]
    assert cli(churn, "monitor", "churn@production", str(shifted)).exit_code == 0
    failed = cli(churn, "monitor", "churn@production", str(shifted), "--fail-on-drift")
    assert failed.exit_code == 1
    assert failed.output.strip().splitlines()[-1].startswith("Error: dataset drift: 4 of 5 columns drifted")
    as_json = cli(churn, "monitor", "churn@production", str(same), "--format", "json")
    assert json.loads(as_json.output)["model"] == "churn"
    assert len(nbmlops.monitoring("churn")) == 4


@pytest.mark.parametrize("args, message", [
    (["churn@production", "missing.csv"], "data file missing.csv does not exist"),
    (["nope@production", "{csv}"], "model 'nope' has no alias 'production'"),
    (["old@production", "{csv}"], "old/1 has no reference profile"),
    (["churn@production", "{csv}", "--labels", "y"], "labels column 'y' is not in the data"),
    (["churn@production", "{txt}"], "cannot read batch.txt: give a .csv or .parquet file"),
])
def test_cli_monitor_errors_are_one_line(fresh_store: Store, tmp_path: Path, args: list[str], message: str) -> None:
    train = customers(50, seed=19)
    register("churn", train, churned(train))
    register("old", train, churned(train), reference=False)
    train.to_csv(tmp_path / "batch.csv", index=False)
    train.to_csv(tmp_path / "batch.txt", index=False)
    files = {"csv": tmp_path / "batch.csv", "txt": tmp_path / "batch.txt"}
    result = cli(fresh_store, "monitor", *[a.format(**files) for a in args])
    assert result.exit_code == 1
    assert result.output.count("\n") == 1 and message in result.output


# -- the retraining trigger ---------------------------------------------------------------------------
TRAIN_CELLS = (
    "%load_ext nbmlops\nimport pandas as pd",
    "frame = pd.read_csv(data_path)",
    "%%track --dataset frame:train --model clf:iris\n"
    "from sklearn.linear_model import LogisticRegression\n"
    "from sklearn.metrics import accuracy_score\n"
    "X, y = frame.drop(columns='target'), frame['target']\n"
    "clf = LogisticRegression(C=C, max_iter=1000).fit(X, y)\n"
    "accuracy_score(y, clf.predict(X))",
)


def test_retrain_if_drift_runs_only_on_drift(store_env: Store, tmp_path: Path) -> None:
    from sklearn.datasets import load_iris

    iris = load_iris(as_frame=True).frame
    iris.to_csv(tmp_path / "train.csv", index=False)
    make_notebook(tmp_path / "train.ipynb", f"C = 1.0\ndata_path = {str(tmp_path / 'train.csv')!r}", *TRAIN_CELLS)
    assert cli(store_env, "run", str(tmp_path / "train.ipynb")).exit_code == 0
    assert cli(store_env, "promote", "iris", "1", "production").exit_code == 0
    features = iris.drop(columns="target")
    features.sample(100, random_state=0).to_csv(tmp_path / "same.csv", index=False)
    (features * 1.5).to_csv(tmp_path / "shifted.csv", index=False)

    calm = cli(store_env, "retrain", "iris@production", "--if-drift", str(tmp_path / "same.csv"))
    assert calm.exit_code == 0, calm.output
    assert "not retraining: no dataset drift" in calm.output
    assert len(nbmlops.runs()) == 1

    drifted = cli(store_env, "retrain", "iris@production", "--if-drift", str(tmp_path / "shifted.csv"),
                  "--promote-if", "metrics.accuracy_score >= champion.metrics.accuracy_score")
    assert drifted.exit_code == 0, drifted.output
    assert "dataset drift" in drifted.output and "promoted iris/2 to production" in drifted.output
    audit = nbmlops.model_history("iris").iloc[-1]
    assert (audit["from_version"], audit["to_version"]) == (1, 2)
    assert "dataset drift in" in audit["reason"] and "4 of 4 columns drifted" in audit["reason"]
    assert len(nbmlops.monitoring("iris")) == 2
    assert nbmlops.monitor("iris@production", features).drifted_columns == []  # v2 has its own reference


def test_the_monitoring_notebook_runs_on_an_empty_store(store_env: Store) -> None:
    run = nbmlops.run_notebook(Path(__file__).parent.parent / "notebooks" / "monitor.ipynb", experiment="nb")
    assert run.status is nbmlops.RunStatus.FINISHED, run.error
    history = nbmlops.monitoring("breast-cancer")
    assert list(history["dataset_drift"]) == [False, True]
    assert history["metrics.accuracy"].iloc[0] > history["metrics.accuracy"].iloc[1]


def test_a_model_imported_through_a_bundle_keeps_its_reference(fresh_store: Store, tmp_path: Path) -> None:
    """Dask sweeps and `nbmlops import` bring versions as bundles: they can still be monitored."""
    from nbmlops.drift.service import monitor
    from nbmlops.store.bundles import export_bundle, import_bundle

    train = customers(800, seed=1)
    register("churn", train, churned(train))
    target = Store(tmp_path / "other" / ".nbmlops")
    target.init()
    import_bundle(target, export_bundle(fresh_store))
    report = monitor(target, "churn/1", customers(2000, seed=3, shift=1.0, plans=(0.1, 0.3, 0.6)))
    assert report.dataset_drift and "age" in report.drifted_columns
