"""The Python API as a user sees it: runs, params, metrics, tags, artifacts, queries."""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import nbmlops
from nbmlops.store.folder import Store, find_store_path


def test_run_context_records_everything(fresh_store: Store) -> None:
    with nbmlops.start_run(experiment="churn", name="baseline", tags={"team": "risk"}) as run:
        assert nbmlops.active_run().run_id == run.run_id
        nbmlops.log_params({"C": 0.1, "solver": "lbfgs", "max_iter": 200, "balanced": True,
                            "layers": [64, 32], "seed": None})
        nbmlops.log_param("note", "héllo ✓")
        for step in range(5):
            nbmlops.log_metric("loss", 1.0 / (step + 1))
        nbmlops.log_metrics({"accuracy": 0.91, "f1": np.float32(0.875)})
        nbmlops.set_tag("stage", "dev")
    assert nbmlops.active_run() is None

    got = nbmlops.get_run(run.run_id)
    assert got.name == "baseline" and got.experiment == "churn"
    assert got.status is nbmlops.RunStatus.FINISHED
    assert got.end_time is not None and got.end_time >= got.start_time
    assert got.params == {"C": 0.1, "solver": "lbfgs", "max_iter": 200, "balanced": True,
                          "layers": [64, 32], "seed": None, "note": "héllo ✓"}
    assert got.metrics == {"loss": pytest.approx(0.2), "accuracy": 0.91, "f1": 0.875}
    assert {"team": "risk", "stage": "dev"}.items() <= got.tags.items()
    assert re.fullmatch(r"[0-9a-f]{32}", got.run_id)


def test_generated_names_and_time_ordered_ids(fresh_store: Store) -> None:
    ids = []
    for _ in range(20):
        with nbmlops.start_run() as run:
            ids.append(run.run_id)
            assert re.fullmatch(r"[a-z]+-[a-z]+-\d+", run.name)
    assert ids == sorted(ids)
    assert len(set(ids)) == 20
    listed = nbmlops.runs()
    assert list(listed["run_id"]) == ids[::-1]  # newest first
    assert set(listed["experiment"]) == {"Default"}


def test_exception_marks_run_failed_with_traceback(fresh_store: Store) -> None:
    with pytest.raises(ZeroDivisionError), nbmlops.start_run(name="broken") as run:
        nbmlops.log_metric("before", 1.0)
        1 / 0  # noqa: B018 - the error under test (the traceback must show this line)
    got = nbmlops.get_run(run.run_id)
    assert got.status is nbmlops.RunStatus.FAILED
    assert "ZeroDivisionError" in got.error and "1 / 0" in got.error
    assert got.metrics == {"before": 1.0}


def test_end_run_with_status_and_nested_children(fresh_store: Store) -> None:
    parent = nbmlops.start_run(name="sweep")
    child = nbmlops.start_run(name="trial-1")
    assert nbmlops.active_run().run_id == child.run_id
    nbmlops.end_run()
    assert nbmlops.active_run().run_id == parent.run_id
    orphan = nbmlops.start_run(name="trial-2", parent=parent)
    nbmlops.end_run("failed")
    nbmlops.end_run()
    nbmlops.end_run()  # nothing active: a no-op
    assert nbmlops.get_run(child.run_id).parent_run_id == parent.run_id
    assert nbmlops.get_run(orphan.run_id).status is nbmlops.RunStatus.FAILED
    assert nbmlops.get_run(parent.run_id).status is nbmlops.RunStatus.FINISHED
    with pytest.raises(nbmlops.InvalidInputError, match="not one of"):
        nbmlops.end_run("done")


def test_logging_without_a_run_starts_one(fresh_store: Store) -> None:
    nbmlops.log_metric("x", 1.0)
    run = nbmlops.active_run()
    assert run is not None
    nbmlops.end_run()
    assert nbmlops.get_run(run.run_id).metrics == {"x": 1.0}


def test_params_are_write_once(fresh_store: Store) -> None:
    with nbmlops.start_run() as run:
        nbmlops.log_param("lr", 0.1)
        nbmlops.log_param("lr", 0.1)  # same value: no-op
        nbmlops.log_param("epochs", 3)
        nbmlops.log_param("epochs", 3.0)  # the same number
        with pytest.raises(nbmlops.ParamConflictError, match=r"param 'lr' is already 0.1.*write-once"):
            nbmlops.log_param("lr", 0.2)
        with pytest.raises(nbmlops.ParamConflictError):
            nbmlops.log_params({"new": 1, "lr": 0.3})
    got = nbmlops.get_run(run.run_id)
    assert got.params == {"lr": 0.1, "epochs": 3}  # the rejected batch left nothing behind


