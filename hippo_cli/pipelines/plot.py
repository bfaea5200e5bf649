"""Report-quality figures with matplotlib (imported only here, Agg backend: files, no window)."""

from __future__ import annotations

import contextlib
import logging
import math
import re
import warnings
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from ..atomic import atomic_output
from ..formats.coefficients import CoefficientFile
from ..formats.timestamps import local_datetimes, zone_of
from .reconstruct import Plan, Result

MAX_PANELS = 4
#: Beyond this magnitude matplotlib's axis arithmetic (margins, affine transforms and their
#: inverses subtract and multiply values) overflows - an internal error for a column near
#: 1e308: such panels are drawn divided by a power of ten, said in the axis label. The
#: square root of the float maximum: a product of two such values still fits.
HUGE = 1e150

logger = logging.getLogger("hippo_cli")


@contextlib.contextmanager
def drawing() -> Iterator[None]:
    """While a figure is built and saved: matplotlib's warnings that a font lacks a
    character (channel names in CJK, emoji) become one note on the ``hippo_cli`` logger;
    other warnings are issued again, unchanged. The warning filters are changed only inside
    this block (``catch_warnings``), never for the process."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield
    missing: list[str] = []
    seen = set()
    for w in caught:
        m = re.match(r"Glyph \d+ \((.*)\) missing from font", str(w.message))
        if m:
            if m.group(1) not in missing:
                missing.append(m.group(1))
        elif (w.category, str(w.message)) not in seen:
            seen.add((w.category, str(w.message)))
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    if missing:
        chars = "".join(_char(name) for name in missing)
        logger.info("note: the plot's font has no %s for %s: drawn as boxes (install a font "
                    "that has them, e.g. Noto Sans CJK)",
                    "glyph" if len(missing) == 1 else "glyphs", chars)


def _char(escaped: str) -> str:
    """The character of matplotlib's ``\\N{NAME}`` (or the text as it came)."""
    try:
        return escaped.encode("ascii", "backslashreplace").decode("unicode_escape")
    except (UnicodeError, ValueError):
        return escaped


def axis_scale(env, names: tuple[str, ...], c: int) -> float:
    """1, or the power of ten the values of a panel are divided by (see :data:`HUGE`)."""
    top = 0.0
    for name in names:
        if name not in env.lo:
            continue
        _, lo, hi = env.band(name, c)
        both = np.abs(np.concatenate([lo, hi]))
        both = both[np.isfinite(both)]
        if len(both):
            top = max(top, float(both.max()))
    return 1.0 if top <= HUGE else 10.0 ** math.floor(math.log10(top))


def _scaled(label: str, scale: float) -> str:
    return label if scale == 1.0 else f"{label}\n(x 1e{round(math.log10(scale))})"


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _title(meta: dict) -> str:
    scale = ""
    if meta.get("theta") is not None:
        scale = f", theta = {meta['theta']:g}" + (" s" if meta.get("time_column") else " samples")
    elif meta.get("dt") is not None:
        scale = f", dt = {meta['dt']:g}"
    if meta.get("reset_every"):
        scale += f", blocks of {meta['reset_every']} samples"
    if meta.get("tolerance"):
        tol = meta["tolerance"]
        scale += f", {meta['rows']} blocks within {tol['error']} error {tol['value']:g}"
    return (f"HiPPO-{meta['measure'].upper()} reconstruction, N = {meta['N']}, "
            f"{meta['method']}{scale}")


def _save(fig, path: Path) -> None:
    with atomic_output(path) as fh:
        fig.savefig(fh, format="png", dpi=120)


def plot_reconstruction(cf: CoefficientFile, plan: Plan, result: Result, path: Path) -> None:
    """:func:`reconstruction_figure` as a PNG."""
    plt = _pyplot()
    with drawing():
        fig = reconstruction_figure(cf, plan, result)
        _save(fig, path)
    plt.close(fig)


