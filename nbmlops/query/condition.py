"""The one condition language: its AST and its parser, in two dialects sharing one grammar.

A condition is comparisons (``= == != <> < <= > >=``, ``[not] in (...)``, ``is [not] null``,
``[not] like 'pattern'``) joined by ``and`` / ``or`` / ``not`` in any case, with parentheses;
``x = null`` means ``x is null``. Fields are params/metrics/tags keys and the run attributes (ATTRIBUTES).
- The `where` dialect (runs search, compiled to SQL by sql.py) compares a field with a literal, and
  an `order_by` is a list of its fields.
- The gate dialect (promotion gates, evaluated in Python by gates.py) is a superset: it compares
  values (literals, fields and ``version``, each also behind ``champion.``) and arithmetic on them.
Every where filter is a gate, and parses to the same tree. Every node is frozen; a node's `span` (its
(start, end) offsets in the text) is not part of its equality, so tests can build nodes by hand.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from typing import NoReturn, TypeVar, cast

from nbmlops.errors import InvalidInputError
from nbmlops.query.lexer import (
    COMPARISONS,
    CONSTANTS,
    KEYWORDS,
    MAX_TEXT,
    NULL_IN_LIST,
    OPERATOR_HINTS,
    Token,
    Tokens,
    flat,
    lexeme,
    require_string,
    spell_key,
    syntax_error,
)

KINDS = ("params", "metrics", "tags")
ATTRIBUTES: tuple[str, ...] = ("duration", "end_time", "experiment", "host", "name", "notebook", "parent_run_id",
                               "run_id", "start_time", "status", "user")  # of a run
TIMES = ("start_time", "end_time")
Scalar = int | float | str | bool | None


def _span() -> tuple[int, int]:
    return field(default=(0, 0), compare=False, repr=False)


@dataclass(frozen=True)
class Ref:
    """A field: kind is params, metrics or tags (with a key), attribute (the key names it) or version."""
    kind: str
    key: str = ""
    champion: bool = False  # the version now holding the alias, in a gate
    span: tuple[int, int] = _span()

    @property
    def name(self) -> str:
        """The canonical spelling, e.g. champion.metrics.acc, metrics.`val loss` or start_time."""
        plain = self.key if self.kind == "attribute" else self.kind if self.kind == "version" else \
            spell_key(self.kind, self.key)
        return "champion." + plain if self.champion else plain


@dataclass(frozen=True)
class Literal:
    """A number, 'text', true, false or null."""
    value: Scalar
    span: tuple[int, int] = _span()


@dataclass(frozen=True)
class Arith:
    """operands[0] ops[0] operands[1] ..., left to right at one precedence; -x is 0 - x."""
    operands: tuple[Operand, ...]
    ops: tuple[str, ...]
    span: tuple[int, int] = _span()


def _operand(value: object) -> object:
    # A bare Python value stands for its literal, so a tree can be written Compare(ref, '>', 0.9).
    return value if isinstance(value, (Ref, Literal, Arith)) else Literal(value)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Compare:
    """`left op right`; op is one of = != < <= > >=."""
    left: Operand
    op: str
    right: Operand

    def __post_init__(self) -> None:
        if not isinstance(self.right, (Ref, Literal, Arith)) or not isinstance(self.left, (Ref, Literal, Arith)):
            object.__setattr__(self, "left", _operand(self.left))
            object.__setattr__(self, "right", _operand(self.right))


@dataclass(frozen=True)
class In:
    """`left [not] in (item, ...)`."""
    left: Operand
    items: tuple[Operand, ...]
    negated: bool = False

    def __post_init__(self) -> None:
        if not all(isinstance(item, (Ref, Literal, Arith)) for item in self.items):
            object.__setattr__(self, "items", tuple(_operand(item) for item in self.items))


@dataclass(frozen=True)
class IsNull:
    """`operand is [not] null`: whether the value is missing (for a key: the run lacks it)."""
    operand: Operand
    negated: bool = False


@dataclass(frozen=True)
class Like:
    """`left [not] like 'pattern'`: `%` matches any text, `_` one character; case counts, no escapes."""
    left: Ref
    pattern: str
    negated: bool = False


@dataclass(frozen=True)
class Not:
    """`not operand`."""
    operand: Condition


@dataclass(frozen=True)
class And:
    """All operands hold."""
    operands: tuple[Condition, ...]


@dataclass(frozen=True)
class Or:
    """Any operand holds."""
    operands: tuple[Condition, ...]


@dataclass(frozen=True)
class SortKey:
    """One `field [asc|desc]` of an order_by."""
    ref: Ref
    descending: bool = False


@dataclass(frozen=True)
class Gate:
    """A parsed gate: its text and its condition tree."""
    text: str
    condition: Condition


Operand = Ref | Literal | Arith
Condition = Compare | In | IsNull | Like | Not | And | Or
CONDITIONS = (Compare, In, IsNull, Like, Not, And, Or)
Node = Operand | Condition
_R = TypeVar("_R")


def walk(node: Node) -> list[Node]:
    """Every node, parents before children, in text order, without recursion."""
    found, stack = [], [node]
    while stack:
        node = stack.pop()
        found.append(node)
        if isinstance(node, (Not, IsNull)):
            stack.append(node.operand)
        elif isinstance(node, (Arith, And, Or)):
            stack.extend(reversed(node.operands))
        elif isinstance(node, Compare):
            stack.extend((node.right, node.left))
        elif isinstance(node, In):
            stack.extend(reversed((node.left, *node.items)))
        elif isinstance(node, Like):
            stack.append(node.left)
    return found


def moment(text: str) -> datetime | None:
    """The naive UTC time a date string names, or None if it is not one."""
    try:
        # Python 3.10 reads no trailing Z; it means UTC.
        found = datetime.fromisoformat(re.sub(r"[Zz]$", "+00:00", text.strip()))
    except ValueError:
        return None
    return found.astimezone(timezone.utc).replace(tzinfo=None) if found.tzinfo is not None else found


def timestamp(text: str) -> str | None:
    """The UTC, naive ISO form of a date string, or None if it is not one."""
    found = moment(text)
    return None if found is None else found.isoformat(sep=" ")


class _Grammar(Tokens):
    """What both dialects parse alike: and/or/not, comparisons, in-lists, null tests and references.
    A dialect says what an operand is and what a comparison may hold."""

    infix = "in is"  # the words after a left operand that messages list, besides `not` (`like` is always one)
    unknown = "unknown reference '{}'"  # the message for a word that names no field
    bare: dict[str, tuple[str, str]] = {}  # a word without a dot that names a field -> (kind, key)
    champions = False  # whether `champion.` may lead a reference
    never = "holds"  # the verb of "'> null' never holds"
    aliases = OPERATOR_HINTS
    words: tuple[str, ...]  # these four are derived from infix, once per dialect
    after_not: str
    short_ops: str
    long_ops: str

    def __init_subclass__(cls) -> None:
        # The gate dialect took `like` later: its messages list the operators they listed before.
        cls.words = ("not", "like", *cls.infix.split())
        cls.after_not = " or ".join(f"'{word}'" for word in cls.infix.split() if word != "is")
        cls.short_ops, cls.long_ops = f"= != < <= > >= {cls.infix}", f"= == != <> < <= > >= {cls.infix}"

    # condition := and-chains joined by 'or'; 'not' binds tighter than both, comparison tighter still.
    # A lone value is returned as is: inside parentheses it may be arithmetic, `(a + b) * 2`.
    def condition(self) -> Node:
        ors, ands = [], [self.negation()]
        while self.peek().kind == "word" and self.peek().text.lower() in ("and", "or"):
            self.need_condition(ands[-1], self.peek())
            if self.next().text.lower() == "or":
                ors.append(ands[0] if len(ands) == 1 else And(tuple(ands)))  # type: ignore[arg-type]
                ands = []
            ands.append(self.negation())
        if len(ands) + len(ors) > 1:
            self.need_condition(ands[-1], self.peek())
        ors.append(ands[0] if len(ands) == 1 else And(tuple(ands)))  # type: ignore[arg-type]
        return ors[0] if len(ors) == 1 else Or(tuple(ors))  # type: ignore[arg-type]

    def need_condition(self, node: Node, tok: Token) -> Condition:
        """Fail unless node is a condition; tok is what follows it."""
        if not isinstance(node, CONDITIONS):
            self.fail(f"expected a comparison ({self.short_ops}) after "
                      f"'{flat(self.text[node.span[0]:node.span[1]])}'{self.found(tok)}", tok.pos)
        return node

    def negation(self) -> Node:
        nots = 0
        while self.peek().kind == "word" and self.peek().text.lower() == "not":
            self.enter(self.next().pos)
            nots += 1
        node = self.primary()
        if nots:
            node = self.need_condition(node, self.peek())
        for _ in range(nots):
            node = Not(node)  # type: ignore[arg-type]
        self.depth -= nots
        return node

    def primary(self) -> Node:
        return self.comparison()

    def comparison(self) -> Node:
        left = self.operand()
        tok = self.peek()
        if isinstance(left, CONDITIONS):  # a parenthesized condition
            if tok.kind == "op" and tok.text in COMPARISONS or tok.text.lower() in ("in", "is"):
                self.fail(f"a condition cannot be compared; '{tok.text}' needs a value on its left", tok.pos)
            return left
        if tok.kind != "op" and (tok.kind != "word" or tok.text.lower() not in self.words):
            return self.lone(left, tok)
        negated = self.null_test()
        if negated is not None:
            return IsNull(left, negated)
        negated = self.keyword("not")
        pattern = self.pattern_test(left, negated)
        if pattern is not None:
            return pattern
        if self.keyword("in"):
            return In(left, self.in_items(negated, lambda after: self.in_item(left, after)), negated)
        if negated:
            self.fail(f"expected {self.after_not} after '{self.written(left)} not'", self.peek().pos)
        tok = self.next()
        if tok.text not in COMPARISONS:
            alias = self.aliases.get(tok.text, "")
            self.fail(f"unknown operator '{tok.text}'{alias}; use one of {self.long_ops}", tok.pos)
        right, op = self.right_operand(tok.text), COMPARISONS[tok.text]
        # `x = null` reads naturally; a comparison with null could only ever be unknown.
        if isinstance(right, Literal) and right.value is None:
            return self.null_compare(tok, right, left)
        if isinstance(left, Literal) and left.value is None:
            return self.null_compare(tok, left, right)
        self.check(left, op, right)
        return Compare(left, op, right)

    def null_compare(self, tok: Token, null: Literal, other: Operand) -> IsNull:
        if COMPARISONS[tok.text] not in ("=", "!="):
            self.fail(f"'{tok.text} null' never {self.never}; use 'is null' or 'is not null'", null.span[0])
        return IsNull(other, COMPARISONS[tok.text] == "!=")

    def in_item(self, left: Operand, after: str) -> Operand:
        item = self.right_operand(after)
        if isinstance(item, Literal) and item.value is None:
            self.fail(NULL_IN_LIST, item.span[0])
        self.check(left, "=", item)
        return item

    def reference(self, tok: Token) -> Ref:
        """The field a word (and the quoted key after it) names."""
        text = tok.text
        champion = self.champions and text.lower().startswith("champion.")
        head, dot, key = (text[len("champion."):] if champion else text).partition(".")
        end, kind = tok.pos + len(text), head.lower()
        if not dot and kind in self.bare:
            return Ref(*self.bare[kind], champion, span=(tok.pos, end))
        if not dot or kind not in KINDS:
            self.fail(self.unknown.format(text), tok.pos)
        if not key:
            quoted = self.quoted_key(tok)
            key, end = quoted.value, quoted.pos + len(quoted.text)
        return Ref(kind, key, champion, span=(tok.pos, end))

    # What a dialect decides.
    def operand(self) -> Node:
        """The left side of a comparison (or a parenthesized condition)."""
        raise NotImplementedError

    def right_operand(self, after: str) -> Operand:
        """The right side of a comparison or an in-list item; `after` is the token before it."""
        raise NotImplementedError

    def written(self, node: Operand) -> str:
        """The left side as it reads in an error message."""
        return flat(self.text[node.span[0]:node.span[1]])

    def lone(self, left: Operand, tok: Token) -> Node:
        """A left side that no comparison follows; whoever needs a condition here says so."""
        return left

    def pattern_test(self, left: Operand, negated: bool) -> Like | None:
        """A `like` test, if one follows the left side."""
        if not self.keyword("like"):
            return None
        tok = self.next()
        if tok.kind != "string":
            self.fail("expected a quoted pattern after 'like', e.g. 'resnet%'", tok.pos)
        if not isinstance(left, Ref):
            self.fail(f"'like' matches the text of a field, e.g. params.model like 'resnet%'; "
                      f"'{self.written(left)}' is not one", left.span[0])
        if left.kind in ("metrics", "version") or left.kind == "attribute" and left.key == "duration":
            self.fail(f"'{self.written(left)}' is a number; 'like' works on text", left.span[0])
        return Like(left, tok.value, negated)

    def check(self, left: Operand, op: str, right: Operand) -> None:
        """Reject a comparison whose types can never make sense, pointing at its right side."""

    def literal_check(self, ref: Ref, op: str, value: Scalar, pos: int) -> None:
        """Reject comparing this field with this literal (at pos) when no value of the field could match."""
        if isinstance(value, bool):
            if ref.kind != "params":
                self.fail(f"'{self.written(ref)}' holds {'numbers' if ref.kind == 'metrics' else 'text'}; "
                          "true/false only compare with params", pos)
            if op not in ("=", "!="):
                self.fail("true/false only work with = and !=", pos)
        elif ref.kind == "metrics" and isinstance(value, str):
            self.fail(f"metric '{ref.key}' is a number; compare it with a number, not '{value}'", pos)
        elif ref.kind == "attribute" and ref.key == "duration" and isinstance(value, str):
            self.fail(f"duration is in seconds; compare it with a number, not '{value}'", pos)
        elif ref.kind == "attribute" and ref.key != "duration":
            if not isinstance(value, str):
                holds = "a time" if ref.key in TIMES else "text"
                self.fail(f"{ref.key} is {holds}; quote the value: '{value:g}'", pos)
            if ref.key in TIMES and timestamp(value) is None:
                example = "'2024-05-01' or '2024-05-01 13:30:00'"
                self.fail(f"{ref.key} needs a date such as {example}, not '{value}'", pos)


class WhereParser(_Grammar):
    """The `where` / `order_by` dialect: `field op literal`, plus run attributes and `like`."""

    infix = "like in is"
    fields = "use params.x / metrics.x / tags.x or one of: " + ", ".join(ATTRIBUTES)
    unknown = "unknown field '{}'; " + fields
    bare = {name: ("attribute", name) for name in ATTRIBUTES}
    never = "matches"
    keywords = KEYWORDS | {"like", "asc", "desc"}
    _LEXEME = lexeme(signed_numbers=True, lone_ops="-")

    def __init__(self, text: object, what: str) -> None:
        text = require_string(text, what)
        if len(text) > MAX_TEXT:
            raise InvalidInputError(f"{what} is {len(text)} characters long; the limit is {MAX_TEXT}")
        super().__init__(text, what, self._LEXEME)

    def finish(self, result: _R) -> _R:
        """Return what was parsed, if nothing follows it."""
        if self.what == "filter":
            self.expect_end()
        else:
            self.expect_end("sort key", "separate sort keys with ','")
        return result

    def primary(self) -> Node:
        tok = self.peek()
        if tok.kind != "punct" or tok.text != "(":
            return self.comparison()
        self.enter(self.next().pos)
        node = self.condition()
        self.depth -= 1
        self.close(tok)
        return node

    def operand(self) -> Ref:
        tok = self.next()
        if tok.kind != "word" or tok.text.lower() in self.keywords:
            found = "the end" if tok.kind == "end" else f"'{tok.text}'"
            self.fail(f"expected a field, found {found}; {self.fields}", tok.pos)
        return self.reference(tok)

    def right_operand(self, after: str) -> Literal:
        tok = self.next()
        span = (tok.pos, tok.pos + len(tok.text))
        if tok.kind == "number":
            return Literal(float(tok.text), span)  # float() gives inf rather than failing on huge numbers
        if tok.kind == "string":
            return Literal(tok.value, span)
        if tok.kind == "word" and tok.text.lower() in CONSTANTS:
            return Literal(CONSTANTS[tok.text.lower()], span)
        hint = f"; text values take single quotes: '{tok.value}'" if tok.kind in ("word", "qkey") else ""
        self.fail(f"expected a value after '{after}'{hint}", tok.pos)

    def written(self, node: Operand) -> str:
        head, dot, rest = self.text[node.span[0]:node.span[1]].partition(".")
        return head + dot + rest.lstrip()  # `params. `x`` reads params.`x`

    def lone(self, left: Operand, tok: Token) -> NoReturn:
        found = "the end" if tok.kind == "end" else f"'{tok.text}'"
        self.fail(f"expected an operator ({self.short_ops}) after '{self.written(left)}', found {found}", tok.pos)

    def check(self, left: Operand, op: str, right: Operand) -> None:
        # The where dialect compares a field with a literal.
        self.literal_check(cast(Ref, left), op, cast(Literal, right).value, right.span[0])

    def sort_keys(self) -> tuple[SortKey, ...]:
        keys = []
        while True:
            ref = self.operand()
            tok = self.peek()
            descending = False
            if tok.kind == "word":
                if tok.text.lower() not in ("asc", "desc"):
                    self.fail(f"unknown sort direction '{tok.text}'; use asc or desc", tok.pos)
                descending = self.next().text.lower() == "desc"
            keys.append(SortKey(ref, descending))
            tok = self.peek()
            if tok.kind != "punct" or tok.text != ",":
                return tuple(keys)
            self.next()


class GateParser(_Grammar):
    """The gate dialect: everything a where filter says, plus comparisons of values, arithmetic,
    `version` and `champion.`."""

    nesting = "parentheses / not / minus"
    unknown = ("unknown reference '{}'; valid references are metrics.<key>, params.<key>, tags.<key>, version, "
               "and each of them after 'champion.'; so are the run attributes " + ", ".join(ATTRIBUTES))
    bare = {"version": ("version", ""), **{name: ("attribute", name) for name in ATTRIBUTES}}
    champions = True
    aliases = {**OPERATOR_HINTS, "=>": " (use '>=')", "=<": " (use '<=')"}
    _LEXEME = lexeme(signed_numbers=False, lone_ops="+*/-")  # unsigned: '-' is always an operator

    def __init__(self, text: object) -> None:
        text = require_string(text, "a gate")
        if len(text) > MAX_TEXT:
            message = f"the gate is {len(text)} characters long; the limit is {MAX_TEXT}"
            raise syntax_error("gate", text, MAX_TEXT, message)
        super().__init__(text, "gate", self._LEXEME)

    def gate(self) -> Gate:
        if self.peek().kind == "end":
            self.fail("empty gate; write a condition such as metrics.accuracy >= 0.9", 0)
        condition, tok = self.condition(), self.peek()
        condition = self.need_condition(condition, tok)
        self.expect_end()
        return Gate(self.text, condition)

    def operand(self) -> Node:
        return self.arith()

    def check(self, left: Operand, op: str, right: Operand) -> None:
        # A run attribute compared with a literal is held to the where dialect's rules, with its messages.
        for ref, other in ((left, right), (right, left)):
            if isinstance(ref, Ref) and ref.kind == "attribute" and isinstance(other, Literal):
                self.literal_check(ref, op, other.value, other.span[0])

    def right_operand(self, after: str) -> Operand:
        """An arithmetic expression, where a condition would be an error."""
        pos, node = self.peek().pos, self.arith()
        if isinstance(node, CONDITIONS):
            self.fail(f"expected a value after '{after}', found a condition", pos)
        return node

    def arith(self) -> Node:
        """Sums of products, parsed in loops so long chains cost no stack."""
        terms: list[Node] = []
        adds: list[Token] = []
        while True:
            factors, muls = [self.atom()], []
            while self.peek().kind == "op" and self.peek().text in ("*", "/"):
                muls.append(self.next())
                factors.append(self.atom())
            terms.append(self.chain(factors, muls))
            if self.peek().kind != "op" or self.peek().text not in ("+", "-"):
                return self.chain(terms, adds)
            adds.append(self.next())

    def chain(self, items: list[Node], ops: list[Token]) -> Node:
        """One precedence level as a flat Arith, failing on operands that cannot take part."""
        if len(items) == 1:
            return items[0]
        for item, op in zip(items, ops[:1] + ops, strict=True):
            if isinstance(item, CONDITIONS):
                self.fail(f"a condition cannot be used with '{op.text}'; put arithmetic inside the comparison",
                          op.pos)
            if isinstance(item, Literal) and item.value is None:
                self.fail(f"null cannot be used with '{op.text}'; use 'is null'", item.span[0])
        operands = cast(tuple[Operand, ...], tuple(items))
        return Arith(operands, tuple(op.text for op in ops), span=(operands[0].span[0], operands[-1].span[1]))

    def atom(self) -> Node:
        index = self.i
        tok = self.next()
        end = tok.pos + len(tok.text)
        if tok.text == "-":
            self.enter(tok.pos)
            operand = self.atom()
            self.depth -= 1
            if isinstance(operand, Literal) and isinstance(operand.value, (int, float)) \
                    and not isinstance(operand.value, bool):
                return Literal(-operand.value, span=(tok.pos, operand.span[1]))
            negated = self.chain([Literal(0, span=(tok.pos, tok.pos)), operand], [tok])
            return replace(cast(Arith, negated), span=(tok.pos, cast(Arith, negated).span[1]))
        if tok.kind == "number":
            # float() gives inf for huge numbers; int() refuses more than ~4300 digits.
            return Literal(int(tok.text) if tok.text.isdigit() and len(tok.text) < 4000 else float(tok.text),
                           span=(tok.pos, end))
        if tok.kind == "string":
            return Literal(tok.value, span=(tok.pos, end))
        if tok.kind == "word" and tok.text.lower() in CONSTANTS:
            return Literal(CONSTANTS[tok.text.lower()], span=(tok.pos, end))
        if tok.kind == "word" and tok.text.lower() not in KEYWORDS:
            return self.reference(tok)
        if tok.text == "(":
            self.enter(tok.pos)
            inner, close = self.condition(), self.close(tok)
            self.depth -= 1
            return inner if isinstance(inner, CONDITIONS) else replace(inner, span=(tok.pos, close.pos + 1))
        before = self.tokens[index - 1].text if index else ""
        what = "a value" if before and before.lower() not in ("and", "or", "not") else "a condition"
        hint = f"; text values take single quotes: '{tok.value}'" if tok.kind == "qkey" else ""
        after = f" after '{before}'" if before else ""
        self.fail(f"expected {what}{after}{self.found(tok)}{hint}", tok.pos)


def parse_where(text: str | None) -> Condition | None:
    """Parse a `where` filter; None for empty or blank text. Example: parse_where("metrics.acc > 0.9")."""
    parser = WhereParser("" if text is None else text, "filter")
    return None if parser.peek().kind == "end" else parser.finish(cast(Condition, parser.condition()))


def parse_order_by(text: str | None) -> tuple[SortKey, ...]:
    """Parse an `order_by`; () for empty or blank text. Example: parse_order_by("metrics.acc desc, name")."""
    parser = WhereParser("" if text is None else text, "order_by")
    return () if parser.peek().kind == "end" else parser.finish(parser.sort_keys())


def parse_gate(text: str) -> Gate:
    """Parse a gate expression. Example: parse_gate("metrics.rmse <= champion.metrics.rmse * 0.95")."""
    return GateParser(text).gate()
