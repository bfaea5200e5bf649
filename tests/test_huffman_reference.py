"""The Huffman codec (codec bytes 5 to 8, ``docs/format.md``) through the second decoder and
a plain encoder written from the document alone (``tests/reference_decoder.py``), and against
hippo's own codec (``hippo_cli.codec.huffman``) once it exists: both decoders agree bit for bit on
each other's payloads and both reject every malformed payload built here.

Payloads here are built by :func:`payload`, from the document's layout: per context S and
its lengths two to a byte, then the tokens' bits given as a string of ``0``/``1``.
"""

from __future__ import annotations

import heapq
import importlib.util
import itertools
import struct
import zlib

import numpy as np
import pytest
import reference_decoder as ref
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from test_reference_decoder import header_bytes, varint

HAVE_HIPPO_HUFFMAN = importlib.util.find_spec("hippo_cli.codec.huffman") is not None
needs_hippo = pytest.mark.skipif(not HAVE_HIPPO_HUFFMAN,
                                 reason="hippo_cli.codec.huffman has not landed yet")
SETTINGS = settings(max_examples=60, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


def payload(tables: dict[int, list[int]], bits: str, pad: str = "", sizes: dict | None = None
            ) -> bytes:
    """A payload from the document's layout: ``tables[c]`` the code lengths of context c's
    symbols 0..S-1 (absent: S = 0); ``bits`` the tokens, then ``pad`` (zeros to the byte
    when empty); ``sizes[c]``: S written as a varint of that many bytes (not minimal)."""
    out = b""
    for c in range(8):
        lengths = tables.get(c, [])
        S = len(lengths)
        k = (sizes or {}).get(c)
        out += varint(S) if k is None else varint_of(S, k)
        padded = lengths + [0] * (S % 2)
        out += bytes(16 * padded[i] + padded[i + 1] for i in range(0, S, 2))
    text = bits + (pad or "0" * (-len(bits) % 8))
    assert len(text) % 8 == 0
    return out + (int(text, 2).to_bytes(len(text) // 8, "big") if text else b"")


def varint_of(v: int, k: int) -> bytes:
    """``v`` as a LEB128 varint of exactly ``k`` bytes (not minimal when v is small)."""
    groups = [(v >> (7 * i)) & 0x7F for i in range(k)]
    assert v >> (7 * k) == 0
    return bytes(g | (0x80 if i < k - 1 else 0) for i, g in enumerate(groups))


def one_code(sym: int, length: int = 1) -> list[int]:
    """The lengths of a context whose only symbol is ``sym``."""
    return [0] * sym + [length]


def value_token(r: int) -> tuple[int, str]:
    """(symbol, extra bits) of one nonzero residual, from the table of "Tokens"."""
    v = abs(r)
    j = v.bit_length()
    return 3 * (j - 1) + (1 if r > 0 else 2), format(v - 2 ** (j - 1), f"0{j - 1}b")[: j - 1]


def values(q: list[int], E: float, lm: int = 0) -> list[int]:
    """The bit patterns ``float64(Q) * (2E / 2^lm)`` of the grid indices ``q``."""
    return [ref.float_to_bits(float(k) * ((2.0 * E) / 2**lm)) for k in q]


def floats(bits: list[int]) -> np.ndarray:
    return np.array(bits, dtype=np.uint64).view(np.float64)


# ---------------------------------------------------------------------------------------
# Hand-built payloads: bytes derived by hand from the document
# ---------------------------------------------------------------------------------------

HAND_BUILT = {
    # n = 1, residual +5: class j = 3 (4 <= 5 < 8), t = 1, symbol 3 (j - 1) + 1 = 7, extra
    # bits 5 - 4 = 1 in j - 1 = 2 bits: "01". Context 0 has symbol 7 alone: S = 8, lengths
    # 0 0 0 0 0 0 0 1 -> 00 00 00 01, code "0". Contexts 1-7: S = 0. Bits "0" "01" -> 0x20.
    "one_symbol": (bytes.fromhex("08 00000001 00 00 00 00 00 00 00 20"), 1, 0.5, [5]),
    # n = 4, residuals 0 0 0 -1: a run z = 3 (j = 2, symbol 3, extra bit z - 2 = 1), then
    # -1 (j = 1, t = 2: symbol 2, no extra bits) in context 0 again (after a run). Context 0:
    # S = 4, lengths 0 0 1 1 -> 00 11; canonical: symbol 2 "0", symbol 3 "1". Bits: "1" "1"
    # "0" -> 0xC0. Step 2E = 0.5.
    "two_symbols": (bytes.fromhex("04 0011 00 00 00 00 00 00 00 C0"), 4, 0.25, [0, 0, 0, -1]),
    # n = 3, indices 1 3 3: +1 (symbol 1, context 0), +2 (j = 2: symbol 4, extra "0", in
    # context min(1, 7) = 1), a run of 1 (symbol 0, no extra bits, context 2). Context 0:
    # S = 2, lengths 0 1 -> 01; context 1: S = 5, lengths 0 0 0 0 1 -> 00 00 10 (S odd: low
    # half of the last byte 0); context 2: S = 1 -> 10. Bits "0" "0" "0" "0" -> 0x00.
    "three_contexts": (bytes.fromhex("02 01 05 000010 01 10 00 00 00 00 00 00"), 3, 0.5,
                       [1, 3, 3]),
    # n = 2, indices 0 -1: a run of 1 (symbol 0) then -1 (symbol 2), context 0 with lengths
    # 2 1 2 (S = 3 -> 21 20): canonical by (length, symbol): symbol 1 "0", symbol 0 "10",
    # symbol 2 "11" (symbol 1 is never used). Bits "10" "11" -> 0xB0.
    "canonical_order": (bytes.fromhex("03 2120 00 00 00 00 00 00 00 B0"), 2, 0.5, [0, -1]),
}


@pytest.mark.parametrize("name", HAND_BUILT)
def test_hand_built_payloads(name):
    data, n, E, q = HAND_BUILT[name]
    assert ref.decode_huffman(data, n, E) == values(q, E)


def test_the_builder_agrees_with_the_hand_built_bytes():
    # the helper the malformed cases below use writes the same bytes as the hand derivation
    assert payload({0: one_code(7)}, "0" + "01") == HAND_BUILT["one_symbol"][0]
    assert payload({0: [0, 0, 1, 1]}, "110") == HAND_BUILT["two_symbols"][0]
    assert payload({0: [0, 1], 1: [0, 0, 0, 0, 1], 2: [1]}, "0000") == \
        HAND_BUILT["three_contexts"][0]
    assert payload({0: [2, 1, 2]}, "1011") == HAND_BUILT["canonical_order"][0]


def test_a_run_of_class_21_fills_a_frame_of_2_20():
    # symbol 3 (21 - 1) = 60 (j = 21, t = 0), extra 20 bits 0: z = 2^20, every sample Q = 0
    n = 2**20
    data = payload({0: one_code(60)}, "0" + "0" * 20)
    got = ref.decode_huffman(data, n, 0.5)
    assert len(got) == n and set(got) == {0}
    # the same run after a value: 1 + (2^20 - 1) samples, extra bits all ones: z = 2^21 - 1
    # reaches past n; z = 2^20 - 1 (class 20, symbol 57) fits
    with pytest.raises(ValueError, match="past"):
        ref.decode_huffman(payload({0: [0, 1], 1: one_code(60)}, "0" + "0" + "1" * 20), n, 0.5)
    data = payload({0: [0, 1], 1: one_code(57)}, "0" + "0" + "1" * 19)
    assert ref.decode_huffman(data, n, 0.5) == values([1] * n, 0.5)


def test_a_value_of_class_56():
    # +(2^56 - 1): symbol 3 x 55 + 1 = 166, 55 extra bits all ones; then -(2^56 - 1) back
    # to 0 (symbol 167, context 7)
    data = payload({0: one_code(166), 7: one_code(167)}, "0" + "1" * 55 + "0" + "1" * 55)
    assert ref.decode_huffman(data, 2, 0.5) == values([2**56 - 1, 0], 0.5)


# ---------------------------------------------------------------------------------------
# Malformed payloads: each next to a valid twin that differs only in the defect
# ---------------------------------------------------------------------------------------

_S168 = one_code(1) + [0] * 166  # 168 lengths, symbol 1 (+1) coded "0"
_FULL = {c: _S168 for c in range(8)}
_BYTE = payload({0: one_code(22)}, "0" + "1" * 7)  # +255 (class 8): exactly 8 bits

# name: (bad payload, its n, a valid twin that differs only in the defect or None, its n)
MALFORMED = {
    "S_169": (payload({0: _S168 + [0]}, "0"), 1, payload({0: _S168}, "0"), 1),
    "S_10_byte_varint_too_big": (bytes([0xFF] * 9 + [1]) + bytes(8), 1, None, 1),
    "S_11_byte_varint": (bytes([0x80] * 10 + [0]) + bytes(8), 1, None, 1),
    "length_12": (payload({0: [0, 12]}, "0" * 12), 1, payload({0: [0, 11]}, "0" * 11), 1),
    "length_13": (payload({0: [0, 13]}, "0" * 13), 1, payload({0: [0, 11]}, "0" * 11), 1),
    "length_14": (payload({0: [0, 14]}, "0" * 14), 1, payload({0: [0, 11]}, "0" * 11), 1),
    "length_15": (payload({0: [0, 15]}, "0" * 15), 1, payload({0: [0, 11]}, "0" * 11), 1),
    "length_12_unused": (payload({0: [0, 1, 12]}, "0"), 1, payload({0: [0, 1, 11]}, "0"), 1),
    "length_15_in_context_7": (payload({0: [0, 1], 7: [15]}, "0"), 1,
                               payload({0: [0, 1], 7: [11]}, "0"), 1),
    "kraft_three_of_1": (payload({0: [0, 1, 1, 1]}, "0"), 1, payload({0: [0, 1, 2, 2]}, "0"), 1),
    "kraft_one_too_many": (payload({0: [0, 1, 1, 11]}, "0"), 1,
                           payload({0: [0, 1, 2, 11]}, "0"), 1),
    "kraft_in_unused_context": (payload({0: [0, 1], 5: [1, 1, 1]}, "0"), 1,
                                payload({0: [0, 1], 5: [1, 2, 2]}, "0"), 1),
    "hole_after_1_bit": (payload({0: [0, 1]}, "1"), 1, payload({0: [0, 1]}, "0"), 1),
    "hole_after_11_bits": (payload({0: [0, 11]}, "0" * 10 + "1"), 1,
                           payload({0: [0, 11]}, "0" * 11), 1),
    "hole_in_context_3": (payload({0: [0, 0, 0, 0, 0, 0, 0, 1], 3: [0, 1]}, "0" + "01" + "1"), 2,
                          payload({0: [0, 0, 0, 0, 0, 0, 0, 1], 3: [0, 1]}, "0" + "01" + "0"),
                          2),
    "empty_context": (payload({0: [0, 1]}, "00"), 2, payload({0: [0, 1], 1: [0, 1]}, "00"), 2),
    # a run of 2^21 (symbol 63, class 22) then +1; the twin: two runs of 2^20 then +1
    "run_class_22": (payload({0: [0, 1] + [0] * 61 + [1]},
                             "1" + "0" * 21 + "0"), 2**21 + 1,
                     payload({0: [0, 1] + [0] * 58 + [1]}, "1" + "0" * 20 + "1" + "0" * 20 + "0"),
                     2**21 + 1),
    "run_class_22_short": (payload({0: one_code(63)}, "0" + "0" * 21), 3, None, 3),
    "run_class_56": (payload({0: one_code(165)}, "0" + "0" * 55), 5, None, 5),
    "run_past_n": (payload({0: [0, 0, 0, 1]}, "01"), 2, payload({0: [0, 0, 0, 1]}, "00"), 2),
    "run_past_n_later": (payload({0: [1, 0, 0, 1]}, "0" + "11"), 3,
                         payload({0: [1, 0, 0, 1]}, "0" + "10"), 3),
    "cut_in_extra_bits": (payload({0: one_code(58)}, "0" + "1" * 7), 1,
                          payload({0: one_code(58)}, "0" + "1" * 19), 1),
    "cut_in_code_word": (payload({0: [0, 11]}, "0" * 8), 1, payload({0: [0, 11]}, "0" * 11), 1),
    "cut_before_a_token": (_BYTE, 2, _BYTE, 1),
    "cut_in_tables": (payload({0: _S168}, "")[:50], 1, payload({0: _S168}, "0"), 1),
    "no_bits": (payload({0: [0, 1]}, ""), 1, payload({0: [0, 1]}, "0"), 1),
    "byte_left_over": (payload({0: [0, 1]}, "0") + b"\0", 1, payload({0: [0, 1]}, "0"), 1),
    "bytes_left_over_after_a_whole_byte": (_BYTE + b"\0\0", 1, _BYTE, 1),
    "padding_not_0": (payload({0: [0, 1]}, "0", pad="0000001"), 1, payload({0: [0, 1]}, "0"), 1),
    "padding_first_bit": (payload({0: [0, 1]}, "0", pad="1000000"), 1,
                          payload({0: [0, 1]}, "0"), 1),
    # S written as varints of 10 bytes (allowed: at most 10): 8 x (10 + 84) + 1 = 753 bytes
    # > 9 + 704; the twin writes them in 2 bytes (689 bytes)
    "longer_than_9n_704": (payload(_FULL, "0", sizes=dict.fromkeys(range(8), 10)), 1,
                           payload(_FULL, "0"), 1),
    "Q_2_56": (payload({0: one_code(166), 7: one_code(1)}, "0" + "1" * 55 + "0"), 2,
               payload({0: one_code(166), 7: one_code(1)}, "0" + "1" * 54 + "0" + "0"), 2),
    "Q_minus_2_56": (payload({0: one_code(167), 7: one_code(2)}, "0" + "1" * 55 + "0"), 2,
                     payload({0: one_code(167), 7: one_code(2)}, "0" + "1" * 54 + "0" + "0"),
                     2),
}


REASONS = {"S_": "lengths S", "length_": "above 11", "kraft": "Kraft", "hole": "no symbol",
           "empty": "no symbol", "run_class": "class", "run_past": "past",
           "cut_in_tables": "past the end", "cut": "inside a token", "no_bits": "inside a token",
           "byte": "left over", "padding": "padding", "longer": "9 n", "Q_": "2\\^56"}


@pytest.mark.parametrize("name", MALFORMED)
def test_malformed_payloads_are_rejected(name):
    bad, n, good, n_good = MALFORMED[name]
    reason = next(v for k, v in REASONS.items() if name.startswith(k))
    with pytest.raises(ValueError, match=reason):
        ref.decode_huffman(bad, n, 0.5)
    if good is not None:  # the twin decodes: the rejection is the defect's
        ref.decode_huffman(good, n_good, 0.5)


def test_an_odd_S_with_a_nonzero_low_half_is_rejected():
    # "the low half of the last byte is 0 when S is odd": the second decoder rejects another
    # value as damage (the document lists no MUST here: see the note in the report)
    good = payload({0: [0, 1, 0]}, "0")
    bad = bytearray(good)
    assert bad[1:3] == bytes([0x01, 0x00])
    bad[2] = 0x01
    ref.decode_huffman(good, 1, 0.5)
    with pytest.raises(ValueError, match="low half"):
        ref.decode_huffman(bytes(bad), 1, 0.5)
    if HAVE_HIPPO_HUFFMAN:  # hippo reads it so too
        assert _both_or_neither(good, 1, 0.5) is not None
        assert _both_or_neither(bytes(bad), 1, 0.5) is None


VALID_ODDITIES = {
    # what the document allows though hippo's encoder would not write it
    "non_minimal_varints": (payload({0: [0, 1]}, "0", sizes={0: 3, 4: 2}), 1, [1]),
    "trailing_zero_lengths": (payload({0: [0, 1] + [0] * 166, 6: [0] * 5}, "0"), 1, [1]),
    "incomplete_code": (payload({0: [5, 3]}, "00100" + "000"), 2, [0, 1]),  # "000", "00100"
    "two_runs_in_a_row": (payload({0: [1, 0, 0, 1]}, "0" + "10"), 3, [0, 0, 0]),
    "unused_run_symbol_of_class_22": (payload({0: [0, 1] + [0] * 61 + [1]}, "0"), 1, [1]),
    "unused_empty_contexts_with_S": (payload({0: [0, 1], 3: [0, 0, 0]}, "0"), 1, [1]),
    "kraft_exactly_full": (payload({0: [0, 1, 2, 3, 3]}, "111" + "0"), 1, [2]),  # symbol 4
}


@pytest.mark.parametrize("name", VALID_ODDITIES)
def test_valid_oddities_decode(name):
    data, n, q = VALID_ODDITIES[name]
    assert ref.decode_huffman(data, n, 0.5) == values(q, 0.5)


# ---------------------------------------------------------------------------------------
# The reference encoder: round trips and its code lengths
# ---------------------------------------------------------------------------------------


def _check_round_trip(x: np.ndarray, E: float, lm: int = 0) -> bytes:
    """The reference encoder's payload on grid lm decodes (second decoder) within E of every
    sample, and is no longer than the document's limit."""
    data = ref.encode_huffman(x, E, lm)
    assert len(data) <= 9 * len(x) + 704
    got = floats(ref.decode_huffman(data, len(x), E, lm))
    assert np.all(np.abs(got - x) <= E), np.max(np.abs(got - x))
    return data


_EPS = st.sampled_from([1e-3, 0.05, 0.5, 3.0, 1e-9])


def _series(kind: str, rng: np.random.Generator, n: int) -> np.ndarray:
    if kind == "walk":
        return np.cumsum(rng.normal(size=n))
    if kind == "noise":
        return rng.normal(size=n) * 10.0 ** rng.integers(-3, 3)
    if kind == "constant":
        return np.full(n, rng.normal() * 100)
    if kind == "zero_runs":  # long runs of one value between jumps
        return np.repeat(rng.normal(size=n // 50 + 1) * 5, 50)[:n]
    return np.where(np.arange(n) % 2, 1.0, -1.0) * rng.uniform(0, 1e3, n)  # alternating


@SETTINGS
@given(kind=st.sampled_from(["walk", "noise", "constant", "zero_runs", "alternating"]),
       n=st.integers(1, 400), seed=st.integers(0, 2**32 - 1), E=_EPS, lm=st.integers(0, 3))
def test_reference_round_trip(kind, n, seed, E, lm):
    x = _series(kind, np.random.default_rng(seed), n)
    _check_round_trip(x, E, lm)


@SETTINGS
@given(q=st.lists(st.one_of(st.integers(-40, 40), st.integers(-(2**55), 2**55),
                            st.sampled_from([2**55, -(2**55), 2**56 - 1, -(2**56) + 1])),
                  min_size=1, max_size=60), E=st.sampled_from([0.5, 1.5]), lm=st.integers(0, 3))
def test_reference_round_trip_on_the_grid(q, E, lm):
    # samples on the grid, huge ones too (classes up to 56): the indices are these (Q rounded
    # to binary64, as every sample is a binary64 value), and the encoder refuses exactly
    # when a residual needs class 57 (|r| >= 2^56)
    x = np.array([float(k) for k in q]) * ((2.0 * E) / 2**lm)
    idx = [int(float(k)) for k in q]
    jumps = [b - a for a, b in zip([0] + idx, idx)]
    if max(abs(r) for r in jumps) >= 2**56 or max(abs(k) for k in idx) >= 2**56:
        with pytest.raises(ValueError):
            ref.encode_huffman(x, E, lm)
        return
    data = _check_round_trip(x, E, lm)
    assert ref.decode_huffman(data, len(x), E, lm) == values(idx, E, lm)


def test_single_samples_and_huge_first_values():
    for v in (0.0, 1.0, -1.0, 2.0**55, -(2.0**55), 2.0**56 - 2**4, 1e300 / 1e290):
        for E in (0.5, 2.0**-20):
            if abs(v) / (2 * E) < 2**56:
                _check_round_trip(np.array([v]), E)
    x = np.array([2.0**55 * 1.7] + [0.25] * 10)  # class 56 then a jump of class 56 back
    data = _check_round_trip(x, 0.5)
    assert ref.decode_huffman(data, 11, 0.5)[1:] == values([0] * 10, 0.5)


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 1000, 2**16 + 3])
def test_zero_runs_of_many_classes(n):
    # one run of n (class bit_length(n)), a jump, then a run of n - 1
    x = np.concatenate([np.zeros(n), np.full(n, 7.0)])
    data = _check_round_trip(x, 0.5)
    # the tokens, derived here: a maximal run of n (class j, symbol 3 (j - 1)) and +7
    # (symbol 7, extra "11"), both once in context 0 (after a run): lengths 1 and 1, the
    # lower symbol "0"; then the run of n - 1 alone in context min(3, 7) = 3, code "0"
    j = n.bit_length()
    run = 3 * (j - 1)
    tables = {0: [0] * run + [1] + [0] * (7 - run - 1) + [1] if run < 7 else
              [0] * 7 + [1] + [0] * (run - 8) + [1]}
    bits = ("0" if run < 7 else "1") + format(n - 2 ** (j - 1), f"0{j}b")[1:]
    bits += ("1" if run < 7 else "0") + "11"
    if n > 1:
        k = (n - 1).bit_length()
        tables[3] = one_code(3 * (k - 1))
        bits += "0" + format(n - 1 - 2 ** (k - 1), f"0{k}b")[1:]
    assert data == payload(tables, bits)


@pytest.mark.slow
@pytest.mark.parametrize("tail", [0, 1])
def test_a_run_of_class_21_round_trips(tail):
    n = 2**20
    x = np.zeros(n)
    # one maximal run of 2^20 (class 21, symbol 60, 20 extra bits 0), alone in context 0
    want = payload({0: one_code(60)}, "0" + "0" * 20)
    if tail:  # a run of 2^20 - 1 (symbol 57, 19 extra bits 1), then +3 (symbol 4, extra 1)
        x[-1] = 3.0
        want = payload({0: one_code(4) + [0] * 52 + [1]}, "1" + "1" * 19 + "0" + "1")
    assert _check_round_trip(x, 0.5) == want


def _huffman_cost(freq: dict[int, int]) -> int:
    """The total bits of an unlimited Huffman code of ``freq`` (the sum of the merges)."""
    heap = list(freq.values())
    heapq.heapify(heap)
    cost = 0
    while len(heap) > 1:
        a, b = heapq.heappop(heap), heapq.heappop(heap)
        cost += a + b
        heapq.heappush(heap, a + b)
    return cost


@SETTINGS
@given(freq=st.dictionaries(st.integers(0, 167), st.integers(1, 10**6), min_size=2,
                            max_size=168))
def test_code_lengths_are_valid_and_optimal(freq):
    lengths = ref.huffman_lengths(freq)
    assert set(lengths) == set(freq) and 1 <= min(lengths.values())
    assert max(lengths.values()) <= 11
    assert sum(2 ** (11 - v) for v in lengths.values()) <= 2**11
    cost = sum(freq[s] * lengths[s] for s in freq)
    assert cost >= _huffman_cost(freq)  # never better than unlimited Huffman
    unlimited = ref.huffman_lengths(freq, limit=64)
    if max(unlimited.values()) <= 11:  # the limit does not bind: as good as Huffman
        assert cost == _huffman_cost(freq)


@pytest.mark.parametrize("limit, count", [(2, 3), (3, 5), (4, 6)])
def test_length_limited_lengths_against_brute_force(limit, count):
    # every length vector within the limit and Kraft's inequality: the least cost is the
    # package-merge cost, for skewed frequencies where the limit binds
    rng = np.random.default_rng(limit)
    for _ in range(20):
        freq = {s: int(2 ** rng.uniform(0, 12)) for s in range(count)}
        best = min(sum(f * v for f, v in zip(freq.values(), vec))
                   for vec in itertools.product(range(1, limit + 1), repeat=count)
                   if sum(2.0 ** -v for v in vec) <= 1)
        lengths = ref.huffman_lengths(freq, limit=limit)
        assert max(lengths.values()) <= limit
        assert sum(freq[s] * lengths[s] for s in freq) == best


def test_fibonacci_frequencies_reach_the_limit():
    # an unlimited Huffman code of 30 Fibonacci counts is 29 deep: limited to 11
    fib = [1, 1]
    while len(fib) < 30:
        fib.append(fib[-1] + fib[-2])
    freq = dict(enumerate(fib))
    assert max(ref.huffman_lengths(freq, limit=64).values()) == 29
    lengths = ref.huffman_lengths(freq)
    assert max(lengths.values()) == 11
    assert sum(2 ** (11 - v) for v in lengths.values()) == 2**11


# ---------------------------------------------------------------------------------------
# Whole files: codec byte 5 in a version-3 frame with the coders flag
# ---------------------------------------------------------------------------------------


def _frame(n: int, parts: list[bytes], flags: int) -> bytes:
    body = bytes([flags])
    for part in parts[:-1]:
        body += varint(len(part)) + part
    body += parts[-1]
    heads = varint(n) + varint(len(body))
    return heads + struct.pack("<I", zlib.crc32(heads + body)) + body


def _huffman_file(seed: int, version: int = 3) -> tuple[bytes, np.ndarray, list[float]]:
    """A file of three channels (Huffman with runs of non-finite values, the exact codec's
    constant, Huffman) in two frames (the second chained), with what was written."""
    rng = np.random.default_rng(seed)
    E = [0.01, 0.0, 0.5]
    sizes = [int(rng.integers(1, 300)), int(rng.integers(1, 300))]
    x = np.column_stack([np.cumsum(rng.normal(size=sum(sizes))), np.full(sum(sizes), 2.5),
                         rng.normal(size=sum(sizes)) * 100])
    x[rng.integers(0, sum(sizes), 5), 0] = np.nan
    data = header_bytes(version, 0, ["walk", "const", "noise"], E)
    start = 0
    for kind, n in enumerate(sizes):  # frame 0 a key frame, frame 1 chained
        block = x[start : start + n]
        nan_at = np.flatnonzero(np.isnan(block[:, 0]))
        runs = b"".join(varint(int(i) - (int(nan_at[k - 1]) + 1 if k else 0)) + varint(1)
                        + struct.pack("<Q", 0x7FF8000000000000) for k, i in enumerate(nan_at))
        walk = np.where(np.isnan(block[:, 0]), 0.0, block[:, 0])
        lm = [int(v) for v in rng.integers(0, 4, 2)]  # codec bytes 5 + lm
        parts = [varint(len(nan_at)) + runs + bytes([5 + lm[0]])
                 + ref.encode_huffman(walk, E[0], lm[0]),
                 b"\0\0\0" + struct.pack("<d", 2.5),
                 b"\0" + bytes([5 + lm[1]]) + ref.encode_huffman(block[:, 2], E[2], lm[1])]
        data += _frame(n, parts, 0x30 | kind)
        start += n
    return data, x, E


@pytest.mark.parametrize("seed", range(4))
def test_whole_files_with_huffman_parts_decode(seed):
    data, x, E = _huffman_file(seed)
    got, times = ref.decode(data)
    assert times is None and got.shape == x.shape
    nan = np.isnan(x)
    assert np.array_equal(np.isnan(got), nan)
    assert np.all(np.abs(got - x)[~nan] <= np.broadcast_to(E, x.shape)[~nan])
    if HAVE_HIPPO_HUFFMAN:  # hippo's decoder agrees bit for bit
        from test_reference_decoder import assert_same

        assert_same(data)


@pytest.mark.parametrize("codec", [5, 6, 7, 8])
def test_codec_bytes_5_to_8_in_version_3_for_E_above_0(codec):
    # indices 0..4 on grid lm = codec - 5: the same payload's values halve with each grid
    part = bytes([codec]) + ref.encode_huffman(np.arange(5.0), 0.5)
    got, _ = ref.decode(header_bytes(3, 0, ["x"], [0.5]) + _frame(5, [part], 0x20))
    assert got[:, 0].tolist() == [k / 2 ** (codec - 5) for k in range(5)]
    if HAVE_HIPPO_HUFFMAN:
        from test_reference_decoder import assert_same

        assert_same(header_bytes(3, 0, ["x"], [0.5]) + _frame(5, [part], 0x20))
    with pytest.raises(ValueError, match=f"codec byte {codec}"):  # not for E = 0
        ref.decode(header_bytes(3, 0, ["x"], [0.0]) + _frame(5, [part], 0x20))
    with pytest.raises(ValueError, match="flags"):  # the coders flag is version 3's
        ref.decode(header_bytes(2, 0, ["x"], [0.5]) + _frame(5, [part], 0x20))


def test_codec_byte_9_is_rejected():
    part = b"\x09" + ref.encode_huffman(np.arange(5.0), 0.5)
    for data in (header_bytes(3, 0, ["x"], [0.5]) + _frame(5, [part], 0x20),
                 _huffman_file(0, version=2)[0]):
        with pytest.raises(ValueError):
            ref.decode(data)
        if HAVE_HIPPO_HUFFMAN:
            import hippo_cli

            with pytest.raises(ValueError):
                hippo_cli.decode(data)


# ---------------------------------------------------------------------------------------
# Against hippo's own codec (hippo_cli.codec.huffman), written apart from the document
# ---------------------------------------------------------------------------------------


def _hippo():
    from hippo_cli.codec import huffman

    return huffman


def _both_or_neither(data: bytes, n: int, E: float, lm: int = 0) -> list[int] | None:
    """Both decoders' bit patterns for ``data``, asserted equal; None if both reject it."""
    try:
        want = _hippo().decode(data, n, E, lm)
    except ValueError:
        with pytest.raises(ValueError):
            ref.decode_huffman(data, n, E, lm)
        return None
    try:
        got = ref.decode_huffman(data, n, E, lm)
    except ValueError as exc:
        raise AssertionError(f"only the second decoder rejects it: {exc}") from exc
    assert got == np.asarray(want, dtype=np.float64).view(np.uint64).tolist()
    return got


@needs_hippo
@SETTINGS
@given(kind=st.sampled_from(["walk", "noise", "constant", "zero_runs", "alternating"]),
       n=st.integers(1, 400), seed=st.integers(0, 2**32 - 1), E=_EPS, lm=st.integers(0, 3),
       hold=st.booleans())
def test_hippos_payloads_through_the_second_decoder(kind, n, seed, E, lm, hold):
    x = _series(kind, np.random.default_rng(seed), n)
    data = _hippo().encode(x, E, lm, hold)
    if data is None:  # hippo declines (not its case to code); nothing to compare
        return
    got = _both_or_neither(data, n, E, lm)
    assert got is not None
    assert np.all(np.abs(floats(got) - x) <= E)


@needs_hippo
@SETTINGS
@given(q=st.lists(st.one_of(st.integers(-40, 40), st.integers(-(2**55), 2**55)),
                  min_size=1, max_size=60), E=st.sampled_from([0.5, 1.5]), lm=st.integers(0, 3))
@example(q=[2**52 + 1], E=0.5, lm=1)  # from 2^52, x/step + 0.5 is a tie: the nearest index
@example(q=[4_647_480_593_095_019], E=1.5, lm=1)  # x * (1/step) a step off
def test_hippos_payloads_of_huge_indices(q, E, lm):
    x = np.array([float(k) for k in q]) * ((2.0 * E) / 2**lm)
    data = _hippo().encode(x, E, lm)
    if data is not None:
        assert floats(_both_or_neither(data, len(x), E, lm)).tolist() == x.tolist()


@needs_hippo
@SETTINGS
@given(kind=st.sampled_from(["walk", "noise", "constant", "zero_runs", "alternating"]),
       n=st.integers(1, 400), seed=st.integers(0, 2**32 - 1), E=_EPS, lm=st.integers(0, 3))
def test_reference_payloads_through_hippos_decoder(kind, n, seed, E, lm):
    x = _series(kind, np.random.default_rng(seed), n)
    assert _both_or_neither(ref.encode_huffman(x, E, lm), n, E, lm) is not None


@needs_hippo
@pytest.mark.parametrize("name", MALFORMED)
def test_malformed_payloads_are_rejected_by_hippo_too(name):
    bad, n, good, n_good = MALFORMED[name]
    with pytest.raises(ValueError):
        _hippo().decode(bad, n, 0.5)
    if good is not None:
        assert _both_or_neither(good, n_good, 0.5) is not None


@needs_hippo
@pytest.mark.parametrize("name", [*HAND_BUILT, *VALID_ODDITIES])
def test_hand_built_and_odd_payloads_through_hippo(name):
    data, n, *rest = HAND_BUILT.get(name) or VALID_ODDITIES[name]
    E = rest[0] if name in HAND_BUILT else 0.5
    assert _both_or_neither(data, n, E) is not None


@needs_hippo
def test_damaged_payloads_both_decoders_agree():
    # every single-byte change, cut and appended byte of a few payloads: the same values or
    # both reject
    rng = np.random.default_rng(11)
    for x, E in ((np.cumsum(rng.normal(size=200)), 0.05), (rng.normal(size=100), 0.5),
                 (np.repeat([0.0, 3.0, -2.0], 40), 0.5)):
        data = ref.encode_huffman(x, E)
        for i in range(len(data)):
            for flip in (0x01, 0x80, 0xFF):
                bad = bytearray(data)
                bad[i] ^= flip
                _both_or_neither(bytes(bad), len(x), E)
            _both_or_neither(data[:i], len(x), E)
        _both_or_neither(data + b"\0", len(x), E)
        for n in (len(x) - 1, len(x) + 1):
            _both_or_neither(data, n, E)


# ---------------------------------------------------------------------------------------
# Random token streams written by the test, decoded by the second decoder
# ---------------------------------------------------------------------------------------


def deflate_codes(lengths: dict[int, int]) -> dict[int, str]:
    """symbol -> code word, by RFC 1951 section 3.2.2's steps (bl_count, next_code), apart
    from the second decoder's way of building them."""
    bl_count = [0] * 13
    for v in lengths.values():
        bl_count[v] += 1
    code, next_code = 0, [0] * 13
    for bits in range(1, 13):
        code = (code + bl_count[bits - 1]) << 1
        next_code[bits] = code
    out = {}
    for sym in sorted(lengths):
        v = lengths[sym]
        out[sym] = format(next_code[v], f"0{v}b")
        next_code[v] += 1
    return out


_TOKEN = st.one_of(st.tuples(st.just(0), st.integers(1, 300)),  # a run of z (maybe two in a row)
                   st.tuples(st.just(1), st.integers(-9, 9).filter(bool)),
                   st.tuples(st.just(1), st.integers(-(2**40), 2**40).filter(bool)))


@SETTINGS
@given(tokens=st.lists(_TOKEN, min_size=1, max_size=80), data=st.data())
def test_random_token_streams_decode_to_their_indices(tokens, data):
    q, want, syms, ctx = 0, [], [], 0
    for kind, v in tokens:
        j = abs(v).bit_length()
        if kind == 0:
            want += [q] * v
            syms.append((ctx, 3 * (j - 1), v - 2 ** (j - 1), j - 1))
            ctx = 0
        else:
            q += v
            want.append(q)
            syms.append((ctx, 3 * (j - 1) + (1 if v > 0 else 2), abs(v) - 2 ** (j - 1), j - 1))
            ctx = min(j, 7)
    tables, codes = {}, {}
    for c in range(8):
        used = {s for cc, s, _, _ in syms if cc == c}
        extra = set(data.draw(st.lists(st.integers(0, 167), max_size=4), label=f"unused {c}"))
        if not used | extra:
            continue
        freq = {s: data.draw(st.integers(1, 1000)) for s in sorted(used | extra)}
        lengths = ref.huffman_lengths(freq)
        for s in lengths:  # longer codes leave holes: an incomplete code, still valid
            if lengths[s] < 11 and data.draw(st.booleans()):
                lengths[s] += 1
        tables[c] = [lengths.get(s, 0) for s in range(max(lengths) + 1)]
        codes[c] = deflate_codes(lengths)
    bits = "".join(codes[c][s] + format(x, f"0{m}b")[-m:] * bool(m) for c, s, x, m in syms)
    got = ref.decode_huffman(payload(tables, bits), len(want), 0.5)
    assert got == values(want, 0.5)
    if HAVE_HIPPO_HUFFMAN:
        assert _both_or_neither(payload(tables, bits), len(want), 0.5) == got


@pytest.mark.parametrize("k", range(1, 11))
def test_S_as_a_varint_of_k_bytes(k):
    # "Conventions": a varint of up to 10 bytes is a varint; only more bytes, or a value
    # above its field's limit, are rejected. S = 2 or S = 0, written in k bytes.
    for sizes in ({0: k}, {6: k}):
        data = payload({0: [0, 1]}, "0", sizes=sizes)
        assert ref.decode_huffman(data, 1, 0.5) == values([1], 0.5)
    with pytest.raises(ValueError, match="more than 10 bytes"):
        ref.decode_huffman(bytes([0x80] * 10 + [0]) + bytes(8), 1, 0.5)


@needs_hippo
@pytest.mark.parametrize("k", range(1, 11))
def test_S_as_a_varint_of_k_bytes_through_hippo(k):
    for sizes in ({0: k}, {6: k}):
        assert _both_or_neither(payload({0: [0, 1]}, "0", sizes=sizes), 1, 0.5) is not None


def _fast_files():
    rng = np.random.default_rng(5)
    noise = rng.normal(size=20000)
    walk = np.cumsum(rng.normal(size=20000))
    with_nan = noise.copy()
    with_nan[rng.integers(0, 20000, 30)] = np.nan
    with_nan[:3] = np.inf
    return {
        "noise": (noise, 0.01, {}),
        "noise_coarse": (noise, 0.3, {}),
        "walk": (walk, 0.05, {}),
        "specials": (with_nan, 0.01, {}),
        "channels": (np.column_stack([noise, walk, np.sin(np.arange(20000) / 300)]),
                     [0.01, 0.02, 1e-3], {}),
        "frames": (noise[:9000], 0.02, {"frame_samples": 2500}),
        "times": (noise[:6000], 0.02, {"times": np.arange(6000) * 0.5}),
        "huge": (noise[:5000] * 1e12, 1e-3, {}),
    }


FAST_FILES = _fast_files()


@needs_hippo
@pytest.mark.parametrize("name", FAST_FILES)
def test_hippos_level_fast_files_through_the_second_decoder(name, monkeypatch):
    from test_reference_decoder import assert_same

    import hippo_cli

    x, E, kwargs = FAST_FILES[name]
    data = hippo_cli.encode(x, E, level="fast", **kwargs)
    grids = []
    decode = ref.decode_huffman

    def counting(payload, n, E, lm=0):
        grids.append(lm)
        return decode(payload, n, E, lm)

    monkeypatch.setattr(ref, "decode_huffman", counting)
    assert_same(data)  # bit for bit, times too
    if name in ("noise", "noise_coarse", "specials", "channels"):  # level fast chose it here
        assert grids, "no Huffman part in a noisy file of level fast"


@needs_hippo
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 120), lm=st.integers(0, 3),
       edits=st.lists(st.tuples(st.sampled_from(["set", "insert", "delete"]),
                                st.integers(0, 10**6), st.integers(0, 255)),
                      min_size=1, max_size=4))
def test_edited_payloads_both_decoders_agree(seed, n, lm, edits):
    # a payload of either encoder, then a few bytes set, inserted or deleted anywhere (the
    # tables or the bits): the same values from both decoders, or both reject
    rng = np.random.default_rng(seed)
    x = _series(["walk", "noise", "zero_runs", "alternating"][seed % 4], rng, n)
    data = ref.encode_huffman(x, 0.05, lm) if seed % 2 else _hippo().encode(x, 0.05, lm)
    if data is None:
        return
    buf = bytearray(data)
    for op, at, byte in edits:
        at %= len(buf) + (op == "insert")
        if op == "set" and buf:
            buf[at % len(buf)] = byte
        elif op == "insert":
            buf.insert(at, byte)
        elif buf:
            del buf[at % len(buf)]
    _both_or_neither(bytes(buf), n, 0.05, lm)

