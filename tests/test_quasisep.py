"""The O(N) per-sample LegT/LMU step (engine.quasisep + _kernels.lti_qs) against the naive
dense float64 loop, and the structure check that keeps it off matrices without the structure."""

from __future__ import annotations

import numpy as np
import pytest

import naive
from helpers import rel_err
from hippo_cli import HiPPO
from hippo_cli.engine import blocks, stepper
from hippo_cli.engine.quasisep import qs_generators


@pytest.fixture
def per_sample(monkeypatch):
    """Per-sample kernels only (the block engine off), and a spy on the O(N) kernel."""
    from hippo_cli import _kernels

    monkeypatch.setattr(blocks, "ENABLED", False)
    calls = []
    run = _kernels.lti_qs
    monkeypatch.setattr(_kernels, "lti_qs", lambda *a: calls.append(1) or run(*a))
    return calls


@pytest.mark.parametrize("method", ["bilinear", "backward", "forward"])
@pytest.mark.parametrize("N", [32, 64, 256])
@pytest.mark.parametrize("measure", ["legt", "lmu"])
def test_quasiseparable_step_equals_the_naive_loop(per_sample, measure, N, method):
    theta = 4000.0 if method == "forward" else 100.0  # forward Euler: stable only for long windows
    if method == "forward" and N > 64:
        pytest.skip("forward Euler grows at this N (the naive loop overflows too)")
    L = 20_000
    u = np.sin(np.arange(L) / 37.0) + 0.3 * np.random.default_rng(N).standard_normal(L)
    if measure == "legt":
        want = naive.lti_run("legt", N, 1.0 / theta, method, u)
    else:
        A, B = naive.EXTRA["lmu"](N, 0, None)
        Ad, Bd = naive.discretize(A / theta, B / theta, 1.0, method)
        c = np.zeros(N)
        want = np.empty((L, N))
        for k in range(L):
            c = Ad @ c + Bd * u[k]
            want[k] = c
    enc = HiPPO(measure, N, theta=theta, method=method)
    got = np.concatenate([enc.update(u[a:b], every=7) for a, b in [(0, 5), (5, 9000), (9000, L)]])
    assert per_sample, "the O(N) kernel did not run"
    assert rel_err(got, want[6::7]) <= 1e-11
    # channels: their own code path
    x = np.column_stack([u, -2 * u, np.roll(u, 5)])
    got3 = HiPPO(measure, N, theta=theta, method=method).update(x, every=7)
    assert rel_err(got3[:, 0], want[6::7]) <= 1e-11
    assert rel_err(got3[:, 1], -2 * want[6::7]) <= 1e-11


def test_structure_check_refuses_other_matrices():
    rng = np.random.default_rng(0)
    assert qs_generators(rng.standard_normal((64, 64)), np.ones(64)) is None
    A, B = naive.transition("legt", 64)
    Ad, Bd = naive.discretize(A / 100, B / 100, 1.0, "zoh")  # expm: not of order 1
    assert qs_generators(Ad, Bd) is None
    Ad, Bd = naive.discretize(A / 100, B / 100, 1.0, "bilinear")
    G = qs_generators(Ad, Bd)
    assert G is not None and G.shape == (8, 64)
    # the generators keep their running sums bounded: (a, q) unit vectors where they are used
    # (the last index of the lower sweep, the first of the upper one feed nothing)
    assert np.allclose(G[3, :-1] ** 2 + G[4, :-1] ** 2, 1.0)
    assert np.allclose(G[6, 1:] ** 2 + G[7, 1:] ** 2, 1.0)


def test_small_orders_and_zoh_keep_the_dense_kernel(per_sample):
    u = np.sin(np.arange(3000) / 20.0)
    HiPPO("legt", stepper.QS_MIN_ORDER - 1, theta=100).update(u, every=10)
    HiPPO("legt", 64, theta=100, method="zoh").update(u, every=10)
    HiPPO("fout", 64, theta=100).update(u, every=10)
    assert not per_sample
