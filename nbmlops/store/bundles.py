"""Bundles: runs with everything they logged, in one file that another store merges without duplicates.

A bundle moves runs between stores: a colleague's laptop, CI, Dask workers shipping their runs
back. It is built from the catalog (journals may be compacted away) and is a `.tar.gz` holding:

    manifest.json             format, nbmlops version, created_at, source store, run ids, row count
                              per table, sha256 of every table file, size of every artifact and table
    tables/<table>.parquet    the selected rows of runs, params, metrics (every point), latest_metrics,
                              tags, artifacts, run_datasets, experiments, datasets and, with models,
                              registered_models, model_versions, model_aliases, alias_audit
    artifacts/<sha256>        each artifact file once, named by its content hash (with the data
                              files that the runs' dataset snapshots list)

Importing treats the bundle as untrusted: it stages every member in a private folder inside the
store, refusing links, names that climb out, sizes other than the manifest declares (a member is
never read past its declared size) and totals above `max_size` (`--max-size`, 20 GiB by default)
or the free disk space, and checks every sha256. Only then does it move the artifact files into
place (read-only, whatever mode the bundle gave them) and merge all rows in one DuckDB
transaction, run by run:
  - a run the store lacks is added with all its rows;
  - a run the store has is replaced wholesale (delete + insert) when the bundle's copy is further
    along: the store has it RUNNING and the bundle has it ended, or the bundle has more metric
    points (unless that would turn an ended run back into a RUNNING one); otherwise it is unchanged;
  - experiments and datasets are added when absent;
  - a model version is matched by (name, sha256, run_id, created_at); an unmatched one keeps its
    number when that is free here, else it becomes the model's next version here (reported in
    `ImportReport.renumbered`, and the run's `model.<name>.version` tag follows);
  - an alias is created only when the model has no such alias here (so one removed here comes
    back from a bundle that has it); import never moves an alias;
  - audit rows are appended unless the same (changed_at, name, alias, from, to) is already here;
    their versions follow any renumbering (versions outside the bundle keep their number).
So importing a bundle twice, or into the store it came from, changes nothing.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import importlib.metadata
import io
import json
import os
import re
import shutil
import tarfile
import tempfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import duckdb

from nbmlops.errors import BundleTooLargeError, CorruptStoreError, InvalidInputError, NotFoundError, StoreVersionError
from nbmlops.query.sql import build_runs_query
from nbmlops.store import manifests as snapshot_manifests
from nbmlops.store.dialect import Dialect
from nbmlops.store.folder import Store, file_sha256
from nbmlops.store.models import ALIAS_COLUMNS, REGISTRY
from nbmlops.store.runs import resolve_run_id
from nbmlops.store.sqltext import quote_ident, quote_literal
from nbmlops.units import counted, format_bytes

FORMAT_VERSION = 1
RUN_TABLES = ("runs", "params", "metrics", "latest_metrics", "tags", "artifacts", "run_datasets")
MODEL_TABLES = ("registered_models", "model_versions", "model_aliases", "alias_audit")
TABLES = (*RUN_TABLES, "experiments", "datasets", *MODEL_TABLES)

_SELECTED = "(SELECT run_id FROM nb_bundle_runs)"
_VERSIONS = f"(SELECT name, version FROM model_versions WHERE run_id IN {_SELECTED})"  # noqa: S608 - names are this module's constants
_EXPORT_SQL = {
    **{t: f"SELECT * FROM {t} WHERE run_id IN {_SELECTED}" for t in RUN_TABLES},  # noqa: S608 - names are this module's constants
    "experiments": f"SELECT * FROM experiments WHERE name IN (SELECT experiment FROM runs WHERE run_id IN {_SELECTED})",  # noqa: S608 - names are this module's constants
    "datasets": f"SELECT * FROM datasets WHERE (name, fingerprint) IN "  # noqa: S608 - names are this module's constants
                f"(SELECT (name, fingerprint) FROM run_datasets WHERE run_id IN {_SELECTED})",
    "registered_models": f"SELECT * FROM registered_models WHERE name IN (SELECT name FROM {_VERSIONS})",  # noqa: S608 - names are this module's constants
    "model_versions": f"SELECT * FROM model_versions WHERE run_id IN {_SELECTED}",  # noqa: S608 - names are this module's constants
    # Only aliases pointing at exported versions: others would name versions the target lacks.
    "model_aliases": f"SELECT * FROM model_aliases WHERE (name, version) IN (SELECT (name, version) FROM {_VERSIONS})",  # noqa: S608 - names are this module's constants
    "alias_audit": f"SELECT * FROM alias_audit WHERE name IN (SELECT name FROM {_VERSIONS}) ORDER BY changed_at, rowid",  # noqa: S608 - names are this module's constants
}
DEFAULT_MAX_SIZE = 20 << 30  # bytes an import may write unless told otherwise (20 GiB)
MAX_MANIFEST_BYTES = 256 << 20
# The keys of the tables an import adds to only where absent (their PRIMARY KEYs in a local file).
_KEYS = {"experiments": ("name",), "datasets": ("name", "fingerprint"), "registered_models": ("name",),
         "model_aliases": ("name", "alias")}
_ARTIFACT = re.compile(r"artifacts/([0-9a-f]{64})")
_TABLE = re.compile(r"tables/([a-z_]+)\.parquet")


@dataclass(frozen=True)
class ImportReport:
    """What importing a bundle changed in the store."""

    runs_added: int
    runs_updated: int
    runs_unchanged: int
    metric_points: int
    artifacts_added: int
    models_added: int
    renumbered: tuple[tuple[str, int, int], ...] = ()  # (model, version in the bundle, version here)

    def summary(self) -> str:
        """The report in one line, e.g. for the CLI or a log."""
        text = (f"{counted(self.runs_added, 'run')} added, {self.runs_updated:,} updated, "
                f"{self.runs_unchanged:,} unchanged; {counted(self.metric_points, 'metric point')}, "
                f"{counted(self.artifacts_added, 'artifact file')}, "
                f"{counted(self.models_added, 'model version')} added")
        moved = "; ".join(f"{n} version {old} is version {new} here" for n, old, new in self.renumbered)
        return text + (f" ({moved}: the store already had a different model under that number)" if moved else "")


def export_bundle(store: Store, destination: str | os.PathLike[str] | None = None, *,
                  run_ids: list[str] | None = None, experiment: str | list[str] | None = None,
                  where: str | None = None, include_models: bool = True) -> bytes | Path:
    """Write the selected runs (default: all) with all they logged as one bundle (.tar.gz).

    Returns the Path written, or the bundle's bytes when `destination` is None.

    >>> export_bundle(store, "churn.tar.gz", experiment="churn", where="metrics.auc > 0.8")
    """
    if not store.shared and not store.root.is_dir():
        raise NotFoundError(f"no store at {store.root}: nothing to export")
    target = Path(destination).expanduser() if destination is not None else None
    if target is not None and target.is_dir():
        raise InvalidInputError(f"{target} is a folder: give the bundle's file name, e.g. {target / 'runs.tar.gz'}")
    tables = TABLES if include_models else tuple(t for t in TABLES if t not in MODEL_TABLES)
    with tempfile.TemporaryDirectory(prefix="nbmlops-export-") as tmp:
        folder = Path(tmp)
        with store.reading() as con:
            ids = _select_runs(con, run_ids, experiment, where)
            counts, shas = _dump(store, con, ids, tables, folder)
        files = {sha: store.artifact_path(sha) for sha in shas}
        for path in files.values():
            if not path.is_file():
                raise CorruptStoreError(f"artifact file {path} of the selected runs is missing from the store: "
                                        "restore it, or leave its run out of the export")
        manifest = {
            "format": FORMAT_VERSION, "nbmlops_version": _version(),
            "created_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            "store": str(store.root), "include_models": include_models, "run_ids": ids, "counts": counts,
            "members": {f"tables/{t}.parquet": file_sha256(folder / f"{t}.parquet") for t in tables},
            "sizes": {f"tables/{t}.parquet": (folder / f"{t}.parquet").stat().st_size for t in tables},
            "artifacts": {sha: path.stat().st_size for sha, path in files.items()},
        }
        if target is None:
            buffer = io.BytesIO()
            _write_tar(buffer, folder, manifest, files)
            return buffer.getvalue()
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, partial = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".partial")
        try:
            with os.fdopen(fd, "wb") as out:
                _write_tar(out, folder, manifest, files)
            os.chmod(partial, 0o644)  # mkstemp's 0600 would keep colleagues from reading it
            os.replace(partial, target)  # a reader never sees half a bundle
        finally:
            if os.path.exists(partial):
                os.unlink(partial)
        return target.resolve()


def read_manifest(source: str | os.PathLike[str] | bytes) -> dict[str, Any]:
    """The manifest of a bundle (its first member): format, run ids, row counts, member hashes."""
    label = _label(source)
    try:
        with _open(source, label) as tar:
            first = tar.next()
            return _parse_manifest(tar, first, label)
    except (tarfile.TarError, OSError, EOFError, zlib.error) as exc:
        raise _corrupt(label, str(exc)) from exc


def import_bundle(store: Store, source: str | os.PathLike[str] | bytes, *,
                  max_size: int | None = DEFAULT_MAX_SIZE) -> ImportReport:
    """Merge a bundle into `store` without duplicates, however often it is imported.

    Nothing lands in the store until every member was checked: its name, its size against the
    manifest, its sha256, and the total against `max_size` bytes (default 20 GiB; None: no cap, but
    never more than the free disk space).
    """
    label = _label(source)
    if max_size is not None and (not isinstance(max_size, int) or isinstance(max_size, bool) or max_size < 0):
        raise InvalidInputError(f"max_size must be a number of bytes >= 0 or None, not {max_size!r}")
    store.artifact_dir.mkdir(parents=True, exist_ok=True)
    # Staged inside the store (same filesystem: moved into place by renaming, and the free space that
    # counts is the store's); `gc` removes a staging folder a killed import leaves behind.
    folder = Path(tempfile.mkdtemp(dir=store.artifact_dir, prefix=".incoming-bundle-"))
    try:
        manifest = _unpack(source, label, folder, max_size,
                           shutil.disk_usage(store.artifact_dir).free)  # everything verified first
        added = 0
        for sha in manifest["artifacts"]:
            added += not store.has(sha)
            store.adopt_file(folder / sha, sha)
        report = merge_tables(store, folder, added)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return report


def merge_tables(store: Store, folder: Path, artifacts_added: int = 0) -> ImportReport:
    """Merge the tables in `folder` (`<table>.parquet`, as a bundle holds them; `runs` and `metrics`
    required) into `store` in one transaction, by the rules above; their artifact files must be stored
    already. Bundles and the MLflow importer both land through here."""
    return store.write(lambda con: _merge(con, store.catalog.dialect, folder, artifacts_added))


def run_states(store: Store, run_ids: list[str]) -> dict[str, tuple[str, int]]:
    """Status and metric point count of those of `run_ids` the store holds: what the merge weighs a copy
    against (`merge_action`), so that an importer can leave out the runs it would leave unchanged."""
    with store.reading() as con:
        rows = con.execute("""
            WITH ids AS (SELECT unnest(?::VARCHAR[]) AS run_id),
                 p AS (SELECT run_id, count(*) AS n FROM metrics WHERE run_id IN (SELECT run_id FROM ids)
                       GROUP BY run_id)
            SELECT r.run_id, r.status, coalesce(p.n, 0) FROM runs r JOIN ids USING (run_id)
            LEFT JOIN p USING (run_id)""", [run_ids]).fetchall()
    return {str(r[0]): (str(r[1]), int(r[2])) for r in rows}


# -- export ---------------------------------------------------------------------------------
def _select_runs(con: duckdb.DuckDBPyConnection, run_ids: list[str] | None,
                 experiment: str | list[str] | None, where: str | None) -> list[str]:
    chosen: list[str] | None = None
    if experiment is not None or where is not None:
        experiments = [experiment] if isinstance(experiment, str) else None if experiment is None else list(experiment)
        sql, params = build_runs_query(experiments=experiments, where=where)
        chosen = [r[0] for r in con.execute(sql, params).fetchall()]
    if run_ids is not None:
        given = [run_ids] if isinstance(run_ids, str) else list(run_ids)
        if not all(isinstance(r, str) for r in given):
            raise InvalidInputError("run_ids must be a list of run ids")
        resolved = [resolve_run_id(con, r) for r in given]
        chosen = resolved if chosen is None else [r for r in resolved if r in set(chosen)]
    if chosen is None:
        chosen = [r[0] for r in con.execute("SELECT run_id FROM runs ORDER BY start_time, run_id").fetchall()]
    return list(dict.fromkeys(chosen))


def _dump(store: Store, con: duckdb.DuckDBPyConnection, ids: list[str], tables: tuple[str, ...],
          folder: Path) -> tuple[dict[str, int], list[str]]:
    """Write each table's rows of runs `ids` to `folder` as Parquet; returns row counts and artifact hashes."""
    con.execute("CREATE OR REPLACE TEMP TABLE nb_bundle_runs AS SELECT unnest(?::VARCHAR[]) AS run_id", [ids])
    try:
        counts = {t: _copy_table(con, t, folder / f"{t}.parquet") for t in tables}
        models = (f" UNION SELECT sha256 FROM model_versions WHERE run_id IN {_SELECTED}"  # noqa: S608 - constant text
                  if "model_versions" in tables else "")
        shas = [r[0] for r in con.execute(
            f"SELECT sha256 FROM artifacts WHERE run_id IN {_SELECTED}{models} ORDER BY 1").fetchall()]  # noqa: S608 - constant text
        manifests = [r[0] for r in con.execute(  # dataset snapshots: their data files travel too
            f"SELECT sha256 FROM artifacts WHERE run_id IN {_SELECTED} AND starts_with(path, ?)",  # noqa: S608 - constant text
            [snapshot_manifests.PREFIX]).fetchall()]
    finally:
        con.execute("DROP TABLE IF EXISTS nb_bundle_runs")
    return counts, sorted(set(shas) | snapshot_manifests.children(store, manifests))


