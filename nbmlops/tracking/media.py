"""Figures, images, tables and texts of a run: checked, encoded and stored as ordinary artifacts.

The storage contract (the panel and `GET runs/{run_id}/media` read exactly this):

    media/<kind>/<name>/step-<n>.<ext>     with a step (n the integer step, no padding)
    media/<kind>/<name>.<ext>              without a step

kind is `image`, `figure`, `table` or `text`; ext `png` for images and figures, `parquet` for
tables, `txt` for texts. A figure may have an SVG twin at the same stem (`.svg`), stored only when
it is cheap: no raster images inside and at most SVG_MAX_POINTS drawn points, and the result at
most SVG_MAX_BYTES. The twin is logged in the same instant as its PNG: a figure logged again
under the same name and step without a twin leaves the older SVG behind, and a reader pairs an SVG
with its PNG only when both have the same `created_at`.

Media are artifacts like any other (content-addressed, in bundles, the team store and `gc`); the
same name and step logged again replaces the earlier file, as any artifact path logged twice does (the
newest write wins, whichever journal the fold reads last).
"""

from __future__ import annotations

import io
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from nbmlops.entities import Artifact
from nbmlops.errors import InvalidInputError
from nbmlops.tracking import png, tables, validation
from nbmlops.tracking.tracker import Tracker

KINDS = ("figure", "image", "table", "text")
EXTENSIONS = {"figure": "png", "image": "png", "table": "parquet", "text": "txt"}
SVG = "svg"
ROOT = "media"
MAX_PIXELS = 50_000_000  # an image larger than this is almost always a mistake (a wrong reshape)
SVG_MAX_POINTS = 20_000  # more drawn points than this make an SVG slower to write and show than the PNG
SVG_MAX_BYTES = 2 << 20


@dataclass(frozen=True)
class MediaPath:
    """What an artifact path under media/ says: its kind, name, step and extension."""

    kind: str
    name: str
    step: int | None
    ext: str


def path(kind: str, name: str, step: int | None, ext: str) -> str:
    """The artifact path of a medium (name and step already checked)."""
    stem = f"{ROOT}/{kind}/{name}" if step is None else f"{ROOT}/{kind}/{name}/step-{step}"
    return f"{stem}.{ext}"


def parse(artifact: str) -> MediaPath | None:
    """The medium an artifact path holds, or None for any other artifact."""
    parts = artifact.split("/")
    if len(parts) not in (3, 4) or parts[0] != ROOT or parts[1] not in KINDS:
        return None
    kind, last = parts[1], parts[-1]
    exts = (EXTENSIONS[kind], SVG) if kind == "figure" else (EXTENSIONS[kind],)
    ext = next((e for e in exts if last.endswith(f".{e}") and len(last) > len(e) + 1), None)
    if ext is None:
        return None
    stem = last[:-len(ext) - 1]
    if len(parts) == 3:
        return MediaPath(kind, stem, None, ext)
    digits = stem.removeprefix("step-")
    if stem == digits or not digits.isdigit() or not digits.isascii() or (digits != "0" and digits[0] == "0"):
        return None
    return MediaPath(kind, parts[2], int(digits), ext)


# -- logging ---------------------------------------------------------------------------------------
def log_image(t: Tracker, image: Any, name: str, step: int | None = None) -> str:
    """Store an image (numpy array or PIL image) as PNG with the active run; returns the artifact path."""
    name, step = validation.media_name("image", name), _step(step)
    return _store(t, "image", name, step, [("png", image_png(image))])[0]


def log_figure(t: Tracker, figure: Any, name: str, step: int | None = None, *, shown: bytes | None = None,
               run_id: str | None = None) -> list[str]:
    """Store a matplotlib figure as PNG (`shown`, when a notebook already rendered it), plus SVG when cheap,
    with the active run (or run `run_id`); returns the artifact paths."""
    name, step = validation.media_name("figure", name), _step(step)
    _check_figure(figure)
    files = [("png", shown if shown is not None else figure_png(figure))]
    svg = figure_svg(figure)
    if svg is not None:
        files.append((SVG, svg))
    return _store(t, "figure", name, step, files, run_id)


def log_table(t: Tracker, table: Any, name: str, step: int | None = None) -> str:
    """Store a DataFrame (or dict of columns) as Parquet with the active run; returns the artifact path."""
    name, step = validation.media_name("table", name), _step(step)
    return _store(t, "table", name, step, [("parquet", tables.to_parquet(table))])[0]


