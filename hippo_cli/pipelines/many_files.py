"""``hippo compress`` over many series: a glob or folder of files (each its own series), or
a long-format table with ``--id-column``; on this machine or on a Dask cluster."""

from __future__ import annotations

import glob
import os
from pathlib import Path
from typing import Any

from ..atomic import note_read
from ..engine.emission import check_every
from ..errors import DataError, ParameterError
from ..formats.manifest import write_manifest
from .many import compress_long, done_record, encode_series, read_long_csv


def _files(pattern: str) -> list[Path]:
    p = Path(pattern)
    found = sorted(p.glob("*.csv")) + sorted(p.glob("*.npy")) if p.is_dir() else sorted(
        Path(f) for f in glob.glob(pattern))
    found = [f for f in found if f.is_file() and not f.name.endswith(".coeffs.npy")]
    if not found:
        raise DataError(f"{pattern}: no input files")
    for f in found:  # every input is protected before the first output is written
        note_read(f)
    return found


def compress_many(input: str, output: str | None, params: dict, *, id_column: str | None,
                  columns: list[str] | None, time_column: str | None, every: int, dtype: str,
                  engine: str, scheduler: str | None, extra: tuple) -> dict:
    """Compress many series into the folder ``output``; returns the manifest."""
    if any(v is not None for v in extra):
        raise ParameterError("--tolerance, --reset-every and --quantize work on one series "
                             "at a time, not with --id-column or many inputs")
    check_every(every)  # before any file is read or written
    if not output or output == "-":
        raise ParameterError("many series need -o FOLDER (one .npy per series + manifest)")
    out = Path(output)
    if out.exists() and not out.is_dir():
        raise DataError(f"{out}: exists and is not a folder")
    if not out.parent.is_dir():
        raise DataError(f"{out.parent}: no such folder")
    out.mkdir(exist_ok=True)
    if engine == "dask":
        return _dask(input, out, params, id_column, columns, time_column, every, dtype,
                     scheduler)
    if id_column is not None:
        if input == "-" or input.lower().endswith(".npy"):
            raise ParameterError("--id-column reads a CSV file")
        names, chunks = read_long_csv(input, id_column, columns, time_column)
        records = compress_long(chunks, out, params, every=every, dtype=dtype, columns=names)
        return write_manifest(out, records, params=params, every=every, id_column=id_column,
                              value_columns=names, time_column=time_column)
    return _each_file(input, out, params, columns, time_column, every, dtype)


def _each_file(pattern: str, out: Path, params: dict, columns: list[str] | None,
               time_column: str | None, every: int, dtype: str) -> dict:
    """Every file its own series, through the single-series pipeline."""
    import numpy as np

    from ..formats.samples import clean_chunks, open_samples

    records = []
    for path in _files(pattern):
        sid = path.stem
        rec = done_record(out, sid)
        if rec is None:
            samples = open_samples(str(path), columns, time_column)
            state = None
            for block in clean_chunks(samples):
                data, t = (block[:, :-1], block[:, -1]) if time_column else (block, None)
                state = encode_series(data, t, sid, out, params, every, dtype, samples.columns,
                                      state=state, last=False)["state"]
            C = len(samples.columns)
            rec = encode_series(np.empty((0, C)), None, sid, out, params, every, dtype,
                                samples.columns, state=state, last=True)
            rec["input"] = str(path)
        records.append(rec)
    return write_manifest(out, records, params=params, every=every, id_column=None,
                          value_columns=columns, time_column=time_column)


def _dask(input: str, out: Path, params: dict, id_column: str | None,
          columns: list[str] | None, time_column: str | None, every: int, dtype: str,
          scheduler: str | None) -> dict:
    from ..formats.csv_input import numeric_columns
    from .dask_engine import compress_dataframe, require_dask

    require_dask()
    import logging

    import dask.dataframe as dd
    from distributed import Client, LocalCluster

    # the CLI reports errors itself; Dask's shuffle notices would only clutter stderr
    logging.getLogger("distributed").setLevel(logging.ERROR)

    pattern = str(Path(input) / "*.csv") if Path(input).is_dir() else input
    if id_column is None:  # many files: each file is a series, named by its path
        ddf = dd.read_csv(pattern, include_path_column="__path__")
        id_column = "__path__"
    else:
        ddf = dd.read_csv(pattern)
    if id_column not in ddf.columns:
        raise DataError(f"{input}: no column {id_column!r}")
    values = columns or numeric_columns(ddf.head(200), exclude=[id_column, time_column])
    if not values:
        raise DataError(f"{input}: no numeric value column")
    kw: dict[str, Any] = dict(params)
    if scheduler:
        client = Client(scheduler)
        cluster = None
    else:
        cluster = LocalCluster(n_workers=os.cpu_count() or 1, threads_per_worker=1,
                               processes=True, dashboard_address=":0")
        client = Client(cluster)
    try:
        return compress_dataframe(ddf, id_column, values, out, time_column=time_column,
                                  every=every, dtype=dtype, client=client, **kw)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
