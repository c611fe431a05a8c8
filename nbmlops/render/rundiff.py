"""The differences between two runs as text for a terminal and as HTML for notebooks.

Both read the JSON form of a run diff (`RunDiff.to_dict()`, the REST API's answer), so the three
renderings cannot disagree. Text is plain unless asked for colour: added lines and better metrics
green, removed lines and worse metrics red. Values are escaped in HTML; a caller printing text to a
terminal removes control sequences from the values first (`nbmlops.cli.terminal.printable`).
"""

from __future__ import annotations

from collections.abc import Callable
from html import escape
from typing import Any

from nbmlops.render.html import FONT, LINE, MUTED, Markup, format_duration, format_value, status_badge, table_html
from nbmlops.units import counted

ANSI = {"title": "1", "added": "32", "removed": "31", "hunk": "36", "muted": "2", "better": "32", "worse": "31"}
HTML_COLORS = {"added": "rgba(31,157,85,0.18)", "removed": "rgba(217,63,63,0.16)", "hunk": "rgba(43,123,217,0.12)"}
WORDS = {"better": "better", "worse": "worse", "same": "same", "changed": "changed", "added": "only in B",
         "removed": "only in A"}
ARROW = "->"
UP, DOWN = "\u2191", "\u2193"


def _value(value: Any) -> str:
    return format_value(value, 6) if value is not None else "-"


def _line_kind(line: str) -> str | None:
    return "hunk" if line.startswith("@@") else "added" if line.startswith("+") else \
        "removed" if line.startswith("-") else None


def _run_line(label: str, run: dict[str, Any]) -> str:
    took = format_duration(run.get("duration")) or "running"
    return (f"Run {label}: {run['name']}  {run['run_id'][:12]}  {run['status']}  {took}  "
            f"(experiment {run['experiment']})")


def _code_heading(code: dict[str, Any]) -> str:
    if code["kind"] == "notebook":
        return (f"Code: {counted(len(code['changes']), 'cell')} changed "
                f"(notebooks of {code['cells'][0]} and {code['cells'][1]} cells)")
    return "Code: the tracked cell" if code["kind"] == "cell" else "Code"


def _cell_label(change: dict[str, Any]) -> str:
    """Which cell changed, numbered from 1 as Jupyter shows them: `cell 3`, `cell 3 -> 4` (moved), or
    `cell 5 added in B` / `cell 5 removed in B`."""
    a, b = change["a"], change["b"]
    if change["change"] == "added":
        where = f"cell {b + 1} added in B"
    elif change["change"] == "removed":
        where = f"cell {a + 1} removed in B"
    else:
        where = f"cell {b + 1}" if a == b else f"cell {a + 1} -> {b + 1}"
    return f"{where} ({change['cell_type']})"


def _dataset_lines(entry: dict[str, Any]) -> list[str]:
    """The summary lines of one dataset role (without its heading)."""
    changes = entry.get("changes")
    if not changes:
        return []
    lines = []
    if "rows" in changes:
        lines.append(f"rows {_value(changes['rows'][0])} {ARROW} {_value(changes['rows'][1])}")
    for change in changes.get("schema", []):
        if change["change"] == "dtype":
            lines.append(f"column {change['column']} dtype {change['old']} {ARROW} {change['new']}")
        else:
            lines.append(f"column {change['column']} {change['change']}")
    if changes.get("added") is not None:
        lines.append(f"rows: {changes['added']} added, {changes['removed']} removed"
                     + (f", {changes['changed']} changed" if changes.get("changed") is not None else ""))
    for stat in changes.get("statistics", []):
        lines.append(f"{stat['column']} {stat['statistic']}: {_value(stat['old'])} {ARROW} {_value(stat['new'])}")
    if changes.get("statistics_left_out"):
        lines.append(f"... {changes['statistics_left_out']} more statistics differ")
    lines.extend(changes.get("notes", []))
    return lines


def _version(side: dict[str, Any] | None) -> str:
    return "-" if side is None else f"v{side['version']} ({side['fingerprint'][:8]})"


