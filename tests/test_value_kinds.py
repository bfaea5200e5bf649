"""Value kinds in the ``.hippo`` header (flag ``kinds``, docs/format.md "Value kinds"): the
header round trip, the bytes of files without kinds unchanged, the committed fixture with
them decoded by both decoders, the writer refusing values that break a kind, and damage
(an unknown code, the flag in a version-1 file) refused by both decoders."""

from __future__ import annotations

import hashlib
import io
import json
import struct
import zlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import reference_decoder as ref
from hypothesis import given, settings
from hypothesis import strategies as st
from test_fixtures import _recipe

from hippo_cli import DataError, ParameterError, decode, encode, open_hippo, read_hippo
from hippo_cli.codec import HippoReader
from hippo_cli.codec.container import (
    TIME_ISO,
    TIME_NUMBERS,
    VALUE_KINDS,
    HippoHeader,
    HippoWriter,
    check_header,
    header_bytes,
    header_with_times,
    read_header,
)

FIXTURES = Path(__file__).parent / "data" / "fixtures"
#: The table of docs/format.md, written out again here (not imported from the code).
TABLE = {0: "float64", 1: None, 2: "float16", 3: "float32", 4: "int8", 5: "int16",
         6: "int32", 7: "int64", 8: "uint8", 9: "uint16", 10: "uint32", 11: "uint64"}


def test_the_table_is_the_documented_one():
    assert VALUE_KINDS == TABLE
    assert ref.VALUE_KINDS == {k: v or "integer" for k, v in TABLE.items()}
    doc = (Path(__file__).parent.parent / "docs" / "format.md").read_text()
    for code, name in TABLE.items():
        if code not in (4, 5, 6, 7, 8, 9, 10, 11):
            assert f"| {code} | {name or 'integer'} |" in doc
    assert "| 4, 5, 6, 7 | int8, int16, int32, int64 |" in doc
    assert "| 8, 9, 10, 11 | uint8, uint16, uint32, uint64 |" in doc


@st.composite
def headers(draw):
    C = draw(st.integers(1, 6))
    names = draw(st.lists(st.text(min_size=0, max_size=5), min_size=C, max_size=C))
    errors = draw(st.lists(st.floats(0, 1e6), min_size=C, max_size=C))
    kinds = draw(st.lists(st.sampled_from(sorted(TABLE)), min_size=C, max_size=C))
    timed = draw(st.booleans())
    iso = timed and draw(st.booleans())
    return HippoHeader(names, errors, "t" if timed else None,
                       TIME_ISO if iso else TIME_NUMBERS, "####-##-##" if iso else "",
                       whole=draw(st.booleans()), kinds=kinds)


@given(h=headers())
@settings(max_examples=200, deadline=None)
def test_header_round_trip(h):
    data = header_bytes(h)
    back, size = read_header(io.BytesIO(data + b"\x01\x02"), "h")
    assert size == len(data)
    assert back.kind_codes() == h.kinds
    assert (back.channels, back.max_errors, back.time_column, back.whole) == (
        h.channels, h.max_errors, h.time_column, h.whole)
    plain = HippoHeader(h.channels, h.max_errors, h.time_column, h.time_kind,
                        h.time_pattern, whole=h.whole)
    if any(h.kinds):  # the flag, and one byte per channel more
        assert data[5] & 4 and len(data) == len(header_bytes(plain)) + len(h.channels)
        assert back.kinds == h.kinds
    else:  # all float64: the bytes of a header without kinds
        assert data == header_bytes(plain) and not data[5] & 4 and back.kinds == []
    # the reference decoder reads the same kinds
    r = ref.Header(data)
    assert r.kinds == [TABLE[k] or "integer" for k in h.kinds] and r.size == len(data)


def test_old_fixtures_are_written_byte_for_byte():
    """Today's writer, asked for version 2, writes the committed v2.hippo's bytes from its
    recipe: files without kinds did not change. By default it writes these timed samples as
    version 3 (docs/format.md, "Version 3"): the same bytes but the version and the header's
    CRC (a regular cadence keeps the time codec's mode 0)."""
    recipe = _recipe()
    x, times = recipe.signals()
    x = recipe.with_specials(x)
    names = ["walk", "trend", "smooth", "flat"]
    want = (FIXTURES / "v2.hippo").read_bytes()
    header = header_with_times(names, [0.02] * 4, "time", whole=True)
    header.version = 2
    out = io.BytesIO()
    with HippoWriter(out, header, frame_samples=5000) as writer:
        writer.append(x, times)
    assert out.getvalue() == want
    data = encode(x, 0.02, times=times, names=names, frame_samples=5000)
    size = HippoReader(io.BytesIO(want), "v2").header_size
    assert data[4] == 3 and want[4] == 2
    assert data[:4] + data[5:size - 4] + data[size:] == want[:4] + want[5:size - 4] + want[size:]
    for name in ("v1", "v2"):
        with open_hippo(FIXTURES / f"{name}.hippo") as f:
            assert f.header.kinds == [] and f.header.kind_codes() == [0, 0, 0, 0]
        assert ref.Header((FIXTURES / f"{name}.hippo").read_bytes()).kinds == ["float64"] * 4


