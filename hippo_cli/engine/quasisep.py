"""Order-1 quasiseparable structure of a dense Abar, for the O(N) per-sample step.

LegT and LMU under a GBT method have Abar = (1/a) (I - a h A)^-1 - ((1 - a)/a) I (or I + h A for
forward Euler): A has rank-1 blocks below and above its diagonal, and by the nullity theorem so
does (I - a h A)^-1. Such a matrix is determined by O(N) generators, and ``Abar c`` costs two
O(N) running sums (:func:`hippo_cli._kernels.lti_qs`) instead of an N^2 matvec that does not
stay in cache at N = 256. The generators are read off the dense Abar itself and checked by
rebuilding it; a matrix without the structure (zoh's expm, the Fourier and Laguerre variants)
gets None and keeps the dense kernel. Pure numpy.
"""

from __future__ import annotations

import numpy as np


def _qs_lower(G):
    """Order-1 quasiseparable generators of the strictly lower part of G (N, N):
    G[i, j] = p[i] a[i-1] ... a[j+1] q[j] (i > j), (a[j], q[j]) a unit vector.

    v spans the row space of the rank-1 block H_i = G[i+1:, :i+1] (unit norm); the next block's
    row space is [a v, q], (a, q) the top right singular vector of the two columns
    [H_{i+1}[:, :i+1] v, H_{i+1}[:, i+1]] (2 x 2 Gram matrix, closed form). O(N^3 / 6) flops."""
    N = G.shape[0]
    p = np.zeros(N)
    a = np.zeros(N)
    q = np.zeros(N)
    q[0] = 1.0
    v = np.ones(1)
    for i in range(N - 1):
        p[i + 1] = G[i + 1, :i + 1] @ v
        if i + 2 == N:
            break
        y = G[i + 2:, :i + 1] @ v
        z = G[i + 2:, i + 1]
        P, Q, R = y @ y, z @ z, y @ z
        if P + Q == 0.0:  # the block below is zero: restart the sum
            ai, qi = 0.0, 1.0
        else:
            t = 0.5 * np.arctan2(2.0 * R, P - Q)
            ai, qi = np.cos(t), np.sin(t)
        a[i + 1] = ai
        q[i + 1] = qi
        v = np.append(ai * v, qi)
    return p, a, q


def _qs_lower_dense(p, a, q):
    N = p.shape[0]
    L = np.zeros((N, N))
    w = np.zeros(N)
    for i in range(N):
        L[i] = p[i] * w
        w *= a[i]
        w[i] += q[i]
    return L


def qs_generators(Abar: np.ndarray, Bbar: np.ndarray,
                  rtol: float | None = None) -> np.ndarray | None:
    """(8, N) float64 generators of Abar for lti_qs, or None when Abar is not quasiseparable
    of order 1 to rtol (default max(1e-13, 4 N eps)) times max(1, max|Abar|), entrywise.

    Rows: diag(Abar), Bbar, lower pl, al, ql, upper pu, au, qu (original index order: the
    upper part of Abar is the lower part of Abar[::-1, ::-1])."""
    Abar = np.asarray(Abar, dtype=np.float64)
    Bbar = np.asarray(Bbar, dtype=np.float64).reshape(-1)
    N = Abar.shape[0]
    if N < 2 or Abar.shape != (N, N) or Bbar.shape != (N,) or not np.all(np.isfinite(Abar)):
        return None
    if rtol is None:
        rtol = max(1e-13, 4.0 * N * np.finfo(np.float64).eps)
    pl, al, ql = _qs_lower(Abar)
    pu, au, qu = _qs_lower(Abar[::-1, ::-1])
    rec = (_qs_lower_dense(pl, al, ql) + _qs_lower_dense(pu, au, qu)[::-1, ::-1]
           + np.diag(np.diag(Abar)))
    err = np.max(np.abs(rec - Abar))
    if not np.isfinite(err) or err > rtol * max(1.0, np.max(np.abs(Abar))):
        return None
    return np.ascontiguousarray(np.stack([np.diag(Abar), Bbar, pl, al, ql,
                                          pu[::-1], au[::-1], qu[::-1]]))
