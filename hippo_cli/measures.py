"""The HiPPO measures: continuous transition matrices and reconstruction bases.

Conventions follow ``docs/hippo-math.md`` (the shared math note) and equal the published code's
matrices (state-spaces/s4 ``visualizations.py``). Writing ``s_n = sqrt(2n + 1)``:

======  ===============================================================  =========  ============
name    A[n, k]                                                          B[n]       time scale
======  ===============================================================  =========  ============
legt    -s_n s_k (n >= k);  -(-1)^(n-k) s_n s_k (n < k)   (window = 1)  s_n        theta
lagt    -1/2 (n = k);  -1 (n > k);  0 (n < k)                           1          dt
legs    -(n+1) (n = k);  -s_n s_k (n > k);  0 (n < k)   (c' = (Ac+Bf)/t) s_n        none
======  ===============================================================  =========  ============

Everything here is plain numpy; no numba, no scipy at import time.
"""

from __future__ import annotations

import numpy as np

from .errors import ParameterError

MEASURES: tuple[str, ...] = ("legt", "lagt", "legs")

#: Which time parameter each measure takes (``None``: scale-invariant, takes none).
TIME_PARAMETER: dict[str, str | None] = {"legt": "theta", "lagt": "dt", "legs": None}

#: LagT reconstruction stops where the measure's weight e^{-lag} falls below this.
LAGT_WEIGHT_CUTOFF = 1e-6


def check_measure(measure: str) -> str:
    """Return the canonical (lower-case) measure name or raise :class:`ParameterError`."""
    name = str(measure).lower()
    if name not in MEASURES:
        raise ParameterError(f"unknown measure {measure!r} (choose from {', '.join(MEASURES)})")
    return name


def check_order(N: int) -> int:
    """Validate the number of coefficients N (an int >= 1)."""
    if isinstance(N, bool) or not isinstance(N, (int, np.integer)):
        raise ParameterError(f"N must be an integer, got {N!r}")
    if N < 1:
        raise ParameterError(f"N must be >= 1, got {N}")
    if N > 100_000:
        raise ParameterError(f"N = {N} is too large (at most 100000 coefficients)")
    return int(N)


def transition(measure: str, N: int) -> tuple[np.ndarray, np.ndarray]:
    """Continuous HiPPO matrices of ``c'(t) = A c(t) + B f(t)`` (LegS: divided by t).

    Parameters
    ----------
    measure : ``"legt"`` (window of 1 time unit), ``"lagt"`` (beta = 1) or ``"legs"``.
    N : number of coefficients.

    Returns
    -------
    A : float64 array, shape (N, N)
    B : float64 array, shape (N,)
    """
    name = check_measure(measure)
    N = check_order(N)
    n = np.arange(N, dtype=np.float64)
    s = np.sqrt(2.0 * n + 1.0)
    row, col = np.meshgrid(np.arange(N), np.arange(N), indexing="ij")
    if name == "legt":
        sign = np.where(row >= col, 1.0, (-1.0) ** (row - col))
        A = -sign * np.outer(s, s)
        B = s.copy()
    elif name == "lagt":
        A = np.where(row > col, -1.0, 0.0) - 0.5 * np.eye(N)
        B = np.ones(N)
    else:  # legs
        A = np.where(row > col, -np.outer(s, s), 0.0) - np.diag(n + 1.0)
        B = s.copy()
    return np.ascontiguousarray(A, dtype=np.float64), B.astype(np.float64)


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


def first_covered(measure: str, step, *, theta: float | None, dt: float | None):
    """First sample index the state after ``step`` covers (int or int array; may be < 0).

    legs: 0; legt: step - ceil(theta) + 1 (the last theta samples); lagt: the oldest sample
    whose weight ``e^{-(step - j) dt}`` is still at least :data:`LAGT_WEIGHT_CUTOFF`.
    """
    name = check_measure(measure)
    step = np.asarray(step, dtype=np.int64)
    if name == "legs":
        first = np.zeros_like(step)
    elif name == "legt":
        first = step - int(np.ceil(theta)) + 1
    else:
        first = step - int(np.floor(-np.log(LAGT_WEIGHT_CUTOFF) / dt))
    return first if first.ndim else int(first)


def default_samples(
    measure: str, step: int, *, theta: float | None, dt: float | None
) -> np.ndarray:
    """Sample indices (int64, ascending) whose values the state after ``step`` describes."""
    first = first_covered(measure, step, theta=theta, dt=dt)
    return np.arange(max(first, 0), step + 1, dtype=np.int64)


def eval_basis(
    measure: str,
    N: int,
    step: int | np.ndarray,
    samples: np.ndarray,
    *,
    theta: float | None = None,
    dt: float | None = None,
) -> np.ndarray:
    """Matrix M of shape (len(samples), N) such that ``M @ c`` evaluates the state after ``step``.

    ``step`` may also be an array of the samples' length (each sample its own state).

    Sample j sits at (the math note's table):
    legs: x = j + 1/2 on [0, T], T = step + 1, basis s_n P_n(2x/T - 1);
    legt: x = j + 1 on [t - theta, t], t = step + 1, basis s_n P_n(2(x - t)/theta + 1);
    lagt: lag = (step - j) dt, basis L_n(lag) e^{-lag/2}.
    Samples outside the covered history are evaluated anyway (the polynomial extrapolates).
    """
    name = check_measure(measure)
    j = np.asarray(samples, dtype=np.float64)
    step = np.asarray(step, dtype=np.float64)
    if name == "legs":
        T = step + 1.0
        return legendre_basis(N, 2.0 * (j + 0.5) / T - 1.0)
    if name == "legt":
        t = step + 1.0
        return legendre_basis(N, 2.0 * ((j + 1.0) - t) / theta + 1.0)
    return laguerre_basis(N, (step - j) * dt)
