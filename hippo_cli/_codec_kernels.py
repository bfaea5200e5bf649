"""Numba kernels of the bounded-error codec (:mod:`hippo_cli.codec.grid`): every jitted function
the codec uses lives in this one file (numba's cache watches only the defining file).

No fastmath anywhere (the decode path must be bit-identical on every machine). The decode path
uses only integer arithmetic plus, per sample, one float64 product
x = float(Q) * step with step = (2.0*eps) / float(1 << lm) (IEEE-754, round-to-nearest).
"""

import numba as nb
import numpy as np

B = 4096  # block length (look-ahead bound)
HL = 4160  # history kept across blocks (fine-grid units): one block + 64
SHL = 64  # history window of the smooth-predictor gate
FINE = 3  # finest grid: m = 8 (lm = 3); history is kept in units of 2*eps/8
QLIM = 36028797018963968.0  # 2^55: |x/step| must be below this for a grid index to be usable
QMAXI = np.int64(1) << 56  # decoder sanity bound on |Q|
DLIM = np.int64(1) << 36  # smooth predictors need |first differences| (fine units) below this
GSH = 16  # fixed-point shift of the smooth-predictor taps

PB = 15
PONE = 1 << PB
TOPV = 1 << 24
M32 = 0xFFFFFFFF
NZ = 52
NS = 12
NMC = 8
NU = 64
CM = NZ + NS + NMC * NU
CH = CM + 256  # header contexts
OFF2 = CH + 8  # second residual context set (slope codes of the line predictors)
NCTX = OFF2 + 2 * CH
LZ = 5  # adaptation-shift limits
LMX = 6
NPRED = 7  # 0 level, 1..3 smooth, 4 line, 5 curve, 6 interpolation
LINE0 = 4
INTERP = 6
ICS = 64  # interpolation: strides s >= ICS use residual unit 4 (= eps) and the Q nearest the centre
IQLIM = np.int64(1) << 44  # interpolation mode: |grid index| < IQLIM (anchor and every sample)
RAWCFG = 32
NSTATE = 32
LK = 24  # line state fixed point: accumulator/slope/curvature in units of 2^-LK grid steps
LS = 12  # slope codes in units of 2^-LS grid steps per sample
SLIM = np.int64(1) << 33  # |slope code value| <= SLIM
CLIM = np.int64(1) << 32  # |curvature| (2^-LK grid steps per sample^2) <= CLIM
XLIM = np.int64(1) << 33  # encoder: a segment never strays 2^33 grid steps from its start level
ALIM = np.int64(1) << 60  # decoder: |line accumulator| must stay below this
VLIM = np.int64(1) << 58  # decoder: |slope accumulator| must stay below this
OFF3 = OFF2 + CH  # third residual context set (curvature codes)


# ============================================================== model helpers
@nb.njit(cache=True, inline="always")
def _ilog2(v):
    k = 0
    while v > 1:
        v >>= 1
        k += 1
    return k


@nb.njit(cache=True, inline="always")
def _cls(a):
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


@nb.njit(cache=True, inline="always")
def _zctx(run, lg, a1, a2):
    if run == 0 and a1 > 0:
        return (min(a1, 3) - 1) * 4 + min(a2, 3)
    if run == 1:
        return 12 + min(a2, 3)
    return 16 + min(lg, 35)


@nb.njit(cache=True, inline="always")
def _sctx(r1, r2, lastsgn):
    s1 = 0 if r1 == 0 else (1 if r1 > 0 else 2)
    s2 = 0 if r2 == 0 else (1 if r2 > 0 else 2)
    if s1 == 0 and s2 == 0:
        return 9 + lastsgn
    return s1 * 3 + s2


@nb.njit(cache=True)
def init_model():
    p = np.empty(2 * NCTX, np.int32)
    p[:NCTX] = PONE >> 1
    p[NCTX:] = 1
    return p


@nb.njit(cache=True, inline="always")
def _rsh(v, sh):
    # round-half-up arithmetic shift (exact integer op)
    if sh == 0:
        return v
    return (v + (np.int64(1) << (sh - 1))) >> sh


@nb.njit(cache=True, inline="always")
def _predict(H, j, nh, pred, sh, PW, PG):
    """Prediction of the grid index of sample j (block grid, shift sh = 3-lm) from the fine
    history H[..j-1].
    nh = number of valid history samples before j."""
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


# ============================================================== range encoder
@nb.njit(cache=True, inline="always")
def _carry(out, pos):
    j = pos - 1
    while j >= 0 and out[j] == 255:
        out[j] = 0
        j -= 1
    if j >= 0:
        out[j] += 1


@nb.njit(cache=True, inline="always")
def _eshift(out, pos, low, rng):
    """Encoder renormalisation: shift out top bytes of ``low`` until ``rng`` >= TOPV."""
    while rng < TOPV:
        out[pos] = (low >> 24) & 0xFF
        pos += 1
        low = (low << 8) & M32
        rng <<= 8
    return pos, low, rng


@nb.njit(cache=True, inline="always")
def _ebit(out, pos, low, rng, probs, ci, bit, lim):
    p = np.int64(probs[ci])
    sh = probs[NCTX + ci]
    if sh < lim:
        probs[NCTX + ci] = sh + 1
    bound = (rng >> PB) * p
    if bit == 0:
        rng = bound
        probs[ci] = p + ((PONE - p) >> sh)
    else:
        low += bound
        rng -= bound
        probs[ci] = p - (p >> sh)
        if low > M32:
            low &= M32
            _carry(out, pos)
    return _eshift(out, pos, low, rng)


@nb.njit(cache=True, inline="always")
def _edirect(out, pos, low, rng, v, nbits):
    for b in range(nbits - 1, -1, -1):
        rng >>= 1
        if (v >> b) & 1:
            low += rng
            if low > M32:
                low &= M32
                _carry(out, pos)
        pos, low, rng = _eshift(out, pos, low, rng)
    return pos, low, rng


