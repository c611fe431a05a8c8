"""What changed in the code of two runs: the cells of two notebooks, or two texts, as unified diffs.

Notebooks are aligned cell by cell with nbdime (the Jupyter project's notebook diff), on their
sources only: outputs, execution counts and metadata differ between any two executions and say
nothing about why results differ. Identical cells are matched first, so nbdime aligns only the
blocks of changed cells between them (its alignment compares every cell with every other: a
million comparisons, seconds, for two notebooks of 1,000 cells); a block of many changed cells
with no cell ids in common is paired in order instead.
"""

from __future__ import annotations

import difflib
import json
from typing import Any

from nbmlops.errors import InvalidInputError

CONTEXT = 1  # unchanged lines shown around each change
FUZZY_LIMIT = 40_000  # cells(A) x cells(B) of a changed block that nbdime may align without shared cell ids
TRACK_CALL = "get_ipython().run_cell_magic('track'"  # how IPython's history holds a %%track cell


def unified(old: str, new: str, context: int = CONTEXT) -> list[str]:
    """The lines of a unified diff of two texts, without the ---/+++ header; [] when they are equal."""
    lines = difflib.unified_diff(old.splitlines(), new.splitlines(), lineterm="", n=context)
    return [line for i, line in enumerate(lines) if i >= 2]


def history_before_cell(history: str) -> str:
    """The kernel's history up to a `%%track` cell: what `provenance/history.py` holds minus that cell,
    which IPython had already put in its history when the cell ran."""
    at = history.rfind(TRACK_CALL)
    if at == 0:
        return ""
    if at > 0 and history[:at].endswith("\n\n"):
        return history[:at - 2]
    return history


def _cells(data: bytes, label: str) -> list[dict[str, Any]]:
    """The cells of a notebook file as {cell_type, source, id?}: sources joined into one string."""
    try:
        node = json.loads(data)
        raw = node["cells"]
    except (ValueError, KeyError, TypeError):
        raise InvalidInputError(f"{label} is not a notebook nbmlops can read (no JSON with cells)") from None
    cells = []
    for cell in raw if isinstance(raw, list) else []:
        if not isinstance(cell, dict):
            continue
        source = cell.get("source", "")
        source = "".join(str(s) for s in source) if isinstance(source, list) else str(source)
        kept: dict[str, Any] = {"cell_type": str(cell.get("cell_type", "code")), "source": source, "metadata": {}}
        if isinstance(cell.get("id"), str):
            kept["id"] = cell["id"]
        if kept["cell_type"] == "code":
            kept.update(outputs=[], execution_count=None)
        cells.append(kept)
    return cells


def _nbdime_pairs(old: list[dict[str, Any]], new: list[dict[str, Any]]) -> list[tuple[int | None, int | None]]:
    """(index in old, index in new) of every cell nbdime saw added (None, j), removed (i, None) or
    patched (i, j)."""
    from nbdime import diff_notebooks  # on first use: it loads nbformat and jsonschema

    def notebook(cells: list[dict[str, Any]]) -> dict[str, Any]:
        return {"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}

    pairs: list[tuple[int | None, int | None]] = []
    for top in diff_notebooks(notebook(old), notebook(new)):
        if top["key"] != "cells" or top["op"] != "patch":
            continue
        shift = 0  # cells of new minus cells of old before the current key
        for op in top["diff"]:
            key = int(op["key"])
            if op["op"] == "addrange":
                pairs.extend((None, key + shift + k) for k in range(len(op["valuelist"])))
                shift += len(op["valuelist"])
            elif op["op"] == "removerange":
                pairs.extend((key + k, None) for k in range(int(op["length"])))
                shift -= int(op["length"])
            elif op["op"] == "patch":
                pairs.append((key, key + shift))
    return pairs


def _in_order(old: list[dict[str, Any]], new: list[dict[str, Any]]) -> list[tuple[int | None, int | None]]:
    """A changed block's cells paired in order: the first of A with the first of B, and so on."""
    common = min(len(old), len(new))
    return [*((k, k) for k in range(common)), *((i, None) for i in range(common, len(old))),
            *((None, j) for j in range(common, len(new)))]


def _pairs(old: list[dict[str, Any]], new: list[dict[str, Any]]) -> tuple[list[tuple[int | None, int | None]], bool]:
    """(index in A, index in B) of every cell that differs, and whether nbdime aligned every changed block.

    Runs of identical cells are matched first by their exact type and source (linear for notebooks
    that share most cells); nbdime then aligns the cells of each changed block between them, so an
    edit in a notebook of 1,000 cells costs it a few cells, not the million comparisons of its grid.
    """
    matcher = difflib.SequenceMatcher(None, [(c["cell_type"], c["source"]) for c in old],
                                      [(c["cell_type"], c["source"]) for c in new], autojunk=False)
    pairs: list[tuple[int | None, int | None]] = []
    by_nbdime = True
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        block_old, block_new = old[i1:i2], new[j1:j2]
        shared_ids = {c.get("id") for c in block_old} & {c.get("id") for c in block_new} - {None}
        if block_old and block_new and (shared_ids or len(block_old) * len(block_new) <= FUZZY_LIMIT):
            found = _nbdime_pairs(block_old, block_new)
        else:  # only added or only removed cells, or too many changed cells to match fuzzily
            by_nbdime = by_nbdime and not (block_old and block_new)
            found = _in_order(block_old, block_new)
        pairs.extend((None if i is None else i + i1, None if j is None else j + j1) for i, j in found)
    return pairs, by_nbdime


def notebook_changes(old_bytes: bytes, new_bytes: bytes) -> dict[str, Any]:
    """The cells whose source differs between two notebook files, each with its changed lines.

    Returns {"cells": [A count, B count], "aligned_by": "nbdime" | "source", "changes": [{"change":
    "modified" | "added" | "removed", "cell_type", "a": index or None, "b": index or None, "lines": [...]}]}
    (cell indices from 0; `lines` a unified diff, or the whole source prefixed + or -).
    """
    old, new = _cells(old_bytes, "run A's notebook"), _cells(new_bytes, "run B's notebook")
    pairs, by_nbdime = _pairs(old, new)
    changes = []
    for i, j in pairs:
        a = old[i] if i is not None else None
        b = new[j] if j is not None else None
        if a is not None and b is not None:
            if a["source"] == b["source"] and a["cell_type"] == b["cell_type"]:
                continue  # nbdime saw an id, output or metadata change: not a code change
            lines = unified(a["source"], b["source"])
            if a["cell_type"] != b["cell_type"]:
                lines.insert(0, f"cell type {a['cell_type']} -> {b['cell_type']}")
            change = "modified"
        elif b is not None:
            change, lines = "added", [f"+{line}" for line in b["source"].splitlines()]
        elif a is not None:
            change, lines = "removed", [f"-{line}" for line in a["source"].splitlines()]
        else:
            continue
        changes.append({"change": change, "cell_type": (b or a or {}).get("cell_type", "code"),
                        "a": i, "b": j, "lines": lines})
    return {"cells": [len(old), len(new)], "aligned_by": "nbdime" if by_nbdime else "source", "changes": changes}
