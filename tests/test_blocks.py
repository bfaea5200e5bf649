"""The block engine (hippo_cli.engine.blocks) against the per-sample kernels and the naive
dense reference: every block length, chunking, channel count, reset and resume."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import naive
from helpers import rel_err
from hippo_cli import DataError, HiPPO, NumericalWarning
from hippo_cli.engine import blocks

ORDERS = [1, 2, 16, 64, 256]
LENGTHS = [1, 7, 64, 1000, 4096]
KW = {"legt": {"theta": 100.0}, "lagt": {"dt": 0.05}, "lmu": {"theta": 80.0},
      "fout": {"theta": 60.0}, "foud": {"dt": 0.02}, "legsd": {"dt": 0.02},
      "tlagt": {"dt": 0.05}, "glagt": {"dt": 0.05}}


def _spy(monkeypatch, name: str) -> list:
    """Record the samples of each call of ``blocks.<name>`` (a run of the block engine)."""
    calls = []
    run = getattr(blocks, name)

    def spy(*args):
        calls.append(args[1].shape[0])
        return run(*args)

    monkeypatch.setattr(blocks, name, spy)
    return calls


@pytest.fixture
def engine(monkeypatch):
    """Switch the block engine: ``engine(True)`` takes it for every T, ``engine(False)``
    never; a counter of the block runs is returned."""
    calls = _spy(monkeypatch, "run_blocks")

    def switch(on: bool) -> list:
        monkeypatch.setattr(blocks, "ENABLED", on)
        monkeypatch.setattr(blocks, "BLOCK_MIN", 1 if on else 1 << 70)
        monkeypatch.setattr(blocks, "BLOCK_MIN_WORK", 1)
        monkeypatch.setattr(blocks, "BLOCK_MIN_WORK_FAST", 1)
        calls.clear()
        return calls

    return switch


def _signal(L, C=3, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(L)[:, None]
    return np.sin(t / (17.0 + np.arange(C))) + 0.3 * rng.standard_normal((L, C))


def _chunked(enc, x, every, cuts):
    bounds = [0, *sorted(cuts), len(x)]
    rows = [enc.update(x[a:b], every=every) for a, b in zip(bounds[:-1], bounds[1:])]
    return np.concatenate(rows), enc.state


def _length(T):
    return 4 * T + 37 if T >= 64 else 300


def _cuts(rng, T, L):
    """Random chunk bounds, one chunk starting mid-block and holding a full block."""
    a = int(rng.integers(1, T + 1))
    b = a + 2 * T + int(rng.integers(0, T))
    return [a, b, *rng.choice(np.arange(b + 1, L), size=min(3, L - b - 1), replace=False)]


def test_operators_match_a_sequential_build():
    rng = np.random.default_rng(3)
    for measure, N in [("legt", 16), ("lagt", 64), ("legt", 64), ("lmu", 7)]:
        A, B = naive.transition(measure, N) if measure != "lmu" else naive.EXTRA["lmu"](N, 0,
                                                                                       None)
        Ad, Bd = naive.discretize(A, B, 0.02, "bilinear")
        for T in (1, 2, 3, 7, 64, 1000):
            AdT, K = blocks.build_operators(Ad, Bd, T)
            want = np.empty((N, T))
            v = Bd.copy()
            P = np.eye(N)
            for j in range(T):
                want[:, T - 1 - j] = v
                v = Ad @ v
                P = Ad @ P
            assert rel_err(K, want) <= 1e-10
            # Abar^T may have decayed far below 1: what matters is its error against the
            # state it propagates (of order 1)
            assert np.max(np.abs(AdT - P)) <= 1e-12 * max(1.0, np.max(np.abs(P)))
            # one block of K equals T sequential steps
            c0, f = rng.standard_normal(N), rng.standard_normal(T)
            c = c0.copy()
            for fk in f:
                c = Ad @ c + Bd * fk
            assert rel_err(AdT @ c0 + K @ f, c) <= 1e-10


@pytest.mark.parametrize("T", LENGTHS)
@pytest.mark.parametrize("N", ORDERS)
@pytest.mark.parametrize("measure", ["legt", "lagt"])
def test_block_path_equals_per_sample_path(engine, measure, N, T):
    L = _length(T)
    x = _signal(L, 3, seed=N + T)
    rng = np.random.default_rng(N * 7 + T)
    cuts = _cuts(rng, T, L)
    engine(False)
    want, want_state = _chunked(HiPPO(measure, N, **KW[measure]), x, T, cuts)
    calls = engine(True)
    got, got_state = _chunked(HiPPO(measure, N, **KW[measure]), x, T, cuts)
    assert calls, "the block engine did not run"
    assert got.shape == want.shape == (L // T, 3, N)
    assert rel_err(got, want) <= 1e-10
    assert rel_err(got_state, want_state) <= 1e-10
    # one channel (its own code path) and one chunk
    engine(False)
    want1 = HiPPO(measure, N, **KW[measure]).update(x[:, 1], every=T)
    engine(True)
    assert rel_err(HiPPO(measure, N, **KW[measure]).update(x[:, 1], every=T), want1) <= 1e-10


@pytest.mark.parametrize("measure", sorted(KW))
@pytest.mark.parametrize("method", ["bilinear", "zoh", "backward"])
def test_every_time_invariant_measure(engine, measure, method):
    x = _signal(700, 2, seed=5)
    engine(False)
    want, st = _chunked(HiPPO(measure, 12, method=method, **KW[measure]), x, 50, [33, 400])
    calls = engine(True)
    got, got_st = _chunked(HiPPO(measure, 12, method=method, **KW[measure]), x, 50, [33, 400])
    assert calls
    assert rel_err(got, want) <= 1e-10 and rel_err(got_st, st) <= 1e-10


@pytest.mark.parametrize("N", ORDERS)
@pytest.mark.parametrize("measure", ["legt", "lagt"])
@pytest.mark.parametrize("init", ["zero", "steady"])
@pytest.mark.parametrize("method", ["bilinear", "zoh"])
def test_block_path_equals_naive_reference(engine, measure, N, init, method):
    u = _signal(450, 1, seed=N)[:, 0]
    h = 1 / KW["legt"]["theta"] if measure == "legt" else KW["lagt"]["dt"]
    full = naive.lti_run(measure, N, h, method, u, init=init)
    calls = engine(True)
    for every in (7, 64):
        enc = HiPPO(measure, N, method=method, init=init, **KW[measure])
        got = np.concatenate([enc.update(u[a:b], every=every)
                              for a, b in [(0, 5), (5, 200), (200, 450)]])
        steps = HiPPO.emitted_steps(0, len(u), every)
        assert rel_err(got, full[steps]) <= 1e-10
        assert rel_err(enc.state, full[-1]) <= 1e-10
    assert calls


@pytest.mark.parametrize("T", [7, 64, 1000])
@pytest.mark.parametrize("blocks_of", [1, 2])
@pytest.mark.parametrize("init", ["zero", "steady"])
def test_reset_every_and_steady_init(engine, T, blocks_of, init):
    x = _signal(4 * T + 11, 3, seed=T)
    cuts = [T // 2, 2 * T + 3]
    kw = {"theta": 100.0, "init": init, "reset_every": blocks_of * T}
    engine(False)
    want, st = _chunked(HiPPO("legt", 16, **kw), x, T, cuts)
    calls = engine(True)
    got, got_st = _chunked(HiPPO("legt", 16, **kw), x, T, cuts)
    assert calls
    assert rel_err(got, want) <= 1e-10 and rel_err(got_st, st) <= 1e-10


@pytest.mark.parametrize("measure", ["legt", "lagt"])
def test_snapshot_restore_and_save_load_mid_block(engine, measure, tmp_path):
    T, N = 64, 16
    x = _signal(10 * T + 5, 3, seed=9)
    engine(False)
    want = HiPPO(measure, N, **KW[measure]).update(x, every=T)
    calls = engine(True)
    enc = HiPPO(measure, N, **KW[measure])
    a = enc.update(x[:3 * T + 20], every=T)  # ends mid-block
    snap = enc.snapshot()
    enc.save(tmp_path / "s.npz")
    twin = HiPPO(measure, N, **KW[measure])
    twin.restore(snap)
    b = twin.update(x[3 * T + 20:], every=T)
    c = HiPPO.load(tmp_path / "s.npz").update(x[3 * T + 20:], every=T)
    assert calls
    assert rel_err(np.concatenate([a, b]), want) <= 1e-10
    np.testing.assert_array_equal(b, c)


def test_default_rule_takes_long_blocks_only():
    calls = []
    run = blocks.run_blocks
    x = _signal(5000, 1, seed=2)[:, 0]
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(blocks, "run_blocks", lambda *a: calls.append(1) or run(*a))
        if not blocks.ENABLED:  # switched off: never
            HiPPO("legt", 64, theta=100).update(x, every=1000)
            assert not calls
        mp.setattr(blocks, "ENABLED", True)
        HiPPO("legt", 64, theta=100).update(x, every=1)
        HiPPO("legt", 64, theta=100).update(x, every=8)
        HiPPO("legs", 64).update(x, every=1000)
        HiPPO("legt", 64, theta=100).update(x[:500], every=1000)  # no full block
        HiPPO("legt", 64, theta=100).update(x, every=1000, times=np.arange(5000.0))
        assert not calls
        HiPPO("legt", 64, theta=100).update(x, every=1000)
        HiPPO("lagt", 64, dt=0.05).update(x, every=1000)
        assert len(calls) == 2


def test_block_length_rule(monkeypatch):
    monkeypatch.setattr(blocks, "ENABLED", True)
    assert blocks.block_length(1, 64) == 0
    assert blocks.block_length(63, 64) == 0
    assert blocks.block_length(64, 64) == 64
    assert blocks.block_length(64, 4) == 0  # small N: the per-sample kernels are faster
    assert blocks.block_length(64, 64, fast_kernel=True) == 64
    assert blocks.block_length(64, 16, fast_kernel=True) == 0
    assert blocks.block_length(1000, 2048) == 0  # beyond the dense limit
    high = blocks.BLOCK_MAX_BYTES // (8 * 1024)
    assert blocks.block_length(3 * high, 1024) == high  # K stays bounded: a divisor
    assert blocks.block_length(10 ** 9 + 7, 64) == 0  # a large prime: no divisor in range
    T = blocks.block_length(10 ** 8, 256)
    assert T and 10 ** 8 % T == 0 and T * 256 * 8 <= blocks.BLOCK_MAX_BYTES


def test_every_a_multiple_of_the_block(engine, monkeypatch):
    monkeypatch.setattr(blocks, "BLOCK_MAX_BYTES", 8 * 16 * 50)  # T <= 50 at N = 16
    x = _signal(1234, 2, seed=4)
    engine(False)
    want, st = _chunked(HiPPO("legt", 16, theta=100), x, 150, [77, 700])
    calls = engine(True)
    got, got_st = _chunked(HiPPO("legt", 16, theta=100), x, 150, [77, 700])
    assert calls
    assert rel_err(got, want) <= 1e-10 and rel_err(got_st, st) <= 1e-10


def test_unstable_system_overflows_as_before(engine):
    engine(True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NumericalWarning)
        enc = HiPPO("lagt", 8, dt=5.0, method="forward", init="zero")
    with pytest.raises(DataError, match="overflowed"):
        enc.update(np.ones(9000), every=4096)
    assert enc.steps == 0


def test_operator_cache_is_an_lru(monkeypatch):
    monkeypatch.setattr(blocks, "CACHE_SIZE", 3)
    builds = []

    def system():
        builds.append(1)
        return 0.5 * np.eye(2), np.ones(2)

    first = blocks.operators("test-lru-0", 64, system)
    assert blocks.operators("test-lru-0", 64, system) is first and len(builds) == 1
    for i in (1, 2, 3):
        blocks.operators(f"test-lru-{i}", 64, system)
    again = blocks.operators("test-lru-0", 64, system)  # evicted: rebuilt, equal
    assert again is not first and len(builds) == 5
    np.testing.assert_array_equal(again[1], first[1])
    np.testing.assert_allclose(first[0], 0.5 ** 64 * np.eye(2), rtol=1e-15)


# ------------------------------------------------------------------ LegS exact projection
@pytest.fixture
def legs_spy(monkeypatch):
    return _spy(monkeypatch, "run_legs_blocks")


def test_legs_moment_matrix_is_the_exact_projection_of_one_block():
    # the moments of a block are the exact LegS projection after its last sample
    rng = np.random.default_rng(1)
    for N, T in [(1, 1), (2, 3), (16, 64), (64, 1000), (256, 333), (256, 2000)]:
        f = rng.standard_normal(T)
        assert rel_err(f @ blocks.legs_moment_matrix(N, T),
                       naive.legs_projection(N, f, T)) <= 1e-12


# N = 256 with long blocks is slow even on an idle machine (5-10 s each): the partial first
# block runs the per-sample exact kernel over steps 1..T, whose Taylor substeps grow as
# ||A||_1 ln T (||A||_1 = 41285 at N = 256), for two channels and the one-channel twin. The
# quick suite keeps N = 256 with T <= 64, T >= 1000 with N <= 64, and the moments of a
# 2000-sample block at N = 256 (above); the full suite runs them all.
LEGS_CASES = [pytest.param(N, T, marks=pytest.mark.slow) if N == 256 and T >= 1000 else (N, T)
              for N in ORDERS for T in [1, 7, 64, 1000, 10_000]]


@pytest.mark.parametrize(("N", "T"), LEGS_CASES)
def test_legs_exact_blocks_equal_the_dense_projection(engine, legs_spy, N, T):
    L = _length(T)
    x = _signal(L, 2, seed=N + T)
    rng = np.random.default_rng(N + T)
    cuts = _cuts(rng, T, L) if T > 1 else [1, 17, 200]
    engine(True)
    got, state = _chunked(HiPPO("legs", N, method="exact"), x, T, cuts)
    assert legs_spy, "the block engine did not run"
    steps = HiPPO.emitted_steps(0, L, T)
    # the dense reference costs L N^2: the largest orders are checked on their first block
    # against it, and on every block against the per-sample path below
    for r in [0] if N * L > 10 ** 6 else [0, len(steps) - 1]:
        want = naive.legs_projection(N, x, int(steps[r]) + 1)  # both channels, (2, N)
        for ch in range(2):
            assert rel_err(got[r, ch], want[ch]) <= 1e-10, (r, ch)
    if N * L <= 10 ** 6:
        assert rel_err(state[0], naive.legs_projection(N, x[:, 0], L)) <= 1e-10
    # ... and the per-sample exact kernel (one channel: its own code path)
    engine(False)
    want = HiPPO("legs", N, method="zoh").update(x[:, 1], every=T)
    engine(True)
    assert rel_err(HiPPO("legs", N, method="exact").update(x[:, 1], every=T), want) <= 1e-10


def test_legs_exact_save_load_mid_block_and_block_mode(engine, legs_spy, tmp_path):
    T, N = 64, 16
    x = _signal(10 * T + 5, 3, seed=9)
    engine(False)
    want = HiPPO("legs", N, method="exact").update(x, every=T)
    wantb = HiPPO("legs", N, method="exact", reset_every=2 * T).update(x, every=T)
    engine(True)
    enc = HiPPO("legs", N, method="exact")
    a = enc.update(x[:3 * T + 20], every=T)  # ends mid-block
    enc.save(tmp_path / "s.npz")
    b = HiPPO.load(tmp_path / "s.npz").update(x[3 * T + 20:], every=T)
    assert rel_err(np.concatenate([a, b]), want) <= 1e-10
    got = HiPPO("legs", N, method="exact", reset_every=2 * T).update(x, every=T)
    assert rel_err(got, wantb) <= 1e-10
    assert legs_spy


def test_legs_block_engine_only_for_the_exact_natural_projection(legs_spy):
    x = _signal(5000, 1, seed=2)[:, 0]
    HiPPO("legs", 64).update(x, every=1000)  # bilinear: per sample
    HiPPO("legs", 64, method="zoh", legs_time="start").update(x, every=1000)  # frozen system
    HiPPO("legs", 64, method="zoh").update(x, every=1000, times=np.arange(5000.0) ** 1.1)
    HiPPO("legs", 64, method="exact").update(x, every=8)  # too short a block
    assert not legs_spy
    HiPPO("legs", 64, method="exact").update(x, every=1000)
    assert legs_spy


@pytest.mark.slow
def test_legs_exact_blocks_over_ten_million_samples():
    # no drift: 10^4 blocks of 1000 against the per-sample exact kernel, and the last state
    # against the dense projection (by the block engine's independent twin, one long block)
    L = 10 ** 7
    x = np.sin(np.arange(L) / 1e5) + np.random.default_rng(0).standard_normal(L)
    got = HiPPO("legs", 16, method="exact").update(x, every=1000)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(blocks, "ENABLED", False)
        want = HiPPO("legs", 16, method="exact").update(x, every=1000)
    assert rel_err(got, want) <= 1e-10
    assert rel_err(got[-1], naive.legs_projection(16, x, L)) <= 1e-10
