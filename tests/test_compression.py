"""Compression that earns its name: block mode, error-targeted blocks, quantisation."""

from __future__ import annotations

import json

import numpy as np
import pytest
from numpy.polynomial import legendre
from test_cli import hippo

from conftest import smooth_signal
from hippo_cli import HiPPO
from hippo_cli.formats.quantize import dequantize, quantize


def _legfit_rmse(u: np.ndarray, K: int, N: int) -> float:
    """Offline optimum for the basis: least-squares Legendre fit of degree N - 1 per block."""
    err = []
    for start in range(0, len(u), K):
        block = u[start : start + K]
        x = 2 * (np.arange(len(block)) + 0.5) / len(block) - 1
        fit = legendre.legval(x, legendre.legfit(x, block, min(N, len(block)) - 1))
        err.append(fit - block)
    return float(np.sqrt(np.mean(np.concatenate(err) ** 2)))


def _block_rmse(u: np.ndarray, K: int, N: int) -> float:
    enc = HiPPO("legs", N, reset_every=K)
    rows = enc.update(u, every=K)
    steps = np.arange(K - 1, len(u), K)
    recon = np.concatenate([enc.reconstruct(r, k) for r, k in zip(rows, steps)])
    return float(np.sqrt(np.mean((recon - u[: len(recon)]) ** 2)))


def _real_series() -> dict[str, np.ndarray]:
    sm = pytest.importorskip("statsmodels.api")
    co2 = sm.datasets.co2.load_pandas().data["co2"].interpolate().to_numpy()
    sun = sm.datasets.sunspots.load_pandas().data["SUNACTIVITY"].to_numpy()
    nino = sm.datasets.elnino.load_pandas().data.iloc[:, 1:].to_numpy().ravel()
    return {"co2": co2, "sunspots": sun, "elnino": nino}


def test_block_mode_equals_separate_encoders():
    u = smooth_signal(1000, 3)
    rows = HiPPO("legs", 8, reset_every=200).update(u, every=100)
    for b in range(5):
        fresh = HiPPO("legs", 8).update(u[200 * b : 200 * (b + 1)], every=100)
        np.testing.assert_array_equal(rows[2 * b : 2 * b + 2], fresh)


@pytest.mark.parametrize("K,N", [(128, 16), (256, 16), (512, 32)])
def test_block_mode_matches_legfit_on_smooth_data(K, N):
    rng = np.random.default_rng(1)
    u = smooth_signal(8192, 5) + 0.05 * rng.standard_normal(8192)
    assert _block_rmse(u, K, N) <= 1.05 * _legfit_rmse(u, K, N)


