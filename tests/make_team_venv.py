"""Make `.venv-team`: the environment of the team store's tests (`make test-team`).

The team store's DuckDB extensions are pip packages built for DuckDB 1.5.5 (`nbmlops[team]` pins it),
while the rest of the suite runs on the DuckDB nbmlops installs by default (2.x, whose file format is
newer, so a store folder made by one cannot be opened by the other). So the team venv holds only
DuckDB 1.5.5 and the `team` extra's packages, and sees everything else (nbmlops itself, jupyterlab,
the test tools) in `.venv` through a .pth file: its own packages come first on sys.path.

    .venv/bin/python tests/make_team_venv.py .venv-team
"""

from __future__ import annotations

import subprocess
import sys
import venv
from pathlib import Path

import tomllib

ROOT = Path(__file__).resolve().parent.parent


def main(target: Path) -> None:
    venv.create(target, with_pip=True, clear=True)
    python = target / "bin" / "python"
    own = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                         check=True, capture_output=True, text=True).stdout.strip()
    import sysconfig

    shared = sysconfig.get_paths()["purelib"]  # this (.venv's) python's site-packages
    Path(own, "nbmlops-dev.pth").write_text(f"import site; site.addsitedir({shared!r})\n")
    extra = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]["team"]
    subprocess.run([python, "-m", "pip", "install", "--quiet", "--ignore-installed", "duckdb==1.5.5", *extra],
                   check=True)
    found = subprocess.run([python, "-c", "import duckdb, nbmlops, jupyterlab; print(duckdb.__version__)"],
                           check=True, capture_output=True, text=True).stdout.strip()
    if found != "1.5.5":
        raise SystemExit(f"{target}: DuckDB {found}, not 1.5.5")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
