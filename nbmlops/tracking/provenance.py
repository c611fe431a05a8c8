"""Where a run came from: notebook, git state, environment, the code the kernel executed.

Git and the package environment are looked up once per process and working directory, on one
background thread (they cost tens to hundreds of milliseconds); each run then reuses the answers,
so provenance adds little to a run.
"""

from __future__ import annotations

import functools
import importlib.metadata
import json
import os
import platform
import re
import subprocess
import sys
import threading
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path

MAX_DIFF_BYTES = 256 * 1024
# Tags every run gets from `capture` (plus `source`, the script path): hidden in compact views.
SYSTEM_TAGS = ("python", "platform", "source", "git.commit", "git.root", "git.dirty", "git.branch",
               "git.remote", "jupyter.kernel")
_GIT_TIMEOUT = 5.0
SWITCH_INTERVAL_S = 2e-4  # the GIL switch interval while the background look-up runs


@dataclass(frozen=True)
class GitState:
    """The repository around the working directory, if any."""

    root: str
    commit: str
    branch: str | None
    dirty: bool
    diff: str  # uncommitted changes to tracked files, cut at MAX_DIFF_BYTES
    diff_truncated: bool = False
    remote: str | None = None


@dataclass(frozen=True)
class Provenance:
    """Tags to set on a run and small files to store with it."""

    tags: dict[str, str] = field(default_factory=dict)
    files: dict[str, bytes] = field(default_factory=dict)


def _git(args: list[str], cwd: str) -> str | None:
    try:
        # git found on PATH as the user's shell finds it; the arguments are this module's
        done = subprocess.run(["git", *args], cwd=cwd, capture_output=True,  # noqa: S603, S607
                              timeout=_GIT_TIMEOUT, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.SubprocessError):
        return None
    if done.returncode != 0:
        return None
    return done.stdout.decode("utf-8", "replace")


@functools.lru_cache(maxsize=8)
def git_state(cwd: str) -> GitState | None:
    """Commit, branch, dirty flag and bounded diff of the repository at `cwd`; None outside one."""
    root = _git(["rev-parse", "--show-toplevel"], cwd)
    if not root:
        return None
    root = root.strip()
    commit = (_git(["rev-parse", "HEAD"], root) or "").strip()
    if not commit:
        return None  # a repository without commits yet
    branch = (_git(["rev-parse", "--abbrev-ref", "HEAD"], root) or "").strip() or None
    status = _git(["status", "--porcelain", "--untracked-files=no"], root) or ""
    diff = _git(["diff", "HEAD", "--no-color", "--no-ext-diff"], root) or ""
    data = diff.encode()
    truncated = len(data) > MAX_DIFF_BYTES
    if truncated:
        diff = data[:MAX_DIFF_BYTES].decode("utf-8", "ignore") + "\n[diff truncated by nbmlops]\n"
    remote = (_git(["config", "--get", "remote.origin.url"], root) or "").strip() or None
    return GitState(root, commit, None if branch == "HEAD" else branch, bool(status.strip()), diff,
                    truncated, remote)


def commits_between(root: str, old: str, new: str, limit: int = 50) -> list[str] | None:
    """`hash subject` of each commit of the repository at `root` reachable from `new` but not from `old`
    (newest first, at most `limit`); None when the repository or either commit is not there."""
    if not all(re.fullmatch(r"[0-9a-f]{7,64}", c) for c in (old, new)) or not Path(root).is_dir():
        return None  # commits from tags a bundle brought: never handed to git as options
    if _git(["cat-file", "-e", f"{old}^{{commit}}"], root) is None or \
            _git(["cat-file", "-e", f"{new}^{{commit}}"], root) is None:
        return None
    out = _git(["log", "--oneline", "--no-decorate", "--no-color", f"-n{limit}", f"{old}..{new}", "--"], root)
    return None if out is None else out.splitlines()


# Run in a child interpreter by `_installed`: its CPU time holds no GIL of ours.
_SCAN = """
import importlib.metadata as m, json, platform, sys
sys.path[:] = json.loads(sys.stdin.read())
owners = {k: list(v) for k, v in m.packages_distributions().items()}
versions = {}
for names in owners.values():
    for name in names:
        if name not in versions:
            try:
                versions[name] = m.version(name)
            except Exception:
                versions[name] = None
json.dump({"owners": owners, "versions": versions, "platform": platform.platform()}, sys.stdout)
"""
_SCAN_TIMEOUT = 60.0


