"""The ``.hippo`` file: a header, checksummed frames of bounded-error samples (with their
times), and - once the writer closes - a footer that indexes the frames.

The byte layout is normative in ``docs/format.md``. In short (version 2; version 3, what files
with times, of level best or with chained frames are written as, adds modes of the time codec,
the mixing codec and chained frames; a file continued keeps its version: :func:`_version_for`)::

    header   magic 89 48 50 4F, version, flags, channels (name, max error, [value kind]),
             [time column], CRC-32
    frame    samples n (varint >= 1), payload length (varint), CRC-32, payload:
             frame flags (kind 0 key, 1 chained), [time part], channel parts
    ...
    footer   00 (end marker), frame count, per frame (bytes, samples, [min, max time]),
             footer offset (u64), CRC-32, 89 48 50 45 ("\\x89HPE")

Version 4 (:data:`ONE_FRAME`) is a whole file of one frame, which level best writes: the
header without its CRC, the frame's samples and payload, and one CRC-32 of the whole file.

What a reader makes of a file:

* **finished** (a valid footer): every frame must be where the index says and intact; a
  bad or missing frame is an error naming the frame and its byte offset (``salvage=True``:
  the intact frames, with a note of what is lost).
* **not closed** (version 2 or 3 written by a stream, no footer yet; or any version-1 file):
  its complete frames decode, with a note of how many samples it holds; a frame cut short
  at the end of the file (a crash while appending) is an error unless ``salvage=True``.
* a file written whole (flag ``whole``: ``hippo compress``, :func:`encode`) without a
  footer has lost its end: an error unless ``salvage=True``.

Writers and readers own their coders: nothing is shared between threads.

Files on disk: a reader opens its file once and reads everything from that handle
(:func:`open_hippo`); a writer on a path (``HippoWriter(path, header)``, ``hippo stream``:
:class:`LiveFile`) holds the file's one-writer lock (:class:`~hippo_cli.atomic.OutputLock`),
creates a new file only with its complete header (written to a temporary and renamed) and
appends frames to it in place.
"""

from __future__ import annotations

import bisect
import io
import math
import os
import struct
import threading
import zlib
from collections import deque
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import IO

import numpy as np

from ..atomic import (
    AtomicFile,
    OutputLock,
    check_output_path,
    is_object_url,
    open_input,
    open_through,
    write_through_target,
)
from ..checks import MAX_CHANNELS
from ..errors import DataError, HippoError, ParameterError
from .crew import Crew
from .parts import (
    CODER_GRID,
    ChannelCoder,
    Cursor,
    codec_name,
    join_parts,
    part_head,
    specials_bytes,
    split_parts,
    split_specials,
    varint,
    within_bound,
)
from .times import (
    Times,
    decode_part_state,
    encode_part_state,
    from_array,
    template_of_pattern,
    to_array,
)

MAGIC = b"\x89HPO"
END_MAGIC = b"\x89E"
VERSION = 2  # what files without times are written as (byte for byte as hippo 0.3 wrote them)
VERSIONS = (1, 2, 3, 4)
#: Format version 4 is the one-frame layout (docs/format.md, "Version 4"): a file written whole
#: that holds one frame, without the header's CRC, the frame's payload length and CRC and the
#: footer (16 bytes or more), one CRC-32 of the whole file at its end. Level best writes it for
#: such a file (whose readers need version 3 anyway); no writer is given it.
ONE_FRAME = 4
MAX_NAME = 1024
MAX_PATTERN = 64
MAX_FRAME_SAMPLES = 1 << 20
#: Samples per frame of the fast level in file mode: a quarter of the format's limit, so that
#: a single long series is several frames that threads code at once (frames are independent).
#: Each new frame pays for its coder's adaptation again: +0.07% to +0.35% of the bytes at
#: 0.1% of the range, up to +5% at ratios above 1000 (benchmarks/levels.py, docs/performance.md).
FAST_FRAME_SAMPLES = 1 << 18
#: Level default cuts a long window of samples (a frame of up to the format's limit) into 2 or
#: 4 frames of equal size, so that threads code and decode a single long series at once -
#: where that costs little: each frame keeps at least SPLIT_MIN_SAMPLES samples, and each of
#: its channel parts an estimated SPLIT_PART_BYTES bytes or more. Why that many: a frame more
#: costs each channel part 35-62 bytes (its head, the range coder's last bytes, and the
#: adaptive model learning again; measured on 10^6 samples of real, random-walk, noisy-sine and
#: price series at 0.5-5% of the range), so parts of 10 kB keep the cost near 0.5%, where
#: frames of a fixed 2^18 samples cost up to 19% on series compressed 10,000-fold. The
#: estimate (:func:`frame_cuts`) is the Huffman codec's exact length of a few slices (level
#: fast's coder: 3-20% longer than the grid codec's), scaled to the window.
SPLIT_MIN_SAMPLES = 1 << 17
SPLIT_PART_BYTES = 10_000
#: the estimate's slices: 4 per channel, of SPLIT_SLICE // C samples (at least 1024)
SPLIT_SLICE = 1 << 14
MAX_FRAME_VALUES = 1 << 22
MAX_PAYLOAD = 1 << 27
TIME_NUMBERS, TIME_ISO = 1, 2
FLAG_TIMED, FLAG_WHOLE, FLAG_KINDS = 1, 2, 4
#: The value kind of a channel (header flag ``kinds``, version 2; docs/format.md, "Value
#: kinds"): what the values were before they were written as float64. 0 says nothing (plain
#: float64); 1 and the integer dtypes: every finite value written was an integer (of that
#: dtype's range); float16/float32: every finite value was one of that dtype. The numpy dtype
#: of each code (None: an integer of unrecorded width).
KIND_FLOAT64, KIND_INTEGER = 0, 1
VALUE_KINDS: dict[int, str | None] = {
    0: "float64", 1: None, 2: "float16", 3: "float32",
    4: "int8", 5: "int16", 6: "int32", 7: "int64",
    8: "uint8", 9: "uint16", 10: "uint32", 11: "uint64",
}
#: The frame flags byte of version 2: the frame kind in the low 4 bits (0, an independent
#: frame, is the only one), and whether its channel parts start with runs of non-finite values;
#: version 3 adds ``coders``: every channel part names its codec in a byte (the mixing codec of
#: level best, docs/format.md), and the chained kind.
FRAME_KIND, FRAME_SPECIALS, FRAME_CODERS = 0x0F, 0x10, 0x20
#: frame kinds: independent (a key frame), or (version 3) chained: its channel parts continue
#: the grid codec's state of the frame before
FRAME_KEY, FRAME_CHAINED = 0, 1



def _same_state(a: object, b: object) -> bool:
    """Whether an encoder's and a decoder's state after a channel part agree (both None, or
    the same grid codec state: see :class:`.grid.ChainState`)."""
    return (a is None) == (b is None) and (a is None or a.same_as(b))


def integer_kind(code: int) -> bool:
    """Whether the value kind ``code`` says every finite value written was an integer."""
    name = VALUE_KINDS.get(code, "")
    return code == KIND_INTEGER or (name is not None and name.startswith(("int", "uint")))


