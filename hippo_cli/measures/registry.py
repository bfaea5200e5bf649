"""The registry of HiPPO measures: one entry per measure, everything else looks them up here.

Plain Python (no numpy), so the CLI can list the measures without importing the maths.
A measure's matrices and reconstruction functions live in the module of its family
(``legendre``, ``laguerre``, ``fourier``), named by :attr:`MeasureSpec.family`.

To add a measure: one :class:`MeasureSpec` below, its ``transition`` branch and
``basis_at_lag`` branch in the family module, and (only if it has a fast structured step) a
kernel in ``hippo_cli._kernels`` chosen in ``hippo_cli.engine.stepper``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..checks import choice, integer_at_least
from ..errors import ParameterError

#: The largest N accepted (the dense measures cost O(N^2) memory and time per step).
MAX_ORDER = 100_000


@dataclass(frozen=True)
class MeasureSpec:
    """What the rest of the package needs to know about a measure.

    name : the key (lower case).
    family : module of ``hippo_cli.measures`` with its ``transition`` and ``basis_at_lag``.
    summary : one line for help texts.
    time_parameter : ``"theta"`` (window length), ``"dt"`` (step in the measure's time unit)
        or None (scale-invariant legs).
    coverage : which past a state describes: ``"whole"`` (all samples so far), ``"window"``
        (the last theta samples), ``"fading"`` (weight e^{-lag}, cut where it is tiny).
    kernel : the fast step: ``"legs"`` / ``"lagt"`` (O(N) structured), ``"dense"`` (the
        discretised matrix).
    params : the measure's own parameters and their (published) defaults.
    even_order : N must be even (cos/sin pairs).
    """

    name: str
    family: str
    summary: str
    time_parameter: str | None
    coverage: str
    kernel: str
    params: dict[str, float] = field(default_factory=dict)
    even_order: bool = False


SPECS: tuple[MeasureSpec, ...] = (
    MeasureSpec("legs", "legendre", "the whole history (scaled Legendre)", None, "whole",
                "legs"),
    MeasureSpec("legt", "legendre", "a sliding window of theta samples (translated Legendre)",
                "theta", "window", "dense"),
    MeasureSpec("lagt", "laguerre", "a fading past, weight e^-lag (Laguerre)", "dt", "fading",
                "lagt"),
    MeasureSpec("lmu", "legendre", "a sliding window, the LMU's scaling of legt", "theta",
                "window", "dense"),
    MeasureSpec("tlagt", "laguerre", "a fading past, tilted Laguerre", "dt", "fading", "dense",
                {"beta": 1.0}),
    MeasureSpec("glagt", "laguerre", "a fading past, generalised Laguerre", "dt", "fading",
                "dense", {"alpha": 0.0, "beta": 0.01}),
    MeasureSpec("fout", "fourier", "a sliding window, truncated Fourier", "theta", "window",
                "dense", even_order=True),
    MeasureSpec("foud", "fourier", "a fading past, decaying Fourier", "dt", "fading", "dense",
                even_order=True),
    MeasureSpec("legsd", "legendre", "a fading past, S4's diagonal-plus-low-rank LegS", "dt",
                "fading", "dense"),
)

_BY_NAME = {s.name: s for s in SPECS}
MEASURES: tuple[str, ...] = tuple(_BY_NAME)


def measures_with(**wanted: object) -> tuple[str, ...]:
    """Names of the measures whose spec fields equal ``wanted`` (e.g. ``coverage="window"``)."""
    return tuple(s.name for s in SPECS if all(getattr(s, k) == v for k, v in wanted.items()))


def spec(measure: str) -> MeasureSpec:
    """The spec of ``measure`` (case-insensitive), or :class:`ParameterError`."""
    return _BY_NAME[check_measure(measure)]


def check_measure(measure: str) -> str:
    """Return the canonical (lower-case) measure name or raise :class:`ParameterError`."""
    return choice("measure", measure, MEASURES)


def check_order(N: int, measure: str | None = None) -> int:
    """Validate the number of coefficients N (an int in [1, MAX_ORDER]; even where the
    measure needs it)."""
    N = integer_at_least("N", N, 1, MAX_ORDER)
    if measure is not None and spec(measure).even_order and N % 2:
        raise ParameterError(f"measure {measure!r} needs an even N (cos/sin pairs), got {N}")
    return N


def measure_params(measure: str, alpha: float | None = None,
                   beta: float | None = None) -> dict[str, float]:
    """The measure's parameters with defaults filled in; a parameter it does not take is an
    error. glagt: -1 < alpha < 1, beta > 0; tlagt: beta > 0."""
    s = spec(measure)
    out = dict(s.params)
    for key, value in {"alpha": alpha, "beta": beta}.items():
        if value is None:
            continue
        if key not in s.params:
            takers = ", ".join(m.name for m in SPECS if key in m.params)
            raise ParameterError(f"{key} does not apply to measure {s.name!r} "
                                 f"(it applies to {takers})")
        try:
            out[key] = float(value)
        except (TypeError, ValueError):
            raise ParameterError(f"{key} must be a number, got {value!r}") from None
    if "beta" in out and not (0 < out["beta"] < float("inf")):
        raise ParameterError(f"beta must be a finite number > 0, got {out['beta']}")
    if "alpha" in out and not -1 < out["alpha"] < 1:
        raise ParameterError(f"alpha must be in (-1, 1), got {out['alpha']}")
    return out


def time_parameter_takers(parameter: str) -> str:
    """``"legt, lmu, fout"``: the measures that take ``theta`` (or ``dt``)."""
    return ", ".join(measures_with(time_parameter=parameter))
