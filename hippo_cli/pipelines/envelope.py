"""What a plot of a long series keeps: the min and max of every bucket of consecutive samples
(about one bucket per pixel), so that 10^5+ samples stay readable - spikes included - in
bounded memory."""

from __future__ import annotations

import math

import numpy as np

#: Buckets across a plot (about its width in pixels).
WIDTH = 2000


class Envelope:
    """Min/max per bucket of ``size`` samples of named (L, C) series, fed chunk by chunk.

    ``total``: how many samples will come (positions 0..total-1 of the plotted range).
    """

    def __init__(self, total: int, channels: int, width: int = WIDTH,
                 window: tuple[float, float] = (-math.inf, math.inf)) -> None:
        self.size = max(1, math.ceil(total / width))
        self.buckets = max(1, math.ceil(total / self.size))
        self.channels = channels
        self.x = np.full(self.buckets, np.nan)  # where each bucket starts (index or time)
        self.lo: dict[str, np.ndarray] = {}
        self.hi: dict[str, np.ndarray] = {}
        self.window = window  # only samples whose plot coordinate lies in it are kept
        self._next = 0  # position of the next kept sample

    def add(self, pos: np.ndarray, x: np.ndarray, **series: np.ndarray) -> None:
        """``pos`` (L,) positions in the plotted range, ``x`` (L,) their plot coordinates,
        ``series``: name -> (L, C) values (NaN: no value)."""
        x = np.asarray(x, dtype=np.float64)
        zoomed = self.window != (-math.inf, math.inf)
        inside = (x >= self.window[0]) & (x <= self.window[1]) if zoomed else None
        if inside is not None and not inside.all():  # a zoom: positions count the kept samples
            x = x[inside]
            series = {k: np.asarray(v)[inside] for k, v in series.items()}
            pos = self._next + np.arange(len(x))
        self._next = (int(pos[-1]) + 1) if len(x) else self._next
        if not len(pos):
            return
        pos = np.asarray(pos, dtype=np.int64)
        if len(pos) > 1 and (pos[1:] < pos[:-1]).any():  # out of order: bins must be contiguous
            order = np.argsort(pos, kind="stable")
            pos, x = pos[order], x[order]
            series = {k: np.asarray(v)[order] for k, v in series.items()}
        if pos[0] < 0 or pos[-1] // self.size >= self.buckets:
            raise ValueError("more samples than the envelope was sized for")
        # where each bucket's samples start: a search per bucket, not a division per sample
        buckets = np.arange(pos[0] // self.size, pos[-1] // self.size + 1)
        starts = np.searchsorted(pos, buckets * self.size)
        held = starts < np.r_[starts[1:], len(pos)]  # buckets a gap in ``pos`` skips: none
        starts, where = starts[held], buckets[held]  # ``where``: each touched bucket once
        fill = np.isnan(self.x[where])
        self.x[where[fill]] = x[starts][fill]
        for name, v in series.items():
            if name not in self.lo:
                self.lo[name] = np.full((self.buckets, self.channels), np.nan)
                self.hi[name] = np.full((self.buckets, self.channels), np.nan)
            lo, hi = bin_min_max(np.asarray(v, dtype=np.float64).reshape(len(pos), -1), starts)
            # fmin/fmax: a bucket still without values (NaN) takes the other side's
            self.lo[name][where] = np.fmin(self.lo[name][where], lo)
            self.hi[name][where] = np.fmax(self.hi[name][where], hi)

    def band(self, name: str, c: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(x, low, high) of channel c of ``name``, buckets without values dropped."""
        lo, hi = self.lo[name][:, c], self.hi[name][:, c]
        keep = np.isfinite(lo) & np.isfinite(self.x)
        return self.x[keep], lo[keep], hi[keep]


def bin_min_max(values: np.ndarray, starts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Min and max of contiguous bins of rows, ignoring NaN.

    ``values``: (L, C) float64; ``starts``: (B,) strictly increasing row indices, the first
    0, each bin running to the next start (the last to row L). Returns (low, high), each
    (B, C); a bin holding only NaN gives NaN in both (no warning).

    ``np.fmin.reduceat``/``np.fmax.reduceat``: the ``np.minimum.reduceat`` reduction over
    contiguous bins, with NaN skipped by the ufunc itself - no masked copy of the samples
    (``np.where(isnan, inf, v)`` would cost more than both reductions). Measured in
    benchmarks/envelope.py against the per-sample ``np.fmin.at`` scatter it replaced.
    """
    return np.fmin.reduceat(values, starts, axis=0), np.fmax.reduceat(values, starts, axis=0)


def parse_window(start: str | None, end: str | None, timed: bool) -> tuple[float, float]:
    """``--from/--to`` on a plot's axis: times as the input wrote them (``timed``), else
    sample indices; a missing end is open."""
    from ..errors import ParameterError
    from ..formats.timestamps import to_seconds

    def value(text: str | None, default: float) -> float:
        if text is None:
            return default
        try:
            v = float(to_seconds([text])[0]) if timed else float(text)
        except ValueError:
            v = math.nan
        if not math.isfinite(v):
            raise ParameterError(f"--from/--to {text!r}: not a "
                                 f"{'time of this file' if timed else 'sample index'}")
        return v

    window = (value(start, -math.inf), value(end, math.inf))
    if window[0] > window[1]:
        raise ParameterError("--from is after --to")
    return window

