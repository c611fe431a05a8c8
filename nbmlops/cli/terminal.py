"""Text for a terminal: values with their control sequences removed, tables fitted to its width.

Tags, params, names and errors come from notebooks and bundles made elsewhere. Printed raw, an
escape sequence in one can retitle the window, clear the screen or hide text, so every value a
text format prints goes through `printable` first.
"""

from __future__ import annotations

import math
import re
import shutil
from collections.abc import Callable, Sequence

import pandas as pd

ELLIPSIS = "…"
MAX_CELL = 32  # characters of one value before it is ellipsised
MIN_SHRUNK = 10  # a header is cut to fit down to this many characters before its column is dropped
_GAP = "  "

# OSC, DCS, SOS, PM and APC strings run to BEL or ST (or, unterminated, to the end); CSI to its final
# byte; any other ESC takes the next character with it. Both the 7-bit and the 8-bit (C1) forms.
_SEQUENCES = re.compile(
    r"(?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f])[^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?"
    r"|(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]?"
    r"|\x1b.?",
    re.DOTALL)
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def printable(value: object, *, keep_newlines: bool = True) -> str:
    """`value` as text without terminal control sequences or control characters; newlines and tabs
    stay unless keep_newlines is False, when each becomes a space."""
    text = _CONTROLS.sub("", _SEQUENCES.sub("", str(value)))
    return text if keep_newlines else re.sub(r"[\n\t]", " ", text)


def width() -> int:
    """Columns to fit: $COLUMNS, else the terminal's width, else 100 (output to a file or a pipe)."""
    return max(20, shutil.get_terminal_size(fallback=(100, 24)).columns)


def ellipsis(text: str, limit: int) -> str:
    """text cut to at most `limit` characters, ending in … when cut."""
    return text if len(text) <= limit else text[:max(0, limit - 1)] + ELLIPSIS


def cell(value: object) -> str:
    """A value as one short line of a table; missing values are blank."""
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, float):
        return f"{value:.6g}"
    return ellipsis(printable(value, keep_newlines=False), MAX_CELL)


def table(headers: Sequence[str], column: Callable[[int], Sequence[object]], numeric: Sequence[bool],
          limit: int) -> tuple[list[str], int]:
    """Lines of a table at most `limit` wide, and how many columns (from the right) did not fit.

    column(i) gives the values of column i; columns are read only until one does not fit."""
    heads: list[str] = []
    cells: list[list[str]] = []
    widths: list[int] = []
    used = -len(_GAP)
    for i, header in enumerate(headers):
        head = ellipsis(printable(header, keep_newlines=False), MAX_CELL)
        values = [cell(v) for v in column(i)]
        w = max([len(head), *(len(v) for v in values)])
        room = limit - used - len(_GAP)
        if w > room:
            if i == 0:  # even the first column is too wide: cut it to the width
                heads, cells, widths = [head], [values], [limit]
                break
            # A long header over short values (metric names) gives up letters before the column goes.
            if room < max([MIN_SHRUNK, *(len(v) for v in values)]):
                break
            head, w = ellipsis(head, room), room
        heads.append(head)
        cells.append(values)
        widths.append(w)
        used += len(_GAP) + w

    def line(values: Sequence[str]) -> str:
        parts = [ellipsis(v, w).rjust(w) if numeric[i] else ellipsis(v, w).ljust(w)
                 for i, (v, w) in enumerate(zip(values, widths, strict=True))]
        return _GAP.join(parts).rstrip()

    rows = [line([c[r] for c in cells]) for r in range(len(cells[0]) if cells else 0)]
    return [line(heads), *rows], len(headers) - len(widths)
