"""The rest of the HiPPO family: lmu, tlagt, glagt, fout, foud, legsd."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg
from test_cli import hippo

import naive
from conftest import smooth_signal
from helpers import rel_err
from hippo_cli import HiPPO, ParameterError, transition
from hippo_cli.measures import FADING_MEASURES, basis_at_lag

NEW = ["lmu", "tlagt", "glagt", "fout", "foud", "legsd"]
WINDOW = {"lmu", "fout"}


def _kw(measure, scale=40.0):
    return {"theta": scale} if measure in WINDOW else {"dt": 1.0 / scale}


@pytest.mark.parametrize("measure,key,factor", [
    ("lmu", "hippocode__lmu", 1), ("lmu", "s4lib__lmu", 1), ("tlagt", "hippocode__tlagt", 1),
    ("glagt", "hippocode__glagt", 1), ("glagt", "s4lib__glagt", 1),
    ("fout", "s4vis__fourier", 1), ("fout", "s4lib__fout", 2), ("foud", "s4lib__foud", 1),
    ("legsd", "s4lib__legsd", 1),
])
@pytest.mark.parametrize("N", [4, 16, 64])
def test_transitions_equal_published(golden, measure, key, factor, N):
    z = np.load(golden / "transitions.npz")
    A, B = transition(measure, N)
    assert rel_err(A, factor * z[f"{key}__N{N}__A"]) < 1e-15
    assert rel_err(B, factor * z[f"{key}__N{N}__B"].reshape(-1)) < 1e-15


@pytest.mark.parametrize("measure", NEW)
@pytest.mark.parametrize("N", [2, 16, 64])
def test_transitions_equal_naive(measure, N):
    A, B = transition(measure, N)
    An, Bn = naive.transition(measure, N)
    assert rel_err(A, An) < 1e-14 and rel_err(B, Bn) < 1e-14
    A, B = transition("glagt", N, alpha=0.4, beta=0.2)
    An, Bn = naive.transition("glagt", N, alpha=0.4, beta=0.2)
    assert rel_err(A, An) < 1e-12 and rel_err(B, Bn) < 1e-12


@pytest.mark.parametrize("method", ["bilinear", "zoh", "backward", "forward"])
@pytest.mark.parametrize("measure", NEW)
@pytest.mark.parametrize("N", [2, 16, 64])
def test_encoder_equals_dense_reference(measure, method, N):
    u = smooth_signal(300, 2)
    kw = _kw(measure, 200.0)
    h = 1 / kw["theta"] if "theta" in kw else kw["dt"]
    Ad, _ = naive.discretize(*naive.transition(measure, N), h, method)
    if np.max(np.abs(np.linalg.eigvals(Ad))) > 1 + 1e-12:
        pytest.skip("unstable forward Euler (warned about)")
    want = naive.lti_run(measure, N, h, method, u)
    got = HiPPO(measure, N, method=method, **kw).update(u)
    assert rel_err(got, want) <= 1e-10


@pytest.mark.parametrize("N", [16, 64])
def test_published_fourier_run(golden, N):
    """s4's HiPPO(method='fourier') with dt = 1/L: coefficients and reconstruction."""
    z = np.load(golden / f"s4_hippo_fourier_bilinear_N{N}_L1000.npz")
    enc = HiPPO("fout", N, theta=1000)
    coeffs = enc.update(z["u"])
    assert rel_err(coeffs[z["steps"]], z["coeffs"]) <= 1e-10
    recon = enc.reconstruct(enc.state, 999, np.arange(1000))
    assert rel_err(recon, z["recon"]) <= 1e-10


def test_published_lmu_run(golden):
    """hippo-code's HiPPO_LegT with LMU matrices; its reconstruction is shifted by one."""
    z = np.load(golden / "hippocode_legt_lmu_bilinear_N64_L1000.npz")
    enc = HiPPO("lmu", 64, theta=1000)
    coeffs = enc.update(z["u"])
    assert rel_err(coeffs[z["steps"]], z["coeffs"]) <= 1e-10
    recon = enc.reconstruct(enc.state, 999, np.arange(999))
    assert rel_err(recon, z["recon"][1:]) <= 1e-10


