"""Many series, one file each: the shared pieces of the long-format engines.

``hippo compress --id-column`` (local engine, here) and the Dask engine
(:mod:`hippo_cli.distributed`) encode each series with the same kernel and the same writer,
so their outputs are equal bit for bit. Each finished series is an atomic ``.npy`` + sidecar
pair; ``manifest.json`` lists them; a rerun skips series whose files are complete.
"""

from __future__ import annotations

import contextlib
import functools
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..atomic import allow_rewrite, atomic_output, cleaning_once
from ..codec import HippoWriter, header_with_times, open_hippo
from ..codec.parts import ChannelCoder
from ..codec.times import Times
from ..engine import HiPPO
from ..errors import DataError, ParameterError
from ..formats.coefficients import (
    CoefficientWriter,
    coefficient_metadata,
    load_coefficients,
    stored_time_part,
    timing_metadata,
)
from ..formats.csv_input import numeric_columns
from ..formats.manifest import MANIFEST, read_manifest, series_file, write_manifest
from ..formats.quantize import stored_dtype
from ..formats.timestamps import read_times
from .encode import RowEncoder


@dataclass(frozen=True)
class SeriesMode:
    """How every series of a many-series run is written: HiPPO coefficients (``params``,
    ``every``, ``dtype``) or a ``.hippo`` file (``max_error``, absolute), and the time
    column's name, kind and ISO pattern when there is one."""

    params: dict | None = None
    every: int = 1
    dtype: str = "float64"
    max_error: float | None = None
    time: tuple[str, str | None] | None = None  # (time column, ISO pattern or None)
    quantize: int | None = None

    @classmethod
    def bounded_mode(cls, max_error) -> SeriesMode:
        """``.hippo`` series within ``max_error`` (a :class:`~.bounded.MaxError`): absolute
        only (a percentage would need a first pass over every series)."""
        if max_error.percent:
            raise ParameterError("many series take an absolute max_error (a percentage "
                                 "would need a first pass over every series)",
                                 option="max_error")
        return cls(max_error=max_error.value)

    @classmethod
    def coefficient_mode(cls, enc: HiPPO, every: int | None, dtype: str,
                         quantize: int | None, tolerance: float | None = None) -> SeriesMode:
        """Coefficient series of ``enc``'s parameters, rows as :func:`.compress.row_rule`
        says (the rule of one series)."""
        from .compress import row_rule

        if tolerance is not None:
            raise ParameterError("tolerance chooses blocks from a whole series' errors; for "
                                 "many series use reset_every (block mode) or max_error (a "
                                 "guaranteed bound per series)", option="tolerance")
        return cls(params=enc.params(), every=row_rule(enc, every, dtype, quantize),
                   dtype=dtype, quantize=quantize)

    @property
    def bounded(self) -> bool:
        return self.max_error is not None

    @property
    def suffix(self) -> str:
        return ".hippo" if self.bounded else ".npy"

    def settings(self) -> dict:
        """What the manifest records (a resume must match it)."""
        if self.bounded:
            return {"mode": "hippo", "max_error": self.max_error}
        settings = {"mode": "coefficients", "params": self.params, "every": self.every,
                    "dtype": self.dtype}
        if self.quantize is not None:  # (absent, not None: older manifests still resume)
            settings["quantize"] = self.quantize
        return settings


def mode_with_time(mode: SeriesMode, time_column: str | None, first_time: str | None) -> SeriesMode:
    """The mode with the time column's name and how its times are written back (an ISO
    pattern, or None for numbers)."""
    if time_column is None:
        return mode
    from dataclasses import replace

    from ..formats.timestamps import written_template

    return replace(mode, time=(time_column, written_template("csv", first_time)))


