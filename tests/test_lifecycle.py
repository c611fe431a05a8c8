"""Reproduce, retrain and CI gates with real papermill executions of small notebooks."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest

import nbmlops
from nbmlops.jobs.reproduce import reproduce, retrain
from nbmlops.store.folder import Store
from nbmlops.tracking.tracker import tracker
from tests.conftest import make_notebook

TRAIN_CELLS = (
    "%load_ext nbmlops\nimport nbmlops, pandas as pd",
    "frame = pd.read_csv(data_path)",
    "%%track --dataset frame:train --model clf:iris-clf\n"
    "from sklearn.linear_model import LogisticRegression\n"
    "from sklearn.metrics import accuracy_score\n"
    "X, y = frame.drop(columns='target'), frame['target']\n"
    "clf = LogisticRegression(C=C, max_iter=1000).fit(X, y)\n"
    "accuracy_score(y, clf.predict(X))",
)


@pytest.fixture
def project(fresh_store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A training notebook reading data.csv, with the store named in the kernels' environment."""
    from sklearn.datasets import load_iris

    monkeypatch.setenv("NBMLOPS_STORE", str(fresh_store.root))
    load_iris(as_frame=True).frame.to_csv(tmp_path / "data.csv", index=False)
    make_notebook(tmp_path / "train.ipynb", f"C = 1.0\ndata_path = {str(tmp_path / 'data.csv')!r}", *TRAIN_CELLS)
    return tmp_path


def test_reproduce_matches_and_warns_on_changed_data(project: Path) -> None:
    first = nbmlops.run_notebook(project / "train.ipynb", {"C": 0.5}, experiment="repro")
    assert first.status is nbmlops.RunStatus.FINISHED
    (project / "train.ipynb").unlink()  # the stored snapshot is what runs again
    again = reproduce(tracker(), first.run_id)
    assert again.matches, again.differences
    assert again.result.parameters["C"] == 0.5
    assert nbmlops.get_run(again.result.run_id).tags["reproduces"] == first.run_id

    data = (project / "data.csv").read_text().splitlines()
    (project / "data.csv").write_text("\n".join(data[:100]) + "\n")  # the data changed since
    changed = reproduce(tracker(), first.run_id)
    assert any("dataset 'frame' differs from the original run" in w for w in changed.data_warnings)


def test_reproduce_reports_metric_differences(fresh_store: Store, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NBMLOPS_STORE", str(fresh_store.root))
    notebook = make_notebook(tmp_path / "noisy.ipynb", "scale = 1.0",
                             "import random, nbmlops\nnbmlops.log_metric('noise', random.random() * scale)")
    first = nbmlops.run_notebook(notebook)
    again = reproduce(tracker(), first.run_id)
    assert not again.matches and [d.key for d in again.differences] == ["noise"]
    result = subprocess.run([sys.executable, "-m", "nbmlops.cli", "reproduce", first.run_id],
                            capture_output=True, text=True, env={**os.environ}, timeout=120)
    assert result.returncode == 1 and "not reproduced: 1 metric(s) differ" in result.stderr


def test_retrain_registers_and_promotes_only_when_the_gate_passes(project: Path) -> None:
    base = nbmlops.run_notebook(project / "train.ipynb", {"C": 1.0}, experiment="ct")
    assert base.status is nbmlops.RunStatus.FINISHED, base.error
    nbmlops.promote("iris-clf", 1, "production")

    worse = retrain(tracker(), "iris-clf@production", {"C": 0.001},
                    promote_if="metrics.accuracy_score >= champion.metrics.accuracy_score")
    assert worse.new_version is not None and worse.new_version.version == 2 and not worse.promoted
    assert "not promoted to production" in worse.decision
    assert nbmlops.get_model_version("iris-clf@production").version == 1
    assert nbmlops.get_run(worse.result.run_id).tags["retrain.decision"] == worse.decision

    better = retrain(tracker(), "iris-clf@production", {"C": 1.0},
                     promote_if="metrics.accuracy_score >= champion.metrics.accuracy_score")
    assert better.promoted and nbmlops.get_model_version("iris-clf@production").version == 3
    assert nbmlops.model_history("iris-clf")["to_version"].tolist() == [1, 3]


def test_ci_gates_reports_and_exit_codes(project: Path) -> None:
    base = nbmlops.run_notebook(project / "train.ipynb", experiment="ci-base")
    assert base.status is nbmlops.RunStatus.FINISHED
    nbmlops.promote("iris-clf", 1, "production")
    env = {**os.environ}

    def ci(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "nbmlops.cli", "ci", str(project / "train.ipynb"), *args],
                              capture_output=True, text=True, env=env, timeout=180)

    ok = ci("--gate", "metrics.accuracy_score > 0.9", "--gate",
            "metrics.accuracy_score >= champion.metrics.accuracy_score - 0.01",
            "--compare-to", "iris-clf@production", "--report", str(project / "report.md"),
            "--junit", str(project / "junit.xml"))
    assert ok.returncode == 0, ok.stderr
    report = (project / "report.md").read_text()
    assert "# nbmlops CI: passed" in report and "accuracy_score" in report and "| frame | train |" in report
    suite = ET.parse(project / "junit.xml").getroot().find("testsuite")  # noqa: S314 - the report we just wrote
    assert suite is not None and suite.get("tests") == "3" and suite.get("failures") == "0"

    failed = ci("--gate", "metrics.accuracy_score > 0.999", "-p", "C", "0.001",
                "--junit", str(project / "junit-failed.xml"))
    assert failed.returncode == 1 and "1 of 1 notebook(s) failed their checks" in failed.stderr
    assert "FAIL" in failed.stdout
    failures = ET.parse(project / "junit-failed.xml").getroot().iter("failure")  # noqa: S314 - ours too
    assert any("0.999" in (f.get("message") or "") for f in failures)

    typo = ci("--gate", "metrics.accuracy_score >")
    assert typo.returncode == 1 and "bad gate at column" in typo.stderr
