"""The `where` / `order_by` language for runs, compiled to parameterized DuckDB SQL.

Example: ``metrics.acc > 0.9 and params.optimizer in ('adam', 'sgd') and not tags.`bad run` is not null``
with ``order_by="metrics.acc desc, start_time"``. Every key and value the user writes is bound as a
``?`` parameter; only fixed SQL fragments chosen by the compiler reach the statement text.

Types: numbers compare numerically and strings as text. A number compared with a tag uses
``TRY_CAST(value AS DOUBLE)``, so ``tags.epochs > 9`` orders "10" after "9" and a non-numeric tag
matches neither side. NaN metrics and params compare as unknown (like a missing value) and sort last.
A FilterSyntaxError's `position` is the 0-based offset in the text; its message gives the 1-based column.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TypeVar, Union

from nbmlops.errors import InvalidInputError
# And, Not, Or and the limits belong to this language's API too, so they are importable from here.
from nbmlops.lexer import (COMPARISONS, CONSTANTS, KEYWORDS, MAX_DEPTH, MAX_TEXT, NULL_IN_LIST, OPERATOR_HINTS,
                           And, Not, Or, Tokens, lexeme, require_string)

_TIMES = ("start_time", "end_time")
_COLUMNS = {  # attribute -> SQL; every one is text except the two times and duration
    "run_id": "r.run_id", "name": "r.name", "experiment": "r.experiment", "status": "r.status",
    "user": "r.user_name", "host": "r.host", "notebook": "r.notebook", "parent_run_id": "r.parent_run_id",
    "start_time": "r.start_time", "end_time": "r.end_time",
    # epoch() of a TIMESTAMP reads it as UTC, which is how runs store time; now() is the real instant.
    "duration": "(coalesce(epoch(r.end_time), epoch(now())) - epoch(r.start_time))",
}
ATTRIBUTES: tuple[str, ...] = tuple(sorted(_COLUMNS))
KINDS = ("params", "metrics", "tags")
_TABLES = {"params": "params", "metrics": "latest_metrics", "tags": "tags"}
_KEYWORDS = KEYWORDS | {"like", "asc", "desc"}
_LEXEME = lexeme(signed_numbers=True, lone_ops="-")

Value = Union[float, str, bool, None]  # numbers are always float: every numeric column is DOUBLE


@dataclass(frozen=True)
class Ref:
    """A field: kind is params, metrics, tags or attribute."""
    kind: str
    key: str


@dataclass(frozen=True)
class Compare:
    """`ref op value`; op is one of = != < <= > >=."""
    ref: Ref
    op: str
    value: float | str | bool


@dataclass(frozen=True)
class Like:
    """`ref [not] like 'pattern'`."""
    ref: Ref
    pattern: str
    negated: bool = False


@dataclass(frozen=True)
class In:
    """`ref [not] in (v, ...)`."""
    ref: Ref
    values: tuple[float | str | bool, ...]
    negated: bool = False


@dataclass(frozen=True)
class IsNull:
    """`ref is [not] null`: for params, metrics and tags, whether the run lacks the key."""
    ref: Ref
    negated: bool = False


@dataclass(frozen=True)
class SortKey:
    """One `ref [asc|desc]` of an order_by."""
    ref: Ref
    descending: bool = False


_T = TypeVar("_T")
Expr = Union[Compare, Like, In, IsNull, Not, And, Or]


class _Parser(Tokens):
    def __init__(self, text: object, what: str) -> None:
        text = require_string(text, what)
        if len(text) > MAX_TEXT:
            raise InvalidInputError(f"{what} is {len(text)} characters long; the limit is {MAX_TEXT}")
        super().__init__(text, what, _LEXEME)

    def punct(self, char: str) -> bool:
        """Consume the next token if it is this punctuation."""
        tok = self.peek()
        return tok.kind == "punct" and tok.text == char and bool(self.next())

    def nested(self, pos: int, parse: Callable[[], Expr]) -> Expr:
        """Run a recursive parse, failing cleanly long before Python's recursion limit would."""
        self.enter(pos)
        expr = parse()
        self.depth -= 1
        return expr

    def finish(self, result: _T) -> _T:
        """Return what was parsed, if nothing follows it."""
        if self.what == "filter":
            self.expect_end()
        else:
            self.expect_end("sort key", "separate sort keys with ','")
        return result

    # where := or_expr, with 'and' binding tighter than 'or' and 'not' tighter than both.
    def or_expr(self) -> Expr:
        items = [self.and_expr()]
        while self.keyword("or"):
            items.append(self.and_expr())
        return items[0] if len(items) == 1 else Or(tuple(items))

    def and_expr(self) -> Expr:
        items = [self.not_expr()]
        while self.keyword("and"):
            items.append(self.not_expr())
        return items[0] if len(items) == 1 else And(tuple(items))

    def not_expr(self) -> Expr:
        tok = self.peek()
        if self.keyword("not"):
            return Not(self.nested(tok.pos, self.not_expr))
        if self.punct("("):
            expr = self.nested(tok.pos, self.or_expr)
            self.close(tok)
            return expr
        return self.comparison()

    def ref(self) -> tuple[Ref, str]:
        """The field at the cursor and its text as written."""
        tok = self.next()
        hint = f"use params.x / metrics.x / tags.x or one of: {', '.join(ATTRIBUTES)}"
        if tok.kind != "word" or tok.text.lower() in _KEYWORDS:
            found = "the end" if tok.kind == "end" else f"'{tok.text}'"
            self.fail(f"expected a field, found {found}; {hint}", tok.pos)
        head, dot, rest = tok.text.partition(".")
        kind = head.lower()
        if not dot and kind in ATTRIBUTES:
            return Ref("attribute", kind), tok.text
        if not dot or kind not in KINDS:
            self.fail(f"unknown field '{tok.text}'; {hint}", tok.pos)
        if rest:
            return Ref(kind, rest), tok.text
        quoted = self.quoted_key(tok)
        return Ref(kind, quoted.value), tok.text + quoted.text

    def literal(self, after: str) -> tuple[Value, int]:
        tok = self.next()
        if tok.kind == "number":
            return float(tok.text), tok.pos  # float() gives inf rather than failing on huge numbers
        if tok.kind == "string":
            return tok.value, tok.pos
        if tok.kind == "word" and tok.text.lower() in CONSTANTS:
            return CONSTANTS[tok.text.lower()], tok.pos
        hint = f"; text values take single quotes: '{tok.value}'" if tok.kind in ("word", "qkey") else ""
        self.fail(f"expected a value after '{after}'{hint}", tok.pos)

    def comparison(self) -> Expr:
        start = self.peek().pos
        ref, written = self.ref()
        negated = self.null_test()
        if negated is not None:
            return IsNull(ref, negated)
        negated = self.keyword("not")
        if self.keyword("like"):
            tok = self.next()
            if tok.kind != "string":
                self.fail("expected a quoted pattern after 'like', e.g. 'resnet%'", tok.pos)
            if ref.kind == "metrics" or ref == Ref("attribute", "duration"):
                self.fail(f"'{written}' is a number; 'like' works on text", start)
            return Like(ref, tok.value, negated)
        if self.keyword("in"):
            return self.in_list(ref, written, negated)
        if negated:
            self.fail(f"expected 'like' or 'in' after '{written} not'", self.peek().pos)
        tok = self.next()
        if tok.kind != "op":
            found = "the end" if tok.kind == "end" else f"'{tok.text}'"
            self.fail(f"expected an operator (= != < <= > >= like in is) after '{written}', found {found}", tok.pos)
        if tok.text not in COMPARISONS:
            alias = OPERATOR_HINTS.get(tok.text, "")
            self.fail(f"unknown operator '{tok.text}'{alias}; use one of = == != <> < <= > >= like in is", tok.pos)
        op = COMPARISONS[tok.text]
        value, pos = self.literal(tok.text)
        if value is None:
            # `x = null` reads naturally; SQL would make it always unknown, so it means `is null`.
            if op not in ("=", "!="):
                self.fail(f"'{tok.text} null' never matches; use 'is null' or 'is not null'", pos)
            return IsNull(ref, op == "!=")
        self.check(ref, written, op, value, pos)
        return Compare(ref, op, value)

    def in_list(self, ref: Ref, written: str, negated: bool) -> In:
        def item(after: str) -> float | str | bool:
            value, pos = self.literal(after)
            if value is None:
                self.fail(NULL_IN_LIST, pos)
            self.check(ref, written, "=", value, pos)
            return value
        return In(ref, self.in_items(negated, item), negated)

    def check(self, ref: Ref, written: str, op: str, value: float | str | bool, pos: int) -> None:
        """Reject comparisons whose types can never make sense, pointing at the value."""
        if isinstance(value, bool):
            if ref.kind != "params":
                self.fail(f"'{written}' holds {'numbers' if ref.kind == 'metrics' else 'text'}; "
                          "true/false only compare with params", pos)
            if op not in ("=", "!="):
                self.fail("true/false only work with = and !=", pos)
        elif ref.kind == "metrics" and isinstance(value, str):
            self.fail(f"metric '{ref.key}' is a number; compare it with a number, not '{value}'", pos)
        elif ref == Ref("attribute", "duration") and isinstance(value, str):
            self.fail(f"duration is in seconds; compare it with a number, not '{value}'", pos)
        elif ref.kind == "attribute" and ref.key != "duration":
            if not isinstance(value, str):
                holds = "a time" if ref.key in _TIMES else "text"
                self.fail(f"{ref.key} is {holds}; quote the value: '{value:g}'", pos)
            if ref.key in _TIMES and _timestamp(value) is None:
                example = "'2024-05-01' or '2024-05-01 13:30:00'"
                self.fail(f"{ref.key} needs a date such as {example}, not '{value}'", pos)

    def sort_keys(self) -> tuple[SortKey, ...]:
        keys = []
        while True:
            ref, _ = self.ref()
            tok = self.peek()
            descending = False
            if tok.kind == "word":
                if tok.text.lower() not in ("asc", "desc"):
                    self.fail(f"unknown sort direction '{tok.text}'; use asc or desc", tok.pos)
                descending = self.next().text.lower() == "desc"
            keys.append(SortKey(ref, descending))
            if not self.punct(","):
                return tuple(keys)


