"""The where / order_by language, run against a real DuckDB catalog."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import datetime, timedelta

import duckdb
import pytest

from nbmlops.errors import FilterSyntaxError, InvalidInputError
from nbmlops.query.sql import (
    ATTRIBUTES,
    And,
    Compare,
    In,
    IsNull,
    Like,
    Not,
    Or,
    Ref,
    SortKey,
    build_runs_query,
    parse_order_by,
    parse_where,
)
from nbmlops.store.migrations import MIGRATIONS

NAN, INF = float("nan"), float("inf")
T0 = datetime(2024, 1, 1, 10, 0, 0)

# run_id, experiment, name, status, start, seconds until end (None: still running), user, host, notebook, parent
RUNS = [
    ("r1", "mnist", "baseline", "FINISHED", T0, 600, "alice", "h1", "train.ipynb", None),
    ("r2", "mnist", "resnet-big", "FAILED", datetime(2024, 2, 1), 3600, "bob", "h2", "train.ipynb", None),
    ("r3", "cifar", "resnet-small", "RUNNING", datetime(2024, 3, 1), None, "alice", "h1", "eval.ipynb", "r1"),
    ("r4", "cifar", "nan-run", "KILLED", datetime(2024, 4, 1), 60, None, "h2", None, None),
    ("r5", "mnist", "O'Brien", "FINISHED", datetime(2024, 5, 1), 30, "carol", "h1", None, None),
]
# run_id, key, value, value_num, value_type
PARAMS = [
    ("r1", "lr", "0.1", 0.1, "float"), ("r2", "lr", "0.01", 0.01, "float"),
    ("r3", "lr", "0.001", 0.001, "float"), ("r4", "lr", "nan", None, "float"),
    ("r1", "epochs", "10", 10, "int"), ("r2", "epochs", "20", 20, "int"),
    ("r3", "epochs", "5", 5, "int"), ("r4", "epochs", "many", None, "str"),
    ("r1", "optimizer", "adam", None, "str"), ("r2", "optimizer", "sgd", None, "str"),
    ("r3", "optimizer", "adam", None, "str"), ("r4", "optimizer", "Adam W", None, "str"),
    ("r1", "use_bn", "true", 1, "bool"), ("r2", "use_bn", "false", 0, "bool"),
    ("r3", "use_bn", "true", None, "str"), ("r4", "use_bn", "1", 1, "int"),
    ("r1", "layers", "[64, 32]", None, "json"),
    ("r2", "my key", "x", None, "str"), ("r3", "λ", "0.5", 0.5, "float"),
    ("r1", "a.b/c:d-e", "dotted", None, "str"), ("r5", "we`ird", "1", 1, "int"),
    ("r5", 'say "hi"', "hi", None, "str"),
]
METRICS = [  # run_id, key, value
    ("r1", "acc", 0.9), ("r2", "acc", 0.95), ("r3", "acc", 0.5), ("r4", "acc", NAN),
    ("r1", "loss", 0.3), ("r2", "loss", 0.1), ("r3", "loss", INF), ("r4", "loss", NAN), ("r5", "loss", -INF),
]
TAGS = [  # run_id, key, value
    ("r1", "team", "vision"), ("r2", "team", "vision"), ("r3", "team", "nlp"),
    ("r1", "priority", "10"), ("r2", "priority", "9"), ("r3", "priority", "high"),
    ("r4", "note with space", "x"), ("r5", "ñame", "yes"),
]


@pytest.fixture(scope="module")
def seeded_catalog() -> Iterator[duckdb.DuckDBPyConnection]:
    """An in-memory catalog at the latest schema holding RUNS, PARAMS, METRICS and TAGS."""
    con = duckdb.connect(":memory:")
    for m in MIGRATIONS:
        m.apply(con)
    for run_id, exp, name, status, start, seconds, user, host, notebook, parent in RUNS:
        end = None if seconds is None else start + timedelta(seconds=seconds)
        con.execute("INSERT INTO runs (run_id, experiment, name, status, start_time, end_time, user_name, host,"
                    " notebook, parent_run_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [run_id, exp, name, status, start, end, user, host, notebook, parent])
    con.executemany("INSERT INTO params VALUES (?, ?, ?, ?, ?)", PARAMS)
    con.executemany("INSERT INTO latest_metrics VALUES (?, ?, 0, ?, ?)", [(r, k, T0, v) for r, k, v in METRICS])
    con.executemany("INSERT INTO tags VALUES (?, ?, ?, ?)", [(r, k, v, T0) for r, k, v in TAGS])
    yield con
    con.close()


def run_ids(con: duckdb.DuckDBPyConnection, **kwargs: object) -> list[str]:
    sql, params = build_runs_query(**kwargs)
    return [row[0] for row in con.execute(sql, params).fetchall()]


def matching(con: duckdb.DuckDBPyConnection, where: str) -> set[str]:
    return set(run_ids(con, where=where))


ALL = {"r1", "r2", "r3", "r4", "r5"}


@pytest.mark.parametrize("where, expected", [
    ("metrics.acc = 0.9", {"r1"}),
    ("metrics.acc == 0.9", {"r1"}),
    ("metrics.acc != 0.9", {"r2", "r3"}),
    ("metrics.acc <> 0.9", {"r2", "r3"}),
    ("metrics.acc < 0.9", {"r3"}),
    ("metrics.acc <= 0.9", {"r1", "r3"}),
    ("metrics.acc > 0.9", {"r2"}),
    ("metrics.acc >= 0.9", {"r1", "r2"}),
    ("metrics.acc>=9e-1", {"r1", "r2"}),
    ("metrics.loss > 1000", {"r3"}),       # +inf is a number like any other
    ("metrics.loss < -1e300", {"r5"}),     # so is -inf
    ("metrics.loss > -1", {"r1", "r2", "r3"}),
    ("metrics.loss > 1e999", set()),       # a literal too big for a double is inf, not an error
])
def test_each_operator_compares_metrics(seeded_catalog, where, expected):
    assert matching(seeded_catalog, where) == expected


def test_nan_metric_is_unknown_in_comparisons_but_present(seeded_catalog):
    assert "r4" not in matching(seeded_catalog, "metrics.acc > 0") | matching(seeded_catalog, "metrics.acc < 1")
    assert "r4" not in matching(seeded_catalog, "not metrics.acc > 0")
    assert "r4" not in matching(seeded_catalog, "metrics.acc is null")


def test_a_param_logged_as_inf_is_a_number_and_one_logged_as_none_is_null(fresh_store):
    """What runs() shows is what a where filter reads, and what a promotion gate reads too."""
    import nbmlops
    from nbmlops.query.gates import Facts, evaluate_gate

    logged = {"big": float("inf"), "small": float("-inf"), "unset": None, "half": 0.5}
    for name, value in logged.items():
        with nbmlops.start_run(experiment="e", name=name):
            nbmlops.log_param("clip", value)
    names = {w: set(nbmlops.runs(where=w)["name"]) for w in (
        "params.clip > 1", "params.clip < -1", "params.clip is null", "params.clip is not null",
        "not params.clip = 0.5")}
    assert names == {"params.clip > 1": {"big"}, "params.clip < -1": {"small"}, "params.clip is null": {"unset"},
                     "params.clip is not null": {"big", "small", "half"}, "not params.clip = 0.5": {"big", "small"}}
    shown = nbmlops.runs(order_by="params.clip")
    assert list(shown["name"]) == ["small", "half", "big", "unset"]
    assert shown["params.clip"].iloc[3] is None
    for where, picked in names.items():  # the same text as a gate passes the same runs
        assert {n for n, v in logged.items() if evaluate_gate(where, Facts(params={"clip": v}), None).passed} == picked


@pytest.mark.parametrize("where, expected", [
    # and binds tighter than or
    ("metrics.acc > 0.8 or metrics.acc < 0.6 and params.optimizer = 'sgd'", {"r1", "r2"}),
    ("(metrics.acc > 0.8 or metrics.acc < 0.6) and params.optimizer = 'sgd'", {"r2"}),
    ("params.optimizer = 'adam' AND metrics.acc > 0.6 OR name = 'nan-run'", {"r1", "r4"}),
    ("params.optimizer = 'adam' and (metrics.acc > 0.6 or name = 'resnet-small')", {"r1", "r3"}),
    # not binds tighter than and; a run lacking the param is unknown, so neither side matches it
    ("not params.optimizer = 'adam'", {"r2", "r4"}),
    ("not params.optimizer = 'adam' and metrics.acc > 0.9", {"r2"}),
    ("not (params.optimizer = 'adam' and metrics.acc > 0.6)", {"r2", "r3", "r4"}),  # false and unknown
    ("NOT NOT metrics.acc > 0.9", {"r2"}),
    ("not (metrics.acc > 0.9)", {"r1", "r3"}),
    ("((((name = 'baseline'))))", {"r1"}),
])
def test_boolean_logic_and_precedence(seeded_catalog, where, expected):
    assert matching(seeded_catalog, where) == expected


@pytest.mark.parametrize("where, expected", [
    ("name like 'resnet%'", {"r2", "r3"}),
    ("name not like 'resnet%'", {"r1", "r4", "r5"}),
    ("name like 'resnet-_ig'", {"r2"}),
    ("params.optimizer like 'Adam%'", {"r4"}),            # like is case-sensitive
    ("params.optimizer not like 'a%'", {"r2", "r4"}),
    ("tags.team like '%sion'", {"r1", "r2"}),
    ("start_time like '2024-01%'", {"r1"}),
    ("status like 'fin%'", {"r1", "r5"}),
    ("name like 'O''B%'", {"r5"}),
])
def test_like(seeded_catalog, where, expected):
    assert matching(seeded_catalog, where) == expected


@pytest.mark.parametrize("where, expected", [
    ("params.optimizer in ('adam', 'sgd')", {"r1", "r2", "r3"}),
    ("params.optimizer not in ('adam', 'sgd')", {"r4"}),  # r5 has no optimizer: unknown
    ("params.epochs in (10, 5)", {"r1", "r3"}),
    ("params.epochs in (10, 'many')", {"r1", "r4"}),
    ("params.use_bn in (true)", {"r1"}),
    ("metrics.acc in (0.5, 0.95)", {"r2", "r3"}),
    ("metrics.acc not in (0.5, 0.95)", {"r1"}),
    ("tags.priority in (9, 10)", {"r1", "r2"}),
    ("tags.priority in ('high')", {"r3"}),
    ("experiment IN ('cifar')", {"r3", "r4"}),
    ("status in ('failed', 'Killed')", {"r2", "r4"}),
    ("user not in ('alice')", {"r2", "r5"}),             # r4 has no user: unknown
    ("duration in (60, 30)", {"r4", "r5"}),
    ("start_time in ('2024-02-01', '2024-03-01 00:00:00')", {"r2", "r3"}),
])
def test_in(seeded_catalog, where, expected):
    assert matching(seeded_catalog, where) == expected


@pytest.mark.parametrize("where, expected", [
    ("metrics.acc is null", {"r5"}),
    ("metrics.acc IS NOT NULL", {"r1", "r2", "r3", "r4"}),
    ("params.lr is null", {"r5"}),
    ("params.lr = null", {"r5"}),
    ("params.lr != null", {"r1", "r2", "r3", "r4"}),
    ("tags.team is not null", {"r1", "r2", "r3"}),
    ("end_time is null", {"r3"}),
    ("parent_run_id is not null", {"r3"}),
    ("user is null", {"r4"}),
    ("params.nope is null", ALL),
    ("params.nope = 1", set()),
    ("not params.nope = 1", set()),
    ("metrics.nope < 0 or metrics.nope >= 0", set()),
    ("tags.nope != 'x'", set()),
])
def test_null_and_missing_keys(seeded_catalog, where, expected):
    assert matching(seeded_catalog, where) == expected


@pytest.mark.parametrize("where, expected", [
    ("params.`my key` = 'x'", {"r2"}),
    ('params."my key" = \'x\'', {"r2"}),
    ("params.λ = 0.5", {"r3"}),
    ("params.`λ` > 0.1", {"r3"}),
    ("tags.`note with space` = 'x'", {"r4"}),
    ("tags.ñame = 'yes'", {"r5"}),
    ("params.a.b/c:d-e = 'dotted'", {"r1"}),
    ("params.`we``ird` = 1", {"r5"}),
    ('params."say ""hi""" = \'hi\'', {"r5"}),
    ("PARAMS.lr = 0.1 and Metrics.acc > 0", {"r1"}),
])
def test_quoted_and_unusual_keys(seeded_catalog, where, expected):
    assert matching(seeded_catalog, where) == expected


