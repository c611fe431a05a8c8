"""The REST API as the JupyterLab panel uses it: a real Jupyter server, a real store, real requests."""

from __future__ import annotations

import asyncio
import json
import os
import re
import urllib.parse
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import tomllib
import yaml
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression
from tornado.httpclient import HTTPResponse
from traitlets.config import Config

import nbmlops
from nbmlops.server import handlers, methods, route_regex
from nbmlops.server.downsample import downsample
from nbmlops.store.folder import Store
from tests.conftest import ROOT, run_python

pytest_plugins = ["pytest_jupyter.jupyter_server"]

Fetch = Callable[..., Awaitable[HTTPResponse]]
NAN, INF = float("nan"), float("inf")
SPEC = yaml.safe_load((Path(handlers.__file__).parent / "openapi.yaml").read_text())
SPEC_URI = "urn:nbmlops-openapi"


def as_json_schema(node: Any) -> Any:
    """An OpenAPI 3.0 schema as JSON Schema: `nullable` becomes a null alternative."""
    if isinstance(node, list):
        return [as_json_schema(v) for v in node]
    if not isinstance(node, dict):
        return node
    out = {k: as_json_schema(v) for k, v in node.items() if k not in ("nullable", "example")}
    if isinstance(out.get("$ref"), str):
        out["$ref"] = SPEC_URI + out["$ref"]
    return {"anyOf": [out, {"type": "null"}]} if node.get("nullable") is True else out


SCHEMAS = Registry().with_resource(SPEC_URI, Resource.from_contents(as_json_schema(SPEC),
                                                                    default_specification=DRAFT202012))


def resolve(node: dict[str, Any]) -> dict[str, Any]:
    """Follow a local $ref in the OpenAPI description."""
    while "$ref" in node:
        target: Any = SPEC
        for part in node["$ref"].lstrip("#/").split("/"):
            target = target[part]
        node = target
    return node


def check_against_openapi(response: HTTPResponse, base_url: str) -> HTTPResponse:
    """Fail unless the response's status is documented and its JSON body matches the schema."""
    path = urllib.parse.urlsplit(response.effective_url).path[len(base_url):]
    path = path[len(handlers.API_PREFIX) + 1:]
    [(template, method)] = [(t, response.request.method.lower()) for t, _ in handlers.ROUTES
                            if re.fullmatch(route_regex(t), path)]
    documented = SPEC["paths"][f"/{handlers.API_PREFIX}/{template}"][method]["responses"]
    answer = resolve(documented.get(str(response.code)) or documented["default"])
    schema = answer.get("content", {}).get("application/json", {}).get("schema")
    if schema is not None and response.body:
        Draft202012Validator(as_json_schema(schema), registry=SCHEMAS).validate(strict_json(response))
    return response


def strict_json(response: HTTPResponse) -> Any:
    """The body as JSON, refusing the NaN/Infinity tokens that browsers cannot parse."""
    def refuse(token: str) -> None:
        raise AssertionError(f"invalid JSON token {token}")
    return json.loads(response.body, parse_constant=refuse)


def extension_config(store: str | None = None) -> Config:
    """Server config enabling nbmlops, with `store` as NbmlopsServer.store when given."""
    config: dict[str, Any] = {"ServerApp": {"jpserver_extensions": {"nbmlops.server": True}}}
    if store is not None:
        config["NbmlopsServer"] = {"store": store}
    return Config(config)


@pytest.fixture
def jp_server_config(fresh_store: Store) -> Config:
    """A Jupyter server serving the test's store."""
    return extension_config(str(fresh_store.root))


@pytest.fixture
def api(jp_fetch: Fetch, jp_base_url: str) -> Fetch:
    """GET (or any method) /nbmlops/api/...; errors come back as responses, checked against the OpenAPI."""
    async def call(*parts: str, **kwargs: Any) -> HTTPResponse:
        response = await jp_fetch("nbmlops", "api", *parts, raise_error=False, **kwargs)
        return check_against_openapi(response, jp_base_url)
    return call


@pytest.fixture
def raw(http_server_client: Any, jp_base_url: str, jp_auth_header: dict[str, str]) -> Fetch:
    """A request for an exact, already-encoded path under the API, with the token unless auth=False."""
    async def call(path: str, auth: bool = True, **kwargs: Any) -> HTTPResponse:
        headers = dict(jp_auth_header) if auth else {}
        response = await http_server_client.fetch(f"{jp_base_url}nbmlops/api/{path}", headers=headers,
                                                  raise_error=False, **kwargs)
        return check_against_openapi(response, jp_base_url)
    return call


