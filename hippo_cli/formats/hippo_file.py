"""The ``.hippo`` file: bounded-error compressed samples of one or more channels, with their
times, in checksummed frames that are appended as a stream goes.

Layout (version 1; integers little-endian, ``varint`` = unsigned LEB128)::

    header  magic   4 bytes  89 48 50 4F  ("\\x89HPO")
            version u8       1
            flags   u8       bit 0: the samples have times; other bits 0
            C       varint   channels, 1..4096
            C x    (varint name length <= 1024, UTF-8 name, f64 max error of the channel,
                             >= 0; 0: exact, for a channel whose values are all equal)
            [timed: varint length <= 1024, UTF-8 time column name,
                    u8 time kind (1 numbers, 2 ISO 8601 timestamps at microsecond resolution),
                    varint length <= 64, ASCII pattern of the ISO text (see timestamps.py)]
            crc     u32      CRC-32 of every header byte before it
    frame   n       varint   samples in the frame, 1..2^20 (n x C <= 2^22)
            length  varint   payload bytes (<= 2^27 and what is left of the file)
            crc     u32      CRC-32 of the two varints' bytes and the payload
            payload the parts [times], channel 0, ..., channel C-1; each part is a varint
                    length and its bytes, except the last part, which runs to the payload's end

Time part: u8 kind (0 int64 values, 1 decimal: u8 digits k then int64 values of t * 10^k,
2 raw float64 values), then the int64 codec's bytes (:func:`hippo_cli.codec.encode_times`)
or the raw values. Channel parts: :class:`hippo_cli.codec.ChannelDecoder` decodes them with
the channel's max error; every decoded value is within it.

A reader checks every size against its limit and against the bytes left before allocating
anything. A frame cut short at the end of the file (a crash while appending) is a *torn
tail*: it is ignored, with a note. A checksum mismatch anywhere else is corruption: an error,
or (``salvage=True``) the end of what is decoded, with a note.
"""

from __future__ import annotations

import io
import math
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import IO

import numpy as np

from ..atomic import note_read
from ..codec import ChannelDecoder, ChannelEncoder, decode_times, encode_times
from ..engine.params import MAX_CHANNELS
from ..errors import DataError, ParameterError

MAGIC = b"\x89HPO"
VERSION = 1
MAX_NAME = 1024
MAX_PATTERN = 64
MAX_FRAME_SAMPLES = 1 << 20
MAX_FRAME_VALUES = 1 << 22
MAX_PAYLOAD = 1 << 27
TIME_NUMBERS, TIME_ISO = 1, 2
_T_INT, _T_DECIMAL, _T_RAW = 0, 1, 2


