"""The Typer app, the options shared by several commands, and the error mapping.

Only typer (and the pure-Python measure registry) is imported at start-up; numba, pandas,
scipy, rich and matplotlib are imported inside the commands that need them, so
``hippo --help`` stays fast. Library errors become one line on stderr: exit code 2 for usage
errors, 1 for data errors, 130 for Ctrl-C, 143 for SIGTERM.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import logging
import os
import signal
import sys
import time
from collections.abc import Iterator
from enum import Enum
from types import FrameType
from typing import Any

import typer

from .._version import __version__
from ..atomic import drop_stdout, flush_stdout, guarded, note_read
from ..checks import MAX_CHANNELS
from ..discretize import LEGS_TIMES
from ..engine.params import INITS, METHODS
from ..errors import DataError, ParameterError, Terminated
from ..formats.nan_policy import NAN_POLICIES
from ..measures.registry import (
    MAX_CUBIC_ORDER,
    MAX_DENSE_ORDER,
    MAX_ORDER,
    MEASURES,
    SPECS,
    time_parameter_takers,
)
from ..storage import replacing
from .resources import load_native, starved

#: The top-level help: both modes with an example each (\b keeps click from rewrapping).
HELP = """Online time-series compression with HiPPO (Gu et al., NeurIPS 2020).

Two modes: a bounded-error .hippo file (every sample within E), or HiPPO coefficients (N
numbers per step that hold the history).

\b
  hippo compress s.csv --max-error 1%             # -> s.hippo, every sample within 1%
  hippo compress s.csv --measure legs -N 64       # -> s.coeffs.npy (+ .json)
  hippo reconstruct s.hippo -o restored.csv       # decode (also: hippo decompress)
  hippo test s.hippo                              # check every frame and the footer

An existing output is replaced only with -f; - is stdin or stdout. Every command takes
-q (no notes) and -v (more); hippo COMMAND --help lists its options."""

app = typer.Typer(
    name="hippo",
    help=HELP,
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _choices(name: str, values: tuple[str, ...]) -> type[Enum]:
    return Enum(name, {v: v for v in values}, type=str)  # type: ignore[return-value]


#: The measures offered by the CLI: the library's registry, never a copy of it.
Measure = _choices("Measure", MEASURES)
Method = _choices("Method", METHODS)
Init = _choices("Init", INITS)
LegsTime = _choices("LegsTime", LEGS_TIMES)
NanPolicy = _choices("NanPolicy", NAN_POLICIES)
Engine = _choices("Engine", ("local", "dask"))
OutDtype = _choices("OutDtype", ("float64", "float32"))


# --------------------------------------------------------------------------- option groups
#: The help panels; an option's panel also says which mode it belongs to.
PANEL_IO = "Input and output"
PANEL_BOUNDED = "Bounded error: .hippo files"
PANEL_HIPPO = "HiPPO coefficients"
PANEL_MANY = "Many series"
#: What to tell a user who gave an option of another mode.
PANEL_MODES = {PANEL_BOUNDED: "to .hippo files (bounded error: --max-error)",
               PANEL_HIPPO: "to HiPPO coefficients, not to .hippo files (--max-error)",
               PANEL_MANY: "to many series (--id-column, a glob or a folder of inputs)"}


class GroupedCommand(typer.core.TyperCommand):
    """Plain-text help with the options grouped under their panels (``rich_help_panel``),
    in the order the panels first appear."""

    def format_options(self, ctx, formatter) -> None:
        groups: dict[str, list] = {}
        for param in self.get_params(ctx):
            record = param.get_help_record(ctx)
            if record is None:
                continue
            if param.param_type_name == "argument":
                title = "Arguments"
            else:
                title = getattr(param, "rich_help_panel", None) or "Options"
            groups.setdefault(title, []).append(record)
        for title, records in groups.items():
            with formatter.section(title):
                formatter.write_dl(records)


def check_mode_options(ctx: typer.Context, panels: tuple[str, ...]) -> None:
    """Every option given on the command line (its default is not 'given') must belong to
    one of ``panels``, the panels of the mode the command runs in: the one place where a
    command's options are checked against its mode."""
    for param in ctx.command.params:
        panel = getattr(param, "rich_help_panel", None)
        if panel is None or panel in panels or param.name not in ctx.params:
            continue
        if getattr(ctx.get_parameter_source(param.name), "name", "DEFAULT") == "DEFAULT":
            continue
        flag = max(param.opts, key=len)
        raise ParameterError(f"{flag} applies {PANEL_MODES.get(panel, panel)}")


