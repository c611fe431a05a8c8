"""W&B adapter of the peer benchmark: offline mode only, never its servers; no local read API."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

# Offline, silent, no error reports, no git/code capture: nothing may try to reach the network.
os.environ.update(WANDB_MODE="offline", WANDB_SILENT="true", WANDB_ERROR_REPORTING="false",
                  WANDB_DISABLE_GIT="true", WANDB_DISABLE_CODE="true", WANDB_CONSOLE="off",
                  WANDB_ANONYMOUS="never", WANDB_BASE_URL="http://127.0.0.1:9")

import wandb  # noqa: E402

_root: Path | None = None
search = None  # offline runs can only be read back through the server (wandb sync + wandb.Api)
history = None
count_points = None


def setup(root: Path, tool: str) -> None:
    """Keep the offline runs under `root/wandb`."""
    global _root
    _root = root
    os.environ["WANDB_DIR"] = str(root)
    os.environ["WANDB_CACHE_DIR"] = str(root / "cache")
    os.environ["WANDB_CONFIG_DIR"] = str(root / "config")
    os.environ["WANDB_DATA_DIR"] = str(root / "data")


def version() -> str:
    """The tool's version."""
    return wandb.__version__


def start(experiment: str, name: str, params: dict[str, Any] | None = None) -> Any:
    """wandb.init an offline run (params as its config)."""
    return wandb.init(project=experiment, name=name, config=params or {}, dir=str(_root), mode="offline")


def log(h: Any, metrics: dict[str, float], step: int) -> None:
    """Run.log several metrics at one step."""
    h.log(metrics, step=step)


def log_metric(h: Any, key: str, value: float, step: int) -> None:
    """Run.log one point."""
    h.log({key: value}, step=step)


def log_series(h: Any, key: str, values: list[float]) -> None:
    """Run.log every value (no batch API)."""
    for i, v in enumerate(values):
        h.log({key: v}, step=i)


def finish(h: Any) -> None:
    """Run.finish (waits for the local service to write the run)."""
    h.finish()


def flush() -> None:
    """Nothing beyond finish."""


def run_ref(h: Any) -> str:
    """The run id."""
    return h.id
