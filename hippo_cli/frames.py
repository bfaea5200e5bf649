"""pandas DataFrames as ``.hippo`` files: :func:`to_hippo` and :func:`read_hippo`.

A frame's numeric columns are the file's channels (names kept, each within its bound), its
index the file's times, stored exactly as the CLI stores a time column (``docs/format.md``,
"Time part"):

* a ``DatetimeIndex`` (naive or with a zone; unit s, ms, us or ns): ISO times whose fraction
  has as many digits as the unit (0, 3, 6, 9), in the index's zone (``Z`` for UTC, each
  row's offset for a fixed or named zone, none for naive times);
* another numeric index, or a numeric ``time_column``: numbers (integers as 64-bit
  integers, floats as they are);
* the default ``RangeIndex`` (0, 1, 2, ...; unnamed): no times.

Integer columns are stored as float64 exactly as ``hippo compress`` stores a CSV's integers:
an integer float64 cannot hold (beyond 2^53) is refused, naming the column, so the bound
holds against the value as written. The file records each column's dtype (its value kind,
``docs/format.md``; a file of float64 columns only is written as without it), and
:func:`read_hippo` gives an integer column back in its dtype where the bound (< 0.5) makes
the rounded value the original integer; ``dtype=`` overrides it.

pandas is imported when these functions are called, never at ``import hippo_cli``.
"""

from __future__ import annotations

import bisect
import datetime
import io
import os
from collections.abc import Mapping
from typing import IO, TYPE_CHECKING, Any

import numpy as np

from .errors import DataError, ParameterError

if TYPE_CHECKING:
    import pandas as pd

    from .codec.times import Times

#: Fraction digits of an ISO template for each pandas datetime unit, and back.
_UNIT_DIGITS = {"s": 0, "ms": 3, "us": 6, "ns": 9}
_PER_SECOND = {"s": 1, "ms": 10**3, "us": 10**6, "ns": 10**9}
_INT64_LIMIT = 2**63


def to_hippo(frame: pd.DataFrame, path: str | os.PathLike | IO[bytes],
             max_error: float | str | Mapping[str, float | str], *, level: str = "default",
             time_column: str | None = None, threads: int | None = None,
             force: bool = False) -> None:
    """Write ``frame`` (n rows) as a ``.hippo`` file: every column a channel of n samples.

    Parameters
    ----------
    frame : a DataFrame of numeric columns (int, uint or float dtypes, nullable ones too:
        missing values are stored as NaN, exactly). Column names must be unique strings.
    path : the file to write (it appears only when complete, through the one atomic helper;
        an existing file is refused unless ``force``), or a binary file object: the whole
        file is written to it at its current position once complete (nothing on an error).
    max_error : the bound of every finite value: an absolute number (> 0), a percentage of
        each column's range as the CLI takes it (``"1%"``), or a dict of either per column
        (every column named).
    level, threads : the encoder's search level ("fast", "default", "best") and threads, as
        for :func:`hippo_cli.encode`; the bytes do not depend on ``threads``.
    time_column : a numeric column to store as the times (the index must then be the
        default RangeIndex). Without it the index is the times (see the module's docstring).

    Each column's dtype is recorded as its value kind (int8 ... uint64, float16, float32;
    float64 and nullable floats record nothing, so a frame of float64 columns is written
    exactly as without kinds): :func:`read_hippo` gives integer columns back in their dtype.

    A column or index the format cannot keep (object, bool, timestamps as data, a MultiIndex,
    NaT or non-finite times, integers beyond 2^53) is a ParameterError or DataError naming
    it. Times may repeat or go back: a ``.hippo`` file keeps them in the order given.
    """
    import pandas as pd

    from .codec.container import HippoWriter, header_with_times

    if not isinstance(frame, pd.DataFrame):
        raise ParameterError(f"to_hippo takes a pandas DataFrame, got {type(frame).__name__}")
    if isinstance(frame.columns, pd.MultiIndex):
        raise ParameterError("a frame with MultiIndex columns: flatten the names first")
    names = list(frame.columns)
    for name in names:
        if not isinstance(name, str):
            raise ParameterError(f"column names must be strings, got {name!r} (rename with "
                                 "frame.columns = frame.columns.astype(str))")
    if len(set(names)) != len(names):
        dup = next(n for n in names if names.count(n) > 1)
        raise ParameterError(f"column {dup!r} appears twice: names must be unique")
    to_object = hasattr(path, "write")
    target = None if to_object else os.fspath(path)
    if target is not None and os.path.lexists(target) and not force:
        raise ParameterError(f"{target}: exists (force=True replaces it)")
    times, time_name = _frame_times(frame, time_column)
    data = [n for n in names if n != time_column]
    if not data:
        raise ParameterError("no column to store besides the time column")
    if len(frame) == 0:
        raise DataError("the frame has no rows: no samples to store")
    values = np.empty((len(frame), len(data)))
    for j, name in enumerate(data):
        values[:, j] = column_floats(frame[name], name)
    bounds = _bounds(max_error, data, values)
    pattern = None
    if times is not None and times.iso:
        pattern = times.templates[int(times.fmt[0])]
    header = header_with_times(data, bounds, time_name, pattern, whole=True)
    header.kinds = [_kind_of(frame[name].dtype) for name in data]

    def write(fh: IO[bytes]) -> None:
        writer = HippoWriter(fh, header, level=level, threads=threads)
        try:
            writer.append(values, times)
            writer.close()
        finally:
            writer.stop_threads()

    if to_object:
        # coded in memory first (the compressed size): a failure writes nothing to it
        buf = io.BytesIO()
        write(buf)
        path.write(buf.getvalue())
        return
    from .atomic import AtomicFile

    with AtomicFile(target) as out:
        write(out.fh)
        out.commit()


