"""What monitoring found about one batch: drift per feature, predictions, data quality, performance.

A MonitoringReport renders as HTML in notebooks (tables plus matplotlib charts inlined as PNG),
as one line in a terminal, and as a JSON-safe dict for the CLI.
"""

from __future__ import annotations

import base64
import datetime as dt
import math
from dataclasses import dataclass, field
from html import escape
from typing import Any

import numpy as np
import pandas as pd

from nbmlops.drift.statistics import FeatureDrift
from nbmlops.render import display
from nbmlops.render.html import ERROR, FONT, MUTED, Markup, format_value, table_html

CHARTS = 8  # distribution charts drawn, drifted columns first
DRIFTED = "rgba(217,63,63,0.16)"
GREY = "#888888"
FEATURE_COLUMNS = ["column", "kind", "stat_test", "score", "threshold", "drifted", "psi", "reference_nulls",
                   "current_nulls"]


@dataclass(frozen=True)
class DataQuality:
    """Problems with a batch: schema against the model's signature, nulls, unseen and out-of-range values."""

    missing_columns: list[str] = field(default_factory=list)
    extra_columns: list[str] = field(default_factory=list)
    dtype_changes: dict[str, tuple[str, str]] = field(default_factory=dict)  # column -> (expected, found)
    nulls: dict[str, tuple[float, float]] = field(default_factory=dict)  # more nulls: (reference, batch)
    unseen_categories: dict[str, tuple[list[str], int]] = field(default_factory=dict)  # (examples, rows)
    out_of_range: dict[str, tuple[int, float]] = field(default_factory=dict)  # (rows, share)

    @property
    def schema_ok(self) -> bool:
        """True when the batch has the signature's columns with compatible dtypes."""
        return not (self.missing_columns or self.dtype_changes)

    def issues(self) -> list[str]:
        """Each finding as one line."""
        out = []
        if self.missing_columns:
            out.append(f"missing columns: {', '.join(self.missing_columns)}")
        if self.extra_columns:
            out.append(f"columns the model does not use: {', '.join(self.extra_columns)}")
        out += [f"{c}: dtype {a} expected, {b} found" for c, (a, b) in self.dtype_changes.items()]
        out += [f"{c}: {b:.1%} missing values (reference {a:.1%})" for c, (a, b) in self.nulls.items()]
        out += [f"{c}: {n} rows with categories the reference never had, e.g. {', '.join(map(repr, ex[:3]))}"
                for c, (ex, n) in self.unseen_categories.items()]
        out += [f"{c}: {n} values ({share:.1%}) outside the reference's range"
                for c, (n, share) in self.out_of_range.items()]
        return out

    def to_json(self) -> dict[str, Any]:
        """A JSON-safe dict."""
        return {"missing_columns": self.missing_columns, "extra_columns": self.extra_columns,
                "dtype_changes": {k: list(v) for k, v in self.dtype_changes.items()},
                "nulls": {k: list(v) for k, v in self.nulls.items()},
                "unseen_categories": {k: {"examples": ex, "rows": n} for k, (ex, n) in self.unseen_categories.items()},
                "out_of_range": {k: {"rows": n, "share": s} for k, (n, s) in self.out_of_range.items()}}


@dataclass(frozen=True)
class MonitoringReport:
    """The outcome of `monitor`: one batch compared with a model version's reference."""

    report_id: str
    model: str
    version: int
    timestamp: dt.datetime  # UTC
    n_rows: int
    features: list[FeatureDrift]
    prediction: FeatureDrift | None
    quality: DataQuality
    metrics: dict[str, float] = field(default_factory=dict)  # performance, when labels were given
    notes: list[str] = field(default_factory=list)  # what could not be checked, and why
    source: str | None = None

    @property
    def uri(self) -> str:
        """`name/version` of the model version the batch was compared with."""
        return f"{self.model}/{self.version}"

    @property
    def drifted_columns(self) -> list[str]:
        """Columns whose distribution drifted."""
        return [f.column for f in self.features if f.drifted]

    @property
    def drift_share(self) -> float:
        """Share of compared columns that drifted."""
        return len(self.drifted_columns) / len(self.features) if self.features else 0.0

    @property
    def dataset_drift(self) -> bool:
        """True when at least half of the compared columns drifted (Evidently's default)."""
        return bool(self.features) and self.drift_share >= 0.5

    @property
    def prediction_drift(self) -> bool | None:
        """Whether the model's predictions drifted; None when they were not compared."""
        return self.prediction.drifted if self.prediction else None

    def summary(self) -> str:
        """One line: drift, predictions, quality and performance."""
        drift = "dataset drift" if self.dataset_drift else "no dataset drift"
        parts = [f"{self.uri}: {drift} ({len(self.drifted_columns)} of {len(self.features)} columns drifted, "
                 f"{self.drift_share:.0%}) in {self.n_rows:,} rows"]
        if self.prediction is not None:
            parts.append("prediction drift" if self.prediction.drifted else "no prediction drift")
        issues = len(self.quality.issues())
        if issues:
            parts.append(f"{issues} data quality finding{'s' if issues > 1 else ''}")
        parts += [f"{k}={v:.4g}" for k, v in self.metrics.items()]
        return "; ".join(parts)

    def to_frame(self) -> pd.DataFrame:
        """Per-feature drift as a DataFrame, one row per column."""
        return pd.DataFrame([[getattr(f, c) for c in FEATURE_COLUMNS] for f in self.features],
                            columns=FEATURE_COLUMNS)

    def to_json(self) -> dict[str, Any]:
        """A JSON-safe dict of the whole report."""
        return {"report_id": self.report_id, "model": self.model, "version": self.version,
                "timestamp": self.timestamp.isoformat(), "n_rows": self.n_rows,
                "dataset_drift": self.dataset_drift, "drift_share": self.drift_share,
                "drifted_columns": self.drifted_columns, "features": [_feature_json(f) for f in self.features],
                "prediction": _feature_json(self.prediction) if self.prediction else None,
                "quality": self.quality.to_json(), "metrics": self.metrics, "notes": self.notes, "source": self.source}

    def __repr__(self) -> str:
        return f"<MonitoringReport {self.summary()}>"

    def _repr_html_(self) -> str:
        return report_html(self)


