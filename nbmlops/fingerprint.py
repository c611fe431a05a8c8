"""Content fingerprints and compact profiles of datasets: frames, arrays, files and folders.

A fingerprint is the xxh3_128 hex digest of ALL the content (never a sample), in format 1:

- file: the plain xxh3_128 of its bytes, so `xxh128sum FILE` prints the same digest.
- directory: a stream of (relative path with "/" separators, file digest) for every regular file,
  sorted by relative path. Symlinked files are followed, symlinked folders and empty folders are not.
- in-memory data: a canonical byte stream that starts with the format tag and the kind, in which
  every field is length-prefixed so that no two different objects encode alike:
  - pandas DataFrame: shape, the index (names, then each level's dtype and values), then for each
    column in order its name, dtype and values. Series: length, name, index, dtype, values.
    A RangeIndex hashes like the int64 Index with the same values.
  - numpy array: dtype (little-endian), shape, then the values in C order.
  - polars DataFrame/Series: shape, then per column name, dtype, null mask and values.
  Fixed-width values (numbers, bools, datetimes, fixed-width strings) are hashed as their raw
  little-endian bytes, with every NaN rewritten to the one canonical NaN (-0.0 and 0.0 stay distinct).
  Python objects are type-tagged (None, NaN, NA and NaT all differ); all-string columns are hashed as
  their code-point lengths plus their UTF-8 text. Categoricals hash categories plus codes; nullable
  (masked) columns hash the null mask plus values with nulls as 0.
The same data of different kinds (a DataFrame, its numpy values, its polars twin) may have
different fingerprints; the same data logged twice always has the same one, in any process.
"""

from __future__ import annotations

import math
import os
import sqlite3
import struct
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import xxhash

from .errors import InvalidInputError, StoreError

FORMAT = b"nbmlops-fingerprint/1"
CHUNK_BYTES = 1 << 20  # numeric data goes in L2-sized pieces so the NaN check reads from cache
READ_BYTES = 8 << 20  # file reads: large enough that syscalls cost nothing next to hashing
OBJECT_CHUNK = 1 << 16  # Python objects are encoded this many at a time to bound memory
RACY_NS = 2_000_000_000  # a file this fresh may change again within its mtime tick: never cached
QUANTILES = {"p01": 0.01, "p05": 0.05, "p25": 0.25, "p50": 0.5, "p75": 0.75, "p95": 0.95,
             "p99": 0.99}
HISTOGRAM_BINS = 20
TOP_VALUES = 10
SUPPORTED = ("pass a pandas DataFrame or Series, a numpy array, a polars DataFrame or Series, "
             "or the path of a file or folder")

_LEN = struct.Struct("<Q").pack
_F64 = struct.Struct("<d").pack


@dataclass(frozen=True)
class DatasetInfo:
    """What a dataset is: its content fingerprint, shape, schema, profile and where it came from.

    `schema` maps column name to dtype string; an array has the single entry
    {"": "dtype[shape]"} (e.g. "float64[1000,3]"), files and folders have {}. `profile` maps column
    name to JSON-safe stats (array columns are "0", "1", ...; a 1-D or 3+-D array is the column "");
    files and folders have no profile, their size is `size_bytes`. `size_bytes` is the bytes on
    disk for files and folders, and the bytes of canonical content hashed for in-memory data.
    """

    fingerprint: str
    kind: str  # "dataframe", "series", "array", "polars", "file" or "directory"
    rows: int | None
    columns: int | None
    schema: dict[str, str]
    profile: dict[str, dict[str, object]]
    size_bytes: int
    source: str | None  # absolute path of a file or folder
    files: int | None = None  # number of files in a folder


