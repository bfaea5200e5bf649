"""Nothing lost, round two: hippo never writes over a file it reads, never replaces what is
not a regular file, never merges two series, never resumes over other settings or data, and
never exits 0 after losing output."""

from __future__ import annotations

import json
import os
import stat
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from test_cli import assert_clean_failure, hippo, write_csv

from helpers import require, wait_for, waits_on_a_pipe
from hippo_cli.codec import open_hippo

HIPPO = [sys.executable, "-m", "hippo_cli"]


def _is_full(pipe):
    """Whether the pipe that we read ``pipe`` from holds all it can (None: cannot tell)."""
    try:
        import fcntl
        import termios

        capacity = fcntl.fcntl(pipe.fileno(), 1032)  # F_GETPIPE_SZ (Linux)
        held = fcntl.ioctl(pipe.fileno(), termios.FIONREAD, b"\0" * 4)
    except (ImportError, OSError):
        return None
    return struct.unpack("i", held)[0] >= capacity


# --------------------------------------------------------------------------- inputs are sacred
def test_an_input_is_never_an_output(tmp_path):
    src = write_csv(tmp_path / "data.csv")
    before = src.read_bytes()
    assert_clean_failure(hippo("compress", src, "-o", src), 2, "one of this command's inputs")
    assert_clean_failure(hippo("compress", src, "-E", "1%", "-o", src), 2, "inputs")
    link = tmp_path / "link.csv"
    link.symlink_to(src)
    assert_clean_failure(hippo("compress", src, "-o", link), 2, "inputs")
    hard = tmp_path / "hard.csv"
    os.link(src, hard)
    assert_clean_failure(hippo("compress", src, "-o", hard), 2, "inputs")
    assert src.read_bytes() == before
    out = tmp_path / "c.npy"
    assert hippo("compress", src, "-N", 4, "-o", out, "-q").exit_code == 0
    pair = out.read_bytes(), (tmp_path / "c.npy.json").read_bytes()
    for args in (["-o", out], ["-o", tmp_path / "c.npy.json"],
                 ["--original", src, "-o", src],
                 ["--plot", "--plot-file", tmp_path / "c.npy.json"]):
        assert_clean_failure(hippo("reconstruct", out, *args), 2, "inputs")
    assert (out.read_bytes(), (tmp_path / "c.npy.json").read_bytes()) == pair
    assert src.read_bytes() == before


def test_many_series_output_folder_is_the_input_folder(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    np.save(folder / "a.npy", np.arange(100.0))
    np.save(folder / "b.npy", np.arange(100.0) * 2)
    before = (folder / "a.npy").read_bytes()
    res = hippo("compress", folder, "-N", 4, "-o", folder)
    assert_clean_failure(res, 2, "inputs")
    assert (folder / "a.npy").read_bytes() == before


# --------------------------------------------------------------------------- not regular files
def test_fifos_and_devices_are_written_through_never_replaced(tmp_path):
    require("cat")
    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full here")
    src = write_csv(tmp_path / "s.csv")
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    reader = subprocess.Popen(["cat", str(fifo)], stdout=subprocess.PIPE)
    res = subprocess.run([*HIPPO, "compress", str(src), "-E", "1%", "-o", str(fifo), "-q"],
                         capture_output=True, timeout=120)
    data = reader.communicate(timeout=60)[0]
    assert res.returncode == 0, res.stderr
    assert stat.S_ISFIFO(os.stat(fifo).st_mode) and data[:4] == b"\x89HPO"
    res = subprocess.run([*HIPPO, "compress", str(src), "-E", "1%", "-o", "/dev/full", "-q"],
                         capture_output=True, timeout=120)
    assert res.returncode == 1 and b"No space left" in res.stderr
    assert stat.S_ISCHR(os.stat("/dev/full").st_mode)
    res = hippo("compress", src, "-N", 4, "-o", fifo)
    assert_clean_failure(res, 2, "not a regular file")
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)


def test_a_symlinked_output_stays_a_link(tmp_path):
    src = write_csv(tmp_path / "s.csv")
    real = tmp_path / "real.hippo"
    real.write_bytes(b"old")
    link = tmp_path / "link.hippo"
    link.symlink_to(real)
    assert hippo("compress", src, "-E", "1%", "-o", link, "-q").exit_code == 2  # it exists
    assert real.read_bytes() == b"old"
    assert hippo("compress", src, "-E", "1%", "-o", link, "-q", "-f").exit_code == 0
    assert link.is_symlink() and real.read_bytes()[:4] == b"\x89HPO"


