"""Numerical reconstruction functions for measures without a closed form (foud, legsd).

The kernel K(x) = e^{Ax} B on lags x in [0, X] and its dual functions P = K G^+ with
G = int K K^T dx, so that int K_n P_m dx = delta_nm: sum_n c_n P_n(x) is the least-norm
function whose coefficients are c (exact for signals in the span of the kernel).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable

import numpy as np

from .coverage import fading_cutoff

#: Grid of the dual functions: lags [0, fading_cutoff()] in this many steps.
GRID = 16384
_TABLES: dict[Hashable, tuple[np.ndarray, np.ndarray]] = {}
_MAX_TABLES = 16


def dual_table(key: Hashable,
               matrices: Callable[[], tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray,
                                                                                np.ndarray]:
    """(lags (GRID + 1,), dual functions (GRID + 1, N)), cached by ``key``; ``matrices()``
    gives (A, B) when the table is not cached yet."""
    if key in _TABLES:
        return _TABLES[key]
    import scipy.linalg

    A, B = matrices()
    N = len(B)
    X = fading_cutoff()
    x = np.linspace(0.0, X, GRID + 1)
    step = scipy.linalg.expm(A * (x[1] - x[0]))
    K = np.empty((len(x), N))
    k = B.copy()
    for i in range(len(x)):
        K[i] = k
        k = step @ k
    w = np.full(len(x), x[1] - x[0])  # trapezoid weights
    w[[0, -1]] /= 2
    G = K.T @ (K * w[:, None])
    P = K @ np.linalg.pinv(G, rcond=1e-13, hermitian=True)
    if len(_TABLES) >= _MAX_TABLES:
        _TABLES.pop(next(iter(_TABLES)))
    _TABLES[key] = (x, P)
    return x, P


def basis_at_lag(key: Hashable, matrices: Callable[[], tuple[np.ndarray, np.ndarray]],
                 lag: np.ndarray) -> np.ndarray:
    """The dual functions at ``lag`` (linear interpolation; 0 past the table), (M,) -> (M, N)."""
    grid, P = dual_table(key, matrices)
    return np.column_stack([np.interp(lag, grid, P[:, n], right=0.0)
                            for n in range(P.shape[1])])
