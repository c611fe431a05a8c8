"""nbmlops: experiment tracking and model management that lives in Jupyter.

    import nbmlops
    with nbmlops.start_run(experiment="churn"):
        nbmlops.log_params({"C": 0.1, "solver": "lbfgs"})
        nbmlops.log_metric("accuracy", 0.93)
    nbmlops.runs(where="metrics.accuracy > 0.9")
"""

from __future__ import annotations

import datetime as _dt
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from nbmlops.autolog.sklearn import AutologWarning, autolog, autologging
from nbmlops.data import datasets as _data
from nbmlops.data import rundiff as _rundiff
from nbmlops.data.fingerprint import DatasetInfo
from nbmlops.data.lineage import lineage as _lineage_of  # loaded first: the function below then owns the name
from nbmlops.data.rundiff import RunDiff
from nbmlops.entities import Artifact, Run, RunStatus, metric_direction
from nbmlops.errors import (
    CorruptStoreError,
    FilterSyntaxError,
    GateFailedError,
    InvalidInputError,
    KernelStartError,
    NbmlopsError,
    NoReferenceError,
    NotFoundError,
    ParamConflictError,
    StoreError,
    StoreLockedError,
    StoreVersionError,
    TamperedArtifactError,
    UnknownParameterError,
    UntrustedModelError,
)
from nbmlops.query.gates import GateResult
from nbmlops.registry import models as _registry
from nbmlops.registry.models import ModelVersion
from nbmlops.store import runs as _search
from nbmlops.store.folder import Store, open_store
from nbmlops.tracking import media as _media
from nbmlops.tracking import validation as _validation
from nbmlops.tracking.tracker import ActiveRun
from nbmlops.tracking.tracker import tracker as _tracker

if TYPE_CHECKING:
    from nbmlops.drift.report import MonitoringReport
    from nbmlops.importers.mlflow import MlflowImportReport
    from nbmlops.notebook.liveplot import LivePlot, live_plot
    from nbmlops.notebook.widgets import CompareView, RunsTable, compare, runs_table

__version__ = "0.1.0"

__all__ = [
    "ActiveRun", "Artifact", "AutologWarning", "CompareView", "CorruptStoreError", "DatasetInfo",
    "FilterSyntaxError", "GateFailedError", "GateResult", "InvalidInputError", "KernelStartError", "LivePlot",
    "ModelVersion", "NbmlopsError", "NoReferenceError", "NotFoundError", "ParamConflictError", "Run", "RunDiff",
    "RunsTable",
    "RunStatus", "Store", "StoreError", "StoreLockedError", "StoreVersionError",
    "TamperedArtifactError", "UnknownParameterError", "UntrustedModelError", "active_run", "autolog", "autologging",
    "compare", "datasets", "delete_tag", "diff", "end_run", "experiments", "feature_drift", "get_model_version",
    "get_run",
    "get_store", "import_mlflow",
    "init", "lineage", "live_plot", "load_dataset", "load_model", "log_artifact", "log_dataset",
    "log_figure", "log_image", "log_metric", "log_metrics", "log_model", "log_param", "log_params", "log_table",
    "log_text", "metric_direction", "metric_history",
    "model_history", "model_versions", "models", "monitor", "monitoring", "pin", "promote", "run_notebook", "runs",
    "runs_table", "set_experiment", "set_store", "set_tag", "set_tags", "start_run", "sweep", "unalias", "unpin",
]


def init(path: str | os.PathLike[str] | None = None, *, data: str | None = None) -> Store:
    """Create `.nbmlops/` in folder `path` (default: here) and use it in this process; for a team
    store's `postgresql://` URL, create its tables (once for the team) with its files at `data`
    (`s3://BUCKET/PREFIX` or a shared folder; default `$NBMLOPS_DATA`)."""
    text = os.fspath(path) if path is not None else ""
    if isinstance(text, str) and "://" in text:
        from nbmlops.store.team import TeamStore

        store = open_store(text)
        if not isinstance(store, TeamStore):
            raise StoreError(f"{text} is not a store nbmlops can create")
        store.init(data)
    else:
        if data is not None:
            raise StoreError("data= is for a team store (postgresql://...); a store folder keeps its own files")
        target = Path(path) if path is not None else Path.cwd()
        store = Store(target if target.name == ".nbmlops" else target / ".nbmlops")
        store.init()
    _tracker().set_store(store.location)
    return store