def _feature_json(f: FeatureDrift) -> dict[str, Any]:
    """One feature's drift as JSON-safe values (NaN and infinities as None)."""
    values = {c: getattr(f, c) for c in FEATURE_COLUMNS}
    return {k: None if isinstance(v, float) and not math.isfinite(v) else v for k, v in values.items()}


def _badge(text: str, bad: bool) -> Markup:
    rgb = "217,63,63" if bad else "31,157,85"
    return Markup(f'<span style="display:inline-block;padding:0 7px;border-radius:9px;font-size:11px;'
                  f'font-weight:600;color:rgb({rgb});background:rgba({rgb},0.14);border:1px solid '
                  f'rgba({rgb},0.45)">{escape(text)}</span>')


def _feature_rows(features: list[FeatureDrift]) -> list[list[object]]:
    return [[f.column, f.kind, f.stat_test, format_value(f.score, 4), format_value(f.threshold),
             _badge("drift", True) if f.drifted else "no", format_value(f.psi, 3),
             f"{f.reference_nulls:.1%} \u2192 {f.current_nulls:.1%}"] for f in features]


def report_html(report: MonitoringReport) -> str:
    """The report as HTML: summary, per-feature table, distribution charts, quality and performance."""
    features = sorted(report.features, key=lambda f: (not f.drifted, f.column))
    head = (f'<div style="display:flex;gap:10px;align-items:center;flex-wrap:wrap">'
            f'<span style="font-size:1.2em;font-weight:600">{escape(report.uri)}</span>'
            f'{_badge("dataset drift" if report.dataset_drift else "no dataset drift", report.dataset_drift)}'
            f'<span style="{MUTED}">{len(report.drifted_columns)} of {len(report.features)} columns drifted '
            f'({report.drift_share:.0%}) \u00b7 {report.n_rows:,} rows \u00b7 '
            f'{report.timestamp:%Y-%m-%d %H:%M:%S} UTC</span></div>')
    parts = [head]
    if report.prediction is not None:
        p = report.prediction
        parts.append(f"<div>Predictions: {_badge('drift' if p.drifted else 'no drift', p.drifted)} "
                     f'<span style="{MUTED}">{escape(p.stat_test)} {escape(format_value(p.score, 4))} '
                     f"(threshold {p.threshold:g})</span></div>")
    if report.metrics:
        parts.append(table_html(["metric", "value"], [[k, format_value(v, 5)] for k, v in report.metrics.items()],
                                caption="Performance"))
    chart = _charts(features[:CHARTS] + ([report.prediction] if report.prediction else []))
    if chart:
        parts.append(f'<img alt="reference and batch distributions" style="max-width:100%" '
                     f'src="data:image/png;base64,{chart}"/>')
    if features:
        parts.append(table_html(
            ["column", "type", "test", "score", "threshold", "drift", "PSI", "nulls"], _feature_rows(features),
            row_backgrounds=[DRIFTED if f.drifted else None for f in features], caption="Drift by column"))
    issues = report.quality.issues()
    if issues:
        items = "".join(f"<li>{escape(i)}</li>" for i in issues)
        parts.append(f'<div><b>Data quality</b><ul style="margin:2px 0">{items}</ul></div>')
    if report.notes:
        parts.append("".join(f'<div style="color:{ERROR}">{escape(n)}</div>' for n in report.notes))
    return f'<div class="nbmlops-monitoring" style="{FONT};max-width:1000px">{"".join(parts)}</div>'


def _charts(features: list[FeatureDrift]) -> str:
    """Reference vs batch distributions of some features as one base64 PNG ('' when none)."""
    shown = [(f, f.histogram) for f in features if f.histogram is not None]
    if not shown:
        return ""
    cols = min(4, len(shown))
    rows = math.ceil(len(shown) / cols)
    fig = display.figure(2.6 * cols, 1.9 * rows)
    fig.patch.set_alpha(0)  # transparent, with grey text: readable on light and dark themes
    for i, (f, h) in enumerate(shown):
        ax = fig.add_subplot(rows, cols, i + 1)
        if h.edges is not None:
            ax.stairs(h.reference, h.edges, fill=True, alpha=0.35, color="#2b7bd9", label="reference")
            ax.stairs(h.current, h.edges, color="#d93f3f", linewidth=1.4, label="batch")
        else:
            x = np.arange(len(h.labels))
            ax.bar(x - 0.2, h.reference, 0.4, color="#2b7bd9", alpha=0.6, label="reference")
            ax.bar(x + 0.2, h.current, 0.4, color="#d93f3f", alpha=0.8, label="batch")
            ax.set_xticks(x, [label[:8] for label in h.labels], rotation=45, fontsize=6, ha="right")
        ax.set_title(f"{f.column}{' (drift)' if f.drifted else ''}", fontsize=8,
                     color="#d93f3f" if f.drifted else GREY)
        ax.set_facecolor("none")
        ax.tick_params(labelsize=6, colors=GREY)
        for spine in ax.spines.values():
            spine.set_color(GREY)
        ax.set_yticks([])
        if i == 0:
            ax.legend(fontsize=6, frameon=False, labelcolor=GREY)
    return base64.b64encode(display.png(fig)).decode()
