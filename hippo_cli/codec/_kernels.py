"""Numba kernels of the bounded-error codec (:mod:`hippo_cli.codec.grid`; the payload is
specified in docs/format.md, whose names the constants below follow). Every jitted function of
the codec lives in this one file: numba's cache watches only the defining file.

Layout: constants and slot names; the residual model's contexts; the range encoder and the
residual coder; the predictions shared by encoder and decoder; the encoder (analysis of a block,
candidate quantisers, then the stages of a block: _analyse, _level_candidates /
_line_candidates / _interp_candidate, _choose, _emit, driven by encode_blocks); the range
decoder and the residual decoder; the decoder (_dec_header, dec_residuals, then _rec_level /
_rec_line / _rec_interp, driven by decode_frame); the time stamps.

Compilation. Every kernel is compiled once per install and cached. Helpers (called only from
other kernels) are declared with their one signature, so a caller's literal or narrower integer
argument is converted instead of compiling another specialisation, and no Python wrapper is
built for them. No helper is inlined at numba-IR level (``inline="always"`` repeated the type
inference of a helper at each call site; LLVM still inlines the small ones, but not a larger one
that takes arrays: numba passes an array as seven arguments, so a per-bit helper of that kind is
written out in its kernel, as in mx_code). The entry points
called from grid.py (encode_blocks, decode_frame, enc_times, dec_times, enc_times2, dec_times2)
and mixing.py (mx_code) are compiled on first call, with every helper (_Entry), or
loaded from the cache without them; the callers always pass the same array types
(C-contiguous, inputs read-only), so each has one signature.

Run time. No kernel allocates: grid.py passes every array (model, state vector, scratch), so the
kernels run without numba's reference counting (``_nrt=False``) and release the GIL. Integer
division follows numpy's error model (no divisor in this file can be zero). No fastmath: the
decode path is integer arithmetic plus, per sample, one float64 product x = float(Q) * step with
step = (2.0*eps) / float(1 << lm) (IEEE-754, round to nearest), so it is bit-identical on every
IEEE-754 machine.
"""

import threading

import numba as nb
import numpy as np
from numba.core.errors import TypingError
from numba.cpython.unsafe.numbers import leading_zeros

from .._jit import cached, watch

# measured on a 2-core machine: a compress job (encoder, and the decoder in a second
# process), a reconstruct (the decoder only), a coefficient job's time stamps
watch(__name__, "the codec", 10, first={"decode_frame": 4, "dec_times": 2, "enc_times": 2,
                                        "dec_times2": 2, "enc_times2": 2})

# ============================================================== constants
# ---- blocks and grids
B = 4096  # block length (look-ahead bound)
HL = 4160  # history kept across blocks (fine-grid units): one block + 64
SHL = 64  # history window of the smooth-predictor gate
FINE = 3  # finest grid: m = 8 (lm = 3); history is kept in units of 2*eps/8
QLIM = 36028797018963968.0  # 2^55: |x/step| must be below this for a grid index to be usable
QMAXI = np.int64(1) << 56  # decoder sanity bound on |Q|
DLIM = np.int64(1) << 36  # smooth predictors need |first differences| (fine units) below this
GSH = 16  # fixed-point shift of the smooth-predictor taps

# ---- range coder and residual model (context index layout)
PB = 15  # probability precision (bits)
PONE = 1 << PB
TOPV = 1 << 24  # renormalise while range < TOPV
M32 = 0xFFFFFFFF
NZ = 52  # zero-flag contexts of a residual set
NS = 12  # sign contexts
NMC = 8  # magnitude classes
NU = 64  # unary contexts per class
CM = NZ + NS + NMC * NU  # first mantissa context (M1 at CM + 2k, M2 at CM + 128 + 2k + b)
CH = CM + 256  # header contexts H0..H2 (CHANGED, RAW, ALLZERO)
OFF2 = CH + 8  # second residual context set (slope codes of the line predictors)
OFF3 = OFF2 + CH  # third residual context set (curvature codes)
NCTX = OFF2 + 2 * CH
LZ = 5  # adaptation-shift limit of zero-flag and header contexts
LMX = 6  # adaptation-shift limit of all other contexts

# ---- predictors and block configurations (cfg = 8*lm + pred)
NPRED = 7  # 0 level, 1..3 smooth, 4 line, 5 curve, 6 interpolation
LINE0 = 4
CURVE = 5
INTERP = 6
NCAND = 4 * NPRED  # encoder candidates: ci = lm*NPRED + pred
RAWCFG = 32
ICS = 64  # interpolation: strides s >= ICS use residual unit 4 (= eps) and the Q nearest the centre
IQLIM = np.int64(1) << 44  # interpolation mode: |grid index| < IQLIM (anchor and every sample)
LK = 24  # line state fixed point: accumulator/slope/curvature in units of 2^-LK grid steps
LS = 12  # slope codes in units of 2^-LS grid steps per sample
SLIM = np.int64(1) << 33  # |slope code value| <= SLIM
CLIM = np.int64(1) << 32  # |curvature| (2^-LK grid steps per sample^2) <= CLIM
XLIM = np.int64(1) << 33  # encoder: a segment never strays 2^33 grid steps from its start level
ALIM = np.int64(1) << 60  # decoder: |line accumulator| must stay below this
VLIM = np.int64(1) << 58  # decoder: |slope accumulator| must stay below this
BIG = np.int64(1) << 62  # cost of a candidate that does not exist or was abandoned
CUT = BIG + 1  # cost of a candidate abandoned once it can no longer be coded (_cut)

# ---- the state vector of a frame (int64, from new_state(); encoder and decoder alike)
ST_LOW = 0  # encoder: low end of the coder interval (32 bits)
ST_CODE = 0  # decoder: the code register (same slot)
ST_RNG = 1  # coder range
ST_POS = 2  # bytes written (encoder) or consumed (decoder)
ST_CFG = 3  # configuration of the previous block of the frame (-1: none yet)
ST_NH = 4  # encoder: valid history values (at most HL)
ST_QB = 5  # line/curve state, carried to the next block if its configuration is the same:
ST_A = 6  # level at the last break, accumulator, slope and curvature (units 2^-LK)
ST_V = 7
ST_C = 8
CS_RUN = 0  # a residual context set: current zero-run length,
CS_LG = 1  # floor(log2 run), maintained incrementally,
CS_R1 = 2  # the previous two residuals of the set,
CS_R2 = 3
CS_SGN = 4  # and the sign of the last nonzero one (0 none, 1 positive, 2 negative)
CS_N = 5
SET0 = 9  # sample residuals (and time stamps)
SET1 = SET0 + CS_N  # slope codes
SET2 = SET1 + CS_N  # curvature codes
NSTATE = SET2 + CS_N
COSTING = -1  # ST_POS of a coder in cost mode (see the range encoder)

# ---- encoder options (int64 vector from grid.py)
OPT_MODE = 0  # 0 static cost estimate, 1 exact adaptive cost of every candidate, 2 top-2 exact
OPT_SMOOTH = 1  # try the smooth predictors
OPT_LINE = 2  # try the line and curve predictors
OPT_PLEN = 3  # prefix length of the line and interpolation gates
OPT_INTERP = 4  # try the interpolation predictor
OPT_GRIDS = 5  # the grids tried, a mask of 1 << lm (all four: 15)
OPT_CHECK = 6  # 1: _emit checks the bound of every coded sample (stats[CHECKED] counts misses)
OPT_CUT = 7  # 1: mode 0 abandons a candidate once it can no longer be coded (_cut; same bytes)
NOPT = 8
CHECKED = NCAND + 1  # stats slot of the samples _emit found outside the bound (OPT_CHECK)
CUTS = NCAND + 2  # stats slot of the line and curve candidates abandoned (_line_candidates)
NSTATS = NCAND + 3
USE_SMOOTH = 1  # candidate families worth trying in a block (_analyse)
USE_LINE = 2
USE_INTERP = 4

# ---- decoder errors (grid.py words them for users)
ERR_TRUNCATED = -1
ERR_RANGE = -2
ERR_CONFIG = -3
ERR_LENGTH = -4
ERR_CODE = -5  # the Huffman codec: a code table or a code word that does not exist

# log2 cost of a modelled bit, -log2(p / PONE), for the adaptive cost (cost mode of the coder)
LOG2T = np.zeros(PONE + 1)
for _p in range(1, PONE):
    LOG2T[_p] = -np.log2(_p / PONE)
LOG2T[0] = 30.0
LOG2T[PONE] = 0.0


def new_model():
    """The adaptive model at frame start: NCTX probabilities P(0) = 1/2, then NCTX shifts 1."""
    p = np.empty(2 * NCTX, np.int32)
    p[:NCTX] = PONE >> 1
    p[NCTX:] = 1
    return p


def new_state():
    """The state vector at frame start (slots ST_*, context sets SET0..SET2)."""
    st = np.zeros(NSTATE, np.int64)
    st[ST_RNG] = M32
    st[ST_CFG] = -1
    return st


# ============================================================== kernel types
_OPTS = dict(cache=cached(), nogil=True, _nrt=False, error_model="numpy")
_HELPERS = []  # (name, function, signature) of every helper, in definition order (callees first)
_LOCK = threading.Lock()


def kernel(*signature):
    """Decorator of a codec kernel. A helper gives its one signature: it stays a Python function
    until _compile_helpers compiles it for that signature only (a caller's literal or narrower
    integer argument is converted, never specialised; no Python wrapper). An entry point (called
    from grid.py) gives none: see _Entry."""
    if signature:

        def helper(fn):
            _HELPERS.append((fn.__name__, fn, signature[0]))
            return fn

        return helper
    return _Entry


def _needs(fn) -> list[tuple[str, object, object]]:
    """The helpers ``fn`` calls, directly or through other helpers, in definition order
    (callees first): what its compilation needs, and nothing more."""
    helpers = {name: (name, f, sig) for name, f, sig in _HELPERS}
    todo, seen = [fn], set()
    while todo:
        for name in todo.pop().__code__.co_names:
            if name in helpers and name not in seen:
                seen.add(name)
                todo.append(helpers[name][1])
    return [h for h in _HELPERS if h[0] in seen]


def _compile_helpers(needed) -> None:
    """Compile the ``needed`` helpers for their signature (or load them from the cache),
    callees first, and bind each name in this module to the compiled function."""
    with _LOCK:
        g = globals()
        for name, fn, sig in needed:
            if g[name] is fn:
                g[name] = nb.njit(sig, no_cpython_wrapper=True, no_cfunc_wrapper=True,
                                  **_OPTS)(fn)


class _Entry:
    """An entry point: compiled on its first call, or loaded from numba's cache. A cached entry
    holds the code of its helpers, so a warm process compiles and loads no helper. A compile
    finds its helpers not compiled yet (a typing error): those it calls are compiled (and only
    those: the decoder's compile never waits for the encoder's helpers), then the entry with a
    fresh dispatcher (numba remembers failed typings)."""

    def __init__(self, fn):
        self.fn = fn
        self.__doc__ = fn.__doc__
        self.dispatcher = nb.njit(no_cfunc_wrapper=True, **_OPTS)(fn)

    def __call__(self, *args):
        try:
            return self.dispatcher(*args)
        except TypingError:
            # another thread may have compiled the helpers since this typing failed: retry
            # with a fresh dispatcher in any case (a real typing error fails again)
            _compile_helpers(_needs(self.fn))
            self.dispatcher = nb.njit(no_cfunc_wrapper=True, **_OPTS)(self.fn)
            return self.dispatcher(*args)


i8 = nb.int64
f8 = nb.float64
b1 = nb.boolean
I8 = nb.int64[::1]  # int64 vector: state, history, one candidate's rows
I8M = nb.int64[:, ::1]  # int64 matrix: grid ranges, candidates, smooth taps
F8 = nb.float64[::1]
P32 = nb.int32[::1]  # the adaptive model
OUT = nb.uint8[::1]  # encoder output buffer
PAY = nb.types.Array(nb.uint8, 1, "C", readonly=True)  # payload being decoded
XIN = nb.types.Array(nb.float64, 1, "C", readonly=True)  # samples being encoded
XBITS = nb.types.Array(nb.int64, 1, "C", readonly=True)  # the same memory viewed as int64
T2 = nb.types.UniTuple(i8, 2)
T3 = nb.types.UniTuple(i8, 3)
T4 = nb.types.UniTuple(i8, 4)


# ============================================================== residual model contexts
@kernel(i8(i8))
def _ilog2(v):
    """floor(log2 v) for v >= 1: a fixed binary search (selects, not a loop whose length is the
    answer: its exit would be mispredicted for every residual)."""
    k = np.int64(0)
    if v >= np.int64(1) << 32:
        v >>= 32
        k += 32
    if v >= 1 << 16:
        v >>= 16
        k += 16
    if v >= 1 << 8:
        v >>= 8
        k += 8
    if v >= 1 << 4:
        v >>= 4
        k += 4
    if v >= 1 << 2:
        v >>= 2
        k += 2
    if v >= 1 << 1:
        k += 1
    return k


@kernel(i8(i8))
def _cls(a):
    """Magnitude class of a = |r1| + |r2|/2: {0, 1, 2, 3-4, 5-8, 9-16, 17-64, >64}."""
    if a <= 2:
        return a
    if a <= 4:
        return 3
    if a <= 8:
        return 4
    if a <= 16:
        return 5
    if a <= 64:
        return 6
    return 7


@kernel(i8(i8, i8, i8, i8))
def _zctx(run, lg, a1, a2):
    """Zero-flag context from the zero run and the magnitudes of the previous two residuals."""
    if run == 0 and a1 > 0:
        return (min(a1, 3) - 1) * 4 + min(a2, 3)
    if run == 1:
        return 12 + min(a2, 3)
    return 16 + min(lg, 35)


@kernel(i8(i8, i8, i8))
def _sctx(r1, r2, lastsgn):
    """Sign context from the signs of the previous two residuals (or of the last nonzero one)."""
    s1 = 0 if r1 == 0 else (1 if r1 > 0 else 2)
    s2 = 0 if r2 == 0 else (1 if r2 > 0 else 2)
    if s1 == 0 and s2 == 0:
        return 9 + lastsgn
    return s1 * 3 + s2


# ============================================================== range encoder
# The coder registers (pos, low, rng) live in the state vector between kernels and in local
# variables inside them: the per-bit helpers take and return them. pos = COSTING selects the cost
# mode: the bits are not written, their cost -log2 P(bit) is added to cost[0] (adaptive_cost).
@kernel(nb.void(OUT, i8))
def _carry(out, pos):
    """Propagate a carry out of bit 32 into the bytes already written."""
    j = pos - 1
    while j >= 0 and out[j] == 255:
        out[j] = 0
        j -= 1
    if j >= 0:
        out[j] += 1


@kernel(T3(OUT, i8, i8, i8))
def _eshift(out, pos, low, rng):
    """Renormalise: shift out top bytes of low while rng < TOPV."""
    while rng < TOPV:
        out[pos] = (low >> 24) & 0xFF
        pos += 1
        low = (low << 8) & M32
        rng <<= 8
    return pos, low, rng


@kernel(T3(OUT, i8, i8, i8, i8, i8))
def _esplit(out, pos, low, rng, bound, bit):
    """Code ``bit``: the range's first ``bound`` for a 0, the rest for a 1; renormalise."""
    if bit == 0:
        rng = bound
    else:
        low += bound
        rng -= bound
        if low > M32:
            low &= M32
            _carry(out, pos)
    return _eshift(out, pos, low, rng)


@kernel(T3(OUT, i8, i8, i8, P32, i8, i8, i8, F8, F8))
def _ebit(out, pos, low, rng, probs, ci, bit, lim, cost, T):
    """Code ``bit`` with context ``ci`` and adapt the context (shift limit ``lim``)."""
    p = np.int64(probs[ci])
    sh = probs[NCTX + ci]
    if sh < lim:
        probs[NCTX + ci] = sh + 1
    if bit == 0:
        probs[ci] = p + ((PONE - p) >> sh)
    else:
        probs[ci] = p - (p >> sh)
    if pos == COSTING:
        cost[0] += T[p] if bit == 0 else T[PONE - p]
        return pos, low, rng
    return _esplit(out, pos, low, rng, (rng >> PB) * p, bit)


@kernel(T3(OUT, i8, i8, i8, i8, i8, F8))
def _edirect(out, pos, low, rng, v, nbits, cost):
    """Code the low ``nbits`` bits of v as direct bits, MSB first."""
    if pos == COSTING:
        cost[0] += nbits
        return pos, low, rng
    for b in range(nbits - 1, -1, -1):
        rng >>= 1
        if (v >> b) & 1:
            low += rng
            if low > M32:
                low &= M32
                _carry(out, pos)
        pos, low, rng = _eshift(out, pos, low, rng)
    return pos, low, rng


