"""The model registry as a user drives it: versions, safe loading, aliases, gates, audit log."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_diabetes, load_iris
from sklearn.ensemble import RandomForestRegressor
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import nbmlops
from nbmlops.registry.models import check_promotion
from nbmlops.store.folder import Store
from tests.conftest import run_python, spawn_python


@pytest.fixture
def iris_frame() -> tuple[pd.DataFrame, np.ndarray]:
    """Iris features as a DataFrame, and labels."""
    data = load_iris(as_frame=True)
    return data.data, data.target.to_numpy()


def register(model: object, name: str, accuracy: float, **kwargs: object) -> nbmlops.ModelVersion:
    """Log and register `model` in a run of its own with an `accuracy` metric."""
    with nbmlops.start_run(experiment="registry"):
        nbmlops.log_metric("accuracy", accuracy)
        return nbmlops.log_model(model, name, **kwargs)


@pytest.mark.parametrize("kind", ["classifier", "regressor", "pipeline"])
def test_round_trip(fresh_store: Store, kind: str) -> None:
    if kind == "regressor":
        X, y = load_diabetes(return_X_y=True)
        model = RandomForestRegressor(n_estimators=5, random_state=0).fit(X, y)
    else:
        X, y = load_iris(return_X_y=True)
        model = (LogisticRegression(max_iter=1000) if kind == "classifier" else
                 make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))).fit(X, y)
    first = register(model, "m", 0.9)
    second = register(model, "m", 0.95)
    assert (first.version, second.version) == (1, 2)
    assert first.flavor == "sklearn-skops"
    for uri in ("m/1", "m", f"run:{first.run_id}"):
        loaded = nbmlops.load_model(uri)
        assert type(loaded) is type(model)
        np.testing.assert_array_equal(loaded.predict(X[:20]), model.predict(X[:20]))
    assert nbmlops.get_model_version("m").version == 2
    assert nbmlops.get_model_version("m/1").metrics == {"accuracy": 0.9}


def test_signature_from_example_or_training_data(fresh_store: Store, iris_frame: tuple) -> None:
    X, y = iris_frame
    model = LogisticRegression(max_iter=1000).fit(X, y)
    explicit = register(model, "sig", 0.9, input_example=X.head(3))
    assert explicit.signature == {"inputs": [{"name": c, "dtype": "float64"} for c in X.columns]}
    with nbmlops.start_run():
        nbmlops.log_dataset(X, name="X_train", role="train")
        from_data = nbmlops.log_model(model, "sig")
    assert from_data.signature == explicit.signature
    assert nbmlops.get_model_version("sig/2").signature == explicit.signature
    with nbmlops.start_run(), pytest.raises(nbmlops.InvalidInputError, match="signature must look like"):
        nbmlops.log_model(model, "sig", signature={"columns": ["a"]})


def test_tampered_model_file_is_refused(fresh_store: Store, iris_frame: tuple) -> None:
    X, y = iris_frame
    version = register(LogisticRegression(max_iter=1000).fit(X, y), "tamper", 0.9)
    path = fresh_store.artifact_path(version.sha256)
    os.chmod(path, 0o644)
    data = bytearray(path.read_bytes())
    data[-10] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(nbmlops.TamperedArtifactError, match="does not match the hash .* not used"):
        nbmlops.load_model("tamper/1")
    path.unlink()
    with pytest.raises(nbmlops.NotFoundError, match="missing from the store"):
        nbmlops.load_model("tamper/1")


class Custom:
    """A model that is not a scikit-learn estimator."""

    def predict(self, X: object) -> list[int]:
        return [1]


def test_non_sklearn_models_are_pickled_and_need_trust(fresh_store: Store) -> None:
    with pytest.warns(UserWarning, match="stored with pickle"):
        version = register(Custom(), "custom", 0.5)
    assert version.flavor == "pickle"
    with pytest.raises(nbmlops.UntrustedModelError, match="trusted=True"):
        nbmlops.load_model("custom/1")
    assert nbmlops.load_model("custom/1", trusted=True).predict(None) == [1]


def test_promote_with_gates_and_audit_log(fresh_store: Store, iris_frame: tuple) -> None:
    X, y = iris_frame
    model = LogisticRegression(max_iter=1000).fit(X, y)
    for accuracy in (0.90, 0.93, 0.935):
        register(model, "churn", accuracy)
    gate = "metrics.accuracy >= champion.metrics.accuracy + 0.01"
    nbmlops.promote("churn", 1, "production", gate=gate, reason="first model")  # nobody to beat
    nbmlops.promote("churn", 2, "production", gate=gate, reason="better")
    with pytest.raises(nbmlops.GateFailedError, match=r"0\.935.*0\.94") as failed:
        nbmlops.promote("churn", 3, "production", gate=gate, reason="marginal")
    assert "nothing changed" in str(failed.value)
    assert nbmlops.get_model_version("churn@production").version == 2
    nbmlops.promote("churn", 3, "staging", gate="metrics.accuracy > 0.9")
    with pytest.raises(nbmlops.GateFailedError):
        nbmlops.promote("churn", 1, "staging", gate="metrics.accuracy > 0.95")
    nbmlops.unalias("churn", "staging", reason="cleanup")

    log = nbmlops.model_history("churn")
    moves = [(r["alias"], None if pd.isna(r["from_version"]) else int(r["from_version"]),
              None if pd.isna(r["to_version"]) else int(r["to_version"])) for r in log.to_dict("records")]
    assert moves == [("production", None, 1), ("production", 1, 2), ("staging", None, 3), ("staging", 3, None)]
    assert [None if pd.isna(r) else r for r in log["reason"]] == ["first model", "better", None, "cleanup"]
    assert log["gate"].tolist()[:2] == [gate, gate]
    assert "no current holder" in log["gate_outcome"][0] and "passed" in log["gate_outcome"][1]
    run_user = nbmlops.get_run(nbmlops.get_model_version("churn/1").run_id).user
    assert run_user and set(log["user"]) == {run_user}  # runs and the audit log name people one way

    versions = nbmlops.model_versions("churn")
    assert versions["version"].tolist() == [3, 2, 1]
    assert versions.set_index("version").loc[2, "aliases"] == "production"
    assert versions["metrics.accuracy"].tolist() == [0.935, 0.93, 0.90]
    listing = nbmlops.models()
    assert listing.loc[0, "name"] == "churn" and listing.loc[0, "aliases"] == "production=v2"


@pytest.mark.parametrize("call, message", [
    (lambda: nbmlops.promote("nope", 1), "no registered model 'nope'"),
    (lambda: nbmlops.promote("churn", 9), "has versions 1 to 1, not 9"),
    (lambda: nbmlops.promote("churn", 0), "positive integer"),
    (lambda: nbmlops.promote("churn", 1, "bad alias!"), "must start with a letter"),
    (lambda: nbmlops.promote("churn", 1, gate="metrics.accuracy >"), "bad gate at column"),
    (lambda: nbmlops.load_model("churn@production"), "has no alias 'production'"),
    (lambda: nbmlops.load_model("churn/x"), "must be a number"),
    (lambda: nbmlops.load_model("a@b@c"), "alias"),
    (lambda: nbmlops.unalias("churn", "ghost"), "has no alias 'ghost'"),
])
def test_bad_registry_calls(fresh_store: Store, iris_frame: tuple, call: object, message: str) -> None:
    X, y = iris_frame
    register(LogisticRegression(max_iter=1000).fit(X, y), "churn", 0.9)
    with pytest.raises(nbmlops.NbmlopsError, match=message):
        call()  # type: ignore[operator]
    assert nbmlops.model_history("churn").empty


PROMOTER = """
import sys, time, nbmlops
start = float(sys.argv[2])
time.sleep(max(0, start - time.time()))
nbmlops.promote("race", int(sys.argv[1]), "production", reason=f"process {sys.argv[1]}")
print("done")
"""

REGISTRAR = """
import sys, time, nbmlops
from sklearn.linear_model import LogisticRegression
from sklearn.datasets import load_iris
X, y = load_iris(return_X_y=True)
model = LogisticRegression(max_iter=500).fit(X, y)
start = float(sys.argv[1])
time.sleep(max(0, start - time.time()))
with nbmlops.start_run():
    print(nbmlops.log_model(model, "race").version)
