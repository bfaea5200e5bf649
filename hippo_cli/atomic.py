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
  checked and completed (a short write or a non-blocking pipe that is full waits; a full disk
  is an error, never a silent loss).
* **One writer per file.** An output that is a regular file is locked while it is written:
  an advisory ``flock`` on ``.<name>.hippo-lock`` beside the real file (links resolved). The
  lock is on a stable name, not on the output itself, because an atomic rename puts a new
  file (inode) at the output's name: a lock on the old inode would not stop a second writer.
  A second writer in another process (or in the same thread) gets a DataError naming the
  holder's pid and command (written into the lock file); one in another thread of this
  process waits its turn (up to 5 s: a task a scheduler runs twice). The kernel drops a ``flock``
  when its process dies (even SIGKILL), so a stale lock file never blocks: the next writer
  takes it over; a writer removes its lock file when done, and a run removes the stale ones
  of a folder it writes in. Devices and FIFOs (written through) are not locked; without
  ``fcntl`` (Windows) nothing is locked.
* :func:`open_input` opens a file to read once: a reader reads everything (header, frames,
  footer) from that one handle, never by its name again, so a file replaced while it is
  read (an atomic rename by another hippo) is read whole, the old one. A FIFO, socket or
  device is refused at once (it cannot be read by position; opening it never waits).
