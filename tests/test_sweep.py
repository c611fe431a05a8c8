"""`nbmlops sweep` and `sweep()`: real papermill runs of small notebooks, in a process pool and on dask."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

import nbmlops
from nbmlops.cli import main
from nbmlops.jobs.sweeps import plan, sweep
from nbmlops.store.folder import Store
from tests.conftest import make_notebook

PARAMS = "C = 1.0\nmax_iter = 100"
SCORE = "import nbmlops\nscore = C * 10 + max_iter / 100\nnbmlops.log_metric('score', score)"


@pytest.fixture
def scoring_notebook(tmp_path: Path) -> Path:
    """Logs score = 10 C + max_iter / 100."""
    return make_notebook(tmp_path / "train.ipynb", PARAMS, SCORE)


def children_of(parent: str) -> list[nbmlops.Run]:
    """The child runs of `parent`, oldest first."""
    ids = nbmlops.runs(where=f"parent_run_id = '{parent}'", order_by="start_time")["run_id"]
    return [nbmlops.get_run(i) for i in ids]


def cli(store: Store, *args: str) -> subprocess.CompletedProcess[str]:
    """`nbmlops sweep ARGS` in a new process, as a user runs it."""
    env = {**os.environ, "NBMLOPS_STORE": str(store.root)}
    return subprocess.run([sys.executable, "-m", "nbmlops.cli", "sweep", *args], env=env,
                          capture_output=True, text=True, timeout=240)


def test_grid_runs_every_combination_as_a_child_of_one_parent(store_env: Store, scoring_notebook: Path) -> None:
    result = sweep(store_env, scoring_notebook, grid={"C": "0.1,1", "max_iter": [100, 200]}, workers=2,
                   metric="score", experiment="grid", progress=False)
    assert result.status is nbmlops.RunStatus.FINISHED and not result.failed
    assert result.infrastructure_retries == 0
    children = children_of(result.parent_run_id)
    assert len(children) == 4 and {c.status for c in children} == {nbmlops.RunStatus.FINISHED}
    assert sorted((c.params["C"], c.params["max_iter"]) for c in children) == \
        [(0.1, 100), (0.1, 200), (1.0, 100), (1.0, 200)]
    for child in children:
        assert child.metrics["score"] == child.params["C"] * 10 + child.params["max_iter"] / 100
        assert child.experiment == "grid" and child.tags["sweep.notebook"] == str(scoring_notebook.resolve())
        assert "notebook/executed.ipynb" in {a.path for a in child.artifacts}
    assert list(result.table["metrics.score"]) == [12.0, 11.0, 3.0, 2.0]  # ranked, best first
    assert list(result.table.loc[0, ["params.C", "params.max_iter"]]) == [1.0, 200]
    parent = nbmlops.get_run(result.parent_run_id)
    assert parent.name == "sweep-train" and parent.status is nbmlops.RunStatus.FINISHED
    assert parent.metrics == {"best_score": 12.0}
    assert parent.tags["sweep.best_run"] == result.best.run_id == result.table.loc[0, "run_id"]
    assert parent.tags["sweep.combinations"] == "4" and parent.tags["sweep.executor"] == "local"
    assert parent.tags["sweep.grid"] == "C=0.1,1.0; max_iter=100,200"
    assert [c.index for c in result.children] == [1, 2, 3, 4]


def test_the_table_leaves_out_the_machines_load(store_env: Store, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NBMLOPS_SYSTEM_METRICS", "1")  # the kernels sample the machine, as by default
    notebook = make_notebook(tmp_path / "slow.ipynb", PARAMS, "import time\ntime.sleep(1.5)\n" + SCORE)
    result = sweep(store_env, notebook, grid={"C": "0.1,1"}, workers=2, metric="score", progress=False)
    assert all(any(k.startswith("system/") for k in c.metrics) for c in children_of(result.parent_run_id))
    assert [c for c in result.table.columns if c.startswith("metrics.")] == ["metrics.score"]


def test_a_failing_combination_fails_alone_and_resume_runs_only_the_rest(store_env: Store, tmp_path: Path) -> None:
    notebook = make_notebook(tmp_path / "fragile.ipynb", PARAMS,
                             SCORE + "\nif C > 5:\n    raise ValueError('C too big')")
    args = [str(notebook), "--grid", "C=0.1,10,1", "-e", "fragile", "--metric", "score", "--minimize", "-j", "2"]
    first = cli(store_env, *args)
    assert first.returncode == 1
    assert first.stderr.strip().splitlines()[-1].startswith("Error: 1 of 3 runs failed (#2); parent run ")
    lines = [line for line in first.stdout.splitlines() if line.startswith("#")]
    assert len(lines) == 3 and sum("FINISHED" in line for line in lines) == 2
    assert any("FAILED" in line and "C=10.0" in line and "ValueError: C too big" in line for line in lines)
    parent_id = nbmlops.runs("fragile", where="name = 'sweep-fragile'")["run_id"][0]
    parent = nbmlops.get_run(parent_id)
    assert parent.status is nbmlops.RunStatus.FAILED
    assert "1 of 3 combinations failed: #2 C=10.0: cell" in parent.error and "C too big" in parent.error
    assert parent.metrics == {"best_score": 2.0}  # minimized, among the FINISHED children
    assert sorted(c.status.value for c in children_of(parent_id)) == ["FAILED", "FINISHED", "FINISHED"]

    make_notebook(notebook, PARAMS, SCORE)  # the bug is fixed
    second = cli(store_env, *args, "--resume")
    assert second.returncode == 0, second.stderr
    assert second.stdout.count("already FINISHED (resumed)") == 2
    assert "#2 FINISHED  C=10.0  score=101" in second.stdout
    children = children_of(parent_id)
    assert len(children) == 4  # one new child, under the same parent
    assert children[-1].params["C"] == 10.0 and children[-1].status is nbmlops.RunStatus.FINISHED
    parent = nbmlops.get_run(parent_id)
    assert parent.status is nbmlops.RunStatus.FINISHED and not parent.error
    assert "sweep.resumed_at" in parent.tags and parent.tags["sweep.failed"] == "0"
    ranked = [line.split()[0] for line in second.stdout.splitlines() if "FINISHED" in line and "#" not in line]
    assert ranked[0] == "*"  # the best run, C=0.1, is marked and listed first

    third = cli(store_env, *args, "--resume")  # nothing left to run
    assert third.returncode == 0 and third.stdout.count("already FINISHED (resumed)") == 3
    assert len(children_of(parent_id)) == 4


def test_random_sampling_is_seeded_and_respects_bounds(tmp_path: Path) -> None:
    notebook = make_notebook(tmp_path / "p.ipynb", PARAMS + "\nsolver = 'lbfgs'", "x = 1")
    dists = ["C=loguniform(1e-3,10)", "solver=choice(lbfgs,saga)"]
    one = plan(notebook, ["max_iter=100,200"], random=20, dists=dists, seed=7)
    assert len(one.combinations) == 40 and one.tags["sweep.combinations"] == "40"
    assert one.tags["sweep.dist"] == "C=loguniform(1e-3,10); solver=choice(lbfgs,saga)"
    assert [c.swept for c in plan(notebook, ["max_iter=100,200"], random=20, dists=dists, seed=7).combinations] \
        == [c.swept for c in one.combinations]
    assert [c.swept for c in plan(notebook, ["max_iter=100,200"], random=20, dists=dists, seed=8).combinations] \
        != [c.swept for c in one.combinations]
    for combo in one.combinations:
        assert isinstance(combo.swept["C"], float) and 1e-3 <= combo.swept["C"] <= 10
        assert combo.swept["solver"] in ("lbfgs", "saga") and combo.swept["max_iter"] in (100, 200)
        assert combo.values == {"C": combo.swept["C"], "max_iter": combo.swept["max_iter"],
                                "solver": combo.swept["solver"]}
    samples = [c.swept["C"] for c in one.combinations]
    assert samples[:20] == samples[20:]  # the same 20 points crossed with each grid value
    assert min(samples) < 0.01 and max(samples) > 1  # spread over the decades
    ints = plan(notebook, dists={"max_iter": "int(1,3)", "C": "uniform(0.5,0.6)"}, random=200, seed=0)
    assert {c.swept["max_iter"] for c in ints.combinations} == {1, 2, 3}  # both ends included
    assert all(0.5 <= c.swept["C"] <= 0.6 for c in ints.combinations)
    fixed = plan(notebook, {"C": [0.5]}, fixed={"max_iter": "7"})
    assert fixed.combinations[0].values["max_iter"] == 7 and fixed.tags["sweep.fixed"] == "max_iter=7"


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"grid": ["C"]}, "bad --grid 'C': expected NAME=VALUE,VALUE,"),
    ({"grid": ["C=1,,2"]}, "bad --grid 'C=1,,2'"),
    ({"grid": ["C=1", "C=2"]}, "--grid names 'C' twice"),
    ({"grid": ["nope=1,2"]}, "nope is not a parameter of p.ipynb (its parameters: C, max_iter)"),
    ({"grid": ["max_iter=1.5"]}, "parameter 'max_iter' expects a int like 100, got '1.5'"),
    ({"random": 3, "dists": ["C=normal(0,1)"]}, "unknown distribution 'normal'; use uniform(a,b), loguniform"),
    ({"random": 3, "dists": ["C uniform(0,1)"]}, "bad --dist 'C uniform(0,1)': expected NAME=FORM"),
    ({"random": 3, "dists": ["C=loguniform(0,1)"]}, "loguniform needs 0 < a < b"),
    ({"random": 3, "dists": ["C=uniform(2,1)"]}, "uniform needs a < b, got 2.0 and 1.0"),
    ({"random": 3, "dists": ["C=uniform(a,1)"]}, "uniform takes two numbers a, b"),
    ({"random": 3, "dists": ["max_iter=int(5,1)"]}, "int needs a <= b"),
    ({"random": 3, "dists": ["max_iter=uniform(1,5)"]}, "'max_iter' is an int: sample it with int(a,b)"),
    ({"random": 3, "dists": ["C=choice(1,x)"]}, "parameter 'C' expects a float like 1.0, got 'x'"),
    ({"dists": ["C=uniform(0,1)"]}, "--dist needs --random N"),
    ({"random": 3}, "--random N needs at least one --dist"),
    ({"random": 0, "dists": ["C=uniform(0,1)"]}, "--random must be a whole number of samples >= 1"),
    ({}, "nothing to sweep"),
    ({"grid": ["C=1,2"], "random": 2, "dists": ["C=uniform(0,1)"]}, "'C' is both in --grid and --dist"),
    ({"grid": ["C=1"], "fixed": {"zzz": 1}}, "zzz is not a parameter of p.ipynb"),
    ({"grid": ["C=1"], "executor": "spark"}, "executor 'spark' is not one of local, dask"),
    ({"grid": ["C=1"], "workers": 0}, "workers must be a whole number >= 1"),
    ({"grid": ["C=1"], "scheduler": "tcp://x:1"}, "only used by the dask executor"),
    ({"grid": ["C=1"], "resume": True, "name": "never"}, "no sweep named 'never' in experiment 'Default'"),
])
def test_bad_specs_fail_before_any_run(store_env: Store, tmp_path: Path, kwargs: dict, message: str) -> None:
    notebook = make_notebook(tmp_path / "p.ipynb", PARAMS, "x = 1")
    with pytest.raises(nbmlops.NbmlopsError) as caught:
        sweep(store_env, notebook, progress=False, **kwargs)
    assert message in str(caught.value) and "\n" not in str(caught.value)
    assert nbmlops.runs().empty


def test_cli_bad_spec_is_one_line(store_env: Store, tmp_path: Path) -> None:
    notebook = make_notebook(tmp_path / "p.ipynb", PARAMS, "x = 1")
    result = CliRunner().invoke(main, ["--store", str(store_env.root), "sweep", str(notebook),
                                       "--random", "2", "--dist", "C=loguniform(-1,1)"])
    assert result.exit_code == 1
    assert result.output == "Error: bad --dist 'C=loguniform(-1,1)': loguniform needs 0 < a < b\n"
    missing = CliRunner().invoke(main, ["--store", str(store_env.root), "sweep", str(tmp_path / "nope.ipynb"),
                                        "--grid", "C=1"])
    assert missing.exit_code == 1 and "not found" in missing.output and missing.output.count("\n") == 1


def test_kernel_start_failures_are_retried_not_reported_as_model_failures(
        store_env: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A real kernel whose first four starts die at once: the runner's own tries (1 + 3) all fail,
    # so the sweep must run the combination again.
    counter = tmp_path / "starts"
    wrapper = tmp_path / "flaky_kernel.py"
    wrapper.write_text(
        "import os, pathlib, sys\n"
        f"counter = pathlib.Path({str(counter)!r})\n"
        "n = int(counter.read_text()) if counter.exists() else 0\n"
        "counter.write_text(str(n + 1))\n"
        "if n < 4:\n    sys.exit(1)\n"
        "os.execv(sys.executable, [sys.executable, '-m', 'ipykernel_launcher', *sys.argv[1:]])\n")
    spec = tmp_path / "jupyter" / "kernels" / "flaky"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, str(wrapper), "-f", "{connection_file}"], "display_name": "flaky",
        "language": "python"}))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    notebook = make_notebook(tmp_path / "flaky.ipynb", PARAMS, SCORE, kernel="flaky")
    result = sweep(store_env, notebook, grid=["C=2"], workers=1, metric="score", progress=False)
    assert result.status is nbmlops.RunStatus.FINISHED and not result.failed
    assert result.infrastructure_retries == 1 and result.children[0].infrastructure_retries == 1
    assert counter.read_text() == "5"
    runs = children_of(result.parent_run_id)
    assert [r.status.value for r in runs] == ["FAILED", "FINISHED"]
    assert runs[0].tags["runner.infrastructure_failure"] == "true" and "did not start" in runs[0].error
    assert list(result.table["run_id"]) == [runs[1].run_id]  # the abandoned attempt is not in the table
    assert result.best.metric == 21.0
    parent = nbmlops.get_run(result.parent_run_id)
    assert parent.status is nbmlops.RunStatus.FINISHED and parent.tags["sweep.infrastructure_retries"] == "1"


def test_dask_executor_brings_runs_back_as_bundles(fresh_store: Store, tmp_path: Path) -> None:
    notebook = make_notebook(
        tmp_path / "report.ipynb", PARAMS, SCORE,
        "open('report.txt', 'w').write(f'C={C}')\nnbmlops.log_artifact('report.txt')")
    result = sweep(fresh_store, notebook, grid=["C=0.5,2"], workers=2, executor="dask", metric="score",
                   experiment="dask", progress=False)
    assert result.status is nbmlops.RunStatus.FINISHED
    children = children_of(result.parent_run_id)
    assert sorted(c.metrics["score"] for c in children) == [6.0, 21.0]
    for child in children:
        assert child.status is nbmlops.RunStatus.FINISHED and child.experiment == "dask"
        artifacts = {a.path: a for a in child.artifacts}
        assert {"notebook/source.ipynb", "notebook/executed.ipynb", "report.txt"} <= set(artifacts)
        text = fresh_store.artifact_path(artifacts["report.txt"].sha256).read_text()
        assert text == f"C={child.params['C']}"  # the file itself reached this store
        # The worker ran its own copy of the notebook in a temporary folder, since removed.
        assert child.notebook != str(notebook.resolve()) and not Path(child.notebook).exists()
        assert child.tags["sweep.notebook"] == str(notebook.resolve())
    parent = nbmlops.get_run(result.parent_run_id)
    assert parent.metrics == {"best_score": 21.0} and parent.tags["sweep.executor"] == "dask"


def test_dask_executor_uses_a_given_scheduler(fresh_store: Store, tmp_path: Path) -> None:
    from distributed import LocalCluster

    notebook = make_notebook(tmp_path / "train.ipynb", PARAMS, SCORE)
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        result = sweep(fresh_store, notebook, grid=["max_iter=300"], executor="dask",
                       scheduler=cluster.scheduler_address, metric="score", progress=False)
        assert len(cluster.scheduler_info["workers"]) == 1  # a cluster it did not start is left running
    assert result.status is nbmlops.RunStatus.FINISHED
    assert [c.metric for c in result.children] == [13.0]
