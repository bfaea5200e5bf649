""".npy headers, read for every layer (samples, coefficients and state files): sizes checked
before anything is read, never unpickled."""

from __future__ import annotations

import io
import struct

import numpy as np

#: the longest header read (numpy's own limit for headers it parses)
MAX_HEADER = 10_000


class NpyVersion(ValueError):
    """An ``.npy`` header of a format version hippo does not read."""


def npy_header(fh) -> tuple[tuple[int, ...], bool, np.dtype]:
    """(shape, Fortran order, dtype) of the ``.npy`` header that ``fh`` (a binary stream)
    starts with; ``fh`` is left at the data. ``NpyVersion`` for a version other than 1.0 and
    2.0 (3.0 exists only for UTF-8 field names of structured arrays: never samples), and
    ``ValueError`` for a header numpy cannot parse, one longer than MAX_HEADER (checked before
    it is read) or one with a backslash: numpy reads the header as a Python literal, and the
    parser warns of an escape sequence that does not exist, which a numeric array's header
    never has (damage)."""
    fmt = np.lib.format
    magic = fh.read(8)
    if len(magic) < 8 or magic[:6] != fmt.MAGIC_PREFIX:
        raise ValueError("not an .npy file: no magic string")
    version = (magic[6], magic[7])
    if version not in ((1, 0), (2, 0)):
        raise NpyVersion(f"format version {version[0]}.{version[1]}; numeric arrays are 1.0 "
                         "or 2.0")
    width = 2 if version == (1, 0) else 4  # the header's length: u16 in 1.0, u32 in 2.0
    size_bytes = fh.read(width)
    if len(size_bytes) < width:
        raise ValueError("the header ends early")
    (size,) = struct.unpack("<H" if width == 2 else "<I", size_bytes)
    if size > MAX_HEADER:
        raise ValueError(f"a header of {size} bytes (at most {MAX_HEADER})")
    header = fh.read(size)
    if len(header) < size:
        raise ValueError("the header ends early")
    if b"\\" in header:
        raise ValueError("a backslash in the header")
    head = io.BytesIO(magic + size_bytes + header)
    head.seek(8)
    if version == (1, 0):
        return fmt.read_array_header_1_0(head)
    return fmt.read_array_header_2_0(head)