def reconstruction_figure(cf: CoefficientFile, plan: Plan, result: Result):
    """Reconstruction (and original and error, when known), one panel per channel, drawn from
    ``result.envelope``: lines, or min-max bands per pixel for long ranges; dates on the x
    axis for ISO times; the legend beside the data; bytes and ratio in the title."""
    import os

    plt = _pyplot()
    env = result.envelope
    meta = cf.meta
    pattern = meta.get("time_pattern")

    metrics = {m["column"]: m for m in result.metrics()} if result.has_original else {}

    def title(c: int, name: str) -> str | None:
        m = metrics.get(name)
        if m is None:
            return None
        return (f"{name}: RMSE {m['rmse'] or float('nan'):.3g}, RMSE/std "
                f"{m['rmse_over_std'] or float('nan'):.3g}, max |error| {m['max_abs_error']:.3g}")

    fig, axes, _ = _panels(plt, env, result.columns[:MAX_PANELS], meta.get("time_column"),
                        pattern, "reconstruction",
                        lambda c, name: f"error\n({name} units)", title)
    stored = cf.stored_bytes
    n = int(meta["samples"])
    ratio = f", {8 * n * cf.channels / stored:.1f}x vs float64" if stored else ""
    what = "whole signal from all rows" if plan.whole else f"history held after step {plan.last}"
    band = f"; bands: min-max of {env.size} samples" if env.size > 1 else ""
    fig.suptitle(f"{_title(meta)}\n{os.path.basename(cf.path)}: {n:,} samples in {stored:,} "
                 f"bytes{ratio}; {what}{band}", fontsize="medium")
    fig.tight_layout()
    return fig


def _time_label(name: str | None, pattern: str | None) -> str:
    """The x axis: the time column (with its zone: dates are shown as the input wrote them)
    or "sample"."""
    if name is None:
        return "sample"
    if pattern is None:
        return name
    zone = zone_of(pattern)[0]
    return f"{name} ({'UTC' if zone in ('', 'Z') else 'UTC' + zone})"


def _panels(plt, env, columns: list[str], time_column: str | None, pattern: str | None,
            main: str, error_label, title=None):
    """Figure and axes: per channel a panel of ``main`` (over the original when the envelope
    has one) with the legend outside the data, and under it the error panel labelled
    ``error_label(c, name)``. The x axis: ``time_column`` (or "sample"), in dates in the
    input's zone when ``pattern`` (ISO times), else the envelope's coordinates."""

    def x_of(x: np.ndarray) -> np.ndarray:
        return local_datetimes(x, pattern) if pattern is not None else x

    has_orig = "original" in env.lo
    rows = len(columns) * (2 if has_orig else 1)
    heights = [3, 1] * len(columns) if has_orig else [3] * len(columns)
    fig, axes = plt.subplots(rows, 1, figsize=(10, 1.2 + sum(heights) * 0.9), sharex=True,
                             gridspec_kw={"height_ratios": heights}, squeeze=False)
    axes = axes[:, 0]
    err_scales: list[float] = []  # of the error panels, for lines drawn on them later
    for c, name in enumerate(columns):
        ax = axes[c * (2 if has_orig else 1)]
        scale = axis_scale(env, ("original", main), c)
        if has_orig:
            _band(ax, env, "original", c, x_of, scale, color="0.55", lw=1.6, label="original")
        _band(ax, env, main, c, x_of, scale, color="C0", lw=0.9, alpha=0.8, label=main)
        ax.set_ylabel(_scaled(name, scale))
        ax.grid(alpha=0.3)
        ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize="small")
        text = title(c, name) if title is not None else None
        if text:
            ax.set_title(text, fontsize="small", loc="left")
        if has_orig:
            err_ax = axes[c * 2 + 1]
            err_scale = axis_scale(env, ("error",), c)
            _band(err_ax, env, "error", c, x_of, err_scale, color="C3", lw=0.6)
            err_ax.axhline(0, color="0.3", lw=0.5)
            err_ax.set_ylabel(_scaled(error_label(c, name), err_scale))
            err_scales.append(err_scale)
            err_ax.grid(alpha=0.3)
    axes[-1].set_xlabel(_time_label(time_column, pattern))
    return fig, axes, err_scales


def plot_coefficients(cf: CoefficientFile, path: Path, max_rows: int = 2000) -> None:
    """Heatmap of the coefficients (rows over time), one panel per channel, as a PNG."""
    plt = _pyplot()
    with drawing():
        fig = coefficient_figure(cf, max_rows)
        _save(fig, path)
    plt.close(fig)


