"""Long key/value rows (one per run and key) turned into the wide `params.*` / `metrics.*` / `tags.*`
columns of `runs()`, for all keys at once.

A run may hold 10,000 params. Pivoting key by key (a groupby, an index, a reindex per key) cost
seconds, so rows are placed into whole grids with one numpy assignment per kind, and only building
the final columns touches each key.

Int params become pandas nullable integers (`Int64`), so a run without the key shows <NA> beside
300, never 300.0. An int beyond 64 bits (written by older versions) is kept exactly, as its text, in
an object column: reading never fails on it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from nbmlops.entities import INT64, decode_param

_MISSING = np.nan  # what an object column holds where a run lacks the key, as pandas' reindex gave


def layout(keys: np.ndarray) -> tuple[list[str], np.ndarray]:
    """The distinct keys, sorted, and each row's column number in that order."""
    codes, uniques = pd.factorize(keys)
    order = sorted(range(len(uniques)), key=lambda i: str(uniques[i]))
    rank = np.empty(len(uniques), dtype=np.intp)
    rank[order] = np.arange(len(order))
    return [str(uniques[i]) for i in order], rank[codes]


def numbers(prefix: str, rows: pd.DataFrame, n: int) -> pd.DataFrame:
    """Float columns `prefix.KEY` from rows with `pos` (row number), `key` and `value`."""
    keys, cols = layout(rows["key"].to_numpy())
    grid = np.full((n, len(keys)), np.nan)
    grid[rows["pos"].to_numpy(dtype=np.intp), cols] = rows["value"].to_numpy(dtype=float)
    return pd.DataFrame(grid, columns=[f"{prefix}.{k}" for k in keys])


def texts(prefix: str, rows: pd.DataFrame, n: int) -> pd.DataFrame:
    """Object columns `prefix.KEY` of text, NaN where a run lacks the key."""
    keys, cols = layout(rows["key"].to_numpy())
    grid = np.full((n, len(keys)), _MISSING, dtype=object)
    grid[rows["pos"].to_numpy(dtype=np.intp), cols] = rows["value"].to_numpy(dtype=object)
    return pd.DataFrame(grid, columns=[f"{prefix}.{k}" for k in keys])


_BITS = {"int": 1, "float": 2, "str": 4, "bool": 8}  # any other type (json, none) counts as mixed
_MIXED = 16


def params(rows: pd.DataFrame, n: int) -> pd.DataFrame:
    """`params.KEY` columns from rows with `pos`, `key`, `value` (text) and `value_type`."""
    keys, cols = layout(rows["key"].to_numpy())
    pos = rows["pos"].to_numpy(dtype=np.intp)
    values = rows["value"].to_numpy(dtype=object)
    types = rows["value_type"].to_numpy(dtype=object)
    bits = pd.Series(types).map(_BITS).fillna(_MIXED).to_numpy(dtype=np.int64)
    kinds = np.zeros(len(keys), dtype=np.int64)
    np.bitwise_or.at(kinds, cols, bits)
    row_kind = kinds[cols]

    columns: dict[str, Any] = {}
    ints = row_kind == _BITS["int"]
    int_data, int_missing, int_exact = _int_grid(pos[ints], cols[ints], values[ints], n, len(keys))
    floats = (row_kind == _BITS["float"]) | (row_kind == _BITS["int"] | _BITS["float"])
    float_grid = np.full((n, len(keys)), np.nan)
    # Parsing the text keeps nan and inf, which value_num leaves empty.
    float_grid[pos[floats], cols[floats]] = values[floats].astype(float)
    objects = ~(ints | floats)
    object_grid = np.full((n, len(keys)), _MISSING, dtype=object)
    flags = row_kind == _BITS["bool"]
    object_grid[pos[flags], cols[flags]] = values[flags] == "true"
    strings = row_kind == _BITS["str"]
    object_grid[pos[strings], cols[strings]] = values[strings]
    mixed = objects & ~flags & ~strings
    object_grid[pos[mixed], cols[mixed]] = [decode_param(v, t)
                                            for v, t in zip(values[mixed], types[mixed], strict=True)]

    for j, key in enumerate(keys):
        kind = kinds[j]
        if kind == _BITS["int"]:
            if j in int_exact:
                columns[f"params.{key}"] = int_exact[j]
            else:
                columns[f"params.{key}"] = pd.arrays.IntegerArray(int_data[:, j], int_missing[:, j])
        elif kind in (_BITS["float"], _BITS["int"] | _BITS["float"]):
            columns[f"params.{key}"] = float_grid[:, j]
        else:
            columns[f"params.{key}"] = object_grid[:, j]
    return pd.DataFrame(columns)


def _int_grid(pos: np.ndarray, cols: np.ndarray, values: np.ndarray, n: int,
              width: int) -> tuple[np.ndarray, np.ndarray, dict[int, np.ndarray]]:
    """Int params as an int64 grid and its missing mask, plus object columns for keys holding an int
    beyond 64 bits (those values as their exact text, the others as Python ints)."""
    data = np.zeros((n, width), dtype=np.int64)
    missing = np.ones((n, width), dtype=bool)
    exact: dict[int, np.ndarray] = {}
    try:
        parsed = values.astype(np.int64)
        fits = np.ones(len(values), dtype=bool)
    except (OverflowError, ValueError, TypeError):
        fits = np.array([_fits_int64(v) for v in values], dtype=bool)
        parsed = np.zeros(len(values), dtype=np.int64)
        parsed[fits] = values[fits].astype(np.int64)
    data[pos, cols] = parsed
    missing[pos, cols] = False
    for j in np.unique(cols[~fits]):
        column = np.full(n, _MISSING, dtype=object)
        here = cols == j
        column[pos[here]] = [int(str(v)) if ok else str(v) for v, ok in zip(values[here], fits[here], strict=True)]
        exact[int(j)] = column
    return data, missing, exact


def _fits_int64(text: object) -> bool:
    try:
        return INT64[0] <= int(str(text)) <= INT64[1]
    except ValueError:
        return False
