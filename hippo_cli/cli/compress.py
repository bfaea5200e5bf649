"""``hippo compress``: a CSV/.npy/Parquet input (or many) into a ``.hippo`` file (bounded
error) or coefficient files (HiPPO). Each mode has its own pipeline; the options of a mode
are grouped under its help panel, and :func:`~.app.check_mode_options` refuses the options
of another mode."""

from __future__ import annotations

import os
from pathlib import Path

import typer

from .app import (
    ALPHA,
    BETA,
    DT,
    FORCE,
    INIT,
    LEGS_TIME,
    MEASURE,
    METHOD,
    NA_VALUES,
    NAN,
    ORDER,
    PANEL_BOUNDED,
    PANEL_HIPPO,
    PANEL_IO,
    PANEL_MANY,
    QUIET,
    THETA,
    TIME_FORMAT,
    VERBOSE,
    Engine,
    GroupedCommand,
    Init,
    LegsTime,
    Measure,
    Method,
    NanPolicy,
    OutDtype,
    app,
    build_encoder,
    check_mode_options,
    cli_errors,
    decoder_compiled_beside,
    detail,
    human_bytes,
    inputs,
    na_list,
    progress_bar,
    say,
    value,
)
from .paths import check_output, is_stdio


def _many_inputs(path: str) -> bool:
    from ..atomic import is_object_url

    if is_object_url(path):
        from ..storage import is_prefix

        return is_prefix(path)
    return path != "-" and (any(ch in path for ch in "*?[") or Path(path).is_dir())


