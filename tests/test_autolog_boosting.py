"""Autologging XGBoost and LightGBM, and their native model flavors, with the real libraries on small data."""

from __future__ import annotations

import math
import sys
import warnings
from collections.abc import Iterator
from typing import Any

import duckdb
import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest
import xgboost as xgb
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import nbmlops
from nbmlops.autolog.sklearn import AutologWarning, autolog, autologging
from nbmlops.errors import InvalidInputError, NbmlopsError
from nbmlops.registry import serialization
from nbmlops.registry.serving import ModelServer
from nbmlops.store.folder import Store
from tests.test_serving import call, records

ORIGINAL_XGB_TRAIN = xgb.train.__code__
ORIGINAL_LGB_TRAIN = lgb.train.__code__
Data = tuple[pd.DataFrame, pd.Series, pd.DataFrame, pd.Series]


@pytest.fixture
def data() -> Data:
    """A binary task: 300 training rows and 100 validation rows, float and int columns."""
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"age": rng.integers(18, 80, 400), "income": rng.normal(50, 10, 400),
                      "score": rng.random(400)})
    y = ((X["age"] > 45) ^ (X["score"] > 0.7)).astype(int)
    return X[:300], y[:300], X[300:], y[300:]


@pytest.fixture
def autolog_on(fresh_store: Store) -> Iterator[Store]:
    """A fresh store with autolog on, off afterwards."""
    autolog()
    yield fresh_store
    autolog(False)


def history(run_id: str, key: str) -> pd.DataFrame:
    return nbmlops.metric_history(run_id, key)


def paths(run_id: str) -> set[str]:
    return {a.path for a in nbmlops.get_run(run_id).artifacts}


def artifact_bytes(store: Store, run_id: str, path: str) -> bytes:
    sha = next(a.sha256 for a in nbmlops.get_run(run_id).artifacts if a.path == path)
    return store.artifact_path(sha).read_bytes()


def importance(store: Store, run_id: str, name: str = "feature_importance") -> pd.DataFrame:
    """The logged importance table, read back as a user would: Parquet through DuckDB."""
    sha = next(a.sha256 for a in nbmlops.get_run(run_id).artifacts if a.path == f"media/table/{name}.parquet")
    return duckdb.sql(f"select * from read_parquet('{store.artifact_path(sha)}')").df()


def assert_no_pickle(store: Store, run_id: str) -> None:
    """Every stored model file is the library's own format, and none is a pickle."""
    models = [p for p in paths(run_id) if p.startswith("models/") and not p.endswith(".json")]
    assert models
    for path in models:
        assert path.endswith(("/model.ubj", "/model.txt")), path
        head = artifact_bytes(store, run_id, path)[:2]
        assert head[:1] != b"\x80" and head != b"PK", path  # neither a pickle nor a skops zip


# -- XGBoost ------------------------------------------------------------------------------------------
def test_xgb_classifier_logs_params_rounds_best_iteration_importance_and_model(autolog_on: Store, data: Data) -> None:
    X, y, Xv, yv = data
    mine: list[Any] = []
    with nbmlops.start_run(experiment="boost") as run:
        model = xgb.XGBClassifier(n_estimators=40, max_depth=3, early_stopping_rounds=5, callbacks=mine,
                                  eval_metric=["logloss", "error"])
        model.fit(X, y, eval_set=[(X, y), (Xv, yv)], verbose=False)
    table = nbmlops.runs("boost")
    row = table.iloc[0]
    assert row["params.estimator_class"] == "XGBClassifier" and row["params.max_depth"] == 3
    assert row["params.early_stopping_rounds"] == 5
    rounds = model.get_booster().num_boosted_rounds()
    for key in ("validation_0-logloss", "validation_0-error", "validation_1-logloss", "validation_1-error"):
        points = history(run.run_id, key)
        assert points["step"].tolist() == list(range(rounds)), key
    valid = history(run.run_id, "validation_1-error")
    assert valid["value"].tolist() == pytest.approx(model.evals_result()["validation_1"]["error"])
    assert row["metrics.best_iteration"] == model.best_iteration
    assert valid.set_index("step").loc[model.best_iteration, "value"] == pytest.approx(row["metrics.best_score"])
    assert row["metrics.fit_time"] > 0
    assert "metrics.training_score" not in table  # the rounds say it: no second pass over the training data
    # the user's callbacks list is untouched, and the estimator keeps it
    assert mine == [] and model.callbacks is mine
    found = nbmlops.runs("boost", where="metrics.validation_1-logloss < 1 and params.max_depth = 3")
    assert found["run_id"].tolist() == [run.run_id]
    table = importance(autolog_on, run.run_id)
    assert list(table.columns) == ["feature", "weight", "gain", "cover", "total_gain", "total_cover"]
    assert set(table["feature"]) == {"age", "income", "score"}
    assert table["gain"].is_monotonic_decreasing
    assert {"models/model/model.ubj", "models/model/meta.json"} <= paths(run.run_id)
    assert_no_pickle(autolog_on, run.run_id)


