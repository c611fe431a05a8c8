"""Sweeps that search: Optuna studies whose objective is a real papermill run of a tiny notebook."""

from __future__ import annotations

import math
from pathlib import Path

import duckdb
import optuna
import pandas as pd
import pytest
from click.testing import CliRunner

import nbmlops
from nbmlops.cli import main
from nbmlops.jobs.studies import IMPORTANCES_TABLE, JOURNAL_NAME, TRIALS_TABLE
from nbmlops.jobs.sweeps import sweep
from nbmlops.store.folder import Store
from tests.conftest import make_notebook, run_python
from tests.test_sweep import children_of, cli

PARAMS = "x = 0.0\nkind = 'a'"
PEAK = "import nbmlops\nscore = -(x - 1.3) ** 2 + (1.0 if kind == 'b' else 0.0)\nnbmlops.log_metric('score', score)"
TRIAL_COLUMNS = ["trial", "run_id", "state", "value", "best_so_far", "duration_s"]


@pytest.fixture
def peak_notebook(tmp_path: Path) -> Path:
    """Logs score = -(x - 1.3)^2, plus 1 when kind is 'b'."""
    return make_notebook(tmp_path / "peak.ipynb", PARAMS, PEAK)


def logged_table(store: Store, run_id: str, name: str) -> pd.DataFrame:
    """A table logged on a run, read back from its Parquet artifact as a user could."""
    sha = next(a.sha256 for a in nbmlops.get_run(run_id).artifacts if a.path == f"media/table/{name}.parquet")
    return duckdb.sql(f"select * from read_parquet('{store.artifact_path(sha)}')").df()


def test_tpe_study_runs_n_trials_as_children_and_records_the_study(store_env: Store, peak_notebook: Path) -> None:
    done = cli(store_env, str(peak_notebook), "--trials", "5", "--dist", "x=uniform(-5,5)",
               "--dist", "kind=choice(a,b)", "--metric", "score", "--maximize", "-j", "2", "-e", "peak")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert sum(line.startswith("trial ") and " COMPLETE " in line for line in lines) == 5
    summary = lines[-1]
    assert summary.startswith("study peak/sweep-peak (") and ": 5 trials: 5 COMPLETE; best score=" in summary
    parent_id = nbmlops.runs("peak", where="name = 'sweep-peak'")["run_id"][0]
    parent = nbmlops.get_run(parent_id)
    assert parent.status is nbmlops.RunStatus.FINISHED
    assert {k: parent.tags[k] for k in ("sweep.sampler", "sweep.pruner", "sweep.trials", "sweep.study",
                                        "sweep.direction", "sweep.metric")} == {
        "sweep.sampler": "tpe", "sweep.pruner": "none", "sweep.trials": "5", "sweep.study": "peak/sweep-peak",
        "sweep.direction": "maximize", "sweep.metric": "score"}
    children = children_of(parent_id)
    assert sorted(int(c.tags["sweep.trial"]) for c in children) == [0, 1, 2, 3, 4]
    assert all(-5 <= c.params["x"] <= 5 and c.params["kind"] in ("a", "b") for c in children)
    best = max(children, key=lambda c: c.metrics["score"])
    assert parent.tags["sweep.best_run"] == best.run_id and parent.tags["sweep.best_trial"] == best.tags["sweep.trial"]
    assert parent.metrics["best_score"] == best.metrics["score"]

    trials = logged_table(store_env, parent_id, TRIALS_TABLE)
    assert list(trials.columns) == [*TRIAL_COLUMNS, "params.x", "params.kind"]
    assert list(trials["trial"]) == [0, 1, 2, 3, 4] and set(trials["state"]) == {"COMPLETE"}
    by_run = {c.run_id: c for c in children}
    for row in trials.itertuples():
        assert row.value == by_run[row.run_id].metrics["score"] and row.duration_s > 0
    assert list(trials["best_so_far"]) == list(trials["value"].cummax())
    importances = logged_table(store_env, parent_id, IMPORTANCES_TABLE)
    assert set(importances["param"]) == {"x", "kind"} and list(importances.columns) == ["param", "importance"]
    assert list(importances["importance"]) == sorted(importances["importance"], reverse=True)

    journal = store_env.root / JOURNAL_NAME  # beside the catalog, as Optuna itself can read it
    storage = optuna.storages.JournalStorage(optuna.storages.journal.JournalFileBackend(str(journal)))
    assert len(optuna.load_study(study_name="peak/sweep-peak", storage=storage).trials) == 5


