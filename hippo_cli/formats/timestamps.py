"""Sample times: the one rule that turns a time field into seconds.

A field is a number (taken as it is, in the file's own unit) or an ISO 8601 timestamp, read
by pandas' ISO 8601 parser and counted in seconds since 1970-01-01 UTC (a timestamp without a
zone is UTC). Anything else is not a time. ``compress``, ``reconstruct`` and ``stream`` all
read times through :func:`to_seconds`.
"""

from __future__ import annotations

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
