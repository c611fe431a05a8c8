"""The `where` / `order_by` language for runs (the where dialect of condition.py), compiled to
parameterized DuckDB SQL.

Example: ``metrics.acc > 0.9 and params.optimizer in ('adam', 'sgd') and not tags.`bad run` is not null``
with ``order_by="metrics.acc desc, start_time"``. Every key and value the user writes is bound as a
``?`` parameter; only fixed SQL fragments chosen by the compiler reach the statement text.

Types: numbers compare numerically and strings as text. A number compared with a tag uses
``TRY_CAST(value AS DOUBLE)``, so ``tags.epochs > 9`` orders "10" after "9" and a non-numeric tag
matches neither side. NaN metrics and params compare as unknown (like a missing value) and sort last;
infinities are numbers (``params.p > 1`` holds for a param logged as inf). A param logged as None is
null: ``params.p is null`` holds, and every comparison with it is unknown. So a where filter picks the
runs its text as a promotion gate passes (gates.py), over values of one type per key.
A FilterSyntaxError's `position` is the 0-based offset in the text; its message gives the 1-based column.
"""

from __future__ import annotations

from typing import cast

from nbmlops.errors import InvalidInputError
from nbmlops.query.condition import (
    ATTRIBUTES,
    KINDS,
    TIMES,
    And,
    Compare,
    Condition,
    In,
    IsNull,
    Like,
    Literal,
    Not,
    Or,
    Ref,
    SortKey,
    parse_order_by,
    parse_where,
    timestamp,
    walk,
)
from nbmlops.query.lexer import MAX_DEPTH, MAX_TEXT

# The parser, the AST and the limits belong to this language's API too, so they are importable from here.
__all__ = ["ATTRIBUTES", "KINDS", "MAX_DEPTH", "MAX_TEXT", "And", "Compare", "Condition", "In", "IsNull", "Like", "Not",
           "Or", "Ref", "SortKey", "attribute_sql", "build_runs_query", "field_name", "parse_order_by", "parse_where",
           "references"]

_COLUMNS = {  # attribute -> SQL; every one is text except the two times and duration
    "run_id": "r.run_id", "name": "r.name", "experiment": "r.experiment", "status": "r.status",
    "user": "r.user_name", "host": "r.host", "notebook": "r.notebook", "parent_run_id": "r.parent_run_id",
    "start_time": "r.start_time", "end_time": "r.end_time",
    # epoch() of a TIMESTAMP reads it as UTC, which is how runs store time; now() is the real instant.
    "duration": "(coalesce(epoch(r.end_time), epoch(now())) - epoch(r.start_time))",
}
_TABLES = {"params": "params", "metrics": "latest_metrics", "tags": "tags"}
Value = float | str | bool | None  # numbers are always float: every numeric column is DOUBLE


def references(where: Condition | None, order_by: tuple[SortKey, ...] = ()) -> list[Ref]:
    """The params / metrics / tags fields a parsed filter and order name, each once, in text order."""
    found: dict[Ref, None] = {}
    for node in [*(walk(where) if where is not None else ()), *(key.ref for key in order_by)]:
        if isinstance(node, Ref) and node.kind != "attribute":
            found.setdefault(node)
    return list(found)


def attribute_sql(name: str) -> str:
    """The SQL expression a where filter compares a run attribute with, on the runs table aliased `r`:
    reading a run's attributes through it gives a gate the very values a filter sees."""
    return _COLUMNS[name]


def field_name(ref: Ref) -> str:
    """How a field is written: `metrics.acc`, or with backticks when its key needs them."""
    return ref.name


def _nan_null(sql: str) -> str:
    # DuckDB ranks NaN above every number; treating it as unknown keeps diverged runs out of `> x`.
    return f"CASE WHEN isnan({sql}) THEN NULL ELSE {sql} END"


def _param_number(alias: str) -> str:
    # value_num is NULL for a non-finite float; its text ('inf', '-inf', 'nan') still holds the number.
    stored_text = f"CASE WHEN {alias}.value_type = 'float' THEN TRY_CAST({alias}.value AS DOUBLE) END"
    return f"coalesce({alias}.value_num, {stored_text})"


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
        return _nan_null(_param_number(a))

    @staticmethod
    def placeholder(ref: Ref, value: float | str, out: list[object]) -> str:
        """A `?` for value (bound in `out`), cast or normalized to suit the field."""
        if ref == Ref("attribute", "status"):
            value = str(value).upper()
        if ref.kind == "attribute" and ref.key in TIMES:
            out.append(timestamp(str(value)))
            return "CAST(? AS TIMESTAMP)"
        out.append(value)
        return "?"

    def where(self, node: Condition, out: list[object]) -> str:
        """SQL for `node`, appending its parameters to `out` in text order. The where dialect compares
        a field (a Ref) with literals, so that is all this reads."""
        if isinstance(node, (And, Or)):
            glue = " AND " if isinstance(node, And) else " OR "
            return "(" + glue.join(self.where(operand, out) for operand in node.operands) + ")"
        if isinstance(node, Not):
            return f"(NOT {self.where(node.operand, out)})"
        if isinstance(node, IsNull):
            ref = cast(Ref, node.operand)
            if ref.kind == "params":  # a param logged as None is null too: its value_type says so
                a = self.alias(ref)
                return f"({'NOT ' if node.negated else ''}coalesce({a}.value_type, 'none') = 'none')"
            target = f"{self.alias(ref)}.run_id" if ref.kind != "attribute" else self.column(ref, None)
            return f"({target} IS {'NOT ' if node.negated else ''}NULL)"
        if isinstance(node, Like):
            target = self.column(node.left, "")
            if node.left.kind == "attribute" and node.left.key in TIMES:
                target = f"CAST({target} AS VARCHAR)"
            out.append(node.pattern.upper() if node.left == Ref("attribute", "status") else node.pattern)
            return f"({target} {'NOT ' if node.negated else ''}LIKE ?)"
        ref = cast(Ref, node.left)
        if isinstance(node, Compare):
            value = cast(Literal, node.right).value
            if isinstance(value, bool):
                return self.boolean(ref, (value,), node.op == "!=", out)
            sql_op, mark = "<>" if node.op == "!=" else node.op, self.placeholder(ref, cast("float | str", value), out)
            return f"({self.column(ref, value)} {sql_op} {mark})"
        # In: values of each type go to the column that type compares against.
        values = [cast(Literal, item).value for item in node.items]
        parts = []
        for kind in (float, str):
            same = [v for v in values if isinstance(v, kind) and not isinstance(v, bool)]
            if same:
                marks = ", ".join(self.placeholder(ref, v, out) for v in same)
                parts.append(f"{self.column(ref, same[0])} IN ({marks})")
        flags = tuple(v for v in values if isinstance(v, bool))
        if flags:
            parts.append(self.boolean(ref, flags, False, out))
        sql = "(" + " OR ".join(parts) + ")"
        return f"(NOT {sql})" if node.negated else sql

    def boolean(self, ref: Ref, flags: tuple[bool, ...], negated: bool, out: list[object]) -> str:
        """A bool param test: other types never equal true/false, even an int 1; a null one is unknown."""
        a = self.alias(ref)
        out.extend(1.0 if flag else 0.0 for flag in flags)
        sql = f"(nullif({a}.value_type, 'none') = 'bool' AND {a}.value_num IN ({', '.join('?' for _ in flags)}))"
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
    compiler, conditions = _Compiler(), []
    where_params: list[object] = []
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
