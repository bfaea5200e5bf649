"""Many series on a Dask cluster: one encoder per series id, one output file per series.

Long-format input (an id column, value columns, optionally a time column): each id is its own
series, in the order its rows appear (or by time). Series are independent, so they are
distributed by series:

* ordinary series go through ``groupby(id).apply``: Dask brings each series' rows together in
  one task, which encodes them with the same kernel as ``hippo compress`` and writes
  ``<id>.npy`` + sidecar atomically;
* a series with more rows than ``large_rows`` is never brought together: a chain of tasks walks
  the dataframe's partitions in order, each continuing the encoder from the state the previous
  one returned (bounded memory: one partition at a time).

Every finished series is a complete file pair (atomic rename), so a crashed run resumes by
skipping the series whose files are already there. ``manifest.json`` lists ids, rows, samples
and files. Requires the ``dask`` extra (``pip install 'hippo-cli[dask]'``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from ..codec.container import HippoHeader, check_header
from ..engine import HiPPO
from ..engine.emission import check_every
from ..errors import DataError, ParameterError
from ..formats.manifest import write_manifest
from ..formats.timestamps import read_times, times_of_datetimes
from .many import SeriesMode, done_record, encode_series, prepare_folder


def require_dask() -> None:
    """Fail with an install hint when Dask is missing."""
    try:
        import dask.dataframe  # noqa: F401
        import distributed  # noqa: F401
    except ImportError:
        raise ParameterError("the dask engine needs Dask: pip install 'hippo-cli[dask]'") from None


ORDER = "__hippo_row__"


def _number_rows(df, offsets, partition_info=None):
    start = offsets[partition_info["number"]] if partition_info else 0
    return df.assign(**{ORDER: np.arange(start, start + len(df), dtype=np.int64)})


def _frame_arrays(df, value_columns: list[str], time_column: str | None):
    """A series' (values (L, C), exact times or None), in the order its rows were recorded
    (times are data: never sorted)."""
    if ORDER in df:
        df = df.sort_values(ORDER, kind="stable")
    times = None
    if time_column is not None and df[time_column].dtype.kind == "M":  # Parquet timestamps
        times = times_of_datetimes(df[time_column])
    elif time_column is not None:
        times, bad = read_times(df[time_column])
        if times is None:
            raise DataError(f"time {str(df[time_column].iloc[bad])[:40]!r} is not a number or "
                            "an ISO timestamp")
    values = df[value_columns].to_numpy(dtype=np.float64)
    if not np.all(np.isfinite(values)):
        raise DataError("NaN or inf in the values (clean them before the dask engine)")
    return values, times


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
    import dask
    import pandas as pd

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
    ddf = ddf[cols]
    sizes = ddf.groupby(id_column).size().compute()
    part_len = ddf.map_partitions(len).compute()
    # a shuffle does not promise row order: number the rows so each series can be re-sorted
    offsets = np.concatenate([[0], np.cumsum(np.asarray(part_len))])
    ddf = ddf.map_partitions(_number_rows, offsets, meta={**ddf.dtypes.to_dict(),
                                                          ORDER: "int64"})
    threshold = int(large_rows if large_rows is not None else max(int(part_len.max()), 1))
    done = {str(sid): rec for sid in sizes.index
            if resume and (rec := done_record(out, str(sid), mode)) is not None}
    todo = [sid for sid in sizes.index if str(sid) not in done]
    large = [sid for sid in todo if sizes[sid] > threshold]
    small = [sid for sid in todo if sizes[sid] <= threshold]

    def encode_group(df):
        if df.empty:
            return pd.DataFrame({"record": pd.Series([], dtype=object)})
        rec = encode_group_records(df, df.name)  # pandas passes the group key as .name
        return pd.DataFrame({"record": [json.dumps(rec)]})

    # series that sit inside one partition are encoded where they are (no shuffle); only
    # those spread over several partitions are brought together by groupby-apply
    presence = ddf[id_column].map_partitions(lambda col: col.drop_duplicates()).compute()
    spread = set(presence.value_counts().loc[lambda c: c > 1].index)
    in_place = [sid for sid in small if sid not in spread]
    gathered = [sid for sid in small if sid in spread]

    def encode_partition(df):
        df = df[df[id_column].isin(in_place)]
        records = [json.dumps(encode_group_records(group, sid))
                   for sid, group in df.groupby(id_column, sort=False)]
        return pd.DataFrame({"record": pd.Series(records, dtype=object)})

    def encode_group_records(df, sid):
        values, times = _frame_arrays(df, value_columns, time_column)
        return encode_series(values, times, str(sid), out, mode, value_columns)

    tasks = []
    if in_place:
        tasks.append(ddf.map_partitions(encode_partition, meta={"record": object})["record"])
    if gathered:
        sub = ddf[ddf[id_column].isin(gathered)]
        grouped = sub.groupby(id_column).apply(
            encode_group, meta={"record": object})
        tasks.append(grouped["record"])
    chains = []
    parts = ddf.to_delayed()
    for sid in large:
        state = None
        for i, part in enumerate(parts):
            piece = dask.delayed(_piece)(part, id_column, sid, value_columns, time_column)
            state = dask.delayed(_continue)(piece, sid, out, mode,
                                            value_columns, state, i == len(parts) - 1)
        chains.append(state)
    results: list[dict] = list(done.values())
    # dataframe expressions and delayed chains are computed separately (Dask asks for it)
    for batch in (tasks, chains):
        if not batch:
            continue
        values = (client.gather(client.compute(batch)) if client is not None
                  else dask.compute(*batch))
        for v in values:
            if isinstance(v, dict):
                results.append(v)
            else:
                results.extend(json.loads(r) for r in v if isinstance(r, str))
    return write_manifest(out, results, settings=mode.settings(), source=source,
                          complete=True, id_column=id_column, value_columns=value_columns,
                          time_column=time_column)


def _piece(df, id_column: str, sid: Any, value_columns: list[str],
           time_column: str | None):
    rows = df[df[id_column] == sid]
    return _frame_arrays(rows, value_columns, time_column)


def _continue(piece, sid, out, mode, columns, state, last):
    values, times = piece
    rec = encode_series(values, times, str(sid), out, mode, columns,
                        state=None if state is None else state["state"], last=last)
    return rec
