""".npy input: arrays of shape (L,) or (L, C), read in chunks; never unpickled."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from ..atomic import note_read
from ..errors import DataError
from .source import CHUNK_VALUES, Samples, first_line


def load_npy(path: str) -> np.ndarray:
    """``np.load`` that never unpickles and turns every failure into a one-line DataError."""
    p = Path(path)
    note_read(p)
    if p.is_dir():
        raise DataError(f"{path}: is a folder, not a file")
    if not p.exists():
        raise DataError(f"{path}: no such file")
    try:
        arr = np.load(p, mmap_mode="r", allow_pickle=False)
    except ValueError as err:
        if "pickle" in str(err).lower() or "object" in str(err).lower():
            raise DataError(f"{path}: holds Python objects; hippo never unpickles") from None
        raise DataError(f"{path}: not a valid .npy file ({first_line(err)})") from None
    except Exception as err:  # any parse failure of a foreign or damaged file: one line
        raise DataError(f"{path}: not a valid .npy file ({first_line(err)})") from None
    if not isinstance(arr, np.ndarray):
        raise DataError(f"{path}: not a .npy array")
    if arr.dtype.hasobject:
        raise DataError(f"{path}: holds Python objects; hippo never unpickles")
    return arr


def open_npy(path: str) -> Samples:
    """Open an ``.npy`` array of shape (L,) or (L, C) as chunked samples.

    Chunks are read with plain file reads, not through the memory map: pages of a mapped file
    count toward the process's memory, so a 10^7-sample input would grow it by 80 MB.
    """
    arr = load_npy(path)
    if arr.ndim not in (1, 2) or arr.dtype.kind not in "biuf":
        raise DataError(f"{path}: samples must be a numeric (L,) or (L, C) array, "
                        f"got {arr.dtype} {arr.shape}")
    if arr.shape[0] == 0 or (arr.ndim == 2 and arr.shape[1] == 0):
        raise DataError(f"{path}: no data (empty array)")
    L = arr.shape[0]
    C = 1 if arr.ndim == 1 else arr.shape[1]
    rows = max(1, CHUNK_VALUES // C)
    samples = Samples(path, [f"col{i}" for i in range(C)], "npy", os.path.getsize(path))
    row_major = arr.ndim == 1 or arr.flags.c_contiguous
    offset, dtype = getattr(arr, "offset", 0), arr.dtype

    def chunks() -> Iterator[tuple[int, np.ndarray]]:
        if not row_major:  # a Fortran-ordered (L, C) array: slice the map instead
            for start in range(0, L, rows):
                samples.bytes_read = (start + rows) * C * dtype.itemsize
                yield start, samples.floats(np.asarray(arr[start : start + rows]), start)
            return
        with open(path, "rb") as fh:
            fh.seek(offset)
            for start in range(0, L, rows):
                n = min(rows, L - start)
                block = np.fromfile(fh, dtype=dtype, count=n * C)
                if block.size != n * C:
                    row = start + block.size // C
                    raise DataError(f"{path}: truncated (ends inside row {row})")
                samples.bytes_read = offset + (start + n) * C * dtype.itemsize
                yield start, samples.floats(block.reshape(n, C), start)

    samples.source = chunks()
    return samples
