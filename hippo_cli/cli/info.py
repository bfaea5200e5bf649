"""``hippo info``: what a coefficient or state file holds."""

from __future__ import annotations

import os

import typer

from .app import app, cli_errors, human_bytes


@app.command()
@cli_errors
def info(
    path: str = typer.Argument(..., help="A coefficient .npy (with sidecar) or a state .npz."),
) -> None:
    """Show shape, dtype and settings of a coefficient file or a stream state file."""
    from rich.console import Console
    from rich.table import Table

    from ..formats.coefficients import load_coefficients

    table = Table(title=path, show_header=False, title_justify="left")
    table.add_column("field", style="bold")
    table.add_column("value")
    if path.endswith(".npz"):
        from ..engine import HiPPO

        enc = HiPPO.load(path)
        table.add_row("kind", "stream state")
        for key, value in enc.params().items():
            table.add_row(key, str(value))
        table.add_row("steps (samples consumed)", str(enc.steps))
        table.add_row("next sample", f"global step {enc.steps}")
        table.add_row("channels", str(enc.channels or "-"))
    else:
        cf = load_coefficients(path)
        meta = cf.meta
        size = os.path.getsize(path) + os.path.getsize(path + ".json")  # all bytes stored
        table.add_row("kind", "coefficients")
        table.add_row("shape", str(tuple(cf.coeffs.shape)))
        table.add_row("dtype", str(cf.coeffs.dtype))
        table.add_row("bytes stored (.npy + .json)", f"{size} ({human_bytes(size)})")
        table.add_row("samples in", f"{meta['samples']} x {cf.channels} channel(s)")
        raw = meta["samples"] * cf.channels * 8
        table.add_row("ratio", f"{raw / size:.2f}x vs float64 input ({human_bytes(raw)})")
        if meta.get("input_bytes"):
            table.add_row("ratio vs input file",
                          f"{meta['input_bytes'] / size:.2f}x ({human_bytes(meta['input_bytes'])})")
        skip = {"format", "format_version", "steps_rule"}
        for key, value in meta.items():
            if key in skip or value is None:
                continue
            if isinstance(value, list) and len(value) > 8:
                value = f"{len(value)} values: {', '.join(map(str, value[:6]))}, ..."
            elif isinstance(value, list):
                value = ", ".join(map(str, value))
            table.add_row(key, str(value))
        table.add_row("steps", meta.get("steps_rule", ""))
    Console().print(table)
