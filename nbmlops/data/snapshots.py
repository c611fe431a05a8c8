"""Dataset snapshots: the data of a dataset version itself, content-addressed, to load it back later.

A snapshot is a manifest (a JSON artifact) listing content-addressed files:
- in-memory data (frames, series, arrays): Parquet or .npy parts, see `frames`;
- a file or a folder: every file once by content, with its relative path and mode bits.
The run that logs a snapshot records the manifest as its artifact `snapshots/<fingerprint>.json`,
so the catalog knows which versions have data, and whatever follows a run's artifacts (bundles,
`gc`, `du`) follows its snapshots. `cache/snapshots/<fingerprint>` names the manifest of content
snapshotted before and `cache/snapshot-files.sqlite` maps file digests to stored files (derived
data: deleted, they fill again): the same content logged again costs one small read, and a folder
with one changed file reads and stores one file.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import stat
import tempfile
import warnings
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import xxhash

from nbmlops.data import frames
from nbmlops.data.fingerprint import DatasetInfo, fingerprint, folder_digests
from nbmlops.errors import InvalidInputError, NotFoundError, StoreError, TamperedArtifactError
from nbmlops.store.folder import Store
from nbmlops.store.manifests import read_manifest, snapshotted

FORMAT = "nbmlops-snapshot/1"
READ_BYTES = 8 << 20
FOLDER_MODE = 0o755  # folders a restore creates (the umask may take more away)


@dataclass(frozen=True)
class Snapshot:
    """A stored snapshot: its manifest's content address and what it holds."""

    fingerprint: str
    manifest_sha256: str
    kind: str
    files: int
    size_bytes: int
    reused: bool  # the content was stored already: nothing was written


def snapshot(store: Store, obj: object, info: DatasetInfo) -> Snapshot:
    """Store the data of `obj` (fingerprinted as `info`) unless the same content is stored already."""
    index = store.root / "cache" / "snapshots" / info.fingerprint
    try:
        found = _reuse(store, index.read_text().strip())
        if found is not None:
            return found
    except (OSError, UnicodeDecodeError):
        pass  # not snapshotted here yet (or the cache was deleted): store it
    store.artifact_dir.mkdir(parents=True, exist_ok=True)
    extra: dict[str, Any]
    if info.kind in ("file", "directory"):
        files, extra = _store_files(store, info), {}
    else:
        files, extra = _store_memory(store, obj)
    manifest = {"format": FORMAT, "fingerprint": info.fingerprint, "kind": info.kind, "files": files,
                "source": info.source, **extra}
    sha, _ = store.put_bytes(json.dumps(manifest, sort_keys=True, ensure_ascii=False).encode())
    index.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=index.parent, prefix=".incoming-")
    with os.fdopen(fd, "w") as out:
        out.write(sha)
    os.replace(tmp, index)
    return Snapshot(info.fingerprint, sha, info.kind, len(files), sum(f["size"] for f in files), False)


def _reuse(store: Store, sha: str) -> Snapshot | None:
    """The stored snapshot, every file touched so `gc` keeps it; None when any file is gone."""
    if not store.touch(sha):
        return None
    try:
        manifest = json.loads(store.read_verified(sha, "a snapshot manifest"))
    except (NotFoundError, TamperedArtifactError, ValueError):
        return None
    if not all(store.touch(f["sha256"]) for f in manifest["files"]):
        return None
    return Snapshot(manifest["fingerprint"], sha, manifest["kind"], len(manifest["files"]),
                    sum(f["size"] for f in manifest["files"]), True)


@contextmanager
def _cache(store: Store) -> Iterator[sqlite3.Connection]:
    path = store.root / "cache" / "snapshot-files.sqlite"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(path, timeout=30)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("CREATE TABLE IF NOT EXISTS blobs (xxh3_128 TEXT PRIMARY KEY, sha256 TEXT)")
            with db:
                yield db
        finally:
            db.close()
    except (sqlite3.Error, OSError) as exc:
        raise StoreError(f"snapshot cache {path} cannot be used ({exc}): delete it, it is rebuilt "
                         "as snapshots are logged") from exc


