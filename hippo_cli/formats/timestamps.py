"""Sample times: the one rule that turns a time field into seconds.

A field is a number (taken as it is, in the file's own unit) or an ISO 8601 timestamp, read
by pandas' ISO 8601 parser and counted in seconds since 1970-01-01 UTC (a timestamp without a
zone is UTC). Anything else is not a time. ``compress``, ``reconstruct`` and ``stream`` all
read times through :func:`to_seconds`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import numpy as np


def to_seconds(values: Any) -> np.ndarray:
    """float64 seconds of each field (a pandas Series, or a sequence of str/bytes); fields that
    are neither a number nor an ISO 8601 timestamp become NaN."""
    import pandas as pd

    if not isinstance(values, pd.Series):
        values = pd.Series([v.decode("utf-8", "replace") if isinstance(v, bytes) else v
                            for v in values], dtype=object)
    if values.dtype.kind in "biuf":
        return values.to_numpy(dtype=np.float64, na_value=np.nan)
    text = values.astype(str).str.strip()
    numbers = np.array(pd.to_numeric(text, errors="coerce"), dtype=np.float64)
    rest = np.isnan(numbers)
    if rest.any():
        stamps = pd.to_datetime(text[rest], errors="coerce", utc=True, format="ISO8601")
        seconds = (stamps - pd.Timestamp(0, tz="UTC")) / pd.Timedelta(seconds=1)
        numbers[rest] = np.asarray(seconds, dtype=np.float64)
    return numbers


def first_unreadable(values: Sequence[Any], seconds: np.ndarray) -> int | None:
    """Index of the first field :func:`to_seconds` could not read (None: all were)."""
    bad = ~np.isfinite(seconds)
    return int(np.argmax(bad)) if bad.any() else None


# --------------------------------------------------------------------------- writing times back
_ISO = re.compile(r"^(\d{4}-\d{2}-\d{2})(?:([T ])(\d{2}:\d{2})(:\d{2})?(?:[.,](\d{1,9}))?)?"
                  r"\s*(Z|[+-]\d{2}:?\d{2})?$")


def looks_like_iso(text: str) -> bool:
    """Whether a time field is an ISO 8601 timestamp (not a number)."""
    return bool(_ISO.match(text.strip()))


def iso_pattern(text: str) -> str:
    """How an ISO timestamp is written, as a compact pattern ``<sep><unit><zone>``: sep ``T``,
    ``_`` (a space) or ``D`` (date only); unit ``m``/``s``/``3``/``6`` (minutes, seconds,
    milli-, microseconds); zone ``Z``, ``+HH:MM`` or empty (no zone: UTC). Times finer than
    a microsecond are refused (the files keep microseconds)."""
    m = _ISO.match(text.strip())
    if not m:
        return "T6Z"  # pandas read it, but not in a form we can echo: full ISO, UTC
    _, sep, _, sec, frac, zone = m.groups()
    if sep is None:
        return "D" + (zone or "")
    if frac is not None and len(frac) > 6:
        from ..errors import DataError

        raise DataError(f"time {text.strip()!r} is finer than a microsecond (hippo keeps "
                        "times to the microsecond)")
    unit = "m" if sec is None else "s" if frac is None else ("3" if len(frac) <= 3 else "6")
    if zone and zone not in ("Z",) and ":" not in zone:
        zone = zone[:3] + ":" + zone[3:]
    return ("T" if sep == "T" else "_") + unit + (zone or "")


def written_pattern(kind: str, first_time: str | None) -> str | None:
    """How to write an input's times back: the :func:`iso_pattern` of its first time when
    a text input (``kind`` csv or parquet) wrote ISO timestamps, else None (numbers)."""
    text = first_time or ""
    return iso_pattern(text) if kind in ("csv", "parquet") and looks_like_iso(text) else None


def format_times(seconds: np.ndarray, pattern: str | None) -> list[str]:
    """Times as written in the input: ISO text in ``pattern``, or numbers (integers without
    a decimal point, others as the shortest float that reads back exactly)."""
    if pattern is not None:
        return format_iso(seconds, pattern)
    return [str(int(t)) if float(t).is_integer() and abs(t) < 2**53 else repr(float(t))
            for t in np.asarray(seconds, dtype=np.float64).tolist()]


def zone_of(pattern: str) -> tuple[str, int]:
    """(zone as written, its offset from UTC in seconds) of an :func:`iso_pattern`."""
    zone = pattern[1:] if pattern[0] == "D" else pattern[2:]
    if not zone or zone == "Z":
        return zone, 0
    sign = 1 if zone[0] == "+" else -1
    return zone, sign * (int(zone[1:3]) * 3600 + int(zone[4:6]) * 60)


def local_datetimes(seconds: np.ndarray, pattern: str) -> np.ndarray:
    """Seconds since 1970 (UTC) as datetime64[us] wall-clock times in the pattern's zone (what
    a plot's date axis shows)."""
    shift = zone_of(pattern)[1]
    return np.round((np.asarray(seconds, dtype=np.float64) + shift) * 1e6).astype(
        "datetime64[us]")


def format_iso(seconds: np.ndarray, pattern: str) -> list[str]:
    """Seconds since 1970 (UTC) written as ISO text in ``pattern`` (:func:`iso_pattern`)."""
    sep, unit = pattern[0], pattern[1:2]
    if sep == "D":
        unit = "D"
    zone, shift = zone_of(pattern)
    us = np.round((np.asarray(seconds, dtype=np.float64) + shift) * 1e6).astype(np.int64)
    np_unit = {"D": "D", "m": "m", "s": "s", "3": "ms", "6": "us"}[unit]
    text = np.datetime_as_string(us.astype("datetime64[us]"), unit=np_unit)
    out = text.tolist()
    if sep == "_":
        out = [s.replace("T", " ") for s in out]
    if zone:
        out = [s + zone for s in out]
    return out
