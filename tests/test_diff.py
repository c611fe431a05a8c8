"""`nbmlops diff` and `nbmlops.diff`: two real runs side by side, as text, JSON, HTML and over REST.

Runs are made the real ways: papermill jobs of a notebook edited between them, `%%track` cells in a
real IPython shell, datasets logged with snapshots, provenance recorded by separate processes in a
real git repository.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nbformat
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from IPython.core.interactiveshell import InteractiveShell
from traitlets.config import Config

import nbmlops
from nbmlops.cli import main
from nbmlops.store.folder import Store
from tests.conftest import make_notebook, run_python
from tests.test_server import Fetch, api, jp_server_config, raw, strict_json  # noqa: F401  (fixtures)

pytest_plugins = ["pytest_jupyter.jupyter_server"]

NAN, INF = float("nan"), float("inf")


def nb(store: Store, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """`nbmlops ARGS` in a new process against `store`, its output to a pipe (not a terminal)."""
    env = {**os.environ, "NBMLOPS_STORE": str(store.root)}
    return subprocess.run([sys.executable, "-m", "nbmlops.cli", *args], env=env, capture_output=True, text=True,
                          timeout=120, cwd=cwd)


def one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    """The error a failed command printed, checked to be one line with exit code 1 and no traceback."""
    assert result.returncode == 1, (result.stdout, result.stderr)
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr, result.stderr
    assert result.stdout == ""
    return result.stderr


# -- notebook jobs ------------------------------------------------------------------------------
TRAIN = ("%load_ext nbmlops\nimport nbmlops",
         "%%track -e churn\nscore = alpha * 2\nnbmlops.log_metric('accuracy', score)",
         "# a markdown-free closing cell\nprint('done')")


@pytest.fixture
def edited_notebook_runs(store_env: Store, tmp_path: Path) -> tuple[str, str]:
    """Two papermill jobs of train.ipynb: the second after one line of a cell was edited, with another alpha."""
    path = make_notebook(tmp_path / "train.ipynb", "alpha = 0.5", *TRAIN)
    first = nbmlops.run_notebook(path)
    node = nbformat.read(path, as_version=4)
    node.cells[2].source = node.cells[2].source.replace("alpha * 2", "alpha * 3")
    nbformat.write(node, path)
    second = nbmlops.run_notebook(path, {"alpha": 0.25})
    assert first.status is second.status is nbmlops.RunStatus.FINISHED, (first.error, second.error)
    return first.run_id, second.run_id


def test_two_jobs_of_an_edited_notebook_show_the_changed_line_param_and_worse_metric(
        store_env: Store, edited_notebook_runs: tuple[str, str]) -> None:
    a, b = edited_notebook_runs
    found = nbmlops.diff(a, b)
    assert found.params == [{"key": "alpha", "change": "changed", "a": 0.5, "b": 0.25}]
    [accuracy] = found.metrics
    assert (accuracy["a"], accuracy["b"], accuracy["verdict"]) == (1.0, 0.75, "worse")
    assert found.code is not None and found.code["kind"] == "notebook" and found.code["aligned_by"] == "nbdime"
    [cell] = found.code["changes"]
    assert (cell["change"], cell["a"], cell["b"]) == ("modified", 2, 2)
    assert "-score = alpha * 2" in cell["lines"] and "+score = alpha * 3" in cell["lines"]
    assert " nbmlops.log_metric('accuracy', score)" in cell["lines"]  # context around the change
    assert "+print('done')" not in str(found.code)  # unchanged cells are not shown

    text = nb(store_env, "diff", a[:10], b[:10])
    assert text.returncode == 0, text.stderr
    assert "\x1b[" not in text.stdout  # plain in a pipe
    for line in ("Params: 1 changed", "alpha  0.5 -> 0.25", "accuracy ↑  1 -> 0.75 (-0.25)  worse",
                 "Code: 1 cell changed (notebooks of 4 and 4 cells)", "cell 3 (code)", "-score = alpha * 2",
                 "+score = alpha * 3"):
        assert line in text.stdout, (line, text.stdout)

    doc = json.loads(nb(store_env, "diff", a, b, "--format", "json").stdout)
    assert doc["a"]["run_id"] == a and doc["b"]["run_id"] == b
    assert doc["params"][0] == {"key": "alpha", "change": "changed", "a": 0.5, "b": 0.25}
    assert doc["metrics"][0]["verdict"] == "worse" and doc["metrics"][0]["direction"] == "max"
    assert "+score = alpha * 3" in doc["code"]["changes"][0]["lines"]

    page = nb(store_env, "diff", a, b, "--format", "html").stdout
    assert page.startswith('<div class="nbmlops-diff"') and "+score = alpha * 3" in page
    assert ">worse<" in page and "<td" in page and "0.25" in page
    assert found._repr_html_() == page.strip()

    colored = CliRunner().invoke(main, ["--store", str(store_env.root), "diff", a, b], color=True)
    assert colored.exit_code == 0, colored.output
    assert "\x1b[32m    +score = alpha * 3\x1b[0m" in colored.output  # added line green on a terminal
    assert "\x1b[31m    -score = alpha * 2\x1b[0m" in colored.output
    assert "\x1b[31m1 -> 0.75 (-0.25)  worse\x1b[0m" in colored.output

    # Both jobs are named after the notebook: the name alone does not say which.
    error = one_line_error(nb(store_env, "diff", "train", b))
    assert "several runs are named 'train'" in error and a[:12] in error and b[:12] in error


# -- %%track cells in a real IPython shell ------------------------------------------------------
@pytest.fixture
def shell(fresh_store: Store) -> Iterator[InteractiveShell]:
    """A real IPython shell with nbmlops loaded and an in-memory history, writing to the test's store."""
    config = Config()
    config.HistoryManager.hist_file = ":memory:"
    ipython = InteractiveShell(config=config)
    assert ipython.run_cell("%load_ext nbmlops\nimport nbmlops", store_history=True).success
    yield ipython
    ipython.cleanup()


