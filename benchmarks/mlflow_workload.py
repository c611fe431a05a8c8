"""Measure MLflow's local SQLite tracking on this machine; print one JSON line last on stdout.

Standalone: runs inside the separate MLflow virtualenv (stdlib + mlflow + numpy only).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path

# Must be set before mlflow is imported; the child process inherits them.
os.environ.update(
    MLFLOW_DISABLE_TELEMETRY="true",
    DO_NOT_TRACK="true",  # MLflow only honours the literal "true"
    MLFLOW_LOGGING_LEVEL="ERROR",
    MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT="true",
)
warnings.filterwarnings("ignore")

import mlflow  # noqa: E402
import numpy as np  # noqa: E402
from mlflow import MlflowClient  # noqa: E402
from mlflow.entities import Metric, Param  # noqa: E402

BATCH_LIMIT = 1000  # MLflow's maximum number of metrics per log_batch request
LIVE_INTERVAL_S = 0.05
POLL_INTERVAL_S = 0.01  # parent polls at 100 Hz; a tighter loop starves the SQLite writer
T0 = time.perf_counter()


def log(msg: str) -> None:
    """Print a progress line with elapsed time to stderr."""
    print(f"[mlflow {time.perf_counter() - T0:6.1f}s] {msg}", file=sys.stderr, flush=True)


def timed(fn: Callable[[], object]) -> float:
    """Return the wall time of one call of `fn`."""
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def median_time(fn: Callable[[], object], repeat: int) -> float:
    """Return the median wall time of `repeat` calls of `fn`."""
    return statistics.median(timed(fn) for _ in range(repeat))


def new_experiment(name: str, tmp: Path) -> str:
    """Create an experiment whose artifacts live in the temporary directory."""
    return mlflow.create_experiment(name, artifact_location=(tmp / "artifacts" / name).as_uri())


def bench_log_metric(exp_id: str, calls: int) -> float:
    """Median time of one mlflow.log_metric call inside an active run."""
    values = np.random.default_rng(1).random(calls).tolist()
    times = []
    with mlflow.start_run(experiment_id=exp_id):
        for i, v in enumerate(values):
            start = time.perf_counter()
            mlflow.log_metric("loss", v, step=i)
            times.append(time.perf_counter() - start)
    return statistics.median(times)


def bench_log_batch(client: MlflowClient, exp_id: str, points: int) -> tuple[str, float]:
    """Log `points` metric points to one run via log_batch in chunks; return (run_id, seconds)."""
    run_id = client.create_run(exp_id).info.run_id
    values = np.random.default_rng(2).random(points).tolist()
    ts = int(time.time() * 1000)
    start = time.perf_counter()
    for lo in range(0, points, BATCH_LIMIT):
        chunk = [Metric("loss", values[i], ts + i, i) for i in range(lo, min(lo + BATCH_LIMIT, points))]
        client.log_batch(run_id, metrics=chunk)
    elapsed = time.perf_counter() - start
    client.set_terminated(run_id)
    return run_id, elapsed


def one_run(rng: np.random.Generator) -> None:
    """One complete run with 10 params and 5 metrics through the fluent API."""
    with mlflow.start_run():
        mlflow.log_params({f"p{k}": str(k) for k in range(10)})
        mlflow.log_metrics({f"m{k}": float(rng.random()) for k in range(5)})


def create_search_runs(client: MlflowClient, exp_id: str, n: int) -> float:
    """Create `n` runs with 10 params and 5 metrics each; return the creation time."""
    rng = np.random.default_rng(3)
    start = time.perf_counter()
    for i in range(n):
        run_id = client.create_run(exp_id).info.run_id
        ts = int(time.time() * 1000)
        params = [Param(f"p{k}", str((i + k) % 10)) for k in range(10)]
        metrics = [Metric(f"m{k}", float(rng.random()), ts, 0) for k in range(5)]
        client.log_batch(run_id, metrics=metrics, params=params)
        client.set_terminated(run_id)
    return time.perf_counter() - start


def live_child(run_id: str, points: int) -> None:
    """Child mode: log the wall-clock time as metric 'tick' every 50 ms."""
    client = MlflowClient()
    client.log_metric(run_id, "warmup", 0.0)  # pay connection setup before the first tick
    for step in range(points):
        client.log_metric(run_id, "tick", time.time(), step=step)
        time.sleep(LIVE_INTERVAL_S)


def bench_live(client: MlflowClient, exp_id: str, samples: int) -> float:
    """Median delay between a child's log_metric call and the parent first seeing the value."""
    run_id = client.create_run(exp_id).info.run_id
    cmd = [sys.executable, __file__, f"--child-run-id={run_id}", f"--child-points={samples + 2}"]
    child = subprocess.Popen(cmd)
    seen: set[int] = set()
    delays: list[float] = []
    deadline = time.monotonic() + 120
    while len(delays) < samples and time.monotonic() < deadline:
        history = client.get_metric_history(run_id, "tick")
        now = time.time()
        for m in history:
            if m.step not in seen:
                seen.add(m.step)
                delays.append(now - m.value)
        if child.poll() is not None and len(seen) == len(history):
            break
        time.sleep(POLL_INTERVAL_S)
    child.wait(timeout=60)
    if child.returncode != 0 or len(delays) < samples:
        raise RuntimeError(f"live child failed (rc={child.returncode}, samples={len(delays)})")
    return statistics.median(delays[:samples])


