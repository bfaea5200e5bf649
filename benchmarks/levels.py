"""Compression levels and threads: hippo's ``fast``, ``default`` and ``best`` against SZ3,
q2eps + zstd-3, zstd-3 and pcodec, measured in one run, interleaved.

    PYTHONPATH=. python benchmarks/levels.py [--data DIR] [--repeat 7] [--pct 0.01]

Table 1, one thread, in process: for every real series of ``DIR`` (default
``../shared/bench/compression``, read as benchmarks/codec.py reads it) at eps = pct x range,
each level's CR (8 n / file bytes) and encode / decode M samples/s, next to SZ3 (pysz, ABS
mode: CR of the best of its three 1-D predictors, speed of INTERP_LORENZO, its default),
q2eps + zstd-3 (round to the 2 eps grid, zstd level 3 of the int64 deltas), zstd-3 and pcodec
(lossless, of the float64 bytes; pcodec skipped with a note if not installed). Each speed is
the median of ``repeat`` runs, every coder run in turn in each repeat (paired). Every hippo
file is decoded and checked sample by sample; the levels' decoders are the same.

Table 2, threads: encode and decode of 64 channels (the real series, shifted copies, 65,536
rows) and of 10^6 samples of one series (the real series end to end), threads=1 against
threads=2, same bytes and same decoded bits checked. Beside the wall-time speed-ups: the
ceiling (a nogil loop on 1 and 2 threads, what the machine gave a second thread then) and the
CPU bound (one thread's CPU time over the critical path of CPU times with two threads: the
speed-up the code allows when each thread has a core; see _WorkerCPU).
"""

from __future__ import annotations

import argparse
import math
import os
import time
from pathlib import Path

import numpy as np
import pandas as pd

from hippo_cli.codec import decode, encode

DEFAULT = Path(__file__).resolve().parents[2] / "shared" / "bench" / "compression"
LEVELS = ("fast", "default", "best")


def _paired(fns: dict, repeat: int) -> dict:
    """Median seconds of each function, all run in turn in every repeat (interleaved; the
    order reversed every other repeat, so that no function always follows the same one)."""
    times: dict = {k: [] for k in fns}
    for r in range(repeat):
        for k, fn in (fns.items() if r % 2 == 0 else reversed(fns.items())):
            t0 = time.perf_counter()
            fn()
            times[k].append(time.perf_counter() - t0)
    return {k: float(np.median(v)) for k, v in times.items()}


def _sz3_cfg(x: np.ndarray, eps: float, algo=None):
    from pysz import szAlgorithm, szConfig, szErrorBoundMode

    cfg = szConfig()
    cfg.setDims([len(x)])
    cfg.errorBoundMode = szErrorBoundMode.ABS
    cfg.absErrorBound = eps
    cfg.cmprAlgo = szAlgorithm.INTERP_LORENZO if algo is None else algo
    return cfg


def sz3_best(x: np.ndarray, eps: float) -> float:
    """CR of SZ3, the best of its three 1-D predictors that keep the bound."""
    from pysz import sz, szAlgorithm

    best = 0.0
    for algo in (szAlgorithm.INTERP_LORENZO, szAlgorithm.INTERP, szAlgorithm.LORENZO_REG):
        comp, _ = sz.compress(np.ascontiguousarray(x), _sz3_cfg(x, eps, algo))
        dec, _ = sz.decompress(comp, np.float64, (len(x),))
        if np.max(np.abs(dec - x)) <= eps:
            best = max(best, 8 * len(x) / comp.nbytes)
    return best


def q2eps_zstd3(x: np.ndarray, eps: float, zc) -> bytes:
    """Round to the 2 eps grid (corrected to the bound), zstd-3 of the int64 deltas."""
    s = 2.0 * eps
    q = np.round(x / s).astype(np.int64)
    xh = q * s
    bad = np.abs(xh - x) > eps
    if bad.any():
        q[bad] += np.where(xh[bad] < x[bad], 1, -1)
    return zc.compress(np.diff(q, prepend=0).astype("<i8").tobytes())