def log_text(t: Tracker, text: Any, name: str, step: int | None = None) -> str:
    """Store a str as UTF-8 text with the active run; returns the artifact path."""
    name, step = validation.media_name("text", name), _step(step)
    if not isinstance(text, str):
        raise InvalidInputError(f"log_text takes a str, got {type(text).__name__}: pass str(value), or "
                                "log a table or an artifact file instead")
    validation.encodable(f"text {name!r}", text)
    return _store(t, "text", name, step, [("txt", text.encode("utf-8"))])[0]


def _step(step: object) -> int | None:
    return None if step is None else validation.media_step(step)


def _store(t: Tracker, kind: str, name: str, step: int | None, files: list[tuple[str, bytes]],
           run_id: str | None = None) -> list[str]:
    """Store `files` (extension, bytes) as one medium: every file gets the same timestamp."""
    at = time.time()
    stored = []
    for ext, data in files:
        sha, size = t.store.put_bytes(data)
        target = validation.artifact_name(path(kind, name, step, ext))
        # Without a run, the first emit starts one (or joins `nbmlops run`'s), as log_metric does.
        run_id = t.emit("artifact", {"path": target, "sha256": sha, "size": size, "at": at}, run_id)
        stored.append(target)
    return stored


# -- images ----------------------------------------------------------------------------------------
def image_png(image: Any) -> bytes:
    """An image as PNG bytes: numpy HxW, HxWx1, HxWx3 or HxWx4 (uint8, or floats in [0, 1]) or a PIL image."""
    pil = sys.modules.get("PIL.Image")  # not loaded: it cannot be a PIL image
    if pil is not None and isinstance(image, pil.Image):
        return _pil_png(image)
    return png.encode(_pixels(image))


def _pil_png(image: Any) -> bytes:
    width, height = image.size
    _check_size(height, width)
    if image.mode in ("1", "LA", "P", "I;16"):  # PNG has these too: Pillow writes them as they are
        out = io.BytesIO()
        image.save(out, format="PNG", compress_level=png.LEVEL)
        return out.getvalue()
    if image.mode in ("L", "RGB", "RGBA", "I", "F"):  # numbers per pixel: the array rules apply
        return png.encode(_pixels(np.asarray(image)))
    try:
        return png.encode(np.asarray(image.convert("RGBA" if "A" in image.getbands() else "RGB")))
    except ValueError as exc:
        raise InvalidInputError(f"log_image: a PIL image in mode {image.mode} cannot be shown ({exc}): "
                                "convert it to RGB first") from None


def _pixels(image: Any) -> np.ndarray:
    """`image` as a uint8 array HxW, HxWx3 or HxWx4, or InvalidInputError saying what to change."""
    if isinstance(image, (str, bytes, dict)) or image is None:
        raise InvalidInputError(f"log_image takes a numpy array or a PIL image, got {type(image).__name__}")
    try:
        array = np.asarray(image)
    except (TypeError, ValueError) as exc:
        reason = (str(exc).splitlines() or [type(exc).__name__])[0][:200]
        raise InvalidInputError(f"log_image: cannot read {type(image).__name__} as an array ({reason}); pass a "
                                "numpy array (for a tensor: t.cpu().numpy()) or a PIL image") from None
    shape = array.shape
    if array.ndim == 3 and shape[2] == 1:
        array = array[:, :, 0]
    if not (array.ndim == 2 or (array.ndim == 3 and shape[2] in (3, 4))):
        raise InvalidInputError(f"log_image: an image has shape HxW, HxWx1, HxWx3 or HxWx4, got {shape}: "
                                "for channels first use np.moveaxis(image, 0, -1); log a batch one image at a time")
    _check_size(shape[0], shape[1])
    kind = array.dtype.kind
    if kind == "b":
        return array.astype(np.uint8) * 255  # a mask: False black, True white
    if array.dtype == np.uint8:
        return np.ascontiguousarray(array)
    if kind == "f":
        if not np.isfinite(array).all():
            raise InvalidInputError("log_image: the image holds NaN or infinite values: replace them "
                                    "(np.nan_to_num) before logging")
        low, high = float(array.min()), float(array.max())
        if low < 0 or high > 1:
            raise InvalidInputError(f"log_image: float pixels must be in [0, 1], these go from {low:g} to {high:g}: "
                                    "scale them (e.g. (x - x.min()) / (x.max() - x.min())) or pass uint8 0-255")
        return (array.astype(np.float32) * 255 + 0.5).astype(np.uint8)
    if kind in "iu":
        low, high = int(array.min()), int(array.max())
        if low < 0 or high > 255:
            raise InvalidInputError(f"log_image: integer pixels must be 0-255, these go from {low} to {high}: "
                                    "scale them to uint8, or to floats in [0, 1]")
        return array.astype(np.uint8)
    raise InvalidInputError(f"log_image: pixels of dtype {array.dtype} cannot be an image: pass uint8 (0-255) "
                            "or floats in [0, 1]")