def _staging(store: Store) -> str:
    """A temporary folder beside the artifacts (same filesystem: stored by renaming)."""
    return tempfile.mkdtemp(dir=store.artifact_dir, prefix=".incoming-snapshot-")


def _hash_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb", buffering=0) as f:
        while chunk := f.read(READ_BYTES):
            digest.update(chunk)
    return digest.hexdigest()


def _store_memory(store: Store, obj: object) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """A frame, series or array as content-addressed parts; returns (files, {"meta": ...})."""
    folder = _staging(store)
    try:
        meta, parts = frames.encode(obj, Path(folder),
                                    lambda path, sha: store.adopt_file(path, sha or _hash_file(path)))
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return parts, {"meta": meta}


def _store_files(store: Store, info: DatasetInfo) -> list[dict[str, Any]]:
    """Every file of a file or folder dataset, each stored once by content."""
    if info.source is None:  # fingerprint() names the path of every file or folder dataset
        raise InvalidInputError(f"this {info.kind} dataset has no path to snapshot its files from")
    root = Path(info.source)
    if info.kind == "file":
        entries = [(root.name, root.stat())]
        paths = [str(root)]
        digests = [bytes.fromhex(info.fingerprint)]
    else:
        # The digests fingerprint() just cached: no file is read twice.
        entries, digests, combined = folder_digests(str(root), store.root / "cache" / "file-digests.sqlite")
        paths = [os.path.join(str(root), *rel.split("/")) for rel, _ in entries]
        if combined != info.fingerprint:
            raise _changed(root)
    wanted = [d.hex() for d in digests]
    known: dict[str, str] = {}
    with _cache(store) as db:
        for start in range(0, len(wanted), 500):  # sqlite limits the number of parameters
            batch = wanted[start:start + 500]
            known.update(db.execute(f"SELECT * FROM blobs WHERE xxh3_128 IN ({','.join('?' * len(batch))})",  # noqa: S608 - only ? placeholders are joined in
                                    batch).fetchall())
    files, learned = [], []
    for (rel, st), path, digest in zip(entries, paths, digests, strict=True):
        sha = known.get(digest.hex())
        if sha is None or not store.touch(sha):
            sha = _copy_in(store, Path(path), digest, root)
            learned.append((digest.hex(), sha))
        files.append({"path": rel, "sha256": sha, "size": st.st_size, "mode": stat.S_IMODE(st.st_mode)})
    if learned:
        with _cache(store) as db:
            db.executemany("INSERT OR REPLACE INTO blobs VALUES (?, ?)", learned)
    return files


def _changed(root: Path) -> InvalidInputError:
    return InvalidInputError(f"{root} changed while it was being snapshotted: log it again once "
                             "nothing writes to it")


def _copy_in(store: Store, path: Path, digest: bytes, root: Path) -> str:
    """Copy one file into the store in one read, checking it is still the content fingerprinted."""
    sha, xxh = hashlib.sha256(), xxhash.xxh3_128()
    fd, tmp = tempfile.mkstemp(dir=store.artifact_dir, prefix=".incoming-")
    try:
        with open(path, "rb", buffering=0) as src, os.fdopen(fd, "wb") as out:
            while chunk := src.read(READ_BYTES):
                sha.update(chunk)
                xxh.update(chunk)
                out.write(chunk)
        if xxh.digest() != digest:
            raise _changed(root)
        return store.adopt_file(Path(tmp), sha.hexdigest())[0]
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


