"""The channel codec and the time codec on their own: bound, chunking, independence of
frames, damaged payloads, extreme values (the randomized self-test of the codec's design)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hippo_cli.codec import ChannelDecoder, ChannelEncoder, decode_times, encode_times
from hippo_cli.codec._kernels import B as BLOCK

PROPS = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _signal(rng: np.random.Generator, kind: int, n: int) -> np.ndarray:
    t = np.arange(n)
    if kind == 0:
        return np.cumsum(rng.standard_normal(n))
    if kind == 1:
        return np.sin(2 * np.pi * t / rng.uniform(5, 5000)) * 10 ** rng.uniform(-5, 5)
    if kind == 2:
        return np.full(n, rng.standard_normal() * 10 ** rng.uniform(-300, 300))
    if kind == 3:
        return rng.standard_normal(n) * 10 ** rng.uniform(-3, 3) + rng.uniform(-1e6, 1e6)
    if kind == 4:
        return np.repeat(rng.standard_normal(n // 50 + 1), 50)[:n]
    if kind == 5:  # huge, tiny, subnormal and signed zeros mixed in
        x = rng.standard_normal(n)
        m = rng.random(n) < 0.01
        x[m] = rng.choice([1e300, -1e300, 5e-324, -2.5e-310, 1e18, 0.0, -0.0], m.sum())
        return x
    if kind == 6:
        return np.cumsum(rng.integers(-3, 4, n)).astype(np.float64) * 0.25
    return np.sin(t / 300.0) + 1e-3 * rng.standard_normal(n)


def _within(y: np.ndarray, x: np.ndarray, eps: float) -> bool:
    raw = y.view(np.int64) == x.view(np.int64)  # raw blocks are bit-identical
    return bool(np.all((np.abs(y - x) <= eps) | raw))


@PROPS
@given(seed=st.integers(0, 2**32 - 1), kind=st.integers(0, 7),
       n=st.sampled_from([1, 2, 3, 100, BLOCK - 1, BLOCK, BLOCK + 1, 9000]),
       rel=st.sampled_from([1e-3, 1e-2, 5e-2]), odd_eps=st.sampled_from([None, 1e300, 5e-324,
                                                                       1e-310, 1e-30, 3.0]))
def test_bound_chunking_and_frames(seed, kind, n, rel, odd_eps):
    rng = np.random.default_rng(seed)
    x = _signal(rng, kind, n)
    span = float(np.ptp(x))
    eps = odd_eps or rel * (span if span > 0 and np.isfinite(span) else 1.0)
    whole = ChannelEncoder(eps)
    whole.push(x)
    one = whole.flush()
    pieces = ChannelEncoder(eps)
    i = 0
    while i < n:
        c = int(rng.integers(1, 6000))
        pieces.push(x[i:i + c])
        i += c
    assert pieces.flush() == one, "chunking changed the bytes"
    assert _within(ChannelDecoder(eps).decode(one, n), x, eps)
    # stream mode: a frame at random points, each decodable on its own
    enc, dec, i = ChannelEncoder(eps), ChannelDecoder(eps), 0
    while i < n:
        c = int(rng.integers(1, 9000))
        enc.push(x[i:i + c])
        assert _within(dec.decode(enc.flush(), min(c, n - i)), x[i:i + c], eps)
        i += c


@PROPS
@given(seed=st.integers(0, 2**32 - 1), kind=st.integers(0, 2))
def test_damaged_payloads_raise_or_give_n_samples(seed, kind):
    rng = np.random.default_rng(seed)
    x = np.cumsum(rng.standard_normal(5000))
    enc = ChannelEncoder(0.05)
    enc.push(x)
    b = bytearray(enc.flush())
    if kind == 0:
        b[int(rng.integers(0, len(b)))] ^= int(rng.integers(1, 256))
    elif kind == 1:
        b = b[:int(rng.integers(0, len(b)))]
    else:
        b += bytes(rng.integers(0, 256, int(rng.integers(1, 20)), dtype=np.uint8))
    try:
        y = ChannelDecoder(0.05).decode(bytes(b), 5000)
    except ValueError:
        return
    assert y.shape == (5000,)  # undetected here: the container's CRC catches it


@PROPS
@given(seed=st.integers(0, 2**32 - 1), kind=st.integers(0, 3),
       m=st.sampled_from([1, 2, 5, 1000, 70000]))
def test_times_round_trip_exactly(seed, kind, m):
    rng = np.random.default_rng(seed)
    t0 = int(rng.integers(-2**62, 2**62))
    if kind == 0:
        t = t0 // 2 + np.arange(m, dtype=np.int64) * 1_000_000_000
    elif kind == 1:
        t = t0 // 2 + np.cumsum(rng.integers(0, 10**7, m)).astype(np.int64)
    elif kind == 2:
        t = rng.integers(-2**63, 2**63 - 1, m, dtype=np.int64)
    else:
        t = np.arange(m, dtype=np.int64) + 1_700_000_000
    assert np.array_equal(decode_times(encode_times(t), m), t)


def test_constant_frames_and_regular_cadence_are_cheap():
    enc = ChannelEncoder(0.01)
    enc.push(np.full(65536, 3.14159))
    assert len(enc.flush()) < 32
    t = 1_700_000_000_000_000_000 + np.arange(65536, dtype=np.int64) * 1_000_000
    assert len(encode_times(t)) < 32


def test_exact_codec_for_a_zero_bound():
    enc = ChannelEncoder(0.0)
    enc.push(np.full(1000, -2.5))
    payload = enc.flush()
    assert len(payload) == 9
    np.testing.assert_array_equal(ChannelDecoder(0.0).decode(payload, 1000), np.full(1000, -2.5))
    with pytest.raises(ValueError):
        ChannelDecoder(0.0).decode(payload[:5], 1000)


def test_old_files_still_decode_to_the_same_bits():
    """A committed version-1 file (every predictor, times; tests/data/fixtures/) decodes to
    the bits recorded when it was written, and within its bound of the input recipe."""
    import hashlib
    import json
    import sys
    from pathlib import Path

    from hippo_cli import decode

    here = Path(__file__).parent / "data" / "fixtures"
    sys.path.insert(0, str(here))
    try:
        from make_fixtures import signals
    finally:
        sys.path.remove(str(here))
    meta = json.loads((here / "v1.json").read_text())
    values, times = decode((here / "v1.hippo").read_bytes())
    x, want_times = signals()
    assert hashlib.sha256(values.astype("<f8").tobytes()).hexdigest() == meta["decoded_sha256"]
    assert np.all(np.abs(values - x) <= meta["max_error"])
    np.testing.assert_array_equal(times, want_times)


def test_every_residual_magnitude_round_trips():
    """Residuals of every bit length k = 0..61 (both signs; the decoder's residual loop reads
    their k-2 direct bits itself) and first values and steps of every bit length (read by
    _ddirect) decode to what the one encoder wrote."""
    rng = np.random.default_rng(3)
    exps = rng.permutation(np.repeat(np.arange(61), 3))
    a = np.array([int(rng.integers(1 << e, 1 << (e + 1))) for e in exps], dtype=np.int64)
    d = np.zeros(2 * a.shape[0] + 1, np.int64)
    d[1::2] = a
    d[2::2] = -a  # steps +a, -a: the times stay in [0, 2^61), |dd| reaches 2^62 - 2
    t = np.cumsum(np.concatenate([[0, 1, 3, 5, 6], d]))  # dd -1, 0, 1 first
    k = {int(abs(v)).bit_length() - 1 for v in np.diff(t, 2) if v}
    assert k == set(range(62))
    assert np.array_equal(decode_times(encode_times(t), t.shape[0]), t)
    for e in range(61):
        t2 = np.array([1 << e, (1 << e) + (1 << max(e - 1, 0)), 5], dtype=np.int64)
        assert np.array_equal(decode_times(encode_times(t2), 3), t2)


def test_malformed_payloads_are_worded():
    """A damaged payload raises ValueError saying what is wrong, never a bare error code."""
    from hippo_cli.codec.grid import DECODER_ERRORS

    rng = np.random.default_rng(5)
    enc = ChannelEncoder(0.01)
    enc.push(np.cumsum(rng.standard_normal(9000)))
    good = enc.flush()
    seen = set()
    for trial in range(300):
        b = bytearray(good)
        if trial % 3 == 0:
            b = b[: int(rng.integers(0, len(b)))]
        else:
            for _ in range(int(rng.integers(1, 4))):
                b[int(rng.integers(0, len(b)))] ^= int(rng.integers(1, 256))
        for payload, n in ((bytes(b), 9000), (bytes(b[:40]), 3)):
            try:
                ChannelDecoder(0.01).decode(payload, n)
            except ValueError as err:
                msg = str(err)
                assert "(code " not in msg
                if msg.startswith("malformed payload ("):
                    assert msg[len("malformed payload ("):-1] in DECODER_ERRORS.values()
                    seen.add(msg)
    assert len(seen) >= 2