@pytest.mark.parametrize("N", [16, 64])
def test_published_legt_reconstruction(golden, N):
    z = np.load(golden / f"s4_hippo_legt_bilinear_N{N}_L1000.npz")
    enc = HiPPO("legt", N, theta=1000)
    enc.update(z["u"])
    recon = enc.reconstruct(enc.state, 999, np.arange(1000))
    assert rel_err(recon[:-1], z["recon"][:-1]) <= 1e-10  # their basis zeroes lag 0


def _gauss_legendre(X: float, panels: int, nodes: int):
    """Composite Gauss-Legendre rule on [0, X]: (points, weights)."""
    t, w = np.polynomial.legendre.leggauss(nodes)
    edge = np.linspace(0.0, X, panels + 1)
    a, b = edge[:-1, None], edge[1:, None]
    return ((a + b) / 2 + (b - a) / 2 * t).ravel(), ((b - a) / 2 * w).ravel()


@pytest.mark.parametrize("measure", FADING_MEASURES)
def test_fading_bases_are_biorthogonal_to_their_kernels(measure):
    """The reconstruction functions p_m satisfy int_0^inf K_n(x) p_m(x) dx = delta_nm with
    K(x) = e^{A x} B - here an independent expm at every quadrature node (the library
    propagates one step matrix): a signal in their span comes back exactly.

    The Laguerre family's p_m are closed forms: K_n p_m is a polynomial times e^{-x}, so 20
    Gauss-Legendre panels of 16 nodes on [0, 80] integrate it to rounding (the tail is
    < 1e-20) and the check is to 1e-11. foud and legsd have numerical duals (a table,
    linear between its points, zero past the fading cutoff): 8 nodes on each of 69 panels
    of [0, 13.8], to the table's own accuracy. (A 20001-point Simpson rule needed as many
    expm calls of matrices with ||A x|| up to 3000, each with its own squarings: 2-3 s per
    measure on an idle machine, tens of seconds on a loaded one.)"""
    N = 8
    A, B = transition(measure, N)
    dual = measure in ("foud", "legsd")
    x, w = _gauss_legendre(13.8, 69, 8) if dual else _gauss_legendre(80.0, 20, 16)
    K = scipy.linalg.expm(A[None] * x[:, None, None]) @ B
    M = K.T @ (basis_at_lag(measure, N, x) * w[:, None])
    keep = [n for n in range(N) if not (measure == "foud" and n == 1)]  # c_1 is always 0
    tol = 1e-4 if dual else 1e-11
    assert np.max(np.abs(M[np.ix_(keep, keep)] - np.eye(N)[np.ix_(keep, keep)])) < tol


def test_glagt_parameters():
    enc = HiPPO("glagt", 8, dt=0.1, alpha=0.5, beta=0.2)
    assert enc.params()["alpha"] == 0.5 and enc.params()["beta"] == 0.2
    with pytest.raises(ParameterError):
        HiPPO("legt", 8, theta=10, beta=0.5)
    with pytest.raises(ParameterError):
        HiPPO("glagt", 8, alpha=1.5)
    with pytest.raises(ParameterError):
        HiPPO("fout", 7, theta=10)


@pytest.mark.parametrize("measure", NEW)
def test_round_trip_through_the_cli(tmp_path, measure):
    u = smooth_signal(1200, 8)
    np.save(tmp_path / "u.npy", u)
    kw = _kw(measure, 300.0)
    opt = ["--theta", "300"] if "theta" in kw else ["--dt", str(kw["dt"])]
    res = hippo("compress", tmp_path / "u.npy", "-m", measure, "-N", 16, "--every", 100, *opt,
                "-o", tmp_path / "c.npy")
    assert res.exit_code == 0, res.stderr
    res = hippo("reconstruct", tmp_path / "c.npy", "-o", tmp_path / "r.csv")
    assert res.exit_code == 0, res.stderr
    table = np.loadtxt(tmp_path / "r.csv", delimiter=",", skiprows=1)
    enc = HiPPO(measure, 16, **kw)
    enc.update(u)
    np.testing.assert_array_equal(table[:, 0], enc.default_samples(1199))
    # --every 100 runs the block engine (long enough blocks): equal to ~1e-13, not bit-equal
    want = enc.reconstruct(enc.state, 1199)
    assert np.max(np.abs(table[:, 1] - want)) <= 1e-10 * np.max(np.abs(want))
