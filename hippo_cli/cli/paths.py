"""What a path on the command line means to the CLI: ``-`` (stdin or stdout), an output
that would replace an existing file, stdin read into a file that can be read by position.

Each decision is one small function, so that other kinds of path (URLs) plug in here:

* :func:`is_stdio` - ``-`` is stdin (an input) or stdout (an output);
* :func:`replaces_a_file` - writing this output would replace an existing regular file;
* :func:`check_output` - the one check of an output before any work (not an input, its
  folder writable, and not an existing file unless ``-f/--force``);
* :func:`open_kind` - an input opened once (stdin: :func:`stdin_file`) with its kind.
"""

from __future__ import annotations

import os
import stat
import sys
from typing import IO

from ..errors import DataError, ParameterError

#: The name that means stdin (for an input) or stdout (for an output).
STDIO = "-"
#: How stdin is named in messages.
STDIN_NAME = "stdin"
#: Stdin up to this size is held in memory; beyond it, in an unnamed temporary file.
STDIN_IN_MEMORY = 64 << 20


def is_stdio(path: str | os.PathLike | None) -> bool:
    """Whether ``path`` is ``-``: stdin as an input, stdout as an output."""
    return path is not None and os.fspath(path) == STDIO


def replaces_a_file(path: str | os.PathLike) -> bool:
    """Whether writing the output ``path`` would replace an existing file: a regular file
    (or a link to one) is there. ``-`` (stdout), devices (``/dev/null``) and FIFOs are
    written through, never replaced; a missing path or a dangling link replaces nothing."""
    if is_stdio(path):
        return False
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except (OSError, ValueError):
        return False


def check_output(path: str | os.PathLike | None, force: bool) -> None:
    """Refuse the output ``path`` before any work: one of the command's inputs, a missing
    or unwritable folder (:func:`~hippo_cli.atomic.check_output_path`), or - unless
    ``force`` - an existing file (a ParameterError: ``out.hippo exists (use -f to replace
    it)``). None and ``-`` (stdout) pass."""
    from ..atomic import check_output_path
    from ..storage import RemotePath, as_path, replacing

    if path is None or is_stdio(path):
        return
    target = as_path(path)  # file:// is a local path; s3://... an object
    if isinstance(target, RemotePath):  # the store says whether the object exists
        with replacing(force):
            check_output_path(target)
        return
    check_output_path(target)  # an input named as the output: that error first
    if not force and replaces_a_file(target):
        raise ParameterError(f"{os.fspath(target)} exists (use -f to replace it)")


def stdin_file() -> IO[bytes]:
    """Stdin as a file that can be read by position (a ``.hippo`` reader seeks to its
    footer). Stdin redirected from a regular file (``< f.hippo``) is read in place; a pipe
    is read whole, into memory up to :data:`STDIN_IN_MEMORY` and into an unnamed temporary
    file beyond (a full disk is an error). A terminal is refused (it would wait for a
    binary file to be typed), and so is an empty stdin."""
    import io
    import shutil
    import tempfile

    from ..atomic import note_stdin

    try:
        fd = sys.stdin.fileno()
    except (AttributeError, ValueError, io.UnsupportedOperation):  # an in-memory stdin
        data = sys.stdin.buffer.read()
        if not data:
            raise DataError(f"{STDIN_NAME}: empty (pipe a file in)") from None
        return io.BytesIO(data)
    if os.isatty(fd):
        raise ParameterError(f"{STDIN_NAME} is a terminal: pipe a file in "
                             "(e.g. cat FILE.hippo | hippo info -)")
    note_stdin()  # stdin redirected from a file: that file is an input, never an output
    st = os.fstat(fd)
    if stat.S_ISREG(st.st_mode) and os.lseek(fd, 0, os.SEEK_CUR) == 0:
        fh: IO[bytes] = os.fdopen(os.dup(fd), "rb")
    else:
        fh = tempfile.SpooledTemporaryFile(max_size=STDIN_IN_MEMORY)
        shutil.copyfileobj(sys.stdin.buffer, fh, 1 << 20)
        fh.seek(0)
    if not fh.read(1):
        fh.close()
        raise DataError(f"{STDIN_NAME}: empty (pipe a file in)")
    fh.seek(0)
    return fh


def open_kind(path: str) -> tuple[str, str, IO[bytes]]:
    """(the name to show, the kind by its first bytes, the handle to read it from) of the
    input ``path``; ``-``: stdin (:func:`stdin_file`)."""
    from ..formats.kinds import kind_of, sniff_open

    if not is_stdio(path):
        kind, fh = sniff_open(path)
        return path, kind, fh
    fh = stdin_file()
    kind = kind_of(fh.read(4096))
    fh.seek(0)
    return STDIN_NAME, kind, fh


def refuse_stdin_kind(name: str, kind: str) -> None:
    """Only a ``.hippo`` file is read from stdin: a coefficient file needs its sidecar
    beside it, and a state file is read by its name."""
    if name == STDIN_NAME and kind in ("npy", "npz"):
        what = ("a coefficient file needs its sidecar (<name>.json) beside it"
                if kind == "npy" else "a state file is read from its path")
        raise ParameterError(f"{STDIN_NAME}: {what}; give its path instead of -")


def not_this_kind(name: str, kind: str, wanted: str) -> Exception:
    """:func:`~hippo_cli.formats.kinds.not_this_kind` for ``name`` as shown (stdin's hint
    compresses ``-``)."""
    from ..formats import kinds

    err = kinds.not_this_kind(name, kind, wanted)
    if name == STDIN_NAME:
        return type(err)(str(err).replace(f"hippo compress {STDIN_NAME} ", "hippo compress - "))
    return err
