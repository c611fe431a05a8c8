"""Where a team store keeps its content-addressed files: an S3 bucket or a shared folder.

Objects are named `artifacts/sha256/<2 hex>/<62 hex>` under the data location (`NBMLOPS_DATA`),
as in a local store's folder, so the same digest names the same bytes everywhere. Uploads are
streamed from a local file (multipart for large ones); downloads are streamed into a temporary file
beside the target and renamed once complete. Hashes are checked by the caller (the store), which
keeps what it downloaded as its local read cache.

S3 goes through obstore (the Rust object_store crate), chosen by measured throughput: 256 MB to and
from a local S3 server (moto), obstore 116 MB/s up and 496 MB/s down, s3fs 62 and 214
(benchmarks/bench_s3_clients.py); credentials and the endpoint come from
the standard AWS variables only (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`,
`AWS_REGION`/`AWS_DEFAULT_REGION`, `AWS_ENDPOINT_URL` for MinIO and other S3-compatible stores).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

from nbmlops.errors import StoreError

PREFIX = "artifacts/sha256"
MARKER = "nbmlops-team-store"  # written by `nbmlops init`: proves the location takes writes
MARKER_TEXT = "This folder holds an nbmlops team store's files (see its docs/team.md).\n"


def object_name(sha256: str) -> str:
    """The name of the object holding the content with this digest, under the data location."""
    return f"{PREFIX}/{sha256[:2]}/{sha256[2:]}"


class Blobs(Protocol):
    """A place content-addressed files are shared through."""

    @property
    def location(self) -> str:
        """Where: s3://BUCKET/PREFIX or a folder path."""
        ...

    def exists(self, sha256: str) -> bool:
        """Whether the content with this digest is there."""
        ...

    def upload(self, sha256: str, source: Path) -> None:
        """Put the file `source` there under its digest (whole or not at all)."""
        ...

    def download(self, sha256: str, target: Path) -> bool:
        """Write the content into `target` (whole or not at all); False if it is not there."""
        ...

    def check(self) -> None:
        """Write and read back a small marker object: a one-line StoreError when that fails (no
        bucket, no permission, a wrong endpoint)."""
        ...


@dataclass(frozen=True)
class FolderBlobs:
    """A folder every machine of the team mounts (NFS, SMB, a cluster filesystem)."""

    location: str

    @property
    def root(self) -> Path:
        return Path(self.location)

    def exists(self, sha256: str) -> bool:
        return (self.root / object_name(sha256)).is_file()

    def upload(self, sha256: str, source: Path) -> None:
        target = self.root / object_name(sha256)
        if target.is_file():
            return
        target.parent.mkdir(parents=True, exist_ok=True)
        _copy_into(source, target)

    def download(self, sha256: str, target: Path) -> bool:
        source = self.root / object_name(sha256)
        if not source.is_file():
            return False
        _copy_into(source, target)
        return True

    def check(self) -> None:
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            (self.root / MARKER).write_text(MARKER_TEXT)
        except OSError as exc:
            raise StoreError(f"cannot write to the data folder {self.location} ({exc.strerror or exc}): "
                             "create it on a filesystem every machine mounts, writable by the team") from exc


def _copy_into(source: Path, target: Path) -> None:
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".incoming-")
    try:
        with os.fdopen(fd, "wb") as out, open(source, "rb") as src:
            shutil.copyfileobj(src, out, 8 << 20)
        os.chmod(tmp, 0o444)
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


class S3Blobs:
    """An S3 bucket (or an S3-compatible one: MinIO, moto) through obstore."""

    def __init__(self, location: str) -> None:
        self.location = location
        parts = urlsplit(location)
        if not parts.netloc:
            raise StoreError(f"data location {location} names no bucket: give s3://BUCKET/PREFIX")
        self.bucket = parts.netloc
        self.prefix = parts.path.strip("/")
        self._store: Any = None

    def client(self) -> Any:
        if self._store is None:
            try:
                from obstore.store import S3Store
            except ImportError as exc:
                raise StoreError("a team store's data on S3 needs obstore: pip install 'nbmlops[team]'") from exc
            config: Any = s3_config()
            wait = request_timeout()
            self._store = S3Store(self.bucket, prefix=self.prefix or None, config=config,
                                  client_options={"allow_http": True, "connect_timeout": f"{min(wait, 10):g}s",
                                                  "timeout": f"{wait:g}s"},
                                  retry_config={"max_retries": 2, "retry_timeout": _seconds(wait)})
        return self._store

    def exists(self, sha256: str) -> bool:
        import obstore

        try:
            obstore.head(self.client(), object_name(sha256))
        except FileNotFoundError:
            return False
        return True

    def upload(self, sha256: str, source: Path) -> None:
        if self.exists(sha256):
            return
        put_from(self.client(), object_name(sha256), source)

    def check(self) -> None:
        import obstore

        try:
            obstore.put(self.client(), MARKER, MARKER_TEXT.encode())
            obstore.head(self.client(), MARKER)
        except Exception as exc:  # obstore's errors are its own classes: said in one line
            detail = " ".join(str(exc).split())
            reason = next((word for word in ("NoSuchBucket", "AccessDenied", "InvalidAccessKeyId",
                                             "SignatureDoesNotMatch", "Connection refused", "dns error")
                           if word in detail), detail[:160])
            raise StoreError(f"cannot write to {self.location} ({reason}): create the bucket, or check the AWS "
                             "variables (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_ENDPOINT_URL)") from exc

    def download(self, sha256: str, target: Path) -> bool:
        try:
            get_into(self.client(), object_name(sha256), target, mode=0o444)
        except FileNotFoundError:
            return False
        return True


