"""How fast a live point reaches another process, and what the write cadence costs.

    .venv/bin/python benchmarks/bench_live.py [--nbmlops-path DIR] [--samples N]

A child process logs `time.time()` as metric 'tick' every 50 ms in an active run (as
bench_core.py's live child does). This process measures, for each step, when it first appears:
  1. in the child's journal bytes (complete frames only, as a reader folds them): the write
     cadence's share of the delay;
  2. in `nbmlops.metric_history` in this process: the delay a user sees, query time included.
Then, in this process: the `log_metric` median per call (bench_core's method), the journal bytes
for 100,000 points logged over 5 s, and the CPU time of an idle tracker over 5 s (with an active
run and nothing logged, and with no run).

`--nbmlops-path DIR` imports nbmlops from DIR (e.g. a copy of an older commit made with
`git archive COMMIT nbmlops | tar -x -C DIR`), in this process and in the child, to measure before
and after a change side by side. Benchmarks report, they never assert.
"""

from __future__ import annotations

import argparse
import os
import select
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from benchlog import time_log_metric

LIVE_INTERVAL_S = 0.05  # the child logs a point every 50 ms ...
POLL_INTERVAL_S = 0.01  # ... and this process polls the query at 100 Hz, as bench_core does
BYTES_POLL_S = 0.002  # journal bytes are cheap to look at: poll them at 500 Hz
CHILD_TIMEOUT_S = 120
T0 = time.perf_counter()


def log(msg: str) -> None:
    """A progress line with the elapsed time and the load average, to stderr."""
    load = "/".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"[bench_live {time.perf_counter() - T0:5.1f}s load {load}] {msg}", file=sys.stderr, flush=True)


def ms(seconds: float) -> str:
    return f"{seconds * 1e3:.1f} ms"


def summary(delays: list[float]) -> dict[str, float]:
    ordered = sorted(delays)
    return {"n": len(ordered), "median_s": statistics.median(ordered),
            "p90_s": ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))], "max_s": ordered[-1]}


def settle() -> None:
    """Wait for the tracker's background provenance look-ups (git, packages) to end."""
    for thread in threading.enumerate():
        if thread.name.startswith("nbmlops-provenance"):
            thread.join(timeout=CHILD_TIMEOUT_S)


def live_child() -> None:
    """Child mode: log the wall-clock time as 'tick' every 50 ms until stdin says stop."""
    import nbmlops
    nbmlops.get_store()
    settle()
    with nbmlops.start_run() as run:
        print(run.run_id, flush=True)
        step = 0
        while True:
            nbmlops.log_metric("tick", time.time(), step=step)
            step += 1
            if select.select([sys.stdin], [], [], LIVE_INTERVAL_S)[0]:
                break


def journal_ticks(store: Path, offsets: dict[Path, int]) -> list[tuple[int, float]]:
    """(step, logged-at) of the points in journal frames completed since the last call."""
    from nbmlops.store.journal import read_frames
    found = []
    for path in sorted((store / "journals").glob("[!.]*.jnl")):  # hidden ones are being created
        result = read_frames(path, offsets.get(path, 0))
        offsets[path] = result.end
        for frame in result.frames:
            if frame.points is not None:
                found.extend(zip(frame.points["step"].tolist(), frame.points["value"].tolist(), strict=True))
    return found