def _copy_table(con: duckdb.DuckDBPyConnection, table: str, target: Path) -> int:
    row = con.execute(f"COPY ({_EXPORT_SQL[table]}) TO {quote_literal(target)} (FORMAT parquet, COMPRESSION zstd)"
                      ).fetchone()
    return int(row[0]) if row else 0


def _write_tar(out: IO[bytes], folder: Path, manifest: dict[str, Any], files: dict[str, Path]) -> None:
    # Fast gzip: the tables are already zstd-compressed Parquet.
    with tarfile.open(fileobj=out, mode="w:gz", compresslevel=1) as tar:
        data = json.dumps(manifest, indent=1).encode()
        info = tarfile.TarInfo("manifest.json")  # first, so a reader checks the format before the rest
        info.size, info.mtime, info.mode = len(data), int(dt.datetime.now().timestamp()), 0o644
        tar.addfile(info, io.BytesIO(data))
        for member in manifest["members"]:
            tar.add(folder / member.split("/")[1], arcname=member, filter=_anonymous)
        for sha, path in files.items():
            tar.add(path, arcname=f"artifacts/{sha}", filter=_anonymous)


def _anonymous(info: tarfile.TarInfo) -> tarfile.TarInfo:
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    info.mode = 0o644
    return info


# -- import ---------------------------------------------------------------------------------
def _unpack(source: str | os.PathLike[str] | bytes, label: str, folder: Path, max_size: int | None,
            free: int) -> dict[str, Any]:
    """Extract the tables and artifacts into `folder`, checking names, sizes and hashes; returns the manifest.

    A bundle comes from elsewhere: its manifest declares each artifact's size (and, since nbmlops
    writes them, each table's), so a member that claims more, or a total beyond the cap, is refused
    before a byte of it is read, and a member is never read past its declared size.
    """
    seen: set[str] = set()
    cap = free if max_size is None else min(max_size, free)
    try:
        with _open(source, label) as tar:
            manifest = _parse_manifest(tar, tar.next(), label, cap)
            declared = _declared_sizes(manifest, label)
            total = sum(declared.values())
            if total > cap:
                raise _too_big(label, total, max_size, free)
            read = 0  # every member's bytes, read or skipped: a bomb costs time even unwritten
            for member in tar:
                _check_member(member, label)
                read += member.size
                if read > cap:
                    raise _too_big(label, read, max_size, free)
                table, artifact = _TABLE.fullmatch(member.name), _ARTIFACT.fullmatch(member.name)
                if not (table or artifact):
                    continue  # a name this nbmlops does not write: never extracted
                if member.name in seen:
                    raise _corrupt(label, f"member {member.name} appears twice")
                name = table.group(1) + ".parquet" if table else artifact.group(1)  # type: ignore[union-attr]
                expected = manifest["members"].get(member.name) if table else \
                    (name if name in manifest["artifacts"] else None)
                if expected is None:
                    continue
                size = declared.get(member.name)
                if size is not None and member.size != size:
                    raise _corrupt(label, f"member {member.name} holds {member.size} bytes, its manifest says {size}")
                _extract(tar, member, folder / name, member.size if size is None else size, expected, label)
                seen.add(member.name)
    except (tarfile.TarError, OSError, EOFError, zlib.error) as exc:
        raise _corrupt(label, str(exc)) from exc
    required = [f"tables/{t}.parquet" for t in (*RUN_TABLES, "experiments", "datasets")]
    expected_members = [*manifest["members"], *required, *(f"artifacts/{sha}" for sha in manifest["artifacts"])]
    missing = [m for m in expected_members if m not in seen]
    if missing:
        raise _corrupt(label, f"member {missing[0]} is missing")
    return manifest


