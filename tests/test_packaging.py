"""What `pip install nbmlops` brings: the packages the product is built on are dependencies, not extras."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import tomllib

ROOT = Path(__file__).resolve().parent.parent


def _base_dependencies() -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return {re.split(r"[<>=!~\[ ;]", spec, maxsplit=1)[0].lower().replace("_", "-")
            for spec in project["dependencies"]}


def test_plain_install_brings_jobs_notebooks_and_safe_model_loading() -> None:
    needed = {"papermill", "nbformat", "nbclient", "ipykernel", "scikit-learn", "skops", "duckdb", "pandas"}
    assert needed <= _base_dependencies()


def test_a_missing_module_is_a_one_line_cli_error_naming_the_package(tmp_path: Path) -> None:
    # A command whose implementation imports a package that is not there: simulated by a module
    # finder that refuses papermill, in a real `nbmlops` process.
    script = (
        "import sys, importlib.abc\n"
        "class Refuse(importlib.abc.MetaPathFinder):\n"
        "    def find_spec(self, name, path, target=None):\n"
        "        if name.split('.')[0] == 'papermill':\n"
        "            raise ModuleNotFoundError(f\"No module named '{name}'\", name=name)\n"
        "sys.meta_path.insert(0, Refuse())\n"
        "from nbmlops.cli import main\n"
        "main()\n")
    notebook = tmp_path / "nb.ipynb"
    notebook.write_text('{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}')
    proc = subprocess.run([sys.executable, "-c", script, "--store", str(tmp_path / "s"), "run", str(notebook)],
                          capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "papermill" in lines[0] and "pip install papermill" in lines[0]
