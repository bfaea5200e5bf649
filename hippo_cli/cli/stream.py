"""``hippo stream``: stdin lines in, coefficient rows out, live."""

from __future__ import annotations

from pathlib import Path

import typer

from ..errors import ParameterError
from .app import (
    ALPHA,
    BETA,
    DT,
    EVERY,
    INIT,
    LEGS_TIME,
    MEASURE,
    METHOD,
    NAN,
    ORDER,
    THETA,
    Init,
    Interrupted,
    LegsTime,
    Measure,
    Method,
    NanPolicy,
    app,
    build_encoder,
    cli_errors,
    refuse_coefficient_options,
    say,
    value,
)


@app.command()
@cli_errors
def stream(
    ctx: typer.Context,
    measure: Measure = MEASURE,
    N: int = ORDER,
    theta: float | None = THETA,
    dt: float | None = DT,
    method: Method = METHOD,
    init: Init | None = INIT,
    legs_time: LegsTime | None = LEGS_TIME,
    alpha: float | None = ALPHA,
    beta: float | None = BETA,
    every: int = EVERY,
    nan: NanPolicy = NAN,
    state: Path | None = typer.Option(None, "--state", help="Resume from this state file "
                                         "if it exists; save it at EOF, SIGINT and SIGTERM."),
    checkpoint_every: int | None = typer.Option(None, "--checkpoint-every", help="Also save "
                                                   "--state every K samples (after their rows "
                                                   "are written)."),
    time_column: str | None = typer.Option(None, "--time-column", "-t", help="Name of the "
                                           "time field (needs a header line); rows then carry "
                                           "their time."),
    header: bool = typer.Option(True, "--header/--no-header", help="Write a header line."),
    max_error: str | None = typer.Option(None, "--max-error", "-E", help="Compress into a "
                                         ".hippo file (-o) in which every sample is within "
                                         "this absolute bound."),
    output: str | None = typer.Option(None, "--output", "-o", help="With --max-error: the "
                                      ".hippo file (appended to if it exists; - for stdout)."),
    flush_every: int = typer.Option(65536, "--flush-every", help="With --max-error: write a "
                                    "frame after this many samples (and after 10 s with "
                                    "samples pending, and at the end; smaller frames cost "
                                    "bytes)."),
) -> None:
    """Encode stdin line by line, live: coefficient rows on stdout, or (--max-error) a
    .hippo file written frame by frame.

    Input: one number per line, or comma-separated values for several channels (a first
    line of names is a header). Output: step,c0,...,c{N-1} (channels one after another),
    flushed as soon as it is computed. With --max-error E -o live.hippo: frames are appended
    as they fill; the file is readable up to its last frame while it grows and after a
    crash, and running the same command again appends to it.
    """
    if max_error is not None:
        _stream_bounded(ctx, max_error, output, value(nan), time_column, flush_every)
        return
    if output is not None:
        raise ParameterError("-o applies with --max-error (coefficient rows go to stdout)")
    from ..engine.emission import check_every
    from ..pipelines.stream import run_stream

    enc = build_encoder(measure, N, theta, dt, method, init, legs_time, alpha=alpha, beta=beta)
    check_every(every)
    run_stream(enc, every=every, nan=value(nan), state_path=state, header=header,
               interrupted=Interrupted, checkpoint_every=checkpoint_every,
               time_column=time_column, on_note=say)


def _stream_bounded(ctx: typer.Context, max_error: str, output: str | None, nan: str,
                    time_column: str | None, flush_every: int) -> None:
    from ..checks import integer_at_least
    from ..pipelines.bounded import MaxError
    from ..pipelines.stream import run_stream_bounded

    refuse_coefficient_options(ctx)
    bound = MaxError.parse(max_error)
    if bound.percent:
        raise ParameterError("hippo stream reads stdin: --max-error must be absolute (the "
                             "value range is not known in advance)")
    if output is None:
        raise ParameterError("--max-error needs -o FILE.hippo (or -o - for stdout)")
    integer_at_least("--flush-every", flush_every, 1, 1 << 20)
    run_stream_bounded(output, bound.value, nan=nan, interrupted=Interrupted,
                       time_column=time_column, flush_every=flush_every, on_note=say)
