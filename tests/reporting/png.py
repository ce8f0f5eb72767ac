"""A minimal PNG reader for the screenshot test (Pillow is not in the lock): 8-bit RGB or RGBA, not interlaced,
which is what Chromium writes. Returns the top rows as a numpy array of shape (rows, width, channels)."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np

SIGNATURE = b"\x89PNG\r\n\x1a\n"
CHANNELS = {2: 3, 6: 4}  # colour type -> channels (RGB, RGBA)


def _paeth(a: int, b: int, c: int) -> int:
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    return a if pa <= pb and pa <= pc else (b if pb <= pc else c)


def read_png_rows(path: Path, max_rows: int | None = None) -> np.ndarray:
    data = path.read_bytes()
    if not data.startswith(SIGNATURE):
        raise ValueError(f"{path} is not a PNG file")
    position, idat, header = len(SIGNATURE), [], None
    while position < len(data):
        (length,) = struct.unpack(">I", data[position : position + 4])
        kind = data[position + 4 : position + 8]
        body = data[position + 8 : position + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat.append(body)
        position += 12 + length
    width, height, depth, colour, _, _, interlace = header
    if depth != 8 or colour not in CHANNELS or interlace:
        raise ValueError(f"{path}: only 8-bit RGB/RGBA non-interlaced PNGs are read here (got {header})")
    bpp = CHANNELS[colour]
    stride = width * bpp
    raw = zlib.decompress(b"".join(idat))
    rows = height if max_rows is None else min(height, max_rows)
    image = np.zeros((rows, stride), dtype=np.uint8)
    previous = np.zeros(stride, dtype=np.int32)
    for y in range(rows):
        start = y * (stride + 1)
        kind, line = raw[start], np.frombuffer(raw, np.uint8, stride, start + 1).astype(np.int32)
        if kind == 0:
            current = line
        elif kind == 1:
            current = np.cumsum(line.reshape(width, bpp), axis=0).reshape(stride) % 256
        elif kind == 2:
            current = (line + previous) % 256
        else:
            current = line.copy()
            values, above = current.tolist(), previous.tolist()
            for i in range(stride):
                left = values[i - bpp] if i >= bpp else 0
                if kind == 3:
                    values[i] = (values[i] + (left + above[i]) // 2) % 256
                else:
                    upper_left = above[i - bpp] if i >= bpp else 0
                    values[i] = (values[i] + _paeth(left, above[i], upper_left)) % 256
            current = np.array(values, dtype=np.int32)
        image[y] = current
        previous = current
    return image.reshape(rows, width, bpp)