def _frame_times(frame: pd.DataFrame, time_column: str | None) -> tuple[Times | None, str | None]:
    """(the times to store (n,) or None, the time column's name in the header: the index's
    name, ``""`` for an unnamed index)."""
    import pandas as pd

    index = frame.index
    if isinstance(index, pd.MultiIndex):
        raise ParameterError("a MultiIndex cannot be stored: reset_index() the levels that "
                             "are data, or keep one level as the times")
    if time_column is not None:
        if time_column not in frame.columns:
            raise ParameterError(f"time_column {time_column!r} is not a column "
                                 f"(columns: {', '.join(map(str, frame.columns))})")
        if not _default_range(index):
            raise ParameterError(f"time_column {time_column!r} with an index that is not the "
                                 "default RangeIndex: the index would be lost "
                                 "(reset_index(drop=True) first, or store the index as the times)")
        return _times_of(frame[time_column], time_column), time_column
    if _default_range(index):
        return None, None
    name = "" if index.name is None else index.name
    if not isinstance(name, str):
        raise ParameterError(f"the index's name must be a string, got {name!r}")
    return _times_of(index.to_series(index=pd.RangeIndex(len(index))), name or "the index"), name


def _default_range(index: Any) -> bool:
    """Whether ``index`` is 0, 1, ..., n-1 without a name: rows that carry no time."""
    import pandas as pd

    return (isinstance(index, pd.RangeIndex) and index.start == 0 and index.step == 1
            and index.name is None)


def _times_of(series: pd.Series, what: str) -> Times:
    """The exact times of a datetime or numeric column (or index as a column)."""
    from .codec.times import Times
    from .formats.timestamps import times_of_datetimes

    kind = series.dtype.kind
    if kind == "M":
        bad = series.isna().to_numpy()
        if bad.any():
            raise DataError(f"{what}: row {int(np.argmax(bad))} has no time (NaT)")
        return times_of_datetimes(series, _UNIT_DIGITS[series.dt.unit])
    if kind in "iu" and not series.hasnans:
        raw = series.to_numpy()
        if kind == "u" and len(raw) and int(raw.max()) >= _INT64_LIMIT:
            raise DataError(f"{what}: row {int(np.argmax(raw >= _INT64_LIMIT))}: time "
                            "beyond 64-bit integers")
        return Times.numbers(raw.astype(np.int64))
    if kind in "iuf":
        t = series.to_numpy(dtype=np.float64, na_value=np.nan)
        bad = ~np.isfinite(t)
        if bad.any():
            raise DataError(f"{what}: row {int(np.argmax(bad))}: time {t[bad][0]} is not finite")
        return Times.numbers(t)
    raise ParameterError(f"{what}: times of dtype {series.dtype} cannot be stored (datetimes, "
                         "integers or floats)")


