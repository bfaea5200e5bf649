"""Reconstructed samples written batch by batch: CSV text, or Parquet when the output is
named ``.parquet``/``.pq`` (pyarrow, the ``parquet`` extra), always through the atomic
helper (the file appears only when complete).

Columns are given as arrays: an integer ``sample`` index, a time column (exact
:class:`~hippo_cli.codec.times.Times`, or seconds with the pattern of a file of hippo 0.2),
then the values (NaN: no value). CSV writes the times as the input wrote them, values as the
shortest text that reads back exactly and NaN as an empty cell, and quotes a name or cell
that holds a comma, a quote or a line end; Parquet keeps int64 / float64 columns, and ISO
times as timestamps (nanoseconds, in the input's zone, UTC when rows had several offsets,
none when the input had none).
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import numpy as np

from ..atomic import AtomicFile, stdout_text
from ..codec.times import Times
from ..errors import ParameterError
from ..storage import as_path
from .timestamps import zone_of

PARQUET_SUFFIXES = (".parquet", ".pq")
#: a batch of CSV values is split over threads only in ranges of at least this many cells
#: (a thread's start costs ~0.1 ms; 100,000 cells take ~5 ms)
MIN_CELLS_PER_THREAD = 100_000
#: CSV values through the numba writer of :mod:`.float_text` (the same text as ``repr``);
#: False: ``repr`` cell by cell (the reference; the tests compare the two)
FAST = True


def is_parquet(output: str | None) -> bool:
    return output is not None and Path(output).suffix.lower() in PARQUET_SUFFIXES


class TableWriter:
    """``names``: the columns in order; ``kinds``: for each, ``"index"`` (integers),
    ``"time"`` (:class:`~hippo_cli.codec.times.Times`), ``"value"`` or ``"integer"`` (float64
    values that are integers, NaN or inf: CSV writes ``5``, not ``5.0``; Parquet keeps
    float64). A time column named
    ``"Date\tTime"`` (read from two columns) is written back as two CSV columns, each time
    split at its first space (Parquet: one timestamp column, ``"Date Time"``). ``threads``:
    how many threads format a large batch of CSV values (the same bytes as one; None: the
    cores this process may use)."""

    def __init__(self, output: str, names: list[str], kinds: list[str], *,
                 fast: bool | None = None, threads: int | None = None) -> None:
        from ..codec.container import thread_count

        self.names, self.kinds = names, kinds
        # CSV values of a large batch formatted on this many threads (row ranges; the same
        # bytes as one thread); None: the cores this process may use
        self.threads = thread_count(threads)
        # CSV values through the numba writer (same text as repr, see float_text) when the
        # values are the last columns, after at least one other
        n_lead = next((i for i, k in enumerate(kinds) if k == "value"), len(kinds))
        self.fast = (FAST if fast is None else fast) and 0 < n_lead < len(kinds) and \
            all(k == "value" for k in kinds[n_lead:])
        self._lead = n_lead
        self._caches: list[Any] = []  # float_text.TextCache per thread of the fast path
        self.parquet = is_parquet(output)
        self._pq: Any = None
        self._target: AtomicFile | None = None
        self.fh: Any = None
        if self.parquet:
            if output == "-":
                raise ParameterError("Parquet goes to a file, not stdout")
            try:
                import pyarrow  # noqa: F401 - a clear message before any work
            except ImportError:
                raise ParameterError("writing Parquet needs pyarrow: pip install "
                                     "'hippo-cli[parquet]'") from None
            self.names = [n.replace("\t", " ") for n in names]
            if len(set(self.names)) != len(names):
                raise ParameterError(f"Parquet needs distinct column names, got {names}")
            self._target = AtomicFile(as_path(output), "wb")
        elif output == "-":
            self.fh = stdout_text()
        else:
            self._target = AtomicFile(as_path(output), "w")
            self.fh = self._target.fh
        if self.fh is not None:
            header = [_quoted(part) for n in names for part in n.split("\t")]
            self.fh.write(",".join(header) + "\n")

    def write(self, columns: list[np.ndarray]) -> None:
        """One batch: the columns in the order of ``names``, equal lengths."""
        if self.parquet:
            self._write_parquet(columns)
            return
        if self.fast:
            self._write_fast(columns)
            return
        self.fh.write("".join(",".join(row) + "\n" for row in zip(*self._cells(columns))))

    def _cells(self, columns: list[np.ndarray]) -> list[list[str]]:
        """The text of every cell, column by column (the time column of two: two)."""
        cells = []
        for name, kind, col in zip(self.names, self.kinds, columns):
            if kind == "index":
                cells.append([str(v) for v in np.asarray(col).tolist()])
            elif kind == "time" and "\t" in name:  # two columns: date and time
                pairs = [t.split(" ", 1) for t in col.text()]
                cells.append([_quoted(p[0]) for p in pairs])
                cells.append([_quoted(p[1]) if len(p) > 1 else "" for p in pairs])
            elif kind == "time":
                texts = col.text()
                cells.append([_quoted(t) for t in texts] if _needs_quotes(texts) else texts)
            elif kind == "integer":
                cells.append(["" if v != v else repr(v) if abs(v) == np.inf else str(int(v))
                              for v in np.asarray(col).tolist()])
            else:
                cells.append(["" if v != v else repr(v) for v in np.asarray(col).tolist()])
        return cells

    def _write_fast(self, columns: list[np.ndarray]) -> None:
        from .float_text import TextCache, csv_block

        lead = self._cells(columns[:self._lead])
        prefix = lead[0] if len(lead) == 1 else [",".join(row) for row in zip(*lead)]
        values = _matrix(columns[self._lead:])
        if values is None:
            values = np.empty((len(prefix), len(columns) - self._lead))
            for j, col in enumerate(columns[self._lead:]):
                values[:, j] = col
        n, c = values.shape
        parts = max(1, min(self.threads, n * c // MIN_CELLS_PER_THREAD))
        while len(self._caches) < parts:  # the values' text by their bits, batch to batch
            self._caches.append(TextCache(c))
        cuts = [n * i // parts for i in range(parts + 1)]
        blocks: list[Any] = [None] * parts
        errors: list[BaseException] = []

        def format_part(i: int) -> None:
            try:
                blocks[i] = csv_block(prefix[cuts[i]:cuts[i + 1]], values[cuts[i]:cuts[i + 1]],
                                      self._caches[i])
            except BaseException as exc:  # raised again in the writer's thread
                errors.append(exc)

        # the kernel releases the GIL: the other row ranges on their own threads, the first
        # here (each with its own cache: a cache is not shared between threads)
        helpers = [threading.Thread(target=format_part, args=(i,), name="hippo-csv")
                   for i in range(1, parts)]
        for thread in helpers:
            thread.start()
        format_part(0)
        for thread in helpers:
            thread.join()
        if errors:
            raise errors[0]
        raw = getattr(self.fh, "buffer", None)
        if raw is not None:  # the bytes as they are: the text layer flushed first (order)
            self.fh.flush()
        for block in blocks:
            if raw is None:
                self.fh.write(block.tobytes().decode("utf-8"))
            else:
                raw.write(block)

    def _write_parquet(self, columns: list[np.ndarray]) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pa.Table.from_arrays([self._arrow(kind, col if isinstance(col, Times)
                                                  else np.asarray(col))
                                      for kind, col in zip(self.kinds, columns)],
                                     names=self.names)
        if self._pq is None:
            self._pq = pq.ParquetWriter(self._target.fh, table.schema)
        self._pq.write_table(table)

    def _arrow(self, kind: str, col: np.ndarray) -> Any:
        import pyarrow as pa

        if kind == "index":
            return pa.array(col.astype(np.int64))
        if isinstance(col, Times):
            if not col.iso:
                return pa.array(col.ints if col.ints is not None else col.seconds)
            zones = {zone_of(t)[0] for t in col.templates}
            zone = zones.pop() if len(zones) == 1 else "Z"  # several offsets: UTC
            ns = col.ints * 10**9 + col.nanos
            return pa.array(ns, type=pa.timestamp("ns", tz=None if not zone else
                                                  "UTC" if zone == "Z" else _colon(zone)))
        return pa.array(col.astype(np.float64))

    def commit(self) -> None:
        """Finish the file (it appears now); stdout is flushed."""
        if self.parquet:
            if self._pq is None:  # no rows at all: an empty table with the columns
                self._write_parquet([np.empty(0)] * len(self.names))
            self._pq.close()
        if self._target is not None:
            self._target.commit()
        else:
            self.fh.flush()

    def __enter__(self) -> TableWriter:
        return self

    def __exit__(self, *_: object) -> None:
        if self._target is not None and not self._target.committed:
            self._target.abort()


def _matrix(columns: list[np.ndarray]) -> np.ndarray | None:
    """The float64 columns as one C-ordered (n, c) array without a copy, when they are the
    columns of one (``values.T`` of a row-major block, what the decoder gives); else None.
    Sound by construction: the view reads only the elements of the columns themselves (each
    column j starts 8 j bytes after the first, every column steps 8 c bytes a row)."""
    first = columns[0]
    c = len(columns)
    if not isinstance(first, np.ndarray) or first.ndim != 1 or first.dtype != np.float64 or \
            first.strides != (8 * c,):
        return None
    at = first.__array_interface__["data"][0]
    for j, col in enumerate(columns):
        if not isinstance(col, np.ndarray) or col.dtype != np.float64 or \
                col.shape != first.shape or col.strides != first.strides or \
                col.__array_interface__["data"][0] != at + 8 * j:
            return None
    return np.lib.stride_tricks.as_strided(first, (len(first), c), (8 * c, 8),
                                           writeable=False)


def _needs_quotes(cells: list[str]) -> bool:
    """Whether a cell holds a separator, a quote or a line end (one pass over the text)."""
    text = "".join(cells)
    return any(c in text for c in ',"\n\r')


def _quoted(cell: str) -> str:
    """A CSV cell: quoted (its quotes doubled) when it holds a separator, a quote or a line
    end."""
    if any(c in cell for c in ',"\n\r'):
        return '"' + cell.replace('"', '""') + '"'
    return cell


def _colon(zone: str) -> str:
    """``+05:30`` of a zone written ``+0530`` or ``+05`` (what Arrow takes)."""
    digits = zone[1:].replace(":", "")
    return f"{zone[0]}{digits[:2]}:{digits[2:4] or '00'}"
