"""Compression levels and threads: every level keeps the bound on every sample (non-finite
values bit for bit), writes the same bytes for any thread count, and is read by hippo's decoder
and by the second decoder (tests/reference_decoder.py) alike; decoding on threads gives the
same values."""

from __future__ import annotations

import io

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_reference_decoder import assert_same

from hippo_cli.codec import (
    HippoHeader,
    HippoReader,
    HippoWriter,
    decode,
    encode,
    header_with_times,
    open_hippo,
)
from hippo_cli.codec.channel import LEVELS
from hippo_cli.codec.parts import ChannelCoder
from hippo_cli.errors import HippoError, ParameterError

THREADS = (1, 2, 3)


def _check(x: np.ndarray, y: np.ndarray, eps) -> None:
    """y keeps x: finite values within eps (per channel), the others bit for bit."""
    x2 = x.reshape(len(x), -1)
    y2 = y.reshape(len(y), -1)
    assert y2.shape == x2.shape
    eps = np.broadcast_to(np.asarray(eps, float), (x2.shape[1],))
    finite = np.isfinite(x2)
    with np.errstate(invalid="ignore"):
        assert np.all(np.abs(y2 - x2)[finite] <= np.broadcast_to(eps, x2.shape)[finite])
    assert np.array_equal(x2.view(np.uint64)[~finite], y2.view(np.uint64)[~finite])


