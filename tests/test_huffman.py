"""The Huffman codec (codec bytes 5 to 8, level fast): round trips within the bound on every
grid, the cost it chooses by equal to the bytes it writes, level fast's choice between it and
the grid codec, and damage: a truncated payload is always rejected, a mutated one is rejected
or decoded without harm. The second decoder's agreement is in test_huffman_reference.py."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from hippo_cli.codec import huffman
from hippo_cli.codec.parts import CODER_GRID, CODER_HUFFMAN, PROBE, ChannelCoder

finite = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False)
grids = st.sampled_from([(0, False), (1, True), (1, False), (2, True), (3, False)])


def _series(kind: str, n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return {
        "noise": rng.standard_normal(n),
        "walk": np.cumsum(rng.standard_normal(n)),
        "slow": np.cumsum(0.01 * rng.standard_normal(n)),
        "steps": np.repeat(rng.integers(-3, 3, n // 50 + 1), 50)[:n].astype(float),
        "sine": np.sin(np.arange(n) / 300.0),
        "huge": rng.standard_normal(n) * 1e12,
    }[kind]


@settings(max_examples=150, deadline=None)
@given(arrays(np.float64, st.integers(1, 300), elements=finite),
       st.floats(1e-3, 10.0), grids)
def test_round_trip_within_the_bound(x, eps, grid):
    lm, hold = grid
    payload = huffman.encode(x, eps, lm, hold)
    assert payload is not None
    assert len(payload) <= huffman.max_payload(len(x))
    y = huffman.decode(payload, len(x), eps, lm)
    assert np.all(np.abs(y - x) <= eps)
    # the values are the grid's: float64(Q) * step for an integer Q
    step = 2.0 * eps / (1 << lm)
    q = np.rint(y / step)
    assert np.array_equal(q * step, y)


@pytest.mark.parametrize("kind", ["noise", "walk", "slow", "steps", "sine", "huge"])
@pytest.mark.parametrize("grid", [(0, False), (1, True)])
def test_long_series_and_their_cost(kind, grid):
    """Runs of every length up to thousands, values of every class up to 2^40 and beyond, and
    the cost level fast chooses by is the payload's exact length."""
    x = _series(kind, 50_000, 7)
    eps = 0.01 * float(np.ptp(x)) if kind != "huge" else 0.5
    lm, hold = grid
    payload = huffman.encode(x, eps, lm, hold)
    y = huffman.decode(payload, len(x), eps, lm)
    assert np.all(np.abs(y - x) <= eps)
    size, tokens, lm_s, hold_s = huffman.shortest(x, eps, grids=(grid,))
    assert (size, lm_s, hold_s) == (len(payload), lm, hold)
    assert 0 < tokens < size


def test_the_largest_classes():
    """A first index near 2^53 and jumps between the extremes the encoder holds: value
    classes above 50 (extra bits in two pieces) decode exactly."""
    eps = 0.5
    x = np.array([2.0**53, -(2.0**53), 2.0**53 - 2, 0.0, 1.0, -(2.0**52)])
    payload = huffman.encode(x, eps)
    assert np.array_equal(huffman.decode(payload, len(x), eps), np.rint(x / 1.0) * 1.0)


def test_samples_no_grid_holds_are_refused():
    """Beyond 2^54 grid steps the encoder declines (the grid codec's raw blocks hold them)."""
    assert huffman.encode(np.array([0.0, 1e300]), 1e-3) is None
    assert huffman.shortest(np.array([1e300]), 1e-3) is None


def test_a_frame_of_2_20_samples_of_one_run():
    """The longest run a frame holds (class 21) and the sample count limit."""
    n = 1 << 20
    x = np.zeros(n)
    payload = huffman.encode(x, 1.0)
    assert np.array_equal(huffman.decode(payload, n, 1.0), x)
    with pytest.raises(ValueError):
        huffman.encode(np.zeros(n + 1), 1.0)


