"""The team store (catalog on PostgreSQL, files on S3) under load, side by side with an MLflow server.

    .venv/bin/python benchmarks/bench_team.py              # full sizes
    .venv/bin/python benchmarks/bench_team.py --quick      # ~1/100 of the sizes, a smoke run
    .venv/bin/python benchmarks/bench_team.py --no-mlflow  # nbmlops only

Starts a throwaway PostgreSQL cluster and moto's S3 server (tests/services.py) on free local ports
and creates one team store in them. Every workload runs in child processes that act as separate
machines ("hosts": a HOME, so a spool and a read cache, of their own), sharing only the database
and the bucket. Then, unless --no-mlflow, the same workloads go through MlflowClient to `mlflow
server` backed by the same PostgreSQL (a database of its own) and bucket (a prefix of its own),
run from the MLflow virtualenv bench_peers.py uses (benchmarks/.peer-venvs/mlflow, where
psycopg2-binary and boto3 are added). nbmlops and MLflow never run at the same time.

Progress and each figure go to stderr as they are measured, the table to stdout, everything to
benchmarks/results-team.json. Benchmarks report, they never assert: a missed goal is a FAIL row.

This file is also the program of the child processes (`--child MODE`): nbmlops modes run in this
checkout's .venv-team (DuckDB 1.5.5 and the `team` extra: `make .venv-team/.installed`), `mlflow-*`
modes in the MLflow virtualenv, so the module level imports only the standard library (and the
benchmarks' own stdlib-only helpers).
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import io
import json
import os
import platform
import select
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager, redirect_stderr, suppress
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:0] = [str(HERE), str(ROOT)]
from bench_peers import MLFLOW, VENVS  # noqa: E402
from benchlog import T0, fmt_time, log  # noqa: E402
from mlflow_env import ensure_venv  # noqa: E402

from tests.services import S3, Postgres, free_port, postgres, s3  # noqa: E402

RESULTS = HERE / "results-team.json"
# The team store runs on DuckDB 1.5.5 with the `team` extra, in .venv-team (tests/make_team_venv.py says why).
NBMLOPS_PYTHON = ROOT / ".venv-team" / "bin" / "python"
MLFLOW_REQUIREMENTS = [[*attempt, "psycopg2-binary", "boto3"] for attempt in MLFLOW]
BUCKET = "bench-team"
START_TIMEOUT_S = 180  # a child's start-up (imports, connections), an MLflow server's
STEP_TIMEOUT_S = 3600  # any one workload
POLL_S = 0.05  # how often a reader looks for the points other hosts wrote
FANIN_BOUND_S = 60.0  # how long after the last writer's exit the reader keeps looking
WARM_REPEAT = 5
LATER_PROCESSES = 5  # new processes on a host that read the store before: each times its first call
MB = 1e6
# Run i of the search workload has param p = i % 10 and metric m = spread(i), in [0, 1).
SEARCH_WHERE = {"nbmlops": "metrics.m > 0.5 and params.p = 3", "mlflow": "metrics.m > 0.5 and params.p = '3'"}

# Goals (seconds, or MB/s for the transfers).
GOAL_LOG_METRIC = 2e-6
GOAL_FANIN = 5.0
GOAL_SEARCH = 0.3
GOAL_HISTORY = 0.3
GOAL_PROMOTE = 0.3
GOAL_TRANSFER = 100.0


def spread(i: int) -> float:
    """Run i's value of metric `m` in the search workload."""
    return ((i * 7919) % 1000) / 1000


@dataclass(frozen=True)
class Sizes:
    """The workload sizes of one side (nbmlops or MLflow) of a run."""

    metric_calls: int = 1_000_000  # log_metric calls in one run (nbmlops also reads them back as the history)
    hosts: int = 8
    host_points: int = 100_000
    search_runs: int = 100_000
    history_points: int = 1_000_000  # MLflow's history run (nbmlops reuses the log_metric run)
    promoters: int = 4
    promotions: int = 10  # per promoter
    artifact_bytes: int = 1_000_000_000
    writers: int = 1  # processes creating the search runs


FULL = Sizes()
QUICK = Sizes(metric_calls=10_000, host_points=1_000, search_runs=1_000, history_points=10_000, promotions=3,
              artifact_bytes=10_000_000)
# MLflow answers each call over HTTP: a few thousand log_metric calls say its per-call cost, and 100,000
# runs (three requests each, ~30 runs/s) would take an hour; four processes create its search runs.
MLFLOW_FULL = replace(FULL, metric_calls=2_000, search_runs=10_000, writers=4)
MLFLOW_QUICK = replace(QUICK, metric_calls=200, writers=4)


# == child processes ==============================================================================
# Each speaks JSON lines on stdout: {"ready": true} once started (off the clock), then it waits for
# "go" on stdin where a start together matters, and its figures last.

def emit(**figures: Any) -> None:
    """One JSON line to the parent."""
    print(json.dumps(figures), flush=True)


def ready_then_wait() -> None:
    """Tell the parent this process is started, then wait for its go."""
    emit(ready=True)
    sys.stdin.readline()


def settle() -> None:
    """Open the store and wait for nbmlops' background provenance look-ups (off the clock)."""
    import nbmlops

    nbmlops.get_store()
    for thread in threading.enumerate():
        if thread.name.startswith("nbmlops-provenance"):
            thread.join(timeout=START_TIMEOUT_S)


def timed_calls(fn: Callable[[], Any], repeat: int) -> tuple[float, float, Any]:
    """First call's time, the median of `repeat` further calls, and the last result."""
    start = time.perf_counter()
    result = fn()
    first = time.perf_counter() - start
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return first, statistics.median(times), result


def write_random_file(path: Path, size: int) -> str:
    """A file of `size` random bytes; returns its sha256."""
    digest = hashlib.sha256()
    with open(path, "wb") as out:
        left = size
        while left:
            chunk = os.urandom(min(left, 8 << 20))
            digest.update(chunk)
            out.write(chunk)
            left -= len(chunk)
    return digest.hexdigest()


