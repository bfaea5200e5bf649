import warnings

import numpy as np
import pytest

import naive
from conftest import smooth_signal
from helpers import rel_err
from hippo_cli import DataError, HiPPO, NumericalWarning, ParameterError

METHODS = ["forward", "backward", "bilinear", "zoh"]
# N = 256 against the dense reference takes seconds: in the full suite only
ORDERS = [1, 2, 16, 64, pytest.param(256, marks=pytest.mark.slow)]


def _signal(L, seed=1):
    rng = np.random.default_rng(seed)
    return smooth_signal(L, seed) + 0.3 * rng.standard_normal(L)


def _length(N, method):
    return 120 if N >= 256 else 400


@pytest.mark.parametrize("N", ORDERS)
@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("measure", ["legt", "lagt"])
@pytest.mark.parametrize("init", ["zero", "steady"])
def test_lti_equals_dense_reference(measure, method, N, init):
    u = _signal(_length(N, method))
    kw = {"theta": 50.0} if measure == "legt" else {"dt": 0.05}
    h = 1 / 50.0 if measure == "legt" else 0.05
    Ad, _ = naive.discretize(*naive.transition(measure, N), h, method)
    if np.max(np.abs(np.linalg.eigvals(Ad))) > 1:
        pytest.skip("forward Euler is unstable here (and warns, see below)")
    want = naive.lti_run(measure, N, h, method, u, init=init)
    got = HiPPO(measure, N, method=method, init=init, **kw).update(u)
    assert rel_err(got, want) <= 1e-10


@pytest.mark.parametrize("N", ORDERS)
@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("legs_time", ["natural", "start"])
def test_legs_equals_dense_reference(method, N, legs_time):
    if method == "forward" and N > 16:
        pytest.skip("forward Euler LegS is meaningless beyond N = 16 (and warns)")
    u = _signal(_length(N, method))
    want = naive.legs_run(N, method, u, legs_time)
    got = HiPPO("legs", N, method=method, legs_time=legs_time).update(u)
    assert rel_err(got, want) <= 1e-10


