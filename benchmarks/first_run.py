"""The first run after an install, and the runs after it: `hippo compress X.csv --max-error 1%
--time-column time` of a 100,000-row sensor CSV, as whole processes.

    python benchmarks/first_run.py [--runs 5] [--baseline REV]

A first run is a run with an empty numba cache (``NUMBA_CACHE_DIR`` pointing at a new empty
folder: what a fresh install has; pip has already compiled the Python bytecode). Each cold
run gets its own empty cache; warm runs reuse one. Reports the median and range of wall and
CPU seconds (this process's children: the job and the helper process that compiles the
decoder beside it), and checks that every run wrote the same bytes. ``--baseline REV`` runs
the same job with the hippo of git revision REV (from ~/.cache/hippo-bench, see
benchmarks/codec.py), one cold run and the warm runs, for the before/after figures.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _run(cmd: list[str], env: dict) -> tuple[float, float]:
    """(wall, CPU) seconds of one process and its children."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def _line(name: str, samples: list[tuple[float, float]]) -> str:
    walls, cpus = [w for w, _ in samples], [c for _, c in samples]
    return (f"| {name} | {len(samples)} | {statistics.median(walls):.2f} "
            f"({min(walls):.2f}-{max(walls):.2f}) | {statistics.median(cpus):.2f} |")


def _command(path: str | None) -> list[str]:
    """How to run ``hippo``: this one, or the package in folder ``path`` (ahead of an
    editable install's import hook, which would otherwise win)."""
    if path is None:
        return [sys.executable, "-m", "hippo_cli"]
    boot = ("import sys; sys.meta_path[:] = [f for f in sys.meta_path if 'editable' not in "
            f"repr(f)]; sys.path.insert(0, {path!r}); from hippo_cli.cli import main; "
            "sys.argv[0] = 'hippo'; main()")
    return [sys.executable, "-c", boot]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--baseline", metavar="REV", help="also the hippo of git revision REV")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="hippo-first-run-"))
    try:
        _measure(args, work)
    finally:  # the inputs, outputs and numba caches of the runs
        shutil.rmtree(work, ignore_errors=True)


def _measure(args: argparse.Namespace, work: Path) -> None:
    src = work / "sensor.csv"
    subprocess.run([sys.executable, str(ROOT / "examples" / "make_sensor_csv.py"), str(src),
                    "--rows", str(args.rows)], check=True, stdout=subprocess.DEVNULL)
    versions = [("this hippo", None)]
    if args.baseline:
        sys.path.insert(0, str(ROOT / "benchmarks"))
        from codec import load_baseline

        base = load_baseline(args.baseline)
        versions.append((f"hippo {args.baseline}", str(Path(base.__file__).parents[1])))
    print(f"# {args.rows} rows, {os.cpu_count()} cores: hippo compress --max-error 1% "
          "--time-column time\n")
    print("| run | runs | wall s, median (range) | CPU s, median |")
    print("|---|---|---|---|")
    env = dict(os.environ)
    outputs: dict[str, set] = {name: set() for name, _ in versions}
    cold: dict[str, list] = {name: [] for name, _ in versions}
    warm: dict[str, list] = {name: [] for name, _ in versions}

    def job(name: str, path: str | None, out: Path) -> list[str]:
        return [*_command(path), "compress", str(src), "--max-error", "1%", "--time-column",
                "time", "-q", "-o", str(out)]

    for i in range(args.runs):  # cold runs: each its own empty cache (the baseline once)
        for name, path in versions:
            if path is not None and i > 0:
                continue
            out = work / "cold.hippo"
            cache = Path(tempfile.mkdtemp(dir=work))
            cold[name].append(_run(job(name, path, out), {**env, "NUMBA_CACHE_DIR": str(cache)}))
            outputs[name].add(out.read_bytes())
            out.unlink()
    caches = {}
    for name, path in versions:  # one warm cache per version, filled once
        caches[name] = Path(tempfile.mkdtemp(dir=work))
        (work / "fill.hippo").unlink(missing_ok=True)  # the other version's (no -f)
        _run(job(name, path, work / "fill.hippo"), {**env, "NUMBA_CACHE_DIR": str(caches[name])})
    for _ in range(args.runs):  # warm runs, the versions interleaved (paired)
        for name, path in versions:
            out = work / "warm.hippo"
            out.unlink(missing_ok=True)  # the last run's (a baseline may not know -f)
            warm[name].append(_run(job(name, path, out),
                                   {**env, "NUMBA_CACHE_DIR": str(caches[name])}))
            outputs[name].add(out.read_bytes())
    for name, _ in versions:
        print(_line(f"{name}: first run (empty cache)", cold[name]))
        print(_line(f"{name}: warm", warm[name]))
    for name, _ in versions:
        print(f"\n{name}: every run wrote the same bytes: {len(outputs[name]) == 1}")


if __name__ == "__main__":
    main()
