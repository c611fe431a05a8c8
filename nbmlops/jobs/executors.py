"""Where a sweep's children run: a process pool on this machine, or dask.distributed workers.

Both executors share one small interface (`Executor`): `submit` a child, take `results` as children
end, `close`. A child's notebook run and its record of whether a failure was infrastructure's fault
(a kernel that did not start, a worker that died) are the same under both; what differs is where
the run's records go:
- local: a 'spawn' process pool (this process has threads) runs children against the sweep's store.
- dask: a task gets the notebook as bytes (workers may not see this file system), runs it against a
  temporary store, and returns the child as a bundle that this process imports. A worker runs one
  notebook at a time (the runner sets environment variables): give workers one thread each.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import threading
from abc import ABC, abstractmethod
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nbmlops.entities import RunStatus
from nbmlops.errors import KernelStartError, NbmlopsError
from nbmlops.jobs.runner import kernel_start_failed, run_notebook
from nbmlops.store.folder import Store, open_store
from nbmlops.tracking.tracker import Tracker

if TYPE_CHECKING:  # dask is optional: imported at run time by the dask executor only
    import distributed

EXECUTORS = ("local", "dask")
_ENV_LOCK = threading.Lock()


@dataclass(frozen=True)
class Combination:
    """One point of a sweep: the swept values, and every notebook parameter as the run gets it; in
    a study, its trial's number and (with pruning) what the kernel needs to report to the trial."""

    index: int
    swept: dict[str, Any]
    values: dict[str, Any]
    trial: int | None = None
    pruning: dict[str, Any] | None = None


@dataclass(frozen=True)
class ChildResult:
    """How one combination ended (`reused`: a FINISHED child found by `resume`)."""

    index: int
    params: dict[str, Any]
    run_id: str | None
    status: RunStatus
    metric: float | None = None
    kernel_retries: int = 0
    infrastructure_retries: int = 0
    duration: float | None = None
    error: str | None = None
    reused: bool = False

    def describe(self) -> str:
        """The swept values as `C=0.1 max_iter=200`."""
        return " ".join(f"{k}={v!r}" if isinstance(v, str) else f"{k}={v}" for k, v in self.params.items())


@dataclass(frozen=True)
class ChildSpec:
    """What every child of one sweep shares; pickled to the workers."""

    root: str
    notebook: str
    experiment: str
    parent: str
    name: str
    timeout: float | None
    fixed: dict[str, Any]
    allow_new_params: bool = False
    defer_registration: bool = True


Outcome = tuple[Combination, ChildResult, bool]  # a child, how it ended, and whether infrastructure failed it


class Executor(ABC):
    """Runs a sweep's children: `submit` them, take their `results` as they end, then `close`."""

    @abstractmethod
    def submit(self, spec: ChildSpec, combo: Combination) -> None:
        """Start running one combination (again, when its last attempt failed on infrastructure)."""

    @abstractmethod
    def results(self) -> Iterator[Outcome]:
        """Each submitted child as it ends, until none is left; children submitted meanwhile included."""

    @abstractmethod
    def close(self, cancel: bool = False) -> None:
        """Stop the workers: after the running children end, or at once with `cancel`."""


def open_executor(kind: str, workers: int, scheduler: str | None, store: Store) -> Executor:
    """The executor named `kind` ("local" or "dask"), with `workers` workers."""
    return DaskExecutor(workers, scheduler, store) if kind == "dask" else LocalExecutor(workers)


def _lost(combo: Combination, exc: BaseException) -> ChildResult:
    """A child whose worker died or lost contact: infrastructure, not the notebook."""
    return ChildResult(combo.index, combo.swept, None, RunStatus.FAILED, error=f"{type(exc).__name__}: {exc}")


def _attempt(tracker: Tracker, spec: ChildSpec, notebook: str, combo: Combination) -> tuple[ChildResult, bool]:
    """Run one combination with `tracker`: how it ended, and whether that was infrastructure's fault."""
    overrides = {**spec.fixed, **combo.swept}  # only these: a default may be an expression's text
    tags = {"sweep.index": str(combo.index), "sweep.notebook": spec.notebook,
            **({"sweep.trial": str(combo.trial)} if combo.trial is not None else {})}
    try:
        r = run_notebook(tracker, notebook, overrides, spec.experiment, f"{spec.name}-{combo.index}",
                         timeout=spec.timeout, parent=spec.parent, tags=tags,
                         allow_new_params=spec.allow_new_params, defer_registration=spec.defer_registration,
                         trial=combo.pruning)
    except KernelStartError as exc:  # the runner tagged its run runner.infrastructure_failure
        return ChildResult(combo.index, combo.swept, None, RunStatus.FAILED, error=str(exc)), True
    except Exception as exc:
        text = f"{type(exc).__name__}: {exc}"
        return ChildResult(combo.index, combo.swept, None, RunStatus.FAILED, error=text), kernel_start_failed(text)
    infra = r.status is RunStatus.FAILED and r.failed_cell is None and kernel_start_failed(r.error or "")
    if infra:
        tracker.attach_run(r.run_id)
        tracker.set_tags({"runner.infrastructure_failure": "true"})
        tracker.detach_run(r.run_id)
    return ChildResult(combo.index, combo.swept, r.run_id, r.status, None, r.kernel_retries, 0, r.duration,
                       r.error), infra


