"""Compress three real series that ship inside statsmodels, reconstruct them, plot them.

    python -m pip install -e '.[examples]' && python examples/real_data.py [OUTDIR]

co2 (weekly Mauna Loa CO2, 2284 weeks, 59 gaps): LegS block mode, gaps held (--nan hold).
sunspots (309 yearly values): error-targeted LegS blocks (--tolerance, RMSE per block).
elnino (61 years x 12 monthly sea temperatures): sliding LegT, one 10-year window per row.
Each run prints the hippo commands it executes; PNGs go to OUTDIR (default examples/out).
"""

from __future__ import annotations

import shlex
import subprocess
import sys
from pathlib import Path

import statsmodels.api as sm

HIPPO = [sys.executable, "-m", "hippo_cli"]


def run(*args: str) -> str:
    print("$ hippo " + " ".join(shlex.quote(a) for a in args), flush=True)
    res = subprocess.run([*HIPPO, *args], capture_output=True, text=True, check=True)
    sys.stdout.write(res.stderr)
    return res.stderr


def main() -> None:
    out = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).parent / "out")
    out.mkdir(parents=True, exist_ok=True)
    co2 = sm.datasets.co2.load_pandas().data
    co2.index.name = "week"
    co2.to_csv(out / "co2.csv")  # gaps stay empty cells
    sun = sm.datasets.sunspots.load_pandas().data
    sun.to_csv(out / "sunspots.csv", index=False, columns=["YEAR", "SUNACTIVITY"])
    nino = sm.datasets.elnino.load_pandas().data.set_index("YEAR").stack()
    nino.rename("sea_temp").to_csv(out / "elnino.csv", index=False, header=True)

    jobs = [
        ("co2", ["--column", "co2", "--nan", "hold", "-N", "16", "--reset-every", "128"]),
        ("sunspots", ["--column", "SUNACTIVITY", "-N", "16", "--tolerance", "12",
                      "--error", "rmse"]),
        ("elnino", ["--measure", "legt", "--theta", "120", "--every", "120", "-N", "24",
                    "--init", "steady"]),
    ]
    for name, options in jobs:
        csv, coeffs = out / f"{name}.csv", out / f"{name}.coeffs.npy"
        run("compress", str(csv), "-f", "-o", str(coeffs), *options)  # -f: a rerun replaces
        run("reconstruct", str(coeffs), "--all", "--original", str(csv), "--plot", "-f",
            "--plot-file", str(out / f"real-{name}.png"))


if __name__ == "__main__":
    main()
