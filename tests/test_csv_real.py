"""CSV as data engineers have it: compressed inputs, every line ending, quoted headers,
trailing separators, split date and time columns, missing-value sentinels, numbers read
exactly (or refused when they cannot be), and columns named like times kept as data.

Each test writes a file the way real tools write them and checks the values that come back
against the text as written (parsed here with Python's own correctly rounded ``float``)."""

from __future__ import annotations

import bz2
import gzip
import lzma

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_cli import assert_clean_failure, hippo

from hippo_cli import decode
from hippo_cli.formats.samples import open_samples

PROPS = settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))


def read_all(path: str, **kw) -> tuple[list[str], np.ndarray, list[str]]:
    """(columns, values (rows, columns), notes) of a CSV as hippo reads it."""
    samples = open_samples(path, **kw)
    blocks = [item[1] for item in samples.chunks()]  # (first line, block[, times])
    values = np.concatenate(blocks) if blocks else np.empty((0, len(samples.columns)))
    return samples.columns, values, samples.notes


#: A bound far below the data's resolution: what comes back is checked against it.
TIGHT = "1e-9"


def close(a: np.ndarray, b: np.ndarray) -> bool:
    """Within TIGHT, NaN where NaN."""
    near = (np.abs(a - b) <= 1e-9) | (np.isnan(a) & np.isnan(b))
    return a.shape == b.shape and bool(np.all(near))


def same_bits(a: np.ndarray, b: np.ndarray) -> bool:
    return a.shape == b.shape and np.array_equal(a.view(np.uint64), b.view(np.uint64))


# --------------------------------------------------------------------------- numbers
finite_floats = st.floats(allow_nan=False, allow_infinity=False, width=64)


@PROPS
@given(values=st.lists(finite_floats, min_size=1, max_size=60), style=st.sampled_from(
    ["repr", "e", "g17"]))
def test_floats_are_read_correctly_rounded(tmp_path_factory, values, style):
    """Every float64, subnormals included, written in any common way, is read as the
    float Python's correctly rounded parser gives for the same text."""
    fmt = {"repr": repr, "e": lambda v: f"{v:.16e}", "g17": lambda v: f"{v:.17g}"}[style]
    texts = [fmt(v) for v in values]
    path = tmp_path_factory.mktemp("f") / "x.csv"
    path.write_text("x\n" + "".join(t + "\n" for t in texts))
    _, got, _ = read_all(str(path))
    # "-0" (%.17g of -0.0) is an integer text: a column of integers reads it as 0, the same
    # number; every other text gives Python's float bit for bit
    want = np.array([float(t) for t in texts])
    zero = np.array([t == "-0" for t in texts])
    assert np.all(got[zero, 0] == 0.0)
    assert same_bits(got[~zero, 0], want[~zero])


def test_subnormals_and_extremes(tmp_path):
    texts = ["5e-324", "-5e-324", "2.2250738585072014e-308", "2.225073858507201e-308",
             "1.7976931348623157e308", "-0.0", "4.9406564584124654e-324"]
    path = tmp_path / "x.csv"
    path.write_text("x\n" + "\n".join(texts) + "\n")
    _, got, _ = read_all(str(path))
    assert same_bits(got[:, 0], np.array([float(t) for t in texts]))


@PROPS
@given(ints=st.lists(st.one_of(st.integers(-2**63, 2**63 - 1),
                               st.integers(2**53 - 8, 2**53 + 8),
                               st.integers(-2**63, -2**63 + 4096),
                               st.integers(2**63 - 4096, 2**63 - 1)), min_size=1, max_size=20))
def test_integers_are_exact_or_refused(tmp_path_factory, ints):
    """A bounded file holds every integer as written, or hippo refuses it and says which:
    the bound must hold against the text, not against a rounded float."""
    folder = tmp_path_factory.mktemp("i")
    src = folder / "i.csv"
    src.write_text("n\n" + "".join(f"{i}\n" for i in ints))
    out = folder / "i.hippo"
    result = hippo("compress", str(src), "--max-error", "0.5", "-o", str(out))
    exact = all(float(i) == i for i in ints)
    if not exact:
        assert_clean_failure(result, 1, "line")
        assert not out.exists()
        return
    assert result.exit_code == 0, result.stderr
    values, _ = decode(out.read_bytes())
    assert all(abs(float(v) - i) <= 0.5 for v, i in zip(values[:, 0].tolist(), ints))


