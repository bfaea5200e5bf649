"""Many ids in one long-format table: the per-series cost is constant (the output folder is
scanned for stale temporaries once per run, not once per file - that made 10,000 ids take
minutes), and the files are the same bytes as series encoded one at a time."""

from __future__ import annotations

import pathlib
import subprocess
import sys

import numpy as np

from hippo_cli.atomic import TMP_MARK
from hippo_cli.pipelines.many import SeriesMode, compress_long, encode_series


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_folder_scanned_once_and_stale_temporaries_still_removed(tmp_path, monkeypatch):
    out = tmp_path / "out"
    out.mkdir()
    stale = out / f".idx.hippo{TMP_MARK}{_dead_pid()}"
    stale.write_bytes(b"left by a killed run")
    scans = []
    real_iterdir = pathlib.Path.iterdir

    def counting(self):
        if self.resolve() == out.resolve():
            scans.append(1)
        return real_iterdir(self)

    monkeypatch.setattr(pathlib.Path, "iterdir", counting)
    n = 300
    ids = np.repeat(np.array([f"id{i}" for i in range(n)], dtype=object), 5)
    values = np.arange(n * 5, dtype=float)[:, None]
    mode = SeriesMode(max_error=0.5)
    records = compress_long(iter([(ids, values, None)]), out, mode, columns=["v"])
    assert len(records) == n
    assert len(scans) == 1  # was one scan per file written: O(ids^2) directory entries
    assert not stale.exists()


def test_many_ids_equal_each_series_alone(tmp_path):
    rng = np.random.default_rng(1)
    n, rows = 40, 30
    order = rng.permutation(n * rows)  # ids interleaved; a series is its rows in file order
    ids = np.repeat(np.array([f"s{i}" for i in range(n)], dtype=object), rows)[order]
    values = np.cumsum(rng.normal(size=(n * rows, 1)), axis=0)[order]
    mode = SeriesMode(max_error=0.01)
    together, alone = tmp_path / "together", tmp_path / "alone"
    together.mkdir()
    alone.mkdir()
    # two chunks: every id continues its state across them
    half = len(ids) // 2
    compress_long(iter([(ids[:half], values[:half], None), (ids[half:], values[half:], None)]),
                  together, mode, columns=["v"])
    for sid in sorted(set(ids)):
        x = values[ids == sid]
        state = encode_series(x, None, sid, alone, mode, ["v"], last=False)["state"]
        encode_series(np.empty((0, 1)), None, sid, alone, mode, ["v"], state=state, last=True)
    names = sorted(p.name for p in alone.iterdir())
    assert names == sorted(p.name for p in together.iterdir())
    for name in names:
        assert (together / name).read_bytes() == (alone / name).read_bytes(), name
