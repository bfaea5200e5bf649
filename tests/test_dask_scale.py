"""The Dask engine that reads its input once (hippo_cli.pipelines.dask_parts): its files are
the local engine's, byte for byte, whatever the partitions; paths are resolved on the
client; progress and the dashboard's address go to stderr, never stdout; -q silences them."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_cli import hippo

from hippo_cli.errors import DataError
from hippo_cli.pipelines import many
from hippo_cli.pipelines.many import SeriesMode
from hippo_cli.pipelines.many_files import compress_many


def _long_csv(path: Path, series: int = 7, seed: int = 0, times: bool = True) -> Path:
    """Series of different lengths, interleaved (sorted by time) but for one that sits
    in a block at the end: some series span every partition, some one."""
    rng = np.random.default_rng(seed)
    frames = []
    for i in range(series):
        L = int(rng.integers(50, 400))
        t = np.cumsum(rng.integers(1, 4, L)) + (10_000 if i == series - 1 else 0)
        frames.append(pd.DataFrame({"sensor": f"id {i}/x", "t": t,
                                    "v": np.round(np.sin(t / 40 + i), 4),
                                    "w": np.round(np.cos(t / 90 - i), 3)}))
    df = pd.concat(frames).sort_values("t", kind="stable")
    cols = ["sensor", "t", "v", "w"] if times else ["sensor", "v", "w"]
    df[cols].to_csv(path, index=False)
    return path


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def _digest(folder: Path) -> dict[str, str]:
    return {k: hashlib.sha256(v).hexdigest() for k, v in _files(folder).items()}


MODES = {"bounded": SeriesMode(max_error=0.01),
         "coefficients": SeriesMode(params={"measure": "legs", "N": 8}, every=16)}


@pytest.mark.parametrize("kind", sorted(MODES))
@given(size=st.integers(min_value=1, max_value=60_000), chunk=st.sampled_from([37, 500, 1 << 18]))
@settings(max_examples=6, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_long_csv_equals_the_local_engine_for_any_partition_size(tmp_path_factory, kind, size,
                                                                 chunk):
    """Any byte ranges (down to one byte: a range per line) and any chunking of the local
    reader: the same files and manifest, bit for bit, times included."""
    d = tmp_path_factory.mktemp("p")
    csv = _long_csv(d / "long.csv", seed=size % 5)
    mode = MODES[kind]
    old = many.CHUNK_ROWS
    many.CHUNK_ROWS = chunk  # both engines read the constant when they run
    try:
        compress_many(str(csv), str(d / "local"), mode, id_column="sensor",
                      columns=["v", "w"], time_column="t", engine="local", scheduler=None)
        compress_many(str(csv), str(d / "dask"), mode, id_column="sensor",
                      columns=["v", "w"], time_column="t", engine="dask", scheduler="threads",
                      partition_size=size)
    finally:
        many.CHUNK_ROWS = old
    local = _files(d / "local")
    assert len(local) == (8 if kind == "bounded" else 15)
    assert _files(d / "dask") == local


def test_a_bad_value_is_named_at_its_line_in_the_whole_file(tmp_path):
    csv = _long_csv(tmp_path / "long.csv", times=False)
    lines = csv.read_text().splitlines()
    lines[700] = lines[700].rsplit(",", 1)[0] + ",oops"
    csv.write_text("\n".join(lines) + "\n")
    said = {}
    for engine in ("local", "dask"):
        dask = ["--scheduler", "threads", "--partition-size", "2kB"] if engine == "dask" else []
        res = hippo("compress", csv, "--id-column", "sensor", "--max-error", "0.01",
                    "--engine", engine, *dask, "-o", tmp_path / engine)
        assert res.exit_code == 1, res.stderr
        said[engine] = res.stderr.strip().splitlines()[-1]
    assert "line 701" in said["local"]
    assert said["dask"].replace(str(csv.resolve()), str(csv)) == said["local"]


def test_many_files_ids_and_bytes_equal_the_local_engine(tmp_path):
    """A glob of CSV and Parquet files, each its own series: the ids are the local engine's
    (relative to the glob's folder, not absolute client paths), the files the same bytes."""
    (tmp_path / "in" / "day2").mkdir(parents=True)
    rng = np.random.default_rng(4)
    for i, name in enumerate(["a.csv", "b.parquet", "day2/a.csv"]):
        df = pd.DataFrame({"v": np.round(np.sin(np.arange(300 + i) / 20) + 0.01 *
                                         rng.standard_normal(300 + i), 4)})
        path = tmp_path / "in" / name
        df.to_parquet(path) if name.endswith(".parquet") else df.to_csv(path, index=False)
    for engine in ("local", "dask"):
        res = hippo("compress", str(tmp_path / "in" / "**" / "*.*"), "--max-error", "0.01",
                    "--engine", engine, *(["--scheduler", "threads"] if engine == "dask"
                                          else []), "-o", tmp_path / engine)
        assert res.exit_code == 0, res.stderr
    local = _files(tmp_path / "local")
    assert sorted(local) == ["a.hippo", "b.hippo", "day2%2Fa.hippo", "manifest.json"]
    assert _files(tmp_path / "dask") == local


def test_progress_on_stderr_and_quiet(tmp_path):
    csv = _long_csv(tmp_path / "long.csv", times=False)
    args = ["compress", csv, "--id-column", "sensor", "--max-error", "0.01", "--engine",
            "dask", "--scheduler", "threads", "--partition-size", "4kB"]
    res = hippo(*args, "-o", tmp_path / "o")
    assert res.exit_code == 0 and res.stdout == ""
    assert "series tasks done" in res.stderr
    quiet = hippo(*args, "-q", "-o", tmp_path / "q")
    assert quiet.exit_code == 0 and quiet.stdout == "" and quiet.stderr == ""
    assert _digest(tmp_path / "q") == _digest(tmp_path / "o")


def test_bad_partition_size_is_one_line(tmp_path):
    csv = _long_csv(tmp_path / "long.csv", times=False)
    for bad, engine in (("lots", "dask"), ("0", "dask"), ("16MB", "local")):
        res = hippo("compress", csv, "--id-column", "sensor", "--max-error", "0.01",
                    "--engine", engine, "--partition-size", bad, "-o", tmp_path / "o")
        assert res.exit_code == 2, res.stderr
        assert "--partition-size" in res.stderr and "Traceback" not in res.stderr


def test_byte_ranges_cover_the_file_at_line_ends(tmp_path):
    from hippo_cli.pipelines.dask_parts import byte_ranges

    csv = _long_csv(tmp_path / "long.csv")
    data = csv.read_bytes()
    for size in (1, 7, 100, 4096, len(data) * 2):
        header, ranges = byte_ranges(str(csv), size)
        assert header == data[:data.index(b"\n") + 1]
        assert ranges[0][0] == len(header) and ranges[-1][1] == len(data)
        assert all(a[1] == b[0] for a, b in zip(ranges, ranges[1:]))
        assert all(data[stop - 1:stop] == b"\n" for _, stop in ranges)
        assert all(stop - start >= min(size, len(data) - start) for start, stop in ranges)


@pytest.fixture(scope="module")
def elsewhere_cluster(tmp_path_factory):
    """A LocalCluster of 2 worker processes started in another folder (their cwd)."""
    from distributed import Client, LocalCluster

    there = tmp_path_factory.mktemp("workers-cwd")
    here = os.getcwd()
    os.chdir(there)
    try:
        cl = LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                          dashboard_address=":0")
    finally:
        os.chdir(here)
    with cl, Client(cl) as client:
        yield cl, there, client


