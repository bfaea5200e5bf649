"""Running out of memory, said as such.

Under an address-space limit (``ulimit -v``, ``prlimit --as``, a container's cap) memory runs
out in disguises besides :class:`MemoryError`: a shared library that cannot be mapped
(llvmlite's ``libllvmlite.so`` is an ``OSError`` "could not find/load", numba's modules an
``ImportError``), a thread that cannot start (``RuntimeError: can't start new thread``), a
C extension's ``SystemError``, pandas' tokenizer ("C error: out of memory") - and one that
never returns: OpenBLAS retries a failed allocation forever inside ``dlopen`` (no signal
handler of Python's can run there, so even SIGTERM was ignored). The CLI therefore

* under a limit, loads the native libraries a command needs before it reads any data
  (:func:`load_native`), with OpenBLAS's thread pool off (its per-thread buffers, 32 MiB
  each, are what a capped process lacks; the CLI's matrices are small): a limit too small
  for them is then a clean failure at start, not a hang after the data took the room;
* maps those disguised failures to one ``out of memory`` line (:func:`starved`) - only
  under a limit or when the error itself says so, so that a broken install is not
  misreported.
"""

from __future__ import annotations

import errno
import os
import sys
import time


def address_limit() -> int | None:
    """The process's address-space (or data) limit in bytes, None when unlimited."""
    try:
        import resource
    except ImportError:  # not on this platform
        return None
    limits = []
    for name in ("RLIMIT_AS", "RLIMIT_DATA"):
        which = getattr(resource, name, None)
        if which is None:
            continue
        soft = resource.getrlimit(which)[0]
        if soft != resource.RLIM_INFINITY:
            limits.append(soft)
    return min(limits) if limits else None


def _mib(n: int) -> str:
    return f"{n / 2**20:.0f} MiB"


#: OpenBLAS's work buffer (its BUFFER_SIZE: 32 MiB on x86-64), allocated when it loads.
_BLAS_BUFFER = 32 << 20


#: The address space LLVM takes to compile the codec's kernels with an empty cache (measured:
#: 64 MiB; loading them from the cache takes 16 MiB). LLVM aborts the process (C++
#: std::bad_alloc) when an allocation fails, so that room is asked for up front.
_LLVM_ROOM = 64 << 20


def _blas_footprint() -> int:
    """The address space loading scipy's BLAS takes, estimated from what it maps: its shared
    objects (scipy.linalg's extensions and the bundled OpenBLAS, gfortran, quadmath) twice
    over - their data, relocations and the Python modules that come with them; measured
    78 MiB for 32 MiB of files - plus OpenBLAS's work buffer."""
    import importlib.util
    from pathlib import Path

    spec = importlib.util.find_spec("scipy")
    if spec is None or not spec.origin:
        return _BLAS_BUFFER
    root = Path(spec.origin).parent
    files = [*root.joinpath("linalg").glob("*.so"),
             *root.parent.joinpath("scipy.libs").glob("*.so*")]
    return 2 * sum(f.stat().st_size for f in files) + _BLAS_BUFFER


def _room_for(nbytes: int) -> bool:
    """Whether ``nbytes`` of address space can be had now (reserved, never touched)."""
    import mmap

    try:
        mmap.mmap(-1, nbytes).close()
    except (OSError, ValueError):
        return False
    return True


def load_native() -> None:
    """Under a memory limit: load numba (llvmlite) and the BLAS it checks for now, before
    the data; nothing without a limit (the CLI imports them lazily, for a fast start)."""
    limit = address_limit()
    if limit is None:
        return
    # OpenBLAS reads this once, when it loads (scipy's copy loads below; numpy's is loaded
    # already). One thread: one work buffer.
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    import numba  # maps libllvmlite.so: an OSError when it does not fit

    if "scipy.linalg" not in sys.modules and not _room_for(_blas_footprint()):
        # OpenBLAS retries a failed allocation forever, deaf to signals: never let it try
        raise MemoryError("too small to load BLAS")
    import numba.np.arraymath  # loads scipy's BLAS (numba checks for it)
    import numpy as np
    import scipy.linalg.blas

    # each OpenBLAS allocates the calling thread's buffer at its first product: now, while
    # there is room, not in the middle of the data (where a failure would spin forever)
    x = np.ones((2, 2))
    np.dot(x, x)
    scipy.linalg.blas.dgemm(1.0, x, x)
    # LLVM's JIT and target machine (C++: a failed allocation there aborts the process):
    # made now, before the data; the kernels then only add their own code
    from numba.core.registry import cpu_target

    cpu_target.target_context.codegen()
    del numba
    if not _room_for(_LLVM_ROOM):
        raise MemoryError("too small to load or compile the numba kernels")