def _measure_help() -> str:
    kinds = {"whole": [], "window": [], "fading": []}
    for s in SPECS:
        kinds[s.coverage].append(s.name)
    return (f"History to remember: {', '.join(kinds['whole'])} = all of it; "
            f"{', '.join(kinds['window'])} = a sliding window of theta samples; "
            f"{', '.join(kinds['fading'])} = a fading past (time step dt).")


# --------------------------------------------------------------------------- shared options
MEASURE = typer.Option(Measure.legs, "--measure", "-m", help=_measure_help(),
                       case_sensitive=False, rich_help_panel=PANEL_HIPPO)
ALPHA = typer.Option(None, "--alpha", help="glagt: generalised Laguerre order [0].",
                     rich_help_panel=PANEL_HIPPO)
BETA = typer.Option(None, "--beta", help="glagt [0.01] / tlagt [1]: tilt of the measure.",
                    rich_help_panel=PANEL_HIPPO)
ORDER = typer.Option(64, "-N", "--order", help="Number of coefficients per channel (at most "
                     f"{MAX_ORDER} for legs and lagt, {MAX_DENSE_ORDER} for the other measures, "
                     f"{MAX_CUBIC_ORDER} for legs zoh and forward Euler: their cost grows as "
                     f"N^2-N^3). At most {MAX_CHANNELS} channels.",
                     rich_help_panel=PANEL_HIPPO)
THETA = typer.Option(None, "--theta", help=f"{time_parameter_takers('theta')}: window length "
                     "in samples (in time units with --time-column); required.",
                     rich_help_panel=PANEL_HIPPO)
DT = typer.Option(None, "--dt", help=f"{time_parameter_takers('dt')}: step in the measure's "
                  "time unit (per time unit with --time-column) [1.0].",
                  rich_help_panel=PANEL_HIPPO)
METHOD = typer.Option(Method.bilinear, "--method", help="Discretisation: exact (alias zoh) "
                      "is exact for piecewise-constant samples (legs: the exact projection, "
                      "fastest with --every >= 64); bilinear is the published recurrence.",
                      case_sensitive=False, rich_help_panel=PANEL_HIPPO)
INIT = typer.Option(None, "--init", help="All but legs: start from zero (published) or from "
                    "the steady state of the first value (no start-up transient) [zero].",
                    case_sensitive=False, rich_help_panel=PANEL_HIPPO)
LEGS_TIME = typer.Option(None, "--legs-time", help="legs: tau = k + alpha (natural, more "
                         "accurate) or tau = k (paper eq. 11, hippo-code) [natural].",
                         case_sensitive=False, rich_help_panel=PANEL_HIPPO)
EVERY = typer.Option(1, "--every", "-e", help="Emit the state after every K-th sample.",
                     rich_help_panel=PANEL_HIPPO)
NAN = typer.Option(NanPolicy.error, "--nan", help="Empty or NaN cells: error, skip the "
                   "row, hold the channel's last value, or keep them (.hippo files store "
                   "NaN and inf exactly).", case_sensitive=False,
                   rich_help_panel=PANEL_IO)


NA_VALUES = typer.Option(None, "--na-values", help="Texts that mean a missing value, "
                         "comma-separated (e.g. -200 or NA,--), besides empty cells and "
                         "NaN; --nan says what happens to them.", rich_help_panel=PANEL_IO)


