"""Many short runs in a fresh process: start + end per run, against the targets of issue 12.

    .venv/bin/python benchmarks/bench_runs.py                  # 500 runs, plain and in a 20k-file folder
    .venv/bin/python benchmarks/bench_runs.py --runs 100 --files 2000   # a smoke run
    .venv/bin/python benchmarks/bench_runs.py --nbmlops-path /tmp/old   # another checkout, for before/after

Each workload runs in a new Python process (so the provenance look-up of git and the installed
packages is not done yet when the first run starts) on a new temporary store: 500 runs, each
`with start_run(): log_params(10 params); log_metrics(5 metrics)`, timed one by one from just before
`start_run` to just after the run ended. The second workload does the same with the working
directory inside a git repository of 20,000 files, which the process's `sys.path` also holds (as in
`python -c` and Jupyter kernels), so both the package scan and git have a large folder to walk.
A control workload lets the look-up end before the first timed run: what it measures is nbmlops
without the look-up plus the noise of the machine (on a busy machine the OS preempts any thread
now and then, for 5-25 ms).
Progress goes to stderr, the table to stdout. Benchmarks report, they never assert.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchlog import fmt_time, log

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
TARGET_P99_S = 5e-3
TARGET_TOTAL_S = 0.5
TRACKIO_S = 1e-3  # the issue: <= 1 ms per run would beat trackio
SLOW_S = 10e-3
CHILD_TIMEOUT_S = 600


# -- the child: one fresh process ---------------------------------------------------------

def child(runs: int, settled: bool) -> None:
    """Time `runs` complete runs in this (fresh) process and print the figures as JSON.

    `settled`: first let the provenance look-up end (one untimed run), so what remains of the
    figures is nbmlops itself plus the noise of the machine.
    """
    sys.path.insert(0, "")  # the working directory, as `python -c` and Jupyter kernels have it
    started = time.perf_counter()
    import nbmlops
    from nbmlops.tracking import tracker as tracking

    imported = time.perf_counter() - started
    if settled:
        with nbmlops.start_run():
            pass
        tracking.tracker().wait_for_provenance(timeout=CHILD_TIMEOUT_S)
    times = []
    begin = time.perf_counter()
    for i in range(runs):
        t0 = time.perf_counter()
        with nbmlops.start_run():
            nbmlops.log_params({f"p{k}": (i + k) % 10 for k in range(10)})
            nbmlops.log_metrics({f"m{k}": 0.1 * k for k in range(5)})
        times.append(time.perf_counter() - t0)
    total = time.perf_counter() - begin
    waited = time.perf_counter()
    tracking.tracker().wait_for_provenance(timeout=CHILD_TIMEOUT_S)
    provenance_s = time.perf_counter() - waited
    lookups = getattr(nbmlops.tracking.provenance, "lookups_started", lambda: None)()
    print(json.dumps({"times": times, "total_s": total, "import_s": imported,
                      "provenance_after_s": provenance_s, "lookups": lookups}))


# -- the parent -----------------------------------------------------------------------------

def large_folder(path: Path, files: int) -> Path:
    """A git repository of `files` small committed files (made once, reused by later invocations)."""
    marker = path / ".bench-done"
    if marker.exists():
        return path
    log(f"creating {files:,} files in a git repository at {path}")
    for i in range(files):
        sub = path / f"d{i // 1000:03d}"
        sub.mkdir(parents=True, exist_ok=True)
        (sub / f"f{i:05d}.txt").write_text(str(i))
    git = ["git", "-c", "user.name=bench", "-c", "user.email=bench@example.invalid"]
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "files"]):
        subprocess.run(git + args, cwd=path, check=True, capture_output=True)
    marker.write_text("")
    return path


def measure(label: str, cwd: Path, runs: int, nbmlops_path: str | None, settled: bool = False) -> dict[str, float]:
    """Run the child workload in a fresh process in `cwd` on a fresh store; its figures."""
    with tempfile.TemporaryDirectory(prefix="nbmlops-bench-runs-") as store:
        env = {**os.environ, "NBMLOPS_STORE": str(Path(store) / ".nbmlops")}
        env["PYTHONPATH"] = os.pathsep.join(p for p in (nbmlops_path, env.get("PYTHONPATH")) if p)
        env.pop("NBMLOPS_EXPERIMENT", None)
        done = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--child", "--runs", str(runs),
                               *(["--settled"] if settled else [])],
                              cwd=cwd, env=env, capture_output=True, text=True, timeout=CHILD_TIMEOUT_S)
    if done.returncode != 0:
        raise RuntimeError(f"{label}: child failed ({done.returncode}):\n{done.stderr}")
    out = json.loads(done.stdout.strip().splitlines()[-1])
    times = sorted(out["times"])
    figures = {"p50_s": statistics.median(times), "p99_s": times[min(len(times) - 1, int(len(times) * 0.99))],
               "max_s": times[-1], "slow_runs": sum(t > SLOW_S for t in times), "total_s": out["total_s"],
               "import_s": out["import_s"], "provenance_after_s": out["provenance_after_s"],
               "lookups": out["lookups"]}
    log(f"{label}: p50 {fmt_time(figures['p50_s'])}, p99 {fmt_time(figures['p99_s'])}, max "
        f"{fmt_time(figures['max_s'])}, {figures['slow_runs']} runs over 10 ms, total {fmt_time(figures['total_s'])}; "
        f"provenance look-ups {figures['lookups']}, still running {fmt_time(figures['provenance_after_s'])} "
        "after the last run")
    return figures


def print_table(results: dict[str, dict[str, float]], runs: int) -> None:
    """The figures beside their targets, with figure / target."""
    rows = []
    for label, f in results.items():
        rows += [
            [f"{label}: p50 start+end per run", fmt_time(f["p50_s"]), f"<= {fmt_time(TRACKIO_S)} (trackio)",
             f"{f['p50_s'] / TRACKIO_S:.2f}"],
            [f"{label}: p99 start+end per run", fmt_time(f["p99_s"]), f"<= {fmt_time(TARGET_P99_S)}",
             f"{f['p99_s'] / TARGET_P99_S:.2f}"],
            [f"{label}: runs over 10 ms (of {runs})", str(f["slow_runs"]), "-", "-"],
            [f"{label}: total, {runs} runs", fmt_time(f["total_s"]), f"<= {fmt_time(TARGET_TOTAL_S)}",
             f"{f['total_s'] / TARGET_TOTAL_S:.2f}"],
        ]
    header = ["figure", "measured", "target", "figure / target"]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(4)]
    print("\nnbmlops: runs with 10 params + 5 metrics, from a fresh process")
    print("  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)))
    print("  ".join("-" * w for w in widths))
    for r in rows:
        print("  ".join([r[0].ljust(widths[0]), *(c.rjust(w) for c, w in zip(r[1:], widths[1:], strict=True))]))


def main() -> None:
    """Both workloads, each in a fresh process, then the table."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=500)
    parser.add_argument("--files", type=int, default=20_000, help="files in the large working folder")
    parser.add_argument("--nbmlops-path", help="import nbmlops from this folder instead (e.g. an older checkout)")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--settled", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.runs, args.settled)
        return
    results = {}
    with tempfile.TemporaryDirectory(prefix="nbmlops-bench-cwd-") as plain:
        results["plain folder"] = measure("plain folder", Path(plain), args.runs, args.nbmlops_path)
    big = large_folder(Path(tempfile.gettempdir()) / f"nbmlops-bench-runs-{args.files}-files", args.files)
    results[f"in {args.files:,}-file git repo"] = measure(f"in {args.files:,}-file git repo", big, args.runs,
                                                         args.nbmlops_path)
    with tempfile.TemporaryDirectory(prefix="nbmlops-bench-cwd-") as plain:
        label = "control: look-up ended first"
        results[label] = measure(label, Path(plain), args.runs, args.nbmlops_path, settled=True)
    print_table(results, args.runs)


if __name__ == "__main__":
    main()