@pytest.mark.parametrize("kind", ["noise", "sine", "huge"])
def test_every_truncation_is_rejected(kind):
    x = _series(kind, 3000, 3)
    eps = 0.01 * float(np.ptp(x))
    payload = huffman.encode(x, eps)
    for cut in range(len(payload)):
        with pytest.raises(ValueError):
            huffman.decode(payload[:cut], len(x), eps)
    with pytest.raises(ValueError):  # a byte left over
        huffman.decode(payload + b"\x00", len(x), eps)


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_mutated_payloads_are_rejected_or_harmless(data):
    """Any byte changed: the decoder raises ValueError or returns n float64 values (the frame's
    CRC-32 is what tells damage; the decoder must never read or write out of bounds)."""
    kind = data.draw(st.sampled_from(["noise", "walk", "steps"]))
    x = _series(kind, 2000, data.draw(st.integers(0, 5)))
    eps = 0.01 * float(np.ptp(x))
    payload = bytearray(huffman.encode(x, eps))
    for _ in range(data.draw(st.integers(1, 4))):
        at = data.draw(st.integers(0, len(payload) - 1))
        payload[at] = data.draw(st.integers(0, 255))
    try:
        y = huffman.decode(bytes(payload), len(x), eps)
    except ValueError:
        return
    assert y.shape == x.shape


def test_malformed_tables_are_rejected():
    one = bytes([1, 0x10]) + bytes(7) + b"\x00"  # context 0: symbol 0 (a run of 1), length 1
    assert np.array_equal(huffman.decode(one, 1, 0.5), [0.0])
    for bad in (bytes([169]) + bytes(90),  # S > 168
                bytes([1, 0xC0]) + bytes(7) + b"\x00",  # a length of 12 (at most 11)
                bytes([1, 0xF0]) + bytes(7) + b"\x00",  # a length of 15
                bytes([3, 0x11, 0x10]) + bytes(7) + b"\x00",  # three codes of length 1
                bytes([1, 0x11]) + bytes(7) + b"\x00",  # an odd S with a nonzero last half
                bytes([1, 0x10]) + bytes(7) + b"\x80",  # the code word 1: no symbol has it
                bytes([1, 0x10]) + bytes(7) + b"\x01"):  # padding not 0
        with pytest.raises(ValueError):
            huffman.decode(bad, 1, 0.5)
    # context 0: symbol 3 only (a run of class 2: 2 or 3 zeros), code 0, then its extra bit 1
    run3 = bytes([4, 0x00, 0x01]) + bytes(7) + bytes([0b01000000])
    assert np.array_equal(huffman.decode(run3, 3, 0.5), [0.0, 0.0, 0.0])
    for n in (1, 2, 4):  # a run past the end; a stream that ends before the samples do
        with pytest.raises(ValueError):
            huffman.decode(run3, n, 0.5)


@pytest.mark.parametrize("kind,codec", [("noise", CODER_HUFFMAN), ("sine", CODER_GRID)])
def test_level_fast_keeps_what_pays(kind, codec):
    """Noise goes to the Huffman codec (the grid codec is not twice as short on the probe); a
    smooth sine to the grid codec (many times shorter there). Both decode within the bound,
    through the part's codec byte."""
    x = _series(kind, 4 * PROBE, 11)
    eps = 0.01 * float(np.ptp(x))
    coder = ChannelCoder("fast")
    body, state = coder.encode_part(x, eps, None, coders=True)
    assert body[0] == codec and (state is None) == (codec != CODER_GRID)
    y = coder.decode(body, len(x), eps, specials=False, coders=True)
    assert np.all(np.abs(y - x) <= eps)


@pytest.mark.parametrize("n", [1, 2, 100, 2 * PROBE, 2 * PROBE + 1])
def test_level_fast_small_parts_keep_the_shorter(n):
    """A part of at most 2 PROBE samples is coded both ways and the shorter kept."""
    x = _series("noise", n, 5)
    eps = 0.3
    coder = ChannelCoder("fast")
    body, _ = coder.encode_part(x, eps, None, coders=True)
    y = coder.decode(body, n, eps, specials=False, coders=True)
    assert np.all(np.abs(y - x) <= eps)
    if n <= 2 * PROBE:
        size = huffman.shortest(x, eps)[0]
        grid, _ = coder._grid_part(x, eps, None)
        assert len(body) == 1 + min(size, len(grid))
