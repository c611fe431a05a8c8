"""`%%track` and `%nbmlops` in real kernels, executed the way Jupyter executes notebooks."""

from __future__ import annotations

from pathlib import Path

import nbclient
import nbformat
import pytest

import nbmlops
from nbmlops.store.folder import Store

ROOT = Path(__file__).resolve().parent.parent


def execute(cells: list[str], store: Store, monkeypatch: pytest.MonkeyPatch, **env: str) -> nbformat.NotebookNode:
    """Run `cells` in a fresh kernel that writes to `store`; errors stay in the outputs."""
    monkeypatch.setenv("NBMLOPS_STORE", str(store.root))
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    nbclient.NotebookClient(nb, timeout=120, kernel_name="python3", allow_errors=True).execute()
    return nb


def text_of(cell: nbformat.NotebookNode) -> str:
    """Everything a user sees below a cell, as text."""
    parts = []
    for out in cell.outputs:
        if out.output_type == "stream":
            parts.append(out.text)
        elif out.output_type == "error":
            parts.append(f"{out.ename}: {out.evalue}\n" + "\n".join(out.traceback))
        else:
            parts.append(str(out.get("data", {}).get("text/plain", "")))
    return "\n".join(parts)


def errors_of(cell: nbformat.NotebookNode) -> list[str]:
    """The exception names a cell raised."""
    return [o.ename for o in cell.outputs if o.output_type == "error"]


