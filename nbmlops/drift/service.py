"""Monitoring: production batches compared with a model version's training data, kept as a time series.

`monitor` compares a batch with the reference profile stored with the model version at
`log_model` time (drift per feature with Evidently's default tests, prediction drift, data
quality, performance when labels are given) and stores the report; `monitoring` returns the
reports of a model over time and `feature_drift` the per-feature drift of one report.

Reports are written straight into the catalog in one short transaction, as registry changes are,
not through the journals: they are rare (one per batch), often made by a process that has no run
(the CLI, a scheduler, the Jupyter server), and a scheduler that monitors and then decides to
retrain must read the report it just wrote.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from nbmlops.drift.reference import ReferenceProfile, as_frame, predict
from nbmlops.drift.report import DataQuality, MonitoringReport
from nbmlops.drift.statistics import ColumnFacts, FeatureDrift, compare
from nbmlops.errors import InvalidInputError, NoReferenceError, NotFoundError, UntrustedModelError
from nbmlops.registry import models as registry
from nbmlops.store import models as model_tables
from nbmlops.store import monitoring as report_tables
from nbmlops.store.backend import Connection
from nbmlops.store.folder import Store
from nbmlops.tracking.names import new_run_id
from nbmlops.tracking.tracker import current_user

NULL_TOLERANCE = 0.01  # a batch may have this much more missing values than the reference unremarked
RANGE_TOLERANCE = 0.01  # ...and this share of values beyond its min and max (a sample's extremes move)
THREADS = min(4, (os.cpu_count() or 1) + 1)  # numpy sorts release the GIL: columns are compared in parallel


def reference_of(store: Store, version: registry.ModelVersion) -> ReferenceProfile:
    """The reference profile stored with a model version."""
    with store.reading(refresh=False) as con:
        sha = model_tables.reference_sha256(con, version.name, version.version)
        if sha is None and version.run_id:
            # A version that came through a bundle (import, Dask sweep) has its profile only as
            # the run's artifact: the registry row stays in the store that registered it.
            sha = model_tables.artifact_sha256(con, version.run_id, f"models/{version.name}/reference.json")
    if sha is None:
        raise NoReferenceError(
            f"model {version.uri} has no reference profile to compare with (logged before monitoring "
            f"existed, or without training data): register a new version with "
            f"nbmlops.log_model(model, {version.name!r}, reference_data=X_train)")
    return ReferenceProfile.from_bytes(store.read_verified(sha, f"the reference profile of {version.uri}"))


def monitor(store: Store, model: str, data: Any, labels: Any = None, timestamp: Any = None, *,
            trusted: bool = False, source: str | None = None, save: bool = True) -> MonitoringReport:
    """Compare a batch with the reference of `model` (e.g. "churn@production"); store and return the report."""
    version = registry.resolve(store, model)
    if version.version == 0:
        raise InvalidInputError(f"{model!r} is not a registered model version: monitor name@alias or name/VERSION")
    reference = reference_of(store, version)
    frame, y = _split_labels(as_frame(data).rename(columns=str), labels)
    when = _timestamp(timestamp)
    compared = [c for c in reference.columns if c in frame.columns]
    notes: list[str] = [] if reference.prediction is not None else [
        "prediction drift unavailable: the reference holds no predictions of the model (see the warning "
        "log_model gave; register with reference_data= holding the model's inputs)"]
    with ThreadPoolExecutor(THREADS) as pool:  # the model predicts while the columns are compared
        predicting = (pool.submit(_predictions, store, version, reference, frame, trusted, notes)
                      if reference.prediction is not None or y is not None else None)
        results = list(pool.map(lambda c: compare(reference.columns[c], frame[c]), compared))
        predictions = predicting.result() if predicting else None
    features = [drift for drift, _ in results]
    prediction = None
    if predictions is not None and reference.prediction is not None:
        prediction = compare(reference.prediction, pd.Series(predictions))[0]
    metrics = {}
    if y is not None and predictions is not None:
        metrics = performance(_task(reference), y, predictions)
    report = MonitoringReport(new_run_id(), version.name, version.version, when.replace(tzinfo=dt.timezone.utc),
                              len(frame), features, prediction,
                              _quality(version, reference, frame, results), metrics, notes, source)
    if save:
        _save(store, report)
    return report


def _split_labels(frame: pd.DataFrame, labels: Any) -> tuple[pd.DataFrame, np.ndarray | None]:
    """The features, and the labels: a column of the batch (taken out of it) or one value per row."""
    if labels is None:
        return frame, None
    if isinstance(labels, str):
        if labels not in frame.columns:
            raise InvalidInputError(f"labels column {labels!r} is not in the data; its columns: "
                                    f"{', '.join(list(frame.columns)[:20])}")
        return frame.drop(columns=labels), frame[labels].to_numpy()
    y = labels.to_numpy() if isinstance(labels, (pd.Series, pd.Index)) else np.asarray(labels)
    if y.ndim != 1 or len(y) != len(frame):
        raise InvalidInputError(f"labels has {len(y) if y.ndim else 0} values for {len(frame)} rows: give one "
                                "label per row, or the name of the label column")
    return frame, y


def _timestamp(value: Any) -> dt.datetime:
    """A naive UTC datetime: now, or the given datetime or ISO 8601 text (naive means UTC)."""
    if value is None:
        return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    try:
        ts = pd.Timestamp(value)
    except (TypeError, ValueError):
        ts = pd.NaT
    if ts is pd.NaT or isinstance(value, (int, float)):
        raise InvalidInputError(f"timestamp {value!r} must be a datetime or ISO 8601 text such as 2026-03-01T12:00")
    if ts.tzinfo is not None:
        ts = ts.tz_convert("UTC").tz_localize(None)
    return ts.to_pydatetime()


def _predictions(store: Store, version: registry.ModelVersion, reference: ReferenceProfile,
                 frame: pd.DataFrame, trusted: bool, notes: list[str]) -> np.ndarray | None:
    """The model's predictions for the batch, or None with a note saying why not."""
    missing = [c for c in reference.schema if c not in frame.columns]
    if missing:
        notes.append(f"predictions not compared: the batch lacks {len(missing)} column(s) the model needs")
        return None
    try:
        model = registry.load_model(store, version.uri, trusted=trusted)
    except UntrustedModelError as exc:
        notes.append(f"predictions not compared: {exc}")
        return None
    try:
        return predict(model, frame[list(reference.schema)])
    except Exception as exc:  # the model's own code: report it, the rest of the report still holds
        notes.append(f"predictions not compared: the model failed to predict ({type(exc).__name__}: {exc})")
        return None