def q2eps_decode(blob: bytes, eps: float, zd) -> np.ndarray:
    return np.cumsum(np.frombuffer(zd.decompress(blob), "<i8")) * (2.0 * eps)


def series(data: Path) -> dict[str, np.ndarray]:
    out = {}
    for f in sorted(data.glob("*.csv.xz")):
        out[f.name.split(".")[0]] = pd.read_csv(f)["value"].to_numpy(float)
    return out


def levels_table(data: dict[str, np.ndarray], pct: float, repeat: int) -> None:
    import zstandard
    from pysz import sz

    try:
        import pcodec
        from pcodec import standalone
    except ImportError:
        pcodec = None
    zc, zd = zstandard.ZstdCompressor(level=3), zstandard.ZstdDecompressor()
    print(f"\n### Levels at eps = {pct:g} x range, one thread, M samples/s (median of {repeat} "
          f"interleaved runs), CR = 8 n / bytes\n")
    cols = [f"{lv} CR / enc / dec" for lv in LEVELS] + [
        "SZ3 best CR / enc / dec", "q2eps+zstd-3 CR / enc / dec", "zstd-3 CR / enc / dec",
        "pcodec CR / enc / dec"]
    print("| series | n | " + " | ".join(cols) + " | fast enc / SZ3 | default enc / SZ3 | "
          "dec / SZ3 |")
    print("|---|---|" + "---|" * (len(cols) + 3))
    ratios: dict[str, list[float]] = {k: [] for k in ("fe", "de", "dd", "fast_wins")}
    for name, x in data.items():
        eps = pct * float(x.max() - x.min())
        blobs = {lv: encode(x, eps, level=lv, threads=1) for lv in LEVELS}
        for lv, blob in blobs.items():
            y, _ = decode(blob, threads=1)
            assert np.all(np.abs(y[:, 0] - x) <= eps), (name, lv)
        cfg = _sz3_cfg(x, eps)
        xc = np.ascontiguousarray(x)
        sz_blob = sz.compress(xc, cfg)[0]
        qb = q2eps_zstd3(x, eps, zc)
        assert np.all(np.abs(q2eps_decode(qb, eps, zd) - x) <= eps)
        raw = x.astype("<f8").tobytes()
        zb = zc.compress(raw)
        fns = {}
        for lv in LEVELS:
            fns[f"e_{lv}"] = lambda lv=lv: encode(x, eps, level=lv, threads=1)  # noqa: B023
            fns[f"d_{lv}"] = lambda b=blobs[lv]: decode(b, threads=1)
        fns["e_sz"] = lambda: sz.compress(xc, cfg)  # noqa: B023
        fns["d_sz"] = lambda: sz.decompress(sz_blob, np.float64, (len(x),))  # noqa: B023
        fns["e_q"] = lambda: q2eps_zstd3(x, eps, zc)  # noqa: B023
        fns["d_q"] = lambda: q2eps_decode(qb, eps, zd)  # noqa: B023
        fns["e_z"] = lambda: zc.compress(raw)  # noqa: B023
        fns["d_z"] = lambda: zd.decompress(zb)  # noqa: B023
        if pcodec is not None:
            pb = standalone.simple_compress(xc, pcodec.ChunkConfig())
            fns["e_p"] = lambda: standalone.simple_compress(xc, pcodec.ChunkConfig())  # noqa
            fns["d_p"] = lambda: standalone.simple_decompress(pb)  # noqa: B023
        t = _paired(fns, repeat)
        m = {k: len(x) / v / 1e6 for k, v in t.items()}
        n8 = 8 * len(x)
        best_sz = sz3_best(x, eps)
        cells = [f"{n8 / len(blobs[lv]):.1f} / {m['e_' + lv]:.1f} / {m['d_' + lv]:.1f}"
                 for lv in LEVELS]
        cells.append(f"{best_sz:.1f} / {m['e_sz']:.1f} / {m['d_sz']:.1f}")
        cells.append(f"{n8 / len(qb):.1f} / {m['e_q']:.1f} / {m['d_q']:.1f}")
        cells.append(f"{n8 / len(zb):.2f} / {m['e_z']:.1f} / {m['d_z']:.1f}")
        cells.append(f"{n8 / len(pb):.2f} / {m['e_p']:.1f} / {m['d_p']:.1f}"
                     if pcodec is not None else "not installed")
        fe, de, dd = m["e_fast"] / m["e_sz"], m["e_default"] / m["e_sz"], m["d_default"] / m["d_sz"]
        ratios["fe"].append(fe)
        ratios["de"].append(de)
        ratios["dd"].append(dd)
        ratios["fast_wins"].append(float(n8 / len(blobs["fast"]) >= best_sz))
        print(f"| {name} | {len(x)} | " + " | ".join(cells) + f" | {fe:.2f} | {de:.2f} | "
              f"{dd:.2f} |")

    def g(v):
        return math.exp(sum(math.log(a) for a in v) / len(v))

    print(f"\ngeometric means against SZ3: fast encode {g(ratios['fe']):.2f}x, default encode "
          f"{g(ratios['de']):.2f}x, decode (any level) {g(ratios['dd']):.2f}x; fast's CR >= SZ3's "
          f"best of three on {int(sum(ratios['fast_wins']))} of {len(ratios['fast_wins'])} series")
    if pcodec is None:
        print("pcodec: not installed (python -c 'import pcodec' fails), its column skipped")