def _timestamp(text: str) -> str | None:
    """The UTC, naive ISO form of a date string, or None if it is not one."""
    try:
        # Python 3.10 reads no trailing Z; it means UTC.
        moment = datetime.fromisoformat(re.sub(r"[Zz]$", "+00:00", text.strip()))
    except ValueError:
        return None
    if moment.tzinfo is not None:
        moment = moment.astimezone(timezone.utc).replace(tzinfo=None)
    return moment.isoformat(sep=" ")


def parse_where(text: str | None) -> Expr | None:
    """Parse a `where` filter; None for empty or blank text. Example: parse_where("metrics.acc > 0.9")."""
    parser = _Parser("" if text is None else text, "filter")
    return None if parser.peek().kind == "end" else parser.finish(parser.or_expr())


def parse_order_by(text: str | None) -> tuple[SortKey, ...]:
    """Parse an `order_by`; () for empty or blank text. Example: parse_order_by("metrics.acc desc, name")."""
    parser = _Parser("" if text is None else text, "order_by")
    return () if parser.peek().kind == "end" else parser.finish(parser.sort_keys())


def references(where: Expr | None, order_by: tuple[SortKey, ...] = ()) -> list[Ref]:
    """The params / metrics / tags fields a parsed filter and order name, each once, in text order."""
    found: dict[Ref, None] = {}
    stack: list[object] = [where] if where is not None else []
    while stack:
        node = stack.pop()
        if isinstance(node, (And, Or)):
            stack.extend(reversed(node.operands))
        elif isinstance(node, Not):
            stack.append(node.operand)
        elif isinstance(node, (Compare, Like, In, IsNull)) and node.ref.kind != "attribute":
            found.setdefault(node.ref)
    for key in order_by:
        if key.ref.kind != "attribute":
            found.setdefault(key.ref)
    return list(found)