@kernel(T2(i8, i8))
def _zero_run(run, lg):
    """The zero-run state after one more zero residual: run + 1 and floor(log2(run + 1))."""
    run += 1
    if (run & (run - 1)) == 0:
        lg = 0 if run == 1 else lg + 1
    return run, lg


@kernel(nb.void(I8, i8, I8, i8, OUT, I8, P32, F8, F8))
def enc_residuals(R, L, E, line, out, st, probs, cost, T):
    """Code the residuals R[0..L) with context set 0; line >= 1: after every nonzero residual
    the next slope code E[k] (set 1); line = 2: then also the next curvature code E[k+1] (set 2).

    The one encoder of the residual model: a symbol r is its zero flag [zctx]; if r != 0 its sign
    [sctx], k = floor(log2 |r|) as k one-bits and a zero-bit [U[cls][t]], the bit below the
    leading one [M1[k]], the next [M2[k][b]] and the k-2 remaining bits direct. The loop walks
    the symbols in stream order with the state of the current context set in local variables
    (registers); it switches sets around the codes of a break. In cost mode (adaptive_cost) it
    only adds up the cost."""
    pos = st[ST_POS]
    low = st[ST_LOW]
    rng = st[ST_RNG]
    cs = SET0  # the context set of the next symbol (state slots) and its contexts' offset o
    o = 0
    run = st[cs + CS_RUN]
    lg = st[cs + CS_LG]
    r1 = st[cs + CS_R1]
    r2 = st[cs + CS_R2]
    lastsgn = st[cs + CS_SGN]
    i = 0  # next sample residual R[i]
    ke = 0  # next slope/curvature code E[ke]
    while i < L or cs != SET0:
        if cs == SET0 and run >= 2:
            # inside a zero run of the sample residuals (r1 = r2 = 0): the zero flag's context
            # is 16 + min(lg, 35) (_zctx), the same until the run doubles, so the run's zeros
            # are coded in this tight loop with the context's probability and shift in
            # registers (_ebit's arithmetic for a 0, without a store and a load per bit)
            while i < L and R[i] == 0:
                ci = 16 + min(lg, 35)
                p = np.int64(probs[ci])
                sh = np.int64(probs[NCTX + ci])
                lg0 = lg
                while i < L and R[i] == 0 and lg == lg0:
                    if pos == COSTING:
                        cost[0] += T[p]
                    else:
                        rng = (rng >> PB) * p
                        pos, low, rng = _eshift(out, pos, low, rng)
                    p += (PONE - p) >> sh
                    if sh < LZ:
                        sh += 1
                    run, lg = _zero_run(run, lg)
                    i += 1
                probs[ci] = p
                probs[NCTX + ci] = sh
            if i == L:
                continue
        r = R[i] if cs == SET0 else E[ke]
        zc = o + _zctx(run, lg, abs(r1), abs(r2))
        pos, low, rng = _ebit(out, pos, low, rng, probs, zc, 0 if r == 0 else 1, LZ, cost, T)
        if r == 0:
            run, lg = _zero_run(run, lg)
        else:
            neg = 1 if r < 0 else 0
            sc = o + NZ + _sctx(r1, r2, lastsgn)
            pos, low, rng = _ebit(out, pos, low, rng, probs, sc, neg, LMX, cost, T)
            v = abs(r)
            k = _ilog2(v)
            base = o + NZ + NS + _cls(abs(r1) + (abs(r2) >> 1)) * NU
            for t in range(k):
                pos, low, rng = _ebit(out, pos, low, rng, probs, base + t, 1, LMX, cost, T)
            pos, low, rng = _ebit(out, pos, low, rng, probs, base + k, 0, LMX, cost, T)
            if k > 0:
                b = (v >> (k - 1)) & 1
                m1 = o + CM + 2 * k
                pos, low, rng = _ebit(out, pos, low, rng, probs, m1, b, LMX, cost, T)
                if k > 1:
                    b2 = (v >> (k - 2)) & 1
                    m2 = o + CM + 128 + 2 * k + b
                    pos, low, rng = _ebit(out, pos, low, rng, probs, m2, b2, LMX, cost, T)
                    if k > 2:
                        rest = v & ((np.int64(1) << (k - 2)) - 1)
                        pos, low, rng = _edirect(out, pos, low, rng, rest, k - 2, cost)
            lastsgn = 1 + neg
            run = 0
            lg = 0
        r2 = r1
        r1 = r
        # the set of the next symbol
        if cs == SET0:
            i += 1
            if r == 0 or line == 0:
                continue
            nxt = SET1
        else:
            ke += 1
            nxt = SET2 if (cs == SET1 and line == 2) else SET0
        st[cs + CS_RUN] = run
        st[cs + CS_LG] = lg
        st[cs + CS_R1] = r1
        st[cs + CS_R2] = r2
        st[cs + CS_SGN] = lastsgn
        cs = nxt
        o = OFF2 if cs == SET1 else (OFF3 if cs == SET2 else 0)
        run = st[cs + CS_RUN]
        lg = st[cs + CS_LG]
        r1 = st[cs + CS_R1]
        r2 = st[cs + CS_R2]
        lastsgn = st[cs + CS_SGN]
    st[ST_POS] = pos
    st[ST_LOW] = low
    st[ST_RNG] = rng
    st[cs + CS_RUN] = run
    st[cs + CS_LG] = lg
    st[cs + CS_R1] = r1
    st[cs + CS_R2] = r2
    st[cs + CS_SGN] = lastsgn


@kernel(f8(I8, i8, OUT, P32, I8, P32, I8, F8, F8))
def adaptive_cost(R, L, out, probs, st, pw, sw, cost, T):
    """Exact model cost (bits) of coding R[0..L) as sample residuals now: enc_residuals in cost
    mode on copies pw, sw of the model and the state (nothing is written to out)."""
    for i in range(probs.shape[0]):
        pw[i] = probs[i]
    for i in range(NSTATE):
        sw[i] = st[i]
    sw[ST_POS] = COSTING
    cost[0] = 0.0
    enc_residuals(R, L, R, 0, out, sw, pw, cost, T)
    return cost[0]


@kernel(nb.void(OUT, I8, P32, i8, i8, F8, F8))
def enc_header(out, st, probs, cfg, az, cost, T):
    """Block header: CHANGED [H0]; if changed, RAW [H1] and, if not raw, 5 direct bits cfg; then
    for a coded block ALLZERO [H2] = az."""
    pos = st[ST_POS]
    low = st[ST_LOW]
    rng = st[ST_RNG]
    if cfg == st[ST_CFG]:
        pos, low, rng = _ebit(out, pos, low, rng, probs, CH, 0, LZ, cost, T)
    else:
        pos, low, rng = _ebit(out, pos, low, rng, probs, CH, 1, LZ, cost, T)
        raw = 1 if cfg == RAWCFG else 0
        pos, low, rng = _ebit(out, pos, low, rng, probs, CH + 1, raw, LZ, cost, T)
        if raw == 0:
            pos, low, rng = _edirect(out, pos, low, rng, cfg, 5, cost)
    if cfg != RAWCFG:
        pos, low, rng = _ebit(out, pos, low, rng, probs, CH + 2, az, LZ, cost, T)
    st[ST_POS] = pos
    st[ST_LOW] = low
    st[ST_RNG] = rng
    st[ST_CFG] = cfg


@kernel(nb.void(XBITS, i8, i8, OUT, I8, F8))
def enc_raw(xi, s, L, out, st, cost):
    """A raw block: the 64 bits xi[s..s+L) of every sample (high word, then low word)."""
    pos = st[ST_POS]
    low = st[ST_LOW]
    rng = st[ST_RNG]
    for i in range(L):
        v = xi[s + i]
        pos, low, rng = _edirect(out, pos, low, rng, (v >> 32) & M32, 32, cost)
        pos, low, rng = _edirect(out, pos, low, rng, v & M32, 32, cost)
    st[ST_POS] = pos
    st[ST_LOW] = low
    st[ST_RNG] = rng


@kernel(i8(OUT, I8))
def enc_finish(out, st):
    """Terminate: write the value in [low, low+rng) with the most trailing zero bytes and trim
    those (only among the final 4 bytes). Returns the payload length."""
    low = st[ST_LOW]
    rng = st[ST_RNG]
    pos = st[ST_POS]
    v = low
    for nb_ in range(1, 5):
        mask = (np.int64(1) << (32 - 8 * nb_)) - 1
        v = (low + mask) & ~mask
        if v - low < rng:
            break
    if v > M32:
        v &= M32
        _carry(out, pos)
    p0 = pos
    for _t in range(4):
        out[pos] = (v >> 24) & 0xFF
        pos += 1
        v = (v << 8) & M32
    while pos > p0 and out[pos - 1] == 0:
        pos -= 1
    return pos


# ============================================================== predictions (encoder and decoder)
@kernel(i8(i8, i8))
def _rsh(v, sh):
    """Round-half-up arithmetic shift (exact integer op)."""
    if sh == 0:
        return v
    return (v + (np.int64(1) << (sh - 1))) >> sh


@kernel(i8(I8, i8, i8, i8, i8, I8, I8M))
def _predict(H, j, nh, pred, sh, PW, PG):
    """Level (pred 0) or smooth (pred 1..3) prediction of the grid index of sample j (block grid,
    shift sh = 3 - lm) from the fine history H[..j-1], of which nh values are valid."""
    if nh == 0:
        return np.int64(0)
    last = H[j - 1]
    if pred > 0:
        W = PW[pred]
        if nh >= W:
            acc = np.int64(0)
            for lag in range(1, W):
                acc += PG[pred, lag] * (H[j - lag] - H[j - lag - 1])
            last = last + ((acc + (np.int64(1) << (GSH - 1))) >> GSH)
    return _rsh(last, sh)


@kernel(i8(I8, i8, i8, i8, i8, I8))
def _ipred_level(W, o, s, L, nav, P):
    """Interpolation predictions P[j] of W[o+u] for every odd multiple u = (2j+1)s below L, from
    the values W[o+v] known before this level: v a multiple of 2s in [0, L], and the history
    -nav < v <= 0 (nav values, the last at v = 0). Integers only (>> is floor, // floor
    division):
      u+s <= L: cubic (-1, 9, 9, -1)/16 on u-3s, u-s, u+s, u+3s if u+3s <= L and u-3s > -nav;
                else quadratic (-1, 6, 3)/8 on u-3s, u-s, u+s if u-3s > -nav;
                else quadratic (3, 6, -1)/8 on u-s, u+s, u+3s if u+3s <= L;
                else (W[u-s] + W[u+s] + 1) >> 1;
      u+s > L:  linear between u-s and L: W[u-s] + ((W[L] - W[u-s]) * s + d/2) // d, d = L-u+s.
    Returns the number of predictions."""
    m = 0
    for u in range(s, L, 2 * s):
        a = u - s
        if u + s <= L:
            lft = a - 2 * s > -nav
            rgt = u + 3 * s <= L
            if lft and rgt:
                p = (9 * (W[o + a] + W[o + u + s]) - W[o + a - 2 * s] - W[o + u + 3 * s] + 8) >> 4
            elif lft:
                p = (6 * W[o + a] + 3 * W[o + u + s] - W[o + a - 2 * s] + 4) >> 3
            elif rgt:
                p = (3 * W[o + a] + 6 * W[o + u + s] - W[o + u + 3 * s] + 4) >> 3
            else:
                p = (W[o + a] + W[o + u + s] + 1) >> 1
        else:
            d = L - a
            p = W[o + a] + ((W[o + L] - W[o + a]) * s + (d >> 1)) // d
        P[m] = p
        m += 1
    return m


@kernel(i8(I8, i8, i8))
def _nav(W, o, nh):
    """Usable history of the interpolation predictor: the number of consecutive values W[o],
    W[o-1], ... (at most min(nh, HL)) with |W| < IQLIM."""
    m = min(nh, HL)
    k = 0
    while k < m and W[o - k] < IQLIM and W[o - k] > -IQLIM:
        k += 1
    return k


# ============================================================== encoder: analysis of a block
@kernel(b1(i8, f8, f8, f8))
def _valid(q, step, xi, eps):
    """Is grid index q valid for x_i: |q*step - x_i| <= eps with the decoder's multiply."""
    return abs(q * step - xi) <= eps


@kernel(T2(f8, f8, f8))
def _range1(xi, eps, step):
    """Exact valid index range (a, b) of x_i on one grid (a > b if none). The first guesses are
    ceil(c - h) and floor(c + h), c = x_i/step and h = eps/step = 2^(lm-1) (one division instead
    of three); each end is then moved by the decoder's multiply until it is valid and its
    neighbour outside is not (at most 4 steps each way, so the result is exact whatever the
    guess's rounding), and a validity already tested is not tested again."""
    if not (step > 0.0) or not (step < np.inf):
        return np.int64(1), np.int64(0)
    c = xi / step
    if not (abs(c) < QLIM):
        return np.int64(1), np.int64(0)
    h = eps / step
    a = np.int64(np.ceil(c - h))
    b = np.int64(np.floor(c + h))
    for _t in range(4):
        if _valid(a - 1, step, xi, eps):
            a -= 1
        else:
            break
    va = False
    for _t in range(4):
        if not _valid(a, step, xi, eps):
            a += 1
        else:
            va = True
            break
    for _t in range(4):
        if _valid(b + 1, step, xi, eps):
            b += 1
        else:
            break
    vb = False
    for _t in range(4):
        if not _valid(b, step, xi, eps):
            b -= 1
        else:
            vb = True
            break
    if a > b or not (va or _valid(a, step, xi, eps)) or not (vb or _valid(b, step, xi, eps)):
        return np.int64(1), np.int64(0)
    return a, b


@kernel(i8(XIN, i8, i8, f8, f8, I8, I8))
def _ranges_guess(x, s, L, eps, step, lo, hi):
    """The valid ranges of x[s..s+L) on one grid where the first guesses of _range1 are already
    its answer (valid, and their outer neighbours not: the exact interval), else lo > hi (to
    be fixed by _ranges_fix). Branch-free, so that the compiler vectorises it: most samples
    cost no loop. Returns the number of samples left to fix."""
    h = eps / step
    left = 0
    for i in range(L):
        xi = x[s + i]
        c = xi / step
        inside = abs(c) < QLIM
        cc = c if inside else 0.0  # keeps the conversions below defined
        a = np.int64(np.ceil(cc - h))
        b = np.int64(np.floor(cc + h))
        good = (
            inside
            & (abs(a * step - xi) <= eps)
            & (abs(b * step - xi) <= eps)
            & (not abs((a - 1) * step - xi) <= eps)
            & (not abs((b + 1) * step - xi) <= eps)
            & (a <= b)
        )
        lo[i] = a if good else np.int64(1)
        hi[i] = b if good else np.int64(0)
        left += 0 if good else 1
    return left


@kernel(i8(I8, I8, i8, i8, I8, I8))
def _ranges_shift(lo3, hi3, L, sh, lo, hi):
    """A coarse grid's ranges from the finest ones, lo = ceil(lo3 / 2^sh), hi = floor(hi3 /
    2^sh) (exact when the steps are, see grid_ranges); lo > hi where the finest range or the
    shifted one is empty (to be fixed by _ranges_fix). Returns the number of those."""
    left = 0
    for i in range(L):
        a3 = lo3[i]
        b3 = hi3[i]
        a = -((-a3) >> sh)
        b = b3 >> sh
        good = (a3 <= b3) & (a <= b)
        lo[i] = a if good else np.int64(1)
        hi[i] = b if good else np.int64(0)
        left += 0 if good else 1
    return left


@kernel(i8(XIN, i8, i8, f8, f8, I8, I8))
def _ranges_fix(x, s, L, eps, step, lo, hi):
    """_range1 for every sample whose range is marked lo > hi. Returns 1 if every sample of
    the block has a valid index on this grid, else 0."""
    ok = 1
    for i in range(L):
        if lo[i] > hi[i]:
            a, b = _range1(x[s + i], eps, step)
            lo[i] = a
            hi[i] = b
            if a > b:
                ok = 0
    return ok