@dataclass
class HippoHeader:
    """What a ``.hippo`` file says about its samples.

    channels : column names; max_errors : the absolute bound of each channel (>= 0; 0 is
    exact). time_column : the time column's name (None: samples without times);
    time_kind : TIME_NUMBERS or TIME_ISO; time_pattern : how ISO times are written (version
    2: the template of the first time, see :mod:`.times`; each frame stores the templates of
    its own times; version 1: the pattern of all of them, ``<sep><unit><zone>``).
    version : the format version (default: :func:`_version_for`, 3 with times, 2 without);
    whole : written whole (a footer is required).
    kinds : the value kind of each channel (:data:`VALUE_KINDS`; C codes, or empty: all 0,
    plain float64). A header with a nonzero kind sets the flag ``kinds`` (version 2 only);
    one without writes the bytes it always did.
    """

    channels: list[str]
    max_errors: list[float]
    time_column: str | None = None
    time_kind: int = TIME_NUMBERS
    time_pattern: str = ""
    version: int | None = None
    whole: bool = False
    kinds: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.version is None:  # the version a new file of these samples is written in
            self.version = _version_for(self.timed)

    def rounded_channels(self) -> list[int]:
        """The channels whose decoded values rounded are the integers written: an integer
        value kind and a bound below 0.5."""
        return [c for c, (code, eps) in enumerate(zip(self.kind_codes(), self.max_errors))
                if integer_kind(code) and eps < 0.5]

    def kind_codes(self) -> list[int]:
        """The value kind of every channel (C,): :attr:`kinds`, or all 0 when empty."""
        return list(self.kinds) if self.kinds else [KIND_FLOAT64] * len(self.channels)

    @property
    def has_kinds(self) -> bool:
        """Whether the header records value kinds (some channel is not plain float64)."""
        return any(self.kinds)

    @property
    def iso_pattern(self) -> str | None:
        """How the times are written back: the ISO pattern, or None (numbers, or no times)."""
        return self.time_pattern if self.time_column and self.time_kind == TIME_ISO else None

    @property
    def timed(self) -> bool:
        return self.time_column is not None

    def frame_samples(self) -> int:
        """Samples per frame in file mode: as many as the limits allow."""
        return max(1, min(MAX_FRAME_SAMPLES, MAX_FRAME_VALUES // len(self.channels)))


def _version_for(timed: bool) -> int:
    """The format version a new file is written in: 3 for samples with times (its time codec
    has mode 2: docs/format.md, "Version 3"), 2 without them (the bytes hippo 0.3 wrote).
    A file that is continued keeps its own version."""
    return 3 if timed else VERSION


def header_with_times(channels: list[str], max_errors: list[float],
                      time_column: str | None = None, pattern: str | None = None, *,
                      whole: bool = False) -> HippoHeader:
    """The header of samples without times (``time_column`` None), with ISO times written
    in ``pattern`` (:func:`hippo_cli.formats.timestamps.iso_pattern`), or with numbers."""
    kind, text = (TIME_ISO, pattern) if pattern is not None else (TIME_NUMBERS, "")
    if time_column is None:
        kind, text = TIME_NUMBERS, ""
    return HippoHeader(list(channels), list(max_errors), time_column, kind, text, whole=whole)


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
    if (h.version not in VERSIONS or (h.whole and h.version < 2)
            or (h.version == ONE_FRAME and not h.whole)):
        raise ParameterError(f"format version {h.version} cannot be written")
    if h.kinds:
        if len(h.kinds) != len(h.channels):
            raise ParameterError("kinds: one value kind per channel")
        for name, code in zip(h.channels, h.kinds):
            if isinstance(code, bool) or code not in VALUE_KINDS:
                raise ParameterError(f"channel {name!r}: unknown value kind {code!r} (codes "
                                     f"0 to {max(VALUE_KINDS)}, docs/format.md)")
        if h.has_kinds and h.version < 2:
            raise ParameterError("value kinds need format version 2")


def header_bytes(h: HippoHeader) -> bytes:
    """The encoded header (with its CRC; in format version 4 without it: the file's CRC-32
    at its end covers it)."""
    check_header(h)
    kinds = h.has_kinds  # only then: a file of plain float64 channels is as it always was
    flags = ((FLAG_TIMED if h.timed else 0) | (FLAG_WHOLE if h.whole else 0)
             | (FLAG_KINDS if kinds else 0))
    out = bytearray(MAGIC + bytes([h.version, flags]))
    out += varint(len(h.channels))
    for name, eps, code in zip(h.channels, h.max_errors, h.kind_codes()):
        raw = name.encode("utf-8")
        out += varint(len(raw)) + raw + struct.pack("<d", eps)
        if kinds:
            out.append(code)
    if h.timed:
        raw = h.time_column.encode("utf-8")
        pattern = h.time_pattern.encode("ascii")
        out += varint(len(raw)) + raw + bytes([h.time_kind]) + varint(len(pattern)) + pattern
    if h.version == ONE_FRAME:
        return bytes(out)
    return bytes(out) + struct.pack("<I", zlib.crc32(out))


def one_frame_bytes(header: HippoHeader, n: int, payload: bytes) -> bytes:
    """A whole file of one frame of ``n`` samples and ``payload`` (a frame payload as format
    version 3 has it: flags, parts) in format version 4: the header without its CRC, n, the
    payload and the CRC-32 of every byte before it (docs/format.md, "Version 4")."""
    body = header_bytes(replace(header, version=ONE_FRAME, whole=True)) + varint(n) + payload
    return body + struct.pack("<I", zlib.crc32(body))


#: The largest header the format allows, and how much a reader reads first.
_MAX_HEADER = 4 + 2 + 10 + MAX_CHANNELS * (10 + MAX_NAME + 8 + 1) + 2 * (10 + MAX_NAME) + 16
_FIRST_READ = 1 << 16


def _parse_header(head: bytes):
    """(header, size) of the bytes ``head``; None when ``head`` ends inside the header;
    a ValueError when it is corrupt."""
    cur = Cursor(head, 6)
    version, flags = head[4], head[5]
    try:
        allowed = FLAG_TIMED | (FLAG_WHOLE | FLAG_KINDS if version >= 2 else 0)
        if flags & ~allowed:
            raise ValueError(f"unknown flags {flags:#x}")
        C = cur.varint(MAX_CHANNELS)
        if C < 1:
            raise ValueError("no channels")
        names, errors, kinds = [], [], []
        for _ in range(C):
            names.append(cur.text(MAX_NAME))
            errors.append(cur.f64())
            if flags & FLAG_KINDS:
                code = cur.take(1)[0]
                if code not in VALUE_KINDS:
                    raise ValueError(f"unknown value kind {code} of channel {names[-1][:40]!r}")
                kinds.append(code)
        time_column, kind, pattern = None, TIME_NUMBERS, ""
        if flags & FLAG_TIMED:
            time_column = cur.text(MAX_NAME)
            kind = cur.take(1)[0]
            pattern = cur.text(MAX_PATTERN)
        end = cur.pos
        if version == ONE_FRAME:  # no CRC of its own: the file's, checked by the reader
            if not flags & FLAG_WHOLE:
                raise ValueError("a one-frame file (version 4) without the flag whole")
            crc = None
        else:
            (crc,) = struct.unpack("<I", cur.take(4))
    except UnicodeDecodeError as err:
        return ValueError(str(err))
    except ValueError as err:
        return None if str(err) == "truncated" else err
    if crc is not None and zlib.crc32(head[:end]) != crc:
        return ValueError("checksum mismatch")
    header = HippoHeader(names, errors, time_column, kind, pattern, version,
                         bool(flags & FLAG_WHOLE), kinds)
    try:
        check_header(header)
    except ParameterError as err:
        return ValueError(str(err))
    return header, end + (0 if crc is None else 4)


def read_header(fh: IO[bytes], name: str) -> tuple[HippoHeader, int]:
    """(header, its size in bytes) of an open ``.hippo`` file, read from its start. Reads
    64 KiB (every header but one with thousands of long names fits), the format's largest
    header only if needed."""
    fh.seek(0)
    head = fh.read(_FIRST_READ)
    if head[:4] != MAGIC:
        if head[:6] == b"\x93NUMPY":
            raise DataError(f"{name}: is an .npy file, not a .hippo file")
        if not head:
            raise DataError(f"{name}: is empty, not a .hippo file")
        raise DataError(f"{name}: not a .hippo file (no \\x89HPO at its start)")
    if len(head) < 6:
        raise DataError(f"{name}: truncated .hippo header")
    if head[4] not in VERSIONS:
        raise DataError(f"{name}: .hippo format version {head[4]}, this hippo reads "
                        f"versions {VERSIONS[0]} to {VERSIONS[-1]} (a newer hippo wrote it: "
                        "upgrade)")
    parsed = _parse_header(head)
    if parsed is None and len(head) == _FIRST_READ:  # a header longer than the first read
        head += fh.read(_MAX_HEADER - _FIRST_READ)
        parsed = _parse_header(head)
    if parsed is None:
        raise DataError(f"{name}: corrupt .hippo header (truncated)")
    if isinstance(parsed, ValueError):
        raise DataError(f"{name}: corrupt .hippo header ({parsed})")
    return parsed


# --------------------------------------------------------------------------- frames
@dataclass(frozen=True)
class FrameInfo:
    """Where a frame is and what it holds, without decoding it.

    index : its position in the file; offset : its first byte; size : its bytes (head and
    payload); start : the index of its first sample in the file; samples : how many;
    time_min, time_max : the least and greatest time of its samples (None: no times, or not
    known without decoding: files without a footer).
    """

    index: int
    offset: int
    size: int
    start: int
    samples: int
    time_min: float | None = None
    time_max: float | None = None


@dataclass
class Frame:
    """One decoded frame: values float64 (n, C), times (:class:`~.times.Times`) or None."""

    index: int
    offset: int
    start: int
    values: np.ndarray
    times: Times | None


def _f64_bits(v: float) -> int:
    return struct.unpack("<q", struct.pack("<d", v))[0]


def _zigzag(v: int) -> int:
    return (v << 1) ^ (v >> 63)


def footer_bytes(header: HippoHeader, frames: list[FrameInfo], offset: int) -> bytes:
    """The footer of a file whose frames end at byte ``offset``: end marker, frame count,
    entries, CRC-32 (of those and of the offset's bytes), the offset as a varint written
    backwards (read from the end of the file), end magic. A timed file's time ranges are
    coded compactly: each float64's bit pattern (as a signed 64-bit integer) as the zigzag
    varint of its difference from the previous one (min after the previous max, max after
    min), wrapping modulo 2^64."""
    out = bytearray(b"\x00") + varint(len(frames))
    prev = 0
    for f in frames:
        out += varint(f.size) + varint(f.samples)
        if header.timed:
            for v in (f.time_min, f.time_max):
                bits = _f64_bits(v)
                out += varint(_zigzag(_wrap(bits - prev)) & 0xFFFFFFFFFFFFFFFF)
                prev = bits
    back = varint(offset)[::-1]
    return bytes(out) + struct.pack("<I", zlib.crc32(back, zlib.crc32(out))) + back + END_MAGIC


def _floats(name: str, a: object) -> np.ndarray:
    """``a`` as a float64 array, or a ParameterError naming ``name``."""
    try:
        return np.asarray(a, dtype=np.float64)
    except (TypeError, ValueError, OverflowError) as err:
        raise ParameterError(f"{name} must be numbers ({err})", option=name) from None


def _times_of(times: object) -> Times:
    try:
        return from_array(times)
    except (TypeError, ValueError, OverflowError) as err:
        raise ParameterError(f"times must be numbers or datetime64 ({err})",
                             option="times") from None


def _wrap(v: int) -> int:
    """``v`` modulo 2^64 as a signed 64-bit integer."""
    return (v + (1 << 63)) % (1 << 64) - (1 << 63)


def _check_kinds(values: np.ndarray, header: HippoHeader) -> None:
    """Refuse ``values`` (n, C) that break the value kind the header claims for a channel
    (ParameterError): a file never says integers of values that are not."""
    for c, code in enumerate(header.kind_codes()):
        if code == KIND_FLOAT64:
            continue
        col = values[:, c]
        finite = col[np.isfinite(col)]
        dtype = VALUE_KINDS[code]
        if integer_kind(code):
            info = np.iinfo(dtype) if dtype is not None else None
            bad = finite != np.rint(finite)
            if info is not None:
                # max + 1 as a float: float(2^63 - 1) is 2^63, which int64 does not hold
                bad |= (finite < info.min) | (finite >= float(info.max) + 1)
            what = "an integer" if info is None else f"a value of {dtype}"
        else:
            bad = finite.astype(dtype).astype(np.float64) != finite
            what = f"a value of {dtype}"
        if bad.any():
            raise ParameterError(f"channel {header.channels[c]!r}: {float(finite[bad][0])!r} "
                                 f"is not {what}, which its value kind says every value is")


def _time_range(t: np.ndarray) -> tuple[float, float]:
    return float(np.min(t)), float(np.max(t))


class HippoWriter:
    """Writes a ``.hippo`` stream to the binary file ``fh``: the header (a new file), a frame
    whenever ``frame_samples`` samples are pending and at :meth:`flush`, and the footer at
    :meth:`close`.

    Each frame is verified before it is written: its bytes are decoded again and every value
    compared with the input (finite values within the channel's max error, non-finite ones
    bit for bit). Between frames a writer holds only its pending samples (at most
    ``frame_samples`` rows) and one coder per distinct bound.

    ``resume``: the frames of an existing file (from :meth:`HippoReader.resume_point`) whose
    end ``fh`` is positioned at; the footer at :meth:`close` indexes them too. ``coder``: the
    channel coders to use with one thread (default: the writer's own); writers used one after
    another in one thread may share one, to share its scratch memory (about 3 MB per bound).

    ``level``: the encoder's searches, "fast", "default" or "best" (one decoder reads all;
    a new file of level fast or best is format version 3, whose frames may use the Huffman
    codec (fast) or the mixing codec (best)). A new whole file of level best (not on a path)
    holds its header and first frame back until a second frame (then it is version 3) or
    :meth:`close`: one frame is written in the one-frame layout, format version 4, 16 bytes
    or more shorter (:func:`one_frame_bytes`).
    ``threads``: how many threads code the channels of a frame and consecutive full frames at
    once (default: the cores this process may use); the bytes are the same for any count
    (default with a ``coder``: 1). With ``threads`` > 1, the full frames of one :meth:`append`
    are coded together (each worker owns its coders), and in a file written whole
    (``header.whole``) fewer than ``threads`` full frames wait for the next appends;
    :meth:`flush` and :meth:`close` write them all.

    ``key_every``: chained frames (a new file is then format version 3): each frame continues
    the grid codec's state of the one before, so that small frames (a stream flushed often)
    cost about what one frame would, with a key frame (independent) at least every
    ``key_every`` samples and as the first frame this writer writes. 0 or None: every frame
    is a key frame. A reader starting inside a chain decodes from its key frame; damage
    loses the frames up to the next key frame. Memory: the state of each channel (about
    55 kB) between frames. A version-2 file continued keeps key frames only.

    ``fh`` may be a path: the writer then takes the file's one-writer lock (a DataError
    naming the other process if a writer has it), creates the file with its header at once
    (it never exists without one), appends frames in place and closes it (and drops the
    lock) at :meth:`close` or the end of a ``with`` block. An existing file is a DataError
    unless ``append=True``: it is then continued (its header must be ``header``; a torn last
    frame and its footer are cut off, as ``hippo stream`` does).
    """

    def __init__(self, fh: IO[bytes] | str | os.PathLike, header: HippoHeader, *,
                 frame_samples: int | None = None,
                 resume: tuple[int, list[FrameInfo]] | None = None,
                 coder: ChannelCoder | None = None, append: bool = False,
                 level: str = "default", threads: int | None = None,
                 key_every: int | None = None) -> None:
        check_header(header)
        if header.version == ONE_FRAME:  # the layout is the writer's choice (below)
            header = replace(header, version=3)
        if key_every is not None and (not isinstance(key_every, int) or key_every < 0):
            raise ParameterError("key_every must be a number of samples >= 0", option="key_every")
        self._live: LiveFile | None = None
        # a new file of level fast or best or with chained frames is version 3 (the Huffman and
        # the mixing codec, frame kind 1); a file continued keeps its version (a version 2 then
        # gets none of them)
        best3 = (level in ("fast", "best") or bool(key_every)) and header.version == 2
        continued = None  # the header of the file continued, if any
        if isinstance(fh, (str, os.PathLike)):
            if resume is not None:
                raise ParameterError("resume: for an open file; a path resumes with append=True")
            self._live = live = LiveFile(fh)
            if live.reader is not None:
                continued = live.reader.header
            elif best3:
                header = replace(header, version=3)
            try:
                fh, resume = live.open_for(header, append)
            except BaseException:
                live.close()
                raise
        elif best3 and resume is None:
            header = replace(header, version=3)
        if continued is not None and header.version != continued.version:
            # a file continued keeps its version (and its modes, its frames' kinds)
            header = replace(header, version=continued.version)
        self.fh = fh
        self.header = header
        #: the frames' channel parts name their codec (the Huffman or the mixing codec may be
        #: chosen)
        self.coders = level in ("fast", "best") and header.version >= 3
        #: chained frames: a key frame starts at least every ``key_every`` samples (0: every
        #: frame is one); the first frame this writer writes is a key frame
        self.key_every = (key_every or 0) if header.version >= 3 else 0
        # each channel's state, then the times', after the last frame (chained frames)
        self._chains: list = [None] * (len(header.channels) + 1)
        self._since_key: int | None = None  # samples since the last key frame began
        default = header.frame_samples()
        if level == "fast":
            default = min(default, FAST_FRAME_SAMPLES)
        self.frame_samples = min(frame_samples or default, header.frame_samples())
        #: level default with frames of the default size: a long window may become 2 or 4
        #: frames (:func:`frame_cuts`; chained frames never, one follows the other)
        self._cuts = level == "default" and frame_samples is None
        self._estimate_scratch = None  # frame_cuts' Huffman scratch (this writer's thread)
        try:
            self._coder = coder if coder is not None and coder.level == level else \
                ChannelCoder(level)
        except ValueError as err:
            raise ParameterError(str(err), option="level") from None
        self.level = level
        # a caller's coder is for one thread (writers after one another sharing its scratch)
        self.threads = 1 if threads is None and coder is not None else thread_count(threads)
        self._crew: Crew | None = None
        self._local = threading.local()  # each worker's own ChannelCoder
        # full frames not coded yet: (values, times, buffer): values channel-major (C, n) in
        # a buffer of this writer's, or (buffer None) a row-major (n, C) view of the values
        # of the append running (never kept past it)
        self._ready: list = []
        self._free: list[np.ndarray] = []  # frame buffers to reuse
        #: a new whole file of level best (format version 3) is held in memory until its
        #: second frame (then written as version 3) or :meth:`close` (one frame: written in
        #: the one-frame layout, version 4, 16 bytes or more shorter: :func:`one_frame_bytes`)
        self._held: bytes | None = None  # the header, while held
        self._held_frame: tuple[int, bytes, int] | None = None  # n, its bytes, payload start
        if resume is None:
            head = header_bytes(header)
            if level == "best" and header.whole and header.version == 3 and self._live is None:
                self._held = head
            else:
                fh.write(head)
            self.offset = self.bytes_written = len(head)
            self.index: list[FrameInfo] = []
        else:
            self.offset, frames = resume
            self.index = list(frames)
            self.bytes_written = 0
        self.samples = sum(f.samples for f in self.index)
        self.closed = False
        self._values: list[np.ndarray] = []
        self._times: list[Times] = []
        self._pending = 0

    @property
    def frames(self) -> int:
        return len(self.index)

    def append(self, values: np.ndarray, times: Times | np.ndarray | None = None) -> None:
        """Add samples: ``values`` float64 (L, C) (or (L,) for one channel; non-finite
        values only in format version 2); ``times`` float64 (L,), finite, for a timed file
        (ISO: seconds since 1970, kept to the microsecond)."""
        self._add(values, times, last=False)

    def _add(self, values: np.ndarray, times: Times | np.ndarray | None, last: bool) -> None:
        """:meth:`append`; ``last``: nothing follows but :meth:`close` (:func:`encode`), so
        that the pending samples become a frame at once and every frame is coded in one go
        (a whole file's last, shorter frame beside the others, not after them)."""
        if self.closed:
            raise ParameterError("the writer is closed")
        C = len(self.header.channels)
        values = _floats("values", values)
        if values.ndim == 1 and C == 1:
            values = values[:, None]
        if values.ndim != 2 or values.shape[1] != C:
            raise ParameterError(f"values must have shape (n, {C}), got {values.shape}")
        if (times is None) == self.header.timed:
            raise ParameterError("times must be given exactly when the file has a time column")
        if self.header.has_kinds:
            _check_kinds(values, self.header)
        if times is not None:
            times = _times_of(times)
            if times.seconds.shape != (len(values),):
                raise ParameterError(f"one time per sample: {len(values)} samples, times of "
                                     f"shape {times.seconds.shape}")
            if not np.all(np.isfinite(times.seconds)):
                raise DataError("times must be finite numbers")
            if self.header.version >= 2 and times.iso != (self.header.time_kind == TIME_ISO):
                # the reader would refuse such a frame: never write one
                raise ParameterError("ISO times for a file whose header says numbers"
                                     if times.iso else
                                     "numbers for a file whose header says ISO times")
        start = 0
        while start < len(values):
            take = min(len(values) - start, self.frame_samples - self._pending)
            self._values.append(values[start:start + take])
            if times is not None:
                self._times.append(times[start:start + take])
            self._pending += take
            start += take
            if self._pending == self.frame_samples:
                self._take_pending()
        if last and self._pending:
            self._take_pending()
        for i, piece in enumerate(self._values):  # samples left pending, in a frame not yet
            # full: copied, as the caller may reuse ``values`` and ``times`` once this returns
            if np.may_share_memory(piece, values):
                self._values[i] = piece.copy()
                if times is not None:
                    pending = self._times[i]
                    self._times[i] = pending[np.arange(len(pending))]  # indexing copies
        if self._ready and (last or not self.header.whole or len(self._ready) >= self.threads):
            # the full frames of this append are coded together (views of ``values``: no
            # copy; the workers take the next job as they finish, which evens out frames of
            # unequal work). A stream's frame is in the file when the append that fills it
            # returns (readers follow a growing file); a file written whole is read only once
            # closed, so fewer full frames than threads wait for the next append.
            self._write_ready()
        else:  # frames that wait: copied, the caller may reuse ``values`` once this returns
            self._ready = [(x, t, buf) if buf is not None else self._own([x], t)
                           for x, t, buf in self._ready]

    def _own(self, pieces: list[np.ndarray], times: list) -> tuple:
        """A frame's row-major ``pieces`` (each (L, C)) copied into a channel-major buffer of
        the writer's (one transposing copy per frame, not a strided copy per channel), reused
        from frame to frame (a new one each time would map and unmap megabytes)."""
        n = sum(len(piece) for piece in pieces)
        C = len(self.header.channels)
        buf = self._free.pop() if self._free else np.empty((C, self.frame_samples))
        x = buf[:, :n]
        at = 0
        for piece in pieces:
            x[:, at:at + len(piece)] = piece.T
            at += len(piece)
        return x, times, buf

    def _take_pending(self) -> None:
        """The pending samples become a frame waiting to be coded: one piece (a frame that
        one append filled) as the view it is, the workers gathering their channels from it;
        several pieces (a stream's frame) joined in a channel-major buffer (:meth:`_own`)."""
        if len(self._values) == 1:
            self._ready.append((self._values[0], self._times, None))
        else:
            self._ready.append(self._own(self._values, self._times))
        self._values, self._times, self._pending = [], [], 0

    def flush(self) -> int:
        """Write the pending samples as one frame (and the full frames waiting to be coded);
        returns the bytes written (none pending: nothing)."""
        if self._pending:
            self._take_pending()
        return self._write_ready()

    def _coder_here(self) -> ChannelCoder:
        """The coder of the calling thread: the writer's own with one thread, else the
        worker's (created on its first frame, kept for the writer's life)."""
        if self.threads == 1:
            return self._coder
        coder = getattr(self._local, "coder", None)
        if coder is None:
            coder = self._local.coder = ChannelCoder(self.level)
        return coder

    def _channel_part(self, col: np.ndarray, eps: float, c: int,
                      chain: object = None) -> tuple[list, bytes, object]:
        """The channel part of column ``c`` (float64 (n,)) of a frame, checked: (its runs of
        non-finite values, its bytes without them, the state a chained frame after it
        continues). ``chain``: the state it continues (a chained frame). The caller leads every
        part of a frame with its runs when any channel has some (the frame flag)."""
        coder = self._coder_here()
        col = np.ascontiguousarray(col)
        filled, runs = split_specials(col)
        try:
            body, state = coder.encode_part(filled, eps, None, self.coders, chain,
                                            chained=bool(self.key_every))
        except RuntimeError as err:  # the encoder's own bound check (levels that skip the
            # re-decode): never reached
            raise HippoError(f"internal error: the codec's own check failed in channel {c} "
                             f"({err}; the frame was not written); please report it") from None
        if not coder.verified:
            part = specials_bytes(runs) + body if runs else body
            back, back_state = coder.decode_part(part, len(col), eps, bool(runs),
                                                 coders=self.coders, chain=chain)
            # never write a broken promise, nor a state the next chained frame would
            # continue differently in a decoder
            if not within_bound(back, col, eps) or not _same_state(state, back_state):
                raise HippoError(f"internal error: the codec's own check failed in channel "
                                 f"{c} (the frame was not written); please report it")
        return runs, body, state

    def _group_parts(self, x: np.ndarray, owned: bool, c0: int, c1: int,
                     chains: list) -> list:
        """The channel parts (:meth:`_channel_part`) of channels ``c0`` to ``c1 - 1`` of a
        frame: ``x`` channel-major (C, n) if ``owned``, else a row-major (n, C) view whose
        columns this worker gathers into its scratch, tile by tile; ``chains``: the state each
        channel's part continues (None: a key frame's part)."""
        eps = self.header.max_errors
        if owned:
            rows = x[c0:c1]
        elif x.shape[1] == 1:
            rows = x.T
        else:
            n = x.shape[0]
            buf = getattr(self._local, "scratch", None)
            if buf is None or buf.shape[0] < (c1 - c0) * n:
                buf = self._local.scratch = np.empty((c1 - c0) * n)
            rows = buf[:(c1 - c0) * n].reshape(c1 - c0, n)
            columns_to_rows(x, c0, rows)
        return [self._channel_part(rows[c - c0], eps[c], c, chains[c]) for c in range(c0, c1)]

    def _map(self, jobs: list, weights: list[float] | None = None) -> list:
        """The results of the callables ``jobs``, in order: on the writer's threads (the
        caller's among them, see :class:`.crew.Crew`; the heaviest ``weights`` first)."""
        if self.threads == 1 or len(jobs) < 2:
            return [job() for job in jobs]
        if self._crew is None:
            self._crew = Crew(self.threads)
        return self._crew.map(lambda job: job(), jobs, weights)

    def stop_threads(self) -> None:
        """End the writer's worker threads (:meth:`close` does; started again if needed)."""
        if self._crew is not None:
            self._crew.close()
            self._crew = None

    def _write_ready(self) -> int:
        """Code the frames waiting (their channels and times, on the writer's threads) and
        write them in order; returns the bytes written."""
        frames, self._ready = self._ready, []
        if not frames:
            return 0
        try:
            return self._code_frames(frames)
        finally:  # the frames' buffers serve the next frames
            self._free += [buf for _, _, buf in frames if buf is not None][:self.threads]

    def _code_frames(self, frames: list) -> int:
        if self.key_every:  # a chained frame continues the one before: one frame at a time
            return sum(self._code_batch([frame]) for frame in frames)
        if not self._cuts:
            return self._code_batch(frames)
        cut = [part for frame in frames for part in self._cut(*frame)]
        weights = [weight for _, weight in cut]
        return self._code_batch([frame for frame, _ in cut],
                                None if None in weights else weights)

    def _cut(self, x: np.ndarray, times: list, buf: np.ndarray | None) -> list:
        """A waiting frame as the frames of equal size :func:`frame_cuts` makes of it, each
        with its estimated bytes (or None): the same tuples, views of ``x`` (channel-major
        (C, n) if ``buf`` is given, else row-major (n, C)) and their times."""
        if self._estimate_scratch is None:
            from .huffman import Scratch

            self._estimate_scratch = Scratch()
        k, sizes = frame_cuts(x if buf is not None else x.T, self.header.max_errors,
                              self._estimate_scratch)
        if k == 1:
            return [((x, times, buf), sizes[0] if sizes else None)]
        n = x.shape[1] if buf is not None else x.shape[0]
        size = -(-n // k)
        joined = Times.join(times) if self.header.timed else None
        return [((x[:, a:a + size] if buf is not None else x[a:a + size],
                  [joined[a:a + size]] if joined is not None else times, buf), weight)
                for a, weight in zip(range(0, n, size), sizes)]

    def _next_kind(self, n: int) -> int:
        """The kind of the next frame, of ``n`` samples: a key frame at the start and once
        ``key_every`` samples have passed since the last one began, else chained."""
        if not self.key_every:
            return FRAME_KEY
        if self._since_key is None or self._since_key >= self.key_every:
            self._since_key = n
            return FRAME_KEY
        self._since_key += n
        return FRAME_CHAINED

    def _code_batch(self, frames: list, weights: list[float] | None = None) -> int:
        """Code ``frames`` (their channel groups and times, on the writer's threads) and write
        them in order. ``weights``: each frame's expected work (its estimated bytes), so that
        the heaviest frames' jobs start first (the times' jobs before all)."""
        h = self.header
        C = len(h.channels)
        keys = [None] * (C + 1)
        jobs, times_of, kinds, work = [], [], [], []
        for f, (x, times, buf) in enumerate(frames):
            n = x.shape[1] if buf is not None else x.shape[0]
            kinds.append(self._next_kind(n))
            chains = self._chains if kinds[-1] == FRAME_CHAINED else keys
            t = None
            if h.timed:
                t = Times.join(times)
                if h.version < 2 and t.iso:
                    raise DataError("format version 1 keeps ISO times as seconds: write "
                                    "version 2")
                jobs.append(lambda t=t, tc=chains[C]: (
                    *encode_part_state(t, h.version >= 3, tc), _time_range(t.seconds)))
                # first, as before weights: irregular times cost 200-300 ns a sample to code,
                # several times a channel's samples
                work.append(math.inf)
            times_of.append(t)
            groups = sorted(channel_groups(C, n, self.threads))  # jobs in channel order
            for c0, c1 in groups:
                jobs.append(lambda x=x, o=buf is not None, c0=c0, c1=c1, ch=chains:
                            self._group_parts(x, o, c0, c1, ch))
                work.append(weights[f] * (c1 - c0) / C if weights is not None else 0.0)
        # a worker's error is raised here: nothing written
        done = iter(self._map(jobs, work if weights is not None else None))
        coded_frames = []
        for (x, _, buf), t, kind in zip(frames, times_of, kinds):
            n = x.shape[1] if buf is not None else x.shape[0]
            t_range = (None, None)
            head = []
            time_state = None
            if t is not None:
                part, time_state, t_range = next(done)
                head.append(part)
            coded = [p for _ in range(len(channel_groups(C, n, self.threads)))
                     for p in next(done)]
            special = any(runs for runs, _, _ in coded)
            if special and h.version < 2:
                raise DataError("format version 1 cannot hold NaN or inf")
            # the codec bytes only where a channel kept another codec than the grid's (else the
            # flag is clear and every part is the grid codec's, a byte shorter)
            coders = self.coders and any(body[0] != CODER_GRID for _, body, _ in coded)
            skip = 1 if self.coders and not coders else 0
            parts = head + [specials_bytes(runs) + body[skip:] if special else body[skip:]
                            for runs, body, _ in coded]
            if self.key_every:
                self._chains = [state for _, _, state in coded] + [time_state]
            coded_frames.append((n, parts, special, t_range, kind, coders))
        return sum(self._write_frame(*frame) for frame in coded_frames)

    def _write_frame(self, n: int, parts: list[bytes], special: bool, t_range,
                     kind: int = FRAME_KEY, coders: bool = False) -> int:
        h = self.header
        flags = kind | (FRAME_SPECIALS if special else 0) | (FRAME_CODERS if coders else 0)
        payload = (bytes([flags]) if h.version >= 2 else b"") + join_parts(parts)
        if len(payload) > MAX_PAYLOAD:
            raise DataError("a frame would exceed the format's limit (use fewer channels)")
        head = varint(n) + varint(len(payload))
        frame = head + struct.pack("<I", zlib.crc32(payload, zlib.crc32(head))) + payload
        if self._held is None:
            self.fh.write(frame)
        elif not self.index:  # the first frame: perhaps a one-frame file
            self._held_frame = (n, frame, len(frame) - len(payload))
        else:  # a second frame: version 3 after all
            self.fh.write(self._held + self._held_frame[1] + frame)
            self._held = self._held_frame = None
        self.index.append(FrameInfo(len(self.index), self.offset, len(frame), self.samples, n,
                                    *t_range))
        self.samples += n
        self.offset += len(frame)
        self.bytes_written += len(frame)
        return len(frame)

    def close(self) -> None:
        """Write the pending samples and (format version 2) the footer. The file is then
        *finished*: a reader checks that every frame is intact and where the footer says.
        A writer on a path then closes its file (synced to disk) and drops its lock."""
        if self.closed:
            return
        try:
            self.flush()
            if self._held is not None and self._held_frame is not None:
                n, frame, at = self._held_frame
                data = one_frame_bytes(self.header, n, frame[at:])
                self.fh.write(data)
                self._held = self._held_frame = None
                self.header = replace(self.header, version=ONE_FRAME)
                self.bytes_written = self.offset = len(data)
                at = self.index[0].offset - 4  # the header without its CRC
                self.index = [replace(self.index[0], offset=at, size=len(data) - at - 4)]
                self.closed = True
                return
            if self._held is not None:  # no frame: the header and the footer
                self.fh.write(self._held)
                self._held = None
            if self.header.version >= 2:
                footer = footer_bytes(self.header, self.index, self.offset)
                self.fh.write(footer)
                self.bytes_written += len(footer)
            self.closed = True
        finally:
            self.stop_threads()
            if self._live is not None:  # closed without a footer on an error: resumable
                self._live.close()

    def __enter__(self) -> HippoWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self.close()
        finally:
            if self._live is not None:
                self._live.close()


def frame_cuts(rows: np.ndarray, errors, scratch) -> tuple[int, list[float] | None]:
    """How many frames of equal size (1, 2 or 4) level default makes of a window of samples,
    ``rows`` (C, n) (any strides), channel ``c`` bounded by ``errors[c]``, and the estimated
    bytes of each (None when the window is too short to cut: nothing was estimated).

    The most frames with at least SPLIT_MIN_SAMPLES samples each whose channel parts are
    estimated at SPLIT_PART_BYTES bytes or more on average. The estimate: the Huffman codec's
    bits without its code tables (:func:`.huffman.shortest`) of a slice in the middle of each
    quarter of each channel (its non-finite values filled as a channel part fills them),
    scaled to the quarter; a slice without a grid index counts 8 bytes a sample (raw blocks).
    Depends on the samples only, never on the threads: the same bytes whoever codes them.
    ``scratch``: a :class:`.huffman.Scratch`."""
    from .huffman import shortest

    C, n = rows.shape
    k = 4
    while k > 1 and n < k * SPLIT_MIN_SAMPLES:
        k //= 2
    if k == 1:
        return 1, None
    per = max(1024, SPLIT_SLICE // C)
    quarters = [0.0] * 4
    for c in range(C):
        for i in range(4):
            at = i * n // 4 + (n // 4 - per) // 2
            filled, _ = split_specials(np.ascontiguousarray(rows[c, at:at + per]))
            best = shortest(filled, errors[c], scratch=scratch)
            quarters[i] += (best[1] if best is not None else 8 * per) * (n / 4) / per
    while k > 1 and sum(quarters) < k * C * SPLIT_PART_BYTES:
        k //= 2
    return k, [sum(quarters[j * 4 // k:(j + 1) * 4 // k]) for j in range(k)]


#: The scratch of one channel group, float64 values (4 MB): a group of channels is coded from
#: (or decoded into) rows of a worker's scratch, and moved to or from its columns of the
#: row-major (n, C) array tile by tile (:func:`rows_to_columns`).
GROUP_SCRATCH = 1 << 19
#: Rows of one tile: a tile of 8 channels' rows (256 kB) stays in cache while the 64-byte lines
#: of its rows of the (n, C) array are written (or read) whole.
TILE_ROWS = 4096


def channel_groups(C: int, n: int, workers: int) -> list[tuple[int, int]]:
    """The channel groups [c0, c1) that the jobs of a frame of ``C`` channels x ``n`` samples
    code or decode: up to 8 neighbouring channels (one 64-byte line of a row of the (n, C)
    array, which a strided copy per channel would fetch again for each of its 8 values), fewer
    when the group's scratch would pass GROUP_SCRATCH values or when fewer than 4 groups per
    worker would be left (jobs of unequal work even out). The even groups come first, so that
    workers starting together work on channels far apart (no cache line of a row shared)."""
    size = max(1, min(8, GROUP_SCRATCH // max(n, 1)))
    if workers > 1:
        size = max(1, min(size, C // (4 * workers)))
    groups = [(c, min(c + size, C)) for c in range(0, C, size)]
    return groups[0::2] + groups[1::2]


def rows_to_columns(rows: np.ndarray, values: np.ndarray, c0: int) -> None:
    """Channel-major ``rows`` (G, n) into the columns ``c0`` to ``c0 + G - 1`` of ``values``
    (n, C), tile by tile (TILE_ROWS rows)."""
    G, n = rows.shape
    for r0 in range(0, n, TILE_ROWS):
        values[r0:r0 + TILE_ROWS, c0:c0 + G] = rows[:, r0:r0 + TILE_ROWS].T


def columns_to_rows(values: np.ndarray, c0: int, rows: np.ndarray) -> None:
    """The inverse of :func:`rows_to_columns`: columns ``c0`` to ``c0 + G - 1`` of ``values``
    (n, C) into ``rows`` (G, n)."""
    G, n = rows.shape
    for r0 in range(0, n, TILE_ROWS):
        rows[:, r0:r0 + TILE_ROWS] = values[r0:r0 + TILE_ROWS, c0:c0 + G].T


# --------------------------------------------------------------------------- reading
class HippoReader:
    """An open ``.hippo`` file (one open file handle for its whole life: use it as a
    context manager or call :meth:`close`).

    ``header`` : what the file holds; ``index`` : every intact frame (:class:`FrameInfo`),
    from the footer or a scan of the frame heads (nothing is decoded to build it);
    ``finished`` : the file has a valid footer; ``samples`` : samples in ``index``;
    ``notes`` : what a user should know (not closed, salvaged).

    Decoding: :meth:`frames` (frame by frame, bounded memory), :meth:`read` (a range of
    samples or of times, decoding only the frames it overlaps).
    """

    def __init__(self, fh: IO[bytes], name: str, *, salvage: bool = False,
                 owns: bool = True, threads: int | None = None) -> None:
        self.threads = thread_count(threads)  # frames (or one frame's channels) decoded at once
        self._pool: ThreadPoolExecutor | None = None  # frames(): a window decoded ahead
        self._crew: Crew | None = None  # read() and one frame's channels
        self._local = threading.local()  # each thread's decoding scratch
        self.fh = fh
        self.path = name
        self.salvage = salvage
        self.notes: list[str] = []
        self._owns = owns
        try:
            self.header, self.header_size = read_header(fh, name)
            fh.seek(0, os.SEEK_END)
            self.size = fh.tell()
            self.finished = False
            self.frames_end = self.header_size  # where the intact frames end
            self.damage: str | None = None  # what the scan found wrong at the end
            if self.header.version == ONE_FRAME:
                self.index = self._one_frame()
            else:
                self.index = self._from_footer()
                if self.index is None:
                    self.index = self._scan()
        except BaseException:
            self.close()
            raise
        self._starts = [f.start for f in self.index]
        self._kinds: dict[int, int] = {}  # frame index -> kind, read when needed (version 3)
        self._coder = ChannelCoder()
        h = self.header
        # version 1 kept ISO times as seconds at microseconds, written in the header's pattern
        self._v1_template = (template_of_pattern(h.time_pattern) if h.version < 2 and h.timed
                             and h.time_kind == TIME_ISO else None)

    # ------------------------------------------------------------------ structure
    @property
    def samples(self) -> int:
        return self.index[-1].start + self.index[-1].samples if self.index else 0

    def _whole_file_checks(self) -> bool:
        """Whether a one-frame file (format version 4) is within the format's limits and its
        CRC-32, at its end, matches every byte before it (read in pieces of 1 MiB: nothing
        is allocated from the file's size)."""
        if not self.header_size + 4 <= self.size <= self.header_size + 10 + MAX_PAYLOAD + 4:
            return False
        self.fh.seek(0)
        crc, left = 0, self.size - 4
        while left > 0:
            piece = self.fh.read(min(left, 1 << 20))
            if not piece:
                return False
            crc = zlib.crc32(piece, crc)
            left -= len(piece)
        stored = self.fh.read(4)
        return len(stored) == 4 and struct.unpack("<I", stored)[0] == crc

    def _one_frame(self) -> list[FrameInfo]:
        """The index of a one-frame file (format version 4): its one frame, once the file's
        CRC-32 matches and its sample count and payload length are within the limits (else
        damage: under ``salvage`` nothing is left). Header, samples n, payload and CRC:
        docs/format.md, "Version 4"."""
        where = f"the file (version 4, one frame of {self.size} bytes)"
        if not self._whole_file_checks():
            self._damaged(where, "its checksum does not match (a changed, missing or added "
                          "byte)", lost="nothing decodes")
            return []
        self.fh.seek(self.header_size)
        cur = Cursor(self.fh.read(min(10, self.size - 4 - self.header_size)))
        try:
            n = cur.varint(MAX_FRAME_SAMPLES)
        except ValueError:
            n = 0
        size = self.size - 4 - self.header_size  # the samples' varint and the payload
        if not (1 <= n and n * len(self.header.channels) <= MAX_FRAME_VALUES
                and 1 <= size - cur.pos <= MAX_PAYLOAD):
            self._damaged(where, "its frame is outside the format's limits",
                          lost="nothing decodes")
            return []
        self.finished = True
        self.frames_end = self.size
        return [FrameInfo(0, self.header_size, size, 0, n)]

    def _from_footer(self) -> list[FrameInfo] | None:
        """The index of a finished file, or None (no valid trailer: scan the frames)."""
        if self.header.version < 2 or self.size < self.header_size + 8:
            return None
        tail = min(self.size - self.header_size, 16)
        self.fh.seek(self.size - tail)
        trailer = self.fh.read(tail)
        if trailer[-2:] != END_MAGIC:
            return None
        back = trailer[:-2][::-1]  # the footer offset, a varint written backwards
        try:
            cur = Cursor(back)
            offset = cur.varint(self.size)
        except ValueError:
            return None
        crc_at = self.size - 2 - cur.pos - 4  # the CRC-32 just before the offset's bytes
        if not self.header_size <= offset < crc_at:
            return None
        self.fh.seek(offset)
        body = self.fh.read(crc_at - offset)
        (crc,) = struct.unpack("<I", self.fh.read(4))
        if zlib.crc32(back[:cur.pos][::-1], zlib.crc32(body)) != crc or body[:1] != b"\x00":
            return None
        try:
            frames = self._parse_footer(body, offset)
        except ValueError as err:
            self._damaged(f"the footer at byte {offset}", f"it does not match the frames "
                          f"({err})")
            return None
        self.finished = True
        self.frames_end = offset
        return frames

    def _parse_footer(self, body: bytes, offset: int) -> list[FrameInfo]:
        cur = Cursor(body, 1)
        count = cur.varint(len(body))
        timed = self.header.timed
        frames, pos, start, prev = [], self.header_size, 0, 0
        for i in range(count):
            size = cur.varint(MAX_PAYLOAD + 32)
            n = cur.varint(MAX_FRAME_SAMPLES)
            tmin = tmax = None
            if timed:
                pair = []
                for _ in range(2):
                    z = cur.varint((1 << 64) - 1)
                    prev = _wrap(prev + ((z >> 1) ^ -(z & 1)))
                    pair.append(struct.unpack("<d", struct.pack("<q", prev))[0])
                tmin, tmax = pair
                if not (math.isfinite(tmin) and math.isfinite(tmax) and tmin <= tmax):
                    raise ValueError(f"frame {i}: an impossible time range")
            if n < 1 or size < 7 or n * len(self.header.channels) > MAX_FRAME_VALUES:
                raise ValueError(f"frame {i}: impossible entry")
            frames.append(FrameInfo(i, pos, size, start, n, tmin, tmax))
            pos += size
            start += n
        if cur.left() != 0 or pos != offset:
            raise ValueError("the frames do not end where the footer starts")
        return frames

    def _scan(self) -> list[FrameInfo]:
        """The index of a file without a (valid) footer, from its frame heads."""
        C = len(self.header.channels)
        frames: list[FrameInfo] = []
        offset, start = self.header_size, 0
        while offset < self.size:
            self.fh.seek(offset)
            head = self.fh.read(min(self.size - offset, 24))
            if head[:1] == b"\x00" and self.header.version >= 2:
                self._damaged(f"the footer at byte {offset}", "it does not check out (a "
                              "changed or missing byte)")
                break
            cur = Cursor(head)
            try:
                n = cur.varint(MAX_FRAME_SAMPLES)
                plen = cur.varint(MAX_PAYLOAD)
                cur.take(4)
            except ValueError as err:
                if str(err) == "truncated":
                    self._damaged(f"frame {len(frames)} at byte {offset}", "it is cut short "
                                  "(an interrupted write)", torn=True)
                else:
                    self._damaged(f"frame {len(frames)} at byte {offset}", f"its head is "
                                  f"corrupt ({err})")
                break
            if n < 1 or n * C > MAX_FRAME_VALUES:
                self._damaged(f"frame {len(frames)} at byte {offset}", f"its head is corrupt "
                              f"({n} samples is outside the format's limits)")
                break
            size = cur.pos + plen
            if size > self.size - offset:
                self._damaged(f"frame {len(frames)} at byte {offset}", "it is cut short (an "
                              "interrupted write)", torn=True)
                break
            frames.append(FrameInfo(len(frames), offset, size, start, n))
            offset += size
            start += n
        self.frames_end = offset
        if self.damage is None:
            if self.header.whole:
                self._damaged(f"the end (byte {offset})", "the file ends without its footer "
                              "(it was cut short)")
            elif self.header.version >= 2:
                self.notes.append(f"{self.path}: not closed (a stream still writing, or one "
                                  f"that stopped without closing): {start} samples in "
                                  f"{len(frames)} complete frame{'s' * (len(frames) != 1)}")
        return frames

    def _damaged(self, where: str, why: str, torn: bool = False, lost: str = "") -> None:
        """Damage at ``where``: an error, or (``salvage``) a note saying what is lost."""
        self.damage = f"{where}: {why}"
        if not self.salvage:
            hint = ("--salvage decodes the frames before it; hippo stream resumes such a file"
                    if torn else "--salvage decodes the intact frames")
            if self.header.version == ONE_FRAME:
                hint = "a file of one frame has nothing intact to salvage"
            raise DataError(f"{self.path}: {where} is damaged: {why}; {hint}")
        self.notes.append(f"{self.path}: {where} is damaged: {why}; "
                          f"{lost or 'decoded the intact frames'}")

    def resume_point(self) -> tuple[int, list[FrameInfo]]:
        """(byte offset after the last intact frame, the intact frames): where a stream that
        appends to this file starts (the footer, if any, and a damaged tail are cut off)."""
        return self.frames_end, list(self.index)

    # ------------------------------------------------------------------ decoding
    def _lost(self, info: FrameInfo, why: str) -> None:
        last = info.start + info.samples - 1
        self._damaged(f"frame {info.index} at byte {info.offset}", why,
                      lost=f"its {info.samples} samples ({info.start} to {last}) are left out")

    def _payload(self, info: FrameInfo) -> bytes | None:
        """The payload of a frame, checked against its head, the index and its CRC; None
        (with a note) for a damaged frame under ``salvage``."""
        if self.header.version == ONE_FRAME:  # the file's CRC, checked again as it is read
            self.fh.seek(0)
            data = self.fh.read(info.offset + info.size + 4)
            cur = Cursor(data, info.offset)
            try:
                same = (len(data) == info.offset + info.size + 4
                        and struct.unpack("<I", data[-4:])[0] == zlib.crc32(data[:-4])
                        and cur.varint(MAX_FRAME_SAMPLES) == info.samples)
            except ValueError:
                same = False
            if not same:
                self._lost(info, "checksum mismatch (the file changed since it was opened)")
                return None
            return data[cur.pos:-4]
        self.fh.seek(info.offset)
        raw = self.fh.read(info.size)
        cur = Cursor(raw)
        try:
            n = cur.varint(MAX_FRAME_SAMPLES)
            plen = cur.varint(MAX_PAYLOAD)
            (crc,) = struct.unpack("<I", cur.take(4))
            if n != info.samples or cur.pos + plen != info.size:
                raise ValueError("its head does not match the index")
            payload = raw[cur.pos:]
            if len(payload) != plen:
                raise ValueError("it is cut short")
            if zlib.crc32(payload, zlib.crc32(raw[:cur.pos - 4])) != crc:
                raise ValueError("checksum mismatch")
        except ValueError as err:
            self._lost(info, "it is cut short" if str(err) == "truncated" else str(err))
            return None
        return payload

    def _decoded(self, info: FrameInfo, times_only: bool = False,
                 payload: bytes | None = None, out: np.ndarray | None = None,
                 chains: list | None = None) -> Frame | None:
        """A frame decoded (from ``payload`` if given, read from the file otherwise; into
        ``out``, continuing ``chains``: see :meth:`_decode`), or None (with a note) when it is
        damaged under ``salvage``."""
        payload = payload if payload is not None else self._payload(info)
        if payload is None:
            return None
        try:
            return self._decode(info, payload, times_only, out, chains)
        except (ValueError, IndexError, zlib.error) as err:
            self._lost(info, f"it does not decode ({err})")
            return None

    def _parts(self, payload: bytes) -> tuple[bool, bool, bool, list[bytes]]:
        """A frame's payload as its flags ``specials``, ``coders`` and chained (format version
        2 on; all False before) and its parts, the times' first; ``ValueError`` when they do
        not check out."""
        h = self.header
        special = coders = chained = False
        if h.version >= 2:
            flags = payload[0] if payload else -1
            known = FRAME_KIND | FRAME_SPECIALS | (FRAME_CODERS if h.version >= 3 else 0)
            kinds = (FRAME_KEY, FRAME_CHAINED) if h.version == 3 else (FRAME_KEY,)
            if flags < 0 or flags & FRAME_KIND not in kinds or flags & ~known:
                raise ValueError(f"unknown frame kind {payload[:1].hex() or 'missing'}")
            special = bool(flags & FRAME_SPECIALS)
            coders = bool(flags & FRAME_CODERS)
            chained = flags & FRAME_KIND == FRAME_CHAINED
            payload = payload[1:]
        return special, coders, chained, split_parts(payload, len(h.channels) + h.timed)

    def part_codecs(self, info: FrameInfo) -> list[str] | None:
        """The codec of each channel part of frame ``info`` (:func:`.parts.codec_name`), read
        from the frame's flags and each part's first bytes: nothing is decoded. None (with a
        note) for a frame damaged under ``salvage``."""
        payload = self._payload(info)
        if payload is None:
            return None
        h = self.header
        try:
            special, coders, _, parts = self._parts(payload)
            return [codec_name(part_head(part, info.samples, eps, special, coders)[1], eps)
                    for part, eps in zip(parts[h.timed:], h.max_errors)]
        except (ValueError, IndexError) as err:
            self._lost(info, f"it does not decode ({err})")
            return None

    def _decode(self, info: FrameInfo, payload: bytes, times_only: bool = False,
                out: np.ndarray | None = None, chains: list | None = None) -> Frame:
        """Frame ``info`` decoded from ``payload``; its values written into ``out`` (float64
        (n, C), rows contiguous: the frame's rows of a caller's array) when given. ``chains``
        (version 3): each channel's state after the frame before, which a chained frame
        continues; replaced by the states after this one."""
        h = self.header
        C = len(h.channels)
        n = info.samples
        special, coders, chained, parts = self._parts(payload)
        if chained and chains is None:
            raise ValueError("a chained frame, decoded without the frame before it")
        into = chains if chained else [None] * (C + 1)  # the states the parts continue
        times = None
        if h.timed:
            times, time_state = decode_part_state(parts[0], n, self._v1_template,
                                                  h.version >= 3, into[C], chained)
            if chains is not None:
                chains[C] = time_state
            if h.version >= 2 and times.iso != (h.time_kind == TIME_ISO):
                raise ValueError("its times are not of the kind the header says")
        if times_only:
            return Frame(info.index, info.offset, info.start, np.empty((n, 0)), times)
        values = np.empty((n, C)) if out is None else out
        if C == 1:  # decoded in place (its column is contiguous)
            col = values[:, 0]
            got, state = self._coder.decode_part(
                parts[h.timed], n, h.max_errors[0], special,
                out=col if col.flags.c_contiguous else None, coders=coders, chain=into[0])
            if got is not col:
                col[:] = got
            if chains is not None:
                chains[0] = state
            return Frame(info.index, info.offset, info.start, values, times)

        def group(c0: int, c1: int) -> None:
            # each channel into a row of this thread's scratch, then the group into its columns
            # of ``values`` tile by tile: all in the worker, nothing left for the caller
            rows = self._scratch((c1 - c0) * n).reshape(c1 - c0, n)
            for c in range(c0, c1):
                row = rows[c - c0]
                got, state = self._coder.decode_part(parts[c + h.timed], n, h.max_errors[c],
                                                     special, out=row, coders=coders,
                                                     chain=into[c])
                if got is not row:
                    row[:] = got
                if chains is not None:
                    chains[c] = state
            rows_to_columns(rows, values, c0)

        # one frame's channels on the reader's threads unless frames already are (_frames_of)
        crew = self._crew_of() if not self._in_worker() else None
        groups = channel_groups(C, n, self.threads if crew else 1)
        if crew is None:
            for c0, c1 in groups:
                group(c0, c1)
        else:
            crew.map(lambda g: group(*g), groups)
        return Frame(info.index, info.offset, info.start, values, times)

    def _scratch(self, size: int) -> np.ndarray:
        """float64 (size,): the calling thread's scratch, kept for the reader's life."""
        buf = getattr(self._local, "scratch", None)
        if buf is None or buf.shape[0] < size:
            buf = self._local.scratch = np.empty(size)
        return buf[:size]

    def _threads_pool(self) -> ThreadPoolExecutor | None:
        if self.threads == 1:
            return None
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self.threads, thread_name_prefix="hippo-decode")
        return self._pool

    def _crew_of(self) -> Crew | None:
        """The reader's crew (None with one thread): :meth:`read`'s frames and one frame's
        channels (the caller works too, and no call waits for a thread to start)."""
        if self.threads == 1:
            return None
        if self._crew is None:
            self._crew = Crew(self.threads)
        return self._crew

    def _in_worker(self) -> bool:
        """Whether this thread decodes a frame for :meth:`_frames_of` already."""
        return (threading.current_thread().name.startswith("hippo-decode")
                or (self._crew is not None and self._crew.in_job()))

    def frames(self, first: int = 0, stop: int | None = None) -> Iterator[Frame]:
        """Decoded frames ``first`` to ``stop - 1`` of :attr:`index`, in order (at most
        2 x ``threads`` in memory at a time). A damaged frame is an error (``salvage``: skipped,
        with a note)."""
        return self._frames_of(self.index[first:stop])

    def frame_kind(self, info: FrameInfo) -> int:
        """The kind of frame ``info``: FRAME_KEY (0, independent) or FRAME_CHAINED (1, it
        continues the frame before; format version 3), from its flags byte alone (a frame too
        damaged to say is taken as a key frame: reading it finds the damage)."""
        if self.header.version < 3 or self.header.version == ONE_FRAME:
            return FRAME_KEY  # (a one-frame file's frame must be a key frame: _parts)
        kind = self._kinds.get(info.index)
        if kind is None:
            self.fh.seek(info.offset)
            cur = Cursor(self.fh.read(min(info.size, 25)))
            try:
                cur.varint(MAX_FRAME_SAMPLES)
                cur.varint(MAX_PAYLOAD)
                cur.take(4)
                kind = cur.take(1)[0] & FRAME_KIND
            except ValueError:
                kind = FRAME_KEY
            self._kinds[info.index] = kind
        return kind

    def _chained_frames(self, infos: list[FrameInfo],
                        outs: list[np.ndarray | None]) -> Iterator[Frame]:
        """The frames of ``infos`` (in index order) decoded one after the other, each chained
        frame continuing the one before: from the key frame at or before the first, every
        frame up to the last (those not in ``infos`` decoded for their states only). A lost
        frame (salvage) loses the chained frames after it, up to the next key frame."""
        wanted = {info.index: out for info, out in zip(infos, outs)}
        k = infos[0].index
        while k > 0 and self.frame_kind(self.index[k]) == FRAME_CHAINED:
            k -= 1
        C = len(self.header.channels)
        chains: list | None = None
        for info in self.index[k:infos[-1].index + 1]:
            if self.frame_kind(info) == FRAME_KEY:
                chains = [None] * (C + 1)
            keep = info.index in wanted
            frame = self._decoded(info, False, None, wanted.get(info.index), chains)
            if frame is None:
                chains = None  # lost: the chained frames after it cannot be decoded
            elif keep:
                yield frame

    def _frames_of(self, infos: list[FrameInfo],
                   outs: list[np.ndarray | None] | None = None) -> Iterator[Frame]:
        """The frames of ``infos`` decoded, in order: with threads, up to 2 x ``threads``
        in flight (the file is read in this thread, each frame decoded by a worker), each
        into its ``outs`` array when one is given (see :meth:`_decode`). Chained frames
        (version 3) are decoded one after the other (their channels on the threads)."""
        if infos and any(self.frame_kind(info) == FRAME_CHAINED for info in infos):
            yield from self._chained_frames(infos, outs or [None] * len(infos))
            return
        crew = self._crew_of() if outs is not None and len(infos) > 1 else None
        if crew is not None:  # read(): every frame at once, each into its rows
            todo = [(info, payload, out) for info, out in zip(infos, outs)
                    if (payload := self._payload(info)) is not None]
            # the longest payloads first (a frame's decoding time grows with its bytes): the
            # threads then end together, where frames in file order left one thread with the
            # noisier half of a series (1.5x instead of 1.9x on 2 threads, 4 frames)
            try:
                done = crew.map(lambda job: self._decoded(job[0], False, *job[1:]), todo,
                                weights=[len(payload) for _, payload, _ in todo])
            except DataError:
                # the error names the first damaged frame in file order, whichever thread
                # met which first: those before it decode again, in order, until it
                for info, payload, out in todo:
                    self._decoded(info, False, payload, out)
                raise
            for frame in done:
                if frame is not None:
                    yield frame
            return
        # frames() (bounded memory, the caller works on each frame as it comes): a window
        outs = outs if outs is not None else [None] * len(infos)
        pool = self._threads_pool() if len(infos) > 1 else None
        if pool is None:
            for info, out in zip(infos, outs):
                frame = self._decoded(info, out=out)
                if frame is not None:
                    yield frame
            return
        window: deque = deque()  # 2 x threads frames in flight: frames of unequal work
        for info, out in [*zip(infos, outs), (None, None)]:
            if info is not None:
                payload = self._payload(info)
                if payload is not None:
                    window.append(pool.submit(self._decoded, info, False, payload, out))
            while window and (info is None or len(window) >= 2 * self.threads):
                frame = window.popleft().result()
                if frame is not None:
                    yield frame

    def frame_times(self, info: FrameInfo) -> Times | None:
        """The times of one frame (decoding only its time part; a chained frame's, from the
        time parts of the frames before it up to their key frame)."""
        if not self.header.timed:
            return None
        k = info.index
        while k > 0 and self.frame_kind(self.index[k]) == FRAME_CHAINED:
            k -= 1
        chains: list | None = None
        frame = None
        for f in self.index[k:info.index + 1]:
            if self.frame_kind(f) == FRAME_KEY:
                chains = [None] * (len(self.header.channels) + 1)
            frame = self._decoded(f, times_only=True, chains=chains)
            if frame is None:
                chains = None
        return None if frame is None else frame.times

    def read(self, start: int | None = None, stop: int | None = None, *,
             time_from: float | None = None, time_to: float | None = None
             ) -> tuple[np.ndarray, np.ndarray | None]:
        """Samples ``start`` to ``stop - 1`` (sample indices; negative ones count from the
        end, as in a slice) whose time is in [``time_from``, ``time_to``] (either None: no
        limit; numbers, or seconds since 1970 for ISO times), decoding only the frames they
        overlap. Returns (values float64 (n, C), times or None: int64 for integer times,
        float64 for other numbers, datetime64 for ISO times, see :func:`~.times.to_array`)."""
        lo, hi, _ = slice(start, stop).indices(self.samples)
        timed_window = time_from is not None or time_to is not None
        if timed_window and not self.header.timed:
            raise ParameterError("the file has no times: select samples by index")
        t0 = -math.inf if time_from is None else float(time_from)
        t1 = math.inf if time_to is None else float(time_to)
        values, times = [], []
        first = max(0, bisect.bisect_right(self._starts, lo) - 1)
        wanted = []
        for info in self.index[first:]:
            if info.start >= hi:
                break
            if timed_window and info.time_min is not None and (info.time_max < t0
                                                                or info.time_min > t1):
                continue
            wanted.append(info)
        C = len(self.header.channels)
        whole = [lo <= info.start and info.start + info.samples <= hi for info in wanted]
        # several frames: one output array, the workers decode each whole frame straight into
        # its rows (no copy, no concatenation after); the frames cut by the range, and any
        # frame of a time window, are decoded apart and their samples copied in
        into = len(wanted) > 1 and not timed_window
        out = np.empty((sum(min(hi, i.start + i.samples) - max(lo, i.start) for i in wanted), C)
                       ) if into else None
        outs: list[np.ndarray | None] = [None] * len(wanted)
        if out is not None:
            for k, info in enumerate(wanted):
                if whole[k]:
                    outs[k] = out[info.start - lo:info.start - lo + info.samples]
        for frame in self._frames_of(wanted, outs):
            info = self.index[frame.index]
            a, b = max(lo - frame.start, 0), min(hi - frame.start, info.samples)
            v, t = frame.values[a:b], None if frame.times is None else frame.times[a:b]
            if timed_window:
                keep = (t.seconds >= t0) & (t.seconds <= t1)
                v, t = v[keep], t[keep]
            if out is not None:
                at = frame.start + a - lo
                if v.base is not out:
                    out[at:at + len(v)] = v
                v = out[at:at + len(v)]  # (salvage: a lost frame leaves its rows out below)
            values.append(v)
            times.append(t)
        if out is not None and sum(len(v) for v in values) == len(out):
            v = out
        else:
            v = (values[0] if len(values) == 1 else np.concatenate(values) if values
                 else np.empty((0, C)))
        if not self.header.timed:
            return v, None
        return v, to_array(Times.join(times)) if times else np.empty(0)

    def close(self) -> None:
        if getattr(self, "_pool", None) is not None:
            self._pool.shutdown()
            self._pool = None
        if getattr(self, "_crew", None) is not None:
            self._crew.close()
            self._crew = None
        if self._owns and self.fh is not None:
            self.fh.close()
        self.fh = None

    def __enter__(self) -> HippoReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_hippo(path: str | os.PathLike, *, salvage: bool = False,
               threads: int | None = None) -> HippoReader:
    """Open a ``.hippo`` file: its header and frame index are read (from the footer, or a
    scan of the frame heads); frames are decoded on demand, ``threads`` at once (default: the
    cores this process may use). Damage found while opening is a
    :class:`~hippo_cli.errors.DataError` unless ``salvage``.

    The path is opened once: header, index and frames all come from that handle, so a file
    replaced meanwhile (``hippo compress`` renames a new file into place) is read whole - the
    one that was opened. A FIFO or device is refused at once. A URL (``s3://b/x.hippo``,
    :mod:`hippo_cli.storage`) is copied by one GET to a local temporary and read from it."""
    path = str(path) if is_object_url(path) else os.fspath(path)  # a URL: its object
    return HippoReader(open_input(path, "a .hippo file"), path, salvage=salvage,
                       threads=threads)


class LiveFile:
    """A ``.hippo`` file on disk that a stream writes, checked and locked before any input
    is read.

    * The path is checked (:func:`~hippo_cli.atomic.check_output_path`: a missing or
      unwritable folder, a folder, one of the command's inputs) and locked
      (:class:`~hippo_cli.atomic.OutputLock`): a second writer is refused, naming this one.
    * An existing file is opened once, read and kept open: ``reader`` (salvage: its header,
      its intact frames, what is wrong at its end), and appended to through the same handle
      (:meth:`for_append`). An empty file or a torn header (left by hippo 0.2 when a stream was
      killed before its header was complete) counts as no file, with a note (``notes``);
      anything else that is not a ``.hippo`` file is refused, saying what to do.
    * A new file appears only with its complete header (:meth:`create`: a temporary,
      renamed into place), so it can always be resumed.
    * A device or FIFO is written through (``through``): nothing to lock, resume or rename;
      a FIFO nobody reads is refused at once.
    """

    def __init__(self, path: str | os.PathLike) -> None:
        from pathlib import Path

        if is_object_url(path):  # an object is written whole, once: it cannot grow
            raise ParameterError(f"{path}: a stream appends to its output, and an object in "
                                 "a store cannot be appended to; stream to a local file "
                                 "and copy it when done (hippo compress writes to a URL)")
        self.path = os.fspath(path)
        self.reader: HippoReader | None = None
        self.fh: IO[bytes] | None = None
        self.lock: OutputLock | None = None
        self.notes: list[str] = []  # what the user should know about the existing file
        check_output_path(Path(self.path))
        self.through = write_through_target(Path(self.path))
        if self.through:
            self.fh = open_through(self.path, "wb")
            return
        self.lock = OutputLock(self.path)
        try:
            self._open_existing()
        except BaseException:
            self.close()
            raise

    def _open_existing(self) -> None:
        try:
            fh = open(self.path, "r+b")  # kept open: read, then appended to in place
        except FileNotFoundError:
            return
        except IsADirectoryError:
            raise DataError(f"{self.path}: is a folder; give a file name") from None
        try:
            self.reader = HippoReader(fh, self.path, salvage=True, owns=False)
        except DataError as err:
            torn = _torn_header(fh)
            fh.close()
            if torn is None:  # something else: never overwritten, but say what to do
                raise DataError(f"{err}; hippo stream appends only to a .hippo file it "
                                "wrote: move that file away or choose another output") from None
            # a stream killed before its header was complete (hippo 0.2 created the file
            # first): it holds no sample, so it is started anew rather than blocking resume
            self.notes.append(f"{self.path}: {torn}, no samples: started anew")
            return
        self.fh = fh


    def create(self, head: bytes) -> IO[bytes]:
        """The new file, open for appending: it appears with ``head`` (its header) at once,
        written to a temporary, synced and renamed into place (over an empty file)."""
        if self.through:
            self.fh.write(head)
            return self.fh
        target = AtomicFile(self.path)
        try:
            target.fh.write(head)
            self.fh = target.publish()
        finally:
            target.abort()  # a no-op once published
        return self.fh

    def for_append(self) -> tuple[IO[bytes], tuple[int, list[FrameInfo]]]:
        """(the open file, positioned where new frames go; the resume point for
        :class:`HippoWriter`): a torn last frame and the footer of a closed stream are cut
        off."""
        end, intact = self.reader.resume_point()
        self.fh.truncate(end)
        self.fh.seek(end)
        return self.fh, (end, intact)

    def open_for(self, header: HippoHeader, append: bool
                 ) -> tuple[IO[bytes], tuple[int, list[FrameInfo]] | None]:
        """The handle and resume point of a :class:`HippoWriter` of ``header`` on this file."""
        if self.reader is None:
            if self.through:
                return self.fh, None
            head = header_bytes(header)
            return self.create(head), (len(head), [])
        if not append:
            raise DataError(f"{self.path}: exists (append=True continues it)")
        old = self.reader.header
        if old.version == ONE_FRAME:
            raise DataError(f"{self.path}: a file of one frame (format version 4, written whole "
                            "at level best) cannot be continued; write a new file")
        if (old.channels, old.max_errors, old.time_column, old.time_kind, old.whole,
                old.kind_codes()) != (header.channels, header.max_errors, header.time_column,
                                      header.time_kind, header.whole, header.kind_codes()):
            raise DataError(f"{self.path}: holds other channels, bounds, value kinds or times "
                            "than the header given; it cannot be continued with it")
        return self.for_append()

    def close(self) -> None:
        """Sync and close the file and drop the lock (idempotent)."""
        fh, self.fh = self.fh, None
        try:
            if fh is not None and not fh.closed:
                fh.flush()
                if not self.through:
                    os.fsync(fh.fileno())
        finally:
            if fh is not None:
                fh.close()
            if self.lock is not None:
                self.lock.release()


def _torn_header(fh: IO[bytes]) -> str | None:
    """What is left of a ``.hippo`` file whose writer died within its header (``"empty"``,
    ``"a torn header (K bytes)"``), or None if ``fh`` holds something else."""
    fh.seek(0)
    head = fh.read(_MAX_HEADER + 1)
    if not head:
        return "empty"
    if len(head) > _MAX_HEADER:
        return None
    if MAGIC.startswith(head) or (head[:4] == MAGIC and (
            len(head) < 6 or _parse_header(head) is None)):
        return f"a torn header ({len(head)} bytes)"
    return None


def thread_count(threads: int | None) -> int:
    """``threads``, or (None) the cores this process may use; a ParameterError if < 1."""
    if threads is None:
        try:
            return max(1, len(os.sched_getaffinity(0)))
        except (AttributeError, OSError):
            return max(1, os.cpu_count() or 1)
    if isinstance(threads, bool) or int(threads) != threads or threads < 1:
        raise ParameterError(f"threads must be a whole number >= 1, got {threads!r}",
                             option="threads")
    return int(threads)


def _bounds_of(max_error: float | list[float], C: int) -> list[float]:
    bounds = _floats("max_error", max_error)
    errors = [float(bounds)] * C if bounds.ndim == 0 else [float(e) for e in bounds.ravel()]
    if len(errors) != C:
        raise ParameterError(f"max_error: one bound for all channels or one per channel "
                             f"({C}), got {len(errors)}")
    for e in errors:
        if not (math.isfinite(e) and e > 0):
            raise ParameterError(f"max_error must be a finite number > 0, got {e!r}")
    return errors


def encode(values: np.ndarray, max_error: float | list[float], times: np.ndarray | None = None,
           *, level: str = "default", threads: int | None = None, names: list[str] | None = None,
           frame_samples: int | None = None) -> bytes:
    """A whole ``.hippo`` file in memory.

    Parameters
    ----------
    values : float64 (n,) or (n, C). NaN, +inf and -inf are kept exactly.
    max_error : absolute bound (> 0), one for all channels or one per channel (C,).
    times : (n,) sample times, stored exactly: integers (kept exact), finite floats, numpy
        datetime64 (ISO times), or a :class:`~.times.Times`; None for none.
    names : channel names (default ``value`` or ``col0, col1, ...``).
    level : the encoder's searches: "fast", "default" or "best" (ratio against speed). One
        decoder reads them all; where level best keeps its mixing codec (noisy series) a frame
        decodes at 5-17 M samples/s, about 10-20x slower than the others (docs/codec.md).
    threads : threads coding channels and frames at once (default: the cores this process
        may use); the bytes do not depend on it.
    frame_samples : samples per frame (default: as many as the format allows; at the fast
        level at most FAST_FRAME_SAMPLES, and at the default level a long window of samples
        cut into 2 or 4 frames of equal size where that costs little (:func:`frame_cuts`), so
        that threads share a long series).

    Every finite value of :func:`decode` of the result is within ``max_error`` of ``values``;
    every non-finite one is bit-identical. Thread-safe (no state outlives the call).
    """
    x = _floats("values", values)
    x2 = x[:, None] if x.ndim == 1 else x
    if x2.ndim != 2 or x2.shape[1] < 1:
        raise ParameterError(f"values must have shape (n,) or (n, C), got {x.shape}")
    C = x2.shape[1]
    errors = _bounds_of(max_error, C)
    names = list(names) if names is not None else (["value"] if C == 1 else
                                                   [f"col{i}" for i in range(C)])
    if len(names) != C:
        raise ParameterError(f"names: one per channel ({C}), got {len(names)}")
    header = HippoHeader(names, errors, whole=True)
    if times is not None:
        times = _times_of(times)
        header = header_with_times(names, errors, "time", times.templates[0] if times.iso
                                   and len(times) else None, whole=True)
    buf = io.BytesIO()
    w = HippoWriter(buf, header, frame_samples=frame_samples, level=level, threads=threads)
    try:
        w._add(x2, times, last=True)  # every frame coded at once, the last one too
        w.close()
    finally:
        w.stop_threads()
    return buf.getvalue()


def decode(data: bytes, *, threads: int | None = None) -> tuple[np.ndarray, np.ndarray | None]:
    """(values float64 (n, C), times (n,) or None) of a ``.hippo`` file held in memory
    (times as :meth:`HippoReader.read` gives them), decoded on ``threads`` threads (default:
    the cores this process may use). The values are float64 whatever value kinds the header
    records (:attr:`HippoHeader.kinds`; :func:`hippo_cli.read_hippo` gives integer columns
    back as integers). Damage is a :class:`~hippo_cli.errors.DataError`."""
    with HippoReader(io.BytesIO(bytes(data)), "<bytes>", threads=threads) as reader:
        return reader.read()