def _declared_sizes(manifest: dict[str, Any], label: str) -> dict[str, int]:
    """Member name -> size in bytes, as the manifest declares them (tables only in newer bundles)."""
    sizes = {f"artifacts/{sha}": size for sha, size in manifest["artifacts"].items()}
    sizes.update(manifest.get("sizes") or {})
    for name, size in sizes.items():
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise _corrupt(label, f"its manifest gives member {name} the size {size!r}")
    return sizes


def _check_member(member: tarfile.TarInfo, label: str) -> None:
    """Refuse links, devices and names that climb out of the bundle (never extracted, but never normal)."""
    name = member.name
    if name.startswith(("/", "\\")) or ".." in name.replace("\\", "/").split("/") or "\x00" in name:
        raise _corrupt(label, f"member {name!r} names a path outside the bundle")
    if not member.isfile():
        kind = "a link" if member.issym() or member.islnk() else "a folder" if member.isdir() else "a special file"
        raise _corrupt(label, f"member {name!r} is {kind}, which nbmlops bundles never hold")


def _extract(tar: tarfile.TarFile, member: tarfile.TarInfo, target: Path, size: int, sha256: str,
             label: str) -> None:
    """Copy one member to `target` (a new private file), hashing it and reading no more than `size` bytes."""
    digest, written = hashlib.sha256(), 0
    source = tar.extractfile(member)
    if source is None:  # not a regular file: `_check_member` refused it already
        raise _corrupt(label, f"member {member.name!r} is not a regular file")
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
    with source, os.fdopen(fd, "wb") as out:
        while chunk := source.read(min(1 << 20, size - written + 1)):
            written += len(chunk)
            if written > size:
                raise _corrupt(label, f"member {member.name} holds more than the {size} bytes its manifest says")
            digest.update(chunk)
            out.write(chunk)
    if written != size:
        raise _corrupt(label, f"member {member.name} holds {written} bytes, its manifest says {size}")
    if digest.hexdigest() != sha256:
        raise _corrupt(label, f"member {member.name} does not match its sha256 (damaged or edited)")