def test_two_track_cells_show_the_cell_and_the_history_before_it(shell: InteractiveShell) -> None:
    def run(code: str) -> None:
        result = shell.run_cell(code, store_history=True)
        assert result.success, result.error_in_exec or result.error_before_exec

    run("lr = 0.1")
    run("%%track -e fit -n first\nloss = lr * 2\nnbmlops.log_metric('val_loss', loss)")
    run("lr = 0.05\nwarmup = True")
    run("%%track -e fit -n second\nloss = lr * 3\nnbmlops.log_metric('val_loss', loss)")
    found = nbmlops.diff("first", "second")
    assert found.code is not None and found.code["kind"] == "cell"
    assert "-loss = lr * 2" in found.code["cell"] and "+loss = lr * 3" in found.code["cell"]
    history = found.code["history"]
    assert "+lr = 0.05" in history and "+warmup = True" in history
    # The history stops before each tracked cell: the first cell is not history of itself.
    assert not any("run_cell_magic" in line and line.startswith("-") for line in history)
    assert {"key": "lr", "change": "changed", "a": 0.1, "b": 0.05} in found.params
    [val_loss] = found.metrics
    assert val_loss["direction"] == "min" and val_loss["verdict"] == "better"
    assert val_loss["difference"] == pytest.approx(0.15 - 0.2)
    text = str(found)
    assert "tracked cell" in text and "kernel history before it" in text and "val_loss ↓" in text
    assert "better" in text and "+lr = 0.05" in text


