"""System metrics: a background thread records what the machine does while a run is active.

Once a run has lasted MIN_RUN_SECONDS (1 s), every `interval` seconds after (5 by default) and once
when it ends, the sampler logs ordinary metrics of the run: runs(), metric_history, the panel,
bundles and the team store carry them like any other. A run over within MIN_RUN_SECONDS gets none:
a machine's figures over a moment are noise, and a sweep or a loop of thousands of short runs would
pay for them (psutil is not touched until then, so such a run costs only the thread's start).

    system/cpu_percent, system/memory_used_mb, system/memory_percent     (the whole machine)
    system/disk_read_mb, system/disk_write_mb, system/net_sent_mb, system/net_recv_mb
                                                         (the machine's, since sampling began)
    system/gpu{i}_util_percent, _memory_used_mb, _power_w, _temp_c       (each NVIDIA GPU, via NVML)

MB is 2**20 bytes, as `free -m` and `nvidia-smi` count. A point's step is the whole seconds since the
run started, so the panel's step axis is elapsed time and two runs overlay from their starts (with an
interval under a second, samples share a step; each keeps its own timestamp).

Which run: the figures are the machine's, the same for every run of the process, so a tracker
samples one run at a time: a run gets a sampler when it starts if sampling is on for it and none of
the process's runs is being sampled already (so the outermost; a nested run, a search's candidates,
are not sampled again). A run attached to (`nbmlops run`'s kernel, a resumed sweep) is sampled by
the process that started it, if at all. A forked child never samples its parent's runs.

Off: `start_run(..., system_metrics=False)`, `NBMLOPS_SYSTEM_METRICS=0`, or `nbmlops config
system-metrics off`; the argument wins over the variable, the variable over the store's setting.
The interval: `start_run(..., system_metrics_interval=SECONDS)`, else `NBMLOPS_SYSTEM_METRICS_INTERVAL`.
A bad value in either is a one-line InvalidInputError from start_run, as for every other argument.
"""

from __future__ import annotations

import math
import numbers
import os
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from nbmlops.errors import InvalidInputError, NbmlopsError

SWITCH_ENV = "NBMLOPS_SYSTEM_METRICS"
INTERVAL_ENV = "NBMLOPS_SYSTEM_METRICS_INTERVAL"
SETTING = "system-metrics"  # the store setting (nbmlops/store/settings.py)
PREFIX = "system/"
DEFAULT_INTERVAL = 5.0
MIN_INTERVAL = 0.1
MAX_INTERVAL = 86400.0  # a day: longer is "start and end only" anyway, and far longer overflows Event.wait
# psutil counts CPU time in clock ticks (1/100 s), so cpu_percent over a short window is coarse: the
# baseline waits CPU_WINDOW after priming (unless the run ends first), and a sample less than
# MIN_CPU_WINDOW after the last reading leaves cpu_percent out rather than report rounding.
CPU_WINDOW = 0.1
MIN_CPU_WINDOW = 0.02
STOP_TIMEOUT = 2.0  # a run's end waits this long at most for the final sample
MIN_RUN_SECONDS = 1.0  # a run shorter than this gets no samples (see the module's notes)
MIB = float(1 << 20)
_ON, _OFF = ("1", "on", "true", "yes"), ("0", "off", "false", "no")

# (run id, values, step, timestamp, whether it is the run's last sample) -> whether the run still takes points
LogSample = Callable[[str, dict[str, float], int, float, bool], bool]


@dataclass(frozen=True)
class Options:
    """Whether a run is sampled, and how often."""

    enabled: bool
    interval: float


def options(enabled: object = None, interval: object = None,
            store_setting: Callable[[], bool] | None = None) -> Options:
    """The sampling options of a run: the argument, else the environment, else the store's setting.

    Raises InvalidInputError (one line) for a bad argument or environment value.
    """
    if isinstance(enabled, np.bool_):
        enabled = bool(enabled)
    if enabled is not None and not isinstance(enabled, bool):
        raise InvalidInputError(f"system_metrics must be True or False, got {type(enabled).__name__}")
    given = _seconds("system_metrics_interval", interval) if interval is not None else None
    if enabled is None:
        enabled = _env_switch()
    if enabled is None:
        enabled = store_setting() if store_setting is not None else True
    if not enabled:
        return Options(False, DEFAULT_INTERVAL)
    if given is not None:
        return Options(True, given)
    text = os.environ.get(INTERVAL_ENV, "").strip()  # read only when sampling: a bad value stops no other run
    return Options(True, _seconds(INTERVAL_ENV, _number(INTERVAL_ENV, text)) if text else DEFAULT_INTERVAL)


