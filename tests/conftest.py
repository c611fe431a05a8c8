"""Shared fixtures: every test gets its own real store on disk and a fresh tracker."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from nbmlops.store.catalog import release
from nbmlops.store.folder import Store
from nbmlops.tracking import tracker as tracking

ROOT = Path(__file__).resolve().parent.parent

# Writers that close a journal start a background fold (nbmlops/store/autofold.py), which changes the
# catalog at moments of its own choosing. Tests of readers, locks and damage need a store that only
# they change; the background fold is tested on its own, turned on, in test_autofold.py.
os.environ.setdefault("NBMLOPS_AUTOFOLD", "0")
# Every run samples the machine into system/* metrics by default (nbmlops/tracking/system.py): tests of
# other features count a run's metrics exactly, so the suite (and the kernels and workers it starts)
# runs with sampling off; test_system_metrics.py turns it on where it tests it.
os.environ.setdefault("NBMLOPS_SYSTEM_METRICS", "0")


@pytest.fixture
def fresh_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Store]:
    """An empty store used by this process's tracking API for the test's duration."""
    monkeypatch.delenv("NBMLOPS_STORE", raising=False)
    monkeypatch.delenv("NBMLOPS_EXPERIMENT", raising=False)
    monkeypatch.delenv("JPY_SESSION_NAME", raising=False)
    store = Store(tmp_path / ".nbmlops")
    store.init()
    store.release()  # child processes of the test may open the catalog at once
    previous = tracking._default
    tracking._default = tracking.Tracker(store)
    yield store
    tracking._default.close()
    tracking._default = previous
    release()


def make_notebook(path: Path, parameters: str, *cells: str, kernel: str | None = "python3") -> Path:
    """A notebook with a tagged parameters cell followed by `cells` (kernel None: names none)."""
    import nbformat

    first = nbformat.v4.new_code_cell(parameters, metadata={"tags": ["parameters"]})
    nb = nbformat.v4.new_notebook(cells=[first, *(nbformat.v4.new_code_cell(c) for c in cells)])
    if kernel is not None:
        nb.metadata["kernelspec"] = {"name": kernel, "language": "python", "display_name": kernel}
    nbformat.write(nb, path)
    return path


@pytest.fixture
def store_env(fresh_store: Store, monkeypatch: pytest.MonkeyPatch) -> Store:
    """The fresh store, also named in the environment that kernels and workers inherit."""
    monkeypatch.setenv("NBMLOPS_STORE", str(fresh_store.root))
    return fresh_store


def run_python(code: str, store: Store, *args: str, timeout: float = 120,
               check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run `code` in a new Python process that uses `store`."""
    env = {**os.environ, "NBMLOPS_STORE": str(store.root)}
    result = subprocess.run([sys.executable, "-c", code, *args], env=env, capture_output=True,
                            text=True, timeout=timeout)
    if check and result.returncode != 0:
        raise AssertionError(f"child failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return result


def spawn_python(code: str, store: Store, *args: str) -> subprocess.Popen[str]:
    """Start `code` in a new Python process that uses `store`, without waiting."""
    env = {**os.environ, "NBMLOPS_STORE": str(store.root)}
    return subprocess.Popen([sys.executable, "-c", code, *args], env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
