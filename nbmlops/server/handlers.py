"""The REST API under /nbmlops/api/: thin handlers over nbmlops' core, run off the event loop.

JSON conventions (openapi.yaml says the same): timestamps are ISO 8601 UTC strings such as
"2026-03-01T12:00:00.250000Z"; non-finite floats are the strings "NaN", "Infinity" and
"-Infinity"; a key a run does not have is absent from its params/metrics/tags maps; errors are
{"error": message, "status": code} with that HTTP status.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import functools
import hashlib
import json
import math
import mimetypes
import os
import re
import urllib.parse
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import tornado.web
from jupyter_server.base.handlers import APIHandler

from nbmlops.data import datasets as data
from nbmlops.data import rundiff
from nbmlops.data.lineage import lineage as lineage_of
from nbmlops.drift import service as monitoring_service
from nbmlops.entities import metric_direction
from nbmlops.errors import InvalidInputError, NbmlopsError, NotFoundError
from nbmlops.query.gates import GateResult
from nbmlops.registry import models as registry
from nbmlops.render.http_errors import JSONErrors
from nbmlops.server.downsample import MIN_POINTS, downsample
from nbmlops.store import models as model_catalog
from nbmlops.store import runs as search
from nbmlops.store.folder import Store, missing_error, tampered_error
from nbmlops.tracking import media, tables

API_PREFIX = "nbmlops/api"
DEFAULT_LIMIT, MAX_LIMIT = 100, 10_000
DEFAULT_POINTS, MAX_POINTS = 1000, 10_000
DEFAULT_TABLE_ROWS, MAX_TABLE_ROWS = 100, 1000
KINDS = ("params", "metrics", "tags")
DOWNLOAD_CHUNK = 1 << 20  # artifact downloads are streamed in pieces of this many bytes
MAX_BODY_DEPTH = 32  # JSON request bodies nest no deeper (ours nest 1 level)


# -- JSON ------------------------------------------------------------------------------------
def encode(value: Any) -> Any:
    """`value` as plain JSON data: non-finite floats as strings, timestamps as ISO 8601 UTC."""
    if value is None or isinstance(value, (str, bool)):
        return value
    if value is pd.NA or value is pd.NaT or (isinstance(value, np.datetime64) and np.isnat(value)):
        return None
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, (float, np.floating)):
        number = float(value)
        if math.isfinite(number):
            return number
        return "NaN" if math.isnan(number) else ("Infinity" if number > 0 else "-Infinity")
    if isinstance(value, (dt.datetime, np.datetime64)):
        return iso(value)
    if isinstance(value, dict):
        return {str(k): encode(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset, np.ndarray)):
        return [encode(v) for v in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return encode({f.name: getattr(value, f.name) for f in dataclasses.fields(value)})
    return str(value)


def iso(value: dt.datetime | np.datetime64) -> str:
    """A timestamp as ISO 8601 UTC with microseconds and a Z; naive ones are taken as UTC."""
    stamp = pd.Timestamp(value)
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    return stamp.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def dumps(payload: Any) -> str:
    """Valid JSON (never a bare NaN) for `payload`."""
    return json.dumps(encode(payload), allow_nan=False, ensure_ascii=False)


def _missing(value: Any) -> bool:
    return value is None or value is pd.NA or value is pd.NaT or (isinstance(value, float) and math.isnan(value))


def _records(frame: pd.DataFrame, ints: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    """Rows as dicts; missing values become None, `ints` columns ints."""
    return [{str(k): None if _missing(v) else int(v) if k in ints else v for k, v in row.items()}
            for row in frame.to_dict("records")]


def _nest_metrics(row: dict[str, Any]) -> dict[str, Any]:
    """A record whose `metrics.KEY` columns become one `metrics` map (missing values left out)."""
    nested = {k: v for k, v in row.items() if not k.startswith("metrics.")}
    nested["metrics"] = {k[8:]: v for k, v in row.items() if k.startswith("metrics.") and v is not None}
    return nested


def gate_json(result: GateResult | None) -> dict[str, Any] | None:
    """A gate outcome for the API."""
    return None if result is None else dataclasses.asdict(result)


# -- views: one blocking function per endpoint, run in an executor thread ----------------------
def experiment_list(store: Store) -> dict[str, Any]:
    """Experiments with run counts and last activity."""
    frame = search.experiments(store).rename(columns={"experiment": "name"})
    return {"experiments": _records(frame[["name", "runs", "running", "created_at", "last_activity"]],
                                    ints=("runs", "running"))}


def run_list(store: Store, experiments: list[str] | None, where: str | None, order_by: str | None,
             limit: int, offset: int, columns: list[str] | None) -> dict[str, Any]:
    """A page of matching runs, the number of all matching runs, and the page bounds."""
    runs = search.run_records(store, experiments, where, order_by, limit, offset)
    with store.reading() as con:
        total = search.count_runs(con, experiments, where)
    if columns:
        runs = [_columns(run, columns) for run in runs]
    return {"runs": runs, "total": total, "offset": offset, "limit": limit}


def parse_columns(text: str | None) -> list[str] | None:
    """`columns=run_id,name,metrics.acc,params.*` checked against what a run record has."""
    if not text:
        return None
    columns = [c.strip() for c in text.split(",") if c.strip()]
    for column in columns:
        kind, dot, key = column.partition(".")
        if column not in search.RUN_COLUMNS and not (kind in KINDS and (not dot or key)):
            raise InvalidInputError(f"unknown column {column!r}: use run attributes "
                                    f"({', '.join(search.RUN_COLUMNS)}), params, metrics, tags or KIND.KEY")
    return columns


def _columns(run: dict[str, Any], columns: list[str]) -> dict[str, Any]:
    picked: dict[str, Any] = {"run_id": run["run_id"]}
    for column in columns:
        kind, _, key = column.partition(".")
        if kind in KINDS and key not in ("", "*"):
            if key in run[kind]:
                picked.setdefault(kind, {})[key] = run[kind][key]
        elif kind in KINDS:
            picked[kind] = {**picked.get(kind, {}), **run[kind]}
        else:
            picked[column] = run[column]
    return picked


def run_detail(store: Store, run_id: str) -> dict[str, Any]:
    """A run with params, metrics, tags, artifacts, error, notebook and the datasets it used."""
    run = search.get_run(store, run_id)
    used = []
    for dataset in dataset_records(data.datasets(store, run_id=run.run_id)):
        dataset["schema"] = data.dataset_profile(store, dataset["name"], dataset["fingerprint"])["schema"]
        used.append(dataset)
    return {**encode(run), "duration": run.duration, "datasets": used}


def dataset_records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Dataset versions as dicts; lists are never null."""
    records = _records(frame, ints=("version", "rows", "columns", "size_bytes", "files", "runs"))
    for record in records:
        for column in ("roles", "run_ids"):
            record[column] = [] if record.get(column) is None else list(record[column])
    return records


