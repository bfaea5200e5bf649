"""Times are data: a ``.hippo`` file gives back every time exactly as it was written - ISO
text at each line's precision (nanoseconds included), with its separator and zone, any date
from year 0000 to 9999, integer epochs as integers, in any order - and reconstruct writes
the same text. HiPPO coefficients, whose steps need increasing times, refuse others by line.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_cli import assert_clean_failure, hippo

from hippo_cli import decode, encode
from hippo_cli.codec.times import Times, format_iso, parse_iso
from hippo_cli.formats.timestamps import read_times

PROPS = settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))

ZONES = ["", "Z", "+00", "+05:30", "-0800", "+14:00", "-00:30"]


@st.composite
def iso_times(draw) -> str:
    """One ISO time as a person or a logger might write it."""
    year = draw(st.integers(0, 9999))
    month = draw(st.integers(1, 12))
    day = draw(st.integers(1, 28))
    text = f"{year:04d}-{month:02d}-{day:02d}"
    if draw(st.booleans()):
        text += draw(st.sampled_from(["T", " "]))
        text += f"{draw(st.integers(0, 23)):02d}:{draw(st.integers(0, 59)):02d}"
        if draw(st.booleans()):
            text += f":{draw(st.integers(0, 59)):02d}"
            digits = draw(st.integers(0, 9))
            if digits:
                text += draw(st.sampled_from([".", ","])) + "".join(
                    str(draw(st.integers(0, 9))) for _ in range(digits))
    return text + draw(st.sampled_from(ZONES))


@PROPS
@given(texts=st.lists(iso_times(), min_size=1, max_size=40))
def test_iso_times_come_back_as_written(texts):
    """Any precision, separator, zone and order, in one frame and through the file."""
    times, bad = parse_iso(texts)
    assert bad is None and format_iso(times) == texts
    x = np.arange(len(texts), dtype=np.float64)
    data = encode(x, 0.5, times=times)
    from io import BytesIO

    from hippo_cli.codec import HippoReader

    with HippoReader(BytesIO(data), "f") as reader:
        back = Times.join([f.times for f in reader.frames()])
    assert back.text() == texts


def test_nanoseconds_and_dates_pandas_cannot_hold(tmp_path):
    src = tmp_path / "t.csv"
    stamps = ["1500-01-01T00:00:00.000000001Z", "2262-04-12T00:00:00.999999999+02:00",
              "0001-06-30 12:00", "9999-12-31T23:59:59.123456789-05:00",
              "2026-03-01T10:00:00", "2026-03-01T10:00:00.500"]
    src.write_text("when,v\n" + "".join(f"{s},{i}\n" for i, s in enumerate(stamps)))
    res = hippo("compress", src, "-E", "0.1", "-t", "when")
    assert res.exit_code == 0, res.stderr
    assert "not increasing" in res.stderr  # 0001 after 2262: kept as recorded, with a note
    out = hippo("reconstruct", tmp_path / "t.hippo").stdout.splitlines()
    assert [line.split(",")[0] for line in out] == ["when", *stamps]


def test_a_whole_second_first_line_does_not_cut_later_fractions(tmp_path):
    src = tmp_path / "f.csv"
    src.write_text("t,v\n2026-01-01T00:00:00,1\n2026-01-01T00:00:00.500,2\n"
                   "2026-01-01T00:00:01.25,3\n")
    assert hippo("compress", src, "-E", "0.1", "-t", "t", "-q").exit_code == 0
    out = hippo("reconstruct", tmp_path / "f.hippo").stdout.splitlines()
    assert [line.split(",")[0] for line in out[1:]] == [
        "2026-01-01T00:00:00", "2026-01-01T00:00:00.500", "2026-01-01T00:00:01.25"]


def test_integer_epochs_stay_integers(tmp_path):
    ns = [1700000000123456789, 1700000000123456790, 9223372036854775807, -5]
    src = tmp_path / "n.csv"
    src.write_text("epoch_ns,v\n" + "".join(f"{t},{i}\n" for i, t in enumerate(ns)))
    assert hippo("compress", src, "-E", "0.1", "-t", "epoch_ns", "-q").exit_code == 0
    out = hippo("reconstruct", tmp_path / "n.hippo").stdout.splitlines()
    assert [line.split(",")[0] for line in out[1:]] == [str(t) for t in ns]
    _, times = decode((tmp_path / "n.hippo").read_bytes())
    assert times.dtype == np.int64 and times.tolist() == ns


@pytest.mark.parametrize("text", ["2026-02-30", "2026-13-01T00:00", "2026-01-01T24:00",
                                  "2026-01-01T10:60", "2026-01-01T10:00:61", "2026-W01-1",
                                  "yesterday", "2026-01-01T10:00:00+25:00",
                                  "99999999999999999999"])
def test_not_a_time(text):
    times, bad = read_times([text])
    assert times is None and bad == 0


def test_one_rule_for_every_reader(tmp_path):
    """compress, stream and many series keep the same exact times."""
    stamps = ["2026-01-01T00:00:00.1+01:00", "2026-01-01T00:00:00.12+01:00",
              "2026-01-01T00:00:00.05+01:00"]
    body = "t,v\n" + "".join(f"{s},{i}\n" for i, s in enumerate(stamps))
    src = tmp_path / "s.csv"
    src.write_text(body)
    assert hippo("compress", src, "-E", "0.1", "-t", "t", "-q").exit_code == 0
    assert hippo("stream", "-E", "0.1", "-t", "t", "-o", tmp_path / "live.hippo",
                 input=body).exit_code == 0
    fleet = tmp_path / "fleet.csv"
    fleet.write_text("id,t,v\n" + "".join(f"a,{s},{i}\n" for i, s in enumerate(stamps)))
    assert hippo("compress", fleet, "--id-column", "id", "-t", "t", "-E", "0.1",
                 "-o", tmp_path / "many").exit_code == 0
    for f in (tmp_path / "s.hippo", tmp_path / "live.hippo", tmp_path / "many" / "a.hippo"):
        out = hippo("reconstruct", f).stdout.splitlines()
        assert [line.split(",")[0] for line in out[1:]] == stamps, f


def test_coefficients_need_increasing_times_everywhere(tmp_path):
    body = "t,v\n1,1\n3,2\n2,3\n"
    src = tmp_path / "s.csv"
    src.write_text(body)
    assert_clean_failure(hippo("compress", src, "-t", "t", "-N", 2), 1, "line 4",
                         "'2' goes back from '3'", "--max-error")
    assert_clean_failure(hippo("stream", "-t", "t", "-N", 2, input=body), 1, "line 4",
                         "goes back")
    fleet = tmp_path / "fleet.csv"
    fleet.write_text("id,t,v\na,1,1\na,3,2\na,2,3\n")
    assert_clean_failure(hippo("compress", fleet, "--id-column", "id", "-t", "t", "-N", 2,
                               "-o", tmp_path / "many"), 1, "series 'a'", "increasing")


def test_library_times_of_every_kind():
    x = np.arange(4.0)
    for times in (np.array([3, 1, 2, 2**62], np.int64), np.array([0.5, -1.25, 1e300, 3.0]),
                  np.array(["2026-01-01T00:00:00.123456789", "1700-01-01", "2026-01-01",
                            "2100-12-31T23:59:59"], "datetime64[ns]")):
        _, back = decode(encode(x, 0.1, times=times))
        assert back.dtype == times.dtype and np.array_equal(back, times)


# --------------------------------------------------------------------------- field templates
FIELD_DIRECTIVES = {"%Y": 4, "%m": 2, "%d": 2, "%H": 2, "%M": 2, "%S": 2}


@st.composite
def formatted_times(draw) -> tuple[str, list[str]]:
    """A strptime format of the fields a logger might use, in any order and with any
    separators (no zone), and times written in it."""
    date = draw(st.permutations(["%Y", "%m", "%d"]))
    clock = ["%H", "%M", "%S"][: draw(st.integers(0, 3))]
    seps = st.sampled_from(["/", "-", ".", " ", "_", ":", ""])
    fmt = date[0] + draw(seps) + date[1] + draw(seps) + date[2]
    if clock:
        fmt += draw(st.sampled_from([" ", "T", " @ ", ";"]))
        fmt += draw(st.sampled_from([":", ".", ""])).join(clock)
        if len(clock) == 3 and draw(st.booleans()):
            fmt += draw(st.sampled_from([".", ","])) + "%f"
    texts = []
    digits = draw(st.integers(1, 9))
    for _ in range(draw(st.integers(1, 30))):
        fields = {"%Y": draw(st.integers(0, 9999)), "%m": draw(st.integers(1, 12)),
                  "%d": draw(st.integers(1, 28)), "%H": draw(st.integers(0, 23)),
                  "%M": draw(st.integers(0, 59)), "%S": draw(st.integers(0, 59))}
        text = fmt
        for directive, width in FIELD_DIRECTIVES.items():
            text = text.replace(directive, f"{fields[directive]:0{width}d}")
        frac = "".join(str(draw(st.integers(0, 9))) for _ in range(digits))
        texts.append(text.replace("%f", frac))
    return fmt, texts


@PROPS
@given(case=formatted_times())
def test_field_templates_come_back_as_written(case):
    """Times read with a --time-format come back as the same text, through hippo's decoder
    and through the second decoder written from docs/format.md."""
    import reference_decoder as ref

    from hippo_cli.errors import DataError

    fmt, texts = case
    times, bad = parse_iso(texts, time_format=fmt)
    assert bad is None and format_iso(times) == texts
    k = max(len(t) - len(t.rstrip("0123456789")) if "%f" in fmt else 0 for t in texts)
    if "%f" in fmt and int(np.abs(times.ints).max()) * 10**k >= 2**62:
        # ticks beyond 62 bits: ISO text would be stored as text; a layout cannot be
        with pytest.raises(DataError, match="fraction digits"):
            encode(np.zeros(len(texts)), 0.5, times=times)
        return
    data = encode(np.zeros(len(texts)), 0.5, times=times)
    _, ref_times = ref.decode(data)
    assert ref_times == texts
    from io import BytesIO

    from hippo_cli.codec import HippoReader

    with HippoReader(BytesIO(data), "f") as reader:
        assert Times.join([f.times for f in reader.frames()]).text() == texts


@pytest.mark.parametrize("template", ["DD/MM/YYYY hh.mm.ss", "YYYYMMDD", "MM-DD-YYYY hh:mm",
                                      "DD.MM.YYYY hh:mm:ss,fff", "YYYY-MM-DDThh:mm:ss"])
def test_second_decoder_accepts_field_templates(template):
    import reference_decoder as ref

    ref.field_runs(template)
    assert ref.write_fields(template, 0, 0)[:4] in ("01/0", "1970", "01-0", "01.0")


@pytest.mark.parametrize("template", ["DD/MM hh", "YYYY-MM-DD mm", "YYYY-MM-DD hh:ss",
                                      "YYYY-MM-DD ff", "YYY-MM-DD", "YYYY-MM-DD-DD",
                                      "YYYY-MM-DD 1", "YYYY#MM#DD", "YYYY-MM-DD%",
                                      "YYYY-MM-DD hh:mm:ss.ffffffffff"])
def test_not_a_field_template(template):
    """Both sides refuse what the grammar rules out."""
    import reference_decoder as ref

    from hippo_cli.codec.times import _field_layout

    with pytest.raises(ValueError):
        ref.field_runs(template)
    with pytest.raises(ValueError):
        _field_layout(template)


def test_time_format_errors_are_one_line(tmp_path):
    src = tmp_path / "d.csv"
    src.write_text("Date,Time,x\n11/03/2004,18.00.00,1\n11/03/2004,19.00.00,2\n")
    result = hippo("compress", str(src), "-E", "0.1", "-t", "Date,Time",
                   "--time-format", "%d/%m/%Y %H.%M.%S %Z", "-o", str(tmp_path / "o.hippo"))
    assert_clean_failure(result, 1, "%Z is not supported")
    result = hippo("compress", str(src), "-E", "0.1", "-t", "Date,Time",
                   "--time-format", "%Y-%m-%d %H:%M:%S", "-o", str(tmp_path / "o.hippo"))
    assert_clean_failure(result, 1, "line 2")
    assert not (tmp_path / "o.hippo").exists()


@pytest.mark.parametrize("unit", ["s", "ms", "us", "ns"])
@pytest.mark.parametrize("tz", [None, "UTC", "Europe/Berlin", "+05:30"])
def test_parquet_timestamps_keep_their_instants(tmp_path, unit, tz):
    """Parquet timestamps of any unit and zone keep their instant exactly, dates pandas'
    nanoseconds cannot hold included (a cast to ns wrapped them into other dates)."""
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    texts = ["1500-01-01T00:00:00.123456789", "1969-12-31T23:59:59.5", "2262-04-12T00:00:00",
             "2500-06-01T12:00:01", "1677-09-21T00:12:43.145224191", "9999-12-31T23:59:59"]
    if unit == "ns":  # a ns column holds only 1677-2262
        texts = [t for t in texts if "1677-09-22" <= t[:10] <= "2262-04-10"]
    stamps = np.array(texts, dtype=f"datetime64[{unit}]")
    src = tmp_path / "t.parquet"
    pq.write_table(pa.table({"time": pa.array(stamps, type=pa.timestamp(unit, tz=tz)),
                             "x": np.arange(len(texts), dtype=float)}), src)
    out = tmp_path / "t.hippo"
    result = hippo("compress", str(src), "-t", "time", "-E", "0.1", "-o", str(out))
    assert result.exit_code == 0, result.stderr
    from io import BytesIO

    from hippo_cli.codec import HippoReader

    with HippoReader(BytesIO(out.read_bytes()), "t") as reader:
        back = Times.join([f.times for f in reader.frames()])
    want = stamps.astype("datetime64[ns]" if unit == "ns" else f"datetime64[{unit}]")
    per = {"s": 1, "ms": 10**3, "us": 10**6, "ns": 10**9}[unit]
    ticks = want.astype(np.int64)
    assert back.ints.tolist() == (ticks // per).tolist()
    assert back.nanos.tolist() == ((ticks % per) * (10**9 // per)).tolist()
    text = hippo("reconstruct", str(out), "-o", "-").stdout
    assert text.count("\n") == len(texts) + 1


def test_writer_never_writes_times_its_header_does_not_announce():
    from io import BytesIO

    from hippo_cli.codec import HippoWriter
    from hippo_cli.codec.container import HippoHeader
    from hippo_cli.errors import ParameterError

    times, _ = parse_iso(["2024-01-01T00:00:00"])
    writer = HippoWriter(BytesIO(), HippoHeader(["x"], [0.1], time_column="t"))
    with pytest.raises(ParameterError, match="header says numbers"):
        writer.append(np.zeros(1), times)


def test_parquet_times_beyond_year_9999_are_refused(tmp_path):
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    stamps = np.array(["2020-01-01T00:00:00", "12000-01-01T00:00:00"], dtype="datetime64[s]")
    src = tmp_path / "far.parquet"
    pq.write_table(pa.table({"time": pa.array(stamps, type=pa.timestamp("s")),
                             "x": [1.0, 2.0]}), src)
    out = tmp_path / "far.hippo"
    result = hippo("compress", str(src), "-t", "time", "-E", "0.1", "-o", str(out))
    assert_clean_failure(result, 1, "0000-9999")
    assert not out.exists()


def test_library_times_finer_than_nanoseconds_are_exact_or_refused():
    from hippo_cli.codec.times import from_array
    from hippo_cli.errors import DataError

    assert from_array(np.array([1000, 2000], dtype="datetime64[ps]")).nanos.tolist() == [1, 2]
    with pytest.raises(DataError, match="cannot hold exactly"):
        from_array(np.array([1001], dtype="datetime64[ps]"))
