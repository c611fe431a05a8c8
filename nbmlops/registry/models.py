"""The model registry: numbered versions of named models, aliases, gated promotion, audit log.

Registry changes are rare and must be exact across processes (two processes registering a
version of the same model must get different numbers; two promotions of one alias must both be
recorded), so unlike tracking they are written straight into the catalog, each in one DuckDB
transaction while the catalog's file lock serializes them across processes.

MLflow users: their Staging/Production *stages* are aliases here (`promote(name, v, "staging")`,
`load_model("name@production")`); any alias name works, and each points to exactly one version.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import warnings
from typing import Any

import pandas as pd

from nbmlops.drift.reference import TRAINING_DATA, ReferenceProfile, as_frame, build_profile, feature_names
from nbmlops.entities import ModelVersion
from nbmlops.errors import GateFailedError, InvalidInputError, NotFoundError
from nbmlops.query.gates import Facts, GateResult, evaluate_gate
from nbmlops.registry import serialization as modelio
from nbmlops.store import models as tables
from nbmlops.store.backend import Connection
from nbmlops.store.folder import Store
from nbmlops.store.runs import resolve_run_id, run_attributes
from nbmlops.tracking import validation
from nbmlops.tracking.tracker import Tracker, current_user

# Set by a sweep for its children's kernels: `log_model(model, NAME)` keeps the model as an artifact
# of the run and tags it, and the sweep registers only its best child's model (`register_logged`).
DEFER_REGISTRATION_ENV = "NBMLOPS_DEFER_REGISTRATION"
DEFERRED = "deferred: the sweep registers its best child's model"
_ALIAS = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,62}")
_NAME = re.compile(r"[^\s@/:][^@/:]{0,199}")


def model_name(name: object) -> str:
    """A registered model name: printable, without '@', '/' or ':' (they separate URI parts)."""
    if not isinstance(name, str) or not _NAME.fullmatch(name) or not name.isprintable():
        raise InvalidInputError(
            f"model name {name!r} must be 1-200 printable characters without '@', '/' or ':'")
    return name


def alias_name(alias: object) -> str:
    """An alias: a letter, then letters, digits, '_' or '-' (e.g. production, staging, champion-2)."""
    if not isinstance(alias, str) or not _ALIAS.fullmatch(alias):
        raise InvalidInputError(f"alias {alias!r} must start with a letter and use letters, digits, _ or -")
    return alias


def signature_of(example: Any) -> dict[str, Any]:
    """Input columns and dtypes from an example (DataFrame, dict of columns, or 2-D array)."""
    if isinstance(example, pd.DataFrame):
        return {"inputs": [{"name": str(c), "dtype": str(t)} for c, t in example.dtypes.items()]}
    if isinstance(example, dict):
        return signature_of(pd.DataFrame(example))
    shape = getattr(example, "shape", None)
    if shape is not None and len(shape) == 2:
        return {"inputs": [{"name": str(i), "dtype": str(example.dtype)} for i in range(shape[1])]}
    raise InvalidInputError("input_example must be a DataFrame, a dict of columns or a 2-D array")


def log_model(tracker: Tracker, model: object, name: str | None = None, *,
              input_example: Any = None, signature: dict[str, Any] | None = None,
              reference_data: Any = None) -> ModelVersion:
    """Store `model` with the active run; with `name`, register it as that model's next version.

    The version keeps a profile of its training data for monitoring: of `reference_data`, else of
    the newest in-memory training data (role train) this process logged for the run. In a sweep's
    child run the version is not registered (version 0): the sweep registers its best child's.
    """
    registered = model_name(name) if name is not None else None
    sig = signature if signature is not None else (signature_of(input_example) if input_example is not None else None)
    if sig is not None and not _valid_signature(sig):
        raise InvalidInputError("signature must look like {'inputs': [{'name': 'age', 'dtype': 'int64'}, ...]}")
    if reference_data is not None:
        as_frame(reference_data, "reference_data")  # checked before anything is stored
    stored = modelio.log_model_artifact(tracker, model, registered or "model")
    run_id = stored.run_id
    reference = _store_reference(tracker, model, registered, run_id, reference_data) if registered else None
    deferred = registered is not None and os.environ.get(DEFER_REGISTRATION_ENV) == "1"
    if deferred:
        if sig is not None:
            tracker.put_bytes(json.dumps(sig).encode(), f"models/{registered}/signature.json")
        tracker.set_tags({f"model.{registered}.registration": DEFERRED})
    tracker.flush()  # the run and its datasets reach the catalog in the transaction below
    with tracker.store.reading() as con:
        now = _now()
        if sig is None:
            sig = _signature_from_training_data(con, run_id)
            known = modelio.signature(model)  # a booster knows its inputs: the training data must match them
            if known is not None and (sig is None or _names(sig) != _names(known)):
                sig = known
        version = 0
        if registered is not None and not deferred:
            version = _insert_version(tracker.store, registered, run_id, stored.path, stored.sha256, stored.size,
                                      stored.flavor, stored.model_class, sig,
                                      (reference[0], reference[1].rows, len(reference[1].columns))
                                      if reference is not None else None, now)
    if version:
        tracker.set_tags({f"model.{registered}.version": str(version)})
    return ModelVersion(registered or "model", version, run_id, stored.flavor, stored.model_class,
                        stored.sha256, stored.size, stored.path,
                        now.replace(tzinfo=dt.timezone.utc), current_user(), sig)


def _insert_version(store: Store, name: str, run_id: str, path: str, sha256: str, size: int,
                    flavor: str, model_class: str, sig: dict[str, Any] | None,
                    reference: tuple[str, int, int] | None, now: dt.datetime) -> int:
    """Register the next version of `name` (and its reference profile) in one transaction."""
    def register(con: Connection) -> int:
        version = tables.add_version(con, name, run_id=run_id, artifact_path=path, sha256=sha256, size=size,
                                     flavor=flavor, model_class=model_class,
                                     signature_json=json.dumps(sig) if sig else None, created_at=now,
                                     user=current_user())
        if reference is not None:
            tables.record_reference(con, name, version, *reference, now)
        return version

    return store.write(register)


def deferred_models(store: Store, run_id: str) -> list[str]:
    """Names of the models a sweep child logged for registration and that are not registered yet."""
    with store.reading() as con:
        tags = tables.run_tags(con, run_id)
    names = [k[len("model."):-len(".registration")] for k, v in tags.items()
             if k.startswith("model.") and k.endswith(".registration") and v == DEFERRED]
    return sorted(n for n in names if f"model.{n}.version" not in tags)


def register_logged(store: Store, run_id: str, name: str) -> ModelVersion:
    """Register the model that run `run_id` logged as `name` (kept back in a sweep) as `name`'s next version."""
    model_name(name)
    with store.reading() as con:
        logged = _from_run(con, store, f"{run_id}/{name}")
        logged_run = str(logged.run_id)  # a model found through its run always has one
        sig_sha = tables.artifact_sha256(con, logged_run, f"models/{name}/signature.json")
        sig = json.loads(store.read_verified(sig_sha, f"the signature of {name}")) if sig_sha else \
            _signature_from_training_data(con, logged_run)
        ref_sha = tables.artifact_sha256(con, logged_run, f"models/{name}/reference.json")
        reference = None
        if ref_sha:
            profile = ReferenceProfile.from_bytes(store.read_verified(ref_sha, f"the reference profile of {name}"))
            reference = (ref_sha, profile.rows, len(profile.columns))
        version = _insert_version(store, name, logged_run, logged.artifact_path, logged.sha256, logged.size,
                                  logged.flavor, logged.model_class, sig, reference, _now())
        return _version(con, name, version)


