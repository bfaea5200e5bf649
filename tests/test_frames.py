"""pandas DataFrames as .hippo files (``to_hippo`` / ``read_hippo``), checked against the
original frame, against the file's own reader, against the CLI on the same CSV (byte for
byte), and the Parquet ``--id-column`` inputs (local and Dask engines)."""

from __future__ import annotations

import datetime
import io
import os

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_cli import hippo

from hippo_cli import DataError, ParameterError, encode, open_hippo, read_hippo, to_hippo
from hippo_cli.codec import HippoReader

UNITS = ["s", "ms", "us", "ns"]
ZONES = [None, "UTC", "Europe/Berlin", "America/St_Johns",
         datetime.timezone(datetime.timedelta(hours=5, minutes=30))]
NAMES = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=6)


@st.composite
def frames(draw):
    """(frame, max_error dict, integer columns kept exactly): random walks of a few columns,
    float and integer, with a DatetimeIndex (any unit, naive or zoned), a numeric index, or
    none; each column its bound (absolute or a percentage)."""
    n = draw(st.integers(1, 400))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    names = draw(st.lists(NAMES, min_size=1, max_size=4, unique=True))
    data, bounds, exact_ints = {}, {}, []
    for name in names:
        kind = draw(st.sampled_from(["float", "int64", "int32", "uint16", "Int64"]))
        if kind == "float":
            scale = draw(st.sampled_from([1e-3, 1.0, 1e4]))
            col = np.cumsum(rng.standard_normal(n)) * scale
            if draw(st.booleans()):
                col[rng.random(n) < 0.05] = np.nan
            data[name] = col
        else:
            walk = np.cumsum(rng.integers(-5, 6, n))
            if kind == "uint16":
                walk = walk - walk.min()
            data[name] = pd.array(walk, dtype=kind) if kind == "Int64" else walk.astype(kind)
        bound = draw(st.one_of(st.floats(1e-3, 3.0), st.sampled_from(["0.5%", "2%"])))
        if kind != "float" and kind != "Int64" and draw(st.booleans()):
            bound = draw(st.floats(1e-3, 0.49))
            exact_ints.append(name)
        bounds[name] = bound
    index_kind = draw(st.sampled_from(["range", "datetime", "int", "float"]))
    index_name = draw(st.one_of(st.none(), NAMES.filter(lambda s: s not in names)))
    if index_kind == "datetime":
        unit = draw(st.sampled_from(UNITS))
        per = {"s": 1, "ms": 10**3, "us": 10**6, "ns": 10**9}[unit]
        start = draw(st.integers(-2 * 10**9, 4 * 10**9)) * per  # 1906 .. 2096
        steps = rng.integers(draw(st.sampled_from([0, 1])), 10 * per, n)  # repeats allowed
        ticks = start + np.cumsum(steps)
        index = pd.DatetimeIndex(ticks.astype(f"datetime64[{unit}]"), name=index_name)
        zone = draw(st.sampled_from(ZONES))
        if zone is not None:
            index = index.tz_localize("UTC").tz_convert(zone)
    elif index_kind == "int":
        index = pd.Index(np.cumsum(rng.integers(-3, 50, n)) + 2**40, name=index_name)
    elif index_kind == "float":
        index = pd.Index(np.cumsum(rng.random(n)) * 0.1, name=index_name)
    else:
        index = pd.RangeIndex(n)
    return pd.DataFrame(data, index=index), bounds, exact_ints


def _absolute(bound, col: np.ndarray) -> float:
    """The absolute bound of a column (a percentage of its finite range, as the CLI)."""
    if isinstance(bound, str):
        p = float(bound[:-1]) / 100
        finite = col[np.isfinite(col)]
        return p * float(finite.max()) - p * float(finite.min()) if len(finite) else 0.0
    return bound


def _check_index(back: pd.Index, orig: pd.Index) -> None:
    """The index as written: equal, with its unit and zone; a named zone comes back as its
    offsets (one fixed offset, or UTC) and equals the original once converted to it."""
    named = (isinstance(orig, pd.DatetimeIndex) and orig.tz is not None
             and not isinstance(orig.tz, datetime.timezone) and str(orig.tz) != "UTC")
    pd.testing.assert_index_equal(back.tz_convert(orig.tz) if named else back, orig)


