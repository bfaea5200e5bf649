"""Format version 4, the one-frame layout (docs/format.md, "Version 4"): a whole file of level
best that holds one frame is its header without a CRC, the samples, the payload and one
CRC-32 of the whole file. It holds exactly the frame version 3 would (the layout rebuilt
here from the spec decodes to the same bits, by both decoders), 16 bytes or more fewer; damage
at any byte is an error; the writer picks it only for one frame of a whole file of level
best, and such a file is never continued."""

from __future__ import annotations

import io
import json
import struct
import zlib

import numpy as np
import pytest
import reference_decoder as ref
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_cli import assert_clean_failure, hippo
from test_reference_decoder import assert_same

from hippo_cli import DataError, decode, encode
from hippo_cli.codec import HippoReader, HippoWriter
from hippo_cli.codec.container import FrameInfo, HippoHeader, footer_bytes
from hippo_cli.codec.parts import varint

PROPS = settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))


def _parts_of_version_4(data: bytes) -> tuple[ref.Header, int, bytes]:
    """(header, n, payload) of a version-4 file, read as the spec lays it out."""
    header = ref.Header(data)
    assert header.version == 4
    return (header, *ref.one_frame(data, header))


def _as_version_3(data: bytes) -> bytes:
    """The version-3 file of the one frame of version-4 ``data``: the header with its CRC,
    the frame's samples, payload length and CRC, and the footer (built from the spec's
    fields, not by hippo's writer)."""
    header, n, payload = _parts_of_version_4(data)
    head = bytearray(data[:header.size])
    head[4] = 3
    head += struct.pack("<I", zlib.crc32(bytes(head)))
    lengths = varint(n) + varint(len(payload))
    frame = lengths + struct.pack("<I", zlib.crc32(lengths + payload)) + payload
    lo = hi = None
    if header.timed:
        with HippoReader(io.BytesIO(data), "v4") as reader:
            seconds = reader.frame_times(reader.index[0]).seconds
        lo, hi = float(seconds.min()), float(seconds.max())
    info = FrameInfo(0, len(head), len(frame), 0, n, lo, hi)
    h = HippoHeader(header.names, header.E, "time" if header.timed else None, whole=True)
    return bytes(head) + frame + footer_bytes(h, [info], len(head) + len(frame))


