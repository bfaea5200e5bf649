"""Irregularly sampled streams: update(x, times=...)."""

from __future__ import annotations

import numpy as np
import pytest

import naive
from conftest import smooth_signal
from helpers import rel_err
from hippo_cli import DataError, HiPPO, ParameterError

CONFIGS = [
    ("legs", "bilinear", {}), ("legs", "zoh", {}), ("legs", "backward", {}),
    ("legs", "forward", {}), ("legs", "bilinear", {"legs_time": "start"}),
    ("legt", "bilinear", {"theta": 40.0}), ("legt", "zoh", {"theta": 40.0}),
    ("legt", "backward", {"theta": 40.0, "init": "steady"}),
    ("lagt", "bilinear", {"dt": 0.05}), ("lagt", "zoh", {"dt": 0.05}),
    ("lagt", "backward", {"dt": 0.05, "init": "steady"}),
    ("fout", "bilinear", {"theta": 40.0}), ("lmu", "zoh", {"theta": 40.0}),
    ("glagt", "bilinear", {"dt": 0.05}), ("foud", "zoh", {"dt": 0.05}),
    ("legsd", "backward", {"dt": 0.05, "init": "steady"}),
]


def _gappy_times(L: int, seed: int) -> np.ndarray:
    """Jittered sample times with random gaps (dropped samples)."""
    rng = np.random.default_rng(seed)
    keep = np.sort(rng.choice(3 * L, size=L, replace=False))
    return keep + rng.uniform(-0.3, 0.3, L)


@pytest.mark.parametrize("measure,method,kw", CONFIGS)
def test_uniform_times_reproduce_the_uniform_run(measure, method, kw):
    u = smooth_signal(1500, 4)
    want = HiPPO(measure, 12, method=method, **kw).update(u, every=5)
    enc = HiPPO(measure, 12, method=method, **kw)
    t = np.arange(1500.0)
    got = np.concatenate([enc.update(u[a:b], every=5, times=t[a:b])
                          for a, b in [(0, 2), (2, 700), (700, 1500)]])
    assert rel_err(got, want) <= 1e-12


@pytest.mark.parametrize("measure,method,kw", CONFIGS)
def test_resampled_time_unit_matches_the_uniform_run(measure, method, kw):
    """Times in seconds at 200 Hz: LegS is scale-invariant; theta (seconds) and dt
    (measure units per second) are rescaled to describe the same system."""
    u = smooth_signal(800, 5)
    want = HiPPO(measure, 10, method=method, **kw).update(u)
    scaled = dict(kw)
    if "theta" in kw:
        scaled["theta"] = kw["theta"] / 200
    if "dt" in kw:
        scaled["dt"] = kw["dt"] * 200
    got = HiPPO(measure, 10, method=method, **scaled).update(u, times=np.arange(800) / 200)
    assert rel_err(got, want) <= 1e-11


@pytest.mark.parametrize("measure,method,kw", CONFIGS)
def test_irregular_times_equal_the_dense_reference(measure, method, kw):
    t = _gappy_times(400, 9)
    u = np.sin(t / 30) + 0.2 * np.cos(t / 7)
    kw = dict(kw)
    legs_time = kw.pop("legs_time", "natural")
    init = kw.get("init", "zero")
    want = naive.timed_run(measure, 12, method, u, t, theta=kw.get("theta"), dt=kw.get("dt"),
                           legs_time=legs_time, init=init)
    enc = HiPPO(measure, 12, method=method, legs_time=legs_time, **kw) if measure == "legs" \
        else HiPPO(measure, 12, method=method, **kw)
    got = np.concatenate([enc.update(u[a:b], times=t[a:b]) for a, b in [(0, 3), (3, 400)]])
    assert rel_err(got, want) <= 1e-10


def test_legs_timescale_invariance():
    """Prop. 3 of the paper: the same signal at 100 Hz and 200 Hz gives the same LegS
    coefficients up to discretisation error."""
    f = lambda t: 1 + np.sin(2 * np.pi * 0.3 * t) + 0.5 * np.cos(2 * np.pi * 0.7 * t)  # noqa: E731
    states = []
    for hz in (100, 200, 400):
        t = np.arange(0, 10 * hz + 1) / hz
        enc = HiPPO("legs", 32)
        enc.update(f(t), times=t)
        states.append(enc.state)
    e1 = np.max(np.abs(states[0] - states[2]))
    e2 = np.max(np.abs(states[1] - states[2]))
    assert e1 < 2e-2 and e2 < e1 / 1.8  # converges as the rate grows