# -- datasets -----------------------------------------------------------------------------------
def test_datasets_that_differ_show_both_versions_schema_and_changed_rows(fresh_store: Store) -> None:
    rng = np.random.default_rng(0)
    train = pd.DataFrame({"id": np.arange(200), "age": rng.integers(18, 90, 200), "city": ["Zürich"] * 200})
    test = pd.DataFrame({"id": np.arange(50), "age": rng.integers(18, 90, 50)})
    with nbmlops.start_run(experiment="data", name="old data") as old:
        nbmlops.log_dataset(train, name="customers", role="train", snapshot=True)
        nbmlops.log_dataset(test, name="holdout", role="test", snapshot=True)
    newer = pd.concat([train, train.head(10).assign(id=lambda f: f["id"] + 1000)], ignore_index=True)
    newer.loc[3, "age"] = 150
    newer["income"] = 1.5
    with nbmlops.start_run(experiment="data", name="new data") as new:
        nbmlops.log_dataset(newer, name="customers", role="train", snapshot=True)
        nbmlops.log_dataset(test, name="holdout", role="test", snapshot=True)
    found = nbmlops.diff(old.run_id, new.run_id)
    holdout, customers = sorted(found.data, key=lambda e: e["role"])
    assert holdout["same"] and "changes" not in holdout and holdout["a"] == holdout["b"]
    assert (customers["a"]["version"], customers["b"]["version"]) == (1, 2)
    changes = customers["changes"]
    assert changes["rows"] == [200, 210]
    assert changes["schema"] == [{"column": "income", "change": "added", "old": None, "new": "float64"}]
    assert (changes["added"], changes["removed"]) == (11, 1)  # 10 new rows and one changed (whole rows)
    assert {"column": "age", "statistic": "max"} in [{k: s[k] for k in ("column", "statistic")}
                                                       for s in changes["statistics"]]
    text = str(found)
    assert "train customers: v1" in text and "-> v2" in text and "rows 200 -> 210" in text
    assert "column income added" in text and "rows: 11 added, 1 removed" in text
    assert "test holdout" in text and "(same)" in text

    quick = nbmlops.diff(old.run_id, new.run_id, rows=False)
    assert quick.data[1]["changes"]["added"] is None and quick.data[1]["changes"]["rows"] == [200, 210]
    cli = nb(fresh_store, "diff", old.run_id, new.run_id, "--no-rows", "--format", "json")
    assert json.loads(cli.stdout)["data"][1]["changes"]["added"] is None


# -- environment and git, recorded by two processes in a real repository -----------------------
def git(repo: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@x", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@x"}
    return subprocess.run(["git", *args], cwd=repo, env=env, check=True, capture_output=True, text=True).stdout


def test_environment_and_git_between_runs_of_two_processes(fresh_store: Store, tmp_path: Path) -> None:
    repo = tmp_path / "project"
    repo.mkdir()
    git(repo, "init", "-q")
    (repo / "train.py").write_text("C = 1\n")
    git(repo, "add", "train.py")
    git(repo, "commit", "-q", "-m", "first model")
    child = ("import os, sys; os.chdir(sys.argv[1]); {imports}import nbmlops\n"
             "with nbmlops.start_run(experiment='env', name=sys.argv[2]): nbmlops.log_metric('auc', 0.8)\n")
    run_python(child.format(imports=""), fresh_store, str(repo), "before")
    (repo / "train.py").write_text("C = 2\n")
    git(repo, "commit", "-q", "-am", "stronger regularisation")
    (repo / "train.py").write_text("C = 3  # trying\n")  # uncommitted
    run_python(child.format(imports="import yaml; "), fresh_store, str(repo), "after")

    found = nbmlops.diff("before", "after")
    assert found.environment is not None
    [yaml] = [p for p in found.environment["packages"] if p["package"] == "PyYAML"]
    assert yaml["change"] == "added" and yaml["a"] is None and yaml["b"][0].isdigit()
    assert found.git is not None
    assert [line.split(" ", 1)[1] for line in found.git["between"]] == ["stronger regularisation"]
    assert found.git["dirty"] == [False, True] and found.git["behind"] == []
    assert found.git["diffs"][0] == "" and "+C = 3  # trying" in found.git["diffs"][1]
    text = nb(fresh_store, "diff", "before", "after").stdout
    assert "Environment" in text and "PyYAML  - -> " in text
    assert "stronger regularisation" in text and "uncommitted changes of B:" in text and "+C = 3  # trying" in text

    back = nbmlops.diff("after", "before").git
    assert back is not None and back["between"] == [] and [c.split(" ", 1)[1] for c in back["behind"]] == [
        "stronger regularisation"]
    shutil.rmtree(repo)  # the runs' repository is not on this machine (a colleague's runs, imported)
    gone = nbmlops.diff("before", "after")
    assert gone.git is not None and gone.git["between"] is None and len(gone.git["diffs"]) == 2
    assert "the repository or a commit is not on this machine" in str(gone)