@pytest.fixture
def tracked(fresh_store: Store, tmp_path: Path) -> dict[str, str]:
    """Three runs in two experiments (one failed), artifacts, a dataset and two model versions."""
    X, y = load_iris(return_X_y=True, as_frame=True)
    (tmp_path / "confusion.txt").write_text("tp fp\nfn tn\n")
    (tmp_path / "plots" / "sub").mkdir(parents=True)
    (tmp_path / "plots" / "sub" / "curve.csv").write_text("a,b\n1,2\n")
    clf = LogisticRegression(max_iter=500).fit(X, y)
    ids = {}
    with nbmlops.start_run(experiment="churn", name="baseline", tags={"team": "risk"}) as run:
        nbmlops.log_params({"C": 0.1, "solver": "lbfgs", "layers": [64, 32], "lr": NAN})
        for step in range(50):
            nbmlops.log_metric("loss", 1 / (step + 1))
        nbmlops.log_metric("train/loss", 0.5)
        nbmlops.log_metric("train/loss", 0.25)
        nbmlops.log_metrics({"accuracy": 0.93, "diverged": NAN, "ratio": INF, "floor": -INF})
        nbmlops.log_artifact(tmp_path / "confusion.txt")
        nbmlops.log_artifact(tmp_path / "plots")
        nbmlops.log_dataset(X, name="iris", role="train")
        nbmlops.log_model(clf, "churn", input_example=X.head())
        ids["baseline"] = run.run_id
    with nbmlops.start_run(experiment="churn", name="weaker") as run:
        nbmlops.log_params({"C": 1.0, "solver": "saga"})
        nbmlops.log_metric("accuracy", 0.80)
        nbmlops.log_model(clf, "churn")
        ids["weaker"] = run.run_id
    with pytest.raises(ZeroDivisionError), nbmlops.start_run(experiment="other", name="broken") as run:
        ids["broken"] = run.run_id
        1 / 0  # noqa: B018
    return ids


# -- reading ----------------------------------------------------------------------------------
async def test_experiments(api: Fetch, tracked: dict[str, str]) -> None:
    body = strict_json(await api("experiments"))
    by_name = {e["name"]: e for e in body["experiments"]}
    assert set(by_name) == {"churn", "other"}
    assert (by_name["churn"]["runs"], by_name["churn"]["running"]) == (2, 0)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", by_name["other"]["last_activity"])


async def test_runs_page_filter_order_and_columns(api: Fetch, raw: Fetch, tracked: dict[str, str]) -> None:
    everything = strict_json(await api("runs"))
    assert (everything["total"], everything["limit"], everything["offset"]) == (3, 100, 0)
    assert [r["name"] for r in everything["runs"]] == ["broken", "weaker", "baseline"]  # newest first
    page = strict_json(await api("runs", params={"where": "metrics.accuracy > 0.5", "order_by": "metrics.accuracy desc",
                                                 "limit": 1, "offset": 1}))
    assert (page["total"], [r["name"] for r in page["runs"]]) == (2, ["weaker"])
    run = page["runs"][0]
    assert run["params"] == {"C": 1.0, "solver": "saga"} and run["metrics"] == {"accuracy": 0.8}
    assert run["status"] == "FINISHED" and run["start_time"].endswith("Z")
    both = strict_json(await raw("runs?experiment=churn&experiment=other&limit=0"))
    assert (both["total"], both["runs"]) == (3, [])
    only = strict_json(await api("runs", params={"experiment": "other", "columns": "name,status,metrics.accuracy"}))
    assert only["runs"] == [{"run_id": tracked["broken"], "name": "broken", "status": "FAILED"}]
    picked = strict_json(await api("runs", params={"where": "name = 'baseline'",
                                                   "columns": "params.*,metrics.accuracy"}))
    assert picked["runs"][0]["metrics"] == {"accuracy": 0.93}
    assert picked["runs"][0]["params"]["layers"] == [64, 32]


