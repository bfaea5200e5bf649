"""CSV input: a header sniffed from the first lines, then pandas' C parser in chunks.

Memory does not grow with the file: rows are parsed ``CHUNK_VALUES`` values at a time.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import stat
import sys
from collections.abc import Iterator
from typing import IO, TYPE_CHECKING, Any

import numpy as np

from ..atomic import open_input
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
#: Numeric columns with these names (any case) may hold times: encoded as data, with a note
#: pointing at --time-column.
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
    time_column: str | None = None, na_values: list[str] | None = None,
    time_format: str | None = None,
) -> Samples:
    """Open a CSV file (``"-"``: stdin) as chunked samples.

    A first line with any non-numeric field is a header; otherwise columns are named
    ``col0, col1, ...``. Without ``columns``, every numeric column is used and the others
    (a timestamp, a label) are left out with a note in ``Samples.notes``. With
    ``time_column`` (numbers, or ISO timestamps), every block carries the sample times as
    its last column (seconds; exactly as :class:`~hippo_cli.codec.times.Times`).

    The input may be compressed (gzip, xz, bzip2, zstd: told by its first bytes), end its
    lines with LF, CRLF or CR alone, and separate fields with commas, semicolons or tabs
    (decimal commas then too). Columns without a name that are empty are ignored (a
    trailing comma on every row); ``na_values``: texts that mean a missing value (besides
    an empty field and ``NaN``), e.g. ``["-200"]``. ``time_column`` may name two columns,
    ``"Date,Time"``: each time is then the date's text, one space, the time's text (named
    ``"Date\tTime"`` from here on: a writer writes two columns back); ``time_format``: the
    layout of text times that are not ISO 8601 (``"%d/%m/%Y %H.%M.%S"``).
    """

    name = "<stdin>" if path == "-" else path
    raw, size, position, close = _open_input(path, name)
    try:
        samples = _open_text(raw, name, size, position, close, columns, chunk_values,
                             time_column, na_values, time_format)
        return samples
    except BaseException:
        close()
        raise


def _open_text(raw: IO[bytes], name: str, size: int | None, position: Any, close: Any,
               columns: list[str] | None, chunk_values: int, time_column: str | None,
               na_values: list[str] | None, time_format: str | None) -> Samples:
    import pandas as pd

    head_lines = _head_lines(raw, name)
    head = b"".join(head_lines)
    text = _decode(head, name)
    lines = text.splitlines()
    first = next((ln for ln in lines if ln.strip()), None)
    if first is None:
        raise DataError(f"{name}: no data (empty input)")
    if "\x00" in text:
        raise DataError(f"{name}: binary data, not a CSV file")
    nonblank = [ln for ln in lines if ln.strip()]
    sep, decimal = _dialect(nonblank)
    fields = [f.strip() for f in _fields(first, sep)]
    has_header = not all(is_number(f) or f == "" for f in fields)
    data_lines = nonblank[1:] if has_header else nonblank
    width = max([len(fields), *(len(_fields(ln, sep)) for ln in data_lines)])
    if width > MAX_COLUMNS:
        raise DataError(f"{name}: {width} columns is more than hippo handles ({MAX_COLUMNS})")
    if has_header:
        names = fields + [""] * (width - len(fields))
        named = [n for n in names if n]
        if len(set(named)) != len(named):
            dup = next(n for n in named if named.count(n) > 1)
            raise DataError(f"{name}: the header names two columns {dup!r}")
    else:
        names = [f"col{i}" for i in range(width)]
    n_blank_lead = next(i for i, ln in enumerate(lines) if ln.strip())
    header_line = n_blank_lead + 1 if has_header else 0  # 1-based line of the header
    # pandas needs a name for every column: unnamed ones get one no header can hold
    parse_names = [n or f"\x00{i}" for i, n in enumerate(names)]
    read_kw: dict[str, Any] = {
        "header": None,
        "names": parse_names,
        "index_col": False,  # never take a first column as an index (fields are counted)
        "skip_blank_lines": False,
        "skipinitialspace": True,
        "encoding": "utf-8-sig",
        "engine": "c",
        "on_bad_lines": "error",
        "sep": sep,
        "decimal": decimal,
    }
    if na_values:
        read_kw["na_values"] = list(na_values)
    time_column = two_time_columns(time_column, names)
    if time_column is not None and "\t" in time_column:  # two columns: their text, joined
        read_kw["dtype"] = {parse_names[names.index(part)]: str
                            for part in time_column.split("\t") if part in names}
    skip = header_line if has_header else n_blank_lead
    try:
        sniff = pd.read_csv(io.BytesIO(head), skiprows=skip, **read_kw)
    except (ValueError, pd.errors.ParserError) as err:
        raise DataError(f"{name}: unreadable CSV ({first_line(err)})") from None
    names, ignored, notes = _unnamed_columns(name, names, len(fields), sniff, header_line)
    keep = [i for i, n in enumerate(names) if n is not None]
    sniff = sniff.iloc[:, keep]
    sniff.columns = [names[i] for i in keep]
    chosen, more = choose_columns(name, list(sniff.columns), sniff, columns, time_column)
    notes += more
    if sep != ",":
        notes.append(f"read as {'semicolon' if sep == ';' else 'tab'}-separated"
                     + (" with decimal commas" if decimal == "," else ""))
    rows_per_chunk = max(1, chunk_values // len(chosen))
    stream = _Prefixed(head, raw, name, len(head_lines))
    buffered = io.BufferedReader(stream, buffer_size=1 << 20)
    samples = Samples(name, chosen, "csv", size, notes=notes, time_column=time_column)
    samples.time_format = time_format
    if time_column is not None:
        stamps = time_fields(sniff, list(sniff.columns), time_column, samples, header_line + 1)
        stamps = stamps.dropna()
        samples.time_text = str(stamps.iloc[0]).strip() if len(stamps) else None
    samples.source = _csv_chunks(buffered, stream, samples, skip, rows_per_chunk, read_kw,
                                 close, names=names, ignored=ignored, position=position)
    return samples


def open_dialect(path: str) -> tuple[IO[bytes], str, str, bytes, Any]:
    """A CSV opened as :func:`open_csv` opens it, for readers that parse it themselves
    (the long format of many series): (binary stream from the first byte - decompressed,
    CR line ends as LF -, separator, decimal mark, the head's bytes, a function closing
    what was opened)."""
    name = "<stdin>" if path == "-" else path
    raw, _, _, close = _open_input(path, name)
    try:
        head_lines = _head_lines(raw, name)
        head = b"".join(head_lines)
        nonblank = [ln for ln in _decode(head, name).splitlines() if ln.strip()]
        if not nonblank:
            raise DataError(f"{name}: no data (empty input)")
        sep, decimal = _dialect(nonblank)
        stream = io.BufferedReader(_Prefixed(head, raw, name, len(head_lines)), 1 << 20)
        return stream, sep, decimal, head, close
    except BaseException:
        close()
        raise


def column_values(series: Any, col: str, samples: Samples, line: int) -> np.ndarray:
    """float64 values (L,) of one column of a chunk whose first row is ``line``: the rule
    of :func:`open_csv` (NaN where empty; a field that is not a number, or an integer
    float64 cannot hold exactly when ``samples.exact_integers``, is an error)."""
    return _values(series, col, samples, line)


def _open_input(path: str, name: str) -> tuple[IO[bytes], int | None, Any, Any]:
    """(binary stream of the text, size of the input in bytes or None, a function giving how
    many bytes of the input were read so far or None (count the text), a function that
    closes what was opened). A compressed input is decompressed (told by its first bytes,
    not its name); CR-only line ends are read as LF."""
    if path == "-":
        if sys.stdin is None:  # started with stdin closed (<&-): an empty input
            raise DataError("<stdin>: no data (stdin is closed)")
        raw: IO[bytes] = sys.stdin.buffer
        if not hasattr(raw, "peek"):  # a test runner's or an embedding program's stdin
            raw = io.BufferedReader(raw, 1 << 16)  # type: ignore[arg-type]
        size = None
    else:
        raw = open_input(path, sequential=True)  # one open: no second lookup of the path
        try:
            st = os.fstat(raw.fileno())
            size = st.st_size if stat.S_ISREG(st.st_mode) else None
        except io.UnsupportedOperation:  # an object in a store, streamed
            from ..storage import object_size

            size = object_size(raw)

    def close() -> None:
        if path != "-":
            raw.close()

    position = None
    try:
        kind, text = _decompressed(raw, name)
        if kind is not None:
            position = raw.tell if size is not None else None
        return _lf_lines(text), size, position, close
    except BaseException:
        close()
        raise


#: First bytes of the compressed inputs read (format, magic).
COMPRESSED_MAGIC = (("gzip", b"\x1f\x8b"), ("xz", b"\xfd7zXZ\x00"), ("bzip2", b"BZh"),
                    ("zstd", b"\x28\xb5\x2f\xfd"))


def _decompressed(raw: Any, name: str) -> tuple[str | None, IO[bytes]]:
    """(compression format or None, the text stream) of a binary input."""
    start = raw.peek(8)[:8] if hasattr(raw, "peek") else b""
    kind = next((k for k, magic in COMPRESSED_MAGIC if start.startswith(magic)), None)
    if kind is None:
        return None, raw
    if kind == "gzip":
        import gzip

        inner: Any = gzip.GzipFile(fileobj=raw, mode="rb")
    elif kind == "xz":
        import lzma

        inner = lzma.LZMAFile(raw)
    elif kind == "bzip2":
        import bz2

        inner = bz2.BZ2File(raw)
    else:
        try:
            import zstandard
        except ImportError:
            raise DataError(f"{name}: zstd-compressed; reading it needs the zstandard package "
                            "(pip install 'hippo-cli[zstd]')") from None
        inner = zstandard.ZstdDecompressor().stream_reader(raw, read_across_frames=True)
    return kind, io.BufferedReader(_Decompressing(inner, kind, name), 1 << 20)


class _Decompressing(io.RawIOBase):
    """A decompressing reader as a raw stream (what io.BufferedReader wraps) whose damage
    - a cut stream, a bad checksum, bytes that are not the format - is a DataError naming
    the input, not the decompressor's own exception."""

    def __init__(self, reader: Any, kind: str, name: str) -> None:
        self._reader, self._kind, self._name = reader, kind, name

    def readable(self) -> bool:
        return True

    def readinto(self, buf: Any) -> int:
        try:
            return self._reader.readinto(buf)
        except DataError:
            raise
        except Exception as err:
            # gzip: EOFError, BadGzipFile (OSError); xz: LZMAError; bzip2: OSError or
            # EOFError; zstandard: ZstdError. Other errors are not about the data.
            if not (isinstance(err, (EOFError, OSError, ValueError))
                    or type(err).__name__ in ("LZMAError", "ZstdError")):
                raise
            raise DataError(f"{self._name}: damaged {self._kind} data ({err})") from None


