"""``hippo compress``: a CSV/.npy (or many) into coefficient files."""

from __future__ import annotations

from pathlib import Path

import typer

from ..errors import ParameterError
from .app import (
    ALPHA,
    BETA,
    DT,
    INIT,
    LEGS_TIME,
    MEASURE,
    METHOD,
    NAN,
    ORDER,
    THETA,
    Engine,
    Init,
    LegsTime,
    Measure,
    Method,
    NanPolicy,
    OutDtype,
    app,
    build_encoder,
    cli_errors,
    human_bytes,
    inputs,
    progress_bar,
    refuse_coefficient_options,
    say,
    value,
)


def _many_inputs(path: str) -> bool:
    return path != "-" and (any(ch in path for ch in "*?[") or Path(path).is_dir())


@app.command()
@cli_errors
def compress(
    ctx: typer.Context,
    input: str = typer.Argument(..., help="CSV file (header optional), - for stdin, or .npy "
                                "of shape (L,) or (L, C); a glob or folder: one series per "
                                "file (then -o is a folder)."),
    output: str | None = typer.Option(None, "--output", "-o", help="Output .npy "
                                         "[<input stem>.coeffs.npy; stdin: coeffs.npy]."),
    measure: Measure = MEASURE,
    N: int = ORDER,
    theta: float | None = THETA,
    dt: float | None = DT,
    method: Method = METHOD,
    init: Init | None = INIT,
    legs_time: LegsTime | None = LEGS_TIME,
    alpha: float | None = ALPHA,
    beta: float | None = BETA,
    column: list[str] | None = typer.Option(None, "--column", "-c", help="Column to encode "
                                               "(repeatable) [every numeric column]."),
    every: int | None = typer.Option(None, "--every", "-e", help="Emit the state after every "
                                     "K-th sample [1; with --reset-every: the block length]."),
    reset_every: int | None = typer.Option(None, "--reset-every", help="Block mode: restart the "
                                           "encoder every K samples (a row ends each block)."),
    tolerance: float | None = typer.Option(None, "--tolerance", help="legs: choose the blocks "
                                           "so that every sample is reconstructed within E "
                                           "(coefficient files; the compressor is "
                                           "--max-error)."),
    error: str = typer.Option("max", "--error", help="With --tolerance: bound the max abs "
                              "error of each sample (max) or each block's RMSE (rmse)."),
    max_block: int = typer.Option(65536, "--max-block", help="With --tolerance: the longest "
                                  "block (and the look-ahead) in samples."),
    dtype: OutDtype = typer.Option(OutDtype.float64, "--dtype", help="Output dtype "
                                   "(the computation is always float64).",
                                   case_sensitive=False),
    quantize: int | None = typer.Option(None, "--quantize", help="Store each row as BITS-bit "
                                        "integers (2-16) with a float32 scale per row. No "
                                        "error bound: for one, use --max-error."),
    time_column: str | None = typer.Option(None, "--time-column", "-t", help="Sample times "
                                           "(numbers or ISO timestamps): each step then uses "
                                           "its real length; theta/dt are in time units."),
    nan: NanPolicy = NAN,
    id_column: str | None = typer.Option(None, "--id-column", help="Long format: each id is its "
                                         "own series; -o is then a folder (one .npy per series "
                                         "and manifest.json)."),
    engine: Engine = typer.Option(Engine.local, "--engine", help="Many series: on this "
                                  "machine or on a Dask cluster.", case_sensitive=False),
    scheduler: str | None = typer.Option(None, "--scheduler", help="Dask scheduler address "
                                         "[a local cluster sized to the machine]."),
    max_error: str | None = typer.Option(None, "--max-error", "-E", help="Write a compressed "
                                         ".hippo file in which every sample is within E: an "
                                         "absolute value, or a percentage of each column's "
                                         "range (1%; files only)."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Many series: replace what an "
                                   "earlier run with other settings or input left in the "
                                   "output folder (without it, such a folder is refused)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress, no summary."),
) -> None:
    """Compress every numeric column of INPUT.

    With --max-error E: a .hippo file (default <input stem>.hippo; - for stdout) in which
    every decoded sample is within E - the compressor. Without: the HiPPO coefficients
    after every K-th sample, an .npy of shape (R, N) for one column or (R, C, N) for C
    columns (rows: steps k with (k + 1) % every == 0, plus the final step; with
    --tolerance: the ends of the chosen blocks), and a JSON sidecar <output>.json with the
    settings. The output appears only when the run succeeds.
    """
    if not _many_inputs(input):
        inputs(input)
    many = id_column is not None or value(engine) == "dask" or _many_inputs(input)
    if max_error is not None and not many:
        refuse_coefficient_options(ctx)
        _compress_bounded(input, output, max_error, column, time_column, value(nan), quiet)
        return
    if many:
        _compress_many(ctx, input, output, max_error, measure, N, theta, dt, method, init,
                       legs_time, alpha, beta, column, every, time_column, dtype, id_column,
                       engine, scheduler, overwrite, quiet, tolerance, reset_every,
                       quantize)
        return
    if tolerance is not None and (every is not None or reset_every is not None):
        raise ParameterError("--tolerance chooses the blocks itself: drop --every/--reset-every")
    from ..pipelines.compress import compress_file

    enc = build_encoder(measure, N, theta, dt, method, init, legs_time, reset_every, alpha,
                        beta)
    with progress_bar(not quiet, None, "compress") as bar:
        summary = compress_file(
            input, output, enc, every=every, columns=column, time_column=time_column,
            nan=value(nan), dtype=value(dtype), quantize=quantize, tolerance=tolerance,
            error=error, max_block=max_block,
            on_note=(lambda note: None) if quiet else say,
            on_progress=bar.update if bar is not None else (lambda done, total: None))
    if not quiet:
        s = summary
        raw = s.samples * s.channels * 8
        line = (f"{s.samples} samples x {s.channels} channel{'s' if s.channels > 1 else ''} -> "
                f"{s.rows} rows, {human_bytes(s.bytes_stored)} stored in {s.output} (+ .json); "
                f"ratio {raw / s.bytes_stored:.2f}x vs float64 ({human_bytes(raw)})")
        if s.input_bytes and s.input_kind == "csv":
            line += (f", {s.input_bytes / s.bytes_stored:.2f}x vs the CSV "
                     f"({human_bytes(s.input_bytes)})")
        say(line)
        if s.bytes_stored > min(raw, s.input_bytes or raw):
            say(f"note: {s.output} is larger than its input; to compress, use --max-error 1% "
                "(a .hippo file with a guaranteed bound), or fewer rows (--every K, "
                "--reset-every K)")
        say(f"next: hippo reconstruct {s.output} --plot")