@nb.njit(cache=True, inline="always")
def _esym(out, pos, low, rng, probs, o, r, run, lg, r1, r2, lastsgn):
    """Code one residual symbol with context set at offset o. Returns the new coder and context
    state."""
    a1 = abs(r1)
    a2 = abs(r2)
    zc = o + _zctx(run, lg, a1, a2)
    if r == 0:
        pos, low, rng = _ebit(out, pos, low, rng, probs, zc, 0, LZ)
        run += 1
        if (run & (run - 1)) == 0:
            lg = 0 if run == 1 else lg + 1
    else:
        pos, low, rng = _ebit(out, pos, low, rng, probs, zc, 1, LZ)
        neg = 1 if r < 0 else 0
        pos, low, rng = _ebit(out, pos, low, rng, probs, o + NZ + _sctx(r1, r2, lastsgn), neg, LMX)
        lastsgn = 1 + neg
        v = abs(r)
        k = _ilog2(v)
        base = o + NZ + NS + _cls(a1 + (a2 >> 1)) * NU
        for t in range(k):
            pos, low, rng = _ebit(out, pos, low, rng, probs, base + t, 1, LMX)
        pos, low, rng = _ebit(out, pos, low, rng, probs, base + k, 0, LMX)
        if k > 0:
            b = (v >> (k - 1)) & 1
            pos, low, rng = _ebit(out, pos, low, rng, probs, o + CM + k * 2, b, LMX)
            if k > 1:
                b2 = (v >> (k - 2)) & 1
                pos, low, rng = _ebit(out, pos, low, rng, probs, o + CM + 128 + k * 2 + b, b2, LMX)
                if k > 2:
                    pos, low, rng = _edirect(
                        out, pos, low, rng, v & ((np.int64(1) << (k - 2)) - 1), k - 2
                    )
        run = 0
        lg = 0
    return pos, low, rng, run, lg, lastsgn


@nb.njit(cache=True)
def enc_residuals(R, L, E, line, out, probs, st):
    """Append residuals R[0..L) to the coder stream. st = [low, rng, pos, run, lg, r1, r2,
    lastsgn, ...].
    line >= 1: after every nonzero R the next slope code E[k] is coded with the second context set
    (state
    st[13..17]); line = 2: then also the next curvature code E[k+1] with the third set (state
    st[18..22])."""
    low = st[0]
    rng = st[1]
    pos = st[2]
    run = st[3]
    lg = st[4]
    r1 = st[5]
    r2 = st[6]
    lastsgn = st[7]
    run2 = st[13]
    lg2 = st[14]
    e1 = st[15]
    e2 = st[16]
    lastsgn2 = st[17]
    run3 = st[18]
    lg3 = st[19]
    f1 = st[20]
    f2 = st[21]
    lastsgn3 = st[22]
    k = 0
    for i in range(L):
        r = R[i]
        pos, low, rng, run, lg, lastsgn = _esym(
            out, pos, low, rng, probs, 0, r, run, lg, r1, r2, lastsgn
        )
        r2 = r1
        r1 = r
        if line and r != 0:
            e = E[k]
            k += 1
            pos, low, rng, run2, lg2, lastsgn2 = _esym(
                out, pos, low, rng, probs, OFF2, e, run2, lg2, e1, e2, lastsgn2
            )
            e2 = e1
            e1 = e
            if line == 2:
                f = E[k]
                k += 1
                pos, low, rng, run3, lg3, lastsgn3 = _esym(
                    out, pos, low, rng, probs, OFF3, f, run3, lg3, f1, f2, lastsgn3
                )
                f2 = f1
                f1 = f
    st[0] = low
    st[1] = rng
    st[2] = pos
    st[3] = run
    st[4] = lg
    st[5] = r1
    st[6] = r2
    st[7] = lastsgn
    st[13] = run2
    st[14] = lg2
    st[15] = e1
    st[16] = e2
    st[17] = lastsgn2
    st[18] = run3
    st[19] = lg3
    st[20] = f1
    st[21] = f2
    st[22] = lastsgn3


@nb.njit(cache=True)
def enc_header(out, probs, st, cfg):
    low = st[0]
    rng = st[1]
    pos = st[2]
    if cfg == st[8]:
        pos, low, rng = _ebit(out, pos, low, rng, probs, CH, 0, LZ)
    else:
        pos, low, rng = _ebit(out, pos, low, rng, probs, CH, 1, LZ)
        if cfg == RAWCFG:
            pos, low, rng = _ebit(out, pos, low, rng, probs, CH + 1, 1, LZ)
        else:
            pos, low, rng = _ebit(out, pos, low, rng, probs, CH + 1, 0, LZ)
            pos, low, rng = _edirect(out, pos, low, rng, cfg, 5)
    st[0] = low
    st[1] = rng
    st[2] = pos
    st[8] = cfg


@nb.njit(cache=True)
def enc_raw(x, s, L, out, st):
    low = st[0]
    rng = st[1]
    pos = st[2]
    xi = x.view(np.int64)
    for i in range(L):
        v = xi[s + i]
        pos, low, rng = _edirect(out, pos, low, rng, (v >> 32) & M32, 32)
        pos, low, rng = _edirect(out, pos, low, rng, v & M32, 32)
    st[0] = low
    st[1] = rng
    st[2] = pos


@nb.njit(cache=True)
def enc_finish(out, st):
    """Terminate: write the value in [low, low+rng) with most trailing zero bytes; trim those zero
    bytes
    (only among the final 4 flush bytes). Returns the payload length."""
    low = st[0]
    rng = st[1]
    pos = st[2]
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


# ============================================================== quantisation (encoder only)
@nb.njit(cache=True, inline="always")
def _valid(q, step, xi, eps):
    return abs(q * step - xi) <= eps


