"""Autologging scikit-learn: fits, searches and metric calls land in the active run, and only there."""

from __future__ import annotations

import inspect
import math
import warnings
from collections.abc import Iterator

import joblib
import numpy as np
import pytest
import sklearn.metrics as skm
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.datasets import load_diabetes, load_iris, make_classification
from sklearn.exceptions import UndefinedMetricWarning
from sklearn.linear_model import LinearRegression, LogisticRegression, Ridge
from sklearn.metrics import accuracy_score, f1_score, mean_squared_error  # bound before autolog()
from sklearn.model_selection import GridSearchCV, RandomizedSearchCV, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import nbmlops
from nbmlops.autolog.sklearn import AutologWarning, autolog, autologging
from nbmlops.store.folder import Store
from tests.conftest import run_python

XY = tuple[np.ndarray, np.ndarray]
ORIGINAL_F1_CODE = f1_score.__code__
ORIGINAL_LR_FIT = LogisticRegression.__dict__["fit"]


class MajorityClassifier(ClassifierMixin, BaseEstimator):
    """A user estimator defined before autolog() is turned on."""

    def __init__(self, smoothing: float = 1.0) -> None:
        self.smoothing = smoothing

    def fit(self, X: np.ndarray, y: np.ndarray) -> MajorityClassifier:
        values, counts = np.unique(y, return_counts=True)
        self.classes_, self.majority_ = values, values[np.argmax(counts)]
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        return np.full(len(X), self.majority_)


@pytest.fixture
def iris() -> XY:
    """Iris features and labels."""
    return load_iris(return_X_y=True)


@pytest.fixture
def autolog_on(fresh_store: Store) -> Iterator[Store]:
    """A fresh store with autolog on for the test, off (and sklearn restored) afterwards."""
    autolog()
    yield fresh_store
    autolog(False)


def model_names(run: nbmlops.Run) -> set[str]:
    return {a.path.split("/")[1] for a in run.artifacts if a.path.startswith("models/")}


def test_fit_logs_params_fit_time_training_score_data_and_model(autolog_on: Store, iris: XY) -> None:
    X, y = iris
    with nbmlops.start_run(name="lr") as run:
        model = LogisticRegression(C=0.5, max_iter=1000).fit(X, y)
    logged = nbmlops.get_run(run.run_id)
    assert logged.params["estimator_class"] == "LogisticRegression"
    assert logged.params["C"] == 0.5 and logged.params["max_iter"] == 1000
    assert logged.params["solver"] == "lbfgs"
    assert logged.metrics["fit_time"] > 0
    assert logged.metrics["training_score"] == pytest.approx(model.score(X, y))
    paths = {a.path for a in logged.artifacts}
    assert {"models/model/model.skops", "models/model/meta.json"} <= paths
    assert logged.tags["model.model"].endswith("LogisticRegression")
    used = nbmlops.datasets(run_id=run.run_id)
    assert used["name"].tolist() == ["X_train", "y_train"]
    assert [list(r) for r in used["roles"]] == [["train"], ["train"]]
    assert used["rows"].tolist() == [150, 150]
    assert not any(k.endswith("_score") and k != "training_score" for k in logged.metrics)


def test_pipeline_logs_step_params_and_one_model(autolog_on: Store, iris: XY) -> None:
    X, y = iris
    with nbmlops.start_run() as run:
        make_pipeline(StandardScaler(), LogisticRegression(C=2.0, max_iter=1000)).fit(X, y)
    logged = nbmlops.get_run(run.run_id)
    assert logged.params["estimator_class"] == "Pipeline"
    assert logged.params["logisticregression__C"] == 2.0
    assert logged.params["standardscaler__with_mean"] is True
    assert logged.params["logisticregression"] == "LogisticRegression"  # estimators by class name
    assert "steps" not in logged.params  # a list of (name, estimator): not a scalar
    assert not any(k.startswith("fit2.") for k in [*logged.params, *logged.metrics])
    assert model_names(logged) == {"model"}