@pytest.mark.parametrize("where, expected", [
    ("params.use_bn = true", {"r1"}),                    # not the str 'true' nor the int 1
    ("params.use_bn = FALSE", {"r2"}),
    ("params.use_bn != true", {"r2", "r3", "r4"}),
    ("params.use_bn = 'true'", {"r1", "r3"}),            # a string compares the text form
    ("params.use_bn = 1", {"r1", "r4"}),                 # a number compares the numeric form
])
def test_bool_params(seeded_catalog, where, expected):
    assert matching(seeded_catalog, where) == expected


@pytest.mark.parametrize("where, expected", [
    ("params.lr = 0.1", {"r1"}),
    ("params.lr = '0.1'", {"r1"}),
    ("params.lr > 0.005", {"r1", "r2"}),                 # the NaN lr of r4 is unknown
    ("params.epochs > 9", {"r1", "r2"}),                 # numeric, not "10" < "9"
    ("params.epochs > '9'", {"r4"}),                     # text: only 'many' sorts after '9'
    ("params.epochs = 'many'", {"r4"}),
    ("params.layers = '[64, 32]'", {"r1"}),
    ("tags.priority > 9.5", {"r1"}),                     # numeric tags compare as numbers
    ("tags.priority < 100", {"r1", "r2"}),               # 'high' is not a number
    ("tags.priority = '10'", {"r1"}),
    ("tags.priority > '9'", {"r3"}),                     # text order: 'high' > '9' > '10'
])
def test_numbers_versus_strings(seeded_catalog, where, expected):
    assert matching(seeded_catalog, where) == expected


