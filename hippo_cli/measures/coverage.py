"""Which part of the past a state describes: the one coverage rule.

A sample ``delta`` time units (or samples) before the state sits at the *lag*
:func:`lag` in the measure's own unit: for window measures the fraction of the window
(delta / theta), for fading measures delta * dt. :func:`covered` says whether the state
describes a sample at that lag: window measures the last theta (lag < 1); fading measures
while the weight e^{-lag} is at least :data:`FADING_WEIGHT_CUTOFF`; legs the whole history.
Everything else (first covered sample, default samples, timed reconstruction) derives from
these two functions.
"""

from __future__ import annotations

import math

import numpy as np

from .registry import spec

#: A fading measure's reconstruction stops where its weight e^{-lag} falls below this.
FADING_WEIGHT_CUTOFF = 1e-6


def fading_cutoff() -> float:
    """The largest lag a fading measure covers: where e^{-lag} = FADING_WEIGHT_CUTOFF."""
    return -math.log(FADING_WEIGHT_CUTOFF)


def lag(measure: str, delta: np.ndarray | float, *, theta: float | None,
        dt: float | None) -> np.ndarray:
    """The lag of samples ``delta`` before the state, in the measure's unit (window: fraction
    of theta; fading: delta * dt). Not defined for legs (scale-invariant)."""
    kind = spec(measure).coverage
    delta = np.asarray(delta, dtype=np.float64)
    if kind == "window":
        return delta / theta
    if kind == "fading":
        return delta * dt
    raise ValueError("legs has no lag: its basis depends on the history's length")


def covered(measure: str, lags: np.ndarray) -> np.ndarray:
    """Boolean mask: which lags the state describes."""
    kind = spec(measure).coverage
    lags = np.asarray(lags, dtype=np.float64)
    if kind == "window":
        return lags < 1.0
    if kind == "fading":
        return lags <= fading_cutoff()
    return np.ones(lags.shape, dtype=bool)


def reach(measure: str, *, theta: float | None, dt: float | None) -> int | None:
    """The largest whole number of samples d such that the sample d steps before the state is
    covered (None: legs, the whole history)."""
    kind = spec(measure).coverage
    if kind == "whole":
        return None
    guess = math.ceil(theta) - 1 if kind == "window" else math.floor(fading_cutoff() / dt)
    d = max(int(guess) + 1, 0)  # settle the float boundary with the rule itself
    while d > 0 and not covered(measure, lag(measure, d, theta=theta, dt=dt)):
        d -= 1
    return d


def first_covered(measure: str, step, *, theta: float | None, dt: float | None):
    """First sample index the state after ``step`` covers (int or int array; may be < 0)."""
    d = reach(measure, theta=theta, dt=dt)
    step = np.asarray(step, dtype=np.int64)
    first = np.zeros_like(step) if d is None else step - d
    return first if first.ndim else int(first)


def default_samples(measure: str, step: int, *, theta: float | None,
                    dt: float | None) -> np.ndarray:
    """Sample indices (int64, ascending) whose values the state after ``step`` describes."""
    first = first_covered(measure, step, theta=theta, dt=dt)
    return np.arange(max(first, 0), step + 1, dtype=np.int64)
