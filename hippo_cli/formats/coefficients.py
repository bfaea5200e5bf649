"""Coefficient files: an ``.npy`` of rows and its JSON sidecar (the encoder's settings).

The ``.npy`` has shape (R, N) for one channel or (R, C, N) (quantised: records of a scale
and N integers). It is written row by row behind a header padded so that the final row
count can be rewritten in place; both files go through :mod:`hippo_cli.atomic`.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .._version import __version__
from ..atomic import AtomicFile, is_devnull, is_object_url, open_input, write_through_target
from ..engine.emission import count_emitted, file_steps, needs_final_row
from ..errors import DataError, ParameterError
from ..storage import RemotePath, as_path, exists, remove
from .npy_input import load_npy
from .quantize import dequantize, quantize, quantized_dtype
from .source import first_line

if TYPE_CHECKING:
    from ..codec.times import Times

#: A sidecar larger than this is refused before it is read.
MAX_SIDECAR_BYTES = 64 << 20
SIDECAR_FORMAT = "hippo-coeffs"
SIDECAR_VERSION = 1


def _header_size(row_shape: tuple[int, ...], dtype: np.dtype) -> int:
    """Bytes for a header that fits any row count up to 10^15 (64-byte aligned)."""
    longest = len(_npy_header((10**15, *row_shape), dtype, size=None))
    return -(-longest // 64) * 64


def _npy_header(shape: tuple[int, ...], dtype: np.dtype, size: int | None) -> bytes:
    """A version-1.0 ``.npy`` header padded to exactly ``size`` bytes (so the shape can be
    rewritten in place once the row count is known); ``size=None``: unpadded."""
    d = {"descr": np.lib.format.dtype_to_descr(np.dtype(dtype)), "fortran_order": False,
         "shape": tuple(int(s) for s in shape)}
    body = repr(d).encode("latin1")
    if size is None:
        return b"\x93NUMPY\x01\x00" + (len(body) + 1).to_bytes(2, "little") + body + b"\n"
    pad = size - 10 - len(body) - 1
    if pad < 0:
        raise DataError(f"array shape {shape} too large for the .npy header")
    return b"\x93NUMPY\x01\x00" + (size - 10).to_bytes(2, "little") + body + b" " * pad + b"\n"


class CoefficientWriter:
    """Append coefficient rows to an ``.npy`` of shape (R, *row_shape), atomically.

    Rows go to ``.<name>.hippo-tmp-<pid>`` beside the target; :meth:`commit` rewrites the
    header with the final row count, writes the JSON sidecar ``<path>.json`` the same way and
    renames both into place. Leaving the ``with`` block without committing removes the
    temporaries and leaves any existing output untouched.
    """

    def __init__(self, path: Path, row_shape: tuple[int, ...], dtype: str = "float64",
                 quantize: int | None = None) -> None:
        self.path = as_path(path)
        self.discard = is_devnull(self.path)  # -o /dev/null: computed, then thrown away
        if write_through_target(self.path) and not self.discard:
            raise ParameterError(f"{path}: not a regular file; a coefficient file is an .npy "
                                 "plus a sidecar, written to regular files only (or "
                                 "/dev/null, to discard both)")
        # beside the real file: a symbolic link stays a link, the pair stays together
        self.sidecar = self.path if self.discard else sidecar_path(self.path)
        self.quantize = quantize
        if quantize is None:
            self.row_shape = tuple(row_shape)
            self.dtype = np.dtype(dtype)
        else:  # one record (scale, q[N]) per row and channel
            self.row_shape = tuple(row_shape[:-1])
            self.dtype = quantized_dtype(row_shape[-1], quantize)
        self.rows = 0
        self.sidecar_bytes = 0  # known at the commit
        self._digest = hashlib.sha256()  # of the rows: the sidecar names the array it describes
        self._header = _header_size(self.row_shape, self.dtype)
        self._array = AtomicFile(self.path)
        try:  # the array's temporary and lock are given back if the sidecar cannot be had
            self._side = AtomicFile(self.sidecar, "w")
        except BaseException:
            self._array.abort()
            raise
        self._fh = self._array.fh
        try:
            self._fh.write(_npy_header((0, *self.row_shape), self.dtype, self._header))
        except BaseException:
            self.abort()
            raise

    def append(self, rows: np.ndarray) -> None:
        """rows: float64 (R, [C,] N); converted to the output dtype (or quantised)."""
        if len(rows):
            if self.quantize is not None:
                data = quantize(rows, self.quantize)
                ok = np.all(np.isfinite(data["scale"]))
            else:
                with np.errstate(over="ignore"):
                    data = np.ascontiguousarray(rows, dtype=self.dtype)
                ok = np.all(np.isfinite(data))
            if not ok:  # never store a non-finite number the input did not have
                kind = "a float32 scale" if self.dtype.names else self.dtype.name
                peak = float(np.max(np.abs(rows)))
                raise DataError(f"coefficients exceed the range of {kind} (values up to "
                                f"{peak:.3g}); use --dtype float64")
            raw = data.tobytes()
            self._digest.update(raw)
            self._fh.write(raw)
            self.rows += len(rows)

    @property
    def bytes_written(self) -> int:
        return self._header + self.rows * int(np.prod(self.row_shape)) * self.dtype.itemsize

    def commit(self, meta: dict) -> None:
        meta = {**meta, "data_sha256": self._digest.hexdigest()}
        self._fh.seek(0)
        self._fh.write(_npy_header((self.rows, *self.row_shape), self.dtype, self._header))
        self._array.finish()
        text = json.dumps(meta, separators=(",", ":"), allow_nan=False) + "\n"
        self._side.fh.write(text)
        self.sidecar_bytes = 0 if self.discard else len(text.encode("utf-8"))
        self._side.finish()
        self._array.rename()
        try:
            self._side.rename()
        except BaseException:
            # objects go up one at a time: an array this run put in a store without its
            # sidecar is taken back (one it replaced, -f, cannot be: its sidecar, naming
            # the array it describes, then refuses the pair)
            if isinstance(self.path, RemotePath) and not self._array.force:
                remove(self.path)
            raise

    def abort(self) -> None:
        self._array.abort()
        self._side.abort()

    def __enter__(self) -> CoefficientWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.abort()  # after a commit the temporaries no longer exist: a no-op


def sidecar_path(coeffs: Path) -> Path:
    """``signal.coeffs.npy`` -> ``signal.coeffs.npy.json``, beside the real file: for a
    symbolic link ``link.npy -> data/c.npy``, ``data/c.npy.json`` (the pair stays together
    whichever name it is read by)."""
    if isinstance(coeffs, RemotePath):  # an object: no links
        return coeffs.with_name(coeffs.name + ".json")
    real = Path(os.path.realpath(coeffs))
    return real.with_name(real.name + ".json")


def _sidecar_of(path: str) -> Path:
    """The sidecar to read: beside the real file, or (hippo 0.2 wrote it there when the
    output was a link) beside the name given."""
    if is_object_url(path):
        return sidecar_path(as_path(path))
    side = sidecar_path(Path(path))
    beside = Path(path).with_name(Path(path).name + ".json")
    return beside if not side.exists() and beside.exists() else side


@dataclass
class CoefficientFile:
    """A coefficient ``.npy`` (memory-mapped) and its validated sidecar."""

    path: str
    coeffs: np.ndarray  # (R, N) or (R, C, N)
    meta: dict
    #: bytes on disk of the ``.npy`` and its sidecar, as they were read
    stored_bytes: int = 0

    @property
    def channels(self) -> int:
        return len(self.meta["columns"])

    def row(self, r: int) -> np.ndarray:
        """Row r as float64 of shape (C, N) (dequantised if the file is quantised)."""
        rec = self.coeffs[r]
        if rec.dtype.names:
            return dequantize(np.asarray(rec)).reshape(self.channels, -1)
        return np.asarray(rec, dtype=np.float64).reshape(self.channels, -1)

    def steps(self) -> np.ndarray:
        """Global step of each row (int64, shape (R,))."""
        if self.meta.get("block_ends") is not None:
            return np.asarray(self.meta["block_ends"], dtype=np.int64)
        return file_steps(self.meta["every"], self.meta["samples"])

    def starts(self) -> np.ndarray:
        """First sample of the history each row holds: 0, or its block's first sample."""
        steps = self.steps()
        if self.meta.get("block_ends") is not None:
            return np.concatenate([[0], steps[:-1] + 1]).astype(np.int64)
        if self.meta.get("reset_every"):
            return steps - steps % self.meta["reset_every"]
        return np.zeros_like(steps)


