"""In-memory data to files and back: pandas frames and series as Parquet, numpy arrays as .npy.

Data is cut into parts of about PART_BYTES by rows, each written by one of two threads (DuckDB's
Parquet writer and numpy release the GIL) and handed to `finish` (which hashes and stores it) as
soon as it is written. Parts make storage incremental: rows appended to a frame leave the earlier
parts byte-identical, so a new version stores only the parts that changed.

What Parquet does not keep (the index, non-string column names, exact dtypes such as categories,
time zones, units, object columns of strings) travels in `meta` (JSON) and is put back on reading.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Final

import duckdb
import numpy as np
import pandas as pd

from nbmlops.data import parquet
from nbmlops.errors import InvalidInputError
from nbmlops.store.sqltext import quote_literal

PART_BYTES = 128 << 20
COMPRESSION: Final = "uncompressed"  # speed first; dictionary and run-length encoding still shrink repetitive columns
_INDEX = "__index_level_{}__"
Finish = Callable[[Path, "str | None"], tuple[str, int]]  # a written part (and its sha256 if known) -> (sha256, size)


def encode(obj: object, folder: Path, finish: Finish) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Write `obj` as parts into `folder`; returns (meta, parts [{path, sha256, size, rows}])."""
    if isinstance(obj, np.ndarray):
        return _encode_array(obj, folder, finish)
    if isinstance(obj, (pd.DataFrame, pd.Series)):
        return _encode_pandas(obj, folder, finish)
    if type(obj).__module__.split(".")[0] == "polars":
        return _encode_polars(obj, folder, finish)
    raise InvalidInputError(f"cannot snapshot a {type(obj).__name__}: pass a DataFrame, Series, numpy "
                            "array, polars frame, or the path of a file or folder")


def decode(meta: dict[str, Any], paths: list[Path]) -> Any:
    """The object that `encode` wrote, from its meta and its part files in order."""
    if meta["format"] == "npy":
        return _decode_array(meta, paths)
    if meta["format"] == "polars-parquet":
        import polars as pl

        frame = pl.concat([pl.read_parquet(p) for p in paths]) if paths else pl.DataFrame()
        return frame.to_series() if meta["series"] else frame
    return _decode_pandas(meta, paths)


def _write_parts(count: int, write: Callable[[int, Path], tuple[int, str | None]], folder: Path,
                 finish: Finish, suffix: str) -> list[dict[str, Any]]:
    """Write parts 0..count-1 on two threads; each is finished as soon as it is written."""

    def one(i: int) -> dict[str, Any]:
        path = folder / f"part-{i:05d}{suffix}"
        rows, known = write(i, path)
        sha, size = finish(path, known)
        return {"path": path.name, "sha256": sha, "size": size, "rows": rows}

    if count == 1:
        return [one(0)]
    with ThreadPoolExecutor(2, thread_name_prefix="nbmlops-snapshot") as pool:
        return list(pool.map(one, range(count)))