async def test_non_finite_numbers_are_strings_in_valid_json(api: Fetch, tracked: dict[str, str]) -> None:
    listed = strict_json(await api("runs", params={"where": "name = 'baseline'"}))["runs"][0]
    detail = strict_json(await api("runs", tracked["baseline"]))
    for run in (listed, detail):
        assert {k: run["metrics"][k] for k in ("diverged", "ratio", "floor")} == {
            "diverged": "NaN", "ratio": "Infinity", "floor": "-Infinity"}
        assert run["params"]["lr"] == "NaN"
    weaker = strict_json(await api("runs", params={"where": "name = 'weaker'"}))["runs"][0]
    assert "diverged" not in weaker["metrics"] and "lr" not in weaker["params"]  # missing is absent, not NaN


async def test_bad_input_is_400_with_the_message(api: Fetch, tracked: dict[str, str]) -> None:
    response = await api("runs", params={"where": "metrics.accuracy > "})
    body = strict_json(response)
    assert response.code == 400 and body["status"] == 400
    assert "column" in body["error"] and isinstance(body["position"], int)
    for params in ({"order_by": "metrics.accuracy sideways"}, {"limit": "abc"}, {"limit": 10_001},
                   {"offset": -1}, {"columns": "password"}):
        response = await api("runs", params=params)
        assert (response.code, strict_json(response)["status"]) == (400, 400), params


async def test_keys_for_column_choosers(api: Fetch, tracked: dict[str, str]) -> None:
    keys = strict_json(await api("keys"))
    assert {"C", "solver", "layers"} <= set(keys["params"]) and "loss" in keys["metrics"] and "team" in keys["tags"]
    assert keys["params"] == sorted(keys["params"])
    assert strict_json(await api("keys", params={"experiment": "nobody-here"})) == {
        "params": [], "metrics": [], "tags": [], "directions": {}}


async def test_keys_answer_each_metrics_direction(api: Fetch, fresh_store: Store) -> None:
    with nbmlops.start_run(experiment="timing"):
        nbmlops.log_metrics({"fit_time": 2.5, "accuracy": 0.9, "val_loss": 0.3, "Latency_ms": 12.0})
    keys = strict_json(await api("keys"))
    assert keys["directions"] == {"fit_time": "min", "accuracy": "max", "val_loss": "min", "Latency_ms": "min"}
    assert set(keys["directions"]) == set(keys["metrics"])


async def test_run_detail(api: Fetch, tracked: dict[str, str]) -> None:
    run = strict_json(await api("runs", tracked["baseline"][:12]))  # a unique prefix works
    assert run["run_id"] == tracked["baseline"] and run["experiment"] == "churn"
    assert run["params"]["C"] == 0.1 and run["tags"]["team"] == "risk" and run["metrics"]["loss"] == 1 / 50
    assert {"confusion.txt", "plots/sub/curve.csv"} <= {a["path"] for a in run["artifacts"]}
    assert run["error"] is None and run["duration"] >= 0
    [dataset] = run["datasets"]
    assert dataset["name"] == "iris" and dataset["rows"] == 150 and len(dataset["fingerprint"]) >= 16
    assert dataset["schema"]["sepal length (cm)"] == "float64"
    broken = strict_json(await api("runs", tracked["broken"]))
    assert broken["status"] == "FAILED" and "ZeroDivisionError" in broken["error"]
    missing = await api("runs", "f" * 32)
    assert (missing.code, strict_json(missing)["status"]) == (404, 404)


async def test_metric_history_with_slash_in_key(api: Fetch, raw: Fetch, tracked: dict[str, str]) -> None:
    rid = tracked["baseline"]
    plain = strict_json(await api("runs", rid, "metrics", "train/loss"))
    encoded = strict_json(await raw(f"runs/{rid}/metrics/train%2Floss"))
    assert plain == encoded
    assert plain["key"] == "train/loss" and plain["points"]["step"] == [0, 1]
    assert plain["points"]["value"] == [0.5, 0.25] and plain["points"]["timestamp"][0].endswith("Z")
    assert (plain["total"], plain["downsampled"]) == (2, False)
    assert (await api("runs", rid, "metrics", "nope")).code == 404
    assert (await api("runs", rid, "metrics", "loss", params={"max_points": 2})).code == 400


