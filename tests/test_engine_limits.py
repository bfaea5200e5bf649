"""The encoder's limits: memory and time bounded by the input, no non-finite numbers the
user did not give, parameters that would overflow later refused up front, state files
checked before anything large is allocated."""

from __future__ import annotations

import io
import json
import re
import tracemalloc
import warnings
import zipfile

import numpy as np
import pytest

from hippo_cli import DataError, HiPPO, ParameterError, measures
from hippo_cli.checks import MAX_CHANNELS
from hippo_cli.measures.registry import MAX_CUBIC_ORDER, MAX_DENSE_ORDER, MAX_ORDER, max_order


# ------------------------------------------------------------------ 1. memory and time
@pytest.mark.parametrize("N", [1, 2, 3, 5, 16, 37, 100])
def test_legs_norm1_matches_the_dense_matrix(N):
    A, _ = measures.transition("legs", N)
    assert measures.legs_norm1(N) == pytest.approx(np.abs(A).sum(axis=0).max(), rel=1e-13)


def _forbid(monkeypatch, *targets) -> None:
    """Make each (object, name) raise when called: work the code must never do."""
    for obj, name in targets:
        def refuse(*_a, _what=f"{getattr(obj, '__name__', obj)}.{name}", **_k):
            raise AssertionError(f"{_what} was called")

        monkeypatch.setattr(obj, name, refuse)


def _dense_work(stepper_module) -> list:
    """What costs O(N^2) memory or O(N^3) time: the dense A, its discretisation, a dense
    solve, inverse or exponential."""
    import scipy.linalg

    return [(measures, "transition"), (stepper_module, "discretize"),
            (stepper_module, "discretize_many"), (np.linalg, "solve"), (np.linalg, "inv"),
            (np.linalg, "lstsq"), (np.linalg, "eigvals"), (scipy.linalg, "expm")]


def _kernel_calls(monkeypatch, *names, check=None) -> list:
    """Record which of ``hippo_cli._kernels.<names>`` run (``check(args)``, if given, sees
    each call's arguments before the kernel runs)."""
    from hippo_cli import _kernels

    calls = []
    for name in names:
        def spy(*args, _name=name, _run=getattr(_kernels, name)):
            calls.append((_name, args))
            if check is not None:
                check(args)
            return _run(*args)

        monkeypatch.setattr(_kernels, name, spy)
    return calls


def test_legs_builds_no_dense_matrix(monkeypatch):
    # memory and time O(N): at N = 8000 no dense matrix is built (the dense A alone would
    # be 512 MB, an expm or a solve on it O(N^3)), even transiently, and the samples go
    # through the O(N) LegS kernel, not a dense or quasiseparable one
    from hippo_cli.engine import stepper

    HiPPO("legs", 4).update(np.ones(3))  # load the kernel first: it is not what is measured
    calls = _kernel_calls(monkeypatch, "legs_gbt", "legs_zoh", "lti_dense", "lti_qs")
    _forbid(monkeypatch, *_dense_work(stepper))
    tracemalloc.start()
    enc = HiPPO("legs", 8000)
    enc.update(np.ones(3))
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 20e6
    assert [name for name, _ in calls] == ["legs_gbt"]
    assert enc._stepper.A is None and enc._stepper.Abar is None


def test_caps_live_in_the_registry():
    assert max_order("legs", "bilinear")[0] == max_order("lagt", "backward")[0] == MAX_ORDER
    assert max_order("legs", "zoh")[0] == MAX_CUBIC_ORDER
    for m in ("legt", "lmu", "fout", "foud", "legsd", "tlagt", "glagt"):
        assert max_order(m, "bilinear")[0] == max_order(m, "zoh")[0] == MAX_DENSE_ORDER
        assert max_order(m, "forward")[0] == MAX_CUBIC_ORDER
    assert max_order("lagt", "zoh")[0] == MAX_DENSE_ORDER


@pytest.mark.parametrize("kw, cap, why", [
    ({"measure": "legt", "theta": 10.0}, MAX_DENSE_ORDER, "dense measures cost"),
    ({"measure": "foud", "method": "zoh"}, MAX_DENSE_ORDER, "N^2 per step"),
    ({"measure": "lagt", "method": "zoh"}, MAX_DENSE_ORDER, "N^2 per step"),
    ({"measure": "legsd", "method": "forward"}, MAX_CUBIC_ORDER, "N^3"),
    ({"measure": "legs", "method": "zoh"}, MAX_CUBIC_ORDER, "N^3"),
    ({"measure": "legs"}, MAX_ORDER, "at most"),
])
def test_order_caps_are_refused_up_front(kw, cap, why, monkeypatch):
    # up front: before any system is set up (no stepper, nothing dense, no memory)
    from hippo_cli.engine import stepper

    _forbid(monkeypatch, (stepper.Stepper, "__init__"), (measures, "legs_norm1"),
            *_dense_work(stepper))
    tracemalloc.start()
    with pytest.raises(ParameterError, match=re.escape(why)) as err:
        HiPPO(N=cap + 2, **kw)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert f"at most {cap}" in str(err.value) and peak < 1e6


