"""Core performance figures of nbmlops against its targets, side by side with MLflow.

    .venv/bin/python benchmarks/bench_core.py [--no-mlflow] [--quick]

Every nbmlops figure is measured in a fresh temporary store; the MLflow workload
(benchmarks/mlflow_workload.py, in its own virtualenv) runs afterwards, alone, because the
machine may have only 2 cores. Progress and each figure, as it is measured, go to stderr; the
table goes to stdout and the full results to benchmarks/results-core.json. Benchmarks report,
they never assert: a missed target is a FAIL in the table, not an error.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import select
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO, Any

import duckdb
import numpy as np
from benchlog import time_log_metric

import nbmlops
from nbmlops.tracking.tracker import tracker

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results-core.json"
LIVE_INTERVAL_S = 0.05  # the child logs a point every 50 ms ...
POLL_INTERVAL_S = 0.01  # ... and the parent polls at 100 Hz, like the MLflow workload
CHILD_TIMEOUT_S = 120
T0 = time.perf_counter()

# Targets in seconds.
TARGET_LOG_METRIC = 2e-6
TARGET_MILLION = 2.0
TARGET_RUN = 2e-3
TARGET_WHERE = 0.1
TARGET_HISTORY = 0.05
TARGET_LIVE = 2.0

WHERE = "metrics.m0 > 0.5 and params.p0 = 3"


@dataclass(frozen=True)
class Sizes:
    """Workload sizes of one benchmark run (the full run or the ~10x smaller --quick run)."""

    log_metric_calls: int = 200_000
    million_points: int = 1_000_000
    runs: int = 300
    search_runs: int = 10_000
    where_repeat: int = 5
    all_repeat: int = 3
    history_points: int = 100_000
    history_repeat: int = 5
    live_samples: int = 40  # points after the first; the child logs 20 per second


FULL = Sizes()
QUICK = Sizes(log_metric_calls=20_000, million_points=100_000, runs=30, search_runs=1_000,
              where_repeat=3, history_points=10_000, live_samples=12)
# mlflow_workload.py sizes: its defaults for the full run, about /10 for --quick.
MLFLOW_FULL = {"metric_calls": 300, "batch_points": 100_000, "runs": 30, "search_runs": 500, "live_samples": 10}
MLFLOW_QUICK = {"metric_calls": 100, "batch_points": 10_000, "runs": 10, "search_runs": 50, "live_samples": 10}


@dataclass
class Row:
    """One line of the result table; times in seconds, None when not measured."""

    label: str
    ours: float | None
    target: float | None = None
    mlflow: float | None = None
    mlflow_note: str = ""

    @property
    def verdict(self) -> str:
        """pass/FAIL against the target, or '-' without one."""
        if self.target is None or self.ours is None:
            return "-"
        return "pass" if self.ours <= self.target else "FAIL"

    @property
    def ratio(self) -> float | None:
        """MLflow time / nbmlops time: how many times faster nbmlops is."""
        if self.mlflow is None or not self.ours:
            return None
        return self.mlflow / self.ours


# -- helpers --------------------------------------------------------------------------------

def log(msg: str) -> None:
    """Print a progress line with the elapsed time to stderr."""
    print(f"[bench {time.perf_counter() - T0:6.1f}s] {msg}", file=sys.stderr, flush=True)


def fmt_time(seconds: float | None) -> str:
    """A duration in us, ms or s with three significant digits."""
    if seconds is None:
        return "n/a"
    unit, scale = next(((u, k) for u, k in (("s", 1.0), ("ms", 1e-3)) if seconds >= k), ("us", 1e-6))
    value = seconds / scale
    return f"{value:.3g} {unit}" if value < 100 else f"{value:.0f} {unit}"


def fmt_ratio(ratio: float | None) -> str:
    """A speed ratio such as 0.29x, 2.5x or 1,234x."""
    if ratio is None:
        return "n/a"
    return f"{ratio:,.0f}x" if ratio >= 10 else f"{ratio:.2g}x"


def timed(fn: Callable[[], object]) -> tuple[float, object]:
    """Wall time of one call of `fn`, and its result."""
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def median_time(fn: Callable[[], object], repeat: int) -> tuple[float, object]:
    """Median wall time of `repeat` calls of `fn`, and the result of the last call."""
    times, result = [], None
    for _ in range(repeat):
        elapsed, result = timed(fn)
        times.append(elapsed)
    return statistics.median(times), result


def use_store(root: Path, name: str) -> Path:
    """Point this process at a new, empty store folder `root/name`."""
    path = root / name
    nbmlops.set_store(path)
    return path


def spawn_child(mode: str, store: Path) -> tuple[subprocess.Popen[str], IO[str], IO[str]]:
    """Start this script in child mode `mode` on `store`; returns it, its stdin and its stdout."""
    env = {**os.environ, "NBMLOPS_STORE": str(store)}
    child = subprocess.Popen([sys.executable, __file__, f"--child={mode}"], env=env, text=True,
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    if child.stdin is None or child.stdout is None:
        raise RuntimeError("child process has no pipes")
    return child, child.stdin, child.stdout


def settle() -> None:
    """Create this process's tracker and wait for its background provenance look-ups to end."""
    # They run git and scan installed packages; none of that should land in a timed region.
    nbmlops.get_store()
    for thread in threading.enumerate():
        if thread.name.startswith("nbmlops-provenance"):
            thread.join(timeout=CHILD_TIMEOUT_S)


