"""Reference profiles: the summary of a model's training data that monitoring compares batches with.

A profile keeps, per feature column, enough to run Evidently's default drift tests without the
rows themselves: numeric columns keep their sorted values when the reference has at most
SMALL_REFERENCE of them (exact KS tests), else QUANTILES quantiles (Wasserstein distance), plus
mean, std (ddof=0, as Evidently normalizes by), min, max and the null count, and their value
counts when they have at most MAX_CATEGORIES distinct values; categorical columns keep their
category counts (the MAX_CATEGORIES most frequent ones). It also
keeps the model's predictions on (a sample of) the reference, for prediction drift.

This module sits below the registry (which stores a profile with each model version) and imports
nothing else from nbmlops but errors.
"""

from __future__ import annotations

import json
import warnings
import weakref
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np
import pandas as pd

from nbmlops.errors import CorruptStoreError, InvalidInputError
from nbmlops.registry import serialization as modelio

FORMAT = 1
SMALL_REFERENCE = 1000  # Evidently's switch from exact tests (KS, chi-squared) to distances
QUANTILES = 1000
LEVELS = (np.arange(QUANTILES) + 0.5) / QUANTILES  # midpoints: their mean approximates an integral
FEW_VALUES = 5  # numeric columns with at most this many distinct values are compared as categories
MAX_CATEGORIES = 1000  # the most frequent ones are kept; the rest are counted as `other`
PREDICTION_SAMPLE = 10_000
T = TypeVar("T")


