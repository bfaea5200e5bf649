"""``hippo info``: what a coefficient or state file holds."""

from __future__ import annotations

import os

import typer

from .app import app, cli_errors, human_bytes


@app.command()
@cli_errors
def info(
    path: str = typer.Argument(..., help="A .hippo file, a coefficient .npy (with sidecar) or "
                               "a state .npz."),
) -> None:
    """Show what a .hippo, coefficient or stream state file holds."""
    from rich.console import Console
    from rich.table import Table

    from ..formats.coefficients import load_coefficients

    table = Table(title=path, show_header=False, title_justify="left")
    table.add_column("field", style="bold")
    table.add_column("value")
    from ..formats.hippo_file import is_hippo_file

    if is_hippo_file(path):
        _hippo_rows(table, path)
    elif path.endswith(".npz"):
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


def _hippo_rows(table, path: str) -> None:
    """Header, channels, samples, bytes, ratio, bounds and frame statistics (no decoding)."""
    from ..formats.hippo_file import TIME_ISO, open_hippo

    hf = open_hippo(path, salvage=True)
    h = hf.header
    frames = hf.scan()
    samples = sum(n for _, n, _ in frames)
    size = hf.size
    C = len(h.channels)
    table.add_row("kind", ".hippo (bounded-error compressed samples)")
    table.add_row("channels", ", ".join(h.channels))
    table.add_row("max error", ", ".join(f"{c} {e:.6g}" for c, e in zip(h.channels,
                                                                       h.max_errors)))
    if h.time_column is not None:
        kind = "ISO 8601, microseconds" if h.time_kind == TIME_ISO else "numbers"
        table.add_row("time column", f"{h.time_column} ({kind}, stored losslessly)")
    table.add_row("samples", f"{samples} x {C} channel(s)")
    table.add_row("bytes", f"{size} ({human_bytes(size)})")
    if samples:
        table.add_row("ratio", f"{8 * samples * C / size:.2f}x vs float64 "
                      f"({8 * size / (samples * C):.3g} bits per sample)")
    sizes = [n for _, n, _ in frames]
    if sizes:
        table.add_row("frames", f"{len(sizes)} (samples per frame: min {min(sizes)}, max "
                      f"{max(sizes)}); header {hf.header_size} bytes")
    for note in hf.notes:
        table.add_row("note", note)
