"""No raw Python warning reaches a user of the CLI: values near the float range give
finite metrics and bounds (scaled before subtracting or squaring) and plots drawn to scale,
a channel name the font cannot draw is one note, and whatever warning still comes up is one
``hippo: warning:`` line. Library users keep their warning filters."""

from __future__ import annotations

import math
import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

from hippo_cli.pipelines.bounded import MaxError
from hippo_cli.pipelines.metrics import ErrorMetrics

ROOT = Path(__file__).resolve().parent.parent


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "hippo_cli", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=300,
                          env=dict(os.environ, PYTHONPATH=str(ROOT)))


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("warn")
    t = np.linspace(0, 1, 400)
    extreme = np.c_[1.7e308 * np.sin(20 * t), np.where(np.arange(400) % 2, 1e308, -1e308),
                    np.full(400, 1e308)]
    with open(d / "extreme.csv", "w") as fh:
        fh.write("a,b,c\n")
        fh.writelines(",".join(repr(float(v)) for v in row) + "\n" for row in extreme)
    with open(d / "names.csv", "w", encoding="utf-8") as fh:
        fh.write("温度,湿度,🌡 temp\n")
        fh.writelines(f"{np.sin(i / 20):.4f},{np.cos(i / 30):.4f},{i % 7}\n" for i in range(300))
    return d


@pytest.mark.slow
@pytest.mark.parametrize("steps", [
    [["compress", "extreme.csv", "--max-error", "1%", "-o", "x.hippo"],
     ["reconstruct", "x.hippo", "-o", "x.csv", "--original", "extreme.csv", "--plot",
      "--plot-file", "x.png", "--metrics-json", "x.json"],
     ["info", "x.hippo"]],
    [["compress", "extreme.csv", "-N", "8", "-o", "c.npy"],
     ["reconstruct", "c.npy", "-o", "c.csv", "--original", "extreme.csv", "--plot",
      "--plot-file", "c.png"],
     ["info", "c.npy"]],
    [["compress", "names.csv", "--max-error", "0.01", "-o", "n.hippo"],
     ["reconstruct", "n.hippo", "-o", "n.csv", "--original", "names.csv", "--plot",
      "--plot-file", "n.png"]],
    [["compress", "names.csv", "-N", "8", "-o", "m.npy"],
     ["reconstruct", "m.npy", "-o", "m.csv", "--original", "names.csv", "--plot",
      "--plot-file", "m.png"]],
], ids=["extreme-hippo", "extreme-coefficients", "cjk-hippo", "cjk-coefficients"])
def test_cli_says_no_raw_warning(inputs, steps):
    for args in steps:
        res = _cli(*args, cwd=inputs)
        assert res.returncode == 0, (args, res.stderr)
        assert "Warning" not in res.stderr, (args, res.stderr)
        assert all(line.startswith("hippo: ") for line in res.stderr.splitlines()), res.stderr
        if "--plot" in args:
            assert "Glyph" not in res.stderr
            if "names.csv" in args:  # the font lacks CJK: said once, naming the characters
                notes = [ln for ln in res.stderr.splitlines() if "no glyph" in ln]
                assert len(notes) == 1 and "温" in notes[0], res.stderr


def test_percentage_of_a_range_spanning_the_floats_is_finite():
    lo, hi = np.array([-1.7e308, 0.0]), np.array([1.7e308, 1.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow on the way
        bounds = MaxError(1.0, True).bounds(lo, hi)
    assert bounds == pytest.approx([3.4e306, 0.01])
    with pytest.raises(Exception, match="beyond the float range"):
        MaxError(60.0, True).bounds(lo, hi)


def test_metrics_of_huge_values_are_finite_and_equal_scaled_ones():
    rng = np.random.default_rng(0)
    truth = rng.normal(size=(1000, 2))
    values = truth + rng.normal(scale=0.01, size=truth.shape)
    plain, huge = ErrorMetrics(["x", "y"]), ErrorMetrics(["x", "y"])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for lo in range(0, 1000, 300):  # in chunks: the scale grows between them
            plain.add(values[lo:lo + 300], truth[lo:lo + 300])
            huge.add(values[lo:lo + 300] * 1e307, truth[lo:lo + 300] * 1e307)
        p, h = plain.report(), huge.report()
    for a, b in zip(p, h):
        for key in ("rmse", "mae", "max_abs_error", "p99_abs_error"):
            assert math.isfinite(b[key])
            assert b[key] == pytest.approx(a[key] * 1e307, rel=1e-9)
        assert b["rmse_over_std"] == pytest.approx(a["rmse_over_std"], rel=1e-9)


def test_an_error_beyond_the_float_range_is_inf_not_a_warning():
    m = ErrorMetrics(["x"])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        m.add(np.array([[1.7e308], [0.0]]), np.array([[-1.7e308], [0.0]]))
        r = m.report()[0]
    assert r["max_abs_error"] == math.inf and r["rmse"] == math.inf
    assert r["p99_abs_error"] == math.inf


def test_library_leaves_warning_filters_alone(tmp_path):
    """Importing the package and drawing a figure change no process-wide filter."""
    code = (  # numpy adds filters of its own when imported: the snapshot is after it
        "import warnings, numpy, pandas, scipy.linalg, matplotlib.pyplot\n"
        "before = list(warnings.filters)\n"
        "import hippo_cli, hippo_cli.cli, hippo_cli.pipelines.plot as p\n"
        "from hippo_cli.cli.app import warnings_said\n"
        "with p.drawing():\n"
        "    warnings.warn('kept', UserWarning)\n"
        "with warnings_said():\n"
        "    warnings.warn('said', UserWarning)\n"
        "assert list(warnings.filters) == before, 'filters changed'\n"
        "assert warnings.showwarning is warnings._showwarning_orig\n"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=dict(os.environ, PYTHONPATH=str(ROOT)), timeout=120)
    assert res.returncode == 0, res.stderr
    assert "UserWarning: kept" in res.stderr  # a library user still sees other warnings
    assert "hippo: warning: said" in res.stderr
