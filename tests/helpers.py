from __future__ import annotations

import shutil
import subprocess
import time

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


def wait_for(reached, proc: subprocess.Popen, fallback: float) -> None:
    """Poll until ``reached()`` is true: the child is in the state the test is about (it
    must not end before). ``reached()`` is None where the system cannot tell: then wait
    ``fallback`` seconds; a state never seen in 30 s (a kernel hiding it) is assumed."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        state = reached()
        if state is None:
            time.sleep(fallback)
            return
        if state:
            return
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else proc.returncode
        time.sleep(0.01)


def waits_on_a_pipe(proc: subprocess.Popen):
    """Whether the child's main thread sleeps in a pipe read or write (Linux's
    /proc/PID/wchan; None elsewhere)."""
    try:
        with open(f"/proc/{proc.pid}/wchan") as f:
            return "pipe" in f.read()
    except OSError:
        return None
