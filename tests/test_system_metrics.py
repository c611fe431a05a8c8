"""System metrics: a real sampler thread reading the real machine (psutil) into real runs.

This machine has no NVIDIA GPU: pynvml is installed and NVML's init fails for real, which is the path
most users take. The GPU readings themselves can only be checked here against a stand-in for the
pynvml module (the NVML calls, their units and their errors); no test here talks to a real GPU.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import nbclient
import nbformat
import numpy as np
import pandas as pd
import psutil
import pytest
from click.testing import CliRunner

import nbmlops
from nbmlops.cli import main
from nbmlops.store import runs as store_runs
from nbmlops.store import settings
from nbmlops.store.bundles import export_bundle, import_bundle
from nbmlops.store.folder import Store
from nbmlops.tracking import system
from nbmlops.tracking import tracker as tracking
from tests.conftest import ROOT, make_notebook, run_python

KEYS = {f"system/{name}" for name in ("cpu_percent", "memory_used_mb", "memory_percent", "disk_read_mb",
                                      "disk_write_mb", "net_sent_mb", "net_recv_mb")}
COUNTERS = ("system/disk_read_mb", "system/disk_write_mb", "system/net_sent_mb", "system/net_recv_mb")


@pytest.fixture
def sampling(fresh_store: Store, monkeypatch: pytest.MonkeyPatch) -> Store:
    """The fresh store, with sampling left to its defaults (whatever the suite's environment says), and
    this process's runs sampled however short they are (as a run of over a second is: see
    test_a_run_shorter_than_a_second_gets_no_samples for the real threshold)."""
    monkeypatch.delenv(system.SWITCH_ENV, raising=False)
    monkeypatch.delenv(system.INTERVAL_ENV, raising=False)
    monkeypatch.setattr(system, "MIN_RUN_SECONDS", 0.0)
    return fresh_store


def system_keys(run_id: str) -> set[str]:
    return {k for k in nbmlops.get_run(run_id).metrics if k.startswith("system/")}


def sampler_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "nbmlops-system-metrics"]


def test_a_run_records_the_machine_with_sane_values(sampling: Store, tmp_path: Path) -> None:
    started = time.time()
    with nbmlops.start_run(name="busy", system_metrics_interval=0.2) as run:
        nbmlops.log_metric("loss", 0.5)
        deadline = time.monotonic() + 1.2
        while time.monotonic() < deadline:  # some work for cpu_percent and the disk counters to see
            (tmp_path / "scratch.bin").write_bytes(os.urandom(1 << 20))
            sum(i * i for i in range(20_000))
    ended = time.time()
    metrics = nbmlops.get_run(run.run_id).metrics
    assert {k for k in metrics if k.startswith("system/")} == KEYS  # and no GPU keys on this machine
    assert metrics["loss"] == 0.5  # the run's own metrics are untouched
    total_mb = psutil.virtual_memory().total / 2**20
    histories = {key: nbmlops.metric_history(run.run_id, key).sort_values("timestamp") for key in KEYS}
    for key, history in histories.items():
        values = history["value"]
        assert values.notna().all() and (values >= 0).all(), key
        seconds = (history["timestamp"] - pd.Timestamp(started, unit="s", tz="UTC")).dt.total_seconds()
        assert seconds.between(-0.01, ended - started + 0.01).all(), key  # sampled while the run lived
        assert (history["step"] <= seconds + 0.01).all(), key  # steps are whole seconds since the start
    # the baseline, the end and at least one interval in between (1.2 s at 0.2 s)
    assert len(histories["system/memory_percent"]) >= 3
    assert histories["system/memory_percent"]["value"].between(0, 100).all()
    assert histories["system/memory_used_mb"]["value"].between(1, total_mb).all()
    assert histories["system/cpu_percent"]["value"].between(0, 100).all()
    assert histories["system/cpu_percent"]["value"].max() > 0  # primed: not psutil's first 0.0
    for key in COUNTERS:
        values = histories[key]["value"].tolist()
        assert values == sorted(values), key  # counted since the run started: never down
    assert histories["system/disk_write_mb"]["step"].is_monotonic_increasing
    assert set(histories["system/disk_write_mb"]["step"]) >= {0, 1}
    table = nbmlops.runs()
    assert table.loc[table.run_id == run.run_id, "metrics.system/memory_percent"].between(0, 100).all()


def test_a_run_shorter_than_a_second_gets_no_samples(fresh_store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(system.SWITCH_ENV, raising=False)
    monkeypatch.delenv(system.INTERVAL_ENV, raising=False)
    with nbmlops.start_run(name="blink") as blink:
        time.sleep(0.3)
    assert sampler_threads() == []
    with nbmlops.start_run(name="second", system_metrics_interval=0.2) as second:
        time.sleep(1.3)
    assert system_keys(blink.run_id) == set()
    steps = nbmlops.metric_history(second.run_id, "system/memory_percent")["step"].tolist()
    assert steps[0] == 1 and len(steps) >= 2  # the first a second in, the last at the end


def test_a_run_over_at_once_gets_its_end_sample(sampling: Store) -> None:
    with nbmlops.start_run(name="quick") as run:
        pass
    history = nbmlops.metric_history(run.run_id, "system/memory_percent")
    assert set(history["step"]) == {0} and len(history) <= 2  # one, unless the baseline's 0.1 s ran out first
    assert KEYS - {"system/cpu_percent"} <= system_keys(run.run_id)  # cpu_percent needs 20 ms to mean anything


def test_a_run_of_a_moment_gets_a_baseline_and_an_end_sample(sampling: Store) -> None:
    with nbmlops.start_run(name="moment") as run:
        time.sleep(0.3)
    history = nbmlops.metric_history(run.run_id, "system/memory_percent")
    assert history["step"].tolist() == [0, 0]
    assert len(nbmlops.metric_history(run.run_id, "system/cpu_percent")) == 2


def test_the_end_of_a_run_stops_its_sampler_at_once(sampling: Store) -> None:
    with nbmlops.start_run(name="default interval"):
        threads = sampler_threads()
        assert len(threads) == 1 and threads[0].daemon
    # the run's end joined the thread: no wait for the 5 s interval to run out
    assert not threads[0].is_alive()
    assert sampler_threads() == []


def test_off_by_argument(sampling: Store) -> None:
    with nbmlops.start_run(system_metrics=False) as run:
        nbmlops.log_metric("loss", 1.0)
        assert sampler_threads() == []
    assert nbmlops.get_run(run.run_id).metrics == {"loss": 1.0}


def test_off_by_environment_and_the_argument_wins(sampling: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(system.SWITCH_ENV, "off")
    with nbmlops.start_run() as off:
        pass
    with nbmlops.start_run(system_metrics=True) as on:
        pass
    monkeypatch.setenv(system.SWITCH_ENV, " 0 ")
    with nbmlops.start_run() as zero:
        pass
    assert system_keys(off.run_id) == set() == system_keys(zero.run_id)
    assert system_keys(on.run_id) >= {"system/memory_percent"}


def test_off_by_store_setting_through_the_cli(sampling: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    listed = CliRunner().invoke(main, ["--store", str(sampling.root), "config"])
    assert "system-metrics = on" in listed.output
    result = CliRunner().invoke(main, ["--store", str(sampling.root), "config", "system-metrics", "off"])
    assert result.exit_code == 0 and "system-metrics = off" in result.output
    with nbmlops.start_run() as off:
        pass
    monkeypatch.setenv(system.SWITCH_ENV, "1")  # the environment wins over the store's setting
    with nbmlops.start_run() as on:
        pass
    assert system_keys(off.run_id) == set()
    assert system_keys(on.run_id) >= {"system/memory_percent"}


def test_an_unreadable_settings_file_leaves_sampling_on(sampling: Store, capfd: pytest.CaptureFixture[str]) -> None:
    (sampling.root / settings.FILENAME).write_text("{not json")
    with nbmlops.start_run() as run:
        pass
    assert system_keys(run.run_id) >= {"system/memory_percent"}
    assert "settings.json is unreadable" in capfd.readouterr().err


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"system_metrics": "yes"}, "system_metrics must be True or False"),
    ({"system_metrics": 1}, "system_metrics must be True or False"),
    ({"system_metrics": 10**5000}, "system_metrics must be True or False, got int"),
    ({"system_metrics": "False"}, "system_metrics must be True or False, got str"),
    ({"system_metrics_interval": "5"}, "must be a number of seconds, got str"),
    ({"system_metrics_interval": True}, "must be a number of seconds, got bool"),
    ({"system_metrics_interval": 0}, "from 0.1 to 86400"),
    ({"system_metrics_interval": -5}, "from 0.1 to 86400"),
    ({"system_metrics_interval": 0.05}, "from 0.1 to 86400"),
    ({"system_metrics_interval": float("nan")}, "from 0.1 to 86400"),
    ({"system_metrics_interval": float("inf")}, "from 0.1 to 86400"),
    ({"system_metrics_interval": 1e300}, "from 0.1 to 86400"),
    ({"system_metrics_interval": 10**5000}, "is inf: give a number of seconds from 0.1 to 86400"),
    ({"system_metrics_interval": [5]}, "must be a number of seconds, got list"),
    ({"system_metrics": False, "system_metrics_interval": "x"}, "must be a number of seconds"),
])
def test_bad_arguments_are_refused_before_the_run_starts(sampling: Store, kwargs: dict[str, Any],
                                                         message: str) -> None:
    with pytest.raises(nbmlops.InvalidInputError, match=message) as caught:
        nbmlops.start_run(**kwargs)
    assert "\n" not in str(caught.value)
    assert nbmlops.active_run() is None
    assert nbmlops.runs().empty


@pytest.mark.parametrize(("name", "value", "message"), [
    (system.SWITCH_ENV, "maybe", "set it to 1 or 0"),
    (system.SWITCH_ENV, "ünïcode\u2028", "set it to 1 or 0"),
    (system.INTERVAL_ENV, "five", "a number of seconds, e.g. 5"),
    (system.INTERVAL_ENV, "0", "from 0.1 to 86400"),
    (system.INTERVAL_ENV, "nan", "from 0.1 to 86400"),
    (system.INTERVAL_ENV, "-inf", "from 0.1 to 86400"),
    (system.INTERVAL_ENV, "1e999", "from 0.1 to 86400"),
])
def test_bad_environment_values_are_one_line_errors(sampling: Store, monkeypatch: pytest.MonkeyPatch,
                                                    name: str, value: str, message: str) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(nbmlops.InvalidInputError, match=message) as caught:
        nbmlops.start_run()
    assert "\n" not in str(caught.value) and name in str(caught.value)
    assert nbmlops.runs().empty


def test_a_bad_interval_variable_does_not_stop_a_run_that_is_not_sampled(
        sampling: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(system.INTERVAL_ENV, "five")
    with nbmlops.start_run(system_metrics=False) as run:
        pass
    assert nbmlops.get_run(run.run_id).status is nbmlops.RunStatus.FINISHED


def test_the_interval_variable_sets_the_cadence(sampling: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(system.INTERVAL_ENV, "0.2")
    with nbmlops.start_run() as run:
        time.sleep(1.0)
    assert len(nbmlops.metric_history(run.run_id, "system/memory_percent")) >= 3


def run_tracked_cell(name: str) -> None:
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in (
        "%load_ext nbmlops", f"%%track --name {name}\nimport time\ntime.sleep(1.2)  # sampled from 1 s in")])
    nbclient.NotebookClient(nb, timeout=120, kernel_name="python3").execute()


def test_a_tracked_cell_in_a_kernel_gets_points(sampling: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NBMLOPS_STORE", str(sampling.root))
    run_tracked_cell("sampled")
    monkeypatch.setenv(system.SWITCH_ENV, "0")
    run_tracked_cell("not-sampled")
    table = nbmlops.runs().set_index("name")
    assert table.loc["sampled", "metrics.system/memory_percent"] > 0
    assert table.filter(like="metrics.system/").loc["not-sampled"].isna().all()


def test_a_notebook_run_is_sampled_by_the_runner_not_its_kernel(sampling: Store, monkeypatch: pytest.MonkeyPatch,
                                                                  tmp_path: Path) -> None:
    monkeypatch.setenv("NBMLOPS_STORE", str(sampling.root))
    notebook = make_notebook(tmp_path / "train.ipynb", "n = 10",
                             "import nbmlops\nnbmlops.log_metric('n', n)",
                             "from nbmlops.tracking import tracker\nassert tracker.tracker()._system.sampler is None")
    run = nbmlops.run_notebook(notebook)
    assert run.status is nbmlops.RunStatus.FINISHED, run.error
    assert run.metrics["n"] == 10 and system_keys(run.run_id) >= {"system/memory_percent"}


def test_a_bundle_carries_the_system_metrics_to_another_store(sampling: Store, tmp_path: Path) -> None:
    with nbmlops.start_run(name="moved", system_metrics_interval=0.1) as run:
        time.sleep(0.35)
    history = nbmlops.metric_history(run.run_id, "system/net_recv_mb")
    other = Store(tmp_path / "other" / ".nbmlops")
    other.init()
    import_bundle(other, export_bundle(nbmlops.get_store()))
    pd.testing.assert_frame_equal(store_runs.metric_history(other, run.run_id, "system/net_recv_mb"), history)
    other.release()


def test_every_store_setting_is_documented() -> None:
    documented = (ROOT / "docs" / "cli.md").read_text()
    for name in settings.SETTINGS:
        assert f"`{name}`" in documented, name


def test_no_gpu_here_means_no_gpu_keys_and_no_words(capfd: pytest.CaptureFixture[str]) -> None:
    import pynvml  # installed with nbmlops

    with pytest.raises(pynvml.NVMLError):
        pynvml.nvmlInit()  # no NVIDIA driver on this machine: the real failure
    gpus = system.Gpus()
    assert gpus.read() == {} and gpus.read() == {}
    captured = capfd.readouterr()
    assert captured.out == "" and captured.err == ""


class FakeNvml:
    """A stand-in for the pynvml module (the only way to exercise the GPU readings without a GPU)."""

    NVML_TEMPERATURE_GPU = 0

    class NVMLError(Exception):
        pass

    class NVMLError_NotSupported(NVMLError):  # noqa: N801 - pynvml's own spelling
        pass

    class NVMLError_GpuIsLost(NVMLError):  # noqa: N801
        pass

    def __init__(self, count: int = 2, init_error: Exception | None = None) -> None:
        self.count = count
        self.init_error = init_error
        self.power_calls = 0
        self.lost = False

    def nvmlInit(self) -> None:  # noqa: N802
        if self.init_error is not None:
            raise self.init_error

    def nvmlDeviceGetCount(self) -> int:  # noqa: N802
        return self.count

    def nvmlDeviceGetHandleByIndex(self, i: int) -> int:  # noqa: N802
        return i

    def nvmlDeviceGetUtilizationRates(self, h: int) -> SimpleNamespace:  # noqa: N802
        if self.lost and h == 0:
            raise self.NVMLError_GpuIsLost("GPU is lost")
        return SimpleNamespace(gpu=40 + h, memory=10)

    def nvmlDeviceGetMemoryInfo(self, h: int) -> SimpleNamespace:  # noqa: N802
        return SimpleNamespace(used=(h + 1) * 2**30, total=16 * 2**30, free=0)

    def nvmlDeviceGetPowerUsage(self, h: int) -> int:  # noqa: N802
        if h == 1:
            self.power_calls += 1
            raise self.NVMLError_NotSupported("Not Supported")
        return 123_456  # milliwatts

    def nvmlDeviceGetTemperature(self, h: int, sensor: int) -> int:  # noqa: N802
        assert sensor == self.NVML_TEMPERATURE_GPU
        return 61


def test_gpu_readings_in_our_units() -> None:
    nvml = FakeNvml()
    values = system.Gpus(nvml).read()
    assert values == {
        "system/gpu0_util_percent": 40.0, "system/gpu0_memory_used_mb": 1024.0, "system/gpu0_power_w": 123.456,
        "system/gpu0_temp_c": 61.0,
        "system/gpu1_util_percent": 41.0, "system/gpu1_memory_used_mb": 2048.0, "system/gpu1_temp_c": 61.0,
    }


def test_a_reading_a_gpu_does_not_support_is_not_asked_again_and_other_errors_skip_one_sample() -> None:
    nvml = FakeNvml()
    gpus = system.Gpus(nvml)
    gpus.read()
    nvml.lost = True
    lost = gpus.read()
    assert "system/gpu0_util_percent" not in lost and "system/gpu0_temp_c" in lost
    nvml.lost = False
    assert "system/gpu0_util_percent" in gpus.read()  # a passing error is not remembered
    assert nvml.power_calls == 1  # "not supported" is


@pytest.mark.parametrize("error", [FakeNvml.NVMLError("Driver Not Loaded"), OSError("libnvidia-ml.so.1"),
                                   RuntimeError("odd")])
def test_nvml_that_cannot_start_gives_no_gpu_keys(error: Exception) -> None:
    assert system.Gpus(FakeNvml(init_error=error)).read() == {}


def test_gpu_keys_reach_the_run(sampling: Store) -> None:
    tracking.tracker()._system = system.SystemMetrics(system.Gpus(FakeNvml(count=1)))
    with nbmlops.start_run() as run:
        pass
    assert system_keys(run.run_id) >= {"system/gpu0_util_percent", "system/gpu0_power_w"}


def test_a_failing_psutil_skips_samples_warns_once_and_the_run_goes_on(
        sampling: Store, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]) -> None:
    def broken() -> None:
        raise psutil.AccessDenied(msg="/proc/meminfo")

    monkeypatch.setattr(psutil, "virtual_memory", broken)
    with nbmlops.start_run(system_metrics_interval=0.1) as run:
        nbmlops.log_metric("loss", 0.25)
        time.sleep(0.5)
    assert nbmlops.get_run(run.run_id).status is nbmlops.RunStatus.FINISHED
    assert nbmlops.get_run(run.run_id).metrics == {"loss": 0.25}
    err = capfd.readouterr().err
    assert err.count("system metrics sample failed") == 1 and "AccessDenied" in err


def test_a_sampler_that_dies_at_once_does_not_break_the_run(
        sampling: Store, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]) -> None:
    def broken(interval: float | None = None) -> float:
        raise psutil.Error("no /proc")

    monkeypatch.setattr(psutil, "cpu_percent", broken)  # the sampler's first call: it ends there
    with nbmlops.start_run(system_metrics_interval=0.1) as run:
        nbmlops.log_metric("loss", 0.25)
        time.sleep(0.3)
        assert sampler_threads() == []
    with nbmlops.start_run(system_metrics_interval=0.1) as second:
        pass
    assert nbmlops.get_run(run.run_id).status is nbmlops.RunStatus.FINISHED
    assert nbmlops.get_run(run.run_id).metrics == {"loss": 0.25}
    assert nbmlops.get_run(second.run_id).status is nbmlops.RunStatus.FINISHED
    assert capfd.readouterr().err.count("system metrics sample failed") == 1


def test_nested_runs_sample_the_outermost_only(sampling: Store) -> None:
    with nbmlops.start_run(name="outer") as outer:
        with nbmlops.start_run(name="inner", system_metrics=True) as inner:
            assert len(sampler_threads()) == 1
        assert len(sampler_threads()) == 1  # the inner run's end leaves the outer one sampled
    assert system_keys(outer.run_id) >= {"system/memory_percent"}
    assert system_keys(inner.run_id) == set()


def test_a_run_inside_an_unsampled_run_is_sampled(sampling: Store) -> None:
    with nbmlops.start_run(name="outer", system_metrics=False) as outer:
        with nbmlops.start_run(name="inner") as inner:
            pass
        with nbmlops.start_run(name="second inner") as second:
            pass
    assert system_keys(outer.run_id) == set()
    assert system_keys(inner.run_id) >= {"system/memory_percent"}
    assert system_keys(second.run_id) >= {"system/memory_percent"}


def test_ending_the_outer_run_ends_the_sampled_inner_one_with_its_end_sample(sampling: Store) -> None:
    outer = nbmlops.start_run(name="outer", system_metrics=False)
    inner = nbmlops.start_run(name="inner")
    nbmlops.end_run()  # the inner run
    assert sampler_threads() == []
    again = nbmlops.start_run(name="inner again")
    tracking.tracker().end_run(run_id=outer.run_id)  # ends "inner again" with it
    assert sampler_threads() == []
    assert len(nbmlops.metric_history(inner.run_id, "system/memory_percent")) == 1  # its end sample
    assert len(nbmlops.metric_history(again.run_id, "system/memory_percent")) == 1
    assert nbmlops.get_run(again.run_id).status is nbmlops.RunStatus.FINISHED


def test_an_attached_run_is_left_to_the_process_that_started_it(sampling: Store) -> None:
    with nbmlops.start_run(name="elsewhere", system_metrics=False) as owner:
        pass
    attached = tracking.tracker().attach_run(owner.run_id)
    assert sampler_threads() == []
    tracking.tracker().detach_run(attached.run_id)
    assert system_keys(owner.run_id) == set()


FORKING = """
import os, time, nbmlops
from nbmlops.tracking import tracker
with nbmlops.start_run(name="forking", system_metrics=True, system_metrics_interval=0.1) as run:
    sampler = tracker.tracker()._system.sampler
    pid = os.fork()
    if pid == 0:
        nbmlops.log_metric("child", 2.0)
        time.sleep(1.6)  # six of the parent's intervals after its first second
        raise SystemExit(0)  # a normal exit: the child's tracker closes and flushes
    os.waitpid(pid, 0)
