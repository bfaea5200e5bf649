"""The time codec's mode 2 (format version 3, docs/format.md "Version 3"): times with a
cadence, jitter, gaps and a unit, coded at about their entropy.

What is checked: exact round trips (hypothesis: cadences, jitters, gaps, units, lengths 1..3
and frame boundaries, integers, decimals and ISO ticks); that the encoder's choice is never
longer than mode 0; the version rule (timed files are version 3, untimed ones version 2 with
the bytes hippo 0.3 wrote, a continued version-2 file stays version 2 and never holds mode 2,
mode 2 in a version-2 file is damage); that a regular cadence still costs a few bytes per
frame; and that jittered times cost no more than pcodec's lossless coding of the same
integers (the installed ``pcodec`` package). The second decoder's checks of mode 2 are in
tests/test_reference_decoder.py.
"""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import hippo_cli
from hippo_cli.codec.container import HippoHeader, HippoReader, HippoWriter, _version_for
from hippo_cli.codec.grid import decode_times, encode_times
from hippo_cli.codec.parts import Cursor, split_parts
from hippo_cli.codec.times import T_DECIMAL, T_INT, T_ISO, Times, decode_part, encode_part
from hippo_cli.errors import DataError

PROPS = settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))


def _time_parts(data: bytes) -> list[bytes]:
    """The time part of every frame of a timed ``.hippo`` file (version 2 or 3)."""
    reader = HippoReader(io.BytesIO(data), "f")
    parts = []
    for info in reader.index:
        payload = reader._payload(info)
        parts.append(split_parts(payload[1:], len(reader.header.channels) + 1)[0])
    return parts


def _codec_of(part: bytes) -> bytes:
    """The time codec's bytes (mode byte first) of a time part of kind 0, 1 or 3."""
    if part[0] == T_INT:
        return part[1:]
    if part[0] == T_DECIMAL:
        return part[2:]
    assert part[0] == T_ISO
    cur = Cursor(part, 2)
    count = cur.varint(1 << 20)
    for _ in range(count):
        cur.text(64)
    for _ in range(cur.varint(1 << 20)):
        cur.varint(1 << 20), cur.varint(count)
    return part[cur.pos:]


def time_modes(data: bytes) -> list[int]:
    """The time codec's mode of every frame of a timed ``.hippo`` file."""
    return [_codec_of(part)[0] for part in _time_parts(data)]


def _jittered(n: int, seed: int, cadence: int = 10_000, jitter: int = 2000,
              start: int = 1_780_000_000_000_000) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return start + cadence * np.arange(n) + rng.integers(-jitter, jitter + 1, n)


