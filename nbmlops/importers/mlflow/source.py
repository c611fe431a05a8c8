"""Reading an MLflow tracking store: experiments, runs, params, tags, every metric point, dataset inputs.

Database stores (`sqlite:///`, `postgresql://`, `mysql://`, `mssql://`) are read in bulk through
MLflow's own SQLAlchemy store and its ORM models: one query per table, not one request per run and
metric key, which is what lets 10,000 runs of 100 points come over in seconds. File stores and
tracking servers are read through `MlflowClient`, run by run. Both give the same frames (`Source`).

Nothing is written to the source: a URI is checked before MLflow opens it (MLflow would create an
empty database at a path that has none).
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import pandas as pd

from nbmlops.errors import InvalidInputError, NotFoundError

DB_SCHEMES = ("sqlite", "postgresql", "mysql", "mssql")
RUN_COLUMNS = ["run_id", "experiment_id", "name", "status", "start_time", "end_time", "user_id", "artifact_uri"]
POINT_COLUMNS = ["run_id", "key", "value", "timestamp", "step"]
INPUT_COLUMNS = ["run_id", "name", "digest", "source_type", "source", "schema", "profile", "context"]
_PAGE = 1000
Progress = Callable[[int], None]


@dataclass
class Source:
    """What was read from an MLflow store; times in milliseconds since the epoch, as MLflow keeps them."""

    uri: str
    experiments: pd.DataFrame  # experiment_id, name, created_at
    runs: pd.DataFrame  # RUN_COLUMNS
    params: pd.DataFrame  # run_id, key, value
    tags: pd.DataFrame  # run_id, key, value
    metrics: pd.DataFrame  # POINT_COLUMNS (NaN kept; see `_points`)
    inputs: pd.DataFrame  # INPUT_COLUMNS
    settled: pd.DataFrame  # RUN_COLUMNS: runs the store holds as they are (`Settle`), left out of the rest


# The MLflow ids of the runs (RUN_COLUMNS + "points", the run's metric point count or None where it
# would take a request per key) that the store holds as they are: their details are not read.
Settle = Callable[[pd.DataFrame], set[str]]


def tracking_uri(given: str | os.PathLike[str]) -> str:
    """The URI MLflow is given for `given`, after checking it names a store that exists.

    A bare path is a file store folder or an SQLite database file, whichever it is.
    """
    text = os.fspath(given).strip()
    if not text:
        raise InvalidInputError("the MLflow tracking URI is empty: give sqlite:///PATH, a file store folder or "
                                "http://HOST:PORT")
    scheme = urlparse(text).scheme.lower().split("+")[0] if "://" in text or text.startswith("file:") else ""
    if scheme in ("http", "https"):
        return text
    if scheme == "sqlite":
        return _checked_sqlite(text)
    if scheme in DB_SCHEMES:
        return text
    if scheme == "file":
        return _checked_folder(Path(unquote(urlparse(text).path)))
    if scheme:
        raise InvalidInputError(f"{text!r}: nbmlops imports MLflow stores at sqlite:///PATH, postgresql://, mysql://, "
                                f"a file store folder (or file://) or http(s)://HOST:PORT, not {scheme}://")
    path = Path(text).expanduser()
    if path.is_file():
        return _checked_sqlite(f"sqlite:///{path.resolve()}")
    return _checked_folder(path)


def _checked_sqlite(uri: str) -> str:
    path = Path(unquote(uri.split(":///", 1)[1])) if ":///" in uri else None
    if path is None or not path.is_file():
        raise NotFoundError(f"no MLflow database at {path or uri}: give the sqlite:///PATH of an existing one")
    try:
        con = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        finally:
            con.close()
    except sqlite3.DatabaseError as exc:
        raise InvalidInputError(f"{path} is not an MLflow database (SQLite says: {exc})") from None
    if not {"experiments", "runs", "metrics", "alembic_version"} <= tables:
        raise InvalidInputError(f"{path} is not an MLflow database (it has no MLflow runs and experiments tables)")
    return uri


def _checked_folder(path: Path) -> str:
    if not path.is_dir():
        raise NotFoundError(f"no MLflow store at {path}: give an mlruns folder, sqlite:///PATH or http://HOST:PORT")
    if not any(child.is_file() for child in path.glob("*/meta.yaml")):
        raise InvalidInputError(f"{path} is not an MLflow file store (no experiment folders with a meta.yaml): "
                                "give its mlruns folder")
    return path.resolve().as_uri()


def is_database(uri: str) -> bool:
    """Whether MLflow reads `uri` with its SQLAlchemy store (read in bulk here)."""
    return urlparse(uri).scheme.lower().split("+")[0] in DB_SCHEMES


@contextmanager
def quick_failures() -> Iterator[None]:
    """MLflow's HTTP client without its minutes of retries (an unreachable server fails in seconds),
    without its download bars, and reading file stores (MLflow 3 refuses them unless allowed)."""
    defaults = {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0", "MLFLOW_HTTP_REQUEST_TIMEOUT": "30",
                "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false",  # our own bar, not one per download
                "MLFLOW_ALLOW_FILE_STORE": "true"}  # MLflow 3.x refuses file stores unless told: we only read
    saved = {k: os.environ.get(k) for k in defaults}
    for key, value in defaults.items():
        os.environ.setdefault(key, value)
    try:
        yield
    finally:
        for key, before in saved.items():
            if before is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = before


def experiments(client: Any, uri: str, names: list[str] | None) -> pd.DataFrame:
    """The active experiments to import (all, or those `names`): experiment_id, name, created_at."""
    from mlflow.entities import ViewType

    found: list[Any] = []
    token: str | None = None
    while True:
        page = client.search_experiments(view_type=ViewType.ACTIVE_ONLY, max_results=_PAGE, page_token=token)
        found.extend(page)
        token = page.token
        if not token:
            break
    frame = pd.DataFrame([(e.experiment_id, e.name, e.creation_time) for e in found],
                         columns=["experiment_id", "name", "created_at"])
    if names:
        missing = [n for n in names if n not in set(frame["name"])]
        if missing:
            known = ", ".join(sorted(frame["name"])) or "none"
            raise NotFoundError(f"no MLflow experiment {missing[0]!r} at {uri}; its experiments: {known}")
        frame = frame[frame["name"].isin(names)]
    return frame.reset_index(drop=True)


def read(client: Any, uri: str, names: list[str] | None, settle: Settle, progress: Progress | None = None) -> Source:
    """Everything of the chosen experiments' active runs but those `settle` names: in bulk from a
    database, else run by run."""
    chosen = experiments(client, uri, names)
    ids = [str(i) for i in chosen["experiment_id"]]
    if is_database(uri):
        return _read_database(uri, chosen, ids, settle)
    return _read_client(client, uri, chosen, ids, settle, progress)


# -- databases: MLflow's SQLAlchemy store and ORM models, one query per table ----------------------
def _read_database(uri: str, chosen: pd.DataFrame, ids: list[str], settle: Settle) -> Source:
    from mlflow.store.tracking.dbmodels import models as orm
    from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore
    from sqlalchemy import func, select

    store = SqlAlchemyStore(uri, None)
    run, m = orm.SqlRun, orm.SqlMetric
    active = (run.experiment_id.in_([int(i) for i in ids]), run.lifecycle_stage == "active")
    in_runs = select(run.run_uuid).where(*active)

    def rows(query: Any) -> list[Any]:
        # Plain tuples from the DB-API cursor: SQLAlchemy's Row objects cost pandas ~8 s per million.
        with store.engine.connect() as con:
            return list(con.execute(query).cursor.fetchall())

    runs = pd.DataFrame(rows(select(run.run_uuid, run.experiment_id, run.name, run.status, run.start_time,
                                    run.end_time, run.user_id, run.artifact_uri).where(*active)),
                        columns=RUN_COLUMNS)
    runs["experiment_id"] = runs["experiment_id"].astype(str)
    counts = dict(rows(select(m.run_uuid, func.count()).where(m.run_uuid.in_(in_runs)).group_by(m.run_uuid)))
    settled = settle(runs.assign(points=runs["run_id"].map(counts).fillna(0).astype("int64")))
    kept = runs[~runs["run_id"].isin(settled)]
    wanted = list(kept["run_id"])

    def details(query: Callable[[Any], Any]) -> list[Any]:
        """`query(runs)` for the runs kept: all at once, or in chunks of ids under the drivers' limits."""
        if not settled:
            return rows(query(in_runs))
        return [r for start in range(0, len(wanted), 5000) for r in rows(query(wanted[start:start + 5000]))]

    pairs = ["run_id", "key", "value"]
    p, t = orm.SqlParam, orm.SqlTag
    params = pd.DataFrame(details(lambda chosen_runs: select(p.run_uuid, p.key, p.value)
                                  .where(p.run_uuid.in_(chosen_runs))), columns=pairs)
    tags = pd.DataFrame(details(lambda chosen_runs: select(t.run_uuid, t.key, t.value)
                                .where(t.run_uuid.in_(chosen_runs))), columns=pairs)
    points = pd.DataFrame(details(lambda chosen_runs: select(m.run_uuid, m.key, m.value, m.timestamp, m.step, m.is_nan)
                                  .where(m.run_uuid.in_(chosen_runs))), columns=[*POINT_COLUMNS, "is_nan"])
    if len(points):
        points.loc[points["is_nan"].astype(bool), "value"] = float("nan")  # MLflow stores NaN as 0 + a flag
    inputs = pd.DataFrame(details(lambda chosen_runs: _database_inputs(orm, chosen_runs)), columns=INPUT_COLUMNS)
    store.engine.dispose()
    return Source(uri, chosen, kept.reset_index(drop=True), params, tags, _points(points.drop(columns="is_nan")),
                  inputs, runs[runs["run_id"].isin(settled)])