class _CarriageReturns(io.RawIOBase):
    """A binary stream whose CR line ends (a file with no LF) are read as LF."""

    _TABLE = bytes.maketrans(b"\r", b"\n")

    def __init__(self, raw: IO[bytes]) -> None:
        self._raw = raw

    def readable(self) -> bool:
        return True

    def readinto(self, buf: Any) -> int:
        data = self._raw.read(len(buf))
        if not data:
            return 0
        n = len(data)
        buf[:n] = data.translate(self._TABLE)
        return n


def _lf_lines(raw: Any) -> IO[bytes]:
    """``raw``, or a view of it reading CR-only line ends as LF (told from its first 64 kB:
    CRs and no LF)."""
    start = raw.peek(1 << 16) if hasattr(raw, "peek") else b""
    if b"\r" in start and b"\n" not in start:
        return io.BufferedReader(_CarriageReturns(raw), 1 << 20)
    return raw


def _head_lines(raw: IO[bytes], name: str) -> list[bytes]:
    """The first :data:`SNIFF_LINES` lines of ``raw``."""
    head_lines = []
    for n in range(SNIFF_LINES):
        line = raw.readline(MAX_LINE_BYTES + 1)
        if not line:
            break
        if len(line) > MAX_LINE_BYTES:
            raise DataError(f"{name}, line {n + 1}: longer than {MAX_LINE_BYTES} bytes (is it "
                            "a CSV file?)")
        # before any line is split into fields (a list of 10^7 strings took 900 MB): a line
        # with fewer than MAX_COLUMNS of every separator has at most MAX_COLUMNS fields
        seps = max(line.count(s.encode()) for s in SEPARATORS)
        if seps >= MAX_COLUMNS:
            raise DataError(f"{name}, line {n + 1}: {seps + 1} columns is more than hippo "
                            f"handles ({MAX_COLUMNS})")
        head_lines.append(line)
    return head_lines


