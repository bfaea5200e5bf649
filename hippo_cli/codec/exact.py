"""The exact codec, for a channel whose bound is 0 (a percentage of a zero value range: every
value equal). A frame is one byte of kind, then: the constant value (f64), or every value
(f64, zlib-compressed) - decoded bit for bit."""

from __future__ import annotations

import zlib

import numpy as np

_CONST, _RAW = 0, 1


class ExactEncoder:
    """Same interface as :class:`hippo_cli.codec.grid.ChannelEncoder`, with no error."""

    def __init__(self) -> None:
        self._parts: list[np.ndarray] = []
        self.pending = 0

    def push(self, x: np.ndarray) -> None:
        x = np.asarray(x, dtype=np.float64).ravel()
        if len(x):
            self._parts.append(x.copy())
            self.pending += len(x)

    def flush(self) -> bytes:
        x = np.concatenate(self._parts) if self._parts else np.empty(0)
        self._parts, self.pending = [], 0
        if not len(x):
            return b""
        if np.all(x.view(np.int64) == x[:1].view(np.int64)[0]):
            return bytes([_CONST]) + x[:1].astype("<f8").tobytes()
        return bytes([_RAW]) + zlib.compress(x.astype("<f8").tobytes(), 6)


class ExactDecoder:
    def decode(self, payload: bytes, n: int) -> np.ndarray:
        if n == 0:
            if payload:
                raise ValueError("non-empty payload for an empty frame")
            return np.empty(0)
        if not payload:
            raise ValueError("empty payload")
        if payload[0] == _CONST:
            if len(payload) != 9:
                raise ValueError("constant frame of the wrong size")
            return np.full(n, np.frombuffer(payload, "<f8", 1, 1)[0])
        if payload[0] != _RAW:
            raise ValueError(f"unknown exact frame kind {payload[0]}")
        d = zlib.decompressobj()
        try:
            body = d.decompress(payload[1:], 8 * n + 1)
        except zlib.error as err:
            raise ValueError(f"exact frame does not decompress ({err})") from None
        if len(body) != 8 * n or not d.eof or d.unconsumed_tail or d.unused_data:
            raise ValueError("exact frame holds the wrong number of values")
        return np.frombuffer(body, "<f8").astype(np.float64)