def test_tracked_cell_records_params_it_reads_metrics_model_and_dataset(
        fresh_store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    nb = execute([
        "%load_ext nbmlops\nimport nbmlops",
        "import numpy as np\nlr = 0.1\nepochs = 3\nunused = 'no'\nlabel = 'baseline'\n"
        "X = np.arange(40.0).reshape(20, 2)",
        "%%track -e magic -n first --metrics final_loss --dataset X:train --tag owner=ana --params unused\n"
        "losses = [1.0 / (e + 1) * lr for e in range(epochs)]\n"
        "for step, loss in enumerate(losses):\n"
        "    nbmlops.log_metric('loss', loss, step=step)\n"
        "final_loss = losses[-1]\n"
        "tag = f'{label}-run'\n"
        "final_loss",
    ], fresh_store, monkeypatch, JPY_SESSION_NAME=str(ROOT / "notebooks" / "demo.ipynb"))
    cell = nb.cells[2]
    assert not errors_of(cell), text_of(cell)
    assert "nbmlops: first" in text_of(cell) and "0.0333" in text_of(cell)  # the value is still shown

    run = nbmlops.get_run(nbmlops.runs("magic")["run_id"][0])
    assert run.status is nbmlops.RunStatus.FINISHED and run.name == "first"
    assert run.params == {"lr": 0.1, "epochs": 3, "label": "baseline", "unused": "no"}
    assert run.metrics["final_loss"] == pytest.approx(0.1 / 3) and "loss" in run.metrics
    assert nbmlops.metric_history(run.run_id, "loss")["step"].tolist() == [0, 1, 2]
    assert run.tags["owner"] == "ana"
    assert run.notebook == str(ROOT / "notebooks" / "demo.ipynb")
    assert "jupyter.kernel" not in run.tags  # nbclient's kernel has no server-side id
    paths = {a.path for a in run.artifacts}
    assert {"cell.py", "provenance/history.py", "provenance/environment.json"} <= paths
    history = fresh_store.artifact_path(next(a.sha256 for a in run.artifacts
                                             if a.path == "provenance/history.py")).read_text()
    assert "unused = 'no'" in history  # the code executed before the tracked cell
    assert nbmlops.datasets(run_id=run.run_id)["name"].tolist() == ["X"]


def test_each_execution_is_a_run_and_failures_are_recorded(
        fresh_store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    nb = execute([
        "%load_ext nbmlops\nimport nbmlops",
        "threshold = 3",
        "%%track -e again\nvalue = threshold * 2",
        "%%track -e again\nvalue = threshold * 2",
        "%%track -e again -n broken\nthreshold = 4\nraise ValueError('diverged at step 7')",
    ], fresh_store, monkeypatch)
    assert errors_of(nb.cells[4]) == ["ValueError"]
    assert "diverged at step 7" in text_of(nb.cells[4])
    assert "nbmlops/notebook/magics.py" not in text_of(nb.cells[4])  # the user's traceback, not ours
    runs = nbmlops.runs("again", order_by="start_time")
    assert runs["status"].tolist() == ["FINISHED", "FINISHED", "FAILED"]
    assert runs["params.threshold"].tolist()[:2] == [3, 3]
    broken = nbmlops.get_run(runs["run_id"].iloc[2])
    assert "ValueError: diverged at step 7" in broken.error
    assert "threshold" not in broken.params  # assigned before it is read


def test_bad_arguments_are_one_line_and_start_no_run(fresh_store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    nb = execute([
        "%load_ext nbmlops\nimport nbmlops",
        "%%track --bogus\n1",
        "%%track --dataset nothing_here\n1",
        "%%track --metrics acc\nx = 1",
        "%%track --model not-a-name\n1",
        "%%track --tag novalue\n1",
        "%nbmlops frobnicate",
        "%nbmlops show",
        "%nbmlops runs metrics.x >",
    ], fresh_store, monkeypatch)
    expected = ["unrecognized arguments: --bogus", "no variable 'nothing_here'",
                "the cell did not define acc", "'not-a-name' is not a variable name",
                "must look like key=value", "unknown command 'frobnicate'", "give one run id",
                "bad filter at column"]
    for cell, message in zip(nb.cells[1:], expected, strict=True):
        shown = text_of(cell)
        assert message in shown, shown
        assert "Traceback" not in shown and len(shown.strip().splitlines()) == 1, shown
    # Only the cell whose metric was missing had started: its run failed, nothing else exists.
    assert nbmlops.runs()["status"].tolist() == ["FAILED"]


def test_line_magic_lists_and_shows_runs(fresh_store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    nb = execute([
        "%load_ext nbmlops\nimport nbmlops",
        "%%track -e listing -n shown -q\nacc = 0.9\nnbmlops.log_metric('acc', acc)",
        "%nbmlops runs metrics.acc > 0.5",
        "r = nbmlops.runs()['run_id'][0]\n%nbmlops show $r",
        "%nbmlops help",
    ], fresh_store, monkeypatch)
    assert "nbmlops:" not in text_of(nb.cells[1])  # -q: no summary line
    assert "shown" in text_of(nb.cells[2])
    assert "shown" in text_of(nb.cells[3]) and "acc" in text_of(nb.cells[3])
    assert "%%track" in text_of(nb.cells[4])


def test_cells_join_the_run_of_a_notebook_execution(fresh_store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    with nbmlops.start_run(experiment="runner", name="notebook-run") as outer:
        nb = execute([
            "%load_ext nbmlops\nimport nbmlops",
            "alpha = 0.5",
            "%%track\nnbmlops.log_metric('first', alpha)",
            "%%track\nbeta = 2\nnbmlops.log_metric('second', beta)",
        ], fresh_store, monkeypatch, NBMLOPS_RUN_ID=outer.run_id, NBMLOPS_RUN_NAME="notebook-run",
            NBMLOPS_EXPERIMENT="runner")
        assert all(not errors_of(c) for c in nb.cells)
    assert len(nbmlops.runs()) == 1
    run = nbmlops.get_run(outer.run_id)
    assert run.metrics == {"first": 0.5, "second": 2.0}
    assert run.params == {"alpha": 0.5}
    assert run.status is nbmlops.RunStatus.FINISHED


def test_train_notebook_runs_top_to_bottom_with_papermill_parameters(
        fresh_store: Store, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import papermill

    monkeypatch.setenv("NBMLOPS_STORE", str(fresh_store.root))
    papermill.execute_notebook(str(ROOT / "notebooks" / "train.ipynb"), str(tmp_path / "out.ipynb"),
                               parameters={"model": "random_forest", "n_estimators": 20,
                                           "experiment": "nb-test"},
                               progress_bar=False, kernel_name="python3")
    runs = nbmlops.runs("nb-test")
    assert runs["status"].tolist() == ["FINISHED"]
    run = nbmlops.get_run(runs["run_id"][0])
    # Injected by papermill and read by the tracked cell, or only injected: params either way.
    assert run.params["model"] == "random_forest" and run.params["n_estimators"] == 20
    assert "experiment" not in run.params  # only the %%track -e option's value: not a param (issue 12)
    assert {"roc_auc_score", "accuracy_score", "f1_score", "fit_time", "positive_rate"} <= set(run.metrics)
    assert {"models/breast-cancer/model.skops", "models/breast-cancer/meta.json"} <= {a.path for a in run.artifacts}
    assert not any(a.path.startswith("models/model/") for a in run.artifacts)  # --model named it
    used = nbmlops.datasets(run_id=run.run_id)
    assert set(used["name"]) >= {"train_df", "test_df"}


def test_every_magic_option_and_subcommand_is_documented() -> None:
    from nbmlops.notebook.magics import _track_parser

    readme = (ROOT / "README.md").read_text()
    for action in _track_parser()._actions:
        longest = max(action.option_strings, key=len)
        if longest != "--help":
            assert f"`{longest}" in readme or f"{longest}`" in readme or f"/{longest}`" in readme, longest
    for sub in ("runs", "show", "compare", "help"):
        assert f"`{sub}" in readme, sub
    assert "%%track" in readme and "%nbmlops" in readme and "%load_ext nbmlops" in readme


def test_a_kernel_started_by_a_jupyter_server_knows_its_id() -> None:
    """The id lets the panel find a renamed notebook's current path through the server's sessions."""
    from jupyter_client.multikernelmanager import MultiKernelManager

    manager = MultiKernelManager()
    kernel_id = manager.start_kernel(kernel_name="python3")
    try:
        client = manager.get_kernel(kernel_id).client()
        client.start_channels()
        client.wait_for_ready(timeout=60)
        printed: list[str] = []
        client.execute_interactive("from nbmlops.tracking.provenance import kernel_id; print(kernel_id())", timeout=60,
                                   output_hook=lambda msg: printed.append(msg["content"].get("text", "")))
        client.stop_channels()
    finally:
        manager.shutdown_all(now=True)
    assert "".join(printed).strip() == kernel_id

