"""The tokens of the condition language (condition.py), the cursor its parser walks them with, its
one-line syntax errors, its limits and how a key is spelled.

Tokens: bare words (``metrics.val-loss``; a key may hold ``- / . :``), keys quoted with backticks
or double quotes, numbers, 'strings' with '' for a quote, ``( ) ,`` and operators. Each dialect
picks which operators stand alone (see `lexeme`). A FilterSyntaxError's `position` is the 0-based
offset in the text; its message gives the 1-based column and an excerpt, on one line.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Mapping, Sequence
from typing import NamedTuple, NoReturn, TypeVar

from nbmlops.errors import FilterSyntaxError, InvalidInputError

MAX_TEXT = 10_000
MAX_DEPTH = 100
KEYWORDS = frozenset({"and", "or", "not", "in", "is", "null", "true", "false"})
CONSTANTS = {"true": True, "false": False, "null": None}
COMPARISONS = {"=": "=", "==": "=", "!=": "!=", "<>": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}
NULL_IN_LIST = "null cannot be in an in-list; add 'or ... is null'"
OPERATOR_HINTS = {"&&": " (use 'and')", "||": " (use 'or')", "!": " (use 'not')"}  # operators from other languages

_I = TypeVar("_I")
_PLAIN_KEY = re.compile(r"[\w\-/.:]+")  # what a bare word may hold after its dot


class Token(NamedTuple):  # a tuple: a parser makes one per lexeme, and tuples are the cheapest to make
    """One lexeme: kind is word, number, string, qkey, punct, op or end."""
    kind: str
    text: str  # as written
    value: str  # a string's or quoted key's content, unquoted; otherwise the text
    pos: int


def lexeme(*, signed_numbers: bool, lone_ops: str) -> re.Pattern[str]:
    """The token pattern of a language.

    signed_numbers: a '-' right before a digit is part of the number.
    lone_ops: operator characters (ending with '-') that are each a token by themselves;
    other runs of operator characters make one token, e.g. `&&`.
    """
    return re.compile(
        r"(?P<ws>\s+)"
        r"|(?P<word>[^\W\d][\w\-/.:]*)"  # the commonest lexeme first; no other starts like it
        # The lookaheads make `'it''s` one unterminated string, not `'it'` followed by `'s`.
        r"|(?P<string>'[^']*(?:''[^']*)*'(?!'))"
        r"|(?P<qkey>`[^`]*(?:``[^`]*)*`(?!`)|\"[^\"]*(?:\"\"[^\"]*)*\"(?!\"))"
        r"|(?P<quote>['`\"])"
        rf"|(?P<number>{'-?' if signed_numbers else ''}(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)"
        r"|(?P<punct>[(),])"
        # Comparison characters lex apart from the rest so `>-1` is `>` then `-1`.
        rf"|(?P<op>[=!<>~]+|[{lone_ops}]|[^\s\w'\"`(),=!<>~{lone_ops}]+)"
    )


def spell_key(kind: str, key: str) -> str:
    """How a key is written after its kind: metrics.acc, or metrics.`val loss` when a bare word cannot hold it."""
    return f"{kind}.{key}" if _PLAIN_KEY.fullmatch(key) else f"{kind}.`{key.replace('`', '``')}`"


def flat(text: str) -> str:
    """Text on one line: each run of whitespace becomes one space, none at the ends."""
    return re.sub(r"\s+", " ", text).strip()


def excerpt(text: str, pos: int) -> str:
    """At most 60 characters of text around pos, on one line."""
    # Whitespace becomes spaces one for one, so the message stays one line and columns still count.
    line = re.sub(r"\s", " ", text)
    if len(line) <= 60:
        return line
    start = max(0, pos - 30)
    return ("..." if start else "") + line[start:start + 60] + ("..." if start + 60 < len(line) else "")


def syntax_error(what: str, text: str, pos: int, message: str) -> FilterSyntaxError:
    """The one-line error for a bad `what` (filter, order_by, gate) at offset pos."""
    return FilterSyntaxError(f'bad {what} at column {pos + 1}: {message} in "{excerpt(text, pos)}"', text, pos)


def require_string(text: object, subject: str) -> str:
    """Text itself, or InvalidInputError if it is not a string."""
    if not isinstance(text, str):
        raise InvalidInputError(f"{subject} must be a string, got {type(text).__name__}")
    return text


class Tokens:
    """The tokens of one text and a parser's cursor over them, ending in an `end` token."""

    nesting = "parentheses / not"  # what counts toward MAX_DEPTH, as the error names it

    def __init__(self, text: str, what: str, pattern: re.Pattern[str]) -> None:
        self.text, self.what, self.depth, self.i = text, what, 0, 0
        self.tokens: list[Token] = []
        for m in pattern.finditer(text):
            kind, lexeme = m.lastgroup or "", m.group()
            if kind == "ws":
                continue
            if kind == "quote":
                what = "string" if lexeme == "'" else "quoted key"
                self.fail(f"unterminated {what}: add the closing {lexeme}", m.start())
            if kind in ("string", "qkey"):  # a doubled quote char inside stands for itself
                self.tokens.append(Token(kind, lexeme, lexeme[1:-1].replace(lexeme[0] * 2, lexeme[0]), m.start()))
            else:
                self.tokens.append(Token(kind, lexeme, lexeme, m.start()))
        self.tokens.append(Token("end", "", "", len(text)))

    def fail(self, message: str, pos: int) -> NoReturn:
        raise syntax_error(self.what, self.text, pos, message)

    def peek(self) -> Token:
        return self.tokens[self.i]

    def next(self) -> Token:
        """The token at the cursor, moving past it unless it is the end."""
        tok = self.tokens[self.i]
        if tok.kind != "end":
            self.i += 1
        return tok

    def keyword(self, *words: str) -> bool:
        """Consume the next token if it is one of these words (any case)."""
        tok = self.peek()
        return tok.kind == "word" and tok.text.lower() in words and bool(self.next())

    def found(self, tok: Token) -> str:
        """The `, found 'x'` part of an error message about tok; empty at the end of the text."""
        return "" if tok.kind == "end" else f", found '{tok.text}'"

    def close(self, opening: Token) -> Token:
        """Consume the ')' that closes `opening`."""
        tok = self.next()
        if tok.text != ")":
            self.fail(f"missing ')' to close the '(' at column {opening.pos + 1}{self.found(tok)}", tok.pos)
        return tok

    def expect_end(self, after: str = "condition", advice: str = "join conditions with 'and' / 'or'") -> None:
        """Fail unless the whole text has been read; `after` names what was parsed last."""
        tok = self.peek()
        if tok.text == ")":
            self.fail("unmatched ')'", tok.pos)
        if tok.kind != "end":
            self.fail(f"unexpected '{tok.text}' after a complete {after}; {advice}", tok.pos)

    def enter(self, pos: int) -> None:
        """Count one level of nesting, failing long before Python's recursion limit would."""
        self.depth += 1
        if self.depth > MAX_DEPTH:
            self.fail(f"nested deeper than {MAX_DEPTH} levels of {self.nesting}; simplify the expression", pos)

    def null_test(self) -> bool | None:
        """After `is [not] null`, whether it had `not`; None if no `is` follows."""
        if not self.keyword("is"):
            return None
        negated = self.keyword("not")
        if not self.keyword("null"):
            self.fail(f"expected 'null' after '{'is not' if negated else 'is'}'", self.peek().pos)
        return negated

    def in_items(self, negated: bool, item: Callable[[str], _I]) -> tuple[_I, ...]:
        """The `(a, b, ...)` after `[not] in`, each item read by item(the '(' or ',' before it)."""
        if self.peek().text != "(":
            self.fail(f"expected '(' after '{'not in' if negated else 'in'}'", self.peek().pos)
        self.next()
        if self.peek().text == ")":
            self.fail("empty in-list: give at least one value, e.g. in ('a', 'b')", self.peek().pos)
        items = [item("(")]
        while True:
            tok = self.next()
            if tok.text == ")":
                return tuple(items)
            if tok.text != ",":
                self.fail("expected ',' or ')' in the in-list", tok.pos)
            items.append(item(","))

    def quoted_key(self, head: Token) -> Token:
        """The quoted key right after `head` (e.g. metrics.), which ends with its dot."""
        quoted = self.next()
        if quoted.kind != "qkey" or not quoted.value:
            self.fail(f"expected a key name after '{head.text}' (quote odd names: {head.text}`my key`)", quoted.pos)
        return quoted


def closest_fields(kind: str, key: str, have: Mapping[str, Sequence[str]],
                   attributes: Sequence[str] = ()) -> list[tuple[str, str]]:
    """Up to three (kind, key) fields that exist and look like `kind.key`, best first; an attribute
    comes back as ("attribute", name). `have` maps each kind (params, metrics, tags) to its keys."""
    # The same key under another kind (metrics.lr for params.lr) is the likeliest slip of all.
    same = [(other, key) for other, keys in have.items() if other != kind and key in keys]
    scored = []
    for other, keys in [*have.items(), ("attribute", attributes)]:
        for found in difflib.get_close_matches(key, keys, n=3):
            ratio = difflib.SequenceMatcher(None, key, found).ratio()
            scored.append((-ratio, other != kind, other, found))
    return list(dict.fromkeys(same + [(other, found) for _, _, other, found in sorted(scored)]))[:3]


def did_you_mean(names: Sequence[str]) -> str:
    """`; did you mean a, b or c?`, or nothing when there is no name."""
    if not names:
        return ""
    return f"; did you mean {', '.join(names[:-1])}{' or ' if len(names) > 1 else ''}{names[-1]}?"
