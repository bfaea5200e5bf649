"""Encoder throughput against a numpy per-step loop, measured in the same run.

    python benchmarks/encoder.py [--samples 1000000] [--N 64]

Prints a table of samples/s. The numpy peer is the cheapest honest per-step loop: a dense
precomputed ``c = Ad @ c + Bd * f`` (for LegS that is optimistic - LegS needs new matrices
every step; here it is given the LTI cost). The first encoder call is a warm-up (numba
compile or cache load) and is not timed.
"""

from __future__ import annotations

import argparse
import platform
import time

import numpy as np

from hippo_cli import HiPPO, discretize, transition


def numpy_loop(Ad: np.ndarray, Bd: np.ndarray, u: np.ndarray) -> np.ndarray:
    c = np.zeros(Ad.shape[0])
    for f in u:
        c = Ad @ c + Bd * f
    return c


def numpy_legs_loop(A: np.ndarray, B: np.ndarray, u: np.ndarray) -> np.ndarray:
    """The obvious LegS loop: a bilinear step of A/tau, B/tau solved densely every sample."""
    eye = np.eye(A.shape[0])
    c = np.zeros(A.shape[0])
    c[0] = u[0]
    for k in range(1, len(u)):
        tau = k + 0.5
        c = np.linalg.solve(eye - A / (2 * tau), c + A @ c / (2 * tau) + B * (u[k] / tau))
    return c


def rate(fn, n: int, repeat: int = 3) -> float:
    best = np.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return n / best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samples", type=int, default=1_000_000)
    ap.add_argument("--numpy-samples", type=int, default=50_000)
    ap.add_argument("--N", type=int, default=64)
    ap.add_argument("--every", type=int, default=1000)
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    u = np.sin(np.arange(args.samples) / 500.0) + 0.1 * rng.standard_normal(args.samples)
    print(f"# {platform.processor() or platform.machine()}, {platform.python_version()}, "
          f"N = {args.N}, {args.samples} samples, every = {args.every}")
    print(f"{'case':<28}{'hippo (M samples/s)':>22}{'numpy loop (M/s)':>20}{'speed-up':>10}")
    cases = [
        ("legs bilinear", {"measure": "legs"}),
        ("legs zoh", {"measure": "legs", "method": "zoh"}),
        ("lagt bilinear", {"measure": "lagt", "dt": 1e-3}),
        ("legt bilinear (dense)", {"measure": "legt", "theta": 1000}),
    ]
    for name, kw in cases:
        HiPPO(N=args.N, **kw).update(u[:1000])  # warm-up: compile / load the numba cache

        def run(kw=kw):
            HiPPO(N=args.N, **kw).update(u, every=args.every)

        ours = rate(run, len(u))
        A, B = transition(kw["measure"], args.N)
        Ad, Bd = discretize(A, B, 1e-3, "bilinear")
        m = args.numpy_samples
        peer = rate(lambda Ad=Ad, Bd=Bd, m=m: numpy_loop(Ad, Bd, u[:m]), m, repeat=1)
        print(f"{name:<28}{ours / 1e6:>22.2f}{peer / 1e6:>20.3f}{ours / peer:>9.0f}x")
        if kw["measure"] == "legs" and "method" not in kw:
            m = args.numpy_samples // 10
            legs_peer = rate(lambda A=A, B=B, m=m: numpy_legs_loop(A, B, u[:m]), m, repeat=1)
            print(f"{'  vs numpy LegS per-step solve':<50}{legs_peer / 1e6:>20.3f}"
                  f"{ours / legs_peer:>9.0f}x")


if __name__ == "__main__":
    main()
