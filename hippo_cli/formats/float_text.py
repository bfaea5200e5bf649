"""CSV rows of float64 values as the text Python's ``repr`` writes, fast.

``repr`` of a float is the shortest decimal that reads back to the same float64 (of those,
the nearest), written in fixed notation when its decimal exponent E is in [-4, 16), else as
``d.ddde±XX``. A numba kernel finds that decimal for every value that has one of at most 15
significant digits and a scale of at most 10^22, and proves it: a decimal ``d / 10^k`` with
``d < 10^15`` and ``|k| <= 22`` is read by a correctly rounded parser (Python's ``float``) as
the single IEEE division (or product) ``d / 10^k``, both operands exact, so the kernel
computes what the parser would read and keeps the decimal only if that is the value. Below
10^15 the interval of decimals that read back to one float64 is narrower than one unit of
``d``, so at each scale at most one ``d`` reads back: the first scale (fewest digits) with one
is the shortest decimal, and it is the one ``repr`` writes. Every other value (16 or 17
digits, tiny or huge magnitudes) is written by ``repr`` itself. NaN is an empty cell; inf is
``inf`` / ``-inf`` as ``repr`` writes them. The text is byte for byte what
``"" if v != v else repr(v)`` gives (a test checks it on float64 of random bits).
"""

from __future__ import annotations

import numpy as np
from numba import njit

_OPTS = dict(cache=True, nogil=True, error_model="numpy")

# status of a value
_OK, _NAN, _REPR = 0, 1, 2


@njit(**_OPTS)
def _shortest(x, bits, dig, scale, status):  # pragma: no cover - compiled
    """For every value of the 2-D ``x`` (``bits``: the same memory as uint64): ``dig`` (the
    digits, an integer) and ``scale`` (k: the value is ``dig / 10^k``), ``status`` _OK; NaN:
    _NAN; to be written by repr: _REPR. Zero: dig 0 (its sign from x)."""
    p10 = np.empty(23)
    p5 = np.empty(24, np.uint64)
    p = 1.0
    q5 = np.uint64(1)
    for i in range(23):
        p10[i] = p
        p *= 10.0
    for i in range(24):
        p5[i] = q5
        q5 *= np.uint64(5)
    n, c = x.shape
    for r in range(n):
        for j in range(c):
            v = x[r, j]
            if v != v:
                status[r, j] = _NAN
                continue
            a = abs(v)
            if a == 0.0:
                dig[r, j], scale[r, j], status[r, j] = 0, 0, _OK
                continue
            status[r, j] = _REPR
            if not (1e-7 <= a < 1e15):  # inf, or a magnitude left to repr
                continue
            # 15 digits: at most one decimal reads back, and a shorter one is it without
            # its trailing zeros
            b = bits[r, j]
            ef = np.int64((b >> np.uint64(52)) & np.uint64(0x7FF))
            k = 14 - ((ef - 1023) * 78913 >> 18)  # floor(log10 a), or one below
            if k < 0 or k > 22:
                continue
            approx = a * p10[k]
            if approx >= 1e15:
                k -= 1
                if k < 0:
                    continue
                approx = a * p10[k]
            if not (1e14 <= approx < 1e15):
                continue
            d0 = np.floor(approx + 0.5)
            found = False
            for dd in (d0, d0 - 1.0, d0 + 1.0):
                if dd < 1e15 and dd / p10[k] == a:
                    d = np.int64(dd)
                    while d % 10 == 0:
                        d //= 10
                        k -= 1
                    dig[r, j], scale[r, j], status[r, j] = d, k, _OK
                    found = True
                    break
            if found:
                continue
            # 16 or 17 digits, exactly: a = m 2^q, a 10^k = m 5^k / 2^s (128-bit)
            k += 1  # 16 digits
            if k + 1 > 23:
                continue
            frac = b & np.uint64(0xFFFFFFFFFFFFF)
            if ef == 0 or frac == 0:  # subnormal, or a power of two (uneven interval)
                continue
            m = frac | np.uint64(1 << 52)
            q = ef - 1075
            odd = (m & np.uint64(1)) == np.uint64(1)
            for kk in (k, k + 1):
                s = -(q + kk)
                if s < 1 or s > 60:
                    break
                pk = p5[kk]
                m1, m0 = m >> np.uint64(32), m & np.uint64(0xFFFFFFFF)
                k1, k0 = pk >> np.uint64(32), pk & np.uint64(0xFFFFFFFF)
                mid = m1 * k0 + m0 * k1
                low = m0 * k0
                lo = low + (mid << np.uint64(32))
                carry = np.uint64(1) if lo < low else np.uint64(0)
                hi = m1 * k1 + (mid >> np.uint64(32)) + carry
                us = np.uint64(s)
                fl = np.int64((hi << np.uint64(64 - s)) | (lo >> us)) if s < 64 else 0
                rem = np.int64(lo & ((np.uint64(1) << us) - np.uint64(1)))
                half = np.int64(pk)  # |2 (D 2^s - N)| <= 5^k: D reads back (< if m odd)
                best, bestd, tie = np.int64(-1), np.int64(0), False
                for t in range(-1, 3):
                    dist = abs(2 * (t * (np.int64(1) << np.int64(s)) - rem))
                    if dist < half or (dist == half and not odd):
                        if best < 0 or dist < bestd:
                            best, bestd, tie = fl + t, dist, False
                        elif dist == bestd:
                            tie = True
                if best >= 0:
                    if not tie and best < 10 ** (15 + kk - k + 1):
                        while best % 10 == 0:
                            best //= 10
                            kk -= 1
                        dig[r, j], scale[r, j], status[r, j] = best, kk, _OK
                    break


