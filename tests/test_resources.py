"""Resources: memory that runs out (under an address-space limit) is one ``out of memory``
line and exit 1 - never a hang, a crash or an unrelated error - and leaves no output."""

from __future__ import annotations

import os
import resource
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from hippo_cli.cli import resources
from hippo_cli.errors import DataError

ROOT = Path(__file__).resolve().parent.parent


# ------------------------------------------------------------------ the disguises, mapped
def test_memory_error_is_out_of_memory_with_or_without_a_limit(monkeypatch):
    monkeypatch.setattr(resources, "address_limit", lambda: None)
    assert resources.starved(MemoryError()) == "out of memory"
    assert resources.starved(OSError(12, "Cannot allocate memory")) == "out of memory"
    try:  # pandas' tokenizer says it in its message, under the library's DataError
        try:
            raise ValueError("Error tokenizing data. C error: out of memory")
        except ValueError:
            raise DataError("x.csv: unreadable CSV (C error: out of memory)") from None
    except DataError as err:
        assert resources.starved(err) == "out of memory"


def test_failed_library_loads_are_out_of_memory_only_under_a_limit(monkeypatch):
    llvm = OSError("Could not find/load shared object file 'libllvmlite.so'")
    thread = RuntimeError("can't start new thread")
    missing = ImportError("cannot import name", name="numba")
    monkeypatch.setattr(resources, "address_limit", lambda: None)
    for err in (llvm, thread, missing):  # a broken install is not misreported
        assert resources.starved(err) is None
    monkeypatch.setattr(resources, "address_limit", lambda: 300 << 20)
    for err in (llvm, thread, missing):
        assert resources.starved(err).startswith(
            "out of memory (the address-space limit is 300 MiB)")
    assert resources.starved(ValueError("a bug")) is None


def test_no_limit_no_preloading(monkeypatch):
    monkeypatch.setattr(resources, "address_limit", lambda: None)
    monkeypatch.delenv("OPENBLAS_NUM_THREADS", raising=False)
    resources.load_native()
    assert "OPENBLAS_NUM_THREADS" not in os.environ
    assert resources.supervise(["--version"]) is None


# ------------------------------------------------------------------ the CLI under a cap
def _vm_peak_mib(code: str) -> int:
    out = subprocess.run([sys.executable, "-c", code + "\nprint([l for l in open("
                          "'/proc/self/status') if l.startswith('VmPeak')][0].split()[1])"],
                         capture_output=True, text=True, check=True,
                         env=dict(os.environ, PYTHONPATH=str(ROOT)))
    return int(out.stdout.split()[-1]) // 1024


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs Linux /proc")
def test_cli_under_address_limits_says_out_of_memory_or_succeeds(tmp_path):
    """From a cap that lets Python start (and the CLI load) up to one with room for the
    data: every run ends within the timeout, exit 0 or exit 1 with exactly one line saying
    out of memory, and no output or temporary is left by a failed run."""
    rows = 400_000
    x = np.cumsum(np.random.default_rng(0).normal(size=(rows, 3)), axis=0)
    csv = tmp_path / "big.csv"
    np.savetxt(csv, x, delimiter=",", header="a,b,c", comments="", fmt="%.5f")
    start = _vm_peak_mib("import hippo_cli.cli")  # Python and the CLI's first imports
    outcomes = []
    for extra in (20, 120, 250, 300, 350, 450, 2000):
        cap = (start + extra) << 20
        out = tmp_path / f"o{extra}.hippo"
        proc = subprocess.run(
            [sys.executable, "-m", "hippo_cli", "compress", str(csv), "--max-error", "1%",
             "-o", str(out), "-q"],
            capture_output=True, text=True, timeout=120, cwd=tmp_path,
            env=dict(os.environ, PYTHONPATH=str(ROOT)),
            preexec_fn=lambda cap=cap: resource.setrlimit(resource.RLIMIT_AS, (cap, cap)))
        lines = proc.stderr.strip().splitlines()
        if proc.returncode == 0:
            assert out.exists() and lines == []
            outcomes.append("ok")
            continue
        assert proc.returncode == 1, (extra, proc.returncode, proc.stderr)
        assert len(lines) == 1 and lines[0].startswith("hippo: error: out of memory"), \
            (extra, proc.stderr)
        assert not out.exists()
        outcomes.append("oom")
    assert "oom" in outcomes and "ok" in outcomes, outcomes
    assert not [p.name for p in tmp_path.iterdir() if "hippo-tmp" in p.name]


# ------------------------------------------------------------------ SIGTERM while compiling
def _group(pgid: int) -> list[str]:
    """The processes left in a process group (zombies included: they were not reaped)."""
    out = subprocess.run(["ps", "-o", "pid=,stat=", "-g", str(pgid)], capture_output=True,
                         text=True)
    return out.stdout.split("\n") if out.stdout.strip() else []


