"""The ``hippo`` command: a thin Typer layer over the library, one module per command.

:mod:`.app` holds the Typer app, the shared options and the error mapping; each command
module parses its options, calls one library pipeline and reports.
"""

from . import compress, info, reconstruct, stream  # noqa: F401 - registers the commands
from .app import app


def main() -> None:
    """Entry point of ``python -m hippo_cli``."""
    app(prog_name="hippo")


__all__ = ["app", "main"]