def nb_metric(p: dict[str, Any]) -> None:
    """log_metric in a loop inside one run, the shipper running; the loop's time."""
    import nbmlops

    settle()
    n = p["n"]
    log_metric = nbmlops.log_metric
    with nbmlops.start_run(experiment="log_metric") as run:
        start = time.perf_counter()
        for i in range(n):
            log_metric("loss", float(i), step=i)
        loop = time.perf_counter() - start
    emit(loop_s=loop, run_id=run.run_id, ended=time.time())


def nb_fanin_writer(p: dict[str, Any]) -> None:
    """One host's run of `n` points logged in a tight loop, started with the other hosts."""
    import nbmlops

    settle()
    ready_then_wait()
    log_metric = nbmlops.log_metric
    with nbmlops.start_run(experiment="fanin", name=p["host"]):
        for i in range(p["n"]):
            log_metric("loss", float(i), step=i)
    emit(ended=time.time())


def poll_until(check: Callable[[], bool], bound: float) -> tuple[float | None, int]:
    """Call `check` every POLL_S until it is true; give up `bound` seconds after the parent says (a line
    on stdin) that the last writer exited. The wall-clock time it became true (None: never), and the polls."""
    give_up = float("inf")
    polls = 0
    while time.monotonic() < give_up:
        if give_up == float("inf") and select.select([sys.stdin], [], [], 0)[0]:
            sys.stdin.readline()
            give_up = time.monotonic() + bound
        polls += 1
        if check():
            return time.time(), polls
        time.sleep(POLL_S)
    return None, polls


def nb_fanin_reader(p: dict[str, Any]) -> None:
    """Poll `metric_history` of the fan-in runs until they hold every point; when that was (wall clock).
    Each poll also counts the points with one query on the catalog connection, past nbmlops's read
    cache (private API): when that count was complete says what the catalog held."""
    import nbmlops

    settle()
    runs: Callable[[], Any] = lambda: nbmlops.runs("fanin")  # noqa: E731
    runs()  # the catalog connection is open before the writers start
    store = nbmlops.get_store()
    ready_then_wait()
    want = p["hosts"] * p["n"]
    seen: dict[str, int] = {}
    in_catalog = 0  # the catalog's count of the points ...
    complete_at: float | None = None  # ... and when it was complete

    def complete() -> bool:
        nonlocal in_catalog, complete_at
        for run_id in runs()["run_id"]:
            if seen.get(run_id, 0) < p["n"]:
                with suppress(nbmlops.NotFoundError):  # no point shipped yet
                    seen[run_id] = len(nbmlops.metric_history(run_id, "loss"))
        if complete_at is None:
            with store.catalog.connect() as con:
                row = con.execute("SELECT count(*) FROM metrics WHERE run_id IN "
                                  "(SELECT run_id FROM runs WHERE experiment = 'fanin')").fetchone()
            in_catalog = int(row[0]) if row else 0
            if in_catalog == want:
                complete_at = time.time()
        return sum(seen.values()) == want

    when, polls = poll_until(complete, p["bound"])
    emit(seen=when, points=sum(seen.values()), polls=polls, in_catalog=complete_at, catalog_points=in_catalog)


def nb_runs_writer(p: dict[str, Any]) -> None:
    """Runs `lo`..`hi`-1 of the search workload, each with one param and one metric."""
    import nbmlops

    settle()
    start = time.perf_counter()
    for i in range(p["lo"], p["hi"]):
        with nbmlops.start_run(experiment="search"):
            nbmlops.log_param("p", i % 10)
            nbmlops.log_metric("m", spread(i))
    emit(loop_s=time.perf_counter() - start, ended=time.time())


def nb_search_reader(p: dict[str, Any]) -> None:
    """runs(where=...) over the search experiment: first call in this process, then warm."""
    import nbmlops

    settle()
    first, warm, found = timed_calls(lambda: nbmlops.runs("search", where=SEARCH_WHERE["nbmlops"]), WARM_REPEAT)
    emit(first_s=first, warm_s=warm, rows=len(found))


def nb_history_reader(p: dict[str, Any]) -> None:
    """metric_history of one run: first call in this process, then warm."""
    import nbmlops

    settle()
    first, warm, history = timed_calls(lambda: nbmlops.metric_history(p["run_id"], "loss"), WARM_REPEAT)
    emit(first_s=first, warm_s=warm, points=len(history))


def nb_promoter(p: dict[str, Any]) -> None:
    """Register versions of a small LogisticRegression and promote each to production."""
    from sklearn.linear_model import LogisticRegression

    import nbmlops

    settle()
    model = LogisticRegression().fit([[0.0], [1.0], [2.0], [3.0]], [0, 0, 1, 1])
    ready_then_wait()
    register, promote = [], []
    for i in range(p["n"]):
        with nbmlops.start_run(experiment="promote", name=f"{p['host']}-{i}"):
            start = time.perf_counter()
            version = nbmlops.log_model(model, "churn").version
            registered = time.perf_counter()
            nbmlops.promote("churn", version, "production", reason=p["host"])
            promote.append(time.perf_counter() - registered)
            register.append(registered - start)
    emit(promote_s=promote, register_s=register)


def nb_artifact_writer(p: dict[str, Any]) -> None:
    """log_artifact of a file of random bytes; then wait until the shipper put it in the bucket."""
    import nbmlops

    settle()
    path = Path("big.bin").resolve()
    sha = write_random_file(path, p["bytes"])
    store = nbmlops.get_store()
    with nbmlops.start_run(experiment="artifact"):
        start = time.perf_counter()
        nbmlops.log_artifact(path, "big.bin")
        logged = time.perf_counter()
        deadline = time.monotonic() + STEP_TIMEOUT_S
        while not store.blobs().exists(sha) and time.monotonic() < deadline:  # type: ignore[attr-defined]
            time.sleep(0.02)
        uploaded = time.perf_counter()
    emit(log_s=logged - start, upload_s=uploaded - logged, sha=sha, ended=time.time())


