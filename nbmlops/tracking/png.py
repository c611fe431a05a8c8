"""A minimal PNG writer for what `log_image` stores most: 8-bit grey, RGB and RGBA arrays.

General encoders try five filters on every row to pick the best (Pillow does); here every row gets
the Up filter (each byte minus the one above it), computed for the whole image in one numpy
subtraction, and zlib compresses at level 1. A photo comes out a few percent larger than Pillow's
(at its fastest level) in about 60% of the time: 3.1 ms against 5.2 ms for 256x256 RGB
(benchmarks/bench_media.py), which keeps `log_image` under its 5 ms goal. The layout follows the
PNG specification (RFC 2083): signature, IHDR, one IDAT, IEND.
"""

from __future__ import annotations

import struct
import zlib

import numpy as np

SIGNATURE = b"\x89PNG\r\n\x1a\n"
LEVEL = 1  # zlib level: speed first, PNG stays lossless
_COLOR_TYPES = {1: 0, 3: 2, 4: 6}  # channels -> PNG colour type: greyscale, truecolour, truecolour with alpha
_UP = 2  # PNG filter type


def encode(pixels: np.ndarray) -> bytes:
    """The PNG of a uint8 array HxW, HxWx3 or HxWx4."""
    height, width = pixels.shape[:2]
    channels = 1 if pixels.ndim == 2 else pixels.shape[2]
    rows = pixels.reshape(height, width * channels)
    filtered = np.empty((height, width * channels + 1), np.uint8)
    filtered[:, 0] = _UP
    filtered[0, 1:] = rows[0]  # the row above the first is taken as zeros
    np.subtract(rows[1:], rows[:-1], out=filtered[1:, 1:])  # uint8: wraps modulo 256, as the filter is defined
    header = struct.pack(">IIBBBBB", width, height, 8, _COLOR_TYPES[channels], 0, 0, 0)
    return b"".join((SIGNATURE, _chunk(b"IHDR", header), _chunk(b"IDAT", zlib.compress(filtered.data, LEVEL)),
                     _chunk(b"IEND", b"")))


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(body, zlib.crc32(kind)))