@dataclass(frozen=True)
class _Installed:
    """Which distribution owns each top-level module, their versions, and the platform string."""

    owners: dict[str, list[str]]
    versions: dict[str, str | None]
    platform: str


@functools.lru_cache(maxsize=1)
def _installed() -> _Installed:
    """The installed packages of this interpreter's sys.path, scanned in a child interpreter.

    The scan reads the metadata of every installed distribution and `platform.platform()` reads
    the interpreter's binary: ~0.3 s of pure Python in all. Done on a thread of this process it
    holds the GIL against every run started meanwhile (and any thread holding the GIL can be
    descheduled by a busy OS), so a run of 0.1 ms took 10-60 ms. A child interpreter costs the same
    CPU on another core and none of ours; if it cannot run, the scan runs here.
    """
    try:
        done = subprocess.run(  # noqa: S603 - this Python running this module's own code
            [sys.executable, "-E", "-S", "-c", _SCAN], input=json.dumps(sys.path).encode(),
            capture_output=True, timeout=_SCAN_TIMEOUT)
        if done.returncode == 0:
            found = json.loads(done.stdout)
            return _Installed(found["owners"], found["versions"], str(found["platform"]))
    except (OSError, subprocess.SubprocessError, ValueError, KeyError):
        pass
    owners = {k: list(v) for k, v in importlib.metadata.packages_distributions().items()}
    return _Installed(owners, {}, platform.platform())


def _module_distributions() -> dict[str, list[str]]:
    return _installed().owners


_versions: dict[str, str | None] = {}


def _version(distribution: str) -> str | None:
    known = _installed().versions
    if distribution in known:
        return known[distribution]
    if distribution not in _versions:
        try:
            _versions[distribution] = importlib.metadata.version(distribution)
        except importlib.metadata.PackageNotFoundError:
            _versions[distribution] = None
    return _versions[distribution]


def imported_packages() -> dict[str, str]:
    """Distribution name -> version for every top-level package imported so far."""
    owners = _module_distributions()
    found: dict[str, str] = {}
    for module in list(sys.modules):
        if "." in module or module.startswith("_"):
            continue
        for dist in owners.get(module, ()):
            version = _version(dist)
            if version:
                found[dist] = version
    return dict(sorted(found.items(), key=lambda kv: kv[0].lower()))


_environment_cache: list[tuple[int, dict[str, object], bytes]] = []


def environment() -> dict[str, object]:
    """Python, platform and imported package versions (recomputed only after new imports)."""
    if _environment_cache and _environment_cache[0][0] == len(sys.modules):
        return _environment_cache[0][1]
    env: dict[str, object] = {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": _installed().platform,
        "executable": sys.executable,
        "packages": imported_packages(),
    }
    _environment_cache[:] = [(len(sys.modules), env, json.dumps(env, indent=1, sort_keys=True).encode())]
    return env


def environment_json() -> bytes:
    """`environment()` as JSON bytes (the same bytes object until new imports)."""
    environment()
    return _environment_cache[0][2]


def notebook_path(namespace: dict[str, object] | None = None) -> str | None:
    """The notebook being run: the nbmlops runner's, Jupyter's session name, or VS Code's."""
    for candidate in (os.environ.get("NBMLOPS_NOTEBOOK"), os.environ.get("JPY_SESSION_NAME"),
                      (namespace or {}).get("__vsc_ipynb_file__")):
        if isinstance(candidate, str) and candidate:
            return candidate
    return None


@functools.lru_cache(maxsize=1)  # a process's kernel never changes; capture runs per tracked cell
def kernel_id() -> str | None:
    """The id of the Jupyter kernel this code runs in, or None outside a kernel.

    A notebook's path is only known at kernel start (JPY_SESSION_NAME) and goes stale when the user
    renames or moves it; the kernel id lets the panel find the notebook's current path through the
    server's sessions while the kernel lives.
    """
    if "ipykernel" not in sys.modules:
        return None
    try:
        from ipykernel.connect import get_connection_file

        name = Path(get_connection_file()).name
    except Exception:  # not inside a kernel app, or an ipykernel without connection files
        return None
    match = re.fullmatch(r"kernel-(.+)\.json", name)
    return match.group(1) if match else None