@given(case=frames(), cut=st.tuples(st.integers(-50, 450), st.integers(-50, 450)))
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_round_trip(case, cut):
    frame, bounds, exact_ints = case
    buf = io.BytesIO()
    to_hippo(frame, buf, bounds, threads=1)
    buf.seek(0)
    back = read_hippo(buf)  # the file records which columns were integers, and their dtype
    buf.seek(0)
    with HippoReader(buf, "buf", owns=False) as reader:
        stored = dict(zip(reader.header.channels, reader.header.max_errors))
    buf.seek(0)
    asked = read_hippo(buf, dtype={c: str(frame[c].dtype) for c in exact_ints})
    pd.testing.assert_index_equal(back.columns, frame.columns)
    _check_index(back.index, frame.index)
    for name in frame.columns:
        orig = frame[name].to_numpy(dtype=np.float64, na_value=np.nan)
        if name in exact_ints:  # dtype= as an explicit override still gives them
            assert asked[name].dtype == frame[name].dtype
            np.testing.assert_array_equal(asked[name].to_numpy(), frame[name].to_numpy())
        integers = frame[name].dtype.kind in "iu"
        if integers and stored[name] < 0.5:  # integers back as the same integers, in their
            # dtype (a nullable Int64 without missing values: int64, nullability is not kept)
            want = np.dtype(getattr(frame[name].dtype, "numpy_dtype", frame[name].dtype))
            assert back[name].dtype == want
            np.testing.assert_array_equal(back[name].to_numpy(), frame[name].to_numpy(want))
            continue
        assert back[name].dtype == np.float64  # floats, and integers with a bound >= 0.5
        got = back[name].to_numpy(dtype=np.float64)
        finite = np.isfinite(orig)
        np.testing.assert_array_equal(np.isnan(got), np.isnan(orig))  # NaN kept exactly
        assert np.all(np.abs(got[finite] - orig[finite]) <= _absolute(bounds[name], orig))
    # a range of rows is the same rows of the whole read
    buf.seek(0)
    whole = read_hippo(buf)
    buf.seek(0)
    part = read_hippo(buf, *cut)
    pd.testing.assert_frame_equal(part, whole.iloc[slice(*cut)])


@pytest.mark.parametrize("unit", UNITS)
@pytest.mark.parametrize("frame_samples", [7, 64, 10**6])
def test_ranges_over_many_frames(tmp_path, unit, frame_samples):
    """start/stop read only the frames they overlap: equal to slicing the whole read and
    to the reader's own read, across frame edges."""
    n = 300
    t = pd.date_range("2026-03-29 00:30", periods=n, freq="7min", tz="Europe/Berlin",
                      unit=unit)
    x = np.column_stack([np.sin(np.arange(n) / 9), np.cumsum(np.ones(n))])
    path = tmp_path / "m.hippo"
    path.write_bytes(encode(x, [0.01, 0.2], times=t.tz_convert("UTC").tz_localize(None)
                            .to_numpy(), names=["s", "c"], frame_samples=frame_samples))
    whole = read_hippo(path)
    assert whole.index.name == "time" and whole.index.unit == unit
    with open_hippo(path) as f:
        for start, stop in [(0, n), (5, 6), (6, 8), (63, 130), (-10, None), (None, -290),
                            (200, 100), (n, n + 5)]:
            part = read_hippo(path, start, stop)
            pd.testing.assert_frame_equal(part, whole.iloc[start:stop])
            values, times = f.read(start, stop)
            np.testing.assert_array_equal(part.to_numpy(), values)
            np.testing.assert_array_equal(part.index.to_numpy(), times)


def test_columns_and_integer_dtypes(tmp_path):
    frame = pd.DataFrame({"a": np.arange(10) * 0.5, "n": np.arange(10) * 3 - 7,
                          "u": np.arange(10, dtype=np.uint8)})
    to_hippo(frame, tmp_path / "c.hippo", {"a": 0.01, "n": 0.49, "u": "1%"})
    back = read_hippo(tmp_path / "c.hippo", columns=["n", "a"], dtype={"n": "int64"})
    assert list(back.columns) == ["n", "a"] and back["n"].dtype == np.int64
    np.testing.assert_array_equal(back["n"], frame["n"])
    with pytest.raises(ParameterError, match="'a': row 1 decodes to 0.5.*not written as"):
        read_hippo(tmp_path / "c.hippo", dtype={"a": "int64"})  # halves are no integers
    to_hippo(frame, tmp_path / "c.hippo", 0.5, force=True)
    with pytest.raises(ParameterError, match="'n': its bound 0.5 is not below 0.5"):
        read_hippo(tmp_path / "c.hippo", dtype={"n": "int64"})
    with pytest.raises(ParameterError, match="no column 'zz'"):
        read_hippo(tmp_path / "c.hippo", columns=["zz"])
    with pytest.raises(ParameterError, match="an integer dtype or float64"):
        read_hippo(tmp_path / "c.hippo", dtype={"n": "float32"})