TIME_FORMAT = typer.Option(None, "--time-format", help="Layout of times that are not ISO "
                           "8601, e.g. '%d/%m/%Y %H.%M.%S' (zero-padded %Y %m %d %H %M %S, "
                           "%f); kept exactly as written.", rich_help_panel=PANEL_IO)


QUIET = typer.Option(False, "--quiet", "-q", help="No notes, summaries or progress "
                     "(warnings and errors still show).", rich_help_panel=PANEL_IO)
VERBOSE = typer.Option(False, "--verbose", "-v", help="More: per-file figures and timing.",
                       rich_help_panel=PANEL_IO)
FORCE = typer.Option(False, "--force", "-f", help="Replace an existing output (without it, "
                     "an existing output is an error before any work).",
                     rich_help_panel=PANEL_IO)


def na_list(text: str | None) -> list[str] | None:
    """The ``--na-values`` texts (None: none)."""
    if text is None:
        return None
    items = [t.strip() for t in text.split(",") if t.strip()]
    return items or None


def value(option: Any) -> Any:
    """The plain value of an Enum choice (None stays None)."""
    return getattr(option, "value", option)


class Interrupted(Exception):
    """Raised by ``hippo stream``'s signal handler: exit with ``code``."""

    def __init__(self, code: int) -> None:
        self.code = code


#: The console of the progress bar on screen, if any: lines go through it so that the bar
#: is redrawn below them (the CLI runs one command per process).
_live_console: list = []


#: How much the running command says: -1 quiet (-q), 0 normal, 1 verbose (-v). A context
#: variable, set by :func:`cli_errors` from the command's own ``quiet``/``verbose`` options.
_verbosity: contextvars.ContextVar[int] = contextvars.ContextVar("hippo_verbosity", default=0)
#: Lines that -q never hides.
_ALWAYS_SAID = ("error:", "warning:", "internal error:")


def verbose() -> bool:
    """Whether the running command was given -v."""
    return _verbosity.get() > 0


def detail(message: str) -> None:
    """A line said only with -v (per-file figures, timing)."""
    if verbose():
        say(message)


def say(message: str) -> None:
    """One line on stderr, prefixed ``hippo:`` (under -q only errors and warnings)."""
    if _verbosity.get() < 0 and not message.startswith(_ALWAYS_SAID):
        return
    if _live_console:
        _live_console[-1].print(f"hippo: {message}", markup=False, highlight=False)
        return
    sys.stderr.write(f"hippo: {message}\n")
    sys.stderr.flush()


class _SayHandler(logging.Handler):
    """The library's log records (``hippo_cli`` logger, INFO and up) as ``hippo:`` lines."""

    def emit(self, record: logging.LogRecord) -> None:
        say(record.getMessage())


#: The exit code of a command whose reader went away (as if killed by SIGPIPE: 128 + 13).
EXIT_BROKEN_PIPE = 141


def _quiet_broken_pipe() -> None:
    # The reader went away (``| head``): output was not delivered, so the exit code says so
    # (like a Unix tool killed by SIGPIPE), but quietly - the reader chose to stop.
    drop_stdout()
    raise typer.Exit(EXIT_BROKEN_PIPE)


#: Helper processes of the running command (killed with it on an immediate exit).
_helpers: list = []


def _raise_terminated(signum: int, frame: FrameType | None) -> None:
    from .._jit import compiling

    if compiling(frame):
        # numba's compiler does not survive an exception raised inside it (it became a
        # RuntimeError, or was lost and the job ran on): end now, cleaning up by hand
        from os import _exit  # os's documented immediate exit (no unwinding)

        from ..atomic import remove_unfinished

        remove_unfinished()
        for child in _helpers:
            with contextlib.suppress(Exception):
                child.kill()
                child.wait(timeout=1)  # reaped: not left behind, even as a zombie
        _exit(143)
    raise Terminated


