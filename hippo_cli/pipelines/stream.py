"""``hippo stream``: stdin lines in, coefficient rows out, live.

Input is read with ``os.read`` (returns whatever has arrived), split into lines, and every
batch of complete lines goes through the encoder in one kernel call; its rows are written and
flushed before the next read. So a slow sensor gets a row per line at once, and a fast pipe is
processed in large batches.
"""

from __future__ import annotations

import functools
import io
import os
import signal
import sys
from pathlib import Path

import numpy as np

from ..atomic import allow_rewrite, check_output_path, stdout_binary
from ..checks import integer_at_least
from ..engine import HiPPO
from ..engine.state import save_state
from ..errors import DataError, ParameterError
from ..formats.stream_lines import LineParser, format_rows, header_line
from .encode import RowEncoder

READ_SIZE = 1 << 16
#: A line longer than this is refused (bounded memory for a stream that never sends "\n").
MAX_LINE_BYTES = 1 << 26


class _Signals:
    """SIGINT/SIGTERM raise ``exc(code)`` - but never inside an encoder update (the state and
    the step counter must change together): there the signal is held until the update ends."""

    def __init__(self, exc: type[Exception]) -> None:
        self.exc = exc
        self.busy = False
        self.pending: int | None = None
        self._old = {}

    def _handler(self, signum, frame) -> None:
        code = 130 if signum == signal.SIGINT else 143
        if self.busy:
            self.pending = code
        else:
            raise self.exc(code)

    def __enter__(self) -> _Signals:
        for sig in (signal.SIGINT, signal.SIGTERM):
            self._old[sig] = signal.signal(sig, self._handler)
        return self

    def __exit__(self, *exc: object) -> None:
        for sig, old in self._old.items():
            signal.signal(sig, old)

    def begin(self) -> None:
        self.busy = True

    def end(self) -> None:
        self.busy = False
        if self.pending is not None:
            raise self.exc(self.pending)

    def check(self) -> None:
        """Raise a signal that arrived while busy (keeps busy otherwise)."""
        if self.pending is not None:
            self.busy = False
            raise self.exc(self.pending)


def _deliver(out, data: bytes, signals: _Signals) -> None:
    """Write ``data`` to ``out`` completely, while signals are held - but never deaf to them:
    a reader that stops reading leaves the write waiting, and a pending SIGINT/SIGTERM is
    checked every 0.1 s (PIPE_BUF-sized writes to a writable pipe do not block)."""
    import select

    try:
        fd = out.fileno()
    except (AttributeError, OSError, io.UnsupportedOperation):  # in-memory (tests)
        out.write(data)
        out.flush()
        return
    out.flush()
    view = memoryview(data)
    while view:
        signals.check()
        _, writable, _ = select.select([], [fd], [], 0.1)
        if writable:
            view = view[os.write(fd, view[:select.PIPE_BUF]):]


def _stdin_reader():
    """``read(n)`` returning what has arrived on stdin (at most n bytes; b"" at EOF)."""
    if sys.stdin is None:  # started with stdin closed (<&-): end of input at once
        return lambda n: b""
    try:
        fd = sys.stdin.fileno()
    except (AttributeError, ValueError, io.UnsupportedOperation):
        buffer = sys.stdin.buffer  # an in-memory stdin (tests): plain reads
        return getattr(buffer, "read1", buffer.read)
    return functools.partial(os.read, fd)


