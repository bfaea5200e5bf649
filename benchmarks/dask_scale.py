"""Many series on Dask against the local engine: does a 2-process cluster pay?

    PYTHONPATH=$PWD python benchmarks/dask_scale.py [--series 200] [--rows 6000000]
        [--workers 2] [--runs 3] [--layout blocks|interleaved] [--partition-size 64MB]

Makes a long CSV (``sensor,t,v``: ``--series`` series, ``--rows`` rows in all, a fixed seed)
in a temporary folder, then runs ``hippo compress --id-column sensor --max-error 0.01``
with the local engine and with ``--engine dask`` on a LocalCluster of ``--workers``
processes x 1 thread, interleaved (local, dask, dask, local, ...), and checks that every
output file is the same bytes. Both runs are the library call the CLI makes, in this
process; the cluster is started once, outside the timed part (its start-up is measured on
its own, and so is one whole ``hippo`` command of each engine, start-up inside). Prints a
table of paired medians and where the Dask run's time goes.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def make_csv(path: Path, series: int, rows: int, layout: str, seed: int = 7) -> None:
    """``sensor,t,v``: each series a slow wave plus noise, 4 decimals; ``blocks``: each
    series' rows together, ``interleaved``: sorted by time (every series in every part)."""
    import pandas as pd

    rng = np.random.default_rng(seed)
    per = rows // series
    t = np.arange(per)
    frames = []
    for i in range(series):
        v = (np.sin(t / (200 + 3 * i)) + 0.3 * np.sin(t / 37 + i)
             + 0.01 * rng.standard_normal(per))
        frames.append(pd.DataFrame({"sensor": f"s{i:04d}", "t": t, "v": np.round(v, 4)}))
    df = pd.concat(frames, ignore_index=True)
    if layout == "interleaved":
        df = df.sort_values("t", kind="stable")
    df.to_csv(path, index=False)


def digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.iterdir()) if not p.name.startswith(".")}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--series", type=int, default=200)
    ap.add_argument("--rows", type=int, default=6_000_000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--layout", choices=["blocks", "interleaved"], default="blocks")
    ap.add_argument("--partition-size", default=None,
                    help="bytes per partition [the CLI's default: 64MB or less, at least "
                    "4 ranges a worker]")
    ap.add_argument("--max-error", type=float, default=0.01)
    args = ap.parse_args()

    from distributed import Client, LocalCluster

    from hippo_cli.pipelines.many import SeriesMode
    from hippo_cli.pipelines.many_files import compress_many

    mode = SeriesMode(max_error=args.max_error)
    with tempfile.TemporaryDirectory(prefix="hippo-dask-scale-") as tmp:
        d = Path(tmp)
        csv = d / "long.csv"
        t0 = time.perf_counter()
        make_csv(csv, args.series, args.rows, args.layout)
        size = csv.stat().st_size
        part = args.partition_size  # None: the CLI's default (4 ranges a worker here)
        print(f"# {args.series} series, {args.rows:,} rows ({size / 1e6:.0f} MB CSV, "
              f"{args.layout}), --max-error {args.max_error}; made in "
              f"{time.perf_counter() - t0:.1f} s", flush=True)

        local_cpu: list[float] = []

        def local(out: Path) -> float:
            start, cpu = time.perf_counter(), time.thread_time()  # it runs in this thread
            compress_many(str(csv), str(out), mode, id_column="sensor", columns=["v"],
                          time_column=None, engine="local", scheduler=None)
            local_cpu.append(time.thread_time() - cpu)
            return time.perf_counter() - start

        timings: dict = {}

        def dask(out: Path, address: str) -> float:
            start = time.perf_counter()
            compress_many(str(csv), str(out), mode, id_column="sensor", columns=["v"],
                          time_column=None, engine="dask", scheduler=address,
                          partition_size=part, timings=timings)
            return time.perf_counter() - start

        start = time.perf_counter()
        cluster = LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True,
                               dashboard_address=":0")
        client = Client(cluster)
        client.run(lambda: __import__("hippo_cli.pipelines.dask_parts"))
        startup = time.perf_counter() - start
        try:
            warm = d / "warm"
            dask(warm, cluster.scheduler_address)  # numba caches and imports, both sides
            local(d / "warm-local")
            want = digest(d / "warm-local")
            if digest(warm) != want:
                sys.exit("the Dask files differ from the local engine's")
            pairs = []
            phases = []
            for run in range(args.runs):
                order = ("local", "dask") if run % 2 == 0 else ("dask", "local")
                got = {}
                for engine in order:
                    out = d / f"{engine}-{run}"
                    got[engine] = (local(out) if engine == "local"
                                   else dask(out, cluster.scheduler_address))
                    if engine == "dask":
                        phases.append(dict(timings))
                    if digest(out) != want:
                        sys.exit(f"run {run}: the {engine} files differ")
                pairs.append(got)
                print(f"  run {run}: local {got['local']:.2f} s, dask {got['dask']:.2f} s",
                      flush=True)
        finally:
            client.close()
            cluster.close()

        # one whole command each, start-up (imports, cluster) inside
        cli = {}
        for engine in ("local", "dask"):
            start = time.perf_counter()
            subprocess.run([sys.executable, "-m", "hippo_cli", "compress", str(csv),
                            "--id-column", "sensor", "--column", "v", "--max-error",
                            str(args.max_error), "--engine", engine, "-q",
                            *(["--partition-size", str(part)] if engine == "dask" and part
                              else []),
                            "-o", str(d / f"cli-{engine}")], check=True)
            cli[engine] = time.perf_counter() - start
            if digest(d / f"cli-{engine}") != want:
                sys.exit(f"the {engine} command's files differ")

    loc = statistics.median(p["local"] for p in pairs)
    dsk = statistics.median(p["dask"] for p in pairs)
    ratio = statistics.median(p["local"] / p["dask"] for p in pairs)
    load = os.getloadavg()[0]
    print(f"# {os.cpu_count()} cores, load average {load:.1f}; {args.workers} Dask workers x 1 "
          f"thread, partition size {part or 'default'}; median of {args.runs} interleaved pairs; "
          "files byte-identical")
    print("| run | seconds | series/s | per series (ms) |")
    print("|---|---|---|---|")
    for name, sec in (("local engine", loc), (f"dask, {args.workers} workers", dsk)):
        print(f"| {name} | {sec:.2f} | {args.series / sec:.0f} | "
              f"{1000 * sec / args.series:.1f} |")
    print(f"| speed-up (paired median) | {ratio:.2f}x | | |")
    print(f"| cluster start-up (outside the above) | {startup:.2f} | | |")
    print(f"| whole command, local | {cli['local']:.2f} | | |")
    print(f"| whole command, dask (cluster start inside) | {cli['dask']:.2f} | | |")
    print("\nwhere a Dask run's time goes (median seconds; CPU seconds do not grow with the "
          "machine's load, wall seconds do):")
    for key in phases[0]:
        print(f"  {key}: {statistics.median(p[key] for p in phases):.2f}")
    busy = statistics.median(p["worker_seconds"] for p in phases)
    client_cpu = statistics.median(p["client CPU"] for p in phases)
    one = statistics.median(local_cpu)
    print(f"  local engine CPU: {one:.2f} ({1000 * one / args.series:.1f} ms per series)")
    print(f"  Dask worker CPU: {busy:.2f} ({1000 * busy / args.series:.1f} ms per series: "
          "read + group + encode + write, summed over workers)")
    # Amdahl: what does not shrink with workers (the client, the stage barrier, scheduling,
    # transfers) is the measured wall time less the workers' share of the work; on a loaded
    # machine that part is overstated, so the estimates err on the slow side
    fixed = max(dsk - busy / args.workers, client_cpu)
    print(f"  fixed part (Dask wall - worker CPU / {args.workers}): {fixed:.2f}")
    for w in (args.workers, 10, 100):
        est = fixed + busy / w
        print(f"  estimate, {w} workers (>= {w} partitions), start-up outside: {est:.2f} s "
              f"= {args.series / est:.0f} series/s ({loc / est:.1f}x the local engine's "
              f"{loc:.2f} s)")


if __name__ == "__main__":
    main()