# -- models, odd values, bad input ----------------------------------------------------------------
def test_models_odd_values_and_names(fresh_store: Store) -> None:
    from sklearn.linear_model import LogisticRegression

    clf = LogisticRegression().fit([[0.0], [1.0]], [0, 1])
    with nbmlops.start_run(experiment="odd", name="模型 ✓") as a, pytest.warns(UserWarning, match="64 bits"):
        nbmlops.log_params({"lr": NAN, "big": 10**30, "flag": True, "tags": ["a", "b"], "same": "x",
                            "note": "\x1b]0;pwned\x07\x1b[31mred <b>"})
        nbmlops.log_metrics({"loss": NAN, "auc": 0.5, "ratio": INF, "system/cpu_percent": 50.0})
        nbmlops.log_model(clf, "odd-model")
    with nbmlops.start_run(experiment="odd", name="plain") as b, pytest.warns(UserWarning, match="64 bits"):
        nbmlops.log_params({"lr": NAN, "big": 10**30 + 1, "flag": 1, "tags": ["a", "b"], "same": "x"})
        nbmlops.log_metrics({"loss": 0.5, "auc": 0.5, "ratio": INF, "system/cpu_percent": 90.0})
        nbmlops.log_model(clf, "odd-model")
    found = nbmlops.diff(a, b)  # Run-like objects work as well as ids
    assert [p["key"] for p in found.params] == ["big", "flag", "note"]  # NaN == NaN; True is not 1
    verdicts = {m["key"]: m["verdict"] for m in found.metrics}
    assert verdicts == {"auc": "same", "loss": "changed", "ratio": "same"}  # system/ metrics left out
    assert found.models == {"a": ["odd-model/1"], "b": ["odd-model/2"]}
    doc = found.to_dict()
    assert json.loads(json.dumps(doc, allow_nan=False)) == doc  # valid JSON: no bare NaN
    assert doc["metrics"][1]["a"] == "NaN"
    text = nb(fresh_store, "diff", a.run_id, "plain")
    assert text.returncode == 0, text.stderr
    assert "Run A: 模型 ✓" in text.stdout and "note  red <b> (only in A)" in text.stdout
    assert "\x1b" not in text.stdout and "\x07" not in text.stdout and "pwned" not in text.stdout
    assert "A registered odd-model/1" in text.stdout and "B registered odd-model/2" in text.stdout
    page = found._repr_html_()
    assert "red &lt;b&gt;" in page and "<b>" not in page


def test_bad_input_is_one_line_and_exit_1(fresh_store: Store, tmp_path: Path) -> None:
    with nbmlops.start_run(experiment="bad", name="twin"):
        pass
    with nbmlops.start_run(experiment="bad", name="twin") as second:
        pass
    with nbmlops.start_run(experiment="bad", name="solo") as solo:
        pass
    with pytest.raises(nbmlops.InvalidInputError, match="same run"):
        nbmlops.diff(solo.run_id, "solo")
    with pytest.raises(nbmlops.InvalidInputError, match="give run A as its id"):
        nbmlops.diff(None, 3)  # type: ignore[arg-type]
    with pytest.raises(nbmlops.NotFoundError, match="run B 'nope' is not in the store"):
        nbmlops.diff("solo", "nope")

    assert "are the same run" in one_line_error(nb(fresh_store, "diff", "solo", solo.run_id))
    assert "several runs are named 'twin'" in one_line_error(nb(fresh_store, "diff", "twin", "solo"))
    assert "is not in the store at" in one_line_error(nb(fresh_store, "diff", "solo", "'; DROP TABLE runs; --"))
    assert "run B is empty: give a run id" in one_line_error(nb(fresh_store, "diff", "solo", " "))
    prefix = os.path.commonprefix([solo.run_id, second.run_id])
    if len(prefix) >= 4:  # ids are time-ordered: runs made together share a prefix
        assert "matches several runs" in one_line_error(nb(fresh_store, "diff", prefix, "solo"))

    # A run of another store (a bundle not imported here) is not found here, and the message says what to do.
    other = Store(tmp_path / "elsewhere" / ".nbmlops")
    other.init()
    far = run_python("import nbmlops\nwith nbmlops.start_run(name='far') as r: print(r.run_id)", other).stdout.strip()
    error = one_line_error(nb(fresh_store, "diff", "solo", far))
    assert f"run B '{far}' is not in the store at {fresh_store.root}" in error and "nbmlops import" in error