@pytest.mark.parametrize("where, expected", [
    ("status = 'finished'", {"r1", "r5"}),
    ("status = 'FINISHED'", {"r1", "r5"}),
    ("Status != 'Finished'", {"r2", "r3", "r4"}),
    ("run_id = 'r2'", {"r2"}),
    ("name = 'O''Brien'", {"r5"}),
    ("experiment = 'cifar'", {"r3", "r4"}),
    ("user = 'alice'", {"r1", "r3"}),
    ("host = 'h2'", {"r2", "r4"}),
    ("notebook = 'eval.ipynb'", {"r3"}),
    ("parent_run_id = 'r1'", {"r3"}),
    ("start_time >= '2024-03-01'", {"r3", "r4", "r5"}),
    ("start_time > '2024-01-01 10:00:00'", {"r2", "r3", "r4", "r5"}),
    ("start_time < '2024-01-01T10:30:00+01:00'", set()),   # 09:30 UTC: before r1 started
    ("start_time < '2024-01-01T11:30:00+01:00'", {"r1"}),
    ("start_time <= '2024-01-01T10:00:00Z'", {"r1"}),
    ("end_time < '2024-02-01'", {"r1"}),
    ("duration > 500", {"r1", "r2", "r3"}),                # r3 is still running: counted until now
    ("duration < 100", {"r4", "r5"}),
    ("duration = 600", {"r1"}),
])
def test_attributes(seeded_catalog, where, expected):
    assert matching(seeded_catalog, where) == expected


