"""Hostile inputs must never run code or write files: model files, column names, bundles, mode bits."""

from __future__ import annotations

import io
import json
import tarfile
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import nbmlops
from nbmlops.cli import main
from nbmlops.errors import UntrustedModelError
from nbmlops.registry import serialization as modelio
from nbmlops.registry.serving import load_served
from nbmlops.store.folder import Store


# -- model files naming code to run ----------------------------------------------------------------
def _json_node(value: object) -> dict[str, object]:
    return {"__class__": type(value).__name__, "__module__": "builtins", "__loader__": "JsonNode",
            "content": json.dumps(value), "is_json": True}


def crafted_skops(module: str, name: str, *args: object) -> bytes:
    """A skops file whose loader calls `module.name(*args)` (a ConstructorFromReduceNode)."""
    schema = {"__class__": name, "__module__": module, "__loader__": "ConstructorFromReduceNode",
              "content": {"__class__": "tuple", "__module__": "builtins", "__loader__": "TupleNode",
                          "content": [_json_node(a) for a in args]},
              "protocol": 2, "_skops_version": "0.16.0"}
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        z.writestr("schema.json", json.dumps(schema))
    return buffer.getvalue()


def hostile_models(marker: Path, tmp_path: Path) -> list[tuple[str, bytes]]:
    """(the name the file gives, the file) for each way of running code a skops file might name."""
    code = f"open({str(marker)!r}, 'w').write('ran')"
    (tmp_path / "nb_evil_module.py").write_text(code + "\n")
    return [
        ("builtins.exec", crafted_skops("builtins", "exec", code)),
        ("builtins.eval", crafted_skops("builtins", "eval", code)),
        ("builtins.getattr", crafted_skops("builtins", "getattr", "x", "upper")),
        ("builtins.__import__", crafted_skops("builtins", "__import__", "nb_evil_module")),
        ("os.system", crafted_skops("os", "system", f"touch {marker}")),
        ("subprocess.Popen", crafted_skops("subprocess", "Popen", ["touch", str(marker)])),
        ("importlib.import_module", crafted_skops("importlib", "import_module", "nb_evil_module")),
        ("numpy.save", crafted_skops("numpy", "save", str(marker), [1])),
        ("sklearn.datasets.clear_data_home", crafted_skops("sklearn.datasets", "clear_data_home", str(tmp_path))),
    ]


def log_raw_model(data: bytes, name: str, tmp_path: Path) -> str:
    """Log `data` as the skops model file of a run; returns the run's model URI."""
    source = tmp_path / f"{name}.skops"
    source.write_bytes(data)
    with nbmlops.start_run(experiment="hostile") as run:
        nbmlops.log_artifact(source, f"models/{name}/model.skops")
    return f"run:{run.run_id}/{name}"


