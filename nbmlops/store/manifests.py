"""Snapshot manifests as the store sees them: where runs record them, and the stored files they list.

A dataset snapshot (data/snapshots.py) is a JSON manifest listing content-addressed files; the run
that logs it records the manifest as its artifact `snapshots/<fingerprint>.json`. `gc`, `du` and
bundles follow a run's artifacts and, through its manifests, the files they list: that much of a
snapshot is the store's business, kept here below the data layer that writes and reads snapshots.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import duckdb

from nbmlops.errors import NotFoundError, TamperedArtifactError
from nbmlops.store.folder import Store

PREFIX = "snapshots/"


def artifact_name(fingerprint: str) -> str:
    """The run artifact that records the snapshot of a dataset version."""
    return f"{PREFIX}{fingerprint}.json"


def manifest_sha(con: duckdb.DuckDBPyConnection, fingerprint: str) -> str | None:
    """The manifest of the snapshot of this content, if any run recorded one."""
    row = con.execute("SELECT sha256 FROM artifacts WHERE path = ? ORDER BY created_at LIMIT 1",
                      [artifact_name(fingerprint)]).fetchone()
    return str(row[0]) if row else None


def snapshotted(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """Fingerprint -> manifest sha256 of every snapshot the catalog knows."""
    rows = con.execute("SELECT path, min(sha256) FROM artifacts WHERE starts_with(path, ?) GROUP BY path",
                       [PREFIX]).fetchall()
    return {path[len(PREFIX):-len(".json")]: sha for path, sha in rows}


def read_manifest(store: Store, sha: str) -> dict[str, Any]:
    """A snapshot's manifest, after checking its hash."""
    return json.loads(store.read_verified(sha, f"snapshot manifest {sha[:12]}"))


def children(store: Store, manifests: Iterable[str]) -> set[str]:
    """The content addresses of every file the given manifests list (missing manifests skipped)."""
    found: set[str] = set()
    for sha in manifests:
        try:
            found.update(f["sha256"] for f in read_manifest(store, sha)["files"])
        except (NotFoundError, TamperedArtifactError, ValueError, KeyError):
            continue
    return found


def forget(store: Store, removed: set[str]) -> None:
    """Drop the cache entries of snapshots whose manifest was removed (by `gc`)."""
    folder = store.root / "cache" / "snapshots"
    for entry in os.scandir(folder) if folder.is_dir() else []:
        try:
            if Path(entry.path).read_text().strip() in removed:
                os.unlink(entry.path)
        except (OSError, UnicodeDecodeError):
            continue
