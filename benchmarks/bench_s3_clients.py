"""Which S3 client the team store uses for files: obstore or s3fs, by measured throughput.

Uploads and downloads one file of SIZE MB to moto's S3 server (tests/services.py) with each client,
as the team store does it (a stream from a file, multipart for large files; a streamed download into
a file), and prints MB/s. Both clients must be importable by the Python running this (s3fs is not a
dependency of nbmlops: `python -m venv /tmp/s3v && /tmp/s3v/bin/pip install s3fs obstore moto[server]
boto3`, then run it with that Python and PYTHONPATH=. from the repository root).

    python benchmarks/bench_s3_clients.py [--size-mb 512] [--reps 3]

Measured on this project's 2-core machine (256 MB, best of 2, 2026-12-05):
    obstore  up 116.4 MB/s   down 496.2 MB/s
    s3fs     up  62.4 MB/s   down 214.3 MB/s
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.services import s3  # noqa: E402


def _obstore(env: dict[str, str], source: Path, target: Path) -> tuple[float, float]:
    import obstore
    from obstore.store import S3Store

    store = S3Store("bench", config={"endpoint": env["AWS_ENDPOINT_URL"], "access_key_id": env["AWS_ACCESS_KEY_ID"],
                                     "secret_access_key": env["AWS_SECRET_ACCESS_KEY"],
                                     "region": env["AWS_DEFAULT_REGION"], "virtual_hosted_style_request": False},
                    client_options={"allow_http": True})
    start = time.perf_counter()
    with open(source, "rb") as f:
        obstore.put(store, "obstore/blob", f, chunk_size=8 << 20, max_concurrency=8)
    up = time.perf_counter() - start
    start = time.perf_counter()
    with open(target, "wb") as out:
        for chunk in obstore.get(store, "obstore/blob").stream(min_chunk_size=8 << 20):
            out.write(chunk)
    return up, time.perf_counter() - start


def _s3fs(env: dict[str, str], source: Path, target: Path) -> tuple[float, float]:
    import s3fs

    fs = s3fs.S3FileSystem(key=env["AWS_ACCESS_KEY_ID"], secret=env["AWS_SECRET_ACCESS_KEY"],
                           client_kwargs={"endpoint_url": env["AWS_ENDPOINT_URL"],
                                          "region_name": env["AWS_DEFAULT_REGION"]})
    start = time.perf_counter()
    fs.put_file(str(source), "bench/s3fs/blob")
    up = time.perf_counter() - start
    start = time.perf_counter()
    fs.get_file("bench/s3fs/blob", str(target))
    return up, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=512)
    parser.add_argument("--reps", type=int, default=3)
    args = parser.parse_args()
    size = args.size_mb << 20
    with s3() as server, tempfile.TemporaryDirectory() as tmp:
        env = server.env()
        os.environ.update(env)
        server.create_bucket("bench")
        source, target = Path(tmp) / "source", Path(tmp) / "target"
        with open(source, "wb") as f:
            for _ in range(args.size_mb):
                f.write(os.urandom(1 << 20))
        print(f"{args.size_mb} MB to and from moto's S3 server on 127.0.0.1, best of {args.reps}")
        for name, client in (("obstore", _obstore), ("s3fs", _s3fs)):
            times = [client(env, source, target) for _ in range(args.reps)]
            assert target.stat().st_size == size
            up, down = min(t[0] for t in times), min(t[1] for t in times)
            print(f"{name:8} up {size / up / 1e6:7.1f} MB/s   down {size / down / 1e6:7.1f} MB/s")


if __name__ == "__main__":
    main()