async def test_metric_downsampling_keeps_spike_and_extremes(api: Fetch, fresh_store: Store) -> None:
    values = np.sin(np.arange(20_000) / 500.0)
    values[12_345], values[17_001] = 50.0, -40.0
    with nbmlops.start_run(experiment="long") as run:
        for step, value in enumerate(values):
            nbmlops.log_metric("loss", float(value), step=step)
    body = strict_json(await api("runs", run.run_id, "metrics", "loss", params={"max_points": 500}))
    points = body["points"]
    assert (body["total"], body["downsampled"]) == (20_000, True)
    assert len(points["step"]) <= 500 and points["step"] == sorted(points["step"])
    assert len(points["step"]) == len(points["value"]) == len(points["timestamp"])
    assert {12_345, 17_001, 0, 19_999} <= set(points["step"])
    assert max(points["value"]) == 50.0 and min(points["value"]) == -40.0


async def test_datasets(api: Fetch, tracked: dict[str, str]) -> None:
    [iris] = strict_json(await api("datasets", params={"name": "iris"}))["datasets"]
    assert (iris["version"], iris["rows"], iris["columns"], iris["roles"]) == (1, 150, 4, ["train"])
    assert iris["run_ids"] == [tracked["baseline"]]
    assert strict_json(await api("datasets", params={"run_id": tracked["weaker"]}))["datasets"] == []
    assert (await api("datasets", params={"run_id": "0000ffff"})).code == 404


# -- the registry -----------------------------------------------------------------------------
async def test_models_promote_gate_and_unalias(api: Fetch, tracked: dict[str, str]) -> None:
    [model] = strict_json(await api("models"))["models"]
    assert (model["name"], model["latest_version"], model["versions"], model["aliases"]) == ("churn", 2, 2, {})
    detail = strict_json(await api("models", "churn"))
    assert [v["version"] for v in detail["versions"]] == [2, 1]
    assert detail["versions"][1]["metrics"]["accuracy"] == 0.93
    assert detail["versions"][1]["run_id"] == tracked["baseline"]

    def post(body: Any) -> Awaitable[HTTPResponse]:
        return api("models", "churn", "aliases", method="POST",
                   body=body if isinstance(body, str) else json.dumps(body))

    done = await post({"alias": "production", "version": 1, "gate": "metrics.accuracy >= 0.9", "reason": "best"})
    result = strict_json(done)
    assert done.code == 200 and result["version"] == 1 and result["gate"]["passed"] is True
    assert "0.93" in result["gate"]["explanation"]

    refused = await post({"alias": "production", "version": 2, "gate": "metrics.accuracy >= champion.metrics.accuracy"})
    body = strict_json(refused)
    assert refused.code == 409 and body["status"] == 409
    assert body["error"].startswith("gate failed, nothing changed:") and body["gate"]["passed"] is False
    assert strict_json(await api("models", "churn"))["aliases"] == {"production": 1}
    assert len(strict_json(await api("models", "churn", "history"))["history"]) == 1

    for bad in ("not json", [], {"version": 1}, {"alias": "production", "version": "2"},
                {"alias": "production", "version": 1, "force": True}, {"alias": "9lives", "version": 1},
                {"alias": "production", "version": 2, "gate": "metrics.accuracy >>> 1"}):
        response = await post(bad)
        assert (response.code, strict_json(response)["status"]) == (400, 400), bad
    assert (await post({"alias": "production", "version": 7})).code == 404
    assert (await api("models", "ghost", "aliases", method="POST",
                      body=json.dumps({"alias": "production", "version": 1}))).code == 404

    gone = await api("models", "churn", "aliases", "production", method="DELETE", params={"reason": "retired"})
    assert gone.code == 204 and gone.body == b""
    assert strict_json(await api("models"))["models"][0]["aliases"] == {}
    history = strict_json(await api("models", "churn", "history"))["history"]
    assert [(h["alias"], h["from_version"], h["to_version"], h["reason"]) for h in history] == [
        ("production", None, 1, "best"), ("production", 1, None, "retired")]
    assert (await api("models", "churn", "aliases", "production", method="DELETE")).code == 404
    assert (await api("models", "ghost")).code == 404
    assert (await api("models", "ghost", "history")).code == 404


