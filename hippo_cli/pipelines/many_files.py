"""``hippo compress`` over many series: a glob or folder of files (each its own series), or
a long-format table with ``--id-column``; on this machine or on a Dask cluster."""

from __future__ import annotations

import glob
import os
from pathlib import Path
from typing import Any

from ..atomic import is_object_url, note_read
from ..engine.emission import check_every
from ..errors import DataError, ParameterError
from ..formats.manifest import write_manifest
from .many import (
    SeriesMode,
    compress_long,
    done_record,
    encode_series,
    prepare_folder,
    read_long_csv,
    read_long_parquet,
)


def _is_parquet(path: str) -> bool:
    """Whether an input is Parquet: by its name, as one series is told
    (:func:`~hippo_cli.formats.samples.open_samples`)."""
    return path.lower().endswith((".parquet", ".pq"))


def _files(pattern: str) -> list[tuple[str, Path]]:
    """(series id, path) of every input file of a folder or a glob. The id is the path
    relative to the folder (or to the glob's fixed prefix) without its suffix - with the
    suffix where two inputs would otherwise share an id - so ``day1/sensor.csv`` and
    ``day2/sensor.csv`` are two series."""
    p = Path(pattern)
    if p.is_dir():
        root = p
        found = sorted(f for f in p.rglob("*") if f.suffix.lower() in (".csv", ".npy"))
    else:
        fixed = [part for part in Path(pattern).parts if not any(ch in part for ch in "*?[")]
        prefix = Path(*Path(pattern).parts[:len(fixed)]) if fixed else Path(".")
        root = prefix if prefix.is_dir() else prefix.parent
        found = sorted(Path(f) for f in glob.glob(pattern, recursive=True))
    found = [f for f in found if f.is_file() and not f.name.endswith(".coeffs.npy")]
    if not found:
        raise DataError(f"{pattern}: no input files")
    for f in found:  # every input is protected before the first output is written
        note_read(f)
    rel = [f.relative_to(root).as_posix() if f.is_relative_to(root) else f.as_posix()
           for f in found]
    stems = [r.rsplit(".", 1)[0] for r in rel]
    ids = stems if len(set(stems)) == len(stems) else rel
    return list(zip(ids, found))


def _fingerprint(paths: list[Path]) -> list[list]:
    return [[str(p), p.stat().st_size, p.stat().st_mtime_ns] for p in paths]


def compress_many(input: str, output: str | None, mode: SeriesMode, *, id_column: str | None,
                  columns: list[str] | None, time_column: str | None, engine: str,
                  scheduler: str | None, overwrite: bool = False) -> dict:
    """Compress many series into the folder ``output``, one file per series (coefficients
    or ``.hippo``, as ``mode`` says); returns the manifest."""
    if mode.params is not None:
        check_every(mode.every)  # before any file is read or written
    if not output or output == "-":
        raise ParameterError("many series need -o FOLDER (one file per series + manifest)")
    if is_object_url(output) or is_object_url(input):  # through a local staging folder
        from ..storage import many_through_store

        if engine == "dask" and scheduler is not None:
            raise ParameterError("--scheduler with object storage: not yet (the workers "
                                 "would write on their own machines)")

        def run(local_in: str, local_out: str) -> dict:
            return compress_many(local_in, local_out, mode, id_column=id_column,
                                 columns=columns, time_column=time_column, engine=engine,
                                 scheduler=scheduler, overwrite=overwrite)

        manifest = many_through_store(run, input, output, overwrite=overwrite,
                                      single_input=id_column is not None, note=note_read)
        if not is_object_url(output):  # its manifest names the inputs' URLs, not copies
            fields = {k: v for k, v in manifest.items()
                      if k not in ("format", "format_version", "series")}
            manifest = write_manifest(Path(output), manifest["series"], **fields)
        return manifest
    out = Path(output)
    if out.exists() and not out.is_dir():
        raise DataError(f"{out}: exists and is not a folder")
    if not out.parent.is_dir():
        raise DataError(f"{out.parent}: no such folder")
    if engine == "dask":
        out.mkdir(exist_ok=True)
        return _dask(input, out, mode, id_column, columns, time_column, scheduler, overwrite)
    if id_column is not None:
        if input == "-" or input.lower().endswith(".npy"):
            raise ParameterError("--id-column reads a CSV or Parquet file")
        read_long = read_long_parquet if _is_parquet(input) else read_long_csv
        names, first_time, chunks = read_long(input, id_column, columns, time_column,
                                              exact_integers=mode.max_error is not None)
        mode = _with_time(mode, time_column, first_time)
        source = {"input": str(Path(input).resolve()), "id_column": id_column,
                  "files": _fingerprint([Path(input)])}
        out.mkdir(exist_ok=True)
        resume = prepare_folder(out, mode, source, overwrite, id_column=id_column,
                                value_columns=names, time_column=time_column)
        records = compress_long(chunks, out, mode, columns=names, resume=resume)
        return write_manifest(out, records, settings=mode.settings(), source=source,
                              complete=True, id_column=id_column, value_columns=names,
                              time_column=time_column)
    return _each_file(input, out, mode, columns, time_column, overwrite)


