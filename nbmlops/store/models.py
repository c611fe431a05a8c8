"""The model registry in the catalog: registered models, their versions, aliases and the alias audit log.

Named reads and writes on the catalog connection the caller holds. The caller keeps the transaction
(`with transaction(con): ...`), so that a version's number and its row, or an alias and its audit
row, commit together; the writes serialise on `REGISTRY` through the connection's dialect, so that
concurrent writers on a backend without PRIMARY KEYs (the team store) never share a version number.
Also here: what the registry reads of the run that logged a model (its model files, metrics,
params, tags and training schema). Timestamps are naive UTC, as stored.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any, NamedTuple

import duckdb
import pandas as pd

from nbmlops.entities import ModelVersion, decode_param
from nbmlops.store.dialect import dialect_of

REGISTRY = "registry"  # what registry writes serialise on (see Dialect.serialize)
ALIAS_COLUMNS = ("name", "alias", "version", "updated_at")  # of model_aliases, in order
_MODEL_COLUMNS = ("name", "created_at", "description")


class ModelFile(NamedTuple):
    """A model file a run logged as an artifact (`models/<name>/model.<ext>`)."""

    path: str
    sha256: str
    size: int
    created_at: dt.datetime


# -- versions ------------------------------------------------------------------------------
def add_version(con: duckdb.DuckDBPyConnection, name: str, *, run_id: str | None, artifact_path: str,
                sha256: str, size: int, flavor: str, model_class: str, signature_json: str | None,
                created_at: dt.datetime, user: str | None) -> int:
    """Register `name` if it is new and add its next version; that version's number."""
    dialect = dialect_of(con)
    dialect.serialize(con, REGISTRY)  # the number read below stays the highest until this commits
    con.execute(dialect.insert_new("registered_models", ("name",), "VALUES (?, ?, NULL)", columns=_MODEL_COLUMNS),
                [name, created_at])
    row = con.execute("SELECT coalesce(max(version), 0) + 1 FROM model_versions WHERE name = ?", [name]).fetchone()
    version = int(row[0]) if row else 1
    con.execute("INSERT INTO model_versions VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [name, version, run_id, artifact_path, sha256, size, flavor, model_class, signature_json,
                 created_at, user])
    return version


def record_reference(con: duckdb.DuckDBPyConnection, name: str, version: int, sha256: str, rows: int,
                     columns: int, created_at: dt.datetime) -> None:
    """Keep the training data profile (stored under `sha256`) a version is monitored against."""
    con.execute("INSERT INTO model_references VALUES (?, ?, ?, ?, ?, ?)",
                [name, version, sha256, rows, columns, created_at])


def reference_sha256(con: duckdb.DuckDBPyConnection, name: str, version: int) -> str | None:
    """The content address of a version's reference profile, if the registry recorded one."""
    row = con.execute("SELECT sha256 FROM model_references WHERE name = ? AND version = ?",
                      [name, version]).fetchone()
    return str(row[0]) if row else None


def model_version(con: duckdb.DuckDBPyConnection, name: str, version: int) -> ModelVersion | None:
    """Version `version` of model `name` with its aliases and its run's metrics; None if there is no such version."""
    row = con.execute("SELECT run_id, flavor, model_class, sha256, size, artifact_path, created_at, user_name, "
                      "signature_json FROM model_versions WHERE name = ? AND version = ?", [name, version]).fetchone()
    if row is None:
        return None
    run_id, flavor, model_class, sha256, size, path, created_at, user, signature = row
    return ModelVersion(name, version, run_id, flavor, model_class, sha256, int(size), path,
                        created_at.replace(tzinfo=dt.timezone.utc), user,
                        json.loads(signature) if signature else None, aliases_of(con, name, version),
                        run_metrics(con, run_id))


def has_version(con: duckdb.DuckDBPyConnection, name: str, version: int) -> bool:
    """Whether model `name` has version `version`."""
    return con.execute("SELECT 1 FROM model_versions WHERE name = ? AND version = ?", [name, version]).fetchone() \
        is not None


