"""Level default's long windows cut into 2 or 4 frames (``container.frame_cuts``), so that
threads share a single long series, and the crew starting the heaviest jobs first."""

from __future__ import annotations

import io

import numpy as np
import pytest
from test_codec_levels import _check
from test_reference_decoder import assert_same

from hippo_cli.codec import HippoHeader, HippoReader, HippoWriter, decode, encode, huffman
from hippo_cli.codec.container import SPLIT_MIN_SAMPLES, SPLIT_PART_BYTES, frame_cuts
from hippo_cli.codec.crew import Crew, _Batch
from hippo_cli.errors import DataError

THREADS = (1, 2, 3)


def _frames(data: bytes) -> list[int]:
    with HippoReader(io.BytesIO(data), "<bytes>", threads=1) as r:
        return [f.samples for f in r.index]


def _noisy(n: int, seed: int) -> np.ndarray:
    """A slow sine under white noise: about 2 bits a sample at 1% of the range."""
    rng = np.random.default_rng(seed)
    return np.sin(np.arange(n) / 3000.0) + 0.05 * rng.standard_normal(n)


def test_a_long_noisy_series_becomes_four_equal_frames_of_the_same_bytes_on_any_threads():
    x = _noisy(600_000, 1)
    x[[5, 300_000, 599_999]] = [np.nan, np.inf, -np.inf]
    eps = 0.01 * float(np.ptp(x[np.isfinite(x)]))
    blobs = [encode(x, eps, threads=t) for t in THREADS]
    assert blobs[0] == blobs[1] == blobs[2]
    assert _frames(blobs[0]) == [150_000] * 4
    for t in THREADS:
        _check(x, decode(blobs[0], threads=t)[0][:, 0], eps)
    assert_same(blobs[0])  # the second decoder reads the frames as the first
    one = encode(x, eps, threads=2, frame_samples=1 << 20)
    assert _frames(one) == [600_000]
    assert len(blobs[0]) <= 1.005 * len(one)  # what the cut costs: under 0.5% here


def test_a_series_that_compresses_far_stays_one_frame():
    """Where a frame more would cost more than about 0.5% (its parts estimated under
    SPLIT_PART_BYTES), the window stays whole."""
    x = np.sin(np.arange(700_000) / 20_000.0)
    eps = 0.01 * float(np.ptp(x))
    data = encode(x, eps, threads=2)
    assert _frames(data) == [700_000]
    assert len(data) < 2 * SPLIT_PART_BYTES


def test_short_windows_other_levels_and_chosen_frame_sizes_are_not_cut():
    x = _noisy(2 * SPLIT_MIN_SAMPLES - 1, 2)
    eps = 0.01 * float(np.ptp(x))
    assert _frames(encode(x, eps)) == [len(x)]
    y = _noisy(600_000, 3)
    eps = 0.01 * float(np.ptp(y))
    assert _frames(encode(y, eps, level="best")) == [600_000]
    assert _frames(encode(y, eps, frame_samples=500_000)) == [500_000, 100_000]


@pytest.mark.parametrize("chunks", [[1_200_000], [1, 262_143, 700_000, 237_856],
                                    [1 << 20, 151_424]])
def test_appends_in_any_pieces_give_the_bytes_of_one_call(chunks):
    """The cut depends on the window's samples only: a writer fed in pieces (a window of 2^20,
    then the rest at close) writes what encode() writes, with two channels."""
    rng = np.random.default_rng(4)
    x = np.stack([_noisy(1_200_000, 5), np.cumsum(rng.standard_normal(1_200_000))], axis=1)
    eps = [0.01 * float(np.ptp(x[:, 0])), 0.002 * float(np.ptp(x[:, 1]))]
    want = encode(x, eps, names=["a", "b"], threads=2)
    frames = _frames(want)
    assert frames[:4] == [1 << 18] * 4 and sum(frames) == len(x)
    buf = io.BytesIO()
    w = HippoWriter(buf, HippoHeader(["a", "b"], eps, whole=True), threads=3)
    at = 0
    for size in chunks:
        w.append(x[at:at + size])
        at += size
    w.close()
    assert buf.getvalue() == want