def text(doc: dict[str, Any], *, color: bool = False) -> str:
    """A run diff's JSON form as lines of text; `color` adds ANSI colours."""
    def paint(line: str, kind: str | None) -> str:
        return f"\x1b[{ANSI[kind]}m{line}\x1b[0m" if color and kind else line

    out = [paint(_run_line("A", doc["a"]), "title"), paint(_run_line("B", doc["b"]), "title")]

    def section(title: str) -> None:
        out.extend(["", paint(title, "title")])

    def pairs(rows: list[tuple[str, str, str | None]]) -> None:
        width = max(len(k) for k, _, _ in rows)
        out.extend(f"  {k:<{width}}  {paint(v, kind)}" for k, v, kind in rows)

    if params := doc.get("params"):
        counts = {c: sum(p["change"] == c for p in params) for c in ("changed", "added", "removed")}
        section("Params: " + ", ".join(f"{n} {c}" for c, n in counts.items() if n))
        pairs([(p["key"], f"{_value(p['a'])} {ARROW} {_value(p['b'])}" if p["change"] == "changed" else
                f"{_value(p['b'])} (only in B)" if p["change"] == "added" else f"{_value(p['a'])} (only in A)",
                None) for p in params])
    if metrics := doc.get("metrics"):
        section("Metrics: final values, B - A")
        rows = []
        for m in metrics:
            delta = f" ({m['difference']:+.6g})" if isinstance(m.get("difference"), (int, float)) else ""
            arrow = DOWN if m["direction"] == "min" else UP
            rows.append((f"{m['key']} {arrow}", f"{_value(m['a'])} {ARROW} {_value(m['b'])}{delta}  "
                         f"{WORDS[m['verdict']]}", m["verdict"] if m["verdict"] in ("better", "worse") else None))
        pairs(rows)
    if code := doc.get("code"):
        section(_code_heading(code))
        if code["kind"] == "notebook":
            for change in code["changes"]:
                out.append(f"  {_cell_label(change)}")
                out.extend(paint(f"    {line}", _line_kind(line)) for line in change["lines"])
        elif code["kind"] == "cell":
            for title, key in (("tracked cell", "cell"), ("kernel history before it", "history")):
                if code[key]:
                    out.append(f"  {title}")
                    out.extend(paint(f"    {line}", _line_kind(line)) for line in code[key])
        else:
            out.append(f"  {code['note']}")
    if data := doc.get("data"):
        section("Data")
        for entry in data:
            state = " (same)" if entry["same"] else ""
            out.append(f"  {entry['role']} {entry['name']}: {_version(entry['a'])} {ARROW} "
                       f"{_version(entry['b'])}{state}")
            out.extend(f"    {line}" for line in _dataset_lines(entry))
    if env := doc.get("environment"):
        section("Environment")
        rows = [(key, f"{_value(env[key][0])} {ARROW} {_value(env[key][1])}", None)
                for key in ("python", "platform") if key in env]
        rows += [(p["package"], f"{_value(p['a'])} {ARROW} {_value(p['b'])}",
                  {"added": "added", "removed": "removed"}.get(p["change"])) for p in env.get("packages", [])]
        pairs(rows)
    if git := doc.get("git"):
        section("Git")
        commits = git["commits"]
        out.append(f"  commit {(commits[0] or '-')[:10]} {ARROW} {(commits[1] or '-')[:10]}"
                   + "".join(f"  ({label} dirty)" for label, d in zip("AB", git["dirty"], strict=True) if d))
        if git.get("between") is None and commits[0] != commits[1] and all(commits):
            out.append(paint("  (the repository or a commit is not on this machine: commits between not listed)",
                             "muted"))
        for line in git.get("between") or []:
            out.append(paint(f"    + {line}", "added"))
        for line in git.get("behind") or []:
            out.append(paint(f"    - {line} (in A, not in B)", "removed"))
        for label, text_ in zip("AB", git.get("diffs", []), strict=False):
            out.append(f"  uncommitted changes of {label}:" + ("" if text_ else " none"))
            out.extend(paint(f"    {line}", _line_kind(line)) for line in text_.splitlines())
    if models := doc.get("models"):
        section("Models")
        for label in ("a", "b"):
            out.append(f"  {label.upper()} registered {', '.join(models[label]) or 'nothing'}")
    return "\n".join(out)


def _pre(lines: list[str]) -> str:
    """Diff lines as a preformatted block, each line tinted by what it is."""
    def line(text_: str) -> str:
        kind = _line_kind(text_)
        style = f' style="background:{HTML_COLORS[kind]}"' if kind else ""
        return f"<div{style}>{escape(text_) or '&nbsp;'}</div>"
    return (f'<pre style="margin:2px 0 8px;padding:4px 6px;border:{LINE};font-size:11.5px;overflow:auto;'
            f'max-height:30em;white-space:pre">{"".join(line(t) for t in lines)}</pre>')