def working_dir() -> str:
    """The working directory, or "" when it was deleted (then there is no git state to find)."""
    try:
        return str(Path(os.getcwd()).resolve())
    except OSError:
        return ""


class _Lookups:
    """The one background look-up of git and the installed packages per working directory.

    Every run started in a directory needs the same answers; before this, each run started while
    the first look-up was still running began its own, and dozens of threads scanned the packages
    and ran git at once (21-59 ms per run for the first 500 runs of a fresh process).
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.pid = os.getpid()
        self.futures: dict[str, Future[None]] = {}
        self.started = 0  # look-ups started by this process, for tests

    def future(self, where: str) -> Future[None]:
        with self.lock:
            if self.pid != os.getpid():  # a forked child: the parent's look-up threads do not exist here
                self.pid, self.futures, self.started = os.getpid(), {k: f for k, f in self.futures.items()
                                                                    if f.done()}, 0
            found = self.futures.get(where)
            if found is not None:
                return found
            found = self.futures[where] = Future()
            self.started += 1
        threading.Thread(target=_look_up, args=(where, found), name="nbmlops-provenance", daemon=True).start()
        return found


def _look_up(where: str, future: Future[None]) -> None:
    # The package scan is pure Python holding the GIL for ~0.3 s. At the default 5 ms switch
    # interval, a run started meanwhile waits up to 5 ms each time it gives the GIL up (every
    # journal write, every stat): 10-60 ms a run. A short interval while it lasts bounds that.
    _short_switches(+1)
    try:
        _module_distributions()
        if where:
            git_state(where)
        environment()
    except BaseException as exc:  # capture() will look up again and fail in the caller's sight
        future.set_exception(exc)
    else:
        future.set_result(None)
    finally:
        _short_switches(-1)


_switches = {"active": 0, "previous": 0.0}
_switches_lock = threading.Lock()


def _short_switches(change: int) -> None:
    """Shorten the GIL switch interval while any look-up runs; the first one in saves the user's
    interval and the last one out puts it back (look-ups of two directories may overlap)."""
    with _switches_lock:
        if change > 0 and _switches["active"] == 0:
            _switches["previous"] = sys.getswitchinterval()
            sys.setswitchinterval(min(_switches["previous"], SWITCH_INTERVAL_S))
        _switches["active"] += change
        if change < 0 and _switches["active"] == 0:
            sys.setswitchinterval(_switches["previous"])


_lookups = _Lookups()


def look_up(cwd: str | None = None) -> Future[None]:
    """The shared look-up of git state (for `cwd`, default the working directory) and packages.

    Started on first call, once per directory and process; `capture(cwd)` answers from caches
    once the future is done.
    """
    return _lookups.future(str(Path(cwd).resolve()) if cwd else working_dir())


def lookups_started() -> int:
    """How many provenance look-ups this process has started (one per working directory)."""
    return _lookups.started


def ready(cwd: str | None = None) -> bool:
    """True when `capture` will answer from the caches, in well under a millisecond."""
    return look_up(cwd).done()


def prewarm(cwd: str | None = None) -> Future[None]:
    """Look up git and the installed packages in the background, so the first run need not wait."""
    return look_up(cwd)


def capture(cwd: str | None = None) -> Provenance:
    """Provenance of a run started now: git and environment tags, diff and package files."""
    tags: dict[str, str] = {}
    files: dict[str, bytes] = {}
    env = environment()
    tags["python"] = str(env["python"])
    tags["platform"] = str(env["platform"])
    kernel = kernel_id()
    if kernel:
        tags["jupyter.kernel"] = kernel
    files["provenance/environment.json"] = environment_json()
    where = str(Path(cwd).resolve()) if cwd else working_dir()
    state = git_state(where) if where else None
    if state is not None:
        tags.update({"git.commit": state.commit, "git.root": state.root,
                     "git.dirty": "true" if state.dirty else "false"})
        if state.branch:
            tags["git.branch"] = state.branch
        if state.remote:
            tags["git.remote"] = state.remote
        if state.diff:
            files["provenance/git.diff"] = state.diff.encode()
    return Provenance(tags, files)