def field_name(ref: Ref) -> str:
    """How a field is written: `metrics.acc`, or with backticks when its key needs them."""
    if ref.kind == "attribute":
        return ref.key
    plain = re.fullmatch(r"[\w\-/.:]+", ref.key) is not None
    return f"{ref.kind}.{ref.key}" if plain else f"{ref.kind}.`{ref.key.replace('`', '``')}`"


def _nan_null(sql: str) -> str:
    # DuckDB ranks NaN above every number; treating it as unknown keeps diverged runs out of `> x`.
    return f"CASE WHEN isnan({sql}) THEN NULL ELSE {sql} END"


class _Compiler:
    """Turns AST nodes into SQL, collecting one LEFT JOIN per (kind, key) shared by where and order_by."""

    def __init__(self) -> None:
        self.aliases: dict[tuple[str, str], str] = {}
        self.joins: list[str] = []
        self.join_params: list[object] = []

    def alias(self, ref: Ref) -> str:
        if (ref.kind, ref.key) not in self.aliases:
            alias = f"{ref.kind[0]}{sum(1 for kind, _ in self.aliases if kind == ref.kind)}"
            self.aliases[(ref.kind, ref.key)] = alias
            self.joins.append(f"LEFT JOIN {_TABLES[ref.kind]} {alias} ON {alias}.run_id = r.run_id AND {alias}.key = ?")
            self.join_params.append(ref.key)
        return self.aliases[(ref.kind, ref.key)]

    def column(self, ref: Ref, value: Value) -> str:
        """The SQL expression a value of this type is compared against."""
        if ref.kind == "attribute":
            return _COLUMNS[ref.key]
        a = self.alias(ref)
        if ref.kind == "metrics":
            return _nan_null(f"{a}.value")
        if isinstance(value, str):
            return f"{a}.value"
        if ref.kind == "tags":
            return _nan_null(f"TRY_CAST({a}.value AS DOUBLE)")
        return _nan_null(f"{a}.value_num")

    @staticmethod
    def placeholder(ref: Ref, value: float | str, out: list[object]) -> str:
        """A `?` for value (bound in `out`), cast or normalized to suit the field."""
        if ref == Ref("attribute", "status"):
            value = str(value).upper()
        if ref.kind == "attribute" and ref.key in _TIMES:
            out.append(_timestamp(str(value)))
            return "CAST(? AS TIMESTAMP)"
        out.append(value)
        return "?"

    def where(self, node: Expr, out: list[object]) -> str:
        """SQL for `node`, appending its parameters to `out` in text order."""
        if isinstance(node, (And, Or)):
            glue = " AND " if isinstance(node, And) else " OR "
            return "(" + glue.join(self.where(operand, out) for operand in node.operands) + ")"
        if isinstance(node, Not):
            return f"(NOT {self.where(node.operand, out)})"
        if isinstance(node, IsNull):
            target = f"{self.alias(node.ref)}.run_id" if node.ref.kind != "attribute" else self.column(node.ref, None)
            return f"({target} IS {'NOT ' if node.negated else ''}NULL)"
        if isinstance(node, Like):
            target = self.column(node.ref, "")
            if node.ref.kind == "attribute" and node.ref.key in _TIMES:
                target = f"CAST({target} AS VARCHAR)"
            out.append(node.pattern.upper() if node.ref == Ref("attribute", "status") else node.pattern)
            return f"({target} {'NOT ' if node.negated else ''}LIKE ?)"
        if isinstance(node, Compare):
            if isinstance(node.value, bool):
                return self.boolean(node.ref, (node.value,), node.op == "!=", out)
            sql_op = "<>" if node.op == "!=" else node.op
            return f"({self.column(node.ref, node.value)} {sql_op} {self.placeholder(node.ref, node.value, out)})"
        # In: values of each type go to the column that type compares against.
        parts = []
        for kind in (float, str):
            same = [v for v in node.values if isinstance(v, kind) and not isinstance(v, bool)]
            if same:
                marks = ", ".join(self.placeholder(node.ref, v, out) for v in same)
                parts.append(f"{self.column(node.ref, same[0])} IN ({marks})")
        flags = tuple(v for v in node.values if isinstance(v, bool))
        if flags:
            parts.append(self.boolean(node.ref, flags, False, out))
        sql = "(" + " OR ".join(parts) + ")"
        return f"(NOT {sql})" if node.negated else sql

    def boolean(self, ref: Ref, flags: tuple[bool, ...], negated: bool, out: list[object]) -> str:
        """A bool param test: other types never equal true/false, even an int 1."""
        a = self.alias(ref)
        out.extend(1.0 if flag else 0.0 for flag in flags)
        sql = f"({a}.value_type = 'bool' AND {a}.value_num IN ({', '.join('?' for _ in flags)}))"
        return f"(NOT {sql})" if negated else sql

    def order(self, key: SortKey) -> list[str]:
        """ORDER BY terms for one sort key; missing values sort last either way."""
        exprs = [self.column(key.ref, 0.0)]
        if key.ref.kind in ("params", "tags"):  # numbers first, in numeric order, then the rest as text
            exprs.append(self.column(key.ref, ""))
        return [f"{e} {'DESC' if key.descending else 'ASC'} NULLS LAST" for e in exprs]


