"""The mixing codec of level best (``docs/format.md``, "The mixing codec"; format version 3):
its payloads against the second decoder written from the document, its bound, the frame flag
and codec byte that name it, which files may hold it, and damage."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest
import reference_decoder as ref
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_reference_decoder import assert_same, header_bytes

import hippo_cli
import naive
from hippo_cli.codec import HippoHeader, HippoReader, HippoWriter, huffman, mixing
from hippo_cli.codec.channel import ChannelDecoder
from hippo_cli.codec.parts import CODER_GRID, CODER_MIXING, RUN_GRIDS, ChannelCoder
from hippo_cli.errors import HippoError


def _levels(n: int, seed: int) -> np.ndarray:
    """A series that revisits a few levels in a repeating order, with noise within the bound:
    what the mixing codec is for (exact previous grid values predict the next)."""
    rng = np.random.default_rng(seed)
    pattern = rng.integers(0, 12, 40)
    return pattern[np.arange(n) % 40] + rng.uniform(-0.45, 0.45, n)


def _payload_codecs(data: bytes) -> list[int]:
    """The codec byte of every frame of a single-channel, untimed file of finite values of
    format version 3 or 4 (one frame)."""
    h = ref.Header(data)
    if h.version == 4:  # header, samples, payload, CRC-32
        payload = ref.one_frame(data, h)[1]
        assert payload[0] & 0x20 and not payload[0] & 0x10
        return [payload[1]]
    pos, out = h.size, []
    while pos < len(data) and data[pos] != 0:
        r = ref.Reader(data, pos)
        r.varint(2**20)  # the samples
        length = r.varint(2**27)
        payload = data[r.pos + 4:r.pos + 4 + length]
        assert payload[0] & 0x20, "a frame of level best names its channels' codecs"
        out.append(payload[1])  # no runs of non-finite values in these files
        assert not payload[0] & 0x10
        pos = r.pos + 4 + length
    return out


def test_the_mixing_codec_is_chosen_where_levels_repeat_and_wins():
    x = _levels(30000, 1)
    default = hippo_cli.encode(x, 0.5)
    best = hippo_cli.encode(x, 0.5, level="best")
    assert best[4] == 4 and default[4] == 2  # the version byte (4: one frame, "Version 4")
    assert _payload_codecs(best) == [1]
    assert len(best) < 0.8 * len(default)
    got, _ = assert_same(best)  # the second decoder, from the document alone
    assert np.all(np.abs(got[:, 0] - x) <= 0.5)


def _stepped() -> tuple[np.ndarray, float]:
    """Levels held for 50 samples with noise, and a bound of 5% of the range."""
    rng = np.random.default_rng(0)
    x = np.repeat(rng.integers(0, 8, 400), 50).astype(float) + 0.3 * rng.standard_normal(20000)
    return x, 0.05 * float(np.ptp(x))


def test_at_a_coarse_bound_the_mixing_codec_models_held_indices_on_the_eps_grid():
    """Levels with noise at 5% of the range: each index held on the eps grid while it stays
    within the bound (grid 1) makes runs the models learn; level best tries it first (the
    Huffman codec's costing prefers it), it is shorter than the nearest indices on the 2 eps
    grid, and the second decoder decodes it alike. (Level best keeps the grid codec's own
    values here: the next test.)"""
    x, eps = _stepped()
    assert huffman.shortest(x, eps)[2:] == (1, True)  # level best's first mixing candidate
    held = mixing.encode(x, eps, 1, hold=True)
    nearest = mixing.encode(x, eps, 0)
    assert len(held) < len(nearest)
    got = mixing.decode(held, len(x), eps, 1)
    assert np.all(np.abs(got - x) <= eps)
    assert ref.decode_mixing(held, len(x), eps, 1) == got.view(np.uint64).tolist()
    q = mixing.held_indices(x, eps, 1)
    assert np.all(np.abs(q * eps - x) <= eps)  # the E grid, every index within the bound

    def runs(idx: np.ndarray) -> float:
        return float(np.mean(np.diff(idx) == 0))

    # held: more repeats than the nearest indices on either grid (0.76 against 0.39, 0.61)
    assert runs(q) > max(runs(mixing.grid_indices(x, eps, 1)), runs(mixing.grid_indices(x, eps, 0)))


def _grid_values(coder: ChannelCoder, x: np.ndarray, eps: float, chain=None) -> list:
    """The values of each of level best's grid searches of x (their payloads decoded)."""
    out = []
    for enc in coder.encoders(eps):
        enc.start(chain)
        enc.push(x)
        payload, _ = enc.flush_state()
        out.append(ChannelDecoder(eps).decode_state(payload, len(x), None, chain)[0])
    return out


def test_level_best_keeps_the_grid_codecs_own_values_where_they_are_shorter(monkeypatch):
    """The second mixing candidate: the grid codec's own values (within the bound it held
    levels and followed lines), on the coarsest grid that holds them all. Here it is shorter
    than the held indices of the eps grid; the file decodes to those values bit for bit, by
    both decoders."""
    x, eps = _stepped()
    best = hippo_cli.encode(x, eps, level="best")
    ys = _grid_values(ChannelCoder("best"), x, eps)
    got, _ = assert_same(best)
    y = next(y for y in ys if np.array_equal(got[:, 0], y))  # one search's values, exactly
    lm, q = naive.own_grid(y.tolist(), eps)
    assert lm == 2  # off the 2 eps and the eps grid: not what the first candidate codes
    assert _payload_codecs(best) == [1 + lm]
    assert np.all(np.abs(got[:, 0] - x) <= eps)
    monkeypatch.setattr(ChannelCoder, "_own_values", lambda *args: None)
    without = hippo_cli.encode(x, eps, level="best")
    assert _payload_codecs(without) == [2]  # the held indices on the eps grid, as before
    assert len(best) < len(without) - 20


def test_the_grid_codecs_own_values_continue_a_chain():
    """In a chained frame the grid codec's values are those decoded from the frame before's
    state: the own-values candidate decodes them with it."""
    x, eps = _stepped()
    coder = ChannelCoder("best")
    ramp = np.linspace(0.0, 7.0, 5000)  # the grid codec's line: kept, and its state passed on
    body, state = coder.encode_part(ramp, eps, None, coders=True)
    assert body[0] == CODER_GRID and state is not None
    body, _ = coder.encode_part(x, eps, None, coders=True, chain=state)
    got, _ = coder.decode_part(body, len(x), eps, False, coders=True, chain=state)
    ys = _grid_values(coder, x, eps, chain=state)
    assert any(np.array_equal(got, y) for y in ys)
    assert body[0] == CODER_MIXING + naive.own_grid(got.tolist(), eps)[0]
    assert np.all(np.abs(got - x) <= eps)


@settings(max_examples=60, deadline=None)
@given(q=st.lists(st.integers(-(2**40), 2**40), min_size=1, max_size=60), lm=st.integers(0, 3),
       eps=st.sampled_from([1e-3, 0.5, 7.0, 1e200]), off=st.integers(-1, 59))
def test_own_grid_is_the_coarsest_grid_that_holds_every_value(q, lm, eps, off):
    step = (2.0 * eps) / (1 << lm)
    y = np.array(q, np.int64).astype(np.float64) * step
    if 0 <= off < len(y):
        y[off] += step / 3  # on none of the grids, as a rule
    got, want = mixing.own_grid(y, eps), naive.own_grid(y.tolist(), eps)
    if want is None:
        assert got is None
    else:
        assert got[0] == want[0] and got[1].tolist() == want[1]
    if not 0 <= off < len(y):
        assert want is not None and want[0] <= lm


def _quiet_walk(seed: int = 2) -> np.ndarray:
    """A heavy-tailed walk that moves little against a bound of 1, with noise of +-0.6: the
    kind of series (a price at a coarse bound) where few levels, held long, are the file."""
    rng = np.random.default_rng(seed)
    return np.cumsum(rng.standard_t(2, 20000)) * 0.003 + rng.uniform(-0.6, 0.6, 20000)


def test_level_best_keeps_the_run_levels_where_they_are_shorter(monkeypatch):
    """The run-level candidates: the fewest runs one level holds within the bound, each level
    on the coarsest grid its run allows. Here they are shorter than every other candidate;
    the file decodes to those levels bit for bit, by both decoders."""
    x, eps = _quiet_walk(), 1.0
    best = hippo_cli.encode(x, eps, level="best")
    got, _ = assert_same(best)
    (codec,) = _payload_codecs(best)
    lm = codec - CODER_MIXING
    assert lm in RUN_GRIDS
    step = 2 * eps / 2**lm
    want = np.array(naive.run_levels(x.tolist(), eps, lm), np.int64).astype(float) * step
    assert np.array_equal(got[:, 0], want)
    assert np.all(np.abs(got[:, 0] - x) <= eps)
    monkeypatch.setattr(ChannelCoder, "_run_levels", lambda *args: None)
    without = hippo_cli.encode(x, eps, level="best")
    assert len(best) < len(without) - 5


def test_the_run_level_candidates_keep_the_shortest_and_only_below_the_limit():
    """_run_levels codes the run levels of each grid of RUN_GRIDS and returns the shortest,
    if shorter than both the grid codec's payload and the mixing payload so far."""
    x, eps = _quiet_walk(1), 1.0
    sizes = {lm: len(mixing.encode(x, eps, lm, indices=mixing.run_levels(x, eps, lm)))
             for lm in RUN_GRIDS}
    shortest = min(sizes, key=lambda lm: (sizes[lm], lm))
    no_marks = np.zeros(5, np.int64)
    got = ChannelCoder._run_levels(ChannelCoder("best"), x, eps, bytes(10**6), None, no_marks)
    assert got is not None and got[1] == shortest and len(got[0]) == sizes[shortest]
    assert np.array_equal(mixing.decode(got[0], len(x), eps, shortest),
                          mixing.run_levels(x, eps, shortest) * (2 * eps / 2**shortest))
    tight = bytes(sizes[shortest])  # as long as the shortest: not shorter, so none
    assert ChannelCoder._run_levels(ChannelCoder("best"), x, eps, tight, None, no_marks) is None
    assert ChannelCoder._run_levels(ChannelCoder("best"), x, eps, bytes(10**6), tight,
                                    no_marks) is None


def test_the_finer_run_levels_are_not_tried_where_the_coarser_fell_far_behind(monkeypatch):
    """Noisy levels, where the nearest indices win: the first grid's run levels are stopped
    at a mark, and the second grid's are then not coded at all; where the first grid's end
    close (coded past half the samples), the second grid's are tried."""
    calls = []
    real = ChannelCoder._candidate

    def spy(x, eps, lm, q, grid, mixed, marks):
        out = real(x, eps, lm, q, grid, mixed, marks)
        calls.append((lm, out[1]))
        return out

    monkeypatch.setattr(ChannelCoder, "_candidate", staticmethod(spy))
    coder, x, eps = ChannelCoder("best"), _levels(20000, 3), 0.5
    coder.encode_part(x, eps, None, coders=True)
    assert calls[-1][0] == RUN_GRIDS[0] and calls[-1][1] <= len(x) // 2  # the last one
    calls.clear()
    coder.encode_part(_quiet_walk(), 1.0, None, coders=True)
    assert [lm for lm, _ in calls][-2:] == list(RUN_GRIDS)


def test_in_a_chained_stream_the_mixing_codec_must_save_more_than_the_chain(monkeypatch):
    """A part that keeps the mixing codec ends its stream's chain (the next frame's grid
    codec starts anew): in a chained stream level best keeps it only where it saves more
    than the chain is worth (_chain_worth). Unchained, the shorter payload is kept."""
    coder, x = ChannelCoder("best"), _quiet_walk()
    body, state = coder.encode_part(x, 1.0, None, coders=True)
    assert body[0] != CODER_GRID and state is None  # the mixing codec, shorter here
    monkeypatch.setattr(ChannelCoder, "_chain_worth", lambda *args: 10**6)
    assert coder.encode_part(x, 1.0, None, coders=True)[0] == body  # not chained: as before
    body, state = coder.encode_part(x, 1.0, None, coders=True, chained=True)
    assert body[0] == CODER_GRID and state is not None
    monkeypatch.setattr(ChannelCoder, "_chain_worth", lambda *args: 0)
    assert coder.encode_part(x, 1.0, None, coders=True, chained=True)[0][0] != CODER_GRID


def test_a_chain_is_worth_what_the_warm_grid_codec_saves():
    """_chain_worth: the grid codec's bytes saved by continuing a state, on the part itself
    (a chain given) or on its second half continuing its first (none): positive on a
    stationary noisy series, where the model learnt on the samples before pays."""
    coder, eps = ChannelCoder("best"), 0.5
    x = _levels(8192, 7)
    worth = coder._chain_worth(x, eps, None, 0)
    _, chain = coder._grid_part(x[:4096], eps, None)
    warm = len(coder._grid_part(x[4096:], eps, chain)[0])
    assert worth == coder._chain_worth(x[4096:], eps, chain, warm) > 0
    assert coder._chain_worth(x[:1], eps, None, 0) == 0


def _stream_codecs(x: np.ndarray, path) -> tuple[bytes, list[list[str]]]:
    """A chained stream of level best of ``x`` (bound 1), flushed every 4096 samples: its
    bytes and each frame's part codecs."""
    with HippoWriter(path, HippoHeader(["value"], [1.0]), frame_samples=4096, level="best",
                     key_every=1 << 20) as w:
        for i in range(0, len(x), 4096):
            w.append(x[i:i + 4096, None])
            w.flush()
    data = path.read_bytes()
    with HippoReader(io.BytesIO(data), "s") as r:
        return data, [r.part_codecs(f) for f in r.index]


def test_a_chained_writer_passes_its_chain_on(monkeypatch, tmp_path):
    """HippoWriter with key_every codes its parts as chained: with a chain worth more than
    any saving, level best keeps the grid codec in every frame (and both decoders agree);
    with a chain worth nothing, the mixing codec where it is shorter."""
    x = _quiet_walk()
    monkeypatch.setattr(ChannelCoder, "_chain_worth", lambda *args: 10**6)
    data, codecs = _stream_codecs(x, tmp_path / "kept.hippo")
    got, _ = assert_same(data)
    assert np.all(np.abs(got[:, 0] - x) <= 1.0)
    assert codecs == [["grid"]] * 5
    monkeypatch.setattr(ChannelCoder, "_chain_worth", lambda *args: 0)
    assert ["mixing"] in _stream_codecs(x, tmp_path / "ended.hippo")[1]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=st.lists(st.integers(-40, 40), min_size=1, max_size=80),
       jitter=st.lists(st.sampled_from([0.0, 1.0, -1.0, 0.5, 1 / 3, -0.999]), min_size=1,
                       max_size=80),
       lm=st.integers(0, 3), eps=st.sampled_from([1e-3, 0.5, 7.0, 3e5]),
       unit=st.sampled_from([0.05, 0.25, 1.0]))