def run_stream(
    enc: HiPPO,
    *,
    every: int,
    nan: str,
    state_path: Path | None,
    header: bool,
    interrupted: type[Exception],
    checkpoint_every: int | None = None,
    time_column: str | None = None,
    infd: int | None = None,
    out=None,
    on_note=None,
) -> int:
    """Encode lines from ``infd`` (stdin) and write CSV rows to ``out`` (stdout) live.

    Returns the number of samples consumed. Saves the state (atomically) to ``state_path`` at
    EOF, on a bad line, SIGINT (exit 130) and SIGTERM (exit 143), and - with
    ``checkpoint_every = K`` - whenever the global step count reaches a multiple of K, right
    after the rows of those samples were flushed. After a crash, the state's ``steps`` says
    which sample to feed next: rows are delivered at least once, never lost.
    """
    if checkpoint_every is not None and (state_path is None or checkpoint_every < 1):
        raise ParameterError("--checkpoint-every needs --state and a value >= 1")
    if state_path is not None:
        check_output_path(state_path)  # before any input is consumed
    if state_path is not None and state_path.exists():
        saved = HiPPO.load(state_path)
        allow_rewrite(state_path)  # read, then saved again: the state file's whole job
        if saved.params() != enc.params():
            raise ParameterError(f"{state_path}: state was made with {saved.params()}, "
                                 f"the options say {enc.params()}")
        enc = saved
    read = _stdin_reader() if infd is None else functools.partial(os.read, infd)
    out = stdout_binary() if out is None else out
    parser = LineParser(enc.channels, nan, time_column)
    wrote_header = not header
    encoder = RowEncoder(enc, every)
    delivered = [enc.snapshot()]  # the state after the last rows that reached the reader
    with _Signals(interrupted) as signals:

        timed = time_column is not None
        held = np.empty((0, 0))  # a timed legt/lagt stream's first sample, until a second

        def encode(x: np.ndarray) -> None:
            nonlocal wrote_header, held
            if timed and enc.steps == 0 and len(held):
                x = np.concatenate([held, x])
            if timed and enc.steps == 0 and len(x) == 1 and enc.measure != "legs" \
                    and enc.init == "zero":
                held = x  # its step length is the first interval: wait for sample 1
                return
            held = x[:0]
            width = x.shape[1] - timed
            for part in _split_at_checkpoints(x, enc.steps, checkpoint_every):
                signals.begin()  # held: the state, the rows and their delivery go together
                rows = encoder.feed_block(part, timed)
                chunks = []
                if not wrote_header:
                    chunks.append(header_line(enc.N, parser.names, width, timed))
                    wrote_header = True
                chunks.append(format_rows(rows.steps, rows.coeffs, rows.times))
                # a signal during the write ends the run with the state of the rows before
                # (they will be sent again on resume: at least once, never lost)
                _deliver(out, b"".join(chunks), signals)
                delivered[0] = enc.snapshot()
                if checkpoint_every and enc.steps % checkpoint_every == 0:
                    save_state(state_path, enc.params(), delivered[0])
                signals.end()

        try:
            _read_batches(read, parser, encode, on_note)
            if timed and enc.steps == 0 and len(held):
                raise DataError("a timed legt/lagt stream needs two samples (the first "
                                "interval sets the first step; or use --init steady)")
        finally:
            signals.busy = False
            if state_path is not None:
                signals.begin()  # a signal now must not cut the final save short
                save_state(state_path, enc.params(), delivered[0])
                signals.busy = False
    return enc.steps


def run_stream_bounded(
    output: str | None,
    max_error,
    *,
    nan: str,
    interrupted: type[Exception],
    time_column: str | None = None,
    flush_every: int = 65536,
    flush_seconds: float = 10.0,
    infd: int | None = None,
    on_note=lambda note: None,
) -> int:
    """Compress lines from stdin into the ``.hippo`` file ``output`` (``"-"``: stdout), a
    frame at a time: after every ``flush_every`` samples, when ``flush_seconds`` have passed
    with samples pending, at EOF, and on SIGINT (exit 130) / SIGTERM (exit 143).

    An existing ``.hippo`` file is resumed: its frames are kept (a torn tail from a crash
    and the footer of a closed stream are cut off, with a note) and new frames are appended;
    its channels, bound and time column must match. The footer is written when the stream
    ends (EOF, a bad line, SIGINT, SIGTERM). Returns the number of samples written in this
    run.
    """
    import time

    from ..codec.channel import prepare
    from ..codec.container import HippoHeader, HippoWriter, check_header, header_with_times
    from ..codec.container import open_hippo as open_existing
    from ..formats.timestamps import written_pattern

    if max_error.percent:
        raise ParameterError("a stream reads stdin: max_error must be absolute (the value "
                             "range is not known in advance)", option="max_error")
    if output is None:
        raise ParameterError("a bounded stream needs an output .hippo file (- for stdout)",
                             option="output")
    integer_at_least("flush_every", flush_every, 1, 1 << 20)
    max_error = max_error.value
    check_header(HippoHeader(["x"], [max_error]))
    read = _stdin_reader() if infd is None else functools.partial(os.read, infd)
    existing = None
    if output != "-" and Path(output).exists():
        with open_existing(output, salvage=True) as existing:
            pass  # the header, the intact frames and what is wrong at the end
        allow_rewrite(output)  # a live file is appended to: that is the point
        if existing.header.whole:
            raise ParameterError(f"{output}: was written whole (by hippo compress); hippo "
                                 "stream appends only to the files it writes")
        if existing.header.max_errors != [max_error] * len(existing.header.channels):
            raise ParameterError(f"{output}: was written with max error "
                                 f"{existing.header.max_errors[0]:g}, not {max_error:g}")
        if existing.header.time_column != time_column:
            raise ParameterError(f"{output}: its time column is {existing.header.time_column!r}")
    prepare()  # compile the codec (first run only) before the first line, not at a frame
    parser = LineParser(len(existing.header.channels) if existing else None, nan, time_column)
    state = {"writer": None, "fh": None, "last": time.monotonic(), "start": 0}

    def open_writer(width: int) -> tuple[HippoWriter, object]:
        names = parser.names or [f"col{i}" for i in range(width)]
        if existing is not None:
            if parser.names is not None and names != existing.header.channels:
                raise DataError(f"line 1: columns {names} do not match {output}'s "
                                f"{existing.header.channels}")
            end, intact = existing.resume_point()
            if existing.damage is not None:
                on_note(f"{output}: {existing.damage}: cut off before appending")
            fh = open(output, "r+b")
            fh.truncate(end)  # drop a torn tail, or the footer of a closed stream
            fh.seek(end)
            state["start"] = existing.samples
            return HippoWriter(fh, existing.header, frame_samples=flush_every,
                               resume=(end, intact)), fh
        header = header_with_times(names, [max_error] * width, time_column,
                                   written_pattern("csv", parser.first_time))
        if output == "-":
            fh = stdout_binary()
        else:
            fh = open(check_output_path(Path(output)), "xb")
        return HippoWriter(fh, header, frame_samples=flush_every), fh

    with _Signals(interrupted) as signals:
        def consume(x: np.ndarray) -> None:
            signals.begin()
            if state["writer"] is None:
                state["writer"], state["fh"] = open_writer(x.shape[1] - (time_column is not None))
            w = state["writer"]
            frames = w.frames
            w.append(*((x[:, :-1], x[:, -1]) if time_column is not None else (x, None)))
            if w.frames == frames and time.monotonic() - state["last"] > flush_seconds:
                w.flush()
            if w.frames != frames:
                state["fh"].flush()
                state["last"] = time.monotonic()
            signals.end()

        try:
            _read_batches(read, parser, consume, on_note)
        finally:
            signals.busy = False
            w = state["writer"]
            if w is not None:
                signals.begin()  # a signal now must not cut the last frame short
                w.close()  # the last frame and the footer
                state["fh"].flush()
                if output != "-":
                    os.fsync(state["fh"].fileno())
                    state["fh"].close()
                signals.busy = False
    w = state["writer"]
    return 0 if w is None else w.samples


