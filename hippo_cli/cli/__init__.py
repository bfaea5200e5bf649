"""The ``hippo`` command: a thin Typer layer over the library, one module per command.

:mod:`.app` holds the Typer app, the shared options and the error mapping; each command
module parses its options, calls one library pipeline and reports.
"""

from typing import NoReturn

from . import compress, info, reconstruct, stream, verify  # noqa: F401 - registers the commands
from .app import app


def main() -> None:
    """Entry point of ``hippo`` and ``python -m hippo_cli``: the Typer app, plus what happens
    outside any command (help and version text to a full disk or a closed pipe): one line and
    an exit code, never a traceback."""
    import sys

    from ..atomic import drop_stdout
    from .app import EXIT_BROKEN_PIPE, say
    from .resources import starved, supervise

    try:
        code = supervise(sys.argv[1:])  # under a memory limit: in a watched child process
        if code is not None:
            raise SystemExit(code)
        app(prog_name="hippo")
    except SystemExit as done:
        code = done.code
    except BrokenPipeError:
        code = EXIT_BROKEN_PIPE
        drop_stdout()
    except OSError as err:
        say(f"error: {starved(err) or 'writing the output: ' + str(err.strerror or err)}")
        drop_stdout()
        code = 1
    except Exception as err:  # outside any command (option parsing, start-up): memory
        lack = starved(err)  # that runs out there
        if lack is None:
            raise
        say(f"error: {lack}")
        code = 1
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        drop_stdout()
        code = code or EXIT_BROKEN_PIPE
    except (OSError, ValueError) as err:
        say(f"error: writing the output: {getattr(err, 'strerror', None) or err}")
        drop_stdout()
        code = code or 1
    raise SystemExit(code)


def run() -> None:
    """Entry point of the ``hippo`` script and of ``python -m hippo_cli``: :func:`main`, then
    the process ends without tearing the interpreter down (:func:`leave`)."""
    try:
        main()
    except SystemExit as done:
        leave(done.code)


def leave(code: object) -> NoReturn:
    """End the process with exit code ``code`` (what :func:`main` raised) the quick way when that
    loses nothing, else by ``SystemExit(code)``.

    Why: after a job that used pandas and numba, the interpreter's own teardown (clearing every
    module, a last garbage collection over numba's typing tables and LLVM objects) took 0.3-0.4
    s on the idle 2-core machine, up to 1 s under load (0.02-0.03 s the quick way): as much as
    the start of numba. What it would do that matters is done here first: stdout and stderr
    flushed (a failure there keeps the ordinary path, which reports it as before), then the
    ``atexit`` callbacks run (logging's flush, ``weakref.finalize`` clean-ups, llvmlite's and
    numba's shutdown flags). Every output is complete by now: written through
    :mod:`hippo_cli.atomic` and committed or removed inside the command, temporary files
    anonymous or removed there. Not taken while another non-daemon thread runs (Python would
    wait for it), under a profiler or tracer (cProfile prints, coverage saves after this), for
    an exit code that is not a small integer, or on an interpreter without
    ``atexit._run_exitfuncs``; nor by :func:`main` itself, which tests and embedding code call
    in-process."""
    import atexit
    import sys
    import threading
    from os import _exit  # os's documented immediate exit (no teardown)

    code = 0 if code is None else code
    run_exit = getattr(atexit, "_run_exitfuncs", None)
    others = [t for t in threading.enumerate() if t is not threading.main_thread()]
    if (not isinstance(code, int) or isinstance(code, bool) or not 0 <= code <= 255
            or run_exit is None or sys.getprofile() is not None or sys.gettrace() is not None
            or any(not t.daemon for t in others)):
        raise SystemExit(code)
    try:
        for stream in (sys.stdout, sys.stderr):
            if stream is not None:
                stream.flush()
    except (OSError, ValueError):
        raise SystemExit(code) from None
    run_exit()
    try:  # what the callbacks wrote (the interpreter flushes after them too)
        for stream in (sys.stdout, sys.stderr):
            if stream is not None:
                stream.flush()
    except (OSError, ValueError):
        raise SystemExit(code) from None
    _exit(code)


__all__ = ["app", "leave", "main", "run"]
