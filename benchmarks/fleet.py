"""Many series: the Dask engine on a local cluster against the local engine, same run.

    python -m pip install -e '.[dask]'
    python benchmarks/fleet.py [--series 1000] [--samples 100000] [--workers 2] [--method exact]

Series are generated in memory (a partition of 10 series at a time, on the workers for
Dask), LegS N = 64 (bilinear, or ``--method exact``: the block engine), a row every 1000
samples; the output files go to a temporary folder.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from hippo_cli import HiPPO
from hippo_cli.pipelines.many import SeriesMode, compress_long

PER_PARTITION = 10


def make_partition(first: int, count: int, samples: int) -> pd.DataFrame:
    t = np.arange(samples)
    frames = [pd.DataFrame({"sensor": np.full(samples, f"s{i:05d}"),
                            "v": np.sin(t / (300 + i)) + 0.1 * np.cos(t / 17)})
              for i in range(first, first + count)]
    return pd.concat(frames, ignore_index=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--series", type=int, default=1000)
    ap.add_argument("--samples", type=int, default=100_000)
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--method", default="bilinear", help="LegS method (exact: block engine)")
    args = ap.parse_args()
    params = HiPPO("legs", 64, method=args.method).params()
    total = args.series * args.samples
    starts = range(0, args.series, PER_PARTITION)
    with tempfile.TemporaryDirectory(prefix="hippo-fleet-") as d:
        t0 = time.perf_counter()

        def chunks():
            for first in starts:
                df = make_partition(first, min(PER_PARTITION, args.series - first), args.samples)
                yield df["sensor"].to_numpy(), df[["v"]].to_numpy(), None

        (Path(d) / "local").mkdir()
        compress_long(chunks(), Path(d) / "local", SeriesMode(params, every=1000),
                      columns=["v"])
        local = time.perf_counter() - t0

        import dask
        import dask.dataframe as dd
        from distributed import Client, LocalCluster

        from hippo_cli.pipelines.dask_engine import compress_dataframe

        meta = make_partition(0, 1, 1).iloc[:0]
        parts = [dask.delayed(make_partition)(f, min(PER_PARTITION, args.series - f),
                                              args.samples) for f in starts]
        ddf = dd.from_delayed(parts, meta=meta)
        with LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True,
                          dashboard_address=":0") as cluster, Client(cluster) as client:
            t0 = time.perf_counter()
            compress_dataframe(ddf, "sensor", ["v"], Path(d) / "dask", every=1000,
                               client=client, **params)
            distributed = time.perf_counter() - t0
    print(f"# {args.series} series x {args.samples} samples, LegS N = 64 {args.method}, "
          "every 1000; "
          f"{os.cpu_count()} cores, {args.workers} Dask workers")
    print("| engine | seconds | series/s | M samples/s |")
    print("|---|---|---|---|")
    for name, sec in (("local (one process)", local), ("dask LocalCluster", distributed)):
        print(f"| {name} | {sec:.1f} | {args.series / sec:.0f} | {total / sec / 1e6:.2f} |")


if __name__ == "__main__":
    main()
