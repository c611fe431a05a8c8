"""Bundles as users move them between stores: round trips, merging, selection, refusals, the CLI."""

from __future__ import annotations

import io
import json
import math
import os
import subprocess
import sys
import tarfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression

import nbmlops
from nbmlops.store.bundles import ImportReport, export_bundle, import_bundle, read_manifest
from nbmlops.store.catalog import release
from nbmlops.store.folder import Store
from nbmlops.tracking import tracker as tracking

TABLES = ("experiments", "runs", "params", "metrics", "latest_metrics", "tags", "artifacts", "datasets",
          "run_datasets", "registered_models", "model_versions", "model_aliases", "alias_audit")


def _settle() -> None:
    """Everything this process logged is in its journal (provenance tags included)."""
    tracking.tracker().wait_for_provenance()
    tracking.tracker().flush()


def _use(store: Store) -> None:
    nbmlops.set_store(store.root)


def _iris() -> tuple[pd.DataFrame, np.ndarray]:
    data = load_iris(as_frame=True)
    return data.data, data.target.to_numpy()


@pytest.fixture
def source(fresh_store: Store, tmp_path: Path) -> dict[str, Any]:
    """Store A with a finished churn run (everything logged, a promoted model) and an 'other' run."""
    X, y = _iris()
    notes = tmp_path / "notes.txt"
    notes.write_text("learning rate schedule: cosine\n")
    with nbmlops.start_run(experiment="churn", name="baseline") as run:
        nbmlops.log_params({"C": 0.5, "solver": "lbfgs", "layers": [3, 4]})
        for step in range(200):
            nbmlops.log_metric("loss", 1.0 / (step + 1))
        for value in (float("nan"), float("inf"), float("-inf"), 0.25):
            nbmlops.log_metric("odd", value)
        nbmlops.set_tag("team", "risk")
        nbmlops.log_artifact(notes)
        nbmlops.log_dataset(X, name="iris", role="train")
        model = LogisticRegression(max_iter=1000).fit(X, y)
        version = nbmlops.log_model(model, "churn", input_example=X.head())
    nbmlops.promote("churn", version.version, "production", reason="first model")
    with nbmlops.start_run(experiment="other", name="side") as other:
        nbmlops.log_metric("acc", 0.7)
    _settle()
    return {"store": fresh_store, "churn": run.run_id, "other": other.run_id, "model": model, "X": X,
            "notes": notes.read_bytes()}


@pytest.fixture
def target(tmp_path: Path) -> Store:
    """An empty store B."""
    store = Store(tmp_path / "b" / ".nbmlops")
    store.init()
    return store


def _snapshot(store: Store) -> dict[str, Any]:
    """Every row of every table and every artifact file, comparable with ==."""
    with store.reading() as con:
        rows = {t: con.execute(f"SELECT count(*), md5(coalesce(string_agg(x::VARCHAR, '|' ORDER BY x::VARCHAR), '')) "
                               f"FROM {t} x").fetchone() for t in TABLES}
    files = sorted(p.name for p in store.artifact_dir.rglob("*") if p.is_file())
    return {"rows": rows, "files": files}


def _frames(store: Store) -> dict[str, pd.DataFrame]:
    """What a user sees through the public API, for comparing two stores."""
    _use(store)
    runs = nbmlops.runs().sort_values("run_id").reset_index(drop=True)
    return {"runs": runs, "datasets": nbmlops.datasets().sort_values(["name", "version"]).reset_index(drop=True),
            "models": nbmlops.model_versions("churn"), "history": nbmlops.model_history("churn")}


def test_round_trip_keeps_everything(source: dict[str, Any], target: Store) -> None:
    store_a = source["store"]
    written = export_bundle(store_a, source["store"].root.parent / "all.tar.gz")
    assert isinstance(written, Path) and written.is_file()
    report = import_bundle(target, written)
    assert (report.runs_added, report.runs_updated, report.runs_unchanged) == (2, 0, 0)
    assert report.metric_points == 205 and report.models_added == 1 and report.artifacts_added >= 2

    a, b = _frames(store_a), _frames(target)
    for key in a:
        pd.testing.assert_frame_equal(a[key], b[key])

    _use(target)
    run = nbmlops.get_run(source["churn"])
    assert run.status is nbmlops.RunStatus.FINISHED
    assert run.params == {"C": 0.5, "solver": "lbfgs", "layers": [3, 4]}
    assert run.tags["team"] == "risk" and run.tags["model.churn.version"] == "1"
    odd = nbmlops.metric_history(source["churn"], "odd")["value"].tolist()
    assert math.isnan(odd[0]) and odd[1:] == [math.inf, -math.inf, 0.25]
    assert len(nbmlops.metric_history(source["churn"], "loss")) == 200
    notes = next(x for x in run.artifacts if x.path == "notes.txt")
    assert target.artifact_path(notes.sha256).read_bytes() == source["notes"]
    loaded = nbmlops.load_model("churn@production")
    assert (loaded.predict(source["X"]) == source["model"].predict(source["X"])).all()
    assert set(nbmlops.experiments()["experiment"]) == {"churn", "other"}


