""".npy input: arrays of shape (L,) or (L, C), read in chunks; never unpickled."""

from __future__ import annotations

import math
import os
from collections.abc import Iterator

import numpy as np

from ..atomic import open_input
from ..errors import DataError
from ..npy import NpyVersion, npy_header
from .source import CHUNK_VALUES, Samples, first_line


def _header(fh, path: str) -> tuple[tuple[int, ...], bool, np.dtype]:
    """(shape, Fortran order, dtype) from an open ``.npy`` file's header (at its start)."""
    try:
        fh.seek(0)
        return npy_header(fh)
    except NpyVersion as err:
        raise DataError(f"{path}: not a valid .npy file for hippo ({err})") from None
    except Exception as err:  # any parse failure of a foreign or damaged file: one line
        raise DataError(f"{path}: not a valid .npy file ({first_line(err)})") from None


def load_npy(path: str, fh=None) -> np.ndarray:
    """The array of an ``.npy`` file, memory-mapped; never unpickled; every failure one
    DataError line. Header and data come from one open file (``fh``, else the file opened
    once here): a file replaced meanwhile is never half old, half new."""
    own = fh is None
    if own:
        fh = open_input(path, "an .npy file")
    try:
        shape, fortran, dtype = _header(fh, path)
        if dtype.hasobject:
            raise DataError(f"{path}: holds Python objects; hippo never unpickles")
        offset = fh.tell()
        order = "F" if fortran else "C"
        if math.prod(shape) == 0:  # nothing to map
            return np.empty(shape, dtype=dtype, order=order)
        try:
            return np.memmap(fh, dtype=dtype, mode="r", offset=offset, shape=shape,
                             order=order)
        except Exception as err:  # a file shorter than its header says, and the like
            raise DataError(f"{path}: not a valid .npy file ({first_line(err)})") from None
    finally:
        if own:
            fh.close()  # the map keeps its own reference to the file


def open_npy(path: str) -> Samples:
    """Open an ``.npy`` array of shape (L,) or (L, C) as chunked samples.

    Chunks are read with plain file reads, not through the memory map: pages of a mapped file
    count toward the process's memory, so a 10^7-sample input would grow it by 80 MB.
    """
    fh = open_input(path, "an .npy file")  # header, map and reads: this one handle
    try:
        arr = load_npy(path, fh)
    except BaseException:
        fh.close()
        raise
    if arr.ndim not in (1, 2) or arr.dtype.kind not in "biuf":
        fh.close()
        raise DataError(f"{path}: samples must be a numeric (L,) or (L, C) array, "
                        f"got {arr.dtype} {arr.shape}")
    if arr.shape[0] == 0 or (arr.ndim == 2 and arr.shape[1] == 0):
        fh.close()
        raise DataError(f"{path}: no data (empty array)")
    L = arr.shape[0]
    C = 1 if arr.ndim == 1 else arr.shape[1]
    rows = max(1, CHUNK_VALUES // C)
    samples = Samples(path, [f"col{i}" for i in range(C)], "npy",
                      os.fstat(fh.fileno()).st_size)
    row_major = arr.ndim == 1 or arr.flags.c_contiguous
    offset, dtype = getattr(arr, "offset", 0), arr.dtype

    def chunks() -> Iterator[tuple[int, np.ndarray]]:
        if not row_major:  # a Fortran-ordered (L, C) array: slice the map instead
            fh.close()
            for start in range(0, L, rows):
                samples.bytes_read = (start + rows) * C * dtype.itemsize
                yield start, samples.floats(np.asarray(arr[start : start + rows]), start)
            return
        with fh:
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
