"""One round trip per measure through the CLI, with a plot for the README's measure table.

    python examples/measures.py [OUTDIR]     (default docs/measures)

The same 4000-sample signal (a slow drift, two tones and a step) is compressed with each
measure (N = 32, one row at the end) and the history held by the last row is reconstructed
with --original and --plot.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np

HIPPO = [sys.executable, "-m", "hippo_cli"]
RUNS = {
    "legs": [],
    "legt": ["--theta", "1500", "--init", "steady"],
    "lmu": ["--theta", "1500", "--init", "steady"],
    "fout": ["--theta", "1500", "--init", "steady"],
    "lagt": ["--dt", "0.01", "--init", "steady"],
    "tlagt": ["--dt", "0.01", "--init", "steady"],
    "glagt": ["--dt", "0.01", "--init", "steady"],
    "foud": ["--dt", "0.01", "--init", "steady"],
    "legsd": ["--dt", "0.01", "--init", "steady"],
}


def main() -> None:
    out = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).parents[1] / "docs/measures")
    out.mkdir(parents=True, exist_ok=True)
    t = np.arange(4000)
    u = 0.3 * t / 4000 + np.sin(2 * np.pi * t / 1300) + 0.4 * np.sin(2 * np.pi * t / 310)
    u += np.where(t > 2600, 0.8, 0.0)
    np.save(out / "signal.npy", u)
    for measure, options in RUNS.items():
        coeffs = out / f"{measure}.npy"
        subprocess.run([*HIPPO, "compress", str(out / "signal.npy"), "-m", measure, "-N", "32",
                        "--every", "4000", "-q", "-o", str(coeffs), *options], check=True)
        res = subprocess.run([*HIPPO, "reconstruct", str(coeffs), "--original",
                              str(out / "signal.npy"), "-f", "--plot", "--plot-file",
                              str(out / f"{measure}.png")], capture_output=True, text=True,
                             check=True)
        print(f"{measure:6s} {res.stderr.splitlines()[0].split(': ', 1)[1]}")
        coeffs.unlink()
        Path(str(coeffs) + ".json").unlink()
    (out / "signal.npy").unlink()


if __name__ == "__main__":
    main()
