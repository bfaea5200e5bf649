"""Chained frames (format version 3, ``docs/format.md``, "Chained frames"): a stream flushed
often continues the grid codec's state from frame to frame, with key frames. Checked against
the second decoder written from the document, against one-shot files, for any thread count,
for reads that start inside a chain, and for damage, which stops at the next key frame."""

from __future__ import annotations

import io
import json
import os
import struct
import subprocess
import sys
import zlib

import numpy as np
import pytest
import reference_decoder as ref
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_reference_decoder import assert_same

import hippo_cli
from hippo_cli.codec import HippoHeader, HippoReader, HippoWriter
from hippo_cli.codec.times import to_array
from hippo_cli.errors import DataError


def _write(x: np.ndarray, eps: float, frame: int, key_every: int, *, level: str = "default",
           threads: int = 1, times: np.ndarray | None = None) -> bytes:
    C = x.shape[1]
    header = HippoHeader([f"c{i}" for i in range(C)], [eps] * C,
                         "t" if times is not None else None)
    buf = io.BytesIO()
    with HippoWriter(buf, header, frame_samples=frame, key_every=key_every, level=level,
                     threads=threads) as w:
        w.append(x, times)
    return buf.getvalue()


def _kinds(data: bytes) -> list[int]:
    with HippoReader(io.BytesIO(data), "f") as r:
        return [r.frame_kind(info) for info in r.index]


