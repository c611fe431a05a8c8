"""Tables logged with a run: any pandas DataFrame as one Parquet file, and pages of it as JSON.

A logged table is for looking at (the panel, a download), not for loading back exactly like a
dataset snapshot (`log_dataset(..., snapshot=True)` does that). So everything is flattened into
columns Parquet holds: an index other than the default 0..n-1 becomes leading columns, MultiIndex
column names are joined with " / ", every name becomes unique text (DuckDB compares names without
case), and what Parquet has no type for (mixed Python objects, complex numbers, periods,
intervals) is kept as its text. The pandas dtype of each column travels in the file's key-value
metadata, so a reader shows `category` or `datetime64[ns, Europe/Paris]`, not only Parquet's type.

Parquet is written and read with DuckDB: no pyarrow needed.
"""

from __future__ import annotations

import datetime as dt
import decimal
import difflib
import json
import math
import tempfile
import uuid
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from nbmlops.errors import InvalidInputError, NotFoundError
from nbmlops.store.sqltext import quote_ident, quote_literal

DTYPES_KEY = "nbmlops_dtypes"  # key-value metadata: the pandas dtype of each column, as a JSON list
MAX_CELL_CHARS = 10_000  # a longer text cell is cut in a page (the file keeps it whole)
# Object columns that DuckDB stores with a real type; anything else in an object column is kept as text.
_TYPED_OBJECTS = {"string", "empty", "bytes", "integer", "floating", "mixed-integer-float", "boolean",
                  "decimal", "date", "datetime", "datetime64", "time"}


def as_frame(table: object) -> pd.DataFrame:
    """`table` (a DataFrame, a Series, or a dict of columns) as a DataFrame; InvalidInputError otherwise."""
    if isinstance(table, pd.DataFrame):
        return table
    if isinstance(table, pd.Series):
        return table.to_frame()
    if isinstance(table, dict):
        try:
            return pd.DataFrame(table)
        except (TypeError, ValueError) as exc:
            raise InvalidInputError(f"log_table: the dict of columns does not make a table ({exc}); give "
                                    "columns of equal length, or a pandas DataFrame") from None
    raise InvalidInputError(f"log_table takes a pandas DataFrame (or a dict of columns), got "
                            f"{type(table).__name__}: convert it with pd.DataFrame(...) first")


def to_parquet(table: object) -> bytes:
    """The Parquet file of a DataFrame (or dict of columns), flattened as the module docstring says."""
    frame = as_frame(table)
    if frame.shape[1] == 0 and _default_index(frame.index):
        raise InvalidInputError("log_table: the table has no columns; give a table with at least one column")
    labels, columns = _flatten(frame)
    names = _unique(labels)
    dtypes = [str(c.dtype) for c in columns]
    flat = pd.DataFrame({name: _storable(column) for name, column in zip(names, columns, strict=True)})
    with tempfile.TemporaryDirectory(prefix="nbmlops-table-") as folder:
        target = Path(folder) / "table.parquet"
        metadata = quote_literal(json.dumps(dtypes, ensure_ascii=False))
        with duckdb.connect(config={"threads": 2}) as con:
            con.register("flat", flat)
            try:
                con.execute(f"COPY flat TO {quote_literal(target)} (FORMAT parquet, KV_METADATA "
                            f"{{{DTYPES_KEY}: {metadata}}})")
            except duckdb.Error as exc:
                raise InvalidInputError(f"log_table: cannot store this table as Parquet "
                                        f"({str(exc).splitlines()[0]}); convert unusual columns to text "
                                        "with .astype(str) first") from None
        return target.read_bytes()


def _default_index(index: pd.Index) -> bool:
    return isinstance(index, pd.RangeIndex) and index.start == 0 and index.step == 1 and index.name is None


