"""The bounded-error codec of one float64 channel (the payload of a .hippo channel part), and
the lossless time codec.

API: ChannelEncoder(eps).push(x) / .flush() -> frame payload; ChannelDecoder(eps).decode(payload,
n); encode_times(t) / decode_times(payload, n) for int64 time stamps (lossless). The randomized
self-test is tests/test_codec.py.

GUARANTEE. Every decoded sample y satisfies |y - x| <= eps in float64 (no slack), or is
bit-identical to x (raw block). The encoder only emits a grid index Q for a sample after
checking |float(Q)*step - x| <= eps with the very multiply the decoder performs; a block in
which some sample has no valid Q on any grid (NaN/inf, |x|/step >= 2^55, eps below the float
spacing of x, subnormal/zero/inf step) is stored raw.

BLOCKS AND LOOK-AHEAD. A frame of n samples is cut into blocks of B = 4096 samples from the frame
start (the last block may be shorter). Every encoder decision for a sample in block k (grid,
predictor, chosen Q) depends only on the samples of blocks 0..k of the current frame, so the
look-ahead is < 4096 samples (the interpolation predictor codes a block in coarse-to-fine order,
so it also needs the whole block before output). push() encodes each block as soon as it is
complete, so the byte output does not depend on how the input is chunked. flush() encodes the
partial block, terminates the coder and resets all state: frames are independent. Memory:
O(frame) in the encoder (output buffer) and in the decoder (its output; its scratch is O(B)).
Files written whole use frames of up to 2^20 samples (2^18 at the fast level; at most 2^22
values per frame); a stream may flush anywhere.

PAYLOAD. The bytes of a channel payload and of a time-stamp payload are specified
normatively in docs/format.md ("The range coder", "Residuals and their contexts", "Channel
payload, E > 0: the grid codec", "The time codec"); tests/reference_decoder.py is a second
decoder written from that document alone, and it agrees bit for bit. The kernels
(codec/_kernels.py) name their constants after it.

ENCODER (not normative). Per block: exact valid ranges on the four grids (m = 1, 2, 4, 8; coarse
grids derived from the finest by a shift, exact when the steps are: grid_ranges); level candidates
via a look-ahead segmenter inside the block (keep the previous level while valid; at a break
choose, inside the running intersection of the next samples' valid sets, the level valid longest);
smooth candidates (only if a cheap gate on the finest grid says "smooth": sum|d2| < sum|d1|/3 and
sum|d1| > 2L, for lm <= 2) by a closed loop choosing the valid Q nearest the prediction. Line
candidates (grids lm = 3, 2, 1, 0 until one fails the prefix gate): keep the line while its rounded
value is valid; at a break q = the valid Q nearest P, slope = the integer swing-filter interval of
slopes keeping every following sample of the block valid as long as possible (exact integer bounds,
the decoder's rounding), the slope nearest the prediction. Curve candidate (best line grid only):
the same with the curvature searched around C (+-d, then doubling steps while the segment gets
longer). Interpolation candidate (lm = 3): unit 8: the smallest valid |r| (keeps P whenever valid);
unit 4 (coarse strides, the references of all finer levels): the valid Q nearest the centre of the
valid range, so |error| <= eps/2 roughly (cf. SZ3's level-wise error bounds). Tried only if its
cost on a 1024-sample trial block beats the best level cost on that prefix. Line candidates are
abandoned when their cost on the first 1024 samples exceeds the best level cost there. Candidates
are ranked by a static bit estimate (Elias-gamma-like: 2 log2|r| + 2 per nonzero residual + 2
log2(run+1) + 1 per run, + 2 log2|e| + 3 per slope/curvature code, + 1 bit header if the
configuration is unchanged else 7); if the best two are of different families (level/smooth,
line/curve, interpolation) and within 12.5%, they are re-ranked by the exact adaptive-model cost of
their residuals. The level grid search stops as soon as a finer grid costs more. A block estimated
above 70 bits/sample goes raw.

DETERMINISM. The decoder uses integer arithmetic only (64-bit, every intermediate bounded by the
checks above), except step = (2.0*eps)/2^lm (exact scaling by a power of two, or one correctly
rounded IEEE division) and one IEEE-754 float64 multiply per sample. No fastmath, no
transcendental functions, no BLAS, no float reductions; the smooth taps are integers from exact
rational arithmetic. Hence bit-identical output on every IEEE-754 machine, and the encoder's
bound check (the same multiply) holds for the decoder.
"""

