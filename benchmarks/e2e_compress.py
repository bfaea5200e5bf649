"""End-to-end ``hippo compress --max-error 1%`` against ``pandas.read_csv`` + SZ3 per column.

    PYTHONPATH=. python benchmarks/e2e_compress.py [--repeat 5] [--quick]
    PYTHONPATH=. python benchmarks/e2e_compress.py --baseline /path/to/old/checkout

Whole processes, paired and interleaved (every command of a case run in turn in each repeat,
the order reversed every other repeat); the medians of wall time and peak RSS. Cases:

* 64 float columns x 300,000 rows with ISO times: ``hippo compress --max-error 1% -t time``
  against a Python process doing ``pandas.read_csv`` then pysz (SZ3, ABS mode at 1% of each
  column's range, INTERP_LORENZO, its default) on every column;
* 16,000,000 rows x 1 column: ``hippo compress --max-error 1%`` against a ``pandas.read_csv``
  process (and pandas + pysz), and the HiPPO coefficients of the same column,
  ``hippo compress --method exact --every 1000`` (LegS, N = 64: an ``.npy`` and its sidecar).

``--baseline DIR``: also time ``hippo`` run from another checkout (``PYTHONPATH=DIR``, e.g.
the commit before a change): before/after in the same run, and every output of the two
compared byte for byte (a difference is an error). Inputs are generated in a temporary
folder (random walks, 4 decimals) and deleted after.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]

PANDAS_SZ = """
import sys
import numpy as np
import pandas as pd
from pysz import sz, szAlgorithm, szConfig, szErrorBoundMode
df = pd.read_csv(sys.argv[1])
total = 0
for c in df.columns:
    if c == "time":
        continue
    x = np.ascontiguousarray(df[c].to_numpy(np.float64))
    cfg = szConfig()
    cfg.setDims([len(x)])
    cfg.errorBoundMode = szErrorBoundMode.ABS
    cfg.absErrorBound = 0.01 * (float(x.max()) - float(x.min()))
    cfg.cmprAlgo = szAlgorithm.INTERP_LORENZO
    comp, _ = sz.compress(x, cfg)
    total += comp.nbytes
