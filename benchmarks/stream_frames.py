"""What a stream flushed often costs over a one-shot file: independent (key) frames against
chained frames (format version 3), on the real series of the compression benchmark.

    PYTHONPATH=. python benchmarks/stream_frames.py [--data DIR] [--flush 4096] [--pct 0.01]

For every series of ``DIR`` (default ``../shared/bench/compression``), eps = pct x range:
bytes of ``hippo_cli.encode`` (one-shot, frames of up to 2^20 samples) and of a stream
written by ``HippoWriter`` with ``frame_samples=flush`` (what ``hippo stream --flush-every``
writes when lines arrive faster than its 10 s timer), with every frame a key frame
(``key_every=0``, format version 2) and chained (``key_every`` = 2^20, the stream's
default); every decoded sample checked against its bound. The issue's target: chained
<= 5% over one-shot at 1%. The per-frame floor is printed too: a frame's head (sample count,
payload length, CRC-32, flags) and its coder's final bytes, which no chaining removes.
"""

from __future__ import annotations

import argparse
import io
import math
from pathlib import Path

import numpy as np
import pandas as pd

from hippo_cli import decode, encode
from hippo_cli.codec import HippoHeader, HippoWriter

DEFAULT = Path(__file__).resolve().parents[2] / "shared" / "bench" / "compression"


def stream_bytes(x: np.ndarray, eps: float, flush: int, key_every: int) -> bytes:
    buf = io.BytesIO()
    with HippoWriter(buf, HippoHeader(["value"], [eps]), frame_samples=flush,
                     key_every=key_every) as w:
        w.append(x)
    return buf.getvalue()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DEFAULT)
    ap.add_argument("--flush", type=int, default=4096, help="samples per frame [4096]")
    ap.add_argument("--pct", type=float, default=0.01, help="bound, share of the range [0.01]")
    args = ap.parse_args()
    print("| series | n | frames | one-shot bytes | key frames bytes (over one-shot) | "
          "chained bytes (over one-shot) | per-frame floor | target <= 5% |")
    print("|---|---|---|---|---|---|---|---|")
    over = []
    for path in sorted(args.data.glob("*.csv.xz")):
        x = pd.read_csv(path)["value"].to_numpy(float)
        eps = args.pct * float(x.max() - x.min())
        one = encode(x, eps)
        keys = stream_bytes(x, eps, args.flush, 0)
        chained = stream_bytes(x, eps, args.flush, 1 << 20)
        for data in (one, keys, chained):
            y, _ = decode(data)
            assert np.all(np.abs(y[:, 0] - x) <= eps), path.name
        frames = math.ceil(len(x) / args.flush)
        head = 2 + 2 + 4 + 1  # varints of n and length, CRC-32, flags (typical)
        rel_k, rel_c = len(keys) / len(one) - 1, len(chained) / len(one) - 1
        over.append(rel_c)
        floor = frames * head / len(one)
        print(f"| {path.name.split('.')[0]} | {len(x)} | {frames} | {len(one)} | {len(keys)} "
              f"({rel_k:+.1%}) | {len(chained)} ({rel_c:+.1%}) | {frames} x ~{head} B = "
              f"{floor:+.1%} | {'met' if rel_c <= 0.05 else 'MISSED'} |")
    print(f"\nchained over one-shot: geometric mean {math.exp(np.mean(np.log1p(over))) - 1:+.1%}, "
          f"largest {max(over):+.1%}; every decoded sample within its bound")


if __name__ == "__main__":
    main()
