"""Numba-jitted HiPPO recurrences: the only module that imports numba.

Every kernel is pure (arrays in, arrays out), validates nothing (the encoder does), and shares
one calling convention:

* ``x``: samples, float64, shape (L, C): C channels, each its own encoder.
* ``state``: float64, shape (N, C), updated in place. Channels are the innermost (contiguous)
  axis so that the per-coefficient work vectorises across channels.
* ``step0``: global index of ``x[0]`` (how many samples the encoder has already consumed).
* ``every``: after the sample of global step k, the state is written to ``out`` when
  ``(k + 1) % every == 0``.
* ``out``: float64, shape (R, C, N) with R at least the number of such steps; rows are filled
  in order and the kernel returns how many it wrote.

Callees of a cached kernel live in this file on purpose: numba's cache only watches the file
that defines the cached function.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from ._jit import cached, watch

watch(__name__, "the HiPPO kernels", 3)

#: fastmath without ``nnan``/``ninf``: keeps NaN and inf semantics (np.isnan stays meaningful)
#: while allowing reassociation and FMA contraction. Defined once, used by every kernel.
FASTMATH = {"nsz", "arcp", "contract", "afn", "reassoc"}
CACHE = cached()  # numba's on-disk cache, unless numba's debug settings are on

#: Taylor steps of the LegS zoh kernel keep ||h A||_1 below this (rigorous stopping rule).
_EXPMV_THETA = 1.0
_EXPMV_MAX_TERMS = 60


@njit(cache=CACHE, nogil=True, fastmath=FASTMATH)
def _emit(state, out, row):
    N, C = state.shape
    for c in range(C):
        for n in range(N):
            out[row, c, n] = state[n, c]


@njit(cache=CACHE, nogil=True, fastmath=FASTMATH)
def _lti_dense_1(Abar, Bbar, x, state, step0, every, out):
    # One channel: row dot products, four rows at a time so that each c[k] loaded feeds four
    # independent accumulators (measured: 4.6 M samples/s at N = 64 against 3.4 one row
    # at a time, and 2.6 for the column-oriented axpy form).
    L = x.shape[0]
    N = state.shape[0]
    c = state[:, 0].copy()
    new = np.empty(N)
    rows = 0
    for i in range(L):
        f = x[i, 0]
        n = 0
        while n + 4 <= N:
            a0 = 0.0
            a1 = 0.0
            a2 = 0.0
            a3 = 0.0
            for k in range(N):
                ck = c[k]
                a0 += Abar[n, k] * ck
                a1 += Abar[n + 1, k] * ck
                a2 += Abar[n + 2, k] * ck
                a3 += Abar[n + 3, k] * ck
            new[n] = a0 + Bbar[n] * f
            new[n + 1] = a1 + Bbar[n + 1] * f
            new[n + 2] = a2 + Bbar[n + 2] * f
            new[n + 3] = a3 + Bbar[n + 3] * f
            n += 4
        while n < N:
            acc = Bbar[n] * f
            for k in range(N):
                acc += Abar[n, k] * c[k]
            new[n] = acc
            n += 1
        c, new = new, c
        if (step0 + i + 1) % every == 0:
            out[rows, 0, :] = c
            rows += 1
    state[:, 0] = c
    return rows


@njit(cache=CACHE, nogil=True, fastmath=FASTMATH)
def lti_dense(Abar, Bbar, x, state, step0, every, out):
    """Dense LTI step ``c_k = Abar c_{k-1} + Bbar f_k``. Abar (N, N) C-contiguous, Bbar (N,).
    Several channels: one (N, N) x (N, C) matrix product (BLAS) per step."""
    L, C = x.shape
    if C == 1:
        return _lti_dense_1(Abar, Bbar, x, state, step0, every, out)
    N = state.shape[0]
    new = np.empty_like(state)
    rows = 0
    for i in range(L):
        np.dot(Abar, state, new)
        for n in range(N):
            b = Bbar[n]
            for c in range(C):
                state[n, c] = new[n, c] + b * x[i, c]
        if (step0 + i + 1) % every == 0:
            _emit(state, out, rows)
            rows += 1
    return rows


#: LegS steps per block of precomputed reciprocals (see :func:`legs_gbt`).
_LEGS_BLOCK = 512


@njit(cache=CACHE, nogil=True, fastmath=FASTMATH)
def _legs_step_coefficients(D, inv, b, s, e, g, q, r):
    """Per-step vectors of the LegS GBT step, shape (N,), from inv[n] = 1 / (D + n + 1).

    With a = alpha / tau = 1 / D: d_n = 1 / (1 + a (n + 1)) = D inv_n, e_n = (1 - b (n + 1)) d_n,
    g_n = s_n d_n, q_n = a s_n d_n = s_n inv_n, r_n = (1 - a n) d_n = (D - n) inv_n.
    """
    for n in range(s.shape[0]):
        d = D * inv[n]
        e[n] = (1.0 - b * (n + 1)) * d
        g[n] = s[n] * d
        q[n] = s[n] * inv[n]
        r[n] = (D - n) * inv[n]


@njit(cache=CACHE, nogil=True, fastmath=FASTMATH)
def _legs_step_channels(state, s, e, g, q, r, b, ft, S, X):
    """One LegS step of every channel (state (N, C), channel-innermost), given the step's
    vectors e, g, q, r (N,), b and the scaled inputs ft (C,); S, X (C,) are scratch."""
    N, C = state.shape
    for c in range(C):
        S[c] = 0.0
        X[c] = 0.0
    for n in range(N):
        sn = s[n]
        for c in range(C):
            cn = state[n, c]
            p = e[n] * cn + g[n] * (ft[c] - b * S[c])
            state[n, c] = p - q[n] * X[c]
            S[c] += sn * cn
            X[c] = r[n] * X[c] + sn * p


@njit(cache=CACHE, nogil=True, fastmath=FASTMATH)
def legs_gbt(x, state, step0, every, alpha, tau_shift, out):
    """LegS, O(N) per step: c_0 = f_0 e_0, then one GBT(alpha) step of A/tau, B/tau, h = 1.

    alpha is 0 (forward), 1/2 (bilinear) or 1 (backward); tau = k + tau_shift (``tau_shift =
    alpha``: the natural rule; 0: hippo-code's). With ``A c = -(s * S + (n + 1) * c)``,
    ``S_n = sum_{k<n} s_k c_k``, the new state solves the lower-triangular
    ``(I - a A) x = rhs``: a forward substitution carrying ``X_n = sum_{k<n} s_k x_k``,
    rewritten as ``X <- r_n X + s_n p_n`` so that the loop-carried dependency is a single
    multiply-add (p_n does not depend on X).

    Why blocks: the per-step vectors need 1 / (D + n + 1) with D = tau / alpha an integer that
    grows by 1 / alpha per step, so consecutive steps share all but 1 / alpha of them. One
    table of reciprocals per block of steps replaces N divisions per step (which cost as
    much as the update itself) by a few.
    """
    L, C = x.shape
    N = state.shape[0]
    s = np.sqrt(2.0 * np.arange(N) + 1.0)
    e = np.empty(N)
    g = np.empty(N)
    q = np.zeros(N)
    r = np.ones(N)
    stride = 0 if alpha == 0.0 else int(round(1.0 / alpha))
    inv = np.empty(_LEGS_BLOCK * stride + N)
    S = np.empty(C)
    X = np.empty(C)
    ft = np.empty(C)
    c1 = state[:, 0].copy()  # the one-channel path keeps its state contiguous
    rows = 0
    i = 0
    while i < L:
        k0 = step0 + i
        if k0 == 0:
            state[:, :] = 0.0
            c1[:] = 0.0
            for c in range(C):
                state[0, c] = x[i, c]
            c1[0] = x[i, 0]
            if every == 1:
                _emit_1_or_c(c1, state, out, rows)
                rows += 1
            i += 1
            continue
        nb = min(_LEGS_BLOCK, L - i)
        D0 = 0.0
        if stride:
            D0 = (k0 + tau_shift) / alpha
            for j in range(nb * stride + N):
                inv[j] = 1.0 / (D0 + 1.0 + j)
        for t in range(nb):
            k = k0 + t
            tau = k + tau_shift
            b = (1.0 - alpha) / tau
            if stride:
                _legs_step_coefficients(D0 + t * stride, inv[t * stride:], b, s, e, g, q, r)
            else:  # forward Euler: a = 0, nothing to solve
                for n in range(N):
                    e[n] = 1.0 - b * (n + 1)
                    g[n] = s[n]
            if C == 1:
                ftau = x[i + t, 0] / tau
                Sn = 0.0
                Xn = 0.0
                for n in range(N):
                    cn = c1[n]
                    p = e[n] * cn + g[n] * (ftau - b * Sn)
                    c1[n] = p - q[n] * Xn
                    Sn += s[n] * cn
                    Xn = r[n] * Xn + s[n] * p
            else:
                for c in range(C):
                    ft[c] = x[i + t, c] / tau
                _legs_step_channels(state, s, e, g, q, r, b, ft, S, X)
            if (k + 1) % every == 0:
                _emit_1_or_c(c1, state, out, rows)
                rows += 1
        i += nb
    if C == 1:
        state[:, 0] = c1
    return rows


@njit(cache=CACHE, nogil=True, fastmath=FASTMATH)
def _emit_1_or_c(c1, state, out, row):
    if state.shape[1] == 1:
        out[row, 0, :] = c1
    else:
        _emit(state, out, row)


@njit(cache=CACHE, nogil=True, fastmath=FASTMATH)
def _legs_matvec(s, v, out):
    """out = A_legs v in O(N): ``-(s_n sum_{k<n} s_k v_k + (n + 1) v_n)``."""
    acc = 0.0
    for n in range(v.shape[0]):
        out[n] = -(s[n] * acc + (n + 1) * v[n])
        acc += s[n] * v[n]


@njit(cache=CACHE, nogil=True, fastmath=FASTMATH)
def _legs_zoh_channels(s, state, f, h, norm1, V, Tm, Nx, acc, vn, tn):
    """One step of :func:`legs_zoh` for all C > 1 channels of ``state`` (N, C) at once, the
    channels innermost (so the O(N) matvec vectorises across them); the series stops when
    every channel's term is below its tolerance."""
    N, C = state.shape
    m = max(1, int(math.ceil(h * norm1 / _EXPMV_THETA)))
    hsub = h / m
    for n in range(N):
        for c in range(C):
            V[n, c] = state[n, c]
    for c in range(C):
        V[0, c] -= f[c]
    for _ in range(m):
        for c in range(C):
            vn[c] = 0.0
        for n in range(N):
            for c in range(C):
                Tm[n, c] = V[n, c]
                vn[c] += abs(V[n, c])
        for j in range(1, _EXPMV_MAX_TERMS + 1):
            for c in range(C):
                acc[c] = 0.0
                tn[c] = 0.0
            scale = hsub / j
            for n in range(N):
                sn = s[n]
                dn = n + 1.0
                for c in range(C):
                    t = Tm[n, c]
                    Nx[n, c] = -(sn * acc[c] + dn * t)
                    acc[c] += sn * t
            for n in range(N):
                for c in range(C):
                    t = scale * Nx[n, c]
                    Tm[n, c] = t
                    V[n, c] += t
                    tn[c] += abs(t)
            done = True
            for c in range(C):
                if not (tn[c] <= 1e-17 * vn[c] or tn[c] == 0.0):
                    done = False
            if done:
                break
    for c in range(C):
        V[0, c] += f[c]
    for n in range(N):
        for c in range(C):
            state[n, c] = V[n, c]


@njit(cache=CACHE, nogil=True, fastmath=FASTMATH)
def legs_zoh(x, state, step0, every, hs, norm1, out):
    """LegS zero-order hold, exact for piecewise-constant f.

    ``-A^-1 B = e_0`` for LegS, so ``c_k = E (c_{k-1} - f_k e_0) + f_k e_0`` with
    ``E = expm(h A)``, h = hs[i] for step step0 + i: the step's length in log-time
    (ln((k+1)/k) for unit samples) or h/tau for the frozen system A/tau.
    ``E v`` is a Taylor series in the O(N) matvec, substepped so ``||h A||_1 <= 1``
    (``norm1 = ||A||_1``): each term's 1-norm then bounds the tail and stops the series.
    """
    L, C = x.shape
    N = state.shape[0]
    s = np.sqrt(2.0 * np.arange(N) + 1.0)
    v = np.empty(N)
    term = np.empty(N)
    nxt = np.empty(N)
    V = np.empty((N, C))
    Tm = np.empty((N, C))
    Nx = np.empty((N, C))
    acc = np.empty(C)
    vn = np.empty(C)
    tn = np.empty(C)
    rows = 0
    for i in range(L):
        k = step0 + i
        if k == 0:
            for n in range(N):
                for c in range(C):
                    state[n, c] = 0.0
            for c in range(C):
                state[0, c] = x[i, c]
        elif C > 1:
            _legs_zoh_channels(s, state, x[i], hs[i], norm1, V, Tm, Nx, acc, vn, tn)
        else:
            h = hs[i]
            m = max(1, int(math.ceil(h * norm1 / _EXPMV_THETA)))
            hsub = h / m
            for c in range(C):
                f = x[i, c]
                for n in range(N):
                    v[n] = state[n, c]
                v[0] -= f
                for _ in range(m):
                    vnorm = 0.0
                    for n in range(N):
                        term[n] = v[n]
                        vnorm += abs(v[n])
                    for j in range(1, _EXPMV_MAX_TERMS + 1):
                        _legs_matvec(s, term, nxt)
                        scale = hsub / j
                        tnorm = 0.0
                        for n in range(N):
                            term[n] = scale * nxt[n]
                            v[n] += term[n]
                            tnorm += abs(term[n])
                        if tnorm <= 1e-17 * vnorm or tnorm == 0.0:
                            break
                v[0] += f
                for n in range(N):
                    state[n, c] = v[n]
        if (k + 1) % every == 0:
            _emit(state, out, rows)
            rows += 1
    return rows


@njit(cache=CACHE, nogil=True, fastmath=FASTMATH)
def _lagt_step_channels(state, e, d, q, r, b, hf, S, X):
    """One LagT step of every channel (state (N, C)); hf (C,) = h f; S, X (C,) scratch."""
    N, C = state.shape
    for c in range(C):
        S[c] = 0.0
        X[c] = 0.0
    for n in range(N):
        for c in range(C):
            cn = state[n, c]
            p = e * cn + d * (hf[c] - b * S[c])
            state[n, c] = p - q * X[c]
            S[c] += cn
            X[c] = r * X[c] + p


@njit(cache=CACHE, nogil=True, fastmath=FASTMATH)
def lagt_gbt(x, state, step0, every, alpha, h, out):
    """LagT, O(N) per step: one GBT(alpha) step of size h.

    ``A c = -c/2 - sum_{k<n} c_k``; the implicit part is a forward substitution whose running
    sum of the new coefficients obeys ``X <- (1 - q) X + p_n``.
    """
    L, C = x.shape
    N = state.shape[0]
    a = alpha * h
    b = (1.0 - alpha) * h
    d = 1.0 / (1.0 + 0.5 * a)
    e = (1.0 - 0.5 * b) * d
    q = a * d
    r = 1.0 - q
    S = np.empty(C)
    X = np.empty(C)
    hf = np.empty(C)
    c1 = state[:, 0].copy()  # the one-channel path keeps its state contiguous
    rows = 0
    for i in range(L):
        if C == 1:
            hf0 = h * x[i, 0]
            Sn = 0.0
            Xn = 0.0
            for n in range(N):
                cn = c1[n]
                p = e * cn + d * (hf0 - b * Sn)
                c1[n] = p - q * Xn
                Sn += cn
                Xn = r * Xn + p
        else:
            for c in range(C):
                hf[c] = h * x[i, c]
            _lagt_step_channels(state, e, d, q, r, b, hf, S, X)
        if (step0 + i + 1) % every == 0:
            if C == 1:
                out[rows, 0, :] = c1
            else:
                _emit(state, out, rows)
            rows += 1
    if C == 1:
        state[:, 0] = c1
    return rows


# ----------------------------------------------------------------------------- timed steps
# Irregular sampling: every step has its own length, so the per-step quantities arrive as
# arrays computed by the encoder from the sample times (entry i belongs to step step0 + i).


@njit(cache=CACHE, nogil=True, fastmath=FASTMATH)
def legs_gbt_steps(x, state, step0, every, alpha, ratio, out):
    """LegS with per-step ``ratio[i] = h / tau`` (one GBT(alpha) step of h A / tau,
    h B / tau); the same O(N) forward substitution as :func:`legs_gbt`, with N divisions per
    step (irregular steps share no reciprocals)."""
    L, C = x.shape
    N = state.shape[0]
    s = np.sqrt(2.0 * np.arange(N) + 1.0)
    e = np.empty(N)
    g = np.empty(N)
    q = np.zeros(N)
    r = np.ones(N)
    inv = np.empty(N)
    S = np.empty(C)
    X = np.empty(C)
    ft = np.empty(C)
    rows = 0
    for i in range(L):
        k = step0 + i
        if k == 0:
            state[:, :] = 0.0
            for c in range(C):
                state[0, c] = x[i, c]
        else:
            b = (1.0 - alpha) * ratio[i]
            if alpha > 0.0:  # the same vectors as legs_gbt, with D = 1 / a for this step
                D = 1.0 / (alpha * ratio[i])
                for n in range(N):
                    inv[n] = 1.0 / (D + n + 1.0)
                _legs_step_coefficients(D, inv, b, s, e, g, q, r)
            else:  # forward Euler: nothing to solve
                for n in range(N):
                    e[n] = 1.0 - b * (n + 1)
                    g[n] = s[n]
            for c in range(C):
                ft[c] = x[i, c] * ratio[i]
            _legs_step_channels(state, s, e, g, q, r, b, ft, S, X)
        if (k + 1) % every == 0:
            _emit(state, out, rows)
            rows += 1
    return rows


@njit(cache=CACHE, nogil=True, fastmath=FASTMATH)
def lagt_gbt_steps(x, state, step0, every, alpha, hs, out):
    """LagT with a step length hs[i] per sample (O(N), as :func:`lagt_gbt`)."""
    L, C = x.shape
    S = np.empty(C)
    X = np.empty(C)
    hf = np.empty(C)
    rows = 0
    for i in range(L):
        h = hs[i]
        a = alpha * h
        b = (1.0 - alpha) * h
        d = 1.0 / (1.0 + 0.5 * a)
        e = (1.0 - 0.5 * b) * d
        q = a * d
        r = 1.0 - q
        for c in range(C):
            hf[c] = h * x[i, c]
        _lagt_step_channels(state, e, d, q, r, b, hf, S, X)
        if (step0 + i + 1) % every == 0:
            _emit(state, out, rows)
            rows += 1
    return rows


@njit(cache=CACHE, nogil=True, fastmath=FASTMATH)
def lti_dense_indexed(As, Bs, idx, x, state, step0, every, out):
    """Dense steps with per-step matrices: step i uses As[idx[i]] (N, N), Bs[idx[i]] (N,)."""
    L, C = x.shape
    N = state.shape[0]
    new = np.empty_like(state)
    rows = 0
    for i in range(L):
        A = As[idx[i]]
        B = Bs[idx[i]]
        for n in range(N):
            for c in range(C):
                new[n, c] = B[n] * x[i, c]
            for k in range(N):
                a = A[n, k]
                for c in range(C):
                    new[n, c] += a * state[k, c]
        state[:, :] = new
        if (step0 + i + 1) % every == 0:
            _emit(state, out, rows)
            rows += 1
    return rows


# --------------------------------------------------------------------- LegS exact, in blocks


#: entries of G(w, rho) below this are dropped from the tail of each row (they are O(1) at
#: most; the tail decays super-exponentially once w is small, and would otherwise be
#: computed as denormals, ~100x slower)
_LEGS_G_TOL = 1e-40


@njit(cache=CACHE, nogil=True, fastmath=FASTMATH)
def _legs_row_dot(r2, r1, r0, a, p, q, s, m, x):
    """``r2[i+1] = p (Z r1)_i + q r1[i+1] - s r0[i+1]`` for i < m (rows stored offset by
    one, index 0 being the zero left of column 0); returns ``sum_i r2[i+1] x[i]``. Its own
    function so that LLVM vectorises it (runtime alias checks on three buffers only)."""
    acc = 0.0
    for i in range(m):
        v = p * (a[i] * r1[i] + a[i + 1] * r1[i + 2]) + q * r1[i + 1] - s * r0[i + 1]
        r2[i + 1] = v
        acc += v * x[i]
    return acc


@njit(cache=CACHE, nogil=True, fastmath=FASTMATH)
def _legs_row(r2, r1, r0, a, p, q, s, m):
    """As :func:`_legs_row_dot` without the dot product."""
    for i in range(m):
        r2[i + 1] = p * (a[i] * r1[i] + a[i + 1] * r1[i + 2]) + q * r1[i + 1] - s * r0[i + 1]


@njit(cache=CACHE, nogil=True, fastmath=FASTMATH)
def legs_exact_blocks(moments, state, k0, per, phase, out):
    """LegS exact projection, one block of T samples at a time.

    ``moments`` (nb, C, N): the local Legendre moments m_b of each block (the exact
    projection of the block's piecewise-constant samples onto its own interval);
    ``state`` (N, C): the projection of the history before the first block, which is block
    ``k0`` counted in block lengths (its first sample is step k0 T). After block k, with
    rho = k / (k + 1) and w = 1 / (k + 1)::

        c <- c + rho (G(rho, -w) - I) c + w (G(w, rho) m_k - c)

    where G(alpha, beta)[n, m] = 1/2 int_{-1}^{1} phi_n(alpha z + beta) phi_m(z) dz
    (phi_n = s_n P_n): the old history shrinks to the left part of the new interval, the
    block fills the right part. Row n + 1 of G follows from rows n and n - 1 by the
    three-term recurrence x phi_n = a_{n+1} phi_{n+1} + a_n phi_{n-1}
    (a_n = n / sqrt(4 n^2 - 1)), multiplication by z acting on coefficients as the same
    tridiagonal matrix; G - I is recurred directly (its rows are O(w)), which keeps the
    carry from drifting over many blocks. The rows of G(w, rho) decay super-exponentially
    along the columns once w is small: each row's tail below ``_LEGS_G_TOL`` is dropped,
    which bounds the work and keeps denormals out (a NaN or inf in a dropped moment column
    still reaches the state). O(N^2) per block, no matrix stored.
    The state is written to ``out`` (R, C, N) after block b when
    ``(phase + b + 1) % per == 0``; returns R.
    """
    nb, C, N = moments.shape
    a = np.zeros(N + 2)
    ia = np.zeros(N + 2)
    for n in range(1, N + 2):
        a[n] = n / math.sqrt(4.0 * n * n - 1.0)
        ia[n] = 1.0 / a[n]
    # rows n - 1, n, n + 1 of G(rho, -w) - I (h) and G(w, rho) (g), offset by one so that
    # index 0 is the zero left of column 0
    h0 = np.zeros(N + 3)
    h1 = np.zeros(N + 3)
    h2 = np.zeros(N + 3)
    g0 = np.zeros(N + 3)
    g1 = np.zeros(N + 3)
    g2 = np.zeros(N + 3)
    y = np.empty((N, C))
    u = np.empty((N, C))
    c1 = np.empty(N)
    m1 = np.empty(N)
    mt = np.empty((N, C))
    rows = 0
    for b in range(nb):
        k = float(k0 + b)
        rho = k / (k + 1.0)
        w = 1.0 / (k + 1.0)
        for i in range(N + 3):
            h0[i] = 0.0
            h1[i] = 0.0
            h2[i] = 0.0
            g0[i] = 0.0
            g1[i] = 0.0
            g2[i] = 0.0
        g1[1] = 1.0  # row 0: phi_0 = 1 in any coordinates; h row 0 = 0
        s1 = 1  # columns of g1 (row n) that may be nonzero
        s0 = 0  # same for g0 (row n - 1)
        smax = 1  # columns of any g row that entered a product
        if C == 1:  # one channel: contiguous copies for the fused dot products
            for i in range(N):
                c1[i] = state[i, 0]
                m1[i] = moments[b, 0, i]
            y[0, 0] = 0.0
            u[0, 0] = m1[0]
        else:
            for c in range(C):
                for i in range(N):
                    mt[i, c] = moments[b, c, i]
                y[0, c] = 0.0
                u[0, c] = mt[0, c]
        for n in range(N - 1):
            # row n + 1 from rows n (h1, g1) and n - 1 (h0, g0); h has support 0..n+1
            inv = ia[n + 1]
            rh = rho * inv
            wh = w * inv
            ah = a[n] * inv
            mg = max(s1 + 1, s0)
            if mg > n + 2:
                mg = n + 2
            if mg > smax:
                smax = mg
            if C == 1:
                yc = _legs_row_dot(h2, h1, h0, a, rh, -wh, ah, n + 2, c1)
                # - w (Z e_n + e_n) / a_{n+1}: the identity's part of (rho Z - w) e_n
                if n >= 1:
                    h2[n] -= wh * a[n]
                    yc -= wh * a[n] * c1[n - 1]
                h2[n + 1] -= wh
                yc -= wh * c1[n]
                h2[n + 2] -= wh * a[n + 1]
                yc -= wh * a[n + 1] * c1[n + 1]
                y[n + 1, 0] = yc
                u[n + 1, 0] = _legs_row_dot(g2, g1, g0, a, wh, rh, ah, mg, m1)
            else:
                _legs_row(h2, h1, h0, a, rh, -wh, ah, n + 2)
                if n >= 1:
                    h2[n] -= wh * a[n]
                h2[n + 1] -= wh
                h2[n + 2] -= wh * a[n + 1]
                _legs_row(g2, g1, g0, a, wh, rh, ah, mg)
                for c in range(C):
                    y[n + 1, c] = 0.0
                    u[n + 1, c] = 0.0
                for i in range(n + 2):
                    hv = h2[i + 1]
                    for c in range(C):
                        y[n + 1, c] += hv * state[i, c]
                for i in range(mg):
                    gv = g2[i + 1]
                    for c in range(C):
                        u[n + 1, c] += gv * mt[i, c]
            # drop the negligible tail of the new g row (zeroed: the buffers beyond a
            # row's support must read as zero)
            while mg > 1 and abs(g2[mg]) < _LEGS_G_TOL:
                g2[mg] = 0.0
                mg -= 1
            s0 = s1
            s1 = mg
            h0, h1, h2 = h1, h2, h0
            g0, g1, g2 = g1, g2, g0
        if smax < N:  # moments never multiplied still carry NaN/inf into rows n >= their column
            for c in range(C):
                poison = 0.0
                for n in range(smax, N):  # row n has columns up to n
                    poison += moments[b, c, n] * 0.0
                    u[n, c] += poison
        for n in range(N):
            for c in range(C):
                state[n, c] += rho * y[n, c] + w * (u[n, c] - state[n, c])
        if (phase + b + 1) % per == 0:
            _emit(state, out, rows)
            rows += 1
    return rows


# ------------------------------------------------------ LegT / LMU: quasiseparable Abar
@njit(cache=CACHE, nogil=True, fastmath=FASTMATH)
def _lti_qs_step_1(G, f, c, new, base, bl, bu):
    """new = Abar c + Bbar f for Abar quasiseparable of order 1 (generators G, see lti_qs).

    A pre-pass computes the off-chain terms so that each running sum is one multiply-add per
    index (``w = al w + bl``: a 4-cycle dependency; written ``al w + ql c`` reassoc lets LLVM
    chain a multiply and an FMA, 8 cycles). The lower sweep (forward) and the upper sweep
    (backward) are independent and interleaved; they meet in the middle, where the second
    half adds to what the other sweep wrote."""
    N = c.shape[0]
    d = G[0]
    bb = G[1]
    pl = G[2]
    al = G[3]
    ql = G[4]
    pu = G[5]
    au = G[6]
    qu = G[7]
    for k in range(N):
        ck = c[k]
        base[k] = d[k] * ck + bb[k] * f
        bl[k] = ql[k] * ck
        bu[k] = qu[k] * ck
    h = N // 2
    w = 0.0
    v = 0.0
    for k in range(h):
        j = N - 1 - k
        new[k] = pl[k] * w + base[k]
        w = al[k] * w + bl[k]
        new[j] = pu[j] * v
        v = au[j] * v + bu[j]
    if N % 2:
        new[h] = 0.0
    for k in range(h, N):
        j = N - 1 - k
        new[k] += pl[k] * w + base[k]
        w = al[k] * w + bl[k]
        new[j] += pu[j] * v
        v = au[j] * v + bu[j]


@njit(cache=CACHE, nogil=True, fastmath=FASTMATH)
def lti_qs(G, x, state, step0, every, out):
    """LTI step ``c_k = Abar c_{k-1} + Bbar f_k`` in O(N) for an Abar that is quasiseparable
    of order 1 (LegT / LMU under GBT): G (8, N) from ``qs_generators``, rows d (diagonal of
    Abar), Bbar, then the lower generators pl, al, ql and the upper ones pu, au, qu:
    Abar[i, j] = pl_i al_{i-1} ... al_{j+1} ql_j (i > j), pu_i au_{i+1} ... au_{j-1} qu_j (i < j),
    with |al|, |ql|, |au|, |qu| <= 1 so the running sums neither overflow nor lose the small
    entries. One channel: a contiguous copy of the state; several: channels innermost,
    vectorised across channels (the running sums are per-channel vectors)."""
    L, C = x.shape
    N = state.shape[0]
    rows = 0
    if C == 1:
        c = state[:, 0].copy()
        new = np.empty(N)
        base = np.empty(N)
        bl = np.empty(N)
        bu = np.empty(N)
        for i in range(L):
            _lti_qs_step_1(G, x[i, 0], c, new, base, bl, bu)
            c, new = new, c
            if (step0 + i + 1) % every == 0:
                out[rows, 0, :] = c
                rows += 1
        state[:, 0] = c
        return rows
    d = G[0]
    bb = G[1]
    pl = G[2]
    al = G[3]
    ql = G[4]
    pu = G[5]
    au = G[6]
    qu = G[7]
    c = state.copy()
    new = np.zeros_like(state)
    w = np.empty(C)
    v = np.empty(C)
    h = N // 2
    for i in range(L):
        w[:] = 0.0
        v[:] = 0.0
        for k in range(h):
            j = N - 1 - k
            for ch in range(C):
                ck = c[k, ch]
                new[k, ch] = pl[k] * w[ch] + (d[k] * ck + bb[k] * x[i, ch])
                w[ch] = al[k] * w[ch] + ql[k] * ck
            for ch in range(C):
                new[j, ch] = pu[j] * v[ch]
                v[ch] = au[j] * v[ch] + qu[j] * c[j, ch]
        if N % 2:
            new[h, :] = 0.0
        for k in range(h, N):
            j = N - 1 - k
            for ch in range(C):
                ck = c[k, ch]
                new[k, ch] += pl[k] * w[ch] + (d[k] * ck + bb[k] * x[i, ch])
                w[ch] = al[k] * w[ch] + ql[k] * ck
            for ch in range(C):
                new[j, ch] += pu[j] * v[ch]
                v[ch] = au[j] * v[ch] + qu[j] * c[j, ch]
        c, new = new, c
        if (step0 + i + 1) % every == 0:
            _emit(c, out, rows)
            rows += 1
    state[:, :] = c
    return rows
