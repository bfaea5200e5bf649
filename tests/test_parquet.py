"""Parquet input: the same column, time and NaN rules as CSV (the parquet extra)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from test_cli import assert_clean_failure, hippo

from hippo_cli.codec import open_hippo

pytest.importorskip("pyarrow")


def _frame(n: int = 5000) -> pd.DataFrame:
    return pd.DataFrame({"when": pd.date_range("2026-01-01", periods=n, freq="s", tz="UTC"),
                         "temp": np.sin(np.arange(n) / 100), "hum": np.arange(n) * 0.01,
                         "label": ["x"] * n})


def test_parquet_round_trip_with_times(tmp_path):
    df = _frame()
    df.to_parquet(tmp_path / "p.parquet")
    res = hippo("compress", tmp_path / "p.parquet", "-E", "0.01", "-t", "when")
    assert res.exit_code == 0 and "left out non-numeric column(s): label" in res.stderr
    values, times = open_hippo(str(tmp_path / "p.hippo")).read()
    assert np.all(np.abs(values - df[["temp", "hum"]].to_numpy()) <= 0.01)
    np.testing.assert_array_equal(times, df["when"].dt.tz_localize(None).to_numpy())
    out = hippo("reconstruct", tmp_path / "p.hippo").stdout.splitlines()
    assert out[0] == "when,temp,hum" and out[1].startswith("2026-01-01T00:00:00Z,")


def test_parquet_nan_policy_and_time_order(tmp_path):
    df = _frame(100)
    df.loc[10, "temp"] = np.nan
    df.to_parquet(tmp_path / "n.parquet")
    assert_clean_failure(hippo("compress", tmp_path / "n.parquet", "-E", "0.1"), 1,
                         "n.parquet, row 10", "empty or NaN")
    assert hippo("compress", tmp_path / "n.parquet", "-E", "0.1", "--nan", "skip",
                 "-q").exit_code == 0
    assert len(open_hippo(str(tmp_path / "n.hippo")).read()[0]) == 99
    df = _frame(100)
    df.loc[50, "when"] = df.loc[20, "when"]
    df.to_parquet(tmp_path / "b.parquet")
    # a .hippo file keeps the times as recorded; HiPPO coefficients need them increasing
    res = hippo("compress", tmp_path / "b.parquet", "-E", "0.1", "-t", "when")
    assert res.exit_code == 0 and "not increasing (1 repeat or go back)" in res.stderr
    _, times = open_hippo(str(tmp_path / "b.hippo")).read()
    np.testing.assert_array_equal(times, df["when"].dt.tz_localize(None).to_numpy())
    assert_clean_failure(hippo("compress", tmp_path / "b.parquet", "-N", 4, "-t", "when"), 1,
                         "b.parquet, row 50", "goes back", "need increasing times")


def test_missing_pyarrow_says_how_to_install(tmp_path, monkeypatch):
    import sys

    _frame(10).to_parquet(tmp_path / "p.parquet")
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    assert_clean_failure(hippo("compress", tmp_path / "p.parquet", "-E", "0.1"), 2,
                         "pip install 'hippo-cli[parquet]'")


def test_reconstructions_written_to_parquet(tmp_path):
    import pandas as pd
    from test_cli import hippo

    n = 1500
    stamps = pd.date_range("2026-02-01 00:00", periods=n, freq="10s")
    src = tmp_path / "s.csv"
    pd.DataFrame({"ts": [s.strftime("%Y-%m-%dT%H:%M:%S+02:00") for s in stamps],
                  "a": np.sin(np.arange(n) / 30.0), "b": np.cos(np.arange(n) / 70.0)}
                 ).to_csv(src, index=False)
    # coefficients: the same rows as the CSV, typed (int64 index, zoned timestamps, floats)
    assert hippo("compress", src, "-t", "ts", "-N", 16, "--every", 100,
                 "-o", tmp_path / "c.npy").exit_code == 0
    for out in ("r.csv", "r.parquet"):
        res = hippo("reconstruct", tmp_path / "c.npy", "--all", "-o", tmp_path / out)
        assert res.exit_code == 0, res.stderr
    csv = pd.read_csv(tmp_path / "r.csv")
    pq = pd.read_parquet(tmp_path / "r.parquet")
    assert list(pq.columns) == ["sample", "ts", "a", "b"] == list(csv.columns)
    assert str(pq["ts"].dtype) == "datetime64[ns, UTC+02:00]"
    np.testing.assert_array_equal(pq["sample"], csv["sample"])
    np.testing.assert_array_equal(pq[["a", "b"]].to_numpy(), csv[["a", "b"]].to_numpy())
    assert pq["ts"].iloc[0].isoformat() == "2026-02-01T00:00:00+02:00"
    # a .hippo file decodes to Parquet too, every value within the bound
    assert hippo("compress", src, "-t", "ts", "--max-error", 0.01,
                 "-o", tmp_path / "c.hippo").exit_code == 0
    res = hippo("reconstruct", tmp_path / "c.hippo", "-o", tmp_path / "d.pq")
    assert res.exit_code == 0, res.stderr
    dec = pd.read_parquet(tmp_path / "d.pq")
    orig = pd.read_csv(src)
    assert np.max(np.abs(dec[["a", "b"]].to_numpy() - orig[["a", "b"]].to_numpy())) <= 0.01
    assert (dec["ts"].dt.tz_convert("UTC") == pd.to_datetime(orig["ts"], utc=True)).all()


def test_parquet_output_needs_pyarrow(tmp_path, monkeypatch):
    import builtins

    from test_cli import assert_clean_failure, hippo

    np.save(tmp_path / "u.npy", np.sin(np.arange(300) / 9.0))
    assert hippo("compress", tmp_path / "u.npy", "-N", 8, "-o", tmp_path / "c.npy").exit_code == 0
    real = builtins.__import__

    def no_pyarrow(name, *args, **kw):
        if name.startswith("pyarrow"):
            raise ImportError(name)
        return real(name, *args, **kw)

    monkeypatch.setattr(builtins, "__import__", no_pyarrow)
    assert_clean_failure(hippo("reconstruct", tmp_path / "c.npy", "-o", tmp_path / "r.parquet"),
                         2, "hippo-cli[parquet]")
    assert not (tmp_path / "r.parquet").exists()
