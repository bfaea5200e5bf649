"""The HiPPO measures: continuous transition matrices and reconstruction bases.

Conventions follow ``docs/hippo-math.md`` (the shared math note) and equal the published code's
matrices (state-spaces/s4 ``visualizations.py``). Writing ``s_n = sqrt(2n + 1)``:

======  ===============================================================  =========  ============
name    A[n, k]                                                          B[n]       time scale
======  ===============================================================  =========  ============
legt    -s_n s_k (n >= k);  -(-1)^(n-k) s_n s_k (n < k)   (window = 1)  s_n        theta
lagt    -1/2 (n = k);  -1 (n > k);  0 (n < k)                           1          dt
legs    -(n+1) (n = k);  -s_n s_k (n > k);  0 (n < k)   (c' = (Ac+Bf)/t) s_n        none
lmu     D legt D^-1, D = diag((-1)^n s_n) (the LMU's scaling of LegT)   D s        theta
tlagt   (1 - beta)/2 I - tril(1)   (tilted Laguerre)                     beta       dt
glagt   diag(1/l) (-(1+beta)/2 I - strict_tril(1)) diag(l)  (gen. Lag.)  see below  dt
fout    2 pi j rotation pairs - b b^T, b = [sqrt2, 0, 2, 0, 2, ...]      sqrt2 b    theta
foud    2 pi j rotation pairs - I/2   (decaying Fourier)                 b / sqrt2  dt
legsd   A_legs + s s^T / 2 = -I/2 + skew   (LTI, S4's LegS-D)            s / 2      dt
======  ===============================================================  =========  ============

glagt (generalised Laguerre L^(alpha), tilt beta): l_n = sqrt(Gamma(n+alpha+1)/Gamma(n+1)),
B_n = binom(n+alpha, n) / l_n Gamma(1-alpha)^(-1/2) beta^((1-alpha)/2). fout uses the scaling of
s4's visualisation code (window of 1 time unit, like legt); s4's library ``fout`` is half of it
(a window of 2 units). All but legs are time-invariant: c' = A c + B f.

Everything here is plain numpy; no numba, no scipy at import time.
"""

from __future__ import annotations

import functools
import math

import numpy as np

from .errors import ParameterError

MEASURES: tuple[str, ...] = ("legs", "legt", "lagt", "lmu", "tlagt", "glagt", "fout", "foud",
                             "legsd")

#: Which time parameter each measure takes (``None``: scale-invariant, takes none).
TIME_PARAMETER: dict[str, str | None] = {
    "legs": None, "legt": "theta", "lmu": "theta", "fout": "theta",
    "lagt": "dt", "tlagt": "dt", "glagt": "dt", "foud": "dt", "legsd": "dt",
}
#: Measure parameters and their defaults (the published code's).
MEASURE_PARAMS: dict[str, dict[str, float]] = {
    "tlagt": {"beta": 1.0}, "glagt": {"alpha": 0.0, "beta": 0.01},
}

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


def measure_params(measure: str, alpha: float | None = None,
                   beta: float | None = None) -> dict[str, float]:
    """The measure's parameters with defaults filled in; a parameter it does not take is an
    error. glagt: -1 < alpha < 1, beta > 0; tlagt: beta > 0."""
    name = check_measure(measure)
    allowed = MEASURE_PARAMS.get(name, {})
    given = {"alpha": alpha, "beta": beta}
    out = dict(allowed)
    for key, value in given.items():
        if value is None:
            continue
        if key not in allowed:
            raise ParameterError(f"{key} does not apply to measure {name!r}")
        out[key] = float(value)
    if "beta" in out and not out["beta"] > 0:
        raise ParameterError(f"beta must be > 0, got {out['beta']}")
    if "alpha" in out and not -1 < out["alpha"] < 1:
        raise ParameterError(f"alpha must be in (-1, 1), got {out['alpha']}")
    return out


def _laguerre_scale(N: int, alpha: float) -> np.ndarray:
    """l_n = sqrt(Gamma(n + alpha + 1) / Gamma(n + 1)), the norm of L_n^(alpha)."""
    return np.array([math.exp(0.5 * (math.lgamma(n + alpha + 1) - math.lgamma(n + 1)))
                     for n in range(N)])