async def test_promotion_preview_changes_nothing(api: Fetch, tracked: dict[str, str]) -> None:
    def check(**params: Any) -> Awaitable[HTTPResponse]:
        return api("models", "churn", "promotion", params=params)

    free = strict_json(await check(version=2))
    assert (free["alias"], free["current"], free["gate"], free["allowed"]) == ("production", None, None, True)
    await api("models", "churn", "aliases", method="POST", body=json.dumps({"alias": "production", "version": 1}))
    gated = strict_json(await check(version=2, alias="production",
                                    gate="metrics.accuracy >= champion.metrics.accuracy"))
    assert (gated["current"], gated["allowed"], gated["gate"]["passed"]) == (1, False, False)
    assert "0.93" in gated["gate"]["explanation"]
    assert strict_json(await api("models", "churn"))["aliases"] == {"production": 1}
    assert len(strict_json(await api("models", "churn", "history"))["history"]) == 1
    for bad in ({}, {"version": "x"}, {"version": 2, "gate": "metrics.accuracy >>> 1"}, {"version": 2, "alias": "9x"}):
        response = await check(**bad)
        assert (response.code, strict_json(response)["status"]) == (400, 400), bad
    assert (await check(version=9)).code == 404
    assert (await api("models", "ghost", "promotion", params={"version": 1})).code == 404


async def test_model_monitoring_time_series(api: Fetch, tracked: dict[str, str]) -> None:
    assert strict_json(await api("models", "churn", "monitoring")) == {"name": "churn", "reports": [], "features": []}
    X, y = load_iris(return_X_y=True, as_frame=True)
    nbmlops.monitor("churn/1", data=X, labels=y, timestamp="2026-03-01T00:00:00Z")
    nbmlops.monitor("churn/1", data=X * 1.5, timestamp="2026-03-02T00:00:00Z")
    body = strict_json(await api("models", "churn", "monitoring"))
    first, second = body["reports"]
    assert (first["timestamp"], first["version"], first["n_rows"]) == ("2026-03-01T00:00:00.000000Z", 1, 150)
    assert first["dataset_drift"] is False and first["metrics"]["accuracy"] > 0.9
    assert second["dataset_drift"] is True and second["drift_share"] >= 0.5 and second["metrics"] == {}
    columns = {f["column"]: f for f in body["features"]}
    assert set(columns) == set(X.columns) and columns["petal length (cm)"]["drifted"] is True
    assert (await api("models", "ghost", "monitoring")).code == 404


async def test_lineage_of_a_promoted_model(api: Fetch, tracked: dict[str, str]) -> None:
    await api("models", "churn", "aliases", method="POST", body=json.dumps({"alias": "production", "version": 1}))
    body = strict_json(await api("lineage", params={"ref": "churn@production"}))
    assert body["root"] == "alias:churn@production"
    edges = {(e["source"], e["target"], e["kind"]) for e in body["edges"]}
    baseline = f"run:{tracked['baseline']}"
    assert {("dataset:iris@1", baseline, "used"), (baseline, "model:churn/1", "registered"),
            ("model:churn/1", "alias:churn@production", "alias")} <= edges
    assert not any(tracked["weaker"] in e["source"] + e["target"] for e in body["edges"])
    by_run = strict_json(await api("lineage", params={"ref": tracked["baseline"]}))
    assert by_run["root"] == baseline
    for bad, code in (({}, 400), ({"ref": "ghost@production"}, 404), ({"ref": "dataset:iris@9"}, 404)):
        response = await api("lineage", params=bad)
        assert (response.code, strict_json(response)["status"]) == (code, code), bad


# -- artifacts: served only by (run, path) from the catalog -------------------------------------
async def test_artifact_download(api: Fetch, tracked: dict[str, str]) -> None:
    rid = tracked["baseline"]
    response = await api("runs", rid, "artifacts", "confusion.txt")
    assert response.code == 200 and response.body == b"tp fp\nfn tn\n"
    assert response.headers["Content-Type"].startswith("text/plain")
    assert response.headers["Content-Disposition"].startswith('attachment; filename="confusion.txt"')
    nested = await api("runs", rid, "artifacts", "plots/sub/curve.csv")
    assert nested.code == 200 and nested.body == b"a,b\n1,2\n"


@pytest.mark.parametrize("path", [
    "..%2F..%2Fetc%2Fpasswd", "../../../../etc/passwd", "%2E%2E/%2E%2E/store.duckdb", "%2e%2e%2f%2e%2e%2fstore.duckdb",
    "/etc/passwd", "%2Fetc%2Fpasswd", "plots/sub/../../confusion.txt", "./confusion.txt", "confusion.txt%00",
    "artifacts/sha256", "journals"])