def latest_version(con: duckdb.DuckDBPyConnection, name: str) -> int | None:
    """The highest version number of model `name`; None if it has no version."""
    row = con.execute("SELECT max(version) FROM model_versions WHERE name = ?", [name]).fetchone()
    return int(row[0]) if row and row[0] is not None else None


def is_registered(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    """Whether a model of this name is registered."""
    return con.execute("SELECT 1 FROM registered_models WHERE name = ?", [name]).fetchone() is not None


# -- aliases -------------------------------------------------------------------------------
def alias_target(con: duckdb.DuckDBPyConnection, name: str, alias: str) -> int | None:
    """The version `name@alias` points at; None if the model has no such alias."""
    row = con.execute("SELECT version FROM model_aliases WHERE name = ? AND alias = ?", [name, alias]).fetchone()
    return int(row[0]) if row else None


def aliases_of(con: duckdb.DuckDBPyConnection, name: str, version: int | None = None) -> list[str]:
    """The aliases of model `name` (only those pointing at `version`, when given), sorted."""
    rows = con.execute("SELECT alias FROM model_aliases WHERE name = ? AND (? IS NULL OR version = ?) "
                       "ORDER BY alias", [name, version, version]).fetchall()
    return [str(r[0]) for r in rows]


def set_alias(con: duckdb.DuckDBPyConnection, name: str, alias: str, version: int, updated_at: dt.datetime) -> None:
    """Point `name@alias` at `version`, creating the alias or moving it."""
    dialect = dialect_of(con)
    dialect.serialize(con, REGISTRY)  # the holder the caller read (and audits) stays the holder until this commits
    con.execute(dialect.upsert("model_aliases", ("name", "alias"), "VALUES (?, ?, ?, ?)",
                               "version = excluded.version, updated_at = excluded.updated_at", columns=ALIAS_COLUMNS),
                [name, alias, version, updated_at])


def drop_alias(con: duckdb.DuckDBPyConnection, name: str, alias: str) -> int | None:
    """Remove `name@alias`; the version it pointed at, or None if there was no such alias."""
    dialect = dialect_of(con)
    dialect.serialize(con, REGISTRY)
    removed = dialect.delete_returning(con, "model_aliases", "name = ? AND alias = ?", [name, alias], "version")
    return int(removed[0]) if removed else None


def record_alias_change(con: duckdb.DuckDBPyConnection, changed_at: dt.datetime, user: str | None, name: str,
                        alias: str, from_version: int | None, to_version: int | None, *, reason: str | None,
                        gate: str | None = None, gate_outcome: str | None = None) -> None:
    """Append a row to the alias audit log (`from_version` None: a new alias; `to_version` None: removed)."""
    con.execute("INSERT INTO alias_audit VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [changed_at, user, name, alias, from_version, to_version, reason, gate, gate_outcome])


# -- listings ------------------------------------------------------------------------------
def models_table(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Registered models by name: latest_version, versions, aliases (`a=v1, b=v2`), created_at, updated_at."""
    return con.execute("""
        SELECT m.name, max(v.version) AS latest_version, count(v.version) AS versions,
               (SELECT string_agg(a.alias || '=v' || a.version, ', ' ORDER BY a.alias)
                FROM model_aliases a WHERE a.name = m.name) AS aliases,
               m.created_at, max(v.created_at) AS updated_at
        FROM registered_models m LEFT JOIN model_versions v USING (name)
        GROUP BY m.name, m.created_at ORDER BY m.name""").df()


def versions_table(con: duckdb.DuckDBPyConnection, name: str) -> pd.DataFrame:
    """Versions of model `name`, newest first: run, run name, class, flavor, aliases, created, user."""
    return con.execute("""
        SELECT v.version, v.run_id, r.name AS run_name, v.model_class, v.flavor,
               (SELECT string_agg(a.alias, ', ' ORDER BY a.alias) FROM model_aliases a
                WHERE a.name = v.name AND a.version = v.version) AS aliases,
               v.created_at, v.user_name AS user
        FROM model_versions v LEFT JOIN runs r USING (run_id)
        WHERE v.name = ? ORDER BY v.version DESC""", [name]).df()


def version_metrics(con: duckdb.DuckDBPyConnection, name: str) -> pd.DataFrame:
    """The latest metrics of the runs that logged the versions of `name`: version, key, value."""
    return con.execute("""
        SELECT v.version, m.key, m.value FROM model_versions v JOIN latest_metrics m USING (run_id)
        WHERE v.name = ?""", [name]).df()


def alias_history(con: duckdb.DuckDBPyConnection, name: str) -> pd.DataFrame:
    """The audit log of the aliases of model `name`, oldest first."""
    return con.execute("""
        SELECT changed_at, user_name AS user, alias, from_version, to_version, reason, gate,
               gate_outcome FROM alias_audit WHERE name = ? ORDER BY changed_at, rowid""", [name]).df()


# -- what the registry reads of a run ------------------------------------------------------
def model_files(con: duckdb.DuckDBPyConnection, run_id: str) -> list[ModelFile]:
    """The model files run `run_id` logged, newest first."""
    rows = con.execute("SELECT path, sha256, size, created_at FROM artifacts WHERE run_id = ? "
                       "AND path LIKE 'models/%/model.%' ORDER BY created_at DESC", [run_id]).fetchall()
    return [ModelFile(path, sha, int(size), created) for path, sha, size, created in rows]


def artifact_sha256(con: duckdb.DuckDBPyConnection, run_id: str, path: str) -> str | None:
    """The content address of run `run_id`'s artifact at `path`; None if the run has no such artifact."""
    row = con.execute("SELECT sha256 FROM artifacts WHERE run_id = ? AND path = ?", [run_id, path]).fetchone()
    return str(row[0]) if row else None


def registered_by(con: duckdb.DuckDBPyConnection, run_id: str) -> list[tuple[str, int]]:
    """(name, version) of every model version run `run_id` registered."""
    rows = con.execute("SELECT name, version FROM model_versions WHERE run_id = ? AND version > 0 "
                       "ORDER BY name, version", [run_id]).fetchall()
    return [(str(name), int(version)) for name, version in rows]


def run_metrics(con: duckdb.DuckDBPyConnection, run_id: str | None) -> dict[str, float]:
    """The latest value of each metric of a run."""
    if run_id is None:
        return {}
    return dict(con.execute("SELECT key, value FROM latest_metrics WHERE run_id = ?", [run_id]).fetchall())


def run_params(con: duckdb.DuckDBPyConnection, run_id: str | None) -> dict[str, Any]:
    """The params of a run, decoded to the values that were logged."""
    rows = con.execute("SELECT key, value, value_type FROM params WHERE run_id = ?", [run_id]).fetchall()
    return {k: decode_param(v, t) for k, v, t in rows}


def run_tags(con: duckdb.DuckDBPyConnection, run_id: str | None) -> dict[str, str]:
    """The tags of a run."""
    return dict(con.execute("SELECT key, value FROM tags WHERE run_id = ?", [run_id]).fetchall())


def training_schema_json(con: duckdb.DuckDBPyConnection, run_id: str) -> str | None:
    """The schema (JSON of column -> dtype) of the last tabular dataset the run logged with role train.

    Names starting with `y` are labels (y, y_train), not the model's inputs.
    """
    row = con.execute(
        "SELECT d.schema_json FROM run_datasets u JOIN datasets d USING (name, fingerprint) "
        "WHERE u.run_id = ? AND u.role = 'train' AND d.kind IN ('dataframe', 'polars') "
        "AND d.name NOT LIKE 'y%' ORDER BY u.logged_at DESC LIMIT 1", [run_id]).fetchone()
    return str(row[0]) if row and row[0] else None
