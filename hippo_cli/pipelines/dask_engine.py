"""Many series on a Dask cluster: one encoder per series id, one output file per series.

Long-format input (an id column, value columns, optionally a time column): each id is its own
series, in the order its rows appear. Series are independent, so they are distributed by
series, with the machinery of :mod:`.dask_parts` (the CLI's engine): each partition of the
dataframe is computed once and grouped by id where it is; a series inside one partition is
encoded and written by the worker holding it; a series spread over partitions is joined in
partition order by one task; a series with more rows than ``large_rows`` is never brought
together: a chain of tasks walks its partitions in order, each continuing the encoder from
the state the previous one returned.

Every finished series is a complete file pair (atomic rename), so a crashed run resumes by
skipping the series whose files are already there. ``manifest.json`` lists ids, rows, samples
and files. Requires the ``dask`` extra (``pip install 'hippo-cli[dask]'``).
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

from ..codec.container import HippoHeader, check_header
from ..engine import HiPPO
from ..engine.emission import check_every
from ..errors import DataError, ParameterError
from ..formats.manifest import write_manifest
from .dask_parts import Executor, encode_parts, group_frame, summary
from .many import SeriesMode, prepare_folder


def require_dask() -> None:
    """Fail with an install hint when Dask is missing."""
    try:
        import dask.dataframe  # noqa: F401
        import distributed  # noqa: F401
    except ImportError:
        raise ParameterError("the dask engine needs Dask: pip install 'hippo-cli[dask]'") from None


def compress_dataframe(
    ddf: Any,
    id_column: str,
    value_columns: list[str],
    out_dir: str | Path,
    *,
    time_column: str | None = None,
    every: int = 1,
    dtype: str = "float64",
    quantize: int | None = None,
    large_rows: int | None = None,
    client: Any = None,
    max_error: float | None = None,
    overwrite: bool = False,
    source: dict | None = None,
    **encoder: Any,
) -> dict:
    """Compress every series of a Dask dataframe; returns (and writes) the manifest.

    Parameters
    ----------
    ddf : dask.dataframe.DataFrame in long format.
    id_column, value_columns, time_column : column names (times: numbers, strictly
        increasing within a series).
    out_dir : folder for one file per series (``<id>.npy`` + sidecar, or ``<id>.hippo``)
        and ``manifest.json``.
    every, dtype, quantize : how coefficient rows are written, as for one series
        (``quantize``: BITS-bit integers per row); encoder parameters may include
        ``reset_every`` (block mode).
    large_rows : series with more rows are walked partition by partition with the state
        carried along instead of being gathered (default: the largest partition's length).
    client : a ``distributed.Client`` (default: the current one or Dask's default scheduler).
    max_error : write ``.hippo`` files in which every sample is within this absolute bound
        (the encoder parameters are then not used).
    overwrite : replace the series of an earlier run with other settings or input.
    source : what identifies the input for a resume (default: the columns and partitions;
        the CLI gives the files' paths, sizes and times).
    encoder : HiPPO parameters (measure, N, theta, dt, method, init, ...).
    """
    require_dask()

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    if max_error is None:
        check_every(every)
        mode = SeriesMode(params=HiPPO(**encoder).params(), every=every, dtype=dtype,
                          quantize=quantize,
                          time=(time_column, None) if time_column else None)
    else:  # validated before any work, like the encoder's parameters
        check_header(HippoHeader(list(value_columns), [max_error] * len(value_columns)))
        if max_error == 0:
            raise ParameterError("--max-error must be > 0")
        mode = SeriesMode(max_error=float(max_error),
                          time=(time_column, None) if time_column else None)
    source = source or {"dataframe": {"id_column": id_column,
                                      "value_columns": list(value_columns),
                                      "npartitions": int(ddf.npartitions)}}
    resume = prepare_folder(out, mode, source, overwrite, id_column=id_column,
                            value_columns=list(value_columns), time_column=time_column)
    cols = [id_column, *value_columns, *([time_column] if time_column else [])]
    frames = ddf[cols].to_delayed()
    if client is None:
        with contextlib.suppress(ImportError, ValueError):
            from distributed import get_client

            client = get_client()  # the current client, as Dask itself would use
    executor = Executor(client)
    try:
        # each partition is computed once and grouped where it is; only ids and counts
        # come back here, then each series is encoded on the worker that holds it
        loaded = (client.compute(frames) if client is not None else
                  [executor.submit(_compute_here, frame) for frame in frames])
        parts = [executor.submit(group_frame, frame, id_column, list(value_columns),
                                 time_column) for frame in loaded]
        summaries = executor.gather([executor.submit(summary, part) for part in parts])
        for s in summaries:
            if "error" in s:
                raise DataError(s["error"])
        threshold = int(large_rows if large_rows is not None else
                        max([s["lines"] for s in summaries] + [1]))
        results, _, _ = encode_parts(parts, summaries, out, mode, list(value_columns),
                                     resume=resume, executor=executor, large_rows=threshold)
    finally:
        executor.close()
    return write_manifest(out, results, settings=mode.settings(), source=source,
                          complete=True, id_column=id_column, value_columns=value_columns,
                          time_column=time_column)


def _compute_here(frame: Any) -> Any:
    """A partition computed in this thread (no client: the threads are the executor's)."""
    return frame.compute(scheduler="sync")