def test_run_levels_against_the_obvious_way(steps, jitter, lm, eps, unit):
    """mixing.run_levels (a kernel) against naive.run_levels, one sample at a time: values at
    and next to the bound's edges (jitter of +-1 eps exactly), on the grids and off them. A
    value halfway between two indices may be within eps of neither (the multiply rounds):
    then None, from both."""
    walk = np.cumsum(np.array(steps, float)) * unit * eps
    x = walk + np.resize(np.array(jitter), len(walk)) * eps
    got, want = mixing.run_levels(x, eps, lm), naive.run_levels(x.tolist(), eps, lm)
    if want is None:
        assert got is None
        return
    assert got is not None and got.tolist() == want
    assert np.all(np.abs(got.astype(float) * (2 * eps / 2**lm) - x) <= eps)


def test_run_levels_where_a_value_admits_no_index():
    """0.007 on the grid of step 0.002 (eps 0.001): both neighbours are a rounding over eps
    away, so the 2 eps grid has no run levels (None); the eps / 2 grid has."""
    x = np.array([0.007, 0.017])
    assert mixing.run_levels(x, 0.001, 0) is None
    assert naive.run_levels(x.tolist(), 0.001, 0) is None
    got = mixing.run_levels(x, 0.001, 2)
    assert got is not None and got.tolist() == naive.run_levels(x.tolist(), 0.001, 2)


