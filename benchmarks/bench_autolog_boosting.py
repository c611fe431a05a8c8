"""What autolog costs an XGBoost or LightGBM fit: the same fit with autolog on and off, in one process.

    .venv/bin/python benchmarks/bench_autolog_boosting.py [--rows 100000] [--rounds 200] [--repeats 5] [--threads 1]

The data: `rows` training rows of 20 float features (a binary task), and an eval set of a fifth as
many rows, so every round evaluates logloss on both sets (2 keys, i.e. 2 metric points, per round).
Each case is fitted `repeats` times with autolog off and on, alternating, in a run of a store in a
fresh temporary folder. Two clocks: the process's CPU time (all its threads), which other work on
a shared machine barely moves, and wall time; the table shows the fastest fit of each (the one
least disturbed) and the goal is judged on CPU time. One thread by default: on a shared machine a
multi-threaded fit's OpenMP threads wait on each other whenever one is descheduled, which swamps
what is measured (--threads to change it). "on" includes everything autolog does for the
fit: params, the training data fingerprint, one point per round and eval set, the training score,
the feature importance table and the model file; "per round" spreads that difference over the
rounds. "logger" is the round logger alone, timed apart: the cost per round of logging 2 eval
sets x 1 metric. System metrics are off (they sample on their own thread whatever the fit
does). Benchmarks report, never assert: a missed goal is a FAIL in the table.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd
import xgboost as xgb
from benchlog import fmt_time, log

import nbmlops

GOAL_PERCENT = 5.0


def make_data(rows: int, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray, pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    n = rows + rows // 5
    X = pd.DataFrame(rng.normal(size=(n, 20)), columns=[f"x{i}" for i in range(20)])
    y = ((X["x0"] + X["x1"] * X["x2"] + rng.normal(scale=0.5, size=n)) > 0).astype(int).to_numpy()
    return X[:rows], y[:rows], X[rows:], y[rows:]


def cases(rounds: int, data: tuple[Any, ...], threads: int) -> dict[str, Callable[[], Any]]:
    X, y, Xv, yv = data
    dtrain, dvalid = xgb.DMatrix(X, y, nthread=threads), xgb.DMatrix(Xv, yv, nthread=threads)
    ltrain = lgb.Dataset(X, y, free_raw_data=False).construct()
    lvalid = lgb.Dataset(Xv, yv, reference=ltrain, free_raw_data=False).construct()
    xgb_params = {"objective": "binary:logistic", "eval_metric": "logloss", "tree_method": "hist",
                  "max_depth": 6, "nthread": threads}
    lgb_params = {"objective": "binary", "metric": "binary_logloss", "num_leaves": 63, "num_threads": threads,
                  "verbose": -1}
    return {
        "XGBClassifier.fit": lambda: xgb.XGBClassifier(n_estimators=rounds, max_depth=6, tree_method="hist",
                                                       n_jobs=threads).fit(X, y, eval_set=[(X, y), (Xv, yv)],
                                                                           verbose=False),
        "xgboost.train": lambda: xgb.train(xgb_params, dtrain, rounds, evals=[(dtrain, "train"), (dvalid, "valid")],
                                           verbose_eval=False),
        "LGBMClassifier.fit": lambda: lgb.LGBMClassifier(n_estimators=rounds, num_leaves=63, n_jobs=threads,
                                                         verbose=-1).fit(X, y, eval_X=(X, Xv), eval_y=(y, yv)),
        "lightgbm.train": lambda: lgb.train(lgb_params, ltrain, rounds, valid_sets=[ltrain, lvalid],
                                            valid_names=["train", "valid"]),
    }


def timed(fit: Callable[[], Any], autolog: bool) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the process) of one fit in a run."""
    nbmlops.autolog(autolog)
    with nbmlops.start_run(experiment="bench-boosting"):
        start, cpu = time.perf_counter(), time.process_time()
        fit()
        seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    return seconds, cpu


def logger_cost(rounds: int) -> float:
    """Seconds per round of the round logger alone: 2 eval sets x 1 metric into an active run."""
    from nbmlops.autolog.boosting import Rounds
    from nbmlops.tracking.tracker import tracker

    best = float("inf")
    for _ in range(5):
        with nbmlops.start_run(experiment="bench-boosting-logger"):
            rounds_log = Rounds(tracker(), "")
            start = time.perf_counter()
            for step in range(rounds):
                rounds_log.log(step, (("train", "logloss", 0.5 / (step + 1)), ("valid", "logloss", 0.6 / (step + 1))))
            best = min(best, (time.perf_counter() - start) / rounds)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    os.environ["NBMLOPS_SYSTEM_METRICS"] = "0"  # read when a run starts
    with tempfile.TemporaryDirectory(prefix="bench-boosting-") as folder:
        nbmlops.init(folder)
        data = make_data(args.rows)
        rows = []
        for name, fit in cases(args.rounds, data, args.threads).items():
            timed(fit, False)  # warm-up: first-call costs of the library and of nbmlops
            timed(fit, True)
            off: list[tuple[float, float]] = []
            on: list[tuple[float, float]] = []
            for i in range(args.repeats):
                off.append(timed(fit, False))
                on.append(timed(fit, True))
                log(f"{name} {i + 1}/{args.repeats}: off {fmt_time(off[-1][0])} (CPU {fmt_time(off[-1][1])}), "
                    f"on {fmt_time(on[-1][0])} (CPU {fmt_time(on[-1][1])})")
            rows.append((name, off, on))
        nbmlops.autolog(False)
        per_round = logger_cost(args.rounds)
    print(f"\nautolog overhead: {args.rows:,} rows x 20 features, {args.rounds} rounds, eval on train + a "
          f"{args.rows // 5:,}-row eval set, {args.threads} thread(s), fastest of {args.repeats} "
          f"(wall: also the median)")
    print(f"{'case':<20} {'CPU off':>9} {'CPU on':>9} {'overhead':>9} {'per round':>10}   {'wall off':>9} "
          f"{'wall on':>9} {'overhead':>9} {'median off/on':>17}  goal <= {GOAL_PERCENT:g}% (CPU)")
    for name, off, on in rows:
        cpu_off, cpu_on = min(c for _, c in off), min(c for _, c in on)
        wall_off, wall_on = min(w for w, _ in off), min(w for w, _ in on)
        percent = (cpu_on - cpu_off) / cpu_off * 100
        verdict = "ok" if percent <= GOAL_PERCENT else "FAIL"
        medians = f"{fmt_time(statistics.median(w for w, _ in off))}/{fmt_time(statistics.median(w for w, _ in on))}"
        print(f"{name:<20} {fmt_time(cpu_off):>9} {fmt_time(cpu_on):>9} {percent:>8.1f}% "
              f"{fmt_time(max(cpu_on - cpu_off, 0) / args.rounds):>10}   {fmt_time(wall_off):>9} "
              f"{fmt_time(wall_on):>9} {(wall_on - wall_off) / wall_off * 100:>8.1f}% {medians:>17}  {verdict}")
    print(f"round logger alone: {fmt_time(per_round)} per round (2 eval sets x 1 metric)")


if __name__ == "__main__":
    main()
