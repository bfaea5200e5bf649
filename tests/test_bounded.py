"""The bounded-error compressor: ``.hippo`` files, through the library and the CLI.

Every decoded sample must be within the bound in float64 - for random signals, bounds,
chunkings and channel counts; damaged files must give one clean error (or a note for a torn
tail), never a traceback, a hang or a huge allocation.
"""

from __future__ import annotations

import io
import json
import struct
import zlib

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_cli import assert_clean_failure, hippo

from hippo_cli import DataError, ParameterError
from hippo_cli.codec.container import (
    MAGIC,
    HippoHeader,
    HippoWriter,
    decode,
    encode,
    header_bytes,
    open_hippo,
)

PROPS = settings(max_examples=60, deadline=None,
                 suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def _signal(kind: str, n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    if kind == "walk":
        return np.cumsum(rng.standard_normal(n))
    if kind == "noise":
        return rng.standard_normal(n) * 10.0 ** rng.integers(-6, 6)
    if kind == "smooth":
        return np.sin(t / 37.0) * 5 + 0.01 * rng.standard_normal(n)
    if kind == "steps":
        return np.repeat(rng.integers(-5, 5, size=n // 50 + 1), 50)[:n].astype(float)
    if kind == "constant":
        return np.full(n, rng.standard_normal())
    if kind == "huge":
        return rng.standard_normal(n) * 1e300
    return rng.standard_normal(n) * 1e-300  # tiny (denormals)


SIGNALS = st.sampled_from(["walk", "noise", "smooth", "steps", "constant", "huge", "tiny"])


@PROPS
@given(kind=SIGNALS, n=st.integers(1, 3000), seed=st.integers(0, 2**16),
       rel=st.sampled_from([1e-4, 1e-3, 1e-2, 0.05, 0.3]), channels=st.integers(1, 3))
def test_every_decoded_sample_is_within_the_bound(kind, n, seed, rel, channels):
    x = np.column_stack([_signal(kind, n, seed + c) for c in range(channels)])
    span = float(np.ptp(x)) or 1.0
    eps = [rel * span * (c + 1) for c in range(channels)]
    y, times = decode(encode(x, eps))
    assert times is None and y.shape == x.shape
    for c in range(channels):
        assert np.all(np.abs(y[:, c] - x[:, c]) <= eps[c]), kind


@PROPS
@given(kind=SIGNALS, n=st.integers(1, 2000), seed=st.integers(0, 2**16),
       cuts=st.lists(st.integers(0, 2000), max_size=6), frame=st.integers(1, 700))
def test_any_chunking_gives_the_same_bytes(kind, n, seed, cuts, frame):
    x = _signal(kind, n, seed)[:, None]
    eps = 0.01 * (float(np.ptp(x)) or 1.0)
    header = HippoHeader(["v"], [eps])
    one = io.BytesIO()
    w = HippoWriter(one, header, frame_samples=frame)
    w.append(x)
    w.flush()
    many = io.BytesIO()
    w = HippoWriter(many, header, frame_samples=frame)
    bounds = [0, *sorted(c for c in cuts if c < n), n]
    for lo, hi in zip(bounds[:-1], bounds[1:]):
        w.append(x[lo:hi])
    w.flush()
    assert one.getvalue() == many.getvalue()


@PROPS
@given(n=st.integers(2, 2000), seed=st.integers(0, 2**16),
       kind=st.sampled_from(["regular", "jitter", "decimal", "float"]))
def test_times_are_stored_exactly(n, seed, kind):
    rng = np.random.default_rng(seed)
    if kind == "regular":
        t = 1.7e9 + 60.0 * np.arange(n)
    elif kind == "jitter":
        t = np.cumsum(rng.integers(1, 1000, size=n)).astype(float)
    elif kind == "decimal":
        t = np.round(np.cumsum(rng.uniform(0.01, 2, size=n)), 3)
    else:
        t = np.cumsum(rng.uniform(0.01, 2, size=n)) * np.pi
    x = rng.standard_normal(n)
    y, back = decode(encode(x, 0.1, times=t))
    assert np.array_equal(back, t)


def test_regular_times_cost_almost_nothing():
    n = 100_000
    x = np.zeros(n)
    plain = len(encode(x, 0.1))
    timed = len(encode(x, 0.1, times=1.7e9 + 60.0 * np.arange(n)))
    assert timed - plain < 200


@pytest.mark.parametrize("bad", [0.0, -1.0, float("nan"), float("inf")])
def test_bad_bounds_are_refused(bad):
    with pytest.raises(ParameterError):
        encode(np.arange(5.0), bad)


SPECIALS = np.array([np.nan, np.inf, -np.inf, -np.nan,
                     np.frombuffer(struct.pack("<Q", 0x7FF0000000000ABC), "<f8")[0]])


@PROPS
@given(seed=st.integers(0, 2**32 - 1), n=st.sampled_from([1, 2, 7, 4097, 9000]),
       share=st.sampled_from([0.0, 0.01, 0.5, 1.0]), padded=st.booleans())
def test_non_finite_values_round_trip_bit_for_bit(seed, n, share, padded):
    """NaN (any payload), +inf and -inf come back bit for bit; finite values keep the
    bound (array chunks of zarr and xarray hold them: a NaN-padded last chunk included)."""
    rng = np.random.default_rng(seed)
    x = np.cumsum(rng.standard_normal(n))
    bad = rng.random(n) < share
    x[bad] = rng.choice(SPECIALS, bad.sum())
    if padded:
        x[n // 2:] = np.nan
    y, _ = decode(encode(x, 0.1, frame_samples=int(rng.integers(1, n + 1))))
    finite = np.isfinite(x)
    assert np.array_equal(y[:, 0].view(np.uint64)[~finite], x.view(np.uint64)[~finite])
    assert np.all(np.abs(y[finite, 0] - x[finite]) <= 0.1)


# --------------------------------------------------------------------------- damaged files
def _file(tmp_path, data: bytes):
    p = tmp_path / "f.hippo"
    p.write_bytes(data)
    return p


def _good(n: int = 5000, frame: int = 1000) -> bytes:
    x = np.cumsum(np.random.default_rng(1).standard_normal(n))
    return encode(x, 0.05, frame_samples=frame)


def test_future_version_and_foreign_files(tmp_path):
    data = bytearray(_good())
    data[4] = 9
    with pytest.raises(DataError, match="version 9.*newer hippo"):
        open_hippo(str(_file(tmp_path, bytes(data))))
    with pytest.raises(DataError, match="not a .hippo file"):
        open_hippo(str(_file(tmp_path, b"a,b\n1,2\n")))


def _crafted(header_rest: bytes, frames: bytes = b"") -> bytes:
    head = MAGIC + bytes([1, 0]) + header_rest
    return head + struct.pack("<I", zlib.crc32(head)) + frames


def test_crafted_huge_counts_are_refused_before_allocating(tmp_path):
    # 2^40 channels
    with pytest.raises(DataError, match="corrupt .hippo header"):
        open_hippo(str(_file(tmp_path, _crafted(b"\x80\x80\x80\x80\x80\x20"))))
    # a name claiming 2^30 bytes
    with pytest.raises(DataError, match="corrupt .hippo header"):
        open_hippo(str(_file(tmp_path, _crafted(b"\x01\x80\x80\x80\x80\x04"))))
    # a frame claiming 2^40 samples
    good = header_bytes(HippoHeader(["v"], [0.1]))
    with pytest.raises(DataError, match="corrupt"):
        open_hippo(str(_file(tmp_path, good + b"\x80\x80\x80\x80\x80\x20\x01" + b"\0" * 8)))
    # a frame claiming a 100 MB payload in a short file: cut short, nothing allocated
    with pytest.raises(DataError, match="cut short"):
        open_hippo(str(_file(tmp_path, good + b"\x10\x80\x80\x80\x30" + b"\0" * 8)))
    hf = open_hippo(str(_file(tmp_path, good + b"\x10\x80\x80\x80\x30" + b"\0" * 8)),
                    salvage=True)
    assert len(hf.read()[0]) == 0 and "cut short" in hf.notes[0]
    # a varint that never ends
    with pytest.raises(DataError):
        open_hippo(str(_file(tmp_path, good + b"\xff" * 64)))


@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_fuzzed_files_never_crash(tmp_path_factory, data):
    raw = bytearray(_good(1500, 500))
    for _ in range(data.draw(st.integers(1, 4))):
        i = data.draw(st.integers(0, len(raw) - 1))
        raw[i] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(raw)))
    p = tmp_path_factory.mktemp("fz") / "f.hippo"
    p.write_bytes(bytes(raw[:cut]))
    try:
        values, _ = open_hippo(str(p), salvage=data.draw(st.booleans())).read()
    except DataError:
        return
    assert values.ndim == 2 and np.all(np.isfinite(values))


# --------------------------------------------------------------------------- the CLI
def _csv(path, text: str):
    path.write_text(text)
    return path


def test_cli_round_trip_with_iso_times(tmp_path):
    src = _csv(tmp_path / "s.csv", "when,temp,hum\n" + "".join(
        f"2026-03-01T10:{i // 60:02d}:{i % 60:02d}+01:00,{np.sin(i / 9):.6f},{i % 7}\n"
        for i in range(3000)))
    res = hippo("compress", src, "--max-error", "1%", "-t", "when")
    assert res.exit_code == 0, res.stderr
    assert "next: hippo reconstruct" in res.stderr
    out = tmp_path / "s.hippo"
    res = hippo("reconstruct", out, "-o", tmp_path / "r.csv", "--original", src)
    assert res.exit_code == 0, res.stderr
    lines = (tmp_path / "r.csv").read_text().splitlines()
    orig = src.read_text().splitlines()
    assert lines[0] == orig[0] and len(lines) == len(orig)
    assert [ln.split(",")[0] for ln in lines] == [ln.split(",")[0] for ln in orig]
    got = np.loadtxt(tmp_path / "r.csv", delimiter=",", skiprows=1, usecols=(1, 2))
    want = np.loadtxt(src, delimiter=",", skiprows=1, usecols=(1, 2))
    bound = 0.01 * np.ptp(want, axis=0)
    assert np.all(np.abs(got - want) <= bound)
    assert "max abs error" in res.stderr


def test_cli_numeric_times_and_index(tmp_path):
    src = _csv(tmp_path / "n.csv", "t,v\n" + "".join(f"{i * 5},{i * 0.5}\n" for i in range(100)))
    assert hippo("compress", src, "-E", "0.1", "-t", "t", "-q").exit_code == 0
    res = hippo("reconstruct", tmp_path / "n.hippo")
    rows = [line.split(",") for line in res.stdout.splitlines()]
    assert rows[0] == ["t", "v"] and [r[0] for r in rows[1:]] == [str(i * 5) for i in range(100)]
    assert all(abs(float(r[1]) - i * 0.5) <= 0.1 for i, r in enumerate(rows[1:]))
    res = hippo("compress", src, "-E", "0.1", "-o", tmp_path / "i.hippo")
    # a numeric column named like a time is data (never dropped), with a note
    assert res.exit_code == 0 and "t encoded as data" in res.stderr
    assert "--time-column t" in res.stderr
    assert hippo("reconstruct", tmp_path / "i.hippo").stdout.splitlines()[0] == "sample,t,v"
    res = hippo("compress", src, "-E", "0.1", "-c", "t", "-c", "v", "-o", tmp_path / "k.hippo")
    assert res.exit_code == 0  # --column keeps a time-like column as data
    assert hippo("reconstruct", tmp_path / "k.hippo").stdout.splitlines()[0] == "sample,t,v"


@pytest.mark.parametrize("args,code,fragment", [
    (["--max-error", "0"], 2, "max-error must be a finite number > 0"),
    (["--max-error", "-1"], 2, "max-error must be"),
    (["--max-error", "inf"], 2, "max-error must be"),
    (["--max-error", "nan"], 2, "max-error must be"),
    (["--max-error", "abc"], 2, "takes a number or a percentage"),
    (["--max-error", "1%", "-N", "8"], 2, "--order applies to HiPPO coefficients"),
    (["--max-error", "1%", "--every", "8"], 2, "--every applies"),
])
def test_cli_bad_bounds(tmp_path, args, code, fragment):
    src = _csv(tmp_path / "s.csv", "v\n1\n2\n3\n")
    res = hippo("compress", src, *args)
    assert_clean_failure(res, code, fragment)
    assert not (tmp_path / "s.hippo").exists()


def test_cli_percent_on_stdin_equals_the_file(tmp_path):
    """A percentage bound from stdin (to a file and to stdout) is read once and gives the
    bytes of the same bound from a regular file."""
    rng = np.random.default_rng(7)
    text = "v,w\n" + "".join(f"{float(a)!r},{float(b)!r}\n" for a, b in
                               rng.standard_normal((3000, 2)).cumsum(axis=0))
    src = _csv(tmp_path / "s.csv", text)
    res = hippo("compress", src, "--max-error", "1%", "-o", tmp_path / "file.hippo")
    assert res.exit_code == 0, res.stderr
    res = hippo("compress", "-", "--max-error", "1%", "-o", tmp_path / "pipe.hippo",
                input=text)
    assert res.exit_code == 0, res.stderr
    assert (tmp_path / "pipe.hippo").read_bytes() == (tmp_path / "file.hippo").read_bytes()
    res = hippo("compress", "-", "--max-error", "1%", "-o", "-", input=text)
    assert res.exit_code == 0, res.stderr
    assert res.stdout_bytes == (tmp_path / "file.hippo").read_bytes()


def test_cli_constant_series_is_a_tiny_exact_file(tmp_path):
    src = _csv(tmp_path / "c.csv", "v\n" + "3.25\n" * 10000)
    res = hippo("compress", src, "--max-error", "1%")
    assert res.exit_code == 0, res.stderr
    out = tmp_path / "c.hippo"
    assert out.stat().st_size < 80  # header, one frame, its index
    res = hippo("reconstruct", out)
    assert set(res.stdout.splitlines()[1:]) == {f"{i},3.25" for i in range(10000)} or \
        all(line.endswith(",3.25") for line in res.stdout.splitlines()[1:])


@pytest.mark.parametrize("text,code,fragment", [
    ("v\n", 1, "no samples"),
    ("", 1, "no data"),
    ("v\n1\nnan\n3\n", 1, "empty or NaN"),
])
def test_cli_empty_and_nan_inputs(tmp_path, text, code, fragment):
    src = _csv(tmp_path / "s.csv", text)
    res = hippo("compress", src, "--max-error", "0.5")
    assert_clean_failure(res, code, fragment)
    assert not (tmp_path / "s.hippo").exists()


def test_cli_one_sample_and_nan_skip(tmp_path):
    src = _csv(tmp_path / "one.csv", "v\n42\n")
    assert hippo("compress", src, "-E", "1%", "-q").exit_code == 0
    assert hippo("reconstruct", tmp_path / "one.hippo").stdout.splitlines() == ["sample,v",
                                                                                "0,42.0"]
    src = _csv(tmp_path / "gap.csv", "v\n1\n\n3\n")
    assert hippo("compress", src, "-E", "0.1", "--nan", "skip", "-q").exit_code == 0
    assert hippo("reconstruct", tmp_path / "gap.hippo").stdout.count("\n") == 3


def test_cli_stdout_and_info(tmp_path):
    res = hippo("compress", "-", "--max-error", "0.5", "-o", "-", input="1\n2\n3\n")
    assert res.exit_code == 0
    p = tmp_path / "x.hippo"
    p.write_bytes(res.stdout_bytes)
    res = hippo("info", p)
    assert res.exit_code == 0 and "samples" in res.stdout and "0.5" in res.stdout
    facts = json.loads(hippo("info", p, "--json").stdout)
    assert facts["kind"] == "hippo" and facts["samples"] == 3
    assert facts["max_error"] == {"col0": 0.5} and facts["frames"] == 1


def test_cli_stream_appends_resumes_and_cuts_a_torn_tail(tmp_path):
    out = tmp_path / "live.hippo"
    lines = "".join(f"{np.sin(i / 50):.5f}\n" for i in range(10000))
    res = hippo("stream", "--max-error", "0.01", "-o", out, "--flush-every", "3000",
                input=lines)
    assert res.exit_code == 0, res.stderr
    with open_hippo(str(out)) as reader:  # closed at EOF: a footer indexes the 4 frames
        assert reader.finished and reader.read()[0].shape == (10000, 1)
        frames_end = reader.frames_end
    first = "".join(lines.splitlines(keepends=True)[:500])
    # resuming a closed stream: its footer is taken off, and written again at the end
    res = hippo("stream", "--max-error", "0.01", "-o", out, "--flush-every", "3000",
                input=first)
    assert res.exit_code == 0 and res.stderr == "", res.stderr
    with open_hippo(str(out)) as reader:
        assert reader.finished and reader.samples == 10500 and len(reader.index) == 5
    data = out.read_bytes()
    out.write_bytes(data[:frames_end - 7])  # a crash in the middle of the 4th frame
    res = hippo("stream", "--max-error", "0.01", "-o", out, "--flush-every", "3000",
                input=first)
    assert res.exit_code == 0 and "cut short" in res.stderr and "cut off" in res.stderr
    values = open_hippo(str(out)).read()[0][:, 0]
    want = np.array([float(v) for v in lines.split()])
    assert len(values) == 9000 + 500
    assert np.all(np.abs(values[:9000] - want[:9000]) <= 0.01)
    res = hippo("stream", "--max-error", "0.02", "-o", out, input="1\n")
    assert_clean_failure(res, 2, "max error 0.01")
    csv = _csv(tmp_path / "keep.csv", "a\n1\n")
    res = hippo("stream", "--max-error", "0.02", "-o", csv, input="1\n")
    assert_clean_failure(res, 1, "not a .hippo file")
    assert csv.read_text() == "a\n1\n"
    res = hippo("stream", "--max-error", "1%", "-o", tmp_path / "p.hippo", input="1\n")
    assert_clean_failure(res, 2, "must be absolute")


def test_plot_of_a_long_file_keeps_spikes_in_min_max_bands(tmp_path):
    from hippo_cli.pipelines.envelope import Envelope

    n = 50_000
    x = np.sin(np.arange(n) / 2000.0)
    x[31_337] += 5.0  # one spike: a stride-sampled plot would likely miss it
    env = Envelope(n, 1, width=500)
    for lo in range(0, n, 7000):  # chunk by chunk, like a decode
        idx = np.arange(lo, min(n, lo + 7000))
        env.add(idx, idx, decoded=x[idx][:, None])
    xs, low, high = env.band("decoded", 0)
    assert env.size == 100 and len(xs) == 500 and xs[0] == 0 and xs[1] == 100
    assert high.max() == x.max() and low.min() == x.min()
    src = tmp_path / "s.csv"
    src.write_text("v\n" + "\n".join(f"{v:.6f}" for v in x) + "\n")
    assert hippo("compress", src, "-E", "1%", "-q").exit_code == 0
    res = hippo("reconstruct", tmp_path / "s.hippo", "--original", src, "--plot")
    assert res.exit_code == 0 and (tmp_path / "s.png").read_bytes()[:4] == b"\x89PNG"


def test_plot_zoom_from_to(tmp_path):
    src = _csv(tmp_path / "z.csv", "when,v\n" + "".join(
        f"2026-03-01T{i // 3600:02d}:{i // 60 % 60:02d}:{i % 60:02d}Z,{np.sin(i / 50):.5f}\n"
        for i in range(7200)))
    assert hippo("compress", src, "-E", "1%", "-t", "when", "-q").exit_code == 0
    out = tmp_path / "z.hippo"
    res = hippo("reconstruct", out, "--plot", "--from", "2026-03-01T01:00:00Z", "--to",
                "2026-03-01T01:30:00Z", "--plot-file", tmp_path / "zoom.png")
    assert res.exit_code == 0 and (tmp_path / "zoom.png").exists()
    from hippo_cli.pipelines.bounded import plot_window

    window, count, channels = plot_window(str(out), "2026-03-01T01:00:00Z",
                                          "2026-03-01T01:30:00Z")
    assert count == 1801 and channels == 1 and window[1] - window[0] == 1800.0
    assert_clean_failure(hippo("reconstruct", out, "--plot", "--from", "2030-01-01"), 2,
                         "select no sample")
    # without --plot, --from/--to choose the rows written (only their frames are decoded)
    res = hippo("reconstruct", out, "--from", "2026-03-01T01:59:58Z", "-o", "-")
    assert res.exit_code == 0, res.stderr
    rows = [line.split(",") for line in res.stdout.splitlines()]
    assert [r[0] for r in rows] == ["when", "2026-03-01T01:59:58Z", "2026-03-01T01:59:59Z"]
    assert all(abs(float(r[1]) - np.sin(i / 50)) <= 0.02 + 1e-5
               for i, r in zip((7198, 7199), rows[1:]))


def test_a_header_longer_than_the_first_read():
    """100 channels with 1000-byte names: the header (~100 kB) is read in two steps."""
    names = [f"{i:03d}" + "x" * 997 for i in range(100)]
    x = np.arange(300.0).reshape(3, 100)
    values, _ = decode(encode(x, 0.5, names=names))
    assert np.all(np.abs(values - x) <= 0.5)
