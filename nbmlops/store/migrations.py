"""Numbered catalog migrations: each runs in one transaction together with its bookkeeping row."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import duckdb


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    apply: Callable[[duckdb.DuckDBPyConnection], None]


MIGRATIONS: list[Migration] = []


Apply = Callable[[duckdb.DuckDBPyConnection], None]


def migration(version: int, name: str) -> Callable[[Apply], Apply]:
    """Register a migration; versions must be consecutive from 1."""

    def register(fn: Apply) -> Apply:
        if version != len(MIGRATIONS) + 1:
            raise RuntimeError(f"migration {version} registered out of order")
        MIGRATIONS.append(Migration(version, name, fn))
        return fn

    return register


def latest_version() -> int:
    return len(MIGRATIONS)


@migration(1, "core tracking tables")
def _core(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(
        """
        CREATE TABLE experiments (
            name VARCHAR PRIMARY KEY,
            created_at TIMESTAMP NOT NULL
        );
        CREATE TABLE runs (
            run_id VARCHAR PRIMARY KEY,
            experiment VARCHAR NOT NULL,
            name VARCHAR NOT NULL,
            status VARCHAR NOT NULL,          -- RUNNING, FINISHED, FAILED, KILLED
            start_time TIMESTAMP NOT NULL,    -- UTC
            end_time TIMESTAMP,
            user_name VARCHAR,
            host VARCHAR,
            parent_run_id VARCHAR,
            notebook VARCHAR,
            error VARCHAR,                    -- traceback of a FAILED run
            journal VARCHAR                   -- the journal of the process that started it
        );
        CREATE TABLE params (
            run_id VARCHAR NOT NULL,
            key VARCHAR NOT NULL,
            value VARCHAR,                    -- text form; containers as JSON
            value_num DOUBLE,                 -- numeric form of int/float/bool params
            value_type VARCHAR NOT NULL,      -- int, float, bool, str, none, json
            PRIMARY KEY (run_id, key)
        );
        CREATE TABLE metrics (
            run_id VARCHAR NOT NULL,
            key VARCHAR NOT NULL,
            step BIGINT NOT NULL,
            timestamp TIMESTAMP NOT NULL,
            value DOUBLE NOT NULL             -- NaN and +-inf kept as such
        );
        CREATE TABLE latest_metrics (
            run_id VARCHAR NOT NULL,
            key VARCHAR NOT NULL,
            step BIGINT NOT NULL,
            timestamp TIMESTAMP NOT NULL,
            value DOUBLE NOT NULL,
            PRIMARY KEY (run_id, key)
        );
        CREATE TABLE tags (
            run_id VARCHAR NOT NULL,
            key VARCHAR NOT NULL,
            value VARCHAR NOT NULL,
            updated_at TIMESTAMP NOT NULL,
            PRIMARY KEY (run_id, key)
        );
        CREATE TABLE artifacts (
            run_id VARCHAR NOT NULL,
            path VARCHAR NOT NULL,            -- name inside the run
            sha256 VARCHAR NOT NULL,          -- content address under artifacts/
            size BIGINT NOT NULL,
            created_at TIMESTAMP NOT NULL,
            PRIMARY KEY (run_id, path)
        );
        CREATE TABLE journals (
            name VARCHAR PRIMARY KEY,
            ingested_bytes BIGINT NOT NULL,   -- everything before this offset is in the catalog
            closed BOOLEAN NOT NULL,          -- writer closed it or is known dead
            last_event TIMESTAMP
        );
        """
    )


@migration(2, "dataset and model registry tables")
def _registry(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(
        """
        CREATE TABLE datasets (
            name VARCHAR NOT NULL,
            fingerprint VARCHAR NOT NULL,     -- hash of all the content
            kind VARCHAR NOT NULL,            -- dataframe, series, array, polars, file, directory
            rows BIGINT,
            columns BIGINT,
            size_bytes BIGINT,
            files BIGINT,
            schema_json VARCHAR,
            profile_json VARCHAR,
            source VARCHAR,
            created_at TIMESTAMP NOT NULL,
            PRIMARY KEY (name, fingerprint)   -- one version per distinct content of a name
        );
        CREATE TABLE run_datasets (
            run_id VARCHAR NOT NULL,
            name VARCHAR NOT NULL,
            fingerprint VARCHAR NOT NULL,
            role VARCHAR NOT NULL,            -- train, validation, test, ...
            logged_at TIMESTAMP NOT NULL,
            PRIMARY KEY (run_id, name, fingerprint, role)
        );
        CREATE TABLE registered_models (
            name VARCHAR PRIMARY KEY,
            created_at TIMESTAMP NOT NULL,
            description VARCHAR
        );
        CREATE TABLE model_versions (
            name VARCHAR NOT NULL,
            version INTEGER NOT NULL,         -- 1, 2, 3, ... per name
            run_id VARCHAR,                   -- the run that logged it
            artifact_path VARCHAR NOT NULL,   -- e.g. models/churn/model.skops in that run
            sha256 VARCHAR NOT NULL,          -- content address of the model file
            size BIGINT NOT NULL,
            flavor VARCHAR NOT NULL,          -- sklearn-skops or pickle
            model_class VARCHAR NOT NULL,
            signature_json VARCHAR,           -- input columns and dtypes
            created_at TIMESTAMP NOT NULL,
            user_name VARCHAR,
            PRIMARY KEY (name, version)
        );
        CREATE TABLE model_aliases (
            name VARCHAR NOT NULL,
            alias VARCHAR NOT NULL,
            version INTEGER NOT NULL,
            updated_at TIMESTAMP NOT NULL,
            PRIMARY KEY (name, alias)
        );
        CREATE TABLE alias_audit (            -- append-only: rows are never changed or deleted
            changed_at TIMESTAMP NOT NULL,
            user_name VARCHAR,
            name VARCHAR NOT NULL,
            alias VARCHAR NOT NULL,
            from_version INTEGER,             -- NULL: the alias was new
            to_version INTEGER,               -- NULL: the alias was removed
            reason VARCHAR,
            gate VARCHAR,
            gate_outcome VARCHAR
        );
        """
    )


@migration(3, "monitoring: reference profiles of model versions and monitoring reports")
def _monitoring(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(
        """
        CREATE TABLE model_references (        -- the training data profile a version is compared with
            name VARCHAR NOT NULL,
            version INTEGER NOT NULL,
            sha256 VARCHAR NOT NULL,          -- content address of the profile (JSON) under artifacts/
            rows BIGINT NOT NULL,
            columns INTEGER NOT NULL,
            created_at TIMESTAMP NOT NULL,
            PRIMARY KEY (name, version)
        );
        CREATE TABLE monitoring_reports (      -- one row per monitored batch: the time series
            report_id VARCHAR PRIMARY KEY,
            name VARCHAR NOT NULL,
            version INTEGER NOT NULL,
            timestamp TIMESTAMP NOT NULL,     -- the batch's time (given, else when monitored), UTC
            created_at TIMESTAMP NOT NULL,
            user_name VARCHAR,
            n_rows BIGINT NOT NULL,
            n_columns INTEGER NOT NULL,       -- columns compared with the reference
            drifted_columns INTEGER NOT NULL,
            drift_share DOUBLE NOT NULL,
            dataset_drift BOOLEAN NOT NULL,
            prediction_drift BOOLEAN,         -- NULL: predictions were not compared
            prediction_test VARCHAR,
            prediction_score DOUBLE,
            metrics_json VARCHAR,             -- performance metrics, when labels were given
            quality_json VARCHAR,             -- data quality findings
            source VARCHAR                    -- where the batch came from (e.g. a file), if known
        );
        CREATE TABLE monitoring_features (     -- per-feature drift of each report
            report_id VARCHAR NOT NULL,
            column_name VARCHAR NOT NULL,
            kind VARCHAR NOT NULL,            -- numeric or categorical, as compared
            stat_test VARCHAR NOT NULL,       -- ks, wasserstein, chisquare, jensenshannon
            score DOUBLE,                     -- p-value (ks, chisquare) or distance
            threshold DOUBLE NOT NULL,
            drifted BOOLEAN NOT NULL,
            psi DOUBLE,
            reference_nulls DOUBLE,           -- share of missing values
            current_nulls DOUBLE,
            PRIMARY KEY (report_id, column_name)
        );
        """
    )
