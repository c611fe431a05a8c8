"""Checking user input, in one place: everything after this layer trusts what it gets."""

from __future__ import annotations

import json
import math
import numbers
from pathlib import PurePosixPath

from nbmlops.entities import INT64
from nbmlops.errors import InvalidInputError

MAX_KEY_LENGTH = 250
MAX_NAME_LENGTH = 250
MAX_VALUE_LENGTH = 8000  # params and tag values, as text
MAX_MEDIA_NAME_LENGTH = 200  # a figure, image, table or text name: one folder or file name in the run


def encodable(what: str, value: str) -> str:
    """`value` unchanged if it can be written as UTF-8; else InvalidInputError naming `what`.

    A lone surrogate (what Python makes of the bytes of a non-UTF-8 file name) is a valid str but
    cannot be encoded: accepted here, it would make every later journal write fail.
    """
    if value.isascii():
        return value
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InvalidInputError(
            f"{what} holds {value[exc.start:exc.end]!r} at character {exc.start}, a lone surrogate that cannot "
            "be stored as UTF-8 (e.g. from a non-UTF-8 file name): decode the bytes with errors='replace' "
            "(for a str: s.encode('utf-8', 'surrogateescape').decode('utf-8', 'replace')) and log that") from None
    return value


def key(kind: str, value: object) -> str:
    """A param, metric or tag key: non-empty text, printable, at most 250 characters."""
    if not isinstance(value, str):
        raise InvalidInputError(f"{kind} key must be a string, got {type(value).__name__} {value!r:.60}")
    if not value or not value.strip():
        raise InvalidInputError(f"{kind} key is empty: give it a name such as 'accuracy'")
    if len(value) > MAX_KEY_LENGTH:
        raise InvalidInputError(
            f"{kind} key {value[:40]!r}... is {len(value)} characters long; the limit is {MAX_KEY_LENGTH}")
    encodable(f"{kind} key {value!r:.80}", value)  # before isprintable: a surrogate is not a control character
    if not value.isprintable():
        raise InvalidInputError(
            f"{kind} key {value!r:.80} contains control characters (newline, tab, ...): remove them")
    if value != value.strip():
        raise InvalidInputError(f"{kind} key {value!r:.80} starts or ends with spaces: remove them")
    return value


def name(kind: str, value: object) -> str:
    """An experiment or run name: like a key, but any printable text."""
    if not isinstance(value, str):
        raise InvalidInputError(f"{kind} name must be a string, got {type(value).__name__}")
    text = value.strip()
    if not text:
        raise InvalidInputError(f"{kind} name is empty: give it a name or leave it out")
    if len(text) > MAX_NAME_LENGTH:
        raise InvalidInputError(f"{kind} name is {len(text)} characters long; the limit is {MAX_NAME_LENGTH}")
    encodable(f"{kind} name {text!r:.80}", text)
    if not text.isprintable():
        raise InvalidInputError(f"{kind} name {text!r:.80} contains control characters: remove them")
    return text


def media_name(kind: str, value: object) -> str:
    """The name of a figure, image, table or text: one printable path segment (unicode allowed)."""
    if not isinstance(value, str):
        raise InvalidInputError(f"{kind} name must be a string, got {type(value).__name__} {value!r:.60}")
    if not value.strip():
        raise InvalidInputError(f"{kind} name is empty: give it a name such as 'confusion-matrix'")
    if len(value) > MAX_MEDIA_NAME_LENGTH:
        raise InvalidInputError(
            f"{kind} name {value[:40]!r}... is {len(value)} characters long; the limit is {MAX_MEDIA_NAME_LENGTH}")
    encodable(f"{kind} name {value!r:.80}", value)
    if "/" in value or "\\" in value:
        raise InvalidInputError(f"{kind} name {value!r:.80} contains a slash: use '-' or '.' instead "
                                "(a name is one file name inside the run)")
    if value.startswith("."):
        raise InvalidInputError(f"{kind} name {value!r:.80} starts with a dot: start it with a letter or digit")
    if not value.isprintable() or value != value.strip():
        raise InvalidInputError(
            f"{kind} name {value!r:.80} has control characters or spaces at its ends: remove them")
    return value


def media_step(value: object) -> int:
    """The step of a figure, image, table or text: an integer from 0 that fits in 64 bits."""
    number = step(value)
    if number < 0:
        raise InvalidInputError(f"step must be 0 or more, got {number}")
    return number