def bench_visibility(root: Path, samples: int, env: dict[str, str]) -> dict[str, Any]:
    """Delays of `samples` points seen in the journal bytes, then of `samples` more seen by a query."""
    import nbmlops
    store = root / "live"
    nbmlops.set_store(store)
    child = subprocess.Popen([sys.executable, __file__, "--child"], env={**env, "NBMLOPS_STORE": str(store)},
                             text=True, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    assert child.stdin is not None and child.stdout is not None
    run_id = child.stdout.readline().strip()
    if not run_id:
        raise RuntimeError(f"live child failed to start (rc={child.wait(timeout=CHILD_TIMEOUT_S)})")
    deadline = time.monotonic() + CHILD_TIMEOUT_S
    # 1. Journal bytes: the write cadence alone (a reader folds complete frames only).
    offsets: dict[Path, int] = {}
    in_bytes: dict[int, float] = {}
    while len(in_bytes) < samples + 1 and time.monotonic() < deadline:
        ticks = journal_ticks(store, offsets)
        now = time.time()
        for step, logged in ticks:
            in_bytes.setdefault(step, now - logged)
        time.sleep(BYTES_POLL_S)
    first_query_step = max(in_bytes, default=0) + 2  # points the query phase may claim as its own
    # 2. metric_history: what a user in another notebook sees, the query's own time included.
    in_query: dict[int, float] = {}
    query_times: list[float] = []
    while len(in_query) < samples and time.monotonic() < deadline:
        start = time.perf_counter()
        try:
            history = nbmlops.metric_history(run_id, "tick")
        except nbmlops.NotFoundError:
            history = None
        query_times.append(time.perf_counter() - start)
        now = time.time()
        if history is not None:
            for step, logged in zip(history["step"].tolist(), history["value"].tolist(), strict=True):
                if step >= first_query_step:
                    in_query.setdefault(step, now - logged)
        time.sleep(POLL_INTERVAL_S)
    child.stdin.write("stop\n")
    child.stdin.close()
    child.wait(timeout=CHILD_TIMEOUT_S)
    bytes_delays = [in_bytes[s] for s in sorted(in_bytes) if s > 0]
    if child.returncode != 0 or len(bytes_delays) < samples or len(in_query) < samples:
        raise RuntimeError(f"live child failed (rc={child.returncode}, {len(bytes_delays)}/{len(in_query)} samples)")
    out = {"journal": summary(bytes_delays), "query": summary(list(in_query.values())),
           "query_call_median_s": statistics.median(query_times)}
    for name in ("journal", "query"):
        s = out[name]
        log(f"visible in {name:7}: median {ms(s['median_s'])}, p90 {ms(s['p90_s'])}, max {ms(s['max_s'])} "
            f"over {s['n']} points")
    log(f"metric_history call itself: median {ms(out['query_call_median_s'])}")
    return out


def bench_log_metric(root: Path, n: int) -> dict[str, float]:
    """Median (each call timed with perf_counter_ns) and mean per log_metric call in a run."""
    import nbmlops
    nbmlops.set_store(root / "log_metric")
    times, total = time_log_metric(nbmlops.log_metric, nbmlops.start_run, n)
    out = {"median_s": statistics.median(times) * 1e-9, "mean_s": total / n}
    log(f"log_metric x{n:,}: median {out['median_s'] * 1e6:.2f} us, mean {out['mean_s'] * 1e6:.2f} us")
    return out


def journal_files(store: Path) -> list[Path]:
    return sorted(store.rglob("*.jnl"))


def journal_size(store: Path) -> tuple[int, int]:
    """Bytes and frames of every journal of `store`."""
    from nbmlops.store.journal import read_frames
    files = journal_files(store)
    return sum(p.stat().st_size for p in files), sum(len(read_frames(p, 0).frames) for p in files)


def bench_journal_size(root: Path, points: int, seconds: float) -> dict[str, float]:
    """Journal bytes and frames for `points` points logged at an even pace over `seconds`."""
    import nbmlops
    from nbmlops.store.journal import POINT_DTYPE
    store = root / "size"
    nbmlops.set_store(store)
    nbmlops.get_store()
    settle()
    ticks = 250  # blocks of points, one every seconds/ticks
    per_tick = points // ticks
    with nbmlops.start_run():
        start = time.monotonic()
        for t in range(ticks):
            for i in range(t * per_tick, (t + 1) * per_tick):
                nbmlops.log_metric("loss", float(i), step=i)
            pause = start + (t + 1) * seconds / ticks - time.monotonic()
            if pause > 0:
                time.sleep(pause)
    size, frames = journal_size(store)
    raw = points * POINT_DTYPE.itemsize
    out = {"bytes": size, "frames": frames, "raw_point_bytes": raw, "overhead": size / raw - 1}
    log(f"{points:,} points over {seconds:.0f} s: journal {size:,} bytes in {frames} frames "
        f"({out['overhead']:.2%} above the {raw:,} bytes of packed points)")
    return out


def bench_burst(root: Path, points: int) -> dict[str, float]:
    """A tight loop of `points` log_metric calls, then flush and fsync: time, journal bytes and frames."""
    import nbmlops
    from nbmlops.tracking.tracker import tracker
    store = root / "burst"
    nbmlops.set_store(store)
    log_metric = nbmlops.log_metric
    with nbmlops.start_run():
        start = time.perf_counter()
        for i in range(points):
            log_metric("loss", float(i), step=i)
        tracker().flush()
        tracker().sync()
        took = time.perf_counter() - start
    size, frames = journal_size(store)
    out = {"seconds": took, "bytes": size, "frames": frames}
    log(f"{points:,} points in a tight loop, written and fsynced: {took:.2f} s, "
        f"{out['bytes']:,} bytes in {out['frames']} frames")
    return out


def idle_cpu(root: Path, seconds: float) -> dict[str, float]:
    """CPU time (all threads) and journal growth of an idle tracker, with an active run and without."""
    import nbmlops
    store = root / "idle"
    nbmlops.set_store(store)
    out: dict[str, float] = {}
    with nbmlops.start_run():
        nbmlops.log_metric("x", 1.0)
        time.sleep(1.5)  # the point and the run start are written; the flusher goes idle
        before = sum(p.stat().st_size for p in journal_files(store))
        cpu = time.process_time()
        time.sleep(seconds)
        out["active_run_cpu_s"] = time.process_time() - cpu
        out["active_run_bytes_written"] = sum(p.stat().st_size for p in journal_files(store)) - before
    time.sleep(1.5)
    cpu = time.process_time()
    time.sleep(seconds)
    out["no_run_cpu_s"] = time.process_time() - cpu
    log(f"idle {seconds:.0f} s with an active run: {out['active_run_cpu_s'] * 1e3:.1f} ms CPU, "
        f"{out['active_run_bytes_written']:.0f} bytes written; with no run: {out['no_run_cpu_s'] * 1e3:.1f} ms CPU")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--nbmlops-path", help="import nbmlops from this folder (holding nbmlops/)")
    parser.add_argument("--samples", type=int, default=60, help="points per visibility figure")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    env = dict(os.environ)
    if args.nbmlops_path:
        path = str(Path(args.nbmlops_path).resolve())
        sys.path.insert(0, path)
        env["PYTHONPATH"] = os.pathsep.join([path, *filter(None, [env.get("PYTHONPATH")])])
    if args.child:
        live_child()
        return
    import nbmlops
    log(f"nbmlops from {Path(nbmlops.__file__).parent}")
    with tempfile.TemporaryDirectory(prefix="nbmlops-bench-live-") as tmp:
        root = Path(tmp)
        nbmlops.set_store(root / "warm-up")
        with nbmlops.start_run():
            nbmlops.log_metric("warm", 1.0)
        nbmlops.metric_history(nbmlops.runs(limit=1)["run_id"][0], "warm")
        settle()
        visible = bench_visibility(root, args.samples, env)
        calls = bench_log_metric(root, 200_000)
        size = bench_journal_size(root, 100_000, 5.0)
        burst = bench_burst(root, 1_000_000)
        idle = idle_cpu(root, 5.0)
    j, q = visible["journal"], visible["query"]
    print(f"nbmlops from {Path(nbmlops.__file__).parent}; load average {os.getloadavg()[0]:.2f}")
    print(f"| live point in the journal bytes | median {ms(j['median_s'])}, p90 {ms(j['p90_s'])}, "
          f"max {ms(j['max_s'])} ({j['n']} points) |")
    print(f"| live point in metric_history | median {ms(q['median_s'])}, p90 {ms(q['p90_s'])}, "
          f"max {ms(q['max_s'])} ({q['n']} points); the call itself {ms(visible['query_call_median_s'])} |")
    print(f"| log_metric per call | median {calls['median_s'] * 1e6:.2f} us, mean {calls['mean_s'] * 1e6:.2f} us |")
    print(f"| journal for 100k points over 5 s | {size['bytes']:,} bytes, {size['frames']} frames, "
          f"{size['overhead']:.2%} above packed points |")
    print(f"| 1M points in a tight loop, written + fsynced | {burst['seconds']:.2f} s, {burst['bytes']:,} bytes, "
          f"{burst['frames']} frames |")
    print(f"| idle 5 s, active run / no run | {idle['active_run_cpu_s'] * 1e3:.1f} ms / "
          f"{idle['no_run_cpu_s'] * 1e3:.1f} ms CPU, {idle['active_run_bytes_written']:.0f} bytes written |")


if __name__ == "__main__":
    main()
