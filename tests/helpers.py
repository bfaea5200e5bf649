from __future__ import annotations

import shutil

import numpy as np
import pytest


def require(*programs: str) -> None:
    """Skip the calling test unless every external program it runs is on PATH."""
    missing = [p for p in programs if shutil.which(p) is None]
    if missing:
        pytest.skip(f"{', '.join(missing)} not installed: this test runs "
                    f"{'it' if len(missing) == 1 else 'them'}")


def rel_err(got, want) -> float:
    """Norm-wise relative error: max |got - want| / max |want|."""
    got = np.asarray(got, dtype=np.float64)
    want = np.asarray(want, dtype=np.float64)
    assert got.shape == want.shape, (got.shape, want.shape)
    scale = np.max(np.abs(want))
    return float(np.max(np.abs(got - want)) / (scale if scale > 0 else 1.0))