def _series(n: int, C: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = np.cumsum(rng.standard_normal((n, C)), axis=0)
    x[: n // 3, 0] = np.sin(np.arange(n // 3) / 40.0)  # smooth, then a walk: several predictors
    return x


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(n=st.integers(1, 9000), C=st.integers(1, 3), frame=st.sampled_from([1, 7, 500, 4096, 5000]),
       key_every=st.sampled_from([1, 2000, 10**9]), level=st.sampled_from(["fast", "default",
                                                                              "best"]),
       seed=st.integers(0, 50))
def test_chained_files_round_trip_for_both_decoders_and_any_threads(n, C, frame, key_every,
                                                                     level, seed):
    x = _series(n, C, seed)
    eps = 0.3
    data = _write(x, eps, frame, key_every, level=level)
    assert data == _write(x, eps, frame, key_every, level=level, threads=2)
    assert data[4] == 3
    kinds = _kinds(data)
    assert kinds[0] == 0 and (key_every > frame or set(kinds) == {0})
    got, _ = assert_same(data)  # the library and the second decoder, bit for bit
    assert np.all(np.abs(got - x) <= eps)


def test_chained_frames_cost_about_one_frame():
    x = _series(60000, 1, 1)
    one = hippo_cli.encode(x, 0.3)
    keys = _write(x, 0.3, 4096, 0)
    chained = _write(x, 0.3, 4096, 10**9)
    assert set(_kinds(keys)) == {0} and keys[4] == 2  # key frames only: version 2, as before
    assert _kinds(chained) == [0] + [1] * 14
    # the chained stream pays only each frame's own head and coder end, not the models again
    assert len(chained) < len(keys)
    assert len(chained) - len(one) < 15 * 16


def test_reading_from_inside_a_chain():
    rng = np.random.default_rng(2)
    x = _series(20000, 2, 3)
    t = np.cumsum(rng.integers(1, 5, 20000)).astype(np.float64)
    data = _write(x, 0.25, 3000, 7000, times=t, threads=2)
    assert _kinds(data) == [0, 1, 1, 0, 1, 1, 0]
    full, times = hippo_cli.decode(data)
    for threads in (1, 2):
        with HippoReader(io.BytesIO(data), "f", threads=threads) as r:
            for lo, hi in ((4000, 5000), (6500, 16000), (0, 20000), (19999, 20000)):
                v, tt = r.read(lo, hi)
                assert np.array_equal(v, full[lo:hi]) and np.array_equal(tt, times[lo:hi])
            v, tt = r.read(time_from=float(t[9100]), time_to=float(t[13000]))
            assert np.array_equal(v, full[9100:13001])
            frames = list(r.frames(2))
            assert [f.start for f in frames] == [6000, 9000, 12000, 15000, 18000]
            assert np.array_equal(np.concatenate([f.values for f in frames]), full[6000:])


def _frame_at(data: bytes, k: int) -> tuple[int, int]:
    with HippoReader(io.BytesIO(data), "f") as r:
        info = r.index[k]
        return info.offset, info.size


def test_damage_stops_at_the_next_key_frame():
    x = _series(20000, 1, 4)
    data = _write(x, 0.25, 3000, 7000)
    off, size = _frame_at(data, 1)  # a chained frame; frame 2 continues it
    bad = bytearray(data)
    bad[off + size - 2] ^= 0x10
    with pytest.raises(DataError, match="frame 1"):
        hippo_cli.decode(bytes(bad))
    with HippoReader(io.BytesIO(bytes(bad)), "f", salvage=True) as r:
        v, _ = r.read()
        notes = " ".join(r.notes)
    # frames 1 and 2 (chained to it) are lost; frame 3 is a key frame and decodes
    assert len(v) == 20000 - 6000
    assert np.array_equal(v[:3000], hippo_cli.decode(data)[0][:3000])
    assert np.array_equal(v[3000:], hippo_cli.decode(data)[0][9000:])
    assert "frame 1" in notes and "frame 2" in notes


def _frame(n: int, payload: bytes) -> bytes:
    from hippo_cli.codec.parts import varint

    heads = varint(n) + varint(len(payload))
    return heads + struct.pack("<I", zlib.crc32(heads + payload)) + payload


def _part_of(data: bytes, k: int) -> tuple[int, bytes]:
    """Samples and payload (flags byte included) of frame k of an untimed one-channel file."""
    off, size = _frame_at(data, k)
    r = ref.Reader(data, off)
    n = r.varint(2**20)
    length = r.varint(2**27)
    return n, data[r.pos + 4:r.pos + 4 + length]


@pytest.mark.parametrize("version", [2, 3])
def test_a_chained_first_frame_and_a_chained_frame_in_version_2_are_rejected(version):
    data = _write(_series(3000, 1, 5), 0.25, 1000, 10**9)
    n, payload = _part_of(data, 1)  # a chained frame
    assert payload[0] & 0x0F == 1
    head = ref.Header(data)
    header = bytearray(data[:head.size])
    header[4] = version
    header[-4:] = struct.pack("<I", zlib.crc32(bytes(header[:-4])))
    bad = bytes(header) + _frame(n, payload)
    with pytest.raises(DataError):
        hippo_cli.decode(bad)
    with pytest.raises(ValueError):
        ref.decode(bad)


def test_resuming_starts_with_a_key_frame_and_a_version_2_file_stays_version_2(tmp_path):
    x = _series(12000, 1, 6)[:, 0]
    header = HippoHeader(["x"], [0.25])
    path = tmp_path / "a.hippo"
    with HippoWriter(path, header, frame_samples=2000, key_every=10**9) as w:
        w.append(x[:6000])
    with HippoWriter(path, header, frame_samples=2000, key_every=10**9, append=True) as w:
        w.append(x[6000:])
    data = path.read_bytes()
    assert _kinds(data) == [0, 1, 1, 0, 1, 1]
    got, _ = assert_same(data)
    assert np.all(np.abs(got[:, 0] - x) <= 0.25)
    path2 = tmp_path / "b.hippo"
    with HippoWriter(path2, header, frame_samples=2000) as w:  # version 2
        w.append(x[:6000])
    with HippoWriter(path2, header, frame_samples=2000, key_every=10**9, append=True) as w:
        assert w.key_every == 0
        w.append(x[6000:])
    data = path2.read_bytes()
    assert data[4] == 2 and set(_kinds(data)) == {0}
    assert_same(data)


def test_hippo_stream_chains_by_default_and_key_every_0_does_not(tmp_path):
    x = _series(9000, 1, 7)[:, 0]
    lines = "".join(f"{v!r}\n" for v in x.tolist())
    sizes = {}
    for key_every in (None, "0"):
        out = tmp_path / f"s{key_every}.hippo"
        args = [sys.executable, "-m", "hippo_cli", "stream", "-E", "0.25", "-o", str(out),
                "--flush-every", "1000"] + ([] if key_every is None else ["--key-every", "0"])
        done = subprocess.run(args, input=lines, text=True, capture_output=True,
                              env={**os.environ, "PYTHONPATH": os.getcwd()})
        assert done.returncode == 0, done.stderr
        data = out.read_bytes()
        got, _ = assert_same(data)
        assert np.all(np.abs(got[:, 0] - x) <= 0.25)
        sizes[key_every] = (len(data), data[4], _kinds(data))
    assert sizes[None][1:] == (3, [0] + [1] * 8)
    assert sizes["0"][1:] == (2, [0] * 9)
    assert sizes[None][0] < sizes["0"][0]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(n=st.integers(1, 3000), frame=st.sampled_from([1, 2, 3, 250, 1000]),
       key_every=st.sampled_from([1, 700, 10**9]), kind=st.sampled_from(["int", "dec", "jit",
                                                                          "iso", "raw"]),
       seed=st.integers(0, 20))
def test_chained_times_continue_for_both_decoders(n, frame, key_every, kind, seed):
    rng = np.random.default_rng(seed)
    x = np.cumsum(rng.standard_normal(n))
    steps = {"int": np.full(n, 100), "dec": np.full(n, 0.25),
             "jit": 100 + rng.integers(-3, 4, n), "raw": np.full(n, np.pi),
             "iso": np.full(n, 0.25)}[kind]
    t = 1.7e9 + np.cumsum(steps) if kind not in ("int", "jit") else 1.7e12 + np.cumsum(steps)
    buf = io.BytesIO()
    header = HippoHeader(["a"], [0.5], "t")
    if kind == "iso":
        from hippo_cli.codec.container import header_with_times
        from hippo_cli.codec.times import parse_iso

        stamps = (np.datetime64("2024-01-01T00:00:00") + (t - t[0]).astype("timedelta64[ms]")
                  * 1000)
        t, _ = parse_iso([str(v) for v in stamps.astype("datetime64[ms]")])
        header = header_with_times(["a"], [0.5], "t", "####-##-##T##:##:##.###")
    with HippoWriter(buf, header, frame_samples=frame, key_every=key_every) as w:
        w.append(x, t)
    data = buf.getvalue()
    got, _ = assert_same(data)  # values and times, bit for bit, against the second decoder
    assert np.all(np.abs(got[:, 0] - x) <= 0.5)
    with HippoReader(io.BytesIO(data), "f") as r:
        last = r.index[-1]
        want = hippo_cli.decode(data)[1][last.start:]
        assert np.array_equal(to_array(r.frame_times(last)), want)


def test_chained_times_cost_two_bytes_a_frame_at_a_cadence():
    x = np.zeros(20000)
    t = 1.7e12 + 100.0 * np.arange(20000)
    sizes = [len(_write(x[:, None], 0.5, 1000, key_every, times=t)) for key_every in (0, 10**9)]
    # 20 frames: each key frame's time part holds its first time and step as big values
    # (6 + 42 and 6 + 9 bits, and the coder's end: 8-9 bytes); a chained one 2 bytes
    assert sizes[0] - sizes[1] >= 19 * 6


def test_a_timed_stream_resumed_after_a_chained_frame(tmp_path):
    out = tmp_path / "s.hippo"
    lines = "t,v\n" + "".join(f"{1000 + 10 * i},{i % 7}\n" for i in range(3000))
    args = [sys.executable, "-m", "hippo_cli", "stream", "-E", "0.1", "-o", str(out), "-t", "t",
            "--flush-every", "500"]
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    assert subprocess.run(args, input=lines, text=True, capture_output=True,
                          env=env).returncode == 0
    assert _kinds(out.read_bytes())[-1] == 1
    # the same lines again: refused at the first line, whose time is already stored (the
    # last stored time read from a chained frame, through its chain)
    again = subprocess.run(args, input=lines, text=True, capture_output=True, env=env)
    assert again.returncode != 0 and "line 2" in again.stderr, again.stderr
    more = "t,v\n" + "".join(f"{1000 + 10 * i},{i % 7}\n" for i in range(3000, 4000))
    assert subprocess.run(args, input=more, text=True, capture_output=True,
                          env=env).returncode == 0
    values, times = hippo_cli.decode(out.read_bytes())
    assert np.array_equal(times, 1000 + 10 * np.arange(4000))
    assert_same(out.read_bytes())


def test_hippo_info_counts_the_chained_frames(tmp_path):
    from typer.testing import CliRunner

    from hippo_cli.cli import app

    for key_every, want in ((10**9, 8), (0, None)):
        path = tmp_path / f"k{key_every}.hippo"
        path.write_bytes(_write(_series(9000, 1, 8), 0.25, 1000, key_every))
        done = CliRunner().invoke(app, ["info", str(path), "--json"])
        assert done.exit_code == 0, done.output
        facts = json.loads(done.stdout)
        assert facts["frames"] == 9 and facts.get("chained_frames") == want