@pytest.mark.slow
@pytest.mark.parametrize("mode", [["--max-error", "1%"], ["-N", "16"]])
@pytest.mark.parametrize("delay", [1.0, 2.5])
def test_sigterm_while_numba_compiles_ends_promptly(tmp_path, mode, delay):
    """An empty numba cache: the job compiles for seconds (and the .hippo mode starts a
    helper that compiles the decoder). SIGTERM then ends it within 2 s, exit 143, with no
    output, no temporary and no helper process left."""
    import signal
    import time

    x = np.cumsum(np.random.default_rng(0).normal(size=(20_000, 2)), axis=0)
    csv = tmp_path / "in.csv"
    np.savetxt(csv, x, delimiter=",", header="a,b", comments="", fmt="%.5f")
    out = tmp_path / ("out.hippo" if "--max-error" in mode else "out.npy")
    cache = tmp_path / "numba-cache"
    cache.mkdir()
    proc = subprocess.Popen(
        [sys.executable, "-m", "hippo_cli", "compress", str(csv), *mode, "-o", str(out)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True,
        env=dict(os.environ, PYTHONPATH=str(ROOT), NUMBA_CACHE_DIR=str(cache)))
    time.sleep(delay)
    assert proc.poll() is None, "finished before the signal: the test proves nothing"
    proc.send_signal(signal.SIGTERM)
    start = time.monotonic()
    try:
        _, err = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert time.monotonic() - start < 2.0
    assert proc.returncode == 143, err
    assert b"Traceback" not in err and b"internal error" not in err, err
    time.sleep(0.2)
    assert _group(proc.pid) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv", "numba-cache"]


def test_a_signal_inside_numba_outside_its_compile_event_counts_as_compiling():
    """numba loads and saves its cache outside its compile event (a SIGTERM raised there left
    a half-built llvmlite object whose destructor printed a traceback): the handler's frame
    is walked for numba and llvmlite code, at any depth."""
    import sys

    from hippo_cli._jit import compiling

    def handler_frame():
        return sys._getframe()

    assert not compiling(handler_frame()) and not compiling(None)
    for module in ("numba.core.caching", "llvmlite.binding.value"):
        inside = {"__name__": module, "grab": handler_frame}
        exec("def load():\n    return grab()\n", inside)
        assert compiling(inside["load"]())
    nested = {"__name__": "numba.core.dispatcher", "grab": handler_frame}
    exec("def outer(f):\n    return f()\n", nested)
    assert compiling(nested["outer"](lambda: handler_frame()))
    lookalike = {"__name__": "numbat", "grab": handler_frame}
    exec("def load():\n    return grab()\n", lookalike)
    assert not compiling(lookalike["load"]())


# ------------------------------------------------------------------ a line of 10^7 columns
@pytest.mark.parametrize("sep", [",", ";", "\t"])
def test_too_wide_a_line_is_refused_before_it_is_split(tmp_path, sep):
    """A header of 2 million columns: refused naming its line, and the memory taken stays
    near the line's own bytes (splitting it into fields took 60 bytes a column: 900 MB for
    10^7 columns)."""
    import tracemalloc

    from hippo_cli.formats.csv_input import MAX_COLUMNS, open_csv

    width = 20 * MAX_COLUMNS
    line = sep.join(f"c{i}" for i in range(width))
    path = tmp_path / "wide.csv"
    path.write_text(line + "\n" + sep.join("1" * width) + "\n")
    size = len(line)
    del line
    tracemalloc.start()
    try:
        with pytest.raises(DataError, match=r"line 1: 2000000 columns is more than hippo handles"):
            open_csv(str(path))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 4 * size, (peak, size)


def test_widest_line_allowed_still_reads(tmp_path):
    from hippo_cli.formats.csv_input import MAX_COLUMNS, open_csv

    path = tmp_path / "ok.csv"
    path.write_text(",".join(f"c{i}" for i in range(MAX_COLUMNS)) + "\n"
                    + ",".join("1" * MAX_COLUMNS) + "\n")
    samples = open_csv(str(path), columns=["c0", "c7"])
    assert samples.columns == ["c0", "c7"]


# ------------------------------------------------------------------ the supervisor
def test_a_crash_in_native_code_under_a_limit_is_one_line(tmp_path):
    """Under a limit the command runs in a watched child; a child killed by SIGABRT (as
    LLVM's std::bad_alloc does) is one out-of-memory line, exit 1, its stray stderr
    dropped and its temporaries removed."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(
        "import os, sys\n"
        "if os.environ.get('HIPPO_SUPERVISED'):\n"
        "    target = os.path.join(os.getcwd(), '.out.hippo.hippo-tmp-%d' % os.getpid())\n"
        "    open(target, 'w').close()\n"
        "    sys.stderr.write('terminate called after throwing std::bad_alloc\\n')\n"
        "    sys.stderr.flush()\n"
        "    os.abort()\n")
    (tmp_path / "in.csv").write_text("a\n1\n2\n")
    cap = 1 << 36  # a limit, with room: the crash is the child's own doing
    res = subprocess.run(
        [sys.executable, "-m", "hippo_cli", "compress", "in.csv", "--max-error", "0.1",
         "-o", "out.hippo"], cwd=tmp_path, capture_output=True, text=True, timeout=120,
        env=dict(os.environ, PYTHONPATH=f"{site}{os.pathsep}{ROOT}"),
        preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_AS, (cap, cap)))
    assert res.returncode == 1
    assert res.stderr.splitlines() == [
        "hippo: error: out of memory (the address-space limit is 65536 MiB): native code "
        "failed (SIGABRT)"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv", "site"]


def test_memory_running_out_outside_a_command_is_one_line(monkeypatch, capsys):
    from hippo_cli import cli

    def starving(**kwargs):
        raise MemoryError

    monkeypatch.setattr(cli, "app", starving)
    monkeypatch.setattr(resources, "address_limit", lambda: None)
    with pytest.raises(SystemExit) as done:
        cli.main()
    assert done.value.code == 1
    assert capsys.readouterr().err == "hippo: error: out of memory\n"