@pytest.mark.parametrize("name", ["co2", "sunspots", "elnino"])
def test_block_mode_matches_legfit_on_real_data(name):
    u = _real_series()[name]
    K, N = 32, 8
    u = u[: len(u) // K * K]
    ours, best = _block_rmse(u, K, N), _legfit_rmse(u, K, N)
    assert ours <= 1.05 * best, (ours, best)


def _signals() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(7)
    t = np.arange(6000)
    return {
        "smooth": smooth_signal(6000, 2),
        "noisy": smooth_signal(6000, 3) + 0.02 * rng.standard_normal(6000),
        "steps": np.where((t // 700) % 2 == 0, 1.0, -0.5) + 0.001 * t,
    }


@pytest.mark.parametrize("error", ["max", "rmse"])
@pytest.mark.parametrize("name", ["smooth", "noisy", "steps"])
def test_tolerance_bound_holds_on_every_sample(tmp_path, name, error):
    u = _signals()[name]
    tol = 0.05
    np.save(tmp_path / "u.npy", u)
    res = hippo("compress", tmp_path / "u.npy", "-N", 16, "--tolerance", tol, "--error", error,
                "--max-block", 4096, "-o", tmp_path / "c.npy")
    assert res.exit_code == 0, res.stderr
    meta = json.loads((tmp_path / "c.npy.json").read_text())
    ends = np.array(meta["block_ends"])
    assert ends[-1] == len(u) - 1 and np.all(np.diff(ends) > 0)
    assert np.max(np.diff(np.r_[-1, ends])) <= 4096
    out = hippo("reconstruct", tmp_path / "c.npy", "--all", "-o", tmp_path / "r.csv")
    assert out.exit_code == 0, out.stderr
    recon = np.loadtxt(tmp_path / "r.csv", delimiter=",", skiprows=1)[:, 1]
    err = recon - u
    if error == "max":
        assert np.max(np.abs(err)) <= tol * (1 + 1e-12)
    else:
        for lo, hi in zip(np.r_[0, ends[:-1] + 1], ends + 1):
            assert np.sqrt(np.mean(err[lo:hi] ** 2)) <= tol * (1 + 1e-12)
    if name == "smooth":
        assert len(ends) * 16 * 8 < len(u) * 8 / 10  # it really compresses (> 10x)


def test_tolerance_is_only_for_legs_and_alone(tmp_path):
    np.save(tmp_path / "u.npy", np.ones(10))
    res = hippo("compress", tmp_path / "u.npy", "--measure", "lagt", "--tolerance", 0.1)
    assert res.exit_code == 2 and "measure legs" in res.stderr
    res = hippo("compress", tmp_path / "u.npy", "--tolerance", 0.1, "--every", 2)
    assert res.exit_code == 2


@pytest.mark.parametrize("bits", [4, 8, 12, 16])
def test_quantize_bounds_the_coefficient_error(bits):
    rng = np.random.default_rng(bits)
    rows = rng.standard_normal((50, 3, 16)) * rng.uniform(0.01, 100, (50, 3, 1))
    rec = quantize(rows, bits)
    back = dequantize(rec)
    scale = np.max(np.abs(rows), axis=-1, keepdims=True) / (2 ** (bits - 1) - 1)
    assert np.all(np.abs(back - rows) <= 0.5 * scale * (1 + 1e-6) + 1e-12)
    assert rec.dtype.itemsize == 4 + 16 * (1 if bits <= 8 else 2)


def test_quantized_file_round_trip(tmp_path):
    u = smooth_signal(4096, 9)
    np.save(tmp_path / "u.npy", np.column_stack([u, -u]))
    for bits in (8, 16):
        out = tmp_path / f"q{bits}.npy"
        res = hippo("compress", tmp_path / "u.npy", "-N", 16, "--reset-every", 256,
                    "--quantize", bits, "-o", out)
        assert res.exit_code == 0, res.stderr
        arr = np.load(out)  # plain np.load, no pickle: a structured integer record per row
        assert arr.shape == (16, 2) and arr.dtype.names == ("scale", "q")
        res = hippo("reconstruct", out, "--all", "--original", tmp_path / "u.npy",
                    "-o", tmp_path / f"r{bits}.csv")
        assert res.exit_code == 0, res.stderr
        rmse = float(res.stderr.split("RMSE ")[1].split(",")[0])
        assert rmse < (0.05 if bits == 8 else 2e-4)
    assert (tmp_path / "q8.npy").stat().st_size < (tmp_path / "q16.npy").stat().st_size


def test_summary_and_info_report_sizes(tmp_path):
    src = tmp_path / "s.csv"
    src.write_text("x\n" + "\n".join(f"{v:.6f}" for v in smooth_signal(4000, 1)) + "\n")
    res = hippo("compress", src, "-N", 16, "--reset-every", 500, "-o", tmp_path / "c.npy")
    assert res.exit_code == 0
    stored = (tmp_path / "c.npy").stat().st_size + (tmp_path / "c.npy.json").stat().st_size
    assert f"ratio {4000 * 8 / stored:.2f}x vs float64" in res.stderr
    assert f"{src.stat().st_size / stored:.2f}x vs the CSV" in res.stderr
    info = hippo("info", tmp_path / "c.npy")
    assert str(stored) in info.stdout and "reset every" in info.stdout
    assert "│ samples             │ 4000" in info.stdout
