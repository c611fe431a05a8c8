"""After `pip install`, Jupyter sees the panel and the REST extension, and serves the built panel."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

JUPYTER = Path(sys.executable).parent / "jupyter"
BUILT = ROOT / "nbmlops" / "labextension"
ANSI = re.compile(r"\x1b\[[0-9;]*m")
REBUILD = "rebuild and link it: make labextension"


def jupyter(*args: str) -> str:
    """The output (stdout and stderr, without colors) of the venv's `jupyter ARGS`."""
    env = {**os.environ, "PATH": f"{JUPYTER.parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    result = subprocess.run([str(JUPYTER), *args], capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 0, f"jupyter {' '.join(args)} failed:\n{result.stdout}{result.stderr}"
    return ANSI.sub("", result.stdout + result.stderr)


@pytest.fixture(scope="module")
def labextensions() -> str:
    """`jupyter labextension list`."""
    return jupyter("labextension", "list")


def installed_folder(listing: str) -> Path:
    """The folder the listing says holds the nbmlops lab extension."""
    folder = None
    for line in listing.splitlines():
        if line.strip().startswith("/"):
            folder = Path(line.strip())
        elif re.match(r"\s*nbmlops v", line):
            assert folder is not None, listing
            return folder / "nbmlops"
    raise AssertionError(f"nbmlops is not listed:\n{listing}")


def test_lab_extension_is_enabled_and_ok(labextensions: str) -> None:
    assert re.search(r"^\s*nbmlops v[\d.]+\S* enabled\s+OK", labextensions, re.M), labextensions


def test_server_extension_is_enabled_and_ok() -> None:
    listing = jupyter("server", "extension", "list")
    assert re.search(r"^\s*nbmlops\.server enabled", listing, re.M), listing
    assert re.search(r"^\s*nbmlops\.server\s+OK", listing, re.M), listing


def test_installed_extension_is_the_built_one(labextensions: str) -> None:
    built = json.loads((BUILT / "package.json").read_text())
    installed_dir = installed_folder(labextensions)
    installed = json.loads((installed_dir / "package.json").read_text())
    source = json.loads((ROOT / "labextension" / "package.json").read_text())
    assert installed["name"] == source["name"] and installed["version"] == source["version"]
    load = installed["jupyterlab"]["_build"]["load"]
    assert (installed_dir / load).is_file(), f"{installed_dir / load} is missing: {REBUILD}"
    assert installed == built, (
        f"the extension Jupyter serves ({installed_dir}) is not the last build ({BUILT}): {REBUILD}")
