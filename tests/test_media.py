"""Figures, images, tables and texts in runs: the Python API, `%%track`'s figures, and the REST routes.

Real matplotlib, Pillow and DuckDB; a real kernel with the inline backend for `%%track`; a real
Jupyter server for the API.
"""

from __future__ import annotations

import base64
import datetime as dt
import io
import json
import urllib.parse
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

import nbmlops
from nbmlops.store.folder import Store
from nbmlops.tracking import media, png, tables
from nbmlops.tracking import tracker as tracking
from tests import test_server
from tests.test_magics import errors_of, execute, text_of
from tests.test_server import Fetch, strict_json

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402 - after choosing the backend

pytest_plugins = ["pytest_jupyter.jupyter_server"]


def stored(store: Store, run_id: str) -> dict[str, bytes]:
    """The run's media files by artifact path, read from the store."""
    run = nbmlops.get_run(run_id)
    return {a.path: store.artifact_path(a.sha256).read_bytes() for a in run.artifacts if a.path.startswith("media/")}


def listing(run_id: str) -> list[dict[str, Any]]:
    return media.entries(nbmlops.get_run(run_id).artifacts)


def pixels(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)))


def line_figure() -> Any:
    fig, ax = plt.subplots()
    ax.plot([0, 1, 4, 9])
    ax.set_title("loss ∆")
    return fig


# -- the Python API ----------------------------------------------------------------------------
def test_each_kind_is_stored_at_the_contract_path_and_reads_back(fresh_store: Store) -> None:
    rgb = np.arange(4 * 5 * 3, dtype=np.uint8).reshape(4, 5, 3)
    fig = line_figure()
    with nbmlops.start_run(name="media") as run:
        assert nbmlops.log_image(rgb, "sample", step=3) == "media/image/sample/step-3.png"
        assert nbmlops.log_figure(fig, "curve") == ["media/figure/curve.png", "media/figure/curve.svg"]
        assert nbmlops.log_table({"a": [1, 2], "b": ["x", "y"]}, "preds", step=0) == "media/table/preds/step-0.parquet"
        assert nbmlops.log_text("précision 0.93\n", "report") == "media/text/report.txt"
    files = stored(fresh_store, run.run_id)
    assert (pixels(files["media/image/sample/step-3.png"]) == rgb).all()
    assert files["media/figure/curve.png"].startswith(b"\x89PNG") and b"<svg" in files["media/figure/curve.svg"]
    assert files["media/text/report.txt"] == "précision 0.93\n".encode()
    assert [(m["kind"], m["name"], m["step"], m["svg_path"]) for m in listing(run.run_id)] == [
        ("figure", "curve", None, "media/figure/curve.svg"), ("image", "sample", 3, None),
        ("table", "preds", 0, None), ("text", "report", None, None)]


@pytest.mark.parametrize(("image", "expected"), [
    (np.full((3, 2), 7, np.uint8), np.full((3, 2), 7, np.uint8)),
    (np.full((3, 2, 1), 9, np.uint8), np.full((3, 2), 9, np.uint8)),
    (np.full((2, 2, 4), 200, np.uint8), np.full((2, 2, 4), 200, np.uint8)),
    (np.array([[0.0, 0.5, 1.0]]), np.array([[0, 128, 255]], np.uint8)),
    (np.array([[0.25]], np.float32), np.array([[64]], np.uint8)),
    (np.array([[True, False]]), np.array([[255, 0]], np.uint8)),
    ([[0, 255], [12, 3]], np.array([[0, 255], [12, 3]], np.uint8)),  # a list of ints, 0-255
    (np.full((4, 6, 3), 1.0)[::2, ::2], np.full((2, 3, 3), 255, np.uint8)),  # a strided view
])
def test_image_arrays_become_the_pixels_they_say(fresh_store: Store, image: Any, expected: np.ndarray) -> None:
    with nbmlops.start_run() as run:
        nbmlops.log_image(image, "x")
    assert (pixels(stored(fresh_store, run.run_id)["media/image/x.png"]) == expected).all()


@settings(max_examples=150, deadline=None)
@given(height=st.integers(1, 40), width=st.integers(1, 40), channels=st.sampled_from([None, 3, 4]),
       seed=st.integers(0, 2**32 - 1), smooth=st.booleans())
def test_the_png_writer_round_trips_any_uint8_image(height: int, width: int, channels: int | None, seed: int,
                                                   smooth: bool) -> None:
    shape = (height, width) if channels is None else (height, width, channels)
    rng = np.random.default_rng(seed)
    image = rng.integers(0, 256, shape, dtype=np.uint8)
    if smooth:  # long runs and small differences, as in plots and photos
        image = np.sort(image, axis=0)
    assert (pixels(png.encode(image)) == image).all()


