"""The fixed cost of a hippo process.

The CLI's quick exit (``hippo_cli.cli.leave``): the interpreter's teardown is skipped, and
nothing that teardown would have done that matters is lost - buffered output, ``atexit``
callbacks, a thread still working - and the exit code is the command's. Each case is a real
process (the quick exit ends the process it runs in); an object whose ``__del__`` writes
``TEARDOWN`` tells whether the interpreter was torn down.

A job loads the numba kernels it calls and no others."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

PRELUDE = """
import atexit, sys, threading, time
sys.path.insert(0, {root!r})
from hippo_cli.cli import leave, run

class Marker:
    def __del__(self):
        sys.stderr.write("TEARDOWN\\n")

marker = Marker()  # a module global: deleted only by the interpreter's teardown
atexit.register(lambda: sys.stderr.write("ATEXIT\\n"))
sys.stdout.write("unflushed output\\n")  # a pipe: block-buffered, not flushed yet
"""


def _run(body: str, tmp_path: Path) -> subprocess.CompletedProcess:
    code = PRELUDE.format(root=str(ROOT)) + body
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=tmp_path, timeout=60)


def test_the_quick_exit_skips_the_teardown_and_keeps_the_rest(tmp_path):
    done = _run("leave(3)", tmp_path)
    assert done.returncode == 3
    assert done.stdout == "unflushed output\n"
    assert done.stderr == "ATEXIT\n"  # the callbacks ran; the teardown did not


def test_a_plain_exit_tears_down(tmp_path):
    """The marker works: without the quick exit the teardown runs (and says so)."""
    done = _run("raise SystemExit(3)", tmp_path)
    assert done.returncode == 3
    assert done.stdout == "unflushed output\n"
    assert done.stderr.splitlines() == ["ATEXIT", "TEARDOWN"]


def test_a_thread_still_working_is_waited_for(tmp_path):
    """A non-daemon thread alive at the end: the ordinary exit, which waits for it (its file
    is written); the quick exit would have cut it off."""
    body = ("def work():\n"
            "    time.sleep(0.5)\n"
            "    open('late.txt', 'w').write('done')\n"
            "threading.Thread(target=work).start()\n"
            "leave(0)\n")
    done = _run(body, tmp_path)
    assert done.returncode == 0
    assert (tmp_path / "late.txt").read_text() == "done"
    assert "TEARDOWN" in done.stderr


def test_a_daemon_thread_does_not_hold_the_exit(tmp_path):
    body = ("threading.Thread(target=time.sleep, args=(30,), daemon=True).start()\n"
            "leave(0)\n")
    done = _run(body, tmp_path)
    assert done.returncode == 0 and done.stderr == "ATEXIT\n"


def test_under_a_profiler_the_exit_is_ordinary(tmp_path):
    """cProfile prints its table after the program ends, coverage saves its data: both
    need the ordinary exit."""
    done = _run("import cProfile\ncProfile.Profile().enable()\nleave(0)\n", tmp_path)
    assert done.returncode == 0
    assert done.stderr.splitlines() == ["ATEXIT", "TEARDOWN"]


def test_an_exit_code_that_is_not_a_small_integer_is_ordinary(tmp_path):
    done = _run("leave('bye')", tmp_path)
    assert done.returncode == 1
    assert done.stderr.splitlines()[0] == "bye"  # SystemExit's own message
    assert "TEARDOWN" in done.stderr


def test_output_that_cannot_be_flushed_keeps_the_ordinary_path(tmp_path):
    """stdout that fails to flush (a full disk, a reader gone): the ordinary exit, which
    reports it as before, not a quick exit that would hide it."""
    body = ("import io\n"
            "class Full(io.StringIO):\n"
            "    def flush(self):\n"
            "        raise OSError(28, 'No space left on device')\n"
            "sys.stdout = Full()\n"
            "leave(0)\n")
    done = _run(body, tmp_path)
    assert done.returncode == 120  # Python's code for output it could not flush at exit
    assert "No space left on device" in done.stderr and "TEARDOWN" in done.stderr


def test_the_command_exits_quickly_with_its_code_and_messages(tmp_path):
    """``run()`` - the ``hippo`` script and ``python -m hippo_cli`` - takes the quick exit
    after a real command, with the command's exit code and every line it printed."""
    csv = tmp_path / "x.csv"
    csv.write_text("v\n" + "".join(f"{i % 7}.5\n" for i in range(1000)))
    ok = _run(f"sys.argv = ['hippo', 'compress', {str(csv)!r}, '--max-error', '0.1']\nrun()",
              tmp_path)
    assert ok.returncode == 0, ok.stderr
    lines = ok.stderr.splitlines()
    assert lines[0].startswith("hippo: 1000 samples x 1 channel -> ")
    assert lines[-1] == "ATEXIT" and "TEARDOWN" not in lines
    assert (tmp_path / "x.hippo").exists()
    bad = _run(f"sys.argv = ['hippo', 'compress', {str(tmp_path / 'no.csv')!r}, "
               "'--max-error', '0.1']\nrun()", tmp_path)
    assert bad.returncode == 1
    assert bad.stderr.splitlines()[0] == f"hippo: error: {tmp_path / 'no.csv'}: no such file"
    assert "TEARDOWN" not in bad.stderr


# ---------------------------------------------------------------- the kernels a job loads
LOADED = """
import sys
sys.argv = ["hippo", *sys.argv[1:]]
from hippo_cli.cli import main
try:
    main()
except SystemExit as done:
    assert not done.code, done.code
from hippo_cli.codec import _kernels as K
called = sorted(name for name, v in vars(K).items()
                if isinstance(v, K._Entry) and v.dispatcher.signatures)
print(" ".join(called))
"""


def _kernels_used(tmp_path: Path, *args: str) -> list[str]:
    done = subprocess.run([sys.executable, "-c", LOADED, *args], capture_output=True,
                          text=True, cwd=tmp_path, timeout=300,
                          env={**__import__("os").environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout.split()


def test_a_job_loads_the_codec_kernels_it_calls_and_no_others(tmp_path):
    """Samples without times: the channel encoder and the decoder of the writer's check,
    no time kernel; with times: the time encoder too (modes 0 and 2: a new timed file is
    format version 3), never the time decoder (a writer does not decode its times); a
    reconstruct: the decoders only (of a version-3 file, both time modes). (Loading a
    kernel from the cache costs 5-20 ms; compiling one on a first run, seconds.)"""
    rows = "".join(f"2026-01-01T00:00:{i % 60:02d},{i % 9}.25\n" for i in range(600))
    (tmp_path / "t.csv").write_text("time,v\n" + rows)
    (tmp_path / "u.csv").write_text("v\n" + "".join(f"{i % 9}.25\n" for i in range(600)))
    assert _kernels_used(tmp_path, "compress", "u.csv", "--max-error", "1%", "-q") == [
        "decode_frame", "encode_blocks"]
    assert _kernels_used(tmp_path, "compress", "t.csv", "--max-error", "1%", "-t", "time",
                         "-q") == ["decode_frame", "enc_times", "enc_times2", "encode_blocks"]
    assert _kernels_used(tmp_path, "reconstruct", "t.hippo", "-o", "back.csv", "-q") == [
        "dec_times", "dec_times2", "decode_frame"]
    assert _kernels_used(tmp_path, "reconstruct", "u.hippo", "-o", "back2.csv", "-q") == [
        "decode_frame"]
