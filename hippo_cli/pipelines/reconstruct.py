"""Reconstruction of coefficient files: which row covers which samples, evaluation in
bounded-size batches, CSV output, error metrics against the original. Used by the CLI's
``reconstruct``; the maths is :func:`hippo_cli.measures.eval_basis` (and
:func:`~hippo_cli.measures.eval_basis_at_times` for timed files).
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from .. import measures
from ..codec.times import Times
from ..engine import HiPPO
from ..errors import DataError, ParameterError
from ..formats.coefficients import CoefficientFile, stored_times
from ..formats.samples import open_samples, timed_chunks
from ..formats.table_output import TableWriter
from .envelope import Envelope, parse_window
from .metrics import ErrorMetrics

#: Samples evaluated per batch (bounded memory for any output length).
BATCH = 1 << 15


@dataclass
class Plan:
    """Which rows to evaluate and at which samples.

    ``segments``: (row, step, block_start, first_sample, last_sample) with contiguous,
    ascending samples; ``block_start`` is where the history the row holds begins (0, or its
    block's first sample in block mode).
    """

    segments: list[tuple[int, int, int, int, int]]
    whole: bool

    @property
    def first(self) -> int:
        return self.segments[0][3]

    @property
    def last(self) -> int:
        return self.segments[-1][4]


def plan(cf: CoefficientFile, *, step: int | None = None, row: int | None = None,
         whole: bool = False) -> Plan:
    """Default: the last row over the samples its measure covers. ``step``: that emitted
    step's row; ``row``: the row of that index (negative: from the end). ``whole``: row r
    for samples (k_{r-1}, k_r]."""
    meta = cf.meta
    enc = _encoder(meta)  # validates the sidecar's settings before they are used
    steps = cf.steps()
    starts = cf.starts()
    if whole:
        prev = np.concatenate([[-1], steps[:-1]])
        return Plan([(r, int(k), int(b), int(p) + 1, int(k)) for r, (p, k, b) in
                     enumerate(zip(prev, steps, starts))], whole=True)
    if row is not None:
        if not -len(steps) <= row < len(steps):
            raise ParameterError(f"--row {row}: the file has {len(steps)} rows (0.."
                                 f"{len(steps) - 1}, or -1 for the last)")
        r = row % len(steps)
    elif step is None:
        r = len(steps) - 1
    else:
        r = int(np.searchsorted(steps, step))
        if r >= len(steps) or steps[r] != step:
            near = sorted({int(steps[i]) for i in (r - 1, r) if 0 <= i < len(steps)})
            raise ParameterError(f"step {step} has no row; the nearest steps with one are "
                                 f"{' and '.join(map(str, near))} (rows are every "
                                 f"{meta['every']} samples of {meta['samples']}; --row R picks "
                                 "a row by its index)")
    k, b = int(steps[r]), int(starts[r])
    first = b + measures.first_covered(enc.measure, k - b, theta=enc.theta, dt=enc.dt)
    if meta.get("time_column"):  # coverage is decided by the times, read with the original
        first = 0
    return Plan([(r, k, b, max(first, 0), k)], whole=False)


@dataclass
class Result:
    columns: list[str]
    has_original: bool
    errors: ErrorMetrics
    envelope: Envelope | None = None  # what the plot draws (min/max per pixel)

    def metrics(self) -> list[dict]:
        return self.errors.report()

    def metrics_lines(self) -> list[str]:
        return self.errors.lines() if self.has_original else []


def _encoder(meta: dict) -> HiPPO:
    # block mode is handled here through the rows' block starts, so not passed on
    params = {k: meta[k] for k in ("measure", "N", "method", "theta", "dt", "legs_time", "init",
                                   "alpha", "beta") if meta.get(k) is not None}
    try:
        return HiPPO(**params)
    except ParameterError as err:
        raise DataError(f"sidecar settings are invalid: {err}") from None


def _batches(plan: Plan) -> Iterator[tuple[np.ndarray, list[tuple[int, int, int, int, int]]]]:
    """(samples, pieces) of at most BATCH samples in ascending order; each piece is
    (row, step, block_start, lo, hi): samples[lo:hi] belong to that row."""
    js, pieces, size = [], [], 0
    for row, step, start, first, last in plan.segments:
        lo = first
        while lo <= last:
            hi = min(last, lo + BATCH - size - 1)
            js.append(np.arange(lo, hi + 1, dtype=np.int64))
            pieces.append((row, step, start, size, size + hi - lo + 1))
            size += hi - lo + 1
            lo = hi + 1
            if size >= BATCH:
                yield np.concatenate(js), pieces
                js, pieces, size = [], [], 0
    if size:
        yield np.concatenate(js), pieces


class _Ranges:
    """Serves rows of a chunked source for ascending, contiguous index ranges, one chunk in
    memory at a time. A chunk is a tuple of parts with one row per sample: blocks (L, k)
    and exact times (:class:`~hippo_cli.codec.times.Times`)."""

    def __init__(self, name: str, chunks: Iterator[tuple]) -> None:
        self.name = name
        self._chunks = chunks
        self._start = 0
        self._chunk: tuple | None = None

    def take(self, lo: int, hi: int) -> tuple:
        """Samples lo..hi (inclusive) of every part."""
        pieces = []
        while lo <= hi:
            end = self._start + (len(self._chunk[0]) if self._chunk else 0)
            if lo >= end:
                try:
                    chunk = next(self._chunks)
                except StopIteration:
                    raise DataError(f"{self.name}: has only {end} samples, the coefficients "
                                    f"describe more") from None
                self._start, self._chunk = end, chunk
                continue
            piece = tuple(p[lo - self._start : hi - self._start + 1] for p in self._chunk)
            pieces.append(piece)
            lo += len(piece[0])
        if len(pieces) == 1:
            return pieces[0]
        return tuple(Times.join(list(parts)) if isinstance(parts[0], Times)
                     else np.concatenate(parts) for parts in zip(*pieces))


def _original(path: str, columns: list[str], nan: str,
              time_column: str | None = None) -> _Ranges:
    """The original samples: (values (L, C),) or, with times, (values with the times as a
    last column (L, C + 1), the exact times)."""
    names = None if all(c.startswith("col") and c[3:].isdigit() for c in columns) else columns
    samples = open_samples(path, names, time_column)
    if len(samples.columns) != len(columns):
        raise DataError(f"{path}: has {len(samples.columns)} column(s), the coefficients "
                        f"{len(columns)}")
    chunks = timed_chunks(samples, nan)
    return _Ranges(samples.name, chunks if time_column else ((b,) for b, _ in chunks))


def plot_window(cf: CoefficientFile, plan: Plan, start: str | None,
                end: str | None) -> tuple[tuple[float, float], int]:
    """((from, to) on the plot's axis, samples inside) of ``--from/--to``: times as written
    in the input for a timed file, sample indices otherwise."""
    timed = cf.meta.get("time_column") is not None
    window = parse_window(start, end, timed)
    if timed and cf.meta.get("sample_times") is not None:
        count, first = 0, 0
        for times in stored_times(cf.meta):  # the stored times: cheap to count
            t = times.seconds
            j = first + np.arange(len(t))
            inside = (t >= window[0]) & (t <= window[1]) & (j >= plan.first) & (j <= plan.last)
            count += int(inside.sum())
            first += len(t)
    elif timed:  # (an old file: times only in the original) size the plot for every sample
        count = plan.last - plan.first + 1
    else:
        lo, hi = max(plan.first, math.ceil(window[0])), min(plan.last, math.floor(window[1]))
        count = max(0, hi - lo + 1)
    if count == 0:
        raise ParameterError("--from/--to select no sample of the reconstruction")
    return window, count


def run(cf: CoefficientFile, plan: Plan, *, csv_path: str | None, original: str | None,
        keep_for_plot: bool,
        window: tuple[tuple[float, float], int] | None = None) -> Result:
    """Evaluate the plan; write CSV (``"-"``: stdout) and/or collect metrics and plot data."""
    meta = cf.meta
    enc = _encoder(meta)
    columns = list(meta["columns"])
    res = Result(columns, original is not None, ErrorMetrics(columns))
    timed = meta.get("time_column")
    if timed and not original and meta.get("sample_times") is None:
        raise ParameterError("these coefficients were made with --time-column by a hippo that "
                             "did not store the times: give --original FILE so samples are "
                             "evaluated at their times")
    orig = _original(original, columns, meta.get("nan") or "error", timed) if original else None
    if timed:
        row_times = np.asarray(meta["row_times"], dtype=np.float64)
        prev_t = None
        origins: dict[int, tuple[float, float | None]] = {}  # block mode: each block's clock
        # the times: the original's last column, or those stored with the coefficients
        clock = orig if orig is not None else _Ranges(
            f"{cf.path}: sample_times", ((t,) for t in stored_times(meta)))
    total = plan.last - plan.first + 1
    if keep_for_plot:
        (lo, hi), count = window or ((-math.inf, math.inf), total)
        res.envelope = Envelope(count, len(columns), window=(lo, hi))
    out = None
    if csv_path is not None:
        out = TableWriter(csv_path, ["sample", *([timed] if timed else []), *columns],
                          ["index", *(["time"] if timed else []), *["value"] * len(columns)])
    with out if out is not None else contextlib.nullcontext():
        for j, pieces in _batches(plan):
            times = None
            if timed:
                if prev_t is None and j[0] > 0:
                    prev_t = float(clock.take(int(j[0]) - 1, int(j[0]) - 1)[-1].seconds[0])
                got = clock.take(int(j[0]), int(j[-1]))
                truth = got[0][:, :-1] if orig is not None else None
                exact = got[-1]
                times = exact.seconds
                if meta.get("reset_every"):
                    _block_origins(origins, pieces, times, prev_t, j)
                values = _evaluate_timed(cf, enc, pieces, times, row_times, prev_t, j,
                                         origins if meta.get("reset_every") else None)
                prev_t = float(times[-1])
                if not plan.whole:  # the default: only the samples the row covers
                    keep = ~np.isnan(values).all(axis=1)
                    j, values, times, exact = j[keep], values[keep], times[keep], exact[keep]
                    truth = truth[keep] if truth is not None else None
                    if not len(j):
                        continue
            else:
                values = _evaluate(cf, enc, j, pieces)
            if out is not None:
                out.write([j, *([exact] if timed else []), *values.T])
            if not timed:
                truth = orig.take(int(j[0]), int(j[-1]))[0] if orig is not None else None
            if truth is not None:
                res.errors.add(values, truth)
            if res.envelope is not None:
                series = {"reconstruction": values}
                if truth is not None:
                    series.update(original=truth, error=values - truth)
                res.envelope.add(j - plan.first, times if timed else j.astype(np.float64),
                                 **series)
        if out is not None:
            out.commit()
    return res


def _evaluate(cf: CoefficientFile, enc: HiPPO, j: np.ndarray, pieces) -> np.ndarray:
    """Values (len(j), C) through ``HiPPO.reconstruct_local`` (so they equal the library's
    bit for bit); samples a row's measure does not cover are NaN."""
    values = np.empty((len(j), cf.channels))
    for row, step, start, lo, hi in pieces:
        c = cf.row(row)
        local = step - start
        part = enc.reconstruct_local(c[0] if cf.channels == 1 else c, local, j[lo:hi] - start)
        values[lo:hi] = part.reshape(hi - lo, cf.channels)
        first = start + measures.first_covered(enc.measure, local, theta=enc.theta, dt=enc.dt)
        values[lo:hi][j[lo:hi] < first] = np.nan
    return values


def _block_origins(origins: dict, pieces, times: np.ndarray, prev_t: float | None,
                   j: np.ndarray) -> None:
    """Block mode with times: the clock (t0, delta0) each block restarted with - its first
    sample's time and the interval since the sample before (the first block: the stream's
    first interval) - read off the times as the contiguous batches ``j`` pass by."""
    for _row, _step, start, _lo, _hi in pieces:
        if start in origins:
            continue
        i = start - int(j[0])
        if i < 0:  # (samples are read from 0 on, so a block start passed before)
            raise DataError(f"block start {start} was not seen before its rows")
        if start == 0:
            delta0 = float(times[1] - times[0]) if len(times) > 1 else None
        else:
            before = times[i - 1] if i > 0 else prev_t
            delta0 = float(times[i] - before)
        origins[start] = (float(times[i]), delta0)


def _evaluate_timed(cf: CoefficientFile, enc: HiPPO, pieces, times: np.ndarray,
                    row_times: np.ndarray, prev_t: float | None,
                    j: np.ndarray, origins: dict | None = None) -> np.ndarray:
    """Timed files: each row's state evaluated at the samples' own times; samples its
    measure does not cover (:func:`measures.covered`, and in block mode the samples before
    its block) are NaN. ``origins``: block mode's clock of each block start."""
    clock = cf.meta["clock"]
    origin = (float(clock["t0"]), clock.get("delta0"))
    values = np.empty((len(j), cf.channels))
    for row, _step, start, lo, hi in pieces:
        c = cf.row(row)
        before = times[lo - 1] if lo > 0 else (prev_t if j[lo] > 0 else None)
        if origins is not None:
            origin = origins[start]
            if j[lo] == start:
                before = None  # the block's first sample: nothing before it in its history
        t_row = float(row_times[row])
        M = measures.eval_basis_at_times(enc.measure, enc.N, t_row, times[lo:hi], before,
                                         origin=origin, theta=enc.theta, dt=enc.dt,
                                         **enc.measure_params)
        values[lo:hi] = M @ c.T
        if enc.measure not in measures.measures_with(coverage="whole"):
            lags = measures.lag(enc.measure, t_row - times[lo:hi], theta=enc.theta, dt=enc.dt)
            values[lo:hi][~measures.covered(enc.measure, lags)] = np.nan
        if origins is not None:
            values[lo:hi][j[lo:hi] < start] = np.nan
    return values


