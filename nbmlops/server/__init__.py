"""The jupyter_server extension: nbmlops' REST API under {base_url}nbmlops/api/ (see openapi.yaml).

Enabled by `pip install` (a jupyter-config file); configure it like any Jupyter setting:

    jupyter lab --NbmlopsServer.store=/path/to/.nbmlops
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import tornado.web
from jupyter_server.utils import url_path_join
from traitlets import Unicode
from traitlets.config import Configurable

from nbmlops.server.handlers import API_PREFIX, ROUTES
from nbmlops.store.folder import Store, find_store, open_store

__all__ = ["API_PREFIX", "ROUTES", "NbmlopsServer", "methods", "route_regex", "server_store", "setup_handlers"]

_GREEDY = {"key", "path"}  # route parameters that may contain '/'


class NbmlopsServer(Configurable):
    """Settings of the nbmlops server extension (`c.NbmlopsServer.store = ...`)."""

    store = Unicode(
        "", config=True,
        help="The store folder to serve. Empty: $NBMLOPS_STORE, else the nearest .nbmlops/ folder "
             "walking up from the server's root_dir, else ~/.nbmlops (nbmlops' usual rule).")


def server_store(serverapp: Any) -> Store:
    """The store a server serves: the configured one, else found from its root_dir."""
    configured = NbmlopsServer(parent=serverapp).store
    if configured:
        return open_store(configured)
    return find_store(Path(serverapp.root_dir).expanduser())


def route_regex(template: str) -> str:
    """The URL regex of a route template: `{key}` and `{path}` may hold '/', others not."""
    parts = re.split(r"\{(\w+)\}", template)
    return "".join(re.escape(p) if i % 2 == 0 else ("(.+)" if p in _GREEDY else "([^/]+)")
                   for i, p in enumerate(parts))


def methods(handler: type[tornado.web.RequestHandler]) -> set[str]:
    """The HTTP methods a handler implements, lower case."""
    return {m for m in ("get", "post", "put", "patch", "delete")
            if getattr(handler, m) is not getattr(tornado.web.RequestHandler, m)}


def setup_handlers(web_app: tornado.web.Application, store: Store) -> None:
    """Serve `store` under {base_url}nbmlops/api/, one handler per entry of ROUTES."""
    web_app.settings["nbmlops_store"] = store
    prefix = re.escape(url_path_join(web_app.settings.get("base_url", "/"), API_PREFIX))
    web_app.add_handlers(".*$", [(f"{prefix}/{route_regex(t)}", h) for t, h in ROUTES])


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    """The module jupyter_server loads as this extension."""
    return [{"module": "nbmlops.server"}]


def _load_jupyter_server_extension(serverapp: Any) -> None:
    """Register the REST handlers; the store is opened only when a request needs it."""
    store = server_store(serverapp)
    setup_handlers(serverapp.web_app, store)
    serverapp.log.info("nbmlops: serving the store %s at %s%s/", store.location, serverapp.base_url, API_PREFIX)
