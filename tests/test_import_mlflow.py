"""`nbmlops import mlflow URI`: real MLflow stores (SQLite, a file store, a real `mlflow server`) built
with MLflow's own client, imported into real stores, and looked at as a user looks at runs."""

from __future__ import annotations

import importlib.util
import math
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import nbmlops
from nbmlops.cli import main
from nbmlops.importers.mlflow import import_mlflow
from nbmlops.importers.mlflow.tables import run_id_for
from nbmlops.store.folder import Store

mlflow = pytest.importorskip("mlflow")
from mlflow.entities import Metric  # noqa: E402
from mlflow.tracking import MlflowClient  # noqa: E402

HUGE = "x" * 5000  # MLflow accepts params up to 6000 characters


@pytest.fixture(autouse=True)
def _hermetic_mlflow(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """MLflow writes to ./mlruns and reads MLFLOW_TRACKING_URI: keep both inside the test's folder."""
    for key in ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("MLFLOW_ENABLE_ASYNC_LOGGING", "false")
    monkeypatch.chdir(tmp_path)
    yield
    mlflow.set_tracking_uri(None)
    mlflow.set_registry_uri(None)


def _build_rich(uri: str, scratch: Path) -> dict[str, Any]:
    """A store with nested runs, steps, NaN/inf, system tags, artifacts (a file and a folder), a dataset
    input, and a registered scikit-learn model with two versions, stages and an alias."""
    from sklearn.linear_model import LogisticRegression

    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    mlflow.set_experiment("churn é")
    X = pd.DataFrame({"a": np.arange(20.0), "b": np.arange(20.0) % 3})
    y = (X["a"] > 9).astype(int)
    (scratch / "notes.txt").write_text("hello ✓")
    (scratch / "plots" / "sub").mkdir(parents=True)
    (scratch / "plots" / "sub" / "b.txt").write_text("b")
    with mlflow.start_run(run_name="parent ✓") as parent:
        mlflow.log_params({"C": 0.5, "depth": 3, "solver": "lbfgs", "huge": HUGE})
        mlflow.set_tags({"mlflow.source.name": "train.ipynb", "mlflow.source.git.commit": "abc123", "team": "α"})
        for step in range(5):
            mlflow.log_metric("loss", 1 / (step + 1), step=step)
        mlflow.log_metric("weird", float("nan"))
        mlflow.log_metric("big", float("inf"))
        mlflow.log_artifact(str(scratch / "notes.txt"))
        mlflow.log_artifacts(str(scratch / "plots"), artifact_path="plots")
        mlflow.log_input(mlflow.data.from_pandas(X, name="train-data"), context="training")
        mlflow.sklearn.log_model(LogisticRegression().fit(X, y), name="model", registered_model_name="churn")
        with mlflow.start_run(run_name="child", nested=True) as child:
            mlflow.log_metric("acc", 0.9)
    with mlflow.start_run(run_name="second"):
        mlflow.sklearn.log_model(LogisticRegression(C=0.1).fit(X, y), name="model", registered_model_name="churn")
    client = MlflowClient(uri, uri)
    client.transition_model_version_stage("churn", "1", "Production")
    client.transition_model_version_stage("churn", "2", "Staging")
    client.set_registered_model_alias("churn", "champion", "2")
    return {"parent": parent.info.run_id, "child": child.info.run_id, "X": X}


@pytest.fixture(scope="module")
def sqlite_source(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A rich MLflow SQLite store (see `_build_rich`), made once for the module (tests only read it)."""
    folder = tmp_path_factory.mktemp("mlflow-sqlite")
    uri = f"sqlite:///{folder / 'mlflow.db'}"
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(folder)
        patch.setenv("MLFLOW_ENABLE_ASYNC_LOGGING", "false")
        for key in ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI"):
            patch.delenv(key, raising=False)
        made = _build_rich(uri, folder)
        mlflow.set_tracking_uri(None)
        mlflow.set_registry_uri(None)
    yield {**made, "uri": uri}


def _run(store: Store, mlflow_run_id: str) -> nbmlops.Run:
    return nbmlops.get_run(run_id_for(mlflow_run_id))


def test_sqlite_store_comes_over_with_metrics_tags_artifacts_and_datasets(
        sqlite_source: dict[str, Any], fresh_store: Store) -> None:
    report = import_mlflow(fresh_store, sqlite_source["uri"])
    assert (report.runs_added, report.runs_updated, report.runs_unchanged) == (3, 0, 0)
    assert report.metric_points == 8 and report.model_versions_added == 2 and report.skipped == ()
    table = nbmlops.runs("churn é")
    assert sorted(table["name"]) == ["child", "parent ✓", "second"]
    parent, child = _run(fresh_store, sqlite_source["parent"]), _run(fresh_store, sqlite_source["child"])
    assert child.parent_run_id == parent.run_id and parent.status == "FINISHED"
    assert parent.notebook == "train.ipynb" and parent.user
    assert parent.tags["git.commit"] == "abc123" and parent.tags["team"] == "α"
    assert parent.tags["mlflow.run_id"] == sqlite_source["parent"]
    assert "mlflow.parentRunId" not in child.tags and child.tags["source"]  # a script: its file as `source`
    assert parent.params["C"] == 0.5 and parent.params["depth"] == 3 and parent.params["huge"] == HUGE
    history = nbmlops.metric_history(parent.run_id, "loss")
    assert list(history["step"]) == [0, 1, 2, 3, 4]
    assert list(history["value"]) == pytest.approx([1, 1 / 2, 1 / 3, 1 / 4, 1 / 5])
    assert math.isnan(parent.metrics["weird"]) and parent.metrics["big"] == math.inf
    files = {a.path: a for a in parent.artifacts}
    assert fresh_store.read_verified(files["notes.txt"].sha256, "notes").decode() == "hello ✓"
    assert fresh_store.read_verified(files["plots/sub/b.txt"].sha256, "b") == b"b"
    logged = [p for p in files if p.startswith("mlflow-models/model/m-")]  # MLflow 3 keeps it beside the run
    assert any(p.endswith("/MLmodel") for p in logged) and any(p.endswith("/model.skops") for p in logged)
    used = nbmlops.datasets("train-data")
    assert len(used) == 1 and used["fingerprint"][0].startswith("mlflow-")
    assert used["rows"][0] == 20 and used["columns"][0] == 2 and list(used["roles"][0]) == ["train"]


def test_registered_scikit_learn_versions_load_without_pickle_by_alias(
        sqlite_source: dict[str, Any], fresh_store: Store) -> None:
    import_mlflow(fresh_store, sqlite_source["uri"])
    X = sqlite_source["X"]
    production = nbmlops.load_model("churn@production")  # stage Production -> alias production
    assert list(production.predict(X)) == [0] * 10 + [1] * 10
    assert nbmlops.get_model_version("churn@production").version == 1
    assert nbmlops.get_model_version("churn@staging").version == 2
    champion = nbmlops.get_model_version("churn@champion")
    assert champion.version == 2 and champion.flavor == "sklearn-skops" and champion.model_class.endswith(
        "LogisticRegression")
    assert nbmlops.load_model("churn/2").C == 0.1
    assert "imported from MLflow (stage Production)" in set(nbmlops.model_history("churn")["reason"])
    parent = _run(fresh_store, sqlite_source["parent"])
    assert parent.tags["model.churn.version"] == "1"
    assert any(a.path.startswith("mlflow-models/churn/1/") and a.path.endswith("MLmodel") for a in parent.artifacts)


def test_importing_twice_adds_nothing(sqlite_source: dict[str, Any], fresh_store: Store) -> None:
    import_mlflow(fresh_store, sqlite_source["uri"])
    before = (len(nbmlops.runs()), len(nbmlops.model_versions("churn")), len(nbmlops.model_history("churn")))
    again = import_mlflow(fresh_store, sqlite_source["uri"])
    assert (again.runs_added, again.runs_updated, again.runs_unchanged) == (0, 0, 3)
    assert (again.metric_points, again.artifacts_added, again.model_versions_added) == (0, 0, 0)
    assert (len(nbmlops.runs()), len(nbmlops.model_versions("churn")), len(nbmlops.model_history("churn"))) == before
    assert "0 new, 0 updated, 3 unchanged" in again.summary()


def test_a_run_still_running_in_mlflow_is_updated_with_its_new_points(tmp_path: Path, fresh_store: Store) -> None:
    uri = f"sqlite:///{tmp_path / 'live.db'}"
    client = MlflowClient(uri)
    experiment = client.create_experiment("live")
    run = client.create_run(experiment, run_name="training").info.run_id
    client.log_batch(run, metrics=[Metric("loss", 1.0 / (s + 1), 1_700_000_000_000 + s, s) for s in range(3)])
    client.create_run(experiment, run_name="queued")  # left RUNNING too, never logs
    first = import_mlflow(fresh_store, uri)
    assert first.runs_added == 2 and nbmlops.get_run(run_id_for(run)).status == "RUNNING"
    client.log_batch(run, metrics=[Metric("loss", 0.1, 1_700_000_000_100 + s, s) for s in range(3, 6)])
    client.set_terminated(run, "FINISHED")
    second = import_mlflow(fresh_store, uri)
    assert (second.runs_added, second.runs_updated, second.runs_unchanged) == (0, 1, 1)
    ours = nbmlops.get_run(run_id_for(run))
    assert ours.status == "FINISHED" and ours.metrics["loss"] == pytest.approx(0.1)
    history = nbmlops.metric_history(ours.run_id, "loss")
    assert list(history["step"]) == [0, 1, 2, 3, 4, 5]
    assert history["timestamp"].iloc[0] == pd.Timestamp(1_700_000_000_000, unit="ms", tz="UTC")


def test_file_store_one_experiment_and_a_missing_artifact_folder(tmp_path: Path, fresh_store: Store,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")  # to make one: MLflow 3 refuses new file stores
    folder = tmp_path / "mlruns"
    uri = folder.as_uri()
    client = MlflowClient(uri)
    wanted, other = client.create_experiment("wanted ✓"), client.create_experiment("other")
    kept = client.create_run(wanted, run_name="kept").info
    client.log_metric(kept.run_id, "m", 1.5, step=7)
    (tmp_path / "f.txt").write_text("data")
    client.log_artifact(kept.run_id, str(tmp_path / "f.txt"))
    gone = client.create_run(wanted, run_name="gone").info
    client.create_run(other, run_name="elsewhere")
    import shutil

    shutil.rmtree(Path(gone.artifact_uri.removeprefix("file://")))
    report = import_mlflow(fresh_store, folder, experiments=["wanted ✓"])  # a plain folder path works too
    assert report.experiments == 1 and report.runs_added == 2
    assert sorted(nbmlops.runs()["name"]) == ["gone", "kept"]
    assert len(report.skipped) == 1 and "artifact folder" in report.skipped[0] and gone.run_id in report.skipped[0]
    ours = nbmlops.get_run(run_id_for(kept.run_id))
    assert nbmlops.metric_history(ours.run_id, "m")["step"].tolist() == [7]
    assert [a.path for a in ours.artifacts] == ["f.txt"]
    client.log_metric(kept.run_id, "m", 2.5, step=8)  # it was RUNNING: its new point comes over
    client.set_terminated(kept.run_id)
    again = import_mlflow(fresh_store, folder.as_uri(), experiments=["wanted ✓"])
    assert (again.runs_added, again.runs_updated, again.runs_unchanged) == (0, 1, 1)
    assert nbmlops.metric_history(ours.run_id, "m")["step"].tolist() == [7, 8]
    assert nbmlops.get_run(ours.run_id).status == "FINISHED"
    last = import_mlflow(fresh_store, folder.as_uri(), experiments=["wanted ✓"])
    assert (last.runs_updated, last.runs_unchanged, len(last.skipped)) == (0, 2, 1)  # only `gone` is read again


def _cli(*args: str, store: Store) -> Any:
    return CliRunner().invoke(main, ["--store", str(store.root), *args])


def test_cli_prints_one_summary_line_and_skipped_lines(sqlite_source: dict[str, Any], fresh_store: Store) -> None:
    result = _cli("import", "mlflow", sqlite_source["uri"], "-e", "churn é", store=fresh_store)
    assert result.exit_code == 0, result.output
    last = result.output.strip().splitlines()[-1]
    assert last.startswith("Imported 1 experiment, 3 runs (3 new, 0 updated, 0 unchanged), 8 metric points, ")
    assert "2 model versions from sqlite:///" in last and str(fresh_store.root) in last


@pytest.mark.parametrize(("uri", "expected"), [
    ("ftp://host/x", "not ftp://"),
    ("sqlite:///{tmp}/nothing.db", "no MLflow database at"),
    ("{tmp}/not-a-store", "is not an MLflow file store"),
    ("{tmp}/plain.db", "is not an MLflow database"),
    ("{tmp}/absent-folder", "no MLflow store at"),
    ("http://127.0.0.1:{port}", "cannot reach the MLflow server"),
])
def test_cli_bad_sources_fail_in_one_line_and_import_nothing(uri: str, expected: str, tmp_path: Path,
                                                              fresh_store: Store) -> None:
    (tmp_path / "not-a-store").mkdir()
    (tmp_path / "not-a-store" / "notes.md").write_text("hi")
    import sqlite3

    sqlite3.connect(tmp_path / "plain.db").execute("CREATE TABLE t (x)").connection.close()
    result = _cli("import", "mlflow", uri.format(tmp=tmp_path, port=_free_port()), store=fresh_store)
    assert result.exit_code == 1
    assert expected in result.output and len(result.output.strip().splitlines()) == 1
    assert nbmlops.runs().empty


def test_unknown_experiment_names_the_ones_there(sqlite_source: dict[str, Any], fresh_store: Store) -> None:
    result = _cli("import", "mlflow", sqlite_source["uri"], "-e", "nope", store=fresh_store)
    assert result.exit_code == 1
    assert "no MLflow experiment 'nope'" in result.output and "churn é" in result.output
    assert nbmlops.runs().empty


def test_import_mlflow_without_uri_and_bundles_still_import(tmp_path: Path, fresh_store: Store) -> None:
    assert "give the MLflow tracking URI" in _cli("import", "mlflow", store=fresh_store).output
    with nbmlops.start_run(experiment="bundled"):
        nbmlops.log_metric("m", 1.0)
    target = Store(tmp_path / "other")
    target.init()
    bundle = tmp_path / "mlflow"  # a bundle file that happens to be named mlflow is still a bundle
    assert _cli("export", str(bundle), store=fresh_store).exit_code == 0
    result = CliRunner().invoke(main, ["--store", str(target.root), "import", str(bundle)])
    assert result.exit_code == 0 and "1 run added" in result.output
    result = CliRunner().invoke(main, ["--store", str(target.root), "import", "mlflow"])
    assert result.exit_code == 0 and "0 runs added" in result.output


def test_missing_mlflow_names_the_extra(fresh_store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "mlflow" else real(name, *a))
    result = _cli("import", "mlflow", "sqlite:///x.db", store=fresh_store)
    assert result.exit_code == 1 and "pip install 'nbmlops[mlflow]'" in result.output


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def mlflow_server(tmp_path: Path) -> Iterator[str]:
    """A real `mlflow server` on a free port (SQLite backend), stopped after the test."""
    port = _free_port()
    command = [sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1", "--port", str(port),
               "--backend-store-uri", f"sqlite:///{tmp_path / 'server.db'}", "--workers", "1"]
    server = subprocess.Popen(command, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 40
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                time.sleep(0.3)
        else:
            pytest.skip("mlflow server did not start within 40 s here")
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()


def test_a_real_mlflow_server_over_http(mlflow_server: str, tmp_path: Path, fresh_store: Store) -> None:
    client = MlflowClient(mlflow_server)
    deadline = time.monotonic() + 30
    while True:  # the port opens a little before the API answers
        try:
            experiment = client.create_experiment("served")
            break
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)
    run = client.create_run(experiment, run_name="remote").info.run_id
    client.log_batch(run, metrics=[Metric("loss", float(s), 1_700_000_000_000 + s, s) for s in range(4)])
    client.log_param(run, "lr", "0.01")
    (tmp_path / "remote.txt").write_text("over http")
    client.log_artifact(run, str(tmp_path / "remote.txt"))
    client.set_terminated(run)
    report = import_mlflow(fresh_store, mlflow_server, experiments="served")
    assert report.runs_added == 1 and report.metric_points == 4 and report.skipped == ()
    ours = nbmlops.get_run(run_id_for(run))
    assert ours.params["lr"] == 0.01 and nbmlops.metric_history(ours.run_id, "loss")["step"].tolist() == [0, 1, 2, 3]
    files = {a.path: a.sha256 for a in ours.artifacts}
    assert fresh_store.read_verified(files["remote.txt"], "remote") == b"over http"
    assert import_mlflow(fresh_store, mlflow_server).runs_added == 0


def test_a_running_run_that_registered_a_model_keeps_its_model_files_when_updated(
        tmp_path: Path, fresh_store: Store) -> None:
    from sklearn.tree import DecisionTreeClassifier

    uri = f"sqlite:///{tmp_path / 'model.db'}"
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    mlflow.set_experiment("trees")
    run = mlflow.start_run(run_name="still training")
    try:
        X, y = np.arange(10.0).reshape(-1, 1), np.arange(10) % 2
        tree = DecisionTreeClassifier(max_depth=2, random_state=0).fit(X, y)
        mlflow.sklearn.log_model(tree, name="m", registered_model_name="tree",
                                 skops_trusted_types=["sklearn.tree._tree.Tree"])  # MLflow asks; nbmlops allows it
        mlflow.log_metric("loss", 1.0, step=0)
        import_mlflow(fresh_store, uri)
        mlflow.log_metric("loss", 0.5, step=1)
    finally:
        mlflow.end_run()
    again = import_mlflow(fresh_store, uri)
    assert (again.runs_updated, again.model_versions_added) == (1, 0)
    ours = nbmlops.get_run(run_id_for(run.info.run_id))
    assert ours.status == "FINISHED" and {"models/tree/model.skops", "models/tree/meta.json"} <= {
        a.path for a in ours.artifacts}
    assert nbmlops.load_model("tree/1").predict(X).tolist() == tree.predict(X).tolist()  # the allowlist takes Tree


class _Doubler(mlflow.pyfunc.PythonModel):  # a custom pyfunc: a flavor nbmlops keeps as files
    def predict(self, context: Any, model_input: Any) -> Any:
        return model_input * 2


def test_a_pickled_model_is_converted_and_another_flavor_stays_as_files(tmp_path: Path, fresh_store: Store) -> None:
    from sklearn.linear_model import LinearRegression

    uri = f"sqlite:///{tmp_path / 'flavors.db'}"
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    mlflow.set_experiment("flavors")
    X, y = np.arange(6.0).reshape(-1, 1), np.arange(6.0) * 3
    with mlflow.start_run(run_name="models ✓") as run:
        mlflow.sklearn.log_model(LinearRegression().fit(X, y), name="lr", registered_model_name="pickled",
                                 serialization_format="cloudpickle")
        mlflow.pyfunc.log_model(name="custom", python_model=_Doubler(), registered_model_name="custom")
    report = import_mlflow(fresh_store, uri)
    assert report.model_versions_added == 1
    assert len(report.skipped) == 1 and "'custom' version 1 (flavors: python_function)" in report.skipped[0]
    pickled = nbmlops.get_model_version("pickled/1")
    assert pickled.flavor == "sklearn-skops"  # unpickled once here, stored with skops
    assert nbmlops.load_model("pickled/1").predict([[10.0]]) == pytest.approx([30.0])
    files = {a.path for a in nbmlops.get_run(run_id_for(run.info.run_id)).artifacts}
    assert "mlflow-models/custom/1/MLmodel" in files and "mlflow-models/pickled/1/MLmodel" in files
    with pytest.raises(nbmlops.NotFoundError):
        nbmlops.get_model_version("custom/1")


def test_a_hostile_store_cannot_make_the_import_read_this_machines_files(tmp_path: Path, fresh_store: Store) -> None:
    import sqlite3

    secrets = tmp_path / "home" / ".ssh"
    secrets.mkdir(parents=True)
    (secrets / "id_ed25519").write_text("PRIVATE KEY")
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    client = MlflowClient(uri)
    experiment = client.create_experiment("hostile", artifact_location=str(tmp_path / "art"))
    pointed, linked = (client.create_run(experiment, run_name=n).info for n in ("pointed", "linked"))
    (tmp_path / "ok.txt").write_text("fine")
    client.log_artifact(linked.run_id, str(tmp_path / "ok.txt"))
    folder = Path(linked.artifact_uri)
    (folder / "key").symlink_to(secrets / "id_ed25519")
    (folder / "dir").symlink_to(secrets)
    with sqlite3.connect(tmp_path / "mlflow.db") as con:  # a row naming a folder MLflow never wrote
        con.execute("UPDATE runs SET artifact_uri = ? WHERE run_uuid = ?", (str(secrets), pointed.run_id))
    report = import_mlflow(fresh_store, uri)
    assert report.runs_added == 2
    assert [a.path for a in _run(fresh_store, linked.run_id).artifacts] == ["ok.txt"]
    assert _run(fresh_store, pointed.run_id).artifacts == []
    stored = [p for p in (fresh_store.root / "artifacts").rglob("*") if p.is_file()]
    assert all(b"PRIVATE KEY" not in p.read_bytes() for p in stored)
    skipped = "\n".join(report.skipped)
    assert f"run {pointed.run_id}: its artifact location {secrets} is not an MLflow artifact folder" in skipped
    assert "artifact key of run" in skipped and "artifact dir of run" in skipped
    assert "is a link: not followed" in skipped


class _Booby:
    """A "model" whose unpickling touches a file: what a hostile pickle could do instead."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, ...]:
        return (Path.touch, (self.marker,))


def test_no_unpickle_keeps_a_pickled_model_unopened(tmp_path: Path, fresh_store: Store) -> None:
    marker = tmp_path / "ran-code"
    uri = f"sqlite:///{tmp_path / 'pickles.db'}"
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    mlflow.set_experiment("pickles")
    with mlflow.start_run(run_name="booby") as run:
        mlflow.sklearn.log_model(_Booby(marker), name="m", registered_model_name="booby",
                                 serialization_format="cloudpickle")
    marker.unlink(missing_ok=True)
    result = _cli("import", "mlflow", uri, "--no-unpickle", store=fresh_store)
    assert result.exit_code == 0, result.output
    assert not marker.exists()  # nothing of the pickle ran
    assert "'booby' version 1 is kept as artifacts under mlflow-models/booby/1/ of its run, not registered: it is " \
        "pickled, and --no-unpickle keeps pickles unopened" in result.output
    files = {a.path for a in nbmlops.get_run(run_id_for(run.info.run_id)).artifacts}
    assert "mlflow-models/booby/1/MLmodel" in files
    with pytest.raises(nbmlops.NotFoundError):
        nbmlops.get_model_version("booby/1")
    trusting = Store(tmp_path / "trusting")  # without the flag the pickle is opened (and so it ran)
    assert _cli("import", "mlflow", uri, store=trusting).exit_code == 0 and marker.exists()
    bundle = _cli("import", "some.tar.gz", "--no-unpickle", store=fresh_store)
    assert bundle.exit_code != 0 and "for MLflow: nbmlops import mlflow URI" in bundle.output
