"""The one condition language: where filters and gates share a tree, and its two back ends agree.

The SQL back end (a `where` compiled by query.build_runs_query, run by DuckDB on a catalog at the
latest schema) and the Python back end (the same text as a gate, evaluated by gates.evaluate_gate on
each run's facts, read back as the registry reads them) must pick the same runs, for every
condition a where filter can say (every where filter is a gate), over runs holding numbers, text, NaN,
infinities, params logged as None, missing keys, and run attributes: text, times, durations, running
runs without an end and NULL users and hosts.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nbmlops.entities import decode_param
from nbmlops.errors import FilterSyntaxError
from nbmlops.query.condition import Compare, Literal, Ref, parse_gate, parse_where
from nbmlops.query.gates import Facts, evaluate_gate, like
from nbmlops.query.lexer import spell_key
from nbmlops.query.sql import build_runs_query
from nbmlops.store.migrations import MIGRATIONS
from nbmlops.store.runs import run_attributes
from nbmlops.tracking.validation import param_value

T0 = datetime(2024, 1, 1)
TEXTS = ["", "a", "b", "B", "ab", "é", "O'Brien", "10", "9", " 1e1 ", "1_0", "inf", "nan", "٩"]
FINITE = st.one_of(st.integers(-3, 3).map(float), st.sampled_from([0.5, -0.25, 1e300, -1e-300]))
NUMBER_VALUES = st.one_of(FINITE, st.sampled_from([math.nan, math.inf, -math.inf]))
# Keys of one type each: a where filter reads params by the type of the value it is compared with
# (a number param's text '0.5' equals '0.5'), while a gate never compares a number with text.
NUMBER_KEYS = ["metrics.m", "metrics.`n n`"]
PARAM_NUMBER_KEYS = ["params.p"]
TEXT_KEYS = ["params.s", "tags.t", "tags.`odd``key`"]
BOOL_KEYS = ["params.b"]
# Run attributes: text ones (status upper-case, as runs store it), times and the duration in seconds.
TEXT_ATTRIBUTES = ["name", "user", "host", "status", "experiment"]
STATUSES = ["RUNNING", "FINISHED", "FAILED", "KILLED"]
STARTS = [T0, T0 + timedelta(seconds=0.5), T0 + timedelta(hours=1, microseconds=120)]
LASTED = [timedelta(0), timedelta(seconds=0.5), timedelta(minutes=1), timedelta(hours=1)]
WHEN = ["'2024-01-01'", "'2024-01-01 00:00:00.5'", "'2024-01-01T00:00:00.5Z'", "'2024-01-01T02:00:00+01:00'",
        "'2024-01-01 01:00:00.00012'", "'2023-12-31 23:59'", "'2024-01-01 01:01:00.00012'"]
SECONDS = ["0", "0.5", "1", "60", "3600", "3600.5", "-1", "1e999"]
# What `like` sees: text values, and times as DuckDB writes them (no trailing zeros in the fraction).
LIKED = {"text": TEXTS, "attribute": [*TEXTS, *STATUSES, "e", "h", "Finished"],
         "time": ["2024-01-01 00:00:00", "2024-01-01 00:00:00.5", "2024-01-01 00:00:01", "2024-01-01 00:01:00.5",
                  "2024-01-01 01:00:00.00012", "2024-01-01 01:00:00.50012", "2024-01-01 02:00:00.00012"]}
# Odd characters: a backslash, which DuckDB's LIKE takes as itself, and a quote.
PATTERN_CHARS = ["%", "_", "a", "b", "B", "é", "'", "\\", "1", "0", "-", ":", " ", ".", "5"]


@st.composite
def patterns(draw: st.DrawFn, kind: str) -> str:
    """A like pattern: mostly a value `like` may see, some characters swapped for wildcards, dropped or
    changed in case, with wildcards around it; else a few characters at random."""
    if draw(st.integers(0, 3)) == 0:
        return "".join(draw(st.lists(st.sampled_from(PATTERN_CHARS), max_size=6)))
    value = draw(st.sampled_from(LIKED[kind]))
    chars = [draw(st.sampled_from([*[c] * 6, c.swapcase(), "_", "%", ""])) for c in value]
    return draw(st.sampled_from(["", "%", "_"])) + "".join(chars) + draw(st.sampled_from(["", "%", "_", "0"]))


@st.composite
def runs(draw: st.DrawFn) -> list[dict[str, object]]:
    """Up to five runs, each holding some of the keys; an absent key is how a value is missing, and a
    param may also be logged as None (null, as a missing key is)."""
    made = []
    for _ in range(draw(st.integers(1, 5))):
        run: dict[str, object] = {}
        for key, values in [*((k, NUMBER_VALUES) for k in NUMBER_KEYS),
                            ("params.p", st.one_of(st.integers(-3, 3), NUMBER_VALUES)),
                            *((k, st.sampled_from(TEXTS)) for k in TEXT_KEYS),
                            ("params.b", st.booleans())]:
            if draw(st.booleans()):
                run[key] = draw(st.one_of(values, st.none()) if key.startswith("params.") else values)
        start = draw(st.sampled_from(STARTS))
        lasted = draw(st.one_of(st.none(), st.sampled_from(LASTED)))  # None: still running
        run.update(name=draw(st.sampled_from(TEXTS)), status=draw(st.sampled_from(STATUSES)), start_time=start,
                   end_time=None if lasted is None else start + lasted,
                   user=draw(st.one_of(st.none(), st.sampled_from(TEXTS))), host=draw(st.sampled_from([None, "h"])))
        made.append(run)
    return made


def _number(value: float) -> str:
    return "1e999" if value == math.inf else "-1e999" if value == -math.inf else repr(value)


def _text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


@st.composite
def comparisons(draw: st.DrawFn) -> str:
    """One test a where filter can say, as text."""
    kind = draw(st.sampled_from(["number", "text", "bool", "attribute", "time", "duration", "tag number"]))
    key = draw(st.sampled_from({"number": NUMBER_KEYS + PARAM_NUMBER_KEYS, "text": TEXT_KEYS, "bool": BOOL_KEYS,
                                "tag number": [k for k in TEXT_KEYS if k.startswith("tags.")],
                                "attribute": TEXT_ATTRIBUTES, "time": ["start_time", "end_time"],
                                "duration": ["duration"]}[kind]))
    numbers = NUMBER_VALUES.filter(lambda v: not math.isnan(v)).map(_number)
    value = {"number": numbers, "tag number": numbers,
             "text": st.sampled_from(TEXTS).map(_text), "bool": st.sampled_from(["true", "false"]),
             "attribute": st.sampled_from([*TEXTS, "e", "h", "finished", "Running", "FAILED"]).map(_text),
             "time": st.sampled_from(WHEN), "duration": st.sampled_from(SECONDS)}[kind]
    ops = ["=", "!=", "==", "<>"] + (["<", "<=", ">", ">="] if kind != "bool" else [])
    forms = ["compare", "in", "null"] + (["like"] if kind in ("text", "attribute", "time") else [])
    form = draw(st.sampled_from(forms))
    if form == "like":
        return f"{key} {draw(st.sampled_from(['like', 'not like', 'LIKE']))} {_text(draw(patterns(kind)))}"
    if form == "compare":
        return f"{key} {draw(st.sampled_from(ops))} {draw(value)}"
    if form == "in":
        items = draw(st.lists(value, min_size=1, max_size=3))
        return f"{key} {draw(st.sampled_from(['in', 'not in']))} ({', '.join(items)})"
    return f"{key} {draw(st.sampled_from(['is null', 'is not null', '= null', '!= null']))}"


CONDITIONS = st.recursive(
    comparisons(),
    lambda inner: st.one_of(
        inner.map(lambda c: f"not {c}"), inner.map(lambda c: f"({c})"),
        st.tuples(inner, st.sampled_from(["and", "or", "AND", "Or"]), inner).map(" ".join)),
    max_leaves=6)


@pytest.fixture(scope="module")
def catalog() -> Iterator[duckdb.DuckDBPyConnection]:
    """An empty in-memory catalog at the latest schema; each example fills it."""
    con = duckdb.connect(":memory:")
    for migration in MIGRATIONS:
        migration.apply(con)
    yield con
    con.close()


def _fill(con: duckdb.DuckDBPyConnection, made: list[dict[str, object]]) -> None:
    for table in ("params", "latest_metrics", "tags", "runs"):
        con.execute(f"DELETE FROM {table}")  # noqa: S608 (a fixed table name)
    for i, run in enumerate(made):
        run_id = f"r{i}"
        con.execute("INSERT INTO runs (run_id, experiment, name, status, start_time, end_time, user_name, host) "
                    "VALUES (?, 'e', ?, ?, ?, ?, ?, ?)", [run_id, *(run[a] for a in (
                        "name", "status", "start_time", "end_time", "user", "host"))])
        for field, value in run.items():
            if "." not in field:  # an attribute, in the runs row
                continue
            ref = parse_where(f"{field} is null").operand  # type: ignore[union-attr] (unquotes `odd``key`)
            kind, key = ref.kind, ref.key
            if kind == "metrics":
                con.execute("INSERT INTO latest_metrics VALUES (?, ?, 0, ?, ?)", [run_id, key, T0, value])
            elif kind == "params":  # stored as the tracker stores them: text, number, type
                con.execute("INSERT INTO params VALUES (?, ?, ?, ?, ?)", [run_id, key, *param_value(key, value)])
            else:
                con.execute("INSERT INTO tags VALUES (?, ?, ?, ?)", [run_id, key, value, T0])


def _facts(con: duckdb.DuckDBPyConnection, run_id: str) -> Facts:
    """A run's facts, read back from the catalog as the registry reads a model version's."""
    metrics = dict(con.execute("SELECT key, value FROM latest_metrics WHERE run_id = ?", [run_id]).fetchall())
    params = {k: decode_param(v, t) for k, v, t in con.execute(
        "SELECT key, value, value_type FROM params WHERE run_id = ?", [run_id]).fetchall()}
    tags = dict(con.execute("SELECT key, value FROM tags WHERE run_id = ?", [run_id]).fetchall())
    return Facts(metrics=metrics, params=params, tags=tags, attributes=run_attributes(con, run_id))


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(made=runs(), text=CONDITIONS)
def test_sql_and_python_back_ends_pick_the_same_runs(catalog, made, text):
    _fill(catalog, made)
    sql, args = build_runs_query(where=text)
    by_sql = {row[0] for row in catalog.execute(sql, args).fetchall()}
    by_python = {f"r{i}" for i in range(len(made)) if evaluate_gate(text, _facts(catalog, f"r{i}"), None).passed}
    assert by_sql == by_python, (text, made)


LIKE_ALPHABET = "aAbB_%\\é\n'ß"


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(alphabet=LIKE_ALPHABET, max_size=6), pattern=st.text(alphabet=LIKE_ALPHABET, max_size=6))
def test_like_matches_as_duckdb_does(catalog, text, pattern):
    assert like(text, pattern) is catalog.execute("SELECT ? LIKE ?", [text, pattern]).fetchone()[0]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(moment=st.datetimes(min_value=datetime(1000, 1, 1)))
def test_like_reads_a_time_as_duckdb_writes_it(catalog, moment):
    written = catalog.execute("SELECT CAST(CAST(? AS TIMESTAMP) AS VARCHAR)", [moment]).fetchone()[0]
    assert evaluate_gate(f"start_time like {_text(written)}", Facts(attributes={"start_time": moment}), None).passed


@settings(max_examples=300, deadline=None)
@given(text=CONDITIONS)
def test_a_where_filter_is_a_gate_with_the_same_tree(text):
    assert parse_where(text) == parse_gate(text).condition


@given(key=st.text(min_size=1, max_size=8).filter(lambda k: "\x00" not in k))
def test_spell_key_writes_any_key_so_both_dialects_read_it_back(key):
    written = spell_key("metrics", key)
    assert parse_where(f"{written} > 1") == Compare(Ref("metrics", key), ">", Literal(1.0))
    assert parse_gate(f"{written} > 1").condition == Compare(Ref("metrics", key), ">", Literal(1))
    assert Ref("metrics", key).name == written


def test_spell_key_quotes_only_keys_a_bare_word_cannot_hold():
    assert spell_key("metrics", "val-loss/a.b:c") == "metrics.val-loss/a.b:c"
    assert spell_key("params", "my key") == "params.`my key`"
    assert spell_key("tags", "we`ird") == "tags.`we``ird`"


def test_the_where_dialect_refuses_what_only_gates_say_and_gates_say_all_of_it():
    for gate_only in ("metrics.a > metrics.b", "metrics.a + 1 > 2", "champion.metrics.a > 1", "version > 1",
                      "champion.status = 'FAILED'"):
        with pytest.raises(FilterSyntaxError, match="^bad filter at column"):
            parse_where(gate_only)
        parse_gate(gate_only)
    for where in ("name = 'a'", "params.s like 'a%'", "start_time > '2024-05-01' and duration < 60",
                  "status not like 'F%' or user in ('a', 'b') or host is null"):
        assert parse_gate(where).condition == parse_where(where)


def _documented_filters() -> list[str]:
    doc = (Path(__file__).parent.parent / "docs" / "query.md").read_text()
    block = doc.split("Examples (each line is a filter", 1)[1].split("```text\n", 1)[1].split("```", 1)[0]
    return block.splitlines()


@pytest.mark.parametrize("text", _documented_filters())
def test_every_documented_filter_is_a_gate_and_both_back_ends_read_it(catalog, text):
    assert parse_gate(text).condition == parse_where(text)
    _fill(catalog, [{"name": "resnet_50", "status": "FINISHED", "start_time": datetime(2026, 2, 1),
                     "end_time": datetime(2026, 2, 1, 0, 10), "user": "ana", "host": None, "params.solver": "lbfgs",
                     "metrics.accuracy": 0.95, "params.epochs": 10, "tags.epochs": "12", "params.debug": False}])
    by_sql = [row[0] for row in catalog.execute(*build_runs_query(where=text)).fetchall()]
    assert by_sql == (["r0"] if evaluate_gate(text, _facts(catalog, "r0"), None).passed else [])