def fingerprint(obj: object, *, cache_path: Path | None = None, profile: bool = True) -> DatasetInfo:
    """Fingerprint and profile a frame, series, array, file or folder, e.g. `fingerprint(df).fingerprint`.

    With `cache_path` (a sqlite file), files whose size, mtime and inode are unchanged since an
    earlier call are not read again.
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
        self._hash = xxhash.xxh3_128()
        self.size = 0
        self.put(FORMAT)
        self.put(kind.encode())

    def raw(self, data: bytes | np.ndarray) -> None:
        """Add bytes (or a 1-D uint8 array) whose length the stream already implies."""
        self._hash.update(data)
        self.size += len(data)

    def put(self, data: bytes) -> None:
        """Add a length-prefixed field, so consecutive fields never run into each other."""
        self.raw(_LEN(len(data)))
        self.raw(data)

    def ints(self, *values: int) -> None:
        self.raw(struct.pack(f"<{len(values)}q", *values))

    def hexdigest(self) -> str:
        return self._hash.hexdigest()


def _chunks(arr: np.ndarray) -> Iterator[np.ndarray]:
    """Contiguous 1-D pieces of `arr` in C order; a strided array is copied one piece at a time."""
    if arr.flags.c_contiguous:
        flat = arr.reshape(-1)
        step = max(1, CHUNK_BYTES // max(1, arr.itemsize))
        for start in range(0, flat.size, step):
            yield flat[start:start + step]
        return
    step = max(1, CHUNK_BYTES // max(1, arr.itemsize * math.prod(arr.shape[1:])))
    for start in range(0, arr.shape[0], step):
        yield np.ascontiguousarray(arr[start:start + step]).reshape(-1)


def _put_fixed(h: _Hasher, arr: np.ndarray) -> None:
    """Raw little-endian bytes of a fixed-width array, every NaN made the same NaN."""
    if arr.dtype.byteorder == ">" or (arr.dtype.byteorder == "=" and sys.byteorder == "big"):
        arr = arr.astype(arr.dtype.newbyteorder("<"))
    h.put(arr.dtype.str.encode())
    h.ints(arr.ndim, *arr.shape)
    floats = arr.dtype.kind in "fc"
    for piece in _chunks(arr):
        if floats:  # complex numbers are pairs of floats; NaNs come with many bit patterns
            piece = piece.view(f"<f{piece.itemsize // 2}") if piece.dtype.kind == "c" else piece
            if piece.size and np.isnan(piece.max()):  # max() propagates NaN: one cheap pass
                piece = np.where(np.isnan(piece), np.array(np.nan, piece.dtype), piece)
        h.raw(piece.view(np.uint8))


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
    """A 1-D object array: positions and tags of nulls, then strings fast or values one by one."""
    kind = pd.api.types.infer_dtype(values, skipna=False)
    nulls = np.empty(0, np.int64)
    if kind != "string":
        mask = pd.isna(values)
        if mask.any():
            nulls = np.flatnonzero(mask)
            h.ints(nulls.size)
            h.raw(nulls.astype("<i8").view(np.uint8))
            h.put(b"".join(map(_encode, values[nulls])))
            values = values[~mask]
            kind = pd.api.types.infer_dtype(values, skipna=False)
    if not nulls.size:
        h.ints(0)
    h.put(b"S" if kind == "string" else b"O")
    for start in range(0, values.size, OBJECT_CHUNK):
        part = values[start:start + OBJECT_CHUNK].tolist()
        if kind == "string":  # code-point lengths plus the joined text pin down every string
            h.raw(np.fromiter(map(len, part), "<i8", len(part)).view(np.uint8))
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
        h.put(b"<i8")
        h.ints(1, len(values))
        for start in range(0, len(values), CHUNK_BYTES // 8):
            h.raw(values[start:start + CHUNK_BYTES // 8].to_numpy().astype("<i8").view(np.uint8))
    elif isinstance(dtype, np.dtype):
        _put_array(h, values.to_numpy())
    elif isinstance(dtype, pd.CategoricalDtype):
        h.put(b"ordered" if dtype.ordered else b"unordered")
        _put_pandas(h, dtype.categories)
        _put_fixed(h, np.asarray(values.array.codes))
    elif isinstance(dtype, (pd.DatetimeTZDtype, pd.PeriodDtype)):
        _put_fixed(h, np.asarray(values.array.asi8))
    elif dtype.kind in "biuf" and hasattr(dtype, "numpy_dtype"):  # masked: Int64, Float64, boolean
        h.raw(np.packbits(np.asarray(values.isna(), dtype=bool)))
        _put_fixed(h, values.to_numpy(dtype=dtype.numpy_dtype, na_value=0))
    else:  # str, string, interval, sparse, anything else: as Python objects
        _put_objects(h, np.asarray(values.to_numpy(dtype=object)))


def _put_index(h: _Hasher, index: pd.Index) -> None:
    """Index names, then every level's values."""
    h.put(_encode(list(index.names)))
    for level in range(index.nlevels):
        _put_pandas(h, index.get_level_values(level) if index.nlevels > 1 else index)


def _put_polars(h: _Hasher, column: object) -> None:
    """One polars column: name, dtype, null mask, then values by dtype."""
    import polars as pl

    h.put(_encode(column.name))
    h.put(str(column.dtype).encode())
    dtype, nulls = column.dtype, column.null_count()
    h.ints(len(column), nulls)
    if nulls:
        h.raw(np.packbits(column.is_null().to_numpy()))
    if dtype.is_integer() or dtype.is_float() or dtype.is_temporal() or dtype == pl.Boolean:
        physical = column.to_physical()
        _put_fixed(h, (physical.fill_null(False if dtype == pl.Boolean else 0) if nulls
                       else physical).to_numpy())
    elif dtype == pl.String or dtype == pl.Categorical or dtype == pl.Enum:
        text = column.cast(pl.String).fill_null("")
        for start in range(0, len(text), OBJECT_CHUNK):  # polars strings are UTF-8 already
            part = text.slice(start, OBJECT_CHUNK)
            h.raw(part.str.len_bytes().to_numpy().astype("<i8").view(np.uint8))
            h.put(part.str.join("").item().encode("utf-8"))
    else:  # lists, structs, decimals, binary, objects: as Python objects
        _put_objects(h, np.fromiter(column.to_list(), dtype=object, count=len(column)))


