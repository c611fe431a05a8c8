"""Tracking under hostile or unlucky input: text UTF-8 cannot hold, integers beyond 64 bits, many
short runs in a fresh process, and symbolic links in logged artifacts (issue 12)."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import warnings
from concurrent.futures import Future
from pathlib import Path

import pytest

import nbmlops
from nbmlops.entities import RunStatus
from nbmlops.errors import InvalidInputError
from nbmlops.store.folder import Store
from nbmlops.tracking import provenance
from nbmlops.tracking import tracker as tracking

BAD = "bad\ud800"  # a lone surrogate: what a non-UTF-8 file name decodes to


# -- text that UTF-8 cannot hold -------------------------------------------------------------

@pytest.mark.parametrize("call, named", [
    (lambda: nbmlops.log_param("path", BAD), "param 'path' value"),
    (lambda: nbmlops.log_params({"files": ["ok", BAD]}), "param 'files' value"),
    (lambda: nbmlops.log_param(BAD, 1), "param key"),
    (lambda: nbmlops.set_tag("origin", BAD), "tag 'origin' value"),
    (lambda: nbmlops.set_tag(BAD, "x"), "tag key"),
    (lambda: nbmlops.log_metric(BAD, 1.0), "metric key"),
    (lambda: nbmlops.start_run(name=BAD), "run name"),
    (lambda: nbmlops.start_run(experiment=BAD), "experiment name"),
    (lambda: nbmlops.set_experiment(BAD), "experiment name"),
])
def test_unencodable_text_is_refused_at_the_call_and_the_run_still_ends(fresh_store: Store, call, named) -> None:
    with nbmlops.start_run() as run:
        nbmlops.log_param("lr", 0.1)
        with pytest.raises(InvalidInputError) as refused:
            call()
    message = str(refused.value)
    assert named in message and "surrogate" in message and "errors='replace'" in message
    assert "\n" not in message
    done = nbmlops.get_run(run.run_id)
    assert done.status == RunStatus.FINISHED and done.params == {"lr": 0.1}


def test_unencodable_artifact_name_is_refused_and_nothing_is_stored(fresh_store: Store, tmp_path: Path) -> None:
    data = tmp_path / "data.txt"
    data.write_text("rows")
    with nbmlops.start_run() as run, pytest.raises(InvalidInputError, match="artifact name .* surrogate"):
        nbmlops.log_artifact(data, name=BAD)
    assert _user_artifacts(run.run_id) == set()


def test_a_file_name_that_is_not_utf8_is_refused_with_what_to_do(fresh_store: Store, tmp_path: Path) -> None:
    folder = tmp_path / "results"
    folder.mkdir()
    (folder / "ok.txt").write_text("ok")
    odd = folder / os.fsdecode(b"caf\xe9.csv")  # Latin-1 bytes: a lone surrogate once decoded
    odd.write_text("a,b")
    with nbmlops.start_run() as run:
        with pytest.raises(InvalidInputError, match=r"'results/caf\?\.csv' in it is not UTF-8 .*rename that file"):
            nbmlops.log_artifact(folder)
        with pytest.raises(InvalidInputError, match="its file name is not UTF-8; pass name="):
            nbmlops.log_artifact(odd)
        assert nbmlops.log_artifact(odd, name="cafe.csv") == ["cafe.csv"]
    assert _user_artifacts(run.run_id) == {"cafe.csv"}


def test_an_unencodable_event_at_flush_is_dropped_alone_and_the_run_ends_finished(fresh_store: Store) -> None:
    t = tracking.tracker()
    with pytest.warns(RuntimeWarning) as caught, nbmlops.start_run() as run:
        nbmlops.log_params({"lr": 0.1, "depth": 3})
        for step in range(5):
            nbmlops.log_metric("loss", 1.0 / (step + 1), step=step)
        # Forced failures at the tracker's internal seam, as a bug in a caller of emit could make:
        t.emit("params", {"items": [["ok", "1", 1.0, "int"], ["broken", BAD, None, "str"]]})
        t.emit("dataset", {"name": "frame", "schema": {"col": object()}})
        nbmlops.set_tag("after", "yes")
    dropped = [str(w.message) for w in caught]
    assert len(dropped) == 2 and all("\n" not in m for m in dropped)
    assert "params 'broken'" in dropped[0] and "surrogate" in dropped[0]
    assert "'dataset' event" in dropped[1] and "not JSON serializable" in dropped[1]

    done = nbmlops.get_run(run.run_id)
    assert done.status == RunStatus.FINISHED
    assert done.params == {"lr": 0.1, "depth": 3, "ok": 1}
    assert done.tags["after"] == "yes"
    assert nbmlops.metric_history(run.run_id, "loss")["value"].tolist() == [1.0, 0.5, 1 / 3, 0.25, 0.2]


def test_an_exception_whose_text_utf8_cannot_hold_still_ends_the_run_failed(fresh_store: Store) -> None:
    with pytest.raises(ValueError, match="^cannot parse bad"), nbmlops.start_run() as run:
        nbmlops.log_metric("loss", 0.5)
        raise ValueError(f"cannot parse {BAD}")  # a file name read from a non-UTF-8 folder, say
    done = nbmlops.get_run(run.run_id)
    assert done.status == RunStatus.FAILED
    assert "ValueError: cannot parse bad?" in done.error
    assert done.metrics == {"loss": 0.5}


def test_a_run_start_with_unencodable_text_is_repaired_not_dropped(fresh_store: Store) -> None:
    t = tracking.tracker()
    t.experiment = f"exp-{BAD}"  # past validation, as an experiment from the environment could be
    with (pytest.warns(RuntimeWarning, match="wrote the run start of run .* replaced by '\\?'"),
          nbmlops.start_run() as run):
        nbmlops.log_metric("loss", 0.5)
    done = nbmlops.get_run(run.run_id)
    assert done.status == RunStatus.FINISHED and done.experiment == "exp-bad?" and done.metrics == {"loss": 0.5}


# -- integers beyond 64 bits -----------------------------------------------------------------

def test_int_param_beyond_64_bits_is_kept_exactly_as_text(fresh_store: Store) -> None:
    with (pytest.warns(UserWarning, match="does not fit in 64 bits: kept exactly as text") as caught,
          nbmlops.start_run() as run):
        nbmlops.log_params({"seed": 2**64, "low": -2**63 - 1, "top": 2**63 - 1})
        nbmlops.log_param("seed", 2**64)  # the same value again is a no-op, as for any param
    assert [str(w.message).split(" does")[0] for w in caught] == [
        "param 'seed' = 18446744073709551616", "param 'low' = -9223372036854775809"]
    assert all("\n" not in str(w.message) for w in caught)

    params = nbmlops.get_run(run.run_id).params
    assert params == {"seed": "18446744073709551616", "low": "-9223372036854775809", "top": 2**63 - 1}
    row = nbmlops.runs().iloc[0]
    assert row["params.seed"] == "18446744073709551616"
    assert row["params.low"] == "-9223372036854775809"
    assert row["params.top"] == 2**63 - 1


def test_int_params_within_64_bits_warn_nothing(fresh_store: Store) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with nbmlops.start_run() as run:
            nbmlops.log_params({"a": 2**63 - 1, "b": -2**63})
    assert nbmlops.get_run(run.run_id).params == {"a": 2**63 - 1, "b": -2**63}


# -- many short runs in a fresh process ------------------------------------------------------

MANY_RUNS = """
import json, threading
started = []
_start = threading.Thread.start
def counting_start(self):
    started.append(self.name)
    _start(self)
