"""Warm speed of the bounded-error codec kernels (encode / decode M samples/s of process CPU
time, best of a few runs: robust on a shared machine; the kernels use one thread), and the time
of the first calls (the cold compile time if NUMBA_CACHE_DIR is empty).

    PYTHONPATH=. python benchmarks/codec_speed.py [--data DIR] [--repeat 5]

Inputs: 10^6 samples of a random walk and of a noisy sine, the real series Lightning (one
column ``value``, from ``DIR/Lightning.csv.xz`` if present), eps = 1% and 0.01% of the range;
10^6 jittered time stamps for the time codec.
"""

from __future__ import annotations

import argparse
import lzma
import time
from pathlib import Path

import numpy as np

DEFAULT = Path(__file__).resolve().parents[2] / "shared" / "bench" / "compression"


def _inputs(data: Path) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    n = 10**6
    sigs = {
        "random walk": np.cumsum(rng.standard_normal(n)),
        "noisy sine": np.sin(np.arange(n) / 300.0) + 1e-3 * rng.standard_normal(n),
    }
    f = data / "Lightning.csv.xz"
    if f.exists():
        with lzma.open(f, "rt") as fh:
            next(fh)
            sigs["Lightning"] = np.array([float(v) for v in fh], np.float64)
    return sigs


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", type=Path, default=DEFAULT)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--rel", type=float, nargs="+", default=[1e-2, 1e-4], help="eps / range")
    args = ap.parse_args()
    t0 = time.perf_counter()
    c0 = time.process_time()
    import hippo_cli
    from hippo_cli.codec import grid

    x = np.cumsum(np.random.default_rng(1).standard_normal(5000))
    e = grid.ChannelEncoder(0.05)
    e.push(x)
    p = e.flush()
    grid.ChannelDecoder(0.05).decode(p, 5000)
    grid.decode_times(grid.encode_times(np.arange(10, dtype=np.int64) ** 2), 10)
    print(f"{Path(hippo_cli.__file__).parent}: first calls (compile or cache load) "
          f"{time.perf_counter() - t0:.2f} s wall, {time.process_time() - c0:.2f} s CPU")
    frame = 65536
    cases = [(name, x, rel) for name, x in _inputs(args.data).items() for rel in args.rel]
    for name, x, rel in cases:
        eps = rel * float(np.ptp(x))
        n = x.shape[0]
        te, td = [], []
        for _ in range(args.repeat):
            t = time.process_time()
            enc = grid.ChannelEncoder(eps)
            payloads = []
            for i in range(0, n, frame):
                enc.push(x[i : i + frame])
                payloads.append(enc.flush())
            te.append(time.process_time() - t)
            t = time.process_time()
            dec = grid.ChannelDecoder(eps)
            for k, i in enumerate(range(0, n, frame)):
                dec.decode(payloads[k], min(frame, n - i))
            td.append(time.process_time() - t)
        size = sum(len(p) for p in payloads)
        print(f"{name:12s} {rel:6g} n={n:8d} CR {8 * n / size:7.1f}"
              f"  encode {n / min(te) / 1e6:6.2f} M/s  decode {n / min(td) / 1e6:6.2f} M/s")
    rng = np.random.default_rng(2)
    t_ = 1_700_000_000_000_000_000 + np.cumsum(10**6 + rng.integers(-1000, 1000, 10**6))
    te, td = [], []
    for _ in range(args.repeat):
        t = time.process_time()
        ps = [grid.encode_times(t_[i : i + frame]) for i in range(0, t_.shape[0], frame)]
        te.append(time.process_time() - t)
        t = time.process_time()
        for k, i in enumerate(range(0, t_.shape[0], frame)):
            grid.decode_times(ps[k], min(frame, t_.shape[0] - i))
        td.append(time.process_time() - t)
    m = t_.shape[0]
    print(f"{'times':19s} n={m:8d}           "
          f"  encode {m / min(te) / 1e6:6.2f} M/s  decode {m / min(td) / 1e6:6.2f} M/s")


if __name__ == "__main__":
    main()
