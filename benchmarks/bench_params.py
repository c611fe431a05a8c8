"""How long reading runs takes when runs hold many params: `runs()` and the search behind REST `GET runs`.

    .venv/bin/python benchmarks/bench_params.py

Two stores, each built in a fresh temporary folder: 50 runs of which one has 10,000 params (the others
10), and 500 runs of 100 params each; every run has 2 metrics and the provenance tags. "Cold" is the
first read in a fresh process (catalog opened, journals folded in); "warm" the best of the next three.
The REST figure is `nbmlops.server.handlers.run_list`, what `GET /nbmlops/api/runs` runs off the event
loop, with the panel's default page of 100 runs. Each read runs in its own child process so "cold" is
cold. Benchmarks report, they never assert: a missed target is a FAIL in the table.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET_S = 1.0

BUILD = """
import sys
from pathlib import Path
from nbmlops.tracking import tracker as tracking
from nbmlops.store.folder import Store
root, n_runs, wide, per = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
store = Store(root)
store.init()
t = tracking.Tracker(store)
for i in range(n_runs):
    with t.start_run("bench", name=f"r{i}"):
        t.log_params({f"p{j}": j * i for j in range(wide if i == 0 else per)})
        t.log_metrics({"auc": i / n_runs, "loss": 1 - i / n_runs})
t.close()
store.refresh()
store.release()
"""

MEASURE = """
import json, sys, time
from pathlib import Path
from nbmlops.store import runs as search
from nbmlops.server import handlers
from nbmlops.store.folder import Store
store, what = Store(Path(sys.argv[1])), sys.argv[2]
read = (lambda: search.runs(store)) if what == "runs" else \\
    (lambda: handlers.dumps(handlers.run_list(store, None, None, None, 100, 0, None)))
times = []
for _ in range(4):
    start = time.perf_counter()
    read()
    times.append(time.perf_counter() - start)
print(json.dumps({"cold": times[0], "warm": min(times[1:])}))
"""


def _python(code: str, *args: str) -> str:
    return subprocess.run([sys.executable, "-c", code, *args], check=True, capture_output=True,
                          text=True).stdout


def main() -> None:
    """Build both stores, measure, print a table of figures and their ratio to the target."""
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for label, shape in (("50 runs, one with 10,000 params", ("50", "10000", "10")),
                             ("500 runs x 100 params", ("500", "100", "100"))):
            root = Path(tmp) / label.split()[0]
            start = time.perf_counter()
            _python(BUILD, str(root), *shape)
            print(f"built {label} in {time.perf_counter() - start:.1f} s", file=sys.stderr)
            for what, name in (("runs", "runs()"), ("rest", "GET runs (run_list + JSON)")):
                figures = json.loads(_python(MEASURE, str(root), what))
                for phase in ("cold", "warm"):
                    rows.append((f"{label}: {name}, {phase}", figures[phase]))
    print("| figure | measured | target | ratio |\n|---|---|---|---|")
    for name, seconds in rows:
        verdict = "" if seconds <= TARGET_S else " FAIL"
        print(f"| {name} | {seconds:.3f} s | <= {TARGET_S:g} s | {seconds / TARGET_S:.2f}{verdict} |")


if __name__ == "__main__":
    main()
