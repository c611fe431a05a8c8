"""Datasets as runs use them: a content fingerprint, schema and profile per version, and lineage.

A dataset version is a (name, fingerprint) pair: logging the same content under the same name
again, from any run or process, refers to the same version.
"""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path
from typing import Any

import pandas as pd

from nbmlops.data import snapshots
from nbmlops.data.fingerprint import DatasetInfo, fingerprint
from nbmlops.drift.reference import TRAINING_DATA
from nbmlops.errors import InvalidInputError, NotFoundError
from nbmlops.store import datasets as dataset_catalog
from nbmlops.store import manifests as snapshot_manifests
from nbmlops.store.folder import Store
from nbmlops.store.runs import resolve_run_id
from nbmlops.store.settings import setting
from nbmlops.tracking import validation
from nbmlops.tracking.tracker import Tracker

DEFAULT_ROLES = ("train", "validation", "test", "reference", "production")


def log_dataset(tracker: Tracker, obj: object, name: str | None = None, role: str = "train",
                snapshot: bool | None = None) -> DatasetInfo:
    """Fingerprint `obj` and record it as used by the active run in `role`; snapshot its data too.

    `snapshot=None` snapshots training data when the store's `snapshot-train` setting is on.
    """
    if name is None:
        name = Path(obj).name if isinstance(obj, (str, os.PathLike)) else "dataset"
    validation.key("dataset", name)
    validation.key("dataset role", role)
    cache = tracker.store.root / "cache" / "file-digests.sqlite"
    cache.parent.mkdir(parents=True, exist_ok=True)
    info = fingerprint(obj, cache_path=cache)
    if snapshot or (snapshot is None and role == "train" and setting(tracker.store, "snapshot-train")):
        try:
            stored = snapshots.snapshot(tracker.store, obj, info)
            tracker.emit("artifact", {"path": snapshot_manifests.artifact_name(info.fingerprint),
                                      "sha256": stored.manifest_sha256,
                                      "size": tracker.store.artifact_path(stored.manifest_sha256).stat().st_size})
        except InvalidInputError as exc:
            if snapshot:  # asked for: the caller must know
                raise
            # the store setting asked for it: the run goes on with the fingerprint and profile
            warnings.warn(f"dataset {name!r} was not snapshotted: {exc}", stacklevel=3)
    run_id = tracker.emit("dataset", {
        "name": name, "role": role, "fingerprint": info.fingerprint, "kind": info.kind,
        "rows": info.rows, "columns": info.columns, "size_bytes": info.size_bytes,
        "files": info.files, "schema": info.schema, "profile": info.profile, "source": info.source,
    })
    if role == "train":  # so that log_model can keep a reference profile for monitoring
        TRAINING_DATA.remember(run_id, obj)
    return info


def datasets(store: Store, name: str | None = None, run_id: str | None = None) -> pd.DataFrame:
    """Dataset versions (numbered per name in order of first use) with the runs that used them."""
    if name is not None and not isinstance(name, str):
        raise InvalidInputError("dataset name must be a string")
    with store.reading() as con:
        rid = resolve_run_id(con, run_id) if run_id is not None else None
        df = dataset_catalog.dataset_versions(con, name, rid)
    df["created_at"] = pd.to_datetime(df["created_at"]).dt.tz_localize("UTC")
    return df


def dataset_version(store: Store, name: str, version: int | str | None = None) -> pd.Series:
    """The `datasets()` row of one version: a number, a fingerprint prefix, or None for the latest."""
    table = datasets(store, name)
    if table.empty:
        raise InvalidInputError(f"no dataset named {name!r}: see nbmlops.datasets() for the names")
    if version is None:
        row = table.iloc[-1]
    elif isinstance(version, int):
        match = table[table["version"] == version]
        if match.empty:
            raise InvalidInputError(f"dataset {name!r} has versions 1 to {len(table)}, not {version}")
        row = match.iloc[0]
    else:
        match = table[table["fingerprint"].str.startswith(str(version))]
        if len(match) != 1:
            raise InvalidInputError(f"no single version of {name!r} has a fingerprint starting {version!r}")
        row = match.iloc[0]
    return row


def dataset_profile(store: Store, name: str, version: int | str | None = None) -> dict[str, Any]:
    """Schema and per-column profile of a dataset version (default: the latest)."""
    row = dataset_version(store, name, version)
    with store.reading(refresh=False) as con:
        found = dataset_catalog.schema_and_profile(con, name, row["fingerprint"])
    if found is None:  # the version was read a moment ago: only a store changed meanwhile lacks it
        raise NotFoundError(f"dataset {name!r} version {int(row['version'])} is no longer in this store")
    return {"name": name, "version": int(row["version"]), "fingerprint": row["fingerprint"],
            "schema": json.loads(found[0] or "{}"), "profile": json.loads(found[1] or "{}")}


def parse_version(text: str) -> int | str:
    """`3` as version 3; anything else (e.g. `9f2c01`) as a fingerprint prefix."""
    return int(text) if text.isdigit() and len(text) < 8 else text


def load_dataset(store: Store, name: str, version: int | str | None = None,
                 path: str | os.PathLike[str] | None = None) -> Any:
    """The snapshot of a dataset version: its frame or array, or its files restored into `path`."""
    row = dataset_version(store, name, version)
    label = f"dataset {name!r} version {int(row['version'])}"
    with store.reading(refresh=False) as con:
        sha = snapshot_manifests.manifest_sha(con, row["fingerprint"])
    if sha is None:
        raise NotFoundError(f"{label} has no snapshot, only its fingerprint and profile were kept: log it "
                            "with snapshot=True (or %%track --snapshot, or `nbmlops config snapshot-train "
                            "on`) to keep the data next time")
    return snapshots.load(store, snapshot_manifests.read_manifest(store, sha), label, path)
