"""A local HTTP prediction server for one registered model, on tornado (one process, one event loop).

The model is resolved and loaded once (and again on `POST /reload` or SIGHUP), never per request,
and the catalog is released right after resolving, so the server never holds DuckDB. Requests
are checked against the model's signature before the model sees them. Rules, per column dtype:
integer dtypes take JSON integers in range; float dtypes take JSON numbers (ints or floats);
bool takes true/false; object, str, string and category take strings; datetime64 takes ISO-8601
strings. null is accepted only where pandas keeps missing values: the nullable dtypes (Int64,
Float64, boolean, ...) and the text dtypes. Classifiers with `predict_proba` also answer
`probabilities` and `classes` (one more pass over the same rows).

Any web page the user visits can send requests to a server on localhost, so every POST must say
`Content-Type: application/json` (a page cannot send that cross-origin without the server's CORS
consent, which it never gives), and `POST /reload` also needs the server's reload token, as
`Authorization: Bearer TOKEN` or `X-Nbmlops-Token: TOKEN`, unless it was started with
`allow_reload=True` (`--allow-reload`). The token is random per start unless given.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hmac
import json
import re
import secrets
import signal
import socket
import sys
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import tornado.web
from tornado.httpserver import HTTPServer
from tornado.netutil import bind_sockets

from nbmlops.errors import (
    InvalidInputError,
    MethodNotAllowedError,
    NbmlopsError,
    NotFoundError,
    PayloadTooLargeError,
    PredictionError,
    ReloadFailedError,
    UnauthorizedError,
    UnsupportedMediaTypeError,
)
from nbmlops.registry import models as registry
from nbmlops.registry import serialization as modelio
from nbmlops.registry.models import ModelVersion
from nbmlops.render.http_errors import JSONErrors
from nbmlops.store.folder import Store

MAX_BODY_BYTES = 10 * 1024 * 1024
_DRAIN_LIMIT = 64 * 1024 * 1024  # bodies up to this size are read to their end, even to answer an error
_IDLE_TIMEOUT = 60  # seconds a client may stay silent before its connection is closed
_SHUTDOWN_GRACE = 10  # seconds a stopping server waits for the answers under way
_ROUTES = {"/health": "GET", "/signature": "GET", "/predict": "POST", "/reload": "POST"}
_EXPECT = {"int": "a JSON integer", "float": "a JSON number", "bool": "true or false",
           "text": "a string", "datetime": "an ISO-8601 date/time string", "any": "a single value"}


@dataclass(frozen=True)
class ServedModel:
    """A loaded model, the registry version it came from, and when it was loaded."""

    version: ModelVersion
    model: Any
    loaded_at: dt.datetime


def load_served(store: Store, uri: str, *, trusted: bool = False) -> ServedModel:
    """Resolve `uri` once, release the catalog, and load the hash-verified model file."""
    try:
        version = registry.resolve(store, uri)
        if version.flavor in modelio.TENSOR_FLAVORS:
            raise InvalidInputError(f"nbmlops serve serves tabular models (scikit-learn, XGBoost, LightGBM), and "
                                    f"{version.uri} is a {version.flavor} model: load it with "
                                    "nbmlops.load_model and serve it from your own code")
        meta = registry.model_meta(store, version)
    finally:
        store.release()
    model = modelio.load(registry.read_verified(store, version), version.flavor, trusted=trusted,
                         label=f"model {version.uri}", meta=meta)
    return ServedModel(version, model, dt.datetime.now(dt.timezone.utc))


# -- input: shapes, signature checks, DataFrame ---------------------------------------------
def records_of(body: Any) -> list[dict[str, Any]]:
    """Rows from `[{...}]`, `{"records": [...]}` or `{"columns": [...], "data": [[...]]}`."""
    if isinstance(body, dict) and "columns" in body and "data" in body:
        columns, data = body["columns"], body["data"]
        if not isinstance(columns, list) or not all(isinstance(c, str) for c in columns) \
                or len(set(columns)) != len(columns):
            raise InvalidInputError('"columns" must be a list of distinct column names')
        if not isinstance(data, list):
            raise InvalidInputError('"data" must be a list of rows')
        for i, row in enumerate(data):
            if not isinstance(row, list) or len(row) != len(columns):
                raise InvalidInputError(f'row {i} of "data" must be a list of {len(columns)} values, one per column')
        body = [dict(zip(columns, row, strict=True)) for row in data]
    elif isinstance(body, dict) and "records" in body:
        body = body["records"]
    if not isinstance(body, list):
        raise InvalidInputError('send a list of records [{"col": value}], {"records": [...]} '
                                'or {"columns": [...], "data": [[...]]}')
    for i, record in enumerate(body):
        if not isinstance(record, dict):
            raise InvalidInputError(f"record {i} must be an object of column: value")
    if not body:
        raise InvalidInputError("no records to predict: send at least one")
    return body


def _kind(dtype: str) -> str:
    d = dtype.lower()
    if re.fullmatch(r"u?int(8|16|32|64)?|float(16|32|64)?|bool(ean)?", d):
        return {"u": "int", "i": "int", "f": "float", "b": "bool"}[d[0]]
    if d in ("object", "str", "string", "category") or d.startswith("string["):
        return "text"
    return "datetime" if d.startswith("datetime64") else "any"


def _nullable(dtype: str, kind: str) -> bool:
    return kind in ("text", "any") or dtype == "boolean" or dtype[:1].isupper()


def _accepts(value: Any, kind: str, dtype: str) -> bool:
    if value is None:
        return _nullable(dtype, kind)
    if kind == "int":  # type() rather than isinstance(): JSON true is not the integer 1
        info = np.iinfo(dtype.lower() if dtype.lower() != "int" else "int64")
        return type(value) is int and int(info.min) <= value <= int(info.max)
    if kind == "float":
        return type(value) in (int, float) and abs(value) < 1.7e308  # finite, and fits a float
    if kind == "datetime" and isinstance(value, str):
        try:
            return pd.Timestamp(value) is not pd.NaT
        except (ValueError, OverflowError):
            return False
    checks = {"bool": bool, "text": str, "datetime": type(None)}
    return isinstance(value, checks[kind]) if kind in checks else not isinstance(value, (list, dict))


def _show(value: Any) -> str:
    if value is None or isinstance(value, (bool, list, dict)):
        kinds: dict[type, str] = {list: "a list", dict: "an object"}
        return kinds.get(type(value), json.dumps(value))
    text = repr(value)
    return f"{'string' if isinstance(value, str) else 'number'} {text[:40]}{'...' * (len(text) > 40)}"


def validate(records: list[dict[str, Any]], signature: dict[str, Any]) -> None:
    """Raise InvalidInputError naming the first missing or extra column, or badly typed value."""
    names = [i["name"] for i in signature["inputs"]]
    expected = set(names)
    for i, record in enumerate(records):
        missing = [n for n in names if n not in record]
        extra = [k for k in record if k not in expected]
        if missing or extra:
            parts = [f"missing column{'s' * (len(missing) > 1)} {', '.join(map(repr, missing))}"] if missing else []
            if extra:
                parts.append(f"unexpected column{'s' * (len(extra) > 1)} {', '.join(map(repr, extra[:10]))} "
                             f"(the model takes: {', '.join(names[:30])}{', ...' * (len(names) > 30)})")
            uniform = all(r.keys() == record.keys() for r in records)
            raise InvalidInputError("; ".join(parts) + ("" if uniform else f" in row {i}"))
    for spec in signature["inputs"]:
        name, dtype = spec["name"], spec["dtype"]
        kind = _kind(dtype)
        for i, record in enumerate(records):
            if not _accepts(record[name], kind, dtype):
                null = ", or null" if _nullable(dtype, kind) else ""
                raise InvalidInputError(f"column {name!r}, row {i}: expected {dtype} ({_EXPECT[kind]}{null}), "
                                        f"got {_show(record[name])}")


def frame(records: list[dict[str, Any]], signature: dict[str, Any] | None) -> pd.DataFrame:
    """The validated records as a DataFrame with the signature's column order and dtypes."""
    if not signature:
        return pd.DataFrame.from_records(records)
    columns: dict[str, pd.Series] = {}
    for spec in signature["inputs"]:
        name, dtype, kind = spec["name"], spec["dtype"], _kind(spec["dtype"])
        values = [r[name] for r in records]
        if kind in ("text", "datetime"):  # object keeps None missing; astype(str) would make it 'None'
            column = pd.Series(values, dtype="category" if dtype == "category" else object)
            columns[name] = pd.to_datetime(column) if kind == "datetime" else column
            continue
        try:
            columns[name] = pd.Series(values, dtype=dtype)
        except (TypeError, ValueError):
            columns[name] = pd.Series(values)
    return pd.DataFrame(columns, columns=[s["name"] for s in signature["inputs"]])


