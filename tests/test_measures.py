import numpy as np
import pytest

import naive
from helpers import rel_err
from hippo_cli import ParameterError, discretize, legs_step_matrices, transition
from hippo_cli.measures import laguerre_basis, legendre_basis


@pytest.mark.parametrize("measure", ["legt", "lagt", "legs"])
@pytest.mark.parametrize("N", [4, 16, 64])
def test_transition_equals_published(golden, measure, N):
    ref = np.load(golden / "transitions.npz")
    A, B = transition(measure, N)
    assert A.dtype == np.float64 and A.shape == (N, N) and B.shape == (N,)
    np.testing.assert_array_max_ulp(A, ref[f"s4vis__{measure}__N{N}__A"], maxulp=4)
    np.testing.assert_array_max_ulp(B, ref[f"s4vis__{measure}__N{N}__B"], maxulp=4)


@pytest.mark.parametrize("measure", ["legt", "lagt", "legs"])
@pytest.mark.parametrize("N", [1, 2, 7, 256])
def test_transition_equals_naive(measure, N):
    A, B = transition(measure, N)
    An, Bn = naive.transition(measure, N)
    assert rel_err(A, An) < 1e-15 and rel_err(B, Bn) < 1e-15


def test_legs_steady_state_is_e0():
    # -A^-1 B = e_0: a constant signal is exactly the constant Legendre polynomial.
    A, B = transition("legs", 32)
    np.testing.assert_allclose(-np.linalg.solve(A, B), np.eye(32)[0], atol=1e-12)


@pytest.mark.parametrize("method", ["forward", "backward", "bilinear", "zoh"])
@pytest.mark.parametrize("N", [1, 2, 16, 64])
@pytest.mark.parametrize("measure", ["legt", "lagt"])
def test_discretize_equals_naive(measure, N, method):
    A, B = transition(measure, N)
    Ad, Bd = discretize(A, B, 1e-2, method)
    An, Bn = naive.discretize(*naive.transition(measure, N), 1e-2, method)
    assert rel_err(Ad, An) < 1e-12 and rel_err(Bd, Bn) < 1e-12


def test_discretize_aliases_and_gbt():
    A, B = transition("legt", 8)
    for alias, name, alpha in [("euler", "forward", 0.0), ("backward_diff", "backward", 1.0)]:
        Ad, Bd = discretize(A, B, 0.1, alias)
        Ag, Bg = discretize(A, B, 0.1, "gbt", alpha=alpha)
        An, Bn = naive.discretize(A, B, 0.1, name)
        assert rel_err(Ad, An) < 1e-13 and rel_err(Ag, An) < 1e-13 and rel_err(Bd, Bn) < 1e-13
    with pytest.raises(ParameterError):
        discretize(A, B, 0.1, "simpson")
    with pytest.raises(ParameterError):
        discretize(A, B, 0.1, "gbt")
    with pytest.raises(ParameterError):
        discretize(A, B, -1.0, "zoh")


@pytest.mark.parametrize("key", ["legt_bilinear_N64", "legt_zoh_N16", "lagt_forward_N64",
                                 "lagt_backward_N16", "legt_backward_N64", "lagt_zoh_N64"])
def test_discretize_equals_published(golden, key):
    measure, method, n = key.split("_")
    z = np.load(golden / f"s4_hippo_{measure}_{method}_{n}_L1000.npz")
    Ad, Bd = discretize(z["A"], z["B"], float(z["dt"]), method)
    assert rel_err(Ad, z["dA"]) < 1e-13 and rel_err(Bd, z["dB"].reshape(-1)) < 1e-13


@pytest.mark.parametrize("method", ["forward", "backward", "bilinear", "zoh"])
@pytest.mark.parametrize("legs_time", ["natural", "start"])
def test_legs_step_matrices_equal_naive(method, legs_time):
    A, B = transition("legs", 16)
    for k in (1, 2, 10, 500):
        Ad, Bd = legs_step_matrices(A, B, k, method, legs_time)
        An, Bn = naive.legs_matrices(16, k, method, legs_time)
        assert rel_err(Ad, An) < 1e-12 and rel_err(Bd, Bn) < 1e-12


def test_bases_equal_numpy_polynomials():
    x = np.linspace(-1, 1, 101)
    lag = np.linspace(0, 14, 57)
    P = legendre_basis(40, x)
    Lg = laguerre_basis(40, lag)
    for n in (0, 1, 5, 39):
        want = np.sqrt(2 * n + 1) * np.polynomial.legendre.Legendre.basis(n)(x)
        np.testing.assert_allclose(P[:, n], want, atol=1e-11)
        want = np.polynomial.laguerre.Laguerre.basis(n)(lag) * np.exp(-lag / 2)
        np.testing.assert_allclose(Lg[:, n], want, atol=1e-9)


def test_published_bases(golden):
    # s4's eval matrices, in our sample placement: legt lag = vals (row 0 zeroed upstream).
    z = np.load(golden / "bases.npz")
    vals = np.arange(0, 1, 1 / 1000)
    legt = legendre_basis(16, 1 - 2 * vals)
    np.testing.assert_allclose(legt[1:], z["hippo__legt__N16__eval_matrix"][1:], atol=1e-10)
    lagt = laguerre_basis(16, vals[::-1])
    np.testing.assert_allclose(lagt, z["hippo__lagt__N16__eval_matrix"], atol=1e-10)
