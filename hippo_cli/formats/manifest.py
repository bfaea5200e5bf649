"""Many-series output folders: one coefficient file per series and ``manifest.json``."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from ..atomic import atomic_output

MANIFEST = "manifest.json"
MANIFEST_FORMAT = "hippo-manifest"


def series_file(out_dir: Path, sid: Any) -> Path:
    """``<out_dir>/<id>.npy`` with the id made safe for a file name."""
    name = re.sub(r"[^A-Za-z0-9._-]", "_", str(sid)) or "_"
    return Path(out_dir) / f"{name}.npy"


def write_manifest(out_dir: Path, records: list[dict], **fields: Any) -> dict:
    """Write ``manifest.json`` (atomically): the fields plus the series records by id."""
    records = sorted(records, key=lambda r: r["id"])
    manifest = {"format": MANIFEST_FORMAT, "format_version": 1, **fields, "series": records}
    with atomic_output(Path(out_dir) / MANIFEST, "w") as fh:
        json.dump(manifest, fh, separators=(",", ":"), allow_nan=False)
        fh.write("\n")
    return manifest