def test_multichannel_equals_separate_runs():
    x = np.column_stack([_signal(300, s) for s in range(4)])
    for kw in [{"measure": "legs"}, {"measure": "lagt", "dt": 0.1},
               {"measure": "legt", "theta": 30}, {"measure": "legs", "method": "zoh"},
               {"measure": "lagt", "method": "zoh"}]:
        got = HiPPO(N=12, **kw).update(x, every=7)
        assert got.shape == (300 // 7, 4, 12)
        for c in range(4):
            one = HiPPO(N=12, **kw).update(x[:, c], every=7)
            # the one-channel kernels are separate code paths: equal up to rounding
            assert rel_err(got[:, c, :], one) <= 1e-13


def test_every_selects_documented_rows():
    u = _signal(103)
    full = HiPPO("legs", 8).update(u)
    for every in (1, 2, 5, 10, 103, 200):
        enc = HiPPO("legs", 8)
        got = enc.update(u, every=every)
        steps = HiPPO.emitted_steps(0, 103, every)
        assert list(steps) == [k for k in range(103) if (k + 1) % every == 0]
        np.testing.assert_array_equal(got, full[steps])


def test_state_steps_reset():
    enc = HiPPO("legs", 8)
    assert enc.state.shape == (8,) and enc.steps == 0
    out = enc.update(_signal(50))
    assert enc.steps == 50
    np.testing.assert_array_equal(enc.state, out[-1])
    enc.reset()
    assert enc.steps == 0 and not enc.state.any()
    enc.update(np.ones((5, 3)))
    assert enc.state.shape == (3, 8)
    with pytest.raises(DataError):
        enc.update(np.ones((5, 2)))


def test_save_load_resumes_exactly(tmp_path):
    u = np.column_stack([_signal(500, 3), _signal(500, 4)])
    for kw in [{"measure": "legs"}, {"measure": "legt", "theta": 40, "init": "steady"},
               {"measure": "lagt", "dt": 0.2, "method": "zoh"},
               {"measure": "legs", "legs_time": "start", "method": "backward"}]:
        whole = HiPPO(N=16, **kw).update(u, every=3)
        enc = HiPPO(N=16, **kw)
        a = enc.update(u[:211], every=3)
        enc.save(tmp_path / "s.npz")
        enc2 = HiPPO.load(tmp_path / "s.npz")
        assert enc2.steps == 211 and enc2.params() == enc.params()
        b = enc2.update(u[211:], every=3)
        np.testing.assert_array_equal(np.concatenate([a, b]), whole)


def test_load_refuses_foreign_files(tmp_path):
    p = tmp_path / "x.npz"
    np.savez(p, meta=np.array("{}"), state=np.zeros((3, 1)))
    with pytest.raises(DataError):
        HiPPO.load(p)
    np.savez(p, meta=np.array([{"a": 1}], dtype=object), state=np.zeros((3, 1)))
    with pytest.raises(DataError):
        HiPPO.load(p)
    p.write_bytes(b"garbage")
    with pytest.raises(DataError):
        HiPPO.load(p)
    with pytest.raises(DataError):
        HiPPO.load(tmp_path / "missing.npz")


@pytest.mark.parametrize(
    "kwargs",
    [
        {"measure": "legt", "N": 8},  # theta missing
        {"measure": "legt", "N": 8, "theta": 0},
        {"measure": "legt", "N": 8, "theta": -3},
        {"measure": "legt", "N": 8, "theta": 10, "dt": 0.1},
        {"measure": "lagt", "N": 8, "dt": 0},
        {"measure": "lagt", "N": 8, "theta": 5},
        {"measure": "legs", "N": 8, "theta": 5},
        {"measure": "legs", "N": 8, "dt": 1.0},
        {"measure": "legs", "N": 0},
        {"measure": "legs", "N": -4},
        {"measure": "legs", "N": 2.5},
        {"measure": "legx", "N": 8},
        {"measure": "legs", "N": 8, "method": "rk4"},
        {"measure": "legs", "N": 8, "init": "steady"},
        {"measure": "lagt", "N": 8, "legs_time": "start"},
        {"measure": "legs", "N": 8, "legs_time": "middle"},
        {"measure": "lagt", "N": 8, "init": "warm"},
    ],
)
def test_bad_parameters(kwargs):
    with pytest.raises(ParameterError):
        HiPPO(**kwargs)


def test_bad_updates():
    enc = HiPPO("legs", 4)
    with pytest.raises(ParameterError):
        enc.update(np.ones(3), every=0)
    with pytest.raises(DataError):
        enc.update(np.array(["a", "b"]))
    with pytest.raises(DataError):
        enc.update(np.ones((2, 2, 2)))
    with pytest.raises(DataError, match="sample 2"):
        enc.update(np.array([1.0, 2.0, np.nan]))
    assert enc.steps == 0  # a rejected chunk changes nothing


def test_unstable_discretisations_warn():
    with pytest.warns(NumericalWarning):
        HiPPO("legs", 64, method="forward")
    with pytest.warns(NumericalWarning):
        HiPPO("legt", 64, theta=100, method="forward")
    with pytest.warns(NumericalWarning):
        HiPPO("lagt", 8, dt=5.0, method="forward")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        HiPPO("legs", 16, method="forward")
        HiPPO("legt", 64, theta=1000)
        HiPPO("lagt", 64, dt=1.0)


def test_empty_update():
    enc = HiPPO("legt", 4, theta=10)
    assert enc.update(np.zeros(0)).shape == (0, 4)
    assert enc.steps == 0


@pytest.mark.parametrize("method", ["forward", "backward", "bilinear"])
@pytest.mark.parametrize("legs_time", ["natural", "start"])
def test_legs_across_reciprocal_blocks(method, legs_time):
    """Streams longer than the kernel's block of precomputed reciprocals (512 steps), in
    uneven chunks, one and three channels, equal the dense reference."""
    u = _signal(1700, 11)
    want = naive.legs_run(12, method, u, legs_time)
    enc = HiPPO("legs", 12, method=method, legs_time=legs_time)
    got = np.concatenate([enc.update(u[a:b]) for a, b in [(0, 1), (1, 600), (600, 1700)]])
    assert rel_err(got, want) <= 1e-10
    x = np.column_stack([u, -u, 2 * u])
    got3 = HiPPO("legs", 12, method=method, legs_time=legs_time).update(x)
    for c, scale in enumerate((1, -1, 2)):
        assert rel_err(got3[:, c], scale * want) <= 1e-10
