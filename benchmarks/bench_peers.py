"""nbmlops side by side with the local trackers a user would otherwise pick (issue 13).

    .venv/bin/python benchmarks/bench_peers.py                     # every tool, 2 repetitions (~20 min)
    .venv/bin/python benchmarks/bench_peers.py --quick             # smaller sizes, 1 repetition (~3 min)
    .venv/bin/python benchmarks/bench_peers.py --tools nbmlops,mlflow-sqlite --reps 2

Each peer is installed on first use in its own virtualenv under benchmarks/.peer-venvs/NAME (git
ignored); nbmlops runs from this checkout's .venv. The same workloads (benchmarks/peers/workload.py,
one adapter per tool next to it) run against each tool in its own processes on a fresh store,
interleaved by repetition: repetition 1 of every tool, then repetition 2, ...; nbmlops goes last in
each repetition. A tool that fails to install or to run is reported in the table, never fatal.
Progress goes to stderr, the Markdown table to stdout, every figure to benchmarks/results-peers.json.
Benchmarks report, they never assert.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from mlflow_env import ensure_venv  # noqa: E402

VENVS = HERE / ".peer-venvs"
WORKLOAD = HERE / "peers" / "workload.py"
RESULTS = HERE / "results-peers.json"
NBMLOPS_PYTHON = HERE.parent / ".venv" / "bin" / "python"
RUN_TIMEOUT_S = 1800
T0 = time.perf_counter()


@dataclass(frozen=True)
class Tool:
    """A column of the table: how to install it and the sizes it can do in time."""

    name: str  # on the command line
    label: str
    venv: str | None  # folder under .peer-venvs; None: this checkout's .venv
    attempts: tuple[tuple[str, ...], ...] = ()  # requirement sets, tried in order
    module: str = ""
    sizes: dict[str, int] = field(default_factory=dict)  # overrides of the default sizes


FULL = {"metric_calls": 20_000, "points": 100_000, "runs": 500, "search_runs": 500, "search_repeat": 20,
        "live_samples": 20, "concurrent_points": 5_000}
QUICK = {"metric_calls": 2_000, "points": 10_000, "runs": 50, "search_runs": 50, "search_repeat": 5, "live_samples": 10,
         "concurrent_points": 500}
MLFLOW = (("mlflow==3.18.0", "numpy"), ("mlflow", "numpy"))  # 3.18.0 needs an mlflow-tracing PyPI may lack
TOOLS = [
    Tool("trackio", "trackio", "trackio", (("trackio==0.43.0", "numpy"),), "trackio"),
    Tool("mlflow-file", "MLflow (file)", "mlflow", MLFLOW, "mlflow", {"metric_calls": 2_000, "search_repeat": 5}),
    Tool("mlflow-sqlite", "MLflow (SQLite)", "mlflow", MLFLOW, "mlflow", {"metric_calls": 500}),
    Tool("dvclive", "DVCLive", "dvclive", (("dvclive==3.49.1", "numpy"),), "dvclive"),
    Tool("aim", "Aim", "aim", (("aim==3.29.1", "numpy"),), "aim", {"runs": 100}),
    Tool("wandb", "W&B offline", "wandb", (("wandb==0.31.0", "numpy"),), "wandb", {"runs": 200}),
    Tool("nbmlops", "nbmlops", None),  # last in each repetition: its code is the one changing today
]
BY_NAME = {t.name: t for t in TOOLS}


def log(msg: str) -> None:
    """A progress line with the elapsed time, to stderr."""
    print(f"[peers {time.perf_counter() - T0:6.1f}s] {msg}", file=sys.stderr, flush=True)


def sizes_of(tool: Tool, quick: bool) -> dict[str, int]:
    """The tool's sizes: its overrides scaled like the defaults (/10 for --quick, runs /10 at least 20)."""
    base = QUICK if quick else FULL
    out = dict(base)
    for key, value in tool.sizes.items():
        out[key] = max(min(value * base[key] // FULL[key], base[key]), 20 if key == "runs" else 1)
    return out


def install(tool: Tool) -> tuple[Path | None, str]:
    """The python to run the tool's workload with, or (None, why not)."""
    if tool.venv is None:
        return (NBMLOPS_PYTHON, "") if NBMLOPS_PYTHON.exists() else (None, f"{NBMLOPS_PYTHON} is missing")
    log(f"{tool.name}: checking its virtualenv (installs on first use)")
    return ensure_venv(VENVS / tool.venv, [list(a) for a in tool.attempts], tool.module)


def run_once(tool: Tool, python: Path, sizes: dict[str, int]) -> dict[str, Any]:
    """One repetition of every workload on a fresh store; {"error": ...} when it fails."""
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix=f"peers-{tool.name}-") as tmp:
        cmd = [str(python), str(WORKLOAD), f"--tool={tool.name.replace('-', '_')}", f"--root={tmp}",
               f"--sizes={json.dumps(sizes)}"]
        start = time.perf_counter()
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True,
                                  timeout=RUN_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            return {"error": f"timed out after {RUN_TIMEOUT_S} s", "load": load}
        elapsed = time.perf_counter() - start
    lines = [line for line in proc.stdout.splitlines() if line.strip()]
    if proc.returncode != 0 or not lines:
        err = [line for line in proc.stderr.splitlines() if line.strip()]
        return {"error": f"rc={proc.returncode}: {err[-1][:150] if err else 'no output'}", "load": load,
                "seconds": elapsed}
    return {**json.loads(lines[-1]), "load": load, "seconds": elapsed}


# -- the table ----------------------------------------------------------------------------------

def fmt_time(seconds: float) -> str:
    """A duration in us, ms or s with three significant digits."""
    unit, scale = next(((u, k) for u, k in (("s", 1.0), ("ms", 1e-3)) if seconds >= k), ("us", 1e-6))
    value = seconds / scale
    return f"{value:.3g} {unit}" if value < 100 else f"{value:,.0f} {unit}"


def fmt_bytes(n: float) -> str:
    """Bytes as MB (or kB under 1 MB)."""
    return f"{n / 1e6:.3g} MB" if n >= 1e6 else f"{n / 1e3:.0f} kB"


# Each row: label, how to get the figure out of one repetition, formatter, size key shown if it differs.
ROWS: list[tuple[str, Any, Any, str | None]] = [
    ("`log_metric`, median per call", lambda r: r["log_metric_s"], fmt_time, "metric_calls"),
    ("{points} points logged, run finished", lambda r: r["points_s"], fmt_time, None),
    ("run with 10 params + 5 metrics, fresh process, median of {runs}", lambda r: r["runs"]["median_s"], fmt_time,
     "runs"),
    ("filtered search (m0 > 0.5) over {search_runs} such runs, warm", lambda r: r["search_warm_s"], fmt_time, None),
    ("the same search, first call in a fresh process", lambda r: r["search_first"]["first_s"], fmt_time, None),
    ("runs that search found (the same values were logged to every tool)", lambda r: r["search_found"], str, None),
    ("{points}-point history read back", lambda r: r["history_s"], fmt_time, None),
    ("a live point visible to another process, median", lambda r: (r["live"] or {}).get("median_s"), fmt_time,
     None),
    ("disk after the above", lambda r: r["disk_bytes"], fmt_bytes, None),
    ("4 writers x {concurrent_points} points at once: lost", lambda r: r["concurrent"]["lost"], str, None),
]


def figures(reps: list[dict[str, Any]], get: Any) -> list[float]:
    """The figure of every successful repetition (a missing API gives none)."""
    out = []
    for rep in reps:
        if "error" in rep:
            continue
        try:
            value = get(rep)
        except (KeyError, TypeError):
            value = None
        if value is not None:
            out.append(value)
    return out


def cell(tool: Tool, results: dict[str, Any], row: int, ours: float | None, base: dict[str, int]) -> str:
    """One cell: median (min over repetitions), the ratio to nbmlops, the size when it differs."""
    if "install_error" in results:
        return f"install failed: {results['install_error'][:80]}" if row == 0 else ""
    _, get, fmt, size_key = ROWS[row]
    values = figures(results["reps"], get)
    if not values:
        errors = [rep["error"] for rep in results["reps"] if "error" in rep]
        return f"run failed: {errors[0][:80]}" if errors and row == 0 else "-"
    median = statistics.median(values)
    text = fmt(median)
    if len(values) > 1 and fmt is not str and fmt(min(values)) != text:
        text += f" (min {fmt(min(values))})"
    if fmt is str:  # counts: every repetition's, when they differ
        text = " / ".join(f"{v:g}" for v in values) if len(set(values)) > 1 else f"{median:g}"
    if ours and tool.name != "nbmlops" and fmt is not str:
        ratio = median / ours
        text += f", {ratio:,.0f}x" if ratio >= 10 else f", {ratio:.2g}x"
    sizes = results["sizes"]
    if size_key and sizes[size_key] != base[size_key]:
        text += f" [{'N' if size_key == 'runs' else 'n'}={sizes[size_key]:,}]"
    return text


def machine() -> str:
    """nproc, memory and the Python version."""
    mem = ""
    try:
        kb = int(next(line for line in Path("/proc/meminfo").read_text().splitlines()
                      if line.startswith("MemTotal")).split()[1])
        mem = f", {kb / 1024 / 1024:.0f} GB RAM"
    except (OSError, StopIteration, ValueError):
        pass
    return f"{os.cpu_count()} cores{mem}, Python {platform.python_version()}, {platform.system()}"


def table(results: dict[str, dict[str, Any]], quick: bool) -> str:
    """The Markdown table: one column per tool, nbmlops first, ratios to nbmlops."""
    order = [BY_NAME["nbmlops"]] * ("nbmlops" in results) + [t for t in TOOLS if t.name in results
                                                           and t.name != "nbmlops"]
    base = QUICK if quick else FULL
    head = []
    for tool in order:
        res = results[tool.name]
        version = next((r["version"] for r in res.get("reps", []) if "version" in r), "")
        head.append(f"{tool.label} {version}".strip())
    lines = ["| workload | " + " | ".join(head) + " |", "|---" * (len(order) + 1) + "|"]
    nb = results.get("nbmlops")
    for i, (label, get, _, _) in enumerate(ROWS):
        ours_values = figures(nb["reps"], get) if nb and "reps" in nb else []
        ours = statistics.median(ours_values) if ours_values else None
        text = label.format(**{k: f"{v:,}" for k, v in base.items()})
        lines.append(f"| {text} | " + " | ".join(cell(t, results[t.name], i, ours, base) for t in order) + " |")
    loads = [", ".join(f"{r['load']:.1f}" for r in results[t.name].get("reps", [])) or "-" for t in order]
    lines.append("| load average (1 min) at each start | " + " | ".join(loads) + " |")
    return "\n".join(lines)


def parse_args() -> argparse.Namespace:
    """Command-line flags."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tools", default=",".join(t.name for t in TOOLS),
                        help=f"comma-separated, from: {', '.join(t.name for t in TOOLS)}")
    parser.add_argument("--reps", type=int, help="repetitions (default 2, or 1 with --quick)")
    parser.add_argument("--quick", action="store_true", help="~10x smaller sizes for a smoke run")
    parser.add_argument("--report", type=Path, help="print the table of a results JSON file again, run nothing")
    return parser.parse_args()


def main() -> None:
    """Install, run interleaved by repetition, print the table, write the JSON results."""
    args = parse_args()
    if args.report:
        saved = json.loads(args.report.read_text())
        print(table(saved["results"], saved["quick"]))
        return
    names = [n.strip() for n in args.tools.split(",") if n.strip()]
    unknown = [n for n in names if n not in BY_NAME]
    if unknown:
        sys.exit(f"bench_peers: unknown tool(s) {', '.join(unknown)}; pick from {', '.join(BY_NAME)}")
    tools = [t for t in TOOLS if t.name in names]  # table order, nbmlops last
    reps = args.reps or (1 if args.quick else 2)
    started = datetime.datetime.now(datetime.timezone.utc)
    results: dict[str, dict[str, Any]] = {}
    pythons: dict[str, Path] = {}
    for tool in tools:
        python, why = install(tool)
        if python is None:
            log(f"{tool.name}: {why}")
            results[tool.name] = {"install_error": why}
        else:
            pythons[tool.name] = python
            results[tool.name] = {"sizes": sizes_of(tool, args.quick), "reps": []}
    for rep in range(1, reps + 1):
        for tool in tools:
            if tool.name not in pythons:
                continue
            log(f"repetition {rep}/{reps}: {tool.name} (load average {os.getloadavg()[0]:.2f})")
            out = run_once(tool, pythons[tool.name], results[tool.name]["sizes"])
            log(f"  {tool.name}: " + (out["error"] if "error" in out else f"done in {out['seconds']:.0f} s"))
            results[tool.name]["reps"].append(out)
    total = time.perf_counter() - T0
    print(f"Peer benchmark, {started:%Y-%m-%d %H:%M} UTC, {machine()}; {reps} repetition(s), "
          f"{'QUICK sizes' if args.quick else 'full sizes'}, {total / 60:.0f} min in all.")
    print("Each cell: median over repetitions (min), then the ratio to nbmlops (peer / nbmlops: above 1x "
          "nbmlops is faster or smaller); [N=..] / [n=..] where a tool did fewer runs or calls.\n")
    print(table(results, args.quick))
    RESULTS.write_text(json.dumps({"started": started.isoformat(), "machine": machine(), "quick": args.quick,
                                   "reps": reps, "results": results, "seconds": total}, indent=2) + "\n")
    log(f"results in {RESULTS.relative_to(HERE.parent)}")


if __name__ == "__main__":
    main()
