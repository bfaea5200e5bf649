"""Report-quality figures with matplotlib (imported only here, Agg backend: files, no window)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..atomic import atomic_output
from ..formats.coefficients import CoefficientFile
from .reconstruct import Plan, Result

MAX_PANELS = 4
#: Points per channel a plot keeps (decimated).
PLOT_POINTS = 20_000


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
    """Reconstruction (and original and error, when known), one panel per channel."""
    plt = _pyplot()
    j = np.concatenate(result.plot_samples)
    recon = np.concatenate(result.plot_recon)
    orig = np.concatenate(result.plot_orig) if result.plot_orig else None
    columns = result.columns[:MAX_PANELS]
    rows = len(columns) * (2 if orig is not None else 1)
    heights = [3, 1] * len(columns) if orig is not None else [3] * len(columns)
    fig, axes = plt.subplots(rows, 1, figsize=(10, 1.2 + sum(heights) * 0.9), sharex=True,
                             gridspec_kw={"height_ratios": heights}, squeeze=False)
    axes = axes[:, 0]
    metrics = {m["column"]: m for m in result.metrics()} if result.has_original else {}
    for c, name in enumerate(columns):
        ax = axes[c * (2 if orig is not None else 1)]
        if orig is not None:
            ax.plot(j, orig[:, c], color="0.55", lw=1.6, label="original")
        ax.plot(j, recon[:, c], color="C0", lw=1.0, label="reconstruction")
        ax.set_ylabel(name)
        ax.grid(alpha=0.3)
        ax.legend(loc="upper right", fontsize="small")
        if name in metrics:
            m = metrics[name]
            ax.set_title(f"{name}: RMSE {m['rmse'] or float('nan'):.3g}, RMSE/std "
                         f"{m['rmse_over_std'] or float('nan'):.3g}, max |error| "
                         f"{m['max_abs_error']:.3g}", fontsize="small", loc="left")
        if orig is not None:
            err_ax = axes[c * 2 + 1]
            err_ax.plot(j, recon[:, c] - orig[:, c], color="C3", lw=0.8)
            err_ax.axhline(0, color="0.3", lw=0.5)
            err_ax.set_ylabel("error")
            err_ax.grid(alpha=0.3)
    what = "whole signal from all rows" if plan.whole else f"history held after step {plan.last}"
    fig.suptitle(f"{_title(cf.meta)}\n{what}", fontsize="medium")
    axes[-1].set_xlabel("sample")
    fig.tight_layout()
    _save(fig, path)
    plt.close(fig)


def plot_coefficients(cf: CoefficientFile, path: Path, max_rows: int = 2000) -> None:
    """Heatmap of the coefficients (rows over time), one panel per channel, as a PNG."""
    plt = _pyplot()
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


def _band(ax, env, name: str, c: int, x_of, **style) -> None:
    """A line where a bucket is one sample, else the min-max band of each bucket."""
    x, lo, hi = env.band(name, c)
    if env.size == 1:
        ax.plot(x_of(x), lo, lw=style.pop("lw", 1.0), **style)
    else:
        style.pop("lw", None)
        ax.fill_between(x_of(x), lo, hi, step="post", linewidth=0, **style)


def plot_decoded(path: str, env, png: Path) -> None:
    """A decoded ``.hippo`` file (and its original and error, when known), one panel per
    channel: lines, or min-max bands per bucket when there are more samples than pixels;
    dates on the x axis for ISO times; the bound dashed around the error; bytes and ratio in
    the title."""
    import os

    from ..formats.hippo_file import TIME_ISO, open_hippo

    plt = _pyplot()
    hf = open_hippo(path, salvage=True)
    h = hf.header
    has_orig = "original" in env.lo
    iso = h.time_column is not None and h.time_kind == TIME_ISO

    def x_of(x: np.ndarray) -> np.ndarray:
        return (x * 1e6).astype("datetime64[us]") if iso else x

    columns = h.channels[:MAX_PANELS]
    rows = len(columns) * (2 if has_orig else 1)
    heights = [3, 1] * len(columns) if has_orig else [3] * len(columns)
    fig, axes = plt.subplots(rows, 1, figsize=(10, 1.2 + sum(heights) * 0.9), sharex=True,
                             gridspec_kw={"height_ratios": heights}, squeeze=False)
    axes = axes[:, 0]
    for c, name in enumerate(columns):
        ax = axes[c * (2 if has_orig else 1)]
        if has_orig:
            _band(ax, env, "original", c, x_of, color="0.55", lw=1.6, label="original")
        _band(ax, env, "decoded", c, x_of, color="C0", lw=0.9, alpha=0.8, label="decoded")
        ax.set_ylabel(name)
        ax.grid(alpha=0.3)
        ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize="small")
        if has_orig:
            err_ax = axes[c * 2 + 1]
            _band(err_ax, env, "error", c, x_of, color="C3", lw=0.6)
            for sign in (-1, 1):
                err_ax.axhline(sign * h.max_errors[c], color="0.3", lw=0.6, ls="--")
            err_ax.set_ylabel(f"error\n(bound {h.max_errors[c]:.3g})")
            err_ax.grid(alpha=0.3)
    size = os.path.getsize(path)
    n = sum(count for _, count, _ in hf.scan())
    ratio = f", {8 * n * len(h.channels) / size:.1f}x vs float64" if n else ""
    band = f"; bands: min-max of {env.size} samples" if env.size > 1 else ""
    fig.suptitle(f"{os.path.basename(path)}: {n:,} samples, {size:,} bytes{ratio}; every "
                 f"sample within its bound{band}", fontsize="medium")
    axes[-1].set_xlabel(h.time_column or "sample")
    fig.tight_layout()
    _save(fig, png)
    plt.close(fig)