def _spin():
    """Two copies of a CPU-bound nogil numba loop: (run one after the other, run on two
    threads). Timed beside each row, they show what the machine gives a second thread at that
    moment (a shared machine may give less than 2x: then no code can show more)."""
    from concurrent.futures import ThreadPoolExecutor

    import numba

    @numba.njit(nogil=True)
    def spin(n):
        s = 0.0
        for i in range(n):
            s += (i * 0.5) ** 0.5
        return s

    spin(10)
    pool = ThreadPoolExecutor(2)
    n = 10**7
    return (lambda: [spin(n) for _ in range(2)]), (lambda: list(pool.map(spin, [n, n])))


class _WorkerCPU:
    """While active, the CPU seconds each helper thread spends in its jobs: a codec crew's
    (hippo_cli.codec.crew: the caller takes jobs too) and any ThreadPoolExecutor's (the caller
    waits; hippo before the crew). The critical path of a threaded call on a machine that gives
    each thread a core: the larger of the caller's CPU time and the busiest crew helper's, plus
    the busiest pool worker's (other tenants' load delays a thread without adding to its CPU
    time, so this holds up better than wall times)."""

    def __enter__(self):
        import concurrent.futures as cf
        import threading

        self.crew_cpu, self.pool_cpu, caller = {}, {}, threading.get_ident()

        def timed(fn, into):
            def run(*a, **k):
                t0 = time.thread_time()
                try:
                    return fn(*a, **k)
                finally:
                    me = threading.get_ident()
                    if me != caller:
                        into[me] = into.get(me, 0.0) + time.thread_time() - t0
            return run

        self.undo = []
        try:
            from hippo_cli.codec import crew
        except ImportError:
            crew = None
        if crew is not None:
            real_work = crew._Batch.work
            crew._Batch.work = timed(real_work, self.crew_cpu)
            self.undo.append(lambda: setattr(crew._Batch, "work", real_work))
        real_submit = cf.ThreadPoolExecutor.submit

        def submit(pool, fn, *args, **kwargs):
            return real_submit(pool, timed(fn, self.pool_cpu), *args, **kwargs)

        cf.ThreadPoolExecutor.submit = submit
        self.undo.append(lambda: setattr(cf.ThreadPoolExecutor, "submit", real_submit))
        return self

    def __exit__(self, *exc):
        for undo in self.undo:
            undo()

    def path(self, fn) -> float:
        """The critical path of one call of ``fn``, CPU seconds (see the class)."""
        self.crew_cpu.clear()
        self.pool_cpu.clear()
        t0 = time.thread_time()
        fn()
        caller = time.thread_time() - t0
        return (max(caller, max(self.crew_cpu.values(), default=0.0))
                + max(self.pool_cpu.values(), default=0.0))