def _signal(kind: str, n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if kind == "constant":
        return np.full(n, 3.25)
    if kind == "noise":
        return rng.standard_normal(n)
    if kind == "steps":
        return np.repeat(rng.integers(-5, 5, n // 50 + 1), 50)[:n] * 1.5
    if kind == "walk":
        return np.cumsum(rng.standard_normal(n))
    if kind == "smooth":
        return np.sin(np.arange(n) / 40.0) * 10
    x = np.cumsum(rng.standard_normal(n))  # "specials": NaN and infinities in runs and alone
    for v in (np.nan, np.inf, -np.inf):
        at = rng.integers(0, n, 3)
        x[at] = v
    x[n // 3 : n // 3 + 7] = np.nan
    return x


KINDS = ["constant", "noise", "steps", "walk", "smooth", "specials"]


@pytest.mark.parametrize("level", sorted(LEVELS))
@pytest.mark.parametrize("kind", KINDS)
def test_levels_bound_threads_and_second_decoder(level, kind):
    x = _signal(kind, 5000, 7)
    eps = 0.01 * float(np.nanmax(x[np.isfinite(x)]) - np.nanmin(x[np.isfinite(x)]) or 1.0)
    blobs = {t: encode(x, eps, level=level, threads=t, frame_samples=1500) for t in THREADS}
    assert blobs[1] == blobs[2] == blobs[3]
    for t in THREADS:
        y, _ = decode(blobs[1], threads=t)
        _check(x, y[:, 0], eps)
    got, _ = assert_same(blobs[1])
    _check(x, got[:, 0], eps)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=st.lists(st.one_of(st.floats(-1e6, 1e6), st.sampled_from([np.nan, np.inf, -np.inf])),
                  min_size=1, max_size=300),
    eps=st.floats(1e-6, 10.0),
    level=st.sampled_from(sorted(LEVELS)),
    frame=st.integers(1, 400),
)
def test_random_signals_every_level(data, eps, level, frame):
    x = np.array(data, dtype=np.float64)
    blobs = [encode(x, eps, level=level, threads=t, frame_samples=frame) for t in THREADS]
    assert blobs[0] == blobs[1] == blobs[2]
    y, _ = decode(blobs[0], threads=2)
    _check(x, y[:, 0], eps)
    assert np.array_equal(assert_same(blobs[0])[0].view(np.uint64), y.view(np.uint64))


@pytest.mark.parametrize("level", sorted(LEVELS))
def test_many_channels_times_and_frames(level):
    rng = np.random.default_rng(3)
    n, C = 3000, 6
    x = np.cumsum(rng.standard_normal((n, C)), axis=0)
    x[100:130, 2] = np.nan
    eps = [0.05, 0.1, 0.0, 0.2, 1e-3, 0.5]  # a bound of 0: the exact codec
    t = 1.7e9 + np.arange(n) * 0.25
    header = header_with_times([f"c{i}" for i in range(C)], eps, "time", whole=True)
    blobs = {}
    for k in THREADS:
        buf = io.BytesIO()
        w = HippoWriter(buf, header, frame_samples=700, level=level, threads=k)
        w.append(x, t)
        w.close()
        blobs[k] = buf.getvalue()
    assert blobs[1] == blobs[2] == blobs[3]
    for k in THREADS:
        y, times = decode(blobs[1], threads=k)
        _check(x, y, eps)
        assert np.array_equal(times, t)
    assert_same(blobs[1])


@pytest.mark.parametrize("level", sorted(LEVELS))
def test_stream_writer_pieces_and_threads(level, tmp_path):
    """A writer fed in pieces, with flushes, on any thread count writes the same bytes."""
    rng = np.random.default_rng(5)
    x = np.cumsum(rng.standard_normal((5000, 3)), axis=0)
    header = HippoHeader(["a", "b", "c"], [0.1, 0.2, 0.05])
    out = {}
    for k in THREADS:
        buf = io.BytesIO()
        w = HippoWriter(buf, header, frame_samples=900, level=level, threads=k)
        for a in range(0, 5000, 777):
            w.append(x[a:a + 777])
            if a == 777 * 3:
                w.flush()
        w.close()
        out[k] = buf.getvalue()
    assert out[1] == out[2] == out[3]
    path = tmp_path / "s.hippo"
    path.write_bytes(out[1])
    for k in THREADS:
        with open_hippo(path, threads=k) as r:
            _check(x, r.read()[0], [0.1, 0.2, 0.05])
            frames = list(r.frames())
            assert [f.start for f in frames] == [f.start for f in r.index]
            assert np.array_equal(np.concatenate([f.values for f in frames]), r.read()[0])
            _check(x[1000:4321], r.read(1000, 4321)[0], [0.1, 0.2, 0.05])


def test_best_never_longer_than_default_and_same_format():
    rng = np.random.default_rng(11)
    t = np.arange(20000)
    for x in (np.cumsum(rng.standard_normal(20000)), np.sin(t / 300.0) + 1e-3 * t,
              rng.standard_normal(20000)):
        eps = 0.01 * float(np.ptp(x))
        sizes = {lv: len(encode(x, eps, level=lv, threads=1)) for lv in LEVELS}
        # (best's frames name each channel's codec only where one kept the mixing codec)
        assert sizes["best"] <= sizes["default"]


def test_level_and_threads_are_checked():
    with pytest.raises(ParameterError, match="level"):
        encode(np.arange(10.0), 0.1, level="fastest")
    for bad in (0, -1, 1.5, True):
        with pytest.raises(ParameterError, match="threads"):
            encode(np.arange(10.0), 0.1, threads=bad)
    with pytest.raises(ParameterError, match="threads"):
        decode(encode(np.arange(10.0), 0.1), threads=0)


def test_encoder_check_failure_is_never_written(monkeypatch):
    """A level without the re-decode relies on the encoder's own check: if it ever failed,
    the frame is not written."""
    def broken(self, x, eps, runs, coders=False, chain=None, chained=False):
        raise RuntimeError("the encoder's bound check failed on 1 samples")

    monkeypatch.setattr(ChannelCoder, "encode_part", broken)
    with pytest.raises(HippoError, match="own check failed"):
        encode(np.arange(100.0), 0.1, level="fast", threads=1)


def test_fast_checks_itself_default_decodes_again():
    assert ChannelCoder("fast").verified
    assert not ChannelCoder("default").verified
    assert not ChannelCoder("best").verified


def test_stream_frames_are_written_when_filled_whole_files_may_wait():
    x = np.cumsum(np.random.default_rng(2).standard_normal(400))
    w = HippoWriter(io.BytesIO(), HippoHeader(["v"], [0.1]), frame_samples=100, threads=2)
    w.append(x[:100])
    assert w.frames == 1  # a stream: readers follow the file as it grows
    w.append(x[100:150])
    assert w.frames == 1
    w.close()
    whole = HippoWriter(io.BytesIO(), HippoHeader(["v"], [0.1], whole=True), frame_samples=100,
                        threads=2)
    whole.append(x[:100])
    assert whole.frames == 0  # waits for a second full frame, to code both at once
    whole.append(x[100:250])
    assert whole.frames == 2
    whole.close()
    assert whole.frames == 3


def test_a_shared_coder_means_one_thread():
    coder = ChannelCoder()
    w = HippoWriter(io.BytesIO(), HippoHeader(["v"], [0.1]), coder=coder)
    assert w.threads == 1
    w.close()


def test_a_long_series_in_several_fast_frames():
    """The fast level cuts a long series into frames of 2^18 samples (threads share them):
    the same bytes on any thread count, every sample within its bound."""
    rng = np.random.default_rng(9)
    x = np.cumsum(rng.standard_normal(600_000))
    x[123_456] = np.inf
    eps = 0.01 * float(np.ptp(x[np.isfinite(x)]))
    blobs = [encode(x, eps, level="fast", threads=t) for t in THREADS]
    assert blobs[0] == blobs[1] == blobs[2]
    with open_hippo_bytes(blobs[0]) as r:
        assert [f.samples for f in r.index] == [2**18, 2**18, 600_000 - 2**19]
    for t in THREADS:
        _check(x, decode(blobs[0], threads=t)[0][:, 0], eps)
    assert len(encode(x, eps, threads=2)) < len(blobs[0]) * 1.01  # default: one frame


def open_hippo_bytes(data: bytes):
    from hippo_cli.codec import HippoReader

    return HippoReader(io.BytesIO(data), "<bytes>", threads=1)


@pytest.mark.parametrize("level", sorted(LEVELS))
def test_encoder_scratch_is_written_before_it_is_read(level):
    """The encoder's scratch arrays are np.empty: filled with garbage, the bytes are the same."""
    from hippo_cli.codec import grid

    rng = np.random.default_rng(4)
    t = np.arange(9000)
    for x in (np.cumsum(rng.standard_normal(9000)), np.sin(t / 50.0) + 0.01 * t,
              np.repeat(rng.standard_normal(90), 100)):
        for options in LEVELS[level]:
            clean = grid.ChannelEncoder(0.05, **options)
            dirty = grid.ChannelEncoder(0.05, **options)
            for a in (dirty.lo, dirty.hi, dirty.Qs, dirty.Rs, dirty.Es, dirty.LSs, dirty.Wk):
                a[...] = rng.integers(-(1 << 62), 1 << 62, a.shape)
            dirty.out[:] = 0xA5
            clean.push(x)
            dirty.push(x)
            assert clean.flush() == dirty.flush()


def test_info_verbose_counts_the_channel_parts_by_codec(tmp_path, monkeypatch):
    """``hippo info -v`` names each channel part's codec from its first bytes, without decoding
    a part: level default codes with the grid codec only; level fast keeps the grid codec for a
    smooth channel (at least twice as short on its probe) and the Huffman codec for noise;
    level best the grid or the mixing codec; a file of format version 2 holds grid parts."""
    import json

    from typer.testing import CliRunner

    from hippo_cli.cli import app

    n = 100_000
    rng = np.random.default_rng(4)
    x = np.column_stack([np.sin(np.arange(n) / 500.0), rng.standard_normal(n)])
    files = {level: encode(x, 0.01, level=level) for level in LEVELS}
    old = io.BytesIO()
    with HippoWriter(old, HippoHeader(["a", "b"], [0.01, 0.01])) as w:
        w.append(x)
    files["version 2"] = old.getvalue()

    def refuse(*args, **kwargs):
        raise AssertionError("info decoded a part")

    monkeypatch.setattr(ChannelCoder, "decode_part", refuse)
    counts = {}
    for name, data in files.items():
        path = tmp_path / f"{name}.hippo"
        path.write_bytes(data)
        done = CliRunner().invoke(app, ["info", str(path), "-v", "--json"])
        assert done.exit_code == 0, done.output
        facts = json.loads(done.stdout)
        counts[name] = facts["channel_parts_by_codec"]
        assert sum(counts[name].values()) == 2 * facts["frames"]
        plain = CliRunner().invoke(app, ["info", str(path), "--json"])
        assert "channel_parts_by_codec" not in json.loads(plain.stdout)  # -v only
    assert counts["default"] == {"grid": 2} and counts["version 2"] == {"grid": 2}
    assert counts["fast"] == {"grid": 1, "huffman": 1}
    assert set(counts["best"]) <= {"grid", "mixing"}


def test_info_verbose_says_damaged_for_a_damaged_frame_behind_a_whole_footer(tmp_path):
    """The footer alone says "finished"; ``-v`` reads every frame, and a frame whose checksum
    fails makes the state "damaged" (its parts not counted, the frame named in a note)."""
    import json

    from typer.testing import CliRunner

    from hippo_cli.cli import app

    x = np.sin(np.arange(30_000) / 300.0)[:, None]
    buf = io.BytesIO()
    with HippoWriter(buf, HippoHeader(["a"], [0.01]), frame_samples=10_000) as w:
        w.append(x)
    data = bytearray(buf.getvalue())
    with HippoReader(io.BytesIO(bytes(data)), "f") as r:
        frame = r.index[1]
    data[frame.offset + frame.size - 2] ^= 0x10  # a payload byte of the middle frame
    path = tmp_path / "x.hippo"
    path.write_bytes(bytes(data))
    plain = json.loads(CliRunner().invoke(app, ["info", str(path), "--json"]).stdout)
    assert plain["state"] == "finished" and plain["frames"] == 3
    done = CliRunner().invoke(app, ["info", str(path), "-v", "--json"])
    facts = json.loads(done.stdout)
    assert facts["state"] == "damaged"
    assert facts["channel_parts_by_codec"] == {"grid": 2}
    assert any("frame 1" in note for note in facts["notes"]), facts["notes"]