def _too_big(label: str, size: int, max_size: int | None, free: int) -> BundleTooLargeError:
    if max_size is not None and size > max_size and max_size <= free:
        return BundleTooLargeError(
            f"bundle {label} holds more than {format_bytes(max_size)} (at least {format_bytes(size)}), the import cap; "
            "nothing was imported: pass a larger --max-size (max_size=) if you trust it")
    return BundleTooLargeError(
        f"bundle {label} holds at least {format_bytes(size)}, more than the {format_bytes(free)} free where the "
        "store is; nothing was imported: free some space first")


def _open(source: str | os.PathLike[str] | bytes, label: str) -> tarfile.TarFile:
    if isinstance(source, (bytes, bytearray, memoryview)):
        return tarfile.open(fileobj=io.BytesIO(bytes(source)), mode="r:gz")
    path = Path(source).expanduser()
    if not path.is_file():
        raise NotFoundError(f"no bundle at {path}: write one with `nbmlops export`")
    return tarfile.open(path, mode="r:gz")


def _parse_manifest(tar: tarfile.TarFile, first: tarfile.TarInfo | None, label: str,
                    cap: int = MAX_MANIFEST_BYTES) -> dict[str, Any]:
    if first is None or first.name != "manifest.json" or not first.isfile():
        raise _corrupt(label, "it does not start with manifest.json")
    if first.size > min(cap, MAX_MANIFEST_BYTES):  # read into memory: never an unbounded one
        raise _corrupt(label, f"its manifest.json holds {first.size} bytes, more than a manifest ever needs")
    try:
        manifest = json.loads(tar.extractfile(first).read())  # type: ignore[union-attr]
        version = int(manifest["format"])
        if version > FORMAT_VERSION:
            raise StoreVersionError(
                f"bundle {label} is format {version}, this nbmlops reads up to {FORMAT_VERSION}: "
                "pip install -U nbmlops (nothing was imported)")
        if not isinstance(manifest["members"], dict) or not isinstance(manifest["artifacts"], dict) \
                or not isinstance(manifest.get("sizes", {}), dict):
            raise TypeError("members, artifacts and sizes must be objects")
    except (ValueError, KeyError, TypeError) as exc:
        raise _corrupt(label, f"its manifest is unreadable ({exc})") from exc
    return manifest


