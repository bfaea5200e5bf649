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

#: The largest N of the O(N)-per-step kernels (legs and lagt with a GBT method): a state is
#: 8 N bytes per channel (0.5 MiB at the cap), so MAX_ORDER x 4096 channels (the engine's
#: MAX_CHANNELS) still fits a 2 GiB state file.
MAX_ORDER = 65_536
#: The largest N of the dense measures (every kernel "dense", and lagt with zoh): building
#: them is O(N^3) (expm / solve, and lstsq for init="steady") and every step costs N^2 per
#: channel. Measured on the 2-core reference machine under load: at N = 1024 the
#: discretisation takes 0.3-1.7 s (legt zoh 1.6 s, fout zoh 1.1 s) and lstsq 1.1-1.6 s; at
#: N = 2048 it takes 1-8 s and lstsq 9-12 s.
MAX_DENSE_ORDER = 1024
#: The largest N of the two paths that cost O(N^3): legs with zoh (its exact step is a
#: Taylor series substepped so that ||h A||_1 <= 1, and ||A||_1 grows as N^2: step k costs
#: about N^3 / k; measured: N = 512 takes 1.6 s for the first 10 samples, 15 s for 100 000;
#: N = 1024 15 s for the first 10) and the dense measures with forward Euler (their stability
#: check needs the eigenvalues: 1-3 s at N = 512, 3-11 s at N = 1024).
MAX_CUBIC_ORDER = 512


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


def max_order(measure: str, method: str | None = None) -> tuple[int, str]:
    """(the largest N the encoder accepts for ``measure`` with ``method``, why): the one
    place the caps are decided. ``method`` is a canonical name (forward, backward, bilinear,
    zoh); None: the cap of the measure's cheapest method."""
    s = spec(measure)
    if s.kernel == "legs":
        if method == "zoh":
            return MAX_CUBIC_ORDER, "legs zoh costs about N^3 / k for step k"
        return MAX_ORDER, "the state holds N floats per channel"
    if s.kernel == "lagt" and method != "zoh":
        return MAX_ORDER, "the state holds N floats per channel"
    if method == "forward":
        return MAX_CUBIC_ORDER, ("forward Euler's stability check costs N^3, dense measures "
                                 "cost N^2 per step")
    return MAX_DENSE_ORDER, "dense measures cost N^3 to set up and N^2 per step"


def check_order(N: int, measure: str | None = None, method: str | None = None) -> int:
    """Validate the number of coefficients N: an int in [1, MAX_ORDER], at most
    :func:`max_order` of the measure and method, even where the measure needs it."""
    N = integer_at_least("N", N, 1, MAX_ORDER)
    if measure is not None:
        cap, why = max_order(measure, method)
        if N > cap:
            what = f"{spec(measure).name} {method}" if method else spec(measure).name
            raise ParameterError(f"N = {N} is too large for {what} (at most {cap}: {why})")
        if spec(measure).even_order and N % 2:
            raise ParameterError(f"measure {measure!r} needs an even N (cos/sin pairs), "
                                 f"got {N}")
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