def test_fixture_with_kinds_decodes_with_both_decoders():
    recipe = _recipe()
    meta = json.loads((FIXTURES / "v2-kinds.json").read_text())
    data = (FIXTURES / "v2-kinds.hippo").read_bytes()
    values, times = decode(data)
    assert hashlib.sha256(values.astype("<f8").tobytes()).hexdigest() == meta["decoded_sha256"]
    x, want_times = recipe.kinds_signals()
    finite = np.isfinite(x)
    assert np.array_equal(np.isnan(values), np.isnan(x))
    assert np.all(np.abs(values - x)[finite] <= np.array(meta["max_errors"])[None, :]
                  .repeat(len(x), 0)[finite])
    np.testing.assert_array_equal(times, want_times)
    with open_hippo(FIXTURES / "v2-kinds.hippo") as f:
        assert f.header.kinds == meta["kinds"] == [7, 8, 3, 1, 5, 0]
        assert f.finished and f.header.whole
    got, _ = ref.decode(data)
    assert np.array_equal(got.view(np.uint64), values.view(np.uint64))
    assert ref.Header(data).kinds == ["int64", "uint8", "float32", "integer", "int16",
                                      "float64"]
    # the writer of today writes it byte for byte from its recipe (asked for version 2: a
    # new timed file is version 3)
    h = HippoHeader(recipe.KIND_NAMES, recipe.KIND_BOUNDS, "time", TIME_ISO,
                    "####-##-##T##:##:##.###", version=2, whole=True, kinds=recipe.KIND_CODES)
    buf = io.BytesIO()
    w = HippoWriter(buf, h, frame_samples=3000, threads=1)
    w.append(x, want_times)
    w.close()
    assert buf.getvalue() == data
    # read_hippo: integers where the bound is below 0.5, float64 elsewhere
    frame = read_hippo(FIXTURES / "v2-kinds.hippo")
    assert [str(d) for d in frame.dtypes] == ["int64", "uint8", "float64", "Int64",
                                              "float64", "float64"]
    np.testing.assert_array_equal(frame["count"].to_numpy(), x[:, 0].astype(np.int64))
    np.testing.assert_array_equal(frame["level"].to_numpy(), x[:, 1].astype(np.uint8))
    flow = frame["flow"]
    assert flow.isna().sum() == 50 and flow.isna().to_numpy()[2000:2050].all()
    np.testing.assert_array_equal(flow.to_numpy(dtype=np.float64, na_value=np.nan), x[:, 3])


def _header_with_kind_bytes(version: int, flags: int, codes: list[int]) -> bytes:
    """A header of len(codes) channels written from the document, each followed by a kind
    byte."""
    out = b"\x89HPO" + bytes([version, flags]) + bytes([len(codes)])
    for i, code in enumerate(codes):
        out += b"\x01" + bytes([97 + i]) + struct.pack("<d", 0.1) + bytes([code])
    return out + struct.pack("<I", zlib.crc32(out))


def _with_one_frame(head: bytes) -> bytes:
    """``head`` followed by the frames of a not-closed stream of 1 channel without kinds."""
    buf = io.BytesIO()
    h = HippoHeader(["a"], [0.1])
    w = HippoWriter(buf, h, threads=1)
    w.append(np.arange(5.0)[:, None])
    w.flush()
    return head + buf.getvalue()[len(header_bytes(h)):]


@pytest.mark.parametrize("code", [12, 13, 100, 255])
def test_an_unknown_kind_is_damage(code):
    data = _with_one_frame(_header_with_kind_bytes(2, 4, [code]))
    with pytest.raises(DataError, match=f"corrupt .hippo header .*unknown value kind {code}"):
        decode(data)
    with pytest.raises(ValueError, match="unknown value kind"):
        ref.decode(data)


def test_a_known_kind_written_from_the_document_decodes():
    """The same crafted file with a known code: both decoders read it (the damage above is
    the code, not the crafting)."""
    data = _with_one_frame(_header_with_kind_bytes(2, 4, [7]))
    values, _ = decode(data)
    np.testing.assert_allclose(values[:, 0], np.arange(5.0), atol=0.1)
    assert np.array_equal(ref.decode(data)[0].view(np.uint64), values.view(np.uint64))
    with HippoReader(io.BytesIO(data), "<bytes>") as f:
        assert f.header.kinds == [7]


def test_the_flag_in_a_version_1_file_is_damage():
    data = _with_one_frame(_header_with_kind_bytes(1, 4, [7]))
    with pytest.raises(DataError, match=r"unknown flags 0x4"):
        decode(data)
    with pytest.raises(ValueError, match="unknown header flags"):
        ref.decode(data)


def test_the_flag_with_every_kind_0_is_accepted():
    data = _with_one_frame(_header_with_kind_bytes(2, 4, [0]))
    values, _ = decode(data)
    assert np.array_equal(ref.decode(data)[0].view(np.uint64), values.view(np.uint64))