def test_grid_search_logs_best_params_and_a_child_run_per_candidate(autolog_on: Store, iris: XY) -> None:
    X, y = iris
    grid = {"C": [0.01, 0.1, 1.0, 10.0]}
    with nbmlops.start_run(experiment="tuning", name="grid") as run:
        search = GridSearchCV(LogisticRegression(max_iter=1000), grid, cv=3).fit(X, y)
        assert nbmlops.active_run().run_id == run.run_id  # child runs ended, parent active again
    parent = nbmlops.get_run(run.run_id)
    assert parent.params["best_C"] == search.best_params_["C"]
    assert parent.metrics["best_cv_score"] == pytest.approx(search.best_score_)
    assert parent.params["estimator__max_iter"] == 1000
    assert parent.tags["autolog.skipped_child_runs"] == "0"
    assert model_names(parent) == {"model"}
    assert "accuracy_score" not in parent.metrics  # the search's own scoring is not the user's

    children = nbmlops.runs(where=f"parent_run_id = '{run.run_id}'")
    assert len(children) == 4
    assert set(children["status"]) == {"FINISHED"} and set(children["experiment"]) == {"tuning"}
    by_c = children.set_index("params.C")
    for i, candidate in enumerate(search.cv_results_["params"]):
        row = by_c.loc[candidate["C"]]
        assert row["metrics.mean_test_score"] == pytest.approx(search.cv_results_["mean_test_score"][i])
        assert row["metrics.std_test_score"] == pytest.approx(search.cv_results_["std_test_score"][i])
        assert row["metrics.rank_test_score"] == search.cv_results_["rank_test_score"][i]
    assert not any(model_names(nbmlops.get_run(rid)) for rid in children["run_id"])


def test_child_runs_are_bounded_to_the_best_candidates(fresh_store: Store) -> None:
    X, y = make_classification(n_samples=120, n_features=6, random_state=0)
    autolog(max_child_runs=2, log_models=False)
    try:
        with nbmlops.start_run() as run:
            search = RandomizedSearchCV(Ridge(), {"alpha": [0.001, 0.1, 1.0, 10.0, 100.0, 1000.0]},
                                        n_iter=6, cv=2, random_state=0).fit(X, y)
    finally:
        autolog(False)
    parent = nbmlops.get_run(run.run_id)
    assert parent.tags["autolog.skipped_child_runs"] == "4"
    assert parent.tags["autolog.candidates"] == "6"
    assert model_names(parent) == set()  # log_models=False
    children = nbmlops.runs(where=f"parent_run_id = '{run.run_id}'")
    ranks = search.cv_results_["rank_test_score"]
    best_two = {search.cv_results_["params"][i]["alpha"] for i in np.argsort(ranks, kind="stable")[:2]}
    assert set(children["params.alpha"]) == best_two
    assert set(children["metrics.rank_test_score"]) <= {1.0, 2.0}


def test_metric_functions_imported_before_autolog_are_logged_with_suffixes(autolog_on: Store, iris: XY) -> None:
    X, y = iris
    assert f1_score is skm.f1_score  # the name bound at import time is the patched object itself
    model = LogisticRegression(max_iter=1000).fit(X, y)  # no run: not logged
    predicted = model.predict(X)
    with nbmlops.start_run() as run:
        first = f1_score(y, predicted, average="macro")
        second = f1_score(y[:100], predicted[:100], average="macro")
        per_class = f1_score(y, predicted, average=None)  # an array: not one number
        accuracy = accuracy_score(y, predicted)
        r2 = skm.r2_score(y, predicted)  # through the module attribute
    logged = nbmlops.get_run(run.run_id).metrics
    assert per_class.shape == (3,)
    assert logged == pytest.approx({"f1_score": first, "f1_score_2": second,
                                    "accuracy_score": accuracy, "r2_score": r2})


