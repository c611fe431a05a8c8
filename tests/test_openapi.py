"""openapi.yaml describes what the REST API really sends: every GET answered by a real server, checked strictly.

Strictly means: an object may hold only the properties the description lists (allOf members merged), each
listed property is required unless it is one of the few documented as optional below, and timestamps match
their pattern. So a field the server adds, drops or makes null fails here until openapi.yaml says so, and
the panel's TypeScript types, generated from openapi.yaml, stay true.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression
from tornado.httpclient import HTTPResponse
from traitlets.config import Config

import nbmlops
from nbmlops.server import handlers
from nbmlops.store.folder import Store
from tests.test_server import SPEC, SPEC_URI, Fetch, extension_config, resolve, strict_json

pytest_plugins = ["pytest_jupyter.jupyter_server"]

NAN, INF = float("nan"), float("inf")
VERBS = {"get", "put", "post", "delete", "patch", "head", "options"}
# The only listed properties a response may leave out, and why.
OPTIONAL = {
    "RunSummary": "with `columns`, a listed run holds only run_id and the fields asked for",
    "Error.position": "only a filter or gate that does not parse has a position",
    "GateFailure.position": "a gate that failed parsed: it has no position",
    **{f"RunDiff.{section}": "a run diff leaves out a section with nothing to say, and a section's fields depend "
       "on what differs" for section in ("params", "metrics", "code", "data", "environment", "git", "models")},
}


def merged(node: dict[str, Any]) -> dict[str, Any]:
    """`node` with its allOf members (references followed) folded in: one object schema to close."""
    node = dict(node)
    for member in node.pop("allOf", []):
        part = merged(resolve(member))
        node["properties"] = {**part.get("properties", {}), **node.get("properties", {})}
        node["required"] = sorted({*part.get("required", []), *node.get("required", [])})
        node.update({k: v for k, v in part.items() if k not in ("properties", "required", "description")})
    if not node.get("properties"):
        node.pop("properties", None)
    return node


def strict(node: Any) -> Any:
    """An OpenAPI 3.0 schema as a closed JSON Schema: no property it does not list, null only where nullable."""
    if isinstance(node, list):
        return [strict(v) for v in node]
    if not isinstance(node, dict):
        return node
    node = merged(node)
    out = {k: strict(v) for k, v in node.items() if k not in ("nullable", "example", "properties")}
    if "properties" in node:
        out["properties"] = {name: strict(schema) for name, schema in node["properties"].items()}
        out.setdefault("additionalProperties", False)
    if isinstance(out.get("$ref"), str):
        out["$ref"] = SPEC_URI + out["$ref"]
    return {"anyOf": [out, {"type": "null"}]} if node.get("nullable") is True else out


STRICT = Registry().with_resource(SPEC_URI, Resource.from_contents(strict(SPEC), default_specification=DRAFT202012))


def success_schema(template: str) -> dict[str, Any]:
    """The JSON schema of a GET's 200 answer."""
    answer = resolve(SPEC["paths"][f"/{handlers.API_PREFIX}/{template}"]["get"]["responses"]["200"])
    return answer["content"]["application/json"]["schema"]


def loose_properties(node: Any, label: str, seen: set[str]) -> list[str]:
    """`label.property` for every listed property of an object schema under `node` that is not required."""
    if isinstance(node, list):
        return [found for item in node for found in loose_properties(item, label, seen)]
    if not isinstance(node, dict):
        return []
    if "$ref" in node:
        name = node["$ref"].rsplit("/", 1)[-1]
        if name in seen:
            return []
        seen.add(name)
        return loose_properties(resolve(node), name, seen)
    node = merged(node)
    properties = node.pop("properties", {})
    found = [f"{label}.{name}" for name in properties if name not in node.get("required", [])]
    for name, schema in properties.items():
        found += loose_properties(schema, f"{label}.{name}", seen)
    return found + loose_properties(list(node.values()), label, seen)


def test_every_listed_property_of_a_response_is_required_unless_documented_optional() -> None:
    loose = set()
    for path, operations in SPEC["paths"].items():
        for verb, operation in operations.items():
            for code, answer in operation.get("responses", {}).items() if verb in VERBS else ():
                schema = resolve(answer).get("content", {}).get("application/json", {}).get("schema")
                loose |= set(loose_properties(schema, f"{verb} {path} {code}", set()))
    assert {item for item in loose if not any(item == o or item.startswith(f"{o}.") for o in OPTIONAL)} == set()


def test_no_description_is_cut_by_a_comma() -> None:
    # In a flow mapping `{description: a, b}` the comma ends the text and `b` becomes a key without a value.
    def empty_keys(node: Any, path: str) -> list[str]:
        if isinstance(node, list):
            return [found for i, item in enumerate(node) for found in empty_keys(item, f"{path}/{i}")]
        if not isinstance(node, dict):
            return []
        return [f"{path}/{k}" for k, v in node.items() if v is None] + [
            found for k, v in node.items() for found in empty_keys(v, f"{path}/{k}")]
    assert empty_keys(SPEC, "") == []


