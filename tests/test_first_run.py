"""A first run on a machine (an empty numba cache): compiling is announced once, a second
process compiles the decoder beside the job and is gone when the job ends, threads that
compile at the same moment get the bytes of a warm run, and a warm run says nothing.

Slow: each test compiles the codec from nothing (seconds). The time it takes is measured by
``benchmarks/first_run.py``, not asserted here."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.slow



def _env(cache: Path) -> dict:
    return {**os.environ, "NUMBA_CACHE_DIR": str(cache)}


def _csv(path: Path, n: int = 3000) -> Path:
    t = np.arange(n)
    rows = "".join(f"2026-01-01T00:{i // 60 % 60:02d}:{i % 60:02d},{np.sin(i / 40):.5f}\n"
                   for i in t)
    path.write_text("time,v\n" + rows)
    return path


def test_a_cold_compress_says_so_once_and_leaves_no_process(tmp_path):
    src = _csv(tmp_path / "s.csv")
    cmd = [sys.executable, "-m", "hippo_cli", "compress", str(src), "--max-error", "1%",
           "-t", "time", "-o"]
    cold = subprocess.run([*cmd, str(tmp_path / "cold.hippo")], capture_output=True,
                          text=True, env=_env(tmp_path / "cache"), timeout=600)
    assert cold.returncode == 0, cold.stderr
    assert cold.stderr.count("compiling the codec for this machine, once") == 1
    warm = subprocess.run([*cmd, str(tmp_path / "warm.hippo")], capture_output=True,
                          text=True, env=_env(tmp_path / "cache"), timeout=600)
    assert warm.returncode == 0 and "compiling" not in warm.stderr
    assert (tmp_path / "cold.hippo").read_bytes() == (tmp_path / "warm.hippo").read_bytes()
    ps = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
    assert "hippo_cli.codec._warm" not in ps  # the helper process ended with the job


def test_threads_that_compile_at_once_get_the_bytes_of_a_warm_run(tmp_path):
    """8 threads start on a cold cache at once: the same bytes as a warm run, and every kernel
    compiled for exactly one signature (the cold run; a warm one loads the entries only).
    Half the jobs have jittered times, so that both modes of the time codec (0 and 2) are
    compiled in the race."""
    script = textwrap.dedent("""
        import sys
        from concurrent.futures import ThreadPoolExecutor
        import numpy as np
        from hippo_cli import decode, encode

        def job(k):
            rng = np.random.default_rng(k)
            x = np.cumsum(rng.standard_normal(20000))
            times = k + 10 * np.arange(20000) + rng.integers(0, 3 * (k % 2) + 1, 20000)
            data = encode(x, 0.1, times=times)
            y, t = decode(data)
            assert np.all(np.abs(y[:, 0] - x) <= 0.1) and np.array_equal(t, times)
            return data.hex()

        with ThreadPoolExecutor(8) as pool:
            sys.stdout.write("\\n".join(pool.map(job, range(8))))
        if sys.argv[1] == "cold":  # every kernel compiled, for exactly one signature
            from hippo_cli.codec import _kernels as K
            entries = [v.dispatcher for v in vars(K).values() if isinstance(v, K._Entry)]
            helpers = [getattr(K, name) for name, _, _ in K._HELPERS]
            # (the kernels these jobs never call, level best's, stay uncompiled)
            compiled = [d for d in entries + helpers if getattr(d, "signatures", None)]
            counts = {d.py_func.__name__: len(d.signatures) for d in compiled}
            assert set(counts.values()) == {1} and len(counts) > 40, counts
            assert "mx_code" not in counts
    """)
    runs = [subprocess.run([sys.executable, "-c", script, when], capture_output=True,
                           text=True, env=_env(tmp_path / "cache"), timeout=600, cwd=tmp_path)
            for when in ("cold", "warm")]
    for run in runs:
        assert run.returncode == 0, run.stderr[-3000:]
    assert runs[0].stdout == runs[1].stdout