def test_xgb_train_logs_params_every_eval_set_per_round_and_the_booster(autolog_on: Store, data: Data) -> None:
    X, y, Xv, yv = data
    train, valid = xgb.DMatrix(X, y), xgb.DMatrix(Xv, yv)
    params = [("objective", "binary:logistic"), ("eval_metric", "logloss"), ("eval_metric", "auc"), ("eta", 0.3)]
    with nbmlops.start_run() as run:
        booster = xgb.train(params, train, 25, evals=[(train, "train"), (valid, "valid")], verbose_eval=False)
    logged = nbmlops.get_run(run.run_id)
    assert logged.params["estimator_class"] == "Booster" and logged.params["num_boost_round"] == 25
    assert logged.params["eval_metric"] == ["logloss", "auc"] and logged.params["eta"] == 0.3
    for key in ("train-logloss", "train-auc", "valid-logloss", "valid-auc"):
        assert history(run.run_id, key)["step"].tolist() == list(range(25)), key
    assert "best_iteration" not in logged.metrics  # no early stopping
    assert logged.metrics["fit_time"] > 0
    back = nbmlops.load_model(f"run:{run.run_id}")
    assert isinstance(back, xgb.Booster)
    assert np.array_equal(back.predict(valid), booster.predict(valid))
    assert_no_pickle(autolog_on, run.run_id)


def test_early_stopping_in_xgb_train_logs_best_iteration_and_its_score(autolog_on: Store, data: Data) -> None:
    X, y, Xv, yv = data
    train, valid = xgb.DMatrix(X, y), xgb.DMatrix(Xv, yv)
    mine: list[Any] = []
    with nbmlops.start_run() as run:
        booster = xgb.train({"objective": "binary:logistic", "eta": 0.8, "max_depth": 6}, train, 500,
                            evals=[(valid, "valid")], early_stopping_rounds=3, verbose_eval=False, callbacks=mine)
    assert mine == []  # the user's list: nothing of ours in it
    logged = nbmlops.get_run(run.run_id)
    assert logged.metrics["best_iteration"] == booster.best_iteration < 499
    points = history(run.run_id, "valid-logloss")
    assert len(points) == booster.num_boosted_rounds() == booster.best_iteration + 4
    assert points.set_index("step").loc[booster.best_iteration, "value"] == pytest.approx(logged.metrics["best_score"])
    assert logged.params["early_stopping_rounds"] == 3


def test_xgb_fit_is_logged_once_not_again_by_the_sklearn_autolog(autolog_on: Store, data: Data) -> None:
    X, y, Xv, yv = data
    with nbmlops.start_run() as run:
        xgb.XGBRegressor(n_estimators=5).fit(X, X["income"], eval_set=[(Xv, Xv["income"])], verbose=False)
    logged = nbmlops.get_run(run.run_id)
    assert not any(k.startswith("fit2.") for k in [*logged.params, *logged.metrics])
    assert [p for p in paths(run.run_id) if p.startswith("models/")] == ["models/model/meta.json",
                                                                          "models/model/model.ubj"] or \
        sorted(p for p in paths(run.run_id) if p.startswith("models/")) == ["models/model/meta.json",
                                                                            "models/model/model.ubj"]
    assert len(history(run.run_id, "validation_0-rmse")) == 5
    # a second fit in the same run gets its own prefix, for its rounds and its table too
    with nbmlops.start_run() as run:
        xgb.XGBClassifier(n_estimators=3).fit(X, y, eval_set=[(Xv, yv)], verbose=False)
        xgb.XGBClassifier(n_estimators=4).fit(X, y, eval_set=[(Xv, yv)], verbose=False)
    assert len(history(run.run_id, "validation_0-logloss")) == 3
    assert len(history(run.run_id, "fit2.validation_0-logloss")) == 4
    assert {"media/table/feature_importance.parquet", "media/table/fit2.feature_importance.parquet",
            "models/fit2.model/model.ubj"} <= paths(run.run_id)


