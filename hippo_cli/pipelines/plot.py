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
from ..errors import ParameterError
from ..formats.coefficients import CoefficientFile
from ..formats.timestamps import local_datetimes, zone_of
from .reconstruct import Plan, Result

#: Channels drawn in one figure (small multiples: one panel per channel, one shared x
#: axis); more channels go on further pages (``<name>-2.png``, ...).
PAGE = 16
#: Pages at most: channels beyond ``PAGE * MAX_PAGES`` are not drawn (a note says so).
MAX_PAGES = 8
#: Channels that get full-height panels; beyond, panels shrink (to :data:`MIN_SHRINK`) so
#: that a page stays below about 27 inches (3,200 pixels at the 120 dpi of the PNG).
FULL_PANELS = 4
MIN_SHRINK = 0.45
ELLIPSIS = "\u2026"
#: A title keeps at least this many characters of a name before it is broken in two lines.
MIN_NAME = 24
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


# ------------------------------------------------------------------ channels and pages
def select_channels(spec: str | None, names: list[str]) -> list[int]:
    """The channels ``--channels`` names: comma-separated names or 0-based indices (a name
    wins over an index that reads the same; the whole text is tried as one name first, for
    names with commas); None: every channel. Duplicates are drawn once, in the order given.
    An unknown name is a :class:`ParameterError` listing the channels."""
    if spec is None:
        return list(range(len(names)))
    tokens = [spec] if spec in names else [t.strip() for t in spec.split(",")]
    chosen: list[int] = []
    for token in tokens:
        if token in names:
            c = names.index(token)
        elif re.fullmatch(r"\d+", token) and int(token) < len(names):
            c = int(token)
        else:
            shown = ", ".join(names[:12]) + (", ..." if len(names) > 12 else "")
            raise ParameterError(f"--channels: no channel {token!r} (channels: {shown}; or "
                                 f"0-based indices below {len(names)})")
        if c not in chosen:
            chosen.append(c)
    return chosen


def paginate(chosen: list[int], note: bool = True) -> list[list[int]]:
    """``chosen`` cut into pages of :data:`PAGE` channels, at most :data:`MAX_PAGES` of them;
    channels beyond are left out with a note (on the ``hippo_cli`` logger; ``note``: False
    when only the page count is wanted), never silently."""
    drawn = chosen[:PAGE * MAX_PAGES]
    if len(drawn) < len(chosen) and note:
        logger.info("note: the plot draws %d of %d channels (%d pages of %d); choose the "
                    "others with --channels", len(drawn), len(chosen), MAX_PAGES, PAGE)
    return [drawn[i:i + PAGE] for i in range(0, len(drawn), PAGE)] or [[]]


def page_paths(path: Path, pages: int) -> list[Path]:
    """The PNG of each page: ``path``, then ``<stem>-2.png``, ``<stem>-3.png``, ..."""
    path = Path(path)
    return [path] + [path.with_name(f"{path.stem}-{k}{path.suffix}") for k in range(2, pages + 1)]


def plot_pages(path: Path, chosen: list[int], figure) -> list[Path]:
    """Draw ``figure(channels, page, pages)`` for each page of ``chosen`` and save it (the
    first page to ``path``); returns the files written."""
    plt = _pyplot()
    pages = paginate(chosen)
    written = []
    for k, (channels, png) in enumerate(zip(pages, page_paths(path, len(pages)))):
        with drawing():
            fig = figure(channels, k, len(pages))
            _save(fig, png)
        plt.close(fig)
        written.append(png)
    return written


def _page_note(channels: list[int], total: int, page: int, pages: int) -> str:
    """What a page holds, when it is not every channel."""
    if len(channels) == total:
        return ""
    span = (f"channel {channels[0]}" if len(channels) == 1 else
            f"channels {', '.join(map(str, channels))}" if channels != list(
                range(channels[0], channels[-1] + 1)) or len(channels) < 3
            else f"channels {channels[0]}-{channels[-1]}")
    return f" [{span} of {total}" + (f", page {page + 1} of {pages}]" if pages > 1 else "]")


# ------------------------------------------------------------------ text that fits
def shorten(text: str, budget: int) -> str:
    """``text`` cut in the middle to ``budget`` characters (an ellipsis for what is left
    out), or whole when it fits: the start and the end of a name are what tell names apart."""
    if len(text) <= budget:
        return text
    keep = max(budget - 1, 1)
    tail = keep // 2
    return text[:keep - tail] + ELLIPSIS + (text[-tail:] if tail else "")


