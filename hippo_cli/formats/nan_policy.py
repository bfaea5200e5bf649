"""What happens to empty, NaN and infinite values: the one policy for files and streams.

``error``: a NaN or empty cell stops with its place. ``skip``: rows with any NaN are dropped
(the encoder never sees them; with times they become real gaps). ``hold``: a NaN repeats the
channel's last value (a NaN before any value is an error). ``keep``: a ``.hippo`` file stores
missing and infinite values exactly where they are (HiPPO coefficients cannot: they need a
value at every step). Otherwise an infinite value is always an error.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..checks import choice
from ..errors import DataError, ParameterError

NAN_POLICIES = ("error", "skip", "hold", "keep")


def coefficient_policy(policy: str) -> str:
    """``policy``, checked for HiPPO coefficients (which cannot hold a missing value)."""
    if policy == "keep":
        raise ParameterError("nan 'keep' is for .hippo files (a bounded error): HiPPO "
                             "coefficients need a value at every step; use 'skip' or 'hold'",
                             option="nan")
    return policy


class NanFilter:
    """Applies a policy to consecutive blocks of one stream (``hold`` remembers the last
    row across blocks)."""

    def __init__(self, policy: str, columns: list[str]) -> None:
        self.policy = choice("NaN policy", policy, NAN_POLICIES)
        self.columns = columns
        self.last: np.ndarray | None = None

    def apply(self, values: np.ndarray, where: Callable[[int], str]
              ) -> tuple[np.ndarray, np.ndarray | slice, DataError | None]:
        """Filter ``values`` (L, C).

        Returns the clean rows up to the first bad row, which rows of ``values`` they are (a
        slice or indices: the times of the rows follow them), and the error of that bad row
        (None when there is none). ``where(i)`` names the place of row i.
        """
        finite = np.isfinite(values)
        if finite.all() or self.policy == "keep":
            if len(values):
                self.last = values[-1].copy()
            return values, slice(None), None
        bad_rows = np.isnan(values).any(axis=1)
        inf_rows = np.isinf(values).any(axis=1)
        stop = len(values)
        error = None
        if inf_rows.any():
            stop = int(np.argmax(inf_rows))
            error = DataError(f"{where(stop)}: infinite value")
        if self.policy == "error":
            i = int(np.argmax(bad_rows))
            if bad_rows[i] and i < stop:
                col = self.columns[int(np.argmax(np.isnan(values[i])))] if self.columns else "?"
                stop = i
                error = DataError(f"{where(i)}: empty or NaN value in column {col!r} "
                                  "(use --nan skip or --nan hold)")
        values, rows = values[:stop], np.arange(stop)
        bad_rows = bad_rows[:stop]
        if self.policy == "skip":
            keep = ~bad_rows
            values, rows = values[keep], rows[keep]
        elif self.policy == "hold" and bad_rows.any():
            values, hold_error = self._hold(values, where)
            if hold_error is not None:
                return values[:0], rows[:0], hold_error
        if len(values):
            self.last = values[-1].copy()
        return values, rows, error

    def _hold(self, block: np.ndarray,
              where: Callable[[int], str]) -> tuple[np.ndarray, DataError | None]:
        """Forward-fill NaNs per column, starting from the previous block's last row."""
        block = block.copy()
        positions = np.arange(len(block))
        for j in range(block.shape[1]):
            col = block[:, j]
            holes = np.isnan(col)
            if not holes.any():
                continue
            src = np.maximum.accumulate(np.where(holes, -1, positions))
            leading = src < 0
            if leading.any():
                if self.last is None:
                    return block, DataError(f"{where(int(np.argmax(leading)))}: NaN before "
                                            "any value to hold")
                col[leading] = self.last[j]
            col[~leading] = col[src[~leading]]
        return block, None
