"""The team store: one catalog on PostgreSQL, data on S3 or a shared folder, joined by DuckLake.

Every process of a team (notebooks on several JupyterHub servers, CI runners, scheduled jobs, Dask
workers) reads and writes one store made of services the team already runs; there is no server of
ours. A store named `postgresql://USER@HOST:PORT/DB` is a `TeamStore`:
- The catalog is a DuckLake whose metadata lives in that PostgreSQL database and whose table data
  (Parquet) lives under the data location (`NBMLOPS_DATA`: `s3://BUCKET/PREFIX` or a shared
  folder), given once to `nbmlops init`, which creates the tables; DuckLake remembers where.
  Every query stays the DuckDB SQL of the local store (the few statements DuckLake spells its own
  way are `DuckLake` in store/dialect.py).
- Writers never wait on the network: each process appends to its own journal in a spool folder on
  this machine (`~/.cache/nbmlops/team/...`, or `NBMLOPS_SPOOL`), exactly as for a local store. The
  journals are shipped into the catalog by the same fold the local store uses, which records per
  journal how many bytes it has taken, in the same transaction as the rows: the journal's name and
  that offset are the idempotency key, so a retry after a lost connection never duplicates. The
  writer's tracker ships about once a second and at the end (store/shipping.py); a process that
  died before shipping leaves its journal in the spool, shipped by the next nbmlops process on that
  machine or by `nbmlops sync`.
- Files (artifacts, models, snapshots) are content-addressed objects under the data location
  (store/blobs.py), uploaded before the catalog rows naming them are shipped, and downloaded into
  the spool's `artifacts/` (the local read cache) when first read, hash-checked.
- Credentials come from the environment only: libpq's variables and `~/.pgpass` for PostgreSQL,
  the standard AWS variables for S3. A password in the store URL is refused, so it is never stored,
  printed or logged.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import importlib.util
import os
import random
import re
import tempfile
import threading
import time
from collections.abc import Callable, Hashable, Iterator
from contextlib import AbstractContextManager, contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import parse_qsl, unquote, urlsplit

import duckdb

from nbmlops.errors import CorruptStoreError, NotFoundError, StoreError, StoreVersionError
from nbmlops.store import blobs as blobstore
from nbmlops.store import settings as team_settings
from nbmlops.store.catalog import one_snapshot, transaction
from nbmlops.store.dialect import DUCKLAKE, Dialect, bind
from nbmlops.store.fold import IngestReport, ingest
from nbmlops.store.folder import Store, file_sha256, tampered_error
from nbmlops.store.journal import list_journals, writer_alive
from nbmlops.store.migrations import MIGRATIONS, latest_version
from nbmlops.store.shipping import Shipper

if TYPE_CHECKING:
    from nbmlops.store.lakefiles import LakeFiles  # imports fsspec: only where a team store is opened

SCHEMES = ("postgresql", "postgres")
DATA_ENV = "NBMLOPS_DATA"
SPOOL_ENV = "NBMLOPS_SPOOL"
CACHE_ENV = "NBMLOPS_CACHE_GB"
LAKE = "nb_team"  # the name the DuckLake is attached under in every connection
INLINE_ROWS = 1000  # a commit of fewer rows per table is kept in PostgreSQL, not a Parquet file of its own
CONFLICT_RETRIES = 30
DEAD_ENV = "NBMLOPS_DEAD_AFTER"
# Running runs whose journal's writer was last heard of more than ? seconds ago (it ships a sign of
# life every dead_after()/4 seconds while it lives).
_KILL_SILENT = """
    UPDATE runs SET status = 'KILLED', end_time = j.last_event,
                    error = 'its process stopped reporting (machine down or cut off)'
    FROM journals j
    WHERE runs.journal = j.name AND runs.status = 'RUNNING' AND NOT j.closed
      AND j.last_event < now()::TIMESTAMP - to_seconds(?::DOUBLE)"""
# Asked first, of the small journals table alone: mostly there is no silent writer, and the UPDATE's
# read of `runs` is then saved (a reader's first call on a new machine fetches those files).
_SILENT_JOURNALS = """
    SELECT count(*) FROM journals
    WHERE NOT closed AND last_event < now()::TIMESTAMP - to_seconds(?::DOUBLE)"""
# DuckLake's own table of snapshots, in the metadata catalog it attaches beside ours.
_LATEST_SNAPSHOT = f"SELECT max(snapshot_id) FROM __ducklake_metadata_{LAKE}.ducklake_snapshot"  # noqa: S608
# Where the catalog keeps the table files (what NBMLOPS_DATA gave `nbmlops init`, plus `lake/`).
_DATA_PATH = f"SELECT value FROM __ducklake_metadata_{LAKE}.ducklake_metadata WHERE key = 'data_path'"  # noqa: S608
# Tidying: each ship commits a small Parquet file per table it touches, and an update (a run that
# ends) a delete file beside an older one. A reader on a fresh machine fetches every one of them
# from the bucket, so a table with TIDY_FILES of them is tidied: files with deletes rewritten, small
# files merged. Files of TIDY_FILE_BYTES and more are left as they are (rewriting them again and
# again would cost more than it saves).
TIDY_FILES = 24
TIDY_FILE_BYTES = 8 << 20
TIDY_CHECK_SECONDS = 5.0
SETTINGS_SECONDS = 10.0  # how often a machine's copy of the team's settings is refreshed, at most
_UNTIDY = f"""
    SELECT t.table_name,
           (SELECT count(*) FROM __ducklake_metadata_{LAKE}.ducklake_data_file f
             WHERE f.table_id = t.table_id AND f.end_snapshot IS NULL AND f.file_size_bytes < ?) AS small,
           (SELECT count(*) FROM __ducklake_metadata_{LAKE}.ducklake_delete_file d
             WHERE d.table_id = t.table_id AND d.end_snapshot IS NULL) AS deletes
    FROM __ducklake_metadata_{LAKE}.ducklake_table t
    WHERE t.end_snapshot IS NULL"""  # noqa: S608 - our own constant names
T = TypeVar("T")

# libpq keywords a store URL may carry in its query (anything else is refused: never passed on blind).
_QUERY_KEYWORDS = {"sslmode", "sslrootcert", "sslcert", "sslkey", "connect_timeout", "application_name",
                   "target_session_attrs", "options", "passfile", "service"}


def is_team_location(text: str) -> bool:
    """Whether a store location names a team store (a PostgreSQL URL)."""
    return text.split("://", 1)[0].lower() in SCHEMES and "://" in text


@dataclass(frozen=True)
class TeamLocation:
    """A team store's PostgreSQL database, as named by its URL (never with a password)."""

    url: str  # as shown to users: postgresql://USER@HOST:PORT/DB
    conninfo: str  # libpq's keyword form, what DuckDB's postgres extension is given
    dbname: str

    @property
    def spool(self) -> Path:
        """This machine's folder for the store's journals and its read cache."""
        if os.environ.get(SPOOL_ENV):
            return Path(os.environ[SPOOL_ENV]).expanduser().resolve()
        key = hashlib.sha256(self.conninfo.encode()).hexdigest()[:12]
        dbname = re.sub(r"[^A-Za-z0-9_.-]", "_", self.dbname)[:40]
        return (_cache_home() / "team" / f"{dbname}-{key}").resolve()


