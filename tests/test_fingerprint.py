"""Dataset fingerprints: stable for the same content, changed by any change, cached for folders."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xxhash

from nbmlops.data.fingerprint import DatasetInfo, fingerprint
from nbmlops.errors import InvalidInputError, StoreError

# The module itself (the package may also export a function of the same name).
fp_module = importlib.import_module("nbmlops.data.fingerprint")

ROOT = Path(__file__).resolve().parent.parent
OLD = time.time_ns() - 3600 * 10**9  # an hour ago: older than the cache's racy window

FRAME_CODE = """
import numpy as np, pandas as pd
rng = np.random.default_rng(7)
n = 100_000
frame = pd.DataFrame({
    "x": rng.normal(size=n), "k": rng.integers(0, 1000, n),
    "s": np.array([f"item-{i % 977}-é" for i in range(n)], dtype=object),
    "c": pd.Categorical(rng.choice(["red", "green", "blue"], n)),
    "m": pd.array(np.where(np.arange(n) % 13 == 0, None, np.arange(n)), dtype="Int64"),
    "t": pd.date_range("2024-01-01", periods=n, freq="min", tz="UTC"),
})
frame.loc[5, "x"] = np.nan
objects = np.full(n, "z", dtype=object)
for i, value in enumerate([None, float("nan"), {"b", "a", "c"}, b"raw", 3, 2.5, ("t", 1)]):
    objects[i] = value  # a set's iteration order depends on the process's hash salt
