"""The mixing codec of compression level "best" (``docs/format.md``, "The mixing codec"): a
channel's samples as grid indices on one grid of step ``2 eps / 2^lm`` (the nearest, or held
while within the bound: :func:`held_indices`), each index's difference
from the previous one coded bit by bit with probabilities mixed from models whose contexts are
the exact previous indices. It wins where a series revisits the same levels in the same order
(noisy sensors, repeated shapes); the grid codec wins on trends and smooth series, so level
best codes a frame's channel both ways and keeps the shorter.

The kernels are in :mod:`._kernels` (numba's cache watches that one file)."""

from __future__ import annotations

import numpy as np

from . import _kernels as K

#: payload bytes a decoder accepts: as the grid codec's limit (docs/format.md, "Limits")
_MAX_PER_SAMPLE = 48

#: (SQ, ST, REC): constants, read-only (every thread reads them; none writes)
_TABLES = K.mixing_tables()
for _t in _TABLES:
    _t.setflags(write=False)


#: the payload argument of an encoding call (the kernel reads it only when decoding)
_NO_PAYLOAD = np.empty(0, np.uint8)
_NO_PAYLOAD.setflags(write=False)


def _nearest(x: np.ndarray, eps: float, lm: int, limit: float) -> tuple[float, np.ndarray] | None:
    """(step, int64 (n,)): grid lm's step (2 eps / 2^lm) and the index nearest x / step of each
    value of ``x`` float64 (n,); None if some |x / step| reaches ``limit`` (or is NaN)."""
    step = (2.0 * eps) / float(1 << lm)
    with np.errstate(invalid="ignore", over="ignore"):
        ratio = x / step
    if not np.all(np.abs(ratio) < limit):
        return None
    return step, np.rint(ratio).astype(np.int64)


def grid_indices(x: np.ndarray, eps: float, lm: int = 0) -> np.ndarray | None:
    """int64 (n,): for each sample of ``x`` float64 (n,), finite, the grid index nearest
    x / step (step = 2 eps / 2^lm) whose decoded value float64(Q) * step is within eps;
    None if a sample has none or an index reaches 2^56 (the grid codec then stays)."""
    nearest = _nearest(x, eps, lm, 2.0**55)
    if nearest is None:
        return None
    step, q = nearest
    with np.errstate(invalid="ignore", over="ignore"):
        for _ in range(3):
            bad = ~(np.abs(q.astype(np.float64) * step - x) <= eps)
            if not bad.any():
                return q
            q[bad] += np.where(q[bad].astype(np.float64) * step < x[bad], 1, -1)
    return None


def _aligned(size: int) -> np.ndarray:
    """uint32 (size,) whose first element starts a 64-byte cache line: a model's bucket of
    16 counters (``K.MXHEAD``, ``K.MXMANT``) is then one line, not two."""
    raw = np.empty(size + 16, np.uint32)
    start = (-raw.ctypes.data % 64) // 4
    return raw[start:start + size]


def _scratch(n: int) -> tuple:
    """The models' scratch for n samples (every element written before it is read): table
    bits, counters, mixer weights, match counters, match table, then the small vectors."""
    tb = K.mixing_table_bits(n)
    return (tb, _aligned(K.MXM << tb), np.empty(K.MXSETS * K.MXW, np.int32),
            np.empty(32, np.uint32), np.empty(1 << tb, np.int32), np.empty(K.MXM, np.int64),
            np.empty(K.MXM, np.int64), np.empty(K.MXM, np.int64), np.empty(K.MXW, np.int64),
            np.empty(80, np.int64))


def held_indices(x: np.ndarray, eps: float, lm: int) -> np.ndarray | None:
    """int64 (n,): the grid indices of ``x`` float64 (n,), finite, on grid ``lm``, each the one
    before while it stays within eps, else the one nearest to it (the Huffman codec's rule:
    slow drifts become runs); None if a sample has none below 2^54."""
    from .grid import read_only

    x = read_only(np.ascontiguousarray(x, dtype=np.float64))
    q = np.empty(x.shape[0], np.int64)
    rc = K.hf_indices(x, x.shape[0], (2.0 * eps) / float(1 << lm), float(eps), True, q)
    return None if rc < 0 else q


def run_levels(x: np.ndarray, eps: float, lm: int) -> np.ndarray | None:
    """int64 (n,): level best's run levels of ``x`` float64 (n,), finite, on grid ``lm``
    (step 2 eps / 2^lm): the samples cut greedily into the longest runs one index holds within
    eps, each run's index on the coarsest grid its share allows, the nearest to the run
    before's (``K.mx_runs``); None if a sample has no index below 2^54."""
    from .grid import read_only

    x = read_only(np.ascontiguousarray(x, dtype=np.float64))
    q = np.empty(x.shape[0], np.int64)
    rc = K.mx_runs(x, x.shape[0], (2.0 * eps) / float(1 << lm), float(eps), lm, q)
    return None if rc < 0 else q


