"""Quoting names and strings for the SQL nbmlops builds as text.

Column names, dataset names and file paths come from users' data and from bundles made on other
machines, so they may hold any character. Wherever SQL is built from such a name, it goes through
these two functions and nowhere else: a name can then never end its quotes and start a statement.
"""

from __future__ import annotations

from nbmlops.errors import InvalidInputError


def quote_ident(name: object) -> str:
    """`name` as a DuckDB identifier: `quote_ident('a"b')` -> `"a""b"`."""
    text = str(name)
    if "\x00" in text:
        raise InvalidInputError(f"name {text!r} holds a NUL character: rename it")
    return '"' + text.replace('"', '""') + '"'


def quote_literal(text: object) -> str:
    """`text` as a DuckDB string literal: `quote_literal("it's")` -> `'it''s'`."""
    value = str(text)
    if "\x00" in value:
        raise InvalidInputError(f"text {value!r} holds a NUL character")
    return "'" + value.replace("'", "''") + "'"
