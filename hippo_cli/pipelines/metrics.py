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
from ..storage import as_path

#: The 99th percentile is exact up to this many scored samples per channel, then estimated
#: from a uniform sample of this size (reservoir sampling with a fixed seed).
RESERVOIR = 1 << 16


@dataclass
class ErrorMetrics:
    """Per channel: samples scored and not covered, sums for RMSE/MAE/std, the largest error,
    the value range, and a reservoir of absolute errors for the 99th percentile.

    The sums are kept relative to a scale per channel (the largest magnitude seen so far,
    errors and values apart), as LAPACK's norms do: squares of values near 1e308 (or sums of
    many of them) would overflow, and a report of ``inf`` would say nothing. An error that
    is itself beyond the float range (inf) is reported as inf.

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
    err_scale: np.ndarray = field(init=False)  # sum_abs, sum_sq: in units of it
    value_scale: np.ndarray = field(init=False)  # total, total_sq: in units of it
    _pool: list[np.ndarray] = field(init=False)
    _seen: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        C = len(self.columns)
        for name in ("count", "uncovered", "sum_abs", "sum_sq", "max_abs", "total", "total_sq",
                     "_seen", "err_scale", "value_scale"):
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
        with np.errstate(over="ignore"):  # a difference beyond the float range is inf
            err = np.abs(np.where(covered, values - truth, 0.0))
        self.count += covered.sum(axis=0)
        self.uncovered += (~covered).sum(axis=0)
        self.err_scale, self.sum_abs, self.sum_sq = _scaled_sums(
            self.err_scale, self.sum_abs, self.sum_sq, err)
        self.max_abs = np.maximum(self.max_abs, err.max(axis=0, initial=0.0))
        self.rec_lo = np.fmin(self.rec_lo, np.nanmin(values, axis=0, initial=np.inf))
        self.rec_hi = np.fmax(self.rec_hi, np.nanmax(values, axis=0, initial=-np.inf))
        t = np.where(covered, truth, np.nan)
        self.lo = np.fmin(self.lo, np.nanmin(t, axis=0, initial=np.inf))
        self.hi = np.fmax(self.hi, np.nanmax(t, axis=0, initial=-np.inf))
        self.value_scale, self.total, self.total_sq = _scaled_sums(
            self.value_scale, self.total, self.total_sq, np.where(covered, truth, 0.0))
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
            # the units of the sums (1 while every finite value seen is 0: see _scaled_sums)
            es, vs = float(self.err_scale[c]) or 1.0, float(self.value_scale[c]) or 1.0
            rmse = es * math.sqrt(self.sum_sq[c] / n) if n else math.nan
            mean = float(self.total[c]) / n if n else math.nan  # in units of vs
            std = vs * math.sqrt(max(self.total_sq[c] / n - mean * mean, 0.0)) if n else math.nan
            # Python floats: a range beyond the float range is inf, without a warning
            span = float(self.hi[c]) - float(self.lo[c]) if n else math.nan
            p99 = _p99(self._pool[c])
            row = {"column": name, "scored": n, "not_covered": int(self.uncovered[c]),
                   "rmse": rmse, "mae": es * (float(self.sum_abs[c]) / n) if n else math.nan,
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
            lo, hi = float(self.lo[c]), float(self.hi[c])
            half = hi / 2 - lo / 2  # half the range, never overflowing
            if half > 0 and (self.rec_lo[c] < lo - half or self.rec_hi[c] > hi + half):
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
        with atomic_output(as_path(path), "w") as fh:
            json.dump({"metrics": self.report()}, fh, indent=1, allow_nan=False)
            fh.write("\n")


def _p99(pool: np.ndarray) -> float:
    """The 99th percentile of the absolute errors; inf where it falls among infinite ones
    (numpy's interpolation would give NaN, inf - inf, with a warning)."""
    if not len(pool):
        return math.nan
    with np.errstate(invalid="ignore"):
        p99 = float(np.percentile(pool, 99))
    return math.inf if math.isnan(p99) and np.isinf(pool).any() else p99


def _scaled_sums(scale: np.ndarray, s1: np.ndarray, s2: np.ndarray,
                 x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Add the chunk ``x`` (L, C) to sums kept in units of ``scale`` (C,): ``s1`` of x,
    ``s2`` of x^2. The scale grows to the largest finite magnitude seen, so that no term
    exceeds 1; an infinite x makes its sums infinite."""
    mag = np.abs(x)
    finite = np.isfinite(mag)
    top = np.max(np.where(finite, mag, 0.0), axis=0, initial=0.0)
    new = np.maximum(scale, top)
    unit = np.where(new > 0, new, 1.0)
    ratio = np.where(new > 0, scale / unit, 0.0)
    y = np.where(finite, x, 0.0) / unit
    s1 = s1 * ratio + y.sum(axis=0)
    s2 = s2 * ratio**2 + (y * y).sum(axis=0)
    blown = ~finite.all(axis=0)
    if blown.any():  # as the plain sums would be: inf, or NaN (a NaN, or inf and -inf)
        with np.errstate(invalid="ignore"):
            signed = np.where(finite, 0.0, x).sum(axis=0)
        s1 = np.where(blown, s1 + signed, s1)
        s2 = np.where(blown, np.where(np.isnan(x).any(axis=0), np.nan, np.inf), s2)
    return new, s1, s2
