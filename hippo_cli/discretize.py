"""Discretisation of the continuous HiPPO dynamics ``c' = A c + B f``.

For one step of size h the generalised bilinear transform (GBT) with parameter alpha is::

    Abar = (I - alpha h A)^-1 (I + (1 - alpha) h A)
    Bbar = (I - alpha h A)^-1 h B

alpha = 0 is forward Euler, 1 backward Euler, 1/2 bilinear (Tustin). Zero-order hold (``"zoh"``)
is exact for a piecewise-constant input: Abar = expm(h A), Bbar = A^-1 (expm(h A) - I) B, both
read off one expm of the block matrix [[A, B], [0, 0]] (so A need not be invertible).

LegS is not time-invariant (``c' = (A c + B f) / t``); its per-step rule is
:func:`legs_step_matrices`. Pure numpy/scipy.linalg, no numba.
"""

from __future__ import annotations

import numpy as np

from .errors import ParameterError

#: Canonical method names and the GBT alpha of each (zoh has none).
METHOD_ALPHA: dict[str, float | None] = {
    "forward": 0.0,
    "backward": 1.0,
    "bilinear": 0.5,
    "zoh": None,
}
#: scipy.signal.cont2discrete's names for the same methods.
METHOD_ALIASES: dict[str, str] = {
    "euler": "forward",
    "backward_diff": "backward",
    "tustin": "bilinear",
    "exact": "zoh",  # exact for piecewise-constant samples (for LegS: the exact projection)
    "gbt": "gbt",
}


def canonical_method(method: str) -> str:
    """Return ``forward``, ``backward``, ``bilinear``, ``zoh`` or ``gbt`` for a method name."""
    name = str(method).lower()
    name = METHOD_ALIASES.get(name, name)
    if name not in METHOD_ALPHA and name != "gbt":
        names = ", ".join(list(METHOD_ALPHA) + list(METHOD_ALIASES))
        raise ParameterError(f"unknown method {method!r} (choose from {names})")
    return name


def method_alpha(method: str, alpha: float | None = None) -> float | None:
    """The GBT alpha of ``method`` (``None`` for zoh). ``gbt`` needs an explicit alpha in [0, 1]."""
    name = canonical_method(method)
    if name == "gbt":
        if alpha is None or not 0.0 <= float(alpha) <= 1.0:
            raise ParameterError("method 'gbt' needs alpha in [0, 1]")
        return float(alpha)
    if alpha is not None:
        raise ParameterError(f"alpha only applies to method 'gbt', not {method!r}")
    return METHOD_ALPHA[name]


