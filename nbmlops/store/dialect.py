"""What the catalog backends spell differently in SQL, in one place.

Every other catalog statement is DuckDB SQL that both a local DuckDB file and a DuckLake catalog (the
team store, issue 15) accept as it is. The differences, and why each is one:
- insert-if-new and upsert: DuckLake tables have no PRIMARY KEY or UNIQUE constraint, so no
  `INSERT ... ON CONFLICT` (a DuckLake dialect spells them `MERGE INTO ... USING (rows) AS excluded`).
- UPDATE/DELETE ... RETURNING: DuckLake has none (it selects the keys first, in the same transaction).
- the catalog's columns: a DuckLake catalog shares information_schema with the metadata catalog it
  is attached beside, so "the tables in schema main" is not enough to name ours.
- CHECKPOINT: on a DuckDB file it moves the WAL into the file; on DuckLake it also expires snapshots
  and deletes their files, which would end time travel (it merges small files instead).
- serialising registry writes: a DuckDB file has one writing process at a time and PRIMARY KEYs
  that refuse a duplicate version; on DuckLake inserts never conflict (see `Dialect.serialize`).
The schema itself (PRIMARY KEYs in store/migrations.py) is the local file's; the team store creates
its own once, in `nbmlops init`.

Statements come back as text with `excluded` naming the new row and the table's name its current row,
which both `ON CONFLICT` and `MERGE` understand; `rows` is a query whose columns are the table's, in
order and under its names, unless `columns` names the ones it gives (quoted names, in order).

Functions that get only a connection (the registry's, store/models.py) ask `dialect_of(con)`: each
backend binds its dialect to the connections it hands out (`bind`).
"""

from __future__ import annotations

import weakref
from collections.abc import Sequence
from typing import Any, Protocol

import duckdb


class Dialect(Protocol):
    """The statements a catalog backend spells its own way."""

    checkpoint: str  # what `compact` runs to leave the catalog compact on disk

    def insert_new(self, table: str, keys: Sequence[str], rows: str, *, columns: Sequence[str] | None = None) -> str:
        """INSERT the `rows` whose `keys` the table does not hold yet."""
        ...

    def upsert(self, table: str, keys: Sequence[str], rows: str, assignments: str, when: str | None = None, *,
               columns: Sequence[str] | None = None) -> str:
        """INSERT `rows`; where the table holds a row with the same `keys`, SET `assignments` on it
        instead (only where `when` holds)."""
        ...

    def update_returning(self, con: duckdb.DuckDBPyConnection, table: str, assignments: str, where: str,
                         params: Sequence[Any], returning: str) -> list[Any]:
        """UPDATE `table` SET `assignments` WHERE `where`; the `returning` column of each row it changed.
        `params` bind the placeholders of `assignments`, then those of `where`."""
        ...

    def delete_returning(self, con: duckdb.DuckDBPyConnection, table: str, where: str, params: Sequence[Any],
                         returning: str) -> list[Any]:
        """DELETE FROM `table` WHERE `where`; the `returning` column of each row it deleted."""
        ...

    def catalog_columns(self, con: duckdb.DuckDBPyConnection) -> list[tuple[str, str, str]]:
        """(table, column, data type) of every column of the catalog's own tables, in table and column
        order: never those of another database the connection reaches."""
        ...

    def serialize(self, con: duckdb.DuckDBPyConnection, scope: str) -> None:
        """Make the caller's transaction conflict with any concurrent one that serialises on `scope`,
        so that what it reads (the highest version number, an alias's holder) stays true until it
        commits: of two such transactions one commits and the other fails.

        The registry calls it (scope "registry") before it numbers a version or moves an alias. A
        backend whose inserts never conflict (DuckLake: no PRIMARY KEY, and concurrent
        `SELECT max(version) + 1` + INSERT from 4 processes gave 150 rows with 114 distinct versions)
        must UPDATE a counter row here, one that `nbmlops init` created (say `UPDATE registry_clock
        SET n = n + 1`): concurrent commits that updated the same row conflict (measured: 120 of 120
        versions distinct, ~100 ms a commit under contention). The losing commit fails; the team
        backend's `transaction` must then run the whole registry write again. A per-model row
        would not do: a model's first version has no row yet, and inserting one never conflicts."""
        ...