def _env_switch() -> bool | None:
    text = os.environ.get(SWITCH_ENV, "").strip().lower()
    if not text:
        return None
    if text not in _ON + _OFF:
        raise InvalidInputError(f"{SWITCH_ENV} is {text!r:.40}: set it to 1 or 0 (on or off), or unset it")
    return text in _ON


def _number(what: str, text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise InvalidInputError(f"{what} is {text!r:.40}: set it to a number of seconds, e.g. 5") from None


def _seconds(what: str, value: object) -> float:
    """An interval in seconds between MIN_INTERVAL and MAX_INTERVAL."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise InvalidInputError(f"{what} must be a number of seconds, got {type(value).__name__}")
    try:
        seconds = float(value)
    except OverflowError:  # an int of hundreds of digits
        seconds = math.inf
    if not math.isfinite(seconds) or not MIN_INTERVAL <= seconds <= MAX_INTERVAL:
        raise InvalidInputError(f"{what} is {seconds:g}: give a number of seconds from {MIN_INTERVAL:g} "
                                f"to {MAX_INTERVAL:g} (default {DEFAULT_INTERVAL:g})")
    return seconds


# -- reading the machine -----------------------------------------------------------------------
# What NVML reports per GPU, and how to turn it into our units.
_GPU_READINGS: tuple[tuple[str, Callable[[Any, Any], float]], ...] = (
    ("util_percent", lambda nvml, h: float(nvml.nvmlDeviceGetUtilizationRates(h).gpu)),
    ("memory_used_mb", lambda nvml, h: nvml.nvmlDeviceGetMemoryInfo(h).used / MIB),
    ("power_w", lambda nvml, h: nvml.nvmlDeviceGetPowerUsage(h) / 1000.0),  # NVML counts milliwatts
    ("temp_c", lambda nvml, h: float(nvml.nvmlDeviceGetTemperature(h, nvml.NVML_TEMPERATURE_GPU))),
)


class Gpus:
    """NVIDIA GPUs through NVML (module `pynvml`, from nvidia-ml-py).

    No pynvml, no driver or no GPU: no readings at all, and nothing said (most machines have no
    NVIDIA GPU; that is not worth a warning). NVML is opened on the first read, in the sampler's
    thread. A reading a GPU does not support is not asked for again; any other NVML error leaves that
    reading out of that one sample.
    """

    def __init__(self, nvml: Any = None) -> None:
        self._nvml = nvml  # a stand-in for pynvml in tests; None: import pynvml on first read
        self._handles: list[Any] | None = None
        self._unsupported: set[tuple[int, str]] = set()

    def _open(self) -> list[Any]:
        if self._handles is None:
            self._handles = []
            try:
                if self._nvml is None:
                    import pynvml

                    self._nvml = pynvml
                nvml = self._nvml
                nvml.nvmlInit()
                self._handles = [nvml.nvmlDeviceGetHandleByIndex(i) for i in range(nvml.nvmlDeviceGetCount())]
            except Exception:  # ImportError, NVMLError (no library, no driver), OSError from ctypes, ...
                self._handles = []
        return self._handles

    def read(self) -> dict[str, float]:
        """`system/gpu{i}_...` for every GPU and reading that answered."""
        values: dict[str, float] = {}
        for i, handle in enumerate(self._open()):
            for name, reading in _GPU_READINGS:
                if (i, name) in self._unsupported:
                    continue
                try:
                    values[f"{PREFIX}gpu{i}_{name}"] = reading(self._nvml, handle)
                except Exception as exc:
                    if type(exc).__name__ in ("NVMLError_NotSupported", "NVMLError_FunctionNotFound"):
                        self._unsupported.add((i, name))
        return values


class Probe:
    """The machine's figures, with disk and network counted from when the probe was made.

    Made in the thread that reads it: psutil keeps cpu_percent's last reading per thread, and the
    first call only primes it (and returns 0.0).
    """

    def __init__(self, gpus: Gpus) -> None:
        import psutil

        self._psutil = psutil
        self._gpus = gpus
        psutil.cpu_percent(interval=None)
        self._cpu_at = time.monotonic()
        self._base = self._counters()
        self._high: dict[str, float] = {}

    def _counters(self) -> dict[str, float]:
        """Machine-wide byte counters (psutil undoes their wrap-around); none a machine lacks."""
        counters: dict[str, float] = {}
        disk = self._psutil.disk_io_counters()
        if disk is not None:  # None: no disks to count (some containers)
            counters.update(disk_read_mb=disk.read_bytes, disk_write_mb=disk.write_bytes)
        net = self._psutil.net_io_counters()
        if net is not None:
            counters.update(net_sent_mb=net.bytes_sent, net_recv_mb=net.bytes_recv)
        return counters

    def read(self) -> dict[str, float]:
        """One sample: every `system/...` key this machine can tell."""
        values: dict[str, float] = {}
        now = time.monotonic()
        if now - self._cpu_at >= MIN_CPU_WINDOW:
            values[f"{PREFIX}cpu_percent"] = float(self._psutil.cpu_percent(interval=None))
            self._cpu_at = now
        memory = self._psutil.virtual_memory()
        values[f"{PREFIX}memory_used_mb"] = (memory.total - memory.available) / MIB
        values[f"{PREFIX}memory_percent"] = float(memory.percent)
        for name, count in self._counters().items():
            if name in self._base:
                # Never below an earlier sample: a disk or interface that goes away takes its bytes with it.
                since = max(0.0, (count - self._base[name]) / MIB, self._high.get(name, 0.0))
                self._high[name] = since
                values[f"{PREFIX}{name}"] = since
        values.update(self._gpus.read())
        return values


# -- sampling ----------------------------------------------------------------------------------
class Sampler:
    """A daemon thread sampling the machine into one run until `stop`."""

    def __init__(self, run_id: str, interval: float, log: LogSample, gpus: Gpus,
                 report: Callable[[BaseException], None]) -> None:
        self.run_id = run_id
        self.interval = interval
        self.samples = 0  # samples the run took
        self._log = log
        self._gpus = gpus
        self._report = report
        self._stop = threading.Event()  # set at the run's end: the thread wakes at once, no interval's wait
        self._thread = threading.Thread(target=self._loop, name="nbmlops-system-metrics", daemon=True)

    def start(self) -> None:
        """Start sampling (in the background)."""
        self._thread.start()

    def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        """Take the final sample and end the thread (waiting at most `timeout` for it)."""
        self._stop.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    @property
    def alive(self) -> bool:
        """Whether the thread still runs."""
        return self._thread.is_alive()

    def _loop(self) -> None:
        started = time.monotonic()
        if self._stop.wait(max(0.0, MIN_RUN_SECONDS - CPU_WINDOW)):
            return  # a run over within MIN_RUN_SECONDS: no samples, and psutil never touched
        try:
            probe = Probe(self._gpus)
        except Exception as exc:  # psutil missing or broken: the run goes on without system metrics
            self._report(exc)
            return
        if not self._stop.wait(min(CPU_WINDOW, self.interval)):
            self._sample(probe, started)  # the baseline
            while not self._stop.wait(self._next_wait(started)):
                self._sample(probe, started)
        # The end; for a run over before the baseline was due, the only sample (a second one at the same
        # moment would repeat it, and cost a short run its time twice).
        self._sample(probe, started, last=True)

    def _next_wait(self, started: float) -> float:
        """Seconds to the next beat of the interval counted from the run's start (no drift), skipping
        beats a late sample missed and any less than half an interval away (no two samples at once)."""
        now = time.monotonic()
        beat = math.floor((now - started + self.interval / 2) / self.interval) + 1
        return max(0.0, started + beat * self.interval - now)

    def _sample(self, probe: Probe, started: float, last: bool = False) -> None:
        try:
            values = probe.read()
            if values and self._log(self.run_id, values, int(time.monotonic() - started), time.time(), last):
                self.samples += 1
        except Exception as exc:  # a failed sample is skipped; the run never hears of it
            self._report(exc)


class SystemMetrics:
    """A tracker's sampling: at most one sampler, for the run it was started for."""

    def __init__(self, gpus: Gpus | None = None) -> None:
        self._gpus = gpus if gpus is not None else Gpus()
        self._sampler: Sampler | None = None
        self._reported = False

    @property
    def sampler(self) -> Sampler | None:
        """The sampler of the run being sampled, if any."""
        return self._sampler

    def run_started(self, run_id: str, chosen: Options, log: LogSample) -> None:
        """Sample run `run_id` if sampling is on for it and no run of this tracker is sampled already."""
        if not chosen.enabled or (self._sampler is not None and self._sampler.alive):
            return
        self._sampler = Sampler(run_id, chosen.interval, log, self._gpus, self._report)
        self._sampler.start()

    def runs_ended(self, run_ids: set[str]) -> None:
        """Stop sampling if the sampled run is among `run_ids` (its final sample is logged first)."""
        if self._sampler is not None and self._sampler.run_id in run_ids:
            sampler, self._sampler = self._sampler, None
            sampler.stop()

    def _report(self, exc: BaseException) -> None:
        if not self._reported:  # once per tracker (a process has one): a failing psutil fails every sample
            self._reported = True
            why = str(exc) if isinstance(exc, NbmlopsError) else f"{type(exc).__name__}: {exc}"
            print(f"nbmlops: a system metrics sample failed and was skipped ({why:.200}); runs go on, "
                  "later failures are not reported", file=sys.stderr)
