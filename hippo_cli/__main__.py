"""``python -m hippo_cli``: the same Typer app as the ``hippo`` command."""

from .cli import run

run()