def prepare_folder(out_dir: Path, mode: SeriesMode, source: dict, overwrite: bool,
                   **fields: Any) -> bool:
    """Before any series is written: a folder made by another run with other settings or
    from another input is refused (``overwrite``: its series files are removed first).
    Writes the manifest of the run that starts; returns whether finished series may be
    skipped (a resume)."""
    old = read_manifest(out_dir)
    resume = True
    if old is not None and (old.get("settings") != mode.settings()
                            or old.get("source") != source):
        if not overwrite:
            what = ("settings" if old.get("settings") != mode.settings() else "input")
            raise ParameterError(f"{out_dir}: holds series made with other {what} "
                                 f"({_describe(old.get(what if what == 'settings' else 'source'))}"
                                 "); -f/--force replaces them (overwrite=True in "
                                 "Python)")
        for rec in old.get("series", []):
            name = rec.get("file") if isinstance(rec, dict) else None
            if isinstance(name, str) and "/" not in name and name != MANIFEST:
                for p in (Path(out_dir) / name, Path(out_dir) / (name + ".json")):
                    p.unlink(missing_ok=True)
        resume = False
    write_manifest(out_dir, [], settings=mode.settings(), source=source, complete=False,
                   **fields)
    return resume


def _describe(value: Any) -> str:
    text = json.dumps(value, sort_keys=True)
    return text if len(text) <= 160 else text[:157] + "..."


def done_record(out_dir: Path, sid: str, mode: SeriesMode) -> dict | None:
    """The manifest record of a series already written (and readable), else None (and
    what is there may be replaced: it is this command's own unfinished output)."""
    path = series_file(out_dir, sid, mode.suffix)
    record = _finished(path, sid, mode)
    if record is None:
        allow_rewrite(path)
        allow_rewrite(Path(str(path) + ".json"))
    return record


def _finished(path: Path, sid: str, mode: SeriesMode) -> dict | None:
    try:
        if mode.bounded:
            if not path.exists():
                return None
            with open_hippo(str(path)) as reader:
                samples = reader.samples
            return {"id": str(sid), "file": path.name, "samples": samples}
        if not Path(str(path) + ".json").exists():
            return None
        cf = load_coefficients(str(path))
    except DataError:
        return None
    return {"id": str(sid), "file": path.name, "rows": cf.meta["rows"],
            "samples": cf.meta["samples"]}


def encode_series(values: np.ndarray, times: Times | None, sid: str, out_dir: Path,
                  mode: SeriesMode, columns: list[str], state: Any = None,
                  last: bool = True, coder: ChannelCoder | None = None) -> dict:
    """Encode one series (or one piece of it, continuing ``state``) and, when ``last``,
    write its file. Returns a record; for a piece that is not the last, the record carries
    the state to continue from (``state``). ``coder``: the channel coders of ``.hippo``
    series (one per thread; default: each series its own)."""
    if mode.bounded:
        return _encode_bounded(values, times, sid, out_dir, mode, columns, state, last, coder)
    enc = _template(json.dumps(mode.params, sort_keys=True)).clone()
    encoder = RowEncoder(enc, mode.every, None if state is None else state["progress"])
    rows: list[np.ndarray] = [] if state is None else list(state["rows"])
    time_parts: list[list] = [] if state is None else list(state["time_parts"])
    if len(values) and times is None and enc.timed:
        raise DataError(f"series {sid!r}: times missing")
    if len(values):
        try:
            rows.extend(encoder.feed(values, None if times is None else times.seconds).coeffs)
        except DataError as err:
            raise DataError(f"series {sid!r}: {err}; HiPPO coefficients need increasing "
                            "times (--max-error keeps times in any order)") from None
        if times is not None:
            time_parts.append(stored_time_part(times))
    if not last:
        return {"state": {"progress": encoder.progress(), "rows": rows,
                          "time_parts": time_parts}}
    if enc.steps == 0:
        raise DataError(f"series {sid!r}: no samples")
    rows.extend(encoder.finish().coeffs)
    C = values.shape[1]
    path = series_file(out_dir, sid, mode.suffix)
    row_shape = (enc.N,) if C == 1 else (C, enc.N)
    with CoefficientWriter(path, row_shape, mode.dtype, mode.quantize) as writer:
        writer.append(np.asarray(rows).reshape(len(rows), *row_shape))
        name, pattern = mode.time or ("time", None)
        timing = (timing_metadata(name, enc.snapshot().clock, encoder.row_times, time_parts,
                                  pattern) if enc.timed else None)
        writer.commit(coefficient_metadata(
            enc.params(), every=mode.every, samples=enc.steps, rows=writer.rows,
            columns=columns, dtype=stored_dtype(mode.dtype, mode.quantize),
            input_name=f"series {sid}", input_bytes=None, nan="error",
            quantize=mode.quantize, timing=timing))
    return {"id": str(sid), "file": path.name, "rows": writer.rows, "samples": enc.steps}


