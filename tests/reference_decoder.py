"""A second, independent decoder of ``.hippo`` files, written from ``docs/format.md`` alone.

It exists to check that the document is complete: ``tests/test_reference_decoder.py`` proves
that it agrees bit for bit with :func:`hippo_cli.decode`. It is plain Python, written the
obvious way and slow; integers are Python ints, wrapped to signed 64 bits wherever the
document's 64-bit arithmetic can overflow. Section names in the docstrings are those of the
document. Anything the document says a decoder MUST reject raises :class:`ValueError`.

Where the document is ambiguous or differs from what hippo's files hold (see the commit that
added this file):

* Header: each channel's name is followed by its bound E (name_0, E_0, name_1, E_1, ...).
* Footer: each frame's index entry is complete before the next one starts (size, samples,
  least time, greatest time), not F sizes, then F sample counts, then F time pairs.
* Decimal times are ``float64(v) / 10^k`` (v rounded to binary64 first), not one correctly
  rounded division: they differ for ``|v| > 2^53``.
* Exact codec kind 1: hippo ignored bytes after the end of the zlib stream (the document
  rejects them; hippo now does too).
* ``Q * step`` is ``float64(Q) * step`` (Q rounded to binary64 first for ``|Q| > 2^53``).
* hippo did not check ``n x C <= 2^22`` for the frames of a finished file's index (it does
  now).

The document has since been corrected on each of these points.

The Huffman codec (codec bytes 5 to 8) was added from the document alone, with these readings of
it where it leaves a choice:

* Layout: each context's S is followed by its own lengths (S_0, lengths_0, S_1, lengths_1,
  ...), not the eight S first.
* The low half of the last length byte for an odd S "is 0": another value is rejected as
  damage (the document states it without a MUST).
* A run symbol of class j > 21 is rejected when a token uses it; a code length given to one
  that no token uses is accepted (only lengths above 11 and the Kraft sum are checked).
* A varint S may be written in more bytes than it needs (up to 10), as everywhere.
"""

from __future__ import annotations

import itertools
import math
import re
import struct
import zlib

import numpy as np

MAGIC = b"\x89HPO"
END_MAGIC = b"\x89E"

MAX_CHANNELS = 4096
MAX_NAME = 1024
MAX_PATTERN = 64
MAX_FRAME_SAMPLES = 2**20
MAX_FRAME_VALUES = 2**22
MAX_PAYLOAD = 2**27
BLOCK = 4096
HISTORY = 4160

# Context numbers (section "Residuals and their contexts").
SET_OFFSETS = (0, 840, 1672)
H0, H1, H2 = 832, 833, 834
N_CONTEXTS = 2504

TAPS = {
    8: (8192, 39790, 40960, 23406, -1170, -21065, -24576),
    16: (0, 32768, 42130, 36189, 21785, 4501, -11343, -22686, -27727, -25926, -18004,
         -5941, 7022, 16384, 16384),
    32: (-32768, -7928, 10042, 22134, 29278, 32340, 32121, 29360, 24731, 18844, 12247,
         5422, -1212, -7299, -12548, -16730, -19683, -21305, -21560, -20475, -18143, -14716,
         -10415, -5522, -383, 4593, 8930, 12092, 13477, 12420, 8192),
}
SMOOTH_WINDOW = {1: 8, 2: 16, 3: 32}

# Section "Value kinds": code -> the kind's name.
VALUE_KINDS = {0: "float64", 1: "integer", 2: "float16", 3: "float32", 4: "int8", 5: "int16",
               6: "int32", 7: "int64", 8: "uint8", 9: "uint16", 10: "uint32", 11: "uint64"}


# ---------------------------------------------------------------------------------------
# Conventions
# ---------------------------------------------------------------------------------------


def i64(v: int) -> int:
    """``v`` wrapped to a signed 64-bit two's-complement integer."""
    v &= 0xFFFFFFFFFFFFFFFF
    return v - (1 << 64) if v >= 1 << 63 else v


def rsh(v: int, s: int) -> int:
    """``rsh(v, s)``: ``v`` for ``s = 0``, else ``(v + 2^(s-1)) >> s`` (round half up)."""
    return v if s == 0 else i64(v + (1 << (s - 1))) >> s


def unzigzag(u: int) -> int:
    """The signed 64-bit integer whose zigzag code is the unsigned ``u``."""
    return i64((u >> 1) ^ -(u & 1))


def bits_to_float(b: int) -> float:
    """The binary64 value of the IEEE-754 bit pattern ``b`` (unsigned or signed 64-bit)."""
    return struct.unpack("<d", struct.pack("<Q", b & 0xFFFFFFFFFFFFFFFF))[0]


def float_to_bits(x: float) -> int:
    """The IEEE-754 bit pattern of ``x`` as an unsigned 64-bit integer."""
    return struct.unpack("<Q", struct.pack("<d", x))[0]


class Reader:
    """Little-endian fields and varints from ``data[pos:end]``, each checked against the end."""

    def __init__(self, data: bytes, pos: int = 0, end: int | None = None):
        self.data = data
        self.pos = pos
        self.end = len(data) if end is None else end

    def left(self) -> int:
        """Bytes not yet read."""
        return self.end - self.pos

    def take(self, k: int, what: str = "field") -> bytes:
        """The next ``k`` bytes; rejects a field that runs past the end."""
        if k < 0 or k > self.left():
            raise ValueError(f"{what} runs past the end ({k} bytes, {self.left()} left)")
        b = self.data[self.pos : self.pos + k]
        self.pos += k
        return b

    def u8(self, what: str = "u8") -> int:
        """A ``u8``."""
        return self.take(1, what)[0]

    def u32(self, what: str = "u32") -> int:
        """A little-endian ``u32``."""
        return int.from_bytes(self.take(4, what), "little")

    def u64(self, what: str = "u64") -> int:
        """A little-endian ``u64``."""
        return int.from_bytes(self.take(8, what), "little")

    def f64(self, what: str = "f64") -> float:
        """A little-endian binary64."""
        return struct.unpack("<d", self.take(8, what))[0]

    def varint(self, limit: int, what: str = "varint") -> int:
        """A LEB128 ``varint``; rejects more than 10 bytes and a value above ``limit``."""
        value = 0
        for i in range(10):
            byte = self.u8(what)
            value |= (byte & 0x7F) << (7 * i)
            if not byte & 0x80:
                if value > limit:
                    raise ValueError(f"{what} {value} exceeds its limit {limit}")
                return value
        raise ValueError(f"{what}: varint of more than 10 bytes")

    def text(self, limit: int, what: str) -> str:
        """A ``varint + bytes`` UTF-8 string of at most ``limit`` bytes."""
        k = self.varint(min(limit, self.left()), f"{what} length")
        try:
            return self.take(k, what).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ValueError(f"{what} is not valid UTF-8") from exc


def crc32(data: bytes) -> int:
    """The CRC-32 of ISO-HDLC / zlib."""
    return zlib.crc32(data) & 0xFFFFFFFF


# ---------------------------------------------------------------------------------------
# The range coder
# ---------------------------------------------------------------------------------------


class Contexts:
    """The 2504 adaptive contexts of one coder: ``p`` (probability of a 0, units of 2^-15),
    the shift ``s`` and its limit (5 for zero flags and H0-H2, 6 for all others)."""

    def __init__(self) -> None:
        self.p = [16384] * N_CONTEXTS
        self.s = [1] * N_CONTEXTS
        self.limit = [6] * N_CONTEXTS
        for o in SET_OFFSETS:
            for z in range(52):
                self.limit[o + z] = 5
        for h in (H0, H1, H2):
            self.limit[h] = 5

    def adapt(self, ctx: int, bit: int) -> None:
        """Moves ``p`` towards the bit just coded, then grows the shift up to its limit."""
        s = self.s[ctx]
        if bit:
            self.p[ctx] -= self.p[ctx] >> s
        else:
            self.p[ctx] += (32768 - self.p[ctx]) >> s
        if s < self.limit[ctx]:
            self.s[ctx] = s + 1


