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
    NA_VALUES,
    NAN,
    ORDER,
    PANEL_BOUNDED,
    PANEL_HIPPO,
    PANEL_IO,
    QUIET,
    THETA,
    TIME_FORMAT,
    VERBOSE,
    GroupedCommand,
    Init,
    Interrupted,
    LegsTime,
    Measure,
    Method,
    NanPolicy,
    app,
    build_encoder,
    check_mode_options,
    cli_errors,
    decoder_compiled_beside,
    na_list,
    say,
    value,
)


@app.command(cls=GroupedCommand)
@cli_errors
def stream(
    ctx: typer.Context,
    nan: NanPolicy = NAN,
    time_column: str | None = typer.Option(None, "--time-column", "-t", help="Name of the "
                                           "time field (needs a header line); rows then carry "
                                           "their time; Date,Time joins two columns.",
                                           rich_help_panel=PANEL_IO),
    na_values: str | None = NA_VALUES,
    time_format: str | None = TIME_FORMAT,
    max_error: str | None = typer.Option(None, "--max-error", "-E", help="Compress into a "
                                         ".hippo file (-o) in which every sample is within "
                                         "this absolute bound.",
                                         rich_help_panel=PANEL_BOUNDED),
    output: str | None = typer.Option(None, "--output", "-o", help="The .hippo file "
                                      "(appended to if it exists; - for stdout).",
                                      rich_help_panel=PANEL_BOUNDED),
    flush_every: int = typer.Option(65536, "--flush-every", help="Write a frame after this "
                                    "many samples (and after 10 s with samples pending, and "
                                    "at the end; smaller frames cost bytes).",
                                    rich_help_panel=PANEL_BOUNDED),
    key_every: int = typer.Option(1 << 20, "--key-every", help="Chain frames (each continues "
                                  "the coder's state of the one before: frequent flushes cost "
                                  "little), with an independent key frame at least every this "
                                  "many samples; 0: every frame independent.",
                                  rich_help_panel=PANEL_BOUNDED),
    skip_stored: bool = typer.Option(False, "--skip-stored", help="Resuming a file with "
                                     "--time-column: skip the first samples whose times are "
                                     "at or before the last stored time (a stream run again), "
                                     "with a count; without it they are refused.",
                                     rich_help_panel=PANEL_BOUNDED),
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
    state: str | None = typer.Option(None, "--state", help="Resume from this state file "
                                      "if it exists; save it at EOF, SIGINT and SIGTERM.",
                                      rich_help_panel=PANEL_HIPPO),
    checkpoint_every: int | None = typer.Option(None, "--checkpoint-every", help="Also save "
                                                "--state every K samples (after their rows "
                                                "are written).", rich_help_panel=PANEL_HIPPO),
    header: bool = typer.Option(True, "--header/--no-header", help="Write a header line.",
                                rich_help_panel=PANEL_HIPPO),
    quiet: bool = QUIET,
    verbose: bool = VERBOSE,
) -> None:
    """Encode stdin line by line, live: coefficient rows on stdout, or (--max-error) a
    .hippo file written frame by frame.

    Input: one number per line, or comma-separated values for several channels (a first
    line of names is a header). Output: step,c0,...,c{N-1} (channels one after another),
    flushed as soon as it is computed. With --max-error E -o live.hippo: frames are appended
    as they fill; the file is readable up to its last frame while it grows and after a
    crash, gets its footer when the stream ends, and running the same command again
    appends to it. Resuming with --time-column: the first new time must come after the last
    stored one, else the run is refused naming the line (--skip-stored drops the lines
    already stored instead, with a count); without --time-column there is nothing to
    compare, so every line sent is appended after the stored samples: send only new lines.
    An empty or torn-header file left by a killed stream is started anew (with a note).
    An existing -o file or --state file is resumed, never replaced (running a stream
    again asks for that; there is no -f). One writer at a time: a second stream (or
    compress) onto the same file is refused, naming the other process. -o /dev/null
    discards; a FIFO output is written as a pipe (refused if no process reads it within
    2 s).
    """
    from ..atomic import note_stdin

    bounded = max_error is not None
    check_mode_options(ctx, (PANEL_IO, PANEL_BOUNDED if bounded else PANEL_HIPPO))
    note_stdin()  # stdin redirected from a file: that file is an input, never the output
    if bounded:
        from ..pipelines.bounded import MaxError, stream_bounded

        with decoder_compiled_beside(time_column is not None):
            stream_bounded(output, MaxError.parse(max_error), nan=value(nan),
                               interrupted=Interrupted, time_column=time_column,
                               flush_every=flush_every, on_note=say,
                               na_values=na_list(na_values), time_format=time_format,
                               skip_stored=skip_stored, key_every=key_every)
        return
    from ..engine.emission import check_every
    from ..pipelines.stream import run_stream

    enc = build_encoder(measure, N, theta, dt, method, init, legs_time, alpha=alpha, beta=beta)
    check_every(every)
    run_stream(enc, every=every, nan=value(nan), state_path=state_file(state), header=header,
               interrupted=Interrupted, checkpoint_every=checkpoint_every,
               time_column=time_column, on_note=say, na_values=na_list(na_values),
               time_format=time_format)


def state_file(text: str | None) -> Path | None:
    """``--state`` as a local path (``file://`` too); an object store's URL is refused: the
    state is rewritten in place at every checkpoint, which a store cannot do atomically."""
    if text is None:
        return None
    from ..errors import ParameterError
    from ..storage import is_remote, local_or_url

    if is_remote(text):
        raise ParameterError(f"--state {text}: must be a local file (it is rewritten at "
                             "every checkpoint); keep it on a local disk")
    return Path(local_or_url(text))
