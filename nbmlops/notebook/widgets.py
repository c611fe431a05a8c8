"""Notebook widgets: a pageable runs table and a side-by-side comparison of runs.

ipywidgets and matplotlib are imported when a widget is built, never when nbmlops is imported.
Each widget keeps its ipywidgets tree in `.widget` and displays as that tree in a notebook.
The live metric chart is in `nbmlops.notebook.liveplot`; rendering helpers are in `nbmlops.render.display`.
"""

from __future__ import annotations

import contextlib
import json
import math
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from nbmlops.entities import Run, metric_direction
from nbmlops.errors import InvalidInputError, NbmlopsError
from nbmlops.notebook.liveplot import MAX_PLOT_POINTS, downsample
from nbmlops.query.lexer import spell_key
from nbmlops.query.sql import ATTRIBUTES, parse_order_by
from nbmlops.render.display import bundle, figure, ipywidgets, png
from nbmlops.render.html import (
    message_html,
    metrics_compare_html,
    params_compare_html,
    runs_page_html,
    runs_summary_html,
)
from nbmlops.store import runs as search
from nbmlops.tracking import tracker as tracking

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from nbmlops.tracking.tracker import ActiveRun

_WIDE = ("params.", "metrics.", "tags.")


def order_text(column: str, descending: bool = False) -> str:
    """The `order_by` text sorting by one column, quoting odd keys: order_text('metrics.val loss')."""
    kind, dot, key = column.partition(".")
    if dot and kind in ("params", "metrics", "tags"):
        column = spell_key(kind, key)
    return f"{column} desc" if descending else column


def _canonical(value: Any) -> str:
    # 1 and 1.0 are the same param value; a list compares by its JSON.
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return repr(float(value))
    return json.dumps(value, sort_keys=True, default=str)


def _run_id(run: str | ActiveRun | Run) -> str:
    run_id = run if isinstance(run, str) else getattr(run, "run_id", None)
    if not isinstance(run_id, str):
        raise InvalidInputError(f"expected a run id or a run, got {type(run).__name__}")
    return run_id


