"""Honest records from notebook jobs (issue 12): parameters the notebook declares, the experiment it
names, one registered version per sweep, a monitoring reference for features made outside the
model, and no scratch folders left behind. Real kernels, real papermill, real stores."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import nbclient
import nbformat
import numpy as np
import pandas as pd
import pytest

import nbmlops
from nbmlops.errors import UnknownParameterError
from nbmlops.jobs import ci
from nbmlops.jobs.reproduce import retrain
from nbmlops.jobs.sweeps import sweep
from nbmlops.store.folder import Store
from nbmlops.tracking.tracker import tracker
from tests.conftest import make_notebook

TYPO = ("alhpa is not a parameter of train.ipynb (its parameters: alpha, l1_ratio); did you mean alpha? "
        "--allow-new-params injects it anyway")

REGISTERING_CELLS = (
    "%load_ext nbmlops\nimport nbmlops, pandas as pd\nX = pd.DataFrame({'x': [0.0, 1.0, 2.0, 3.0]})",
    "%%track -e tuning --dataset X:train --model clf:tiny\n"
    "from sklearn.linear_model import LogisticRegression\n"
    "clf = LogisticRegression(C=C).fit(X, [0, 0, 1, 1])\n"
    "nbmlops.log_metric('score', -abs(C - 1.0))",
)


def cli(store: Store, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "nbmlops.cli", *args], capture_output=True, text=True,
                          timeout=300, env={**os.environ, "NBMLOPS_STORE": str(store.root), **env})


@pytest.fixture
def typo_notebook(tmp_path: Path) -> Path:
    """train.ipynb declaring alpha and l1_ratio, logging a metric from alpha."""
    return make_notebook(tmp_path / "train.ipynb", "alpha = 0.5\nl1_ratio = 0.1",
                         "import nbmlops\nnbmlops.log_metric('alpha_seen', alpha)")


# -- item 1: an undeclared parameter is an error, before any kernel starts ----------------------
def test_undeclared_parameter_is_an_error_naming_the_closest_unless_allowed(store_env: Store,
                                                                          typo_notebook: Path) -> None:
    with pytest.raises(UnknownParameterError) as caught:
        nbmlops.run_notebook(typo_notebook, {"alhpa": "0.9"})
    assert str(caught.value) == TYPO
    assert nbmlops.runs().empty  # nothing started

    run = nbmlops.run_notebook(typo_notebook, {"alhpa": "0.9"}, allow_new_params=True)
    assert run.status is nbmlops.RunStatus.FINISHED
    assert run.params["alhpa"] == 0.9 and run.tags["nbmlops.new_params"] == "alhpa"
    assert run.metrics == {"alpha_seen": 0.5}  # the notebook still used its own alpha


def test_cli_jobs_refuse_an_undeclared_parameter_in_one_line(store_env: Store, typo_notebook: Path) -> None:
    for args in (["run", str(typo_notebook), "-p", "alhpa", "0.9"],
                 ["sweep", str(typo_notebook), "--grid", "alhpa=0.1,0.9"],
                 ["sweep", str(typo_notebook), "--grid", "alpha=0.1,0.9", "-p", "alhpa", "1"],
                 ["ci", str(typo_notebook), "-p", "alhpa", "0.9"]):
        result = cli(store_env, *args)
        assert result.returncode == 1, (args, result.stderr)
        assert result.stderr == f"Error: {TYPO}\n", args
    assert nbmlops.runs().empty


def test_notebook_without_parameters_cell_says_how_to_tag_one(store_env: Store, tmp_path: Path) -> None:
    notebook = tmp_path / "plain.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("alpha = 0.5")]), notebook)
    result = cli(store_env, "run", str(notebook), "-p", "alpha", "0.9")
    assert result.returncode == 1 and result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert "plain.ipynb has no parameters cell, so alpha cannot be set: tag the cell" in result.stderr
    assert "'parameters'" in result.stderr and "--allow-new-params" in result.stderr


def test_sweep_retrain_and_ci_functions_refuse_undeclared_parameters(store_env: Store, tmp_path: Path) -> None:
    notebook = make_notebook(tmp_path / "train.ipynb", "C = 1.0", *REGISTERING_CELLS)
    with pytest.raises(UnknownParameterError, match="did you mean C"):
        sweep(store_env, notebook, grid=["c=0.5,1"], progress=False)
    with pytest.raises(UnknownParameterError, match="did you mean C"):
        ci.check(tracker(), [notebook], [], parameters={"c": "2"})
    assert nbmlops.runs().empty
    base = nbmlops.run_notebook(notebook)
    assert base.status is nbmlops.RunStatus.FINISHED
    with pytest.raises(UnknownParameterError, match="did you mean C"):
        retrain(tracker(), "tiny/1", {"c": "2"})
    assert len(nbmlops.runs()) == 1 and len(nbmlops.model_versions("tiny")) == 1


# -- item 2: the experiment the notebook names; a magic's options are not params ---------------
def test_job_lands_in_the_experiment_the_notebook_names_and_magic_options_are_not_params(
        store_env: Store, tmp_path: Path) -> None:
    literal = make_notebook(tmp_path / "literal.ipynb", "alpha = 0.5", "%load_ext nbmlops",
                            "%%track -e churn\nimport nbmlops\nnbmlops.log_metric('score', alpha * 2)")
    expanded = make_notebook(tmp_path / "expanded.ipynb", "alpha = 0.5\nexperiment = 'churn'", "%load_ext nbmlops",
                             "%%track -e {experiment}\nimport nbmlops\nnbmlops.log_metric('score', alpha * 2)")
    for notebook, args in ((literal, ()), (expanded, ()), (expanded, ("-p", "experiment", "churn")),
                           (literal, ("-e", "other")), (expanded, ("-e", "other"))):
        result = cli(store_env, "run", str(notebook), *args)
        assert result.returncode == 0, result.stderr
    runs = nbmlops.runs(["churn", "other"], order_by="start_time")
    assert list(runs["experiment"]) == ["churn", "churn", "churn", "other", "other"]
    assert nbmlops.runs("Default").empty
    for run_id in runs["run_id"]:
        run = nbmlops.get_run(run_id)
        assert run.params == {"alpha": 0.5} and run.metrics == {"score": 1.0}


def test_ci_runs_land_in_the_notebooks_experiment_else_ci(store_env: Store, tmp_path: Path) -> None:
    named = make_notebook(tmp_path / "named.ipynb", "alpha = 0.5", "%load_ext nbmlops", "%%track -e churn\nx = alpha")
    plain = make_notebook(tmp_path / "plain.ipynb", "alpha = 0.5", "import nbmlops\nnbmlops.log_metric('a', alpha)")
    report = ci.check(tracker(), [named, plain], [])
    assert [c.run.experiment for c in report.checks] == ["churn", "ci"]
    again = ci.check(tracker(), [named], [], experiment="other")
    assert again.checks[0].run.experiment == "other"


def test_interactive_track_cell_does_not_record_its_experiment_option_as_a_param(
        fresh_store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NBMLOPS_STORE", str(fresh_store.root))
    cells = ["# Parameters: papermill overrides these\nalpha = 0.5\nexperiment = 'churn'", "%load_ext nbmlops",
             "%%track -e {experiment}\nscore = alpha * 2"]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    nbclient.NotebookClient(nb, timeout=120, kernel_name="python3").execute()
    run = nbmlops.get_run(nbmlops.runs("churn")["run_id"][0])
    assert run.params == {"alpha": 0.5}


# -- item 3: a sweep registers its best child's model once ------------------------------------
def _children(parent: str) -> list[nbmlops.Run]:
    return [nbmlops.get_run(r) for r in nbmlops.runs(where=f"parent_run_id = '{parent}'")["run_id"]]


@pytest.mark.parametrize("executor", ["local", "dask"])
def test_sweep_registers_only_the_best_childs_model(store_env: Store, tmp_path: Path, executor: str) -> None:
    notebook = make_notebook(tmp_path / "train.ipynb", "C = 1.0", *REGISTERING_CELLS)
    result = sweep(store_env, notebook, grid=["C=0.25,1.0,4.0"], metric="score", workers=2, executor=executor,
                   progress=False)
    assert result.status is nbmlops.RunStatus.FINISHED and result.experiment == "tuning"
    versions = nbmlops.model_versions("tiny")
    assert len(versions) == 1
    best = result.best
    assert best is not None and best.params == {"C": 1.0}
    assert versions["run_id"][0] == best.run_id and [v.uri for v in result.registered] == ["tiny/1"]
    children = _children(result.parent_run_id)
    assert len(children) == 3
    for child in children:
        assert "models/tiny/model.skops" in {a.path for a in child.artifacts}
        assert ("model.tiny.version" in child.tags) is (child.run_id == best.run_id)
    assert nbmlops.get_model_version("tiny/1").run_id == best.run_id
    report = nbmlops.monitor("tiny/1", pd.DataFrame({"x": [0.5, 1.5, 2.5]}))  # its reference came along
    assert report.prediction is not None and [f.column for f in report.features] == ["x"]


def test_sweep_register_all_keeps_the_old_behaviour(store_env: Store, tmp_path: Path) -> None:
    notebook = make_notebook(tmp_path / "train.ipynb", "C = 1.0", *REGISTERING_CELLS)
    result = sweep(store_env, notebook, grid=["C=0.5,2.0"], metric="score", register_all=True, progress=False)
    assert result.status is nbmlops.RunStatus.FINISHED and result.registered == []
    versions = nbmlops.model_versions("tiny")
    assert sorted(versions["run_id"]) == sorted(c.run_id for c in result.children)


# -- item 4: a reference for data drift when the features were made outside the model ---------
def test_model_on_features_made_outside_it_keeps_a_reference_for_data_drift(fresh_store: Store) -> None:
    from sklearn.linear_model import LinearRegression

    rng = np.random.default_rng(0)
    raw = pd.DataFrame({"age": rng.normal(40, 5, 500), "income": rng.normal(50, 10, 500)})
    features = pd.DataFrame({"age_sq": raw["age"] ** 2, "ratio": raw["income"] / raw["age"]})
    with nbmlops.start_run():
        nbmlops.log_dataset(raw, "raw", role="train")
        model = LinearRegression().fit(features, raw["income"])
        with pytest.warns(UserWarning) as caught:
            nbmlops.log_model(model, "priced")
    assert len(caught) == 1 and "\n" not in str(caught[0].message)
    assert "no training data of the run holds the model's input columns (age_sq, ratio)" in str(caught[0].message)
    assert "prediction drift is not" in str(caught[0].message)
    shifted = pd.DataFrame({"age": rng.normal(60, 5, 300), "income": rng.normal(80, 10, 300)})
    report = nbmlops.monitor("priced/1", shifted)
    assert report.dataset_drift and sorted(report.drifted_columns) == ["age", "income"]
    assert report.prediction is None
    assert any(n.startswith("prediction drift unavailable") for n in report.notes)


# -- item 5: no scratch folders left behind ----------------------------------------------------
def test_run_leaves_no_scratch_folder_after_success_or_failure(store_env: Store, tmp_path: Path) -> None:
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    good = make_notebook(tmp_path / "good.ipynb", "n = 1", "import nbmlops\nnbmlops.log_metric('n', n)")
    bad = make_notebook(tmp_path / "bad.ipynb", "n = 1", "1 / 0")
    ok = cli(store_env, "run", str(good), TMPDIR=str(scratch))
    assert ok.returncode == 0, ok.stderr
    assert "executed notebook stored with the run" in ok.stdout
    failed = cli(store_env, "run", str(bad), TMPDIR=str(scratch))
    assert failed.returncode == 1 and "ZeroDivisionError" in failed.stderr
    assert not list(scratch.glob("nbmlops-run-*"))
    for run_id in nbmlops.runs()["run_id"]:  # the executed notebook is still where the store keeps it
        run = nbmlops.get_run(run_id)
        executed = next(a for a in run.artifacts if a.path == "notebook/executed.ipynb")
        assert store_env.artifact_path(executed.sha256).is_file()