@pytest.mark.slow
def test_relative_output_on_a_cluster_whose_workers_run_elsewhere(tmp_path, monkeypatch,
                                                                   elsewhere_cluster):
    cl, there, client = elsewhere_cluster
    assert client.run(os.getcwd) == {w: str(there) for w in client.run(os.getcwd)}
    _long_csv(tmp_path / "long.csv")
    monkeypatch.chdir(tmp_path)
    res = hippo("compress", "long.csv", "--id-column", "sensor", "--time-column", "t",
                "--max-error", "0.01", "--engine", "dask", "--scheduler",
                cl.scheduler_address, "--partition-size", "8kB", "-o", "out")
    assert res.exit_code == 0, res.stderr
    assert res.stdout == ""
    assert "dask dashboard: http" in res.stderr and "series tasks done" in res.stderr
    assert not (there / "out").exists()
    local = hippo("compress", "long.csv", "--id-column", "sensor", "--time-column", "t",
                  "--max-error", "0.01", "-o", "local")
    assert local.exit_code == 0
    assert _files(tmp_path / "out") == _files(tmp_path / "local")
    quiet = hippo("compress", "long.csv", "--id-column", "sensor", "--time-column", "t",
                  "--max-error", "0.01", "--engine", "dask", "--scheduler",
                  cl.scheduler_address, "-q", "-o", "quiet")
    assert quiet.exit_code == 0 and quiet.stderr == "" and quiet.stdout == ""
    manifest = json.loads((tmp_path / "quiet" / "manifest.json").read_text())
    assert len(manifest["series"]) == 7