@pytest.mark.parametrize("mode", ["RGB", "RGBA", "L", "P", "1", "CMYK", "YCbCr", "LA", "I"])
def test_pil_images_of_any_usual_mode_are_stored(fresh_store: Store, mode: str) -> None:
    picture = Image.new("RGB", (7, 5), (10, 200, 30)).convert(mode)
    with nbmlops.start_run() as run:
        nbmlops.log_image(picture, f"mode-{mode}")
    back = Image.open(io.BytesIO(stored(fresh_store, run.run_id)[f"media/image/mode-{mode}.png"]))
    assert back.size == (7, 5)


BAD_IMAGES = [
    (np.zeros(5, np.uint8), "shape HxW"),
    (np.zeros((4, 4, 2), np.uint8), "shape HxW"),
    (np.zeros((2, 4, 4, 3), np.uint8), "log a batch one image at a time"),
    (np.zeros((0, 4), np.uint8), "empty"),
    (np.zeros((2, 2), complex), "dtype complex128"),
    (np.array([["a", "b"]]), "dtype <U1"),
    (np.array([[None, 1]], dtype=object), "dtype object"),
    (np.array([[0.0, 1.5]]), "from 0 to 1.5"),
    (np.array([[-0.1, 0.5]]), "from -0.1 to 0.5"),
    (np.array([[0.0, np.nan]]), "NaN or infinite"),
    (np.array([[0.0, np.inf]]), "NaN or infinite"),
    (np.array([[0, 256]]), "0-255"),
    (np.array([[-1, 3]]), "0-255"),
    ([[1, 2], [3]], "log_image"),
    ("picture.png", "numpy array or a PIL image"),
    (None, "numpy array or a PIL image"),
    (np.broadcast_to(np.uint8(0), (8000, 7000)), "56 megapixels; the limit is 50"),
    (Image.new("F", (2, 2), 3.5), "from 3.5 to 3.5"),
    (Image.new("I", (2, 2), 300), "0-255"),
]


@pytest.mark.parametrize(("image", "message"), BAD_IMAGES)
def test_bad_images_are_one_line_errors_and_the_run_goes_on(fresh_store: Store, image: Any, message: str) -> None:
    with nbmlops.start_run() as run:
        nbmlops.log_image(np.zeros((2, 2), np.uint8), "before")
        with pytest.raises(nbmlops.InvalidInputError, match="log_image") as caught:
            nbmlops.log_image(image, "bad")
        nbmlops.log_metric("after", 1.0)
    assert message in str(caught.value) and "\n" not in str(caught.value)
    run_after = nbmlops.get_run(run.run_id)
    assert run_after.status is nbmlops.RunStatus.FINISHED and run_after.metrics["after"] == 1.0
    assert [m["name"] for m in listing(run.run_id)] == ["before"]


@pytest.mark.parametrize(("call", "message"), [
    (lambda: nbmlops.log_figure(np.zeros((2, 2)), "f"), "log_figure takes a matplotlib Figure, got ndarray"),
    (lambda: nbmlops.log_figure(plt.subplots()[1], "f"), "pass ax.figure"),
    (lambda: nbmlops.log_figure(None, "f"), "got NoneType"),
    (lambda: nbmlops.log_text(b"bytes", "t"), "log_text takes a str, got bytes"),
    (lambda: nbmlops.log_text(42, "t"), "log_text takes a str, got int"),
    (lambda: nbmlops.log_text("bad \udcff", "t"), "lone surrogate"),
    (lambda: nbmlops.log_table([1, 2, 3], "t"), "log_table takes a pandas DataFrame"),
    (lambda: nbmlops.log_table({"a": [1, 2], "b": [1]}, "t"), "columns of equal length"),
    (lambda: nbmlops.log_table(pd.DataFrame(), "t"), "no columns"),
])
def test_bad_figures_texts_and_tables_are_one_line_errors(fresh_store: Store, call: Any, message: str) -> None:
    with nbmlops.start_run() as run:
        nbmlops.log_text("kept", "first")
        with pytest.raises(nbmlops.InvalidInputError) as caught:
            call()
    assert message in str(caught.value) and "\n" not in str(caught.value)
    assert [m["name"] for m in listing(run.run_id)] == ["first"]


@pytest.mark.parametrize(("name", "message"), [
    ("a/b", "contains a slash"), ("a\\b", "contains a slash"), (".hidden", "starts with a dot"),
    ("..", "starts with a dot"), ("", "empty"), ("   ", "empty"), ("x" * 201, "the limit is 200"),
    ("tab\there", "control characters"), (" padded", "spaces at its ends"), (3, "must be a string"),
    (None, "must be a string"), ("\udcff", "lone surrogate"),
])
def test_bad_names_are_refused(fresh_store: Store, name: Any, message: str) -> None:
    with nbmlops.start_run(), pytest.raises(nbmlops.InvalidInputError) as caught:
        nbmlops.log_text("x", name)
    assert message in str(caught.value) and "\n" not in str(caught.value) and "text name" in str(caught.value)