def test_inside_a_pipeline_the_pipeline_is_logged_and_its_boosting_step_is_quiet(autolog_on: Store,
                                                                                   data: Data) -> None:
    X, y, _, _ = data
    with nbmlops.start_run() as run, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the pipeline is stored with skops, naming xgboost's types
        make_pipeline(StandardScaler(), xgb.XGBClassifier(n_estimators=3)).fit(X, y)
    logged = nbmlops.get_run(run.run_id)
    assert logged.params["estimator_class"] == "Pipeline"
    assert not any(p.startswith("media/table/") for p in paths(run.run_id))
    assert not any(k.startswith("fit2.") for k in logged.params)


# -- LightGBM ------------------------------------------------------------------------------------------
def test_lgbm_classifier_with_text_labels_logs_rounds_from_one_and_loads_back(autolog_on: Store, data: Data) -> None:
    X, y, Xv, yv = data
    labels = np.array(["stay", "churn"])
    mine: list[Any] = [lgb.early_stopping(5, verbose=False)]
    kept = list(mine)
    with nbmlops.start_run() as run, warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # eval_set: LightGBM 4.7 fails on eval_y of text labels
        model = lgb.LGBMClassifier(n_estimators=200, learning_rate=0.3, verbose=-1)
        model.fit(X, labels[y], eval_set=[(Xv, labels[yv])], eval_names=["holdout"], callbacks=mine)
    assert mine == kept  # the user's list: the same callbacks, none added
    logged = nbmlops.get_run(run.run_id)
    assert logged.params["estimator_class"] == "LGBMClassifier" and logged.params["learning_rate"] == 0.3
    points = history(run.run_id, "holdout-binary_logloss")
    assert points["step"].tolist() == list(range(1, len(points) + 1))
    assert logged.metrics["best_iteration"] == model.best_iteration_ < len(points) + 1
    assert points.set_index("step").loc[model.best_iteration_, "value"] == pytest.approx(logged.metrics["best_score"])
    table = importance(autolog_on, run.run_id)
    assert list(table.columns) == ["feature", "split", "gain"] and set(table["feature"]) == set(X.columns)
    back = nbmlops.load_model(f"run:{run.run_id}")
    assert type(back) is lgb.LGBMClassifier
    assert list(back.classes_) == ["churn", "stay"]
    assert np.array_equal(back.predict(Xv), model.predict(Xv))
    assert np.allclose(back.predict_proba(Xv), model.predict_proba(Xv))
    assert_no_pickle(autolog_on, run.run_id)


def test_lgb_train_logs_params_valid_names_and_the_booster(autolog_on: Store, data: Data) -> None:
    X, y, Xv, yv = data
    train = lgb.Dataset(X, y)
    valid = lgb.Dataset(Xv, yv, reference=train)
    with nbmlops.start_run() as run:
        booster = lgb.train({"objective": "binary", "metric": ["binary_logloss", "auc"], "verbose": -1,
                             "num_leaves": 7}, train, 12, valid_sets=[train, valid], valid_names=["train", "välid ✓"])
    logged = nbmlops.get_run(run.run_id)
    assert logged.params["num_leaves"] == 7 and logged.params["num_boost_round"] == 12
    assert logged.params["metric"] == ["binary_logloss", "auc"]
    for key in ("train-binary_logloss", "train-auc", "välid ✓-auc", "välid ✓-binary_logloss"):
        assert history(run.run_id, key)["step"].tolist() == list(range(1, 13)), key
    assert nbmlops.runs(where="metrics.`välid ✓-auc` > 0.5")["run_id"].tolist() == [run.run_id]
    back = nbmlops.load_model(f"run:{run.run_id}")
    assert isinstance(back, lgb.Booster)
    assert np.array_equal(back.predict(Xv), booster.predict(Xv))
    assert {"models/model/model.txt", "media/table/feature_importance.parquet"} <= paths(run.run_id)
    assert_no_pickle(autolog_on, run.run_id)


def test_thousands_of_rounds_keep_every_point(autolog_on: Store, data: Data) -> None:
    X, y, Xv, yv = data
    train = lgb.Dataset(X, y)
    valid = lgb.Dataset(Xv, yv, reference=train)
    with nbmlops.start_run() as run:
        lgb.train({"objective": "binary", "verbose": -1, "num_leaves": 2, "learning_rate": 0.001}, train, 3000,
                  valid_sets=[valid], valid_names=["valid"])
    points = history(run.run_id, "valid-binary_logloss")
    assert points["step"].tolist() == list(range(1, 3001))
    assert points["value"].iloc[-1] < points["value"].iloc[0]  # it learned, round by round


