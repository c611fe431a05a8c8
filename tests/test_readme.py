"""The README runs as written: its ```python and ```bash blocks, in order, in a fresh store.

Python blocks run in one real IPython kernel, as the cells of one notebook (so `%load_ext nbmlops`
and `%%track` work exactly as the README tells a user); shell blocks run through bash with the
venv's bin first on PATH. A block that cannot run here (it installs, or starts a server) carries
`<!-- readme-test: skip (why) -->` on the line before it.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MAX_SKIPPED = 6
FENCE = re.compile(r"^```(\w*)[^\n]*\n(.*?)^```[ \t]*$", re.S | re.M)
SKIP = re.compile(r"<!--\s*readme-test:\s*skip\s*\((?P<why>[^)]+)\)\s*-->\s*$")
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


@dataclass
class Block:
    """One fenced code block of the README."""

    language: str  # "python" or "bash"
    code: str
    line: int
    skip: str | None  # why it is not run, or None

    def describe(self) -> str:
        first = self.code.strip().splitlines()[0] if self.code.strip() else "(empty)"
        return f"README.md line {self.line} ({self.language}): {first}"


def readme_blocks(text: str) -> list[Block]:
    """The python and shell blocks of `text`, with the skip marker written right before each."""
    blocks = []
    for match in FENCE.finditer(text):
        language = {"python": "python", "bash": "bash", "shell": "bash", "sh": "bash"}.get(match.group(1))
        if language is None:
            continue
        before = text[: match.start()].rstrip().rsplit("\n", 1)[-1]
        skip = SKIP.search(before)
        blocks.append(Block(language, match.group(2), text.count("\n", 0, match.start()) + 1,
                            skip.group("why") if skip else None))
    return blocks


class Kernel:
    """One IPython kernel whose cells share state, like a notebook's."""

    def __init__(self, cwd: Path, env: dict[str, str]) -> None:
        from jupyter_client.manager import KernelManager

        self.manager = KernelManager(kernel_name="python3")
        self.manager.start_kernel(cwd=str(cwd), env=env)
        self.client = self.manager.client()
        self.client.start_channels()
        self.client.wait_for_ready(timeout=120)

    def run(self, code: str, timeout: float = 180) -> tuple[bool, str]:
        """Execute `code` as one cell: whether it succeeded, and what it printed (error included)."""
        printed: list[str] = []

        def collect(msg: dict) -> None:
            content = msg["content"]
            if msg["msg_type"] == "stream":
                printed.append(content["text"])
            elif msg["msg_type"] in ("execute_result", "display_data"):
                printed.append(content["data"].get("text/plain", "") + "\n")
            elif msg["msg_type"] == "error":
                printed.append("\n".join(content["traceback"]) + "\n")

        reply = self.client.execute_interactive(code, timeout=timeout, output_hook=collect)
        return reply["content"]["status"] == "ok", ANSI.sub("", "".join(printed))

    def close(self) -> None:
        self.client.stop_channels()
        self.manager.shutdown_kernel(now=True)


@pytest.fixture
def readme_workdir(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """A fresh project folder (the repository's notebooks/ copied in) and the environment naming its store."""
    work = tmp_path / "project"
    work.mkdir()
    shutil.copytree(ROOT / "notebooks", work / "notebooks")
    env = {k: v for k, v in os.environ.items()
           if k not in ("NBMLOPS_EXPERIMENT", "JPY_SESSION_NAME", "VIRTUAL_ENV")}
    env["NBMLOPS_STORE"] = str(work / ".nbmlops")
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["COLUMNS"] = "120"
    return work, env


def test_readme_blocks_are_found_with_their_skip_markers() -> None:
    text = ("intro\n<!-- readme-test: skip (starts a server) -->\n```bash\njupyter lab\n```\n"
            "```python\nx = 1\n```\n```text\nnot code\n```\n```shell\necho hi\n```\n")
    blocks = readme_blocks(text)
    assert [(b.language, b.code, b.skip) for b in blocks] == [
        ("bash", "jupyter lab\n", "starts a server"), ("python", "x = 1\n", None), ("bash", "echo hi\n", None)]
    assert blocks[0].describe() == "README.md line 3 (bash): jupyter lab"


@pytest.mark.timeout(600)
def test_every_readme_example_runs_as_written_in_order_in_a_fresh_store(
        readme_workdir: tuple[Path, dict[str, str]]) -> None:
    work, env = readme_workdir
    blocks = readme_blocks((ROOT / "README.md").read_text())
    skipped = [b for b in blocks if b.skip]
    assert len(skipped) <= MAX_SKIPPED, "too many README blocks skipped:\n" + "\n".join(b.describe() for b in skipped)
    ran = []
    kernel = Kernel(work, env)
    try:
        for block in blocks:
            if block.skip:
                continue
            if block.language == "python":
                ok, output = kernel.run(block.code)
            else:
                done = subprocess.run(["bash", "-e", "-o", "pipefail", "-c", block.code], cwd=work, env=env,
                                      capture_output=True, text=True, timeout=300)
                ok, output = done.returncode == 0, done.stdout + done.stderr
            assert ok, f"{block.describe()}\nfailed with:\n{output}"
            ran.append(block)
    finally:
        kernel.close()
    assert len(ran) == len(blocks) - len(skipped)
    assert sum(b.language == "python" for b in ran) >= 5 and sum(b.language == "bash" for b in ran) >= 5