def column_floats(series: pd.Series, name: str) -> np.ndarray:
    """The float64 values (n,) of one data column: integers exactly or refused (the CLI's
    rule for CSV, .npy and Parquet), missing values (NaN, None, pd.NA) as NaN."""
    from .formats.source import Samples

    kind = series.dtype.kind
    if kind not in "iuf":
        raise ParameterError(f"column {name!r}: dtype {series.dtype} is not numbers "
                             "(int, uint or float); convert it or leave the column out")
    if kind in "iu":
        missing = series.isna().to_numpy()
        numpy_dtype = getattr(series.dtype, "numpy_dtype", series.dtype)  # Int64 -> int64
        ints = series.to_numpy(dtype=numpy_dtype, na_value=0)  # 0: exact, NaN put back
        checker = Samples("frame", [name], "frame", None, exact_integers=True)
        out = checker.floats(ints, 0, [name])  # "frame, row 3: column 'n': the integer ..."
        out[missing] = np.nan
        return out
    return series.to_numpy(dtype=np.float64, na_value=np.nan)


def _kind_of(dtype: Any) -> int:
    """The value kind code (docs/format.md, "Value kinds") of a column's dtype: its numpy
    dtype's (nullable ``Int64``: int64's), 0 for float64 and anything without a code."""
    from .codec.container import KIND_FLOAT64, VALUE_KINDS

    numpy_dtype = np.dtype(getattr(dtype, "numpy_dtype", dtype))
    codes = {np.dtype(name): code for code, name in VALUE_KINDS.items() if name is not None}
    return codes.get(numpy_dtype, KIND_FLOAT64)


def _bounds(max_error: float | str | Mapping[str, float | str], names: list[str],
            values: np.ndarray) -> list[float]:
    """The absolute bound of each column of ``values`` (n, C)."""
    from .pipelines.bounded import MaxError

    if isinstance(max_error, Mapping):
        missing = [n for n in names if n not in max_error]
        extra = [k for k in max_error if k not in names]
        if missing or extra:
            raise ParameterError("max_error: one bound per column; "
                                 + (f"none for {missing}" if missing else f"no column {extra}"))
        specs = [max_error[n] for n in names]
    else:
        specs = [max_error] * len(names)
    bounds = []
    for j, (name, spec) in enumerate(zip(names, specs)):
        if isinstance(spec, bool) or not isinstance(spec, (int, float, str, np.number)):
            raise ParameterError(f"max_error of column {name!r}: a number or a percentage "
                                 f"like '1%', got {spec!r}")
        try:
            parsed = MaxError.parse(spec)
        except ParameterError as err:
            raise ParameterError(f"column {name!r}: {err}") from None
        lo, hi = _finite_range(values[:, j]) if parsed.percent else (0.0, 0.0)
        bounds.append(parsed.bounds(np.array([lo]), np.array([hi]))[0])
    return bounds


def _finite_range(col: np.ndarray) -> tuple[float, float]:
    """A column's least and greatest finite value (0, 0 without any), as the CLI takes the
    range of a percentage bound."""
    lo, hi = col.min(initial=np.inf), col.max(initial=-np.inf)
    if not (np.isfinite(lo) and np.isfinite(hi)):  # NaN or inf among the values
        finite = col[np.isfinite(col)]
        lo, hi = finite.min(initial=np.inf), finite.max(initial=-np.inf)
    return (0.0, 0.0) if lo > hi else (float(lo), float(hi))


