"""trackio adapter of the peer benchmark: its local SQLite store, read back with SQLiteStorage."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

_root: Path | None = None


def setup(root: Path, tool: str) -> None:
    """Keep trackio's database in `root/trackio`, offline (set before trackio is imported)."""
    os.environ.update(TRACKIO_DIR=str(root / "trackio"), HF_HUB_OFFLINE="1", HF_HUB_DISABLE_TELEMETRY="1",
                      GRADIO_ANALYTICS_ENABLED="False", DO_NOT_TRACK="1")
    global trackio, SQLiteStorage
    if "trackio" in sys.modules:  # a second store in the same process: only the env var can change
        import trackio.utils as utils
        utils.TRACKIO_DIR = root / "trackio"
    import trackio
    from trackio.sqlite_storage import SQLiteStorage


def version() -> str:
    """The tool's version."""
    return trackio.__version__


def start(experiment: str, name: str, params: dict[str, Any] | None = None) -> Any:
    """trackio.init a run (params as its config)."""
    return trackio.init(project=experiment, name=name, config=params or {}, embed=False)


def log(h: Any, metrics: dict[str, float], step: int) -> None:
    """trackio.log several metrics at one step."""
    trackio.log(metrics, step=step)


def log_metric(h: Any, key: str, value: float, step: int) -> None:
    """trackio.log one point."""
    trackio.log({key: value}, step=step)


def log_series(h: Any, key: str, values: list[float]) -> None:
    """trackio.log every value (no batch API)."""
    for i, v in enumerate(values):
        trackio.log({key: v}, step=i)


def finish(h: Any) -> None:
    """trackio.finish (writes what is queued)."""
    trackio.finish()


def flush() -> None:
    """Nothing beyond finish."""


def run_ref(h: Any) -> str:
    """project/name."""
    return f"{h.project}/{h.name}"


def search(experiment: str, threshold: float) -> int:
    """trackio's read-only SQL query over the project: runs whose m0 > threshold."""
    sql = (f"SELECT COUNT(DISTINCT run_name) AS n FROM metrics "
           f"WHERE json_extract(metrics, '$.m0') > {threshold}")
    return int(SQLiteStorage.query_project(experiment, sql)["rows"][0]["n"])


def history(ref: str, key: str) -> list[tuple[int, float]]:
    """SQLiteStorage.get_logs of the run, the points that have `key`."""
    if not ref:
        return []
    project, run = ref.split("/", 1)
    return [(d["step"], d[key]) for d in SQLiteStorage.get_logs(project, run=run) if key in d]


def count_points(refs: list[str], key: str) -> int:
    """Points of `key` read back over several runs."""
    return sum(len(history(ref, key)) for ref in refs)