threading.Thread.start = counting_start

import nbmlops
from nbmlops.tracking import provenance
ids = []
for i in range(50):
    with nbmlops.start_run() as run:
        nbmlops.log_params({f"p{k}": k for k in range(10)})
        nbmlops.log_metrics({f"m{k}": 0.5 for k in range(5)})
    ids.append(run.run_id)
print(json.dumps({"ids": ids, "lookups": provenance.lookups_started(),
                  "threads": started.count("nbmlops-provenance")}))
"""


def test_many_short_runs_in_a_fresh_process_share_one_provenance_lookup(fresh_store: Store, tmp_path: Path) -> None:
    env = {**os.environ, "NBMLOPS_STORE": str(fresh_store.root)}
    done = subprocess.run([sys.executable, "-c", MANY_RUNS], env=env, cwd=tmp_path, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    child = json.loads(done.stdout)
    assert child["threads"] == 1 and child["lookups"] == 1

    df = nbmlops.runs()
    assert set(df["run_id"]) == set(child["ids"])
    assert df["tags.python"].notna().all() and df["tags.platform"].notna().all()
    for run_id in child["ids"][:3] + child["ids"][-3:]:
        run = nbmlops.get_run(run_id)
        assert "provenance/environment.json" in {a.path for a in run.artifacts}
        assert run.status == RunStatus.FINISHED and len(run.params) == 10 and len(run.metrics) == 5


def test_runs_ended_before_the_lookup_ends_get_their_provenance_when_it_does(
        fresh_store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    pending: Future[None] = Future()  # the look-up for this folder, not ended yet
    monkeypatch.setitem(provenance._lookups.futures, provenance.working_dir(), pending)
    ended = []
    for i in range(3):
        with nbmlops.start_run(tags={"python": "mine"} if i == 0 else None) as run:
            nbmlops.log_param("i", i)
        ended.append(run.run_id)
    assert all("platform" not in nbmlops.get_run(r).tags for r in ended)

    pending.set_result(None)
    tracking.tracker().wait_for_provenance()
    tags = [nbmlops.get_run(r).tags for r in ended]
    assert all(t["platform"] == platform.platform() for t in tags)
    assert [t["python"] for t in tags] == ["mine", platform.python_version(), platform.python_version()]


# -- symbolic links in artifacts -------------------------------------------------------------

SECRET = b"root:x:0:0:secret\n"


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A folder outside any logged path, holding a secret file and a secret folder."""
    folder = tmp_path / "outside"
    (folder / "keys").mkdir(parents=True)
    (folder / "passwd").write_bytes(SECRET)
    (folder / "keys" / "id").write_bytes(SECRET)
    return folder