def test_iso_times_across_partitions(tmp_path, monkeypatch):
    """ISO times in two styles: .hippo files are the same bytes; coefficient files the same
    arrays and sidecars whose sample times read back the same (the encoded parts may list
    the ISO templates in another order: a local chunk's order comes from every series in
    it, a range's from its own rows)."""
    from hippo_cli.codec.times import Times
    from hippo_cli.formats.coefficients import stored_times

    rng = np.random.default_rng(2)
    frames = []
    for i in range(5):
        stamps = pd.Timestamp("2026-01-01") + pd.to_timedelta(
            np.cumsum(rng.integers(1, 5, 300)), unit="s")
        text = [s.strftime("%Y-%m-%dT%H:%M:%S") if j % 7 else
                s.strftime("%Y-%m-%d %H:%M:%S.%f") for j, s in enumerate(stamps)]
        frames.append(pd.DataFrame({"sensor": f"s{i}", "t": text, "order": stamps,
                                    "v": np.round(np.sin(np.arange(300) / 9 + i), 3)}))
    csv = tmp_path / "iso.csv"
    pd.concat(frames).sort_values("order", kind="stable").drop(columns="order").to_csv(
        csv, index=False)
    monkeypatch.setattr(many, "CHUNK_ROWS", 97)
    for kind, mode in MODES.items():
        for engine in ("local", "dask"):
            compress_many(str(csv), str(tmp_path / f"{kind}-{engine}"), mode,
                          id_column="sensor", columns=["v"], time_column="t", engine=engine,
                          scheduler="threads", partition_size=3000 if engine == "dask" else None)
        local, dask = _files(tmp_path / f"{kind}-local"), _files(tmp_path / f"{kind}-dask")
        assert sorted(local) == sorted(dask)
        for name, data in local.items():
            if kind == "bounded" or not name.endswith(".json") or name == "manifest.json":
                assert dask[name] == data, name
                continue
            a, b = json.loads(data), json.loads(dask[name])
            ta, tb = (Times.join(list(stored_times(m))) for m in (a, b))
            assert ta.text() == tb.text() and np.array_equal(ta.seconds, tb.seconds)
            a.pop("sample_times"), b.pop("sample_times")
            assert a == b


@pytest.mark.parametrize("kind", sorted(MODES))
@pytest.mark.parametrize("threads", [2, 3, 8])
def test_series_encoded_in_threads_equal_one_thread(tmp_path, kind, threads):
    """A task encodes its series in several threads (a file's fsync and rename overlap the
    next series' coding): the same files, bit for bit, as one thread, and the records in
    the order of the ids given, whatever thread wrote each."""
    from hippo_cli.pipelines.dask_parts import encode_joined, group_rows

    rng = np.random.default_rng(3)
    ids = rng.choice([f"s{i}" for i in range(7)], 3000)
    t = np.arange(3000.0)
    values = np.round(np.c_[np.sin(t / 30), np.cos(t / 70)], 3)
    grouped = group_rows(ids, values, None)
    sids = sorted(grouped["order"], reverse=True)  # not the order of appearance
    mode = MODES[kind]
    got = {}
    for n in (1, threads):
        out = tmp_path / str(n)
        out.mkdir()
        result = encode_joined(sids, str(out), mode, ["v", "w"], grouped["pieces"],
                               chunk_rows=500, threads=n)
        got[n] = (_files(out), result["records"])
        assert [r["id"] for r in result["records"]] == sids
        assert set(result["seconds"]) == {"feed", "finish"}
    assert got[threads] == got[1]
    assert len(got[1][0]) == len(sids) * (1 if kind == "bounded" else 2)


def test_an_error_in_one_thread_is_the_tasks_error(tmp_path):
    """A series that fails in one of a task's threads fails the task with its own message
    (the others finish; nothing is left half-written)."""
    from hippo_cli.errors import DataError
    from hippo_cli.pipelines.dask_parts import encode_joined

    t = np.arange(200.0)
    pieces = {f"ok{i}": (np.sin(t / (9 + i))[:, None], None, np.arange(200)) for i in range(3)}
    pieces["empty"] = (np.empty((0, 1)), None, np.arange(0))
    with pytest.raises(DataError, match="series 'empty': no samples"):
        encode_joined(["ok0", "empty", "ok1", "ok2"], str(tmp_path), MODES["coefficients"],
                      ["v"], pieces, threads=2)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def _blocks_csv(path: Path, seed: int) -> tuple[Path, list[str]]:
    """Series in blocks (each one contiguous run of rows), but one that comes back at the
    end: a range may hold its first block whole and still not the whole series. Returns
    the path and the ids in order of their blocks."""
    rng = np.random.default_rng(seed)
    frames, ids = [], []
    for i in range(6):
        L = int(rng.integers(40, 300))
        t = np.arange(L) * 10 + 1000 * i
        ids.append(f"b{i}")
        frames.append(pd.DataFrame({"sensor": f"b{i}", "t": t,
                                    "v": np.round(np.cumsum(rng.normal(size=L)), 3)}))
    t = 100_000 + np.arange(35) * 10
    frames.append(pd.DataFrame({"sensor": "b2", "t": t, "v": np.round(np.cos(t / 50), 3)}))
    pd.concat(frames).to_csv(path, index=False)
    return path, ids