def test_bytes_round_trip_and_manifest(source: dict[str, Any], target: Store) -> None:
    data = export_bundle(source["store"])
    assert isinstance(data, bytes)
    manifest = read_manifest(data)
    assert manifest["format"] == 1 and manifest["nbmlops_version"]
    assert sorted(manifest["run_ids"]) == sorted([source["churn"], source["other"]])
    assert manifest["counts"]["metrics"] == 205 and manifest["counts"]["model_versions"] == 1
    assert manifest["store"] == str(source["store"].root)
    assert all(len(h) == 64 for h in manifest["members"].values())
    assert import_bundle(target, data).runs_added == 2


def test_importing_twice_or_into_the_source_changes_nothing(source: dict[str, Any], target: Store) -> None:
    bundle = export_bundle(source["store"])
    import_bundle(target, bundle)
    before = _snapshot(target)
    again = import_bundle(target, bundle)
    assert again == ImportReport(runs_added=0, runs_updated=0, runs_unchanged=2, metric_points=0,
                                 artifacts_added=0, models_added=0)
    assert _snapshot(target) == before

    source_before = _snapshot(source["store"])
    home = import_bundle(source["store"], bundle)
    assert (home.runs_unchanged, home.runs_added, home.models_added) == (2, 0, 0)
    assert _snapshot(source["store"]) == source_before


def test_a_running_run_is_updated_once_it_has_finished(fresh_store: Store, target: Store) -> None:
    run = nbmlops.start_run(experiment="long", name="training")
    for step in range(10):
        nbmlops.log_metric("loss", 1.0 / (step + 1))
    _settle()
    early = export_bundle(fresh_store)
    assert import_bundle(target, early).runs_added == 1
    with target.reading() as con:
        assert con.execute("SELECT status FROM runs").fetchone() == ("RUNNING",)

    _use(fresh_store)
    for step in range(10, 30):
        nbmlops.log_metric("loss", 1.0 / (step + 1))
    nbmlops.end_run()
    _settle()
    late = export_bundle(fresh_store)
    report = import_bundle(target, late)
    assert (report.runs_updated, report.metric_points) == (1, 30)

    _use(target)
    finished = nbmlops.get_run(run.run_id)
    assert finished.status is nbmlops.RunStatus.FINISHED and finished.end_time is not None
    assert len(nbmlops.metric_history(run.run_id, "loss")) == 30
    # The older copy never rolls the run back.
    assert import_bundle(target, early).runs_unchanged == 1
    assert nbmlops.get_run(run.run_id).status is nbmlops.RunStatus.FINISHED
    assert len(nbmlops.metric_history(run.run_id, "loss")) == 30


def test_selection_by_experiment_where_and_run_ids(source: dict[str, Any]) -> None:
    store = source["store"]
    by_experiment = read_manifest(export_bundle(store, experiment="other"))
    assert by_experiment["run_ids"] == [source["other"]]
    by_list = read_manifest(export_bundle(store, experiment=["churn", "other"]))
    assert len(by_list["run_ids"]) == 2
    by_where = read_manifest(export_bundle(store, where="metrics.loss < 0.1"))
    assert by_where["run_ids"] == [source["churn"]]
    by_id = read_manifest(export_bundle(store, run_ids=[source["churn"][:24]]))  # a unique prefix
    assert by_id["run_ids"] == [source["churn"]] and by_id["counts"]["model_versions"] == 1
    assert read_manifest(export_bundle(store, run_ids=[source["churn"]], experiment="other"))["run_ids"] == []
    without = read_manifest(export_bundle(store, run_ids=[source["churn"]], include_models=False))
    assert "model_versions" not in without["counts"] and without["counts"]["artifacts"] >= 2
    with pytest.raises(nbmlops.NotFoundError):
        export_bundle(store, run_ids=["no-such-run"])
    with pytest.raises(nbmlops.FilterSyntaxError):
        export_bundle(store, where="metrics.loss <")


def test_selected_run_only_and_no_models(source: dict[str, Any], target: Store) -> None:
    report = import_bundle(target, export_bundle(source["store"], experiment="churn", include_models=False))
    assert (report.runs_added, report.models_added) == (1, 0)
    _use(target)
    assert nbmlops.runs()["run_id"].tolist() == [source["churn"]]
    assert nbmlops.models().empty
    # The model file still travels as a run artifact.
    assert nbmlops.load_model(f"run:{source['churn']}").predict(source["X"][:3]).shape == (3,)