@app.command(cls=GroupedCommand)
@cli_errors
def compress(
    ctx: typer.Context,
    input: list[str] = typer.Argument(..., help="CSV file (header optional), - for stdin, "
                                      ".npy of shape (L,) or (L, C), or Parquet; several: "
                                      "each to its own output; a quoted glob or a folder: "
                                      "one series per file (then -o is a folder).",
                                      metavar="INPUT"),
    output: str | None = typer.Option(None, "--output", "-o", help="Output file [<input "
                                      "stem>.hippo with --max-error, else <input "
                                      "stem>.coeffs.npy]; - for stdout (.hippo); one input "
                                      "only.", rich_help_panel=PANEL_IO),
    column: list[str] | None = typer.Option(None, "--column", "-c", help="Column to encode "
                                            "(repeatable) [every numeric column].",
                                            rich_help_panel=PANEL_IO),
    time_column: str | None = typer.Option(None, "--time-column", "-t", help="Sample times "
                                           "(numbers or ISO timestamps), stored exactly; "
                                           "HiPPO steps then use their real length. Two "
                                           "columns (Date,Time): joined by a space.",
                                           rich_help_panel=PANEL_IO),
    time_format: str | None = TIME_FORMAT,
    nan: NanPolicy = NAN,
    na_values: str | None = NA_VALUES,
    quiet: bool = QUIET,
    verbose: bool = VERBOSE,
    force: bool = FORCE,
    max_error: str | None = typer.Option(None, "--max-error", "-E", help="Write a .hippo "
                                         "file in which every sample is within E: an "
                                         "absolute value, or a percentage of each column's "
                                         "range (1%).",
                                         rich_help_panel=PANEL_BOUNDED),
    level: str = typer.Option("default", "--level", help="With --max-error: fast, default or "
                              "best - the encoder's search (speed against size). One decoder "
                              "reads all three; where best keeps its mixing codec (noisy "
                              "series) a file decodes about 10-20x slower.",
                              rich_help_panel=PANEL_BOUNDED),
    threads: int | None = typer.Option(None, "--threads", help="With --max-error: threads "
                                       "that encode channels and frames at once [the cores "
                                       "available]; the file is the same for any number.",
                                       min=1, rich_help_panel=PANEL_BOUNDED),
    measure: Measure = MEASURE,
    N: int = ORDER,
    theta: float | None = THETA,
    dt: float | None = DT,
    method: Method = METHOD,
    init: Init | None = INIT,
    legs_time: LegsTime | None = LEGS_TIME,
    alpha: float | None = ALPHA,
    beta: float | None = BETA,
    every: int | None = typer.Option(None, "--every", "-e", help="Emit the state after every "
                                     "K-th sample [1; with --reset-every: the block length].",
                                     rich_help_panel=PANEL_HIPPO),
    reset_every: int | None = typer.Option(None, "--reset-every", help="Block mode: restart the "
                                           "encoder every K samples (a row ends each block).",
                                           rich_help_panel=PANEL_HIPPO),
    tolerance: float | None = typer.Option(None, "--tolerance", help="legs: choose the blocks "
                                           "so that every sample is reconstructed within E "
                                           "(coefficient files; the compressor is "
                                           "--max-error).", rich_help_panel=PANEL_HIPPO),
    error: str = typer.Option("max", "--error", help="With --tolerance: bound the max abs "
                              "error of each sample (max) or each block's RMSE (rmse).",
                              rich_help_panel=PANEL_HIPPO),
    max_block: int = typer.Option(65536, "--max-block", help="With --tolerance: the longest "
                                  "block (and the look-ahead) in samples.",
                                  rich_help_panel=PANEL_HIPPO),
    dtype: OutDtype = typer.Option(OutDtype.float64, "--dtype", help="Output dtype "
                                   "(the computation is always float64).",
                                   case_sensitive=False, rich_help_panel=PANEL_HIPPO),
    quantize: int | None = typer.Option(None, "--quantize", help="Store each row as BITS-bit "
                                        "integers (2-16) with a float32 scale per row. No "
                                        "error bound: for one, use --max-error.",
                                        rich_help_panel=PANEL_HIPPO),
    id_column: str | None = typer.Option(None, "--id-column", help="Long format: each id is its "
                                         "own series; -o is then a folder (one file per "
                                         "series and manifest.json).",
                                         rich_help_panel=PANEL_MANY),
    engine: Engine = typer.Option(Engine.local, "--engine", help="Many series: on this "
                                  "machine or on a Dask cluster.", case_sensitive=False,
                                  rich_help_panel=PANEL_MANY),
    scheduler: str | None = typer.Option(None, "--scheduler", help="Dask scheduler address, "
                                         "or threads (this process) [a local cluster sized "
                                         "to the machine].", rich_help_panel=PANEL_MANY),
    partition_size: str | None = typer.Option(None, "--partition-size", help="--engine dask: "
                                              "bytes of a long CSV per partition, e.g. 16MB "
                                              "[64MB].", rich_help_panel=PANEL_MANY),
    overwrite: bool = typer.Option(False, "--overwrite", hidden=True,
                                   help="Deprecated: -f/--force.", rich_help_panel=PANEL_IO),
) -> None:
    """Compress every numeric column of INPUT (several: each to its own output).

    With --max-error E: a .hippo file (default <input stem>.hippo; - for stdout) in which
    every decoded sample is within E - the compressor. Without: the HiPPO coefficients
    after every K-th sample, an .npy of shape (R, N) for one column or (R, C, N) for C
    columns (rows: steps k with (k + 1) % every == 0, plus the final step; with
    --tolerance: the ends of the chosen blocks), and a JSON sidecar <output>.json with the
    settings. The output appears only when the run succeeds; an existing one is replaced
    only with -f.
    """
    if overwrite:
        say("warning: --overwrite is deprecated: use -f/--force (the same)")
        force = True
    many = (id_column is not None or value(engine) == "dask"
            or any(_many_inputs(path) for path in input))
    bounded = max_error is not None
    check_mode_options(ctx, (PANEL_IO, PANEL_BOUNDED if bounded else PANEL_HIPPO,
                             *((PANEL_MANY,) if many else ())))

    def one(path: str, out: str | None) -> None:
        """Compress the one input ``path`` into ``out`` (None: the default name)."""
        if bounded:
            _compress_bounded(path, out, max_error, column, time_column, value(nan),
                              na_list(na_values), time_format, quiet,
                              codec={"level": level, "threads": threads})
        else:
            _compress_coefficients(path, out, measure, N, theta, dt, method, init, legs_time,
                                   alpha, beta, column, every, reset_every, tolerance, error,
                                   max_block, value(dtype), quantize, time_column, value(nan),
                                   na_list(na_values), time_format, quiet)

    if len(input) > 1:
        _compress_each(input, output, bounded, many, force, one)
        return
    input = input[0]
    if not _many_inputs(input):
        inputs(input)
    if many:
        from ..errors import ParameterError
        from ..pipelines.many import SeriesMode

        if na_values is not None or time_format is not None:
            # said, not ignored: the many-series readers do not take them yet
            raise ParameterError("--na-values and --time-format apply to one series at a "
                                 "time, not yet with --id-column, --engine dask or several "
                                 "inputs")

        if bounded:
            from ..pipelines.bounded import MaxError

            mode = SeriesMode.bounded_mode(MaxError.parse(max_error))
        else:
            enc = build_encoder(measure, N, theta, dt, method, init, legs_time, reset_every,
                                alpha, beta)
            mode = SeriesMode.coefficient_mode(enc, every, value(dtype), quantize, tolerance)
        _compress_many(input, output, mode, column, time_column, id_column, value(engine),
                       scheduler, force, quiet, partition_size)
        return
    for out in output_files(input, output, bounded):
        check_output(out, force)
    _timed(input, lambda: one(input, output))


