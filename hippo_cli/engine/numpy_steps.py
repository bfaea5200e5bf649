"""The per-sample recurrences in plain numpy, for small jobs.

A short job (a 1000-row CSV) costs numba about 0.5 s before its first sample: the import, the
compiler's target initialisation and the cache load, for a few milliseconds of work. While
numba is not loaded yet and a chunk is small, the steps run here instead, with dense matrices:
the LegS step matrices of the whole chunk at once (a forward substitution vectorised across
steps), then a matrix-vector product per step. The results equal the kernels' up to
rounding (tested to 1e-12 relative); numba takes over as soon as it is loaded or a chunk is
larger.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator

import numpy as np

from .. import measures
from ..discretize import legs_tau
from .params import EncoderParams

#: Largest chunk (samples x channels) and order this path takes.
SMALL_SAMPLES = 4096
SMALL_ORDER = 128
_allowed = False


@contextlib.contextmanager
def allowed() -> Iterator[None]:
    """Within the block, small chunks may run here. Only a caller that encodes a bounded
    input (``compress`` of a file) says so: a stream of small chunks (``hippo stream``, the
    library) keeps the kernels, which are faster per step once loaded, and rounds the same
    way from its first sample to its last."""
    global _allowed
    before, _allowed = _allowed, True
    try:
        yield
    finally:
        _allowed = before


def applies(params: EncoderParams, L: int, C: int) -> bool:
    """Whether a chunk of L samples x C channels runs here (uniform samples only)."""
    return (_allowed and "numba" not in sys.modules and L * C <= SMALL_SAMPLES
            and params.N <= SMALL_ORDER
            and not (params.spec.kernel == "legs" and params.method == "zoh"))


def legs_step_matrices(N: int, ks: np.ndarray, alpha: float,
                       legs_time: str) -> tuple[np.ndarray, np.ndarray]:
    """(Abar_k (K, N, N), Bbar_k (K, N)) of LegS GBT(alpha) steps ``ks`` (K,), all >= 1: one
    step of A / tau, B / tau with h = 1 (tau by :func:`hippo_cli.discretize.legs_tau`)."""
    A, B = measures.transition("legs", N)
    tau = legs_tau(ks.astype(np.float64), 1.0, alpha, legs_time)[:, None]  # (K, 1)
    s = np.sqrt(2.0 * np.arange(N) + 1.0)
    rhs = np.concatenate([np.eye(N) + (1.0 - alpha) * A / tau[:, :, None],
                          (B / tau)[:, :, None]], axis=2)  # (K, N, N + 1)
    # I - alpha A / tau = diag(1 + alpha (n + 1) / tau) + alpha / tau * (s s^T below the
    # diagonal): forward substitution row by row, all steps and columns at once, carrying
    # Z = sum_{m<n} s_m X_m (about 50x cheaper than a batched dense solve at N = 64)
    diag = 1.0 + alpha * (np.arange(N) + 1.0) / tau  # (K, N)
    a = alpha / tau  # (K, 1)
    X = np.empty_like(rhs)
    Z = np.zeros((len(ks), N + 1))
    for n in range(N):
        X[:, n, :] = (rhs[:, n, :] - (a * s[n]) * Z) / diag[:, n:n + 1]
        Z += s[n] * X[:, n, :]
    return X[:, :, :N], X[:, :, N]


def run(params: EncoderParams, Abar: np.ndarray | None, Bbar: np.ndarray | None,
        x2: np.ndarray, state: np.ndarray, step0: int, every: int, out: np.ndarray) -> int:
    """As :meth:`hippo_cli.engine.stepper.Stepper.run` for a small chunk: ``x2`` (L, C),
    ``state`` (N, C) in place, rows to ``out`` (R, C, N); ``Abar`` (N, N), ``Bbar`` (N,) of a
    time-invariant measure (None for legs). Returns the number of rows written."""
    L = x2.shape[0]
    legs = params.spec.kernel == "legs"
    if legs:
        ks = np.arange(max(step0, 1), step0 + L)
        As, Bs = legs_step_matrices(params.N, ks, params.alpha, params.legs_time)
    c = state.copy()
    rows = 0
    with np.errstate(over="ignore", invalid="ignore"):  # the encoder reports an overflow
        for i in range(L):
            k = step0 + i
            if legs and k == 0:
                c[:] = 0.0
                c[0] = x2[i]
            elif legs:
                j = k - max(step0, 1)
                c = As[j] @ c + Bs[j][:, None] * x2[i]
            else:
                c = Abar @ c + Bbar[:, None] * x2[i]
            if (k + 1) % every == 0:
                out[rows] = c.T
                rows += 1
    state[:, :] = c
    return rows
