"""The catalog's side of lineage: every edge between datasets, runs, model versions and aliases."""

from __future__ import annotations

import duckdb

from nbmlops.store.datasets import VERSIONS

Edge = tuple[str, str, str, "str | None", "str | None"]  # source, target, kind, detail, label

# Only constant text is joined into it.
_EDGES = f"""
WITH {VERSIONS}
SELECT 'dataset:' || v.name || '@' || v.version, 'run:' || u.run_id, 'used', u.role,
       v.name || ' v' || v.version || ' (' || left(v.fingerprint, 8) || ')'
FROM run_datasets u JOIN versions v USING (name, fingerprint)
UNION ALL
SELECT 'run:' || run_id, 'model:' || name || '/' || version, 'registered', NULL, name || ' v' || version
FROM model_versions WHERE run_id IS NOT NULL
UNION ALL
SELECT 'model:' || name || '/' || version, 'alias:' || name || '@' || alias, 'alias', alias, name || '@' || alias
FROM model_aliases
UNION ALL
SELECT 'model:' || value, 'run:' || run_id, 'retrains', NULL, NULL FROM tags WHERE key = 'retrains'
UNION ALL
SELECT 'run:' || value, 'run:' || run_id, 'reproduces', NULL, NULL FROM tags WHERE key = 'reproduces'
"""  # noqa: S608


def edges(con: duckdb.DuckDBPyConnection) -> list[Edge]:
    """Every lineage edge in the store, with the label of the node it describes (the target of
    `registered` and `alias`, the source of `used`)."""
    return con.execute(_EDGES).fetchall()


def run_labels(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str, str]]:
    """(run id, name, status) of every run."""
    return con.execute("SELECT run_id, name, status FROM runs").fetchall()


def is_model(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    """Whether a model named `name` has a version."""
    return con.execute("SELECT 1 FROM model_versions WHERE name = ? LIMIT 1", [name]).fetchone() is not None