def _flatten(frame: pd.DataFrame) -> tuple[list[str], list[pd.Series]]:
    """Column labels as text and the columns, the index first unless it is the default one."""
    labels: list[str] = []
    columns: list[pd.Series] = []
    if not _default_index(frame.index):
        index = frame.index
        for level, name in enumerate(index.names):
            fallback = "index" if index.nlevels == 1 else f"level_{level}"
            labels.append(_text(name) if name is not None else fallback)
            columns.append(pd.Series(index.get_level_values(level), copy=False).reset_index(drop=True))
    for position in range(frame.shape[1]):
        label = frame.columns[position]
        labels.append(_text(label))
        columns.append(frame.iloc[:, position].reset_index(drop=True))
    return labels, columns


def _text(label: object) -> str:
    """A column or index label as text: tuples (MultiIndex) joined with ' / '."""
    if isinstance(label, tuple):
        return " / ".join(_text(part) for part in label if part not in ("", None))
    return "" if label is None else str(label)


def _unique(labels: list[str]) -> list[str]:
    """Non-empty names, unique without regard to case (as DuckDB compares them)."""
    seen: set[str] = set()
    names = []
    for position, label in enumerate(labels):
        name = label if label.strip() else f"column {position + 1}"
        candidate, copy = name, 1
        while candidate.lower() in seen:
            copy += 1
            candidate = f"{name} ({copy})"
        seen.add(candidate.lower())
        names.append(candidate)
    return names


def _storable(column: pd.Series) -> pd.Series:
    """`column` as DuckDB can write it: kept when it has a Parquet type, else as text (missing stays missing)."""
    dtype = column.dtype
    if isinstance(dtype, pd.SparseDtype):
        return _storable(column.astype(dtype.subtype))
    if isinstance(dtype, pd.CategoricalDtype):
        kind = pd.api.types.infer_dtype(dtype.categories, skipna=True)
        return column if kind == "string" else _as_text(column)
    if isinstance(dtype, np.dtype):
        if dtype.kind == "O":
            kind = pd.api.types.infer_dtype(column, skipna=True)
            return column if kind in _TYPED_OBJECTS and not _huge_ints(column, kind) else _as_text(column)
        if dtype.kind in "biufmM":
            return column.astype(np.float32) if dtype == np.float16 else column
        return _as_text(column)  # complex, fixed-width bytes and str, void
    if isinstance(dtype, (pd.DatetimeTZDtype, pd.StringDtype, pd.BooleanDtype)) or \
            type(dtype).__name__.endswith(("IntegerDtype", "FloatingDtype")) or \
            dtype.name.startswith(("Int", "UInt", "Float")):
        return column
    return _as_text(column)  # periods, intervals, other extension types


def _huge_ints(column: pd.Series, kind: str) -> bool:
    """Python ints beyond 64 bits, which DuckDB cannot hold as numbers."""
    if kind != "integer":
        return False
    values = column.dropna()
    return bool(len(values)) and not (min(values) >= -(1 << 63) and max(values) < (1 << 64))


def _as_text(column: pd.Series) -> pd.Series:
    missing = column.isna()
    text = column.astype(object).map(str)
    return text.where(~missing, None)


