"""Run artifacts and registered model versions of an MLflow store, as content-addressed files here.

A run's artifacts are read from its artifact folder when that is local (walked directly: no request
per run), else downloaded through MLflow's artifact repositories; so are the models it logged, which
MLflow 3 keeps beside the run (`mlflow-models/<name>/<model id>/` here). Each file is stored once by its
sha256, as nbmlops stores every artifact; a file that cannot be read is skipped and named in the
report, and so is a file-store run whose artifact folder is gone.

Registered model versions: a scikit-learn model (flavor `sklearn` in its MLmodel file) is stored
with skops under `models/<name>/` in its run, beside a `meta.json`, so that
`load_model("name@production")` loads it here without pickle. MLflow 3 saves scikit-learn models
with skops already: that file is kept as it is once nbmlops's own allowlist (`registry.trust`) loads
it, else the version is not registered and the report says why. A pickled model is loaded with
MLflow once, which UNPICKLES it, and written with skops. MLflow's own files are kept under
`mlflow-models/<name>/<version>/`; a version of another flavor is kept as those files only, not
registered. MLflow stages Staging and Production become the aliases `staging` and `production`;
MLflow aliases stay aliases. A version already imported (same model, run
and creation time) is reused, not converted again.

The store being imported is not trusted with this machine's files: the folders it names are read only
where MLflow keeps artifacts (a path with an `artifacts` folder in it, so a row pointing at `~/.ssh`
or `/etc` reads nothing), and links inside them are not followed (named in the report instead).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import pandas as pd

from nbmlops.errors import InvalidInputError, NotFoundError, UntrustedModelError
from nbmlops.importers.mlflow.tables import run_id_for
from nbmlops.registry import models as registry
from nbmlops.registry import serialization as modelio
from nbmlops.store import models as catalog_models
from nbmlops.store import runs as runs_catalog
from nbmlops.store.folder import Store, file_sha256

STAGES = {"Production": "production", "Staging": "staging"}
ARTIFACT_COLUMNS = ["run_id", "path", "sha256", "size", "created_at"]


@dataclass
class Files:
    """Artifact rows, model tables and what was skipped, as the import collects them."""

    artifacts: list[tuple[str, str, str, int, dt.datetime]] = field(default_factory=list)
    added: int = 0  # files new to the store
    skipped: list[str] = field(default_factory=list)
    tags: list[tuple[str, str, str]] = field(default_factory=list)  # (MLflow run id, key, value)
    models: list[dict[str, Any]] = field(default_factory=list)
    versions: list[dict[str, Any]] = field(default_factory=list)
    aliases: list[dict[str, Any]] = field(default_factory=list)
    audit: list[dict[str, Any]] = field(default_factory=list)

    def frame(self) -> pd.DataFrame:
        rows = pd.DataFrame(self.artifacts, columns=ARTIFACT_COLUMNS)
        return rows.drop_duplicates(["run_id", "path"], keep="last")

    def store_file(self, store: Store, path: Path, run_id: str | None, name: str, at: dt.datetime) -> tuple[str, int]:
        sha = file_sha256(path)
        self.added += not store.has(sha)
        sha, size = store.put_file(path)
        if run_id is not None:
            self.artifacts.append((run_id, name, sha, size, at))
        return sha, size


def run_artifacts(store: Store, uri: str, runs: pd.DataFrame, files: Files, file_store: bool,
                  progress: Callable[[int], None] | None = None) -> None:
    """Store every artifact file of `runs` (MLflow's rows) and list them for their runs here."""
    for mlflow_id, start, artifact_uri in zip(runs["run_id"], runs["start_time"], runs["artifact_uri"], strict=True):
        ours, at = run_id_for(str(mlflow_id)), _time(start)
        folder = _local_folder(artifact_uri)
        try:
            if folder is not None:
                if folder.is_dir():
                    if _artifact_folder(folder, f"run {mlflow_id}", files):
                        _store_tree(store, folder, ours, "", at, files)
                elif file_store:  # a file store makes the folder with the run: it was removed since
                    files.skipped.append(f"run {mlflow_id}: its artifact folder {folder} is missing")
            elif artifact_uri:
                _download_tree(store, uri, str(artifact_uri), ours, "", at, files, f"run {mlflow_id}")
        finally:
            if progress:
                progress(1)


def logged_models(store: Store, client: Any, uri: str, runs: pd.DataFrame, files: Files) -> None:
    """The files of the models `runs` logged (MLflow 3 keeps them beside the run, not in its
    artifacts), under `mlflow-models/<name>/<model id>/` in their run."""
    search = getattr(client, "search_logged_models", None)  # MLflow 3 and later
    experiments = sorted({str(e) for e in runs["experiment_id"]})
    if search is None or not experiments:
        return
    wanted = set(runs["run_id"])
    starts = dict(zip(runs["run_id"], runs["start_time"], strict=True))
    try:
        found = _pages(lambda **page: search(experiment_ids=experiments, **page))
    except Exception:  # a store without logged models (older schema, file store): nothing to bring
        return
    for model in found:
        if model.source_run_id not in wanted or not model.artifact_location:
            continue
        ours, at = run_id_for(model.source_run_id), _time(starts[model.source_run_id])
        prefix = f"mlflow-models/{model.name}/{model.model_id}/"
        folder = _local_folder(model.artifact_location)
        if folder is not None:
            if not _artifact_folder(folder, f"model {model.name!r} ({model.model_id}) of run {model.source_run_id}",
                                    files):
                continue
            if folder.is_dir():
                _store_tree(store, folder, ours, prefix, at, files)
            else:
                files.skipped.append(f"model {model.name!r} ({model.model_id}) of run {model.source_run_id}: its "
                                     f"folder {folder} is missing")
        else:
            _download_tree(store, uri, model.artifact_location, ours, prefix, at, files,
                           f"model {model.name!r} ({model.model_id}) of run {model.source_run_id}")


def _store_tree(store: Store, folder: Path, run_id: str | None, prefix: str, at: dt.datetime, files: Files) -> None:
    for root, dirs, names in os.walk(folder):  # links to folders are listed, not walked into
        for name in sorted([*names, *(d for d in dirs if (Path(root) / d).is_symlink())]):
            path = Path(root) / name
            relative = prefix + path.relative_to(folder).as_posix()
            if path.is_symlink():
                files.skipped.append(f"artifact {relative} of run {run_id} is a link: not followed")
                continue
            try:
                files.store_file(store, path, run_id, relative, at)
            except OSError as exc:
                files.skipped.append(f"artifact {relative} of run {run_id}: {exc.strerror or exc}")


def _download_tree(store: Store, uri: str, artifact_uri: str, run_id: str | None, prefix: str, at: dt.datetime,
                   files: Files, label: str) -> bool:
    import mlflow.artifacts

    if not _local_source(artifact_uri, label, files):
        return False
    with tempfile.TemporaryDirectory(prefix="nbmlops-mlflow-") as tmp:
        try:
            local = mlflow.artifacts.download_artifacts(artifact_uri=artifact_uri, dst_path=tmp, tracking_uri=uri)
        except Exception as exc:  # MLflow's errors for a missing or unreadable location vary by repository
            files.skipped.append(f"{label}: its artifacts at {artifact_uri} could not be read "
                                 f"({' '.join(str(exc).split())[:160]})")
            return False
        path = Path(local)
        if path.is_file():
            files.store_file(store, path, run_id, prefix + path.name, at)
        else:
            _store_tree(store, path, run_id, prefix, at, files)
    return True


def _artifact_folder(folder: Path, label: str, files: Files) -> bool:
    """Whether a local folder the MLflow store names may be read: one where MLflow keeps artifacts."""
    if "artifacts" in folder.resolve().parts:
        return True
    files.skipped.append(f"{label}: its artifact location {folder} is not an MLflow artifact folder "
                         "(no 'artifacts' folder in its path): not read")
    return False


def _local_source(location: str, label: str, files: Files) -> bool:
    """Whether MLflow may copy from `location`: anything remote; a local folder only if it is an artifact
    folder without links in it (MLflow's copy would follow them)."""
    folder = _local_folder(location)
    if folder is None or not folder.exists():
        return True  # remote, or missing: MLflow says which
    if not _artifact_folder(folder, label, files):
        return False
    inside = [folder, *folder.rglob("*")] if folder.is_dir() else [folder]
    links = [p for p in inside if p.is_symlink()]
    if links:
        files.skipped.append(f"{label}: {links[0]} is a link, not followed: not imported")
        return False
    return True


def _local_folder(artifact_uri: str | None) -> Path | None:
    if not artifact_uri:
        return None
    parsed = urlparse(artifact_uri)
    if parsed.scheme == "file":
        return Path(unquote(parsed.path))
    return Path(artifact_uri) if not parsed.scheme or len(parsed.scheme) == 1 else None  # C:\ on Windows


def _time(ms: Any) -> dt.datetime:
    return dt.datetime(1970, 1, 1) + dt.timedelta(milliseconds=int(ms)) if ms is not None and ms == ms \
        else dt.datetime(1970, 1, 1)


# -- the model registry --------------------------------------------------------------------------
def model_versions(store: Store, client: Any, uri: str, runs: set[str], everything: bool, files: Files,
                   unpickle: bool = True) -> None:
    """Registered models and the versions of `runs` (or with no run, when importing `everything`)."""
    models = {m.name: m for m in _pages(client.search_registered_models)}
    versions = [v for v in _pages(client.search_model_versions)
                if (v.run_id in runs) or (not v.run_id and everything)]
    seen_models: set[str] = set()
    for version in sorted(versions, key=lambda v: (v.name, int(v.version))):
        try:
            registry.model_name(version.name)
        except InvalidInputError as exc:
            files.skipped.append(f"model {version.name!r} version {version.version}: {exc}")
            continue
        if not _one_version(store, client, uri, version, files, unpickle):
            continue
        if version.name not in seen_models:
            seen_models.add(version.name)
            found = models.get(version.name)
            files.models.append({"name": version.name, "created_at": _time(
                getattr(found, "creation_timestamp", None) or version.creation_timestamp),
                "description": getattr(found, "description", None) or None})
    _aliases(versions, models, files)


def _one_version(store: Store, client: Any, uri: str, version: Any, files: Files, unpickle: bool) -> bool:
    name, number = version.name, int(version.version)
    ours = run_id_for(version.run_id) if version.run_id else None
    created = _time(version.creation_timestamp)
    label = f"model {name!r} version {number}"
    row = {"name": name, "version": number, "run_id": ours, "created_at": created, "user_name": version.user_id or None}
    known = _imported_before(store, name, ours, created)
    if known is not None:
        files.versions.append({**row, **known})
        if ours is not None:  # a run replaced by this import keeps the model's files listed
            _keep_listed(store, ours, (f"models/{name}/", f"mlflow-models/{name}/{number}/"), files)
        return True
    with tempfile.TemporaryDirectory(prefix="nbmlops-mlflow-model-") as tmp:
        try:
            location = client.get_model_version_download_uri(name, str(number))
        except Exception as exc:  # MLflow's errors for a missing location vary by repository
            files.skipped.append(f"{label}: its files could not be read ({' '.join(str(exc).split())[:160]})")
            return False
        if not _local_source(location, label, files):
            return False
        try:
            import mlflow.artifacts

            local = Path(mlflow.artifacts.download_artifacts(artifact_uri=location, dst_path=tmp, tracking_uri=uri))
        except Exception as exc:  # MLflow's errors for a missing location vary by repository
            files.skipped.append(f"{label}: its files could not be read ({' '.join(str(exc).split())[:160]})")
            return False
        if not (local / "MLmodel").is_file():
            files.skipped.append(f"{label}: no MLmodel file at {location}, not imported")
            return False
        _store_tree(store, local, ours, f"mlflow-models/{name}/{number}/", created, files)
        flavors, signature = _mlmodel(local / "MLmodel")
        if "sklearn" not in flavors:
            kinds = ", ".join(sorted(flavors)) or "none"
            files.skipped.append(f"{label} (flavors: {kinds}) is kept as artifacts under mlflow-models/{name}/"
                                 f"{number}/ of its run, not registered: nbmlops converts only scikit-learn models")
            return False
        try:
            converted = _converted(store, local, flavors["sklearn"], name, ours, created, signature, files, unpickle)
        except UntrustedModelError as exc:
            files.skipped.append(f"{label} is kept as artifacts under mlflow-models/{name}/{number}/ of its run, not "
                                 f"registered: {exc}")
            return False
        except Exception as exc:  # unpickling another team's model fails in as many ways as pickles can
            files.skipped.append(f"{label} could not be converted ({type(exc).__name__}: "
                                 f"{' '.join(str(exc).split())[:160]}); it is kept as artifacts under "
                                 f"mlflow-models/{name}/{number}/ of its run, not registered")
            return False
        files.versions.append({**row, **converted})
    if ours is not None:
        files.tags.append((version.run_id, f"model.{name}.version", str(number)))
    return True


def _converted(store: Store, local: Path, flavor: dict[str, Any], name: str, run_id: str | None,
               created: dt.datetime, signature: dict[str, Any] | None, files: Files, unpickle: bool) -> dict[str, Any]:
    """The scikit-learn model stored as nbmlops stores models: MLflow's skops file as it is, once nbmlops's
    own allowlist loads it; a pickled one loaded with MLflow (this unpickles it) and written with skops."""
    saved = local / str(flavor.get("pickled_model") or "model.pkl")
    if flavor.get("serialization_format") == "skops" and saved.is_file():
        data = saved.read_bytes()
        model = modelio.load(data, modelio.SKOPS, label=f"the skops file of model {name!r}")  # refuses untrusted
        kind = modelio.SKOPS
    elif not unpickle:
        raise UntrustedModelError("it is pickled, and --no-unpickle keeps pickles unopened")
    else:
        import mlflow.sklearn

        model = mlflow.sklearn.load_model(str(local))
        data, kind = modelio.dump(model)
    meta = {**modelio.describe(model), "flavor": kind}
    folder = f"models/{name}"
    path = f"{folder}/{modelio.FILES[kind]}"
    sha, size = _put(store, data, files)
    meta_sha, meta_size = _put(store, json.dumps(meta, indent=1, sort_keys=True, default=str).encode(), files)
    if run_id is not None:
        files.artifacts.extend([(run_id, path, sha, size, created),
                                (run_id, f"{folder}/meta.json", meta_sha, meta_size, created)])
    return {"artifact_path": path, "sha256": sha, "size": size, "flavor": kind, "model_class": meta["class"],
            "signature_json": json.dumps(signature) if signature else None}


def _put(store: Store, data: bytes, files: Files) -> tuple[str, int]:
    sha = hashlib.sha256(data).hexdigest()
    files.added += not store.has(sha)
    return store.put_bytes(data)


def _imported_before(store: Store, name: str, run_id: str | None, created: dt.datetime) -> dict[str, Any] | None:
    """The row of this version if an earlier import converted it already (skops files differ every time)."""
    if not store.catalog_path.exists() and not store.shared:
        return None
    with store.reading() as con:
        table = catalog_models.versions_table(con, name)
        for number, rid, at in zip(table["version"], table["run_id"], table["created_at"], strict=True):
            if (rid if isinstance(rid, str) else None) == run_id and pd.Timestamp(at) == pd.Timestamp(created):
                v = catalog_models.model_version(con, name, int(number))
                if v is not None:
                    return {"artifact_path": v.artifact_path, "sha256": v.sha256, "size": v.size, "flavor": v.flavor,
                            "model_class": v.model_class,
                            "signature_json": json.dumps(v.signature) if v.signature else None}
    return None


def _keep_listed(store: Store, run_id: str, prefixes: tuple[str, ...], files: Files) -> None:
    """List again the files under `prefixes` that an earlier import stored for run `run_id`."""
    try:
        found = runs_catalog.get_run(store, run_id)
    except NotFoundError:
        return
    files.artifacts.extend((run_id, a.path, a.sha256, a.size, a.created_at.replace(tzinfo=None))
                           for a in found.artifacts if a.path.startswith(prefixes))


def _mlmodel(path: Path) -> tuple[dict[str, dict[str, Any]], dict[str, Any] | None]:
    """The flavors an MLmodel file names (with their settings) and its input signature in nbmlops's form."""
    import yaml

    try:
        spec = yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError):
        return {}, None
    flavors = {str(f): (c if isinstance(c, dict) else {}) for f, c in (spec.get("flavors") or {}).items()}
    try:
        inputs = json.loads((spec.get("signature") or {}).get("inputs") or "null")
    except (ValueError, AttributeError):
        inputs = None
    columns = [{"name": c["name"], "dtype": c.get("type", "")} for c in inputs or []
               if isinstance(c, dict) and "name" in c]
    return flavors, ({"inputs": columns} if columns else None)


