"""A ``.hippo`` file never loses data quietly: a finished file (with its footer) cut at any
byte or with any byte changed is an error naming where; ``salvage`` gives exactly the intact
frames and says what is lost; a stream that is not closed decodes with a note of what it
holds; a frame cut short at the end of a stream is an error unless salvaged. And the footer's
index gives random access: a range decodes only the frames it overlaps."""

from __future__ import annotations

import io

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_cli import assert_clean_failure, hippo

from hippo_cli import DataError, ParameterError
from hippo_cli.codec import HippoReader, HippoWriter, decode, encode, open_hippo
from hippo_cli.codec.container import HippoHeader

PROPS = settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
FRAME = 1000
N = 5000


def _values(n: int = N) -> np.ndarray:
    return np.cumsum(np.random.default_rng(7).standard_normal((n, 2)), axis=0)


def _times(n: int = N) -> np.ndarray:
    return 1.7e9 + 0.25 * np.arange(n)


FINISHED = encode(_values(), 0.05, times=_times(), frame_samples=FRAME)
WHOLE_VALUES, WHOLE_TIMES = decode(FINISHED)


def _stream(n_frames: int = 5, close: bool = False) -> bytes:
    """A file written the way ``hippo stream`` writes one (not whole): frames appended."""
    buf = io.BytesIO()
    w = HippoWriter(buf, HippoHeader(["a", "b"], [0.05, 0.05]), frame_samples=FRAME)
    w.append(_values(n_frames * FRAME))
    if close:
        w.close()
    else:
        w.flush()
    return buf.getvalue()


def _read(data: bytes, salvage: bool = False) -> tuple[HippoReader, np.ndarray]:
    reader = HippoReader(io.BytesIO(data), "f.hippo", salvage=salvage)
    values, _ = reader.read()
    return reader, values


def _frame_offsets(data: bytes) -> list[int]:
    return [f.offset for f in HippoReader(io.BytesIO(data), "f").index]


def test_the_footer_indexes_every_frame():
    reader = HippoReader(io.BytesIO(FINISHED), "f.hippo")
    assert reader.finished and reader.header.whole and reader.header.version == 3  # timed: v3
    assert [f.samples for f in reader.index] == [FRAME] * 5
    assert [f.start for f in reader.index] == list(range(0, N, FRAME))
    for f in reader.index:
        t = _times()[f.start:f.start + f.samples]
        assert (f.time_min, f.time_max) == (t.min(), t.max())
    # the same index as a scan of the frame heads (the footer cut off)
    scan = HippoReader(io.BytesIO(FINISHED[:reader.frames_end]), "s", salvage=True).index
    assert [(f.offset, f.size, f.start, f.samples) for f in scan] == \
        [(f.offset, f.size, f.start, f.samples) for f in reader.index]


@PROPS
@given(cut=st.integers(0, len(FINISHED) - 1))
def test_a_finished_file_cut_at_any_byte_is_an_error(cut):
    with pytest.raises(DataError):
        _read(FINISHED[:cut])


@pytest.mark.parametrize("where", ["frame ends", "footer"])
def test_cuts_at_every_boundary_are_errors(where):
    offsets = _frame_offsets(FINISHED)
    footer = HippoReader(io.BytesIO(FINISHED), "f").frames_end
    cuts = [*offsets, footer] if where == "frame ends" else range(footer, len(FINISHED))
    for cut in cuts:
        with pytest.raises(DataError):
            _read(FINISHED[:cut])


@PROPS
@given(pos=st.integers(0, len(FINISHED) - 1), mask=st.integers(1, 255))
def test_a_finished_file_with_any_byte_changed_is_an_error(pos, mask):
    data = bytearray(FINISHED)
    data[pos] ^= mask
    with pytest.raises(DataError):
        _read(bytes(data))


@PROPS
@given(frame=st.integers(0, 4), at=st.floats(0, 1), mask=st.integers(1, 255))
def test_salvage_keeps_exactly_the_intact_frames(frame, at, mask):
    info = HippoReader(io.BytesIO(FINISHED), "f").index[frame]
    data = bytearray(FINISHED)
    data[info.offset + int(at * (info.size - 1))] ^= mask
    with pytest.raises(DataError, match=f"frame {frame} at byte {info.offset}"):
        _read(bytes(data))
    reader, values = _read(bytes(data), salvage=True)
    keep = np.ones(N, bool)
    keep[info.start:info.start + info.samples] = False
    assert np.array_equal(values, WHOLE_VALUES[keep])
    lost = f"{info.samples} samples ({info.start} to {info.start + info.samples - 1})"
    assert any(lost in note for note in reader.notes), reader.notes


def test_a_stream_not_closed_decodes_with_a_note():
    data = _stream(3)
    reader, values = _read(data)
    assert not reader.finished and len(values) == 3 * FRAME
    assert any("not closed" in n and "3000 samples" in n for n in reader.notes)
    # closed: the same samples, a footer, no note
    reader, closed = _read(_stream(3, close=True))
    assert reader.finished and not reader.notes and np.array_equal(closed, values)


@PROPS
@given(cut=st.integers(0, 3 * FRAME * 20))
def test_a_stream_cut_inside_a_frame_is_an_error_unless_salvaged(cut):
    data = _stream(3)
    offsets = _frame_offsets(data)
    cut = offsets[0] + cut % (len(data) - offsets[0])
    complete = sum(o + 0 <= cut for o in offsets[1:]) + (cut == len(data))
    if cut in offsets:  # a frame boundary: a shorter live stream, all it holds is intact
        reader, values = _read(data[:cut])
        assert len(values) == offsets.index(cut) * FRAME
        return
    with pytest.raises(DataError, match="cut short"):
        _read(data[:cut])
    reader, values = _read(data[:cut], salvage=True)
    assert len(values) == complete * FRAME and any("cut short" in n for n in reader.notes)


