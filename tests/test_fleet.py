"""Many series: --id-column (local engine), globs of files, and the Dask engine on a real
LocalCluster (2 worker processes): equal to the single-machine run bit for bit, a killed
worker's series retried, a resumed run skipping finished series."""

from __future__ import annotations

import json
import os
import threading
import time

import numpy as np
import pandas as pd
import pytest
from test_cli import hippo

from hippo_cli import HiPPO


def _long_frame(n_series: int = 12, seed: int = 0, big: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frames = []
    for i in range(n_series):
        L = int(rng.integers(80, 600)) if i or not big else big
        t = np.arange(L) * 2.0
        frames.append(pd.DataFrame({"sensor": f"s{i:02d}", "t": t,
                                    "v": np.sin(t / 60 + i), "w": np.cos(t / 25 - i)}))
    df = pd.concat(frames).sort_values("t", kind="stable").reset_index(drop=True)
    return df  # interleaved by time, each series in order


def _expected(df: pd.DataFrame, sid: str, every: int, N: int = 8) -> np.ndarray:
    x = df[df.sensor == sid][["v", "w"]].to_numpy()
    rows = HiPPO("legs", N).update(x, every=every)
    if len(x) % every:
        rows = np.concatenate([rows, HiPPO("legs", N).update(x)[-1:]])
    return rows


def test_id_column_local_engine_and_resume(tmp_path):
    df = _long_frame()
    df.to_csv(tmp_path / "long.csv", index=False)
    out = tmp_path / "out"
    res = hippo("compress", tmp_path / "long.csv", "--id-column", "sensor", "--column", "v",
                "--column", "w", "-N", 8, "--every", 50, "-o", out)
    assert res.exit_code == 0, res.stderr
    manifest = json.loads((out / "manifest.json").read_text())
    assert [r["id"] for r in manifest["series"]] == sorted(df.sensor.unique())
    for rec in manifest["series"]:
        np.testing.assert_array_equal(np.load(out / rec["file"]), _expected(df, rec["id"], 50))
        assert rec["samples"] == (df.sensor == rec["id"]).sum()
    # resume: remove one series; a rerun writes only that one
    (out / "s03.npy").unlink()
    stamps = {p.name: p.stat().st_mtime_ns for p in out.glob("*.npy")}
    time.sleep(0.01)
    res = hippo("compress", tmp_path / "long.csv", "--id-column", "sensor", "--column", "v",
                "--column", "w", "-N", 8, "--every", 50, "-o", out)
    assert res.exit_code == 0
    assert {p.name: p.stat().st_mtime_ns for p in out.glob("*.npy") if p.name in stamps} == \
        stamps
    np.testing.assert_array_equal(np.load(out / "s03.npy"), _expected(df, "s03", 50))


def test_glob_of_files_each_its_own_series(tmp_path):
    for i in range(3):
        np.savetxt(tmp_path / f"dev{i}.csv", np.sin(np.arange(300 + i) / (20 + i)),
                   header="x", comments="")
    res = hippo("compress", str(tmp_path / "dev*.csv"), "-N", 6, "-o", tmp_path / "out")
    assert res.exit_code == 0, res.stderr
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert [r["id"] for r in manifest["series"]] == ["dev0", "dev1", "dev2"]
    want = HiPPO("legs", 6).update(np.sin(np.arange(301) / 21))
    np.testing.assert_array_equal(np.load(tmp_path / "out" / "dev1.npy"), want)


def test_many_series_bad_usage(tmp_path):
    pd.DataFrame({"id": ["a"], "v": [1.0]}).to_csv(tmp_path / "l.csv", index=False)
    res = hippo("compress", tmp_path / "l.csv", "--id-column", "id")
    assert res.exit_code == 2 and "-o FOLDER" in res.stderr
    res = hippo("compress", tmp_path / "l.csv", "--id-column", "nope", "-o", tmp_path / "o")
    assert res.exit_code == 1 and "no column 'nope'" in res.stderr


dask = pytest.importorskip("dask.dataframe", reason="the dask extra is in the test extra")


@pytest.fixture(scope="module")
def cluster():
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=":0") as cl, Client(cl) as client:
        yield cl, client