def _jsonable(values: Any) -> Any:
    """numpy or pandas output as JSON values; NaN and infinities become null."""
    def clean(v: Any) -> Any:
        if isinstance(v, list):
            return [clean(x) for x in v]
        if isinstance(v, float):
            return v if abs(v) < float("inf") else None
        return v if v is None or isinstance(v, (bool, int, str)) else str(v)
    return clean(np.asarray(values).tolist())


def predict(served: ServedModel, body: Any) -> dict[str, Any]:
    """Check `body` against the signature, predict, and return the `/predict` document."""
    records = records_of(body)
    signature = served.version.signature
    if signature:
        validate(records, signature)
    X: Any = frame(records, signature)
    model = served.model
    if signature and not hasattr(model, "feature_names_in_") and list(X.columns) == list(map(str, range(X.shape[1]))):
        X = X.to_numpy()  # fitted on an array: the signature's names "0".."n" are positions
    try:
        predictions = modelio.predict(model, X)
    except Exception as exc:
        reason = (str(exc).strip() or type(exc).__name__).splitlines()[0]
        raise PredictionError(f"the model could not predict from this input: {reason}") from None
    doc = {"predictions": _jsonable(predictions), "model": served.version.name, "version": served.version.version}
    if callable(predict_proba := getattr(model, "predict_proba", None)):
        with contextlib.suppress(Exception):  # probabilities are a bonus: the predictions stand without them
            doc.update(probabilities=_jsonable(predict_proba(X)), classes=_jsonable(getattr(model, "classes_", [])))
    return doc


