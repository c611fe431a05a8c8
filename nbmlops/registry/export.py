"""Exporting a registered model as a self-contained folder that loads without nbmlops.

The folder holds the hash-verified model file, `signature.json`, `model.json` (where it came
from), a `README.md` and a `requirements.txt` pinning what the model was trained with, read from
the run's `provenance/environment.json`. Pinned: scikit-learn, skops, numpy, scipy and pandas
when the training process had them, plus the model class's own distribution (e.g. `xgboost` for
`xgboost.sklearn.XGBClassifier`) and those of its direct requirements the training process had
imported, so the pins stay within the model's library family rather than the whole notebook.
The folder is written next to DIR under a temporary name and renamed into place, so a failed
export leaves nothing half-written and nothing outside DIR is touched.
"""

from __future__ import annotations

import datetime as dt
import importlib.metadata
import json
import math
import os
import platform
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any

from nbmlops.errors import ExportError
from nbmlops.registry import models as registry
from nbmlops.registry import serialization as modelio
from nbmlops.registry import transformers as hf_flavor
from nbmlops.registry.models import ModelVersion
from nbmlops.store import models as tables
from nbmlops.store.folder import Store

CORE_PACKAGES = ("scikit-learn", "skops", "numpy", "scipy", "pandas")
# What a tensor flavor's file needs to load, whatever package the model's class came from (often __main__).
FLAVOR_PACKAGES = {modelio.PYTORCH: ("torch", "safetensors"), modelio.KERAS: ("keras", "h5py"),
                   modelio.TRANSFORMERS: ("transformers", "torch", "safetensors")}
ENVIRONMENT_ARTIFACT = "provenance/environment.json"


