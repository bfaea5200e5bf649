"""Byte-identity check of the codec kernels: encodes a fixed, varied set of inputs and compares a
hash of every payload and of every decoded sample with the hashes recorded from the original
kernels (benchmarks/codec_hashes.json).

    PYTHONPATH=. python benchmarks/codec_hashes.py            # check (exit 1 on any difference)
    PYTHONPATH=. python benchmarks/codec_hashes.py --record   # write the reference file

Covered: many signal kinds (random walks, sines, constants, steps, huge/tiny/subnormal values,
NaN/inf blocks, integer-valued series, line/curve/interpolation-friendly shapes), lengths
around the block size, absolute and relative bounds (1e300, 5e-324, tiny, invalid), chunked
pushes (must give the bytes of one push), stream-mode flushes, the encoder's option switches,
damaged payloads (raise or decode to the same bits), and the time-stamp codec.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

import numpy as np

from hippo_cli.codec import grid

REF = Path(__file__).with_name("codec_hashes.json")
LENGTHS = [1, 2, 3, 100, 4095, 4096, 4097, 9000, 70000]


def _signal(kind: str, n: int, rng: np.random.Generator) -> np.ndarray:
    t = np.arange(n, dtype=np.float64)
    if kind == "walk":
        return np.cumsum(rng.standard_normal(n))
    if kind == "walk_big":
        return 1e6 + np.cumsum(rng.standard_normal(n)) * 1e3
    if kind == "sine":
        return np.sin(2 * np.pi * t / 777.0) * 3.0
    if kind == "noisy_sine":
        return np.sin(t / 300.0) + 1e-3 * rng.standard_normal(n)
    if kind == "const":
        return np.full(n, 3.14159)
    if kind == "const_huge":
        return np.full(n, -1.7e300)
    if kind == "zeros":
        x = np.zeros(n)
        x[::7] = -0.0
        return x
    if kind == "steps":
        return np.repeat(rng.standard_normal(n // 50 + 1), 50)[:n]
    if kind == "noise":
        return rng.standard_normal(n) * 10.0 + 5e5
    if kind == "mixed_extremes":
        x = rng.standard_normal(n)
        m = rng.random(n) < 0.01
        x[m] = rng.choice([1e300, -1e300, 5e-324, -2.5e-310, 1e18, 0.0, -0.0], m.sum())
        return x
    if kind == "subnormal":
        return (rng.standard_normal(n) * 1e-310).astype(np.float64)
    if kind == "nan_inf":
        x = np.cumsum(rng.standard_normal(n))
        if n > 10:
            x[n // 3 : n // 3 + 5] = np.nan
            x[n // 2] = np.inf
            x[-1] = -np.inf
        else:
            x[0] = np.nan
        return x
    if kind == "nan_block":
        x = np.sin(t / 50.0)
        x[4096:8192] = np.nan
        return x
    if kind == "integers":
        return np.cumsum(rng.integers(-3, 4, n)).astype(np.float64)
    if kind == "quarters":
        return np.cumsum(rng.integers(-3, 4, n)).astype(np.float64) * 0.25
    if kind == "ramp":
        return 0.37 * t - 12.0
    if kind == "piecewise_line":
        knots = np.cumsum(rng.integers(20, 400, n // 20 + 2))
        slopes = rng.standard_normal(knots.shape[0]) * 0.1
        seg = np.searchsorted(knots, t)
        return np.cumsum(slopes[seg])
    if kind == "parabola":
        return 1e-5 * (t - n / 2) ** 2
    if kind == "chirp":
        return np.sin(1e-5 * t * t) * 100.0
    if kind == "smooth_poly":
        u = t / max(n, 1)
        return 5 * u**3 - 3 * u**2 + u + 0.001 * np.sin(t / 7.0)
    if kind == "sawtooth":
        return (t % 333) * 0.01
    if kind == "spiky":
        x = np.zeros(n)
        x[rng.random(n) < 0.002] = 100.0
        return np.cumsum(x) + rng.standard_normal(n) * 0.01
    if kind == "huge_range":
        return np.cumsum(rng.standard_normal(n)) * 1e290
    if kind == "tiny":
        return np.cumsum(rng.standard_normal(n)) * 1e-200
    raise ValueError(kind)


KINDS = [
    "walk", "walk_big", "sine", "noisy_sine", "const", "const_huge", "zeros", "steps", "noise",
    "mixed_extremes", "subnormal", "nan_inf", "nan_block", "integers", "quarters", "ramp",
    "piecewise_line", "parabola", "chirp", "smooth_poly", "sawtooth", "spiky", "huge_range",
    "tiny",
]


def _eps_list(x: np.ndarray) -> list[tuple[str, float]]:
    f = x[np.isfinite(x)]
    span = float(np.ptp(f)) if f.size else 0.0
    span = span if span > 0 and np.isfinite(span) else 1.0
    return [
        ("rel1e-3", 1e-3 * span),
        ("rel1e-2", 1e-2 * span),
        ("rel5e-2", 5e-2 * span),
        ("abs1e300", 1e300),
        ("abs5e-324", 5e-324),
        ("abs1e-310", 1e-310),
        ("abs1e-30", 1e-30),
        ("abs3", 3.0),
        ("zero", 0.0),
        ("nan", float("nan")),
    ]


def _sha(*parts: bytes) -> str:
    h = hashlib.sha256()
    for p in parts:
        h.update(len(p).to_bytes(8, "little"))
        h.update(p)
    return h.hexdigest()[:24]


def _decode(eps: float, payload: bytes, n: int, **kw) -> bytes:
    try:
        y = grid.ChannelDecoder(eps, **kw).decode(payload, n)
    except ValueError:
        return b"E"
    return y.astype("<f8").tobytes()


def _encode(x: np.ndarray, eps: float, chunks=None, **kw) -> bytes:
    enc = grid.ChannelEncoder(eps, **kw)
    if chunks is None:
        enc.push(x)
    else:
        i = 0
        for c in chunks:
            enc.push(x[i : i + c])
            i += c
    return enc.flush()


def _within(y: np.ndarray, x: np.ndarray, eps: float) -> bool:
    raw = y.view(np.int64) == x.view(np.int64)
    with np.errstate(invalid="ignore"):
        return bool(np.all((np.abs(y - x) <= eps) | raw))


def value_cases(out: dict, quick: bool) -> None:
    for ki, kind in enumerate(KINDS):
        lengths = LENGTHS if not quick else [1, 3, 4097]
        for n in lengths:
            rng = np.random.default_rng(1000 * ki + n)
            x = _signal(kind, n, rng)
            eps_all = _eps_list(x)
            # every bound on the mid-size lengths; the three relative ones elsewhere
            chosen = eps_all if n in (3, 4097, 9000) else eps_all[:3]
            if n == 70000:
                chosen = eps_all[1:2]
            for ename, eps in chosen:
                p = _encode(x, eps)
                key = f"value/{kind}/n{n}/{ename}"
                d = _decode(eps, p, n)
                if d != b"E" and eps > 0 and np.isfinite(eps):
                    y = np.frombuffer(d, "<f8")
                    assert _within(y, x, eps), key
                out[key] = _sha(p, d)
                if n >= 4095 and ename == "rel1e-2":
                    # chunked pushes give the bytes of one push
                    crng = np.random.default_rng(n + ki)
                    chunks, tot = [], 0
                    while tot < n:
                        c = int(crng.integers(1, 6000))
                        chunks.append(min(c, n - tot))
                        tot += c
                    assert _encode(x, eps, chunks) == p, key + " chunked"
                    # stream mode: a frame at random points
                    enc = grid.ChannelEncoder(eps)
                    dec = grid.ChannelDecoder(eps)
                    parts = []
                    i = 0
                    while i < n:
                        c = int(crng.integers(1, 9000))
                        enc.push(x[i : i + c])
                        q = enc.flush()
                        m = min(c, n - i)
                        parts.append(q)
                        try:
                            parts.append(dec.decode(q, m).astype("<f8").tobytes())
                        except ValueError:
                            parts.append(b"E")
                        i += c
                    out[key + "/stream"] = _sha(*parts)


def option_cases(out: dict) -> None:
    rng = np.random.default_rng(7)
    sigs = {
        "walk": np.cumsum(rng.standard_normal(9000)),
        "noisy_sine": np.sin(np.arange(9000) / 300.0) + 1e-3 * rng.standard_normal(9000),
        "chirp": np.sin(1e-5 * np.arange(9000.0) ** 2) * 100.0,
        "piecewise": _signal("piecewise_line", 9000, rng),
    }
    opts = {
        "mode1": dict(mode=1),
        "mode2": dict(mode=2),
        "smooth": dict(smooth_on=1),
        "smooth_mode1": dict(smooth_on=1, mode=1),
        "smooth_mode2": dict(smooth_on=1, mode=2),
        "noline": dict(line_on=0),
        "nointerp": dict(interp_on=0),
        "plen256": dict(plen=256),
        "plen5000": dict(plen=5000),
        "table": dict(smooth=[(4, 1), (12, 2)], smooth_on=1),
    }
    for sname, x in sigs.items():
        eps = 0.01 * float(np.ptp(x))
        for oname, kw in opts.items():
            dkw = {"smooth": kw["smooth"]} if "smooth" in kw else {}
            p = _encode(x, eps, **kw)
            d = _decode(eps, p, x.shape[0], **dkw)
            assert d != b"E"
            out[f"option/{sname}/{oname}"] = _sha(p, d)


def damaged_cases(out: dict) -> None:
    rng = np.random.default_rng(11)
    for kind in ["walk", "piecewise_line", "chirp", "smooth_poly", "mixed_extremes", "spiky"]:
        x = _signal(kind, 5000, rng)
        eps = 0.01 * float(np.ptp(x[np.isfinite(x)]))
        p = _encode(x, eps)
        parts = []
        for _ in range(60):
            b = bytearray(p)
            k = int(rng.integers(0, 3))
            if k == 0:
                b[int(rng.integers(0, len(b)))] ^= int(rng.integers(1, 256))
            elif k == 1:
                b = b[: int(rng.integers(0, len(b)))]
            else:
                b += bytes(rng.integers(0, 256, int(rng.integers(1, 20)), dtype=np.uint8))
            parts.append(_decode(eps, bytes(b), 5000))
        # random bytes of every length class
        for m in [1, 2, 5, 17, 100, 1000]:
            parts.append(_decode(eps, rng.integers(0, 256, m, dtype=np.uint8).tobytes(), 5000))
            parts.append(_decode(eps, rng.integers(0, 256, m, dtype=np.uint8).tobytes(), 3))
        out[f"damaged/{kind}"] = _sha(*parts)
    for m in [1, 3, 1000]:
        t = np.arange(m, dtype=np.int64) * 7 + 3
        p = grid.encode_times(t)
        parts = []
        for _ in range(40):
            b = bytearray(p)
            if len(b) > 1:
                b[int(rng.integers(1, len(b)))] ^= int(rng.integers(1, 256))
            b += bytes(rng.integers(0, 256, int(rng.integers(0, 3)), dtype=np.uint8))
            try:
                parts.append(grid.decode_times(bytes(b), m).astype("<i8").tobytes())
            except ValueError:
                parts.append(b"E")
        out[f"damaged_times/{m}"] = _sha(*parts)


def time_cases(out: dict) -> None:
    rng = np.random.default_rng(5)
    for m in [1, 2, 3, 5, 100, 4097, 70000]:
        t0 = int(rng.integers(-(2**61), 2**61))
        cases = {
            "regular": 1_700_000_000_000_000_000 + np.arange(m, dtype=np.int64) * 1_000_000_000,
            "regular_neg": -(10**15) + np.arange(m, dtype=np.int64) * 3,
            "jitter": np.arange(m, dtype=np.int64) * 10**6 + rng.integers(-1000, 1000, m),
            "irregular": t0 // 2 + np.cumsum(rng.integers(0, 10**7, m)).astype(np.int64),
            "gappy": np.cumsum(np.where(rng.random(m) < 0.01, 10**12, 10**3)).astype(np.int64),
            "random": rng.integers(-(2**63), 2**63 - 1, m, dtype=np.int64),
            "descending": 10**9 - np.arange(m, dtype=np.int64) * 17,
            "constant": np.full(m, 42, np.int64),
            "near_limit": (2**61 - 1) - np.arange(m, dtype=np.int64) * 1000,
        }
        for name, t in cases.items():
            p = grid.encode_times(t)
            d = grid.decode_times(p, m)
            assert np.array_equal(d, t), (name, m)
            out[f"times/{name}/n{m}"] = _sha(p, d.astype("<i8").tobytes())


def compute(quick: bool = False) -> dict:
    out: dict = {}
    value_cases(out, quick)
    option_cases(out)
    damaged_cases(out)
    time_cases(out)
    out["ALL"] = _sha(*[f"{k}={v}".encode() for k, v in sorted(out.items())])
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--record", action="store_true", help="write the reference hashes")
    args = ap.parse_args()
    import hippo_cli

    print(f"hippo_cli from {Path(hippo_cli.__file__).parent}", file=sys.stderr)
    got = compute()
    if args.record:
        REF.write_text(json.dumps(got, indent=0, sort_keys=True) + "\n")
        print(f"recorded {len(got) - 1} cases, ALL = {got['ALL']}")
        return 0
    want = json.loads(REF.read_text())
    bad = [k for k in sorted(set(want) | set(got)) if want.get(k) != got.get(k)]
    if bad:
        for k in bad[:40]:
            print(f"DIFFERS {k}: want {want.get(k)} got {got.get(k)}")
        print(f"{len(bad)} of {len(want)} entries differ")
        return 1
    print(f"all {len(got) - 1} cases identical, ALL = {got['ALL']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
