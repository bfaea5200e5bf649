"""Parquet input: the same column, time and NaN rules as CSV (the parquet extra)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from test_cli import assert_clean_failure, hippo

from hippo_cli.formats.hippo_file import open_hippo

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
    want = (df["when"] - pd.Timestamp(0, tz="UTC")) / pd.Timedelta(seconds=1)
    np.testing.assert_array_equal(times, want.to_numpy(float))
    out = hippo("reconstruct", tmp_path / "p.hippo").stdout.splitlines()
    assert out[0] == "when,temp,hum" and out[1].startswith("2026-01-01T00:00:00+00:00,")


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
    assert_clean_failure(hippo("compress", tmp_path / "b.parquet", "-E", "0.1", "-t", "when"), 1,
                         "b.parquet, row 50", "goes back")


def test_missing_pyarrow_says_how_to_install(tmp_path, monkeypatch):
    import sys

    _frame(10).to_parquet(tmp_path / "p.parquet")
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    assert_clean_failure(hippo("compress", tmp_path / "p.parquet", "-E", "0.1"), 2,
                         "pip install 'hippo-cli[parquet]'")
