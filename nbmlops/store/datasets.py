"""Dataset versions in the catalog: what `datasets()`, `dataset_profile()` and lineage ask of it.

A version's number is its rank among the name's fingerprints by first use: defined once, here.
"""

from __future__ import annotations

import duckdb
import pandas as pd

VERSIONS = """versions AS (
    SELECT d.*, row_number() OVER (PARTITION BY d.name ORDER BY d.created_at, d.fingerprint) AS version
    FROM datasets d)"""

# Only constant text is joined into it.
_LISTING = f"""
WITH {VERSIONS}
SELECT v.name, v.version, v.fingerprint, v.kind, v.rows, v.columns, v.size_bytes,
       v.files, v.source, v.created_at,
       list(DISTINCT u.role ORDER BY u.role) FILTER (WHERE u.role IS NOT NULL) AS roles,
       count(DISTINCT u.run_id) AS runs,
       list(DISTINCT u.run_id ORDER BY u.run_id) FILTER (WHERE u.run_id IS NOT NULL) AS run_ids
FROM versions v LEFT JOIN run_datasets u USING (name, fingerprint)
WHERE (? IS NULL OR v.name = ?)
  AND (? IS NULL OR EXISTS (SELECT 1 FROM run_datasets x WHERE x.run_id = ?
                            AND x.name = v.name AND x.fingerprint = v.fingerprint))
GROUP BY ALL
ORDER BY v.name, v.version
"""  # noqa: S608


def dataset_versions(con: duckdb.DuckDBPyConnection, name: str | None = None, run_id: str | None = None
                     ) -> pd.DataFrame:
    """Every version (of `name`, used by `run_id`: each when given) with its roles and the runs that used it."""
    return con.execute(_LISTING, [name, name, run_id, run_id]).df()


def schema_and_profile(con: duckdb.DuckDBPyConnection, name: str, fingerprint: str
                       ) -> tuple[str | None, str | None] | None:
    """The stored schema and profile JSON of one version (None: no such version)."""
    row = con.execute("SELECT schema_json, profile_json FROM datasets WHERE name = ? AND fingerprint = ?",
                      [name, fingerprint]).fetchone()
    return None if row is None else (row[0], row[1])


def fingerprints(con: duckdb.DuckDBPyConnection, name: str) -> list[str]:
    """The fingerprints of a dataset's versions, version 1 first."""
    rows = con.execute("SELECT fingerprint FROM datasets WHERE name = ? ORDER BY created_at, fingerprint",
                       [name]).fetchall()
    return [row[0] for row in rows]


# Only constant text is joined into it.
_RUN_VERSIONS = f"""
WITH {VERSIONS}
SELECT DISTINCT u.role, u.name, v.version, u.fingerprint
FROM run_datasets u JOIN versions v USING (name, fingerprint)
WHERE u.run_id = ?
ORDER BY u.role, u.name, v.version
"""  # noqa: S608


def run_dataset_versions(con: duckdb.DuckDBPyConnection, run_id: str) -> list[tuple[str, str, int, str]]:
    """(role, name, version, fingerprint) of every dataset version run `run_id` used."""
    return [(str(role), str(name), int(version), str(fp))
            for role, name, version, fp in con.execute(_RUN_VERSIONS, [run_id]).fetchall()]
