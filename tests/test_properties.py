"""Properties of the encoder: linearity, chunking, resuming, polynomial exactness, boundedness."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import smooth_signal
from hippo_cli import HiPPO

CONFIGS = [
    {"measure": "legs"},
    {"measure": "legs", "method": "zoh"},
    {"measure": "legs", "method": "backward", "legs_time": "start"},
    {"measure": "legt", "theta": 37},
    {"measure": "legt", "theta": 20, "method": "zoh", "init": "steady"},
    {"measure": "lagt", "dt": 0.3},
    {"measure": "lagt", "dt": 0.1, "method": "backward", "init": "steady"},
]
config = st.sampled_from(CONFIGS)
settings.register_profile("default", deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("default")


def _stream(seed, L, C=None):
    rng = np.random.default_rng(seed)
    shape = (L,) if C is None else (L, C)
    return rng.standard_normal(shape)


coef = st.floats(-3, 3, allow_subnormal=False)


@given(kw=config, seed=st.integers(0, 2**32 - 1), a=coef, b=coef)
@settings(max_examples=40)
def test_linearity(kw, seed, a, b):
    x, y = _stream(seed, 150), _stream(seed + 1, 150)
    cx = HiPPO(N=10, **kw).update(x)
    cy = HiPPO(N=10, **kw).update(y)
    cz = HiPPO(N=10, **kw).update(a * x + b * y)
    scale = abs(a) * np.max(np.abs(cx)) + abs(b) * np.max(np.abs(cy))
    assert np.max(np.abs(cz - (a * cx + b * cy))) <= 1e-10 * scale


@given(kw=config, seed=st.integers(0, 1000), cuts=st.lists(st.integers(0, 300), max_size=6),
       every=st.integers(1, 40), channels=st.sampled_from([None, 1, 3]))
@settings(max_examples=60)
def test_any_chunking_equals_one_call(kw, seed, cuts, every, channels):
    x = _stream(seed, 300, channels)
    whole = HiPPO(N=9, **kw).update(x, every=every)
    enc = HiPPO(N=9, **kw)
    bounds = [0, *sorted(cuts), 300]
    parts = [enc.update(x[lo:hi], every=every) for lo, hi in zip(bounds[:-1], bounds[1:])]
    np.testing.assert_array_equal(np.concatenate(parts), whole)
    assert enc.steps == 300


@given(kw=config, seed=st.integers(0, 1000), cut=st.integers(0, 200))
@settings(max_examples=25)
def test_save_load_midstream_equals_one_run(tmp_path_factory, kw, seed, cut):
    path = tmp_path_factory.mktemp("state") / "enc.npz"
    x = _stream(seed, 200, 2)
    whole = HiPPO(N=7, **kw).update(x, every=3)
    enc = HiPPO(N=7, **kw)
    first = enc.update(x[:cut], every=3)
    enc.save(path)
    rest = HiPPO.load(path).update(x[cut:], every=3)
    np.testing.assert_array_equal(np.concatenate([first, rest]), whole)


@given(seed=st.integers(0, 10_000), degree=st.integers(0, 15))
@settings(max_examples=30)
def test_legs_reconstructs_polynomials(seed, degree):
    """A polynomial of degree < N is reproduced up to discretisation error, which shrinks
    as the stream grows."""
    coef = np.random.default_rng(seed).uniform(-1, 1, degree + 1)
    errors = []
    for L in (500, 4000):
        # sample j of L sits at x = j + 1/2 on [0, L] (the math note's placement)
        u = np.polynomial.legendre.legval(2 * (np.arange(L) + 0.5) / L - 1, coef)
        enc = HiPPO("legs", 16)
        enc.update(u)
        errors.append(np.max(np.abs(enc.reconstruct(enc.state, L - 1) - u)))
    scale = max(1.0, np.max(np.abs(coef)))
    # second-order discretisation: 8x more samples cut the error by well over 8x
    assert errors[1] <= 1e-3 * scale
    assert errors[1] <= errors[0] / 8 or errors[1] <= 1e-12 * scale


def test_legs_accuracy_natural_vs_start():
    """LegS N = 64 on a smooth 8000-sample signal: the midpoint rule (tau = k + 1/2) is
    accurate to 2e-6 RMSE and far better than tau = k."""
    u = smooth_signal(8000, seed=0)
    rmse = {}
    for legs_time in ("natural", "start"):
        enc = HiPPO("legs", 64, legs_time=legs_time)
        enc.update(u)
        rmse[legs_time] = np.sqrt(np.mean((enc.reconstruct(enc.state, 7999) - u) ** 2))
    assert rmse["natural"] <= 2e-6
    assert rmse["start"] >= 20 * rmse["natural"]


def test_legt_and_lagt_reconstruct_their_window():
    u = smooth_signal(4000, seed=2)
    enc = HiPPO("legt", 32, theta=500)
    enc.update(u)
    j = enc.default_samples(3999)
    assert j[0] == 3500 and j[-1] == 3999
    assert np.sqrt(np.mean((enc.reconstruct(enc.state, 3999) - u[j]) ** 2)) < 1e-3
    enc = HiPPO("lagt", 48, dt=0.02)
    enc.update(u)
    j = enc.default_samples(3999)
    assert j[-1] == 3999 and 3999 - j[0] == int(np.log(1e6) / 0.02)
    recent = j[-100:]  # Laguerre functions resolve the recent past best
    err = enc.reconstruct(enc.state, 3999, recent) - u[recent]
    assert np.sqrt(np.mean(err**2)) < 0.05


@pytest.mark.slow
def test_long_legs_stream_stays_bounded():
    """10^6 LegS steps at N = 64: finite, and ||c||_2 <= max |f| (a projection cannot have
    more energy than the signal under the normalised measure)."""
    L = 1_000_000
    rng = np.random.default_rng(5)
    t = np.arange(L) / L
    u = np.clip(0.5 * np.sin(2 * np.pi * 40 * t) + 0.3 * rng.standard_normal(L), -1, 1)
    enc = HiPPO("legs", 64)
    rows = np.concatenate([enc.update(u[i : i + 100_000], every=1000)
                           for i in range(0, L, 100_000)])
    assert rows.shape == (1000, 64) and np.all(np.isfinite(rows))
    assert np.max(np.linalg.norm(rows, axis=1)) <= 1.0 + 1e-9
