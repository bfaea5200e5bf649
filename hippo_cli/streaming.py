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

from .encoder import HiPPO
from .errors import DataError, ParameterError
from .io import is_number

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

    def _handler(self, signum, frame) -> None:  # noqa: ANN001
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


class _LineParser:
    """Turns stdin lines into float rows; remembers the line number and the channel count."""

    def __init__(self, channels: int | None, nan: str, time_column: str | None = None) -> None:
        self.channels = channels
        self.nan = nan
        self.lineno = 0
        self.names: list[str] | None = None
        self.last: np.ndarray | None = None
        self.time_column = time_column
        self.time_index: int | None = None  # rows then end with the sample time

    def parse(self, lines: list[bytes]) -> tuple[np.ndarray, DataError | None]:
        """Rows (L, C) of the lines up to the first bad one, and the error it caused."""
        rows: list[list[float]] = []
        for raw in lines:
            self.lineno += 1
            try:
                row = self._parse_line(raw)
            except DataError as err:
                return self._as_array(rows), err
            if row is not None:
                rows.append(row)
        return self._as_array(rows), None

    def _as_array(self, rows: list[list[float]]) -> np.ndarray:
        width = (self.channels or 0) + (self.time_index is not None)
        return np.array(rows, dtype=np.float64).reshape(len(rows), width)

    def _parse_line(self, raw: bytes) -> list[float] | None:
        text = raw.strip()
        if self.lineno == 1 and text.startswith(b"\xef\xbb\xbf"):
            text = text[3:]
        parts = text.split(b",") if text else [b""] * (self.channels or 1)
        if self.lineno == 1 and self.names is None and text:
            try:
                if self.time_column is not None:
                    raise ValueError  # a header line is required to find the time column
                [float(p) for p in parts if p.strip()]
            except ValueError:
                try:
                    self.names = [p.strip().decode("utf-8") for p in parts]
                except UnicodeDecodeError:
                    raise DataError("line 1: not UTF-8 text") from None
                if self.time_column is not None:
                    if self.time_column not in self.names:
                        raise DataError(f"line 1: no time column {self.time_column!r} "
                                        f"(columns: {', '.join(self.names)})") from None
                    self.time_index = self.names.index(self.time_column)
                    del self.names[self.time_index]
                self._set_channels(len(self.names))
                return None
        stamp = None
        if self.time_index is not None:
            if len(parts) != (self.channels or 0) + 1:
                raise DataError(f"line {self.lineno}: {len(parts)} values, expected "
                                f"{(self.channels or 0) + 1}")
            stamp = _parse_time(parts.pop(self.time_index), self.lineno)
        self._set_channels(len(parts))
        if len(parts) != self.channels:
            raise DataError(f"line {self.lineno}: {len(parts)} values, expected {self.channels}")
        try:
            row = [float(p) if p.strip() else float("nan") for p in parts]
        except ValueError:
            bad = next(p for p in parts if not is_number(p))
            raise DataError(f"line {self.lineno}: not a number: "
                            f"{bad[:40].decode('utf-8', 'replace')!r}") from None
        if any(v in (float("inf"), float("-inf")) for v in row):
            raise DataError(f"line {self.lineno}: infinite value")
        if any(v != v for v in row):
            if self.nan == "error":
                raise DataError(f"line {self.lineno}: empty or NaN value "
                                "(use --nan skip or --nan hold)")
            if self.nan == "skip":
                return None
            if self.last is None:
                raise DataError(f"line {self.lineno}: NaN before any value to hold")
            row = [v if v == v else h for v, h in zip(row, self.last.tolist())]
        self.last = np.array(row)
        return row if stamp is None else [*row, stamp]

    def _set_channels(self, n: int) -> None:
        if self.channels is None:
            self.channels = n


