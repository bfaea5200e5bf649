"""The one way hippo writes a file: to a temporary beside the target, renamed into place only
when complete - and never over anything the command reads, never replacing what is not a
regular file.

* Temporaries are named ``.<target name>.hippo-tmp-<pid>``. A run removes its own on any
  exception (the CLI turns SIGTERM into :class:`hippo_cli.errors.Terminated` so that this
  happens on SIGTERM too) and, before writing, those of runs whose process is gone (SIGKILL,
  power loss). An existing file at the target is untouched until the final rename.
* Inside :func:`guarded` (every CLI command runs in one), every file a reader opens is
  remembered by identity (device and inode, so links count); writing to one of them is a
  usage error, found before any work where the command names its outputs up front.
* A target that exists and is not a regular file is never replaced: a character device or
  a FIFO (``/dev/null``, ``/dev/stdout``, a named pipe) is written through, anything else
  is refused. A symbolic link to a regular file is kept: the file it points to is replaced.
* :func:`stdout_binary` is the one stream for data on stdout: fully buffered, every write
  checked (a short write or a full disk is an error, never a silent loss).
"""

from __future__ import annotations

import contextlib
import contextvars
import io
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from .errors import DataError, ParameterError

#: The files read in the current :func:`guarded` scope (per thread and task: a context
#: variable, so that commands run from several threads never see each other's inputs).
_guard: contextvars.ContextVar[set[tuple[int, int]] | None] = contextvars.ContextVar(
    "hippo_guard", default=None)


#: The folders whose stale temporaries were already removed in the current scope (see
#: :func:`cleaning_once`): a run writing 10,000 series into one folder scans it once, not
#: once per file (that was 10^8 directory entries read: O(files^2)).
_cleaned: contextvars.ContextVar[set[str] | None] = contextvars.ContextVar(
    "hippo_cleaned", default=None)


@contextlib.contextmanager
def guarded() -> Iterator[None]:
    """A scope in which the files read are protected from being written."""
    token = _guard.set(set())
    try:
        with cleaning_once():
            yield
    finally:
        _guard.reset(token)


@contextlib.contextmanager
def cleaning_once() -> Iterator[None]:
    """A scope (one command, one many-series job) in which each output folder is cleaned of
    stale temporaries once, when the first file is written there. A run that dies during the
    scope leaves temporaries for the next scope to remove."""
    token = _cleaned.set(set())
    try:
        yield
    finally:
        _cleaned.reset(token)


def note_read(path: str | os.PathLike) -> None:
    """Remember that the running command reads ``path`` (no-op outside :func:`guarded`)."""
    seen = _guard.get()
    if seen is None or str(path) == "-":
        return
    with contextlib.suppress(OSError):
        st = os.stat(path)
        seen.add((st.st_dev, st.st_ino))


def allow_rewrite(path: str | os.PathLike) -> None:
    """``path`` is read and then written by design (a stream's state file)."""
    seen = _guard.get()
    if seen is None:
        return
    with contextlib.suppress(OSError):
        st = os.stat(path)
        seen.discard((st.st_dev, st.st_ino))


def _check_not_read(path: Path) -> None:
    seen = _guard.get()
    if seen is None:
        return
    try:
        st = os.stat(path)
    except OSError:
        return
    if (st.st_dev, st.st_ino) in seen:
        raise ParameterError(f"{path}: is one of this command's inputs; hippo never writes "
                             "over a file it reads (choose another output)")

TMP_MARK = ".hippo-tmp-"


def temporary_path(target: Path) -> Path:
    """The temporary of ``target`` for this process: ``.<name>.hippo-tmp-<pid>`` beside it."""
    target = Path(target)
    return target.parent / f".{target.name}{TMP_MARK}{os.getpid()}"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def clean_stale_temporaries(folder: Path) -> None:
    """Remove the temporaries in ``folder`` left by runs whose process is gone (once per
    folder inside :func:`cleaning_once`)."""
    done = _cleaned.get()
    if done is not None:
        key = os.path.realpath(folder)
        if key in done:
            return
        done.add(key)
    with contextlib.suppress(OSError):
        for p in Path(folder).iterdir():
            name = p.name
            if not name.startswith(".") or TMP_MARK not in name:
                continue
            pid = name.rsplit(TMP_MARK, 1)[1]
            if pid.isdigit() and not _pid_alive(int(pid)):
                with contextlib.suppress(OSError):
                    p.unlink()


def write_through_target(path: Path) -> bool:
    """Whether ``path`` is an existing device or FIFO to write through (not to replace)."""
    try:
        st = os.stat(path)
    except OSError:
        return False
    if stat.S_ISREG(st.st_mode):
        return False
    if stat.S_ISDIR(st.st_mode):
        raise DataError(f"{path}: is a folder; give a file name")
    if stat.S_ISCHR(st.st_mode) or stat.S_ISFIFO(st.st_mode):
        return True
    raise DataError(f"{path}: is not a regular file (a block device or a socket); hippo "
                    "does not replace it")


