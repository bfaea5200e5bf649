"""Opening any sample source (CSV, stdin, .npy) and the policies applied to its chunks."""

from __future__ import annotations

import re
from collections.abc import Iterator

import numpy as np

from ..errors import DataError, ParameterError
from .csv_input import open_csv
from .nan_policy import NanFilter
from .npy_input import open_npy
from .source import Samples


def open_samples(path: str, columns: list[str] | None = None,
                 time_column: str | None = None) -> Samples:
    """CSV (or ``-`` for stdin), ``.npy`` or Parquet, chosen by the file name.

    ``.npy`` columns are named ``col0, col1, ...``; ``columns`` picks some, ``time_column``
    makes one the sample times (the blocks then end with it).
    """
    if path != "-" and path.lower().endswith((".parquet", ".pq")):
        from .parquet_input import open_parquet

        return open_parquet(path, columns, time_column)
    if path == "-" or not path.lower().endswith(".npy"):
        return open_csv(path, columns, time_column=time_column)
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
    return samples


def clean_chunks(samples: Samples, nan: str = "error") -> Iterator[np.ndarray]:
    """The chunks of ``samples`` with the NaN policy applied (:mod:`.nan_policy`); with a
    time column, the times stay the last column of every block."""
    nan_filter = NanFilter(nan, samples.columns)
    timed = samples.time_column is not None
    for first, full in samples.chunks():
        if len(full) == 0:
            continue
        values, times = (full[:, :-1], full[:, -1:]) if timed else (full, None)
        values, times, error = nan_filter.apply(values, times,
                                                lambda i, f=first: samples.where(f + i))
        if error is not None:
            raise error
        if len(values):
            yield np.column_stack([values, times]) if timed else values


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