def _fourier_pairs(N: int, freq_scale: float) -> np.ndarray:
    """Rotation pairs: A[2j, 2j+1] = -f j, A[2j+1, 2j] = +f j (j >= 1)."""
    A = np.zeros((N, N))
    for j in range(1, N // 2):
        A[2 * j, 2 * j + 1] = -freq_scale * j
        A[2 * j + 1, 2 * j] = freq_scale * j
    return A


def transition(measure: str, N: int, *, alpha: float | None = None,
               beta: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Continuous HiPPO matrices of ``c'(t) = A c(t) + B f(t)`` (LegS: divided by t).

    Parameters
    ----------
    measure : one of :data:`MEASURES` (table in the module docstring).
    N : number of coefficients (fout and foud: even).
    alpha, beta : glagt (alpha, beta) and tlagt (beta) parameters; defaults as published.

    Returns
    -------
    A : float64 array, shape (N, N)
    B : float64 array, shape (N,)
    """
    name = check_measure(measure)
    N = check_order(N)
    p = measure_params(name, alpha, beta)
    n = np.arange(N, dtype=np.float64)
    s = np.sqrt(2.0 * n + 1.0)
    row, col = np.meshgrid(np.arange(N), np.arange(N), indexing="ij")
    tril = np.where(row >= col, 1.0, 0.0)
    if name in ("fout", "foud") and N % 2:
        raise ParameterError(f"measure {name!r} needs an even N (cos/sin pairs), got {N}")
    if name in ("legt", "lmu"):
        sign = np.where(row >= col, 1.0, (-1.0) ** (row - col))
        A = -sign * np.outer(s, s)
        B = s.copy()
        if name == "lmu":  # x = D c with D = diag((-1)^n s_n)
            d = (-1.0) ** n * s
            A = d[:, None] * A / d[None, :]
            B = d * B
    elif name == "lagt":
        A = 0.5 * np.eye(N) - tril
        B = np.ones(N)
    elif name == "tlagt":
        A = (1.0 - p["beta"]) / 2 * np.eye(N) - tril
        B = np.full(N, p["beta"])
    elif name == "glagt":
        a, b = p["alpha"], p["beta"]
        ell = _laguerre_scale(N, a)
        A0 = -(1.0 + b) / 2 * np.eye(N) - (tril - np.eye(N))
        A = A0 * ell[None, :] / ell[:, None]
        binom = np.array([math.exp(math.lgamma(k + a + 1) - math.lgamma(k + 1) - math.lgamma(a + 1))
                          for k in range(N)])
        B = binom / ell * math.exp(-0.5 * math.lgamma(1.0 - a)) * b ** ((1.0 - a) / 2)
    elif name in ("fout", "foud"):
        b = np.zeros(N)
        b[0::2] = math.sqrt(2.0)
        b[0] = 1.0
        if name == "fout":  # s4 visualisation scaling: 2 x s4's library fout
            A = _fourier_pairs(N, 2 * math.pi) - 2.0 * np.outer(b, b)
            B = 2.0 * b
        else:
            A = _fourier_pairs(N, 2 * math.pi) - 0.5 * np.eye(N)
            B = b
    else:  # legs and legsd
        A = np.where(row > col, -np.outer(s, s), 0.0) - np.diag(n + 1.0)
        B = s.copy()
        if name == "legsd":
            A = A + 0.5 * np.outer(s, s)
            B = 0.5 * s
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


WINDOW_MEASURES = ("legt", "lmu", "fout")  # remember the last theta samples exactly
FADING_MEASURES = ("lagt", "tlagt", "glagt", "foud", "legsd")  # an exponentially fading past


def fading_cutoff() -> float:
    """Lag (in the measure's time unit) beyond which a fading measure's samples are not
    reconstructed: where the weight e^{-lag} falls below :data:`LAGT_WEIGHT_CUTOFF`."""
    return -math.log(LAGT_WEIGHT_CUTOFF)


def first_covered(measure: str, step, *, theta: float | None, dt: float | None):
    """First sample index the state after ``step`` covers (int or int array; may be < 0).

    legs: 0; window measures: step - ceil(theta) + 1 (the last theta samples); fading
    measures: the oldest sample whose weight ``e^{-(step - j) dt}`` is still at least
    :data:`LAGT_WEIGHT_CUTOFF`.
    """
    name = check_measure(measure)
    step = np.asarray(step, dtype=np.int64)
    if name == "legs":
        first = np.zeros_like(step)
    elif name in WINDOW_MEASURES:
        first = step - int(np.ceil(theta)) + 1
    else:
        first = step - int(np.floor(fading_cutoff() / dt))
    return first if first.ndim else int(first)


def default_samples(
    measure: str, step: int, *, theta: float | None, dt: float | None
) -> np.ndarray:
    """Sample indices (int64, ascending) whose values the state after ``step`` describes."""
    first = first_covered(measure, step, theta=theta, dt=dt)
    return np.arange(max(first, 0), step + 1, dtype=np.int64)


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


def fourier_basis(N: int, lag: np.ndarray) -> np.ndarray:
    """Columns 1, 0, sqrt2 cos(2 pi j lag), sqrt2 sin(2 pi j lag), ... (pairs j = 0..N/2-1)."""
    lag = np.asarray(lag, dtype=np.float64)
    out = np.empty((lag.shape[0], N))
    for j in range(N // 2):
        out[:, 2 * j] = math.sqrt(2.0) * np.cos(2 * np.pi * j * lag)
        out[:, 2 * j + 1] = math.sqrt(2.0) * np.sin(2 * np.pi * j * lag)
    out[:, 0] = 1.0
    return out


#: Grid of the numerically derived (dual) bases: lags [0, fading_cutoff()] in this many steps.
_DUAL_GRID = 16384


@functools.lru_cache(maxsize=16)
def _dual_basis_table(measure: str, N: int) -> tuple[np.ndarray, np.ndarray]:
    """For measures without a closed-form basis (foud, legsd): the kernel K(x) = e^{Ax} B,
    x in [0, X], and its dual functions P = K G^+ with G = int K K^T dx, so that
    int K_n P_m dx = delta_nm: sum_n c_n P_n(x) is the least-norm function whose coefficients
    are c (exact for signals in the span of the kernel)."""
    import scipy.linalg

    A, B = transition(measure, N)
    X = fading_cutoff()
    x = np.linspace(0.0, X, _DUAL_GRID + 1)
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
    return x, P


def basis_at_lag(measure: str, N: int, lag: np.ndarray, *, alpha: float | None = None,
                 beta: float | None = None) -> np.ndarray:
    """Reconstruction functions of a time-invariant measure at ``lag`` (how long ago, in the
    measure's time unit; window measures: as a fraction of the window), shape (M, N).

    legt: s_n P_n(1 - 2 lag); lmu: P_n(2 lag - 1); fout: 1, sqrt2 cos / sin(2 pi j lag);
    lagt: L_n(lag) e^{-lag/2}; tlagt: L_n(lag) e^{(beta-1) lag/2} / beta;
    glagt: lag^alpha e^{-(1-beta) lag/2} L_n^(alpha)(lag) / (l_n C),
    C = Gamma(1-alpha)^(-1/2) beta^((1-alpha)/2) - each the biorthogonal partner of its
    kernel e^{A x} B (int kernel_n basis_m = delta_nm); foud, legsd: the numerical dual basis.
    """
    name = check_measure(measure)
    p = measure_params(name, alpha, beta)
    lag = np.asarray(lag, dtype=np.float64)
    if name == "legt":
        return legendre_basis(N, 1.0 - 2.0 * lag)
    if name == "lmu":
        return legendre_basis(N, 2.0 * lag - 1.0) / np.sqrt(2.0 * np.arange(N) + 1.0)
    if name == "fout":
        return fourier_basis(N, lag)
    if name == "lagt":
        return laguerre_basis(N, lag)
    if name == "tlagt":
        b = p["beta"]
        return genlaguerre_basis(N, 0.0, lag) * (np.exp((b - 1.0) * lag / 2) / b)[:, None]
    if name == "glagt":
        a, b = p["alpha"], p["beta"]
        C = math.exp(-0.5 * math.lgamma(1.0 - a)) * b ** ((1.0 - a) / 2)
        weight = np.power(lag, a) * np.exp(-(1.0 - b) * lag / 2) / C
        return genlaguerre_basis(N, a, lag) * weight[:, None] / _laguerre_scale(N, a)[None, :]
    if name in ("foud", "legsd"):
        grid, P = _dual_basis_table(name, N)
        return np.column_stack([np.interp(lag, grid, P[:, n], right=0.0) for n in range(N)])
    raise ParameterError(f"measure {name!r} has no lag basis (legs is scale-invariant)")


def eval_basis(
    measure: str,
    N: int,
    step: int | np.ndarray,
    samples: np.ndarray,
    *,
    theta: float | None = None,
    dt: float | None = None,
    alpha: float | None = None,
    beta: float | None = None,
) -> np.ndarray:
    """Matrix M of shape (len(samples), N) such that ``M @ c`` evaluates the state after ``step``.

    ``step`` may also be an array of the samples' length (each sample its own state).

    Sample j sits at (the math note's table):
    legs: x = j + 1/2 on [0, T], T = step + 1, basis s_n P_n(2x/T - 1);
    window measures (legt: x = j + 1 on [t - theta, t], t = step + 1): lag (step - j) / theta;
    fading measures: lag (step - j) dt; bases in :func:`basis_at_lag`.
    Samples outside the covered history are evaluated anyway (the functions extrapolate).
    """
    name = check_measure(measure)
    j = np.asarray(samples, dtype=np.float64)
    step = np.asarray(step, dtype=np.float64)
    if name == "legs":
        T = step + 1.0
        return legendre_basis(N, 2.0 * (j + 0.5) / T - 1.0)
    if name in WINDOW_MEASURES:
        lag = (step - j) / theta
    else:
        lag = (step - j) * dt
    return basis_at_lag(name, N, np.broadcast_to(lag, j.shape), alpha=alpha, beta=beta)
