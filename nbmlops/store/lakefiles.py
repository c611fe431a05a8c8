"""The team store's table files as DuckDB reads and writes them: a copy on this machine of each
Parquet file DuckLake keeps on S3.

DuckLake names every data and delete file once (`main/runs/ducklake-<uuid>.parquet`) and never
changes it, so a copy made once stays right forever. DuckDB's own S3 reader asks the bucket again
in every new process (a range request per footer and column chunk: the first search over 100,000
runs spent ~2 s on them). Here DuckLake is attached with its data path overridden to
`nblake://lake/` (session-only: the catalog keeps its real location for every other machine) and
this filesystem serves those paths:
- a read opens the copy in this machine's spool (`lake/`), fetching the whole object first when
  there is none (one GET, into a temp file then renamed: a copy is complete or absent);
- a write goes to a temp file that is uploaded when DuckDB closes it, and only then kept as the
  copy: a file the catalog will name is in the bucket before the commit that names it;
- a removal (DuckLake's cleanup of files no snapshot reads) removes the object and the copy.
A shared-folder data location is served in place (no copy). The copies are bounded like the read
cache of artifacts (`NBMLOPS_CACHE_GB`): the least recently used go first, and one gone is fetched
again when read.
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile
import threading
import time
from contextlib import suppress
from pathlib import Path, PurePosixPath
from typing import Any, BinaryIO

from fsspec.spec import AbstractFileSystem

from nbmlops.errors import StoreError
from nbmlops.store import blobs as blobstore

PROTOCOL = "nblake"
ROOT = f"{PROTOCOL}://lake/"  # the data path DuckLake is told in this process
TRIM_SECONDS = 5.0


class _Upload:
    """A file DuckDB writes: a temp file in the copies' folder, uploaded on close, then kept."""

    def __init__(self, files: LakeFiles, key: str) -> None:
        self.files, self.key = files, key
        folder = files.copy_path(key).parent
        folder.mkdir(parents=True, exist_ok=True)
        fd, self.tmp = tempfile.mkstemp(dir=folder, prefix=".writing-")
        self.file: BinaryIO = os.fdopen(fd, "wb")
        self.closed = False

    def write(self, data: bytes) -> int:
        return self.file.write(data)

    def tell(self) -> int:
        return self.file.tell()

    def seek(self, offset: int, whence: int = 0) -> int:
        return self.file.seek(offset, whence)

    def flush(self) -> None:
        self.file.flush()

    def writable(self) -> bool:
        return True

    def readable(self) -> bool:
        return False

    def seekable(self) -> bool:
        return True

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self.file.close()
        try:
            self.files.put(self.key, Path(self.tmp))
        finally:
            if os.path.exists(self.tmp):
                os.unlink(self.tmp)

    def __enter__(self) -> _Upload:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class LakeFiles(AbstractFileSystem):
    """`nblake://lake/<key>` served from `folder` (see the module's docstring); `location` is the data
    path the catalog records (`s3://BUCKET/PREFIX/lake/` or a folder), learnt after ATTACH."""

    protocol = PROTOCOL
    url = ROOT
    cachable = False  # one per connection: never shared through fsspec's instance cache

    def __init__(self, folder: Path, *, cache_bytes: float | None = None) -> None:
        super().__init__()
        self.folder = folder
        self.location: str | None = None
        self.cache_bytes = cache_bytes
        self._s3: Any = None
        self._trimmed = -TRIM_SECONDS
        self._fetching: dict[str, threading.Lock] = {}
        self._lock = threading.Lock()

    def serve(self, location: str) -> None:
        """Serve the data path `location` (the catalog's `data_path`)."""
        self.location = location
        if location.startswith("s3://"):
            blobs = blobstore.S3Blobs(location.rstrip("/"))
            self._s3 = blobs.client()
        elif "://" in location:
            raise StoreError(f"the team store keeps its tables at {location}, which nbmlops cannot read "
                             "(it reads s3:// and folders)")

    # -- where a key is ----------------------------------------------------------------------
    def key(self, path: str) -> str:
        """The key under the data path that `path` (`nblake://lake/<key>`, or fsspec's `lake/<key>`)
        names; one that leaves the data path is refused."""
        text = str(path).removeprefix(f"{PROTOCOL}://")
        parts = PurePosixPath(text).parts
        if len(parts) < 2 or parts[0] != "lake" or any(p in ("..", ".") for p in parts):
            raise PermissionError(f"{path} is not a table file of the team store")
        return "/".join(parts[1:])

    def copy_path(self, key: str) -> Path:
        """Where this machine keeps the file of `key` (for a folder location: the file itself)."""
        if self._s3 is None:
            return Path(self._served()) / key
        return self.folder / key

    def _served(self) -> str:
        if self.location is None:
            raise StoreError("the team store's data location is not known yet")
        return self.location

    # -- the bucket --------------------------------------------------------------------------
    def local(self, key: str) -> Path:
        """A complete copy of `key` on this machine (fetched now if there is none)."""
        path = self.copy_path(key)
        if self._s3 is None or path.is_file():
            return path
        with self._lock:
            lock = self._fetching.setdefault(key, threading.Lock())
        with lock:
            if not path.is_file():
                self._fetch(key, path)
        with self._lock:
            self._fetching.pop(key, None)
        return path

    def _fetch(self, key: str, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            blobstore.get_into(self._s3, key, path)
        except FileNotFoundError:
            raise FileNotFoundError(f"the team store's table file {key} is not in {self._served()}") from None
        except Exception as exc:  # obstore's errors are its own classes: said in one line
            raise OSError(f"cannot read the team store's table file {key} from {self._served()} "
                          f"({blobstore.one_line(exc)}): check the bucket and the AWS settings") from exc
        if self.cache_bytes is not None:
            blobstore.trim_folder(self.folder, self.cache_bytes, keep=path)

    def put(self, key: str, source: Path) -> None:
        """Upload `source` as `key`, then keep it as this machine's copy."""
        target = self.copy_path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        if self._s3 is not None:
            try:
                blobstore.put_from(self._s3, key, source)
            except Exception as exc:  # obstore's errors are its own classes: said in one line
                raise OSError(f"cannot write the team store's table file {key} to {self._served()} "
                              f"({blobstore.one_line(exc)}): it is written again at the next ship") from exc
        os.replace(source, target)
        now = time.monotonic()
        if self._s3 is not None and self.cache_bytes is not None and now - self._trimmed >= TRIM_SECONDS:
            # Writers keep what they write: looked at most every TRIM_SECONDS (a look lists every copy).
            self._trimmed = now
            blobstore.trim_folder(self.folder, self.cache_bytes, keep=target)

    # -- fsspec's interface, as DuckDB uses it -------------------------------------------------
    def _open(self, path: str, mode: str = "rb", **kwargs: Any) -> Any:
        key = self.key(path)
        if "r" in mode and "+" not in mode:
            try:
                return open(self.local(key), "rb")  # noqa: SIM115 - DuckDB closes it
            except FileNotFoundError:  # trimmed by another process between the look and the open
                return open(self.local(key), "rb")  # noqa: SIM115
        if mode.startswith(("w", "x")):
            return _Upload(self, key)
        raise PermissionError(f"{path}: the team store's table files are written once, never changed")

    def info(self, path: str, **kwargs: Any) -> dict[str, Any]:
        if self.isdir(path):
            return {"name": path, "size": 0, "type": "directory"}
        key = self.key(path)
        local = self.local(key)
        try:
            st = local.stat()
        except FileNotFoundError:
            raise FileNotFoundError(path) from None
        return {"name": path, "size": st.st_size, "type": "file", "mtime": st.st_mtime}

    def isdir(self, path: str) -> bool:
        """Folders (a schema's, a table's: no suffix) always exist, as on S3: DuckDB asks before it writes
        a file into one, and a look for them in the bucket would be a request each time."""
        name = str(path).rstrip("/").rsplit("/", 1)[-1]
        return "." not in name

    def modified(self, path: str) -> dt.datetime:
        return dt.datetime.fromtimestamp(self.info(path)["mtime"], tz=dt.timezone.utc)

    def ls(self, path: str, detail: bool = True, **kwargs: Any) -> list[Any]:
        found = self.info(path)
        return [found] if detail else [found["name"]]

    def glob(self, path: str, maxdepth: int | None = None, **kwargs: Any) -> list[str]:
        if any(c in str(path) for c in "*?["):
            raise PermissionError(f"{path}: the team store's table files are named, never matched")
        return [str(path)] if self.exists(path) else []

    def exists(self, path: str, **kwargs: Any) -> bool:
        try:
            self.info(path)
        except FileNotFoundError:
            return False
        return True

    def mkdir(self, path: str, create_parents: bool = True, **kwargs: Any) -> None:
        return None  # folders are made as files are kept

    def makedirs(self, path: str, exist_ok: bool = False) -> None:
        return None

    def rm_file(self, path: str) -> None:
        key = self.key(path)
        if self._s3 is not None:
            import obstore

            try:
                obstore.delete(self._s3, key)
            except FileNotFoundError:
                pass
            except Exception as exc:  # obstore's errors are its own classes: said in one line
                raise OSError(f"cannot remove the team store's table file {key} from {self._served()} "
                              f"({blobstore.one_line(exc)})") from exc
        with suppress(FileNotFoundError):
            self.copy_path(key).unlink()

    def rm(self, path: str | list[str], recursive: bool = False, maxdepth: int | None = None) -> None:
        for one in [path] if isinstance(path, str) else path:
            self.rm_file(one)