def log_run_10p_5m(i: int, rng: np.random.Generator) -> None:
    """One complete run with 10 params and 5 metrics (param p_k = (i + k) % 10)."""
    with nbmlops.start_run():
        nbmlops.log_params({f"p{k}": (i + k) % 10 for k in range(10)})
        nbmlops.log_metrics({f"m{k}": float(rng.random()) for k in range(5)})


def log_points(n: int) -> None:
    """Log `n` points of metric 'loss' (value i at step i) to the active run."""
    log_metric = nbmlops.log_metric
    for i in range(n):
        log_metric("loss", float(i), step=i)


def make_durable() -> None:
    """Write the buffered points to the journal and fsync it.

    The public API has no flush; this uses the tracker's flush and sync, which is fine for a benchmark.
    """
    t = tracker()
    t.flush()
    if t._writer is None:
        raise RuntimeError("nothing was written: the run has no journal")
    t.sync()


# -- child processes ------------------------------------------------------------------------

def reader_child() -> None:
    """Child mode: once told a run id, time metric_history of its 'loss' metric."""
    settle()  # start-up work is off the clock, like the import
    print("ready", flush=True)
    run_id = sys.stdin.readline().strip()
    elapsed, history = timed(lambda: nbmlops.metric_history(run_id, "loss"))
    print(json.dumps({"seconds": elapsed, "points": len(history)}), flush=True)


def live_child() -> None:
    """Child mode: log the wall-clock time as metric 'tick' every 50 ms until stdin says stop."""
    settle()
    with nbmlops.start_run() as run:
        print(run.run_id, flush=True)
        step = 0
        while True:
            nbmlops.log_metric("tick", time.time(), step=step)
            step += 1
            if select.select([sys.stdin], [], [], LIVE_INTERVAL_S)[0]:
                break  # a line or EOF from the parent


# -- figures --------------------------------------------------------------------------------

def warm_up(root: Path) -> dict[str, float]:
    """One run in a throwaway store, then wait for the first run's background look-ups."""
    use_store(root, "warm-up")
    first, _ = timed(lambda: log_run_10p_5m(0, np.random.default_rng(0)))
    settled, _ = timed(settle)
    log(f"warm-up: first run in this process {fmt_time(first)}, then {fmt_time(settled)} "
        "waiting for its background provenance look-ups")
    return {"first_run_s": first, "settle_s": settled}


def timer_overhead_ns(n: int) -> float:
    """Median cost of the perf_counter_ns pair that brackets each call in bench_log_metric."""
    clock = time.perf_counter_ns
    times = [0] * n
    for i in range(n):
        t0 = clock()
        times[i] = clock() - t0
    return statistics.median(times)


def bench_log_metric(root: Path, n: int) -> dict[str, float]:
    """Median and mean time of one log_metric call inside an active run."""
    use_store(root, "log_metric")
    times, total = time_log_metric(nbmlops.log_metric, nbmlops.start_run, n)
    out = {"median_s": statistics.median(times) * 1e-9, "mean_s": total / n,
           "p99_s": float(np.percentile(times, 99)) * 1e-9, "timer_overhead_s": timer_overhead_ns(n) * 1e-9}
    log(f"log_metric x{n}: median {fmt_time(out['median_s'])}, mean {fmt_time(out['mean_s'])}, "
        f"p99 {fmt_time(out['p99_s'])} (timer pair costs {fmt_time(out['timer_overhead_s'])})")
    return out