def metric_points(store: Store, run_id: str, key: str, max_points: int) -> dict[str, Any]:
    """A metric's history, downsampled to at most `max_points` points keeping its extremes."""
    steps, stamps, values = search.metric_arrays(store, run_id, key)
    keep = downsample(steps, values, max_points)
    kept = stamps[keep].astype("datetime64[us]")
    return {"key": key, "total": len(steps), "downsampled": len(keep) < len(steps), "max_points": max_points,
            "points": {"step": steps[keep].tolist(),
                       "timestamp": np.datetime_as_string(kept, unit="us", timezone="UTC").tolist(),
                       "value": values[keep].tolist()}}


def model_list(store: Store) -> dict[str, Any]:
    """Registered models with latest version, version count and aliases."""
    models = _records(registry.models(store), ints=("latest_version", "versions"))
    for model in models:
        pairs = (item.rpartition("=v") for item in (model["aliases"] or "").split(", ") if item)
        model["aliases"] = {alias: int(version) for alias, _, version in pairs}
    return {"models": models}


def model_detail(store: Store, name: str) -> dict[str, Any]:
    """A model's versions (newest first) with the run's metrics and aliases."""
    versions = []
    for row in _records(registry.model_versions(store, name), ints=("version",)):
        entry = _nest_metrics(row)
        entry["aliases"] = row["aliases"].split(", ") if row["aliases"] else []
        versions.append(entry)
    aliases = {alias: v["version"] for v in versions for alias in v["aliases"]}
    return {"name": name, "aliases": aliases, "versions": versions}