def test_metric_history_keeps_nan_inf_and_every_point(fresh_store: Store) -> None:
    values = [0.5, math.nan, math.inf, -math.inf, 1e308, -1e-308, 0.0]
    with nbmlops.start_run() as run:
        for step, value in enumerate(values):
            nbmlops.log_metric("odd", value, step=step * 10)
        nbmlops.log_metric("odd", 7.0)  # continues after the last explicit step
    history = nbmlops.metric_history(run.run_id, "odd")
    assert list(history.columns) == ["step", "timestamp", "value"]
    assert list(history["step"]) == [0, 10, 20, 30, 40, 50, 60, 61]
    got = history["value"].tolist()
    assert math.isnan(got[1]) and got[2] == math.inf and got[3] == -math.inf
    assert got[4] == 1e308 and got[5] == -1e-308 and got[7] == 7.0
    assert str(history["timestamp"].dt.tz) == "UTC"
    assert nbmlops.get_run(run.run_id).metrics["odd"] == 7.0


def test_latest_metric_is_highest_step_not_last_logged(fresh_store: Store) -> None:
    with nbmlops.start_run() as run:
        nbmlops.log_metric("acc", 0.9, step=5)
        nbmlops.log_metric("acc", 0.1, step=2)
        nbmlops.log_metric("nanlast", 1.0, step=0)
        nbmlops.log_metric("nanlast", math.nan, step=1)
    metrics = nbmlops.get_run(run.run_id).metrics
    assert metrics["acc"] == 0.9
    assert math.isnan(metrics["nanlast"])


def test_metric_history_errors_name_what_exists(fresh_store: Store) -> None:
    with nbmlops.start_run() as run:
        nbmlops.log_metric("loss", 1.0)
    with pytest.raises(nbmlops.NotFoundError, match="has no metric 'acc'; it has: loss"):
        nbmlops.metric_history(run.run_id, "acc")
    with pytest.raises(nbmlops.NotFoundError, match="no run 'ffff0000'"):
        nbmlops.metric_history("ffff0000", "loss")


def test_tags_are_mutable_and_deletable(fresh_store: Store) -> None:
    with nbmlops.start_run() as run:
        nbmlops.set_tags({"stage": "dev", "owner": "ana", "n": 3})
        nbmlops.set_tag("stage", "prod")
        nbmlops.delete_tag("owner")
    tags = nbmlops.get_run(run.run_id).tags
    assert tags["stage"] == "prod" and tags["n"] == "3" and "owner" not in tags


def test_artifacts_are_content_addressed(fresh_store: Store, tmp_path: Path) -> None:
    model = tmp_path / "model.bin"
    model.write_bytes(b"weights" * 1000)
    folder = tmp_path / "plots"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.txt").write_text("same")
    (folder / "sub" / "b.txt").write_text("same")
    with nbmlops.start_run() as run:
        assert nbmlops.log_artifact(model) == ["model.bin"]
        assert nbmlops.log_artifact(model, name="copies/model-again.bin") == ["copies/model-again.bin"]
        assert nbmlops.log_artifact(folder) == ["plots/a.txt", "plots/sub/b.txt"]
        with pytest.raises(nbmlops.InvalidInputError, match="no such file"):
            nbmlops.log_artifact(tmp_path / "missing.txt")
        with pytest.raises(nbmlops.InvalidInputError, match="relative path"):
            nbmlops.log_artifact(model, name="../escape.bin")
    arts = {a.path: a for a in nbmlops.get_run(run.run_id).artifacts
            if not a.path.startswith("provenance/")}
    assert set(arts) == {"model.bin", "copies/model-again.bin", "plots/a.txt", "plots/sub/b.txt"}
    assert arts["model.bin"].sha256 == arts["copies/model-again.bin"].sha256
    assert arts["model.bin"].size == 7000
    stored = fresh_store.artifact_path(arts["model.bin"].sha256)
    assert stored.read_bytes() == model.read_bytes()
    contents = [p.read_bytes() for p in fresh_store.artifact_dir.rglob("*") if p.is_file()]
    assert contents.count(model.read_bytes()) == 1 and contents.count(b"same") == 1