class RunsTable:
    """Runs as a filterable, sortable, pageable table; tick runs and compare them.

    >>> nbmlops.runs_table("churn", where="metrics.accuracy > 0.9", page_size=25)
    """

    def __init__(self, experiment: str | None = None, where: str | None = None,
                 order_by: str | None = None, page_size: int = 50) -> None:
        w = ipywidgets()
        if isinstance(page_size, bool) or not isinstance(page_size, int) or page_size < 1:
            raise InvalidInputError(f"page_size must be a positive integer, got {page_size!r}")
        self.page_size = page_size
        self.compare_view: CompareView | None = None
        self._df = pd.DataFrame(columns=search.RUN_COLUMNS)
        self._loaded: tuple[str | None, str | None, str | None] | None = None
        self._page = 1
        self._selected: dict[str, None] = {}  # an ordered set of run ids
        self._chosen: list[str] | None = None  # columns the user picked; None: params and metrics
        self._quiet = False  # set while code updates controls, so their observers stay still
        sort, descending, self._custom_order = "", False, None
        keys = parse_order_by(order_by)
        if len(keys) == 1:
            ref = keys[0].ref
            sort = ref.key if ref.kind == "attribute" else f"{ref.kind}.{ref.key}"
            descending = keys[0].descending
        elif keys:
            sort = self._custom_order = str(order_by)

        wide = w.Layout(width="auto")
        self.filter_text = w.Text(value=where or "", continuous_update=False,
                                  placeholder="filter, e.g. metrics.accuracy > 0.9 and params.solver = 'lbfgs'",
                                  layout=w.Layout(flex="1 1 auto", min_width="320px"))
        self.apply_button = w.Button(description="Apply", tooltip="Apply the filter (Enter works too)",
                                     layout=wide)
        self.refresh_button = w.Button(description="Refresh", icon="refresh", layout=wide,
                                       tooltip="Read the store again: new runs and metrics")
        self.error_label = w.HTML()
        style = {"description_width": "initial"}
        self.experiment_select = w.Dropdown(description="Experiment", style=style, layout=wide,
                                            options=[("All experiments", "")], value="")
        self.sort_select = w.Dropdown(description="Sort by", style=style, layout=wide,
                                      options=[("newest first", "")], value="")
        self.sort_descending = w.ToggleButtons(options=[("asc", False), ("desc", True)], value=descending,
                                               style={"button_width": "48px"}, tooltips=["ascending", "descending"])
        self.column_select = w.SelectMultiple(description="Columns", rows=4, style=style,
                                              layout=w.Layout(width="260px"))
        self.prev_button = w.Button(description="Prev", icon="chevron-left", layout=wide)
        self.next_button = w.Button(description="Next", icon="chevron-right", layout=wide)
        self.page_label = w.HTML()
        self.selection_label = w.HTML()
        self.clear_button = w.Button(description="Clear selection", layout=wide)
        self.compare_button = w.Button(description="Compare selected", button_style="primary", layout=wide)
        self.page_checkbox = w.Checkbox(indent=False, tooltip="Select every run on this page",
                                    layout=w.Layout(width="28px", margin="0"))
        self.header = w.HTML()
        self.checkboxes = [w.Checkbox(indent=False, layout=w.Layout(width="28px", margin="0"))
                           for _ in range(page_size)]
        self.row_cells = [w.HTML(layout=w.Layout(margin="0")) for _ in range(page_size)]
        self.row_boxes = [w.HBox([box, cell], layout=w.Layout(align_items="center"))
                          for box, cell in zip(self.checkboxes, self.row_cells, strict=True)]
        self.message = w.HTML()
        self.compare_area = w.VBox()
        table = w.VBox([w.HBox([self.page_checkbox, self.header], layout=w.Layout(align_items="center")),
                        *self.row_boxes, self.message], layout=w.Layout(overflow="auto"))
        self.widget = w.VBox([
            w.HBox([self.filter_text, self.apply_button, self.refresh_button]), self.error_label,
            w.HBox([self.experiment_select, self.sort_select, self.sort_descending, self.column_select],
                   layout=w.Layout(flex_flow="row wrap", align_items="flex-start")),
            table,
            w.HBox([self.prev_button, self.next_button, self.page_label, self.selection_label,
                    self.clear_button, self.compare_button],
                   layout=w.Layout(align_items="center", flex_flow="row wrap")),
            self.compare_area])

        with self._quietly():
            if experiment:
                self._set_experiments([experiment])
                self.experiment_select.value = experiment
            self._set_sort_options([], sort)
        self._load(force=True, raise_errors=True)
        for control in (self.filter_text, self.experiment_select, self.sort_select, self.sort_descending):
            control.observe(lambda _: self._unless_quiet(self.apply), names="value")
        self.column_select.observe(self._on_columns, names="value")
        self.page_checkbox.observe(self._on_page_checkbox, names="value")
        for i, box in enumerate(self.checkboxes):
            box.observe(lambda change, i=i: self._on_check(i, change["new"]), names="value")
        self.apply_button.on_click(lambda _: self.apply())
        self.refresh_button.on_click(lambda _: self.refresh())
        self.prev_button.on_click(lambda _: self.prev_page())
        self.next_button.on_click(lambda _: self.next_page())
        self.clear_button.on_click(lambda _: self.clear_selection())
        self.compare_button.on_click(lambda _: self._compare_clicked())

    def __repr__(self) -> str:
        return (f"<RunsTable: {self.total:,} runs, page {self._page} of {self.page_count}, "
                f"{len(self._selected)} selected>")

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return bundle(self, **kwargs)

    # -- querying --------------------------------------------------------------------------
    def apply(self) -> None:
        """Query with the current filter, experiment and sort; a bad filter shows in red, the table stays."""
        self._load(force=False)

    def refresh(self) -> None:
        """Read the store again (new runs and metrics), keeping filter, page and selection."""
        self._load(force=True)

    def _query(self) -> tuple[str | None, str | None, str | None]:
        column = self.sort_select.value
        order = column if column == self._custom_order else order_text(column, self.sort_descending.value)
        return (self.experiment_select.value or None, self.filter_text.value.strip() or None,
                order if column else None)

    def _load(self, force: bool, raise_errors: bool = False) -> None:
        query = self._query()
        if query != self._loaded or force:
            try:
                store = tracking.tracker().flushed_store()
                names = search.experiments(store)["experiment"].tolist() if force else []
                df = search.runs(store, *query)
            except NbmlopsError as exc:
                if raise_errors:
                    raise
                self.error_label.value = message_html(str(exc), error=True)
                return
            if query != self._loaded:
                self._page = 1
            self._df, self._loaded = df, query
            with self._quietly():
                if force:
                    self._set_experiments(names)
                available = [c for c in df.columns if c.startswith(_WIDE)]
                self._set_sort_options(available, self.sort_select.value)
                self.column_select.options = available
                self.column_select.value = tuple(self.shown_columns)
        self.error_label.value = ""
        self._render()

    def _set_experiments(self, names: list[str]) -> None:
        current = self.experiment_select.value
        names = sorted(set(names) | ({current} if current else set()))
        self.experiment_select.options = [("All experiments", ""), *[(n, n) for n in names]]
        self.experiment_select.value = current

    def _set_sort_options(self, columns: list[str], value: str) -> None:
        # The chosen column stays an option even when no matching run has it.
        choices = dict.fromkeys(c for c in (*ATTRIBUTES, *columns, value, self._custom_order) if c)
        self.sort_select.options = [("newest first", ""), *[(c, c) for c in choices]]
        self.sort_select.value = value
        self.sort_descending.disabled = value in ("", self._custom_order)

    def sort_by(self, column: str | None, descending: bool = False) -> None:
        """Sort by one column (an attribute or params./metrics./tags. key); None: newest first."""
        if column:
            parse_order_by(order_text(column))  # a bad column raises here, naming it
        with self._quietly():
            self._set_sort_options([c for c in self._df.columns if c.startswith(_WIDE)], column or "")
            self.sort_descending.value = descending
        self.apply()

    # -- paging ----------------------------------------------------------------------------
    @property
    def total(self) -> int:
        """How many runs match."""
        return len(self._df)

    @property
    def page_count(self) -> int:
        """How many pages the matching runs fill (at least 1)."""
        return max(1, math.ceil(self.total / self.page_size))

    @property
    def page(self) -> int:
        """The page shown, counted from 1."""
        return self._page

    @page.setter
    def page(self, number: int) -> None:
        self._page = min(max(1, int(number)), self.page_count)
        self._render()

    def next_page(self) -> None:
        """Show the next page."""
        self.page = self._page + 1

    def prev_page(self) -> None:
        """Show the previous page."""
        self.page = self._page - 1

    @property
    def visible_rows(self) -> pd.DataFrame:
        """The runs on the current page, with every column of `nbmlops.runs()`."""
        start = (self._page - 1) * self.page_size
        return self._df.iloc[start:start + self.page_size].copy()

    @property
    def shown_columns(self) -> list[str]:
        """The params./metrics./tags. columns the table shows."""
        available = [c for c in self._df.columns if c.startswith(_WIDE)]
        if self._chosen is None:
            return [c for c in available if not c.startswith("tags.")][:12]
        return [c for c in self._chosen if c in available]

    # -- selection -------------------------------------------------------------------------
    @property
    def selected_run_ids(self) -> list[str]:
        """Ids of the ticked runs, in the order they were ticked (kept across pages and filters)."""
        return list(self._selected)

    def select(self, run_ids: Iterable[str], selected: bool = True) -> None:
        """Tick (or with selected=False, untick) runs by id."""
        for run_id in [run_ids] if isinstance(run_ids, str) else run_ids:
            if selected:
                self._selected[run_id] = None
            else:
                self._selected.pop(run_id, None)
        self._render()

    def clear_selection(self) -> None:
        """Untick every run."""
        self._selected.clear()
        self._render()

    def compare_selected(self) -> CompareView:
        """Open a CompareView of the ticked runs below the table, and return it."""
        if not self._selected:
            raise InvalidInputError("no runs selected: tick the boxes of the runs to compare")
        view = CompareView(self.selected_run_ids)
        w = ipywidgets()
        close = w.Button(description="Close comparison", icon="times", layout=w.Layout(width="auto"))
        close.on_click(lambda _: setattr(self.compare_area, "children", ()))
        self.compare_area.children = (close, view.widget)
        self.compare_view = view
        return view

    def _compare_clicked(self) -> None:
        try:
            self.compare_selected()
        except NbmlopsError as exc:
            self.error_label.value = message_html(str(exc), error=True)

    def _on_check(self, row: int, ticked: bool) -> None:
        if self._quiet:
            return
        page = self.visible_rows
        if row < len(page):
            self.select([page["run_id"].iloc[row]], ticked)

    def _on_page_checkbox(self, change: dict[str, Any]) -> None:
        if not self._quiet:
            self.select(self.visible_rows["run_id"].tolist(), change["new"])

    def _on_columns(self, change: dict[str, Any]) -> None:
        if not self._quiet:
            self._chosen = list(change["new"])
            self._render()

    # -- drawing ---------------------------------------------------------------------------
    @contextlib.contextmanager
    def _quietly(self) -> Iterator[None]:
        self._quiet, previous = True, self._quiet
        try:
            yield
        finally:
            self._quiet = previous

    def _unless_quiet(self, action: Any) -> None:
        if not self._quiet:
            action()

    def _render(self) -> None:
        self._page = min(self._page, self.page_count)
        page = self.visible_rows
        header, rows = runs_page_html(page, self.shown_columns, self._selected)
        with self._quietly():
            self.header.value = header
            for i, (box, cell, row) in enumerate(zip(self.checkboxes, self.row_cells, self.row_boxes, strict=True)):
                row.layout.display = None if i < len(rows) else "none"
                if i < len(rows):
                    box.value, cell.value = page["run_id"].iloc[i] in self._selected, rows[i]
            self.page_checkbox.value = bool(rows) and all(r in self._selected for r in page["run_id"])
        filtered = self._loaded is not None and (self._loaded[0] or self._loaded[1])
        self.message.value = "" if rows else message_html(
            "No runs match: change the filter or the experiment." if filtered else
            "No runs yet: start one with nbmlops.start_run().")
        runs = f"{self.total:,} run{'' if self.total == 1 else 's'}"
        self.page_label.value = message_html(f"page {self._page} of {self.page_count} \u00b7 {runs}")
        self.prev_button.disabled = self._page <= 1
        self.next_button.disabled = self._page >= self.page_count
        self.selection_label.value = message_html(f"{len(self._selected)} selected")
        self.compare_button.disabled = self.clear_button.disabled = not self._selected


