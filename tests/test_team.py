"""The team store on real PostgreSQL (a throwaway cluster) and a real S3 endpoint (moto's server).

"Hosts" are processes with a HOME of their own: each has its own spool of journals and read cache,
as separate machines would, and shares only the PostgreSQL database and the bucket.
"""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import nbmlops
from nbmlops.errors import StoreError
from nbmlops.store.folder import open_store
from nbmlops.store.team import TIDY_FILES, TeamStore, parse_location
from tests.services import PASSWORD, PASSWORD_USER, S3, Postgres, postgres, s3

pytest_plugins = ["pytest_jupyter.jupyter_server"]
ROOT = Path(__file__).resolve().parent.parent
_names = itertools.count()


@pytest.fixture(scope="module")
def pg() -> Iterator[Postgres]:
    with postgres() as server:
        yield server


@pytest.fixture(scope="module")
def bucket() -> Iterator[S3]:
    with s3() as server:
        server.create_bucket("nbmlops-team")
        yield server


class Team:
    """One team store (its own database and prefix) and the hosts that use it."""

    def __init__(self, url: str, data: str, s3: S3, tmp: Path) -> None:
        self.url, self.data, self.s3, self.tmp = url, data, s3, tmp

    def env(self, host: str, **extra: str) -> dict[str, str]:
        home = self.tmp / host
        home.mkdir(exist_ok=True)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("NBMLOPS_", "AWS_", "XDG_CACHE"))}
        env.update(self.s3.env(), HOME=str(home), NBMLOPS_STORE=self.url, PYTHONPATH=str(ROOT))
        env.update(extra)
        return env

    def run(self, host: str, code: str, *args: str, check: bool = True, timeout: float = 120,
            **extra: str) -> subprocess.CompletedProcess[str]:
        result = subprocess.run([sys.executable, "-c", code, *args], env=self.env(host, **extra),
                                capture_output=True, text=True, timeout=timeout, cwd=self.tmp / host)
        if check:
            assert result.returncode == 0, result.stderr[-3000:]
        return result

    def cli(self, host: str, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        result = subprocess.run([sys.executable, "-m", "nbmlops.cli", *args], env=self.env(host),
                                capture_output=True, text=True, timeout=120, cwd=self.tmp / host)
        if check:
            assert result.returncode == 0, result.stderr[-3000:]
        return result

    def store(self, host: str, monkeypatch: pytest.MonkeyPatch) -> TeamStore:
        """The store as a process of `host` opens it (this test process becomes that host)."""
        for key, value in self.env(host).items():
            monkeypatch.setenv(key, value)
        store = open_store(self.url)
        assert isinstance(store, TeamStore)
        return store


def _team(pg: Postgres, bucket: S3, tmp: Path, data: str | None = None) -> Team:
    n = next(_names)
    url = pg.create_database(f"team{n}")
    team = Team(url, data or f"s3://nbmlops-team/t{n}", bucket, tmp)
    team.cli("admin", "init", "--store", url, "--data", team.data)
    return team


@pytest.fixture
def team(pg: Postgres, bucket: S3, tmp_path: Path) -> Team:
    return _team(pg, bucket, tmp_path)


WRITE = """
import sys, nbmlops
name = sys.argv[1]
with nbmlops.start_run(experiment="team", name=name):
    nbmlops.log_params({"lr": 0.1, "host": name})
    for i in range(int(sys.argv[2]) if len(sys.argv) > 2 else 50):
        nbmlops.log_metric("loss", 1.0 / (i + 1), step=i)
"""

READ = """
import json, nbmlops
df = nbmlops.runs("team", order_by="name")
print(json.dumps({"names": df["name"].tolist(), "status": df["status"].tolist(),
                  "points": [len(nbmlops.metric_history(r, "loss")) for r in df["run_id"]]}))
"""


def _read(team: Team, host: str) -> dict[str, list[object]]:
    return json.loads(team.run(host, READ).stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def test_init_creates_the_tables_once_and_every_host_reads_what_another_wrote(team: Team) -> None:
    again = team.cli("admin", "init", "--store", team.url)
    assert "already up to date" in again.stdout
    team.run("alice", WRITE, "a1")
    team.run("bob", WRITE, "b1")
    seen = _read(team, "carol")  # a host that wrote nothing
    assert seen == {"names": ["a1", "b1"], "status": ["FINISHED", "FINISHED"], "points": [50, 50]}
    shown = team.cli("carol", "runs", "-e", "team", "--format", "json")
    assert '"a1"' in shown.stdout and '"b1"' in shown.stdout


def test_files_go_to_the_bucket_and_are_read_back_on_another_host_hash_checked(
        team: Team, monkeypatch: pytest.MonkeyPatch) -> None:
    team.run("alice", """
import nbmlops, pathlib
p = pathlib.Path("weights.bin"); p.write_bytes(bytes(range(256)) * 4096)
with nbmlops.start_run(experiment="team", name="files"):
    nbmlops.log_artifact(p, "weights.bin")
""")
    store = team.store("bob", monkeypatch)
    nbmlops.set_store(team.url)
    run = nbmlops.runs("team")["run_id"][0]
    with store.reading() as con:
        sha = con.execute("SELECT sha256 FROM artifacts WHERE run_id = ?", [run]).fetchone()[0]  # type: ignore[index]
    assert not (store.artifact_dir / sha[:2] / sha[2:]).exists()  # bob has no copy yet
    assert store.read_verified(sha, "weights") == bytes(range(256)) * 4096
    assert store.blobs().exists(sha)


def test_an_answer_read_while_another_machine_commits_is_not_kept_as_current(
        team: Team, monkeypatch: pytest.MonkeyPatch) -> None:
    store = team.store("bob", monkeypatch)

    def count(con: Any) -> int:
        return int(con.execute("SELECT count(*) FROM runs").fetchone()[0])

    def count_while_alice_writes(con: Any) -> int:
        n = count(con)
        team.run("alice", WRITE, "during", "1")  # committed while this answer is being read
        return n

    assert store.cached(("runs",), count_while_alice_writes) == 0
    assert store.cached(("runs",), count) == 1  # not the answer read before alice's commit


def test_a_process_that_logs_while_its_journal_ships_leaves_nothing_behind_when_it_exits(team: Team) -> None:
    """A million points in a second or so: the shipper is folding one part of the journal while the
    rest is written; the ship at exit must take the rest (it once took the spool as it was after the
    ship in progress for shipped, and skipped it)."""
    team.run("alice", WRITE, "million", "1000000")
    assert _read(team, "bob") == {"names": ["million"], "status": ["FINISHED"], "points": [1_000_000]}
    spool = team.run("alice", "import nbmlops; from nbmlops.store.journal import list_journals; "
                     "print(len(list(list_journals(nbmlops.get_store().journal_dir))))").stdout.strip()
    assert spool == "0"  # retired to done/: shipped whole


def test_many_processes_on_many_hosts_lose_and_duplicate_nothing(team: Team) -> None:
    procs = [subprocess.Popen([sys.executable, "-c", WRITE, f"{host}-{i}", "300"], env=team.env(host),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for host in ("h1", "h2", "h3") for i in range(2)]
    for proc in procs:
        _, err = proc.communicate(timeout=180)
        assert proc.returncode == 0, err[-2000:]
    seen = _read(team, "reader")
    assert seen["names"] == [f"{h}-{i}" for h in ("h1", "h2", "h3") for i in range(2)]
    assert seen["points"] == [300] * 6
    assert set(seen["status"]) == {"FINISHED"}


LONG_RUN = """
import sys, time, nbmlops
with nbmlops.start_run(experiment="team", name="long"):
    for i in range(int(sys.argv[1])):
        nbmlops.log_metric("loss", 1.0 / (i + 1), step=i)
        time.sleep(0.01)
print("done")
"""


def test_a_run_goes_on_while_the_catalog_is_down_and_ships_when_it_returns(team: Team, pg: Postgres) -> None:
    proc = subprocess.Popen([sys.executable, "-c", LONG_RUN, "600"], env=team.env("alice"),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(2.0)
    pg.stop()
    try:
        time.sleep(3.0)
    finally:
        pg.start()
    out, err = proc.communicate(timeout=180)
    assert proc.returncode == 0, err[-2000:]
    assert "waiting to sync" in err
    assert _read(team, "bob") == {"names": ["long"], "status": ["FINISHED"], "points": [600]}


def test_a_process_killed_before_shipping_is_shipped_by_sync_and_its_run_is_killed(team: Team) -> None:
    code = """
import os, signal, nbmlops
from nbmlops.tracking.tracker import tracker
nbmlops.start_run(experiment="team", name="doomed")
for i in range(20):
    nbmlops.log_metric("loss", float(i), step=i)
tracker().flush()
os.kill(os.getpid(), signal.SIGKILL)
"""
    killed = team.run("alice", code, check=False)
    assert killed.returncode == -signal.SIGKILL
    team.cli("alice", "sync")
    assert _read(team, "bob") == {"names": ["doomed"], "status": ["KILLED"], "points": [20]}
    assert "Synced 0 journals" in team.cli("alice", "sync").stdout  # nothing twice


def test_a_live_run_on_one_host_is_seen_on_another_and_a_dead_hosts_run_becomes_killed(team: Team) -> None:
    writer = subprocess.Popen([sys.executable, "-c", """
import time, nbmlops
nbmlops.start_run(experiment="team", name="live")
i = 0
while True:
    nbmlops.log_metric("loss", 1.0 / (i + 1), step=i)
    i += 1
    time.sleep(0.02)
"""], env=team.env("alice"), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        watch = team.run("bob", """
import time, nbmlops
deadline = time.monotonic() + 60
while time.monotonic() < deadline:
    df = nbmlops.runs("team")
    if len(df) and len(nbmlops.metric_history(df["run_id"][0], "loss")) >= 10:
        print(df["status"][0]); break
    time.sleep(0.1)
""", NBMLOPS_DEAD_AFTER="4")
        assert watch.stdout.strip() == "RUNNING"  # seen while it runs, from another machine
    finally:
        writer.send_signal(signal.SIGKILL)  # the machine goes down: nothing ships any more
        writer.wait(timeout=30)
    gone = team.run("bob", """
import time, nbmlops
deadline = time.monotonic() + 60
while time.monotonic() < deadline and nbmlops.runs("team")["status"][0] == "RUNNING":
    time.sleep(0.5)
df = nbmlops.runs("team")
print(df["status"][0], df["error"][0] if "error" in df else "")
""", NBMLOPS_DEAD_AFTER="4").stdout.strip()
    assert gone.startswith("KILLED")
    team.cli("alice", "sync")  # the machine is back: its spool ships what the killed process left
    after = _read(team, "carol")
    assert after["status"] == ["KILLED"] and int(after["points"][0]) >= 10  # type: ignore[call-overload]


REGISTER = """
import sys, nbmlops
from sklearn.linear_model import LogisticRegression
X = [[0.0], [1.0], [2.0], [3.0]]; y = [0, 0, 1, 1]
for i in range(int(sys.argv[2])):
    with nbmlops.start_run(experiment="team", name=f"{sys.argv[1]}-{i}"):
        mv = nbmlops.log_model(LogisticRegression().fit(X, y), "churn")
        nbmlops.promote("churn", mv.version, "production", reason=sys.argv[1])
"""


def test_concurrent_registrations_and_promotions_from_several_hosts_stay_consistent(team: Team) -> None:
    procs = [subprocess.Popen([sys.executable, "-c", REGISTER, host, "3"], env=team.env(host),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for host in ("h1", "h2", "h3")]
    for proc in procs:
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err[-2000:]
    out = team.run("reader", """
import json, nbmlops, pandas as pd
versions = nbmlops.model_versions("churn")
history = nbmlops.model_history("churn")
moves = [[a, None if pd.isna(f) else int(f), int(t)]
         for a, f, t in history[["alias", "from_version", "to_version"]].itertuples(index=False)]
print(json.dumps({"versions": sorted(int(v) for v in versions["version"]), "moves": moves}))
""").stdout.strip().splitlines()[-1]
    found = json.loads(out)
    assert found["versions"] == list(range(1, 10))  # nine registrations, nine distinct numbers
    moves = [m for m in found["moves"] if m[0] == "production"]  # oldest first
    assert sorted(m[2] for m in moves) == list(range(1, 10))
    # One chain: each move starts from the version the move before it left, none from a stale holder.
    assert moves[0][1] is None
    assert [m[1] for m in moves[1:]] == [m[2] for m in moves[:-1]]


def test_runs_as_of_a_past_time_answer_as_the_store_stood_then(team: Team) -> None:
    team.run("alice", WRITE, "first")
    moment = team.run("alice", "import datetime as dt; print(dt.datetime.now(dt.timezone.utc).isoformat())"
                      ).stdout.strip()
    time.sleep(0.5)
    team.run("alice", WRITE, "second")
    then = team.run("bob", f"""
import nbmlops
print(nbmlops.runs("team", as_of="{moment}")["name"].tolist(), sorted(nbmlops.runs("team")["name"]))
""").stdout.strip()
    assert then == "['first'] ['first', 'second']"
    cli = team.cli("bob", "runs", "-e", "team", "--as-of", moment, "--format", "csv")
    assert "first" in cli.stdout and "second" not in cli.stdout
    early = team.cli("bob", "runs", "-e", "team", "--as-of", "2001-01-01", check=False)
    assert early.returncode == 1 and "did not exist yet" in early.stderr


MANY_SHIPS = """
import time, nbmlops
for i in range(40):
    with nbmlops.start_run(experiment="team", name=f"r{i}"):
        nbmlops.log_metrics({"loss": 0.5}, step=0)
        for step in range(1, 1500):
            nbmlops.log_metric("loss", 1.0 / step, step=step)
    time.sleep(0.25)  # each run's end ships on its own: 40 commits of 1,500 points
"""

FILES = """
import json, nbmlops
with nbmlops.get_store().catalog.connect() as con:
    print(json.dumps(dict(con.execute(
        "SELECT t.table_name, count(*) FROM __ducklake_metadata_nb_team.ducklake_data_file f "
        "JOIN __ducklake_metadata_nb_team.ducklake_table t USING (table_id) "
        "WHERE f.end_snapshot IS NULL AND t.end_snapshot IS NULL GROUP BY 1").fetchall())))
"""


def test_the_small_files_of_many_ships_are_merged_by_the_writer_and_nothing_changes_for_readers(
        team: Team) -> None:
    """Each ship commits a Parquet file per table; a reader on a new machine fetches each one from the
    bucket, so the shipper merges them once a table has TIDY_FILES (time travel still answers)."""
    team.run("alice", WRITE, "before")
    moment = team.run("alice", "import datetime as dt; print(dt.datetime.now(dt.timezone.utc).isoformat())"
                      ).stdout.strip()
    team.run("alice", MANY_SHIPS, timeout=300)
    files = json.loads(team.run("bob", FILES).stdout.strip().splitlines()[-1])
    assert 0 < files["metrics"] < TIDY_FILES, files  # 40 commits' files, merged
    seen = _read(team, "bob")
    assert seen["names"] == ["before", *sorted(f"r{i}" for i in range(40))]
    assert seen["points"] == [50] + [1500] * 40 and set(seen["status"]) == {"FINISHED"}
    then = team.run("carol", f"import nbmlops; print(nbmlops.runs('team', as_of='{moment}')['name'].tolist())")
    assert then.stdout.strip() == "['before']"


SETTING_SEEN = """
import nbmlops
from nbmlops.store.settings import setting
nbmlops.runs()  # a first contact with the catalog brings this machine's copy of the settings up to date
print(setting(nbmlops.get_store(), "system-metrics"))
"""


def test_settings_are_the_teams_and_reach_every_machine(team: Team) -> None:
    assert team.cli("alice", "config", "system-metrics", "off").stdout.strip() == "system-metrics = off"
    assert team.cli("bob", "config", "system-metrics").stdout.strip() == "system-metrics = off"
    assert team.run("carol", SETTING_SEEN).stdout.strip().splitlines()[-1] == "False"
    # This machine's copy damaged: written anew from the catalog's at the next contact.
    spool = Path(team.run("carol", "import nbmlops; print(nbmlops.get_store().root)").stdout.strip())
    (spool / "settings.json").write_text("{not json")
    team.cli("bob", "config", "system-metrics", "on")
    assert team.run("carol", SETTING_SEEN).stdout.strip().splitlines()[-1] == "True"
    assert "system-metrics = on" in team.cli("alice", "config").stdout
    bad = team.cli("alice", "config", "no-such-setting", check=False)
    assert bad.returncode == 1 and "no setting 'no-such-setting'" in bad.stderr


def test_a_shared_folder_holds_the_data_as_a_bucket_would(pg: Postgres, bucket: S3, tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    team = _team(pg, bucket, tmp_path, data=str(shared))
    team.run("alice", """
import nbmlops
with nbmlops.start_run(experiment="team", name="folder"):
    nbmlops.log_metric("loss", 0.5)
    nbmlops.log_artifact(__import__("pathlib").Path("/etc/hostname"), "host.txt")
""")
    assert _read(team, "bob") == {"names": ["folder"], "status": ["FINISHED"], "points": [1]}
    assert [p.name for p in (shared / "artifacts" / "sha256").rglob("*") if p.is_file()]


def test_a_file_logged_while_the_bucket_is_unreachable_is_uploaded_when_it_returns(team: Team) -> None:
    team.s3.pause()
    try:
        proc = subprocess.Popen([sys.executable, "-c", """
import nbmlops, pathlib
p = pathlib.Path("model.bin"); p.write_bytes(b"x" * 100_000)
with nbmlops.start_run(experiment="team", name="offline"):
    nbmlops.log_artifact(p, "model.bin")
    nbmlops.log_metric("loss", 0.25)
print("ended")
"""], env=team.env("alice", NBMLOPS_S3_TIMEOUT="2"), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                cwd=team.tmp / "alice")
        out, err = proc.communicate(timeout=120)
    finally:
        team.s3.resume()
    assert proc.returncode == 0 and "ended" in out, err[-2000:]
    assert "waiting to sync" in err
    team.cli("alice", "sync")
    assert _read(team, "bob") == {"names": ["offline"], "status": ["FINISHED"], "points": [1]}
    text = team.run("bob", """
import nbmlops
store = nbmlops.get_store()
with store.reading() as con:
    sha = con.execute("SELECT sha256 FROM artifacts").fetchone()[0]
print(len(store.read_verified(sha, "model")))
""").stdout.strip()
    assert text == "100000"


COPIES = """
import json, nbmlops
folder = nbmlops.get_store().root / "lake"
print(json.dumps(sorted({p.parent.name for p in folder.rglob("*.parquet")})))
"""


SIZES = """
import json, nbmlops
folder = nbmlops.get_store().root / "lake"
print(json.dumps(sorted(p.stat().st_size for p in folder.rglob("*.parquet"))))
"""


def test_a_machine_reads_the_tables_from_its_own_copies_of_their_files(team: Team) -> None:
    """The catalog's table files are fetched from the bucket once per machine: a machine that read the
    store reads it again while the bucket is unreachable, and fetches the files written since once it is
    back; a machine without copies says in one line what it could not read."""
    team.run("alice", WRITE, "a1", "1500")  # more points than DuckLake keeps in PostgreSQL: a file of metrics
    assert _read(team, "bob") == {"names": ["a1"], "status": ["FINISHED"], "points": [1500]}
    assert "metrics" in json.loads(team.run("bob", COPIES).stdout.strip().splitlines()[-1])
    team.s3.pause()
    try:
        offline = _read(team, "bob")  # a new process on bob: every file it needs is on bob
        lost = team.run("carol", READ, check=False, NBMLOPS_S3_TIMEOUT="2")
    finally:
        team.s3.resume()
    assert offline == {"names": ["a1"], "status": ["FINISHED"], "points": [1500]}
    assert lost.returncode == 1
    last = lost.stderr.strip().splitlines()[-1]
    assert last.startswith("nbmlops.errors.StoreError: cannot read the team store's table file main/"), last
    assert "check the bucket and the AWS settings" in last
    team.run("alice", WRITE, "a2", "1500")
    assert _read(team, "bob") == {"names": ["a1", "a2"], "status": ["FINISHED"] * 2, "points": [1500, 1500]}
    assert _read(team, "carol")["points"] == [1500, 1500]
    # The copies are bounded like the read cache of files: the least recently used go, and come back.
    tiny = {"NBMLOPS_CACHE_GB": "0.00001"}  # 10 kB
    seen = json.loads(team.run("dave", READ, **tiny).stdout.strip().splitlines()[-1])
    assert seen == {"names": ["a1", "a2"], "status": ["FINISHED"] * 2, "points": [1500, 1500]}
    sizes = json.loads(team.run("dave", SIZES, **tiny).stdout.strip().splitlines()[-1])
    assert sum(sizes) <= 10_000 or len(sizes) == 1, sizes


def test_table_files_are_written_through_to_the_data_location_and_never_outside_it(tmp_path: Path) -> None:
    from nbmlops.store.lakefiles import LakeFiles

    data = tmp_path / "data" / "lake"
    files = LakeFiles(tmp_path / "copies")
    files.serve(str(data))
    with files.open("nblake://lake/main/runs/ducklake-1.parquet", "wb") as out:
        out.write(b"PAR1 rows PAR1")
    assert (data / "main" / "runs" / "ducklake-1.parquet").read_bytes() == b"PAR1 rows PAR1"
    with files.open("nblake://lake/main/runs/ducklake-1.parquet", "rb") as back:
        assert back.read() == b"PAR1 rows PAR1"
    assert files.info("nblake://lake/main/runs/ducklake-1.parquet")["size"] == 14
    assert not files.exists("nblake://lake/main/runs/ducklake-2.parquet")
    for hostile in ("nblake://lake/../../etc/passwd", "nblake://lake/main/../../../x", "nblake://other/x",
                    "/etc/passwd", "lake"):
        with pytest.raises(PermissionError, match="is not a table file of the team store"):
            files.open(hostile, "rb")
    with pytest.raises(PermissionError, match="written once, never changed"):
        files.open("nblake://lake/main/runs/ducklake-1.parquet", "ab")
    files.rm("nblake://lake/main/runs/ducklake-1.parquet")
    assert not (data / "main" / "runs" / "ducklake-1.parquet").exists()
    assert not list((tmp_path / "data").rglob(".writing-*"))


def test_push_and_pull_move_runs_models_and_files_idempotently(team: Team, tmp_path: Path) -> None:
    local = tmp_path / "laptop" / ".nbmlops"
    team.run("alice", REGISTER.replace("nbmlops.promote", "(lambda *a, **k: None)"), "offline", "1",
             NBMLOPS_STORE=str(local))
    first = team.cli("alice", "push", team.url, "--local", str(local))
    assert "1 run added" in first.stdout and "1 model version added" in first.stdout
    again = team.cli("alice", "push", team.url, "--local", str(local))
    assert "0 runs added, 0 updated, 1 unchanged" in again.stdout and "0 model versions added" in again.stdout
    seen = team.run("bob", """
import nbmlops
print(nbmlops.runs("team")["name"].tolist(), nbmlops.model_versions("churn")["version"].tolist())
print(type(nbmlops.load_model("churn/1")).__name__)
""").stdout.split("\n")
    assert seen[:2] == ["['offline-0'] [1]", "LogisticRegression"]
    team.run("bob", WRITE, "from-team")
    copy = tmp_path / "copy" / ".nbmlops"
    team.cli("carol", "pull", team.url, "--local", str(copy))
    team.cli("carol", "pull", team.url, "--local", str(copy))
    names = team.run("carol", 'import nbmlops; print(sorted(nbmlops.runs()["name"]))', NBMLOPS_STORE=str(copy))
    assert names.stdout.strip() == "['from-team', 'offline-0']"


def test_a_wrong_password_or_a_missing_bucket_is_one_line_and_leaves_no_half_made_store(
        team: Team, pg: Postgres) -> None:
    database = f"pw{next(_names)}"
    pg.create_database(database)
    url = f"postgresql://{PASSWORD_USER}@127.0.0.1:{pg.port}/{database}"
    wrong = subprocess.run([sys.executable, "-m", "nbmlops.cli", "--store", url, "runs"],
                           env=team.env("alice", PGPASSWORD="not-the-password"), capture_output=True, text=True,
                           timeout=60)
    assert wrong.returncode == 1 and len(wrong.stderr.strip().splitlines()) == 1
    assert "password authentication failed" in wrong.stderr and "not-the-password" not in wrong.stderr
    nobucket = subprocess.run([sys.executable, "-m", "nbmlops.cli", "init", "--store", url, "--data",
                               "s3://no-such-bucket/x"], env=team.env("alice", PGPASSWORD=PASSWORD),
                              capture_output=True, text=True, timeout=120)
    assert nobucket.returncode == 1
    assert nobucket.stderr.strip().splitlines() == [
        "Error: cannot write to s3://no-such-bucket/x (NoSuchBucket): create the bucket, or check the AWS variables "
        "(AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_ENDPOINT_URL)"]
    def init() -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "nbmlops.cli", "init", "--store", url, "--data",
                               "s3://nbmlops-team/withpassword"], env=team.env("alice", PGPASSWORD=PASSWORD),
                              capture_output=True, text=True, timeout=120)

    refused = init()  # PostgreSQL 15: only the database's owner may create tables in it
    assert refused.returncode == 1 and refused.stderr.strip().splitlines() == [
        f"Error: PostgreSQL refused {url} (permission denied for schema public): nbmlops init creates tables in "
        "the database once: run it as a user that may (its owner: ALTER DATABASE ... OWNER TO ..., or GRANT "
        "CREATE ON SCHEMA public TO ...)"]
    pg.sql(f"ALTER DATABASE {database} OWNER TO {PASSWORD_USER}")
    created = init()
    assert created.returncode == 0, created.stderr  # the failed attempts left nothing in the way


def test_the_read_cache_of_files_stays_under_its_limit(team: Team) -> None:
    team.run("alice", """
import nbmlops, pathlib
with nbmlops.start_run(experiment="team", name="files"):
    for i in range(3):
        p = pathlib.Path(f"f{i}.bin"); p.write_bytes(bytes([i]) * 400_000)
        nbmlops.log_artifact(p, p.name)
""")
    kept = team.run("bob", """
import nbmlops, os, time
store = nbmlops.get_store()
with store.reading() as con:
    rows = con.execute("SELECT sha256 FROM artifacts WHERE path LIKE 'f_.bin' ORDER BY path").fetchall()
shas = [r[0] for r in rows]
for sha in shas:
    assert len(store.read_verified(sha, "file")) == 400_000
    time.sleep(0.05)
print(sorted(os.path.exists(store.local_path(sha)) for sha in shas).count(True))
""", NBMLOPS_CACHE_GB="0.001").stdout.strip()
    assert kept == "2"  # 1 MB: the two most recent of three 400 kB files


def test_a_dask_sweep_writes_straight_into_the_team_store(team: Team) -> None:
    from tests.conftest import make_notebook

    home = team.tmp / "alice"
    home.mkdir(exist_ok=True)
    notebook = make_notebook(home / "score.ipynb", "C = 1.0",
                             "import nbmlops\nnbmlops.log_metric('score', C * 10 + 1)")
    result = team.cli("alice", "sweep", str(notebook), "--grid", "C=0.5,2", "--executor", "dask", "-j", "2",
                      "--metric", "score", "-e", "dask")
    assert "best" in result.stdout.lower()
    seen = team.run("bob", """
import nbmlops
df = nbmlops.runs("dask", order_by="name")
print(sorted(df["metrics.score"].dropna().tolist()), len(df))
""").stdout.strip()
    assert seen == "[6.0, 21.0] 3"  # the parent and its two children, each child's score


def test_an_optuna_study_lives_in_the_team_stores_postgresql(team: Team) -> None:
    from tests.conftest import make_notebook

    home = team.tmp / "alice"
    home.mkdir(exist_ok=True)
    notebook = make_notebook(home / "steps.ipynb", "x = 0.0",
                             "import nbmlops\nfor step in range(2):\n"
                             "    nbmlops.log_metric('score', -(x - 1) ** 2 * (step + 1), step=step)")
    result = team.cli("alice", "sweep", str(notebook), "--trials", "3", "--dist", "x=uniform(-2,2)", "-j", "2",
                      "--metric", "score", "--prune", "-e", "study", "--name", "search")
    assert "study study/search (" in result.stdout and ": 3 trials: 3 COMPLETE; best score=" in result.stdout
    seen = team.run("bob", """
import optuna, sys, nbmlops
storage = optuna.storages.RDBStorage("postgresql+psycopg://" + sys.argv[1].split("://", 1)[1])
study = optuna.load_study(study_name="study/search", storage=storage)
parent = nbmlops.runs("study", where="name = 'search'")
print(len(study.trials), sorted(len(t.intermediate_values) for t in study.trials),
      parent["tags.sweep.study"][0], len(nbmlops.runs("study")))
""", team.url).stdout.strip()
    assert seen == "3 [2, 2, 2] study/search 4"  # reported step by step from the kernels; parent + 3 children


def test_python_init_monitoring_and_compact_on_a_team_store(pg: Postgres, bucket: S3, tmp_path: Path) -> None:
    n = next(_names)
    team = Team(pg.create_database(f"team{n}"), f"s3://nbmlops-team/py{n}", bucket, tmp_path)
    team.run("admin", f"import nbmlops; print(nbmlops.init({team.url!r}, data={team.data!r}).location)")
    team.run("alice", """
import nbmlops, pandas as pd
from sklearn.linear_model import LogisticRegression
X = pd.DataFrame({"x": [0.0, 1.0, 2.0, 3.0] * 25}); y = [0, 0, 1, 1] * 25
with nbmlops.start_run(experiment="team", name="model"):
    mv = nbmlops.log_model(LogisticRegression().fit(X, y), "churn", reference_data=X)
nbmlops.promote("churn", mv.version, "production")
""")
    seen = team.run("bob", """
import nbmlops, pandas as pd
report = nbmlops.monitor("churn@production", pd.DataFrame({"x": [10.0, 11.0, 12.0, 13.0] * 25}))
print(report.dataset_drift, len(nbmlops.monitoring("churn")))
""").stdout.strip()
    assert seen == "True 1"
    compacted = team.cli("carol", "compact")
    assert compacted.returncode == 0
    after = team.run("carol", "import nbmlops\n"
                              "print(nbmlops.runs()['name'].tolist(), len(nbmlops.monitoring('churn')))")
    assert after.stdout.strip() == "['model'] 1"


@pytest.mark.parametrize(("url", "message"), [
    ("postgresql://me:secret@127.0.0.1:5432/db", "holds a password: remove it from the URL and give it in PGPASSWORD"),
    ("postgresql://me@127.0.0.1:5432/", "names no database"),
    ("postgresql://me@127.0.0.1:notaport/db", "the port is not a number"),
    ("postgresql://me@127.0.0.1:5432/db?password=x", "'password' is not a connection setting"),
])
def test_bad_store_urls_are_one_line_errors_that_never_show_a_password(url: str, message: str) -> None:
    with pytest.raises(StoreError, match=message) as caught:
        parse_location(url)
    assert "secret" not in str(caught.value) and "\n" not in str(caught.value)


def test_an_unreachable_or_uninitialised_team_store_is_a_one_line_error(
        team: Team, pg: Postgres, tmp_path: Path) -> None:
    port = pg.port + 1 if pg.port < 65535 else pg.port - 1
    down = subprocess.run([sys.executable, "-m", "nbmlops.cli", "--store", f"postgresql://postgres@127.0.0.1:{port}/x",
                           "runs"], env=team.env("alice"), capture_output=True, text=True, timeout=60)
    assert down.returncode == 1
    assert "cannot reach the team store's catalog postgresql://postgres@127.0.0.1" in down.stderr
    assert len(down.stderr.strip().splitlines()) == 1
    empty = pg.create_database(f"empty{next(_names)}")
    fresh = subprocess.run([sys.executable, "-m", "nbmlops.cli", "--store", empty, "runs"], env=team.env("alice"),
                           capture_output=True, text=True, timeout=60)
    assert fresh.returncode == 1 and "holds no nbmlops team store yet: create it once with `nbmlops init" \
        in fresh.stderr
    nodata = subprocess.run([sys.executable, "-m", "nbmlops.cli", "init", "--store", empty],
                            env=team.env("alice"), capture_output=True, text=True, timeout=60)
    assert nodata.returncode == 1 and "needs a data location" in nodata.stderr
    wrong = subprocess.run([sys.executable, "-m", "nbmlops.cli", "runs"],
                           env=team.env("alice", NBMLOPS_DATA="s3://nbmlops-team/elsewhere"),
                           capture_output=True, text=True, timeout=60)
    assert wrong.returncode == 1 and "keeps its data at s3://nbmlops-team/" in wrong.stderr


class TestRestApi:
    """The Jupyter server extension (so the panel) on a team store: runs written on other hosts, the
    registry, and files read back through the API."""

    @pytest.fixture
    def jp_server_config(self, team: Team, monkeypatch: pytest.MonkeyPatch) -> Any:
        from tests.test_server import extension_config

        for key, value in team.env("server").items():
            monkeypatch.setenv(key, value)
        return extension_config(team.url)

    @pytest.fixture
    def api(self, jp_fetch: Any, jp_base_url: str) -> Any:
        from tests.test_server import check_against_openapi

        async def call(*parts: str, **kwargs: Any) -> Any:
            response = await jp_fetch("nbmlops", "api", *parts, raise_error=False, **kwargs)
            return check_against_openapi(response, jp_base_url)
        return call

    async def test_the_api_serves_what_other_hosts_wrote(self, team: Team, api: Any) -> None:
        from tests.test_server import strict_json

        team.run("alice", WRITE, "served", "20")
        team.run("bob", REGISTER, "bob", "1")
        runs = strict_json(await api("runs", params={"experiment": "team"}))
        assert runs["total"] == 2 and {r["name"] for r in runs["runs"]} == {"served", "bob-0"}
        models = strict_json(await api("models"))
        assert [m["name"] for m in models["models"]] == ["churn"]
        served = next(r for r in runs["runs"] if r["name"] == "served")
        assert served["params"]["host"] == "served" and served["status"] == "FINISHED"
        bad = await api("runs", params={"where": "params.lr = 1; DROP TABLE runs"})
        assert bad.code == 400
        assert strict_json(await api("runs", params={"experiment": "team"}))["total"] == 2


def test_extension_files_are_signature_checked_again_once_they_change(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from nbmlops.store import team as team_module

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    con = team_module.connect_with_extensions(s3=True)  # checked by DuckDB, then remembered
    con.close()
    remembered = team_module._checked_stamps()
    assert len(remembered) == 1 and next(iter(remembered)).count(".duckdb_extension:") == 3
    stand_in = tmp_path / "ducklake.duckdb_extension"
    stand_in.write_bytes(b"x" * 10)
    before = team_module._stamp([stand_in])
    stand_in.write_bytes(b"y" * 11)  # a replaced file is another file: checked again
    assert team_module._stamp([stand_in]) != before


def test_a_team_store_that_cannot_be_reached_is_one_line_that_never_shows_the_connection_string(
        tmp_path: Path) -> None:
    url = "postgresql://ana@db.invalid:5432/mlops?sslmode=require&application_name=s3cr3t-app"
    env = {**os.environ, "NBMLOPS_STORE": url, "HOME": str(tmp_path)}
    result = subprocess.run([sys.executable, "-m", "nbmlops.cli", "runs"], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(
        "Error: cannot reach the team store's catalog postgresql://ana@db.invalid:5432/mlops (")
    assert "s3cr3t" not in result.stderr and "dbname=" not in result.stderr


MLFLOW_SOURCE = """
import os, sys
os.environ["MLFLOW_ENABLE_ASYNC_LOGGING"] = "false"
import mlflow
from mlflow.entities import Metric
from sklearn.linear_model import LogisticRegression
uri = sys.argv[1]
mlflow.set_tracking_uri(uri)
mlflow.set_registry_uri(uri)
mlflow.set_experiment("from-mlflow")
with mlflow.start_run(run_name="mlflow-run") as run:
    mlflow.log_param("C", 0.5)
    mlflow.MlflowClient(uri).log_batch(run.info.run_id, metrics=[
        Metric("loss", 1.0 / (s + 1), 1_700_000_000_000 + s, s) for s in range(5)])
    mlflow.sklearn.log_model(LogisticRegression().fit([[0.0], [1.0]], [0, 1]), name="model",
                             registered_model_name="imported")
mlflow.MlflowClient(uri, uri).set_registered_model_alias("imported", "production", "1")
"""


def test_an_mlflow_store_imports_into_the_team_store_once(team: Team) -> None:
    home = team.tmp / "alice"
    home.mkdir(exist_ok=True)
    uri = f"sqlite:///{home / 'mlflow.db'}"
    team.run("alice", MLFLOW_SOURCE, uri)
    first = team.cli("alice", "import", "mlflow", uri)
    assert "1 run (1 new, 0 updated, 0 unchanged), 5 metric points" in first.stdout
    assert "1 model version from" in first.stdout
    again = team.cli("alice", "import", "mlflow", uri)
    assert "(0 new, 0 updated, 1 unchanged), 0 metric points, 0 artifacts, 0 model versions" in again.stdout
    seen = team.run("bob", """
import nbmlops
run = nbmlops.runs("from-mlflow")["run_id"][0]
print(nbmlops.metric_history(run, "loss")["step"].tolist(), nbmlops.get_run(run).params["C"],
      nbmlops.load_model("imported@production").predict([[1.0]]).tolist())
""").stdout.strip()
    assert seen == "[0, 1, 2, 3, 4] 0.5 [1]"
