"""The second decoder (``tests/reference_decoder.py``, written from ``docs/format.md`` alone)
agrees bit for bit with :func:`hippo_cli.decode`.

Two sources of files: hippo's own encoder (``hippo_cli.encode``, the CLI for ``E = 0``) and a
small writer below, also written from the document, which crafts streams hippo's encoder never
emits (the smooth predictors, the zlib exact codec, raw time values, version-1 files, the same
configuration sent again, ...). Where either decoder rejects a crafted file, both must.
"""

from __future__ import annotations

import io
import math
import struct
import zlib

import numpy as np
import pytest
import reference_decoder as ref
from typer.testing import CliRunner

import hippo_cli
from hippo_cli.cli import app
from hippo_cli.codec import HippoReader
from hippo_cli.codec.times import Times

FIXTURES = ref.__file__.rsplit("/", 1)[0] + "/data/fixtures"


def _hippo_times(data: bytes) -> list | None:
    """hippo's exact times of a file: ISO times as written, integers, or float64 bit
    patterns (the reference decoder's forms)."""
    with HippoReader(io.BytesIO(data), "f") as reader:
        if not reader.header.timed:
            return None
        parts = [f.times for f in reader.frames()]
    times = Times.join(parts) if parts else None
    if times is None:
        return []
    if times.iso:
        return times.text()
    if times.ints is not None:
        return times.ints.tolist()
    return times.seconds.view(np.uint64).tolist()


def assert_same(data: bytes) -> tuple[np.ndarray, list | None]:
    """Both decoders give bit-identical values and the same exact times for ``data``."""
    want_v, _ = hippo_cli.decode(data)
    want_t = _hippo_times(data)
    got_v, got_t = ref.decode(data)
    assert got_v.shape == want_v.shape
    assert np.array_equal(got_v.view(np.uint64), want_v.view(np.uint64))
    assert (got_t is None) == (want_t is None)
    if want_t is not None:
        if any(isinstance(t, float) for t in got_t):  # numbers, some not integers
            got_t = np.array([float(t) for t in got_t]).view(np.uint64).tolist()
        assert got_t == want_t
    return got_v, got_t


def assert_same_or_both_reject(data: bytes) -> bool:
    """Both decoders agree bit for bit, or both reject ``data``; True if they decoded it."""
    try:
        want = hippo_cli.decode(data)
    except Exception:  # hippo's DataError family
        with pytest.raises(ValueError):
            ref.decode(data)
        return False
    try:
        assert_same(data)
    except ValueError as exc:
        raise AssertionError(f"only the reference decoder rejects it: {exc}; {want!r}") from exc
    return True


# ---------------------------------------------------------------------------------------
# Files written by hippo's encoder
# ---------------------------------------------------------------------------------------


def _nan(bits: int) -> float:
    return np.array([bits], dtype=np.uint64).view(np.float64)[0]


def _specials(n: int, rng: np.random.Generator) -> np.ndarray:
    x = np.sin(np.arange(n) / 50.0)
    patterns = [0x7FF8000000000123, 0xFFF0000000000000, 0x7FF0000000000000, 0x7FF4000000000001]
    for _ in range(40):
        s = int(rng.integers(0, n - 20))
        x[s : s + int(rng.integers(1, 20))] = _nan(patterns[int(rng.integers(0, 4))])
    x[0], x[-1] = np.nan, np.inf
    return x


def _encoded_cases():
    rng = np.random.default_rng(7)
    t = np.arange(9000, dtype=float)
    walk = np.cumsum(rng.normal(size=9000))
    cases = {
        "walk": (walk, 0.05, {}),
        "sine": (np.sin(t / 200.0) * 3, 0.001, {}),
        "sine_fine": (np.sin(t / 700.0) * 1e3, 1e-6, {}),
        "line": (0.37 * t + 5, 0.01, {}),
        "piecewise_line": (np.interp(t, t[::500], rng.normal(size=18) * 100), 0.01, {}),
        "parabola": (1e-4 * (t - 4000.0) ** 2, 0.01, {}),
        "curve": ((t[:4096] / 1000) ** 2 * 0.7 - t[:4096] / 300, 0.1, {}),
        "exp_decay": (np.exp(-t[:4096] / 3000) * 100, 0.1, {}),
        "steps": (np.repeat(rng.integers(0, 5, size=31), 300)[:9000].astype(float), 0.01, {}),
        "constant": (np.full(5000, 2.5), 0.1, {}),
        "noise": (rng.normal(size=9000), 0.01, {}),
        "huge_raw": (np.where(rng.random(5000) < 0.01, 1e300, rng.normal(size=5000)), 1e-3, {}),
        "tiny": (rng.normal(size=3000) * 1e-300, 1e-310, {}),
        "specials": (_specials(6000, rng), 0.01, {}),
        "all_nan": (np.full(100, np.nan), 0.01, {}),
        "multi_channel": (
            np.column_stack([walk[:5000], np.sin(t[:5000] / 40), np.full(5000, 1e300)]),
            [0.1, 0.001, 1e-3],
            {},
        ),
        "frames_1": (walk[:40], 0.1, {"frame_samples": 1}),
        "frames_7": (walk[:300], 0.1, {"frame_samples": 7}),
        "frames_1000": (walk[:5000], 0.1, {"frame_samples": 1000}),
        "frames_4097": (walk, 0.1, {"frame_samples": 4097}),
        "int_times": (walk[:5000], 0.1, {"times": t[:5000] * 5 + 1e6}),
        "decimal_times": (walk[:5000], 0.1, {"times": 1.7e9 + t[:5000] * 0.001}),
        "decimal_times_above_2^53": (
            walk[:3000],
            0.1,
            {"times": np.array([(17000000001234567 + 3 * i) / 10**7 for i in range(3000)])},
        ),
        "irregular_times": (walk[:5000], 0.1, {"times": np.cumsum(rng.exponential(size=5000))}),
        "raw_int_times": (walk[:100], 0.1, {"times": 2.0**61 + 2.0**20 * t[:100]}),
        "decreasing_times": (walk[:3000], 0.1, {"times": -3.0 * t[:3000]}),
        "timed_frames": (walk[:3000], 0.1, {"times": t[:3000] * 0.5, "frame_samples": 700}),
    }
    for n in (1, 2, 3, 4095, 4096, 4097, 9000):
        cases[f"walk_n{n}"] = (walk[:n], 0.05, {})
        cases[f"sine_n{n}"] = (np.sin(t[:n] / 30), 0.01, {})
    return cases


