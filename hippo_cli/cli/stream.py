"""``hippo stream``: stdin lines in, coefficient rows out, live."""

from __future__ import annotations

from pathlib import Path

import typer

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
    value,
)


@app.command()
@cli_errors
def stream(
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
) -> None:
    """Encode stdin line by line and write a CSV row per emitted step, live.

    Input: one number per line, or comma-separated values for several channels (a first
    line of names is a header). Output: step,c0,...,c{N-1} (channels one after another),
    flushed as soon as it is computed.
    """
    from ..engine.emission import check_every
    from ..pipelines.stream import run_stream

    enc = build_encoder(measure, N, theta, dt, method, init, legs_time, alpha=alpha, beta=beta)
    check_every(every)
    run_stream(enc, every=every, nan=value(nan), state_path=state, header=header,
               interrupted=Interrupted, checkpoint_every=checkpoint_every,
               time_column=time_column)
