"""The Laguerre family: lagt, tlagt and glagt (matrices and reconstruction functions).

======  ===============================================================  =========
name    A[n, k]                                                          B[n]
======  ===============================================================  =========
lagt    -1/2 (n = k);  -1 (n > k);  0 (n < k)                           1
tlagt   (1 - beta)/2 I - tril(1)   (tilted Laguerre)                     beta
glagt   diag(1/l) (-(1+beta)/2 I - strict_tril(1)) diag(l)  (gen. Lag.)  see below
======  ===============================================================  =========

glagt (generalised Laguerre L^(alpha), tilt beta): l_n = sqrt(Gamma(n+alpha+1)/Gamma(n+1)),
B_n = binom(n+alpha, n) / l_n Gamma(1-alpha)^(-1/2) beta^((1-alpha)/2).
"""

from __future__ import annotations

import math

import numpy as np


def laguerre_scale(N: int, alpha: float) -> np.ndarray:
    """l_n = sqrt(Gamma(n + alpha + 1) / Gamma(n + 1)), the norm of L_n^(alpha)."""
    return np.array([math.exp(0.5 * (math.lgamma(n + alpha + 1) - math.lgamma(n + 1)))
                     for n in range(N)])


def transition(name: str, N: int, params: dict[str, float]) -> tuple[np.ndarray, np.ndarray]:
    """(A (N, N), B (N,)) of lagt, tlagt or glagt."""
    tril = np.tri(N)
    if name == "lagt":
        return 0.5 * np.eye(N) - tril, np.ones(N)
    if name == "tlagt":
        return (1.0 - params["beta"]) / 2 * np.eye(N) - tril, np.full(N, params["beta"])
    a, b = params["alpha"], params["beta"]
    ell = laguerre_scale(N, a)
    A0 = -(1.0 + b) / 2 * np.eye(N) - (tril - np.eye(N))
    A = A0 * ell[None, :] / ell[:, None]
    binom = np.array([math.exp(math.lgamma(k + a + 1) - math.lgamma(k + 1) - math.lgamma(a + 1))
                      for k in range(N)])
    B = binom / ell * math.exp(-0.5 * math.lgamma(1.0 - a)) * b ** ((1.0 - a) / 2)
    return A, B


def laguerre_basis(N: int, lag: np.ndarray) -> np.ndarray:
    """Laguerre functions ``L_n(lag) e^{-lag/2}``; lag >= 0, shape (M,) -> (M, N)."""
    lag = np.asarray(lag, dtype=np.float64)
    out = np.empty((lag.shape[0], N))
    p_prev = np.ones_like(lag)
    out[:, 0] = p_prev
    if N > 1:
        p = 1.0 - lag
        out[:, 1] = p
        for n in range(1, N - 1):
            p_prev, p = p, ((2 * n + 1 - lag) * p - n * p_prev) / (n + 1)
            out[:, n + 1] = p
    out *= np.exp(-lag / 2.0)[:, None]
    return out


def genlaguerre_basis(N: int, alpha: float, x: np.ndarray) -> np.ndarray:
    """Generalised Laguerre polynomials L_n^(alpha)(x), shape (M,) -> (M, N)."""
    x = np.asarray(x, dtype=np.float64)
    out = np.empty((x.shape[0], N))
    p_prev = np.ones_like(x)
    out[:, 0] = p_prev
    if N > 1:
        p = 1.0 + alpha - x
        out[:, 1] = p
        for n in range(1, N - 1):
            p_prev, p = p, ((2 * n + 1 + alpha - x) * p - (n + alpha) * p_prev) / (n + 1)
            out[:, n + 1] = p
    return out


def basis_at_lag(name: str, N: int, lag: np.ndarray, params: dict[str, float]) -> np.ndarray:
    """lagt: L_n(lag) e^{-lag/2}; tlagt: L_n(lag) e^{(beta-1) lag/2} / beta;
    glagt: lag^alpha e^{-(1-beta) lag/2} L_n^(alpha)(lag) / (l_n C),
    C = Gamma(1-alpha)^(-1/2) beta^((1-alpha)/2). Shape (M,) -> (M, N)."""
    if name == "lagt":
        return laguerre_basis(N, lag)
    if name == "tlagt":
        b = params["beta"]
        return genlaguerre_basis(N, 0.0, lag) * (np.exp((b - 1.0) * lag / 2) / b)[:, None]
    a, b = params["alpha"], params["beta"]
    C = math.exp(-0.5 * math.lgamma(1.0 - a)) * b ** ((1.0 - a) / 2)
    weight = np.power(lag, a) * np.exp(-(1.0 - b) * lag / 2) / C
    return genlaguerre_basis(N, a, lag) * weight[:, None] / laguerre_scale(N, a)[None, :]
