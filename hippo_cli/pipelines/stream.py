"""``hippo stream``: stdin lines in, coefficient rows out, live.

Input is read with ``os.read`` (returns whatever has arrived, :mod:`.live`), split into lines,
and every batch of complete lines goes through the encoder in one kernel call; its rows are
written and flushed before the next read. So a slow sensor gets a row per line at once, and a
fast pipe is processed in large batches. (``hippo stream --max-error`` is
:func:`.bounded.stream_bounded`.)
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

import numpy as np

from ..atomic import OutputLock, allow_rewrite, check_output_path, stdout_binary
from ..engine import HiPPO
from ..engine.state import save_state
from ..errors import DataError, ParameterError
from ..formats.nan_policy import coefficient_policy
from ..formats.stream_lines import LineParser, format_rows, header_line
from .encode import RowEncoder
from .live import Signals, deliver, read_batches, stdin_reader


def run_stream(
    enc: HiPPO,
    *,
    every: int,
    nan: str,
    state_path: Path | None,
    header: bool,
    interrupted: type[Exception],
    checkpoint_every: int | None = None,
    time_column: str | None = None,
    infd: int | None = None,
    out=None,
    on_note=None,
    na_values: list[str] | None = None,
    time_format: str | None = None,
) -> int:
    """Encode lines from ``infd`` (stdin) and write CSV rows to ``out`` (stdout) live.

    Returns the number of samples consumed. Saves the state (atomically) to ``state_path`` at
    EOF, on a bad line, SIGINT (exit 130) and SIGTERM (exit 143), and - with
    ``checkpoint_every = K`` - whenever the global step count reaches a multiple of K, right
    after the rows of those samples were flushed. After a crash, the state's ``steps`` says
    which sample to feed next: rows are delivered at least once, never lost. The state file
    is locked for the whole run: a second stream with the same ``--state`` is refused.
    """
    if checkpoint_every is not None and (state_path is None or checkpoint_every < 1):
        raise ParameterError("--checkpoint-every needs --state and a value >= 1")
    if state_path is None:
        return _run(enc, None, every=every, nan=nan, header=header, interrupted=interrupted,
                    checkpoint_every=checkpoint_every, time_column=time_column, infd=infd,
                    out=out, on_note=on_note, na_values=na_values, time_format=time_format)
    check_output_path(state_path)  # before any input is consumed
    with OutputLock(state_path):  # one stream per state file
        return _run(enc, state_path, every=every, nan=nan, header=header,
                    interrupted=interrupted, checkpoint_every=checkpoint_every,
                    time_column=time_column, infd=infd, out=out, on_note=on_note,
                    na_values=na_values, time_format=time_format)


def _run(enc: HiPPO, state_path: Path | None, *, every, nan, header, interrupted,
         checkpoint_every, time_column, infd, out, on_note, na_values=None,
         time_format=None) -> int:
    if state_path is not None and state_path.exists():
        saved = HiPPO.load(state_path)
        allow_rewrite(state_path)  # read, then saved again: the state file's whole job
        if saved.params() != enc.params():
            raise ParameterError(f"{state_path}: state was made with {saved.params()}, "
                                 f"the options say {enc.params()}")
        enc = saved
    read = stdin_reader() if infd is None else functools.partial(os.read, infd)
    out = stdout_binary() if out is None else out
    parser = LineParser(enc.channels, coefficient_policy(nan), time_column,
                        na_values=na_values, time_format=time_format)
    parser.increasing = True
    wrote_header = not header
    encoder = RowEncoder(enc, every)
    delivered = [enc.snapshot()]  # the state after the last rows that reached the reader
    with Signals(interrupted) as signals:

        timed = time_column is not None
        held = np.empty((0, 0))  # a timed legt/lagt stream's first sample, until a second

        def encode(x: np.ndarray) -> None:
            nonlocal wrote_header, held
            if timed and enc.steps == 0 and len(held):
                x = np.concatenate([held, x])
            if timed and enc.steps == 0 and len(x) == 1 and enc.measure != "legs" \
                    and enc.init == "zero":
                held = x  # its step length is the first interval: wait for sample 1
                return
            held = x[:0]
            width = x.shape[1] - timed
            for part in _split_at_checkpoints(x, enc.steps, checkpoint_every):
                signals.begin()  # held: the state, the rows and their delivery go together
                rows = encoder.feed_block(part, timed)
                chunks = []
                if not wrote_header:
                    chunks.append(header_line(enc.N, parser.names, width, timed))
                    wrote_header = True
                chunks.append(format_rows(rows.steps, rows.coeffs, rows.times))
                # a signal during the write ends the run with the state of the rows before
                # (they will be sent again on resume: at least once, never lost)
                deliver(out, b"".join(chunks), signals)
                delivered[0] = enc.snapshot()
                if checkpoint_every and enc.steps % checkpoint_every == 0:
                    save_state(state_path, enc.params(), delivered[0])
                signals.end()

        try:
            read_batches(read, parser, encode, on_note)
            if timed and enc.steps == 0 and len(held):
                raise DataError("a timed legt/lagt stream needs two samples (the first "
                                "interval sets the first step; or use --init steady)")
        finally:
            signals.busy = False
            if state_path is not None:
                signals.begin()  # a signal now must not cut the final save short
                save_state(state_path, enc.params(), delivered[0])
                signals.busy = False
    return enc.steps


def _split_at_checkpoints(x: np.ndarray, steps: int, k: int | None) -> list[np.ndarray]:
    """Split rows so that every part ends where the global step count hits a multiple of k."""
    if not k:
        return [x]
    parts = []
    start = 0
    first = (k - steps % k) % k or k
    for cut in range(first, len(x) + 1, k):
        parts.append(x[start:cut])
        start = cut
    if start < len(x):
        parts.append(x[start:])
    return parts