def cli_errors(fn: Any) -> Any:
    """Turn library errors into one line on stderr and an exit code; never a traceback.

    SIGTERM becomes :class:`Terminated` while the command runs, so that its temporary files
    are removed (exit 143)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            old = signal.signal(signal.SIGTERM, _raise_terminated)
        except ValueError:  # not the main thread (an embedding application): leave it
            old = None
        level = token = None
        if kwargs.get("quiet") or kwargs.get("verbose"):
            level = -1 if kwargs.get("quiet") else 1
            token = _verbosity.set(level)
        started = time.perf_counter()
        notices = _SayHandler(logging.INFO)
        library_log = logging.getLogger("hippo_cli")
        library_log.addHandler(notices)
        library_log.setLevel(logging.INFO)
        try:
            # -f (and the many-series --overwrite) also lets object outputs be replaced
            force = bool(kwargs.get("force") or kwargs.get("overwrite"))
            with guarded(), warnings_said(), replacing(force):
                load_native()
                result = fn(*args, **kwargs)
            flush_stdout()  # output not delivered is an error, not an exit 0
            detail(f"done in {time.perf_counter() - started:.2f} s")
            return result
        except typer.Exit:
            raise
        except ParameterError as err:
            say(f"error: {_in_flags(err, fn)}")
            raise typer.Exit(2) from None
        except DataError as err:
            say(f"error: {starved(err) or err}")  # pandas' "C error: out of memory" too
            raise typer.Exit(1) from None
        except BrokenPipeError:
            _quiet_broken_pipe()
        except Interrupted as err:
            raise typer.Exit(err.code) from None
        except KeyboardInterrupt:
            raise typer.Exit(130) from None
        except Terminated:
            raise typer.Exit(143) from None
        except Exception as err:  # each kind gets its one line in _report
            _report(err)
        finally:
            if token is not None:
                _verbosity.reset(token)
            library_log.removeHandler(notices)
            if old is not None:
                signal.signal(signal.SIGTERM, old)

    return wrapper


@contextlib.contextmanager
def warnings_said() -> Iterator[None]:
    """While a command runs: a Python warning that reaches the top (the library's, numpy's,
    pandas', numba's) is one ``hippo: warning: ...`` line - each text once - never a raw
    ``RuntimeWarning`` with a source line. The filters stay as they are (numpy's repeated
    warnings still show once per place); ``catch_warnings`` restores everything after."""
    import warnings

    said: set[str] = set()

    def show(message, category, *where: object, **more: object) -> None:
        # (warnings.showwarning's other arguments - file, line, the stream - do not apply)
        text = _warning_text(message, category)
        if text not in said:
            said.add(text)
            say(f"warning: {text}")

    with warnings.catch_warnings():
        warnings.showwarning = show
        yield


def _warning_text(message: Warning | str, category: type[Warning]) -> str:
    """A warning as a user reads it: numpy's floating-point notes said plainly."""
    text = str(message)
    if issubclass(category, RuntimeWarning) and text.startswith("overflow encountered"):
        return "values beyond the float range (about 1.8e308) became inf"
    if issubclass(category, RuntimeWarning) and text.startswith("invalid value encountered"):
        return "an undefined result (inf - inf, 0/0) became NaN"
    return text


def _report(err: Exception) -> None:
    """The one line and exit code of an error outside the library's own family. Memory runs
    out in disguises (a library that cannot be mapped, a thread that cannot start: see
    :mod:`.resources`), so that is asked first."""
    lack = starved(err)
    if lack is not None:
        say(f"error: {lack}")
        raise typer.Exit(1) from None
    if isinstance(err, OSError):
        where = f"{err.filename}: " if err.filename else "writing the output: "
        say(f"error: {where}{err.strerror or err}")
        drop_stdout()  # what could not be written must not be retried at exit
        raise typer.Exit(1) from None
    if os.environ.get("HIPPO_DEBUG"):  # a bug: still one line, with a way to see more
        raise err
    say(f"internal error: {type(err).__name__}: {err} (HIPPO_DEBUG=1 shows a traceback)")
    raise typer.Exit(1) from None


