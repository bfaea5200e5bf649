"""The one way hippo writes a file: to a temporary beside the target, renamed into place only
when complete.

Temporaries are named ``.<target name>.hippo-tmp-<pid>``. A run removes its own on any
exception (the CLI turns SIGTERM into :class:`hippo_cli.errors.Terminated` so that this
happens on SIGTERM too) and, before writing, those of runs whose process is gone (SIGKILL,
power loss). An existing file at the target is untouched until the final rename.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from .errors import DataError

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
    """Remove the temporaries in ``folder`` left by runs whose process is gone."""
    with contextlib.suppress(OSError):
        for p in Path(folder).iterdir():
            name = p.name
            if not name.startswith(".") or TMP_MARK not in name:
                continue
            pid = name.rsplit(TMP_MARK, 1)[1]
            if pid.isdigit() and not _pid_alive(int(pid)):
                with contextlib.suppress(OSError):
                    p.unlink()


def check_output_path(path: Path) -> Path:
    """Fail early (before any work) when ``path`` cannot be written."""
    path = Path(path)
    if path.is_dir():
        raise DataError(f"{path}: is a folder; give a file name")
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise DataError(f"{parent}: no such folder")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise DataError(f"{parent}: folder is not writable")
    return path


class AtomicFile:
    """A file being written to its temporary; :meth:`commit` renames it into place,
    :meth:`abort` (or leaving the ``with`` block without a commit) removes it.

    ``fh`` is the open temporary (binary, or UTF-8 text with ``\\n`` line ends for
    ``mode="w"``).
    """

    def __init__(self, path: str | os.PathLike, mode: str = "wb") -> None:
        self.path = check_output_path(Path(path))
        clean_stale_temporaries(self.path.parent if str(self.path.parent) else Path("."))
        self.tmp = temporary_path(self.path)
        text = {"encoding": "utf-8", "newline": "\n"} if "b" not in mode else {}
        self.fh: IO = open(self.tmp, mode, **text)
        self.committed = False

    def finish(self) -> None:
        """Flush and fsync the temporary and close it (the rename is :meth:`rename`)."""
        if not self.fh.closed:
            self.fh.flush()
            os.fsync(self.fh.fileno())
            self.fh.close()

    def rename(self) -> None:
        """Move the finished temporary into place."""
        os.replace(self.tmp, self.path)
        self.committed = True

    def commit(self) -> None:
        self.finish()
        self.rename()

    def abort(self) -> None:
        with contextlib.suppress(OSError):
            self.fh.close()
        if not self.committed:
            with contextlib.suppress(OSError):
                self.tmp.unlink()

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