_SIDECAR_TYPES: dict[str, type | tuple[type, ...]] = {
    "format": str, "format_version": int, "measure": str, "N": int, "method": str,
    "every": int, "samples": int, "rows": int, "columns": list, "dtype": str,
}


def _no_constants(name: str) -> float:
    raise ValueError(f"{name} is not a number a sidecar may hold")


def _check_digest(path: str, arr: np.ndarray, want: object, side: Path) -> None:
    """The array must be the one its sidecar describes (a kill between the two renames
    could pair a new array with an old sidecar)."""
    if want is None:  # written before sidecars named their array: nothing to compare
        return
    h = hashlib.sha256()
    flat = arr.reshape(-1) if arr.size else arr
    step = max(1, (1 << 24) // max(arr.dtype.itemsize, 1))
    for i in range(0, flat.shape[0], step):
        h.update(np.ascontiguousarray(flat[i:i + step]).tobytes())
    if h.hexdigest() != want:
        raise DataError(f"{path}: does not match its sidecar {side.name} (the pair was torn "
                        "apart, by a crash between the two renames or replaced while it was "
                        "read); read it again, or compress again")


def load_coefficients(path: str, fh=None) -> CoefficientFile:
    """Open a coefficient file and its sidecar; check they agree.

    Each file is opened once (the ``.npy``: ``fh`` if given) and read from that handle. The
    two are separate files, so a pair replaced while it is read could be read half old,
    half new: the sidecar names the array it describes (shape, dtype and the SHA-256 of its
    rows), so such a mixture is an error, never a result."""
    side = _sidecar_of(path)
    own = fh is None
    if own:
        fh = open_input(path, "an .npy file")
    try:
        arr = load_npy(path, fh)
        npy_bytes = os.fstat(fh.fileno()).st_size
    finally:
        if own:
            fh.close()
    if not exists(side):
        raise DataError(f"{path}: no sidecar {side.name} (it holds the encoder settings)")
    with open_input(side, "a sidecar") as sfh:
        side_bytes = os.fstat(sfh.fileno()).st_size
        if side_bytes > MAX_SIDECAR_BYTES:
            raise DataError(f"{side}: too large for a hippo sidecar")
        raw = sfh.read(MAX_SIDECAR_BYTES + 1)
    if len(raw) > MAX_SIDECAR_BYTES:
        raise DataError(f"{side}: too large for a hippo sidecar")
    try:
        meta = json.loads(raw.decode("utf-8"), parse_constant=_no_constants)
    except RecursionError:
        raise DataError(f"{side}: not valid JSON (nested too deeply)") from None
    except (OSError, ValueError) as err:
        raise DataError(f"{side}: not valid JSON ({first_line(err)})") from None
    if not isinstance(meta, dict) or meta.get("format") != SIDECAR_FORMAT:
        raise DataError(f"{side}: not a hippo sidecar")
    for key, typ in _SIDECAR_TYPES.items():
        if not isinstance(meta.get(key), typ) or isinstance(meta.get(key), bool):
            raise DataError(f"{side}: field {key!r} missing or of the wrong type")
    if meta["format_version"] != SIDECAR_VERSION:
        raise DataError(f"{side}: unsupported format version {meta['format_version']}")
    C, N, R = len(meta["columns"]), meta["N"], meta["rows"]
    bits = meta.get("quantize")
    if bits is not None:
        if not isinstance(bits, int) or isinstance(bits, bool) or not 2 <= bits <= 16:
            raise DataError(f"{side}: field 'quantize' must be 2..16")
        want_dtype = quantized_dtype(N, bits)
        want = (R,) if C == 1 else (R, C)
    else:
        if meta["dtype"] not in ("float64", "float32"):
            raise DataError(f"{side}: dtype {meta['dtype']!r} is not float64 or float32")
        want_dtype = np.dtype(meta["dtype"])
        want = (R, N) if C == 1 else (R, C, N)
    if arr.shape != want:
        raise DataError(f"{path}: shape {arr.shape} does not match its sidecar ({want})")
    if arr.dtype != want_dtype:
        raise DataError(f"{path}: dtype {arr.dtype} does not match its sidecar ({want_dtype})")
    every, total = meta["every"], meta["samples"]
    ends = meta.get("block_ends")
    if ends is not None:
        if (not isinstance(ends, list) or len(ends) != R or not all(
                isinstance(e, int) and not isinstance(e, bool) for e in ends)
                or (R and (ends[-1] != total - 1 or min(np.diff([-1, *ends])) < 1))):
            raise DataError(f"{side}: block_ends do not match the rows and samples")
    elif every < 1 or total < 0 or count_emitted(0, total, every) + needs_final_row(
            total, every) != R:  # arithmetic, not an array: the counts are not trusted yet
        raise DataError(f"{side}: rows/every/samples are inconsistent")
    if meta.get("time_column") is not None:
        clock, times = meta.get("clock"), meta.get("row_times")
        if (not isinstance(clock, dict) or not all(isinstance(clock.get(k), (int, float))
                                                   for k in ("t0", "t_last"))
                or not isinstance(times, list) or len(times) != R
                or not all(isinstance(v, (int, float)) for v in times)
                or (R > 1 and min(np.diff(times)) <= 0)):
            raise DataError(f"{side}: clock/row_times do not match the rows")
        parts = meta.get("sample_times")
        if parts is not None and (
                not isinstance(parts, list) or not all(
                    isinstance(p, list) and len(p) == 2 and isinstance(p[0], int)
                    and not isinstance(p[0], bool) and 1 <= p[0] <= MAX_TIME_PART
                    and isinstance(p[1], str) for p in parts)
                or sum(p[0] for p in parts) != total):
            raise DataError(f"{side}: sample_times do not match the samples")
        pattern = meta.get("time_pattern")
        if pattern is not None and (not isinstance(pattern, str) or not (re.fullmatch(
                r"(D|[T_][ms36])(Z|[+-]\d\d:\d\d)?", pattern) or _is_template(pattern))):
            raise DataError(f"{side}: field 'time_pattern' is not a time pattern")
    reset = meta.get("reset_every")
    if reset is not None and (not isinstance(reset, int) or isinstance(reset, bool)
                              or reset < 1 or reset % every):
        raise DataError(f"{side}: field 'reset_every' must be a multiple of every")
    _check_digest(path, arr, meta.get("data_sha256"), side)
    return CoefficientFile(path, arr, meta, npy_bytes + side_bytes)


#: Samples per stored time part at most (compress stores one part per chunk): a bound
#: checked before a part is decoded.
MAX_TIME_PART = 1 << 24


def stored_time_part(times: Times) -> list:
    """``[n, text]``: the n times exactly, as a ``.hippo`` time part
    (:func:`~hippo_cli.codec.times.encode_part`: integers, decimals, ISO ticks with their
    templates), base64 text for the JSON sidecar."""
    import base64

    from ..codec.times import encode_part

    return [len(times), base64.b64encode(encode_part(times)).decode("ascii")]


def timing_metadata(time_column: str, clock: dict, row_times: list[float],
                    time_parts: list[list], pattern: str | None) -> dict:
    """The sidecar fields of a timed file: the time column, the encoder's clock, each row's
    time, the sample times (:func:`stored_time_part` pieces) and how they are written back
    (an ISO pattern, or None for numbers)."""
    return {"time_column": time_column, "clock": clock, "row_times": row_times,
            "sample_times": time_parts, "time_pattern": pattern}


def stored_times(meta: dict) -> Iterator[Times]:
    """The sample times of a sidecar's ``sample_times``, part by part (checked by
    :func:`read_coefficients`). Sidecars of hippo 0.2 kept ISO times as seconds, written in
    their ``time_pattern``."""
    import base64

    from ..codec.times import decode_part, template_of_pattern

    pattern = meta.get("time_pattern")  # hippo 0.2: a pattern; since 0.3: a template
    template = (pattern if pattern and pattern.startswith("####") else
                template_of_pattern(pattern) if pattern else None)
    for n, text in meta["sample_times"]:
        try:
            raw = base64.b64decode(text, validate=True)
            yield decode_part(raw, n, template if raw[:1] in (b"\0", b"\1", b"\2") else None)
        except ValueError as err:
            raise DataError(f"the sidecar's sample times are corrupt ({err})") from None


def coefficient_metadata(
    params: dict, *, every: int, samples: int, rows: int, columns: list[str], dtype: str,
    input_name: str, input_bytes: int | None, nan: str, quantize: int | None = None,
    block_ends: list[int] | None = None, tolerance: dict | None = None,
    timing: dict | None = None,
) -> dict:
    """The sidecar: everything ``reconstruct`` and ``info`` need."""
    return {
        "format": SIDECAR_FORMAT,
        "format_version": SIDECAR_VERSION,
        "tool": "hippo-cli",
        "tool_version": __version__,
        **params,
        "legs_time": params.get("legs_time"),
        "init": params.get("init"),
        "every": every,
        "steps_rule": "rows end the blocks listed in block_ends" if block_ends is not None else
                      "rows are the steps k with (k + 1) % every == 0, plus the final step "
                      "k = samples - 1 when it is not one of them",
        "samples": samples,
        "rows": rows,
        "columns": columns,
        "dtype": dtype,
        "input": input_name,
        "input_bytes": input_bytes,
        "nan": nan,
        "quantize": quantize,
        "block_ends": block_ends,
        "tolerance": tolerance,
        **(timing or {}),
    }


def _is_template(text: str) -> bool:
    """Whether ``text`` is a time template (:mod:`hippo_cli.codec.times`)."""
    from ..codec.times import zone_of_template

    try:
        zone_of_template(text)
    except ValueError:
        return False
    return len(text) <= 64
