"""The matplotlib figures a `%%track` cell displays, kept as figures of its run.

Every way a notebook shows a figure goes through the shell's display formatter: `plt.show()` and
`display(fig)` (which the inline backend's `show` calls), and a figure left as the cell's value. So
while the cell runs, the formatter is wrapped: each Figure it formats is logged with the very PNG
the notebook shows (`cell-figure-1`, `cell-figure-2`, ... in display order). The inline backend
draws the figures a cell made but did not show after the cell, when the run has ended: the magic
calls `flush` first, so they are shown (and kept) while the run is still open.
"""

from __future__ import annotations

import base64
import hashlib
import sys
from typing import Any

from nbmlops.tracking import media
from nbmlops.tracking.tracker import Tracker

NAME = "cell-figure-{}"
_INLINE = ("inline", "module://matplotlib_inline.backend_inline")


class FigureCapture:
    """Logs each matplotlib figure the shell formats into run `run_id`, while installed."""

    def __init__(self, shell: Any, t: Tracker, run_id: str, first: int = 1) -> None:
        self.tracker, self.run_id = t, run_id
        self.count = first - 1  # figures logged so far, in the run: a run shared by cells keeps numbering
        self._seen: set[tuple[int, str]] = set()  # (figure, PNG digest): one figure shown twice alike is one
        self._formatter = shell.display_formatter
        self._format = self._formatter.format
        self._own = "format" in self._formatter.__dict__  # someone else's wrapper, put back on exit

    def __enter__(self) -> FigureCapture:
        self._formatter.format = self._capturing_format
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self.flush()
        finally:
            if self._own:
                self._formatter.format = self._format
            else:
                del self._formatter.format  # the class's method again

    def _capturing_format(self, obj: Any, *args: Any, **kwargs: Any) -> Any:
        result = self._format(obj, *args, **kwargs)
        figure_module = sys.modules.get("matplotlib.figure")
        if figure_module is not None and isinstance(obj, figure_module.Figure):
            data = result[0] if isinstance(result, tuple) and result else {}
            self.keep(obj, _png_bytes(data.get("image/png") if isinstance(data, dict) else None))
        return result

    def keep(self, figure: Any, png: bytes | None) -> None:
        """Log `figure` (with the PNG the notebook shows, if it showed one); never fails the cell."""
        try:
            if png is None:
                png = media.figure_png(figure)
            seen = (id(figure), hashlib.sha256(png).hexdigest())
            if seen in self._seen:
                return
            self._seen.add(seen)
            self.count += 1
            media.log_figure(self.tracker, figure, NAME.format(self.count), shown=png, run_id=self.run_id)
        except Exception as exc:  # keeping a figure must never break the cell that shows it
            print(f"nbmlops: a figure the cell showed was not kept: {exc}", file=sys.stderr)

    def keep_value(self, value: Any) -> None:
        """Keep the cell's value if it is a figure: IPython shows it after the cell, when the run has ended."""
        figure_module = sys.modules.get("matplotlib.figure")
        if figure_module is not None and isinstance(value, figure_module.Figure):
            self._capturing_format(value)  # the PNG the notebook is about to show

    def flush(self) -> None:
        """Show (and so keep) the figures the inline backend would draw after the cell."""
        matplotlib = sys.modules.get("matplotlib")
        if matplotlib is None or _backend(matplotlib) not in _INLINE:
            return
        from matplotlib_inline.backend_inline import flush_figures

        flush_figures()


def _png_bytes(shown: object) -> bytes | None:
    """The PNG a formatter made: bytes, or base64 text (IPython's own figure formatter gives that)."""
    if isinstance(shown, bytes):
        return shown
    if isinstance(shown, str):
        try:
            return base64.b64decode(shown, validate=True)
        except ValueError:
            return None
    return None


def _backend(matplotlib: Any) -> str:
    """The backend's name, without making matplotlib choose one (which would load pyplot)."""
    try:
        return str(matplotlib.get_backend(auto_select=False))
    except TypeError:  # matplotlib < 3.10 always knows its backend
        return str(matplotlib.get_backend())