# --------------------------------------------------------------------------- many series
def _long(tmp_path: Path, rows: list[tuple[str, float]]) -> Path:
    p = tmp_path / "long.csv"
    p.write_text("id,v\n" + "".join(f"{sid},{v}\n" for sid, v in rows), encoding="utf-8")
    return p


@pytest.mark.parametrize("ids", [["Москва", "Берлин"], ["a/b", "a_b"], ["007", "7"],
                                 ["A", "a"], [".hidden", "%2Ehidden"]])
def test_distinct_ids_get_distinct_files(tmp_path, ids):
    rows = [(sid, float(i * 10 + k)) for i, sid in enumerate(ids) for k in range(20)]
    src = _long(tmp_path, rows)
    out = tmp_path / "out"
    res = hippo("compress", src, "--id-column", "id", "-N", 2, "--every", 5, "-o", out)
    assert res.exit_code == 0, res.stderr
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert sorted(r["id"] for r in manifest["series"]) == sorted(ids)
    files = [r["file"] for r in manifest["series"]]
    assert len(set(f.lower() for f in files)) == len(ids)
    for rec in manifest["series"]:
        assert rec["samples"] == 20 and (out / rec["file"]).exists()


def test_an_empty_id_is_an_error_naming_the_line(tmp_path):
    src = _long(tmp_path, [("a", 1.0), ("a", 2.0), ("", 3.0), ("a", 4.0)])
    res = hippo("compress", src, "--id-column", "id", "-N", 2, "-o", tmp_path / "out")
    assert_clean_failure(res, 1, "line 4", "empty 'id'")


def test_inputs_with_the_same_name_in_two_folders_are_two_series(tmp_path):
    for day, scale in (("day1", 1.0), ("day2", 2.0)):
        (tmp_path / "in" / day).mkdir(parents=True)
        np.save(tmp_path / "in" / day / "sensor.npy", np.arange(50.0) * scale)
    out = tmp_path / "out"
    res = hippo("compress", tmp_path / "in", "-N", 2, "-o", out)
    assert res.exit_code == 0, res.stderr
    ids = sorted(r["id"] for r in json.loads((out / "manifest.json").read_text())["series"])
    assert ids == ["day1/sensor", "day2/sensor"]


def test_rerun_with_other_settings_or_data_is_refused_unless_overwrite(tmp_path):
    src = _long(tmp_path, [(sid, float(k)) for sid in ("a", "b") for k in range(30)])
    out = tmp_path / "out"
    base = ["compress", src, "--id-column", "id", "-o", out]
    assert hippo(*base, "-N", 4, "-q").exit_code == 0
    assert hippo(*base, "-N", 4, "-q").exit_code == 0  # same run: a resume, fine
    assert_clean_failure(hippo(*base, "-N", 8), 2, "other settings", "-f/--force")
    assert np.load(out / "a.npy").shape[-1] == 4
    os.utime(src, ns=(1, 1))
    assert_clean_failure(hippo(*base, "-N", 4), 2, "other input")
    res = hippo(*base, "-N", 8, "-f", "-q")
    assert res.exit_code == 0 and np.load(out / "a.npy").shape[-1] == 8
    assert json.loads((out / "manifest.json").read_text())["settings"]["params"]["N"] == 8
    # --overwrite, the flag's old name, still works, with a one-line warning
    res = hippo(*base, "-N", 6, "--overwrite", "-q")
    assert res.exit_code == 0 and np.load(out / "a.npy").shape[-1] == 6
    assert res.stderr == "hippo: warning: --overwrite is deprecated: use -f/--force (the same)\n"


def test_many_series_as_hippo_files(tmp_path):
    rng = np.random.default_rng(0)
    rows = [(sid, float(v)) for sid in ("x", "y", "z") for v in np.cumsum(rng.normal(size=500))]
    src = _long(tmp_path, rows)
    out = tmp_path / "out"
    res = hippo("compress", src, "--id-column", "id", "--max-error", "0.1", "-o", out)
    assert res.exit_code == 0, res.stderr
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["settings"] == {"mode": "hippo", "max_error": 0.1}
    for sid in ("x", "y", "z"):
        values, _ = open_hippo(str(out / f"{sid}.hippo")).read()
        want = np.array([v for s, v in rows if s == sid])
        assert np.all(np.abs(values[:, 0] - want) <= 0.1)
    assert_clean_failure(hippo("compress", src, "--id-column", "id", "--max-error", "1%",
                               "-o", out), 2, "absolute --max-error")


# --------------------------------------------------------------------------- output lost
def test_a_stream_whose_reader_is_gone_saves_only_what_was_delivered(tmp_path):
    require("bash", "seq", "true")
    state = tmp_path / "s.npz"
    res = subprocess.run(["bash", "-c", f"seq 1 200000 | {' '.join(HIPPO)} stream -N 4 "
                          f"--state {state} | true; echo rc=${{PIPESTATUS[1]}}"],
                         capture_output=True, text=True, timeout=120)
    assert res.stdout.strip() == "rc=141"
    from hippo_cli import HiPPO

    assert HiPPO.load(state).steps < 200000  # what the reader did not take is fed again