@given(size=st.integers(min_value=200, max_value=40_000), seed=st.integers(0, 3))
@settings(max_examples=8, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_series_encoded_ahead_equal_the_local_engine(tmp_path_factory, size, seed):
    """Series that look whole in their range are encoded while the reads go on; a guess
    proved wrong (b2 comes back at the end) is dropped and the series joined: every file
    is the local engine's, bit for bit."""
    d = tmp_path_factory.mktemp("ahead")
    csv, _ = _blocks_csv(d / "blocks.csv", seed)
    mode = MODES["bounded"]
    for engine in ("local", "dask"):
        compress_many(str(csv), str(d / engine), mode, id_column="sensor", columns=["v"],
                      time_column="t", engine=engine, scheduler="threads",
                      partition_size=size if engine == "dask" else None)
    assert _files(d / "dask") == _files(d / "local")
    assert len(_files(d / "local")) == 7  # six series and the manifest


def test_which_series_a_range_encodes_ahead(tmp_path):
    """Only runs that neither start nor end the range, and only in a .hippo mode; each
    encoded as one writer fed all its rows."""
    from hippo_cli.codec import open_hippo
    from hippo_cli.pipelines.dask_parts import byte_ranges, read_range

    csv, ids = _blocks_csv(tmp_path / "blocks.csv", 0)
    header, _ = byte_ranges(str(csv), 1 << 30)
    spec = {"columns": ["v"], "id_column": "sensor", "time_column": "t", "sep": ",",
            "decimal": ".", "exact_integers": True}
    bounded = many.mode_with_time(MODES["bounded"], "t", "0")
    whole = read_range(str(csv), header, len(header), csv.stat().st_size, spec, bounded)
    # b0 starts the range, b2 comes back at its end (two runs)
    assert sorted(whole["ready"]) == ["b1", "b3", "b4", "b5"]
    frame = pd.read_csv(csv)
    for sid in whole["ready"]:
        data, samples = whole["ready"][sid]
        rows = frame[frame.sensor == sid]
        assert samples == len(rows)
        (tmp_path / f"{sid}.hippo").write_bytes(data)
        decoded, times = open_hippo(tmp_path / f"{sid}.hippo").read()
        assert np.max(np.abs(decoded - rows[["v"]].to_numpy())) <= 0.01
        assert np.array_equal(times, rows["t"].to_numpy())
    plain = read_range(str(csv), header, len(header), csv.stat().st_size, spec,
                       many.mode_with_time(MODES["coefficients"], "t", "0"))
    assert "ready" not in plain and "ready" not in read_range(
        str(csv), header, len(header), csv.stat().st_size, spec)


def test_ids_read_as_categories_are_the_local_engines_ids(tmp_path):
    """The Dask engine parses ids as categories (text, each distinct id once): ids that
    look like numbers or missing values, padded or not, name the same files as locally;
    a blank id is refused at its line by both."""
    ids = ["007", "7", "NA", "nan", " a", "a ", "ß/µ", "1e3"]
    rng = np.random.default_rng(5)
    rows = rng.choice(ids, 4000)
    df = pd.DataFrame({"sensor": rows, "v": np.round(rng.normal(size=4000).cumsum(), 2)})
    csv = tmp_path / "ids.csv"
    df.to_csv(csv, index=False)
    for engine in ("local", "dask"):
        compress_many(str(csv), str(tmp_path / engine), MODES["bounded"], id_column="sensor",
                      columns=["v"], time_column=None, engine=engine, scheduler="threads",
                      partition_size=7000 if engine == "dask" else None)
    assert _files(tmp_path / "dask") == _files(tmp_path / "local")
    assert len(_files(tmp_path / "local")) == len(ids) + 1
    lines = csv.read_text().splitlines()
    lines[2345] = "   ," + lines[2345].split(",", 1)[1]
    (tmp_path / "blank.csv").write_text("\n".join(lines) + "\n")
    for engine in ("local", "dask"):
        with pytest.raises(DataError, match=r"blank\.csv, line 2346: empty 'sensor'"):
            compress_many(str(tmp_path / "blank.csv"), str(tmp_path / f"b-{engine}"),
                          MODES["bounded"], id_column="sensor", columns=["v"],
                          time_column=None, engine=engine, scheduler="threads",
                          partition_size=7000 if engine == "dask" else None)
