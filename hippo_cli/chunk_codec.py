"""A zarr chunk as a ``.hippo`` file: the coding behind :mod:`hippo_cli.numcodecs_codec`
(zarr format 2, numcodecs) and :mod:`hippo_cli.zarr3_codec` (zarr format 3), which import
nothing of each other and add only their library's interface. Imports no zarr or numcodecs.

A chunk (n,) is coded as the one channel of a ``.hippo`` file, named after the chunk's dtype
(``<f4``, ``<i2``, ...): a plain file ``hippo`` reads, from which a decoder that is not told
the dtype (numcodecs' ``decode(buf)``) gets it back. What the bound means per dtype is in
:mod:`hippo_cli.numcodecs_codec`.
"""

from __future__ import annotations

import io
import math

import numpy as np

from .codec import HippoHeader, HippoReader, HippoWriter
from .codec.channel import LEVELS
from .errors import DataError, ParameterError

CODEC_ID = "hippo"
#: integers up to this magnitude are exact in float64
_MAX_EXACT_INT = 2**53


def check_config(max_error: object, level: object) -> tuple[float, str]:
    """(max_error, level) checked: a finite number > 0 and one of the levels; else a
    ParameterError."""
    if level not in LEVELS:
        raise ParameterError(f"level must be one of {', '.join(LEVELS)}, got {level!r}",
                             option="level")
    if isinstance(max_error, bool) or not isinstance(max_error, (int, float, np.number)):
        raise ParameterError(f"max_error must be a number > 0, got {max_error!r}",
                             option="max_error")
    bound = float(max_error)
    if not (math.isfinite(bound) and bound > 0):
        raise ParameterError(f"max_error must be a finite number > 0, got {max_error!r}",
                             option="max_error")
    return bound, str(level)


def _codable(dtype: np.dtype) -> bool:
    # float128 and float96 do not fit float64; bool, complex, datetime are not numbers here
    return dtype.kind in "iu" or (dtype.kind == "f" and dtype.itemsize <= 8)


def chunk_dtype(dtype: np.dtype) -> np.dtype:
    """``dtype`` if this codec codes it (integers, float16/32/64), else a ParameterError."""
    if _codable(dtype):
        return dtype
    raise ParameterError(f"the hippo codec codes float16/32/64 and integer chunks, "
                         f"not {dtype}")


def _stored_dtype(name: str) -> np.dtype:
    """The dtype a chunk's channel names, or a DataError."""
    try:
        dtype = np.dtype(name)
    except TypeError:
        dtype = None
    if dtype is None or not _codable(dtype):
        raise DataError(f"not a hippo chunk: its channel names no dtype this codec codes "
                        f"({name[:40]!r})")
    return dtype


def _half_ulp(dtype: np.dtype, magnitude: float) -> float:
    """Half the spacing of ``dtype`` (float16 or float32) at ``magnitude`` (>= 0): the most
    that rounding a float64 of at most that magnitude to ``dtype`` moves it."""
    info = np.finfo(dtype)
    exponent = math.frexp(magnitude)[1] - 1 if magnitude > 0 else info.minexp
    return math.ldexp(1.0, max(exponent, info.minexp) - info.nmant - 1)


def coding_bound(dtype: np.dtype, max_error: float, values: np.ndarray) -> float:
    """The bound hippo codes ``values`` (float64 (n,), the chunk cast) with, so that the
    decoded values, cast back to ``dtype``, are within ``max_error``; 0 means exact."""
    if dtype.kind in "iu":
        # |decoded - x| < floor(e) + 1/2 rounds to an integer within floor(e) of x
        return math.floor(max_error) + 0.5 - 2.0**-20
    if dtype.itemsize == 8:
        return max_error
    finite = np.abs(values[np.isfinite(values)])
    top = float(finite.max()) if len(finite) else 0.0
    bound = max_error - _half_ulp(dtype, top + max_error)
    # the subtraction above may round up: step down twice to stay below the exact difference
    bound = float(np.nextafter(np.nextafter(bound, 0.0), 0.0))
    return bound if bound > 0 else 0.0


def encode_chunk(values: np.ndarray, max_error: float, level: str) -> bytes:
    """A ``.hippo`` file holding ``values`` (n,) of a dtype :func:`chunk_dtype` accepts,
    coded on this thread, so that every finite value decodes within ``max_error`` after the
    cast back to its dtype (integers: within ``floor(max_error)``)."""
    dtype = chunk_dtype(values.dtype)
    if dtype.kind in "iu" and dtype.itemsize == 8 and len(values):
        # checked on the integers: the cast to float64 would round 2**53 + 1 to 2**53
        top = dtype.type(_MAX_EXACT_INT)
        bad = values > top if dtype.kind == "u" else (values > top) | (values < -top)
        if np.any(bad):
            raise DataError(f"the hippo codec codes integers up to 2**53 in magnitude "
                            f"(float64 holds them exactly), got {values[np.argmax(bad)]}")
    x = values.astype(np.float64)
    header = HippoHeader([dtype.str], [coding_bound(dtype, max_error, x)], whole=True)
    out = io.BytesIO()
    writer = HippoWriter(out, header, level=level, threads=1)
    try:
        writer.append(x[:, None])
        writer.close()
    finally:
        writer.stop_threads()
    return out.getvalue()


def decode_chunk(data: bytes) -> np.ndarray:
    """The values (n,) of a chunk :func:`encode_chunk` coded, in the chunk's dtype; damage
    or a file that is not a chunk is a DataError."""
    with HippoReader(io.BytesIO(data), "<hippo chunk>", threads=1) as reader:
        header = reader.header
        if len(header.channels) != 1 or header.timed:
            raise DataError("not a hippo chunk: a chunk holds one channel without times")
        dtype = _stored_dtype(header.channels[0])
        values = reader.read()[0][:, 0]
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        values = np.clip(np.rint(values), info.min, info.max)
    return values.astype(dtype)