def _fields(line: str, sep: str) -> list[str]:
    """The fields of one CSV line (quotes as the csv module reads them)."""
    import csv

    try:
        return next(csv.reader([line], delimiter=sep, skipinitialspace=True), [])
    except csv.Error:
        return line.split(sep)


def _unnamed_columns(name: str, names: list[str], header_fields: int, sniff: Any,
                     header_line: int) -> tuple[list[str | None], list[int], list[str]]:
    """(names with None for ignored columns, their positions, notes) of a table whose
    header may leave columns unnamed: an unnamed column that is empty in the first lines is
    ignored (a trailing comma on every row); one that holds values gets the name
    ``col<position>``, unless it lies beyond the header's fields (then which value belongs
    to which name is not known: an error)."""
    out: list[str | None] = list(names)
    ignored: list[int] = []
    notes: list[str] = []
    for i, n in enumerate(names):
        if n:
            continue
        column = sniff.iloc[:, i]
        filled = column.notna() & (column.astype(str).str.strip() != "")
        if not filled.any():
            out[i] = None
            ignored.append(i)
            continue
        line = header_line + 1 + int(np.argmax(filled.to_numpy()))
        if header_line and i >= header_fields:
            raise DataError(f"{name}, line {line}: {i + 1} or more fields, but the header names "
                            f"{header_fields} columns (which value belongs to which name?); "
                            "name every column in the header")
        label = f"col{i}"
        if label in names:
            raise DataError(f"{name}: column {i + 1} has no name in the header (and col{i} "
                            "is taken)")
        out[i] = label
        notes.append(f"column {i + 1} has no name in the header: called {label}")
    if ignored:
        notes.append(f"ignored {len(ignored)} empty column(s) without a name")
    return out, ignored, notes


