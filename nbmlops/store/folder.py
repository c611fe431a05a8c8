"""A store folder: where it is, what it holds, and reading it up to date.

Layout of a store (`.nbmlops/`):
    store.duckdb        the catalog (built from journals; query it read-only with plain DuckDB)
    journals/           one append-only journal per writing process; done/ holds folded ones
    artifacts/sha256/   content-addressed files (dataset snapshots too: see snapshots.py)
    cache/              derived data, safe to delete: file digests, the snapshot index
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO, TypeVar

import duckdb

from nbmlops.errors import CorruptStoreError, NotFoundError, StoreError, TamperedArtifactError
from nbmlops.store.backend import CatalogBackend
from nbmlops.store.catalog import LocalCatalog
from nbmlops.store.fold import IngestReport, ingest
from nbmlops.store.readcache import cache_for

STORE_DIRNAME = ".nbmlops"
ENV_VAR = "NBMLOPS_STORE"
CATALOG_NAME = "store.duckdb"
T = TypeVar("T")


def file_sha256(path: Path) -> str:
    """The SHA-256 of a file's bytes, read in 1 MB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def missing_error(label: str, path: Path) -> NotFoundError:
    """The error for a stored file that is gone (removed by hand or by `gc`)."""
    return NotFoundError(f"{label} is missing from the store ({path})")


def tampered_error(label: str, path: Path) -> TamperedArtifactError:
    """The error for a stored file whose bytes no longer hash to its name."""
    return TamperedArtifactError(f"{label} ({path}) does not match the hash it was stored under: it was changed "
                                 "after it was logged, so it was not used")


# `scheme://...` (or `scheme:/...` once a Path collapsed the double slash): a URL, not a folder.
_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:/")


def check_location(location: str | os.PathLike[str]) -> None:
    """Refuse a store location that is a URL of a kind nbmlops does not open (a URL taken as a path
    would quietly become a local folder named after its scheme)."""
    text = os.fspath(location)
    if isinstance(text, str) and _URL.match(text):
        scheme, rest = text.split(":", 1)
        url = text if rest.startswith("//") else f"{scheme}:/{rest}"  # as typed, before a Path collapsed '//'
        raise StoreError(f"store {url} is a URL nbmlops does not open: give a store folder path or a team "
                         "store's postgresql://USER@HOST:PORT/DATABASE (NBMLOPS_STORE, --store, set_store)")


def open_store(location: str | os.PathLike[str]) -> Store:
    """The store at `location`: a team store for a `postgresql://` URL, else a store folder."""
    text = os.fspath(location)
    if isinstance(text, str) and "://" in text:
        from nbmlops.store.team import TeamStore, is_team_location

        if is_team_location(text):
            return TeamStore(text)
    return Store(Path(location))


def find_store(start: Path | None = None) -> Store:
    """The store the location rule names (see `find_store_path`): a team store's URL included."""
    env = os.environ.get(ENV_VAR)
    return open_store(env) if env and "://" in env else Store(find_store_path(start))


def find_store_path(start: Path | None = None) -> Path:
    """`NBMLOPS_STORE`, else the nearest `.nbmlops/` walking up from `start`, else `~/.nbmlops`."""
    env = os.environ.get(ENV_VAR)
    if env:
        check_location(env)
        return Path(env).expanduser().resolve()
    return nearest_store_folder(start)