def _parse_time(field: bytes, lineno: int) -> float:
    """A number, or an ISO 8601 timestamp as seconds since 1970 (naive means UTC)."""
    import datetime as dt

    text = field.strip().decode("utf-8", "replace")
    try:
        value = float(text)
    except ValueError:
        try:
            stamp = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise DataError(f"line {lineno}: time {text[:40]!r} is not a number or an ISO "
                            "timestamp") from None
        if stamp.tzinfo is None:
            stamp = stamp.replace(tzinfo=dt.timezone.utc)
        value = stamp.timestamp()
    if value != value or value in (float("inf"), float("-inf")):
        raise DataError(f"line {lineno}: time must be finite")
    return value


def _header(enc: HiPPO, names: list[str] | None, channels: int, timed: bool = False) -> bytes:
    lead = "step,time," if timed else "step,"
    if channels == 1:
        cols = [f"c{n}" for n in range(enc.N)]
    else:
        names = names or [f"col{i}" for i in range(channels)]
        cols = [f"{name}_c{n}" for name in names for n in range(enc.N)]
    return (lead + ",".join(cols) + "\n").encode()


def _format_rows(steps: np.ndarray, rows: np.ndarray, times: np.ndarray | None = None) -> bytes:
    if len(rows) == 0:
        return b""
    flat = rows.reshape(len(rows), -1).tolist()
    lead = [f"{k}," for k in steps.tolist()]
    if times is not None:
        lead = [f"{k}{t!r}," for k, t in zip(lead, times.tolist())]
    return "".join(k + ",".join(map(repr, r)) + "\n" for k, r in zip(lead, flat)).encode()


def _stdin_reader():  # noqa: ANN202
    """``read(n)`` returning what has arrived on stdin (at most n bytes; b"" at EOF)."""
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
    out=None,  # noqa: ANN001 - a binary stream
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
    if state_path is not None and state_path.exists():
        saved = HiPPO.load(state_path)
        if saved.params() != enc.params():
            raise ParameterError(f"{state_path}: state was made with {saved.params()}, "
                                 f"the options say {enc.params()}")
        enc = saved
    read = _stdin_reader() if infd is None else functools.partial(os.read, infd)
    out = sys.stdout.buffer if out is None else out
    parser = _LineParser(enc.channels, nan, time_column)
    wrote_header = not header
    pieces: list[bytes] = []  # the unfinished last line, as read
    pending = 0
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
            squeeze = width == 1 and (enc.channels is None or enc._squeeze)
            for part in _split_at_checkpoints(x, enc.steps, checkpoint_every):
                step0 = enc.steps
                data, t = (part[:, :-1], part[:, -1]) if timed else (part, None)
                signals.begin()
                rows = enc.update(data[:, 0] if squeeze else data, every, times=t)
                chunks = []
                if not wrote_header:
                    chunks.append(_header(enc, parser.names, width, timed))
                    wrote_header = True
                steps = HiPPO.emitted_steps(step0, len(part), every)
                chunks.append(_format_rows(steps, rows, None if t is None else t[steps - step0]))
                out.write(b"".join(chunks))
                out.flush()
                if checkpoint_every and enc.steps % checkpoint_every == 0:
                    enc.save(state_path)
                signals.end()

        try:
            while True:
                data = read(READ_SIZE)
                if data and b"\n" not in data:  # part of a line: keep the pieces, join once
                    pieces.append(data)
                    pending += len(data)
                    if pending > MAX_LINE_BYTES:
                        raise DataError(f"line {parser.lineno + 1}: longer than "
                                        f"{MAX_LINE_BYTES} bytes")
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
                            encode(x)
                        raise error or DataError(
                            f"line {where}: longer than {MAX_LINE_BYTES} bytes")
                else:  # EOF: a last line without newline still counts
                    lines = [tail] if tail.strip() else []
                if lines:
                    x, error = parser.parse(lines)
                    if len(x):
                        encode(x)
                    if error is not None:
                        raise error
                if not data:
                    if timed and enc.steps == 0 and len(held):
                        raise DataError("a timed legt/lagt stream needs two samples (the first "
                                        "interval sets the first step; or use --init steady)")
                    break
        finally:
            signals.busy = False
            if state_path is not None:
                signals.begin()  # a signal now must not cut the final save short
                enc.save(state_path)
                signals.busy = False
    return enc.steps


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
