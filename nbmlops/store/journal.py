"""Per-process append-only journals: the only thing a tracking process ever writes.

A journal is a sequence of self-contained frames. Each frame has a small header (magic, kind,
payload length, CRC32) so a reader can tell a complete frame from a torn tail left by a killed
writer, and can resume exactly where it stopped. A batch frame carries JSON events (run start and
end, params, tags, artifacts) and metric points as one packed binary array, so a million points
cost one write and no per-point encoding.

The writer holds an exclusive flock on its journal for its whole life; the kernel releases it
when the process dies, even by SIGKILL, so a reader knows for certain that a journal's writer is
gone (see `writer_alive`).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import socket
import struct
import time
import uuid
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from nbmlops.errors import StoreVersionError

FORMAT_VERSION = 1
SUFFIX = ".jnl"
_MAGIC = b"NJ"
_HEAD = struct.Struct("<2sBBII")  # magic, kind, reserved, payload length, crc32
_BATCH = struct.Struct("<II")  # json length, number of points
KIND_HEADER = 1
KIND_BATCH = 2

POINT_DTYPE = np.dtype([("series", "<i4"), ("value", "<f8"), ("step", "<i8"), ("ts", "<f8")])
MAX_POINTS_PER_FRAME = 1 << 20
# Journals from another host cannot be checked by flock; their writer refreshes the mtime.
HEARTBEAT_SECONDS = 5.0
FOREIGN_STALE_SECONDS = 60.0


@dataclass
class Frame:
    """One decoded batch: events in order, and metric points with their series table."""

    events: list[list[Any]] = field(default_factory=list)
    series: dict[int, tuple[str, str]] = field(default_factory=dict)
    points: np.ndarray | None = None
    end: int = 0  # file offset just past this frame


class JournalWriter:
    """Appends frames to this process's journal, created on first write under `directory`."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.path: Path | None = None
        self._fd: int | None = None
        self._last_heartbeat = 0.0
        self.written = 0  # bytes this writer appended: tells whether there is anything new to fsync

    def _open(self) -> int:
        self.directory.mkdir(parents=True, exist_ok=True)
        host = _host_token()
        stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
        name = f"{stamp}-{host}-{os.getpid()}-{uuid.uuid4().hex[:8]}{SUFFIX}"
        # Lock under a hidden name, then rename: a reader never sees an unlocked live journal.
        tmp = self.directory / f".{name}"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o644)
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        header = {"format": FORMAT_VERSION, "host": socket.gethostname(), "pid": os.getpid(),
                  "created": time.time()}
        first = _frame(KIND_HEADER, json.dumps(header).encode())
        _write_all(fd, first)
        self.written = len(first)
        os.rename(tmp, self.directory / name)
        self.path = self.directory / name
        self._fd = fd
        self._last_heartbeat = time.monotonic()
        return fd

    def write(self, events: list[list[Any]], series: dict[int, tuple[str, str]],
              points: np.ndarray | None) -> None:
        """Append one batch (split into several frames when it is very large)."""
        fd = self._fd if self._fd is not None else self._open()
        chunks: list[bytes] = []
        if points is None or len(points) <= MAX_POINTS_PER_FRAME:
            chunks.append(_batch_payload(events, series, points))
        else:
            for i, start in enumerate(range(0, len(points), MAX_POINTS_PER_FRAME)):
                part = points[start:start + MAX_POINTS_PER_FRAME]
                chunks.append(_batch_payload(events if i == 0 else [], series, part))
        data = b"".join(_frame(KIND_BATCH, c) for c in chunks)
        _write_all(fd, data)  # one write: a reader sees the whole frame or a torn tail it waits for
        self.written += len(data)
        self._last_heartbeat = time.monotonic()

    def heartbeat(self) -> None:
        """Refresh the journal's mtime so readers on other hosts know the writer lives."""
        if self._fd is not None and time.monotonic() - self._last_heartbeat > HEARTBEAT_SECONDS:
            os.utime(self._fd)
            self._last_heartbeat = time.monotonic()

    def close(self, events: list[list[Any]] | None = None) -> None:
        """Write a final `close` event and release the journal."""
        if self._fd is None:
            return
        self.write([*(events or []), ["close", {"at": time.time()}]], {}, None)
        os.close(self._fd)
        self._fd = None

    def abandon(self) -> None:
        """Forget an inherited journal without writing to it (after fork, in the child)."""
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._fd)
        self._fd = None
        self.path = None


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _frame(kind: int, payload: bytes) -> bytes:
    return _HEAD.pack(_MAGIC, kind, 0, len(payload), zlib.crc32(payload)) + payload