def _in_flags(err: ParameterError, command: Any) -> str:
    """The library's message with its parameter name replaced by ``command``'s flag for it
    (the option's longest declaration; ``--name-like-this`` if the command has none)."""
    import inspect

    text = str(err)
    if err.option is None:
        return text
    param = inspect.signature(command).parameters.get(err.option)
    decls = getattr(getattr(param, "default", None), "param_decls", None) or ()
    flags = [d for d in decls if d.startswith("-")]
    flag = max(flags, key=len) if flags else "--" + err.option.replace("_", "-")
    return text.replace(err.option, flag)


def build_encoder(measure: Any, N: int, theta: float | None, dt: float | None, method: Any,
                  init: Any, legs_time: Any, reset_every: int | None = None,
                  alpha: float | None = None, beta: float | None = None):
    """The encoder of the CLI's options (the library validates them); its warnings are
    printed as ``hippo: warning: ...`` lines."""
    import warnings

    from ..engine import HiPPO

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        enc = HiPPO(value(measure), N, theta=theta, dt=dt, method=value(method),
                    init=value(init), legs_time=value(legs_time), reset_every=reset_every,
                    alpha=alpha, beta=beta)
    for w in caught:
        say(f"warning: {w.message}")
    return enc


@contextlib.contextmanager
def decoder_compiled_beside(times: bool = True) -> Iterator[None]:
    """While a job that encodes .hippo frames runs: if it has to compile the codec (a first
    run on this machine), a second process compiles the decoder at the same time (numba
    compiles one function at a time per process; the writer's check needs the decoder), and
    with ``times`` (the samples have a time column) the time encoder. It is stopped when the
    job ends. (Not when this process keeps its kernels out of numba's cache: the second
    process would compile for nothing, :func:`hippo_cli._jit.cached`.)"""
    import subprocess

    from .._jit import add_hook, cached, remove_hook

    children: list = []

    def start(module: str) -> None:
        if module.endswith("codec._kernels") and not children and cached():
            children.append(subprocess.Popen(
                [sys.executable, "-m", "hippo_cli.codec._warm", *(["--times"] if times else [])],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
            _helpers.append(children[-1])

    add_hook(start)
    try:
        yield
    finally:
        remove_hook(start)
        for child in children:
            if child.poll() is None:
                child.terminate()
            try:
                child.wait(timeout=2)
            except subprocess.TimeoutExpired:  # deaf to SIGTERM inside native code
                child.kill()
                child.wait()
            _helpers.remove(child)


def progress_bar(enabled: bool, total: int | None, what: str):
    """A rich progress bar on stderr when stderr is a terminal; otherwise a no-op. The
    object's ``update(done, total)`` takes bytes read (and the total, once known)."""
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
        def __enter__(self):
            progress.__enter__()
            _live_console.append(progress.console)
            self.task = progress.add_task(what, total=total)
            return self

        def __exit__(self, *exc):
            _live_console.remove(progress.console)
            return progress.__exit__(*exc)

        def update(self, done: int, total: int | None = None) -> None:
            progress.update(self.task, completed=done, total=total or None)

    return _Bar()


def inputs(*paths: str | None) -> None:
    """Declare the files a command reads before it checks its outputs, so that an output
    that is one of them is refused before any work (None and ``-`` are skipped)."""
    for path in paths:
        if path is not None and path != "-":
            note_read(path)
            if path.endswith(".npy"):
                note_read(path + ".json")


def human_bytes(n: float) -> str:
    """``1.5 KiB``-style sizes."""
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(n) < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GiB"  # pragma: no cover


def _print_version(flag: bool) -> None:
    if flag:
        typer.echo(f"hippo {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", "-V", help="Print the version and exit.",
                                 is_eager=True, callback=_print_version),
) -> None:
    """Online time-series compression with HiPPO (Gu et al., NeurIPS 2020)."""
