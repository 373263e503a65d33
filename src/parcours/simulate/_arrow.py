"""Vectorised Arrow builders: ids, fixed-width strings, decimals, timestamps, lookups.

No Python loop per row: strings are built as byte matrices and handed to Arrow as
buffers, or taken from small pools with ``Array.take``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)


def fixed_width(prefix: str, body: np.ndarray) -> pa.StringArray:
    """Strings ``prefix + row`` from an ``(n, w)`` uint8 matrix of ASCII bytes."""
    pre = np.frombuffer(prefix.encode(), dtype=np.uint8)
    n, w = body.shape
    width = len(pre) + w
    data = np.empty((n, width), dtype=np.uint8)
    data[:, : len(pre)] = pre
    data[:, len(pre):] = body
    offsets = np.arange(0, (n + 1) * width, width, dtype=np.int64)
    if offsets[-1] < 2**31:
        return pa.Array.from_buffers(pa.string(), n, [None, pa.py_buffer(offsets.astype(np.int32)),
                                                      pa.py_buffer(data)])
    return pa.Array.from_buffers(pa.large_string(), n, [None, pa.py_buffer(offsets),
                                                        pa.py_buffer(data)]).cast(pa.string())


def digits(values: np.ndarray, width: int) -> np.ndarray:
    """Zero-padded decimal digits of non-negative integers as an ``(n, width)`` byte matrix."""
    powers = 10 ** np.arange(width - 1, -1, -1, dtype=np.int64)
    return ((np.asarray(values, dtype=np.int64)[:, None] // powers) % 10 + 48).astype(np.uint8)


def number_ids(prefix: str, numbers: np.ndarray, width: int) -> pa.StringArray:
    """``prefix`` + zero-padded number, e.g. ``C0000042``; widens if a number needs it."""
    numbers = np.asarray(numbers, dtype=np.int64)
    if len(numbers):
        width = max(width, len(str(int(numbers.max()))))
    return fixed_width(prefix, digits(numbers, width))


def hex_ids(prefix: str, values: np.ndarray) -> pa.StringArray:
    """``prefix`` + 16 lower-case hex digits of unsigned 64-bit values."""
    shifts = np.arange(60, -4, -4, dtype=np.uint64)
    nibbles = (np.asarray(values, dtype=np.uint64)[:, None] >> shifts) & np.uint64(15)
    return fixed_width(prefix, _HEX[nibbles.astype(np.intp)])


def mix64(x: np.ndarray, key: int) -> np.ndarray:
    """A bijection of uint64 (splitmix64 finaliser after adding ``key``): distinct in, distinct out."""
    z = np.asarray(x, dtype=np.uint64) + np.uint64(key & 0xFFFFFFFFFFFFFFFF)
    with np.errstate(over="ignore"):
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def money(cents: np.ndarray) -> pa.Array:
    """decimal128(14, 2) from integer cents, exactly (two's-complement 128-bit words)."""
    cents = np.asarray(cents, dtype=np.int64)
    words = np.empty((len(cents), 2), dtype=np.int64)
    words[:, 0] = cents
    words[:, 1] = np.where(cents < 0, -1, 0)
    return pa.Array.from_buffers(pa.decimal128(14, 2), len(cents), [None, pa.py_buffer(words)])


def timestamps(epoch_s: np.ndarray, valid: np.ndarray | None = None) -> pa.Array:
    """UTC timestamps (µs) from float seconds since the epoch, rounded to the second."""
    us = np.round(np.nan_to_num(np.asarray(epoch_s, dtype=np.float64))).astype(np.int64) * 1_000_000
    mask = None if valid is None else ~valid
    return pa.array(us, type=pa.timestamp("us", tz="UTC"), mask=mask)


def floats(values: np.ndarray) -> pa.Array:
    """float64 with NaN as null."""
    values = np.asarray(values, dtype=np.float64)
    return pa.array(values, mask=np.isnan(values))


def ints(values: np.ndarray, valid: np.ndarray | None = None) -> pa.Array:
    mask = None if valid is None else ~valid
    return pa.array(np.asarray(values, dtype=np.int32), type=pa.int32(), mask=mask)


def pick(pool: pa.Array | Sequence[str | None], index: np.ndarray) -> pa.Array:
    """``pool[index]`` with negative indexes giving null."""
    if not isinstance(pool, pa.Array):
        pool = pa.array(list(pool), type=pa.string())
    index = np.asarray(index, dtype=np.int64)
    return pool.take(pa.array(np.maximum(index, 0), mask=index < 0))


def join(*parts: pa.Array | str, sep: str = "") -> pa.Array:
    """Element-wise concatenation; a null part makes the result null."""
    return pc.binary_join_element_wise(*parts, sep)