def test_resume_runs_only_the_missing_trials_of_the_same_study(store_env: Store, peak_notebook: Path) -> None:
    args = dict(dists={"x": "uniform(-5,5)"}, metric="score", experiment="résumé", name="étude-1", progress=False,
                sampler="random", seed=3)
    first = sweep(store_env, peak_notebook, trials=3, **args)
    assert first.study == "résumé/étude-1" and len(first.trials) == 3
    again = sweep(store_env, peak_notebook, trials=5, resume=True, **args)
    assert again.parent_run_id == first.parent_run_id and again.resumed
    assert [c.reused for c in again.children] == [True, True, True, False, False]
    assert list(again.trials["trial"]) == [0, 1, 2, 3, 4]
    assert len(children_of(first.parent_run_id)) == 5
    assert list(again.trials["params.x"])[:3] == list(first.trials["params.x"])  # the same study, continued
    assert len(set(again.trials["params.x"])) == 5
    assert len(logged_table(store_env, first.parent_run_id, TRIALS_TABLE)) == 5  # re-logged at the end
    parent = nbmlops.get_run(first.parent_run_id)
    assert parent.tags["sweep.trials"] == "5" and "sweep.resumed_at" in parent.tags
    with pytest.raises(nbmlops.NbmlopsError, match="already ran 5 trials, --trials 5 leaves nothing to run"):
        sweep(store_env, peak_notebook, trials=5, resume=True, **args)
    with pytest.raises(nbmlops.NbmlopsError, match="exists already: --resume continues it"):
        sweep(store_env, peak_notebook, trials=6, **args)
    assert len(children_of(first.parent_run_id)) == 5


def test_a_misspelled_metric_fails_the_trial_naming_the_close_one(store_env: Store, peak_notebook: Path) -> None:
    result = sweep(store_env, peak_notebook, trials=1, dists=["x=uniform(-5,5)"], metric="scroe",
                   experiment="typo", progress=False)
    assert list(result.trials["state"]) == ["FAIL"] and result.status is nbmlops.RunStatus.FAILED
    assert result.children[0].error == "metric 'scroe' was not logged; did you mean score?"


def test_failing_trials_are_told_fail_and_the_study_goes_on(store_env: Store, tmp_path: Path) -> None:
    notebook = make_notebook(tmp_path / "fragile.ipynb", PARAMS,
                             "import nbmlops\nif x > 2:\n    raise ValueError('x too big')\n"
                             "nbmlops.log_metric('score', float('nan') if x > 0 else -x)")
    result = sweep(store_env, notebook, grid=["x=-1,0.5,3"], sampler="grid", trials=3, metric="score",
                   maximize=False, experiment="fragile", progress=False)
    states = dict(zip(result.trials["params.x"], result.trials["state"], strict=True))
    assert states == {-1.0: "COMPLETE", 0.5: "FAIL", 3.0: "FAIL"}
    assert result.status is nbmlops.RunStatus.FINISHED and len(result.failed) == 2
    assert math.isnan(result.trials.set_index("params.x").at[0.5, "value"])
    errors = {c.params["x"]: c.error for c in result.children}
    assert "ValueError: x too big" in errors[3.0] and "metric 'score' is not a finite number" in errors[0.5]
    parent = nbmlops.get_run(result.parent_run_id)
    assert parent.tags["sweep.failed"] == "2" and parent.metrics["best_score"] == 1.0
    assert IMPORTANCES_TABLE not in {a.path.split("/")[-1][:-8] for a in parent.artifacts}  # one COMPLETE trial


PRUNABLE = ("import os, nbmlops\n"
            "n = int(os.environ['NBMLOPS_RUN_NAME'].rsplit('-', 1)[1])  # later trials are clearly worse\n"
            "for step in range(4):\n"
            "    try:  # a careless handler does not swallow the pruner's stop\n"
            "        nbmlops.log_metric('score', -n * (step + 1) + x * 0, step=step)\n"
            "        nbmlops.log_metric('other', float(step), step=step)\n"
            "    except Exception:\n"
            "        pass\n")


def test_prune_stops_worse_trials_and_keeps_their_points(store_env: Store, tmp_path: Path) -> None:
    notebook = make_notebook(tmp_path / "steps.ipynb", PARAMS, PRUNABLE)
    result = sweep(store_env, notebook, dists={"x": "uniform(0,1)"}, trials=4, metric="score", prune=True,
                   pruner=optuna.pruners.MedianPruner(n_startup_trials=2), workers=1, experiment="prune",
                   progress=False)
    assert list(result.trials["state"]) == ["COMPLETE", "COMPLETE", "PRUNED", "PRUNED"]
    assert result.status is nbmlops.RunStatus.FINISHED and not result.failed and len(result.pruned) == 2
    assert result.best_trial == 0
    pruned = nbmlops.runs("prune", where="status = 'PRUNED'")
    assert len(pruned) == 2
    for run_id in pruned["run_id"]:
        run = nbmlops.get_run(run_id)
        assert run.tags["sweep.pruned_at_step"] == "0" and "pruned at step 0 by the MedianPruner" in run.error
        assert list(nbmlops.metric_history(run_id, "score")["step"]) == [0]  # logged, then stopped at the next call
        assert "other" not in run.metrics  # its call was the one that ended the notebook
    parent = nbmlops.get_run(result.parent_run_id)
    assert parent.status is nbmlops.RunStatus.FINISHED and parent.tags["sweep.pruned"] == "2"
    assert parent.tags["sweep.best_run"] not in set(pruned["run_id"])


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"trials": 0}, "--trials must be a whole number of trials >= 1, got 0"),
    ({"trials": "5"}, "--trials must be a whole number of trials >= 1, got '5'"),
    ({"trials": 2, "random": 2}, "--random N samples points blindly and --trials N searches"),
    ({"trials": 2, "sampler": "annealing"}, "sampler 'annealing' is not one of tpe, cmaes, random, grid"),
    ({"trials": 2, "metric": None, "prune": True}, "--trials needs --metric NAME"),
    ({"prune": True}, "give --trials N"),
    ({"trials": 2, "pruner": "median"}, "--pruner chooses how --prune stops trials: add --prune"),
    ({"trials": 2, "pruner": "sometimes", "prune": True}, "pruner 'sometimes' is not one of median, hyperband"),
    ({"trials": 2, "sampler": "grid"}, "--sampler grid walks the --grid values"),
    ({"trials": 2, "sampler": "cmaes", "dists": {"kind": "choice(a,b)"}}, "cmaes samples numbers"),
    ({"trials": 2, "dists": None}, "nothing to search"),
    ({"trials": 2, "dists": {"y": "uniform(0,1)"}}, "y is not a parameter of p.ipynb"),
    ({"trials": 2, "resume": True, "name": "never"}, "no sweep named 'never' in experiment 'Default'"),
])
def test_bad_study_specs_fail_in_one_line_before_any_run(store_env: Store, tmp_path: Path, kwargs: dict,
                                                         message: str) -> None:
    notebook = make_notebook(tmp_path / "p.ipynb", PARAMS, "x = 1")
    given = {"dists": {"x": "uniform(0,1)"}, "metric": "score", **kwargs}
    with pytest.raises(nbmlops.NbmlopsError) as caught:
        sweep(store_env, notebook, progress=False, **given)
    assert message in str(caught.value) and "\n" not in str(caught.value)
    assert nbmlops.runs().empty


