"""Monitoring reports in the catalog: one row per monitored batch, and the per-feature drift of each.

Named reads and writes on the catalog connection the caller holds; the caller keeps the
transaction, so a report and its feature rows commit together. Timestamps are naive UTC, as stored.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import NamedTuple

import duckdb
import pandas as pd


class ReportRow(NamedTuple):
    """One row of monitoring_reports."""

    report_id: str
    name: str
    version: int
    timestamp: dt.datetime  # the batch's time
    created_at: dt.datetime  # when it was monitored
    user: str | None
    n_rows: int
    n_columns: int
    drifted_columns: int
    drift_share: float
    dataset_drift: bool
    prediction_drift: bool | None  # None: predictions were not compared
    prediction_test: str | None
    prediction_score: float | None
    metrics_json: str
    quality_json: str
    source: str | None


class FeatureRow(NamedTuple):
    """One row of monitoring_features: the drift of one column in one report."""

    report_id: str
    column: str
    kind: str
    stat_test: str
    score: float | None
    threshold: float
    drifted: bool
    psi: float | None
    reference_nulls: float
    current_nulls: float


def record_report(con: duckdb.DuckDBPyConnection, report: ReportRow, features: Sequence[FeatureRow]) -> None:
    """Store a report and its per-feature rows."""
    con.execute("INSERT INTO monitoring_reports VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                list(report))
    if features:
        con.executemany("INSERT INTO monitoring_features VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        [list(f) for f in features])


def reports_table(con: duckdb.DuckDBPyConnection, name: str, version: int | None) -> pd.DataFrame:
    """The reports of model `name` (of one version, or all when None), oldest first.

    Columns: timestamp, version, n_rows, n_columns, drifted_columns, drift_share, dataset_drift,
    prediction_drift, prediction_score, metrics_json, report_id, source.
    """
    return con.execute(
        "SELECT timestamp, version, n_rows, n_columns, drifted_columns, drift_share, dataset_drift, "
        "prediction_drift, prediction_score, metrics_json, report_id, source FROM monitoring_reports "
        "WHERE name = ? AND (? IS NULL OR version = ?) ORDER BY timestamp, created_at",
        [name, version, version]).df()


def latest_report_id(con: duckdb.DuckDBPyConnection, name: str, version: int | None) -> str | None:
    """The report about the latest batch of model `name` (of one version, or any when None)."""
    row = con.execute("SELECT report_id FROM monitoring_reports WHERE name = ? AND (? IS NULL OR version = ?) "
                      "ORDER BY timestamp DESC, created_at DESC LIMIT 1", [name, version, version]).fetchone()
    return str(row[0]) if row else None


def has_report(con: duckdb.DuckDBPyConnection, name: str, report_id: str) -> bool:
    """Whether `report_id` is a report about model `name`."""
    return con.execute("SELECT 1 FROM monitoring_reports WHERE report_id = ? AND name = ?",
                       [report_id, name]).fetchone() is not None


def features_table(con: duckdb.DuckDBPyConnection, report_id: str) -> pd.DataFrame:
    """The per-feature drift of one report, drifted columns first.

    Columns: report_id, version, timestamp, column, kind, stat_test, score, threshold, drifted, psi,
    reference_nulls, current_nulls.
    """
    return con.execute("""
        SELECT r.report_id, r.version, r.timestamp, f.column_name AS column, f.kind, f.stat_test, f.score,
               f.threshold, f.drifted, f.psi, f.reference_nulls, f.current_nulls
        FROM monitoring_features f JOIN monitoring_reports r USING (report_id)
        WHERE f.report_id = ? ORDER BY f.drifted DESC, f.column_name""", [report_id]).df()