# -- careless and hostile input --------------------------------------------------------------------------
def test_nan_and_inf_eval_metrics_are_logged_as_log_metric_keeps_them(autolog_on: Store, data: Data) -> None:
    X, y, Xv, yv = data
    values = iter([math.nan, math.inf, 0.5, -math.inf])

    def odd(predt: np.ndarray, dtrain: xgb.DMatrix) -> tuple[str, float]:
        return "odd", next(values)

    with nbmlops.start_run() as run:
        xgb.train({"objective": "binary:logistic", "disable_default_eval_metric": 1}, xgb.DMatrix(X, y), 4,
                  evals=[(xgb.DMatrix(Xv, yv), "valid")], custom_metric=odd, verbose_eval=False)
    points = history(run.run_id, "valid-odd")["value"].tolist()
    assert math.isnan(points[0]) and points[1:] == [math.inf, 0.5, -math.inf]


def test_an_eval_set_name_that_is_no_key_is_reported_and_the_rest_is_logged(autolog_on: Store, data: Data) -> None:
    X, y, Xv, yv = data
    train = lgb.Dataset(X, y)
    valid = lgb.Dataset(Xv, yv, reference=train)
    with nbmlops.start_run() as run, pytest.warns(AutologWarning, match="could not log metric"):
        booster = lgb.train({"objective": "binary", "verbose": -1}, train, 3, valid_sets=[valid, train],
                            valid_names=["bad\nname", "ok"])
    assert booster.current_iteration() == 3
    assert len(history(run.run_id, "ok-binary_logloss")) == 3
    assert "models/model/model.txt" in paths(run.run_id)


def test_params_that_cannot_be_stored_are_reported_and_the_others_logged(autolog_on: Store, data: Data) -> None:
    X, y, _, _ = data
    params = {"objective": "binary:logistic", "note": "x" * 9000, "max_depth": 3, "weights": np.ones(3),
              "huge": 10 ** 30}
    with nbmlops.start_run() as run, pytest.warns(AutologWarning, match="could not log params"):
        booster = xgb.train(params, xgb.DMatrix(X, y), 2)
    logged = nbmlops.get_run(run.run_id)
    assert booster.num_boosted_rounds() == 2
    assert logged.params["max_depth"] == 3 and logged.params["objective"] == "binary:logistic"
    assert "note" not in logged.params and "weights" not in logged.params
    assert "models/model/model.ubj" in paths(run.run_id)


def test_a_fit_that_raises_leaves_the_run_usable(autolog_on: Store, data: Data) -> None:
    X, y, Xv, yv = data

    class Boom(xgb.callback.TrainingCallback):
        def after_iteration(self, model: Any, epoch: int, evals_log: Any) -> bool:
            if epoch == 2:
                raise RuntimeError("user callback failed")
            return False

    with nbmlops.start_run() as run:
        with pytest.raises(RuntimeError, match="user callback failed"):
            xgb.XGBClassifier(n_estimators=10, callbacks=[Boom()]).fit(X, y, eval_set=[(Xv, yv)], verbose=False)
        with pytest.raises(lgb.basic.LightGBMError):
            lgb.LGBMRegressor(verbose=-1).fit(X, y[:10])  # lengths differ: LightGBM refuses
        nbmlops.log_metric("after", 1.0)
        booster = xgb.train({"objective": "binary:logistic"}, xgb.DMatrix(X, y), 2)
    logged = nbmlops.get_run(run.run_id)
    assert logged.status.value == "FINISHED" and logged.metrics["after"] == 1.0
    assert isinstance(booster, xgb.Booster)
    # the failed fit logged the rounds before the failing one (the user's callback runs before ours),
    # the next fits got their own prefix, and no model of the failures was stored
    assert history(run.run_id, "validation_0-logloss")["step"].tolist() == [0, 1]
    assert "fit3.model/model.ubj" in " ".join(paths(run.run_id))
    assert "models/model/model.ubj" not in paths(run.run_id)