def test_metric_suffixes_count_per_run(autolog_on: Store) -> None:
    with nbmlops.start_run() as one:
        mean_squared_error([1.0, 2.0], [1.5, 2.0])
        mean_squared_error([1.0, 2.0], [1.0, 3.0])
        mean_squared_error([1.0, 2.0], [1.0, 2.0])
    with nbmlops.start_run() as two:
        mean_squared_error([1.0, 2.0], [2.0, 2.0])
    assert nbmlops.get_run(one.run_id).metrics == {"mean_squared_error": 0.125,
                                                   "mean_squared_error_2": 0.5,
                                                   "mean_squared_error_3": 0.0}
    assert nbmlops.get_run(two.run_id).metrics == {"mean_squared_error": 0.5}


def test_sklearn_internal_metric_calls_are_not_logged(autolog_on: Store) -> None:
    X, y = load_diabetes(return_X_y=True)
    model = LinearRegression().fit(X, y)  # outside the run
    with nbmlops.start_run() as run:
        model.score(X, y)  # calls r2_score inside
        cross_val_score(Ridge(), X, y, cv=3, scoring="neg_mean_absolute_error")
        skm.get_scorer("r2")(model, X, y)
        skm.root_mean_squared_error(y, model.predict(X))  # calls mean_squared_error inside
        skm.classification_report([0, 1, 1], [0, 1, 0])  # calls precision/recall functions
    logged = nbmlops.get_run(run.run_id)
    assert list(logged.metrics) == ["root_mean_squared_error"]
    assert logged.params == {}  # cross_val_score's clone fits are its own business


def test_no_active_run_logs_nothing_and_never_starts_one(autolog_on: Store, iris: XY) -> None:
    X, y = iris
    model = LogisticRegression(max_iter=1000).fit(X, y)
    assert accuracy_score(y, model.predict(X)) > 0.9
    GridSearchCV(LogisticRegression(max_iter=1000), {"C": [0.1, 1.0]}, cv=2).fit(X, y)
    assert nbmlops.active_run() is None
    assert nbmlops.runs().empty


def test_user_estimators_defined_before_and_after_autolog_are_logged(autolog_on: Store, iris: XY) -> None:
    X, y = iris

    class ShrunkMean(BaseEstimator):  # defined while autolog is on: caught by __init_subclass__
        def __init__(self, shrink: float = 0.5) -> None:
            self.shrink = shrink

        def fit(self, X: np.ndarray, y: np.ndarray) -> ShrunkMean:
            self.mean_ = float(np.mean(y)) * self.shrink
            return self

    with nbmlops.start_run() as first:
        ShrunkMean(shrink=0.25).fit(X, y)
    with nbmlops.start_run() as second:
        MajorityClassifier(smoothing=2.0).fit(X, y)
    after = nbmlops.get_run(first.run_id)
    assert after.params == {"estimator_class": "ShrunkMean", "shrink": 0.25}
    assert "training_score" not in after.metrics and "fit_time" in after.metrics  # no score()
    before = nbmlops.get_run(second.run_id)
    assert before.params == {"estimator_class": "MajorityClassifier", "smoothing": 2.0}
    assert before.metrics["training_score"] == pytest.approx(np.mean(y == 0))
    assert model_names(before) == {"model"}


def test_second_fit_in_a_run_is_prefixed_instead_of_conflicting(autolog_on: Store, iris: XY) -> None:
    X, y = iris
    with nbmlops.start_run() as run:
        LogisticRegression(C=0.1, max_iter=1000).fit(X, y)
        LogisticRegression(C=10.0, max_iter=1000).fit(X, y)
    logged = nbmlops.get_run(run.run_id)
    assert logged.params["C"] == 0.1 and logged.params["fit2.C"] == 10.0
    assert {"fit_time", "fit2.fit_time", "training_score", "fit2.training_score"} <= set(logged.metrics)
    assert model_names(logged) == {"model", "fit2.model"}


