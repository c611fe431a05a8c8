"""Progress lines and duration formatting shared by the benchmark scripts (never by the product)."""

from __future__ import annotations

import sys
import time

T0 = time.perf_counter()


def log(msg: str) -> None:
    """Print a progress line with the elapsed time to stderr."""
    print(f"[bench {time.perf_counter() - T0:6.1f}s] {msg}", file=sys.stderr, flush=True)


def fmt_time(seconds: float) -> str:
    """A duration in us, ms or s with three significant digits."""
    unit, scale = next(((u, k) for u, k in (("s", 1.0), ("ms", 1e-3)) if seconds >= k), ("us", 1e-6))
    return f"{seconds / scale:.3g} {unit}"
