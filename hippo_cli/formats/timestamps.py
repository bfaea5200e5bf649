"""Sample times: the one rule that turns a time field into seconds.

A field is a number (taken as it is, in the file's own unit) or an ISO 8601 timestamp, read
by pandas' ISO 8601 parser and counted in seconds since 1970-01-01 UTC (a timestamp without a
zone is UTC). Anything else is not a time. ``compress``, ``reconstruct`` and ``stream`` all
read times through :func:`to_seconds`.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from ..codec.times import Times


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


_INT = re.compile(r"[+-]?\d+")


def read_times(values: Any, time_format: str | None = None
               ) -> tuple[Times | None, int | None]:
    """The exact times of a column (a pandas Series, or a sequence of str/bytes): integers
    (kept exact, to 64 bits), other numbers (correctly rounded float64), or ISO 8601 text
    (each line's precision, separator and zone kept; see :mod:`hippo_cli.codec.times`);
    with ``time_format``, text in that layout (``%d/%m/%Y %H.%M.%S``).
    Returns (Times, None), or (None, index of the first field that is none of these, or
    empty, or an integer beyond 64 bits). The one rule of every reader."""
    import pandas as pd

    from ..codec.times import Times, parse_iso

    if time_format is not None:
        texts = [v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v)
                 for v in (values.tolist() if isinstance(values, pd.Series) else values)]
        return parse_iso(texts, time_format) if texts else (Times.numbers(np.empty(0)), None)

    if isinstance(values, pd.Series) and values.dtype.kind in "iu":
        if values.dtype.kind == "u" and len(values) and int(values.max()) >= 2**63:
            return None, int(np.argmax(values.to_numpy() >= 2**63))
        return Times.numbers(values.to_numpy(dtype=np.int64)), None
    if isinstance(values, pd.Series) and values.dtype.kind == "f":
        t = values.to_numpy(dtype=np.float64)
        bad = ~np.isfinite(t)
        return (None, int(np.argmax(bad))) if bad.any() else (Times.numbers(t), None)
    texts = [v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v)
             for v in (values.tolist() if isinstance(values, pd.Series) else values)]
    texts = [t.strip() for t in texts]
    if not texts:
        return Times.numbers(np.empty(0)), None
    if not looks_like_iso(texts[0]):
        return _numbers(texts)
    return parse_iso(texts)


_FIRST_SECOND = -62167219200  # 0000-01-01T00:00:00
_END_SECOND = 253402300800  # 10000-01-01T00:00:00


def times_of_datetimes(series: Any, fraction_digits: int | None = None) -> Times:
    """The exact times of a pandas datetime column (a Parquet timestamp column): ISO times
    with as many fraction digits as the values need (``fraction_digits``: that many, at
    least as many as the column's unit has: 0, 3, 6 or 9), in the column's zone (``Z`` for
    UTC, each row's offset for a named zone, none for naive times)."""
    import pandas as pd

    from ..codec.times import NANOS, Times, seconds_of

    tz = getattr(series.dtype, "tz", None)
    utc = pd.to_datetime(series, utc=True) if tz is not None else series
    # In the column's own unit (s, ms, us or ns): a cast to nanoseconds would wrap the
    # dates pandas' nanoseconds cannot hold (before 1677, after 2262) without a word.
    unit = series.dt.unit
    per_second = {"s": 1, "ms": 10**3, "us": 10**6, "ns": 10**9}[unit]
    ticks = utc.dt.tz_localize(None) if tz is not None else utc
    ticks = ticks.to_numpy(dtype=f"datetime64[{unit}]").astype(np.int64)
    secs, rest = np.divmod(ticks, per_second)
    nanos = rest * (NANOS // per_second)
    digits = fraction_digits if fraction_digits is not None else \
        next((d for d in (0, 3, 6) if not np.any(nanos % 10 ** (9 - d))), 9)
    body = "####-##-##T##:##:##" + ("." + "#" * digits if digits else "")
    if tz is None:
        zones = np.zeros(len(ticks), np.int64)
        names = {0: ""}
    else:
        # Offsets from pandas' zone rules, away from the ends of years 0001-9999 (where its
        # conversion overflows); a row whose offset ISO text cannot write (local mean time,
        # +00:53:28 in Berlin before 1893) or whose local date leaves years 0000-9999 keeps
        # its instant, written in UTC (+00:00).
        zones = np.zeros(len(ticks), np.int64)
        inner = (secs > _FIRST_SECOND + 86400) & (secs < _END_SECOND - 86400)
        if inner.any():
            local = series[inner].dt.tz_localize(None).to_numpy(dtype=f"datetime64[{unit}]")
            zones[inner] = (local.astype(np.int64) - ticks[inner]) // per_second
        zones[zones % 60 != 0] = 0
        zones[(secs + zones < _FIRST_SECOND) | (secs + zones >= _END_SECOND)] = 0
        names = {}
        for off in np.unique(zones).tolist():
            if str(tz) == "UTC" and off == 0:
                names[off] = "Z"
            else:
                sign, a = ("+" if off >= 0 else "-"), abs(off)
                names[off] = f"{sign}{a // 3600:02d}:{a // 60 % 60:02d}"
    keys = sorted(names)
    fmt = np.searchsorted(np.array(keys, dtype=np.int64), zones).astype(np.int32)
    return Times(seconds_of(secs, nanos), secs, nanos, fmt, [body + names[k] for k in keys])


def _numbers(texts: list[str]) -> tuple[Times | None, int | None]:
    from ..codec.times import Times

    ints = []
    for i, text in enumerate(texts):
        if _INT.fullmatch(text):
            v = int(text)
            if not -(2**63) <= v < 2**63:
                return None, i
            ints.append(v)
        else:
            break
    else:
        return Times.numbers(np.array(ints, dtype=np.int64)), None
    floats = np.empty(len(texts))
    for i, text in enumerate(texts):
        try:
            floats[i] = float(text)
        except ValueError:
            return None, i
        if not np.isfinite(floats[i]) or text.lower().lstrip("+-") in ("nan", "inf",
                                                                      "infinity"):
            return None, i
    return Times.numbers(floats), None


# --------------------------------------------------------------------------- writing times back
_ISO = re.compile(r"^(\d{4}-\d{2}-\d{2})(?:([T ])(\d{2}:\d{2})(:\d{2})?(?:[.,](\d{1,9}))?)?"
                  r"\s*(Z|[+-]\d{2}:?\d{2})?$")


def looks_like_iso(text: str) -> bool:
    """Whether a time field is an ISO 8601 timestamp (not a number)."""
    return bool(_ISO.match(text.strip()))


def written_template(kind: str, first_time: str | None, time_format: str | None = None
                     ) -> str | None:
    """The template of an input's first ISO time (:func:`hippo_cli.codec.times.template_of`)
    when a text input wrote ISO timestamps (or, with ``time_format``, its field template),
    else None (numbers): what a ``.hippo`` header records."""
    from ..codec.times import template_of, template_of_format

    text = (first_time or "").strip()
    if time_format is not None and kind == "csv":
        return template_of_format(time_format, text)
    return template_of(text) if kind in ("csv", "parquet") and looks_like_iso(text) else None


def format_of_template(template: str | None) -> str | None:
    """The strptime layout of a field template (``DD/MM/YYYY hh.mm.ss`` ->
    ``%d/%m/%Y %H.%M.%S``), None for an ISO template or none: how to read an input's times
    again (``reconstruct --compare``)."""
    if not template or template.startswith("#") or "YYYY" not in template:
        return None
    out = template.replace("%", "%%")
    for letters, directive in (("YYYY", "%Y"), ("MM", "%m"), ("DD", "%d"), ("hh", "%H"),
                               ("mm", "%M"), ("ss", "%S")):
        out = out.replace(letters, directive)
    return re.sub(r"f+", "%f", out)


def zone_of(pattern: str) -> tuple[str, int]:
    """(zone as written, its offset from UTC in seconds) of an :func:`iso_pattern` or a
    template (:mod:`hippo_cli.codec.times`)."""
    if pattern.startswith("####") or "YYYY" in pattern:
        from ..codec.times import zone_of_template

        return zone_of_template(pattern)
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


