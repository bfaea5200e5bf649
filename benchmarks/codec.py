"""Bounded-error compression: hippo's .hippo codec against SZ3, q2eps, Sim-Piece, Mix-Piece.

    python -m pip install -e '.[bench]' && python benchmarks/codec.py [--data DIR] [--quick]
    python benchmarks/codec.py --baseline dbffa10     # before/after against an older hippo

For every series and bound of ``DIR/peers.json`` (default ``../shared/bench/compression``:
eps = pct x (max - min), CR = 8 n / bytes of everything a decoder needs), prints hippo's CR,
its largest error / eps (checked in float64 on every sample), encode and decode M samples/s
on one core, and the peers: SZ3 (pysz, best of its three 1-D predictors) and q2eps (round to
a 2 eps grid, zstd-19 of the integer deltas) measured in the same run; Sim-Piece and
Mix-Piece from peers.json (the authors' Java code, measured on this machine's kind).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import time
from pathlib import Path

import numpy as np
import pandas as pd

from hippo_cli.codec import decode, encode

DEFAULT = Path(__file__).resolve().parents[2] / "shared" / "bench" / "compression"


def q2eps(x: np.ndarray, eps: float) -> float:
    """CR of the ten-line baseline: 2 eps grid, zstd-19 of the deltas (int64 or varint)."""
    import zstandard

    s = 2.0 * eps
    q = np.round(x / s).astype(np.int64)
    for _ in range(3):
        xh = q * s
        bad = np.abs(xh - x) > eps
        if not bad.any():
            break
        q[bad] += np.where(xh[bad] < x[bad], 1, -1)
    assert np.all(np.abs(q * s - x) <= eps)
    d = np.diff(q, prepend=0)
    z = ((d << 1) ^ (d >> 63)).astype(np.uint64)
    var = bytearray()
    for v in z.tolist():
        while v >= 0x80:
            var.append((v & 0x7F) | 0x80)
            v >>= 7
        var.append(v)
    c = zstandard.ZstdCompressor(level=19)
    best = min(len(c.compress(d.astype("<i8").tobytes())), len(c.compress(bytes(var))))
    return 8 * len(x) / (best + 16)


def sz3(x: np.ndarray, eps: float) -> float:
    """CR of SZ3 (ABS mode), best of its three 1-D predictors that keep the bound."""
    from pysz import sz, szAlgorithm, szConfig, szErrorBoundMode

    best = 0.0
    for algo in (szAlgorithm.INTERP_LORENZO, szAlgorithm.INTERP, szAlgorithm.LORENZO_REG):
        cfg = szConfig()
        cfg.setDims([len(x)])
        cfg.errorBoundMode = szErrorBoundMode.ABS
        cfg.absErrorBound = eps
        cfg.cmprAlgo = algo
        comp, _ = sz.compress(np.ascontiguousarray(x), cfg)
        dec, _ = sz.decompress(comp, np.float64, (len(x),))
        if np.max(np.abs(dec - x)) <= eps:
            best = max(best, 8 * len(x) / comp.nbytes)
    return best


def sz3_speed(x: np.ndarray, eps: float) -> tuple[float, float]:
    from pysz import sz, szAlgorithm, szConfig, szErrorBoundMode

    cfg = szConfig()
    cfg.setDims([len(x)])
    cfg.errorBoundMode = szErrorBoundMode.ABS
    cfg.absErrorBound = eps
    cfg.cmprAlgo = szAlgorithm.INTERP_LORENZO
    t0 = time.perf_counter()
    comp, _ = sz.compress(np.ascontiguousarray(x), cfg)
    t1 = time.perf_counter()
    sz.decompress(comp, np.float64, (len(x),))
    t2 = time.perf_counter()
    return len(x) / (t1 - t0) / 1e6, len(x) / (t2 - t1) / 1e6


def _best_of(fn, repeat: int) -> tuple[float, object]:
    best, out = math.inf, None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def heldout_series() -> dict[str, np.ndarray]:
    """Series no constant of the codec was chosen on: statsmodels' real data sets (when
    installed) and synthetic families with fixed seeds (smooth, noisy, trending, stepped)."""
    rng = np.random.default_rng(2026)
    out: dict[str, np.ndarray] = {}
    try:
        import statsmodels.api as sm

        d = sm.datasets
        out["co2 (weekly)"] = d.co2.load_pandas().data["co2"].interpolate().to_numpy(float)
        out["sunspots"] = d.sunspots.load_pandas().data["SUNACTIVITY"].to_numpy(float)
        out["elnino"] = d.elnino.load_pandas().data.iloc[:, 1:].to_numpy(float).ravel()
        out["nile"] = d.nile.load_pandas().data["volume"].to_numpy(float)
        out["realgdp"] = d.macrodata.load_pandas().data["realgdp"].to_numpy(float)
    except ImportError:
        pass
    n = 100_000
    t = np.arange(n)
    periods = rng.uniform(200, 20000, 3)
    smooth = sum(np.sin(2 * np.pi * t / p + rng.uniform(0, 6)) for p in periods)
    out["3 sinusoids"] = smooth
    out["3 sinusoids + 0.1% noise"] = smooth + 0.001 * np.ptp(smooth) * rng.standard_normal(n)
    m = 200_000
    tm = np.arange(m)
    out["temperature-like"] = (10 * np.sin(2 * np.pi * tm / 1440) + 5 * np.sin(2 * np.pi * tm /
                               40000) + 0.02 * np.cumsum(rng.standard_normal(m))
                               + 0.01 * rng.standard_normal(m))
    out["chirp"] = np.sin(2 * np.pi * (np.arange(m) / 2000.0) ** 2 / 10)
    out["random walk"] = np.cumsum(rng.standard_normal(n))
    ar = np.empty(n)
    ar[0] = 0.0
    e = rng.standard_normal(n)
    for i in range(1, n):
        ar[i] = 0.9 * ar[i - 1] + e[i]
    out["AR(1)"] = ar
    out["steps + noise"] = (np.repeat(rng.integers(-5, 5, n // 500 + 1), 500)[:n]
                            + 0.05 * rng.standard_normal(n))
    return out


def heldout() -> None:
    print("\n### Series not used for any design decision (hippo CR / best of SZ3 and q2eps, "
          "measured in this run)\n")
    print("| series | samples | 0.5% | 1% | 5% |")
    print("|---|---|---|---|---|")
    ratios = []
    for name, x in heldout_series().items():
        cells = []
        for pct in (0.005, 0.01, 0.05):
            eps = pct * float(np.ptp(x))
            blob = encode(x, eps)
            y, _ = decode(blob)
            assert np.all(np.abs(y[:, 0] - x) <= eps), name
            cr = 8 * len(x) / len(blob)
            r = cr / max(sz3(x, eps), q2eps(x, eps))
            ratios.append(r)
            cells.append(f"{cr:.1f} ({r:.2f})")
        print(f"| {name} | {len(x)} | " + " | ".join(cells) + " |")
    g = math.exp(sum(math.log(r) for r in ratios) / len(ratios))
    print(f"\nheld-out: geometric mean {g:.3f}, lowest {min(ratios):.3f} (every sample within "
          "its bound)")


def load_baseline(rev: str):
    """The ``hippo_cli`` package of git revision ``rev`` of this repository, imported as
    ``hippo_base`` (kept under ~/.cache so that its numba cache survives between runs)."""
    import importlib.util
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[1]
    full = subprocess.run(["git", "-C", str(root), "rev-parse", rev], capture_output=True,
                          text=True, check=True).stdout.strip()
    where = Path.home() / ".cache" / "hippo-bench" / full[:12]
    if not (where / "hippo_cli" / "__init__.py").exists():
        where.mkdir(parents=True, exist_ok=True)
        archive = subprocess.run(["git", "-C", str(root), "archive", full, "hippo_cli"],
                                 capture_output=True, check=True).stdout
        subprocess.run(["tar", "-x", "-C", str(where)], input=archive, check=True)
    spec = importlib.util.spec_from_file_location(
        "hippo_base", where / "hippo_cli" / "__init__.py",
        submodule_search_locations=[str(where / "hippo_cli")])
    module = importlib.util.module_from_spec(spec)
    sys.modules["hippo_base"] = module
    spec.loader.exec_module(module)
    return module


def _median_paired(fns: dict, repeat: int) -> dict:
    """Median seconds of each function, the functions run in turn (interleaved, paired)."""
    times: dict = {k: [] for k in fns}
    for _ in range(repeat):
        for k, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            times[k].append(time.perf_counter() - t0)
    return {k: float(np.median(v)) for k, v in times.items()}


def before_after(base, peers: dict, data: Path, repeat: int) -> None:
    """Bytes and speeds of this hippo against ``base`` (an older one) and SZ3, interleaved
    in one run: the values decoded must be bit-identical, the bytes differ only by what the
    format's version adds (stated per cell)."""
    from pysz import sz, szAlgorithm, szConfig, szErrorBoundMode

    print(f"\n### Before ({base.__version__}, format 1) and after (this hippo, format 2), "
          f"one core, median of {repeat} interleaved runs\n")
    print("| series@bound | bytes before | bytes after | after - before | same values | "
          "enc M/s before | enc M/s after | dec M/s before | dec M/s after | SZ3 enc M/s | "
          "SZ3 dec M/s |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    base.encode(np.zeros(10), 1.0)  # compile outside the timings
    cache: dict[str, np.ndarray] = {}
    speed = {k: [] for k in ("enc_b", "enc_a", "dec_b", "dec_a", "sz_e", "sz_d")}
    for key in sorted(peers, key=lambda k: (k.split("@")[0], float(k.split("@")[1]))):
        name, pct = key.split("@")
        if name not in cache:
            cache[name] = pd.read_csv(data / f"{name}.csv.xz")["value"].to_numpy(float)
        x = cache[name]
        eps = float(pct) * float(x.max() - x.min())
        old, new = base.encode(x, eps), encode(x, eps)
        same = np.array_equal(decode(old)[0].view(np.uint64), decode(new)[0].view(np.uint64))
        cfg = szConfig()
        cfg.setDims([len(x)])
        cfg.errorBoundMode = szErrorBoundMode.ABS
        cfg.absErrorBound = eps
        cfg.cmprAlgo = szAlgorithm.INTERP_LORENZO
        comp = sz.compress(np.ascontiguousarray(x), cfg)[0]
        t = _median_paired({
            "enc_b": lambda: base.encode(x, eps), "enc_a": lambda: encode(x, eps),  # noqa: B023
            "dec_b": lambda: base.decode(old), "dec_a": lambda: decode(new),  # noqa: B023
            "sz_e": lambda: sz.compress(np.ascontiguousarray(x), cfg),  # noqa: B023
            "sz_d": lambda: sz.decompress(comp, np.float64, (len(x),)),  # noqa: B023
        }, repeat)
        m = {k: len(x) / v / 1e6 for k, v in t.items()}
        for k in speed:
            speed[k].append(m[k])
        print(f"| {key} | {len(old)} | {len(new)} | {len(new) - len(old):+d} | "
              f"{'yes' if same else 'NO'} | {m['enc_b']:.1f} | {m['enc_a']:.1f} | "
              f"{m['dec_b']:.1f} | {m['dec_a']:.1f} | {m['sz_e']:.1f} | {m['sz_d']:.1f} |")
    g = {k: math.exp(sum(math.log(v) for v in vs) / len(vs)) for k, vs in speed.items()}
    print(f"\ngeometric means (M samples/s): encode {g['enc_b']:.1f} -> {g['enc_a']:.1f} "
          f"({g['enc_a'] / g['enc_b']:.2f}x; SZ3 {g['sz_e']:.1f}, hippo/SZ3 "
          f"{g['enc_a'] / g['sz_e']:.2f}x), decode {g['dec_b']:.1f} -> {g['dec_a']:.1f} "
          f"({g['dec_a'] / g['dec_b']:.2f}x; SZ3 {g['sz_d']:.1f}, hippo/SZ3 "
          f"{g['dec_a'] / g['sz_d']:.2f}x)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DEFAULT, help="folder with *.csv.xz and "
                    "peers.json [../shared/bench/compression]")
    ap.add_argument("--quick", action="store_true", help="one timing run instead of three")
    ap.add_argument("--baseline", metavar="REV", help="only the before/after table against "
                    "the hippo of git revision REV (e.g. the last commit of a release)")
    args = ap.parse_args()
    peers = json.loads((args.data / "peers.json").read_text())
    if args.baseline:
        before_after(load_baseline(args.baseline), peers, args.data, 3 if args.quick else 7)
        return
    encode(np.zeros(10), 1.0)  # compile (numba cache) outside the timings
    repeat = 1 if args.quick else 3
    rows, ratios, listed_ratios = [], [], []
    cache: dict[str, np.ndarray] = {}
    for key in sorted(peers, key=lambda k: (k.split("@")[0], float(k.split("@")[1]))):
        name, pct = key.split("@")
        if name not in cache:
            cache[name] = pd.read_csv(args.data / f"{name}.csv.xz")["value"].to_numpy(float)
        x = cache[name]
        eps = float(pct) * float(x.max() - x.min())
        t_enc, blob = _best_of(lambda: encode(x, eps), repeat)  # noqa: B023
        t_dec, (y, _) = _best_of(lambda: decode(blob), repeat)  # noqa: B023
        err = float(np.max(np.abs(y[:, 0] - x))) / eps
        assert err <= 1.0, (key, err)
        cr = 8 * len(x) / len(blob)
        p = peers[key]
        now_sz3 = sz3(x, eps)
        now_q = q2eps(x, eps)
        listed = max(p[k] for k in ("sz3_best", "simpiece", "mixpiece", "q2eps") if k in p)
        best_peer = max(listed, now_sz3, now_q)  # the stricter: also what we measured now
        ratios.append(cr / best_peer)
        listed_ratios.append(cr / listed)
        rows.append((key, cr, err, len(x) / t_enc / 1e6, len(x) / t_dec / 1e6, now_sz3, now_q,
                     p.get("simpiece"), p.get("mixpiece"), best_peer))
    print(f"# {os.uname().machine}, {os.cpu_count()} cores; hippo .hippo file bytes "
          "(header and frames included); speeds on one core, best of "
          f"{repeat}\n")
    print("| series@bound | hippo CR | max err / eps | enc M/s | dec M/s | SZ3 (best) | q2eps |"
          " Sim-Piece | Mix-Piece | hippo / best peer |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for key, cr, err, enc, dec, s3, q, sp, mp, best in rows:
        f = (lambda v: "-" if v is None else f"{v:.1f}")  # noqa: E731
        print(f"| {key} | {cr:.1f} | {err:.4f} | {enc:.1f} | {dec:.1f} | {s3:.1f} | {q:.1f} | "
              f"{f(sp)} | {f(mp)} | {cr / best:.3f} |")
    def gmean(r: list[float]) -> float:
        return math.exp(sum(math.log(v) for v in r) / len(r))

    print(f"\nhippo / best peer (the best of every column): geometric mean {gmean(ratios):.3f}, "
          f"lowest {min(ratios):.3f} ({rows[int(np.argmin(ratios))][0]})")
    print(f"hippo / best peer of peers.json (sz3_best, simpiece, mixpiece, q2eps): geometric "
          f"mean {gmean(listed_ratios):.3f}, lowest {min(listed_ratios):.3f}")
    print("every decoded sample within its bound: yes (checked in float64)")
    x = cache.get("Lightning")
    if x is not None:
        eps = 0.01 * float(np.ptp(x))
        s_enc, s_dec = sz3_speed(x, eps)
        print(f"SZ3 speed on Lightning@1% in the same run: encode {s_enc:.1f} M/s, decode "
              f"{s_dec:.1f} M/s")
    heldout()


if __name__ == "__main__":
    main()