# -- REST ---------------------------------------------------------------------------------------
@pytest.fixture
def two_runs(fresh_store: Store) -> tuple[str, str]:
    with nbmlops.start_run(experiment="rest", name="base") as a:
        nbmlops.log_params({"C": 0.1, "lr": NAN})
        nbmlops.log_metrics({"accuracy": 0.9, "loss": INF})
    with nbmlops.start_run(experiment="rest", name="next") as b:
        nbmlops.log_params({"C": 1.0, "lr": NAN})
        nbmlops.log_metrics({"accuracy": 0.95, "loss": 0.1})
    return a.run_id, b.run_id


async def test_rest_diff_answers_the_json_form(api: Fetch, two_runs: tuple[str, str]) -> None:  # noqa: F811
    a, b = two_runs
    response = await api("runs", "base", "diff", "next")
    assert response.code == 200, response.body
    doc = strict_json(response)
    assert doc == json.loads(json.dumps(nbmlops.diff(a, b).to_dict()))
    assert doc["params"] == [{"key": "C", "change": "changed", "a": 0.1, "b": 1.0}]
    assert [(m["key"], m["a"], m["verdict"]) for m in doc["metrics"]] == [("accuracy", 0.9, "better"),
                                                                          ("loss", "Infinity", "changed")]
    fast = await api("runs", a, "diff", b, params={"rows": "false"})
    assert fast.code == 200


async def test_rest_diff_bad_input(api: Fetch, raw: Fetch, two_runs: tuple[str, str]) -> None:  # noqa: F811
    a, b = two_runs
    refused = await raw(f"runs/{a}/diff/{b}", auth=False)
    assert refused.code == 403 and b"accuracy" not in refused.body
    unknown = await api("runs", a, "diff", "nope")
    body = strict_json(unknown)
    assert (unknown.code, body["status"]) == (404, 404)
    assert "run B 'nope' is not in the store" in body["error"] and "\n" not in body["error"]
    same = await api("runs", a, "diff", "base")
    assert same.code == 400 and "same run" in strict_json(same)["error"]
    bad = await api("runs", a, "diff", b, params={"rows": "maybe"})
    assert bad.code == 400 and "rows must be true or false" in strict_json(bad)["error"]
    evil = urllib.parse.quote("'; DROP TABLE runs; --", safe="")
    assert (await raw(f"runs/{evil}/diff/{b}")).code == 404


async def test_rest_diff_of_two_notebook_jobs_carries_nbdimes_view(
        api: Fetch, edited_notebook_runs: tuple[str, str]) -> None:  # noqa: F811
    """The panel draws notebook changes with nbdime's diff view: the answer holds A's changed cell and
    nbdime's diff of it, which nbdime's own patch turns into B's cell."""
    a, b = edited_notebook_runs
    response = await api("runs", a, "diff", b, params={"rows": "false"})
    assert response.code == 200, response.body
    view = strict_json(response)["code"]["notebook"]
    assert view["cells"] == [2]  # only the edited cell of the four
    [cell] = view["base"]["cells"]
    assert cell["source"].startswith("%%track -e churn\nscore = alpha * 2")
    [patched] = patch(view["base"], view["diff"])["cells"]
    assert "score = alpha * 3" in patched["source"] and "alpha * 2" not in patched["source"]


def patch(base: dict[str, Any], diff: list[dict[str, Any]]) -> dict[str, Any]:
    """nbdime's own patch of `base` by `diff` as the JSON form carries it."""
    from nbdime import patch as nbdime_patch
    from nbdime.diff_utils import to_diffentry_dicts

    found: dict[str, Any] = nbdime_patch(base, to_diffentry_dicts(diff))
    return found