# -- reading a page ----------------------------------------------------------------------------
def page(file: Path, offset: int, limit: int, label: str = "the table", order_by: str | None = None,
         descending: bool = False) -> dict[str, Any]:
    """Rows offset..offset+limit of a logged table as JSON-safe data: columns with their dtypes, rows, total.

    `order_by` (one of the table's column names, exactly) sorts the whole table before the page is
    cut: `page(file, 100, 100, order_by="score", descending=True)` is the second hundred best scores.
    """
    source = [str(file)]
    try:
        with duckdb.connect(config={"threads": 1}) as con:
            # Read as UTC: a time-zone-aware column comes back as the same instant, written with a Z.
            con.execute("SET TimeZone = 'UTC'")
            total = con.execute("SELECT sum(num_rows) FROM parquet_file_metadata(?)", source).fetchone()
            found = dict(con.execute("SELECT decode(key), decode(value) FROM parquet_kv_metadata(?)",
                                     source).fetchall())
            select = "SELECT * FROM read_parquet(?)"
            if order_by is not None:
                schema = con.execute(f"{select} LIMIT 0", source).description
                select = _ordered(select, [(str(d[0]), str(d[1])) for d in schema], order_by, descending, label)
            result = con.execute(f"{select} LIMIT ? OFFSET ?", [*source, limit, offset])
            described = [(str(d[0]), str(d[1])) for d in result.description]
            rows = [[cell(value) for value in row] for row in result.fetchall()]
    except duckdb.Error as exc:  # a file logged under a table's name with log_artifact, say
        reason = (str(exc).splitlines() or ["unreadable"])[0][:200]
        raise NotFoundError(f"{label} is not a Parquet table nbmlops can read ({reason}): log tables with "
                            "log_table") from None
    try:
        dtypes = json.loads(found.get(DTYPES_KEY, "[]"))
    except ValueError:
        dtypes = []
    if not isinstance(dtypes, list) or len(dtypes) != len(described):
        dtypes = [kind for _, kind in described]  # a Parquet file written elsewhere: Parquet's types
    columns = [{"name": name, "dtype": str(dtype)} for (name, _), dtype in zip(described, dtypes, strict=True)]
    return {"columns": columns, "rows": rows, "total_rows": int(total[0] or 0) if total else 0}


def _ordered(select: str, schema: list[tuple[str, str]], order_by: object, descending: bool, label: str) -> str:
    """`select` (of the whole file) sorted on column `order_by`: missing values last both ways, ties in file order.

    The name is only ever spliced as a quoted identifier, and only once it is known to be one of the
    file's own columns (DuckDB already made those unique without regard to case).
    """
    names = [name for name, _ in schema]
    if not isinstance(order_by, str) or order_by not in names:
        raise InvalidInputError(f"{label} has no column {order_by!r:.80}; sort by one of its columns: "
                                f"{_some(order_by, names)}")
    column = quote_ident(order_by)
    # NaN and infinities are shown as null (see `cell`), so they sort with the nulls: last both ways.
    key = f"CASE WHEN isfinite({column}) THEN {column} END" if dict(schema)[order_by] in ("FLOAT", "DOUBLE") \
        else column
    # Ties keep the file's order, so the pages of one order neither repeat nor skip a row.
    position = quote_ident(_unique([*names, "row number"])[-1])  # a name none of the columns has
    direction = "DESC" if descending else "ASC"
    return (f"SELECT * EXCLUDE ({position}) FROM (SELECT *, row_number() OVER () AS {position} FROM "  # noqa: S608
            f"({select})) ORDER BY {key} {direction} NULLS LAST, {position}")  # - names quoted, checked above


def _some(wanted: object, names: list[str], shown: int = 5) -> str:
    """A few of `names` for an error message, those most like `wanted` first."""
    lowered = {name.lower(): name for name in names}  # "AUC" is like "auc"
    like = difflib.get_close_matches(wanted.lower(), list(lowered), n=shown, cutoff=0.5) if isinstance(wanted, str) \
        else []
    close = [lowered[name] for name in like]
    picked = close + [name for name in names if name not in close][: shown - len(close)]
    more = f" ... ({len(names)} in all)" if len(names) > len(picked) else ""
    return ", ".join(f"{name!r:.60}" for name in picked) + more


def cell(value: Any) -> Any:
    """One table value as JSON: NaN and infinities null, times ISO 8601, bytes a short placeholder."""
    if value is None or isinstance(value, (bool, int)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, str):
        return value if len(value) <= MAX_CELL_CHARS else value[:MAX_CELL_CHARS] + "…"
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            return value.astimezone(dt.timezone.utc).replace(tzinfo=None).isoformat() + "Z"
        return value.isoformat()
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return str(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return f"<{len(value)} bytes>"
    if isinstance(value, decimal.Decimal):
        return cell(float(value))
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, dict):
        return {str(k): cell(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [cell(v) for v in value]
    return cell(str(value))
