"""Progress lines and duration formatting shared by the benchmark scripts (never by the product)."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Any

T0 = time.perf_counter()


def log(msg: str) -> None:
    """Print a progress line with the elapsed time to stderr."""
    print(f"[bench {time.perf_counter() - T0:6.1f}s] {msg}", file=sys.stderr, flush=True)


def fmt_time(seconds: float) -> str:
    """A duration in us, ms or s with three significant digits."""
    unit, scale = next(((u, k) for u, k in (("s", 1.0), ("ms", 1e-3)) if seconds >= k), ("us", 1e-6))
    return f"{seconds / scale:.3g} {unit}"


def time_log_metric(log_metric: Callable[..., None], start_run: Callable[[], Any],
                    n: int) -> tuple[list[int], float]:
    """`n` log_metric calls in one run, each timed with perf_counter_ns; and the whole loop in seconds."""
    clock = time.perf_counter_ns
    times = [0] * n
    with start_run():
        start = time.perf_counter()
        for i in range(n):
            t0 = clock()
            log_metric("loss", float(i), step=i)
            times[i] = clock() - t0
        total = time.perf_counter() - start
    return times, total
