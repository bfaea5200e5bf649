"""One channel's samples and one frame's times, to bytes and back: the bounded-error grid codec
(:mod:`.grid`) for a bound > 0 (and, chosen per part, the Huffman codec of level fast and the
mixing codec of level best: :class:`.parts.ChannelCoder`), the exact codec (:mod:`.exact`)
for a bound of 0, and the lossless time codec. :mod:`.grid` and its numba kernels are
imported on first use, so that ``hippo --help`` does not load numba."""

from __future__ import annotations

import numpy as np

from .exact import ExactDecoder, ExactEncoder

#: The compression levels: the grid encoder's searches, as the options of
#: :class:`.grid.ChannelEncoder` (a frame's channel is coded with each set of options in turn and
#: the shortest payload kept). A level changes only which candidates the encoder tries: the
#: decoder is the same for every level (it reads each part's codec byte).
#: fast: level candidates on the four grids and the interpolation candidate, no line or curve
#: search (the swing search is the dearest per byte it saves), and no re-decode of the frame:
#: the encoder checks the bound of every sample it codes with the decoder's multiply (check=1);
#: in a file of format version 3, the Huffman codec (:mod:`.huffman`) instead wherever the grid
#: codec is not twice as short on a probe (:meth:`.parts.ChannelCoder.encode_part`);
#: default: also the line and curve candidates, the writer decodes every frame again;
#: best: default, and again with the top two candidates of every block ranked by their exact
#: adaptive cost (mode 2), the shorter kept; and, in a file of format version 3, the mixing
#: codec (:mod:`.mixing`) when it is shorter still (the two levels a file shows: its version
#: and the frames' codec bytes).
LEVELS = {
    "fast": (dict(line_on=0, check=1),),
    "default": (dict(),),
    "best": (dict(), dict(mode=2)),
}


def level_options(level: str) -> tuple[dict, ...]:
    """The ChannelEncoder option sets of compression level ``level`` (ValueError if unknown)."""
    try:
        return LEVELS[level]
    except (KeyError, TypeError):
        raise ValueError(f"level must be one of {', '.join(LEVELS)}, got {level!r}") from None


def ChannelEncoder(eps: float, **options):
    """The encoder of one channel with bound ``eps`` (>= 0); ``options``: the grid encoder's
    (:data:`LEVELS`)."""
    if eps == 0:
        return ExactEncoder()
    from .grid import ChannelEncoder as GridEncoder

    return GridEncoder(eps, **options)


def ChannelDecoder(eps: float):
    """The decoder matching :func:`ChannelEncoder`."""
    if eps == 0:
        return ExactDecoder()
    from .grid import ChannelDecoder as GridDecoder

    return GridDecoder(eps)


def prepare(encoder: bool = True, decoder: bool = True, times: bool = True,
            cadence: bool = True, huffman: bool = False) -> None:
    """Compile the codec's kernels now (once per machine: numba caches them), so that a job
    pays for it before its first sample rather than in the middle: the encoder's, then the
    decoder's (which a writer needs to check its frames). ``times``: also the time codec's
    kernel - the time encoder in a job that encodes (a writer never decodes its times), the
    time decoder in one that only decodes; False for samples without times. ``cadence``: the
    time codec's mode 2 too (format version 3: a new timed file, or reading one).
    ``huffman``: the Huffman codec's encoder too (level fast). Only what the job calls is
    loaded (a cold run compiles nothing more; a warm one loads nothing more)."""
    from . import grid

    if encoder:
        grid.compile_encoder(times=times, cadence=cadence)
        if huffman:
            from . import huffman as huffman_codec

            huffman_codec.shortest(np.arange(3.0), 1.0)  # level fast's probe, then its coder
            huffman_codec.encode(np.arange(3.0), 1.0)
    if decoder:
        grid.compile_decoder(times=times and not encoder, cadence=cadence)


def encode_times(t: np.ndarray, cadence: bool = False,
                 before: tuple[int, int] | None = None) -> bytes:
    """int64 (n,) time stamps -> bytes, lossless (see :mod:`.grid`); ``cadence``: mode 2 may
    be used (format version 3); ``before``: the last two times of the stream before them (a
    chained frame), so that mode 3 may be used."""
    from .grid import encode_times as encode

    return encode(t, cadence, before)


def decode_times(payload: bytes, n: int, cadence: bool = False,
                 before: tuple[int, int] | None = None, chained: bool = False) -> np.ndarray:
    """bytes -> int64 (n,), the inverse of :func:`encode_times`; ``cadence``: mode 2 is
    allowed (format version 3); ``chained``: mode 3 is allowed, continuing ``before`` (the
    last two times before these; None: mode 3 is damage)."""
    from .grid import decode_times as decode

    return decode(payload, n, cadence, before, chained)