@pytest.mark.slow
def test_dask_engine_equals_local_bit_for_bit(tmp_path, cluster):
    from hippo_cli.pipelines.dask_engine import compress_dataframe

    _, client = cluster
    df = _long_frame(16, seed=1, big=4000)  # s00 spans several partitions
    ddf = dask.from_pandas(df, npartitions=5)
    out = tmp_path / "d"
    manifest = compress_dataframe(ddf, "sensor", ["v", "w"], out, every=50, client=client,
                                  measure="legs", N=8, large_rows=1000)
    assert len(manifest["series"]) == 16
    for rec in manifest["series"]:
        np.testing.assert_array_equal(np.load(out / rec["file"]), _expected(df, rec["id"], 50))
    # resume: finished series are skipped (their files are not rewritten)
    stamps = {p.name: p.stat().st_mtime_ns for p in out.glob("*.npy")}
    compress_dataframe(ddf, "sensor", ["v", "w"], out, every=50, client=client,
                       measure="legs", N=8, large_rows=1000)
    assert {p.name: p.stat().st_mtime_ns for p in out.glob("*.npy")} == stamps


@pytest.mark.slow
def test_dask_killed_worker_is_retried(tmp_path, cluster):
    from hippo_cli.pipelines.dask_engine import compress_dataframe

    cl, client = cluster
    rng = np.random.default_rng(3)
    frames = [pd.DataFrame({"sensor": f"k{i:02d}", "v": rng.standard_normal(20_000)})
              for i in range(24)]
    df = pd.concat(frames, ignore_index=True)
    ddf = dask.from_pandas(df, npartitions=8)
    out = tmp_path / "k"
    result: dict = {}

    def run() -> None:
        result["manifest"] = compress_dataframe(ddf, "sensor", ["v"], out, every=1000,
                                                client=client, measure="legs", N=32,
                                                method="zoh")  # the slow path: time to kill

    worker = threading.Thread(target=run)
    worker.start()
    deadline = time.monotonic() + 120
    while not list(out.glob("*.npy")) and time.monotonic() < deadline:
        time.sleep(0.02)
    killed_mid_run = worker.is_alive()
    nanny = next(iter(cl.workers.values()))
    os.kill(nanny.process.process.pid, 9)  # SIGKILL one worker process
    worker.join(timeout=300)
    assert not worker.is_alive() and killed_mid_run
    assert len(result["manifest"]["series"]) == 24
    for i in range(24):
        x = df[df.sensor == f"k{i:02d}"]["v"].to_numpy()
        want = HiPPO("legs", 32, method="zoh").update(x, every=1000)
        np.testing.assert_array_equal(np.load(out / f"k{i:02d}.npy"), want)


@pytest.mark.slow
def test_cli_dask_engine(tmp_path):
    df = _long_frame(6, seed=2)
    df.to_csv(tmp_path / "long.csv", index=False)
    for engine in ("local", "dask"):
        res = hippo("compress", tmp_path / "long.csv", "--id-column", "sensor", "--column",
                    "v", "--column", "w", "-N", 8, "--every", 40, "--engine", engine,
                    "-o", tmp_path / engine)
        assert res.exit_code == 0, res.stderr
    for p in sorted((tmp_path / "local").glob("*.npy")):
        np.testing.assert_array_equal(np.load(p), np.load(tmp_path / "dask" / p.name))
    # one .hippo per series, the same bytes from both engines
    for engine in ("local", "dask"):
        res = hippo("compress", tmp_path / "long.csv", "--id-column", "sensor", "--column",
                    "v", "--column", "w", "--max-error", "0.05", "--engine", engine,
                    "-o", tmp_path / f"{engine}-hippo")
        assert res.exit_code == 0, res.stderr
    files = sorted((tmp_path / "local-hippo").glob("*.hippo"))
    assert len(files) == 6
    for p in files:
        assert p.read_bytes() == (tmp_path / "dask-hippo" / p.name).read_bytes()


def test_missing_dask_says_how_to_install(tmp_path, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "distributed", None)  # import distributed -> ImportError
    pd.DataFrame({"id": ["a", "b"], "v": [1.0, 2.0]}).to_csv(tmp_path / "l.csv", index=False)
    res = hippo("compress", tmp_path / "l.csv", "--id-column", "id", "--engine", "dask",
                "-o", tmp_path / "o")
    assert res.exit_code == 2 and "pip install 'hippo-cli[dask]'" in res.stderr


