"""The habits of compressors on the command line (issue #23): ``-`` for stdin in
``reconstruct``, ``info`` and ``test``; several inputs in one ``compress``; an existing output
replaced only with ``-f``; ``hippo test`` finds any damage; ``-q``/``-v`` on every command;
shell completion; ``decompress``; a top-level help that shows both modes.

Where stdin, a terminal or an exit code matters, through real processes."""

from __future__ import annotations

import io
import os
import re
import subprocess
from pathlib import Path

import numpy as np
import pytest
from test_cli import hippo, write_csv
from test_subprocess import HIPPO

from hippo_cli import DataError
from hippo_cli.cli.verify import check_hippo
from hippo_cli.codec import HippoReader, decode, encode

#: A small file of three frames with times: every byte of it is damaged in turn below.
SMALL = encode(np.cumsum(np.random.default_rng(3).standard_normal((300, 2)), axis=0), 0.05,
               times=1.7e9 + np.arange(300), frame_samples=100)


def run(*args, stdin=None, input: bytes | None = None, cwd: Path | None = None):
    """``hippo ARGS`` in a new process: (exit code, stdout bytes, stderr text)."""
    res = subprocess.run([*HIPPO, *map(str, args)], stdin=stdin, input=input,
                         capture_output=True, timeout=120, cwd=cwd)
    return res.returncode, res.stdout, res.stderr.decode()


def _regions(data: bytes) -> tuple[int, list[tuple[int, int]], int]:
    """(header size, (offset, size) of each frame, where the footer starts) of a clean file,
    from its footer."""
    with HippoReader(io.BytesIO(data), "f") as hf:
        frames = [(f.offset, f.size) for f in hf.index]
        return hf.header_size, frames, hf.frames_end


# ---------------------------------------------------------------------------- hippo test
def test_small_file_is_three_frames_and_passes():
    header, frames, footer = _regions(SMALL)
    assert len(frames) == 3 and footer < len(SMALL)
    what = check_hippo(io.BytesIO(SMALL), "f.hippo")
    assert what == "300 samples x 2 channels in 3 frames, footer checked"


@pytest.mark.parametrize("mask", [0x01, 0x80, 0xFF])
def test_any_changed_byte_is_found_and_named_where_it_is(mask):
    """Every byte of the file changed in turn (three bit patterns): ``hippo test``'s check
    fails, naming the file as a whole (header bytes), the frame the byte is in (its index
    and offset, as in the clean file's footer), or the footer."""
    header, frames, footer = _regions(SMALL)
    for pos in range(len(SMALL)):
        bad = bytearray(SMALL)
        bad[pos] ^= mask
        with pytest.raises(DataError) as caught:
            check_hippo(io.BytesIO(bytes(bad)), "f.hippo")
        text = str(caught.value)
        assert text.startswith("f.hippo: "), text
        if pos < header:
            # the magic, the version or the header's checksum: an error about the file as
            # a whole, before any frame
            assert "frame" not in text, (pos, text)
            continue
        inside = [i for i, (at, size) in enumerate(frames) if at <= pos < at + size]
        if inside:
            i = inside[0]
            assert f"frame {i} at byte {frames[i][0]}" in text, (pos, text)
        else:  # the footer, its checksum or the trailer
            at = int(re.search(r"at byte (\d+)|\(byte (\d+)\)", text).group(1) or 0)
            assert "footer" in text or at >= footer, (pos, text)


def test_every_cut_is_found():
    for cut in range(len(SMALL)):
        with pytest.raises(DataError):
            check_hippo(io.BytesIO(SMALL[:cut]), "f.hippo")