def test_a_file_written_whole_must_have_its_footer():
    footer = HippoReader(io.BytesIO(FINISHED), "f").frames_end
    with pytest.raises(DataError, match="without its footer"):
        _read(FINISHED[:footer])
    reader, values = _read(FINISHED[:footer], salvage=True)
    assert np.array_equal(values, WHOLE_VALUES)


# --------------------------------------------------------------------------- random access
BIG_FRAME = 1 << 16


@pytest.fixture(scope="module")
def big(tmp_path_factory):
    n = 40 * BIG_FRAME
    t = np.arange(n)
    x = np.sin(t / 5000.0) + 1e-3 * np.cos(t / 7.0)
    path = tmp_path_factory.mktemp("big") / "big.hippo"
    path.write_bytes(encode(x, 1e-3, times=1.7e9 + 0.01 * t, frame_samples=BIG_FRAME))
    return path, x


def _count_decodes(monkeypatch) -> list:
    calls: list = []
    real = HippoReader._decode

    def spy(self, info, payload, *rest):
        calls.append(info.index)
        return real(self, info, payload, *rest)

    monkeypatch.setattr(HippoReader, "_decode", spy)
    return calls


def test_a_range_decodes_only_the_frames_it_overlaps(big, monkeypatch):
    path, x = big
    calls = _count_decodes(monkeypatch)
    with open_hippo(path) as reader:
        values, times = reader.read(1_000_000, 1_001_000)
    assert calls == [1_000_000 // BIG_FRAME]  # 1000 samples of 2.6M: one frame
    assert np.all(np.abs(values[:, 0] - x[1_000_000:1_001_000]) <= 1e-3)
    np.testing.assert_array_equal(times, 1.7e9 + 0.01 * np.arange(1_000_000, 1_001_000))


@pytest.fixture(scope="module")
def big_whole(big):
    with open_hippo(big[0]) as reader:  # frame by frame: the reference for ranges
        return np.concatenate([f.values for f in reader.frames()])


BOUNDS = st.one_of(st.none(), st.integers(-41 * BIG_FRAME, 41 * BIG_FRAME),
                   st.sampled_from([0, BIG_FRAME - 1, BIG_FRAME, BIG_FRAME + 1]))


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(start=BOUNDS, stop=BOUNDS)
def test_ranges_equal_slices_of_the_whole(big, big_whole, start, stop):
    with open_hippo(big[0]) as reader:
        if start is not None and stop is not None and abs(stop - start) > 3 * BIG_FRAME:
            stop = start + 3 * BIG_FRAME  # keep each example small
        values, times = reader.read(start, stop)
    assert np.array_equal(values, big_whole[start:stop]) and len(times) == len(values)


def test_a_time_window_decodes_only_its_frames(big, monkeypatch):
    path, x = big
    calls = _count_decodes(monkeypatch)
    t0, t1 = 1.7e9 + 0.01 * 2_000_000, 1.7e9 + 0.01 * 2_000_500
    with open_hippo(path) as reader:
        values, times = reader.read(time_from=t0, time_to=t1)
        assert np.all((times >= t0) & (times <= t1)) and len(times) == 501
    assert len(calls) == 1
    with pytest.raises(ParameterError, match="no times"):
        HippoReader(io.BytesIO(encode(np.zeros(3), 1.0)), "x").read(time_from=0)


def test_info_reads_the_footer_without_decoding(big, monkeypatch):
    path, _ = big
    calls = _count_decodes(monkeypatch)
    res = hippo("info", path, "--json")
    assert res.exit_code == 0, res.stderr
    assert calls == [] and '"state": "finished"' in res.stdout
    assert '"samples": 2621440' in res.stdout


# --------------------------------------------------------------------------- the CLI
def test_cli_exit_codes_for_damage(tmp_path):
    info = HippoReader(io.BytesIO(FINISHED), "f").index[2]
    bad = bytearray(FINISHED)
    bad[info.offset + info.size // 2] ^= 0x20
    p = tmp_path / "bad.hippo"
    p.write_bytes(bytes(bad))
    res = hippo("reconstruct", p, "-o", tmp_path / "out.csv")
    assert_clean_failure(res, 1, f"frame 2 at byte {info.offset}", "--salvage")
    assert not (tmp_path / "out.csv").exists()
    res = hippo("reconstruct", p, "--salvage", "-o", tmp_path / "out.csv")
    assert res.exit_code == 0 and "2000 to 2999) are left out" in res.stderr
    assert len((tmp_path / "out.csv").read_text().splitlines()) == 1 + N - FRAME
    cut = tmp_path / "cut.hippo"
    cut.write_bytes(FINISHED[:-1])
    assert_clean_failure(hippo("reconstruct", cut), 1, "footer")


def test_cli_live_stream_and_torn_tail(tmp_path):
    live = tmp_path / "live.hippo"
    live.write_bytes(_stream(2))
    res = hippo("reconstruct", live, "-o", tmp_path / "o.csv")
    assert res.exit_code == 0 and "not closed" in res.stderr and "2000 samples" in res.stderr
    live.write_bytes(_stream(2)[:-5])
    assert_clean_failure(hippo("reconstruct", live), 1, "cut short")
    res = hippo("reconstruct", live, "--salvage", "-o", tmp_path / "o2.csv")
    assert res.exit_code == 0 and "cut short" in res.stderr
