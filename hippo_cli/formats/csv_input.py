"""CSV input: a header sniffed from the first lines, then pandas' C parser in chunks.

Memory does not grow with the file: rows are parsed ``CHUNK_VALUES`` values at a time.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import numpy as np

from ..atomic import note_read
from ..checks import MAX_CHANNELS
from ..errors import DataError, ParameterError
from .source import CHUNK_VALUES, Samples, first_line
from .timestamps import looks_like_iso, read_times

if TYPE_CHECKING:
    from ..codec.times import Times

#: Lines read ahead to tell a header from data and numeric columns from the rest.
SNIFF_LINES = 200
#: More columns than this are refused.
MAX_COLUMNS = 100_000
#: A line longer than this is refused (bounded memory for an input that never ends a line).
MAX_LINE_BYTES = 1 << 26
#: Numeric columns with these names (any case) hold times, not data: left out with a note.
TIME_NAMES = frozenset({"time", "t", "timestamp", "ts", "date", "datetime", "epoch",
                        "unix_time", "time_s", "seconds"})
#: Parallel parsing: threads, bytes of text per block (about 45 MB of parser memory each;
#: measured on 16M rows: 8 MB blocks parse 1.6x faster than pandas' own 512k-row chunks,
#: 2 MB blocks no faster), the bytes per value of a chunk (tests' small chunks), and the
#: smallest block worth a thread.
PARSE_WORKERS = 2
PARSE_BLOCK_BYTES = 8 << 20
PARSE_BYTES_PER_VALUE = 16
PARSE_MIN_BLOCK = 1 << 20
#: Field separators tried, in order of preference, when the first lines are sniffed.
SEPARATORS = (",", ";", "\t")


class _Prefixed(io.RawIOBase):
    """A binary stream that serves ``prefix`` first, then the rest of ``raw`` (for sniffing
    the head of stdin without consuming it)."""

    def __init__(self, prefix: bytes, raw: IO[bytes], name: str = "<input>",
                 line: int = 0) -> None:
        self._prefix = memoryview(prefix)
        self._raw = raw
        self.consumed = 0
        self._name = name
        self._line = line  # newlines seen so far
        self._run = 0  # bytes since the last newline

    def readable(self) -> bool:
        return True

    def readinto(self, buf: Any) -> int:
        if len(self._prefix):
            n = min(len(buf), len(self._prefix))
            buf[:n] = self._prefix[:n]
            self._prefix = self._prefix[n:]
        else:
            n = self._raw.readinto(buf) or 0
            self._check_lines(np.frombuffer(buf, np.uint8, count=n))
        self.consumed += n
        return n

    def _check_lines(self, data: np.ndarray) -> None:
        ends = data == 10  # numpy: bytes.count runs at a tenth of memory speed
        count = int(np.count_nonzero(ends))
        if not count:
            self._run += len(data)
        else:
            self._line += count
            w = 256  # the last newline is near the end: look there first
            while not ends[-w:].any():
                w *= 16
            tail = ends[-w:]
            self._run = len(tail) - 1 - int(np.flatnonzero(tail)[-1])  # bytes after it
        if self._run > MAX_LINE_BYTES:
            raise DataError(f"{self._name}, line {self._line + 1}: longer than "
                            f"{MAX_LINE_BYTES} bytes (is it a CSV file?)")


def is_number(text: str | bytes) -> bool:
    """Whether ``float`` reads the text (str or bytes)."""
    try:
        float(text)
    except ValueError:
        return False
    return True


def _decode(raw: bytes, name: str) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise DataError(f"{name}: not UTF-8 text (byte {err.start}); is it a CSV file?") from None


def open_csv(
    path: str, columns: list[str] | None = None, *, chunk_values: int = CHUNK_VALUES,
    time_column: str | None = None,
) -> Samples:
    """Open a CSV file (``"-"``: stdin) as chunked samples.

    A first line with any non-numeric field is a header; otherwise columns are named
    ``col0, col1, ...``. Without ``columns``, every numeric column is used and the others
    (a timestamp, a label) are left out with a note in ``Samples.notes``. With
    ``time_column`` (numbers, or ISO timestamps turned into seconds since 1970), every block
    carries the sample times as its last column.
    """
    import pandas as pd  # lazily: 0.5 s of import time

    name = "<stdin>" if path == "-" else path
    if path == "-":
        if sys.stdin is None:  # started with stdin closed (<&-): an empty input
            raise DataError("<stdin>: no data (stdin is closed)")
        raw: IO[bytes] = sys.stdin.buffer
        size = None
    else:
        if Path(path).is_dir():
            raise DataError(f"{path}: is a folder, not a file")
        note_read(path)
        raw = open(path, "rb")
        size = os.fstat(raw.fileno()).st_size
    head_lines = []
    for n in range(SNIFF_LINES):
        line = raw.readline(MAX_LINE_BYTES + 1)
        if not line:
            break
        if len(line) > MAX_LINE_BYTES:
            raise DataError(f"{name}, line {n + 1}: longer than {MAX_LINE_BYTES} bytes (is it "
                            "a CSV file?)")
        head_lines.append(line)
    head = b"".join(head_lines)
    text = _decode(head, name)
    lines = text.splitlines()
    first = next((ln for ln in lines if ln.strip()), None)
    if first is None:
        raise DataError(f"{name}: no data (empty input)")
    if "\x00" in text:
        raise DataError(f"{name}: binary data, not a CSV file")
    sep, decimal = _dialect([ln for ln in lines if ln.strip()])
    fields = [f.strip().strip('"') for f in first.split(sep)]
    has_header = not all(is_number(f) or f == "" for f in fields)
    if has_header:
        names = fields
        if len(set(names)) != len(names):
            raise DataError(f"{name}: duplicate column names in the header")
    else:
        names = [f"col{i}" for i in range(len(fields))]
    if len(names) > MAX_COLUMNS:
        raise DataError(f"{name}: {len(names)} columns is more than hippo handles "
                        f"({MAX_COLUMNS})")
    n_blank_lead = next(i for i, ln in enumerate(lines) if ln.strip())
    header_line = n_blank_lead + 1 if has_header else 0  # 1-based line of the header
    read_kw: dict[str, Any] = {
        "header": None,
        "names": names,
        "skip_blank_lines": False,
        "skipinitialspace": True,
        "encoding": "utf-8-sig",
        "engine": "c",
        "on_bad_lines": "error",
        "sep": sep,
        "decimal": decimal,
    }
    skip = header_line if has_header else n_blank_lead
    try:
        sniff = pd.read_csv(io.BytesIO(head), skiprows=skip, **read_kw)
    except (ValueError, pd.errors.ParserError) as err:
        raise DataError(f"{name}: unreadable CSV ({first_line(err)})") from None
    chosen, notes = choose_columns(name, names, sniff, columns, time_column)
    if sep != ",":
        notes.append(f"read as {'semicolon' if sep == ';' else 'tab'}-separated"
                     + (" with decimal commas" if decimal == "," else ""))
    rows_per_chunk = max(1, chunk_values // len(chosen))
    stream = _Prefixed(head, raw, name, len(head_lines))
    buffered = io.BufferedReader(stream, buffer_size=1 << 20)
    samples = Samples(name, chosen, "csv", size, notes=notes, time_column=time_column)
    if time_column is not None:
        stamps = sniff[time_column].dropna()
        samples.time_text = str(stamps.iloc[0]).strip() if len(stamps) else None
    samples.source = _csv_chunks(
        buffered, stream, raw, samples, skip, rows_per_chunk, read_kw, path != "-"
    )
    return samples


def choose_columns(name: str, names: list[str], sniff: Any, columns: list[str] | None,
                   time_column: str | None) -> tuple[list[str], list[str]]:
    """(the columns to encode, notes) of a table whose first rows are ``sniff``: the ones
    asked for, else the numeric ones - less columns named like a time, which are left out
    with a note, as are non-numeric ones (naming any that hold timestamps). The one rule for
    CSV, Parquet and (through the same names) ``hippo stream``."""
    notes: list[str] = []
    if time_column is not None and time_column not in names:
        raise DataError(f"{name}: no time column {time_column!r} (columns: {', '.join(names)})")
    if columns:
        missing = [c for c in columns if c not in names]
        if missing:
            raise DataError(f"{name}: no column {missing[0]!r} (columns: {', '.join(names)})")
        chosen = list(dict.fromkeys(columns))
    else:
        if len(names) - (time_column is not None) > MAX_CHANNELS:  # before any per-column work
            raise DataError(f"{name}: {len(names)} columns, more than hippo encodes at once "
                            f"({MAX_CHANNELS}); choose some with --column")
        chosen = numeric_columns(sniff, exclude=[time_column])
        timelike = [c for c in chosen if c.strip().lower() in TIME_NAMES]
        if timelike and len(chosen) > len(timelike):
            chosen = [c for c in chosen if c not in timelike]
            notes.append(f"left out {', '.join(timelike)}: named like a time column (use "
                         f"--time-column {timelike[0]} for the sample times, or --column "
                         f"{timelike[0]} to encode it as data)")
        left_out = [c for c in names if c not in chosen and c != time_column
                    and c not in timelike]
        if left_out:
            stamps = [c for c in left_out if len(sniff[c].dropna())
                      and looks_like_iso(str(sniff[c].dropna().iloc[0]))]
            notes.append(f"left out non-numeric column(s): {', '.join(left_out)}"
                         + (f" ({stamps[0]} looks like timestamps: --time-column {stamps[0]} "
                            "uses them as the sample times)" if stamps and time_column is None
                            else ""))
        if not chosen:
            raise DataError(f"{name}: no numeric column")
    if time_column in chosen:
        raise ParameterError(f"--time-column {time_column!r} cannot also be a --column")
    if len(chosen) > MAX_CHANNELS:
        raise DataError(f"{name}: {len(chosen)} columns to encode, more than hippo encodes at "
                        f"once ({MAX_CHANNELS}); choose some with --column")
    return chosen, notes


def _dialect(lines: list[str]) -> tuple[str, str]:
    """(separator, decimal point) of the first lines: the first separator in
    :data:`SEPARATORS` that splits every line into the same number (> 1) of fields; a comma
    inside numbers is a decimal comma when the separator is not a comma."""
    import re

    for sep in SEPARATORS:
        counts = {ln.count(sep) for ln in lines}
        if len(counts) == 1 and counts != {0}:
            break
    else:
        sep = ","
    decimal = "."
    if sep != ",":
        cells = [c.strip() for ln in lines[1:] for c in ln.split(sep)]
        if any(re.fullmatch(r"[-+]?\d+,\d+", c) for c in cells):
            decimal = ","
    return sep, decimal


def numeric_columns(frame: Any, exclude: list[str | None] = ()) -> list[str]:
    """The columns of a pandas frame (a file's first rows) that hold numbers: numeric
    dtype, or some cells that read as numbers (the rest may be empty). The one rule for every
    reader."""
    import pandas as pd

    out = []
    for col in frame.columns:
        if col in exclude:
            continue
        series = frame[col]
        if series.dtype.kind in "biuf":
            out.append(col)
            continue
        if series.dtype.kind in "mM":  # timestamps and durations are times, not data
            continue
        nonempty = series.dropna()
        if len(nonempty) == 0 or pd.to_numeric(nonempty, errors="coerce").notna().any():
            out.append(col)
    return out


def _parse_error(samples: Samples, err: BaseException, first: int = 1) -> DataError:
    """The one-line error of a parse failure; ``first``: the file line of the parsed text's
    first line (pandas counts from the text it was given)."""
    if isinstance(err, UnicodeDecodeError):
        return DataError(f"{samples.name}: not UTF-8 text ({first_line(err)})")
    msg = re.sub(r"line (\d+)", lambda m: f"line {int(m.group(1)) + first - 1}", first_line(err))
    return DataError(f"{samples.name}: unreadable CSV ({msg})")


def _text_blocks(buffered: IO[bytes], size: int) -> Iterator[bytes]:
    """The rest of ``buffered`` in blocks of whole lines, about ``size`` bytes each (a
    block ends outside quoted fields: its quotes pair up)."""
    while True:
        data = buffered.read(size)
        if not data:
            return
        # complete the last line (the stream refuses one longer than MAX_LINE_BYTES)
        while not data.endswith(b"\n") or (b'"' in data and data.count(b'"') % 2):
            more = buffered.readline(MAX_LINE_BYTES + 1)
            if not more:
                break
            data += more
        yield data


def _parallel_frames(buffered, samples, skip, size, read_kw) -> Iterator:
    """(first line, frame) of blocks of about ``size`` bytes, parsed by pandas' C parser in
    PARSE_WORKERS threads (it releases the GIL while it tokenises and converts), at most
    PARSE_WORKERS blocks in memory, in order."""
    from concurrent.futures import ThreadPoolExecutor

    import pandas as pd

    kw = {**read_kw, "encoding": "utf-8"}  # the header (and a BOM) is behind us

    def parse(text: bytes) -> Any:
        if not text.strip(b"\r\n"):  # only line ends: blank rows (pandas sees no columns)
            return pd.DataFrame(np.nan, index=range(text.count(b"\n")), columns=kw["names"])
        return pd.read_csv(io.BytesIO(text), **kw)

    for _ in range(skip):
        buffered.readline()
    line = skip + 1
    with ThreadPoolExecutor(PARSE_WORKERS, thread_name_prefix="hippo-csv") as pool:
        pending: list = []
        blocks = _text_blocks(buffered, size)
        while True:
            while len(pending) < PARSE_WORKERS:
                text = next(blocks, None)
                if text is None:
                    break
                pending.append(pool.submit(parse, text))
            if not pending:
                return
            try:
                frame = pending.pop(0).result()
            except (ValueError, pd.errors.ParserError) as err:
                for other in pending:
                    other.cancel()
                raise _parse_error(samples, err, line) from None
            yield line, frame
            line += len(frame)  # a row per line: blank lines are rows too


def _sequential_frames(buffered, samples, skip, rows, read_kw) -> Iterator:
    """(first line, frame) of ``rows`` rows at a time, by pandas' chunked reader."""
    import pandas as pd

    line = skip + 1
    try:  # every column is parsed (no usecols): a row with extra fields is an error
        reader = pd.read_csv(buffered, skiprows=skip, chunksize=rows, **read_kw)
    except (ValueError, pd.errors.ParserError) as err:
        raise _parse_error(samples, err) from None
    with reader:
        while True:
            try:
                frame = next(reader)
            except StopIteration:
                return
            except (ValueError, pd.errors.ParserError) as err:
                raise _parse_error(samples, err) from None
            yield line, frame
            line += len(frame)


def _csv_chunks(buffered, stream, raw, samples, skip, rows, read_kw, close) -> Iterator:
    import pandas as pd

    wanted = samples.columns + ([samples.time_column] if samples.time_column else [])
    try:
        # blocks of text parsed side by side; small chunks (the tests of chunking) keep
        # pandas' own chunked reader
        size = min(PARSE_BLOCK_BYTES, rows * len(read_kw["names"]) * PARSE_BYTES_PER_VALUE)
        if size >= PARSE_MIN_BLOCK:
            frames = _parallel_frames(buffered, samples, skip, size, read_kw)
        else:
            frames = _sequential_frames(buffered, samples, skip, rows, read_kw)
        with contextlib.closing(frames):
            for line, frame in frames:
                block = np.empty((len(frame), len(wanted)))
                times = None
                if samples.time_column:
                    times = parse_times(frame[samples.time_column], samples, line)
                    block[:, -1] = times.seconds
                for j, col in enumerate(samples.columns):
                    series = frame[col]
                    if series.dtype.kind not in "biuf":
                        values = pd.to_numeric(series, errors="coerce")
                        blank = series.astype(str).str.strip() == ""
                        bad = values.isna() & series.notna() & ~blank
                        if bad.any():
                            i = int(np.argmax(bad.to_numpy()))
                            cell = str(series.iloc[i])[:40]
                            raise DataError(
                                f"{samples.where(line + i)}: column {col!r}: not a number: {cell!r}"
                            )
                        series = values
                    block[:, j] = series.to_numpy(dtype=np.float64, na_value=np.nan)
                samples.bytes_read = stream.consumed
                yield line, block, times
    finally:
        if close:
            raw.close()


def parse_times(series: Any, samples: Samples, line: int) -> Times:
    """The exact times of one chunk's time column (the rule of
    :func:`~.timestamps.read_times`); all of a stream's times are numbers, or all ISO."""
    times, bad = read_times(series)
    if times is None:
        raise DataError(f"{samples.where(line + bad)}: time {str(series.iloc[bad])[:40]!r} is "
                        "not a number or an ISO timestamp (or an integer beyond 64 bits)")
    if samples.time_iso is None:
        samples.time_iso = times.iso
    elif times.iso != samples.time_iso and len(times):
        raise DataError(f"{samples.where(line)}: the time column mixes numbers and ISO "
                        "timestamps")
    return times