def _batch_payload(events: list[list[Any]], series: dict[int, tuple[str, str]],
                   points: np.ndarray | None) -> bytes:
    n = 0 if points is None else len(points)
    used: dict[int, tuple[str, str]] = {}
    if points is not None and n:
        ids = np.unique(points["series"]).tolist()
        used = {i: series[i] for i in ids}
    doc = json.dumps({"events": events, "series": {str(k): v for k, v in used.items()}},
                     allow_nan=True, ensure_ascii=False).encode()
    body = points.tobytes() if n and points is not None else b""
    return _BATCH.pack(len(doc), n) + doc + body


@dataclass
class Damage:
    """A stretch of a journal that was not a valid frame, and how reading went on after it."""

    at: int  # file offset where the damage starts
    resumed_at: int  # file offset of the next valid frame (the file's end if none follows)
    cause: str  # what is wrong with the bytes at `at`
    recovered: bool = False  # only the length field was wrong: the frame's data was kept

    def describe(self) -> str:
        if self.recovered:
            return f"{self.cause}; its data matches its checksum and was kept"
        return f"{self.cause}; resumed at the next valid frame at byte {self.resumed_at}"


@dataclass
class ReadResult:
    frames: list[Frame]
    end: int  # offset after the last complete frame (or skipped damage)
    damage: list[Damage] = field(default_factory=list)
    size: int = 0  # the file's size when it was read

    @property
    def corrupt_at(self) -> int | None:
        """Offset of the first damaged stretch, if any."""
        return self.damage[0].at if self.damage else None


def read_frames(path: Path, offset: int) -> ReadResult:
    """Decode the complete frames of a journal from `offset`; a torn tail is left for later.

    Damage is skipped, never a reason to stop: reading resumes at the next frame whose magic and
    checksum are valid. Only bytes that no valid frame follows and that start like a frame are
    taken for a torn tail (a writer mid-write, or one that died mid-write).
    """
    with open(path, "rb") as f:
        f.seek(offset)
        data = f.read()
    frames: list[Frame] = []
    docs: list[str] = []  # each frame's JSON, decoded all at once below
    damage: list[Damage] = []
    pos = 0
    while pos + _HEAD.size <= len(data):
        magic, kind, _, length, crc = _HEAD.unpack_from(data, pos)
        start, stop = pos + _HEAD.size, pos + _HEAD.size + length
        framed = magic == _MAGIC
        if framed and stop <= len(data) and zlib.crc32(data[start:stop]) == crc:
            _accept(path, kind, data[start:stop], offset + stop, frames, docs)
            pos = stop
            continue
        following = _resync(data, pos + 1)
        end = len(data) if following is None else following
        if framed and kind in _KINDS and end > start and zlib.crc32(data[start:end]) == crc:
            # Only the length field is wrong: the bytes up to the next frame are this frame.
            _accept(path, kind, data[start:end], offset + end, frames, docs)
            damage.append(Damage(offset + pos, offset + end, _length_cause(
                offset + pos, length, end - start, offset + len(data), following is None), recovered=True))
            pos = end
            continue
        if following is None:
            if framed and stop > len(data):
                break  # incomplete: the writer is mid-write, or died mid-write
            tail = _tail_start(data, pos + 1)
            damage.append(Damage(offset + pos, offset + tail, _cause(
                offset + pos, framed, length, stop > len(data), offset + len(data))))
            pos = tail
            break
        damage.append(Damage(offset + pos, offset + following, _cause(
            offset + pos, framed, length, stop > len(data), offset + len(data))))
        pos = following
    _decode_docs(frames, docs)
    return ReadResult(frames, offset + pos, damage, offset + len(data))


_KINDS = (KIND_HEADER, KIND_BATCH)


def _accept(path: Path, kind: int, payload: bytes, end: int, frames: list[Frame], docs: list[str]) -> None:
    if kind == KIND_HEADER:
        _check_header(path, payload)
    elif kind == KIND_BATCH:
        frame, doc = _split_batch(payload)
        frame.end = end
        frames.append(frame)
        docs.append(doc)