def _store_reference(tracker: Tracker, model: object, name: str, run_id: str,
                     data: Any) -> tuple[str, ReferenceProfile] | None:
    """Profile the model's training data and store it as `models/<name>/reference.json` of the run.

    When no training frame of the run holds the model's input columns (features made outside the
    model), the newest training frame as logged is profiled for data drift, without predictions.
    """
    predictions = True
    if data is None:
        data = TRAINING_DATA.for_model(run_id, model)
        if data is None:
            data = next(TRAINING_DATA.newest_first(run_id), None)
            if data is None:
                return None
            predictions = False
            wanted = feature_names(model)
            needs = f"the model's input columns ({_few(wanted)})" if wanted else \
                f"the model's {getattr(model, 'n_features_in_', '?')} input columns"
            warnings.warn(f"model {name!r}: no training data of the run holds {needs}, so its reference "
                          "profiles the training frame as logged: data drift is monitored, prediction drift "
                          "is not (pass reference_data= with the model's inputs for both)", stacklevel=4)
    profile = build_profile(data, model, predictions=predictions)
    sha, size = tracker.store.put_bytes(profile.to_bytes())
    tracker.emit("artifact", {"path": f"models/{name}/reference.json", "sha256": sha, "size": size})
    return sha, profile


def _few(names: list[str]) -> str:
    return ", ".join(names[:5]) + (f", ... {len(names)} in all" if len(names) > 5 else "")


def _valid_signature(sig: Any) -> bool:
    return isinstance(sig, dict) and isinstance(sig.get("inputs"), list) and all(
        isinstance(i, dict) and isinstance(i.get("name"), str) and isinstance(i.get("dtype"), str)
        for i in sig["inputs"])