def test_user_errors_propagate_and_logging_problems_only_warn(autolog_on: Store, iris: XY) -> None:
    X, y = iris
    bad = X.copy()
    bad[0, 0] = np.nan
    with nbmlops.start_run() as run:
        nbmlops.log_param("C", "user's own")  # conflicts with what autolog logs: skipped, warned
        with pytest.raises(ValueError, match="NaN"), pytest.warns(AutologWarning, match="param 'C'"):
            LogisticRegression().fit(bad, y)
        with pytest.raises(ValueError):
            f1_score([0, 1], [0, 1, 1])

        class BrokenScore(MajorityClassifier):
            def score(self, X: np.ndarray, y: np.ndarray, sample_weight: None = None) -> float:
                raise RuntimeError("no score today")

        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            fitted = BrokenScore().fit(X, y)
        assert fitted.majority_ == 0
    messages = [str(w.message) for w in caught if issubclass(w.category, AutologWarning)]
    assert any("training_score" in m and "no score today" in m for m in messages)
    logged = nbmlops.get_run(run.run_id)
    assert logged.params["C"] == "user's own"
    assert logged.params["estimator_class"] == "LogisticRegression"  # params are logged before fit
    assert logged.params["fit2.estimator_class"] == "BrokenScore"
    assert "fit_time" not in logged.metrics  # the failed fit logs no results
    assert "fit2.fit_time" in logged.metrics and model_names(logged) == {"fit2.model"}


def test_threaded_search_logs_once(autolog_on: Store, iris: XY) -> None:
    X, y = iris
    with nbmlops.start_run() as run, joblib.parallel_backend("threading", n_jobs=2):
        GridSearchCV(LogisticRegression(max_iter=1000), {"C": [0.1, 1.0, 10.0]}, cv=2, n_jobs=2).fit(X, y)
    logged = nbmlops.get_run(run.run_id)
    assert logged.params["estimator_class"] == "GridSearchCV"
    assert not any(k.startswith("fit") and "." in k for k in logged.params)  # no fit2., fit3., ...
    assert model_names(logged) == {"model"}
    assert "accuracy_score" not in logged.metrics
    assert len(nbmlops.runs(where=f"parent_run_id = '{run.run_id}'")) == 3


def test_process_parallel_search_with_a_class_pickled_by_value(autolog_on: Store, iris: XY) -> None:
    X, y = iris

    class NotebookMajority(MajorityClassifier):  # local, like a notebook's: cloudpickle copies it
        pass

    with nbmlops.start_run() as run:
        GridSearchCV(NotebookMajority(), {"smoothing": [1.0, 2.0]}, cv=2, n_jobs=2).fit(X, y)
    logged = nbmlops.get_run(run.run_id)
    assert logged.params["estimator"] == "NotebookMajority" and logged.params["best_smoothing"] == 1.0
    assert len(nbmlops.runs(where=f"parent_run_id = '{run.run_id}'")) == 2


def test_autolog_false_restores_the_originals_and_twice_does_not_double_wrap(fresh_store: Store, iris: XY) -> None:
    X, y = iris
    has_hook = "__init_subclass__" in BaseEstimator.__dict__
    autolog()
    autolog()
    try:
        assert f1_score.__code__ is not ORIGINAL_F1_CODE
        wrapped = LogisticRegression.__dict__["fit"]
        assert wrapped.__nbmlops_original__ is ORIGINAL_LR_FIT  # one layer, not two
        assert list(inspect.signature(f1_score).parameters)[:3] == ["y_true", "y_pred", "labels"]
    finally:
        autolog(False)
    assert f1_score.__code__ is ORIGINAL_F1_CODE
    assert LogisticRegression.__dict__["fit"] is ORIGINAL_LR_FIT
    assert MajorityClassifier.__dict__["fit"].__name__ == "fit" and not hasattr(
        MajorityClassifier.__dict__["fit"], "__nbmlops_original__")
    assert ("__init_subclass__" in BaseEstimator.__dict__) == has_hook
    assert "__signature__" not in f1_score.__dict__
    autolog(False)  # already off: a no-op
    with nbmlops.start_run() as run:
        model = LogisticRegression(max_iter=1000).fit(X, y)
        f1_score(y, model.predict(X), average="macro")
    logged = nbmlops.get_run(run.run_id)
    assert logged.params == {} and logged.metrics == {}


