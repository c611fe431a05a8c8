"""What autolog costs a PyTorch Lightning fit: the same small fit with autolog on and off, in one process.

    .venv/bin/python benchmarks/bench_autolog_deep.py [--epochs 3] [--batches 200] [--repeats 5]

The fit: a 3-layer MLP (32 inputs, 64 hidden) on random data, batches of 32, on the CPU with one
torch thread, `log_every_n_steps=1` (the most autolog can be asked to log: every step's
`train_loss` and `train_acc`), validation of 20 batches at each epoch's end (`val_loss`), no
checkpointing, progress bar, summary or Lightning logger, so the time is the training loop's.
Each case is fitted `repeats` times with autolog off and on, alternating, in a run of a store in a
fresh temporary folder. Two clocks: the process's CPU time, which other work on a shared machine
barely moves, and wall time; the table shows the fastest fit of each (the one least disturbed) and
the goal is judged on CPU time. "on" includes everything autolog does for the fit: params, the
metric points of every step and epoch, the model's safetensors file; "per step" and "per epoch"
spread that difference over the steps and epochs. "logger" is the per-step work alone, timed apart:
one step's two metrics (one-element tensors) read and logged, 20,000 times. Metric points are
buffered by the tracker and written by its background flush, never one write per step. System
metrics are off. Benchmarks report, never assert: a missed goal is a FAIL in the table.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from typing import Any

os.environ.setdefault("NBMLOPS_SYSTEM_METRICS", "0")

import lightning as L
import torch
from benchlog import fmt_time, log
from torch.utils.data import DataLoader, TensorDataset

import nbmlops

GOAL_PERCENT = 5.0


class MLP(L.LightningModule):
    """A small classifier that logs loss and accuracy every step and val_loss every epoch."""

    def __init__(self, features: int = 32, hidden: int = 64, lr: float = 0.01) -> None:
        super().__init__()
        self.save_hyperparameters()
        self.net = torch.nn.Sequential(torch.nn.Linear(features, hidden), torch.nn.ReLU(),
                                       torch.nn.Linear(hidden, hidden), torch.nn.ReLU(), torch.nn.Linear(hidden, 2))

    def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
        x, y = batch
        logits = self.net(x)
        loss = torch.nn.functional.cross_entropy(logits, y)
        self.log("train_loss", loss)
        self.log("train_acc", (logits.argmax(1) == y).float().mean())
        return loss

    def validation_step(self, batch: Any, batch_idx: int) -> None:
        x, y = batch
        self.log("val_loss", torch.nn.functional.cross_entropy(self.net(x), y))

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.Adam(self.parameters(), lr=self.hparams.lr)


def loaders(batches: int) -> tuple[DataLoader[Any], DataLoader[Any]]:
    g = torch.Generator().manual_seed(0)
    X = torch.randn(batches * 32, 32, generator=g)
    y = (X[:, 0] > 0).long()
    return (DataLoader(TensorDataset(X, y), batch_size=32),
            DataLoader(TensorDataset(X[:640], y[:640]), batch_size=32))


def fit_once(epochs: int, train: DataLoader[Any], val: DataLoader[Any]) -> tuple[float, float]:
    """(CPU seconds, wall seconds) of one fit in a fresh run."""
    trainer = L.Trainer(max_epochs=epochs, log_every_n_steps=1, logger=False, enable_checkpointing=False,
                        enable_progress_bar=False, enable_model_summary=False, num_sanity_val_steps=0)
    model = MLP()
    with nbmlops.start_run():
        cpu, wall = time.process_time(), time.perf_counter()
        trainer.fit(model, train, val)
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    return cpu, wall


def time_logger(n: int = 20_000) -> float:
    """CPU seconds per step of logging two tensor metrics through the autolog's point logger."""
    from nbmlops.autolog.deep import Points
    from nbmlops.tracking.tracker import existing_tracker

    loss, acc = torch.tensor(0.5), torch.tensor(0.75)
    with nbmlops.start_run():
        tracker = existing_tracker()
        assert tracker is not None
        points = Points(tracker, "")
        start = time.process_time()
        for step in range(n):
            points.log({"train_loss": loss, "train_acc": acc}, step)
        return (time.process_time() - start) / n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batches", type=int, default=200, help="training batches an epoch")
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    torch.set_num_threads(1)
    import logging

    logging.getLogger("lightning.pytorch").setLevel(logging.ERROR)
    train, val = loaders(args.batches)
    with tempfile.TemporaryDirectory(prefix="nbmlops-bench-deep-") as folder:
        nbmlops.init(folder)
        fit_once(1, *loaders(10))  # warm-up: imports, first allocations, the patch itself
        times: dict[str, list[tuple[float, float]]] = {"off": [], "on": []}
        for _ in range(args.repeats):
            for case in ("off", "on"):
                nbmlops.autolog(case == "on")
                times[case].append(fit_once(args.epochs, train, val))
        nbmlops.autolog(False)
        runs = nbmlops.runs()
        logger = time_logger()
    steps = args.epochs * args.batches
    off_cpu, on_cpu = min(c for c, _ in times["off"]), min(c for c, _ in times["on"])
    off_wall, on_wall = min(w for _, w in times["off"]), min(w for _, w in times["on"])
    extra = on_cpu - off_cpu
    percent = 100 * extra / off_cpu
    points = sum(1 for c in runs.columns if c.startswith("metrics."))
    log(f"Lightning fit: {args.epochs} epochs x {args.batches} steps (batch 32, MLP 32-64-64-2, 1 thread), "
        f"log_every_n_steps=1, {args.repeats} repeats, fastest of each; metric keys logged: {points}")
    log(f"{'':>6} {'CPU':>10} {'wall':>10} {'median CPU':>11}")
    for case in ("off", "on"):
        cpu = [c for c, _ in times[case]]
        log(f"{case:>6} {fmt_time(min(cpu)):>10} {fmt_time(min(w for _, w in times[case])):>10} "
            f"{fmt_time(statistics.median(cpu)):>11}")
    log(f"autolog: {fmt_time(extra)} CPU per fit (fastest on - fastest off) = {percent:.2f}% of the training time "
        f"(wall {100 * (on_wall - off_wall) / off_wall:.2f}%); per step {fmt_time(extra / steps)}, "
        f"per epoch {fmt_time(extra / args.epochs)}; logger alone {fmt_time(logger)} a step "
        f"= {100 * logger * steps / off_cpu:.2f}% of the training time; goal < {GOAL_PERCENT}%: "
        f"{'PASS' if percent < GOAL_PERCENT else 'FAIL'}")


if __name__ == "__main__":
    main()
