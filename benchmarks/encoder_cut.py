"""The default level's encoder with and without abandoning the candidates that can no longer be
coded (the kernels' ``_cut``; ``ChannelEncoder(cut=0)`` costs every candidate in full, as
before), on the real series of ``../shared/bench/compression`` and the held-out families of
``benchmarks/codec.py``, at 0.1/0.5/1/5% of the range. One thread, in process; the two run in
turn (interleaved, paired), median of ``--repeat``; the payloads must be byte-identical (exit 1
otherwise).

    PYTHONPATH=. python benchmarks/encoder_cut.py [--repeat 7] [--data DIR]
"""

from __future__ import annotations

import argparse
import math
import os
import time
from pathlib import Path

import numpy as np
import pandas as pd
from codec import DEFAULT, heldout_series

from hippo_cli.codec import _kernels as K
from hippo_cli.codec.grid import ChannelEncoder

REAL = ["BTCUSD", "ETHUSD", "FaceFour", "Lightning", "MoteStrain"]
BOUNDS = [0.001, 0.005, 0.01, 0.05]


def _encode(enc: ChannelEncoder, x: np.ndarray) -> bytes:
    enc.push(x)
    return enc.flush()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--data", type=Path, default=DEFAULT)
    args = ap.parse_args()
    series = {n: pd.read_csv(args.data / f"{n}.csv.xz")["value"].to_numpy(float) for n in REAL}
    series.update(heldout_series())
    print(f"# {os.uname().machine}, load average {os.getloadavg()[0]:.1f} at start; one thread, "
          f"ns per sample, median of {args.repeat} interleaved runs\n")
    print("| series | n | bound | bytes | every candidate | with the cut | speed-up | "
          "candidates cut |")
    print("|---|---|---|---|---|---|---|---|")
    _encode(ChannelEncoder(1.0), np.arange(5000.0))  # compile or load outside the timings
    gains: dict[str, list[float]] = {"real": [], "held-out": []}
    differ = 0
    for name, x in series.items():
        for pct in BOUNDS:
            eps = pct * float(np.nanmax(x) - np.nanmin(x))
            full, cut = ChannelEncoder(eps, cut=0), ChannelEncoder(eps, cut=1)
            times: dict[str, list[float]] = {"full": [], "cut": []}
            for _ in range(args.repeat):
                for key, enc in (("full", full), ("cut", cut)):
                    t0 = time.perf_counter()
                    payload = _encode(enc, x)
                    times[key].append(time.perf_counter() - t0)
                    if key == "full":
                        want = payload
                    elif payload != want:
                        differ += 1
            ns = {k: float(np.median(v)) / len(x) * 1e9 for k, v in times.items()}
            gain = ns["full"] / ns["cut"]
            gains["real" if name in REAL else "held-out"].append(gain)
            cuts = int(cut.stats[K.CUTS]) // args.repeat
            print(f"| {name} | {len(x)} | {pct:g} | {len(want)} | {ns['full']:.1f} | "
                  f"{ns['cut']:.1f} | {gain:.2f}x | {cuts} |")
    print()
    for group, g in gains.items():
        gm = math.exp(sum(math.log(v) for v in g) / len(g))
        print(f"{group}: speed-up geometric mean {gm:.3f}x, lowest {min(g):.2f}x, "
              f"highest {max(g):.2f}x over {len(g)} cells")
    print("bytes: " + ("identical in every cell" if differ == 0 else f"{differ} RUNS DIFFER"))
    return 1 if differ else 0


if __name__ == "__main__":
    raise SystemExit(main())
