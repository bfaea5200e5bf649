"""The per-pixel envelope of a plot (min/max of each bucket of consecutive samples): the old
``np.fmin.at``/``np.fmax.at`` scatter against the ``np.minimum.reduceat`` bins of
:class:`hippo_cli.pipelines.envelope.Envelope`, at 10^7 samples (median of 5 interleaved runs,
wall clock; the run also checks that both give the same bands).

    PYTHONPATH=. python benchmarks/envelope.py [--samples 10000000] [--repeat 5] [--chunk 0]

``--chunk K`` feeds K samples at a time (as the decoders do; 0: all at once). A sine with 1%
NaN, one channel, 2000 buckets across.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from hippo_cli.pipelines.envelope import Envelope


def old_add(env: Envelope, pos: np.ndarray, **series: np.ndarray) -> None:
    """The envelope's update before reduceat (0.3.0): a scatter per sample."""
    b = pos // env.size
    for name, v in series.items():
        if name not in env.lo:
            env.lo[name] = np.full((env.buckets, env.channels), np.inf)
            env.hi[name] = np.full((env.buckets, env.channels), -np.inf)
        np.fmin.at(env.lo[name], b, np.where(np.isnan(v), np.inf, v))
        np.fmax.at(env.hi[name], b, np.where(np.isnan(v), -np.inf, v))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--samples", type=int, default=10**7)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--chunk", type=int, default=0)
    args = ap.parse_args()
    n = args.samples
    rng = np.random.default_rng(0)
    v = np.sin(np.arange(n) / 5000.0)[:, None]
    v[rng.random(n) < 0.01] = np.nan
    pos = np.arange(n, dtype=np.int64)
    xs = pos.astype(np.float64)
    chunk = args.chunk or n

    def run(new: bool) -> tuple[float, Envelope]:
        env = Envelope(n, 1)
        t0 = time.perf_counter()
        for s in range(0, n, chunk):
            if new:
                env.add(pos[s:s + chunk], xs[s:s + chunk], decoded=v[s:s + chunk])
            else:
                old_add(env, pos[s:s + chunk], decoded=v[s:s + chunk])
        return time.perf_counter() - t0, env

    old_t, new_t = [], []
    for _ in range(args.repeat):  # interleaved: both see the same machine load
        t, old_env = run(False)
        old_t.append(t)
        t, new_env = run(True)
        new_t.append(t)
    old_lo = np.where(np.isinf(old_env.lo["decoded"]), np.nan, old_env.lo["decoded"])
    old_hi = np.where(np.isinf(old_env.hi["decoded"]), np.nan, old_env.hi["decoded"])
    assert np.array_equal(old_lo, new_env.lo["decoded"], equal_nan=True)
    assert np.array_equal(old_hi, new_env.hi["decoded"], equal_nan=True)
    o, w = statistics.median(old_t), statistics.median(new_t)
    print(f"{n:,} samples, chunk {chunk:,}, median of {args.repeat}: "
          f"fmin.at {o:.3f} s, reduceat {w:.3f} s: {o / w:.0f}x")


if __name__ == "__main__":
    main()
