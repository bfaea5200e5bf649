"""Numba kernels of the bounded-error codec (:mod:`hippo_cli.codec`): every jitted function the
codec uses lives in this one file (numba's cache watches only the defining file).

No fastmath anywhere (the decode path must be bit-identical on every machine). The decode path
uses only integer arithmetic plus, per sample, one float64 product
x = float(Q) * step with step = (2.0*eps) / float(1 << lm) (IEEE-754, round-to-nearest).
"""

import numba as nb
import numpy as np

B = 4096  # block length (look-ahead bound)
HL = 64  # history kept across blocks (fine-grid units)
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
NCTX = CH + 8
LZ = 5  # adaptation-shift limits
LMX = 6
RAWCFG = 16
NSTATE = 12


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
    while rng < TOPV:
        out[pos] = (low >> 24) & 0xFF
        pos += 1
        low = (low << 8) & M32
        rng <<= 8
    return pos, low, rng


@nb.njit(cache=True, inline="always")
def _edirect(out, pos, low, rng, v, nbits):
    for b in range(nbits - 1, -1, -1):
        rng >>= 1
        if (v >> b) & 1:
            low += rng
            if low > M32:
                low &= M32
                _carry(out, pos)
        while rng < TOPV:
            out[pos] = (low >> 24) & 0xFF
            pos += 1
            low = (low << 8) & M32
            rng <<= 8
    return pos, low, rng


@nb.njit(cache=True)
def enc_residuals(R, L, out, probs, st):
    """Append residuals R[0..L) to the coder stream. st = [low, rng, pos, run, lg, r1, r2,
    lastsgn, ...]."""
    low = st[0]
    rng = st[1]
    pos = st[2]
    run = st[3]
    lg = st[4]
    r1 = st[5]
    r2 = st[6]
    lastsgn = st[7]
    for i in range(L):
        r = R[i]
        a1 = abs(r1)
        a2 = abs(r2)
        zc = _zctx(run, lg, a1, a2)
        if r == 0:
            pos, low, rng = _ebit(out, pos, low, rng, probs, zc, 0, LZ)
            run += 1
            if (run & (run - 1)) == 0:
                lg = 0 if run == 1 else lg + 1
        else:
            pos, low, rng = _ebit(out, pos, low, rng, probs, zc, 1, LZ)
            neg = 1 if r < 0 else 0
            pos, low, rng = _ebit(out, pos, low, rng, probs, NZ + _sctx(r1, r2, lastsgn), neg, LMX)
            lastsgn = 1 + neg
            v = abs(r)
            k = _ilog2(v)
            base = NZ + NS + _cls(a1 + (a2 >> 1)) * NU
            for t in range(k):
                pos, low, rng = _ebit(out, pos, low, rng, probs, base + t, 1, LMX)
            pos, low, rng = _ebit(out, pos, low, rng, probs, base + k, 0, LMX)
            if k > 0:
                b = (v >> (k - 1)) & 1
                pos, low, rng = _ebit(out, pos, low, rng, probs, CM + k * 2, b, LMX)
                if k > 1:
                    b2 = (v >> (k - 2)) & 1
                    pos, low, rng = _ebit(out, pos, low, rng, probs, CM + 128 + k * 2 + b, b2, LMX)
                    if k > 2:
                        pos, low, rng = _edirect(
                            out, pos, low, rng, v & ((np.int64(1) << (k - 2)) - 1), k - 2
                        )
            run = 0
            lg = 0
        r2 = r1
        r1 = r
    st[0] = low
    st[1] = rng
    st[2] = pos
    st[3] = run
    st[4] = lg
    st[5] = r1
    st[6] = r2
    st[7] = lastsgn


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
            pos, low, rng = _edirect(out, pos, low, rng, cfg, 4)
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
    for _ in range(4):
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
    for _ in range(4):
        if _valid(a - 1, step, xi, eps):
            a -= 1
        else:
            break
    for _ in range(4):
        if not _valid(a, step, xi, eps):
            a += 1
        else:
            break
    for _ in range(4):
        if _valid(b + 1, step, xi, eps):
            b += 1
        else:
            break
    for _ in range(4):
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
    for i in range(HL - min(nh, HL) + 1, HL):
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
    Wk,
    T,
    stats,
):
    """Encode nblk blocks x[s0 : s0 + (nblk-1)*B + Llast]. Config choice per block (mode 0: static
    cost
    estimate; mode 1: exact adaptive cost of every candidate (reference); mode 2: static top-2
    then exact).
    H (HL fine-unit history) and st[9] (= nh) carry across blocks of the frame."""
    NP = PW.shape[0]
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
        if use_smooth and ok[3] == 1:
            if max_fine_diff(lo, L, H, nh) >= DLIM:
                use_smooth = 0
        else:
            use_smooth = 0
        for ci in range(4 * NP):
            costs[ci] = np.int64(1) << 62
        if use_smooth and ok[3] == 1 and mode != 1:
            use_smooth = smooth_gate(lo, L)
        prevc = np.int64(1) << 62
        for lm in range(4):
            if ok[lm] == 0:
                continue
            sh = FINE - lm
            for pr in range(NP):
                ci = lm * NP + pr
                if pr == 0:
                    c = seg_level(lo[lm], hi[lm], L, H, nh, sh, Qs[ci], Rs[ci])
                else:
                    if use_smooth == 0 or ok[3] == 0 or (lm == 3 and mode != 1):
                        continue
                    c = smooth_pass(lo[lm], hi[lm], L, H, Wk, nh, pr, sh, PW, PG, Qs[ci], Rs[ci])
                costs[ci] = c
                if c < bestc:
                    second = best
                    secondc = bestc
                    best = ci
                    bestc = c
                elif c < secondc:
                    second = ci
                    secondc = c
            if mode != 1 and use_smooth == 0:
                # level costs are close to unimodal in m: stop refining once it stops paying
                if costs[lm * NP] > prevc:
                    break
                prevc = costs[lm * NP]
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
        if best >= 0 and costs[best] > 70 * L + 64:
            best = -1
        if best < 0:
            enc_header(out, probs, st, RAWCFG)
            enc_raw(x, s, L, out, st)
            for i in range(HL):
                H[i] = 0
            st[9] = 0
            stats[16] += 1
            continue
        lm = best // NP
        pr = best - lm * NP
        stats[lm * 4 + pr] += 1
        enc_header(out, probs, st, lm * 4 + pr)
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
        if az == 0:
            enc_residuals(Rb, L, out, probs, st)
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
    while rng < TOPV:
        c = buf[pos] if pos < buf.shape[0] else 0
        code = ((code << 8) | c) & M32
        pos += 1
        rng <<= 8
    return bit, pos, code, rng