@dataclass(frozen=True)
class ColumnReference:
    """What the reference knows of one column."""

    name: str
    dtype: str
    kind: str  # "numeric" or "categorical"
    count: int  # non-missing values
    nulls: int
    values: np.ndarray | None = None  # sorted values (numeric, count <= SMALL_REFERENCE)
    quantiles: np.ndarray | None = None  # at LEVELS (numeric, larger references)
    mean: float | None = None
    std: float | None = None
    min: float | None = None
    max: float | None = None
    categories: dict[Any, int] | None = None  # value -> count: str keys, or float keys for numeric
    # columns with at most MAX_CATEGORIES distinct values
    other: int = 0  # values outside the kept categories

    def needs(self, value: T | None, what: str) -> T:
        """`value`, which a numeric reference with values always holds (a profile lacking it was damaged)."""
        if value is None:
            raise CorruptStoreError(f"the reference profile of column {self.name!r} lacks its {what}: register the "
                                    "model again to profile its training data anew")
        return value

    @property
    def small(self) -> bool:
        """True when drift is tested exactly (KS, chi-squared) rather than by distance."""
        return self.count <= SMALL_REFERENCE

    def quantile(self, levels: np.ndarray) -> np.ndarray:
        """Empirical quantiles (the inverse of the step CDF) at `levels` in (0, 1)."""
        if self.values is not None:
            return self.values[np.minimum((levels * self.values.size).astype(np.intp), self.values.size - 1)]
        quantiles = self.needs(self.quantiles, "quantiles")
        return np.interp(levels, np.r_[0.0, LEVELS, 1.0],
                         np.r_[self.needs(self.min, "minimum"), quantiles, self.needs(self.max, "maximum")])

    def cdf(self, x: np.ndarray) -> np.ndarray:
        """Share of reference values <= x (interpolated between quantiles for large continuous ones)."""
        if self.values is not None:
            return np.searchsorted(self.values, x, side="right") / self.values.size
        if self.categories is not None:  # discrete: exact from the value counts
            keys = np.array(sorted(self.categories), dtype=np.float64)
            shares = np.r_[0.0, np.cumsum([self.categories[k] for k in keys]) / self.count]
            return shares[np.searchsorted(keys, x, side="right")]
        quantiles = self.needs(self.quantiles, "quantiles")
        return np.interp(x, np.r_[self.min, quantiles, self.max], np.r_[0.0, LEVELS, 1.0], left=0.0, right=1.0)

    def to_json(self) -> dict[str, Any]:
        """A JSON-safe dict (categories as [value, count] pairs, keeping numbers numeric)."""
        out: dict[str, Any] = {"dtype": self.dtype, "kind": self.kind, "count": self.count, "nulls": self.nulls}
        for key in ("mean", "std", "min", "max"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        if self.values is not None:
            out["values"] = self.values.tolist()
        if self.quantiles is not None:
            out["quantiles"] = self.quantiles.tolist()
        if self.categories is not None:
            out["categories"] = [[k, v] for k, v in self.categories.items()]
            out["other"] = self.other
        return out

    @classmethod
    def from_json(cls, name: str, d: dict[str, Any]) -> ColumnReference:
        """The inverse of `to_json`."""
        arrays = {k: np.asarray(d[k], dtype=np.float64) for k in ("values", "quantiles") if k in d}
        categories = {k: int(v) for k, v in d["categories"]} if "categories" in d else None
        return cls(name, d["dtype"], d["kind"], int(d["count"]), int(d["nulls"]), **arrays,
                   mean=d.get("mean"), std=d.get("std"), min=d.get("min"), max=d.get("max"),
                   categories=categories, other=int(d.get("other", 0)))


@dataclass(frozen=True)
class ReferenceProfile:
    """The reference of a model version: its feature columns, schema and predictions."""

    rows: int
    schema: dict[str, str]  # every feature column and its dtype
    columns: dict[str, ColumnReference]  # the profiled ones (not datetimes or nested values)
    prediction: ColumnReference | None = None
    task: str | None = None  # "classification", "regression" or None (unknown)

    def to_bytes(self) -> bytes:
        """The profile as JSON."""
        return json.dumps({
            "format": FORMAT, "rows": self.rows, "schema": self.schema, "task": self.task,
            "columns": {k: c.to_json() for k, c in self.columns.items()},
            "prediction": self.prediction.to_json() if self.prediction else None,
        }, separators=(",", ":")).encode()

    @classmethod
    def from_bytes(cls, data: bytes) -> ReferenceProfile:
        """A profile from `to_bytes` output."""
        d = json.loads(data)
        if d.get("format", 0) > FORMAT:
            raise InvalidInputError(f"this reference profile has format {d['format']}, this nbmlops reads up "
                                    f"to {FORMAT}: pip install -U nbmlops")
        prediction = ColumnReference.from_json("prediction", d["prediction"]) if d.get("prediction") else None
        return cls(int(d["rows"]), dict(d["schema"]),
                   {k: ColumnReference.from_json(k, c) for k, c in d["columns"].items()},
                   prediction, d.get("task"))


def is_numeric(dtype: Any) -> bool:
    """True for int, unsigned and float dtypes (numpy or pandas nullable), not booleans."""
    return getattr(dtype, "kind", "") in "iuf"


def floats(values: pd.Series) -> np.ndarray:
    """A column as float64, with NaN for missing (and unconvertible) values."""
    if is_numeric(values.dtype):
        return values.to_numpy(dtype=np.float64, na_value=np.nan)
    return pd.to_numeric(values, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)


def value_counts(values: pd.Series) -> dict[str, int]:
    """Counts of the non-missing values of a column, keyed by their text."""
    counts = values.value_counts(dropna=True, sort=False)
    counts = counts[counts > 0]  # a categorical dtype lists unused categories too
    out: dict[str, int] = {}
    for key, n in zip(counts.index.map(str), counts.to_numpy(), strict=True):
        out[key] = out.get(key, 0) + int(n)  # 1 and "1" in one object column share a key
    return out


def sorted_finite(values: pd.Series) -> np.ndarray:
    """The finite values of a column, sorted (infinities count as missing, as in Evidently)."""
    x = floats(values)
    return np.sort(x[np.isfinite(x)])


def distinct_sorted(ordered: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct values of a sorted array and their counts."""
    if not ordered.size:
        return ordered, np.zeros(0, np.int64)
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
    return ordered[starts], np.diff(np.r_[starts, ordered.size])


def column_reference(name: str, values: pd.Series) -> ColumnReference | None:
    """The reference of one column, or None for columns that are not compared (datetimes, ...)."""
    dtype = values.dtype
    if getattr(dtype, "kind", "O") in "Mm":
        return None
    if is_numeric(dtype):
        ordered = sorted_finite(values)
        nulls = len(values) - ordered.size
        if not ordered.size:
            return ColumnReference(name, str(dtype), "numeric", 0, nulls, values=ordered)
        distinct, counts = distinct_sorted(ordered)
        small = ordered.size <= SMALL_REFERENCE
        return ColumnReference(
            name, str(dtype), "numeric", int(ordered.size), nulls,
            values=ordered if small else None,
            quantiles=None if small else ordered[(LEVELS * ordered.size).astype(np.intp)],
            mean=float(ordered.mean()), std=float(ordered.std()), min=float(ordered[0]), max=float(ordered[-1]),
            categories=({float(v): int(n) for v, n in zip(distinct, counts, strict=True)}
                        if distinct.size <= MAX_CATEGORIES else None))
    try:
        tallies = value_counts(values)
    except TypeError:  # unhashable cells (lists, dicts): nothing to compare
        return None
    kept = dict(sorted(tallies.items(), key=lambda kv: -kv[1])[:MAX_CATEGORIES])
    present = sum(tallies.values())
    return ColumnReference(name, str(dtype), "categorical", present, len(values) - present,
                           categories=kept, other=present - sum(kept.values()))


def as_frame(data: Any, what: str = "data") -> pd.DataFrame:
    """A pandas DataFrame from a DataFrame, a 2-D array (columns "0", "1", ...) or a polars frame."""
    if isinstance(data, pd.DataFrame):
        return data
    if isinstance(data, np.ndarray) and data.ndim == 2:
        return pd.DataFrame(data, columns=[str(i) for i in range(data.shape[1])])
    if type(data).__module__.split(".")[0] == "polars" and hasattr(data, "to_dict"):
        return pd.DataFrame(data.to_dict(as_series=False))  # no pyarrow needed
    raise InvalidInputError(f"{what} must be a pandas DataFrame, a 2-D numpy array or a polars DataFrame, "
                            f"not {type(data).__name__}")


def feature_names(model: Any) -> list[str] | None:
    """The column names a fitted scikit-learn-like model (or a booster) was trained on, if it knows them."""
    names = getattr(model, "feature_names_in_", None)
    if names is None:  # an XGBoost or LightGBM Booster names its inputs in its own way
        inputs = (modelio.signature(model) or {}).get("inputs") or []
        names = [i["name"] for i in inputs]
        positional = names == [str(i) for i in range(len(names))]  # fitted on an array
        return names if names and not positional else None
    return [str(n) for n in names]


def predict(model: Any, frame: pd.DataFrame) -> np.ndarray:
    """The model's predictions for a frame (a plain array when it was fitted on one)."""
    names = feature_names(model)
    return np.asarray(modelio.predict(model, frame[names] if names is not None else frame.to_numpy()))


def task_of(model: Any) -> str | None:
    """classification or regression, from scikit-learn's estimator tags when present."""
    kind = getattr(model, "_estimator_type", None)
    if kind is None:
        try:
            kind = model.__sklearn_tags__().estimator_type
        except Exception:  # not scikit-learn: unknown
            kind = None
    return {"classifier": "classification", "regressor": "regression"}.get(kind) if isinstance(kind, str) else None


def build_profile(data: Any, model: Any = None, *, predictions: bool = True) -> ReferenceProfile:
    """The reference profile of training data (only the model's features) and the model's predictions.

    `predictions=False`: the data is not what the model takes (features made outside it), so only
    the columns are profiled, for data drift.
    """
    frame = as_frame(data, "reference data")
    frame = frame.rename(columns=str)
    names = feature_names(model) if model is not None else None
    if names is not None and set(names) <= set(frame.columns):
        frame = frame[names]
    columns = {}
    for name in frame.columns:
        column = column_reference(name, frame[name])
        if column is not None:
            columns[name] = column
    prediction = None
    if predictions and model is not None and hasattr(model, "predict") and len(frame):
        sample = frame.sample(PREDICTION_SAMPLE, random_state=0) if len(frame) > PREDICTION_SAMPLE else frame
        try:
            prediction = column_reference("prediction", pd.Series(predict(model, sample)))
        except Exception as exc:  # the model's own code: any failure only loses prediction drift
            warnings.warn(f"reference predictions skipped, so prediction drift will not be monitored: "
                          f"{type(exc).__name__}: {exc}", stacklevel=3)
    return ReferenceProfile(len(frame), {str(k): str(t) for k, t in frame.dtypes.items()}, columns,
                            prediction, task_of(model) if model is not None else None)


class TrainingData:
    """In-memory training data this process logged (role train), per run, held by weak reference.

    `log_dataset` remembers it here so that `log_model` can profile the data a model was trained
    on without the user passing it again; nothing here keeps a frame alive.
    """

    def __init__(self) -> None:
        self._seen: dict[str, list[weakref.ref[Any]]] = {}

    def remember(self, run_id: str, data: object) -> None:
        """Note that `data` was logged as training data of `run_id`."""
        if not isinstance(data, pd.DataFrame) and not (isinstance(data, np.ndarray) and data.ndim == 2) \
                and type(data).__module__.split(".")[0] != "polars":
            return
        try:
            ref = weakref.ref(data)
        except TypeError:
            return
        for rid in [r for r, refs in self._seen.items() if all(w() is None for w in refs)]:
            del self._seen[rid]  # forget runs whose frames are all gone
        self._seen.setdefault(run_id, []).append(ref)

    def newest_first(self, run_id: str) -> Iterator[Any]:
        """The run's training data still alive, most recently logged first."""
        for ref in reversed(self._seen.get(run_id, [])):
            data = ref()
            if data is not None:
                yield data

    def for_model(self, run_id: str, model: Any) -> Any:
        """The newest training data of the run that holds the model's features, or None."""
        names = feature_names(model)
        width = getattr(model, "n_features_in_", None)
        for data in self.newest_first(run_id):
            frame = as_frame(data)
            if names is not None and set(names) <= set(map(str, frame.columns)):
                return frame
            if names is None and (width is None or frame.shape[1] == width):
                return frame
        return None


TRAINING_DATA = TrainingData()
