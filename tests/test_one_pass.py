"""``compress --max-error 1%`` parses its input once (:mod:`hippo_cli.pipelines.spill`):
the same bytes as the streaming path of an absolute bound, in bounded memory, with errors that still
name their line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from test_cli import hippo

from hippo_cli.pipelines import spill


def _csv(path: Path, rows: int, cols: int, seed: int = 0, holes: bool = False) -> Path:
    rng = np.random.default_rng(seed)
    x = np.round(np.cumsum(rng.standard_normal((rows, cols)), axis=0), 4).astype(str)
    if holes:
        x[rng.integers(0, rows, 20), rng.integers(0, cols, 20)] = ""
        x[5, 0] = "inf"
    start = np.datetime64("2024-01-01T00:00:00")
    times = (start + np.arange(rows).astype("timedelta64[s]")).astype(str)
    lines = ["time," + ",".join(f"c{i}" for i in range(cols))]
    lines += [t + "," + ",".join(r) for t, r in zip(times, x)]
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize("rows,extra", [(150_000, []), (70_000, ["--nan", "keep"]),
                                        (20_000, ["--threads", "1"])])
def test_same_bytes_as_the_streaming_path(tmp_path, rows, extra):
    """A percentage bound (one pass, blocks kept) writes the bytes the absolute bound it
    stands for writes (blocks encoded as they are read, nothing kept)."""
    src = _csv(tmp_path / "x.csv", rows, 1, holes="--nan" in extra)
    args = ["compress", str(src), "-t", "time", *extra]
    assert hippo(*args, "--max-error", "1%", "-o", tmp_path / "pct.hippo").exit_code == 0
    from hippo_cli.codec import open_hippo

    with open_hippo(tmp_path / "pct.hippo") as hf:
        (bound,) = hf.header.max_errors
    result = hippo(*args, "--max-error", repr(bound), "-o", tmp_path / "abs.hippo")
    assert result.exit_code == 0, result.stderr
    assert (tmp_path / "pct.hippo").read_bytes() == (tmp_path / "abs.hippo").read_bytes()


def test_spilled_blocks_give_the_same_bytes(tmp_path, monkeypatch):
    src = _csv(tmp_path / "x.csv", 120_000, 4, holes=True)
    args = ["compress", src, "--max-error", "0.5%", "-t", "time", "--nan", "keep"]
    assert hippo(*args, "-o", tmp_path / "held.hippo").exit_code == 0
    monkeypatch.setattr(spill, "MEMORY_BUDGET", 1 << 20)  # most blocks go to the file
    assert hippo(*args, "-o", tmp_path / "spilled.hippo").exit_code == 0
    assert (tmp_path / "held.hippo").read_bytes() == (tmp_path / "spilled.hippo").read_bytes()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".hippo-spill")] == []


def test_spill_keeps_order_and_deletes_its_file(tmp_path):
    blocks = [np.full((1000, 3), float(i)) for i in range(10)]
    with spill.Spill(tmp_path, budget=20_000) as s:
        for b in blocks:
            s.add(b[:, :2], None)
        assert s.spilled == 9
        got = [v for v, _ in s.drain()]
    assert [float(v[0, 0]) for v in got] == list(range(10)) and got[5].shape == (1000, 2)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("bound", ["1%", "0.1"])
def test_a_bad_value_in_a_later_chunk_names_its_line(tmp_path, bound):
    rows = 400_000
    src = _csv(tmp_path / "x.csv", rows, 1)
    lines = src.read_text().splitlines()
    lines[349_999] = lines[349_999].split(",")[0] + ",12x"  # file line 350000
    src.write_text("\n".join(lines) + "\n")
    out = tmp_path / "x.hippo"
    result = hippo("compress", src, "--max-error", bound, "-t", "time", "-o", out)
    assert result.exit_code != 0
    assert "line 350000" in result.output and "not a number: '12x'" in result.output
    assert not out.exists() and [p.name for p in tmp_path.iterdir()] == ["x.csv"]


PEAK = """
import sys
from hippo_cli.pipelines import spill
from hippo_cli.codec import container
spill.MEMORY_BUDGET = 8 << 20
container.MAX_FRAME_VALUES = 1 << 16  # frames of 65536 rows at either size
sys.argv = ["hippo", *sys.argv[1:]]
from hippo_cli.cli import main
try:
    main()
finally:
    # VmHWM, not ru_maxrss (which keeps the high-water mark of the parent forked from)
    hwm = [ln for ln in open("/proc/self/status") if ln.startswith("VmHWM")][0]
    print("PEAK", hwm.split()[1], file=sys.stderr)
"""


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="Linux /proc")
def test_memory_does_not_grow_with_the_input(tmp_path):
    """Ten times the rows: the percentage bound's peak RSS grows no more than an absolute
    bound's (which keeps nothing; its reader's blocks in flight fill up on a larger file),
    as the blocks beyond the budget are in a temporary file, deleted after. The budget and
    the frames are made small so that both sizes exceed them."""
    peaks = {}
    for rows in (400_000, 4_000_000):
        src = _csv(tmp_path / f"x{rows}.csv", rows, 1, seed=rows)
        for bound in ("1%", "0.5"):
            run = subprocess.run([sys.executable, "-c", PEAK, "compress", str(src),
                                  "--max-error", bound, "-t", "time", "-f",
                                  "-o", str(tmp_path / f"x{rows}.hippo")],
                                 capture_output=True, text=True, cwd=tmp_path,
                                 env={**os.environ,
                                      "PYTHONPATH": str(Path(__file__).parents[1])})
            assert run.returncode == 0, run.stderr
            peaks[rows, bound] = int(run.stderr.split("PEAK")[-1]) * 1024
        src.unlink()
    # kept whole, 3.6M more rows would be 3.6M x (8 + 32) bytes = 144 MB more
    grown = peaks[4_000_000, "1%"] - peaks[400_000, "1%"]
    assert grown < peaks[4_000_000, "0.5"] - peaks[400_000, "0.5"] + 30e6, peaks
    assert peaks[4_000_000, "1%"] < peaks[4_000_000, "0.5"] + 30e6, peaks
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".hippo-spill")]


def test_spill_gives_back_times_of_every_kind(tmp_path):
    """Blocks written to the spill file come back equal: values, and Times of numbers,
    integers and ISO text (templates included); no pickle is involved."""
    from hippo_cli.codec.times import Times, parse_iso

    iso, _ = parse_iso(["2024-01-01T00:00:00.5Z", "1500-03-01 12:00+05:30"])
    kinds = [None, Times.numbers(np.array([1.5, -2.0])), Times.numbers(np.array([2**60, 7])),
             iso]
    with spill.Spill(tmp_path, budget=0) as kept:
        for i, times in enumerate(kinds):
            kept.add(np.full((2, 3), float(i)), times)
        back = list(kept.drain())
    for (values, times), (i, want) in zip(back, enumerate(kinds)):
        assert np.array_equal(values, np.full((2, 3), float(i)))
        if want is None:
            assert times is None
            continue
        assert times.templates == want.templates
        for name in ("seconds", "ints", "nanos", "fmt"):
            a, b = getattr(times, name), getattr(want, name)
            assert (a is None) == (b is None) and (a is None or np.array_equal(a, b))
