"""hippo as a numcodecs codec (``id = "hippo"``), for zarr (format 2 and 3) and xarray.

A chunk is flattened in its memory order, coded as one channel of a ``.hippo`` file (a plain
file that ``hippo reconstruct`` and ``hippo info`` read; its channel is named after the
chunk's dtype, which is how a decoder that is not told the dtype gets it back) and decoded
to the chunk's dtype (:mod:`hippo_cli.chunk_codec`).

What ``max_error`` bounds, after the values are cast back to the chunk's dtype:

- float64: every finite value within ``max_error``;
- float32 and float16: every finite value within ``max_error`` after the cast back (hippo
  codes with ``max_error`` less half a unit in the last place at the chunk's largest
  magnitude, since the cast can move a value by that much; a chunk whose ``max_error`` is not
  above that is stored exactly);
- integers: decoded values are rounded to the nearest integer, so every value is within
  ``floor(max_error)``: exact when ``max_error < 1``. Values beyond +-2**53 are refused
  (DataError): float64, which hippo codes, does not hold them exactly.
- NaN, +inf and -inf (zarr's fill value, xarray's padding of a last chunk) come back
  bit for bit, whatever the bound.

bool, complex, float128 and non-numeric chunks are refused with a ParameterError. A codec
holds only its configuration: one instance is safe to use from many threads at once (zarr
codes chunks on a thread pool), and each call codes on one thread, since zarr already runs
chunks in parallel.

Use it directly in zarr format 2 (``compressor=HippoCodec(...)``); zarr format 3 takes
:class:`hippo_cli.zarr3_codec.HippoZarr3` as the array's ``serializer``. Both are found by
name through the entry points of an installed ``hippo-cli``; :func:`register` registers them
by hand otherwise.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numcodecs.abc import Codec
from numcodecs.compat import ensure_contiguous_ndarray, ndarray_copy

from .chunk_codec import CODEC_ID, check_config, chunk_dtype, decode_chunk, encode_chunk


class HippoCodec(Codec):
    """Bounded-error compression of a numeric chunk with hippo (see the module docstring).

    Parameters
    ----------
    max_error : absolute bound (> 0) on every finite value, after the cast back to the
        chunk's dtype.
    level : the encoder's searches, "fast", "default" or "best" (ratio against speed;
        decoding is as fast for all three).
    """

    codec_id = CODEC_ID

    def __init__(self, max_error: float, level: str = "default") -> None:
        self.max_error, self.level = check_config(max_error, level)

    def get_config(self) -> dict[str, Any]:
        return {"id": self.codec_id, "max_error": self.max_error, "level": self.level}

    def encode(self, buf: Any) -> bytes:
        """A ``.hippo`` file holding ``buf`` (an ndarray of any shape, or a buffer),
        flattened in its memory order."""
        if isinstance(buf, np.ndarray):
            chunk_dtype(buf.dtype)  # before numcodecs views datetimes as integers
        chunk = ensure_contiguous_ndarray(buf)  # a flat view
        return encode_chunk(chunk, self.max_error, self.level)

    def decode(self, buf: Any, out: Any = None) -> np.ndarray:
        """The values (n,) of a chunk coded by :meth:`encode`, in the chunk's dtype (which
        the chunk records), copied into ``out`` too if given."""
        values = decode_chunk(ensure_contiguous_ndarray(buf).tobytes())
        return ndarray_copy(values, out) if out is not None else values


def register_numcodecs() -> None:
    """Register :class:`HippoCodec` with numcodecs under its id ``hippo``."""
    from numcodecs.registry import register_codec

    register_codec(HippoCodec)


def register() -> None:
    """Register the codec by hand, for a ``hippo_cli`` that is not installed with its entry
    points: the numcodecs codec ``hippo`` and, when zarr 3 is present, its zarr 3 form
    ``numcodecs.hippo`` (:mod:`hippo_cli.zarr3_codec`)."""
    register_numcodecs()
    try:
        from .zarr3_codec import register as register_zarr3
    except ImportError:  # zarr 2 or no zarr: format 2 needs only numcodecs
        return
    register_zarr3()