def read_hippo(path: str | os.PathLike | IO[bytes], start: int | None = None,
               stop: int | None = None, *, columns: list[str] | None = None,
               dtype: Mapping[str, Any] | None = None, tz: Any = None,
               threads: int | None = None) -> pd.DataFrame:
    """Samples ``start`` to ``stop - 1`` (sample indices, negative ones from the end, as a
    slice) of a ``.hippo`` file as a DataFrame, decoding only the frames they overlap.

    Columns are the channels as written (``columns``: some of them, in that order): float64,
    but a column the file records as integers (``to_hippo`` of an int or uint column) whose
    bound is below 0.5 comes back in its dtype (a file that says only "integer": int64), its
    decoded values rounded - exactly the integers written; if it holds NaN (a nullable
    column's missing values), as pandas' nullable dtype of it (``Int64``, ...) with ``<NA>``
    there. An integer column whose bound is 0.5 or more, or that holds inf, stays float64:
    rounding would not give the integers written. (``hippo_cli.decode`` and
    ``HippoReader.read`` always give float64.)
    The index: a DatetimeIndex for ISO times (its unit from the times' fraction digits: 0
    ``s``, up to 3 ``ms``, 6 ``us``, 9 ``ns``, coarser where nanoseconds cannot hold the
    dates; its zone: none, UTC for ``Z``, the fixed offset all times share, else UTC - a
    named zone is stored as each row's offset, ``tz_convert`` restores it), an int64 or
    float64 index for numbers, named as the time column; a RangeIndex (start to stop) for a
    file without times.

    ``dtype``: overrides a column's dtype: an integer dtype (``{"count": "int64"}``, for a
    file that does not record integers, written by ``hippo compress``) gives the decoded
    values rounded, which are the original integers because the bound is below 0.5 - a
    column whose bound is not, that holds NaN or inf, or a value with no integer within its
    bound (it was not written as integers), is a ParameterError naming it; ``"float64"``
    gives the decoded values as they are.

    ``tz``: the zone to show zoned times in (``"Europe/Paris"``: what a named zone's index
    was, which the file keeps only as each time's offset).
    """
    import pandas as pd

    from .codec.container import HippoReader, open_hippo
    from .codec.times import Times

    if hasattr(path, "read"):
        reader = HippoReader(path, getattr(path, "name", "<file object>"), owns=False,
                             threads=threads)
    else:
        reader = open_hippo(path, threads=threads)
    with reader:
        header = reader.header
        wanted = list(header.channels) if columns is None else list(columns)
        for name in wanted:
            if name not in header.channels:
                raise ParameterError(f"no column {name!r} in {reader.path} (columns: "
                                     f"{', '.join(header.channels)})")
        picks = [header.channels.index(n) for n in wanted]
        # every channel in order: a view of each frame's values, no copy of its columns
        take = slice(None) if picks == list(range(len(header.channels))) else picks
        lo, hi, _ = slice(start, stop).indices(reader.samples)
        hi = max(lo, hi)
        starts = [f.start for f in reader.index]
        first = max(0, bisect.bisect_right(starts, lo) - 1)
        last = bisect.bisect_left(starts, hi)
        values, times = [], []
        for frame in (reader.frames(first, last) if hi > lo else ()):
            a, b = max(lo - frame.start, 0), min(hi - frame.start, len(frame.values))
            part = frame.values[a:b, take]
            # a part of a frame is copied, so that the frame's memory is not kept alive
            values.append(part if b - a == len(frame.values) else part.copy())
            if frame.times is not None:
                times.append(frame.times[a:b])
        out = (values[0] if len(values) == 1 else np.concatenate(values) if values
               else np.empty((0, len(picks))))
        if not header.timed:
            index = pd.RangeIndex(lo, hi)
        else:
            name = header.time_column or None
            if times:
                joined = Times.join(times)
            elif reader.index:  # no sample in range: the kind of the file's first times
                joined = reader.frame_times(reader.index[0])[:0]
            else:
                joined = Times.numbers(np.empty(0, np.int64))
            index = _index_of(joined, name, header.time_kind, reader.path)
        bounds = {n: header.max_errors[c] for n, c in zip(wanted, picks)}
        kinds = {n: header.kind_codes()[c] for n, c in zip(wanted, picks)}
    if tz is not None:
        if not isinstance(index, pd.DatetimeIndex) or index.tz is None:
            raise ParameterError(f"tz={tz!r}: the file's times have no zone (tz is for times "
                                 "stored with one)")
        index = index.tz_convert(tz)
    # the decoded (n, C) array is this frame's own: kept as its block, not copied
    frame = pd.DataFrame(out, index=index, columns=pd.Index(wanted), copy=False)
    dtype = dict(dtype or {})
    for name in dtype:
        if name not in wanted:
            raise ParameterError(f"dtype: no column {name!r} among {wanted}")
    for name in wanted:
        if name in dtype:
            frame[name] = _as_integers(frame[name], name, bounds[name], dtype[name])
        elif bounds[name] < 0.5:
            recorded = _recorded_integers(frame[name], name, bounds[name], kinds[name],
                                          reader.path)
            if recorded is not None:
                frame[name] = recorded
    return frame


def _recorded_integers(series: pd.Series, name: str, bound: float, code: int,
                       path: str) -> pd.Series | None:
    """``series`` (decoded float64 (n,), its bound below 0.5) as the integers its value
    kind ``code`` says were written, or None for a kind that is not integers. Rounding is
    exact here; a value with no integer within the bound, or beyond the dtype, breaks the
    file's own promise: a DataError."""
    import pandas as pd

    from .codec.container import KIND_INTEGER, VALUE_KINDS

    target = np.dtype("int64" if code == KIND_INTEGER else VALUE_KINDS[code])
    if target.kind not in "iu":
        return None
    values = series.to_numpy()
    if np.isinf(values).any():  # the format allows them in any kind: no integer column
        return None
    missing = np.isnan(values)
    rounded = np.rint(np.where(missing, 0.0, values))
    info = np.iinfo(target)
    bad = ~missing & ((np.abs(values - rounded) > bound) | (rounded < info.min)
                      | (rounded >= float(info.max) + 1))  # float(2^63 - 1) is 2^63
    if bad.any():
        row = int(np.argmax(bad))
        raise DataError(f"{path}: column {name!r} is recorded as {target} but row {row} "
                        f"decodes to {float(values[row])!r}: the file is damaged")
    ints = rounded.astype(target)
    if missing.any():  # pandas' nullable integers hold the missing values
        nullable = pd.array(ints, dtype=pd.api.types.pandas_dtype(target.name.capitalize()
                                                                  .replace("Ui", "UI")))
        nullable[missing] = pd.NA
        return pd.Series(nullable, index=series.index, name=name)
    return pd.Series(ints, index=series.index, name=name)


