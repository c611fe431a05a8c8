"""Giving a re-executed notebook the data its original run used, from the dataset snapshots.

The contract `reproduce` follows, for each file or folder dataset of the original run that has a
snapshot and whose source (the path it was logged from) is now missing or has other content:
- every notebook parameter whose value is that path (as logged, or relative to the notebook's
  folder) is set to a copy restored from the snapshot in a temporary folder; the user's files
  are never touched;
- a source that no parameter names and that no longer exists is restored at its original path for
  the re-execution and removed afterwards (only what was created);
- a source that no parameter names and that changed is left alone, with a warning: make the path a
  notebook parameter so the snapshot can stand in for it.
In-memory datasets (frames, arrays) are read back by the notebook itself with
`nbmlops.load_dataset(name, version)`.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nbmlops.data import snapshots
from nbmlops.data.datasets import datasets
from nbmlops.data.fingerprint import fingerprint
from nbmlops.store import manifests as snapshot_manifests
from nbmlops.store.folder import Store


def used_datasets(store: Store, run_id: str) -> list[dict[str, Any]]:
    """The datasets a run used, one dict per dataset with the columns of `datasets()` as keys."""
    return [{str(k): v for k, v in row.items()} for row in datasets(store, run_id=run_id).to_dict("records")]


@dataclass
class Substitution:
    """Parameters to execute with, what was restored, and where (to clean up)."""

    parameters: dict[str, Any]
    notes: list[str] = field(default_factory=list)
    created: list[Path] = field(default_factory=list)


def _names(value: Any, source: str, base: Path | None) -> bool:
    if not isinstance(value, str) or not value.strip():
        return False
    candidates = [Path(value).expanduser()]
    if base is not None and not candidates[0].is_absolute():
        candidates.append(base / value)
    return any(os.path.abspath(c) == os.path.abspath(source) for c in candidates)


@contextmanager
def substituted(store: Store, used: list[dict[str, Any]], parameters: dict[str, Any],
                notebook_dir: Path | None, folder: Path) -> Iterator[Substitution]:
    """Restore what the original run read and is gone or changed; undo restores at original paths after."""
    result = Substitution(dict(parameters))
    try:
        for i, dataset in enumerate(used):
            _substitute(store, dataset, result, notebook_dir, folder / str(i))
        yield result
    finally:
        for path in reversed(result.created):
            shutil.rmtree(path, ignore_errors=True) if path.is_dir() else path.unlink(missing_ok=True)


def _substitute(store: Store, dataset: dict[str, Any], result: Substitution, notebook_dir: Path | None,
                folder: Path) -> None:
    source, kind = dataset.get("source"), dataset.get("kind")
    if not source or kind not in ("file", "directory"):
        return
    label = f"dataset {dataset['name']!r} ({source})"
    exists = os.path.exists(source)
    if exists and fingerprint(source, profile=False).fingerprint == dataset["fingerprint"]:
        return
    with store.reading(refresh=False) as con:
        sha = snapshot_manifests.manifest_sha(con, dataset["fingerprint"])
    if sha is None:
        return  # reproduce's own warnings say it is gone or changed
    manifest = snapshot_manifests.read_manifest(store, sha)
    named = [k for k, v in result.parameters.items() if _names(v, source, notebook_dir)]
    if named:
        restored = snapshots.restore_files(store, manifest, folder, label)
        for key in named:
            result.parameters[key] = str(restored)
        result.notes.append(f"{label}: parameter {', '.join(named)} pointed at a copy restored from its snapshot")
    elif not exists:
        target = Path(source)
        top = next(p for p in [target, *target.parents] if p.parent.exists())  # the highest folder created
        snapshots.restore_files(store, manifest, target.parent if kind == "file" else target, label)
        result.created.append(top)
        result.notes.append(f"{label}: restored from its snapshot at its original path for the re-execution "
                            "(removed afterwards)")
    else:
        result.notes.append(f"{label} changed and no notebook parameter names it, so the snapshot could not "
                            "stand in for it: make the path a parameter")