@pytest.mark.parametrize(("step", "message"), [
    (-1, "0 or more"), (True, "integer, got bool"), (1.0, "integer, got float"), ("3", "integer, got str"),
    (1 << 63, "does not fit in 64 bits"), (np.float64(2), "integer, got float64"),
])
def test_bad_steps_are_refused(fresh_store: Store, step: Any, message: str) -> None:
    with nbmlops.start_run(), pytest.raises(nbmlops.InvalidInputError, match="step") as caught:
        nbmlops.log_image(np.zeros((1, 1), np.uint8), "x", step=step)
    assert message in str(caught.value)


def test_unicode_names_and_big_steps_are_kept(fresh_store: Store) -> None:
    with nbmlops.start_run() as run:
        nbmlops.log_text("a", "matrice de confusion ✓ 混淆", step=np.int64((1 << 63) - 1))
        nbmlops.log_text("b", "x" * 200, step=0)
        nbmlops.log_text("c", "v1.2 final", step=10)
    assert [(m["name"], m["step"]) for m in listing(run.run_id)] == [
        ("matrice de confusion ✓ 混淆", (1 << 63) - 1), ("v1.2 final", 10), ("x" * 200, 0)]


def test_the_same_name_and_step_again_replaces_the_file(fresh_store: Store) -> None:
    with nbmlops.start_run() as run:
        nbmlops.log_text("first", "notes", step=1)
        nbmlops.log_text("other step", "notes", step=2)
        nbmlops.log_text("second", "notes", step=1)
    files = stored(fresh_store, run.run_id)
    assert files["media/text/notes/step-1.txt"] == b"second"
    assert [(m["name"], m["step"]) for m in listing(run.run_id)] == [("notes", 1), ("notes", 2)]


def test_the_newest_write_wins_whichever_is_folded_last(fresh_store: Store) -> None:
    """Two processes (or machines) logging one name and step: the fold reads their journals in its own
    order, so the later write must win by its time, not by being read last."""
    t = tracking.tracker()
    with nbmlops.start_run() as run:
        target = media.path("text", "status", 1, "txt")
        newer, older = (t.store.put_bytes(text.encode()) for text in ("newer", "older"))
        t.emit("artifact", {"path": target, "sha256": newer[0], "size": newer[1], "at": 2_000_000_000.0})
        t.emit("artifact", {"path": target, "sha256": older[0], "size": older[1], "at": 1_900_000_000.0})
        nbmlops.get_run(run.run_id)  # folded: both in one fold
        t.emit("artifact", {"path": target, "sha256": older[0], "size": older[1], "at": 1_900_000_001.0})
    assert stored(fresh_store, run.run_id)[target] == b"newer"  # and an older one folded later


def test_a_figure_gets_an_svg_twin_only_when_cheap_and_a_stale_twin_is_not_paired(fresh_store: Store) -> None:
    dense, ax = plt.subplots()
    ax.scatter(np.arange(30_000), np.arange(30_000))
    picture, ax = plt.subplots()
    ax.imshow(np.zeros((4, 4)))
    with nbmlops.start_run() as run:
        assert nbmlops.log_figure(line_figure(), "plot", step=1)[1:] == ["media/figure/plot/step-1.svg"]
        assert nbmlops.log_figure(dense, "dense") == ["media/figure/dense.png"]
        assert nbmlops.log_figure(picture, "plot", step=1) == ["media/figure/plot/step-1.png"]  # replaces it
    svgs = {m["name"]: m["svg_path"] for m in listing(run.run_id)}
    assert svgs == {"dense": None, "plot": None}  # the older SVG shows the older plot: not its twin
    assert "media/figure/plot/step-1.svg" in stored(fresh_store, run.run_id)  # kept, as artifacts are


def test_without_a_run_logging_starts_one_like_log_metric(fresh_store: Store) -> None:
    assert nbmlops.active_run() is None
    nbmlops.log_text("hello", "greeting")
    run = nbmlops.active_run()
    assert run is not None
    nbmlops.end_run()
    assert [m["name"] for m in listing(run.run_id)] == ["greeting"]


def test_logging_inside_a_child_run_goes_to_the_child(fresh_store: Store) -> None:
    with nbmlops.start_run() as parent, nbmlops.start_run() as child:
        nbmlops.log_image(np.zeros((1, 1), np.uint8), "child-image")
    assert listing(parent.run_id) == [] and len(listing(child.run_id)) == 1


