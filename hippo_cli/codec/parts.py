"""The channel parts of a ``.hippo`` frame (the bounded-error samples of one channel, with its
non-finite values kept exactly), and the frame's varints and parts. (Time parts:
:mod:`.times`.)

Byte layouts are normative in ``docs/format.md`` (sections "Channel part" and "Time part").
Every function here is pure: no state survives a call, so threads may share nothing but the
scratch a caller hands in.
"""

from __future__ import annotations

import struct

import numpy as np

from .channel import ChannelDecoder, ChannelEncoder, level_options


# --------------------------------------------------------------------------- varints
def varint(v: int) -> bytes:
    """Unsigned LEB128."""
    out = bytearray()
    while v >= 0x80:
        out.append((v & 0x7F) | 0x80)
        v >>= 7
    out.append(v)
    return bytes(out)


class Cursor:
    """Reads a bytes object with bounds checks; every failure is a ``ValueError`` (the
    container turns it into a :class:`~hippo_cli.errors.DataError` naming frame and offset).
    """

    def __init__(self, data: bytes | memoryview, pos: int = 0) -> None:
        self.data = data
        self.pos = pos

    def take(self, n: int) -> bytes:
        if n < 0 or self.pos + n > len(self.data):
            raise ValueError("truncated")
        out = bytes(self.data[self.pos:self.pos + n])
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

    def left(self) -> int:
        return len(self.data) - self.pos


def split_parts(payload: bytes, count: int) -> list[bytes]:
    """The ``count`` parts of a frame payload: each but the last with a varint length."""
    cur = Cursor(payload)
    out = []
    for _ in range(count - 1):
        out.append(cur.take(cur.varint(len(payload))))
    out.append(bytes(payload[cur.pos:]))
    return out


def join_parts(parts: list[bytes]) -> bytes:
    """The inverse of :func:`split_parts`."""
    return b"".join(varint(len(p)) + p for p in parts[:-1]) + parts[-1]


# --------------------------------------------------------------------------- specials
_EXP = np.uint64(0x7FF0000000000000)


def split_specials(x: np.ndarray) -> tuple[np.ndarray, list[tuple[int, int, int]]]:
    """Non-finite values (NaN of any payload, +inf, -inf) out of float64 ``x`` (n,).

    Returns (x with each non-finite value replaced by the last finite value before it, or
    the first finite value after it at the start, or 0.0 if there is none; runs) where a run
    is (start, length, IEEE-754 bit pattern) of consecutive samples with one pattern.
    """
    bad = ~np.isfinite(x)
    if not bad.any():
        return x, []
    n = len(x)
    bits = x.view(np.uint64)
    where = np.flatnonzero(bad)
    # a run ends where the next bad sample is not adjacent or has another bit pattern
    cut = np.flatnonzero((np.diff(where) != 1) | (bits[where[1:]] != bits[where[:-1]])) + 1
    starts = where[np.r_[0, cut]]
    ends = where[np.r_[cut - 1, len(where) - 1]] + 1
    runs = [(int(s), int(e - s), int(bits[s])) for s, e in zip(starts, ends)]
    good = np.flatnonzero(~bad)
    filled = x.copy()
    if len(good) == 0:
        filled[:] = 0.0
        return filled, runs
    last = np.maximum.accumulate(np.where(bad, -1, np.arange(n)))
    last[last < 0] = good[0]
    filled[bad] = x[last[bad]]
    return filled, runs


def specials_bytes(runs: list[tuple[int, int, int]]) -> bytes:
    out = bytearray(varint(len(runs)))
    end = 0
    for start, length, bits in runs:
        out += varint(start - end) + varint(length) + struct.pack("<Q", bits)
        end = start + length
    return bytes(out)


def read_specials(cur: Cursor, n: int) -> list[tuple[int, int, int]]:
    """Runs of non-finite values of a channel of ``n`` samples (checked: inside the frame,
    non-overlapping, each pattern non-finite)."""
    count = cur.varint(n)
    runs, end = [], 0
    for _ in range(count):
        start = end + cur.varint(n)
        length = cur.varint(n)
        (bits,) = struct.unpack("<Q", cur.take(8))
        if length < 1 or start + length > n:
            raise ValueError("a run of non-finite values outside the frame")
        if bits & 0x7FF0000000000000 != 0x7FF0000000000000:
            raise ValueError("a run of non-finite values holds a finite value")
        runs.append((start, length, bits))
        end = start + length
    return runs