async def test_artifact_paths_cannot_escape(raw: Fetch, tracked: dict[str, str], path: str) -> None:
    response = await raw(f"runs/{tracked['baseline']}/artifacts/{path}")
    assert response.code in (403, 404), response.body
    assert b"root:" not in response.body and b"DUCK" not in response.body


async def test_sql_in_run_id_is_just_an_unknown_run(api: Fetch, raw: Fetch, tracked: dict[str, str]) -> None:
    evil = urllib.parse.quote("'; DROP TABLE runs; --", safe="")
    for path in (f"runs/{evil}", f"runs/{evil}/artifacts/confusion.txt", f"runs/{evil}/metrics/loss",
                 f"datasets?run_id={evil}"):
        response = await raw(path)
        assert (response.code, strict_json(response)["status"]) == (404, 404), path
    assert strict_json(await api("runs"))["total"] == 3


async def test_tampered_artifact_is_refused(api: Fetch, tracked: dict[str, str], fresh_store: Store) -> None:
    run = strict_json(await api("runs", tracked["baseline"]))
    [art] = [a for a in run["artifacts"] if a["path"] == "confusion.txt"]
    stored = fresh_store.artifact_path(art["sha256"])
    os.chmod(stored, 0o644)
    stored.write_text("tp fp\nfn EVIL\n")
    response = await api("runs", tracked["baseline"], "artifacts", "confusion.txt")
    assert response.code == 409 and b"EVIL" not in response.body
    assert "does not match the hash" in strict_json(response)["error"]


# -- the server around it ---------------------------------------------------------------------
async def test_requests_need_jupyter_auth(raw: Fetch, tracked: dict[str, str]) -> None:
    for path, method, body in [("experiments", "GET", None), ("runs", "GET", None),
                               (f"runs/{tracked['baseline']}/artifacts/confusion.txt", "GET", None),
                               ("models/churn/aliases", "POST", json.dumps({"alias": "p", "version": 1})),
                               ("models/churn/aliases/production", "DELETE", None)]:
        response = await raw(path, auth=False, method=method, body=body)
        assert response.code == 403, path
        body = strict_json(response)  # "Forbidden", or the missing XSRF token for POST/DELETE
        assert set(body) == {"error", "status"} and body["status"] == 403 and body["error"]


