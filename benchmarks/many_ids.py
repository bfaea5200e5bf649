"""Many ids in one long-format CSV: ``hippo compress long.csv --id-column id`` end to end.

    python benchmarks/many_ids.py [--ids 1000,10000] [--rows 50] [--before /path/to/checkout]

For each id count: a long CSV (ids x rows, a random walk per id, ids interleaved in blocks
as a logger writes them) in a temporary folder, then the CLI in a subprocess, once with
``--max-error 0.01`` (.hippo files) and once with ``-N 8 --every 50`` (coefficients).
``--before DIR`` also runs the CLI of another checkout (its package on PYTHONPATH), e.g. the
commit before a fix, and checks that both wrote the same bytes.
"""

from __future__ import annotations

import argparse
import filecmp
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent.parent

MODES = {"hippo": ["--max-error", "0.01"], "coeffs": ["-N", "8", "--every", "50"]}


def write_long(path: Path, ids: int, rows: int, block: int = 10) -> None:
    """``id,t,v`` rows; each run of ``block`` ids is written time step by time step."""
    rng = np.random.default_rng(0)
    with open(path, "w") as fh:
        fh.write("id,t,v\n")
        for first in range(0, ids, block):
            group = range(first, min(first + block, ids))
            walks = np.cumsum(rng.normal(size=(len(group), rows)), axis=1)
            for k in range(rows):
                fh.writelines(f"s{i},{k},{walks[j, k]:.4f}\n" for j, i in enumerate(group))


def run(checkout: Path, csv: Path, out: Path, mode: str) -> float:
    env = dict(os.environ, PYTHONPATH=str(checkout))
    start = time.perf_counter()
    # cwd: the CSV's folder - with -m, the working directory comes before PYTHONPATH, and
    # run from a checkout it would be that checkout's package that runs
    subprocess.run([sys.executable, "-m", "hippo_cli", "compress", str(csv), "--id-column",
                    "id", *MODES[mode], "-q", "-o", str(out)], env=env, check=True,
                   cwd=csv.parent)
    return time.perf_counter() - start


def same_files(a: Path, b: Path) -> bool:
    names = sorted(p.name for p in a.iterdir())
    if names != sorted(p.name for p in b.iterdir()):
        return False
    return all(filecmp.cmp(a / n, b / n, shallow=False) for n in names)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ids", default="1000,10000", help="comma-separated id counts")
    ap.add_argument("--rows", type=int, default=50, help="rows per id")
    ap.add_argument("--before", type=Path, help="another checkout to compare with")
    ap.add_argument("--modes", default="hippo,coeffs")
    args = ap.parse_args()
    head = "| ids | rows | mode | seconds |" + (" before (s) | same bytes |" if args.before
                                                  else "")
    print(head)
    print("|" + "---|" * (head.count("|") - 1))
    with tempfile.TemporaryDirectory() as tmp:
        for ids in (int(n) for n in args.ids.split(",")):
            csv = Path(tmp) / f"long{ids}.csv"
            write_long(csv, ids, args.rows)
            for mode in args.modes.split(","):
                after = Path(tmp) / f"after-{ids}-{mode}"
                line = (f"| {ids} | {ids * args.rows} | {mode} | "
                        f"{run(HERE, csv, after, mode):.1f} |")
                if args.before:
                    before = Path(tmp) / f"before-{ids}-{mode}"
                    seconds = run(args.before, csv, before, mode)
                    line += f" {seconds:.1f} | {'yes' if same_files(after, before) else 'NO'} |"
                print(line, flush=True)


if __name__ == "__main__":
    main()
