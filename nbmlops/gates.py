"""Promotion gates: conditions a model version must meet to take an alias, evaluated in Python.

Example: ``metrics.accuracy >= champion.metrics.accuracy + 0.01 and not params.debug = true``.
The syntax follows the runs ``where`` language (``or``/``and``/``not`` in any case, parentheses,
``= == != <> < <= > >=``, ``[not] in (...)``, ``is [not] null``, 'single-quoted' text with '' for a
quote, true/false/null), plus ``+ - * /`` with the usual precedence and unary minus on either side.
References are ``metrics.<key>``, ``params.<key>``, ``tags.<key>`` and ``version`` of the candidate,
and the same behind ``champion.`` for the version now holding the alias. Odd keys take backticks or
double quotes (``metrics.`val loss```); bare keys may hold ``- / . :``, so write ``metrics.a - 1``
with spaces. ``x = null`` means ``x is null``.

Semantics. Every comparison is evaluated (no short-circuit) and listed in the one-line explanation.
- Numbers compare numerically, text as text, true/false and JSON values only with = and !=.
  Any other pairing (a number with text, ``1`` with ``true``) fails the comparison, saying so.
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
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from numbers import Real
from typing import Union

# And, Not, Or and the limits belong to this language's API too, so they are importable from here.
from nbmlops.lexer import (COMPARISONS, CONSTANTS, KEYWORDS, MAX_DEPTH, MAX_TEXT, NULL_IN_LIST, OPERATOR_HINTS,
                           And, Not, Or, Token, Tokens, closest_fields, did_you_mean, lexeme, require_string,
                           syntax_error)

KINDS = ("metrics", "params", "tags")
ROOTS_HINT = ("valid references are metrics.<key>, params.<key>, tags.<key>, version, "
              "and each of them after 'champion.'")
_TESTS: dict[str, Callable[[object, object], bool]] = {
    "=": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}
_ARITH: dict[str, Callable[[object, object], object]] = {
    "+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv}


def _span() -> tuple[int, int]:
    """A node's (start, end) offsets in the text; not part of its equality, so tests can build nodes."""
    return field(default=(0, 0), compare=False, repr=False)  # type: ignore[return-value]


@dataclass(frozen=True)
class Facts:
    """What a gate can refer to for one model version."""
    metrics: dict[str, float] = field(default_factory=dict)
    params: dict[str, object] = field(default_factory=dict)  # int, float, str, bool, None or JSON-ish
    tags: dict[str, str] = field(default_factory=dict)
    version: int | None = None


@dataclass(frozen=True)
class GateResult:
    """The outcome of a gate, with a one-line explanation naming every compared value."""
    passed: bool
    expression: str
    explanation: str
    values: dict[str, object]  # every reference -> its value, None when missing


@dataclass(frozen=True)
class Ref:
    """A reference: root is metrics, params, tags or version (whose key is '')."""
    root: str
    key: str = ""
    champion: bool = False
    span: tuple[int, int] = _span()

    @property
    def name(self) -> str:
        """The canonical spelling, e.g. champion.metrics.acc or metrics.`val loss`."""
        key = self.key if re.fullmatch(r"[\w\-/.:]+", self.key) else "`" + self.key.replace("`", "``") + "`"
        return ("champion." if self.champion else "") + (self.root if self.root == "version" else f"{self.root}.{key}")


@dataclass(frozen=True)
class Literal:
    """A number, 'text', true, false or null."""
    value: Union[int, float, str, bool, None]
    span: tuple[int, int] = _span()


@dataclass(frozen=True)
class Arith:
    """operands[0] ops[0] operands[1] ..., left to right at one precedence; -x is 0 - x."""
    operands: tuple[Value, ...]
    ops: tuple[str, ...]
    span: tuple[int, int] = _span()


@dataclass(frozen=True)
class Compare:
    """`left op right`; op is one of = != < <= > >=."""
    left: Value
    op: str
    right: Value


