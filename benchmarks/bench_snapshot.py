"""Dataset snapshot speed against its targets: a 1 GB numeric DataFrame stored, logged again, loaded.

    .venv/bin/python benchmarks/bench_snapshot.py [--quick] [--gb 1.0]

Targets (issue 8): a snapshot of a 1 GB numeric DataFrame in <= 5 s; logging the same content again
costs no more than fingerprinting it. Also: a folder of 200 x 1 MB files where one file changed.
Each figure is measured in a fresh temporary store; prints, never asserts.
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import nbmlops  # noqa: E402
from nbmlops.data import snapshots  # noqa: E402
from nbmlops.data.fingerprint import fingerprint  # noqa: E402

TARGET_SNAPSHOT_S = 5.0


def timed(call: Callable[[], Any]) -> tuple[float, Any]:
    """Wall time of one call, and its result."""
    gc.collect()
    start = time.perf_counter()
    result = call()
    return time.perf_counter() - start, result


def bench_frame(gigabytes: float, root: Path) -> None:
    columns = 8
    rows = int(gigabytes * 1e9 / 8 / columns)
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({f"c{i}": rng.random(rows) for i in range(columns)})
    size = frame.memory_usage(index=False).sum()
    print(f"numeric DataFrame: {rows:,} rows x {columns} float64 columns = {size / 1e9:.2f} GB", flush=True)
    store = nbmlops.init(root / "frame")

    hash_s, info = timed(lambda: fingerprint(frame, profile=False))
    print(f"  fingerprint (hash only)                 {hash_s:6.2f} s  {size / hash_s / 1e9:.2f} GB/s", flush=True)
    def raw_write() -> None:  # the floor: the same bytes written plainly, no format, no hash
        with open(root / "raw.bin", "wb") as out:
            for column in frame.columns:
                frame[column].to_numpy().tofile(out)

    raw_s, _ = timed(raw_write)
    (root / "raw.bin").unlink()
    os.sync()  # the raw write's dirty pages are flushed now, not during the next figure
    print(f"  raw write of the same bytes (floor)     {raw_s:6.2f} s  {size / raw_s / 1e9:.2f} GB/s", flush=True)
    first_s, stored = timed(lambda: snapshots.snapshot(store, frame, info))
    ok = "ok" if first_s <= TARGET_SNAPSHOT_S * gigabytes else "below target"
    print(f"  snapshot stored (Parquet, {stored.files} parts)       {first_s:6.2f} s  {size / first_s / 1e9:.2f} GB/s  "
          f"target <= {TARGET_SNAPSHOT_S * gigabytes:.1f} s: {ok}; {first_s / raw_s:.2f} x the raw write; "
          f"on disk {stored.size_bytes / 1e9:.2f} GB", flush=True)
    again_s, reused = timed(lambda: snapshots.snapshot(store, frame, info))
    assert reused.reused
    print(f"  snapshot of the same content again      {again_s:6.3f} s  "
          f"({again_s / hash_s:.3f} x the hash-only fingerprint)", flush=True)
    plain, relog = [], []
    with nbmlops.start_run():
        for _ in range(2):  # alternated, best of two each: other work on the machine moves both alike
            plain.append(timed(lambda: nbmlops.log_dataset(frame, "big"))[0])
            relog.append(timed(lambda: nbmlops.log_dataset(frame, "big", snapshot=True))[0])
    plain_s, relog_s = min(plain), min(relog)
    print(f"  log_dataset, no snapshot (hash+profile) {plain_s:6.2f} s", flush=True)
    ok = "ok" if relog_s <= plain_s * 1.05 else "above"
    print(f"  log_dataset(snapshot=True), same content {relog_s:6.2f} s  "
          f"({relog_s / plain_s:.2f} x log_dataset without snapshot: {ok})", flush=True)
    load_s, back = timed(lambda: nbmlops.load_dataset("big"))
    assert back.shape == frame.shape
    print(f"  load_dataset (read + fingerprint check) {load_s:6.2f} s", flush=True)
    del back
    gc.collect()


def bench_folder(root: Path, files: int = 200, file_mb: int = 1) -> None:
    folder = root / "folder-data"
    folder.mkdir()
    for i in range(files):
        (folder / f"{i:04d}.bin").write_bytes(os.urandom(file_mb << 20))
    time.sleep(2.1)  # older than the digest cache's racy window, as real data is
    print(f"folder: {files} files x {file_mb} MB", flush=True)
    nbmlops.init(root / "folder")
    with nbmlops.start_run():
        first_s, _ = timed(lambda: nbmlops.log_dataset(folder, "files", snapshot=True))
        (folder / "0007.bin").write_bytes(os.urandom(file_mb << 20))
        changed_s, _ = timed(lambda: nbmlops.log_dataset(folder, "files", snapshot=True))
        same_s = min(timed(lambda: nbmlops.log_dataset(folder, "files", snapshot=True))[0] for _ in range(3))
        plain_s = min(timed(lambda: nbmlops.log_dataset(folder, "files"))[0] for _ in range(3))
    print(f"  first snapshot                          {first_s:6.2f} s", flush=True)
    print(f"  after one file changed (stores 1 file)  {changed_s:6.2f} s", flush=True)
    print(f"  same content again                      {same_s:6.3f} s  "
          f"({same_s / plain_s:.2f} x log_dataset without snapshot, {plain_s:.3f} s)", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="0.1 GB and 40 files: a smoke run")
    parser.add_argument("--gb", type=float, default=1.0, help="size of the DataFrame in GB")
    args = parser.parse_args()
    print(f"load average at start: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores", flush=True)
    with tempfile.TemporaryDirectory(prefix="nbmlops-bench-snapshot-") as tmp:
        bench_frame(0.1 if args.quick else args.gb, Path(tmp))
        bench_folder(Path(tmp), files=40 if args.quick else 200)


if __name__ == "__main__":
    main()
