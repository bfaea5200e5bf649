"""Times against pcodec: the bytes of hippo's time part, the time codec's mode 0 alone (format
version 2) against its choice of mode 0 and mode 2 (version 3), and pcodec's lossless coding
of the same integers, in one run.

    PYTHONPATH=. python benchmarks/times.py            # about 10 s

Each case is coded in frames of ``--frame`` samples (default 2^20, what ``hippo compress``
writes for one channel: one frame) and of 4096 (a stream flushing often); pcodec
(``pcodec.standalone.simple_compress``, default configuration) codes the same frames, each on
its own, and the whole series. Figures are bits per timestamp of the time part (its kind byte,
ISO templates and runs included) and bytes per frame for the regular cadence. Encoding times
are medians of interleaved runs.

Cases: +-2 ms uniform jitter on a 10 ms cadence as microseconds, nanoseconds, nanoseconds of a
clock that counts microseconds, ISO ticks (datetime64[us]) and milliseconds, and +-8 ms;
Gaussian jitter (sd 0.7 ms); a drifting clock (+50 ppm, sd 0.3 ms); gaps (1% of the samples
start a dropout of 1-49 samples); a regular cadence; and, hostile, Poisson arrivals and random
60-bit integers. Real series found on this machine: the trading days of matplotlib's sample
``goog.npz`` (seconds, weekends and holidays), the modification times (ns) of the files of
Python's standard library, sorted, and a 1 ms sleep loop's wake-up times recorded at the start
of the run (time.time_ns() // 1000: the scheduler's real jitter; it differs from run to run).
"""

from __future__ import annotations

import argparse
import os
import sys
import sysconfig
import time

import numpy as np

from hippo_cli.codec.times import Times, encode_part, from_array

N = 100_000


def _jitter(rng: np.random.Generator, n: int) -> np.ndarray:
    return 1_780_000_000_000_000 + 10_000 * np.arange(n) + rng.integers(-2000, 2001, n)


def synthetic(rng: np.random.Generator) -> dict[str, np.ndarray]:
    """The synthetic cases, int64 (n,) microseconds unless said (ns: nanoseconds)."""
    i = np.arange(N)
    base = 1_780_000_000_000_000
    gaps = np.ones(N, np.int64)
    starts = rng.random(N) < 0.01
    gaps[starts] += rng.integers(1, 50, int(starts.sum()))
    return {
        "jitter +-2 ms, us": _jitter(rng, N),
        "jitter +-2 ms, ns": 1000 * base + 10_000_000 * i + rng.integers(-2_000_000,
                                                                       2_000_001, N),
        "jitter +-2 ms, ns clock at us": 1000 * _jitter(rng, N),
        "jitter +-2 ms, ISO us": _jitter(rng, N).astype("datetime64[us]"),
        "jitter +-2 ms, ms": base // 1000 + 10 * i + rng.integers(-2, 3, N),
        "jitter +-8 ms (0.8 cadence), us": base + 10_000 * i + rng.integers(-8000, 8001, N),
        "Gaussian jitter 0.7 ms, us": base + 10_000 * i + np.round(
            rng.normal(0, 700, N)).astype(np.int64),
        "drifting clock +50 ppm, us": base + np.round(10_000 * (1 + 5e-5) * i + rng.normal(
            0, 300, N)).astype(np.int64),
        "dropouts (1% gaps), us": base + 10_000 * np.cumsum(gaps) + rng.integers(-2000, 2001,
                                                                                 N),
        "regular 10 ms, us": base + 10_000 * i,
        "hostile: Poisson arrivals": base + np.cumsum(rng.exponential(10_000, N).astype(
            np.int64) + 1),
        "hostile: random 60-bit": rng.integers(-(2**59), 2**59, N),
    }


def real() -> dict[str, np.ndarray]:
    """The real series (see the module's text)."""
    out = {}
    try:
        import matplotlib

        goog = np.load(os.path.join(matplotlib.get_data_path(), "sample_data", "goog.npz"))
        days = goog["price_data"]["date"].astype("datetime64[s]").astype(np.int64)
        out["real: goog trading days, s"] = days
    except (ImportError, OSError, KeyError) as err:  # an optional data set
        print(f"(goog.npz not found: {err})", file=sys.stderr)
    stdlib = sysconfig.get_paths()["stdlib"]
    mtimes = []
    for root, _, files in os.walk(stdlib):
        for name in files:
            try:
                mtimes.append(os.stat(os.path.join(root, name)).st_mtime_ns)
            except OSError:
                pass
    out["real: stdlib file mtimes, ns"] = np.sort(np.array(mtimes, np.int64))
    wakes = np.empty(3000, np.int64)
    for k in range(len(wakes)):
        time.sleep(0.001)
        wakes[k] = time.time_ns() // 1000
    out["real: 1 ms sleep loop, us"] = wakes
    return out