"""

from __future__ import annotations

import contextlib
import contextvars
import errno
import io
import os
import stat
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from .errors import DataError, ParameterError

try:
    import fcntl
except ImportError:  # Windows: no advisory locks (writers are not serialised there)
    fcntl = None  # type: ignore[assignment]

#: The files read in the current :func:`guarded` scope (per thread and task: a context
#: variable, so that commands run from several threads never see each other's inputs).
_guard: contextvars.ContextVar[set[tuple] | None] = contextvars.ContextVar(
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
    if is_object_url(path):  # an object: remembered by its URL
        from .storage import normal

        seen.add(("url", normal(str(path))))
        return
    with contextlib.suppress(OSError):
        st = os.stat(_local(path))
        seen.add((st.st_dev, st.st_ino))


def is_object_url(path: object) -> bool:
    """Whether ``path`` is an object storage URL (imports :mod:`.storage` only for a text
    with ``://``, so local paths cost nothing)."""
    if not ("://" in str(path) or type(path).__name__ == "RemotePath"):
        return False
    from .storage import is_remote

    return is_remote(path)


def _local(path: str | os.PathLike) -> str | os.PathLike:
    """``file:///x`` -> ``/x``; anything else unchanged."""
    if isinstance(path, str) and path[:7].lower() == "file://":
        from .storage import local_or_url

        return local_or_url(path)
    return path


def check_not_read_url(url: str) -> None:
    """A ParameterError when the object ``url`` is one of the running command's inputs."""
    from .storage import normal

    seen = _guard.get()
    if seen is not None and ("url", normal(url)) in seen:
        raise ParameterError(f"{url}: is one of this command's inputs; hippo never writes "
                             "over a file it reads (choose another output)")


def _note_stat(st: os.stat_result) -> None:
    seen = _guard.get()
    if seen is not None:
        seen.add((st.st_dev, st.st_ino))


def note_stdin() -> None:
    """The running command reads stdin: if it is a regular file (``< file``), that file is
    one of its inputs (an output that is it is refused)."""
    with contextlib.suppress(OSError, ValueError, AttributeError):
        st = os.fstat(sys.stdin.fileno())
        if stat.S_ISREG(st.st_mode):
            _note_stat(st)


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
LOCK_MARK = ".hippo-lock"
#: How long a FIFO output may wait for its reader to open it (then it is refused).
FIFO_READER_WAIT = 2.0


# --------------------------------------------------------------------------- reading
def _what_special(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "a device"


def open_input(path: str | os.PathLike, what: str = "it", *,
               sequential: bool = False) -> IO[bytes]:
    """Open the file ``path`` to read, once: the caller reads everything from this handle
    (a file replaced by an atomic rename meanwhile is read whole: the old one). The file is
    remembered as an input (:func:`note_read`, by the identity of what was opened). A
    folder, FIFO, socket or device is a DataError at once (``what``: what is read by
    position, for the message); opening never waits for a FIFO's writer. ``sequential``:
    the caller reads from start to end (a CSV), so a FIFO or character device is read as
    a stream (opening a FIFO then waits for its writer, as ``cat`` does)."""
    if is_object_url(path):
        from .storage import open_url_input

        fh = open_url_input(str(path), what, sequential=sequential)
        note_read(path)
        return fh
    name = os.fspath(_local(path))
    nonblock = getattr(os, "O_NONBLOCK", 0)
    if sequential:
        with contextlib.suppress(OSError):
            if stat.S_ISFIFO(os.stat(name).st_mode):
                nonblock = 0  # a FIFO opened without blocking reads as empty until written
    flags = os.O_RDONLY | nonblock | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(name, flags)
    except FileNotFoundError:
        raise DataError(f"{name}: no such file") from None
    except IsADirectoryError:
        raise DataError(f"{name}: is a folder, not a file") from None
    except OSError as err:
        raise DataError(f"{name}: {err.strerror or err}") from None
    try:
        st = os.fstat(fd)
        if stat.S_ISDIR(st.st_mode):
            raise DataError(f"{name}: is a folder, not a file")
        streamed = sequential and (stat.S_ISFIFO(st.st_mode) or stat.S_ISCHR(st.st_mode))
        if not stat.S_ISREG(st.st_mode) and not streamed:
            raise DataError(f"{name}: is {_what_special(st.st_mode)}, not a regular file; "
                            f"{what} is read by position: copy it to a file first")
        if nonblock:
            os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    _note_stat(st)
    return os.fdopen(fd, "rb")


# --------------------------------------------------------------------------- one writer
#: The lock files held in this context (thread or task): a writer that already holds the
#: lock of a file (a stream writing its own state or output) takes it again as a no-op.
_held: contextvars.ContextVar[frozenset[str]] = contextvars.ContextVar(
    "hippo_locks", default=frozenset())


def lock_path(target: str | os.PathLike) -> Path:
    """``.<name>.hippo-lock`` beside the real file of ``target`` (links resolved)."""
    real = Path(os.path.realpath(target))
    return real.parent / f".{real.name}{LOCK_MARK}"


def _command() -> str:
    """This process's command line, for the lock file (one line, at most 300 characters)."""
    import shlex

    args = list(sys.argv)
    lead = ["hippo"] if args and Path(args[0]).name in ("hippo", "__main__.py") else args[:1]
    text = " ".join(shlex.quote(a) for a in [*lead, *args[1:]])
    text = text.replace("\n", " ").replace("\r", " ")
    return text if len(text) <= 300 else text[:297] + "..."


def _holder(fd: int) -> str:
    """Who holds a lock, from its file: ``pid 123: hippo stream ...``."""
    try:
        text = os.pread(fd, 1024, 0).decode("utf-8", "replace").strip()
    except OSError:
        text = ""
    pid, _, command = text.partition(" ")
    if not pid.isdigit():
        return "another process"
    return f"pid {pid}" + (f": {command}" if command else "")


def _try_lock(lock: Path) -> int | None:
    """The descriptor of ``lock`` locked by us, None where nothing can be locked (no
    ``fcntl``, a file system without locks, a lock file that cannot be made: the write
    itself then fails or goes on unlocked); a DataError naming the holder if it is held."""
    if fcntl is None:
        return None
    for _ in range(100):
        try:
            fd = os.open(lock, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o644)
        except OSError:
            return None
        try:
            _flock_or_wait_for_this_process(fd, lock)
        except OSError as err:
            holder = _holder(fd) if err.errno in (errno.EWOULDBLOCK, errno.EAGAIN,
                                                  errno.EACCES) else None
            os.close(fd)
            if holder is None:  # ENOLCK and the like: no locks on this file system
                return None
            raise _Held(holder) from None
        try:  # the lock file we hold must still be the one at its name (see _release)
            same = os.path.samestat(os.fstat(fd), os.stat(lock))
        except OSError:
            same = False
        if same:
            with _HOLDERS_LOCK:
                _HOLDERS[str(lock)] = threading.get_ident()
            text = f"{os.getpid()} {_command()}\n".encode()
            with contextlib.suppress(OSError):
                os.ftruncate(fd, 0)
                os.pwrite(fd, text, 0)
            return fd
        os.close(fd)  # its holder removed it while we opened it: take the new one
    return None


#: Lock files this process holds, and the thread holding each: a second writer in another
#: thread waits its turn; in the same thread it is refused (waiting would never end).
_HOLDERS: dict[str, int] = {}
_HOLDERS_LOCK = threading.Lock()


def _flock_or_wait_for_this_process(fd: int, lock: Path | None = None,
                                    wait: float = 5.0) -> None:
    """Lock ``fd``; when the holder is this very process (another thread writing the same
    file: a task a scheduler runs twice), wait for it (up to ``wait`` s) rather than fail:
    threads of one process take turns. Another process's lock raises at once."""
    import time

    start = time.monotonic()
    me = f"pid {os.getpid()}"
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except OSError as err:
            if err.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise
            holder = _holder(fd)
            waited = time.monotonic() - start
            with _HOLDERS_LOCK:
                owner = _HOLDERS.get(str(lock))
            # this process's: another thread holds it, or has just let go (the registry is
            # read after the lock was found held, so its entry may be gone already) - never
            # this thread itself (waiting for itself would never end)
            mine = owner != threading.get_ident() and (holder == me
                                                       or holder.startswith(me + ":"))
            # a holder without a pid is given a moment: a writer between its lock and its
            # pid, or a cleaner's probe (_remove_stale_lock holds the lock for microseconds
            # to see whether anyone does, and never writes a pid)
            if not (mine or (holder == "another process" and waited < 1.0)) or waited > wait:
                raise
        time.sleep(0.01)


class _Held(Exception):
    def __init__(self, holder: str) -> None:
        super().__init__(holder)
        self.holder = holder


class OutputLock:
    """The one-writer lock of ``target`` (see the module's docstring), taken at once: a
    DataError naming the holder when another writer has it. ``release()`` (or leaving the
    ``with`` block) removes the lock file and drops the lock; a process that dies drops it
    too (the kernel does). Taking a lock this context already holds is a no-op."""

    def __init__(self, target: str | os.PathLike) -> None:
        self.target = str(target) if is_object_url(target) else os.fspath(target)
        self.path = Path(self.target) if is_object_url(target) else lock_path(target)
        self.fd: int | None = None
        if is_object_url(target):  # a store has no locks: its conditional PUT refuses a race
            return
        if str(self.path) in _held.get():
            return
        with contextlib.suppress(OSError):
            if not stat.S_ISREG(os.stat(target).st_mode):  # a device or FIFO: written
                return  # through, not replaced (and no lock file beside /dev/null)
        try:
            self.fd = _try_lock(self.path)
        except _Held as held:
            raise DataError(f"{self.target}: is being written by another process "
                            f"({held.holder}); hippo lets one writer at a time write a "
                            "file: wait for it to end, or choose another output") from None
        if self.fd is not None:
            _held.set(_held.get() | {str(self.path)})
            self._owner = threading.get_ident()  # what _try_lock put in the registry

    def release(self) -> None:
        fd, self.fd = self.fd, None
        if fd is None:
            return
        _held.set(_held.get() - {str(self.path)})
        # removed while held: a writer that opened the old name and locks it after us sees
        # that it is gone and makes a new one (_try_lock), so two never hold "the" lock
        with contextlib.suppress(OSError):
            if os.path.samestat(os.fstat(fd), os.stat(self.path)):
                os.unlink(self.path)
        os.close(fd)
        # out of the registry only once the lock is dropped: a writer of another thread that
        # meets it held until then knows it is this process's and waits (it was refused as
        # another process's in that moment); and only our own entry, as such a writer may
        # already hold the lock and have put its own
        with _HOLDERS_LOCK:
            if _HOLDERS.get(str(self.path)) == self._owner:
                del _HOLDERS[str(self.path)]

    def __enter__(self) -> OutputLock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def _remove_stale_lock(lock: Path) -> None:
    """Remove a lock file nobody holds (its writer died): one non-blocking try, never a
    wait. A lock that is held - by another process or by another thread of this one (a
    many-series run writes files from several threads) - is live, never stale: it is left
    alone. (This once took the lock as a writer does: a thread cleaning the folder then
    waited for the lock of a file another thread was writing, while that thread, cleaning
    the same folder, waited for its lock - both stalled up to the wait's end, and the
    registry of holders kept entries for locks nobody held, so a later writer was refused.)
    """
    if fcntl is None:
        return
    try:
        fd = os.open(lock, os.O_RDWR | getattr(os, "O_CLOEXEC", 0))
    except OSError:
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        # still the file at that name (not one a writer unlinked and replaced meanwhile)
        if os.path.samestat(os.fstat(fd), os.stat(lock)):
            os.unlink(lock)
    except OSError:
        pass  # held (live), gone, or no locks on this file system: nothing to remove
    finally:
        os.close(fd)


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
    """Remove the temporaries in ``folder`` left by runs whose process is gone, and the
    lock files nobody holds (once per folder inside :func:`cleaning_once`)."""
    done = _cleaned.get()
    if done is not None:
        key = os.path.realpath(folder)
        if key in done:
            return
        done.add(key)
    with contextlib.suppress(OSError):
        for p in Path(folder).iterdir():
            name = p.name
            if not name.startswith("."):
                continue
            if name.endswith(LOCK_MARK):
                if str(p) not in _held.get():
                    _remove_stale_lock(p)
                continue
            if TMP_MARK not in name:
                continue
            pid = name.rsplit(TMP_MARK, 1)[1]
            if pid.isdigit() and not _pid_alive(int(pid)):
                with contextlib.suppress(OSError):
                    p.unlink()


def write_through_target(path: Path) -> bool:
    """Whether ``path`` is an existing device or FIFO to write through (not to replace)."""
    if is_object_url(path):
        return False
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


def open_through(path: str | os.PathLike, mode: str = "wb", **text) -> IO:
    """Open a device or FIFO to write through. A FIFO is opened without waiting: if no
    process reads it within :data:`FIFO_READER_WAIT` seconds, a DataError (never a hang)."""
    name = os.fspath(path)
    if not stat.S_ISFIFO(os.stat(name).st_mode) or not hasattr(os, "O_NONBLOCK"):
        return open(name, mode, **text)
    deadline = time.monotonic() + FIFO_READER_WAIT
    while True:
        try:
            fd = os.open(name, os.O_WRONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
            break
        except OSError as err:
            if err.errno != errno.ENXIO:  # ENXIO: nobody has it open for reading
                raise
        if time.monotonic() > deadline:
            raise DataError(f"{name}: a named pipe (FIFO) that no process reads; start its "
                            "reader first (e.g. cat " + name + " > copy)")
        time.sleep(0.02)
    os.set_blocking(fd, True)
    return os.fdopen(fd, mode, **text)


def is_devnull(path: str | os.PathLike) -> bool:
    """Whether ``path`` is the null device (``/dev/null``, or a link to it)."""
    if is_object_url(path):
        return False
    try:
        return os.path.samestat(os.stat(path), os.stat(os.devnull))
    except OSError:
        return False


def check_output_path(path: Path) -> Path:
    """Fail early (before any work) when ``path`` cannot or must not be written (a URL:
    :func:`~hippo_cli.storage.check_output_url`)."""
    if is_object_url(path):
        from .storage import check_output_url

        check_not_read_url(str(path))
        return check_output_url(path)
    path = Path(_local(path))
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
    for lock in _held.get():  # their lock files too (the kernel drops the locks at exit)
        with contextlib.suppress(OSError):
            os.unlink(lock)


class AtomicFile:
    """A file being written to its temporary; :meth:`commit` renames it into place,
    :meth:`abort` (or leaving the ``with`` block without a commit) removes it.

    ``fh`` is the open temporary (binary, or UTF-8 text with ``\\n`` line ends for
    ``mode="w"``). A device or FIFO target is written through (``through`` is True): there
    is nothing to rename, and an abort cannot take back what was written. A regular target
    is locked (:class:`OutputLock`) from here to the commit or abort. A URL is an object
    (:class:`~hippo_cli.storage.RemoteFile`: uploaded whole at the commit).
    """

    def __new__(cls, path: str | os.PathLike, mode: str = "wb"):
        if is_object_url(path):
            from .storage import RemoteFile

            check_not_read_url(str(path))
            return RemoteFile(path, mode, track=(_unfinished.add, _unfinished.discard))
        return super().__new__(cls)

    def __init__(self, path: str | os.PathLike, mode: str = "wb") -> None:
        self.path = check_output_path(Path(_local(path)))
        text = {"encoding": "utf-8", "newline": "\n"} if "b" not in mode else {}
        self.committed = self._published = False
        self.through = write_through_target(self.path)
        self._lock: OutputLock | None = None
        if self.through:
            self.real = self.tmp = self.path
            self.fh: IO = open_through(self.path, mode, **text)
            return
        self.real = Path(os.path.realpath(self.path))  # a link stays a link
        self._lock = OutputLock(self.real)
        try:
            clean_stale_temporaries(self.real.parent)
            self.tmp = temporary_path(self.real)
            self.fh = open(self.tmp, mode, **text)  # closed by commit or abort
        except BaseException:
            self._lock.release()
            raise
        _unfinished.add(self.tmp)

    def finish(self) -> None:
        """Flush (and fsync) the temporary and close it (the rename is :meth:`rename`)."""
        if not self.fh.closed:
            self.fh.flush()
            if not self.through:
                os.fsync(self.fh.fileno())
            self.fh.close()

    def rename(self) -> None:
        """Move the finished temporary into place (and drop the lock)."""
        if not self.through:
            os.replace(self.tmp, self.real)
            _unfinished.discard(self.tmp)
        self.committed = True
        self._unlock()

    def commit(self) -> None:
        self.finish()
        self.rename()

    def publish(self) -> IO:
        """Put what was written so far in place (flushed, fsynced, renamed) and hand over
        the open file to keep writing in place (a live ``.hippo`` file that appears with
        its header). The caller closes it, and holds the output's lock while it writes."""
        fh = self.fh
        fh.flush()
        if not self.through:
            os.fsync(fh.fileno())
            os.replace(self.tmp, self.real)
        self.committed = self._published = True
        self._unlock()
        return fh

    def _unlock(self) -> None:
        if self._lock is not None:
            self._lock.release()

    def abort(self) -> None:
        if not self._published:
            with contextlib.suppress(OSError):
                self.fh.close()
        if not self.committed and not self.through:
            with contextlib.suppress(OSError):
                self.tmp.unlink()
            _unfinished.discard(self.tmp)
        self._unlock()

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


class _CompleteWrites(io.RawIOBase):
    """File descriptor ``fd`` as a raw stream whose writes are complete: a short write is
    continued, and a descriptor that would block (a non-blocking pipe that is full, as some
    parents hand over) is waited on until it takes more - never an error or a loss."""

    def __init__(self, fd: int) -> None:
        super().__init__()
        self._fd = fd

    def fileno(self) -> int:
        return self._fd

    def writable(self) -> bool:
        return True

    def isatty(self) -> bool:
        return os.isatty(self._fd)

    def write(self, data) -> int:
        import select

        view = memoryview(data).cast("B")
        done = 0
        while done < len(view):
            try:
                done += os.write(self._fd, view[done:])
            except BlockingIOError:
                select.select([], [self._fd], [])
        return done

    def close(self) -> None:  # the descriptor is the process's stdout: never closed here
        super().close()


_stdout: io.BufferedWriter | None = None


def stdout_binary() -> io.BufferedWriter:
    """The process's stdout for data: a buffered writer on file descriptor 1 (whatever
    ``sys.stdout`` is, e.g. unbuffered under PYTHONUNBUFFERED, whose short writes Python
    drops silently) whose writes are complete (:class:`_CompleteWrites`). Writes that fail
    raise OSError."""
    global _stdout
    if _stdout is None or _stdout.closed:
        import sys

        try:
            fd = sys.stdout.fileno()
        except (AttributeError, ValueError, io.UnsupportedOperation):
            return sys.stdout.buffer  # an in-memory stdout (tests)
        _stdout = io.BufferedWriter(_CompleteWrites(fd), 1 << 16)
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
