"""Lineage: dataset versions -> runs -> model versions -> aliases, as a DataFrame of edges.

`lineage(store, ref)` starts from a model (`name@alias`, `name/3`, `name`), a run id (`run:ID` or a
bare id or unique prefix) or a dataset version (`dataset:name@3`, `name@3`, a fingerprint prefix
after '@') and returns every edge on a path into or out of it: what it came from and what came of
it, never siblings (other runs that merely used the same data). Edge kinds:
    used        dataset version -> run (column `detail`: the role, e.g. train)
    registered  run -> model version
    alias       model version -> alias (e.g. churn@production)
    retrains    model version -> the run that retrained it (`nbmlops retrain`)
    reproduces  original run -> the run that reproduced it
Node ids are `dataset:NAME@VERSION`, `run:RUN_ID`, `model:NAME/VERSION`, `alias:NAME@ALIAS`.
In a notebook the frame draws itself as an SVG graph above the table.
"""

from __future__ import annotations

import html
from collections import defaultdict
from typing import Any

import pandas as pd

from nbmlops.errors import InvalidInputError, NotFoundError
from nbmlops.registry import models as registry
from nbmlops.store import datasets as dataset_catalog
from nbmlops.store import lineage as catalog
from nbmlops.store import models as model_catalog
from nbmlops.store.backend import Connection
from nbmlops.store.folder import Store
from nbmlops.store.runs import resolve_run_id

COLUMNS = ["source", "target", "kind", "detail", "source_type", "target_type", "source_label", "target_label"]
_TYPES = ("dataset", "run", "model", "alias")

class Lineage(pd.DataFrame):
    """Edges of a lineage graph (columns `COLUMNS`); `root` is the node it was asked about."""

    _metadata = ["root"]

    @property
    def _constructor(self) -> type[Lineage]:
        return Lineage

    def _repr_html_(self) -> str:
        # pandas-stubs do not declare DataFrame._repr_html_, which pandas has
        return to_svg(self, getattr(self, "root", None)) + (super()._repr_html_() or "")  # type: ignore[misc]


def lineage(store: Store, ref: str) -> Lineage:
    """Every edge into and out of the node `ref` names, as a DataFrame (see the module docstring)."""
    with store.reading() as con:
        root = _node(con, store, ref)
        rows = catalog.edges(con)
        runs = {f"run:{r[0]}": f"{r[1]} ({r[0][:8]}, {r[2]})" for r in catalog.run_labels(con)}
    labels = dict(runs)
    forward, backward = defaultdict(list), defaultdict(list)
    for source, target, kind, detail, label in rows:
        node = target if kind in ("registered", "alias") else source if kind == "used" else None
        if node is not None and label:
            labels[node] = label
        forward[source].append((source, target, kind, detail))
        backward[target].append((source, target, kind, detail))
    for node in (n for edges in forward.values() for e in edges for n in e[:2]):
        labels.setdefault(node, node.split(":", 1)[1].replace("/", " v"))
    edges = dict.fromkeys(_walk(root, forward, 1) + _walk(root, backward, 0))
    frame = Lineage([{"source": s, "target": t, "kind": k, "detail": d,
                      "source_type": s.split(":", 1)[0], "target_type": t.split(":", 1)[0],
                      "source_label": labels.get(s, s), "target_label": labels.get(t, t)}
                     for s, t, k, d in edges], columns=COLUMNS)
    frame.root = root
    return frame


def _walk(root: str, adjacency: dict[str, list[tuple[Any, ...]]], side: int) -> list[tuple[Any, ...]]:
    """Edges reachable from `root` following `adjacency` (the next node is edge[side])."""
    seen, pending, found = {root}, [root], []
    while pending:
        for edge in adjacency.get(pending.pop(), []):
            found.append(edge)
            if edge[side] not in seen:
                seen.add(edge[side])
                pending.append(edge[side])
    return found


def _node(con: Connection, store: Store, ref: str) -> str:
    """The node id that `ref` names."""
    if not isinstance(ref, str) or not ref.strip():
        raise InvalidInputError("lineage needs name@alias, name/VERSION, a run id or dataset:name@VERSION")
    ref = ref.strip()
    kind, _, rest = ref.partition(":")
    if kind == "run" and rest:
        return f"run:{resolve_run_id(con, rest)}"
    if kind == "dataset" and rest:
        return _dataset_node(con, rest)
    if kind == "model" and rest:
        return _model_node(store, con, rest)
    name, at, after = ref.partition("@")
    if at:
        is_alias = model_catalog.alias_target(con, name, after) is not None
        return _model_node(store, con, ref) if is_alias else _dataset_node(con, ref)
    if "/" in ref:
        return _model_node(store, con, ref)
    try:
        return f"run:{resolve_run_id(con, ref)}"
    except NotFoundError:  # an ambiguous run id prefix is reported as such
        pass
    if catalog.is_model(con, ref):
        return _model_node(store, con, ref)
    return _dataset_node(con, ref)