def test_integer_beyond_2_53_is_refused_by_line(tmp_path):
    src = tmp_path / "big.csv"
    src.write_text("n\n1\n9007199254740993\n")
    result = hippo("compress", str(src), "--max-error", "0.5", "-o", str(tmp_path / "o.hippo"))
    assert_clean_failure(result, 1, "line 3", "9007199254740993")


# --------------------------------------------------------------------------- containers
COMPRESSORS = {"gz": gzip.compress, "xz": lzma.compress, "bz2": bz2.compress}


def _zstd(data: bytes) -> bytes:
    zstandard = pytest.importorskip("zstandard")
    return zstandard.ZstdCompressor(level=3, write_checksum=True).compress(data)  # as zstd(1)


@pytest.mark.parametrize("suffix", ["gz", "xz", "bz2", "zst"])
def test_compressed_inputs_are_read_by_content(tmp_path, suffix):
    """A compressed CSV is told by its first bytes (the name does not matter) and read as
    the plain file is, including through stdin."""
    rows = "time,a,b\n" + "".join(f"{i},{i * 0.25},{-i}\n" for i in range(5000))
    pack = _zstd if suffix == "zst" else COMPRESSORS[suffix]
    plain = tmp_path / "plain.csv"
    plain.write_text(rows)
    packed = tmp_path / f"data.csv.{suffix}"
    packed.write_bytes(pack(rows.encode()))
    misnamed = tmp_path / "data.csv"
    misnamed.write_bytes(pack(rows.encode()))
    want_cols, want, _ = read_all(str(plain), time_column="time")
    for path in (packed, misnamed):
        cols, got, _ = read_all(str(path), time_column="time")
        assert cols == want_cols and same_bits(got, want)
    out = tmp_path / "s.hippo"
    result = hippo("compress", "-", "-E", TIGHT, "-t", "time", "-o", str(out),
                   input=packed.read_bytes())
    assert result.exit_code == 0, result.stderr
    values, _ = decode(out.read_bytes())
    assert close(values, want[:, :2])


