"""hippo's benchmark suite: one command, every figure next to its peers measured in the same run.

    python benchmarks/run.py            # full run (a few minutes; writes temporary files)
    python benchmarks/run.py --quick    # smaller sizes, for a smoke test

Sections: kernels (one channel, many channels, LegT dense), end-to-end ``hippo compress``
against ``pandas.read_csv`` with peak memory, ``hippo stream`` throughput and latency,
start-up and compile times, float32 output. Timing is best-of-N wall time; the first call of
every kernel (compile or cache load) is excluded from kernel figures and measured separately.
"""

from __future__ import annotations

import argparse
import os
import platform
import select
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import peers

from hippo_cli import HiPPO, discretize, transition

HIPPO = [sys.executable, "-m", "hippo_cli"]


def best_time(fn, repeat: int = 3) -> float:
    best = np.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def rate(fn, n: int, repeat: int = 3) -> float:
    """Samples (or channel-samples) per second, in millions."""
    return n / best_time(fn, repeat) / 1e6


def table(title: str, header: list[str], rows: list[list[str]]) -> None:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    print(f"\n### {title}\n")
    print("| " + " | ".join(h.ljust(w) for h, w in zip(header, widths)) + " |")
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for r in rows:
        print("| " + " | ".join(str(c).ljust(w) for c, w in zip(r, widths)) + " |")
    sys.stdout.flush()


def signal(L: int, C: int | None = None) -> np.ndarray:
    rng = np.random.default_rng(0)
    t = np.arange(L)
    u = np.sin(t / 500.0) + 0.3 * np.cos(t / 37.0) + 0.05 * rng.standard_normal(L)
    if C is None:
        return u
    return np.ascontiguousarray(np.column_stack([np.roll(u, 7 * c) for c in range(C)]))


def hippo_rate(kw: dict, x: np.ndarray, N: int, every: int = 1000) -> float:
    HiPPO(N=N, **kw).update(x[:2000])  # compile or load the cache first
    return rate(lambda: HiPPO(N=N, **kw).update(x, every=every), x.size)


def fmt(v: float, digits: int = 2) -> str:
    return "-" if v is None or not np.isfinite(v) else f"{v:.{digits}f}"