INT_DTYPES = ["int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64"]


@pytest.mark.parametrize("dtype", INT_DTYPES)
def test_integer_columns_come_back_in_their_dtype(dtype):
    """Without dtype=: an integer column in its dtype when its bound is below 0.5 (the
    decoded values rounded: the integers written, to the type's edges), float64 within the
    bound when it is not; a float column stays float64."""
    info = np.iinfo(dtype)
    rng = np.random.default_rng(len(dtype))
    lo, hi = max(int(info.min), -(2**53)), min(int(info.max), 2**53)
    ints = np.concatenate([[lo, hi, 0], rng.integers(lo // 2, hi // 2, 500, endpoint=True)])
    col = np.cumsum(rng.integers(-3, 4, 500)) + 100  # a walk the bounds below change
    frame = pd.DataFrame({"n": ints.astype(dtype), "w": col[np.arange(503) % 500]
                          .astype(dtype), "f": np.linspace(0, 1, 503)})
    for bound in (1e-9, 0.2, 0.4999):
        buf = io.BytesIO()
        to_hippo(frame, buf, {"n": bound, "w": bound, "f": 0.01}, threads=1)
        buf.seek(0)
        back = read_hippo(buf)
        assert [str(d) for d in back.dtypes] == [dtype, dtype, "float64"]
        pd.testing.assert_series_equal(back["n"], frame["n"])
        pd.testing.assert_series_equal(back["w"], frame["w"])
    buf = io.BytesIO()
    to_hippo(frame[["w"]], buf, 0.5, threads=1)  # rounding no longer gives the integers
    buf.seek(0)
    back = read_hippo(buf)["w"]
    assert back.dtype == np.float64
    assert np.all(np.abs(back.to_numpy() - frame["w"].to_numpy(np.float64)) <= 0.5)


@pytest.mark.parametrize("dtype", ["Int8", "Int64", "UInt16", "UInt64"])
def test_nullable_integers_come_back_with_their_missing_values(dtype):
    values = pd.array([3, None, 5, 7, None, 0], dtype=dtype)
    frame = pd.DataFrame({"n": values})
    buf = io.BytesIO()
    to_hippo(frame, buf, 0.3, threads=1)
    buf.seek(0)
    back = read_hippo(buf)
    pd.testing.assert_frame_equal(back, frame)  # the same nullable dtype, <NA> where missing
    buf.seek(0)
    plain = read_hippo(buf, dtype={"n": "float64"})  # the override: the decoded float64
    assert plain["n"].dtype == np.float64 and plain["n"].isna().tolist() == [
        False, True, False, False, True, False]


def test_a_float_column_of_integers_stays_float64():
    """The kind comes from the dtype, not from the values: float64 integers stay float64
    and the file is the one written before value kinds existed."""
    frame = pd.DataFrame({"x": np.arange(100, dtype=np.float64)})
    buf = io.BytesIO()
    to_hippo(frame, buf, 0.1, threads=1)
    assert buf.getvalue() == encode(np.arange(100.0), 0.1, names=["x"], threads=1)
    buf.seek(0)
    assert read_hippo(buf)["x"].dtype == np.float64


def test_cli_reconstructs_a_frame_file(tmp_path):
    """``hippo reconstruct`` of a to_hippo file: the times as ISO text of the index's unit
    and zone, every value within its bound."""
    n = 500
    index = pd.date_range("2026-01-01", periods=n, freq="250ms", tz="UTC", unit="ms",
                          name="when")
    frame = pd.DataFrame({"temp": np.cumsum(np.sin(np.arange(n))), "n": np.arange(n) % 7},
                         index=index)
    to_hippo(frame, tmp_path / "f.hippo", {"temp": 0.05, "n": 0.25})
    res = hippo("reconstruct", tmp_path / "f.hippo", "-o", tmp_path / "out.csv")
    assert res.exit_code == 0, res.stderr
    out = pd.read_csv(tmp_path / "out.csv", dtype={"when": str})
    assert list(out.columns) == ["when", "temp", "n"]
    assert out["when"].tolist() == [t.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
                                    for t in index]
    assert np.all(np.abs(out["temp"] - frame["temp"].to_numpy()) <= 0.05)
    assert np.all(np.abs(out["n"] - frame["n"].to_numpy()) <= 0.25)


def test_cli_writes_recorded_integers_as_integers(tmp_path):
    """``hippo reconstruct`` of a file that records integer columns: those with a bound below
    0.5 as the integers written (``5``, empty for a missing value), every other column as the
    same text as for the file without kinds; Parquet keeps them float64, exact."""
    rng = np.random.default_rng(11)
    n = 3000
    counts = pd.array(np.cumsum(rng.integers(-40, 41, n)), dtype="Int64")
    counts[[3, 700]] = pd.NA
    frame = pd.DataFrame({"x": np.cumsum(rng.standard_normal(n)), "n": counts,
                          "m": np.cumsum(rng.integers(0, 9, n)).astype(np.int32)})
    bounds = {"x": 0.01, "n": 0.4, "m": 0.6}
    to_hippo(frame, tmp_path / "k.hippo", bounds)
    to_hippo(frame.astype({"n": "Float64", "m": np.float64}), tmp_path / "f.hippo", bounds)
    for name in ("k", "f"):
        res = hippo("reconstruct", tmp_path / f"{name}.hippo", "-o", tmp_path / f"{name}.csv")
        assert res.exit_code == 0, res.stderr
    kinds = [line.split(",") for line in (tmp_path / "k.csv").read_text().splitlines()]
    plain = [line.split(",") for line in (tmp_path / "f.csv").read_text().splitlines()]
    assert kinds[0] == plain[0] == ["sample", "x", "n", "m"]
    want = ["" if v is pd.NA else str(v) for v in counts.tolist()]
    assert [row[2] for row in kinds[1:]] == want
    assert any("." in row[2] for row in plain[1:])  # without kinds: decoded floats
    for col in (0, 1, 3):  # the other columns: the text of the file without kinds
        assert [row[col] for row in kinds] == [row[col] for row in plain]
    res = hippo("reconstruct", tmp_path / "k.hippo", "-o", tmp_path / "k.parquet")
    assert res.exit_code == 0, res.stderr
    back = pd.read_parquet(tmp_path / "k.parquet")
    assert back["n"].dtype == np.float64
    np.testing.assert_array_equal(back["n"], counts.to_numpy(np.float64, na_value=np.nan))


def test_same_bytes_as_the_cli_and_read_back_as_the_csv(tmp_path):
    """The CLI's compress of a CSV and to_hippo of that CSV read by pandas write the same
    bytes (the CLI does not record integer columns: the same as to_hippo of float64 columns;
    to_hippo of the int64 column records it, which is all that differs); read_hippo of the
    CLI's file with dtype= is the CSV's frame, and of to_hippo's without it."""
    n = 3000
    rng = np.random.default_rng(5)
    stamps = pd.date_range("2026-05-01", periods=n, freq="s").strftime("%Y-%m-%dT%H:%M:%S")
    temp = np.cumsum(rng.standard_normal(n)) * 0.1
    csv = tmp_path / "s.csv"
    pd.DataFrame({"time": stamps, "temp": [repr(float(v)) for v in temp],
                  "count": np.cumsum(rng.integers(0, 3, n))}).to_csv(csv, index=False)
    res = hippo("compress", csv, "--max-error", "0.25", "-t", "time", "-q")
    assert res.exit_code == 0, res.stderr
    want = pd.read_csv(csv, index_col="time", parse_dates=["time"])
    want.index = want.index.as_unit("s")  # times written to the second: unit s
    to_hippo(want.astype({"count": np.float64}), tmp_path / "lib.hippo", 0.25)
    assert (tmp_path / "lib.hippo").read_bytes() == (tmp_path / "s.hippo").read_bytes()
    to_hippo(want, tmp_path / "ints.hippo", 0.25)
    with open_hippo(tmp_path / "ints.hippo") as ints, open_hippo(tmp_path / "s.hippo") as cli:
        assert ints.header.kinds == [0, 7] and cli.header.kinds == []  # float64, int64
        assert [f.samples for f in ints.index] == [f.samples for f in cli.index]
        assert ints.read()[0].tobytes() == cli.read()[0].tobytes()  # the same samples
    asked = read_hippo(tmp_path / "s.hippo", dtype={"count": "int64"})
    assert read_hippo(tmp_path / "s.hippo")["count"].dtype == np.float64  # no kinds recorded
    for got in (asked, read_hippo(tmp_path / "ints.hippo")):
        pd.testing.assert_index_equal(got.index, want.index)
        pd.testing.assert_series_equal(got["count"], want["count"])
        assert np.all(np.abs(got["temp"] - want["temp"]) <= 0.25)


def test_cli_percentage_bounds_match(tmp_path):
    """``"1%"`` is the CLI's --max-error 1%: the same bounds and the same file."""
    frame = pd.DataFrame({"a": np.sin(np.arange(2000) / 50) * 40 + 3,
                          "b": np.cumsum(np.cos(np.arange(2000)))})
    frame.to_csv(tmp_path / "p.csv", index=False, float_format="%.17g")
    assert hippo("compress", tmp_path / "p.csv", "-E", "1%", "-q").exit_code == 0
    to_hippo(pd.read_csv(tmp_path / "p.csv"), tmp_path / "lib.hippo", "1%")
    assert (tmp_path / "lib.hippo").read_bytes() == (tmp_path / "p.hippo").read_bytes()


def test_times_in_any_order_are_kept(tmp_path):
    """Repeated and backward times: a .hippo file keeps them in the order given."""
    index = pd.DatetimeIndex(["2026-01-01 00:00:05", "2026-01-01 00:00:01",
                              "2026-01-01 00:00:01", "2025-12-31 23:59:59"]).as_unit("s")
    frame = pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0]}, index=index)
    to_hippo(frame, tmp_path / "o.hippo", 0.1)
    pd.testing.assert_index_equal(read_hippo(tmp_path / "o.hippo").index, index)