# -- local ---------------------------------------------------------------------------------------
def _run_local(spec: ChildSpec, combo: Combination) -> tuple[ChildResult, bool]:
    """A process-pool task: run one combination against the sweep's store."""
    tracker = Tracker(open_store(spec.root))
    try:
        return _attempt(tracker, spec, spec.notebook, combo)
    finally:
        tracker.close()


class LocalExecutor(Executor):
    """A process pool here ('spawn': this process has threads)."""

    def __init__(self, workers: int) -> None:
        self._workers = workers
        self._pool = self._new_pool()
        # future -> its combination and the pool it went to (a broken pool is replaced once)
        self._pending: dict[Future[tuple[ChildResult, bool]], tuple[Combination, ProcessPoolExecutor]] = {}

    def _new_pool(self) -> ProcessPoolExecutor:
        import multiprocessing

        return ProcessPoolExecutor(self._workers, mp_context=multiprocessing.get_context("spawn"))

    def submit(self, spec: ChildSpec, combo: Combination) -> None:
        self._pending[self._pool.submit(_run_local, spec, combo)] = (combo, self._pool)

    def results(self) -> Iterator[Outcome]:
        from concurrent.futures import FIRST_COMPLETED, wait
        from concurrent.futures.process import BrokenProcessPool

        while self._pending:
            for future in wait(list(self._pending), return_when=FIRST_COMPLETED).done:
                combo, pool = self._pending.pop(future)
                try:
                    child, infra = future.result()
                except Exception as exc:  # a worker died: infrastructure
                    if isinstance(exc, BrokenProcessPool) and pool is self._pool:
                        self._pool.shutdown(wait=False, cancel_futures=True)
                        self._pool = self._new_pool()  # a dead worker breaks its whole pool: start another
                    child, infra = _lost(combo, exc), True
                yield combo, child, infra

    def close(self, cancel: bool = False) -> None:
        self._pool.shutdown(wait=not cancel, cancel_futures=cancel)


# -- dask ----------------------------------------------------------------------------------------
def _run_remote(spec: ChildSpec, source: bytes, combo: Combination) -> tuple[ChildResult, bool, bytes | None]:
    """A dask task: run one combination against a temporary store and return it as a bundle; with
    a team store, which every worker reaches, straight into it (no bundle)."""
    from nbmlops.store.bundles import export_bundle

    folder = Path(tempfile.mkdtemp(prefix="nbmlops-sweep-"))
    shared = open_store(spec.root)
    notebook = folder / Path(spec.notebook).name
    store = shared if shared.shared else Store(folder / ".nbmlops")
    try:
        notebook.write_bytes(source)
        with _ENV_LOCK:
            tracker = Tracker(store)
            try:
                child, infra = _attempt(tracker, spec, str(notebook), combo)
            finally:
                tracker.close()
        if not child.run_id or infra or store.shared:
            return child, infra, None
        bundle = export_bundle(store, run_ids=[child.run_id])  # no destination: the bundle's bytes
        return child, infra, bundle if isinstance(bundle, bytes) else bundle.read_bytes()
    finally:
        store.release()
        shutil.rmtree(folder, ignore_errors=True)


class DaskExecutor(Executor):
    """dask.distributed workers: a LocalCluster of `workers` processes, or the cluster at `scheduler`."""

    def __init__(self, workers: int, scheduler: str | None, store: Store) -> None:
        try:
            from distributed import Client, LocalCluster, as_completed
        except ImportError:
            raise NbmlopsError("the dask executor needs dask.distributed: pip install 'dask[distributed]'") from None
        self._store = store
        self._source: bytes | None = None  # the notebook, read once at the first submit
        self._pending: dict[distributed.Future[tuple[ChildResult, bool, bytes | None]], Combination] = {}
        self._cluster = None if scheduler else LocalCluster(
            n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None,
            silence_logs=logging.ERROR)
        try:
            self._client = Client(scheduler or self._cluster, set_as_default=False, timeout=30)
        except (OSError, TimeoutError) as exc:
            if self._cluster is not None:
                self._cluster.close()
            raise NbmlopsError(f"cannot reach the dask scheduler at {scheduler}: {exc}") from None
        self._arrivals = as_completed(loop=self._client.loop)  # not wait(): that needs a default client

    def submit(self, spec: ChildSpec, combo: Combination) -> None:
        if self._source is None:  # sent as bytes: workers may not see this file system
            self._source = Path(spec.notebook).read_bytes()
        future = self._client.submit(_run_remote, spec, self._source, combo, pure=False)
        self._pending[future] = combo
        self._arrivals.add(future)

    def results(self) -> Iterator[Outcome]:
        from nbmlops.store.bundles import import_bundle

        while self._pending:
            for future in self._arrivals.next_batch(block=True):
                combo = self._pending.pop(future)
                try:
                    child, infra, bundle = future.result()
                except Exception as exc:  # a worker died or lost contact: infrastructure
                    child, infra, bundle = _lost(combo, exc), True, None
                finally:
                    future.release()  # the bundle is no longer kept in the cluster's memory
                if bundle is not None:
                    import_bundle(self._store, bundle)
                yield combo, child, infra

    def close(self, cancel: bool = False) -> None:  # the cluster's tasks end with it either way
        self._client.close()
        if self._cluster is not None:
            self._cluster.close()
