"""Write a realistic multi-channel sensor CSV for the README walk-through.

    python examples/make_sensor_csv.py sensor.csv [--rows 20000] [--seed 0]

Columns: an ISO timestamp (1 s apart; hippo leaves it out), a temperature with daily-like
cycles, slow drift and sensor noise, and a vibration channel (two tones with a slowly varying
amplitude plus noise).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd


def sensor_frame(rows: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    t = np.arange(rows, dtype=np.float64)
    u = t / rows
    temperature = (21.0 + 2.5 * np.sin(2 * np.pi * 3 * u) + 0.8 * np.sin(2 * np.pi * 7 * u + 1.0)
                   + 1.5 * u + 0.02 * rng.standard_normal(rows))
    envelope = 1.0 + 0.5 * np.sin(2 * np.pi * 2 * u)
    vibration = (envelope * (0.6 * np.sin(2 * np.pi * 6 * u) + 0.25 * np.sin(2 * np.pi * 11 * u))
                 + 0.01 * rng.standard_normal(rows))
    stamps = pd.date_range("2026-01-01", periods=rows, freq="s")
    return pd.DataFrame({"time": stamps.strftime("%Y-%m-%dT%H:%M:%S"),
                         "temperature": temperature.round(4), "vibration": vibration.round(5)})


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("path")
    ap.add_argument("--rows", type=int, default=20_000)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    Path(args.path).parent.mkdir(parents=True, exist_ok=True)
    sensor_frame(args.rows, args.seed).to_csv(args.path, index=False)
    print(f"wrote {args.rows} rows to {args.path}")


if __name__ == "__main__":
    main()