def nb_artifact_reader(p: dict[str, Any]) -> None:
    """The file's local copy on a host that has none: downloaded and hash-checked."""
    import nbmlops

    settle()
    store = nbmlops.get_store()
    start = time.perf_counter()
    local = store.artifact_path(p["sha"])
    emit(seconds=time.perf_counter() - start, bytes=local.stat().st_size)


def mlflow_client() -> Any:
    """An MlflowClient of the server in MLFLOW_TRACKING_URI, MLflow's own chatter silenced."""
    import logging
    import warnings

    warnings.filterwarnings("ignore")
    logging.getLogger("mlflow").setLevel(logging.ERROR)
    from mlflow import MlflowClient

    return MlflowClient()


def mlflow_experiment(client: Any, name: str) -> str:
    """The id of experiment `name`, created if it does not exist (another client may race us)."""
    found = client.get_experiment_by_name(name)
    if found is not None:
        return str(found.experiment_id)
    try:
        return str(client.create_experiment(name))
    except Exception:  # created by another client meanwhile  # noqa: BLE001
        return str(client.get_experiment_by_name(name).experiment_id)


def log_points_batched(client: Any, run_id: str, n: int) -> None:
    """`n` points of metric loss (value i at step i) through log_batch, 1,000 a request (its maximum)."""
    from mlflow.entities import Metric

    now = int(time.time() * 1000)
    for lo in range(0, n, 1000):
        client.log_batch(run_id, metrics=[Metric("loss", float(i), now, i) for i in range(lo, min(lo + 1000, n))])


def ml_metric(p: dict[str, Any]) -> None:
    """client.log_metric in a loop inside one run: each call is a request the server commits."""
    client = mlflow_client()
    run_id = client.create_run(mlflow_experiment(client, "log_metric")).info.run_id
    start = time.perf_counter()
    for i in range(p["n"]):
        client.log_metric(run_id, "loss", float(i), step=i)
    loop = time.perf_counter() - start
    client.set_terminated(run_id)
    emit(loop_s=loop, ended=time.time())


def ml_fanin_writer(p: dict[str, Any]) -> None:
    """One host's run of `n` points through log_batch, started with the other hosts."""
    client = mlflow_client()
    exp = mlflow_experiment(client, "fanin")
    ready_then_wait()
    run_id = client.create_run(exp, run_name=p["host"]).info.run_id
    log_points_batched(client, run_id, p["n"])
    client.set_terminated(run_id)
    emit(ended=time.time())


def ml_fanin_reader(p: dict[str, Any]) -> None:
    """Poll search_runs until every run's latest loss is the last point (MLflow commits each request,
    so then all are in); when that was, then the points counted through get_metric_history."""
    client = mlflow_client()
    exp = mlflow_experiment(client, "fanin")
    ready_then_wait()
    found: list[Any] = []

    def complete() -> bool:
        found[:] = client.search_runs([exp], max_results=1000)
        return len(found) == p["hosts"] and all(r.data.metrics.get("loss") == p["n"] - 1 for r in found)

    when, polls = poll_until(complete, p["bound"])
    start = time.perf_counter()
    points = sum(len(client.get_metric_history(r.info.run_id, "loss")) for r in found)
    emit(seen=when, points=points, polls=polls, count_s=time.perf_counter() - start)


def ml_runs_writer(p: dict[str, Any]) -> None:
    """Runs `lo`..`hi`-1 of the search workload: create, one param and one metric, terminate."""
    from mlflow.entities import Metric, Param

    client = mlflow_client()
    exp = mlflow_experiment(client, "search")
    start = time.perf_counter()
    for i in range(p["lo"], p["hi"]):
        run_id = client.create_run(exp).info.run_id
        client.log_batch(run_id, metrics=[Metric("m", spread(i), int(time.time() * 1000), 0)],
                         params=[Param("p", str(i % 10))])
        client.set_terminated(run_id)
    emit(loop_s=time.perf_counter() - start, ended=time.time())


def ml_search_reader(p: dict[str, Any]) -> None:
    """search_runs with the filter, every page of the answer: first call in this process, then warm."""
    client = mlflow_client()
    exp = mlflow_experiment(client, "search")

    def search() -> list[Any]:
        found: list[Any] = []
        token = None
        while True:
            page = client.search_runs([exp], SEARCH_WHERE["mlflow"], max_results=50_000, page_token=token)
            found += page
            token = page.token
            if not token:
                return found

    first, warm, found = timed_calls(search, WARM_REPEAT)
    emit(first_s=first, warm_s=warm, rows=len(found))


def ml_history_writer(p: dict[str, Any]) -> None:
    """A run of `n` points through log_batch, for the history reader."""
    client = mlflow_client()
    run_id = client.create_run(mlflow_experiment(client, "history")).info.run_id
    start = time.perf_counter()
    log_points_batched(client, run_id, p["n"])
    client.set_terminated(run_id)
    emit(run_id=run_id, loop_s=time.perf_counter() - start)


def ml_history_reader(p: dict[str, Any]) -> None:
    """get_metric_history of one run (the client pages through it): first call, then warm."""
    client = mlflow_client()
    first, warm, history = timed_calls(lambda: client.get_metric_history(p["run_id"], "loss"), p["repeat"])
    emit(first_s=first, warm_s=warm, points=len(history))


