"""Errors as JSON for nbmlops' two tornado servers: the REST extension and `nbmlops serve`.

Every error answers {"error": message, "status": code} with that HTTP status. An NbmlopsError
brings its own status; a `where` syntax error adds its `position` and a failed promotion gate
its `gate` outcome, so a client can point at the mistake.
"""

from __future__ import annotations

import dataclasses
import json
from http.client import responses
from typing import Any

import tornado.web

from nbmlops.errors import FilterSyntaxError, GateFailedError, NbmlopsError


def error_document(exc: BaseException | None, status: int, internal: str) -> dict[str, Any]:
    """The JSON body answering `exc`; `internal` is what an unexpected exception says."""
    body: dict[str, Any]
    if isinstance(exc, NbmlopsError):
        status = exc.status
        body = {"error": str(exc)}
        if isinstance(exc, FilterSyntaxError):
            body["position"] = exc.position
        if isinstance(exc, GateFailedError):
            body["gate"] = dataclasses.asdict(exc.result)
    elif isinstance(exc, tornado.web.HTTPError):
        message = exc.log_message % exc.args if exc.log_message and exc.args else exc.log_message
        body = {"error": message or exc.reason or responses.get(status, "error")}
    else:
        body = {"error": internal}
    body["status"] = status
    return body


class JSONErrors(tornado.web.RequestHandler):
    """Mixin for a handler whose every reply, errors included, is JSON."""

    def reply(self, payload: Any, status: int = 200) -> None:
        """Send `payload` as JSON with `status`."""
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(payload, allow_nan=False, default=str))

    def internal_message(self, exc: BaseException | None) -> str:
        """What the client reads when a bug raised `exc` (the traceback goes to the server's log)."""
        return "internal error: see the server log"

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        """Every error as {"error": message, "status": code}; NbmlopsErrors carry their own status."""
        exc = (kwargs.get("exc_info") or (None, None, None))[1]
        body = error_document(exc, status_code, self.internal_message(exc))
        self.reply(body, body["status"])