def output_files(input: str, output: str | None, bounded: bool) -> list[str]:
    """The files compressing the one input ``input`` writes: ``output`` or the default name
    (<stem>.hippo, <stem>.coeffs.npy; stdin with --max-error: stdout, ``-``), and a
    coefficient file's sidecar (none for a device such as /dev/null)."""
    if bounded:
        from ..pipelines.bounded import default_output

        return [output or default_output(input)]
    from ..atomic import write_through_target
    from ..formats.coefficients import sidecar_path
    from ..pipelines.compress import default_output as default_coefficients
    from ..storage import as_path

    out = output or str(default_coefficients(input))
    if is_stdio(out) or write_through_target(as_path(out)):
        return [out]
    return [out, str(sidecar_path(as_path(out)))]


def _timed(input: str, run) -> None:
    """``run()``, with its time (and the input's rate) said under -v."""
    import time

    started = time.perf_counter()
    run()
    took = time.perf_counter() - started
    size = os.path.getsize(input) if not is_stdio(input) and os.path.isfile(input) else 0
    rate = f", {size / took / 1e6:.1f} MB/s of input" if size and took > 0 else ""
    detail(f"{input}: compressed in {took:.2f} s{rate}")


def _compress_each(paths: list[str], output: str | None, bounded: bool, many: bool,
                   force: bool, one) -> None:
    """Several inputs, each to its own output named as one input's would be (as zstd, xz
    and gzip do). Every output is checked before any input is read; then an input that
    fails is said (one line) and the others are still compressed; the exit code is 1 (2 if
    a failure was a usage error), and a failed input leaves no output."""
    from ..errors import HippoError, ParameterError
    from .app import starved

    if many:
        raise ParameterError("several inputs are compressed one by one; a quoted glob, a "
                             "folder, --id-column and --engine dask make one many-series "
                             "job of a single input")
    if output is not None:
        raise ParameterError("-o names one output; with several inputs each is written "
                             "beside its input (<stem>.hippo, <stem>.coeffs.npy): leave out "
                             "-o (or compress them one at a time)")
    if sum(is_stdio(p) for p in paths) > 1:
        raise ParameterError("- (stdin) can be read once")
    inputs(*paths)
    seen: dict[str, str] = {}
    for path in paths:
        for out in output_files(path, None, bounded):
            if not is_stdio(out):
                key = os.path.realpath(out)
                if key in seen:
                    raise ParameterError(f"{seen[key]} and {path} would both be written to "
                                         f"{out}: compress them one at a time with -o")
                seen[key] = path
            check_output(out, force)
    failed: list[str] = []
    code = 0
    for path in paths:
        try:
            _timed(path, lambda path=path: one(path, None))
        except HippoError as err:
            say(f"error: {(starved(err) if not isinstance(err, ParameterError) else None) or err}")
            failed.append(path)
            code = max(code, 2 if isinstance(err, ParameterError) else 1)
        except OSError as err:
            where = f"{err.filename}: " if err.filename else f"{path}: "
            say(f"error: {where}{err.strerror or err}")
            failed.append(path)
            code = max(code, 1)
    if failed:
        say(f"error: {len(failed)} of {len(paths)} inputs failed (no output for them): "
            f"{', '.join(failed)}")
        raise typer.Exit(code)