@pytest.mark.parametrize("order_by, expected", [
    (None, ["r5", "r4", "r3", "r2", "r1"]),
    ("", ["r5", "r4", "r3", "r2", "r1"]),
    ("metrics.acc desc", ["r2", "r1", "r3", "r4", "r5"]),  # NaN and missing last, by run_id
    ("metrics.acc", ["r3", "r1", "r2", "r4", "r5"]),
    ("metrics.acc ASC", ["r3", "r1", "r2", "r4", "r5"]),
    ("metrics.loss", ["r5", "r2", "r1", "r3", "r4"]),     # -inf first, inf before NaN
    ("params.epochs", ["r3", "r1", "r2", "r4", "r5"]),    # numbers, then text, then missing
    ("params.epochs desc", ["r2", "r1", "r3", "r4", "r5"]),
    ("tags.priority desc", ["r1", "r2", "r3", "r4", "r5"]),
    ("tags.team asc, metrics.acc desc", ["r3", "r2", "r1", "r4", "r5"]),
    ("user, start_time desc", ["r3", "r1", "r2", "r5", "r4"]),
    ("duration desc", ["r3", "r2", "r1", "r4", "r5"]),
    ("name", ["r5", "r1", "r4", "r2", "r3"]),
])
def test_order_by(seeded_catalog, order_by, expected):
    assert run_ids(seeded_catalog, order_by=order_by) == expected


