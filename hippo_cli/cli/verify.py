"""``hippo test``: check files whole, as ``zstd -t`` and ``gzip -t`` do - every frame of a
``.hippo`` file decoded and its checksums, index and footer checked; a coefficient file
against the SHA-256 its sidecar records; a state file through its zip CRC-32s and the
loader's checks. Nothing is written."""

from __future__ import annotations

import time
from typing import IO

import typer

from ..errors import DataError, HippoError, ParameterError
from .app import QUIET, VERBOSE, app, cli_errors, detail, say
from .paths import STDIN_NAME, is_stdio, not_this_kind, open_kind, refuse_stdin_kind


@app.command("test")
@cli_errors
def test_files(
    files: list[str] = typer.Argument(..., help="Files to check: .hippo (- for stdin), "
                                      "coefficient .npy (with sidecar) or state .npz.",
                                      metavar="FILE"),
    threads: int | None = typer.Option(None, "--threads", help=".hippo: threads that decode "
                                       "one frame's channels at once [the cores available].",
                                       min=1),
    quiet: bool = QUIET,
    verbose: bool = VERBOSE,
) -> None:
    """Check every FILE whole: each frame of a .hippo file decoded, its checksums, index and
    footer; a coefficient file against the SHA-256 in its sidecar; a state file's zip
    CRC-32s. Quiet on success (as zstd -t); -v prints FILE: OK per file. The first damage
    of each file is one error line; exit 1 if any file is damaged or unreadable."""
    bad = 0
    for path in files:
        try:
            started = time.perf_counter()
            what = check_file(path, threads)
            shown = STDIN_NAME if is_stdio(path) else path
            detail(f"{shown}: OK ({what}; {time.perf_counter() - started:.2f} s)")
        except ParameterError:
            raise
        except (HippoError, OSError) as err:
            text = str(err) if isinstance(err, HippoError) else (
                f"{err.filename or path}: {err.strerror or err}")
            say(f"error: {text}")
            bad += 1
    if bad:
        if len(files) > 1:
            say(f"error: {bad} of {len(files)} files failed the test")
        raise typer.Exit(1)


def check_file(path: str, threads: int | None = None) -> str:
    """Read the file ``path`` (``-``: stdin) whole and check it; what it holds (for -v), or
    a DataError naming the first damage."""
    name, kind, fh = open_kind(path)
    with fh:
        refuse_stdin_kind(name, kind)
        if kind == "other" and not fh.read(1):
            raise DataError(f"{name}: is empty, not a .hippo, coefficient or state file")
        if kind == "hippo":
            return check_hippo(fh, name, threads)
        if kind == "npy":
            from ..formats.coefficients import load_coefficients

            cf = load_coefficients(path, fh)  # checks the rows' SHA-256 against the sidecar
            return (f"coefficients {'x'.join(map(str, cf.coeffs.shape))}, SHA-256 as its "
                    "sidecar records")
    if kind == "npz":
        from ..engine import HiPPO

        enc = HiPPO.load(path)  # the zip's CRC-32s, then shape, dtype and finiteness
        return f"state of {enc.params()['measure']} N = {enc.N} after {enc.steps} steps"
    raise not_this_kind(name, kind, "a .hippo, coefficient or state file")


def check_hippo(fh: IO[bytes], name: str, threads: int | None = None) -> str:
    """Decode every frame of the open ``.hippo`` file ``fh``, in order, one at a time (each
    frame's checksum, head, index entry and payload), after the header's and the footer's
    checks. The first damage, in file order, is a DataError ``NAME: frame 3 at byte 1234:
    checksum mismatch`` (the reader's words); a stream that was not closed passes, with
    the reader's note."""
    from ..codec import HippoReader

    # salvage: the reader notes damage and goes on, so that the first one can be named
    # in file order (an end found damaged when the file is opened comes after every frame
    # its index lists)
    with HippoReader(fh, name, salvage=True, threads=threads) as hf:
        at_open = hf.damage
        for i in range(len(hf.index)):
            hf.damage = None
            for _ in hf.frames(i, i + 1):
                pass
            if hf.damage is not None:
                raise DataError(f"{name}: {hf.damage}")
        if at_open is not None:
            raise DataError(f"{name}: {at_open}")
        for note in hf.notes:
            say(note)
        channels = len(hf.header.channels)
        return (f"{hf.samples} samples x {channels} channel{'s' * (channels != 1)} in "
                f"{len(hf.index)} frame{'s' * (len(hf.index) != 1)}, "
                f"{_end_checked(hf)}")


def _end_checked(hf) -> str:
    """How the end of a .hippo file checked out, for the summary line."""
    from ..codec.container import ONE_FRAME

    if hf.header.version == ONE_FRAME:
        return "one-frame file, its checksum checked"
    return "footer checked" if hf.finished else "no footer"