class RangeDecoder:
    """The decoder of one adaptive binary range coder over a whole part (section "The range
    coder"): ``code``, ``range`` and ``used``, the bytes taken (the first 4 included)."""

    def __init__(self, data: bytes):
        self.data = data
        self.used = 0
        self.code = 0
        for _ in range(4):
            self.code = (self.code << 8) | self._next()
        self.range = 0xFFFFFFFF
        self.ctx = Contexts()

    def _next(self) -> int:
        """The next byte (``00`` past the end); stops once ``used`` exceeds the length by 4."""
        b = self.data[self.used] if self.used < len(self.data) else 0
        self.used += 1
        if self.used > len(self.data) + 4:
            raise ValueError("range coder reads more than 4 bytes past its part")
        return b

    def _normalise(self) -> None:
        """While ``range < 2^24``: shift in the next byte."""
        while self.range < 1 << 24:
            self.code = ((self.code << 8) | self._next()) & 0xFFFFFFFF
            self.range <<= 8

    def _split(self, bound: int) -> int:
        """The bit whose part of ``[0, range)`` holds ``code``: 0 below ``bound``."""
        if self.code < bound:
            self.range = bound
            return 0
        self.code -= bound
        self.range -= bound
        return 1

    def bit(self, ctx: int) -> int:
        """A modelled bit in context ``ctx``."""
        bit = self._split((self.range >> 15) * self.ctx.p[ctx])
        self.ctx.adapt(ctx, bit)
        self._normalise()
        return bit

    def bit12(self, p: int) -> int:
        """A modelled bit of the mixing codec: ``p`` the probability of a 1 in units of
        2^-12."""
        bit = self._split((self.range >> 12) * (4096 - p))
        self._normalise()
        return bit

    def direct(self) -> int:
        """A direct bit (probability one half)."""
        self.range >>= 1
        bit = 0
        if self.code >= self.range:
            bit = 1
            self.code -= self.range
        self._normalise()
        return bit

    def direct_bits(self, m: int) -> int:
        """An ``m``-bit direct value, most significant bit first."""
        v = 0
        for _ in range(m):
            v = (v << 1) | self.direct()
        return v

    def check_end(self) -> None:
        """The end check: ``used - 4 <= length <= used``."""
        if not self.used - 4 <= len(self.data) <= self.used:
            raise ValueError(
                f"range coder end check fails: {self.used} bytes used, part of {len(self.data)}"
            )


# ---------------------------------------------------------------------------------------
# Residuals and their contexts
# ---------------------------------------------------------------------------------------


def _sgn(v: int) -> int:
    """0, 1, 2 for zero, positive, negative."""
    return 0 if v == 0 else (1 if v > 0 else 2)


def _magnitude_class(v: int) -> int:
    """The class ``c`` of ``a1 + (a2 >> 1)``."""
    if v <= 2:
        return v
    if v <= 4:
        return 3
    if v <= 8:
        return 4
    if v <= 16:
        return 5
    if v <= 64:
        return 6
    return 7


class ContextSet:
    """One context set (0: samples and times, 1: slopes, 2: curvatures) and its state
    ``r1, r2, run, lg, lastsgn``."""

    def __init__(self, index: int):
        self.o = SET_OFFSETS[index]
        self.r1 = self.r2 = self.run = self.lg = self.lastsgn = 0

    def zero_context(self) -> int:
        """The context of the zero flag: ``o + z``."""
        a1, a2 = abs(self.r1), abs(self.r2)
        if self.run == 0 and a1 > 0:
            z = 4 * (min(a1, 3) - 1) + min(a2, 3)
        elif self.run == 1:
            z = 12 + min(a2, 3)
        else:
            z = 16 + min(self.lg, 35)
        return self.o + z

    def sign_context(self) -> int:
        """The context of the sign: ``o + 52 + g``."""
        if self.r1 == 0 and self.r2 == 0:
            g = 9 + self.lastsgn
        else:
            g = 3 * _sgn(self.r1) + _sgn(self.r2)
        return self.o + 52 + g

    def magnitude_context(self, t: int) -> int:
        """The context of bit ``t`` of the unary magnitude: ``o + 64 + 64 c + t``."""
        c = _magnitude_class(abs(self.r1) + (abs(self.r2) >> 1))
        return self.o + 64 + 64 * c + t

    def first_bit_context(self, k: int) -> int:
        """The context of the first bit below the leading one: ``o + 576 + 2k``."""
        return self.o + 576 + 2 * k

    def second_bit_context(self, k: int, b: int) -> int:
        """The context of the second bit below the leading one: ``o + 704 + 2k + b``."""
        return self.o + 704 + 2 * k + b

    def residual(self, rd: RangeDecoder) -> int:
        """Decodes one residual ``r`` and updates the set's state."""
        r = 0
        if rd.bit(self.zero_context()):
            negative = rd.bit(self.sign_context())
            k = 0
            while rd.bit(self.magnitude_context(k)):
                k += 1
                if k > 62:
                    raise ValueError("residual: unary run of more than 62 ones")
            v = 1 << k
            if k >= 1:
                b = rd.bit(self.first_bit_context(k))
                v |= b << (k - 1)
                if k >= 2:
                    v |= rd.bit(self.second_bit_context(k, b)) << (k - 2)
                    if k >= 3:
                        v |= rd.direct_bits(k - 2)
            r = -v if negative else v
        self.update(r)
        return r

    def update(self, r: int) -> None:
        """The state update after a residual."""
        if r == 0:
            self.run += 1
            if self.run & (self.run - 1) == 0:
                self.lg = 0 if self.run == 1 else self.lg + 1
        else:
            self.lastsgn = 1 + (r < 0)
            self.run = self.lg = 0
        self.r2, self.r1 = self.r1, r


# ---------------------------------------------------------------------------------------
# Channel payload, E > 0: the grid codec
# ---------------------------------------------------------------------------------------


RAW = "raw"


def _predict_smooth(H: list[int], j: int, W: int, sh: int) -> int:
    """The smooth prediction of sample ``j`` from the history ``H`` (fine units)."""
    acc = 0
    for lag, g in enumerate(TAPS[W], start=1):
        acc += g * (H[j - lag] - H[j - lag - 1])
    acc = i64(acc + (1 << 15)) >> 16
    return rsh(i64(H[j - 1] + acc), sh)


class LineState:
    """The state ``qb, A, V, C`` of the line (pred 4) and curve (pred 5) predictors."""

    def __init__(self, qb: int):
        self.qb = qb
        self.A = self.V = self.C = 0


def _decode_interpolation(
    rd: RangeDecoder, sets: list[ContextSet], H: list[int], b0: int, L: int, nh: int,
    allzero: int,
) -> list[int]:
    """The grid indices ``W[1 .. L]`` of an interpolation block (pred 6, lm 3, sh 0)."""
    limit = 1 << 44
    w0 = H[b0 - 1] if nh > 0 else 0
    if abs(w0) >= limit:
        raise ValueError("interpolation: |W[0]| >= 2^44")
    nav = 0
    for k in range(min(nh, HISTORY)):
        if abs(H[b0 - 1 - k]) >= limit:
            break
        nav += 1
    Wd: dict[int, int] = {0: w0}
    for k in range(1, nav):
        Wd[-k] = H[b0 - 1 - k]

    def residual() -> int:
        r = 0 if allzero else sets[0].residual(rd)
        if abs(r) >= limit:
            raise ValueError("interpolation: |r| >= 2^44")
        return r

    def store(u: int, value: int) -> None:
        if abs(value) >= limit:
            raise ValueError("interpolation: |W[u]| >= 2^44")
        Wd[u] = value

    store(L, Wd[0] + 4 * residual())
    N = 1
    while N < L:
        N *= 2
    s = N // 2
    while s >= 1:
        unit = 4 if s >= 64 else 8
        for u in range(s, L, 2 * s):
            a = u - s
            if u + s <= L:
                right3 = u + 3 * s <= L
                left3 = u - 3 * s > -nav
                if right3 and left3:
                    P = (9 * (Wd[a] + Wd[u + s]) - Wd[u - 3 * s] - Wd[u + 3 * s] + 8) >> 4
                elif left3:
                    P = (6 * Wd[a] + 3 * Wd[u + s] - Wd[u - 3 * s] + 4) >> 3
                elif right3:
                    P = (3 * Wd[a] + 6 * Wd[u + s] - Wd[u + 3 * s] + 4) >> 3
                else:
                    P = (Wd[a] + Wd[u + s] + 1) >> 1
            else:
                d = L - a
                P = Wd[a] + ((Wd[L] - Wd[a]) * s + (d >> 1)) // d
            store(u, P + unit * residual())
        s //= 2
    return [Wd[u] for u in range(1, L + 1)]


