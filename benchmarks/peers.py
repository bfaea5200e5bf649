"""The implementations hippo is measured against, written the way one would without hippo.

Each returns the final state (and computes every step). They are benchmark peers, not
references: tests/naive.py is the reference.
"""

from __future__ import annotations

import numpy as np
from numba import njit


def numpy_loop(Ad: np.ndarray, Bd: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Per-step numpy: c = Ad @ c + Bd * f (an LTI system; for LegS this is optimistic)."""
    c = np.zeros(Ad.shape[0])
    for f in u:
        c = Ad @ c + Bd * f
    return c


def numpy_legs_loop(A: np.ndarray, B: np.ndarray, u: np.ndarray) -> np.ndarray:
    """The obvious LegS loop: a bilinear step of A/tau, B/tau solved densely every sample."""
    eye = np.eye(A.shape[0])
    c = np.zeros(A.shape[0])
    c[0] = u[0]
    for k in range(1, len(u)):
        tau = k + 0.5
        c = np.linalg.solve(eye - A / (2 * tau), c + A @ c / (2 * tau) + B * (u[k] / tau))
    return c


def dlsim(Ad: np.ndarray, Bd: np.ndarray, u: np.ndarray) -> np.ndarray:
    """scipy.signal.dlsim on the discretised LTI system (state output)."""
    import scipy.signal

    N = Ad.shape[0]
    sys = (Ad, Bd[:, None], np.zeros((1, N)), np.zeros((1, 1)), 1.0)
    _, _, x = scipy.signal.dlsim(sys, u[:, None])
    return x[-1]


@njit(cache=True)
def numba_dense(Ad, Bd, u):
    """Straightforward numba: a dense matvec per step, no fastmath."""
    N = Ad.shape[0]
    c = np.zeros(N)
    new = np.empty(N)
    for f in u:
        for n in range(N):
            acc = Bd[n] * f
            for k in range(N):
                acc += Ad[n, k] * c[k]
            new[n] = acc
        c, new = new, c
    return c


@njit(cache=True)
def numba_legs_dense(A, B, u):
    """Straightforward numba LegS: dense rhs and dense forward substitution per step."""
    N = A.shape[0]
    c = np.zeros(N)
    c[0] = u[0]
    rhs = np.empty(N)
    for k in range(1, u.shape[0]):
        tau = k + 0.5
        h = 0.5 / tau
        for n in range(N):
            acc = c[n] + B[n] * u[k] / tau
            for j in range(n + 1):
                acc += h * A[n, j] * c[j]
            rhs[n] = acc
        for n in range(N):  # (I - h A) is lower triangular
            acc = rhs[n]
            for j in range(n):
                acc += h * A[n, j] * c[j]
            c[n] = acc / (1.0 - h * A[n, n])
    return c


@njit(cache=True)
def numba_legs_two_loops(u, N):
    """Straightforward O(N) LegS: one loop for A c (prefix sum), one for the solve."""
    s = np.sqrt(2.0 * np.arange(N) + 1.0)
    c = np.zeros(N)
    c[0] = u[0]
    rhs = np.empty(N)
    for k in range(1, u.shape[0]):
        tau = k + 0.5
        h = 0.5 / tau
        S = 0.0
        for n in range(N):
            Ac = -(s[n] * S + (n + 1) * c[n])
            S += s[n] * c[n]
            rhs[n] = c[n] + h * Ac + s[n] * u[k] / tau
        X = 0.0
        for n in range(N):
            c[n] = (rhs[n] - h * s[n] * X) / (1.0 + h * (n + 1))
            X += s[n] * c[n]
    return c


@njit(cache=True)
def numba_lagt_two_loops(u, N, h):
    """Straightforward O(N) LagT bilinear: A c by a running sum, then the solve."""
    c = np.zeros(N)
    rhs = np.empty(N)
    a = 0.5 * h
    for f in u:
        S = 0.0
        for n in range(N):
            Ac = -0.5 * c[n] - S
            S += c[n]
            rhs[n] = c[n] + a * Ac + h * f
        X = 0.0
        for n in range(N):
            c[n] = (rhs[n] - a * X) / (1.0 + 0.5 * a)
            X += c[n]
    return c