def choose_columns(name: str, names: list[str], sniff: Any, columns: list[str] | None,
                   time_column: str | None) -> tuple[list[str], list[str]]:
    """(the columns to encode, notes) of a table whose first rows are ``sniff``: the ones
    asked for, else every numeric one (a numeric column is data whatever its name: one
    named like a time gets a note pointing at ``--time-column``); non-numeric ones are left
    out with a note (naming any that hold timestamps). The one rule for CSV, Parquet and
    ``hippo stream``."""
    notes: list[str] = []
    parts = time_column.split("\t") if time_column is not None else []
    for part in parts:
        if part not in names:
            raise DataError(f"{name}: no time column {part!r} (columns: {', '.join(names)})")
    if columns:
        missing = [c for c in columns if c not in names]
        if missing:
            raise DataError(f"{name}: no column {missing[0]!r} (columns: {', '.join(names)})")
        chosen = list(dict.fromkeys(columns))
    else:
        if len(names) - (time_column is not None) > MAX_CHANNELS:  # before any per-column work
            raise DataError(f"{name}: {len(names)} columns, more than hippo encodes at once "
                            f"({MAX_CHANNELS}); choose some with --column")
        chosen = numeric_columns(sniff, exclude=parts)
        note = time_named_note(chosen, time_column)
        if note:
            notes.append(note)
        left_out = [c for c in names if c not in chosen and c not in parts]
        if left_out:
            stamps = [c for c in left_out if len(sniff[c].dropna())
                      and looks_like_iso(str(sniff[c].dropna().iloc[0]))]
            notes.append(f"left out non-numeric column(s): {', '.join(left_out)}"
                         + (f" ({stamps[0]} looks like timestamps: --time-column {stamps[0]} "
                            "uses them as the sample times)" if stamps and time_column is None
                            else ""))
        if not chosen:
            raise DataError(f"{name}: no numeric column")
    if any(part in chosen for part in parts):
        raise ParameterError(f"--time-column {time_column!r} cannot also be a --column")
    if len(chosen) > MAX_CHANNELS:
        raise DataError(f"{name}: {len(chosen)} columns to encode, more than hippo encodes at "
                        f"once ({MAX_CHANNELS}); choose some with --column")
    return chosen, notes


