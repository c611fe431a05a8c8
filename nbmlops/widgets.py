"""Notebook widgets: a pageable runs table, a side-by-side comparison and a live metric chart.

ipywidgets and matplotlib are imported when a widget is built, never when nbmlops is imported.
Charts are drawn on matplotlib's Agg canvas directly (no pyplot), so no global backend changes.
Each widget keeps its ipywidgets tree in `.widget` and displays as that tree in a notebook.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import re
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from . import search, tracking
from .entities import Run
from .errors import InvalidInputError, NbmlopsError
from .html import (message_html, metrics_compare_html, params_compare_html, runs_page_html,
                   runs_summary_html)
from .query import ATTRIBUTES, parse_order_by
from .store import Store

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from .tracking import ActiveRun

_MINIMIZED = re.compile(r"loss|error|rmse|mse|mae", re.IGNORECASE)
_WIDE = ("params.", "metrics.", "tags.")
MAX_PLOT_POINTS = 10_000


def _ipywidgets() -> Any:
    try:
        import ipywidgets
        import matplotlib  # noqa: F401  (fail now, not at the first chart)
    except ImportError:
        raise ImportError("nbmlops widgets need ipywidgets and matplotlib: "
                          "pip install ipywidgets matplotlib") from None
    return ipywidgets


def _figure(width: float, height: float, layout: str | None = "constrained", dpi: int = 100) -> Figure:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=dpi, layout=layout)
    FigureCanvasAgg(fig)
    return fig


def _png(fig: Figure) -> bytes:
    buffer = io.BytesIO()
    fig.canvas.print_png(buffer)  # type: ignore[attr-defined]
    return buffer.getvalue()


def _fresh_store() -> Store:
    t = tracking.tracker()
    t.flush()  # show this process's own latest writes
    return t.store


def minimized(key: str) -> bool:
    """Whether lower is better for this metric (its name mentions loss, error, rmse, mse or mae)."""
    return bool(_MINIMIZED.search(key))


def order_text(column: str, descending: bool = False) -> str:
    """The `order_by` text sorting by one column, quoting odd keys: order_text('metrics.val loss')."""
    kind, dot, key = column.partition(".")
    if dot and kind in ("params", "metrics", "tags") and not re.fullmatch(r"[\w\-/.:]+", key):
        column = f"{kind}.`{key.replace('`', '``')}`"
    return f"{column} desc" if descending else column


def downsample(steps: np.ndarray, values: np.ndarray, max_points: int) -> tuple[np.ndarray, np.ndarray]:
    """At most `max_points` points, keeping each bucket's min and max so spikes stay visible."""
    steps, values = np.asarray(steps), np.asarray(values, dtype=float)
    n = len(values)
    if n <= max_points:
        return steps, values
    size = math.ceil(n / max(1, max_points // 2))
    full = n // size * size
    body = values[:full].reshape(-1, size)  # a view: no copy unless there are NaNs
    low = high = body
    if np.isnan(body).any():
        low, high = np.where(np.isnan(body), np.inf, body), np.where(np.isnan(body), -np.inf, body)
    base = np.arange(0, full, size)
    keep = [base + low.argmin(axis=1), base + high.argmax(axis=1)]
    tail = values[full:]
    if len(tail) and not np.isnan(tail).all():  # the last, shorter bucket
        keep.append(full + np.array([np.nanargmin(tail), np.nanargmax(tail)]))
    index = np.unique(np.concatenate(keep))
    return steps[index], values[index]


def _bundle(owner: RunsTable | CompareView | LivePlot, **kwargs: Any) -> Any:
    # The notebook shows the widget tree; a terminal shows a one-line summary, not the tree's repr.
    bundle = owner.widget._repr_mimebundle_(**kwargs)
    if isinstance(bundle, dict):
        bundle["text/plain"] = repr(owner)
    return bundle


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
        w = _ipywidgets()
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
                          for box, cell in zip(self.checkboxes, self.row_cells)]
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
        return _bundle(self, **kwargs)

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
                store = _fresh_store()
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
        w = _ipywidgets()
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
            for i, (box, cell, row) in enumerate(zip(self.checkboxes, self.row_cells, self.row_boxes)):
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
        w = _ipywidgets()
        ids = [_run_id(r) for r in ([run_ids] if isinstance(run_ids, str) else run_ids)]
        if not ids:
            raise InvalidInputError("compare needs at least one run id")
        self._store = _fresh_store()
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
                best_values[key] = (min if minimized(key) else max)(v for _, v in values)
                self.best[key] = next(rid for rid, v in values if v == best_values[key])
        self._history: dict[tuple[str, str], tuple[np.ndarray, np.ndarray]] = {}

        self.only_differences = w.Checkbox(value=False, description="Only differences", indent=False)
        self.params_html = w.HTML()
        self.metrics_html = w.HTML(metrics_compare_html(
            self.runs, self.labels, self.metric_keys, best_values, [k for k in self.metric_keys if minimized(k)]))
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
        return _bundle(self, **kwargs)

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
        fig = _figure(5.5 * ncols, 3.2 * nrows)
        axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
        for ax, key in zip(axes, keys):
            for run, label in zip(self.runs, self.labels):
                if key in run.metrics:
                    steps, values = downsample(*self.history(run.run_id, key), MAX_PLOT_POINTS)
                    ax.plot(steps, values, label=label, marker="o" if len(steps) == 1 else None)
            ax.set_title(f"{key} ({'lower' if minimized(key) else 'higher'} is better)", fontsize=10)
            ax.set_xlabel("step")
            ax.grid(alpha=0.3)
            ax.legend(fontsize="small")
        for ax in axes[len(keys):]:
            ax.remove()
        return fig

    def _render_chart(self) -> None:
        keys = list(self.metric_select.value)
        self.chart.value = _png(self.plot(keys)) if keys else b""
        self.chart.layout.display = None if keys else "none"


class LivePlot:
    """A chart of the active run's metrics that redraws while it trains, at most 4 times a second.

    >>> with nbmlops.live_plot(["loss", "val_loss"]):
    ...     train()   # each log_metric shows up within about a quarter second
    """

    REDRAW_INTERVAL = 0.25

    def __init__(self, keys: str | Sequence[str] | None = None, max_points: int = 10_000) -> None:
        w = _ipywidgets()
        if isinstance(max_points, bool) or not isinstance(max_points, int) or max_points < 2:
            raise InvalidInputError(f"max_points must be an integer of at least 2, got {max_points!r}")
        self.keys = [keys] if isinstance(keys, str) else list(keys) if keys is not None else None
        self.max_points = max_points
        self.run_id: str | None = None
        self._run_name = ""
        self._wanted = set(self.keys or ())
        self._chunks: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {}
        self._series: dict[int, str] = {}  # series id -> key, for the followed run
        self._seen = 0  # series ids are dense; those below this were already matched
        self._lock = threading.Lock()  # guards the buffers
        self._draw_lock = threading.Lock()
        self._dirty, self._stop = threading.Event(), threading.Event()
        self._fig: Figure | None = None
        self._lines: dict[str, Any] = {}
        self._limit = max_points
        self._closed = self._shown = False
        self.image = w.Image(format="png", layout=w.Layout(max_width="100%"))
        waiting = f"waiting for {', '.join(map(repr, self.keys))}" if self.keys else "waiting for metrics"
        self.label = w.HTML(message_html(f"{waiting} from the active run\u2026"))
        self.widget = w.VBox([self.label, self.image])
        self._tracker = tracking.tracker()
        active = self._tracker.active_run()
        if active is not None:
            self._follow(active.run_id, active.name)
        self._thread = threading.Thread(target=self._draw_loop, name="nbmlops-live-plot", daemon=True)
        self._thread.start()
        self._tracker.add_listener(self._on_points, interval=self.REDRAW_INTERVAL)

    def __repr__(self) -> str:
        return f"<LivePlot of run {self._run_name or '(none yet)'}{' (closed)' if self._closed else ''}>"

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        self._shown = True
        return _bundle(self, **kwargs)

    def __enter__(self) -> LivePlot:
        try:
            from IPython import get_ipython
            from IPython.display import display
        except ImportError:
            return self
        if get_ipython() is not None and not self._shown:
            display(self)
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _follow(self, run_id: str, name: str) -> None:
        self.run_id, self._run_name = run_id, name
        self._chunks, self._series, self._seen = {}, {}, 0

    def _on_points(self, points: np.ndarray, series: dict[int, tuple[str, str]]) -> None:
        # On the flush thread: keep the followed run's points and wake the drawing thread.
        try:
            active = self._tracker.active_run()
        except IndexError:  # the run ended while we looked
            active = None
        with self._lock:
            if active is not None and active.run_id != self.run_id:
                self._follow(active.run_id, active.name)
            if self.run_id is None or len(series) > self._seen:
                known = series.copy()  # the tracker adds series from the training thread
                if self.run_id is None:  # a run that started and ended between two flushes
                    run_id = known[int(points["series"][-1])][0]
                    self._follow(run_id, run_id[:8])
                for sid in range(self._seen, len(known)):
                    run_id, key = known[sid]
                    if run_id == self.run_id and (not self._wanted or key in self._wanted):
                        self._series[sid] = key
                self._seen = len(known)
            ids = points["series"]
            for sid, key in self._series.items():
                mask = ids == sid
                if mask.any():
                    self._chunks.setdefault(key, []).append((points["step"][mask], points["value"][mask]))
        self._dirty.set()

    @property
    def data(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """Every point received for the followed run: key -> (steps, values)."""
        with self._lock:
            out = {}
            for key, chunks in self._chunks.items():
                if len(chunks) > 1:
                    chunks[:] = [(np.concatenate([c[0] for c in chunks]), np.concatenate([c[1] for c in chunks]))]
                out[key] = chunks[0]
            return out

    def _draw_loop(self) -> None:
        while True:
            self._dirty.wait()
            if self._stop.is_set():
                return
            self._dirty.clear()
            started = time.monotonic()
            try:
                self.redraw()
            except Exception as exc:  # a broken chart must never disturb the training
                self.label.value = message_html(f"live plot stopped drawing: {exc}", error=True)
                return
            took = time.monotonic() - started
            # At most 4 draws a second, and drawing at most a tenth of the time: it holds the GIL.
            self._stop.wait(max(self.REDRAW_INTERVAL - took, 9 * took))

    def redraw(self) -> None:
        """Draw the points received so far (the plot does this by itself while data arrives)."""
        data = self.data
        keys = [k for k in (self.keys or sorted(data)) if k in data]
        if not keys:
            return
        with self._draw_lock:
            if self._fig is None or list(self._lines) != keys:
                self._layout(keys)
            for key in keys:
                steps, values = downsample(*data[key], self._limit)
                line = self._lines[key]
                line.set_data(steps, np.where(np.isfinite(values), values, np.nan))
                line.axes.relim()
                line.axes.autoscale_view()
            png = _png(self._fig)
        self.image.value = png
        points = sum(len(s) for s, _ in data.values())
        step = max(int(s[-1]) for s, _ in data.values() if len(s))
        self.label.value = message_html(f"run {self._run_name} \u00b7 step {step} \u00b7 {points:,} points")

    def _layout(self, keys: list[str]) -> None:
        from matplotlib.ticker import MaxNLocator

        ncols = 1 if len(keys) == 1 else 2
        nrows = math.ceil(len(keys) / ncols)
        height = 0.4 + 2.6 * nrows
        # A fixed layout and few ticks at 80 dpi: a frame costs tens of milliseconds, not hundreds.
        self._fig = _figure(6.0 * ncols, height, layout=None, dpi=80)
        self._fig.subplots_adjust(left=0.12 / ncols, right=0.97, bottom=0.35 / height, top=1 - 0.3 / height,
                                  wspace=0.25, hspace=0.5)
        axes = self._fig.subplots(nrows, ncols, squeeze=False).ravel()
        self._lines = {key: ax.plot([], [], linewidth=1.2)[0] for ax, key in zip(axes, keys)}
        for ax, key in zip(axes, keys):
            ax.set_title(key, fontsize=10)
            ax.tick_params(labelsize=8)
            ax.xaxis.set_major_locator(MaxNLocator(5, integer=True))
            ax.yaxis.set_major_locator(MaxNLocator(5))
            ax.grid(alpha=0.3)
        for ax in axes[len(keys):]:
            ax.remove()
        # Two points (min and max) per pixel column look the same as every point.
        self._limit = min(self.max_points, int(2 * 6.0 * 80))

    def close(self) -> None:
        """Stop following: take the last buffered points, draw them, and remove the listener."""
        if self._closed:
            return
        self._closed = True
        self._tracker.flush()
        self._tracker.remove_listener(self._on_points)
        self._stop.set()
        self._dirty.set()
        self._thread.join(timeout=5)
        self.redraw()


def runs_table(experiment: str | None = None, where: str | None = None, order_by: str | None = None,
               page_size: int = 50) -> RunsTable:
    """A RunsTable widget: nbmlops.runs_table("churn", where="metrics.accuracy > 0.9")."""
    return RunsTable(experiment, where, order_by, page_size)


def compare(*run_ids: str | ActiveRun | Run) -> CompareView:
    """A CompareView of these runs (ids, id prefixes or runs): nbmlops.compare(a.run_id, b.run_id)."""
    return CompareView(run_ids)


def live_plot(keys: str | Sequence[str] | None = None, max_points: int = 10_000) -> LivePlot:
    """A LivePlot of the active run's metrics: with nbmlops.live_plot(["loss"]): train()."""
    return LivePlot(keys, max_points)
