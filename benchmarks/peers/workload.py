"""The workloads of the peer benchmark, run against one tool inside that tool's own virtualenv.

    <venv>/bin/python benchmarks/peers/workload.py --tool mlflow_sqlite --root DIR --sizes JSON

Standalone: imports only the standard library, numpy and the adapter `tool_<name>.py` next to it
(which imports the tool). The main phase measures every row in a fresh store under DIR and spawns
this script again for the rows that need another process (fresh-process runs, the first search,
the live writer, the concurrent writers). Progress goes to stderr, one JSON line last on stdout.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import os
import select
import statistics
import subprocess
import sys
import time
import warnings
from pathlib import Path
from typing import Any

warnings.filterwarnings("ignore")
HERE = Path(__file__).resolve().parent
LIVE_INTERVAL_S = 0.05  # the writer logs a point every 50 ms ...
POLL_INTERVAL_S = 0.01  # ... and the reader polls at 100 Hz
LIVE_WAIT_S = 15.0  # a tool whose points are not visible by then gets "-"
CHILD_TIMEOUT_S = 900
THRESHOLD = 0.5  # the search: runs whose metric m0 > 0.5
T0 = time.perf_counter()
RESULT = [sys.stdout]  # the real stdout once main() has moved fd 1 to stderr


def log(tool: str, msg: str) -> None:
    """A progress line with the elapsed time, to stderr."""
    print(f"[{tool} {time.perf_counter() - T0:6.1f}s] {msg}", file=sys.stderr, flush=True)


def du(path: Path) -> int:
    """Bytes used on disk by the files under `path` (blocks, like du)."""
    total = 0
    for dirpath, _, files in os.walk(path):
        for name in files:
            with contextlib.suppress(OSError):  # a file removed while we walk
                total += os.lstat(os.path.join(dirpath, name)).st_blocks * 512
    return total


def search_values(n: int) -> list[float]:
    """The m0..m4 values of the n search runs, identical for every tool (so are the counts)."""
    return np.random.default_rng(3).random((n, 5)).tolist()


class Bench:
    """One tool's adapter plus the workloads written once against it."""

    def __init__(self, tool: str, root: Path, sizes: dict[str, int]) -> None:
        self.tool, self.root, self.sizes = tool, root, sizes
        self.t = importlib.import_module(f"tool_{tool.split('_')[0]}")
        self.t.setup(root, tool)

    def spawn(self, phase: str, *extra: str, stdin: bool = False, root: Path | None = None) -> subprocess.Popen[str]:
        """This script again, in `phase`, on the same store (or the one at `root`)."""
        cmd = [sys.executable, __file__, f"--tool={self.tool}", f"--root={root or self.root}", f"--phase={phase}",
               f"--sizes={json.dumps(self.sizes)}", *extra]
        return subprocess.Popen(cmd, text=True, stdout=subprocess.PIPE,
                                stdin=subprocess.PIPE if stdin else subprocess.DEVNULL)

    def child_json(self, phase: str, *extra: str, root: Path | None = None) -> dict[str, Any]:
        """Run a child phase to its end and return its JSON line."""
        child = self.spawn(phase, *extra, root=root)
        out, _ = child.communicate(timeout=CHILD_TIMEOUT_S)
        if child.returncode != 0:
            raise RuntimeError(f"{phase} child exited with code {child.returncode}")
        return json.loads(out.strip().splitlines()[-1])

    # -- rows ---------------------------------------------------------------------------------

    def log_metric(self) -> float:
        """Row 1: median time of one log_metric call in an open run."""
        n = self.sizes["metric_calls"]
        values = np.random.default_rng(1).random(n).tolist()
        clock, log_metric = time.perf_counter_ns, self.t.log_metric
        times = [0] * n
        h = self.t.start("log_metric", "log_metric")
        for i in range(n):
            t0 = clock()
            log_metric(h, "loss", values[i], i)
            times[i] = clock() - t0
        self.t.finish(h)
        return statistics.median(times) * 1e-9

    def points(self) -> tuple[str, float]:
        """Row 2: log `points` points of one metric and finish the run; its ref and the wall time."""
        values = np.random.default_rng(2).random(self.sizes["points"]).tolist()
        start = time.perf_counter()
        h = self.t.start("points", "points")
        self.t.log_series(h, "loss", values)
        self.t.finish(h)
        return self.t.run_ref(h), time.perf_counter() - start

    def history(self, ref: str) -> tuple[float | None, int]:
        """Row 5: median of 3 reads of the row-2 history (None without a read API)."""
        if self.t.history is None:
            return None, 0
        times, got = [], None
        for _ in range(3):
            start = time.perf_counter()
            got = self.t.history(ref, "loss")
            times.append(time.perf_counter() - start)
        return statistics.median(times), len(got or [])

    def runs_child(self) -> dict[str, Any]:
        """Row 3, in a fresh process: runs of 10 params + 5 metrics, each timed start to end.

        The first `runs` are timed; the process goes on to `search_runs` runs (untimed) so that
        every tool's search (row 4) spans the same runs, even where fewer were timed.
        """
        n, total = self.sizes["runs"], max(self.sizes["search_runs"], self.sizes["runs"])
        values = search_values(total)
        times = []
        for i in range(total):
            start = time.perf_counter()
            h = self.t.start("search", f"r{i}", {f"p{k}": (i + k) % 10 for k in range(10)})
            self.t.log(h, {f"m{k}": values[i][k] for k in range(5)}, 0)
            self.t.finish(h)
            times.append(time.perf_counter() - start)
        self.t.flush()
        return {"median_s": statistics.median(times[:n]), "first_s": times[0], "n": n,
                "total_s": sum(times[:n]), "written": total}

    def search_child(self) -> dict[str, Any]:
        """Row 4, first call in a fresh process (the tool imported and set up beforehand)."""
        if self.t.search is None:
            return {"first_s": None, "found": None}
        start = time.perf_counter()
        found = self.t.search("search", THRESHOLD)
        return {"first_s": time.perf_counter() - start, "found": found}

    def search_warm(self) -> tuple[float | None, int | None]:
        """Row 4, warm: median of repeated calls in this process."""
        if self.t.search is None:
            return None, None
        times, found = [], None
        for _ in range(self.sizes["search_repeat"]):
            start = time.perf_counter()
            found = self.t.search("search", THRESHOLD)
            times.append(time.perf_counter() - start)
        return statistics.median(times), found

    def live_child(self) -> None:
        """Row 6 writer: log the wall-clock time as 'tick' every 50 ms until stdin says stop."""
        h = self.t.start("live", "live")
        print(self.t.run_ref(h), file=RESULT[0], flush=True)
        step = 0
        while True:
            self.t.log_metric(h, "tick", time.time(), step)
            step += 1
            if select.select([sys.stdin], [], [], LIVE_INTERVAL_S)[0]:
                break
        self.t.finish(h)

    def live(self) -> dict[str, Any] | None:
        """Row 6: median delay between the writer logging a point and this process seeing it."""
        if self.t.history is None:  # no read API
            return None
        child = self.spawn("live-writer", stdin=True)
        assert child.stdin is not None and child.stdout is not None
        ref = child.stdout.readline().strip()
        delays: dict[int, float] = {}
        deadline = time.monotonic() + LIVE_WAIT_S
        error = ""
        try:
            while len(delays) < self.sizes["live_samples"] + 1 and time.monotonic() < deadline:
                try:
                    got = self.t.history(ref, "tick") or []
                except Exception as exc:  # noqa: BLE001 - a tool that cannot read a live run
                    got, error = [], f"{type(exc).__name__}: {exc}"[:120]
                now = time.time()
                for step, value in got:
                    delays.setdefault(int(step), now - value)
                time.sleep(POLL_INTERVAL_S)
        finally:
            child.stdin.write("stop\n")
            child.stdin.close()
            child.wait(timeout=CHILD_TIMEOUT_S)
        after_first = [delays[s] for s in sorted(delays) if s > 0]
        if not after_first:
            return {"median_s": None, "note": error or f"no point visible within {LIVE_WAIT_S:.0f} s"}
        return {"median_s": statistics.median(after_first), "samples": len(after_first)}

    def writer_child(self, index: int) -> None:
        """Row 8 writer: one run, `concurrent_points` points of 'x', then its ref on stdout.

        Index -1 writes no point: it creates the store and the experiment before the 4 writers start.
        """
        h = self.t.start("concurrent", f"w{index}")
        print(self.t.run_ref(h), file=RESULT[0], flush=True)
        for i in range(self.sizes["concurrent_points"] if index >= 0 else 0):
            self.t.log_metric(h, "x", float(i), i)
        self.t.finish(h)
        self.t.flush()

    def concurrent(self) -> dict[str, Any]:
        """Row 8: 4 writer processes at once into one (fresh) store; points read back, lost."""
        store = self.root / "concurrent"
        self.child_json("writer", "--index=-1", root=store)  # the store and experiment exist first
        children = [self.spawn("writer", f"--index={i}", root=store) for i in range(4)]
        refs, codes = [], []
        for child in children:
            out, _ = child.communicate(timeout=CHILD_TIMEOUT_S)
            lines = out.strip().splitlines()
            refs.append(lines[0].strip() if lines else "")
            codes.append(child.returncode)
        if self.t.count_points is None:
            return {"lost": None, "exit_codes": codes}
        try:
            seen = self.child_json("count", f"--refs={json.dumps([r for r in refs if r])}", root=store)["points"]
        except RuntimeError as exc:
            return {"lost": None, "exit_codes": codes, "note": str(exc)}
        return {"lost": 4 * self.sizes["concurrent_points"] - seen, "exit_codes": codes}

    def count_child(self, refs: list[str]) -> dict[str, Any]:
        """Row 8, read back in a fresh process: the points of 'x' over the writers' runs."""
        return {"points": self.t.count_points(refs, "x")}

    def main(self) -> dict[str, Any]:
        """Every row, in order, on the fresh store at root."""
        out: dict[str, Any] = {"version": self.t.version(), "sizes": self.sizes}
        log(self.tool, f"log_metric x{self.sizes['metric_calls']}")
        out["log_metric_s"] = self.log_metric()
        log(self.tool, f"{self.sizes['points']:,} points, run finished")
        ref, out["points_s"] = self.points()
        out["history_s"], out["history_len"] = self.history(ref)
        log(self.tool, f"{self.sizes['runs']} runs in a fresh process")
        out["runs"] = self.child_json("runs")
        log(self.tool, "search, first call in a fresh process, then warm")
        out["search_first"] = self.child_json("search")
        out["search_warm_s"], out["search_found"] = self.search_warm()
        log(self.tool, "live visibility")
        out["live"] = self.live()
        self.t.flush()
        out["disk_bytes"] = du(self.root)
        log(self.tool, f"4 writers x {self.sizes['concurrent_points']:,} points")
        out["concurrent"] = self.concurrent()
        log(self.tool, "done")
        return out


