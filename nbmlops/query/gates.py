"""Promotion gates: conditions a model version must meet to take an alias (the gate dialect of
condition.py), evaluated in Python.

Example: ``metrics.accuracy >= champion.metrics.accuracy + 0.01 and not params.debug = true``.
Every runs ``where`` filter is a gate (``or``/``and``/``not`` in any case, parentheses,
``= == != <> < <= > >=``, ``[not] in (...)``, ``is [not] null``, ``[not] like 'pattern'``,
'single-quoted' text with '' for a quote, true/false/null), and a gate adds ``+ - * /`` with the usual
precedence and unary minus on either side. References are ``metrics.<key>``, ``params.<key>``,
``tags.<key>``, the run attributes (``name``, ``status``, ``start_time``, ``duration``, ...) and
``version`` of the candidate, and the same behind ``champion.`` for the version now holding the alias.
Odd keys take backticks or double quotes (``metrics.`val loss```); bare keys may hold ``- / . :``, so
write ``metrics.a - 1`` with spaces. ``x = null`` means ``x is null``.

Semantics. Every comparison is evaluated (no short-circuit) and listed in the one-line explanation.
- Numbers compare numerically, text as text, times as times, true/false and JSON values only with = and
  !=. Any other pairing (a number with text, ``1`` with ``true``) fails the comparison, saying so.
- Run attributes read as a where filter reads them (sql.py): text compared with ``status`` is upper-cased
  (``status = 'finished'``), text compared with ``start_time`` / ``end_time`` is read as a date (UTC);
  ``duration`` is seconds, up to now for a running run, whose ``end_time`` is null. A tag compared
  only with numbers is read as a number (as a filter's TRY_CAST reads it); a tag that is no number
  makes the comparison unknown.
- ``like`` is DuckDB's LIKE: ``%`` matches any text, ``_`` one character, case counts and there is no
  escape character; it matches text only (a time as DuckDB writes it, e.g. ``2024-05-01 13:30:00.5``).
- A missing or null reference, a NaN, arithmetic on a non-number and division by zero make the
  value unknown: the comparison fails with the reason ("metrics.acc is missing on the candidate").
  An unknown comparison stays failed under ``not`` (as NULL does in SQL and in ``where``), so a gate
  never passes because something could not be read. ``is null`` is how to test for absence.
- With no champion (the alias holds no version yet) a comparison naming ``champion.*`` passes, also
  under ``not``, and says "no current holder": the first promotion is never blocked by a comparison
  with nobody. It still fails if the candidate's own side is missing or NaN.
A FilterSyntaxError's `position` is the 0-based offset in the text; its message gives the 1-based column.
"""

from __future__ import annotations

import json
import operator
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from numbers import Real
from typing import Any

from nbmlops.query.condition import (
    TIMES,
    And,
    Arith,
    Compare,
    Condition,
    Gate,
    In,
    IsNull,
    Like,
    Literal,
    Not,
    Operand,
    Or,
    Ref,
    moment,
    parse_gate,
    walk,
)
from nbmlops.query.lexer import MAX_DEPTH, MAX_TEXT, closest_fields, did_you_mean, flat

# The parser, the AST and the limits belong to this language's API too, so they are importable from here.
__all__ = ["MAX_DEPTH", "MAX_TEXT", "And", "Arith", "Compare", "Condition", "Facts", "Gate", "GateResult", "In",
           "IsNull", "Like", "Literal", "Not", "Or", "Ref", "evaluate_gate", "like", "missing_references", "parse_gate",
           "references"]

KINDS = ("metrics", "params", "tags")
_TESTS: dict[str, Callable[[Any, Any], bool]] = {
    "=": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}