def test_o_n_kernels_keep_the_general_cap():
    HiPPO("lagt", 4, dt=0.1).update(np.ones(3))  # load the kernel first
    tracemalloc.start()
    enc = HiPPO("lagt", 20_000, dt=0.1, init="steady")
    out = enc.update(np.ones((2, 3)))
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert out.shape == (2, 3, 20_000) and peak < 20e6  # the dense A would be 3.2 GB


@pytest.mark.parametrize("N", [1, 2, 7, 40])
def test_lagt_closed_forms_match_the_dense_matrix(N):
    A, B = measures.transition("lagt", N)
    stepper = HiPPO("lagt", N, dt=0.3, init="steady")._stepper
    assert stepper.A is None
    np.testing.assert_allclose(stepper.steady, -np.linalg.lstsq(A, B, rcond=None)[0],
                               rtol=1e-12, atol=1e-12)
    assert stepper.norm1 == pytest.approx(np.abs(A).sum(axis=0).max(), rel=1e-14)


# ------------------------------------------------------------------ 2. nothing non-finite
def _same(a: HiPPO, b: HiPPO) -> bool:
    return (a.steps == b.steps and np.array_equal(a.state, b.state)
            and a.last_time == b.last_time and a.channels == b.channels)


@pytest.mark.parametrize("kw", [{"measure": "legs"}, {"measure": "legs", "method": "zoh"},
                                {"measure": "lagt"}])
def test_overflowing_chunk_is_refused_and_changes_nothing(kw):
    enc = HiPPO(N=64, **kw)
    x = np.sin(np.arange(300) / 7.0)
    enc.update(x[:120], every=10)
    before = enc.clone()
    before.restore(enc.snapshot())
    huge = np.full(136, 1e308)
    with pytest.raises(DataError, match=r"coefficients overflowed at samples 120\.\.129 "
                                        r"\(values up to 1e\+308 are too large for N = 64"):
        enc.update(huge, every=10)
    assert _same(enc, before) and np.all(np.isfinite(enc.state))
    # the stream goes on as if the chunk had never come
    assert np.array_equal(enc.update(x[120:], every=10), before.update(x[120:], every=10))


def test_first_chunk_that_overflows_leaves_a_fresh_encoder():
    enc = HiPPO("legs", 64)
    with pytest.raises(DataError, match="sample"):
        enc.update(np.full((50, 2), 1e308))
    assert enc.channels is None and enc.steps == 0
    assert enc.update(np.ones(3)).shape == (3, 64)  # the layout is still free


def test_unstable_discretisation_never_stores_a_nan_state(tmp_path):
    with pytest.warns(Warning):
        enc = HiPPO("legt", 64, theta=100, method="forward")
    x = np.sin(np.arange(3000) / 30.0)
    with pytest.raises(DataError, match="unstable"):
        enc.update(x, every=100)
    assert enc.steps == 0
    enc.update(x[:50])
    enc.save(tmp_path / "s.npz")
    with pytest.warns(Warning):
        assert HiPPO.load(tmp_path / "s.npz").steps == 50


def test_extreme_timestamps(monkeypatch):
    enc = HiPPO("legt", 16, theta=10.0, method="zoh")
    enc.update(np.ones(3), times=np.arange(3.0))
    with pytest.raises(DataError, match=r"sample times at samples 3\.\.4"):
        enc.update(np.ones(2), times=[3.0, 1e300])
    assert enc.steps == 3 and enc.last_time == 2.0 and np.all(np.isfinite(enc.state))
    with pytest.raises(DataError, match="too wide"):
        HiPPO("legs", 4).update(np.ones(3), times=[-1e308, 0.0, 1e308])
    # legs zoh: a step of log-time 690 (or h / s = 1e300 with legs_time="start") costs a
    # bounded amount of work: the kernel takes ceil(h ||A||_1) Taylor substeps for a step h
    # (each with ||h A||_1 <= 1), so the steps it is given must stay short
    def bounded(args):  # checked before the kernel runs (an unbounded step would hang it)
        x2, _state, step0, _every, hs, norm1, _out = args
        hs = np.asarray(hs)[max(0, 1 - step0):len(x2)]  # step 0 takes no step
        assert np.all(np.isfinite(hs)) and np.all(hs >= 0) and np.max(hs) <= 100, hs
        assert np.sum(np.ceil(hs * norm1)) < 1e6, hs  # Taylor substeps in all

    calls = _kernel_calls(monkeypatch, "legs_zoh", check=bounded)
    for legs_time in ("natural", "start"):
        calls.clear()
        out = HiPPO("legs", 64, method="zoh", legs_time=legs_time).update(
            np.ones(4), times=[0.0, 1.0, 1e300, 2e300])
        assert calls and np.all(np.isfinite(out))
        assert out[-1] == pytest.approx(np.eye(64)[0], abs=1e-12)  # a constant signal