from fractions import Fraction

import numpy as np

from . import _kernels as K

B = K.B
HL = K.HL
MAXB = 48  # bytes per sample bound of the output buffer / payload sanity check


def _smooth_taps(W, d):
    """Exact one-step extrapolation taps of the least-squares degree-d polynomial through the last
    W values, written in first-difference form: P = H[j-1] + sum_{l=1}^{W-1} g_l (H[j-l] -
    H[j-l-1]); returns round(g_l * 2^16) computed in exact rational arithmetic (machine
    independent)."""
    ts = [Fraction(-k) for k in range(1, W + 1)]
    n = d + 1
    M = [[sum(t ** (a + b) for t in ts) for b in range(n)] for a in range(n)]
    # solve M c = e_row for each basis evaluation at t=0: h_k = sum_a (M^-1)[0,a] t_k^a
    inv = [[Fraction(int(i == j)) for j in range(n)] for i in range(n)]
    A = [row[:] for row in M]
    for c in range(n):
        p = next(r for r in range(c, n) if A[r][c] != 0)
        A[c], A[p] = A[p], A[c]
        inv[c], inv[p] = inv[p], inv[c]
        f = A[c][c]
        A[c] = [v / f for v in A[c]]
        inv[c] = [v / f for v in inv[c]]
        for r in range(n):
            if r != c and A[r][c] != 0:
                g = A[r][c]
                A[r] = [a - g * b for a, b in zip(A[r], A[c])]
                inv[r] = [a - g * b for a, b in zip(inv[r], inv[c])]
    h = [sum(inv[0][a] * t**a for a in range(n)) for t in ts]  # h_k, k = 1..W
    assert sum(h) == 1
    g = [-sum(h[i:]) for i in range(1, W)]  # g_l, l = 1..W-1
    out = [0] * 32
    for i, v in enumerate(g, start=1):
        q = v * (1 << K.GSH)
        out[i] = int((q.numerator * 2 + q.denominator) // (2 * q.denominator))  # round half up
    return out


# predictor table: id 0 = level (previous value); ids 1..3 = smooth (window W, degree d)
SMOOTH = [(8, 2), (16, 3), (32, 3)]


def make_tables(smooth=SMOOTH):
    assert len(smooth) <= K.LINE0 - 1
    NP = 1 + len(smooth)
    PW = np.zeros(NP, np.int64)
    PG = np.zeros((NP, 32), np.int64)
    for i, (W, d) in enumerate(smooth, start=1):
        PW[i] = W
        PG[i] = _smooth_taps(W, d)
    return PW, PG


PW, PG = make_tables()


class ChainState:
    """The grid codec's state after a channel part: what the same channel's part in a chained
    frame continues (docs/format.md, "Chained frames"). ``probs``: the adaptive model; ``st``:
    the state vector (its context sets, the last block's configuration and line state, ST_NH
    usable history values; the coder's registers are those of a new part); ``H``: the last HL
    history values (fine units). The encoder's and the decoder's agree wherever a decoder reads
    them (history values beyond ST_NH are never read)."""

    __slots__ = ("probs", "st", "H")

    def __init__(self, probs: np.ndarray, st: np.ndarray, H: np.ndarray) -> None:
        self.probs, self.st, self.H = probs, st, H
        st[K.ST_POS] = 0
        st[K.ST_LOW] = 0  # (the decoder's code register: the same slot)
        st[K.ST_RNG] = K.M32

    def copy(self) -> "ChainState":
        return ChainState(self.probs.copy(), self.st.copy(), self.H.copy())

    def same_as(self, other: "ChainState") -> bool:
        """The same model, context sets, configuration, line state and usable history."""
        nh = int(self.st[K.ST_NH])
        return (np.array_equal(self.probs, other.probs) and np.array_equal(self.st, other.st)
                and np.array_equal(self.H[K.HL - nh:], other.H[K.HL - nh:]))


class ChannelEncoder:
    """The grid encoder of one channel with bound ``eps``. Options (the kernels' OPT_* slots):
    ``mode`` (0: the candidates ranked by a static cost estimate; 1: by the exact adaptive cost
    of every candidate; 2: of the best two), ``smooth``/``smooth_on``, ``line_on``, ``plen`` (the
    prefix of the line and interpolation gates), ``interp_on``, ``grids`` (a mask of 1 << lm),
    ``check`` (the encoder checks the bound of every coded sample), ``cut`` (mode 0: a candidate
    is abandoned once it can no longer be coded; the same bytes as ``cut=0``, faster)."""

    def __init__(
        self,
        eps: float,
        mode: int = 0,
        smooth=None,
        smooth_on: int = 0,
        line_on: int = 1,
        plen: int = 1024,
        interp_on: int = 1,
        grids: int = 15,
        check: int = 0,
        cut: int = 1,
    ) -> None:
        self.interp_on = interp_on
        self.check = check
        self.eps = float(eps)
        self.mode = mode
        self.smooth_on = smooth_on
        self.line_on = line_on
        self.plen = plen
        if smooth is None:
            self.PW, self.PG = PW, PG
        else:
            self.PW, self.PG = make_tables(smooth)
        opt = np.zeros(K.NOPT, np.int64)
        opt[K.OPT_MODE] = mode
        opt[K.OPT_SMOOTH] = smooth_on
        opt[K.OPT_LINE] = line_on
        opt[K.OPT_PLEN] = plen
        opt[K.OPT_INTERP] = interp_on
        opt[K.OPT_GRIDS] = grids
        opt[K.OPT_CHECK] = check
        opt[K.OPT_CUT] = cut
        self.opt = opt
        # scratch of encode_blocks (see its docstring). The large arrays are np.empty: every
        # element is written before it is read (codec_hashes.py gives the same bytes with them
        # filled with garbage), and np.zeros of heap memory being reused is a memset of 3 MB
        # per encoder, a millisecond per encode() call
        NC = K.NCAND
        self.lo = np.empty((4, B), np.int64)
        self.hi = np.empty((4, B), np.int64)
        self.ok = np.zeros(4, np.int64)
        self.costs = np.zeros(NC, np.int64)
        self.Qs = np.empty((NC, B), np.int64)
        self.Rs = np.empty((NC, B), np.int64)
        self.Es = np.empty((NC, B), np.int64)
        self.LSs = np.empty((NC, 5), np.int64)
        self.Wk = np.empty(HL + B + 1, np.int64)
        self.steps = np.zeros(4, np.float64)
        self.pw = K.new_model()
        self.sw = K.new_state()
        self.cost = np.zeros(1, np.float64)
        self.stats = np.zeros(K.NSTATS, np.int64)
        self.buf = np.zeros(B, np.float64)
        self._buf_in = read_only(self.buf)
        self.nbuf = 0
        self._new_frame()
        self.set_bound(eps)

    def set_bound(self, eps: float) -> None:
        """The bound of the next frame (between frames only): one encoder, and its scratch of
        about 3 MB, serves channels of any bound."""
        if self.pending:
            raise ValueError("the bound changes between frames only")
        self.eps = float(eps)
        self._valid_eps = self.eps > 0 and np.isfinite(self.eps)

    def _new_frame(self, chain: ChainState | None = None):
        if chain is None:
            self.probs = K.new_model()
            self.st = K.new_state()
            self.H = np.zeros(HL, np.int64)
        else:  # a chained frame continues the state (a copy: the caller's stays as it is)
            chain = chain.copy()
            self.probs, self.st, self.H = chain.probs, chain.st, chain.H
        # the output buffer is kept from frame to frame (grown, never shrunk): a new one per
        # frame would map and unmap megabytes each time, and unmapping stops every other
        # thread of the process for a TLB shootdown. The coder writes every byte it reads
        # (a carry only reaches bytes of this frame), so stale bytes past the end are harmless.
        if getattr(self, "out", None) is None:
            self.out = np.empty(1 << 16, np.uint8)
        self.pending = 0

    def _reserve(self, nsamp):
        need = int(self.st[K.ST_POS]) + MAXB * nsamp + 64 * (nsamp // B + 2)
        if need > self.out.shape[0]:
            # np.empty: np.zeros of memory the heap reuses is a memset of megabytes (the
            # reserve is MAXB bytes per sample), and the coder never reads a byte it has not
            # written
            o = np.empty(max(need, 2 * self.out.shape[0]), np.uint8)
            pos = int(self.st[K.ST_POS])
            o[:pos] = self.out[:pos]
            self.out = o

    def _encode(self, x, s, nblk, Llast, finish=False):
        self._reserve((nblk - 1) * B + Llast if nblk else 0)
        eps = self.eps if self._valid_eps else np.nan
        return K.encode_blocks(
            x, x.view(np.int64), s, nblk, Llast, finish, eps, self.opt, self.PW, self.PG, K.LOG2T,
            self.probs, self.st, self.out, self.H,
            self.lo, self.hi, self.ok, self.costs, self.Qs, self.Rs, self.Es, self.LSs, self.Wk,
            self.steps, self.pw, self.sw, self.cost, self.stats,
        )  # fmt: skip

    def push(self, x: np.ndarray) -> None:
        x = read_only(np.ascontiguousarray(x, dtype=np.float64).ravel())
        n = x.shape[0]
        if n == 0:
            return
        self.pending += n
        i = 0
        if self.nbuf > 0:
            take = min(B - self.nbuf, n)
            self.buf[self.nbuf : self.nbuf + take] = x[:take]
            self.nbuf += take
            i = take
            if self.nbuf == B:
                self._encode(self._buf_in, 0, 1, B)
                self.nbuf = 0
        nfull = (n - i) // B
        if nfull:
            self._encode(x, i, nfull, B)
            i += nfull * B
        if i < n:
            r = n - i
            self.buf[:r] = x[i:]
            self.nbuf = r

    def coded_bytes(self) -> int:
        """The bytes the part's coder has written so far (its blocks pushed whole; the end of
        the range coder is not among them)."""
        return int(self.st[K.ST_POS])

    def start(self, chain: ChainState | None) -> None:
        """The next frame's part continues ``chain`` (a chained frame), or starts anew (None);
        before its first :meth:`push`."""
        if self.pending:
            raise ValueError("a part starts before its first sample")
        self._new_frame(chain)

    def flush(self) -> bytes:
        payload, _ = self.flush_state()
        return payload

    def flush_state(self) -> tuple[bytes, ChainState | None]:
        """:meth:`flush`, and the state a chained frame after it continues (None: no
        samples)."""
        if self.pending == 0:
            self._new_frame()
            return b"", None
        k = self._encode(self._buf_in, 0, 1 if self.nbuf else 0, self.nbuf, finish=True)
        self.nbuf = 0
        payload = self.out[:k].tobytes()
        misses = int(self.stats[K.CHECKED])
        self.stats[K.CHECKED] = 0
        state = ChainState(self.probs, self.st, self.H)
        self._new_frame()
        if misses:  # never reached: the candidates keep every index valid
            raise RuntimeError(f"the encoder's bound check failed on {misses} samples")
        return payload, state


class ChannelDecoder:
    def __init__(self, eps: float, smooth=None) -> None:
        self.eps = float(eps)
        if not (self.eps > 0 and np.isfinite(self.eps)):
            self.eps = np.nan
        if smooth is None:
            self.PW, self.PG = PW, PG
        else:
            self.PW, self.PG = make_tables(smooth)

    def decode(self, payload: bytes, n: int, out: np.ndarray | None = None) -> np.ndarray:
        """float64 (n,) of a payload, into ``out`` (float64 (n,), C-contiguous) if given."""
        x, _ = self.decode_state(payload, n, out)
        return x

    def decode_state(self, payload: bytes, n: int, out: np.ndarray | None = None,
                     chain: ChainState | None = None) -> tuple[np.ndarray, ChainState | None]:
        """:meth:`decode`, continuing ``chain`` (a chained frame; it is not changed) unless
        None, and the state a chained frame after it continues."""
        n = _frame_count(payload, n)
        if n == 0:
            return np.zeros(0, np.float64), chain
        buf = read_only(np.frombuffer(payload, np.uint8))
        if buf.shape[0] > MAXB * n + 64 * (n // B + 2):
            raise ValueError("payload too long for the sample count")
        x = np.empty(n, np.float64) if out is None else out
        H = np.empty(HL + B, np.int64)  # the history and one block (shifted between blocks)
        R = np.empty(B, np.int64)
        E = np.empty(2 * B, np.int64)
        if chain is None:
            probs, ds = K.new_model(), K.new_state()
        else:
            probs, ds = chain.probs.copy(), chain.st.copy()
            H[:HL] = chain.H
        rc = K.decode_frame(
            buf, n, self.eps, self.PW, self.PG, x, x.view(np.int64), H, R, E, probs, ds,
            0 if chain is None else 1,
        )
        if rc != 0:
            raise ValueError(f"malformed payload ({DECODER_ERRORS[rc]})")
        return x, ChainState(probs, ds, H[:HL].copy())


_TLIM = 1 << 61

# what a decoder error code (K.ERR_*) says about the payload
DECODER_ERRORS = {
    K.ERR_TRUNCATED: "it ends before the last sample",
    K.ERR_RANGE: "a value beyond the bounds any encoder output keeps",
    K.ERR_CONFIG: "a block configuration that does not exist",
    K.ERR_LENGTH: "its length does not match the coded samples",
    K.ERR_CODE: "a code table or a code word that does not exist",
}


def compile_encoder(times: bool = True, cadence: bool = True) -> None:
    """Compile (or load from numba's cache) the encoder's kernels: the channel encoder and,
    with ``times``, the time encoder (with ``cadence``, its mode 2 too), on a few samples."""
    enc = ChannelEncoder(1.0)
    enc.push(np.arange(3.0))
    enc.flush()
    if times:
        compile_time_encoder(cadence)


def compile_time_encoder(cadence: bool = True) -> None:
    """Compile (or load) the time encoder: mode 0 and, with ``cadence``, mode 2, which the
    encoder calls only for some times (so that a job pays for it before its first frame)."""
    t = read_only(np.arange(3, dtype=np.int64))
    out, R = np.zeros(128, np.uint8), np.zeros(3, np.int64)
    K.enc_times(t, out, R, K.new_model(), K.new_state(), np.zeros(1), K.LOG2T)
    if cadence:
        K.enc_times2(t, 1, 0, 0, 1, out, R, K.new_model(), K.new_state(), np.zeros(1),
                     K.LOG2T, 1)


def compile_decoder(times: bool = True, cadence: bool = True) -> None:
    """Compile (or load from numba's cache) the decoder's kernels: the channel decoder and,
    with ``times``, the time decoder (with ``cadence``, its mode 2 too: format version 3), by
    decoding a payload that ends at once (an error, caught)."""
    decoders = [lambda: ChannelDecoder(1.0).decode(b"\x00", 1)]
    if times:
        decoders.append(lambda: decode_times(b"\x00\x00", 1))
        if cadence:
            decoders.append(lambda: decode_times(b"\x02\x00", 1, cadence=True))
    for decode in decoders:
        try:
            decode()
        except ValueError:
            pass


def read_only(a: np.ndarray) -> np.ndarray:
    """A read-only view of ``a``: the kernels are compiled for read-only inputs only (one
    signature, whatever the caller's array)."""
    v = a.view()
    v.setflags(write=False)
    return v


def encode_times(t: np.ndarray, cadence: bool = False,
                 before: tuple[int, int] | None = None) -> bytes:
    """int64 (n,) time stamps -> bytes, lossless (docs/format.md, "The time codec"): mode 0
    (delta of deltas) or, out of its range, mode 1 (raw). ``cadence`` (format version 3): mode
    0 or 2 (a unit, a cadence, steps or a grid), whichever :func:`_estimated_bits` expects to
    be shorter (the candidates of :func:`_cadence_candidates`); when mode 0 is expected within
    :data:`_CLOSE` of the best, both are coded and the shorter kept (estimates cost a small
    part of a coding: the frame is coded once, or twice when close). ``before``: the last two
    times of the stream before these (a chained frame): mode 3 (the delta of deltas continued
    from them) is coded too, and the shortest kept."""
    t = read_only(np.ascontiguousarray(t, dtype=np.int64).ravel())
    n = t.shape[0]
    if n == 0:
        return b""
    lo_, hi_ = int(t.min()), int(t.max())
    if max(abs(lo_), abs(hi_)) >= _TLIM or hi_ - lo_ >= _TLIM:
        return b"\x01" + t.astype("<i8").tobytes()
    best = _mode3(t, before, lo_, hi_)
    if best is not None and len(best) <= 3:  # a regular cadence continued: nothing is shorter
        return best
    shortest = _encode_times(t, cadence)
    return best if best is not None and len(best) < len(shortest) else shortest


def _mode3(t: np.ndarray, before: tuple[int, int] | None, lo_: int, hi_: int) -> bytes | None:
    """Mode 3 of times t (int64 (n,), n >= 1) after ``before``, or None if there is none or
    the values with it leave mode 0's range."""
    if before is None:
        return None
    lo_, hi_ = min(lo_, *before), max(hi_, *before)
    if max(abs(lo_), abs(hi_)) >= _TLIM or hi_ - lo_ >= _TLIM:
        return None
    n = t.shape[0]
    out = np.zeros(16 * n + 64, np.uint8)
    k = K.enc_times3(t, before[0], before[1], out, np.zeros(n, np.int64), K.new_model(),
                     K.new_state(), np.zeros(1), K.LOG2T)
    return b"\x03" + out[:k].tobytes()


def _encode_times(t: np.ndarray, cadence: bool) -> bytes:
    """Mode 0 or (``cadence``) 2 of times t (int64 (n,), n >= 1, within mode 0's range)."""
    n = t.shape[0]
    out = np.zeros(16 * n + 64, np.uint8)
    R = np.zeros(max(n, 1), np.int64)
    best = None
    if cadence and n > 2:
        dd = np.diff(t, 2)
        if dd.any():  # else mode 0 is a few bytes, whatever the rest
            mode0 = _estimated_bits(dd) + _big_bits(int(t[1]) - int(t[0]))
            q, s, candidates = _cadence_candidates(t)
            costs = []
            for grid, f, C in candidates:
                head = _big_bits(q) - 1 + 1 + 6 * grid + _big_bits(C)  # q >= 1: not zigzag
                if grid:
                    K.enc_times2(t, q, grid, f, C, out, R, K.new_model(), K.new_state(),
                                 np.zeros(1), K.LOG2T, 0)  # the residuals only
                    costs.append(head + _estimated_bits(R[:n - 1]))
                else:
                    costs.append(head + _estimated_bits(np.diff(s) - C))
            pick = int(np.argmin(costs))
            if costs[pick] < mode0:
                grid, f, C = candidates[pick]
                k = K.enc_times2(t, q, grid, f, C, out, R, K.new_model(), K.new_state(),
                                 np.zeros(1), K.LOG2T, 1)
                best = b"\x02" + out[:k].tobytes()
                if mode0 > costs[pick] * (1 + _CLOSE) + _CLOSE_BITS:
                    return best
    k = K.enc_times(t, out, R, K.new_model(), K.new_state(), np.zeros(1), K.LOG2T)
    if best is not None and len(best) < k + 1:
        return best
    return b"\x00" + out[:k].tobytes()


#: How close (a fraction, and bits) the cost estimates of mode 0 and of the best mode-2 coding
#: must be for the encoder to code both and keep the shorter (the estimate misses the
#: contexts and the model's learning, which count most in short frames).
_CLOSE, _CLOSE_BITS = 0.05, 256


def _big_bits(v: int) -> int:
    """The bits of the big value of zigzag(v)."""
    return 6 + ((v << 1) ^ (v >> 63)).bit_length()


def _estimated_bits(r: np.ndarray) -> float:
    """The bits residuals r (int64) are expected to cost in context set 0: the empirical
    entropy of their bit lengths (the zero flag and unary length), the bits below the leading
    one, and the entropy of their signs. It ignores the neighbours' contexts and the model's
    learning: good enough to rank codings of the same times."""
    n = len(r)
    if n == 0:
        return 0.0
    a = np.abs(r).astype(np.float64)  # |r| < 2^62: at worst one bit long near a power of 2
    lengths = np.frexp(a)[1]  # bit length, 0 for 0
    counts = np.bincount(lengths, minlength=1)
    p = counts[counts > 0] / n
    bits = -n * float(np.sum(p * np.log2(p)))
    nonzero = n - int(counts[0])
    bits += float(lengths.sum()) - nonzero
    if nonzero:
        neg = int(np.count_nonzero(r < 0)) / nonzero
        if 0 < neg < 1:
            bits -= nonzero * (neg * np.log2(neg) + (1 - neg) * np.log2(1 - neg))
    return bits


def _cadence_candidates(t: np.ndarray) -> tuple[int, np.ndarray, list[tuple[int, int, int]]]:
    """The unit q (the greatest common divisor of t - t[0], 1 if they are all 0) of time
    stamps t int64 (n >= 3, within mode 0's range), the units s = (t - t[0]) / q, and the
    mode-2 codings worth trying, (grid, f, C): steps against the median step and against the
    least step (counts that start from the least), and, for a positive median step c below
    2^41, the grid at c and at the mean cadence over the frame in fixed point (f fractional
    bits, 24 at most, below 2^41): the span over the cadences the steps hold (each step
    rounded to a whole number of c, at least 1), so that dropped samples do not bend it."""
    d0 = t - t[0]
    q = int(np.gcd.reduce(d0)) or 1
    s = d0 // q if q > 1 else d0
    d = np.diff(s)
    c = int(np.partition(d, len(d) // 2)[len(d) // 2])
    least = int(d.min())
    candidates = [(0, 0, c)] + ([(0, 0, least)] if least != c else [])
    if 0 < c < 1 << 41:
        candidates.append((1, 0, c))
        cadences = int(np.maximum(np.rint(d / c), 1).sum())
        f = max(0, min(24, 40 - c.bit_length()))
        fine = (int(s[-1]) * 2 ** (f + 1) + cadences) // (2 * cadences)
        if 0 < fine < 1 << 41 and fine != c << f:
            candidates.append((1, f, fine))
    return q, s, candidates


def _frame_count(payload: bytes, n: int) -> int:
    """The sample count of a frame, checked: >= 0, and an empty frame has no payload."""
    n = int(n)
    if n < 0:
        raise ValueError("negative sample count")
    if n == 0 and len(payload):
        raise ValueError("non-empty payload for an empty frame")
    return n


def decode_times(payload: bytes, n: int, cadence: bool = False,
                 before: tuple[int, int] | None = None, chained: bool = False) -> np.ndarray:
    """bytes -> int64 (n,), the inverse of :func:`encode_times`; ``cadence``: mode 2 is
    allowed (format version 3), else it is damage; ``chained`` (a chained frame): mode 3 is
    allowed, continuing ``before`` (the last two times before these; None: damage)."""
    n = _frame_count(payload, n)
    if n == 0:
        return np.zeros(0, np.int64)
    if len(payload) < 1:
        raise ValueError("empty payload")
    if payload[0] == 1:
        if len(payload) != 1 + 8 * n:
            raise ValueError("bad raw time payload length")
        return np.frombuffer(payload, "<i8", n, 1).astype(np.int64)
    if payload[0] == 3 and chained and before is None:
        raise ValueError("a time part that continues times the frame before did not hold")
    if payload[0] != 0 and not (cadence and payload[0] == 2) and not (
            chained and payload[0] == 3):
        raise ValueError("bad time payload mode")
    buf = read_only(np.frombuffer(payload, np.uint8)[1:])
    if buf.shape[0] > 16 * n + 64:
        raise ValueError("payload too long")
    t = np.empty(n, np.int64)
    if payload[0] == 3:
        rc = K.dec_times3(buf, n, before[0], before[1], t, np.empty(n, np.int64),
                          K.new_model(), K.new_state())
    else:
        decode = K.dec_times if payload[0] == 0 else K.dec_times2
        rc = decode(buf, n, t, np.empty(n, np.int64), K.new_model(), K.new_state())
    if rc != 0:
        raise ValueError(f"malformed time payload ({DECODER_ERRORS[rc]})")
    return t