@pytest.fixture
def jp_server_config(fresh_store: Store) -> Config:
    """A Jupyter server serving the test's store."""
    return extension_config(str(fresh_store.root))


@pytest.fixture
def full_store(fresh_store: Store, tmp_path: Path) -> dict[str, str]:
    """A finished and a failed run, a dataset, a model promoted through a gate then unaliased, two reports."""
    X, y = load_iris(return_X_y=True, as_frame=True)
    (tmp_path / "notes.txt").write_text("ok\n")
    clf = LogisticRegression(max_iter=500).fit(X, y)
    with nbmlops.start_run(experiment="churn", name="baseline", tags={"team": "risk"}) as run:
        nbmlops.log_params({"C": 0.1, "solver": "lbfgs", "layers": [64, 32], "lr": NAN, "warm": True})
        nbmlops.log_metrics({"accuracy": 0.93, "diverged": NAN, "ratio": INF, "fit_time": 1.5})
        nbmlops.log_artifact(tmp_path / "notes.txt")
        nbmlops.log_table(X.head(), "sample", step=1)
        nbmlops.log_text("ok", "note")
        nbmlops.log_dataset(X, name="iris", role="train")
        nbmlops.log_model(clf, "churn", input_example=X.head())
        finished = run.run_id
    with pytest.raises(ZeroDivisionError), nbmlops.start_run(experiment="other", name="broken") as run:
        failed = run.run_id
        1 / 0  # noqa: B018
    nbmlops.promote("churn", 1, "staging", reason="first")
    nbmlops.unalias("churn", "staging", reason="renamed")
    nbmlops.promote("churn", 1, "production", gate="metrics.accuracy >= 0.9")
    nbmlops.monitor("churn@production", data=X, labels=y, timestamp="2026-03-01T00:00:00Z")
    nbmlops.monitor("churn@production", data=X * 1.5, timestamp="2026-03-02T00:00:00Z")
    return {"finished": finished, "failed": failed}


async def test_every_get_answers_as_openapi_yaml_describes(jp_fetch: Fetch, full_store: dict[str, str]) -> None:
    finished, failed = full_store["finished"], full_store["failed"]
    calls: list[tuple[str, list[str], dict[str, Any]]] = [
        ("experiments", ["experiments"], {}),
        ("runs", ["runs"], {}),
        ("runs", ["runs"], {"columns": "name,metrics.accuracy,params.*"}),
        ("keys", ["keys"], {}),
        ("runs/{run_id}", ["runs", finished], {}),
        ("runs/{run_id}", ["runs", failed], {}),
        ("runs/{run_id}/metrics/{key}", ["runs", finished, "metrics", "ratio"], {}),
        ("runs/{run_id}/artifacts/{path}", ["runs", finished, "artifacts", "notes.txt"], {}),
        ("runs/{run_id}/media", ["runs", finished, "media"], {}),
        ("runs/{run_id}/media/table", ["runs", finished, "media", "table"],
         {"path": "media/table/sample/step-1.parquet", "limit": 2}),
        ("runs/{run_id}/diff/{other_run_id}", ["runs", finished, "diff", failed], {}),
        ("runs/{run_id}/diff/{other_run_id}", ["runs", failed, "diff", finished], {"rows": "false"}),
        ("datasets", ["datasets"], {}),
        ("datasets", ["datasets"], {"run_id": finished}),
        ("lineage", ["lineage"], {"ref": "churn@production"}),
        ("models", ["models"], {}),
        ("models/{name}", ["models", "churn"], {}),
        ("models/{name}/history", ["models", "churn", "history"], {}),
        ("models/{name}/monitoring", ["models", "churn", "monitoring"], {}),
        ("models/{name}/promotion", ["models", "churn", "promotion"],
         {"version": 1, "gate": "metrics.accuracy >= champion.metrics.accuracy"}),
        ("models/{name}/promotion", ["models", "churn", "promotion"], {"version": 1, "alias": "canary"}),
    ]
    documented = {path for path, operations in SPEC["paths"].items() if "get" in operations}
    assert {f"/{handlers.API_PREFIX}/{template}" for template, _, _ in calls} == documented
    for template, parts, params in calls:
        response: HTTPResponse = await jp_fetch("nbmlops", "api", *parts, params=params)
        assert response.code == 200, (template, response.body)
        if template.endswith("{path}"):
            assert response.body == b"ok\n"
            continue
        schema = strict(success_schema(template))
        errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
                  for e in Draft202012Validator(schema, registry=STRICT).iter_errors(strict_json(response))]
        assert errors == [], f"GET {template}: the answer differs from openapi.yaml"