def put_specials(x: np.ndarray, runs: list[tuple[int, int, int]]) -> None:
    view = x.view(np.uint64)
    for start, length, bits in runs:
        view[start:start + length] = np.uint64(bits)


# --------------------------------------------------------------------------- channel parts
#: The codec byte of a channel part in a frame with the flag ``coders`` (format version 3):
#: the grid codec (or, for a bound of 0, the exact codec), the mixing codec on grid lm =
#: byte - CODER_MIXING (0 to 3), or the Huffman codec on grid lm = byte - CODER_HUFFMAN.
CODER_GRID, CODER_MIXING, CODER_HUFFMAN = 0, 1, 5

#: Level fast's probe: the grid codec codes the first PROBE_FIRST samples of a channel part, or
#: if that makes less than PROBE_BYTES, blocks of PROBE samples from the start until it has
#: written PROBE_BYTES (so that what any part pays once, the coder's start and end, counts
#: little) or coded an eighth of the part; it codes the whole part only if it was PROBE_GAIN
#: times shorter there than the Huffman codec's tokens: the grid codec takes about 3 times as
#: long a sample on noisy series (docs/performance.md), so a smaller gain does not pay for its
#: time at this level.
PROBE_FIRST, PROBE, PROBE_BYTES, PROBE_GAIN = 1024, 4096, 128, 2

#: Level best's later mixing candidates (:meth:`ChannelCoder._candidate`) stop at a mark
#: where their bytes pass the first candidate's, scaled to the length to beat, by this factor.
OWN_MARGIN = 33 / 32
#: ... plus this many bytes: a small payload's bytes at a mark are a handful, too few to judge
#: by (BTCUSD at 5%: without them, a run-level candidate of 54 bytes was stopped against one
#: of 59, its scaled marks 5, 14 and 19 bytes)
STOP_SLACK = 16

#: the grids of level best's run-level candidates (:meth:`ChannelCoder._run_levels`)
RUN_GRIDS = (2, 3)