ENCODED = _encoded_cases()


@pytest.mark.parametrize("fixture", ["v1", "v2", "v3"])
def test_committed_fixtures(fixture):
    with open(f"{FIXTURES}/{fixture}.hippo", "rb") as f:
        values, times = assert_same(f.read())
    assert values.shape == (12000, 4) and times is not None


def test_committed_fixture_with_value_kinds():
    with open(f"{FIXTURES}/v2-kinds.hippo", "rb") as f:
        data = f.read()
    values, times = assert_same(data)
    assert values.shape == (8000, 6) and len(times) == 8000
    assert ref.Header(data).kinds == ["int64", "uint8", "float32", "integer", "int16",
                                      "float64"]


@pytest.mark.parametrize("name", sorted(ENCODED))
def test_files_of_hippos_encoder(name):
    values, max_error, kwargs = ENCODED[name]
    assert_same(hippo_cli.encode(np.asarray(values, dtype=np.float64), max_error, **kwargs))


def test_exact_codec_through_percentage_bounds(tmp_path):
    rng = np.random.default_rng(3)
    walk = np.cumsum(rng.normal(size=3000))
    csv = tmp_path / "a.csv"
    rows = [f"{0.5 * i},2.5,{float(walk[i])!r},0" for i in range(3000)]
    csv.write_text("t,const,walk,zero\n" + "\n".join(rows) + "\n")
    out = tmp_path / "a.hippo"
    args = ["compress", str(csv), "--max-error", "1%", "--time-column", "t", "-o", str(out)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    data = out.read_bytes()
    header = ref.Header(data)
    assert header.E[0] == 0 and header.E[1] > 0 and header.E[2] == 0
    assert_same(data)


# ---------------------------------------------------------------------------------------
# A writer of crafted files, from the document
# ---------------------------------------------------------------------------------------

MASK32 = 0xFFFFFFFF


class RangeEncoder:
    """The encoder of the range coder ("Encoding a modelled bit", "... a direct bit",
    "Starting and ending")."""

    def __init__(self) -> None:
        self.low = 0
        self.range = MASK32
        self.out = bytearray()
        self.ctx = ref.Contexts()

    def _carry(self) -> None:
        if self.low >= 1 << 32:
            self.low -= 1 << 32
            i = len(self.out) - 1
            while self.out[i] == 0xFF:
                self.out[i] = 0
                i -= 1
            self.out[i] += 1

    def _normalise(self) -> None:
        while self.range < 1 << 24:
            self.out.append(self.low >> 24)
            self.low = (self.low << 8) & MASK32
            self.range <<= 8

    def bit(self, bit: int, ctx: int) -> None:
        bound = (self.range >> 15) * self.ctx.p[ctx]
        if bit:
            self.low += bound
            self.range -= bound
            self._carry()
        else:
            self.range = bound
        self.ctx.adapt(ctx, bit)
        self._normalise()

    def direct_bits(self, value: int, m: int) -> None:
        for i in reversed(range(m)):
            self.range >>= 1
            if (value >> i) & 1:
                self.low += self.range
                self._carry()
            self._normalise()

    def residual(self, cs: ref.ContextSet, r: int) -> None:
        """A residual in context set ``cs`` ("A residual r")."""
        self.bit(r != 0, cs.zero_context())
        if r:
            self.bit(r < 0, cs.sign_context())
            v = abs(r)
            k = v.bit_length() - 1
            for t in range(k):
                self.bit(1, cs.magnitude_context(t))
            self.bit(0, cs.magnitude_context(k))
            if k >= 1:
                b = (v >> (k - 1)) & 1
                self.bit(b, cs.first_bit_context(k))
                if k >= 2:
                    self.bit((v >> (k - 2)) & 1, cs.second_bit_context(k, b))
                    if k >= 3:
                        self.direct_bits(v & ((1 << (k - 2)) - 1), k - 2)
        cs.update(r)

    def finish(self) -> bytes:
        hi = self.low + self.range
        for unit in (1 << 24, 1 << 16, 1 << 8, 1):
            v = -(-self.low // unit) * unit
            if v < hi:
                break
        self.low = v
        if v >= 1 << 32:
            self._carry()
        tail = self.low.to_bytes(4, "big").rstrip(b"\0")
        return bytes(self.out + tail)


varint = ref._varint_bytes  # the LEB128 of v >= 0, as the format writes it


def zigzag(v: int) -> int:
    return ((v << 1) ^ (v >> 63)) & 0xFFFFFFFFFFFFFFFF


def small_residual(rng: np.random.Generator, big: int = 1 << 12) -> int:
    """Mostly zeros and small values, now and then a large one."""
    u = rng.random()
    if u < 0.45:
        return 0
    if u < 0.9:
        return int(rng.integers(-3, 4))
    if u < 0.99:
        return int(rng.integers(-300, 301))
    return int(rng.integers(-big, big + 1))


def grid_payload(n: int, blocks: list, rng: np.random.Generator) -> bytes:
    """A grid-codec payload: ``blocks[i]`` is ``"raw"``, ``"same"`` (CHANGED = 0) or
    ``(lm, pred, allzero)``, optionally with a fourth item ``{sample: residual}`` (the others
    are 0); otherwise residuals are random."""
    enc = RangeEncoder()
    sets = [ref.ContextSet(0), ref.ContextSet(1), ref.ContextSet(2)]
    pred = None
    allzero = 0
    fixed = None
    for b, b0 in enumerate(range(0, n, ref.BLOCK)):
        L = min(ref.BLOCK, n - b0)
        block = blocks[min(b, len(blocks) - 1)]
        enc.bit(block != "same", ref.H0)
        if block != "same":
            enc.bit(block == "raw", ref.H1)
            if block == "raw":
                pred = "raw"
            else:
                lm, pred, allzero = block[:3]
                fixed = block[3] if len(block) > 3 else None
                enc.direct_bits(8 * lm + pred, 5)
        if pred == "raw":
            for _ in range(L):
                bits = float_bits(float(rng.normal() * 10.0 ** rng.integers(-300, 300)))
                enc.direct_bits(bits >> 32, 32)
                enc.direct_bits(bits & MASK32, 32)
            continue
        enc.bit(allzero, ref.H2)
        if allzero:
            continue
        big = 1 << 30 if pred == 6 else 1 << 10 if pred in (1, 2, 3) else 1 << 40
        for i in range(L):
            r = small_residual(rng, big) if fixed is None else fixed.get(i, 0)
            enc.residual(sets[0], r)
            if pred in (4, 5) and r:
                enc.residual(sets[1], small_residual(rng))
                if pred == 5:
                    enc.residual(sets[2], int(rng.integers(-2, 3)))
    return enc.finish()


def float_bits(x: float) -> int:
    return struct.unpack("<Q", struct.pack("<d", x))[0]


def exact_payload(n: int, rng: np.random.Generator) -> bytes:
    """An exact-codec payload, kind 0 or kind 1 (zlib)."""
    if rng.random() < 0.3:
        return b"\0" + struct.pack("<d", float(rng.normal()))
    values = rng.choice(rng.normal(size=5) * 1e5, size=n)
    return b"\1" + zlib.compress(values.astype("<f8").tobytes(), int(rng.integers(0, 10)))


def channel_part(n: int, E: float, version: int, blocks: list, rng) -> bytes:
    """A channel part: special runs (version 2) and the codec's payload."""
    head = b""
    if version >= 2:
        runs = []
        end = 0
        while rng.random() < 0.6 and end < n:
            gap = int(rng.integers(0, max(1, min(50, n - end))))
            if end + gap >= n:
                break
            length = int(rng.integers(1, n - end - gap + 1))
            length = min(length, int(rng.integers(1, 40)))
            bits = int(rng.choice([0x7FF8000000000000, 0xFFF0000000000000, 0x7FF0000000000000,
                                   0x7FF0000000000001 + int(rng.integers(0, 1 << 40)),
                                   0xFFF8000000ABCDEF]))
            runs.append(varint(gap) + varint(length) + struct.pack("<Q", bits))
            end += gap + length
        head = varint(len(runs)) + b"".join(runs)
    payload = grid_payload(n, blocks, rng) if E > 0 else exact_payload(n, rng)
    return head + payload


def time_part(
    n: int, rng: np.random.Generator, kind: int | None = None, coded: bool | None = None,
    seconds: bool = False,
) -> tuple[bytes, list[float]]:
    """A time part of a random (or the given) kind and mode, and the times it holds
    (``seconds``: seconds since 1970 within the years ISO times can be written in)."""
    kind = int(rng.integers(0, 3)) if kind is None else kind
    if kind == 2:
        times = [float(x) for x in rng.normal(size=n) * 1e6 + (1e9 if seconds else 0)]
        return b"\2" + struct.pack(f"<{n}d", *times), times
    scale = 1 << int(rng.choice([40, 58]))  # 2^58: above 2^53, v / 10^k is one rounding
    if seconds:
        scale = 1 << 30  # kind 0: seconds; kind 1: a fraction of them
    t = [int(rng.integers(-scale, scale))]
    d = int(rng.integers(-1000, 1000))
    dd = [small_residual(rng) if rng.random() < 0.5 else 0 for _ in range(max(0, n - 2))]
    if n > 1:
        t.append(t[0] + d)
    for x in dd:
        d += x
        t.append(t[-1] + d)
    if not (rng.random() >= 0.3 if coded is None else coded):
        codec = b"\1" + struct.pack(f"<{n}q", *t)
    else:
        enc = RangeEncoder()
        for v in [zigzag(t[0])] + ([zigzag(t[1] - t[0])] if n > 1 else []):
            m = v.bit_length()
            enc.direct_bits(m, 6)
            enc.direct_bits(v, m)
        if n > 2:
            allzero = not any(dd)
            enc.bit(allzero, ref.H2)
            if not allzero:
                cs = ref.ContextSet(0)
                for x in dd:
                    enc.residual(cs, x)
        codec = b"\0" + enc.finish()
    if kind == 0:
        return b"\0" + codec, [float(v) for v in t]
    k = int(rng.integers(1, 10))
    return b"\1" + bytes([k]) + codec, [float(v) / 10**k for v in t]


def header_bytes(version: int, flags: int, names: list[str], E: list[float],
                 iso: bool = False) -> bytes:
    """A header; timed: numbers, or (``iso``, version 1) ISO times written ``T3Z``."""
    out = b"\x89HPO" + bytes([version, flags]) + varint(len(names))
    for name, e in zip(names, E):
        out += varint(len(name.encode())) + name.encode() + struct.pack("<d", e)
    if flags & 1:
        out += varint(4) + b"time" + (b"\2" + varint(3) + b"T3Z" if iso else b"\1\0")
    return out + struct.pack("<I", zlib.crc32(out))


def frame_bytes(version: int, n: int, parts: list[bytes], kind: int = 0) -> bytes:
    """A frame; in version 2 with the ``specials`` flag (every channel part written here
    starts with its runs, often none)."""
    payload = bytes([kind | 0x10]) if version >= 2 else b""
    for part in parts[:-1]:
        payload += varint(len(part)) + part
    payload += parts[-1]
    heads = varint(n) + varint(len(payload))
    return heads + struct.pack("<I", zlib.crc32(heads + payload)) + payload


def footer_bytes(offset: int, frames: list[tuple[int, int, list[float] | None]]) -> bytes:
    body = b"\0" + varint(len(frames))
    b_prev = 0
    for size, n, times in frames:
        body += varint(size) + varint(n)
        if times is not None:
            for t in (min(times), max(times)):
                b = ref.i64(float_bits(t))
                body += varint(zigzag(ref.i64(b - b_prev)))
                b_prev = b
    return body + trailer(body, offset)


def trailer(body: bytes, offset: int, tail: bytes = b"") -> bytes:
    """What ends a footer whose end marker and entries are ``body`` (and ``tail``): the
    CRC-32, the footer offset as a varint written backwards, the end magic."""
    back = varint(offset)[::-1]
    return tail + struct.pack("<I", zlib.crc32(body + tail + back)) + back + b"\x89E"


def crafted_file(
    seed: int, version: int = 2, timed: bool | None = None, sizes: list[int] | None = None,
    blocks: list | None = None, E: list[float] | None = None, footer: bool = True,
) -> bytes:
    """A random file: channels, bounds, frames and their block configurations."""
    rng = np.random.default_rng(seed)
    timed = bool(rng.integers(0, 2)) if timed is None else timed
    if E is None:
        E = [0.0 if rng.random() < 0.2 else float(10.0 ** rng.uniform(-6, 3))
             for _ in range(int(rng.integers(1, 4)))]
    sizes = sizes or [int(rng.choice([1, 2, 3, 5, 64, 300, 4096, 4100]))
                      for _ in range(int(rng.integers(1, 3)))]
    whole = version >= 2 and footer
    iso = version == 1 and bool(rng.integers(0, 2))  # version 1: ISO times as seconds
    head = header_bytes(version, int(timed) | (2 if whole else 0),
                        [f"c{i}" for i in range(len(E))], E, iso)
    frames, index = [], []
    for n in sizes:
        parts, times = [], None
        if timed:
            part, times = time_part(n, rng, seconds=iso)
            parts.append(part)
        for e in E:
            bl = blocks or [random_block(rng, first=i == 0) for i in range(3)]
            parts.append(channel_part(n, e, version, bl, rng))
        frame = frame_bytes(version, n, parts)
        frames.append(frame)
        index.append((len(frame), n, times))
    body = head + b"".join(frames)
    return body + footer_bytes(len(body), index) if whole else body


VALID_CONFIGS = [(lm, pred) for lm in range(4) for pred in range(6)] + [(3, 6)]


def random_block(rng: np.random.Generator, first: bool):
    u = rng.random()
    if u < 0.1:
        return "raw"
    if u < 0.3 and not first:
        return "same"
    lm, pred = VALID_CONFIGS[int(rng.integers(0, len(VALID_CONFIGS)))]
    return (lm, pred, int(rng.random() < 0.15))


# ---------------------------------------------------------------------------------------
# Crafted files
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("lm,pred", VALID_CONFIGS)
def test_every_predictor_and_grid(lm, pred):
    """Each configuration over two blocks (history across the block boundary)."""
    data = crafted_file(100 + 8 * lm + pred, sizes=[4096 + 600], timed=False, E=[0.01],
                        blocks=[(lm, pred, 0)])
    assert assert_same_or_both_reject(data)


@pytest.mark.parametrize("blocks", [
    [(0, 1, 0), (0, 1, 0), "same"],  # CHANGED = 1 repeating the configuration
    [(2, 4, 0), "same", (2, 4, 0)],  # the line state kept across blocks
    [(1, 5, 0), (1, 5, 0)],
    ["raw", "same", (3, 6, 0)],  # CHANGED = 0 after a raw block: raw again
    [(3, 6, 0), "raw", (3, 2, 0)],  # history restarts after a raw block
    [(1, 3, 1), (3, 6, 1), (0, 4, 1)],  # ALLZERO blocks
    [(3, 6, 0), (3, 3, 0), (0, 0, 0)],
])
def test_block_sequences(blocks):
    data = crafted_file(7, sizes=[3 * 4096], timed=False, E=[0.5], blocks=blocks)
    assert assert_same_or_both_reject(data)


def test_history_stops_at_2_44():
    """Interpolation's history ``W[-k]`` ends before the first ``|H| >= 2^44``."""
    big = {0: 1 << 42, 4000: -(1 << 42)}  # fine units: H = Q << 3 >= 2^44 on 0 .. 3999
    data = crafted_file(9, sizes=[2 * 4096], timed=False, E=[0.25],
                        blocks=[(0, 0, 0, big), (3, 6, 0)])
    assert assert_same_or_both_reject(data)


def test_grid_index_above_2_53():
    """``Q * step`` for ``|Q| > 2^53``: Q is first rounded to binary64."""
    # Q values whose float64(Q) * step differs from the correctly rounded Q * step.
    qs = [29514929935856117, 9923981594781411, -9781448398571993, 12610091164198739]
    fixed = {i: q - p for i, (q, p) in enumerate(zip(qs, [0] + qs))}
    data = crafted_file(2, sizes=[len(qs)], timed=False, E=[0.3], blocks=[(3, 0, 0, fixed)])
    assert assert_same_or_both_reject(data)


def test_block_header_contexts_reach_their_limit():
    """Eight blocks in one part: H0 and H2 are coded often enough to reach shift 5."""
    blocks = [(3, 6, 1), "same", (3, 6, 0), (1, 0, 1), "same", (3, 6, 0), "same", (3, 6, 1)]
    data = crafted_file(4, sizes=[8 * 4096 - 5], timed=False, E=[0.5], blocks=blocks)
    assert assert_same_or_both_reject(data)


@pytest.mark.parametrize("seed", range(40))
def test_random_crafted_files(seed):
    version = 1 if seed % 5 == 0 else 2
    data = crafted_file(seed, version=version, footer=seed % 7 != 3)
    assert assert_same_or_both_reject(data)


def test_crafted_files_mostly_decode():
    decoded = sum(assert_same_or_both_reject(crafted_file(1000 + s)) for s in range(12))
    assert decoded >= 9


@pytest.mark.parametrize("n", [1, 2, 3, 257])
def test_crafted_times(n):
    for seed in range(8):
        data = crafted_file(seed, timed=True, sizes=[n, n + 1], E=[0.0])
        assert assert_same_or_both_reject(data)


# ---------------------------------------------------------------------------------------
# What a decoder MUST reject, and a stream that is not closed
# ---------------------------------------------------------------------------------------


def _sample_file() -> bytes:
    rng = np.random.default_rng(11)
    values = np.column_stack([np.cumsum(rng.normal(size=3000)), np.sin(np.arange(3000) / 9)])
    return hippo_cli.encode(values, 0.01, times=np.arange(3000) * 0.25, frame_samples=1000)


def _both_reject(data: bytes) -> None:
    with pytest.raises(Exception):  # noqa: B017 - hippo's DataError
        hippo_cli.decode(data)
    with pytest.raises(ValueError):
        ref.decode(data)


@pytest.mark.parametrize("where", ["header", "frame", "payload", "footer", "last"])
def test_flipped_byte_is_rejected(where):
    data = bytearray(_sample_file())
    header = ref.Header(bytes(data))
    at = {
        "header": header.size - 2,  # the header's CRC
        "frame": header.size + 4,  # the first frame's CRC
        "payload": header.size + 40,
        "footer": len(data) - 10,  # the footer offset... in its CRC'd bytes
        "last": len(data) - 6,  # the footer's CRC
    }[where]
    data[at] ^= 0x10
    _both_reject(bytes(data))


@pytest.mark.parametrize("cut", [1, 5, 17, 300, 2000])
def test_truncated_file_is_rejected(cut):
    data = _sample_file()
    _both_reject(data[: len(data) - cut])


def test_not_closed_stream_decodes():
    """A version-2 file without the whole flag and without its footer is read frame by
    frame; hippo's note aside, both decoders give the same samples."""
    data = crafted_file(5, sizes=[300, 5, 4097], footer=False)
    assert not ref.Header(data).whole
    assert assert_same_or_both_reject(data)


def test_whole_file_without_footer_is_rejected():
    data = _sample_file()
    offset = HippoReader(io.BytesIO(data), "f").frames_end  # where the footer starts
    _both_reject(data[:offset])


@pytest.mark.parametrize("timed", [False, True])
def test_range_coder_end_check(timed):
    """A range-coded part (a grid payload, or coded times) with 5 bytes it never reads."""
    rng = np.random.default_rng(1)
    head = header_bytes(2, int(timed), ["a"], [0.1])
    part = channel_part(300, 0.1, 2, [(0, 0, 0)], rng)
    parts = [part + bytes(5)]
    if timed:
        times, _ = time_part(300, np.random.default_rng(3), kind=0, coded=True)
        assert times[:2] == b"\0\0"  # kind 0, mode 0: coded
        parts = [times + bytes(5), part]
    frame = frame_bytes(2, 300, parts)
    _both_reject(head + frame)
    parts[0] = parts[0][:-5]
    hippo_cli.decode(head + frame_bytes(2, 300, parts))  # valid without them


# Small hand-made files, each probing one rule of the document.

NAN, INF = 0x7FF8000000000000, 0x7FF0000000000000


def _raw_header(version: int, flags: int, rest: bytes) -> bytes:
    out = b"\x89HPO" + bytes([version, flags]) + rest
    return out + struct.pack("<I", zlib.crc32(out))


def _channel(name: bytes = b"a", E: float = 0.1) -> bytes:
    """One channel's name and bound, as in the header."""
    return varint(len(name)) + name + struct.pack("<d", E)


def _channel_header(name: bytes = b"a", E: float = 0.1) -> bytes:
    """The channel count 1 and the channel."""
    return varint(1) + _channel(name, E)


def _timed_header(kind: int = 1, pattern: bytes = b"", E: float = 0.1) -> bytes:
    time_column = varint(1) + b"t" + bytes([kind]) + varint(len(pattern)) + pattern
    return _raw_header(2, 1, _channel_header(E=E) + time_column)


def _grid(n: int = 5, blocks=((0, 0, 0),), seed: int = 0) -> bytes:
    """A grid-codec payload alone."""
    return grid_payload(n, list(blocks), np.random.default_rng(seed))


def _runs(*runs: tuple[int, int, int]) -> bytes:
    return varint(len(runs)) + b"".join(
        varint(gap) + varint(length) + struct.pack("<Q", bits) for gap, length, bits in runs)


def _file(*parts: bytes, n: int = 5, E: float = 0.1, kind: int = 0) -> bytes:
    """A version-2 file of one untimed channel and one frame."""
    return _raw_header(2, 0, _channel_header(E=E)) + frame_bytes(2, n, list(parts), kind)


def _stream(*ops: tuple) -> bytes:
    """A range-coder stream: ``("b", bit, ctx)`` modelled, ``("d", value, m)`` direct."""
    enc = RangeEncoder()
    for op, a, b in ops:
        if op == "b":
            enc.bit(a, b)
        else:
            enc.direct_bits(a, b)
    return enc.finish()


def _big(v: int) -> tuple:
    """The direct bits of the time codec's big value ``zz(v)``."""
    u = zigzag(v)
    return ("d", u.bit_length(), 6), ("d", u, u.bit_length())


def _unary_63_ones() -> bytes:
    enc = RangeEncoder()
    enc.bit(1, ref.H0)
    enc.bit(0, ref.H1)
    enc.direct_bits(0, 5)
    enc.bit(0, ref.H2)
    cs = ref.ContextSet(0)
    enc.bit(1, cs.zero_context())
    enc.bit(0, cs.sign_context())
    for t in range(63):
        enc.bit(1, cs.magnitude_context(t))
    enc.bit(0, cs.magnitude_context(63))
    enc.direct_bits(0, 62)
    return enc.finish()


def _timed_file(index=None, flags: int = 3, tail: bytes = b"") -> bytes:
    """Two raw-timed frames and a footer whose index entries can be replaced:
    ``index(entries)`` gets ``[(size, n, least, greatest), ...]`` and returns the entries."""
    rng = np.random.default_rng(0)
    head = _raw_header(2, flags, _channel_header() + varint(1) + b"t" + b"\1" + varint(0))
    frames, entries = [], []
    for n in (5, 7):
        part, times = time_part(n, rng, kind=2)
        frames.append(frame_bytes(2, n, [part, varint(0) + _grid(n)]))
        entries.append((len(frames[-1]), n, min(times), max(times)))
    body = head + b"".join(frames)
    entries = index(entries) if index else entries
    footer = b"\0" + varint(len(entries))
    b_prev = 0
    for size, n, least, greatest in entries:
        footer += varint(size) + varint(n)
        for t in (least, greatest):
            b = ref.i64(float_bits(t))
            footer += varint(zigzag(ref.i64(b - b_prev)))
            b_prev = b
    return body + footer + trailer(footer, len(body), tail)


def _empty_finished() -> bytes:
    head = _raw_header(2, 2, _channel_header())
    return head + b"\0\0" + trailer(b"\0\0", len(head))


def _frame_raw(samples: bytes, payload: bytes) -> bytes:
    """A frame whose samples varint is given as bytes."""
    heads = samples + varint(len(payload))
    return heads + struct.pack("<I", zlib.crc32(heads + payload)) + payload


_EXACT5 = struct.pack("<5d", 1.0, 2.0, 3.0, 4.0, 5.0)

MUST_REJECT = {
    # "MUST inflate to exactly 8 n bytes and end there: no byte may follow the zlib stream"
    "exact zlib, bytes after the stream": lambda: _file(
        varint(0) + b"\1" + zlib.compress(_EXACT5) + b"\0garbage", E=0.0),
    "version 4": lambda: _raw_header(4, 0, _channel_header()),
    "unknown flag": lambda: _raw_header(2, 8, _channel_header()),
    "version 1, whole flag": lambda: _raw_header(1, 2, _channel_header()),
    "version 1, kinds flag": lambda: _raw_header(1, 4, _channel_header() + b"\7"),
    "value kind 12": lambda: _raw_header(2, 4, _channel_header() + b"\x0c"),
    "kinds flag, kind byte missing": lambda: _raw_header(2, 4, _channel_header()),
    "no channels": lambda: _raw_header(2, 0, varint(0)),
    "4097 channels": lambda: _raw_header(2, 0, varint(4097)),
    "name of 1025 bytes": lambda: _raw_header(2, 0, _channel_header(b"a" * 1025)),
    "name not UTF-8": lambda: _raw_header(2, 0, _channel_header(b"\xff\xfe")),
    "bound NaN": lambda: _raw_header(2, 0, _channel_header(E=math.nan)),
    "bound inf": lambda: _raw_header(2, 0, _channel_header(E=math.inf)),
    "bound negative": lambda: _raw_header(2, 0, _channel_header(E=-0.1)),
    "header time kind 0": lambda: _timed_header(kind=0),
    "pattern of 65 bytes": lambda: _timed_header(pattern=b"T" * 65),
    "pattern not ASCII": lambda: _timed_header(pattern=b"T\xc3\xa9"),
    "varint of 11 bytes": lambda: _raw_header(2, 0, _channel_header()) + b"\x80" * 10 + b"\1",
    "2^20 + 1 samples": lambda: _raw_header(2, 0, _channel_header()) + varint(2**20 + 1),
    "n x C > 2^22": lambda: _raw_header(2, 0, varint(5) + _channel() * 5)
    + varint(2**20) + varint(1) + bytes(5),
    "payload of 2^27 + 1": lambda: _raw_header(2, 0, _channel_header()) + varint(5)
    + varint(2**27 + 1) + bytes(5),
    "frame kind 1": lambda: _file(varint(0) + _grid(), kind=1),
    "part longer than the payload": lambda: _raw_header(
        2, 0, varint(2) + _channel() * 2) + _frame_raw(
        varint(5), b"\0" + varint(200) + bytes(10)),
    "time part kind 3": lambda: _timed_header() + frame_bytes(2, 5, [b"\3", varint(0) + _grid()]),
    "time digits 0": lambda: _timed_header() + frame_bytes(2, 5, [b"\1\0\1" + bytes(40),
                                                                  varint(0) + _grid()]),
    "time digits 10": lambda: _timed_header() + frame_bytes(2, 5, [b"\1\x0a\1" + bytes(40),
                                                                   varint(0) + _grid()]),
    "raw times, wrong length": lambda: _timed_header() + frame_bytes(
        2, 5, [b"\2" + bytes(32), varint(0) + _grid()]),
    "raw time NaN": lambda: _timed_header() + frame_bytes(
        2, 5, [b"\2" + struct.pack("<5d", 1, 2, math.nan, 4, 5), varint(0) + _grid()]),
    "time codec mode 2": lambda: _timed_header() + frame_bytes(
        2, 5, [b"\0\2" + bytes(40), varint(0) + _grid()]),
    "time codec mode 1, short": lambda: _timed_header() + frame_bytes(
        2, 5, [b"\0\1" + bytes(32), varint(0) + _grid()]),
    "S > n": lambda: _file(varint(6) + _grid()),
    "run of length 0": lambda: _file(_runs((0, 0, NAN)) + _grid()),
    "run past n": lambda: _file(_runs((3, 3, NAN)) + _grid()),
    "run of a finite value": lambda: _file(_runs((0, 1, 0x3FF0000000000000)) + _grid()),
    "run of -0.0": lambda: _file(_runs((0, 1, 0x8000000000000000)) + _grid()),
    "grid, empty payload": lambda: _file(varint(0)),
    "grid, CHANGED = 0 first": lambda: _file(
        varint(0) + _stream(("b", 0, ref.H0), ("b", 1, ref.H2), ("d", 12345, 20))),
    "grid, pred 7": lambda: _file(varint(0) + _grid(blocks=[(0, 7, 0)])),
    "grid, pred 6 with lm 2": lambda: _file(varint(0) + _grid(blocks=[(2, 6, 0)])),
    "grid, unary run of 63 ones": lambda: _file(varint(0) + _unary_63_ones(), n=1),
    "grid, |Q| = 2^56": lambda: _file(varint(0) + _grid(blocks=[(3, 0, 0, {0: 1 << 56})])),
    "interpolation, |r| = 2^44": lambda: _file(
        varint(0) + _grid(blocks=[(3, 6, 0, {0: 1 << 44})])),
    "interpolation, |W| = 2^44": lambda: _file(
        varint(0) + _grid(blocks=[(3, 6, 0, {0: 1 << 42})])),
    "grid, 5 bytes never read": lambda: _file(varint(0) + _grid() + bytes(5)),
    "exact kind 2": lambda: _file(varint(0) + b"\2" + bytes(8), E=0.0),
    "exact kind 0 of 10 bytes": lambda: _file(varint(0) + b"\0" + bytes(9), E=0.0),
    "exact zlib, short": lambda: _file(varint(0) + b"\1" + zlib.compress(_EXACT5[:32]), E=0.0),
    "exact zlib, long": lambda: _file(varint(0) + b"\1" + zlib.compress(_EXACT5 + _EXACT5),
                                      E=0.0),
    "exact zlib, bad check": lambda: _file(
        varint(0) + b"\1" + zlib.compress(_EXACT5)[:-4] + bytes(4), E=0.0),
    "footer, wrong samples": lambda: _timed_file(lambda e: [(e[0][0], 6, *e[0][2:]), e[1]]),
    "footer, sizes moved": lambda: _timed_file(
        lambda e: [(e[0][0] + 1, *e[0][1:]), (e[1][0] - 1, *e[1][1:])]),
    "footer, a frame left out": lambda: _timed_file(lambda e: e[:1]),
    "footer, an infinite time": lambda: _timed_file(lambda e: [(*e[0][:3], math.inf), e[1]]),
    "footer, least > greatest": lambda: _timed_file(lambda e: [(*e[0][:2], 1.0, 0.0), e[1]]),
    "footer, a byte after the index": lambda: _timed_file(tail=b"\0"),
    "a byte after the footer": lambda: _timed_file() + b"\0",
}

@pytest.mark.parametrize("name", sorted(MUST_REJECT))
def test_what_a_decoder_must_reject(name):
    _both_reject(MUST_REJECT[name]())


VALID_EDGES = {
    "bound -0.0 (exact codec)": lambda: _file(varint(0) + b"\0" + bytes(8), E=-0.0),
    "name of 1024 bytes": lambda: _raw_header(2, 0, _channel_header(b"a" * 1024))
    + frame_bytes(2, 5, [varint(0) + _grid()]),
    # version 2: the header's pattern is informative (each frame has its templates)
    "pattern not of the grammar": lambda: _timed_header(kind=2, pattern=b"xyz")
    + frame_bytes(2, 1, [b"\3\0" + varint(1) + varint(10) + b"####-##-##" + varint(1)
                         + varint(1) + varint(0) + b"\0" + _stream(*_big(0)),
                         varint(0) + _grid(1)]),
    "numbers with a pattern": lambda: _timed_header(kind=1, pattern=b"_s+05:30")
    + frame_bytes(2, 1, [b"\2" + bytes(8), varint(0) + _grid(1)]),
    "non-minimal varint": lambda: _raw_header(2, 0, _channel_header())
    + _frame_raw(b"\x85\x00", b"\x10" + varint(0) + _grid()),
    "adjacent special runs": lambda: _file(_runs((0, 2, NAN), (0, 3, 0xFFF0000000000000))
                                           + _grid()),
    "grid, |Q| = 2^56 - 1": lambda: _file(
        varint(0) + _grid(blocks=[(3, 0, 0, {0: (1 << 56) - 1})])),
    "grid, one byte never read": lambda: _file(varint(0) + _grid() + bytes(1)),
    "exact kind 0, a NaN": lambda: _file(varint(0) + b"\0" + struct.pack("<d", math.nan),
                                         E=0.0),
    "exact zlib, NaN and inf": lambda: _file(varint(0) + b"\1" + zlib.compress(
        struct.pack("<5d", 1, math.inf, math.nan, -0.0, 2)), E=0.0),
    "time codec, empty stream": lambda: _timed_header(E=0.0) + frame_bytes(
        2, 1, [b"\0\0" + _stream(*_big(0)), varint(0) + b"\0" + bytes(8)]),
    "time codec, 63-bit values, wrap": lambda: _timed_header(E=0.0) + frame_bytes(
        2, 3, [b"\0\0" + _stream(*_big(-(1 << 62)), *_big(-(1 << 62)), ("b", 1, ref.H2)),
               varint(0) + b"\0" + bytes(8)]),
    "footer with the whole flag clear": lambda: _timed_file(flags=1),
    "footer with wrong (ordered) times": lambda: _timed_file(
        lambda e: [(*e[0][:2], -1e300, 1e300), e[1]]),
    "finished, no frames": lambda: _empty_finished(),
    "not closed, no frames": lambda: _raw_header(2, 0, _channel_header()),
    "version 1, no frames": lambda: _raw_header(1, 0, _channel_header()),
    "kinds flag, every kind 0": lambda: _raw_header(2, 4, varint(2) + _channel() + b"\0"
                                                     + _channel(b"b") + b"\0")
    + frame_bytes(2, 5, [varint(0) + _grid(), varint(0) + _grid()]),
    "kinds flag, kinds 11 and 1": lambda: _raw_header(2, 4, varint(2) + _channel() + b"\x0b"
                                                       + _channel(b"b") + b"\1")
    + frame_bytes(2, 5, [varint(0) + _grid(), varint(0) + _grid(seed=1)]),
}


def test_frame_of_more_than_2_22_values_in_a_finished_file():
    C, n = 5, 2**20
    head = _raw_header(2, 2, varint(C) + _channel(E=0.0) * C)
    frame = frame_bytes(2, n, [varint(0) + b"\0" + struct.pack("<d", 1.0)] * C)
    body = head + frame
    _both_reject(body + footer_bytes(len(body), [(len(frame), n, None)]))


@pytest.mark.parametrize("name", sorted(VALID_EDGES))
def test_valid_edge_cases(name):
    assert assert_same_or_both_reject(VALID_EDGES[name]())


# ---------------------------------------------------------------------------------------
# Version 3: mode 2 of the time codec, written here from "Version 3" in docs/format.md
# ---------------------------------------------------------------------------------------


def _big_value_bits(enc: RangeEncoder, v: int) -> None:
    """A big value: its bit length m in 6 direct bits, then its m bits."""
    m = v.bit_length()
    enc.direct_bits(m, 6)
    enc.direct_bits(v, m)


def cadence_codec(t0: int, q: int, G: int, f: int, C: int, residuals: list[int]) -> bytes:
    """The time codec in mode 2 (its mode byte first) of n = len(residuals) + 1 values;
    ``C`` is written as zigzag (also when out of the limits, for the tests of rejection)."""
    enc = RangeEncoder()
    _big_value_bits(enc, zigzag(t0))
    if residuals or q != 1 or G or C:
        _big_value_bits(enc, q)
        enc.direct_bits(G, 1)
        if G:
            enc.direct_bits(f, 6)
        _big_value_bits(enc, zigzag(C))
        allzero = not any(residuals)
        enc.bit(allzero, ref.H2)
        if not allzero:
            cs = ref.ContextSet(0)
            for r in residuals:
                enc.residual(cs, r)
    return b"\2" + enc.finish()


def _cadence_file(version: int, codec: bytes, n: int) -> bytes:
    """A timed file of one exact channel (all samples 1.0) whose one frame's time part is
    kind 0 holding ``codec`` (the channel part: no runs of specials, exact kind 0)."""
    head = header_bytes(version, 1, ["a"], [0.0])
    channel = b"\0" + b"\0" + struct.pack("<d", 1.0)
    return head + frame_bytes(version, n, [b"\0" + codec, channel])


def _random_cadence(rng: np.random.Generator) -> tuple[int, int, int, int, list[int]]:
    n = int(rng.choice([2, 3, 5, 64, 300, 4100]))
    G = int(rng.integers(0, 2))
    f = int(rng.integers(0, 30)) if G else 0
    c = int(rng.integers(-5, 2000))
    C = (c << f) + int(rng.integers(-(1 << f), (1 << f) + 1)) if G else c
    q = int(rng.choice([1, 1, 7, 1000, 86400]))
    jitter = int(rng.integers(0, 300))
    residuals = [int(rng.integers(-jitter, jitter + 1)) if rng.random() < 0.95 else
                 small_residual(rng, 1 << 40) for _ in range(n - 1)]
    return int(rng.integers(-(1 << 50), 1 << 50)), q, G, f, C, residuals


@pytest.mark.parametrize("seed", range(24))
def test_crafted_mode_2_times(seed):
    """Random mode-2 streams (steps and grids, units, fractional cadences, jitter with now
    and then a gap): both decoders give the same times; the same bytes in a version-2 file
    are damage to both."""
    rng = np.random.default_rng(seed)
    t0, q, G, f, C, residuals = _random_cadence(rng)
    codec = cadence_codec(t0, q, G, f, C, residuals)
    data = _cadence_file(3, codec, len(residuals) + 1)
    assert_same(data)
    _both_reject(_cadence_file(2, codec, len(residuals) + 1))


def test_crafted_mode_2_grid_restarts():
    """A grid whose samples wander off by more than half a cadence (a gap, a step back):
    the grid restarts at them, and both decoders agree on where."""
    residuals = [0, 3, -4, 25_000, 1, -2, -30_000, 0, 4999, 5001, -5001, 2]
    data = _cadence_file(3, cadence_codec(10**15, 3, 1, 4, 10_000 * 16 + 5, residuals), 13)
    _, times = assert_same(data)
    assert len(times) == 13


MODE_2_DAMAGE = {
    "unit 0": lambda: cadence_codec(5, 0, 0, 0, 10, [1, 2]),
    "63 fractional bits": lambda: cadence_codec(5, 1, 1, 63, 10, [1, 2]),
    "grid cadence 2^42": lambda: cadence_codec(5, 1, 1, 0, 1 << 42, [1, 2]),
    "grid cadence -2^42 - 1": lambda: cadence_codec(5, 1, 1, 0, -(1 << 42) - 1, [1, 2]),
    "cut short": lambda: cadence_codec(5, 3, 0, 0, 10, [7] * 40)[:-3],
    "bytes it never reads": lambda: cadence_codec(5, 3, 1, 2, 40, [7, 0, -3]) + bytes(5),
}


@pytest.mark.parametrize("name", sorted(MODE_2_DAMAGE))
def test_mode_2_damage_is_rejected(name):
    codec = MODE_2_DAMAGE[name]()
    n = 41 if name == "cut short" else 4 if name == "bytes it never reads" else 3
    _both_reject(_cadence_file(3, codec, n))


def test_mode_2_limits_are_not_damage():
    """The largest grid cadence and fractional bits a writer may use decode in both."""
    assert_same(_cadence_file(3, cadence_codec(-5, 1, 1, 62, (1 << 42) - 1, [0, 9, -9]), 4))
    assert_same(_cadence_file(3, cadence_codec(-5, 1, 0, 0, -(1 << 62), [0, 9, -9]), 4))


def _jittered(n: int, seed: int, cadence: int = 10_000, jitter: int = 2000) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return 1_780_000_000_000_000 + cadence * np.arange(n) + rng.integers(-jitter, jitter + 1, n)


@pytest.mark.parametrize("kind", ["integers", "decimals", "iso", "iso-ns", "gaps"])
def test_hippos_mode_2_files(kind):
    """Files of hippo's encoder whose frames use mode 2 (jittered times as integers,
    decimals and ISO ticks): the second decoder reads them to the same times."""
    n = 3000
    t = _jittered(n, 5)
    if kind == "decimals":
        t = t / 1e6  # seconds with 6 decimals
    elif kind == "iso":
        t = t.astype("datetime64[us]")
    elif kind == "iso-ns":
        t = (t * 1000 + 123).astype("datetime64[ns]")
    elif kind == "gaps":
        t = t + 10_000 * np.repeat(np.arange(4) * 17, n // 4)
    data = hippo_cli.encode(np.sin(np.arange(n) / 50.0), 0.01, times=t, frame_samples=1000)
    assert data[4] == 3
    from test_time_cadence import time_modes

    assert time_modes(data) == [2, 2, 2]
    assert_same(data)
