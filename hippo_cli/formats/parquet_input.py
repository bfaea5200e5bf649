"""Parquet input (the ``parquet`` extra: pyarrow), read batch by batch with the same column,
time and NaN rules as CSV."""

from __future__ import annotations

import os
from collections.abc import Iterator

import numpy as np

from ..atomic import open_input
from ..codec.times import format_iso
from ..errors import DataError, ParameterError
from .csv_input import choose_columns, parse_times
from .source import CHUNK_VALUES, Samples
from .timestamps import times_of_datetimes


def open_parquet(path: str, columns: list[str] | None = None,
                 time_column: str | None = None) -> Samples:
    """Open a Parquet file as chunked samples (rows numbered from 0 in messages)."""
    fh = open_input(path, "Parquet")  # one open: a replace meanwhile cannot mix two files
    try:
        pf = parquet_file(fh, path)
        names = list(pf.schema_arrow.names)
        head = next(pf.iter_batches(batch_size=200), None)
        if head is None:
            raise DataError(f"{path}: no data (empty Parquet file)")
        sniff = head.to_pandas()
        chosen, notes = choose_columns(path, names, sniff, columns, time_column)
        samples = Samples(path, chosen, "parquet", os.fstat(fh.fileno()).st_size, notes=notes,
                          time_column=time_column)
        if time_column is not None:
            first = sniff[time_column].dropna()
            if len(first) and first.dtype.kind == "M":  # as the frames will write it
                samples.time_text = format_iso(times_of_datetimes(first.iloc[:1]))[0]
            elif len(first):
                samples.time_text = str(first.iloc[0])
        wanted = chosen + ([time_column] if time_column else [])
        rows = max(1, CHUNK_VALUES // len(wanted))
        samples.source = _chunks(pf, fh, samples, wanted, rows)
    except BaseException:
        fh.close()
        raise
    return samples


def parquet_file(fh, path: str):
    """A ``pyarrow.parquet.ParquetFile`` of the open file ``fh`` (ParameterError without
    pyarrow, DataError for a damaged or foreign file; ``fh`` is left open either way)."""
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise ParameterError("reading Parquet needs pyarrow: pip install 'hippo-cli[parquet]'") \
            from None
    try:
        return pq.ParquetFile(fh)
    except Exception as err:  # a damaged or foreign file: one line
        raise DataError(f"{path}: not a readable Parquet file ({type(err).__name__})") from None


def _chunks(pf, fh, samples: Samples, wanted: list[str], rows: int) -> Iterator:
    with fh:  # closed when the last batch is read, or when the reader stops early
        yield from _batches(pf, samples, wanted, rows)


def _batches(pf, samples: Samples, wanted: list[str], rows: int) -> Iterator:

    start = 0
    for batch in pf.iter_batches(batch_size=rows, columns=wanted):
        frame = batch.to_pandas()
        block = np.empty((len(frame), len(wanted)))
        times = None
        if samples.time_column:
            stamps = frame[samples.time_column]
            if stamps.dtype.kind == "M":  # a timestamp column: ISO times in its zone
                if stamps.isna().any():
                    bad = int(np.argmax(stamps.isna().to_numpy()))
                    raise DataError(f"{samples.where(start + bad)}: no time")
                times = times_of_datetimes(stamps)
            else:
                times = parse_times(stamps, samples, start)
            block[:, -1] = times.seconds
        for j, col in enumerate(samples.columns):
            block[:, j] = column_floats(frame[col], col, samples, start)
        done = (start + len(frame)) / max(pf.metadata.num_rows, 1)
        samples.bytes_read = int(samples.size_bytes * min(1.0, done))  # for the progress bar
        yield start, block, times
        start += len(frame)


def column_floats(series, name: str, samples: Samples, row: int) -> np.ndarray:
    """A Parquet column (pandas Series, its first row ``row`` of the file) as float64 (L,):
    numbers as they are, integers exact or refused (``samples.exact_integers``: with a
    bound, an integer float64 cannot hold is an error naming its row), anything else
    NaN where it is not a number (the NaN policy or the caller decides)."""
    import pandas as pd

    if series.dtype.kind not in "biuf":
        series = pd.to_numeric(series, errors="coerce")
    if series.dtype.kind in "iu":
        return samples.floats(series.to_numpy(), row, [name])
    return series.to_numpy(dtype=np.float64, na_value=np.nan)
