"""Drift of one column against its reference, with Evidently's default tests, on numpy and scipy.

The test depends on the column and on the size of the reference (its non-missing values):
- numeric with more than FEW_VALUES distinct values: two-sample Kolmogorov-Smirnov, drift when
  p < 0.05, for references of at most 1000 values; else the Wasserstein distance divided by the
  reference's standard deviation, drift when >= 0.1;
- categorical, or numeric with at most FEW_VALUES distinct values (reference and batch together):
  Pearson's chi-squared test, drift when p < 0.05, for references of at most 1000 values; else
  the Jensen-Shannon distance (natural log), drift when >= 0.1. The chi-squared test is the
  two-sample (homogeneity) form: Evidently tests the batch against the reference's shares as if
  they were exact, which with a reference of a few hundred rows flags same-distribution batches
  of a few thousand rows as drifted; this form also counts the reference's own sampling noise.
PSI is computed for every column (30 equal-width bins over both ranges for numeric columns, as
Evidently does; categories otherwise; empty bins count as 0.0001) and reported, not used to decide.
Missing values are left out of every test and reported as null shares.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats
from scipy.spatial import distance

from nbmlops.drift.reference import (
    FEW_VALUES,
    LEVELS,
    ColumnReference,
    distinct_sorted,
    sorted_finite,
    value_counts,
)

P_VALUE = 0.05
DISTANCE = 0.1
PSI_BINS = 30
EMPTY_SHARE = 1e-4
HISTOGRAM_CATEGORIES = 12
UNSEEN_EXAMPLES = 10


@dataclass(frozen=True)
class Histogram:
    """Reference and batch shares over the same bins or categories, for charts."""

    labels: list[str]
    reference: np.ndarray
    current: np.ndarray
    edges: np.ndarray | None = None  # numeric bins


@dataclass(frozen=True)
class FeatureDrift:
    """Whether one column drifted, by which test and score."""

    column: str
    kind: str  # "numeric" or "categorical", as compared
    stat_test: str  # ks, wasserstein, chisquare, jensenshannon (or "empty": no values to compare)
    score: float  # p-value for ks and chisquare, else a distance
    threshold: float
    drifted: bool
    psi: float
    reference_nulls: float  # share of missing values
    current_nulls: float
    histogram: Histogram | None = field(default=None, repr=False, compare=False)


@dataclass(frozen=True)
class ColumnFacts:
    """Data quality facts about one column of a batch, gathered while comparing it."""

    rows: int
    nulls: int
    out_of_range: int = 0  # numeric values below the reference's min or above its max
    unseen: list[str] = field(default_factory=list)  # a few categories the reference never had
    unseen_rows: int = 0


def compare(ref: ColumnReference, values: pd.Series) -> tuple[FeatureDrift, ColumnFacts]:
    """The drift of a batch column against its reference, and quality facts about the batch."""
    if ref.kind == "numeric":
        return _numeric(ref, values)
    counts = value_counts(values)
    present = sum(counts.values())
    known = ref.categories or {}
    unseen = {k: n for k, n in counts.items() if k not in known}
    facts = ColumnFacts(len(values), len(values) - present,
                        unseen=sorted(unseen, key=lambda k: -unseen[k])[:UNSEEN_EXAMPLES],
                        unseen_rows=sum(unseen.values()))
    return _categorical(ref, counts, len(values) - present), facts


def _share(part: int, whole: int) -> float:
    return part / whole if whole else 0.0


def _empty(ref: ColumnReference, kind: str, nulls: int, rows: int) -> FeatureDrift:
    """No values on one side: nothing to test."""
    return FeatureDrift(ref.name, kind, "empty", float("nan"), P_VALUE, False, float("nan"),
                        _share(ref.nulls, ref.count + ref.nulls), _share(nulls, rows))


def _numeric(ref: ColumnReference, values: pd.Series) -> tuple[FeatureDrift, ColumnFacts]:
    cur = sorted_finite(values)
    nulls = len(values) - cur.size
    facts = ColumnFacts(len(values), nulls)
    if not cur.size or not ref.count:
        return _empty(ref, "numeric", nulls, len(values)), facts
    low, high = ref.needs(ref.min, "minimum"), ref.needs(ref.max, "maximum")
    below = int(np.searchsorted(cur, low, side="left"))
    above = cur.size - int(np.searchsorted(cur, high, side="right"))
    facts = ColumnFacts(len(values), nulls, out_of_range=below + above)
    if ref.categories is not None and len(ref.categories) <= FEW_VALUES \
            and np.count_nonzero(cur[1:] != cur[:-1]) < FEW_VALUES:
        distinct, counts = distinct_sorted(cur)
        if len(set(ref.categories) | set(distinct.tolist())) <= FEW_VALUES:
            batch = {float(v): int(n) for v, n in zip(distinct, counts, strict=True)}
            return _categorical(ref, batch, nulls, kind="numeric"), facts
    if ref.small:
        score = float(stats.ks_2samp(ref.needs(ref.values, "values"), cur).pvalue)
        test, threshold, drifted = "ks", P_VALUE, score < P_VALUE
    else:
        std = ref.needs(ref.std, "standard deviation")
        positions = np.minimum((LEVELS * cur.size).astype(np.intp), cur.size - 1)
        moved = float(np.mean(np.abs(ref.quantile(LEVELS) - cur[positions])))
        score = moved / std if std > 0 else (0.0 if moved == 0 else float("inf"))
        test, threshold, drifted = "wasserstein", DISTANCE, score >= DISTANCE
    edges = np.linspace(min(low, cur[0]), max(high, cur[-1]), PSI_BINS + 1)
    if edges[0] == edges[-1]:
        edges = np.linspace(edges[0] - 0.5, edges[0] + 0.5, PSI_BINS + 1)
    reference = np.diff(np.r_[0.0, ref.cdf(edges[1:-1]), 1.0])
    current = np.diff(np.r_[0, np.searchsorted(cur, edges[1:-1], side="right"), cur.size]) / cur.size
    labels = [f"{a:.4g}..{b:.4g}" for a, b in zip(edges[:-1], edges[1:], strict=True)]
    return FeatureDrift(ref.name, "numeric", test, score, threshold, bool(drifted), _psi(reference, current),
                        _share(ref.nulls, ref.count + ref.nulls), _share(nulls, len(values)),
                        Histogram(labels, reference, current, edges)), facts


def _categorical(ref: ColumnReference, batch: dict, nulls: int, kind: str = "categorical") -> FeatureDrift:
    """Compare category counts; values beyond a truncated reference's kept ones share its `other`."""
    known = dict(ref.categories or {})
    rows = sum(batch.values()) + nulls
    if ref.other:
        other = sum(n for k, n in batch.items() if k not in known)
        batch = {k: n for k, n in batch.items() if k in known}
        known[_OTHER], batch[_OTHER] = ref.other, other
    keys = list(dict.fromkeys([*known, *batch]))
    expected = np.array([known.get(k, 0) for k in keys], dtype=np.float64)
    observed = np.array([batch.get(k, 0) for k in keys], dtype=np.float64)
    if not expected.sum() or not observed.sum():
        return _empty(ref, kind, nulls, rows)
    reference, current = expected / expected.sum(), observed / observed.sum()
    if ref.small:
        score = _chisquare(expected, observed)
        test, threshold, drifted = "chisquare", P_VALUE, score < P_VALUE
    else:
        score = float(distance.jensenshannon(reference, current))
        test, threshold, drifted = "jensenshannon", DISTANCE, score >= DISTANCE
    order = np.argsort(-(reference + current), kind="stable")[:HISTOGRAM_CATEGORIES]
    histogram = Histogram([f"{keys[i]:g}" if isinstance(keys[i], float) else str(keys[i]) for i in order],
                          reference[order], current[order])
    return FeatureDrift(ref.name, kind, test, score, threshold, bool(drifted), _psi(reference, current),
                        _share(ref.nulls, ref.count + ref.nulls), _share(nulls, rows), histogram)


_OTHER = "(other)"


def _chisquare(reference: np.ndarray, current: np.ndarray) -> float:
    """p-value of Pearson's chi-squared test that two samples' counts come from one distribution."""
    if len(reference) < 2:
        return 1.0
    return float(stats.chi2_contingency(np.vstack([reference, current]), correction=False).pvalue)


def _psi(reference: np.ndarray, current: np.ndarray) -> float:
    """Population stability index of two share vectors over the same bins."""
    ref = np.where(reference == 0, EMPTY_SHARE, reference)
    cur = np.where(current == 0, EMPTY_SHARE, current)
    return float(np.sum((cur - ref) * np.log(cur / ref)))