#: Rows per chunk of a long CSV read by the local engine (a series' rows in one chunk are
#: one piece for its encoder: the Dask engine feeds the same pieces).
CHUNK_ROWS = 1 << 18

#: Samples per frame of a many-series ``.hippo`` file: each open series holds at most this
#: many pending samples (bounded memory with thousands of interleaved series).
SERIES_FRAME = 16384


def _encode_bounded(values: np.ndarray, times: Times | None, sid: str, out_dir: Path,
                    mode: SeriesMode, columns: list[str], state: Any, last: bool,
                    coder: ChannelCoder | None) -> dict:
    writer = state
    if writer is None:
        name, pattern = mode.time or (None, None)
        if name is not None and pattern is None and times is not None and times.iso \
                and len(times):
            # the Dask engine learns that times are ISO only from the series' own times
            pattern = times.templates[int(times.fmt[0])]
        header = header_with_times(columns, [mode.max_error] * len(columns), name, pattern,
                                   whole=True)
        writer = HippoWriter(io.BytesIO(), header, frame_samples=SERIES_FRAME, coder=coder)
    if len(values):
        writer.append(values, times)
    if not last:
        return {"state": writer}
    writer.close()
    if writer.samples == 0:
        raise DataError(f"series {sid!r}: no samples")
    return write_series(out_dir, sid, mode, writer.fh.getvalue(), writer.samples)


def write_series(out_dir: Path, sid: str, mode: SeriesMode, data: bytes, samples: int
                 ) -> dict:
    """Write a ``.hippo`` series' bytes as its file (atomically); its record."""
    path = series_file(out_dir, sid, mode.suffix)
    with atomic_output(path) as fh:
        fh.write(data)
    return {"id": str(sid), "file": path.name, "samples": samples}


@functools.lru_cache(maxsize=8)
def _template(params_json: str) -> HiPPO:
    """One encoder per parameter set: its discretisation (solve/expm, spectral check and any
    warning) is done once, not once per series piece; each piece encodes with a clone."""
    return HiPPO(**json.loads(params_json))


def compress_long(
    chunks: Iterator[tuple[np.ndarray, np.ndarray, np.ndarray | None]],
    out_dir: Path,
    mode: SeriesMode,
    *,
    columns: list[str],
    resume: bool = True,
) -> list[dict]:
    """Local engine: ``chunks`` yield (ids (L,), values (L, C), times (L,) or None) in stream
    order; every id keeps its own encoder state between chunks. Series already complete in
    ``out_dir`` are skipped (resume). Memory: one state and the emitted rows per series."""
    states: dict[Any, dict | None] = {}
    skipped: dict[Any, dict] = {}
    coder = ChannelCoder()  # every series of this loop shares one scratch
    with cleaning_once():  # the folder is scanned for stale temporaries once, not per file
        with (contextlib.closing(chunks) if hasattr(chunks, "close")
              else contextlib.nullcontext()):
            _encode_chunks(chunks, out_dir, mode, columns, resume, states, skipped, coder)
        records = list(skipped.values())
        for sid, state in states.items():
            C = len(columns)
            records.append(encode_series(np.empty((0, C)), None, sid, out_dir, mode, columns,
                                         state=state, last=True, coder=coder))
    return records


def _encode_chunks(chunks, out_dir: Path, mode: SeriesMode, columns: list[str], resume: bool,
                   states: dict, skipped: dict, coder: ChannelCoder) -> None:
    """The body of :func:`compress_long`: ``states`` and ``skipped`` filled in place."""
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
                rec = done_record(out_dir, sid, mode) if resume else None
                if rec is not None:
                    skipped[sid] = rec
                    continue
                states[sid] = None
            idx = order[lo:hi]
            piece = encode_series(values[idx], None if times is None else times[idx], sid,
                                  out_dir, mode, columns, state=states[sid], last=False,
                                  coder=coder)
            states[sid] = piece["state"]