@njit(**_OPTS)
def _ndigits(d):  # pragma: no cover - compiled
    n = 1
    while d >= 10:
        d //= 10
        n += 1
    return n


@njit(**_OPTS)
def _put(buf, pos, x, d, k, status, fb, fb_off, fi, digits):  # pragma: no cover
    """Write one value at ``pos``; returns (new pos, next fallback index)."""
    if status == _NAN:
        return pos, fi
    if status == _REPR:
        for b in range(fb_off[fi], fb_off[fi + 1]):
            buf[pos] = fb[b]
            pos += 1
        return pos, fi + 1
    if x < 0.0 or (x == 0.0 and np.signbit(x)):
        buf[pos] = 45  # '-'
        pos += 1
    if d == 0:
        buf[pos], buf[pos + 1], buf[pos + 2] = 48, 46, 48  # 0.0
        return pos + 3, fi
    nd = _ndigits(d)
    t = d
    for i in range(nd - 1, -1, -1):
        digits[i] = 48 + t % 10
        t //= 10
    ex = nd - 1 - k  # the decimal exponent
    if -4 <= ex < 16:  # fixed notation
        if k <= 0:
            for i in range(nd):
                buf[pos] = digits[i]
                pos += 1
            for _ in range(-k):
                buf[pos] = 48
                pos += 1
            buf[pos], buf[pos + 1] = 46, 48  # .0
            pos += 2
        elif k >= nd:
            buf[pos], buf[pos + 1] = 48, 46  # 0.
            pos += 2
            for _ in range(k - nd):
                buf[pos] = 48
                pos += 1
            for i in range(nd):
                buf[pos] = digits[i]
                pos += 1
        else:
            for i in range(nd - k):
                buf[pos] = digits[i]
                pos += 1
            buf[pos] = 46
            pos += 1
            for i in range(nd - k, nd):
                buf[pos] = digits[i]
                pos += 1
        return pos, fi
    buf[pos] = digits[0]
    pos += 1
    if nd > 1:
        buf[pos] = 46
        pos += 1
        for i in range(1, nd):
            buf[pos] = digits[i]
            pos += 1
    buf[pos] = 101  # e
    buf[pos + 1] = 43 if ex > 0 else 45
    pos += 2
    ae = abs(ex)
    if ae >= 100:
        buf[pos] = 48 + ae // 100
        pos += 1
    buf[pos], buf[pos + 1] = 48 + (ae // 10) % 10, 48 + ae % 10
    return pos + 2, fi


@njit(**_OPTS)
def _rows(x, dig, scale, status, pre, pre_off, fb, fb_off, out):  # pragma: no cover
    """The CSV rows into ``out`` (large enough): each row's prefix (``pre``), then
    ``,value`` for every column, then a line end. Returns the bytes written."""
    n, c = x.shape
    pos = 0
    fi = 0
    digits = np.empty(24, np.uint8)
    for r in range(n):
        for b in range(pre_off[r], pre_off[r + 1]):
            out[pos] = pre[b]
            pos += 1
        for j in range(c):
            out[pos] = 44
            pos += 1
            pos, fi = _put(out, pos, x[r, j], dig[r, j], scale[r, j], status[r, j], fb,
                           fb_off, fi, digits)
        out[pos] = 10
        pos += 1
    return pos


def _packed(texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """UTF-8 bytes of ``texts`` one after another, and the offsets (len + 1)."""
    data = "".join(texts).encode("utf-8")
    sized = texts if data.isascii() else [t.encode("utf-8") for t in texts]
    lens = np.fromiter(map(len, sized), np.int64, len(texts))
    off = np.zeros(len(texts) + 1, np.int64)
    np.cumsum(lens, out=off[1:])
    return np.frombuffer(data, np.uint8), off


def csv_rows(prefix: list[str], values: np.ndarray) -> bytes:
    """The rows ``prefix[r] + "," + ",".join(cells of values[r]) + "\\n"`` as UTF-8, each
    cell ``"" if v != v else repr(v)``. ``values``: float64 (n, c), c >= 1."""
    x = np.ascontiguousarray(values, np.float64)
    n, c = x.shape
    dig = np.empty((n, c), np.int64)
    scale = np.empty((n, c), np.int64)
    status = np.empty((n, c), np.uint8)
    _shortest(x, x.view(np.uint64), dig, scale, status)
    slow = status == _REPR
    fb, fb_off = _packed(list(map(repr, x[slow].tolist())))  # row-major: the kernel's order
    pre, pre_off = _packed(prefix)
    size = len(pre) + len(fb) + n * (c * 26 + 1)  # a repr'd cell: at most 24 bytes
    out = np.empty(size, np.uint8)
    used = _rows(x, dig, scale, status, pre, pre_off, fb, fb_off, out)
    return out[:used].tobytes()