def _merge(con: duckdb.DuckDBPyConnection, dialect: Dialect, folder: Path, artifacts_added: int) -> ImportReport:
    """Merge the extracted tables into the catalog (inside the caller's transaction)."""
    def src(table: str) -> str | None:
        path = folder / f"{table}.parquet"
        return str(path) if path.exists() else None

    runs = str(folder / "runs.parquet")
    rows = con.execute("""
        WITH b AS (SELECT run_id, status, end_time FROM read_parquet(?)),
             bp AS (SELECT run_id, count(*) AS n FROM read_parquet(?) GROUP BY run_id),
             tp AS (SELECT run_id, count(*) AS n FROM metrics WHERE run_id IN (SELECT run_id FROM b) GROUP BY run_id)
        SELECT b.run_id, b.status, b.end_time, coalesce(bp.n, 0), t.run_id IS NOT NULL, t.status, t.end_time,
               coalesce(tp.n, 0)
        FROM b LEFT JOIN runs t USING (run_id) LEFT JOIN bp USING (run_id) LEFT JOIN tp USING (run_id)""",
                       [runs, str(folder / "metrics.parquet")]).fetchall()
    actions = {r[0]: merge_action(*r[1:]) for r in rows}
    changed = [rid for rid, a in actions.items() if a != "same"]
    for table in ("experiments", "datasets"):
        _insert_new(con, dialect, table, src(table))
    con.execute(dialect.insert_new("experiments", _KEYS["experiments"],
                                   "SELECT experiment AS name, min(start_time) AS created_at FROM read_parquet(?) "
                                   "GROUP BY 1"), [runs])
    inserted = 0
    if changed:
        for table in RUN_TABLES:
            con.execute(f"DELETE FROM {table} WHERE run_id IN (SELECT unnest(?::VARCHAR[]))", [changed])  # noqa: S608 - tables are RUN_TABLES
        for table in RUN_TABLES:
            count = _insert(con, dialect, table, src(table), run_ids=changed)
            inserted += count if table == "metrics" else 0
    models_added, renumbered = _merge_models(con, dialect, src, set(changed))
    return ImportReport(
        runs_added=sum(a == "add" for a in actions.values()),
        runs_updated=sum(a == "replace" for a in actions.values()),
        runs_unchanged=sum(a == "same" for a in actions.values()),
        metric_points=inserted, artifacts_added=artifacts_added, models_added=models_added,
        renumbered=tuple(renumbered))