def test_full_disk_under_pythonunbuffered_is_an_error(tmp_path):
    require("bash")
    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full here")
    src = write_csv(tmp_path / "s.csv")
    out = tmp_path / "c.npy"
    assert hippo("compress", src, "-N", 4, "-o", out, "-q").exit_code == 0
    for cmd in (["reconstruct", str(out)], ["--help"]):
        res = subprocess.run(["bash", "-c", f"{' '.join(HIPPO)} {' '.join(cmd)} > /dev/full"],
                             capture_output=True, text=True, timeout=120,
                             env={**os.environ, "PYTHONUNBUFFERED": "1"})
        assert res.returncode == 1, (cmd, res.stderr)
        assert "No space left" in res.stderr and "Traceback" not in res.stderr
        assert "Exception ignored" not in res.stderr


def test_state_in_a_missing_folder_fails_before_reading(tmp_path):
    res = hippo("stream", "-N", 4, "--state", tmp_path / "nope" / "s.npz", input="1\n2\n")
    assert_clean_failure(res, 1, "no such folder")
    assert "tmp" not in res.stderr.rsplit(":", 1)[-1]


def test_closed_stdin_is_an_empty_input():
    require("bash")
    res = subprocess.run(["bash", "-c", f"{' '.join(HIPPO)} compress - -N 4 <&-"],
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 1 and "stdin is closed" in res.stderr
    assert "internal error" not in res.stderr


# --------------------------------------------------------------------------- silently wrong
def test_semicolons_and_decimal_commas(tmp_path):
    src = tmp_path / "eu.csv"
    src.write_text("temp;hum\n21,5;40,1\n22,5;41,1\n23,5;42,1\n")
    out = tmp_path / "eu.hippo"
    res = hippo("compress", src, "-E", "0.001", "-o", out)
    assert res.exit_code == 0 and "decimal commas" in res.stderr
    values, _ = open_hippo(str(out)).read()
    np.testing.assert_allclose(values, [[21.5, 40.1], [22.5, 41.1], [23.5, 42.1]], atol=0.001)


def test_extra_fields_and_bad_bytes_after_the_sniffed_head(tmp_path):
    lines = ["a,b"] + [f"{i},{i}" for i in range(400)]
    lines[300] = "1,2,3"
    src = tmp_path / "extra.csv"
    src.write_text("\n".join(lines) + "\n")
    assert_clean_failure(hippo("compress", src, "-N", 2), 1, "line 301, saw 3")
    data = ("\n".join(["v"] + [str(i) for i in range(3000)]) + "\n").encode()
    bad = tmp_path / "bad.csv"
    bad.write_bytes(data.replace(b"2500\n", b"25\xff00\n"))
    assert_clean_failure(hippo("compress", bad, "-N", 2), 1, "not UTF-8")


def test_an_endless_line_is_refused(tmp_path, monkeypatch):
    import hippo_cli.formats.csv_input as csv_input

    monkeypatch.setattr(csv_input, "MAX_LINE_BYTES", 10_000)
    src = tmp_path / "zero.csv"
    src.write_bytes(b"v\n1\n" + b"7" * 50_000)
    assert_clean_failure(hippo("compress", src, "-N", 2), 1, "line 3: longer than 10000")
    src.write_bytes(b"v\n" + b"1\n" * 300 + b"7" * 50_000)
    assert_clean_failure(hippo("compress", src, "-N", 2), 1, "line 302: longer than 10000")


def test_time_going_back_names_the_line_and_both_times(tmp_path):
    """HiPPO coefficients need increasing times: the error names the line and both times;
    a .hippo file keeps the times as recorded, with a note."""
    src = tmp_path / "t.csv"
    src.write_text("when,v\n2026-01-01T00:00:00,1\n2026-01-01T00:00:05,2\n"
                   "2026-01-01T00:00:03,3\n")
    res = hippo("compress", src, "-t", "when", "-N", 2)
    assert_clean_failure(res, 1, "t.csv, line 4", "'2026-01-01T00:00:03' goes back from "
                         "'2026-01-01T00:00:05' (line 3)", "--max-error")
    res = hippo("compress", src, "-t", "when", "-E", "0.1")
    assert res.exit_code == 0 and "not increasing (1 repeat or go back)" in res.stderr
    out = hippo("reconstruct", tmp_path / "t.hippo").stdout.splitlines()
    assert [line.split(",")[0] for line in out] == [
        "when", "2026-01-01T00:00:00", "2026-01-01T00:00:05", "2026-01-01T00:00:03"]


def test_a_torn_pair_and_forged_sidecars_are_refused(tmp_path):
    src = write_csv(tmp_path / "s.csv")
    a, b = tmp_path / "a.npy", tmp_path / "b.npy"
    assert hippo("compress", src, "-N", 4, "-o", a, "-q").exit_code == 0
    assert hippo("compress", src, "-N", 4, "--every", 7, "-o", b, "-q").exit_code == 0
    meta = json.loads((tmp_path / "b.npy.json").read_text())
    # a new array beside the old sidecar (a kill between the two renames), same shape
    x = np.load(a)
    np.save(tmp_path / "c.npy", x * 2)
    (tmp_path / "c.npy.json").write_text((tmp_path / "a.npy.json").read_text())
    assert_clean_failure(hippo("reconstruct", tmp_path / "c.npy"), 1, "does not match its "
                         "sidecar")
    side = tmp_path / "b.npy.json"
    for forged in (dict(meta, dtype="complex128"), {**meta, "samples": 2 * 10**8}):
        side.write_text(json.dumps(forged))
        assert hippo("reconstruct", b).exit_code == 1
    side.write_text(json.dumps(meta, separators=(",", ":")).replace('"init":null', '"init":NaN'))
    assert_clean_failure(hippo("reconstruct", b), 1, "NaN is not a number")
    side.write_text("[" * 100_000 + "]" * 100_000)
    assert_clean_failure(hippo("reconstruct", b), 1, "nested too deeply")


def test_no_non_finite_number_is_stored(tmp_path):
    src = tmp_path / "big.csv"
    src.write_text("v\n" + "\n".join(["1e300"] * 50) + "\n")
    res = hippo("compress", src, "-N", 4, "--dtype", "float32", "-o", tmp_path / "o.npy")
    assert_clean_failure(res, 1, "exceed the range of float32")
    assert not (tmp_path / "o.npy").exists()


def test_tolerance_must_be_finite(tmp_path):
    src = write_csv(tmp_path / "s.csv")
    assert_clean_failure(hippo("compress", src, "--tolerance", "inf"), 2, "--tolerance must be")


@pytest.mark.parametrize("text", ["1\r2\r3\r", "v\r\n1\r\n2\r\n3\r\n", "1\n2\n3"])
def test_stream_reads_every_line_ending(text):
    res = hippo("stream", "-N", 2, input=text)
    assert res.exit_code == 0 and len(res.stdout.splitlines()) == 4


def test_stream_caps_channels():
    res = hippo("stream", "-N", 2, input=",".join(["1"] * 5000) + "\n")
    assert_clean_failure(res, 1, "more channels than hippo encodes at once (4096)")


def test_ctrl_c_while_compress_waits_on_a_pipe_is_a_clean_130():
    import signal

    proc = subprocess.Popen([*HIPPO, "compress", "-", "-N", "4", "-o", os.devnull],
                            stdin=subprocess.PIPE, stderr=subprocess.PIPE)
    wait_for(lambda: waits_on_a_pipe(proc), proc, fallback=1.5)  # blocked reading stdin
    proc.send_signal(signal.SIGINT)
    try:
        assert proc.wait(timeout=30) == 130
    finally:
        proc.kill()
    assert b"Fatal" not in proc.stderr.read()


def test_too_many_columns_is_refused_before_per_column_work(tmp_path):
    src = tmp_path / "wide.csv"
    src.write_text(",".join(f"c{i}" for i in range(5000)) + "\n" + ",".join(["1"] * 5000) + "\n")
    assert_clean_failure(hippo("compress", src, "-N", 2), 1, "5000 columns", "--column")


def test_a_stream_nobody_reads_still_obeys_sigterm(tmp_path):
    import signal

    state = tmp_path / "s.npz"
    proc = subprocess.Popen([*HIPPO, "stream", "-N", "4", "--state", str(state)],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    import threading

    def feed() -> None:  # the rows fill the stdout pipe; the input then fills stdin's
        try:
            proc.stdin.write(b"".join(b"%d\n" % i for i in range(300_000)))
            proc.stdin.close()
        except (BrokenPipeError, OSError):
            pass

    writer = threading.Thread(target=feed, daemon=True)
    writer.start()
    try:
        wait_for(lambda: _is_full(proc.stdout), proc, fallback=2.0)  # nobody reads it
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 143
    finally:
        proc.kill()
        writer.join(timeout=10)
    from hippo_cli import HiPPO

    assert HiPPO.load(state).steps < 300_000  # only what the pipe took counts as delivered