def discretize(
    A: np.ndarray,
    B: np.ndarray,
    h: float,
    method: str = "bilinear",
    alpha: float | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Discretise ``c' = A c + B f`` for one step of size ``h``.

    Parameters
    ----------
    A : array, shape (N, N)
    B : array, shape (N,)
    h : step size (> 0), in the time unit of A.
    method : ``"forward"`` (alias ``"euler"``), ``"backward"`` (``"backward_diff"``),
        ``"bilinear"`` (``"tustin"``), ``"zoh"``, or ``"gbt"`` with ``alpha`` in [0, 1].

    Returns
    -------
    Abar : float64 array, shape (N, N)
    Bbar : float64 array, shape (N,)
    """
    A = np.asarray(A, dtype=np.float64)
    B = np.asarray(B, dtype=np.float64).reshape(-1)
    N = A.shape[0]
    if A.shape != (N, N) or B.shape != (N,):
        raise ParameterError(f"A must be (N, N) and B (N,), got {A.shape} and {B.shape}")
    if not h > 0:
        raise ParameterError(f"step h must be > 0, got {h}")
    As, Bs = discretize_many(A, B, np.array([float(h)]), method, alpha)
    return np.ascontiguousarray(As[0]), Bs[0].copy()


def discretize_many(A: np.ndarray, B: np.ndarray, hs: np.ndarray, method: str = "bilinear",
                    alpha: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(Abar, Bbar) for each step length in ``hs`` (U,): shapes (U, N, N), (U, N).

    zoh reads both off one expm of the block matrix [[A h, B h], [0, 0]] (so A need not be
    invertible); the GBT methods solve (I - a h A) [Abar, Bbar] = [I + (1 - a) h A, h B].
    """
    import scipy.linalg  # lazily: 0.3 s of import time the CLI's --help must not pay

    A = np.asarray(A, dtype=np.float64)
    B = np.asarray(B, dtype=np.float64).reshape(-1)
    hs = np.asarray(hs, dtype=np.float64).reshape(-1)
    N = A.shape[0]
    a = method_alpha(method, alpha)
    if a is None:
        block = np.zeros((len(hs), N + 1, N + 1))
        block[:, :N, :N] = A * hs[:, None, None]
        block[:, :N, N] = B * hs[:, None]
        E = scipy.linalg.expm(block)
        return np.ascontiguousarray(E[:, :N, :N]), np.ascontiguousarray(E[:, :N, N])
    eye = np.eye(N)
    lhs = eye - a * hs[:, None, None] * A
    rhs = np.concatenate([eye + (1.0 - a) * hs[:, None, None] * A,
                          (hs[:, None] * B)[:, :, None]], axis=2)
    sol = np.linalg.solve(lhs, rhs)
    return np.ascontiguousarray(sol[:, :, :N]), np.ascontiguousarray(sol[:, :, N])


# --------------------------------------------------------------------------- LegS time rule
#: How LegS places step k in time: ``"natural"`` (tau = k + alpha) or ``"start"`` (tau = k).
LEGS_TIMES = ("natural", "start")


def legs_clock_time(t, t0: float, delta0: float | None):
    """The LegS clock of a timed stream: s = t - t0 + delta0, so that the first sample covers
    one first interval delta0 (1.0 before it is known) and unit-spaced times give s = k + 1."""
    return t - t0 + (delta0 or 1.0)


def legs_tau(s_prev, h, alpha: float, legs_time: str):
    """The time at which a GBT step of LegS freezes its 1/t, for a step of length ``h`` from
    clock time ``s_prev``: ``s_prev + alpha h`` (``"natural"``: forward s_prev, bilinear
    the midpoint, backward the end) or ``s_prev`` (``"start"``, the paper's eq. 11 and
    hippo-code's C++). Uniform samples: s_prev = k, h = 1."""
    return s_prev + (alpha * h if legs_time == "natural" else 0.0)


def legs_zoh_step(s_prev, h, legs_time: str):
    """The step in log-time of the exact (zoh) LegS step from clock time ``s_prev`` by ``h``:
    ln((s_prev + h) / s_prev) (``"natural"``, exact for piecewise-constant f) or
    h / s_prev (``"start"``: the system frozen at s_prev)."""
    ratio = h / s_prev
    return np.log1p(ratio) if legs_time == "natural" else ratio


def legs_step_matrices(
    A: np.ndarray,
    B: np.ndarray,
    k: int,
    method: str = "bilinear",
    legs_time: str = "natural",
    alpha: float | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Dense (Abar_k, Bbar_k) of LegS step k >= 1 (the history grows from t = k to t = k + 1).

    GBT methods apply one step (h = 1) to ``A / tau, B / tau`` with tau = k + alpha
    (``legs_time="natural"``: forward k, bilinear k + 1/2, backward k + 1) or tau = k
    (``legs_time="start"``, the paper's eq. 11 and hippo-code's C++). zoh is exact in log-time:
    ``expm(A ln((k+1)/k))`` (natural) or the frozen system ``expm(A / k)`` (start).
    Shapes: A (N, N), B (N,) -> (N, N), (N,). Meant for references and small jobs; the encoder
    uses the O(N) structured kernels.
    """
    if k < 1:
        raise ParameterError("LegS step matrices exist for k >= 1 (c_0 = f_0 e_0)")
    a = method_alpha(method, alpha)
    if legs_time not in LEGS_TIMES:
        raise ParameterError(f"unknown legs_time {legs_time!r} (choose from natural, start)")
    if a is None:
        return discretize(A, B, float(legs_zoh_step(float(k), 1.0, legs_time)), "zoh")
    tau = legs_tau(float(k), 1.0, a, legs_time)
    return discretize(np.asarray(A) / tau, np.asarray(B) / tau, 1.0, "gbt", alpha=a)
