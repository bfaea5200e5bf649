"""The encoder's parameters: validated once, here, for the library and the CLI alike."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .. import measures
from ..checks import choice, integer_at_least, positive_number
from ..discretize import LEGS_TIMES, canonical_method, method_alpha
from ..errors import ParameterError
from ..measures.registry import time_parameter_takers

INITS = ("zero", "steady")
METHODS = ("bilinear", "exact", "zoh", "forward", "backward")  # exact = zoh
#: The range of the fixed step h in the measure's unit (h = 1/theta for window measures,
#: h = dt for fading ones): theta and 1/dt must lie in [1/MAX_STEP, 1/MIN_STEP] =
#: [1e-9, 1e15]. h A then stays finite and I - a h A invertible for every N (||A|| is at
#: most ~N^2 < 1e7), expm(h A) needs at most ~60 squarings, and the covered reach of a
#: window (theta samples) or a fading past (13.8 / dt samples) fits an int64 sample index.
MIN_STEP = 1e-15
MAX_STEP = 1e9


@dataclass(frozen=True)
class EncoderParams:
    """Everything that defines an encoder (see :class:`hippo_cli.HiPPO` for the meaning).

    ``legs_time`` is set for legs only, ``init`` for the others; ``theta``/``dt`` for the
    measures that take them; ``measure_params`` holds alpha/beta with their defaults.
    """

    measure: str
    N: int
    method: str
    theta: float | None = None
    dt: float | None = None
    legs_time: str | None = None
    init: str | None = None
    reset_every: int | None = None
    measure_params: dict[str, float] = field(default_factory=dict)

    @property
    def alpha(self) -> float | None:
        """The GBT alpha of the method (None for zoh)."""
        return method_alpha(self.method)

    @property
    def spec(self) -> measures.MeasureSpec:
        return measures.spec(self.measure)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready; ``HiPPO(**as_dict())`` rebuilds the encoder."""
        p: dict[str, Any] = {"measure": self.measure, "N": self.N, "method": self.method}
        if self.theta is not None:
            p["theta"] = self.theta
        if self.dt is not None:
            p["dt"] = self.dt
        if self.legs_time is not None:
            p["legs_time"] = self.legs_time
        if self.init is not None:
            p["init"] = self.init
        if self.reset_every is not None:
            p["reset_every"] = self.reset_every
        p.update(self.measure_params)
        return p


def resolve(
    measure: str,
    N: int,
    *,
    theta: float | None = None,
    dt: float | None = None,
    method: str = "bilinear",
    legs_time: str | None = None,
    init: str | None = None,
    reset_every: int | None = None,
    alpha: float | None = None,
    beta: float | None = None,
) -> EncoderParams:
    """Validate the encoder's parameters; a parameter given for a measure it does not apply
    to is an error (None, and the defaults ``legs_time="natural"``/``init="zero"``, are not
    'given')."""
    name = measures.check_measure(measure)
    method = canonical_method(method)
    if method == "gbt":
        raise ParameterError("the encoder takes forward, backward, bilinear or zoh")
    N = measures.check_order(N, name, method)
    time_param = measures.spec(name).time_parameter
    for key, value in (("theta", theta), ("dt", dt)):
        if value is not None and time_param != key:
            raise ParameterError(f"{key} does not apply to measure {name!r} (it applies to "
                                 f"{time_parameter_takers(key)})")
    if time_param == "theta":
        if theta is None:
            raise ParameterError(f"measure {name!r} needs theta (the window length)")
        theta = positive_number("theta", theta)
        if not MIN_STEP <= 1.0 / theta <= MAX_STEP:
            raise ParameterError(f"theta must be in [{1 / MAX_STEP:g}, {1 / MIN_STEP:g}] "
                                 f"(the step 1/theta must give a finite discretisation), "
                                 f"got {theta!r}")
    elif time_param == "dt":
        dt = 1.0 if dt is None else positive_number("dt", dt)
        if not MIN_STEP <= dt <= MAX_STEP:
            raise ParameterError(f"dt must be in [{MIN_STEP:g}, {MAX_STEP:g}] (the step must "
                                 f"give a finite discretisation), got {dt!r}")
    if legs_time is not None:
        legs_time = choice("legs_time", legs_time, LEGS_TIMES)
        if legs_time != "natural" and name != "legs":
            raise ParameterError(f"legs_time does not apply to measure {name!r} (legs only)")
    if init is not None:
        init = choice("init", init, INITS)
        if init != "zero" and name == "legs":
            raise ParameterError("init does not apply to measure 'legs' (c_0 = f_0 e_0 already)")
    if reset_every is not None:
        reset_every = integer_at_least("reset_every", reset_every)
    return EncoderParams(
        measure=name, N=N, method=method, theta=theta, dt=dt,
        legs_time=(legs_time or "natural") if name == "legs" else None,
        init=None if name == "legs" else (init or "zero"),
        reset_every=reset_every,
        measure_params=measures.measure_params(name, alpha, beta),
    )
