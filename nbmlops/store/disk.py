"""Disk space: what takes room in a store (`du`), and removing what nothing needs any more (`gc`).

`gc` keeps every stored file that something kept refers to:
- the artifacts (and the snapshots they list) of kept runs: pinned runs (tag `pinned`), runs that
  logged a registered model version, their parent runs, and runs that are RUNNING or started or
  ended within GRACE_SECONDS;
- every file named by any other catalog table (model files, monitoring reference profiles, and
  any future table with a `sha256`-like column), whatever run it came from;
- anything written or reused within GRACE_SECONDS (writers touch content they reuse), so a live
  process never loses a file it just stored but has not yet recorded.
Everything else under `artifacts/` is removed, and the catalog rows of runs whose files went are
deleted with them (the run gets a `gc.removed` tag), so no row points at a missing file. Each file is
first moved aside and its time checked once more, so a writer that reuses it at that moment
either sees it gone (and writes it again) or makes gc put it back.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pandas as pd

from nbmlops.errors import InvalidInputError, NotFoundError, StoreError
from nbmlops.store import manifests as snapshot_manifests
from nbmlops.store.folder import Store
from nbmlops.store.runs import resolve_run_id
from nbmlops.store.sqltext import quote_ident
from nbmlops.units import format_bytes

GRACE_SECONDS = 15 * 60
PIN_TAG = "pinned"
_TAG_COLUMNS = ("run_id", "key", "value", "updated_at")


@dataclass
class Collection:
    """What `gc` found (and, unless a dry run, removed)."""

    files: list[Path] = field(default_factory=list)
    bytes: int = 0
    runs: list[str] = field(default_factory=list)  # runs that lose artifacts
    kept_runs: int = 0
    removed: bool = False

    def summary(self) -> str:
        """One line for the CLI."""
        verb = "removed" if self.removed else "would remove"
        return (f"{verb} {len(self.files)} files ({format_bytes(self.bytes)}) from {len(self.runs)} runs; "
                f"kept everything of {self.kept_runs} pinned, registered, recent or running runs"
                + ("" if self.removed else " (dry run: add --yes to remove)"))


def pin(store: Store, run_id: str, reason: str | None = None) -> str:
    """Keep a run's artifacts and snapshots through `gc`; returns the full run id."""
    if reason is not None and (not isinstance(reason, str) or not reason.isprintable()):
        raise InvalidInputError("pin reason must be one line of text")
    with store.reading() as con:
        rid = resolve_run_id(con, run_id)
        _set_tag(store, con, rid, PIN_TAG, reason or "true", _now())
    return rid


def unpin(store: Store, run_id: str) -> str:
    """Let `gc` collect a run's files again (unless something else keeps them)."""
    with store.reading() as con:
        rid = resolve_run_id(con, run_id)
        con.execute("DELETE FROM tags WHERE run_id = ? AND key = ?", [rid, PIN_TAG])
    return rid


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


def _set_tag(store: Store, con: duckdb.DuckDBPyConnection, run_id: str, key: str, value: str,
             now: dt.datetime) -> None:
    con.execute(store.catalog.dialect.upsert("tags", ("run_id", "key"), "VALUES (?, ?, ?, ?)",
                                             "value = excluded.value, updated_at = excluded.updated_at",
                                             columns=_TAG_COLUMNS), [run_id, key, value, now])


def _stored(store: Store) -> dict[str, os.stat_result]:
    """Every stored file (content address -> stat), plus unfinished writes under their own names."""
    found: dict[str, os.stat_result] = {}
    if not store.artifact_dir.is_dir():
        return found
    for entry in os.scandir(store.artifact_dir):
        if entry.is_dir(follow_symlinks=False) and len(entry.name) == 2:
            for item in os.scandir(entry.path):
                found[entry.name + item.name if not item.name.startswith(".") else item.path] = \
                    item.stat(follow_symlinks=False)
        elif entry.name.startswith(".incoming-"):
            found[entry.path] = entry.stat(follow_symlinks=False)
    return found


def _kept_runs(con: duckdb.DuckDBPyConnection) -> set[str]:
    cutoff = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None) - dt.timedelta(seconds=GRACE_SECONDS)
    kept = {r[0] for r in con.execute(
        "SELECT run_id FROM runs WHERE status = 'RUNNING' OR start_time >= ? OR end_time >= ? "
        "UNION SELECT run_id FROM tags WHERE key = ? "
        "UNION SELECT run_id FROM model_versions WHERE run_id IS NOT NULL", [cutoff, cutoff, PIN_TAG]).fetchall()}
    parents = dict(con.execute("SELECT run_id, parent_run_id FROM runs WHERE parent_run_id IS NOT NULL").fetchall())
    for run in list(kept):
        while run in parents and parents[run] not in kept:
            run = parents[run]
            kept.add(run)
    return kept