def test_run_levels_of_a_value_without_an_index():
    """No index below 2^54 (a huge value for the bound, NaN, infinity): None, and level best
    keeps its other candidates."""
    for bad in (1e300, np.nan, np.inf):
        assert mixing.run_levels(np.array([0.0, bad, 1.0]), 0.5, 2) is None
    x = np.concatenate([_quiet_walk()[:3000], [1e17]])
    got, _ = assert_same(hippo_cli.encode(x, 1.0, level="best"))
    assert np.all(np.abs(got[:, 0] - x) <= 1.0)


def test_given_indices_are_coded_only_within_the_bound():
    x = _levels(5000, 5)
    eps, lm = 0.5, 2
    step = 2 * eps / 4
    q = mixing.grid_indices(x, eps, lm)
    up = np.abs((q + 1) * step - x) <= eps
    alt = np.where(up & (np.arange(len(x)) % 3 == 0), q + 1, q)  # not the nearest, within it
    assert not np.array_equal(alt, q)
    payload = mixing.encode(x, eps, lm, indices=alt)
    assert mixing.decode(payload, len(x), eps, lm).tolist() == (alt * step).tolist()
    bad = alt.copy()
    bad[100] += 5
    assert mixing.encode(x, eps, lm, indices=bad) is None
    assert mixing.encode(x, eps, lm, indices=alt[:-1]) is None
    huge = np.full(3, np.iinfo(np.int64).min)  # |index| overflows: beyond the codec's range
    assert mixing.encode(huge.astype(np.float64) * step, eps, lm, indices=huge) is None