def test_filter_and_sort_share_one_join_per_key(seeded_catalog):
    sql, params = build_runs_query(where="metrics.acc > 0.5 and params.lr > 0", order_by="metrics.acc desc",
                                   experiments=["mnist"], limit=10, offset=1)
    assert sql.count("JOIN latest_metrics") == 1 and sql.count("JOIN params") == 1
    assert params == ["acc", "lr", "mnist", 0.5, 0.0, 10, 1]  # joins, then where, then limit
    assert run_ids(seeded_catalog, where="metrics.acc > 0.5", order_by="metrics.acc desc", limit=1, offset=1) == ["r1"]


@pytest.mark.parametrize("order_by", ["experiment", "host desc", "params.optimizer", "metrics.nope"])
def test_paging_is_stable_and_complete(seeded_catalog, order_by):
    everything = run_ids(seeded_catalog, order_by=order_by)
    pages = [run_ids(seeded_catalog, order_by=order_by, limit=2, offset=o) for o in (0, 2, 4)]
    assert [run for page in pages for run in page] == everything
    assert sorted(everything) == sorted(ALL)


def test_limit_and_offset(seeded_catalog):
    assert run_ids(seeded_catalog, limit=0) == []
    assert run_ids(seeded_catalog, offset=3) == ["r2", "r1"]
    assert run_ids(seeded_catalog, limit=10, offset=10) == []
    for bad in ({"limit": -1}, {"limit": 1.5}, {"limit": True}, {"offset": -2}, {"offset": None}, {"limit": "3"}):
        with pytest.raises(InvalidInputError):
            build_runs_query(**bad)


def test_experiments_filter(seeded_catalog):
    assert run_ids(seeded_catalog, experiments=["cifar"]) == ["r4", "r3"]
    assert run_ids(seeded_catalog, experiments=["cifar", "mnist"]) == ["r5", "r4", "r3", "r2", "r1"]
    assert run_ids(seeded_catalog, experiments=[]) == []
    assert run_ids(seeded_catalog, experiments=["mnist"], where="metrics.acc > 0.9") == ["r2"]
    assert run_ids(seeded_catalog, experiments=["nope"]) == []
    with pytest.raises(InvalidInputError):
        build_runs_query(experiments="mnist")  # type: ignore[arg-type]


