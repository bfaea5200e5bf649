"""Reading stdin live, for ``hippo stream``: what has arrived is read with ``os.read``, split
into lines, and every batch of complete lines is handed over at once; SIGINT and SIGTERM are
held while a batch is being handled (never while a write waits on a reader).

Both stream modes use it: coefficient rows (:mod:`.stream`) and ``.hippo`` frames
(:func:`.bounded.stream_bounded`).
"""

from __future__ import annotations

import functools
import io
import os
import signal
import sys

from ..errors import DataError
from ..formats.stream_lines import LineParser

READ_SIZE = 1 << 16
#: A line longer than this is refused (bounded memory for a stream that never sends "\n").
MAX_LINE_BYTES = 1 << 26


class Signals:
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

    def __enter__(self) -> Signals:
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


def deliver(out, data: bytes, signals: Signals) -> None:
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


def stdin_reader():
    """``read(n)`` returning what has arrived on stdin (at most n bytes; b"" at EOF)."""
    if sys.stdin is None:  # started with stdin closed (<&-): end of input at once
        return lambda n: b""
    try:
        fd = sys.stdin.fileno()
    except (AttributeError, ValueError, io.UnsupportedOperation):
        buffer = sys.stdin.buffer  # an in-memory stdin (tests): plain reads
        return getattr(buffer, "read1", buffer.read)
    return functools.partial(os.read, fd)


def read_batches(read, parser: LineParser, consume, on_note=None, exact: bool = False) -> None:
    """Read stdin to EOF; every batch of complete lines becomes rows (L, C[+1]) passed to
    ``consume`` as soon as it has arrived (``exact``: ``consume(values (L, C), times or
    None)`` with the exact times, :meth:`LineParser.parse_times`). Raises the first bad
    line's error after the rows before it were consumed."""

    def parse(lines: list[bytes]) -> tuple[tuple, bool, Exception | None]:
        if exact:
            x, times, error = parser.parse_times(lines)
            return (x, times), len(x) > 0, error
        x, error = parser.parse(lines)
        return (x,), len(x) > 0, error

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
                rows, some, error = parse(lines)
                if some:
                    consume(*rows)
                raise error or DataError(f"line {where}: longer than {MAX_LINE_BYTES} bytes")
        else:  # EOF: a last line without newline still counts
            lines = [tail] if tail.strip() else []
        if lines:
            rows, some, error = parse(lines)
            while parser.notes and on_note is not None:
                on_note(parser.notes.pop(0))
            if some:
                consume(*rows)
            if error is not None:
                raise error
        if not data:
            return
