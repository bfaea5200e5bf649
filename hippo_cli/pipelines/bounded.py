"""Bounded-error compression, the whole mode: samples in, a ``.hippo`` file out (and back).

``compress_bounded`` is ``hippo compress --max-error``; ``decode_to_csv`` is ``hippo
reconstruct`` of a ``.hippo`` file; ``stream_bounded`` is ``hippo stream --max-error -o``.
Every decoded sample is within the bound: the codec guarantees it and the writer checks it
on every frame before the frame is written.
"""

from __future__ import annotations

import contextlib
import functools
import math
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from ..atomic import AtomicFile, check_output_path, is_object_url, stdout_binary
from ..checks import integer_at_least
from ..codec import HippoHeader, HippoReader, HippoWriter, header_with_times, open_hippo
from ..codec.channel import prepare
from ..codec.container import LiveFile, check_header, header_bytes
from ..codec.times import Times
from ..errors import DataError, ParameterError
from ..formats.samples import clean_chunks, open_samples, prefetch, timed_chunks
from ..formats.source import Samples
from ..formats.stream_lines import LineParser
from ..formats.table_output import TableWriter
from ..formats.timestamps import format_of_template, written_template
from ..storage import as_path
from .envelope import Envelope, parse_window
from .live import Signals, read_batches, stdin_reader
from .metrics import ErrorMetrics
from .spill import Spill

#: ``hippo stream``: a key frame at least every this many samples (a file written whole has
#: frames of up to 2^20 samples: reading from a key frame decodes about as much)
KEY_EVERY = 1 << 20


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
            raise ParameterError(f"max_error takes a number or a percentage like 1%, got "
                                 f"{text!r}", option="max_error") from None
        if not (math.isfinite(value) and value > 0):
            raise ParameterError(f"max_error must be a finite number > 0, got {text!r}",
                                 option="max_error")
        if percent and value >= 100:
            raise ParameterError(f"max_error {raw}: a percentage of the range below 100%",
                                 option="max_error")
        return cls(value, percent)

    def bounds(self, lo: np.ndarray, hi: np.ndarray) -> list[float]:
        """The absolute bound of each channel, given its min and max."""
        if not self.percent:
            return [self.value] * len(lo)
        # each end scaled before subtracting, in Python floats: 1% of -1.7e308..1.7e308 is
        # 3.4e306, not inf (h - l overflows); a bound beyond the float range is inf, quietly
        p = self.value / 100.0
        bounds = [p * float(h) - p * float(l) for l, h in zip(lo, hi)]  # noqa: E741
        for b, l, h in zip(bounds, lo, hi):  # noqa: E741
            if not math.isfinite(b):
                raise ParameterError(f"max_error {self}: that share of a range of {l:.4g}.."
                                     f"{h:.4g} is beyond the float range; give a smaller "
                                     "percentage or an absolute bound", option="max_error")
        return bounds

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
    return "-" if input_path == "-" else str(as_path(input_path).with_suffix(".hippo"))