def test_gaps_reconstruct_at_the_original_times():
    t = _gappy_times(3000, 3)
    f = lambda x: np.sin(x / 400) + 0.3 * np.cos(x / 170)  # noqa: E731
    u = f(t)
    enc = HiPPO("legs", 48)
    enc.update(u, times=t)
    err = enc.reconstruct_at(enc.state, t[-1], t) - u
    # each sample holds over the interval since the previous one (up to 9 time units here):
    # the state is the projection of that staircase, so the error is the staircase's
    assert np.sqrt(np.mean(err**2)) < 1e-2
    enc = HiPPO("legt", 32, theta=600.0, init="steady")
    enc.update(u, times=t)
    recent = t > t[-1] - 600
    err = enc.reconstruct_at(enc.state, t[-1], t[recent]) - u[recent]
    assert np.sqrt(np.mean(err**2)) < 1e-2


def test_timed_state_saves_and_resumes(tmp_path):
    t = _gappy_times(500, 1)
    u = np.cos(t / 50)
    whole = HiPPO("lagt", 8, dt=0.02).update(u, times=t)
    enc = HiPPO("lagt", 8, dt=0.02)
    a = enc.update(u[:123], times=t[:123])
    enc.save(tmp_path / "s.npz")
    b = HiPPO.load(tmp_path / "s.npz").update(u[123:], times=t[123:])
    np.testing.assert_array_equal(np.concatenate([a, b]), whole)


def test_bad_times():
    enc = HiPPO("legs", 4)
    with pytest.raises(DataError, match="strictly increasing"):
        enc.update(np.ones(3), times=[0.0, 1.0, 1.0])
    with pytest.raises(DataError, match="3 times for 2"):
        enc.update(np.ones(2), times=[0.0, 1.0, 2.0])
    enc.update(np.ones(2), times=[0.0, 1.0])
    with pytest.raises(DataError, match="strictly increasing"):
        enc.update(np.ones(1), times=[0.5])
    with pytest.raises(ParameterError, match="pass times"):
        enc.update(np.ones(1))
    plain = HiPPO("legs", 4)
    plain.update(np.ones(2))
    with pytest.raises(ParameterError, match="without times"):
        plain.update(np.ones(1), times=[5.0])
    with pytest.raises(DataError, match="two samples"):
        HiPPO("legt", 4, theta=5.0).update(np.ones(1), times=[0.0])


# ----------------------------------------------------------------------------- the CLI
def _gappy_csv(path, L=1200):
    import pandas as pd

    t = _gappy_times(L, 6) * 7.0  # seconds, with gaps
    v = np.sin(t / 4000) + 0.3 * np.cos(t / 2500)
    v[50:55] = np.nan  # with --nan skip these become real time gaps
    stamps = pd.Timestamp("2026-03-01T00:00:00") + pd.to_timedelta(np.round(t, 3), unit="s")
    lines = ["when,level"] + [f"{s.isoformat()},{'' if x != x else repr(float(x))}"
                              for s, x in zip(stamps, v)]
    path.write_text("\n".join(lines) + "\n")
    seconds = (stamps - pd.Timestamp(0)) / pd.Timedelta(seconds=1)
    keep = ~np.isnan(v)
    return np.asarray(seconds)[keep], v[keep]


@pytest.mark.parametrize("args", [["--measure", "legs"],
                                  ["--measure", "legt", "--theta", "2000", "--init", "steady"],
                                  ["--measure", "lagt", "--dt", "0.001"]])