def _compress_coefficients(input: str, output: str | None, measure, N, theta, dt, method,
                           init, legs_time, alpha, beta, columns: list[str] | None,
                           every: int | None, reset_every: int | None,
                           tolerance: float | None, error: str, max_block: int, dtype: str,
                           quantize: int | None, time_column: str | None, nan: str,
                           na_values: list[str] | None, time_format: str | None,
                           quiet: bool) -> None:
    from ..pipelines.compress import compress_file

    enc = build_encoder(measure, N, theta, dt, method, init, legs_time, reset_every, alpha,
                        beta)
    with progress_bar(not quiet, None, "compress") as bar:
        summary = compress_file(
            input, output, enc, every=every, columns=columns, time_column=time_column,
            nan=nan, na_values=na_values, time_format=time_format, dtype=dtype,
            quantize=quantize, tolerance=tolerance, error=error, max_block=max_block,
            on_note=(lambda note: None) if quiet else say,
            on_progress=bar.update if bar is not None else (lambda done, total: None))
    if quiet:
        return
    s = summary
    raw = s.samples * s.channels * 8
    line = (f"{s.samples} samples x {s.channels} channel{'s' if s.channels > 1 else ''} -> "
            f"{s.rows} rows, {human_bytes(s.bytes_stored)} stored in {s.output}"
            f"{' (+ .json)' if _a_file(s.output) else ''}; "
            f"ratio {raw / s.bytes_stored:.2f}x vs float64 ({human_bytes(raw)})")
    if s.input_bytes and s.input_kind == "csv":
        line += (f", {s.input_bytes / s.bytes_stored:.2f}x vs the CSV "
                 f"({human_bytes(s.input_bytes)})")
    say(line)
    if s.bytes_stored > min(raw, s.input_bytes or raw):
        say(f"note: {s.output} is larger than its input; to compress, use --max-error 1% "
            "(a .hippo file with a guaranteed bound), or fewer rows (--every K, "
            "--reset-every K)")
    if _a_file(s.output):
        say(f"next: hippo reconstruct {s.output} --plot")


def _a_file(output) -> bool:
    """Whether ``output`` is a file to read back (not /dev/null, a FIFO, stdout)."""

    from ..atomic import is_object_url

    return str(output) != "-" and (is_object_url(output) or os.path.isfile(output))


def _compress_bounded(input: str, output: str | None, max_error: str,
                      columns: list[str] | None, time_column: str | None, nan: str,
                      na_values: list[str] | None, time_format: str | None,
                      quiet: bool, codec: dict | None = None) -> None:
    from ..codec.channel import level_options
    from ..errors import ParameterError
    from ..pipelines.bounded import MaxError, compress_bounded

    try:
        level_options((codec or {}).get("level", "default"))
    except ValueError as err:
        raise ParameterError(str(err), option="--level") from None
    bound = MaxError.parse(max_error)
    with decoder_compiled_beside(time_column is not None), \
            progress_bar(not quiet, None, "compress") as bar:
        s = compress_bounded(
            input, output, bound, columns=columns, time_column=time_column, nan=nan,
            na_values=na_values, time_format=time_format, codec=codec,
            on_note=(lambda note: None) if quiet else say,
            on_progress=bar.update if bar is not None else (lambda done, total: None))
    if quiet:
        return
    raw = s.samples * s.channels * 8
    line = (f"{s.samples} samples x {s.channels} channel{'s' if s.channels > 1 else ''} -> "
            f"{human_bytes(s.bytes_stored)} in {s.output}; ratio {raw / s.bytes_stored:.2f}x "
            f"vs float64")
    if s.input_bytes and s.input_kind == "csv":
        line += f", {s.input_bytes / s.bytes_stored:.2f}x vs the CSV"
    bounds = sorted(set(s.max_errors))
    line += f"; every sample within {', '.join(f'{b:.6g}' for b in bounds)}"
    say(line)
    if _a_file(s.output):
        say(f"next: hippo reconstruct {s.output} -o restored.csv")


def _compress_many(input: str, output: str | None, mode, columns: list[str] | None,
                   time_column: str | None, id_column: str | None, engine: str,
                   scheduler: str | None, force: bool, quiet: bool,
                   partition_size: str | None = None) -> None:
    from ..pipelines.many_files import compress_many

    manifest = compress_many(input, output, mode, id_column=id_column, columns=columns,
                             time_column=time_column, engine=engine,
                             scheduler=scheduler, overwrite=force,
                             partition_size=partition_size, say=None if quiet else say)
    if not quiet:
        from ..storage import as_path

        folder = str(as_path(output)) if output else output
        say(f"{len(manifest['series'])} series -> {folder}{'' if folder.endswith('/') else '/'}"
            " (manifest.json lists every id and its file)")