def _user_artifacts(run_id: str) -> set[str]:
    return {a.path for a in nbmlops.get_run(run_id).artifacts if not a.path.startswith("provenance/")}


def _stored_secret(store: Store) -> bool:
    tracking.tracker().wait_for_provenance()
    return any(p.read_bytes() == SECRET for p in store.artifact_dir.rglob("*") if p.is_file())


def test_log_artifact_refuses_a_symlinked_file_unless_follow_symlinks(fresh_store: Store, tmp_path: Path,
                                                                      outside: Path) -> None:
    link = tmp_path / "config.txt"
    link.symlink_to(outside / "passwd")
    with nbmlops.start_run() as run, pytest.raises(InvalidInputError) as refused:
        nbmlops.log_artifact(link)
    assert "is a symbolic link to" in str(refused.value) and "follow_symlinks=True" in str(refused.value)
    assert "\n" not in str(refused.value)
    assert _user_artifacts(run.run_id) == set() and not _stored_secret(fresh_store)

    with nbmlops.start_run() as run:
        assert nbmlops.log_artifact(link, follow_symlinks=True) == ["config.txt"]
    assert _user_artifacts(run.run_id) == {"config.txt"} and _stored_secret(fresh_store)


def test_log_artifact_refuses_a_folder_with_a_link_out_of_it(fresh_store: Store, tmp_path: Path,
                                                              outside: Path) -> None:
    logged = tmp_path / "results"
    logged.mkdir()
    (logged / "a.txt").write_text("a")
    (logged / "keys").symlink_to(outside / "keys", target_is_directory=True)
    linked_folder = tmp_path / "linked"
    linked_folder.symlink_to(outside, target_is_directory=True)
    with nbmlops.start_run() as run:
        with pytest.raises(InvalidInputError, match=r"'keys' in it is a symbolic link to .*outside the folder; "
                                                    r"pass follow_symlinks=True"):
            nbmlops.log_artifact(logged)
        with pytest.raises(InvalidInputError, match="linked': it is a symbolic link to"):
            nbmlops.log_artifact(linked_folder)
    assert _user_artifacts(run.run_id) == set() and not _stored_secret(fresh_store)

    with nbmlops.start_run() as run:
        assert nbmlops.log_artifact(logged, follow_symlinks=True) == ["results/a.txt", "results/keys/id"]
        assert nbmlops.log_artifact(linked_folder, follow_symlinks=True) == ["linked/keys/id", "linked/passwd"]
    assert _stored_secret(fresh_store)


def test_log_artifact_refuses_an_inner_file_link_out_and_stores_nothing(fresh_store: Store, tmp_path: Path,
                                                                          outside: Path) -> None:
    logged = tmp_path / "results"
    (logged / "deep").mkdir(parents=True)
    (logged / "a.txt").write_text("a")
    (logged / "deep" / "b.txt").write_text("b")
    (logged / "deep" / "passwd").symlink_to(Path("..") / ".." / "outside" / "passwd")
    with (nbmlops.start_run() as run,
          pytest.raises(InvalidInputError, match=r"'deep/passwd' in it is a symbolic link to '../../outside")):
        nbmlops.log_artifact(logged)
    assert _user_artifacts(run.run_id) == set() and not _stored_secret(fresh_store)


def test_log_artifact_keeps_links_that_stay_inside_the_folder(fresh_store: Store, tmp_path: Path) -> None:
    logged = tmp_path / "results"
    (logged / "v2").mkdir(parents=True)
    (logged / "v2" / "model.bin").write_bytes(b"weights")
    (logged / "model.bin").symlink_to(Path("v2") / "model.bin")
    (logged / "latest").symlink_to("v2", target_is_directory=True)
    (logged / "v2" / "loop").symlink_to("..", target_is_directory=True)  # a cycle is not followed
    with nbmlops.start_run() as run:
        names = nbmlops.log_artifact(logged)
    assert names == ["results/latest/model.bin", "results/model.bin", "results/v2/model.bin"]
    assert _user_artifacts(run.run_id) == set(names)
