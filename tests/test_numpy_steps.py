"""The numpy path for small jobs (engine.numpy_steps) against the numba kernels and the naive
reference, and the start-up it exists for: a small compress never imports numba."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import naive
from helpers import rel_err
from hippo_cli import HiPPO
from hippo_cli.engine import numpy_steps

CASES = [("legs", {}, m, lt) for m in ("bilinear", "backward", "forward")
         for lt in ("natural", "start")] + [
    ("legt", {"theta": 50.0}, "bilinear", None), ("lagt", {"dt": 0.1}, "bilinear", None),
    ("lagt", {"dt": 0.1}, "zoh", None), ("lmu", {"theta": 30.0}, "backward", None)]


@pytest.fixture
def numpy_path(monkeypatch):
    """Encoders run the numpy path whatever is loaded (numba is, in this process)."""
    monkeypatch.setattr(numpy_steps, "applies", lambda p, L, C: L * C <= 4096)


@pytest.mark.parametrize(("measure", "kw", "method", "legs_time"), CASES)
def test_numpy_path_equals_the_kernels(numpy_path, monkeypatch, measure, kw, method, legs_time):
    N = 12 if method == "forward" else 32
    extra = {"legs_time": legs_time} if legs_time else {}
    x = np.sin(np.arange(600)[:, None] / (9.0 + np.arange(3))) + 0.1 * np.arange(3)
    enc = HiPPO(measure, N, method=method, **kw, **extra)
    got = np.concatenate([enc.update(x[a:b], every=3) for a, b in [(0, 1), (1, 250), (250, 600)]])
    monkeypatch.setattr(numpy_steps, "applies", lambda p, L, C: False)
    want_enc = HiPPO(measure, N, method=method, **kw, **extra)
    want = want_enc.update(x, every=3)
    assert rel_err(got, want) <= 1e-12
    assert rel_err(enc.state, want_enc.state) <= 1e-12


def test_numpy_path_equals_the_naive_reference(numpy_path):
    u = np.cos(np.arange(400) / 13.0)
    got = HiPPO("legs", 24).update(u)
    assert rel_err(got, naive.legs_run(24, "bilinear", u)) <= 1e-12
    got = HiPPO("legt", 24, theta=80.0).update(u)
    assert rel_err(got, naive.lti_run("legt", 24, 1 / 80.0, "bilinear", u)) <= 1e-12


def test_a_small_compress_does_not_start_numba(tmp_path):
    csv = tmp_path / "small.csv"
    u = np.sin(np.arange(1000) / 50.0)
    np.savetxt(csv, u, fmt="%.6f", header="value", comments="")
    code = ("import sys; from hippo_cli.cli import main; sys.argv = ['hippo', 'compress', "
            f"{str(csv)!r}, '-q', '-o', {str(tmp_path / 'c.npy')!r}]\n"
            "try:\n    main()\nexcept SystemExit as e:\n    assert not e.code, e.code\n"
            "assert 'numba' not in sys.modules, 'numba was imported'")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    want = HiPPO("legs", 64).update(np.loadtxt(csv, skiprows=1))
    assert rel_err(np.load(tmp_path / "c.npy"), want) <= 1e-12