frame["o"] = objects
"""


def make_frame() -> pd.DataFrame:
    """A 100k-row frame with numbers, strings, categories, nulls, timestamps and Python objects."""
    scope: dict[str, object] = {}
    exec(FRAME_CODE, scope)  # noqa: S102 - this file's own code, also run in a second interpreter
    return scope["frame"]  # type: ignore[return-value]


@pytest.fixture
def frame() -> pd.DataFrame:
    return make_frame()


def fp(obj: object, **kwargs: object) -> str:
    return fingerprint(obj, profile=False, **kwargs).fingerprint  # type: ignore[arg-type]


def run_child(code: str, *args: str) -> str:
    """Run `code` in a fresh interpreter (new hash salt) and return what it prints."""
    env = {**os.environ, "PYTHONHASHSEED": "random", "PYTHONPATH": str(ROOT)}
    result = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                            env=env, timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def write_tree(root: Path, files: dict[str, bytes], mtime_ns: int = OLD) -> Path:
    """Write `files` (relative path -> bytes) under root, dated `mtime_ns`."""
    for rel, data in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        os.utime(path, ns=(mtime_ns, mtime_ns))
    return root


# ---------------------------------------------------------------- stability


def test_same_frame_same_fingerprint_in_a_fresh_process(frame: pd.DataFrame) -> None:
    here = fingerprint(frame, profile=False)
    child = run_child(FRAME_CODE + "from nbmlops.data.fingerprint import fingerprint\n"
                      "print(fingerprint(frame, profile=False).fingerprint)")
    assert len(here.fingerprint) == 32 and int(here.fingerprint, 16) >= 0
    assert child == here.fingerprint
    assert fp(frame.copy()) == here.fingerprint == fp(frame)


def test_same_file_and_folder_same_fingerprint_in_a_fresh_process(tmp_path: Path) -> None:
    root = write_tree(tmp_path / "data", {"a.csv": b"x,y\n1,2\n", "sub/b.bin": bytes(range(256))})
    code = ("import sys; from nbmlops.data.fingerprint import fingerprint\n"
            "print(fingerprint(sys.argv[1]).fingerprint, fingerprint(sys.argv[2]).fingerprint)")
    assert run_child(code, str(root), str(root / "a.csv")).split() == [fp(root), fp(root / "a.csv")]


def test_profile_does_not_change_the_fingerprint(frame: pd.DataFrame) -> None:
    with_profile = fingerprint(frame)
    assert with_profile.fingerprint == fp(frame)
    assert fingerprint(frame, profile=False).profile == {}
    json.dumps(with_profile.profile, allow_nan=False)  # JSON-safe: no NaN anywhere


def test_nan_bit_patterns_hash_alike_but_signed_zeros_do_not() -> None:
    quiet = np.array([1.0, np.nan])
    payload = quiet.copy()
    payload.view(np.uint64)[1] = 0xFFF8_0000_0000_0001  # a negative NaN with a payload
    assert np.isnan(payload[1])
    assert fp(quiet) == fp(payload)
    assert fp(pd.Series(quiet)) == fp(pd.Series(payload))
    assert fp(np.array([0.0])) != fp(np.array([-0.0]))


def test_layout_and_byte_order_do_not_matter_only_values() -> None:
    c_order = np.arange(12.0).reshape(3, 4)
    assert fp(np.asfortranarray(c_order)) == fp(c_order)
    assert fp(c_order.astype(">f8")) == fp(c_order)
    assert fp(np.arange(20)[::2]) == fp(np.arange(0, 20, 2))


def test_format_1_digests_are_pinned() -> None:
    # Stored fingerprints must keep matching: if this fails, the encoding changed; bump FORMAT.
    assert fp(np.arange(10, dtype="int64")) == "5f1b18c8351df94b55c00407fa14d5a7"
    assert fp(pd.DataFrame({"a": [1.5, np.nan], "b": [1, 2]})) == "4bb2ffc2bf8d2e9e9fae76f87d187ba1"


def test_range_index_hashes_like_the_same_int_index() -> None:
    ranged = pd.DataFrame({"a": [1.0, 2.0, 3.0]})
    assert fp(ranged.set_axis(pd.Index([0, 1, 2], dtype="int64"))) == fp(ranged)


# ---------------------------------------------------------------- sensitivity


def _set(column: str, value: object, row: int = -1) -> Callable[[pd.DataFrame], pd.DataFrame]:
    def change(df: pd.DataFrame) -> pd.DataFrame:
        df.loc[df.index[row], column] = value
        return df
    return change


def _other_last_category(df: pd.DataFrame) -> pd.DataFrame:
    df.loc[df.index[-1], "c"] = "red" if df["c"].iloc[-1] != "red" else "blue"
    return df


CHANGES: dict[str, Callable[[pd.DataFrame], pd.DataFrame]] = {
    "last float by one ulp": lambda df: df.assign(
        x=np.append(df["x"].to_numpy()[:-1], np.nextafter(df["x"].iloc[-1], np.inf))),
    "last int": lambda df: df.assign(k=np.append(df["k"].to_numpy()[:-1], df["k"].iloc[-1] + 1)),
    "last string": _set("s", "item-0-e"),
    "last category": _other_last_category,
    "last nullable int to NA": _set("m", pd.NA),
    "last timestamp": _set("t", pd.Timestamp("1999-01-01", tz="UTC")),
    "NaN to None in an object column": _set("o", None, row=1),
    "last object": _set("o", "y"),
    "two rows swapped": lambda df: df.iloc[[1, 0, *range(2, len(df))]].set_axis(df.index),
    "column renamed": lambda df: df.rename(columns={"x": "x2"}),
    "columns reordered": lambda df: df[["k", "x", *df.columns[2:]]],
    "int column to float": lambda df: df.assign(k=df["k"].astype("float64")),
    "index shifted": lambda df: df.set_axis(df.index + 1),
    "index renamed": lambda df: df.rename_axis("row"),
    "one column dropped": lambda df: df.drop(columns="t"),
    "last row dropped": lambda df: df.iloc[:-1],
    "categories reordered": lambda df: df.assign(c=df["c"].cat.reorder_categories(
        sorted(df["c"].cat.categories, reverse=True))),
}


@pytest.mark.parametrize("change", CHANGES.values(), ids=CHANGES.keys())
def test_any_change_changes_the_fingerprint(frame: pd.DataFrame,
                                            change: Callable[[pd.DataFrame], pd.DataFrame]) -> None:
    base = fp(frame)
    changed = change(frame.copy())
    assert fp(changed) != base
    assert fp(frame) == base  # the original is untouched and still hashes the same


def objects(*values: object) -> np.ndarray:
    """A 1-D object array holding exactly `values` (lists stay cells, not dimensions)."""
    arr = np.empty(len(values), dtype=object)
    for i, value in enumerate(values):
        arr[i] = value
    return arr


def test_object_nulls_and_types_are_told_apart() -> None:
    variants = [(None,), (float("nan"),), (pd.NA,), (pd.NaT,), ("None",), ("nan",), (0,), (0.0,),
                (False,), (b"",), ("",), ([],), ((),), ({},), (np.array([1]),),
                (np.array([1.0]),), ("a", "b"), ("ab",), ("a", "b", None), (None, "a", "b"),
                ("a", None, "b"), ({1, 2},), ([1, 2],), (np.float32(1.5),), (1.5, 2)]
    assert len({fp(objects(*v)) for v in variants}) == len(variants)
    assert fp(objects(np.float32(1.5))) == fp(objects(1.5))  # same value, same encoding


def test_dtype_and_shape_are_part_of_the_content() -> None:
    ones = [np.ones(4, "int64"), np.ones(4, "float64"), np.ones(4, "int32"), np.ones(4, "bool"),
            np.ones((2, 2), "int64"), np.ones((4, 1), "int64"), np.ones((1, 4), "int64")]
    assert len({fp(a) for a in ones}) == len(ones)
    assert fp(pd.Series([1, 2])) != fp(pd.Series([1.0, 2.0]))
    assert fp(pd.Series([1, None], dtype="Int64")) != fp(pd.Series([1, 0], dtype="Int64"))


def test_multiindex_frames_and_series_names() -> None:
    index = pd.MultiIndex.from_tuples([("a", 1), ("a", 2), ("b", 1)], names=["g", "i"])
    df = pd.DataFrame({"v": [1.0, 2.0, 3.0]}, index=index)
    swapped = df.set_axis(index.set_levels([["b", "a"], [1, 2]], level=[0, 1],
                                           verify_integrity=False))
    assert fp(df) == fp(df.copy()) != fp(swapped)
    assert fp(pd.Series([1, 2], name="a")) != fp(pd.Series([1, 2], name="b"))
    assert fp(pd.Series([1, 2])) != fp(pd.DataFrame({0: [1, 2]}))  # kinds differ by design


# ---------------------------------------------------------------- arrays

ARRAYS = {
    "int8": np.arange(-5, 5, dtype="int8"),
    "uint64": np.array([0, 2**64 - 1], dtype="uint64"),
    "float16": np.array([1.5, np.nan, np.inf], dtype="float16"),
    "float32-2d": np.arange(12, dtype="float32").reshape(4, 3),
    "complex": np.array([1 + 2j, np.nan + 0j]),
    "bool": np.array([True, False, True]),
    "datetime": np.array(["2020-01-01", "NaT", "2021-06-01"], dtype="datetime64[D]"),
    "timedelta": np.array([1, 2, 3], dtype="timedelta64[s]"),
    "unicode": np.array(["a", "éé", ""]),
    "bytes": np.array([b"a", b"bc"]),
    "object-2d": np.array([["a", None], [1, 2.5]], dtype=object),
    "scalar": np.array(3.25),
    "empty": np.empty((0, 3)),
    "3d": np.arange(24.0).reshape(2, 3, 4),
    "longdouble": np.array([1.5, 2.5], dtype=np.longdouble),
    "structured": np.array([(1, 2.0)], dtype=[("a", "<i4"), ("b", "<f8")]),
}


@pytest.mark.parametrize("arr", ARRAYS.values(), ids=ARRAYS.keys())
def test_arrays_of_every_dtype_and_shape(arr: np.ndarray) -> None:
    info = fingerprint(arr)
    assert info.kind == "array" and info.fingerprint == fp(arr.copy())
    assert info.schema == {"": f"{arr.dtype}[{','.join(map(str, arr.shape))}]"}
    assert info.rows == (arr.shape[0] if arr.ndim else None)
    assert info.columns == {1: 1, 2: arr.shape[1] if arr.ndim == 2 else None}.get(arr.ndim)
    expected_columns = [str(j) for j in range(arr.shape[1])] if arr.ndim == 2 else [""]
    assert list(info.profile) == expected_columns
    json.dumps(info.profile, allow_nan=False)
    flat = arr.copy().reshape(-1)
    other = next((v for v in flat[:-1] if v != flat[-1]), None) if flat.size > 1 else None
    if other is not None:  # the last value changed to another of the array's values
        flat[-1] = other
        assert fp(flat.reshape(arr.shape)) != info.fingerprint


@pytest.mark.skipif(not hasattr(getattr(np, "dtypes", None), "StringDType"),
                    reason="needs numpy 2")
def test_numpy_string_dtype() -> None:
    strings = np.array(["a", "bb", "ccc"], dtype=np.dtypes.StringDType())
    assert fp(strings) == fp(strings.copy()) != fp(np.array(["a", "bb", "cc"],
                                                            dtype=np.dtypes.StringDType()))
    assert fingerprint(strings).profile[""]["distinct"] == 3


def test_array_profile_columns() -> None:
    arr = np.array([[1.0, 10], [2.0, 20], [3.0, 30]])
    profile = fingerprint(arr).profile
    assert profile["0"]["mean"] == 2.0 and profile["1"]["max"] == 30.0
    assert fingerprint(np.arange(24).reshape(2, 3, 4)).profile[""]["count"] == 24


# ---------------------------------------------------------------- profile


def test_profile_of_a_known_frame() -> None:
    df = pd.DataFrame({
        "n": [1.0, 2.0, 3.0, 4.0, np.nan, np.inf],
        "i": [5, 1, 4, 2, 3, 6],
        "s": ["a", "b", "a", None, "c", "a"],
        "b": [True, False, True, True, False, True],
        "t": pd.to_datetime(["2024-01-02", None, "2024-01-01", "2024-03-01", None, "2024-02-01"]),
    })
    info = fingerprint(df)
    assert (info.kind, info.rows, info.columns) == ("dataframe", 6, 5)
    assert info.schema == {"n": "float64", "i": "int64", "s": str(df["s"].dtype), "b": "bool",
                           "t": str(df["t"].dtype)}  # "str" and "datetime64[us]" in pandas 3
    n = info.profile["n"]
    finite = np.array([1.0, 2.0, 3.0, 4.0])
    counts, edges = np.histogram(finite, bins=20)
    assert n == {
        "type": "numeric", "count": 5, "nulls": 1, "infinite": 1, "min": 1.0, "max": 4.0,
        "mean": 2.5, "std": pytest.approx(np.std(finite, ddof=1)),
        **{k: pytest.approx(np.quantile(finite, q)) for k, q in fp_module.QUANTILES.items()},
        "histogram": {"edges": pytest.approx(edges.tolist()), "counts": counts.tolist()}}
    assert (n["p01"], n["p50"], n["p99"]) == (pytest.approx(1.03), 2.5, pytest.approx(3.97))
    i = info.profile["i"]
    assert (i["min"], i["max"], i["mean"], i["nulls"]) == (1, 6, 3.5, 0)
    assert isinstance(i["min"], int)
    assert sum(i["histogram"]["counts"]) == 6
    assert info.profile["s"] == {"type": "categorical", "count": 5, "nulls": 1, "distinct": 3,
                                 "top": [["a", 3], ["b", 1], ["c", 1]]}
    assert info.profile["b"]["top"] == [[True, 4], [False, 2]]
    assert info.profile["t"] == {"type": "temporal", "count": 4, "nulls": 2,
                                 "min": "2024-01-01 00:00:00", "max": "2024-03-01 00:00:00"}


def test_profile_edge_cases() -> None:
    df = pd.DataFrame({"const": [7.0] * 3, "empty": [np.nan] * 3,
                       "masked": pd.array([1, None, 3], dtype="Int64"),
                       "cat": pd.Categorical(["x", "y", "x"], categories=["z", "y", "x"]),
                       "lists": pd.Series([[1], [1], [2]], dtype=object)})
    profile = fingerprint(df).profile
    assert profile["const"]["histogram"]["counts"] == np.histogram([7.0] * 3, 20)[0].tolist()
    assert profile["const"]["std"] == 0.0
    assert profile["empty"]["count"] == 0 and profile["empty"]["nulls"] == 3
    assert profile["empty"]["mean"] is None and profile["empty"]["histogram"] is None
    assert (profile["masked"]["nulls"], profile["masked"]["mean"]) == (1, 2.0)
    assert profile["cat"]["distinct"] == 2 and profile["cat"]["top"] == [["x", 2], ["y", 1]]
    assert profile["lists"]["top"] == [["[1]", 2], ["[2]", 1]]
    json.dumps(profile, allow_nan=False)


def test_duplicate_column_names_get_distinct_keys() -> None:
    df = pd.DataFrame([[1, 2, 3]], columns=["a", "a", "b"])
    info = fingerprint(df)
    assert list(info.schema) == list(info.profile) == ["a", "a.1", "b"]


# ---------------------------------------------------------------- polars


def test_polars_frames_and_series() -> None:
    pl = pytest.importorskip("polars")
    df = pl.DataFrame({"x": [1.5, None, float("nan"), 4.0], "k": [1, 2, 3, 4],
                       "s": ["a", None, "é", "a"], "l": [[1], [2, 3], None, []],
                       "e": pl.Series(["u", "v", "u", None], dtype=pl.Enum(["u", "v"]))})
    info = fingerprint(df)
    assert (info.kind, info.rows, info.columns) == ("polars", 4, 5)
    assert info.schema["x"] == "Float64" and info.schema["s"] == "String"
    assert info.fingerprint == fp(df.clone()) == fp(df.rechunk())
    assert info.profile["x"]["nulls"] == 2 and info.profile["x"]["mean"] == 2.75
    assert info.profile["s"]["top"] == [["a", 2], ["é", 1]]
    assert info.profile["k"]["max"] == 4
    json.dumps(info.profile, allow_nan=False)
    changes = [df.with_columns(pl.Series("k", [1, 2, 3, 5])), df.rename({"x": "y"}),
               df.select(["k", "x", "s", "l", "e"]), df.with_columns(pl.col("k").cast(pl.Float64)),
               df.with_columns(pl.Series("x", [1.5, 0.0, float("nan"), 4.0])),
               df.with_columns(pl.Series("s", ["a", "", "é", "a"])),
               df.with_columns(pl.Series("l", [[1], [2, 3], [], []])), df.reverse()]
    assert len({fp(c) for c in changes} | {info.fingerprint}) == len(changes) + 1
    series = fingerprint(df["s"])
    assert (series.kind, series.rows, series.columns) == ("polars", 4, 1)
    assert series.fingerprint != info.fingerprint
    with pytest.raises(InvalidInputError, match="collect"):
        fingerprint(df.lazy())


def test_importing_the_module_does_not_import_polars() -> None:
    code = "import sys, nbmlops.data.fingerprint; print('polars' in sys.modules)"
    assert run_child(code) == "False"


# ---------------------------------------------------------------- files and folders


def test_file_fingerprint_is_the_xxh128_of_its_bytes(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    data = os.urandom((8 << 20) + 3)  # crosses the 8 MiB read buffer
    path = tmp_path / "big.bin"
    path.write_bytes(data)
    info = fingerprint(str(path))
    assert info == DatasetInfo(xxhash.xxh3_128(data).hexdigest(), "file", None, None, {}, {},
                               len(data), str(path))
    assert fingerprint(path) == info
    monkeypatch.chdir(tmp_path)
    assert fingerprint("big.bin").source == os.path.join(os.getcwd(), "big.bin")
    path.write_bytes(data[:-1] + bytes([data[-1] ^ 1]))  # one bit of the last byte
    assert fp(path) != info.fingerprint


def test_folder_fingerprint_follows_names_and_contents(tmp_path: Path) -> None:
    root = write_tree(tmp_path / "d", {"a.txt": b"alpha", "sub/b.txt": b"beta", "c.txt": b""})
    info = fingerprint(root)
    assert (info.kind, info.files, info.size_bytes, info.source) == ("directory", 3, 9, str(root))
    assert info.schema == {} and info.profile == {}
    seen = {info.fingerprint}
    (root / "sub" / "b.txt").rename(root / "sub" / "b2.txt")
    seen.add(fp(root))
    (root / "new.txt").write_bytes(b"")
    seen.add(fp(root))
    (root / "new.txt").write_bytes(b"x")
    seen.add(fp(root))
    (root / "sub" / "b2.txt").rename(root / "b2.txt")
    seen.add(fp(root))
    assert len(seen) == 5
    (root / "empty").mkdir()
    assert fp(root) in seen  # empty folders are not content


def test_folder_fingerprint_is_independent_of_where_it_lives(tmp_path: Path) -> None:
    files = {"x/1.csv": b"1", "x/2.csv": b"2", "y.csv": b"3"}
    assert fp(write_tree(tmp_path / "one", files)) == fp(write_tree(tmp_path / "two", files))


def test_cache_trusts_unchanged_size_mtime_and_inode(tmp_path: Path) -> None:
    root = write_tree(tmp_path / "d", {f"f{i}.txt": f"file {i}".encode() for i in range(5)})
    cache = tmp_path / "cache" / "digests.sqlite"
    first = fp(root, cache_path=cache)
    assert first == fp(root)
    # Rewrite a file in place with the same size and restore its mtime: a cached run cannot tell,
    # which proves it did not read the file again; an uncached run sees the new bytes.
    target = root / "f3.txt"
    with open(target, "r+b") as f:
        f.write(b"FILE")
    os.utime(target, ns=(OLD, OLD))
    assert fp(root, cache_path=cache) == first
    assert fp(root) != first


def test_cache_rehashes_only_changed_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = write_tree(tmp_path / "d", {f"s{i % 3}/f{i}.txt": bytes([i]) * i for i in range(30)})
    cache = tmp_path / "digests.sqlite"
    reads: list[str] = []
    real = fp_module._file_digest

    def counting(path: str, buffer: bytearray) -> bytes:
        reads.append(path)
        return real(path, buffer)

    monkeypatch.setattr(fp_module, "_file_digest", counting)
    first = fingerprint(root, cache_path=cache)
    assert len(reads) == 30
    reads.clear()
    assert fingerprint(root, cache_path=cache) == first
    assert reads == []
    changed = root / "s1" / "f7.txt"
    write_tree(root, {"s1/f7.txt": b"changed"}, mtime_ns=OLD + 10**9)
    second = fingerprint(root, cache_path=cache)
    assert reads == [str(changed)] and second.fingerprint != first.fingerprint
    assert second.fingerprint == fp(root)
    reads.clear()
    fingerprint(root / "s1" / "f7.txt", cache_path=cache)  # single files use the cache too
    assert reads == []


def test_cache_does_not_trust_files_written_just_now(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    root = write_tree(tmp_path / "d", {"fresh.txt": b"1"}, mtime_ns=time.time_ns())
    calls: list[str] = []
    real = fp_module._file_digest
    monkeypatch.setattr(fp_module, "_file_digest", lambda p, b: calls.append(p) or real(p, b))
    for _ in range(2):
        fingerprint(root, cache_path=tmp_path / "c.sqlite")
    assert len(calls) == 2  # a write later in the same mtime tick would otherwise go unseen


def test_cache_shared_by_concurrent_processes(tmp_path: Path) -> None:
    root = write_tree(tmp_path / "d", {f"f{i}.bin": os.urandom(1000) for i in range(200)})
    cache = tmp_path / "shared.sqlite"
    code = ("import sys; from nbmlops.data.fingerprint import fingerprint\n"
            "for _ in range(3):\n"
            "    print(fingerprint(sys.argv[1], cache_path=sys.argv[2]).fingerprint)")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    children = [subprocess.Popen([sys.executable, "-c", code, str(root), str(cache)], env=env,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                for _ in range(4)]
    outputs = [child.communicate(timeout=120) for child in children]
    assert all(child.returncode == 0 for child in children), outputs
    assert {line for out, _ in outputs for line in out.split()} == {fp(root)}


def test_unusable_cache_says_so(tmp_path: Path) -> None:
    root = write_tree(tmp_path / "d", {"a": b"1"})
    cache = tmp_path / "cache.sqlite"
    cache.write_bytes(b"this is not a database" * 100)
    with pytest.raises(StoreError, match="cache.sqlite cannot be used.*delete it"):
        fingerprint(root, cache_path=cache)


# ---------------------------------------------------------------- bad input


class Opaque:
    pass


@pytest.mark.parametrize("obj, message", [
    ([1, 2, 3], "cannot fingerprint a list: pass a pandas DataFrame or Series, a numpy array"),
    ({"a": [1]}, "cannot fingerprint a dict"),
    (None, "cannot fingerprint a NoneType"),
    (3.5, "cannot fingerprint a float"),
    ("", "does not exist: pass the path of an existing file or folder"),
    ("/no/such/place.csv", "'/no/such/place.csv' does not exist"),
    (Path("/dev/null"), "is not a regular file or folder"),
    (pd.Series([Opaque()]), "Opaque values, they have no stable repr: convert the column"),
    (np.array([(1, None)], dtype=[("a", "i4"), ("b", "O")]), "structured arrays with object"),
], ids=["list", "dict", "none", "float", "empty-path", "missing", "device", "opaque", "structured"])
def test_bad_inputs_say_what_to_do(obj: object, message: str) -> None:
    with pytest.raises(InvalidInputError, match=message) as info:
        fingerprint(obj)
    assert "\n" not in str(info.value)


@pytest.mark.skipif(not os.path.isfile("/proc/self/mem"), reason="needs Linux /proc")
def test_unreadable_file_is_reported() -> None:
    # /proc/self/mem is a regular file that fails with EIO at offset 0, even for root.
    with pytest.raises(InvalidInputError, match="cannot read /proc/self/mem: Input/output error"):
        fingerprint("/proc/self/mem")
