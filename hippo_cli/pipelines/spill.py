"""Parsed blocks kept for a second look without parsing again, in bounded memory.

A percentage ``--max-error`` needs each channel's whole range before the first frame can be
coded. Instead of parsing the input twice, ``compress --max-error 1%`` parses it once: the
blocks (float64 values and their exact times) go into a :class:`Spill` while the ranges are
taken, and the encoder then reads them back. The first :data:`MEMORY_BUDGET` bytes stay in
memory; the rest goes to an anonymous temporary file (deleted when closed, or by the
system if the process dies), one block at a time, so memory does not grow with the input.
"""

from __future__ import annotations

import os
import tempfile
from collections import deque
from collections.abc import Iterator
from typing import IO

import numpy as np

#: Bytes of parsed blocks held in memory; beyond them blocks go to a temporary file.
MEMORY_BUDGET = 256 << 20
#: The arrays of a :class:`~hippo_cli.codec.times.Times`, in the order a block stores them.
_TIME_FIELDS = ("seconds", "ints", "nanos", "fmt")
_TIME_DTYPES = (np.float64, np.int64, np.int64, np.int32)


class Spill:
    """Blocks (values, times) in arrival order: in memory up to ``budget`` bytes, then in a
    temporary file in ``folder`` (None: the system's temporary folder). Read back once with
    :meth:`drain`; :meth:`close` (or a ``with`` block) deletes the file."""

    def __init__(self, folder: str | os.PathLike | None = None, budget: int | None = None) -> None:
        self.folder = folder
        self.budget = MEMORY_BUDGET if budget is None else budget
        self.held: deque[tuple[np.ndarray, object]] = deque()
        self.held_bytes = 0
        self.file: IO[bytes] | None = None
        self.spilled = 0  # blocks in the file
        # what the file's blocks cannot hold as raw numbers: each block's Times templates
        # (a few short strings), kept here; the arrays go to the file as raw bytes (never
        # pickled: the file is read back as numbers only)
        self._templates: deque[list[str] | None] = deque()

    def add(self, values: np.ndarray, times: object) -> None:
        size = values.nbytes + (0 if times is None else 8 * 4 * len(values))
        if self.file is None and self.held_bytes + size <= self.budget:
            self.held.append((values, times))
            self.held_bytes += size
            return
        if self.file is None:
            self.file = tempfile.TemporaryFile(prefix=".hippo-spill-", dir=self.folder)
        self._write(values, times)
        self.spilled += 1

    def _write(self, values: np.ndarray, times: object) -> None:
        """One block as raw arrays: (rows, columns, which time arrays follow) as int64, the
        values (float64, row-major), then seconds, ints, nanos (int64) and fmt (int32) of
        the times where present."""
        arrays = [] if times is None else [
            None if getattr(times, k) is None else  # the dtype read back, never a lossy cast
            np.asarray(getattr(times, k)).astype(dtype, casting="safe", copy=False)
            for k, dtype in zip(_TIME_FIELDS, _TIME_DTYPES)]
        present = sum(1 << i for i, a in enumerate(arrays) if a is not None)
        rows, cols = values.shape
        head = np.array([rows, cols, -1 if times is None else present], np.int64)
        for array in (head, np.ascontiguousarray(values, np.float64), *arrays):
            if array is not None:
                self.file.write(memoryview(np.ascontiguousarray(array)).cast("B"))
        self._templates.append(None if times is None else times.templates)

    def _read(self) -> tuple[np.ndarray, object]:
        from ..codec.times import Times

        rows, cols, present = np.fromfile(self.file, np.int64, 3).tolist()
        values = np.fromfile(self.file, np.float64, rows * cols).reshape(rows, cols)
        templates = self._templates.popleft()
        if present < 0:
            return values, None
        fields = {}
        for i, (name, dtype) in enumerate(zip(_TIME_FIELDS, _TIME_DTYPES)):
            fields[name] = np.fromfile(self.file, dtype, rows) if present >> i & 1 else None
        return values, Times(templates=templates, **fields)

    def drain(self) -> Iterator[tuple[np.ndarray, object]]:
        """The blocks in the order added, each given up once taken (memory falls as the
        blocks are consumed)."""
        while self.held:
            yield self.held.popleft()
        if self.file is None:
            return
        self.file.flush()
        self.file.seek(0)
        for _ in range(self.spilled):
            yield self._read()

    def close(self) -> None:
        self.held.clear()
        if self.file is not None:
            self.file.close()
            self.file = None

    def __enter__(self) -> Spill:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