@st.composite
def cadenced(draw) -> np.ndarray:
    """int64 times: a cadence (0 to 10^9, or negative: falling times), jitter up to twice
    the cadence, gaps of whole or fractional cadences, a unit they are all multiples of,
    a start anywhere mode 0 reaches; lengths from 1."""
    n = draw(st.integers(1, 400))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    cadence = draw(st.sampled_from([0, 1, 3, 10, 1000, 10_000, 86_400, 10**9, -250]))
    jitter = int(abs(cadence) * draw(st.sampled_from([0.0, 0.01, 0.2, 0.5, 2.0])))
    unit = draw(st.sampled_from([1, 1, 7, 1000]))
    steps = np.full(n, cadence, np.int64)
    if draw(st.booleans()):
        gaps = rng.random(n) < 0.05
        steps[gaps] += rng.integers(1, 50, int(gaps.sum())) * max(abs(cadence), 1) // \
            draw(st.sampled_from([1, 1, 3]))
    t = np.cumsum(steps) + rng.integers(-jitter, jitter + 1, n)
    start = draw(st.integers(-(2**60) // unit // 2, 2**60 // unit // 2))
    return (t + start // max(unit, 1)) * unit


@PROPS
@given(cadenced())
def test_cadence_round_trips_and_is_never_longer_than_mode_0(t):
    """Exact round trips; and the encoder's choice (by a cost estimate, both coded when they
    are close) is not longer than mode 0 on these times (none in 3000 examples was)."""
    coded = encode_times(t, cadence=True)
    assert np.array_equal(decode_times(coded, len(t), cadence=True), t)
    assert len(coded) <= len(encode_times(t))
    if coded[0] == 2:  # what only version 3 may hold
        with pytest.raises(ValueError, match="mode"):
            decode_times(coded, len(t))


@PROPS
@given(n=st.integers(1, 23), frame=st.integers(1, 5), kind=st.sampled_from(
    ["integers", "decimals", "iso-ms", "iso-ns", "iso-zone"]), seed=st.integers(0, 1000),
    jitter=st.sampled_from([0, 2, 2000]))
def test_files_round_trip_across_frame_boundaries(n, frame, kind, seed, jitter):
    """Short frames (1, 2, 3 samples and more) of every time kind: the times come back
    exactly, from hippo and from the second decoder's reading of the same bytes."""
    t = _jittered(n, seed, jitter=jitter)
    if kind == "decimals":
        times = t / 1e6
    elif kind == "iso-ms":
        times = (t // 1000).astype("datetime64[ms]")
    elif kind == "iso-ns":
        times = (t * 1000 + 7).astype("datetime64[ns]")
    elif kind == "iso-zone":
        stamps = hippo_cli.codec.times.from_array((t // 1000).astype("datetime64[ms]"))
        times = Times(stamps.seconds, stamps.ints, stamps.nanos, stamps.fmt,
                      ["####-##-##T##:##:##.###+05:30"])
    else:
        times = t
    data = hippo_cli.encode(np.zeros(n), 0.1, times=times, frame_samples=frame)
    assert data[4] == 3
    _, got = hippo_cli.decode(data)
    if kind == "iso-zone":
        assert hippo_cli.codec.times.from_array(got).ints.tolist() == times.ints.tolist()
    else:
        assert np.array_equal(got, times)


def test_iso_ticks_use_mode_2():
    """ISO times at milliseconds with jitter: the ticks after the templates are in mode 2."""
    t = _jittered(5000, 1)
    stamps = hippo_cli.codec.times.from_array((t // 1000).astype("datetime64[ms]"))
    part = encode_part(stamps, cadence=True)
    assert _codec_of(part)[0] == 2
    assert decode_part(part, 5000, cadence=True).text() == stamps.text()
    with pytest.raises(ValueError, match="mode"):
        decode_part(part, 5000)  # a version-2 reader's view: damage
    assert _codec_of(encode_part(stamps))[0] == 0  # without cadence: mode 0, as before


# --------------------------------------------------------------------------- versions
def test_the_version_rule():
    assert _version_for(True) == 3 and _version_for(False) == 2
    x = np.sin(np.arange(3000) / 40.0)
    assert hippo_cli.encode(x, 0.01, times=_jittered(3000, 2))[4] == 3
    assert hippo_cli.encode(x, 0.01)[4] == 2
    assert HippoHeader(["a"], [0.1], "t").version == 3
    assert HippoHeader(["a"], [0.1]).version == 2
    assert HippoHeader(["a"], [0.1], "t", version=2).version == 2


def test_untimed_files_keep_the_bytes_of_version_2():
    """A file without times: version 2, and the very bytes of the committed v2 writer's
    layout (header CRC over the version byte 2, no byte of the frames changed by version 3:
    the same frames as a version-2 header given explicitly)."""
    x = np.cumsum(np.random.default_rng(4).standard_normal((5000, 2)), axis=0)
    data = hippo_cli.encode(x, 0.05, frame_samples=2000)
    assert data[4] == 2
    explicit = io.BytesIO()
    header = HippoHeader(["col0", "col1"], [0.05, 0.05], version=2, whole=True)
    with HippoWriter(explicit, header, frame_samples=2000, threads=1) as writer:
        writer.append(x)
    assert explicit.getvalue() == data


def _v2_timed_file(path, times: np.ndarray) -> None:
    header = HippoHeader(["v"], [0.01], "t", version=2)
    with HippoWriter(path, header, frame_samples=500, threads=1) as writer:
        writer.append(np.sin(np.arange(len(times)) / 30.0), times)


def test_appending_to_a_version_2_file_keeps_version_2(tmp_path):
    """HippoWriter(append=True) on a version-2 file (with a header that would make a new file
    version 3): the file stays version 2, no frame uses mode 2, and both decoders read it."""
    import reference_decoder as ref

    path = tmp_path / "old.hippo"
    t = _jittered(2000, 3)
    _v2_timed_file(path, t[:1000])
    assert path.read_bytes()[4] == 2
    with HippoWriter(path, HippoHeader(["v"], [0.01], "t"), frame_samples=500,
                     append=True) as writer:
        assert writer.header.version == 2
        writer.append(np.sin(np.arange(1000, 2000) / 30.0), t[1000:])
    data = path.read_bytes()
    assert data[4] == 2 and len(time_modes(data)) == 4
    assert set(time_modes(data)) == {0}
    _, times = hippo_cli.decode(data)
    assert np.array_equal(times, t)
    assert ref.decode(data)[1] == t.tolist()
    # a new file of the same samples: version 3, mode 2, fewer bytes for the times
    fresh = tmp_path / "new.hippo"
    with HippoWriter(fresh, HippoHeader(["v"], [0.01], "t"), frame_samples=500) as writer:
        writer.append(np.sin(np.arange(2000) / 30.0), t)
    new = fresh.read_bytes()
    assert new[4] == 3 and set(time_modes(new)) == {2}
    assert sum(map(len, _time_parts(new))) < sum(map(len, _time_parts(data)))


def test_hippo_stream_resuming_a_version_2_file_stays_version_2(tmp_path):
    from test_cli import hippo

    path = tmp_path / "live.hippo"
    t = _jittered(1200, 6)
    _v2_timed_file(path, t[:600])
    lines = "t,v\n" + "".join(f"{v},{np.sin(i / 30.0):.5f}\n" for i, v in
                              enumerate(t[600:].tolist(), 600))
    res = hippo("stream", "--max-error", "0.01", "--time-column", "t", "-o", path,
                "--flush-every", "300", input=lines)
    assert res.exit_code == 0, res.stderr
    data = path.read_bytes()
    assert data[4] == 2 and set(time_modes(data)) == {0} and len(time_modes(data)) == 4
    assert np.array_equal(hippo_cli.decode(data)[1], t)
    # a new stream writes version 3
    res = hippo("stream", "--max-error", "0.01", "--time-column", "t", "-o",
                tmp_path / "new.hippo", "--flush-every", "300", input=lines)
    assert res.exit_code == 0, res.stderr
    assert (tmp_path / "new.hippo").read_bytes()[4] == 3


def _with_version(data: bytes, version: int) -> bytes:
    """``data`` with another version byte (and the header's CRC made right again)."""
    reader = HippoReader(io.BytesIO(data), "f")
    size = reader.header_size
    head = bytearray(data[:size])
    head[4] = version
    head[-4:] = struct.pack("<I", zlib.crc32(bytes(head[:-4])))
    return bytes(head) + data[size:]


def test_mode_2_in_a_version_2_file_is_damage():
    data = hippo_cli.encode(np.zeros(3000), 0.1, times=_jittered(3000, 8), frame_samples=1000)
    assert time_modes(data) == [2, 2, 2]
    assert np.array_equal(hippo_cli.decode(_with_version(data, 3))[1], _jittered(3000, 8))
    with pytest.raises(DataError, match="frame 0 .* damaged"):
        hippo_cli.decode(_with_version(data, 2))


def test_cut_and_bad_mode_2_streams_are_rejected():
    t = _jittered(500, 9)
    coded = encode_times(t, cadence=True)
    assert coded[0] == 2
    for cut in (1, 3, len(coded) // 2):
        with pytest.raises(ValueError):
            decode_times(coded[:-cut], len(t), cadence=True)
    with pytest.raises(ValueError):
        decode_times(coded + bytes(5), len(t), cadence=True)
    with pytest.raises(ValueError):
        decode_times(b"\x03" + coded[1:], len(t), cadence=True)  # mode 3 does not exist


# --------------------------------------------------------------------------- sizes
@pytest.mark.parametrize("kind", ["integers", "iso-ms", "decimals"])
def test_a_regular_cadence_costs_a_few_bytes_per_frame(kind):
    n, frame = 40_000, 10_000
    t = 1_780_000_000_000 + 10 * np.arange(n)  # milliseconds
    times = {"integers": t, "iso-ms": t.astype("datetime64[ms]"), "decimals": t / 1000}[kind]
    data = hippo_cli.encode(np.zeros(n), 0.1, times=times, frame_samples=frame)
    sizes = [len(_codec_of(p)) for p in _time_parts(data)]
    assert len(sizes) == 4 and max(sizes) <= 16, sizes


@pytest.mark.parametrize("unit", ["us", "ns", "iso-us"])
def test_jittered_times_cost_no_more_than_pcodec(unit):
    """+-2 ms of uniform jitter on a 10 ms cadence (a seed not used while building this):
    hippo's coded times of one frame are no larger than pcodec's lossless coding of the same
    integers, and well below mode 0's."""
    from pcodec import ChunkConfig, standalone

    t = _jittered(30_000, 20261208)
    ints = t * 1000 if unit == "ns" else t
    times = t.astype("datetime64[us]") if unit == "iso-us" else ints
    data = hippo_cli.encode(np.zeros(len(t)), 0.1, times=times, frame_samples=len(t))
    (part,) = _time_parts(data)
    hippo_bytes = len(_codec_of(part))
    pcodec_bytes = len(standalone.simple_compress(ints, ChunkConfig()))
    assert hippo_bytes <= pcodec_bytes
    assert hippo_bytes < 0.95 * len(encode_times(ints))
