"""The one encode loop: blocks of samples in, coefficient rows (with their steps and times)
out, and the final row of a finished stream. ``compress``, ``stream`` and the many-series
engines all encode through :class:`RowEncoder`."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..engine import HiPPO, Snapshot
from ..engine.emission import check_every, emitted_steps, needs_final_row


@dataclass
class Rows:
    """Emitted rows: ``steps`` (R,) int64, ``coeffs`` (R, N) or (R, C, N), ``times`` (R,)
    for a timed stream (else None)."""

    steps: np.ndarray
    coeffs: np.ndarray
    times: np.ndarray | None


@dataclass
class Progress:
    """Where a :class:`RowEncoder` is: the encoder's snapshot, and the row times so far (a
    timed stream's file stores them)."""

    snapshot: Snapshot
    row_times: list[float] = field(default_factory=list)


class RowEncoder:
    """Feeds (L, C) blocks to ``enc`` and emits after every ``every``-th sample.

    One channel is encoded as a 1-D stream (rows (R, N)), several as (R, C, N).
    """

    def __init__(self, enc: HiPPO, every: int, progress: Progress | None = None) -> None:
        self.enc = enc
        self.every = check_every(every)
        self.row_times: list[float] = []
        if progress is not None:
            enc.restore(progress.snapshot)
            self.row_times = list(progress.row_times)

    def feed(self, values: np.ndarray, times: np.ndarray | None = None) -> Rows:
        """Encode ``values`` (L, C) (at ``times`` (L,), if the stream is timed)."""
        enc = self.enc
        step0 = enc.steps
        C = values.shape[1]
        one = C == 1 and (enc.channels is None or enc.squeezed)
        coeffs = enc.update(values[:, 0] if one else values, self.every, times=times)
        steps = emitted_steps(step0, len(values), self.every)
        row_times = None
        if times is not None:
            row_times = times[steps - step0]
            self.row_times.extend(row_times.tolist())
        return Rows(steps, coeffs, row_times)

    def feed_block(self, block: np.ndarray, timed: bool) -> Rows:
        """As :meth:`feed` for a block whose last column is the times when ``timed``."""
        return self.feed(block[:, :-1], block[:, -1]) if timed else self.feed(block)

    def finish(self) -> Rows:
        """The final state as one more row when the stream did not end on an emitted step
        (none otherwise); call once, at the end of the stream."""
        enc = self.enc
        if not needs_final_row(enc.steps, self.every):
            shape = (0, enc.N) if enc.squeezed else (0, enc.channels or 1, enc.N)
            return Rows(np.empty(0, np.int64), np.empty(shape), None)
        times = None
        if enc.timed:
            times = np.array([enc.last_time])
            self.row_times.append(float(enc.last_time))
        return Rows(np.array([enc.steps - 1]), enc.state[None], times)

    def progress(self) -> Progress:
        """A copy of where the encoder is (to continue in another process or task)."""
        return Progress(self.enc.snapshot(), list(self.row_times))