def test_compress_and_reconstruct_with_a_time_column(tmp_path, args):
    from test_cli import hippo

    src = tmp_path / "g.csv"
    t, v = _gappy_csv(src)
    out = tmp_path / "g.npy"
    res = hippo("compress", src, "--time-column", "when", "--nan", "skip", "-N", 16,
                "--every", 100, "-o", out, *args)
    assert res.exit_code == 0, res.stderr
    kw = {"legs": {}, "legt": {"theta": 2000.0, "init": "steady"},
          "lagt": {"dt": 0.001}}[args[1]]
    enc = HiPPO(args[1], 16, **kw)
    rows = enc.update(v, every=100, times=t)
    got = np.load(out)
    assert rel_err(got[: len(rows)], rows) <= 1e-12
    # the times are stored with the coefficients: no --original needed, same rows
    res = hippo("reconstruct", out, "-o", tmp_path / "r0.csv")
    assert res.exit_code == 0, res.stderr
    res = hippo("reconstruct", out, "--original", src, "-o", tmp_path / "r.csv")
    assert res.exit_code == 0, res.stderr
    assert (tmp_path / "r0.csv").read_bytes() == (tmp_path / "r.csv").read_bytes()
    import pandas as pd

    frame = pd.read_csv(tmp_path / "r.csv")
    assert list(frame.columns) == ["sample", "when", "level"]  # the time column keeps its name
    # ... and its format: ISO as in the input (no epoch floats)
    assert frame["when"].iloc[0] == open(src).readlines()[1 + int(frame["sample"].iloc[0])
                                                           + 5 * (frame["sample"].iloc[0] >= 50)
                                                           ].split(",")[0]
    secs = (pd.to_datetime(frame["when"]) - pd.Timestamp(0)) / pd.Timedelta(seconds=1)
    table = np.column_stack([frame["sample"], secs, frame["level"]])
    np.testing.assert_allclose(table[:, 1], t[table[:, 0].astype(int)], rtol=0, atol=1e-6)
    want = enc.reconstruct_at(enc.state, t[-1], table[:, 1],
                              None if table[0, 0] == 0 else t[int(table[0, 0]) - 1])
    assert rel_err(table[:, 2], want) <= 1e-9
    if args[1] != "lagt":  # (LagT's basis only resolves its most recent past)
        assert np.sqrt(np.mean((table[:, 2] - v[table[:, 0].astype(int)]) ** 2)) < 0.02


def test_stream_with_times_line_by_line_equals_the_library():
    from test_cli import hippo

    t = _gappy_times(40, 2)
    v = np.cos(t / 9)
    text = "t,x\n" + "".join(f"{a!r},{b!r}\n" for a, b in zip(t.tolist(), v.tolist()))
    res = hippo("stream", "-t", "t", "--measure", "legt", "--theta", 30, "-N", 6, input=text)
    assert res.exit_code == 0, res.stderr
    lines = res.stdout.splitlines()
    assert lines[0] == "step,time," + ",".join(f"c{n}" for n in range(6))
    table = np.array([ln.split(",") for ln in lines[1:]], float)
    want = HiPPO("legt", 6, theta=30.0).update(v, times=t)
    np.testing.assert_array_equal(table[:, 1], t)
    assert rel_err(table[:, 2:], want) <= 1e-12


def test_times_are_stored_compactly_and_written_back_as_they_were(tmp_path):
    import json

    from test_cli import assert_clean_failure, hippo

    # ISO with a time zone, a regular cadence: a few bytes of times, echoed as written
    n = 20_000
    stamps = [f"2026-03-01T{h:02d}:{m:02d}:{s:02d}+05:30" for h in range(6) for m in range(60)
              for s in range(0, 60, 1)][:n]
    v = np.sin(np.arange(n) / 300.0)
    src = tmp_path / "iso.csv"
    src.write_text("stamp,v\n" + "".join(f"{a},{b!r}\n" for a, b in zip(stamps, v.tolist())))
    out = tmp_path / "iso.npy"
    res = hippo("compress", src, "-t", "stamp", "-N", 16, "--every", 1000, "-o", out)
    assert res.exit_code == 0, res.stderr
    side = json.loads((tmp_path / "iso.npy.json").read_text())
    assert sum(len(p[1]) for p in side["sample_times"]) < 200
    assert side["time_pattern"] == "####-##-##T##:##:##+05:30"  # the first time's form
    facts = json.loads(hippo("info", out, "--json").stdout)["sample_times"]
    assert facts["samples"] == n and facts["parts"] >= 1
    assert 0 < facts["bytes"] < 150  # 20000 regular stamps: a few bytes per part
    res = hippo("reconstruct", out, "--all", "-o", tmp_path / "r.csv")
    assert res.exit_code == 0, res.stderr
    lines = (tmp_path / "r.csv").read_text().splitlines()
    assert lines[0] == "sample,stamp,v" and len(lines) == n + 1
    assert [ln.split(",")[1] for ln in lines[1:]] == stamps

    # irregular numeric times: kept exactly
    rng = np.random.default_rng(4)
    t = 1.7e9 + np.cumsum(rng.uniform(0.001, 5.0, 3000))
    src = tmp_path / "irr.csv"
    rows = zip(t.tolist(), np.cos(t).tolist())
    src.write_text("t,v\n" + "".join(f"{a!r},{b!r}\n" for a, b in rows))
    out = tmp_path / "irr.npy"
    assert hippo("compress", src, "-t", "t", "-N", 8, "--every", 100, "-o", out).exit_code == 0
    assert hippo("reconstruct", out, "--all", "-o", tmp_path / "r2.csv").exit_code == 0
    table = np.loadtxt(tmp_path / "r2.csv", delimiter=",", skiprows=1)
    np.testing.assert_array_equal(table[:, 1], t)

    # a sidecar whose times do not add up is refused in one line
    side_path = tmp_path / "irr.npy.json"
    meta = json.loads(side_path.read_text())
    meta["sample_times"][0][0] += 1
    side_path.write_text(json.dumps(meta))
    assert_clean_failure(hippo("reconstruct", out), 1, "sample_times")
    # ... and a file from before the times were stored still asks for the original
    del meta["sample_times"]
    side_path.write_text(json.dumps(meta))
    assert_clean_failure(hippo("reconstruct", out), 2, "--original")