def set_store(path: str | os.PathLike[str]) -> Store:
    """Use the store at `path` in this process, overriding `NBMLOPS_STORE` and `.nbmlops/`."""
    return _tracker().set_store(path)


def get_store() -> Store:
    """The store this process uses."""
    return _tracker().store


def set_experiment(name: str) -> str:
    """Make `name` the experiment of runs started without one."""
    t = _tracker()
    t.experiment = _validation.name("experiment", name)
    return t.experiment


def start_run(experiment: str | None = None, name: str | None = None,
              tags: dict[str, Any] | None = None, parent: str | ActiveRun | None = None, *,
              system_metrics: bool | None = None, system_metrics_interval: float | None = None) -> ActiveRun:
    """Start a run; inside `with`, an exception marks it FAILED with its traceback.

    While it is active, the machine's CPU, memory, disk, network and GPU use is recorded as
    `system/...` metrics every `system_metrics_interval` seconds (default 5, or
    `NBMLOPS_SYSTEM_METRICS_INTERVAL`); `system_metrics=False` turns that off for this run (default:
    on unless `NBMLOPS_SYSTEM_METRICS=0` or `nbmlops config system-metrics off`).

    >>> with nbmlops.start_run(experiment="churn", name="baseline") as run:
    ...     nbmlops.log_metric("loss", 0.3)
    """
    return _tracker().start_run(experiment, name, tags, parent, system_metrics=system_metrics,
                                system_metrics_interval=system_metrics_interval)


def end_run(status: RunStatus | str = RunStatus.FINISHED) -> None:
    """End the active run with `status` (FINISHED, FAILED, KILLED or PRUNED)."""
    _tracker().end_run(status)


def active_run() -> ActiveRun | None:
    """The innermost active run, or None."""
    return _tracker().active_run()


def log_param(key: str, value: Any) -> None:
    """Record a param of the active run (write-once: a different value raises)."""
    _tracker().log_params({key: value})


def log_params(params: dict[str, Any]) -> None:
    """Record several params of the active run."""
    _tracker().log_params(params)


def log_metric(key: str, value: float, step: int | None = None) -> None:
    """Record a metric point; `step` defaults to the key's previous step + 1 (from 0)."""
    _tracker().log_metric(key, value, step)


def log_metrics(metrics: dict[str, float], step: int | None = None) -> None:
    """Record several metrics at one step."""
    _tracker().log_metrics(metrics, step)


def set_tag(key: str, value: Any) -> None:
    """Set a tag on the active run (tags can change)."""
    _tracker().set_tags({key: value})


def set_tags(tags: dict[str, Any]) -> None:
    """Set several tags on the active run."""
    _tracker().set_tags(tags)


def delete_tag(key: str) -> None:
    """Remove a tag from the active run."""
    _tracker().delete_tag(key)


def log_artifact(path: str | os.PathLike[str], name: str | None = None, *,
                 follow_symlinks: bool = False) -> list[str]:
    """Store a file or folder with the active run; returns the artifact names.

    A symbolic link leading outside `path` is refused unless `follow_symlinks=True`.
    """
    return _tracker().log_artifact(path, name, follow_symlinks=follow_symlinks)


def log_figure(fig: Any, name: str, step: int | None = None) -> list[str]:
    """Store a matplotlib figure with the active run as PNG (plus SVG when cheap); returns the artifact paths.

    >>> fig, ax = plt.subplots(); ax.plot(losses)
    >>> nbmlops.log_figure(fig, "loss-curve", step=epoch)
    """
    return _media.log_figure(_tracker(), fig, name, step)


def log_image(image: Any, name: str, step: int | None = None) -> str:
    """Store an image with the active run as PNG: a numpy HxW, HxWx1, HxWx3 or HxWx4 array (uint8 0-255,
    floats in [0, 1], or booleans as black and white) or a PIL image; returns the artifact path.

    >>> nbmlops.log_image(sample, "prediction", step=epoch)
    """
    return _media.log_image(_tracker(), image, name, step)


def log_table(table: Any, name: str, step: int | None = None) -> str:
    """Store a pandas DataFrame (or a dict of columns) with the active run as Parquet; returns the artifact path.

    >>> nbmlops.log_table(errors_df, "misclassified")
    """
    return _media.log_table(_tracker(), table, name, step)