def merge_action(b_status: str, b_end: Any, b_points: int, present: bool, t_status: str | None, t_end: Any,
                 t_points: int) -> str:
    """add, replace or same: whether the bundle's copy of a run is new or further along than ours."""
    if not present:
        return "add"
    ended_there, ended_here = b_status != "RUNNING", t_status != "RUNNING"
    # More points count unless taking them would turn an ended run back into a RUNNING one.
    further = (ended_there and not ended_here) or (b_points > t_points and (ended_there or not ended_here))
    return "replace" if further else "same"


def _insert(con: duckdb.DuckDBPyConnection, dialect: Dialect, table: str, path: str | None, *,
            run_ids: list[str] | None = None) -> int:
    """INSERT the bundle's rows of `table` (by column name; for `run_ids` only); returns the row count."""
    if path is None:
        return 0
    columns = ", ".join(_columns(con, dialect, table, path))
    sql = f"INSERT INTO {table} ({columns}) SELECT {columns} FROM read_parquet(?)"  # noqa: S608 - table from TABLES; columns quoted by sqltext (_columns)
    params: list[object] = [path]
    if run_ids is not None:
        sql += " WHERE run_id IN (SELECT unnest(?::VARCHAR[]))"
        params.append(run_ids)
    row = con.execute(sql, params).fetchone()
    return int(row[0]) if row else 0