def _task(reference: ReferenceProfile) -> str:
    """classification or regression: as the model says, else from its reference predictions."""
    if reference.task:
        return reference.task
    p = reference.prediction
    return "regression" if p is not None and p.kind == "numeric" and p.categories is None else "classification"


def performance(task: str, labels: np.ndarray, predictions: np.ndarray) -> dict[str, float]:
    """accuracy and f1 (binary, else macro) for classification; rmse, mae and r2 for regression."""
    keep = ~pd.isna(labels)
    y, p = labels[keep], predictions[keep]
    if not len(y):
        return {}
    if task == "regression":
        y, p = y.astype(np.float64), p.astype(np.float64)
        error = p - y
        total = float(np.sum((y - y.mean()) ** 2))
        return {"rmse": float(np.sqrt(np.mean(error ** 2))), "mae": float(np.mean(np.abs(error))),
                "r2": 1 - float(np.sum(error ** 2)) / total if total else float("nan")}
    if y.dtype.kind != p.dtype.kind and not (y.dtype.kind in "iufb" and p.dtype.kind in "iufb"):
        y, p = y.astype(str), p.astype(str)  # e.g. labels read as text, classes as numbers
    classes = np.unique(np.concatenate([y, p]))
    positive = [c for c in classes if c in (1, True)] if len(classes) == 2 else []
    f1s = [_f1(y, p, c) for c in (positive[-1:] or classes)]
    return {"accuracy": float(np.mean(y == p)), "f1": float(np.mean(f1s))}


def _f1(y: np.ndarray, p: np.ndarray, positive: Any) -> float:
    hits = np.sum((y == positive) & (p == positive))
    claimed, actual = np.sum(p == positive), np.sum(y == positive)
    return float(2 * hits / (claimed + actual)) if claimed + actual else 0.0


def _family(dtype: str) -> str:
    """integer, float, bool, datetime, timedelta or text: dtypes within one family are compatible."""
    try:
        kind = pd.api.types.pandas_dtype(dtype).kind
    except TypeError:
        return dtype
    return {"i": "integer", "u": "integer", "f": "float", "b": "bool", "M": "datetime",
            "m": "timedelta"}.get(kind, "text")


def _quality(version: registry.ModelVersion, reference: ReferenceProfile, frame: pd.DataFrame,
             results: list[tuple[FeatureDrift, ColumnFacts]]) -> DataQuality:
    """Schema against the signature (else the reference), then what comparing the columns found."""
    inputs = (version.signature or {}).get("inputs")
    expected = {i["name"]: i["dtype"] for i in inputs} if inputs else reference.schema
    found = {str(c): str(t) for c, t in frame.dtypes.items()}
    nulls, unseen, outside = {}, {}, {}
    for drift, facts in results:
        if facts.nulls and drift.current_nulls > drift.reference_nulls + NULL_TOLERANCE:
            nulls[drift.column] = (drift.reference_nulls, drift.current_nulls)
        if facts.unseen_rows:
            unseen[drift.column] = (facts.unseen, facts.unseen_rows)
        share = facts.out_of_range / max(1, facts.rows - facts.nulls)
        if share > RANGE_TOLERANCE:
            outside[drift.column] = (facts.out_of_range, share)
    return DataQuality(
        missing_columns=[c for c in expected if c not in found],
        extra_columns=[c for c in found if c not in expected],
        dtype_changes={c: (t, found[c]) for c, t in expected.items()
                       if c in found and _family(t) != _family(found[c])},
        nulls=nulls, unseen_categories=unseen, out_of_range=outside)


