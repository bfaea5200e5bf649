"""Nothing lost, round three (files and concurrency): a reader holds one open file, one writer
per output, a stream's file exists only with its header, a resumed stream continues in time,
outputs are checked before any input is read, devices/FIFOs/links are handled on purpose,
and binary stdin/stdout never lose bytes under PYTHONUNBUFFERED=1."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from test_cli import assert_clean_failure, hippo, write_csv

from hippo_cli.atomic import atomic_output, lock_path
from hippo_cli.codec import decode, encode, open_hippo

ROOT = Path(__file__).resolve().parents[1]
HIPPO = [sys.executable, "-m", "hippo_cli"]
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}


def run(*args, input: bytes | None = None, env=None, timeout: float = 120):
    return subprocess.run([*HIPPO, *map(str, args)], input=input, capture_output=True,
                          timeout=timeout, env=env or ENV)


def start(*args, **kw) -> subprocess.Popen:
    return subprocess.Popen([*HIPPO, *map(str, args)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=ENV, **kw)


def wait_until(reached, proc: subprocess.Popen, limit: float = 60) -> None:
    deadline = time.monotonic() + limit
    while not reached():
        assert proc.poll() is None, proc.stderr.read()
        assert time.monotonic() < deadline, "never reached"
        time.sleep(0.02)


def one_line(stderr: bytes) -> str:
    lines = stderr.decode().strip().splitlines()
    assert lines and "Traceback" not in stderr.decode(), stderr
    return lines[-1]


def timed_lines(start_at: int, n: int) -> bytes:
    return "".join(f"{t},{np.sin(t / 7):.6f}\n" for t in range(start_at, start_at + n)).encode()


# --------------------------------------------------------------------------- 1 one open file
def test_a_reader_reads_the_file_it_opened_even_if_replaced(tmp_path):
    path = tmp_path / "a.hippo"
    old, new = np.sin(np.arange(5000) / 9.0), np.cos(np.arange(7000) / 5.0)
    path.write_bytes(encode(old, 1e-3))
    with open_hippo(path) as reader:
        with atomic_output(path) as fh:  # what hippo compress does to an output
            fh.write(encode(new, 1e-3))
        got = reader.read()[0]
    assert got.shape[0] == 5000 and np.max(np.abs(got.ravel() - old)) <= 1e-3
    assert decode(path.read_bytes())[0].shape[0] == 7000


def test_reconstruct_and_info_read_one_handle(tmp_path, monkeypatch):
    """The CLI readers never open the .hippo path a second time (a replace in between
    would mix two files)."""
    import builtins

    path = tmp_path / "a.hippo"
    path.write_bytes(encode(np.arange(100.0), 0.5))
    opened: list[str] = []
    real_open, real_os_open = builtins.open, os.open

    def spy_open(file, *a, **k):
        opened.append(str(file))
        return real_open(file, *a, **k)

    def spy_os_open(file, *a, **k):
        opened.append(os.fspath(file))
        return real_os_open(file, *a, **k)

    monkeypatch.setattr(builtins, "open", spy_open)
    monkeypatch.setattr(os, "open", spy_os_open)
    src = tmp_path / "in.csv"
    src.write_text("a\n" + "".join(f"{i}\n" for i in range(100)))
    for args in (["reconstruct", path, "-o", tmp_path / "out.csv"], ["info", path],
                 ["compress", src, "-E", "0.5", "-o", tmp_path / "b.hippo"]):
        if args[0] == "compress":
            path = src  # the CSV reader opens its input once too
        opened.clear()
        res = hippo(*args)
        assert res.exit_code == 0, res.stderr
        assert opened.count(str(path)) == 1, opened


# --------------------------------------------------------------------------- 2 one writer
@pytest.mark.slow  # two processes: 1.5 to 5 s on a busy machine
def test_a_second_writer_is_refused_naming_the_first(tmp_path):
    live = tmp_path / "live.hippo"
    first = start("stream", "--max-error", 0.01, "--time-column", "t", "-o", live)
    first.stdin.write(b"t,v\n" + timed_lines(0, 50))
    first.stdin.flush()
    wait_until(lock_path(live).exists, first)  # locked before any input is read
    second = run("stream", "--max-error", 0.01, "--time-column", "t", "-o", live,
                 input=b"t,v\n" + timed_lines(50, 50))
    assert second.returncode == 1
    assert f"pid {first.pid}" in one_line(second.stderr)
    src = write_csv(tmp_path / "s.csv")
    third = run("compress", src, "-E", 0.1, "-o", live, "-f")  # asked to replace: still refused
    assert third.returncode == 1 and f"pid {first.pid}" in one_line(third.stderr)
    first.stdin.close()
    assert first.wait(60) == 0, first.stderr.read()
    with open_hippo(live) as hf:  # all of the first writer's samples, nothing else
        assert hf.samples == 50 and hf.finished
    assert not lock_path(live).exists()


def test_a_killed_writer_leaves_no_lock_and_no_file(tmp_path):
    live = tmp_path / "live.hippo"
    first = start("stream", "--max-error", 0.01, "-o", live)
    wait_until(lock_path(live).exists, first)
    first.send_signal(signal.SIGKILL)
    first.wait(30)
    assert not live.exists()  # no line came: no file (it appears with its header)
    res = run("stream", "--max-error", 0.01, "-o", live, input=b"v\n1\n2\n")
    assert res.returncode == 0, res.stderr
    with open_hippo(live) as hf:
        assert hf.samples == 2


def test_an_output_lock_held_elsewhere_refuses_compress(tmp_path):
    """The library path of the rule (no second process needed): a held lock is refused."""
    import fcntl

    src = write_csv(tmp_path / "s.csv")
    out = tmp_path / "c.npy"
    lock = lock_path(out)
    with open(lock, "w") as fh:
        fh.write("4242 hippo compress other\n")
        fh.flush()
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        res = hippo("compress", src, "-N", 4, "-o", out)
        assert_clean_failure(res, 1, "pid 4242", "another process")
    assert not out.exists()


# --------------------------------------------------------------------------- 3 torn leftovers
@pytest.mark.parametrize("leftover", [b"", b"\x89HP", "torn"])
def test_an_empty_or_torn_leftover_is_started_anew_with_a_note(tmp_path, leftover):
    from hippo_cli.codec import header_with_times
    from hippo_cli.codec.container import header_bytes

    live = tmp_path / "live.hippo"
    if leftover == "torn":
        leftover = header_bytes(header_with_times(["v"], [0.01], "t", None))[:-3]
    live.write_bytes(leftover)
    res = hippo("stream", "--max-error", 0.01, "--time-column", "t", "-o", live,
                input=b"t,v\n" + timed_lines(0, 5))
    assert res.exit_code == 0, res.stderr
    assert "no samples: started anew" in res.stderr
    with open_hippo(live) as hf:
        assert hf.samples == 5


def test_a_foreign_file_is_refused_with_a_way_forward(tmp_path):
    live = tmp_path / "live.hippo"
    live.write_bytes(b"not hippo at all\n")
    res = hippo("stream", "--max-error", 0.01, "-o", live, input=b"v\n1\n")
    assert_clean_failure(res, 1, "not a .hippo file", "move that file away")
    assert live.read_bytes() == b"not hippo at all\n"


# --------------------------------------------------------------------------- 4 continuity
def test_a_resumed_stream_refuses_stored_times_naming_the_line(tmp_path):
    live = tmp_path / "live.hippo"
    args = ["stream", "--max-error", 0.01, "--time-column", "t", "-o", live]
    assert hippo(*args, input=b"t,v\n" + timed_lines(0, 10)).exit_code == 0
    res = hippo(*args, input=b"t,v\n" + timed_lines(5, 10))  # 5..9 are stored already
    assert_clean_failure(res, 1, "line 2", "'5'", "'9'", "--skip-stored")
    with open_hippo(live) as hf:
        assert hf.samples == 10  # nothing appended, no duplicates
    res = hippo(*args, "--skip-stored", input=b"t,v\n" + timed_lines(5, 10))
    assert res.exit_code == 0, res.stderr
    assert "skipped 5 samples" in res.stderr
    with open_hippo(live) as hf:
        assert hf.samples == 15
        times = hf.read()[1]
    assert [float(t) for t in np.asarray(times)] == list(range(15))
    res = hippo(*args, input=b"t,v\n" + timed_lines(15, 3))  # later times: appended
    assert res.exit_code == 0, res.stderr
    with open_hippo(live) as hf:
        assert hf.samples == 18


def test_stream_help_documents_resume():
    res = hippo("stream", "--help")
    text = " ".join(res.stdout.split())
    assert "--skip-stored" in text and "without --time-column" in text.lower()


# --------------------------------------------------------------------------- 5 outputs first
@pytest.mark.parametrize("args", [
    ["stream", "--max-error", "0.1", "-o", "nodir/live.hippo"],
    ["stream", "-N", "4", "--state", "nodir/s.npz"],
    ["compress", "-", "-E", "0.1", "-o", "nodir/x.hippo"],
    ["compress", "-", "-N", "4", "-o", "nodir/x.npy"],
])
def test_a_missing_output_folder_fails_before_reading_stdin(tmp_path, args):
    proc = subprocess.Popen([*HIPPO, *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, cwd=tmp_path, env=ENV)
    try:  # stdin stays open and empty: a command that read it first would wait forever
        _, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
        proc.stdin.close()
    assert proc.returncode == 1 and "no such folder" in one_line(err)


def test_reconstruct_outputs_are_checked_before_decoding(tmp_path):
    path = tmp_path / "a.hippo"
    path.write_bytes(encode(np.arange(10.0), 0.5))
    res = hippo("reconstruct", path, "-o", tmp_path / "nodir" / "x.csv")
    assert_clean_failure(res, 1, "no such folder")
    res = hippo("reconstruct", path, "--plot", "--plot-file", tmp_path / "nodir" / "x.png")
    assert_clean_failure(res, 1, "no such folder")


@pytest.mark.skipif(os.geteuid() == 0 if hasattr(os, "geteuid") else True,
                    reason="root writes anywhere")
def test_an_unwritable_folder_fails_before_reading(tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    res = hippo("stream", "--max-error", 0.1, "-o", ro / "x.hippo", input=b"v\n1\n")
    assert_clean_failure(res, 1, "not writable")


# --------------------------------------------------------------------------- 6 devices, FIFOs
def test_dev_null_is_an_output(tmp_path):
    src = write_csv(tmp_path / "s.csv")
    for args in (["compress", src, "-E", "1%"], ["compress", src, "-N", 4]):
        assert hippo(*args, "-o", os.devnull, "-q").exit_code == 0
    res = hippo("stream", "--max-error", 0.1, "-o", os.devnull, input=b"v\n1\n2\n")
    assert res.exit_code == 0, res.stderr
    path = tmp_path / "a.hippo"
    path.write_bytes(encode(np.arange(10.0), 0.5))
    assert hippo("reconstruct", path, "-o", os.devnull).exit_code == 0
    assert stat.S_ISCHR(os.stat(os.devnull).st_mode)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.hippo", "s.csv"]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs")
def test_a_fifo_nobody_reads_is_refused_not_waited_on(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    began = time.monotonic()
    res = hippo("stream", "--max-error", 0.1, "-o", fifo, input=b"v\n1\n")
    assert_clean_failure(res, 1, "no process reads")
    assert time.monotonic() - began < 30 and stat.S_ISFIFO(os.stat(fifo).st_mode)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs")
def test_a_fifo_input(tmp_path):
    """A FIFO is read as a stream where the input is text (CSV); where it is read by
    position (.hippo, .npy) it is refused at once, never waited on."""
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    src = write_csv(tmp_path / "s.csv")
    writer = subprocess.Popen(["sh", "-c", f"cat '{src}' > '{fifo}'"])
    out = tmp_path / "x.hippo"
    res = hippo("compress", fifo, "-E", 0.1, "--time-column", "time", "-o", out, "-q")
    writer.wait(30)
    assert res.exit_code == 0, res.stderr
    with open_hippo(out) as hf:
        assert hf.samples == 600
    res = hippo("reconstruct", fifo)
    assert_clean_failure(res, 1, "named pipe")
    res = hippo("info", fifo)
    assert_clean_failure(res, 1, "named pipe")


# --------------------------------------------------------------------------- 7 links
def test_symlinked_outputs_stay_links(tmp_path):
    src = write_csv(tmp_path / "s.csv")
    data = tmp_path / "data"
    data.mkdir()
    for name, args in (("c.npy", ["compress", src, "-N", 4]),
                       ("c.hippo", ["compress", src, "-E", "1%"])):
        real = data / name
        real.write_bytes(b"old")
        link = tmp_path / ("link-" + name)
        link.symlink_to(real)
        res = hippo(*args, "-o", link, "-q", "-f")  # -f: the link's file exists
        assert res.exit_code == 0, res.stderr
        assert link.is_symlink() and real.read_bytes()[:2] != b"ol"
    assert (data / "c.npy.json").exists()  # the pair stays together, beside the real file
    assert hippo("reconstruct", tmp_path / "link-c.npy", "-o", tmp_path / "r.csv").exit_code == 0
    real_csv = data / "out.csv"
    real_csv.write_text("old\n")
    link = tmp_path / "out.csv"
    link.symlink_to(real_csv)
    res = hippo("reconstruct", data / "c.hippo", "-o", link, "-f")
    assert res.exit_code == 0, res.stderr
    assert link.is_symlink() and real_csv.read_text().startswith("sample,temp,vib")
    live_real = data / "live.hippo"
    live = tmp_path / "live.hippo"
    live.symlink_to(live_real)  # a dangling link: the stream creates its target
    for _run in (0, 1):  # created, then resumed
        res = hippo("stream", "--max-error", 0.1, "-o", live, input=b"v\n1\n2\n")
        assert res.exit_code == 0, res.stderr
    assert live.is_symlink()
    with open_hippo(live_real) as hf:
        assert hf.samples == 4


def test_a_link_to_an_input_is_refused(tmp_path):
    path = tmp_path / "a.hippo"
    path.write_bytes(encode(np.arange(10.0), 0.5))
    before = path.read_bytes()
    link = tmp_path / "out.csv"
    link.symlink_to(path)
    assert_clean_failure(hippo("reconstruct", path, "-o", link), 2, "inputs")
    src = write_csv(tmp_path / "s.csv")
    npy = tmp_path / "s.npy"
    npy.symlink_to(src)
    assert_clean_failure(hippo("compress", src, "-N", 4, "-o", npy), 2, "inputs")
    assert path.read_bytes() == before and link.is_symlink() and npy.is_symlink()


# --------------------------------------------------------------------------- 8 unbuffered pipes
@pytest.mark.slow
def test_pythonunbuffered_pipes_lose_no_bytes(tmp_path):
    env = {**ENV, "PYTHONUNBUFFERED": "1"}
    n = 200_000
    csv = tmp_path / "big.csv"
    csv.write_bytes(b"t,v\n" + timed_lines(0, n))
    cat = subprocess.Popen(["cat", str(csv)], stdout=subprocess.PIPE)
    big = tmp_path / "big.hippo"
    res = subprocess.run([*HIPPO, "compress", "-", "-E", "1e-4", "--time-column", "t",
                          "-o", str(big), "-q"], stdin=cat.stdout, capture_output=True, env=env,
                         timeout=300)
    cat.wait(30)
    assert res.returncode == 0, res.stderr
    with open_hippo(big) as hf:
        assert hf.samples == n
    want = run("reconstruct", big, "-o", tmp_path / "r.csv").returncode == 0
    assert want
    expected = (tmp_path / "r.csv").read_bytes()
    assert len(expected) > 1 << 20  # far more than a pipe holds
    # the reader starts late: the pipe fills and the writes to it come back short
    proc = subprocess.Popen([*HIPPO, "reconstruct", str(big), "-o", "-"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env)
    time.sleep(1.0)
    got, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    assert got == expected
    proc = subprocess.Popen([*HIPPO, "compress", str(csv), "-E", "1e-4", "--time-column", "t",
                             "-o", "-", "-q"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env=env)
    time.sleep(1.0)
    got, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    assert decode(got)[0].shape[0] == n


def test_a_nonblocking_stdout_pipe_gets_every_byte(tmp_path):
    """A parent that hands over a non-blocking pipe: writes to it come back short or would
    block once it is full; hippo waits and writes the rest (PYTHONUNBUFFERED=1: raw writes)."""
    path = tmp_path / "a.hippo"
    path.write_bytes(encode(np.sin(np.arange(60_000) / 50.0), 1e-6))
    assert run("reconstruct", path, "-o", tmp_path / "r.csv").returncode == 0
    expected = (tmp_path / "r.csv").read_bytes()
    assert len(expected) > 1 << 20
    rd, wr = os.pipe()
    os.set_blocking(wr, False)
    proc = subprocess.Popen([*HIPPO, "reconstruct", str(path), "-o", "-"], stdout=wr,
                            stderr=subprocess.PIPE, env={**ENV, "PYTHONUNBUFFERED": "1"})
    os.close(wr)
    time.sleep(0.5)  # the pipe fills while nobody reads
    got = bytearray()
    with os.fdopen(rd, "rb") as fh:
        while chunk := fh.read(1 << 16):
            got += chunk
    assert proc.wait(120) == 0, proc.stderr.read()
    assert bytes(got) == expected


def test_a_writer_on_a_path_locks_creates_with_header_and_appends(tmp_path):
    from hippo_cli.codec import HippoWriter, header_with_times
    from hippo_cli.errors import DataError

    path = tmp_path / "w.hippo"
    header = header_with_times(["v"], [1e-3])
    with HippoWriter(path, header) as w:
        assert path.read_bytes()[:4] == b"\x89HPO"  # there with its header at once
        errors: list[Exception] = []

        def second() -> None:  # another thread (or process): refused, naming the holder
            try:
                HippoWriter(path, header, append=True)
            except DataError as err:
                errors.append(err)

        thread = threading.Thread(target=second)
        thread.start()
        thread.join()
        assert len(errors) == 1 and f"pid {os.getpid()}" in str(errors[0])
        w.append(np.arange(100.0))
    with pytest.raises(DataError, match="exists"):
        HippoWriter(path, header)
    with HippoWriter(path, header, append=True) as w:
        w.append(np.arange(100.0, 150.0))
    with open_hippo(path) as hf:
        assert hf.finished and hf.samples == 150
        assert np.max(np.abs(hf.read()[0].ravel() - np.arange(150.0))) <= 1e-3
    assert not lock_path(path).exists()


def test_a_thread_waiting_its_turn_is_not_refused_while_the_other_lets_go(tmp_path,
                                                                          monkeypatch):
    """The moment a writer lets go of its lock (its lock file being removed, the lock still
    held), a writer of another thread that tries then waits: it was refused, as if another
    process held the lock (the writer left the registry of this process's holders first)."""
    from hippo_cli import atomic

    target = tmp_path / "same.npy"
    errors: list[BaseException] = []
    inside, letting_go, tried = threading.Event(), threading.Event(), threading.Event()
    real_unlink, real_holder = os.unlink, atomic._holder

    def unlink(path, *args, **kwargs):
        if str(path).endswith(atomic.LOCK_MARK) and threading.current_thread() is first:
            letting_go.set()
            tried.wait(5)  # the second writer tries the lock now
        return real_unlink(path, *args, **kwargs)

    def holder(fd):
        if letting_go.is_set() and threading.current_thread() is not first:
            tried.set()
        return real_holder(fd)

    monkeypatch.setattr(os, "unlink", unlink)
    monkeypatch.setattr(atomic, "_holder", holder)

    def write(tag: bytes) -> None:
        try:
            with atomic.atomic_output(target) as fh:
                inside.set()
                time.sleep(0.2)
                fh.write(tag * 1000)
        except BaseException as err:
            errors.append(err)

    first = threading.Thread(target=write, args=(b"a",))
    first.start()
    inside.wait(5)
    second = threading.Thread(target=write, args=(b"b",))
    second.start()
    first.join()
    second.join()
    assert tried.is_set()
    assert errors == []
    assert target.read_bytes() == b"b" * 1000


def test_threads_of_one_process_take_turns_on_one_output(tmp_path):
    """Two threads of one process writing the same file (a scheduler running a task twice)
    wait for each other instead of failing; another process is still refused at once."""
    import threading

    from hippo_cli.atomic import atomic_output

    target = tmp_path / "same.npy"
    errors: list[BaseException] = []
    inside = threading.Event()

    def write(tag: bytes, hold: float) -> None:
        try:
            with atomic_output(target) as fh:
                inside.set()
                time.sleep(hold)
                fh.write(tag * 1000)
        except BaseException as err:
            errors.append(err)

    first = threading.Thread(target=write, args=(b"a", 0.3))
    first.start()
    inside.wait(5)
    second = threading.Thread(target=write, args=(b"b", 0.0))
    second.start()
    first.join()
    second.join()
    assert errors == []
    assert target.read_bytes() == b"b" * 1000  # the later writer's file, whole
