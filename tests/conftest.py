from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

GOLDEN = Path(__file__).parent / "data" / "golden"


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
