"""The ``hippo`` command: a thin Typer layer over the library, one module per command.

:mod:`.app` holds the Typer app, the shared options and the error mapping; each command
module parses its options, calls one library pipeline and reports.
"""

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


__all__ = ["app", "main"]