def check_output_path(path: Path) -> Path:
    """Fail early (before any work) when ``path`` cannot or must not be written."""
    path = Path(path)
    _check_not_read(path)
    if write_through_target(path):
        return path
    real = Path(os.path.realpath(path))
    parent = real.parent if str(real.parent) else Path(".")
    if not parent.is_dir():
        raise DataError(f"{path.parent}: no such folder")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise DataError(f"{path.parent}: folder is not writable")
    return path


#: The temporaries this process is writing (for an exit that cannot unwind: see
#: :func:`remove_unfinished`).
_unfinished: set[Path] = set()


def remove_unfinished() -> None:
    """Remove every temporary this process is writing - for an immediate exit (SIGTERM
    while numba compiles), where no ``finally`` block runs."""
    for tmp in list(_unfinished):
        with contextlib.suppress(OSError):
            tmp.unlink()
        _unfinished.discard(tmp)


class AtomicFile:
    """A file being written to its temporary; :meth:`commit` renames it into place,
    :meth:`abort` (or leaving the ``with`` block without a commit) removes it.

    ``fh`` is the open temporary (binary, or UTF-8 text with ``\\n`` line ends for
    ``mode="w"``). A device or FIFO target is written through (``through`` is True): there
    is nothing to rename, and an abort cannot take back what was written.
    """

    def __init__(self, path: str | os.PathLike, mode: str = "wb") -> None:
        self.path = check_output_path(Path(path))
        text = {"encoding": "utf-8", "newline": "\n"} if "b" not in mode else {}
        self.committed = False
        self.through = write_through_target(self.path)
        if self.through:
            self.real = self.tmp = self.path
        else:
            self.real = Path(os.path.realpath(self.path))  # a link stays a link
            clean_stale_temporaries(self.real.parent)
            self.tmp = temporary_path(self.real)
        self.fh: IO = open(self.tmp, mode, **text)  # closed by commit or abort
        if not self.through:
            _unfinished.add(self.tmp)

    def finish(self) -> None:
        """Flush (and fsync) the temporary and close it (the rename is :meth:`rename`)."""
        if not self.fh.closed:
            self.fh.flush()
            if not self.through:
                os.fsync(self.fh.fileno())
            self.fh.close()

    def rename(self) -> None:
        """Move the finished temporary into place."""
        if not self.through:
            os.replace(self.tmp, self.real)
            _unfinished.discard(self.tmp)
        self.committed = True

    def commit(self) -> None:
        self.finish()
        self.rename()

    def abort(self) -> None:
        with contextlib.suppress(OSError):
            self.fh.close()
        if not self.committed and not self.through:
            with contextlib.suppress(OSError):
                self.tmp.unlink()
            _unfinished.discard(self.tmp)

    def __enter__(self) -> AtomicFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.abort()


@contextlib.contextmanager
def atomic_output(path: str | os.PathLike, mode: str = "wb") -> Iterator[IO]:
    """``with atomic_output(p) as fh:`` - the file appears at ``p`` only if the block
    succeeds."""
    with AtomicFile(path, mode) as af:
        yield af.fh
        af.commit()


_stdout: io.BufferedWriter | None = None


def stdout_binary() -> io.BufferedWriter:
    """The process's stdout for data: a buffered writer on file descriptor 1 (whatever
    ``sys.stdout`` is, e.g. unbuffered under PYTHONUNBUFFERED, whose short writes Python
    drops silently). Writes that fail raise OSError."""
    global _stdout
    if _stdout is None or _stdout.closed:
        import sys

        try:
            fd = sys.stdout.fileno()
        except (AttributeError, ValueError, io.UnsupportedOperation):
            return sys.stdout.buffer  # an in-memory stdout (tests)
        _stdout = io.BufferedWriter(io.FileIO(fd, "wb", closefd=False), 1 << 16)
    return _stdout


_stdout_text: io.TextIOWrapper | None = None


def flush_stdout() -> None:
    """Flush the data written to stdout (OSError if it could not be delivered)."""
    import sys

    for stream in (_stdout_text, _stdout, sys.stdout):
        if stream is not None and not stream.closed:
            stream.flush()


def drop_stdout() -> None:
    """The reader went away: discard what is buffered and send further output nowhere."""
    global _stdout, _stdout_text
    import sys

    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    _stdout = _stdout_text = None


def stdout_text() -> IO[str]:
    """Text on :func:`stdout_binary` (UTF-8, ``\n`` line ends); flush it when done."""
    import sys

    global _stdout_text
    raw = stdout_binary()
    if raw is getattr(sys.stdout, "buffer", None):
        return sys.stdout
    if _stdout_text is None or _stdout_text.buffer is not raw:
        _stdout_text = io.TextIOWrapper(raw, encoding="utf-8", newline="\n",
                                        write_through=True)
    return _stdout_text
