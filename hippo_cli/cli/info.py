"""``hippo info``: what a ``.hippo``, coefficient or stream state file holds."""

from __future__ import annotations

import json
from typing import Any

import typer

from .app import QUIET, VERBOSE, app, cli_errors, human_bytes
from .paths import not_this_kind, open_kind, refuse_stdin_kind


@app.command()
@cli_errors
def info(
    path: str = typer.Argument(..., help="A .hippo file (- for stdin), a coefficient .npy "
                               "(with sidecar) or a state .npz."),
    as_json: bool = typer.Option(False, "--json", help="Print the facts as one JSON object "
                                 "(for scripts) instead of a table."),
    quiet: bool = QUIET,
    verbose: bool = VERBOSE,
) -> None:
    """Show what a .hippo, coefficient or stream state file holds (no value is decoded)."""
    name, kind, fh = open_kind(path)
    if kind != "hippo":
        fh.close()
    refuse_stdin_kind(name, kind)
    if kind == "hippo":  # read through the handle sniffed: one file, even if replaced
        facts = _hippo_facts(name, fh, codecs=verbose)
    elif kind == "npz":
        facts = _state_facts(path)
    elif kind == "npy":
        facts = _coefficient_facts(path)
    else:
        raise not_this_kind(name, kind, "a .hippo, coefficient or state file")
    if as_json:
        from ..atomic import stdout_text

        out = stdout_text()
        out.write(json.dumps(facts, allow_nan=False) + "\n")
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=name, show_header=False, title_justify="left")
    table.add_column("field", style="bold")
    table.add_column("value")
    for key, value in facts.items():
        table.add_row(key.replace("_", " "), _text(key, value))
    Console().print(table)


def _text(key: str, value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, list) and len(value) > 8:
        return f"{len(value)} values: {', '.join(map(str, value[:6]))}, ..."
    if isinstance(value, list):
        return ", ".join(map(str, value))
    if isinstance(value, dict):
        return ", ".join(f"{k} {_text(k, v)}" for k, v in value.items())
    if key.startswith("bytes") and isinstance(value, int):
        return f"{value} ({human_bytes(value)})"
    return str(value)


def _hippo_facts(path: str, fh, codecs: bool = False) -> dict:
    """Header, channels, samples, bytes, ratio, bounds and frames, from the footer (or the
    frame heads of a file that has none): nothing is decoded. With ``codecs`` (``--verbose``),
    also how many channel parts each codec holds, from the first bytes of every part (every
    frame is read and its checksum checked)."""
    from ..codec.container import FRAME_CHAINED, ONE_FRAME, TIME_ISO, VALUE_KINDS, HippoReader

    with HippoReader(fh, path, salvage=True) as hf:
        h = hf.header
        frames = hf.index
        samples = hf.samples
        facts: dict[str, Any] = {"kind": "hippo", "format_version": h.version,
                                 "channels": h.channels,
                                 "max_error": dict(zip(h.channels, h.max_errors))}
        if h.has_kinds:  # what the values were (docs/format.md, "Value kinds")
            facts["value_kinds"] = {name: VALUE_KINDS[code] or "integer"
                                    for name, code in zip(h.channels, h.kind_codes())}
        if h.time_column is not None:
            # A time read from two columns (Date,Time) is stored under one name joined by a
            # tab; both names are shown, and "time_columns" lists them for scripts.
            facts["time_column"] = h.time_column.replace("\t", ", ")
            facts["time_columns"] = h.time_column.split("\t")
            if h.time_kind != TIME_ISO:
                facts["time_kind"] = "numbers"
            elif h.version >= 2:
                facts["time_kind"] = f"text as written (first: {h.time_pattern})"
            else:
                facts["time_kind"] = "iso8601 (microseconds)"
        # with codecs, every frame is read (a damaged one is noted, its parts not counted,
        # and the file is "damaged" even if its footer is whole)
        counts: dict[str, int] = {}
        damaged = 0
        for f in frames if codecs else ():
            names = hf.part_codecs(f)
            damaged += names is None
            for name in names or []:
                counts[name] = counts.get(name, 0) + 1
        facts.update(samples=samples, bytes=hf.size, header_bytes=hf.header_size,
                     frames=len(frames),
                     state="damaged" if hf.damage or damaged else
                     ("finished" if hf.finished else "not closed"))
        C = len(h.channels)
        if samples:
            facts["ratio_vs_float64"] = round(8 * samples * C / hf.size, 3)
            facts["bits_per_sample"] = round(8 * hf.size / (samples * C), 4)
            sizes = [f.samples for f in frames]
            facts["samples_per_frame"] = {"min": min(sizes), "max": max(sizes)}
            if h.version >= 3:  # chained frames continue the one before (docs/format.md)
                chained = sum(hf.frame_kind(f) == FRAME_CHAINED for f in frames)
                if chained:
                    facts["chained_frames"] = chained
            if hf.finished and h.timed:
                ranges = [(f.time_min, f.time_max) for f in frames]
                if h.version == ONE_FRAME:  # no footer index: its one frame's times, decoded
                    t = hf.frame_times(frames[0])
                    ranges = ([] if t is None else
                              [(float(t.seconds.min()), float(t.seconds.max()))])
                if ranges:
                    facts["time_range"] = [min(lo for lo, _ in ranges),
                                           max(hi for _, hi in ranges)]
            if codecs:
                facts["channel_parts_by_codec"] = counts
        if hf.notes:
            facts["notes"] = hf.notes
    return facts


def _state_facts(path: str) -> dict:
    from ..engine import HiPPO

    enc = HiPPO.load(path)
    return {"kind": "state", **enc.params(), "steps_consumed": enc.steps,
            "next_sample": enc.steps, "channels": enc.channels or 0}


def _coefficient_facts(path: str) -> dict:
    from ..formats.coefficients import load_coefficients

    cf = load_coefficients(path)
    meta = cf.meta
    size = cf.stored_bytes
    raw = meta["samples"] * cf.channels * 8
    facts: dict[str, Any] = {"kind": "coefficients", "shape": list(cf.coeffs.shape),
                             "stored_as": meta["dtype"] if not meta.get("quantize") else
                             f"{meta['quantize']}-bit integers + float32 scale per row",
                             "bytes": size, "samples": meta["samples"],
                             "channels": cf.channels,
                             "ratio_vs_float64": round(raw / size, 3)}
    if meta.get("input_bytes"):
        facts["ratio_vs_input_file"] = round(meta["input_bytes"] / size, 3)
    skip = {"format", "format_version", "steps_rule", "dtype", "samples", "data_sha256"}
    for key, value in meta.items():
        if key not in skip and value is not None:
            facts[key] = value
    if meta.get("sample_times") is not None:  # what they cost, not the coded bytes
        import base64

        parts = meta["sample_times"]
        facts["sample_times"] = {"samples": sum(n for n, _ in parts), "parts": len(parts),
                                 "bytes": sum(len(base64.b64decode(t)) for _, t in parts)}
    facts["rows_are"] = meta.get("steps_rule", "")
    return facts
