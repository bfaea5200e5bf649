"""Threads (issue 22): whatever the thread count (1, 2, 3, None: the cores), the same bytes and
the same decoded bits, for any channel count and any length across frame boundaries, on every
level; the decoder's workers write each channel group (or whole frame) straight into its rows of
the one output array, checked against plain references (the second decoder, the frames one by
one on one thread); a failure in a worker is the caller's error, and nothing is half-written."""

from __future__ import annotations

import io

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_codec_levels import _check
from test_reference_decoder import assert_same

from hippo_cli.codec import HippoHeader, HippoReader, HippoWriter, decode, encode
from hippo_cli.codec.channel import LEVELS
from hippo_cli.codec.container import (
    TILE_ROWS,
    channel_groups,
    columns_to_rows,
    rows_to_columns,
)
from hippo_cli.codec.parts import ChannelCoder
from hippo_cli.errors import DataError, HippoError

THREADS = (1, 2, 3, None)


def _bits(a: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(a).view(np.uint64)


def _walks(n: int, C: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.cumsum(rng.standard_normal((n, C)), axis=0) + np.arange(C)


def _frame_by_frame(data: bytes) -> np.ndarray:
    """The values of ``data`` decoded one frame at a time on one thread, concatenated: the
    plain reference of the threaded read (no output array shared, no channel groups)."""
    with HippoReader(io.BytesIO(data), "<ref>", threads=1) as r:
        return np.concatenate([
            np.stack([r._coder.decode(part, f.samples, eps, False,
                                      coders=bool(r._payload(f)[0] & 0x20))
                      for part, eps in zip(_parts(r, f), r.header.max_errors)], axis=1)
            for f in r.index])


def _parts(reader: HippoReader, info) -> list[bytes]:
    from hippo_cli.codec.parts import split_parts

    payload = reader._payload(info)
    assert payload[0] & ~0x20 == 0  # no non-finite values in these frames
    return split_parts(payload[1:], len(reader.header.channels))


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(C=st.integers(1, 20), n=st.integers(1, 900), frame=st.integers(40, 400),
       level=st.sampled_from(sorted(LEVELS)), seed=st.integers(0, 2**31))
def test_any_channels_and_lengths_same_bytes_and_bits(C, n, frame, level, seed):
    x = _walks(n, C, seed)
    x[seed % n, seed % C] = np.nan if seed % 3 else np.inf  # a frame with non-finite values
    eps = 0.05
    blobs = [encode(x, eps, level=level, threads=t, frame_samples=frame) for t in THREADS]
    assert all(b == blobs[0] for b in blobs)
    ys = [decode(blobs[0], threads=t)[0] for t in THREADS]
    for y in ys:
        assert np.array_equal(_bits(y), _bits(ys[0]))
    _check(x, ys[0], eps)
    assert np.array_equal(_bits(assert_same(blobs[0])[0]), _bits(ys[0]))
    with HippoReader(io.BytesIO(blobs[0]), "<b>", threads=2) as r:  # ranges across frames
        a, b = sorted(((seed * 7) % (n + 1), (seed * 13) % (n + 1)))
        assert np.array_equal(_bits(r.read(a, b)[0]), _bits(ys[0][a:b]))


@pytest.mark.parametrize("level", sorted(LEVELS))
def test_64_channels_in_tiles_one_frame_and_several(level):
    """64 channels of more rows than a tile (groups of 8 moved tile by tile), in one frame and
    in frames of 3000 rows: every thread count gives the bits of the frame-by-frame reference."""
    n, C = TILE_ROWS * 2 + 123, 64
    x = _walks(n, C, 1)
    eps = 0.1
    for frame in (None, 3000):
        blobs = [encode(x, eps, level=level, threads=t, frame_samples=frame) for t in THREADS]
        assert all(b == blobs[0] for b in blobs)
        want = _frame_by_frame(blobs[0])
        _check(x, want, eps)
        for t in THREADS:
            y, _ = decode(blobs[0], threads=t)
            assert y.shape == (n, C) and y.flags.c_contiguous
            assert np.array_equal(_bits(y), _bits(want))
            with HippoReader(io.BytesIO(blobs[0]), "<b>", threads=t) as r:
                for a, b in ((0, n), (17, n - 5), (2999, 6001), (3000, 6000), (n - 1, n)):
                    assert np.array_equal(_bits(r.read(a, b)[0]), _bits(want[a:b]))


def test_one_long_series_straight_into_its_rows():
    """A single series in several frames is decoded into one array (each frame into its rows),
    equal to the frames one by one; its last, shorter frame coded beside the others."""
    x = _walks(70_000, 1, 2)[:, 0]
    blobs = [encode(x, 0.2, level="fast", threads=t, frame_samples=16_000) for t in THREADS]
    assert all(b == blobs[0] for b in blobs)
    want = _frame_by_frame(blobs[0])
    for t in THREADS:
        assert np.array_equal(_bits(decode(blobs[0], threads=t)[0]), _bits(want))


def test_encode_codes_every_frame_in_one_go(monkeypatch):
    """encode() hands all its frames, the last shorter one too, to the workers at once (the
    fast level's 4 frames of 10^6 samples were coded as 2, then 1, then 1)."""
    batches = []
    real = HippoWriter._map

    def spy(self, jobs, weights=None):
        batches.append(len(jobs))
        return real(self, jobs, weights)

    monkeypatch.setattr(HippoWriter, "_map", spy)
    encode(_walks(1000, 1, 3), 0.1, frame_samples=300, threads=2)
    assert batches == [4]


def test_frames_that_wait_are_copied_not_viewed():
    """A whole file's full frames that wait for the next append are copies: the caller may
    reuse its array once append returns (the frames of the append running are views)."""
    x = _walks(250, 2, 4)
    keep = x.copy()
    w_buf = io.BytesIO()
    w = HippoWriter(w_buf, HippoHeader(["a", "b"], [0.1, 0.1], whole=True), frame_samples=100,
                    threads=3)
    w.append(x[:200])
    assert w.frames == 0  # two full frames wait for a third
    x[:] = 1e9  # the caller reuses its buffer
    w.append(keep[200:])
    w.close()
    y, _ = decode(w_buf.getvalue())
    _check(keep, y, 0.1)
    assert w_buf.getvalue() == encode(keep, 0.1, names=["a", "b"], frame_samples=100, threads=1)


@pytest.mark.parametrize("threads", [1, 2, 3])
def test_a_failing_worker_is_the_callers_error_and_nothing_is_written(monkeypatch, threads):
    real = ChannelCoder.encode_part

    def fails_on_channel_5(self, x, eps, runs, coders=False, chain=None, chained=False):
        if x[0] == 5.0:  # channel 5 of the data below
            raise RuntimeError("the encoder's bound check failed on 1 samples")
        return real(self, x, eps, runs, coders, chain, chained)

    monkeypatch.setattr(ChannelCoder, "encode_part", fails_on_channel_5)
    x = _walks(900, 12, 5)
    x[0] = np.arange(12.0)
    buf = io.BytesIO()
    w = HippoWriter(buf, HippoHeader([f"c{i}" for i in range(12)], [0.1] * 12), frame_samples=300,
                    level="fast", threads=threads)
    head = len(buf.getvalue())
    with pytest.raises(HippoError, match="channel 5"):
        w.append(x)
    assert len(buf.getvalue()) == head and w.frames == 0  # no frame of the append written
    w.stop_threads()
    with pytest.raises(HippoError, match="channel 5"):
        encode(x, 0.1, level="fast", threads=threads)


@pytest.mark.parametrize("threads", [1, 2, 3])
def test_a_worker_that_cannot_decode_is_a_data_error(monkeypatch, threads):
    blob = encode(_walks(3000, 9, 6), 0.1, frame_samples=1000, threads=1)
    real = ChannelCoder.decode_part

    def broken(self, part, n, eps, specials, out=None, coders=False, chain=None):
        if part == parts_of_channel_4:
            raise ValueError("malformed payload (it ends before the last sample)")
        return real(self, part, n, eps, specials, out, coders, chain)

    with HippoReader(io.BytesIO(blob), "<b>", threads=1) as r:
        parts_of_channel_4 = _parts(r, r.index[1])[4]
    want = _frame_by_frame(blob)
    monkeypatch.setattr(ChannelCoder, "decode_part", broken)
    with pytest.raises(DataError, match="frame 1"):
        decode(blob, threads=threads)
    with HippoReader(io.BytesIO(blob), "<b>", salvage=True, threads=threads) as r:
        y, _ = r.read()  # frame 1 left out, the rows of frames 0 and 2 in place
        assert np.array_equal(_bits(y), _bits(np.concatenate([want[:1000], want[2000:]])))
        assert any("frame 1" in note for note in r.notes)


@given(C=st.integers(1, 70), n=st.integers(1, 3 * TILE_ROWS), threads=st.integers(1, 4))
@settings(max_examples=30, deadline=None)
def test_channel_groups_and_tiles(C, n, threads):
    """The groups cover every channel once, in at most 8 neighbours and a bounded scratch; the
    tile moves are a transposition (against numpy's)."""
    groups = channel_groups(C, n, threads)
    assert sorted(c for c0, c1 in groups for c in range(c0, c1)) == list(range(C))
    assert all(1 <= c1 - c0 <= 8 for c0, c1 in groups)
    rng = np.random.default_rng(C * n)
    values = rng.standard_normal((n, C))
    out = np.full((n, C), np.nan)
    for c0, c1 in groups:
        rows = np.empty((c1 - c0, n))
        columns_to_rows(values, c0, rows)
        assert np.array_equal(rows, values[:, c0:c1].T)
        rows_to_columns(rows, out, c0)
    assert np.array_equal(out, values)


@pytest.mark.parametrize("threads", [1, 2, 3, 4])
def test_crew_map_is_the_list_comprehension(threads):
    from hippo_cli.codec.crew import Crew

    crew = Crew(threads)
    try:
        for items in ([], [5], list(range(100))):
            assert crew.map(lambda v: v * v + 1, items) == [v * v + 1 for v in items]
    finally:
        crew.close()


def test_crew_error_reaches_the_caller_after_every_running_job_ends():
    """A failing job is raised in the caller once the jobs already running have finished, and
    no job starts after it: nothing works on the caller's data once map has returned."""
    import threading
    import time

    from hippo_cli.codec.crew import Crew

    lock = threading.Lock()
    started, ended = [], []

    def job(i):
        with lock:
            started.append(i)
        try:
            if i == 3:
                raise DataError("job 3 failed")
            time.sleep(0.005)
        finally:
            with lock:
                ended.append(i)
        return i

    crew = Crew(3)
    try:
        with pytest.raises(DataError, match="job 3"):
            crew.map(job, list(range(40)))
        with lock:
            assert sorted(started) == sorted(ended)  # none still running
            assert len(started) < 40  # none started after the failure (a few were running)
        assert crew.map(job, [0, 1, 2]) == [0, 1, 2]  # the crew still works
    finally:
        crew.close()


def test_crew_helpers_end_at_close():
    import os
    import time

    from hippo_cli.codec.crew import Crew

    def tasks() -> int:
        return len(os.listdir("/proc/self/task"))

    before = tasks()
    crew = Crew(4)
    crew.map(lambda v: v, list(range(50)))
    crew.close()
    for _ in range(200):  # the helpers take their end marker when they next run
        if tasks() <= before:
            break
        time.sleep(0.01)
    assert tasks() <= before


@given(cuts=st.lists(st.integers(1, 700), min_size=1, max_size=8),
       frame=st.sampled_from([64, 300, 1000]), whole=st.booleans(), threads=st.sampled_from([1, 2]))
@settings(max_examples=40, deadline=None)
def test_a_caller_may_reuse_its_buffers_once_append_returns(cuts, frame, whole, threads):
    """Appends from one buffer of values and one of times, refilled between calls (a reader
    loop's habit): the file equals one written from fresh arrays. Samples left pending in a
    frame not yet full were views of the caller's buffer, and a refill changed them."""
    from hippo_cli.codec import header_with_times

    rng = np.random.default_rng(len(cuts) * 1000 + frame)
    n = sum(cuts)
    values = np.cumsum(rng.normal(size=(n, 2)), axis=0)
    times = np.cumsum(rng.integers(1, 5, n)).astype(np.float64)
    header = header_with_times(["a", "b"], [0.05, 0.05], "t", whole=whole)
    files = []
    for reuse in (False, True):
        out = io.BytesIO()
        w = HippoWriter(out, header, frame_samples=frame, threads=threads)
        vbuf, tbuf = np.empty((max(cuts), 2)), np.empty(max(cuts))
        at = 0
        for k in cuts:
            if reuse:
                vbuf[:k], tbuf[:k] = values[at:at + k], times[at:at + k]
                w.append(vbuf[:k], tbuf[:k])
                vbuf.fill(np.nan), tbuf.fill(-1.0)  # the caller's next use of its buffers
            else:
                w.append(values[at:at + k].copy(), times[at:at + k].copy())
            at += k
        w.close()
        files.append(out.getvalue())
    assert files[0] == files[1]
    got, got_times = decode(files[1])
    assert np.max(np.abs(got - values)) <= 0.05 and np.array_equal(got_times, times)