def _insert_new(con: duckdb.DuckDBPyConnection, dialect: Dialect, table: str, path: str | None) -> None:
    """INSERT the bundle's rows of `table` whose keys the table here does not hold yet."""
    if path is not None:
        columns = _columns(con, dialect, table, path)
        rows = f"SELECT {', '.join(columns)} FROM read_parquet(?)"  # noqa: S608 - columns quoted by sqltext (_columns)
        con.execute(dialect.insert_new(table, _KEYS[table], rows, columns=columns), [path])


def _columns(con: duckdb.DuckDBPyConnection, dialect: Dialect, table: str, path: str) -> list[str]:
    """The columns both the table here and the bundle's file have (bundles of older or newer stores), quoted."""
    ours = [column for name, column, _ in dialect.catalog_columns(con) if name == table]
    theirs = {r[0] for r in con.execute("DESCRIBE SELECT * FROM read_parquet(?)", [path]).fetchall()}
    return [quote_ident(c) for c in ours if c in theirs]


def _merge_models(con: duckdb.DuckDBPyConnection, dialect: Dialect, src: Callable[[str], str | None],
                  changed: set[str]) -> tuple[int, list[tuple[str, int, int]]]:
    """Add model versions (renumbering collisions), absent aliases and new audit rows."""
    versions = src("model_versions")
    if versions is None:
        return 0, []
    dialect.serialize(con, REGISTRY)  # versions are numbered here as the registry numbers them
    _insert_new(con, dialect, "registered_models", src("registered_models"))
    here: dict[tuple[str, int], int] = {}  # (name, version in the bundle) -> version here
    renumbered: list[tuple[str, int, int]] = []
    added = 0
    listed = _columns(con, dialect, "model_versions", versions)
    columns = ", ".join(listed)
    chosen = ", ".join('CAST(? AS INTEGER) AS "version"' if c == '"version"' else c for c in listed)
    for name, version, sha, run_id, created in con.execute(
            "SELECT name, version, sha256, run_id, created_at FROM read_parquet(?) ORDER BY name, version",
            [versions]).fetchall():
        same = con.execute("SELECT min(version) FROM model_versions WHERE name = ? AND sha256 = ? AND "
                           "run_id IS NOT DISTINCT FROM ? AND created_at = ?", [name, sha, run_id, created]).fetchone()
        fresh = not same or same[0] is None
        if fresh:
            row = con.execute("SELECT max(version), count(*) FILTER (WHERE version = ?) FROM model_versions "
                              "WHERE name = ?", [version, name]).fetchone()
            number = int(row[0]) + 1 if row and row[1] else version
            con.execute(f"INSERT INTO model_versions ({columns}) SELECT {chosen} FROM read_parquet(?) "  # noqa: S608 - columns quoted by sqltext (_columns)
                        "WHERE name = ? AND version = ?", [number, versions, name, version])
            added += 1
            if number != version:
                renumbered.append((name, version, number))
        else:
            number = int(same[0])  # type: ignore[index]
        here[(name, version)] = number
        if number != version and (fresh or run_id in changed):
            # The run's tags came with the bundle's number for this version.
            con.execute("UPDATE tags SET value = ? WHERE run_id = ? AND key = ? AND value = ?",
                        [str(number), run_id, f"model.{name}.version", str(version)])
    _merge_aliases(con, dialect, src("model_aliases"), src("alias_audit"), here)
    return added, renumbered


