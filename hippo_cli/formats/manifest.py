"""Many-series output folders: one file per series and ``manifest.json``.

Series ids are strings, exactly as written in the input (``007`` and ``7`` are two series).
A series' file name is its id percent-encoded (UTF-8 bytes outside ``A-Z a-z 0-9 - _ .`` as
``%XX``; a leading ``.`` too) with each upper-case letter written ``^x`` (so ``A`` and ``a``
stay apart on case-insensitive file systems): two ids never share a file. An id too long for
a file name is shortened and given a hash of the whole id. The manifest maps every id to its file.

The manifest is written when a run starts (its settings and input, with no series yet) and
when it ends (with the series): a rerun resumes only what was made with the same settings
from the same input.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any
from urllib.parse import quote

from ..atomic import atomic_output
from ..errors import DataError

MANIFEST = "manifest.json"
MANIFEST_FORMAT = "hippo-manifest"
MANIFEST_VERSION = 2
_MAX_NAME = 200


def series_name(sid: str) -> str:
    """The file stem of series ``sid``: percent-encoded, collision-free."""
    # case-insensitive file systems: an upper-case letter X is written ^x (^ itself is %5E);
    # the hex digits of percent escapes are always upper case, so they stay as they are
    quoted = quote(sid, safe="-_.")
    parts, i = [], 0
    while i < len(quoted):
        if quoted[i] == "%":
            parts.append(quoted[i:i + 3])
            i += 3
            continue
        ch = quoted[i]
        parts.append("^" + ch.lower() if "A" <= ch <= "Z" else ch)
        i += 1
    name = "".join(parts)
    if name.startswith("."):
        name = "%2E" + name[1:]
    if len(name) > _MAX_NAME:
        digest = hashlib.sha256(sid.encode("utf-8")).hexdigest()[:16]
        name = name[: _MAX_NAME - 17] + "~" + digest
    return name


def series_file(out_dir: Path, sid: str, suffix: str = ".npy") -> Path:
    """``<out_dir>/<encoded id><suffix>``."""
    return Path(out_dir) / f"{series_name(str(sid))}{suffix}"


def read_manifest(out_dir: Path) -> dict | None:
    """The manifest of a folder, or None when there is none; a foreign or damaged one is an
    error (the folder is not ours to overwrite)."""
    path = Path(out_dir) / MANIFEST
    if not path.exists():
        return None
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError) as err:
        raise DataError(f"{path}: not a readable hippo manifest ({type(err).__name__})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != MANIFEST_FORMAT:
        raise DataError(f"{path}: not a hippo manifest")
    return manifest


def write_manifest(out_dir: Path, records: list[dict], **fields: Any) -> dict:
    """Write ``manifest.json`` (atomically): the fields plus the series records by id."""
    records = sorted(records, key=lambda r: r["id"])
    manifest = {"format": MANIFEST_FORMAT, "format_version": MANIFEST_VERSION, **fields,
                "series": records}
    with atomic_output(Path(out_dir) / MANIFEST, "w") as fh:
        json.dump(manifest, fh, separators=(",", ":"), allow_nan=False)
        fh.write("\n")
    return manifest
