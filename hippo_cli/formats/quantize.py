"""Quantised coefficient rows: a float32 scale and N small integers per row and channel."""

from __future__ import annotations

import numpy as np

from ..errors import ParameterError


def quantized_dtype(N: int, bits: int) -> np.dtype:
    """Record of one quantised row: a float32 scale and N signed integers of ``bits`` bits
    (stored in int8 up to 8 bits, int16 up to 16)."""
    if not 2 <= bits <= 16:
        raise ParameterError(f"--quantize takes 2 to 16 bits, got {bits}")
    return np.dtype([("scale", "<f4"), ("q", "i1" if bits <= 8 else "<i2", (N,))])


def quantize(rows: np.ndarray, bits: int) -> np.ndarray:
    """float (..., N) -> records (...) of (scale, q): c ~ q * scale, |error| <= scale / 2,
    scale = max |c| / (2^(bits-1) - 1) per row and channel."""
    levels = 2 ** (bits - 1) - 1
    peak = np.max(np.abs(rows), axis=-1)
    scale = (peak / levels).astype(np.float32)
    safe = np.where(scale > 0, scale.astype(np.float64), 1.0)
    out = np.empty(rows.shape[:-1], dtype=quantized_dtype(rows.shape[-1], bits))
    out["scale"] = scale
    out["q"] = np.clip(np.rint(rows / safe[..., None]), -levels, levels)
    return out


def dequantize(records: np.ndarray) -> np.ndarray:
    """records (...) of (scale, q) -> float64 (..., N)."""
    return records["q"].astype(np.float64) * records["scale"].astype(np.float64)[..., None]


def stored_dtype(dtype: str, quantize: int | None) -> str:
    """The dtype a coefficient file holds: ``dtype``, or int8/int16 for ``quantize`` bits."""
    if quantize is None:
        return dtype
    return "int8" if quantize <= 8 else "int16"