def test_runs_dataframe_columns_and_filters(fresh_store: Store) -> None:
    for i, (c, solver) in enumerate([(0.01, "lbfgs"), (0.1, "saga"), (1.0, "lbfgs"), (10.0, "saga")]):
        with nbmlops.start_run(experiment="grid", tags={"round": str(i)}):
            nbmlops.log_params({"C": c, "solver": solver})
            nbmlops.log_metric("acc", 0.7 + i * 0.05)
    with nbmlops.start_run(experiment="other"):
        nbmlops.log_metric("acc", 0.99)

    df = nbmlops.runs("grid")
    assert len(df) == 4
    for column in ["run_id", "name", "experiment", "status", "start_time", "end_time",
                   "params.C", "params.solver", "metrics.acc", "tags.round"]:
        assert column in df.columns
    assert df["params.C"].dtype == float and df["metrics.acc"].dtype == float
    assert str(df["start_time"].dt.tz) == "UTC"

    best = nbmlops.runs("grid", where="params.solver = 'lbfgs' and metrics.acc > 0.72",
                        order_by="metrics.acc desc")
    assert best["params.C"].tolist() == [1.0]
    top = nbmlops.runs(where="metrics.acc >= 0.75", order_by="metrics.acc desc", limit=2)
    assert top["metrics.acc"].tolist() == [0.99, 0.85]
    assert nbmlops.runs(["grid", "other"], where="not (params.C < 1)")["params.C"].tolist() == [10.0, 1.0]
    assert len(nbmlops.runs("nope")) == 0
    with pytest.raises(nbmlops.FilterSyntaxError, match="column"):
        nbmlops.runs(where="metrics.acc >>> 1")


def test_experiments_listing(fresh_store: Store) -> None:
    for exp in ("a", "a", "b"):
        with nbmlops.start_run(experiment=exp):
            pass
    df = nbmlops.experiments()
    assert dict(zip(df["experiment"], df["runs"], strict=True)) == {"a": 2, "b": 1}
    assert {"created_at", "last_activity", "running"} <= set(df.columns)


def test_set_experiment_is_the_default_for_new_runs(fresh_store: Store) -> None:
    nbmlops.set_experiment("mine")
    with nbmlops.start_run() as run:
        pass
    assert nbmlops.get_run(run.run_id).experiment == "mine"


def test_run_id_prefix_lookup(fresh_store: Store) -> None:
    with nbmlops.start_run() as run:
        pass
    assert nbmlops.get_run(run.run_id[:20]).run_id == run.run_id
    assert nbmlops.get_run(run.run_id.upper()[:20]).run_id == run.run_id


def test_store_location_rule(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    project = tmp_path / "project"
    deep = project / "notebooks" / "deep"
    deep.mkdir(parents=True)
    monkeypatch.delenv("NBMLOPS_STORE", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert find_store_path(deep) == tmp_path / "home" / ".nbmlops"
    (project / ".nbmlops").mkdir()
    assert find_store_path(deep) == project / ".nbmlops"
    monkeypatch.setenv("NBMLOPS_STORE", str(tmp_path / "elsewhere"))
    assert find_store_path(deep) == tmp_path / "elsewhere"


def test_set_store_switches_where_runs_go(fresh_store: Store, tmp_path: Path) -> None:
    other = tmp_path / "other-store"
    nbmlops.set_store(other)
    with nbmlops.start_run(name="elsewhere"):
        pass
    assert nbmlops.get_store().root == other.resolve()
    assert nbmlops.runs()["name"].tolist() == ["elsewhere"]
    nbmlops.set_store(fresh_store.root)
    assert nbmlops.runs().empty


def test_runs_of_many_params_types_become_typed_columns(fresh_store: Store) -> None:
    for value in (1, 2.5, "x", True, None):
        with nbmlops.start_run():
            nbmlops.log_param("mixed", value)
            nbmlops.log_param("ints", 3)
    df = nbmlops.runs(order_by="start_time")
    assert df["params.mixed"].tolist() == [1, 2.5, "x", True, None]
    assert df["params.ints"].tolist() == [3] * 5
    assert isinstance(df, pd.DataFrame)


def test_metric_history_is_by_step_whatever_the_logging_order(fresh_store: Store) -> None:
    with nbmlops.start_run() as run:
        for step, value in ((2, 0.2), (0, 0.0), (1, 0.1), (1, 0.15)):
            nbmlops.log_metric("loss", value, step=step)
    history = nbmlops.metric_history(run.run_id, "loss")
    assert history["step"].tolist() == [0, 1, 1, 2]
    assert history["value"].tolist() == [0.0, 0.1, 0.15, 0.2]  # same step: in logging order
    assert str(history["timestamp"].dt.tz) == "UTC"