def ml_promoter(p: dict[str, Any]) -> None:
    """Register versions of a small LogisticRegression (mlflow.sklearn.log_model with
    registered_model_name) and point alias production at each."""
    import mlflow
    import mlflow.sklearn
    from sklearn.linear_model import LogisticRegression

    client = mlflow_client()
    mlflow.set_experiment("promote")
    model = LogisticRegression().fit([[0.0], [1.0], [2.0], [3.0]], [0, 0, 1, 1])
    ready_then_wait()
    register, promote = [], []
    for i in range(p["n"]):
        with mlflow.start_run(run_name=f"{p['host']}-{i}"):
            start = time.perf_counter()
            with redirect_stderr(io.StringIO()):  # its "Created version ..." lines
                info = mlflow.sklearn.log_model(model, name="model", registered_model_name="churn")
            registered = time.perf_counter()
            client.set_registered_model_alias("churn", "production", info.registered_model_version)
            promote.append(time.perf_counter() - registered)
            register.append(registered - start)
    emit(promote_s=promote, register_s=register)


def ml_artifact_writer(p: dict[str, Any]) -> None:
    """client.log_artifact of a file of random bytes (through the server to the bucket)."""
    client = mlflow_client()
    path = Path("big.bin").resolve()
    write_random_file(path, p["bytes"])
    run_id = client.create_run(mlflow_experiment(client, "artifact")).info.run_id
    start = time.perf_counter()
    client.log_artifact(run_id, str(path))
    emit(upload_s=time.perf_counter() - start, run_id=run_id)


def ml_artifact_reader(p: dict[str, Any]) -> None:
    """client.download_artifacts of that file into this host's folder."""
    client = mlflow_client()
    start = time.perf_counter()
    local = client.download_artifacts(p["run_id"], "big.bin", str(Path("download").resolve()))
    emit(seconds=time.perf_counter() - start, bytes=Path(local).stat().st_size)


CHILDREN: dict[str, Callable[[dict[str, Any]], None]] = {
    "metric": nb_metric, "fanin-writer": nb_fanin_writer, "fanin-reader": nb_fanin_reader,
    "runs-writer": nb_runs_writer, "search-reader": nb_search_reader, "history-reader": nb_history_reader,
    "promoter": nb_promoter, "artifact-writer": nb_artifact_writer, "artifact-reader": nb_artifact_reader,
    "mlflow-metric": ml_metric, "mlflow-fanin-writer": ml_fanin_writer, "mlflow-fanin-reader": ml_fanin_reader,
    "mlflow-runs-writer": ml_runs_writer, "mlflow-search-reader": ml_search_reader,
    "mlflow-history-writer": ml_history_writer, "mlflow-history-reader": ml_history_reader,
    "mlflow-promoter": ml_promoter, "mlflow-artifact-writer": ml_artifact_writer,
    "mlflow-artifact-reader": ml_artifact_reader,
}


# == the parent: hosts and their processes ========================================================

class Child:
    """A child process on a host of its own, read line by line with timeouts."""

    def __init__(self, name: str, proc: subprocess.Popen[bytes]) -> None:
        self.name, self.proc = name, proc
        self._buffer = b""

    def read(self, timeout: float = STEP_TIMEOUT_S) -> dict[str, Any]:
        """The child's next JSON line (other lines, such as MLflow's "View run" links, are skipped)."""
        assert self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        deadline = time.monotonic() + timeout
        while True:
            while b"\n" not in self._buffer:
                left = deadline - time.monotonic()
                if left <= 0 or not select.select([fd], [], [], left)[0]:
                    raise TimeoutError(f"{self.name}: no answer in {timeout:.0f} s")
                chunk = os.read(fd, 1 << 16)
                if not chunk:
                    raise RuntimeError(f"{self.name} exited with code {self.proc.wait()} (its stderr is above)")
                self._buffer += chunk
            line, self._buffer = self._buffer.split(b"\n", 1)
            if line.startswith(b"{"):
                return json.loads(line)

    def tell(self, word: str) -> None:
        """A line to the child ("go" ends its ready_then_wait); one that already ended needs none."""
        assert self.proc.stdin is not None
        with suppress(BrokenPipeError):
            self.proc.stdin.write(word.encode() + b"\n")
            self.proc.stdin.flush()

    def exit_time(self, timeout: float = STEP_TIMEOUT_S) -> float:
        """Wait for the process to end; the wall-clock time it ended (to ~5 ms)."""
        deadline = time.monotonic() + timeout
        while self.proc.poll() is None:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.name} still runs after {timeout:.0f} s")
            time.sleep(0.005)
        ended = time.time()
        if self.proc.returncode != 0:
            raise RuntimeError(f"{self.name} exited with code {self.proc.returncode} (its stderr is above)")
        return ended

    def finish(self, timeout: float = STEP_TIMEOUT_S) -> dict[str, Any]:
        """The child's figures, once it exited cleanly."""
        out = self.read(timeout)
        self.exit_time(timeout)
        return out


