"""The ``hippo`` command: a thin Typer layer over the library.

Only typer is imported at start-up; numpy, numba, pandas, scipy, rich and matplotlib are
imported inside the commands that need them, so ``hippo --help`` stays fast. Library errors
become one line on stderr: exit code 2 for usage errors, 1 for data errors.
"""

from __future__ import annotations

import functools
import os
import sys
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from ._version import __version__
from .errors import DataError, ParameterError

if TYPE_CHECKING:
    pass

app = typer.Typer(
    name="hippo",
    help="Online time-series compression with HiPPO (Gu et al., NeurIPS 2020).\n\n"
    "compress a CSV/.npy into N coefficients per step, reconstruct (and plot) the history "
    "they hold, stream stdin to coefficient rows live, and inspect files with info.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


class Measure(str, Enum):
    legs = "legs"
    legt = "legt"
    lagt = "lagt"
    lmu = "lmu"
    tlagt = "tlagt"
    glagt = "glagt"
    fout = "fout"
    foud = "foud"
    legsd = "legsd"


class Method(str, Enum):
    bilinear = "bilinear"
    zoh = "zoh"
    forward = "forward"
    backward = "backward"


class Init(str, Enum):
    zero = "zero"
    steady = "steady"


class LegsTime(str, Enum):
    natural = "natural"
    start = "start"


class NanPolicy(str, Enum):
    error = "error"
    skip = "skip"
    hold = "hold"


class Engine(str, Enum):
    local = "local"
    dask = "dask"


def _many_inputs(path: str) -> bool:
    return path != "-" and (any(ch in path for ch in "*?[") or Path(path).is_dir())


class OutDtype(str, Enum):
    float64 = "float64"
    float32 = "float32"


# --------------------------------------------------------------------------- shared options
MEASURE = typer.Option(Measure.legs, "--measure", "-m", help="History to remember: legs = all "
                       "of it; legt, lmu, fout = a sliding window of theta samples; lagt, "
                       "tlagt, glagt, foud, legsd = a fading past (time step dt).")
ALPHA = typer.Option(None, "--alpha", help="glagt: generalised Laguerre order [0].")
BETA = typer.Option(None, "--beta", help="glagt [0.01] / tlagt [1]: tilt of the measure.")
ORDER = typer.Option(64, "-N", "--order", help="Number of coefficients per channel.")
THETA = typer.Option(None, "--theta", help="legt, lmu, fout: window length in samples (in time "
                     "units with --time-column); required.")
DT = typer.Option(None, "--dt", help="lagt, tlagt, glagt, foud, legsd: step in the measure's "
                  "time unit (per time unit with --time-column) [1.0].")
METHOD = typer.Option(Method.bilinear, "--method", help="Discretisation.")
INIT = typer.Option(Init.zero, "--init", help="All but legs: start from zero (published) or "
                    "from the steady state of the first value (no start-up transient).")
LEGS_TIME = typer.Option(LegsTime.natural, "--legs-time", help="legs: tau = k + alpha "
                         "(natural, more accurate) or tau = k (paper eq. 11, hippo-code).")
EVERY = typer.Option(1, "--every", "-e", help="Emit the state after every K-th sample.")
NAN = typer.Option(NanPolicy.error, "--nan", help="Empty or NaN cells: error, skip the row, or "
                   "hold the channel's last value.")


class _Interrupted(Exception):
    def __init__(self, code: int) -> None:
        self.code = code


def _say(message: str) -> None:
    sys.stderr.write(f"hippo: {message}\n")
    sys.stderr.flush()


def _quiet_broken_pipe() -> None:
    # The reader went away (``| head``): silence the interpreter's final flush and stop.
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
    raise typer.Exit(0)


def _cli_errors(fn: Any) -> Any:
    """Turn library errors into one line on stderr and an exit code; never a traceback."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except typer.Exit:
            raise
        except ParameterError as err:
            _say(f"error: {err}")
            raise typer.Exit(2) from None
        except DataError as err:
            _say(f"error: {err}")
            raise typer.Exit(1) from None
        except BrokenPipeError:
            _quiet_broken_pipe()
        except _Interrupted as err:
            raise typer.Exit(err.code) from None
        except KeyboardInterrupt:
            raise typer.Exit(130) from None
        except MemoryError:
            _say("error: out of memory")
            raise typer.Exit(1) from None
        except OSError as err:
            where = f"{err.filename}: " if err.filename else ""
            _say(f"error: {where}{err.strerror or err}")
            raise typer.Exit(1) from None
        except Exception as err:  # a bug: still one line, with a way to see more
            if os.environ.get("HIPPO_DEBUG"):
                raise
            _say(f"internal error: {type(err).__name__}: {err} (HIPPO_DEBUG=1 shows a traceback)")
            raise typer.Exit(1) from None

    return wrapper


def _encoder(measure, N, theta, dt, method, init, legs_time, reset_every=None,  # noqa: ANN001
             alpha=None, beta=None):  # noqa: ANN001
    """Build the encoder from CLI options; an option given for the wrong measure is an error
    (the defaults of --init and --legs-time are not 'given')."""
    import warnings

    from .encoder import HiPPO

    kw: dict[str, Any] = {"theta": theta, "dt": dt, "method": method.value,
                          "reset_every": reset_every, "alpha": alpha, "beta": beta}
    if measure == Measure.legs:
        if init != Init.zero:
            raise ParameterError("--init does not apply to --measure legs")
        kw["legs_time"] = legs_time.value
    else:
        if legs_time != LegsTime.natural:
            raise ParameterError(f"--legs-time does not apply to --measure {measure.value}")
        kw["init"] = init.value
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        enc = HiPPO(measure.value, N, **kw)
    for w in caught:
        _say(f"warning: {w.message}")
    return enc


def _progress(enabled: bool, total: int | None, what: str):  # noqa: ANN202
    """A rich progress bar on stderr when stderr is a terminal; otherwise a no-op."""
    import contextlib

    if not enabled or not sys.stderr.isatty():
        return contextlib.nullcontext(None)
    from rich.console import Console
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn

    progress = Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), DownloadColumn(),
        TimeRemainingColumn(), console=Console(stderr=True), transient=True,
        redirect_stdout=False, redirect_stderr=False,
    )

    class _Bar:
        def __enter__(self):  # noqa: ANN204
            progress.__enter__()
            self.task = progress.add_task(what, total=total)
            return self

        def __exit__(self, *exc):  # noqa: ANN002, ANN204
            return progress.__exit__(*exc)

        def update(self, done: int) -> None:
            progress.update(self.task, completed=done)

    return _Bar()


def _default_output(input_path: str) -> Path:
    if input_path == "-":
        return Path("coeffs.npy")
    p = Path(input_path)
    return p.with_name(p.stem + ".coeffs.npy")


# --------------------------------------------------------------------------- commands
def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"hippo {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", help="Print the version and exit.",
                                 is_eager=True, callback=_print_version),
) -> None:
    """Online time-series compression with HiPPO (Gu et al., NeurIPS 2020)."""


@app.command()
@_cli_errors
def compress(
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
    init: Init = INIT,
    legs_time: LegsTime = LEGS_TIME,
    alpha: float | None = ALPHA,
    beta: float | None = BETA,
    column: list[str] | None = typer.Option(None, "--column", "-c", help="Column to encode "
                                               "(repeatable) [every numeric column]."),
    every: int | None = typer.Option(None, "--every", "-e", help="Emit the state after every "
                                     "K-th sample [1; with --reset-every: the block length]."),
    reset_every: int | None = typer.Option(None, "--reset-every", help="Block mode: restart the "
                                           "encoder every K samples (a row ends each block)."),
    tolerance: float | None = typer.Option(None, "--tolerance", help="legs: choose the blocks "
                                           "so that every sample is reconstructed within E."),
    error: str = typer.Option("max", "--error", help="With --tolerance: bound the max abs "
                              "error of each sample (max) or each block's RMSE (rmse)."),
    max_block: int = typer.Option(65536, "--max-block", help="With --tolerance: the longest "
                                  "block (and the look-ahead) in samples."),
    dtype: OutDtype = typer.Option(OutDtype.float64, "--dtype", help="Output dtype (the "
                                   "computation is always float64)."),
    quantize: int | None = typer.Option(None, "--quantize", help="Store each row as BITS-bit "
                                        "integers (2-16) with a float32 scale per row."),
    time_column: str | None = typer.Option(None, "--time-column", "-t", help="Sample times "
                                           "(numbers or ISO timestamps): each step then uses "
                                           "its real length; theta/dt are in time units."),
    nan: NanPolicy = NAN,
    id_column: str | None = typer.Option(None, "--id-column", help="Long format: each id is its "
                                         "own series; -o is then a folder (one .npy per series "
                                         "and manifest.json)."),
    engine: Engine = typer.Option(Engine.local, "--engine", help="Many series: on this machine "
                                  "or on a Dask cluster."),
    scheduler: str | None = typer.Option(None, "--scheduler", help="Dask scheduler address "
                                         "[a local cluster sized to the machine]."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress, no summary."),
) -> None:
    """Encode every column of INPUT and write the coefficients after every K-th sample.

    Output: an .npy of shape (R, N) for one column or (R, C, N) for C columns (rows: steps k
    with (k + 1) % every == 0, plus the final step; with --tolerance: the ends of the chosen
    blocks), and a JSON sidecar <output>.json with the settings. The output appears only
    when the run succeeds.
    """
    from .io import (
        CoefficientWriter,
        check_output_path,
        clean_chunks,
        coefficient_metadata,
        human_bytes,
        open_samples,
        prefetch,
    )

    if tolerance is not None and (every is not None or reset_every is not None):
        raise ParameterError("--tolerance chooses the blocks itself: drop --every/--reset-every")
    if id_column is not None or engine == Engine.dask or _many_inputs(input):
        from .fleet import compress_many

        enc = _encoder(measure, N, theta, dt, method, init, legs_time, None, alpha, beta)
        records = compress_many(
            input, output, enc.params(), id_column=id_column, columns=column,
            time_column=time_column, every=every or 1, dtype=dtype.value,
            engine=engine.value, scheduler=scheduler, extra=(tolerance, reset_every, quantize))
        if not quiet:
            _say(f"{len(records['series'])} series -> {output}/ (manifest.json)")
        return
    if time_column is not None and (tolerance is not None or reset_every is not None):
        raise ParameterError("--time-column does not combine with --tolerance/--reset-every")
    if quantize is not None and dtype != OutDtype.float64:
        raise ParameterError("--quantize and --dtype exclude each other")
    if every is None:
        every = reset_every or 1
    enc = _encoder(measure, N, theta, dt, method, init, legs_time, reset_every, alpha, beta)
    enc._check_every(every)
    if reset_every is not None and reset_every % every:
        raise ParameterError(f"--every ({every}) must divide --reset-every ({reset_every})")
    if quantize is not None:
        from .io import quantized_dtype

        quantized_dtype(enc.N, quantize)  # validates the bit count before any work
    if output == "-":
        raise ParameterError("compress writes an .npy plus a JSON sidecar, not stdout "
                             "(use hippo stream for rows on stdout)")
    out = Path(output) if output else _default_output(input)
    check_output_path(out)
    samples = open_samples(input, column, time_column)
    for note in samples.notes:
        if not quiet:
            _say(f"{samples.name}: {note}")
    C = len(samples.columns)
    row_shape = (enc.N,) if C == 1 else (C, enc.N)
    ends: list[int] | None = None
    with CoefficientWriter(out, row_shape, dtype.value, quantize) as writer, \
            _progress(not quiet, samples.size_bytes, "compress") as bar:
        chunks = prefetch(clean_chunks(samples, nan.value))
        if tolerance is not None:
            from .adaptive import tolerance_blocks

            ends = []
            for end, state in tolerance_blocks(chunks, enc.params(), tolerance, error,
                                               max_block):
                writer.append(state[None] if C > 1 else state[:1])
                ends.append(int(end))
                if bar is not None:
                    bar.update(samples.bytes_read)
            total = ends[-1] + 1 if ends else 0
        else:
            row_times: list[float] = []
            for block in chunks:
                data, t = (block[:, :-1], block[:, -1]) if time_column else (block, None)
                step0 = enc.steps
                writer.append(enc.update(data[:, 0] if C == 1 else data, every, times=t))
                if t is not None:
                    row_times.extend(t[enc.emitted_steps(step0, len(t), every) - step0].tolist())
                if bar is not None:
                    bar.update(samples.bytes_read)
            total = enc.steps
            if total % every:
                writer.append(enc.state[None])
                if time_column:
                    row_times.append(enc._clock["t_last"])
        if total == 0:
            raise DataError(f"{samples.name}: no samples")
        meta = coefficient_metadata(
            enc.params(), every=1 if ends is not None else every, samples=total,
            rows=writer.rows, columns=samples.columns,
            dtype="int8" if quantize and quantize <= 8 else "int16" if quantize else dtype.value,
            input_name=samples.name, input_bytes=samples.size_bytes, nan=nan.value,
            quantize=quantize, block_ends=ends,
            tolerance={"value": tolerance, "error": error, "max_block": max_block}
            if tolerance is not None else None,
            timing={"time_column": time_column, "clock": enc._clock, "row_times": row_times}
            if time_column else None,
        )
        writer.commit(meta)
    if not quiet:
        stored = writer.bytes_written + writer.sidecar.stat().st_size
        raw = total * C * 8
        line = (f"{total} samples x {C} channel{'s' if C > 1 else ''} -> {writer.rows} rows, "
                f"{human_bytes(stored)} stored in {out} (+ .json); ratio {raw / stored:.2f}x vs "
                f"float64 ({human_bytes(raw)})")
        if samples.size_bytes and samples.kind == "csv":
            csv = samples.size_bytes
            line += f", {csv / stored:.2f}x vs the CSV ({human_bytes(csv)})"
        _say(line)


@app.command()
@_cli_errors
def reconstruct(
    coeffs: str = typer.Argument(..., help="A .npy written by hippo compress (with its "
                                 ".json sidecar)."),
    output: str | None = typer.Option(None, "--output", "-o", help="CSV file, - for "
                                         "stdout [stdout, or none when plotting]."),
    step: int | None = typer.Option(None, "--step", "-s", help="Use the row of this emitted "
                                       "step [the last row]."),
    all_rows: bool = typer.Option(False, "--all", "-a", help="Rebuild the whole signal: each "
                                  "row gives the samples since the previous row."),
    original: str | None = typer.Option(None, "--original", help="The compressed input: "
                                           "print RMSE, NRMSE and max error per column."),
    plot: bool = typer.Option(False, "--plot", help="Draw the reconstruction (PNG)."),
    plot_file: str | None = typer.Option(None, "--plot-file", help="PNG path "
                                            "[<coeffs stem>.png]."),
    plot_coeffs: bool = typer.Option(False, "--plot-coeffs", help="Also draw a heatmap of the "
                                     "coefficients over time (<coeffs stem>.coeffs.png)."),
) -> None:
    """Evaluate the history held by the coefficients at the sample positions (CSV).

    Default: the last row - legs: samples 0..k; legt: the last theta samples; lagt: the
    recent past until its weight e^-(lag) falls below 1e-6. --all: row r gives samples
    (k_{r-1}, k_r]; samples its measure does not cover (legt/lagt with every larger than the
    window) are left empty.
    """
    from . import reconstruction
    from .io import load_coefficients

    if step is not None and all_rows:
        raise ParameterError("--step and --all exclude each other")
    cf = load_coefficients(coeffs)
    plan = reconstruction.plan(cf, step=step, whole=all_rows)
    write_csv = output is not None or not (plot or plot_coeffs)
    stem = Path(coeffs).name.removesuffix(".npy")
    png = Path(plot_file) if plot_file else Path(coeffs).with_name(stem + ".png")
    heat_png = Path(coeffs).with_name(stem + ".coeffs.png")
    if plot or plot_coeffs:
        from .io import check_output_path

        check_output_path(png if plot else heat_png)
    result = reconstruction.run(
        cf, plan, csv_path=(output or "-") if write_csv else None, original=original,
        keep_for_plot=plot,
    )
    for line in result.metrics_lines():
        _say(line)
    if plot:
        from .plot import plot_reconstruction

        plot_reconstruction(cf, plan, result, png)
        _say(f"plot written to {png}")
    if plot_coeffs:
        from .plot import plot_coefficients

        plot_coefficients(cf, heat_png)
        _say(f"coefficient heatmap written to {heat_png}")


@app.command()
@_cli_errors
def stream(
    measure: Measure = MEASURE,
    N: int = ORDER,
    theta: float | None = THETA,
    dt: float | None = DT,
    method: Method = METHOD,
    init: Init = INIT,
    legs_time: LegsTime = LEGS_TIME,
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
    from .streaming import run_stream

    enc = _encoder(measure, N, theta, dt, method, init, legs_time, alpha=alpha, beta=beta)
    enc._check_every(every)
    run_stream(enc, every=every, nan=nan.value, state_path=state, header=header,
               interrupted=_Interrupted, checkpoint_every=checkpoint_every,
               time_column=time_column)


@app.command()
@_cli_errors
def info(
    path: str = typer.Argument(..., help="A coefficient .npy (with sidecar) or a state .npz."),
) -> None:
    """Show shape, dtype and settings of a coefficient file or a stream state file."""
    from rich.console import Console
    from rich.table import Table

    from .io import human_bytes, load_coefficients

    table = Table(title=path, show_header=False, title_justify="left")
    table.add_column("field", style="bold")
    table.add_column("value")
    if path.endswith(".npz"):
        from .encoder import HiPPO

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


def main() -> None:
    """Entry point of ``python -m hippo_cli``."""
    app(prog_name="hippo")