@st.composite
def _inputs(draw):
    n = draw(st.integers(1, 3000))
    C = draw(st.integers(1, 3))
    seed = draw(st.integers(0, 2**31))
    rng = np.random.default_rng(seed)
    kind = draw(st.sampled_from(["walk", "levels", "noise"]))
    if kind == "walk":
        x = np.cumsum(rng.standard_normal((n, C)), axis=0)
    elif kind == "levels":
        x = rng.integers(0, 6, (n, C)).astype(float) + rng.uniform(-0.3, 0.3, (n, C))
    else:
        x = rng.standard_normal((n, C))
    if draw(st.booleans()):
        x[rng.integers(0, n, max(1, n // 50)), 0] = np.nan
    times = None
    if draw(st.booleans()):
        times = 1_700_000_000_000 + np.cumsum(rng.integers(1, 50, n))
    eps = draw(st.sampled_from([0.05, 0.5, 2.0]))
    return x, eps, times


@PROPS
@given(_inputs())
def test_a_one_frame_file_holds_the_frame_version_3_would_in_fewer_bytes(case):
    x, eps, times = case
    data = encode(x, eps, times=times, level="best", threads=1)
    assert data[4] == 4
    v3 = _as_version_3(data)
    got, got_t = assert_same(data)  # both decoders, bit for bit
    same, same_t = assert_same(v3)
    assert np.array_equal(got.view(np.uint64), same.view(np.uint64))
    assert got_t == same_t
    finite = np.isfinite(x)
    assert np.all(np.abs(got[finite] - x[finite]) <= eps)
    assert np.array_equal(got.view(np.uint64)[~finite], x.view(np.uint64)[~finite])
    n = len(x)
    with HippoReader(io.BytesIO(data), "v4", threads=1) as reader:  # a range of the frame
        part, _ = reader.read(n // 3, n // 3 + max(1, n // 4))
    assert np.array_equal(part.view(np.uint64), got[n // 3:n // 3 + max(1, n // 4)].view(np.uint64))
    # the header's CRC moved to the end; the payload length, the frame's CRC and the footer
    # (end marker, count, entry, CRC, offset, end magic: 11 bytes or more) are gone
    assert len(v3) - len(data) >= 16


def _small() -> bytes:
    rng = np.random.default_rng(4)
    x = np.column_stack([np.cumsum(rng.standard_normal(400)), rng.integers(0, 5, 400)])
    x[7, 0] = np.nan
    return encode(x, 0.3, times=np.arange(400) * 1000, level="best", threads=1)


def test_damage_at_any_byte_of_a_one_frame_file_is_an_error():
    """Every byte changed (three ways), every length cut short, a byte added or taken out:
    hippo refuses it (and says a one-frame file has nothing to salvage), the second decoder
    too; with salvage nothing is given, with a note."""
    data = _small()
    assert data[4] == 4
    damaged = [data[:k] for k in range(len(data))] + [data + b"\x00", data[:50] + data[51:]]
    for i in range(len(data)):
        for mask in (0x01, 0x80, 0xFF):
            bad = bytearray(data)
            bad[i] ^= mask
            damaged.append(bytes(bad))
    for bad in damaged:
        with pytest.raises(DataError):
            decode(bad)
        with pytest.raises(ValueError):
            ref.decode(bad)
    with pytest.raises(DataError, match="nothing intact to salvage"):
        decode(data[:-1] + bytes([data[-1] ^ 1]))
    with HippoReader(io.BytesIO(data[:-1] + b"\x00"), "f", salvage=True) as reader:
        values, _ = reader.read()
        assert values.shape == (0, 2) and "nothing decodes" in reader.notes[0]


def _crafted(data: bytes, n: int | None = None, payload: bytes | None = None,
             whole: bool = True) -> bytes:
    """``data`` (version 4) with another n, payload or flag ``whole``, its CRC-32 made to
    match: what only the layout's own rules can refuse."""
    header, n0, payload0 = _parts_of_version_4(data)
    head = bytearray(data[:header.size])
    if not whole:
        head[5] &= ~2
    body = bytes(head) + varint(n0 if n is None else n) + (payload0 if payload is None
                                                          else payload)
    return body + struct.pack("<I", zlib.crc32(body))


def test_a_one_frame_file_with_a_matching_checksum_is_still_checked():
    """A chained frame (kind 1), 0 samples, more than 2^20, a missing payload or the flag
    whole cleared: both decoders refuse them although the CRC-32 matches."""
    data = _small()
    payload = _parts_of_version_4(data)[2]
    assert_same(_crafted(data))  # the crafting itself keeps a good file good
    for bad in (_crafted(data, payload=bytes([payload[0] | 1]) + payload[1:]),
                _crafted(data, n=0), _crafted(data, n=2**20 + 1), _crafted(data, payload=b""),
                _crafted(data, whole=False)):
        with pytest.raises(DataError):
            decode(bad)
        with pytest.raises(ValueError):
            ref.decode(bad)


def _version(**kw) -> int:
    x = np.cumsum(np.random.default_rng(1).standard_normal(3000))
    return encode(x, 0.5, **kw)[4]


def test_only_one_frame_of_a_whole_file_of_level_best_is_written_as_version_4(tmp_path):
    assert _version(level="best") == 4
    assert _version(level="best", frame_samples=1000) == 3  # three frames
    assert _version(level="default") == 2 and _version(level="fast") == 3
    empty = encode(np.empty((0, 1)), 0.5, level="best")
    assert empty[4] == 3 and decode(empty)[0].shape == (0, 1)
    x = np.linspace(0, 1, 500)[:, None]
    # a writer on a path creates its file with its header at once: version 3
    with HippoWriter(tmp_path / "p.hippo", HippoHeader(["v"], [0.01], whole=True),
                     level="best") as w:
        w.append(x)
    assert (tmp_path / "p.hippo").read_bytes()[4] == 3
    # a header of version 4 given: the layout is still the writer's choice
    for rows, want in ((500, 4), (1200, 3)):
        buf = io.BytesIO()
        w = HippoWriter(buf, HippoHeader(["v"], [0.01], version=4, whole=True),
                        level="best", frame_samples=1000, threads=1)
        w.append(np.linspace(0, 1, rows)[:, None])
        w.close()
        assert buf.getvalue()[4] == want and w.bytes_written == len(buf.getvalue())
        assert np.all(np.abs(decode(buf.getvalue())[0][:, 0] - np.linspace(0, 1, rows))
                      <= 0.01)


def test_a_one_frame_file_is_never_continued(tmp_path):
    path = tmp_path / "one.hippo"
    path.write_bytes(encode(np.arange(100.0), 0.1, level="best"))
    with pytest.raises(DataError, match="cannot be continued"):
        HippoWriter(path, HippoHeader(["value"], [0.1], whole=True), append=True,
                    level="best")
    result = hippo("stream", "--max-error", "0.1", "-o", str(path), input="1\n2\n3\n")
    assert_clean_failure(result, 2, "written whole")
    assert decode(path.read_bytes())[0].shape == (100, 1)  # untouched


def test_info_of_a_one_frame_file_gives_its_frame_and_time_range(tmp_path):
    path = tmp_path / "t.hippo"
    path.write_bytes(_small())
    result = hippo("info", "--json", str(path))
    assert result.exit_code == 0, result.stderr
    facts = json.loads(result.stdout)
    assert facts["format_version"] == 4 and facts["state"] == "finished"
    assert facts["frames"] == 1 and facts["samples"] == 400
    assert facts["time_range"] == [0.0, 399000.0]
    result = hippo("test", "-v", str(path))
    assert result.exit_code == 0 and "one-frame file, its checksum checked" in result.stderr