def main() -> None:
    """Entry point for the main phase and the child phases."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tool", required=True)
    parser.add_argument("--root", required=True, type=Path)
    parser.add_argument("--sizes", required=True, type=json.loads)
    parser.add_argument("--phase", default="main")
    parser.add_argument("--index", type=int, default=0)
    parser.add_argument("--refs", type=json.loads, default=[])
    args = parser.parse_args()
    # Results go to the real stdout; anything the tool prints (even from C) goes to stderr.
    result_out = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    args.root.mkdir(parents=True, exist_ok=True)
    os.chdir(args.root)  # stray ./mlruns, ./wandb, ./dvclive folders land in the store
    RESULT[0] = result_out
    bench = Bench(args.tool, args.root, args.sizes)
    if args.phase == "live-writer":
        bench.live_child()
        return
    if args.phase == "writer":
        bench.writer_child(args.index)
        if args.index < 0:
            print("{}", file=result_out, flush=True)
        return
    result = {"main": bench.main, "runs": bench.runs_child, "search": bench.search_child,
              "count": lambda: bench.count_child(args.refs)}[args.phase]()
    print(json.dumps(result), file=result_out, flush=True)


sys.path.insert(0, str(HERE))
import numpy as np  # noqa: E402

if __name__ == "__main__":
    main()