def test_a_truncated_kind_byte_is_refused():
    head = _header_with_kind_bytes(2, 4, [7])
    cut = head[:-5] + struct.pack("<I", zlib.crc32(head[:-5]))  # no kind byte, CRC fixed
    with pytest.raises(DataError, match="corrupt .hippo header"):
        decode(_with_one_frame(cut))
    with pytest.raises(ValueError):
        ref.decode(_with_one_frame(cut))


def test_headers_a_writer_refuses():
    with pytest.raises(ParameterError, match="unknown value kind 12"):
        check_header(HippoHeader(["a"], [0.1], kinds=[12]))
    with pytest.raises(ParameterError, match="one value kind per channel"):
        check_header(HippoHeader(["a", "b"], [0.1, 0.1], kinds=[7]))
    with pytest.raises(ParameterError, match="need format version 2"):
        check_header(HippoHeader(["a"], [0.1], version=1, kinds=[7]))
    check_header(HippoHeader(["a"], [0.1], version=1, kinds=[0]))  # no kinds: fine


@pytest.mark.parametrize("code, bad", [
    (1, 1.5), (7, 0.25), (4, 128.0), (4, -129.0), (8, -1.0), (8, 256.0), (11, -1.0),
    (7, 2.0**63), (11, 2.0**64), (7, -2.0**63 * (1 + 2**-52)), (3, 0.1),
    (3, float(np.finfo(np.float32).max) * (1 + 2**-52)), (2, 1.0 + 2**-11), (9, 2.0**16)])
def test_the_writer_refuses_values_that_break_their_kind(code, bad):
    h = HippoHeader(["a", "b"], [0.25, 0.25], kinds=[0, code])
    w = HippoWriter(io.BytesIO(), h, threads=1)
    ok = np.array([[0.5, 1.0], [np.nan, np.nan], [np.inf, -np.inf]])
    w.append(ok)  # NaN and infinities are allowed in every kind
    with pytest.raises(ParameterError, match="'b': .* is not .*which its value kind says"):
        w.append(np.array([[0.5, 1.0], [0.5, bad]]))


@pytest.mark.parametrize("code, edge", [
    (4, [-128.0, 127.0]), (8, [0.0, 255.0]), (6, [-2.0**31, 2.0**31 - 1]),
    (3, [np.float32(0.1).item(), float(np.finfo(np.float32).max)]), (2, [65504.0, 2.0**-24]),
    (7, [2.0**53, -2.0**63]), (11, [0.0, 2.0**64 - 2048]), (1, [-2.0**70, 2.0**70])])
def test_the_writer_takes_the_edges_of_a_kind(code, edge):
    h = HippoHeader(["a"], [0.0], kinds=[code], whole=True)
    buf = io.BytesIO()
    w = HippoWriter(buf, h, threads=1)
    w.append(np.array(edge)[:, None])
    w.close()
    values, _ = decode(buf.getvalue())
    np.testing.assert_array_equal(values[:, 0], edge)  # E = 0: exact


def test_a_stream_continues_only_with_the_same_kinds(tmp_path):
    path = tmp_path / "s.hippo"
    h = HippoHeader(["a"], [0.25], kinds=[7])
    with HippoWriter(path, h, threads=1) as w:
        w.append(np.arange(3.0)[:, None])
    with pytest.raises(DataError, match="other channels, bounds, value kinds"):
        HippoWriter(path, HippoHeader(["a"], [0.25]), append=True, threads=1)
    with HippoWriter(path, h, append=True, threads=1) as w:
        w.append(np.arange(3.0)[:, None])
    assert read_hippo(path)["a"].tolist() == [0, 1, 2, 0, 1, 2]


def test_read_hippo_of_a_file_that_breaks_its_kind_is_damage():
    """A header that says int64 over samples that are not integers (spliced by hand: the
    writer never writes one) is a DataError in read_hippo, not silently rounded."""
    buf = io.BytesIO()
    h = HippoHeader(["a"], [0.0])  # exact: decodes to 0.3
    w = HippoWriter(buf, h, threads=1)
    w.append(np.array([0.0, 0.3, 7.0])[:, None])
    w.flush()
    lying = HippoHeader(["a"], [0.0], kinds=[7])
    data = header_bytes(lying) + buf.getvalue()[len(header_bytes(h)):]
    with pytest.raises(DataError, match="recorded as int64 but row 1 decodes to 0.3"):
        read_hippo(io.BytesIO(data))
    frame = read_hippo(io.BytesIO(data), dtype={"a": "float64"})  # the override reads it
    assert frame["a"].tolist() == [0.0, 0.3, 7.0]


def test_an_integer_kind_with_infinities_stays_float64():
    buf = io.BytesIO()
    w = HippoWriter(buf, HippoHeader(["a"], [0.25], kinds=[1], whole=True), threads=1)
    w.append(np.array([1.0, np.inf, 3.0, np.nan])[:, None])
    w.close()
    buf.seek(0)
    col = read_hippo(buf)["a"]
    assert col.dtype == np.float64
    assert col.tolist()[1] == np.inf and np.isnan(col.tolist()[3])
    assert pd.isna(col.iloc[3])