# -- tables --------------------------------------------------------------------------------------
def hostile_frame() -> pd.DataFrame:
    """Every kind of column a careless notebook produces, under awkward names."""
    columns = pd.MultiIndex.from_tuples([
        ("scores", "AUC"), ("scores", "auc"), ("", "empty"), ("odd 'quote\" name", ""), ("when", "utc"),
        ("when", "naive"), ("kind", "cat"), ("mixed", "objects"), ("raw", "bytes"), ("z", "complex"),
        ("p", "period"), ("i", "interval"), ("big", "ints"), ("n", "nullable"), ("d", "delta"), ("t", "text"),
        ("l", "lists"), ("f", "half")])
    rows = 3
    frame = pd.DataFrame({
        0: [0.5, np.nan, np.inf], 1: [1.0, -np.inf, 2.0], 2: [1, 2, 3], 3: ["a", None, "c"],
        4: pd.date_range("2026-03-01 12:00", periods=rows, tz="Europe/Paris"),
        5: pd.to_datetime(["2026-01-01", None, "2026-01-03"]),
        6: pd.Categorical(["x", None, "x"]), 7: [1, "two", 3.0], 8: [b"\x00\xff", None, b"abc"],
        9: [1 + 2j, 0j, 2j], 10: pd.period_range("2026-01", periods=rows, freq="M"),
        11: pd.interval_range(0, rows), 12: [1 << 70, 1, None], 13: pd.array([1, None, 3], dtype="Int64"),
        14: pd.to_timedelta([1, None, 3], unit="s"), 15: ["é" * 20_000, "", "ok"], 16: [[1, 2], [], None],
        17: np.array([0.5, 1, 2], dtype=np.float16)})
    frame.columns = columns
    frame.index = pd.MultiIndex.from_arrays([["a", "b", "c"], [1, 2, 3]], names=["letter", None])
    return frame


def test_a_hostile_frame_is_stored_and_reads_back_json_safe(fresh_store: Store) -> None:
    with nbmlops.start_run() as run:
        path = nbmlops.log_table(hostile_frame(), "hostile")
    [entry] = listing(run.run_id)
    table = tables.page(fresh_store.artifact_path(entry["sha256"]), 0, 10)
    names = [c["name"] for c in table["columns"]]
    assert path == "media/table/hostile.parquet" and table["total_rows"] == 3
    assert names[:4] == ["letter", "level_1", "scores / AUC", "scores / auc (2)"]
    assert names[4:6] == ["empty", "odd 'quote\" name"]
    dtypes = {c["name"]: c["dtype"] for c in table["columns"]}
    assert dtypes["when / utc"].endswith("Europe/Paris]") and dtypes["kind / cat"] == "category"
    assert dtypes["n / nullable"] == "Int64" and dtypes["z / complex"] == "complex128"
    rows = {name: [row[i] for row in table["rows"]] for i, name in enumerate(names)}
    assert rows["scores / AUC"] == [0.5, None, None] and rows["scores / auc (2)"] == [1.0, None, 2.0]
    assert rows["when / utc"][0] == "2026-03-01T11:00:00Z"  # 12:00 in Paris, in UTC
    assert rows["when / naive"] == ["2026-01-01T00:00:00", None, "2026-01-03T00:00:00"]
    assert rows["kind / cat"] == ["x", None, "x"] and rows["mixed / objects"] == ["1", "two", "3.0"]
    assert rows["raw / bytes"] == ["<2 bytes>", None, "<3 bytes>"]
    assert rows["z / complex"] == ["(1+2j)", "0j", "2j"] and rows["p / period"][0] == "2026-01"
    assert rows["big / ints"] == [str(1 << 70), "1", None] and rows["n / nullable"] == [1, None, 3]
    assert rows["t / text"][0] == "é" * tables.MAX_CELL_CHARS + "…" and rows["f / half"] == [0.5, 1.0, 2.0]
    assert json.loads(json.dumps(table, allow_nan=False)) == table  # strict JSON


def test_table_pages_and_dicts_of_columns(fresh_store: Store) -> None:
    with nbmlops.start_run() as run:
        nbmlops.log_table({"i": np.arange(250), "s": [f"r{i}" for i in range(250)]}, "big")
    [entry] = listing(run.run_id)
    file = fresh_store.artifact_path(entry["sha256"])
    page = tables.page(file, 240, 100)
    assert page["total_rows"] == 250 and page["rows"][0] == [240, "r240"] and len(page["rows"]) == 10
    assert tables.page(file, 1000, 10)["rows"] == []


