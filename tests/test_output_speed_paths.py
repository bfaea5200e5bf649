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
from hippo_cli.formats.float_text import CACHE_SLOTS, TextCache, csv_block
from hippo_cli.formats.samples import open_samples
from hippo_cli.formats.table_output import TableWriter, _matrix

SPECIAL = [0.0, -0.0, 1.0, -3.0, 100.0, 1e15, 1e16, 1e20, 1e21, 1e22, 1e23, 1e308,
           1.7976931348623157e308, 1e-4, 1e-5, 1.5e-7, 1e-7, 9.999999e-8, 5e-324,
           2.2250738585072014e-308, 0.1, 0.30000000000000004, 1 / 3, 2.0**-10, 2.0**60,
           123456789012345.0, 1234567890123456.0, 0.9500000000000001, np.nan, np.inf,
           -np.inf, 12345.678]


def csv_rows(prefix: list[str], x: np.ndarray) -> bytes:
    return csv_block(prefix, x).tobytes()


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


# -- the per-column cache (bits -> text), the threads, the columns read without a copy --

def _hash_slot(x: np.ndarray, slots: int) -> np.ndarray:
    """The slot the kernel's Fibonacci hash gives each value (written out independently)."""
    bits = [int(b) for b in np.asarray(x, np.float64).view(np.uint64).ravel()]
    shift = 64 - (slots.bit_length() - 1)
    return np.array([((b * 0x9E3779B97F4A7C15) % 2**64) >> shift for b in bits])


def _cached_texts_are_repr(cache: TextCache) -> int:
    """Every filled slot holds the repr of its key; returns how many are filled."""
    filled = 0
    for j, h in zip(*np.nonzero(cache.lens)):
        v = float(np.uint64(cache.keys[j, h]).view(np.float64))
        assert cache.texts[j, h, :cache.lens[j, h]].tobytes() == repr(v).encode()
        filled += 1
    return filled


ODD = [5e-324, -5e-324, 2.2250738585072014e-308 / 3, 1e-300, -1e300, 1e-8, 1e15 - 1,
       2.0**53, 2.0**53 + 2, 0.1 + 0.2, -0.0, 0.0]


@pytest.mark.parametrize("slots", [1, 2, 16, CACHE_SLOTS])
def test_cache_serves_repeats_byte_for_byte(slots):
    # columns of few values (a quantizer's grid, the special and odd values): the cache's
    # hits, kept from one block to the next
    rng = np.random.default_rng(11)
    grid = np.round(rng.normal(size=60) * 50 / 0.02) * 0.02
    pool = np.concatenate([grid, SPECIAL, ODD])
    cache = TextCache(5, slots)
    for block in range(4):
        x = pool[rng.integers(0, len(pool), size=(900, 5))]
        prefix = [f"r{block}.{i}" for i in range(len(x))]
        assert csv_block(prefix, x, cache).tobytes() == _reference(prefix, x)
    filled = _cached_texts_are_repr(cache)
    assert filled == 0 if slots == 1 else filled > 0


def test_cache_full_of_collisions():
    # values that all hash to one slot (of 4), of texts of unlike lengths, in turn: every
    # lookup meets another value's text in the slot
    rng = np.random.default_rng(5)
    candidates = np.concatenate([_random_values(rng, 400, 1).ravel(), ODD, SPECIAL])
    candidates = candidates[candidates == candidates]
    same = candidates[_hash_slot(candidates, 4) == 2]
    assert len(same) > 20
    assert len({len(repr(v)) for v in same}) > 3
    cache = TextCache(2, 4)
    for _ in range(3):
        x = same[rng.integers(0, len(same), size=(500, 2))]
        assert csv_block(["t"] * len(x), x, cache).tobytes() == _reference(["t"] * len(x), x)
    assert _cached_texts_are_repr(cache) == 2  # one slot a column


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 2**64 - 1), min_size=1, max_size=12),
       st.lists(st.integers(0, 11), min_size=1, max_size=60))
def test_cache_on_random_bits_repeated(pool, picks):
    # float64 of random bits (NaN, inf, subnormals included), each repeated, one small cache
    # kept over two calls
    values = np.array(pool, np.uint64).view(np.float64)
    x = values[np.array(picks) % len(values)].reshape(-1, 1)
    cache = TextCache(1, 4)
    for _ in range(2):
        assert csv_block(["t"] * len(x), x, cache).tobytes() == _reference(["t"] * len(x), x)
    _cached_texts_are_repr(cache)