@pytest.mark.slow
def test_cli_dask_engine_on_a_glob(tmp_path):
    for i in range(3):
        pd.DataFrame({"v": np.sin(np.arange(200 + i) / 9)}).to_csv(tmp_path / f"f{i}.csv",
                                                                   index=False)
    res = hippo("compress", str(tmp_path / "f*.csv"), "-N", 4, "--engine", "dask",
                "-o", tmp_path / "out")
    assert res.exit_code == 0, res.stderr
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert len(manifest["series"]) == 3
    assert sorted(rec["id"] for rec in manifest["series"]) == ["f0", "f1", "f2"]  # as local
    for rec in manifest["series"]:
        i = int(rec["id"][-1])
        want = HiPPO("legs", 4).update(np.sin(np.arange(200 + i) / 9))
        np.testing.assert_array_equal(np.load(tmp_path / "out" / rec["file"]), want)


def test_id_column_takes_block_mode_quantisation_and_times(tmp_path):
    df = _long_frame(4)
    df.to_csv(tmp_path / "long.csv", index=False)
    out = tmp_path / "blocks"
    res = hippo("compress", tmp_path / "long.csv", "--id-column", "sensor", "--column", "v",
                "--time-column", "t", "--reset-every", 40, "--every", 20, "-N", 8, "-o", out)
    assert res.exit_code == 0, res.stderr
    assert "//" not in res.stderr
    for sid in ("s00", "s03"):
        part = df[df.sensor == sid]
        x, t = part[["v"]].to_numpy(), part["t"].to_numpy()
        enc = HiPPO("legs", 8, reset_every=40)
        want = enc.update(x[:, 0], every=20, times=t)
        if len(x) % 20:
            want = np.concatenate([want, enc.state[None]])
        np.testing.assert_allclose(np.load(out / f"{sid}.npy"), want, rtol=0, atol=1e-12)
        res = hippo("reconstruct", out / f"{sid}.npy", "--all", "-o", tmp_path / f"{sid}.csv")
        assert res.exit_code == 0, res.stderr
        back = pd.read_csv(tmp_path / f"{sid}.csv")
        np.testing.assert_array_equal(back["t"], t)  # stored with the series: no --original
    out = tmp_path / "quantised"
    res = hippo("compress", tmp_path / "long.csv", "--id-column", "sensor", "--column", "v",
                "--quantize", 12, "-N", 8, "--every", 50, "-o", out)
    assert res.exit_code == 0, res.stderr
    meta = json.loads((out / "s01.npy.json").read_text())
    assert meta["quantize"] == 12 and meta["dtype"] == "int16"
    assert np.load(out / "s01.npy")["q"].dtype == np.int16  # (a scale and BITS-bit codes)
    res = hippo("reconstruct", out / "s01.npy", "-o", tmp_path / "q.csv")
    assert res.exit_code == 0, res.stderr
    # a resume with other quantisation is another run's folder: refused, not mixed
    res = hippo("compress", tmp_path / "long.csv", "--id-column", "sensor", "--column", "v",
                "--quantize", 10, "-N", 8, "--every", 50, "-o", out)
    assert res.exit_code == 2 and "other settings" in res.stderr


def test_dask_dataframe_integers_are_exact_or_refused(tmp_path):
    """Integer columns of a Dask dataframe follow hippo's rule for every input: kept
    exactly up to 2^53, refused beyond (naming the column), never rounded quietly."""
    import dask
    import dask.dataframe as dd

    from hippo_cli.codec import open_hippo
    from hippo_cli.errors import DataError
    from hippo_cli.pipelines.dask_engine import compress_dataframe

    big = 2**53
    ok = pd.DataFrame({"sensor": ["a"] * 3 + ["b"] * 3,
                       "n": np.array([big, -big, 7, 1, 2, 3], dtype=np.int64)})
    with dask.config.set(scheduler="threads"):
        manifest = compress_dataframe(dd.from_pandas(ok, npartitions=2), "sensor", ["n"],
                                      tmp_path / "ok", max_error=0.25)
        got = {r["id"]: open_hippo(tmp_path / "ok" / r["file"]).read()[0][:, 0]
               for r in manifest["series"]}
        assert got["a"].tolist() == [float(big), float(-big), 7.0]
        bad = ok.assign(n=np.array([big + 1, 0, 7, 1, 2, 3], dtype=np.int64))
        with pytest.raises(DataError, match=r"'n'.*2\^53"):
            compress_dataframe(dd.from_pandas(bad, npartitions=2), "sensor", ["n"],
                               tmp_path / "bad", max_error=0.25)