def starved(err: BaseException) -> str | None:
    """The ``out of memory`` line for ``err`` if it is memory running out (in any of its
    disguises), else None."""
    limit = address_limit()
    where = f" (the address-space limit is {_mib(limit)})" if limit is not None else ""
    chain: list[BaseException] = []
    e: BaseException | None = err
    while e is not None and e not in chain and len(chain) < 20:
        chain.append(e)
        e = e.__cause__ or e.__context__
    for e in chain:
        if isinstance(e, MemoryError):
            return f"out of memory{where}" + (f": {e}" if str(e) else "")
        if isinstance(e, OSError) and e.errno == errno.ENOMEM:
            return f"out of memory{where}"
        if "out of memory" in str(e).lower() or "cannot allocate memory" in str(e).lower():
            return f"out of memory{where}"
    if limit is None:
        return None
    for e in chain:
        text = str(e).lower()
        if isinstance(e, (ImportError, SystemError)):
            name = getattr(e, "name", None)
            return f"out of memory{where}: could not load a library" + (f" ({name})" if name
                                                                       else "")
        if isinstance(e, OSError) and e.filename is None and (
                "shared object" in text or "load" in text):
            return f"out of memory{where}: could not load a shared library"
        if isinstance(e, RuntimeError) and "thread" in text:
            return f"out of memory{where}: could not start a thread"
    return None


#: Set in the environment of the process a supervisor runs (it must not supervise again).
SUPERVISED = "HIPPO_SUPERVISED"
#: Seconds a supervised child has to end by itself after a signal reached its supervisor.
GRACE = 0.5


def supervise(argv: list[str]) -> int | None:
    """Under a memory limit, run the command in a child process and watch it: native code
    that runs out of memory kills its process (LLVM's and Arrow's ``std::bad_alloc`` abort,
    jemalloc crashes at exit) before Python can say anything. Then this process says it -
    one ``out of memory`` line, exit 1 - and removes the child's temporaries. SIGTERM and
    SIGINT are passed on (after :data:`GRACE`: the child may have had it too); a child that
    does not end within 2 s more (stuck in C code) is killed. Returns the exit code, or None
    without a limit or inside a supervised run (the command then runs in this process)."""
    import signal
    import subprocess

    limit = address_limit()
    if limit is None or os.environ.get(SUPERVISED):
        return None
    import threading

    env = dict(os.environ, **{SUPERVISED: "1"})
    child = subprocess.Popen([sys.executable, "-m", "hippo_cli", *argv], env=env,
                             stderr=subprocess.PIPE)
    held: list[bytes] = []  # other lines: native libraries' last words, shown if it lived
    said: list[bytes] = []  # the child's own error line, if any

    def relay() -> None:
        for line in child.stderr:
            if line.startswith(b"hippo:"):
                if line.startswith(b"hippo: error:"):
                    said.append(line)
                sys.stderr.buffer.write(line)
                sys.stderr.flush()
            else:
                held.append(line)

    relaying = threading.Thread(target=relay, daemon=True)
    old_stack = threading.stack_size(1 << 18)  # a line relay: not the default 8 MiB of room
    try:
        relaying.start()
    finally:
        threading.stack_size(old_stack)
    received: list[int] = []

    def note(signum: int, frame: object) -> None:
        received.append(signum)

    # A signal sent to the process group (Ctrl-C, a service manager) reaches the child too,
    # and a second one could cut its clean-up short: the child gets GRACE seconds to end on
    # its own before the signal is passed on, then 2 s more before it is killed.
    old = {s: signal.signal(s, note) for s in (signal.SIGTERM, signal.SIGINT)}
    passed_on = killed = None
    try:
        while True:
            try:  # polled: a signal's handler must get back to this loop
                code = child.wait(timeout=0.05)
                break
            except subprocess.TimeoutExpired:
                now = time.monotonic()
                if received and passed_on is None:
                    passed_on = now + GRACE
                elif passed_on is not None and now >= passed_on and killed is None:
                    child.send_signal(received[0])
                    killed = now + 2
                elif killed is not None and now >= killed:
                    child.kill()
    finally:
        for s, handler in old.items():
            signal.signal(s, handler)
    relaying.join(timeout=2)
    _remove_temporaries(argv)  # the child is gone: what it left is stale
    crashed = code < 0 and -code in (signal.SIGABRT, signal.SIGSEGV, signal.SIGBUS,
                                     signal.SIGKILL)
    starving = crashed or any(b"out of memory" in line for line in said)
    if not starving and not received:
        sys.stderr.buffer.write(b"".join(held))
        sys.stderr.flush()
    if received:
        return 130 if received[0] == signal.SIGINT else 143
    if crashed and said:  # it had said so; then its exit crashed
        return 1
    if crashed:
        sys.stderr.write(f"hippo: error: out of memory (the address-space limit is "
                         f"{_mib(limit)}): native code failed ({signal.Signals(-code).name})\n")
        return 1
    return code if code >= 0 else 128 - code


def _remove_temporaries(argv: list[str]) -> None:
    """What a dead process left beside any path named on the command line (an
    output's folder, an output folder, the input's folder where outputs go by default): its
    temporaries and lock files, as the next run there would remove them."""
    from pathlib import Path

    from ..atomic import clean_stale_temporaries

    folders = {Path(".")}
    for arg in argv:
        p = Path(arg.split("=", 1)[-1])
        folders.update(f for f in (p, p.parent) if f.is_dir())
    for folder in folders:
        clean_stale_temporaries(folder)