# -- code diffs of big, odd and damaged notebooks -------------------------------------------------
def notebook_bytes(sources: list[str], ids: bool = False) -> bytes:
    """An .ipynb file of code cells (nbformat 4.4 without ids; sources stored as lists of lines, as Jupyter does)."""
    cells = [{"cell_type": "code", "execution_count": i, "metadata": {"trusted": True},
              "outputs": [{"output_type": "stream", "name": "stdout", "text": [f"run {i}\n"]}],
              "source": source.splitlines(keepends=True), **({"id": f"c{i}"} if ids else {})}
             for i, source in enumerate(sources)]
    return json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5 if ids else 4}).encode()


@pytest.mark.parametrize("ids", [False, True])
def test_thousand_cell_notebooks_edited_at_both_ends_show_exactly_the_edits(ids: bool) -> None:
    from nbmlops.data.codediff import notebook_changes

    old = [f"x{i} = f(x{i - 1})\nprint('étape {i} ✓')" for i in range(1000)]
    new = list(old)
    new[3] = new[3].replace("f(", "g(")
    new[995] = new[995] + "\nassert x995"
    del new[500]
    new.insert(700, "extra = 1")
    found = notebook_changes(notebook_bytes(old, ids), notebook_bytes(new, ids))
    assert found["cells"] == [1000, 1000] and found["aligned_by"] == "nbdime"
    summary = [(c["change"], c["a"], c["b"]) for c in found["changes"]]
    assert summary == [("modified", 3, 3), ("removed", 500, None), ("added", None, 700), ("modified", 995, 995)]
    assert found["changes"][0]["lines"] == ["@@ -1,2 +1,2 @@", "-x3 = f(x2)", "+x3 = g(x2)", " print('étape 3 ✓')"]
    assert "+assert x995" in found["changes"][3]["lines"]


def test_many_changed_cells_without_ids_are_paired_in_order_not_matched_fuzzily() -> None:
    from nbmlops.data.codediff import notebook_changes

    old = [f"a{i} = {i}" for i in range(300)]
    new = [f"a{i} = {i + 1}" for i in range(300)]  # every cell changed: nbdime would compare 90,000 pairs
    found = notebook_changes(notebook_bytes(old), notebook_bytes(new))
    assert found["aligned_by"] == "source" and len(found["changes"]) == 300
    assert found["changes"][7]["lines"] == ["@@ -1 +1 @@", "-a7 = 7", "+a7 = 8"]


@pytest.mark.parametrize("ids", [False, True])
def test_nbdime_view_of_thousand_cell_notebooks_holds_only_the_changed_cells(ids: bool) -> None:
    from nbmlops.data.codediff import notebook_diff

    old = [f"x{i} = f(x{i - 1})\nprint('étape {i} ✓')" for i in range(1000)]
    new = list(old)
    new[3] = new[3].replace("f(", "g(")
    del new[500]
    new.insert(700, "extra = 1")
    view = notebook_diff(notebook_bytes(old, ids), notebook_bytes(new, ids))
    assert view["cells"] == [3, 500]  # the edited and the removed cell of A; the added one is in the diff
    patched = [c["source"] for c in patch(view["base"], view["diff"])["cells"]]
    assert patched == ["x3 = g(x2)\nprint('étape 3 ✓')", "extra = 1"]
    assert '"key": "id"' not in json.dumps(view["diff"]) and '"id"' not in json.dumps(view["base"])  # ids say nothing

    # Every cell changed in notebooks without ids: paired in order, each pair nbdime's patch.
    many = notebook_diff(notebook_bytes([f"a{i} = {i}" for i in range(300)]),
                         notebook_bytes([f"a{i} = {i + 1}" for i in range(299)]))
    assert len(many["cells"]) == 300
    assert [c["source"] for c in patch(many["base"], many["diff"])["cells"]] == [f"a{i} = {i + 1}"
                                                                                for i in range(299)]
    assert notebook_diff(notebook_bytes(["same"]), notebook_bytes(["same"]))["diff"] == []