def read_long_csv(path: str, id_column: str, value_columns: list[str] | None,
                  time_column: str | None, chunk_rows: int | None = None, *,
                  exact_integers: bool = False, head_only: bool = False):
    """(value column names, first time field, iterator of (ids, values, times)) of a
    long-format CSV, read in chunks, opened once and read as :func:`~.csv_input.open_csv`
    reads (compressed inputs, separators and decimal commas, CR line ends). Ids are
    strings exactly as written (an empty id is an error naming its line); values must be
    numbers (``exact_integers``: an integer float64 cannot hold exactly is an error, for a
    bound); times numbers or ISO stamps. ``head_only``: the file is closed after its head,
    and the third item is (separator, decimal mark, the head's bytes) instead."""
    import io

    import pandas as pd

    from ..formats.csv_input import open_dialect
    from ..formats.source import Samples

    stream, sep, decimal, head_bytes, close = open_dialect(path)
    try:
        kw = {"sep": sep, "decimal": decimal, "encoding": "utf-8-sig"}
        head = pd.read_csv(io.BytesIO(head_bytes), nrows=200, dtype={id_column: str},
                           keep_default_na=False, **kw)
        for col in [id_column, *([time_column] if time_column else []), *(value_columns or [])]:
            if col not in head.columns:
                raise DataError(f"{path}: no column {col!r} (columns: "
                                f"{', '.join(map(str, head.columns))})")
        if not value_columns:
            value_columns = numeric_columns(pd.read_csv(io.BytesIO(head_bytes), nrows=200, **kw),
                                            exclude=[id_column, time_column])
            if not value_columns:
                raise DataError(f"{path}: no numeric value column")
    except BaseException:
        close()
        raise
    first_time = str(head[time_column].iloc[0]) if time_column and len(head) else None
    if head_only:
        close()
        return value_columns, first_time, (sep, decimal, head_bytes)
    samples = Samples(path, list(value_columns), "csv", None)
    samples.exact_integers = exact_integers

    def chunks():
        usecols = [id_column, *value_columns, *([time_column] if time_column else [])]
        line = 2
        try:
            reader = pd.read_csv(stream, usecols=usecols, chunksize=chunk_rows or CHUNK_ROWS,
                                 dtype={id_column: str}, keep_default_na=False,
                                 na_values={c: ["", "NaN", "nan", "NA"] for c in value_columns},
                                 **kw)
            with reader:  # closes the file when the caller stops early (an error, a signal)
                for frame in reader:
                    yield long_frame_arrays(frame, path, id_column, value_columns,
                                            time_column, samples, line)
                    line += len(frame)
        finally:
            close()

    return value_columns, first_time, chunks()


