"""An encoder's state as a value (:class:`Snapshot`) and its file (``.npz``, no pickles).

The state file holds two arrays: ``meta``, a JSON string (format, version, tool version,
the encoder's parameters, step count, channel layout and clock), and ``state``, the float64
(N, C) coefficients. Loading checks every field and size before using it.
"""

from __future__ import annotations

import io
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .._version import __version__
from ..atomic import atomic_output, note_read
from ..errors import DataError

STATE_FORMAT = "hippo-state"
STATE_FORMAT_VERSION = 1
CLOCK_KEYS = ("t0", "t_last", "delta0")
#: A state file larger than this is refused before it is read (N and channels are capped
#: far below it).
MAX_STATE_BYTES = 1 << 31


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
    note_read(p)
    if not p.exists():
        raise DataError(f"{path}: no such state file")
    if p.is_dir():
        raise DataError(f"{path}: is a folder, not a state file")
    if p.stat().st_size > MAX_STATE_BYTES:
        raise DataError(f"{path}: too large for a hippo state file")
    try:
        with np.load(p, allow_pickle=False) as z:
            meta = json.loads(str(z["meta"][()]))
            state = np.array(z["state"], dtype=np.float64)
    except Exception as err:  # damaged or foreign file: one clean message
        raise DataError(f"{path}: not a hippo state file ({type(err).__name__})") from None
    if not isinstance(meta, dict) or meta.get("format") != STATE_FORMAT:
        raise DataError(f"{path}: not a hippo state file")
    if meta.get("format_version") != STATE_FORMAT_VERSION:
        raise DataError(f"{path}: unsupported state format {meta.get('format_version')!r}")
    params = meta.get("params")
    steps = meta.get("steps")
    if (not isinstance(params, dict) or not isinstance(steps, int) or isinstance(steps, bool)
            or steps < 0):
        raise DataError(f"{path}: corrupt state metadata")
    if state.ndim != 2 or not np.all(np.isfinite(state)):
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