def _merge_aliases(con: duckdb.DuckDBPyConnection, dialect: Dialect, aliases: str | None, audit: str | None,
                   here: dict[tuple[str, int], int]) -> None:
    """Create aliases absent here (never move one) and append audit rows not already here."""
    if aliases is not None:
        new_alias = dialect.insert_new("model_aliases", _KEYS["model_aliases"], "VALUES (?, ?, ?, ?)",
                                       columns=ALIAS_COLUMNS)
        for name, alias, version, updated in con.execute(
                "SELECT name, alias, version, updated_at FROM read_parquet(?)", [aliases]).fetchall():
            if (name, version) in here:
                con.execute(new_alias, [name, alias, here[(name, version)], updated])
    if audit is None:
        return
    listed = _columns(con, dialect, "alias_audit", audit)
    columns = ", ".join(listed)
    names = [c.strip('"') for c in listed]
    for row in con.execute(f"SELECT {columns} FROM read_parquet(?)", [audit]).fetchall():  # noqa: S608 - columns quoted by sqltext (_columns)
        record = dict(zip(names, row, strict=True))
        for key in ("from_version", "to_version"):  # versions not in the bundle keep their number
            if record.get(key) is not None:
                record[key] = here.get((record["name"], record[key]), record[key])
        exists = con.execute(
            "SELECT count(*) FROM alias_audit WHERE changed_at = ? AND name = ? AND alias = ? AND "
            "from_version IS NOT DISTINCT FROM ? AND to_version IS NOT DISTINCT FROM ?",
            [record["changed_at"], record["name"], record["alias"], record.get("from_version"),
             record.get("to_version")]).fetchone()
        if exists and not exists[0]:
            con.execute(f"INSERT INTO alias_audit ({columns}) VALUES ({', '.join('?' * len(record))})",  # noqa: S608 - columns quoted by sqltext (_columns)
                        list(record.values()))


# -- helpers ----------------------------------------------------------------------------------
def _label(source: str | os.PathLike[str] | bytes) -> str:
    return "(bytes)" if isinstance(source, (bytes, bytearray, memoryview)) else str(source)


def _corrupt(label: str, detail: str) -> CorruptStoreError:
    return CorruptStoreError(f"bundle {label} cannot be imported: {detail}; nothing was imported: "
                             "export it again with `nbmlops export`")


def _version() -> str:
    try:
        return importlib.metadata.version("nbmlops")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"
