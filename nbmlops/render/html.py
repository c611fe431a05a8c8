"""HTML renderings of runs for notebooks: one run as a card, and the cells the widgets draw.

Everything the user logged is escaped here, once. Colours are mid-tone and backgrounds
semi-transparent so the same markup reads well in light and dark themes. This module sits just
above the entities and imports nothing else from nbmlops, so `Run._repr_html_` can use it.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Collection, Sequence
from html import escape
from numbers import Integral, Real
from typing import TYPE_CHECKING, Any

import pandas as pd

from nbmlops.units import format_bytes

if TYPE_CHECKING:
    from nbmlops.entities import Run

STATUS_COLORS = {"RUNNING": (43, 123, 217), "FINISHED": (31, 157, 85), "FAILED": (217, 63, 63),
                 "KILLED": (208, 138, 26), "PRUNED": (128, 128, 128)}
MUTED = "opacity:0.65"
LINE = "1px solid rgba(128,128,128,0.28)"
STRIPE = "rgba(128,128,128,0.07)"
SELECTED = "rgba(43,123,217,0.16)"
DIFFERENT = "rgba(230,160,0,0.18)"
BEST = "rgba(31,157,85,0.22)"
ERROR = "#d93f3f"
FONT = "font-family:var(--jp-ui-font-family,system-ui,sans-serif);font-size:12.5px;line-height:1.45"


class Markup(str):
    """Text that is already HTML: inserted as is where plain values would be escaped."""


MISSING = Markup('<span style="opacity:0.45">\u2014</span>')
DOWN, UP = "\u2193", "\u2191"


def _rgb(status: str, alpha: float | None = None) -> str:
    r, g, b = STATUS_COLORS.get(status, (128, 128, 128))
    return f"rgb({r},{g},{b})" if alpha is None else f"rgba({r},{g},{b},{alpha})"


def status_badge(status: object) -> Markup:
    """A small coloured pill naming the status."""
    s = str(status)
    return Markup(f'<span style="display:inline-block;padding:0 7px;border-radius:9px;font-size:11px;'
                  f'font-weight:600;letter-spacing:0.03em;color:{_rgb(s)};background:{_rgb(s, 0.14)};'
                  f'border:1px solid {_rgb(s, 0.45)}">{escape(s)}</span>')


def status_marker(status: object) -> Markup:
    """A coloured dot followed by the status, for table cells."""
    s = str(status)
    return Markup(f'<span style="color:{_rgb(s)}" title="{escape(s)}">\u25cf</span> '
                  f'<span style="font-size:11px">{escape(s)}</span>')


def format_value(value: Any, digits: int | None = None) -> str:
    """A param, metric, tag or attribute as short text; missing values become ''."""
    if isinstance(value, (list, dict, tuple)):
        return json.dumps(value, separators=(", ", ": "), default=str)
    if hasattr(value, "item") and not isinstance(value, (dt.datetime, str)):
        value = value.item()  # numpy scalars to Python
    if value is None or value is pd.NA or value is pd.NaT:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Integral):
        return str(int(value))
    if isinstance(value, Real):
        number = float(value)
        if math.isnan(number):
            return "NaN"
        if math.isinf(number):
            return "inf" if number > 0 else "-inf"
        return f"{number:.{digits}g}" if digits is not None else repr(number)
    if isinstance(value, dt.datetime):
        return format_time(value)
    return str(value)


def format_time(value: dt.datetime | None) -> str:
    """A timestamp as 'YYYY-MM-DD HH:MM:SS' (runs store UTC)."""
    return "" if value is None or value is pd.NaT else value.strftime("%Y-%m-%d %H:%M:%S")


def format_duration(seconds: float | None) -> str:
    """Seconds as '12.3 s', '4m 05s', '1h 02m' or '2d 03h'."""
    if seconds is None or (isinstance(seconds, float) and math.isnan(seconds)):
        return ""
    s = float(seconds)
    if s < 60:
        return f"{s:.1f} s"
    whole = int(s)
    if whole < 3600:
        return f"{whole // 60}m {whole % 60:02d}s"
    if whole < 86400:
        return f"{whole // 3600}h {whole % 3600 // 60:02d}m"
    return f"{whole // 86400}d {whole % 86400 // 3600:02d}h"


def _cell(value: object) -> str:
    return value if isinstance(value, Markup) else escape(str(value))


def table_html(header: Sequence[object], rows: Sequence[Sequence[object]], *,
               row_backgrounds: Sequence[str | None] | None = None,
               cell_backgrounds: dict[tuple[int, int], str] | None = None,
               caption: str | None = None) -> str:
    """A compact table; cells are escaped unless they are Markup."""
    td = f"padding:2px 10px 2px 4px;border-bottom:{LINE};text-align:left;vertical-align:top"
    head = "".join(f'<th style="{td};font-weight:600">{_cell(h)}</th>' for h in header)
    marks, body = cell_backgrounds or {}, []
    for i, row in enumerate(rows):
        shade = row_backgrounds[i] if row_backgrounds else None
        cells = []
        for j, value in enumerate(row):
            bg = marks.get((i, j)) or shade
            style = td + (f";background:{bg}" if bg else "") + (";font-weight:600" if (i, j) in marks else "")
            cells.append(f'<td style="{style}">{_cell(value)}</td>')
        body.append(f"<tr>{''.join(cells)}</tr>")
    cap = (f'<caption style="text-align:left;font-weight:600;padding:2px 4px">{escape(caption)}</caption>'
           if caption else "")
    return (f'<table style="border-collapse:collapse;margin:0;{FONT}">{cap}<thead><tr>{head}</tr>'
            f'</thead><tbody>{"".join(body)}</tbody></table>')


def row_html(cells: Sequence[object], widths: Sequence[int], *, right: Sequence[bool] = (),
             titles: Sequence[str] = (), header: bool = False, background: str | None = None) -> str:
    """One table row as fixed-width flex cells, so separately rendered rows line up."""
    parts = []
    for j, value in enumerate(cells):
        align = "right" if j < len(right) and right[j] else "left"
        title = titles[j] if j < len(titles) else ("" if isinstance(value, Markup) else str(value))
        parts.append(f'<div style="box-sizing:border-box;flex:0 0 {widths[j]}ch;padding:0 6px;'
                     f'overflow:hidden;text-overflow:ellipsis;white-space:nowrap;text-align:{align}"'
                     f' title="{escape(title)}">{_cell(value)}</div>')
    style = f"display:flex;align-items:center;min-height:24px;border-bottom:{LINE};{FONT}"
    if header:
        style += ";font-weight:600"
    if background:
        style += f";background:{background}"
    return f'<div style="{style}">{"".join(parts)}</div>'


def message_html(text: str, *, error: bool = False) -> str:
    """One line of text: muted, or red for an error."""
    color = f"color:{ERROR}" if error else MUTED
    return (f'<div style="{FONT};{color};white-space:nowrap;overflow:hidden;text-overflow:ellipsis"'
            f' title="{escape(text)}">{escape(text)}</div>')


def runs_page_html(page: pd.DataFrame, columns: Sequence[str],
                   selected: Collection[str]) -> tuple[str, list[str]]:
    """The header and one row per run of a page of `runs()`, as rows that line up when stacked."""
    labels = ["status", "name", "experiment", "start (UTC)", "duration", "run id", *columns]
    cells: list[list[object]] = []
    titles: list[list[str]] = []
    for r in page.to_dict("records"):
        extra = [r[c] for c in columns]
        cells.append([status_marker(r["status"]), r["name"], r["experiment"], format_time(r["start_time"]),
                      format_duration(r["duration"]), r["run_id"][:8], *[format_value(v, 5) for v in extra]])
        titles.append([str(r["status"]), r["name"], r["experiment"], str(r["start_time"]),
                       f"{r['duration']:.3f} s", r["run_id"], *[format_value(v) for v in extra]])
    widths = [12] + [2 + min(32 if j == 1 else 24, max(3, len(labels[j]), *(len(str(c[j])) for c in cells)))
                     for j in range(1, len(labels))]
    right = [False] * 4 + [True, False] + [pd.api.types.is_numeric_dtype(page[c])
                                            and not pd.api.types.is_bool_dtype(page[c]) for c in columns]
    rows = [row_html(c, widths, right=right, titles=t,
                     background=SELECTED if r in selected else STRIPE if i % 2 else None)
            for i, (c, t, r) in enumerate(zip(cells, titles, page["run_id"], strict=True))]
    return row_html(labels, widths, right=right, header=True), rows


def runs_summary_html(runs: Sequence[Run], labels: Sequence[str]) -> str:
    """Status, experiment, duration and id of runs side by side."""
    return table_html(["", *labels], [
        ["status", *[status_badge(r.status) for r in runs]],
        ["experiment", *[r.experiment for r in runs]],
        ["duration", *[format_duration(r.duration) or "running" for r in runs]],
        ["run id", *[Markup(f"<code>{escape(r.run_id[:12])}</code>") for r in runs]]])


def params_compare_html(runs: Sequence[Run], labels: Sequence[str], keys: Sequence[str],
                        different: Collection[str]) -> str:
    """Params of runs side by side, rows whose values differ highlighted."""
    if not keys:
        return message_html("All params are the same." if any(r.params for r in runs)
                            else "These runs have no params.")
    rows = [[k, *[format_value(r.params[k]) if k in r.params else MISSING for r in runs]] for k in keys]
    return table_html(["param", *labels], rows, caption="Params (differences highlighted)",
                      row_backgrounds=[DIFFERENT if k in different else None for k in keys])


def metrics_compare_html(runs: Sequence[Run], labels: Sequence[str], keys: Sequence[str],
                         best: dict[str, float], lower_is_better: Collection[str]) -> str:
    """Latest metric values side by side, the best value of each metric highlighted."""
    if not keys:
        return message_html("These runs have no metrics.")
    rows: list[list[object]] = []
    marks: dict[tuple[int, int], str] = {}
    for i, key in enumerate(keys):
        row: list[object] = [f"{key} {DOWN if key in lower_is_better else UP}"]
        for j, run in enumerate(runs, start=1):
            value = run.metrics.get(key)
            row.append(MISSING if value is None else
                       Markup(f'<span title="{value!r}">{escape(format_value(value, 6))}</span>'))
            if value is not None and value == best.get(key):
                marks[(i, j)] = BEST
        rows.append(row)
    return table_html(["metric (latest)", *labels], rows, cell_backgrounds=marks,
                      caption="Metrics (best highlighted; \u2193 lower is better, \u2191 higher)")


def _section(title: str, header: Sequence[str], rows: list[list[object]]) -> str:
    return table_html(header, rows, caption=f"{title} ({len(rows)})") if rows else ""


def run_html(run: Run) -> str:
    """A run as a compact HTML card: header, params, metrics, tags, artifacts and any error."""
    status = str(run.status)
    took = format_duration(run.duration) if run.duration is not None else ("running" if status == "RUNNING" else "")
    facts = [("experiment", Markup(f"<b>{escape(run.experiment)}</b>")),
             ("started", f"{format_time(run.start_time)} UTC"), ("duration", took),
             ("by", "@".join(p for p in (run.user, run.host) if p)),
             ("notebook", run.notebook or ""), ("parent", run.parent_run_id or "")]
    line = " \u00b7 ".join(f'<span style="{MUTED}">{k}</span> {_cell(v)}' for k, v in facts if v)
    header = (f'<div style="display:flex;gap:10px;align-items:center;flex-wrap:wrap">'
              f'<span style="font-size:1.2em;font-weight:600">{escape(run.name)}</span>'
              f'{status_badge(status)}<code style="{MUTED};font-size:11px">{escape(run.run_id)}</code>'
              f"</div><div style=\"margin:2px 0 8px\">{line}</div>")
    sections = [
        _section("Params", ["param", "value"], [[k, format_value(v)] for k, v in sorted(run.params.items())]),
        _section("Metrics", ["metric", "latest"],
                 [[k, Markup(f'<span title="{escape(repr(v))}">{escape(format_value(v, 6))}</span>')]
                  for k, v in sorted(run.metrics.items())]),
        _section("Tags", ["tag", "value"], [[k, v] for k, v in sorted(run.tags.items())]),
        _section("Artifacts", ["path", "size", "sha256"],
                 [[a.path, format_bytes(a.size), Markup(f'<code title="{escape(a.sha256)}">'
                                                       f"{escape(a.sha256[:12])}</code>")]
                  for a in run.artifacts]),
    ]
    body = "".join(f"<div>{s}</div>" for s in sections if s)
    tables = f'<div style="display:flex;flex-wrap:wrap;gap:8px 24px;align-items:flex-start">{body}</div>'
    error = ""
    if run.error:
        last = next((ln for ln in reversed(run.error.strip().splitlines()) if ln.strip()), "error")
        error = (f'<details style="margin-top:8px"><summary style="cursor:pointer;color:{ERROR}">'
                 f"<b>Traceback</b> \u00b7 {escape(last.strip())}</summary>"
                 f'<pre style="margin:4px 0 0;padding:6px 8px;max-height:24em;overflow:auto;'
                 f'background:{_rgb(status, 0.08)};border-left:3px solid {_rgb(status, 0.6)};'
                 f'font-size:11.5px;white-space:pre-wrap">{escape(run.error)}</pre></details>')
    return (f'<div class="nbmlops-run" style="{FONT};max-width:1000px;padding:6px 0">'
            f"{header}{tables}{error}</div>")