def test_nbdime_view_ignores_ids_outputs_and_odd_metadata() -> None:
    from nbmlops.data.codediff import notebook_diff

    old = json.loads(notebook_bytes(["x = 1", "# 模型 ✓\nprint('\x1b[31m')"], ids=True))
    new = json.loads(notebook_bytes(["x = 1", "# 模型 ✓\nprint('\x1b[31m')"], ids=True))
    for cell in new["cells"]:
        cell.update(id=cell["id"] + "-copy", outputs=[], execution_count=99)
    old["metadata"] = ["not", "a", "dict"]
    same = notebook_diff(json.dumps(old).encode(), json.dumps(new).encode())
    assert same == {"base": {"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 4}, "diff": [],
                    "cells": []}
    new["cells"].append({"cell_type": "raw", "source": ["<b>", "raw</b>"], "id": "r"})
    added = notebook_diff(json.dumps(old).encode(), json.dumps(new).encode())
    assert added["cells"] == [] and patch(added["base"], added["diff"])["cells"][0]["source"] == "<b>raw</b>"
    with pytest.raises(nbmlops.InvalidInputError, match="run B's notebook is not a notebook"):
        notebook_diff(json.dumps(old).encode(), b"[1, 2]")


def test_unreadable_or_mixed_code_is_a_note_and_the_rest_of_the_diff_stands(fresh_store: Store) -> None:
    from nbmlops.tracking.tracker import tracker

    good = notebook_bytes(["x = 1"])
    made = {}
    for name, path, data in (("good", "notebook/source.ipynb", good),
                             ("damaged", "notebook/source.ipynb", b"\x00 not a notebook"),
                             ("cell", "cell.py", b"x = 2\n")):
        with nbmlops.start_run(experiment="code", name=name) as run:
            nbmlops.log_param("source", name)
            tracker().put_bytes(data, path)
            made[name] = run.run_id
    damaged = nbmlops.diff("good", "damaged")
    assert damaged.code == {"kind": "note", "note": "run B's notebook is not a notebook nbmlops can read (no JSON "
                                                    "with cells)"}
    assert damaged.params == [{"key": "source", "change": "changed", "a": "good", "b": "damaged"}]
    mixed = nbmlops.diff("good", "cell")
    assert mixed.code is not None and mixed.code["note"] == ("run A ran a notebook, run B a cell: their code is "
                                                             "not compared")
    assert "run A ran a notebook, run B a cell" in str(mixed)


def test_duplicate_rows_are_counted_as_multisets(fresh_store: Store) -> None:
    with nbmlops.start_run(experiment="dupes", name="three rows") as a:
        nbmlops.log_dataset(pd.DataFrame({"x": [1, 1, 2], "y": ["a", "a", "b"]}), name="d", snapshot=True)
    with nbmlops.start_run(experiment="dupes", name="four rows") as b:
        nbmlops.log_dataset(pd.DataFrame({"x": [1, 2, 2, 3], "y": ["a", "b", "b", "c"]}), name="d", snapshot=True)
    [entry] = nbmlops.diff(a, b).data
    # A {1a, 1a, 2b} -> B {1a, 2b, 2b, 3c}: one 1a removed; a second 2b and a 3c added.
    assert (entry["changes"]["added"], entry["changes"]["removed"]) == (2, 1)
    [back] = nbmlops.diff(b, a).data
    assert (back["changes"]["added"], back["changes"]["removed"]) == (1, 2)


def test_added_removed_and_moved_cells_are_named_in_text_and_html(fresh_store: Store) -> None:
    from nbmlops.tracking.tracker import tracker

    for name, sources in (("before", ["import x", "drop = 1", "clf = fit(C, max_iter=100)", "print(score)"]),
                          ("after", ["import x", "clf = fit(C, max_iter=200)", "print(score)", "plot(clf)"])):
        with nbmlops.start_run(experiment="cells", name=name):
            tracker().put_bytes(notebook_bytes(sources), "notebook/source.ipynb")  # as `nbmlops run` stores it
    found = nbmlops.diff("before", "after")
    assert found.code is not None
    assert [(c["change"], c["a"], c["b"]) for c in found.code["changes"]] == [
        ("removed", 1, None), ("modified", 2, 1), ("added", None, 3)]
    text, page = str(found), found._repr_html_()
    for label in ("cell 2 removed in B (code)", "cell 3 -> 2 (code)", "cell 4 added in B (code)"):
        assert label in text and label.replace(">", "&gt;") in page
    assert "    -drop = 1" in text and "    +plot(clf)" in text and "+clf = fit(C, max_iter=200)" in page