def sortable_frame(rows: int = 250) -> pd.DataFrame:
    """A table to sort: a score with ties, NaN, infinities and gaps, text with gaps and awkward names."""
    rng = np.random.default_rng(7)
    score = rng.integers(0, 60, rows).astype(float)  # about four rows a value: ties
    score[[3, 70, 140, 249]] = [np.nan, np.inf, -np.inf, np.nan]
    words = np.array(["b", "B", "a10", "a2", "é", "z", "Ω", "😀", ""], dtype=object)
    label = words[rng.integers(0, len(words), rows)]
    label[rng.choice(rows, 30, replace=False)] = None
    return pd.DataFrame({
        "id": np.arange(rows), "score ✓": score, 'label "quoted", odd': label,
        "AUC": rng.permutation(rows), "auc": rng.permutation(rows) * -1,  # stored as "auc (2)"
        "when": pd.date_range("2026-01-01", periods=rows, freq="h", tz="Europe/Paris")[rng.permutation(rows)]})


def expected_ids(frame: pd.DataFrame, column: str, descending: bool) -> list[int]:
    """The ids in the order the whole table sorts to (pandas' stable sort): NaN and infinities with the nulls."""
    key = frame[column].replace([np.inf, -np.inf], np.nan) if frame[column].dtype.kind == "f" else frame[column]
    ordered = frame.assign(key=key).sort_values("key", ascending=not descending, kind="stable", na_position="last")
    return [int(i) for i in ordered["id"]]


def read_in_order(file: Path, column: str, descending: bool, size: int = 100) -> list[int]:
    """The ids of the whole table, page after page of the order sorted on `column`."""
    ids: list[int] = []
    while len(found := tables.page(file, len(ids), size, order_by=column, descending=descending)["rows"]):
        ids += [row[0] for row in found]
    return ids


@pytest.mark.parametrize("descending", [False, True])
@pytest.mark.parametrize(("column", "stored"), [
    ("score ✓", "score ✓"), ('label "quoted", odd', 'label "quoted", odd'), ("AUC", "AUC"), ("auc", "auc (2)"),
    ("when", "when"), ("id", "id")])
def test_a_table_sorts_whole_before_it_is_cut_into_pages(fresh_store: Store, column: str, stored: str,
                                                         descending: bool) -> None:
    frame = sortable_frame()
    with nbmlops.start_run() as run:
        nbmlops.log_table(frame, "sortable")
    [entry] = listing(run.run_id)
    file = fresh_store.artifact_path(entry["sha256"])
    ids = read_in_order(file, stored, descending)
    assert ids == expected_ids(frame, column, descending) and sorted(ids) == list(range(250))
    first = tables.page(file, 0, 250, order_by=stored, descending=descending)
    position = [c["name"] for c in first["columns"]].index(stored)
    values = [row[position] for row in first["rows"]]
    missing = [v is None for v in values]
    assert missing == sorted(missing)  # nulls (NaN and infinities too) last, whichever the direction
    assert first["columns"][1] == {"name": "score ✓", "dtype": "float64"} and first["total_rows"] == 250


def test_text_sorts_by_code_point_and_sorting_keeps_every_column_kind(fresh_store: Store) -> None:
    with nbmlops.start_run() as run:
        nbmlops.log_table(sortable_frame(), "sortable")
        nbmlops.log_table(hostile_frame(), "hostile")
    files = {e["name"]: fresh_store.artifact_path(e["sha256"]) for e in listing(run.run_id)}
    page = tables.page(files["sortable"], 0, 250, order_by='label "quoted", odd')
    labels = list(dict.fromkeys(row[2] for row in page["rows"]))
    assert labels == ["", "B", "a10", "a2", "b", "z", "é", "Ω", "😀", None]
    unsorted = tables.page(files["hostile"], 0, 10)
    for column in [c["name"] for c in unsorted["columns"]]:
        for descending in (False, True):
            found = tables.page(files["hostile"], 0, 10, order_by=column, descending=descending)
            assert found["columns"] == unsorted["columns"] and found["total_rows"] == 3, column
            assert sorted(map(json.dumps, found["rows"])) == sorted(map(json.dumps, unsorted["rows"])), column
    scores = tables.page(files["hostile"], 0, 10, order_by="scores / auc (2)", descending=True)["rows"]
    assert [row[3] for row in scores] == [2.0, 1.0, None]  # -inf shows as null: it sorts with the nulls


@pytest.mark.parametrize("column", ["nope", "Id", "ID", "score", 'label "quoted"', "auc (3)", "", " id",
                                    'id" FROM read_parquet(\'/etc/passwd\') --', "x\ny", 7, None, ["id"]])