def test_time_column_and_refusals(tmp_path):
    frame = pd.DataFrame({"t": np.arange(5) * 1.5, "x": np.arange(5.0)})
    to_hippo(frame, tmp_path / "t.hippo", 0.1, time_column="t")
    back = read_hippo(tmp_path / "t.hippo")
    pd.testing.assert_frame_equal(back, frame.set_index("t"))
    path = tmp_path / "t.hippo"
    before = path.read_bytes()
    cases = [
        (dict(frame=frame, max_error=0.1), ParameterError, "exists.*force=True"),
        (dict(frame=frame.assign(s=list("abcde")), max_error=0.1, force=True), ParameterError,
         "column 's': dtype"),
        (dict(frame=frame.assign(b=[True] * 5), max_error=0.1, force=True), ParameterError,
         "column 'b': dtype bool"),
        (dict(frame=frame.assign(n=[1, 2, 3, 4, 2**53 + 1]), max_error=0.1, force=True),
         DataError, "row 4: column 'n': the integer 9007199254740993"),
        (dict(frame=frame, max_error={"t": 0.1}, force=True), ParameterError,
         r"none for \['x'\]"),
        (dict(frame=frame, max_error={"t": 0.1, "x": 1, "y": 2}, force=True), ParameterError,
         r"no column \['y'\]"),
        (dict(frame=frame, max_error="200%", force=True), ParameterError, "below 100%"),
        (dict(frame=frame, max_error=-1, force=True), ParameterError, "finite number > 0"),
        (dict(frame=frame.set_index(["t", "x"]).assign(y=1.0), max_error=0.1, force=True),
         ParameterError, "MultiIndex"),
        (dict(frame=frame, max_error=0.1, time_column="nope", force=True), ParameterError,
         "'nope' is not a column"),
        (dict(frame=frame.set_index("t").assign(y=1.0), max_error=0.1, time_column="y",
              force=True), ParameterError, "not the default RangeIndex"),
        (dict(frame=frame.set_index(pd.DatetimeIndex(["2026-01-01", None, "2026-01-02",
                                                      "2026-01-03", "2026-01-04"])),
              max_error=0.1, force=True), DataError, "row 1 has no time"),
        (dict(frame=frame.set_index(pd.Index([0, 1, np.inf, 2, 3])), max_error=0.1,
              force=True), DataError, "row 2: time inf"),
        (dict(frame=frame.iloc[:0], max_error=0.1, force=True), DataError, "no rows"),
    ]
    for kw, error, message in cases:
        with pytest.raises(error, match=message):
            to_hippo(path=path, **kw)
        assert path.read_bytes() == before  # a refusal leaves the file as it was
    assert sorted(os.listdir(tmp_path)) == ["t.hippo"]  # and no temporary


