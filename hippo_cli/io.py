"""Reading samples and writing coefficients. No HiPPO math here.

Inputs are read in chunks (pandas' C parser for CSV, memory-mapped slices for ``.npy``) so that
memory does not grow with the stream length. Outputs are written to a temporary file in the
destination folder and renamed into place only when complete.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import os
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import numpy as np

from ._version import __version__
from .errors import DataError, ParameterError

NAN_POLICIES = ("error", "skip", "hold")
SIDECAR_FORMAT = "hippo-coeffs"
SIDECAR_VERSION = 1
#: Target size of one chunk of samples (float64 values); rows per chunk = this / columns.
CHUNK_VALUES = 1 << 19
#: Lines read ahead to tell a header from data and numeric columns from the rest.
SNIFF_LINES = 200
_TMP_MARK = ".hippo-tmp-"


# --------------------------------------------------------------------------- inputs
@dataclass
class Samples:
    """A chunked source of samples: ``chunks()`` yields (first_line, float64 (L, C) array).

    ``first_line`` is the 1-based line (CSV) or 0-based row (.npy) of the chunk's first row,
    used to name the place of a bad value.
    """

    name: str
    columns: list[str]
    kind: str  # "csv" or "npy"
    size_bytes: int | None
    _chunks: Iterator[tuple[int, np.ndarray]] = field(repr=False)
    bytes_read: int = 0
    notes: list[str] = field(default_factory=list)
    time_column: str | None = None  # blocks then end with a column of sample times

    def chunks(self) -> Iterator[tuple[int, np.ndarray]]:
        return self._chunks

    def where(self, line: int) -> str:
        return f"{self.name}, line {line}" if self.kind == "csv" else f"{self.name}, row {line}"


class _Prefixed(io.RawIOBase):
    """A binary stream that serves ``prefix`` first, then the rest of ``raw`` (for sniffing
    the head of stdin without consuming it)."""

    def __init__(self, prefix: bytes, raw: IO[bytes]) -> None:
        self._prefix = memoryview(prefix)
        self._raw = raw
        self.consumed = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buf: Any) -> int:
        if len(self._prefix):
            n = min(len(buf), len(self._prefix))
            buf[:n] = self._prefix[:n]
            self._prefix = self._prefix[n:]
        else:
            data = self._raw.read(len(buf))
            n = len(data)
            buf[:n] = data
        self.consumed += n
        return n


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
        raw: IO[bytes] = sys.stdin.buffer
        size = None
    else:
        if Path(path).is_dir():
            raise DataError(f"{path}: is a folder, not a file")
        raw = open(path, "rb")  # noqa: SIM115 - closed by the chunk generator
        size = os.fstat(raw.fileno()).st_size
    head_lines = []
    for _ in range(SNIFF_LINES):
        line = raw.readline()
        if not line:
            break
        head_lines.append(line)
    head = b"".join(head_lines)
    text = _decode(head, name)
    lines = text.splitlines()
    first = next((ln for ln in lines if ln.strip()), None)
    if first is None:
        raise DataError(f"{name}: no data (empty input)")
    if "\x00" in text:
        raise DataError(f"{name}: binary data, not a CSV file")
    fields = [f.strip().strip('"') for f in first.split(",")]
    has_header = not all(is_number(f) or f == "" for f in fields)
    if has_header:
        names = fields
        if len(set(names)) != len(names):
            raise DataError(f"{name}: duplicate column names in the header")
    else:
        names = [f"col{i}" for i in range(len(fields))]
    if len(names) > 100_000:
        raise DataError(f"{name}: {len(names)} columns is more than hippo handles (100000)")
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
    }
    skip = header_line if has_header else n_blank_lead
    try:
        sniff = pd.read_csv(io.BytesIO(head), skiprows=skip, **read_kw)
    except (ValueError, pd.errors.ParserError) as err:
        raise DataError(f"{name}: unreadable CSV ({_first_line(err)})") from None
    notes: list[str] = []
    if time_column is not None and time_column not in names:
        raise DataError(f"{name}: no time column {time_column!r} (columns: {', '.join(names)})")
    if columns:
        missing = [c for c in columns if c not in names]
        if missing:
            raise DataError(f"{name}: no column {missing[0]!r} (columns: {', '.join(names)})")
        chosen = list(dict.fromkeys(columns))
    else:
        chosen = []
        for col in names:
            if col != time_column and _numeric_share(sniff[col]) > 0:
                chosen.append(col)
        left_out = [c for c in names if c not in chosen and c != time_column]
        if left_out:
            notes.append(f"left out non-numeric column(s): {', '.join(left_out)}")
        if not chosen:
            raise DataError(f"{name}: no numeric column")
    rows_per_chunk = max(1, chunk_values // len(chosen))
    stream = _Prefixed(head, raw)
    buffered = io.BufferedReader(stream, buffer_size=1 << 20)
    if time_column in chosen:
        raise ParameterError(f"--time-column {time_column!r} cannot also be a --column")
    samples = Samples(name, chosen, "csv", size, iter(()), notes=notes, time_column=time_column)
    samples._chunks = _csv_chunks(
        buffered, stream, raw, samples, skip, rows_per_chunk, read_kw, path != "-"
    )
    return samples


def _first_line(err: BaseException) -> str:
    return str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__


def _numeric_share(col: Any) -> float:
    import pandas as pd

    if col.dtype.kind in "biuf":
        return 1.0
    nonempty = col.dropna()
    if len(nonempty) == 0:
        return 1.0
    return float(pd.to_numeric(nonempty, errors="coerce").notna().mean())


def _csv_chunks(buffered, stream, raw, samples, skip, rows, read_kw, close) -> Iterator:
    import pandas as pd

    line = skip + 1
    wanted = samples.columns + ([samples.time_column] if samples.time_column else [])
    try:
        reader = pd.read_csv(
            buffered, skiprows=skip, usecols=wanted, chunksize=rows, **read_kw
        )
        with reader:
            while True:
                try:
                    frame = next(reader)
                except StopIteration:
                    break
                except (ValueError, pd.errors.ParserError, UnicodeDecodeError) as err:
                    msg = _first_line(err)
                    raise DataError(f"{samples.name}: unreadable CSV ({msg})") from None
                block = np.empty((len(frame), len(wanted)))
                if samples.time_column:
                    block[:, -1] = _parse_times(frame[samples.time_column], samples, line)
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
                yield line, block
                line += len(frame)
    finally:
        if close:
            raw.close()


def _parse_times(series: Any, samples: Samples, line: int) -> np.ndarray:
    """Numbers as they are; ISO timestamps as seconds since 1970 (UTC)."""
    from .series import to_seconds

    values = to_seconds(series)
    bad = ~np.isfinite(values)
    if bad.any():
        i = int(np.argmax(bad))
        raise DataError(f"{samples.where(line + i)}: time {str(series.iloc[i])[:40]!r} is not "
                        "a number or an ISO timestamp")
    return values


def open_npy(path: str) -> Samples:
    """Open an ``.npy`` array of shape (L,) or (L, C) as chunked samples.

    Chunks are read with plain file reads, not through the memory map: pages of a mapped file
    count toward the process's memory, so a 10^7-sample input would grow it by 80 MB.
    """
    arr = load_npy(path)
    if arr.ndim not in (1, 2) or arr.dtype.kind not in "biuf":
        raise DataError(f"{path}: samples must be a numeric (L,) or (L, C) array, "
                        f"got {arr.dtype} {arr.shape}")
    if arr.shape[0] == 0 or (arr.ndim == 2 and arr.shape[1] == 0):
        raise DataError(f"{path}: no data (empty array)")
    L = arr.shape[0]
    C = 1 if arr.ndim == 1 else arr.shape[1]
    rows = max(1, CHUNK_VALUES // C)
    samples = Samples(path, [f"col{i}" for i in range(C)], "npy", os.path.getsize(path), iter(()))
    row_major = arr.ndim == 1 or arr.flags.c_contiguous
    offset, dtype = getattr(arr, "offset", 0), arr.dtype

    def chunks() -> Iterator[tuple[int, np.ndarray]]:
        if not row_major:  # a Fortran-ordered (L, C) array: slice the map instead
            for start in range(0, L, rows):
                samples.bytes_read = (start + rows) * C * dtype.itemsize
                yield start, np.array(arr[start : start + rows], dtype=np.float64)
            return
        with open(path, "rb") as fh:
            fh.seek(offset)
            for start in range(0, L, rows):
                n = min(rows, L - start)
                block = np.fromfile(fh, dtype=dtype, count=n * C)
                if block.size != n * C:
                    row = start + block.size // C
                    raise DataError(f"{path}: truncated (ends inside row {row})")
                samples.bytes_read = offset + (start + n) * C * dtype.itemsize
                yield start, block.astype(np.float64).reshape(n, C)

    samples._chunks = chunks()
    return samples


def open_samples(path: str, columns: list[str] | None = None,
                 time_column: str | None = None) -> Samples:
    """CSV (or ``-`` for stdin) or ``.npy``, chosen by the file name."""
    if path != "-" and path.lower().endswith(".npy"):
        named = [*(columns or []), *([time_column] if time_column else [])]
        if any(not re.fullmatch(r"col\d+", c) for c in named):
            raise ParameterError("--column/--time-column on an .npy input take col0, col1, ...")
        samples = open_npy(path)
        if time_column:
            if time_column not in samples.columns:
                raise DataError(f"{path}: has {len(samples.columns)} column(s), no {time_column}")
            data = [c for c in (columns or samples.columns) if c != time_column]
            if not data:
                raise DataError(f"{path}: no column left besides the time column")
            idx = [int(c[3:]) for c in data] + [int(time_column[3:])]
            inner = samples._chunks
            samples._chunks = ((start, block[:, idx]) for start, block in inner)
            samples.columns = data
            samples.time_column = time_column
            return samples
        if columns:
            idx = [int(c[3:]) for c in columns]
            if max(idx) >= len(samples.columns):
                raise DataError(f"{path}: has {len(samples.columns)} column(s), no {columns[-1]}")
            inner = samples._chunks
            samples._chunks = ((start, block[:, idx]) for start, block in inner)
            samples.columns = [samples.columns[i] for i in idx]
        return samples
    return open_csv(path, columns, time_column=time_column)


def prefetch(chunks: Iterator, depth: int = 2) -> Iterator:
    """Produce ``chunks`` in a background thread, at most ``depth`` ahead (bounded memory).

    Why: parsing (pandas' C tokenizer) and encoding (numba kernels, nogil) release the GIL,
    so on two cores reading chunk i + 1 overlaps encoding chunk i. Exceptions are re-raised
    in the consumer, in order.
    """
    import queue
    import threading

    slots: queue.Queue = queue.Queue(maxsize=depth)
    done = object()
    stop = threading.Event()

    def produce() -> None:
        try:
            for item in chunks:
                while not stop.is_set():
                    try:
                        slots.put((item, None), timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            slots.put((done, None))
        except BaseException as err:  # handed to the consumer
            slots.put((done, err))

    worker = threading.Thread(target=produce, name="hippo-reader", daemon=True)
    worker.start()
    try:
        while True:
            item, err = slots.get()
            if item is done:
                if err is not None:
                    raise err
                return
            yield item
    finally:
        stop.set()


def clean_chunks(samples: Samples, nan: str = "error") -> Iterator[np.ndarray]:
    """Apply the NaN policy to ``samples.chunks()``; inf is always an error.

    ``error``: a NaN or empty cell stops with its line. ``skip``: rows with any NaN are
    dropped (the encoder never sees them). ``hold``: a NaN repeats the channel's last value
    (a NaN before any value is an error).
    """
    if nan not in NAN_POLICIES:
        raise ParameterError(f"unknown NaN policy {nan!r} (choose from {', '.join(NAN_POLICIES)})")
    last: np.ndarray | None = None
    timed = samples.time_column is not None
    for first, full in samples.chunks():
        if len(full) == 0:
            continue
        block = full[:, :-1] if timed else full
        finite = np.isfinite(block)
        if finite.all():
            last = block[-1].copy()
            yield full
            continue
        inf_rows = np.isinf(block).any(axis=1)
        if inf_rows.any():
            raise DataError(f"{samples.where(first + int(np.argmax(inf_rows)))}: infinite value")
        bad_rows = ~finite.all(axis=1)
        if nan == "error":
            i = int(np.argmax(bad_rows))
            col = samples.columns[int(np.argmax(~finite[i]))]
            raise DataError(
                f"{samples.where(first + i)}: column {col!r} is empty or NaN "
                "(use --nan skip or --nan hold)"
            )
        if nan == "skip":  # with times: the dropped samples become real gaps
            kept = full[~bad_rows]
            if len(kept):
                last = kept[-1, : block.shape[1]].copy()
                yield kept
            continue
        block = _hold(block, last, samples, first)
        last = block[-1].copy()
        yield np.column_stack([block, full[:, -1]]) if timed else block


def _hold(block: np.ndarray, last: np.ndarray | None, samples: Samples, first: int) -> np.ndarray:
    """Forward-fill NaNs per column, starting from ``last`` (the previous chunk's last row)."""
    block = block.copy()
    positions = np.arange(len(block))
    for j in range(block.shape[1]):
        col = block[:, j]
        holes = np.isnan(col)
        if not holes.any():
            continue
        src = np.maximum.accumulate(np.where(holes, -1, positions))
        leading = src < 0
        if leading.any():
            if last is None:
                raise DataError(f"{samples.where(first)}: NaN before any value to hold")
            col[leading] = last[j]
        col[~leading] = col[src[~leading]]
    return block


# --------------------------------------------------------------------------- outputs
def _header_size(row_shape: tuple[int, ...], dtype: np.dtype) -> int:
    """Bytes for a header that fits any row count up to 10^15 (64-byte aligned)."""
    longest = len(_npy_header((10**15, *row_shape), dtype, size=None))
    return -(-longest // 64) * 64


def _npy_header(shape: tuple[int, ...], dtype: np.dtype, size: int | None) -> bytes:
    """A version-1.0 ``.npy`` header padded to exactly ``size`` bytes (so the shape can be
    rewritten in place once the row count is known); ``size=None``: unpadded."""
    d = {"descr": np.lib.format.dtype_to_descr(np.dtype(dtype)), "fortran_order": False,
         "shape": tuple(int(s) for s in shape)}
    body = repr(d).encode("latin1")
    if size is None:
        return b"\x93NUMPY\x01\x00" + (len(body) + 1).to_bytes(2, "little") + body + b"\n"
    pad = size - 10 - len(body) - 1
    if pad < 0:
        raise DataError(f"array shape {shape} too large for the .npy header")
    return b"\x93NUMPY\x01\x00" + (size - 10).to_bytes(2, "little") + body + b" " * pad + b"\n"


def quantized_dtype(N: int, bits: int) -> np.dtype:
    """Record of one quantised row: a float32 scale and N signed integers of ``bits`` bits
    (stored in int8 up to 8 bits, int16 up to 16)."""
    if not 2 <= bits <= 16:
        raise ParameterError(f"--quantize takes 2 to 16 bits, got {bits}")
    return np.dtype([("scale", "<f4"), ("q", "i1" if bits <= 8 else "<i2", (N,))])


def quantize(rows: np.ndarray, bits: int) -> np.ndarray:
    """float (..., N) -> records (...) of (scale, q): c ~ q * scale, |error| <= scale / 2,
    scale = max |c| / (2^(bits-1) - 1) per row and channel."""
    levels = 2 ** (bits - 1) - 1
    peak = np.max(np.abs(rows), axis=-1)
    scale = (peak / levels).astype(np.float32)
    safe = np.where(scale > 0, scale.astype(np.float64), 1.0)
    out = np.empty(rows.shape[:-1], dtype=quantized_dtype(rows.shape[-1], bits))
    out["scale"] = scale
    out["q"] = np.clip(np.rint(rows / safe[..., None]), -levels, levels)
    return out


def dequantize(records: np.ndarray) -> np.ndarray:
    """records (...) of (scale, q) -> float64 (..., N)."""
    return records["q"].astype(np.float64) * records["scale"].astype(np.float64)[..., None]


def clean_stale_temporaries(target: Path) -> None:
    """Remove hippo temporaries in ``target``'s folder left by killed runs (their process is
    gone): ``.<name>.hippo-tmp-<pid>``. A run that is still going keeps its own."""
    with contextlib.suppress(OSError):
        for p in target.parent.iterdir():
            name = p.name
            if not name.startswith(".") or _TMP_MARK not in name:
                continue
            pid = name.rsplit(_TMP_MARK, 1)[1]
            if pid.isdigit() and not _pid_alive(int(pid)):
                with contextlib.suppress(OSError):
                    p.unlink()


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _temporary(target: Path) -> Path:
    return target.parent / f".{target.name}{_TMP_MARK}{os.getpid()}"


def check_output_path(path: Path) -> Path:
    """Fail early (before any work) when ``path`` cannot be written."""
    if path.is_dir():
        raise DataError(f"{path}: is a folder; give a file name")
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise DataError(f"{parent}: no such folder")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise DataError(f"{parent}: folder is not writable")
    return path


class CoefficientWriter:
    """Append coefficient rows to an ``.npy`` of shape (R, *row_shape), atomically.

    Rows go to ``.<name>.hippo-tmp-<pid>`` beside the target; :meth:`commit` rewrites the
    header with the final row count, writes the JSON sidecar ``<path>.json`` the same way and
    renames both into place. Leaving the ``with`` block without committing removes the
    temporaries and leaves any existing output untouched.
    """

    def __init__(self, path: Path, row_shape: tuple[int, ...], dtype: str = "float64",
                 quantize: int | None = None) -> None:
        self.path = check_output_path(Path(path))
        self.sidecar = sidecar_path(self.path)
        self.quantize = quantize
        if quantize is None:
            self.row_shape = tuple(row_shape)
            self.dtype = np.dtype(dtype)
        else:  # one record (scale, q[N]) per row and channel
            self.row_shape = tuple(row_shape[:-1])
            self.dtype = quantized_dtype(row_shape[-1], quantize)
        self.rows = 0
        clean_stale_temporaries(self.path)
        self._tmp = _temporary(self.path)
        self._tmp_sidecar = _temporary(self.sidecar)
        self._header = _header_size(self.row_shape, self.dtype)
        self._fh = open(self._tmp, "wb")  # noqa: SIM115 - closed in commit/abort
        self._fh.write(_npy_header((0, *self.row_shape), self.dtype, self._header))

    def append(self, rows: np.ndarray) -> None:
        """rows: float64 (R, [C,] N); converted to the output dtype (or quantised)."""
        if len(rows):
            if self.quantize is not None:
                data = quantize(rows, self.quantize)
            else:
                data = np.ascontiguousarray(rows, dtype=self.dtype)
            self._fh.write(data.tobytes())
            self.rows += len(rows)

    @property
    def bytes_written(self) -> int:
        return self._header + self.rows * int(np.prod(self.row_shape)) * self.dtype.itemsize

    def commit(self, meta: dict) -> None:
        self._fh.seek(0)
        self._fh.write(_npy_header((self.rows, *self.row_shape), self.dtype, self._header))
        self._fh.flush()
        os.fsync(self._fh.fileno())
        self._fh.close()
        write_json_atomic(self._tmp_sidecar, meta, final=None)
        os.replace(self._tmp, self.path)
        os.replace(self._tmp_sidecar, self.sidecar)

    def abort(self) -> None:
        with contextlib.suppress(OSError):
            self._fh.close()
        for p in (self._tmp, self._tmp_sidecar):
            with contextlib.suppress(OSError):
                p.unlink()

    def __enter__(self) -> CoefficientWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.abort()  # after a commit the temporaries no longer exist: a no-op


def write_json_atomic(path: Path, obj: dict, final: Path | None) -> None:
    """Write JSON to ``path`` (fsync'd); rename to ``final`` if given."""
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(obj, fh, separators=(",", ":"), allow_nan=False)  # compact: it is stored data
        fh.write("\n")
        fh.flush()
        os.fsync(fh.fileno())
    if final is not None:
        os.replace(path, final)


def sidecar_path(coeffs: Path) -> Path:
    """``signal.coeffs.npy`` -> ``signal.coeffs.npy.json``."""
    return coeffs.with_name(coeffs.name + ".json")


# --------------------------------------------------------------------------- coefficient files
def load_npy(path: str) -> np.ndarray:
    """``np.load`` that never unpickles and turns every failure into a one-line DataError."""
    p = Path(path)
    if p.is_dir():
        raise DataError(f"{path}: is a folder, not a file")
    if not p.exists():
        raise DataError(f"{path}: no such file")
    try:
        arr = np.load(p, mmap_mode="r", allow_pickle=False)
    except ValueError as err:
        if "pickle" in str(err).lower() or "object" in str(err).lower():
            raise DataError(f"{path}: holds Python objects; hippo never unpickles") from None
        raise DataError(f"{path}: not a valid .npy file ({_first_line(err)})") from None
    except Exception as err:  # any parse failure of a foreign or damaged file: one line
        raise DataError(f"{path}: not a valid .npy file ({_first_line(err)})") from None
    if not isinstance(arr, np.ndarray):
        raise DataError(f"{path}: not a .npy array")
    if arr.dtype.hasobject:
        raise DataError(f"{path}: holds Python objects; hippo never unpickles")
    return arr


@dataclass
class CoefficientFile:
    """A coefficient ``.npy`` (memory-mapped) and its validated sidecar."""

    path: str
    coeffs: np.ndarray  # (R, N) or (R, C, N)
    meta: dict

    @property
    def channels(self) -> int:
        return len(self.meta["columns"])

    def row(self, r: int) -> np.ndarray:
        """Row r as float64 of shape (C, N) (dequantised if the file is quantised)."""
        rec = self.coeffs[r]
        if rec.dtype.names:
            return dequantize(np.asarray(rec)).reshape(self.channels, -1)
        return np.asarray(rec, dtype=np.float64).reshape(self.channels, -1)

    def steps(self) -> np.ndarray:
        """Global step of each row (int64, shape (R,))."""
        if self.meta.get("block_ends") is not None:
            return np.asarray(self.meta["block_ends"], dtype=np.int64)
        return emitted_steps(self.meta["every"], self.meta["samples"])

    def starts(self) -> np.ndarray:
        """First sample of the history each row holds: 0, or its block's first sample."""
        steps = self.steps()
        if self.meta.get("block_ends") is not None:
            return np.concatenate([[0], steps[:-1] + 1]).astype(np.int64)
        if self.meta.get("reset_every"):
            return steps - steps % self.meta["reset_every"]
        return np.zeros_like(steps)


def emitted_steps(every: int, samples: int) -> np.ndarray:
    """Steps of the rows ``compress`` writes: (k + 1) % every == 0, plus the final step."""
    steps = np.arange(every - 1, samples, every, dtype=np.int64)
    if samples > 0 and (len(steps) == 0 or steps[-1] != samples - 1):
        steps = np.append(steps, samples - 1)
    return steps


_SIDECAR_TYPES: dict[str, type | tuple[type, ...]] = {
    "format": str, "format_version": int, "measure": str, "N": int, "method": str,
    "every": int, "samples": int, "rows": int, "columns": list, "dtype": str,
}


def load_coefficients(path: str) -> CoefficientFile:
    """Open a coefficient file and its sidecar; check they agree."""
    side = sidecar_path(Path(path))
    arr = load_npy(path)
    if not side.exists():
        raise DataError(f"{path}: no sidecar {side.name} (it holds the encoder settings)")
    try:
        meta = json.loads(side.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise DataError(f"{side}: not valid JSON ({_first_line(err)})") from None
    if not isinstance(meta, dict) or meta.get("format") != SIDECAR_FORMAT:
        raise DataError(f"{side}: not a hippo sidecar")
    for key, typ in _SIDECAR_TYPES.items():
        if not isinstance(meta.get(key), typ) or isinstance(meta.get(key), bool):
            raise DataError(f"{side}: field {key!r} missing or of the wrong type")
    if meta["format_version"] != SIDECAR_VERSION:
        raise DataError(f"{side}: unsupported format version {meta['format_version']}")
    C, N, R = len(meta["columns"]), meta["N"], meta["rows"]
    bits = meta.get("quantize")
    if bits is not None:
        if not isinstance(bits, int) or isinstance(bits, bool) or not 2 <= bits <= 16:
            raise DataError(f"{side}: field 'quantize' must be 2..16")
        want_dtype = quantized_dtype(N, bits)
        want = (R,) if C == 1 else (R, C)
    else:
        try:
            want_dtype = np.dtype(meta["dtype"])
        except TypeError:
            raise DataError(f"{side}: unknown dtype {meta['dtype']!r}") from None
        want = (R, N) if C == 1 else (R, C, N)
    if arr.shape != want:
        raise DataError(f"{path}: shape {arr.shape} does not match its sidecar ({want})")
    if arr.dtype != want_dtype:
        raise DataError(f"{path}: dtype {arr.dtype} does not match its sidecar ({want_dtype})")
    every, total = meta["every"], meta["samples"]
    ends = meta.get("block_ends")
    if ends is not None:
        if (not isinstance(ends, list) or len(ends) != R or not all(
                isinstance(e, int) and not isinstance(e, bool) for e in ends)
                or (R and (ends[-1] != total - 1 or min(np.diff([-1, *ends])) < 1))):
            raise DataError(f"{side}: block_ends do not match the rows and samples")
    elif every < 1 or total < 0 or len(emitted_steps(every, total)) != R:
        raise DataError(f"{side}: rows/every/samples are inconsistent")
    if meta.get("time_column") is not None:
        clock, times = meta.get("clock"), meta.get("row_times")
        if (not isinstance(clock, dict) or not all(isinstance(clock.get(k), (int, float))
                                                   for k in ("t0", "t_last"))
                or not isinstance(times, list) or len(times) != R
                or not all(isinstance(v, (int, float)) for v in times)
                or (R > 1 and min(np.diff(times)) <= 0)):
            raise DataError(f"{side}: clock/row_times do not match the rows")
    reset = meta.get("reset_every")
    if reset is not None and (not isinstance(reset, int) or isinstance(reset, bool)
                              or reset < 1 or reset % every):
        raise DataError(f"{side}: field 'reset_every' must be a multiple of every")
    return CoefficientFile(path, arr, meta)


def coefficient_metadata(
    params: dict, *, every: int, samples: int, rows: int, columns: list[str], dtype: str,
    input_name: str, input_bytes: int | None, nan: str, quantize: int | None = None,
    block_ends: list[int] | None = None, tolerance: dict | None = None,
    timing: dict | None = None,
) -> dict:
    """The sidecar: everything ``reconstruct`` and ``info`` need."""
    return {
        "format": SIDECAR_FORMAT,
        "format_version": SIDECAR_VERSION,
        "tool": "hippo-cli",
        "tool_version": __version__,
        **params,
        "legs_time": params.get("legs_time"),
        "init": params.get("init"),
        "every": every,
        "steps_rule": "rows end the blocks listed in block_ends" if block_ends is not None else
                      "rows are the steps k with (k + 1) % every == 0, plus the final step "
                      "k = samples - 1 when it is not one of them",
        "samples": samples,
        "rows": rows,
        "columns": columns,
        "dtype": dtype,
        "input": input_name,
        "input_bytes": input_bytes,
        "nan": nan,
        "quantize": quantize,
        "block_ends": block_ends,
        "tolerance": tolerance,
        **(timing or {}),
    }


def human_bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(n) < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GiB"  # pragma: no cover


def format_float(x: float) -> str:
    """Shortest text that reads back as the same float64."""
    return repr(float(x)) if math.isfinite(x) else ""


@contextlib.contextmanager
def atomic_text_output(path: Path, mode: str = "w") -> Iterator[IO]:
    """A file that appears at ``path`` only if the ``with`` block succeeds."""
    path = check_output_path(Path(path))
    clean_stale_temporaries(path)
    tmp = _temporary(path)
    text = {"encoding": "utf-8", "newline": "\n"} if "b" not in mode else {}
    try:
        with open(tmp, mode, **text) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink()


def atomic_binary_output(path: Path):  # noqa: ANN201
    """Binary twin of :func:`atomic_text_output`."""
    return atomic_text_output(path, "wb")
