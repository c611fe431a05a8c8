"""DVCLive adapter of the peer benchmark: one Live folder per run, read back from its own files.

DVCLive has no read API of its own (dvc's needs a DVC repository and reads the same files), so
search, history and the live row read the files it writes: metrics.json and plots/metrics/*.tsv.
"""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path
from typing import Any

os.environ.update(DVC_NO_ANALYTICS="1", DVCLIVE_LOGLEVEL="ERROR")

import importlib.metadata  # noqa: E402

from dvclive import Live  # noqa: E402

_root: Path | None = None


def setup(root: Path, tool: str) -> None:
    """Runs go to `root/dvclive/EXPERIMENT/NAME`."""
    global _root
    _root = root / "dvclive"


def version() -> str:
    """The tool's version."""
    return importlib.metadata.version("dvclive")


def start(experiment: str, name: str, params: dict[str, Any] | None = None) -> Any:
    """A Live folder for the run (no DVC experiment, no dvc.yaml, no report)."""
    assert _root is not None
    live = Live(dir=str(_root / experiment / name), save_dvc_exp=False, dvcyaml=None, report=None)
    if params:
        live.log_params(params)
    return live


def log(h: Any, metrics: dict[str, float], step: int) -> None:
    """log_metric each metric at `step`."""
    h.step = step
    for key, value in metrics.items():
        h.log_metric(key, value)


def log_metric(h: Any, key: str, value: float, step: int) -> None:
    """log_metric one point at `step` (appends a row to its TSV file)."""
    h.step = step
    h.log_metric(key, value)


def log_series(h: Any, key: str, values: list[float]) -> None:
    """log_metric every value (no batch API)."""
    for i, v in enumerate(values):
        h.step = i
        h.log_metric(key, v)


def finish(h: Any) -> None:
    """Live.end (writes metrics.json)."""
    h.end()


def flush() -> None:
    """Nothing beyond end."""


def run_ref(h: Any) -> str:
    """The run folder."""
    return str(h.dir)


def search(experiment: str, threshold: float) -> int:
    """Read every run's metrics.json of the experiment and count m0 > threshold."""
    assert _root is not None
    found = 0
    for path in (_root / experiment).glob("*/metrics.json"):
        if json.loads(path.read_text()).get("m0", float("-inf")) > threshold:
            found += 1
    return found


def history(ref: str, key: str) -> list[tuple[int, float]]:
    """The rows of the run's plots/metrics/KEY.tsv, [] when not written yet."""
    path = Path(ref) / "plots" / "metrics" / f"{key}.tsv"
    if not ref or not path.exists():
        return []
    with path.open(newline="") as f:
        return [(int(row["step"]), float(row[key])) for row in csv.DictReader(f, delimiter="\t")
                if row.get(key) not in (None, "")]


def count_points(refs: list[str], key: str) -> int:
    """Points of `key` read back over several runs."""
    return sum(len(history(ref, key)) for ref in refs)