def _names(sig: dict[str, Any]) -> list[str]:
    return [i["name"] for i in sig["inputs"]]


def _signature_from_training_data(con: Connection, run_id: str) -> dict[str, Any] | None:
    """Columns of the last tabular dataset the run logged with role train, if any."""
    text = tables.training_schema_json(con, run_id)
    if not text:
        return None
    schema = json.loads(text)
    return {"inputs": [{"name": k, "dtype": v} for k, v in schema.items()]} if schema else None


# -- resolving and loading ---------------------------------------------------------------

def resolve(store: Store, uri: str) -> ModelVersion:
    """The model version a URI names: `name@alias`, `name/3`, `name` (latest) or `run:<id>[/name]`."""
    if not isinstance(uri, str) or not uri.strip():
        raise InvalidInputError("model URI must be name@alias, name/VERSION, name or run:RUN_ID")
    uri = uri.strip()
    with store.reading() as con:
        if uri.startswith("run:"):
            return _from_run(con, store, uri[4:])
        if "@" in uri:
            name, alias = uri.split("@", 1)
            target = tables.alias_target(con, model_name(name), alias_name(alias))
            if target is None:
                known = tables.aliases_of(con, name)
                raise NotFoundError(f"model {name!r} has no alias {alias!r}"
                                    + (f"; its aliases: {', '.join(known)}" if known else
                                       f": promote a version with `nbmlops promote {name} VERSION {alias}`"))
            return _version(con, name, target)
        if "/" in uri:
            name, number = uri.rsplit("/", 1)
            if not number.isdigit():
                raise InvalidInputError(f"{uri!r}: the version after '/' must be a number")
            return _version(con, model_name(name), int(number))
        latest = tables.latest_version(con, model_name(uri))
        if latest is None:
            raise NotFoundError(f"no registered model {uri!r}: see `nbmlops models`")
        return _version(con, uri, latest)


def _version(con: Connection, name: str, version: int) -> ModelVersion:
    """The registered version, or NotFoundError saying which versions there are."""
    found = tables.model_version(con, name, version)
    if found is None:
        latest = tables.latest_version(con, name)
        if latest is None:
            raise NotFoundError(f"no registered model {name!r}: see `nbmlops models`")
        raise NotFoundError(f"model {name!r} has versions 1 to {latest}, not {version}")
    return found


def _from_run(con: Connection, store: Store, spec: str) -> ModelVersion:
    run_part, _, model = spec.partition("/")
    rid = resolve_run_id(con, run_part)
    files = tables.model_files(con, rid)
    if model:
        files = [f for f in files if f.path.split("/")[1] == model]
    if not files:
        raise NotFoundError(f"run {rid} logged no model{f' named {model!r}' if model else ''}")
    path, sha, size, created = files[0]
    flavor = modelio.flavor_of_file(path)
    meta = _meta(con, store, rid, path)
    return ModelVersion(path.split("/")[1], 0, rid, flavor, str(meta.get("class", "")), sha, size,
                        path, created.replace(tzinfo=dt.timezone.utc), None, None, [], tables.run_metrics(con, rid))


def _meta(con: Connection, store: Store, run_id: str, model_path: str) -> dict[str, Any]:
    """The `meta.json` stored beside a model file ({} when missing or unreadable)."""
    suffix = "/" + modelio.FILES[modelio.flavor_of_file(model_path)]  # may hold a folder: pretrained/model...
    folder = model_path.removesuffix(suffix) if model_path.endswith(suffix) else model_path.rsplit("/", 1)[0]
    sha = tables.artifact_sha256(con, run_id, folder + "/meta.json")
    if not sha:
        return {}
    try:
        meta = json.loads(store.read_verified(sha, f"the meta.json of {model_path}"))
    except (OSError, ValueError):
        return {}
    return meta if isinstance(meta, dict) else {}


def read_verified(store: Store, version: ModelVersion) -> bytes:
    """The model file's bytes, after checking them against the hash they were stored under."""
    return store.read_verified(version.sha256, f"the file of model {version.uri}")


def load_model(store: Store, uri: str, *, trusted: bool = False, model_class: Any = None) -> Any:
    """Load a model by URI after verifying its content hash (`model_class`: see `serialization.load`)."""
    version = resolve(store, uri)
    return modelio.load(read_verified(store, version), version.flavor, trusted=trusted,
                        label=f"model {uri!r}", meta=model_meta(store, version), model_class=model_class)