def bench_million(root: Path, n: int) -> dict[str, float]:
    """Time to log `n` points and make them durable; then time another process reading them."""
    store = use_store(root, "million")
    reader, to_reader, from_reader = spawn_child("reader", store)
    if from_reader.readline().strip() != "ready":  # imported: its start-up is off the clock
        raise RuntimeError("reader child failed to start")
    with nbmlops.start_run() as run:
        durable, _ = timed(lambda: (log_points(n), make_durable()))
        log(f"{n:,} points logged and fsynced in {fmt_time(durable)}")
        to_reader.write(run.run_id + "\n")
        to_reader.flush()
        answer = json.loads(from_reader.readline())
    reader.wait(timeout=CHILD_TIMEOUT_S)
    if answer["points"] != n:
        raise RuntimeError(f"reader saw {answer['points']} points, expected {n}")
    log(f"{n:,} points visible to another process (metric_history incl. fold) in "
        f"{fmt_time(answer['seconds'])}")
    return {"durable_s": durable, "visible_s": answer["seconds"]}


def bench_run(root: Path, n: int) -> dict[str, float]:
    """Median time of a complete run with 10 params and 5 metrics."""
    use_store(root, "runs")
    rng = np.random.default_rng(4)
    median, _ = median_time(lambda: log_run_10p_5m(0, rng), n)
    log(f"run with 10 params + 5 metrics: median {fmt_time(median)} over {n} runs")
    return {"median_s": median}


def bench_search(root: Path, n: int, sizes: Sizes) -> dict[str, float]:
    """Create `n` runs, fold them, then time runs(where=...) and runs() over all of them."""
    use_store(root, "search")
    rng = np.random.default_rng(3)
    setup, _ = timed(lambda: [log_run_10p_5m(i, rng) for i in range(n)])
    log(f"created {n:,} runs in {fmt_time(setup)} ({fmt_time(setup / n)} per run)")
    fold, _ = timed(lambda: nbmlops.runs(limit=1))
    log(f"first runs(limit=1), folding {n:,} runs into the catalog: {fmt_time(fold)}")
    where_s, found = median_time(lambda: nbmlops.runs(where=WHERE), sizes.where_repeat)
    log(f"runs(where={WHERE!r}): median {fmt_time(where_s)}, {len(found)} rows")
    all_s, every = median_time(nbmlops.runs, sizes.all_repeat)
    log(f"runs(): median {fmt_time(all_s)}, {len(every)} rows")
    return {"setup_s": setup, "setup_per_run_s": setup / n, "fold_s": fold, "where_s": where_s,
            "where_rows": len(found), "all_s": all_s, "all_rows": len(every)}


def bench_history(root: Path, n: int, repeat: int) -> dict[str, float]:
    """Median time of metric_history over `n` points, after a first call that folds them."""
    use_store(root, "history")
    with nbmlops.start_run() as run:
        log_points(n)
    fold, _ = timed(lambda: nbmlops.metric_history(run.run_id, "loss"))
    median, history = median_time(lambda: nbmlops.metric_history(run.run_id, "loss"), repeat)
    if len(history) != n:
        raise RuntimeError(f"metric_history returned {len(history)} points, expected {n}")
    log(f"metric_history of {n:,} points: median {fmt_time(median)} (first call with fold {fmt_time(fold)})")
    return {"median_s": median, "first_with_fold_s": fold}