@nb.njit(cache=True, inline="always")
def _range1(xi, eps, step):
    """Exact valid index range on one grid (lo > hi if none)."""
    if not (step > 0.0) or not (step < np.inf):
        return np.int64(1), np.int64(0)
    c = xi / step
    if not (abs(c) < QLIM):
        return np.int64(1), np.int64(0)
    a = np.int64(np.ceil((xi - eps) / step))
    b = np.int64(np.floor((xi + eps) / step))
    for _t in range(4):
        if _valid(a - 1, step, xi, eps):
            a -= 1
        else:
            break
    for _t in range(4):
        if not _valid(a, step, xi, eps):
            a += 1
        else:
            break
    for _t in range(4):
        if _valid(b + 1, step, xi, eps):
            b += 1
        else:
            break
    for _t in range(4):
        if not _valid(b, step, xi, eps):
            b -= 1
        else:
            break
    if a > b or not _valid(a, step, xi, eps) or not _valid(b, step, xi, eps):
        return np.int64(1), np.int64(0)
    return a, b


@nb.njit(cache=True)
def grid_ranges(x, s, L, eps, lo, hi, ok):
    """lo[lm,i]..hi[lm,i]: every integer Q with |Q*step_lm - x| <= eps, step_lm = (2*eps)/2^lm,
    checked with
    the decoder multiply. The valid set is an interval (fl(Q*step) is monotone in Q). Coarse grids
    are derived
    from the finest (step_lm = step_3 * 2^(3-lm) exactly) and their end points re-verified with
    the multiply;
    on any mismatch (subnormal steps) the range is recomputed directly. ok[lm] = 1 if all samples
    valid."""
    steps = np.empty(4)
    for lm in range(4):
        steps[lm] = (2.0 * eps) / (1 << lm)
        ok[lm] = 1
    for i in range(L):
        xi = x[s + i]
        a3, b3 = _range1(xi, eps, steps[3])
        if a3 > b3:
            ok[3] = 0
        lo[3, i] = a3
        hi[3, i] = b3
        for lm in range(3):
            if ok[lm] == 0:
                continue
            sh = FINE - lm
            st = steps[lm]
            a = -((-a3) >> sh)
            b = b3 >> sh
            if (
                a3 > b3
                or a > b
                or not _valid(a, st, xi, eps)
                or not _valid(b, st, xi, eps)
                or _valid(a - 1, st, xi, eps)
                or _valid(b + 1, st, xi, eps)
            ):
                a, b = _range1(xi, eps, st)
                if a > b:
                    ok[lm] = 0
            lo[lm, i] = a
            hi[lm, i] = b


@nb.njit(cache=True)
def smooth_gate(lo, L):
    """Cheap test on the finest grid: first differences large, second differences small (smooth
    signal)."""
    s1 = np.int64(0)
    s2 = np.int64(0)
    for i in range(2, L):
        d1 = lo[3, i] - lo[3, i - 1]
        d0 = lo[3, i - 1] - lo[3, i - 2]
        s1 += abs(d1)
        s2 += abs(d1 - d0)
    return s2 * 3 < s1 and s1 > 2 * L


@nb.njit(cache=True)
def seg_level(lo, hi, L, H, nh, sh, Q, R):
    """Order-0 (level) quantiser with in-block look-ahead: keep the previous level while valid; at
    a break
    pick, inside the running intersection of the next samples' valid sets, the level valid longest.
    H[HL-1] is the last history value (fine units). Writes Q, R; returns static cost estimate
    (bits)."""
    p = _rsh(H[HL - 1], sh) if nh > 0 else np.int64(0)
    i = 0
    while i < L:
        if p >= lo[i] and p <= hi[i]:
            Q[i] = p
            R[i] = 0
            i += 1
            continue
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
            j += 1
        if j < L:
            if lo[j] > b:
                v = b
            elif hi[j] < a:
                v = a
            else:
                v = min(max(p, a), b)
        else:
            v = min(max(p, a), b)
        for t in range(i, j):
            Q[t] = v
            R[t] = 0
        R[i] = v - p
        p = v
        i = j
    return static_cost(R, L)


@nb.njit(cache=True)
def smooth_pass(lo, hi, L, H, W, nh, pred, sh, PW, PG, Q, R):
    """Closed-loop quantiser for a smooth predictor: Q = valid index nearest the prediction.
    W: work array (HL + L), W[:HL] = history. Returns static cost estimate."""
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


