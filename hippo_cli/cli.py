"""The ``hippo`` command: a thin Typer layer over the library.

Only typer/rich are imported at start-up; numpy, numba, pandas, scipy and matplotlib are
imported inside the commands that need them, so ``hippo --help`` stays fast.
"""

from __future__ import annotations

import typer

from ._version import __version__

app = typer.Typer(
    name="hippo",
    help="Online time-series compression with HiPPO (Gu et al., NeurIPS 2020).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"hippo {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """Online time-series compression with HiPPO (Gu et al., NeurIPS 2020)."""


def main() -> None:
    """Entry point of ``python -m hippo_cli``."""
    app(prog_name="hippo")