def test_blank_filter_is_no_filter(seeded_catalog):
    assert matching(seeded_catalog, "") == matching(seeded_catalog, "  \n\t ") == ALL
    assert parse_where(None) is None and parse_order_by("  ") == ()


def test_the_documented_error_message():
    with pytest.raises(FilterSyntaxError) as caught:
        parse_where("metrics.acc > ")
    assert str(caught.value) == "bad filter at column 15: expected a value after '>' in \"metrics.acc > \""
    assert caught.value.position == 14 and caught.value.text == "metrics.acc > "


@pytest.mark.parametrize("text, position, words", [
    ("name = 'abc", 7, "unterminated string"),
    ("name = 'it''s", 7, "unterminated string"),
    ("params.`abc = 1", 7, "unterminated quoted key"),
    ("foo = 1", 0, "unknown field 'foo'; use params.x / metrics.x / tags.x or one of: duration"),
    ("param.x = 1", 0, "unknown field 'param.x'"),
    ("params. = 1", 8, "expected a key name after 'params.'"),
    ("metrics.acc =~ 1", 12, "unknown operator '=~'"),
    ("name && x", 5, "unknown operator '&&' (use 'and')"),
    ("metrics.acc 0.5", 12, "expected an operator"),
    ("metrics.acc", 11, "expected an operator"),
    ("(name = 'a'", 11, "missing ')' to close the '(' at column 1"),
    ("(name = 'a' or (run_id = 'b')", 29, "missing ')' to close the '(' at column 1"),
    ("name = 'a')", 10, "unmatched ')'"),
    ("name = 'a' name = 'b'", 11, "unexpected 'name' after a complete condition"),
    ("name in ()", 9, "empty in-list"),
    ("name in ('a' 'b')", 13, "expected ',' or ')'"),
    ("name in 'a'", 8, "expected '(' after 'in'"),
    ("metrics.acc > 'high'", 14, "metric 'acc' is a number; compare it with a number, not 'high'"),
    ("metrics.acc in (1, 'x')", 19, "metric 'acc' is a number"),
    ("metrics.acc like 'a%'", 0, "'like' works on text"),
    ("name = adam", 7, "text values take single quotes: 'adam'"),
    ('name = "adam"', 7, "text values take single quotes"),
    ("name = 5", 7, "name is text; quote the value: '5'"),
    ("start_time > 'yesterday'", 13, "start_time needs a date"),
    ("duration > '1h'", 11, "duration is in seconds"),
    ("tags.x = true", 9, "true/false only compare with params"),
    ("params.x > true", 11, "true/false only work with = and !="),
    ("metrics.acc > null", 14, "use 'is null'"),
    ("name in ('a', null)", 14, "null cannot be in an in-list"),
    ("name is nul", 8, "expected 'null' after 'is'"),
    ("name not = 'a'", 9, "expected 'like' or 'in' after 'name not'"),
    ("name = 'a' and", 14, "expected a field, found the end"),
    ("metrics.acc > 0.5 and or", 22, "expected a field, found 'or'"),
    ("name like adam", 10, "expected a quoted pattern"),
])
def test_syntax_errors_name_what_and_where(text, position, words):
    with pytest.raises(FilterSyntaxError) as caught:
        parse_where(text)
    message = str(caught.value)
    assert caught.value.position == position, message
    assert message.startswith(f"bad filter at column {position + 1}: ") and words in message
    assert "\n" not in message and caught.value.text == text


@pytest.mark.parametrize("text, position, words", [
    ("metrics.acc up", 12, "unknown sort direction 'up'; use asc or desc"),
    ("metrics.acc desc name", 17, "unexpected 'name' after a complete sort key"),
    ("metrics.acc,", 12, "expected a field, found the end"),
    ("bogus desc", 0, "unknown field 'bogus'"),
])
def test_order_by_errors(text, position, words):
    with pytest.raises(FilterSyntaxError) as caught:
        build_runs_query(order_by=text)
    assert caught.value.position == position and words in str(caught.value)
    assert str(caught.value).startswith(f"bad order_by at column {position + 1}: ")


