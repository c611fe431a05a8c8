"""Reading runs back never breaks and says what it sees: huge ints, wide runs, unknown keys, terminals."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pandas as pd
import pytest

import nbmlops
from nbmlops.server import handlers
from nbmlops.store import runs as search
from nbmlops.store.folder import Store
from nbmlops.tracking import tracker as tracking

BIG = 2**64


def nb(store: Store, *args: str, columns: int | None = None) -> subprocess.CompletedProcess[str]:
    """Run the `nbmlops` command against `store`, with $COLUMNS set when given."""
    env = {**os.environ, "NBMLOPS_STORE": str(store.root)}
    env.pop("COLUMNS", None)
    if columns is not None:
        env["COLUMNS"] = str(columns)
    return subprocess.run([sys.executable, "-m", "nbmlops.cli", *args], env=env,
                          capture_output=True, text=True, timeout=60)


@pytest.fixture
def store_with_huge_int(fresh_store: Store) -> Store:
    """A run whose `seed` param is 2**64 written the way older versions did, beside a plain run."""
    with nbmlops.start_run(experiment="e", name="old"):
        # The journal event older versions wrote for seed=2**64: [key, text, number, type].
        tracking.tracker().emit("params", {"items": [["seed", str(BIG), float(BIG), "int"],
                                                     ["n_estimators", "300", 300.0, "int"]]})
    with nbmlops.start_run(experiment="e", name="plain"):
        nbmlops.log_params({"seed": 7})
    return fresh_store


def test_int_param_beyond_64_bits_reads_back_exactly_as_text(store_with_huge_int: Store) -> None:
    df = nbmlops.runs().set_index("name")
    assert df.loc["old", "params.seed"] == str(BIG)
    assert df.loc["plain", "params.seed"] == 7
    run = nbmlops.get_run(df.loc["old", "run_id"])
    assert run.params["seed"] == BIG
    assert list(nbmlops.runs(where="params.seed > 100")["name"]) == ["old"]


def test_int_params_are_nullable_ints_beside_runs_that_lack_them(store_with_huge_int: Store) -> None:
    df = nbmlops.runs().set_index("name")
    assert str(df["params.n_estimators"].dtype) == "Int64"
    assert df.loc["old", "params.n_estimators"] == 300
    assert df.loc["plain", "params.n_estimators"] is pd.NA
    assert "300.0" not in df.to_string()


def test_cli_and_rest_show_huge_and_missing_int_params(store_with_huge_int: Store) -> None:
    records = {r["name"]: r for r in json.loads(nb(store_with_huge_int, "runs", "--format", "json").stdout)}
    assert records["old"]["params.seed"] == str(BIG) and records["old"]["params.n_estimators"] == 300
    assert records["plain"]["params.seed"] == 7 and records["plain"]["params.n_estimators"] is None
    csv = nb(store_with_huge_int, "runs", "--format", "csv", "--columns", "name,params.*")
    assert csv.stdout.splitlines()[1:] == ["plain,,7", f"old,300,{BIG}"]
    table = nb(store_with_huge_int, "runs", columns=200)
    assert table.returncode == 0, table.stderr
    assert str(BIG) in table.stdout and "300.0" not in table.stdout
    body = json.loads(handlers.dumps(handlers.run_list(store_with_huge_int, None, None, None, 100, 0, None)))
    params = {r["name"]: r["params"] for r in body["runs"]}
    assert params == {"old": {"seed": str(BIG), "n_estimators": 300}, "plain": {"seed": 7}}


def test_a_run_with_10000_params_reads_back_every_value_with_its_type(fresh_store: Store) -> None:
    with nbmlops.start_run(experiment="wide", name="wide"):
        nbmlops.log_params({f"p{i:05d}": i for i in range(10_000)})
        nbmlops.log_params({"lr": 0.1, "opt": "adam", "bn": True, "layers": [64, 32], "none": None})
    for i in range(3):
        with nbmlops.start_run(experiment="wide", name=f"narrow{i}"):
            nbmlops.log_params({"p00001": i, "lr": float("nan") if i else 1, "opt": "sgd"})
            nbmlops.log_metric("auc", i / 10)
    df = nbmlops.runs(order_by="name").set_index("name")
    params = [c for c in df.columns if c.startswith("params.p")]
    assert params == sorted(params) and len(params) == 10_000
    assert df.loc["wide", params].tolist() == list(range(10_000))
    assert str(df["params.p09999"].dtype) == "Int64" and df["params.p09999"].isna().sum() == 3
    assert df["params.p00001"].tolist() == [0, 1, 2, 1]  # narrow0-2, wide
    assert df.loc["wide", ["params.opt", "params.bn", "params.layers", "params.none"]].tolist() == \
        ["adam", True, [64, 32], None]
    assert df["params.lr"].dtype == float and df["params.lr"].tolist()[::3] == [1.0, 0.1]
    assert pd.isna(df.loc["narrow1", "params.lr"])
    assert df["params.opt"].tolist() == ["sgd", "sgd", "sgd", "adam"]
    assert df["metrics.auc"].tolist()[:3] == [0.0, 0.1, 0.2] and pd.isna(df.loc["wide", "metrics.auc"])
    assert df.loc["narrow2", "tags.python"] == df.loc["wide", "tags.python"]


@pytest.fixture
def churn_runs(fresh_store: Store) -> Store:
    """Two experiments: churn runs with metrics.auc and params.lr, one other run with metrics.rmse."""
    for lr in (0.1, 0.01):
        with nbmlops.start_run(experiment="churn"):
            nbmlops.log_params({"lr": lr})
            nbmlops.log_metric("auc", 0.8 + lr)
    with nbmlops.start_run(experiment="prices"):
        nbmlops.log_metric("rmse", 3.0)
    return fresh_store


def test_where_or_order_by_naming_an_unknown_key_warns_with_the_closest_keys(churn_runs: Store) -> None:
    with pytest.warns(UserWarning) as caught:
        assert nbmlops.runs(where="metrics.acu > 0.5", order_by="metrics.lr desc").empty
    assert [str(w.message) for w in caught] == [
        "metrics.acu: no run has this metric; did you mean metrics.auc?",
        "metrics.lr: no run has this metric; did you mean params.lr?"]
    with pytest.warns(UserWarning, match=r"^metrics.rmse: no run has this metric$"):
        nbmlops.runs("churn", where="metrics.rmse < 5")


def test_no_warning_when_a_searched_run_has_the_key(churn_runs: Store, recwarn: pytest.WarningsRecorder) -> None:
    assert len(nbmlops.runs("churn", where="metrics.auc > 2 and params.lr is not null", order_by="tags.python")) == 0
    assert len(nbmlops.runs(where="metrics.rmse < 5")) == 1
    assert not [w for w in recwarn if issubclass(w.category, UserWarning)]


def test_cli_prints_an_unknown_key_warning_as_one_line_on_stderr(churn_runs: Store) -> None:
    result = nb(churn_runs, "runs", "--where", "metrics.acu > 0.5")
    assert result.returncode == 0 and "No runs match." in result.stdout
    assert result.stderr == "Warning: metrics.acu: no run has this metric; did you mean metrics.auc?\n"


def test_gate_keys_the_champion_or_candidate_lack_are_named_with_the_closest_keys() -> None:
    from nbmlops.query.gates import Facts, missing_references
    candidate, champion = Facts({"auc": 0.9}, {"lr": 0.1}), Facts({"auc": 0.8}, {}, {}, 3)
    assert missing_references("metrics.auc >= champion.metrics.acu and metrics.lr < 1 and version > 0",
                              candidate, champion) == [
        "champion.metrics.acu: the champion v3 has no such metric; did you mean champion.metrics.auc?",
        "metrics.lr: the candidate has no such metric; did you mean params.lr?"]
    assert missing_references("metrics.auc >= champion.metrics.auc", candidate, champion) == []


HOSTILE = 'x" FROM (SELECT 1); --'


def test_a_hostile_key_in_where_and_order_by_is_only_a_key(fresh_store: Store) -> None:
    with nbmlops.start_run(experiment="e", name="plain"):
        nbmlops.log_metric("auc", 0.5)
    with pytest.warns(UserWarning, match="no run has this metric"):
        assert nbmlops.runs(where=f"metrics.`{HOSTILE}` > 0", order_by=f"metrics.`{HOSTILE}`").empty
    with nbmlops.start_run(experiment="e", name="odd"):
        nbmlops.log_params({HOSTILE: 1})
        nbmlops.log_metric(HOSTILE, 2.0)
    with pytest.warns(UserWarning, match="no run has this tag; did you mean params"):
        found = nbmlops.runs(where=f"params.`{HOSTILE}` = 1 and metrics.`{HOSTILE}` > 1", order_by=f"tags.`{HOSTILE}`")
    assert list(found["name"]) == ["odd"] and found[f"metrics.{HOSTILE}"].tolist() == [2.0]
    assert sorted(nbmlops.runs()["name"]) == ["odd", "plain"]


@pytest.fixture
def wide_store(fresh_store: Store) -> Store:
    """Three runs with 200 params each (some varying, one with a 300-character value) and long metric names."""
    for i in range(3):
        with nbmlops.start_run(experiment="wide", name=f"run-{i}"):
            nbmlops.log_params({**{f"param_{j:03d}": j * (i + 1) for j in range(200)}, "fixed": "same",
                                "note": "x" * 300 + str(i)})
            nbmlops.log_metrics({"a_rather_long_metric_name_for_validation_auc": 0.5 + i / 10, "loss": 1.0 / (i + 1)})
    return fresh_store


def test_runs_table_fits_80_columns_and_says_how_to_show_hidden_columns(wide_store: Store) -> None:
    result = nb(wide_store, "runs", columns=80)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80
    assert lines[0].split()[:5] == ["id", "name", "status", "start", "duration"]
    metric_header = lines[0].split()[5]  # long headers are ellipsised, the more to fit
    assert metric_header.startswith("metrics.a_rather") and metric_header.endswith("…")
    assert "params.fixed" not in result.stdout  # the same in every run
    assert [line.split()[1] for line in lines[1:4]] == ["run-2", "run-1", "run-0"]
    assert lines[-1] == "200 more columns hidden: show with --columns name,metrics.loss,..."
    picked = nb(wide_store, "runs", "--columns", "name,params.note,params.param_199", columns=80).stdout.splitlines()
    assert max(len(line) for line in picked) <= 80 and "…" in picked[1] and "x" * 40 not in picked[1]
    assert picked[1].split()[-1] == "597"
    everything = nb(wide_store, "runs", "--columns", "all", columns=80).stdout.splitlines()
    assert max(len(line) for line in everything) <= 80 and everything[0].startswith("run_id")


def test_runs_csv_and_json_stay_complete(wide_store: Store) -> None:
    csv = nb(wide_store, "runs", "--format", "csv", columns=80).stdout.splitlines()
    assert csv[0].split(",") == list(nbmlops.runs().columns) and "params.fixed" in csv[0]
    assert any("x" * 300 + "2" in line for line in csv)
    records = json.loads(nb(wide_store, "runs", "--format", "json", columns=80).stdout)
    assert records[0]["params.note"] == "x" * 300 + "2" and records[0]["params.param_199"] == 597


EVIL = "ok\x1b]0;pwned\x07-still\x1b[2Jhere\x9b31m\x07\x00!"


def test_show_and_runs_strip_terminal_control_sequences(fresh_store: Store) -> None:
    with pytest.raises(RuntimeError), nbmlops.start_run(experiment="e", name="evil", tags={"evil": EVIL}):
        nbmlops.log_params({"p": EVIL})
        raise RuntimeError("\x1b[31mred\x1b[0m failure")
    run_id = nbmlops.runs()["run_id"][0]
    for args in (["show", run_id], ["runs", "--columns", "name,tags.evil,params.p"], ["experiments"]):
        out = nb(fresh_store, *args, columns=200)
        assert out.returncode == 0, out.stderr
        assert not set(out.stdout) & {"\x1b", "\x07", "\x9b", "\x00"}, args
    shown = nb(fresh_store, "show", run_id).stdout
    assert re.search(r"\n  evil +ok-stillhere!\n", shown) and "RuntimeError: red failure" in shown
    assert "ok-stillhere!" in nb(fresh_store, "runs", "--columns", "name,tags.evil", columns=200).stdout
    assert json.loads(nb(fresh_store, "show", run_id, "--format", "json").stdout)["tags"]["evil"] == EVIL


def test_runs_table_shows_short_ids_that_show_accepts_and_show_takes_a_unique_name(fresh_store: Store) -> None:
    for name in ("alpha", "beta", "beta"):
        with nbmlops.start_run(experiment="ids", name=name):
            nbmlops.log_metric("auc", 0.5)
    table = nb(fresh_store, "runs", columns=120)
    assert table.stdout.splitlines()[0].split()[0] == "id"
    short = [line.split()[0] for line in table.stdout.splitlines()[1:4]]
    full = list(nbmlops.runs(experiment="ids")["run_id"])
    assert [next(f for f in full if f.startswith(s)) for s in short] == full
    assert all(8 <= len(s) < len(f) for s, f in zip(short, full, strict=True))
    for prefix, run_id in zip(short, full, strict=True):
        shown = nb(fresh_store, "show", prefix)
        assert shown.returncode == 0 and run_id in shown.stdout.splitlines()[0]
    by_name = nb(fresh_store, "show", "alpha")
    assert by_name.returncode == 0 and by_name.stdout.startswith("Run alpha")
    ambiguous = nb(fresh_store, "show", "beta")
    assert ambiguous.returncode == 1
    assert ambiguous.stderr.count("\n") == 1 and "several runs are named 'beta'" in ambiguous.stderr


def test_nbmlops_own_queries_for_keys_not_there_yet_do_not_warn(churn_runs: Store) -> None:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert search.runs(churn_runs, where="tags.`sweep.combinations` is not null").empty
    with pytest.warns(UserWarning, match="no run has this tag"):
        nbmlops.runs(where="tags.`sweep.combinations` is not null")