def test_cache_must_fit():
    with pytest.raises(ValueError, match="power of two"):
        TextCache(3, 12)
    with pytest.raises(ValueError, match="columns"):
        csv_block(["a"], np.ones((1, 2)), TextCache(3))


def test_decoder_columns_are_read_without_a_copy():
    v = np.random.default_rng(2).normal(size=(50, 4))
    m = _matrix(list(v.T))
    assert m is not None and np.shares_memory(m, v) and np.array_equal(m, v)
    assert not m.flags.writeable
    one = _matrix([v[:, 0].copy()])
    assert one is not None and np.array_equal(one[:, 0], v[:, 0])
    assert _matrix(list(v.T[::2])) is None  # every other column
    assert _matrix([c.copy() for c in v.T]) is None  # separate arrays
    assert _matrix(list(v[:, ::-1].T)) is None  # reversed order
    assert _matrix(list(v.T.astype(np.float32))) is None
    assert _matrix(list(v[:, :3].T)) is None  # 3 columns of rows of 4
    assert _matrix([[1.0, 2.0]]) is None  # not an array
    assert csv_block([], np.empty((0, 3))).tobytes() == b""


@pytest.mark.parametrize("threads", [1, 2, 3])
def test_threads_write_the_bytes_of_one(tmp_path, monkeypatch, threads):
    import threading

    from hippo_cli.formats import float_text

    seen = []
    real = float_text.csv_block

    def spy(prefix, values, cache=None):
        seen.append((threading.current_thread().name, len(prefix)))
        return real(prefix, values, cache)

    monkeypatch.setattr(float_text, "csv_block", spy)
    monkeypatch.setattr(table_output, "MIN_CELLS_PER_THREAD", 600)
    rng = np.random.default_rng(threads)
    names, kinds = ["sample", "a", "b", "c"], ["index", "value", "value", "value"]
    batches = []
    for start, n in ((0, 1000), (1000, 7), (1007, 1601)):
        block = _random_values(rng, n, 3)  # row-major: its columns are read without a copy
        batches.append([np.arange(start, start + n), *block.T])
    fast = TableWriter(str(tmp_path / "fast.csv"), names, kinds, fast=True, threads=threads)
    with fast:
        for columns in batches:
            fast.write(columns)
        fast.commit()
    slow = _table(tmp_path / "slow.csv", False, names, kinds, batches)
    assert (tmp_path / "fast.csv").read_bytes() == slow
    parts = [min(threads, max(1, n * 3 // 600)) for n in (1000, 7, 1601)]
    assert len(seen) == sum(parts)
    assert sum(rows for _, rows in seen) == 1000 + 7 + 1601
    assert sum(name == "hippo-csv" for name, _ in seen) == sum(parts) - len(parts)
    assert len(fast._caches) == max(parts)


def test_a_text_handle_without_bytes(tmp_path):
    # a handle with no binary buffer below it (a notebook's stdout) gets text
    import io

    x = _random_values(np.random.default_rng(9), 300, 2)
    w = TableWriter(str(tmp_path / "t.csv"), ["sample", "a", "b"], ["index", "value", "value"])
    with w:
        w.fh = io.StringIO()
        w.write([np.arange(300), *x.T])
        got = w.fh.getvalue()
    assert got.encode() == _reference([str(i) for i in range(300)], x)


def test_cache_left_by_a_column_that_does_not_repeat():
    # column 0: random bits, never a repeat (its cache is left after the first check);
    # column 1: a grid's few values (its cache stays in use); the bytes are repr's either way
    from hippo_cli.formats.float_text import _CHECK_ROWS

    rng = np.random.default_rng(4)
    n = 3 * _CHECK_ROWS + 5
    x = np.empty((n, 2))
    x[:, 0] = rng.integers(0, 2**64, size=n, dtype=np.uint64).view(np.float64)
    x[:, 1] = np.round(rng.normal(size=40) * 10 / 0.02)[rng.integers(0, 40, size=n)] * 0.02
    cache = TextCache(2, 4 * _CHECK_ROWS)
    assert csv_block(["t"] * n, x, cache).tobytes() == _reference(["t"] * n, x)
    assert _cached_texts_are_repr(cache) > 0
    assert 0 < np.count_nonzero(cache.lens[0]) <= _CHECK_ROWS  # none stored after the check
    assert 0 < np.count_nonzero(cache.lens[1]) <= 40