# -- reading --------------------------------------------------------------------------------
def sizes(store: Store, fingerprints: Iterable[str]) -> dict[str, int]:
    """Bytes of data stored for each of these dataset versions that has a snapshot (others left out)."""
    with store.reading(refresh=False) as con:
        known = snapshotted(con)
    found = {}
    for version in set(fingerprints) & set(known):
        try:
            found[version] = sum(f["size"] for f in read_manifest(store, known[version])["files"])
        except (NotFoundError, TamperedArtifactError, ValueError, KeyError):
            continue  # a missing or damaged manifest: shown as without snapshot
    return found


def load(store: Store, manifest: dict[str, Any], label: str, path: str | os.PathLike[str] | None = None) -> Any:
    """The data of a snapshot: the frame or array, or the files restored into folder `path`."""
    if manifest["kind"] in ("file", "directory"):
        if path is None:
            raise InvalidInputError(f"{label} is a {manifest['kind']}: give path= (a folder) to restore "
                                    "its files into")
        return restore_files(store, manifest, Path(path), label)
    if path is not None:
        raise InvalidInputError(f"{label} is a {manifest['kind']}, returned rather than written: drop path=")
    files = [store.artifact_path(f["sha256"]) for f in manifest["files"]]
    missing = [f for f in files if not f.is_file()]
    if missing:
        raise NotFoundError(f"{label}: snapshot file {missing[0]} is missing from the store (removed by "
                            "hand?); the version's fingerprint and profile are still there")
    data = frames.decode(manifest["meta"], files)
    if fingerprint(data, profile=False).fingerprint != manifest["fingerprint"]:
        for f in manifest["files"]:
            store.read_verified(f["sha256"], f"{label} ({f['path']})")  # raises if a file was altered
        warnings.warn(f"{label} was loaded, but its fingerprint differs from the logged one: a column "
                      "type was not kept exactly by Parquet", stacklevel=3)
    return data


def restore_files(store: Store, manifest: dict[str, Any], folder: Path, label: str) -> Path:
    """Write a file or folder snapshot into `folder`; returns the restored file or `folder`."""
    folder = folder.expanduser().resolve()
    if folder.exists() and not folder.is_dir():
        raise InvalidInputError(f"{folder} is a file: restore {label} into a folder")
    targets = [folder.joinpath(*f["path"].split("/")) for f in manifest["files"]]
    for target in targets:
        if not target.resolve().is_relative_to(folder):
            raise TamperedArtifactError(f"{label} names a file outside the folder ({target}): not restored")
        if target.exists():
            raise InvalidInputError(f"{target} exists already: restore {label} into an empty or new folder")
    for f, target in zip(manifest["files"], targets, strict=True):
        target.parent.mkdir(mode=FOLDER_MODE, parents=True, exist_ok=True)
        _copy_out(store, f, target, label)
    return targets[0] if manifest["kind"] == "file" else folder


def restored_mode(mode: object) -> int:
    """The mode bits a restored file gets from the ones its manifest recorded.

    A manifest may come from a bundle made elsewhere: only read and execute bits survive (never
    setuid, setgid, sticky, group- or world-writable), and the owner can always read and write.
    """
    bits = mode if isinstance(mode, int) and not isinstance(mode, bool) else 0o644
    return (bits & 0o755) | stat.S_IRUSR | stat.S_IWUSR


def _copy_out(store: Store, entry: dict[str, Any], target: Path, label: str) -> None:
    """Copy one stored file to `target`, checking its hash on the way."""
    source = store.artifact_path(entry["sha256"])
    digest = hashlib.sha256()
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    try:
        try:
            with open(source, "rb", buffering=0) as src, os.fdopen(fd, "wb") as out:
                while chunk := src.read(READ_BYTES):
                    digest.update(chunk)
                    out.write(chunk)
        except FileNotFoundError:
            raise NotFoundError(f"{label}: file {entry['path']} is missing from the store ({source})") from None
        if digest.hexdigest() != entry["sha256"]:
            raise TamperedArtifactError(f"{label}: stored file {source} ({entry['path']}) no longer matches "
                                        "its hash; it was not restored")
        os.chmod(tmp, restored_mode(entry.get("mode")))
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