def test_a_changed_byte_through_the_command(tmp_path):
    header, frames, footer = _regions(SMALL)
    good = tmp_path / "good.hippo"
    good.write_bytes(SMALL)
    bad = bytearray(SMALL)
    at, size = frames[2]
    bad[at + size // 2] ^= 0x10
    (tmp_path / "bad.hippo").write_bytes(bytes(bad))
    assert run("test", good) == (0, b"", "")  # quiet on success, as zstd -t
    code, out, err = run("test", "bad.hippo", cwd=tmp_path)
    assert (code, out) == (1, b"")
    assert err == f"hippo: error: bad.hippo: frame 2 at byte {at}: checksum mismatch\n"
    # several files: each checked, the good one said with -v, one summary line
    code, out, err = run("test", "-v", "good.hippo", "bad.hippo", cwd=tmp_path)
    lines = err.splitlines()
    assert code == 1 and lines[0].startswith("hippo: good.hippo: OK (300 samples x 2 "
                                              "channels in 3 frames, footer checked; ")
    assert lines[1].startswith("hippo: error: bad.hippo: frame 2 at byte")
    assert lines[2] == "hippo: error: 1 of 2 files failed the test"


def test_truncated_empty_foreign_and_missing_files(tmp_path):
    (tmp_path / "cut.hippo").write_bytes(SMALL[:-3])
    (tmp_path / "empty.hippo").write_bytes(b"")
    write_csv(tmp_path / "s.csv", L=20)
    code, _, err = run("test", "cut.hippo", "empty.hippo", "s.csv", "gone.hippo", cwd=tmp_path)
    lines = err.splitlines()
    assert code == 1 and len(lines) == 5, err
    assert lines[0].startswith("hippo: error: cut.hippo: ") and "footer" in lines[0]
    assert lines[1] == ("hippo: error: empty.hippo: is empty, not a .hippo, coefficient or "
                        "state file")
    assert lines[2].startswith("hippo: error: s.csv: this is a CSV (text) file")
    assert lines[3].startswith("hippo: error: gone.hippo: no such file")
    assert lines[4] == "hippo: error: 4 of 4 files failed the test"


def test_coefficient_and_state_files(tmp_path):
    src = write_csv(tmp_path / "s.csv", L=200)
    assert hippo("compress", src, "-N", 4, "-q").exit_code == 0
    coeffs = tmp_path / "s.coeffs.npy"
    code, _, err = run("test", "-v", coeffs)
    assert code == 0 and "s.coeffs.npy: OK (coefficients 200x2x4, SHA-256" in err
    data = bytearray(coeffs.read_bytes())
    data[-1] ^= 1  # a changed coefficient: the sidecar's SHA-256 no longer matches
    coeffs.write_bytes(bytes(data))
    code, _, err = run("test", coeffs)
    assert code == 1 and err.startswith("hippo: error: ") and "does not match its sidecar" in err
    state = tmp_path / "st.npz"
    code, _, _ = run("stream", "-N", 4, "--state", state, input=b"1\n2\n3\n")
    assert code == 0
    code, _, err = run("test", "-v", state)
    assert code == 0 and "OK (state of legs N = 4 after 3 steps" in err
    state.write_bytes(state.read_bytes()[:-10])
    code, _, err = run("test", state)
    assert code == 1 and err.startswith("hippo: error: ") and "\n" == err[-1]
    assert "Traceback" not in err


# ---------------------------------------------------------------------------- - is stdin
def test_stdin_for_test_info_and_reconstruct(tmp_path):
    f = tmp_path / "f.hippo"
    f.write_bytes(SMALL)
    values, times = decode(SMALL)
    # a pipe (read whole) and a redirected file (read in place) give the same as the path
    by_path = run("reconstruct", f)
    assert by_path[0] == 0
    assert run("reconstruct", "-", input=SMALL) == by_path
    with open(f, "rb") as fh:
        assert run("reconstruct", "-", stdin=fh) == by_path
    rows = by_path[1].decode().splitlines()
    assert len(rows) == 1 + len(values)
    assert run("test", "-", input=SMALL) == (0, b"", "")
    code, out, err = run("info", "-", "--json", input=SMALL)
    assert code == 0 and b'"samples": 300' in out and b'"frames": 3' in out
    # damage and foreign data on stdin: one line, named stdin
    bad = bytearray(SMALL)
    bad[-20] ^= 4
    code, out, err = run("test", "-", input=bytes(bad))
    assert code == 1 and err.startswith("hippo: error: stdin: ") and err.count("\n") == 1
    code, _, err = run("info", "-", input=b"a,b\n1,2\n")
    assert code == 1 and "hippo compress - --max-error 1%" in err
    code, _, err = run("reconstruct", "-", input=b"")
    assert (code, err) == (1, "hippo: error: stdin: empty (pipe a file in)\n")


def test_stdin_refuses_what_needs_a_path_and_a_terminal(tmp_path):
    src = write_csv(tmp_path / "s.csv", L=50)
    assert hippo("compress", src, "-N", 4, "-q").exit_code == 0
    npy = (tmp_path / "s.coeffs.npy").read_bytes()
    code, _, err = run("reconstruct", "-", input=npy)
    assert code == 2 and "sidecar" in err and "give its path" in err
    code, _, err = run("reconstruct", "-", "--plot", input=SMALL)
    assert code == 2 and "--plot-file" in err
    import pty

    leader, follower = pty.openpty()
    try:
        code, _, err = run("info", "-", stdin=follower)
    finally:
        os.close(leader)
        os.close(follower)
    assert code == 2 and "stdin is a terminal" in err


# ---------------------------------------------------------------------------- -f/--force
@pytest.mark.parametrize("mode", [["-E", "1%"], ["-N", "4"]])
def test_an_existing_output_is_replaced_only_with_force(tmp_path, mode):
    src = write_csv(tmp_path / "s.csv", L=100)
    out = tmp_path / ("s.hippo" if mode[0] == "-E" else "s.coeffs.npy")
    out.write_bytes(b"mine")
    code, _, err = run("compress", "s.csv", *mode, cwd=tmp_path)
    assert (code, err) == (2, f"hippo: error: {out.name} exists (use -f to replace it)\n")
    assert out.read_bytes() == b"mine"
    code, _, err = run("compress", src, *mode, "-f", "-q")
    assert (code, err) == (0, "")
    assert out.read_bytes()[:4] in (b"\x89HPO", b"\x93NUM")
    if mode[0] == "-N":  # a sidecar left alone counts as an output too
        out.unlink()
        code, _, err = run("compress", "s.csv", *mode, cwd=tmp_path)
        assert code == 2 and "s.coeffs.npy.json exists" in err


def test_stdout_and_devices_are_never_existing_outputs(tmp_path):
    src = write_csv(tmp_path / "s.csv", L=100)
    code, out, _ = run("compress", src, "-E", "1%", "-o", "-", "-q")
    assert code == 0 and out[:4] == b"\x89HPO"
    assert run("compress", src, "-E", "1%", "-o", os.devnull, "-q")[0] == 0
    f = tmp_path / "f.hippo"
    f.write_bytes(SMALL)
    assert run("reconstruct", f, "-o", os.devnull)[0] == 0
    assert run("reconstruct", f, "-o", "-")[0] == 0


def test_reconstruct_outputs_need_force(tmp_path):
    f = tmp_path / "f.hippo"
    f.write_bytes(SMALL)
    out = tmp_path / "out.csv"
    out.write_text("mine\n")
    code, _, err = run("reconstruct", f, "-o", out)
    assert code == 2 and err == f"hippo: error: {out} exists (use -f to replace it)\n"
    assert out.read_text() == "mine\n"
    assert run("reconstruct", f, "-o", out, "-f")[0] == 0
    assert out.read_text().splitlines()[0] == "time,col0,col1"
    orig = tmp_path / "orig.csv"
    orig.write_text("x\n1\n")
    metrics = tmp_path / "m.json"
    metrics.write_text("{}")
    code, _, err = run("reconstruct", f, "-o", os.devnull, "--original", orig,
                       "--metrics-json", metrics)
    assert code == 2 and "m.json exists" in err


def test_the_output_that_is_an_input_is_said_first(tmp_path):
    src = write_csv(tmp_path / "s.csv", L=50)
    code, _, err = run("compress", src, "-E", "1%", "-o", src, "-f")
    assert code == 2 and "is one of this command's inputs" in err


# ---------------------------------------------------------------------------- several inputs
def test_several_inputs_each_to_its_own_output(tmp_path):
    for name, seed_rows in (("a.csv", 120), ("b.csv", 80)):
        write_csv(tmp_path / name, L=seed_rows)
    code, _, err = run("compress", "a.csv", "b.csv", "-E", "0.01", "-q", cwd=tmp_path)
    assert (code, err) == (0, "")
    # each as the single-input command writes it
    for stem in ("a", "b"):
        single = tmp_path / f"{stem}1.hippo"
        assert run("compress", f"{stem}.csv", "-E", "0.01", "-q", "-o", single,
                   cwd=tmp_path)[0] == 0
        assert (tmp_path / f"{stem}.hippo").read_bytes() == single.read_bytes()
    # coefficients too: a.coeffs.npy and b.coeffs.npy with their sidecars
    code, _, _ = run("compress", "a.csv", "b.csv", "-N", "4", "-q", cwd=tmp_path)
    assert code == 0
    assert np.load(tmp_path / "a.coeffs.npy").shape == (120, 2, 4)
    assert np.load(tmp_path / "b.coeffs.npy").shape == (80, 2, 4)
    assert (tmp_path / "b.coeffs.npy.json").exists()


def test_one_failing_input_the_others_still_done(tmp_path):
    write_csv(tmp_path / "a.csv", L=50)
    (tmp_path / "bad.csv").write_text("x\n1\n\n3\n")  # an empty cell under --nan error
    write_csv(tmp_path / "c.csv", L=60)
    code, _, err = run("compress", "a.csv", "bad.csv", "c.csv", "-E", "1%", "-q",
                       cwd=tmp_path)
    lines = err.splitlines()
    assert code == 1 and len(lines) == 2, err
    assert lines[0].startswith("hippo: error: bad.csv, line 3: ")
    assert lines[1] == "hippo: error: 1 of 3 inputs failed (no output for them): bad.csv"
    assert (tmp_path / "a.hippo").exists() and (tmp_path / "c.hippo").exists()
    assert not (tmp_path / "bad.hippo").exists()
    assert not [p for p in tmp_path.iterdir() if "hippo-tmp" in p.name]


def test_several_inputs_are_checked_before_any_work(tmp_path):
    for name in ("a.csv", "b.csv"):
        write_csv(tmp_path / name, L=30)
    (tmp_path / "b.hippo").write_bytes(b"mine")
    code, _, err = run("compress", "a.csv", "b.csv", "-E", "1%", cwd=tmp_path)
    assert (code, err) == (2, "hippo: error: b.hippo exists (use -f to replace it)\n")
    assert not (tmp_path / "a.hippo").exists()  # nothing done: not even the first
    code, _, err = run("compress", "a.csv", "b.csv", "-E", "1%", "-o", "x.hippo",
                       cwd=tmp_path)
    assert code == 2 and "-o names one output" in err
    np.save(tmp_path / "a.npy", np.arange(10.0))
    code, _, err = run("compress", "a.csv", "a.npy", "-E", "1%", "-f", cwd=tmp_path)
    assert code == 2 and "would both be written to a.hippo" in err
    code, _, err = run("compress", "a.csv", str(tmp_path), "-E", "1%", cwd=tmp_path)
    assert code == 2 and "one by one" in err
    assert not (tmp_path / "a.hippo").exists()


# ---------------------------------------------------------------------------- -q, -v
def test_quiet_and_verbose_on_every_command(tmp_path):
    src = write_csv(tmp_path / "s.csv", L=100)
    code, _, err = run("compress", src, "-E", "1%", "-q")
    assert (code, err) == (0, "")
    code, _, err = run("compress", src, "-E", "1%", "-v", "-f")
    assert code == 0 and "s.csv: compressed in " in err and "ratio" in err
    assert re.search(r"^hippo: done in \d+\.\d\d s$", err, re.M)
    f = tmp_path / "s.hippo"
    for args in (["reconstruct", f, "-o", os.devnull], ["info", f], ["test", f]):
        code, _, err = run(*args, "-q")
        assert (code, err) == (0, ""), args
        code, _, err = run(*args, "-v")
        assert code == 0 and "hippo: done in " in err, args
    code, out, err = run("stream", "-N", "2", "-q", input=b"1\n2\n")
    assert (code, err) == (0, "") and out.startswith(b"step,")
    code, out, err = run("stream", "-N", "2", "-v", input=b"1\n2\n")
    assert code == 0 and "hippo: done in " in err
    # -q keeps errors
    code, _, err = run("info", tmp_path / "gone.hippo", "-q")
    assert code == 1 and err.startswith("hippo: error: ")


# ---------------------------------------------------------------------------- help, aliases
def test_top_level_help_shows_both_modes_and_the_commands():
    code, out, _ = run("--help")
    text = out.decode()
    assert code == 0
    assert "hippo compress s.csv --max-error 1%" in text
    assert "hippo compress s.csv --measure legs -N 64" in text
    commands = text.split("Commands:")[1]
    for name in ("compress", "reconstruct", "stream", "info", "test"):
        assert re.search(rf"^  {name} ", commands, re.M), name
    assert "decompress" not in commands  # a hidden alias


def test_decompress_is_reconstruct(tmp_path):
    f = tmp_path / "f.hippo"
    f.write_bytes(SMALL)
    assert run("decompress", f) == run("reconstruct", f)
    code, _, err = run("uncompres", f)
    assert code == 2 and "No such command" in err


def test_completion_is_on():
    # Typer detects the shell from the parent processes (none under a detached test run):
    # its own switch turns detection off, and the shell is then given by name
    res = subprocess.run([*HIPPO, "--show-completion", "bash"], capture_output=True,
                         timeout=60, env={**os.environ,
                                          "_TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION": "1"})
    assert res.returncode == 0 and b"_hippo_completion" in res.stdout, res.stderr
    env = {**os.environ, "_HIPPO_COMPLETE": "complete_bash", "COMP_WORDS": "hippo te",
           "COMP_CWORD": "1"}
    res = subprocess.run(HIPPO, env=env, capture_output=True, text=True, timeout=60)
    assert res.stdout.split() == ["test"]
    # that --help, with completion on, stays light: test_subprocess.py
    # (test_help_imports_no_heavy_module)


def test_stream_state_in_an_object_store_is_refused_and_file_urls_work(tmp_path):
    """--state is rewritten at every checkpoint: an object URL is one clear line (it read
    as the folder "s3:/bucket"), a file:// URL is its local path."""
    code, out, err = run("stream", "-N", "4", "--state", "s3://bucket/x.state",
                         input=b"1\n2\n")
    assert code == 2 and out == b""
    assert err.strip() == ("hippo: error: --state s3://bucket/x.state: must "
                                           "be a local file (it is rewritten at every "
                                           "checkpoint); keep it on a local disk")
    state = tmp_path / "s.state"
    url = run("stream", "-N", "2", "--state", state.as_uri(), "--no-header", input=b"1\n2\n")
    plain = run("stream", "-N", "2", "--state", str(tmp_path / "p.state"), "--no-header",
                input=b"1\n2\n")
    assert url[0] == plain[0] == 0 and url[1] == plain[1] != b""
    assert state.read_bytes() == (tmp_path / "p.state").read_bytes()