def read_long_parquet(path: str, id_column: str, value_columns: list[str] | None,
                      time_column: str | None, chunk_rows: int = 1 << 18, *,
                      exact_integers: bool = False):
    """What :func:`read_long_csv` gives, for a long-format Parquet file (the ``parquet``
    extra), read batch by batch with the rules of one Parquet series
    (:mod:`~hippo_cli.formats.parquet_input`): ids as text (``str`` of each value; a missing
    id is an error naming its row), numeric values (``exact_integers``: an integer float64
    cannot hold exactly is an error), times numbers or timestamps (their instant, unit and
    zone kept)."""
    import pandas as pd

    from ..atomic import open_input
    from ..codec.times import format_iso
    from ..formats.parquet_input import column_floats, parquet_file
    from ..formats.source import Samples
    from ..formats.timestamps import times_of_datetimes

    fh = open_input(path, "Parquet")  # one open: a replace meanwhile cannot mix two files
    try:
        pf = parquet_file(fh, path)
        names = list(pf.schema_arrow.names)
        for col in [id_column, *([time_column] if time_column else []), *(value_columns or [])]:
            if col not in names:
                raise DataError(f"{path}: no column {col!r} (columns: {', '.join(names)})")
        head = next(pf.iter_batches(batch_size=200), None)
        head = head.to_pandas() if head is not None else pd.DataFrame(columns=names)
        if not value_columns:
            value_columns = numeric_columns(head, exclude=[id_column, time_column])
            if not value_columns:
                raise DataError(f"{path}: no numeric value column")
    except BaseException:
        fh.close()
        raise
    first_time = None
    if time_column and len(head):
        first = head[time_column].iloc[:1]
        first_time = (format_iso(times_of_datetimes(first))[0] if first.dtype.kind == "M"
                      else str(first.iloc[0]))
    samples = Samples(path, list(value_columns), "parquet", None)
    samples.exact_integers = exact_integers

    def chunks():
        wanted = [id_column, *value_columns, *([time_column] if time_column else [])]
        row = 0
        with fh:  # closed when the last batch is read, or when the caller stops early
            for batch in pf.iter_batches(batch_size=chunk_rows, columns=wanted):
                frame = batch.to_pandas()
                missing = frame[id_column].isna().to_numpy()
                if missing.any():
                    raise DataError(f"{samples.where(row + int(np.argmax(missing)))}: no "
                                    f"{id_column!r} (every row needs its series id)")
                ids = frame[id_column].astype(str).to_numpy(dtype=object)
                values = np.empty((len(frame), len(value_columns)))
                for j, col in enumerate(value_columns):
                    values[:, j] = column_floats(frame[col], col, samples, row)
                bad = ~np.isfinite(values).all(axis=1)
                if bad.any():
                    raise DataError(f"{samples.where(row + int(np.argmax(bad)))}: a value is "
                                    "missing, NaN, inf or not a number")
                times = None
                if time_column:
                    stamps = frame[time_column]
                    if stamps.dtype.kind == "M":
                        if stamps.isna().any():
                            bad_row = int(np.argmax(stamps.isna().to_numpy()))
                            raise DataError(f"{samples.where(row + bad_row)}: no time")
                        times = times_of_datetimes(stamps)
                    else:
                        times, i = read_times(stamps)
                        if times is None:
                            raise DataError(f"{samples.where(row + i)}: time "
                                            f"{str(stamps.iloc[i])[:40]!r} is not a number or "
                                            "an ISO timestamp")
                yield ids, values, times
                row += len(frame)

    return value_columns, first_time, chunks()


def _blank_ids(ids: Any) -> np.ndarray:
    """bool (L,): which ids are empty or blanks. A categorical column (the Dask engine reads
    ids as categories: parsed as text, each distinct id once) is tested on its categories."""
    import pandas as pd

    if isinstance(ids.dtype, pd.CategoricalDtype):
        codes = ids.cat.codes.to_numpy()
        blank = np.flatnonzero(np.asarray(ids.cat.categories.str.strip() == ""))
        return (codes < 0) | np.isin(codes, blank)
    return np.asarray(ids.str.strip() == "")


def long_frame_arrays(frame, path: str, id_column: str, value_columns: list[str],
                      time_column: str | None, samples: Any, line: int, *,
                      object_ids: bool = True):
    """(ids (L,) object, values (L, C) float64, times (L,) or None) of one chunk of a
    long-format CSV read as :func:`read_long_csv` reads it, whose first row is on ``line``
    (for the messages): the one parsing rule of the local and the Dask engine.
    ``object_ids=False``: the ids as pandas' column (a string or categorical column:
    factorised many times faster than Python strings; the same values)."""
    from ..formats.csv_input import column_values

    ids = frame[id_column].to_numpy(dtype=object) if object_ids else frame[id_column]
    empty = _blank_ids(frame[id_column])
    if empty.any():
        raise DataError(f"{path}, line {line + int(np.argmax(empty))}"
                        f": empty {id_column!r} (every row needs its series id)")
    values = np.column_stack([column_values(frame[c], c, samples, line)
                              for c in value_columns])
    bad = ~np.isfinite(values).all(axis=1)
    if bad.any():
        raise DataError(f"{path}, line {line + int(np.argmax(bad))}: a value is "
                        "empty, NaN, inf or not a number")
    times = None
    if time_column:
        times, i = read_times(frame[time_column])
        if times is None:
            raise DataError(f"{path}, line {line + i}: time "
                            f"{str(frame[time_column].iloc[i])[:40]!r} is not a "
                            "number or an ISO timestamp")
    return ids, values, times