def _index_of(times: Times, name: str | None, time_kind: int, path: str) -> pd.Index:
    """The index of decoded ``times``: numbers as int64 or float64, ISO times as a
    DatetimeIndex in the unit and zone their templates say."""
    import pandas as pd

    from .codec.container import TIME_ISO

    if time_kind != TIME_ISO or not times.iso:
        if times.ints is not None:
            return pd.Index(times.ints, dtype=np.int64, name=name)
        return pd.Index(times.seconds, dtype=np.float64, name=name)
    from .codec.times import zone_of_template

    used = np.unique(times.fmt).tolist() if len(times) else [0]
    templates = [times.templates[k] for k in used]
    digits = max(_fraction_digits(t) for t in templates)
    want = "s" if digits == 0 else "ms" if digits <= 3 else "us" if digits <= 6 else "ns"
    secs, nanos = times.ints, times.nanos
    units = list(_PER_SECOND)
    ticks = None
    for unit in units[units.index(want)::-1]:  # the wanted unit, else a coarser exact one
        per = _PER_SECOND[unit]
        step = 10**9 // per
        fits = not len(secs) or (int(np.abs(secs).max()) + 1) * per < _INT64_LIMIT
        if fits and not np.any(nanos % step):
            ticks = secs * per + nanos // step
            break
    if ticks is None:
        raise DataError(f"{path}: times with a fraction pandas cannot hold at these dates "
                        "(nanoseconds before 1677 or after 2262)")
    zones = {zone_of_template(t) for t in templates}
    stamps = ticks.astype(f"datetime64[{unit}]")
    if zones == {("", 0)}:  # naive times (the instants are their wall-clock times)
        return pd.DatetimeIndex(stamps, name=name)
    utc = pd.DatetimeIndex(stamps, name=name).tz_localize("UTC")
    if len(zones) == 1 and "" not in {z for z, _ in zones}:
        zone, offset = zones.pop()
        if zone == "Z":
            return utc
        return utc.tz_convert(datetime.timezone(datetime.timedelta(seconds=offset)))
    return utc  # several offsets (a named zone): the instants, in UTC


def _fraction_digits(template: str) -> int:
    """How many fraction digits an ISO or field template writes."""
    for mark in (".", ","):
        if mark in template:
            tail = template.split(mark, 1)[1]
            return len(tail) - len(tail.lstrip("#"))
    return template.count("f")


def _as_integers(series: pd.Series, name: str, bound: float, kind: Any) -> pd.Series:
    """``series`` (decoded float64) as the integers it was written as."""
    target = np.dtype(kind)
    if target == np.float64:
        return series
    if target.kind not in "iu":
        raise ParameterError(f"dtype of column {name!r}: an integer dtype or float64, got "
                             f"{kind!r}")
    if not bound < 0.5:
        raise ParameterError(f"column {name!r}: its bound {bound:g} is not below 0.5, so "
                             "the decoded values do not determine the integers written; "
                             "store it with a bound below 0.5 to read it back as integers")
    values = series.to_numpy()
    if not np.isfinite(values).all():
        raise ParameterError(f"column {name!r} holds NaN or inf: not integers "
                             "(read it as float64)")
    rounded = np.rint(values)
    off = np.abs(values - rounded) > bound  # no integer within the bound: not written as one
    if off.any():
        row = int(np.argmax(off))
        raise ParameterError(f"column {name!r}: row {row} decodes to {float(values[row])!r}, "
                             f"with no integer within its bound {bound:g}: it was not written "
                             "as integers")
    info = np.iinfo(target)
    if len(rounded) and (rounded.min() < info.min or rounded.max() >= float(info.max) + 1):
        raise ParameterError(f"column {name!r}: values beyond {target}")
    return series.__class__(rounded.astype(target), index=series.index, name=name)
