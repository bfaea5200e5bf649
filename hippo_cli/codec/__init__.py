"""The bounded-error codec: float64 samples <-> bytes with every decoded sample within a given
absolute error, and int64 time stamps <-> bytes losslessly.

One channel is coded frame by frame: ``ChannelEncoder(eps)`` (``push`` samples, ``flush`` a
frame's payload) and ``ChannelDecoder(eps).decode(payload, n)``. :mod:`.grid` is the codec
(its module docstring is the normative description of the payload); :mod:`.exact` serves a
bound of 0. The container that stores frames, channels and times is
:mod:`hippo_cli.formats.hippo_file`; the numba loops live in :mod:`hippo_cli._codec_kernels`
(imported on first use, so that ``hippo --help`` does not load numba).
"""

from __future__ import annotations

import numpy as np

from .exact import ExactDecoder, ExactEncoder


def ChannelEncoder(eps: float):
    """The encoder of one channel with bound ``eps`` (>= 0)."""
    if eps == 0:
        return ExactEncoder()
    from .grid import ChannelEncoder as GridEncoder

    return GridEncoder(eps)


def ChannelDecoder(eps: float):
    """The decoder matching :func:`ChannelEncoder`."""
    if eps == 0:
        return ExactDecoder()
    from .grid import ChannelDecoder as GridDecoder

    return GridDecoder(eps)


def encode_times(t: np.ndarray) -> bytes:
    """int64 (n,) time stamps -> bytes, lossless (see :mod:`.grid`)."""
    from .grid import encode_times as encode

    return encode(t)


def decode_times(payload: bytes, n: int) -> np.ndarray:
    """bytes -> int64 (n,), the inverse of :func:`encode_times`."""
    from .grid import decode_times as decode

    return decode(payload, n)


__all__ = ["ChannelDecoder", "ChannelEncoder", "decode_times", "encode_times"]
