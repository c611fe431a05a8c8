"""Salvaging a batch of journal events when some of it cannot be encoded.

A flush writes the whole buffer as one frame. One event that JSON or UTF-8 cannot hold (a lone
surrogate from a non-UTF-8 file name, an object a caller of `Tracker.emit` put in) must not cost
the other events and points, nor leave a run RUNNING: the bad parts are dropped or repaired, and
each is reported once in a warning that names it.
"""

from __future__ import annotations

import json
import warnings
from typing import Any


def utf8(text: str) -> str:
    """`text` with anything UTF-8 cannot hold (lone surrogates) replaced: for text nbmlops captures itself."""
    return text if text.isascii() else text.encode("utf-8", "replace").decode("utf-8")


def writable_events(events: list[list[Any]]) -> list[list[Any]]:
    """`events` without what cannot be encoded as journal JSON, each drop reported once.

    Params and tags lose only their bad items; a run's start and end are kept with their text
    repaired, so the run exists and ends; any other bad event is dropped whole.
    """
    kept: list[list[Any]] = []
    for event in events:
        problem = encoding_problem(event)
        if problem is None:
            kept.append(event)
            continue
        kind, body = event[0], event[1] if len(event) > 1 and isinstance(event[1], dict) else {}
        run = body.get("run_id", "?")
        if kind in ("run_start", "run_end"):  # repaired, never dropped: the run must exist and end
            kept.append([kind, repaired(body)])
            if encoding_problem(kept[-1]) is not None:
                keys = ("run_id", "experiment", "name", "at") if kind == "run_start" else ("run_id", "status", "at")
                kept[-1] = [kind, {k: repaired(body.get(k)) for k in keys}]
            warnings.warn(f"nbmlops wrote the {kind.replace('_', ' ')} of run {run} with what cannot be encoded "
                          f"replaced by '?' ({problem})", RuntimeWarning, stacklevel=2)
        elif kind in ("params", "tags") and isinstance(body.get("items"), list):
            items = [item for item in body["items"] if encoding_problem(item) is None]
            bad = [str(item[0])[:60] if isinstance(item, list) and item else repr(item)[:60]
                   for item in body["items"] if encoding_problem(item) is not None]
            if items:
                kept.append([kind, {**body, "items": items}])
            _warn_dropped(f"{kind} {', '.join(map(repr, bad))} of run {run}", problem)
        else:
            _warn_dropped(f"a {kind!r} event of run {run}", problem)
    return kept


def repaired(value: Any) -> Any:
    """`value` with its text made writable and anything JSON cannot hold as its repr."""
    if isinstance(value, str):
        return utf8(value)
    if isinstance(value, dict):
        return {utf8(str(k)): repaired(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [repaired(v) for v in value]
    if value is None or isinstance(value, (bool, int, float)):
        return value
    return utf8(repr(value))


def encoding_problem(value: object) -> str | None:
    """Why `value` cannot be written as journal JSON (the journal's own encoding), or None."""
    try:
        json.dumps(value, allow_nan=True, ensure_ascii=False).encode("utf-8")
    except (TypeError, ValueError, RecursionError) as exc:
        return f"{type(exc).__name__}: {str(exc)[:120]}"
    return None


def _warn_dropped(what: str, problem: str) -> None:
    warnings.warn(f"nbmlops dropped {what}: it cannot be written to the journal ({problem}); "
                  "the run's other data was written", RuntimeWarning, stacklevel=2)