def _cache_home() -> Path:
    """nbmlops's folder in this user's cache ($XDG_CACHE_HOME, else ~/.cache)."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "nbmlops"


def parse_location(url: str) -> TeamLocation:
    """The team store a `postgresql://USER@HOST:PORT/DB` URL names, or a one-line StoreError."""
    parts = urlsplit(url)
    if parts.scheme.lower() not in SCHEMES:
        raise StoreError(f"store {url} is not a postgresql:// URL")
    shown = f"{parts.scheme}://{parts.hostname or ''}"
    if parts.password is not None:
        raise StoreError(f"the store URL for {shown} holds a password: remove it from the URL and give it in "
                         "PGPASSWORD or ~/.pgpass (passwords are never kept in store names)")
    try:
        port = parts.port
    except ValueError:
        raise StoreError(f"store {url}: the port is not a number") from None
    dbname = unquote(parts.path.lstrip("/"))
    if not dbname or "/" in dbname:
        raise StoreError(f"store {url} names no database: give postgresql://USER@HOST:PORT/DATABASE")
    keywords: dict[str, str] = {"dbname": dbname}
    if parts.hostname:
        keywords["host"] = unquote(parts.hostname)
    if port:
        keywords["port"] = str(port)
    if parts.username:
        keywords["user"] = unquote(parts.username)
    for key, value in parse_qsl(parts.query, keep_blank_values=True):
        if key not in _QUERY_KEYWORDS:
            raise StoreError(f"store {url}: {key!r} is not a connection setting nbmlops passes on "
                             f"(it takes {', '.join(sorted(_QUERY_KEYWORDS))})")
        keywords[key] = value
    for value in keywords.values():
        if not value or any(c.isspace() or c in "'\\\"=" for c in value):
            raise StoreError(f"store {url}: names with spaces, quotes, '=' or backslashes are not supported")
    keywords.setdefault("connect_timeout", "10")  # an unreachable host is an error, not a hang
    conninfo = " ".join(f"{k}={v}" for k, v in keywords.items())
    user = f"{keywords['user']}@" if "user" in keywords else ""
    host = keywords.get("host", "")
    url_shown = f"postgresql://{user}{host}{':' + keywords['port'] if 'port' in keywords else ''}/{dbname}"
    return TeamLocation(url_shown, conninfo, dbname)


# -- DuckDB's extensions ---------------------------------------------------------------------------
def _extension_file(name: str) -> Path | None:
    """The extension binary a pip package `duckdb-extension-<name>` ships for this DuckDB, if any."""
    spec = importlib.util.find_spec(f"duckdb_extension_{name}")
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        candidate = Path(folder) / "extensions" / f"v{duckdb.__version__}" / f"{name}.duckdb_extension"
        if candidate.is_file():
            return candidate
    return None


def connect_with_extensions(*, s3: bool) -> duckdb.DuckDBPyConnection:
    """A new in-memory DuckDB connection with ducklake and postgres_scanner (and httpfs for S3)
    loaded from their pip packages, else from DuckDB's own extension folder (where `INSTALL ducklake`
    put them); a one-line error naming the extra when neither has them.

    DuckDB checks an extension's signature by hashing the whole file (~90 MB for the three: 0.3-0.4 s
    of every process's first team-store query). A file that passed that check once on this machine,
    and has the same size, time and inode since, is loaded without checking again."""
    names = ("ducklake", "postgres_scanner", *(("httpfs",) if s3 else ()))
    files = {name: _extension_file(name) for name in names}
    stamp = _stamp([path for path in files.values() if path is not None])
    checked = bool(stamp) and None not in files.values() and stamp in _checked_stamps()
    con = duckdb.connect(config={"autoinstall_known_extensions": False, "autoload_known_extensions": False,
                                 **({"allow_unsigned_extensions": True} if checked else {})})
    for name, path in files.items():
        try:
            con.execute(f"LOAD '{path}'" if path else f"LOAD {name}")
        except duckdb.Error as exc:
            con.close()
            raise StoreError(
                f"the team store needs DuckDB's {name} extension, not found for DuckDB {duckdb.__version__}: "
                "pip install 'nbmlops[team]' (it installs DuckDB 1.5.5 with ducklake, postgres_scanner "
                "and httpfs)") from exc
    if stamp and not checked and None not in files.values():
        _remember_checked(stamp)
    return con


def _stamp(paths: list[Path]) -> str:
    """The identity of extension files as they are now (path, size, modification time, inode)."""
    parts = []
    for path in paths:
        st = path.stat()
        parts.append(f"{path}:{st.st_size}:{st.st_mtime_ns}:{st.st_ino}")
    return "|".join(parts)


def _checked_file() -> Path:
    return _cache_home() / "checked-extensions.txt"


def _checked_stamps() -> set[str]:
    try:
        return set(_checked_file().read_text().splitlines())
    except OSError:
        return set()


def _remember_checked(stamp: str) -> None:
    with suppress(OSError):
        path = _checked_file()
        path.parent.mkdir(parents=True, exist_ok=True)
        kept = sorted(_checked_stamps() | {stamp})[-20:]
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".checked-")
        with os.fdopen(fd, "w") as out:
            out.write("\n".join(kept) + "\n")
        os.replace(tmp, path)


def _s3_secret(con: duckdb.DuckDBPyConnection) -> None:
    """An S3 secret for DuckDB from the standard AWS variables (in this connection's memory only:
    DuckDB takes a secret's values only as literals, and the statement is never shown or logged)."""
    config = blobstore.s3_config()
    options = ["TYPE s3"]
    for option, key in (("KEY_ID", "access_key_id"), ("SECRET", "secret_access_key"),
                        ("SESSION_TOKEN", "session_token"), ("REGION", "region")):
        if key in config:
            options.append(f"{option} '{_quoted(config[key])}'")
    endpoint = config.get("endpoint")
    if endpoint:
        parts = urlsplit(endpoint)
        options += [f"ENDPOINT '{_quoted(parts.netloc or parts.path)}'", "URL_STYLE 'path'",
                    f"USE_SSL {'false' if parts.scheme == 'http' else 'true'}"]
    con.execute(f"CREATE OR REPLACE TEMPORARY SECRET nb_team_s3 ({', '.join(options)})")


def _quoted(value: str) -> str:
    return str(value).replace("'", "''")


# -- the catalog -----------------------------------------------------------------------------------
_TABLE_FILE_ERROR = re.compile(r"((?:cannot (?:read|write|remove) )?the team store's table file [^\n]*)")


def _explain(location: TeamLocation, exc: BaseException) -> StoreError | None:
    """A one-line error for a failure to reach the team store (never naming the connection string)."""
    text = str(exc)
    if "Unable to connect to Postgres" in text or "connection to server" in text:
        # libpq's reason, never the connection string DuckDB puts before it.
        why = re.search(r'Unable to connect to Postgres at "[^"]*":\s*(.*)', text, re.S)
        detail = why.group(1) if why else "the server did not answer"
        detail = re.sub(r'connection to server at "[^"]*"(?: \([^)]*\))?, port \d+ failed:\s*', "", detail)
        detail = " ".join(detail.replace(location.conninfo, location.url).split())[:200]
        return StoreError(f"cannot reach the team store's catalog {location.url} ({detail}): check the URL, "
                          "that PostgreSQL runs there, and PGPASSWORD or ~/.pgpass")
    if "creating a new DuckLake is explicitly disabled" in text:
        return StoreError(f"{location.url} holds no nbmlops team store yet: create it once with "
                          f"`nbmlops init --store {location.url} --data s3://BUCKET/PREFIX` (or a shared folder)")
    if "permission denied" in text:
        refusal = re.search(r"ERROR:\s*(permission denied[^\n]*)", text)
        return StoreError(f"PostgreSQL refused {location.url} "
                          f"({refusal.group(1).strip() if refusal else 'permission denied'}): "
                          "nbmlops init creates tables in the database once: run it as a user that may (its owner: "
                          "ALTER DATABASE ... OWNER TO ..., or GRANT CREATE ON SCHEMA public TO ...)")
    if "create a new ducklake instance but data_path" in text:
        return StoreError(f"a new team store needs a data location: nbmlops init --store {location.url} "
                          "--data s3://BUCKET/PREFIX (or a shared folder path)")
    if "does not match existing data path" in text:
        found = re.search(r'existing data path in the catalog "([^"]*)"', text)
        return StoreError(f"the team store {location.url} keeps its data at {found.group(1) if found else '?'}, "
                          f"not where NBMLOPS_DATA points: unset NBMLOPS_DATA or point it there")
    files = _TABLE_FILE_ERROR.search(text)  # store/lakefiles.py's one line, without DuckDB's Python stack
    if files:
        return StoreError(files.group(1).strip())
    if location.conninfo in text:  # whatever else DuckDB says, it never repeats the connection string
        return StoreError(" ".join(text.replace(location.conninfo, location.url).split())[:400])
    return None


class TeamCatalog:
    """The DuckLake catalog of a team store, as a `CatalogBackend`.

    Unlike a DuckDB file it locks nobody out, so a process keeps one connection open (one at a
    time inside the process: DuckDB connections are not shared between threads). `as_of` attaches
    the DuckLake read-only as it stood at that time (time travel)."""

    def __init__(self, location: TeamLocation, *, data: str | None = None, as_of: dt.datetime | None = None,
                 create: bool = False) -> None:
        self.location = location
        self.data = data
        self.as_of = as_of
        self.create = create
        self._con: duckdb.DuckDBPyConnection | None = None
        self._lock = threading.RLock()
        self._held = threading.local()  # how deep this thread is in `connect` blocks
        self._pid = os.getpid()

    def __eq__(self, other: object) -> bool:
        return isinstance(other, TeamCatalog) and (self.location, self.as_of) == (other.location, other.as_of)

    def __hash__(self) -> int:
        return hash((self.location, self.as_of))

    @property
    def dialect(self) -> Dialect:
        """DuckLake's spelling: MERGE, no RETURNING, a counter row to serialise registry writes."""
        return DUCKLAKE

    def connect(self, *, wait: float | None = None) -> AbstractContextManager[duckdb.DuckDBPyConnection]:
        """This process's connection to the team catalog, for a block."""
        return self._connected()

    @contextmanager
    def _connected(self) -> Iterator[duckdb.DuckDBPyConnection]:
        with self._lock:
            if self._pid != os.getpid():  # a forked child never uses its parent's connection
                self._con, self._pid = None, os.getpid()
            if self._con is None:
                self._con = self._open()
            con = self._con
            self._held.depth = self.held() + 1
            try:
                yield bind(con, self.dialect)
            except duckdb.Error as exc:
                if not is_conflict(exc):  # a lost connection, say: open a new one next time
                    self.release()
                better = _explain(self.location, exc)
                if better is not None:
                    raise better from exc
                raise
            finally:
                self._held.depth -= 1

    def held(self) -> int:
        """How many `connect` blocks this thread is inside."""
        return int(getattr(self._held, "depth", 0))

    def _open(self) -> duckdb.DuckDBPyConnection:
        data = self.data
        # Creating the lake names its real data path; every other connection reads and writes the
        # table files through this machine's copies of them (store/lakefiles.py).
        files = None if self.create else _lake_files(self.location.spool / "lake")
        con = connect_with_extensions(s3=self.create and (data is None or data.startswith("s3://")))
        try:
            options = [] if self.create else ["CREATE_IF_NOT_EXISTS false"]
            if files is not None:
                con.register_filesystem(files)
                options += [f"DATA_PATH '{files.url}'", "OVERRIDE_DATA_PATH true"]
            elif data is not None:
                if data.startswith("s3://"):
                    _s3_secret(con)
                options.append(f"DATA_PATH '{_quoted(_lake_path(data))}'")
            if self.create:
                options.append(f"DATA_INLINING_ROW_LIMIT {INLINE_ROWS}")
            if self.as_of is not None:
                options += [f"SNAPSHOT_TIME '{self.as_of.isoformat(sep=' ')}'", "READ_ONLY"]
            con.execute(f"ATTACH 'ducklake:postgres:{_quoted(self.location.conninfo)}' AS {LAKE}"
                        f"{' (' + ', '.join(options) + ')' if options else ''}")
            con.execute(f"USE {LAKE}")
            con.execute("SET TimeZone = 'UTC'")  # stored timestamps are naive UTC
            con.execute("SET enable_progress_bar = false")  # long maintenance calls drew one on the terminal
            if files is not None:
                files.serve(self._recorded_path(con))
            if not self.create:
                self._check_version(con)
        except BaseException as exc:
            con.close()
            better = _explain(self.location, exc)
            if better is not None:
                raise better from exc
            if self.as_of is not None and "No snapshot found" in str(exc):
                raise NotFoundError(f"the team store {self.location.url} did not exist yet at {self.as_of} "
                                    "(UTC): give a later time") from exc
            raise
        return con

    def _recorded_path(self, con: duckdb.DuckDBPyConnection) -> str:
        """Where the catalog says the table files are; NBMLOPS_DATA, when set, must say the same."""
        row = con.execute(_DATA_PATH).fetchone()
        if not row or not row[0]:
            raise CorruptStoreError(f"the team store {self.location.url} records no data path: its DuckLake "
                                    "metadata is damaged (restore the database from a backup)")
        recorded = str(row[0])
        if self.data is not None and recorded.rstrip("/") != _lake_path(self.data).rstrip("/"):
            raise StoreError(f"the team store {self.location.url} keeps its data at "
                             f"{recorded.removesuffix('/').removesuffix('/lake')}, not where NBMLOPS_DATA points: "
                             "unset NBMLOPS_DATA or point it there")
        return recorded

    def _check_version(self, con: duckdb.DuckDBPyConnection) -> None:
        try:
            row = con.execute("SELECT coalesce(max(version), 0) FROM schema_migrations").fetchone()
        except duckdb.CatalogException:
            raise StoreError(f"{self.location.url} holds a DuckLake without nbmlops's tables: create them "
                             f"with `nbmlops init --store {self.location.url}`") from None
        current = int(row[0]) if row else 0
        if current > latest_version():
            raise StoreVersionError(f"team store {self.location.url} is schema version {current}, this nbmlops "
                                    f"reads up to {latest_version()}: pip install -U nbmlops (nothing was changed)")
        if current < latest_version():
            raise StoreVersionError(f"team store {self.location.url} is schema version {current}, this nbmlops "
                                    f"writes {latest_version()}: upgrade it once with "
                                    f"`nbmlops init --store {self.location.url}`")

    def transaction(self, con: duckdb.DuckDBPyConnection) -> AbstractContextManager[duckdb.DuckDBPyConnection]:
        """BEGIN ... COMMIT, rolled back on any error (a conflict with another host's commit included)."""
        return transaction(con)

    def state(self) -> int:
        """The DuckLake's latest snapshot: every commit, from any host, makes a new one."""
        with self._connected() as con:
            row = con.execute(_LATEST_SNAPSHOT).fetchone()
        return int(row[0]) if row and row[0] is not None else -1

    def own_close(self) -> None:
        """Letting go of a DuckLake connection changes nothing another process could see."""
        return None

    def release(self) -> None:
        """Close this process's connection (the next block opens a new one)."""
        with self._lock:
            con, self._con = self._con, None
            if con is not None:
                with suppress(duckdb.Error):
                    con.close()

    def checkpoint(self, con: duckdb.DuckDBPyConnection) -> None:
        """Write the small commits kept in PostgreSQL out to Parquet, merge the small Parquet files
        many commits leave (snapshots, so time travel, are kept), and delete from the data location
        the files that merges replaced a day ago or more (no snapshot reads them; a reader that
        began before the merge may, for a while)."""
        con.execute("CALL ducklake_flush_inlined_data(current_database())")
        con.execute("CALL ducklake_rewrite_data_files(current_database(), delete_threshold => 0.0)")
        con.execute(DUCKLAKE.checkpoint)
        con.execute("CALL ducklake_cleanup_old_files(current_database(), older_than => now() - INTERVAL 1 DAY)")

    def tidy(self, con: duckdb.DuckDBPyConnection) -> list[str]:
        """Rewrite and merge the small files of each table that has TIDY_FILES of them (see
        TIDY_FILES); the tables tidied. Time travel is kept: older snapshots still read their rows."""
        tidied = []
        for table, small, deletes in con.execute(_UNTIDY, [TIDY_FILE_BYTES]).fetchall():
            if small + deletes < TIDY_FILES:
                continue
            name = _quoted(str(table))
            with transaction(con):
                # Always: deletes of a few rows are kept in PostgreSQL (inlined), not as delete files,
                # and a file with any deletes is never merged (the runs table: a run that ends is an update).
                con.execute(f"CALL ducklake_rewrite_data_files(current_database(), '{name}', "
                            "delete_threshold => 0.0)")
                con.execute(f"CALL ducklake_merge_adjacent_files(current_database(), '{name}', "
                            f"max_file_size => {TIDY_FILE_BYTES})")
            tidied.append(str(table))
        return tidied


def dead_after() -> float:
    """Seconds of silence after which a writer on another machine counts as dead (`NBMLOPS_DEAD_AFTER`,
    default 120: its shipper signs of life every quarter of that)."""
    try:
        return max(2.0, float(os.environ.get(DEAD_ENV, "120")))
    except ValueError:
        raise StoreError(f"{DEAD_ENV} must be a number of seconds") from None


def _lake_files(folder: Path) -> LakeFiles:
    """This machine's copies of the table files (store/lakefiles.py), or a one-line error naming the extra."""
    try:
        from nbmlops.store.lakefiles import LakeFiles
    except ImportError as exc:
        raise StoreError("the team store needs fsspec: pip install 'nbmlops[team]'") from exc
    return LakeFiles(folder, cache_bytes=cache_limit())


def cache_limit() -> float:
    """Bytes this machine keeps of the team's files (`NBMLOPS_CACHE_GB`, default 5): artifacts, and
    again the table files (store/lakefiles.py)."""
    try:
        return float(os.environ.get(CACHE_ENV, "5")) * 1e9
    except ValueError:
        raise StoreError(f"{CACHE_ENV} must be a number of gigabytes") from None


def _lake_path(data: str) -> str:
    """Where DuckLake keeps the tables' Parquet files: `lake/` under the data location."""
    return data.rstrip("/") + "/lake/"


def is_conflict(exc: BaseException) -> bool:
    """A commit that lost to a concurrent one (DuckLake detects it at COMMIT): run it again."""
    return isinstance(exc, duckdb.TransactionException) or (
        isinstance(exc, duckdb.Error) and re.search(r"[Tt]ransaction\s+conflict", str(exc)) is not None)


def retrying(catalog: TeamCatalog, attempt: Callable[[], T]) -> T:
    """`attempt()` again (with jittered backoff) for as long as it loses to concurrent commits."""
    delay = 0.01
    for tries in range(CONFLICT_RETRIES):
        try:
            return attempt()
        except (duckdb.Error, StoreError) as exc:
            cause = exc if isinstance(exc, duckdb.Error) else exc.__cause__
            if cause is None or not is_conflict(cause) or tries == CONFLICT_RETRIES - 1:
                raise
        time.sleep(delay * (0.5 + random.random()))  # noqa: S311 - jitter, not a secret
        delay = min(delay * 2, 0.5)
    raise AssertionError("unreachable")


# -- creating the tables ---------------------------------------------------------------------------
def local_schema() -> list[tuple[str, list[tuple[str, str, bool]]]]:
    """Every catalog table with its columns (name, type, nullable), as the migrations leave a local
    store: the team store has the same tables, without the PRIMARY KEYs DuckLake does not have."""
    scratch = duckdb.connect()
    try:
        scratch.execute("CREATE TABLE schema_migrations "
                        "(version INTEGER NOT NULL, name VARCHAR NOT NULL, applied_at TIMESTAMP NOT NULL)")
        for migration in MIGRATIONS:
            migration.apply(scratch)
        rows = scratch.execute("SELECT table_name, column_name, data_type, is_nullable FROM duckdb_columns() "
                               "WHERE NOT internal AND database_name = current_database() "
                               "AND table_oid IN (SELECT table_oid FROM duckdb_tables()) "
                               "ORDER BY table_name, column_index").fetchall()
    finally:
        scratch.close()
    tables: dict[str, list[tuple[str, str, bool]]] = {}
    for table, column, kind, nullable in rows:
        tables.setdefault(str(table), []).append((str(column), str(kind), bool(nullable)))
    tables["registry_clock"] = [("n", "BIGINT", False)]  # see Dialect.serialize
    tables["team_settings"] = [("key", "VARCHAR", False), ("value", "VARCHAR", False)]
    return sorted(tables.items())


def create_schema(con: duckdb.DuckDBPyConnection, data: str) -> str:
    """Create (or bring up to date) the team store's tables in one transaction; returns what was done.

    Run once, by `nbmlops init`: concurrent CREATE TABLEs conflict in DuckLake."""
    existing: dict[str, set[str]] = {}
    for table, column, _ in DUCKLAKE.catalog_columns(con):
        existing.setdefault(table, set()).add(column)
    current = 0
    if "schema_migrations" in existing:
        row = con.execute("SELECT coalesce(max(version), 0) FROM schema_migrations").fetchone()
        current = int(row[0]) if row else 0
    if current > latest_version():
        raise StoreVersionError(f"team store is schema version {current}, this nbmlops writes up to "
                                f"{latest_version()}: pip install -U nbmlops (nothing was changed)")
    done: list[str] = []
    with transaction(con):
        for table, columns in local_schema():
            if table not in existing:
                body = ", ".join(f"{name} {kind}{'' if nullable else ' NOT NULL'}" for name, kind, nullable in columns)
                con.execute(f"CREATE TABLE {table} ({body})")
                done.append(table)
                continue
            for name, kind, _nullable in columns:  # added by a later migration: NULL in older rows
                if name not in existing[table]:
                    con.execute(f"ALTER TABLE {table} ADD COLUMN {name} {kind}")
                    done.append(f"{table}.{name}")
        if "registry_clock" not in existing:
            con.execute("INSERT INTO registry_clock VALUES (0)")
            con.execute("INSERT INTO team_settings VALUES ('data', ?)", [data])
        for migration in MIGRATIONS[current:]:
            con.execute("INSERT INTO schema_migrations VALUES (?, ?, now()::TIMESTAMP)",
                        [migration.version, migration.name])
    return f"created {len(done)} tables and columns" if done else "already up to date"


def data_location(con: duckdb.DuckDBPyConnection) -> str:
    """The data location `nbmlops init` recorded."""
    row = con.execute("SELECT value FROM team_settings WHERE key = 'data'").fetchone()
    if not row:
        raise StoreError("the team store records no data location: run `nbmlops init` on it again with --data")
    return str(row[0])


# -- the store -------------------------------------------------------------------------------------
class _Uploads:
    """Files put into the store on this machine and not yet uploaded: one empty marker file each
    in the spool's `uploads/`, removed once the object is in the data location. The catalog rows
    that name a file are shipped only after it was uploaded."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def add(self, sha256: str) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        (self.folder / sha256).touch()

    def pending(self) -> list[str]:
        try:
            return sorted(p.name for p in self.folder.iterdir() if len(p.name) == 64)
        except FileNotFoundError:
            return []

    def done(self, sha256: str) -> None:
        with suppress(FileNotFoundError):
            (self.folder / sha256).unlink()


class TeamStore(Store):
    """A team store (see the module's docstring): its catalog is the DuckLake on PostgreSQL, its
    folder (`root`) this machine's spool of journals and read cache."""

    shared = True

    def __init__(self, url: str, *, data: str | None = None, as_of: dt.datetime | None = None) -> None:
        self.team = parse_location(url)
        self.root = self.team.spool
        self.catalog_path = self.root / "team"  # no catalog file: the catalog is the DuckLake
        self.journal_dir = self.root / "journals"
        self.artifact_dir = self.root / "artifacts" / "sha256"
        self.data = data if data is not None else (os.environ.get(DATA_ENV) or None)
        if self.data is not None:
            blobstore.blobs_at(self.data)  # a bad location is refused now, not at the first upload
        self.as_of = as_of
        self.lake = TeamCatalog(self.team, data=self.data, as_of=as_of)
        self.catalog = self.lake
        self._uploads = _Uploads(self.root / "uploads")
        self._blobs: blobstore.Blobs | None = None
        self._silence_checked = -1e9
        self._shipped: tuple[tuple[tuple[str, int, bool], ...], float] | None = None
        self._tidy_checked = -1e9
        self._untidy = False  # a ship committed something since the last look at the files
        self._settings_read = -1e9
        self.shipper = Shipper(self)

    def __repr__(self) -> str:
        return f"TeamStore({self.team.url!r})"

    @property
    def location(self) -> str:
        """The URL other processes open this store by."""
        return self.team.url

    def init(self, data: str | None = None) -> str:
        """Create the team store's tables (once, for the whole team); returns what was done."""
        data = data or self.data
        if data is not None:
            blobstore.blobs_at(data).check()  # before DuckLake is created: no half-made store
        self.root.mkdir(parents=True, exist_ok=True)
        creating = TeamCatalog(self.team, data=data, create=True)
        try:
            with creating.connect() as con:
                has_tables = bool(DUCKLAKE.catalog_columns(con))
                if data is None and not has_tables:
                    raise StoreError(f"a new team store needs a data location: nbmlops init --store "
                                     f"{self.team.url} --data s3://BUCKET/PREFIX (or a shared folder path)")
                recorded = data_location(con) if has_tables and data is None else data
                done = retrying(creating, lambda: create_schema(con, str(recorded)))
        finally:
            creating.release()
        self.catalog.release()
        return done

    def ensure_layout(self) -> None:
        self.journal_dir.mkdir(parents=True, exist_ok=True)

    @contextmanager
    def _folded(self, refresh: bool = True) -> Iterator[tuple[duckdb.DuckDBPyConnection, IngestReport]]:
        if self.as_of is not None:
            refresh = False  # the store as it stood then: nothing of now is shipped into that view
        report = self.ship() if refresh else IngestReport()
        with self.catalog.connect() as con:
            if refresh:
                self._check_silent_writers(con)
                self.refresh_settings(con)
            yield con, report

    def refresh(self) -> IngestReport:
        return self.ship()

    def ship(self) -> IngestReport:
        """Upload this machine's pending files, then fold its journals into the team catalog."""
        if self.as_of is not None:
            raise StoreError("a store read as of a past time cannot be written to")
        if self.lake.held():
            # Inside a block that shipped as it began: shipping waits for the spool's lock, which
            # another thread may hold while it waits for this connection.
            return IngestReport()
        self._upload_pending()
        spool = self._spool_state()
        last = self._shipped
        if not spool or (last is not None and last[0] == spool
                         and time.monotonic() - last[1] < self.heartbeat_seconds()):
            return IngestReport()  # nothing new and no sign of life due: no round trip to the catalog
        with self.shipper.exclusive():
            report = retrying(self.lake, self._ingest)
        if report.events or report.points:
            self._untidy = True
        # The spool as looked at before this ship: what was written during it is a change (the state
        # after it would hide the bytes the ship did not take until the next sign of life is due).
        self._shipped = (spool, time.monotonic())
        return report

    def _spool_state(self) -> tuple[tuple[str, int, bool], ...]:
        """Each journal in the spool with its size and whether its writer lives."""
        state = []
        for entry in list_journals(self.journal_dir):
            try:
                state.append((entry.name, entry.stat().st_size, writer_alive(Path(entry.path))))
            except FileNotFoundError:
                continue  # retired by another process's ship just now
        return tuple(sorted(state))

    def _ingest(self) -> IngestReport:
        with self.catalog.connect() as con:
            report = ingest(con, self.journal_dir, self.catalog, heartbeat=self.heartbeat_seconds())
            self.refresh_settings(con)
            return report

    def refresh_settings(self, con: duckdb.DuckDBPyConnection, *, now: bool = False) -> None:
        """Bring this machine's copy of the team's settings (store/settings.py) up to date: at most every
        SETTINGS_SECONDS, from a connection that is talking to the catalog anyway."""
        if not now and time.monotonic() - self._settings_read < SETTINGS_SECONDS:
            return
        values = team_settings.shared(con)
        self._settings_read = time.monotonic()
        try:
            if team_settings.settings(self) == values:
                return
        except CorruptStoreError:
            pass  # this machine's copy is damaged: written anew from the catalog's
        team_settings.keep(self, values)

    def tidy_if_due(self, *, now: bool = False) -> list[str]:
        """Tidy the team's files when ships since the last look may have made many small ones (see
        TIDY_FILES): looked at most every TIDY_CHECK_SECONDS, or `now` (a writer's last ship). Called by
        the shipper thread, never in a reader's way; losing to another host's tidy or write is no error."""
        if not self._untidy or (not now and time.monotonic() - self._tidy_checked < TIDY_CHECK_SECONDS):
            return []
        self._tidy_checked, self._untidy = time.monotonic(), False
        try:
            with self.catalog.connect() as con:
                return self.lake.tidy(con)
        except duckdb.Error as exc:
            if is_conflict(exc):
                self._untidy = True  # look again next time
                return []
            raise

    def heartbeat_seconds(self) -> float:
        """How often a living writer's journal is marked alive in the catalog."""
        return dead_after() / 4

    def _check_silent_writers(self, con: duckdb.DuckDBPyConnection) -> None:
        """Runs whose writer (on any machine) has not been heard of for `dead_after()` seconds become
        KILLED: its machine is gone, or cut off (a run that comes back and ends is FINISHED again)."""
        now = time.monotonic()
        if now - self._silence_checked < dead_after() / 4:
            return
        self._silence_checked = now
        row = con.execute(_SILENT_JOURNALS, [dead_after()]).fetchone()
        if not row or not row[0]:
            return
        try:
            with self.catalog.transaction(con):
                con.execute(_KILL_SILENT, [dead_after()])
        except duckdb.Error as exc:
            if not is_conflict(exc):  # a conflict: another reader did it at the same moment
                raise

    def cached(self, key: Hashable, read: Callable[[duckdb.DuckDBPyConnection], T]) -> T:
        """As a store folder's, and first the check for writers gone silent (a change it makes
        changes the catalog's state, so kept answers are not used). The statements of one answer run
        in one transaction: they all see the same snapshot, and DuckLake looks it up once (each
        statement of its own is a round trip or more to PostgreSQL for that alone)."""
        if self.as_of is None:
            with self.catalog.connect() as con:
                self._check_silent_writers(con)

        def in_one_snapshot(con: duckdb.DuckDBPyConnection) -> T:
            with one_snapshot(con):
                return read(con)

        return super().cached(key, in_one_snapshot)

    def write(self, change: Callable[[duckdb.DuckDBPyConnection], T]) -> T:
        """`change(con)` in one transaction, run again while it loses to another host's commit."""
        if self.as_of is not None:
            raise StoreError("a store read as of a past time cannot be written to")

        def attempt() -> T:
            with self.reading() as con, self.catalog.transaction(con):
                return change(con)

        return retrying(self.lake, attempt)

    def compact(self) -> tuple[IngestReport, int]:
        report = self.ship()
        removed = self.drop_folded_journals()
        with self.catalog.connect() as con:
            self.catalog.checkpoint(con)
        return report, removed

    def at(self, when: dt.datetime) -> TeamStore:
        """This store read-only, as it stood at `when` (DuckLake's snapshots: time travel)."""
        if when.tzinfo is not None:
            when = when.astimezone(dt.timezone.utc).replace(tzinfo=None)
        return type(self)(self.team.url, data=self.data, as_of=when)

    # -- files ---------------------------------------------------------------------------
    def blobs(self) -> blobstore.Blobs:
        """Where the team's files are (the data location `nbmlops init` recorded)."""
        if self._blobs is None:
            if self.data is not None:
                self._blobs = blobstore.blobs_at(self.data)
            else:
                with self.catalog.connect() as con:
                    self._blobs = blobstore.blobs_at(data_location(con))
        return self._blobs

    def _install(self, sha: str, write: Callable[[Any], object]) -> None:
        super()._install(sha, write)
        self._queue_upload(sha)

    def adopt_file(self, path: Path, sha: str) -> tuple[str, int]:
        result = super().adopt_file(path, sha)
        self._queue_upload(sha)
        return result

    def _queue_upload(self, sha: str) -> None:
        self._uploads.add(sha)
        self.shipper.wake()

    def _upload_pending(self) -> None:
        pending = self._uploads.pending()
        if not pending:
            return
        blobs = self.blobs()
        for sha in pending:
            local = self.local_path(sha)
            if local.is_file():
                try:
                    blobs.upload(sha, local)
                except Exception as exc:  # obstore's errors are its own classes: said in one line
                    raise StoreError(f"cannot upload to {blobs.location} ({blobstore.one_line(exc)})") from exc
            self._uploads.done(sha)

    def artifact_path(self, sha256: str) -> Path:
        """The local copy of the content with this digest: downloaded into the read cache on
        first use and checked against its digest (a missing object gives a path that does not
        exist, which readers report as missing)."""
        local = self.local_path(sha256)
        if local.is_file():
            return local
        local.parent.mkdir(parents=True, exist_ok=True)
        try:
            found = self.blobs().download(sha256, local)
        except OSError as exc:
            raise StoreError(f"cannot read {sha256[:12]} from the team store's data at "
                             f"{self.blobs().location} ({exc}): check the bucket and the AWS settings") from exc
        if found:
            self._trim_cache(keep=local)
        if found and file_sha256(local) != sha256:
            with suppress(OSError):
                os.chmod(local, 0o644)
                local.unlink()
            raise tampered_error(f"the object {sha256[:12]} in {self.blobs().location}", local)
        return local

    def _trim_cache(self, keep: Path) -> None:
        """Keep this machine's copies of the team's files under NBMLOPS_CACHE_GB (default 5): the
        least recently used go first (never one waiting for its upload, nor `keep`)."""
        blobstore.trim_folder(self.artifact_dir, cache_limit(), keep=keep, spare=set(self._uploads.pending()))

    def has(self, sha: str) -> bool:
        """Whether the content is in the read cache here or in the team's data location."""
        return self.local_path(sha).is_file() or self.blobs().exists(sha)

    # -- the writer's side ---------------------------------------------------------------
    def writer_started(self) -> None:
        self.shipper.start()

    def writer_closed(self, path: Path) -> None:
        self.shipper.stop_and_ship()

    def run_ended(self) -> None:
        self.shipper.wake()

