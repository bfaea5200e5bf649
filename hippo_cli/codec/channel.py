"""Interim channel codec (replaced by the range-coded one): samples rounded to a 2 eps grid,
every sample verified with the decoder's multiply, zigzag-varint deltas, zlib."""

from __future__ import annotations

import zlib

import numpy as np

CODEC_ID = 0
_RAW, _GRID, _CONST = 0, 1, 2


def _zigzag(d: np.ndarray) -> np.ndarray:
    return ((d << 1) ^ (d >> 63)).astype(np.uint64)


def _unzigzag(z: np.ndarray) -> np.ndarray:
    return (z >> np.uint64(1)).astype(np.int64) ^ -(z & np.uint64(1)).astype(np.int64)


def _varints(z: np.ndarray) -> bytes:
    out = bytearray()
    for v in z.tolist():
        while v >= 0x80:
            out.append((v & 0x7F) | 0x80)
            v >>= 7
        out.append(v)
    return bytes(out)


def _read_varints(b: bytes, n: int) -> np.ndarray:
    out = np.empty(n, np.uint64)
    pos = 0
    for i in range(n):
        v = s = 0
        while True:
            if pos >= len(b) or s > 63:
                raise ValueError("truncated or malformed varints")
            c = b[pos]
            pos += 1
            v |= (c & 0x7F) << s
            s += 7
            if c < 0x80:
                break
        if v >= 1 << 64:
            raise ValueError("varint out of range")
        out[i] = v
    if pos != len(b):
        raise ValueError("trailing bytes")
    return out


class ChannelEncoder:
    """Codes one channel, frame by frame: ``push`` samples, ``flush`` a frame's payload."""

    def __init__(self, eps: float) -> None:
        self.eps = float(eps)
        self.step = 2.0 * self.eps
        self._parts: list[np.ndarray] = []
        self.pending = 0

    def push(self, x: np.ndarray) -> None:
        x = np.asarray(x, dtype=np.float64)
        if len(x):
            self._parts.append(x.copy())
            self.pending += len(x)

    def flush(self) -> bytes:
        x = np.concatenate(self._parts) if self._parts else np.empty(0)
        self._parts, self.pending = [], 0
        if len(x) and np.all(x == x[0]):
            return bytes([_CONST]) + x[:1].astype("<f8").tobytes()
        with np.errstate(invalid="ignore", over="ignore"):
            q = np.round(x / self.step)
            ok = np.abs(q) < 2.0**52
            qi = np.where(ok, q, 0).astype(np.int64)
            for _ in range(2):  # rounding edges: move to a neighbour that is within eps
                xh = qi * self.step
                qi += np.where(xh - x > self.eps, -1, np.where(x - xh > self.eps, 1, 0))
            good = ok.all() and bool(np.all(np.abs(qi * self.step - x) <= self.eps))
        if not good:
            return bytes([_RAW]) + x.astype("<f8").tobytes()
        d = np.diff(qi, prepend=0)
        return bytes([_GRID]) + zlib.compress(_varints(_zigzag(d)), 9)


class ChannelDecoder:
    """Decodes the frames of one channel, in order."""

    def __init__(self, eps: float) -> None:
        self.eps = float(eps)
        self.step = 2.0 * self.eps

    def decode(self, payload: bytes, n: int) -> np.ndarray:
        if not payload:
            raise ValueError("empty channel payload")
        if payload[0] == _RAW:
            if len(payload) != 1 + 8 * n:
                raise ValueError("raw frame of the wrong size")
            return np.frombuffer(payload, "<f8", n, 1).astype(np.float64)
        if payload[0] == _CONST:
            if len(payload) != 9:
                raise ValueError("constant frame of the wrong size")
            return np.full(n, np.frombuffer(payload, "<f8", 1, 1)[0])
        if payload[0] != _GRID:
            raise ValueError(f"unknown frame kind {payload[0]}")
        d = zlib.decompressobj()
        body = d.decompress(payload[1:], 10 * n + 16)
        if d.unconsumed_tail or not d.eof:
            raise ValueError("channel payload does not decompress to its samples")
        q = np.cumsum(_unzigzag(_read_varints(body, n)))
        return q * self.step


def encode_times(t: np.ndarray) -> bytes:
    """int64 (n,) -> bytes, lossless (delta of delta, zigzag varints, zlib)."""
    t = np.asarray(t, dtype=np.int64)
    dd = np.diff(t, n=1, prepend=0)
    dd = np.diff(dd, n=1, prepend=0)
    return zlib.compress(_varints(_zigzag(dd)), 9)


def decode_times(payload: bytes, n: int) -> np.ndarray:
    """bytes -> int64 (n,), the inverse of :func:`encode_times`."""
    d = zlib.decompressobj()
    body = d.decompress(payload, 10 * n + 16)
    if d.unconsumed_tail or not d.eof:
        raise ValueError("time payload does not decompress to its samples")
    dd = _unzigzag(_read_varints(body, n))
    return np.cumsum(np.cumsum(dd))
