"""The `nbmlops` command as a user runs it: output, exit codes, one-line errors, help and docs."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

import nbmlops
from nbmlops.cli import main
from nbmlops.store.folder import Store

ROOT = Path(__file__).resolve().parent.parent


def nb(store: Store, *args: str) -> subprocess.CompletedProcess[str]:
    """Run the installed `nbmlops` command against `store`."""
    env = {**os.environ, "NBMLOPS_STORE": str(store.root)}
    return subprocess.run([sys.executable, "-m", "nbmlops.cli", *args], env=env,
                          capture_output=True, text=True, timeout=60)


@pytest.fixture
def populated_store(fresh_store: Store) -> Store:
    """A store with a small grid of finished runs and one failed run."""
    for c in (0.1, 1.0, 10.0):
        with nbmlops.start_run(experiment="grid", tags={"owner": "ana"}):
            nbmlops.log_params({"C": c, "solver": "lbfgs"})
            nbmlops.log_metric("acc", 0.8 + c / 100)
    with pytest.raises(RuntimeError), nbmlops.start_run(experiment="grid", name="broken"):
        raise RuntimeError("diverged")
    return fresh_store


def test_init_creates_a_store_here(tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, "-m", "nbmlops.cli", "init"], cwd=tmp_path,
                            capture_output=True, text=True, env={**os.environ, "NBMLOPS_STORE": ""})
    assert result.returncode == 0, result.stderr
    assert f"Created store at {tmp_path.resolve() / '.nbmlops'}" in result.stdout
    assert (tmp_path / ".nbmlops" / "store.duckdb").is_file()
    again = CliRunner().invoke(main, ["init", str(tmp_path)])
    assert again.exit_code == 0 and "already exists" in again.output


def test_runs_table_csv_json(populated_store: Store) -> None:
    table = nb(populated_store, "runs", "-e", "grid")
    assert table.returncode == 0, table.stderr
    assert "broken" in table.stdout and "FAILED" in table.stdout and "params.C" in table.stdout

    csv = nb(populated_store, "runs", "--where", "metrics.acc > 0.805", "--order-by", "metrics.acc desc",
             "--columns", "params.*,metrics.acc", "--format", "csv")
    assert csv.stdout.splitlines() == ["params.C,params.solver,metrics.acc", "10.0,lbfgs,0.9",
                                       "1.0,lbfgs,0.81"]

    records = json.loads(nb(populated_store, "runs", "--format", "json", "-n", "2").stdout)
    assert len(records) == 2 and records[0]["name"] == "broken"


def test_show_run_text_and_json(populated_store: Store) -> None:
    broken = nbmlops.runs(where="name = 'broken'")["run_id"][0]
    text = nb(populated_store, "show", broken[:24])
    assert text.returncode == 0
    assert "status      FAILED" in text.stdout and "RuntimeError: diverged" in text.stdout
    good = nbmlops.runs(where="params.C = 10")["run_id"][0]
    doc = json.loads(nb(populated_store, "show", good, "--format", "json").stdout)
    assert doc["params"] == {"C": 10.0, "solver": "lbfgs"} and doc["metrics"] == {"acc": 0.9}
    assert doc["tags"]["owner"] == "ana" and doc["status"] == "FINISHED"


def test_experiments_and_compact(populated_store: Store) -> None:
    out = nb(populated_store, "experiments", "--format", "json")
    assert json.loads(out.stdout)[0]["runs"] == 4
    compacted = nb(populated_store, "compact")
    assert compacted.returncode == 0 and "removed" in compacted.stdout
    assert len(nbmlops.runs()) == 4


@pytest.mark.parametrize("args, message", [
    (["runs", "--where", "metrics.acc >"], "bad filter at column"),
    (["runs", "--order-by", "metrics.acc up"], "bad"),
    (["runs", "--columns", "nope"], "no column 'nope'"),
    (["show", "ffffffffffff"], "no run 'ffffffffffff'"),
    (["runs", "--limit", "-3"], "Invalid value"),
])
def test_errors_are_one_line_with_nonzero_exit(populated_store: Store, args: list[str], message: str) -> None:
    result = nb(populated_store, *args)
    assert result.returncode != 0
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert len([line for line in result.stderr.splitlines() if line.strip()]) <= 3  # usage + error


def test_error_on_a_corrupt_catalog_is_one_line(fresh_store: Store) -> None:
    fresh_store.catalog_path.unlink()
    fresh_store.catalog_path.write_bytes(b"junk" * 1000)
    result = nb(fresh_store, "runs")
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and "cannot be read" in result.stderr


def test_empty_store_says_what_to_do(fresh_store: Store) -> None:
    assert "No runs yet" in nb(fresh_store, "runs").stdout
    assert "No experiments yet" in nb(fresh_store, "experiments").stdout


def _commands() -> list[str]:
    return sorted(main.commands)


@pytest.mark.parametrize("command", _commands())
def test_every_command_has_help(command: str) -> None:
    result = CliRunner().invoke(main, [command, "--help"])
    assert result.exit_code == 0
    cmd = main.commands[command]
    assert cmd.help and len(cmd.help.strip()) > 20
    for param in cmd.params:
        if isinstance(param, click.Option):
            assert param.help, f"{command} {param.opts} has no help text"


@pytest.mark.parametrize("command", _commands())
def test_every_command_is_documented_in_the_readme(command: str) -> None:
    readme = (ROOT / "README.md").read_text()
    assert re.search(rf"`nbmlops {command}\b", readme), f"README does not document `nbmlops {command}`"


def test_every_public_function_has_a_docstring() -> None:
    for name in nbmlops.__all__:
        obj = getattr(nbmlops, name)
        assert obj.__doc__ and obj.__doc__.strip(), name
        if callable(obj) and not isinstance(obj, type):
            readme = (ROOT / "README.md").read_text() + (ROOT / "docs" / "python-api.md").read_text()
            assert f"{name}(" in readme or f"nbmlops.{name}" in readme, f"README does not mention {name}()"
