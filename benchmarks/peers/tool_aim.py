"""Aim adapter of the peer benchmark: a local Aim repo, read back with Repo queries."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

os.environ.update(AIM_UI_TELEMETRY_ENABLED="0", AIM_TELEMETRY_ENABLED="0")

import importlib.metadata  # noqa: E402

from aim import Repo, Run  # noqa: E402
from aim.sdk.index_manager import RepoIndexManager  # noqa: E402
from aim.sdk.types import QueryReportMode  # noqa: E402
from aim.storage.context import Context  # noqa: E402

_repo: Repo | None = None
_path = ""


def _reader(hashes: list[str] | None = None) -> Repo:
    """A Repo that sees the runs written so far: index the new ones first, then open it anew.

    Aim answers queries from an index that its UI server (`aim up`) updates in the background from
    the runs' own databases; with no server running, the reader does the same indexing itself and
    pays for it. A Repo opened earlier keeps its meta tree, so each read opens a new one.
    """
    repo = Repo(_path)
    manager = RepoIndexManager.get_index_manager(repo)  # not started: no watcher threads
    index_db = repo.request_tree("meta", read_only=True)
    for run_hash in hashes if hashes is not None else repo.list_all_runs():
        if manager._is_run_index_outdated(run_hash, index_db):
            manager.index(run_hash)
    repo.container_pool.clear()
    return Repo(_path)


def setup(root: Path, tool: str) -> None:
    """Create (or open) the Aim repo at `root/aim`."""
    global _repo, _path
    _path = str(root / "aim")
    _repo = Repo.from_path(str(root / "aim"), init=True)


def version() -> str:
    """The tool's version."""
    return importlib.metadata.version("aim")


def start(experiment: str, name: str, params: dict[str, Any] | None = None) -> Any:
    """A new Run (no system tracking, no terminal capture), params as hparams."""
    run = Run(repo=_repo, experiment=experiment, system_tracking_interval=None, capture_terminal_logs=False)
    run.name = name
    if params:
        run["hparams"] = params
    return run


def log(h: Any, metrics: dict[str, float], step: int) -> None:
    """Run.track several metrics at one step."""
    h.track(metrics, step=step)


def log_metric(h: Any, key: str, value: float, step: int) -> None:
    """Run.track one point."""
    h.track(value, name=key, step=step)


def log_series(h: Any, key: str, values: list[float]) -> None:
    """Run.track every value (no batch API)."""
    track = h.track
    for i, v in enumerate(values):
        track(v, name=key, step=i)


def finish(h: Any) -> None:
    """Run.close."""
    h.close()


def flush() -> None:
    """Nothing beyond close."""


def run_ref(h: Any) -> str:
    """The run hash."""
    return h.hash


def search(experiment: str, threshold: float) -> int:
    """Repo.query_metrics on the last value of m0: the runs it matches."""
    query = f"metric.name == 'm0' and metric.last > {threshold} and run.experiment == '{experiment}'"
    found = _reader().query_metrics(query, report_mode=QueryReportMode.DISABLED)
    return len({metric.run.hash for metric in found.iter()})


def history(ref: str, key: str) -> list[tuple[int, float]]:
    """Run.get_metric(...).data.items_list() of a run, [] when not visible yet."""
    run = _reader([ref]).get_run(ref) if ref else None
    metric = run.get_metric(key, Context({})) if run is not None else None
    if metric is None:
        return []
    steps, (values, *_) = metric.data.items_list()
    return list(zip(steps, values, strict=True))


def count_points(refs: list[str], key: str) -> int:
    """Points of `key` read back over several runs."""
    return sum(len(history(ref, key)) for ref in refs)
