"""What changed in the code of two runs: the cells of two notebooks, or two texts, as unified diffs.

Notebooks are aligned cell by cell with nbdime (the Jupyter project's notebook diff), on their
sources only: outputs, execution counts and metadata differ between any two executions and say
nothing about why results differ. Identical cells are matched first, so nbdime aligns only the
blocks of changed cells between them (its alignment compares every cell with every other: a
million comparisons, seconds, for two notebooks of 1,000 cells); a block of many changed cells
with no cell ids in common is paired in order instead.
"""

from __future__ import annotations

import bisect
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


def _notebook(cells: list[dict[str, Any]], metadata: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"cells": cells, "metadata": metadata or {}, "nbformat": 4, "nbformat_minor": 5}


def _nbdime_cell_ops(old: list[dict[str, Any]], new: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """nbdime's diff of the cell lists `old` -> `new`: its addrange, removerange and patch entries."""
    from nbdime import diff_notebooks  # on first use: it loads nbformat and jsonschema

    return [op for top in diff_notebooks(_notebook(old), _notebook(new))
            if top["key"] == "cells" and top["op"] == "patch" for op in top["diff"]]


def _nbdime_pairs(old: list[dict[str, Any]], new: list[dict[str, Any]]) -> list[tuple[int | None, int | None]]:
    """(index in old, index in new) of every cell nbdime saw added (None, j), removed (i, None) or
    patched (i, j)."""
    pairs: list[tuple[int | None, int | None]] = []
    shift = 0  # cells of new minus cells of old before the current key
    for op in _nbdime_cell_ops(old, new):
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


Block = tuple[int, int, int, int, bool]


def _blocks(old: list[dict[str, Any]], new: list[dict[str, Any]]) -> list[Block]:
    """The changed blocks of two cell lists, (i1, i2, j1, j2, fuzzy): old[i1:i2] became new[j1:j2], and
    whether nbdime may align the block (True) or its cells are paired in order (False).

    Runs of identical cells are matched first by their exact type and source (linear for notebooks
    that share most cells); nbdime then aligns the cells of each changed block between them, so an
    edit in a notebook of 1,000 cells costs it a few cells, not the million comparisons of its grid.
    """
    matcher = difflib.SequenceMatcher(None, [(c["cell_type"], c["source"]) for c in old],
                                      [(c["cell_type"], c["source"]) for c in new], autojunk=False)
    blocks = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        block_old, block_new = old[i1:i2], new[j1:j2]
        shared_ids = {c.get("id") for c in block_old} & {c.get("id") for c in block_new} - {None}
        fuzzy = bool(block_old and block_new and (shared_ids or len(block_old) * len(block_new) <= FUZZY_LIMIT))
        blocks.append((i1, i2, j1, j2, fuzzy))
    return blocks


def _pairs(old: list[dict[str, Any]], new: list[dict[str, Any]]) -> tuple[list[tuple[int | None, int | None]], bool]:
    """(index in A, index in B) of every cell that differs, and whether nbdime aligned every changed block."""
    pairs: list[tuple[int | None, int | None]] = []
    by_nbdime = True
    for i1, i2, j1, j2, fuzzy in _blocks(old, new):
        block_old, block_new = old[i1:i2], new[j1:j2]
        if fuzzy:
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


def _without_ids(op: dict[str, Any]) -> dict[str, Any] | None:
    """A cell-level nbdime entry without cell id changes (ids differ between any two copies of a
    notebook and say nothing about its code); None when nothing else is left."""
    if op["op"] == "addrange":
        return {**op, "valuelist": [{k: v for k, v in cell.items() if k != "id"} for cell in op["valuelist"]]}
    if op["op"] == "patch":
        kept = [entry for entry in op["diff"] if entry["key"] != "id"]
        return {**op, "diff": kept} if kept else None
    return op


def _block_ops(old: list[dict[str, Any]], new: list[dict[str, Any]], fuzzy: bool) -> list[dict[str, Any]]:
    """nbdime's cell-level entries turning the block `old` into `new`, keys relative to the block."""
    if fuzzy:
        return _nbdime_cell_ops(old, new)
    common = min(len(old), len(new))
    ops = [{**op, "key": op["key"] + k} for k in range(common) for op in _nbdime_cell_ops([old[k]], [new[k]])]
    if len(new) > common:
        ops.append({"op": "addrange", "key": common, "valuelist": new[common:]})
    if len(old) > common:
        ops.append({"op": "removerange", "key": common, "length": len(old) - common})
    return ops


def notebook_diff(old_bytes: bytes, new_bytes: bytes) -> dict[str, Any]:
    """The two notebooks' code changes as nbdime's diff view takes them: {"base": a notebook of the
    cells of A that changed or were removed, "diff": nbdime's diff of `base` into B's changed cells,
    "cells": each base cell's index in A}.

    Sources only, aligned as `notebook_changes` aligns them. Unchanged cells are left out of `base`,
    so a one-line edit in a notebook of 1,000 cells is one cell to send and draw.
    """
    old, new = _cells(old_bytes, "run A's notebook"), _cells(new_bytes, "run B's notebook")
    ops: list[dict[str, Any]] = []  # against all of A, by key; addrange before removerange at one key
    for i1, i2, j1, j2, fuzzy in _blocks(old, new):
        for op in _block_ops(old[i1:i2], new[j1:j2], fuzzy):
            found = _without_ids(op)
            if found is not None:
                ops.append({**found, "key": found["key"] + i1})
    kept = sorted({op["key"] + k for op in ops if op["op"] != "addrange"
                   for k in range(op["length"] if op["op"] == "removerange" else 1)})
    trimmed = [{**op, "key": bisect.bisect_left(kept, op["key"])} for op in ops]
    base = [{k: v for k, v in old[i].items() if k != "id"} for i in kept]
    found = json.loads(old_bytes).get("metadata")  # _cells read it: a JSON object
    language = found.get("language_info") if isinstance(found, dict) else None
    metadata = {"language_info": language} if isinstance(language, dict) else {}
    return {"base": {**_notebook(base, metadata), "nbformat_minor": 4},
            "diff": [{"op": "patch", "key": "cells", "diff": trimmed}] if trimmed else [], "cells": kept}