@nb.njit(cache=True, inline="always")
def _swing(lo, hi, i, L, q, c):
    """Feasible slopes s (units 2^-LS) of the curve starting at level q at sample i with curvature
    c:
    q + rsh(s*2^(LK-LS)*t + c*t(t+1)/2, LK) in [lo[i+t], hi[i+t]] for t = 1..len-1, extended as
    long as
    possible inside the block. Returns (len, smin, smax); len = 1: no constraint satisfiable (any
    slope)."""
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
        if a * D < nlo:
            a = -((-nlo) // D)
        if b * D > nhi:
            b = nhi // D
        if a > b:
            break
        smin = a
        smax = b
        t += 1
    if t == 1:
        return 1, -SLIM, SLIM
    return t, smin, smax


@nb.njit(cache=True)
def line_pass(lo, hi, L, var, LS_, Q, R, E, plen, plim):
    """Line (var 0) / curve (var 1) quantiser. State (grid units; A, V, C in units of 2^-LK): qb =
    level at
    the last break, A = offset of the previous sample from qb, V = slope, C = curvature (0 for var
    0).
    Per sample: V += C, A += V, P = qb + rsh(A, LK); keep P while valid, else break: q = the valid
    level
    nearest P; var 0: c = 0; var 1: c searched around C (longest segment); s = feasible slope
    nearest
    sbase = rsh(V, LK-LS). R = q - P, E = [s - sbase] (+ [c - C] for var 1). LS_ in: qb, A, V, C;
    out: the
    same + number of E. Returns the static cost, or 2^62 if the cost on the first plen samples >
    plim."""
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
            return np.int64(1) << 62
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
        bc = C
        bt, smin, smax = _swing(lo, hi, i, L, q, bc)
        if var == 1:
            d = max(np.int64(1), (np.int64(1) << (LK + 1)) // (np.int64(bt) * bt))
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


@nb.njit(cache=True, inline="always")
def _ipred(W, o, u, s, L, nav):
    """Interpolation prediction of W[o+u] (u an odd multiple of s, 0 < u < L) from known values:
    W[o+v] for v
    a multiple of 2s in [0, L] and history W[o+v], -nav < v <= 0 (nav = number of history values,
    the last
    at v = 0). Integers only (>> is floor, // floor division):
      u+s <= L: cubic (-1, 9, 9, -1)/16 on u-3s, u-s, u+s, u+3s if u+3s <= L and u-3s > -nav;
                else quadratic (-1, 6, 3)/8 on u-3s, u-s, u+s if u-3s > -nav;
                else quadratic (3, 6, -1)/8 on u-s, u+s, u+3s if u+3s <= L; else (W[u-s] + W[u+s]
                + 1) >> 1;
      u+s > L:  linear between u-s and L: W[u-s] + ((W[L] - W[u-s]) * s + d/2) // d, d = L-u+s."""
    a = u - s
    if u + s <= L:
        lft = a - 2 * s > -nav
        rgt = u + 3 * s <= L
        if lft and rgt:
            return (9 * (W[o + a] + W[o + u + s]) - W[o + a - 2 * s] - W[o + u + 3 * s] + 8) >> 4
        if lft:
            return (6 * W[o + a] + 3 * W[o + u + s] - W[o + a - 2 * s] + 4) >> 3
        if rgt:
            return (3 * W[o + a] + 6 * W[o + u + s] - W[o + u + 3 * s] + 4) >> 3
        return (W[o + a] + W[o + u + s] + 1) >> 1
    d = L - a
    return W[o + a] + ((W[o + L] - W[o + a]) * s + (d >> 1)) // d


@nb.njit(cache=True)
def _nav(W, o, nh):
    """Usable history of the interpolation predictor: the number of consecutive values W[o],
    W[o-1], ...
    (at most min(nh, HL)) with |W| < IQLIM."""
    m = min(nh, HL)
    k = 0
    while k < m and W[o - k] < IQLIM and W[o - k] > -IQLIM:
        k += 1
    return k


@nb.njit(cache=True)
def interp_pass(lo, hi, L, H, nh, W, Q, R):
    """Multilevel interpolation quantiser (SZ3-like, on the finest verified grid, lm = 3): W[:HL]
    = history
    (W[HL-1] = previous sample = anchor, 0 if nh = 0), W[HL-1+u] = Q of sample u-1. Coding order:
    u = L
    (predicted by the anchor), then for s = N/2, N/4, .., 1 (N = smallest power of two >= L) every
    odd
    multiple u of s below L, predicted by _ipred. Residuals are in units of 8 grid steps (= 2 eps):
    Q = P + 8r, r the smallest |r| with Q valid. R is written in coding order, Q in sample order.
    Returns
    the static cost, 2^62 if some sample has no valid Q of that form (float edge cases)."""
    for i in range(HL):
        W[i] = H[i]
    o = HL - 1
    nav = _nav(W, o, nh)
    P = W[o]
    u = L
    k = 0
    N = 1
    while N < L:
        N <<= 1
    s = 0
    while True:
        if s > 0:
            P = _ipred(W, o, u, s, L, nav)
        a = lo[u - 1] - P
        b = hi[u - 1] - P
        if s >= ICS or s == 0:
            kmin = -((-a) >> 2)
            kmax = b >> 2
            if kmin > kmax:
                return np.int64(1) << 62
            cen = (a + b) >> 1
            r = min(max((cen + 2) >> 2, kmin), kmax)
            W[o + u] = P + (r << 2)
        else:
            kmin = -((-a) >> 3)
            kmax = b >> 3
            if kmin > kmax:
                return np.int64(1) << 62
            r = min(max(np.int64(0), kmin), kmax)
            W[o + u] = P + (r << 3)
        R[k] = r
        k += 1
        if s == 0:
            s = N >> 1
            u = s
        else:
            u += 2 * s
        while s >= 1 and u >= L:
            s >>= 1
            u = s
        if s == 0:
            break
    for i in range(L):
        Q[i] = W[o + 1 + i]
    return static_cost(R, L)


@nb.njit(cache=True)
def max_abs_fine(lo, hi, L, H, nh):
    m = np.int64(0)
    for i in range(L):
        m = max(m, abs(lo[3, i]), abs(hi[3, i]))
    if nh > 0:
        m = max(m, abs(H[HL - 1]))
    return m


@nb.njit(cache=True)
def static_cost(R, L):
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


@nb.njit(cache=True)
def max_fine_diff(lo, L, H, nh):
    m = np.int64(0)
    prev = H[HL - 1]
    start = 0 if nh > 0 else 1
    if nh == 0:
        prev = lo[3, 0]
    for i in range(start, L):
        d = abs(lo[3, i] - prev)
        if d > m:
            m = d
        prev = lo[3, i]
    for i in range(HL - min(nh, SHL) + 1, HL):
        d = abs(H[i] - H[i - 1])
        if d > m:
            m = d
    return m


# log2 cost table for the exhaustive (reference) chooser
LOG2T = np.zeros(PONE + 1)
for _p in range(1, PONE):
    LOG2T[_p] = -np.log2(_p / PONE)
LOG2T[0] = 30.0
LOG2T[PONE] = 0.0


@nb.njit(cache=True, inline="always")
def _cbit(probs, ci, bit, lim, T):
    p = np.int64(probs[ci])
    sh = probs[NCTX + ci]
    if sh < lim:
        probs[NCTX + ci] = sh + 1
    if bit == 0:
        probs[ci] = p + ((PONE - p) >> sh)
        return T[p]
    probs[ci] = p - (p >> sh)
    return T[PONE - p]


@nb.njit(cache=True)
def adaptive_cost(R, L, probs0, st, T):
    """Exact model cost (bits) of coding R with a copy of the adaptive state (reference chooser)."""
    probs = probs0.copy()
    run = st[3]
    lg = st[4]
    r1 = st[5]
    r2 = st[6]
    lastsgn = st[7]
    c = 0.0
    for i in range(L):
        r = R[i]
        a1 = abs(r1)
        a2 = abs(r2)
        zc = _zctx(run, lg, a1, a2)
        if r == 0:
            c += _cbit(probs, zc, 0, LZ, T)
            run += 1
            if (run & (run - 1)) == 0:
                lg = 0 if run == 1 else lg + 1
        else:
            c += _cbit(probs, zc, 1, LZ, T)
            neg = 1 if r < 0 else 0
            c += _cbit(probs, NZ + _sctx(r1, r2, lastsgn), neg, LMX, T)
            lastsgn = 1 + neg
            v = abs(r)
            k = _ilog2(v)
            base = NZ + NS + _cls(a1 + (a2 >> 1)) * NU
            for t in range(k):
                c += _cbit(probs, base + t, 1, LMX, T)
            c += _cbit(probs, base + k, 0, LMX, T)
            if k > 0:
                b = (v >> (k - 1)) & 1
                c += _cbit(probs, CM + k * 2, b, LMX, T)
                if k > 1:
                    b2 = (v >> (k - 2)) & 1
                    c += _cbit(probs, CM + 128 + k * 2 + b, b2, LMX, T)
                    c += max(k - 2, 0)
            run = 0
            lg = 0
        r2 = r1
        r1 = r
    return c


@nb.njit(cache=True, inline="always")
def _family(pr):
    if pr < LINE0:
        return 0
    if pr == INTERP:
        return 1
    return 2


@nb.njit(cache=True, inline="always")
def _two_best(ci, c, best, bestc, second, secondc):
    """The cheapest and the second cheapest configuration after trying ``ci`` at cost ``c``."""
    if c < bestc:
        return ci, c, best, bestc
    if c < secondc:
        return best, bestc, ci, c
    return best, bestc, second, secondc


@nb.njit(cache=True)
def encode_blocks(
    x,
    s0,
    nblk,
    Llast,
    eps,
    mode,
    smooth_on,
    PW,
    PG,
    probs,
    st,
    out,
    H,
    lo,
    hi,
    ok,
    Qs,
    Rs,
    Es,
    LSs,
    Wk,
    T,
    stats,
    line_on,
    plen,
    interp_on,
):
    """Encode nblk blocks x[s0 : s0 + (nblk-1)*B + Llast]. Config choice per block (mode 0: static
    cost
    estimate; mode 1: exact adaptive cost of every candidate (reference); mode 2: static top-2
    then exact).
    H (HL fine-unit history), st[9] (= nh) and the line state st[24..27] carry across blocks of
    the frame."""
    NPS = PW.shape[0]
    NP = NPRED
    costs = np.empty(4 * NP, np.int64)
    for bi in range(nblk):
        s = s0 + bi * B
        L = B if bi < nblk - 1 else Llast
        nh = st[9]
        grid_ranges(x, s, L, eps, lo, hi, ok)
        best = -1
        bestc = np.int64(1) << 62
        second = -1
        secondc = np.int64(1) << 62
        use_smooth = smooth_on
        use_line = line_on
        if ok[3] == 1:
            if max_fine_diff(lo, L, H, nh) >= DLIM:
                use_smooth = 0
        else:
            use_smooth = 0
            use_line = 0
        for ci in range(4 * NP):
            costs[ci] = np.int64(1) << 62
        use_interp = interp_on
        if ok[3] == 0 or max_abs_fine(lo, hi, L, H, nh) >= IQLIM:
            use_interp = 0
        if use_smooth == 1 and mode != 1:
            use_smooth = smooth_gate(lo, L)
        prevc = np.int64(1) << 62
        bestlev = -1
        for lm in range(4):
            if ok[lm] == 0:
                continue
            sh = FINE - lm
            for pr in range(1 + NPS - 1):
                ci = lm * NP + pr
                if pr == 0:
                    c = seg_level(lo[lm], hi[lm], L, H, nh, sh, Qs[ci], Rs[ci])
                else:
                    if use_smooth == 0 or (lm == 3 and mode != 1):
                        continue
                    c = smooth_pass(lo[lm], hi[lm], L, H, Wk, nh, pr, sh, PW, PG, Qs[ci], Rs[ci])
                costs[ci] = c
                best, bestc, second, secondc = _two_best(ci, c, best, bestc, second, secondc)
            if bestlev < 0 or costs[lm * NP] < costs[bestlev * NP]:
                bestlev = lm
            if mode != 1 and use_smooth == 0:
                # level costs are close to unimodal in m: stop refining once it stops paying
                if costs[lm * NP] > prevc:
                    break
                prevc = costs[lm * NP]
        if use_line:
            # prefix gate: a line candidate is abandoned once its cost on the first plen samples
            # exceeds the
            # best level candidate's cost on the same prefix. The curve variant is tried on the
            # best line grid.
            pl = plen if (plen < L and mode != 1) else L + 1
            plim = np.int64(1) << 62
            if pl <= L and bestlev >= 0:
                plim = static_cost(Rs[bestlev * NP], pl)
            bl = -1
            for v in range(2):
                # var 0 (line): grids from fine to coarse, stopping at the first grid that fails
                # the prefix
                # gate; var 1 (curve): only on the best line grid
                for lmi in range(4):
                    lm = 3 - lmi
                    if ok[lm] == 0 or (v == 1 and mode != 1 and lm != bl):
                        continue
                    sh = FINE - lm
                    ci = lm * NP + LINE0 + v
                    if st[8] == lm * 8 + LINE0 + v:
                        for t in range(4):
                            LSs[ci, t] = st[24 + t]
                    else:
                        LSs[ci, 0] = _rsh(H[HL - 1], sh) if nh > 0 else np.int64(0)
                        LSs[ci, 1] = 0
                        LSs[ci, 2] = 0
                        LSs[ci, 3] = 0
                    c = line_pass(lo[lm], hi[lm], L, v, LSs[ci], Qs[ci], Rs[ci], Es[ci], pl, plim)
                    costs[ci] = c
                    if (
                        v == 0
                        and c < (np.int64(1) << 62)
                        and (bl < 0 or c < costs[bl * NP + LINE0])
                    ):
                        bl = lm
                    best, bestc, second, secondc = _two_best(ci, c, best, bestc, second, secondc)
                    if v == 0 and mode != 1 and c >= (np.int64(1) << 62):
                        break
        if use_interp and mode != 1 and plen < L and bestlev >= 0:
            # prefix trial: interpolation on the first plen samples as if they were a block
            ci = 3 * NP + INTERP
            c = interp_pass(lo[3], hi[3], plen, H, nh, Wk, Qs[ci], Rs[ci])
            if c > static_cost(Rs[bestlev * NP], plen):
                use_interp = 0
        if use_interp:
            for lm in range(3, 4):
                if ok[lm] == 0:
                    continue
                sh = FINE - lm
                ci = lm * NP + INTERP
                c = interp_pass(lo[lm], hi[lm], L, H, nh, Wk, Qs[ci], Rs[ci])
                costs[ci] = c
                best, bestc, second, secondc = _two_best(ci, c, best, bestc, second, secondc)
        if mode != 1:
            # add the block-header cost (1 bit if the configuration is unchanged, ~7 bits otherwise)
            best = -1
            bestc = np.int64(1) << 62
            second = -1
            secondc = np.int64(1) << 62
            for ci in range(4 * NP):
                c = costs[ci]
                if c >= (np.int64(1) << 62):
                    continue
                lm_ = ci // NP
                c += 1 if st[8] == lm_ * 8 + (ci - lm_ * NP) else 7
                costs[ci] = c
                best, bestc, second, secondc = _two_best(ci, c, best, bestc, second, secondc)
        if best >= 0 and mode > 0:
            if mode == 1:
                bc = 1e300
                for ci in range(4 * NP):
                    lm = ci // NP
                    if ok[lm] == 0 or costs[ci] >= (np.int64(1) << 62):
                        continue
                    c2 = adaptive_cost(Rs[ci], L, probs, st, T)
                    if c2 < bc:
                        bc = c2
                        best = ci
            elif second >= 0:
                c1 = adaptive_cost(Rs[best], L, probs, st, T)
                c2 = adaptive_cost(Rs[second], L, probs, st, T)
                if c2 < c1:
                    best = second
        elif best >= 0 and second >= 0 and secondc * 8 < bestc * 9:
            # the static estimate is least reliable between predictor families (level / smooth,
            # line, interp):
            # if the runner-up of another family is within 12.5%, rank the two by the exact
            # adaptive cost
            f1 = _family(best % NP)
            f2 = _family(second % NP)
            if f1 != f2:
                c1 = adaptive_cost(Rs[best], L, probs, st, T) + (
                    costs[best] - static_cost(Rs[best], L) if f1 == 2 else 0
                )
                c2 = adaptive_cost(Rs[second], L, probs, st, T) + (
                    costs[second] - static_cost(Rs[second], L) if f2 == 2 else 0
                )
                if c2 < c1:
                    best = second
        if best >= 0 and costs[best] > 70 * L + 64:
            best = -1
        if best < 0:
            enc_header(out, probs, st, RAWCFG)
            enc_raw(x, s, L, out, st)
            for i in range(HL):
                H[i] = 0
            st[9] = 0
            stats[4 * NP] += 1
            continue
        lm = best // NP
        pr = best - lm * NP
        stats[best] += 1
        enc_header(out, probs, st, lm * 8 + pr)
        Rb = Rs[best]
        az = 1
        for i in range(L):
            if Rb[i] != 0:
                az = 0
                break
        low, rng, pos = st[0], st[1], st[2]
        pos, low, rng = _ebit(out, pos, low, rng, probs, CH + 2, az, LZ)
        st[0] = low
        st[1] = rng
        st[2] = pos
        isline = pr - LINE0 + 1 if (pr >= LINE0 and pr < INTERP) else 0
        if az == 0:
            enc_residuals(Rb, L, Es[best], isline, out, probs, st)
        if isline:
            for t in range(4):
                st[24 + t] = LSs[best, t]
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
        st[9] = min(nh + L, HL)


# ============================================================== decoder
@nb.njit(cache=True, inline="always")
def _dshift(buf, pos, code, rng):
    """Decoder renormalisation: shift in bytes (zeros past the end) until ``rng`` >= TOPV."""
    while rng < TOPV:
        c = buf[pos] if pos < buf.shape[0] else 0
        code = ((code << 8) | c) & M32
        pos += 1
        rng <<= 8
    return pos, code, rng


@nb.njit(cache=True, inline="always")
def _dbit(buf, pos, code, rng, probs, ci, lim):
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


@nb.njit(cache=True, inline="always")
def _ddirect(buf, pos, code, rng, nbits):
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


@nb.njit(cache=True, inline="always")
def _dsym(buf, pos, code, rng, probs, o, run, lg, r1, r2, lastsgn):
    """Decode one residual symbol (context set at offset o). Returns (r, ok, pos, code, rng, run,
    lg, lastsgn)."""
    nbuf = buf.shape[0]
    a1 = abs(r1)
    a2 = abs(r2)
    zc = o + _zctx(run, lg, a1, a2)
    bit, pos, code, rng = _dbit(buf, pos, code, rng, probs, zc, LZ)
    if bit == 0:
        run += 1
        if (run & (run - 1)) == 0:
            lg = 0 if run == 1 else lg + 1
        return np.int64(0), True, pos, code, rng, run, lg, lastsgn
    neg, pos, code, rng = _dbit(buf, pos, code, rng, probs, o + NZ + _sctx(r1, r2, lastsgn), LMX)
    lastsgn = 1 + neg
    base = o + NZ + NS + _cls(a1 + (a2 >> 1)) * NU
    k = 0
    while True:
        bit, pos, code, rng = _dbit(buf, pos, code, rng, probs, base + k, LMX)
        if bit == 0:
            break
        k += 1
        if k > 62:
            return np.int64(0), False, pos, code, rng, run, lg, lastsgn
    v = np.int64(1)
    if k > 0:
        b, pos, code, rng = _dbit(buf, pos, code, rng, probs, o + CM + k * 2, LMX)
        v = (v << 1) | b
        if k > 1:
            b2, pos, code, rng = _dbit(buf, pos, code, rng, probs, o + CM + 128 + k * 2 + b, LMX)
            v = (v << 1) | b2
            if k > 2:
                m, pos, code, rng = _ddirect(buf, pos, code, rng, k - 2)
                v = (v << (k - 2)) | m
    r = -v if neg else v
    return r, pos <= nbuf + 4, pos, code, rng, 0, 0, lastsgn


@nb.njit(cache=True)
def decode_frame(buf, n, eps, PW, PG, x, xi, H):
    """Decode one frame of n samples into x (xi: the same memory viewed as int64, for raw blocks).
    H: int64 scratch of n + HL. Returns 0 or a negative error."""
    NPS = PW.shape[0]
    probs = init_model()
    nbuf = buf.shape[0]
    code = np.int64(0)
    pos = 0
    for _t in range(4):
        c = buf[pos] if pos < nbuf else 0
        code = (code << 8) | c
        pos += 1
    rng = np.int64(M32)
    run = 0
    lg = 0
    r1 = np.int64(0)
    r2 = np.int64(0)
    lastsgn = 0
    run2 = 0
    lg2 = 0
    e1 = np.int64(0)
    e2 = np.int64(0)
    lastsgn2 = 0
    run3 = 0
    lg3 = 0
    f1 = np.int64(0)
    f2 = np.int64(0)
    lastsgn3 = 0
    qb = np.int64(0)
    A = np.int64(0)
    V = np.int64(0)
    C = np.int64(0)
    lastcfg = -1
    prevcfg = -1
    nh = 0
    for i in range(HL):
        H[i] = 0
    for b0 in range(0, n, B):
        L = min(B, n - b0)
        if pos > nbuf + 4:
            return -1
        same, pos, code, rng = _dbit(buf, pos, code, rng, probs, CH, LZ)
        if same == 0:
            cfg = prevcfg
            if cfg < 0:
                return -3
        else:
            raw, pos, code, rng = _dbit(buf, pos, code, rng, probs, CH + 1, LZ)
            if raw == 1:
                cfg = RAWCFG
            else:
                cfg, pos, code, rng = _ddirect(buf, pos, code, rng, 5)
                p_ = cfg & 7
                if p_ >= NPRED or (p_ < LINE0 and p_ >= NPS):
                    return -3
        prevcfg = cfg
        if cfg == RAWCFG:
            for i in range(L):
                hb, pos, code, rng = _ddirect(buf, pos, code, rng, 32)
                lb, pos, code, rng = _ddirect(buf, pos, code, rng, 32)
                xi[b0 + i] = (hb << 32) | lb
                H[HL + b0 + i] = 0
            nh = 0
            lastcfg = cfg
            if pos > nbuf + 4:
                return -1
            continue
        lm = cfg >> 3
        pr = cfg & 7
        sh = FINE - lm
        step = (2.0 * eps) / (1 << lm)
        qp = _rsh(H[HL + b0 - 1], sh) if nh > 0 else np.int64(0)
        az, pos, code, rng = _dbit(buf, pos, code, rng, probs, CH + 2, LZ)
        # mode set-up: 0 = level/smooth, 1 = line/curve, 2 = interpolation
        md = 0
        o = HL + b0 - 1
        nav = min(nh, HL)
        N = 1
        s_ = 0
        u = L
        hf = np.int64(1) << (LK - 1)
        if pr == INTERP:
            md = 2
            if lm != FINE:
                return -3
            if H[o] >= IQLIM or H[o] <= -IQLIM:
                return -2
            nav = _nav(H, o, nh)
            while N < L:
                N <<= 1
        elif pr >= LINE0:
            md = 1
            if cfg != lastcfg:
                qb = qp
                A = np.int64(0)
                V = np.int64(0)
                C = np.int64(0)
        lastcfg = cfg
        for i in range(L):
            # ---- prediction
            if md == 0:
                j = HL + b0 + i
                if pr == 0:
                    q = qp
                else:
                    q = _predict(H, j, min(nh + i, HL), pr, sh, PW, PG)
            elif md == 1:
                j = HL + b0 + i
                V += C
                A += V
                if A >= ALIM or A <= -ALIM or V >= VLIM or V <= -VLIM:
                    return -2
                q = qb + ((A + hf) >> LK)
            else:
                j = o + u
                if s_ == 0:
                    q = H[o]
                else:
                    q = _ipred(H, o, u, s_, L, nav)
            # ---- residual (hot path, written out)
            r = np.int64(0)
            if az == 0:
                a1 = abs(r1)
                a2 = abs(r2)
                zc = _zctx(run, lg, a1, a2)
                bit, pos, code, rng = _dbit(buf, pos, code, rng, probs, zc, LZ)
                if bit == 0:
                    run += 1
                    if (run & (run - 1)) == 0:
                        lg = 0 if run == 1 else lg + 1
                else:
                    neg, pos, code, rng = _dbit(
                        buf, pos, code, rng, probs, NZ + _sctx(r1, r2, lastsgn), LMX
                    )
                    lastsgn = 1 + neg
                    base = NZ + NS + _cls(a1 + (a2 >> 1)) * NU
                    k = 0
                    while True:
                        bit, pos, code, rng = _dbit(buf, pos, code, rng, probs, base + k, LMX)
                        if bit == 0:
                            break
                        k += 1
                        if k > 62:
                            return -2
                    v = np.int64(1)
                    if k > 0:
                        b, pos, code, rng = _dbit(buf, pos, code, rng, probs, CM + k * 2, LMX)
                        v = (v << 1) | b
                        if k > 1:
                            b2, pos, code, rng = _dbit(
                                buf, pos, code, rng, probs, CM + 128 + k * 2 + b, LMX
                            )
                            v = (v << 1) | b2
                            if k > 2:
                                m, pos, code, rng = _ddirect(buf, pos, code, rng, k - 2)
                                v = (v << (k - 2)) | m
                    r = -v if neg else v
                    run = 0
                    lg = 0
                    if pos > nbuf + 4:
                        return -1
                r2 = r1
                r1 = r
            # ---- reconstruction
            if md == 0:
                q += r
            elif md == 1:
                if r != 0:
                    q += r
                    if q >= QMAXI or q <= -QMAXI:
                        return -2
                    e, good, pos, code, rng, run2, lg2, lastsgn2 = _dsym(
                        buf, pos, code, rng, probs, OFF2, run2, lg2, e1, e2, lastsgn2
                    )
                    if not good or e > 2 * SLIM or e < -2 * SLIM:
                        return -2
                    e2 = e1
                    e1 = e
                    sn = _rsh(V, LK - LS) + e
                    if sn > SLIM or sn < -SLIM:
                        return -2
                    if pr == LINE0 + 1:
                        f, good, pos, code, rng, run3, lg3, lastsgn3 = _dsym(
                            buf, pos, code, rng, probs, OFF3, run3, lg3, f1, f2, lastsgn3
                        )
                        if not good or f > 2 * CLIM or f < -2 * CLIM:
                            return -2
                        f2 = f1
                        f1 = f
                        C = C + f
                        if C > CLIM or C < -CLIM:
                            return -2
                    qb = q
                    A = np.int64(0)
                    V = sn << (LK - LS)
            else:
                if r >= IQLIM or r <= -IQLIM:
                    return -2
                q += r << (2 if (s_ >= ICS or s_ == 0) else 3)
                if q >= IQLIM or q <= -IQLIM:
                    return -2
                H[j] = q
                if s_ == 0:
                    s_ = N >> 1
                    u = s_
                else:
                    u += 2 * s_
                while s_ >= 1 and u >= L:
                    s_ >>= 1
                    u = s_
                continue
            if q >= QMAXI or q <= -QMAXI:
                return -2
            qp = q
            H[j] = q << sh
            x[b0 + i] = q * step
        if md == 2:
            for i in range(L):
                x[b0 + i] = H[o + 1 + i] * step
        nh += L
    # a valid stream ends with  pos - 4 <= len(payload) <= pos
    if nbuf > pos or nbuf < pos - 4:
        return -4
    return 0


# ============================================================== timestamps
@nb.njit(cache=True)
def _enc_bigv(out, pos, low, rng, v):
    # non-negative v < 2^63: 6-bit length + bits
    k = 0
    t = v
    while t > 0:
        t >>= 1
        k += 1
    pos, low, rng = _edirect(out, pos, low, rng, k, 6)
    if k > 32:
        pos, low, rng = _edirect(out, pos, low, rng, v >> 32, k - 32)
        pos, low, rng = _edirect(out, pos, low, rng, v & M32, 32)
    elif k > 0:
        pos, low, rng = _edirect(out, pos, low, rng, v, k)
    return pos, low, rng


@nb.njit(cache=True)
def _dec_bigv(buf, pos, code, rng):
    k, pos, code, rng = _ddirect(buf, pos, code, rng, 6)
    if k > 63:
        return np.int64(-1), pos, code, rng
    if k > 32:
        a, pos, code, rng = _ddirect(buf, pos, code, rng, k - 32)
        b, pos, code, rng = _ddirect(buf, pos, code, rng, 32)
        return (a << 32) | b, pos, code, rng
    v, pos, code, rng = _ddirect(buf, pos, code, rng, k)
    return v, pos, code, rng


@nb.njit(cache=True)
def enc_times(t, out, R):
    """t int64 (n >= 1), caller guarantees |t| < 2^62 and |t[i]-t[i-1]| < 2^61. Layout inside the
    coder:
    zigzag(t0) and zigzag(t1-t0) as 6-bit length + bits (direct), then residuals dd[i] =
    d[i]-d[i-1]."""
    n = t.shape[0]
    probs = init_model()
    st = np.zeros(NSTATE, np.int64)
    st[1] = M32
    low = st[0]
    rng = st[1]
    pos = 0
    z = (t[0] << 1) ^ (t[0] >> 63)
    pos, low, rng = _enc_bigv(out, pos, low, rng, z)
    if n > 1:
        d0 = t[1] - t[0]
        pos, low, rng = _enc_bigv(out, pos, low, rng, (d0 << 1) ^ (d0 >> 63))
        for i in range(2, n):
            R[i - 2] = (t[i] - t[i - 1]) - (t[i - 1] - t[i - 2])
    if n > 2:
        az = 1
        for i in range(n - 2):
            if R[i] != 0:
                az = 0
                break
        pos, low, rng = _ebit(out, pos, low, rng, probs, CH + 2, az, LZ)
    st[0] = low
    st[1] = rng
    st[2] = pos
    if n > 2 and az == 0:
        enc_residuals(R, n - 2, R, 0, out, probs, st)
    return enc_finish(out, st)


@nb.njit(cache=True)
def dec_times(buf, n, t):
    nbuf = buf.shape[0]
    probs = init_model()
    code = np.int64(0)
    pos = 0
    for _k in range(4):
        c = buf[pos] if pos < nbuf else 0
        code = (code << 8) | c
        pos += 1
    rng = np.int64(M32)
    z, pos, code, rng = _dec_bigv(buf, pos, code, rng)
    if z < 0:
        return -2
    t[0] = (z >> 1) ^ (-(z & 1))
    if n > 1:
        z, pos, code, rng = _dec_bigv(buf, pos, code, rng)
        if z < 0:
            return -2
        d = (z >> 1) ^ (-(z & 1))
        t[1] = t[0] + d
        run = 0
        lg = 0
        r1 = np.int64(0)
        r2 = np.int64(0)
        lastsgn = 0
        az = 0
        if n > 2:
            az, pos, code, rng = _dbit(buf, pos, code, rng, probs, CH + 2, LZ)
        for i in range(2, n):
            if az == 1:
                t[i] = t[i - 1] + d
                continue
            r, ok, pos, code, rng, run, lg, lastsgn = _dsym(
                buf, pos, code, rng, probs, 0, run, lg, r1, r2, lastsgn
            )
            if not ok:
                return -1
            d = d + r
            t[i] = t[i - 1] + d
            r2 = r1
            r1 = r
    if nbuf > pos or nbuf < pos - 4:
        return -4
    return 0
