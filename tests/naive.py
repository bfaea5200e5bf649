"""The obvious float64 reference: dense matrices built entry by entry, scipy for inverses and
matrix exponentials, one Python loop iteration per sample. Slow on purpose; it shares no code
with ``hippo_cli`` so that the two can disagree."""

from __future__ import annotations

import math

import numpy as np
import scipy.linalg

ALPHA = {"forward": 0.0, "backward": 1.0, "bilinear": 0.5}


def transition(measure: str, N: int, alpha: float = 0.0, beta: float | None = None):
    """Entry by entry, from the published formulas (provenance: tests/data/golden/README.md)."""
    if measure in EXTRA:
        return EXTRA[measure](N, alpha, beta)
    A = np.zeros((N, N))
    B = np.zeros(N)
    for n in range(N):
        sn = math.sqrt(2 * n + 1)
        for k in range(N):
            sk = math.sqrt(2 * k + 1)
            if measure == "legt":
                A[n, k] = -sn * sk if n >= k else -((-1) ** (n - k)) * sn * sk
            elif measure == "lagt":
                A[n, k] = -0.5 if n == k else (-1.0 if n > k else 0.0)
            elif measure == "legs":
                A[n, k] = -(n + 1) if n == k else (-sn * sk if n > k else 0.0)
        B[n] = 1.0 if measure == "lagt" else sn
    return A, B


def discretize(A, B, h, method):
    N = A.shape[0]
    eye = np.eye(N)
    if method == "zoh":  # Bd = int_0^h e^{sA} ds B by the augmented exponential (A may be singular)
        M = np.zeros((N + 1, N + 1))
        M[:N, :N] = h * A
        M[:N, N] = h * B
        E = scipy.linalg.expm(M)
        return E[:N, :N], E[:N, N]
    a = ALPHA[method]
    inv = np.linalg.inv(eye - a * h * A)
    return inv @ (eye + (1 - a) * h * A), inv @ (h * B)


def lti_run(measure, N, h, method, u, init="zero", alpha=0.0, beta=None):
    """Coefficients after every sample, shape (L, N) (u is 1-D)."""
    A, B = transition(measure, N, alpha, beta)
    Ad, Bd = discretize(A, B, h, method)
    c = np.zeros(N)
    if init == "steady":
        c = -np.linalg.solve(A, B) * u[0]
    out = np.empty((len(u), N))
    for k, f in enumerate(u):
        c = Ad @ c + Bd * f
        out[k] = c
    return out


def legs_matrices(N, k, method, legs_time="natural"):
    A, B = transition("legs", N)
    if method == "zoh":
        h = math.log((k + 1) / k) if legs_time == "natural" else 1.0 / k
        return discretize(A, B, h, "zoh")
    tau = k + (ALPHA[method] if legs_time == "natural" else 0.0)
    return discretize(A / tau, B / tau, 1.0, method)


def legs_run(N, method, u, legs_time="natural"):
    """LegS: c_0 = u_0 e_0, then per-step dense matrices. Shape (L, N)."""
    out = np.empty((len(u), N))
    c = np.zeros(N)
    c[0] = u[0]
    out[0] = c
    for k in range(1, len(u)):
        Ad, Bd = legs_matrices(N, k, method, legs_time)
        c = Ad @ c + Bd * u[k]
        out[k] = c
    return out


