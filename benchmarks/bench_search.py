"""Search latency after many short runs, each written by its own process (issue 13, item 2).

    .venv/bin/python benchmarks/bench_search.py                      # 500 runs, then 10,000 runs
    .venv/bin/python benchmarks/bench_search.py --runs 100 --big 0   # a smoke run
    .venv/bin/python benchmarks/bench_search.py --nbmlops-path /tmp/old   # another checkout (before/after)

Store 1: 500 runs (10 params + 5 metrics), each written by its own process: a writer process
imports nbmlops once and forks one child per run, a few at a time, so every run has its own
journal, pid and flock, as 500 fresh processes would. Then a new process (nbmlops imported off the
clock) times its first `runs(where=...)` (which folds the 500 journals), then the median of 50
more (answered from memory), then another question half a second later (the catalog lease has
closed: it is opened again); a new writer process then adds one run, and the next `runs()` (it
folds that one) is timed too.
Store 1 is copied and measured this way by 5 fresh processes (figures: medians; the first calls
vary most on a busy machine). Store 2: 10,000 runs written by 4 processes, measured once.
Progress goes to stderr, the table to stdout. Benchmarks report, they never assert.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchlog import fmt_time, log

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
WHERE = "metrics.m0 > 0.5 and params.p0 = 3"
TARGET_FIRST_S = 0.050
TARGET_WARM_S = 0.003
TARGET_BIG_S = 0.100
TRACKIO_WARM_S, TRACKIO_FIRST_S = 0.003, 0.004  # the peer table (500 runs)
BEFORE = {"first": 0.391, "warm": 0.031}  # the figures for nbmlops (500 runs)
CHILD_TIMEOUT_S = 600


# -- child processes -------------------------------------------------------------------------

def _one_run(i: int) -> None:
    import nbmlops

    with nbmlops.start_run():
        nbmlops.log_params({f"p{k}": (i + k) % 10 for k in range(10)})
        nbmlops.log_metrics({f"m{k}": ((i * 7919 + k * 104729) % 1000) / 1000 for k in range(5)})


def writers(runs: int, first: int, parallel: int) -> None:
    """Write `runs` runs, each from its own forked process (so each has its own journal)."""
    import nbmlops
    from nbmlops.tracking import tracker as tracking

    nbmlops.get_store()
    tracking.tracker().wait_for_provenance()  # children inherit the finished look-up
    alive: list[int] = []
    for i in range(first, first + runs):
        if len(alive) >= parallel:
            _reap(alive.pop(0))
        pid = os.fork()
        if pid == 0:
            code = 0
            try:
                _one_run(i)
                tracking._at_exit()  # end the run and close the journal, as interpreter exit would
            except BaseException:  # noqa: BLE001 - the parent reports the failure
                code = 1
            os._exit(code)
        alive.append(pid)
    for pid in alive:
        _reap(pid)


def _reap(pid: int) -> None:
    _, status = os.waitpid(pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"writer child {pid} failed")


def sequential_writer(runs: int, first: int) -> None:
    """Write `runs` runs in this one process (one journal)."""
    for i in range(first, first + runs):
        _one_run(i)


def init() -> None:
    """Create the store and its catalog, as `nbmlops init` does (not part of any figure)."""
    import nbmlops

    store = nbmlops.get_store()
    store.init()
    store.release()


def measure(repeat: int) -> None:
    """Time the first search of this fresh process and the median of `repeat` more; print JSON."""
    import nbmlops

    nbmlops.get_store()  # the tracker exists; nothing read yet
    start = time.perf_counter()
    found = nbmlops.runs(where=WHERE)
    first = time.perf_counter() - start
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        again = nbmlops.runs(where=WHERE)
        times.append(time.perf_counter() - start)
    if not found.equals(again):
        raise RuntimeError("a warm search returned other data than the first")
    time.sleep(0.5)  # the catalog lease is closed by now, as between two cells
    start = time.perf_counter()
    nbmlops.runs(where="metrics.m1 < 0.5 and params.p2 = 4")
    other = time.perf_counter() - start
    every = len(nbmlops.runs())
    print(json.dumps({"first_s": first, "warm_s": statistics.median(times), "rows": len(found),
                      "runs": every, "other_s": other}), flush=True)
    # One more run from another process, then the next search must see it (and fold only it).
    child("sequential", str(nbmlops.get_store().root), "--runs", "1", "--first", str(every))
    start = time.perf_counter()
    after = nbmlops.runs()
    new_s = time.perf_counter() - start
    print(json.dumps({"after_new_run_s": new_s, "runs_after": len(after)}), flush=True)


# -- the parent ------------------------------------------------------------------------------

def child(mode: str, store: str, *args: str, path: str | None = None) -> list[dict[str, float]]:
    """Run this script in `mode` on `store` in a new process; the JSON lines it printed."""
    env = {**os.environ, "NBMLOPS_STORE": store, "PYTHONPATH": path or str(ROOT)}
    out = subprocess.run([sys.executable, __file__, f"--child={mode}", *args], env=env, text=True,
                         capture_output=True, timeout=CHILD_TIMEOUT_S)
    if out.returncode != 0:
        raise RuntimeError(f"{mode} child failed:\n{out.stdout}\n{out.stderr}")
    return [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]


def fold_lag(store: Path, timeout: float = 30.0) -> float:
    """Seconds until every journal of `store` (all closed: the writers exited) was folded and retired
    by the background fold and the catalog closed, or until no fold runs (turned off, or an older checkout): the copies
    measured next must not be taken while a fold writes the catalog."""
    import fcntl

    start = time.perf_counter()
    journals = store / "journals"
    wal = store / "store.duckdb.wal"  # present while the folder holds the catalog open
    while time.perf_counter() - start < timeout and (any(journals.glob("*.jnl")) or wal.exists()):
        fd = os.open(journals / ".fold.lock", os.O_RDWR | os.O_CREAT)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            break  # nobody folds: the first search will
        except OSError:
            pass
        finally:
            os.close(fd)
        time.sleep(0.005)
    return time.perf_counter() - start


def load() -> str:
    return " ".join(f"{v:.2f}" for v in os.getloadavg())


def workload(root: Path, name: str, runs: int, writer_procs: int, repeat: int, path: str | None,
             copies: int) -> dict:
    store = str(root / name)
    child("init", store, path=path)
    start = time.perf_counter()
    if writer_procs == 0:  # one process per run
        child("writers", store, "--runs", str(runs), "--parallel", "4", path=path)
    else:
        per = runs // writer_procs
        procs = [subprocess.Popen(
            [sys.executable, __file__, "--child=sequential", "--runs", str(per), "--first", str(k * per)],
            env={**os.environ, "NBMLOPS_STORE": store, "PYTHONPATH": path or str(ROOT)})
            for k in range(writer_procs)]
        if any(p.wait(timeout=CHILD_TIMEOUT_S) for p in procs):
            raise RuntimeError("a writer failed")
    written = time.perf_counter()
    lag = fold_lag(root / name)
    journals = len(list((root / name / "journals" / "done").glob("*.jnl"))) + len(
        list((root / name / "journals").glob("*.jnl")))
    log(f"{name}: {runs:,} runs written in {written - start:.1f} s ({journals} journals); the background "
        f"fold was done {fmt_time(lag)} after the last writer exited")
    at_load = load()
    results = []
    for k in range(copies):  # the same written store, measured afresh: first calls vary most
        copy = root / f"{name}-{k}"
        shutil.copytree(store, copy)
        first, after = child("measure", str(copy), "--repeat", str(repeat), path=path)
        results.append({**first, **after})
    result = {key: statistics.median(r[key] for r in results) for key in results[0]}
    result.update(rows=results[0]["rows"], runs=results[0]["runs"])
    result.update(load=at_load, journals=journals, firsts=sorted(r["first_s"] for r in results), fold_lag_s=lag)
    log(f"{name}: first {fmt_time(result['first_s'])} (of {', '.join(map(fmt_time, result['firsts']))}), "
        f"warm {fmt_time(result['warm_s'])} "
        f"({result['rows']} rows of {result['runs']}), after one new run {fmt_time(result['after_new_run_s'])}; "
        f"load {at_load}")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--runs", type=int, default=500)
    parser.add_argument("--first", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--parallel", type=int, default=4, help=argparse.SUPPRESS)
    parser.add_argument("--repeat", type=int, default=50)
    parser.add_argument("--copies", type=int, default=5, help="fresh processes measuring copies of store 1")
    parser.add_argument("--big", type=int, default=10_000, help="runs of the second store (0: skip)")
    parser.add_argument("--nbmlops-path", help="import nbmlops from this folder instead (before/after)")
    args = parser.parse_args()
    if args.child == "writers":
        return writers(args.runs, args.first, args.parallel)
    if args.child == "sequential":
        return sequential_writer(args.runs, args.first)
    if args.child == "init":
        return init()
    if args.child == "measure":
        return measure(args.repeat)
    with tempfile.TemporaryDirectory(prefix="nbmlops-bench-search-") as tmp:
        small = workload(Path(tmp), "small", args.runs, 0, args.repeat, args.nbmlops_path, args.copies)
        big = workload(Path(tmp), "big", args.big, 4, 20, args.nbmlops_path, 1) if args.big else None
    n = args.runs
    rows = [
        (f"background fold done, after the last of {n} writer processes exited", small["fold_lag_s"], None,
         None, small["load"]),
        (f"first runs(where=...) after {n} runs from {n} processes, median of {args.copies} processes",
         small["first_s"], TARGET_FIRST_S,
         BEFORE["first"], small["load"]),
        (f"warm runs(where=...) over {n} runs, median of {args.repeat}", small["warm_s"], TARGET_WARM_S,
         BEFORE["warm"], small["load"]),
        (f"another question over {n} runs, nothing new written (catalog reopened)", small["other_s"], None,
         None, small["load"]),
        (f"runs() after one more run from another process ({n + 1} runs)", small["after_new_run_s"], None,
         None, small["load"]),
    ]
    if big:
        rows += [
            (f"first runs(where=...) after {args.big:,} runs from 4 processes", big["first_s"], None, None,
             big["load"]),
            (f"warm runs(where=...) over {args.big:,} runs, median of 20", big["warm_s"], TARGET_BIG_S, None,
             big["load"]),
            (f"another question over {args.big:,} runs (catalog reopened)", big["other_s"], TARGET_BIG_S, None,
             big["load"]),
            (f"runs() after one more run ({args.big + 1:,} runs)", big["after_new_run_s"], None, None, big["load"]),
        ]
    print(f"\n| {time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores | measured | target | measured / target "
          "| issue's figure | load average |")
    print("|---|---|---|---|---|---|")
    for label, value, target, before, at_load in rows:
        ratio = f"{value / target:.2f}" if target else "-"
        print(f"| {label} | {fmt_time(value)} | {'<= ' + fmt_time(target) if target else '-'} | {ratio} "
              f"| {fmt_time(before) if before else '-'} | {at_load} |")
    print(f"\ntrackio (the issue's table, 500 runs): first {fmt_time(TRACKIO_FIRST_S)}, warm "
          f"{fmt_time(TRACKIO_WARM_S)}; ours / trackio: first {small['first_s'] / TRACKIO_FIRST_S:.2g}, "
          f"warm {small['warm_s'] / TRACKIO_WARM_S:.2g}")


if __name__ == "__main__":
    main()