def _read_batches(read, parser: LineParser, consume, on_note=None) -> None:
    """Read stdin to EOF; every batch of complete lines becomes rows (L, C[+1]) passed to
    ``consume`` as soon as it has arrived. Raises the first bad line's error after the rows
    before it were consumed."""
    pieces: list[bytes] = []  # the unfinished last line, as read
    pending = 0
    cr = False  # the previous read ended with \r (maybe the first half of \r\n)
    while True:
        data = read(READ_SIZE)
        if cr and not data:  # EOF right after a \r: it ended the last line
            data, cr = b"\n", False
        elif b"\r" in data or cr:  # \r\n and a lone \r (old Mac files) end lines too
            data = (b"\r" if cr else b"") + data
            cr = data.endswith(b"\r")
            if cr:  # keep it until the next read says whether \n follows
                data = data[:-1]
            data = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
            if not data:
                continue
        if data and b"\n" not in data:  # part of a line: keep the pieces, join once
            pieces.append(data)
            pending += len(data)
            if pending > MAX_LINE_BYTES:
                raise DataError(f"line {parser.lineno + 1}: longer than {MAX_LINE_BYTES} bytes")
            continue
        tail = b"".join([*pieces, data])
        pieces, pending = [], 0
        if data:
            lines = tail.split(b"\n")
            pieces.append(lines.pop())
            pending = len(pieces[0])
            too_long = [i for i, ln in enumerate(lines) if len(ln) > MAX_LINE_BYTES]
            if too_long or pending > MAX_LINE_BYTES:
                lines = lines[: too_long[0]] if too_long else lines
                where = parser.lineno + len(lines) + 1
                x, error = parser.parse(lines)
                if len(x):
                    consume(x)
                raise error or DataError(f"line {where}: longer than {MAX_LINE_BYTES} bytes")
        else:  # EOF: a last line without newline still counts
            lines = [tail] if tail.strip() else []
        if lines:
            x, error = parser.parse(lines)
            while parser.notes and on_note is not None:
                on_note(parser.notes.pop(0))
            if len(x):
                consume(x)
            if error is not None:
                raise error
        if not data:
            return


def _split_at_checkpoints(x: np.ndarray, steps: int, k: int | None) -> list[np.ndarray]:
    """Split rows so that every part ends where the global step count hits a multiple of k."""
    if not k:
        return [x]
    parts = []
    start = 0
    first = (k - steps % k) % k or k
    for cut in range(first, len(x) + 1, k):
        parts.append(x[start:cut])
        start = cut
    if start < len(x):
        parts.append(x[start:])
    return parts