def fit_text(artist, render, limit: float, renderer, vertical: bool = False) -> None:
    """Set ``artist``'s text to ``render(None)`` (names whole), or when its extent in
    pixels (width, or height when ``vertical``) exceeds ``limit``, to ``render(budget)``
    with the largest name budget (characters) that fits - measured by ``renderer``. A
    horizontal text that would keep less than :data:`MIN_NAME` characters of its names is
    broken at the ``"; "`` nearest the middle of its longest line when that keeps more."""

    def extent(text: str) -> float:
        artist.set_text(text)
        box = artist.get_window_extent(renderer)
        return box.height if vertical else box.width

    def best(render) -> int | None:
        """The largest budget that fits (None: the names whole fit)."""
        if extent(render(None)) <= limit:
            return None
        lo, hi = 3, 400  # a name keeps at least its first character, the ellipsis, its last
        while lo < hi:  # extents grow with the budget
            mid = (lo + hi + 1) // 2
            if extent(render(mid)) <= limit:
                lo = mid
            else:
                hi = mid - 1
        return lo

    budget = best(render)
    if budget is not None and budget < MIN_NAME and not vertical:
        wrapped = _wrap(render(None))
        if wrapped != render(None):  # the same cut for every budget (at the same "; ")
            cut = wrapped.count("\n")
            def wrapped(b: int | None, one_line=render) -> str:
                return _wrap(one_line(b), cut)

            wrapped_budget = best(wrapped)
            if wrapped_budget is None or wrapped_budget > budget:
                render, budget = wrapped, wrapped_budget
    artist.set_text(render(budget))


def _wrap(text: str, lines: int | None = None) -> str:
    """``text`` with its longest line broken at the ``"; "`` nearest that line's middle
    (unchanged when it has none); ``lines``: stop once the text has that many line breaks."""
    rows = text.split("\n")
    if lines is not None and len(rows) - 1 >= lines:
        return text
    i = max(range(len(rows)), key=lambda k: len(rows[k]))
    row = rows[i]
    cuts = [m.start() for m in re.finditer("; ", row)]
    if not cuts:
        return text
    at = min(cuts, key=lambda k: abs(k - len(row) / 2))
    rows[i:i + 1] = [row[:at + 1], row[at + 2:]]
    return "\n".join(rows)


def _fit_labels(fig, texts: list) -> None:
    """Titles and labels that fit: lay out, shorten each name to what its room holds (the
    figure's width for the suptitle, the axis's width for a panel title, its height for a
    y label), lay out again. ``texts``: (artist, render, room) with room "figure", or an
    axis (a title) or ("y", axis) (a y label)."""
    for artist, render, room in texts:
        artist.set_text(render(None))
        if room == "figure":  # at the top, whatever the height (the default 0.98 leaves a
            artist.set_y(1 - 0.08 / fig.get_figheight())  # gap that grows with the figure)
            artist.set_verticalalignment("top")
    fig.tight_layout()
    renderer = fig.canvas.get_renderer()
    for artist, render, room in texts:
        if room == "figure":
            fit_text(artist, render, 0.98 * fig.bbox.width, renderer)
        elif isinstance(room, tuple):  # the axis's height and half the gaps beside it
            fit_text(artist, render, _height_room(fig, room[1], renderer), renderer,
                     vertical=True)
        else:
            fit_text(artist, render, room.get_window_extent(renderer).width, renderer)
    fig.tight_layout()


def _height_room(fig, ax, renderer) -> float:
    """Pixels a y label centred on ``ax`` may span: the axis's height and half the gap to
    the panel above and to the panel below (their labels are centred on their own axes; a
    panel alone on one side counts the other side's gap)."""
    box = ax.get_window_extent(renderer)
    others = [a.get_window_extent(renderer) for a in fig.axes if a is not ax]
    column = [o for o in others if o.x0 < box.x1 and box.x0 < o.x1]  # not colour bars
    above = [o.y0 - box.y1 for o in column if o.y0 >= box.y1]
    below = [box.y0 - o.y1 for o in column if o.y1 <= box.y0]
    gaps = [min(side) for side in (above, below) if side]
    return box.height + (sum(gaps) / 2 if len(gaps) == 2 else gaps[0] if gaps else 0.0)