def test_autologging_block_turns_it_on_and_restores(fresh_store: Store, iris: XY) -> None:
    X, y = iris
    with nbmlops.start_run() as run:
        with autologging(log_models=False, log_datasets=False):
            model = LogisticRegression(max_iter=1000).fit(X, y)
        LogisticRegression(C=3.0, max_iter=1000).fit(X, y)  # after the block: not logged
        f1_score(y, model.predict(X), average="macro")  # not logged either
    logged = nbmlops.get_run(run.run_id)
    assert logged.params["C"] == 1.0 and "fit2.C" not in logged.params
    assert "f1_score" not in logged.metrics
    assert model_names(logged) == set()
    assert nbmlops.datasets(run_id=run.run_id).empty
    # The patches stay installed but silent (cheap to switch on again); autolog(False) removes them.
    autolog(False)
    assert f1_score.__code__ is ORIGINAL_F1_CODE


def test_bad_options_fail_with_a_message(fresh_store: Store) -> None:
    with pytest.raises(nbmlops.InvalidInputError, match="max_child_runs"):
        autolog(max_child_runs=-1)
    assert f1_score.__code__ is ORIGINAL_F1_CODE


def test_autolog_without_tracking_never_creates_a_tracker(fresh_store: Store) -> None:
    code = ("import nbmlops; from nbmlops.tracking import tracker as tracking; nbmlops.autolog()\n"
            "from sklearn.linear_model import LinearRegression; from sklearn.metrics import r2_score\n"
            "model = LinearRegression().fit([[0], [1], [2]], [0, 1, 2]); r2_score([0, 1], [0, 1])\n"
            "assert tracking.existing_tracker() is None, 'a tracker was made'\n"
            "nbmlops.log_metric('loss', 0.5)\n"
            "assert tracking.existing_tracker() is tracking.tracker()")
    run_python(code, fresh_store)
    assert nbmlops.runs()["metrics.loss"].tolist() == [0.5]  # only the explicit log, no autologged fit


def test_importing_nbmlops_does_not_import_sklearn(fresh_store: Store) -> None:
    code = "import sys, nbmlops, nbmlops.autolog.sklearn; assert 'sklearn' not in sys.modules, 'imported'"
    run_python(code, fresh_store)


def test_nan_scores_are_kept(autolog_on: Store) -> None:
    with nbmlops.start_run() as run, pytest.warns(UndefinedMetricWarning):
        skm.r2_score([1.0], [2.0])  # one sample: r2 is undefined
    assert math.isnan(nbmlops.get_run(run.run_id).metrics["r2_score"])


def test_estimators_imported_after_autolog_are_logged(fresh_store: Store) -> None:
    code = """
import sys
import nbmlops
from nbmlops.autolog.sklearn import autolog
from sklearn.exceptions import UndefinedMetricWarning
from sklearn.datasets import load_iris
autolog()
assert "sklearn.ensemble" not in sys.modules
from sklearn.ensemble import RandomForestClassifier  # its classes are created now
X, y = load_iris(return_X_y=True)
with nbmlops.start_run(name="forest"):
    RandomForestClassifier(n_estimators=5, max_depth=3, random_state=0).fit(X, y)
"""
    run_python(code, fresh_store)
    (run_id,) = nbmlops.runs(where="name = 'forest'")["run_id"]
    logged = nbmlops.get_run(run_id)
    assert logged.params["estimator_class"] == "RandomForestClassifier"
    assert logged.params["n_estimators"] == 5 and logged.params["max_depth"] == 3
    assert model_names(logged) == {"model"}  # the trees fitted inside log nothing of their own
    assert not any(k.startswith("fit2.") for k in logged.params)
