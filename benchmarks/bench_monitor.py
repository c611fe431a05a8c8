"""Monitoring a 1,000,000-row x 20-column batch against a model version's reference (target <= 5 s).

    .venv/bin/python benchmarks/bench_monitor.py            # 1M rows, large and small reference
    .venv/bin/python benchmarks/bench_monitor.py --rows 100000

The batch has 16 numeric columns and 4 text columns; the model is a scikit-learn pipeline (one-hot
encoding, scaling, logistic regression) registered with a 100,000-row reference (Wasserstein and
Jensen-Shannon tests) and with a 1,000-row one (Kolmogorov-Smirnov and chi-squared). A figure is
the median of 3 `monitor()` calls (report stored each time), in a fresh temporary store; it includes
the model's own predictions on the batch, also timed alone.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

TARGET_SECONDS = 5.0
NUMERIC, TEXT = 16, 4


def frame(rows: int, seed: int, shift: float = 0.0) -> pd.DataFrame:
    """Numeric columns with various shapes and text columns with 3 to 12 categories."""
    rng = np.random.default_rng(seed)
    data: dict[str, object] = {}
    for i in range(NUMERIC):
        base = [rng.normal(0, 1, rows), rng.lognormal(1, 0.6, rows), rng.uniform(0, 10, rows),
                rng.poisson(7, rows).astype(np.float64)][i % 4]
        data[f"x{i}"] = base + shift * (i % 2)
    for j in range(TEXT):
        categories = np.array([f"c{j}_{k}" for k in range(3 + 3 * j)], dtype=object)
        data[f"t{j}"] = categories[rng.integers(0, len(categories), rows)]
    return pd.DataFrame(data)


def main() -> int:
    """Register the model twice, then time monitoring of the batch against each reference."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows in the batch")
    args = parser.parse_args()

    from sklearn.compose import make_column_transformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    import nbmlops
    from nbmlops.drift.service import monitor

    with tempfile.TemporaryDirectory(prefix="nbmlops-bench-monitor-") as tmp:
        store = nbmlops.init(Path(tmp))
        train = frame(100_000, seed=1)
        y = (train["x0"] + (train["t0"] == "c0_0") > 0.5).astype(int)
        model = make_pipeline(make_column_transformer((OneHotEncoder(), [f"t{j}" for j in range(TEXT)]),
                                                      remainder=StandardScaler()), LogisticRegression()).fit(train, y)
        for name, reference in (("large", train), ("small", train.sample(1000, random_state=0))):
            with nbmlops.start_run(experiment="bench-monitor"):
                version = nbmlops.log_model(model, f"bench-{name}", reference_data=reference)
            nbmlops.promote(version.name, version.version)
        batch = frame(args.rows, seed=2, shift=0.3)
        print(f"batch: {len(batch):,} rows x {batch.shape[1]} columns ({NUMERIC} numeric, {TEXT} text)",
              file=sys.stderr)
        started = time.perf_counter()
        model.predict(batch)
        predict = time.perf_counter() - started
        print(f"{'figure':<46} {'seconds':>8} {'target':>8} {'ratio':>7}")
        for name, tests in (("large", "Wasserstein / Jensen-Shannon"), ("small", "KS / chi-squared")):
            times = []
            for _ in range(3):
                started = time.perf_counter()
                report = monitor(store, f"bench-{name}@production", batch)
                times.append(time.perf_counter() - started)
            seconds = statistics.median(times)
            label = f"monitor(), {name} reference ({tests})"
            print(f"{label:<46} {seconds:>8.2f} {TARGET_SECONDS:>8.1f} {seconds / TARGET_SECONDS:>6.2f}x"
                  f"  {'PASS' if seconds <= TARGET_SECONDS else 'FAIL'}")
            print(f"  {report.summary()}", file=sys.stderr)
        print(f"{'  of which the model predicting alone':<46} {predict:>8.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
