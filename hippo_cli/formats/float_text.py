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
is the shortest decimal, and it is the one ``repr`` writes. 16 or 17 digits are found exactly
with 128-bit integer products. Every other value (tiny or huge magnitudes, subnormals, a tie)
is written by ``repr`` itself. NaN is an empty cell; inf is ``inf`` / ``-inf`` as ``repr``
writes them. The text is byte for byte what ``"" if v != v else repr(v)`` gives (a test
checks it on float64 of random bits).

One pass lays out the rows: a value's digits are found and written straight into the output
(no scratch arrays per cell). The values a cell cannot prove are left out and spliced in
afterwards (their positions recorded). A small cache per column, from a value's bits to its
text (open addressing, one slot per hash, fixed size: a new value replaces the old), skips
the digit search for the values a column repeats (a bounded file's values sit on grids).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .._jit import cached

_OPTS = dict(cache=cached(), nogil=True, error_model="numpy")

#: exact powers of ten as float64 (10^0 .. 10^22), as int64 (10^0 .. 10^18), powers of 5
_P10 = np.array([10.0 ** i for i in range(23)])
_I10 = np.array([10 ** i for i in range(19)], np.int64)
_P5 = np.array([5 ** i for i in range(24)], np.uint64)
#: "00" .. "99": two digits at a time
_DIG2 = np.frombuffer("".join(f"{i:02d}" for i in range(100)).encode(), np.uint8).copy()
#: slots of the cache per column (a power of two); a slot holds up to 24 bytes of text
CACHE_SLOTS = 512
_SLOT_BYTES = 24
#: rows between two checks of the cache's hit rate in each column
_CHECK_ROWS = 2048
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)  # Fibonacci hashing of the bits


@njit(**_OPTS)
def _digits(a, b):  # pragma: no cover - compiled
    """The shortest decimal of ``a`` > 0 (``b``: its bits): (d, k, nd): ``a`` reads back from
    ``d / 10^k``, ``d`` of ``nd`` digits without trailing zeros; nd 0: not proven (repr)."""
    if not (1e-7 <= a < 1e15):  # inf, or a magnitude left to repr
        return 0, 0, 0
    # 15 digits: at most one decimal reads back, and a shorter one is it without its
    # trailing zeros
    ef = np.int64((b >> np.uint64(52)) & np.uint64(0x7FF))
    k = 14 - ((ef - 1023) * 78913 >> 18)  # floor(log10 a), or one below
    if k < 0 or k > 22:
        return 0, 0, 0
    approx = a * _P10[k]
    if approx >= 1e15:
        k -= 1
        if k < 0:
            return 0, 0, 0
        approx = a * _P10[k]
    if not (1e14 <= approx < 1e15):
        return 0, 0, 0
    d0 = np.floor(approx + 0.5)
    for dd in (d0, d0 - 1.0, d0 + 1.0):
        if 1e14 <= dd < 1e15 and dd / _P10[k] == a:
            d = np.int64(dd)
            nd = 15
            # trailing zeros (at most 14) in four steps: 8, 4, 2, 1
            if d % 100000000 == 0:
                d //= 100000000
                k -= 8
                nd -= 8
            if d % 10000 == 0:
                d //= 10000
                k -= 4
                nd -= 4
            if d % 100 == 0:
                d //= 100
                k -= 2
                nd -= 2
            if d % 10 == 0:
                d //= 10
                k -= 1
                nd -= 1
            return d, k, nd
    # 16 or 17 digits, exactly: a = m 2^q, a 10^k = m 5^k / 2^s (128-bit)
    k += 1  # 16 digits
    if k + 1 > 23:
        return 0, 0, 0
    frac = b & np.uint64(0xFFFFFFFFFFFFF)
    if ef == 0 or frac == 0:  # subnormal, or a power of two (uneven interval)
        return 0, 0, 0
    m = frac | np.uint64(1 << 52)
    q = ef - 1075
    odd = (m & np.uint64(1)) == np.uint64(1)
    for kk in (k, k + 1):
        s = -(q + kk)
        if s < 1 or s > 60:
            return 0, 0, 0
        pk = _P5[kk]
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
            if tie or best >= _I10[15 + kk - k + 1]:
                return 0, 0, 0
            nd = 16 + kk - k  # digits at this scale, or one more or fewer
            while best % 10 == 0:
                best //= 10
                kk -= 1
                nd -= 1
            while nd > 1 and best < _I10[nd - 1]:
                nd -= 1
            while best >= _I10[nd]:
                nd += 1
            return best, kk, nd
    return 0, 0, 0


