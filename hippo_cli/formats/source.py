"""A chunked source of samples, whatever the file format."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import numpy as np

from ..errors import DataError

#: Target size of one chunk of samples (float64 values); rows per chunk = this / columns.
CHUNK_VALUES = 1 << 19


def first_line(err: BaseException) -> str:
    """The first line of an exception's message (its type name if it has none)."""
    return str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__


@dataclass
class Samples:
    """``chunks()`` yields (first_line, float64 (L, C) array[, times]) once, in stream order.

    ``first_line`` is the 1-based line (CSV) or 0-based row (.npy) of the chunk's first row,
    used to name the place of a bad value. With ``time_column``, every block ends with one
    more column: the sample times (seconds since 1970 for timestamps), and a source that
    reads them exactly adds them as :class:`~hippo_cli.codec.times.Times` (a source that
    does not: :func:`~.samples.clean_chunks` takes the column as numbers).
    """

    name: str
    columns: list[str]
    kind: str  # "csv", "npy" or "parquet"
    size_bytes: int | None
    source: Iterator[tuple[int, np.ndarray]] = field(repr=False, default_factory=lambda: iter(()))
    bytes_read: int = 0
    notes: list[str] = field(default_factory=list)
    time_column: str | None = None
    time_text: str | None = None  # the first time field as written (how to write times back)
    time_iso: bool | None = None  # whether the times are ISO text (None: none read yet)
    time_format: str | None = None  # strptime layout of text times that are not ISO
    #: HiPPO coefficients need increasing times: a reader then refuses a time that repeats
    #: or goes back, naming its line (a .hippo file keeps times in any order).
    increasing: bool = False
    last_time: tuple[float, str] | None = None  # (seconds, text) of the last time read
    #: A bound must hold against values as written: an integer that float64 cannot hold
    #: exactly (beyond 2^53) is then an error naming its line, not a rounded value.
    exact_integers: bool = False

    def chunks(self) -> Iterator[tuple[int, np.ndarray]]:
        return self.source

    def where(self, line: int) -> str:
        """``"name, line 12"`` (CSV) or ``"name, row 11"`` (.npy)."""
        return f"{self.name}, line {line}" if self.kind == "csv" else f"{self.name}, row {line}"


    def floats(self, block: np.ndarray, first: int, names: list[str] | None = None
               ) -> np.ndarray:
        """``block`` (L,) or (L, C) (rows from ``first``, any numeric dtype; its columns
        ``names``, default :attr:`columns`) as float64; with
        :attr:`exact_integers`, an integer float64 cannot hold exactly is a DataError naming
        its row and column (a bound must hold against the value as written)."""
        out = block.astype(np.float64)
        if self.exact_integers and block.dtype.kind in "iu" and block.dtype.itemsize > 4:
            # exact iff the float converts back to the same integer (and did not round up
            # to 2^63 / 2^64, which the integer type cannot hold)
            limit = 2.0 ** (8 * block.dtype.itemsize - (block.dtype.kind == "i"))
            with np.errstate(invalid="ignore"):
                bad = (np.abs(out) >= limit) | (out.astype(block.dtype) != block)
            if bad.any():
                row, col = np.unravel_index(int(np.argmax(bad)), bad.shape) if bad.ndim == 2 \
                    else (int(np.argmax(bad)), 0)
                value = int(block.reshape(bad.shape)[row, col] if bad.ndim == 2 else block[row])
                names = self.columns if names is None else names
                name = names[col] if col < len(names) else f"col{col}"
                raise DataError(f"{self.where(first + int(row))}: column {name!r}: the integer "
                                f"{value} has no exact float64 (it would be stored as "
                                f"{int(float(value))}): integers beyond 2^53 must be exact "
                                "to keep a bound against the value as written")
        return out

    def map_blocks(self, fn: Callable[[np.ndarray], np.ndarray]) -> None:
        """Apply ``fn`` to every block still to come (e.g. to pick columns)."""
        inner = self.source
        self.source = ((first, fn(block)) for first, block in inner)