@pytest.mark.parametrize(("measure", "kw"), [("legs", {}), ("legt", {"theta": 100.0}),
                                             ("lagt", {"dt": 0.05})])
def test_block_mode_with_times(measure, kw):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((5000, 2))
    # unit-spaced times reproduce the sample-indexed block mode
    t = np.arange(5000.0)
    want = HiPPO(measure, 8, reset_every=1000, **kw).update(x, every=500)
    got = HiPPO(measure, 8, reset_every=1000, **kw).update(x, every=500, times=t)
    assert rel_err(got, want) <= 1e-12
    # irregular times: any chunking gives the same rows (block starts inside chunks, a chunk
    # ending on a block's first sample)
    t = np.cumsum(rng.uniform(0.2, 3.0, 5000))
    whole = HiPPO(measure, 8, reset_every=1000, **kw).update(x, every=500, times=t)
    enc = HiPPO(measure, 8, reset_every=1000, **kw)
    parts = [enc.update(x[a:b], every=500, times=t[a:b])
             for a, b in [(0, 2), (2, 999), (999, 1001), (1001, 3500), (3500, 5000)]]
    assert rel_err(np.concatenate(parts), whole) <= 1e-12
    # a block is its own history: the values of the other blocks do not reach it (their
    # times do, through the interval the block's first sample stands for)
    y = x.copy()
    y[:1000] = 7.0
    other = HiPPO(measure, 8, reset_every=1000, **kw).update(y, every=500, times=t)
    assert rel_err(other[2:], whole[2:]) <= 1e-12


def test_cli_block_mode_and_times(tmp_path):
    import pandas as pd
    from test_cli import assert_clean_failure, hippo

    n = 3000
    t = 1.7e9 + 2.0 * np.arange(n)
    v = np.sin(np.arange(n) / 50.0)
    src = tmp_path / "s.csv"
    pd.DataFrame({"t": t, "v": v}).to_csv(src, index=False)
    for name, extra in [("timed", ["-t", "t"]), ("plain", ["--column", "v"])]:
        res = hippo("compress", src, *extra, "--reset-every", 1000, "--every", 250, "-N", 16,
                    "-o", tmp_path / f"{name}.npy")
        assert res.exit_code == 0, res.stderr
        res = hippo("reconstruct", tmp_path / f"{name}.npy", "--all",
                    "-o", tmp_path / f"{name}.csv")
        assert res.exit_code == 0, res.stderr
    timed = pd.read_csv(tmp_path / "timed.csv")
    plain = pd.read_csv(tmp_path / "plain.csv")
    np.testing.assert_array_equal(timed["t"], t)  # the times, as written
    # a regular cadence: LegS is time-scale invariant, so the same reconstruction
    assert np.max(np.abs(timed["v"] - plain["v"])) <= 1e-10
    assert np.sqrt(np.mean((timed["v"] - v) ** 2)) < 0.01
    # --tolerance picks blocks by sample count: with times it is refused, naming the options
    res = hippo("compress", src, "-t", "t", "--tolerance", 0.1, "-o", tmp_path / "x.npy")
    assert_clean_failure(res, 2, "--reset-every", "--max-error")
