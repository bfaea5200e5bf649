"""``hippo compress`` over many series: a glob or folder of files (each its own series), or
a long-format table with ``--id-column``; on this machine or on a Dask cluster."""

from __future__ import annotations

import glob
import os
from collections.abc import Callable
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
from .many import mode_with_time as _with_time


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
                  scheduler: str | None, overwrite: bool = False,
                  partition_size: str | int | None = None,
                  say: Callable[[str], None] | None = None, timings: dict | None = None
                  ) -> dict:
    """Compress many series into the folder ``output``, one file per series (coefficients
    or ``.hippo``, as ``mode`` says); returns the manifest. Dask engine: ``scheduler`` is an
    address, ``threads`` (this process) or None (a local cluster); ``partition_size`` the
    bytes of a long CSV per partition; ``say`` takes the progress and dashboard lines;
    ``timings`` (a dict) gets where a Dask run's time went (benchmarks)."""
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
    if partition_size is not None and engine != "dask":
        raise ParameterError("--partition-size applies to --engine dask")
    if id_column is not None and (input == "-" or input.lower().endswith(".npy")):
        raise ParameterError("--id-column reads a CSV file")
    if engine == "dask":
        from .dask_engine import require_dask

        require_dask()
        out = out.resolve()  # on the client: a worker may run in another folder
        if id_column is not None and not _is_one_csv(input):
            out.mkdir(exist_ok=True)  # a glob of long tables: the dataframe engine
            return _dask(input, out, mode, id_column, columns, time_column, scheduler,
                         overwrite)
        return _dask_parts(input, out, mode, id_column, columns, time_column, scheduler,
                           overwrite, partition_size, say, timings)
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


def _is_one_csv(input: str) -> bool:
    return (input != "-" and not any(ch in input for ch in "*?[") and Path(input).is_file()
            and not input.lower().endswith((".npy", ".parquet", ".pq")))