def coefficient_figure(cf: CoefficientFile, max_rows: int = 2000):
    """The figure of :func:`plot_coefficients`: x is each row's real step (the block ends of
    a ``--tolerance`` file), y the coefficient index."""
    plt = _pyplot()
    meta = cf.meta
    R = cf.coeffs.shape[0]
    pick = np.unique(np.linspace(0, R - 1, min(R, max_rows)).astype(np.int64))
    data = np.asarray(cf.coeffs[pick], dtype=np.float64).reshape(len(pick), cf.channels, -1)
    steps = cf.steps()[pick]  # the rows' real steps (block ends for --tolerance files)
    columns = meta["columns"][:MAX_PANELS]
    fig, axes = plt.subplots(len(columns), 1, figsize=(10, 1.5 + 2.6 * len(columns)),
                             squeeze=False, sharex=True)
    for c, name in enumerate(columns):
        ax = axes[c, 0]
        z = data[:, c, :].T
        # c_0 is the mean and dwarfs the rest: scale the colours by the higher coefficients
        lim = float(np.nanpercentile(np.abs(z[1:] if len(z) > 1 else z), 99)) or 1.0
        # pcolormesh, not imshow: rows of --tolerance files are unevenly spaced in time
        x = steps if len(steps) > 1 else np.r_[steps, steps + 1]  # one row: a strip
        z = z if len(steps) > 1 else np.repeat(z, 2, axis=1)
        im = ax.pcolormesh(x, np.arange(z.shape[0]), z, shading="nearest",
                           cmap="RdBu_r", vmin=-lim, vmax=lim)
        ax.set_ylabel(f"{name}\ncoefficient n")
        ax.set_title(f"{name} (colours clipped at +-{lim:.3g}; c_0 is the mean)",
                     fontsize="small", loc="left")
        fig.colorbar(im, ax=ax, label="c_n")
    axes[-1, 0].set_xlabel("step")
    cadence = (f"{meta['rows']} blocks" if meta.get("block_ends") is not None
               else f"every {meta['every']} samples")
    fig.suptitle(f"HiPPO-{meta['measure'].upper()} coefficients over time, N = {meta['N']}, "
                 f"{cadence}", fontsize="medium")
    fig.tight_layout()
    return fig


def _band(ax, env, name: str, c: int, x_of, scale: float = 1.0, **style) -> None:
    """A line where a bucket is one sample, else the min-max band of each bucket (values
    divided by ``scale``)."""
    x, lo, hi = env.band(name, c)
    lo, hi = lo / scale, hi / scale
    if env.size == 1:
        ax.plot(x_of(x), lo, lw=style.pop("lw", 1.0), **style)
    else:
        style.pop("lw", None)
        ax.fill_between(x_of(x), lo, hi, step="post", linewidth=0, **style)


def plot_decoded(path: str, env, png: Path) -> None:
    """:func:`decoded_figure` as a PNG."""
    plt = _pyplot()
    with drawing():
        fig = decoded_figure(path, env)
        _save(fig, png)
    plt.close(fig)


def decoded_figure(path, env):
    """A decoded ``.hippo`` file (and its original and error, when known), one panel per
    channel: lines, or min-max bands per bucket when there are more samples than pixels;
    dates on the x axis for ISO times; the bound dashed around the error; bytes and ratio in
    the title. ``path``: a file, or the reader the samples were decoded from (its header,
    samples and size: never another file of that name)."""
    import os

    from ..codec import HippoReader, open_hippo

    plt = _pyplot()
    if isinstance(path, HippoReader):
        h, n, size, path = path.header, path.samples, path.size, path.path
    else:
        with open_hippo(path, salvage=True) as hf:
            h, n, size = hf.header, hf.samples, hf.size
    has_orig = "original" in env.lo
    pattern = h.iso_pattern

    fig, axes, err_scales = _panels(plt, env, h.channels[:MAX_PANELS], h.time_column,
                                    pattern, "decoded",
                                    lambda c, name: f"error\n(bound {h.max_errors[c]:.3g})")
    if has_orig:
        for c in range(min(len(h.channels), MAX_PANELS)):
            for sign in (-1, 1):
                axes[c * 2 + 1].axhline(sign * h.max_errors[c] / err_scales[c], color="0.3",
                                        lw=0.6, ls="--")
    ratio = f", {8 * n * len(h.channels) / size:.1f}x vs float64" if n else ""
    band = f"; bands: min-max of {env.size} samples" if env.size > 1 else ""
    fig.suptitle(f"{os.path.basename(path)}: {n:,} samples, {size:,} bytes{ratio}; every "
                 f"sample within its bound{band}", fontsize="medium")
    fig.tight_layout()
    return fig
