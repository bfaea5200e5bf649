"""Whole processes, paired and interleaved: ``hippo reconstruct X.hippo -o out.csv`` against
``zstd -d -c X.csv.zst > out.csv`` (the zstd CLI if present, else python zstandard in a
subprocess), on a generated 64-column x 300,000-row float CSV with ISO times.

    PYTHONPATH=. python benchmarks/e2e.py [--rows 300000] [--cols 64] [--repeat 5]

One function per row of the table (``row_*``): each returns the command and a callable that
runs it once; a compress section (``hippo compress`` against pandas.read_csv + pysz) adds
its own rows the same way.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}


def make_data(folder: Path, rows: int, cols: int) -> dict:
    """The CSV, its .zst and its .hippo (max error 0.01)."""
    csv = folder / "x.csv"
    rng = np.random.default_rng(0)
    t = pd.date_range("2024-01-01", periods=rows, freq="s").strftime("%Y-%m-%dT%H:%M:%S")
    x = np.cumsum(rng.normal(size=(rows, cols)), axis=0).round(3)
    df = pd.DataFrame(x, columns=[f"ch{i}" for i in range(cols)])
    df.insert(0, "time", t)
    df.to_csv(csv, index=False)
    zst = folder / "x.csv.zst"
    if shutil.which("zstd"):
        subprocess.run(["zstd", "-q", "-f", str(csv), "-o", str(zst)], check=True)
    else:
        import zstandard

        zst.write_bytes(zstandard.ZstdCompressor(level=3).compress(csv.read_bytes()))
    hip = folder / "x.hippo"
    subprocess.run([sys.executable, "-m", "hippo_cli", "compress", str(csv), "-E", "0.01",
                    "-t", "time", "-o", str(hip), "-q"], check=True, env=ENV)
    return {"csv": csv, "zst": zst, "hippo": hip, "out": folder / "out.csv"}


def _run(cmd: list[str], stdout: Path | None = None) -> None:
    if stdout is None:
        subprocess.run(cmd, check=True, env=ENV)
    else:
        with open(stdout, "wb") as fh:
            subprocess.run(cmd, check=True, stdout=fh, env=ENV)


def row_zstd_d(d: dict):
    if shutil.which("zstd"):
        cmd = ["zstd", "-d", "-q", "-c", str(d["zst"])]
        return "zstd -d -c X.csv.zst > out.csv", lambda: _run(cmd, d["out"])
    code = ("import sys, zstandard; zstandard.ZstdDecompressor().copy_stream("
            "open(sys.argv[1], 'rb'), sys.stdout.buffer)")
    cmd = [sys.executable, "-c", code, str(d["zst"])]
    return "python zstandard -d X.csv.zst > out.csv", lambda: _run(cmd, d["out"])


def row_hippo_reconstruct(d: dict):
    cmd = [sys.executable, "-m", "hippo_cli", "reconstruct", str(d["hippo"]), "-o",
           str(d["out"]), "-f"]
    return "hippo reconstruct X.hippo -o out.csv", lambda: _run(cmd)


DECODE_ROWS = [row_zstd_d, row_hippo_reconstruct]


def paired(rows: list, d: dict, repeat: int) -> list[tuple[str, list[float]]]:
    """Every row run in turn in each repeat (order reversed every other repeat)."""
    made = [row(d) for row in rows]
    made[-1][1]()  # warm: numba's cache, the page cache
    times: list[list[float]] = [[] for _ in made]
    for r in range(repeat):
        order = list(range(len(made)))[::(-1 if r % 2 else 1)]
        for i in order:
            t0 = time.perf_counter()
            made[i][1]()
            times[i].append(time.perf_counter() - t0)
    return [(name, ts) for (name, _), ts in zip(made, times)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=300_000)
    ap.add_argument("--cols", type=int, default=64)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        d = make_data(Path(tmp), args.rows, args.cols)
        mb = d["csv"].stat().st_size / 1e6
        print(f"{args.cols} columns x {args.rows} rows, CSV {mb:.1f} MB, "
              f"{args.repeat} paired runs\n")
        results = paired(DECODE_ROWS, d, args.repeat)
        base = float(np.median(results[0][1]))
        print("| command | wall s, median (range) | x zstd -d |")
        print("|---|---|---|")
        for name, ts in results:
            med = float(np.median(ts))
            print(f"| `{name}` | {med:.2f} ({min(ts):.2f}-{max(ts):.2f}) | {med / base:.1f} |")


if __name__ == "__main__":
    main()
