"""An encoder's state as a value (:class:`Snapshot`) and its file (``.npz``, no pickles).

The state file holds two arrays: ``meta``, a JSON string (format, version, tool version,
the encoder's parameters, step count, channel layout and clock), and ``state``, the float64
(N, C) coefficients. Loading checks every field and size before using it.
"""

from __future__ import annotations

import io
import json
import math
import os
import struct
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .._version import __version__
from ..atomic import atomic_output, open_input
from ..checks import MAX_CHANNELS
from ..errors import DataError
from ..measures.registry import MAX_ORDER
from ..npy import npy_header

STATE_FORMAT = "hippo-state"
STATE_FORMAT_VERSION = 1
CLOCK_KEYS = ("t0", "t_last", "delta0")
#: The JSON metadata member is refused above this size.
MAX_META_BYTES = 1 << 20
#: A state file larger than this is refused before it is read: the largest state there can
#: be (MAX_ORDER x MAX_CHANNELS float64, 2 GiB) and room for the metadata.
MAX_STATE_BYTES = MAX_ORDER * MAX_CHANNELS * 8 + 2 * MAX_META_BYTES
#: A state file has two members (meta, state); a zip declaring more than this is refused
#: before its directory is parsed.
MAX_STATE_MEMBERS = 16


@dataclass
class Snapshot:
    """Everything that changes while an encoder runs.

    state : float64 (C, N) coefficients, or None before the first sample.
    steps : samples consumed.
    squeeze : the stream is 1-D (``update`` takes and returns arrays without a channel axis).
    clock : timed streams: {"t0", "t_last", "delta0"} (floats or None), else None.
    """

    state: np.ndarray | None
    steps: int
    squeeze: bool = True
    clock: dict | None = None

    def copy(self) -> Snapshot:
        return Snapshot(None if self.state is None else self.state.copy(), self.steps,
                        self.squeeze, None if self.clock is None else dict(self.clock))


def check_clock(clock: Any) -> dict | None:
    """A clock dict with finite numbers (t0 required), or None; else DataError."""
    if clock is None:
        return None
    import math

    if not isinstance(clock, dict) or clock.get("t0") is None or not all(
            clock.get(k) is None or (isinstance(clock.get(k), (int, float))
                                     and not isinstance(clock.get(k), bool)
                                     and math.isfinite(clock[k])) for k in CLOCK_KEYS):
        raise DataError("corrupt clock (t0, t_last, delta0 must be finite numbers)")
    return {k: None if clock.get(k) is None else float(clock[k]) for k in CLOCK_KEYS}


def save_state(path: str | os.PathLike, params: dict, snap: Snapshot) -> None:
    """Write ``params`` and ``snap`` to an ``.npz`` at ``path`` (atomic replace)."""
    meta = {
        "format": STATE_FORMAT,
        "format_version": STATE_FORMAT_VERSION,
        "tool_version": __version__,
        "params": params,
        "steps": snap.steps,
        "squeeze": snap.squeeze,
        "clock": snap.clock,
    }
    state = np.zeros((params["N"], 0)) if snap.state is None else snap.state.T
    buf = io.BytesIO()
    np.savez(buf, meta=np.array(json.dumps(meta, allow_nan=False)), state=state)
    with atomic_output(Path(path)) as fh:
        fh.write(buf.getvalue())


def load_state(path: str | os.PathLike) -> tuple[dict, Snapshot]:
    """(parameters, snapshot) of a state file; :class:`DataError` if it is unusable.

    The parameters are not validated here (the encoder does that); the state array is
    checked for shape (N, C), dtype and finiteness.
    """
    p = Path(path)
    if not p.exists():
        raise DataError(f"{path}: no such state file")
    if p.is_dir():
        raise DataError(f"{path}: is a folder, not a state file")
    with open_input(p, "a state file") as fh:  # read from this one handle only
        if os.fstat(fh.fileno()).st_size > MAX_STATE_BYTES:
            raise DataError(f"{path}: too large for a hippo state file (at most "
                            f"{MAX_STATE_BYTES} bytes)")
        try:
            meta, state = _read_state_file(fh, path)
        except DataError:
            raise
        except Exception as err:  # damaged or foreign file: one clean message
            raise DataError(f"{path}: not a hippo state file ({type(err).__name__})") from None
    params, steps = meta["params"], meta["steps"]
    if not np.all(np.isfinite(state)):
        raise DataError(f"{path}: corrupt state array")
    if state.shape[1] == 0 and steps != 0:
        raise DataError(f"{path}: corrupt state (steps without a state)")
    try:
        clock = check_clock(meta.get("clock"))
    except DataError as err:
        raise DataError(f"{path}: {err}") from None
    snap = Snapshot(
        state=np.ascontiguousarray(state.T) if state.shape[1] else None,
        steps=steps,
        squeeze=bool(meta.get("squeeze", True)) and state.shape[1] <= 1,
        clock=clock,
    )
    return params, snap


