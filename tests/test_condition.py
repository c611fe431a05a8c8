"""The one condition language: where filters and gates share a tree, and its two back ends agree.

The SQL back end (a `where` compiled by query.build_runs_query, run by DuckDB on a catalog at the
latest schema) and the Python back end (the same text as a gate, evaluated by gates.evaluate_gate on
each run's facts, read back as the registry reads them) must pick the same runs, for every
condition both languages can say, over runs holding numbers, text, NaN, infinities, params logged as
None and missing keys.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import datetime

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nbmlops.entities import decode_param
from nbmlops.errors import FilterSyntaxError
from nbmlops.query.condition import Compare, Literal, Ref, parse_gate, parse_where
from nbmlops.query.gates import Facts, evaluate_gate
from nbmlops.query.lexer import spell_key
from nbmlops.query.sql import build_runs_query
from nbmlops.store.migrations import MIGRATIONS
from nbmlops.tracking.validation import param_value

T0 = datetime(2024, 1, 1)
TEXTS = ["", "a", "b", "B", "ab", "é", "O'Brien", "10", "9"]
FINITE = st.one_of(st.integers(-3, 3).map(float), st.sampled_from([0.5, -0.25, 1e300, -1e-300]))
NUMBER_VALUES = st.one_of(FINITE, st.sampled_from([math.nan, math.inf, -math.inf]))
# Keys of one type each: a where filter reads params by the type of the value it is compared with
# (a number param's text '0.5' equals '0.5'), while a gate never compares a number with text.
NUMBER_KEYS = ["metrics.m", "metrics.`n n`"]
PARAM_NUMBER_KEYS = ["params.p"]
TEXT_KEYS = ["params.s", "tags.t", "tags.`odd``key`"]
BOOL_KEYS = ["params.b"]


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
        made.append(run)
    return made


def _number(value: float) -> str:
    return "1e999" if value == math.inf else "-1e999" if value == -math.inf else repr(value)


def _text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


@st.composite
def comparisons(draw: st.DrawFn) -> str:
    """One test both languages can say, as text."""
    kind = draw(st.sampled_from(["number", "text", "bool"]))
    key = draw(st.sampled_from({"number": NUMBER_KEYS + PARAM_NUMBER_KEYS, "text": TEXT_KEYS, "bool": BOOL_KEYS}[kind]))
    value = {"number": NUMBER_VALUES.filter(lambda v: not math.isnan(v)).map(_number),
             "text": st.sampled_from(TEXTS).map(_text), "bool": st.sampled_from(["true", "false"])}[kind]
    ops = ["=", "!=", "==", "<>"] + (["<", "<=", ">", ">="] if kind != "bool" else [])
    form = draw(st.sampled_from(["compare", "in", "null"]))
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
        con.execute("INSERT INTO runs (run_id, experiment, name, status, start_time) VALUES (?, 'e', ?, 'FINISHED', ?)",
                    [run_id, run_id, T0])
        for field, value in run.items():
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
    return Facts(metrics=metrics, params=params, tags=tags)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(made=runs(), text=CONDITIONS)
def test_sql_and_python_back_ends_pick_the_same_runs(catalog, made, text):
    _fill(catalog, made)
    sql, args = build_runs_query(where=text)
    by_sql = {row[0] for row in catalog.execute(sql, args).fetchall()}
    by_python = {f"r{i}" for i in range(len(made)) if evaluate_gate(text, _facts(catalog, f"r{i}"), None).passed}
    assert by_sql == by_python, (text, made)


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