def model_meta(store: Store, version: ModelVersion) -> dict[str, Any]:
    """The `meta.json` beside a version's model file, for the flavors whose loader reads it ({} otherwise)."""
    if version.flavor in (modelio.SKOPS, modelio.PICKLE) or not version.run_id:
        return {}
    with store.reading() as con:
        return _meta(con, store, version.run_id, version.artifact_path)


# -- aliases and promotion ---------------------------------------------------------------
def _facts(con: Connection, name: str, version: int) -> Facts:
    found = _version(con, name, version)
    return Facts(metrics=found.metrics, params=tables.run_params(con, found.run_id),
                 tags=tables.run_tags(con, found.run_id), version=version,
                 attributes=run_attributes(con, found.run_id) if found.run_id else {})


def _check_target(name: str, version: int, alias: str) -> None:
    model_name(name)
    alias_name(alias)
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise InvalidInputError(f"version must be a positive integer, got {version!r}")


def check_promotion(store: Store, name: str, version: int, alias: str = "production", *,
                    gate: str | None = None) -> tuple[int | None, GateResult | None]:
    """What promoting `version` to `alias` would do: the current holder and the gate's outcome; changes nothing."""
    _check_target(name, version, alias)
    with store.reading() as con:
        return _against_holder(con, name, version, alias, gate)


def _against_holder(con: Connection, name: str, version: int, alias: str,
                    gate: str | None) -> tuple[int | None, GateResult | None]:
    """The version `alias` points at now, and `gate` evaluated for `version` against it."""
    if not gate:  # only that the version exists (each query is a round trip on a team store)
        if not tables.has_version(con, name, version):
            _version(con, name, version)  # says which versions there are
        return tables.alias_target(con, name, alias), None
    candidate = _facts(con, name, version)
    current = tables.alias_target(con, name, alias)
    champion = _facts(con, name, current) if current is not None else None
    return current, evaluate_gate(gate, candidate, champion)


def promote(store: Store, name: str, version: int, alias: str = "production", *,
            gate: str | None = None, reason: str | None = None) -> GateResult | None:
    """Point `alias` at `version` if `gate` passes against the current holder; audited."""
    _check_target(name, version, alias)
    if reason is not None and (not isinstance(reason, str) or len(reason) > validation.MAX_VALUE_LENGTH):
        raise InvalidInputError("reason must be text of at most 8000 characters")
    def move(con: Connection) -> GateResult | None:
        now = _now()  # taken while holding the catalog: audit order is commit order
        current, result = _against_holder(con, name, version, alias, gate)
        if result is not None and not result.passed:
            raise GateFailedError(result)
        tables.set_alias(con, name, alias, version, now)
        tables.record_alias_change(con, now, current_user(), name, alias, current, version, reason=reason,
                                   gate=gate, gate_outcome=result.explanation if result else None)
        return result

    return store.write(move)


def unalias(store: Store, name: str, alias: str, *, reason: str | None = None) -> None:
    """Remove an alias (audited); the version itself stays."""
    model_name(name)
    alias_name(alias)
    def drop(con: Connection) -> None:
        now = _now()
        removed = tables.drop_alias(con, name, alias)
        if removed is None:
            raise NotFoundError(f"model {name!r} has no alias {alias!r}")
        tables.record_alias_change(con, now, current_user(), name, alias, removed, None, reason=reason)

    store.write(drop)


# -- listings ------------------------------------------------------------------------------
def models(store: Store) -> pd.DataFrame:
    """Registered models: latest version, version count, aliases, last change."""
    with store.reading() as con:
        df = tables.models_table(con)
    return _utc(df, "created_at", "updated_at")


def model_versions(store: Store, name: str) -> pd.DataFrame:
    """Versions of one model, newest first: run, aliases, class, created, and the run's metrics."""
    model_name(name)
    with store.reading() as con:
        df = tables.versions_table(con, name)
        if df.empty:
            raise NotFoundError(f"no registered model {name!r}: see `nbmlops models`")
        metrics = tables.version_metrics(con, name)
    if not metrics.empty:
        wide = metrics.pivot(index="version", columns="key", values="value").add_prefix("metrics.")
        df = df.join(wide, on="version")
    return _utc(df, "created_at")


def history(store: Store, name: str) -> pd.DataFrame:
    """The audit log of a model's aliases, oldest first."""
    model_name(name)
    with store.reading() as con:
        df = tables.alias_history(con, name)
    return _utc(df, "changed_at")


def _utc(df: pd.DataFrame, *columns: str) -> pd.DataFrame:
    for column in columns:
        df[column] = pd.to_datetime(df[column]).dt.tz_localize("UTC")
    return df


def _now() -> dt.datetime:
    """Now, as the naive UTC timestamp the catalog stores."""
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
