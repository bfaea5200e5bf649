"""The installed ``hippo`` command as a real process: pipes, signals, start-up, README."""

from __future__ import annotations

import os
import re
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from helpers import require
from hippo_cli import HiPPO

ROOT = Path(__file__).resolve().parents[1]
HIPPO = [sys.executable, "-m", "hippo_cli"]


def read_line(proc: subprocess.Popen, timeout: float = 30.0) -> bytes:
    """One line from proc.stdout, failing (not hanging) when none arrives in time."""
    buf = b""
    deadline = time.monotonic() + timeout
    fd = proc.stdout.fileno()
    while not buf.endswith(b"\n"):
        left = deadline - time.monotonic()
        ready, _, _ = select.select([fd], [], [], max(left, 0))
        if not ready:
            pytest.fail(f"no output line within {timeout} s (got {buf!r})")
        chunk = os.read(fd, 1)
        if not chunk:
            pytest.fail(f"EOF before a full line (got {buf!r})")
        buf += chunk
    return buf


def test_stream_is_live():
    """Each line's row comes back while stdin is still open."""
    proc = subprocess.Popen([*HIPPO, "stream", "--measure", "legs", "-N", "4"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    try:
        proc.stdin.write(b"1.5\n")
        proc.stdin.flush()
        assert read_line(proc) == b"step,c0,c1,c2,c3\n"
        assert read_line(proc) == b"0,1.5,0.0,0.0,0.0\n"
        proc.stdin.write(b"2.5\n")
        proc.stdin.flush()
        row = np.array(read_line(proc).decode().split(","), float)
        np.testing.assert_array_equal(row[1:], HiPPO("legs", 4).update(np.array([1.5, 2.5]))[1])
        proc.stdin.close()
        assert proc.wait(timeout=30) == 0
    finally:
        proc.kill()


def test_stream_sigterm_saves_state(tmp_path):
    state = tmp_path / "s.npz"
    proc = subprocess.Popen([*HIPPO, "stream", "-N", "4", "--state", str(state)],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    try:
        proc.stdin.write(b"1\n2\n3\n")
        proc.stdin.flush()
        for _ in range(4):
            read_line(proc)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 143
        assert b"Traceback" not in proc.stderr.read()
    finally:
        proc.kill()
    enc = HiPPO.load(state)
    assert enc.steps == 3
    np.testing.assert_array_equal(enc.state, HiPPO("legs", 4).update(np.array([1.0, 2, 3]))[-1])


def test_pipe_into_head_is_quiet():
    """The reader went away: no message, and the exit code of a tool killed by SIGPIPE (141),
    because rows were not delivered."""
    require("bash", "seq", "head")
    res = subprocess.run(
        ["bash", "-c", f"seq 1 200000 | {sys.executable} -m hippo_cli stream -N 4 | head -1; "
                       "echo rc=${PIPESTATUS[1]}"],
        capture_output=True, timeout=120)
    assert res.stdout.decode().splitlines() == ["step,c0,c1,c2,c3", "rc=141"]
    assert res.stderr == b""


def test_reconstruct_into_head_is_quiet(tmp_path):
    require("bash", "head")
    np.save(tmp_path / "u.npy", np.sin(np.arange(50_000) / 1000))
    assert subprocess.run([*HIPPO, "compress", str(tmp_path / "u.npy"), "-N", "8", "-q",
                           "--every", "1000"]).returncode == 0
    res = subprocess.run(
        ["bash", "-c", f"{sys.executable} -m hippo_cli reconstruct {tmp_path}/u.coeffs.npy "
                       "| head -2; echo rc=${PIPESTATUS[0]}"], capture_output=True, timeout=120)
    assert res.stdout.decode().splitlines()[::2] == ["sample,col0", "rc=141"]
    assert res.stderr == b""


def test_console_script_and_module():
    for cmd in ([*HIPPO, "--version"], ["hippo", "--version"]):
        if cmd[0] == "hippo":
            require("hippo")  # the console script exists once the package is installed
        res = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
        assert res.returncode == 0 and re.fullmatch(r"hippo \S+\n", res.stdout)


def test_help_imports_no_heavy_module():
    code = ("import sys\nfrom hippo_cli.cli import app\n"
            "try:\n    app(['--help'])\nexcept SystemExit:\n    pass\n"
            "heavy = {'numba', 'pandas', 'scipy', 'matplotlib', 'zarr', 'xarray', 'fsspec',"
            " 's3fs', 'dask', 'rich'} & set(sys.modules)\n"
            "print(sorted(heavy), file=sys.stderr)")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60)
    assert "compress" in res.stdout and "--install-completion" in res.stdout
    assert res.stderr.strip() == "[]"


def test_stdin_compress_and_bad_exit_codes(tmp_path):
    res = subprocess.run([*HIPPO, "compress", "-", "-N", "4", "-o", str(tmp_path / "o.npy")],
                         input=b"1\n2\n3\n", capture_output=True, timeout=60)
    assert res.returncode == 0 and np.load(tmp_path / "o.npy").shape == (3, 4)
    res = subprocess.run([*HIPPO, "compress", "-", "-N", "0"], input=b"1\n",
                         capture_output=True, timeout=60)
    assert res.returncode == 2 and b"Traceback" not in res.stderr
    assert res.stderr.decode().strip().splitlines()[-1].endswith("--order must be >= 1, got 0")


@pytest.mark.slow
@pytest.mark.xdist_group("source_tree")  # builds in the source tree: one such test at a time
def test_readme_main_job(tmp_path):
    """The README's first command (install and run the main job) works as written. It
    installs into a virtual environment of its own (the dependencies seen from this one), so
    that the installation the other tests use, maybe at the same time, stays as it is."""
    require("bash")
    readme = (ROOT / "README.md").read_text()
    command = re.search(r"```bash\n(.+?)\n```", readme, re.S).group(1).strip()
    assert command.startswith("python -m pip install")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)],
                   check=True, timeout=120)
    env = {**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1", "VIRTUAL_ENV": str(venv),
           "PATH": f"{venv / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}"}
    env.pop("PYTHONPATH", None)
    res = subprocess.run(["bash", "-c", f"cd {ROOT} && {command} && command -v hippo"],
                         capture_output=True, text=True, timeout=600, env=env)
    assert res.returncode == 0, res.stderr[-2000:]
    assert res.stdout.strip().splitlines()[-1] == str(venv / "bin" / "hippo")
