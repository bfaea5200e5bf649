"""Many series, one file each: the shared pieces of the long-format engines.

``hippo compress --id-column`` (local engine, here) and the Dask engine
(:mod:`hippo_cli.distributed`) encode each series with the same kernel and the same writer,
so their outputs are equal bit for bit. Each finished series is an atomic ``.npy`` + sidecar
pair; ``manifest.json`` lists them; a rerun skips series whose files are complete.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from ..atomic import note_read
from ..engine import HiPPO
from ..errors import DataError
from ..formats.coefficients import CoefficientWriter, coefficient_metadata, load_coefficients
from ..formats.csv_input import numeric_columns
from ..formats.manifest import series_file
from ..formats.timestamps import to_seconds
from .encode import RowEncoder


def done_record(out_dir: Path, sid: Any) -> dict | None:
    """The manifest record of a series already written (and readable), else None."""
    path = series_file(out_dir, sid)
    if not path.exists() or not Path(str(path) + ".json").exists():
        return None
    try:
        cf = load_coefficients(str(path))
    except DataError:
        return None
    return {"id": str(sid), "file": path.name, "rows": cf.meta["rows"],
            "samples": cf.meta["samples"]}


def encode_series(values: np.ndarray, times: np.ndarray | None, sid: Any, out_dir: Path,
                  params: dict, every: int, dtype: str, columns: list[str],
                  state: dict | None = None, last: bool = True) -> dict:
    """Encode one series (or one piece of it, continuing ``state``) and, when ``last``,
    write its file. Returns a record; for a piece that is not the last, the record carries
    the encoder's progress and the rows so far (``state``)."""
    enc = _template(json.dumps(params, sort_keys=True)).clone()
    encoder = RowEncoder(enc, every, None if state is None else state["progress"])
    rows: list[np.ndarray] = [] if state is None else list(state["rows"])
    if len(values) and times is None and enc.timed:
        raise DataError(f"series {sid!r}: times missing")
    if len(values):
        rows.extend(encoder.feed(values, times).coeffs)
    if not last:
        return {"state": {"progress": encoder.progress(), "rows": rows}}
    if enc.steps == 0:
        raise DataError(f"series {sid!r}: no samples")
    rows.extend(encoder.finish().coeffs)
    C = values.shape[1]
    path = series_file(out_dir, sid)
    row_shape = (enc.N,) if C == 1 else (C, enc.N)
    with CoefficientWriter(path, row_shape, dtype) as writer:
        writer.append(np.asarray(rows).reshape(len(rows), *row_shape))
        timing = ({"time_column": "time", "clock": enc.snapshot().clock,
                   "row_times": encoder.row_times} if enc.timed else None)
        writer.commit(coefficient_metadata(
            enc.params(), every=every, samples=enc.steps, rows=writer.rows, columns=columns,
            dtype=dtype, input_name=f"series {sid}", input_bytes=None, nan="error",
            timing=timing))
    return {"id": str(sid), "file": path.name, "rows": writer.rows, "samples": enc.steps}


@functools.lru_cache(maxsize=8)
def _template(params_json: str) -> HiPPO:
    """One encoder per parameter set: its discretisation (solve/expm, spectral check and any
    warning) is done once, not once per series piece; each piece encodes with a clone."""
    return HiPPO(**json.loads(params_json))


def compress_long(
    chunks: Iterator[tuple[np.ndarray, np.ndarray, np.ndarray | None]],
    out_dir: Path,
    params: dict,
    *,
    every: int,
    dtype: str,
    columns: list[str],
) -> list[dict]:
    """Local engine: ``chunks`` yield (ids (L,), values (L, C), times (L,) or None) in stream
    order; every id keeps its own encoder state between chunks. Series already complete in
    ``out_dir`` are skipped (resume). Memory: one state and the emitted rows per series."""
    states: dict[Any, dict | None] = {}
    skipped: dict[Any, dict] = {}
    import pandas as pd

    for ids, values, times in chunks:
        codes, uniques = pd.factorize(ids)  # integer codes: cheap to sort, unlike strings
        order = np.argsort(codes, kind="stable")  # group each id's rows, keeping their order
        sorted_codes = codes[order]
        starts = np.flatnonzero(np.r_[True, sorted_codes[1:] != sorted_codes[:-1]])
        for lo, hi in zip(starts, np.r_[starts[1:], len(ids)]):
            sid = uniques[sorted_codes[lo]]
            if sid in skipped:
                continue
            if sid not in states:
                rec = done_record(out_dir, sid)
                if rec is not None:
                    skipped[sid] = rec
                    continue
                states[sid] = None
            idx = order[lo:hi]
            piece = encode_series(values[idx], None if times is None else times[idx], sid,
                                  out_dir, params, every, dtype, columns, state=states[sid],
                                  last=False)
            states[sid] = piece["state"]
    records = list(skipped.values())
    for sid, state in states.items():
        C = len(columns)
        records.append(encode_series(np.empty((0, C)), None, sid, out_dir, params, every,
                                     dtype, columns, state=state, last=True))
    return records


def read_long_csv(path: str, id_column: str, value_columns: list[str] | None,
                  time_column: str | None, chunk_rows: int = 1 << 18):
    """(value column names, iterator of (ids, values, times)) of a long-format CSV, read in
    chunks. Values must be numbers (clean the data first); times numbers or ISO stamps."""
    import pandas as pd

    note_read(path)
    head = pd.read_csv(path, nrows=200)
    for col in [id_column, *([time_column] if time_column else []), *(value_columns or [])]:
        if col not in head.columns:
            raise DataError(f"{path}: no column {col!r} (columns: {', '.join(head.columns)})")
    if not value_columns:
        value_columns = numeric_columns(head, exclude=[id_column, time_column])
        if not value_columns:
            raise DataError(f"{path}: no numeric value column")

    def chunks():
        usecols = [id_column, *value_columns, *([time_column] if time_column else [])]
        line = 2
        for frame in pd.read_csv(path, usecols=usecols, chunksize=chunk_rows):
            values = frame[value_columns].apply(pd.to_numeric, errors="coerce").to_numpy(float)
            bad = ~np.isfinite(values).all(axis=1)
            if bad.any():
                raise DataError(f"{path}, line {line + int(np.argmax(bad))}: a value is empty, "
                                "NaN, inf or not a number")
            times = None
            if time_column:
                times = to_seconds(frame[time_column])
                if not np.all(np.isfinite(times)):
                    raise DataError(f"{path}: a time is not a number or an ISO timestamp")
            yield frame[id_column].astype(str).to_numpy(), values, times
            line += len(frame)

    return value_columns, chunks()