def log_text(text: str, name: str, step: int | None = None) -> str:
    """Store a str with the active run as UTF-8 text; returns the artifact path.

    >>> nbmlops.log_text(classification_report(y, pred), "report")
    """
    return _media.log_text(_tracker(), text, name, step)


def log_dataset(data: Any, name: str | None = None, role: str = "train",
                snapshot: bool | None = None) -> DatasetInfo:
    """Fingerprint a DataFrame, array, file or folder (all of its content) and link it to the run.

    `snapshot=True` also stores the data itself (once per content) for `load_dataset`; the default
    does so for role train when `nbmlops config snapshot-train on` was set.

    >>> nbmlops.log_dataset(train_df, name="churn", role="train", snapshot=True)
    """
    return _data.log_dataset(_tracker(), data, name, role, snapshot)


def load_dataset(name: str, version: int | str | None = None, *,
                 path: str | os.PathLike[str] | None = None) -> Any:
    """A snapshotted dataset version (number, fingerprint prefix, default latest): the frame or array,
    or its files restored into folder `path` (returns the file or folder).

    >>> train = nbmlops.load_dataset("churn", 3)
    >>> nbmlops.load_dataset("images", path="restore/")
    """
    return _data.load_dataset(_tracker().flushed_store(), name, version, path)


def lineage(ref: str) -> Any:
    """Dataset versions -> runs -> model versions -> aliases around `name@alias`, `name/3`, a run id
    or `dataset:name@3`, as a DataFrame of edges that draws itself in a notebook.

    >>> nbmlops.lineage("churn@production")
    """
    return _lineage_of(_tracker().flushed_store(), ref)


def pin(run_id: str, reason: str | None = None) -> None:
    """Keep a run's artifacts and snapshots through `nbmlops gc` (tag `pinned`)."""
    from nbmlops.store import disk as space

    space.pin(_tracker().flushed_store(), run_id, reason)


def unpin(run_id: str) -> None:
    """Let `nbmlops gc` collect a run's artifacts again (unless a model version needs them)."""
    from nbmlops.store import disk as space

    space.unpin(_tracker().flushed_store(), run_id)


def log_model(model: Any, name: str | None = None, *, input_example: Any = None,
              signature: dict[str, Any] | None = None, reference_data: Any = None) -> ModelVersion:
    """Store a fitted model with the active run; with `name`, register its next version.

    A registered version keeps a profile of its training data for `monitor`: of `reference_data`,
    else of the training data the run logged in memory (`log_dataset(df, role="train")`, autolog).

    >>> mv = nbmlops.log_model(clf, "churn", input_example=X_train.head())
    >>> mv.version
    3
    """
    return _registry.log_model(_tracker(), model, name, input_example=input_example, signature=signature,
                               reference_data=reference_data)


def load_model(uri: str, *, trusted: bool = False, model_class: Any = None) -> Any:
    """Load `name@alias`, `name/3`, `name` (latest) or `run:<run_id>`, after checking its hash.

    Pickled models, and skops files naming types outside scikit-learn/NumPy/SciPy, load only with
    `trusted=True`. A PyTorch model (safetensors weights) loads as its state dict, or, with
    `model_class=MyModule`, as `MyModule(**saved hyperparameters)` holding the weights; a
    transformers model loads as its own class (or `model_class`), a Keras model as itself.

    >>> net = nbmlops.load_model("run:3f2a/model", model_class=LitClassifier)
    """
    return _registry.load_model(_tracker().flushed_store(), uri, trusted=trusted, model_class=model_class)


def get_model_version(uri: str) -> ModelVersion:
    """The model version a URI names, with its aliases, signature and the run's metrics."""
    return _registry.resolve(_tracker().flushed_store(), uri)


def models() -> pd.DataFrame:
    """Registered models with their latest version and aliases."""
    return _registry.models(_tracker().flushed_store())


def model_versions(name: str) -> pd.DataFrame:
    """Versions of a registered model with run, aliases and metrics."""
    return _registry.model_versions(_tracker().flushed_store(), name)