@pytest.mark.parametrize("suffix", ["gz", "xz", "bz2", "zst"])
@pytest.mark.parametrize("damage", ["cut", "flip"])
def test_damaged_compressed_input_is_an_error(tmp_path, suffix, damage):
    """A cut or corrupted compressed input is exit 1 with one line naming the format; no
    output is left."""
    rows = "a\n" + "".join(f"{i}\n" for i in range(20000))
    pack = _zstd if suffix == "zst" else COMPRESSORS[suffix]
    data = bytearray(pack(rows.encode()))
    if damage == "cut":
        del data[len(data) // 2:]
    else:
        data[len(data) // 2] ^= 0x10
    src = tmp_path / f"bad.csv.{suffix}"
    src.write_bytes(bytes(data))
    out = tmp_path / "o.hippo"
    result = hippo("compress", str(src), "-E", "0.1", "-o", str(out))
    assert_clean_failure(result, 1)
    assert "damaged" in result.stderr or "line" in result.stderr, result.stderr
    assert not out.exists()


# --------------------------------------------------------------------------- dialects
@pytest.mark.parametrize("ending", ["\n", "\r\n", "\r"])
@pytest.mark.parametrize("trailing", ["", ","])
def test_line_endings_and_trailing_commas(tmp_path, ending, trailing):
    """LF, CRLF and CR-only files, with or without a separator ending every row (an empty
    unnamed column, ignored with a note), give the same samples."""
    lines = ["t,x,y" + trailing] + [f"{i},{i / 8},{i % 7}" + trailing for i in range(300)]
    src = tmp_path / "d.csv"
    src.write_bytes(ending.join(lines).encode() + ending.encode())
    cols, got, notes = read_all(str(src), time_column="t")
    assert cols == ["x", "y"]
    want = np.column_stack([np.arange(300) / 8, np.arange(300) % 7.0, np.arange(300.0)])
    assert same_bits(got, want)
    assert any("empty" in n for n in notes) == bool(trailing)


def test_quoted_commas_in_the_header_survive_the_round_trip(tmp_path):
    src = tmp_path / "q.csv"
    src.write_text('"time","temp,C","rh ""%"""\n' + "".join(f"{i},{i * 0.5},{i}\n"
                                                            for i in range(50)))
    out = tmp_path / "q.hippo"
    assert hippo("compress", str(src), "-E", TIGHT, "-t", "time", "-o", str(out)).exit_code == 0
    back = tmp_path / "back.csv"
    assert hippo("reconstruct", str(out), "-o", str(back)).exit_code == 0
    cols, got, _ = read_all(str(back), time_column="time")
    assert cols == ["temp,C", 'rh "%"']
    assert close(got[:, 0], np.arange(50) * 0.5)


def test_more_fields_than_the_header_is_refused(tmp_path):
    src = tmp_path / "wide.csv"
    src.write_text("a,b\n" + "".join(f"{i},{i},{i}\n" for i in range(10)))
    result = hippo("compress", str(src), "-E", "0.1", "-o", str(tmp_path / "o.hippo"))
    assert_clean_failure(result, 1, "the header names 2 columns")


def test_unnamed_column_with_data_is_kept_with_a_name(tmp_path):
    src = tmp_path / "u.csv"
    src.write_text("a,\n" + "".join(f"{i},{2 * i}\n" for i in range(10)))
    cols, got, notes = read_all(str(src))
    assert cols == ["a", "col1"] and same_bits(got[:, 1], 2.0 * np.arange(10))
    assert any("col1" in n for n in notes)


# --------------------------------------------------------------------------- real layouts
AIR_QUALITY = (
    "Date;Time;CO(GT);PT08.S1(CO);T;RH;AH;;\r\n"
    "10/03/2004;18.00.00;2,6;1360;13,6;48,9;0,7578;;\r\n"
    "10/03/2004;19.00.00;2;1292;-200;47,7;0,7255;;\r\n"
    "10/03/2004;20.00.00;2,2;1402;11,9;54,0;0,7502;;\r\n"
    "10/03/2004;21.00.00;-200;1376;11,0;60,0;0,7867;;\r\n"
    "11/03/2004;00.00.00;1,2;1185;11,2;59,6;0,7888;;\r\n"
)


def test_air_quality_layout_as_published(tmp_path):
    """Semicolons, decimal commas, split Date and Time, two empty trailing columns, -200
    for a missing value: read, stored with the gaps kept, and written back with the same
    date and time text."""
    src = tmp_path / "AirQualityUCI.csv"
    src.write_bytes(AIR_QUALITY.encode())
    out = tmp_path / "aq.hippo"
    result = hippo("compress", str(src), "-E", TIGHT, "-t", "Date,Time",
                   "--time-format", "%d/%m/%Y %H.%M.%S", "--na-values=-200", "--nan", "keep",
                   "-o", str(out))
    assert result.exit_code == 0, result.stderr
    assert "empty column" in result.stderr and "decimal commas" in result.stderr
    back = tmp_path / "back.csv"
    assert hippo("reconstruct", str(out), "-o", str(back)).exit_code == 0
    lines = back.read_text().splitlines()
    assert lines[0] == "Date,Time,CO(GT),PT08.S1(CO),T,RH,AH"
    assert [line.split(",")[:2] for line in lines[1:]] == [
        row.split(";")[:2] for row in AIR_QUALITY.splitlines()[1:]]
    values, _ = decode(out.read_bytes())
    assert np.isnan(values[1, 2]) and np.isnan(values[3, 0]) and abs(values[0, 4] - 0.7578) <= 1e-9
    assert abs(values[4, 3] - 59.6) <= 1e-9


def test_sentinels_without_keep_are_refused_or_skipped(tmp_path):
    src = tmp_path / "s.csv"
    src.write_text("x,y\n1,2\n-200,3\n4,5\n")
    result = hippo("compress", str(src), "-E", TIGHT, "--na-values=-200",
                   "-o", str(tmp_path / "a.hippo"))
    assert_clean_failure(result, 1, "line 3")
    result = hippo("compress", str(src), "-E", TIGHT, "--na-values=-200", "--nan", "skip",
                   "-o", str(tmp_path / "b.hippo"))
    assert result.exit_code == 0, result.stderr
    values, _ = decode((tmp_path / "b.hippo").read_bytes())
    assert close(values, np.array([[1.0, 2.0], [4.0, 5.0]]))


def test_a_column_named_like_a_time_is_data_in_compress_and_stream(tmp_path):
    """``T`` (a temperature) and ``time_ms`` stay data columns with a note; stream keeps
    the same columns as compress."""
    src = tmp_path / "t.csv"
    src.write_text("T,time_ms,x\n" + "".join(f"{20 + i / 10},{i * 5},{i}\n"
                                             for i in range(40)))
    out = tmp_path / "t.hippo"
    result = hippo("compress", str(src), "-E", TIGHT, "-o", str(out))
    assert result.exit_code == 0, result.stderr
    assert "--time-column" in result.stderr
    assert hippo("info", str(out), "--json").stdout.count('"T"') >= 1
    values, _ = decode(out.read_bytes())
    assert values.shape == (40, 3)
    live = tmp_path / "live.hippo"
    result = hippo("stream", "--max-error", TIGHT, "-o", str(live), input=src.read_text())
    assert result.exit_code == 0, result.stderr
    streamed, _ = decode(live.read_bytes())
    assert close(streamed, values)


@pytest.mark.parametrize("path_kind", ["file", "stdin"])
def test_na_values_on_stdin_too(tmp_path, path_kind):
    rows = "a\n1\nNA\n-999\n2\n"
    src = tmp_path / "n.csv"
    src.write_text(rows)
    out = tmp_path / "n.hippo"
    args = [str(src)] if path_kind == "file" else ["-"]
    result = hippo("compress", *args, "-E", TIGHT, "--na-values", "NA,-999", "--nan", "keep",
                   "-o", str(out), input=rows if path_kind == "stdin" else None)
    assert result.exit_code == 0, result.stderr
    values, _ = decode(out.read_bytes())
    assert close(values[:, 0], np.array([1.0, np.nan, np.nan, 2.0]))


def test_keep_is_refused_for_coefficients(tmp_path):
    src = tmp_path / "k.csv"
    src.write_text("a\n1\n\n2\n")
    result = hippo("compress", str(src), "--nan", "keep", "-o", str(tmp_path / "c.npy"))
    assert_clean_failure(result, 2, "keep")



# --------------------------------------------------------------------------- stream
def test_stream_reads_split_times_sentinels_and_formats(tmp_path):
    """``hippo stream`` takes the same --time-column Date,Time, --time-format and
    --na-values as compress, and its file writes the same text back."""
    rows = ("Date,Time,T\n" + "".join(f"{d:02d}/03/2004,{h:02d}.00.00,{-200 if h == 3 else h}\n"
                                      for d in (10, 11) for h in range(6)))
    live = tmp_path / "live.hippo"
    result = hippo("stream", "-E", "0.001", "-t", "Date,Time", "--time-format",
                   "%d/%m/%Y %H.%M.%S", "--na-values=-200", "--nan", "keep", "-o", str(live),
                   input=rows)
    assert result.exit_code == 0, result.stderr
    back = tmp_path / "back.csv"
    assert hippo("reconstruct", str(live), "-o", str(back)).exit_code == 0
    lines = back.read_text().splitlines()
    assert lines[0] == "Date,Time,T"
    assert [ln.split(",")[:2] for ln in lines[1:]] == [r.split(",")[:2]
                                                       for r in rows.splitlines()[1:]]
    values, _ = decode(live.read_bytes())
    assert np.isnan(values[3, 0]) and np.isnan(values[9, 0]) and abs(values[5, 0] - 5) <= 1e-3
    again = hippo("stream", "-E", "0.001", "-t", "Date,Time", "--time-format",
                  "%d/%m/%Y %H.%M.%S", "--na-values=-200", "--nan", "keep", "-o", str(live),
                  input="Date,Time,T\n12/03/2004,00.00.00,7\n")
    assert again.exit_code == 0, again.stderr


def test_stream_refuses_inexact_integers_for_a_bound(tmp_path):
    result = hippo("stream", "-E", "0.5", "-o", str(tmp_path / "s.hippo"),
                   input="n\n1\n9007199254740993\n")
    assert_clean_failure(result, 1, "line 3", "9007199254740993")


def test_stream_coefficients_take_sentinels(tmp_path):
    result = hippo("stream", "-N", "4", "--na-values", "NA", "--nan", "hold",
                   input="x\n1\nNA\n3\n")
    assert result.exit_code == 0, result.stderr
    assert len(result.stdout.splitlines()) == 4  # header + 3 steps


def test_many_series_refuse_what_they_do_not_read(tmp_path):
    src = tmp_path / "long.csv"
    src.write_text("id,x\na,1\nb,-200\n")
    result = hippo("compress", str(src), "--id-column", "id", "-E", "0.1", "--na-values=-200",
                   "-o", str(tmp_path / "out"))
    assert_clean_failure(result, 2, "--na-values")


def test_stream_says_compressed_input_is_not_lines(tmp_path):
    result = hippo("stream", "-E", "0.1", "-o", str(tmp_path / "s.hippo"),
                   input=gzip.compress(b"a\n1\n2\n"))
    assert_clean_failure(result, 1, "gzip-compressed", "hippo compress -")
    assert not (tmp_path / "s.hippo").exists()


@pytest.mark.parametrize("kind", ["npy", "npy_fortran", "parquet"])
@pytest.mark.parametrize("dtype", ["int64", "uint64"])
def test_binary_integers_are_exact_or_refused(tmp_path, kind, dtype):
    """.npy and Parquet integer columns follow the CSV rule: with a bound, an integer that
    float64 cannot hold exactly is refused naming its row and column; others are kept."""
    big = 2**53 + 1 if dtype == "int64" else 2**64 - 1
    fine = np.array([[1, 2], [2**53, 3], [-(2**53) if dtype == "int64" else 5, 4]], dtype)
    bad = fine.copy()
    bad[1, 1] = big
    for values, ok in ((fine, True), (bad, False)):
        if kind == "parquet":
            pa = pytest.importorskip("pyarrow")
            import pyarrow.parquet as pq

            src = tmp_path / "i.parquet"
            pq.write_table(pa.table({"a": values[:, 0], "b": values[:, 1]}), src)
        else:
            src = tmp_path / "i.npy"
            np.save(src, np.asfortranarray(values) if kind == "npy_fortran" else values)
        out = tmp_path / "i.hippo"
        out.unlink(missing_ok=True)
        result = hippo("compress", str(src), "-E", "0.5", "-o", str(out))
        if ok:
            assert result.exit_code == 0, result.stderr
            got, _ = decode(out.read_bytes())
            assert np.all(np.abs(got - values.astype(float)) <= 0.5)
        else:
            assert_clean_failure(result, 1, "row 1", str(big))
            assert "'b'" in result.stderr or "'col1'" in result.stderr
            assert not out.exists()


@pytest.mark.parametrize("layout", ["semicolon", "gzip", "cr"])
def test_many_series_read_csv_as_one_series_does(tmp_path, layout):
    """--id-column reads the same CSV dialects: compressed by content, semicolons with
    decimal commas, CR line ends; and refuses inexact integers for a bound."""
    rows = [("a", "1.5"), ("b", "2.25"), ("a", "3"), ("b", "-4.5")]
    if layout == "semicolon":
        data = ("id;x\n" + "".join(f"{i};{v.replace('.', ',')}\n" for i, v in rows)).encode()
    else:
        data = ("id,x\n" + "".join(f"{i},{v}\n" for i, v in rows)).encode()
    if layout == "gzip":
        data = gzip.compress(data)
    if layout == "cr":
        data = data.replace(b"\n", b"\r")
    src = tmp_path / "long.csv"
    src.write_bytes(data)
    out = tmp_path / "out"
    result = hippo("compress", str(src), "--id-column", "id", "-E", "0.001", "-o", str(out))
    assert result.exit_code == 0, result.stderr
    a, _ = decode((out / "a.hippo").read_bytes())
    b, _ = decode((out / "b.hippo").read_bytes())
    assert np.allclose(a[:, 0], [1.5, 3.0], atol=1e-3)
    assert np.allclose(b[:, 0], [2.25, -4.5], atol=1e-3)


def test_many_series_refuse_inexact_integers_for_a_bound(tmp_path):
    src = tmp_path / "long.csv"
    src.write_text("id,x\na,1\nb,9007199254740993\n")
    result = hippo("compress", str(src), "--id-column", "id", "-E", "0.5",
                   "-o", str(tmp_path / "out"))
    assert_clean_failure(result, 1, "line 3", "9007199254740993")


def test_a_quoted_cr_header_with_a_value_in_an_unnamed_column(tmp_path):
    """Found by the fuzzer: a value under an empty name in a later block is an error (pandas
    handed out a read-only mask)."""
    src = tmp_path / "f.csv"
    src.write_bytes(b'".\r,0')
    result = hippo("compress", str(src), "-E", "0.1", "-o", str(tmp_path / "o.hippo"))
    assert result.exit_code in (1, 2) and "internal error" not in result.stderr, result.stderr