def test_without_a_run_or_with_autolog_off_nothing_is_logged(fresh_store: Store, data: Data) -> None:
    X, y, Xv, yv = data
    autolog()
    try:
        xgb.train({"objective": "binary:logistic"}, xgb.DMatrix(X, y), 2)  # no active run: no run is started
        lgb.LGBMClassifier(n_estimators=2, verbose=-1).fit(X, y)
        assert nbmlops.runs().empty
        assert xgb.train.__code__ is not ORIGINAL_XGB_TRAIN
    finally:
        autolog(False)
    assert xgb.train.__code__ is ORIGINAL_XGB_TRAIN and lgb.train.__code__ is ORIGINAL_LGB_TRAIN
    with nbmlops.start_run() as run:
        xgb.train({"objective": "binary:logistic"}, xgb.DMatrix(X, y), 2, evals=[(xgb.DMatrix(Xv, yv), "v")],
                  verbose_eval=False)
        lgb.LGBMClassifier(n_estimators=2, verbose=-1).fit(X, y, eval_X=(Xv,), eval_y=(yv,))
    logged = nbmlops.get_run(run.run_id)
    assert not logged.params and not logged.metrics and not paths(run.run_id) & {"models/model/model.ubj"}
    assert not any(p.startswith(("models/", "media/")) for p in paths(run.run_id))


def test_autologging_block_covers_boosting_and_stops_after_it(fresh_store: Store, data: Data) -> None:
    X, y, _, _ = data
    with nbmlops.start_run() as run:
        with autologging():
            lgb.train({"objective": "binary", "verbose": -1}, lgb.Dataset(X, y), 3)
        lgb.train({"objective": "binary", "verbose": -1}, lgb.Dataset(X, y), 3)
    logged = nbmlops.get_run(run.run_id)
    assert logged.params["num_boost_round"] == 3
    assert not any(k.startswith("fit2.") for k in logged.params)
    autolog(False)