def test_sorting_on_a_column_the_table_lacks_is_a_one_line_error_naming_real_ones(fresh_store: Store,
                                                                                 column: Any) -> None:
    with nbmlops.start_run() as run:
        nbmlops.log_table(sortable_frame(), "sortable")
    [entry] = listing(run.run_id)
    file = fresh_store.artifact_path(entry["sha256"])
    if column is None:  # no order at all: the table's own
        assert [r[0] for r in tables.page(file, 0, 3, order_by=column)["rows"]] == [0, 1, 2]
        return
    with pytest.raises(nbmlops.InvalidInputError) as raised:
        tables.page(file, 0, 10, "table 'sortable'", order_by=column)
    message = str(raised.value)
    assert "\n" not in message and message.startswith(f"table 'sortable' has no column {column!r}"[:60])
    assert "'id'" in message and "'score ✓'" in message and "root:" not in message


def test_cell_values_are_json_safe() -> None:
    assert tables.cell(float("nan")) is None and tables.cell(float("-inf")) is None
    assert tables.cell(dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.timezone(dt.timedelta(hours=2)))) == \
        "2026-01-02T01:04:05Z"
    assert tables.cell(memoryview(b"abcd")) == "<4 bytes>"
    assert tables.cell({"a": [float("nan"), 1]}) == {"a": [None, 1]}


# -- the path contract ---------------------------------------------------------------------------
names = st.text(st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp")), min_size=1, max_size=60).filter(
    lambda n: "/" not in n and "\\" not in n and not n.startswith(".") and n == n.strip() and n.isprintable())


@settings(max_examples=300, deadline=None)
@given(kind=st.sampled_from(media.KINDS), name=names,
       step=st.one_of(st.none(), st.integers(0, (1 << 63) - 1)))
def test_every_media_path_parses_back_to_its_kind_name_and_step(kind: str, name: str, step: int | None) -> None:
    ext = media.EXTENSIONS[kind]
    assert media.parse(media.path(kind, name, step, ext)) == media.MediaPath(kind, name, step, ext)


@pytest.mark.parametrize("path", ["media/image/x.parquet", "media/video/x.png", "media/image/x/step-01.png",
                                  "media/image/x/step-.png", "media/image/x/3.png", "media/image/.png",
                                  "media/image/a/b/step-1.png", "other/image/x.png", "media/text/x.svg"])
def test_other_artifacts_are_not_media(path: str) -> None:
    assert media.parse(path) is None


