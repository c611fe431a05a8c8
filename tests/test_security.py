"""Hostile inputs must never run code or write files: model files, column names, bundles, mode bits."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

import nbmlops
from nbmlops import modelio
from nbmlops.cli import main
from nbmlops.modelio import UntrustedModelError
from nbmlops.serving import load_served
from nbmlops.store import Store


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
    from nbmlops import modeltrust

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