def test_hostile_skops_files_are_refused_without_running_code(
        fresh_store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    marker = tmp_path / "pwned"
    monkeypatch.syspath_prepend(str(tmp_path))  # nb_evil_module would be importable
    for index, (named, data) in enumerate(hostile_models(marker, tmp_path)):
        with pytest.raises(UntrustedModelError) as raised:
            modelio.load(data, modelio.SKOPS)
        message = str(raised.value)
        assert named in message and "trusted=True" in message and "\n" not in message
        uri = log_raw_model(data, f"evil{index}", tmp_path)
        with pytest.raises(UntrustedModelError, match="trusted=True"):
            nbmlops.load_model(uri)
        with pytest.raises(UntrustedModelError, match="trusted=True"):
            load_served(fresh_store, uri)  # what `nbmlops serve` and its reloads call
        assert not marker.exists(), f"{named} ran code"
    fresh_store.release()
    result = CliRunner().invoke(main, ["--store", str(fresh_store.root), "serve", uri, "--port", "0"])
    assert result.exit_code == 1 and result.output.startswith("Error: ") and result.output.count("\n") == 1
    assert not marker.exists()


def test_sklearn_helper_types_load_but_a_foreign_alias_of_them_does_not() -> None:
    from nbmlops.registry import trust as modeltrust

    assert modeltrust.is_safe("sklearn.tree._tree.Tree")
    assert modeltrust.is_safe("sklearn.linear_model._logistic.LogisticRegression")
    assert modeltrust.is_safe("sklearn.metrics._ranking.roc_auc_score")
    # Re-exports and foreign code under a scikit-learn name are not scikit-learn's own.
    assert not modeltrust.is_safe("sklearn.linear_model.LogisticRegression")
    assert not modeltrust.is_safe("sklearn.utils.parallel.delayed")
    assert not modeltrust.is_safe("sklearn.base.clone")  # a function outside the pure-function modules
    assert not modeltrust.is_safe("sklearn.utils._testing.assert_allclose")
    assert not modeltrust.is_safe("builtins.exec") and not modeltrust.is_safe("numpy.load")


def test_real_models_still_load_without_trust(fresh_store: Store) -> None:
    import numpy as np
    import pandas as pd
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import GradientBoostingClassifier, HistGradientBoostingClassifier, RandomForestClassifier
    from sklearn.feature_selection import SelectKBest, chi2
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GridSearchCV
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler
    from sklearn.tree import DecisionTreeClassifier

    rng = np.random.default_rng(0)
    X = pd.DataFrame({"a": rng.random(120), "b": rng.random(120), "c": rng.choice(["x", "y"], 120)})
    y = (X.a > 0.5).astype(int).to_numpy()
    numeric = X[["a", "b"]].to_numpy()
    models = [
        make_pipeline(ColumnTransformer([("c", OneHotEncoder(), ["c"])], remainder=StandardScaler()),
                      LogisticRegression()).fit(X, y),
        make_pipeline(FunctionTransformer(np.log1p), RandomForestClassifier(5, random_state=0)).fit(numeric, y),
        GradientBoostingClassifier(n_estimators=5).fit(numeric, y),
        HistGradientBoostingClassifier(max_iter=5).fit(numeric, y),
        GridSearchCV(LogisticRegression(), {"C": [1, 2]}, scoring="roc_auc").fit(numeric, y),
        make_pipeline(SelectKBest(chi2, k=1), DecisionTreeClassifier()).fit(numeric, y),
        CalibratedClassifierCV(DecisionTreeClassifier(), cv=2).fit(numeric, y),
    ]
    for model in models:
        data, flavor = modelio.dump(model)
        assert flavor == modelio.SKOPS
        loaded = modelio.load(data, flavor)
        features = X if hasattr(model, "steps") and isinstance(model.steps[0][1], ColumnTransformer) else numeric
        assert (loaded.predict(features) == model.predict(features)).all()


# -- column names that are SQL -----------------------------------------------------------------------
INJECTION = "x\" FROM (SELECT 1 AS x); COPY (SELECT 'owned') TO 'f.csv'; --"
KEY = "id'); COPY (SELECT 1) TO 'f.csv'; --"
HOSTILE = [INJECTION, "it's", "semi;colon", "new\nline", "ünï ✓ 列", "back`tick", "\"", "'"]


def hostile_frame(n: int = 60, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    columns = {KEY: np.arange(n)}
    for i, name in enumerate(HOSTILE):
        columns[name] = rng.normal(i, 1, n).round(3) if i % 2 == 0 else rng.choice(["a'b", 'c"d', "e;f"], n)
    return pd.DataFrame(columns)


def no_injected_files(*folders: Path) -> None:
    for folder in folders:
        assert not (folder / "f.csv").exists(), f"a column name ran SQL: {folder / 'f.csv'} was written"


@pytest.fixture
def hostile_versions(fresh_store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[pd.DataFrame, ...]:
    """Dataset `hostile` v1 and v2 with snapshots: v2 drops 2 rows, changes 1 and adds 1."""
    monkeypatch.chdir(tmp_path)  # where a COPY ... TO 'f.csv' would land
    old = hostile_frame()
    new = old.drop(index=[3, 4]).copy()
    new.loc[new[KEY] == 10, INJECTION] = -99.0
    new = pd.concat([new, old.iloc[[0]].assign(**{KEY: 1000})], ignore_index=True)
    for frame in (old, new):
        with nbmlops.start_run(experiment="hostile"):
            nbmlops.log_dataset(frame, "hostile", role="train", snapshot=True)
    return old, new


def test_hostile_column_names_diff_and_profile_without_running_sql(
        fresh_store: Store, hostile_versions: tuple[pd.DataFrame, ...], tmp_path: Path) -> None:
    from nbmlops.data.diff import diff

    old, new = hostile_versions
    by_key = diff(fresh_store, "hostile", 1, 2, [KEY])
    assert (by_key.added, by_key.removed, by_key.changed) == (1, 2, 1)
    whole = diff(fresh_store, "hostile", 1, 2)
    assert (whole.added, whole.removed, whole.changed) == (2, 3, None)
    pd.testing.assert_frame_equal(nbmlops.load_dataset("hostile", 2), new)
    store = ["--store", str(fresh_store.root)]
    for args in (["data", "diff", "hostile", "1", "2", "--key", KEY], ["data", "diff", "hostile", "1", "2"],
                 ["data", "show", "hostile@2"], ["data", "show", "hostile@1", "--format", "json"]):
        result = CliRunner().invoke(main, [*store, *args])
        assert result.exit_code == 0, result.output
    shown = json.loads(CliRunner().invoke(main, [*store, "data", "show", "hostile@1", "--format", "json"]).output)
    assert set(shown["schema"]) == {KEY, *HOSTILE} and shown["profile"][INJECTION]["count"] == 60
    no_injected_files(tmp_path, Path(tempfile.gettempdir()), fresh_store.root)


def test_a_bundle_carries_hostile_column_names_intact(
        fresh_store: Store, hostile_versions: tuple[pd.DataFrame, ...], tmp_path: Path) -> None:
    from nbmlops.data.diff import diff
    from nbmlops.store.bundles import export_bundle, import_bundle

    written = export_bundle(fresh_store, tmp_path / "hostile.tar.gz")
    target = Store(tmp_path / "target" / ".nbmlops")
    target.init()
    report = import_bundle(target, written)
    assert report.runs_added == 2
    moved = diff(target, "hostile", 1, 2, [KEY])
    assert (moved.added, moved.removed, moved.changed) == (1, 2, 1)
    nbmlops.set_store(target.root)
    pd.testing.assert_frame_equal(nbmlops.load_dataset("hostile", 2), hostile_versions[1])
    no_injected_files(tmp_path, Path(tempfile.gettempdir()), target.root)


def test_monitoring_a_model_whose_features_have_hostile_names(
        fresh_store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from sklearn.linear_model import LogisticRegression

    monkeypatch.chdir(tmp_path)
    train = hostile_frame(300)[[KEY, *HOSTILE[::2]]]
    labels = (train[INJECTION] > 0).astype(int).to_numpy()
    with nbmlops.start_run(experiment="hostile"):
        nbmlops.log_dataset(train, "hostile-train", role="train", snapshot=True)
        version = nbmlops.log_model(LogisticRegression().fit(train, labels), "hostile", reference_data=train)
    nbmlops.promote("hostile", version.version)
    shifted = hostile_frame(200, seed=1)[[KEY, *HOSTILE[::2]]].assign(**{INJECTION: lambda f: f[INJECTION] + 5})
    report = nbmlops.monitor("hostile@production", shifted, labels=(shifted[INJECTION] > 0).astype(int).to_numpy())
    assert INJECTION in report.drifted_columns
    assert set(nbmlops.feature_drift("hostile")["column"]) >= set(HOSTILE[::2])
    no_injected_files(tmp_path, Path(tempfile.gettempdir()), fresh_store.root)


# -- bundles that lie -------------------------------------------------------------------------------
def store_state(store: Store) -> dict[str, object]:
    """Runs, stored files and anything else under the artifact folder, comparable with ==."""
    with store.reading() as con:
        runs = sorted(r[0] for r in con.execute("SELECT run_id FROM runs").fetchall())
    entries = sorted(str(p.relative_to(store.root)) for p in store.root.rglob("*")
                     if "artifacts" in p.parts)
    return {"runs": runs, "artifacts": entries}


@pytest.fixture
def small_bundle(fresh_store: Store, tmp_path: Path) -> bytes:
    """A bundle of one run with one artifact file and one model-free dataset."""
    (tmp_path / "notes.txt").write_text("hello\n")
    with nbmlops.start_run(experiment="bundled"):
        nbmlops.log_metric("auc", 0.9)
        nbmlops.log_artifact(tmp_path / "notes.txt")
    from nbmlops.store.bundles import export_bundle

    data = export_bundle(fresh_store)
    assert isinstance(data, bytes)
    return data


@pytest.fixture
def empty_target(tmp_path: Path) -> Store:
    target = Store(tmp_path / "target" / ".nbmlops")
    target.init()
    return target


def rebuild(bundle: bytes, manifest_change: object = None, extra: list[tuple[tarfile.TarInfo, bytes]] = (),
            member_change: object = None) -> bytes:
    """The bundle with its manifest edited, members edited and `extra` members appended."""
    out = io.BytesIO()
    with tarfile.open(fileobj=io.BytesIO(bundle), mode="r:gz") as src, \
            tarfile.open(fileobj=out, mode="w:gz", compresslevel=9) as dst:
        for member in src:
            data = src.extractfile(member).read()  # type: ignore[union-attr]
            if member.name == "manifest.json" and manifest_change is not None:
                manifest = json.loads(data)
                manifest_change(manifest)  # type: ignore[operator]
                data = json.dumps(manifest).encode()
            if member_change is not None:
                member, data = member_change(member, data)  # type: ignore[operator]
            member.size = len(data)
            dst.addfile(member, io.BytesIO(data))
        for info, data in extra:
            info.size = len(data) if info.isfile() else 0
            dst.addfile(info, io.BytesIO(data) if info.isfile() else None)
    return out.getvalue()


def refused(target: Store, bundle: bytes, match: str, **options: object) -> None:
    from nbmlops.store.bundles import import_bundle

    before = store_state(target)
    with pytest.raises(nbmlops.NbmlopsError, match=match) as raised:
        import_bundle(target, bundle, **options)  # type: ignore[arg-type]
    assert "\n" not in str(raised.value) and "nothing was imported" in str(raised.value)
    assert store_state(target) == before


BOMB = 64 << 20  # 64 MiB of zeros: about 64 KiB once gzipped


def pad_tags(member: tarfile.TarInfo, data: bytes) -> tuple[tarfile.TarInfo, bytes]:
    """Member edit: the tags table grows by BOMB zero bytes (a gzip bomb inside the bundle)."""
    return member, data + b"\0" * BOMB if member.name == "tables/tags.parquet" else data


def test_a_member_larger_than_its_manifest_says_is_refused_before_it_is_read(
        small_bundle: bytes, empty_target: Store) -> None:
    import hashlib

    bomb = b"\0" * BOMB
    sha = hashlib.sha256(bomb).hexdigest()
    info = tarfile.TarInfo(f"artifacts/{sha}")
    lying = rebuild(small_bundle, lambda m: m["artifacts"].__setitem__(sha, 100), [(info, bomb)])
    assert len(lying) < 1 << 20
    refused(empty_target, lying, f"member artifacts/{sha} holds {BOMB} bytes, its manifest says 100")
    # A table member of a bundle that declares table sizes, likewise.
    fat_table = rebuild(small_bundle, member_change=pad_tags)
    refused(empty_target, fat_table, "member tables/tags.parquet holds .* bytes, its manifest says")


def test_an_honest_bundle_over_the_cap_is_refused(small_bundle: bytes, empty_target: Store, tmp_path: Path) -> None:
    import hashlib

    from nbmlops.store.bundles import DEFAULT_MAX_SIZE, import_bundle

    bomb = b"\0" * BOMB
    sha = hashlib.sha256(bomb).hexdigest()
    big = rebuild(small_bundle, lambda m: m["artifacts"].__setitem__(sha, BOMB),
                  [(tarfile.TarInfo(f"artifacts/{sha}"), bomb)])
    refused(empty_target, big, r"more than 16.0 MiB .* the import cap", max_size=16 << 20)
    # A bundle from before table sizes were declared: its tables count against the cap as they stream.
    old_style = rebuild(small_bundle, lambda m: m.pop("sizes"), member_change=pad_tags)
    refused(empty_target, old_style, "the import cap", max_size=16 << 20)
    path = tmp_path / "big.tar.gz"
    path.write_bytes(big)
    result = CliRunner().invoke(main, ["--store", str(empty_target.root), "import", str(path), "--max-size", "16M"])
    assert result.exit_code == 1 and result.output.count("\n") == 1 and "the import cap" in result.output
    assert DEFAULT_MAX_SIZE == 20 << 30
    assert import_bundle(empty_target, big).runs_added == 1  # under the default cap it imports
    assert empty_target.artifact_path(sha).stat().st_size == BOMB


@pytest.mark.parametrize("kind", ["traversal", "absolute", "symlink", "hardlink", "device"])
def test_links_and_names_outside_the_bundle_are_refused(small_bundle: bytes, empty_target: Store, kind: str) -> None:
    names = {"traversal": "artifacts/../../../evil", "absolute": "/tmp/nbmlops-evil"}
    info = tarfile.TarInfo(names.get(kind, "artifacts/x"))
    if kind == "symlink":
        info.type, info.linkname = tarfile.SYMTYPE, "/etc/passwd"
    elif kind == "hardlink":
        info.type, info.linkname = tarfile.LNKTYPE, "manifest.json"
    elif kind == "device":
        info.type = tarfile.CHRTYPE
    refused(empty_target, rebuild(small_bundle, extra=[(info, b"evil")]),
            "names a path outside the bundle" if kind in names else "which nbmlops bundles never hold")


def test_restored_files_never_keep_setuid_or_world_writable_bits(fresh_store: Store, empty_target: Store,
                                                                  tmp_path: Path) -> None:
    import os
    import stat

    from nbmlops.store.bundles import export_bundle, import_bundle

    folder = tmp_path / "tools"
    folder.mkdir()
    script = folder / "run.sh"
    script.write_text("#!/bin/sh\necho hi\n")
    os.chmod(script, 0o4777)  # noqa: S103 - the modes under test
    (folder / "data.txt").write_text("x\n")
    os.chmod(folder / "data.txt", 0o666)  # noqa: S103 - the modes under test
    with nbmlops.start_run(experiment="modes"):
        nbmlops.log_dataset(folder, "tools", snapshot=True)
    mode = lambda p: stat.S_IMODE(p.stat().st_mode)  # noqa: E731
    restored = nbmlops.load_dataset("tools", path=tmp_path / "here")
    assert (mode(restored / "run.sh"), mode(restored / "data.txt")) == (0o755, 0o644)
    # Through a bundle whose members also claim mode 0o4777.
    def setuid(member: tarfile.TarInfo, data: bytes) -> tuple[tarfile.TarInfo, bytes]:
        member.mode = 0o4777
        return member, data
    import_bundle(empty_target, rebuild(export_bundle(fresh_store), member_change=setuid))
    stored = [p for p in empty_target.artifact_dir.rglob("*") if p.is_file()]
    assert stored and all(mode(p) == 0o444 for p in stored)
    nbmlops.set_store(empty_target.root)
    there = nbmlops.load_dataset("tools", path=tmp_path / "there")
    for path in there.rglob("*"):
        assert not mode(path) & (stat.S_ISUID | stat.S_ISGID | stat.S_ISVTX | stat.S_IWOTH | stat.S_IWGRP), path
    assert (mode(there / "run.sh"), mode(there / "data.txt")) == (0o755, 0o644)
