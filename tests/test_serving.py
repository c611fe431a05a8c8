"""Serving and exporting registered models, as a client and a user see them: real HTTP, real files."""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import numpy as np
import pandas as pd
import pytest
import sklearn
from click.testing import CliRunner
from sklearn.compose import ColumnTransformer
from sklearn.dummy import DummyClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

import nbmlops
from nbmlops.cli import main
from nbmlops.errors import ExportError
from nbmlops.registry.export import export_model, requirements_for
from nbmlops.registry.serving import ModelServer
from nbmlops.store.folder import Store
from nbmlops.tracking import tracker as tracking

_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never via an http_proxy


def call(url: str, method: str = "GET", body: Any = None, *, data: bytes | None = None,
         content_type: str = "application/json", headers: dict[str, str] | None = None) -> tuple[int, Any]:
    """Send one request; the status and the decoded JSON answer (errors included)."""
    if body is not None:
        data = json.dumps(body).encode()
    sent = {"Content-Type": content_type} if data is not None else {}
    # http URLs of the server this test started
    request = urllib.request.Request(url, data=data, method=method, headers={**sent, **(headers or {})})  # noqa: S310
    try:
        with _opener.open(request, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


@pytest.fixture
def customers() -> tuple[pd.DataFrame, np.ndarray]:
    """Features with int64, float64, bool and str columns, and 0/1 labels."""
    rng = np.random.default_rng(0)
    n = 200
    X = pd.DataFrame({"age": rng.integers(18, 80, n), "income": rng.normal(50, 10, n),
                      "member": rng.random(n) > 0.5, "city": rng.choice(["lyon", "oslo", "kyiv"], n)})
    return X, ((X["age"] > 40) ^ X["member"]).astype(int).to_numpy()


def fit(X: pd.DataFrame, y: np.ndarray, final: object) -> object:
    """A pipeline that one-hot encodes the city and scales the rest, ending in `final`."""
    encode = ColumnTransformer([("city", OneHotEncoder(handle_unknown="ignore"), ["city"])],
                               remainder=StandardScaler())
    return make_pipeline(encode, final).fit(X, y)


def register(model: object, X: pd.DataFrame) -> nbmlops.ModelVersion:
    """Log and register `model` as the next version of `churn` through the public API."""
    with nbmlops.start_run(experiment="serving"):
        nbmlops.log_metric("accuracy", 0.9)
        version = nbmlops.log_model(model, "churn", input_example=X.head())
    tracking.tracker().wait_for_provenance()  # the run's environment.json, for the export tests
    return version


@pytest.fixture
def champion(fresh_store: Store, customers: tuple) -> object:
    """churn v1 (a logistic regression) registered and promoted to production."""
    X, y = customers
    model = fit(X, y, LogisticRegression())
    register(model, X)
    nbmlops.promote("churn", 1, "production")
    return model


@pytest.fixture
def server(fresh_store: Store, champion: object) -> Iterator[ModelServer]:
    """A running in-process server for churn@production on a free port."""
    with ModelServer(fresh_store, "churn@production") as running:
        yield running


def reload(server: ModelServer) -> tuple[int, Any]:
    """POST /reload as its owner does: JSON, with the server's token."""
    return call(f"{server.url}/reload", "POST", {}, headers={"Authorization": f"Bearer {server.reload_token}"})


def records(X: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as JSON-ready records."""
    return json.loads(X.to_json(orient="records"))


def test_health_and_signature(server: ModelServer) -> None:
    status, health = call(f"{server.url}/health")
    assert status == 200
    assert health["status"] == "ok" and health["model"] == "churn" and health["version"] == 1
    assert health["uri"] == "churn@production" and health["flavor"] == "sklearn-skops"
    assert health["class"] == "sklearn.pipeline.Pipeline" and health["loaded_at"]
    assert call(f"{server.url}/signature") == (200, {"inputs": [
        {"name": "age", "dtype": "int64"}, {"name": "income", "dtype": "float64"},
        {"name": "member", "dtype": "bool"}, {"name": "city", "dtype": "str"}]})


def test_predictions_in_every_body_form_equal_the_model(server: ModelServer, champion: Any,
                                                        customers: tuple) -> None:
    X = customers[0].head(25)
    expected = champion.predict(X).tolist()
    shuffled = [dict(reversed(list(r.items()))) for r in records(X)]  # order follows the signature
    forms = [records(X), {"records": shuffled},
             {"columns": list(X.columns), "data": X.astype(object).to_numpy().tolist()}]
    for body in forms:
        status, answer = call(f"{server.url}/predict", "POST", body)
        assert status == 200, answer
        assert answer["predictions"] == expected and (answer["model"], answer["version"]) == ("churn", 1)
        np.testing.assert_allclose(answer["probabilities"], champion.predict_proba(X))
        assert answer["classes"] == [0, 1]
    one = {**records(X)[0], "income": 50}  # a JSON integer is a fine float64
    assert call(f"{server.url}/predict", "POST", [one])[0] == 200


@pytest.mark.parametrize("change, message", [
    (lambda r: r.pop("age"), "missing column 'age'"),
    (lambda r: r.update(zip="69001"), "unexpected column 'zip' (the model takes: age, income, member, city)"),
    (lambda r: r.update(income="high"), "column 'income', row 0: expected float64 (a JSON number), got string 'high'"),
    (lambda r: r.update(age=None), "column 'age', row 0: expected int64 (a JSON integer), got null"),
    (lambda r: r.update(age=41.5), "column 'age', row 0: expected int64 (a JSON integer), got number 41.5"),
    (lambda r: r.update(age=True), "column 'age', row 0: expected int64 (a JSON integer), got true"),
    (lambda r: r.update(member=1), "column 'member', row 0: expected bool (true or false), got number 1"),
    (lambda r: r.update(city=7), "column 'city', row 0: expected str (a string, or null), got number 7"),
])
def test_bad_records_are_refused_before_predicting(server: ModelServer, customers: tuple,
                                                   change: Any, message: str) -> None:
    row = records(customers[0].head(1))[0]
    change(row)
    assert call(f"{server.url}/predict", "POST", [row]) == (400, {"error": message, "status": 400})


def test_the_bad_row_is_named(server: ModelServer, customers: tuple) -> None:
    rows = records(customers[0].head(5))
    rows[3]["income"] = "n/a"
    status, answer = call(f"{server.url}/predict", "POST", {"records": rows})
    assert status == 400 and answer["error"].startswith("column 'income', row 3: expected float64")
    del rows[2]["city"]
    assert call(f"{server.url}/predict", "POST", rows)[1]["error"] == "missing column 'city' in row 2"


def test_http_errors_are_json_with_their_status(server: ModelServer) -> None:
    url = server.url
    status, answer = call(f"{url}/predict", "POST", data=b"[{'age': 3}")
    assert status == 400 and answer["status"] == 400 and answer["error"].startswith("the body is not valid JSON")
    assert call(f"{url}/predict", "POST", data=b'[{"age": NaN}]')[0] == 400
    assert call(f"{url}/predict", "POST", data=b"age=3", content_type="text/plain")[0] == 415
    assert call(f"{url}/predict", "POST", {"rows": []})[0] == 400
    assert call(f"{url}/predict", "POST", [])[0] == 400
    status, answer = call(f"{url}/nope")
    assert status == 404 and answer["status"] == 404 and "POST /predict" in answer["error"]
    assert call(f"{url}/predict") == (405, {"error": "GET /predict is not allowed: use POST /predict",
                                           "status": 405})
    assert call(f"{url}/health", "DELETE")[0] == 405
    huge = b"[" + b'{"age": 1},' * (11 * 1024 * 1024 // 11) + b'{"age": 1}]'
    status, answer = call(f"{url}/predict", "POST", data=huge)
    assert status == 413 and "limit" in answer["error"]
    assert call(f"{url}/health")[0] == 200  # and it still serves


def test_reload_follows_the_alias_and_keeps_serving_on_failure(server: ModelServer, fresh_store: Store,
                                                               customers: tuple) -> None:
    X, y = customers
    challenger = fit(X, y, DummyClassifier(strategy="constant", constant=1))
    register(challenger, X)
    nbmlops.promote("churn", 2, "production")
    assert call(f"{server.url}/health")[1]["version"] == 1  # nothing changes until a reload
    status, health = reload(server)
    assert status == 200 and health["version"] == 2
    assert call(f"{server.url}/health")[1]["version"] == 2
    status, answer = call(f"{server.url}/predict", "POST", records(X.head(20)))
    assert answer["version"] == 2 and answer["predictions"] == challenger.predict(X.head(20)).tolist() == [1] * 20

    nbmlops.unalias("churn", "production")
    status, answer = reload(server)
    assert status == 409
    assert answer["error"].startswith("reload failed, still serving churn v2: model 'churn' has no alias")
    assert call(f"{server.url}/health")[1]["version"] == 2
    assert call(f"{server.url}/predict", "POST", records(X.head(3)))[1]["predictions"] == [1, 1, 1]


def test_reload_refuses_a_tampered_file(server: ModelServer, fresh_store: Store, customers: tuple) -> None:
    X, y = customers
    tampered = register(fit(X, y, LogisticRegression(C=0.01)), X)
    path = fresh_store.artifact_path(tampered.sha256)
    os.chmod(path, 0o644)
    data = bytearray(path.read_bytes())
    data[-10] ^= 0xFF
    path.write_bytes(bytes(data))
    nbmlops.promote("churn", 2, "production")
    status, answer = reload(server)
    assert status == 409 and "does not match the hash" in answer["error"]
    assert call(f"{server.url}/health")[1]["version"] == 1


def test_reload_needs_the_token_and_json(server: ModelServer, customers: tuple) -> None:
    X, y = customers
    register(fit(X, y, DummyClassifier(strategy="constant", constant=1)), X)
    nbmlops.promote("churn", 2, "production")
    url, token = f"{server.url}/reload", server.reload_token
    assert token and len(token) >= 24
    # What a web page can send cross-site without asking: a simple POST, text/plain or a form.
    for content_type in ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"):
        status, answer = call(url, "POST", data=b"{}", content_type=content_type)
        assert (status, answer["status"]) == (401, 401) and "reload token" in answer["error"]
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"X-Nbmlops-Token": token[:-1]},
                    {"Authorization": f"Basic {token}"}):
        assert call(url, "POST", {}, headers=headers)[0] == 401
    status, answer = call(url, "POST", data=b"{}", content_type="text/plain", headers={"X-Nbmlops-Token": token})
    assert (status, answer["status"]) == (415, 415)
    assert call(f"{server.url}/health")[1]["version"] == 1  # none of these reloaded
    status, health = call(url, "POST", {}, headers={"X-Nbmlops-Token": token})
    assert status == 200 and health["version"] == 2
    # /predict is JSON only too.
    status, answer = call(f"{server.url}/predict", "POST", data=json.dumps(records(X.head(1))).encode(),
                          content_type="text/plain")
    assert (status, answer["status"]) == (415, 415)


def test_allow_reload_still_takes_json_only(fresh_store: Store, champion: Any) -> None:
    with ModelServer(fresh_store, "churn@production", allow_reload=True) as open_server:
        assert open_server.reload_token is None
        url = f"{open_server.url}/reload"
        assert call(url, "POST", data=b"{}", content_type="text/plain")[0] == 415
        assert call(url, "POST", data=b"a=1", content_type="application/x-www-form-urlencoded")[0] == 415
        status, health = call(url, "POST", {})
        assert status == 200 and health["version"] == 1


def test_requests_during_reloads_get_one_consistent_model(server: ModelServer, champion: Any,
                                                          customers: tuple) -> None:
    X, y = customers
    register(fit(X, y, DummyClassifier(strategy="constant", constant=1)), X)
    rows = records(X.head(30))
    expected = {1: champion.predict(X.head(30)).tolist(), 2: [1] * 30}
    answers: list[dict[str, Any]] = []

    def client() -> None:
        for _ in range(15):
            answers.append(call(f"{server.url}/predict", "POST", rows)[1])

    clients = [threading.Thread(target=client) for _ in range(4)]
    for t in clients:
        t.start()
    for version in (2, 1, 2, 1):
        nbmlops.promote("churn", version, "production")
        assert reload(server)[1]["version"] == version
    for t in clients:
        t.join()
    assert len(answers) == 60
    assert all(a["predictions"] == expected[a["version"]] for a in answers)


def test_cli_serve_reloads_on_sighup_and_stops_cleanly(fresh_store: Store, champion: Any,
                                                       customers: tuple) -> None:
    fresh_store.release()
    env = {**os.environ, "NBMLOPS_STORE": str(fresh_store.root)}
    proc = subprocess.Popen([sys.executable, "-m", "nbmlops.cli", "serve", "churn@production", "--port", "0"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        first = proc.stdout.readline()  # type: ignore[union-attr]
        match = re.fullmatch(r"Serving churn v1 \(churn@production\) on (http://127\.0\.0\.1:\d+)\n", first)
        assert match, (first, proc.poll(), proc.stderr.read() if proc.poll() is not None else "")  # type: ignore[union-attr]
        url = match.group(1)
        token_line = proc.stdout.readline()  # type: ignore[union-attr]
        token = re.fullmatch(r"Reload token: (\S+) \(POST /reload with 'Authorization: Bearer TOKEN', or SIGHUP\)\n",
                             token_line)
        assert token, token_line
        assert call(f"{url}/reload", "POST", {})[0] == 401
        assert call(f"{url}/health")[1]["version"] == 1
        X, y = customers
        register(fit(X, y, DummyClassifier(strategy="constant", constant=1)), X)
        nbmlops.promote("churn", 2, "production")
        fresh_store.release()
        proc.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 60
        while call(f"{url}/health")[1]["version"] != 2:
            assert time.monotonic() < deadline, "SIGHUP did not reload"
            time.sleep(0.1)
        assert call(f"{url}/predict", "POST", records(X.head(2)))[1]["predictions"] == [1, 1]
        proc.terminate()
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err
    assert "Reloaded: serving churn v2 (churn@production)" in out
    assert out.rstrip().endswith("Stopped serving churn@production.")
    assert "Traceback" not in err


def test_cli_serve_unknown_alias_is_one_line(fresh_store: Store, champion: Any) -> None:
    result = CliRunner().invoke(main, ["--store", str(fresh_store.root), "serve", "churn@staging", "--port", "0"])
    assert result.exit_code == 1
    assert result.output.strip() == "Error: model 'churn' has no alias 'staging'; its aliases: production"


# -- one event loop: malformed requests, chunked bodies, a slow prediction among other requests ---------
_PREDICTING, _RELEASE = threading.Event(), threading.Event()


class BlockingModel:
    """A model whose predictions wait until the test releases them (pickled: load it trusted)."""

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        _PREDICTING.set()
        _RELEASE.wait(60)
        return np.zeros(len(X), dtype=int)


@pytest.fixture
def blocking_server(fresh_store: Store, customers: tuple) -> Iterator[ModelServer]:
    """A server for `slow/1`, a BlockingModel, with its predictions held until _RELEASE is set."""
    _PREDICTING.clear()
    _RELEASE.clear()
    with nbmlops.start_run(experiment="serving"), pytest.warns(UserWarning, match="pickle"):
        nbmlops.log_model(BlockingModel(), "slow", input_example=customers[0].head())
    running = ModelServer(fresh_store, "slow/1", trusted=True).start()
    try:
        yield running
    finally:
        _RELEASE.set()
        running.shutdown()


def held_prediction(server: ModelServer, rows: list[dict[str, Any]]) -> tuple[threading.Thread, list[Any]]:
    """POST /predict from another thread; returns once the model is predicting, held until _RELEASE."""
    answers: list[tuple[int, Any]] = []
    client = threading.Thread(target=lambda: answers.append(call(f"{server.url}/predict", "POST", rows)))
    client.start()
    assert _PREDICTING.wait(60)
    return client, answers


def raw(url: str, data: bytes) -> bytes:
    """Send `data` as is over one connection; everything the server answers until it closes."""
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=60) as conn:
        conn.sendall(data)
        answer = b""
        while chunk := conn.recv(1 << 16):
            answer += chunk
    return answer


def post_chunked(url: str, data: bytes) -> tuple[int, Any]:
    """POST `data` to /predict with Transfer-Encoding: chunked, in pieces of 100 bytes."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    try:
        conn.request("POST", "/predict", body=iter([data[i:i + 100] for i in range(0, len(data), 100)]),
                     headers={"Content-Type": "application/json"}, encode_chunked=True)
        response = conn.getresponse()
        return response.status, json.loads(response.read())
    finally:
        conn.close()


def refused(url: str) -> bool:
    """True when nothing listens at `url` any more (a connection the kernel took into the backlog just
    before the listening socket closed is reset rather than refused: that is a stopped server too)."""
    try:
        call(url)
    except (urllib.error.URLError, ConnectionError):
        return True
    return False


def test_a_malformed_request_gets_400_and_the_server_serves_on(server: ModelServer) -> None:
    assert raw(server.url, b"NOT A REQUEST\r\n\r\n").startswith(b"HTTP/1.1 400 ")
    assert raw(server.url, b"POST /predict HTTP/1.1\r\nContent-Length: ten\r\n\r\n").startswith(b"HTTP/1.1 400 ")
    assert call(f"{server.url}/health")[0] == 200


def test_chunked_bodies_are_predicted_and_held_to_the_limit(fresh_store: Store, champion: Any,
                                                           customers: tuple) -> None:
    X = customers[0].head(5)
    body = json.dumps(records(X)).encode()
    with ModelServer(fresh_store, "churn@production", max_body=len(body)) as small:
        status, answer = post_chunked(small.url, body)
        assert status == 200 and answer["predictions"] == champion.predict(X).tolist()
        padded = body + b" " * 1000  # still valid JSON, but over the limit
        assert post_chunked(small.url, padded) == (413, {
            "error": f"the body has {len(padded)} bytes, over the limit of {len(body)}: send fewer records per request",
            "status": 413})
        assert call(f"{small.url}/health")[0] == 200


def test_other_requests_are_answered_while_a_prediction_runs(blocking_server: ModelServer,
                                                            customers: tuple) -> None:
    url = blocking_server.url
    client, answers = held_prediction(blocking_server, records(customers[0].head(3)))
    assert call(f"{url}/health")[1]["model"] == "slow"
    assert call(f"{url}/predict", "GET")[0] == 405
    assert not answers  # the first prediction is still waiting
    _RELEASE.set()
    client.join(60)
    assert answers == [(200, {"predictions": [0, 0, 0], "model": "slow", "version": 1})]


def test_a_prediction_under_way_is_answered_before_the_server_stops(blocking_server: ModelServer,
                                                                   customers: tuple) -> None:
    url = blocking_server.url
    client, answers = held_prediction(blocking_server, records(customers[0].head(2)))
    stopping = threading.Thread(target=blocking_server.shutdown)
    stopping.start()
    deadline = time.monotonic() + 60
    while not refused(f"{url}/health"):  # stopped listening, and still owes the first answer
        assert time.monotonic() < deadline, "the server did not stop listening"
        time.sleep(0.05)
    _RELEASE.set()
    stopping.join(60)
    client.join(60)
    assert answers == [(200, {"predictions": [0, 0], "model": "slow", "version": 1})]


# -- export --------------------------------------------------------------------------------------
def test_export_is_self_contained_and_loads_with_plain_skops(fresh_store: Store, champion: Any,
                                                             customers: tuple, tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["--store", str(fresh_store.root), "export-model", "churn@production",
                                       str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    folder = Path(result.output.strip())
    assert folder == tmp_path / "out"
    assert sorted(p.name for p in folder.iterdir()) == ["README.md", "model.json", "model.skops",
                                                        "requirements.txt", "signature.json"]
    version = nbmlops.get_model_version("churn@production")
    described = json.loads((folder / "model.json").read_text())
    assert described["sha256"] == version.sha256 == hashlib.sha256((folder / "model.skops").read_bytes()).hexdigest()
    assert (described["name"], described["version"], described["run_id"]) == ("churn", 1, version.run_id)
    assert described["aliases"] == ["production"] and described["metrics"] == {"accuracy": 0.9}
    assert json.loads((folder / "signature.json").read_text()) == version.signature
    requirements = (folder / "requirements.txt").read_text().splitlines()
    assert requirements[0].startswith("# What churn v1 was trained with, from its run's provenance/environment.json")
    for dist, module in (("scikit-learn", sklearn), ("numpy", np), ("pandas", pd)):
        assert f"{dist}=={module.__version__}" in requirements
    assert any(line.startswith("skops==") for line in requirements)
    assert all(line.startswith("#") or "==" in line for line in requirements)

    readme = (folder / "README.md").read_text()
    assert "| `age` | `int64` |" in readme and "| `city` | `str` |" in readme
    block = re.search(r"## Load it without nbmlops\n\n```python\n(.*?)```", readme, re.S).group(1)
    check = block + ("import json, sys\nimport pandas as pd\nassert 'nbmlops' not in sys.modules\n"
                     "X = pd.DataFrame(json.loads(sys.stdin.read()))\n"
                     "print('PREDICTIONS', json.dumps(model.predict(X).tolist()))\n")
    X = customers[0].head(20)
    done = subprocess.run([sys.executable, "-c", check], cwd=folder, input=X.to_json(orient="records"),
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.split("PREDICTIONS", 1)[1]) == champion.predict(X).tolist()


def test_export_refuses_a_non_empty_or_linked_folder(fresh_store: Store, champion: Any, tmp_path: Path) -> None:
    full = tmp_path / "full"
    full.mkdir()
    (full / "notes.txt").write_text("mine")
    with pytest.raises(ExportError, match="is not empty: export into a new or empty folder"):
        export_model(fresh_store, "churn/1", full)
    assert [p.name for p in full.iterdir()] == ["notes.txt"]
    result = CliRunner().invoke(main, ["--store", str(fresh_store.root), "export-model", "churn", str(full)])
    assert result.exit_code == 1 and result.output.count("\n") == 1 and "is not empty" in result.output
    link = tmp_path / "link"
    (tmp_path / "elsewhere").mkdir()
    link.symlink_to(tmp_path / "elsewhere")
    with pytest.raises(ExportError, match="symbolic link"):
        export_model(fresh_store, "churn/1", link)
    empty = tmp_path / "empty"
    empty.mkdir()
    assert (export_model(fresh_store, "churn", empty) / "model.skops").is_file()
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".partial")]


def test_requirements_without_a_recorded_environment_use_installed_versions(fresh_store: Store,
                                                                           champion: Any) -> None:
    text, from_run = requirements_for(nbmlops.get_model_version("churn/1"), None)
    assert not from_run and "recorded no environment" in text.splitlines()[0]
    assert f"scikit-learn=={sklearn.__version__}" in text.splitlines()