def _cut(name: str, budget: int | None) -> str:
    """``name`` shortened to ``budget`` characters (whole for None): for render functions."""
    return name if budget is None else shorten(name, budget)


# ------------------------------------------------------------------ figures
def plot_reconstruction(cf: CoefficientFile, plan: Plan, result: Result, path: Path,
                        channels: list[int] | None = None) -> list[Path]:
    """:func:`reconstruction_figure` as PNG pages (``channels``: 0-based, every one when
    None); returns the files written."""
    chosen = list(range(len(result.columns))) if channels is None else channels
    return plot_pages(path, chosen, lambda page_channels, k, pages: reconstruction_figure(
        cf, plan, result, page_channels, page=k, pages=pages))


def reconstruction_figure(cf: CoefficientFile, plan: Plan, result: Result,
                          channels: list[int] | None = None, page: int = 0, pages: int = 1):
    """Reconstruction (and original and error, when known), one panel per channel of
    ``channels`` (0-based; the first :data:`PAGE` when None), drawn from
    ``result.envelope``: lines, or min-max bands per pixel for long ranges; dates on the x
    axis for ISO times; the legend beside the data; bytes and ratio in the title."""
    import os

    plt = _pyplot()
    env = result.envelope
    meta = cf.meta
    pattern = meta.get("time_pattern")
    columns = list(result.columns)
    channels = list(range(len(columns)))[:PAGE] if channels is None else channels

    metrics = {m["column"]: m for m in result.metrics()} if result.has_original else {}

    def title(c: int, name: str):
        m = metrics.get(name)
        if m is None:
            return None
        rest = (f": RMSE {m['rmse'] or float('nan'):.3g}, RMSE/std "
                f"{m['rmse_over_std'] or float('nan'):.3g}, max |error| "
                f"{m['max_abs_error']:.3g}")
        return lambda budget: _cut(name, budget) + rest

    fig, _, texts = _panels(plt, env, columns, channels, meta.get("time_column"), pattern,
                            "reconstruction", lambda c, name: f"error\n({name} units)", title)
    stored = cf.stored_bytes
    n = int(meta["samples"])
    ratio = f", {8 * n * cf.channels / stored:.1f}x vs float64" if stored else ""
    what = "whole signal from all rows" if plan.whole else f"history held after step {plan.last}"
    band = f"; bands: min-max of {env.size} samples" if env.size > 1 else ""
    name = os.path.basename(cf.path)
    rest = (f": {n:,} samples in {stored:,} bytes{ratio}; {what}{band}"
            f"{_page_note(channels, len(columns), page, pages)}")
    sup = fig.suptitle("", fontsize="medium")
    texts.append((sup, lambda budget: f"{_title(meta)}\n{_cut(name, budget)}{rest}", "figure"))
    _fit_labels(fig, texts)
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