def promote(name: str, version: int, alias: str = "production", gate: str | None = None,
            reason: str | None = None) -> GateResult | None:
    """Point `alias` at `version` when `gate` passes against the current holder (audited).

    >>> nbmlops.promote("churn", 4, "production", gate="metrics.auc >= champion.metrics.auc + 0.01",
    ...                 reason="better AUC on the March data")
    """
    return _registry.promote(_tracker().flushed_store(), name, version, alias, gate=gate, reason=reason)


def unalias(name: str, alias: str, reason: str | None = None) -> None:
    """Remove an alias from a model (audited)."""
    _registry.unalias(_tracker().flushed_store(), name, alias, reason=reason)


def model_history(name: str) -> pd.DataFrame:
    """The audit log of a model's aliases: when, who, from and to which version, why, gate."""
    return _registry.history(_tracker().flushed_store(), name)


def monitor(model: str, data: Any, labels: Any = None, timestamp: Any = None, *,
            trusted: bool = False) -> MonitoringReport:
    """Compare a production batch with a model version's training data; the report is stored too.

    Drift per feature (Evidently's default tests), prediction drift, data quality, and performance
    when `labels` (a column of `data`, or one value per row) are given.

    >>> report = nbmlops.monitor("churn@production", batch, labels="churned")
    >>> report.dataset_drift, report.drifted_columns
    """
    from nbmlops.drift import service as monitoring_service  # on first use: scipy takes most of a second to import

    return monitoring_service.monitor(_tracker().flushed_store(), model, data, labels, timestamp, trusted=trusted)


def monitoring(model: str) -> pd.DataFrame:
    """The monitoring reports of a model over time, one row each (`name`, or one version: `name@alias`)."""
    from nbmlops.drift import service as monitoring_service

    return monitoring_service.monitoring(_tracker().flushed_store(), model)


def feature_drift(model: str, report_id: str | None = None) -> pd.DataFrame:
    """Per-feature drift of a model's latest monitoring report (or of `report_id`)."""
    from nbmlops.drift import service as monitoring_service

    return monitoring_service.feature_drift(_tracker().flushed_store(), model, report_id)


def run_notebook(path: str | os.PathLike[str], parameters: dict[str, Any] | None = None,
                 experiment: str | None = None, name: str | None = None, *, timeout: float | None = None,
                 kernel: str | None = None, output: str | os.PathLike[str] | None = None,
                 allow_new_params: bool = False) -> Run:
    """Execute a notebook with papermill as one run and return it (FINISHED or FAILED).

    A parameter the notebook's `parameters` cell does not declare is an error unless `allow_new_params`.

    >>> run = nbmlops.run_notebook("notebooks/train.ipynb", {"C": 0.5}, experiment="churn")
    >>> run.status, run.metrics["roc_auc_score"]
    """
    from nbmlops.jobs import runner  # the surfaces load when used: the REST server never loads the notebook layer

    result = runner.run_notebook(_tracker(), path, parameters, experiment, name, timeout=timeout, kernel=kernel,
                                 output=output, allow_new_params=allow_new_params)
    return get_run(result.run_id)


def sweep(notebook: str | os.PathLike[str], grid: dict[str, Any] | None = None, *,
          random: int | None = None, dists: dict[str, str] | None = None, workers: int = 2,
          executor: str = "local", scheduler: str | None = None, metric: str | None = None,
          maximize: bool = True, resume: bool = False, experiment: str | None = None,
          name: str | None = None, timeout: float | None = None, seed: int = 0,
          allow_new_params: bool = False, register_all: bool = False, trials: int | None = None,
          sampler: Any = None, prune: bool = False, pruner: Any = None) -> Any:
    """Execute a notebook once per parameter combination, in parallel, as children of one run.

    A model the notebook registers is registered once, from the best child by `metric`
    (`register_all=True`: from every child). With `trials`, an Optuna study searches the `dists`
    (and `grid`) space: `sampler` "tpe" (default), "cmaes", "random", "grid" or an Optuna sampler;
    `prune=True` stops unpromising runs early (`pruner` "median", "hyperband" or an Optuna pruner).

    >>> result = nbmlops.sweep("notebooks/train.ipynb", {"C": [0.01, 0.1, 1]}, metric="roc_auc_score")
    >>> result.table.head()
    >>> study = nbmlops.sweep("train.ipynb", dists={"C": "loguniform(1e-3,10)"}, trials=20, metric="roc_auc_score")
    >>> study.trials.head()
    """
    from nbmlops.jobs import sweeps

    return sweeps.sweep(_tracker().flushed_store(), Path(notebook), grid=grid, random=random, dists=dists,
                        workers=workers, executor=executor, scheduler=scheduler, metric=metric, maximize=maximize,
                        resume=resume, experiment=experiment, timeout=timeout, name=name, seed=seed,
                        progress=False, allow_new_params=allow_new_params, register_all=register_all,
                        trials=trials, sampler=sampler, prune=prune, pruner=pruner)


