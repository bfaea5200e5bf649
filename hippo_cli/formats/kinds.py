"""What kind of file a path is, by its first bytes (not its name)."""

from __future__ import annotations

import os
from typing import IO

from ..atomic import open_input
from ..errors import DataError

KINDS = {"hippo": ".hippo file", "npy": ".npy array", "npz": "state .npz",
         "text": "text (CSV) file", "other": "file of unknown kind"}


def sniff(path: str) -> str:
    """``hippo``, ``npy``, ``npz``, ``text`` or ``other`` (DataError if it cannot be read)."""
    kind, fh = sniff_open(path)
    fh.close()
    return kind


def sniff_open(path: str) -> tuple[str, IO[bytes]]:
    """(the kind of ``path``, the file open at its start): the one handle to read it from
    (:func:`~hippo_cli.atomic.open_input`: a folder, FIFO or device is refused at once)."""
    from ..atomic import is_object_url
    from ..storage import local_or_url

    if not is_object_url(path) and not os.path.lexists(local_or_url(path)):
        raise DataError(f"{path}: no such file{_nearby(path)}")
    fh = open_input(path, "a hippo file")
    try:
        head = fh.read(4096)
        fh.seek(0)
    except OSError as err:
        fh.close()
        raise DataError(f"{path}: {err.strerror}") from None
    return kind_of(head), fh


def kind_of(head: bytes) -> str:
    """The kind of a file that starts with ``head``."""
    if head.startswith(b"\x89HPO"):
        return "hippo"
    if head.startswith(b"\x93NUMPY"):
        return "npy"
    if head.startswith(b"PK\x03\x04"):
        return "npz"
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        return "other"
    return "text" if text and "\x00" not in text else "other"


def _nearby(path: str) -> str:
    """``; did you mean ...`` with the hippo files beside a missing path."""
    folder = os.path.dirname(path) or "."
    try:
        names = sorted(n for n in os.listdir(folder)
                       if n.endswith((".hippo", ".npy", ".npz")) and not n.startswith("."))
    except OSError:
        return ""
    if not names:
        return ""
    base = os.path.basename(path)
    close = [n for n in names if n.endswith(base) or base.split(".")[0] in n]
    shown = close or names
    hint = ", ".join(os.path.join(folder, n) if folder != "." else n for n in shown[:5])
    return f" (did you mean {hint}{', ...' if len(shown) > 5 else ''}?)"


def not_this_kind(path: str, kind: str, wanted: str) -> DataError:
    """The error for a file of ``kind`` where ``wanted`` was expected."""
    if kind == "text":
        return DataError(f"{path}: this is a CSV (text) file, not {wanted}; compress it first: "
                         f"hippo compress {path} --max-error 1%")
    return DataError(f"{path}: a {KINDS[kind]}, not {wanted}")
