"""``hippo compress`` of one series: samples in, a coefficient file (+ sidecar) out."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path

from ..atomic import OutputLock, check_output_path
from ..checks import positive_number
from ..engine import HiPPO, numpy_steps
from ..engine.emission import check_every
from ..errors import DataError, ParameterError
from ..formats.coefficients import (
    CoefficientWriter,
    coefficient_metadata,
    stored_time_part,
    timing_metadata,
)
from ..formats.nan_policy import coefficient_policy
from ..formats.quantize import quantized_dtype, stored_dtype
from ..formats.samples import open_samples, prefetch, timed_chunks
from ..formats.timestamps import written_template
from ..storage import as_path
from .encode import RowEncoder


@dataclass
class CompressSummary:
    """What a compress run wrote (for the CLI's summary line)."""

    output: Path
    samples: int
    channels: int
    rows: int
    bytes_stored: int
    input_kind: str
    input_bytes: int | None


def check_suffix(out: Path, suffix: str, what: str, hint: str) -> None:
    """An output name whose suffix says another format is refused (``-o out.csv`` would
    otherwise hold binary data); devices and FIFOs have no suffix to check."""
    from ..atomic import write_through_target

    if out.suffix.lower() != suffix and not write_through_target(out):
        raise ParameterError(f"{out}: the output is {what}; give it a {suffix} name ({hint})")


def default_output(input_path: str) -> Path:
    """``signal.csv`` -> ``signal.coeffs.npy`` (stdin: ``coeffs.npy``)."""
    if input_path == "-":
        return Path("coeffs.npy")
    p = as_path(input_path)
    return p.with_name(p.stem + ".coeffs.npy")


def row_rule(enc: HiPPO, every: int | None, dtype: str, quantize: int | None) -> int:
    """Check how coefficient rows are written (one series or many): ``every`` (default: the
    encoder's ``reset_every`` or 1) must divide ``reset_every``; ``quantize`` bits fit N and
    exclude ``dtype``. Returns ``every``."""
    if quantize is not None and dtype != "float64":
        raise ParameterError("--quantize and --dtype exclude each other")
    reset_every = enc.reset_every
    every = check_every(reset_every or 1 if every is None else every)
    if reset_every is not None and reset_every % every:
        raise ParameterError(f"--every ({every}) must divide --reset-every ({reset_every})")
    if quantize is not None:
        quantized_dtype(enc.N, quantize)  # validates the bit count before any work
    return every


def _encode_rows(enc: HiPPO, chunks, writer: CoefficientWriter, samples, every: int,
                 time_column: str | None, time_parts: list, tolerance: float | None,
                 error: str, max_block: int, on_progress: Callable
                 ) -> tuple[list[int] | None, int, list[float]]:
    """Encode ``chunks`` into ``writer``: rows every ``every`` samples (and the sample times
    into ``time_parts``), or the blocks :mod:`.tolerance` chooses. Returns (block ends or
    None, samples, row times)."""
    C = len(samples.columns)
    if tolerance is not None:
        from .tolerance import tolerance_blocks

        ends = []
        blocks = (block for block, _ in chunks)
        for end, state in tolerance_blocks(blocks, enc.params(), tolerance, error, max_block):
            writer.append(state[None] if C > 1 else state[:1])
            ends.append(int(end))
            on_progress(samples.bytes_read, samples.size_bytes)
        return ends, (ends[-1] + 1 if ends else 0), []
    encoder = RowEncoder(enc, every)
    for block, times in chunks:
        writer.append(encoder.feed_block(block, time_column is not None).coeffs)
        if time_column:
            time_parts.append(stored_time_part(times))
        on_progress(samples.bytes_read, samples.size_bytes)
    writer.append(encoder.finish().coeffs)
    return None, enc.steps, encoder.row_times


def compress_file(
    input: str,
    output: str | Path | None,
    enc: HiPPO,
    *,
    every: int | None = None,
    columns: list[str] | None = None,
    time_column: str | None = None,
    nan: str = "error",
    na_values: list[str] | None = None,
    time_format: str | None = None,
    dtype: str = "float64",
    quantize: int | None = None,
    tolerance: float | None = None,
    error: str = "max",
    max_block: int = 65536,
    on_note: Callable[[str], None] = lambda note: None,
    on_progress: Callable[[int, int | None], None] = lambda done, total: None,
) -> CompressSummary:
    """Encode every column of ``input`` with ``enc`` (fresh) and write its coefficients.

    Rows: the steps k with (k + 1) % every == 0 plus the final step (``every`` defaults to
    the encoder's ``reset_every`` or 1); with ``tolerance``, the ends of the LegS blocks
    chosen so that every sample is reconstructed within it (:mod:`.tolerance`). The output
    (``.npy`` + ``.json`` sidecar) appears only when the run succeeds. ``na_values``: texts
    that mean a missing value (then ``nan`` applies).
    """
    reset_every = enc.reset_every
    if tolerance is not None:
        tolerance = positive_number("--tolerance", tolerance)
    if tolerance is not None and (every is not None or reset_every is not None):
        raise ParameterError("--tolerance chooses the blocks itself: drop --every/--reset-every")
    if time_column is not None and tolerance is not None:
        raise ParameterError("--time-column does not combine with --tolerance (its blocks are "
                             "chosen by sample count); use --reset-every for blocks with times, "
                             "or --max-error for a guaranteed bound")
    if tolerance is not None and (quantize is not None or dtype != "float64"):
        # the blocks are verified on float64 coefficients: rounding them afterwards would
        # break the bound the file claims
        raise ParameterError("--tolerance keeps float64 coefficients (its bound is checked on "
                             "them); for a small file with a guaranteed bound use --max-error")
    every = row_rule(enc, every, dtype, quantize)
    coefficient_policy(nan)
    if output == "-":
        raise ParameterError("compress writes an .npy plus a JSON sidecar, not stdout "
                             "(use hippo stream for rows on stdout)")
    out = as_path(output) if output else default_output(input)
    check_output_path(out)
    check_suffix(out, ".npy", "a coefficient file (an .npy and its sidecar)",
                 "for a .hippo file use --max-error")
    with OutputLock(out):  # one writer: refused before any input is read
        return _compress_into(out, input, enc, every, columns, time_column, nan, na_values,
                              time_format, dtype, quantize, tolerance, error, max_block,
                              on_note, on_progress)


def _compress_into(out: Path, input: str, enc: HiPPO, every: int, columns, time_column, nan,
                   na_values, time_format, dtype, quantize, tolerance, error, max_block,
                   on_note, on_progress) -> CompressSummary:
    samples = open_samples(input, columns, time_column, na_values=na_values,
                           time_format=time_format)
    samples.increasing = True  # each HiPPO step has a length: times must increase
    for note in samples.notes:
        on_note(f"{samples.name}: {note}")
    C = len(samples.columns)
    row_shape = (enc.N,) if C == 1 else (C, enc.N)
    time_parts: list[list] = []  # the sample times, exactly and compactly (a few bytes
    # per chunk at a regular cadence)
    with CoefficientWriter(out, row_shape, dtype, quantize) as writer:
        chunks = timed_chunks(samples, nan)
        if samples.size_bytes is not None:  # a file; stdin is read in this thread, so that
            chunks = prefetch(chunks)  # Ctrl-C while it waits on a pipe is a clean exit
        # a file is a bounded input: its small chunks need no numba start-up
        small = numpy_steps.allowed() if samples.size_bytes is not None else nullcontext()
        with small:
            ends, total, row_times = _encode_rows(enc, chunks, writer, samples, every,
                                                  time_column, time_parts, tolerance, error,
                                                  max_block, on_progress)
        if total == 0:
            raise DataError(f"{samples.name}: no samples")
        meta = coefficient_metadata(
            enc.params(), every=1 if ends is not None else every, samples=total,
            rows=writer.rows, columns=samples.columns,
            dtype=stored_dtype(dtype, quantize),
            input_name=samples.name, input_bytes=samples.size_bytes, nan=nan,
            quantize=quantize, block_ends=ends,
            tolerance={"value": tolerance, "error": error, "max_block": max_block}
            if tolerance is not None else None,
            timing=timing_metadata(time_column, enc.snapshot().clock, row_times, time_parts,
                                   written_template(samples.kind, samples.time_text,
                                                    samples.time_format))
            if time_column else None,
        )
        writer.commit(meta)
    stored = writer.bytes_written + writer.sidecar_bytes
    return CompressSummary(out, total, C, writer.rows, stored, samples.kind,
                           samples.size_bytes)