def bench_live(root: Path, samples: int) -> dict[str, float]:
    """Median delay between a child logging a point and this process first seeing it."""
    store = use_store(root, "live")
    child, to_child, from_child = spawn_child("live", store)
    run_id = from_child.readline().strip()
    if not run_id:
        raise RuntimeError(f"live child failed to start (rc={child.wait(timeout=CHILD_TIMEOUT_S)})")
    delays: dict[int, float] = {}  # step -> delay
    deadline = time.monotonic() + CHILD_TIMEOUT_S
    while len(delays) < samples + 1 and time.monotonic() < deadline:
        try:
            history = nbmlops.metric_history(run_id, "tick")
        except nbmlops.NotFoundError:  # no point folded yet
            history = None
        now = time.time()
        if history is not None:
            for step, value in zip(history["step"].tolist(), history["value"].tolist(), strict=True):
                delays.setdefault(step, now - value)
        time.sleep(POLL_INTERVAL_S)
    to_child.write("stop\n")
    to_child.close()
    child.wait(timeout=CHILD_TIMEOUT_S)
    after_first = [delays[s] for s in sorted(delays) if s > 0]
    if child.returncode != 0 or len(after_first) < samples:
        raise RuntimeError(f"live child failed (rc={child.returncode}, samples={len(after_first)})")
    median = statistics.median(after_first)
    log(f"live visibility: median {fmt_time(median)} over {len(after_first)} points "
        f"(min {fmt_time(min(after_first))}, max {fmt_time(max(after_first))})")
    return {"median_s": median, "samples": len(after_first), "min_s": min(after_first),
            "max_s": max(after_first)}


def measure_nbmlops(root: Path, sizes: Sizes) -> dict[str, dict[str, float]]:
    """Every nbmlops figure, each in a fresh store under `root`."""
    out = {
        "warm_up": warm_up(root),
        "log_metric": bench_log_metric(root, sizes.log_metric_calls),
        "million": bench_million(root, sizes.million_points),
        "run_10p_5m": bench_run(root, sizes.runs),
        "search": bench_search(root, sizes.search_runs, sizes),
        "history": bench_history(root, sizes.history_points, sizes.history_repeat),
        "live": bench_live(root, sizes.live_samples),
    }
    use_store(root, "closed")  # closes the last journal; this store is never created
    gc.collect()
    return out


# -- MLflow ---------------------------------------------------------------------------------

def measure_mlflow(sizes: dict[str, int]) -> dict[str, Any] | None:
    """MLflow's figures from its own virtualenv, or None when it cannot be set up or run."""
    sys.path.insert(0, str(HERE))
    from mlflow_env import ensure_mlflow_venv, run_mlflow_workload

    log("setting up the MLflow virtualenv (first time: a few minutes)")
    python = ensure_mlflow_venv(HERE)
    if python is None:
        log("MLflow unavailable: its column shows n/a")
        return None
    log(f"running the MLflow workload {sizes}")
    try:
        return run_mlflow_workload(python, **sizes)
    except (RuntimeError, ValueError, OSError, subprocess.TimeoutExpired) as exc:
        log(f"MLflow workload failed ({exc}): its column shows n/a")
        return None


# -- report ---------------------------------------------------------------------------------

def build_rows(ours: dict[str, dict[str, float]], mlf: dict[str, Any] | None, sizes: Sizes,
               mlflow_sizes: dict[str, int]) -> list[Row]:
    """The table rows: each nbmlops figure with its target and MLflow's matching figure."""
    m = mlf or {}
    search_runs = mlflow_sizes["search_runs"]
    batch_points = m.get("log_batch_points", mlflow_sizes["batch_points"])
    million = sizes.million_points
    extrapolated = m["log_batch_100k_s"] * million / batch_points if mlf else None
    s = ours["search"]
    return [
        Row(f"log_metric, median per call ({sizes.log_metric_calls:,} calls)",
            ours["log_metric"]["median_s"], TARGET_LOG_METRIC, m.get("log_metric_median_s"),
            f"(median of {mlflow_sizes['metric_calls']})"),
        Row("log_metric, mean per call (loop time / n)", ours["log_metric"]["mean_s"]),
        Row(f"{million:,} points logged + fsynced", ours["million"]["durable_s"], TARGET_MILLION,
            extrapolated, f"(log_batch, extrapolated from {batch_points // 1000}k)"),
        Row(f"{million:,} points visible to another process", ours["million"]["visible_s"]),
        Row(f"run with 10 params + 5 metrics (median of {sizes.runs})", ours["run_10p_5m"]["median_s"],
            TARGET_RUN, m.get("run_10p_5m_s"), f"(median of {mlflow_sizes['runs']})"),
        Row(f"create {sizes.search_runs:,} runs (10p+5m), per run", s["setup_per_run_s"], None,
            m["search_setup_s"] / search_runs if mlf else None, f"({search_runs} runs)"),
        Row(f"runs(where=...) over {sizes.search_runs:,} runs ({s['where_rows']} rows)", s["where_s"],
            TARGET_WHERE, m.get("search_runs_s"),
            f"({search_runs} runs, {m['search_runs_n']} rows)" if mlf else ""),
        Row(f"runs(), all {s['all_rows']:,} rows", s["all_s"]),
        Row(f"metric_history, {sizes.history_points:,} points", ours["history"]["median_s"],
            TARGET_HISTORY, m.get("metric_history_100k_s"), f"({batch_points // 1000}k points)"),
        Row(f"live visibility, median delay ({ours['live']['samples']} points)", ours["live"]["median_s"],
            TARGET_LIVE, m.get("live_visibility_s"), "(10 points)"),
    ]