def test_cli_refuses_bad_trials_in_one_line(store_env: Store, tmp_path: Path) -> None:
    notebook = make_notebook(tmp_path / "p.ipynb", PARAMS, "x = 1")
    base = ["--store", str(store_env.root), "sweep", str(notebook), "--dist", "x=uniform(0,1)", "--metric", "m"]
    for extra, message in [(["--trials", "0"], "Error: --trials must be a whole number of trials >= 1, got 0\n"),
                           (["--trials", "2", "--pruner", "hyperband"],
                            "Error: --pruner chooses how --prune stops trials: add --prune\n")]:
        result = CliRunner().invoke(main, [*base, *extra])
        assert result.exit_code == 1 and result.output == message
    for extra in (["--trials", "many"], ["--trials", "2", "--sampler", "nope"]):
        result = CliRunner().invoke(main, [*base, *extra])
        assert result.exit_code == 2 and "Invalid value for" in result.output
    assert nbmlops.runs().empty


def test_dask_executor_runs_a_small_pruned_study(fresh_store: Store, peak_notebook: Path) -> None:
    result = sweep(fresh_store, peak_notebook, dists={"x": "uniform(-5,5)"}, trials=2, workers=2, executor="dask",
                   metric="score", experiment="dask", progress=False, prune=True, pruner="hyperband")
    assert result.status is nbmlops.RunStatus.FINISHED and list(result.trials["state"]) == ["COMPLETE"] * 2
    children = children_of(result.parent_run_id)
    assert sorted(c.tags["sweep.trial"] for c in children) == ["0", "1"]
    assert set(result.trials["run_id"]) == {c.run_id for c in children}
    assert nbmlops.get_run(result.parent_run_id).tags["sweep.pruner"] == "hyperband"
    journal = optuna.storages.journal.JournalFileBackend(str(fresh_store.root / JOURNAL_NAME))
    study = optuna.load_study(study_name="dask/sweep-peak", storage=optuna.storages.JournalStorage(journal))
    # the kernels on the dask workers reported their step to the same study
    assert [t.intermediate_values for t in study.trials] == [{0: t.value} for t in study.trials]


def test_an_unreachable_team_study_storage_is_one_line_without_the_password(
        tmp_path: Path, peak_notebook: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from nbmlops.store.team import TeamStore

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("PGPASSWORD", "hunter2-secret")
    with pytest.raises(nbmlops.NbmlopsError) as caught:
        sweep(TeamStore("postgresql://alice@127.0.0.1:9/nodb"), peak_notebook, trials=2, dists=["x=uniform(0,1)"],
              metric="score", progress=False)
    message = str(caught.value)
    assert message.startswith("cannot open the sweep's study storage postgresql+psycopg://alice@127.0.0.1:9/nodb: ")
    assert "\n" not in message and "hunter2" not in message


def test_without_optuna_a_study_says_how_to_install_it(store_env: Store, peak_notebook: Path) -> None:
    code = ("import sys; sys.modules['optuna'] = None  # as if not installed\n"
            "from nbmlops.cli import main\n"
            "main(['sweep', sys.argv[1], '--trials', '2', '--dist', 'x=uniform(0,1)', '--metric', 'score'])\n")
    done = run_python(code, store_env, str(peak_notebook), check=False)
    assert done.returncode == 1
    assert done.stderr.strip() == ("Error: a sweep with --trials needs Optuna: pip install 'nbmlops[optuna]'")
    assert nbmlops.runs().empty