def nearest_store_folder(start: Path | None = None) -> Path:
    """The nearest `.nbmlops/` walking up from `start` (default: here), else `~/.nbmlops`."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        candidate = folder / STORE_DIRNAME
        if candidate.is_dir():
            return candidate
    return Path.home() / STORE_DIRNAME


class Store:
    """One store folder; cheap to create, touches the disk only when used."""

    def __init__(self, root: Path | str) -> None:
        check_location(root)
        self.root = Path(root).expanduser().resolve()
        self.catalog_path = self.root / CATALOG_NAME
        self.journal_dir = self.root / "journals"
        self.artifact_dir = self.root / "artifacts" / "sha256"
        self.catalog: CatalogBackend = LocalCatalog(self.catalog_path)

    def __repr__(self) -> str:
        return f"Store({str(self.root)!r})"

    shared = False  # whether processes on other machines reach this store (a team store's do)

    @property
    def location(self) -> str:
        """What names this store to other processes (NBMLOPS_STORE, --store): its folder."""
        return str(self.root)

    def init(self, data: str | None = None) -> str:
        """Create the folder layout and an up-to-date catalog (idempotent); says what it did.
        `data` is a team store's (a store folder keeps its files inside)."""
        if data is not None:
            raise StoreError("a data location is for a team store (postgresql://...): a store folder keeps "
                             "its own files")
        existed = self.catalog_path.is_file()
        if self.root.exists() and not self.root.is_dir():
            raise StoreError(f"{self.root} exists and is not a folder: choose another store path")
        for folder in (self.root, self.journal_dir, self.artifact_dir):
            folder.mkdir(parents=True, exist_ok=True)
        with self.catalog.connect():
            pass
        return "already existed" if existed else "created"

    def ensure_layout(self) -> None:
        """Create the folders a writer needs, without touching the catalog."""
        self.journal_dir.mkdir(parents=True, exist_ok=True)

    @contextmanager
    def reading(self, *, refresh: bool = True) -> Iterator[duckdb.DuckDBPyConnection]:
        """An open catalog that has first folded in every journal (held for milliseconds)."""
        with self._folded(refresh) as (con, _):
            yield con

    @contextmanager
    def _folded(self, refresh: bool = True) -> Iterator[tuple[duckdb.DuckDBPyConnection, IngestReport]]:
        if self.catalog_path.exists() and not self.catalog_path.is_file():
            raise CorruptStoreError(f"{self.catalog_path} is not a file: move it aside")
        self.root.mkdir(parents=True, exist_ok=True)
        with self.catalog.connect() as con:
            yield con, ingest(con, self.journal_dir, self.catalog) if refresh else IngestReport()

    def cached(self, key: Hashable, read: Callable[[duckdb.DuckDBPyConnection], T]) -> T:
        """`read(con)` on an up-to-date catalog, or its earlier answer while nothing in the store changed.

        `key` names the question (with every argument of it). The answer is shared: `read` must
        return something its callers copy before they hand it out.
        """
        cache = cache_for(self.catalog, self.journal_dir)
        hit, value, before = cache.lookup(key)
        if hit:
            return value
        with self._folded() as (con, report):
            # Looked at before the read: a commit during it (a team store's other machines write while
            # we read; nobody can while we hold a local file) then shows as a change, not as this answer.
            catalog = self.catalog.state()
            value = read(con)
        cache.keep(key, value, before, report.open_journals, catalog)
        return value

    def write(self, change: Callable[[duckdb.DuckDBPyConnection], T]) -> T:
        """`change(con)` on the up-to-date catalog, in one transaction (run again by a team store
        when it loses to another host's commit: it must only read and write through `con`)."""
        with self.reading() as con, self.catalog.transaction(con):
            return change(con)

    def at(self, when: dt.datetime) -> Store:
        """The store as it stood at a past time: only a team store keeps its past (DuckLake snapshots)."""
        raise StoreError(f"the store at {self.root} keeps no history to read as of {when}: time travel "
                         "(--as-of, as_of=) needs a team store (postgresql://...)")

    # -- the writer's side: a local store folds when a writer closes (store/autofold.py) -------
    def writer_started(self) -> None:
        """A process opened a journal in this store."""

    def writer_closed(self, path: Path) -> None:
        """A process closed its journal `path`: fold it soon."""
        from nbmlops.store import autofold

        autofold.after_close(self, path)

    def run_ended(self) -> None:
        """A run of this process ended (its events are in the journal)."""

    def refresh(self) -> IngestReport:
        """Fold new journal data into the catalog now."""
        self.root.mkdir(parents=True, exist_ok=True)
        with self.catalog.connect() as con:
            return ingest(con, self.journal_dir, self.catalog)

    def release(self) -> None:
        """Close this process's connection to the catalog now (others may then open it)."""
        self.catalog.release()

    def compact(self) -> tuple[IngestReport, int]:
        """Fold journals, delete the folded ones, and checkpoint the catalog."""
        with self.catalog.connect() as con:
            report = ingest(con, self.journal_dir, self.catalog)
            removed = self.drop_folded_journals()
            self.catalog.checkpoint(con)
        return report, removed

    def drop_folded_journals(self) -> int:
        """Delete the journals folded and retired to `journals/done/`; how many."""
        removed = 0
        done = self.journal_dir / "done"
        if done.is_dir():
            for path in done.iterdir():
                path.unlink()
                removed += 1
        return removed

    # -- artifacts -------------------------------------------------------------------------
    def put_file(self, source: Path) -> tuple[str, int]:
        """Copy a file into content-addressed storage; returns (sha256, size)."""
        digest = hashlib.sha256()
        size = 0
        with open(source, "rb") as f:
            while chunk := f.read(1 << 20):
                digest.update(chunk)
                size += len(chunk)
        sha = digest.hexdigest()

        def copy(out: BinaryIO) -> None:
            with open(source, "rb") as src:
                shutil.copyfileobj(src, out, 1 << 20)

        self._install(sha, copy)
        return sha, size

    def put_bytes(self, data: bytes) -> tuple[str, int]:
        """Store bytes in content-addressed storage; returns (sha256, size)."""
        sha = hashlib.sha256(data).hexdigest()
        self._install(sha, lambda out: out.write(data))
        return sha, len(data)

    def adopt_file(self, path: Path, sha: str) -> tuple[str, int]:
        """Move a file whose sha256 the caller computed (in the artifact folder's filesystem) into place."""
        size = path.stat().st_size
        target = self.local_path(sha)
        if self.touch(sha):
            path.unlink()
            return sha, size
        target.parent.mkdir(parents=True, exist_ok=True)
        os.chmod(path, 0o444)
        os.replace(path, target)
        return sha, size

    def has(self, sha: str) -> bool:
        """Whether the content with this digest is stored."""
        return self.local_path(sha).is_file()

    def touch(self, sha: str) -> bool:
        """Mark stored content as just used (so `gc` leaves it alone); False if it is not stored."""
        try:
            os.utime(self.local_path(sha))
            return True
        except FileNotFoundError:
            return False
        except PermissionError:  # another user's file in a shared store: it exists
            return True

    def _install(self, sha: str, write: Callable[[BinaryIO], object]) -> None:
        # Written under a temporary name and renamed: readers never see half a file. Content that
        # is already stored is touched instead: `gc` never removes content written or reused lately.
        target = self.local_path(sha)
        if self.touch(sha):
            return
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".incoming-")
        try:
            with os.fdopen(fd, "wb") as out:
                write(out)
            os.chmod(tmp, 0o444)
            os.replace(tmp, target)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)

    def read_verified(self, sha256: str, label: str) -> bytes:
        """The bytes stored under `sha256`, after checking they still hash to it."""
        path = self.artifact_path(sha256)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise missing_error(label, path) from None
        if hashlib.sha256(data).hexdigest() != sha256:
            raise tampered_error(label, path)
        return data

    def artifact_path(self, sha256: str) -> Path:
        """Where the content with this hash lives (whether or not it exists); a team store fetches it
        into its read cache first."""
        return self.local_path(sha256)

    def local_path(self, sha256: str) -> Path:
        """Where the content with this hash lives on this machine (whether or not it exists)."""
        if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
            raise NotFoundError(f"{sha256!r} is not an artifact hash")
        return self.artifact_dir / sha256[:2] / sha256[2:]