@kernel(i8(XIN, i8, i8, f8, i8, I8M, I8M, I8, F8))
def grid_ranges(x, s, L, eps, mask, lo, hi, ok, steps):
    """lo[lm,i]..hi[lm,i]: every integer Q with |Q*step_lm - x| <= eps, step_lm = (2*eps)/2^lm,
    checked with the decoder's multiply (the valid set is an interval: fl(Q*step) is monotone in
    Q), for the grids lm in ``mask`` (bit 1 << lm; the others get ok[lm] = 0). A coarse grid is
    derived from the finest when step_lm == step_3 * 2^(3-lm) exactly (every normal step): then
    fl(float(Q)*step_lm) == fl(float(Q << sh)*step_3) (the same real number, rounded once), so Q
    is valid on grid lm iff Q << sh is valid on the finest, and the coarse range is the finest
    one shifted, with no multiply; otherwise (subnormal steps, or no finest range) it is computed
    directly. Each grid in two passes: a branch-free one for the common case (_ranges_guess,
    _ranges_shift), then _range1 for the samples it leaves (_ranges_fix; none, usually).
    ok[lm] = 1 if every sample has a valid index on grid lm. Returns the largest |end point| of
    the finest ranges (the interpolation gate's; 0 without the finest grid)."""
    for lm in range(4):
        steps[lm] = (2.0 * eps) / (1 << lm)
        ok[lm] = (mask >> lm) & 1
    step3 = steps[FINE]
    fine = ok[FINE] != 0
    usable = step3 > 0.0 and step3 < np.inf
    amax = np.int64(0)
    if fine:
        left = _ranges_guess(x, s, L, eps, step3, lo[FINE], hi[FINE]) if usable else L
        if left > 0:
            if not usable:
                for i in range(L):
                    lo[FINE, i] = 1
                    hi[FINE, i] = 0
            ok[FINE] = _ranges_fix(x, s, L, eps, step3, lo[FINE], hi[FINE])
        lo3 = lo[FINE]
        hi3 = hi[FINE]
        for i in range(L):
            if lo3[i] <= hi3[i]:
                amax = max(amax, abs(lo3[i]), abs(hi3[i]))
    for lm in range(FINE):
        if ok[lm] == 0:
            continue
        step = steps[lm]
        if fine and step == step3 * (1 << (FINE - lm)):
            left = _ranges_shift(lo[FINE], hi[FINE], L, FINE - lm, lo[lm], hi[lm])
        elif step > 0.0 and step < np.inf:
            left = _ranges_guess(x, s, L, eps, step, lo[lm], hi[lm])
        else:
            left = L
            for i in range(L):
                lo[lm, i] = 1
                hi[lm, i] = 0
        if left > 0:
            ok[lm] = _ranges_fix(x, s, L, eps, step, lo[lm], hi[lm])
    return amax


@kernel(i8(XIN, i8, i8, f8, I8, I8, i8, I8M, I8M, I8, F8))
def _analyse(x, s, L, eps, opt, H, nh, lo, hi, ok, steps):
    """Encoder stage 1: the valid ranges of the block's samples on the four grids (grid_ranges)
    and the candidate families worth trying, a mask of USE_SMOOTH, USE_LINE, USE_INTERP: none
    unless every sample is valid on the finest grid; smooth only if every first difference on
    the finest grid (over the block and the last SHL history values) is below DLIM and (except
    in mode 1) the signal looks smooth there (sum|d2| < sum|d1|/3 and sum|d1| > 2L);
    interpolation only if every index (and the last history value) is below IQLIM."""
    amax = grid_ranges(x, s, L, eps, opt[OPT_GRIDS], lo, hi, ok, steps)
    if ok[FINE] == 0:
        return 0
    use = 0
    if opt[OPT_LINE] != 0:
        use |= USE_LINE
    fine = lo[FINE]
    if opt[OPT_SMOOTH] != 0:
        dmax = np.int64(0)
        prev = H[HL - 1] if nh > 0 else fine[0]
        for i in range(0 if nh > 0 else 1, L):
            dmax = max(dmax, abs(fine[i] - prev))
            prev = fine[i]
        for i in range(HL - min(nh, SHL) + 1, HL):
            dmax = max(dmax, abs(H[i] - H[i - 1]))
        smooth = dmax < DLIM
        if smooth and opt[OPT_SMOOTH] == 1 and opt[OPT_MODE] != 1:
            s1 = np.int64(0)
            s2 = np.int64(0)
            for i in range(2, L):
                d1 = fine[i] - fine[i - 1]
                s1 += abs(d1)
                s2 += abs(d1 - (fine[i - 1] - fine[i - 2]))
            smooth = s2 * 3 < s1 and s1 > 2 * L
        if smooth:
            use |= USE_SMOOTH
    if opt[OPT_INTERP] != 0:
        if nh > 0:
            amax = max(amax, abs(H[HL - 1]))
        if amax < IQLIM:
            use |= USE_INTERP
    return use


# ============================================================== encoder: candidate quantisers
@kernel(i8(I8, i8))
def static_cost(R, L):
    """Static bit estimate of R[0..L): 2 log2|r| + 2 per nonzero residual, 2 log2(run+1) + 1 per
    zero run."""
    c = 0
    run = 0
    for i in range(L):
        r = R[i]
        if r == 0:
            run += 1
        else:
            c += 2 * _ilog2(abs(r)) + 2 + 2 * _ilog2(run + 1) + 1
            run = 0
    if run > 0:
        c += 2 * _ilog2(run + 1) + 1
    return c


@kernel(i8(I8, I8, i8, I8, i8, i8, I8))
def seg_level(lo, hi, L, H, nh, sh, R):
    """Level quantiser with in-block look-ahead: keep the previous level while it is valid; at a
    break pick, inside the running intersection of the next samples' valid sets, the level valid
    longest. H[HL-1] is the last history value (fine units). Writes R (the grid indices are
    their running sum from the previous level: _level_q, for the candidate coded); returns the
    static cost (static_cost of R, summed at the breaks: the only nonzero residuals). A
    segment ends where the intersection becomes empty, so its level is not valid at the next
    sample: every segment after the first starts with a break (no keep test there)."""
    p = _rsh(H[HL - 1], sh) if nh > 0 else np.int64(0)
    i = 0
    while i < L and p >= lo[i] and p <= hi[i]:
        R[i] = 0
        i += 1
    c = 0
    last = -1  # the previous break
    while i < L:  # a break: p is not valid at i
        a = lo[i]
        b = hi[i]
        j = i + 1
        while j < L:
            a2 = max(a, lo[j])
            b2 = min(b, hi[j])
            if a2 > b2:
                break
            a = a2
            b = b2
            R[j] = 0
            j += 1
        if j < L:
            v = b if lo[j] > b else a  # the end nearer the next sample's valid set
        else:
            v = min(max(p, a), b)
        R[i] = v - p  # nonzero: p is outside [lo[i], hi[i]], v inside
        c += 2 * _ilog2(abs(v - p)) + 2 + 2 * _ilog2(i - last) + 1
        last = i
        p = v
        i = j
    if last < L - 1:
        c += 2 * _ilog2(L - last) + 1
    return c


@kernel(nb.void(I8, i8, i8, I8))
def _level_q(R, L, p, Q):
    """The grid indices of a level candidate from its residuals R[0..L) and the previous
    level p: Q[i] = p + R[0] + ... + R[i]."""
    for i in range(L):
        p += R[i]
        Q[i] = p


@kernel(i8(I8, I8, i8, I8, I8, i8, i8, i8, I8, I8M, I8, I8))
def smooth_pass(lo, hi, L, H, W, nh, pred, sh, PW, PG, Q, R):
    """Closed-loop quantiser of a smooth predictor: Q = the valid index nearest the prediction.
    W: work array (HL + L), W[:HL] = history. Returns the static cost."""
    for i in range(HL):
        W[i] = H[i]
    for i in range(L):
        j = HL + i
        P = _predict(W, j, min(nh + i, HL), pred, sh, PW, PG)
        v = min(max(P, lo[i]), hi[i])
        Q[i] = v
        R[i] = v - P
        W[j] = v << sh
    return static_cost(R, L)


@kernel(i8(i8, i8))
def _floor_div(m, t):
    """floor(m / t) for 1 <= t and |m| < 2^52: the float quotient (both operands exact in
    float64, the quotient within 2^-7 of the true one, so its floor is off by at most one),
    corrected with exact integer products; a 64-bit integer division is several times
    slower."""
    q = np.int64(np.floor(m / t))
    if q * t > m:
        q -= 1
    elif (q + 1) * t <= m:
        q += 1
    return q


@kernel(T3(I8, I8, i8, i8, i8, i8))
def _swing(lo, hi, i, L, q, c):
    """Feasible slopes s (units 2^-LS) of the curve starting at level q at sample i with
    curvature c: q + rsh(s*2^(LK-LS)*t + c*t(t+1)/2, LK) in [lo[i+t], hi[i+t]] for t = 1..len-1,
    extended as long as possible inside the block. Returns (len, smin, smax); len = 1: no
    constraint satisfiable (any slope)."""
    one = np.int64(1) << LK
    half = np.int64(1) << (LK - 1)
    smin = -SLIM
    smax = SLIM
    t = 1
    tri = np.int64(0)
    while i + t < L:
        a_ = lo[i + t] - q
        b_ = hi[i + t] - q
        if a_ >= XLIM or b_ <= -XLIM:
            break
        tri += t * c
        D = np.int64(t) << (LK - LS)
        nlo = max(a_, -XLIM) * one - half - tri
        nhi = (min(b_, XLIM) + 1) * one - half - 1 - tri
        a = smin
        b = smax
        # ceil(nlo / D) and floor(nhi / D) with D = t * 2^(LK-LS): floor(floor(n / 2^k) / t)
        # = floor(n / (2^k t)), and |n| < 2^58, so the quotient by t is of |m| < 2^47
        if a * D < nlo:
            a = -_floor_div((-nlo) >> (LK - LS), t)
        if b * D > nhi:
            b = _floor_div(nhi >> (LK - LS), t)
        if a > b:
            break
        smin = a
        smax = b
        t += 1
    if t == 1:
        return np.int64(1), -SLIM, SLIM
    return np.int64(t), smin, smax