def _number(value: object) -> float | None:
    """A finite float, or None for NaN and infinities (JSON has neither)."""
    value = float(value)
    return value if math.isfinite(value) else None


def _json(value: object) -> object:
    """A JSON-safe stand-in for one value: numbers and strings as they are, others as text."""
    if isinstance(value, np.generic) and value.dtype.kind in "biuf":
        value = value.item()
    if value is None or isinstance(value, (bool, int, str)):
        return value
    return _number(value) if isinstance(value, float) else str(value)


def _numeric_profile(values: np.ndarray, nulls: int) -> dict[str, object]:
    """count, nulls, infinite, min, max, mean, std (ddof=1), quantiles and a 20-bin histogram."""
    infinite = 0
    if values.dtype.kind == "f":
        finite = np.isfinite(values)
        if not finite.all():
            nan = int(np.count_nonzero(np.isnan(values)))
            infinite = values.size - nan - int(np.count_nonzero(finite))
            nulls, values = nulls + nan, values[finite]
    out: dict[str, object] = {"type": "numeric", "count": values.size + infinite, "nulls": nulls,
                              "infinite": infinite}
    if not values.size:
        return {**out, **dict.fromkeys(["min", "max", "mean", "std", *QUANTILES, "histogram"])}
    ordered = np.sort(values)  # one sort gives min, max, exact quantiles and the histogram
    low, high = ordered[0].item(), ordered[-1].item()
    quantiles = np.quantile(ordered, list(QUANTILES.values()))
    edges = (np.linspace(low, high, HISTOGRAM_BINS + 1) if low != high else
             np.linspace(low - 0.5, high + 0.5, HISTOGRAM_BINS + 1))  # as np.histogram does
    starts = np.searchsorted(ordered, edges[:-1], side="left")
    counts = np.diff(np.append(starts, ordered.size))  # the last bin is closed, as np.histogram's
    return {**out, "min": low if isinstance(low, int) else _number(low),
            "max": high if isinstance(high, int) else _number(high),
            "mean": _number(np.mean(values, dtype=np.float64)),
            "std": _number(np.std(values, ddof=1, dtype=np.float64)) if values.size > 1 else None,
            **{k: _number(q) for k, q in zip(QUANTILES, quantiles)},
            "histogram": {"edges": [float(e) for e in edges], "counts": counts.tolist()}}


def _categorical_profile(values: object, nulls: int) -> dict[str, object]:
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


def _temporal_profile(values: object, nulls: int) -> dict[str, object]:
    """count, nulls, earliest and latest value as text."""
    series = values if isinstance(values, pd.Series) else pd.Series(values)
    present = series.dropna()
    return {"type": "temporal", "count": len(present), "nulls": nulls + len(series) - len(present),
            "min": str(present.min()) if len(present) else None,
            "max": str(present.max()) if len(present) else None}


def _profile_column(values: object, nulls: int = 0) -> dict[str, object]:
    """The profile of one column; `nulls` counts missing values already dropped from `values`."""
    dtype = values.dtype
    if isinstance(values, pd.Series) and not isinstance(dtype, np.dtype):
        if dtype.kind in "iuf" and hasattr(dtype, "numpy_dtype"):  # masked: drop NA, go numpy
            present = values.dropna()
            return _numeric_profile(present.to_numpy(dtype=dtype.numpy_dtype),
                                    nulls + len(values) - len(present))
        if isinstance(dtype, pd.DatetimeTZDtype):
            return _temporal_profile(values, nulls)
        return _categorical_profile(values, nulls)
    values = np.asarray(values)
    if dtype.kind in "iuf":
        return _numeric_profile(values, nulls)
    if dtype.kind in "Mm":
        return _temporal_profile(values, nulls)
    return _categorical_profile(values, nulls)


def _keys(names: object) -> list[str]:
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


def _table(kind: str, h: _Hasher, rows: int, columns: list, put: object, stats_of: object,
           profile: bool) -> DatasetInfo:
    """Hash (with `put`) and profile (with `stats_of`) named columns in order."""
    schema, stats = {}, {}
    for key, (name, column) in zip(_keys(name for name, _ in columns), columns):
        put(h, name, column)
        schema[key] = str(column.dtype)
        if profile:
            stats[key] = stats_of(column)
    return DatasetInfo(h.hexdigest(), kind, rows, len(columns), schema, stats, h.size, None)