def _model_node(store: Store, con: Connection, uri: str) -> str:
    if "@" in uri:  # an alias is its own node: start from it
        name, alias = uri.split("@", 1)
        if model_catalog.alias_target(con, name, alias) is not None:
            return f"alias:{name}@{alias}"
    version = registry.resolve(store, uri)
    return f"model:{version.name}/{version.version}"


def _dataset_node(con: Connection, ref: str) -> str:
    name, _, version = ref.partition("@")
    prints = dataset_catalog.fingerprints(con, name)
    if not prints:
        raise NotFoundError(f"{ref!r} is no model alias, model version, run or dataset in this store: "
                            "see `nbmlops models`, `nbmlops runs` and `nbmlops data ls`")
    if not version:
        return f"dataset:{name}@{len(prints)}"
    if version.isdigit() and len(version) < 8:
        if not 1 <= int(version) <= len(prints):
            raise NotFoundError(f"dataset {name!r} has versions 1 to {len(prints)}, not {version}")
        return f"dataset:{name}@{int(version)}"
    matches = [i for i, p in enumerate(prints, 1) if p.startswith(version)]
    if len(matches) != 1:
        raise NotFoundError(f"no single version of dataset {name!r} has a fingerprint starting {version!r}")
    return f"dataset:{name}@{matches[0]}"


# -- drawing --------------------------------------------------------------------------------
_COLOURS = {"dataset": "#4c78a8", "run": "#f58518", "model": "#54a24b", "alias": "#b279a2"}
_W, _H, _GAP_X, _GAP_Y = 190, 30, 70, 14


def to_svg(edges: pd.DataFrame, root: str | None = None) -> str:
    """The lineage drawn as an SVG: one column per node type, left to right, edges as curves."""
    if edges.empty:
        return f"<p>No lineage recorded for {html.escape(root or 'this node')} yet.</p>"
    labels: dict[str, str] = {}
    for _, e in edges.iterrows():
        labels.setdefault(e["source"], e["source_label"])
        labels.setdefault(e["target"], e["target_label"])
    if root:
        labels.setdefault(root, root.split(":", 1)[1])
    columns: dict[str, list[str]] = {t: [] for t in _TYPES}
    for node in labels:
        columns[node.split(":", 1)[0]].append(node)
    used = [t for t in _TYPES if columns[t]]
    where = {node: (used.index(t) * (_W + _GAP_X) + 10, i * (_H + _GAP_Y) + 10)
             for t in used for i, node in enumerate(columns[t])}
    width = len(used) * (_W + _GAP_X) - _GAP_X + 20
    height = max(len(columns[t]) for t in used) * (_H + _GAP_Y) - _GAP_Y + 20
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'font-family="sans-serif" font-size="11" role="img" aria-label="lineage">'
             '<defs><marker id="nbmlops-arrow" viewBox="0 0 8 8" refX="8" refY="4" markerWidth="7" '
             'markerHeight="7" orient="auto"><path d="M0,0 L8,4 L0,8 z" fill="#888"/></marker></defs>']
    for _, e in edges.iterrows():
        (x1, y1), (x2, y2) = where[e["source"]], where[e["target"]]
        if x1 == x2:  # within a column (a run reproducing a run): an arc on the right
            path = f"M{x1 + _W},{y1 + _H / 2} C{x1 + _W + 40},{y1 + _H / 2} {x2 + _W + 40},{y2 + _H / 2} " \
                   f"{x2 + _W},{y2 + _H / 2}"
        else:
            mid = (x1 + _W + x2) / 2
            path = f"M{x1 + _W},{y1 + _H / 2} C{mid},{y1 + _H / 2} {mid},{y2 + _H / 2} {x2},{y2 + _H / 2}"
        tip = html.escape(f"{e['kind']}" + (f" ({e['detail']})" if isinstance(e["detail"], str) else ""))
        parts.append(f'<path d="{path}" fill="none" stroke="#888" stroke-width="1.5" '
                     f'marker-end="url(#nbmlops-arrow)"><title>{tip}</title></path>')
    for node, (x, y) in where.items():
        kind = node.split(":", 1)[0]
        stroke = ' stroke="#000" stroke-width="2.5"' if node == root else ""
        text = labels[node] if len(labels[node]) <= 30 else labels[node][:29] + "…"
        parts.append(f'<g><title>{html.escape(node)}</title><rect x="{x}" y="{y}" width="{_W}" height="{_H}" '
                     f'rx="6" fill="{_COLOURS[kind]}"{stroke}/><text x="{x + 8}" y="{y + _H / 2 + 4}" '
                     f'fill="#fff">{html.escape(text)}</text></g>')
    parts.append("</svg>")
    return "".join(parts)