class DuckDBFile:
    """The dialect of a local DuckDB file: constraints, ON CONFLICT and RETURNING all exist."""

    checkpoint = "CHECKPOINT"

    def insert_new(self, table: str, keys: Sequence[str], rows: str, *, columns: Sequence[str] | None = None) -> str:
        """INSERT the `rows` whose `keys` the table does not hold yet."""
        return f"INSERT INTO {table}{_listed(columns)} {rows} ON CONFLICT DO NOTHING"

    def upsert(self, table: str, keys: Sequence[str], rows: str, assignments: str, when: str | None = None, *,
               columns: Sequence[str] | None = None) -> str:
        """INSERT `rows`, else SET `assignments` on the row with the same `keys` (where `when` holds)."""
        where = f" WHERE {when}" if when else ""
        return (f"INSERT INTO {table}{_listed(columns)} {rows} "
                f"ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {assignments}{where}")

    def update_returning(self, con: duckdb.DuckDBPyConnection, table: str, assignments: str, where: str,
                         params: Sequence[Any], returning: str) -> list[Any]:
        """UPDATE ... RETURNING `returning`, in one statement."""
        # The parts are the caller's SQL text (the fold's constants); values are bound.
        sql = f"UPDATE {table} SET {assignments} WHERE {where} RETURNING {returning}"  # noqa: S608
        return [row[0] for row in con.execute(sql, list(params)).fetchall()]

    def delete_returning(self, con: duckdb.DuckDBPyConnection, table: str, where: str, params: Sequence[Any],
                         returning: str) -> list[Any]:
        """DELETE ... RETURNING `returning`, in one statement."""
        sql = f"DELETE FROM {table} WHERE {where} RETURNING {returning}"  # noqa: S608 - the caller's constant text
        return [row[0] for row in con.execute(sql, list(params)).fetchall()]

    def catalog_columns(self, con: duckdb.DuckDBPyConnection) -> list[tuple[str, str, str]]:
        """The columns of the file's tables (not of temporary ones, nor of other attached files)."""
        rows = con.execute(
            "SELECT table_name, column_name, data_type FROM information_schema.columns "
            "WHERE table_catalog = current_database() AND table_schema = current_schema() "
            "ORDER BY table_name, ordinal_position").fetchall()
        return [(str(t), str(c), str(d)) for t, c, d in rows]

    def serialize(self, con: duckdb.DuckDBPyConnection, scope: str) -> None:
        """Nothing to do: one process writes the file at a time (it holds the file's lock for the
        whole transaction), and PRIMARY KEY (name, version) would refuse a duplicate anyway."""


class DuckLake(DuckDBFile):
    """The dialect of a DuckLake catalog (the team store): no PRIMARY KEY or UNIQUE, so MERGE instead
    of ON CONFLICT; no RETURNING, so a SELECT of the keys first, in the same transaction; and
    inserts that never conflict, so registry writes bump a counter row (`serialize`)."""

    # Merging small files keeps the snapshots (and so time travel); expiring them would not.
    checkpoint = "CALL ducklake_merge_adjacent_files(current_database())"

    def insert_new(self, table: str, keys: Sequence[str], rows: str, *, columns: Sequence[str] | None = None) -> str:
        """MERGE ... WHEN NOT MATCHED THEN INSERT."""
        return f"MERGE INTO {table} USING ({rows}) AS {_source(columns)} ON {_on(table, keys)} {_insert(columns)}"

    def upsert(self, table: str, keys: Sequence[str], rows: str, assignments: str, when: str | None = None, *,
               columns: Sequence[str] | None = None) -> str:
        """MERGE ... WHEN MATCHED [AND when] THEN UPDATE ... WHEN NOT MATCHED THEN INSERT."""
        matched = f"WHEN MATCHED AND ({when})" if when else "WHEN MATCHED"
        return (f"MERGE INTO {table} USING ({rows}) AS {_source(columns)} ON {_on(table, keys)} "
                f"{matched} THEN UPDATE SET {assignments} {_insert(columns)}")

    def update_returning(self, con: duckdb.DuckDBPyConnection, table: str, assignments: str, where: str,
                         params: Sequence[Any], returning: str) -> list[Any]:
        """The keys SELECTed, then the UPDATE, in the caller's transaction."""
        bound = assignments.count("?")
        keys = [r[0] for r in con.execute(f"SELECT {returning} FROM {table} WHERE {where}",  # noqa: S608
                                          list(params[bound:])).fetchall()]
        con.execute(f"UPDATE {table} SET {assignments} WHERE {where}", list(params))  # noqa: S608
        return keys

    def delete_returning(self, con: duckdb.DuckDBPyConnection, table: str, where: str, params: Sequence[Any],
                         returning: str) -> list[Any]:
        """The keys SELECTed, then the DELETE, in the caller's transaction."""
        gone = [r[0] for r in con.execute(f"SELECT {returning} FROM {table} WHERE {where}",  # noqa: S608
                                          list(params)).fetchall()]
        con.execute(f"DELETE FROM {table} WHERE {where}", list(params))  # noqa: S608
        return gone

    def serialize(self, con: duckdb.DuckDBPyConnection, scope: str) -> None:
        """Bump the counter row `nbmlops init` created: of two transactions that both did, one
        commits and the other fails at COMMIT (the team store runs it again)."""
        con.execute("UPDATE registry_clock SET n = n + 1")


def _on(table: str, keys: Sequence[str]) -> str:
    return " AND ".join(f"{table}.{key} = excluded.{key}" for key in keys)


def _source(columns: Sequence[str] | None) -> str:
    return f"excluded({', '.join(columns)})" if columns else "excluded"


def _insert(columns: Sequence[str] | None) -> str:
    if not columns:
        return "WHEN NOT MATCHED THEN INSERT"
    values = ", ".join(f"excluded.{c}" for c in columns)
    return f"WHEN NOT MATCHED THEN INSERT ({', '.join(columns)}) VALUES ({values})"  # noqa: S608 - column names


def _listed(columns: Sequence[str] | None) -> str:
    return f" ({', '.join(columns)})" if columns else ""


DUCKDB_FILE = DuckDBFile()
DUCKLAKE = DuckLake()

_bound: weakref.WeakKeyDictionary[duckdb.DuckDBPyConnection, Dialect] = weakref.WeakKeyDictionary()


def bind(con: duckdb.DuckDBPyConnection, dialect: Dialect) -> duckdb.DuckDBPyConnection:
    """Say which dialect the catalog `con` reaches speaks (its backend does, handing it out); returns `con`."""
    _bound[con] = dialect
    return con


def dialect_of(con: duckdb.DuckDBPyConnection) -> Dialect:
    """The dialect bound to `con`; a DuckDB file's when no backend bound one."""
    return _bound.get(con, DUCKDB_FILE)
