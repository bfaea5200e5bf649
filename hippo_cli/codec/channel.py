"""One channel's samples and one frame's times, to bytes and back: the bounded-error grid codec
(:mod:`.grid`) for a bound > 0, the exact codec (:mod:`.exact`) for a bound of 0, and the
lossless time codec. :mod:`.grid` and its numba kernels are imported on first use, so that
``hippo --help`` does not load numba."""

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


def prepare(encoder: bool = True, decoder: bool = True) -> None:
    """Compile the codec's kernels now (once per machine: numba caches them), so that a job
    pays for it before its first sample rather than in the middle: the encoder's, then the
    decoder's (which a writer needs to check its frames)."""
    from . import grid

    if encoder:
        grid.compile_encoder()
    if decoder:
        grid.compile_decoder()


def encode_times(t: np.ndarray) -> bytes:
    """int64 (n,) time stamps -> bytes, lossless (see :mod:`.grid`)."""
    from .grid import encode_times as encode

    return encode(t)


def decode_times(payload: bytes, n: int) -> np.ndarray:
    """bytes -> int64 (n,), the inverse of :func:`encode_times`."""
    from .grid import decode_times as decode

    return decode(payload, n)
