"""Compression at equal ratio: hippo (through the real CLI) against offline baselines.

    python -m pip install -e '.[examples]'
    python benchmarks/compression.py [--plot docs/compression.png]

Every method stores N = 16 numbers per K = ratio x 16 samples (PAA: one mean per `ratio`
samples), so the payload ratio is equal; the table also gives hippo's measured ratio counting
all bytes stored (.npy with its 256-byte header plus the JSON sidecar), which is lower on
short series. NRMSE = RMSE / (max - min) over the samples covered (series cut to a multiple
of K; co2's 59 gaps linearly interpolated first).

hippo methods: LegS block mode (--reset-every K), sliding LegT (theta = every = K, --init
steady), LagT (every = K, dt = 8 / K, --init steady). Offline baselines computed here: per-block
Legendre least squares (the optimum for the basis), PAA (block means), block DCT (keep the
first N of scipy.fft.dct).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import scipy.fft
from numpy.polynomial import legendre

N = 16
RATIOS = (8, 32)
HIPPO = [sys.executable, "-m", "hippo_cli"]


def datasets() -> dict[str, np.ndarray]:
    import statsmodels.api as sm

    rng = np.random.default_rng(0)
    t = np.arange(1 << 16)
    return {
        "co2 (weekly)": sm.datasets.co2.load_pandas().data["co2"].interpolate().to_numpy(),
        "elnino (monthly)": sm.datasets.elnino.load_pandas().data.iloc[:, 1:].to_numpy().ravel(),
        "sunspots (yearly)": sm.datasets.sunspots.load_pandas().data["SUNACTIVITY"].to_numpy(),
        "synthetic 65536": np.cumsum(rng.standard_normal(t.size)) * 0.01 + np.sin(t / 200),
    }


def nrmse(approx: np.ndarray, u: np.ndarray) -> float:
    return float(np.sqrt(np.mean((approx - u) ** 2)) / (u.max() - u.min()))


def per_block(u: np.ndarray, K: int, fit) -> np.ndarray:
    return np.concatenate([fit(u[s : s + K]) for s in range(0, len(u), K)])


def legendre_lsq(block: np.ndarray) -> np.ndarray:
    x = 2 * (np.arange(len(block)) + 0.5) / len(block) - 1
    return legendre.legval(x, legendre.legfit(x, block, N - 1))


def block_dct(block: np.ndarray) -> np.ndarray:
    c = scipy.fft.dct(block, norm="ortho")
    c[N:] = 0
    return scipy.fft.idct(c, norm="ortho")


def hippo_cli(u: np.ndarray, args: list[str], tmp: Path) -> tuple[float, float]:
    """(NRMSE, ratio counting all bytes) of compress + reconstruct --all through the CLI."""
    np.save(tmp / "u.npy", u)
    out = tmp / "c.npy"
    subprocess.run([*HIPPO, "compress", str(tmp / "u.npy"), "-N", str(N), "-q", "-f", "-o",
                    str(out), *args], check=True)
    subprocess.run([*HIPPO, "reconstruct", str(out), "--all", "-f", "-o", str(tmp / "r.csv")],
                   check=True, capture_output=True)
    recon = np.loadtxt(tmp / "r.csv", delimiter=",", skiprows=1, usecols=1)
    stored = out.stat().st_size + Path(str(out) + ".json").stat().st_size
    return nrmse(recon, u), u.size * 8 / stored


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--plot", help="write a bar chart of the NRMSE to this PNG")
    args = ap.parse_args()
    rows, results = [], {}
    with tempfile.TemporaryDirectory(prefix="hippo-cmp-") as d:
        tmp = Path(d)
        for name, series in datasets().items():
            for ratio in RATIOS:
                K = ratio * N
                u = series[: len(series) // K * K]
                if len(u) == 0:
                    continue
                legs, legs_ratio = hippo_cli(u, ["--reset-every", str(K)], tmp)
                legt, _ = hippo_cli(u, ["--measure", "legt", "--theta", str(K), "--every",
                                        str(K), "--init", "steady"], tmp)
                lagt, _ = hippo_cli(u, ["--measure", "lagt", "--dt", str(8 / K), "--every",
                                        str(K), "--init", "steady"], tmp)
                lsq = nrmse(per_block(u, K, legendre_lsq), u)
                paa = nrmse(per_block(u, ratio, lambda b: np.full(len(b), b.mean())), u)
                dct = nrmse(per_block(u, K, block_dct), u)
                results[(name, ratio)] = {"LegS block": legs, "LegT sliding": legt,
                                          "LagT": lagt, "Legendre LSQ": lsq, "PAA": paa,
                                          "block DCT": dct}
                rows.append([name, f"{ratio}", f"{len(u)}", f"{legs_ratio:.1f}", f"{legs:.4g}",
                             f"{legt:.4g}", f"{lagt:.4g}", f"{lsq:.4g}", f"{paa:.4g}",
                             f"{dct:.4g}", f"{legs / lsq:.3f}", f"{legt / lsq:.3f}"])
    header = ["series", "ratio", "samples", "hippo ratio, all bytes", "LegS block", "LegT sliding",
              "LagT", "Legendre LSQ (offline)", "PAA (offline)", "block DCT (offline)",
              "LegS / LSQ", "LegT / LSQ"]
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for r in rows:
        print("| " + " | ".join(r) + " |")
    if args.plot:
        plot(results, args.plot)


def plot(results: dict, path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    methods = ["LegS block", "LegT sliding", "LagT", "Legendre LSQ", "PAA", "block DCT"]
    keys = list(results)
    fig, ax = plt.subplots(figsize=(11, 4.5))
    width = 0.8 / len(methods)
    for i, m in enumerate(methods):
        vals = [results[k][m] for k in keys]
        ax.bar(np.arange(len(keys)) + i * width, vals, width, label=m,
               hatch="//" if m in ("Legendre LSQ", "PAA", "block DCT") else None)
    ax.set_xticks(np.arange(len(keys)) + 0.4 - width / 2)
    ax.set_xticklabels([f"{n}\nratio {r}" for n, r in keys], fontsize="small")
    ax.set_yscale("log")
    ax.set_ylabel("NRMSE (log scale)")
    ax.set_title(f"Equal payload ratio, N = {N}: hippo (online) vs offline baselines (hatched)")
    ax.legend(ncol=3, fontsize="small")
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    print(f"\nplot written to {path}")


if __name__ == "__main__":
    main()