def _cpu_bound(one, two, repeat: int) -> float:
    """The speed-up the CPU times allow: median CPU of ``one`` (one thread) over the median
    critical path of ``two`` (:class:`_WorkerCPU`), runs interleaved."""
    with _WorkerCPU() as w:
        a, b = [], []
        for _ in range(repeat):
            a.append(w.path(one))
            b.append(w.path(two))
    return float(np.median(a) / np.median(b))


def threads_table(data: dict[str, np.ndarray], pct: float, repeat: int) -> None:
    cores = len(os.sched_getaffinity(0))
    # each series scaled to [0, 1], so that one bound fits all of them
    allx = np.concatenate([(x - x.min()) / np.ptp(x) for x in data.values()])
    long = np.resize(allx, 10**6)
    rows = 65536
    many = np.stack([np.roll(long, 7919 * k)[:rows] + 0.001 * k for k in range(64)], axis=1)
    spin1, spin2 = _spin()
    print(f"\n### Threads ({cores} cores available), M samples/s (all channels), median of "
          f"{repeat} interleaved runs, eps = {pct:g} x range of each input\n")
    print("| input | level | CR | enc 1 thread | enc 2 threads | speed-up | dec 1 thread | "
          "dec 2 threads | speed-up | ceiling (nogil loop) | CPU bound enc / dec | "
          "same bytes |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for label, x in (("64 channels x 65,536", many), ("10^6 x 1", long)):
        eps = pct * float(np.ptp(x))
        for lv in ("fast", "default"):
            b1 = encode(x, eps, level=lv, threads=1)
            b2 = encode(x, eps, level=lv, threads=2)
            t = _paired({
                "e1": lambda: encode(x, eps, level=lv, threads=1),  # noqa: B023
                "e2": lambda: encode(x, eps, level=lv, threads=2),  # noqa: B023
                "d1": lambda: decode(b1, threads=1),  # noqa: B023
                "d2": lambda: decode(b2, threads=2),  # noqa: B023
                "c1": spin1, "c2": spin2,
            }, repeat)
            m = {k: x.size / v / 1e6 for k, v in t.items()}
            ecpu = _cpu_bound(lambda: encode(x, eps, level=lv, threads=1),  # noqa: B023
                              lambda: encode(x, eps, level=lv, threads=2), repeat)  # noqa: B023
            dcpu = _cpu_bound(lambda: decode(b1, threads=1),  # noqa: B023
                              lambda: decode(b2, threads=2), repeat)  # noqa: B023
            same = b1 == b2 and np.array_equal(decode(b1, threads=1)[0].view(np.uint64),
                                               decode(b2, threads=2)[0].view(np.uint64))
            print(f"| {label} | {lv} | {8 * x.size / len(b1):.1f} | {m['e1']:.1f} | "
                  f"{m['e2']:.1f} | {m['e2'] / m['e1']:.2f}x | {m['d1']:.1f} | {m['d2']:.1f} | "
                  f"{m['d2'] / m['d1']:.2f}x | {t['c1'] / t['c2']:.2f}x | "
                  f"{ecpu:.2f}x / {dcpu:.2f}x | {'yes' if same else 'NO'} |", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DEFAULT)
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--pct", type=float, default=0.01, help="eps / range [0.01]")
    ap.add_argument("--skip-threads", action="store_true", help="only the levels table")
    ap.add_argument("--threads-only", action="store_true", help="only the threads table")
    args = ap.parse_args()
    for lv in LEVELS:  # compile (or load from numba's cache) outside the timings
        decode(encode(np.arange(10.0), 0.1, level=lv))
    data = series(args.data)
    print(f"# {os.uname().machine}, {len(os.sched_getaffinity(0))} cores available, "
          f"load average {os.getloadavg()[0]:.1f} at start")
    if not args.threads_only:
        levels_table(data, args.pct, args.repeat)
    if not args.skip_threads:
        threads_table(data, args.pct, args.repeat)


if __name__ == "__main__":
    main()