class ChannelCoder:
    """The channel coders of one writer or reader (never shared between threads): one grid
    encoder for every bound (its scratch is the memory that counts) per compression level,
    created on first use; decoders hold no scratch.

    ``level``: "fast", "default" or "best" (:data:`.channel.LEVELS`), the encoder's searches;
    the decoder is the same for all. ``verified``: the level's encoder checks the bound of every
    sample it codes itself (no re-decode needed to keep the promise)."""

    def __init__(self, level: str = "default") -> None:
        self.level = level
        self._options = level_options(level)
        self.verified = all(o.get("check") for o in self._options)
        self._grids: list = []
        self._huffman = None  # the Huffman encoder's scratch (level fast), made on first use

    def encoders(self, eps: float) -> list:
        """The encoders of bound ``eps``: one per option set of the level (exact: one)."""
        if eps == 0:
            return [ChannelEncoder(0.0)]
        if not self._grids:
            self._grids = [ChannelEncoder(eps, **o) for o in self._options]
        for enc in self._grids:
            enc.set_bound(eps)
        return self._grids

    def decoder(self, eps: float):
        return ChannelDecoder(eps)

    def encode(self, x: np.ndarray, eps: float, runs: list | None,
               coders: bool = False) -> bytes:
        """The channel part of ``x`` float64 (n,), finite, every value within ``eps``;
        led by ``runs`` of non-finite values (:func:`split_specials`) unless None (a frame
        whose channels hold none). ``coders`` (a frame with the flag, format version 3): the
        payload is led by its codec's byte, and the mixing codec is tried too (the shorter
        kept)."""
        return self.encode_part(x, eps, runs, coders)[0]

    def encode_part(self, x: np.ndarray, eps: float, runs: list | None, coders: bool = False,
                    chain=None, chained: bool = False) -> tuple[bytes, object]:
        """:meth:`encode`, continuing ``chain`` (the grid codec's state after the channel's
        part in the frame before: a chained frame) unless None; also returns the state a
        chained frame after this one continues (None: it starts anew). ``chained``: a frame
        of a chained stream, whose next frame continues this part's state (level best then
        keeps the mixing codec, which ends the chain, only where it saves more than the
        chain is worth: :meth:`_chain_worth`)."""
        if coders and eps > 0 and len(x) and self.level == "fast":
            body, state = self._encode_fast(x, eps, chain)
            return (b"" if runs is None else specials_bytes(runs)) + body, state
        best, state, mixed, marks = None, None, None, np.zeros(5, np.int64)
        for k, enc in enumerate(self.encoders(eps)):
            if k == 1 and mixed is not None and len(mixed) * 20 < len(best) * 19:
                # the grid's harder searches gain 0-4% on the first: they do not win against
                # a mixing payload 5% shorter (level best's encoding time)
                break
            if eps > 0:
                enc.start(chain)
                enc.push(x)
                payload, end = enc.flush_state()
            else:
                enc.push(x)
                payload, end = enc.flush(), None
            if best is None or len(payload) < len(best):
                best, state = payload, end
            if k == 0 and coders and eps > 0 and len(x):
                from . import huffman, mixing

                first_search = len(payload)  # continuing chain: what _chain_worth compares

                # the grid of the indices: the one whose indices the Huffman codec's costing
                # finds cheaper, the 2 eps grid (nearest) or the eps grid (held: slow drifts
                # and prices at coarse bounds, where runs of one index are what repeats)
                if self._huffman is None:
                    self._huffman = huffman.Scratch()
                pick = huffman.shortest(x, eps, scratch=self._huffman)
                lm, hold = (0, False) if pick is None else pick[2:]
                first = (mixing.held_indices if hold else mixing.grid_indices)(x, eps, lm)
                # (stopped once as long as the grid's payload, with the mode-2 search's 4% ahead)
                if first is not None:
                    mixed = mixing.encode(x, eps, lm, shorter_than=len(best) * 25 // 24 + 1,
                                          indices=first, marks=marks, pace=1)
        if coders and eps > 0 and len(x):
            own = self._own_values(x, eps, best, chain, mixed, lm, first, marks)
            if own is not None:
                mixed, lm = own
            levels = self._run_levels(x, eps, best, mixed, marks)
            if levels is not None:
                mixed, lm = levels
        if coders:
            tag = CODER_GRID
            keep = mixed is not None and len(mixed) < len(best)
            if keep and chained:  # it ends the chain: it must save more than that is worth
                keep = len(mixed) < len(best) - self._chain_worth(x, eps, chain, first_search)
            if keep:
                best, tag, state = mixed, CODER_MIXING + lm, None
            best = bytes([tag]) + best
        return (b"" if runs is None else specials_bytes(runs)) + best, state

    def _chain_worth(self, x: np.ndarray, eps: float, chain, warm: int) -> int:
        """What a chain is worth to the grid codec's part of ``x`` float64 (n,), eps > 0:
        the bytes continuing the state before saves against starting anew (0 if none). A part
        that keeps the mixing codec ends its stream's chain - the next frame's grid codec
        starts anew - so in a chained stream the mixing codec must save more than that,
        measured here, the nearest to the next frame: on this part continuing ``chain``
        (``warm``: the bytes of the grid codec's first search of it, as :meth:`encode_part`
        coded it), or, where this part starts anew (None), on its second half continuing its
        first (``warm`` then unused)."""
        if chain is None:
            half = len(x) // 2
            if half < 1:
                return 0
            chain = self._grid_part(x[:half], eps, None)[1]
            x = x[half:]
            if chain is None:
                return 0
            warm = len(self._grid_part(x, eps, chain)[0])
        return max(0, len(self._grid_part(x, eps, None)[0]) - warm)

    def _own_values(self, x: np.ndarray, eps: float, grid: bytes, chain, mixed: bytes | None,
                    lm: int, first: np.ndarray | None,
                    marks: np.ndarray) -> tuple[bytes, int] | None:
        """Level best's second mixing candidate for ``x`` float64 (n,): the grid codec's own
        values (its payload ``grid`` decoded, continuing ``chain``), coded by the mixing codec
        on the coarsest grid that holds them all. Within the bound the grid codec picks values
        that repeat (a level held, a line's points), which the mixing codec's models of exact
        previous values then code in fewer bytes than x's nearest indices, mostly at coarse
        bounds on noisy series (docs/codec.md). Returns (payload, its grid) when shorter than
        ``grid`` and ``mixed`` (the first candidate: indices ``first`` on grid ``lm``, None if
        that grid has none; ``marks``: its bytes at an eighth, a quarter and half of the
        samples, and where it ended), else None. It stops early as :meth:`_candidate` says."""
        from . import mixing

        y, _ = self.decoder(eps).decode_state(grid, len(x), None, chain)
        own = mixing.own_grid(y, eps)
        if own is None:
            return None
        own_lm, q = own
        if own_lm == lm and first is not None and np.array_equal(first, q):
            return None  # the first candidate coded these indices
        return self._candidate(x, eps, own_lm, q, grid, mixed, marks)[0]

    def _run_levels(self, x: np.ndarray, eps: float, grid: bytes, mixed: bytes | None,
                    marks: np.ndarray) -> tuple[bytes, int] | None:
        """Level best's run-level candidates for ``x`` float64 (n,): the indices of
        :func:`mixing.run_levels` on grids 2 and 3 (eps / 2, eps / 4), coded by the mixing
        codec. The fewest runs one level can hold within the bound, each on the coarsest grid
        it allows: a piecewise-constant approximation whose levels repeat (prices and noisy
        sensors at coarse bounds; docs/codec.md). Returns (payload, its grid) when shorter
        than ``grid`` and ``mixed``, else None. Each stops early as :meth:`_candidate` says,
        and where the first grid's stopped by half the samples, far behind, the finer grid's
        (a variation of the same runs) is not tried."""
        from . import mixing

        found = None
        for lm in RUN_GRIDS:
            q = mixing.run_levels(x, eps, lm)
            if q is None:
                continue
            tried, coded = self._candidate(x, eps, lm, q, grid, mixed, marks)
            if tried is not None:
                found, mixed = tried, tried[0]
            elif coded <= len(x) // 2:
                break
        return found

    @staticmethod
    def _candidate(x: np.ndarray, eps: float, lm: int, q: np.ndarray, grid: bytes,
                   mixed: bytes | None,
                   marks: np.ndarray) -> tuple[tuple[bytes, int] | None, int]:
        """The mixing codec's payload of indices ``q`` int64 (n,) on grid ``lm`` for ``x``
        float64 (n,), and ``lm``, if shorter than ``grid`` and ``mixed`` (None: none yet),
        else None; and the samples it coded before it ended (n, or where it stopped).

        A later candidate seldom wins, so it is stopped early where it would not: at each of
        the first candidate's ``marks`` (its bytes at an eighth, a quarter and half of the
        samples, and where it ended), once its bytes pass the first's there, scaled by the
        length to beat over the first's whole length (its pace when it stopped early), by
        more than 1/32 and STOP_SLACK bytes. The candidates are the same models learning at
        the same rate, so that ratio settles early (measured: docs/codec.md)."""
        from . import mixing

        limit = len(grid) if mixed is None else min(len(grid), len(mixed))
        stops = np.zeros(5, np.int64)
        done, size = int(marks[3]), int(marks[4])
        if done > 0 and size > 0:
            whole = size * len(x) / done  # the first's length, or its pace when it stopped
            for k in range(3):
                if marks[k] > 0:
                    stops[k] = int(marks[k] * limit * OWN_MARGIN / whole) + STOP_SLACK
        payload = mixing.encode(x, eps, lm, shorter_than=limit, indices=q, marks=stops,
                                pace=2)
        return (None if payload is None else (payload, lm)), int(stops[3])

    def _grid_part(self, x: np.ndarray, eps: float, chain) -> tuple[bytes, object]:
        enc = self.encoders(eps)[0]
        enc.start(chain)
        enc.push(x)
        return enc.flush_state()

    def _encode_fast(self, x: np.ndarray, eps: float, chain) -> tuple[bytes, object]:
        """Level fast's part of ``x`` float64 (n,), n >= 1, bound ``eps`` > 0, led by its codec
        byte, and its chain state. The Huffman codec on the 2 eps grid (nearest indices) or on
        the eps grid (each index held while it stays within the bound), whichever is shorter on
        the probe's samples; the grid codec instead where it was PROBE_GAIN times shorter
        there than the Huffman codec's tokens (smooth series). A part of at most 2 PROBE
        samples is coded both ways, the shorter kept."""
        from . import huffman

        if self._huffman is None:
            self._huffman = huffman.Scratch()
        scratch = self._huffman
        n = len(x)
        if n <= 2 * PROBE:  # small: both ways
            pick = huffman.shortest(x, eps, scratch=scratch)
            grid, state = self._grid_part(x, eps, chain)
            if pick is not None and pick[0] < len(grid):
                lm, hold = pick[2:]
                return (bytes([CODER_HUFFMAN + lm])
                        + huffman.encode(x, eps, lm, hold, scratch), None)
            return bytes([CODER_GRID]) + grid, state
        m = PROBE_FIRST  # noisy series: a short part makes PROBE_BYTES at once
        probe = len(self._grid_part(x[:m], eps, chain)[0])
        if probe < PROBE_BYTES:  # compressible: whole blocks until PROBE_BYTES
            enc = self.encoders(eps)[0]
            enc.start(chain)
            m = 0
            while m < max(PROBE, n // 8) and enc.coded_bytes() < PROBE_BYTES:
                enc.push(x[m:m + PROBE])
                m += PROBE
            probe = len(enc.flush())
        pick = huffman.shortest(x[:m], eps, scratch=scratch)
        # (the code tables left out: the whole part pays them once)
        if pick is not None and probe * PROBE_GAIN >= pick[1]:
            lm, hold = pick[2:]
            huff = huffman.encode(x, eps, lm, hold, scratch)
            if huff is not None:  # (None: a sample after the probe had no grid index)
                return bytes([CODER_HUFFMAN + lm]) + huff, None
        grid, state = self._grid_part(x, eps, chain)
        return bytes([CODER_GRID]) + grid, state

    def decode(self, part: bytes, n: int, eps: float, specials: bool,
               out: np.ndarray | None = None, coders: bool = False) -> np.ndarray:
        """float64 (n,) of a channel part (led by its runs of non-finite values if
        ``specials``), written into ``out`` (float64 (n,), contiguous) when given and the
        bound is not 0 (saves a copy); ``ValueError`` when it is malformed."""
        return self.decode_part(part, n, eps, specials, out, coders)[0]

    def decode_part(self, part: bytes, n: int, eps: float, specials: bool,
                    out: np.ndarray | None = None, coders: bool = False,
                    chain=None) -> tuple[np.ndarray, object]:
        """:meth:`decode`, continuing ``chain`` (see :meth:`encode_part`) unless None; also
        returns the state a chained frame after it continues (None: it starts anew)."""
        runs, tag, part = part_head(part, n, eps, specials, coders)
        state = None
        if tag >= CODER_HUFFMAN:
            from . import huffman

            x = huffman.decode(part, n, eps, tag - CODER_HUFFMAN,
                               out if out is not None and out.flags.c_contiguous else None)
        elif tag != CODER_GRID:
            from . import mixing

            x = mixing.decode(part, n, eps, tag - CODER_MIXING,
                              out if out is not None and out.flags.c_contiguous else None)
        elif eps == 0:
            x = self.decoder(eps).decode(part, n)
        else:
            x, state = self.decoder(eps).decode_state(part, n, out, chain)
        if runs:
            if not x.flags.writeable:
                x = np.array(x, copy=True)
            put_specials(x, runs)
        return x, state


def part_head(part: bytes, n: int, eps: float, specials: bool,
              coders: bool) -> tuple[list, int, bytes]:
    """A channel part of ``n`` samples and bound ``eps`` as (its runs of non-finite values, if
    ``specials``; its codec byte, CODER_GRID where the frame's flag ``coders`` is not set; the
    codec's payload); ``ValueError`` for a codec that does not exist."""
    runs: list = []
    if specials:
        cur = Cursor(part)
        runs = read_specials(cur, n)
        part = part[cur.pos:]
    tag = CODER_GRID
    if coders:
        tag = part[0] if part else -1
        part = part[1:]
        if not (tag == CODER_GRID or (eps > 0 and CODER_MIXING <= tag < CODER_HUFFMAN + 4)):
            raise ValueError(f"unknown channel codec {tag}")
    return runs, tag, part


def codec_name(tag: int, eps: float) -> str:
    """The name of a channel part's codec: ``exact`` (a bound of 0), ``grid``, ``mixing``
    (level best) or ``huffman`` (level fast), from its codec byte (:func:`part_head`)."""
    if tag >= CODER_HUFFMAN:
        return "huffman"
    if tag >= CODER_MIXING:
        return "mixing"
    return "grid" if eps > 0 else "exact"


def within_bound(decoded: np.ndarray, x: np.ndarray, eps: float) -> bool:
    """Every finite value of ``x`` within ``eps`` of ``decoded``; every non-finite one
    bit for bit (what a channel part promises)."""
    finite = np.isfinite(x)
    if finite.all():
        return bool(np.all(np.abs(decoded - x) <= eps))
    same_bits = decoded.view(np.uint64) == x.view(np.uint64)
    with np.errstate(invalid="ignore"):
        close = np.abs(np.where(finite, decoded - x, 0.0)) <= eps
    return bool(np.all(np.where(finite, close, same_bits)))
