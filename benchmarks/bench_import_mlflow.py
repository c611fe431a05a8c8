"""`nbmlops import mlflow` on a large MLflow SQLite store: 10,000 runs x 100 metric points (issue 18).

The source is made once with MLflow's own client (create_run, one log_batch of 3 params, 2 tags and
the run's points, set_terminated) and cached under benchmarks/.cache/ keyed by its size, so reruns
skip it. Then the import runs as a user runs it, `nbmlops import mlflow sqlite:///...` in a fresh
process into a fresh store, and a second time (nothing new). Prints figures and the ratio to the
goal (<= 60 s for the first import); never asserts.

    .venv/bin/python benchmarks/bench_import_mlflow.py [--runs 10000] [--points 100]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchlog import fmt_time, log

GOAL_S = 60.0
CACHE = Path(__file__).with_name(".cache")


def make_source(runs: int, points: int) -> Path:
    """The cached MLflow SQLite store of `runs` finished runs with `points` points each (made if absent)."""
    folder = CACHE / f"mlflow-import-{runs}x{points}"
    db = folder / "mlflow.db"
    if (folder / "done").is_file():
        return db
    import shutil

    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    os.environ["MLFLOW_ENABLE_ASYNC_LOGGING"] = "false"
    from mlflow.entities import Metric, Param, RunTag
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=f"sqlite:///{db}")
    experiment = client.create_experiment("bench", artifact_location=(folder / "artifacts").as_uri())
    started = time.perf_counter()
    t0 = int(time.time() * 1000) - runs * points
    for i in range(runs):
        run = client.create_run(experiment, run_name=f"run-{i}", start_time=t0 + i * points)
        rid = run.info.run_id
        series = [Metric("loss", 1.0 / (1 + s + i), t0 + i * points + s, s) for s in range(points)]
        client.log_batch(rid, metrics=series,
                         params=[Param("lr", str(0.001 * (1 + i % 10))), Param("depth", str(i % 7)),
                                 Param("model", "gbm")],
                         tags=[RunTag("team", "bench"), RunTag("mlflow.user", "bench")])
        client.set_terminated(rid, "FINISHED", end_time=t0 + (i + 1) * points)
        if (i + 1) % 1000 == 0:
            log(f"source: {i + 1} runs in {fmt_time(time.perf_counter() - started)}")
    (folder / "done").write_text(f"{runs} runs x {points} points, made in {time.perf_counter() - started:.1f} s\n")
    return db


def import_once(db: Path, store: Path) -> tuple[float, str]:
    """Run `nbmlops import mlflow` in a fresh process; its wall time and its last output line."""
    env = {**os.environ, "NBMLOPS_STORE": str(store), "NBMLOPS_SYSTEM_METRICS": "0"}
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "nbmlops.cli", "import", "mlflow", f"sqlite:///{db}"],
                          env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"import failed: {done.stderr.strip()}")
    return elapsed, done.stdout.strip().splitlines()[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--points", type=int, default=100)
    args = parser.parse_args()
    log(f"source: {args.runs} runs x {args.points} points")
    db = make_source(args.runs, args.points)
    load = os.getloadavg()[0]
    log(f"source ready: {db} ({db.stat().st_size / 1e6:.0f} MB)")
    with tempfile.TemporaryDirectory(prefix="bench-import-mlflow-") as tmp:
        store = Path(tmp) / ".nbmlops"
        first, line1 = import_once(db, store)
        second, line2 = import_once(db, store)
    total = args.runs * args.points
    print(f"MLflow SQLite source: {args.runs} runs x {args.points} points = {total:,} metric points "
          f"(load average at start {load:.1f} on {os.cpu_count()} cores)")
    print(f"first import (fresh store):  {fmt_time(first)}  ({total / first:,.0f} points/s; goal <= {GOAL_S:.0f} s "
          f"for 10,000 x 100: {first / GOAL_S * (10_000 * 100) / total:.2f} of the goal, scaled to that size)")
    print(f"  {line1}")
    print(f"second import (nothing new): {fmt_time(second)}")
    print(f"  {line2}")


if __name__ == "__main__":
    main()
