"""Low-level rendering for the notebook widgets: ipywidgets on demand, Agg figures, PNG bytes.

ipywidgets and matplotlib are imported when a widget is built, never when nbmlops is imported.
Charts are drawn on matplotlib's Agg canvas directly (no pyplot), so no global backend changes.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def ipywidgets() -> Any:
    """The ipywidgets module, imported on first use; says what to install if it or matplotlib is missing."""
    try:
        import ipywidgets
        import matplotlib  # noqa: F401  (fail now, not at the first chart)
    except ImportError:
        raise ImportError("nbmlops widgets need ipywidgets and matplotlib: "
                          "pip install ipywidgets matplotlib") from None
    return ipywidgets


def figure(width: float, height: float, layout: Literal["constrained", "compressed", "tight"] | None = "constrained",
           dpi: int = 100) -> Figure:
    """A matplotlib Figure of this size (inches) on its own Agg canvas, without pyplot."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=dpi, layout=layout)
    FigureCanvasAgg(fig)
    return fig


def png(fig: Figure) -> bytes:
    """The figure drawn as PNG bytes."""
    buffer = io.BytesIO()
    fig.canvas.print_png(buffer)  # type: ignore[attr-defined]
    return buffer.getvalue()


def bundle(owner: Any, **kwargs: Any) -> Any:
    """The mimebundle of `owner.widget`, with `repr(owner)` as its text/plain."""
    # The notebook shows the widget tree; a terminal shows a one-line summary, not the tree's repr.
    bundle = owner.widget._repr_mimebundle_(**kwargs)
    if isinstance(bundle, dict):
        bundle["text/plain"] = repr(owner)
    return bundle
