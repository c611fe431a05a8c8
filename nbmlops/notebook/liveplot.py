"""A live chart of the active run's metrics, redrawn from a background thread while it trains.

Each widget keeps its ipywidgets tree in `.widget` and displays as that tree in a notebook.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from nbmlops.errors import InvalidInputError
from nbmlops.render.display import bundle, figure, ipywidgets, png
from nbmlops.render.html import message_html
from nbmlops.tracking import tracker as tracking

if TYPE_CHECKING:
    from matplotlib.figure import Figure

MAX_PLOT_POINTS = 10_000


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


class LivePlot:
    """A chart of the active run's metrics that redraws while it trains, at most 4 times a second.

    >>> with nbmlops.live_plot(["loss", "val_loss"]):
    ...     train()   # each log_metric shows up within about a quarter second
    """

    REDRAW_INTERVAL = 0.25

    def __init__(self, keys: str | Sequence[str] | None = None, max_points: int = 10_000) -> None:
        w = ipywidgets()
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
        return bundle(self, **kwargs)

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
            fig = self._fig
            if fig is None or list(self._lines) != keys:
                fig = self._layout(keys)
            for key in keys:
                steps, values = downsample(*data[key], self._limit)
                line = self._lines[key]
                line.set_data(steps, np.where(np.isfinite(values), values, np.nan))
                line.axes.relim()
                line.axes.autoscale_view()
            image = png(fig)
        self.image.value = image
        points = sum(len(s) for s, _ in data.values())
        step = max(int(s[-1]) for s, _ in data.values() if len(s))
        self.label.value = message_html(f"run {self._run_name} \u00b7 step {step} \u00b7 {points:,} points")

    def _layout(self, keys: list[str]) -> Figure:
        from matplotlib.ticker import MaxNLocator

        ncols = 1 if len(keys) == 1 else 2
        nrows = math.ceil(len(keys) / ncols)
        height = 0.4 + 2.6 * nrows
        # A fixed layout and few ticks at 80 dpi: a frame costs tens of milliseconds, not hundreds.
        self._fig = fig = figure(6.0 * ncols, height, layout=None, dpi=80)
        fig.subplots_adjust(left=0.12 / ncols, right=0.97, bottom=0.35 / height, top=1 - 0.3 / height,
                                  wspace=0.25, hspace=0.5)
        axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
        self._lines = {key: ax.plot([], [], linewidth=1.2)[0] for ax, key in zip(axes[:len(keys)], keys, strict=True)}
        for ax, key in zip(axes[:len(keys)], keys, strict=True):
            ax.set_title(key, fontsize=10)
            ax.tick_params(labelsize=8)
            ax.xaxis.set_major_locator(MaxNLocator(5, integer=True))
            ax.yaxis.set_major_locator(MaxNLocator(5))
            ax.grid(alpha=0.3)
        for ax in axes[len(keys):]:
            ax.remove()
        # Two points (min and max) per pixel column look the same as every point.
        self._limit = min(self.max_points, int(2 * 6.0 * 80))
        return fig

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


def live_plot(keys: str | Sequence[str] | None = None, max_points: int = 10_000) -> LivePlot:
    """A LivePlot of the active run's metrics: with nbmlops.live_plot(["loss"]): train()."""
    return LivePlot(keys, max_points)