@dataclass
class Hosts:
    """Processes that act as separate machines: each host a HOME of its own under `tmp`."""

    tmp: Path
    python: Path
    env_extra: dict[str, str]
    children: list[Child] = field(default_factory=list)

    def spawn(self, host: str, mode: str, /, **params: Any) -> Child:
        """Start child `mode` on `host` (its folder is its HOME and working directory)."""
        home = self.tmp / host
        home.mkdir(parents=True, exist_ok=True)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("NBMLOPS_", "AWS_", "XDG_CACHE", "MLFLOW_"))}
        env.update(self.env_extra, HOME=str(home))
        proc = subprocess.Popen([str(self.python), __file__, "--child", mode, "--params", json.dumps(params)],
                                env=env, cwd=home, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        child = Child(f"{mode}@{host}", proc)
        self.children.append(child)
        return child

    def spawn_ready(self, host: str, mode: str, /, **params: Any) -> Child:
        """Start a child and wait until it says it is ready."""
        child = self.spawn(host, mode, **params)
        child.read(START_TIMEOUT_S)
        return child

    def stop(self) -> None:
        """Kill the children still running (after an error)."""
        for child in self.children:
            if child.proc.poll() is None:
                child.proc.kill()
                child.proc.wait()


@contextmanager
def hosts_of(tmp: Path, python: Path, env: dict[str, str]) -> Iterator[Hosts]:
    """Hosts whose children are killed at the end of the block if still running."""
    hosts = Hosts(tmp, python, env)
    try:
        yield hosts
    finally:
        hosts.stop()


# == the workloads, the same for both tools =======================================================

@dataclass
class Side:
    """One tool's hosts, sizes and figures."""

    name: str  # "nbmlops" or "mlflow": its child modes are named after it
    hosts: Hosts
    sizes: Sizes
    figures: dict[str, Any] = field(default_factory=dict)

    def mode(self, name: str) -> str:
        return name if self.name == "nbmlops" else f"mlflow-{name}"

    def note(self, key: str, value: Any, text: str) -> None:
        """Keep a figure and say it."""
        self.figures[key] = value
        log(f"{self.name}: {text}")

    def problem(self, text: str) -> None:
        """Something wrong besides the timings (data missing, say): listed under the table."""
        self.figures.setdefault("problems", []).append(text)
        log(f"{self.name}: PROBLEM: {text}")


def bench_log_metric(side: Side) -> None:
    """log_metric per call in one run, then how long the writer took to exit (its last ship)."""
    n = side.sizes.metric_calls
    child = side.hosts.spawn("metric", side.mode("metric"), n=n)
    out = child.read()
    exited = child.exit_time()
    side.note("log_metric_s", out["loop_s"] / n, f"log_metric x{n:,}: {fmt_time(out['loop_s'] / n)} per call "
              f"(loop {fmt_time(out['loop_s'])}); the writer exited {fmt_time(exited - out['ended'])} after its run")
    side.figures["metric_exit_s"] = exited - out["ended"]
    side.figures["metric_run_id"] = out.get("run_id")


def bench_fanin(side: Side) -> None:
    """Hosts log a run each at once; from the last writer's exit until a reader on another host has all."""
    sizes = side.sizes
    reader = side.hosts.spawn_ready("fanin-reader", side.mode("fanin-reader"), hosts=sizes.hosts,
                                    n=sizes.host_points, bound=FANIN_BOUND_S)
    writers = [side.hosts.spawn(f"writer{k}", side.mode("fanin-writer"), host=f"writer{k}", n=sizes.host_points)
               for k in range(sizes.hosts)]
    for writer in writers:
        writer.read(START_TIMEOUT_S)
    started = time.time()
    reader.tell("go")
    for writer in writers:
        writer.tell("go")
    ended = [writer.read()["ended"] for writer in writers]
    last_exit = max(writer.exit_time() for writer in writers)
    reader.tell("exited")
    seen = reader.finish()
    total = sizes.hosts * sizes.host_points
    side.figures["fanin_last_exit_s"] = last_exit - started
    what = (f"{sizes.hosts} hosts x {sizes.host_points:,} points (last run ended at {fmt_time(max(ended) - started)}, "
            f"last writer exited at {fmt_time(last_exit - started)}, {seen['polls']} polls)")
    held = seen.get("in_catalog") or seen["seen"]  # when the catalog held every point (MLflow: when seen)
    if held is not None:
        side.figures["fanin_catalog_s"] = held - last_exit if held > last_exit else "before the exit"
        side.figures["fanin_total_s"] = held - started
    if seen["seen"] is None:
        side.note("fanin_visible_s", f"not all within {FANIN_BOUND_S:.0f} s", f"{what}: the reader still saw "
                  f"{seen['points']:,} of {total:,} points {FANIN_BOUND_S:.0f} s after the last writer exited")
        if "catalog_points" in seen and seen["catalog_points"] != total:
            side.problem(f"{sizes.hosts} writers that exited cleanly logged {total:,} points; the catalog holds "
                         f"{seen['catalog_points']:,} of them {FANIN_BOUND_S:.0f} s later")
    elif seen["seen"] <= last_exit:
        side.note("fanin_visible_s", "seen before the exit", f"{what}: all visible before the last writer exited")
    else:
        after = seen["seen"] - last_exit
        side.note("fanin_visible_s", after, f"{what}: all visible {fmt_time(after)} after the last writer exited")
    if seen.get("in_catalog"):
        log(f"{side.name}: the catalog held them all {fmt_time(seen['in_catalog'] - started)} after the start, "
            f"the last writer exited at {fmt_time(last_exit - started)} (a query past the read cache)")
    if "count_s" in seen:
        side.figures["fanin_count_s"] = seen["count_s"]


def bench_search(side: Side) -> None:
    """Create the search runs, then time a filtered search in a fresh process on another host."""
    n, writers = side.sizes.search_runs, side.sizes.writers
    bounds = [(n * k // writers, n * (k + 1) // writers) for k in range(writers)]
    started = time.time()
    children = [side.hosts.spawn(f"runs{k}", side.mode("runs-writer"), lo=lo, hi=hi)
                for k, (lo, hi) in enumerate(bounds)]
    loops = [child.read()["loop_s"] for child in children]
    exits = [child.exit_time() for child in children]
    side.note("search_setup_s", max(exits) - started, f"{n:,} runs created by {writers} process(es) in "
              f"{fmt_time(max(loops))}, shipped and exited at {fmt_time(max(exits) - started)}")
    out = side.hosts.spawn("search-reader", side.mode("search-reader")).finish()
    expected = sum(1 for i in range(n) if i % 10 == 3 and spread(i) > 0.5)
    if out["rows"] != expected:
        side.problem(f"the search found {out['rows']:,} runs of the {expected:,} logged that match it")
    side.note("search_first_s", out["first_s"], f"filtered search over {n:,} runs ({out['rows']:,} found): "
              f"first call {fmt_time(out['first_s'])}, warm {fmt_time(out['warm_s'])}")
    side.figures["search_warm_s"] = out["warm_s"]
    # Later new processes on the same host: what every later notebook kernel there sees (the first
    # process ever on a machine also checks the signatures of DuckDB's extension files and, on a team
    # store, fetches the table files it reads).
    again = [side.hosts.spawn("search-reader", side.mode("search-reader")).finish()["first_s"]
             for _ in range(later_processes(side))]
    side.note("search_again_s", statistics.median(again), f"the same search, first call of {len(again)} later "
              f"new processes on that host: median {fmt_time(statistics.median(again))}, {spread_of(again)}")


def later_processes(side: Side) -> int:
    """How many later new processes on a host time a first call (MLflow's history takes a minute each)."""
    return LATER_PROCESSES if side.name == "nbmlops" else 1


def spread_of(times: list[float]) -> str:
    return f"min {fmt_time(min(times))}, max {fmt_time(max(times))}" if len(times) > 1 else "one process"


def bench_history(side: Side) -> None:
    """metric_history of one large run in a fresh process on another host."""
    if side.name == "nbmlops":
        run_id, n = side.figures["metric_run_id"], side.sizes.metric_calls  # the log_metric run
    else:
        n = side.sizes.history_points
        made = side.hosts.spawn("history-writer", side.mode("history-writer"), n=n).finish()
        run_id = made["run_id"]
        log(f"{side.name}: {n:,} points logged through log_batch in {fmt_time(made['loop_s'])}")
    repeat = WARM_REPEAT if side.name == "nbmlops" or n <= 100_000 else 2  # MLflow reads 1M points in ~1 min
    out = side.hosts.spawn("history-reader", side.mode("history-reader"), run_id=run_id, repeat=repeat).finish()
    if out["points"] != n:
        side.problem(f"the history read back {out['points']:,} of the {n:,} points logged")
    side.note("history_first_s", out["first_s"], f"metric history of {n:,} points: first call "
              f"{fmt_time(out['first_s'])}, warm {fmt_time(out['warm_s'])}")
    side.figures["history_warm_s"] = out["warm_s"]
    again = [side.hosts.spawn("history-reader", side.mode("history-reader"), run_id=run_id, repeat=1).finish()
             ["first_s"] for _ in range(later_processes(side))]
    side.note("history_again_s", statistics.median(again), f"the same history, first call of {len(again)} later "
              f"new processes on that host: median {fmt_time(statistics.median(again))}, {spread_of(again)}")


def bench_promote(side: Side) -> None:
    """Promoters on their own hosts register versions and move the production alias at once."""
    sizes = side.sizes
    children = [side.hosts.spawn(f"promoter{k}", side.mode("promoter"), host=f"promoter{k}", n=sizes.promotions)
                for k in range(sizes.promoters)]
    for child in children:
        child.read(START_TIMEOUT_S)
    for child in children:
        child.tell("go")
    outs = [child.finish() for child in children]
    promote = sorted(t for out in outs for t in out["promote_s"])
    register = [t for out in outs for t in out["register_s"]]
    p50 = statistics.median(promote)
    side.note("promote_p50_s", p50, f"promote with {sizes.promoters} concurrent promoters: p50 {fmt_time(p50)}, "
              f"max {fmt_time(promote[-1])} over {len(promote)}; registering a version p50 "
              f"{fmt_time(statistics.median(register))}")
    side.figures["promote_max_s"] = promote[-1]
    side.figures["register_p50_s"] = statistics.median(register)


def bench_artifact(side: Side) -> None:
    """A file of random bytes logged and uploaded on one host, downloaded on another."""
    size = side.sizes.artifact_bytes
    up = side.hosts.spawn("artifact-writer", side.mode("artifact-writer"), bytes=size).finish()
    upload_s = up.get("log_s", 0.0) + up["upload_s"]
    down = side.hosts.spawn("artifact-reader", side.mode("artifact-reader"), bytes=size,
                            sha=up.get("sha"), run_id=up.get("run_id")).finish()
    if down["bytes"] != size:
        raise RuntimeError(f"{side.name}: downloaded {down['bytes']:,} bytes of {size:,}")
    detail = f" (log_artifact {fmt_time(up['log_s'])}, then upload {fmt_time(up['upload_s'])})" if "log_s" in up else ""
    side.note("upload_mb_s", size / MB / upload_s, f"{size / MB:,.0f} MB file: up {size / MB / upload_s:,.0f} MB/s "
              f"in {fmt_time(upload_s)}{detail}; down {size / MB / down['seconds']:,.0f} MB/s in "
              f"{fmt_time(down['seconds'])}")
    side.figures["download_mb_s"] = size / MB / down["seconds"]


WORKLOADS = [bench_log_metric, bench_fanin, bench_search, bench_history, bench_promote, bench_artifact]
NAMES = [w.__name__.removeprefix("bench_") for w in WORKLOADS]


def run_side(side: Side, only: set[str] | None = None) -> None:
    """Every workload of one tool (or those named in `only`); a failing one is reported and the next goes on."""
    for workload in WORKLOADS:
        if only is not None and NAMES[WORKLOADS.index(workload)] not in only:
            continue
        try:
            workload(side)
        except Exception as exc:  # reported in the table, never fatal  # noqa: BLE001
            side.figures.setdefault("errors", {})[workload.__name__] = f"{type(exc).__name__}: {exc}"
            log(f"{side.name}: {workload.__name__} failed: {type(exc).__name__}: {exc}")
            side.hosts.stop()  # its processes still running must not weigh on the next workload


# == the services =================================================================================

def init_team_store(pg: Postgres, s3server: S3, tmp: Path) -> dict[str, str]:
    """Create the team store; the environment its hosts use."""
    url = pg.create_database("team")
    env = {**s3server.env(), "NBMLOPS_STORE": url}
    data = f"s3://{BUCKET}/team"
    home = tmp / "admin"
    home.mkdir(parents=True)
    base = {k: v for k, v in os.environ.items() if not k.startswith(("NBMLOPS_", "AWS_", "XDG_CACHE"))}
    subprocess.run([str(NBMLOPS_PYTHON), "-m", "nbmlops.cli", "init", "--store", url, "--data", data],
                   env={**base, **env, "HOME": str(home)}, cwd=home, check=True, capture_output=True,
                   timeout=START_TIMEOUT_S)
    log(f"team store {url}, data at {data}")
    return env


@contextmanager
def mlflow_server(python: Path, pg: Postgres, s3server: S3, folder: Path) -> Iterator[str]:
    """`mlflow server` on PostgreSQL (database mlflowdb) with artifacts proxied to the bucket; its URL."""
    pg.create_database("mlflowdb")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "MLFLOW_"))}
    env.update(s3server.env(), MLFLOW_S3_ENDPOINT_URL=s3server.endpoint, MLFLOW_DISABLE_TELEMETRY="true",
               DO_NOT_TRACK="true")
    backend = pg.url("mlflowdb").replace("postgresql://", "postgresql+psycopg2://")  # SQLAlchemy 2.1: psycopg 3
    cmd = [str(python.parent / "mlflow"), "server", "--backend-store-uri", backend,
           "--artifacts-destination", f"s3://{BUCKET}/mlflow", "--host", "127.0.0.1", "--port", str(port)]
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "server.log", "wb") as out:
        proc = subprocess.Popen(cmd, env=env, cwd=folder, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)  # its own process group: its workers stop with it
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=2):  # noqa: S310
                    break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    tail = (folder / "server.log").read_text(errors="replace")[-2000:]
                    raise RuntimeError(f"mlflow server did not start:\n{tail}") from None
                time.sleep(0.5)
        log(f"mlflow server at {url} (backend {backend}, artifacts s3://{BUCKET}/mlflow)")
        yield url
    finally:
        with suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            with suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def mlflow_version(python: Path) -> str:
    """The MLflow version installed in `python`'s virtualenv."""
    out = subprocess.run([str(python), "-c", "import importlib.metadata as m; print(m.version('mlflow'))"],
                         capture_output=True, text=True, timeout=60)
    return out.stdout.strip()