@dataclass
class HippoHeader:
    """What a ``.hippo`` file says about its samples.

    channels : column names; max_errors : the absolute bound of each channel (> 0).
    time_column : name of the time column (None: samples without times);
    time_kind : TIME_NUMBERS or TIME_ISO; time_pattern : how ISO times were written.
    """

    channels: list[str]
    max_errors: list[float]
    time_column: str | None = None
    time_kind: int = TIME_NUMBERS
    time_pattern: str = ""

    @property
    def iso_pattern(self) -> str | None:
        """How the times are written back: the ISO pattern, or None (numbers, or no times)."""
        return self.time_pattern if self.time_column and self.time_kind == TIME_ISO else None

    def frame_samples(self) -> int:
        """Samples per frame in file mode: as many as the limits allow."""
        return max(1, min(MAX_FRAME_SAMPLES, MAX_FRAME_VALUES // len(self.channels)))


def header_with_times(channels: list[str], max_errors: list[float],
                      time_column: str | None = None,
                      pattern: str | None = None) -> HippoHeader:
    """The header of samples without times (``time_column`` None), with ISO times written
    in ``pattern`` (:func:`hippo_cli.formats.timestamps.iso_pattern`), or with numbers."""
    if time_column is None:
        return HippoHeader(list(channels), list(max_errors))
    if pattern is not None:
        return HippoHeader(list(channels), list(max_errors), time_column, TIME_ISO, pattern)
    return HippoHeader(list(channels), list(max_errors), time_column, TIME_NUMBERS)


# --------------------------------------------------------------------------- primitives
def _varint(v: int) -> bytes:
    out = bytearray()
    while v >= 0x80:
        out.append((v & 0x7F) | 0x80)
        v >>= 7
    out.append(v)
    return bytes(out)


class _Cursor:
    """Reads a bytes object with bounds checks; every failure is a ValueError."""

    def __init__(self, data: bytes, pos: int = 0) -> None:
        self.data = data
        self.pos = pos

    def take(self, n: int) -> bytes:
        if n < 0 or self.pos + n > len(self.data):
            raise ValueError("truncated")
        out = self.data[self.pos:self.pos + n]
        self.pos += n
        return out

    def varint(self, limit: int) -> int:
        v = shift = 0
        while True:
            c = self.take(1)[0]
            v |= (c & 0x7F) << shift
            if c < 0x80:
                break
            shift += 7
            if shift > 63:
                raise ValueError("varint too long")
        if v > limit:
            raise ValueError(f"value {v} over its limit {limit}")
        return v

    def text(self, limit: int) -> str:
        return self.take(self.varint(limit)).decode("utf-8")

    def f64(self) -> float:
        return struct.unpack("<d", self.take(8))[0]


def _parts(payload: bytes, count: int) -> list[bytes]:
    cur = _Cursor(payload)
    out = []
    for _ in range(count - 1):
        out.append(cur.take(cur.varint(len(payload))))
    out.append(payload[cur.pos:])
    return out


# --------------------------------------------------------------------------- header
def header_bytes(h: HippoHeader) -> bytes:
    """The encoded header (with its CRC)."""
    check_header(h)
    out = bytearray(MAGIC + bytes([VERSION, 1 if h.time_column is not None else 0]))
    out += _varint(len(h.channels))
    for name, eps in zip(h.channels, h.max_errors):
        raw = name.encode("utf-8")
        out += _varint(len(raw)) + raw + struct.pack("<d", eps)
    if h.time_column is not None:
        raw = h.time_column.encode("utf-8")
        pattern = h.time_pattern.encode("ascii")
        out += _varint(len(raw)) + raw + bytes([h.time_kind]) + _varint(len(pattern)) + pattern
    return bytes(out) + struct.pack("<I", zlib.crc32(out))


def check_header(h: HippoHeader) -> None:
    """Refuse a header this format cannot hold (ParameterError)."""
    if not 1 <= len(h.channels) <= MAX_CHANNELS:
        raise ParameterError(f"a .hippo file holds 1 to {MAX_CHANNELS} channels, "
                             f"got {len(h.channels)}")
    if len(h.max_errors) != len(h.channels):
        raise ParameterError("one max error per channel")
    for name in [*h.channels, *([h.time_column] if h.time_column is not None else [])]:
        if len(name.encode("utf-8")) > MAX_NAME:
            raise ParameterError(f"column name longer than {MAX_NAME} bytes: {name[:40]!r}...")
    for eps in h.max_errors:
        if not (math.isfinite(eps) and eps >= 0):
            raise ParameterError(f"max error must be a finite number >= 0, got {eps!r}")
    if h.time_column is not None and h.time_kind not in (TIME_NUMBERS, TIME_ISO):
        raise ParameterError(f"unknown time kind {h.time_kind}")
    if len(h.time_pattern) > MAX_PATTERN or not h.time_pattern.isascii():
        raise ParameterError("time pattern must be ASCII, at most 64 characters")


#: The largest header the format allows, and how much a reader reads first.
_MAX_HEADER = 4 + 2 + 10 + MAX_CHANNELS * (10 + MAX_NAME + 8) + 2 * (10 + MAX_NAME) + 16
_FIRST_READ = 1 << 16


def _parse_header(head: bytes):
    """The fields after magic and version: (names, errors, time column, kind, pattern, end,
    crc); None when ``head`` ends inside the header; the ValueError when it is corrupt."""
    cur = _Cursor(head, 6)
    try:
        flags = head[5]
        if flags & ~1:
            raise ValueError(f"unknown flags {flags:#x}")
        C = cur.varint(MAX_CHANNELS)
        if C < 1:
            raise ValueError("no channels")
        names, errors = [], []
        for _ in range(C):
            names.append(cur.text(MAX_NAME))
            errors.append(cur.f64())
        time_column, kind, pattern = None, TIME_NUMBERS, ""
        if flags & 1:
            time_column = cur.text(MAX_NAME)
            kind = cur.take(1)[0]
            pattern = cur.text(MAX_PATTERN)
        end = cur.pos
        (crc,) = struct.unpack("<I", cur.take(4))
    except UnicodeDecodeError as err:
        return ValueError(str(err))
    except ValueError as err:
        return None if str(err) == "truncated" else err
    return names, errors, time_column, kind, pattern, end, crc


def read_header(fh: IO[bytes], name: str) -> tuple[HippoHeader, int]:
    """(header, its size in bytes) of an open ``.hippo`` file. Reads 64 KiB (every header
    but one with thousands of long names fits), the format's largest header only if needed."""
    head = fh.read(_FIRST_READ)
    if head[:4] != MAGIC:
        if head[:6] == b"\x93NUMPY":
            raise DataError(f"{name}: is an .npy file, not a .hippo file")
        raise DataError(f"{name}: not a .hippo file (no \\x89HPO at its start)")
    if len(head) < 6:
        raise DataError(f"{name}: truncated .hippo header")
    if head[4] != VERSION:
        raise DataError(f"{name}: .hippo format version {head[4]}, this hippo reads "
                        f"version {VERSION} (a newer hippo wrote it: upgrade)")
    parsed = _parse_header(head)
    if parsed is None and len(head) == _FIRST_READ:  # a header longer than the first read
        head += fh.read(_MAX_HEADER - _FIRST_READ)
        parsed = _parse_header(head)
    if parsed is None:
        raise DataError(f"{name}: corrupt .hippo header (truncated)")
    if isinstance(parsed, ValueError):
        raise DataError(f"{name}: corrupt .hippo header ({parsed})")
    names, errors, time_column, kind, pattern, end, crc = parsed
    if zlib.crc32(head[:end]) != crc:
        raise DataError(f"{name}: corrupt .hippo header (checksum mismatch)")
    header = HippoHeader(names, errors, time_column, kind, pattern)
    try:
        check_header(header)
    except ParameterError as err:
        raise DataError(f"{name}: corrupt .hippo header ({err})") from None
    return header, end + 4


# --------------------------------------------------------------------------- writing
def encode_time_part(t: np.ndarray) -> bytes:
    """Exact storage of a frame's times (float64 (n,)): integers, decimals or raw."""
    with np.errstate(invalid="ignore", over="ignore"):
        for k in range(0, 10):
            scaled = np.round(t * 10.0**k)
            if np.all(np.abs(scaled) < 2.0**62):
                ints = scaled.astype(np.int64)
                if np.array_equal(ints / 10.0**k, t) if k else np.array_equal(ints, t):
                    head = bytes([_T_INT]) if k == 0 else bytes([_T_DECIMAL, k])
                    return head + encode_times(ints)
    return bytes([_T_RAW]) + t.astype("<f8").tobytes()


_PAIRS: dict[float, tuple] = {}


def _codec_pair(eps: float) -> tuple:
    """A (ChannelEncoder, ChannelDecoder) for ``eps``, shared by every writer of the process:
    frames are independent, so one encoder serves any number of series (its scratch arrays
    are the memory that counts), and a writer holds no codec state between frames."""
    pair = _PAIRS.get(eps)
    if pair is None:
        if len(_PAIRS) >= 64:
            _PAIRS.clear()
        pair = _PAIRS[eps] = (ChannelEncoder(eps), ChannelDecoder(eps))
    return pair


class HippoWriter:
    """Writes a ``.hippo`` stream to ``fh``: the header (new files), then a frame whenever
    ``frame_samples`` samples are pending and at :meth:`flush`.

    Each frame is verified before it is written: its bytes are decoded again and every value
    compared with the input (|decoded - x| <= the channel's max error, in float64). Between
    frames a writer holds only the pending samples (at most ``frame_samples`` rows), so many
    writers (one per series) are cheap.
    """

    def __init__(self, fh: IO[bytes], header: HippoHeader, *, new: bool = True,
                 frame_samples: int | None = None) -> None:
        self.fh = fh
        self.header = header
        self.frame_samples = min(frame_samples or header.frame_samples(),
                                 header.frame_samples())
        if new:
            self.bytes_written = fh.write(header_bytes(header))
        else:
            check_header(header)
            self.bytes_written = 0
        self.samples = 0
        self.frames = 0
        self._values: list[np.ndarray] = []
        self._times: list[np.ndarray] = []
        self._pending = 0

    def append(self, values: np.ndarray, times: np.ndarray | None = None) -> None:
        """Add samples: ``values`` float64 (L, C), finite; ``times`` float64 (L,) for a
        timed file (ISO: seconds since 1970, kept to the microsecond)."""
        values = np.ascontiguousarray(values, dtype=np.float64)
        timed = self.header.time_column is not None
        if (times is None) == timed:
            raise ParameterError("times must be given exactly when the file has a time column")
        start = 0
        while start < len(values):
            take = min(len(values) - start, self.frame_samples - self._pending)
            self._values.append(values[start:start + take])
            if timed:
                self._times.append(np.asarray(times[start:start + take], dtype=np.float64))
            self._pending += take
            start += take
            if self._pending == self.frame_samples:
                self.flush()

    def flush(self) -> int:
        """Write the pending samples as one frame (none pending: nothing); returns bytes."""
        if not self._pending:
            return 0
        x = np.concatenate(self._values)
        parts = []
        if self.header.time_column is not None:
            t = np.concatenate(self._times)
            if self.header.time_kind == TIME_ISO:
                t = np.round(t * 1e6) / 1e6  # the microsecond grid the file keeps
            parts.append(encode_time_part(t))
        n = len(x)
        for c, eps in enumerate(self.header.max_errors):
            enc, dec = _codec_pair(eps)
            enc.push(x[:, c])
            part = enc.flush()
            back = dec.decode(part, n)
            if not np.all(np.abs(back - x[:, c]) <= eps):  # never write a broken promise
                raise RuntimeError(f"codec check failed in channel {c}: please report")
            parts.append(part)
        payload = b"".join(_varint(len(p)) + p for p in parts[:-1]) + parts[-1]
        if len(payload) > MAX_PAYLOAD:
            raise DataError("a frame would exceed the format's limit (use fewer channels)")
        head = _varint(n) + _varint(len(payload))
        frame = head + struct.pack("<I", zlib.crc32(payload, zlib.crc32(head))) + payload
        self.fh.write(frame)
        self._values, self._times, self._pending = [], [], 0
        self.samples += n
        self.frames += 1
        self.bytes_written += len(frame)
        return len(frame)


def frame_head_size(n: int, payload: int) -> int:
    """Bytes before a frame's payload: its two varints and the CRC."""
    return len(_varint(n)) + len(_varint(payload)) + 4


# --------------------------------------------------------------------------- reading
@dataclass
class Frame:
    """One decoded frame: values float64 (n, C), times float64 (n,) or None."""

    index: int
    offset: int
    values: np.ndarray
    times: np.ndarray | None


@dataclass
class HippoFile:
    """An open ``.hippo`` file: its header; :meth:`frames` decodes it frame by frame.

    ``notes`` collects what a reader should know (a torn tail ignored, a salvaged end).
    """

    path: str
    header: HippoHeader
    header_size: int
    size: int
    salvage: bool = False
    notes: list[str] = field(default_factory=list)
    data: bytes | None = field(default=None, repr=False)  # in-memory files

    def frames(self) -> Iterator[Frame]:
        """Decoded frames in order (bounded memory: one frame at a time)."""
        decoders = [ChannelDecoder(e) for e in self.header.max_errors]
        for index, offset, n, payload in self._raw_frames():
            yield self._decode(decoders, index, offset, n, payload)

    def read(self) -> tuple[np.ndarray, np.ndarray | None]:
        """All samples (n, C) and times (n,) or None - for files that fit in memory."""
        frames = list(self.frames())
        C = len(self.header.channels)
        values = np.concatenate([f.values for f in frames]) if frames else np.empty((0, C))
        if self.header.time_column is None:
            return values, None
        return values, (np.concatenate([f.times for f in frames]) if frames else np.empty(0))

    def scan(self) -> list[tuple[int, int, int]]:
        """(offset, samples, payload bytes) of every intact frame, without decoding."""
        return [(offset, n, len(payload)) for _, offset, n, payload in self._raw_frames()]

    def _raw_frames(self) -> Iterator[tuple[int, int, int, bytes]]:
        C = len(self.header.channels)
        with (io.BytesIO(self.data) if self.data is not None else open(self.path, "rb")) as fh:
            fh.seek(self.header_size)
            offset, index = self.header_size, 0
            while offset < self.size:
                left = self.size - offset
                head = fh.read(min(left, 24))
                cur = _Cursor(head)
                try:
                    n = cur.varint(MAX_FRAME_SAMPLES)
                    plen = cur.varint(MAX_PAYLOAD)
                    hsize = cur.pos
                    (crc,) = struct.unpack("<I", cur.take(4))
                except ValueError as err:
                    if str(err) == "truncated":
                        self._torn(index, left)
                        return
                    self._corrupt(index, offset, str(err))
                    return
                if n < 1 or n * C > MAX_FRAME_VALUES:
                    self._corrupt(index, offset, f"{n} samples is outside the format's limits")
                    return
                if plen > left - cur.pos:
                    self._torn(index, left)
                    return
                fh.seek(offset + cur.pos)
                payload = fh.read(plen)
                if zlib.crc32(payload, zlib.crc32(head[:hsize])) != crc:
                    if offset + cur.pos + plen == self.size:
                        self._torn(index, left, "its checksum does not match")
                        return
                    self._corrupt(index, offset, "checksum mismatch")
                    return
                yield index, offset, n, payload
                offset += cur.pos + plen
                index += 1

    def _torn(self, index: int, left: int, why: str = "cut short") -> None:
        self.notes.append(f"{self.path}: the last {left} bytes (frame {index}, {why}) are a "
                          "torn tail from an interrupted write: ignored")

    def _corrupt(self, index: int, offset: int, why: str) -> None:
        if not self.salvage:
            raise DataError(f"{self.path}: frame {index} at byte {offset} is corrupt ({why}); "
                            "--salvage decodes the frames before it")
        self.notes.append(f"{self.path}: frame {index} at byte {offset} is corrupt ({why}): "
                          "decoded the frames before it only")

    def _decode(self, decoders: list[ChannelDecoder], index: int, offset: int, n: int,
                payload: bytes) -> Frame:
        h = self.header
        C = len(h.channels)
        timed = h.time_column is not None
        try:
            parts = _parts(payload, C + timed)
            times = decode_time_part(parts[0], n) if timed else None
            values = np.empty((n, C))
            for c in range(C):
                values[:, c] = decoders[c].decode(parts[c + timed], n)
        except (ValueError, IndexError, zlib.error) as err:
            raise DataError(f"{self.path}: frame {index} at byte {offset} does not decode "
                            f"({err})") from None
        return Frame(index, offset, values, times)


def decode_time_part(part: bytes, n: int) -> np.ndarray:
    """The inverse of :func:`encode_time_part`: float64 (n,); ValueError when corrupt."""
    if not part:
        raise ValueError("empty time part")
    kind = part[0]
    if kind == _T_INT:
        return decode_times(part[1:], n).astype(np.float64)
    if kind == _T_DECIMAL:
        if len(part) < 2 or not 1 <= part[1] <= 9:
            raise ValueError("bad decimal time scale")
        return decode_times(part[2:], n) / 10.0 ** part[1]
    if kind == _T_RAW:
        if len(part) != 1 + 8 * n:
            raise ValueError("raw time part of the wrong size")
        return np.frombuffer(part, "<f8", n, 1).astype(np.float64)
    raise ValueError(f"unknown time kind {kind}")


def open_hippo(path: str, *, salvage: bool = False) -> HippoFile:
    """Open and check the header of a ``.hippo`` file (frames are read lazily)."""
    import os

    if os.path.isdir(path):
        raise DataError(f"{path}: is a folder, not a file")
    note_read(path)
    try:
        with open(path, "rb") as fh:
            header, size = read_header(fh, path)
            total = os.fstat(fh.fileno()).st_size
    except FileNotFoundError:
        raise DataError(f"{path}: no such file") from None
    return HippoFile(path, header, size, total, salvage)


def encode(values: np.ndarray, max_error: float | list[float], *,
           times: np.ndarray | None = None, names: list[str] | None = None,
           frame_samples: int | None = None) -> bytes:
    """A whole ``.hippo`` file in memory.

    Parameters
    ----------
    values : float64 (n,) or (n, C), finite.
    max_error : absolute bound (> 0), one for all channels or one per channel.
    times : float64 (n,) sample times (numbers), stored exactly; None for none.
    names : channel names (default ``value`` or ``col0, col1, ...``).

    Every value of :func:`decode` of the result is within ``max_error`` of ``values``.
    """
    x = np.asarray(values, dtype=np.float64)
    x2 = x[:, None] if x.ndim == 1 else x
    if x2.ndim != 2:
        raise ParameterError(f"values must have shape (n,) or (n, C), got {x.shape}")
    if not np.all(np.isfinite(x2)):
        raise DataError("values must be finite (no NaN or inf)")
    C = x2.shape[1]
    errors = [float(max_error)] * C if np.ndim(max_error) == 0 else [float(e) for e in
                                                                     max_error]
    for e in errors:
        if not (math.isfinite(e) and e > 0):
            raise ParameterError(f"max error must be a finite number > 0, got {e!r}")
    names = names or (["value"] if C == 1 else [f"col{i}" for i in range(C)])
    header = HippoHeader(list(names), errors, "time" if times is not None else None)
    buf = io.BytesIO()
    w = HippoWriter(buf, header, frame_samples=frame_samples)
    w.append(x2, None if times is None else np.asarray(times, dtype=np.float64))
    w.flush()
    return buf.getvalue()


def decode(data: bytes) -> tuple[np.ndarray, np.ndarray | None]:
    """(values (n, C), times (n,) or None) of a ``.hippo`` file held in memory."""
    header, size = read_header(io.BytesIO(data), "<bytes>")
    return HippoFile("<bytes>", header, size, len(data), data=bytes(data)).read()
