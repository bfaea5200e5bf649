"""Opening any sample source (CSV, stdin, .npy) and the policies applied to its chunks."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from typing import TYPE_CHECKING

import numpy as np

from ..errors import DataError, ParameterError
from .csv_input import open_csv
from .nan_policy import NanFilter
from .npy_input import open_npy
from .source import Samples

if TYPE_CHECKING:
    from ..codec.times import Times


def open_samples(path: str, columns: list[str] | None = None,
                 time_column: str | None = None, *,
                 na_values: list[str] | None = None,
                 time_format: str | None = None) -> Samples:
    """CSV (or ``-`` for stdin; compressed or not), ``.npy`` or Parquet, chosen by the file
    name.

    ``.npy`` columns are named ``col0, col1, ...``; ``columns`` picks some, ``time_column``
    makes one the sample times (the blocks then end with it). ``na_values``: texts (CSV) or
    numbers (every format) that mean a missing value, read as NaN (``--na-values``);
    ``time_format``: the layout of text times that are not ISO 8601 (CSV), and
    ``time_column`` may name two columns, ``"Date,Time"`` (:func:`~.csv_input.open_csv`).
    """
    if path != "-" and path.lower().endswith((".parquet", ".pq")):
        from .parquet_input import open_parquet

        samples = open_parquet(path, columns, time_column)
        samples.time_format = time_format
        return _missing(samples, na_values)
    if path == "-" or not path.lower().endswith(".npy"):
        return open_csv(path, columns, time_column=time_column, na_values=na_values,
                        time_format=time_format)
    named = [*(columns or []), *([time_column] if time_column else [])]
    if any(not re.fullmatch(r"col\d+", c) for c in named):
        raise ParameterError("--column/--time-column on an .npy input take col0, col1, ...")
    samples = open_npy(path)
    width = len(samples.columns)
    data = [c for c in (columns or samples.columns) if c != time_column]
    for c in named:
        if int(c[3:]) >= width:
            raise DataError(f"{path}: has {width} column(s), no {c}")
    if time_column and not data:
        raise DataError(f"{path}: no column left besides the time column")
    if columns or time_column:
        idx = [int(c[3:]) for c in data] + ([int(time_column[3:])] if time_column else [])
        samples.map_blocks(lambda block: block[:, idx])
        samples.columns = data
        samples.time_column = time_column
    return _missing(samples, na_values)


def _missing(samples: Samples, na_values: list[str] | None) -> Samples:
    """``samples`` with values equal to a numeric ``na_values`` entry read as NaN (a CSV
    reader does this itself, for text too)."""
    if not na_values:
        return samples
    sentinels = []
    for text in na_values:
        try:
            sentinels.append(float(text))
        except ValueError:
            pass  # a text sentinel cannot occur in a numeric column
    if not sentinels:
        return samples
    width = len(samples.columns)
    inner = samples.source

    def blocks():
        for first, block, *rest in inner:
            values = block[:, :width]
            values[np.isin(values, sentinels)] = np.nan
            yield (first, block, *rest)

    samples.source = blocks()
    return samples


def clean_chunks(samples: Samples, nan: str = "error") -> Iterator[np.ndarray]:
    """The chunks of ``samples`` with the NaN policy applied (:mod:`.nan_policy`); with a
    time column, the times stay the last column of every block (as numbers: seconds since
    1970 for ISO times; their exact form: :func:`timed_chunks`)."""
    for block, _ in timed_chunks(samples, nan):
        yield block


def timed_chunks(samples: Samples, nan: str = "error") -> Iterator[tuple[np.ndarray, Times |
                                                                         None]]:
    """(block, times) of ``samples`` with the NaN policy applied: the block as
    :func:`clean_chunks` gives it, and the exact times of its rows (None without a time
    column). The source is closed when the caller stops early (its file too)."""
    nan_filter = NanFilter(nan, samples.columns)
    timed = samples.time_column is not None
    source = samples.chunks()
    with contextlib.closing(source) if hasattr(source, "close") else contextlib.nullcontext():
        yield from _filtered(samples, source, nan_filter, timed)


def _filtered(samples: Samples, source, nan_filter: NanFilter, timed: bool):
    from ..codec.times import Times

    for first, full, *exact in source:
        if len(full) == 0:
            continue
        values = full[:, :-1] if timed else full
        values, rows, error = nan_filter.apply(values, lambda i, f=first: samples.where(f + i))
        if error is not None and not len(values):
            raise error
        if len(values):
            if not timed:
                yield values, None
            else:
                times = exact[0] if exact else Times.numbers(full[:, -1])
                if samples.increasing:
                    _check_increasing(times, samples, first)
                times = times[rows]
                yield np.column_stack([values, times.seconds]), times
        if error is not None:
            raise error


def _check_increasing(times: Times, samples: Samples, first: int) -> None:
    """Times for HiPPO coefficients must increase strictly (each step has a length): the
    error names the place and both times as written. ``samples.last_time`` carries the last
    time from chunk to chunk."""
    if not len(times):
        return
    prev = samples.last_time
    steps = np.diff(times.seconds, prepend=-np.inf if prev is None else prev[0])
    if np.any(steps <= 0):
        i = int(np.argmax(steps <= 0))
        texts = times[max(i - 1, 0):i + 1].text()
        before = prev[1] if i == 0 else texts[0]
        what = "repeats" if steps[i] == 0 else "goes back from"
        raise DataError(f"{samples.where(first + i)}: time {texts[-1]!r} {what} {before!r} "
                        f"({samples.where(first + i - 1).rsplit(', ', 1)[-1]}); HiPPO "
                        "coefficients need increasing times: sort the data by time, or "
                        "compress with --max-error (a .hippo file keeps times in any order)")
    samples.last_time = (float(times.seconds[-1]), times[-1:].text()[0])


def prefetch(chunks: Iterator, depth: int = 2) -> Iterator:
    """Produce ``chunks`` in a background thread, at most ``depth`` ahead (bounded memory).

    Why: parsing (pandas' C tokenizer) and encoding (numba kernels, nogil) release the GIL,
    so on two cores reading chunk i + 1 overlaps encoding chunk i. Exceptions are re-raised
    in the consumer, in order.
    """
    import queue
    import threading

    slots: queue.Queue = queue.Queue(maxsize=depth)
    done = object()
    stop = threading.Event()

    def produce() -> None:
        try:
            for item in chunks:
                while not stop.is_set():
                    try:
                        slots.put((item, None), timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            slots.put((done, None))
        except BaseException as err:  # handed to the consumer
            slots.put((done, err))

    worker = threading.Thread(target=produce, name="hippo-reader", daemon=True)
    worker.start()
    try:
        while True:
            item, err = slots.get()
            if item is done:
                if err is not None:
                    raise err
                return
            yield item
    finally:
        stop.set()