def param_value(k: str, value: object) -> tuple[str | None, float | None, str]:
    """A param value as (text, number, type); containers become JSON text when small."""
    if value is None:
        return None, None, "none"
    if isinstance(value, bool) or type(value).__name__ == "bool_":
        flag = bool(value)
        return ("true" if flag else "false"), float(flag), "bool"
    if isinstance(value, numbers.Integral):
        number = int(value)
        if number.bit_length() > 13000:  # ~3900 digits; Python refuses to print much longer ones
            raise InvalidInputError(
                f"param {k!r} is an integer of {number.bit_length()} bits: too large to store")
        text = str(number)
        if not INT64[0] <= number <= INT64[1]:
            # Readers (pandas, DuckDB) hold int params in 64 bits: keep this one exactly, as text
            # (the tracker warns when it records it).
            return text, None, "str"
        return text, float(number), "int"
    if isinstance(value, numbers.Real):
        real = float(value)
        return repr(real), (real if math.isfinite(real) else None), "float"
    if isinstance(value, str):
        if len(value) > MAX_VALUE_LENGTH:
            raise InvalidInputError(
                f"param {k!r} is a string of {len(value)} characters; the limit is {MAX_VALUE_LENGTH}: "
                "log long text with log_artifact instead")
        return encodable(f"param {k!r} value", value), None, "str"
    if isinstance(value, (list, tuple, dict, set, frozenset)):
        try:
            text = json.dumps(sorted(value) if isinstance(value, (set, frozenset)) else value,
                              default=_json_scalar, ensure_ascii=False)
        except (TypeError, ValueError) as exc:
            raise InvalidInputError(f"param {k!r} holds values that cannot be stored as JSON ({exc})") from exc
        if len(text) > MAX_VALUE_LENGTH:
            raise InvalidInputError(
                f"param {k!r} is a {type(value).__name__} of {len(text)} characters as JSON; the limit is "
                f"{MAX_VALUE_LENGTH}: log it with log_artifact instead")
        return encodable(f"param {k!r} value", text), None, "json"
    raise InvalidInputError(
        f"param {k!r} has type {type(value).__name__}; params are numbers, strings, booleans, None "
        "or small lists/dicts: log objects with log_artifact instead")


def _json_scalar(value: object) -> object:
    if isinstance(value, bool) or type(value).__name__ == "bool_":
        return bool(value)
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def metric_value(k: str, value: object) -> float:
    """A metric value: a real number (NaN and infinities are kept as such)."""
    if isinstance(value, bool) or type(value).__name__ == "bool_":
        raise InvalidInputError(f"metric {k!r} got a boolean {value!r}: log 1.0/0.0, or use a param or tag")
    if isinstance(value, numbers.Real):
        try:
            return float(value)
        except OverflowError:
            raise InvalidInputError(f"metric {k!r} value {value!r:.40} is too large for a 64-bit float") from None
    if hasattr(value, "item") and getattr(value, "size", 1) == 1:  # 0-d arrays, tensors
        return metric_value(k, value.item())
    if isinstance(value, str):
        raise InvalidInputError(f"metric {k!r} got the string {value!r:.40}: metrics are numbers; use a tag for text")
    if value is None:
        raise InvalidInputError(f"metric {k!r} got None: log a number, or skip the call")
    raise InvalidInputError(f"metric {k!r} got a {type(value).__name__}: metrics are real numbers")


def step(value: object) -> int:
    """A metric step: an integer that fits in 64 bits."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise InvalidInputError(f"step must be an integer, got {type(value).__name__} {value!r:.40}")
    number = int(value)
    if not INT64[0] <= number <= INT64[1]:
        raise InvalidInputError(f"step {number} does not fit in 64 bits")
    return number


def tag_value(k: str, value: object) -> str:
    """A tag value as text (numbers and booleans are converted)."""
    if value is None:
        raise InvalidInputError(f"tag {k!r} got None: use delete_tag to remove a tag")
    if isinstance(value, (str, numbers.Number)):
        text = value if isinstance(value, str) else str(value)
    else:
        raise InvalidInputError(f"tag {k!r} got a {type(value).__name__}: tags are text")
    if len(text) > MAX_VALUE_LENGTH:
        raise InvalidInputError(f"tag {k!r} is {len(text)} characters long; the limit is {MAX_VALUE_LENGTH}")
    return encodable(f"tag {k!r} value", text)


def artifact_name(value: str) -> str:
    """A relative path inside a run's artifacts, never escaping it."""
    if not isinstance(value, str):
        raise InvalidInputError(f"artifact name must be a string, got {type(value).__name__}")
    encodable(f"artifact name {value!r:.80}", value)
    parts = PurePosixPath(value.replace("\\", "/")).parts
    if not value or value.startswith(("/", "\\")) or any(p in ("..", ".") for p in parts) or not parts:
        raise InvalidInputError(f"artifact name {value!r} must be a relative path without '..'")
    if any(not p.isprintable() for p in parts) or len(value) > 1000:
        raise InvalidInputError(f"artifact name {value!r:.80} has control characters or is too long")
    return "/".join(parts)
