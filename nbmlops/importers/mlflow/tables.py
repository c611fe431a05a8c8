"""MLflow's runs as the tables a bundle holds, written as Parquet for the bundle merge.

Ids: a run's id here is a UUID derived from its MLflow run id (`run_id_for`), so importing again, or
from another URI of the same MLflow store, names the same run; the run also carries the tag
`mlflow.run_id`. MLflow's system tags become what nbmlops records itself where there is a
counterpart (columns: run name, user, parent run, notebook; tags: `source`, `git.commit`,
`git.branch`, `git.remote`); every other tag is kept as it is. MLflow params are text: those that
read as numbers are typed int or float, as `log_param` would have typed them.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from nbmlops.importers.mlflow.source import Source

NAMESPACE = uuid.UUID("5b0a5e2e-7c1d-4f0e-9a57-6d6c666c6f77")  # fixed forever: ids must not change
ORIGIN_TAG = "mlflow.run_id"
STATUS = {"SCHEDULED": "RUNNING", "RUNNING": "RUNNING", "FINISHED": "FINISHED", "FAILED": "FAILED",
          "KILLED": "KILLED"}
TAGS = {"mlflow.source.git.commit": "git.commit", "mlflow.source.git.branch": "git.branch",
        "mlflow.source.git.repoURL": "git.remote"}
# Held in run columns here (or by `source` and the notebook column): not repeated as tags.
AS_COLUMNS = ("mlflow.runName", "mlflow.user", "mlflow.parentRunId", "mlflow.source.name", "mlflow.source.type")
ROLES = {"training": "train", "train": "train", "validation": "validation", "eval": "validation",
         "evaluation": "validation", "test": "test", "testing": "test"}
_INT = re.compile(r"[-+]?\d{1,18}")
_FLOAT = re.compile(r"[-+]?(\d+\.\d*|\.\d+|\d+)([eE][-+]?\d{1,3})?")


def run_id_for(mlflow_run_id: str) -> str:
    """The id here of the MLflow run `mlflow_run_id` (32 hex digits, the same on every import)."""
    return uuid.uuid5(NAMESPACE, mlflow_run_id).hex


@dataclass(frozen=True)
class Written:
    """What the tables hold: runs and metric points."""

    runs: int
    points: int


def write_run_tables(source: Source, artifacts: pd.DataFrame, folder: Path) -> Written:
    """Write runs, params, metrics, latest_metrics, tags, artifacts, run_datasets, experiments (those
    with runs: MLflow's empty `Default` stays behind) and datasets to `folder` as `<table>.parquet`."""
    if source.runs.empty:  # every run is here as it is: the merge still weighs model versions
        _write_empty(folder)
        return Written(0, 0)
    runs = source.runs.copy()
    ids = dict(zip(runs["run_id"], runs["run_id"].map(run_id_for), strict=True))
    runs["ours"] = runs["run_id"].map(ids)
    runs["start"] = _times(runs["start_time"].fillna(runs["end_time"]).fillna(0))
    experiments = source.experiments.assign(experiment_id=source.experiments["experiment_id"].astype(str))
    experiments = experiments[experiments["experiment_id"].isin(set(runs["experiment_id"]))].reset_index(drop=True)
    created = _times(experiments["created_at"]).fillna(pd.Timestamp(0))
    names = dict(zip(experiments["experiment_id"], experiments["name"], strict=True))
    firsts = runs.groupby("experiment_id")["start"].min()
    created = created.where(experiments["created_at"].notna(),
                            pd.to_datetime(experiments["experiment_id"].map(dict(firsts))))
    write_table(folder, "experiments", pd.DataFrame({"name": experiments["name"], "created_at": created.fillna(
        pd.Timestamp(0))}))
    system = source.tags[source.tags["key"].isin(AS_COLUMNS)].pivot_table(
        index="run_id", columns="key", values="value", aggfunc="first")
    system = system.reindex(index=runs["run_id"], columns=list(AS_COLUMNS))
    source_name = system["mlflow.source.name"].to_numpy()
    notebook = (system["mlflow.source.type"].to_numpy() == "NOTEBOOK") | pd.Series(source_name, dtype=object) \
        .fillna("").astype(str).str.endswith(".ipynb").to_numpy()  # no tag at all: a float column of NaN
    write_table(folder, "runs", pd.DataFrame({
        "run_id": runs["ours"], "experiment": runs["experiment_id"].map(names),
        "name": runs["name"].fillna(pd.Series(system["mlflow.runName"].to_numpy(), index=runs.index))
        .fillna(runs["run_id"].str[:8]),
        "status": runs["status"].map(STATUS).fillna("FINISHED"), "start_time": runs["start"],
        "end_time": _times(runs["end_time"]), "user_name": runs["user_id"].fillna(
            pd.Series(system["mlflow.user"].to_numpy(), index=runs.index)),
        "host": None, "parent_run_id": pd.Series(system["mlflow.parentRunId"].to_numpy()).map(
            lambda v: run_id_for(v) if isinstance(v, str) and v else None),
        "notebook": np.where(notebook, source_name, None), "error": None, "journal": None}))
    start_of = dict(zip(runs["run_id"], runs["start"], strict=True))
    write_table(folder, "params", _params(source.params, ids))
    write_table(folder, "tags", _tags(source.tags, ids, start_of, notebook_runs=set(runs["run_id"][notebook])))
    points = _write_metrics(source.metrics, ids, folder)
    write_table(folder, "artifacts", artifacts)
    _write_datasets(source.inputs, ids, start_of, folder)
    return Written(len(runs), points)


def _write_empty(folder: Path) -> None:
    """The two tables the merge requires, with no rows (the others may be absent)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    text, ts = pa.string(), pa.timestamp("us")
    run_columns = [("run_id", text), ("experiment", text), ("name", text), ("status", text), ("start_time", ts),
                   ("end_time", ts), ("user_name", text), ("host", text), ("parent_run_id", text), ("notebook", text),
                   ("error", text), ("journal", text)]
    point_columns = [("run_id", text), ("key", text), ("step", pa.int64()), ("timestamp", ts), ("value", pa.float64())]
    for table, columns in (("runs", run_columns), ("metrics", point_columns)):
        pq.write_table(pa.schema(columns).empty_table(), folder / f"{table}.parquet")


def _params(params: pd.DataFrame, ids: dict[str, str]) -> pd.DataFrame:
    text = params["value"]
    is_int = text.fillna("").str.fullmatch(_INT)
    is_float = ~is_int & text.fillna("").str.fullmatch(_FLOAT)
    number = pd.to_numeric(text.where(is_int | is_float), errors="coerce")
    number = number.where(np.isfinite(number.to_numpy(dtype="float64", na_value=np.nan)))
    kind = np.select([text.isna(), is_int, is_float & number.notna()], ["none", "int", "float"], "str")
    return pd.DataFrame({"run_id": params["run_id"].map(ids), "key": params["key"], "value": text,
                         "value_num": number.where(kind != "str").astype("Float64"), "value_type": kind})


def _tags(tags: pd.DataFrame, ids: dict[str, str], start_of: dict[str, pd.Timestamp],
          notebook_runs: set[str]) -> pd.DataFrame:
    kept = tags[~tags["key"].isin(AS_COLUMNS)].assign(key=lambda t: t["key"].replace(TAGS))
    scripts = tags[(tags["key"] == "mlflow.source.name") & ~tags["run_id"].isin(notebook_runs)].assign(key="source")
    origin = pd.DataFrame({"run_id": list(ids), "key": ORIGIN_TAG, "value": list(ids)})
    # A tag the user set under our name wins over the one mapped from MLflow's system tag.
    rows = pd.concat([origin, kept, scripts], ignore_index=True).drop_duplicates(["run_id", "key"], keep="first")
    return pd.DataFrame({"run_id": rows["run_id"].map(ids), "key": rows["key"], "value": rows["value"].fillna(""),
                         "updated_at": rows["run_id"].map(start_of)})


def _write_metrics(points: pd.DataFrame, ids: dict[str, str], folder: Path) -> int:
    run_codes, run_names = pd.factorize(points["run_id"])
    key_codes, key_names = pd.factorize(points["key"])
    step = points["step"].to_numpy(dtype="int64")
    ts = points["timestamp"].to_numpy(dtype="int64")
    value = points["value"].to_numpy(dtype="float64")
    ours = np.array([ids[r] for r in run_names], dtype=object)
    keys = np.asarray(key_names, dtype=object)
    columns = {"run_id": ours[run_codes], "key": keys[key_codes], "step": step,
               "timestamp": (ts * 1000).astype("datetime64[us]"), "value": value}
    write_table(folder, "metrics", columns)
    # The latest point of each metric: highest step, then latest timestamp, then the last one read.
    series = run_codes.astype("int64") * max(len(keys), 1) + key_codes
    order = np.lexsort((np.arange(len(step)), ts, step, series))
    ordered = series[order]
    last = order[np.append(ordered[1:] != ordered[:-1], True)] if len(order) else order
    write_table(folder, "latest_metrics", {name: column[last] for name, column in columns.items()})
    return len(step)


def _write_datasets(inputs: pd.DataFrame, ids: dict[str, str], start_of: dict[str, pd.Timestamp],
                    folder: Path) -> None:
    """MLflow dataset inputs with a digest as dataset versions (fingerprint `mlflow-<digest>`)."""
    found = inputs[inputs["digest"].fillna("").astype(str).str.len() > 0]
    records, uses = [], []
    for row in found.itertuples(index=False):
        fingerprint = f"mlflow-{row.digest}"
        columns, schema = _colspec(row.schema)
        profile = _json_object(row.profile)
        records.append({"name": row.name or "dataset", "fingerprint": fingerprint,
                        "kind": "dataframe" if schema else "file", "rows": _int(profile.get("num_rows")),
                        "columns": columns, "size_bytes": None, "files": None,
                        "schema_json": None if schema is None else _dumps(schema),
                        "profile_json": _dumps(profile) if profile else None,
                        "source": f"{row.source_type}: {row.source}" if row.source_type else row.source,
                        "created_at": start_of[row.run_id]})
        context = (row.context or "").strip()
        uses.append({"run_id": ids[row.run_id], "name": row.name or "dataset", "fingerprint": fingerprint,
                     "role": ROLES.get(context.lower(), context or "input"), "logged_at": start_of[row.run_id]})
    datasets = pd.DataFrame(records, columns=[
        "name", "fingerprint", "kind", "rows", "columns", "size_bytes", "files", "schema_json", "profile_json",
        "source", "created_at"]).drop_duplicates(["name", "fingerprint"])
    write_table(folder, "datasets", datasets.astype({"rows": "Int64", "columns": "Int64", "size_bytes": "Int64",
                                                "files": "Int64"}))
    used = pd.DataFrame(uses, columns=["run_id", "name", "fingerprint", "role", "logged_at"])
    write_table(folder, "run_datasets", used.drop_duplicates(["run_id", "name", "fingerprint", "role"]))


def _colspec(text: object) -> tuple[int | None, dict[str, str] | None]:
    """Column count and {column: type} of an MLflow tabular schema (`mlflow_colspec`), else (None, None)."""
    specs = _json_object(text).get("mlflow_colspec")
    if not isinstance(specs, list):
        return None, None
    schema = {str(c.get("name", i)): str(c.get("type", "")) for i, c in enumerate(specs) if isinstance(c, dict)}
    return len(schema), schema


def _json_object(text: object) -> dict[str, Any]:
    import json

    try:
        value = json.loads(text) if isinstance(text, str) and text else {}
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _dumps(value: object) -> str:
    import json

    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def _int(value: object) -> int | None:
    return int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) and np.isfinite(value) \
        else None


def _times(ms: pd.Series) -> pd.Series:
    """MLflow's milliseconds since the epoch as naive UTC timestamps (None stays missing)."""
    return pd.to_datetime(pd.to_numeric(ms, errors="coerce"), unit="ms")


def write_table(folder: Path, table: str, rows: pd.DataFrame | dict[str, np.ndarray]) -> None:
    """One table as Parquet; float columns keep NaN and +-inf as values (pyarrow from NumPy, not pandas' nulls)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    frame = rows if isinstance(rows, pd.DataFrame) else None
    items = frame.items() if frame is not None else rows.items()
    arrays, names = [], []
    for name, column in items:
        values = column.to_numpy() if isinstance(column, pd.Series) and column.dtype == "float64" else column
        if isinstance(values, np.ndarray) and values.dtype == "float64":
            arrays.append(pa.array(values))  # NaN stays NaN
        elif isinstance(values, np.ndarray) and values.dtype.kind == "M":
            arrays.append(pa.array(values.astype("datetime64[us]")))
        else:
            series = column if isinstance(column, pd.Series) else pd.Series(column)
            if series.dtype.kind == "M":
                arrays.append(pa.array(series.to_numpy().astype("datetime64[us]"), from_pandas=True))
            elif series.dtype == object and series.isna().all():
                arrays.append(pa.array([None] * len(series), type=pa.string()))
            else:
                arrays.append(pa.Array.from_pandas(series))
        names.append(str(name))
    pq.write_table(pa.table(arrays, names=names), folder / f"{table}.parquet")