def test_a_failed_write_leaves_nothing(tmp_path):
    """A year ISO text cannot write (10000) fails inside the writer: no file, no
    temporary."""
    index = pd.DatetimeIndex(np.array(["9999-12-31T23:59:59", "10000-01-01T00:00:00"],
                                      dtype="datetime64[s]"))
    frame = pd.DataFrame({"x": [1.0, 2.0]}, index=index)
    with pytest.raises(DataError, match="cannot be written"):
        to_hippo(frame, tmp_path / "y.hippo", 0.1)
    assert os.listdir(tmp_path) == []
    buf = io.BytesIO(b"kept")
    buf.seek(4)
    with pytest.raises(DataError, match="cannot be written"):
        to_hippo(frame, buf, 0.1)  # a file object gets nothing either
    assert buf.getvalue() == b"kept"


def test_named_zone_back_with_tz(tmp_path):
    """A named zone is stored as offsets: read across a daylight-saving change it comes back
    in UTC, and with ``tz=`` as it was; ``tz`` on times without a zone is refused."""
    index = pd.date_range("2026-10-25 00:00", periods=40, freq="10min", tz="Europe/Berlin",
                          unit="s", name="t")
    frame = pd.DataFrame({"x": np.arange(40.0)}, index=index)
    to_hippo(frame, tmp_path / "z.hippo", 0.01)
    assert str(read_hippo(tmp_path / "z.hippo").index.tz) == "UTC"
    pd.testing.assert_frame_equal(read_hippo(tmp_path / "z.hippo", tz="Europe/Berlin"), frame,
                                  check_freq=False)  # a file keeps times, not a frequency
    to_hippo(frame.tz_localize(None), tmp_path / "n.hippo", 0.01)
    with pytest.raises(ParameterError, match="no zone"):
        read_hippo(tmp_path / "n.hippo", tz="Europe/Berlin")


