"""A minimal Parquet writer for the common case that general writers make slow: numeric columns.

Columns of float64, float32, int64 or int32 without missing values are written as REQUIRED
columns, PLAIN-encoded and uncompressed, which in Parquet is just the little-endian values: the
file is written about as fast as the bytes themselves, and hashed (sha256) on the way, so it need
not be read again. Anything else goes to DuckDB's writer (see `frames`). The layout follows the
Parquet format specification (parquet.thrift): one row group per file, pages of at most PAGE_BYTES,
the footer in Thrift's compact protocol.
"""

from __future__ import annotations

import hashlib
import struct
from pathlib import Path

import numpy as np
import pandas as pd

PAGE_BYTES = 8 << 20
_TYPES = {"float64": 5, "float32": 4, "int64": 2, "int32": 1}  # parquet.thrift Type: DOUBLE, FLOAT, INT64, INT32
# Thrift compact protocol type ids.
_I32, _I64, _BINARY, _LIST, _STRUCT = 5, 6, 8, 9, 12


def supported(frame: pd.DataFrame) -> bool:
    """True when every column is a plain numeric numpy column this writer can take."""
    return len(frame.columns) > 0 and all(
        isinstance(t, np.dtype) and t.name in _TYPES for t in frame.dtypes) and \
        all(isinstance(c, str) for c in frame.columns)


class _Compact:
    """Thrift compact protocol, just what the Parquet footer needs."""

    def __init__(self) -> None:
        self.out = bytearray()
        self._last = [0]

    def _varint(self, n: int) -> None:
        while True:
            byte = n & 0x7F
            n >>= 7
            if n:
                self.out.append(byte | 0x80)
            else:
                self.out.append(byte)
                return

    def _field(self, fid: int, kind: int) -> None:
        delta = fid - self._last[-1]
        if 0 < delta <= 15:
            self.out.append(delta << 4 | kind)
        else:
            self.out.append(kind)
            self._varint((fid << 1) ^ (fid >> 31))
        self._last[-1] = fid

    def i32(self, fid: int, value: int) -> None:
        self._field(fid, _I32)
        self._varint((value << 1) ^ (value >> 63))

    def i64(self, fid: int, value: int) -> None:
        self._field(fid, _I64)
        self._varint((value << 1) ^ (value >> 63))

    def string(self, fid: int, value: str) -> None:
        self._field(fid, _BINARY)
        self._bytes(value.encode())

    def _bytes(self, data: bytes) -> None:
        self._varint(len(data))
        self.out += data

    def begin(self, fid: int | None = None) -> None:
        """Open a struct (as field `fid`, or as a list element when None)."""
        if fid is not None:
            self._field(fid, _STRUCT)
        self._last.append(0)

    def end(self) -> None:
        self.out.append(0)
        self._last.pop()

    def list(self, fid: int, kind: int, size: int) -> None:
        self._field(fid, _LIST)
        if size < 15:
            self.out.append(size << 4 | kind)
        else:
            self.out.append(0xF0 | kind)
            self._varint(size)

    def raw_i32(self, value: int) -> None:
        self._varint((value << 1) ^ (value >> 63))

    def raw_string(self, value: str) -> None:
        self._bytes(value.encode())


def _page_header(values: int, size: int) -> bytes:
    t = _Compact()
    t.begin()
    t.i32(1, 0)  # DATA_PAGE
    t.i32(2, size)
    t.i32(3, size)
    t.begin(5)  # DataPageHeader
    t.i32(1, values)
    t.i32(2, 0)  # PLAIN
    t.i32(3, 3)  # RLE (no levels are written: the column is REQUIRED)
    t.i32(4, 3)
    t.end()
    t.end()
    return bytes(t.out)


def write(frame: pd.DataFrame, path: Path) -> str:
    """Write `frame` (see `supported`) as one Parquet file; returns the file's sha256."""
    digest = hashlib.sha256()
    chunks: list[tuple[str, int, int, int, int]] = []  # name, type, page offset, size, values
    rows = len(frame)
    with open(path, "wb") as out:

        def put(data: bytes | memoryview) -> None:
            digest.update(data)
            out.write(data)

        put(b"PAR1")
        offset = 4
        for name in frame.columns:
            values = np.ascontiguousarray(frame[name].to_numpy())
            if values.dtype.byteorder == ">":
                values = values.astype(values.dtype.newbyteorder("<"))
            start, step = offset, max(1, PAGE_BYTES // values.itemsize)
            for first in range(0, max(rows, 1), step):
                page = values[first:first + step].data.cast("B")
                header = _page_header(len(values[first:first + step]), len(page))
                put(header)
                put(page)
                offset += len(header) + len(page)
            chunks.append((name, _TYPES[values.dtype.name], start, offset - start, rows))
        footer = _footer(chunks, rows)
        put(footer)
        put(struct.pack("<I", len(footer)) + b"PAR1")
    return digest.hexdigest()


def _footer(chunks: list[tuple[str, int, int, int, int]], rows: int) -> bytes:
    t = _Compact()
    t.begin()
    t.i32(1, 1)  # version
    t.list(2, _STRUCT, len(chunks) + 1)
    t.begin()
    t.string(4, "schema")
    t.i32(5, len(chunks))
    t.end()
    for name, kind, *_ in chunks:
        t.begin()
        t.i32(1, kind)
        t.i32(3, 0)  # REQUIRED
        t.string(4, name)
        t.end()
    t.i64(3, rows)
    t.list(4, _STRUCT, 1)
    t.begin()  # the one row group
    t.list(1, _STRUCT, len(chunks))
    for name, kind, offset, size, values in chunks:
        t.begin()  # ColumnChunk
        t.i64(2, offset)
        t.begin(3)  # ColumnMetaData
        t.i32(1, kind)
        t.list(2, _I32, 1)
        t.raw_i32(0)  # PLAIN
        t.list(3, _BINARY, 1)
        t.raw_string(name)
        t.i32(4, 0)  # UNCOMPRESSED
        t.i64(5, values)
        t.i64(6, size)
        t.i64(7, size)
        t.i64(9, offset)
        t.end()
        t.end()
    t.i64(2, sum(c[3] for c in chunks))
    t.i64(3, rows)
    t.end()
    t.string(6, "nbmlops")
    t.end()
    return bytes(t.out)