def _part_rows(rows: int, row_bytes: int) -> int:
    return max(1, PART_BYTES // max(1, row_bytes)) if rows else 1


# -- numpy ----------------------------------------------------------------------------------
def _encode_array(arr: np.ndarray, folder: Path, finish: Finish) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    if arr.dtype.hasobject:
        raise InvalidInputError("cannot snapshot a numpy array of Python objects (it would need pickle): "
                                "convert it to a numeric or fixed-width string dtype first")
    whole = arr.reshape(1) if arr.ndim == 0 else arr
    step = _part_rows(len(whole), whole.itemsize * int(np.prod(whole.shape[1:], dtype=np.int64)))
    count = max(1, -(-len(whole) // step))

    def write(i: int, path: Path) -> tuple[int, str | None]:
        piece = whole[i * step:(i + 1) * step]
        np.save(path, np.ascontiguousarray(piece), allow_pickle=False)
        return len(piece), None

    meta = {"format": "npy", "dtype": arr.dtype.str, "shape": list(arr.shape),
            "fortran": bool(arr.ndim > 1 and arr.flags.f_contiguous and not arr.flags.c_contiguous)}
    return meta, _write_parts(count, write, folder, finish, ".npy")


def _decode_array(meta: dict[str, Any], paths: list[Path]) -> np.ndarray:
    shape = tuple(meta["shape"])
    out = np.empty(shape or (1,), dtype=np.dtype(meta["dtype"]))
    start = 0
    for path in paths:  # each part is copied into place: memory stays at one copy of the data
        piece = np.load(path, mmap_mode="r", allow_pickle=False)
        out[start:start + len(piece)] = piece
        start += len(piece)
    out = out.reshape(shape)
    return np.asfortranarray(out) if meta.get("fortran") else out


# -- pandas ---------------------------------------------------------------------------------
def _label(value: object) -> Any:
    """A column or index name as JSON that comes back as the same value (tuples tagged)."""
    if isinstance(value, tuple):
        return {"tuple": [_label(v) for v in value]}
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return {"text": str(value)}  # rare (e.g. a Timestamp as a column name): kept as its text


def _unlabel(value: Any) -> object:
    if isinstance(value, dict):
        return tuple(_unlabel(v) for v in value["tuple"]) if "tuple" in value else value["text"]
    return value


def _check_objects(name: object, column: pd.Series) -> str | None:
    """How missing values look in an object column of strings; refuse anything Parquet would alter."""
    kind = pd.api.types.infer_dtype(column, skipna=True)
    if kind not in ("string", "empty"):
        raise InvalidInputError(f"cannot snapshot column {name!r}: it holds {kind} Python objects that "
                                "Parquet would not keep as they are; convert it with .astype(str) or to "
                                "numbers first")
    missing = column[column.isna()]
    return None if missing.empty else ("None" if missing.iloc[0] is None else "nan")


def _encode_pandas(obj: pd.DataFrame | pd.Series, folder: Path,
                   finish: Finish) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    series = isinstance(obj, pd.Series)
    frame = obj.to_frame() if isinstance(obj, pd.Series) else obj
    index = frame.index
    range_index = isinstance(index, pd.RangeIndex)
    names = list(frame.columns)
    # Parquet names: the column names when they are distinct strings (DuckDB ignores case), else c0, c1...
    plain = all(isinstance(n, str) and not n.startswith("__index_level_") for n in names) and \
        len({n.lower() for n in names}) == len(names)
    stored = names if plain else [f"c{i}" for i in range(len(names))]
    columns, nulls = [], {}
    for name, key, (_, column) in zip(names, stored, frame.items(), strict=True):
        dtype = column.dtype
        info: dict[str, Any] = {"name": _label(name), "parquet": key, "dtype": str(dtype)}
        if isinstance(dtype, pd.CategoricalDtype):
            info["categories"] = dtype.categories.tolist()
            info["categories_dtype"] = str(dtype.categories.dtype)
            info["ordered"] = bool(dtype.ordered)
        elif isinstance(dtype, np.dtype) and dtype.kind == "O":
            nulls[key] = _check_objects(name, column)
        if dtype == np.float16:
            raise InvalidInputError(f"cannot snapshot column {name!r}: float16 has no Parquet type; "
                                    "use float32")
        columns.append(info)
    levels = [] if range_index else [
        {"name": _label(n), "parquet": _INDEX.format(i), "dtype": str(index.get_level_values(i).dtype)}
        for i, n in enumerate(index.names)]
    meta = {"format": "parquet", "series": series, "columns": columns, "object_nulls": nulls,
            "index": {"range": [index.start, index.stop, index.step], "name": _label(index.name)}
            if isinstance(index, pd.RangeIndex) else {"levels": levels},
            "columns_index": {"names": [_label(n) for n in frame.columns.names],
                              "dtype": str(frame.columns.dtype)},
            "rows": len(frame)}
    flat = frame.set_axis(stored, axis=1)
    if not range_index:
        flat = flat.set_axis(pd.MultiIndex.from_arrays(
            [index.get_level_values(i) for i in range(index.nlevels)], names=[lv["parquet"] for lv in levels])
            if index.nlevels > 1 else index.rename(levels[0]["parquet"]), axis=0).reset_index()
    step = _part_rows(len(flat), int(flat.memory_usage(index=False).sum() // max(1, len(flat))))
    count = max(1, -(-len(flat) // step))
    # Trying to dictionary-encode millions of distinct floats costs as much as writing them: in a
    # frame of floats only, a dictionary is kept only when it stays tiny (a few-valued column).
    options = f"FORMAT parquet, COMPRESSION {COMPRESSION}" + (
        ", DICTIONARY_SIZE_LIMIT 8192" if all(t.kind == "f" for t in flat.dtypes if isinstance(t, np.dtype))
        and all(isinstance(t, np.dtype) for t in flat.dtypes) else "")

    numeric = parquet.supported(flat)

    def write(i: int, path: Path) -> tuple[int, str | None]:
        piece = flat.iloc[i * step:(i + 1) * step]
        if numeric:  # numbers only: written as they are, and hashed on the way
            return len(piece), parquet.write(piece, path)
        with duckdb.connect(config={"threads": 1}) as con:  # two writers, one thread each
            con.register("part", piece)
            con.execute(f"COPY part TO {quote_literal(path)} ({options})")
        return len(piece), None

    try:
        return meta, _write_parts(count, write, folder, finish, ".parquet")
    except (duckdb.Error, TypeError, ValueError) as exc:  # a column type DuckDB cannot write
        raise InvalidInputError(f"cannot snapshot this frame as Parquet: {str(exc).splitlines()[0]}; "
                                "convert unusual columns to strings or numbers first") from None


def _restore(column: pd.Series, info: dict[str, Any], nulls: str | None) -> pd.Series:
    """A column read back from Parquet with the dtype it was logged with."""
    dtype = info["dtype"]
    if "categories" in info:
        categories = pd.Index(info["categories"])
        if str(categories.dtype) != info["categories_dtype"]:
            categories = categories.astype(info["categories_dtype"])
        return column.astype(pd.CategoricalDtype(categories, info["ordered"]))
    if dtype == "object":
        values = column.astype(object)
        return values.where(values.notna(), None if nulls == "None" else np.nan)
    return column if str(column.dtype) == dtype else column.astype(dtype)


def _decode_pandas(meta: dict[str, Any], paths: list[Path]) -> pd.DataFrame | pd.Series:
    with duckdb.connect(config={"threads": 2}) as con:
        files = ", ".join(quote_literal(p) for p in paths)
        flat = con.execute(f"SELECT * FROM read_parquet([{files}])").df()  # noqa: S608 - paths quoted by sqltext
    nulls = meta.get("object_nulls", {})
    index_meta = meta["index"]
    if "range" in index_meta:
        start, stop, step = index_meta["range"]
        index: pd.Index = pd.RangeIndex(start, stop, step, name=_unlabel(index_meta["name"]))
    else:
        arrays = [_restore(flat[lv["parquet"]], lv, None) for lv in index_meta["levels"]]
        names = [_unlabel(lv["name"]) for lv in index_meta["levels"]]
        index = pd.MultiIndex.from_arrays(arrays, names=names) if len(arrays) > 1 else \
            pd.Index(arrays[0], name=names[0])
    frame = flat[[c["parquet"] for c in meta["columns"]]]  # no copy of the data where types already match
    for i, c in enumerate(meta["columns"]):
        column = frame.iloc[:, i]
        restored = _restore(column, c, nulls.get(c["parquet"]))
        if restored is not column:
            frame.isetitem(i, restored)
    frame.index = index
    names = [_unlabel(c["name"]) for c in meta["columns"]]
    col_names = [_unlabel(n) for n in meta["columns_index"]["names"]]
    tuples = [n for n in names if isinstance(n, tuple)]
    if names and len(tuples) == len(names) and len(col_names) > 1:
        frame.columns = pd.MultiIndex.from_tuples(tuples, names=col_names)
    else:
        frame.columns = pd.Index(names, dtype=meta["columns_index"]["dtype"], name=col_names[0])
    return frame.iloc[:, 0] if meta["series"] else frame


# -- polars ---------------------------------------------------------------------------------
def _encode_polars(obj: Any, folder: Path, finish: Finish) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    import polars as pl

    if not isinstance(obj, (pl.DataFrame, pl.Series)):
        raise InvalidInputError(f"cannot snapshot a polars {type(obj).__name__}: pass a DataFrame or Series")
    series = isinstance(obj, pl.Series)
    frame = obj.to_frame() if isinstance(obj, pl.Series) else obj
    step = _part_rows(frame.height, int(frame.estimated_size() // max(1, frame.height)))
    count = max(1, -(-frame.height // step))

    def write(i: int, path: Path) -> tuple[int, str | None]:
        piece = frame.slice(i * step, step)
        piece.write_parquet(path, compression=COMPRESSION)
        return piece.height, None

    return {"format": "polars-parquet", "series": series}, _write_parts(count, write, folder, finish, ".parquet")


def describe(meta: dict[str, Any]) -> str:
    """One line on how a snapshot is stored, for listings."""
    return {"npy": "numpy .npy", "parquet": "Parquet", "polars-parquet": "Parquet (polars)"}.get(
        meta.get("format", ""), json.dumps(meta.get("format")))