def test_import_does_not_load_pandas():
    import subprocess
    import sys

    code = ("import sys, hippo_cli\nfrom hippo_cli import to_hippo, read_hippo\n"
            "print('pandas' in sys.modules)")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60)
    assert res.stdout.strip() == "False", res.stderr


# ------------------------------------------------------------- Parquet with --id-column
def _long_parquet(path) -> pd.DataFrame:
    n = 900
    frame = pd.DataFrame({"id": np.repeat(["a", "b", "c"], n // 3),
                          "when": pd.date_range("2026-01-01", periods=n, freq="1s", tz="UTC",
                                                unit="ms"),
                          "v": np.sin(np.arange(n) / 30), "k": np.arange(n)})
    frame.to_parquet(path)
    return frame


def test_parquet_id_column_local(tmp_path):
    """Regression: a Parquet input with --id-column was read as CSV text ('not UTF-8
    text'); now each id is a series, within the bound, its times as stored."""
    frame = _long_parquet(tmp_path / "d.parquet")
    res = hippo("compress", tmp_path / "d.parquet", "--id-column", "id", "--max-error", "0.01",
                "-t", "when", "-o", f"{tmp_path / 'out'}/")
    assert res.exit_code == 0, res.stderr
    for sid, rows in frame.groupby("id"):
        back = read_hippo(tmp_path / "out" / f"{sid}.hippo")
        # the CLI writes Parquet times with the digits they need (whole seconds here)
        want = pd.DatetimeIndex(rows["when"], name="when").as_unit("s")
        pd.testing.assert_index_equal(back.index, want)
        assert np.all(np.abs(back[["v", "k"]].to_numpy() - rows[["v", "k"]].to_numpy())
                      <= 0.01)


@pytest.mark.slow
def test_parquet_id_column_dask_equals_local(tmp_path):
    """Regression: the Dask engine ended in 'internal error: UnicodeDecodeError' on Parquet
    (and in 'ISO times for a file whose header says numbers' with timestamps); now its files
    are the local engine's, byte for byte."""
    pytest.importorskip("distributed")
    _long_parquet(tmp_path / "d.parquet")
    for engine in ("local", "dask"):
        res = hippo("compress", tmp_path / "d.parquet", "--id-column", "id", "--max-error",
                    "0.01", "-t", "when", "--engine", engine, "-o", f"{tmp_path / engine}/")
        assert res.exit_code == 0, res.stderr
    for sid in "abc":
        assert (tmp_path / "dask" / f"{sid}.hippo").read_bytes() == \
            (tmp_path / "local" / f"{sid}.hippo").read_bytes()