def _check_size(height: int, width: int) -> None:
    if height == 0 or width == 0:
        raise InvalidInputError(f"log_image: the image is empty ({height}x{width} pixels)")
    if height * width > MAX_PIXELS:
        raise InvalidInputError(f"log_image: {height}x{width} is {height * width / 1e6:.0f} megapixels; the limit "
                                f"is {MAX_PIXELS // 1_000_000}: downscale it, or log the file with log_artifact")


# -- figures ---------------------------------------------------------------------------------------
def _check_figure(figure: Any) -> None:
    module = sys.modules.get("matplotlib.figure")  # no matplotlib loaded: it cannot be a figure
    if module is not None and isinstance(figure, module.Figure):
        return
    hint = " (pass ax.figure)" if type(figure).__name__.endswith("Axes") else ""
    raise InvalidInputError(f"log_figure takes a matplotlib Figure, got {type(figure).__name__}{hint}: "
                            "log arrays with log_image")


def figure_png(figure: Any) -> bytes:
    """The figure as PNG, cut to what is drawn (as the inline backend shows it)."""
    return _render(figure, "png")


def _render(figure: Any, form: str, box: Any = "tight") -> bytes:
    out = io.BytesIO()
    figure.savefig(out, format=form, bbox_inches=box)
    return out.getvalue()


def _drawn_box(figure: Any) -> Any:
    """What bbox_inches="tight" would cut, from the figure's last draw (its PNG): saving with it skips
    the extra draw that "tight" makes, about half the SVG's cost. "tight" itself under a layout engine."""
    from matplotlib import rcParams

    pad = rcParams["savefig.pad_inches"]
    if figure.get_layout_engine() is not None or not isinstance(pad, (int, float)):
        return "tight"
    return figure.get_tightbbox().padded(pad)


def figure_svg(figure: Any) -> bytes | None:
    """The figure as SVG when that is cheap (see the module docstring), else None; call it after the PNG."""
    points = 0
    for artist in figure.findobj():
        kind = type(artist).__name__
        if kind in ("AxesImage", "FigureImage", "BboxImage", "NonUniformImage", "PcolorImage"):
            return None
        if kind == "Line2D":
            points += len(artist.get_xydata())
        elif hasattr(artist, "get_offsets") and hasattr(artist, "get_paths"):  # collections
            points += max(len(artist.get_offsets()), 1) * max(len(artist.get_paths()), 1)
        else:
            points += 1
        if points > SVG_MAX_POINTS:
            return None
    svg = _render(figure, "svg", _drawn_box(figure))
    return svg if len(svg) <= SVG_MAX_BYTES else None


# -- reading ---------------------------------------------------------------------------------------
def entries(artifacts: Iterable[Artifact]) -> list[dict[str, Any]]:
    """A run's media from its artifacts, sorted by kind, name and step (no step first)."""
    found: dict[str, tuple[MediaPath, Artifact]] = {}
    for artifact in artifacts:
        media = parse(artifact.path)
        if media is not None:
            found[artifact.path] = (media, artifact)
    listed = []
    for media, artifact in found.values():
        if media.ext == SVG:
            continue
        twin = found.get(artifact.path[:-len(media.ext)] + SVG) if media.kind == "figure" else None
        same = twin is not None and twin[1].created_at == artifact.created_at
        listed.append({"kind": media.kind, "name": media.name, "step": media.step, "path": artifact.path,
                       "size": artifact.size, "sha256": artifact.sha256,
                       "svg_path": twin[1].path if twin is not None and same else None})
    return sorted(listed, key=lambda m: (m["kind"], m["name"], -1 if m["step"] is None else m["step"]))
