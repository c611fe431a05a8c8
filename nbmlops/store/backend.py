"""What a catalog backend provides: where the store's tables live and how a process reaches them.

Today's backend is the local DuckDB file (`LocalCatalog` in store/catalog.py); the team store (issue
15) adds a DuckLake catalog on PostgreSQL + S3. Above this seam every statement is DuckDB SQL run on
the connection a backend hands out, except the few its `dialect` spells (store/dialect.py).
"""

from __future__ import annotations

from collections.abc import Hashable
from contextlib import AbstractContextManager
from typing import Protocol

import duckdb

from nbmlops.store.dialect import Dialect

# The connection every backend hands out (DuckLake catalogs are reached through DuckDB too). Code
# above the store holds one only to pass it back to store functions: it names this type, never duckdb.
Connection = duckdb.DuckDBPyConnection


class CatalogBackend(Protocol):
    """One store's catalog, as the Store, the fold and the read cache use it."""

    @property
    def dialect(self) -> Dialect:
        """How this backend spells the statements that differ (see store/dialect.py)."""
        ...

    def connect(self, *, wait: float | None = None) -> AbstractContextManager[duckdb.DuckDBPyConnection]:
        """A connection to the up-to-date (migrated) catalog for a block. It may be shared with the
        process's other blocks for a short lease; while another process holds the catalog, it is
        waited for with backoff, `wait` seconds at most (None: the backend's default). It is bound to
        `dialect` (store/dialect.py `bind`): functions given only the connection ask `dialect_of`."""
        ...

    def transaction(self, con: duckdb.DuckDBPyConnection) -> AbstractContextManager[duckdb.DuckDBPyConnection]:
        """BEGIN ... COMMIT on `con`, rolled back on any error (the error that caused it is raised)."""
        ...

    def state(self) -> Hashable:
        """What changes whenever anyone writes the catalog: equal states mean nothing was written
        between them (the read cache keeps answers while it stays the same)."""
        ...

    def own_close(self) -> tuple[Hashable, Hashable] | None:
        """`state()` just before and just after this process last let go of its connection: letting
        go may change the state without changing what the catalog holds."""
        ...

    def release(self) -> None:
        """Let go of this process's connection now (so that other processes get in)."""
        ...

    def checkpoint(self, con: duckdb.DuckDBPyConnection) -> None:
        """Leave the catalog compact on disk (`nbmlops compact`)."""
        ...
