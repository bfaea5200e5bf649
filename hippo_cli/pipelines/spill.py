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
import pickle
import tempfile
from collections import deque
from collections.abc import Iterator
from typing import IO

import numpy as np

#: Bytes of parsed blocks held in memory; beyond them blocks go to a temporary file.
MEMORY_BUDGET = 256 << 20


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

    def add(self, values: np.ndarray, times: object) -> None:
        size = values.nbytes + (0 if times is None else 8 * 4 * len(values))
        if self.file is None and self.held_bytes + size <= self.budget:
            self.held.append((values, times))
            self.held_bytes += size
            return
        if self.file is None:
            self.file = tempfile.TemporaryFile(prefix=".hippo-spill-", dir=self.folder)
        # a compact copy of the values (a view would pickle its whole base)
        pickle.dump((np.ascontiguousarray(values), times), self.file, protocol=5)
        self.spilled += 1

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
            yield pickle.load(self.file)

    def close(self) -> None:
        self.held.clear()
        if self.file is not None:
            self.file.close()
            self.file = None

    def __enter__(self) -> Spill:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
