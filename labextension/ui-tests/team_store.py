"""Run a command (the Galata tests of the panel on a team store) with a team store around it.

Starts a throwaway PostgreSQL cluster and moto's S3 server (tests/services.py), creates a team
store, writes runs and a model version from two "machines" (processes with a HOME of their own),
and runs the command with NBMLOPS_UI_STORE naming the store and NBMLOPS_UI_TEAM=1 (the Playwright
config then runs only tests/team.spec.ts). The services stop when the command ends.

    NBMLOPS_UI_VENV_BIN=$PWD/../../.venv-team/bin ../../.venv-team/bin/python team_store.py jlpm playwright test

Run it with the team venv's Python (DuckDB 1.5.5 and the team store's extensions: see
tests/make_team_venv.py), which JupyterLab then runs on too (NBMLOPS_UI_VENV_BIN).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.services import postgres, s3  # noqa: E402 - the repository's test services

WRITE = """
import sys, nbmlops
from sklearn.linear_model import LogisticRegression
host = sys.argv[1]
with nbmlops.start_run(experiment="team-panel", name=f"run-from-{host}"):
    nbmlops.log_params({"host": host, "C": 0.5 if host == "alice" else 2.0})
    for step in range(5):
        nbmlops.log_metric("accuracy", 0.8 + 0.01 * step + (0.05 if host == "bob" else 0.0), step=step)
    if host == "bob":
        nbmlops.log_model(LogisticRegression().fit([[0.0], [1.0], [2.0], [3.0]], [0, 0, 1, 1]), "team-model")
"""


def _jupyter_paths() -> dict[str, str]:
    """Where the environment that holds JupyterLab keeps its extensions and their config: the team
    venv only borrows that environment's packages (tests/make_team_venv.py), so Jupyter, which looks
    under its own prefix, is told."""
    import jupyterlab

    prefix = Path(jupyterlab.__file__).resolve().parents[4]  # <prefix>/lib/pythonX.Y/site-packages/jupyterlab
    found = {"JUPYTER_PATH": prefix / "share" / "jupyter", "JUPYTER_CONFIG_PATH": prefix / "etc" / "jupyter"}
    return {name: os.pathsep.join(filter(None, [str(path), os.environ.get(name)])) for name, path in found.items()}


def main() -> int:
    with postgres() as pg, s3() as bucket, tempfile.TemporaryDirectory(prefix="nbmlops-ui-team-") as tmp:
        url = pg.create_database("panel")
        data = bucket.create_bucket("nbmlops-ui") + "/store"
        env = {**os.environ, **bucket.env(), "NBMLOPS_STORE": url, "PYTHONPATH": str(ROOT)}
        python = sys.executable
        subprocess.run([python, "-m", "nbmlops.cli", "init", "--data", data], env={**env, "HOME": tmp},
                       check=True, timeout=120)
        for host in ("alice", "bob"):
            home = Path(tmp) / host
            home.mkdir()
            subprocess.run([python, "-c", WRITE, host], env={**env, "HOME": str(home)}, cwd=home, check=True,
                           timeout=300)
        server_home = Path(tmp) / "server"
        server_home.mkdir()
        run_env = {**env, "HOME": str(server_home), "NBMLOPS_UI_STORE": url, "NBMLOPS_UI_TEAM": "1",
                   **_jupyter_paths()}
        run_env.pop("NBMLOPS_STORE")
        return subprocess.run(sys.argv[1:], env=run_env, cwd=Path(__file__).parent).returncode


if __name__ == "__main__":
    sys.exit(main())