# -- HTTP ------------------------------------------------------------------------------------
class ModelServer:
    """Serves one model over HTTP; `reload()` swaps in the URI's current version atomically."""

    def __init__(self, store: Store, uri: str, host: str = "127.0.0.1", port: int = 0, *,
                 trusted: bool = False, max_body: int = MAX_BODY_BYTES, access_log: bool = False,
                 reload_token: str | None = None, allow_reload: bool = False) -> None:
        self.store, self.uri, self.host, self.port = store, uri, host, port
        self.trusted, self.max_body, self.access_log = trusted, max_body, access_log
        # POST /reload needs this token unless allow_reload; None when reloads are open to anyone.
        self.reload_token: str | None = None if allow_reload else (reload_token or secrets.token_urlsafe(24))
        self._lock, self._reload_lock = threading.Lock(), threading.Lock()
        self._current: ServedModel | None = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self._in_flight = 0  # requests between their headers and their answer's last byte (event loop only)
        # Predictions and reloads run here, so one slow model call never stalls the other requests.
        self._pool = ThreadPoolExecutor(thread_name_prefix="nbmlops-predict")

    @property
    def current(self) -> ServedModel:
        """The model answering requests now."""
        with self._lock:
            if self._current is None:
                raise NbmlopsError("the server has no model yet: call start() first")
            return self._current

    @property
    def url(self) -> str:
        """`http://host:port` the server listens on."""
        return f"http://{f'[{self.host}]' if ':' in self.host else self.host}:{self.port}"

    def health(self) -> dict[str, Any]:
        """The `/health` document: which model and version answer, since when."""
        served = self.current
        v = served.version
        return {"status": "ok", "model": v.name, "version": v.version, "uri": self.uri, "flavor": v.flavor,
                "class": v.model_class, "loaded_at": served.loaded_at.isoformat()}

    def start(self) -> ModelServer:
        """Load the model, bind the socket and answer requests on a background thread."""
        self._current = load_served(self.store, self.uri, trusted=self.trusted)
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        try:
            sockets = bind_sockets(self.port, self.host, family=family)
        except OSError as exc:
            raise NbmlopsError(f"cannot listen on {self.host}:{self.port}: {exc.strerror or exc}; "
                               "choose another --port or --host") from None
        self.port = sockets[0].getsockname()[1]
        self._pool = ThreadPoolExecutor(thread_name_prefix="nbmlops-predict")  # a fresh one per start
        ready = threading.Event()
        self._thread = threading.Thread(target=asyncio.run, args=(self._serve(sockets, ready),),
                                        name="nbmlops-serve", daemon=True)
        self._thread.start()
        ready.wait()
        if self._stopping is None:
            for s in sockets:
                s.close()
            raise NbmlopsError("the server could not start: see the error above")
        return self

    async def _serve(self, sockets: list[socket.socket], ready: threading.Event) -> None:
        try:
            app = tornado.web.Application([(r".*", _Endpoint, {"server": self})], log_function=self._log)
            http = HTTPServer(app, max_body_size=_DRAIN_LIMIT, idle_connection_timeout=_IDLE_TIMEOUT,
                              body_timeout=_IDLE_TIMEOUT)
            http.add_sockets(sockets)
            self._loop, self._stopping = asyncio.get_running_loop(), asyncio.Event()
        finally:
            ready.set()
        await self._stopping.wait()
        http.stop()  # no new connections; answers already under way are still sent
        for _ in range(int(_SHUTDOWN_GRACE / 0.05)):
            if not self._in_flight:
                break
            await asyncio.sleep(0.05)
        await http.close_all_connections()

    def reload(self) -> ServedModel:
        """Re-resolve the URI and swap the model in; on failure keep serving the old one."""
        with self._reload_lock:
            old = self.current.version
            try:
                new = load_served(self.store, self.uri, trusted=self.trusted)
            except NbmlopsError as exc:
                raise ReloadFailedError(f"reload failed, still serving {old.name} v{old.version}: {exc}") from None
            with self._lock:  # requests that already took the old model finish with it
                self._current = new
            return new

    def wait(self) -> None:
        """Block until the server stops (signals still interrupt it in the main thread)."""
        if self._thread is not None:
            self._thread.join()

    def shutdown(self) -> None:
        """Stop accepting, let the answers under way finish, close the socket and end the serving thread."""
        if self._loop is not None and self._stopping is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._stopping.set)
            self._thread.join()
            self._loop = self._stopping = None
            self._pool.shutdown(wait=False, cancel_futures=True)

    def _log(self, handler: tornado.web.RequestHandler) -> None:
        if self.access_log:
            r = handler.request
            sys.stderr.write(f'{r.remote_ip} - "{r.method} {r.uri} {r.version}" {handler.get_status()} -\n')

    def __enter__(self) -> ModelServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.shutdown()


