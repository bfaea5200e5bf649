"""The Fourier family: fout (a sliding window) and foud (a decaying past).

A has rotation pairs A[2j, 2j+1] = -2 pi j, A[2j+1, 2j] = 2 pi j (j >= 1) and
b = [1, 0, sqrt2, 0, sqrt2, ...]. fout: A - 2 b b^T, B = 2 b (s4's visualisation scaling, a
window of 1 time unit; s4's library fout is half of it). foud: A - I/2, B = b.
"""

from __future__ import annotations

import math

import numpy as np

from . import dual


def _rotation_pairs(N: int, freq_scale: float) -> np.ndarray:
    A = np.zeros((N, N))
    for j in range(1, N // 2):
        A[2 * j, 2 * j + 1] = -freq_scale * j
        A[2 * j + 1, 2 * j] = freq_scale * j
    return A


def transition(name: str, N: int, params: dict[str, float]) -> tuple[np.ndarray, np.ndarray]:
    """(A (N, N), B (N,)) of fout or foud (N even)."""
    b = np.zeros(N)
    b[0::2] = math.sqrt(2.0)
    b[0] = 1.0
    if name == "fout":
        return _rotation_pairs(N, 2 * math.pi) - 2.0 * np.outer(b, b), 2.0 * b
    return _rotation_pairs(N, 2 * math.pi) - 0.5 * np.eye(N), b


def fourier_basis(N: int, lag: np.ndarray) -> np.ndarray:
    """Columns 1, 0, sqrt2 cos(2 pi j lag), sqrt2 sin(2 pi j lag), ... (pairs j = 0..N/2-1)."""
    lag = np.asarray(lag, dtype=np.float64)
    out = np.empty((lag.shape[0], N))
    for j in range(N // 2):
        out[:, 2 * j] = math.sqrt(2.0) * np.cos(2 * np.pi * j * lag)
        out[:, 2 * j + 1] = math.sqrt(2.0) * np.sin(2 * np.pi * j * lag)
    out[:, 0] = 1.0
    return out


def basis_at_lag(name: str, N: int, lag: np.ndarray, params: dict[str, float]) -> np.ndarray:
    """fout: 1, sqrt2 cos / sin(2 pi j lag) (lag as a fraction of the window); foud: the
    numerical dual of its kernel. Shape (M,) -> (M, N)."""
    if name == "fout":
        return fourier_basis(N, lag)
    return dual.basis_at_lag((name, N), lambda: transition(name, N, params), lag)
