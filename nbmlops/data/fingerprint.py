"""Content fingerprints and compact profiles of datasets: frames, arrays, files and folders.

A fingerprint is the xxh3_128 hex digest of ALL the content, never a sample. Format 1:
- file: the plain xxh3_128 of its bytes (`xxh128sum FILE` prints the same digest).
- directory: (relative path with "/" separators, file digest) of every regular file, sorted by
  path. Symlinked files are followed; symlinked folders and empty folders are not content.
- in-memory data: a stream of length-prefixed fields (so no two objects encode alike) that starts
  with the format tag and the kind. DataFrame: shape, index (names, then each level's dtype and
  values), then each column in order: name, dtype, values. Series: the same with one column.
  Numpy array: dtype, shape, values in C order. Polars: shape, then per column name, dtype, null
  mask, values. Fixed-width values are hashed as raw little-endian bytes with every NaN made the
  one canonical NaN (0.0 and -0.0 stay distinct); Python objects are type-tagged (None, NaN, NA,
  NaT differ); strings as lengths plus UTF-8 text; categoricals as categories plus codes; masked
  columns as null mask plus values. A RangeIndex hashes like the int64 Index of its values.
The same numbers held by different kinds (a DataFrame, its numpy values, its polars twin) have
different fingerprints; the same data logged twice has the same one, in any process.
"""

from __future__ import annotations

import math
import os
import sqlite3
import struct
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

import numpy as np
import pandas as pd
import xxhash

from nbmlops.errors import InvalidInputError, StoreError

if TYPE_CHECKING:  # polars is optional: imported at run time only once the user hands us polars data
    import polars as pl

FORMAT = b"nbmlops-fingerprint/1"
CHUNK_BYTES = 1 << 20  # numeric data goes in L2-sized pieces so the NaN check reads from cache
READ_BYTES = 8 << 20  # file reads: large enough that syscalls cost nothing next to hashing
OBJECT_CHUNK = 1 << 16  # Python objects are encoded this many at a time to bound memory
RACY_NS = 2_000_000_000  # a file this fresh may change again within its mtime tick: not cached
QUANTILES = {"p01": 0.01, "p05": 0.05, "p25": 0.25, "p50": 0.5, "p75": 0.75, "p95": 0.95,
             "p99": 0.99}
HISTOGRAM_BINS = 20
TOP_VALUES = 10
SUPPORTED = ("pass a pandas DataFrame or Series, a numpy array, a polars DataFrame or Series, "
             "or the path of a file or folder")

_LEN = struct.Struct("<Q").pack
_F64 = struct.Struct("<d").pack
Profile = dict[str, object]
Values = np.ndarray | pd.Series  # one column as the profilers read it


class _Column(Protocol):
    """A named column of a table (pandas or polars Series): what `_table` reads of it."""

    @property
    def dtype(self) -> Any: ...


C = TypeVar("C", bound=_Column)


@dataclass(frozen=True)
class DatasetInfo:
    """A dataset's content fingerprint, shape, schema, profile and origin.

    `schema` maps column to dtype; an array has one entry {"": "dtype[shape]"} such as
    "float64[1000,3]"; files and folders have {}. `profile` maps column to JSON-safe stats (array
    columns are "0", "1", ...; 1-D and 3+-D arrays are the one column ""); files and folders have
    none. Profiles by "type": numeric (count, nulls incl. NaN, infinite, min, max, mean, std
    with ddof=1, p01..p99, histogram {edges, counts} over finite values), categorical (count,
    nulls, distinct, top [[value, count], ...]) and temporal (count, nulls, min, max as text).
    `size_bytes` is the size on disk for files and folders, else the bytes of content hashed.
    """

    fingerprint: str
    kind: str  # "dataframe", "series", "array", "polars", "file" or "directory"
    rows: int | None
    columns: int | None
    schema: dict[str, str]
    profile: dict[str, Profile]
    size_bytes: int
    source: str | None  # absolute path of a file or folder
    files: int | None = None  # number of files in a folder


