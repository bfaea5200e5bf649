"""The block engine: a time-invariant system (and LegS's exact projection) advanced a block
of T samples at a time.

For ``c_k = Abar c_{k-1} + Bbar f_k`` the state after a block of T samples is::

    c_end = Abar^T c_start + K f_block,   K = [Abar^(T-1) Bbar, ..., Abar Bbar, Bbar]  (N, T)

so the inputs of all full blocks of a chunk enter through ONE matrix product
``F (nblocks, T) @ K^T`` per channel group (BLAS), and a short sequential carry
``c_{b+1} = Abar^T c_b + contrib_b`` (one N x N matvec per block) links the blocks. It pays
when only the block ends are wanted (``every`` a multiple of T) and T is not small: the
per-sample path costs N^2 (dense) per sample, the block path about 2 N + 2 N^2 / T.

Pure numpy. The operators (Abar^T, K) of a parameter set and block length are built once
(K by doubling from Bbar, Abar^T by repeated squaring) and kept in a small LRU.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator

import numpy as np

#: The switch (benchmarks and tests turn it off to measure the per-sample kernels). The block
#: path rounds differently from the per-sample one (~1e-13 relative), so every = 1 and
#: every = T, or different splits of a stream, agree to that, not bit for bit.
ENABLED = True
#: Shortest block (and shortest ``every``) the block engine takes: below it the Python carry
#: (a few microseconds per block) costs more than the per-sample kernels save.
BLOCK_MIN = 64
#: ... and T N must be at least this (dense per-sample kernels: N^2 per sample) or
#: BLOCK_MIN_WORK_FAST (lagt's O(N) kernel, about 4x faster per sample): small N step fast
#: one sample at a time (measured: N = 16, C = 1 breaks even near T = 64 dense, T = 128 lagt).
BLOCK_MIN_WORK = 1024
BLOCK_MIN_WORK_FAST = 4096
#: K (N, T) is at most this many bytes: a longer ``every`` uses a block length dividing it.
BLOCK_MAX_BYTES = 32 << 20
#: How many block counts per emitted row are tried for an ``every`` longer than K allows.
DIVISOR_SEARCH = 1024
#: Largest N the block engine takes (the dense measures' own limit).
BLOCK_MAX_N = 1024
#: How many (parameters, T) operator pairs the LRU keeps, and at most how many bytes.
CACHE_SIZE = 8
CACHE_BYTES = 128 << 20
#: Blocks per matrix product: keeps the (blocks, N, C) contributions near this many bytes.
GROUP_BYTES = 8 << 20

_cache: OrderedDict = OrderedDict()
_cache_lock = threading.Lock()  # encoders may run in threads (the kernels release the GIL)


def block_length(every: int, N: int, fast_kernel: bool = False) -> int:
    """The block length T for emitting every ``every``-th state of an order-``N`` system,
    or 0 when the per-sample kernels should run (``fast_kernel``: they are O(N) per sample,
    not N^2). T divides ``every``."""
    if not ENABLED or N > BLOCK_MAX_N:
        return 0
    work = BLOCK_MIN_WORK_FAST if fast_kernel else BLOCK_MIN_WORK
    low = max(BLOCK_MIN, -(-work // N))
    high = BLOCK_MAX_BYTES // (8 * N)
    if every < low:
        return 0
    if every <= high:
        return every
    # the longest divisor of every in [low, high]: every / q for the smallest q that divides
    q0 = -(-every // high)
    for q in range(q0, q0 + DIVISOR_SEARCH):
        if every % q == 0:
            return every // q if every // q >= low else 0
    return 0


def build_operators(Abar: np.ndarray, Bbar: np.ndarray, T: int) -> tuple[np.ndarray, np.ndarray]:
    """(Abar^T (N, N), K (N, T)) with column T - 1 - j of K equal to Abar^j Bbar.

    K doubles: with its last m columns known and P = Abar^m, the m columns before them are
    P @ (the last m), so log2(T) matrix products build it; Abar^T by repeated squaring."""
    N = Abar.shape[0]
    K = np.empty((N, T))
    K[:, T - 1] = Bbar
    P = Abar.copy()  # Abar^m
    m = 1
    with np.errstate(all="ignore"):
        while m < T:
            k = min(m, T - m)
            K[:, T - m - k:T - m] = P @ K[:, T - k:]
            m += k
            if m < T:
                P = P @ P
        AdT = np.linalg.matrix_power(Abar, T)
    return np.ascontiguousarray(AdT), K


def _cached(full: Hashable, build: Callable[[], tuple | None]) -> tuple | None:
    """The LRU: the tuple of arrays ``build()`` made for ``full`` (or None)."""
    with _cache_lock:
        if full in _cache:
            _cache.move_to_end(full)
            return _cache[full]
    ops = build()
    with _cache_lock:
        _cache[full] = ops
        while len(_cache) > 1 and (len(_cache) > CACHE_SIZE or sum(
                sum(a.nbytes for a in v) for v in filter(None, _cache.values())) > CACHE_BYTES):
            _cache.popitem(last=False)
    return ops


def operators(key: Hashable, T: int,
              system: Callable[[], tuple[np.ndarray, np.ndarray]]
              ) -> tuple[np.ndarray, np.ndarray] | None:
    """The cached (Abar^T, K) of the system ``key`` (``system()`` gives its (Abar, Bbar)) for
    blocks of T; None when they are not finite (the per-sample path then reports the
    overflow where it happens)."""
    def build() -> tuple[np.ndarray, np.ndarray] | None:
        AdT, K = build_operators(*system(), T)
        return (AdT, K) if np.all(np.isfinite(AdT)) and np.all(np.isfinite(K)) else None

    return _cached((key, T), build)


def _block_products(x2: np.ndarray, M: np.ndarray, step0: int,
                    every: int) -> Iterator[tuple[int, np.ndarray]]:
    """(first block, P (blocks, C, N)) for groups of the whole blocks of ``x2``
    (nblocks * T, C): each block's samples times ``M`` (T, N), one BLAS product per group
    (channels as rows). ``step0`` is a multiple of T, and T divides ``every``."""
    T, N = M.shape
    L, C = x2.shape
    nb = L // T
    assert nb * T == L and step0 % T == 0 and every % T == 0
    X = x2.reshape(nb, T, C)
    group = max(1, GROUP_BYTES // (8 * max(N, T) * C))
    for g0 in range(0, nb, group):
        g1 = min(nb, g0 + group)
        F = X[g0:g1, :, 0] if C == 1 else X[g0:g1].transpose(0, 2, 1).reshape(-1, T)
        yield g0, (F @ M).reshape(g1 - g0, C, N)


def run_blocks(ops: tuple[np.ndarray, np.ndarray], x2: np.ndarray, state: np.ndarray,
               step0: int, every: int, out: np.ndarray) -> int:
    """Advance ``state`` (N, C) through ``x2`` (nblocks * T, C) whose first sample is step
    ``step0`` (a multiple of T, and T divides ``every``); write the state after each block
    that ends an emitted step to ``out`` (R, C, N); return R."""
    AdT, K = ops
    T = K.shape[1]
    AdTT = np.ascontiguousarray(AdT.T)
    per = every // T  # blocks per emitted row
    rows = 0
    c = np.ascontiguousarray(state.T)  # (C, N): rows of out
    tmp = np.empty_like(c)
    # an overflow is the caller's to report (as the per-sample kernels, silently here)
    with np.errstate(over="ignore", invalid="ignore"):
        for g0, contrib in _block_products(x2, K.T, step0, every):
            for b in range(len(contrib)):
                np.dot(c, AdTT, out=tmp)
                np.add(tmp, contrib[b], out=c)
                if (step0 // T + g0 + b + 1) % per == 0:
                    out[rows] = c
                    rows += 1
    state[:, :] = c.T
    return rows


# ------------------------------------------------------------------ LegS exact projection
def legs_moment_matrix(N: int, T: int) -> np.ndarray:
    """W (T, N): ``W[j, m] = 1/2 int phi_m(z) dz`` over sample j's interval
    [2j/T - 1, 2(j+1)/T - 1] of a block of T samples (phi_m = s_m P_m), so ``f_block @ W``
    are the block's local Legendre moments, exactly for piecewise-constant samples.

    From the antiderivative Q_m = (P_{m+1} - P_{m-1}) / (2m + 1) (Q_0 = z), evaluated at
    the T + 1 interval ends by the Legendre recurrence."""
    z = (2.0 * np.arange(T + 1) - T) / T  # exact for T < 2^52
    P = np.empty((N + 1, T + 1))  # P_0 .. P_N
    P[0] = 1.0
    if N >= 1:
        P[1] = z
    for n in range(1, N):
        P[n + 1] = ((2 * n + 1) * z * P[n] - n * P[n - 1]) / (n + 1)
    Q = np.empty((N, T + 1))
    Q[0] = z
    m = np.arange(1, N)[:, None]
    Q[1:] = (P[2:N + 1] - P[0:N - 1]) / (2 * m + 1)
    s = np.sqrt(2.0 * np.arange(N) + 1.0)
    return np.ascontiguousarray((0.5 * s[:, None] * np.diff(Q, axis=1)).T)


def legs_operators(N: int, T: int) -> np.ndarray:
    """The cached :func:`legs_moment_matrix` of (N, T)."""
    ops = _cached(("legs-exact", N, T), lambda: (legs_moment_matrix(N, T),))
    assert ops is not None
    return ops[0]


def run_legs_blocks(W: np.ndarray, x2: np.ndarray, state: np.ndarray, step0: int,
                    every: int, out: np.ndarray) -> int:
    """As :func:`run_blocks` for LegS's exact projection: ``W`` (T, N) from
    :func:`legs_moment_matrix`; ``step0`` is the step (= clock time) of ``x2[0]``."""
    from .. import _kernels

    T = W.shape[0]
    per = every // T
    rows = 0
    for g0, moments in _block_products(x2, W, step0, every):
        rows += _kernels.legs_exact_blocks(np.ascontiguousarray(moments), state,
                                           step0 // T + g0, per,
                                           (step0 // T + g0) % per, out[rows:])
    return rows