@tornado.web.stream_request_body
class _Endpoint(JSONErrors):
    """Every request, whatever its path and method, so that each answer is this server's JSON.

    The body is read to its end before answering, even when the answer is an error (up to
    _DRAIN_LIMIT): a server that closes on unread bytes resets the connection before the client
    reads why. Past `max_body` the bytes are dropped as they arrive, chunked or not.
    """

    SUPPORTED_METHODS = ("GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS")
    server: ModelServer

    def initialize(self, server: ModelServer) -> None:
        self.server = server
        self._chunks: list[bytes] = []
        self._received = 0
        self._refusal: NbmlopsError | None = None
        self._error_headers: dict[str, str] = {}  # tornado clears headers before writing an error
        self._counted = False

    def set_default_headers(self) -> None:
        self.set_header("Server", "nbmlops-serve")

    def compute_etag(self) -> None:
        return None  # answers change with every reload: no ETag, so never a 304

    def prepare(self) -> None:
        self._counted = True
        self.server._in_flight += 1
        try:
            self._check_headers()
        except NbmlopsError as exc:
            self._refusal = exc  # answered once the body is read
        declared = _int(self.request.headers.get("Content-Length")) or 0
        if declared > _DRAIN_LIMIT:  # too much to read and drop: answer now, and the connection closes
            raise self._refusal or PayloadTooLargeError(self._too_large(declared))

    def data_received(self, chunk: bytes) -> None:
        self._received += len(chunk)
        if self._received <= self.server.max_body:
            self._chunks.append(chunk)
        else:
            self._chunks.clear()

    async def get(self, *args: str) -> None:
        if self._refusal is not None:
            raise self._refusal
        path, server = self.request.path, self.server
        doc: Any
        if path == "/predict":
            if self._received > server.max_body:
                raise PayloadTooLargeError(self._too_large(self._received))
            served = server.current  # this request keeps this model even if a reload swaps it meanwhile
            doc = await asyncio.wrap_future(server._pool.submit(_predict_json, served, b"".join(self._chunks)))
        elif path == "/reload":
            await asyncio.wrap_future(server._pool.submit(server.reload))
            doc = server.health()
        else:
            doc = server.current.version.signature if path == "/signature" else server.health()
        self.reply(doc)

    head = post = put = delete = patch = options = get

    def _check_headers(self) -> None:
        path, method = self.request.path, self.request.method or ""
        if path not in _ROUTES:
            raise NotFoundError(f"no endpoint {path}: use GET /health, GET /signature, POST /predict, POST /reload")
        if method not in (_ROUTES[path], "HEAD" if _ROUTES[path] == "GET" else ""):
            self._error_headers["Allow"] = _ROUTES[path]
            raise MethodNotAllowedError(f"{method} {path} is not allowed: use {_ROUTES[path]} {path}")
        if path == "/reload":
            self._check_token(self.server.reload_token)
        if path in ("/reload", "/predict"):  # a plain cross-site form or fetch cannot send this type
            ctype = self.request.headers.get("Content-Type", "")
            if ctype.split(";")[0].strip().lower() != "application/json":
                raise UnsupportedMediaTypeError(
                    f"send JSON with Content-Type: application/json, not {ctype or 'none'!r}")

    def _check_token(self, token: str | None) -> None:
        if token is None:
            return
        given = self.request.headers.get("X-Nbmlops-Token") or ""
        scheme, _, value = (self.request.headers.get("Authorization") or "").partition(" ")
        if not given and scheme.lower() == "bearer":
            given = value.strip()
        if not hmac.compare_digest(given.encode(), token.encode()):
            self._error_headers["WWW-Authenticate"] = 'Bearer realm="nbmlops-serve"'
            raise UnauthorizedError("POST /reload needs the reload token printed when the server started, as "
                                    "'Authorization: Bearer TOKEN' or 'X-Nbmlops-Token: TOKEN' (or send SIGHUP)")

    def _too_large(self, size: int) -> str:
        return f"the body has {size} bytes, over the limit of {self.server.max_body}: send fewer records per request"

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        for name, value in self._error_headers.items():
            self.set_header(name, value)
        super().write_error(status_code, **kwargs)

    def internal_message(self, exc: BaseException | None) -> str:
        return f"internal error: {type(exc).__name__}: {exc}"

    def log_exception(self, typ: Any, value: Any, tb: Any) -> None:
        if not isinstance(value, NbmlopsError):  # the client was told; a bug also gets its traceback
            super().log_exception(typ, value, tb)

    def finish(self, chunk: Any = None) -> asyncio.Future[None]:
        sent = super().finish(chunk)
        sent.add_done_callback(lambda _: self._done())
        return sent

    def on_connection_close(self) -> None:
        self._done()

    def _done(self) -> None:
        if self._counted:
            self._counted = False
            self.server._in_flight -= 1