def fingerprint(obj: object, *, cache_path: Path | None = None,
                profile: bool = True) -> DatasetInfo:
    """Fingerprint and profile a frame, series, array, file or folder: `fingerprint(df)`.

    With `cache_path` (a sqlite file), a file whose size, mtime and inode have not changed since an
    earlier call is not read again.
    """
    if isinstance(obj, (str, os.PathLike)):
        return _fingerprint_path(obj, cache_path)
    if isinstance(obj, (pd.DataFrame, pd.Series)):
        return _fingerprint_pandas(obj, profile)
    if isinstance(obj, np.ndarray):
        return _fingerprint_array(obj, profile)
    if type(obj).__module__.split(".")[0] == "polars":  # never import polars just to ask
        return _fingerprint_polars(obj, profile)
    raise InvalidInputError(f"cannot fingerprint a {type(obj).__name__}: {SUPPORTED}")


class _Hasher:
    """xxh3_128 over the canonical stream, counting the bytes it is given."""

    def __init__(self, kind: str) -> None:
        self._hash, self.size = xxhash.xxh3_128(), 0
        self.put(FORMAT)
        self.put(kind.encode())

    def raw(self, data: bytes | memoryview) -> None:  # bytes, or a memoryview of single bytes
        self._hash.update(data)
        self.size += len(data)

    def array(self, arr: np.ndarray) -> None:
        """The raw bytes of a contiguous 1-D array."""
        self.raw(arr.view(np.uint8).data)

    def put(self, data: bytes) -> None:  # length first: consecutive fields never run together
        self.raw(_LEN(len(data)))
        self.raw(data)

    def ints(self, *values: int) -> None:
        self.raw(struct.pack(f"<{len(values)}q", *values))

    def hexdigest(self) -> str:
        return self._hash.hexdigest()