@njit(**_OPTS)
def _put_int(out, pos, d, nd):  # pragma: no cover - compiled
    """The ``nd`` digits of ``d`` >= 0 at ``out[pos:pos + nd]``, two at a time (more than 8:
    the last 8 apart, so the two halves are two short chains of divisions, not one long)."""
    p = pos + nd
    if nd > 8:
        hi = d // 100000000
        lo = d - hi * 100000000
        for _ in range(4):
            q = lo // 100
            r = 2 * (lo - q * 100)
            p -= 2
            out[p] = _DIG2[r]
            out[p + 1] = _DIG2[r + 1]
            lo = q
        d = hi
    while d >= 100:
        q = d // 100
        r = 2 * (d - q * 100)
        p -= 2
        out[p] = _DIG2[r]
        out[p + 1] = _DIG2[r + 1]
        d = q
    if d >= 10:
        out[p - 2] = _DIG2[2 * d]
        out[p - 1] = _DIG2[2 * d + 1]
    else:
        out[p - 1] = 48 + d


@njit(**_OPTS)
def _put(out, pos, neg, d, nd, ex):  # pragma: no cover - compiled
    """``d`` (``nd`` digits, no trailing zeros; decimal exponent ``ex``) as repr lays it out;
    returns the position after it."""
    if neg:
        out[pos] = 45  # '-'
        pos += 1
    if -4 <= ex < 16:  # fixed notation
        if ex < 0:  # 0.000ddd
            out[pos] = 48
            out[pos + 1] = 46
            pos += 2
            for _ in range(-ex - 1):
                out[pos] = 48
                pos += 1
            _put_int(out, pos, d, nd)
            return pos + nd
        if nd <= ex + 1:  # an integer: ddd000.0
            _put_int(out, pos, d, nd)
            pos += nd
            for _ in range(ex + 1 - nd):
                out[pos] = 48
                pos += 1
            out[pos] = 46
            out[pos + 1] = 48
            return pos + 2
        # dd.ddd: the digits one place on, the integer part moved back before the point
        _put_int(out, pos + 1, d, nd)
        for i in range(ex + 1):
            out[pos + i] = out[pos + 1 + i]
        out[pos + ex + 1] = 46
        return pos + nd + 1
    _put_int(out, pos + 1, d, nd)  # d.ddde±XX
    out[pos] = out[pos + 1]
    if nd > 1:
        out[pos + 1] = 46
        pos += nd + 1
    else:
        pos += 1
    out[pos] = 101  # e
    out[pos + 1] = 43 if ex > 0 else 45
    pos += 2
    ae = abs(ex)
    if ae >= 100:
        out[pos] = 48 + ae // 100
        pos += 1
    out[pos] = 48 + (ae // 10) % 10
    out[pos + 1] = 48 + ae % 10
    return pos + 2


@njit(**_OPTS)
def _rows(x, bits, pre, pre_off, out, fb_pos, fb_cell, keys, lens, texts
          ):  # pragma: no cover - compiled
    """The CSV rows into ``out`` (large enough): each row's prefix (``pre``), then
    ``,value`` for every column, then a line end. A value left to repr is not written: its
    position in ``out`` goes to ``fb_pos``, its flat index to ``fb_cell``. The cache:
    ``keys`` (c, S) bits, ``lens`` (c, S) text lengths (0: empty slot), ``texts``
    (c, S, 24). Returns (bytes written, values left to repr)."""
    n, c = x.shape
    slots = keys.shape[1]
    shift = np.uint64(64 - int(np.log2(slots))) if slots > 1 else np.uint64(63)
    # a column whose values rarely repeat (a hit rate below 1 in 4 after a check's rows) stops
    # using the cache for the rest of the call: a miss costs a lookup and a store
    use = np.full(c, slots > 1)
    hits = np.zeros(c, np.int64)
    looks = np.zeros(c, np.int64)
    pos = 0
    nfb = 0
    for r in range(n):
        if r % _CHECK_ROWS == 0 and r > 0:
            for j in range(c):
                if use[j] and 4 * hits[j] < looks[j]:
                    use[j] = False
        for i in range(pre_off[r], pre_off[r + 1]):
            out[pos] = pre[i]
            pos += 1
        for j in range(c):
            out[pos] = 44
            pos += 1
            v = x[r, j]
            if v != v:  # NaN: an empty cell
                continue
            b = bits[r, j]
            h = 0
            if use[j]:
                h = np.int64((b * _GOLDEN) >> shift)
                size = lens[j, h]
                looks[j] += 1
                if size != 0 and keys[j, h] == b:
                    hits[j] += 1
                    for i in range(size):
                        out[pos + i] = texts[j, h, i]
                    pos += size
                    continue
            if v == 0.0:
                start = pos
                if np.signbit(v):
                    out[pos] = 45
                    pos += 1
                out[pos] = 48
                out[pos + 1] = 46
                out[pos + 2] = 48
                pos += 3
            else:
                d, k, nd = _digits(abs(v), b)
                if nd == 0:
                    fb_pos[nfb] = pos
                    fb_cell[nfb] = r * c + j
                    nfb += 1
                    continue
                start = pos
                pos = _put(out, pos, v < 0.0, d, nd, nd - 1 - k)
            if use[j]:
                keys[j, h] = b
                lens[j, h] = pos - start
                for i in range(pos - start):
                    texts[j, h, i] = out[start + i]
        out[pos] = 10
        pos += 1
    return pos, nfb


@njit(**_OPTS)
def _splice(out, used, fb_pos, nfb, fb, fb_off, dest):  # pragma: no cover - compiled
    """``out[:used]`` with the text of fallback ``i`` (``fb[fb_off[i]:fb_off[i + 1]]``)
    inserted at ``fb_pos[i]``, into ``dest``; returns the bytes written."""
    src = 0
    dp = 0
    for i in range(nfb):
        p = fb_pos[i]
        dest[dp:dp + p - src] = out[src:p]
        dp += p - src
        src = p
        for t in range(fb_off[i], fb_off[i + 1]):
            dest[dp] = fb[t]
            dp += 1
    dest[dp:dp + used - src] = out[src:used]
    return dp + used - src


def _packed(texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """UTF-8 bytes of ``texts`` one after another, and the offsets (len + 1)."""
    data = "".join(texts).encode("utf-8")
    sized = texts if data.isascii() else [t.encode("utf-8") for t in texts]
    lens = np.fromiter(map(len, sized), np.int64, len(texts))
    off = np.zeros(len(texts) + 1, np.int64)
    np.cumsum(lens, out=off[1:])
    return np.frombuffer(data, np.uint8), off


class TextCache:
    """The per-column cache of :func:`csv_block` (bits -> text), kept from one block of rows
    to the next. Not shared between threads: one per writer."""

    def __init__(self, columns: int, slots: int = CACHE_SLOTS) -> None:
        if slots & (slots - 1):
            raise ValueError(f"cache slots must be a power of two, got {slots}")
        self.keys = np.zeros((columns, slots), np.uint64)
        self.lens = np.zeros((columns, slots), np.uint8)  # 0: an empty slot
        self.texts = np.zeros((columns, slots, _SLOT_BYTES), np.uint8)


def csv_block(prefix: list[str], values: np.ndarray, cache: TextCache | None = None
              ) -> np.ndarray:
    """The rows ``prefix[r] + "," + ",".join(cells of values[r]) + "\\n"`` as UTF-8 bytes
    (uint8, 1-D), each cell ``"" if v != v else repr(v)``. ``values``: float64 (n, c),
    c >= 1. ``cache``: a :class:`TextCache` of c columns to keep between calls (None: one
    for this call)."""
    x = np.ascontiguousarray(values, np.float64)
    n, c = x.shape
    if cache is None:
        cache = TextCache(c)
    if cache.keys.shape[0] != c:
        raise ValueError(f"the cache has {cache.keys.shape[0]} columns, the values {c}")
    pre, pre_off = _packed(prefix)
    size = len(pre) + n * (c * 25 + 1)  # a proven cell: at most 24 bytes ('-' included)
    out = np.empty(size, np.uint8)
    # one position per cell at most; np.empty commits only the pages written
    fb_pos = np.empty(n * c, np.int64)
    fb_cell = np.empty(n * c, np.int64)
    used, nfb = _rows(x, x.view(np.uint64), pre, pre_off, out, fb_pos, fb_cell, cache.keys,
                      cache.lens, cache.texts)
    if nfb == 0:
        return out[:used]
    fb, fb_off = _packed(list(map(repr, x.ravel()[fb_cell[:nfb]].tolist())))
    dest = np.empty(used + len(fb), np.uint8)
    _splice(out, used, fb_pos, nfb, fb, fb_off, dest)
    return dest