def test_long_input_shows_a_short_excerpt():
    text = "name = 'a' and " * 20 + "name = "
    with pytest.raises(FilterSyntaxError) as caught:
        parse_where(text)
    assert caught.value.position == len(text) and len(str(caught.value)) < 200


def test_input_size_and_type_limits():
    with pytest.raises(InvalidInputError, match="limit is 10000"):
        parse_where("name = 'a' or " * 1000 + "name = 'b'")
    with pytest.raises(InvalidInputError):
        parse_order_by(42)  # type: ignore[arg-type]


def test_nesting_depth_is_limited_not_a_crash(seeded_catalog):
    assert matching(seeded_catalog, "(" * 100 + "name = 'baseline'" + ")" * 100) == {"r1"}
    assert matching(seeded_catalog, "not " * 100 + "name = 'baseline'") == {"r1"}
    for text in ("(" * 101 + "name = 'a'" + ")" * 101, "(" * 5000, "not " * 2000 + "name = 'a'"):
        with pytest.raises(FilterSyntaxError, match="nested deeper than 100"):
            parse_where(text)
    many = " or ".join(f"run_id = 'x{i}'" for i in range(500))  # long flat chains are fine
    assert matching(seeded_catalog, many + " or run_id = 'r2'") == {"r2"}


@pytest.mark.parametrize("where", [
    "params.optimizer = 'a'' OR 1=1 --'",
    "name = 'x'' OR ''1''=''1'",
    "name = '; DROP TABLE runs; --'",
    "params.`x' OR '1'='1` = 1",
    "params.`x' OR '1'='1` is not null",
    'tags."a"" OR 1=1 --" = \'x\'',
    "metrics.`acc = m0.value OR TRUE` > 0",
    "name like '%'' OR TRUE --'",
    "params.`) UNION SELECT run_id FROM runs --` in ('a')",
])
def test_injection_attempts_are_only_data(seeded_catalog, where):
    sql, params = build_runs_query(where=where)
    for fragment in ("OR 1=1", "DROP", "UNION", "OR TRUE", "'1'='1"):
        assert fragment not in sql
    assert [row[0] for row in seeded_catalog.execute(sql, params).fetchall()] == []
    assert seeded_catalog.execute("SELECT count(*) FROM runs").fetchone() == (5,)


def test_injection_in_order_by_and_experiments(seeded_catalog):
    weird = "params.`lr) DESC; DROP TABLE runs; --` desc"
    assert run_ids(seeded_catalog, order_by=weird) == ["r1", "r2", "r3", "r4", "r5"]
    assert run_ids(seeded_catalog, experiments=["mnist') OR ('1'='1"]) == []
    assert seeded_catalog.execute("SELECT count(*) FROM runs").fetchone() == (5,)


def test_parse_where_builds_frozen_nodes():
    assert parse_where("not (metrics.acc > 0.9 or params.`my key` like 'a%') and tags.t in (1, 'x')") == And((
        Not(Or((Compare(Ref("metrics", "acc"), ">", 0.9), Like(Ref("params", "my key"), "a%")))),
        In(Ref("tags", "t"), (1.0, "x")),
    ))
    assert parse_where("user is not null") == IsNull(Ref("attribute", "user"), negated=True)
    assert parse_where("metrics.acc <> -1.5e2") == Compare(Ref("metrics", "acc"), "!=", -150.0)
    assert parse_order_by("metrics.acc DESC, name") == (
        SortKey(Ref("metrics", "acc"), descending=True), SortKey(Ref("attribute", "name")))
    with pytest.raises(dataclasses.FrozenInstanceError):
        parse_where("name = 'a'").op = "!="  # type: ignore[union-attr]


def test_attributes_are_listed():
    assert set(ATTRIBUTES) == {"run_id", "name", "experiment", "status", "start_time", "end_time", "user",
                               "host", "notebook", "parent_run_id", "duration"}