# ------------------------------------------------------------------ 3. parameters
@pytest.mark.parametrize("kw, fragment", [
    ({"measure": "legt", "N": 8, "theta": 1e300}, "theta must be in"),
    ({"measure": "legt", "N": 8, "theta": 1e-12}, "theta must be in"),
    ({"measure": "lagt", "N": 8, "dt": 1e200, "method": "zoh"}, "dt must be in"),
    ({"measure": "lagt", "N": 8, "dt": 1e-300}, "dt must be in"),
    ({"measure": "tlagt", "N": 8, "beta": float("inf")}, "beta must be a finite"),
    ({"measure": "tlagt", "N": 8, "dt": 1e9, "beta": 1e300, "method": "zoh"},
     "no finite discretisation"),
    ({"measure": "glagt", "N": 8, "dt": 1e9, "beta": 1e300}, "beta=1e\\+300"),
])
def test_parameters_that_would_overflow_are_refused(kw, fragment):
    with pytest.raises(ParameterError, match=fragment):
        HiPPO(**kw)


def test_range_ends_work_and_reconstruct():
    for kw in ({"theta": 1e15}, {"theta": 1e-9}):
        enc = HiPPO("legt", 8, method="zoh", **kw)
        c = enc.update(np.ones(5))
        assert np.all(np.isfinite(c)) and np.all(np.isfinite(enc.reconstruct(c[-1], 4)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for method in ("forward", "backward", "bilinear", "zoh"):
            for dt in (1e-15, 1e9):
                HiPPO("lagt", 16, dt=dt, method=method)


def test_every_too_large():
    with pytest.raises(ParameterError, match="too large"):
        HiPPO("legs", 4).update(np.ones(3), every=10**23)


# ------------------------------------------------------------------ 4. state files
def _npz(path, params: dict, header: dict, payload: bytes, steps: int = 1) -> None:
    meta = {"format": "hippo-state", "format_version": 1, "tool_version": "x",
            "params": params, "steps": steps, "squeeze": False, "clock": None}
    buf = io.BytesIO()
    np.lib.format.write_array(buf, np.array(json.dumps(meta)))
    state = io.BytesIO()
    np.lib.format.write_array_header_1_0(state, header)
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("meta.npy", buf.getvalue())
        zf.writestr("state.npy", state.getvalue() + payload)


@pytest.mark.parametrize("shape, payload, fragment", [
    ((8, 12_000_000), b"\0" * 64, "12000000 channels"),
    ((16, 1), b"\0" * 128, "16 coefficients per channel, its parameters N = 8"),
    ((8, 1000), b"\0" * 64, "does not match"),
    ((8, 2), b"\0" * 64, "does not match"),
])
def test_state_file_checked_before_allocating(tmp_path, shape, payload, fragment):
    p = tmp_path / "s.npz"
    _npz(p, {"measure": "legs", "N": 8, "method": "bilinear"},
         {"descr": "<f8", "fortran_order": False, "shape": shape}, payload)
    tracemalloc.start()
    with pytest.raises(DataError, match=fragment):
        HiPPO.load(p)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 5e6


def test_valid_handmade_state_loads(tmp_path):
    p = tmp_path / "s.npz"
    _npz(p, {"measure": "legs", "N": 8, "method": "bilinear"},
         {"descr": "<f8", "fortran_order": False, "shape": (8, 2)},
         np.arange(16.0).tobytes())
    enc = HiPPO.load(p)
    assert enc.channels == 2 and np.array_equal(enc.state, np.arange(16.0).reshape(8, 2).T)


def test_huge_file_and_many_channels(tmp_path, monkeypatch):
    from hippo_cli.engine import state

    p = tmp_path / "s.npz"
    HiPPO("legs", 4).save(p)
    monkeypatch.setattr(state, "MAX_STATE_BYTES", 100)
    with pytest.raises(DataError, match="too large"):
        HiPPO.load(p)
    with pytest.raises(DataError, match=f"at most {MAX_CHANNELS}"):
        HiPPO("legs", 2).update(np.ones((1, MAX_CHANNELS + 1)))