def export_model(store: Store, uri: str, directory: str | os.PathLike[str]) -> Path:
    """Write model `uri` with its signature, pinned requirements and a README into `directory`.

    >>> export_model(store, "churn@production", "exported/churn")
    PosixPath('/home/ana/project/exported/churn')
    """
    target = Path(os.path.abspath(Path(directory).expanduser()))  # absolute, symlinks not followed
    _check_target(target)
    try:
        version = registry.resolve(store, uri)
        data = registry.read_verified(store, version)
        environment = _training_environment(store, version.run_id)
        side = hf_flavor.side_files(registry.model_meta(store, version)) \
            if version.flavor == modelio.TRANSFORMERS else {}
    finally:
        store.release()
    filename = modelio.FILES.get(version.flavor, modelio.FILES[modelio.PICKLE])
    requirements, pinned_from_run = requirements_for(version, environment)
    files = {
        filename: data,
        **side,  # a transformers model's save_pretrained folder: config.json beside the weights
        "signature.json": _json(version.signature),
        "requirements.txt": requirements.encode(),
        "model.json": _json(_description(version, filename, uri)),
        "README.md": _readme(version, filename, environment, pinned_from_run).encode(),
    }
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".partial", dir=target.parent)
    try:
        for name, content in files.items():  # O_EXCL: never write through a planted link
            if "/" in name:
                os.makedirs(os.path.join(staging, os.path.dirname(name)), mode=0o755, exist_ok=True)
            fd = os.open(os.path.join(staging, name), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            with os.fdopen(fd, "wb") as out:
                out.write(content)
        os.chmod(staging, 0o755)  # noqa: S103 - a folder for others to read, as mkdir makes it (mkdtemp: 0o700)
        _move_into_place(staging, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def _check_target(target: Path) -> None:
    if target.is_symlink():
        raise ExportError(f"{target} is a symbolic link: export into a real, new or empty folder")
    if target.exists() and not target.is_dir():
        raise ExportError(f"{target} exists and is not a folder: choose a new folder to export into")
    if target.is_dir() and any(target.iterdir()):
        raise ExportError(f"{target} is not empty: export into a new or empty folder")


def _move_into_place(staging: str, target: Path) -> None:
    # rename() replaces an empty folder and refuses a non-empty one, so a folder filled
    # meanwhile by someone else is never overwritten.
    try:
        os.rename(staging, target)
    except OSError:
        try:
            target.rmdir()  # an empty folder, where rename() cannot replace folders (Windows)
            os.rename(staging, target)
        except OSError:
            raise ExportError(f"{target} is not empty: export into a new or empty folder") from None


def _training_environment(store: Store, run_id: str | None) -> dict[str, Any] | None:
    """The run's recorded environment.json, or None when the run has none."""
    if not run_id:
        return None
    with store.reading() as con:
        sha = tables.artifact_sha256(con, run_id, ENVIRONMENT_ARTIFACT)
    if sha is None:
        return None
    try:
        env = json.loads(store.artifact_path(sha).read_bytes())
    except (OSError, ValueError):
        return None
    return env if isinstance(env, dict) and isinstance(env.get("packages"), dict) else None


def _normal(dist: str) -> str:
    return re.sub(r"[-_.]+", "-", dist).lower()


def _installed(dist: str) -> str | None:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def _family(version: ModelVersion, trained: dict[str, tuple[str, str]]) -> tuple[list[str], list[str]]:
    """(distributions the model needs to load, their direct requirements) for the model's class."""
    module = version.model_class.split(".", 1)[0]
    # A class from __main__ or a local module has no distribution to pin: the README says so.
    owners = importlib.metadata.packages_distributions().get(module) or \
        (["scikit-learn"] if module == "sklearn" else [trained[_normal(module)][0]]
         if _normal(module) in trained else [])
    needed = [*owners, *(["skops"] if version.flavor == modelio.SKOPS else []),
              *FLAVOR_PACKAGES.get(version.flavor, ())]
    requires: list[str] = []
    for dist in owners:
        try:
            lines = importlib.metadata.requires(dist) or []
        except importlib.metadata.PackageNotFoundError:
            lines = []
        requires += [m.group(0) for line in lines if "extra ==" not in line
                     and (m := re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", line))]
    return needed, requires


def requirements_for(version: ModelVersion, environment: dict[str, Any] | None) -> tuple[str, bool]:
    """requirements.txt text pinning the model's library family, and whether the run recorded them."""
    trained = {_normal(k): (k, str(v)) for k, v in (environment or {}).get("packages", {}).items()}
    needed, requires = _family(version, trained)
    pins: dict[str, str] = {}
    fallback: dict[str, str] = {}
    for dist in dict.fromkeys([*needed, *CORE_PACKAGES, *requires]):
        if _normal(dist) in trained:
            name, number = trained[_normal(dist)]
            pins[name] = f"{name}=={number}"
        elif environment is None and (installed := _installed(dist)):
            pins[dist] = f"{dist}=={installed}"
        elif dist in needed:  # the model cannot load without it: pin what is installed now
            installed = _installed(dist)
            fallback[dist] = f"{dist}=={installed}" if installed else dist
    head = (f"# What {version.name} v{version.version} was trained with, from its run's {ENVIRONMENT_ARTIFACT}"
            if environment else f"# The run of {version.name} v{version.version} recorded no environment: "
            "these are the versions installed when it was exported")
    lines = [head, *sorted(pins.values(), key=str.lower)]
    if fallback:
        lines += ["# Not recorded with the run: the versions installed when it was exported",
                  *sorted(fallback.values(), key=str.lower)]
    return "\n".join(lines) + "\n", bool(environment)


def _json(value: Any) -> bytes:
    return (json.dumps(value, indent=2, ensure_ascii=False, default=str) + "\n").encode()


def _description(version: ModelVersion, filename: str, uri: str) -> dict[str, Any]:
    return {"name": version.name, "version": version.version, "run_id": version.run_id,
            "flavor": version.flavor, "class": version.model_class, "file": filename,
            "sha256": version.sha256, "size": version.size, "created_at": version.created_at.isoformat(),
            "aliases": version.aliases,
            "metrics": {k: v if math.isfinite(v) else str(v) for k, v in version.metrics.items()},
            "exported_from": uri, "exported_at": dt.datetime.now(dt.timezone.utc).isoformat()}


def _native_readme(version: ModelVersion, filename: str) -> str:
    """How to load an XGBoost or LightGBM model file with its library alone (no code in the file)."""
    cls = version.model_class.rpartition(".")[2]
    if version.flavor == modelio.XGBOOST:
        make = "xgboost.Booster()" if cls == "Booster" else f"xgboost.{cls}()"
        return f"""```python
import xgboost

model = {make}
model.load_model("{filename}")
```

XGBoost's own UBJSON format: it holds no code."""
    note = "" if cls == "Booster" else (f"\n\nLightGBM has no loader for its `{cls}`: this gives its Booster "
                                        "(`nbmlops.load_model` rebuilds the estimator).")
    return f"""```python
import lightgbm

model = lightgbm.Booster(model_file="{filename}")
```

LightGBM's own model text: it holds no code.{note}"""


def _tensor_readme(version: ModelVersion, filename: str) -> str:
    """How to load a PyTorch, Keras or transformers model file with its library alone (no pickle)."""
    cls = version.model_class.rpartition(".")[2]
    if version.flavor == modelio.PYTORCH:
        return f"""```python
from safetensors.torch import load_file

state = load_file("{filename}")
model = {cls}(...)  # your class `{version.model_class}`, built as it was trained
model.load_state_dict(state)
```

safetensors holds tensors and a JSON header: no code. The module's class is code, so it is not in
the file: `nbmlops.load_model(uri, model_class={cls})` rebuilds it with the saved hyperparameters."""
    if version.flavor == modelio.KERAS:
        return f"""```python
import keras

model = keras.saving.load_model("{filename}", safe_mode=True)
```

A `.keras` file is JSON config and HDF5 weights; `safe_mode=True` refuses any Python code in it."""
    folder = os.path.dirname(filename)
    return f"""```python
import transformers

model = transformers.{cls}.from_pretrained("{folder}", use_safetensors=True, local_files_only=True)
```

The folder `save_pretrained` wrote: `config.json` and the weights in safetensors (no pickle)."""


def _readme(version: ModelVersion, filename: str, environment: dict[str, Any] | None,
            pinned_from_run: bool) -> str:
    python = (environment or {}).get("python") or platform.python_version()
    if version.flavor == modelio.SKOPS:
        plain = f"""```python
import skops.io as sio

path = "{filename}"
types = sio.get_untrusted_types(file=path)
print(types)  # review these first: load only if you trust every type listed
model = sio.load(path, trusted=types)
```

skops builds only the types it is told to trust, so review the list before loading."""
    elif version.flavor in (modelio.XGBOOST, modelio.LIGHTGBM):
        plain = _native_readme(version, filename)
    elif version.flavor in FLAVOR_PACKAGES:
        plain = _tensor_readme(version, filename)
    else:
        plain = f"""**Warning: this model is a pickle. Loading a pickle runs code from the file: load it only
if you trust whoever stored it.**

```python
import pickle

with open("{filename}", "rb") as f:
    model = pickle.load(f)
```

A pickle names the model's classes by module: that code (here `{version.model_class}`) must be
importable where you load it, and `requirements.txt` cannot pin code that is not a package."""
    trust = ", trusted=True" if version.flavor == modelio.PICKLE else ""
    meta = (', meta={"transformers": {"architecture": "' + version.model_class.rpartition(".")[2]
            + '", "files": {"config.json": Path("pretrained/config.json").read_text()}}}'
            if version.flavor == modelio.TRANSFORMERS else "")
    inputs = (version.signature or {}).get("inputs") or []
    if inputs and any("shape" in i for i in inputs):  # tensors: shapes, -1 where any size goes
        rows = "\n".join(f"| `{i['name']}` | `{i['dtype']}` | `{i.get('shape')}` |" for i in inputs)
        columns = f"""The model takes these tensors (-1: any size, the first axis is the batch):

| input | dtype | shape |
|---|---|---|
{rows}"""
    elif inputs:
        rows = "\n".join(f"| `{i['name']}` | `{i['dtype']}` |" for i in inputs)
        columns = f"""The model expects these input columns, in this order:

| column | dtype |
|---|---|
{rows}

```python
import pandas as pd

rows = [...]  # records as dicts, or lists of values in the column order
X = pd.DataFrame(rows, columns={[i['name'] for i in inputs]!r})
model.predict(X)
```"""
    else:
        columns = "No input signature was recorded for this model: pass the columns it was trained on."
    pins = ("`requirements.txt` pins the versions the model was trained with (Python " f"{python})."
            if pinned_from_run else "The training run recorded no environment, so `requirements.txt` "
            "pins the versions installed when the model was exported: they may differ from training.")
    return f"""# {version.name} v{version.version}

`{version.model_class}`, exported from nbmlops (`{version.uri}`, run `{version.run_id}`).
`model.json` says where it came from; `signature.json` holds its input signature.

## Install

{pins}

```sh
pip install -r requirements.txt
```

## Load it without nbmlops

{plain}

Check the file first: its SHA-256 must be `{version.sha256}` (`sha256sum {filename}`).

## Load it with nbmlops

```python
from pathlib import Path
from nbmlops.registry import serialization

model = serialization.load(Path("{filename}").read_bytes(), "{version.flavor}"{trust}{meta})
```

`modelio.load` refuses pickles and types outside scikit-learn/NumPy/SciPy unless `trusted=True`.
From the store it was registered in: `nbmlops.load_model("{version.uri}")`.

## Input

{columns}
"""