_ARITH: dict[str, Callable[[object, object], object]] = {
    "+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv}


@dataclass(frozen=True)
class Facts:
    """What a gate can refer to for one model version."""
    metrics: dict[str, float] = field(default_factory=dict)
    params: dict[str, object] = field(default_factory=dict)  # int, float, str, bool, None or JSON-ish
    tags: dict[str, str] = field(default_factory=dict)
    version: int | None = None
    # The run's attributes (sql.ATTRIBUTES): text, a naive UTC datetime for the two times, seconds for
    # duration; None where the catalog holds NULL (end_time of a running run).
    attributes: dict[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class GateResult:
    """The outcome of a gate, with a one-line explanation naming every compared value."""
    passed: bool
    expression: str
    explanation: str
    values: dict[str, object]  # every reference -> its value, None when missing


def references(text: str | Gate) -> set[str]:
    """The references a gate names, e.g. {"metrics.accuracy", "champion.metrics.accuracy"}."""
    gate = text if isinstance(text, Gate) else parse_gate(text)
    return {node.name for node in walk(gate.condition) if isinstance(node, Ref)}


_NOUNS = {"metrics": "metric", "params": "param", "tags": "tag"}


def missing_references(text: str | Gate, candidate: Facts | None, champion: Facts | None) -> list[str]:
    """One line per metrics/params/tags reference whose key its side lacks, naming the closest keys
    that side has: `champion.metrics.acu: the champion has no such metric; did you mean champion.metrics.auc?`.
    A side given as None is not checked."""
    gate = text if isinstance(text, Gate) else parse_gate(text)
    lines: dict[str, None] = {}
    for node in walk(gate.condition):
        facts = champion if isinstance(node, Ref) and node.champion else candidate
        if not isinstance(node, Ref) or node.kind in ("version", "attribute") or facts is None:
            continue
        if node.key in getattr(facts, node.kind):
            continue
        have = {root: list(getattr(facts, root)) for root in KINDS}
        close = [Ref(root if root != "attribute" else key, key if root != "attribute" else "", node.champion).name
                 for root, key in closest_fields(node.kind, node.key, have, ("version",))]
        hint = did_you_mean(close)
        side = "the champion" + (f" v{facts.version}" if facts.version is not None else "") if node.champion \
            else "the candidate"
        lines.setdefault(f"{node.name}: {side} has no such {_NOUNS[node.kind]}{hint}")
    return list(lines)


_MISSING = object()  # a value that cannot be known; why is in the notes
FAIL, UNKNOWN, WAIVED, PASS = range(4)  # 'and' takes the lowest, 'or' the highest; >= WAIVED passes


@dataclass(frozen=True)
class _Val:
    value: object
    notes: tuple[str, ...] = ()  # why the value is missing or NaN
    waived: bool = False  # names champion.* while there is no champion
    champion: bool = False  # names champion.* at all


def _number(value: object) -> bool:
    return isinstance(value, Real) and not isinstance(value, bool)


def _nan(value: object) -> bool:
    return _number(value) and value != value


def _kind(value: object) -> str:
    if _number(value):
        return "a number"
    if isinstance(value, datetime):
        return "a time"
    return "text" if isinstance(value, str) else "true/false" if isinstance(value, bool) else "a JSON value"


def _one_line(text: str) -> str:
    """Text with line breaks, tabs and other odd spaces escaped, so an explanation stays one line."""
    return re.sub(r"[^\S ]", lambda m: m.group().encode("unicode_escape").decode(), text)


def _render(value: object) -> str:
    """A value as one short line."""
    if value is None or isinstance(value, bool):
        text = json.dumps(value)
    elif isinstance(value, float):
        text = "NaN" if value != value else f"{value:.12g}"
    elif isinstance(value, str):
        text = "'" + value.replace("'", "''") + "'"
    elif isinstance(value, datetime):
        text = _time_text(value)
    else:
        try:
            text = str(value) if _number(value) else json.dumps(value, sort_keys=True, default=str)
        except (TypeError, ValueError):  # a circular structure, or an int too long to print
            text = f"<{type(value).__name__}>"
    text = _one_line(text)
    return text if len(text) <= 80 else text[:77] + "..."


def _mismatch(left: object, right: object, op: str) -> str:
    """Why these two values cannot be compared with op, or '' if they can."""
    if _kind(left) != _kind(right):
        return f"cannot compare {_kind(left)} with {_kind(right)}"
    if op not in ("=", "!=") and _kind(left) in ("true/false", "a JSON value"):
        return f"{'true/false' if isinstance(left, bool) else 'JSON values'} only compare with = and !="
    return ""


def _unreadable(val: _Val) -> bool:
    return val.value is _MISSING or _nan(val.value)


def _time_text(value: datetime) -> str:
    """A naive UTC time as DuckDB casts a TIMESTAMP to text: no trailing zeros in the fraction."""
    whole, _, fraction = value.isoformat(sep=" ").partition(".")
    return whole + ("." + fraction.rstrip("0") if fraction.rstrip("0") else "")


def like(text: str, pattern: str) -> bool:
    """Whether text matches a LIKE pattern as DuckDB matches it: `%` any text, `_` one character,
    case-sensitive, no escape character. Only the last `%` backtracks, so the cost is at most
    len(text) x len(pattern), never exponential (as a regular expression's could be)."""
    t = p = 0
    star, mark = -1, 0  # the last `%` seen and where in text it began to match
    while t < len(text):
        if p < len(pattern) and pattern[p] == "%":
            star, mark, p = p, t, p + 1
        elif p < len(pattern) and pattern[p] in ("_", text[t]):
            t, p = t + 1, p + 1
        elif star >= 0:  # let the last `%` take one more character
            mark += 1
            t, p = mark, star + 1
        else:
            return False
    return pattern[p:].strip("%") == ""


def _tag_number(val: _Val, name: str) -> _Val:
    """A tag's text as a number, as DuckDB's TRY_CAST(... AS DOUBLE) reads it (which takes ASCII digits only)."""
    text = str(val.value)
    try:
        if text.isascii():
            return replace(val, value=float(text))
    except ValueError:
        pass
    return replace(val, value=_MISSING, notes=(*val.notes, f"{name} {_render(text)} is not a number"))


def _as_field(nodes: list[Operand], vals: list[_Val]) -> list[_Val]:
    """Values read as sql.py reads its fields: a tag compared with numbers only as a number; text
    upper-cased next to status, and read as a date next to a time (as a literal compared with them is bound)."""
    if len(vals) > 1:
        read = list(vals)
        for i, (node, val) in enumerate(zip(nodes, vals, strict=True)):
            others = [o.value for j, o in enumerate(vals) if j != i and not _unreadable(o)]
            if isinstance(node, Ref) and node.kind == "tags" and isinstance(val.value, str) and others \
                    and all(_number(o) for o in others):
                read[i] = _tag_number(val, node.name)
        vals = read
    keys = {n.key for n in nodes if isinstance(n, Ref) and n.kind == "attribute"}
    if "status" in keys:
        vals = [replace(v, value=v.value.upper()) if isinstance(v.value, str) else v for v in vals]
    if keys & set(TIMES):
        vals = [replace(v, value=moment(v.value) or v.value) if isinstance(v.value, str) else v for v in vals]
    return vals


class _Evaluator:
    def __init__(self, text: str, candidate: Facts, champion: Facts | None) -> None:
        self.text, self.candidate, self.champion = text, candidate, champion
        self.values: dict[str, object] = {}
        self.lines: list[str] = []

    def resolve(self, ref: Ref) -> _Val:
        facts = self.champion if ref.champion else self.candidate
        if facts is None:
            self.values[ref.name] = None
            return _Val(_MISSING, waived=True, champion=True)
        if ref.kind == "version":  # a None version means there is none
            raw = _MISSING if facts.version is None else facts.version
        elif ref.kind == "attribute":
            raw = facts.attributes.get(ref.key, _MISSING)
            if isinstance(raw, datetime) and raw.tzinfo is not None:
                raw = raw.astimezone(timezone.utc).replace(tzinfo=None)
        else:
            raw = (getattr(facts, ref.kind) or {}).get(ref.key, _MISSING)
        self.values[ref.name] = None if raw is _MISSING else raw
        where = "the candidate" if not ref.champion else \
            "the champion" + (f" v{facts.version}" if facts.version is not None else "")
        problem = "missing" if raw is _MISSING else "null" if raw is None else "NaN" if _nan(raw) else ""
        notes = (f"{ref.name} is {problem} on {where}",) if problem else ()
        return _Val(_MISSING if raw is None else raw, notes, champion=ref.champion)

    def value(self, node: Operand) -> _Val:
        if isinstance(node, Literal):
            return _Val(node.value)
        if isinstance(node, Ref):
            return self.resolve(node)
        parts = [self.value(operand) for operand in node.operands]
        notes = tuple(n for p in parts for n in p.notes)
        flags = {"waived": any(p.waived for p in parts), "champion": any(p.champion for p in parts)}
        source = flat(self.text[node.span[0]:node.span[1]])
        problem = next((f"cannot do arithmetic on {_kind(p.value)} {_render(p.value)} in {source}"
                        for p in parts if p.value is not _MISSING and not _number(p.value)), "")
        if problem or any(p.value is _MISSING for p in parts):
            return _Val(_MISSING, (*notes, problem) if problem else notes, **flags)
        total = parts[0].value
        try:
            for op, part in zip(node.ops, parts[1:], strict=True):
                total = _ARITH[op](total, part.value)
        except ZeroDivisionError:
            return _Val(_MISSING, (*notes, f"division by zero in {source}"), **flags)
        except OverflowError:
            return _Val(_MISSING, (*notes, f"a number is too large in {source}"), **flags)
        return _Val(total, notes, **flags)

    def side(self, node: Operand, val: _Val) -> str:
        """How one compared value reads in the explanation: its text and, unless a literal, its value."""
        if isinstance(node, Literal):
            return flat(self.text[node.span[0]:node.span[1]])
        written = _one_line(node.name) if isinstance(node, Ref) else flat(self.text[node.span[0]:node.span[1]])
        if val.value is _MISSING:
            return written
        return f"{written}{' ' if isinstance(node, Ref) else ' = '}{_render(val.value)}"

    def check(self, node: Condition, negated: bool = False) -> int:
        """The outcome of `node`, recording one explanation line per comparison."""
        if isinstance(node, Not):
            return _flip(self.check(node.operand, not negated))
        if isinstance(node, (And, Or)):
            outcomes = [self.check(operand, negated) for operand in node.operands]
            return min(outcomes) if isinstance(node, And) else max(outcomes)
        nodes: list[Operand]
        if isinstance(node, IsNull):
            nodes, vals = [node.operand], [self.value(node.operand)]
            shown = f"{self.side(node.operand, vals[0])} is {'not null' if node.negated else 'null'}"
        elif isinstance(node, Like):
            nodes, vals = [node.left], [self.value(node.left)]
            shown = f"{self.side(node.left, vals[0])} {'not like' if node.negated else 'like'} {_render(node.pattern)}"
        else:
            nodes = [node.left, node.right] if isinstance(node, Compare) else [node.left, *node.items]
            vals = [self.value(n) for n in nodes]
            sides = [self.side(n, v) for n, v in zip(nodes, vals, strict=True)]
            shown = f"{sides[0]} {node.op} {sides[1]}" if isinstance(node, Compare) else \
                f"{sides[0]} {'not in' if node.negated else 'in'} ({', '.join(sides[1:])})"
        outcome, reasons = self.decide(node, _as_field(nodes, vals))
        if any(v.champion for v in vals) and self.champion is not None and self.champion.version is not None:
            shown += f" (champion v{self.champion.version})"
        word = "passed" if (_flip(outcome) if negated else outcome) >= WAIVED else "failed"
        why = f" ({', '.join(dict.fromkeys(reasons))})" if reasons else ""
        self.lines.append(f"{'not ' if negated else ''}{shown}: {word}{why}")
        return outcome

    def decide(self, node: Compare | In | IsNull | Like, vals: list[_Val]) -> tuple[int, tuple[str, ...]]:
        """The outcome of one comparison and why, when it is not a plain pass or fail."""
        notes = tuple(n for v in vals for n in v.notes)
        if any(v.waived for v in vals):
            return (UNKNOWN, notes) if notes else (WAIVED, ("no current holder",))
        if isinstance(node, IsNull):
            return (PASS if (vals[0].value is _MISSING) != node.negated else FAIL), ()
        why = tuple(n for v in vals if _unreadable(v) for n in v.notes) or ("the result is NaN",)
        left = vals[0]
        if _unreadable(left):
            return UNKNOWN, why
        if isinstance(node, Like):
            return self.match(node, left.value)
        items, op = vals[1:], node.op if isinstance(node, Compare) else "="
        readable = [v.value for v in items if not _unreadable(v)]
        problems = [p for p in (_mismatch(left.value, v, op) for v in readable) if p]
        if any(not _mismatch(left.value, v, op) and _TESTS[op](left.value, v) for v in readable):
            outcome = PASS  # for an in-list one equal item decides, whatever else cannot be read
        elif len(readable) < len(items):
            return UNKNOWN, why
        elif problems and (isinstance(node, Compare) or len(problems) == len(readable)):
            return UNKNOWN, (problems[0],)
        else:
            outcome = FAIL
        return (_flip(outcome) if isinstance(node, In) and node.negated else outcome), ()


    @staticmethod
    def match(node: Like, value: object) -> tuple[int, tuple[str, ...]]:
        """The outcome of a `like` on a readable value, as sql.py compiles it."""
        pattern = node.pattern.upper() if node.left.kind == "attribute" and node.left.key == "status" else node.pattern
        text = _time_text(value) if isinstance(value, datetime) else value
        if not isinstance(text, str):
            return UNKNOWN, (f"'like' works on text, not {_kind(value)}",)
        return (PASS if like(text, pattern) != node.negated else FAIL), ()


def _flip(outcome: int) -> int:
    """`not`: pass and fail swap; unknown stays failed and a comparison with nobody stays passed."""
    return {PASS: FAIL, FAIL: PASS}.get(outcome, outcome)


def evaluate_gate(text: str | Gate, candidate: Facts, champion: Facts | None) -> GateResult:
    """Check a candidate against a gate and the alias's current holder (None when there is none)."""
    gate = text if isinstance(text, Gate) else parse_gate(text)
    evaluator = _Evaluator(gate.text, candidate, champion)
    outcome = evaluator.check(gate.condition)
    explanation = re.sub(r"\s", " ", "; ".join(evaluator.lines))
    return GateResult(outcome >= WAIVED, gate.text, explanation, evaluator.values)
