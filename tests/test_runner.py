"""`nbmlops run` and `run_notebook`: real papermill executions of small notebooks."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import nbmlops
from nbmlops.store.folder import Store
from tests.conftest import make_notebook


def test_run_logs_into_one_run_with_typed_parameters(store_env: Store, tmp_path: Path) -> None:
    notebook = make_notebook(
        tmp_path / "train.ipynb", "lr = 0.1\nepochs = 2\nname = 'base'\nflag = False",
        "%load_ext nbmlops\nimport nbmlops",
        "nbmlops.log_metric('plain_api', lr * epochs)",
        "%%track\nscore = lr * epochs\nnbmlops.log_metric('tracked', score)",
        "with nbmlops.start_run(name='inner'):\n    nbmlops.log_metric('child', 1.0)")
    run = nbmlops.run_notebook(notebook, {"lr": "0.5", "epochs": 3, "flag": "true"}, experiment="runner",
                               output=tmp_path / "out" / "executed.ipynb")
    assert run.status is nbmlops.RunStatus.FINISHED and run.name == "train"
    assert run.params == {"lr": 0.5, "epochs": 3, "name": "base", "flag": True}
    assert run.metrics == {"plain_api": 1.5, "tracked": 1.5}
    assert run.notebook == str(notebook.resolve())
    assert run.tags["runner.kernel_retries"] == "0" and len(run.tags["notebook.sha256"]) == 64
    assert {"notebook/source.ipynb", "notebook/executed.ipynb"} <= {a.path for a in run.artifacts}
    assert (tmp_path / "out" / "executed.ipynb").is_file()
    runs = nbmlops.runs("runner")
    assert sorted(runs["name"]) == ["inner", "train"]  # the explicit run is a child of the notebook's
    assert runs.set_index("name").loc["inner", "parent_run_id"] == run.run_id


def test_failing_notebook_keeps_the_cell_error_and_executed_notebook(store_env: Store, tmp_path: Path) -> None:
    notebook = make_notebook(tmp_path / "fails.ipynb", "x = 1",
                             "import nbmlops\nnbmlops.log_metric('before', x)",
                             "raise RuntimeError('diverged')", "nbmlops.log_metric('after', 1)",
                             kernel=None)
    run = nbmlops.run_notebook(notebook, {"x": 7})
    assert run.status is nbmlops.RunStatus.FAILED
    assert "RuntimeError: diverged" in run.error and "cell" in run.error
    assert run.metrics == {"before": 7.0}
    assert run.tags["runner.failed_cell"].isdigit()
    executed = next(a for a in run.artifacts if a.path == "notebook/executed.ipynb")
    text = store_env.artifact_path(executed.sha256).read_text()
    assert "diverged" in text and "papermill-error-cell" in text  # papermill's banner is in the file


def test_unknown_parameters_fail_unless_allowed(store_env: Store, tmp_path: Path) -> None:
    notebook = make_notebook(tmp_path / "p.ipynb", "a = 1", "b = a + 1")
    with pytest.raises(nbmlops.InvalidInputError, match=r"^zzz is not a parameter of p.ipynb \(its parameters: a\)"):
        nbmlops.run_notebook(notebook, {"zzz": 1})
    assert nbmlops.run_notebook(notebook, {"zzz": 1}, allow_new_params=True).status is nbmlops.RunStatus.FINISHED
    with pytest.raises(nbmlops.InvalidInputError, match="expects a int like 1, got 'x'"):
        nbmlops.run_notebook(notebook, {"a": "x"})
    with pytest.raises(nbmlops.InvalidInputError, match="not found"):
        nbmlops.run_notebook(tmp_path / "missing.ipynb")
    assert len(nbmlops.runs()) == 1  # bad arguments start no run


def test_timeout_fails_the_run(store_env: Store, tmp_path: Path) -> None:
    notebook = make_notebook(tmp_path / "slow.ipynb", "seconds = 30", "import time\ntime.sleep(seconds)")
    run = nbmlops.run_notebook(notebook, timeout=2)
    assert run.status is nbmlops.RunStatus.FAILED
    assert "timed out" in run.error.lower()


def test_cli_run_exit_codes(store_env: Store, tmp_path: Path) -> None:
    good = make_notebook(tmp_path / "good.ipynb", "n = 1", "import nbmlops\nnbmlops.log_metric('n', n)")
    bad = make_notebook(tmp_path / "bad.ipynb", "n = 1", "1 / 0")
    params = tmp_path / "params.yaml"
    params.write_text("n: 4\n")
    env = {**os.environ, "NBMLOPS_STORE": str(store_env.root)}

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "nbmlops.cli", "run", *args], env=env,
                              capture_output=True, text=True, timeout=120)

    ok = cli(str(good), "-f", str(params), "-p", "n", "5", "--name", "five")
    assert ok.returncode == 0 and "run five" in ok.stdout and "FINISHED" in ok.stdout
    failed = cli(str(bad))
    assert failed.returncode == 1
    assert "FAILED" in failed.stderr and "ZeroDivisionError" in failed.stderr and "Traceback" not in failed.stderr
    unknown = cli(str(good), "-p", "nope", "1")
    assert unknown.returncode == 1 and "nope is not a parameter of good.ipynb" in unknown.stderr
    assert nbmlops.get_run(nbmlops.runs(where="name = 'five'")["run_id"][0]).metrics == {"n": 5.0}


def test_ctrl_c_ends_the_run_as_killed_and_leaves_no_scratch_folder(store_env: Store, tmp_path: Path) -> None:
    import signal
    import time

    notebook = make_notebook(tmp_path / "long.ipynb", "seconds = 60",
                             "import nbmlops\nnbmlops.log_metric('started', 1)\nprint('working', flush=True)",
                             "import time\ntime.sleep(seconds)")
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    env = {**os.environ, "NBMLOPS_STORE": str(store_env.root), "TMPDIR": str(scratch)}
    proc = subprocess.Popen([sys.executable, "-m", "nbmlops.cli", "run", str(notebook), "--name", "stopped"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 60
    while time.time() < deadline and nbmlops.runs(where="metrics.started = 1").empty:
        time.sleep(0.5)
    time.sleep(1.0)  # the kernel is now in the long cell
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode != 0, (out, err)
    run = nbmlops.get_run(nbmlops.runs(where="name = 'stopped'")["run_id"][0])
    assert run.status is nbmlops.RunStatus.KILLED
    assert run.metrics == {"started": 1.0}
    assert "notebook/executed.ipynb" in {a.path for a in run.artifacts}
    assert not list(scratch.glob("nbmlops-run-*"))
