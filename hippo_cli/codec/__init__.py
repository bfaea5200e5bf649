"""The ``.hippo`` codec: bounded-error compression of float64 samples, with their times.

Public API (thread-safe: every call and every writer or reader owns its coders)::

    encode(values, max_error, times=None) -> bytes      a whole .hippo file in memory
    decode(data) -> (values, times)                      and back
    open_hippo(path) -> HippoReader                      a file: .read(start, stop), .frames()
    HippoWriter(fh, header)                              a stream: .append(), .flush(), .close()

Modules: :mod:`.container` (the file: header, frames, footer; writer and reader),
:mod:`.parts` (a frame's channel and time parts), :mod:`.channel` (one channel's codec),
:mod:`.grid` and :mod:`._kernels` (the bounded-error codec and its numba loops),
:mod:`.exact` (a bound of 0). ``docs/format.md`` is the normative description of the bytes.
Nothing here imports the HiPPO side of the package (``engine``, ``measures``, ``pipelines``,
``cli``).
"""

from __future__ import annotations

from .channel import ChannelDecoder, ChannelEncoder, decode_times, encode_times
from .container import (
    Frame,
    FrameInfo,
    HippoHeader,
    HippoReader,
    HippoWriter,
    decode,
    encode,
    header_with_times,
    open_hippo,
)

__all__ = [
    "ChannelDecoder",
    "ChannelEncoder",
    "Frame",
    "FrameInfo",
    "HippoHeader",
    "HippoReader",
    "HippoWriter",
    "decode",
    "decode_times",
    "encode",
    "encode_times",
    "header_with_times",
    "open_hippo",
]