def model_history(store: Store, name: str) -> dict[str, Any]:
    """The audit log of a model's aliases, oldest first."""
    registry.resolve(store, name)  # 404 for an unknown model
    return {"name": name, "history": _records(registry.history(store, name), ints=("from_version", "to_version"))}


def promote(store: Store, name: str, body: dict[str, Any]) -> dict[str, Any]:
    """Point an alias at a version if the gate passes (audited)."""
    result = registry.promote(store, name, body["version"], body["alias"], gate=body.get("gate"),
                              reason=body.get("reason"))
    return {"name": name, "alias": body["alias"], "version": body["version"], "gate": gate_json(result)}


def lineage_graph(store: Store, ref: str) -> dict[str, Any]:
    """The lineage graph through `ref`: dataset versions -> runs -> model versions -> aliases."""
    edges = lineage_of(store, ref)
    return {"root": edges.root, "edges": _records(pd.DataFrame(edges))}


def model_monitoring(store: Store, name: str) -> dict[str, Any]:
    """A model's monitoring reports over time and the per-feature drift of the latest one."""
    reports = []
    for row in _records(monitoring_service.monitoring(store, name),
                        ints=("version", "n_rows", "n_columns", "drifted_columns")):
        reports.append(_nest_metrics(row))
    features = _records(monitoring_service.feature_drift(store, name), ints=("version",))
    return {"name": name, "reports": reports, "features": features}


def promotion_check(store: Store, name: str, version: int, alias: str, gate: str | None) -> dict[str, Any]:
    """What a promotion would do, without doing it: the alias's holder and the gate's outcome."""
    current, result = registry.check_promotion(store, name, version, alias, gate=gate)
    return {"name": name, "alias": alias, "version": version, "current": current, "gate": gate_json(result),
            "allowed": result is None or result.passed}


def artifact_file(store: Store, run_id: str, path: str) -> tuple[str, str, Path]:
    """(run id, sha256, stored file) of a run's artifact; only a catalog row of that run can name a file."""
    with store.reading() as con:
        rid = search.resolve_run_id(con, run_id)
        sha = model_catalog.artifact_sha256(con, rid, path)
    if sha is None:
        raise NotFoundError(f"run {rid} has no artifact {path!r}: GET runs/{rid} lists its artifacts")
    return rid, sha, store.artifact_path(sha)


def run_media(store: Store, run_id: str) -> dict[str, Any]:
    """A run's figures, images, tables and texts, sorted by kind, name and step."""
    return {"media": media.entries(search.get_run(store, run_id).artifacts)}


def media_table(store: Store, run_id: str, path: str, offset: int, limit: int, sort: str | None = None,
                descending: bool = False) -> dict[str, Any]:
    """A page of rows of a table the run logged, as JSON-safe values; `sort` orders the whole table first."""
    found = media.parse(path)
    if found is None or found.kind != "table":
        raise NotFoundError(f"{path!r:.200} is not a table path (media/table/...parquet): GET "
                            "runs/{run_id}/media lists the run's tables")
    rid, sha, file = artifact_file(store, run_id, path)
    label = f"table {path!r:.200} of run {rid}"
    store.read_verified(sha, label)  # refuses a file changed since it was logged
    return tables.page(file, offset, limit, label, order_by=sort, descending=descending)


def run_diff(store: Store, run_id: str, other_run_id: str, rows: bool) -> dict[str, Any]:
    """Why run `other_run_id` differed from run `run_id`: the JSON form of their run diff; for two
    notebook jobs, `code.notebook` also holds what nbdime's diff view draws (base cells and nbdime's diff)."""
    found = rundiff.diff(store, run_id, other_run_id, rows=rows).to_dict()
    code = found.get("code")
    if code is not None and code["kind"] == "notebook":
        view = rundiff.notebook_diff(store, found["a"]["run_id"], found["b"]["run_id"])
        if view is not None:
            code["notebook"] = rundiff.json_safe(view)
    return found


def json_body(raw: bytes) -> Any:
    """A request body as JSON, refusing (400) what is not JSON or nests deeper than MAX_BODY_DEPTH."""
    try:
        body = json.loads(raw or b"null")
    except RecursionError:  # [[[[...]]]] deeper than the parser's stack
        raise InvalidInputError(f"the request body nests deeper than {MAX_BODY_DEPTH} levels") from None
    except ValueError as exc:
        raise InvalidInputError(f"the request body is not JSON ({str(exc)[:200]})") from None
    level = [body]  # breadth first, without recursion: later code may recurse (repr, validation)
    for _ in range(MAX_BODY_DEPTH + 1):
        level = [v for item in level if isinstance(item, (list, dict))
                 for v in (item.values() if isinstance(item, dict) else item)]
        if not level:
            return body
    raise InvalidInputError(f"the request body nests deeper than {MAX_BODY_DEPTH} levels")


