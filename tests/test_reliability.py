"""Nothing lost, nothing trusted: killed runs, checkpointed streams, signals, pipes, long
streams. Real processes where the behaviour is about processes."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from test_subprocess import HIPPO, read_line

from helpers import wait_for, waits_on_a_pipe
from hippo_cli import HiPPO


def _temporaries(folder: Path) -> list[str]:
    return [p.name for p in folder.iterdir() if "hippo-tmp" in p.name]


def _wait_for_a_temporary(proc: subprocess.Popen, folder: Path) -> None:
    """Until the running compress has its temporary output (then a little more)."""
    deadline = time.monotonic() + 60
    while not _temporaries(folder):
        assert proc.poll() is None, "compress ended before it could be interrupted"
        assert time.monotonic() < deadline
        time.sleep(0.01)
    time.sleep(0.3)


@pytest.mark.slow
def test_sigkill_during_compress_keeps_the_old_output(tmp_path):
    small = tmp_path / "small.npy"
    np.save(small, np.sin(np.arange(1000) / 50))
    out = tmp_path / "out.npy"
    assert subprocess.run([*HIPPO, "compress", str(small), "-o", str(out), "-q"]).returncode == 0
    before = out.read_bytes(), Path(str(out) + ".json").read_bytes()
    big = tmp_path / "big.npy"
    np.save(big, np.sin(np.arange(6_000_000) / 5000))
    # zoh LegS is the slowest path: the run lasts long enough to be killed in the middle
    proc = subprocess.Popen([*HIPPO, "compress", str(big), "-o", str(out), "--method", "zoh",
                             "-N", "64", "--every", "1000", "-q", "-f"])
    _wait_for_a_temporary(proc, tmp_path)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert (out.read_bytes(), Path(str(out) + ".json").read_bytes()) == before
    # the next run in that folder removes what the killed one left
    assert subprocess.run([*HIPPO, "compress", str(small), "-o", str(tmp_path / "other.npy"),
                           "-q"]).returncode == 0
    assert _temporaries(tmp_path) == []


@pytest.mark.slow
def test_sigterm_during_compress_removes_its_temporaries(tmp_path):
    big = tmp_path / "big.npy"
    np.save(big, np.sin(np.arange(6_000_000) / 5000))
    out = tmp_path / "out.npy"
    proc = subprocess.Popen([*HIPPO, "compress", str(big), "-o", str(out), "--method", "zoh",
                             "-N", "64", "--every", "1000", "-q"], stderr=subprocess.PIPE)
    _wait_for_a_temporary(proc, tmp_path)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 143, err
    assert b"Traceback" not in err
    assert _temporaries(tmp_path) == [] and not out.exists()


def _stream(state: Path, *extra: str) -> subprocess.Popen:
    return subprocess.Popen([*HIPPO, "stream", "-N", "6", "--every", "10", "--no-header",
                             "--state", str(state), *extra],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)


@pytest.mark.slow
def test_checkpointed_stream_resumes_after_sigkill(tmp_path):
    u = np.sin(np.arange(3000) / 40.0)
    lines = [f"{v!r}\n".encode() for v in u.tolist()]
    whole = subprocess.run([*HIPPO, "stream", "-N", "6", "--every", "10", "--no-header"],
                           input=b"".join(lines), capture_output=True, check=True)
    expected = whole.stdout.decode().splitlines()  # rows for steps 9, 19, ..., 2999
    state = tmp_path / "s.npz"
    proc = _stream(state, "--checkpoint-every", "500")
    try:
        proc.stdin.write(b"".join(lines[:1234]))
        proc.stdin.flush()
        seen = [read_line(proc).decode().rstrip("\n") for _ in range(123)]  # up to step 1229
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    finally:
        proc.kill()
    assert seen == expected[:123]
    resume_at = HiPPO.load(state).steps
    assert resume_at == 1000  # the last multiple of 500 reached before the kill
    info = subprocess.run([*HIPPO, "info", str(state)], capture_output=True, text=True)
    assert "1000" in info.stdout
    again = subprocess.run([*HIPPO, "stream", "-N", "6", "--every", "10", "--no-header",
                            "--state", str(state), "--checkpoint-every", "500"],
                           input=b"".join(lines[resume_at:]), capture_output=True, check=True)
    assert again.stdout.decode().splitlines() == expected[resume_at // 10:]
    assert HiPPO.load(state).steps == 3000


@pytest.mark.parametrize("sig,code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_stream_signals_save_and_exit_quietly(tmp_path, sig, code):
    state = tmp_path / "s.npz"
    proc = _stream(state)
    try:
        proc.stdin.write(b"".join(f"{i}\n".encode() for i in range(25)))
        proc.stdin.flush()
        read_line(proc)
        read_line(proc)  # rows for steps 9 and 19
        wait_for(lambda: waits_on_a_pipe(proc), proc, fallback=0.5)  # all 25 lines are in
        proc.send_signal(sig)
        assert proc.wait(timeout=30) == code
        assert proc.stderr.read() == b""
    finally:
        proc.kill()
    assert HiPPO.load(state).steps == 25


def test_closed_stdin_is_eof_and_partial_last_line_counts(tmp_path):
    res = subprocess.run([*HIPPO, "stream", "-N", "3"], stdin=subprocess.DEVNULL,
                         capture_output=True, timeout=60)
    assert res.returncode == 0 and res.stdout == b"" and res.stderr == b""
    res = subprocess.run([*HIPPO, "stream", "-N", "3", "--no-header"], input=b"1\n2\n3",
                         capture_output=True, timeout=60)
    assert res.returncode == 0 and res.stdout.decode().splitlines()[-1].startswith("2,")


def test_nan_in_the_middle_never_reaches_the_state():
    enc = HiPPO("legs", 8)
    first = enc.update(np.arange(10.0))[-1]
    for bad in (np.array([1.0, np.nan, 2.0]), np.array([1.0, np.inf])):
        with pytest.raises(ValueError):
            enc.update(bad)
        assert enc.steps == 10
        np.testing.assert_array_equal(enc.state, first)


def _smooth(L: int) -> np.ndarray:
    t = np.arange(L) / L
    return 1.0 + 0.6 * np.sin(2 * np.pi * 1.5 * t) + 0.3 * np.cos(2 * np.pi * 4 * t)


@pytest.mark.slow
def test_ten_million_steps_through_the_library():
    L = 10_000_000
    u = _smooth(L)
    probe = np.arange(0, L, 997)
    for measure, kw in [("legs", {}), ("lagt", {"dt": 1e-4}), ("legt", {"theta": 100_000})]:
        enc = HiPPO(measure, 64, **kw)
        peak = 0.0
        for start in range(0, L, 1_000_000):
            rows = enc.update(u[start : start + 1_000_000], every=100_000)
            assert np.all(np.isfinite(rows))
            peak = max(peak, float(np.max(np.linalg.norm(rows, axis=1))))
        if measure == "legs":
            assert peak <= np.max(np.abs(u)) + 1e-9  # a projection: ||c|| <= max |f|
            err = enc.reconstruct(enc.state, L - 1, probe) - u[probe]
            assert np.sqrt(np.mean(err**2)) <= 1e-4
        else:
            assert peak < 100 * np.max(np.abs(u))


_PEAK = """
import resource, subprocess, sys
rc = subprocess.run(sys.argv[1:]).returncode
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, rc)
"""


@pytest.mark.slow
def test_ten_million_steps_through_compress_memory_flat(tmp_path):
    peaks = {}
    for L in (1_000_000, 10_000_000):
        src = tmp_path / f"u{L}.npy"
        np.save(src, _smooth(L))
        out = tmp_path / f"c{L}.npy"
        res = subprocess.run([sys.executable, "-c", _PEAK, *HIPPO, "compress", str(src), "-N",
                              "64", "--every", "100000", "-q", "-o", str(out)],
                             capture_output=True, text=True, timeout=600)
        rss, rc = res.stdout.split()
        assert rc == "0", res.stderr
        peaks[L] = int(rss) / 1024
        coeffs = np.load(out)
        assert coeffs.shape == (L // 100_000, 64) and np.all(np.isfinite(coeffs))
        src.unlink()
    assert peaks[10_000_000] <= 1.2 * peaks[1_000_000], peaks
    enc = HiPPO("legs", 64)
    probe = np.arange(0, 10_000_000, 997)
    err = enc.reconstruct(coeffs[-1], 10_000_000 - 1, probe) - _smooth(10_000_000)[probe]
    assert np.sqrt(np.mean(err**2)) <= 1e-4
