"""What changed between two versions of a dataset: schema, row counts, per-column statistics from the
profiles, and, when both versions have snapshots, how many rows were added, removed and changed.

Rows are matched by the key columns when given (a key in one version only is an added or removed
row; a key in both with any other value different is a changed row). Without keys, whole rows
are compared as multisets of row hashes over the columns both versions have: a changed row then
counts as one removed and one added row, and `changed` is None. Folder and file snapshots compare
their files by path instead of rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from nbmlops.data import datasets as data
from nbmlops.data import snapshots
from nbmlops.errors import InvalidInputError
from nbmlops.store import manifests as snapshot_manifests
from nbmlops.store.folder import Store
from nbmlops.store.sqltext import quote_ident, quote_literal

STATISTICS = ("type", "count", "nulls", "distinct", "mean", "std", "min", "p50", "max")


@dataclass(frozen=True)
class DatasetDiff:
    """The differences between two versions of one dataset."""

    name: str
    versions: tuple[int, int]
    fingerprints: tuple[str, str]
    rows: tuple[int | None, int | None]
    schema: pd.DataFrame  # column, change (added, removed, dtype), old, new
    stats: pd.DataFrame  # column, statistic, old, new (only statistics that differ or are shared)
    added: int | None = None
    removed: int | None = None
    changed: int | None = None
    keys: tuple[str, ...] = ()
    notes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """The differences in a few lines of text."""
        old, new = self.versions
        lines = [f"{self.name} v{old} ({self.fingerprints[0][:12]}) -> v{new} ({self.fingerprints[1][:12]})"]
        if self.fingerprints[0] == self.fingerprints[1]:
            lines.append("identical content")
        lines.append(f"rows: {_text(self.rows[0])} -> {_text(self.rows[1])}")
        for _, change in self.schema.iterrows():
            lines.append(f"column {change['column']!r} {change['change']}: {_text(change['old'])} -> "
                         f"{_text(change['new'])}")
        if self.added is not None:
            unit = "files" if self.keys == ("path",) else "rows"
            by = f" by {', '.join(self.keys)}" if self.keys else " (whole rows)"
            lines.append(f"{unit}{by}: {self.added} added, {self.removed} removed"
                         + (f", {self.changed} changed" if self.changed is not None else ""))
        return "\n".join(lines + self.notes)


def _text(value: Any) -> str:
    return "-" if value is None or (isinstance(value, float) and np.isnan(value)) else str(value)


def diff(store: Store, name: str, old: int | str, new: int | str,
         keys: list[str] | tuple[str, ...] | None = None, *, rows: bool = True) -> DatasetDiff:
    """Compare versions `old` and `new` (numbers or fingerprint prefixes) of dataset `name`; `rows=False`
    leaves out the row-level comparison of snapshots (schema, row counts and statistics only)."""
    first, second = data.dataset_profile(store, name, old), data.dataset_profile(store, name, new)
    rows_old, rows_new = data.dataset_version(store, name, old), data.dataset_version(store, name, new)
    result = DatasetDiff(name, (first["version"], second["version"]),
                         (first["fingerprint"], second["fingerprint"]),
                         (_int(rows_old["rows"]), _int(rows_new["rows"])),
                         _schema(first["schema"], second["schema"]),
                         _stats(first["profile"], second["profile"]), keys=tuple(keys or ()))
    if not rows:
        return result
    with store.reading(refresh=False) as con:
        shas = [snapshot_manifests.manifest_sha(con, p["fingerprint"]) for p in (first, second)]
    if None in shas:
        missing = " and ".join(f"v{p['version']}" for p, s in zip((first, second), shas, strict=True) if s is None)
        result.notes.append(f"added, removed and changed rows need snapshots: {missing} has none "
                            "(log with snapshot=True)")
        return result
    manifests = [snapshot_manifests.read_manifest(store, sha) for sha in shas]  # type: ignore[arg-type]
    if manifests[0]["kind"] in ("file", "directory") or manifests[1]["kind"] in ("file", "directory"):
        return _file_changes(result, manifests)
    return _row_changes(store, result, manifests)


def _int(value: Any) -> int | None:
    return None if value is None or pd.isna(value) else int(value)


def _schema(old: dict[str, str], new: dict[str, str]) -> pd.DataFrame:
    changes: list[tuple[str, str, str | None, str | None]] = [(c, "removed", old[c], None) for c in old if c not in new]
    changes += [(c, "added", None, new[c]) for c in new if c not in old]
    changes += [(c, "dtype", old[c], new[c]) for c in old if c in new and old[c] != new[c]]
    return pd.DataFrame(changes, columns=["column", "change", "old", "new"])


def _stats(old: dict[str, dict[str, Any]], new: dict[str, dict[str, Any]]) -> pd.DataFrame:
    rows = []
    for column in [*old, *(c for c in new if c not in old)]:
        a, b = old.get(column, {}), new.get(column, {})
        for stat in STATISTICS:
            if stat in a or stat in b:
                rows.append((column, stat, a.get(stat), b.get(stat)))
    return pd.DataFrame(rows, columns=["column", "statistic", "old", "new"])


def _file_changes(result: DatasetDiff, manifests: list[dict[str, Any]]) -> DatasetDiff:
    old, new = ({f["path"]: f["sha256"] for f in m["files"]} for m in manifests)
    added = sum(p not in old for p in new)
    removed = sum(p not in new for p in old)
    changed = sum(p in new and new[p] != old[p] for p in old)
    return DatasetDiff(**{**result.__dict__, "added": added, "removed": removed, "changed": changed,
                          "keys": ("path",)})


def _frame_sql(store: Store, manifest: dict[str, Any], con: duckdb.DuckDBPyConnection, view: str) -> list[str]:
    """Make `view` show a snapshot with its columns under their logged names; returns the names."""
    meta = manifest["meta"]
    if meta["format"] == "parquet":
        levels = meta["index"].get("levels", [])
        pairs = [(lv["parquet"], str(lv["name"]) if lv["name"] is not None else "index") for lv in levels]
        pairs += [(c["parquet"], str(c["name"])) for c in meta["columns"]]
        # Names and paths come from the manifest, which a bundle from elsewhere may have written.
        files = ", ".join(quote_literal(store.artifact_path(f["sha256"])) for f in manifest["files"])
        select = ", ".join(f"{quote_ident(p)} AS {quote_ident(n)}" for p, n in pairs)
        con.execute(f"CREATE TEMP VIEW {view} AS SELECT {select} FROM read_parquet([{files}])")  # noqa: S608 - quoted
        return [n for _, n in pairs]
    loaded = snapshots.load(store, manifest, f"snapshot {manifest['fingerprint'][:12]}")
    frame = loaded if isinstance(loaded, pd.DataFrame) else \
        loaded.to_frame() if isinstance(loaded, pd.Series) else \
        loaded.to_pandas() if hasattr(loaded, "to_pandas") else \
        pd.DataFrame(np.asarray(loaded).reshape(len(loaded), -1))
    frame = frame.set_axis([str(c) for c in frame.columns], axis=1)
    con.register(f"{view}_data", frame)
    con.execute(f"CREATE TEMP VIEW {view} AS SELECT * FROM {view}_data")  # noqa: S608 - view is "a" or "b"
    return list(frame.columns)


def _row(con: duckdb.DuckDBPyConnection, sql: str) -> tuple[Any, ...]:
    """The one row an aggregate without GROUP BY returns."""
    return con.execute(sql).fetchone() or (0, 0)


def _beyond(values: np.ndarray, other: np.ndarray) -> int:
    """How many of `values` are not matched by one of `other`, counting repeats (multiset difference)."""
    mine, counts = np.unique(values, return_counts=True)
    theirs, their_counts = np.unique(other, return_counts=True)
    if not len(theirs):
        return int(counts.sum())
    at = np.clip(np.searchsorted(theirs, mine), 0, len(theirs) - 1)
    matched = np.where(theirs[at] == mine, their_counts[at], 0)
    return int(np.maximum(counts - matched, 0).sum())


def _row_changes(store: Store, result: DatasetDiff, manifests: list[dict[str, Any]]) -> DatasetDiff:
    # Every name in the SQL below went through quote_ident; the views are this function's own a and b.
    with duckdb.connect(config={"threads": 2}) as con:
        old_cols, new_cols = (_frame_sql(store, m, con, v) for m, v in zip(manifests, ("a", "b"), strict=True))
        common = [c for c in old_cols if c in new_cols]
        keys = list(result.keys)
        for key in keys:
            if key not in common:
                raise InvalidInputError(f"key column {key!r} is not in both versions; their common columns: "
                                        f"{', '.join(common[:20])}")
        cols = lambda names, t: ", ".join(f"{t}.{quote_ident(c)}" for c in names)  # noqa: E731
        if keys:
            for view, version in (("a", result.versions[0]), ("b", result.versions[1])):
                dupes = _row(con, f"SELECT count(*) - count(DISTINCT ({cols(keys, view)})) FROM {view}")[0]  # noqa: S608
                if dupes:
                    raise InvalidInputError(f"key {', '.join(keys)} repeats in {dupes} rows of version {version}: "
                                            "give --key columns that identify each row")
            using = ", ".join(quote_ident(k) for k in keys)
            added = _row(con, f"SELECT count(*) FROM b ANTI JOIN a USING ({using})")[0]  # noqa: S608
            removed = _row(con, f"SELECT count(*) FROM a ANTI JOIN b USING ({using})")[0]  # noqa: S608
            others = [c for c in common if c not in keys]
            differs = " OR ".join(f"a.{quote_ident(c)}::VARCHAR IS DISTINCT FROM b.{quote_ident(c)}::VARCHAR"
                                  for c in others) or "false"
            changed = _row(con, f"SELECT count(*) FROM a JOIN b USING ({using}) WHERE {differs}")[0]  # noqa: S608
        else:
            # DuckDB hashes each row, numpy compares the two multisets of hashes: half the time of a
            # GROUP BY and FULL OUTER JOIN of a million distinct hashes in SQL (1M rows x 100 columns).
            old_hashes, new_hashes = (
                np.asarray(con.execute(f"SELECT hash({cols(common, t)}) AS h FROM {t}").fetchnumpy()["h"])  # noqa: S608
                for t in ("a", "b"))
            added, removed = _beyond(new_hashes, old_hashes), _beyond(old_hashes, new_hashes)
            changed = None
    notes = list(result.notes)
    if not keys:
        notes.append("rows compared whole (no key columns, --key): a changed row counts as one removed and one "
                     "added row")
    if len(common) < max(len(old_cols), len(new_cols)):
        notes.append(f"rows compared on the {len(common)} columns both versions have")
    return DatasetDiff(**{**result.__dict__, "added": int(added), "removed": int(removed),
                          "changed": None if changed is None else int(changed), "notes": notes})
