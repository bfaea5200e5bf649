"""Validation of scalar parameters, shared by every layer (one message per rule)."""

from __future__ import annotations

import math
from collections.abc import Iterable

from .errors import ParameterError


def _option(name: str) -> str | None:
    """The library parameter a message names (``flush_every``), for the CLI to show as a
    flag; None when the name is already a flag."""
    return name if name.isidentifier() else None


#: The most channels (columns) one job or file holds, in every mode.
MAX_CHANNELS = 4096


def positive_number(name: str, value: object) -> float:
    """``value`` as a finite float > 0, else :class:`ParameterError` naming ``name``."""
    try:
        v = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):
        raise ParameterError(f"{name} must be a number, got {value!r}",
                             option=_option(name)) from None
    if not math.isfinite(v) or v <= 0:
        raise ParameterError(f"{name} must be a finite number > 0, got {value!r}",
                             option=_option(name))
    return v


def integer_at_least(name: str, value: object, minimum: int = 1,
                     maximum: int | None = None) -> int:
    """``value`` as an int in [minimum, maximum] (bools and floats are refused)."""
    import numbers

    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ParameterError(f"{name} must be an integer, got {value!r}", option=_option(name))
    v = int(value)
    if v < minimum:
        raise ParameterError(f"{name} must be >= {minimum}, got {v}", option=_option(name))
    if maximum is not None and v > maximum:
        raise ParameterError(f"{name} = {v} is too large (at most {maximum})", option=_option(name))
    return v


def choice(name: str, value: object, choices: Iterable[str]) -> str:
    """The canonical (lower-case) spelling of ``value`` among ``choices``; case-insensitive."""
    options = tuple(choices)
    text = str(getattr(value, "value", value)).lower()
    if text not in options:
        raise ParameterError(f"unknown {name} {value!r} (choose from {', '.join(options)})",
                             option=_option(name))
    return text