def _database_inputs(orm: Any, chosen_runs: Any) -> Any:
    """The query of the dataset inputs of `chosen_runs` (a list of ids or a query of them)."""
    from sqlalchemy import and_, select

    i, d, t = orm.SqlInput, orm.SqlDataset, orm.SqlInputTag
    return (select(i.destination_id, d.name, d.digest, d.dataset_source_type, d.dataset_source, d.dataset_schema,
                   d.dataset_profile, t.value)
            .join(d, d.dataset_uuid == i.source_id)
            .join(t, and_(t.input_uuid == i.input_uuid, t.name == "mlflow.data.context"), isouter=True)
            .where(i.source_type == "DATASET", i.destination_type == "RUN", i.destination_id.in_(chosen_runs)))


# -- file stores and servers: MlflowClient, run by run ---------------------------------------------
def _read_client(client: Any, uri: str, chosen: pd.DataFrame, ids: list[str], settle: Settle,
                 progress: Progress | None) -> Source:
    from mlflow.entities import ViewType

    found: list[Any] = []
    token: str | None = None
    while ids:
        page = client.search_runs(ids, run_view_type=ViewType.ACTIVE_ONLY, max_results=_PAGE, page_token=token)
        found.extend(page)
        token = page.token
        if not token:
            break
    listed = pd.DataFrame([(r.info.run_id, str(r.info.experiment_id), r.info.run_name, r.info.status,
                            r.info.start_time, r.info.end_time, r.info.user_id, r.info.artifact_uri) for r in found],
                          columns=RUN_COLUMNS)
    settled = settle(listed.assign(points=None))  # counting points would take a request per metric key
    runs: list[tuple[Any, ...]] = []
    params: list[tuple[Any, ...]] = []
    tags: list[tuple[Any, ...]] = []
    points: list[tuple[Any, ...]] = []
    inputs: list[tuple[Any, ...]] = []
    for r in found:
        info, rid = r.info, r.info.run_id
        if rid in settled:
            if progress:
                progress(1)
            continue
        runs.append((rid, str(info.experiment_id), info.run_name, info.status, info.start_time, info.end_time,
                     info.user_id, info.artifact_uri))
        params.extend((rid, k, v) for k, v in r.data.params.items())
        tags.extend((rid, k, v) for k, v in r.data.tags.items())
        for key in r.data.metrics:
            points.extend((rid, key, p.value, p.timestamp, p.step) for p in client.get_metric_history(rid, key))
        for given in (r.inputs.dataset_inputs if r.inputs else []):
            ds = given.dataset
            context = next((t.value for t in given.tags if t.key == "mlflow.data.context"), None)
            inputs.append((rid, ds.name, ds.digest, ds.source_type, ds.source, ds.schema, ds.profile, context))
        if progress:
            progress(1)
    pairs = ["run_id", "key", "value"]
    return Source(uri, chosen, pd.DataFrame(runs, columns=RUN_COLUMNS), pd.DataFrame(params, columns=pairs),
                  pd.DataFrame(tags, columns=pairs), _points(pd.DataFrame(points, columns=POINT_COLUMNS)),
                  pd.DataFrame(inputs, columns=INPUT_COLUMNS), listed[listed["run_id"].isin(settled)])


def _points(frame: pd.DataFrame) -> pd.DataFrame:
    """Metric points with float values; MLflow's database stores keep +-inf as +-the largest float: inf again."""
    values = frame["value"].astype("float64")
    big = 1.7976931348623157e308
    values = values.mask(values >= big, float("inf")).mask(values <= -big, float("-inf"))
    return frame.assign(value=values, step=frame["step"].fillna(0).astype("int64"),
                        timestamp=frame["timestamp"].fillna(0).astype("int64"))
