"""Saying when numba compiles: the first time a job needs kernels that are not in numba's cache
for this machine, compiling them takes seconds, and a user should be told so, once. And
whether this process may use that cache at all (:func:`cached`).

A kernel module calls :func:`watch` when it is imported; the first real compilation (not a
cache load) of one of its functions in this process is logged once on the ``hippo_cli``
logger at INFO level: ``compiling the codec for this machine, once (about 8 s)``. The CLI
prints that logger's records as ``hippo:`` lines; a library user sees them only if they
configure logging.
"""

from __future__ import annotations

import logging
import threading
from types import FrameType

logger = logging.getLogger("hippo_cli")

_lock = threading.Lock()
_watched: dict[str, tuple[str, dict, float]] = {}  # module -> (what, seconds by first
# function compiled, seconds otherwise)
_announced: set[str] = set()
_hooks: list = []  # functions called with the module name at its first compilation
_listening = False
_depth = 0  # numba compilations (or cache loads) in progress in this process


def cached() -> bool:
    """Whether hippo's kernels use numba's on-disk cache in this process (``cache=`` of every
    kernel; called where numba is imported anyway). Not under numba settings that change the
    machine code but not the cache's key (the source file, the signature and the CPU): debug
    information (NUMBA_DEBUGINFO, or NUMBA_ENABLE_PROFILING, which implies it), bounds checks
    (NUMBA_BOUNDSCHECK) or an optimisation level below 3 (NUMBA_OPT). A process under them
    would write kernels that every later process loads - measured: the default level's encoder
    compiled with debug information ran at 108 ns a sample instead of 38, in every process
    after it - and would read ordinary kernels where it asked for its own. There, the kernels
    are compiled in each process (seconds) and kept in memory only."""
    from numba.core import config

    return not (config.DEBUGINFO_DEFAULT or config.ENABLE_PROFILING or config.BOUNDSCHECK
                or int(config.OPT) < 3)


def compiling(frame: FrameType | None = None) -> bool:
    """Whether numba is compiling a function right now (in any thread), or ``frame`` - where
    a signal handler interrupted the main thread - is inside numba or llvmlite: loading or
    saving its cache, which happens outside the compile event, or creating LLVM objects.
    Neither is safe against an exception raised in the middle (a SIGTERM raised there was
    turned into a RuntimeError, lost, or left a half-built llvmlite object whose destructor
    printed a traceback), so the CLI's SIGTERM handler asks."""
    if _depth > 0:
        return True
    while frame is not None:
        package = frame.f_globals.get("__name__", "").partition(".")[0]
        if package in ("numba", "llvmlite"):
            return True
        frame = frame.f_back
    return False


def add_hook(hook) -> None:
    """Call ``hook(module)`` when a watched module first compiles in this process (the CLI
    starts a second compiling process then)."""
    with _lock:
        _hooks.append(hook)


def remove_hook(hook) -> None:
    with _lock:
        if hook in _hooks:
            _hooks.remove(hook)


def watch(module: str, what: str, seconds: float, first: dict | None = None) -> None:
    """Announce the first compilation of a function of ``module`` as compiling ``what``:
    about ``first[name]`` seconds when the first function compiled is ``name`` (a job that
    needs only part of the module), else about ``seconds`` (measured on a 2-core machine)."""
    global _listening
    with _lock:
        _watched[module] = (what, first or {}, seconds)
        if _listening:
            return
        from numba.core import event

        class _Announce(event.Listener):
            def on_start(self, ev: event.Event) -> None:
                global _depth
                _depth += 1
                fn = getattr((ev.data or {}).get("dispatcher"), "py_func", None)
                _announce(getattr(fn, "__module__", None), getattr(fn, "__name__", ""))

            def on_end(self, ev: event.Event) -> None:
                global _depth
                _depth = max(0, _depth - 1)

        event.register("numba:compile", _Announce())
        _listening = True


def _announce(module: str | None, name: str) -> None:
    with _lock:
        found = _watched.get(module or "")
        if found is None or found[0] in _announced:
            return
        what, first, seconds = found
        _announced.add(what)
        hooks = list(_hooks)
    if cached():
        logger.info("compiling %s for this machine, once (about %.0f s)", what,
                    first.get(name, seconds))
    else:
        logger.info("compiling %s for this process (about %.0f s): numba's debug settings "
                    "keep it out of numba's cache", what, first.get(name, seconds))
    for hook in hooks:
        hook(module)