def test_the_first_candidates_marks_and_a_stop_at_them():
    n, eps = 30000, 0.5
    x = np.cumsum(np.random.default_rng(4).standard_normal(n))  # about as many bytes a sample
    marks = np.zeros(5, np.int64)
    whole = mixing.encode(x, eps, marks=marks, pace=1)
    assert marks[3] == n and marks[4] == len(whole)
    assert 0 < marks[0] < marks[1] < marks[2] < marks[4]
    assert marks[0] * 8 == pytest.approx(marks[2] * 2, rel=0.2)  # bytes in proportion
    stops = marks.copy()
    stops[3:] = 0
    assert mixing.encode(x, eps, marks=stops, pace=2) == whole  # at the bytes: no stop
    assert stops[3] == n and stops[4] == len(whole)  # where it ended, for either pace
    for k in range(3):
        early = stops.copy()
        early[3:] = 0
        early[k] -= 1
        assert mixing.encode(x, eps, marks=early, pace=2) is None
        assert early[3] == n >> (3 - k) and early[4] == marks[k]  # stopped at mark k
    marks[:] = 0  # stopped by its limit: where
    assert mixing.encode(x, eps, shorter_than=len(whole) // 2, marks=marks, pace=1) is None
    assert n // 3 < marks[3] < 2 * n // 3 and marks[4] > len(whole) // 2


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(q=st.lists(st.one_of(st.integers(-40, 40), st.integers(-(2**53) + 1, 2**53 - 1)),
                  min_size=1, max_size=200),
       lm=st.integers(0, 3), eps=st.sampled_from([1e-3, 0.5, 7.0]))
def test_payload_round_trip_against_the_second_decoder(q, lm, eps):
    # samples exactly on the grid: the payload's indices are these, whatever their jumps
    step = (2.0 * eps) / (1 << lm)
    x = np.array(q, np.int64).astype(np.float64) * step
    payload = mixing.encode(x, eps, lm)
    assert payload is not None
    y = mixing.decode(payload, len(x), eps, lm)
    assert np.array_equal(y, x)
    assert ref.decode_mixing(payload, len(x), eps, lm) == y.view(np.uint64).tolist()


def test_unary_and_direct_bits_at_their_limits():
    eps = 0.5
    q = np.array([2**56 - 1, -(2**56) + 1, 0, 17, 2**20, 3, 3, 3], np.int64)
    # indices reaching 2^56 are outside what the encoder may write: it declines
    assert mixing.encode(q.astype(np.float64), eps) is None
    q[:2] = [2**53 - 1, -(2**53) + 1]  # a jump of 2^54: 50 direct bits
    x = q.astype(np.float64)
    payload = mixing.encode(x, eps)
    assert mixing.decode(payload, len(x), eps).tolist() == x.tolist()
    assert ref.decode_mixing(payload, len(x), eps, 0) == x.view(np.uint64).tolist()


@pytest.mark.parametrize("cut", [1, 2, 5])
def test_a_cut_payload_is_rejected_by_both_decoders(cut):
    x = _levels(3000, 2)
    payload = mixing.encode(x, 0.5)
    for bad in (payload[:-cut], payload + b"\x00" * (4 + cut)):
        with pytest.raises(ValueError):
            mixing.decode(bad, len(x), 0.5)
        with pytest.raises(ValueError):
            ref.decode_mixing(bad, len(x), 0.5, 0)


def test_damage_at_any_byte_of_a_best_file_is_detected():
    data = hippo_cli.encode(_levels(2000, 3), 0.5, level="best")
    for i in range(len(data)):
        bad = bytearray(data)
        bad[i] ^= 0x41
        with pytest.raises(HippoError):
            hippo_cli.decode(bytes(bad))


def _frame(n: int, payload: bytes) -> bytes:
    from hippo_cli.codec.parts import varint

    heads = varint(n) + varint(len(payload))
    return heads + struct.pack("<I", zlib.crc32(heads + payload)) + payload


@pytest.mark.parametrize("version, codec, ok", [(3, 1, True), (3, 4, True), (2, 1, False),
                                                (3, 5, False), (3, 0, True)])
def test_the_coders_flag_and_codec_byte(version, codec, ok):
    x = _levels(500, 4)
    lm = max(codec - 1, 0)
    body = mixing.encode(x, 0.5, lm) if codec else _grid_payload(x, 0.5)
    data = header_bytes(version, 0, ["x"], [0.5]) + _frame(len(x), bytes([0x20, codec]) + body)
    if ok:
        got, _ = assert_same(data)
        assert np.all(np.abs(got[:, 0] - x) <= 0.5)
        return
    with pytest.raises(HippoError):
        hippo_cli.decode(data)
    with pytest.raises(ValueError):
        ref.decode(data)


def _grid_payload(x: np.ndarray, eps: float) -> bytes:
    from hippo_cli.codec.channel import ChannelEncoder

    enc = ChannelEncoder(eps)
    enc.push(x)
    return enc.flush()


def test_a_bound_of_zero_has_no_mixing_codec():
    x = np.arange(10.0)
    from hippo_cli.codec.exact import ExactEncoder

    enc = ExactEncoder()
    enc.push(x)
    body = enc.flush()
    for codec, ok in ((0, True), (1, False)):
        data = header_bytes(3, 0, ["x"], [0.0]) + _frame(len(x), bytes([0x20, codec]) + body)
        if ok:
            assert_same(data)
        else:
            with pytest.raises(HippoError):
                hippo_cli.decode(data)
            with pytest.raises(ValueError):
                ref.decode(data)


def test_best_appending_to_a_version_2_file_keeps_version_2(tmp_path):
    x = _levels(6000, 5)
    path = tmp_path / "a.hippo"
    header = HippoHeader(["x"], [0.5])
    with HippoWriter(path, header) as w:  # default level: version 2
        w.append(x[:3000])
    with HippoWriter(path, header, append=True, level="best") as w:
        assert not w.coders
        w.append(x[3000:])
    data = path.read_bytes()
    assert data[4] == 2
    got, _ = assert_same(data)
    assert np.all(np.abs(got[:, 0] - x) <= 0.5)
    # a new file of level best is version 3, and a best writer continuing it uses the codec
    path3 = tmp_path / "b.hippo"
    with HippoWriter(path3, header, level="best") as w:
        w.append(x[:3000])
    with HippoWriter(path3, header, append=True, level="best") as w:
        assert w.coders
        w.append(x[3000:])
    data = path3.read_bytes()
    assert data[4] == 3
    got, _ = assert_same(data)
    assert np.all(np.abs(got[:, 0] - x) <= 0.5)


def test_many_channels_threads_and_specials_same_bytes():
    rng = np.random.default_rng(6)
    x = np.stack([_levels(5000, s) for s in range(5)], axis=1)
    x[rng.integers(0, 5000, 40), rng.integers(0, 5, 40)] = np.nan
    blobs = [hippo_cli.encode(x, 0.5, level="best", threads=t, frame_samples=1700)
             for t in (1, 2, 3)]
    assert blobs[0] == blobs[1] == blobs[2]
    got, _ = assert_same(blobs[0])
    fin = np.isfinite(x)
    assert np.array_equal(np.isnan(got), ~fin)
    assert np.all(np.abs(got[fin] - x[fin]) <= 0.5)


def test_the_tables_are_the_documents():
    # the library's squash, stretch and rate tables against the second decoder's, which are
    # built from the definitions in docs/format.md
    from hippo_cli.codec import _kernels as K

    sq, st_, rec = K.mixing_tables()
    assert [int(sq[d + 2047]) for d in range(-2047, 2048)] == [ref._SQ[d]
                                                               for d in range(-2047, 2048)]
    assert st_.tolist() == ref._ST
    assert rec.tolist() == ref._REC


def test_repeats_are_found_by_the_match_model_and_glitches_end_a_match():
    # a periodic signal (its repeats exact on the grid) with glitches that break the matches
    rng = np.random.default_rng(8)
    x = np.sin(2 * np.pi * np.arange(20000) / 97)
    x[rng.integers(0, 20000, 30)] += 0.5
    eps = 0.01
    best = hippo_cli.encode(x, eps, level="best")
    assert _payload_codecs(best) == [1]
    # once the period is known, a sample costs far less than a bit
    assert len(best) * 8 < 0.2 * len(x)
    got, _ = assert_same(best)
    assert np.all(np.abs(got[:, 0] - x) <= eps)


def test_codec_bytes_only_in_frames_that_keep_the_mixing_codec():
    # frames alternate between a series the grid codec codes best (a slow ramp) and one the
    # mixing codec does (repeated levels): only the latter carry the flag and the bytes
    x = np.concatenate([np.linspace(0, 100, 3000), _levels(3000, 9), np.linspace(0, 50, 3000)])
    data = hippo_cli.encode(x, 0.5, level="best", frame_samples=3000, threads=1)
    h = ref.Header(data)
    pos, flags = h.size, []
    while data[pos] != 0:
        r = ref.Reader(data, pos)
        r.varint(2**20)
        length = r.varint(2**27)
        flags.append(data[r.pos + 4] & 0x20)
        pos = r.pos + 4 + length
    assert flags == [0, 0x20, 0]
    assert len(data) <= len(hippo_cli.encode(x, 0.5, frame_samples=3000, threads=1))
    got, _ = assert_same(data)
    assert np.all(np.abs(got[:, 0] - x) <= 0.5)
