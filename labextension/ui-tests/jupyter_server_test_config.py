"""JupyterLab for the Galata tests: galata's test settings, a fixed port, a throwaway store.

The store comes from NBMLOPS_STORE (playwright.config.js makes a temporary folder and sets it),
so the server, the kernels it starts (they inherit its environment) and the tests' own CLI calls
all use the same store, and no test ever touches a real one.
"""

import os
import tempfile

from jupyterlab.galata import configure_jupyter_server

configure_jupyter_server(c)  # noqa: F821 (c is the config object jupyter passes in)
c.ServerApp.allow_root = True  # noqa: F821
c.ServerApp.port = int(os.environ.get("NBMLOPS_UI_PORT", "8896"))  # noqa: F821

store = os.environ.get("NBMLOPS_STORE") or tempfile.mkdtemp(prefix="nbmlops-ui-store-")
os.environ["NBMLOPS_STORE"] = store
c.NbmlopsServer.store = store  # noqa: F821