# -- model flavors without autolog ---------------------------------------------------------------------
@pytest.mark.parametrize("make", [
    lambda X, y: xgb.XGBClassifier(n_estimators=5).fit(X, y),
    lambda X, y: xgb.XGBRegressor(n_estimators=5).fit(X.to_numpy(), X["income"]),
    lambda X, y: xgb.XGBRanker(n_estimators=5).fit(X, y, qid=np.arange(len(X)) // 30),
    lambda X, y: lgb.LGBMRegressor(n_estimators=5, verbose=-1).fit(X.to_numpy(), X["income"]),
    lambda X, y: lgb.LGBMClassifier(n_estimators=5, verbose=-1).fit(X, y.map({0: -1, 1: 7})),
    lambda X, y: lgb.train({"objective": "regression", "verbose": -1}, lgb.Dataset(X, X["income"]), 5),
    lambda X, y: xgb.train({"objective": "reg:squarederror"}, xgb.DMatrix(X, X["income"]), 5),
], ids=["XGBClassifier", "XGBRegressor-array", "XGBRanker", "LGBMRegressor-array", "LGBMClassifier-odd-labels",
        "lgb.Booster", "xgb.Booster"])
def test_log_model_registers_the_native_flavor_and_load_model_gives_the_same_kind(
        fresh_store: Store, data: Data, make: Any) -> None:
    X, y, Xv, _ = data
    model = make(X, y)
    with nbmlops.start_run() as run:
        version = nbmlops.log_model(model, name="boost")
    assert version.flavor in ("xgboost", "lightgbm")
    assert [i["name"] for i in version.signature["inputs"]] in (list(X.columns), ["0", "1", "2"])
    back = nbmlops.load_model("boost/1")  # no trusted=True needed
    assert type(back) is type(model)
    inputs = Xv if version.signature["inputs"][0]["name"] == "age" else Xv.to_numpy()
    assert np.array_equal(serialization.predict(back, inputs), serialization.predict(model, inputs))
    assert_no_pickle(fresh_store, run.run_id)


def test_an_unfitted_estimator_is_refused_in_one_line(fresh_store: Store) -> None:
    with nbmlops.start_run(), pytest.raises(InvalidInputError, match="not fitted: call fit"):
        nbmlops.log_model(xgb.XGBClassifier(), name="boost")


def test_meta_naming_another_class_loads_a_plain_booster(data: Data) -> None:
    X, y, Xv, _ = data
    model = xgb.XGBClassifier(n_estimators=3).fit(X, y)
    raw, flavor = serialization.dump(model)
    hostile = {"estimator": {"estimator": "system"}, "params": {"n_estimators": 3}}
    back = serialization.load(raw, flavor, meta=hostile)
    assert isinstance(back, xgb.Booster)
    assert np.allclose(back.predict(xgb.DMatrix(Xv)), model.predict_proba(Xv)[:, 1])


@pytest.mark.parametrize("make", [
    lambda X, y: xgb.XGBClassifier(n_estimators=5).fit(X, y),
    lambda X, y: xgb.train({"objective": "binary:logistic"}, xgb.DMatrix(X, y), 5),
    lambda X, y: lgb.LGBMClassifier(n_estimators=5, verbose=-1).fit(X, y),
], ids=["XGBClassifier", "xgb.Booster", "LGBMClassifier"])
def test_serve_answers_predictions_of_a_boosting_model(fresh_store: Store, data: Data, make: Any) -> None:
    X, y, Xv, _ = data
    model = make(X, y)
    with nbmlops.start_run():
        nbmlops.log_model(model, name="boost")
    with ModelServer(fresh_store, "boost/1") as server:
        status, answer = call(f"{server.url}/predict", "POST", records(Xv.head(5)))
        assert status == 200, answer
        assert answer["predictions"] == pytest.approx(serialization.predict(model, Xv.head(5)).tolist())
        status, answer = call(f"{server.url}/predict", "POST", [{"age": "old", "income": 1.0, "score": 0.5}])
        assert status == 400 and "column 'age'" in answer["error"]


def test_export_model_writes_the_native_file_and_says_how_to_load_it_with_xgboost(fresh_store: Store, data: Data,
                                                                                  tmp_path: Any) -> None:
    from nbmlops.registry.export import export_model

    X, y, Xv, _ = data
    model = xgb.XGBClassifier(n_estimators=4).fit(X, y)
    with nbmlops.start_run():
        nbmlops.log_model(model, name="boost")
    out = export_model(fresh_store, "boost/1", tmp_path / "out")
    assert (out / "model.ubj").exists() and not (out / "model.pkl").exists()
    readme = (out / "README.md").read_text()
    assert "xgboost.XGBClassifier()" in readme and "this model is a pickle" not in readme
    plain = xgb.XGBClassifier()
    plain.load_model(out / "model.ubj")  # as the README says: XGBoost alone reads it
    assert np.array_equal(plain.predict(Xv), model.predict(Xv))


def test_a_tracked_cell_autologs_xgboost_train_in_a_real_kernel(fresh_store: Store,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.test_magics import errors_of, execute, text_of

    nb = execute([
        "%load_ext nbmlops",
        "%%track -e cells -n boost\n"
        "import numpy as np, xgboost as xgb\n"  # nothing of scikit-learn loaded before this cell
        "rng = np.random.default_rng(0)\n"
        "X = rng.random((200, 3)); y = (X[:, 0] > 0.5).astype(int)\n"
        "d = xgb.DMatrix(X, y)\n"
        "booster = xgb.train({'objective': 'binary:logistic'}, d, 6, evals=[(d, 'train')], verbose_eval=False)",
    ], fresh_store, monkeypatch)
    assert not errors_of(nb.cells[1]), text_of(nb.cells[1])
    run = nbmlops.runs("cells").iloc[0]
    assert run["params.num_boost_round"] == 6
    assert len(history(run["run_id"], "train-logloss")) == 6


def test_loading_without_the_library_says_what_to_install(fresh_store: Store, data: Data,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    X, y, _, _ = data
    with nbmlops.start_run():
        nbmlops.log_model(lgb.LGBMClassifier(n_estimators=2, verbose=-1).fit(X, y), name="boost")
    monkeypatch.setitem(sys.modules, "lightgbm", None)  # as if it were not installed
    with pytest.raises(NbmlopsError, match=r"'boost/1' is a lightgbm model, and lightgbm is not installed here: "
                                           r"pip install lightgbm"):
        nbmlops.load_model("boost/1")


def test_a_registered_booster_keeps_reference_predictions_and_is_monitored(fresh_store: Store, data: Data) -> None:
    X, y, Xv, _ = data
    booster = xgb.train({"objective": "binary:logistic"}, xgb.DMatrix(X, y), 5)
    with nbmlops.start_run(), warnings.catch_warnings():
        warnings.simplefilter("error")  # no "reference predictions skipped"
        nbmlops.log_model(booster, name="boost", reference_data=X)
    report = nbmlops.monitor("boost/1", Xv)
    assert report.prediction is not None and not report.notes, report.notes