def _with_time(mode: SeriesMode, time_column: str | None, first_time: str | None) -> SeriesMode:
    """The mode with the time column's name and how its times are written back (an ISO
    pattern, or None for numbers)."""
    if time_column is None:
        return mode
    from dataclasses import replace

    from ..formats.timestamps import written_template

    return replace(mode, time=(time_column, written_template("csv", first_time)))


def _each_file(pattern: str, out: Path, mode: SeriesMode, columns: list[str] | None,
               time_column: str | None, overwrite: bool) -> dict:
    """Every file its own series, through the single-series pipeline."""
    import numpy as np

    from ..formats.samples import clean_chunks, open_samples

    files = _files(pattern)
    source = {"inputs": pattern, "files": _fingerprint([p for _, p in files])}
    out.mkdir(exist_ok=True)
    resume = prepare_folder(out, mode, source, overwrite, id_column=None,
                            value_columns=columns, time_column=time_column)
    records = []
    for sid, path in files:
        rec = done_record(out, sid, mode) if resume else None
        if rec is None:
            samples = open_samples(str(path), columns, time_column)
            smode = _with_time(mode, time_column, samples.time_text)
            state = None
            for block in clean_chunks(samples):
                data, t = (block[:, :-1], block[:, -1]) if time_column else (block, None)
                state = encode_series(data, t, sid, out, smode, samples.columns,
                                      state=state, last=False)["state"]
            C = len(samples.columns)
            rec = encode_series(np.empty((0, C)), None, sid, out, smode, samples.columns,
                                state=state, last=True)
        rec["input"] = str(path)
        records.append(rec)
    return write_manifest(out, records, settings=mode.settings(), source=source,
                          complete=True, id_column=None, value_columns=columns,
                          time_column=time_column)


def _dask(input: str, out: Path, mode: SeriesMode, id_column: str | None,
          columns: list[str] | None, time_column: str | None, scheduler: str | None,
          overwrite: bool) -> dict:
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
    elif _is_parquet(input):  # Parquet is binary: dd.read_csv would decode it as UTF-8 text
        ddf = dd.read_parquet(pattern)
    else:
        ddf = dd.read_csv(pattern, dtype={id_column: str}, keep_default_na=False,
                          na_values={c: ["", "NaN", "nan", "NA"] for c in columns or []})
    if id_column not in ddf.columns:
        raise DataError(f"{input}: no column {id_column!r}")
    values = columns or numeric_columns(ddf.head(200), exclude=[id_column, time_column])
    if not values:
        raise DataError(f"{input}: no numeric value column")
    kw: dict[str, Any] = dict(mode.params or {})
    if scheduler:
        client = Client(scheduler)
        cluster = None
    else:
        cluster = LocalCluster(n_workers=os.cpu_count() or 1, threads_per_worker=1,
                               processes=True, dashboard_address=":0")
        client = Client(cluster)
    try:
        files = ([Path(input)] if not any(ch in input for ch in "*?[") and Path(input).is_file()
                 else [p for _, p in _files(input)])
        source = {"inputs": input, "files": _fingerprint(files), "id_column": id_column}
        return compress_dataframe(ddf, id_column, values, out, time_column=time_column,
                                  every=mode.every, dtype=mode.dtype,
                                  quantize=mode.quantize, client=client,
                                  max_error=mode.max_error, overwrite=overwrite,
                                  source=source, **kw)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