def _referenced(store: Store, con: duckdb.DuckDBPyConnection, kept: set[str]) -> set[str]:
    """Content addresses something kept refers to, snapshots expanded to their files."""
    con.register("nb_kept", pd.DataFrame({"run_id": sorted(kept)}, dtype=object))
    try:
        rows = con.execute("SELECT path, sha256 FROM artifacts WHERE run_id IN (SELECT run_id FROM nb_kept)").fetchall()
    finally:
        con.unregister("nb_kept")
    refs = {sha for _, sha in rows}
    manifests = {sha for path, sha in rows if path.startswith(snapshot_manifests.PREFIX)}
    for table, column, kind in store.catalog.dialect.catalog_columns(con):
        if table == "artifacts" or "sha" not in column.lower() or kind != "VARCHAR":
            continue
        # Names from the catalog's own schema, quoted by store/sqltext.py all the same.
        name, where = quote_ident(column), quote_ident(table)
        refs.update(r[0] for r in con.execute(
            f"SELECT DISTINCT {name} FROM {where} WHERE {name} IS NOT NULL").fetchall())  # noqa: S608 - quoted
    return refs | snapshot_manifests.children(store, manifests)


def gc(store: Store, *, dry_run: bool = True) -> Collection:
    """Find (and unless `dry_run`, remove) stored files nothing kept refers to."""
    if store.shared:
        raise StoreError(f"gc works on a store folder; the team store {store.location} keeps every file in its "
                         f"data location, and this machine's copies in {store.artifact_dir} are a read cache "
                         "kept under NBMLOPS_CACHE_GB (default 5)")
    if not store.root.is_dir():
        raise NotFoundError(f"no store at {store.root}")
    with store.reading() as con:
        kept = _kept_runs(con)
        refs = _referenced(store, con, kept)
        stored = _stored(store)
        fresh = time.time() - GRACE_SECONDS
        garbage = {key: st for key, st in stored.items() if key not in refs and st.st_mtime < fresh}
        owners = con.execute("SELECT DISTINCT run_id FROM artifacts WHERE list_contains(?, sha256)",
                             [sorted(k for k in garbage if len(k) == 64)]).fetchall()
        result = Collection(runs=sorted(r[0] for r in owners), kept_runs=len(kept))
        result.files = [Path(k) if len(k) != 64 else store.artifact_path(k) for k in garbage]
        result.bytes = sum(st.st_size for st in garbage.values())
        if dry_run:
            return result
        gone = [key for key, path in zip(garbage, result.files, strict=True) if _remove(path, fresh)]
        shas = [k for k in gone if len(k) == 64]
        with store.catalog.transaction(con):
            touched = store.catalog.dialect.delete_returning(
                con, "artifacts", "list_contains(?, sha256) AND NOT list_contains(?, run_id)", [shas, sorted(kept)],
                "run_id")
            now = _now()
            removed = f"artifacts removed by nbmlops gc on {now:%Y-%m-%d %H:%M} UTC"
            for run_id in sorted(set(touched)):
                _set_tag(store, con, run_id, "gc.removed", removed, now)
    snapshot_manifests.forget(store, set(shas))
    result.files = [p for p, key in zip(result.files, garbage, strict=True) if key in set(gone)]
    result.bytes = sum(garbage[k].st_size for k in gone)
    result.removed = True
    return result


def _remove(path: Path, fresh: float) -> bool:
    """Move the file aside, check nobody touched it meanwhile, then delete it (else put it back)."""
    aside = path.with_name(f".gc-{path.name}")
    try:
        os.replace(path, aside)
    except FileNotFoundError:
        return False
    if aside.stat().st_mtime >= fresh:  # reused just now: same content, so putting it back is safe
        os.replace(aside, path)
        return False
    if aside.is_dir():  # an unfinished snapshot's staging folder
        shutil.rmtree(aside, ignore_errors=True)
    else:
        aside.unlink()
    return True


def du(store: Store) -> pd.DataFrame:
    """Bytes and files per kind of content: snapshots, models, notebooks, other artifacts, unreferenced
    files, journals, catalog, caches."""
    sizes: dict[str, list[int]] = {}

    def add(kind: str, size: int) -> None:
        entry = sizes.setdefault(kind, [0, 0])
        entry[0] += 1
        entry[1] += size

    with store.reading() as con:
        rows = con.execute("SELECT DISTINCT path, sha256 FROM artifacts").fetchall()
        model_files = {r[0] for r in con.execute("SELECT sha256 FROM model_versions").fetchall()}
    manifests = {sha for path, sha in rows if path.startswith(snapshot_manifests.PREFIX)}
    kinds: dict[str, str] = {}
    for sha in snapshot_manifests.children(store, manifests) | manifests:
        kinds[sha] = "snapshots"
    for path, sha in rows:
        kinds.setdefault(sha, "models" if sha in model_files or path.startswith("models/") else
                         "notebooks" if path.startswith("notebook/") or path.endswith(".ipynb") else
                         "other artifacts")
    for sha in model_files:
        kinds.setdefault(sha, "models")
    for key, st in _stored(store).items():
        add(kinds.get(key, "unreferenced files"), st.st_size)
    for kind, folder in (("journals", store.journal_dir), ("caches", store.root / "cache")):
        for path in folder.rglob("*") if folder.is_dir() else []:
            if path.is_file():
                add(kind, path.stat().st_size)
    for path in store.root.glob("store.duckdb*"):
        add("catalog", path.stat().st_size)
    order = ["snapshots", "models", "notebooks", "other artifacts", "unreferenced files", "journals",
             "catalog", "caches"]
    table = pd.DataFrame([(k, *sizes[k]) for k in order if k in sizes], columns=["kind", "files", "bytes"])
    table["size"] = table["bytes"].map(format_bytes)
    total = pd.DataFrame([("total", table["files"].sum(), table["bytes"].sum(), format_bytes(table["bytes"].sum()))],
                         columns=table.columns)
    return pd.concat([table, total], ignore_index=True)