def parse_args() -> argparse.Namespace:
    """Parse the workload sizes (and the hidden child-mode flags)."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--metric-calls", type=int, default=300)
    parser.add_argument("--batch-points", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--search-runs", type=int, default=500)
    parser.add_argument("--live-samples", type=int, default=10)
    parser.add_argument("--child-run-id", help=argparse.SUPPRESS)
    parser.add_argument("--child-points", type=int, default=0, help=argparse.SUPPRESS)
    return parser.parse_args()


def run_workload(args: argparse.Namespace, tmp: Path) -> dict:
    """Run every measurement against a fresh SQLite store in `tmp`."""
    os.environ["MLFLOW_TRACKING_URI"] = f"sqlite:///{tmp / 'mlflow.db'}"
    mlflow.set_tracking_uri(os.environ["MLFLOW_TRACKING_URI"])
    logging.getLogger("alembic").setLevel(logging.ERROR)
    client = MlflowClient()
    out: dict = {"mlflow_version": mlflow.__version__}

    log(f"log_metric x{args.metric_calls}")
    out["log_metric_median_s"] = bench_log_metric(new_experiment("log_metric", tmp), args.metric_calls)

    log(f"log_batch {args.batch_points} points")
    run_id, out["log_batch_100k_s"] = bench_log_batch(client, new_experiment("batch", tmp), args.batch_points)
    out["log_batch_points"] = args.batch_points

    log("get_metric_history x3")
    history_len = len(client.get_metric_history(run_id, "loss"))
    if history_len != args.batch_points:
        raise RuntimeError(f"metric history has {history_len} points, expected {args.batch_points}")
    out["metric_history_100k_s"] = median_time(lambda: client.get_metric_history(run_id, "loss"), 3)

    log(f"{args.runs} runs with 10 params + 5 metrics")
    mlflow.set_experiment(experiment_id=new_experiment("runs", tmp))
    rng = np.random.default_rng(4)
    out["run_10p_5m_s"] = median_time(lambda: one_run(rng), args.runs)

    log(f"creating {args.search_runs} runs for search")
    search_exp = new_experiment("search", tmp)
    out["search_setup_s"] = create_search_runs(client, search_exp, args.search_runs)
    query = "metrics.m0 > 0.5 and params.p0 = '3'"
    log("search_runs x3")
    out["search_runs_n"] = len(mlflow.search_runs(experiment_ids=[search_exp], filter_string=query))
    out["search_runs_s"] = median_time(lambda: mlflow.search_runs(experiment_ids=[search_exp], filter_string=query), 3)

    log(f"live visibility x{args.live_samples}")
    out["live_visibility_s"] = bench_live(client, new_experiment("live", tmp), args.live_samples)
    return out


def main() -> None:
    """Entry point: child mode or the full workload."""
    args = parse_args()
    if args.child_run_id:
        live_child(args.child_run_id, args.child_points)
        return
    cwd = os.getcwd()
    with tempfile.TemporaryDirectory(prefix="mlflow-bench-") as tmp:
        os.chdir(tmp)  # keep any stray ./mlruns or ./mlartifacts inside the temporary directory
        try:
            result = run_workload(args, Path(tmp))
        finally:
            os.chdir(cwd)
    log(f"done in {time.perf_counter() - T0:.1f}s")
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
