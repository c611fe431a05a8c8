"""Byte sizes read the same everywhere: the CLI, the notebook cards and error messages."""

from __future__ import annotations

import json
import re
from pathlib import Path

from click.testing import CliRunner

import nbmlops
from nbmlops.cli import main
from nbmlops.render.html import run_html
from nbmlops.store.folder import Store
from nbmlops.units import format_bytes

ONE_FORMAT = re.compile(r"\d+ B|\d+\.\d [KMGTP]iB")


def test_format_bytes_counts_in_powers_of_1024() -> None:
    assert [format_bytes(n) for n in (0, 812, 1023, 1024, 1229, 3_565_158, 20 << 30)] == [
        "0 B", "812 B", "1023 B", "1.0 KiB", "1.2 KiB", "3.4 MiB", "20.0 GiB"]
    assert format_bytes((1 << 20) - 1) == "1.0 MiB"  # rounds up into the next unit, never '1024.0 KiB'


def test_du_and_the_run_card_write_sizes_one_way(fresh_store: Store, tmp_path: Path) -> None:
    (tmp_path / "weights.bin").write_bytes(b"w" * 3000)
    with nbmlops.start_run(name="sized"):
        nbmlops.log_artifact(tmp_path / "weights.bin")
    result = CliRunner().invoke(main, ["--store", str(fresh_store.root), "du", "--format", "json"])
    assert result.exit_code == 0, result.output
    sizes = [row["size"] for row in json.loads(result.output)]
    assert sizes and all(ONE_FORMAT.fullmatch(size) for size in sizes), sizes
    assert "2.9 KiB" in run_html(nbmlops.get_run(nbmlops.runs()["run_id"][0]))