def test_timed_frames_are_cut_with_their_times():
    x = _noisy(400_000, 6)
    t = np.arange(400_000, dtype=np.int64) * 10 + 7
    eps = 0.01 * float(np.ptp(x))
    data = encode(x, eps, times=t, threads=2)
    assert _frames(data) == [200_000, 200_000]
    values, times = decode(data)
    _check(x, values[:, 0], eps)
    assert np.array_equal(times, t)
    assert data == encode(x, eps, times=t, threads=1)


def _huffman_bits(x: np.ndarray, eps: float) -> int:
    return huffman.shortest(x, eps)[1]


def test_frame_cuts_estimate_is_near_the_huffman_bits_of_the_whole_window():
    """On a stationary series the estimate from 4 slices is the Huffman codec's length of
    each quarter, within 5%; the counts and the bound on the parts."""
    rng = np.random.default_rng(7)
    x = rng.standard_normal(1 << 20)
    scratch = huffman.Scratch()
    for eps in (0.01, 0.1, 1.0):
        k, sizes = frame_cuts(x[None, :], [eps], scratch)
        quarter = [_huffman_bits(q, eps) for q in np.split(x, 4)]
        assert len(sizes) == k
        assert abs(sum(sizes) / sum(quarter) - 1) < 0.05
        want = 4 if sum(quarter) >= 4 * SPLIT_PART_BYTES else (
            2 if sum(quarter) >= 2 * SPLIT_PART_BYTES else 1)
        assert k == want
    assert frame_cuts(np.zeros((1, 1 << 20)), [0.1], scratch)[0] == 1
    assert frame_cuts(x[None, :2 * SPLIT_MIN_SAMPLES - 1], [0.01], scratch) == (1, None)
    assert frame_cuts(x[None, :3 * SPLIT_MIN_SAMPLES], [0.01], scratch)[0] == 2


def test_frame_cuts_counts_unrepresentable_samples_as_raw():
    """Values no grid index reaches (|x| / eps above 2^54) count 8 bytes a sample: cut."""
    x = np.full((1, 1 << 19), 1e300)
    x[0, ::2] = -1e300
    assert frame_cuts(x, [1e-3], huffman.Scratch())[0] == 4


def test_the_batch_claims_the_heaviest_first_and_keeps_the_results_in_order():
    batch = _Batch(lambda v: v, list("abcde"), weights=[1.0, 5.0, 0.0, 5.0, 3.0])
    assert [batch._claim() for _ in range(6)] == [1, 3, 4, 0, 2, -1]
    unweighed = _Batch(str, [1, 2, 3])
    assert [unweighed._claim() for _ in range(4)] == [0, 1, 2, -1]  # in order
    for threads in (1, 2, 3):
        crew = Crew(threads)
        try:
            items = list(range(50))
            assert crew.map(lambda v: v * 3, items, weights=[v % 7 for v in items]) == \
                [v * 3 for v in items]
        finally:
            crew.close()


def test_a_read_names_the_first_damaged_frame_whichever_thread_meets_it_first(monkeypatch):
    """Frames decode heaviest first; when two are damaged, the error still names the first
    in file order (here the last frame is the heaviest: it fails first)."""
    rng = np.random.default_rng(8)
    x = np.concatenate([np.zeros(3000), rng.standard_normal(1000)])
    data = encode(x, 0.01, frame_samples=1000, threads=1)
    with HippoReader(io.BytesIO(data), "<bytes>", threads=1) as r:
        sizes = [r.index[k].size for k in range(4)]
    assert sizes[3] == max(sizes)
    real = HippoReader._decoded
    seen = []

    def damaged(self, info, *args, **kwargs):
        seen.append(info.index)
        if info.index in (1, 3):
            raise DataError(f"frame {info.index} is damaged")
        return real(self, info, *args, **kwargs)

    monkeypatch.setattr(HippoReader, "_decoded", damaged)
    with pytest.raises(DataError, match="frame 1 is damaged"):
        decode(data, threads=2)
    assert seen[0] == 3