def _non_negative(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidInputError(f"{name} must be a non-negative integer, got {value!r}")
    return value


def build_runs_query(*, experiments: list[str] | None = None, where: str | None = None,
                     order_by: str | None = None, limit: int | None = None,
                     offset: int = 0) -> tuple[str, list[object]]:
    """SQL (and its bound parameters) selecting `r.run_id` of matching runs, in order."""
    if limit is not None:
        _non_negative("limit", limit)
    _non_negative("offset", offset)
    expr, keys = parse_where(where), parse_order_by(order_by)
    compiler, conditions, where_params = _Compiler(), [], []
    if experiments is not None:
        if isinstance(experiments, str) or not all(isinstance(e, str) for e in experiments):
            raise InvalidInputError("experiments must be a list of experiment names")
        # An empty list selects no runs, not every run.
        conditions.append(f"r.experiment IN ({', '.join('?' * len(experiments))})" if experiments else "FALSE")
        where_params.extend(experiments)
    if expr is not None:
        conditions.append(compiler.where(expr, where_params))
    ordering = [sql for key in keys for sql in compiler.order(key)]
    # run_id last makes the order total, so pages from LIMIT/OFFSET never overlap or skip.
    ordering += ["r.run_id ASC"] if keys else ["r.start_time DESC", "r.run_id DESC"]
    sql = " ".join(["SELECT r.run_id FROM runs r", *compiler.joins])
    if conditions:
        sql += " WHERE " + " AND ".join(conditions)
    sql += " ORDER BY " + ", ".join(ordering)
    tail = [limit, offset] if limit is not None else [offset]
    sql += " LIMIT ? OFFSET ?" if limit is not None else " OFFSET ?"
    return sql, [*compiler.join_params, *where_params, *tail]