def _compress_bounded(input: str, output: str | None, max_error: str,
                      columns: list[str] | None, time_column: str | None, nan: str,
                      quiet: bool) -> None:
    from ..pipelines.bounded import MaxError, compress_bounded

    bound = MaxError.parse(max_error)
    if _many_inputs(input):
        raise ParameterError("--max-error compresses one input at a time for now")
    with progress_bar(not quiet, None, "compress") as bar:
        s = compress_bounded(
            input, output, bound, columns=columns, time_column=time_column, nan=nan,
            on_note=(lambda note: None) if quiet else say,
            on_progress=bar.update if bar is not None else (lambda done, total: None))
    if not quiet:
        raw = s.samples * s.channels * 8
        line = (f"{s.samples} samples x {s.channels} channel{'s' if s.channels > 1 else ''} -> "
                f"{human_bytes(s.bytes_stored)} in {s.output}; ratio {raw / s.bytes_stored:.2f}x "
                f"vs float64")
        if s.input_bytes and s.input_kind == "csv":
            line += f", {s.input_bytes / s.bytes_stored:.2f}x vs the CSV"
        bounds = sorted(set(s.max_errors))
        line += f"; every sample within {', '.join(f'{b:.6g}' for b in bounds)}"
        say(line)
        if s.output != "-":
            say(f"next: hippo reconstruct {s.output} -o restored.csv")


def _compress_many(ctx: typer.Context, input: str, output: str | None, max_error: str | None,
                   measure, N, theta, dt, method, init, legs_time, alpha, beta,
                   column: list[str] | None, every: int | None, time_column: str | None,
                   dtype, id_column: str | None, engine, scheduler: str | None,
                   overwrite: bool, quiet: bool, tolerance: float | None,
                   reset_every: int | None, quantize: int | None) -> None:
    from ..pipelines.many import SeriesMode
    from ..pipelines.many_files import compress_many

    if tolerance is not None:
        raise ParameterError("--tolerance chooses blocks from a whole series' errors; with "
                             "--id-column or many inputs use --reset-every (block mode) or "
                             "--max-error (a guaranteed bound per series)")
    if max_error is not None:
        from ..pipelines.bounded import MaxError

        refuse_coefficient_options(ctx, allowed=("id_column", "engine", "scheduler"))
        bound = MaxError.parse(max_error)
        if bound.percent:
            raise ParameterError("many series take an absolute --max-error (a percentage would "
                                 "need a first pass over every series)")
        mode = SeriesMode(max_error=bound.value)
    else:
        enc = build_encoder(measure, N, theta, dt, method, init, legs_time, reset_every, alpha,
                            beta)
        from ..pipelines.compress import row_rule

        mode = SeriesMode(params=enc.params(), every=row_rule(enc, every, value(dtype), quantize),
                          dtype=value(dtype), quantize=quantize)
    manifest = compress_many(input, output, mode, id_column=id_column, columns=column,
                             time_column=time_column, engine=value(engine),
                             scheduler=scheduler, overwrite=overwrite)
    if not quiet:
        folder = str(Path(output)) if output else output
        say(f"{len(manifest['series'])} series -> {folder}{'' if folder.endswith('/') else '/'}"
            " (manifest.json lists every id and its file)")