def decode_block_header(rd: RangeDecoder, prev_cfg: object) -> object:
    """A block header: the block's configuration, ``RAW`` or ``cfg = 8 lm + pred``."""
    if not rd.bit(H0):  # CHANGED
        if prev_cfg is None:
            raise ValueError("grid codec: CHANGED = 0 in the first block")
        return prev_cfg
    if rd.bit(H1):  # RAW
        return RAW
    cfg = rd.direct_bits(5)
    lm, pred = cfg >> 3, cfg & 7
    if pred == 7 or (pred == 6 and lm != 3):
        raise ValueError(f"grid codec: invalid configuration lm={lm} pred={pred}")
    return cfg


class GridState:
    """What a chained frame's grid-codec part continues (section "Frames", kind 1): the
    contexts, the three context sets, the history (the last 4160 values and nh), the previous
    block's configuration and the line state."""

    def __init__(self, ctx: Contexts, sets: list, hist: list[int], nh: int, prev_cfg: object,
                 line: object) -> None:
        self.ctx, self.sets, self.hist, self.nh = ctx, sets, hist, nh
        self.prev_cfg, self.line = prev_cfg, line


def decode_grid(payload: bytes, n: int, E: float, state: GridState | None = None
                ) -> tuple[list[int], GridState]:
    """The bit patterns of the ``n`` samples of a grid-codec channel payload (``E > 0``),
    continuing ``state`` (a chained frame) unless None, and the state after it."""
    if len(payload) == 0:
        raise ValueError("grid codec: empty payload")
    if len(payload) > 48 * n + 64 * (n // BLOCK + 2):
        raise ValueError("grid codec: payload longer than its limit")
    rd = RangeDecoder(payload)
    sets = [ContextSet(0), ContextSet(1), ContextSet(2)]
    hist: list[int] = []
    nh = 0
    prev_cfg: object = None
    line: LineState | None = None
    if state is not None:
        rd.ctx, sets, hist, nh = state.ctx, state.sets, state.hist, state.nh
        prev_cfg, line = state.prev_cfg, state.line
    off = len(hist)  # H[off + j]: sample j of this frame; before it, the carried history
    H = hist + [0] * n
    out = [0] * n
    for b0 in range(0, n, BLOCK):
        L = min(BLOCK, n - b0)
        cfg = decode_block_header(rd, prev_cfg)
        same_as_previous = cfg == prev_cfg
        prev_cfg = cfg

        if cfg == RAW:
            for j in range(b0, b0 + L):
                hi = rd.direct_bits(32)
                lo = rd.direct_bits(32)
                out[j] = (hi << 32) | lo
            nh = 0
            line = None
            continue

        lm, pred = cfg >> 3, cfg & 7
        step = (2.0 * E) / 2**lm
        sh = 3 - lm
        allzero = rd.bit(H2)
        h_prev = H[off + b0 - 1] if nh > 0 else 0

        if pred == 6:
            W = _decode_interpolation(rd, sets, H, off + b0, L, nh, allzero)
            for i, q in enumerate(W):
                H[off + b0 + i] = q
                out[b0 + i] = float_to_bits(float(q) * step)
        else:
            if pred in (4, 5) and not (same_as_previous and line is not None):
                line = LineState(rsh(h_prev, sh))
            for i in range(L):
                j = b0 + i
                nh_j = min(nh + i, HISTORY)
                if pred in (4, 5):
                    st = line
                    st.V = i64(st.V + st.C)
                    st.A = i64(st.A + st.V)
                    if abs(st.A) >= 1 << 60 or abs(st.V) >= 1 << 58:
                        raise ValueError("line/curve: |A| >= 2^60 or |V| >= 2^58")
                    P = i64(st.qb + (i64(st.A + (1 << 23)) >> 24))
                elif pred in SMOOTH_WINDOW and nh_j >= SMOOTH_WINDOW[pred]:
                    P = _predict_smooth(H, off + j, SMOOTH_WINDOW[pred], sh)
                else:  # level, or smooth without enough history
                    P = rsh(H[off + j - 1], sh) if nh_j > 0 else 0
                r = 0 if allzero else sets[0].residual(rd)
                Q = i64(P + r)
                if abs(Q) >= 1 << 56:
                    raise ValueError("grid codec: |Q| >= 2^56")
                if pred in (4, 5) and r != 0:
                    e = sets[1].residual(rd)
                    if abs(e) > 1 << 34:
                        raise ValueError("line/curve: |e| > 2^34")
                    s = rsh(st.V, 12) + e
                    if abs(s) > 1 << 33:
                        raise ValueError("line/curve: |s| > 2^33")
                    if pred == 5:
                        f = sets[2].residual(rd)
                        if abs(f) > 1 << 33:
                            raise ValueError("curve: |f| > 2^33")
                        st.C += f
                        if abs(st.C) > 1 << 32:
                            raise ValueError("curve: |C| > 2^32")
                    st.qb, st.A, st.V = Q, 0, s << 12
                H[off + j] = Q << sh
                out[j] = float_to_bits(float(Q) * step)
        nh += L
    rd.check_end()
    return out, GridState(rd.ctx, sets, H[-HISTORY:], min(nh, HISTORY), prev_cfg, line)


# ---------------------------------------------------------------------------------------
# Channel payload, E = 0: the exact codec
# ---------------------------------------------------------------------------------------


def decode_exact(payload: bytes, n: int) -> list[int]:
    """The bit patterns of the ``n`` samples of an exact-codec channel payload (``E = 0``)."""
    r = Reader(payload)
    kind = r.u8("exact codec kind")
    if kind == 0:
        if len(payload) != 9:
            raise ValueError("exact codec kind 0: not 9 bytes")
        return [r.u64()] * n
    if kind == 1:
        # "it MUST inflate to exactly 8 n bytes and end there: no byte may follow"
        raw = inflate_whole(payload[1:], 8 * n + 1, "exact codec")
        if len(raw) != 8 * n:
            raise ValueError("exact codec: the zlib stream is not exactly 8 n bytes")
        return [int.from_bytes(raw[8 * i : 8 * i + 8], "little") for i in range(n)]
    raise ValueError(f"exact codec: unknown kind {kind}")


# ---------------------------------------------------------------------------------------
# The time codec and the time part
# ---------------------------------------------------------------------------------------


def _big_value(rd: RangeDecoder) -> int:
    """A big value: 6 direct bits giving its bit length m, then m direct bits."""
    m = rd.direct_bits(6)
    if m > 32:
        return (rd.direct_bits(m - 32) << 32) | rd.direct_bits(32)
    return rd.direct_bits(m)


def decode_time_codec(data: bytes, n: int, version: int = 2, chain: TimeChain | None = None
                      ) -> list[int]:
    """The ``n`` integer values of the time codec (its mode byte first); mode 2 only in
    ``version`` 3; mode 3 only in a chained frame (``chain`` given), continuing the last two
    values of its chain, which must be at the part's scale."""
    r = Reader(data)
    mode = r.u8("time codec mode")
    if mode == 1:
        if r.left() != 8 * n:
            raise ValueError("time codec mode 1: wrong length")
        return [i64(r.u64()) for _ in range(n)]
    if mode not in (0, 2, 3) or (mode >= 2 and version < 3) or (mode == 3 and chain is None):
        raise ValueError(f"time codec: unknown mode {mode} (version {version})")
    if len(data) - 1 > 16 * n + 64:  # the limit is on the coded stream, after the mode byte
        raise ValueError("time codec: longer than its limit")
    rd = RangeDecoder(data[1:])
    if mode == 2:
        return _cadence_values(rd, n)
    if mode == 3:
        if chain.values is None or chain.values[0] != chain.scale:
            raise ValueError("time codec mode 3 without the last two times at this scale")
        _, t_2, t_1 = chain.values
        allzero = rd.bit(H2)
        residuals = ContextSet(0)
        t = []
        for _ in range(n):
            dd = 0 if allzero else residuals.residual(rd)
            t.append(i64(t_1 + i64(i64(t_1 - t_2) + dd)))
            t_2, t_1 = t_1, t[-1]
        rd.check_end()
        return t
    t = [unzigzag(_big_value(rd))]
    if n > 1:
        d = unzigzag(_big_value(rd))
        t.append(i64(t[0] + d))
    if n > 2:
        allzero = rd.bit(H2)
        residuals = ContextSet(0)
        for _ in range(n - 2):
            dd = 0 if allzero else residuals.residual(rd)
            d = i64(d + dd)
            t.append(i64(t[-1] + d))
    rd.check_end()
    return t


def _cadence_values(rd: RangeDecoder, n: int) -> list[int]:
    """Mode 2 of the time codec (version 3): t_0, the unit q, steps (G = 0) or a grid with
    f fractional bits (G = 1) at the cadence C, and n - 1 residuals in set 0."""
    t0 = unzigzag(_big_value(rd))
    t = [t0]
    if n == 1:
        rd.check_end()
        return t
    q = _big_value(rd)
    if q == 0:
        raise ValueError("time codec mode 2: unit 0")
    G = rd.direct_bits(1)
    f = 0
    if G == 1:
        f = rd.direct_bits(6)
        if f > 62:
            raise ValueError("time codec mode 2: more than 62 fractional bits")
    zC = _big_value(rd)
    if G == 1 and zC >= 1 << 43:
        raise ValueError("time codec mode 2: a grid cadence of 2^42 or more")
    C = unzigzag(zC)
    allzero = rd.bit(H2)
    residuals = ContextSet(0)
    h = abs(rsh(C, f)) >> 1
    base = a = s = 0
    for _ in range(n - 1):
        r = 0 if allzero else residuals.residual(rd)
        if G == 0:
            s = i64(s + C + r)
        else:
            a = i64(a + C)
            s = i64(base + rsh(a, f) + r)
            if h > 0 and abs(r) > h:
                base, a = s, 0
        t.append(i64(t0 + q * s))
    rd.check_end()
    return t


class TimeChain:
    """What a chained frame's time part continues: ``values``, the scale (the kind and its
    digits or tick unit) and the last two integer values of the time parts before, or None;
    ``scale``: the scale of the part being decoded (set while it is)."""

    def __init__(self) -> None:
        self.values: tuple | None = None
        self.scale: tuple | None = None

    def after(self, scale: tuple | None, ints: list[int] | None) -> None:
        """The chain after a part of integers ``ints`` at ``scale`` (None: no integers)."""
        before = self.values
        if ints is not None and len(ints) >= 2:
            self.values = (scale, ints[-2], ints[-1])
        elif ints is not None and len(ints) == 1 and before is not None and before[0] == scale:
            self.values = (scale, before[2], ints[0])
        else:
            self.values = None


def decode_time_part(data: bytes, n: int, header: Header, chain: TimeChain | None = None,
                     chained: bool = False) -> list:
    """The ``n`` times of a time part: Python ints (kind 0), floats (kinds 1 and 2), or the
    ISO text each time is written as (kinds 3 and 4; version 1's ISO times, kinds 0-2, in
    the header's pattern). ``chain``: the time chain, continued by the time codec's mode 3 if
    the frame is ``chained``, and updated."""
    holder = chain if chain is not None else TimeChain()
    if not chained:  # a key frame's times start a new chain
        holder.values = None
    use = holder if chained else None
    r = Reader(data)
    kind = r.u8("time kind")
    if header.version >= 2 and header.time_kind == 2 and kind not in (3, 4):
        raise ValueError("ISO times in a number kind")
    if header.version < 2 and kind > 2:
        raise ValueError("version 1 has time kinds 0 to 2 only")
    if kind == 3:
        return decode_iso_ticks(data, r, n, header.version, holder, chained)
    if kind == 4:
        text = inflate_whole(data[1:], 66 * n + 1, "text times")
        try:
            lines = text.decode("ascii").split("\n")
        except UnicodeDecodeError as exc:
            raise ValueError("text times: not ASCII") from exc
        if len(lines) != n + 1 or lines[-1] != "":
            raise ValueError("text times: not n lines")
        holder.after(None, None)
        return [canonical_iso(line) for line in lines[:-1]]
    if kind == 2:
        if r.left() != 8 * n:
            raise ValueError("raw times: wrong length")
        times = [r.f64() for _ in range(n)]
        if not all(math.isfinite(x) for x in times):
            raise ValueError("raw times: a non-finite time")
        holder.after(None, None)
    elif kind == 0:
        holder.scale = (0, 0)
        times = list(decode_time_codec(data[1:], n, header.version, use))
        holder.after((0, 0), times)
    elif kind == 1:
        k = r.u8("time digits")
        if not 1 <= k <= 9:
            raise ValueError(f"decimal times: {k} digits")
        holder.scale = (1, k)
        values = decode_time_codec(data[2:], n, header.version, use)
        holder.after((1, k), values)
        times = [float(v) / float(10**k) for v in values]
    else:
        raise ValueError(f"time part: unknown kind {kind}")
    if header.version < 2 and header.time_kind == 2:  # seconds, at microseconds
        template = template_of_pattern(header.pattern)
        out = []
        for t in times:
            us = round(float(t) * 1e6)
            out.append(write_iso(template, us // 10**6, (us % 10**6) * 1000))
        return out
    return times


# ---------------------------------------------------------------------------------------
# ISO times
# ---------------------------------------------------------------------------------------

TEMPLATE = re.compile(r"####-##-##(?:([T ])##:##(?::##(?:([.,])(#{1,9}))?)?)?"
                      r"(Z|[+-]\d\d(?:\d\d|:\d\d)?)?")


def zone_offset(zone: str) -> int:
    """Seconds east of UTC of a zone as written (none and Z: 0)."""
    if zone in ("", "Z"):
        return 0
    digits = zone[1:].replace(":", "")
    hh, mm = int(digits[:2]), int(digits[2:] or 0)
    if hh > 23 or mm > 59:
        raise ValueError(f"zone {zone!r}: out of range")
    return (hh * 3600 + mm * 60) * (1 if zone[0] == "+" else -1)


def parse_template(template: str) -> tuple[re.Match, int]:
    """(the match of an ISO template, its zone's offset); ValueError if it is not one."""
    m = TEMPLATE.fullmatch(template)
    if m is None:
        raise ValueError(f"not an ISO template: {template!r}")
    return m, zone_offset(m.group(4) or "")


FIELD_WIDTHS = {"Y": 4, "M": 2, "D": 2, "h": 2, "m": 2, "s": 2}


def field_runs(template: str) -> list[tuple[str, int]]:
    """The runs of a field template, in order: (letter, length) for a field, (character, 0)
    for a literal character; ValueError if it is not a field template."""
    if not template.isascii():
        raise ValueError(f"not a time template: {template!r}")
    runs: list[tuple[str, int]] = []
    for ch, group in itertools.groupby(template):
        length = len(list(group))
        if ch in FIELD_WIDTHS or ch == "f":
            runs.append((ch, length))
        elif ch.isdigit() or ch in "#%":
            raise ValueError(f"not a time template: {template!r}")
        else:
            runs += [(ch, 0)] * length
    fields = [ch for ch, length in runs if length]
    if len(set(fields)) != len(fields):
        raise ValueError(f"a field twice in {template!r}")
    for ch, length in runs:
        if length and (length != FIELD_WIDTHS[ch] if ch != "f" else length > 9):
            raise ValueError(f"a field of the wrong width in {template!r}")
    have = set(fields)
    if not {"Y", "M", "D"} <= have:
        raise ValueError(f"no date in {template!r}")
    for needs, needed in (("m", "h"), ("s", "m"), ("f", "s")):
        if needs in have and needed not in have:
            raise ValueError(f"{needs} without {needed} in {template!r}")
    return runs


def fraction_digits(template: str) -> int:
    """How many fraction digits a template (ISO or field) writes."""
    m = TEMPLATE.fullmatch(template)
    if m is not None:
        return len(m.group(3) or "")
    return sum(length for ch, length in field_runs(template) if ch == "f")


def write_fields(template: str, seconds: int, nanos: int) -> str:
    """A field template filled with the instant's UTC fields (field templates have no zone)."""
    days, rest = divmod(seconds, 86400)
    y, mo, d = civil_from_days(days)
    if not 0 <= y <= 9999:
        raise ValueError("a time outside the years 0000-9999")
    values = {"Y": y, "M": mo, "D": d, "h": rest // 3600, "m": rest // 60 % 60,
              "s": rest % 60}
    out = []
    for ch, length in field_runs(template):
        if not length:
            out.append(ch)
        elif ch == "f":
            out.append(f"{nanos:09d}"[:length])
        else:
            out.append(f"{values[ch]:0{length}d}")
    return "".join(out)


def inflate_whole(data: bytes, limit: int, what: str) -> bytes:
    """``data`` as one whole zlib stream (RFC 1950) that inflates to at most ``limit``
    bytes, with no byte after its end; ValueError naming ``what`` otherwise."""
    z = zlib.decompressobj()
    try:
        raw = z.decompress(data, limit)
    except zlib.error as exc:
        raise ValueError(f"{what}: bad zlib stream ({exc})") from exc
    if not z.eof or z.unconsumed_tail or z.unused_data:
        raise ValueError(f"{what}: not one whole zlib stream of its size")
    return raw


def days_from_civil(y: int, m: int, d: int) -> int:
    y -= m <= 2
    era = y // 400
    yoe = y - era * 400
    doy = (153 * (m + (-3 if m > 2 else 9)) + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def civil_from_days(z: int) -> tuple[int, int, int]:
    z += 719468
    era = z // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    d = doy - (153 * mp + 2) // 5 + 1
    m = mp + (3 if mp < 10 else -9)
    return yoe + era * 400 + (m <= 2), m, d


def write_iso(template: str, seconds: int, nanos: int) -> str:
    """The text of the instant ``seconds`` s + ``nanos`` ns after the epoch in ``template``:
    the local time (instant plus the zone's offset) fills the ``#`` left to right with the
    digits of the year (4), month, day, and, as far as the template has them, hour, minute,
    second and the fraction's leading digits."""
    if TEMPLATE.fullmatch(template) is None:
        return write_fields(template, seconds, nanos)
    m, offset = parse_template(template)
    days, rest = divmod(seconds + offset, 86400)
    y, mo, d = civil_from_days(days)
    if not 0 <= y <= 9999:
        raise ValueError("an ISO time outside the years 0000-9999")
    digits = f"{y:04d}{mo:02d}{d:02d}"
    if m.group(1) is not None:
        digits += f"{rest // 3600:02d}{rest // 60 % 60:02d}"
        if template[16:17] == ":":
            digits += f"{rest % 60:02d}"
        if m.group(3):
            digits += f"{nanos:09d}"[: len(m.group(3))]
    filled = iter(digits)
    return "".join(next(filled) if ch == "#" else ch for ch in template)


def canonical_iso(text: str) -> str:
    """An ISO time as written, checked: its template is accepted and its fields name an
    existing date and time (a time of kind 4 is its own text)."""
    template = re.sub(r"\d", "#", text)
    zone = re.search(r"(Z|[+-]\d\d(?:\d\d|:\d\d)?)$", text)
    if zone and zone.start() >= 10:
        template = re.sub(r"\d", "#", text[: zone.start()]) + zone.group(0)
    m, _ = parse_template(template)
    y, mo, d = int(text[0:4]), int(text[5:7]), int(text[8:10])
    leap = y % 4 == 0 and (y % 100 != 0 or y % 400 == 0)
    month_days = [31, 29 if leap else 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
    if not (1 <= mo <= 12 and 1 <= d <= month_days[mo - 1]):
        raise ValueError(f"text time {text!r}: no such date")
    if m.group(1) is not None:
        hh, mi = int(text[11:13]), int(text[14:16])
        ss = int(text[17:19]) if len(template) > 16 and template[16] == ":" else 0
        if hh > 23 or mi > 59 or ss > 59:
            raise ValueError(f"text time {text!r}: no such time")
    return text


def decode_iso_ticks(data: bytes, r: Reader, n: int, version: int = 2,
                     chain: TimeChain | None = None, chained: bool = False) -> list[str]:
    """Kind 3: the unit, the templates, the runs, the ticks (continuing ``chain`` in a
    ``chained`` frame, and updating it)."""
    k = r.u8("tick unit")
    if k > 9:
        raise ValueError("ticks finer than a nanosecond")
    F = r.varint(n, "template count")
    if F < 1:
        raise ValueError("no template")
    templates = []
    for _ in range(F):
        raw = r.take(r.varint(64, "template length"), "template")
        if not raw.isascii():
            raise ValueError("template not ASCII")
        t = raw.decode("ascii")
        if fraction_digits(t) > k:
            raise ValueError("a template finer than the ticks")
        if t in templates:
            raise ValueError("a repeated template")
        templates.append(t)
    which: list[int] = []
    for _ in range(r.varint(n, "run count")):
        length = r.varint(n, "run length")
        index = r.varint(F - 1, "template index")
        if length < 1 or len(which) + length > n:
            raise ValueError("runs that do not cover n")
        which += [index] * length
    if len(which) != n:
        raise ValueError("runs that do not cover n")
    if chain is not None:
        chain.scale = (3, k)
    ticks = decode_time_codec(data[r.pos :], n, version, chain if chained else None)
    if chain is not None:
        chain.after((3, k), ticks)
    return [write_iso(templates[w], t // 10**k, (t % 10**k) * 10 ** (9 - k))
            for w, t in zip(which, ticks)]


def template_of_pattern(pattern: str) -> str:
    """Version 1: the template of a header pattern ``<separator><unit><zone>``."""
    if pattern[:1] == "D":
        return "####-##-##" + pattern[1:]
    sep = "T" if pattern[:1] == "T" else " "
    unit = {"m": "", "s": ":##", "3": ":##.###", "6": ":##.######"}[pattern[1:2]]
    return "####-##-##" + sep + "##:##" + unit + pattern[2:]


# ---------------------------------------------------------------------------------------
# Channel payload, codec byte 1 to 4: the mixing codec
# ---------------------------------------------------------------------------------------

_S33 = (1, 2, 3, 6, 10, 16, 27, 45, 73, 120, 194, 310, 488, 747, 1101, 1546, 2047, 2549, 2994,
        3348, 3607, 3785, 3901, 3975, 4024, 4050, 4068, 4079, 4085, 4089, 4092, 4093, 4094)
U64 = (1 << 64) - 1


def _sq(d: int) -> int:
    w, i = d & 127, (d >> 7) + 16
    return (_S33[i] * (128 - w) + _S33[i + 1] * w + 64) >> 7


_SQ = {d: _sq(d) for d in range(-2047, 2048)}
_ST = [next((d for d in range(-2047, 2048) if _SQ[d] >= v), 2047) for v in range(4096)]
_REC = [2**17 // (2 * c + 3) for c in range(256)]


def _mix(h: int, v: int) -> int:
    y = (((h ^ v) & U64) * 0x9E3779B97F4A7C15) & U64
    return y ^ (y >> 29)


def _clamp(v: int, lo: int, hi: int) -> int:
    return min(max(v, lo), hi)


class _Mixer:
    """The six models' counters (dicts: unset entries are at their start; the match model's
    counters are model 6's), the mixer, and the match model's expected bits for the sample
    being decoded (``expect``, cleared once a bit differs)."""

    def __init__(self, T: int) -> None:
        self.T = T
        self.q = [dict() for _ in range(7)]
        self.c = [dict() for _ in range(7)]
        self.w = [[16384] * 7 + [0] for _ in range(192)]
        self.expect: list[int] = []
        self.length = 0  # the match's len
        self.coded = 0  # bits coded so far for this sample

    def bucket(self, h: int, key: int, size: int) -> int:
        return (_mix(h, key) >> (64 - self.T)) & ~(size - 1)

    def _adapt(self, m: int, ent: int, b: int) -> None:
        q, c = self.q[m].get(ent, 2**21), self.c[m].get(ent, 0)
        self.q[m][ent] = _clamp(q + (((2**22 * b - q) * _REC[c]) >> 16), 0, 2**22 - 1)
        self.c[m][ent] = c + 1 if c < 255 else c

    def bit(self, rd: RangeDecoder, entries: list[int], ws: int) -> int:
        """A modelled bit: ``entries[m]``, model m's counter; ``ws`` the weight set without
        the match state."""
        j = self.coded
        match = 2 * min(self.length, 15) + self.expect[j] if j < len(self.expect) else None
        s = [_ST[self.q[m].get(e, 2**21) >> 10] for m, e in enumerate(entries)]
        s.append(0 if match is None else _ST[self.q[6].get(match, 2**21) >> 10])
        s.append(256)
        g = 0 if self.length == 0 else (64 if self.length < 16 else 128)
        w = self.w[g + ws]
        d = _clamp(sum(wj * sj for wj, sj in zip(w, s)) >> 16, -2047, 2047)
        p = _clamp(_SQ[d], 1, 4095)
        b = rd.bit12(p)
        e = 4096 * b - p
        for k in range(8):
            w[k] = _clamp(w[k] + ((s[k] * e) >> 10), -(2**26), 2**26)
        for m, ent in enumerate(entries):
            self._adapt(m, ent, b)
        if match is not None:
            self._adapt(6, match, b)
            if b != self.expect[j]:
                self.expect = []
        self.coded += 1
        return b


def _residual_bits(r: int) -> list[int]:
    """The bits of residual r in the order the mixing codec codes them (direct bits aside)."""
    if r == 0:
        return [0]
    v = abs(r)
    k = v.bit_length() - 1
    bits = [1, int(r < 0)] + [1] * k + [0]
    return bits + [(v >> b) & 1 for b in range(k - 1, k - 1 - min(k, 4), -1)]


def decode_mixing(payload: bytes, n: int, E: float, lm: int) -> list[int]:
    """The bit patterns of the n samples of a mixing-codec payload on grid lm."""
    if len(payload) > 48 * n + 64:
        raise ValueError("mixing payload too long")
    step = (2.0 * E) / 2**lm
    T = min(20, max(12, n.bit_length() + 2))
    mx = _Mixer(T)
    rd = RangeDecoder(payload)
    Qs = [0] * 6  # Q_{i-1} .. Q_{i-6}
    Q: list[int] = []  # every index so far
    MT: dict[int, int] = {}
    ptr = 0
    r1 = r2 = 0
    out = []
    for i in range(n):
        h = [_mix(1, 16 * min(abs(r1), 15) + min(abs(r2), 15)), _mix(2, Qs[0])]
        for j in (1, 2, 3):
            h.append(_mix(h[-1], Qs[j]))
        h.append(_mix(_mix(h[4], Qs[4]), Qs[5]))
        slot = h[5] >> (64 - T)
        if mx.length == 0 and MT.get(slot, 0) > 0:
            at = MT[slot] - 1
            m = 0
            while m < 32 and at - 1 - m >= 0 and Q[at - 1 - m] == Q[i - 1 - m]:
                m += 1
            if m >= 6:
                mx.length, ptr = m, at
        mx.expect = _residual_bits(Q[ptr] - Qs[0]) if mx.length > 0 else []
        mx.coded = 0
        head = [mx.bucket(hm, 0, 16) for hm in h]
        a = min(abs(r1), 15)
        r = 0
        if mx.bit(rd, head, a):
            sgn = mx.bit(rd, [b + 1 for b in head], 16 + a)
            k = 0
            while mx.bit(rd, [b + 2 + 7 * sgn + min(k, 6) for b in head], 32 + a):
                k += 1
                if k > 62:
                    raise ValueError("more than 62 unary ones")
            v = 1
            if k >= 1:
                mant = [mx.bucket(hm, 1 + 2 * k + sgn, 16) for hm in h]
                for _ in range(min(k, 4)):
                    v = 2 * v + mx.bit(rd, [b + v for b in mant], 48 + a)
                if k > 4:
                    v = (v << (k - 4)) | rd.direct_bits(k - 4)
            r = -v if sgn else v
        q = Qs[0] + r
        if abs(q) >= 2**56:
            raise ValueError("a grid index beyond 2^56")
        out.append(float_to_bits(float(q) * step))
        if mx.length > 0:
            if Q[ptr] == q:
                mx.length, ptr = min(mx.length + 1, 65535), ptr + 1
            else:
                mx.length = 0
        MT[slot] = i + 1
        Q.append(q)
        Qs = [q] + Qs[:5]
        r1, r2 = r, r1
    rd.check_end()
    return out


# ---------------------------------------------------------------------------------------
# Channel payload, codec byte 5 to 8: the Huffman codec
# ---------------------------------------------------------------------------------------

HUF_CONTEXTS = 8
HUF_SYMBOLS = 168
HUF_MAX_LENGTH = 11
HUF_MAX_RUN_CLASS = 21


def huffman_codes(lengths: list[int]) -> dict[tuple[int, int], int]:
    """The canonical code of one context ("Codes"): ``{(length, code word): symbol}`` for the
    symbols of nonzero length. Rejects a length above 11 and lengths that oversubscribe the
    code (``sum 2^(11 - l) > 2^11``)."""
    if any(length > HUF_MAX_LENGTH for length in lengths):
        raise ValueError(f"Huffman codec: a code length above {HUF_MAX_LENGTH}")
    coded = sorted((length, sym) for sym, length in enumerate(lengths) if length)
    if sum(2 ** (HUF_MAX_LENGTH - length) for length, _ in coded) > 2**HUF_MAX_LENGTH:
        raise ValueError("Huffman codec: code lengths oversubscribe the code (Kraft)")
    codes = {}
    code = prev = 0
    for k, (length, sym) in enumerate(coded):
        # the first code is all zeros; each next is the one before plus 1, shifted left by
        # the difference of their lengths
        code = 0 if k == 0 else (code + 1) << (length - prev)
        codes[(length, code)] = sym
        prev = length
    return codes


class _BitReader:
    """The bits of ``data[start:]``, most significant bit of each byte first."""

    def __init__(self, data: bytes, start: int):
        self.data = data
        self.start = start
        self.pos = 0  # bits read

    def bit(self) -> int:
        byte = self.start + (self.pos >> 3)
        if byte >= len(self.data):
            raise ValueError("Huffman codec: the payload ends inside a token")
        b = (self.data[byte] >> (7 - (self.pos & 7))) & 1
        self.pos += 1
        return b

    def bits(self, m: int) -> int:
        """``m`` bits as an unsigned integer, the first read the most significant."""
        v = 0
        for _ in range(m):
            v = (v << 1) | self.bit()
        return v


def decode_huffman(payload: bytes, n: int, E: float, lm: int = 0) -> list[int]:
    """The bit patterns of the n samples of a Huffman-codec payload (codec byte 5 + lm) of
    bound ``E > 0`` on grid lm."""
    if len(payload) > 9 * n + 704:
        raise ValueError("Huffman payload longer than 9 n + 704 bytes")
    r = Reader(payload)
    # "Layout": for each context in turn, S and then its S lengths, two to a byte
    tables = []
    for _ in range(HUF_CONTEXTS):
        S = r.varint(HUF_SYMBOLS, "Huffman code lengths S")
        packed = r.take((S + 1) // 2, "Huffman code lengths")
        lengths = []
        for byte in packed:
            lengths += [byte >> 4, byte & 15]
        if S % 2 and lengths[-1] != 0:
            raise ValueError("Huffman codec: the unused low half of the last length byte is not 0")
        codes = huffman_codes(lengths[:S])
        # every proper prefix of a code word: a prefix outside them is a hole at once
        prefixes = {(k, word >> (length - k)) for length, word in codes for k in range(1, length)}
        tables.append((codes, prefixes))
    bits = _BitReader(payload, r.pos)
    step = (2.0 * E) / 2**lm
    out: list[int] = []
    q = 0
    ctx = 0  # the context of the first symbol
    while len(out) < n:
        codes, prefixes = tables[ctx]
        code = length = 0
        while True:
            code = (code << 1) | bits.bit()
            length += 1
            if (length, code) in codes:
                sym = codes[(length, code)]
                break
            if (length, code) not in prefixes:
                raise ValueError(f"Huffman codec: a code word no symbol of context {ctx} has")
        j, t = sym // 3 + 1, sym % 3
        extra = bits.bits(j - 1) + 2 ** (j - 1)
        if t == 0:
            if j > HUF_MAX_RUN_CLASS:
                raise ValueError(f"Huffman codec: a run symbol of class {j} > 21")
            if len(out) + extra > n:
                raise ValueError("Huffman codec: a run reaches past sample n - 1")
            out += [float_to_bits(float(q) * step)] * extra
            ctx = 0
        else:
            q += extra if t == 1 else -extra
            if abs(q) >= 2**56:
                raise ValueError("Huffman codec: a grid index beyond 2^56")
            out.append(float_to_bits(float(q) * step))
            ctx = min(j, 7)
    # "Ending": the bits take exactly the bytes left, and the padding bits are 0
    if len(payload) - r.pos != (bits.pos + 7) // 8:
        raise ValueError("Huffman codec: bytes left over after the last token")
    while bits.pos % 8:
        if bits.bit():
            raise ValueError("Huffman codec: padding bits that are not 0")
    return out


def grid_index(x: float, step: float, E: float) -> int:
    """The index Q nearest ``x / step`` whose value ``float64(Q) * step`` is within E of the
    finite ``x`` (ValueError if none of the three nearest is)."""
    if not math.isfinite(x / step):
        raise ValueError(f"no grid index within E of {x!r}")
    q0 = round(x / step)
    ok = [q for q in (q0, q0 - 1, q0 + 1) if abs(float(q) * step - x) <= E]
    if not ok:
        raise ValueError(f"no grid index within E of {x!r}")
    return min(ok, key=lambda q: abs(float(q) * step - x))


def huffman_lengths(freq: dict[int, int], limit: int = HUF_MAX_LENGTH) -> dict[int, int]:
    """Optimal code lengths of at most ``limit`` bits for the symbols of ``freq`` (symbol ->
    count > 0), by package-merge; a single symbol gets length 1."""
    if len(freq) == 1:
        return {sym: 1 for sym in freq}
    leaves = sorted((f, [sym]) for sym, f in freq.items())
    items = leaves
    for _ in range(limit - 1):
        packages = [(items[i][0] + items[i + 1][0], items[i][1] + items[i + 1][1])
                    for i in range(0, len(items) - 1, 2)]
        items = sorted(leaves + packages, key=lambda item: item[0])
    lengths = {sym: 0 for sym in freq}
    for _, syms in items[: 2 * len(freq) - 2]:
        for sym in syms:
            lengths[sym] += 1
    return lengths


def huffman_tokens(x, E: float, lm: int = 0) -> list[tuple[int, int, int]]:
    """The tokens of the finite samples ``x`` (n,) on grid lm (step 2E / 2^lm): ``(symbol,
    extra bits, their count)``, runs maximal (split only past the largest run class)."""
    step = (2.0 * E) / 2**lm
    tokens = []
    prev = zeros = 0

    def flush_run() -> None:
        nonlocal zeros
        while zeros:
            z = min(zeros, 2**HUF_MAX_RUN_CLASS - 1)
            j = z.bit_length()
            tokens.append((3 * (j - 1), z - 2 ** (j - 1), j - 1))
            zeros -= z

    for value in x:
        q = grid_index(float(value), step, E)
        if abs(q) >= 2**56:
            raise ValueError("a grid index beyond 2^56")
        r, prev = q - prev, q
        if r == 0:
            zeros += 1
            continue
        flush_run()
        v = abs(r)
        j = v.bit_length()
        if j > 56:
            raise ValueError("a residual of 2^56 or more")
        tokens.append((3 * (j - 1) + (1 if r > 0 else 2), v - 2 ** (j - 1), j - 1))
    flush_run()
    return tokens


def encode_huffman(x, E: float, lm: int = 0) -> bytes:
    """A Huffman-codec payload (codec byte 5 + lm) of the finite samples ``x`` (n,), bound
    E > 0, on grid lm, written plainly from the document: every sample's value within E (the
    index nearest), maximal runs, optimal lengths of at most 11 bits per context, canonical
    codes."""
    if len(x) == 0 or not E > 0:
        raise ValueError("the Huffman codec needs n >= 1 samples and E > 0")
    tokens = huffman_tokens(x, E, lm)
    contexts = []
    ctx = 0
    for sym, _, _ in tokens:
        contexts.append(ctx)
        ctx = 0 if sym % 3 == 0 else min(sym // 3 + 1, 7)
    out = bytearray()
    codes = []
    for c in range(HUF_CONTEXTS):
        freq: dict[int, int] = {}
        for (sym, _, _), tc in zip(tokens, contexts):
            if tc == c:
                freq[sym] = freq.get(sym, 0) + 1
        lengths_of = huffman_lengths(freq) if freq else {}
        S = max(lengths_of, default=-1) + 1
        lengths = [lengths_of.get(sym, 0) for sym in range(S)] + [0]
        out += _varint_bytes(S)
        out += bytes(16 * lengths[2 * m] + lengths[2 * m + 1] for m in range((S + 1) // 2))
        codes.append({sym: (length, word) for (length, word), sym
                      in huffman_codes(lengths[:S]).items()})
    bits = []  # '0'/'1' strings, joined at the end
    for (sym, extra, m), c in zip(tokens, contexts):
        length, word = codes[c][sym]
        bits.append(format(word, f"0{length}b"))
        if m:
            bits.append(format(extra, f"0{m}b"))
    text = "".join(bits)
    text += "0" * (-len(text) % 8)
    return bytes(out) + int(text, 2).to_bytes(len(text) // 8, "big")


def _varint_bytes(v: int) -> bytes:
    """The LEB128 varint of ``v >= 0``."""
    out = bytearray()
    while True:
        byte, v = v & 0x7F, v >> 7
        out.append(byte | (0x80 if v else 0))
        if not v:
            return bytes(out)


# ---------------------------------------------------------------------------------------
# Channel part
# ---------------------------------------------------------------------------------------


def decode_channel_part(data: bytes, n: int, E: float, specials: bool, coders: bool = False,
                        state: GridState | None = None) -> tuple[list[int], GridState | None]:
    """The bit patterns of the ``n`` samples of a channel part: its special runs (a frame
    with the ``specials`` flag) laid over its codec's values (named by a codec byte in a frame
    with the ``coders`` flag); ``state``: what a chained frame's grid-codec part continues.
    Also returns the state a chained frame after it continues (None: it starts anew)."""
    runs = []
    r = Reader(data)
    if specials:
        S = r.varint(n, "special runs")
        end = 0
        for _ in range(S):
            gap = r.varint(n, "run gap")
            length = r.varint(n, "run length")
            bits = r.u64("run bits")
            start = end + gap
            end = start + length
            if length == 0:
                raise ValueError("special run of length 0")
            if end > n:
                raise ValueError("special run reaches past n")
            if (bits >> 52) & 0x7FF != 0x7FF:
                raise ValueError("special run of a finite value")
            runs.append((start, end, bits))
    codec = r.u8("codec byte") if coders else 0
    payload = data[r.pos :]
    after = None
    if codec == 0 and E > 0:
        out, after = decode_grid(payload, n, E, state)
    elif codec == 0:
        out = decode_exact(payload, n)
    elif 1 <= codec <= 4 and E > 0:
        out = decode_mixing(payload, n, E, codec - 1)
    elif 5 <= codec <= 8 and E > 0:
        out = decode_huffman(payload, n, E, codec - 5)
    else:
        raise ValueError(f"unknown codec byte {codec}")
    for start, end, bits in runs:
        out[start:end] = [bits] * (end - start)
    return out, after


# ---------------------------------------------------------------------------------------
# Header, frames, footer
# ---------------------------------------------------------------------------------------


class Header:
    """The decoded header: version, flags, the channels' names, bounds and value kinds
    (names of the table, "float64" without the flag), the time column."""

    def __init__(self, data: bytes):
        r = Reader(data)
        if r.take(4, "magic") != MAGIC:
            raise ValueError("not a .hippo file (bad magic)")
        self.version = r.u8("version")
        if self.version not in (1, 2, 3, 4):
            raise ValueError(f"unknown version {self.version}: written by a newer hippo?")
        self.flags = r.u8("flags")
        allowed = 0b001 if self.version == 1 else 0b111
        if self.flags & ~allowed:
            raise ValueError(f"unknown header flags {self.flags:#x}")
        self.timed = bool(self.flags & 1)
        self.whole = bool(self.flags & 2)
        if self.version == 4 and not self.whole:
            raise ValueError("version 4 (one frame) without the flag whole")
        has_kinds = bool(self.flags & 4)
        self.C = r.varint(MAX_CHANNELS, "channels")
        if self.C < 1:
            raise ValueError("no channels")
        self.names: list[str] = []
        self.E: list[float] = []
        self.kinds: list[str] = []
        for _ in range(self.C):
            self.names.append(r.text(MAX_NAME, "channel name"))
            e = r.f64("max error")
            if not math.isfinite(e) or e < 0:
                raise ValueError(f"invalid max error {e!r}")
            self.E.append(e)
            # "Value kinds": one u8 after the bound, 0 to 11; absent: 0 (float64)
            kind = r.u8("value kind") if has_kinds else 0
            if kind not in VALUE_KINDS:
                raise ValueError(f"unknown value kind {kind}")
            self.kinds.append(VALUE_KINDS[kind])
        if self.timed:
            self.time_name = r.text(MAX_NAME, "time column name")
            self.time_kind = r.u8("time kind")
            if self.time_kind not in (1, 2):
                raise ValueError(f"unknown time kind {self.time_kind}")
            pattern = r.take(r.varint(min(MAX_PATTERN, r.left()), "pattern length"), "pattern")
            if not pattern.isascii():
                raise ValueError("time pattern is not ASCII")
            self.pattern = pattern.decode("ascii")
        body = r.pos
        # "Version 4": no header CRC (the file's CRC-32 at its end covers the header)
        if self.version != 4 and r.u32("header CRC") != crc32(data[:body]):
            raise ValueError("header CRC does not match")
        self.size = r.pos


def decode_frame(data: bytes, pos: int, header: Header, states: list | None = None,
                 first: bool = True) -> tuple[int, list[list[int]], list]:
    """The frame at ``pos``: its end, its channels' bit patterns and its times (or None).
    Rejects a frame cut short, a CRC mismatch, a bad kind and parts that do not fit."""
    r = Reader(data, pos)
    n = r.varint(MAX_FRAME_SAMPLES, "frame samples")
    if n < 1:
        raise ValueError(f"frame at {pos}: 0 samples (a damaged footer?)")
    if n * header.C > MAX_FRAME_VALUES:
        raise ValueError(f"frame at {pos}: n x C > 2^22")
    length = r.varint(MAX_PAYLOAD, "payload length")
    heads = data[pos : r.pos]
    crc = r.u32("frame CRC")
    payload = r.take(length, f"payload of the frame at {pos}")
    if crc32(heads + payload) != crc:
        raise ValueError(f"frame at {pos}: CRC does not match")
    channels, times = decode_payload(payload, n, pos, header, states, first)
    return r.pos, channels, times


def decode_payload(payload: bytes, n: int, pos: int, header: Header, states: list | None,
                   first: bool) -> tuple[list[list[int]], list | None]:
    """A frame's payload of n samples (the frame at ``pos``): its channels' bit patterns and
    its times (or None). Rejects a bad kind and parts that do not fit."""
    p = Reader(payload)
    specials = coders = chained = False
    if header.version >= 2:
        flags = p.u8("frame flags")
        kinds = (0, 1) if header.version == 3 else (0,)  # version 4: its one frame is a key
        if flags & 0x0F not in kinds or flags & (0xC0 if header.version >= 3 else 0xE0):
            raise ValueError(f"frame at {pos}: unknown frame kind or flags")
        specials = bool(flags & 0x10)
        coders = bool(flags & 0x20)
        chained = flags & 0x0F == 1
    if chained and (first or states is None):
        raise ValueError(f"frame at {pos}: a chained frame without a frame before it")
    before = states if chained else [None] * header.C
    count = header.C + header.timed
    parts = []
    for i in range(count):
        if i < count - 1:
            k = p.varint(p.left(), "part length")
            parts.append(p.take(k, "part"))
        else:
            parts.append(p.take(p.left(), "part"))
    times = None
    if header.timed:
        if states is not None and len(states) == header.C:
            states.append(TimeChain())
        chain = states[header.C] if states is not None else None
        times = decode_time_part(parts.pop(0), n, header, chain, chained)
    decoded = [decode_channel_part(part, n, header.E[c], specials, coders, before[c])
               for c, part in enumerate(parts)]
    if states is not None:
        states[:header.C] = [after for _, after in decoded]
    return [out for out, _ in decoded], times


def read_footer(data: bytes, header: Header) -> list[tuple[int, int]] | None:
    """The index ``[(size, samples), ...]`` of a finished version-2 file, or None if the file
    has no valid trailer (not closed). Each entry is size, samples and (if timed) the least
    and greatest time, one frame after the other. Rejects a footer that does not parse."""
    if header.version < 2 or len(data) < header.size + 2 or data[-2:] != END_MAGIC:
        return None
    # the footer offset: a varint whose bytes are stored backwards before the end magic
    offset = shift = 0
    i = len(data) - 3
    while True:
        if i < header.size or shift > 63:
            return None
        byte = data[i]
        offset |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            break
        i -= 1
    crc_at = i - 4  # the CRC-32 just before the offset's bytes
    if not header.size <= offset < crc_at:
        return None
    if crc32(data[offset:crc_at] + data[i:-2]) != int.from_bytes(data[crc_at:i], "little"):
        return None
    r = Reader(data, offset, crc_at)
    if r.u8("end marker") != 0:
        raise ValueError("footer: end marker is not 00")
    F = r.varint(r.left(), "frame count")
    entries = []
    b_prev = 0
    for _ in range(F):
        size = r.varint(offset - header.size, "frame size")
        samples = r.varint(MAX_FRAME_SAMPLES, "frame samples")
        if samples < 1:
            raise ValueError("footer: a frame of 0 samples")
        entries.append((size, samples))
        if header.timed:
            pair = []
            for _ in range(2):
                b_prev = i64(b_prev + unzigzag(r.varint(2**64 - 1, "index time")))
                t = bits_to_float(b_prev)
                if not math.isfinite(t):
                    raise ValueError("footer: a non-finite time")
                pair.append(t)
            if pair[0] > pair[1]:
                raise ValueError("footer: least time greater than the greatest")
    if r.left() != 0:
        raise ValueError("footer: bytes left between the index and the footer offset")
    if header.size + sum(size for size, _ in entries) != offset:
        raise ValueError("footer: the frames do not end at the footer offset")
    return entries


def one_frame(data: bytes, header: Header) -> tuple[int, bytes]:
    """``(n, payload)`` of a version-4 file ("Version 4": header, n, payload, CRC-32 of every
    byte before it; no footer). Rejects a CRC mismatch and n or a payload length outside the
    limits."""
    if len(data) < header.size + 4 or crc32(data[:-4]) != int.from_bytes(data[-4:], "little"):
        raise ValueError("one-frame file: CRC does not match")
    r = Reader(data[:-4], header.size)
    n = r.varint(MAX_FRAME_SAMPLES, "frame samples")
    if n < 1 or n * header.C > MAX_FRAME_VALUES:
        raise ValueError("one-frame file: samples outside the limits")
    payload = r.take(r.left(), "payload")
    if not 1 <= len(payload) <= MAX_PAYLOAD:
        raise ValueError("one-frame file: payload length outside the limits")
    return n, payload


def decode(data: bytes) -> tuple[np.ndarray, list | None]:
    """``(values float64 (n, C), times or None)`` of a whole ``.hippo`` file, following
    "Reading a file" and hippo's rules (without salvage); times as
    :func:`decode_time_part` gives them."""
    data = bytes(data)
    header = Header(data)
    if header.version == 4:
        n, payload = one_frame(data, header)
        columns, t = decode_payload(payload, n, header.size, header, [None] * header.C, True)
        return _values(columns, header), (t if header.timed else None)
    index = read_footer(data, header)
    columns: list[list[int]] = [[] for _ in range(header.C)]
    times: list = []
    pos = header.size
    states: list = [None] * header.C  # each channel's state after the frame before
    if index is not None:
        for i, (size, samples) in enumerate(index):
            end, channels, t = decode_frame(data, pos, header, states, first=i == 0)
            if end - pos != size or len(channels[0]) != samples:
                raise ValueError(f"frame {i} disagrees with the index")
            for col, ch in zip(columns, channels):
                col.extend(ch)
            times.extend(t or [])
            pos = end
    else:
        while pos < len(data):
            if data[pos] == 0:
                raise ValueError(f"damaged footer at {pos}")
            pos, channels, t = decode_frame(data, pos, header, states, first=pos == header.size)
            for col, ch in zip(columns, channels):
                col.extend(ch)
            times.extend(t or [])
        if header.whole:
            raise ValueError("the file was written whole but has no footer")
    return _values(columns, header), (times if header.timed else None)


def _values(columns: list[list[int]], header: Header) -> np.ndarray:
    """float64 (n, C) of the channels' bit patterns, one list per channel."""
    n = len(columns[0])
    return np.array(columns, dtype=np.uint64).reshape(header.C, n).T.copy().view(np.float64)
