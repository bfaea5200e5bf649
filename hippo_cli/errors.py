"""One exception family for the whole package.

The library raises these with a message fit for a user; only the CLI (``hippo_cli.cli``) maps
them to exit codes.
"""

from __future__ import annotations


class HippoError(ValueError):
    """Base class: a problem the user can fix (bad parameter, bad data, bad file)."""


class ParameterError(HippoError):
    """A parameter is invalid or does not apply (a usage error: exit code 2 on the CLI).

    ``option``: the library's name of the parameter at fault, as the message words it
    (``max_error``); the CLI shows its flag there instead (``--max-error``)."""

    def __init__(self, message: str, *, option: str | None = None) -> None:
        super().__init__(message)
        self.option = option


class DataError(HippoError):
    """The data or a file is unusable (exit code 1 on the CLI)."""


class Terminated(BaseException):
    """SIGTERM arrived (the CLI turns the signal into this so that ``finally`` blocks, which
    remove temporary files, still run; exit code 143). A BaseException, like
    KeyboardInterrupt, so that no ``except Exception`` swallows it."""
