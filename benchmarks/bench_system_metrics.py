"""What recording system metrics costs: the sampler's CPU as a share of one core, and a short run's time.

    .venv/bin/python benchmarks/bench_system_metrics.py [--seconds 60] [--runs 300]

1. For each interval (the default 5 s, and 1 s), a run is started in a scratch store and left idle
   for --seconds (at least 30). The sampler thread's CPU time is read from the thread's own CPU
   clock (time.pthread_getcpuclockid: nanoseconds, read from outside, no change to the product),
   once right after the run starts and once just before it ends, so the figure covers the sampler
   in its steady state: the baseline's psutil import and NVML's first look are counted apart (they
   happen once per process, then once per run for the priming). Also printed: the whole process's
   CPU time over the same idle run against the same run with sampling off, which adds what the
   flusher spends writing the points.
2. A short run (start_run + end_run, nothing logged) --runs times with sampling on and off: the
   median time each, i.e. what the baseline and end samples add to a `%%track` cell.

The goal is at most 1% of a core at the default interval. Benchmarks report, they never assert.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import threading
import time

from benchlog import fmt_time, log

import nbmlops
from nbmlops.tracking import system

SETTLE_S = 0.5  # after the run starts: the baseline sample is taken (at 0.1 s) and its one-off costs paid


def thread_cpu(thread: threading.Thread) -> float:
    """CPU seconds `thread` has used so far."""
    assert thread.ident is not None
    return time.clock_gettime(time.pthread_getcpuclockid(thread.ident))


def sampler_thread() -> threading.Thread:
    return next(t for t in threading.enumerate() if t.name == "nbmlops-system-metrics")


def idle_run(interval: float, seconds: float, sampled: bool) -> dict[str, float]:
    """An idle run of `seconds`: the sampler's CPU seconds and samples, and the process's CPU seconds."""
    run = nbmlops.start_run(name=f"idle-{interval:g}s", system_metrics=sampled, system_metrics_interval=interval)
    time.sleep(SETTLE_S)
    thread = sampler_thread() if sampled else None
    cpu0 = thread_cpu(thread) if thread else 0.0
    process0, wall0 = time.process_time(), time.monotonic()
    time.sleep(seconds)
    cpu1 = thread_cpu(thread) if thread else 0.0
    process1, wall1 = time.process_time(), time.monotonic()
    nbmlops.end_run()
    samples = len(nbmlops.metric_history(run.run_id, "system/memory_percent")) if sampled else 0
    return {"sampler_s": cpu1 - cpu0, "process_s": process1 - process0, "wall_s": wall1 - wall0,
            "samples": samples}


def short_runs(n: int, sampled: bool) -> float:
    """The median time of start_run + end_run with nothing logged."""
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        nbmlops.start_run(system_metrics=sampled)
        nbmlops.end_run()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def pct(cpu_s: float, wall_s: float) -> str:
    return f"{100 * cpu_s / wall_s:.3f}%"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="idle run length per interval (>= 30)")
    parser.add_argument("--runs", type=int, default=300, help="short runs per setting")
    args = parser.parse_args()
    os.environ.pop(system.SWITCH_ENV, None)
    os.environ.pop(system.INTERVAL_ENV, None)
    with tempfile.TemporaryDirectory(prefix="bench-system-") as scratch:
        nbmlops.init(scratch)
        nbmlops.start_run(name="warm-up", system_metrics_interval=0.2)  # imports and NVML's look, once
        time.sleep(0.3)
        nbmlops.end_run()
        print(f"cores: {os.cpu_count()}, load average at start: {os.getloadavg()[0]:.2f}")
        print("| interval | idle run | samples | sampler CPU | sampler, % of a core | per sample | "
              "process CPU on / off |")
        print("|---|---|---|---|---|---|---|")
        for interval in (system.DEFAULT_INTERVAL, 1.0):
            log(f"idle run, interval {interval:g} s, {args.seconds:g} s with sampling, then without")
            on = idle_run(interval, args.seconds, True)
            off = idle_run(interval, args.seconds, False)
            per_sample = on["sampler_s"] / max(1, on["samples"] - 1)  # the baseline fell before the window
            print(f"| {interval:g} s | {on['wall_s']:.0f} s | {on['samples']:.0f} | {fmt_time(on['sampler_s'])} | "
                  f"{pct(on['sampler_s'], on['wall_s'])} | {fmt_time(per_sample)} | "
                  f"{pct(on['process_s'], on['wall_s'])} / {pct(off['process_s'], off['wall_s'])} |")
        log(f"{args.runs} short runs with sampling, then without")
        with_sampling, without = short_runs(args.runs, True), short_runs(args.runs, False)
        print(f"short run (start_run + end_run, median of {args.runs}): {fmt_time(with_sampling)} with sampling, "
              f"{fmt_time(without)} without (+{fmt_time(with_sampling - without)})")


if __name__ == "__main__":
    main()