def run_mlflow(stack: ExitStack, python: Path, pg: Postgres, s3server: S3, tmp: Path, sizes: Sizes,
               only: set[str] | None) -> dict[str, Any]:
    """MLflow's side: its server (stopped with `stack`) and the workloads; its figures."""
    try:
        url = stack.enter_context(mlflow_server(python, pg, s3server, tmp / "mlflow-server"))
    except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
        log(f"mlflow: {exc}")
        return {"errors": {"mlflow server": str(exc).splitlines()[0]}}
    env = {"MLFLOW_TRACKING_URI": url, "MLFLOW_HTTP_REQUEST_TIMEOUT": str(STEP_TIMEOUT_S),
           "MLFLOW_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "true", "MLFLOW_LOGGING_LEVEL": "ERROR"}
    side = Side("mlflow", stack.enter_context(hosts_of(tmp / "mlflow", python, env)), sizes)
    run_side(side, only)
    return side.figures


# == the table ====================================================================================

@dataclass
class Row:
    """One figure of the table: time in seconds, or a rate in MB/s (`rate`)."""

    label: str
    key: str  # in the figures of each side
    goal: float | None = None
    rate: bool = False
    mlflow_note: str = ""

    def cell(self, value: float | str | None) -> str:
        """A figure, or the sentence said instead of one."""
        if value is None or isinstance(value, str):
            return value or "n/a"
        return f"{value:,.0f} MB/s" if self.rate else fmt_time(value)

    def verdict(self, ours: float | str | None) -> str:
        if self.goal is None or ours is None:
            return "-"
        if isinstance(ours, str):
            return "FAIL"
        return "pass" if (ours >= self.goal if self.rate else ours <= self.goal) else "FAIL"

    def ratio(self, ours: float | str | None, theirs: float | str | None) -> str:
        """How many times faster nbmlops is (above 1: nbmlops is faster)."""
        if not isinstance(ours, float) or not isinstance(theirs, float) or not ours or not theirs:
            return "-"
        ratio = ours / theirs if self.rate else theirs / ours
        return f"{ratio:,.0f}x" if ratio >= 10 else f"{ratio:.2g}x"


def rows(sizes: Sizes, theirs: Sizes) -> list[Row]:
    """The table's rows, labelled with nbmlops' sizes; MLflow's sizes said where they differ."""
    def differs(attr: str, text: str) -> str:
        return text.format(getattr(theirs, attr)) if getattr(theirs, attr) != getattr(sizes, attr) else ""

    fan = f"{sizes.hosts} hosts x {sizes.host_points:,} points"
    return [
        Row(f"`log_metric` per call, shipper running (mean of {sizes.metric_calls:,})", "log_metric_s",
            GOAL_LOG_METRIC, mlflow_note=differs("metric_calls", "mean of {:,} `client.log_metric`")),
        Row("its process ends after the run (nbmlops: the last ship)", "metric_exit_s"),
        Row(f"{fan}: last writer's exit -> all visible on another host (`metric_history`)", "fanin_visible_s",
            GOAL_FANIN, mlflow_note="`log_batch` of 1,000; reader polls `search_runs`"),
        Row(f"{fan}: last writer's exit -> all in the catalog (a count past the read cache)", "fanin_catalog_s",
            mlflow_note="as above"),
        Row(f"{fan}: start -> all in the catalog", "fanin_total_s"),
        Row(f"{sizes.search_runs:,} runs created and shipped", "search_setup_s",
            mlflow_note=differs("search_runs", "{:,} runs by 4 processes")),
        Row(f"`runs(where=...)` over {sizes.search_runs:,} runs, first call of the first process on a new host",
            "search_first_s", mlflow_note=differs("search_runs", "`search_runs` over {:,} runs, every page")),
        Row("the same search, first call of a later new process on that host (median of 5)", "search_again_s",
            GOAL_SEARCH, mlflow_note="one process"),
        Row("the same search, warm (median of 5)", "search_warm_s", GOAL_SEARCH),
        Row(f"`metric_history` of {sizes.metric_calls:,} points, first call of the first process on a new host",
            "history_first_s", mlflow_note=differs("history_points", "`get_metric_history` of {:,} points")),
        Row("the same history, first call of a later new process on that host (median of 5)", "history_again_s",
            GOAL_HISTORY, mlflow_note="one process"),
        Row("the same history, warm (median of 5)", "history_warm_s", GOAL_HISTORY,
            mlflow_note="median of 2" if theirs.history_points > 100_000 else ""),
        Row(f"promote with {sizes.promoters} concurrent promoters, p50 of {sizes.promoters * sizes.promotions}",
            "promote_p50_s", GOAL_PROMOTE, mlflow_note="`set_registered_model_alias`"),
        Row("registering a version (`log_model`), p50", "register_p50_s",
            mlflow_note="`mlflow.sklearn.log_model(registered_model_name=)`"),
        Row(f"{sizes.artifact_bytes / MB:,.0f} MB artifact up: `log_artifact` + upload", "upload_mb_s", GOAL_TRANSFER,
            rate=True, mlflow_note="`client.log_artifact` through the server"),
        Row(f"{sizes.artifact_bytes / MB:,.0f} MB artifact down on another host (hash-checked)", "download_mb_s",
            GOAL_TRANSFER, rate=True, mlflow_note="`client.download_artifacts`"),
    ]


def table(ours: dict[str, Any], theirs: dict[str, Any] | None, sizes: Sizes, their_sizes: Sizes,
          version: str) -> str:
    """The Markdown table of both sides' figures."""
    head = "| figure | nbmlops | goal | verdict |"
    if theirs is not None:
        head += f" MLflow {version} server | MLflow / nbmlops | MLflow's workload |"
    lines = [head, "|---" * head.count(" |") + "|"]
    for row in rows(sizes, their_sizes):
        value = ours.get(row.key)
        goal = "-" if row.goal is None else ((">= " if row.rate else "<= ") + row.cell(row.goal))
        line = f"| {row.label} | {row.cell(value)} | {goal} | {row.verdict(value)} |"
        if theirs is not None:
            other = theirs.get(row.key)
            line += f" {row.cell(other)} | {row.ratio(value, other)} | {row.mlflow_note} |"
        lines.append(line)
    return "\n".join(lines)


# == main =========================================================================================

def parse_args() -> argparse.Namespace:
    """Command-line flags (and the child mode's)."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="~1/100 of the sizes, a smoke run")
    parser.add_argument("--no-mlflow", action="store_true", help="nbmlops only")
    parser.add_argument("--only", default=None, metavar="W,W", help=f"these workloads only, of: {', '.join(NAMES)} "
                        "(history reads log_metric's run: name both)")
    parser.add_argument("--child", choices=sorted(CHILDREN), help=argparse.SUPPRESS)
    parser.add_argument("--params", default="{}", help=argparse.SUPPRESS)
    return parser.parse_args()


def main() -> None:
    """Start the services, run both sides one after the other, print the table, write the JSON."""
    args = parse_args()
    only = set(args.only.split(",")) if args.only else None
    if only is not None and not only <= set(NAMES):
        sys.exit(f"bench_team: --only takes workload names: {', '.join(NAMES)}")
    if args.child:
        CHILDREN[args.child](json.loads(args.params))
        return
    if not NBMLOPS_PYTHON.exists():
        sys.exit(f"bench_team: nbmlops runs from {NBMLOPS_PYTHON.relative_to(ROOT)}, which is missing: "
                 "make .venv-team/.installed")
    # A `kill` unwinds like an error: children, servers and temporary folders are cleaned up.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("bench_team: stopped by SIGTERM"))
    sizes, their_sizes = (QUICK, MLFLOW_QUICK) if args.quick else (FULL, MLFLOW_FULL)
    started = datetime.datetime.now(datetime.timezone.utc)
    load = os.getloadavg()
    python, why = (None, "--no-mlflow") if args.no_mlflow else ensure_venv(
        VENVS / "mlflow", MLFLOW_REQUIREMENTS, "mlflow, psycopg2, boto3")
    if python is None:
        log(f"MLflow: not run ({why})")
    ours: dict[str, Any] = {}
    theirs: dict[str, Any] | None = None
    version = mlflow_version(python) if python else ""
    with ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-team-")))
        pg = stack.enter_context(postgres())
        s3server = stack.enter_context(s3())
        s3server.create_bucket(BUCKET)
        env = init_team_store(pg, s3server, tmp)
        side = Side("nbmlops", stack.enter_context(hosts_of(tmp / "nbmlops", NBMLOPS_PYTHON, env)), sizes)
        run_side(side, only)
        ours = side.figures
        if python is not None:
            theirs = run_mlflow(stack, python, pg, s3server, tmp, their_sizes, only)
    total = time.perf_counter() - T0
    print(f"Team store benchmark, {started:%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores, Python "
          f"{platform.python_version()}, load average {load[0]:.2f} at the start; "
          f"{'QUICK' if args.quick else 'full'} sizes.\n")
    print(table(ours, theirs, sizes, their_sizes, version))
    for name, figures in (("nbmlops", ours), ("MLflow", theirs or {})):
        for workload, error in figures.get("errors", {}).items():
            print(f"\n{name} {workload} failed: {error}")
        for text in figures.get("problems", []):
            print(f"\n{name}: {text}")
    RESULTS.write_text(json.dumps({"started": started.isoformat(), "quick": args.quick, "load_at_start": load,
                                   "sizes": asdict(sizes), "mlflow_sizes": asdict(their_sizes),
                                   "mlflow_version": version, "nbmlops": ours, "mlflow": theirs,
                                   "seconds": total}, indent=2) + "\n")
    log(f"results in {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
