from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import scipy.linalg  # noqa: F401 - loads scipy's own BLAS, so that the limit below reaches it

GOLDEN = Path(__file__).parent / "data" / "golden"


def _one_blas_thread() -> None:
    """One BLAS thread in the test process (unless OPENBLAS_NUM_THREADS says otherwise).

    The references in ``naive`` and the quadratures make many thousands of calls on tiny
    matrices (expm of 8 x 8 or 256 x 256 at every step). With OpenBLAS's default of one
    thread per core, its threads spin against each other and against whatever else runs on
    the machine: on a loaded 2-core box a test took 20-60 s of which 4 s were work. numpy
    and scipy each bundle an OpenBLAS, loaded before this file (so the environment variable
    would be too late): threadpoolctl sets both. Results do not depend on it."""
    if "OPENBLAS_NUM_THREADS" in os.environ:
        return
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # an optional speed-up: the tests pass without it
        return
    threadpool_limits(1, user_api="blas")


_one_blas_thread()


def golden_dir() -> Path:
    """The authors' reference trajectories, a compact copy in ``tests/data/golden``."""
    return GOLDEN


@pytest.fixture(scope="session")
def golden() -> Path:
    if not GOLDEN.is_dir():
        pytest.fail(f"golden data not found at {GOLDEN}")
    return GOLDEN


def smooth_signal(L: int, seed: int = 0) -> np.ndarray:
    """A band-limited test signal: offset plus a few slow sinusoids over L samples."""
    rng = np.random.default_rng(seed)
    t = np.arange(L) / L
    freqs = rng.uniform(0.5, 3.0, size=3)
    phases = rng.uniform(0, 2 * np.pi, size=3)
    amps = rng.uniform(0.3, 1.0, size=3)
    return 1.5 + sum(a * np.sin(2 * np.pi * f * t + p) for a, f, p in zip(amps, freqs, phases))