@nb.njit(cache=True, inline="always")
def _ddirect(buf, pos, code, rng, nbits):
    v = np.int64(0)
    for _ in range(nbits):
        rng >>= 1
        bit = 0
        if code >= rng:
            code -= rng
            bit = 1
        v = (v << 1) | bit
        while rng < TOPV:
            c = buf[pos] if pos < buf.shape[0] else 0
            code = ((code << 8) | c) & M32
            pos += 1
            rng <<= 8
    return v, pos, code, rng


@nb.njit(cache=True)
def decode_frame(buf, n, eps, PW, PG, x, xi, H):
    """Decode one frame of n samples into x (xi: the same memory viewed as int64, for raw blocks).
    H: int64 scratch of n + HL. Returns 0 or a negative error."""
    NP = PW.shape[0]
    probs = init_model()
    nbuf = buf.shape[0]
    code = np.int64(0)
    pos = 0
    for _ in range(4):
        c = buf[pos] if pos < nbuf else 0
        code = (code << 8) | c
        pos += 1
    rng = np.int64(M32)
    run = 0
    lg = 0
    r1 = np.int64(0)
    r2 = np.int64(0)
    lastsgn = 0
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
                cfg, pos, code, rng = _ddirect(buf, pos, code, rng, 4)
                if (cfg & 3) >= NP:
                    return -3
        prevcfg = cfg
        if cfg == RAWCFG:
            for i in range(L):
                hb, pos, code, rng = _ddirect(buf, pos, code, rng, 32)
                lb, pos, code, rng = _ddirect(buf, pos, code, rng, 32)
                xi[b0 + i] = (hb << 32) | lb
                H[HL + b0 + i] = 0
            nh = 0
            if pos > nbuf + 4:
                return -1
            continue
        lm = cfg >> 2
        pr = cfg & 3
        sh = FINE - lm
        step = (2.0 * eps) / (1 << lm)
        qp = _rsh(H[HL + b0 - 1], sh) if nh > 0 else np.int64(0)
        az, pos, code, rng = _dbit(buf, pos, code, rng, probs, CH + 2, LZ)
        for i in range(L):
            if az == 1:
                j = HL + b0 + i
                if pr == 0:
                    q = qp
                else:
                    q = _predict(H, j, min(nh, HL), pr, sh, PW, PG)
                if q >= QMAXI or q <= -QMAXI:
                    return -2
                qp = q
                H[j] = q << sh
                x[b0 + i] = q * step
                nh += 1
                continue
            a1 = abs(r1)
            a2 = abs(r2)
            zc = _zctx(run, lg, a1, a2)
            bit, pos, code, rng = _dbit(buf, pos, code, rng, probs, zc, LZ)
            if bit == 0:
                r = np.int64(0)
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
            j = HL + b0 + i
            if pr == 0:
                q = qp + r
            else:
                q = _predict(H, j, min(nh, HL), pr, sh, PW, PG) + r
            qp = q
            if q >= QMAXI or q <= -QMAXI:
                return -2
            H[j] = q << sh
            x[b0 + i] = q * step
            nh += 1
            r2 = r1
            r1 = r
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
        enc_residuals(R, n - 2, out, probs, st)
    return enc_finish(out, st)


@nb.njit(cache=True)
def dec_times(buf, n, t):
    nbuf = buf.shape[0]
    probs = init_model()
    code = np.int64(0)
    pos = 0
    for _ in range(4):
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
            a1 = abs(r1)
            a2 = abs(r2)
            zc = _zctx(run, lg, a1, a2)
            bit, pos, code, rng = _dbit(buf, pos, code, rng, probs, zc, LZ)
            if bit == 0:
                r = np.int64(0)
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
            d = d + r
            t[i] = t[i - 1] + d
            r2 = r1
            r1 = r
    if nbuf > pos or nbuf < pos - 4:
        return -4
    return 0
