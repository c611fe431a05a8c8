"""`nbmlops import mlflow URI`: an MLflow tracking store's history, brought into a store in one command.

Reads experiments, runs, params, tags, every metric point, dataset inputs, artifacts and registered
model versions with MLflow's own client (an optional extra: `pip install 'nbmlops[mlflow]'`), writes
them as the tables a bundle holds and merges them through the bundle merge, in one transaction:
a run new here is added, a run that went on in MLflow (it was RUNNING here, or has more points) is
replaced, anything else is left as it is. So importing again adds nothing; the runs it would leave
unchanged are not even read again (`_settler`), so a second import costs little. Artifact files are
stored first (content-addressed: a file already here is not stored twice); if anything fails
before the merge, the catalog is untouched.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from nbmlops.errors import InvalidInputError, NbmlopsError, StoreError
from nbmlops.importers.mlflow import files as mlfiles
from nbmlops.importers.mlflow import source as mlsource
from nbmlops.importers.mlflow import tables as mltables
from nbmlops.store import bundles
from nbmlops.store.folder import Store
from nbmlops.units import counted

__all__ = ["MlflowImportReport", "import_mlflow"]
INSTALL = "pip install 'nbmlops[mlflow]'"


@dataclass(frozen=True)
class MlflowImportReport:
    """What importing from an MLflow store brought over and changed."""

    uri: str
    experiments: int
    runs_added: int
    runs_updated: int
    runs_unchanged: int
    metric_points: int  # points written (of the runs added or updated)
    artifacts_added: int  # files new to the store
    model_versions_added: int
    skipped: tuple[str, ...] = ()  # what could not come over, one line each

    @property
    def runs(self) -> int:
        return self.runs_added + self.runs_updated + self.runs_unchanged

    def summary(self) -> str:
        """The report in one line, as the CLI prints it."""
        text = (f"imported {counted(self.experiments, 'experiment')}, {counted(self.runs, 'run')} "
                f"({self.runs_added:,} new, {self.runs_updated:,} updated, {self.runs_unchanged:,} unchanged), "
                f"{counted(self.metric_points, 'metric point')}, {counted(self.artifacts_added, 'artifact')}, "
                f"{counted(self.model_versions_added, 'model version')} from {self.uri}")
        return text + (f"; skipped {len(self.skipped)} (see the lines above)" if self.skipped else "")


def import_mlflow(store: Store, uri: str | os.PathLike[str], experiments: str | list[str] | None = None, *,
                  progress: bool = False, unpickle: bool = True) -> MlflowImportReport:
    """Bring the runs of an MLflow store (all experiments, or those named) into `store`; idempotent.
    `unpickle=False`: a store not trusted to run code here; its pickled models stay files, unregistered.

    >>> import_mlflow(store, "sqlite:///mlflow.db", experiments=["churn"]).summary()
    """
    if importlib.util.find_spec("mlflow") is None:
        raise NbmlopsError(f"importing from MLflow needs the mlflow package, which is not installed here: {INSTALL}")
    names = _names(experiments)
    checked = mlsource.tracking_uri(uri)
    label = os.fspath(uri)
    with mlsource.quick_failures(), _mlflow_errors(label):
        from mlflow.tracking import MlflowClient

        client = MlflowClient(tracking_uri=checked, registry_uri=checked)
        with _bar(progress and not mlsource.is_database(checked), "reading MLflow runs") as tick:  # bulk: no bar
            read = mlsource.read(client, checked, names, _settler(store), tick)
        found = mlfiles.Files()
        with _bar(progress, "artifacts", len(read.runs)) as tick:
            mlfiles.run_artifacts(store, checked, read.runs, found, checked.startswith("file:"), tick)
        mlfiles.logged_models(store, client, checked, read.runs, found)
        every = set(read.runs["run_id"]) | set(read.settled["run_id"])
        mlfiles.model_versions(store, client, checked, every, names is None, found, unpickle)
    if found.tags:
        extra = pd.DataFrame(found.tags, columns=["run_id", "key", "value"])
        extra = extra[extra["run_id"].isin(set(read.runs["run_id"]))]  # settled runs keep their tags
        read.tags = pd.concat([read.tags, extra], ignore_index=True).drop_duplicates(["run_id", "key"], keep="last")
    with tempfile.TemporaryDirectory(prefix="nbmlops-mlflow-import-") as tmp:
        folder = Path(tmp)
        mltables.write_run_tables(read, found.frame(), folder)
        if found.versions:
            _write_models(found, folder)
        merged = bundles.merge_tables(store, folder, found.added)
    experiments_with_runs = set(read.runs["experiment_id"]) | set(read.settled["experiment_id"])
    return MlflowImportReport(label, len(experiments_with_runs), merged.runs_added, merged.runs_updated,
                              merged.runs_unchanged + len(read.settled), merged.metric_points, found.added,
                              merged.models_added, tuple(found.skipped))


def _settler(store: Store) -> mlsource.Settle:
    """The runs the merge would leave unchanged (ended here, and no more points in MLflow, where the
    source can count them cheaply): their params, tags, points and artifacts are not read again."""
    def settle(runs: pd.DataFrame) -> set[str]:
        ours = {r: mltables.run_id_for(r) for r in runs["run_id"]}
        states = bundles.run_states(store, list(ours.values()))
        settled = set()
        for rid, status, points in zip(runs["run_id"], runs["status"], runs["points"], strict=True):
            here = states.get(ours[rid])
            if here is None:
                continue
            mapped = mltables.STATUS.get(status, "FINISHED")
            if points is None and mapped == "RUNNING":
                continue  # uncounted points of a live run: read it (the merge takes any new ones)
            there = here[1] if points is None else int(points)  # uncounted, of an ended run: as here
            if bundles.merge_action(mapped, None, there, True, here[0], None, here[1]) == "same":
                settled.add(rid)
        return settled

    return settle


def _names(experiments: str | list[str] | None) -> list[str] | None:
    if experiments is None:
        return None
    given = [experiments] if isinstance(experiments, str) else list(experiments)
    if not given:
        return None
    if not all(isinstance(n, str) and n.strip() for n in given):
        raise InvalidInputError("experiments must be MLflow experiment names (non-empty text)")
    return given


def _write_models(found: mlfiles.Files, folder: Path) -> None:
    version_columns = ["name", "version", "run_id", "artifact_path", "sha256", "size", "flavor", "model_class",
                       "signature_json", "created_at", "user_name"]
    tables = {
        "registered_models": pd.DataFrame(found.models, columns=["name", "created_at", "description"]),
        "model_versions": pd.DataFrame(found.versions, columns=version_columns),
        "model_aliases": pd.DataFrame(found.aliases, columns=["name", "alias", "version", "updated_at"]),
        "alias_audit": pd.DataFrame(found.audit, columns=["changed_at", "user_name", "name", "alias", "from_version",
                                                          "to_version", "reason", "gate", "gate_outcome"]),
    }
    for table, frame in tables.items():
        ints = [c for c in ("version", "size", "from_version", "to_version") if c in frame]
        mltables.write_table(folder, table, frame.astype({c: "Int64" for c in ints}))


@contextmanager
def _mlflow_errors(label: str) -> Iterator[None]:
    """MLflow's and the network's failures as one line naming the store (a StoreError: the source cannot
    be used as it is)."""
    try:
        yield
    except NbmlopsError:
        raise
    except Exception as exc:
        kind = type(exc).__name__
        if kind in ("MlflowException", "RestException") or "Connection" in kind or isinstance(exc, OSError):
            detail = " ".join(str(getattr(exc, "message", exc)).split())[:240]
            if "Connection" in kind or "Max retries" in detail or "Connection refused" in detail:
                raise StoreError(f"cannot reach the MLflow server at {label}: start it, or check the "
                                        "address; nothing was imported") from None
            raise StoreError(f"cannot read the MLflow store at {label}: {detail}; nothing was imported") \
                from None
        raise


@contextmanager
def _bar(show: bool, desc: str, total: int | None = None) -> Iterator[Callable[[int], Any] | None]:
    """A tqdm progress bar on a terminal (tqdm is optional), else nothing."""
    if not (show and sys.stderr.isatty() and importlib.util.find_spec("tqdm")):
        yield None
        return
    from tqdm import tqdm

    bar = tqdm(total=total, desc=desc, unit="run", file=sys.stderr, dynamic_ncols=True, leave=False)
    try:
        yield bar.update
    finally:
        bar.close()
