"""Error statistics of a reconstruction against its original, accumulated chunk by chunk in
bounded memory - the one report ``reconstruct --original`` gives for coefficient and
``.hippo`` files alike."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..atomic import atomic_output

#: The 99th percentile is exact up to this many scored samples per channel, then estimated
#: from a uniform sample of this size (reservoir sampling with a fixed seed).
RESERVOIR = 1 << 16


@dataclass
class ErrorMetrics:
    """Per channel: samples scored and not covered, sums for RMSE/MAE/std, the largest error,
    the value range, and a reservoir of absolute errors for the 99th percentile.

    ``bounds``: the guaranteed bound of each channel (``.hippo`` files), else None.
    """

    columns: list[str]
    bounds: list[float] | None = None
    count: np.ndarray = field(init=False)
    uncovered: np.ndarray = field(init=False)
    sum_abs: np.ndarray = field(init=False)
    sum_sq: np.ndarray = field(init=False)
    max_abs: np.ndarray = field(init=False)
    lo: np.ndarray = field(init=False)
    hi: np.ndarray = field(init=False)
    total: np.ndarray = field(init=False)
    total_sq: np.ndarray = field(init=False)
    _pool: list[np.ndarray] = field(init=False)
    _seen: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        C = len(self.columns)
        for name in ("count", "uncovered", "sum_abs", "sum_sq", "max_abs", "total", "total_sq",
                     "_seen"):
            setattr(self, name, np.zeros(C))
        self.lo = np.full(C, np.inf)
        self.hi = np.full(C, -np.inf)
        self.rec_lo = np.full(C, np.inf)  # the reconstruction's own range
        self.rec_hi = np.full(C, -np.inf)
        self._pool = [np.empty(0) for _ in range(C)]
        self._rng = np.random.default_rng(0)

    def add(self, values: np.ndarray, truth: np.ndarray) -> None:
        """Score a chunk: values and truth (L, C); NaN values are samples not covered."""
        covered = ~np.isnan(values)
        err = np.abs(np.where(covered, values - truth, 0.0))
        self.count += covered.sum(axis=0)
        self.uncovered += (~covered).sum(axis=0)
        self.sum_abs += err.sum(axis=0)
        self.sum_sq += (err**2).sum(axis=0)
        self.max_abs = np.maximum(self.max_abs, err.max(axis=0, initial=0.0))
        self.rec_lo = np.fmin(self.rec_lo, np.nanmin(values, axis=0, initial=np.inf))
        self.rec_hi = np.fmax(self.rec_hi, np.nanmax(values, axis=0, initial=-np.inf))
        t = np.where(covered, truth, np.nan)
        self.lo = np.fmin(self.lo, np.nanmin(t, axis=0, initial=np.inf))
        self.hi = np.fmax(self.hi, np.nanmax(t, axis=0, initial=-np.inf))
        self.total += np.where(covered, truth, 0.0).sum(axis=0)
        self.total_sq += np.where(covered, truth, 0.0).__pow__(2).sum(axis=0)
        for c in range(len(self.columns)):
            self._reservoir(c, err[covered[:, c], c])

    def _reservoir(self, c: int, e: np.ndarray) -> None:
        pool = np.concatenate([self._pool[c], e])
        seen = self._seen[c] + len(e)
        if len(pool) > RESERVOIR:  # keep a uniform sample of everything seen
            keep = self._rng.choice(len(pool), RESERVOIR, replace=False)
            pool = pool[np.sort(keep)]
        self._pool[c], self._seen[c] = pool, seen

    def report(self) -> list[dict]:
        """One dict per channel (JSON-ready; NaN becomes None)."""
        out = []
        for c, name in enumerate(self.columns):
            n = int(self.count[c])
            rmse = math.sqrt(self.sum_sq[c] / n) if n else math.nan
            mean = self.total[c] / n if n else math.nan
            std = math.sqrt(max(self.total_sq[c] / n - mean * mean, 0.0)) if n else math.nan
            span = float(self.hi[c] - self.lo[c]) if n else math.nan
            p99 = float(np.percentile(self._pool[c], 99)) if len(self._pool[c]) else math.nan
            row = {"column": name, "scored": n, "not_covered": int(self.uncovered[c]),
                   "rmse": rmse, "mae": self.sum_abs[c] / n if n else math.nan,
                   "max_abs_error": float(self.max_abs[c]), "p99_abs_error": p99,
                   "p99_estimated": bool(self._seen[c] > RESERVOIR),
                   "rmse_over_std": rmse / std if std > 0 else math.nan,
                   "nrmse_over_range": rmse / span if span > 0 else math.nan}
            if self.bounds is not None:
                row["bound"] = self.bounds[c]
            out.append({k: (None if isinstance(v, float) and math.isnan(v) else v)
                        for k, v in row.items()})
        return out

    def lines(self) -> list[str]:
        """One line per channel, and a warning when samples were not scored."""
        out = []
        for m in self.report():
            fmt = (lambda v: "-" if v is None else f"{v:.4g}")  # noqa: E731
            bound = f" (bound {m['bound']:.4g})" if "bound" in m else ""
            out.append(f"{m['column']}: max abs error {fmt(m['max_abs_error'])}{bound}, RMSE "
                       f"{fmt(m['rmse'])}, MAE {fmt(m['mae'])}, p99 {fmt(m['p99_abs_error'])}, "
                       f"RMSE/std {fmt(m['rmse_over_std'])} over {m['scored']} samples")
            c = self.columns.index(m["column"])
            span = self.hi[c] - self.lo[c]
            if span > 0 and (self.rec_lo[c] < self.lo[c] - span / 2
                             or self.rec_hi[c] > self.hi[c] + span / 2):
                out.append(f"warning: {m['column']}: the reconstruction leaves the original's "
                           f"range by far ({self.rec_lo[c]:.4g}..{self.rec_hi[c]:.4g} against "
                           f"{self.lo[c]:.4g}..{self.hi[c]:.4g}): these settings do not suit "
                           "this series (try legs, a larger N, or --max-error)")
            if m["not_covered"]:
                out.append(f"warning: {m['column']}: {m['not_covered']} samples are not covered "
                           "by the coefficients (outside the measure's window) and not scored")
        return out

    def write_json(self, path: str | Path) -> None:
        """The report as JSON, atomically (``-``: stdout is not allowed here)."""
        with atomic_output(Path(path), "w") as fh:
            json.dump({"metrics": self.report()}, fh, indent=1, allow_nan=False)
            fh.write("\n")