class CompareView:
    """Runs side by side: differing params highlighted, the best metrics marked, histories charted.

    >>> nbmlops.compare(run_a.run_id, run_b.run_id)
    """

    def __init__(self, run_ids: Sequence[str | ActiveRun | Run]) -> None:
        w = ipywidgets()
        ids = [_run_id(r) for r in ([run_ids] if isinstance(run_ids, str) else run_ids)]
        if not ids:
            raise InvalidInputError("compare needs at least one run id")
        self._store = tracking.tracker().flushed_store()
        runs: dict[str, Run] = {}
        for run_id in ids:
            run = search.get_run(self._store, run_id)  # resolves prefixes, raises NotFoundError
            runs.setdefault(run.run_id, run)
        self.runs = list(runs.values())
        names = [r.name for r in self.runs]
        self.labels = [f"{r.name} ({r.run_id[:8]})" if names.count(r.name) > 1 else r.name for r in self.runs]
        self.param_keys = sorted({k for r in self.runs for k in r.params})
        self.different = [k for k in self.param_keys if len(
            {_canonical(r.params[k]) if k in r.params else "\0missing" for r in self.runs}) > 1]
        self.metric_keys = sorted({k for r in self.runs for k in r.metrics})
        self.best: dict[str, str] = {}
        best_values: dict[str, float] = {}
        for key in self.metric_keys:
            values = [(r.run_id, r.metrics[key]) for r in self.runs
                      if key in r.metrics and not math.isnan(r.metrics[key])]
            if values:
                best_values[key] = (min if metric_direction(key) == "min" else max)(v for _, v in values)
                self.best[key] = next(rid for rid, v in values if v == best_values[key])
        self._history: dict[tuple[str, str], tuple[np.ndarray, np.ndarray]] = {}

        self.only_differences = w.Checkbox(value=False, description="Only differences", indent=False)
        self.params_html = w.HTML()
        minimized = [k for k in self.metric_keys if metric_direction(k) == "min"]
        self.metrics_html = w.HTML(
            metrics_compare_html(self.runs, self.labels, self.metric_keys, best_values, minimized))
        self.metric_select = w.SelectMultiple(options=self.metric_keys, value=tuple(self.metric_keys[:1]),
                                              description="Charts", rows=min(6, max(2, len(self.metric_keys))))
        self.chart = w.Image(format="png", layout=w.Layout(max_width="100%"))
        self.only_differences.observe(lambda _: self._render_params(), names="value")
        self.metric_select.observe(lambda _: self._render_chart(), names="value")
        self._render_params()
        self._render_chart()
        charts = [self.metric_select, self.chart] if self.metric_keys else []
        self.widget = w.VBox([w.HTML(runs_summary_html(self.runs, self.labels)), self.only_differences,
                              self.params_html, self.metrics_html, *charts])

    def __repr__(self) -> str:
        n = len(self.different)
        return f"<CompareView of {', '.join(self.labels)}: {n} param{' differs' if n == 1 else 's differ'}>"

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return bundle(self, **kwargs)

    @property
    def param_rows(self) -> list[str]:
        """The param keys the table shows (only differing ones while `only_differences` is ticked)."""
        return list(self.different) if self.only_differences.value else list(self.param_keys)

    def _render_params(self) -> None:
        self.params_html.value = params_compare_html(self.runs, self.labels, self.param_rows, self.different)

    def history(self, run_id: str, key: str) -> tuple[np.ndarray, np.ndarray]:
        """Steps and values of one run's metric (read once, then cached)."""
        if (run_id, key) not in self._history:
            df = search.metric_history(self._store, run_id, key)
            self._history[(run_id, key)] = (df["step"].to_numpy(), df["value"].to_numpy())
        return self._history[(run_id, key)]

    def plot(self, keys: str | Sequence[str] | None = None) -> Figure:
        """A figure with one chart per metric key, every run's history overlaid, legend by run name."""
        keys = list(self.metric_select.value) if keys is None else [keys] if isinstance(keys, str) else list(keys)
        unknown = [k for k in keys if k not in self.metric_keys]
        if unknown:
            raise InvalidInputError(f"no metric {unknown[0]!r} in these runs; they have: "
                                    f"{', '.join(self.metric_keys) or 'none'}")
        ncols = 1 if len(keys) <= 1 else 2
        nrows = max(1, math.ceil(len(keys) / ncols))
        fig = figure(5.5 * ncols, 3.2 * nrows)
        axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
        for ax, key in zip(axes[:len(keys)], keys, strict=True):
            for run, label in zip(self.runs, self.labels, strict=True):
                if key in run.metrics:
                    steps, values = downsample(*self.history(run.run_id, key), MAX_PLOT_POINTS)
                    ax.plot(steps, values, label=label, marker="o" if len(steps) == 1 else None)
            ax.set_title(f"{key} ({'lower' if metric_direction(key) == 'min' else 'higher'} is better)", fontsize=10)
            ax.set_xlabel("step")
            ax.grid(alpha=0.3)
            ax.legend(fontsize="small")
        for ax in axes[len(keys):]:
            ax.remove()
        return fig

    def _render_chart(self) -> None:
        keys = list(self.metric_select.value)
        self.chart.value = png(self.plot(keys)) if keys else b""
        self.chart.layout.display = None if keys else "none"


def runs_table(experiment: str | None = None, where: str | None = None, order_by: str | None = None,
               page_size: int = 50) -> RunsTable:
    """A RunsTable widget: nbmlops.runs_table("churn", where="metrics.accuracy > 0.9")."""
    return RunsTable(experiment, where, order_by, page_size)


def compare(*run_ids: str | ActiveRun | Run) -> CompareView:
    """A CompareView of these runs (ids, id prefixes or runs): nbmlops.compare(a.run_id, b.run_id)."""
    return CompareView(run_ids)