async def test_unexpected_errors_are_500_without_details(api: Fetch, fresh_store: Store,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(store: Store) -> None:
        raise RuntimeError("secret internals at /home/someone")
    monkeypatch.setattr(handlers, "experiment_list", broken)
    response = await api("experiments")
    body = strict_json(response)
    assert response.code == 500 and body["status"] == 500 and "secret" not in body["error"]


async def test_runs_logged_by_another_process_show_up_on_the_next_request(api: Fetch, fresh_store: Store) -> None:
    assert strict_json(await api("experiments"))["experiments"] == []
    run_python("import nbmlops\nwith nbmlops.start_run(experiment='live'):\n    nbmlops.log_metric('x', 1.0)",
               fresh_store)
    assert strict_json(await api("runs", params={"experiment": "live"}))["total"] == 1


async def test_concurrent_requests(api: Fetch, tracked: dict[str, str]) -> None:
    responses = await asyncio.gather(*[api("runs", tracked["baseline"]) for _ in range(10)],
                                     *[api("models") for _ in range(10)])
    assert {r.code for r in responses} == {200}


def test_openapi_describes_exactly_the_routes() -> None:
    verbs = {"get", "put", "post", "delete", "patch", "head", "options"}
    documented = {path: {m for m in ops if m in verbs} for path, ops in SPEC["paths"].items()}
    served = {f"/{handlers.API_PREFIX}/{template}": methods(h) for template, h in handlers.ROUTES}
    assert documented == served
    for path, ops in SPEC["paths"].items():
        for verb in set(ops) & verbs:
            in_path = {resolve(p)["name"] for p in ops[verb].get("parameters", []) if resolve(p)["in"] == "path"}
            assert in_path == set(re.findall(r"\{(\w+)\}", path)), (path, verb)
            assert {"403", "default"} <= set(ops[verb]["responses"]), (path, verb)
    for ref in re.findall(r"'\$ref': '([^']+)'", repr(SPEC)):
        resolve({"$ref": ref})  # every reference points somewhere


def test_pip_install_enables_the_extension() -> None:
    config = json.loads((ROOT / "jupyter-config" / "jupyter_server_config.d" / "nbmlops.json").read_text())
    assert config["ServerApp"]["jpserver_extensions"] == {"nbmlops.server": True}
    shared = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["hatch"]["build"]["targets"]["wheel"]
    assert shared["shared-data"]["jupyter-config/jupyter_server_config.d/nbmlops.json"] == \
        "etc/jupyter/jupyter_server_config.d/nbmlops.json"


def _log_one(store: Store, experiment: str) -> None:
    nbmlops.set_store(store.root)
    with nbmlops.start_run(experiment=experiment):
        nbmlops.log_metric("x", 1.0)


@pytest.fixture
def store_at(request: pytest.FixtureRequest) -> str:
    """Where the test puts the store the server should find: root_dir, above (it) or env."""
    return request.param  # type: ignore[no-any-return]


class TestStoreDiscovery:
    """With NbmlopsServer.store empty, the store is found by nbmlops' rule from the server's root_dir."""

    @pytest.fixture
    def jp_server_config(self, fresh_store: Store, jp_root_dir: Path, monkeypatch: pytest.MonkeyPatch,
                         store_at: str, traitlet: str | None) -> Config:
        monkeypatch.delenv("NBMLOPS_STORE", raising=False)
        _log_one(fresh_store, "in-above")  # fresh_store is tmp_path/.nbmlops, above jp_root_dir
        if store_at != "above":
            local = Store(jp_root_dir / ".nbmlops" if store_at == "root_dir" else jp_root_dir.parent / "elsewhere")
            local.init()
            _log_one(local, f"in-{store_at}")
            local.release()
            if store_at == "env":
                monkeypatch.setenv("NBMLOPS_STORE", str(local.root))
        return extension_config(traitlet)

    @pytest.mark.parametrize("store_at, traitlet", [("root_dir", None), ("root_dir", ""), ("above", ""), ("env", "")],
                             indirect=["store_at"])
    async def test_found_by_the_usual_rule(self, api: Fetch, jp_serverapp: Any, jp_root_dir: Path,
                                           store_at: str, traitlet: str | None) -> None:
        served = jp_serverapp.web_app.settings["nbmlops_store"].root
        if store_at == "root_dir":
            assert served == (jp_root_dir / ".nbmlops").resolve()
        assert [e["name"] for e in strict_json(await api("experiments"))["experiments"]] == [f"in-{store_at}"]


# -- downsampling, as a pure function -----------------------------------------------------------
def test_a_one_step_spike_in_a_million_points_survives() -> None:
    rng = np.random.default_rng(7)
    steps = np.arange(1_000_000)
    values = rng.normal(size=steps.size)
    values[654_321], values[111_111] = 1_000.0, -1_000.0
    keep = downsample(steps, values, 1000)
    assert len(keep) <= 1000 and np.all(np.diff(steps[keep]) > 0)
    assert {0, 111_111, 654_321, 999_999} <= set(keep.tolist())
    assert values[keep].max() == values.max() and values[keep].min() == values.min()


@pytest.mark.parametrize("n, max_points", [(10, 5), (1001, 1000), (50_000, 7), (50_000, 1000), (99_999, 10_000)])
def test_bound_and_per_bucket_extremes(n: int, max_points: int) -> None:
    values = np.random.default_rng(n).normal(size=n)
    keep = downsample(np.arange(n), values, max_points)
    assert len(keep) <= max_points and len(np.unique(keep)) == len(keep)
    buckets = (max_points - 2) // 3
    edges = np.linspace(1, n - 1, buckets + 1).astype(int)
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        assert lo + int(np.argmin(values[lo:hi])) in keep and lo + int(np.argmax(values[lo:hi])) in keep


def test_short_series_are_kept_whole_and_unsorted_input_is_sorted() -> None:
    assert downsample(np.arange(5), np.ones(5), 5).tolist() == [0, 1, 2, 3, 4]
    steps = np.arange(10_000)[::-1].copy()
    keep = downsample(steps, np.sin(steps / 100), 100)
    assert np.all(np.diff(steps[keep]) > 0) and len(keep) <= 100
    with pytest.raises(nbmlops.InvalidInputError):
        downsample(steps, np.ones(10_000), 4)


def test_nan_and_infinities_survive() -> None:
    values = np.cos(np.arange(100_000) / 1000.0)
    values[5_000], values[60_000], values[70_000] = NAN, INF, -INF
    values[90_000:] = NAN  # a run that diverged for good
    keep = downsample(np.arange(values.size), values, 300)
    kept = values[keep]
    assert {5_000, 60_000, 70_000} <= set(keep.tolist()) and len(keep) <= 300
    assert np.isnan(kept[keep >= 90_000]).all() and (keep >= 90_000).sum() >= 5
    assert np.isfinite(values[keep[(keep < 90_000) & ~np.isin(keep, [5_000, 60_000, 70_000])]]).all()


# -- large downloads and hostile bodies --------------------------------------------------------
@pytest.fixture
def big_artifact(fresh_store: Store, tmp_path: Path) -> tuple[str, bytes]:
    """A run with a 5 MiB + 123 bytes artifact (several download chunks, the last one partial)."""
    content = np.random.default_rng(0).bytes((5 << 20) + 123)
    (tmp_path / "weights.bin").write_bytes(content)
    with nbmlops.start_run(experiment="big") as run:
        nbmlops.log_artifact(tmp_path / "weights.bin")
    return run.run_id, content


async def test_a_multi_megabyte_artifact_streams_byte_equal(api: Fetch, big_artifact: tuple[str, bytes]) -> None:
    rid, content = big_artifact
    response = await api("runs", rid, "artifacts", "weights.bin")
    assert response.code == 200 and response.body == content
    assert response.headers["Content-Length"] == str(len(content))
    assert response.headers["Content-Type"] == "application/octet-stream"


async def test_a_large_artifact_tampered_after_logging_never_arrives_whole(
        api: Fetch, big_artifact: tuple[str, bytes], fresh_store: Store, caplog: pytest.LogCaptureFixture) -> None:
    rid, content = big_artifact
    run = strict_json(await api("runs", rid))
    [art] = [a for a in run["artifacts"] if a["path"] == "weights.bin"]
    stored = fresh_store.artifact_path(art["sha256"])
    os.chmod(stored, 0o644)
    stored.write_bytes(content[:-1] + bytes([content[-1] ^ 1]))  # the same size, the last byte changed
    try:
        response = await api("runs", rid, "artifacts", "weights.bin")
    except Exception as exc:  # the connection was cut: what a client must see
        assert "599" in str(exc) or "closed" in str(exc).lower(), exc
    else:
        assert response.code != 200 and response.body != content[:-1] + bytes([content[-1] ^ 1])
    assert any("does not match the hash" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize("body", [
    "[" * 100_000 + "]" * 100_000,
    '{"alias": "production", "version": ' + "[" * 50 + "]" * 50 + "}",
    '{"alias": "production", "version": 1, "reason": ' + '{"a": ' * 5000 + "1" + "}" * 5000 + "}"])
async def test_a_deeply_nested_body_is_400_not_500(api: Fetch, tracked: dict[str, str], body: str) -> None:
    response = await api("models", "churn", "aliases", method="POST", body=body)
    answer = strict_json(response)
    assert (response.code, answer["status"]) == (400, 400) and set(answer) == {"error", "status"}
    assert "nests deeper than" in answer["error"]


async def test_a_download_holds_a_few_chunks_in_memory_not_the_file(jp_fetch: Fetch, fresh_store: Store,
                                                                    tmp_path: Path) -> None:
    import hashlib
    import tracemalloc

    content = np.random.default_rng(1).bytes(48 << 20)
    (tmp_path / "big.bin").write_bytes(content)
    with nbmlops.start_run(experiment="big") as run:
        nbmlops.log_artifact(tmp_path / "big.bin")
    received = hashlib.sha256()
    tracemalloc.start()
    try:
        response = await jp_fetch("nbmlops", "api", "runs", run.run_id, "artifacts", "big.bin",
                                  streaming_callback=received.update)  # the client keeps nothing either
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert response.code == 200 and received.hexdigest() == hashlib.sha256(content).hexdigest()
    assert peak < 16 << 20, f"serving a 48 MiB file allocated {peak >> 20} MiB at once"
