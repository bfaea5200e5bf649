"""The lock leak of the in-process Dask path (docs/library.md's example on the threaded
scheduler): the root cause and its regression tests.

Root cause: every file write cleans its folder of stale lock files, and a Dask task runs
outside any :func:`~hippo_cli.atomic.cleaning_once` scope, so every write scanned the
folder. Cleaning took each lock file *as a writer would* - waiting (up to 5 s) when another
thread of this process held it. Two threads writing two series into one folder each held
their own file's lock and waited for the other's: both stalled until the wait ran out. The
cleaning also registered itself as the holder of every lock it took and never unregistered,
so a later writer in that thread saw "held by this very thread" and was refused at once;
a refused sidecar then left the ``.npy``'s lock held for good (the coefficient writer did
not give it back), which is what was seen: a lock held by another thread, never released.
"""

from __future__ import annotations

import shutil
import threading
import time

import numpy as np
import pandas as pd
import pytest

from hippo_cli import atomic
from hippo_cli.atomic import OutputLock, clean_stale_temporaries, lock_path
from hippo_cli.errors import DataError


def test_cleaning_a_folder_never_waits_for_a_lock_another_thread_holds(tmp_path):
    target = tmp_path / "a.npy"
    held, done = threading.Event(), threading.Event()

    def writer() -> None:
        with OutputLock(target):
            held.set()
            done.wait(20)

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        assert held.wait(5)
        start = time.monotonic()
        clean_stale_temporaries(tmp_path)
        waited = time.monotonic() - start
        assert lock_path(target).exists()  # a live lock is not stale: left in place
    finally:
        done.set()
        thread.join()
    assert waited < 1.0, f"cleaning waited {waited:.1f} s for a live lock"
    assert not lock_path(target).exists()  # its writer removed it


def test_removing_a_stale_lock_leaves_no_holder_behind(tmp_path):
    stale = lock_path(tmp_path / "b.npy")
    stale.write_text("12345 hippo compress\n")  # a writer that died: nobody holds it
    clean_stale_temporaries(tmp_path)
    assert not stale.exists()
    assert str(stale) not in atomic._HOLDERS
    with OutputLock(tmp_path / "b.npy") as lock:  # and the same thread may take it
        assert lock.fd is not None


def test_a_refused_sidecar_gives_the_array_lock_back(tmp_path):
    from hippo_cli.formats.coefficients import CoefficientWriter

    target = tmp_path / "c.npy"
    (tmp_path / "c.npy.json").mkdir()  # the sidecar cannot be written
    with pytest.raises(DataError):
        CoefficientWriter(target, (4,))
    assert not lock_path(target).exists()
    assert not list(tmp_path.glob(".c.npy.hippo-tmp-*"))
    got: list = []
    thread = threading.Thread(target=lambda: got.append(OutputLock(target)))
    thread.start()
    thread.join(10)
    assert got and got[0].fd is not None  # another thread takes it at once
    got[0].release()


def test_library_example_in_a_loop_on_the_threaded_scheduler(tmp_path, monkeypatch):
    """docs/library.md's Dask example, run again and again on the threaded scheduler: every
    run ends quickly (before the fix about one run in eight stalled 5 s, some failed)."""
    import dask
    import dask.dataframe as dd

    from hippo_cli.pipelines.dask_engine import compress_dataframe

    monkeypatch.chdir(tmp_path)
    df = pd.DataFrame({"sensor": np.repeat(["a", "b", "c"], 1000),
                       "value": np.sin(np.arange(3000) / 50.0)})
    slowest = 0.0
    with dask.config.set(scheduler="threads", num_workers=4):
        for _ in range(25):
            shutil.rmtree("fleet-out", ignore_errors=True)
            start = time.monotonic()
            manifest = compress_dataframe(dd.from_pandas(df, npartitions=2), "sensor",
                                          ["value"], "fleet-out", measure="legs", N=16,
                                          every=100)
            slowest = max(slowest, time.monotonic() - start)
            assert [s["id"] for s in manifest["series"]] == ["a", "b", "c"]
            assert not list((tmp_path / "fleet-out").glob(".*"))  # no lock, no temporary
    assert slowest < 3.0, f"a run took {slowest:.1f} s (a lock wait)"


def test_a_cleaners_probe_never_refuses_a_writer(tmp_path):
    """A cleaner's probe holds a lock file for an instant (to see whether anyone holds it)
    without writing a pid: a writer that meets it waits for that instant, not refuses the
    output as "being written by another process" (seen on the threaded Dask scheduler).
    Here the probe is held for 50 ms, much longer than a real one, in another thread."""
    import fcntl
    import os

    target = tmp_path / "x.hippo"
    lock = lock_path(target)
    fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # the probe, pid-less
    timer = threading.Timer(0.05, lambda: os.close(fd))
    timer.start()
    started = time.monotonic()
    with OutputLock(target) as taken:
        assert taken.fd is not None
    timer.join()
    assert time.monotonic() - started < 1.0