@dataclass(frozen=True)
class In:
    """`left [not] in (item, ...)`."""
    left: Value
    items: tuple[Value, ...]
    negated: bool = False


@dataclass(frozen=True)
class IsNull:
    """`operand is [not] null`: whether the value is missing, null or cannot be computed."""
    operand: Value
    negated: bool = False


Value = Union[Ref, Literal, Arith]
Condition = Union[Compare, In, IsNull, Not, And, Or]
_CONDITIONS = (Compare, In, IsNull, Not, And, Or)


@dataclass(frozen=True)
class Gate:
    """A parsed gate: its text and its condition tree."""
    text: str
    condition: Condition


_LEXEME = lexeme(signed_numbers=False, lone_ops="+*/-")  # unsigned: '-' is always an operator


def _flat(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


class _Parser(Tokens):
    nesting = "parentheses / not / minus"

    def __init__(self, text: object) -> None:
        text = require_string(text, "a gate")
        if len(text) > MAX_TEXT:
            message = f"the gate is {len(text)} characters long; the limit is {MAX_TEXT}"
            raise syntax_error("gate", text, MAX_TEXT, message)
        super().__init__(text, "gate", _LEXEME)

    def gate(self) -> Gate:
        if self.peek().kind == "end":
            self.fail("empty gate; write a condition such as metrics.accuracy >= 0.9", 0)
        condition, tok = self.condition(), self.peek()
        self.need_condition(condition, tok)
        self.expect_end()
        return Gate(self.text, condition)

    def need_condition(self, node: Value | Condition, tok: Token) -> Condition:
        """Fail unless node is a condition; tok is what follows it."""
        if not isinstance(node, _CONDITIONS):
            self.fail(f"expected a comparison (= != < <= > >= in is) after "
                      f"'{_flat(self.text[node.span[0]:node.span[1]])}'{self.found(tok)}", tok.pos)
        return node

    # condition := and-chains joined by 'or'; 'not' binds tighter than both, comparison tighter still.
    # A lone value is returned as is: inside parentheses it may be arithmetic, `(a + b) * 2`.
    def condition(self) -> Value | Condition:
        ors, ands = [], [self.negation()]
        while self.peek().text.lower() in ("and", "or") and self.peek().kind == "word":
            self.need_condition(ands[-1], self.peek())
            if self.next().text.lower() == "or":
                ors.append(ands[0] if len(ands) == 1 else And(tuple(ands)))
                ands = []
            ands.append(self.negation())
        if len(ands) + len(ors) > 1:
            self.need_condition(ands[-1], self.peek())
        ors.append(ands[0] if len(ands) == 1 else And(tuple(ands)))
        return ors[0] if len(ors) == 1 else Or(tuple(ors))

    def negation(self) -> Value | Condition:
        nots = 0
        while self.peek().kind == "word" and self.peek().text.lower() == "not":
            self.enter(self.next().pos)
            nots += 1
        node = self.comparison()
        if nots:
            node = self.need_condition(node, self.peek())
        for _ in range(nots):
            node = Not(node)
        self.depth -= nots
        return node

    def comparison(self) -> Value | Condition:
        left = self.arith()
        tok = self.peek()
        if isinstance(left, _CONDITIONS):  # a parenthesized condition
            if tok.kind == "op" and tok.text in COMPARISONS or tok.text.lower() in ("in", "is"):
                self.fail(f"a condition cannot be compared; '{tok.text}' needs a value on its left", tok.pos)
            return left
        if tok.kind not in ("op", "word") or tok.kind == "word" and tok.text.lower() not in ("is", "not", "in"):
            return left  # whoever needs a condition here says so
        written = _flat(self.text[left.span[0]:left.span[1]])
        negated = self.null_test()
        if negated is not None:
            return IsNull(left, negated)
        negated = self.keyword("not")
        if self.keyword("in"):
            return self.in_list(left, negated)
        if negated:
            self.fail(f"expected 'in' after '{written} not'", self.peek().pos)
        if tok.text not in COMPARISONS:
            alias = {**OPERATOR_HINTS, "=>": " (use '>=')", "=<": " (use '<=')"}.get(tok.text, "")
            self.fail(f"unknown operator '{tok.text}'{alias}; use one of = == != <> < <= > >= in is", tok.pos)
        self.next()
        right, op = self.value(tok.text), COMPARISONS[tok.text]
        for this, other in ((right, left), (left, right)):
            if isinstance(this, Literal) and this.value is None:
                # `x = null` reads naturally; a comparison with null could only ever be unknown.
                if op not in ("=", "!="):
                    self.fail(f"'{tok.text} null' never holds; use 'is null' or 'is not null'", this.span[0])
                return IsNull(other, op == "!=")
        return Compare(left, op, right)

    def in_list(self, left: Value, negated: bool) -> In:
        return In(left, self.in_items(negated, self.in_item), negated)

    def in_item(self, after: str) -> Value:
        item = self.value(after)
        if isinstance(item, Literal) and item.value is None:
            self.fail(NULL_IN_LIST, item.span[0])
        return item

    def value(self, after: str) -> Value:
        """An arithmetic expression, where a condition would be an error."""
        pos, node = self.peek().pos, self.arith()
        if isinstance(node, _CONDITIONS):
            self.fail(f"expected a value after '{after}', found a condition", pos)
        return node

    def arith(self) -> Value | Condition:
        """Sums of products, parsed in loops so long chains cost no stack."""
        terms, adds = [], []
        while True:
            factors, muls = [self.atom()], []
            while self.peek().kind == "op" and self.peek().text in ("*", "/"):
                muls.append(self.next())
                factors.append(self.atom())
            terms.append(self.chain(factors, muls))
            if self.peek().kind != "op" or self.peek().text not in ("+", "-"):
                return self.chain(terms, adds)
            adds.append(self.next())

    def chain(self, items: list[Value | Condition], ops: list[Token]) -> Value | Condition:
        """One precedence level as a flat Arith, failing on operands that cannot take part."""
        if len(items) == 1:
            return items[0]
        for item, op in zip(items, ops[:1] + ops):
            if isinstance(item, _CONDITIONS):
                self.fail(f"a condition cannot be used with '{op.text}'; put arithmetic inside the comparison",
                          op.pos)
            if isinstance(item, Literal) and item.value is None:
                self.fail(f"null cannot be used with '{op.text}'; use 'is null'", item.span[0])
        return Arith(tuple(items), tuple(op.text for op in ops),  # type: ignore[arg-type]
                     span=(items[0].span[0], items[-1].span[1]))  # type: ignore[union-attr]

    def atom(self) -> Value | Condition:
        index = self.i
        tok = self.next()
        end = tok.pos + len(tok.text)
        if tok.text == "-":
            self.enter(tok.pos)
            operand = self.atom()
            self.depth -= 1
            if isinstance(operand, Literal) and _number(operand.value):
                return Literal(-operand.value, span=(tok.pos, operand.span[1]))  # type: ignore[operator]
            negated = self.chain([Literal(0, span=(tok.pos, tok.pos)), operand], [tok])
            return replace(negated, span=(tok.pos, negated.span[1]))  # type: ignore[type-var]
        if tok.kind == "number":
            # float() gives inf for huge numbers; int() refuses more than ~4300 digits.
            return Literal(int(tok.text) if tok.text.isdigit() and len(tok.text) < 4000 else float(tok.text),
                           span=(tok.pos, end))
        if tok.kind == "string":
            return Literal(tok.value, span=(tok.pos, end))
        if tok.kind == "word" and tok.text.lower() in CONSTANTS:
            return Literal(CONSTANTS[tok.text.lower()], span=(tok.pos, end))
        if tok.kind == "word" and tok.text.lower() not in KEYWORDS:
            return self.ref(tok)
        if tok.text == "(":
            self.enter(tok.pos)
            inner, close = self.condition(), self.close(tok)
            self.depth -= 1
            return inner if isinstance(inner, _CONDITIONS) else replace(inner, span=(tok.pos, close.pos + 1))
        before = self.tokens[index - 1].text if index else ""
        what = "a value" if before and before.lower() not in ("and", "or", "not") else "a condition"
        hint = f"; text values take single quotes: '{tok.value}'" if tok.kind == "qkey" else ""
        after = f" after '{before}'" if before else ""
        self.fail(f"expected {what}{after}{self.found(tok)}{hint}", tok.pos)

    def ref(self, tok: Token) -> Ref:
        champion = tok.text.lower().startswith("champion.")
        root, dot, key = tok.text[len("champion."):].partition(".") if champion else tok.text.partition(".")
        end, root = tok.pos + len(tok.text), root.lower()
        if root == "version" and not dot:
            return Ref("version", "", champion, span=(tok.pos, end))
        if root not in KINDS or not dot:
            self.fail(f"unknown reference '{tok.text}'; {ROOTS_HINT}", tok.pos)
        if not key:
            quoted = self.quoted_key(tok)
            key, end = quoted.value, quoted.pos + len(quoted.text)
        return Ref(root, key, champion, span=(tok.pos, end))


def _walk(node: Value | Condition) -> Iterator[Value | Condition]:
    """Every node, parents before children, in text order, without recursion."""
    stack = [node]
    while stack:
        node = stack.pop()
        yield node
        if isinstance(node, (Not, IsNull)):
            stack.append(node.operand)
        elif isinstance(node, (Arith, And, Or)):
            stack.extend(reversed(node.operands))
        elif isinstance(node, (Compare, In)):
            stack.extend(reversed((node.left, node.right) if isinstance(node, Compare) else (node.left, *node.items)))


def parse_gate(text: str) -> Gate:
    """Parse a gate expression. Example: parse_gate("metrics.rmse <= champion.metrics.rmse * 0.95")."""
    return _Parser(text).gate()


def references(text: str | Gate) -> set[str]:
    """The references a gate names, e.g. {"metrics.accuracy", "champion.metrics.accuracy"}."""
    gate = text if isinstance(text, Gate) else parse_gate(text)
    return {node.name for node in _walk(gate.condition) if isinstance(node, Ref)}


_NOUNS = {"metrics": "metric", "params": "param", "tags": "tag"}


def missing_references(text: str | Gate, candidate: Facts | None, champion: Facts | None) -> list[str]:
    """One line per metrics/params/tags reference whose key its side lacks, naming the closest keys
    that side has: `champion.metrics.acu: the champion has no such metric; did you mean champion.metrics.auc?`.
    A side given as None is not checked."""
    gate = text if isinstance(text, Gate) else parse_gate(text)
    lines: dict[str, None] = {}
    for node in _walk(gate.condition):
        facts = champion if isinstance(node, Ref) and node.champion else candidate
        if not isinstance(node, Ref) or node.root == "version" or facts is None:
            continue
        if node.key in getattr(facts, node.root):
            continue
        have = {root: list(getattr(facts, root)) for root in KINDS}
        close = [Ref(root if root != "attribute" else key, key if root != "attribute" else "", node.champion).name
                 for root, key in closest_fields(node.root, node.key, have, ("version",))]
        hint = did_you_mean(close)
        side = "the champion" + (f" v{facts.version}" if facts.version is not None else "") if node.champion \
            else "the candidate"
        lines.setdefault(f"{node.name}: {side} has no such {_NOUNS[node.root]}{hint}")
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
        if ref.root == "version":  # a None version means there is none
            raw = _MISSING if facts.version is None else facts.version
        else:
            raw = (getattr(facts, ref.root) or {}).get(ref.key, _MISSING)
        self.values[ref.name] = None if raw is _MISSING else raw
        where = "the candidate" if not ref.champion else \
            "the champion" + (f" v{facts.version}" if facts.version is not None else "")
        problem = "missing" if raw is _MISSING else "null" if raw is None else "NaN" if _nan(raw) else ""
        notes = (f"{ref.name} is {problem} on {where}",) if problem else ()
        return _Val(_MISSING if raw is None else raw, notes, champion=ref.champion)

    def value(self, node: Value) -> _Val:
        if isinstance(node, Literal):
            return _Val(node.value)
        if isinstance(node, Ref):
            return self.resolve(node)
        parts = [self.value(operand) for operand in node.operands]
        notes = tuple(n for p in parts for n in p.notes)
        flags = {"waived": any(p.waived for p in parts), "champion": any(p.champion for p in parts)}
        source = _flat(self.text[node.span[0]:node.span[1]])
        problem = next((f"cannot do arithmetic on {_kind(p.value)} {_render(p.value)} in {source}"
                        for p in parts if p.value is not _MISSING and not _number(p.value)), "")
        if problem or any(p.value is _MISSING for p in parts):
            return _Val(_MISSING, (*notes, problem) if problem else notes, **flags)
        total = parts[0].value
        try:
            for op, part in zip(node.ops, parts[1:]):
                total = _ARITH[op](total, part.value)
        except ZeroDivisionError:
            return _Val(_MISSING, (*notes, f"division by zero in {source}"), **flags)
        except OverflowError:
            return _Val(_MISSING, (*notes, f"a number is too large in {source}"), **flags)
        return _Val(total, notes, **flags)

    def side(self, node: Value, val: _Val) -> str:
        """How one compared value reads in the explanation: its text and, unless a literal, its value."""
        if isinstance(node, Literal):
            return _flat(self.text[node.span[0]:node.span[1]])
        written = _one_line(node.name) if isinstance(node, Ref) else _flat(self.text[node.span[0]:node.span[1]])
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
        if isinstance(node, IsNull):
            vals = [self.value(node.operand)]
            shown = f"{self.side(node.operand, vals[0])} is {'not null' if node.negated else 'null'}"
        else:
            nodes = [node.left, node.right] if isinstance(node, Compare) else [node.left, *node.items]
            vals = [self.value(n) for n in nodes]
            sides = [self.side(n, v) for n, v in zip(nodes, vals)]
            shown = f"{sides[0]} {node.op} {sides[1]}" if isinstance(node, Compare) else \
                f"{sides[0]} {'not in' if node.negated else 'in'} ({', '.join(sides[1:])})"
        outcome, reasons = self.decide(node, vals)
        if any(v.champion for v in vals) and self.champion is not None and self.champion.version is not None:
            shown += f" (champion v{self.champion.version})"
        word = "passed" if (_flip(outcome) if negated else outcome) >= WAIVED else "failed"
        why = f" ({', '.join(dict.fromkeys(reasons))})" if reasons else ""
        self.lines.append(f"{'not ' if negated else ''}{shown}: {word}{why}")
        return outcome

    def decide(self, node: Compare | In | IsNull, vals: list[_Val]) -> tuple[int, tuple[str, ...]]:
        """The outcome of one comparison and why, when it is not a plain pass or fail."""
        notes = tuple(n for v in vals for n in v.notes)
        if any(v.waived for v in vals):
            return (UNKNOWN, notes) if notes else (WAIVED, ("no current holder",))
        if isinstance(node, IsNull):
            return (PASS if (vals[0].value is _MISSING) != node.negated else FAIL), ()
        why = tuple(n for v in vals if _unreadable(v) for n in v.notes) or ("the result is NaN",)
        (left, *items), op = vals, node.op if isinstance(node, Compare) else "="
        readable = [v.value for v in items if not _unreadable(v)]
        if _unreadable(left):
            return UNKNOWN, why
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
