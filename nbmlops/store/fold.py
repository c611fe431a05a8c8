"""Folding journals into the catalog: incremental, idempotent, one transaction per pass.

For each journal the catalog remembers how many bytes it has ingested, in the same transaction as
the rows, so a pass that dies half way leaves nothing behind and the next pass starts where the
last committed one ended. A journal whose writer is gone and that was fully ingested is moved to
`journals/done/`; runs it started and never ended become KILLED.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from nbmlops.store import journal
from nbmlops.store.backend import CatalogBackend
from nbmlops.store.dialect import Dialect

log = logging.getLogger("nbmlops")


@dataclass
class IngestReport:
    journals: int = 0
    events: int = 0
    points: int = 0
    killed_runs: list[str] = field(default_factory=list)
    corrupt: list[str] = field(default_factory=list)
    open_journals: set[str] = field(default_factory=set)  # whose writer lived when looked at


@dataclass
class _Pending:
    """Rows gathered from all journals in one pass, applied set-wise."""

    experiments: dict[str, float] = field(default_factory=dict)
    run_starts: list[dict[str, Any]] = field(default_factory=list)
    run_ends: dict[str, dict[str, Any]] = field(default_factory=dict)
    params: dict[tuple[str, str], tuple[Any, ...]] = field(default_factory=dict)
    tags: dict[tuple[str, str], tuple[Any, ...]] = field(default_factory=dict)
    tag_deletes: list[tuple[str, str, float]] = field(default_factory=list)
    artifacts: dict[tuple[str, str], tuple[Any, ...]] = field(default_factory=dict)
    datasets: dict[tuple[str, str], tuple[Any, ...]] = field(default_factory=dict)
    dataset_uses: dict[tuple[str, str, str, str], tuple[Any, ...]] = field(default_factory=dict)
    point_arrays: list[np.ndarray] = field(default_factory=list)
    series: list[tuple[str, str]] = field(default_factory=list)
    events: int = 0


def ingest(con: duckdb.DuckDBPyConnection, journal_dir: Path, catalog: CatalogBackend, *,
           heartbeat: float | None = None) -> IngestReport:
    """Bring the catalog (`con`, from `catalog`) up to date with every journal in `journal_dir`.

    With `heartbeat` (a team store: its catalog holds every machine's journals, and its readers on
    other machines cannot ask this one whether a writer lives), only the journals in `journal_dir`
    are looked up, and one whose writer lives has its `last_event` set to now whenever it grew or
    `heartbeat` seconds have passed: readers elsewhere take a long silence for a dead writer."""
    report = IngestReport()
    entries = list(journal.list_journals(journal_dir))
    # The experiments too (ingested_bytes NULL), in the same statement: most folds add none.
    only = "WHERE list_contains(?, name) " if heartbeat is not None else ""
    rows = con.execute(f"SELECT name, ingested_bytes, closed, epoch(last_event) FROM journals {only}"  # noqa: S608
                       "UNION ALL SELECT name, NULL, NULL, NULL FROM experiments",
                       [[e.name for e in entries]] if only else []).fetchall()
    state = {name: (offset, closed) for name, offset, closed, _ in rows if offset is not None}
    seen = {name: at for name, offset, _, at in rows if offset is not None}
    experiments = {name for name, offset, _, _ in rows if offset is None}
    pending = _Pending()
    dead: list[str] = []  # journals whose writer died before closing them
    updates: dict[str, tuple[int, bool, float | None]] = {}
    finished: list[Path] = []
    if not state and heartbeat is None:
        # A new catalog (or one rebuilt after the old was moved aside): retired journals are
        # kept in done/ until `compact`, and their runs belong in it too.
        entries += journal.list_journals(journal_dir / "done")
    for entry in entries:
        offset, closed = state.get(entry.name, (0, False))
        path = Path(entry.path)
        size = entry.stat().st_size
        last_event: float | None = None

        def take(start: int, path: Path = path, name: str = entry.name) -> tuple[int, int, bool]:
            """Collect the complete frames from `start`: (where they end, the size read, a close seen)."""
            nonlocal last_event
            result = journal.read_frames(path, start)
            if result.damage and name not in report.corrupt:
                report.corrupt.append(name)
            for damage in result.damage:
                log.warning("journal %s is damaged: %s", path, damage.describe())
            seen_close = False
            for frame in result.frames:
                last_event = _collect(frame, pending, name) or last_event
                seen_close = seen_close or any(e[0] == "close" for e in frame.events)
            return result.end, result.size, seen_close

        read = size > offset
        if read:
            offset, read_size, seen_close = take(offset)
            closed = closed or seen_close
            size = max(size, read_size)
        end = size
        if not closed and not journal.writer_alive(path):
            # The writer is gone. It may have finished its last frames (and closed) between the read
            # above and this look: those are read now. What is still unfinished is lost (a killed
            # process), and its runs were killed.
            end = os.stat(path).st_size  # looked at after the check: a dead writer adds nothing
            finished_late = False
            if offset < end:
                offset, _, finished_late = take(offset)
                read = True
            if offset < end:
                log.warning("journal %s ends with %d bytes of an unfinished frame from a killed "
                            "process; they were dropped", path, end - offset)
                offset = end
            closed = True
            if not finished_late:  # no close frame: the process was killed
                dead.append(entry.name)
        elif closed:
            # Read just now, the file's size is known: nothing is written after a close event.
            end = size if read else os.stat(path).st_size
            if offset < end and not journal.writer_alive(path):
                # Nothing is written after a close event: such bytes are damage, not a torn write.
                log.warning("journal %s has %d bytes after its close event that are not a complete "
                            "frame (damaged); they were ignored", path, end - offset)
                offset = end
        elif heartbeat is not None and (read or time.time() - (seen.get(entry.name) or 0.0) >= heartbeat):
            last_event = time.time()  # the writer lives (it was looked at just above)
        if (offset, closed) != state.get(entry.name) or last_event is not None:
            updates[entry.name] = (offset, closed, last_event)
            report.journals += 1
        if closed and offset >= end:
            finished.append(path)
        if not closed:
            report.open_journals.add(entry.name)
    report.events = pending.events
    report.points = sum(len(a) for a in pending.point_arrays)
    if not updates:
        _retire(finished, journal_dir)
        return report
    with catalog.transaction(con):
        _apply(con, catalog.dialect, pending, experiments)
        _save_offsets(con, updates, state)
        report.killed_runs = _mark_killed(con, catalog.dialect, dead)
    _retire(finished, journal_dir)
    return report


def _save_offsets(con: duckdb.DuckDBPyConnection, updates: dict[str, tuple[int, bool, float | None]],
                  state: dict[str, tuple[int, bool]]) -> None:
    """Record how far each journal was folded: one statement for the journals new to the catalog
    (`state` is all it had: an upsert costs ~3 ms more), one for the others (500 journals of 500
    short runs cost ~1 s one by one)."""
    for names, sql in (
            ([n for n in updates if n not in state],
             "INSERT INTO journals SELECT name, bytes, closed, CASE WHEN seen THEN make_timestamp(us) END FROM {}"),
            ([n for n in updates if n in state],
             "UPDATE journals SET ingested_bytes = j.bytes, closed = j.closed, "
             "last_event = CASE WHEN j.seen THEN make_timestamp(j.us) ELSE journals.last_event END "
             "FROM {} j WHERE journals.name = j.name")):
        if names:
            last = [updates[n][2] for n in names]
            _insert(con, {"name": _column(names), "bytes": np.array([updates[n][0] for n in names], dtype=np.int64),
                          "closed": np.array([updates[n][1] for n in names], dtype=bool),
                          "us": _us([t or 0.0 for t in last]), "seen": np.array([bool(t) for t in last], dtype=bool)},
                    sql)


def _collect(frame: journal.Frame, p: _Pending, journal_name: str) -> float | None:
    last: float | None = None
    for kind, body in frame.events:
        p.events += 1
        at = body.get("at")
        last = at if at is not None else last
        if kind == "run_start":
            p.experiments.setdefault(body["experiment"], body["at"])
            p.run_starts.append({**body, "journal": journal_name})
        elif kind == "run_end":
            p.run_ends[body["run_id"]] = body
        elif kind == "params":
            for key, text, num, typ in body["items"]:
                p.params.setdefault((body["run_id"], key), (body["run_id"], key, text, num, typ))
        elif kind == "tags":
            for key, value in body["items"]:
                p.tags[(body["run_id"], key)] = (body["run_id"], key, value, body["at"])
        elif kind == "delete_tag":
            p.tags.pop((body["run_id"], body["key"]), None)
            p.tag_deletes.append((body["run_id"], body["key"], body["at"]))
        elif kind == "dataset":
            key = (body["name"], body["fingerprint"])
            p.datasets.setdefault(key, (
                body["name"], body["fingerprint"], body["kind"], body.get("rows"), body.get("columns"),
                body.get("size_bytes"), body.get("files"), json.dumps(body.get("schema") or {}),
                json.dumps(body.get("profile") or {}), body.get("source"), body["at"]))
            p.dataset_uses.setdefault((body["run_id"], *key, body["role"]),
                                      (body["run_id"], *key, body["role"], body["at"]))
        elif kind == "artifact":
            # A path logged again is replaced by the newest write, whichever journal is read last (two
            # processes logging one figure name and step, say): as for tags, time decides.
            held = p.artifacts.get((body["run_id"], body["path"]))
            if held is None or body["at"] >= held[4]:
                p.artifacts[(body["run_id"], body["path"])] = (
                    body["run_id"], body["path"], body["sha256"], body["size"], body["at"])
    if frame.points is not None and len(frame.points):
        base = len(p.series)
        local = sorted(frame.series)
        p.series.extend(frame.series[i] for i in local)
        lookup = np.zeros(max(local) + 1, dtype=np.int32)
        lookup[local] = np.arange(base, base + len(local), dtype=np.int32)
        pts = frame.points.copy()
        pts["series"] = lookup[pts["series"]]
        p.point_arrays.append(pts)
        last = max(last or 0.0, float(pts["ts"].max()))
    return last


def _ts(seconds: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(seconds, dt.timezone.utc).replace(tzinfo=None)


def _us(seconds: Any) -> np.ndarray:
    """Epoch seconds as int64 microseconds, rounded as `datetime.fromtimestamp` rounds them (`_ts`),
    for `make_timestamp` in SQL: building one datetime per value costs more than the statement."""
    frac, whole = np.modf(np.asarray(seconds, dtype=np.float64))
    return whole.astype(np.int64) * 1_000_000 + np.round(frac * 1e6).astype(np.int64)


def _column(values: Any) -> np.ndarray:
    """Python values as an object array (DuckDB reads None as NULL and infers the type)."""
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out


def _table(rows: list[tuple[Any, ...]], names: list[str]) -> dict[str, np.ndarray]:
    """Tuples as named columns, registered with DuckDB as they are: a pandas frame of objects costs
    several times more to build and to scan."""
    return {name: _column(values) for name, values in zip(names, zip(*rows, strict=True), strict=False)}


def _apply(con: duckdb.DuckDBPyConnection, dialect: Dialect, p: _Pending, known_experiments: set[str]) -> None:
    # Each statement costs a millisecond or more whatever its size: those with nothing to do are skipped.
    experiments = {name: at for name, at in p.experiments.items() if name not in known_experiments}
    if experiments:
        # `known_experiments` are all the catalog has: no upsert needed (it costs ~2 ms more).
        _insert(con, {"name": _column(list(experiments)), "us": _us(list(experiments.values()))},
                "INSERT INTO experiments SELECT name, make_timestamp(us) FROM {}")
    ends = dict(p.run_ends)
    if p.run_starts:
        _apply_starts(con, dialect, p.run_starts, ends)
    if p.params:
        params = _table(list(p.params.values()), ["run_id", "key", "value", "value_num", "value_type"])
        params["value_num"] = np.array([np.nan if v is None else v for v in params["value_num"]], dtype=np.float64)
        _insert(con, params, dialect.insert_new(
            "params", ("run_id", "key"), "SELECT run_id, key, value, value_num, value_type FROM {}"))
    for run_id, key, at in p.tag_deletes:
        con.execute("DELETE FROM tags WHERE run_id = ? AND key = ? AND updated_at <= ?",
                    [run_id, key, _ts(at)])
    if p.tags:
        tags = _table(list(p.tags.values()), ["run_id", "key", "value", "us"])
        tags["us"] = _us(list(tags["us"]))
        _insert(con, tags, dialect.upsert(
            "tags", ("run_id", "key"), "SELECT run_id, key, value, make_timestamp(us) AS updated_at FROM {}",
            "value = excluded.value, updated_at = excluded.updated_at", "excluded.updated_at >= tags.updated_at"))
    if p.artifacts:
        arts = _table(list(p.artifacts.values()), ["run_id", "path", "sha256", "size", "us"])
        arts["us"] = _us(list(arts["us"]))
        _insert(con, arts, dialect.upsert(
            "artifacts", ("run_id", "path"),
            "SELECT run_id, path, sha256, size, make_timestamp(us) AS created_at FROM {}",
            "sha256 = excluded.sha256, size = excluded.size, created_at = excluded.created_at",
            "excluded.created_at >= artifacts.created_at"))
    if p.datasets:
        data = pd.DataFrame(list(p.datasets.values()), columns=[
            "name", "fingerprint", "kind", "rows", "columns", "size_bytes", "files", "schema_json",
            "profile_json", "source", "created_at"])
        data["created_at"] = pd.to_datetime(_us(data["created_at"]), unit="us")
        _insert(con, data, dialect.insert_new("datasets", ("name", "fingerprint"), "SELECT * FROM {}"))
        uses = pd.DataFrame(list(p.dataset_uses.values()),
                            columns=["run_id", "name", "fingerprint", "role", "logged_at"])
        uses["logged_at"] = pd.to_datetime(_us(uses["logged_at"]), unit="us")
        _insert(con, uses, dialect.insert_new(
            "run_datasets", ("run_id", "name", "fingerprint", "role"), "SELECT * FROM {}"))
    if p.point_arrays:
        _apply_points(con, dialect, p)
    if ends:  # runs that started in an earlier fold
        _insert(
            con, {"run_id": _column(list(ends)), "status": _column([v["status"] for v in ends.values()]),
                  "us": _us([v["at"] for v in ends.values()]),
                  "error": _column([v.get("error") for v in ends.values()])},
            "UPDATE runs SET status = e.status, end_time = make_timestamp(e.us), "
            "error = coalesce(e.error, runs.error) FROM {} e WHERE runs.run_id = e.run_id")


def _apply_starts(con: duckdb.DuckDBPyConnection, dialect: Dialect, run_starts: list[dict[str, Any]],
                  ends: dict[str, dict[str, Any]]) -> None:
    """Insert started runs; one that also ended in this fold is inserted as it ended (and taken out
    of `ends`): most short runs cost one statement, not an INSERT and an UPDATE."""
    starts: dict[str, dict[str, Any]] = {}
    for s in run_starts:
        starts.setdefault(s["run_id"], s)
    firsts = list(starts.values())
    final = [ends.pop(run_id, None) for run_id in starts]
    ended = np.array([e is not None for e in final], dtype=bool)
    rows = {
        "run_id": _column(list(starts)), "experiment": _column([s["experiment"] for s in firsts]),
        "name": _column([s["name"] for s in firsts]),
        "status": _column([e["status"] if e else "RUNNING" for e in final]),
        "start_time": _us([s["at"] for s in firsts]),
        "end_time": _us([e["at"] if e else 0.0 for e in final]), "ended": ended,
        "user_name": _column([s.get("user") for s in firsts]), "host": _column([s.get("host") for s in firsts]),
        "parent_run_id": _column([s.get("parent") for s in firsts]),
        "notebook": _column([s.get("notebook") for s in firsts]),
        "error": _column([e.get("error") if e else None for e in final]),
        "journal": _column([s["journal"] for s in firsts])}
    # A start folded again (a catalog rebuilt from retired journals) keeps the row it has, unless
    # this fold saw the run end too: then the end is applied, as the UPDATE of ends would.
    _insert(con, rows, dialect.upsert(
        "runs", ("run_id",),
        "SELECT run_id, experiment, name, status, make_timestamp(start_time) AS start_time, "
        "CASE WHEN ended THEN make_timestamp(end_time) END AS end_time, user_name, host, parent_run_id, notebook, "
        "error, journal FROM {}",
        "status = excluded.status, end_time = excluded.end_time, error = coalesce(excluded.error, runs.error)",
        "excluded.end_time IS NOT NULL"))


def _insert(con: duckdb.DuckDBPyConnection, frame: Any, sql: str) -> None:
    """Run `sql` with `{}` standing for `frame` (registered under a name no table has)."""
    empty = [k for k, v in frame.items() if v.dtype == object and len(v) > 1000 and (v == None).all()]  # noqa: E711
    if not empty:
        with _registered(con, nb_rows=frame):
            con.execute(sql.format("nb_rows"))
        return
    # DuckDB 1.5 cannot scan an object array of more than 1,000 Nones (it samples 1,000 values, finds no
    # type, then asks the array for pandas' first_valid_index): such columns are NULLs in SQL instead.
    columns = ", ".join(f"NULL AS {k}" if k in empty else k for k in frame)
    with _registered(con, nb_rows={k: v for k, v in frame.items() if k not in empty}):
        con.execute(sql.format(f"(SELECT {columns} FROM nb_rows)"))  # noqa: S608 - the fold's column names


@contextmanager
def _registered(con: duckdb.DuckDBPyConnection, **frames: Any) -> Iterator[None]:
    """Python data visible to SQL under these names for the block."""
    for name, frame in frames.items():
        con.register(name, frame)
    try:
        yield
    except BaseException:
        # After a failed statement DuckDB refuses everything but ROLLBACK, unregister included:
        # that refusal must not hide the error that caused it.
        for name in frames:
            with suppress(duckdb.Error):
                con.unregister(name)
        raise
    for name in frames:
        con.unregister(name)


def _apply_points(con: duckdb.DuckDBPyConnection, dialect: Dialect, p: _Pending) -> None:
    pts = np.concatenate(p.point_arrays) if len(p.point_arrays) > 1 else p.point_arrays[0]
    # Each frame numbers its series itself: one metric folded from several frames has several series
    # ids. `metric` numbers the distinct (run, key) pairs.
    numbers: dict[tuple[str, str], int] = {}
    metric_of_series = np.array([numbers.setdefault(s, len(numbers)) for s in p.series], dtype=np.int64)
    run_ids = _column([run_id for run_id, _ in numbers])
    keys = _column([key for _, key in numbers])
    metric = metric_of_series[pts["series"]]
    step = np.ascontiguousarray(pts["step"])  # a field of a record array is strided: DuckDB 1.5 misreads it
    ts = (pts["ts"] * 1e6).astype(np.int64)
    value = np.ascontiguousarray(pts["value"])
    # DuckDB reads a float NaN from Python as NULL; NaN-ness is carried separately.
    isnan = np.isnan(value)
    with _registered(con, nb_points={"run_id": run_ids[metric], "key": keys[metric], "step": step, "ts": ts,
                                     "value": value, "isnan": isnan}):
        con.execute("INSERT INTO metrics SELECT run_id, key, step, make_timestamp(ts), "
                    "CASE WHEN isnan THEN 'NaN'::DOUBLE ELSE value END FROM nb_points")
    # The latest value of each metric: highest step, then latest timestamp, then the point that
    # arrived last (in numpy: an aggregate in SQL costs more than sorting these few points here).
    order = np.lexsort((np.arange(len(pts)), ts, step, metric))
    ordered = metric[order]
    last = order[np.append(ordered[1:] != ordered[:-1], True)]
    latest = metric[last]
    with _registered(con, nb_latest={"run_id": run_ids[latest], "key": keys[latest], "step": step[last],
                                     "ts": ts[last], "value": value[last], "isnan": isnan[last]}):
        con.execute(dialect.upsert(
            "latest_metrics", ("run_id", "key"),
            "SELECT run_id, key, step, make_timestamp(ts) AS timestamp, "
            "CASE WHEN isnan THEN 'NaN'::DOUBLE ELSE value END AS value FROM nb_latest",
            "step = excluded.step, timestamp = excluded.timestamp, value = excluded.value",
            "excluded.step > latest_metrics.step OR (excluded.step = latest_metrics.step "
            "AND excluded.timestamp >= latest_metrics.timestamp)"))


def _mark_killed(con: duckdb.DuckDBPyConnection, dialect: Dialect, dead_journals: list[str]) -> list[str]:
    killed: list[str] = []
    for name in dead_journals:
        killed.extend(dialect.update_returning(
            con, "runs",
            "status = 'KILLED', end_time = coalesce((SELECT last_event FROM journals WHERE journals.name = ?), "
            "start_time)", "journal = ? AND status = 'RUNNING'", [name, name], "run_id"))
    return killed


def _retire(finished: list[Path], journal_dir: Path) -> None:
    """Move fully ingested, closed journals out of the scan path (kept until `compact`)."""
    here = [path.name for path in finished if path.parent == journal_dir]  # others are in done/ already
    if not here:
        return
    done = journal_dir / "done"
    done.mkdir(exist_ok=True)
    # Renamed by name between two open folders: a third of the cost of renaming full paths.
    source = os.open(journal_dir, os.O_RDONLY | os.O_DIRECTORY)
    try:
        target = os.open(done, os.O_RDONLY | os.O_DIRECTORY)
        try:
            for name in here:
                with suppress(FileNotFoundError):
                    os.replace(name, name, src_dir_fd=source, dst_dir_fd=target)
        finally:
            os.close(target)
    finally:
        os.close(source)