def _times(series: np.ndarray) -> Times:
    return from_array(series)


def _ints(series: np.ndarray) -> np.ndarray:
    """The integers pcodec is given: the values, or the ticks of datetime64."""
    return series.astype(np.int64) if series.dtype.kind == "M" else series


def hippo_bytes(series: np.ndarray, frame: int, cadence: bool) -> tuple[int, int]:
    """(bytes of the time parts, frames) of ``series`` in frames of ``frame``."""
    times = _times(series)
    total = count = 0
    for s in range(0, len(series), frame):
        total += len(encode_part(times[s:s + frame], cadence))
        count += 1
    return total, count


def pcodec_bytes(series: np.ndarray, frame: int) -> int:
    from pcodec import ChunkConfig, standalone

    ints = _ints(series)
    return sum(len(standalone.simple_compress(ints[s:s + frame], ChunkConfig()))
               for s in range(0, len(ints), frame))


def encode_seconds(series: np.ndarray, frame: int, repeats: int = 5) -> tuple[float, float]:
    """Median seconds to code the time parts: (mode 0 only, the version-3 choice), runs
    interleaved."""
    runs: dict[bool, list[float]] = {False: [], True: []}
    for _ in range(repeats):
        for cadence in (False, True):
            t0 = time.perf_counter()
            hippo_bytes(series, frame, cadence)
            runs[cadence].append(time.perf_counter() - t0)
    return float(np.median(runs[False])), float(np.median(runs[True]))


def file_bytes(series: np.ndarray, version: int) -> tuple[int, int]:
    """(bytes of a whole file, bytes of its time parts) of one channel (a random walk, steps
    of sd 1, bound 0.25) with the times ``series``, written in ``version``."""
    import io

    from hippo_cli.codec.container import HippoWriter, header_with_times

    rng = np.random.default_rng(7)
    n = len(series)
    x = np.cumsum(rng.standard_normal(n))
    header = header_with_times(["value"], [0.25], "time", whole=True)
    header.version = version
    out = io.BytesIO()
    with HippoWriter(out, header, threads=1) as writer:
        writer.append(x, _times(series))
    return len(out.getvalue()), hippo_bytes(series, 1 << 20, version >= 3)[0]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--frame", type=int, default=1 << 20)
    ap.add_argument("--seed", type=int, default=24)
    args = ap.parse_args()
    hippo_bytes(np.arange(10), 10, True)  # compile (or load) the kernels first
    cases = {**synthetic(np.random.default_rng(args.seed)), **real()}
    print(f"load average {os.getloadavg()[0]:.2f}; bits per timestamp (bytes per frame for "
          "the regular cadence)\n")
    for frame in (args.frame, 4096):
        print(f"frames of {frame} samples\n")
        print("| case | n | mode 0 (v2) | v3 choice | pcodec, same frames | pcodec, whole "
              "series | v3 / pcodec same frames |")
        print("|---|---:|---:|---:|---:|---:|---:|")
        for name, series in cases.items():
            n = len(series)
            old, frames = hippo_bytes(series, frame, False)
            new, _ = hippo_bytes(series, frame, True)
            pc = pcodec_bytes(series, frame)
            whole = pcodec_bytes(series, n)
            if name.startswith("regular"):
                cells = [f"{old / frames:.1f} B/frame", f"{new / frames:.1f} B/frame",
                         f"{pc / frames:.1f} B/frame", f"{whole:d} B"]
            else:
                cells = [f"{8 * v / n:.2f}" for v in (old, new, pc, whole)]
            print(f"| {name} | {n} | " + " | ".join(cells) + f" | {new / pc:.3f} |")
        print()
    series = cases["jitter +-2 ms, us"]
    for version in (2, 3):
        total, times = file_bytes(series, version)
        print(f"a whole file, version {version}: a random walk (steps of sd 1) at bound 0.25 "
              f"with 'jitter +-2 ms, us': {total} bytes, of which the times {times} "
              f"({100 * times / total:.0f}%)")
    old_s, new_s = encode_seconds(series, args.frame)
    print(f"coding the time parts of 'jitter +-2 ms, us' ({len(series)} samples, medians of 5 "
          f"interleaved runs): mode 0 {1e9 * old_s / len(series):.0f} ns/sample, v3 choice "
          f"{1e9 * new_s / len(series):.0f} ns/sample")


if __name__ == "__main__":
    main()
