"""Bounded-error compression: hippo's levels against the best error-bounded compressors.

    python -m pip install -e '.[bench]' && python benchmarks/codec.py [--data DIR] [--quick]
    python benchmarks/codec.py --levels default,best --repeat 5 --no-heldout
    python benchmarks/codec.py --baseline dbffa10     # before/after against an older hippo
    python benchmarks/codec.py --baseline 893145d --levels best    # of one level

For every cell (series@bound) of ``DIR/peers.json`` (default ``../shared/bench/compression``:
eps = pct x (max - min), CR = 8 n / bytes of everything a decoder needs) and every level of
``--levels`` (default: every level ``hippo_cli.codec.encode`` accepts), prints hippo's CR,
its largest error / eps (every decoded sample checked in float64; a sample over the bound is
marked OVER, fails the last target and makes the exit status 1), encode and decode
M samples/s (one thread, in process, best of ``--repeat``). Then the peers: SZ3 (pysz, best of
its three 1-D predictors), q2eps (2 eps grid, the integer deltas by the best of zstd-19 and
pcodec) and pcodec (lossless) measured in this run, and from peers.json the published
figures (sz3_best, simpiece, mixpiece, q2eps, lfzip, qoz, machete) and the yardstick
q2eps_bsc. "Best published" is the largest of the published figures, listed and measured
now (the stricter). The targets of issue #24 close the output, each "met" or "MISSED by x%",
then the held-out series (hippo's levels against SZ3 and q2eps on series no constant of the
codec was chosen on).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from hippo_cli.codec import decode, encode

DEFAULT = Path(__file__).resolve().parents[2] / "shared" / "bench" / "compression"
#: peers.json's published figures: the strongest of them per cell is the one to beat (with
#: SZ3 and q2eps measured in this run).
PUBLISHED = ("sz3_best", "simpiece", "mixpiece", "q2eps", "lfzip", "qoz", "machete")
#: Not a published method: the 2 eps grid coded by bsc, what plain grid values and a strong
#: entropy coder reach; the best level should not fall below it.
YARDSTICK = "q2eps_bsc"
#: Issue #24's targets for the best level: geometric mean and lowest cell of best / best
#: published, and its encode and decode speed (M samples/s, one core).
TARGET_GMEAN = 1.35
TARGET_LOWEST = 1.02
TARGET_SPEED = 1.0
#: default / best published in the 36-cell study of #24 (the default level must stay there).
DEFAULT_STUDY = 1.23


def q2eps(x: np.ndarray, eps: float) -> float:
    """CR of the ten-line baseline (peers.json's ``q2eps``): the 2 eps grid, its integer
    deltas coded by the best of zstd-19 (int64 or varint bytes) and pcodec (of the integers,
    which finds the deltas itself); 16 bytes for eps and n. ``x``: float64 (n,)."""
    import pcodec
    import zstandard
    from pcodec import standalone

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
    pco = standalone.simple_compress(q, pcodec.ChunkConfig())
    assert np.array_equal(standalone.simple_decompress(pco), q)
    best = min(len(c.compress(d.astype("<i8").tobytes())), len(c.compress(bytes(var))),
               len(pco))
    return 8 * len(x) / (best + 16)


def pcodec_lossless(x: np.ndarray) -> float:
    """CR of pcodec (lossless, default level) of the float64 samples ``x`` (n,), checked
    bit for bit."""
    import pcodec
    from pcodec import standalone

    blob = standalone.simple_compress(np.ascontiguousarray(x), pcodec.ChunkConfig())
    assert np.array_equal(standalone.simple_decompress(blob).view(np.uint64),
                          x.view(np.uint64))
    return 8 * len(x) / len(blob)


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


def gmean(values: list[float]) -> float:
    return math.exp(sum(math.log(v) for v in values) / len(values))


def verdict(value: float, target: float) -> str:
    """"met" when ``value`` reaches ``target``, else by how much of the target it falls short."""
    return "met" if value >= target else f"MISSED by {100 * (1 - value / target):.1f}%"


def bound_check(x: np.ndarray, y: np.ndarray, eps: float) -> tuple[float, int]:
    """(largest |y - x| / eps, samples over eps) of decoded ``y`` against ``x``, both (n,),
    in float64; a NaN where ``x`` is finite counts as over (and as an infinite error)."""
    d = np.abs(np.asarray(y, np.float64) - np.asarray(x, np.float64))
    if len(d) == 0:
        return 0.0, 0
    over = int(np.count_nonzero(~(d <= eps)))  # NaN compares False: over
    worst = math.inf if np.isnan(d).any() else float(np.max(d))
    return worst / eps, over


@dataclass
class LevelRun:
    """One level on one cell: CR, largest error / eps, samples over the bound, M samples/s."""

    cr: float
    err: float
    over: int
    enc: float
    dec: float


def run_level(x: np.ndarray, eps: float, level: str, repeat: int) -> LevelRun:
    """Encode float64 ``x`` (n,) at ``level`` on one thread, decode it, check every sample."""
    t_enc, blob = _best_of(lambda: encode(x, eps, level=level, threads=1), repeat)
    t_dec, (y, _) = _best_of(lambda: decode(blob, threads=1), repeat)
    err, over = bound_check(x, y[:, 0], eps)
    n = len(x)
    return LevelRun(8 * n / len(blob), err, over, n / t_enc / 1e6, n / t_dec / 1e6)


@dataclass
class Cell:
    """A series@bound of peers.json: hippo's levels, the peers measured now and listed."""

    key: str
    n: int
    runs: dict[str, LevelRun]
    sz3_now: float
    q2eps_now: float
    pcodec_cr: float
    listed: dict = field(default_factory=dict)

    def published(self) -> tuple[float, str]:
        """(CR, name) of the strongest published figure: peers.json's and those measured now."""
        found = {k: float(self.listed[k]) for k in PUBLISHED if k in self.listed}
        found["SZ3 now"] = self.sz3_now
        found["q2eps now"] = self.q2eps_now
        name = max(found, key=found.__getitem__)
        return found[name], name

    def yardstick(self) -> float | None:
        v = self.listed.get(YARDSTICK)
        return None if v is None else float(v)


def _cell_order(key: str) -> tuple[str, float]:
    name, pct = key.split("@")
    return name, float(pct)


def measure(data: Path, peers: dict, levels: list[str], repeat: int) -> list[Cell]:
    """Every cell of ``peers`` (its series read from ``data/NAME.csv.xz``, column ``value``)."""
    cells, cache = [], {}
    for key in sorted(peers, key=_cell_order):
        name, pct = key.split("@")
        if name not in cache:
            cache[name] = pd.read_csv(data / f"{name}.csv.xz")["value"].to_numpy(float)
        x = cache[name]
        eps = float(pct) * float(x.max() - x.min())
        runs = {lv: run_level(x, eps, lv, repeat) for lv in levels}
        cells.append(Cell(key, len(x), runs, sz3(x, eps), q2eps(x, eps), pcodec_lossless(x),
                          peers[key]))
    return cells


def target_level(levels: list[str]) -> str:
    """The level the targets are about: ``best`` when measured, else the last one given."""
    return "best" if "best" in levels else levels[-1]


def _f(v: float | None) -> str:
    return "-" if v is None else f"{v:.1f}"


def print_tables(cells: list[Cell], levels: list[str], repeat: int) -> None:
    """The levels table and the peers table, one row per cell."""
    top = target_level(levels)
    print("\n### hippo's levels: CR, largest error / eps, M samples/s (one thread, best of "
          f"{repeat})\n")
    cols = [f"{lv} {c}" for lv in levels for c in ("CR", "err/eps", "enc", "dec")]
    print("| series@bound | n | " + " | ".join(cols) + " |")
    print("|---|---|" + "---|" * len(cols))
    for c in cells:
        row = []
        for lv in levels:
            r = c.runs[lv]
            err = f"{r.err:.4f}" if r.over == 0 else f"**{r.err:.4f} OVER ({r.over})**"
            row += [f"{r.cr:.1f}", err, f"{r.enc:.1f}", f"{r.dec:.1f}"]
        print(f"| {c.key} | {c.n} | " + " | ".join(row) + " |")
    print("\n### Peers: measured in this run, and published (peers.json); best published = "
          "the largest of the published ones, listed and measured now\n")
    others = [lv for lv in ("default",) if lv in levels and lv != top]
    cols = (["SZ3 now", "q2eps now", "pcodec (lossless)", *PUBLISHED, YARDSTICK,
             "best published", "which", f"{top} / best published", f"{top} / {YARDSTICK}"]
            + [f"{lv} / best published" for lv in others])
    print("| series@bound | " + " | ".join(cols) + " |")
    print("|---|" + "---|" * len(cols))
    for c in cells:
        pub, which = c.published()
        bsc = c.yardstick()
        row = ([f"{c.sz3_now:.1f}", f"{c.q2eps_now:.1f}", f"{c.pcodec_cr:.2f}"]
               + [_f(c.listed.get(k)) for k in (*PUBLISHED, YARDSTICK)]
               + [f"{pub:.1f}", which, f"{c.runs[top].cr / pub:.3f}",
                  "-" if bsc is None else f"{c.runs[top].cr / bsc:.3f}"]
               + [f"{c.runs[lv].cr / pub:.3f}" for lv in others])
        print(f"| {c.key} | " + " | ".join(row) + " |")


def targets(cells: list[Cell], levels: list[str]) -> list[str]:
    """Issue #24's targets as measured on ``cells``, one line each, "met" or "MISSED by x%"."""
    top = target_level(levels)
    n = len(cells)
    lines = [f"targets of #24 for the {top} level, over these {n} cells:"]
    ratio = {c.key: c.runs[top].cr / c.published()[0] for c in cells}
    g = gmean(list(ratio.values()))
    lines.append(f"- {top} / best published, geometric mean {g:.3f} (target >= {TARGET_GMEAN}):"
                 f" {verdict(g, TARGET_GMEAN)}")
    low_key = min(ratio, key=ratio.__getitem__)
    below = [f"{k} {v:.4f}" for k, v in ratio.items() if v < TARGET_LOWEST]
    lines.append(f"- lowest cell {ratio[low_key]:.3f} ({low_key}) (target >= {TARGET_LOWEST} in "
                 f"every cell): {verdict(ratio[low_key], TARGET_LOWEST)}; cells below "
                 f"{TARGET_LOWEST}: {', '.join(below) if below else 'none'}")
    vs_bsc = {c.key: c.runs[top].cr / c.yardstick() for c in cells if c.yardstick() is not None}
    if vs_bsc:
        worst = min(vs_bsc, key=vs_bsc.__getitem__)
        under = [f"{k} {v:.4f}" for k, v in vs_bsc.items() if v < 1.0]
        lines.append(f"- {top} >= {YARDSTICK} in the {len(vs_bsc)} cells that have it (lowest "
                     f"{vs_bsc[worst]:.3f}, {worst}): {verdict(vs_bsc[worst], 1.0)}; cells "
                     f"below: {', '.join(under) if under else 'none'}")
    else:
        lines.append(f"- {top} >= {YARDSTICK}: no cell has it, not measured")
    if "default" in levels:
        gd = gmean([c.runs["default"].cr / c.published()[0] for c in cells])
        lines.append(f"- default / best published, geometric mean {gd:.3f} against the "
                     f"{DEFAULT_STUDY} of the 36-cell study (only these {n} cells are measured "
                     f"here): {verdict(gd, DEFAULT_STUDY)}")
    enc = min(cells, key=lambda c: c.runs[top].enc)
    dec = min(cells, key=lambda c: c.runs[top].dec)
    e, d = enc.runs[top].enc, dec.runs[top].dec
    lines.append(f"- {top} speed, one core (target >= {TARGET_SPEED:g} M samples/s): encode "
                 f"lowest {e:.2f} ({enc.key}): {verdict(e, TARGET_SPEED)}; decode lowest "
                 f"{d:.2f} ({dec.key}): {verdict(d, TARGET_SPEED)}")
    over = [(c.key, lv, r.over) for c in cells for lv, r in c.runs.items() if r.over]
    if over:
        lines.append(f"- every decoded sample within its bound: MISSED, "
                     f"{sum(o for *_, o in over)} samples over: "
                     + ", ".join(f"{k} {lv} ({o})" for k, lv, o in over))
    else:
        lines.append(f"- every decoded sample within its bound (levels {', '.join(levels)}, "
                     f"checked in float64): met")
    return lines


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


def heldout(levels: list[str], series: dict[str, np.ndarray] | None = None) -> int:
    """The held-out table: each of ``levels``' CR and its ratio to the better of SZ3 and q2eps
    measured now, at 0.5%, 1% and 5% of each series' range (``series``: name -> float64 (n,),
    default :func:`heldout_series`). Returns the number of samples over their bound."""
    series = heldout_series() if series is None else series
    pcts = (0.005, 0.01, 0.05)
    print("\n### Series not used for any design decision (hippo CR / best of SZ3 and q2eps, "
          "measured in this run)\n")
    cols = [f"{100 * p:g}% {lv}" for p in pcts for lv in levels]
    print("| series | samples | " + " | ".join(cols) + " |")
    print("|---|---|" + "---|" * len(cols))
    ratios: dict[str, list[float]] = {lv: [] for lv in levels}
    over_total = 0
    for name, x in series.items():
        cells = []
        for pct in pcts:
            eps = pct * float(np.ptp(x))
            peer = max(sz3(x, eps), q2eps(x, eps))
            for lv in levels:
                blob = encode(x, eps, level=lv, threads=1)
                y, _ = decode(blob, threads=1)
                _, over = bound_check(x, y[:, 0], eps)
                over_total += over
                cr = 8 * len(x) / len(blob)
                ratios[lv].append(cr / peer)
                mark = "" if over == 0 else f" **OVER ({over})**"
                cells.append(f"{cr:.1f} ({cr / peer:.2f}){mark}")
        print(f"| {name} | {len(x)} | " + " | ".join(cells) + " |")
    summary = "; ".join(f"{lv} geometric mean {gmean(r):.3f}, lowest {min(r):.3f}"
                        for lv, r in ratios.items())
    within = ("every sample within its bound" if over_total == 0
              else f"{over_total} SAMPLES OVER THEIR BOUND")
    print(f"\nheld-out: {summary} ({within})")
    return over_total


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


def before_after(base, peers: dict, data: Path, repeat: int, level: str = "default") -> None:
    """Bytes and speeds of ``level`` of this hippo against ``base`` (an older one) and SZ3,
    interleaved in one run; whether the values decoded are bit-identical is stated per cell
    (a change of the format's version alone keeps them; an encoder's new choice may not)."""
    from pysz import sz, szAlgorithm, szConfig, szErrorBoundMode

    # the default level as hippo 0.2 knew it (no level argument); another, on one thread
    kw = {} if level == "default" else {"level": level, "threads": 1}
    print(f"\n### Before ({base.__version__}) and after (this hippo), level {level}, "
          f"one core, median of {repeat} interleaved runs\n")
    print("| series@bound | bytes before | bytes after | after - before | same values | "
          "enc M/s before | enc M/s after | dec M/s before | dec M/s after | SZ3 enc M/s | "
          "SZ3 dec M/s |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    base.encode(np.zeros(10), 1.0, **kw)  # compile outside the timings
    encode(np.zeros(10), 1.0, **kw)
    cache: dict[str, np.ndarray] = {}
    speed = {k: [] for k in ("enc_b", "enc_a", "dec_b", "dec_a", "sz_e", "sz_d")}
    for key in sorted(peers, key=lambda k: (k.split("@")[0], float(k.split("@")[1]))):
        name, pct = key.split("@")
        if name not in cache:
            cache[name] = pd.read_csv(data / f"{name}.csv.xz")["value"].to_numpy(float)
        x = cache[name]
        eps = float(pct) * float(x.max() - x.min())
        old, new = base.encode(x, eps, **kw), encode(x, eps, **kw)
        same = np.array_equal(decode(old)[0].view(np.uint64), decode(new)[0].view(np.uint64))
        cfg = szConfig()
        cfg.setDims([len(x)])
        cfg.errorBoundMode = szErrorBoundMode.ABS
        cfg.absErrorBound = eps
        cfg.cmprAlgo = szAlgorithm.INTERP_LORENZO
        comp = sz.compress(np.ascontiguousarray(x), cfg)[0]
        t = _median_paired({
            "enc_b": lambda: base.encode(x, eps, **kw),  # noqa: B023
            "enc_a": lambda: encode(x, eps, **kw),  # noqa: B023
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


def _commit() -> str:
    """The short git commit that last changed hippo_cli/ in this checkout (the code measured),
    with "+changes" when hippo_cli/ has uncommitted ones."""
    root = Path(__file__).resolve().parents[1]
    try:
        sha = subprocess.run(["git", "-C", str(root), "log", "-1", "--format=%h", "--abbrev=7",
                              "--", "hippo_cli"],
                             capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "hippo_cli"],
                               capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return sha + ("+changes" if dirty else "")


def _levels(text: str) -> list[str]:
    """The comma-separated levels of ``--levels``, each tried on encode (which says which it
    accepts); an empty text means every level of hippo_cli.codec.channel.LEVELS."""
    from hippo_cli.codec.channel import LEVELS
    from hippo_cli.errors import HippoError

    levels = [lv.strip() for lv in text.split(",") if lv.strip()] if text else list(LEVELS)
    warm = np.cumsum(np.random.default_rng(0).standard_normal(20_000))
    for lv in levels:
        try:  # also compiles (numba cache) the level's kernels outside the timings
            decode(encode(warm, 1.0, level=lv, threads=1), threads=1)
        except (HippoError, ValueError) as e:
            raise argparse.ArgumentTypeError(str(e)) from None
    return levels


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; 1 when a decoded sample is over its bound, else 0."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DEFAULT, help="folder with *.csv.xz and "
                    "peers.json [../shared/bench/compression]")
    ap.add_argument("--levels", type=_levels, default=None, help="comma-separated levels of "
                    "hippo_cli.codec.encode [all it has: fast,default,best]")
    ap.add_argument("--repeat", type=int, default=3, help="timing runs, the best kept [3]")
    ap.add_argument("--quick", action="store_true", help="one timing run instead of three")
    ap.add_argument("--no-heldout", action="store_true", help="skip the held-out series")
    ap.add_argument("--baseline", metavar="REV", help="only the before/after table against "
                    "the hippo of git revision REV (e.g. the last commit of a release), of "
                    "the one level --levels names [default]")
    args = ap.parse_args(argv)
    peers = json.loads((args.data / "peers.json").read_text())
    if args.baseline:
        if args.levels is not None and len(args.levels) != 1:
            ap.error("--baseline compares one level: give --levels LEVEL")
        level = "default" if args.levels is None else args.levels[0]
        before_after(load_baseline(args.baseline), peers, args.data, 3 if args.quick else 7,
                     level)
        return 0
    levels = _levels("") if args.levels is None else args.levels
    repeat = 1 if args.quick else max(1, args.repeat)
    t0 = time.perf_counter()
    load = os.getloadavg()
    cells = measure(args.data, peers, levels, repeat)
    t_cells = time.perf_counter() - t0
    print(f"# {os.uname().machine}, {os.cpu_count()} cores, load average {load[0]:.2f} "
          f"{load[1]:.2f} {load[2]:.2f} at the start; hippo_cli/ of commit {_commit()}; "
          f".hippo file bytes (header and frames included); speeds on one thread, best of "
          f"{repeat}")
    print_tables(cells, levels, repeat)
    top = target_level(levels)
    listed = [c.runs[top].cr / max(float(c.listed[k]) for k in PUBLISHED if k in c.listed)
              for c in cells if any(k in c.listed for k in PUBLISHED)]
    if listed:
        print(f"\n{top} / best published of peers.json alone (without the peers measured now):"
              f" geometric mean {gmean(listed):.3f}, lowest {min(listed):.3f}")
    if any(k.startswith("Lightning@") for k in peers):
        x = pd.read_csv(args.data / "Lightning.csv.xz")["value"].to_numpy(float)
        s_enc, s_dec = sz3_speed(x, 0.01 * float(np.ptp(x)))
        print(f"SZ3 speed on Lightning@1% in the same run: encode {s_enc:.1f} M/s, decode "
              f"{s_dec:.1f} M/s")
    print()
    print("\n".join(targets(cells, levels)))
    over = sum(r.over for c in cells for r in c.runs.values())
    t1 = time.perf_counter()
    if not args.no_heldout:
        over += heldout(list(dict.fromkeys(lv for lv in ("default", top) if lv in levels)))
    print(f"\nrun time: {t_cells:.0f} s for the cells ({len(cells)} cells x {len(levels)} "
          f"levels, best of {repeat}), {time.perf_counter() - t1:.0f} s for the rest")
    if over:
        print(f"benchmarks/codec.py: {over} decoded samples over their bound", file=sys.stderr)
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main())
