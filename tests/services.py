"""Real PostgreSQL and S3 servers for the team store's tests and benchmarks, on free local ports.

PostgreSQL is Debian's (package `postgresql`): a throwaway cluster made with `initdb` in a temp
folder, run as the `postgres` user when this process is root (initdb refuses root), trusting local
connections. S3 is moto's server mode (`python -m moto.server`), a real HTTP S3 endpoint. Both stop
when their context ends; nothing outside their temp folders is touched.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

PASSWORD_USER, PASSWORD = "withpassword", "right-horse-battery"  # noqa: S105 - a throwaway test role


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _pg_bin(name: str) -> str:
    found = shutil.which(name) or sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))[-1:]
    if not found:
        raise RuntimeError(f"PostgreSQL's {name} is missing: apt-get install -y postgresql")
    return found if isinstance(found, str) else found[0]


@dataclass
class Postgres:
    """A running throwaway PostgreSQL cluster."""

    folder: Path
    port: int
    user: str = "postgres"

    def url(self, database: str) -> str:
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/{database}"

    def _as_owner(self, *command: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        if os.geteuid() == 0:
            line = " ".join(f"'{c}'" for c in command)
            return subprocess.run(["su", "postgres", "-s", "/bin/sh", "-c", line], check=check,
                                  capture_output=True, text=True, timeout=120)
        return subprocess.run(list(command), check=check, capture_output=True, text=True, timeout=120)

    def create_database(self, name: str) -> str:
        """A new empty database; returns its store URL."""
        self._as_owner(_pg_bin("createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", self.user, name)
        return self.url(name)

    def sql(self, statement: str) -> None:
        """Run one statement as the superuser (no single quotes in it: use $$...$$)."""
        self._as_owner(_pg_bin("psql"), "-h", "127.0.0.1", "-p", str(self.port), "-U", self.user, "-c", statement)

    def stop(self, mode: str = "fast") -> None:
        self._as_owner(_pg_bin("pg_ctl"), "-D", str(self.folder / "data"), "-m", mode, "-w", "stop", check=False)

    def start(self) -> None:
        self._as_owner(_pg_bin("pg_ctl"), "-D", str(self.folder / "data"), "-o",
                       f"-p {self.port} -k {self.folder} -h 127.0.0.1 -F", "-l", str(self.folder / "log"),
                       "-w", "start")


@contextmanager
def postgres() -> Iterator[Postgres]:
    """A PostgreSQL cluster for the block (fsync off: a test's data need not survive a crash)."""
    folder = Path(tempfile.mkdtemp(prefix="nbmlops-pg-"))
    if os.geteuid() == 0:
        owner = pwd.getpwnam("postgres")
        os.chown(folder, owner.pw_uid, owner.pw_gid)
    server = Postgres(folder, free_port())
    try:
        server._as_owner(_pg_bin("initdb"), "-D", str(folder / "data"), "-A", "trust", "-U", "postgres",
                         "--no-sync", "-E", "UTF8")
        # One role that must give a password (to test a wrong one); every other role is trusted.
        hba = folder / "data" / "pg_hba.conf"
        hba.write_text(f"host all {PASSWORD_USER} 127.0.0.1/32 scram-sha-256\n" + hba.read_text())
        server.start()
        server.sql(f"CREATE ROLE {PASSWORD_USER} LOGIN PASSWORD $${PASSWORD}$$")
        yield server
    finally:
        server.stop("immediate")
        shutil.rmtree(folder, ignore_errors=True)


@dataclass
class S3:
    """A running S3 server (moto) and the environment that points the AWS clients at it."""

    port: int
    process: subprocess.Popen[bytes]

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        return {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                "AWS_DEFAULT_REGION": "us-east-1", "AWS_ENDPOINT_URL": self.endpoint}

    def create_bucket(self, name: str) -> str:
        import boto3  # moto's own dependency

        env = self.env()
        boto3.client("s3", endpoint_url=self.endpoint, region_name=env["AWS_DEFAULT_REGION"],
                     aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
                     aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"]).create_bucket(Bucket=name)
        return f"s3://{name}"

    def pause(self) -> None:
        """Make the bucket unreachable (the server stops answering) until `resume`."""
        self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        self.process.send_signal(signal.SIGCONT)


@contextmanager
def s3() -> Iterator[S3]:
    """moto's S3 server for the block."""
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    server = S3(port, process)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"{server.endpoint}/", timeout=2):  # noqa: S310
                    break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError("moto's S3 server did not start") from None
                time.sleep(0.1)
        yield server
    finally:
        with suppress(ProcessLookupError):
            process.send_signal(signal.SIGCONT)
        process.terminate()
        with suppress(subprocess.TimeoutExpired):
            process.wait(timeout=10)
        if process.poll() is None:
            process.kill()