def own_grid(y: np.ndarray, eps: float) -> tuple[int, np.ndarray] | None:
    """(lm, int64 (n,)): the coarsest grid lm in 0..3 (step 2 eps / 2^lm) on which every value
    of ``y`` float64 (n,), finite, lies exactly (float64(Q) * step == y, so the mixing codec
    decodes to y itself), and those indices Q; None if no grid holds them all below 2^54."""
    for lm in range(4):
        nearest = _nearest(y, eps, lm, 2.0**54)
        if nearest is None:
            return None
        step, q = nearest
        if np.array_equal(q.astype(np.float64) * step, y):
            return lm, q
    return None


def encode(x: np.ndarray, eps: float, lm: int = 0, shorter_than: int | None = None,
           hold: bool = False, indices: np.ndarray | None = None,
           marks: np.ndarray | None = None, pace: int = 0) -> bytes | None:
    """The mixing codec's payload of ``x`` float64 (n,), finite, n >= 1, bound ``eps`` > 0 on
    grid ``lm``: of the nearest indices, with ``hold`` of :func:`held_indices`, or of
    ``indices`` int64 (n,) when given (None unless each |index| < 2^56, the format's limit,
    and each one's value is within eps of its sample). None too when the grid cannot hold
    the samples, or the payload would pass the format's limit or reach ``shorter_than`` bytes
    (the caller keeps the grid codec: coding stops there, which saves most of the time where
    the grid codec wins).

    ``marks`` int64 (5,): the samples coded and bytes written when coding ended (finished or
    stopped) go to marks[3..5); with ``pace`` 1, also the payload's bytes when n // 8, n // 4
    and n // 2 samples are coded to marks[0..3); with ``pace`` 2, coding also stops (None)
    once its bytes at mark k pass marks[k] (where marks[k] > 0)."""
    if indices is None:
        q = held_indices(x, eps, lm) if hold else grid_indices(x, eps, lm)
    else:
        q = np.ascontiguousarray(indices, dtype=np.int64)
        step = (2.0 * eps) / float(1 << lm)
        if not (q.shape == x.shape and np.all((q > -K.MXQLIM) & (q < K.MXQLIM))
                and np.all(np.abs(q.astype(np.float64) * step - x) <= eps)):
            return None
    if q is None:
        return None
    n = len(q)
    tb, tab, W, MM, MT, Qh, ctx, slots, inp, ex = _scratch(n)
    out = np.empty(_MAX_PER_SAMPLE * n + 64 + 256, np.uint8)
    SQ, ST, REC = _TABLES
    limit = _MAX_PER_SAMPLE * n + 64 if shorter_than is None else shorter_than
    size = K.mx_code(False, q, n, tb, tab, W, MM, MT, Qh, ctx, slots, inp, ex,
                     np.empty(80, np.int64), _NO_PAYLOAD, out, np.empty(0, np.float64), 1.0,
                     K.new_state(), SQ, ST, REC, np.zeros(1), limit,
                     np.zeros(5, np.int64) if marks is None else marks, pace)
    if size < 0 or size > _MAX_PER_SAMPLE * n + 64 or (shorter_than is not None
                                                      and size >= shorter_than):
        return None
    return out[:size].tobytes()


def decode(payload: bytes, n: int, eps: float, lm: int = 0,
           out: np.ndarray | None = None) -> np.ndarray:
    """float64 (n,) of a mixing-codec payload, into ``out`` (float64 (n,), C-contiguous) if
    given; ``ValueError`` when it is malformed."""
    from .grid import DECODER_ERRORS, read_only

    if n < 1:
        raise ValueError("a mixing-codec payload of no samples")
    if len(payload) > _MAX_PER_SAMPLE * n + 64:
        raise ValueError("payload too long for the sample count")
    buf = read_only(np.frombuffer(payload, np.uint8))
    x = np.empty(n, np.float64) if out is None else out
    step = (2.0 * eps) / float(1 << lm)
    tb, tab, W, MM, MT, Qh, ctx, slots, inp, ex = _scratch(n)
    SQ, ST, REC = _TABLES
    rc = K.mx_code(True, np.empty(n, np.int64), n, tb, tab, W, MM, MT, Qh, ctx, slots, inp, ex,
                   np.empty(80, np.int64), buf, np.empty(0, np.uint8), x, step, K.new_state(),
                   SQ, ST, REC, np.zeros(1), 0, np.zeros(5, np.int64), 0)
    if rc != 0:
        raise ValueError(f"malformed payload ({DECODER_ERRORS[rc]})")
    return x