def _h(title: str) -> str:
    return f'<div style="font-weight:600;margin:10px 0 2px">{escape(title)}</div>'


def _verdict(verdict: str) -> Markup:
    color = {"better": "rgb(31,157,85)", "worse": "rgb(217,63,63)"}.get(verdict)
    style = f"color:{color};font-weight:600" if color else MUTED
    return Markup(f'<span style="{style}">{escape(WORDS[verdict])}</span>')


def html(doc: dict[str, Any]) -> str:
    """A run diff's JSON form as an HTML block for notebooks."""
    a, b = doc["a"], doc["b"]
    parts = [table_html(["", "A", "B"], [
        ["run", a["name"], b["name"]],
        ["id", Markup(f"<code>{escape(a['run_id'][:12])}</code>"), Markup(f"<code>{escape(b['run_id'][:12])}</code>")],
        ["experiment", a["experiment"], b["experiment"]],
        ["status", status_badge(a["status"]), status_badge(b["status"])],
        ["duration", format_duration(a.get("duration")) or "running", format_duration(b.get("duration")) or "running"],
    ])]
    cell: Callable[[Any], str] = _value
    if params := doc.get("params"):
        parts.append(table_html(["param", "A", "B", ""], [[p["key"], cell(p["a"]), cell(p["b"]), p["change"]]
                                                          for p in params], caption="Params"))
    if metrics := doc.get("metrics"):
        rows = [[f"{m['key']} {DOWN if m['direction'] == 'min' else UP}", cell(m["a"]), cell(m["b"]),
                 f"{m['difference']:+.6g}" if isinstance(m.get("difference"), (int, float)) else "",
                 _verdict(m["verdict"])] for m in metrics]
        parts.append(table_html(["metric", "A", "B", "B - A", ""], rows, caption="Metrics (final values)"))
    if code := doc.get("code"):
        parts.append(_h(_code_heading(code)))
        if code["kind"] == "notebook":
            for change in code["changes"]:
                parts.append(f"<div>{escape(_cell_label(change))}</div>{_pre(change['lines'])}")
        elif code["kind"] == "cell":
            for title, key in (("tracked cell", "cell"), ("kernel history before it", "history")):
                if code[key]:
                    parts.append(f"<div>{escape(title)}</div>{_pre(code[key])}")
        else:
            parts.append(f'<div style="{MUTED}">{escape(code["note"])}</div>')
    if data := doc.get("data"):
        rows = [[e["role"], e["name"], _version(e["a"]), _version(e["b"]),
                 "same" if e["same"] else Markup("<br>".join(escape(line) for line in _dataset_lines(e)))]
                for e in data]
        parts.append(table_html(["role", "dataset", "A", "B", "changes"], rows, caption="Data"))
    if env := doc.get("environment"):
        rows = [[key, cell(env[key][0]), cell(env[key][1])] for key in ("python", "platform") if key in env]
        rows += [[p["package"], cell(p["a"]), cell(p["b"])] for p in env.get("packages", [])]
        parts.append(table_html(["", "A", "B"], rows, caption="Environment"))
    if git := doc.get("git"):
        parts.append(_h("Git"))
        commits = git["commits"]
        parts.append(f"<div>commit <code>{escape((commits[0] or '-')[:10])}</code> {ARROW} "
                     f"<code>{escape((commits[1] or '-')[:10])}</code></div>")
        listed = [f"+ {c}" for c in git.get("between") or []] + [f"- {c} (in A, not in B)"
                                                                  for c in git.get("behind") or []]
        if listed:
            parts.append(_pre(listed))
        for label, text_ in zip("AB", git.get("diffs", []), strict=False):
            parts.append(f"<div>uncommitted changes of {label}{'' if text_ else ': none'}</div>")
            if text_:
                parts.append(_pre(text_.splitlines()))
    if models := doc.get("models"):
        parts.append(table_html(["", "registered"], [["A", ", ".join(models["a"]) or "nothing"],
                                                      ["B", ", ".join(models["b"]) or "nothing"]],
                                caption="Models"))
    body = "".join(f'<div style="margin-top:6px">{p}</div>' for p in parts)
    return f'<div class="nbmlops-diff" style="{FONT};max-width:1100px;padding:6px 0">{body}</div>'
