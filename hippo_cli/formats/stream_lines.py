"""The text protocol of ``hippo stream``: input lines in, CSV coefficient rows out.

Input: one number per line, or comma-separated values for several channels; a first line
with a field that is not a number is a header (required with a time column). Output:
``step[,time],c0,...`` per emitted step, channels one after another.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from ..checks import MAX_CHANNELS
from ..errors import DataError
from .csv_input import COMPRESSED_MAGIC, is_number, time_named_note, two_time_columns
from .nan_policy import NanFilter
from .timestamps import looks_like_iso, read_times

if TYPE_CHECKING:
    from ..codec.times import Times


class LineParser:
    """Turns input lines into float rows; remembers the line number and the channel count.

    Rows of a timed stream end with the sample time (seconds, the rule of
    :mod:`.timestamps`). NaN and inf follow :mod:`.nan_policy`.
    """

    def __init__(self, channels: int | None, nan: str, time_column: str | None = None, *,
                 na_values: list[str] | None = None, time_format: str | None = None,
                 exact_integers: bool = False) -> None:
        """``time_column`` may name two columns (``"Date,Time"``: their text joined by a
        space; :attr:`time_column` is then ``"Date\tTime"``); ``na_values``: texts that mean
        a missing value besides an empty field; ``time_format``: the layout of text times
        that are not ISO (``%d/%m/%Y %H.%M.%S``); ``exact_integers``: refuse integers that
        float64 cannot hold exactly (a bound must hold against the value as written)."""
        self.channels = channels
        self.lineno = 0
        self.names: list[str] | None = None
        self.time_column = time_column
        self.time_index: int | None = None  # the first time column
        self.time_indexes: list[int] = []  # every time column (two: date and time)
        self.time_format = time_format
        self._na = {v.strip().encode("utf-8") for v in na_values or ()}
        self._exact_integers = exact_integers
        self.first_time: str | None = None  # the first time field as written
        self.drop: list[int] = []  # columns left out (times named or written like times)
        self.notes: list[str] = []
        self._checked_first = False
        self._nan = NanFilter(nan, [])
        self.time_iso: bool | None = None  # ISO times (None: none read yet)
        #: HiPPO coefficients need increasing times (a .hippo file keeps any order)
        self.increasing = False
        self._last: tuple[float, str] | None = None
        #: the input line of each row of the last :meth:`parse_times` (for messages)
        self.row_lines = np.empty(0, np.int64)

    def parse(self, lines: list[bytes]) -> tuple[np.ndarray, DataError | None]:
        """Rows (L, C[+1]) of the lines up to the first bad one, and the error it caused;
        the exact times of the rows are then in :attr:`times` (:func:`parse_times`)."""
        x, times, error = self.parse_times(lines)
        return (x if times is None else np.column_stack([x, times.seconds])), error

    def parse_times(self, lines: list[bytes]) -> tuple[np.ndarray, Times | None,
                                                       DataError | None]:
        """(values (L, C), their exact times or None, the error of the first bad line)."""
        values: list[list[float]] = []
        stamps: list[bytes] = []
        where: list[int] = []
        error: DataError | None = None
        for raw in lines:
            self.lineno += 1
            try:
                parsed = self._split(raw)
            except DataError as err:
                error = err
                break
            if parsed is not None:
                values.append(parsed[0])
                where.append(self.lineno)
                if parsed[1] is not None:
                    stamps.append(parsed[1])
        x = np.array(values, dtype=np.float64).reshape(len(values), self.channels or 0)
        times = None
        if self.time_index is not None:
            if stamps and self.first_time is None:
                self.first_time = stamps[0].strip().decode("utf-8", "replace")
            try:
                times, bad = read_times(stamps, self.time_format)
            except ValueError as err:  # a --time-format hippo cannot read or write
                raise DataError(str(err)) from None
            if times is None:
                text = stamps[bad].strip().decode("utf-8", "replace")[:40]
                how = (f"a time written {self.time_format!r}" if self.time_format else
                       "a number or an ISO timestamp")
                error = DataError(f"line {where[bad]}: time {text!r} is not {how}")
                x = x[:bad]
                times, _ = read_times(stamps[:bad], self.time_format)
            if self.time_iso is None and len(times):
                self.time_iso = times.iso
            elif len(times) and times.iso != self.time_iso:
                error = DataError(f"line {where[0]}: the time column mixes numbers and ISO "
                                  "timestamps")
                x, times = x[:0], times[:0]
        if self.increasing and times is not None and len(times):
            seconds = times.seconds
            steps = np.diff(seconds, prepend=-np.inf if self._last is None else self._last[0])
            if np.any(steps <= 0):
                i = int(np.argmax(steps <= 0))
                text = stamps[i].strip().decode("utf-8", "replace")
                before = self._last[1] if i == 0 else \
                    stamps[i - 1].strip().decode("utf-8", "replace")
                error = DataError(f"line {where[i]}: time {text!r} "
                                  f"{'repeats' if steps[i] == 0 else 'goes back from'} "
                                  f"{before!r}; HiPPO coefficients need increasing times "
                                  "(hippo stream --max-error keeps times in any order)")
                x, times = x[:i], times[:i]
            if len(times):
                self._last = (float(times.seconds[-1]),
                              stamps[len(times) - 1].strip().decode("utf-8", "replace"))
        lines = np.asarray(where[:len(x)], np.int64)
        x, rows, nan_error = self._nan.apply(x, lambda i: f"line {where[i]}")
        self.row_lines = lines[rows]
        error = nan_error or error
        return x, None if times is None else times[rows], error

    def _split(self, raw: bytes) -> tuple[list[float], bytes | None] | None:
        """(values, time field) of one line; None for the header."""
        text = raw.strip()
        if self.lineno == 1 and text.startswith(b"\xef\xbb\xbf"):
            text = text[3:]
        if self.lineno == 1:
            packed = next((kind for kind, magic in COMPRESSED_MAGIC if raw.startswith(magic)),
                          None)
            if packed is not None:  # a live stream is read line by line, as it comes
                raise DataError(f"line 1: {packed}-compressed input; hippo stream reads plain "
                                "text lines (decompress it into the pipe, or use hippo "
                                "compress -, which reads compressed input)")
        parts = text.split(b",") if text else [b""] * (self.channels or 1)
        if self.lineno == 1 and self.names is None and text and (
                self.time_column is not None or not all(is_number(p) for p in parts
                                                        if p.strip())):
            self._header(parts)
            return None
        if self.names is not None and not self._checked_first and self.time_column is None:
            self._leave_out_timestamps(parts)
        for i in self.drop:
            if i < len(parts):
                parts.pop(i)
        stamp = None
        if self.time_indexes:
            expected = (self.channels or 0) + len(self.time_indexes)
            if len(parts) != expected:
                raise DataError(f"line {self.lineno}: {len(parts)} values, expected {expected}")
            fields = [parts[i].strip() for i in self.time_indexes]
            if len(fields) == 2 and b" " in fields[0]:
                date = fields[0][:40].decode("utf-8", "replace")
                raise DataError(f"line {self.lineno}: date {date!r} holds a space (two time "
                                "columns are joined by one)")
            stamp = b" ".join(fields)
            for i in sorted(self.time_indexes, reverse=True):
                del parts[i]
        if self.channels is None:
            self._set_channels(len(parts), [f"col{i}" for i in range(len(parts))])
        if len(parts) != self.channels:
            raise DataError(f"line {self.lineno}: {len(parts)} values, expected {self.channels}")
        try:
            row = [self._number(p.strip()) for p in parts]
        except DataError:  # a ValueError too: said as it is
            raise
        except ValueError:
            bad = next(p for p in parts if not is_number(p) and p.strip() not in self._na)
            raise DataError(f"line {self.lineno}: not a number: "
                            f"{bad[:40].decode('utf-8', 'replace')!r}") from None
        return row, stamp

    def _number(self, field: bytes) -> float:
        if not field or field in self._na:
            return float("nan")
        value = float(field)
        # float() is correctly rounded; only integers of 16+ digits can lose digits
        if (self._exact_integers and len(field) > 15 and field.lstrip(b"+-").isdigit()
                and math.isfinite(value) and int(value) != int(field)):
            raise DataError(f"line {self.lineno}: the integer {field.decode()} has no exact "
                            f"float64 (it would be stored as {int(value)}): integers beyond "
                            "2^53 must be exact to keep a bound against the value as written")
        return value

    def _leave_out_timestamps(self, parts: list[bytes]) -> None:
        """The first data line: columns holding ISO timestamps are left out as ``compress``
        leaves them out (``--time-column`` uses them as times); numeric columns are data
        whatever their name (the rule of :func:`~.csv_input.choose_columns`)."""
        self._checked_first = True
        names = self.names or []
        if len(parts) != len(names):
            return
        drop = [i for i, p in enumerate(parts)
                if not is_number(p) and looks_like_iso(p.decode("utf-8", "replace"))]
        note = time_named_note([n for i, n in enumerate(names) if i not in drop], None)
        if note:
            self.notes.append(note)
        if drop and len(drop) < len(names):
            self.drop = sorted(drop, reverse=True)
            left = [names[i] for i in sorted(drop)]
            self.notes.append(f"left out {', '.join(left)}: times, not data (--time-column "
                              f"{left[0]} uses them as the sample times)")
            self.names = [n for i, n in enumerate(names) if i not in drop]
            if self.channels == len(names):
                self._set_channels(len(self.names), self.names)

    def _header(self, parts: list[bytes]) -> None:
        try:
            names = [p.strip().decode("utf-8") for p in parts]
        except UnicodeDecodeError:
            raise DataError("line 1: not UTF-8 text") from None
        if self.time_column is not None:
            self.time_column = two_time_columns(self.time_column, names)
            wanted = self.time_column.split("\t")
            if any(w not in names for w in wanted):
                raise DataError(f"line 1: no time column {self.time_column!r} "
                                f"(columns: {', '.join(names)})")
            self.time_indexes = [names.index(w) for w in wanted]
            self.time_index = self.time_indexes[0]
            names = [n for i, n in enumerate(names) if i not in self.time_indexes]
        self.names = names
        if self.channels is None:
            self._set_channels(len(names), names)

    def _set_channels(self, n: int, names: list[str]) -> None:
        if n > MAX_CHANNELS:
            raise DataError(f"line {self.lineno}: {n} values, more channels than hippo encodes "
                            f"at once ({MAX_CHANNELS})")
        self.channels = n
        self._nan.columns = names


def header_line(N: int, names: list[str] | None, channels: int, timed: bool = False) -> bytes:
    """``step[,time],c0,...`` (one channel) or ``step[,time],<name>_c0,...``."""
    lead = "step,time," if timed else "step,"
    if channels == 1:
        cols = [f"c{n}" for n in range(N)]
    else:
        names = names or [f"col{i}" for i in range(channels)]
        cols = [f"{name}_c{n}" for name in names for n in range(N)]
    return (lead + ",".join(cols) + "\n").encode()


def format_rows(steps: np.ndarray, rows: np.ndarray, times: np.ndarray | None = None) -> bytes:
    """CSV lines of emitted rows (R, [C,] N) with their steps (R,) and times (R,)."""
    if len(rows) == 0:
        return b""
    flat = rows.reshape(len(rows), -1).tolist()
    lead = [f"{k}," for k in steps.tolist()]
    if times is not None:
        lead = [f"{k}{t!r}," for k, t in zip(lead, times.tolist())]
    return "".join(k + ",".join(map(repr, r)) + "\n" for k, r in zip(lead, flat)).encode()
