"""The Legendre family: legs, legt, lmu and legsd (matrices and reconstruction functions).

Writing ``s_n = sqrt(2n + 1)`` (the math note's table):

======  ===============================================================  =========
name    A[n, k]                                                          B[n]
======  ===============================================================  =========
legt    -s_n s_k (n >= k);  -(-1)^(n-k) s_n s_k (n < k)   (window = 1)  s_n
legs    -(n+1) (n = k);  -s_n s_k (n > k);  0 (n < k)   (c' = (Ac+Bf)/t) s_n
lmu     D legt D^-1, D = diag((-1)^n s_n) (the LMU's scaling of LegT)   D s
legsd   A_legs + s s^T / 2 = -I/2 + skew   (LTI, S4's LegS-D)            s / 2
======  ===============================================================  =========
"""

from __future__ import annotations

import numpy as np

from . import dual


def _index_grids(N: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    n = np.arange(N, dtype=np.float64)
    row, col = np.meshgrid(np.arange(N), np.arange(N), indexing="ij")
    return n, row, col


def transition(name: str, N: int, params: dict[str, float]) -> tuple[np.ndarray, np.ndarray]:
    """(A (N, N), B (N,)) of legs, legt, lmu or legsd."""
    n, row, col = _index_grids(N)
    s = np.sqrt(2.0 * n + 1.0)
    if name in ("legt", "lmu"):
        sign = np.where(row >= col, 1.0, (-1.0) ** (row - col))
        A = -sign * np.outer(s, s)
        B = s.copy()
        if name == "lmu":  # x = D c with D = diag((-1)^n s_n)
            d = (-1.0) ** n * s
            A = d[:, None] * A / d[None, :]
            B = d * B
        return A, B
    A = np.where(row > col, -np.outer(s, s), 0.0) - np.diag(n + 1.0)
    B = s.copy()
    if name == "legsd":
        A = A + 0.5 * np.outer(s, s)
        B = 0.5 * s
    return A, B


def legs_norm1(N: int) -> float:
    """||A_legs||_1 in O(N): max over columns k of (k + 1) + s_k sum_{n>k} s_n."""
    s = np.sqrt(2.0 * np.arange(N) + 1.0)
    below = np.cumsum(s[::-1])[::-1] - s  # sum_{n>k} s_n
    return float(np.max(np.arange(1.0, N + 1.0) + s * below))


def legendre_basis(N: int, x: np.ndarray) -> np.ndarray:
    """Scaled Legendre functions ``s_n P_n(x)``; x in [-1, 1], shape (M,) -> (M, N).

    Three-term recurrence (stable on [-1, 1] for any N).
    """
    x = np.asarray(x, dtype=np.float64)
    out = np.empty((x.shape[0], N))
    p_prev = np.ones_like(x)
    out[:, 0] = p_prev
    if N > 1:
        p = x.copy()
        out[:, 1] = p
        for n in range(1, N - 1):
            p_prev, p = p, ((2 * n + 1) * x * p - n * p_prev) / (n + 1)
            out[:, n + 1] = p
    out *= np.sqrt(2.0 * np.arange(N) + 1.0)
    return out


def basis_at_position(N: int, x: np.ndarray) -> np.ndarray:
    """legs: the functions at relative positions x in [-1, 1] of the history (-1 its start,
    1 now), shape (M,) -> (M, N)."""
    return legendre_basis(N, x)


def basis_at_lag(name: str, N: int, lag: np.ndarray, params: dict[str, float]) -> np.ndarray:
    """legt: s_n P_n(1 - 2 lag); lmu: P_n(2 lag - 1) (lag as a fraction of the window);
    legsd: the numerical dual of its kernel (lag in time units). Shape (M,) -> (M, N)."""
    if name == "legt":
        return legendre_basis(N, 1.0 - 2.0 * lag)
    if name == "lmu":
        return legendre_basis(N, 2.0 * lag - 1.0) / np.sqrt(2.0 * np.arange(N) + 1.0)
    return dual.basis_at_lag((name, N), lambda: transition(name, N, params), lag)
