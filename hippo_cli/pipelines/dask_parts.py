"""Many series on Dask, reading the input once: the engine behind ``--engine dask``.

The plan, for a long-format CSV (``--id-column``):

1. The client splits the file into byte ranges (``--partition-size``, cut at line ends,
   like ``dask.dataframe.read_csv``'s blocksize) and makes every path absolute - a worker
   may run in another folder or on another machine.
2. One task per range reads it with the CLI's own parser (:func:`.many.long_frame_arrays`:
   the same values, the same errors as the local engine) and groups its rows by id,
   keeping their order. The grouped part stays in the worker's memory; only a summary
   (the ids in order of appearance, their row counts) goes back to the client.
3. A series inside one range is encoded by the worker holding that range and written there,
   straight into the shared output folder (the atomic helper); only its manifest record
   travels. A series spread over several ranges is joined in range order: the pieces are
   sent to one task that continues one encoder over them.

A folder or glob of files (each file its own series) is one task per file, with the ids the
local engine gives (computed on the client). The outputs are those of the local engine, bit
for bit: the same parser, the same encoder, pieces fed in the same order.

Progress (a bar on stderr) and the dashboard's address are reported through ``report``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import numpy as np

from ..atomic import cleaning_once
from ..errors import DataError, ParameterError
from . import many
from .many import SeriesMode, encode_series, long_frame_arrays

#: Default byte range of one partition of a long CSV (dask's own default blocksize).
DEFAULT_PARTITION = 64 * 2**20


def parse_size(text: str | int) -> int:
    """Bytes of a size written as ``64MB``, ``1.5GiB``, ``500kB`` or a plain number (as
    ``dask.utils.parse_bytes`` reads it: kB/MB/GB are powers of 1000, KiB/MiB/GiB of 1024)."""
    if isinstance(text, int):
        size = text
    else:
        try:
            from dask.utils import parse_bytes

            size = int(parse_bytes(str(text).strip()))
        except (ValueError, TypeError, KeyError):
            raise ParameterError(f"--partition-size {text!r}: not a size (e.g. 64MB, 1GiB)",
                                 option="partition_size") from None
    if size < 1:
        raise ParameterError("--partition-size must be at least 1 byte",
                             option="partition_size")
    return size


# --------------------------------------------------------------------------- the client
def byte_ranges(path: str, size: int) -> tuple[bytes, list[tuple[int, int]]]:
    """(the header line's bytes, [(start, stop)] of the data ranges): ranges of about
    ``size`` bytes, each ending at a line end, covering every byte after the header once."""
    with open(path, "rb") as fh:
        header = fh.readline()
        end = os.fstat(fh.fileno()).st_size
        ranges = []
        start = len(header)
        while start < end:
            stop = min(start + size, end)
            if stop < end:
                fh.seek(stop - 1)  # a range ends after the first line end at or past stop
                rest = fh.readline()
                stop = stop - 1 + len(rest)
            ranges.append((start, stop))
            start = stop
    return header, ranges


def splittable(path: str, head_bytes: bytes) -> bool:
    """Whether byte ranges of ``path`` are its text (not compressed, LF or CRLF ends):
    its first bytes are the head the CSV reader saw. A head with quotes is not cut: a
    quoted field may hold a line end, and a range must not start inside it."""
    with open(path, "rb") as fh:
        return (fh.read(len(head_bytes)) == head_bytes and b"\n" in head_bytes
                and b'"' not in head_bytes)


def lines_before(path: str, offset: int) -> int:
    """The line number (1-based) of the byte at ``offset``: only on an error's path."""
    count = 0
    with open(path, "rb") as fh:
        while offset > 0:
            block = fh.read(min(offset, 1 << 22))
            if not block:
                break
            count += block.count(b"\n")
            offset -= len(block)
    return count + 1


def _place(message: str, path: str, start: int) -> str:
    """A partition's message with the file's name and the line in the whole file."""
    import re

    first = None

    def line(match: re.Match) -> str:
        nonlocal first
        first = lines_before(path, start) if first is None else first
        return f"{path}, line {first + int(match.group(1)) - 1}"

    return re.sub(re.escape(MARK) + r", line (\d+)", line, message).replace(MARK, path)


# --------------------------------------------------------------------------- workers
#: Stands for the file's name in a partition's messages (the client puts the name and the
#: line in the whole file in its place).
MARK = "\x00part\x00"


def read_range(path: str, header: bytes, start: int, stop: int, spec: dict,
               mode: SeriesMode | None = None) -> dict:
    """One partition: the rows of bytes [start, stop) of a long CSV, grouped by id.

    Returns {"order": ids in order of first appearance, "pieces": {id: (values (n, C),
    times (n,) or None, rows (n,))}, "ready": {id: (.hippo bytes, samples)}, "lines": data
    lines} - or {"error": message, "start": start} (lines counted in the range: the client
    names the line in the whole file). ``mode``: a ``.hippo`` mode encodes, ahead, the
    series that look whole here (see :func:`encode_ahead`)."""
    import io
    import time

    import pandas as pd

    from ..formats.source import Samples

    began = time.thread_time()  # CPU seconds of this task: what a worker spent, whatever
    with open(path, "rb") as fh:  # else runs on the machine
        fh.seek(start)
        data = fh.read(stop - start)
    columns, id_column, time_column = spec["columns"], spec["id_column"], spec["time_column"]
    usecols = [id_column, *columns, *([time_column] if time_column else [])]
    samples = Samples(MARK, list(columns), "csv", None)
    samples.exact_integers = spec["exact_integers"]
    # ids as categories: always parsed as text (pandas' rule for dtype "category"), each
    # distinct id made a string once - half the parse time of a string column, and the
    # grouping factorises small integer codes
    frame = pd.read_csv(io.BytesIO(header + data), usecols=usecols,
                        dtype={id_column: "category"},
                        keep_default_na=False, sep=spec["sep"], decimal=spec["decimal"],
                        encoding="utf-8-sig",
                        na_values={c: ["", "NaN", "nan", "NA"] for c in columns})
    try:  # lines counted from 1 inside the range: the client adds where the range starts
        ids, values, times = long_frame_arrays(frame, MARK, id_column, columns,
                                               time_column, samples, 1, object_ids=False)
    except DataError as err:
        return {"error": str(err), "start": start}
    parsed = time.thread_time()
    grouped = group_rows(ids, values, times)
    seconds = {"read": parsed - began, "group": time.thread_time() - parsed}
    if mode is not None and mode.bounded:
        ahead = time.thread_time()
        grouped["ready"] = encode_ahead(grouped["pieces"], len(frame), mode, list(columns))
        seconds["encode ahead"] = time.thread_time() - ahead
    return {**grouped, "lines": len(frame), "seconds": seconds}


def encode_ahead(pieces: dict, lines: int, mode: SeriesMode, columns: list[str]) -> dict:
    """{id: (.hippo bytes, samples)} of the series of a range that look whole: their rows
    one contiguous run that neither starts the range nor ends it (a series that does may go
    on in the next range). Encoded while the other ranges are still being read, so that
    the stage after the reads only writes them; a guess proved wrong (the id appears in
    another range too) is dropped and the series joined as any other. The bytes are those
    of one encoder fed all the rows: a ``.hippo`` writer's bytes do not depend on how its
    appends are cut."""
    from ..codec.parts import ChannelCoder

    coder = ChannelCoder()
    ready = {}
    for sid, (values, times, rows) in pieces.items():
        if rows[0] == 0 or rows[-1] == lines - 1 or rows[-1] - rows[0] + 1 != len(rows):
            continue
        try:
            writer = encode_series(values, times, sid, Path("."), mode, columns, last=False,
                                   coder=coder)["state"]
            writer.close()
        except (DataError, ParameterError):  # said again, in its place, by the stage after
            continue
        ready[sid] = (writer.fh.getvalue(), writer.samples)
    return ready


def group_rows(ids: np.ndarray, values: np.ndarray, times: Any) -> dict:
    """{"order": ids in order of first appearance, "pieces": {id: (values, times, rows)}},
    each id's rows in their order (the grouping of the local engine); ``rows`` int64: their
    positions in the table."""
    import pandas as pd

    codes, uniques = pd.factorize(ids)
    uniques = [str(u) for u in uniques]  # Python strings, as the local engine's ids
    order = np.argsort(codes, kind="stable")
    sorted_codes = codes[order]
    starts = np.flatnonzero(np.r_[True, sorted_codes[1:] != sorted_codes[:-1]])
    pieces = {}
    for lo, hi in zip(starts, np.r_[starts[1:], len(ids)]):
        idx = order[lo:hi]
        pieces[uniques[sorted_codes[lo]]] = (values[idx], None if times is None else times[idx],
                                            idx)
    return {"order": uniques, "pieces": pieces}


def summary(part: dict) -> dict:
    """What the client needs of a partition: no values."""
    if "error" in part:
        return part
    return {"order": part["order"], "lines": part["lines"], "seconds": part["seconds"],
            "rows": [len(part["pieces"][sid][0]) for sid in part["order"]]}


def take(part: dict, sids: list, first_row: int) -> dict:
    """The pieces of some series of a partition (to be joined elsewhere), their rows
    numbered in the whole table (the partition's first row is ``first_row``)."""
    return {sid: (*part["pieces"][sid][:2], part["pieces"][sid][2] + first_row)
            for sid in sids}


def encode_here(part: dict, sids: list, first_row: int, out: str, mode: SeriesMode,
                columns: list[str], chunk_rows: int | None = None) -> dict:
    """Encode and write the series that lie inside this partition (where it is held);
    those encoded ahead (:func:`encode_ahead`) are only written."""
    return encode_joined(sids, out, mode, columns, take(part, sids, first_row),
                         chunk_rows=chunk_rows, ready=part.get("ready"))


def encode_joined(sids: list, out: str, mode: SeriesMode, columns: list[str],
                  *pieces_by_part: dict, chunk_rows: int | None = None,
                  threads: int = 2, ready: dict | None = None) -> dict:
    """Encode each series from its pieces (partitions in order) and write its file.
    ``chunk_rows``: the encoder takes the rows in the pieces the local engine feeds it -
    the series' rows of each chunk of that many rows of the table -, so that what depends
    on the pieces (a sidecar's sample-time parts) is the same too; None: in one piece.
    ``threads``: series encoded at once (each its own encoder and file): a file's write
    waits on the disk (the temporary's fsync, the lock file, the rename), and another
    series' coding fills that wait; the records come back in the order of ``sids``.
    ``ready``: {id: (.hippo bytes, samples)} of series already encoded: only written."""
    import contextvars
    import time
    from concurrent.futures import ThreadPoolExecutor

    from ..codec.parts import ChannelCoder
    from ..codec.times import Times

    def one(sid: Any, coder: ChannelCoder) -> tuple[dict, float, float]:
        if ready and sid in ready:
            began = time.thread_time()
            record = many.write_series(Path(out), sid, mode, *ready[sid])
            return record, 0.0, time.thread_time() - began
        got = [pieces[sid] for pieces in pieces_by_part if sid in pieces]
        values = np.concatenate([g[0] for g in got]) if len(got) > 1 else got[0][0]
        times = (None if got[0][1] is None else
                 Times.join([g[1] for g in got]) if len(got) > 1 else got[0][1])
        if chunk_rows is None:
            cuts = np.array([0, len(values)])
        else:
            rows = np.concatenate([g[2] for g in got]) // chunk_rows
            cuts = np.r_[0, np.flatnonzero(rows[1:] != rows[:-1]) + 1, len(rows)]
        state = None
        began = time.thread_time()
        for lo, hi in zip(cuts[:-1], cuts[1:]):
            state = encode_series(values[lo:hi], None if times is None else times[lo:hi],
                                  sid, Path(out), mode, columns, state=state, last=False,
                                  coder=coder)["state"]
        fed = time.thread_time()
        record = encode_series(np.empty((0, len(columns))), None, sid, Path(out), mode,
                               columns, state=state, last=True, coder=coder)
        # feed: pieces into the encoder (coefficients: the work); finish: the writer's close
        # (.hippo: where the frames are coded) and the atomic write of the file
        return record, fed - began, time.thread_time() - fed

    def share(k: int, coder: ChannelCoder) -> list:
        return [one(sid, coder) for sid in sids[k::threads]]

    seconds = {"feed": 0.0, "finish": 0.0}
    with cleaning_once():  # the folder is scanned for stale temporaries once per task
        threads = max(1, min(threads, len(sids)))
        if threads == 1:
            done = [share(0, ChannelCoder())]
        else:  # each thread its own coder; the context (the folder cleaned once, the
            # locks held) copied into each, as a thread does not inherit it
            with ThreadPoolExecutor(threads, thread_name_prefix="hippo-series") as pool:
                futures = [pool.submit(contextvars.copy_context().run, share, k,
                                       ChannelCoder()) for k in range(threads)]
                done = [f.result() for f in futures]
    records: list = [None] * len(sids)
    for k, results in enumerate(done):
        for n, (record, fed, finished) in enumerate(results):
            records[k + n * threads] = record
            seconds["feed"] += fed
            seconds["finish"] += finished
    return {"records": records, "seconds": seconds}


def encode_joined_in(chunk_rows: int | None, *args: Any) -> dict:
    """:func:`encode_joined` with its keyword first (a task's arguments are positional)."""
    return encode_joined(*args, chunk_rows=chunk_rows)


def continue_here(part: dict, sid: Any, out: str, mode: SeriesMode, columns: list[str],
                  state: Any, last: bool) -> Any:
    """One link of a large series' chain: its rows in this partition continue the encoder
    ``state`` (a dict from the previous link, or None); the last link writes the file and
    returns the records."""
    import time

    began = time.thread_time()
    values, times, _ = part["pieces"][sid]
    with cleaning_once():
        got = encode_series(values, times, str(sid), Path(out), mode, columns,
                            state=None if state is None else state["state"], last=last)
    if not last:
        return got
    return {"records": [got], "seconds": {"feed": time.thread_time() - began}}


def group_frame(df: Any, id_column: str, value_columns: list[str],
                time_column: str | None) -> dict:
    """One partition of a Dask dataframe, grouped by id as :func:`read_range` groups a
    range of a CSV (the ids written as text: the files are named by ``str(id)``)."""
    import time

    from ..formats.timestamps import read_times, times_of_datetimes
    from ..frames import column_floats

    began = time.thread_time()
    try:  # integers exactly or refused (beyond 2^53), as every other input of hippo
        values = np.empty((len(df), len(value_columns)))
        for j, name in enumerate(value_columns):
            values[:, j] = column_floats(df[name], name)
    except (DataError, ParameterError) as err:
        return {"error": str(err)}
    if not np.all(np.isfinite(values)):
        return {"error": "NaN or inf in the values (clean them before the dask engine)"}
    times = None
    if time_column is not None and df[time_column].dtype.kind == "M":  # Parquet timestamps
        times = times_of_datetimes(df[time_column])  # their instant, unit and zone
    elif time_column is not None:
        times, bad = read_times(df[time_column])
        if times is None:
            return {"error": f"time {str(df[time_column].iloc[bad])[:40]!r} is not a number "
                             "or an ISO timestamp"}
    grouped = group_rows(df[id_column].to_numpy(), values, times)
    return {**grouped, "lines": len(df), "seconds": {"group": time.thread_time() - began}}


def encode_file(sid: str, path: str, out: str, mode: SeriesMode, columns: list[str] | None,
                time_column: str | None) -> dict:
    """One file, one series: what the local engine does for each file of a glob."""
    from ..formats.samples import clean_chunks, open_samples

    with cleaning_once():
        samples = open_samples(path, columns, time_column)
        smode = many.mode_with_time(mode, time_column, samples.time_text)
        state = None
        for block in clean_chunks(samples):
            data, t = (block[:, :-1], block[:, -1]) if time_column else (block, None)
            state = encode_series(data, t, sid, Path(out), smode, samples.columns,
                                  state=state, last=False)["state"]
        return encode_series(np.empty((0, len(samples.columns))), None, sid, Path(out),
                             smode, samples.columns, state=state, last=True)


# --------------------------------------------------------------------------- executors
class Executor:
    """Where tasks run: a ``distributed.Client`` (tasks go to the workers, results stay
    there until asked for) or a pool of threads in this process (``threads``)."""

    def __init__(self, client: Any = None, threads: int | None = None) -> None:
        self.client = client
        self.pool = None
        self.threads = threads or os.cpu_count() or 1
        if client is None:
            from concurrent.futures import ThreadPoolExecutor

            self.pool = ThreadPoolExecutor(self.threads, thread_name_prefix="hippo-dask")

    @property
    def workers(self) -> int:
        """How many tasks run at once (threads of the cluster's workers, or of the pool)."""
        if self.client is not None:
            return max(sum(self.client.nthreads().values()), 1)
        return self.threads

    def submit(self, fn: Callable, *args: Any, priority: int = 0) -> Any:
        """``fn(*args)`` as a task; a cluster runs tasks of a higher ``priority`` first
        among those ready (a pool of threads: in the order submitted)."""
        if self.client is not None:
            return self.client.submit(fn, *args, pure=False, priority=priority)
        import contextvars

        # in the caller's context: the command's -q/-v and -f scopes hold in the pool's threads
        return self.pool.submit(contextvars.copy_context().run, _unwrap_call, fn, *args)

    def as_completed(self, futures: list) -> Any:
        if self.client is not None:
            from distributed import as_completed

            return as_completed(futures)
        from concurrent.futures import as_completed

        return as_completed(futures)

    def gather(self, futures: list) -> list:
        if self.client is not None:
            return self.client.gather(futures)
        return [f.result() for f in futures]

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(cancel_futures=True)


def _unwrap_call(fn: Callable, *args: Any) -> Any:
    """A thread pool's task: arguments that are futures of this pool are their results."""
    return fn(*[a.result() if isinstance(a, Future) else a for a in args])


# --------------------------------------------------------------------------- the run
def run_long_csv(path: str, out: Path, mode: SeriesMode, *, id_column: str,
                 columns: list[str], time_column: str | None, header: bytes,
                 ranges: list[tuple[int, int]], dialect: tuple[str, str], resume: bool,
                 executor: Executor, report: Callable[[int, int], None] | None = None,
                 bucket_count: int = 8, timings: dict | None = None) -> list[dict]:
    """Records of every series of a long CSV split into byte ``ranges`` (see the module's
    docstring); ``report(done, total)`` after each encoding task; ``timings`` (a dict)
    gets where the time went: wall seconds of each stage on the client, and the CPU
    seconds the workers spent reading, grouping, encoding and writing (summed)."""
    import time

    began, cpu = time.perf_counter(), time.thread_time()
    path = os.path.abspath(path)
    spec = {"columns": list(columns), "id_column": id_column, "time_column": time_column,
            "sep": dialect[0], "decimal": dialect[1], "exact_integers": mode.bounded}
    parts = [executor.submit(read_range, path, header, a, b, spec, mode) for a, b in ranges]
    summaries = executor.gather([executor.submit(summary, p) for p in parts])
    grouped = time.perf_counter()
    for s in summaries:
        if "error" in s:
            raise DataError(_place(s["error"], path, s["start"]))
    records, work, joined = encode_parts(parts, summaries, out, mode, columns, resume=resume,
                                         executor=executor, report=report,
                                         bucket_count=bucket_count,
                                         chunk_rows=many.CHUNK_ROWS)
    if timings is not None:
        timings.update({"client CPU": time.thread_time() - cpu,
                        "stage 1 (read + group), wall": grouped - began,
                        "stage 2 (encode + write), wall": time.perf_counter() - grouped,
                        **{f"workers CPU: {k}": v for k, v in work.items()},
                        "worker_seconds": sum(work.values()), "partitions": len(ranges),
                        "series joined over partitions": joined})
    return records


def encode_parts(parts: list, summaries: list[dict], out: Path, mode: SeriesMode,
                 columns: list[str], *, resume: bool, executor: Executor,
                 report: Callable[[int, int], None] | None = None, bucket_count: int = 8,
                 large_rows: int | None = None, chunk_rows: int | None = None
                 ) -> tuple[list[dict], dict, int]:
    """Stage 2 for grouped partitions (futures of :func:`read_range` or :func:`group_frame`)
    and their summaries: (records, worker CPU seconds by stage, series joined). A series in
    one partition is encoded where it lies; one spread over several is joined by a task (in
    ``bucket_count`` tasks); one of more than ``large_rows`` rows is never gathered: a chain
    of tasks, one per partition it is in, continues its encoder (the state travels).
    ``chunk_rows``: see :func:`encode_joined`."""
    from .many import done_record

    out_name = os.path.abspath(out)
    where: dict[Any, list[int]] = {}
    rows: dict[Any, int] = {}
    for i, s in enumerate(summaries):
        for sid, n in zip(s["order"], s["rows"]):
            where.setdefault(sid, []).append(i)
            rows[sid] = rows.get(sid, 0) + n
    records: list[dict] = []
    todo = []
    for sid in where:
        rec = done_record(out, str(sid), mode) if resume else None
        if rec is not None:
            records.append(rec)
        else:
            todo.append(sid)
    tasks = []
    here: dict[int, list] = {}
    joined, large = [], []
    for sid in todo:
        if len(where[sid]) == 1:
            here.setdefault(where[sid][0], []).append(sid)
        elif large_rows is not None and rows[sid] > large_rows:
            large.append(sid)
        else:
            joined.append(sid)
    first_rows = np.concatenate([[0], np.cumsum([s["lines"] for s in summaries])]).tolist()
    buckets = [joined[b::bucket_count] for b in range(bucket_count) if joined[b::bucket_count]]
    for bucket in buckets:
        inside = [i for i in range(len(parts)) if any(i in where[s] for s in bucket)]
        # first: their pieces move between workers while the series inside a range are
        # encoded, and they do not wait for them at the end
        takes = [executor.submit(take, parts[i], [s for s in bucket if i in where[s]],
                                 first_rows[i], priority=1) for i in inside]
        tasks.append(executor.submit(encode_joined_in, chunk_rows, bucket, out_name, mode,
                                     list(columns), *takes, priority=1))
    for sid in large:
        state = None
        for n, i in enumerate(where[sid]):
            state = executor.submit(continue_here, parts[i], sid, out_name, mode,
                                    list(columns), state, n == len(where[sid]) - 1)
        tasks.append(state)
    for i, sids in here.items():
        tasks.append(executor.submit(encode_here, parts[i], sids, first_rows[i], out_name,
                                     mode, list(columns), chunk_rows))
    done = 0
    work = {"read": 0.0, "group": 0.0, "encode ahead": 0.0, "feed": 0.0, "finish": 0.0}
    for s in summaries:
        for key, sec in s["seconds"].items():
            work[key] += sec
    if report is not None:
        report(0, len(tasks))
    for fut in executor.as_completed(tasks):
        result = fut.result()
        records.extend(result["records"])
        for key, sec in result["seconds"].items():
            work[key] += sec
        done += 1
        if report is not None:
            report(done, len(tasks))
    return records, work, len(joined) + len(large)


def run_files(files: list[tuple[str, Path]], out: Path, mode: SeriesMode, *,
              columns: list[str] | None, time_column: str | None, resume: bool,
              executor: Executor, report: Callable[[int, int], None] | None = None
              ) -> list[dict]:
    """Records of a glob or folder of files, one series each, one task each (the ids are
    the local engine's, computed here on the client)."""
    from .many import done_record

    records = []
    tasks = []
    given: dict[Any, str] = {}
    for sid, p in files:
        rec = done_record(out, sid, mode) if resume else None
        if rec is not None:
            rec["input"] = str(p)
            records.append(rec)
            continue
        tasks.append(executor.submit(encode_file, sid, os.path.abspath(p),
                                     os.path.abspath(out), mode, columns, time_column))
        given[tasks[-1]] = str(p)  # the manifest names the input as given (the local engine)
    if report is not None:
        report(0, len(tasks))
    for done, fut in enumerate(executor.as_completed(tasks), 1):
        records.append({**fut.result(), "input": given[fut]})
        if report is not None:
            report(done, len(tasks))
    return records
