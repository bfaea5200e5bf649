"""Level default's cut frames: what cutting a long single series into 2 or 4 frames costs in
bytes, and what it gives on 2 threads.

    PYTHONPATH=. python benchmarks/frame_cuts.py [--data DIR] [--repeat 5] [--n 1000000]

For 10^6 samples of four series (the real series of ``DIR`` scaled to [0, 1] end to end, a
random walk, a noisy sine, BTCUSD repeated) at 0.5, 1 and 5% of the range: the CR of one
frame (``frame_samples=2**20``), the frames level default makes, their bytes against one
frame, the bytes of fixed frames of 2^18 (the fast level's rule) for comparison, and the
encode and decode speed-ups of 2 threads against 1 (median of ``repeat`` runs, the four
timings interleaved). Every file is decoded and checked against its bound.
"""

from __future__ import annotations

import argparse
import io
from pathlib import Path

import numpy as np
from levels import DEFAULT, _paired, series  # this folder (the script's, on sys.path)

from hippo_cli.codec import HippoReader, decode, encode


def _series(data: Path, n: int) -> dict[str, np.ndarray]:
    real = series(data) if data.is_dir() else {}
    rng = np.random.default_rng(1)
    cases = {}
    if real:
        cases["the real series end to end"] = np.resize(
            np.concatenate([(x - x.min()) / np.ptp(x) for x in real.values()]), n)
    cases["random walk"] = np.cumsum(rng.normal(size=n))
    cases["noisy sine"] = np.sin(np.arange(n) * 2 * np.pi / 5000) + 0.01 * rng.normal(size=n)
    if "BTCUSD" in real:
        cases["BTCUSD repeated"] = np.resize(real["BTCUSD"], n)
    return cases


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=DEFAULT)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--n", type=int, default=10**6)
    args = ap.parse_args()
    print("| series | bound | CR (one frame) | frames | bytes | fixed 2^18 frames | "
          "encode 2 threads / 1 | decode 2 threads / 1 |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for name, x in _series(args.data, args.n).items():
        for pct in (0.005, 0.01, 0.05):
            eps = pct * float(np.ptp(x))
            one = encode(x, eps, frame_samples=1 << 20, threads=1)
            fixed = encode(x, eps, frame_samples=1 << 18, threads=2)
            cut = encode(x, eps, threads=1)
            assert cut == encode(x, eps, threads=2)
            y = decode(cut, threads=2)[0][:, 0]
            assert np.all(np.abs(y - x) <= eps)
            with HippoReader(io.BytesIO(cut), "<bytes>", threads=1) as r:
                frames = len(r.index)
            t = _paired({
                "e1": lambda: encode(x, eps, threads=1),  # noqa: B023
                "e2": lambda: encode(x, eps, threads=2),  # noqa: B023
                "d1": lambda: decode(cut, threads=1),  # noqa: B023
                "d2": lambda: decode(cut, threads=2),  # noqa: B023
            }, args.repeat)
            print(f"| {name} | {100 * pct:g}% | {8 * len(x) / len(one):.1f} | {frames} | "
                  f"{100 * (len(cut) / len(one) - 1):+.2f}% | "
                  f"{100 * (len(fixed) / len(one) - 1):+.2f}% | {t['e1'] / t['e2']:.2f}x | "
                  f"{t['d1'] / t['d2']:.2f}x |", flush=True)


if __name__ == "__main__":
    main()