def legs_projection(N, u, t):
    """The exact LegS projection after the first t samples of u (sample j constant on
    [j, j + 1]): c_n = 1/t int_0^t f(x) s_n P_n(2x/t - 1) dx, by Gauss-Legendre quadrature on
    each sample's interval (exact: the integrand is a polynomial of degree < N there).
    u of shape (L,) gives (N,); u of shape (L, C) gives every channel at once, (C, N).
    The Legendre values are evaluated a few MB at a time (N = 256 has 129 nodes per sample:
    larger chunks are memory-bound and several times slower)."""
    nodes, weights = np.polynomial.legendre.leggauss(N // 2 + 1)
    u = np.asarray(u, dtype=np.float64)
    u2 = u.reshape(len(u), -1)
    s = np.sqrt(2 * np.arange(N) + 1)
    chunk = max(1, (1 << 19) // (len(nodes) * N))
    c = np.zeros((u2.shape[1], N))
    for lo in range(0, t, chunk):
        j = np.arange(lo, min(t, lo + chunk))
        x = (j[:, None] + (nodes[None, :] + 1) / 2) / t * 2 - 1  # (samples, nodes) in [-1, 1]
        V = np.polynomial.legendre.legvander(x, N - 1) * s
        # 1/t int over [j, j+1] = 1/t * 1/2 sum_q weights_q V(x_q)
        fw = (u2[j][:, None, :] * weights[None, :, None]).reshape(-1, u2.shape[1])
        c += fw.T @ V.reshape(-1, N)
    c /= 2 * t
    return c[0] if u.ndim == 1 else c


def legendre(n, x):
    return np.polynomial.legendre.Legendre.basis(n)(x)


def reconstruct_legs(c, step, samples):
    T = step + 1
    x = 2 * (np.asarray(samples) + 0.5) / T - 1
    return sum(c[n] * math.sqrt(2 * n + 1) * legendre(n, x) for n in range(len(c)))


def timed_run(measure, N, method, u, t, theta=None, dt=None, legs_time="natural", init="zero"):
    """Irregular times, the obvious way: per-step dense matrices from h_k = t_k - t_{k-1}.
    LegS: s = t - t_0 + (t_1 - t_0), step k on [s_{k-1}, s_k]; LegT: h / theta; LagT: h * dt.
    The first LegT/LagT step uses h_0 = t_1 - t_0."""
    A, B = transition(measure, N)
    out = np.empty((len(u), N))
    delta0 = t[1] - t[0]
    if measure == "legs":
        c = np.zeros(N)
        c[0] = u[0]
        out[0] = c
        for k in range(1, len(u)):
            h = t[k] - t[k - 1]
            s_prev = t[k - 1] - t[0] + delta0
            if method == "zoh":
                step = math.log((s_prev + h) / s_prev) if legs_time == "natural" else h / s_prev
                Ad, Bd = discretize(A, B, step, "zoh")
            else:
                tau = s_prev + (ALPHA[method] * h if legs_time == "natural" else 0.0)
                Ad, Bd = discretize(A * h / tau, B * h / tau, 1.0, method)
            c = Ad @ c + Bd * u[k]
            out[k] = c
        return out
    c = -np.linalg.solve(A, B) * u[0] if init == "steady" else np.zeros(N)
    for k in range(len(u)):
        h = delta0 if k == 0 else t[k] - t[k - 1]
        hm = h / theta if theta is not None else h * dt
        Ad, Bd = discretize(A, B, hm, method)
        c = Ad @ c + Bd * u[k]
        out[k] = c
    return out



def _lmu(N, alpha, beta):
    A = np.zeros((N, N))
    B = np.zeros(N)
    for n in range(N):
        for k in range(N):
            A[n, k] = (2 * n + 1) * (-1.0 if n < k else (-1.0) ** (n - k + 1))
        B[n] = (2 * n + 1) * (-1.0) ** n
    return A, B


def _tlagt(N, alpha, beta):
    b = 1.0 if beta is None else beta
    A = np.array([[(1 - b) / 2 - 1 if n == k else (-1.0 if n > k else 0.0) for k in range(N)]
                  for n in range(N)])
    return A, np.full(N, b)


def _glagt(N, alpha, beta):
    import scipy.special as sp

    b = 0.01 if beta is None else beta
    ell = np.sqrt(sp.gamma(np.arange(N) + alpha + 1) / sp.gamma(np.arange(N) + 1))
    A = np.zeros((N, N))
    B = np.zeros(N)
    for n in range(N):
        for k in range(N):
            base = -(1 + b) / 2 if n == k else (-1.0 if n > k else 0.0)
            A[n, k] = base * ell[k] / ell[n]
        scale = sp.gamma(1 - alpha) ** -0.5 * b ** ((1 - alpha) / 2)
        B[n] = sp.binom(n + alpha, n) / ell[n] * scale
    return A, B


def _fourier(N, scale, rank_one, shift, bscale):
    bvec = np.array([1.0 if n == 0 else (math.sqrt(2) if n % 2 == 0 else 0.0) for n in range(N)])
    A = np.zeros((N, N))
    for j in range(1, N // 2):
        A[2 * j, 2 * j + 1] = -scale * math.pi * j
        A[2 * j + 1, 2 * j] = scale * math.pi * j
    A -= rank_one * np.outer(bvec, bvec) + shift * np.eye(N)
    return A, bscale * bvec


def _legsd(N, alpha, beta):
    A, B = transition("legs", N)
    return A + 0.5 * np.outer(B, B), 0.5 * B


EXTRA = {
    "lmu": _lmu, "tlagt": _tlagt, "glagt": _glagt, "legsd": _legsd,
    "fout": lambda N, a, b: _fourier(N, 2, 2.0, 0.0, 2.0),   # s4 visualisation scaling
    "foud": lambda N, a, b: _fourier(N, 2, 0.0, 0.5, 1.0),
}


def bin_min_max(values, starts):
    """Min and max of each bin of rows (bin i: rows starts[i] .. starts[i+1]-1, the last to
    the end), NaN skipped, a bin of only NaN giving NaN; one Python loop per bin and column.
    ``values`` (L, C); returns two (B, C) arrays."""
    values = np.asarray(values, dtype=np.float64)
    ends = list(starts[1:]) + [len(values)]
    lo = np.full((len(starts), values.shape[1]), np.nan)
    hi = np.full((len(starts), values.shape[1]), np.nan)
    for i, (s, e) in enumerate(zip(starts, ends)):
        for c in range(values.shape[1]):
            kept = [float(v) for v in values[s:e, c] if not math.isnan(v)]
            if kept:
                lo[i, c], hi[i, c] = min(kept), max(kept)
    return lo, hi


def own_grid(y, eps):
    """The coarsest lm in 0..3 whose grid (step 2 eps / 2^lm) holds every value of y exactly,
    with the indices, one sample at a time; None if none does."""
    for lm in range(4):
        step = 2.0 * eps / 2**lm
        q = [round(v / step) for v in y]
        if all(float(i) * step == v for i, v in zip(q, y)):
            return lm, q
    return None


def run_levels(x, eps, lm):
    """Level best's run levels, the obvious way: each sample's admissible indices on the grid
    of step 2 eps / 2^lm (by the decoder's multiply, scanned one by one), runs as long as the
    admissible sets of their samples still share an index, and each run's index among the
    shared ones: on the coarsest grid (the largest power of two up to 2^lm dividing it),
    then the nearest to the run before's (the first run: to round(x[0] / step) clamped into
    the share), then the lower. None if a sample admits no index."""
    step = 2.0 * eps / 2**lm
    n, i, q, prev = len(x), 0, [], None

    def admissible(v):
        c, w = math.floor(v / step), 2 ** (lm + 1) + 3  # eps spans 2^lm steps each side
        return {k for k in range(c - w, c + w + 1) if abs(float(k) * step - v) <= eps}

    while i < n:
        share = admissible(x[i])
        if not share:  # a value halfway between two indices may be within eps of neither
            return None
        j = i + 1
        while j < n and share & admissible(x[j]):
            share &= admissible(x[j])
            j += 1
        if prev is None:
            near = math.floor(x[i] / step + 0.5)
            prev = min(max(near, min(share)), max(share))

        def coarseness(k):
            return next(e for e in range(lm, -1, -1) if k % 2**e == 0)

        top = max(coarseness(k) for k in share)
        level = min((k for k in share if coarseness(k) == top), key=lambda k: (abs(k - prev), k))
        q += [level] * (j - i)
        prev, i = level, j
    return q
