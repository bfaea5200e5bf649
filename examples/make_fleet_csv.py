"""Write a fleet of sensor series for the README's many-series examples.

    python examples/make_fleet_csv.py fleet.csv [data/] [--sensors 20] [--rows 20000]

``fleet.csv`` is long format (sensor, t, v), the sensors interleaved by time; the optional
folder gets one CSV per sensor (t, v).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd


def fleet_frame(sensors: int, rows: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    t = np.arange(rows) * 10.0  # a reading every 10 s
    frames = [pd.DataFrame({"sensor": f"s{i:02d}", "t": t,
                            "v": np.round(np.sin(t / (3000 + 200 * i)) + 0.3 * np.sin(t / 170)
                                          + 0.02 * rng.standard_normal(rows), 5)})
              for i in range(sensors)]
    return pd.concat(frames).sort_values("t", kind="stable").reset_index(drop=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("folder", type=Path, nargs="?")
    ap.add_argument("--sensors", type=int, default=20)
    ap.add_argument("--rows", type=int, default=20_000)
    args = ap.parse_args()
    df = fleet_frame(args.sensors, args.rows)
    df.to_csv(args.out, index=False)
    if args.folder is not None:
        args.folder.mkdir(parents=True, exist_ok=True)
        for sid, part in df.groupby("sensor"):
            part[["t", "v"]].to_csv(args.folder / f"{sid}.csv", index=False)


if __name__ == "__main__":
    main()