print(run.run_id, sampler.samples)
"""


def test_a_forked_child_does_not_sample_the_parents_run(fresh_store: Store) -> None:
    result = run_python(FORKING, fresh_store)
    run_id, samples = result.stdout.split()
    assert nbmlops.get_run(run_id).metrics["child"] == 2.0
    history = nbmlops.metric_history(run_id, "system/memory_percent")
    assert len(history) == int(samples) >= 3  # only the parent's own samples


def test_the_argument_then_the_environment_then_the_store_setting_decides(monkeypatch: pytest.MonkeyPatch) -> None:
    def unread() -> bool:
        raise AssertionError("the store's setting was read although something else decided")

    monkeypatch.delenv(system.SWITCH_ENV, raising=False)
    monkeypatch.delenv(system.INTERVAL_ENV, raising=False)
    assert system.options(None, None, lambda: False) == system.Options(False, system.DEFAULT_INTERVAL)
    assert system.options(None, None, lambda: True) == system.Options(True, system.DEFAULT_INTERVAL)
    assert system.options(True, 2, unread) == system.Options(True, 2.0)
    monkeypatch.setenv(system.SWITCH_ENV, "yes")
    monkeypatch.setenv(system.INTERVAL_ENV, "30")
    assert system.options(None, None, unread) == system.Options(True, 30.0)
    assert system.options(None, 0.5, unread) == system.Options(True, 0.5)
    assert system.options(False, None, unread).enabled is False
    assert system.options(np.False_, None, unread).enabled is False
