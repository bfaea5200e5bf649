"""The Huffman codec of compression level "fast" (``docs/format.md``, "The Huffman codec", codec
bytes 5 to 8 of format version 3): a channel's samples as grid indices on one grid - the
``2 eps`` grid with the nearest indices, or the ``eps`` grid with each index held while it
stays within the bound - each index's difference from the one before cut into tokens (a run
of zero differences, or one difference by its bit length and sign, with the bits below its
leading one sent as they are), coded by canonical Huffman codes of eight contexts (the class
of the difference before).

It exists for speed: on a noisy channel, where most differences are not 0, the grid codec's
adaptive binary decisions cost about 30 ns a sample to code and as much to decode; static
codes read by one table lookup cost a few. Its payloads are 3-10% longer there, and several
times longer on smooth channels, where level fast keeps the grid codec
(:meth:`.parts.ChannelCoder.encode_part`). Level best's mixing codec uses its costing to choose
its grid.

The kernels are in :mod:`._kernels` (numba's cache watches that one file)."""

from __future__ import annotations

import numpy as np

from . import _kernels as K

#: the longest payload of n samples a decoder accepts (docs/format.md, "Limits")
_MAX_PER_SAMPLE, _MAX_TABLES = 9, 704
#: the most samples a payload codes (a frame's limit; a run's class must stay <= 21)
_MAX_SAMPLES = 1 << 20


def max_payload(n: int) -> int:
    """The longest payload of ``n`` samples a decoder accepts."""
    return _MAX_PER_SAMPLE * n + _MAX_TABLES


#: the grids level fast tries, (lm, hold): the 2 eps grid with the nearest indices (noise),
#: and the eps grid with each index held while it stays within the bound (slow drifts: runs)
FAST_GRIDS = ((0, False), (1, True))


class Scratch:
    """The encoder's scratch for parts of up to ``n`` samples (grown on demand, never shared
    between threads: a channel coder owns one): about 25 bytes a sample of the largest part."""

    def __init__(self) -> None:
        self.n = -1
        self.sc = self.out = np.empty(0)

    def of(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        if n > self.n:
            # np.empty: the kernels write every element they read
            self.sc = np.empty((K.HFSC, max(n + 1, K.HFC * K.HFS)), np.int64)
            self.out = np.empty(max_payload(n) + 16, np.uint8)
            self.n = n
        return self.sc, self.out


def _checked(x: np.ndarray) -> np.ndarray:
    from .grid import read_only

    x = np.ascontiguousarray(x, dtype=np.float64)
    if not 1 <= x.shape[0] <= _MAX_SAMPLES:
        raise ValueError(f"the Huffman codec codes 1 to {_MAX_SAMPLES} samples, got "
                         f"{x.shape[0]}")
    return read_only(x)


def encode(x: np.ndarray, eps: float, lm: int = 0, hold: bool = False,
           scratch: Scratch | None = None) -> bytes | None:
    """The Huffman codec's payload of ``x`` float64 (n,), finite, 1 <= n <= 2^20, bound ``eps``
    > 0, on grid ``lm`` (step 2 eps / 2^lm; ``hold``: each index stays while it is within the
    bound, else the nearest to it, where by default each is the nearest); None when a sample
    has no grid index within ``eps`` below 2^54 (the grid codec, which has raw blocks, then
    stays). ``scratch``: reused between calls of one thread."""
    x = _checked(x)
    sc, out = (scratch or Scratch()).of(x.shape[0])
    size = K.hf_encode(x, x.shape[0], (2.0 * eps) / float(1 << lm), float(eps), bool(hold), sc,
                       out)
    return None if size < 0 else out[:size].tobytes()


def shortest(x: np.ndarray, eps: float, grids=FAST_GRIDS,
             scratch: Scratch | None = None) -> tuple[int, int, int, bool] | None:
    """(payload length, the length of its bits without the code tables, lm, hold) of the
    shortest of :func:`encode`'s payloads of ``x`` over ``grids`` ((lm, hold) pairs), costed
    without writing any; None when no grid can hold the samples."""
    x = _checked(x)
    sc, _ = (scratch or Scratch()).of(x.shape[0])
    table = np.array(grids, np.int64).reshape(-1, 2)
    res = np.empty((len(table), 2), np.int64)
    K.hf_cost(x, x.shape[0], float(eps), table, sc, res)
    best = None
    for (lm, hold), (size, bits) in zip(grids, res.tolist()):
        if size >= 0 and (best is None or size < best[0]):
            best = (size, bits, lm, bool(hold))
    return best


def decode(payload: bytes, n: int, eps: float, lm: int = 0,
           out: np.ndarray | None = None) -> np.ndarray:
    """float64 (n,) of a Huffman-codec payload on grid ``lm``, into ``out`` (float64 (n,),
    C-contiguous) if given; ``ValueError`` when it is malformed."""
    from .grid import DECODER_ERRORS, read_only

    if n < 1:
        raise ValueError("a Huffman-codec payload of no samples")
    if len(payload) > max_payload(n):
        raise ValueError("payload too long for the sample count")
    # the payload and 8 zero bytes: the decoder reads a stream 8 bytes at a time
    buf = np.zeros(len(payload) + 8, np.uint8)
    buf[:len(payload)] = np.frombuffer(payload, np.uint8)
    x = np.empty(n, np.float64) if out is None else out
    rc = K.hf_decode(read_only(buf), len(payload), n, 2.0 * eps / (1 << lm), x,
                     np.empty(K.HFC << K.HFL, np.int16))
    if rc != 0:
        raise ValueError(f"malformed payload ({DECODER_ERRORS[rc]})")
    return x