# -- %%track keeps the figures a cell shows ------------------------------------------------------
def test_tracked_cells_keep_the_figures_they_show_in_display_order(
        fresh_store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    nb = execute([
        # Shown uncut: a figure rendered again by nbmlops (cut, as savefig cuts) would differ from what is shown.
        "%load_ext nbmlops\nimport matplotlib.pyplot as plt\nimport numpy as np\n"
        "%config InlineBackend.print_figure_kwargs = {'bbox_inches': None}",
        "%%track -e figs -n shown\nplt.plot([1, 2, 3])\nplt.title('first')\nplt.show()\n"
        "fig, ax = plt.subplots()\nax.imshow(np.eye(3))\nfig",  # drawn after the cell, and its value
        "%%track -e figs -n quiet --no-figures\nplt.plot([1, 2])",
        "%%track -e figs -n broken\nplt.plot([3, 2])\n1 / 0",
    ], fresh_store, monkeypatch)
    assert not errors_of(nb.cells[1]), text_of(nb.cells[1])
    shown = [o for o in nb.cells[1].outputs if "image/png" in o.get("data", {})]
    runs = {r.name: r.run_id for r in nbmlops.runs("figs").itertuples()}
    kept = listing(runs["shown"])
    assert [(m["name"], m["svg_path"] is not None) for m in kept] == [("cell-figure-1", True), ("cell-figure-2", False)]
    files = stored(fresh_store, runs["shown"])
    assert files["media/figure/cell-figure-1.png"] == base64.b64decode(shown[0]["data"]["image/png"])  # what was shown
    assert pixels(files["media/figure/cell-figure-2.png"]).shape[2] == 4
    assert len(shown) == 3  # the notebook still shows the value as IPython would
    assert listing(runs["quiet"]) == []
    assert any("image/png" in o.get("data", {}) for o in nb.cells[2].outputs)  # shown, not kept
    assert [m["name"] for m in listing(runs["broken"])] == ["cell-figure-1"]  # a failing cell keeps its figure
    assert nbmlops.get_run(runs["broken"]).status is nbmlops.RunStatus.FAILED


def test_cells_of_one_notebook_run_number_their_figures_on(fresh_store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    with nbmlops.start_run(experiment="job") as run:
        pass
    execute(["%load_ext nbmlops\nimport matplotlib.pyplot as plt",
             "%%track\nplt.plot([1])\nplt.show()", "%%track\nplt.plot([2])\nplt.show()"],
            fresh_store, monkeypatch, NBMLOPS_RUN_ID=run.run_id)
    assert [m["name"] for m in listing(run.run_id)] == ["cell-figure-1", "cell-figure-2"]


# -- REST ----------------------------------------------------------------------------------------
HOSTILE_SVG = ('<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10" onload="alert(document.cookie)">'
               '<script>fetch("/api/contents")</script><rect width="10" height="10"/></svg>')


# A Jupyter server serving the test's store, and requests to it checked against openapi.yaml.
jp_server_config, api, raw = test_server.jp_server_config, test_server.api, test_server.raw


@pytest.fixture
def media_runs(fresh_store: Store, tmp_path: Path) -> dict[str, str]:
    """A run with every kind of media (and a hostile SVG artifact), and another run with a table."""
    (tmp_path / "evil.svg").write_text(HOSTILE_SVG)
    with nbmlops.start_run(name="media") as run:
        nbmlops.log_figure(line_figure(), "curve", step=2)
        nbmlops.log_image(np.zeros((3, 3, 3), np.uint8), "blank")
        nbmlops.log_table(pd.DataFrame({"x": np.arange(1500), "y": np.linspace(0, 1, 1500)}), "rows")
        nbmlops.log_text("ok", "note", step=1)
        nbmlops.log_artifact(tmp_path / "evil.svg", "media/figure/evil.svg")
        nbmlops.log_artifact(tmp_path / "evil.svg", "media/table/fake.parquet")  # not Parquet at all
    with nbmlops.start_run(name="other") as other:
        nbmlops.log_table({"secret": ["s"]}, "private")
    return {"media": run.run_id, "other": other.run_id}


async def test_media_listing(api: Fetch, media_runs: dict[str, str]) -> None:
    body = strict_json(await api("runs", media_runs["media"], "media"))
    assert [(m["kind"], m["name"], m["step"]) for m in body["media"]] == [
        ("figure", "curve", 2), ("image", "blank", None), ("table", "fake", None), ("table", "rows", None),
        ("text", "note", 1)]
    assert body["media"][0]["svg_path"] == "media/figure/curve/step-2.svg"
    assert body["media"][0]["size"] > 0 and len(body["media"][0]["sha256"]) == 64
    assert strict_json(await api("runs", media_runs["other"], "media"))["media"][0]["name"] == "private"
    missing = await api("runs", "ffffffffffff", "media")
    assert missing.code == 404 and "\n" not in strict_json(missing)["error"]


async def test_media_table_pages(api: Fetch, media_runs: dict[str, str]) -> None:
    rid, path = media_runs["media"], "media/table/rows.parquet"
    first = strict_json(await api("runs", rid, "media", "table", params={"path": path}))
    assert first["total_rows"] == 1500 and len(first["rows"]) == 100
    assert first["columns"] == [{"name": "x", "dtype": "int64"}, {"name": "y", "dtype": "float64"}]
    last = strict_json(await api("runs", rid, "media", "table", params={"path": path, "offset": 1400, "limit": 1000}))
    assert [row[0] for row in last["rows"]] == list(range(1400, 1500))
    for params in ({"path": path, "limit": 1001}, {"path": path, "limit": 0}, {"path": path, "offset": -1},
                   {"path": path, "offset": "x"}, {"path": path, "limit": "1e3"}, {}):
        response = await api("runs", rid, "media", "table", params=params)
        assert (response.code, strict_json(response)["status"]) == (400, 400), params


async def test_media_table_sorts_the_whole_table_page_by_page(api: Fetch, fresh_store: Store) -> None:
    frame = sortable_frame()
    with nbmlops.start_run(name="sortable") as run:
        nbmlops.log_table(frame, "sortable")
    path = "media/table/sortable.parquet"

    async def in_order(params: dict[str, Any]) -> list[int]:
        ids: list[int] = []
        while True:
            response = await api("runs", run.run_id, "media", "table",
                                 params={"path": path, "offset": len(ids), "limit": 100, **params})
            body = strict_json(response)
            assert response.code == 200 and body["total_rows"] == 250, body
            if not body["rows"]:
                return ids
            ids += [row[0] for row in body["rows"]]

    assert await in_order({}) == list(range(250))
    assert await in_order({"sort": "score ✓"}) == expected_ids(frame, "score ✓", False)
    assert await in_order({"sort": "score ✓", "descending": "true"}) == expected_ids(frame, "score ✓", True)
    assert await in_order({"sort": 'label "quoted", odd', "descending": "false"}) == \
        expected_ids(frame, 'label "quoted", odd', False)
    assert await in_order({"sort": "auc (2)", "descending": "TRUE"}) == expected_ids(frame, "auc", True)
    first = strict_json(await api("runs", run.run_id, "media", "table",
                                  params={"path": path, "sort": "score ✓", "descending": "true", "limit": 3}))
    assert [row[1] for row in first["rows"]] == sorted(frame["score ✓"].replace(np.inf, np.nan).dropna())[:-4:-1]
    last = strict_json(await api("runs", run.run_id, "media", "table",
                                 params={"path": path, "sort": "score ✓", "offset": 246}))
    assert [row[1] for row in last["rows"]] == [None] * 4  # NaN, NaN and both infinities, shown as null


@pytest.mark.parametrize(("params", "message"), [
    ({"sort": "nope"}, "has no column 'nope'; sort by one of its columns: 'id', 'score ✓'"),
    ({"sort": "SCORE ✓"}, "has no column 'SCORE ✓'; sort by one of its columns: 'score ✓'"),
    ({"sort": 'id" --'}, "has no column 'id\" --'"),
    ({"sort": "id", "descending": "yes"}, "descending must be true or false, got 'yes'"),
    ({"sort": "id", "descending": "1"}, "descending must be true or false, got '1'"),
    ({"descending": "maybe"}, "descending must be true or false"),
    ({"sort": "id", "limit": 0}, "limit must be an integer from 1 to 1000")])
async def test_media_table_refuses_a_bad_order_in_one_line(api: Fetch, fresh_store: Store, params: dict[str, Any],
                                                           message: str) -> None:
    with nbmlops.start_run(name="sortable") as run:
        nbmlops.log_table(sortable_frame(), "sortable")
    path = "media/table/sortable.parquet"
    response = await api("runs", run.run_id, "media", "table", params={"path": path, **params})
    body = strict_json(response)
    assert (response.code, body["status"]) == (400, 400) and message in body["error"] and "\n" not in body["error"]


@pytest.mark.parametrize("path", [
    "media/table/private.parquet",  # the other run's table
    "media/text/note/step-1.txt", "media/figure/curve/step-2.png",  # not tables
    "media/table/../../store.duckdb", "../../../../etc/passwd", "/etc/passwd", "media/table/nothing.parquet",
    "artifacts/sha256", "media/table/rows.parquet%00", "media/table/fake.parquet"])
async def test_media_table_serves_only_tables_of_that_run(api: Fetch, media_runs: dict[str, str], path: str) -> None:
    for params in ({"path": path}, {"path": path, "sort": "secret", "descending": "true"}):  # sorted or not
        response = await api("runs", media_runs["media"], "media", "table", params=params)
        body = strict_json(response)
        assert (response.code, body["status"]) == (404, 404) and "\n" not in body["error"]
        assert "secret" not in response.body.decode() and "root:" not in response.body.decode()


async def test_media_table_refuses_a_file_changed_after_logging(api: Fetch, media_runs: dict[str, str],
                                                                fresh_store: Store) -> None:
    [entry] = [m for m in listing(media_runs["media"]) if m["name"] == "rows"]
    stored_file = fresh_store.artifact_path(entry["sha256"])
    stored_file.chmod(0o644)
    stored_file.write_bytes(tables.to_parquet({"x": [666]}))
    response = await api("runs", media_runs["media"], "media", "table", params={"path": entry["path"]})
    assert response.code == 409 and b"666" not in response.body


async def test_images_are_served_as_png_and_svg_can_never_run_script(api: Fetch, media_runs: dict[str, str]) -> None:
    rid = media_runs["media"]
    png = await api("runs", rid, "artifacts", "media/image/blank.png")
    assert png.code == 200 and png.headers["Content-Type"] == "image/png" and png.body.startswith(b"\x89PNG")
    for path in ("media/figure/evil.svg", "media/figure/curve/step-2.svg"):
        svg = await api("runs", rid, "artifacts", path)
        assert svg.code == 200 and svg.headers["Content-Type"] == "image/svg+xml"
        policy = [p.strip() for p in svg.headers["Content-Security-Policy"].split(";")]
        assert "sandbox" in policy and "default-src 'none'" in policy  # opened directly: no script runs
        assert svg.headers["Content-Disposition"].startswith("attachment;")
        assert svg.headers["X-Content-Type-Options"] == "nosniff"


async def test_media_routes_need_jupyter_auth(raw: Fetch, media_runs: dict[str, str]) -> None:
    rid = media_runs["media"]
    query = urllib.parse.urlencode({"path": "media/table/rows.parquet"})
    for path in (f"runs/{rid}/media", f"runs/{rid}/media/table?{query}", f"runs/{rid}/artifacts/media/image/blank.png"):
        response = await raw(path, auth=False)
        assert response.code == 403, path
        assert b"PNG" not in response.body and b"rows" not in response.body
    assert (await raw(f"runs/{rid}/media/table?{query}")).code == 200