def runs(experiment: str | list[str] | None = None, where: str | None = None,
         order_by: str | None = None, limit: int | None = None, *,
         as_of: str | _dt.datetime | None = None) -> pd.DataFrame:
    """Runs as a DataFrame, filtered with the `where` language; with `as_of` (a datetime, or ISO
    text; naive means UTC), as the team store stood at that time.

    >>> nbmlops.runs("churn", where="metrics.accuracy > 0.9 and params.C < 1",
    ...              order_by="metrics.accuracy desc", limit=10)
    """
    store = _tracker().flushed_store()
    if as_of is not None:
        store = store.at(_search.point_in_time(as_of))
    return _search.runs(store, experiment, where, order_by, limit, warn_unknown=True)


def get_run(run_id: str) -> Run:
    """The run with this id (or a unique prefix of it)."""
    return _search.get_run(_tracker().flushed_store(), run_id)


def diff(a: str | Run | ActiveRun, b: str | Run | ActiveRun, *, rows: bool = True) -> RunDiff:
    """Why did run `b` differ from run `a`? Params, metrics (better or worse), code, data, environment, git
    and models side by side; runs given as ids, unique id prefixes, names or Run objects. `rows=False`
    skips the row-level comparison of dataset snapshots. Shows itself as HTML in a notebook.

    >>> d = nbmlops.diff("baseline", "retrain")
    >>> d.params, d.metrics  # d.to_dict() for JSON, print(d) for text
    """
    return _rundiff.diff(_tracker().flushed_store(), a, b, rows=rows)


def metric_history(run_id: str, key: str) -> pd.DataFrame:
    """Every point of a metric: columns `step`, `timestamp`, `value`."""
    return _search.metric_history(_tracker().flushed_store(), run_id, key)


def datasets(name: str | None = None, run_id: str | None = None) -> pd.DataFrame:
    """Dataset versions with their fingerprint, shape, roles and the runs that used them."""
    return _data.datasets(_tracker().flushed_store(), name, run_id)


def experiments() -> pd.DataFrame:
    """Experiments with run counts and last activity."""
    return _search.experiments(_tracker().flushed_store())


def import_mlflow(uri: str | os.PathLike[str], experiments: str | list[str] | None = None, *,
                  unpickle: bool = True) -> MlflowImportReport:
    """Bring an MLflow store's runs, metrics, artifacts, datasets and registered models into this store
    (all experiments, or those named); importing again adds nothing. Needs `pip install 'nbmlops[mlflow]'`;
    pickled scikit-learn models are unpickled once, to be stored with skops (`unpickle=False` for a
    store not trusted to run code here: they stay files, not registered).

    >>> nbmlops.import_mlflow("sqlite:///mlflow.db").summary()
    """
    from nbmlops.importers.mlflow import import_mlflow as _import

    return _import(_tracker().flushed_store(), uri, experiments, unpickle=unpickle)



def load_ipython_extension(ipython: Any) -> None:
    """`%load_ext nbmlops`: registers the `%%track` and `%nbmlops` magics."""
    from nbmlops.notebook.magics import register

    register(ipython)


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    """Where JupyterLab finds the prebuilt panel (used by `jupyter labextension develop`)."""
    return [{"src": "labextension", "dest": "nbmlops"}]


# The notebook widgets, loaded on first use: importing nbmlops (a job, the REST server) never loads
# the notebook layer.
_NOTEBOOK = {"LivePlot": "liveplot", "live_plot": "liveplot", "CompareView": "widgets", "RunsTable": "widgets",
             "compare": "widgets", "runs_table": "widgets"}


def __getattr__(name: str) -> Any:
    module = _NOTEBOOK.get(name)
    if module is None:
        raise AttributeError(f"module 'nbmlops' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f"nbmlops.notebook.{module}"), name)
    globals()[name] = value
    return value
