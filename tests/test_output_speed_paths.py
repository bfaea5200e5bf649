"""The CSV writer's two paths (numba :mod:`hippo_cli.formats.float_text`, and ``repr`` cell
by cell) write the same bytes, and every float64 they write reads back to the same bits."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_cli import hippo

from hippo_cli.codec.times import Times
from hippo_cli.formats import table_output
from hippo_cli.formats.float_text import csv_rows
from hippo_cli.formats.samples import open_samples
from hippo_cli.formats.table_output import TableWriter

SPECIAL = [0.0, -0.0, 1.0, -3.0, 100.0, 1e15, 1e16, 1e20, 1e21, 1e22, 1e23, 1e308,
           1.7976931348623157e308, 1e-4, 1e-5, 1.5e-7, 1e-7, 9.999999e-8, 5e-324,
           2.2250738585072014e-308, 0.1, 0.30000000000000004, 1 / 3, 2.0**-10, 2.0**60,
           123456789012345.0, 1234567890123456.0, 0.9500000000000001, np.nan, np.inf,
           -np.inf, 12345.678]


def _reference(prefix: list[str], x: np.ndarray) -> bytes:
    return "".join(p + "," + ",".join("" if v != v else repr(v) for v in row) + "\n"
                   for p, row in zip(prefix, x.tolist())).encode()


def _random_values(rng, n: int, c: int) -> np.ndarray:
    """Random bits, rounded decimals of every magnitude, integers and the special values."""
    bits = rng.integers(0, 2**64, size=(n, c), dtype=np.uint64).view(np.float64)
    scaled = rng.normal(size=(n, c)) * 10.0 ** rng.integers(-12, 24, size=(n, c))
    rounded = np.round(rng.normal(size=(n, c)) * 1e6) / 10.0 ** rng.integers(-3, 20, (n, c))
    step = np.round(rng.normal(size=(n, c)) * 100 / 0.02) * 0.02  # a quantizer's grid
    ints = rng.integers(-10**6, 10**6, size=(n, c)).astype(np.float64)
    special = np.array(SPECIAL)[rng.integers(0, len(SPECIAL), size=(n, c))]
    pick = rng.integers(0, 6, size=(n, c))
    return np.choose(pick, [bits, scaled, rounded, step, ints, special])


@pytest.mark.parametrize("seed", range(4))
def test_numba_rows_are_repr_byte_for_byte(seed):
    x = _random_values(np.random.default_rng(seed), 4000, 7)
    prefix = [str(i) for i in range(len(x))]
    assert csv_rows(prefix, x) == _reference(prefix, x)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.integers(0, 2**64 - 1), min_size=1, max_size=40))
def test_written_floats_read_back_to_the_same_bits(raw):
    x = np.array(raw, np.uint64).view(np.float64)[:, None]
    text = csv_rows(["t"] * len(x), x)
    assert text == _reference(["t"] * len(x), x)
    cells = [line.split(b",")[1] for line in text.splitlines()]
    for v, cell in zip(x[:, 0], cells):
        if v != v:
            assert cell == b""
        else:
            assert np.float64(float(cell)).view(np.uint64) == v.view(np.uint64)


def _table(path, fast: bool, names, kinds, batches) -> bytes:
    with TableWriter(str(path), names, kinds, fast=fast) as w:
        for columns in batches:
            w.write(columns)
        w.commit()
    return path.read_bytes()


@pytest.mark.parametrize("first", ["index", "seconds"])
def test_both_paths_write_the_same_file(tmp_path, first):
    rng = np.random.default_rng(7)
    names = ["sample" if first == "index" else "t,ime", "a", 'b "q"', "c,d", "e\nf"]
    kinds = ["index" if first == "index" else "time", *["value"] * 4]
    batches = []
    for start, n in ((0, 500), (500, 1), (501, 777)):
        lead = np.arange(start, start + n) if first == "index" else \
            Times.numbers(rng.normal(size=n) * 10.0 ** rng.integers(-3, 12, size=n))
        batches.append([lead, *_random_values(rng, n, 4).T])
    fast = _table(tmp_path / "fast.csv", True, names, kinds, batches)
    slow = _table(tmp_path / "slow.csv", False, names, kinds, batches)
    assert fast == slow
    assert fast.startswith(b'"t,ime"' if first == "seconds" else b"sample")


def test_reconstruct_reads_back_to_the_same_bits(tmp_path, monkeypatch):
    rng = np.random.default_rng(3)
    n = 3000
    x = _random_values(rng, n, 3)
    x[np.abs(x) > 1e300] = 1.0  # a bound needs a finite range
    x[~np.isfinite(x)] = np.nan
    lines = ["when,a,b \"c\",\"d,e\""] + [
        f"2026-03-01T{10 + i // 3600:02d}:{i // 60 % 60:02d}:{i % 60:02d}.{i % 1000:03d}+01:00,"
        + ",".join("" if v != v else repr(v) for v in row) for i, row in enumerate(x.tolist())]
    src = tmp_path / "s.csv"
    src.write_text("\n".join(lines) + "\n")
    res = hippo("compress", src, "--max-error", "1e-3", "-t", "when", "--nan", "keep",
                "-o", tmp_path / "s.hippo")
    assert res.exit_code == 0, res.stderr
    outs = {}
    for fast in (True, False):
        monkeypatch.setattr(table_output, "FAST", fast)
        out = tmp_path / f"r{fast}.csv"
        res = hippo("reconstruct", tmp_path / "s.hippo", "-o", out)
        assert res.exit_code == 0, res.stderr
        outs[fast] = out.read_bytes()
    assert outs[True] == outs[False]
    res = hippo("reconstruct", tmp_path / "s.hippo", "-o", tmp_path / "r.parquet")
    assert res.exit_code == 0, res.stderr
    got = [np.concatenate([b[1] for b in open_samples(str(p), None, "when").chunks()])
           for p in (tmp_path / "rTrue.csv", tmp_path / "r.parquet")]
    assert got[0].shape == (n, 4)
    assert np.array_equal(got[0][:, :3].view(np.uint64), got[1][:, :3].view(np.uint64))
    text = (tmp_path / "rTrue.csv").read_text().splitlines()
    assert [t.split(",")[0] for t in text[1:]] == [t.split(",")[0] for t in lines[1:]]