@kernel(T3(I8, I8, i8, i8, i8, i8, i8, i8, i8))
def _curvature(lo, hi, i, L, q, C, bt, smin, smax):
    """The curve candidate's curvature at a break (sample i, level q): from C, try C +- d (d
    about 2^(LK+1)/len^2, halved up to 3 times) and keep the side whose segment is longer; then
    double the step in that direction while the segment gets longer (one last step of the
    previous size when it stops). (bt, smin, smax) is the swing of curvature C. Returns
    (curvature, smin, smax)."""
    bc = C
    d = max(np.int64(1), (np.int64(1) << (LK + 1)) // (bt * bt))
    dr = 0
    for _k in range(3):
        t1, s1a, s1b = _swing(lo, hi, i, L, q, bc + d)
        t2, s2a, s2b = _swing(lo, hi, i, L, q, bc - d)
        if t1 > bt and t1 >= t2:
            dr = 1
            bt = t1
            smin = s1a
            smax = s1b
            bc = bc + d
            break
        if t2 > bt:
            dr = -1
            bt = t2
            smin = s2a
            smax = s2b
            bc = bc - d
            break
        d >>= 1
        if d == 0:
            break
    if dr != 0:
        dd = d
        for _k in range(12):
            dd2 = dd * 2
            cn = bc + dr * dd2
            if abs(cn) > CLIM:
                break
            t1, s1a, s1b = _swing(lo, hi, i, L, q, cn)
            if t1 > bt:
                bt = t1
                smin = s1a
                smax = s1b
                bc = cn
                dd = dd2
            else:
                # refine: one step of the previous size
                cn = bc + dr * dd
                if abs(cn) <= CLIM:
                    t1, s1a, s1b = _swing(lo, hi, i, L, q, cn)
                    if t1 > bt:
                        bt = t1
                        smin = s1a
                        smax = s1b
                        bc = cn
                break
    if abs(bc) > CLIM:
        bc = C if abs(C) <= CLIM else np.int64(0)
        bt, smin, smax = _swing(lo, hi, i, L, q, bc)
    return bc, smin, smax


@kernel(i8(I8, I8, i8, i8, I8, I8, I8, I8, i8, i8, i8, i8))
def line_pass(lo, hi, L, var, LS_, Q, R, E, plen, plim, cs, cut):
    """Line (var 0) / curve (var 1) quantiser. State (grid units; A, V, C in units of 2^-LK):
    qb = level at the last break, A = offset of the previous sample from qb, V = slope, C =
    curvature (0 for var 0). Per sample: V += C, A += V, P = qb + rsh(A, LK); keep P while valid,
    else break: q = the valid level nearest P; var 1: the curvature c searched around C
    (_curvature); s = the feasible slope nearest sbase = rsh(V, LK-LS). R = q - P, E = [s - sbase]
    (+ [c - C] for var 1). LS_ in: qb, A, V, C; out: the same + the number of E. Returns the
    static cost, or BIG once the cost of the first plen samples exceeds plim (known as soon as
    the running cost of a prefix does), or CUT once the cost reaches ``cut`` at a sample i >= cs
    (the cost only grows: the candidate cannot be coded, _cut)."""
    qb = LS_[0]
    A = LS_[1]
    V = LS_[2]
    C = LS_[3]
    hf = np.int64(1) << (LK - 1)
    i = 0
    ne = 0
    c = 0
    run = 0
    while i < L:
        if i == plen and c > plim:
            return BIG
        V += C
        A += V
        P = qb + ((A + hf) >> LK)
        if P >= lo[i] and P <= hi[i]:
            Q[i] = P
            R[i] = 0
            run += 1
            i += 1
            continue
        sbase = _rsh(V, LK - LS)
        q = min(max(P, lo[i]), hi[i])
        low = c + 2 * _ilog2(abs(q - P)) + 3 + 2 * _ilog2(run + 1)  # the cost, at least
        if i < plen and low > plim:
            # the cost only grows: over the gate's limit now is over it at plen (the same
            # answer, without the swing searches of the rest of the prefix)
            return BIG
        if i >= cs and low >= cut:
            return CUT
        bc = C
        bt, smin, smax = _swing(lo, hi, i, L, q, bc)
        if var == 1:
            bc, smin, smax = _curvature(lo, hi, i, L, q, C, bt, smin, smax)
        s = min(max(sbase, smin), smax)
        Q[i] = q
        r = q - P
        R[i] = r
        e = s - sbase
        E[ne] = e
        ne += 1
        c += 2 * _ilog2(abs(r)) + 2 + 2 * _ilog2(run + 1) + 1
        c += 1 if e == 0 else 2 * _ilog2(abs(e)) + 3
        if var == 1:
            ec = bc - C
            E[ne] = ec
            ne += 1
            c += 1 if ec == 0 else 2 * _ilog2(abs(ec)) + 3
        run = 0
        qb = q
        A = np.int64(0)
        V = s << (LK - LS)
        C = bc
        i += 1
    if run > 0:
        c += 2 * _ilog2(run + 1) + 1
    LS_[0] = qb
    LS_[1] = A
    LS_[2] = V
    LS_[3] = C
    LS_[4] = ne
    return c


@kernel(i8(I8, I8, i8, I8, i8, I8, I8, I8, i8))
def interp_pass(lo, hi, L, H, nh, W, Q, R, lim):
    """Multilevel interpolation quantiser (SZ3-like, on the finest grid, lm = 3): W[:HL] = history
    (W[HL-1] = the previous sample = the anchor, 0 if nh = 0), W[HL-1+u] = Q of sample u-1.
    Coding order: u = L (predicted by the anchor), then for s = N/2, N/4, .., 1 (N = the smallest
    power of two >= L) every odd multiple u of s below L (_ipred_level; Q holds the predictions
    of a level meanwhile). Residual units: 4 (= eps; u = L and strides s >= ICS: the valid Q
    nearest the centre of the valid range) or 8 (= 2 eps; the smallest valid |r|). R is written
    in coding order, Q in sample order. Returns the static cost (static_cost of R, summed as R
    is written), or BIG if some sample has no valid Q of that form (float edge cases) or as
    soon as the cost exceeds ``lim`` (it only grows; Q is then not written)."""
    for i in range(HL):
        W[i] = H[i]
    o = HL - 1
    nav = _nav(W, o, nh)
    N = 1
    while N < L:
        N <<= 1
    k = 0
    c = 0
    run = 0
    s = 0  # the stride of the level; 0: the end point u = L
    while True:
        if s == 0:
            Q[0] = W[o]
            m = 1
        else:
            m = _ipred_level(W, o, s, L, nav, Q)
        for j in range(m):
            u = L if s == 0 else (2 * j + 1) * s
            P = Q[j]
            a = lo[u - 1] - P
            b = hi[u - 1] - P
            if s >= ICS or s == 0:
                kmin = -((-a) >> 2)
                kmax = b >> 2
                if kmin > kmax:
                    return BIG
                cen = (a + b) >> 1
                r = min(max((cen + 2) >> 2, kmin), kmax)
                W[o + u] = P + (r << 2)
            else:
                kmin = -((-a) >> 3)
                kmax = b >> 3
                if kmin > kmax:
                    return BIG
                r = min(max(np.int64(0), kmin), kmax)
                W[o + u] = P + (r << 3)
            R[k] = r
            k += 1
            if r == 0:
                run += 1
            else:
                c += 2 * _ilog2(abs(r)) + 2 + 2 * _ilog2(run + 1) + 1
                run = 0
                if c > lim:
                    return BIG
        s = (N >> 1) if s == 0 else (s >> 1)
        if s == 0:
            break
    for i in range(L):
        Q[i] = W[o + 1 + i]
    if run > 0:
        c += 2 * _ilog2(run + 1) + 1
    return c


# ============================================================== encoder: stages of a block
@kernel(i8(I8, I8, i8))
def _cut(costs, st, on):
    """The least static cost from which a candidate is neither coded nor compared by _choose
    in mode 0, given the candidates costed so far: with m their least cost plus header, every c
    with 8 (c + 1) >= 9 m (a header costs at least 1 bit, _choose compares two candidates only
    within 12.5% of the best, and m only falls as candidates are added). BIG unless ``on`` (mode
    0 and OPT_CUT; modes 1 and 2 may compare any candidate) and before any candidate."""
    if on == 0:
        return BIG
    m = BIG
    for ci in range(NCAND):
        c = costs[ci]
        if c < BIG:
            lm = ci // NPRED
            m = min(m, c + (1 if st[ST_CFG] == lm * 8 + (ci - lm * NPRED) else 7))
    if m >= BIG:
        return BIG
    return (9 * m + 7) // 8 - 1


@kernel(i8(I8M, I8M, I8, i8, I8, i8, i8, i8, I8, I8M, I8, I8M, I8M, I8))
def _level_candidates(lo, hi, ok, L, H, nh, smooth, mode, PW, PG, Wk, Qs, Rs, costs):
    """Encoder stage 2a: level and smooth candidates on every valid grid (coarse to fine). The
    level costs are close to unimodal in m: without smooth candidates the search stops once a
    finer grid costs more. Returns the grid of the cheapest level candidate (-1: none)."""
    NPS = PW.shape[0]
    prevc = BIG
    bestlev = -1
    for lm in range(4):
        if ok[lm] == 0:
            continue
        sh = FINE - lm
        ci = lm * NPRED
        costs[ci] = seg_level(lo[lm], hi[lm], L, H, nh, sh, Rs[ci])
        if smooth != 0 and (lm != FINE or mode == 1):
            for pr in range(1, NPS):
                costs[ci + pr] = smooth_pass(
                    lo[lm], hi[lm], L, H, Wk, nh, pr, sh, PW, PG, Qs[ci + pr], Rs[ci + pr]
                )
        if bestlev < 0 or costs[ci] < costs[bestlev * NPRED]:
            bestlev = lm
        if mode != 1 and smooth == 0:
            if costs[ci] > prevc:
                break
            prevc = costs[ci]
    return bestlev


@kernel(i8(I8M, I8M, i8, I8, i8, I8, i8, i8, I8M, I8M, I8M, I8M, i8, i8, i8, i8))
def _line_on(lo, hi, L, H, nh, st, lm, var, Qs, Rs, Es, LSs, pl, plim, cs, cut):
    """The line (var 0) or curve (var 1) candidate on grid lm (line_pass), its state continued
    from the previous block if its configuration is the same."""
    ci = lm * NPRED + LINE0 + var
    LS_ = LSs[ci]
    if st[ST_CFG] == lm * 8 + LINE0 + var:
        LS_[0] = st[ST_QB]
        LS_[1] = st[ST_A]
        LS_[2] = st[ST_V]
        LS_[3] = st[ST_C]
    else:
        LS_[0] = _rsh(H[HL - 1], FINE - lm) if nh > 0 else np.int64(0)
        LS_[1] = 0
        LS_[2] = 0
        LS_[3] = 0
    return line_pass(lo[lm], hi[lm], L, var, LS_, Qs[ci], Rs[ci], Es[ci], pl, plim, cs, cut)


@kernel(nb.void(I8M, I8M, I8, i8, I8, i8, I8, i8, i8, i8, I8M, I8M, I8M, I8M, I8, i8, I8))
def _line_candidates(lo, hi, ok, L, H, nh, st, mode, plen, bestlev, Qs, Rs, Es, LSs, costs,
                     cutting, stats):
    """Encoder stage 2b: line candidates on the grids from fine to coarse, stopping at the first
    grid that fails the prefix gate (a line candidate is abandoned once its cost on the first
    plen samples exceeds the best level candidate's cost there); then the curve candidate on the
    best line grid. With ``cutting`` (mode 0), the curve is abandoned once its cost shows that
    it can no longer be coded (_cut: against the level, smooth and interpolation candidates and
    the lines), and so is a line after the prefix once it also costs more than the cheapest
    line before it (counted in stats[CUTS]). The same bytes: _choose passes over every candidate
    abandoned, and the curve's grid is the one the full costs give. (On smooth signals, where
    interpolation wins, the lines and the curve took most of the encoder's time.)"""
    pl = plen if (plen < L and mode != 1) else L + 1
    plim = BIG
    if pl <= L and bestlev >= 0:
        plim = static_cost(Rs[bestlev * NPRED], pl)
    # a line is abandoned only after the prefix, from sample pl on (the gate decides whether
    # the coarser grids are tried; pl > L: no gate, no cut), and only once it costs more than
    # the cheapest line so far (it would not be the curve's grid) and can no longer be coded
    bl = -1
    for lmi in range(4):
        lm = FINE - lmi
        if ok[lm] == 0:
            continue
        cut = BIG if bl < 0 else max(_cut(costs, st, cutting), costs[bl * NPRED + LINE0])
        c = _line_on(lo, hi, L, H, nh, st, lm, 0, Qs, Rs, Es, LSs, pl, plim, pl, cut)
        costs[lm * NPRED + LINE0] = c
        if c == CUT:
            stats[CUTS] += 1
        if c < BIG and (bl < 0 or c < costs[bl * NPRED + LINE0]):
            bl = lm
        if mode != 1 and c == BIG:
            break
    for lmi in range(4):
        lm = FINE - lmi
        if ok[lm] == 0 or (mode != 1 and lm != bl):
            continue
        c = _line_on(lo, hi, L, H, nh, st, lm, 1, Qs, Rs, Es, LSs, pl, plim, 0,
                     _cut(costs, st, cutting))
        costs[lm * NPRED + CURVE] = c
        if c == CUT:
            stats[CUTS] += 1


@kernel(nb.void(I8M, I8M, i8, I8, i8, i8, i8, i8, I8, I8M, I8M, I8, i8))
def _interp_candidate(lo, hi, L, H, nh, mode, plen, bestlev, Wk, Qs, Rs, costs, cut):
    """Encoder stage 2c: the interpolation candidate (finest grid), tried only if its cost on a
    plen-sample trial block beats the best level candidate's cost on that prefix, and abandoned
    once its cost reaches ``cut`` (_cut of the candidates before it: it cannot be coded)."""
    ci = FINE * NPRED + INTERP
    if mode != 1 and plen < L and bestlev >= 0:
        lim = static_cost(Rs[bestlev * NPRED], plen)
        if interp_pass(lo[FINE], hi[FINE], plen, H, nh, Wk, Qs[ci], Rs[ci], lim) > lim:
            return
    lim = cut - 1 if cut < BIG else BIG
    costs[ci] = interp_pass(lo[FINE], hi[FINE], L, H, nh, Wk, Qs[ci], Rs[ci], lim)


@kernel(i8(i8))
def _family(pred):
    """Predictor family: 0 level/smooth, 1 interpolation, 2 line/curve."""
    if pred < LINE0:
        return 0
    if pred == INTERP:
        return 1
    return 2


@kernel(i8(I8, I8, i8, I8, i8, I8M, OUT, P32, P32, I8, F8, F8))
def _choose(costs, ok, L, st, mode, Rs, out, probs, pw, sw, cost, T):
    """Encoder stage 3: the candidate to code (-1: raw block). Mode 0: the static estimate plus
    the header (1 bit if the configuration is unchanged, else 7); if the best two are of
    different families and within 12.5%, the exact adaptive cost of their residuals decides.
    Mode 1: the exact adaptive cost of every candidate; mode 2: of the best two. A block
    estimated above 70 bits/sample goes raw."""
    best = -1
    bestc = BIG
    second = -1
    secondc = BIG
    for ci in range(NCAND):
        c = costs[ci]
        if c >= BIG:
            continue
        if mode != 1:
            lm = ci // NPRED
            c += 1 if st[ST_CFG] == lm * 8 + (ci - lm * NPRED) else 7
            costs[ci] = c
        if c < bestc:
            second = best
            secondc = bestc
            best = ci
            bestc = c
        elif c < secondc:
            second = ci
            secondc = c
    if best >= 0 and mode == 1:
        bc = 1e300
        for ci in range(NCAND):
            if ok[ci // NPRED] == 0 or costs[ci] >= BIG:
                continue
            c2 = adaptive_cost(Rs[ci], L, out, probs, st, pw, sw, cost, T)
            if c2 < bc:
                bc = c2
                best = ci
    elif best >= 0 and second >= 0:
        f1 = _family(best % NPRED)
        f2 = _family(second % NPRED)
        if mode > 1 or (f1 != f2 and secondc * 8 < bestc * 9):
            # mode 0: a line/curve estimate also holds its slope codes and header, kept as such
            e1 = costs[best] - static_cost(Rs[best], L) if (mode <= 0 and f1 == 2) else 0
            e2 = costs[second] - static_cost(Rs[second], L) if (mode <= 0 and f2 == 2) else 0
            c1 = adaptive_cost(Rs[best], L, out, probs, st, pw, sw, cost, T) + e1
            c2 = adaptive_cost(Rs[second], L, out, probs, st, pw, sw, cost, T) + e2
            if c2 < c1:
                best = second
    if best >= 0 and costs[best] > 70 * L + 64:
        best = -1
    return best


@kernel(nb.void(i8, XBITS, i8, i8, OUT, I8, P32, I8, I8M, I8M, I8M, I8M, I8, F8, F8))
def _emit(best, xi, s, L, out, st, probs, H, Qs, Rs, Es, LSs, stats, cost, T):
    """Encoder stage 4: code the block as candidate ``best`` (or raw if best < 0) and update the
    history and the line state."""
    if best < 0:
        enc_header(out, st, probs, RAWCFG, 0, cost, T)
        enc_raw(xi, s, L, out, st, cost)
        for i in range(HL):
            H[i] = 0
        st[ST_NH] = 0
        stats[NCAND] += 1
        return
    lm = best // NPRED
    pr = best - lm * NPRED
    stats[best] += 1
    Rb = Rs[best]
    az = 1
    for i in range(L):
        if Rb[i] != 0:
            az = 0
            break
    enc_header(out, st, probs, lm * 8 + pr, az, cost, T)
    line = pr - LINE0 + 1 if (pr >= LINE0 and pr < INTERP) else 0
    if az == 0:
        enc_residuals(Rb, L, Es[best], line, out, st, probs, cost, T)
    if line != 0:
        st[ST_QB] = LSs[best, 0]
        st[ST_A] = LSs[best, 1]
        st[ST_V] = LSs[best, 2]
        st[ST_C] = LSs[best, 3]
    sh = FINE - lm
    Qb = Qs[best]
    if L >= HL:
        for i in range(HL):
            H[i] = Qb[L - HL + i] << sh
    else:
        for i in range(HL - L):
            H[i] = H[i + L]
        for i in range(L):
            H[HL - L + i] = Qb[i] << sh
    st[ST_NH] = min(st[ST_NH] + L, HL)


@kernel(i8(XIN, i8, i8, I8, f8, f8))
def _misses(x, s, L, Q, step, eps):
    """The samples of x[s..s+L) that the grid indices Q[0..L) do not reconstruct within eps,
    with the decoder's multiply: the bound checked on what the block codes (OPT_CHECK)."""
    m = 0
    for i in range(L):
        if not abs(Q[i] * step - x[s + i]) <= eps:
            m += 1
    return m


@kernel()
def encode_blocks(x, xi, s0, nblk, Llast, finish, eps, opt, PW, PG, T, probs, st, out, H,
                  lo, hi, ok, costs, Qs, Rs, Es, LSs, Wk, steps, pw, sw, cost, stats):
    """Encode nblk blocks x[s0 : s0 + (nblk-1)*B + Llast] into out; if ``finish``, then
    terminate the coder and return the payload length (else 0).

    Inputs: x (xi: the same memory viewed as int64, for raw blocks), eps, opt (OPT_* slots),
    PW/PG (smooth taps), T (LOG2T). The frame, carried across calls: probs (model), st (state
    vector), out (output buffer), H (HL fine-unit history). Scratch: lo/hi (4 x B grid ranges),
    ok (4), costs (NCAND), Qs/Rs/Es (NCAND x B indices, residuals, slope codes), LSs (NCAND x 5
    line states), Wk (HL + B + 1), steps (4), and pw/sw/cost (model and state copies, sum) of
    adaptive_cost. stats[ci] counts the blocks coded as candidate ci (stats[NCAND]: raw;
    stats[CHECKED]: with OPT_CHECK, the coded samples found outside the bound, 0 unless a bug;
    stats[CUTS]: see _line_candidates; NSTATS slots).

    Per block: _analyse, the candidates (_level_candidates, _interp_candidate, _line_candidates:
    the interpolation before the lines, whose search is the dearest, so that its cost can cut
    them short; the two are independent otherwise), _choose, _emit."""
    mode = opt[OPT_MODE]
    plen = opt[OPT_PLEN]
    cutting = 1 if (mode == 0 and opt[OPT_CUT] != 0) else 0
    for bi in range(nblk):
        s = s0 + bi * B
        L = B if bi < nblk - 1 else Llast
        nh = st[ST_NH]
        use = _analyse(x, s, L, eps, opt, H, nh, lo, hi, ok, steps)
        for ci in range(NCAND):
            costs[ci] = BIG
        bestlev = _level_candidates(
            lo, hi, ok, L, H, nh, use & USE_SMOOTH, mode, PW, PG, Wk, Qs, Rs, costs
        )
        if use & USE_INTERP:
            _interp_candidate(lo, hi, L, H, nh, mode, plen, bestlev, Wk, Qs, Rs, costs,
                              _cut(costs, st, cutting))
        if use & USE_LINE:
            _line_candidates(lo, hi, ok, L, H, nh, st, mode, plen, bestlev, Qs, Rs, Es, LSs, costs,
                             cutting, stats)
        best = _choose(costs, ok, L, st, mode, Rs, out, probs, pw, sw, cost, T)
        if best >= 0 and best % NPRED == 0:  # a level candidate: its indices, from R
            sh = FINE - best // NPRED
            _level_q(Rs[best], L, _rsh(H[HL - 1], sh) if nh > 0 else np.int64(0), Qs[best])
        _emit(best, xi, s, L, out, st, probs, H, Qs, Rs, Es, LSs, stats, cost, T)
        if opt[OPT_CHECK] != 0 and best >= 0:
            stats[CHECKED] += _misses(x, s, L, Qs[best], steps[best // NPRED], eps)
    if finish:
        return enc_finish(out, st)
    return 0


# ============================================================== range decoder
# As in the encoder, the registers (pos, code, rng) are passed to and returned by the per-bit
# helpers and kept in the state vector between kernels.
@kernel(T3(PAY, i8, i8, i8))
def _dshift(buf, pos, code, rng):
    """Renormalise: shift in bytes (0x00 past the end) while rng < TOPV."""
    while rng < TOPV:
        c = buf[pos] if pos < buf.shape[0] else 0
        code = ((code << 8) | c) & M32
        pos += 1
        rng <<= 8
    return pos, code, rng


@kernel(T4(PAY, i8, i8, i8, P32, i8, i8))
def _dbit(buf, pos, code, rng, probs, ci, lim):
    """Decode a bit with context ci and adapt the context (shift limit lim). Returns (bit, pos,
    code, rng)."""
    p = np.int64(probs[ci])
    sh = probs[NCTX + ci]
    if sh < lim:
        probs[NCTX + ci] = sh + 1
    bound = (rng >> PB) * p
    if code < bound:
        rng = bound
        probs[ci] = p + ((PONE - p) >> sh)
        bit = 0
    else:
        code -= bound
        rng -= bound
        probs[ci] = p - (p >> sh)
        bit = 1
    pos, code, rng = _dshift(buf, pos, code, rng)
    return bit, pos, code, rng


@kernel(T4(PAY, i8, i8, i8, i8))
def _ddirect(buf, pos, code, rng, nbits):
    """Decode nbits direct bits, MSB first. Returns (value, pos, code, rng)."""
    v = np.int64(0)
    for _b in range(nbits):
        rng >>= 1
        bit = 0
        if code >= rng:
            code -= rng
            bit = 1
        v = (v << 1) | bit
        pos, code, rng = _dshift(buf, pos, code, rng)
    return v, pos, code, rng


@kernel(i8(PAY, I8, P32, I8, i8, I8, i8))
def dec_residuals(buf, ds, probs, R, L, E, line):
    """Decode L residuals into R and, with line >= 1, the slope (and, line = 2, curvature)
    codes after each nonzero one into E: the inverse of enc_residuals and the one decoder of the
    residual model, walking the symbols the same way. Returns 0 or an error (ERR_RANGE: more
    than 62 unary bits; ERR_TRUNCATED: read past the payload's end + 4)."""
    nbuf = buf.shape[0]
    pos = ds[ST_POS]
    code = ds[ST_CODE]
    rng = ds[ST_RNG]
    cs = SET0
    o = 0
    run = ds[cs + CS_RUN]
    lg = ds[cs + CS_LG]
    r1 = ds[cs + CS_R1]
    r2 = ds[cs + CS_R2]
    lastsgn = ds[cs + CS_SGN]
    i = 0
    ke = 0
    while i < L or cs != SET0:
        if cs == SET0 and run >= 2:
            # inside a zero run of the sample residuals (r1 = r2 = 0): the zero flag's context
            # is 16 + min(lg, 35) (_zctx), so the run is decoded in this tight loop, without
            # the bookkeeping of the general one (the same arithmetic, bit for bit)
            # (the probability and shift of the context in registers until it changes, as in
            # enc_residuals; a one is decoded by _dbit, from the same state)
            one = False
            while i < L and not one:
                ci = 16 + min(lg, 35)
                p = np.int64(probs[ci])
                sh = np.int64(probs[NCTX + ci])
                lg0 = lg
                while i < L and lg == lg0:
                    bound = (rng >> PB) * p
                    if code >= bound:
                        one = True
                        break
                    rng = bound
                    p += (PONE - p) >> sh
                    if sh < LZ:
                        sh += 1
                    pos, code, rng = _dshift(buf, pos, code, rng)
                    run, lg = _zero_run(run, lg)
                    R[i] = 0
                    i += 1
                probs[ci] = p
                probs[NCTX + ci] = sh
            if not one:
                continue
            bit, pos, code, rng = _dbit(buf, pos, code, rng, probs, 16 + min(lg, 35), LZ)
        else:
            zc = o + _zctx(run, lg, abs(r1), abs(r2))
            bit, pos, code, rng = _dbit(buf, pos, code, rng, probs, zc, LZ)
        r = np.int64(0)
        if bit == 0:
            run, lg = _zero_run(run, lg)
        else:
            sc = o + NZ + _sctx(r1, r2, lastsgn)
            neg, pos, code, rng = _dbit(buf, pos, code, rng, probs, sc, LMX)
            base = o + NZ + NS + _cls(abs(r1) + (abs(r2) >> 1)) * NU
            k = 0
            while True:
                bit, pos, code, rng = _dbit(buf, pos, code, rng, probs, base + k, LMX)
                if bit == 0:
                    break
                k += 1
                if k > 62:
                    return ERR_RANGE
            v = np.int64(1)
            if k > 0:
                b, pos, code, rng = _dbit(buf, pos, code, rng, probs, o + CM + 2 * k, LMX)
                v = (v << 1) | b
                if k > 1:
                    m2 = o + CM + 128 + 2 * k + b
                    b2, pos, code, rng = _dbit(buf, pos, code, rng, probs, m2, LMX)
                    v = (v << 1) | b2
                    # the k-2 direct bits: _ddirect written out (a call per residual costs
                    # ~4% of the decode speed on residual-heavy series); test_codec.py's
                    # residual round trip covers every k
                    for _t in range(k - 2):
                        rng >>= 1
                        bit = 0
                        if code >= rng:
                            code -= rng
                            bit = 1
                        v = (v << 1) | bit
                        pos, code, rng = _dshift(buf, pos, code, rng)
            if pos > nbuf + 4:
                return ERR_TRUNCATED
            r = -v if neg else v
            lastsgn = 1 + neg
            run = 0
            lg = 0
        r2 = r1
        r1 = r
        if cs == SET0:
            R[i] = r
            i += 1
            if r == 0 or line == 0:
                continue
            nxt = SET1
        else:
            E[ke] = r
            ke += 1
            nxt = SET2 if (cs == SET1 and line == 2) else SET0
        ds[cs + CS_RUN] = run
        ds[cs + CS_LG] = lg
        ds[cs + CS_R1] = r1
        ds[cs + CS_R2] = r2
        ds[cs + CS_SGN] = lastsgn
        cs = nxt
        o = OFF2 if cs == SET1 else (OFF3 if cs == SET2 else 0)
        run = ds[cs + CS_RUN]
        lg = ds[cs + CS_LG]
        r1 = ds[cs + CS_R1]
        r2 = ds[cs + CS_R2]
        lastsgn = ds[cs + CS_SGN]
    ds[ST_POS] = pos
    ds[ST_CODE] = code
    ds[ST_RNG] = rng
    ds[cs + CS_RUN] = run
    ds[cs + CS_LG] = lg
    ds[cs + CS_R1] = r1
    ds[cs + CS_R2] = r2
    ds[cs + CS_SGN] = lastsgn
    return 0


@kernel(nb.void(PAY, I8))
def _dstart(buf, ds):
    """Start decoding: code = the first 4 bytes (0x00 past the end), range = 2^32 - 1."""
    code = np.int64(0)
    for pos in range(4):
        c = buf[pos] if pos < buf.shape[0] else 0
        code = (code << 8) | c
    ds[ST_CODE] = code
    ds[ST_RNG] = M32
    ds[ST_POS] = 4


# ============================================================== decoder: stages of a block
@kernel(T2(PAY, I8, P32, i8))
def _dec_header(buf, ds, probs, nps):
    """The block header (the inverse of enc_header): returns (cfg, az), cfg = RAWCFG for a raw
    block, or ERR_CONFIG for CHANGED = 0 in block 0, a predictor that does not exist or
    interpolation on a coarse grid."""
    pos = ds[ST_POS]
    code = ds[ST_CODE]
    rng = ds[ST_RNG]
    changed, pos, code, rng = _dbit(buf, pos, code, rng, probs, CH, LZ)
    az = 0
    if changed == 0:
        cfg = ds[ST_CFG]
        if cfg < 0:
            return ERR_CONFIG, az
    else:
        raw, pos, code, rng = _dbit(buf, pos, code, rng, probs, CH + 1, LZ)
        if raw == 1:
            cfg = RAWCFG
        else:
            cfg, pos, code, rng = _ddirect(buf, pos, code, rng, 5)
            pr = cfg & 7
            if pr >= NPRED or (pr < LINE0 and pr >= nps) or (pr == INTERP and cfg >> 3 != FINE):
                return ERR_CONFIG, az
    if cfg != RAWCFG:
        az, pos, code, rng = _dbit(buf, pos, code, rng, probs, CH + 2, LZ)
    ds[ST_POS] = pos
    ds[ST_CODE] = code
    ds[ST_RNG] = rng
    return cfg, az


@kernel(nb.void(PAY, I8, I8, i8, i8))
def _dec_raw(buf, ds, xi, b0, L):
    """A raw block: 64 direct bits per sample into xi (the output viewed as int64)."""
    pos = ds[ST_POS]
    code = ds[ST_CODE]
    rng = ds[ST_RNG]
    for i in range(L):
        hb, pos, code, rng = _ddirect(buf, pos, code, rng, 32)
        lb, pos, code, rng = _ddirect(buf, pos, code, rng, 32)
        xi[b0 + i] = (hb << 32) | lb
    ds[ST_POS] = pos
    ds[ST_CODE] = code
    ds[ST_RNG] = rng


@kernel(i8(I8, I8, I8M, I8, F8, i8, i8, i8, i8, i8, f8))
def _rec_level(R, PW, PG, H, x, b0, L, nh, pr, sh, step):
    """Reconstruct a level (pred 0) or smooth (pred 1..3) block from its residuals R into
    x[b0..b0+L) and H[HL..HL+L) (H[:HL]: the history, fine units). Returns 0 or ERR_RANGE."""
    qp = _rsh(H[HL - 1], sh) if nh > 0 else np.int64(0)
    for i in range(L):
        j = HL + i
        if pr == 0:
            q = qp + R[i]
        else:
            q = _predict(H, j, min(nh + i, HL), pr, sh, PW, PG) + R[i]
        if q >= QMAXI or q <= -QMAXI:
            return ERR_RANGE
        qp = q
        H[j] = q << sh
        x[b0 + i] = q * step
    return 0


@kernel(i8(I8, I8, I8, I8, F8, i8, i8, i8, i8, f8))
def _rec_line(R, E, ds, H, x, b0, L, pr, sh, step):
    """Reconstruct a line (pred 4) or curve (pred 5) block from its residuals R and its slope
    (and curvature) codes E into x[b0..b0+L) and H[HL..HL+L); the line state is
    ds[ST_QB..ST_C]. Returns 0 or ERR_RANGE."""
    qb = ds[ST_QB]
    A = ds[ST_A]
    V = ds[ST_V]
    C = ds[ST_C]
    hf = np.int64(1) << (LK - 1)
    k = 0
    for i in range(L):
        V += C
        A += V
        if A >= ALIM or A <= -ALIM or V >= VLIM or V <= -VLIM:
            return ERR_RANGE
        q = qb + ((A + hf) >> LK)
        r = R[i]
        if r != 0:
            # a break: the slope code (and the curvature code) restart the line at q
            q += r
            if q >= QMAXI or q <= -QMAXI:
                return ERR_RANGE
            e = E[k]
            k += 1
            if e > 2 * SLIM or e < -2 * SLIM:
                return ERR_RANGE
            sn = _rsh(V, LK - LS) + e
            if sn > SLIM or sn < -SLIM:
                return ERR_RANGE
            if pr == CURVE:
                f = E[k]
                k += 1
                if f > 2 * CLIM or f < -2 * CLIM:
                    return ERR_RANGE
                C = C + f
                if C > CLIM or C < -CLIM:
                    return ERR_RANGE
            qb = q
            A = np.int64(0)
            V = sn << (LK - LS)
        if q >= QMAXI or q <= -QMAXI:
            return ERR_RANGE
        H[HL + i] = q << sh
        x[b0 + i] = q * step
    ds[ST_QB] = qb
    ds[ST_A] = A
    ds[ST_V] = V
    ds[ST_C] = C
    return 0


@kernel(i8(I8, I8, F8, i8, i8, i8, f8, I8))
def _rec_interp(R, H, x, b0, L, nh, step, P):
    """Reconstruct an interpolation block (finest grid) from its residuals R, in coding order
    (interp_pass; P: scratch of the predictions of a level); the samples are output after the
    whole block. H[:HL] is the history, the block goes to H[HL..HL+L) and x[b0..b0+L). Returns 0
    or ERR_RANGE."""
    o = HL - 1
    if H[o] >= IQLIM or H[o] <= -IQLIM:
        return ERR_RANGE
    nav = _nav(H, o, nh)
    N = 1
    while N < L:
        N <<= 1
    k = 0
    s = 0
    while True:
        if s == 0:
            P[0] = H[o]
            m = 1
        else:
            m = _ipred_level(H, o, s, L, nav, P)
        unit = 2 if (s >= ICS or s == 0) else 3  # log2 of the residual unit
        for j in range(m):
            r = R[k]
            k += 1
            if r >= IQLIM or r <= -IQLIM:
                return ERR_RANGE
            q = P[j] + (r << unit)
            if q >= IQLIM or q <= -IQLIM:
                return ERR_RANGE
            H[o + (L if s == 0 else (2 * j + 1) * s)] = q
        s = (N >> 1) if s == 0 else (s >> 1)
        if s == 0:
            break
    for i in range(L):
        x[b0 + i] = H[o + 1 + i] * step
    return 0


@kernel()
def decode_frame(buf, n, eps, PW, PG, x, xi, H, R, E, probs, ds, chained):
    """Decode one frame of n samples into x (xi: the same memory viewed as int64, for raw
    blocks). Scratch: H (HL + B: the history, then the block being decoded; shifted by B
    between blocks, so memory does not grow with n), R (B residuals), E (2B slope codes, or
    the predictions of an interpolation level); probs, ds: a fresh model and state vector, or
    (``chained`` = 1, a chained frame) those the previous frame's part left, with its history
    in H[0..HL). Returns 0 or a negative error (ERR_*). Afterwards probs, ds (ST_NH: the usable
    history) and H[0..HL) (the last HL values) are what a chained frame after it continues.

    Per block: the header (_dec_header), then the raw samples (_dec_raw) or the residuals
    (dec_residuals) and the reconstruction by predictor (_rec_level, _rec_line, _rec_interp)."""
    nbuf = buf.shape[0]
    nps = PW.shape[0]
    _dstart(buf, ds)
    if chained == 0:
        for i in range(HL):
            H[i] = 0
        nh = 0
    else:
        nh = ds[ST_NH]
    for b0 in range(0, n, B):
        L = min(B, n - b0)
        if b0 > 0:  # the history of this block: the last HL values (every earlier block is B)
            for i in range(HL):
                H[i] = H[B + i]
        if ds[ST_POS] > nbuf + 4:
            return ERR_TRUNCATED
        cfg, az = _dec_header(buf, ds, probs, nps)
        if cfg < 0:
            return cfg
        if cfg == RAWCFG:
            _dec_raw(buf, ds, xi, b0, L)
            for i in range(L):
                H[HL + i] = 0
            ds[ST_CFG] = cfg
            nh = 0
            if ds[ST_POS] > nbuf + 4:
                return ERR_TRUNCATED
            continue
        lm = cfg >> 3
        pr = cfg & 7
        sh = FINE - lm
        step = (2.0 * eps) / (1 << lm)
        line = pr - LINE0 + 1 if (pr >= LINE0 and pr < INTERP) else 0
        if az == 1:
            for i in range(L):
                R[i] = 0
        else:
            rc = dec_residuals(buf, ds, probs, R, L, E, line)
            if rc != 0:
                return rc
        if pr == INTERP:
            rc = _rec_interp(R, H, x, b0, L, nh, step, E)
        elif line != 0:
            if cfg != ds[ST_CFG]:
                ds[ST_QB] = _rsh(H[HL - 1], sh) if nh > 0 else np.int64(0)
                ds[ST_A] = 0
                ds[ST_V] = 0
                ds[ST_C] = 0
            rc = _rec_line(R, E, ds, H, x, b0, L, pr, sh, step)
        else:
            rc = _rec_level(R, PW, PG, H, x, b0, L, nh, pr, sh, step)
        if rc != 0:
            return rc
        ds[ST_CFG] = cfg
        nh += L
    # a valid stream ends with  pos - 4 <= len(payload) <= pos
    if nbuf > ds[ST_POS] or nbuf < ds[ST_POS] - 4:
        return ERR_LENGTH
    # what a chained frame continues: the last HL values at H[0..HL), and how many are usable
    last = n - ((n - 1) // B) * B
    for i in range(HL):
        H[i] = H[last + i]
    ds[ST_NH] = min(nh, HL)
    return 0


# ============================================================== time stamps
@kernel(T3(OUT, i8, i8, i8, i8, F8))
def _enc_bigv(out, pos, low, rng, v, cost):
    """A non-negative v < 2^63: its bit length k (6 direct bits), then its k bits."""
    k = 0
    t = v
    while t > 0:
        t >>= 1
        k += 1
    pos, low, rng = _edirect(out, pos, low, rng, k, 6, cost)
    if k > 32:
        pos, low, rng = _edirect(out, pos, low, rng, v >> 32, k - 32, cost)
        pos, low, rng = _edirect(out, pos, low, rng, v & M32, 32, cost)
    elif k > 0:
        pos, low, rng = _edirect(out, pos, low, rng, v, k, cost)
    return pos, low, rng


@kernel(T4(PAY, i8, i8, i8))
def _dec_bigv(buf, pos, code, rng):
    """The inverse of _enc_bigv: (v, pos, code, rng); v = -1 if the length is over 63."""
    k, pos, code, rng = _ddirect(buf, pos, code, rng, 6)
    if k > 63:
        return np.int64(-1), pos, code, rng
    if k > 32:
        a, pos, code, rng = _ddirect(buf, pos, code, rng, k - 32)
        b, pos, code, rng = _ddirect(buf, pos, code, rng, 32)
        return (a << 32) | b, pos, code, rng
    return _ddirect(buf, pos, code, rng, k)


@kernel()
def enc_times(t, out, R, probs, st, cost, T):
    """Time stamps t (n >= 1; the caller guarantees |t| < 2^61 and max - min < 2^61) into out:
    zigzag(t0) and zigzag(t1 - t0) (_enc_bigv), then (n > 2) ALLZERO and the residuals
    dd[i] = d[i] - d[i-1] (set 0). R: int64 scratch of n; probs, st: a fresh model and state
    vector. Returns the payload length."""
    n = t.shape[0]
    pos = st[ST_POS]
    low = st[ST_LOW]
    rng = st[ST_RNG]
    pos, low, rng = _enc_bigv(out, pos, low, rng, (t[0] << 1) ^ (t[0] >> 63), cost)
    az = 1
    if n > 1:
        d0 = t[1] - t[0]
        pos, low, rng = _enc_bigv(out, pos, low, rng, (d0 << 1) ^ (d0 >> 63), cost)
        for i in range(2, n):
            R[i - 2] = (t[i] - t[i - 1]) - (t[i - 1] - t[i - 2])
            if R[i - 2] != 0:
                az = 0
    if n > 2:
        pos, low, rng = _ebit(out, pos, low, rng, probs, CH + 2, az, LZ, cost, T)
    st[ST_POS] = pos
    st[ST_LOW] = low
    st[ST_RNG] = rng
    if n > 2 and az == 0:
        enc_residuals(R, n - 2, R, 0, out, st, probs, cost, T)
    return enc_finish(out, st)


@kernel()
def dec_times(buf, n, t, R, probs, ds):
    """Decode n time stamps into t (R: int64 scratch of n; probs, ds: a fresh model and state
    vector). Returns 0 or a negative error (ERR_*)."""
    _dstart(buf, ds)
    pos = ds[ST_POS]
    code = ds[ST_CODE]
    rng = ds[ST_RNG]
    z, pos, code, rng = _dec_bigv(buf, pos, code, rng)
    if z < 0:
        return ERR_RANGE
    t[0] = (z >> 1) ^ (-(z & 1))
    if n > 1:
        z, pos, code, rng = _dec_bigv(buf, pos, code, rng)
        if z < 0:
            return ERR_RANGE
        d = (z >> 1) ^ (-(z & 1))
        t[1] = t[0] + d
        az = 1
        if n > 2:
            az, pos, code, rng = _dbit(buf, pos, code, rng, probs, CH + 2, LZ)
        ds[ST_POS] = pos
        ds[ST_CODE] = code
        ds[ST_RNG] = rng
        if az == 0:
            rc = dec_residuals(buf, ds, probs, R, n - 2, R, 0)
            if rc != 0:
                return rc
        for i in range(2, n):
            if az == 0:
                d = d + R[i - 2]
            t[i] = t[i - 1] + d
    else:
        ds[ST_POS] = pos
    if buf.shape[0] > ds[ST_POS] or buf.shape[0] < ds[ST_POS] - 4:
        return ERR_LENGTH
    return 0


@kernel()
def enc_times2(t, q, grid, f, C, out, R, probs, st, cost, T, code):
    """Time stamps t (n >= 2; |t| < 2^61, max - min < 2^61; every t[i] - t[0] a multiple of
    q >= 1) in mode 2 (docs/format.md, "Version 3"): zigzag(t0), q, the bit grid, (grid) f in 6
    bits, zigzag(C) (the cadence: units per sample, with f fractional bits for the grid), ALLZERO
    and the n - 1 residuals (set 0) of the units s[i] = (t[i] - t[0]) / q: deltas (grid 0),
    s[i] - s[i-1] - C, or against the grid base + rsh(a, f), a += C per sample, which restarts
    at s[i] (base = s[i], a = 0) after a residual above half a cadence. The caller guarantees
    |C| < 2^42 and f <= 62 for the grid. R: int64 scratch of n; probs, st: a fresh model and
    state vector. Returns the payload length; with code = 0 only the residuals, into
    R[0..n-2] (what the encoder's cost estimate needs), and 0."""
    n = t.shape[0]
    az = 1
    half = _rsh(C, f)
    if half < 0:
        half = -half
    half >>= 1
    base = np.int64(0)
    acc = np.int64(0)
    prev = np.int64(0)
    for i in range(1, n):
        s = (t[i] - t[0]) // q
        if grid:
            acc += C
            r = s - (base + _rsh(acc, f))
            if half > 0 and (r > half or r < -half):
                base = s
                acc = 0
        else:
            r = s - prev - C
        prev = s
        R[i - 1] = r
        if r != 0:
            az = 0
    if code == 0:
        return 0
    pos = st[ST_POS]
    low = st[ST_LOW]
    rng = st[ST_RNG]
    pos, low, rng = _enc_bigv(out, pos, low, rng, (t[0] << 1) ^ (t[0] >> 63), cost)
    pos, low, rng = _enc_bigv(out, pos, low, rng, q, cost)
    pos, low, rng = _edirect(out, pos, low, rng, grid, 1, cost)
    if grid:
        pos, low, rng = _edirect(out, pos, low, rng, f, 6, cost)
    pos, low, rng = _enc_bigv(out, pos, low, rng, (C << 1) ^ (C >> 63), cost)
    pos, low, rng = _ebit(out, pos, low, rng, probs, CH + 2, az, LZ, cost, T)
    st[ST_POS] = pos
    st[ST_LOW] = low
    st[ST_RNG] = rng
    if az == 0:
        enc_residuals(R, n - 1, R, 0, out, st, probs, cost, T)
    return enc_finish(out, st)


@kernel()
def dec_times2(buf, n, t, R, probs, ds):
    """Decode n >= 1 time stamps of mode 2 (enc_times2) into t (R: int64 scratch of n; probs,
    ds: a fresh model and state vector). Returns 0 or a negative error (ERR_*)."""
    _dstart(buf, ds)
    pos = ds[ST_POS]
    code = ds[ST_CODE]
    rng = ds[ST_RNG]
    z, pos, code, rng = _dec_bigv(buf, pos, code, rng)
    if z < 0:
        return ERR_RANGE
    t0 = (z >> 1) ^ (-(z & 1))
    t[0] = t0
    if n > 1:
        q, pos, code, rng = _dec_bigv(buf, pos, code, rng)
        if q < 1:
            return ERR_RANGE
        grid, pos, code, rng = _ddirect(buf, pos, code, rng, 1)
        f = np.int64(0)
        if grid:
            f, pos, code, rng = _ddirect(buf, pos, code, rng, 6)
            if f > 62:
                return ERR_RANGE
        z, pos, code, rng = _dec_bigv(buf, pos, code, rng)
        if z < 0 or (grid and z >= (np.int64(1) << 43)):  # the grid's |C| < 2^42
            return ERR_RANGE
        C = (z >> 1) ^ (-(z & 1))
        az, pos, code, rng = _dbit(buf, pos, code, rng, probs, CH + 2, LZ)
        ds[ST_POS] = pos
        ds[ST_CODE] = code
        ds[ST_RNG] = rng
        if az == 0:
            rc = dec_residuals(buf, ds, probs, R, n - 1, R, 0)
            if rc != 0:
                return rc
        half = _rsh(C, f)
        if half < 0:
            half = -half
        half >>= 1
        base = np.int64(0)
        acc = np.int64(0)
        s = np.int64(0)
        for i in range(1, n):
            r = R[i - 1] if az == 0 else np.int64(0)
            if grid:
                acc += C
                s = base + _rsh(acc, f) + r
                if half > 0 and (r > half or r < -half):
                    base = s
                    acc = 0
            else:
                s = s + C + r
            t[i] = t0 + q * s
    else:
        ds[ST_POS] = pos
    if buf.shape[0] > ds[ST_POS] or buf.shape[0] < ds[ST_POS] - 4:
        return ERR_LENGTH
    return 0


@kernel()
def enc_times3(t, a, b, out, R, probs, st, cost, T):
    """Time stamps t (n >= 1) in mode 3 (a chained frame's, docs/format.md "Version 3"): the
    delta of deltas continued from the stream's last two times a, b (t_-2, t_-1): ALLZERO,
    then the n residuals in set 0. The caller keeps |t|, |a|, |b| and their range below 2^61.
    R: int64 scratch of n; probs, st: a fresh model and state vector. Returns the length."""
    n = t.shape[0]
    az = 1
    p2 = a
    p1 = b
    for i in range(n):
        R[i] = (t[i] - p1) - (p1 - p2)
        if R[i] != 0:
            az = 0
        p2 = p1
        p1 = t[i]
    pos = st[ST_POS]
    low = st[ST_LOW]
    rng = st[ST_RNG]
    pos, low, rng = _ebit(out, pos, low, rng, probs, CH + 2, az, LZ, cost, T)
    st[ST_POS] = pos
    st[ST_LOW] = low
    st[ST_RNG] = rng
    if az == 0:
        enc_residuals(R, n, R, 0, out, st, probs, cost, T)
    return enc_finish(out, st)


@kernel()
def dec_times3(buf, n, a, b, t, R, probs, ds):
    """Decode n >= 1 time stamps of mode 3 (enc_times3) after a, b into t (R: int64 scratch
    of n; probs, ds: a fresh model and state vector). Returns 0 or a negative error."""
    _dstart(buf, ds)
    pos = ds[ST_POS]
    code = ds[ST_CODE]
    rng = ds[ST_RNG]
    az, pos, code, rng = _dbit(buf, pos, code, rng, probs, CH + 2, LZ)
    ds[ST_POS] = pos
    ds[ST_CODE] = code
    ds[ST_RNG] = rng
    if az == 0:
        rc = dec_residuals(buf, ds, probs, R, n, R, 0)
        if rc != 0:
            return rc
    p2 = a
    p1 = b
    for i in range(n):
        d = p1 - p2
        if az == 0:
            d = d + R[i]
        t[i] = p1 + d
        p2 = p1
        p1 = t[i]
    if buf.shape[0] > ds[ST_POS] or buf.shape[0] < ds[ST_POS] - 4:
        return ERR_LENGTH
    return 0


# ============================================================== the mixing codec (level best)
# A channel payload of coder 1 to 4 (docs/format.md, "The mixing codec"): one grid index per
# sample, its residual against the previous index coded bit by bit, each bit's probability mixed
# from six adaptive models whose contexts are the exact previous grid indices (orders 1, 2, 3,
# 4 and 6) and the sizes of the last two residuals, and a match model (the index that followed
# the last occurrence of the last six: repeated stretches, periodic signals). Integer
# arithmetic only.
MXM = 6  # models
MXW = MXM + 2  # mixer inputs: the models' stretched probabilities, the match model's, a bias
MXSETS = 192  # mixer weight sets: match state (none, short, long) x bit class (zero flag,
#               sign, unary, mantissa) x min(|r1|, 15)
MXMIN = 6  # a match repeats at least the last MXMIN indices (the order-6 context)
MXMLEN = 65535  # a match's length stops growing here
MXMV = 32  # a match found is verified over at most this many indices back
MXBIAS = 256  # the bias input
MXWLIM = 1 << 26  # |weight| stays below this (dot products far from 64-bit overflow)
MXW0 = 16384  # initial weight of a model input (1/4 in units of 2^-16); the bias's is 0
MXN = 255  # a counter's count stops here (its adaptation rate 2/(2n+3) then stays)
MXKU = 0x9E3779B97F4A7C15  # the hash multiplier (2^64 / golden ratio, odd)
MXHEAD = 16  # head bucket: zero flag, sign, unary bits (2 + 7 s + min(t, 6))
MXMANT = 16  # mantissa bucket: the first four bits below the leading one, by prefix (1..15)
MXTOP = 4  # mantissa bits modelled; the rest are direct bits
MXTB_MIN = 12  # table bits per model: min(MXTB_MAX, max(MXTB_MIN, bit_length(n) + 2))
MXTB_MAX = 20
MXQLIM = np.int64(1) << 56  # |grid index| must stay below this
# squash(d) = 4096 / (1 + e^(-d/256)) at d = -2048, -1920, ..., 2048 (linear in between)
MXSQ33 = np.array([1, 2, 3, 6, 10, 16, 27, 45, 73, 120, 194, 310, 488, 747, 1101, 1546, 2047,
                   2549, 2994, 3348, 3607, 3785, 3901, 3975, 4024, 4050, 4068, 4079, 4085, 4089,
                   4092, 4093, 4094], np.int64)


def mixing_tables():
    """The mixing codec's integer tables: (SQ, ST, REC), SQ and ST int16 (16 KB together: they
    stay in the L1 cache with the mixer's weights), REC int64. SQ[d + 2047] = squash(d) for d in
    -2047..2047 (the 33 points of MXSQ33 interpolated, rounded half up); ST[v] (v in 0..4095) =
    the least d with SQ[d + 2047] >= v, or 2047 if none; REC[n] = floor(2^17 / (2n + 3))."""
    sq = np.empty(4095, np.int64)
    for d in range(-2047, 2048):
        w, i = d & 127, (d >> 7) + 16
        sq[d + 2047] = (MXSQ33[i] * (128 - w) + MXSQ33[i + 1] * w + 64) >> 7
    # sq is nondecreasing: the least d with sq >= v is where v would be inserted on the left
    first = np.searchsorted(sq, np.arange(4096), side="left")
    st = np.where(first < 4095, first - 2047, 2047).astype(np.int64)
    rec = np.array([(1 << 17) // (2 * n + 3) for n in range(MXN + 1)], np.int64)
    return sq.astype(np.int16), st.astype(np.int16), rec


def mixing_table_bits(n: int) -> int:
    """Table bits per model of a payload of n samples."""
    return min(MXTB_MAX, max(MXTB_MIN, int(n).bit_length() + 2))


U32 = nb.uint32[::1]  # the counters of the models
I4 = nb.int32[::1]  # the match model's table: 1 + the sample that followed a context
I8R = nb.types.Array(nb.int64, 1, "C", readonly=True)  # the table REC


@kernel(i8(i8, i8))
def _mx_hash(h, v):
    """Mix v into the hash h: y = (h xor v) * MXK mod 2^64, then y xor (y >>> 29). In unsigned
    64-bit arithmetic: a signed product that overflows is undefined for the compiler (LLVM's
    ``mul nsw``), an unsigned one wraps."""
    y = np.uint64(h ^ v) * np.uint64(MXKU)
    return np.int64(y ^ (y >> np.uint64(29)))


@kernel(i8(i8, i8))
def _mx_top(h, tb):
    """The top tb bits of h, as an unsigned number."""
    return (h >> (64 - tb)) & ((np.int64(1) << tb) - 1)


@kernel(nb.void(I8, I8, i8, i8))
def _mx_contexts(ctx, Qh, r1, r2):
    """The models' context hashes of the next sample into ctx[0..MXM): the sizes of the last two
    residuals, then the previous 1, 2, 3, 4 and 6 grid indices (Qh[0] the last)."""
    ctx[0] = _mx_hash(1, min(abs(r1), 15) * 16 + min(abs(r2), 15))
    h = _mx_hash(2, Qh[0])
    ctx[1] = h
    h = _mx_hash(h, Qh[1])
    ctx[2] = h
    h = _mx_hash(h, Qh[2])
    ctx[3] = h
    h = _mx_hash(h, Qh[3])
    ctx[4] = h
    ctx[5] = _mx_hash(_mx_hash(h, Qh[4]), Qh[5])


@kernel(nb.void(I8, I8, i8, i8, i8))
def _mx_buckets(slots, ctx, v, size, tb):
    """slots[m] = the first slot of model m's bucket of ``size`` entries for key v."""
    for m in range(MXM):
        slots[m] = (np.int64(m) << tb) | (_mx_top(_mx_hash(ctx[m], v), tb) & ~(size - 1))


@kernel(nb.void(U32, i8, i8, I8R))
def _mx_count(tab, i, bit, REC):
    """Adapt counter tab[i] (probability q of a 1 in units of 2^-22, count c) after ``bit``."""
    e = np.int64(tab[i])
    q = e >> 10
    c = e & 1023
    q += (((bit << 22) - q) * REC[c]) >> 16
    q = min(max(q, 0), (1 << 22) - 1)
    if c < MXN:
        c += 1
    tab[i] = (q << 10) | c


@kernel(nb.void(U32, I4, U32, I4, i8))
def _mx_start(tab, W, MM, MT, tb):
    """Every counter at P = 1/2 with count 0; every mixer set at MXW0 per model and for the
    match model, 0 for the bias; no match remembered."""
    for i in range(MXM << tb):
        tab[i] = np.uint32(1 << 31)
    for i in range(MM.shape[0]):
        MM[i] = np.uint32(1 << 31)
    for i in range(np.int64(1) << tb):
        MT[i] = 0
    for s in range(MXSETS):
        for m in range(MXW):
            W[s * MXW + m] = MXW0 if m <= MXM else 0


@kernel(i8(I8, i8, i8))
def _mx_match(Qv, i, at):
    """How many indices before sample i equal those before sample ``at`` (< i), counted back
    from the last, at most MXMV: the length of the repeat a match found in the table has."""
    n = 0
    while n < MXMV and at - 1 - n >= 0 and Qv[at - 1 - n] == Qv[i - 1 - n]:
        n += 1
    return n


@kernel(i8(I8, i8))
def _mx_expect(ex, r):
    """The bits of residual r in coding order (zero flag, sign, unary, the modelled mantissa
    bits) into ex; returns how many."""
    ex[0] = 1 if r != 0 else 0
    if r == 0:
        return 1
    ex[1] = 1 if r < 0 else 0
    v = abs(r)
    k = _ilog2(v)
    j = 2
    for _t in range(k):
        ex[j] = 1
        j += 1
    ex[j] = 0
    j += 1
    for b in range(k - 1, k - 1 - min(k, MXTOP), -1):
        ex[j] = (v >> b) & 1
        j += 1
    return j


@kernel(nb.void(I8, i8))
def _mx_push(Qh, q):
    """Shift the grid index q into the history (Qh[0] the last)."""
    for j in range(MXM - 1, 0, -1):
        Qh[j] = Qh[j - 1]
    Qh[0] = q


@kernel()
def mx_code(dec, Qv, n, tb, tab, W, MM, MT, Qh, ctx, slots, inp, ex, eb, buf, out, x, step, st,
            SQ, ST, REC, fcost, limit, marks, pace):
    """The mixing codec in both directions: one loop, so that the encoder and the decoder
    cannot model differently. Every bit is coded at one place in it, and the model's helpers
    that take arrays are written out there: numba passes an array as seven arguments, and
    calling a per-bit helper cost as much as the bit (measured: 40% of the time).

    ``dec`` False (encode): code the grid indices Qv[0..n) (|Qv| < MXQLIM) into ``out``
    (``buf`` and ``x`` unused); returns the payload length, or -1 once it passes ``limit``
    bytes or len(out) - 256 (the caller then keeps the grid codec). Where coding ended
    (samples coded, bytes) goes to marks[3..5). ``pace`` 1: the bytes written at the marks
    (n // 8, n // 4, n // 2 samples coded) into marks[0..3); ``pace`` 2: coding also stops
    once the bytes at mark k pass marks[k] (if > 0).

    ``dec`` True (decode): decode n samples of the payload ``buf`` into x (x[i] =
    float64(Q_i) * step) and their indices into Qv (``out``, ``limit``, ``marks`` unused);
    returns 0 or a negative error (ERR_*).

    Scratch: tab (MXM << tb), W (MXSETS * MXW), MM (32), MT (1 << tb), Qh (MXM), ctx (MXM),
    slots (MXM), inp (MXW), ex and eb (80), fcost (1); st a fresh state vector."""
    _mx_start(tab, W, MM, MT, tb)
    for j in range(MXM):
        Qh[j] = 0
    r1 = np.int64(0)
    r2 = np.int64(0)
    mlen = np.int64(0)  # the match: its length (0: none) and the sample it predicts from
    mptr = np.int64(0)
    if dec:
        _dstart(buf, st)
    pos = st[ST_POS]
    lc = st[ST_LOW]  # the encoder's low, or the decoder's code (ST_CODE == ST_LOW)
    rng = st[ST_RNG]
    nbuf = buf.shape[0]
    cap = min(out.shape[0] - 256, limit)
    mark = 0
    nxt = n >> 3
    for i in range(n):
        if dec:
            if pos > nbuf + 4:
                return ERR_TRUNCATED
        else:
            if i == nxt and mark < 3:
                if pace == 1:
                    marks[mark] = pos
                elif marks[mark] > 0 and pos > marks[mark]:
                    marks[3] = i
                    marks[4] = pos
                    return -1
                mark += 1
                nxt = n >> (3 - mark)
            if pos > cap:
                marks[3] = i
                marks[4] = pos
                return -1
            _mx_expect(eb, Qv[i] - Qh[0])  # the bits to code
        _mx_contexts(ctx, Qh, r1, r2)
        mslot = _mx_top(ctx[5], tb)
        if mlen == 0 and MT[mslot] > 0:
            at = np.int64(MT[mslot]) - 1
            m = _mx_match(Qv, i, at)
            if m >= MXMIN:
                mlen = m
                mptr = at
        ne = _mx_expect(ex, Qv[mptr] - Qh[0]) if mlen > 0 else 0
        ml = min(mlen, 15) * 2
        sw = (0 if mlen == 0 else (1 if mlen < 16 else 2)) * 64
        _mx_buckets(slots, ctx, 0, MXHEAD, tb)
        a1 = min(abs(r1), 15)
        # the residual's bits: zero flag (node 0), sign (node 1), k = floor(log2 |r|) as k
        # one-bits and a zero-bit (nodes 2 + 7 sg + min(t, 6)), then the top min(k, MXTOP)
        # bits below the leading one (mantissa buckets, node = the prefix read so far)
        phase = 0  # of the next bit: 0 zero flag, 1 sign, 2 unary, 3 mantissa
        node = 0
        wsb = 0  # the bit class's weight sets: 0, 16, 32, 48
        sg = 0
        k = 0
        top = 0
        j = 0  # bits coded; the match predicts while they agree with its residual
        while True:
            mc = ml + ex[j] if j < ne else -1
            # the mixed probability of a 1 (in 1..4095)
            o = (sw + wsb + a1) * MXW
            dot = np.int64(0)
            for m in range(MXM):
                sm = np.int64(ST[np.int64(tab[slots[m] + node]) >> 20])
                inp[m] = sm
                dot += np.int64(W[o + m]) * sm
            inp[MXM] = np.int64(ST[np.int64(MM[mc]) >> 20]) if mc >= 0 else 0
            dot += np.int64(W[o + MXM]) * inp[MXM]
            inp[MXM + 1] = MXBIAS
            dot += np.int64(W[o + MXM + 1]) * MXBIAS
            d = min(max(dot >> 16, -2047), 2047)
            p = min(max(np.int64(SQ[d + 2047]), 1), 4095)
            # the range coder
            bound = (rng >> 12) * (4096 - p)
            if dec:
                if lc < bound:
                    rng = bound
                    bit = 0
                else:
                    lc -= bound
                    rng -= bound
                    bit = 1
                if rng < TOPV:
                    pos, lc, rng = _dshift(buf, pos, lc, rng)
            else:
                bit = eb[j]
                pos, lc, rng = _esplit(out, pos, lc, rng, bound, bit)
            # adapt: the mixer set, the models' counters at node, the match model's counter
            err = (bit << 12) - p
            for m in range(MXW):
                W[o + m] = min(max(np.int64(W[o + m]) + ((inp[m] * err) >> 10), -MXWLIM),
                               MXWLIM)
            for m in range(MXM):
                _mx_count(tab, slots[m] + node, bit, REC)
            if mc >= 0:
                _mx_count(MM, mc, bit, REC)
            if mc >= 0 and bit != ex[j]:
                ne = 0
            j += 1
            # the next bit
            if phase == 0:
                if bit == 0:
                    break
                phase = 1
                node = 1
                wsb = 16
            elif phase == 1:
                sg = bit
                phase = 2
                node = 2 + 7 * sg
                wsb = 32
            elif phase == 2:
                if bit:
                    k += 1
                    if k > 62:
                        return ERR_RANGE
                    node = 2 + 7 * sg + min(k, 6)
                else:
                    if k == 0:
                        break
                    _mx_buckets(slots, ctx, 1 + 2 * k + sg, MXMANT, tb)
                    top = min(k, MXTOP)
                    phase = 3
                    node = 1
                    wsb = 48
            else:
                node = (node << 1) | bit
                top -= 1
                if top == 0:
                    break
        # node: the leading one and the modelled bits below it; the rest are direct bits
        if phase == 0:
            r = np.int64(0)
        else:
            v = node if phase == 3 else np.int64(1)
            if k > MXTOP:
                if dec:
                    rest, pos, lc, rng = _ddirect(buf, pos, lc, rng, k - MXTOP)
                else:
                    rest = abs(Qv[i] - Qh[0])
                    pos, lc, rng = _edirect(out, pos, lc, rng, rest, k - MXTOP, fcost)
                v = (v << (k - MXTOP)) | (rest & ((np.int64(1) << (k - MXTOP)) - 1))
            r = -v if sg else v
        q = Qh[0] + r
        if dec:
            if q >= MXQLIM or q <= -MXQLIM:
                return ERR_RANGE
            x[i] = np.float64(q) * step
            Qv[i] = q
        if mlen > 0:
            if Qv[mptr] == q:
                mlen = min(mlen + 1, MXMLEN)
                mptr += 1
            else:
                mlen = 0
        MT[mslot] = i + 1
        r2 = r1
        r1 = r
        _mx_push(Qh, q)
    if dec:
        if nbuf > pos or nbuf < pos - 4:
            return ERR_LENGTH
        return 0
    st[ST_POS] = pos
    st[ST_LOW] = lc
    st[ST_RNG] = rng
    size = enc_finish(out, st)
    marks[3] = n
    marks[4] = size
    return size


@kernel(T2(f8, f8, f8))
def _mx_span(v, step, eps):
    """(lo, hi): the grid indices q with |float64(q) * step - v| <= eps (the decoder's
    multiply) form lo..hi; lo > hi when there is none, or when |v / step| + 2 reaches 2^54."""
    g = v / step
    if not abs(g) + 2.0 < HFQLIM:
        return np.int64(1), np.int64(0)
    lo = np.int64(np.ceil((v - eps) / step))
    hi = np.int64(np.floor((v + eps) / step))
    # each bound is within an index of the exact one (the quotients round): moved until the
    # decoder's multiply admits it and not the index beyond it
    for _ in range(3):
        if abs(np.float64(lo - 1) * step - v) <= eps:
            lo -= 1
        elif not abs(np.float64(lo) * step - v) <= eps:
            lo += 1
        if abs(np.float64(hi + 1) * step - v) <= eps:
            hi += 1
        elif not abs(np.float64(hi) * step - v) <= eps:
            hi -= 1
    if not (abs(np.float64(lo) * step - v) <= eps and abs(np.float64(hi) * step - v) <= eps):
        return np.int64(1), np.int64(0)
    return lo, hi


@kernel()
def mx_runs(x, n, step, eps, lm, Q):
    """Level best's run levels of x[0..n) on the grid of ``step`` = 2 eps / 2^lm into Q: the
    samples cut greedily into the longest runs that one grid index holds within eps (each run
    as long as the indices every sample admits still share one), and each run's index the one
    of the coarsest grid 2 eps / 2^k (k = 0..lm, a multiple of 2^(lm-k)) in that share,
    among those the nearest to the run before's (the first run's: the nearest to x[0] /
    step; a tie: the lower). Few runs, and few distinct levels: what the mixing codec's models
    of exact previous indices code shortest. Returns 0, or -1 when a sample has no index
    below 2^54."""
    i = 0
    prev = np.int64(0)
    while i < n:
        a, b = _mx_span(x[i], step, eps)
        if a > b:
            return -1
        j = i + 1
        while j < n:
            c, d = _mx_span(x[j], step, eps)
            if c > d:
                return -1
            if max(a, c) > min(b, d):
                break
            a = max(a, c)
            b = min(b, d)
            j += 1
        if i == 0:
            prev = min(max(np.int64(np.floor(x[0] / step + 0.5)), a), b)
        for k in range(lm + 1):
            m = np.int64(1) << (lm - k)  # the coarsest grid first
            lo = -((-a) // m) * m
            hi = (b // m) * m
            if lo <= hi:
                c = min(max(prev, lo), hi)
                f = (c // m) * m  # on that grid: the multiple below c or above, the nearer
                c = f if c - f <= f + m - c else f + m
                break
        for t in range(i, j):
            Q[t] = c
        prev = c
        i = j
    return 0


# ============================================================== the Huffman codec
# docs/format.md, "The Huffman codec" (codec bytes 5 to 8): grid indices on one grid (_hf_index),
# their differences cut into run and value tokens, canonical Huffman codes of eight contexts.
# The encoder's passes: _hf_tokens (indices, tokens, counts), _hf_lengths (code lengths, any
# correct length-limited construction: the decoder reads them), _hf_write (tables and bits);
# its entry points hf_cost (costs on several grids, nothing written) and hf_encode. The mixing
# codec of level best takes its held indices from hf_indices.
HFC = 8  # contexts
HFS = 168  # symbols: 3 (class - 1) + t, classes 1..56
HFL = 11  # the longest code, and the decoder's lookup bits (int16 tables: 32 kB in all)
HFRUN = 21  # the largest class of a run (n <= 2^20)
# the encoder keeps |Q| below 2^54, so that a difference of two indices has a class <= 55
HFQMAX = np.int64(1) << 54
HFQLIM = float(1 << 54)
HFNEAR = float(1 << 51)  # from here v * (1/step) may be off by half a step or more
U8 = nb.uint8[::1]


@kernel(i8(i8))
def _hf_class(v):
    """The class of v >= 1: its bit length (one count of leading zeros)."""
    return 64 - leading_zeros(np.uint64(v))


@kernel(i8(f8, i8, f8, f8, f8, b1))
def _hf_index(v, prev, step, inv, eps, hold):
    """The grid index of sample v on the grid of ``step`` (inv = 1 / step, a first guess only):
    the nearest; with ``hold``, ``prev`` (the index before) while it is within eps, else the
    nearest to it; checked with the decoder's multiply to be within eps. HFQMAX when there is
    none below 2^54."""
    g = v * inv
    if not abs(g) < HFQLIM:
        return HFQMAX
    if hold and abs(np.float64(prev) * step - v) <= eps:
        q = prev
    elif hold:  # the index nearest the one before within the bound
        if np.float64(prev) * step < v:
            q = np.int64(np.ceil((v - eps) / step))
        else:
            q = np.int64(np.floor((v + eps) / step))
    else:
        # the nearest (a tie rounds up): g - floor(g) is exact, where floor(g + 0.5) rounded
        # the sum first (from 2^52 it is a tie, rounded to even: one index too far)
        f = np.floor(g)
        q = np.int64(f) + (1 if g - f >= 0.5 else 0)
        if abs(g) >= HFNEAR:
            # from 2^51, g's rounding error (1/step is inexact, and g's own spacing grows to 4)
            # reaches half a step, up to about 4.5 steps below 2^54: the index nearest by the
            # decoder's multiply among the 5 on each side (the first of equals)
            c = q
            d = abs(np.float64(c) * step - v)
            for k in range(-5, 6):
                dk = abs(np.float64(c + k) * step - v)
                if dk < d:
                    d = dk
                    q = c + k
    if not abs(np.float64(q) * step - v) <= eps:
        q += 1 if np.float64(q) * step < v else -1
        if not abs(np.float64(q) * step - v) <= eps:
            return HFQMAX
    if abs(q) >= HFQMAX:
        return HFQMAX
    return q


@kernel()
def hf_indices(x, n, step, eps, hold, Q):
    """The grid indices Q[0..n) of x[0..n) by _hf_index's rule (the mixing codec of level best
    on a held grid); returns 0, or -1 when a sample has none."""
    inv = 1.0 / step
    prev = np.int64(0)
    for i in range(n):
        q = _hf_index(x[i], prev, step, inv, eps, hold)
        if q == HFQMAX:
            return -1
        Q[i] = q
        prev = q
    return 0


@kernel(i8(i8, i8, i8, I8, I8, I8))
def _hf_run(run, ctx, t, tk, val, cnt):
    """Token t: a run of ``run`` zero differences in context ``ctx`` (tk, val, cnt as in
    _hf_tokens); returns its extra bits."""
    j = _hf_class(run)
    s = ctx * HFS + 3 * (j - 1)
    tk[t] = s
    val[t] = run - (np.int64(1) << (j - 1))
    cnt[s] += 1
    return j - 1


@kernel(i8(XIN, i8, f8, f8, b1, I8, I8, I8, I8))
def _hf_tokens(x, n, step, eps, hold, tk, val, cnt, extra):
    """Pass 1 of the encoder: the grid index of each sample of x[0..n) on the grid of ``step``
    (_hf_index), its difference from the one before cut into tokens: tk[t] = context * HFS +
    symbol, val[t] = its extra bits; cnt (HFC * HFS) counts each context's symbols, extra[0]
    the extra bits. Returns the number of tokens, or -1 when a sample has no index within eps
    below 2^54 (the grid codec then stays)."""
    for j in range(HFC * HFS):
        cnt[j] = 0
    ebits = np.int64(0)
    inv = 1.0 / step  # a first guess only: every index is checked with the decoder's multiply
    prev = np.int64(0)
    run = np.int64(0)
    ctx = np.int64(0)
    nt = np.int64(0)
    for i in range(n):
        q = _hf_index(x[i], prev, step, inv, eps, hold)
        if q == HFQMAX:
            return -1
        r = q - prev
        prev = q
        if r == 0:
            run += 1
            continue
        if run > 0:
            ebits += _hf_run(run, ctx, nt, tk, val, cnt)
            nt += 1
            run = 0
            ctx = 0
        a = abs(r)
        j = _hf_class(a)
        s = ctx * HFS + 3 * (j - 1) + (1 if r > 0 else 2)
        tk[nt] = s
        val[nt] = a - (np.int64(1) << (j - 1))
        cnt[s] += 1
        ebits += j - 1
        nt += 1
        ctx = min(j, HFC - 1)
    if run > 0:
        ebits += _hf_run(run, ctx, nt, tk, val, cnt)
        nt += 1
    extra[0] = ebits
    return nt


@kernel(nb.void(I8, I8, i8, I8, I8, I8, I8))
def _hf_code_lengths(cnt, lens, c0, leaf, weight, parent, depth):
    """The code lengths lens[c0 .. c0 + HFS) of the symbols counted in cnt[c0 .. c0 + HFS):
    Huffman's (two queues over the counts sorted by insertion), then lengths above HFL cut to
    HFL and the Kraft sum restored by lengthening the longest codes below HFL. Scratch: leaf
    (HFS), weight, parent, depth (2 HFS)."""
    m = 0
    for s in range(HFS):
        lens[c0 + s] = 0
        if cnt[c0 + s] > 0:
            # insertion by count (ties: by symbol, the order of arrival)
            k = m
            while k > 0 and cnt[c0 + leaf[k - 1]] > cnt[c0 + s]:
                leaf[k] = leaf[k - 1]
                k -= 1
            leaf[k] = s
            m += 1
    if m == 0:
        return
    if m == 1:
        lens[c0 + leaf[0]] = 1
        return
    for k in range(m):
        weight[k] = cnt[c0 + leaf[k]]
    a = 0  # next leaf
    b = m  # next internal node (internal nodes are made in order of weight)
    for k in range(m, 2 * m - 1):
        for side in range(2):
            if a < m and (b >= k or weight[a] <= weight[b]):
                take = a
                a += 1
            else:
                take = b
                b += 1
            parent[take] = k
            if side == 0:
                weight[k] = weight[take]
            else:
                weight[k] += weight[take]
    depth[2 * m - 2] = 0
    for k in range(2 * m - 3, -1, -1):
        depth[k] = depth[parent[k]] + 1
    kraft = np.int64(0)
    for k in range(m):
        d = min(depth[k], HFL)
        lens[c0 + leaf[k]] = d
        kraft += np.int64(1) << (HFL - d)
    while kraft > (np.int64(1) << HFL):
        # lengthen the longest code below HFL (the rarest such symbol: leaves run by count)
        best = -1
        for k in range(m):
            d = lens[c0 + leaf[k]]
            if d < HFL and (best < 0 or d > lens[c0 + leaf[best]]):
                best = k
        d = lens[c0 + leaf[best]]
        lens[c0 + leaf[best]] = d + 1
        kraft -= np.int64(1) << (HFL - d - 1)


@kernel(nb.void(I8, i8, I8, I8))
def _hf_canonical(lens, c0, codes, scratch):
    """The canonical codes of the lengths lens[c0 .. c0 + HFS) (RFC 1951, 3.2.2: by length, then
    by symbol), as the writer's words codes[c0 .. c0 + HFS): code << 16 | extra bits << 8 |
    code length + extra bits. Scratch: 2 (HFL + 1): the count of each length, then the next
    code of each."""
    nxt = HFL + 1
    for d in range(HFL + 1):
        scratch[d] = 0
    for s in range(HFS):
        scratch[lens[c0 + s]] += 1
    scratch[0] = 0
    code = np.int64(0)
    for d in range(1, HFL + 1):
        code = (code + scratch[d - 1]) << 1
        scratch[nxt + d] = code
    for s in range(HFS):
        d = lens[c0 + s]
        if d > 0:
            # the writer's word: the code, the extra bits' count and the token's length
            e = s // 3
            codes[c0 + s] = (scratch[nxt + d] << 16) | (e << 8) | (d + e)
            scratch[nxt + d] += 1


@kernel(T2(I8, i8, I8, I8, I8, I8, I8, I8))
def _hf_lengths(cnt, ebits, lens, codes, leaf, weight, parent, depth):
    """Every context's code lengths and canonical codes (HFC * HFS each, the codes as the
    writer's words) from its counts; returns the length of the payload's code tables and of
    its tokens' bits (``ebits`` extra bits among them), in bytes."""
    bits = ebits
    size = np.int64(0)
    for c in range(HFC):
        _hf_code_lengths(cnt, lens, c * HFS, leaf, weight, parent, depth)
        _hf_canonical(lens, c * HFS, codes, leaf)
        S = 0
        for s in range(HFS):
            bits += cnt[c * HFS + s] * lens[c * HFS + s]
            if lens[c * HFS + s] > 0:
                S = s + 1
        size += (2 if S >= 128 else 1) + (S + 1) // 2
    return size, (bits + 7) // 8


@kernel(T2(nb.uint64, i8, U8, i8))
def _hf_put(acc, nbits, out, pos):
    """Write the whole bytes of the nbits (1 to 39) pending bits of acc: always 4 bytes at pos
    (no branch: the bytes past the whole ones are written again later), then pos moves on by
    the whole ones; returns (pos, the bits still pending, 0 to 7)."""
    top = acc << np.uint64(64 - nbits)
    out[pos] = top >> np.uint64(56)
    out[pos + 1] = (top >> np.uint64(48)) & np.uint64(0xFF)
    out[pos + 2] = (top >> np.uint64(40)) & np.uint64(0xFF)
    out[pos + 3] = (top >> np.uint64(32)) & np.uint64(0xFF)
    return pos + (nbits >> 3), nbits & 7


@kernel(i8(U8, i8, i8))
def _hf_varint(out, pos, v):
    """Write v as a varint at pos; returns the position after it."""
    while v >= 0x80:
        out[pos] = (v & 0x7F) | 0x80
        v >>= 7
        pos += 1
    out[pos] = v
    return pos + 1


@kernel(i8(I8, I8, i8, I8, I8, OUT))
def _hf_write(tk, val, nt, lens, codes, out):
    """The payload: the code tables of ``lens`` (HFC * HFS), then the nt tokens tk/val coded
    with ``codes`` (the words of _hf_canonical); returns its length (out: at least 9 n + 708
    bytes)."""
    pos = 0
    for c in range(HFC):
        S = 0
        for s in range(HFS):
            if lens[c * HFS + s] > 0:
                S = s + 1
        pos = _hf_varint(out, pos, S)
        for s in range(0, S, 2):
            hi = lens[c * HFS + s]
            lo = lens[c * HFS + s + 1] if s + 1 < S else 0
            out[pos] = (hi << 4) | lo
            pos += 1
    acc = np.uint64(0)
    nb_ = np.int64(0)  # bits of acc not yet written (< 8 between tokens)
    for t in range(nt):
        w = codes[tk[t]]
        size = w & 255
        e = (w >> 8) & 255
        if size <= 32:
            acc = (acc << np.uint64(size)) | np.uint64(((w >> 16) << e) | val[t])
            pos, nb_ = _hf_put(acc, nb_ + size, out, pos)
        else:  # a long value (e >= 21): its code, then its extra bits at most 32 at a time
            d = size - e
            acc = (acc << np.uint64(d)) | np.uint64(w >> 16)
            pos, nb_ = _hf_put(acc, nb_ + d, out, pos)
            lo = min(e, 32)
            if e > lo:
                acc = (acc << np.uint64(e - lo)) | np.uint64(val[t] >> lo)
                pos, nb_ = _hf_put(acc, nb_ + e - lo, out, pos)
            acc = (acc << np.uint64(lo)) | np.uint64(val[t] & ((np.int64(1) << lo) - 1))
            pos, nb_ = _hf_put(acc, nb_ + lo, out, pos)
    if nb_ > 0:  # the last bits, padded with 0-bits to a byte
        out[pos] = (acc << np.uint64(8 - nb_)) & np.uint64(0xFF)
        pos += 1
    return pos




# scratch of the encoder's entry points (int64 rows of a matrix, HFSC of them with n + 1 room):
# the tokens, their extra bits; then small vectors at the start of the rows below
HF_TK, HF_VAL, HF_CNT, HF_LENS, HF_CODES, HF_LEAF, HF_WEIGHT, HF_PARENT, HF_DEPTH, HF_EXTRA = \
    range(10)
HFSC = 10


@kernel()
def hf_cost(x, n, eps, grids, sc, res):
    """The Huffman codec's payload of x[0..n) on each grid of ``grids`` (int64 (G, 2): lm,
    hold), costed without writing: res[g] = (payload length, the length of its bits without
    the code tables), or (-1, -1) when a sample has no index on that grid. sc: int64
    (HFSC, >= n + 1) scratch."""
    for g in range(grids.shape[0]):
        step = (2.0 * eps) / np.float64(np.int64(1) << grids[g, 0])
        nt = _hf_tokens(x, n, step, eps, grids[g, 1] != 0, sc[HF_TK], sc[HF_VAL], sc[HF_CNT],
                        sc[HF_EXTRA])
        if nt < 0:
            res[g, 0] = -1
            res[g, 1] = -1
            continue
        tables, bits = _hf_lengths(sc[HF_CNT], sc[HF_EXTRA][0], sc[HF_LENS], sc[HF_CODES],
                                   sc[HF_LEAF], sc[HF_WEIGHT], sc[HF_PARENT], sc[HF_DEPTH])
        res[g, 0] = tables + bits
        res[g, 1] = bits


@kernel()
def hf_encode(x, n, step, eps, hold, sc, out):
    """The Huffman codec's payload of x[0..n) on the grid of ``step`` into out (at least
    9 n + 720 bytes); returns its length, or -1 when a sample has no index there. sc: int64
    (HFSC, >= n + 1) scratch."""
    nt = _hf_tokens(x, n, step, eps, hold, sc[HF_TK], sc[HF_VAL], sc[HF_CNT], sc[HF_EXTRA])
    if nt < 0:
        return -1
    _hf_lengths(sc[HF_CNT], sc[HF_EXTRA][0], sc[HF_LENS], sc[HF_CODES], sc[HF_LEAF],
                sc[HF_WEIGHT], sc[HF_PARENT], sc[HF_DEPTH])
    return _hf_write(sc[HF_TK], sc[HF_VAL], nt, sc[HF_LENS], sc[HF_CODES], out)


@kernel(nb.uint64(PAY, i8))
def _hf_read(buf, bp):
    """The 64 bits of buf from its byte bp >> 3, most significant first, shifted left by
    bp & 7: at least 57 bits of the stream from bit bp (buf holds 8 bytes past any byte read)."""
    k = bp >> 3
    w = ((np.uint64(buf[k]) << np.uint64(56)) | (np.uint64(buf[k + 1]) << np.uint64(48))
         | (np.uint64(buf[k + 2]) << np.uint64(40)) | (np.uint64(buf[k + 3]) << np.uint64(32))
         | (np.uint64(buf[k + 4]) << np.uint64(24)) | (np.uint64(buf[k + 5]) << np.uint64(16))
         | (np.uint64(buf[k + 6]) << np.uint64(8)) | np.uint64(buf[k + 7]))
    return w << np.uint64(bp & 7)


@kernel()
def hf_decode(buf, nbuf, n, step, x, dec):
    """Decode the n samples of a Huffman-codec payload of nbuf bytes (buf: the payload and 8
    zero bytes after it) into x (x[i] = float64(Q_i) * step); dec: int16 scratch of
    HFC << HFL (the lookup tables: extra bits << 8 | (1 + t) << 4 | code length, 0 for no
    code). Returns 0 or a negative error (ERR_*)."""
    pos = 0
    for c in range(HFC):
        S = np.int64(0)  # a varint of up to 10 bytes (docs/format.md, "Conventions")
        shift = 0
        big = False  # a group past the 14th bit is not 0: S is far above HFS
        while True:
            if pos >= nbuf or shift > 63:
                return ERR_CODE
            b = np.int64(buf[pos])
            pos += 1
            if shift < 14:
                S |= (b & 0x7F) << shift
            elif b & 0x7F:
                big = True
            shift += 7
            if b < 0x80:
                break
        if big or S > HFS or pos + (S + 1) // 2 > nbuf:
            return ERR_CODE
        base = c << HFL
        for k in range(1 << HFL):
            dec[base + k] = 0
        kraft = np.int64(0)
        for s in range(S):
            d = (np.int64(buf[pos + s // 2]) >> (4 if s % 2 == 0 else 0)) & 15
            if d > HFL:
                return ERR_CODE
            if d > 0:
                kraft += np.int64(1) << (HFL - d)
        if kraft > (np.int64(1) << HFL):
            return ERR_CODE
        if S % 2 == 1 and (buf[pos + S // 2] & 15) != 0:
            return ERR_CODE
        # canonical codes, each filling the 2^(HFL - d) entries that start with it
        code = np.int64(0)
        for d in range(1, HFL + 1):
            for s in range(S):
                if ((np.int64(buf[pos + s // 2]) >> (4 if s % 2 == 0 else 0)) & 15) == d:
                    first = code << (HFL - d)
                    for k in range(np.int64(1) << (HFL - d)):
                        dec[base + first + k] = ((s // 3) << 8) | ((1 + s % 3) << 4) | d
                    code += 1
            code <<= 1
        pos += (S + 1) // 2
    start = pos
    bp = 8 * pos
    ctx = np.int64(0)
    q = np.int64(0)
    i = np.int64(0)
    while i < n:
        if bp >> 3 > nbuf:
            return ERR_TRUNCATED
        w = _hf_read(buf, bp)
        e = np.int64(dec[(ctx << HFL) + np.int64(w >> np.uint64(64 - HFL))])
        if e == 0:
            return ERR_CODE
        d = e & 15
        eb = (e >> 8) & 63  # extra bits: the class - 1
        if d + eb > 57:  # a long value: its extra bits read again from where they start
            bp += d
            if bp >> 3 > nbuf:
                return ERR_TRUNCATED
            w = _hf_read(buf, bp)
            d = 0
        # (shifted in two steps: a shift by 64 is undefined, and eb may be 0)
        v = (np.int64(1) << eb) | np.int64(((w << np.uint64(d)) >> np.uint64(1))
                                           >> np.uint64(63 - eb))
        bp += d + eb
        f = (e >> 4) & 3  # 1 a run, 2 a positive value, 3 a negative one
        run = np.int64(f == 1)
        sgn = (f >> 1) * (1 - 2 * (f & 1))  # 0, +1 or -1, without a branch
        count = 1 + run * (v - 1)
        if count > n - i or (run == 1 and eb >= HFRUN):
            return ERR_RANGE
        q += sgn * v
        if q >= MXQLIM or q <= -MXQLIM:
            return ERR_RANGE
        xv = np.float64(q) * step
        x[i] = xv
        if count > 1:
            for j in range(1, count):
                x[i + j] = xv
        i += count
        ctx = (1 - run) * min(eb + 1, HFC - 1)
    used = bp - 8 * start  # bits of tokens
    if (used + 7) // 8 != nbuf - start:
        return ERR_LENGTH
    pad = (8 - used % 8) % 8
    if pad and (np.int64(buf[nbuf - 1]) & ((1 << pad) - 1)) != 0:
        return ERR_LENGTH
    return 0