"""

PANDAS = "import sys, pandas as pd; pd.read_csv(sys.argv[1])"


def write_csv(path: Path, rows: int, cols: int, timed: bool) -> None:
    """Random walks with 4 decimals (and ISO times a second apart), written in pieces."""
    import pandas as pd

    rng = np.random.default_rng(0)
    start = np.datetime64("2024-01-01T00:00:00")
    last = np.full(cols, 20.0)
    with open(path, "w") as fh:
        step = 1_000_000 // cols
        for i in range(0, rows, step):
            n = min(step, rows - i)
            x = last + np.cumsum(rng.standard_normal((n, cols)), axis=0)
            last = x[-1]
            df = pd.DataFrame(np.round(x, 4), columns=[f"c{j}" for j in range(cols)])
            if timed:
                df.insert(0, "time", (start + np.arange(i, i + n).astype("timedelta64[s]"))
                          .astype(str))
            df.to_csv(fh, index=False, header=i == 0)


def run(cmd: list[str], env: dict, cwd: Path) -> tuple[float, float]:
    """(wall seconds, peak RSS MB) of one whole process (GNU time's %M when there is one)."""
    timer = ["/usr/bin/time", "-f", "PEAKKB %M"] if os.path.exists("/usr/bin/time") else []
    if "-o" in cmd:  # a repeat writes the same output: removed first (a baseline may not know -f)
        out = Path(cwd, cmd[cmd.index("-o") + 1])
        out.unlink(missing_ok=True)
        Path(f"{out}.json").unlink(missing_ok=True)  # a coefficient file's sidecar
    t0 = time.perf_counter()
    done = subprocess.run(timer + cmd, env=env, cwd=cwd, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if done.returncode != 0:
        raise SystemExit(f"failed: {' '.join(cmd)}\n{done.stderr[-2000:]}")
    peak = float("nan")
    for line in done.stderr.splitlines():
        if line.startswith("PEAKKB"):
            peak = int(line.split()[1]) / 1024
    return wall, peak


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--quick", action="store_true", help="a tenth of the rows, 3 repeats")
    ap.add_argument("--baseline", type=Path, help="another checkout to time hippo from")
    args = ap.parse_args()
    repeat = 3 if args.quick else args.repeat
    scale = 10 if args.quick else 1
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    py = sys.executable
    cases = [("64 cols x 300k, ISO times", 300_000 // scale, 64, True),
             ("1 col x 16M", 16_000_000 // scale, 1, False)]
    rows_out = []
    with tempfile.TemporaryDirectory(prefix="hippo-e2e-") as tmp:
        tmp = Path(tmp)
        for label, rows, cols, timed in cases:
            src = tmp / "in.csv"
            write_csv(src, rows, cols, timed)
            mb = src.stat().st_size / 1e6
            hippo = [py, "-m", "hippo_cli", "compress", str(src), "--max-error", "1%",
                     *(["-t", "time"] if timed else []), "-o", str(tmp / "out.hippo")]
            base_env = {**os.environ, "PYTHONPATH": str(args.baseline.resolve())} \
                if args.baseline else None
            cmds = {"hippo": (hippo, env)}
            same = []  # (ours, the baseline's) outputs that must be equal
            if args.baseline:
                cmds["hippo (baseline)"] = ([*hippo[:-1], str(tmp / "base.hippo")], base_env)
                same.append(("out.hippo", "base.hippo"))
            if not timed:
                exact = [py, "-m", "hippo_cli", "compress", str(src), "--method", "exact",
                         "--every", "1000", "-o", str(tmp / "out.npy")]
                cmds["hippo --method exact --every 1000"] = (exact, env)
                if args.baseline:
                    cmds["hippo --method exact (baseline)"] = (
                        [*exact[:-1], str(tmp / "base.npy")], base_env)
                    same.append(("out.npy", "base.npy"))
            cmds["pandas.read_csv + pysz"] = ([py, "-c", PANDAS_SZ, str(src)], env)
            cmds["pandas.read_csv"] = ([py, "-c", PANDAS, str(src)], env)
            for k, (cmd, e) in cmds.items():  # numba's caches and the page cache warm
                if k.startswith("hippo"):
                    run(cmd, e, tmp)
            walls: dict = {k: [] for k in cmds}
            peaks: dict = {k: [] for k in cmds}
            for r in range(repeat):
                order = list(cmds.items()) if r % 2 == 0 else list(reversed(cmds.items()))
                for k, (cmd, e) in order:
                    w, p = run(cmd, e, tmp)  # cwd: not the checkout (python -m's path)
                    walls[k].append(w)
                    peaks[k].append(p)
            for ours, theirs in same:
                if (tmp / ours).read_bytes() != (tmp / theirs).read_bytes():
                    raise SystemExit(f"{label}: {ours} differs from the baseline's {theirs}")
            med = {k: float(np.median(v)) for k, v in walls.items()}
            for k in cmds:
                rows_out.append((label, f"{mb:.0f} MB", k, med[k], float(np.median(peaks[k])),
                                 med[k] / med["pandas.read_csv + pysz"],
                                 med[k] / med["pandas.read_csv"]))
            src.unlink()
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores, median of {repeat} "
          "paired interleaved runs")
    print("| case | CSV | process | wall s | peak RSS MB | / pandas+pysz | / pandas |")
    print("|---|---|---|---:|---:|---:|---:|")
    for label, mb, k, w, p, r1, r2 in rows_out:
        print(f"| {label} | {mb} | {k} | {w:.2f} | {p:.0f} | {r1:.2f}x | {r2:.2f}x |")


if __name__ == "__main__":
    main()