def _aliases(versions: list[Any], models: dict[str, Any], files: Files) -> None:
    """Aliases from MLflow aliases and stages (the newest version in a stage holds it), with audit rows."""
    kept = {(v["name"], v["version"]) for v in files.versions}
    by_number = {(v.name, int(v.version)): v for v in versions}
    chosen: dict[tuple[str, str], tuple[Any, str]] = {}  # (model, alias) -> (version, why)
    for v in sorted(versions, key=lambda v: int(v.version)):
        if v.current_stage in STAGES:
            chosen[(v.name, STAGES[v.current_stage])] = (v, f" (stage {v.current_stage})")
    for name, model in models.items():  # the registered model lists its aliases (search results may not)
        for alias, number in (getattr(model, "aliases", None) or {}).items():
            if (name, int(number)) in by_number:
                chosen[(name, alias)] = (by_number[(name, int(number))], "")
    for (name, alias), (v, why) in sorted(chosen.items()):
        if (name, int(v.version)) not in kept:
            continue
        try:
            registry.alias_name(alias)
        except InvalidInputError as exc:
            files.skipped.append(f"model {name!r} version {v.version}: {exc}")
            continue
        at = _time(v.last_updated_timestamp or v.creation_timestamp)
        files.aliases.append({"name": name, "alias": alias, "version": int(v.version), "updated_at": at})
        files.audit.append({"changed_at": at, "user_name": v.user_id or None, "name": name, "alias": alias,
                            "from_version": None, "to_version": int(v.version),
                            "reason": f"imported from MLflow{why}", "gate": None, "gate_outcome": None})


def _pages(search: Callable[..., Any]) -> list[Any]:
    found, token = [], None
    while True:
        page = search(max_results=1000, page_token=token)
        found.extend(page)
        token = page.token
        if not token:
            return found