def _panels(plt, env, columns: list[str], channels: list[int], time_column: str | None,
            pattern: str | None, main: str, error_label, title=None):
    """Figure, panels and texts to fit: per channel of ``channels`` (0-based, into
    ``columns``) a panel of ``main`` (over the original when the envelope has one) with the
    legend outside the data, and under it the error panel labelled
    ``error_label(c, name)``; one shared x axis: ``time_column`` (or "sample"), in dates in
    the input's zone when ``pattern`` (ISO times), else the envelope's coordinates.
    ``title(c, name)``: a render function (see :func:`fit_text`) of the panel's title, or
    None for the name alone.
    Panels: (axis, error axis or None, the error axis's scale) per channel; texts: for
    :func:`_fit_labels`.

    The original is drawn first, wide and light grey, under ``main`` (thin, blue, a little
    transparent, above it): where the two agree the grey shows on both sides of the blue
    line, and where they part both are seen."""

    def x_of(x: np.ndarray) -> np.ndarray:
        return local_datetimes(x, pattern) if pattern is not None else x

    has_orig = "original" in env.lo
    per = [3, 1] if has_orig else [3]
    heights = per * max(len(channels), 1)
    compact = _shrink(len(channels)) < 0.75  # error panels too short for two-line labels
    fig, axes = plt.subplots(len(heights), 1, squeeze=False, sharex=True,
                             figsize=(10, 1.2 + sum(heights) * 0.9 * _shrink(len(channels))),
                             gridspec_kw={"height_ratios": heights})
    axes = axes[:, 0]
    panels, texts = [], []
    for i, c in enumerate(channels):
        name = columns[c]
        ax = axes[i * len(per)]
        scale = axis_scale(env, ("original", main), c)
        if has_orig:
            _band(ax, env, "original", c, x_of, scale, color="0.72", lw=3.2, zorder=1,
                  label="original")
        _band(ax, env, main, c, x_of, scale, color="C0", lw=0.9, zorder=3, alpha=0.85,
              label=main)
        texts.append((ax.set_ylabel(name), lambda b, name=name, scale=scale:
                      _scaled(_cut(name, b), scale), ("y", ax)))
        ax.grid(alpha=0.3)
        ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize="small")
        # the title names the channel whole where the y label has no room for it
        render = (title(c, name) if title is not None else None) or (
            lambda b, name=name: _cut(name, b))
        texts.append((ax.set_title(render(None), fontsize="small", loc="left"), render, ax))
        err_ax, err_scale = None, 1.0
        if has_orig:
            err_ax = axes[i * 2 + 1]
            err_scale = axis_scale(env, ("error",), c)
            _band(err_ax, env, "error", c, x_of, err_scale, color="C3", lw=0.6, zorder=2)
            err_ax.axhline(0, color="0.3", lw=0.5)
            if compact:  # a short error panel: its label says "error", the title the rest
                err_ax.set_ylabel(_scaled("error", err_scale))
                err_ax.locator_params(axis="y", nbins=2)
            else:
                texts.append((err_ax.set_ylabel(""), lambda b, c=c, name=name, s=err_scale:
                              _scaled(error_label(c, _cut(name, b)), s), ("y", err_ax)))
            err_ax.grid(alpha=0.3)
        panels.append((ax, err_ax, err_scale))
    axes[-1].set_xlabel(_time_label(time_column, pattern))
    return fig, panels, texts


def _shrink(channels: int) -> float:
    """How much smaller than full height each channel's panels are, for ``channels`` panels."""
    return 1.0 if channels <= FULL_PANELS else max(MIN_SHRINK, FULL_PANELS / channels)


def plot_coefficients(cf: CoefficientFile, path: Path, max_rows: int = 2000,
                      channels: list[int] | None = None) -> list[Path]:
    """Heatmap of the coefficients (rows over time), one panel per channel of ``channels``
    (0-based; every one when None), as PNG pages; returns the files written."""
    chosen = list(range(cf.channels)) if channels is None else channels
    return plot_pages(path, chosen, lambda page_channels, k, pages: coefficient_figure(
        cf, max_rows, page_channels, page=k, pages=pages))


def coefficient_figure(cf: CoefficientFile, max_rows: int = 2000,
                       channels: list[int] | None = None, page: int = 0, pages: int = 1):
    """The figure of :func:`plot_coefficients` (the first :data:`PAGE` channels when
    ``channels`` is None): x is each row's real step (the block ends of a ``--tolerance``
    file), y the coefficient index."""
    plt = _pyplot()
    meta = cf.meta
    R = cf.coeffs.shape[0]
    pick = np.unique(np.linspace(0, R - 1, min(R, max_rows)).astype(np.int64))
    data = np.asarray(cf.coeffs[pick], dtype=np.float64).reshape(len(pick), cf.channels, -1)
    steps = cf.steps()[pick]  # the rows' real steps (block ends for --tolerance files)
    columns = list(meta["columns"])
    channels = list(range(len(columns)))[:PAGE] if channels is None else channels
    fig, axes = plt.subplots(max(len(channels), 1), 1, squeeze=False, sharex=True,
                             figsize=(10, 1.5 + 2.6 * len(channels) * _shrink(len(channels))))
    texts = []
    for i, c in enumerate(channels):
        name = columns[c]
        ax = axes[i, 0]
        z = data[:, c, :].T
        # c_0 is the mean and dwarfs the rest: scale the colours by the higher coefficients
        lim = float(np.nanpercentile(np.abs(z[1:] if len(z) > 1 else z), 99)) or 1.0
        # pcolormesh, not imshow: rows of --tolerance files are unevenly spaced in time
        x = steps if len(steps) > 1 else np.r_[steps, steps + 1]  # one row: a strip
        z = z if len(steps) > 1 else np.repeat(z, 2, axis=1)
        im = ax.pcolormesh(x, np.arange(z.shape[0]), z, shading="nearest",
                           cmap="RdBu_r", vmin=-lim, vmax=lim)
        # the title names the channel: the y label's room (a short panel) is for the axis
        ax.set_ylabel("coefficient n")
        rest = f" (colours clipped at +-{lim:.3g}; c_0 is the mean)"
        texts.append((ax.set_title(name, fontsize="small", loc="left"),
                      lambda b, name=name, rest=rest: _cut(name, b) + rest, ax))
        fig.colorbar(im, ax=ax, label="c_n")
    axes[-1, 0].set_xlabel("step")
    cadence = (f"{meta['rows']} blocks" if meta.get("block_ends") is not None
               else f"every {meta['every']} samples")
    sup = fig.suptitle("", fontsize="medium")
    line = (f"HiPPO-{meta['measure'].upper()} coefficients over time, N = {meta['N']}, "
            f"{cadence}{_page_note(channels, len(columns), page, pages)}")
    texts.append((sup, lambda budget: line, "figure"))
    _fit_labels(fig, texts)
    return fig