def two_time_columns(time_column: str | None, names: list[str | None]) -> str | None:
    """``time_column``, or ``"Date\tTime"`` when it is ``"Date,Time"`` and names two columns
    (not one column named so)."""
    if time_column is None or time_column in names or "," not in time_column:
        return time_column
    parts = [p.strip() for p in time_column.split(",")]
    if len(parts) == 2 and all(parts):
        return "\t".join(parts)
    return time_column


def time_fields(frame: Any, names: list[str | None], time_column: str, samples: Samples,
                line: int) -> Any:
    """The time text (or numbers) of a frame's rows: one column, or two joined by a space
    (a date with a space in it is an error: the two could not be told apart again)."""
    parts = time_column.split("\t")
    if len(parts) == 1:
        return frame.iloc[:, names.index(time_column)]
    date = frame.iloc[:, names.index(parts[0])].astype(str).str.strip()
    clock = frame.iloc[:, names.index(parts[1])].astype(str).str.strip()
    spaced = date.str.contains(" ", regex=False).to_numpy()
    if spaced.any():
        i = int(np.argmax(spaced))
        raise DataError(f"{samples.where(line + i)}: {parts[0]} {date.iloc[i][:40]!r} holds a "
                        f"space (two time columns are joined by one)")
    return date + " " + clock


def time_named_note(chosen: list[str], time_column: str | None) -> str | None:
    """The note for numeric columns named like times (encoded as data, never dropped)."""
    if time_column is not None:
        return None
    timelike = [c for c in chosen if c.strip().lower() in TIME_NAMES]
    if not timelike:
        return None
    return (f"{', '.join(timelike)} encoded as data; if {timelike[0]} holds the sample "
            f"times, --time-column {timelike[0]} stores them exactly instead")


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

    width = len(kw["names"])

    def parse(text: bytes) -> Any:
        if not text.strip(b"\r\n"):  # only line ends: blank rows (pandas sees no columns)
            return pd.DataFrame(np.nan, index=range(text.count(b"\n")), columns=kw["names"])
        # pandas takes the field count of a text's first row as given (extra fields there
        # are dropped with a warning, not refused): count them here
        end = text.find(b"\n")
        first = text[:end if end >= 0 else len(text)].decode("utf-8", "replace")
        if len(_fields(first.rstrip("\r"), kw["sep"])) > width:
            raise pd.errors.ParserError(f"Expected {width} fields in line 1, saw more")
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


def _csv_chunks(buffered, stream, samples, skip, rows, read_kw, close, *, names, ignored,
                position) -> Iterator:

    where = {n: i for i, n in enumerate(names) if n is not None}
    wanted = samples.columns + ([samples.time_column] if samples.time_column else [])
    names = [n if n is not None else "" for n in names]
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
                _check_ignored(frame, ignored, samples, line)
                block = np.empty((len(frame), len(wanted)))
                times = None
                if samples.time_column:
                    times = parse_times(time_fields(frame, names, samples.time_column,
                                                    samples, line), samples, line)
                    block[:, -1] = times.seconds
                for j, col in enumerate(samples.columns):
                    block[:, j] = _values(frame.iloc[:, where[col]], col, samples, line)
                samples.bytes_read = position() if position else stream.consumed
                yield line, block, times
    finally:
        close()