"""


def test_concurrent_registration_and_promotion_from_two_processes(fresh_store: Store) -> None:
    import time

    start = str(time.time() + 4)
    registrars = [spawn_python(REGISTRAR, fresh_store, start) for _ in range(2)]
    versions = sorted(int(p.communicate(timeout=120)[0].strip()) for p in registrars)
    assert versions == [1, 2]

    start = str(time.time() + 3)
    promoters = [spawn_python(PROMOTER, fresh_store, str(v), start) for v in (1, 2)]
    for proc in promoters:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0 and out.strip() == "done", err
    log = nbmlops.model_history("race")
    assert len(log) == 2
    first, second = log.to_dict("records")
    assert pd.isna(first["from_version"]) and second["from_version"] == first["to_version"]
    holder = nbmlops.get_model_version("race@production")
    assert holder.version == second["to_version"] and holder.version in (1, 2)


def test_registration_from_another_process(fresh_store: Store) -> None:
    code = """
import nbmlops
from sklearn.linear_model import LogisticRegression
from sklearn.datasets import load_iris
X, y = load_iris(return_X_y=True)
with nbmlops.start_run():
    v = nbmlops.log_model(LogisticRegression(max_iter=500).fit(X, y), "from-script")
print(v.version, v.uri)
"""
    assert run_python(code, fresh_store).stdout.split() == ["1", "from-script/1"]
    assert nbmlops.models()["name"].tolist() == ["from-script"]
    assert nbmlops.get_model_version("from-script").signature is None  # no example, no train data


def test_registry_cli(fresh_store: Store, iris_frame: tuple) -> None:
    import subprocess
    import sys

    X, y = iris_frame
    model = LogisticRegression(max_iter=1000).fit(X, y)
    register(model, "cli-model", 0.9)
    register(model, "cli-model", 0.8)
    env = {**os.environ, "NBMLOPS_STORE": str(fresh_store.root)}

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "nbmlops.cli", *args], env=env, capture_output=True,
                              text=True, timeout=60)

    ok = cli("promote", "cli-model", "1", "production", "--reason", "first")
    assert ok.returncode == 0 and "cli-model@production -> version 1" in ok.stdout
    blocked = cli("promote", "cli-model", "2", "production", "--gate",
                  "metrics.accuracy >= champion.metrics.accuracy")
    assert blocked.returncode == 1 and "gate failed" in blocked.stderr and "0.8" in blocked.stderr
    assert blocked.stderr.count("\n") == 1
    assert "cli-model" in cli("models").stdout
    versions = cli("model", "cli-model", "--format", "csv").stdout.splitlines()
    assert versions[0].startswith("version,run_id") and len(versions) == 3
    history = cli("history", "cli-model", "--format", "json").stdout
    assert '"reason":"first"' in history and '"to_version":1' in history
    assert cli("unalias", "cli-model", "production").returncode == 0
    missing = cli("model", "ghost")
    assert missing.returncode == 1 and "no registered model 'ghost'" in missing.stderr


def test_gates_read_a_versions_run_attributes_as_a_where_filter_does(fresh_store: Store, iris_frame: tuple) -> None:
    X, y = iris_frame
    model = LogisticRegression(max_iter=1000).fit(X, y)
    with nbmlops.start_run(experiment="registry", name="first-owl"):
        nbmlops.log_param("solver", "lbfgs")
        nbmlops.log_model(model, "churn")
    nbmlops.promote("churn", 1, "production")
    with nbmlops.start_run(experiment="registry", name="second-fox") as run:
        nbmlops.log_param("solver", "saga")
        nbmlops.log_model(model, "churn")
        holder, result = check_promotion(fresh_store, "churn", 2, gate=(
            "status = 'running' and end_time is null and duration >= 0 and name like '%-fox' "
            "and start_time >= champion.end_time and champion.status like 'FIN%' and name != champion.name"))
        assert holder == 1 and result is not None and result.passed, result.explanation if result else None
    with pytest.raises(nbmlops.GateFailedError, match="params.solver 'saga' like 'lb%': failed"):
        nbmlops.promote("churn", 2, gate="params.solver like 'lb%' or experiment != 'registry'")
    # Where a filter and a gate say the same thing, they pick the same versions' runs.
    for text in ("status = 'finished' and name like 'first%'",
                 "end_time > '2000-01-01' and params.solver not like 's%'", "duration < 0 or user is null",
                 "start_time < '2000-01-01'", f"run_id = '{run.run_id}'"):
        picked = set(nbmlops.runs("registry", where=text)["run_id"])
        passed = {v.run_id for v in (nbmlops.get_model_version(f"churn/{n}") for n in (1, 2))
                  if check_promotion(fresh_store, "churn", v.version, gate=text)[1].passed}  # type: ignore[union-attr]
        assert picked == passed, text