def _band(ax, env, name: str, c: int, x_of, scale: float = 1.0, *, color: str, lw: float,
          zorder: float, alpha: float = 1.0, label: str | None = None) -> None:
    """A line (width ``lw``) where a bucket is one sample, else the min-max band of each
    bucket with an edge ``lw`` wide (a band as thin as a pixel is drawn by its edge alone;
    a wide edge makes a band stand out around a narrow one drawn over it); values divided
    by ``scale``."""
    x, lo, hi = env.band(name, c)
    lo, hi = lo / scale, hi / scale
    if env.size == 1:
        ax.plot(x_of(x), lo, color=color, lw=lw, zorder=zorder, alpha=alpha, label=label)
    else:
        ax.fill_between(x_of(x), lo, hi, step="post", facecolor=color, edgecolor=color,
                        linewidth=lw, zorder=zorder, alpha=alpha,
                        label=label)


def plot_decoded(path, env, png: Path, channels: list[int] | None = None) -> list[Path]:
    """:func:`decoded_figure` as PNG pages (``channels``: 0-based, every one when None);
    returns the files written."""
    chosen = list(range(env.channels)) if channels is None else channels
    return plot_pages(png, chosen, lambda page_channels, k, pages: decoded_figure(
        path, env, page_channels, page=k, pages=pages))


def decoded_figure(path, env, channels: list[int] | None = None, page: int = 0,
                   pages: int = 1):
    """A decoded ``.hippo`` file (and its original and error, when known), one panel per
    channel of ``channels`` (0-based; the first :data:`PAGE` when None): lines, or min-max
    bands per bucket when there are more samples than pixels; dates on the x axis for ISO
    times; the bound dashed around the error; bytes and ratio in the title. ``path``: a
    file, or the reader the samples were decoded from (its header, samples and size: never
    another file of that name)."""
    import os

    from ..codec import HippoReader, open_hippo

    plt = _pyplot()
    if isinstance(path, HippoReader):
        h, n, size, path = path.header, path.samples, path.size, path.path
    else:
        with open_hippo(path, salvage=True) as hf:
            h, n, size = hf.header, hf.samples, hf.size
    pattern = h.iso_pattern
    columns = list(h.channels)
    channels = list(range(len(columns)))[:PAGE] if channels is None else channels

    fig, panels, texts = _panels(plt, env, columns, channels, h.time_column, pattern,
                                 "decoded",
                                 lambda c, name: f"error\n(bound {h.max_errors[c]:.3g})",
                                 lambda c, name: lambda b: f"{_cut(name, b)} (bound "
                                 f"{h.max_errors[c]:.3g})")
    for c, (_, err_ax, err_scale) in zip(channels, panels):
        if err_ax is not None:
            for sign in (-1, 1):
                err_ax.axhline(sign * h.max_errors[c] / err_scale, color="0.3", lw=0.6,
                               ls="--")
    ratio = f", {8 * n * len(columns) / size:.1f}x vs float64" if n else ""
    band = f"; bands: min-max of {env.size} samples" if env.size > 1 else ""
    name = os.path.basename(path)
    rest = (f": {n:,} samples, {size:,} bytes{ratio}; every sample within its bound{band}"
            f"{_page_note(channels, len(columns), page, pages)}")
    sup = fig.suptitle("", fontsize="medium")
    texts.append((sup, lambda budget: _cut(name, budget) + rest, "figure"))
    _fit_labels(fig, texts)
    return fig