def _put_fixed(h: _Hasher, arr: np.ndarray) -> None:
    """Raw little-endian bytes of a fixed-width array in C order, every NaN made the same NaN."""
    if arr.dtype.byteorder == ">" or (arr.dtype.byteorder == "=" and sys.byteorder == "big"):
        arr = arr.astype(arr.dtype.newbyteorder("<"))
    h.put(arr.dtype.str.encode())
    h.ints(arr.ndim, *arr.shape)
    arr = arr.reshape(1) if arr.ndim == 0 else arr
    step = max(1, CHUNK_BYTES // max(1, arr.itemsize * math.prod(arr.shape[1:])))
    for start in range(0, arr.shape[0], step):  # a strided array is copied one piece at a time
        piece = np.ascontiguousarray(arr[start:start + step]).reshape(-1)
        if piece.dtype.kind == "c":  # complex numbers are pairs of floats
            piece = piece.view(f"<f{piece.itemsize // 2}")
        if piece.dtype.kind == "f" and piece.size and np.isnan(piece.max()):  # max() spreads NaN
            piece = np.where(np.isnan(piece), np.array(np.nan, piece.dtype), piece)
        h.array(piece)


def _encode(value: object) -> bytes:
    """One Python value as tag + length + payload, so a run of them decodes unambiguously."""
    tag, data = b"r", b""
    if value is None or value is pd.NA or value is pd.NaT:
        tag = b"N" if value is None else b"A" if value is pd.NA else b"T"
    elif isinstance(value, (bool, np.bool_)):
        tag, data = b"b", b"\1" if value else b"\0"
    elif isinstance(value, (int, np.integer)):
        tag, data = b"i", str(int(value)).encode()
    elif isinstance(value, (float, np.float32, np.float16)):  # wider floats keep their repr below
        tag, data = b"f", _F64(math.nan if value != value else float(value))
    elif isinstance(value, str):
        tag, data = b"s", value.encode("utf-8", "surrogatepass")
    elif isinstance(value, (bytes, bytearray, memoryview)):
        tag, data = b"y", bytes(value)
    elif isinstance(value, np.ndarray):
        inner = _Hasher("array")
        _put_array(inner, value)
        tag, data = b"a", bytes.fromhex(inner.hexdigest())
    elif isinstance(value, (list, tuple)):
        tag, data = (b"l" if isinstance(value, list) else b"t"), b"".join(map(_encode, value))
    elif isinstance(value, dict):
        tag, data = b"d", b"".join(_encode(k) + _encode(v) for k, v in value.items())
    elif isinstance(value, (set, frozenset)):  # iteration order follows the salted hash(): sort
        tag, data = b"e", b"".join(sorted(map(_encode, value)))
    elif type(value).__repr__ is object.__repr__:  # "<Foo object at 0x7f..>" changes every run
        raise InvalidInputError(f"cannot fingerprint {type(value).__name__} values, they have no "
                                "stable repr: convert the column to strings or numbers first")
    else:  # datetimes, Decimals, Timestamps, Intervals...: their repr is their value
        data = f"{type(value).__module__}.{type(value).__qualname__}:{value!r}".encode(
            "utf-8", "surrogatepass")
    return tag + _LEN(len(data)) + data


def _put_objects(h: _Hasher, values: np.ndarray) -> None:
    """A 1-D object array: where the nulls are and what they are, then the other values."""
    kind, nulls = pd.api.types.infer_dtype(values, skipna=False), np.empty(0, "<i8")
    if kind != "string":
        mask = pd.isna(values)
        if mask.any():
            nulls = np.flatnonzero(mask).astype("<i8")
            null_values, values = values[mask], values[~mask]
            kind = pd.api.types.infer_dtype(values, skipna=False)
    h.ints(nulls.size)
    if nulls.size:
        h.array(nulls)
        h.put(b"".join(map(_encode, null_values)))
    h.put(b"S" if kind == "string" else b"O")
    for start in range(0, values.size, OBJECT_CHUNK):
        part = values[start:start + OBJECT_CHUNK].tolist()
        if kind == "string":  # code-point lengths plus the joined text pin down every string
            h.array(np.fromiter(map(len, part), "<i8", len(part)))
            h.put("".join(part).encode("utf-8", "surrogatepass"))
        else:
            h.put(b"".join(map(_encode, part)))


def _put_array(h: _Hasher, arr: np.ndarray) -> None:
    """Any numpy array: fixed-width dtypes as bytes, the rest as Python objects in C order."""
    if arr.dtype.kind in "OT" or arr.dtype.char in "gG":  # pointers; long double has padding bytes
        h.put(str(arr.dtype).encode())
        h.ints(arr.ndim, *arr.shape)
        _put_objects(h, arr.astype(object, copy=False).reshape(-1))
    elif arr.dtype.hasobject:
        raise InvalidInputError("cannot fingerprint structured arrays with object fields: "
                                "split them into plain arrays or a DataFrame first")
    else:
        _put_fixed(h, arr)


def _put_pandas(h: _Hasher, values: pd.Series | pd.Index) -> None:
    """One column or index level: its dtype, then its values by the cheapest exact route."""
    dtype = values.dtype
    h.put(str(dtype).encode())
    if isinstance(values, pd.RangeIndex):  # same stream as the int64 Index, without building it
        step = CHUNK_BYTES // 8
        h.put(b"<i8")
        h.ints(1, len(values))
        for start in range(0, len(values), step):
            h.array(values[start:start + step].to_numpy().astype("<i8"))
    elif isinstance(dtype, np.dtype):
        _put_array(h, values.to_numpy())
    elif isinstance(dtype, pd.CategoricalDtype):
        h.put(b"ordered" if dtype.ordered else b"unordered")
        _put_pandas(h, dtype.categories)
        _put_fixed(h, np.asarray(values.array.codes))
    elif isinstance(dtype, (pd.DatetimeTZDtype, pd.PeriodDtype)):
        _put_fixed(h, np.asarray(values.array.asi8))
    elif dtype.kind in "biuf" and hasattr(dtype, "numpy_dtype"):  # masked: Int64, Float64, boolean
        h.array(np.packbits(np.asarray(values.isna(), dtype=bool)))
        _put_fixed(h, values.to_numpy(dtype=dtype.numpy_dtype, na_value=0))
    else:  # str, string, interval, sparse, anything else: as Python objects
        _put_objects(h, np.asarray(values.to_numpy(dtype=object)))


def _put_polars(h: _Hasher, column: pl.Series) -> None:
    """One polars column: name, dtype, null mask, then values by dtype."""
    import polars as pl

    dtype, nulls = column.dtype, column.null_count()
    h.put(_encode(column.name))
    h.put(str(dtype).encode())
    h.ints(len(column), nulls)
    if nulls:
        h.array(np.packbits(column.is_null().to_numpy()))
    if dtype.is_integer() or dtype.is_float() or dtype.is_temporal() or dtype == pl.Boolean:
        physical = column.to_physical()
        _put_fixed(h, (physical.fill_null(False if dtype == pl.Boolean else 0) if nulls
                       else physical).to_numpy())
    elif dtype == pl.String or dtype == pl.Categorical or dtype == pl.Enum:
        text = column.cast(pl.String).fill_null("")
        for start in range(0, len(text), OBJECT_CHUNK):  # polars strings are UTF-8 already
            part = text.slice(start, OBJECT_CHUNK)
            h.array(part.str.len_bytes().to_numpy().astype("<i8"))
            h.put(part.str.join("").item().encode("utf-8"))
    else:  # lists, structs, decimals, binary, objects: as Python objects
        _put_objects(h, np.fromiter(column.to_list(), dtype=object, count=len(column)))


def _json(value: object) -> object:
    """A JSON-safe value: numbers and strings as they are, NaN/inf as None, others as text."""
    if isinstance(value, np.generic) and value.dtype.kind in "biuf":
        value = value.item()
    if value is None or isinstance(value, (bool, int, str)):
        return value
    return (value if math.isfinite(value) else None) if isinstance(value, float) else str(value)


def _numeric_profile(values: np.ndarray, nulls: int) -> Profile:
    """count, nulls, infinite, min, max, mean, std (ddof=1), quantiles and a 20-bin histogram."""
    infinite = 0
    if values.dtype.kind == "f" and not np.isfinite(values).all():
        nan = int(np.count_nonzero(np.isnan(values)))
        finite = values[np.isfinite(values)]
        infinite, nulls, values = values.size - nan - finite.size, nulls + nan, finite
    out: Profile = {"type": "numeric", "count": values.size + infinite, "nulls": nulls,
                    "infinite": infinite}
    if not values.size:
        return {**out, **dict.fromkeys(["min", "max", "mean", "std", *QUANTILES, "histogram"])}
    ordered = np.sort(values)  # one sort gives min, max, exact quantiles and the histogram
    low, high = ordered[0].item(), ordered[-1].item()
    at = np.array(list(QUANTILES.values())) * (ordered.size - 1)  # np.quantile's "linear" method
    below, t = np.floor(at).astype(np.intp), at % 1
    a, b = ordered[below].astype(np.float64), ordered[np.minimum(below + 1, ordered.size - 1)]
    quantiles = np.where(t < 0.5, a + (b - a) * t, b - (b - a) * (1 - t))
    edges = (np.linspace(low, high, HISTOGRAM_BINS + 1) if low != high else
             np.linspace(low - 0.5, high + 0.5, HISTOGRAM_BINS + 1))  # as np.histogram does
    starts = np.searchsorted(ordered, edges[:-1], side="left")
    counts = np.diff(np.append(starts, ordered.size))  # the last bin is closed, as np.histogram's
    return {**out, "min": _json(low),
            "max": _json(high),
            "mean": _json(float(np.mean(values, dtype=np.float64))),
            "std": _json(float(np.std(values, ddof=1, dtype=np.float64))) if values.size > 1
            else None,
            **{k: _json(float(q)) for k, q in zip(QUANTILES, quantiles, strict=True)},
            "histogram": {"edges": [float(e) for e in edges], "counts": counts.tolist()}}


def _categorical_profile(values: Values, nulls: int) -> Profile:
    """count, nulls, exact number of distinct values and the top 10 with their counts."""
    if isinstance(values, np.ndarray) and values.dtype.kind in "TUSV":
        values = values.astype(object)
    try:
        codes, uniques = pd.factorize(values)
    except TypeError:  # unhashable cells (lists, dicts): count their reprs instead
        codes, uniques = pd.factorize(np.array([repr(v) for v in values], dtype=object))
    missing = int(np.count_nonzero(codes < 0))
    counts = np.bincount(codes[codes >= 0], minlength=len(uniques))
    top = np.argsort(-counts, kind="stable")[:TOP_VALUES]  # ties in order of first appearance
    return {"type": "categorical", "count": len(codes) - missing, "nulls": nulls + missing,
            "distinct": len(uniques), "top": [[_json(uniques[i]), int(counts[i])] for i in top]}


def _profile_column(values: Values, nulls: int = 0) -> Profile:
    """The profile of one column; `nulls` counts missing values already dropped from `values`."""
    dtype = values.dtype
    if isinstance(values, pd.Series) and isinstance(dtype, pd.api.extensions.ExtensionDtype) \
            and dtype.kind in "iuf" and hasattr(dtype, "numpy_dtype"):  # masked (Int64...): drop NA, go numpy
        present = values.dropna()
        return _numeric_profile(present.to_numpy(dtype=dtype.numpy_dtype),
                                nulls + len(values) - len(present))
    if dtype.kind in "iuf":
        return _numeric_profile(np.asarray(values), nulls)
    if dtype.kind in "Mm":  # datetimes (with or without time zone) and durations
        series = values if isinstance(values, pd.Series) else pd.Series(values)
        present = series.dropna()
        return {"type": "temporal", "count": len(present),
                "nulls": nulls + len(series) - len(present),
                "min": str(present.min()) if len(present) else None,
                "max": str(present.max()) if len(present) else None}
    return _categorical_profile(values, nulls)


def _keys(names: Iterable[object]) -> list[str]:
    """Column names as unique strings: repeats get ".1", ".2", ... as pandas.read_csv does."""
    keys: list[str] = []
    taken: set[str] = set()
    for name in names:
        key = base = "" if name is None else str(name)
        n = 0
        while key in taken:
            n += 1
            key = f"{base}.{n}"
        keys.append(key)
        taken.add(key)
    return keys


def _table(kind: str, h: _Hasher, rows: int, columns: Sequence[tuple[object, C]],
           put: Callable[[_Hasher, object, C], None], stats_of: Callable[[C], Profile],
           profile: bool) -> DatasetInfo:
    """Hash (with `put`) and profile (with `stats_of`) named columns in order."""
    schema: dict[str, str] = {}
    stats: dict[str, Profile] = {}
    for key, (name, column) in zip(_keys(name for name, _ in columns), columns, strict=True):
        put(h, name, column)
        schema[key] = str(column.dtype)
        if profile:
            stats[key] = stats_of(column)
    return DatasetInfo(h.hexdigest(), kind, rows, len(columns), schema, stats, h.size, None)


def _fingerprint_pandas(obj: pd.DataFrame | pd.Series, profile: bool) -> DatasetInfo:
    """A pandas DataFrame or Series, index and names included."""
    columns: list[tuple[object, pd.Series]]
    if isinstance(obj, pd.DataFrame):
        kind, columns = "dataframe", [(obj.columns[i], obj.iloc[:, i]) for i in range(obj.shape[1])]
    else:
        kind, columns = "series", [(obj.name, obj)]
    h = _Hasher(kind)
    h.ints(len(obj), len(columns))
    index = obj.index
    h.put(_encode(list(index.names)))
    for level in range(index.nlevels):
        _put_pandas(h, index.get_level_values(level) if index.nlevels > 1 else index)

    def put(h: _Hasher, name: object, column: pd.Series) -> None:
        h.put(_encode(name))
        _put_pandas(h, column)

    def stats_of(column: pd.Series) -> Profile:
        return _profile_column(column)

    return _table(kind, h, len(obj), columns, put, stats_of, profile)


def _fingerprint_polars(obj: object, profile: bool) -> DatasetInfo:
    """A polars DataFrame or Series (polars is imported only once the user has handed us one)."""
    import polars as pl

    if isinstance(obj, pl.LazyFrame):
        raise InvalidInputError("a polars LazyFrame is a query, not data: pass .collect() instead")
    if not isinstance(obj, (pl.DataFrame, pl.Series)):
        raise InvalidInputError(f"cannot fingerprint a polars {type(obj).__name__}: {SUPPORTED}")
    frame = isinstance(obj, pl.DataFrame)
    series = obj.get_columns() if isinstance(obj, pl.DataFrame) else [obj]
    columns: list[tuple[object, pl.Series]] = [(c.name, c) for c in series]
    h = _Hasher("polars")
    h.put(b"frame" if frame else b"series")
    h.ints(len(obj), len(columns))

    def stats_of(column: pl.Series) -> Profile:
        present = column.drop_nulls()
        plain = (present.dtype.is_numeric() or present.dtype.is_temporal()
                 or present.dtype in (pl.Boolean, pl.String))
        values = (present.to_numpy() if plain else
                  np.fromiter(present.to_list(), dtype=object, count=len(present)))
        return _profile_column(values, column.null_count())

    def put(h: _Hasher, _: object, column: pl.Series) -> None:  # the name is in the column
        _put_polars(h, column)

    return _table("polars", h, len(obj), columns, put, stats_of, profile)


def _fingerprint_array(arr: np.ndarray, profile: bool) -> DatasetInfo:
    """A numpy array of any dtype and shape; a 2-D array's columns are profiled as "0", "1", ..."""
    h = _Hasher("array")
    _put_array(h, arr)
    stats: dict[str, Profile] = {}
    if profile and arr.ndim == 2:
        stats = {str(j): _profile_column(arr[:, j]) for j in range(arr.shape[1])}
    elif profile:
        stats = {"": _profile_column(arr.reshape(-1))}
    columns = arr.shape[1] if arr.ndim == 2 else 1 if arr.ndim == 1 else None
    return DatasetInfo(h.hexdigest(), "array", arr.shape[0] if arr.ndim else None, columns,
                       {"": f"{arr.dtype}[{','.join(map(str, arr.shape))}]"}, stats, h.size, None)


def _file_digest(path: str, buffer: bytearray) -> bytes:
    """xxh3_128 of a file's bytes, read in large chunks into one reused buffer."""
    digest, view = xxhash.xxh3_128(), memoryview(buffer)
    try:
        with open(path, "rb", buffering=0) as f:
            if hasattr(os, "posix_fadvise"):  # ask the kernel to read ahead aggressively
                os.posix_fadvise(f.fileno(), 0, 0, os.POSIX_FADV_SEQUENTIAL)
            while n := f.readinto(buffer):
                digest.update(view[:n])
    except OSError as e:
        raise InvalidInputError(f"cannot read {path}: {e.strerror or e}; check that it exists and "
                                "is readable") from e
    return digest.digest()


def _digests(files: list[tuple[str, os.stat_result]], cache_path: Path | None,
             key_range: tuple[str, str]) -> list[bytes]:
    """Each file's digest, from the cache when its size, mtime_ns and inode are unchanged."""
    buffer = bytearray(READ_BYTES)
    if cache_path is None:
        return [_file_digest(path, buffer) for path, _ in files]
    now, digests, fresh = time.time_ns(), [], []
    try:
        Path(cache_path).parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(cache_path, timeout=30)  # wait for other writers rather than fail
        try:
            db.execute("PRAGMA journal_mode=WAL")  # readers never block the one writer
            db.execute("CREATE TABLE IF NOT EXISTS file_digests (path TEXT PRIMARY KEY, "
                       "size INTEGER, mtime_ns INTEGER, inode INTEGER, xxh3_128 TEXT)")
            known = {row[0]: row[1:] for row in db.execute(
                "SELECT * FROM file_digests WHERE path >= ? AND path < ?", key_range)}
            for path, st in files:
                key = (st.st_size, st.st_mtime_ns, st.st_ino % (1 << 63))  # sqlite ints are signed
                hit = known.get(path)
                if hit is not None and tuple(hit[:3]) == key:
                    digests.append(bytes.fromhex(hit[3]))
                    continue
                digests.append(_file_digest(path, buffer))
                if st.st_mtime_ns < now - RACY_NS:
                    fresh.append((path, *key, digests[-1].hex()))
            if fresh:
                with db:
                    db.executemany("INSERT OR REPLACE INTO file_digests VALUES (?, ?, ?, ?, ?)",
                                   fresh)
        finally:
            db.close()
    except (sqlite3.Error, OSError) as e:
        raise StoreError(f"file digest cache {cache_path} cannot be used ({e}): delete it, it is "
                         "rebuilt on the next call") from e
    return digests


def _scan(root: str) -> list[tuple[str, os.stat_result]]:
    """Every regular file under `root` as ("a/b.csv", stat), sorted by that relative path."""
    found, pending = [], [""]
    while pending:
        rel = pending.pop()
        try:
            for entry in os.scandir(os.path.join(root, rel)):
                name = f"{rel}/{entry.name}" if rel else entry.name  # "/" on every OS
                if entry.is_dir(follow_symlinks=False):
                    pending.append(name)
                elif entry.is_file():
                    found.append((name, entry.stat()))
        except OSError as e:
            raise InvalidInputError(f"cannot list {e.filename or root}: {e.strerror or e}; check "
                                    "its permissions") from e
    return sorted(found, key=lambda item: item[0])


def _fingerprint_path(obj: str | os.PathLike, cache_path: Path | None) -> DatasetInfo:
    """A file (its bytes) or a folder (its files' relative paths and bytes)."""
    raw = os.fsdecode(os.fspath(obj))
    path = os.path.abspath(raw) if raw else ""
    if os.path.isfile(path):
        st = os.stat(path)
        digest = _digests([(path, st)], cache_path, (path, path + "\0"))[0]
        return DatasetInfo(digest.hex(), "file", None, None, {}, {}, st.st_size, path)
    if not os.path.isdir(path):
        what = "is not a regular file or folder" if os.path.exists(path) else "does not exist"
        raise InvalidInputError(f"path {raw!r} {what}: pass the path of an existing file or folder")
    files, _, folder = folder_digests(path, cache_path)
    return DatasetInfo(folder, "directory", None, None, {}, {},
                       sum(st.st_size for _, st in files), path, files=len(files))


def folder_digests(root: str, cache_path: Path | None) -> tuple[list[tuple[str, os.stat_result]], list[bytes], str]:
    """Every file under `root` as ("a/b.csv", stat), each file's digest, and the folder's fingerprint.

    A file's digest comes from the sqlite cache at `cache_path` while its size, mtime_ns and inode
    are unchanged, so fingerprinting a folder again (or snapshotting it after) reads no file twice.
    """
    files = _scan(root)
    prefix = root if root.endswith(os.sep) else root + os.sep
    # Cached paths under the folder sort from "<path>/" up to "<path>0" ("0" follows "/").
    digests = _digests([(prefix + rel, st) for rel, st in files], cache_path,
                       (prefix, prefix[:-1] + chr(ord(os.sep) + 1)))
    h = _Hasher("directory")
    for (rel, _), digest in zip(files, digests, strict=True):
        h.put(os.fsencode(rel))
        h.raw(digest)
    return files, digests, h.hexdigest()