# -- handlers -------------------------------------------------------------------------------
class NbmlopsHandler(JSONErrors, APIHandler):
    """Base of every nbmlops handler: store access off the event loop, JSON replies and errors."""

    @property
    def store(self) -> Store:
        """The store this server serves."""
        return self.settings["nbmlops_store"]

    async def call(self, view: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run `view(store, *args, **kwargs)` in a worker thread: DuckDB work never blocks the server."""
        work = functools.partial(view, self.store, *args, **kwargs)
        return await asyncio.get_running_loop().run_in_executor(None, work)

    def reply(self, payload: Any, status: int = 200) -> None:
        """Send `payload` as JSON."""
        self.set_status(status)
        self.finish(dumps(payload))

    def integer(self, name: str, default: int, low: int, high: int) -> int:
        """An integer query argument within [low, high]."""
        text = self.get_query_argument(name, None)
        if text is None or text == "":
            return default
        if not re.fullmatch(r"[+-]?\d{1,18}", text) or not low <= int(text) <= high:
            raise InvalidInputError(f"{name} must be an integer from {low} to {high}, got {text!r:.40}")
        return int(text)

    def boolean(self, name: str, default: bool) -> bool:
        """A true/false query argument."""
        text = self.get_query_argument(name, "").strip().lower()
        if text not in ("", "true", "false"):
            raise InvalidInputError(f"{name} must be true or false, got {text!r:.40}")
        return default if text == "" else text == "true"

    def internal_message(self, exc: BaseException | None) -> str:
        """What the client reads when a bug raised `exc`."""
        return "internal error in the nbmlops server extension: see the Jupyter server log"

    def log_exception(self, typ: Any, value: Any, tb: Any) -> None:
        """Expected errors in one line; anything else with its traceback."""
        if isinstance(value, NbmlopsError):
            log = self.log.error if value.status >= 500 else self.log.info
            log("nbmlops API %s %s: %s", self.request.method, self.request.path, value)
        else:
            super().log_exception(typ, value, tb)


class ExperimentsHandler(NbmlopsHandler):
    """GET experiments: run counts and last activity."""

    @tornado.web.authenticated
    async def get(self) -> None:
        self.reply(await self.call(experiment_list))


class RunsHandler(NbmlopsHandler):
    """GET runs: a page of runs filtered with the where language."""

    @tornado.web.authenticated
    async def get(self) -> None:
        experiments = self.get_query_arguments("experiment") or None
        limit = self.integer("limit", DEFAULT_LIMIT, 0, MAX_LIMIT)
        offset = self.integer("offset", 0, 0, 10**15)
        columns = parse_columns(self.get_query_argument("columns", None))
        self.reply(await self.call(run_list, experiments, self.get_query_argument("where", None) or None,
                                   self.get_query_argument("order_by", None) or None, limit, offset, columns))


class KeysHandler(NbmlopsHandler):
    """GET keys: the param, metric and tag keys of the runs, for column choosers, and each metric's direction."""

    @tornado.web.authenticated
    async def get(self) -> None:
        keys = await self.call(search.run_keys, self.get_query_arguments("experiment") or None)
        self.reply({**keys, "directions": {key: metric_direction(key) for key in keys["metrics"]}})


class RunHandler(NbmlopsHandler):
    """GET runs/{run_id}: a run with everything logged to it."""

    @tornado.web.authenticated
    async def get(self, run_id: str) -> None:
        self.reply(await self.call(run_detail, run_id))


class MetricHandler(NbmlopsHandler):
    """GET runs/{run_id}/metrics/{key}: a metric's history, downsampled keeping extremes."""

    @tornado.web.authenticated
    async def get(self, run_id: str, key: str) -> None:
        max_points = self.integer("max_points", DEFAULT_POINTS, MIN_POINTS, MAX_POINTS)
        self.reply(await self.call(metric_points, run_id, key, max_points))


class ArtifactHandler(NbmlopsHandler):
    """GET runs/{run_id}/artifacts/{path}: an artifact's bytes, as a download.

    Streamed in chunks (memory stays flat however large the file) and hashed on the way. The last
    chunk is held back until the hash is known: a file that no longer matches it is a 409 when it
    fits in one chunk, and otherwise the connection is cut before the last chunk, so a client never
    receives a complete-looking tampered file.

    An artifact is never a page of the lab's origin: it is an attachment, and its Content-Security-Policy
    adds `sandbox` to Jupyter's `default-src 'none'`, so an SVG (or HTML) opened directly runs no
    script, while an <img> still shows it.
    """

    @property
    def content_security_policy(self) -> str:
        """Jupyter's policy for API answers, plus a sandbox."""
        return f"{super().content_security_policy}; sandbox"

    @tornado.web.authenticated
    async def get(self, run_id: str, path: str) -> None:
        rid, sha, source = await self.call(artifact_file, run_id, path)
        label = f"artifact {path!r} of run {rid}"
        try:
            file = open(source, "rb", buffering=0)  # noqa: SIM115 - closed below, across awaits
        except FileNotFoundError:
            raise missing_error(label, source) from None
        loop = asyncio.get_running_loop()
        digest = hashlib.sha256()

        size, total = os.fstat(file.fileno()).st_size, 0

        def read() -> bytes:
            nonlocal total
            chunk = file.read(min(DOWNLOAD_CHUNK, size + 1 - total))  # one byte past size tells it grew
            total += len(chunk)
            digest.update(chunk)
            return chunk

        with file:
            pending = await loop.run_in_executor(None, read)
            name = path.rsplit("/", 1)[-1]
            fallback = re.sub(r'[^A-Za-z0-9._ -]', "_", name)
            kind = mimetypes.guess_type(name)[0] or "application/octet-stream"
            self.set_header("Content-Type", kind)
            self.set_header("Content-Disposition",
                            f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{urllib.parse.quote(name)}")
            self.set_header("X-Content-Type-Options", "nosniff")
            self.set_header("Content-Length", size)
            sent = 0
            while following := await loop.run_in_executor(None, read):
                self.write(pending)
                sent += len(pending)
                await self.flush()  # waits for the client: at most a chunk or two in memory
                pending = following
            if digest.hexdigest() != sha or sent + len(pending) != size:
                if not sent:
                    raise tampered_error(label, source)
                self.log.error("nbmlops API: %s", tampered_error(label, source))
                self.detach().close()  # no last chunk: the client sees a cut download, not a whole one
                return
            self.finish(pending, set_content_type=kind)  # APIHandler.finish would say JSON otherwise


class MediaHandler(NbmlopsHandler):
    """GET runs/{run_id}/media: the run's figures, images, tables and texts."""

    @tornado.web.authenticated
    async def get(self, run_id: str) -> None:
        self.reply(await self.call(run_media, run_id))


class MediaTableHandler(NbmlopsHandler):
    """GET runs/{run_id}/media/table?path=...&offset=0&limit=100&sort=COLUMN&descending=false: rows of a
    logged table, the whole table sorted on a column first when `sort` names one."""

    @tornado.web.authenticated
    async def get(self, run_id: str) -> None:
        path = self.get_query_argument("path", "")
        if not path:
            raise InvalidInputError(f"give the table: ?path=media/table/NAME.parquet (GET runs/{run_id}/media "
                                    "lists them)")
        offset = self.integer("offset", 0, 0, 10**15)
        limit = self.integer("limit", DEFAULT_TABLE_ROWS, 1, MAX_TABLE_ROWS)
        descending = self.boolean("descending", False)
        sort = self.get_query_argument("sort", "") or None
        self.reply(await self.call(media_table, run_id, path, offset, limit, sort, descending))


class RunDiffHandler(NbmlopsHandler):
    """GET runs/{run_id}/diff/{other_run_id}?rows=true: params, metrics, code, data, environment, git and
    models of the other run against this one."""

    @tornado.web.authenticated
    async def get(self, run_id: str, other_run_id: str) -> None:
        self.reply(await self.call(run_diff, run_id, other_run_id, self.boolean("rows", True)))


class DatasetsHandler(NbmlopsHandler):
    """GET datasets: dataset versions, by name or by run."""

    @tornado.web.authenticated
    async def get(self) -> None:
        frame = await self.call(data.datasets, self.get_query_argument("name", None) or None,
                                self.get_query_argument("run_id", None) or None)
        self.reply({"datasets": dataset_records(frame)})


class ModelsHandler(NbmlopsHandler):
    """GET models: registered models."""

    @tornado.web.authenticated
    async def get(self) -> None:
        self.reply(await self.call(model_list))


class ModelHandler(NbmlopsHandler):
    """GET models/{name}: a model's versions and aliases."""

    @tornado.web.authenticated
    async def get(self, name: str) -> None:
        self.reply(await self.call(model_detail, name))


class ModelHistoryHandler(NbmlopsHandler):
    """GET models/{name}/history: the alias audit log."""

    @tornado.web.authenticated
    async def get(self, name: str) -> None:
        self.reply(await self.call(model_history, name))


class AliasesHandler(NbmlopsHandler):
    """POST models/{name}/aliases: promote a version, through an optional gate."""

    @tornado.web.authenticated
    async def post(self, name: str) -> None:
        body = json_body(self.request.body)
        if not isinstance(body, dict) or "alias" not in body or "version" not in body:
            raise InvalidInputError('send a JSON object like {"alias": "production", "version": 3, '
                                    '"gate": "metrics.auc >= champion.metrics.auc", "reason": "..."}')
        unknown = set(body) - {"alias", "version", "gate", "reason"}
        if unknown:
            raise InvalidInputError(f"unknown field(s) {', '.join(sorted(unknown))}: use alias, version, gate, reason")
        self.reply(await self.call(promote, name, body))


class LineageHandler(NbmlopsHandler):
    """GET lineage?ref=...: what a model, run or dataset version came from and what came of it."""

    @tornado.web.authenticated
    async def get(self) -> None:
        ref = self.get_query_argument("ref", "")
        if not ref.strip():
            raise InvalidInputError("give what to trace: ?ref=name@alias, name/3, a run id or dataset:name@3")
        self.reply(await self.call(lineage_graph, ref))


class MonitoringHandler(NbmlopsHandler):
    """GET models/{name}/monitoring: drift reports over time and the latest per-feature drift."""

    @tornado.web.authenticated
    async def get(self, name: str) -> None:
        self.reply(await self.call(model_monitoring, name))


class PromotionHandler(NbmlopsHandler):
    """GET models/{name}/promotion: the gate of a promotion evaluated against the holder; changes nothing."""

    @tornado.web.authenticated
    async def get(self, name: str) -> None:
        version = self.integer("version", 0, 1, 10**15)
        if not version:
            raise InvalidInputError("give the version to check: ?version=N&alias=production&gate=...")
        self.reply(await self.call(promotion_check, name, version, self.get_query_argument("alias", "production"),
                                   self.get_query_argument("gate", None) or None))


class AliasHandler(NbmlopsHandler):
    """DELETE models/{name}/aliases/{alias}: remove the alias (audited)."""

    @tornado.web.authenticated
    async def delete(self, name: str, alias: str) -> None:
        await self.call(registry.unalias, name, alias, reason=self.get_query_argument("reason", None) or None)
        self.set_status(204)
        self.finish()


# The one route table: setup_handlers and the OpenAPI test both read it.
ROUTES: list[tuple[str, type[NbmlopsHandler]]] = [
    ("experiments", ExperimentsHandler),
    ("runs", RunsHandler),
    ("keys", KeysHandler),
    ("runs/{run_id}", RunHandler),
    ("runs/{run_id}/metrics/{key}", MetricHandler),
    ("runs/{run_id}/artifacts/{path}", ArtifactHandler),
    ("runs/{run_id}/media", MediaHandler),
    ("runs/{run_id}/media/table", MediaTableHandler),
    ("runs/{run_id}/diff/{other_run_id}", RunDiffHandler),
    ("datasets", DatasetsHandler),
    ("lineage", LineageHandler),
    ("models", ModelsHandler),
    ("models/{name}", ModelHandler),
    ("models/{name}/history", ModelHistoryHandler),
    ("models/{name}/monitoring", MonitoringHandler),
    ("models/{name}/promotion", PromotionHandler),
    ("models/{name}/aliases", AliasesHandler),
    ("models/{name}/aliases/{alias}", AliasHandler),
]
