"""What the catalog backends spell differently in SQL, in one place.

Every other catalog statement is DuckDB SQL that both a local DuckDB file and a DuckLake catalog (the
team store, issue 15) accept as it is. The differences, and why each is one:
- insert-if-new and upsert: DuckLake tables have no PRIMARY KEY or UNIQUE constraint, so no
  `INSERT ... ON CONFLICT` (a DuckLake dialect spells them `MERGE INTO ... USING (rows) AS excluded`).
- UPDATE ... RETURNING: DuckLake has none (it selects the keys first, in the same transaction).
- CHECKPOINT: on a DuckDB file it moves the WAL into the file; on DuckLake it also expires snapshots
  and deletes their files, which would end time travel (it merges small files instead).
The schema itself (PRIMARY KEYs in store/migrations.py) is the local file's; the team store creates
its own once, in `nbmlops init`.

Statements come back as text with `excluded` naming the new row and the table's name its current row,
which both `ON CONFLICT` and `MERGE` understand; `rows` is a query whose columns are the table's, in
order and under its names.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import duckdb


class Dialect(Protocol):
    """The statements a catalog backend spells its own way."""

    checkpoint: str  # what `compact` runs to leave the catalog compact on disk

    def insert_new(self, table: str, keys: Sequence[str], rows: str) -> str:
        """INSERT the `rows` whose `keys` the table does not hold yet."""
        ...

    def upsert(self, table: str, keys: Sequence[str], rows: str, assignments: str, when: str | None = None) -> str:
        """INSERT `rows`; where the table holds a row with the same `keys`, SET `assignments` on it
        instead (only where `when` holds)."""
        ...

    def update_returning(self, con: duckdb.DuckDBPyConnection, table: str, assignments: str, where: str,
                         params: Sequence[Any], returning: str) -> list[Any]:
        """UPDATE `table` SET `assignments` WHERE `where`; the `returning` column of each row it changed.
        `params` bind the placeholders of `assignments`, then those of `where`."""
        ...


class DuckDBFile:
    """The dialect of a local DuckDB file: constraints, ON CONFLICT and RETURNING all exist."""

    checkpoint = "CHECKPOINT"

    def insert_new(self, table: str, keys: Sequence[str], rows: str) -> str:
        """INSERT the `rows` whose `keys` the table does not hold yet."""
        return f"INSERT INTO {table} {rows} ON CONFLICT DO NOTHING"

    def upsert(self, table: str, keys: Sequence[str], rows: str, assignments: str, when: str | None = None) -> str:
        """INSERT `rows`, else SET `assignments` on the row with the same `keys` (where `when` holds)."""
        where = f" WHERE {when}" if when else ""
        return f"INSERT INTO {table} {rows} ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {assignments}{where}"

    def update_returning(self, con: duckdb.DuckDBPyConnection, table: str, assignments: str, where: str,
                         params: Sequence[Any], returning: str) -> list[Any]:
        """UPDATE ... RETURNING `returning`, in one statement."""
        # The parts are the caller's SQL text (the fold's constants); values are bound.
        sql = f"UPDATE {table} SET {assignments} WHERE {where} RETURNING {returning}"  # noqa: S608
        rows = con.execute(sql, list(params)).fetchall()
        return [row[0] for row in rows]


DUCKDB_FILE = DuckDBFile()