def put_from(client: Any, key: str, source: Path) -> None:
    """Upload the file `source` as `key` of an obstore store, streamed (multipart when large)."""
    import obstore

    with open(source, "rb") as f:
        obstore.put(client, key, f, chunk_size=8 << 20, max_concurrency=8)


def get_into(client: Any, key: str, target: Path, *, mode: int | None = None) -> None:
    """Download `key` of an obstore store into `target`, streamed into a temp file beside it and
    renamed once complete (so `target` is whole or absent); FileNotFoundError when there is no such key."""
    import obstore

    result = obstore.get(client, key)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".incoming-")
    try:
        with os.fdopen(fd, "wb") as out:
            for chunk in result.stream(min_chunk_size=8 << 20):
                out.write(chunk)
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def trim_folder(folder: Path, limit: float, *, keep: Path, spare: set[str] | None = None) -> None:
    """Remove the least recently used files under `folder` (up to three levels down) until they take at
    most `limit` bytes; never `keep`, nor a file whose folder and name spell a digest in `spare`, nor a
    file being written (a name starting with a dot)."""
    files = []
    for entry in _files_under(folder, 3):
        if not entry.name.startswith("."):
            with suppress(FileNotFoundError):
                st = entry.stat()
                files.append((st.st_atime, st.st_size, Path(entry.path)))
    total = sum(size for _, size, _ in files)
    for _, size, path in sorted(files):
        if total <= limit:
            return
        if path == keep or (spare and path.parent.name + path.name in spare):
            continue
        with suppress(OSError):
            path.unlink()
            total -= size


def _files_under(folder: Path, depth: int) -> list[os.DirEntry[str]]:
    try:
        entries = list(os.scandir(folder))
    except (FileNotFoundError, NotADirectoryError):
        return []
    found = []
    for entry in entries:
        if entry.is_dir(follow_symlinks=False):
            if depth > 1:
                found += _files_under(Path(entry.path), depth - 1)
        elif entry.is_file(follow_symlinks=False):
            found.append(entry)
    return found


def one_line(exc: BaseException) -> str:
    """An S3 client's error (obstore's span lines) as one line of at most 200 characters."""
    return " ".join(str(exc).split())[:200] or type(exc).__name__


TIMEOUT_ENV = "NBMLOPS_S3_TIMEOUT"


def request_timeout() -> float:
    """Seconds an S3 request may take before it counts as failed (`NBMLOPS_S3_TIMEOUT`, default 60:
    one 8 MB part of a large upload on a slow link); a failed upload is retried at the next ship."""
    try:
        return max(1.0, float(os.environ.get(TIMEOUT_ENV, "60")))
    except ValueError:
        raise StoreError(f"{TIMEOUT_ENV} must be a number of seconds") from None


def _seconds(value: float) -> Any:
    import datetime as dt

    return dt.timedelta(seconds=value)


def s3_config() -> dict[str, Any]:
    """obstore's S3 settings from the standard AWS variables (only those that are set)."""
    env = os.environ
    config: dict[str, Any] = {}
    for key, name in (("access_key_id", "AWS_ACCESS_KEY_ID"), ("secret_access_key", "AWS_SECRET_ACCESS_KEY"),
                      ("session_token", "AWS_SESSION_TOKEN")):
        if env.get(name):
            config[key] = env[name]
    region = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION")
    if region:
        config["region"] = region
    endpoint = env.get("AWS_ENDPOINT_URL_S3") or env.get("AWS_ENDPOINT_URL")
    if endpoint:
        config["endpoint"] = endpoint
        config["virtual_hosted_style_request"] = False  # MinIO and other local servers name buckets in the path
    return config


def blobs_at(location: str) -> Blobs:
    """The blob store for a data location: `s3://BUCKET/PREFIX` or a folder path."""
    if location.startswith("s3://"):
        return S3Blobs(location)
    if "://" in location:
        raise StoreError(f"data location {location} is neither s3://BUCKET/PREFIX nor a folder path")
    return FolderBlobs(str(Path(location).expanduser().resolve()))
