"""What autolog costs an XGBoost or LightGBM fit: the same fit with autolog on and off, in one process.

    .venv/bin/python benchmarks/bench_autolog_boosting.py [--rows 100000] [--rounds 200] [--repeats 3]

The data: `rows` training rows of 20 float features (a binary task), and an eval set of a fifth as
many rows, so every round evaluates logloss on both sets (2 keys, i.e. 2 metric points, per round).
Each case is fitted `repeats` times with autolog off and on, alternating, in a run of a store in a
fresh temporary folder, with 2 threads; the figures are medians. "on" includes everything autolog
does for the fit: params, the training data fingerprint, one point per round and eval set, the
training score, the feature importance table and the model file. The overhead per round is the
difference divided by the rounds (what is fixed per fit is spread over them). System metrics are
off (they sample on their own thread whatever the fit does). Benchmarks report, never assert: a
missed goal is a FAIL in the table.
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
THREADS = 2


def make_data(rows: int, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray, pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    n = rows + rows // 5
    X = pd.DataFrame(rng.normal(size=(n, 20)), columns=[f"x{i}" for i in range(20)])
    y = ((X["x0"] + X["x1"] * X["x2"] + rng.normal(scale=0.5, size=n)) > 0).astype(int).to_numpy()
    return X[:rows], y[:rows], X[rows:], y[rows:]


def cases(rounds: int, data: tuple[Any, ...]) -> dict[str, Callable[[], Any]]:
    X, y, Xv, yv = data
    dtrain, dvalid = xgb.DMatrix(X, y, nthread=THREADS), xgb.DMatrix(Xv, yv, nthread=THREADS)
    ltrain = lgb.Dataset(X, y, free_raw_data=False).construct()
    lvalid = lgb.Dataset(Xv, yv, reference=ltrain, free_raw_data=False).construct()
    xgb_params = {"objective": "binary:logistic", "eval_metric": "logloss", "tree_method": "hist",
                  "max_depth": 6, "nthread": THREADS}
    lgb_params = {"objective": "binary", "metric": "binary_logloss", "num_leaves": 63, "num_threads": THREADS,
                  "verbose": -1}
    return {
        "XGBClassifier.fit": lambda: xgb.XGBClassifier(n_estimators=rounds, max_depth=6, tree_method="hist",
                                                       n_jobs=THREADS).fit(X, y, eval_set=[(X, y), (Xv, yv)],
                                                                           verbose=False),
        "xgboost.train": lambda: xgb.train(xgb_params, dtrain, rounds, evals=[(dtrain, "train"), (dvalid, "valid")],
                                           verbose_eval=False),
        "LGBMClassifier.fit": lambda: lgb.LGBMClassifier(n_estimators=rounds, num_leaves=63, n_jobs=THREADS,
                                                         verbose=-1).fit(X, y, eval_X=(X, Xv), eval_y=(y, yv)),
        "lightgbm.train": lambda: lgb.train(lgb_params, ltrain, rounds, valid_sets=[ltrain, lvalid],
                                            valid_names=["train", "valid"]),
    }


def timed(fit: Callable[[], Any], autolog: bool) -> float:
    nbmlops.autolog(autolog)
    with nbmlops.start_run(experiment="bench-boosting"):
        start = time.perf_counter()
        fit()
        seconds = time.perf_counter() - start
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    os.environ["NBMLOPS_SYSTEM_METRICS"] = "0"  # read when a run starts
    with tempfile.TemporaryDirectory(prefix="bench-boosting-") as folder:
        nbmlops.init(folder)
        data = make_data(args.rows)
        rows = []
        for name, fit in cases(args.rounds, data).items():
            timed(fit, False)  # warm-up: first-call costs of the library and of nbmlops
            timed(fit, True)
            off, on = [], []
            for i in range(args.repeats):
                off.append(timed(fit, False))
                on.append(timed(fit, True))
                log(f"{name} {i + 1}/{args.repeats}: off {fmt_time(off[-1])}, on {fmt_time(on[-1])}")
            t_off, t_on = statistics.median(off), statistics.median(on)
            rows.append((name, t_off, t_on))
        nbmlops.autolog(False)
    print(f"\nautolog overhead: {args.rows:,} rows x 20 features, {args.rounds} rounds, eval on train + a "
          f"{args.rows // 5:,}-row eval set, {THREADS} threads, median of {args.repeats}")
    print(f"{'case':<20} {'off':>9} {'on':>9} {'overhead':>9} {'per round':>10}  goal <= {GOAL_PERCENT:g}%")
    for name, t_off, t_on in rows:
        percent = (t_on - t_off) / t_off * 100
        verdict = "ok" if percent <= GOAL_PERCENT else "FAIL"
        print(f"{name:<20} {fmt_time(t_off):>9} {fmt_time(t_on):>9} {percent:>8.1f}% "
              f"{fmt_time(max(t_on - t_off, 0) / args.rounds):>10}  {verdict}")


if __name__ == "__main__":
    main()
