"""Notebook widgets and HTML, used as a user would, against a real store (no kernel needed)."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import nbmlops
from nbmlops.errors import FilterSyntaxError, InvalidInputError
from nbmlops.notebook.liveplot import LivePlot, downsample, live_plot
from nbmlops.notebook.widgets import CompareView, RunsTable, compare, runs_table
from nbmlops.render.html import run_html
from nbmlops.store.folder import Store
from nbmlops.tracking import tracker as tracking


def log_run(name: str, experiment: str = "exp", params: dict | None = None,
            metrics: dict[str, list[float]] | None = None) -> str:
    """Log a finished run with params and metric histories; returns its id."""
    with nbmlops.start_run(experiment=experiment, name=name) as run:
        if params:
            nbmlops.log_params(params)
        for key, values in (metrics or {}).items():
            for value in values:
                nbmlops.log_metric(key, value)
    return run.run_id


@pytest.fixture
def seven_runs(fresh_store: Store) -> dict[str, str]:
    """Seven runs named r0..r6 (r6 newest) in two experiments; name -> run id."""
    ids = {}
    for i in range(7):
        ids[f"r{i}"] = log_run(f"r{i}", "a" if i % 2 == 0 else "b",
                               params={"lr": 0.1 * (i + 1), "opt": "adam"},
                               metrics={"acc": [0.1 * i], "val_loss": [1.0 - 0.1 * i]})
    return ids


def is_png(value: bytes | memoryview) -> bool:
    return bytes(value[:8]) == b"\x89PNG\r\n\x1a\n"


def names(table: RunsTable) -> list[str]:
    return table.visible_rows["name"].tolist()


def test_importing_nbmlops_does_not_import_ipywidgets_or_matplotlib() -> None:
    code = ("import sys, nbmlops, nbmlops.notebook.widgets, nbmlops.render.html; "
            "print(sorted(m for m in ('ipywidgets', 'matplotlib') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_filter_applies_and_a_bad_filter_shows_one_red_line(seven_runs: dict[str, str]) -> None:
    table = runs_table()
    assert names(table) == ["r6", "r5", "r4", "r3", "r2", "r1", "r0"]
    table.filter_text.value = "metrics.acc >= 0.35 and params.opt = 'adam'"
    table.apply()
    assert names(table) == ["r6", "r5", "r4"]
    assert table.error_label.value == ""

    table.filter_text.value = "metrics.acc >"
    table.apply_button.click()
    assert "bad filter at column" in table.error_label.value
    assert "color:#d93f3f" in table.error_label.value and "\n" not in table.error_label.value
    assert names(table) == ["r6", "r5", "r4"]  # the table is unchanged

    table.filter_text.value = "name like 'r1%'"
    table.apply()
    assert names(table) == ["r1"] and table.error_label.value == ""
    table.filter_text.value = "name = 'nobody'"
    assert table.total == 0 and "No runs match" in table.message.value


def test_experiment_dropdown_and_column_chooser(seven_runs: dict[str, str]) -> None:
    table = RunsTable()
    assert [v for _, v in table.experiment_select.options] == ["", "a", "b"]
    table.experiment_select.value = "b"  # observers apply it, like a user picking it
    assert names(table) == ["r5", "r3", "r1"]
    assert table.shown_columns == ["params.lr", "params.opt", "metrics.acc", "metrics.val_loss"]
    table.column_select.value = ("metrics.acc",)
    assert table.shown_columns == ["metrics.acc"]
    assert "metrics.acc" in table.header.value and "params.lr" not in table.header.value
    assert "0.5" in table.row_cells[0].value  # r5's accuracy
    assert "FINISHED" in table.row_cells[0].value and "\u25cf" in table.row_cells[0].value


def test_paging_sorting_and_selection_across_pages(seven_runs: dict[str, str]) -> None:
    table = RunsTable(page_size=3)
    assert table.page == 1 and table.page_count == 3
    assert "page 1 of 3 \u00b7 7 runs" in table.page_label.value
    assert table.prev_button.disabled and not table.next_button.disabled
    table.checkboxes[1].value = True  # tick r5, as a user would
    table.next_page()
    assert names(table) == ["r3", "r2", "r1"]
    table.checkboxes[2].value = True  # tick r1
    table.next_button.click()
    assert names(table) == ["r0"] and table.next_button.disabled
    assert [box.layout.display for box in table.row_boxes] == [None, "none", "none"]
    table.next_page()  # stays on the last page
    assert table.page == 3
    table.prev_page()
    table.prev_page()
    assert table.checkboxes[1].value and not table.checkboxes[0].value  # the tick survived paging
    assert table.selected_run_ids == [seven_runs["r5"], seven_runs["r1"]]
    assert "2 selected" in table.selection_label.value
    assert repr(table) == "<RunsTable: 7 runs, page 1 of 3, 2 selected>"

    table.sort_by("metrics.val_loss", descending=False)
    assert table.page == 1 and names(table) == ["r6", "r5", "r4"]
    table.sort_by("params.lr", descending=True)
    assert names(table) == ["r6", "r5", "r4"]
    table.sort_descending.value = False  # the toggle re-sorts
    assert names(table) == ["r0", "r1", "r2"]
    assert table.checkboxes[1].value  # r1 still ticked after sorting
    table.sort_by(None)
    assert names(table) == ["r6", "r5", "r4"]
    with pytest.raises(FilterSyntaxError):
        table.sort_by("nonsense")
    table.page_checkbox.value = True  # "select the whole page"
    assert set(table.selected_run_ids) == {seven_runs[n] for n in ("r6", "r5", "r4", "r1")}
    table.clear_button.click()
    assert table.selected_run_ids == [] and table.compare_button.disabled
    with pytest.raises(InvalidInputError, match="no runs selected"):
        table.compare_selected()


def test_refresh_shows_new_runs_and_keeps_the_page(seven_runs: dict[str, str]) -> None:
    table = RunsTable(page_size=3, order_by="name")
    assert table.sort_select.value == "name" and names(table) == ["r0", "r1", "r2"]
    table.next_page()
    log_run("r7", "c")
    assert table.total == 7  # cached until refreshed
    table.refresh_button.click()
    assert table.total == 8 and table.page == 2 and names(table) == ["r3", "r4", "r5"]
    assert "c" in [v for _, v in table.experiment_select.options]


def test_compare_highlights_differences_best_metrics_and_plots_histories(fresh_store: Store) -> None:
    a = log_run("alpha", params={"lr": 0.1, "opt": "adam", "layers": [64, 32]},
                metrics={"acc": [0.5, 0.7, 0.8], "val_loss": [0.9, 0.5, 0.4]})
    b = log_run("beta", params={"lr": 0.01, "opt": "adam", "layers": [64, 32], "dropout": 0.5},
                metrics={"acc": [0.6, 0.9], "val_loss": [0.8, 0.6]})
    c = log_run("<gamma>", params={"lr": 1, "opt": "adam", "layers": [64, 32]},
                metrics={"acc": [0.2], "val_loss": [0.3, 0.2, 0.1, 0.35]})
    table = RunsTable(page_size=2)
    table.checkboxes[0].value = True  # <gamma>
    table.next_page()
    table.checkboxes[0].value = True  # alpha
    table.select([b])
    table.compare_button.click()
    view = table.compare_view
    assert isinstance(view, CompareView) and view.widget in table.compare_area.children
    assert [r.run_id for r in view.runs] == [c, a, b]

    assert view.param_rows == ["dropout", "layers", "lr", "opt"]
    assert view.different == ["dropout", "lr"]  # a param one run lacks counts as a difference
    html = view.params_html.value
    assert html.count("background:rgba(230,160,0,0.18)") == 2 * 4  # two rows of four cells
    assert repr(view) == "<CompareView of <gamma>, alpha, beta: 2 params differ>"
    view.only_differences.value = True
    assert view.param_rows == ["dropout", "lr"] and "layers" not in view.params_html.value

    assert view.best == {"acc": b, "val_loss": c}  # the highest accuracy, the lowest latest loss
    assert "\u2193" in view.metrics_html.value and "&lt;gamma&gt;" in view.metrics_html.value

    fig = view.plot(["val_loss", "acc"])
    loss_ax, acc_ax = fig.axes
    assert [line.get_label() for line in loss_ax.lines] == ["<gamma>", "alpha", "beta"]
    assert list(loss_ax.lines[0].get_xdata()) == [0, 1, 2, 3]
    assert list(loss_ax.lines[0].get_ydata()) == [0.3, 0.2, 0.1, 0.35]
    assert list(acc_ax.lines[2].get_ydata()) == [0.6, 0.9]
    assert len(view.plot("acc").axes[0].lines) == 3
    assert is_png(view.chart.value)
    view.metric_select.value = ("acc", "val_loss")
    assert is_png(view.chart.value)
    with pytest.raises(InvalidInputError, match="no metric 'f1'"):
        view.plot("f1")


def test_compare_by_prefix_and_duplicate_names(fresh_store: Store) -> None:
    a = log_run("same", metrics={"error": [0.2]})
    b = log_run("same", metrics={"error": [0.1]})
    view = compare(a[:24], b, a)
    assert [r.run_id for r in view.runs] == [a, b]
    assert view.labels == [f"same ({a[:8]})", f"same ({b[:8]})"]
    assert view.best == {"error": b}
    assert view.param_rows == [] and "no params" in view.params_html.value


def test_compare_marks_the_fastest_fit_time_best_as_the_panel_does(fresh_store: Store) -> None:
    slow = log_run("slow", metrics={"fit_time": [9.0], "accuracy": [0.9]})
    fast = log_run("fast", metrics={"fit_time": [1.5], "accuracy": [0.8]})
    view = compare(slow, fast)
    assert view.best == {"accuracy": slow, "fit_time": fast}
    assert view.plot("fit_time").axes[0].get_title() == "fit_time (lower is better)"
    assert nbmlops.metric_direction("fit_time") == "min" and nbmlops.metric_direction("accuracy") == "max"


def test_live_plot_follows_the_active_run_and_draws_png(fresh_store: Store) -> None:
    with live_plot(["loss"]) as plot, nbmlops.start_run(name="live") as run:
        for step in range(100):
            nbmlops.log_metric("loss", 1.0 / (step + 1))
            nbmlops.log_metric("ignored", step)
        tracking.tracker().flush()
        steps, values = plot.data["loss"]
        assert plot.run_id == run.run_id
        assert list(steps) == list(range(100)) and values[-1] == pytest.approx(0.01)
        assert "ignored" not in plot.data
    assert is_png(plot.image.value)
    assert "step 99" in plot.label.value and "100 points" in plot.label.value
    with nbmlops.start_run(name="after"):
        nbmlops.log_metric("loss", 5.0)
    assert len(plot.data["loss"][0]) == 100  # closed: no longer listening

    plot2 = LivePlot()
    with nbmlops.start_run(name="second"):
        nbmlops.log_metrics({"a": 1.0, "b": 2.0}, step=3)
    plot2.close()  # a run that began and ended between two flushes is still caught
    assert {k: list(v[1]) for k, v in plot2.data.items()} == {"a": [1.0], "b": [2.0]}
    assert is_png(plot2.image.value)


def test_downsample_keeps_spikes_and_bounds_points() -> None:
    steps = np.arange(100_000)
    values = np.sin(steps / 1000.0)
    values[54_321] = 50.0
    values[77_777] = -50.0
    values[10] = np.nan
    small_steps, small_values = downsample(steps, values, 1000)
    assert len(small_values) <= 1000
    assert np.nanmax(small_values) == 50.0 and np.nanmin(small_values) == -50.0
    assert 54_321 in small_steps and np.all(np.diff(small_steps) > 0)
    assert downsample(steps[:10], values[:10], 1000)[0].tolist() == list(range(10))


def test_run_html_escapes_names_and_shows_the_traceback(fresh_store: Store) -> None:
    with (pytest.raises(ZeroDivisionError),
          nbmlops.start_run(name="<script>alert(1)</script>", tags={"note": "<b>x</b>"}) as run):
        nbmlops.log_params({"<p>": "<i>"})
        nbmlops.log_metric("acc", 0.5)
        1 / 0  # noqa: B018 - the error under test
    html = run_html(nbmlops.get_run(run.run_id))
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<b>x</b>" not in html and "&lt;p&gt;" in html and "&lt;i&gt;" in html
    assert "FAILED" in html and "<details" in html
    assert "ZeroDivisionError: division by zero" in html and "Traceback" in html
    assert "rgba(217,63,63,0.14)" in html  # the badge: a translucent red, no hard black or white
    assert "Params (1)" in html and "Metrics (1)" in html and "Tags (" in html


def test_ten_thousand_runs_page_by_page(fresh_store: Store) -> None:
    for i in range(10_000):
        nbmlops.start_run(experiment="big", name=f"run-{i:05d}")
        nbmlops.end_run()
    table = RunsTable()
    assert table.total == 10_000 and table.page_count == 200
    table.page = 200
    assert names(table) == [f"run-{i:05d}" for i in range(49, -1, -1)]
    assert "page 200 of 200 \u00b7 10,000 runs" in table.page_label.value
    table.checkboxes[0].value = True
    table.sort_by("name", descending=False)
    table.page = 123
    assert names(table) == [f"run-{i:05d}" for i in range(6100, 6150)]
    table.checkboxes[49].value = True
    assert [table.visible_rows["name"].iloc[49]] == ["run-06149"]
    table.page = 1
    assert names(table)[49] == "run-00049" and table.checkboxes[49].value  # ticked on page 200 before sorting
    assert sum(box.value for box in table.checkboxes) == 1
    assert len(table.selected_run_ids) == 2


def test_a_run_renders_as_html_in_notebooks(fresh_store: Store) -> None:
    run_id = log_run("<b>bold</b>", params={"lr": 0.1})
    run = nbmlops.get_run(run_id)
    assert run._repr_html_() == run_html(run) and "&lt;b&gt;bold&lt;/b&gt;" in run._repr_html_()


def test_widgets_are_part_of_the_public_api() -> None:
    from nbmlops.notebook import liveplot, widgets
    for module, names in ((widgets, ("runs_table", "compare", "RunsTable", "CompareView")),
                          (liveplot, ("live_plot", "LivePlot"))):
        for name in names:
            assert getattr(nbmlops, name) is getattr(module, name) and name in nbmlops.__all__
