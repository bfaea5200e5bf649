"""Bounded-error compression: samples in, a ``.hippo`` file out (and back).

``compress_bounded`` is ``hippo compress --max-error``; ``decode_to_csv`` is ``hippo
reconstruct`` of a ``.hippo`` file; ``stream_bounded`` is ``hippo stream --max-error -o``.
Every decoded sample is within the bound: the codec guarantees it and the writer checks it
on every frame before the frame is written.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..atomic import AtomicFile, check_output_path, stdout_binary
from ..errors import DataError, ParameterError
from ..formats.hippo_file import (
    HippoHeader,
    HippoWriter,
    header_with_times,
    open_hippo,
)
from ..formats.samples import clean_chunks, open_samples, prefetch
from ..formats.source import Samples
from ..formats.table_output import TableWriter
from ..formats.timestamps import written_pattern
from .envelope import Envelope, parse_window
from .metrics import ErrorMetrics


@dataclass(frozen=True)
class MaxError:
    """``--max-error``: an absolute bound, or a percentage of each channel's value range."""

    value: float
    percent: bool

    @classmethod
    def parse(cls, text: str | float) -> MaxError:
        raw = str(text).strip()
        percent = raw.endswith("%")
        try:
            value = float(raw[:-1] if percent else raw)
        except ValueError:
            raise ParameterError(f"--max-error takes a number or a percentage like 1%, got "
                                 f"{text!r}") from None
        if not (math.isfinite(value) and value > 0):
            raise ParameterError(f"--max-error must be a finite number > 0, got {text!r}")
        if percent and value >= 100:
            raise ParameterError(f"--max-error {raw}: a percentage of the range below 100%")
        return cls(value, percent)

    def bounds(self, lo: np.ndarray, hi: np.ndarray) -> list[float]:
        """The absolute bound of each channel, given its min and max."""
        if not self.percent:
            return [self.value] * len(lo)
        return [float(self.value / 100.0 * (h - l)) for l, h in zip(lo, hi)]  # noqa: E741

    def __str__(self) -> str:
        return f"{self.value:g}%" if self.percent else f"{self.value:g}"


@dataclass
class BoundedSummary:
    output: str
    samples: int
    channels: int
    bytes_stored: int
    frames: int
    max_errors: list[float]
    input_kind: str
    input_bytes: int | None


def default_output(input_path: str) -> str:
    """``signal.csv`` -> ``signal.hippo`` (stdin -> stdout)."""
    return "-" if input_path == "-" else str(Path(input_path).with_suffix(".hippo"))


def _ranges(input: str, columns: list[str] | None, time_column: str | None,
            nan: str) -> tuple[np.ndarray, np.ndarray]:
    """First pass for a percentage bound: each channel's min and max."""
    samples = open_samples(input, columns, time_column)
    lo = hi = None
    for block in clean_chunks(samples, nan):
        values = block[:, :-1] if time_column else block
        blo, bhi = values.min(axis=0), values.max(axis=0)
        lo = blo if lo is None else np.minimum(lo, blo)
        hi = bhi if hi is None else np.maximum(hi, bhi)
    if lo is None:
        raise DataError(f"{samples.name}: no samples")
    return lo, hi


def _header(samples: Samples, bounds: list[float]) -> HippoHeader:
    return header_with_times(samples.columns, bounds, samples.time_column,
                             written_pattern(samples.kind, samples.time_text))


def _blocks(samples: Samples, nan: str) -> Iterator[tuple[np.ndarray, np.ndarray | None]]:
    timed = samples.time_column is not None
    chunks = clean_chunks(samples, nan)
    if samples.size_bytes is not None:  # a file; stdin is read in this thread, so that
        chunks = prefetch(chunks)  # Ctrl-C while it waits on a pipe is a clean exit
    for block in chunks:
        yield (block[:, :-1], block[:, -1]) if timed else (block, None)


def compress_bounded(
    input: str,
    output: str | None,
    max_error: MaxError,
    *,
    columns: list[str] | None = None,
    time_column: str | None = None,
    nan: str = "error",
    on_note: Callable[[str], None] = lambda note: None,
    on_progress: Callable[[int, int | None], None] = lambda done, total: None,
) -> BoundedSummary:
    """Write ``input`` (CSV, ``-`` or ``.npy``) as a ``.hippo`` file (``"-"``: stdout).

    A percentage bound needs the value range first: a first pass over the file (so not on
    stdin). The output appears only when complete (a file) or is written frame by frame
    (stdout).
    """
    if max_error.percent and input == "-":
        raise ParameterError("--max-error as a percentage needs the value range: give a file, "
                             "not stdin (or an absolute bound)")
    out = output or default_output(input)
    if out != "-":
        from .compress import check_suffix

        check_output_path(Path(out))  # an input named as the output: that error first
        check_suffix(Path(out), ".hippo", "a .hippo file",
                     "decode it to CSV with hippo reconstruct")
    target = None if out == "-" else AtomicFile(Path(out))
    try:
        if max_error.percent:
            lo, hi = _ranges(input, columns, time_column, nan)
        samples = open_samples(input, columns, time_column)
        for note in samples.notes:
            on_note(f"{samples.name}: {note}")
        C = len(samples.columns)
        bounds = max_error.bounds(lo, hi) if max_error.percent else max_error.bounds(
            np.zeros(C), np.zeros(C))
        fh = stdout_binary() if target is None else target.fh
        writer = HippoWriter(fh, _header(samples, bounds))
        for values, times in _blocks(samples, nan):
            writer.append(values, times)
            on_progress(samples.bytes_read, samples.size_bytes)
        writer.flush()
        if writer.samples == 0:
            raise DataError(f"{samples.name}: no samples")
        if target is not None:
            target.commit()
        else:
            fh.flush()
    finally:
        if target is not None:
            target.abort()
    return BoundedSummary(out, writer.samples, C, writer.bytes_written, writer.frames, bounds,
                          samples.kind, samples.size_bytes)