def _finite_range(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each column's min and max of its finite values (+inf, -inf for a column without)."""
    lo, hi = values.min(axis=0, initial=np.inf), values.max(axis=0, initial=-np.inf)
    if np.isfinite(lo).all() and np.isfinite(hi).all():  # no NaN or inf in the block
        return lo, hi
    finite = np.isfinite(values)
    return (np.where(finite, values, np.inf).min(axis=0, initial=np.inf),
            np.where(finite, values, -np.inf).max(axis=0, initial=-np.inf))


class _Ranges:
    """Each channel's min and max of its finite values (``nan="keep"`` stores the others
    as they are), taken block by block; a channel with none: 0."""

    def __init__(self) -> None:
        self.lo = self.hi = None

    def add(self, values: np.ndarray) -> None:
        blo, bhi = _finite_range(values)
        self.lo = blo if self.lo is None else np.minimum(self.lo, blo)
        self.hi = bhi if self.hi is None else np.maximum(self.hi, bhi)

    def result(self, C: int) -> tuple[np.ndarray, np.ndarray]:
        if self.lo is None:
            return np.zeros(C), np.zeros(C)
        empty = self.lo > self.hi  # no finite value at all
        return np.where(empty, 0.0, self.lo), np.where(empty, 0.0, self.hi)


def _header(samples: Samples, bounds: list[float]) -> HippoHeader:
    return header_with_times(samples.columns, bounds, samples.time_column,
                             written_template(samples.kind, samples.time_text,
                                              samples.time_format), whole=True)


def _blocks(samples: Samples, nan: str) -> Iterator[tuple[np.ndarray, Times | None]]:
    timed = samples.time_column is not None
    chunks = timed_chunks(samples, nan)
    if samples.size_bytes is not None:  # a file; stdin is read in this thread, so that
        chunks = prefetch(chunks)  # Ctrl-C while it waits on a pipe is a clean exit
    for block, times in chunks:
        yield (block[:, :-1], times) if timed else (block, None)


class Disorder:
    """Counts the times that do not come after the one before them, across chunks (a
    ``.hippo`` file keeps them as recorded; a note says how many there were)."""

    def __init__(self) -> None:
        self.count = 0
        self.last: float | None = None

    def add(self, times: Times | None) -> None:
        if times is None or not len(times):
            return
        seconds = times.seconds
        self.count += times.steps_back() + int(self.last is not None and
                                               seconds[0] <= self.last)
        self.last = float(seconds[-1])

    def note(self, name: str) -> str | None:
        if not self.count:
            return None
        return (f"{name}: the times are not increasing ({self.count} repeat or go back): "
                "kept as recorded")


def compress_bounded(
    input: str,
    output: str | None,
    max_error: MaxError,
    *,
    columns: list[str] | None = None,
    time_column: str | None = None,
    nan: str = "error",
    na_values: list[str] | None = None,
    time_format: str | None = None,
    codec: dict | None = None,  # HippoWriter's level and threads
    on_note: Callable[[str], None] = lambda note: None,
    on_progress: Callable[[int, int | None], None] = lambda done, total: None,
) -> BoundedSummary:
    """Write ``input`` (CSV, ``-`` or ``.npy``) as a ``.hippo`` file (``"-"``: stdout).

    A percentage bound needs the value range before the first frame is coded: the input is
    read once and its parsed blocks are kept (in memory, then in a temporary file beside the
    output, or in the system's temporary folder for stdout), so stdin and pipes work too,
    with disk rather than memory growing with the input. The output appears only when
    complete (a file) or is written frame by frame (stdout). ``na_values``: texts that mean
    a missing value (then ``nan`` applies). An integer that float64 cannot hold exactly is
    an error (the bound holds against the values as written). ``time_column`` may name two
    columns (``"Date,Time"``); ``time_format``: the layout of text times that are not ISO
    8601.
    """
    out = output or default_output(input)
    if out != "-":
        from .compress import check_suffix

        check_output_path(as_path(out))  # an input named as the output: that error first
        check_suffix(as_path(out), ".hippo", "a .hippo file",
                     "decode it to CSV with hippo reconstruct")
    target = None if out == "-" else AtomicFile(as_path(out))
    try:
        # compile the codec (first run only) before reading, not after: the kernels this
        # job calls (no time codec for samples without times; the Huffman codec at level fast)
        prepare(times=time_column is not None, huffman=(codec or {}).get("level") == "fast")
        samples = open_samples(input, columns, time_column, na_values=na_values,
                               time_format=time_format)
        samples.exact_integers = True
        for note in samples.notes:
            on_note(f"{samples.name}: {note}")
        C = len(samples.columns)
        fh = stdout_binary() if target is None else target.fh
        disorder = Disorder()
        blocks = _blocks(samples, nan)
        spill = contextlib.nullcontext()
        if max_error.percent:
            # one pass: the blocks are kept (memory, then a temporary file) while the
            # ranges are taken, and coded once the bounds are known
            spill = Spill(None if target is None or is_object_url(out)
                          else Path(out).resolve().parent)
            ranges = _Ranges()
            for values, times in blocks:
                ranges.add(values)
                spill.add(values, times)
                on_progress(samples.bytes_read, samples.size_bytes)
            if ranges.lo is None:
                raise DataError(f"{samples.name}: no samples")
            blocks = spill.drain()
        with spill:
            bounds = max_error.bounds(*ranges.result(C)) if max_error.percent else \
                max_error.bounds(np.zeros(C), np.zeros(C))
            writer = HippoWriter(fh, _header(samples, bounds), **(codec or {}))
            for values, times in blocks:
                writer.append(values, times)
                disorder.add(times)
                if not max_error.percent:
                    on_progress(samples.bytes_read, samples.size_bytes)
            writer.close()
        if writer.samples == 0:
            raise DataError(f"{samples.name}: no samples")
        if disorder.note(samples.name):
            on_note(disorder.note(samples.name))
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
def _opened(source: str | HippoReader, salvage: bool, threads: int | None = None):
    """``source`` to read: an open reader as it is (a command reads one file through one
    handle, :func:`~hippo_cli.codec.open_hippo`; its own ``threads``), or a path opened
    here (decoding on ``threads``)."""
    if isinstance(source, HippoReader):
        return contextlib.nullcontext(source)
    return open_hippo(source, salvage=salvage, threads=threads)


def plot_window(path: str | HippoReader, start: str | None, end: str | None, *,
                salvage: bool = False) -> tuple[tuple[float, float], int, int]:
    """((from, to) on the file's axis, samples inside, channels) of ``--from/--to``: times
    as written in the file (or numbers), sample indices for a file without times. Only the
    frames' times are decoded (and only those of frames the index cannot rule out).
    ``path``: a file, or a reader already open (read through its handle)."""
    with _opened(path, salvage) as hf:
        timed = hf.header.timed
        window = parse_window(start, end, timed)
        C = len(hf.header.channels)
        if not timed:
            lo, hi = max(window[0], 0), min(window[1], hf.samples - 1)
            count = int(math.floor(hi) - math.ceil(lo) + 1) if hi >= lo else 0
        else:  # count what the window holds from the frames' times alone
            count = 0
            for info in hf.index:
                if info.time_min is not None and (info.time_max < window[0]
                                                  or info.time_min > window[1]):
                    continue
                x = hf.frame_times(info)
                if x is not None:
                    count += int(((x.seconds >= window[0]) & (x.seconds <= window[1])).sum())
    if count == 0:
        raise ParameterError("--from/--to select no sample of the file")
    return window, count, C


def decode_to_csv(path: str | HippoReader, output: str | None, *, original: str | None = None,
                  salvage: bool = False, nan: str = "error",
                  envelope: Envelope | None = None,
                  window: tuple[float, float] | None = None,
                  on_note: Callable[[str], None] = lambda note: None,
                  threads: int | None = None) -> ErrorMetrics | None:
    """Decode a ``.hippo`` file to CSV or Parquet (``output``; ``"-"``: stdout; None: no
    table).

    The first column is the time column (written as in the input) or ``sample``, then the
    channels under their names. ``window``: only the samples whose time (or, without times,
    index) lies in [from, to]; only the frames that overlap it are decoded. With
    ``original`` (the compressed input), returns the error statistics (``nan``: the NaN
    policy the file was compressed with, so the rows line up). ``envelope`` collects what a
    plot shows (decoded, original, error). ``path``: a file, or a reader already open.
    """
    with _opened(path, salvage, threads) as hf:
        path = hf.path
        h = hf.header
        # the decoder (first run only), before output; mode 2 of the times: version 3 only
        prepare(encoder=False, times=h.timed, cadence=h.version >= 3)
        C = len(h.channels)
        orig_blocks = None
        if original is not None:
            names = None if all(c.startswith("col") and c[3:].isdigit() for c in h.channels) \
                else list(h.channels)
            osamples = open_samples(original, names, h.time_column,
                                    time_format=format_of_template(h.time_pattern))
            if len(osamples.columns) != C:
                raise DataError(f"{original}: has {len(osamples.columns)} column(s), the file "
                                f"{C}")
            orig_blocks = _Rows(clean_chunks(osamples, nan), h.timed)
        stats = ErrorMetrics(list(h.channels), list(h.max_errors)) if original is not None \
            else None
        table = None
        # channels recorded as integers with a bound below 0.5: rounded, the integers written
        # (files without value kinds, all that hippo compress writes, have none)
        rounded = h.rounded_channels()
        if output is not None:
            table = TableWriter(output, [h.time_column if h.timed else "sample", *h.channels],
                                ["time" if h.timed else "index",
                                 *["integer" if c in rounded else "value" for c in range(C)]],
                                threads=hf.threads)
        try:
            done = 0  # samples of the original consumed
            for frame in _frames_in(hf, window):
                n = len(frame.values)
                idx = np.arange(frame.start, frame.start + n)
                truth = None
                if orig_blocks is not None:
                    if frame.start > done:  # frames not decoded (outside the window)
                        orig_blocks.take(frame.start - done, original)
                    truth = orig_blocks.take(n, original)
                    done = frame.start + n
                values, times = frame.values, frame.times
                if rounded:
                    values = values.copy()
                    values[:, rounded] = np.rint(values[:, rounded])  # NaN, inf stay
                if envelope is not None:  # it keeps what its window holds
                    series = {"decoded": values}
                    if truth is not None:
                        series.update(original=truth, error=values - truth)
                    envelope.add(idx, idx if times is None else times.seconds, **series)
                if window is not None:
                    axis = times.seconds if h.timed else idx
                    keep = (axis >= window[0]) & (axis <= window[1])
                    if not keep.all():
                        values, idx = values[keep], idx[keep]
                        times = None if times is None else times[keep]
                        truth = None if truth is None else truth[keep]
                if table is not None:
                    table.write([times if times is not None else idx, *values.T])
                if truth is not None:
                    stats.add(values, truth)
            if orig_blocks is not None and window is None and orig_blocks.more():
                raise DataError(f"{original}: has more samples than {path} ({hf.samples})")
            if table is not None:
                table.commit()
        finally:
            if table is not None:
                table.__exit__()
        for note in dict.fromkeys(hf.notes):  # a frame read twice (window, rows): once
            on_note(note)
    return stats


def _frames_in(hf, window: tuple[float, float] | None):
    """The decoded frames of ``hf`` that may hold samples of ``window`` (all: None)."""
    if window is None:
        yield from hf.frames()
        return
    for info in hf.index:
        if hf.header.timed:
            if info.time_min is not None and (info.time_max < window[0]
                                              or info.time_min > window[1]):
                continue
        elif info.start + info.samples - 1 < window[0] or info.start > window[1]:
            continue
        yield from hf.frames(info.index, info.index + 1)


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


# --------------------------------------------------------------------------- streams
def _time_names(time_column: str | None) -> list[str] | None:
    """The column names of a time column option or header (``Date,Time``, ``Date\tTime``)."""
    if time_column is None:
        return None
    return [p.strip() for p in time_column.replace("\t", ",").split(",")]


def stream_bounded(
    output: str | None,
    max_error: MaxError,
    *,
    nan: str,
    interrupted: type[Exception],
    time_column: str | None = None,
    flush_every: int = 65536,
    flush_seconds: float = 10.0,
    infd: int | None = None,
    on_note=lambda note: None,
    na_values: list[str] | None = None,
    time_format: str | None = None,
    skip_stored: bool = False,
    key_every: int = KEY_EVERY,
) -> int:
    """Compress lines from stdin into the ``.hippo`` file ``output`` (``"-"``: stdout), a
    frame at a time: after every ``flush_every`` samples, when ``flush_seconds`` have passed
    with samples pending, at EOF, and on SIGINT (exit 130) / SIGTERM (exit 143).

    Frames are chained (format version 3: each continues the coder's state of the one
    before, so frequent flushes cost little) with a key frame at least every ``key_every``
    samples (0: every frame is a key frame, as in version 2); the first frame of a run is a
    key frame. A version-2 file resumed keeps key frames only.

    Before any input is read, the output is checked (folder, an input, a device or FIFO)
    and locked: a second writer of the same file is refused (:class:`~.container.LiveFile`).
    A new file appears with its header when the first line has arrived (never empty, never
    without a header). An existing ``.hippo`` file is resumed: its frames are kept (a torn
    tail from a crash and the footer of a closed stream are cut off, with a note) and new
    frames are appended; its channels, bound and time column must match. With a time
    column, the first new sample must come after the last stored time (else a DataError
    naming the line and that time), or with ``skip_stored`` the leading samples at or
    before it are skipped, with a note of how many. The footer is written when the stream
    ends (EOF, a bad line, SIGINT, SIGTERM). Returns the number of samples written in this
    run.
    """
    if max_error.percent:
        raise ParameterError("a stream reads stdin: max_error must be absolute (the value "
                             "range is not known in advance)", option="max_error")
    if output is None:
        raise ParameterError("a bounded stream needs an output .hippo file (- for stdout)",
                             option="output")
    integer_at_least("flush_every", flush_every, 1, 1 << 20)
    integer_at_least("key_every", key_every, 0, 1 << 62)
    max_error = max_error.value
    check_header(HippoHeader(["x"], [max_error]))
    read = stdin_reader() if infd is None else functools.partial(os.read, infd)
    live = None if output == "-" else LiveFile(output)  # checked and locked: before input
    try:
        for note in live.notes if live is not None else ():
            on_note(note)
        return _stream_into(live, output, max_error, nan=nan, interrupted=interrupted,
                            time_column=time_column, flush_every=flush_every,
                            flush_seconds=flush_seconds, read=read, on_note=on_note,
                            skip_stored=skip_stored, na_values=na_values,
                            time_format=time_format, key_every=key_every)
    finally:
        if live is not None:
            live.close()


def _stream_into(live: LiveFile | None, output: str, max_error: float, *, nan, interrupted,
                 time_column, flush_every, flush_seconds, read, on_note, skip_stored,
                 na_values, time_format, key_every) -> int:
    from time import monotonic as clock

    existing = None if live is None else live.reader
    continuity = None
    if existing is not None:
        if existing.header.whole:
            raise ParameterError(f"{output}: was written whole (by hippo compress); hippo "
                                 "stream appends only to the files it writes")
        if existing.header.max_errors != [max_error] * len(existing.header.channels):
            raise ParameterError(f"{output}: was written with max error "
                                 f"{existing.header.max_errors[0]:g}, not {max_error:g}")
        if _time_names(existing.header.time_column) != _time_names(time_column):
            raise ParameterError(f"{output}: its time column is {existing.header.time_column!r}")
        last = _last_time(existing)
        if last is not None:
            continuity = Continuity(output, last, skip_stored)
    # compile the codec (first run only) before the first line, not at a frame
    prepare(times=time_column is not None)
    parser = LineParser(len(existing.header.channels) if existing else None, nan, time_column,
                        na_values=na_values, time_format=time_format, exact_integers=True)
    state = {"writer": None, "fh": None, "last": clock()}

    def open_writer(width: int) -> tuple[HippoWriter, object]:
        names = parser.names or [f"col{i}" for i in range(width)]
        if existing is not None:
            if parser.names is not None and names != existing.header.channels:
                raise DataError(f"line 1: columns {names} do not match {output}'s "
                                f"{existing.header.channels}")
            if existing.damage is not None:
                on_note(f"{output}: {existing.damage}: cut off before appending")
            fh, resume = live.for_append()
            return HippoWriter(fh, existing.header, frame_samples=flush_every,
                               resume=resume, key_every=key_every), fh
        header = header_with_times(names, [max_error] * width, parser.time_column,
                                   written_template("csv", parser.first_time, time_format))
        if key_every:  # chained frames: format version 3
            header = replace(header, version=3)
        chained = dict(frame_samples=flush_every, key_every=key_every)
        if live is None:
            fh = stdout_binary()
            return HippoWriter(fh, header, **chained), fh
        if live.through:
            return HippoWriter(live.fh, header, **chained), live.fh
        head = header_bytes(header)
        fh = live.create(head)  # the file appears with its header, or not at all
        return HippoWriter(fh, header, resume=(len(head), []), **chained), fh

    with Signals(interrupted) as signals:
        def consume(x: np.ndarray, times: Times | None) -> None:
            signals.begin()
            if continuity is not None and not continuity.done:
                x, times = continuity.check(x, times, parser.row_lines)
                if not len(x):
                    signals.end()
                    return
            if state["writer"] is None:
                state["writer"], state["fh"] = open_writer(x.shape[1])
            w = state["writer"]
            frames = w.frames
            w.append(x, times)
            if w.frames == frames and clock() - state["last"] > flush_seconds:
                w.flush()
            if w.frames != frames:
                state["fh"].flush()
                state["last"] = clock()
            signals.end()

        try:
            read_batches(read, parser, consume, on_note, exact=True)
        finally:
            signals.busy = False
            if continuity is not None and continuity.skipped:
                on_note(continuity.note())
            w = state["writer"]
            if w is not None:
                signals.begin()  # a signal now must not cut the last frame short
                w.close()  # the last frame and the footer
                state["fh"].flush()
                if live is not None:
                    live.close()  # synced to disk, the lock dropped
                signals.busy = False
    w = state["writer"]
    return 0 if w is None else w.samples - (existing.samples if existing else 0)


def _last_time(reader) -> Times | None:
    """The time of the last sample stored in ``reader``'s file (None: no times, no
    samples)."""
    if not reader.header.timed:
        return None
    for info in reversed(reader.index):
        times = reader.frame_times(info)
        if times is not None and len(times):
            return times[-1:]
    return None


def later_than(times: Times, last: Times) -> np.ndarray:
    """Which of ``times`` come after ``last`` (one time), compared exactly: ISO times by
    their seconds and nanoseconds, integers as integers."""
    if times.iso and last.iso:
        s, ns = int(last.ints[0]), int(last.nanos[0])
        return (times.ints > s) | ((times.ints == s) & (times.nanos > ns))
    if times.ints is not None and last.ints is not None and not times.iso and not last.iso:
        return times.ints > last.ints[0]
    return times.seconds > last.seconds[0]


class Continuity:
    """A resumed timed stream: its first sample must come after the last one stored. By
    default the first batch is checked (a DataError naming the line and both times if it
    does not); with ``skip``, the leading samples at or before the last stored time are
    dropped (counted) until the first later one. After that the stream's times are stored
    as recorded."""

    def __init__(self, name: str, last: Times, skip: bool) -> None:
        self.name = name
        self.last = last
        self.last_text = last.text()[0]
        self.skip = skip
        self.skipped = 0
        self.done = False

    def check(self, x: np.ndarray, times: Times | None, lines: np.ndarray
              ) -> tuple[np.ndarray, Times | None]:
        if times is None or not len(times):
            return x, times
        later = later_than(times, self.last)
        if not self.skip:
            self.done = True
            if not later[0]:
                line = f"line {int(lines[0])}: " if len(lines) else ""
                raise DataError(f"{line}time {times[:1].text()[0]!r} is not after the last "
                                f"time stored in {self.name} ({self.last_text!r}): those "
                                "samples are in the file already; send only the later ones, "
                                "or skip them with --skip-stored")
            return x, times
        first = int(np.argmax(later)) if later.any() else len(later)
        self.skipped += first
        self.done = first < len(later)
        return x[first:], times[first:]

    def note(self) -> str:
        return (f"{self.name}: skipped {self.skipped} sample{'s' * (self.skipped != 1)} "
                f"already in the file (times up to {self.last_text!r})")
