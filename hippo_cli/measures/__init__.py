"""The HiPPO measures: continuous transition matrices and reconstruction functions.

Conventions follow the shared math note (``docs/hippo-math.md``) and equal the published
code's matrices (state-spaces/s4 ``visualizations.py``). Each measure is one entry of
:data:`registry.SPECS`; its matrices and functions live in the module of its family:

* :mod:`.legendre`: legs (the whole history), legt and lmu (a window), legsd (fading);
* :mod:`.laguerre`: lagt, tlagt, glagt (a fading past);
* :mod:`.fourier`: fout (a window), foud (fading);
* :mod:`.dual`: numerical reconstruction functions where no closed form exists;
* :mod:`.coverage`: which past a state describes.

All but legs are time-invariant: c' = A c + B f; legs is c' = (A c + B f) / t.
Plain numpy; scipy only for the dual functions.
"""

from __future__ import annotations

import importlib

import numpy as np

from ..discretize import legs_clock_time
from .coverage import (
    FADING_WEIGHT_CUTOFF,
    covered,
    default_samples,
    fading_cutoff,
    first_covered,
    lag,
)
from .registry import (
    MAX_CUBIC_ORDER,
    MAX_DENSE_ORDER,
    MAX_ORDER,
    MEASURES,
    SPECS,
    MeasureSpec,
    check_measure,
    check_order,
    max_order,
    measure_params,
    measures_with,
    spec,
)

WINDOW_MEASURES = measures_with(coverage="window")
FADING_MEASURES = measures_with(coverage="fading")


def _family(measure: str):
    return importlib.import_module(f"{__name__}.{spec(measure).family}")


def transition(measure: str, N: int, *, alpha: float | None = None,
               beta: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Continuous HiPPO matrices of ``c'(t) = A c(t) + B f(t)`` (LegS: divided by t).

    Parameters
    ----------
    measure : one of :data:`MEASURES`.
    N : number of coefficients (fout and foud: even).
    alpha, beta : glagt (alpha, beta) and tlagt (beta) parameters; defaults as published.

    Returns
    -------
    A : float64 array, shape (N, N)
    B : float64 array, shape (N,)
    """
    name = check_measure(measure)
    N = check_order(N, name)
    p = measure_params(name, alpha, beta)
    A, B = _family(name).transition(name, N, p)
    return np.ascontiguousarray(A, dtype=np.float64), np.asarray(B, dtype=np.float64)


def legs_norm1(N: int) -> float:
    """||A||_1 of legs (the largest column sum of |A|) in O(N), without building A: column k
    holds k + 1 on the diagonal and s_n s_k below it, so its sum is
    (k + 1) + s_k sum_{n>k} s_n with s_n = sqrt(2n + 1)."""
    from .legendre import legs_norm1 as norm1

    return norm1(N)


def legendre_basis(N: int, x: np.ndarray) -> np.ndarray:
    """Scaled Legendre functions ``s_n P_n(x)``; x in [-1, 1], shape (M,) -> (M, N)."""
    from .legendre import legendre_basis as basis

    return basis(N, x)


def laguerre_basis(N: int, lag: np.ndarray) -> np.ndarray:
    """Laguerre functions ``L_n(lag) e^{-lag/2}``; lag >= 0, shape (M,) -> (M, N)."""
    from .laguerre import laguerre_basis as basis

    return basis(N, lag)


def basis_at_lag(measure: str, N: int, lag: np.ndarray, *, alpha: float | None = None,
                 beta: float | None = None) -> np.ndarray:
    """Reconstruction functions of a time-invariant measure at ``lag`` (how long ago, in the
    measure's unit: window measures a fraction of the window), shape (M,) -> (M, N).

    Each is the biorthogonal partner of its kernel e^{A x} B (int kernel_n basis_m =
    delta_nm); see the family modules for the formulas.
    """
    name = check_measure(measure)
    if spec(name).coverage == "whole":
        raise ValueError(f"measure {name!r} has no lag basis (it is scale-invariant)")
    p = measure_params(name, alpha, beta)
    return _family(name).basis_at_lag(name, N, np.asarray(lag, dtype=np.float64), p)


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
    window and fading measures: lag (step - j) in the units of :func:`coverage.lag`.
    Samples outside the covered history are evaluated anyway (the functions extrapolate).
    """
    name = check_measure(measure)
    j = np.asarray(samples, dtype=np.float64)
    step = np.asarray(step, dtype=np.float64)
    if spec(name).coverage == "whole":
        T = step + 1.0
        return _family(name).basis_at_position(N, 2.0 * (j + 0.5) / T - 1.0)
    lags = lag(name, step - j, theta=theta, dt=dt)
    return basis_at_lag(name, N, np.broadcast_to(lags, j.shape), alpha=alpha, beta=beta)


def eval_basis_at_times(
    measure: str,
    N: int,
    state_time: float,
    times: np.ndarray,
    prev_time: float | None,
    *,
    origin: tuple[float, float | None],
    theta: float | None = None,
    dt: float | None = None,
    alpha: float | None = None,
    beta: float | None = None,
) -> np.ndarray:
    """Timed streams: matrix (len(times), N) evaluating the state taken at ``state_time`` at
    the samples' ``times`` (ascending, consecutive samples).

    legs places each sample at the middle of its interval (s_{j-1}, s_j] on the clock of
    :func:`hippo_cli.discretize.legs_clock_time` (``origin`` = (t0, first interval)); the
    time of the sample before ``times[0]`` is ``prev_time`` (None: ``times[0]`` is the first
    sample of the stream). The other measures use the lag ``state_time - t``.
    """
    name = check_measure(measure)
    times = np.asarray(times, dtype=np.float64)
    if spec(name).coverage == "whole":
        t0, delta0 = origin
        before = 0.0 if prev_time is None else legs_clock_time(prev_time, t0, delta0)
        st = legs_clock_time(times, t0, delta0)
        mid = (np.r_[before, st[:-1]] + st) / 2
        now = legs_clock_time(state_time, t0, delta0)
        return _family(name).basis_at_position(N, 2.0 * mid / now - 1.0)
    lags = lag(name, state_time - times, theta=theta, dt=dt)
    return basis_at_lag(name, N, lags, alpha=alpha, beta=beta)


__all__ = [
    "FADING_MEASURES",
    "FADING_WEIGHT_CUTOFF",
    "MAX_CUBIC_ORDER",
    "MAX_DENSE_ORDER",
    "MAX_ORDER",
    "MEASURES",
    "SPECS",
    "WINDOW_MEASURES",
    "MeasureSpec",
    "basis_at_lag",
    "check_measure",
    "check_order",
    "covered",
    "default_samples",
    "eval_basis",
    "eval_basis_at_times",
    "fading_cutoff",
    "first_covered",
    "lag",
    "laguerre_basis",
    "legendre_basis",
    "legs_norm1",
    "max_order",
    "measure_params",
    "spec",
    "transition",
]