# ----------------------------------------------------------------------------- kernels
def _kernel_row(measure: str, N: int, kw: dict, u: np.ndarray, small: int) -> list[str]:
    L = len(u)
    ours = hippo_rate({"measure": measure, **kw}, u, N)
    A, B = transition(measure, N)
    h = kw.get("dt", 1e-3)
    Ad, Bd = discretize(A, B, h, "bilinear")
    np_loop = rate(lambda: peers.numpy_loop(Ad, Bd, u[:small]), small, 1)
    dl = rate(lambda: peers.dlsim(Ad, Bd, u[:small]), small, 1)
    if measure == "legs":
        np_true = rate(lambda: peers.numpy_legs_loop(A, B, u[: small // 10]), small // 10, 1)
        peers.numba_legs_dense(A, B, u[:10])
        peers.numba_legs_two_loops(u[:10], N)
        nb_dense = rate(lambda: peers.numba_legs_dense(A, B, u[: small * 4]), small * 4, 1)
        nb_on = rate(lambda: peers.numba_legs_two_loops(u, N), L, 2)
    else:
        np_true = None
        peers.numba_dense(Ad, Bd, u[:10])
        peers.numba_lagt_two_loops(u[:10], N, h)
        nb_dense = rate(lambda: peers.numba_dense(Ad, Bd, u[: small * 4]), small * 4, 1)
        nb_on = rate(lambda: peers.numba_lagt_two_loops(u, N, h), L, 2)
    return [f"{measure} N={N}", fmt(ours), fmt(np_loop, 3), fmt(np_true, 3), fmt(dl, 3),
            fmt(nb_dense), fmt(nb_on), f"{ours / np_loop:.0f}x"]


def bench_kernels(L: int, small: int) -> None:
    """The per-sample kernels (the block engine switched off): what runs when every state
    is wanted, and the per-sample peers."""
    from hippo_cli.engine import blocks

    blocks.ENABLED = False
    try:
        _bench_kernels(L, small)
    finally:
        blocks.ENABLED = True


def _bench_kernels(L: int, small: int) -> None:
    u = signal(L)
    rows = [_kernel_row(measure, N, kw, u, small)
            for measure, N, kw in [("legs", 64, {}), ("legs", 256, {}),
                                   ("lagt", 64, {"dt": 1e-3}), ("lagt", 256, {"dt": 1e-3})]]
    table(f"Per-sample kernels, one channel, bilinear, {L} samples (M samples/s)",
          ["case", "hippo", "numpy loop (LTI matvec)", "numpy LegS per-step solve",
           "scipy dlsim", "numba dense", "numba O(N) two loops", "vs numpy loop"], rows)

    rows = []
    for C in (1, 4, 16, 64):
        x = signal(L) if C == 1 else signal(max(4 * L // C, 50_000), C)
        for measure, kw in [("legs", {}), ("lagt", {"dt": 1e-3}), ("legt", {"theta": 1000})]:
            ours = hippo_rate({"measure": measure, **kw}, x, 64)
            rows.append([measure, str(C), fmt(ours)])
    table("Per-sample kernels, many channels, N = 64 (M channel-samples/s)",
          ["measure", "channels", "hippo"], rows)

    A, B = transition("legt", 64)
    Ad, Bd = discretize(A, B, 1e-3, "bilinear")
    x16 = signal(max(L // 8, 50_000), 16)
    ours1 = hippo_rate({"measure": "legt", "theta": 1000}, u, 64)
    ours16 = hippo_rate({"measure": "legt", "theta": 1000}, x16, 64)
    np_loop = rate(lambda: peers.numpy_loop(Ad, Bd, u[:small]), small, 1)
    np16 = rate(lambda: [peers.numpy_loop(Ad, Bd, x16[:small // 16, c]) for c in range(16)],
                small, 1)
    nb = rate(lambda: peers.numba_dense(Ad, Bd, u[: small * 4]), small * 4, 1)
    dl = rate(lambda: peers.dlsim(Ad, Bd, u[:small]), small, 1)
    table("LegT per sample, N = 64 (M channel-samples/s; one channel: the O(N) "
          "quasiseparable step, 16: the dense matrix)",
          ["case", "hippo", "numpy loop", "scipy dlsim", "numba dense", "vs numpy loop"],
          [["1 channel", fmt(ours1), fmt(np_loop, 3), fmt(dl, 3), fmt(nb),
            f"{ours1 / np_loop:.1f}x"],
           ["16 channels", fmt(ours16), fmt(np16, 3), "-", "-", f"{ours16 / np16:.1f}x"]])


# ----------------------------------------------------------------------------- targets
#: (label, HiPPO parameters, N, channels, target in M channel-samples/s) of the block engine
TARGETS = [
    ("legs exact", {"measure": "legs", "method": "exact"}, 64, 1, 100),
    ("legs exact", {"measure": "legs", "method": "exact"}, 256, 1, 20),
    ("legt", {"measure": "legt", "theta": 1000}, 64, 1, 150),
    ("legt", {"measure": "legt", "theta": 1000}, 256, 1, 40),
    ("lagt", {"measure": "lagt", "dt": 1e-3}, 64, 1, 150),
    ("legs exact", {"measure": "legs", "method": "exact"}, 64, 16, 150),
    ("legt", {"measure": "legt", "theta": 1000}, 64, 16, 150),
    ("lagt", {"measure": "lagt", "dt": 1e-3}, 64, 16, 150),
]


def bench_targets(L: int) -> None:
    """The block engine (every = 1000) against the per-sample kernels of the same method
    (the engine switched off), and LegS's bilinear default, in the same run."""
    from hippo_cli.engine import blocks

    rows = []
    for label, kw, N, C, target in TARGETS:
        n = L if C == 1 else L // C * C
        x = signal(n) if C == 1 else signal(n // C, C)
        block = hippo_rate(kw, x, N)
        short = x[: max(len(x) // 20, 20_000)]
        blocks.ENABLED = False
        try:
            sample = hippo_rate(kw, short, N)
        finally:
            blocks.ENABLED = True
        bil = hippo_rate({"measure": "legs"}, short, N) if kw["measure"] == "legs" else None
        rows.append([f"{label} N={N}", str(C), fmt(block), fmt(sample, 3), fmt(bil),
                     f"{block / sample:.0f}x", f">= {target}",
                     "met" if block >= target else f"missed by {target / block:.2f}x"])
    table(f"Block engine, {L:,} samples per channel, a row every 1000 (M channel-samples/s)",
          ["case", "channels", "block engine", "per-sample (same method)",
           "legs bilinear per-sample", "speed-up", "target", ""], rows)


# ----------------------------------------------------------------------------- end to end
def write_csv(path: Path, rows: int) -> None:
    block = 1_000_000
    with open(path, "w") as fh:
        fh.write("value\n")
        for start in range(0, rows, block):
            t = np.arange(start, min(rows, start + block))
            v = np.sin(t / 1000.0) + 0.1 * np.cos(t / 37.0)
            fh.write("\n".join(np.char.mod("%.6f", v).tolist()) + "\n")


_MEASURE = """
import resource, subprocess, sys, time
t0 = time.perf_counter()
rc = subprocess.run(sys.argv[1:]).returncode
wall = time.perf_counter() - t0
print(wall, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, rc, file=sys.stderr)
"""


def run_measured(cmd: list[str], **kw) -> tuple[float, float, int]:
    """Wall seconds, peak RSS in MB and exit code of a child process. A small launcher
    starts it, so that its peak RSS does not count the memory of this (large) process."""
    res = subprocess.run([sys.executable, "-c", _MEASURE, *cmd], stderr=subprocess.PIPE,
                         text=True, **kw)
    wall, rss, rc = res.stderr.strip().splitlines()[-1].split()
    return float(wall), int(rss) / 1024, int(rc)


def bench_end_to_end(rows: int, tmp: Path) -> None:
    """Whole processes: ``hippo compress`` of a one-column CSV against a process that only
    runs ``pandas.read_csv`` on it (both with their imports), peak memory of each."""
    out = []
    csv = tmp / f"e2e_{rows}.csv"
    write_csv(csv, rows)
    for method in ("bilinear", "exact"):
        subprocess.run([*HIPPO, "compress", str(tmp / "warm.csv"), "-N", "64", "-q", "-o",
                        str(tmp / "warm.npy"), "--method", method, "--every", "100"],
                       check=True)
        (tmp / "warm.npy").unlink()
    read, read_rss, rc = min(run_measured(
        [sys.executable, "-c", f"import pandas; pandas.read_csv({str(csv)!r})"])
        for _ in range(3))
    assert rc == 0
    for method in ("bilinear", "exact"):
        best = None
        for _ in range(3):
            res = run_measured([*HIPPO, "compress", str(csv), "-N", "64", "--every", "1000",
                                "--method", method, "-q", "-o", str(tmp / "e2e.npy")])
            (tmp / "e2e.npy").unlink()
            assert res[2] == 0
            best = res if best is None or res[0] < best[0] else best
        wall, rss, _ = best
        out.append([f"{rows:,}", f"{csv.stat().st_size / 1e6:.0f}", f"legs {method}",
                    f"{read:.2f} ({read_rss:.0f} MB)", f"{wall:.2f}", f"{wall / read:.2f}x",
                    f"{rss:.0f}"])
    csv.unlink()
    table("End to end, whole processes: hippo compress (N = 64, --every 1000) vs a process "
          "running pandas.read_csv", ["rows", "CSV MB", "method", "pandas.read_csv s (peak)",
                                      "hippo compress s", "ratio (target <= 1.5x)",
                                      "hippo peak RSS MB (target <= 300)"], out)


# ----------------------------------------------------------------------------- stream
def bench_stream(lines: int, tmp: Path) -> None:
    src = tmp / "lines.txt"
    np.savetxt(src, signal(lines), fmt="%.6f")
    rows = []
    for every in (1, 10, 100):
        def run(every=every) -> None:
            with open(src, "rb") as fin:
                subprocess.run([*HIPPO, "stream", "-N", "16", "--every", str(every)],
                               stdin=fin, stdout=subprocess.DEVNULL, check=True)
        rows.append([str(every), f"{lines / best_time(run, 2) / 1e3:.0f}"])
    # latency: one line at a time, time until its row is back
    proc = subprocess.Popen([*HIPPO, "stream", "-N", "16"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE)
    fd = proc.stdout.fileno()
    lat = []
    buf = b""
    proc.stdin.write(b"0.5\n")
    proc.stdin.flush()
    for i in range(201):
        t0 = time.perf_counter()
        if i:
            proc.stdin.write(f"{np.sin(i / 10):.6f}\n".encode())
            proc.stdin.flush()
        while buf.count(b"\n") < (2 if i == 0 else 1):
            select.select([fd], [], [], 30)
            buf += os.read(fd, 1 << 16)
        buf = buf[buf.rindex(b"\n") + 1:] if i else b""
        if i:
            lat.append(time.perf_counter() - t0)
        time.sleep(0.002)
    proc.stdin.close()
    proc.wait()
    table(f"hippo stream, N = 16, {lines:,} piped lines (k lines/s)",
          ["--every", "k lines/s"], rows)
    print(f"\nlatency, one line at a time: median {np.median(lat) * 1e3:.2f} ms, "
          f"max {np.max(lat) * 1e3:.2f} ms over {len(lat)} lines")


# ----------------------------------------------------------------------------- start-up
def bench_startup(tmp: Path) -> None:
    small = tmp / "small.csv"
    np.savetxt(small, signal(1000), fmt="%.6f", header="value", comments="")
    helpt = min(run_measured(["hippo", "--help"], stdout=subprocess.DEVNULL)[0]
                for _ in range(5))
    cold_dir = tmp / "numba-cold"
    env = {**os.environ, "NUMBA_CACHE_DIR": str(cold_dir)}
    rows = [["hippo --help", f"{helpt:.2f}"]]
    for measure, extra in [("legs", []), ("lagt", []), ("legt", ["--theta", "100"])]:
        shutil.rmtree(cold_dir, ignore_errors=True)
        cmd = ["hippo", "compress", str(small), "--measure", measure, *extra, "-q", "-f",
               "-o", str(tmp / "s.npy")]
        cold = run_measured(cmd, env=env)[0]
        warm = min(run_measured(cmd, env=env)[0] for _ in range(3))
        rows.append([f"compress 1000 rows, {measure}: first run (compile)", f"{cold:.2f}"])
        rows.append([f"compress 1000 rows, {measure}: warm numba cache", f"{warm:.2f}"])
    table("Start-up (whole process, seconds)", ["command", "s"], rows)


# ----------------------------------------------------------------------------- float32
def bench_float32(tmp: Path) -> None:
    t = np.arange(20_000)
    u = np.sin(t / 2000.0) + 0.5 * np.cos(t / 700.0)  # smooth: LegS N = 64 holds it well
    np.save(tmp / "u.npy", u)
    rows = []
    for dtype in ("float64", "float32"):
        out = tmp / f"u.{dtype}.npy"
        subprocess.run([*HIPPO, "compress", str(tmp / "u.npy"), "-N", "64", "--every", "100",
                        "--dtype", dtype, "-q", "-o", str(out)], check=True)
        res = subprocess.run([*HIPPO, "reconstruct", str(out), "--original",
                              str(tmp / "u.npy"), "-f", "-o", str(tmp / "r.csv")],
                             capture_output=True, text=True, check=True)
        rmse = res.stderr.split("RMSE ")[1].split(",")[0]
        rows.append([dtype, f"{out.stat().st_size:,}", rmse])
    c64 = np.load(tmp / "u.float64.npy")
    c32 = np.load(tmp / "u.float32.npy").astype(np.float64)
    rel = np.max(np.abs(c64 - c32)) / np.max(np.abs(c64))
    table("--dtype float32 (legs, N = 64, a smooth 20000-sample signal, every 100)",
          ["dtype", "bytes", "reconstruction RMSE"], rows)
    print(f"\nfloat32 coefficients differ from float64 by at most {rel:.1e} (relative)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small sizes (smoke test)")
    args = ap.parse_args()
    L, small, rows, lines = ((200_000, 5_000, 1_000_000, 100_000) if args.quick
                             else (1_000_000, 30_000, 16_000_000, 1_000_000))
    long = 10 * L if not args.quick else L
    import numba

    print(f"# {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"numpy {np.__version__}, numba {numba.__version__}")
    with tempfile.TemporaryDirectory(prefix="hippo-bench-") as d:
        tmp = Path(d)
        np.savetxt(tmp / "warm.csv", signal(1000), fmt="%.6f", header="v", comments="")
        bench_targets(long)
        bench_kernels(L, small)
        bench_end_to_end(rows, tmp)
        bench_stream(lines, tmp)
        bench_startup(tmp)
        bench_float32(tmp)


if __name__ == "__main__":
    main()