def _cause(at: int, framed: bool, length: int, past_end: bool, size: int) -> str:
    if not framed:
        return f"bytes at {at} are not a frame (no frame marker)"
    if past_end:
        return (f"frame at byte {at} has a damaged header: its length field says {length} bytes, "
                f"past the end of the journal ({size} bytes)")
    return f"frame at byte {at} is damaged: its data does not match its checksum"


def _length_cause(at: int, length: int, actual: int, size: int, last: bool) -> str:
    where = "the journal ends" if last else "the next valid frame starts"
    return (f"frame at byte {at} has a damaged header: its length field says {length} bytes, "
            f"but {where} {actual} bytes after its header (journal of {size} bytes)")


def _resync(data: bytes, pos: int) -> int | None:
    """Position of the next frame whose header and checksum are valid, or None."""
    while True:
        pos = data.find(_MAGIC, pos)
        if pos < 0 or pos + _HEAD.size > len(data):
            return None
        _, kind, _, length, crc = _HEAD.unpack_from(data, pos)
        stop = pos + _HEAD.size + length
        if kind in _KINDS and stop <= len(data) and zlib.crc32(data[pos + _HEAD.size:stop]) == crc:
            return pos
        pos += 1


def _tail_start(data: bytes, pos: int) -> int:
    """Where a frame that is still being written may start after damage (else the end)."""
    while True:
        pos = data.find(_MAGIC, pos)
        if pos < 0:
            return len(data)
        if pos + _HEAD.size > len(data):
            return pos  # a header cut short
        _, kind, _, length, _ = _HEAD.unpack_from(data, pos)
        if kind in _KINDS and pos + _HEAD.size + length > len(data):
            return pos
        pos += 1


def _check_header(path: Path, payload: bytes) -> None:
    header = json.loads(str(payload, "utf-8"))
    if int(header.get("format", 0)) > FORMAT_VERSION:
        raise StoreVersionError(
            f"journal {path.name} has format {header['format']}, this nbmlops reads up to "
            f"{FORMAT_VERSION}: pip install -U nbmlops")


def _split_batch(payload: bytes) -> tuple[Frame, str]:
    """A batch's points, and its JSON text (events and series) still to decode."""
    doc_len, n = _BATCH.unpack_from(payload, 0)
    points = None
    if n:
        start = _BATCH.size + doc_len
        points = np.frombuffer(payload, dtype=POINT_DTYPE, count=n, offset=start)
    # Decoded as text: json.loads(bytes) first guesses the encoding, a third of its time on small docs.
    return Frame(points=points), str(payload[_BATCH.size:_BATCH.size + doc_len], "utf-8")


def _decode_docs(frames: list[Frame], docs: list[str]) -> None:
    """Fill in the frames' events and series from their JSON texts: one `json.loads` for all of
    them (a journal of short runs holds a few small frames, and each call costs microseconds)."""
    if not docs:
        return
    for frame, doc in zip(frames, json.loads("[" + ",".join(docs) + "]"), strict=True):
        frame.events = doc.get("events", [])
        frame.series = {int(k): (v[0], v[1]) for k, v in doc.get("series", {}).items()}


def list_journals(directory: Path) -> Iterator[os.DirEntry[str]]:
    """The visible journals in `directory` (hidden ones are still being created)."""
    try:
        entries = list(os.scandir(directory))
    except FileNotFoundError:
        return iter(())
    return (e for e in entries if e.name.endswith(SUFFIX) and not e.name.startswith(".")
            and e.is_file())


def writer_alive(path: Path) -> bool:
    """True while the process that writes this journal still runs."""
    if _host_of(path.name) != _host_token():
        try:
            return time.time() - path.stat().st_mtime < FOREIGN_STALE_SECONDS
        except FileNotFoundError:
            return False
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    except OSError:
        # A filesystem without flock: fall back to the heartbeat.
        return time.time() - os.fstat(fd).st_mtime < FOREIGN_STALE_SECONDS
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False
    finally:
        os.close(fd)


def _host_token() -> str:
    return socket.gethostname().replace("-", "_").replace(os.sep, "_")[:40] or "host"


def _host_of(name: str) -> str:
    parts = name.split("-")
    return parts[1] if len(parts) >= 4 else ""