# --------------------------------------------------------------------------- decoding
def plot_window(path: str, start: str | None, end: str | None) -> tuple[tuple[float, float],
                                                                       int, int]:
    """((from, to) on the plot's axis, samples inside, channels) of ``--from/--to``: times
    as written in the file (or numbers), sample indices for a file without times."""
    hf = open_hippo(path, salvage=True)
    timed = hf.header.time_column is not None
    window = parse_window(start, end, timed)
    if not timed and start is None and end is None:
        return window, sum(n for _, n, _ in hf.scan()), len(hf.header.channels)
    count, first = 0, 0
    for frame in hf.frames():  # count what the window holds (decoding is fast)
        x = frame.times if timed else np.arange(first, first + len(frame.values))
        count += int(((x >= window[0]) & (x <= window[1])).sum())
        first += len(frame.values)
    if count == 0:
        raise ParameterError("--from/--to select no sample of the file")
    return window, count, len(hf.header.channels)


def decode_to_csv(path: str, output: str | None, *, original: str | None = None,
                  salvage: bool = False, nan: str = "error",
                  envelope: Envelope | None = None,
                  on_note: Callable[[str], None] = lambda note: None
                  ) -> ErrorMetrics | None:
    """Decode a ``.hippo`` file to CSV (``output``; ``"-"``: stdout; None: no CSV).

    The first column is the time column (written as in the input) or ``sample``, then the
    channels under their names. With ``original`` (the compressed input), returns the error
    statistics (``nan``: the NaN policy the file was compressed with, so the rows line up).
    ``envelope`` collects what a plot shows (decoded, original, error).
    """
    hf = open_hippo(path, salvage=salvage)
    h = hf.header
    C = len(h.channels)
    orig_blocks = None
    if original is not None:
        names = None if all(c.startswith("col") and c[3:].isdigit() for c in h.channels) \
            else list(h.channels)
        osamples = open_samples(original, names, h.time_column)
        if len(osamples.columns) != C:
            raise DataError(f"{original}: has {len(osamples.columns)} column(s), the file {C}")
        orig_blocks = _Rows(clean_chunks(osamples, nan), h.time_column is not None)
    stats = ErrorMetrics(list(h.channels), list(h.max_errors)) if original is not None \
        else None
    table = None
    if output is not None:
        timed = h.time_column is not None
        table = TableWriter(output, [h.time_column if timed else "sample", *h.channels],
                            ["time" if timed else "index", *["value"] * C],
                            h.iso_pattern)
    try:
        start = 0
        for frame in hf.frames():
            n = len(frame.values)
            if table is not None:
                lead = frame.times if frame.times is not None else np.arange(start, start + n)
                table.write([lead, *frame.values.T])
            truth = None
            if orig_blocks is not None:
                truth = orig_blocks.take(n, original)
                stats.add(frame.values, truth)
            if envelope is not None:
                idx = np.arange(start, start + n)
                series = {"decoded": frame.values}
                if truth is not None:
                    series.update(original=truth, error=frame.values - truth)
                envelope.add(idx, idx if frame.times is None else frame.times, **series)
            start += n
        if orig_blocks is not None and orig_blocks.more():
            raise DataError(f"{original}: has more samples than {path} ({start})")
        if table is not None:
            table.commit()
    finally:
        if table is not None:
            table.__exit__()
    for note in hf.notes:
        on_note(note)
    return stats


class _Rows:
    """Serves the original's values in consecutive pieces of any length."""

    def __init__(self, blocks: Iterator[np.ndarray], timed: bool) -> None:
        self.blocks = blocks
        self.timed = timed
        self.buf = np.empty((0, 0))

    def take(self, n: int, name: str) -> np.ndarray:
        parts, need = [], n
        while need:
            if not len(self.buf):
                try:
                    block = next(self.blocks)
                except StopIteration:
                    raise DataError(f"{name}: has fewer samples than the .hippo file") from None
                self.buf = block[:, :-1] if self.timed else block
            piece = self.buf[:need]
            parts.append(piece)
            self.buf = self.buf[need:]
            need -= len(piece)
        return np.concatenate(parts)

    def more(self) -> bool:
        if len(self.buf):
            return True
        try:
            block = next(self.blocks)
        except StopIteration:
            return False
        self.buf = block
        return len(block) > 0