def _zip_members(fh) -> int:
    """The member count in the zip's end-of-central-directory record (read from the file's
    tail, before :mod:`zipfile` parses a directory that might be huge)."""
    fh.seek(0, os.SEEK_END)
    size = fh.tell()
    fh.seek(max(0, size - (1 << 16) - 22))
    tail = fh.read()
    fh.seek(0)
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or len(tail) < at + 22:
        raise ValueError("no zip directory")
    return struct.unpack("<H", tail[at + 10:at + 12])[0]


def _read_state_file(p, path: str | os.PathLike) -> tuple[dict, np.ndarray]:
    """(meta, state (N, C) float64) of a state file. Sizes are checked against the .npy
    headers of the zip members, and the state's declared shape against N and
    MAX_CHANNELS, before anything is read into memory; other failures raise whatever the
    zip/npy readers raise (the caller turns them into one message)."""
    if _zip_members(p) > MAX_STATE_MEMBERS:
        raise DataError(f"{path}: not a hippo state file (too many members)")
    with zipfile.ZipFile(p) as zf:
        info = zf.getinfo("meta.npy")
        if info.file_size > MAX_META_BYTES:
            raise DataError(f"{path}: not a hippo state file (metadata too large)")
        with zf.open(info) as fh:
            shape, _, dtype = npy_header(fh)
            if shape != () or dtype.kind != "U" or info.file_size != fh.tell() + dtype.itemsize:
                raise DataError(f"{path}: not a hippo state file (bad metadata)")
            text = np.frombuffer(fh.read(dtype.itemsize), dtype=dtype)[0]
        meta = json.loads(str(text))
        if not isinstance(meta, dict) or meta.get("format") != STATE_FORMAT:
            raise DataError(f"{path}: not a hippo state file")
        if meta.get("format_version") != STATE_FORMAT_VERSION:
            raise DataError(f"{path}: unsupported state format {meta.get('format_version')!r}")
        params = meta.get("params")
        steps = meta.get("steps")
        if (not isinstance(params, dict) or not isinstance(steps, int)
                or isinstance(steps, bool) or steps < 0):
            raise DataError(f"{path}: corrupt state metadata")
        N = params.get("N")
        known_n = isinstance(N, int) and not isinstance(N, bool)
        info = zf.getinfo("state.npy")
        with zf.open(info) as fh:
            shape, fortran, dtype = npy_header(fh)
            if (len(shape) != 2 or dtype.kind not in "biuf" or dtype.fields is not None
                    or dtype.hasobject):
                raise DataError(f"{path}: corrupt state array")
            if (known_n and shape[0] != N) or not 1 <= shape[0] <= MAX_ORDER:
                raise DataError(f"{path}: corrupt state (its array has {shape[0]} coefficients "
                                f"per channel, its parameters N = {N!r})")
            if shape[1] > MAX_CHANNELS:
                raise DataError(f"{path}: corrupt state (its array declares {shape[1]} "
                                f"channels; a state holds at most {MAX_CHANNELS})")
            nbytes = math.prod(shape) * dtype.itemsize
            if info.file_size != fh.tell() + nbytes:
                raise DataError(f"{path}: corrupt state array (its size does not match its "
                                f"shape {shape})")
            data = fh.read(nbytes)
        if len(data) != nbytes:
            raise DataError(f"{path}: corrupt state array (truncated)")
        arr = np.frombuffer(data, dtype=dtype).reshape(shape, order="F" if fortran else "C")
        return meta, np.array(arr, dtype=np.float64)