def _predict_json(served: ServedModel, data: bytes) -> dict[str, Any]:
    """Parse a `/predict` body and predict (in a worker thread: both take time on big bodies)."""
    try:
        body = json.loads(data, parse_constant=_no_constants)
    except (ValueError, RecursionError) as exc:
        raise InvalidInputError(f"the body is not valid JSON: {exc}") from None
    return predict(served, body)


def _int(text: str | None) -> int | None:
    try:
        return None if text is None else int(text)
    except ValueError:
        return -1


def _no_constants(name: str) -> None:
    raise ValueError(f"{name} is not valid JSON")


def serve(store: Store, uri: str, host: str = "127.0.0.1", port: int = 0, *, trusted: bool = False,
          echo: Callable[[str], None] = print, reload_token: str | None = None, allow_reload: bool = False) -> None:
    """Serve `uri` until Ctrl-C or SIGTERM; SIGHUP reloads. For the `nbmlops serve` command."""
    server = ModelServer(store, uri, host, port, trusted=trusted, access_log=True, reload_token=reload_token,
                         allow_reload=allow_reload).start()
    v = server.current.version
    echo(f"Serving {v.name} v{v.version} ({uri}) on {server.url}")
    if server.reload_token is None:
        echo("POST /reload needs no token (--allow-reload): any local program can reload the model")
    else:
        echo(f"Reload token: {server.reload_token} (POST /reload with 'Authorization: Bearer TOKEN', or SIGHUP)")
    if host not in ("127.0.0.1", "localhost", "::1"):
        print(f"nbmlops: {host} may be reachable from other machines, and /predict has no authentication",
              file=sys.stderr)
    sys.stdout.flush()

    def reload() -> None:
        try:
            new = server.reload().version
            echo(f"Reloaded: serving {new.name} v{new.version} ({uri})")
        except NbmlopsError as exc:
            print(f"nbmlops: {exc}", file=sys.stderr)
        sys.stdout.flush()

    def stop(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    previous: dict[int, Any] = {}
    if threading.current_thread() is threading.main_thread():
        handlers: dict[int, Any] = {signal.SIGTERM: stop}
        if hasattr(signal, "SIGHUP"):  # reload off the handler: loading a model takes a while
            handlers[signal.SIGHUP] = lambda s, f: threading.Thread(target=reload, daemon=True).start()
        previous = {sig: signal.signal(sig, handler) for sig, handler in handlers.items()}
    try:
        server.wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.shutdown()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    echo(f"Stopped serving {uri}.")
    sys.stdout.flush()