def _check_ignored(frame: Any, ignored: list[int], samples: Samples, line: int) -> None:
    """An ignored (unnamed, empty) column must stay empty: a value there is an error."""
    for i in ignored:
        column = frame.iloc[:, i]
        filled = column.notna().to_numpy()
        if filled.any():  # pandas may hand out a read-only array: a new one, not in place
            filled = filled & (column.astype(str).str.strip() != "").to_numpy()
        if filled.any():
            raise DataError(f"{samples.where(line + int(np.argmax(filled)))}: a value in "
                            f"column {i + 1}, which has no name and was empty in the first "
                            "lines; name it in the header")


def _values(series: Any, col: str, samples: Samples, line: int) -> np.ndarray:
    """float64 values (L,) of one column of a chunk: NaN where empty; an error naming the
    line for a field that is not a number, or an integer float64 cannot hold exactly when
    ``samples.exact_integers`` (a bound must hold against the value as written)."""
    import pandas as pd

    kind = series.dtype.kind
    if kind in "iu":
        ints = series.to_numpy()
        values = ints.astype(np.float64)
        if samples.exact_integers:
            _check_exact(ints, values, col, samples, line)
        return values
    if kind not in "biuf":
        text = series.astype(str).str.strip()
        numbers = pd.to_numeric(series, errors="coerce")
        blank = text == ""
        bad = numbers.isna() & series.notna() & ~blank
        if bad.any():
            i = int(np.argmax(bad.to_numpy()))
            cell = str(series.iloc[i])[:40]
            raise DataError(f"{samples.where(line + i)}: column {col!r}: not a number: {cell!r}")
        values = numbers.to_numpy(dtype=np.float64, na_value=np.nan)
        if samples.exact_integers:  # integers beyond 64 bits arrive here as text
            big = np.flatnonzero(text.str.fullmatch(r"[+-]?\d{16,}").to_numpy())
            for i in big.tolist():
                if int(text.iloc[i]) != int(values[i]):
                    _inexact(col, samples, line + i, text.iloc[i], values[i])
        return values
    return series.to_numpy(dtype=np.float64, na_value=np.nan)


def _check_exact(ints: np.ndarray, values: np.ndarray, col: str, samples: Samples,
                 line: int) -> None:
    big = np.flatnonzero(np.abs(values) >= 2.0**53)
    if not len(big):
        return
    back = values[big]
    limit = 2.0**64 if ints.dtype.kind == "u" else 2.0**63
    exact = back < limit  # float64 of the largest 64-bit integers rounds up past the range
    exact[exact] = back[exact].astype(ints.dtype) == ints[big][exact]
    if not exact.all():
        i = int(big[int(np.argmin(exact))])
        _inexact(col, samples, line + i, str(ints[i]), values[i])


def _inexact(col: str, samples: Samples, line: int, text: str, value: float) -> None:
    raise DataError(f"{samples.where(line)}: column {col!r}: the integer {text} has no exact "
                    f"float64 (it would be stored as {int(value)}): integers beyond 2^53 must "
                    "be exact to keep a bound against the value as written")


def parse_times(series: Any, samples: Samples, line: int) -> Times:
    """The exact times of one chunk's time column (the rule of
    :func:`~.timestamps.read_times`); all of a stream's times are numbers, or all ISO."""
    times, bad = read_times(series, samples.time_format)
    if times is None:
        if samples.time_format is not None:
            raise DataError(f"{samples.where(line + bad)}: time {str(series.iloc[bad])[:40]!r} "
                            f"is not a time written {samples.time_format!r} (or not a date)")
        raise DataError(f"{samples.where(line + bad)}: time {str(series.iloc[bad])[:40]!r} is "
                        "not a number or an ISO timestamp (or an integer beyond 64 bits)")
    if samples.time_iso is None:
        samples.time_iso = times.iso
    elif times.iso != samples.time_iso and len(times):
        raise DataError(f"{samples.where(line)}: the time column mixes numbers and ISO "
                        "timestamps")
    return times


