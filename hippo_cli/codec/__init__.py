"""The bounded-error codec: float64 samples <-> bytes with every decoded sample within a
given absolute error, and int64 time stamps <-> bytes losslessly.

One channel is coded frame by frame (:class:`ChannelEncoder` / :class:`ChannelDecoder`); the
container that stores frames, channels and times is :mod:`hippo_cli.formats.hippo_file`.
The numba loops live in :mod:`hippo_cli._codec_kernels` (no fastmath: decoding is
bit-identical on every machine).
"""

from .channel import CODEC_ID, ChannelDecoder, ChannelEncoder, decode_times, encode_times

__all__ = ["CODEC_ID", "ChannelDecoder", "ChannelEncoder", "decode_times", "encode_times"]