def test_a_colliding_model_version_is_appended_not_overwritten(source: dict[str, Any], target: Store) -> None:
    bundle = export_bundle(source["store"])
    _use(target)
    X, y = _iris()
    with nbmlops.start_run(experiment="churn", name="theirs"):
        mine = nbmlops.log_model(LogisticRegression(C=0.01, max_iter=1000).fit(X, y), "churn")
    nbmlops.promote("churn", 1, "production", reason="ours")
    _settle()

    report = import_bundle(target, bundle)
    assert report.models_added == 1 and report.renumbered == (("churn", 1, 2),)
    assert "churn version 1 is version 2 here" in report.summary()
    _use(target)
    assert nbmlops.get_model_version("churn@production").version == 1  # aliases never move
    assert nbmlops.get_model_version("churn/1").sha256 == mine.sha256
    imported = nbmlops.get_model_version("churn/2")
    assert imported.run_id == source["churn"]
    assert (nbmlops.load_model("churn/2").predict(X) == source["model"].predict(X)).all()
    assert nbmlops.get_run(source["churn"]).tags["model.churn.version"] == "2"
    history = nbmlops.model_history("churn")
    assert sorted(history["to_version"].tolist()) == [1, 2]

    again = import_bundle(target, bundle)
    assert (again.models_added, again.renumbered, again.runs_unchanged) == (0, (), 2)
    assert len(nbmlops.model_versions("churn")) == 2 and len(nbmlops.model_history("churn")) == 2


def _rewrite(bundle: bytes, change: Any) -> bytes:
    """The bundle with `change(name, data) -> data` applied to every member."""
    out = io.BytesIO()
    with tarfile.open(fileobj=io.BytesIO(bundle), mode="r:gz") as src, \
            tarfile.open(fileobj=out, mode="w:gz") as dst:
        for member in src:
            data = change(member.name, src.extractfile(member).read())  # type: ignore[union-attr]
            member.size = len(data)
            dst.addfile(member, io.BytesIO(data))
    return out.getvalue()


@pytest.mark.parametrize("member", ["tables/params.parquet", "tables/metrics.parquet", "artifacts/"])
def test_a_tampered_bundle_is_refused_and_nothing_changes(source: dict[str, Any], target: Store,
                                                         member: str) -> None:
    bundle = export_bundle(source["store"])
    tampered = _rewrite(bundle, lambda name, data: data[:-9] + b"tampered!" if name.startswith(member) else data)
    before = _snapshot(target)
    with pytest.raises(nbmlops.CorruptStoreError, match="bundle .* cannot be imported: member .* does not match"):
        import_bundle(target, tampered)
    assert _snapshot(target) == before


def test_a_truncated_or_foreign_file_is_refused(source: dict[str, Any], target: Store, tmp_path: Path) -> None:
    bundle = export_bundle(source["store"])
    assert isinstance(bundle, bytes)
    with pytest.raises(nbmlops.CorruptStoreError, match="cannot be imported"):
        import_bundle(target, bundle[: len(bundle) // 2])
    foreign = tmp_path / "notes.tar.gz"
    foreign.write_bytes(b"not a bundle")
    with pytest.raises(nbmlops.CorruptStoreError, match=str(foreign)):
        import_bundle(target, foreign)
    with pytest.raises(nbmlops.NotFoundError):
        import_bundle(target, tmp_path / "missing.tar.gz")
    assert _snapshot(target)["rows"]["runs"][0] == 0


def test_a_newer_bundle_format_is_refused(source: dict[str, Any], target: Store) -> None:
    def bump(name: str, data: bytes) -> bytes:
        return json.dumps({**json.loads(data), "format": 99}).encode() if name == "manifest.json" else data

    newer = _rewrite(export_bundle(source["store"]), bump)  # type: ignore[arg-type]
    before = _snapshot(target)
    with pytest.raises(nbmlops.StoreVersionError, match="pip install -U nbmlops"):
        import_bundle(target, newer)
    assert _snapshot(target) == before


def _nb(store: Store, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NBMLOPS_STORE": str(store.root)}
    return subprocess.run([sys.executable, "-m", "nbmlops.cli", *args], env=env, capture_output=True,
                          text=True, timeout=120)


def test_cli_export_and_import(source: dict[str, Any], target: Store, tmp_path: Path) -> None:
    release()
    out = tmp_path / "churn.tar.gz"
    written = _nb(source["store"], "export", str(out), "-e", "churn", "--where", "metrics.loss < 0.1")
    assert written.returncode == 0, written.stderr
    assert f"Wrote {out}: 1 run, 204 metric points" in written.stdout and "1 model version," in written.stdout

    first = _nb(target, "import", str(out))
    assert first.returncode == 0, first.stderr
    assert "1 run added, 0 updated, 0 unchanged; 204 metric points" in first.stdout
    second = _nb(target, "import", str(out))
    assert "0 runs added, 0 updated, 1 unchanged; 0 metric points" in second.stdout

    tampered = tmp_path / "tampered.tar.gz"
    tampered.write_bytes(_rewrite(out.read_bytes(), lambda n, d: d[:-1] + b"x" if n.endswith("runs.parquet") else d))
    for args in (["import", str(tampered)], ["import", str(tmp_path / "missing.tar.gz")],
                 ["export", str(tmp_path / "x.tar.gz"), "--where", "metrics.loss <"],
                 ["export", str(tmp_path / "y.tar.gz"), "--run", "no-such-run"]):
        failed = _nb(target, *args)
        assert failed.returncode == 1, args
        assert failed.stderr.startswith("Error: ") and failed.stderr.count("\n") == 1, failed.stderr
        assert "Traceback" not in failed.stderr