def _fingerprint_pandas(obj: pd.DataFrame | pd.Series, profile: bool) -> DatasetInfo:
    """A pandas DataFrame or Series, index and names included."""
    frame = isinstance(obj, pd.DataFrame)
    columns = ([(obj.columns[i], obj.iloc[:, i]) for i in range(obj.shape[1])] if frame
               else [(obj.name, obj)])
    h = _Hasher("dataframe" if frame else "series")
    h.ints(len(obj), len(columns))
    _put_index(h, obj.index)

    def put(h: _Hasher, name: object, column: pd.Series) -> None:
        h.put(_encode(name))
        _put_pandas(h, column)

    return _table("dataframe" if frame else "series", h, len(obj), columns, put, _profile_column,
                  profile)


def _fingerprint_polars(obj: object, profile: bool) -> DatasetInfo:
    """A polars DataFrame or Series (polars is imported only once the user has handed us one)."""
    import polars as pl

    if isinstance(obj, pl.LazyFrame):
        raise InvalidInputError("a polars LazyFrame is a query, not data: pass .collect() instead")
    if not isinstance(obj, (pl.DataFrame, pl.Series)):
        raise InvalidInputError(f"cannot fingerprint a polars {type(obj).__name__}: {SUPPORTED}")
    columns = [(c.name, c) for c in (obj.get_columns() if isinstance(obj, pl.DataFrame) else [obj])]
    h = _Hasher("polars")
    h.put(b"frame" if isinstance(obj, pl.DataFrame) else b"series")
    h.ints(len(obj), len(columns))

    def stats_of(column: pl.Series) -> dict[str, object]:
        present = column.drop_nulls()
        plain = (present.dtype.is_numeric() or present.dtype.is_temporal()
                 or present.dtype in (pl.Boolean, pl.String))
        values = (present.to_numpy() if plain else
                  np.fromiter(present.to_list(), dtype=object, count=len(present)))
        return _profile_column(values, column.null_count())

    return _table("polars", h, len(obj), columns, lambda h, _, c: _put_polars(h, c), stats_of,
                  profile)


def _fingerprint_array(arr: np.ndarray, profile: bool) -> DatasetInfo:
    """A numpy array of any dtype and shape; a 2-D array's columns are profiled as "0", "1", ..."""
    h = _Hasher("array")
    _put_array(h, arr)
    stats: dict[str, dict[str, object]] = {}
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
        raise InvalidInputError(f"cannot read {path}: {e.strerror or e}; check it exists and is "
                                "readable") from e
    return digest.digest()


@contextmanager
def _cache(cache_path: Path) -> Iterator[sqlite3.Connection]:
    """The file digest cache, shared safely by concurrent processes."""
    try:
        Path(cache_path).parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(cache_path, timeout=30)  # wait for other writers rather than fail
        try:
            db.execute("PRAGMA journal_mode=WAL")  # readers never block the one writer
            db.execute("CREATE TABLE IF NOT EXISTS file_digests (path TEXT PRIMARY KEY, "
                       "size INTEGER, mtime_ns INTEGER, inode INTEGER, xxh3_128 TEXT)")
            yield db
        finally:
            db.close()
    except (sqlite3.Error, OSError) as e:
        raise StoreError(f"file digest cache {cache_path} cannot be used ({e}): delete it, it is "
                         "rebuilt on the next call") from e


def _digests(files: list[tuple[str, os.stat_result]], cache_path: Path | None,
             key_range: tuple[str, str]) -> list[bytes]:
    """Each file's digest, from the cache when its size, mtime_ns and inode are unchanged."""
    buffer = bytearray(READ_BYTES)
    if cache_path is None:
        return [_file_digest(path, buffer) for path, _ in files]
    now, digests, fresh = time.time_ns(), [], []
    with _cache(cache_path) as db:
        rows = db.execute("SELECT path, size, mtime_ns, inode, xxh3_128 FROM file_digests "
                          "WHERE path >= ? AND path < ?", key_range)
        known = {row[0]: row[1:] for row in rows}
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
                db.executemany("INSERT OR REPLACE INTO file_digests VALUES (?, ?, ?, ?, ?)", fresh)
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
    files = _scan(path)
    # Paths under the folder sort between "<path>/" and "<path>0" ("0" follows "/").
    digests = _digests([(os.path.join(path, rel), st) for rel, st in files], cache_path,
                       (path + os.sep, path + chr(ord(os.sep) + 1)))
    h = _Hasher("directory")
    for (rel, _), digest in zip(files, digests):
        h.put(os.fsencode(rel))
        h.raw(digest)
    return DatasetInfo(h.hexdigest(), "directory", None, None, {}, {},
                       sum(st.st_size for _, st in files), path, files=len(files))