def _dask_parts(input: str, out: Path, mode: SeriesMode, id_column: str | None,
                columns: list[str] | None, time_column: str | None, scheduler: str | None,
                overwrite: bool, partition_size: str | int | None,
                say: Callable[[str], None] | None, timings: dict | None = None) -> dict:
    """The Dask engine that reads its input once (:mod:`.dask_parts`): a long CSV split into
    byte ranges, or one task per file of a glob; the files equal the local engine's."""
    from .dask_parts import (
        DEFAULT_PARTITION,
        byte_ranges,
        parse_size,
        run_files,
        run_long_csv,
        splittable,
    )

    size = parse_size(partition_size) if partition_size is not None else None
    if id_column is not None:
        names, first_time, (sep, decimal, head) = read_long_csv(
            input, id_column, columns, time_column, exact_integers=mode.max_error is not None,
            head_only=True)
        mode = _with_time(mode, time_column, first_time)
        source = {"input": str(Path(input).resolve()), "id_column": id_column,
                  "files": _fingerprint([Path(input)])}
        fields = {"id_column": id_column, "value_columns": names, "time_column": time_column}
    else:
        files = _files(input)
        source = {"inputs": input, "files": _fingerprint([p for _, p in files])}
        fields = {"id_column": None, "value_columns": columns, "time_column": time_column}
    out.mkdir(exist_ok=True)
    resume = prepare_folder(out, mode, source, overwrite, **fields)
    with _executor(scheduler, say) as executor:
        report = _progress(say, "series tasks") if say is not None else None
        try:
            if id_column is not None:
                if size is None:  # 64MB, or less: at least 4 ranges a worker (balance)
                    size = max(min(DEFAULT_PARTITION,
                                   os.path.getsize(input) // (4 * executor.workers) + 1),
                               1 << 20)
                if not splittable(input, head):  # read as the local engine reads it
                    records = _whole_compressed(input, out, mode, names, id_column,
                                                time_column, resume, executor)
                else:
                    header, ranges = byte_ranges(input, size)
                    records = run_long_csv(input, out, mode, id_column=id_column,
                                           columns=names, time_column=time_column,
                                           header=header, ranges=ranges,
                                           dialect=(sep, decimal), resume=resume,
                                           executor=executor, report=report,
                                           timings=timings)
            else:
                records = run_files(files, out, mode, columns=columns,
                                    time_column=time_column, resume=resume,
                                    executor=executor, report=report)
        finally:
            if report is not None:
                report(-1, -1)
    return write_manifest(out, records, settings=mode.settings(), source=source,
                          complete=True, **fields)


def _whole_compressed(input: str, out: Path, mode: SeriesMode, names: list[str],
                      id_column: str, time_column: str | None, resume: bool,
                      executor: Any) -> list[dict]:
    """A compressed long CSV cannot be cut by bytes: it is read here, in chunks, and each
    series is encoded by a task (the pieces go to the workers)."""
    from . import many
    from .dask_parts import encode_joined_in, group_rows, take

    _, _, chunks = read_long_csv(input, id_column, names, time_column,
                                 exact_integers=mode.max_error is not None)
    parts = []
    for i, chunk in enumerate(chunks):
        part = group_rows(*chunk)
        parts.append(take(part, part["order"], i * many.CHUNK_ROWS))
    order: dict = {}
    for pieces in parts:
        order.update(dict.fromkeys(pieces))
    records, todo = [], []
    for sid in order:
        rec = done_record(out, str(sid), mode) if resume else None
        (records.append(rec) if rec is not None else todo.append(sid))
    tasks = [executor.submit(encode_joined_in, many.CHUNK_ROWS, [sid], os.path.abspath(out),
                             mode, names, *[{sid: p[sid]} for p in parts if sid in p])
             for sid in todo]
    for fut in executor.as_completed(tasks):
        records.extend(fut.result()["records"])
    return records


class _executor:
    """``with _executor(scheduler, say) as ex``: a thread pool (``threads``), a client of a
    running scheduler (an address) or of a local cluster made for this run (None) - the
    dashboard's address said on stderr."""

    def __init__(self, scheduler: str | None, say: Callable[[str], None] | None) -> None:
        self.scheduler, self.say = scheduler, say
        self.client = self.cluster = None

    def __enter__(self):
        from .dask_parts import Executor

        if self.scheduler in ("threads", "threading"):
            self.executor = Executor(threads=os.cpu_count() or 1)
            return self.executor
        import logging

        from distributed import Client, LocalCluster

        # the CLI reports errors itself; Dask's notices would only clutter stderr
        logging.getLogger("distributed").setLevel(logging.ERROR)
        if self.scheduler:
            self.client = Client(self.scheduler)
        else:
            self.cluster = LocalCluster(n_workers=os.cpu_count() or 1, threads_per_worker=1,
                                        processes=True, dashboard_address=":0")
            self.client = Client(self.cluster)
        if self.say is not None and self.client.dashboard_link:
            self.say(f"dask dashboard: {self.client.dashboard_link}")
        self.executor = Executor(self.client)
        return self.executor

    def __exit__(self, *exc: object) -> None:
        self.executor.close()
        if self.client is not None:
            self.client.close()
        if self.cluster is not None:
            self.cluster.close()


def _progress(say: Callable[[str], None], what: str) -> Callable[[int, int], None]:
    """``report(done, total)``: a bar on stderr when it is a terminal, else a line at each
    tenth of the way; ``report(-1, -1)`` ends it."""
    import sys
    import time

    state: dict[str, Any] = {"bar": None, "said": 0, "start": time.monotonic()}

    def report(done: int, total: int) -> None:
        bar = state["bar"]
        if done < 0:
            if bar is not None:
                bar[0].stop()
            return
        if sys.stderr.isatty():
            if bar is None:
                from rich.console import Console
                from rich.progress import Progress

                progress = Progress(console=Console(stderr=True), redirect_stdout=False,
                                    redirect_stderr=False, transient=True)
                progress.start()
                state["bar"] = bar = (progress, progress.add_task(f"dask: {what}", total=total))
            bar[0].update(bar[1], completed=done, total=total)
            return
        tenth = done * 10 // max(total, 1)
        if tenth > state["said"]:
            state["said"] = tenth
            say(f"dask: {done}/{total} {what} done "
                f"({time.monotonic() - state['start']:.1f} s)")

    return report