def print_table(rows: list[Row], title: str) -> None:
    """Print the result table to stdout."""
    header = ["figure", "nbmlops", "target", "vs target", "MLflow", "MLflow / nbmlops"]
    lines = [[r.label, fmt_time(r.ours), f"<= {fmt_time(r.target)}" if r.target else "-", r.verdict,
              f"{fmt_time(r.mlflow)} {r.mlflow_note}".strip() if r.mlflow is not None else "n/a",
              fmt_ratio(r.ratio)] for r in rows]
    widths = [max(len(row[i]) for row in [header, *lines]) for i in range(len(header))]
    rule = "  ".join("-" * w for w in widths)
    print(f"\n{title}")
    print("  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)))
    print(rule)
    for line in lines:
        cells = [c.ljust(w) if i in (0, 3, 4) else c.rjust(w)
                 for i, (c, w) in enumerate(zip(line, widths, strict=True))]
        print("  ".join(cells).rstrip())
    print(rule, flush=True)


def environment() -> dict[str, Any]:
    """Versions and machine facts that the figures depend on."""
    return {"nbmlops": nbmlops.__version__, "duckdb": duckdb.__version__, "numpy": np.__version__,
            "python": platform.python_version(), "platform": platform.platform(),
            "cpus": os.cpu_count(), "loadavg_at_start": os.getloadavg()}


def parse_args() -> argparse.Namespace:
    """Command-line flags (and the hidden child mode)."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--no-mlflow", action="store_true", help="skip MLflow (its column shows n/a)")
    parser.add_argument("--quick", action="store_true", help="~10x smaller sizes for a smoke run")
    parser.add_argument("--child", choices=["reader", "live"], help=argparse.SUPPRESS)
    return parser.parse_args()


def main() -> None:
    """Measure nbmlops, then MLflow, then print the table and write the JSON results."""
    args = parse_args()
    if args.child:
        {"reader": reader_child, "live": live_child}[args.child]()
        return
    env = environment()  # before the load we add ourselves
    sizes, mlflow_sizes = (QUICK, MLFLOW_QUICK) if args.quick else (FULL, MLFLOW_FULL)
    log(f"nbmlops {nbmlops.__version__}, sizes {asdict(sizes)}")
    with tempfile.TemporaryDirectory(prefix="nbmlops-bench-") as tmp:
        ours = measure_nbmlops(Path(tmp), sizes)
    ours_s = time.perf_counter() - T0
    mlf = None if args.no_mlflow else measure_mlflow(mlflow_sizes)
    total = time.perf_counter() - T0
    rows = build_rows(ours, mlf, sizes, mlflow_sizes)
    quick = ", QUICK sizes: targets are for full sizes" if args.quick else ""
    title = (f"nbmlops {nbmlops.__version__} vs MLflow {mlf['mlflow_version'] if mlf else 'n/a'} "
             f"(SQLite store), {os.cpu_count()} CPUs{quick}")
    print_table(rows, title)
    print(f"total {total:.0f} s (nbmlops {ours_s:.0f} s, MLflow {total - ours_s:.0f} s); "
          f"results in {RESULTS.relative_to(HERE.parent)}")
    RESULTS.write_text(json.dumps({
        "quick": args.quick, "sizes": asdict(sizes), "mlflow_sizes": None if args.no_mlflow else mlflow_sizes,
        "environment": env, "nbmlops": ours, "mlflow": mlf,
        "table": [{**asdict(r), "verdict": r.verdict, "ratio": r.ratio} for r in rows],
        "seconds": {"total": total, "nbmlops": ours_s, "mlflow": total - ours_s},
    }, indent=2) + "\n")


if __name__ == "__main__":
    main()