def _save(store: Store, report: MonitoringReport) -> None:
    """Write the report and its per-feature rows in one transaction."""
    prediction = report.prediction
    row = report_tables.ReportRow(
        report.report_id, report.model, report.version, report.timestamp.replace(tzinfo=None),
        dt.datetime.now(dt.timezone.utc).replace(tzinfo=None), current_user(), report.n_rows,
        len(report.features), len(report.drifted_columns), report.drift_share, report.dataset_drift,
        prediction.drifted if prediction else None, prediction.stat_test if prediction else None,
        _number(prediction.score) if prediction else None, json.dumps(report.metrics),
        json.dumps(report.quality.to_json()), report.source)
    features = [report_tables.FeatureRow(report.report_id, f.column, f.kind, f.stat_test, _number(f.score),
                                         f.threshold, f.drifted, _number(f.psi), f.reference_nulls, f.current_nulls)
                for f in report.features]
    store.write(lambda con: report_tables.record_report(con, row, features))


def _number(value: float) -> float | None:
    """A finite float, or None (stored as NULL)."""
    return value if np.isfinite(value) else None


# -- the time series ---------------------------------------------------------------------------
def _target(con: Connection, store: Store, model: str) -> tuple[str, int | None]:
    """(name, version) for name@alias or name/VERSION; (name, None) for all versions of a name."""
    if isinstance(model, str) and ("@" in model or "/" in model):
        version = registry.resolve(store, model)
        return version.name, version.version
    name = registry.model_name(model)
    if not model_tables.is_registered(con, name):
        raise NotFoundError(f"no registered model {name!r}: see `nbmlops models`")
    return name, None


def monitoring(store: Store, model: str) -> pd.DataFrame:
    """Monitoring reports of a model (all versions, or the one `name@alias`/`name/N` names), oldest first.

    One row per report: timestamp, version, n_rows, n_columns, drifted_columns, drift_share,
    dataset_drift, prediction_drift, prediction_score, report_id, source, then `metrics.*` columns.
    """
    with store.reading() as con:
        name, version = _target(con, store, model)
        df = report_tables.reports_table(con, name, version)
    metrics = pd.DataFrame([json.loads(m or "{}") for m in df.pop("metrics_json")], index=df.index)
    df["timestamp"] = pd.to_datetime(df["timestamp"]).dt.tz_localize("UTC")
    return pd.concat([df, metrics.add_prefix("metrics.")], axis=1)


def feature_drift(store: Store, model: str, report_id: str | None = None) -> pd.DataFrame:
    """Per-feature drift of the latest report of a model (or of `report_id`), drifted columns first.

    Columns: report_id, version, timestamp, column, kind, stat_test, score, threshold, drifted, psi,
    reference_nulls, current_nulls; no rows when the model has no report yet.
    """
    with store.reading() as con:
        name, version = _target(con, store, model)
        if report_id is None:
            report_id = report_tables.latest_report_id(con, name, version) or ""
        elif not report_tables.has_report(con, name, report_id):
            raise NotFoundError(f"model {name!r} has no monitoring report {report_id!r}: "
                                f"see nbmlops.monitoring({name!r})")
        df = report_tables.features_table(con, report_id)
    df["timestamp"] = pd.to_datetime(df["timestamp"]).dt.tz_localize("UTC")
    return df


def read_batch(path: str | os.PathLike[str]) -> pd.DataFrame:
    """A batch from a .csv or .parquet file."""
    file = Path(path)
    if not file.is_file():
        raise NotFoundError(f"data file {path} does not exist: give the path of a .csv or .parquet file")
    suffixes = [s.lower() for s in file.suffixes[-2:]]
    try:
        if ".csv" in suffixes:
            return pd.read_csv(file)
        if suffixes[-1:] in ([".parquet"], [".pq"]):
            with duckdb.connect() as con:  # reads Parquet without pyarrow
                return con.read_parquet(str(file)).df()
    except (ValueError, OSError, UnicodeDecodeError, duckdb.Error) as exc:
        raise InvalidInputError(f"cannot read {path}: {str(exc).splitlines()[0][:200]}") from None
    raise InvalidInputError(f"cannot read {file.name}: give a .csv or .parquet file")
