"""Plots a report can use, checked for what they show: axes, labels, units, dates, the
legend beside the data, bytes and ratio in the title, min-max bands for long series, zoom,
and the size of the PNG."""

from __future__ import annotations

import struct
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_cli import assert_clean_failure, hippo

import naive

pytest.importorskip("matplotlib")
import matplotlib

matplotlib.use("Agg")
from matplotlib.collections import PolyCollection

from hippo_cli.formats.coefficients import load_coefficients
from hippo_cli.pipelines import reconstruct
from hippo_cli.pipelines.envelope import Envelope, bin_min_max
from hippo_cli.pipelines.plot import reconstruction_figure


def _png_size(path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", head[16:24])


def _timed_csv(path, n: int, zone: str = "+05:30") -> np.ndarray:
    stamps = pd.date_range("2026-05-01 08:00", periods=n, freq="1min")
    v = np.sin(np.arange(n) / 40.0) + 0.05 * np.random.default_rng(0).standard_normal(n)
    pd.DataFrame({"when": [s.strftime("%Y-%m-%dT%H:%M:%S") + zone for s in stamps],
                  "temp": v}).to_csv(path, index=False)
    return v


def _legend_beside(fig, ax) -> bool:
    fig.canvas.draw()
    box = ax.get_legend().get_window_extent()
    return box.x0 >= ax.get_window_extent().x1 - 1


def test_coefficient_plot_shows_dates_units_bytes_and_keeps_the_legend_out(tmp_path):
    src = tmp_path / "s.csv"
    _timed_csv(src, 3000)
    out = tmp_path / "s.npy"
    assert hippo("compress", src, "-t", "when", "-N", 24, "--every", 100, "-o", out,
                 "--method", "exact").exit_code == 0
    cf = load_coefficients(str(out))
    plan = reconstruct.plan(cf, whole=True)
    res = reconstruct.run(cf, plan, csv_path=None, original=str(src), keep_for_plot=True)
    fig = reconstruction_figure(cf, plan, res)
    main, err = fig.axes[0], fig.axes[1]
    assert main.get_ylabel() == "temp" and err.get_ylabel() == "error\n(temp units)"
    assert err.get_xlabel() == "when (UTC+05:30)"
    assert "date" in type(err.xaxis.get_converter()).__name__.lower()  # a date axis
    # the dates shown are the input's wall-clock times: the first is 08:00
    first = matplotlib.dates.num2date(main.lines[0].get_xdata()[0]
                                      if main.lines else main.collections[0].get_paths()[0]
                                      .vertices[0, 0])
    assert (first.hour, first.minute) == (8, 0)
    title = fig._suptitle.get_text()
    assert "3,000 samples" in title and "bytes" in title and "x vs float64" in title
    assert "RMSE" in main.get_title(loc="left")
    assert _legend_beside(fig, main)
    assert [t.get_text() for t in main.get_legend().get_texts()] == ["original",
                                                                     "reconstruction"]


def test_long_series_are_bands_not_a_solid_line(tmp_path):
    n = 200_000
    np.save(tmp_path / "u.npy", np.sin(np.arange(n) / 3000.0) + 0.1 * np.sign(
        np.sin(np.arange(n) / 7.0)))
    out = tmp_path / "u.coeffs.npy"
    assert hippo("compress", tmp_path / "u.npy", "-N", 32, "--every", 1000, "--method",
                 "exact", "-o", out).exit_code == 0
    cf = load_coefficients(str(out))
    plan = reconstruct.plan(cf, whole=True)
    res = reconstruct.run(cf, plan, csv_path=None, original=str(tmp_path / "u.npy"),
                          keep_for_plot=True)
    assert res.envelope.size > 1 and res.envelope.buckets <= 2000
    fig = reconstruction_figure(cf, plan, res)
    bands = [c for c in fig.axes[0].collections if isinstance(c, PolyCollection)]
    assert len(bands) == 2  # original and reconstruction: min-max per pixel
    assert fig.axes[-1].get_xlabel() == "sample"
    assert "bands: min-max of" in fig._suptitle.get_text()
    # through the CLI: a PNG of the promised width, zoomed by sample index
    res = hippo("reconstruct", out, "--all", "--plot", "--from", 1000, "--to", 5000,
                "--original", tmp_path / "u.npy")
    assert res.exit_code == 0, res.stderr
    width, height = _png_size(tmp_path / "u.coeffs.png")
    assert width == 1200 and 400 < height < 1200


def test_zoom_by_time_and_its_errors(tmp_path):
    src = tmp_path / "z.csv"
    _timed_csv(src, 600, zone="Z")
    out = tmp_path / "z.npy"
    assert hippo("compress", src, "-t", "when", "-N", 16, "--every", 50, "-o", out).exit_code == 0
    cf = load_coefficients(str(out))
    plan = reconstruct.plan(cf, whole=True)
    window = reconstruct.plot_window(cf, plan, "2026-05-01T09:00:00Z", "2026-05-01T09:59:00Z")
    assert window[1] == 60  # one sample a minute
    res = reconstruct.run(cf, plan, csv_path=None, original=None, keep_for_plot=True,
                          window=window)
    fig = reconstruction_figure(cf, plan, res)
    lo, hi = fig.axes[0].get_xlim()
    span = (matplotlib.dates.num2date(hi) - matplotlib.dates.num2date(lo)).total_seconds()
    assert span < 2 * 3600  # the hour asked for (with margins), not the ten hours stored
    assert fig.axes[-1].get_xlabel() == "when (UTC)"
    assert_clean_failure(hippo("reconstruct", out, "--plot", "--from", "2026-05-02T00:00:00Z",
                               "--to", "2026-05-01T00:00:00Z"), 2, "--from is after --to")
    assert_clean_failure(hippo("reconstruct", out, "--plot", "--from", "2027-01-01T00:00:00Z"),
                         2, "select no sample")
    assert_clean_failure(hippo("reconstruct", out, "--from", "2026-05-01T09:00:00Z"), 2,
                         "--plot")


def test_hippo_file_plot_labels(tmp_path):
    from hippo_cli.pipelines.bounded import decode_to_csv, plot_window
    from hippo_cli.pipelines.envelope import Envelope
    from hippo_cli.pipelines.plot import decoded_figure

    src = tmp_path / "h.csv"
    _timed_csv(src, 2000, zone="-03:00")
    out = tmp_path / "h.hippo"
    assert hippo("compress", src, "-t", "when", "--max-error", "1%", "-o", out).exit_code == 0
    window, count, channels = plot_window(str(out), None, None)
    env = Envelope(count, channels, window=window)
    decode_to_csv(str(out), None, original=str(src), envelope=env)
    fig = decoded_figure(str(out), env)
    assert fig.axes[-1].get_xlabel() == "when (UTC-03:00)"
    assert fig.axes[1].get_ylabel().startswith("error\n(bound ")
    assert _legend_beside(fig, fig.axes[0])
    assert "every sample within its bound" in fig._suptitle.get_text()


PROPS = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def _samples_with_nan(draw, max_len: int = 300):
    """(L, C) values with NaN in runs, single cells and whole columns; some infinities."""
    n = draw(st.integers(1, max_len))
    c = draw(st.integers(1, 3))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    v = rng.standard_normal((n, c)) * 10.0 ** draw(st.integers(-3, 3))
    pattern = draw(st.sampled_from(["none", "cells", "runs", "all", "column"]))
    if pattern == "cells":
        v[rng.random((n, c)) < 0.3] = np.nan
    elif pattern == "runs":
        for _ in range(draw(st.integers(1, 4))):
            a = int(rng.integers(0, n))
            v[a:a + int(rng.integers(1, max(2, n // 2)))] = np.nan
    elif pattern == "all":
        v[:] = np.nan
    elif pattern == "column":
        v[:, int(rng.integers(0, c))] = np.nan
    if draw(st.booleans()):
        v[int(rng.integers(0, n)), 0] = draw(st.sampled_from([np.inf, -np.inf]))
    return v


@PROPS
@given(_samples_with_nan(), st.data())
def test_bin_min_max_matches_a_loop_over_bins(values, data):
    n = len(values)
    starts = np.array(sorted(data.draw(st.sets(st.integers(1, max(1, n - 1)), max_size=n))
                             - {n}), dtype=np.int64)
    starts = np.r_[0, starts].astype(np.int64)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an all-NaN bin is NaN, not a RuntimeWarning
        lo, hi = bin_min_max(values, starts)
    want_lo, want_hi = naive.bin_min_max(values, starts)
    assert lo.shape == want_lo.shape == (len(starts), values.shape[1])
    np.testing.assert_array_equal(lo, want_lo)  # NaN where the reference has NaN
    np.testing.assert_array_equal(hi, want_hi)


@PROPS
@given(_samples_with_nan(max_len=500), st.integers(1, 700), st.data())
def test_envelope_fed_in_chunks_matches_a_loop_over_buckets(values, width, data):
    """Any chunking, any width (buckets of one sample, or one bucket larger than the data),
    positions with gaps: the buckets hold the min and max of the samples that fall in them."""
    n = len(values)
    gaps = data.draw(st.booleans())
    pos = np.arange(n, dtype=np.int64)
    if gaps:  # positions skipped (rows a HiPPO row does not cover)
        pos = np.cumsum(np.r_[0, 1 + (np.random.default_rng(n).random(n - 1) < 0.2) * 3])
    total = int(pos[-1]) + 1
    env = Envelope(total, values.shape[1], width=width)
    cuts = sorted(data.draw(st.sets(st.integers(1, max(1, n - 1)), max_size=8)) - {n})
    for a, b in zip([0, *cuts], [*cuts, n]):
        env.add(pos[a:b], pos[a:b] * 0.5, decoded=values[a:b])
    bucket = pos // env.size
    want_lo = np.full((env.buckets, values.shape[1]), np.nan)
    want_hi = want_lo.copy()
    starts = np.flatnonzero(np.r_[True, bucket[1:] != bucket[:-1]])
    lo, hi = naive.bin_min_max(values, starts)
    want_lo[bucket[starts]], want_hi[bucket[starts]] = lo, hi
    np.testing.assert_array_equal(env.lo["decoded"], want_lo)
    np.testing.assert_array_equal(env.hi["decoded"], want_hi)
    want_x = np.full(env.buckets, np.nan)
    want_x[bucket[starts]] = pos[starts] * 0.5  # where each bucket's first sample lies
    np.testing.assert_array_equal(env.x, want_x)
    for c in range(values.shape[1]):  # a band skips buckets without values: gaps stay gaps
        x, blo, bhi = env.band("decoded", c)
        held = np.isfinite(want_lo[:, c]) & np.isfinite(want_x)
        np.testing.assert_array_equal(x, want_x[held])
        np.testing.assert_array_equal(blo, want_lo[held, c])


def test_envelope_takes_samples_out_of_order():
    v = np.arange(10.0)[:, None]
    env = Envelope(10, 1, width=5)
    order = np.array([3, 1, 0, 2, 9, 8, 4, 5, 7, 6])
    env.add(order, order.astype(float), decoded=v[order])
    np.testing.assert_array_equal(env.lo["decoded"][:, 0], [0, 2, 4, 6, 8])
    np.testing.assert_array_equal(env.hi["decoded"][:, 0], [1, 3, 5, 7, 9])
    np.testing.assert_array_equal(env.x, [0, 2, 4, 6, 8])
    with pytest.raises(ValueError, match="sized for"):
        env.add(np.array([10]), np.array([10.0]), decoded=np.ones((1, 1)))


# ------------------------------------------------------------------ many channels
LONG = "a_very_long_channel_name_from_the_plant_export_building_{}_floor_2_room_temperature"


def _many_csv(path, channels: int, n: int = 400, names=None) -> list[str]:
    names = names or [LONG.format(i) for i in range(channels)]
    t = np.arange(n)
    pd.DataFrame({name: np.sin(t / (20.0 + 3 * i)) + 0.01 * i for i, name in
                  enumerate(names)}).to_csv(path, index=False)
    return names


def _names(kept: str, name: str) -> bool:
    """``kept`` is ``name``, or its start and end around an ellipsis."""
    from hippo_cli.pipelines.plot import ELLIPSIS

    if ELLIPSIS not in kept:
        return kept == name
    head, tail = kept.split(ELLIPSIS)
    return name.startswith(head) and name.endswith(tail) and len(kept) < len(name)


def _texts_inside(fig) -> None:
    """Every title and label lies inside the figure, and a panel's title inside its axis's
    width (measured by the renderer)."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    whole = fig.bbox
    texts = [fig._suptitle] + [t for ax in fig.axes for t in (ax.title, ax._left_title,
                                                              ax.yaxis.label, ax.xaxis.label)]
    for text in texts:
        if text is None or not text.get_text():
            continue
        box = text.get_window_extent(renderer)
        assert whole.x0 - 0.5 <= box.x0 and box.x1 <= whole.x1 + 0.5, text.get_text()
        assert whole.y0 - 0.5 <= box.y0 and box.y1 <= whole.y1 + 0.5, text.get_text()
    for ax in fig.axes:
        if ax._left_title.get_text():
            assert (ax._left_title.get_window_extent(renderer).width
                    <= ax.get_window_extent(renderer).width + 0.5)


def test_every_channel_of_a_hippo_file_is_drawn_and_titles_fit(tmp_path):
    from hippo_cli.pipelines.bounded import decode_to_csv, plot_window
    from hippo_cli.pipelines.plot import ELLIPSIS, decoded_figure

    src = tmp_path / ("an_export_file_with_a_name_far_too_long_for_any_title_line_of_a_figure_"
                      "from_the_plant_historian_2026_05_01.csv")
    names = _many_csv(src, 13)
    out = tmp_path / (src.stem + ".hippo")
    assert hippo("compress", src, "--max-error", "1%", "-o", out, "-q").exit_code == 0
    window, count, channels = plot_window(str(out), None, None)
    env = Envelope(count, channels, window=window)
    decode_to_csv(str(out), None, original=str(src), envelope=env)
    fig = decoded_figure(str(out), env)
    mains = [ax for ax in fig.axes if ax.get_legend() is not None]
    assert len(mains) == 13 and len(fig.axes) == 26  # every channel, and its error panel
    titles = [ax.get_title(loc="left") for ax in mains]
    for i, (name, title) in enumerate(zip(names, titles)):  # in order, told apart
        assert _names(title.split(" (bound")[0], name), (i, title)
        assert f"_{i}_" in title
    sup = fig._suptitle.get_text()
    assert ELLIPSIS in sup.split(":")[0] and "13" not in sup.split(":")[0]  # the file, cut
    assert sup.split(":")[0].startswith("an_export") and sup.split(":")[0].endswith(".hippo")
    _texts_inside(fig)
    # through the CLI: one PNG, every channel, no note; the height grew with the channels
    res = hippo("reconstruct", out, "--plot", "--original", src)
    assert res.exit_code == 0, res.stderr
    assert "hippo: note" not in res.stderr
    assert f"plot written to {out.with_suffix('.png')}" in res.stderr
    width, height = _png_size(out.with_suffix(".png"))
    assert width == 1200 and 2000 < height < 3300


def test_short_names_are_left_whole(tmp_path):
    from hippo_cli.pipelines.plot import ELLIPSIS

    src = tmp_path / "s.csv"
    _many_csv(src, 2, names=["temp", "vib"])
    out = tmp_path / "s.npy"
    assert hippo("compress", src, "-N", 8, "--every", 50, "-o", out, "-q").exit_code == 0
    cf = load_coefficients(str(out))
    plan = reconstruct.plan(cf, whole=True)
    res = reconstruct.run(cf, plan, csv_path=None, original=str(src), keep_for_plot=True)
    fig = reconstruction_figure(cf, plan, res)
    texts = [fig._suptitle.get_text()] + [t for ax in fig.axes for t in
                                          (ax.get_title(loc="left"), ax.get_ylabel())]
    assert not any(ELLIPSIS in t for t in texts)
    assert [fig.axes[0].get_ylabel(), fig.axes[2].get_ylabel()] == ["temp", "vib"]
    _texts_inside(fig)


@given(st.text(min_size=0, max_size=60), st.integers(3, 70))
def test_shorten_keeps_both_ends(text, budget):
    from hippo_cli.pipelines.plot import ELLIPSIS, shorten

    short = shorten(text, budget)
    assert len(short) <= max(budget, 0) or short == text
    if len(text) <= budget:
        assert short == text
    else:
        head, tail = short.split(ELLIPSIS) if short.count(ELLIPSIS) == 1 else (
            short[:short.rindex(ELLIPSIS)], short[short.rindex(ELLIPSIS) + 1:])
        assert text.startswith(head) and text.endswith(tail) and len(short) == budget
        assert abs(len(head) - len(tail)) <= 1


@pytest.mark.parametrize("n", [300, 30_000])  # lines; min-max bands
def test_the_original_is_drawn_under_the_decoded_line(tmp_path, n):
    from hippo_cli.pipelines.bounded import decode_to_csv, plot_window
    from hippo_cli.pipelines.plot import decoded_figure

    src = tmp_path / "u.csv"
    _many_csv(src, 1, n=n, names=["v"])
    out = tmp_path / "u.hippo"
    assert hippo("compress", src, "--max-error", "1%", "-o", out, "-q").exit_code == 0
    window, count, channels = plot_window(str(out), None, None)
    env = Envelope(count, channels, window=window)
    decode_to_csv(str(out), None, original=str(src), envelope=env)
    fig = decoded_figure(str(out), env)
    ax = fig.axes[0]
    drawn = [a for a in ax.get_children() if a.get_label() in ("original", "decoded")]
    orig, dec = sorted(drawn, key=lambda a: a.get_label() != "original")
    assert isinstance(orig, PolyCollection) == (n > 2000) == isinstance(dec, PolyCollection)
    # drawn first (and lower): matplotlib draws by zorder, then by order of addition
    assert drawn.index(orig) < drawn.index(dec) and orig.get_zorder() < dec.get_zorder()
    def width(artist) -> float:
        return artist.get_linewidth() if n <= 2000 else artist.get_linewidths()[0]

    assert width(orig) >= 3 * width(dec)  # wide under thin: the original shows at both sides
    assert dec.get_alpha() is not None and dec.get_alpha() < 1  # and shows through
    light = matplotlib.colors.to_rgb(orig.get_color() if n <= 2000 else orig.get_facecolor()[0])
    assert min(light) > 0.6  # a light colour
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["original", "decoded"]
    fig.canvas.draw()  # and it renders (Agg)


def test_pages_channels_and_notes(tmp_path, monkeypatch):
    from hippo_cli.pipelines import plot

    src = tmp_path / "p.csv"
    names = _many_csv(src, 20, names=[f"ch{i}" for i in range(20)])
    out = tmp_path / "p.hippo"
    assert hippo("compress", src, "--max-error", "1%", "-o", out, "-q").exit_code == 0
    res = hippo("reconstruct", out, "--plot")  # 20 channels: two pages of 16 and 4
    assert res.exit_code == 0, res.stderr
    assert "written to 2 pages" in res.stderr and "hippo: note" not in res.stderr
    assert (tmp_path / "p.png").exists() and (tmp_path / "p-2.png").exists()
    assert _png_size(tmp_path / "p-2.png")[1] < _png_size(tmp_path / "p.png")[1]
    # --channels: names and indices, in the order given
    res = hippo("reconstruct", out, "--plot", "--plot-file", tmp_path / "c.png", "--channels",
                "ch3,0,ch19")
    assert res.exit_code == 0, res.stderr
    assert not (tmp_path / "c-2.png").exists()
    assert plot.select_channels("ch3,0,ch19,3", names) == [3, 0, 19]
    assert plot.select_channels(None, names) == list(range(20))
    assert_clean_failure(hippo("reconstruct", out, "--plot", "-f", "--channels",
                                "ch3,nope"), 2,
                         "--channels: no channel 'nope'")
    assert_clean_failure(hippo("reconstruct", out, "--plot", "-f", "--channels", "20"), 2,
                         "no channel '20'")
    assert_clean_failure(hippo("reconstruct", out, "--channels", "ch3"), 2,
                         "--channels chooses what --plot draws")
    # beyond the last page: a note names what is not drawn
    monkeypatch.setattr(plot, "PAGE", 3)
    monkeypatch.setattr(plot, "MAX_PAGES", 2)
    res = hippo("reconstruct", out, "--plot", "--plot-file", tmp_path / "n.png")
    assert res.exit_code == 0, res.stderr
    notes = [line for line in res.stderr.splitlines() if line.startswith("hippo: note")]
    assert len(notes) == 1 and "draws 6 of 20 channels" in notes[0] and "--channels" in notes[0]
    assert sorted(p.name for p in tmp_path.glob("n*.png")) == ["n-2.png", "n.png"]


def test_coefficient_plots_of_many_channels(tmp_path):
    from hippo_cli.pipelines.plot import coefficient_figure

    src = tmp_path / "k.csv"
    names = _many_csv(src, 13)
    out = tmp_path / "k.npy"
    assert hippo("compress", src, "-N", 8, "--every", 40, "-o", out, "-q").exit_code == 0
    cf = load_coefficients(str(out))
    fig = coefficient_figure(cf)
    meshes = [ax for ax in fig.axes if ax.collections and ax.get_title(loc="left")]
    assert len(meshes) == 13
    assert all(_names(ax.get_title(loc="left").split(" (colours")[0], name)
               for ax, name in zip(meshes, names))
    _texts_inside(fig)
    plan = reconstruct.plan(cf, whole=True)
    res = reconstruct.run(cf, plan, csv_path=None, original=str(src), keep_for_plot=True)
    fig = reconstruction_figure(cf, plan, res, channels=[12, 1])
    mains = [ax for ax in fig.axes if ax.get_legend() is not None]
    assert len(mains) == 2
    assert _names(mains[0].get_title(loc="left").split(":")[0], names[12])
    assert _names(mains[1].get_title(loc="left").split(":")[0], names[1])
    assert "[channels 12, 1 of 13]" in fig._suptitle.get_text()
    _texts_inside(fig)
    res = hippo("reconstruct", out, "--all", "--plot", "--plot-coeffs", "--channels", "2,5")
    assert res.exit_code == 0, res.stderr
    assert "coefficient heatmap written to" in res.stderr and names


def test_the_plot_module_does_not_import_matplotlib():
    import subprocess
    import sys

    code = ("import sys, hippo_cli.pipelines.plot as p\n"
            "p.select_channels('a', ['a']); p.paginate([0]); p.page_paths('x.png', 2)\n"
            "print('matplotlib' in sys.modules)")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60)
    assert res.stdout.strip() == "False", res.stderr


@pytest.mark.parametrize("stem", ["t", "a_file_name_" * 12])
def test_a_long_title_is_cut_or_broken_but_stays_inside(tmp_path, stem):
    """The title of page 1 of 2 of a file with a short name is too long for one line even
    with the name cut to nothing: it is broken at a "; " (and a long name is cut too)."""
    from hippo_cli.pipelines.bounded import decode_to_csv, plot_window
    from hippo_cli.pipelines.plot import ELLIPSIS, decoded_figure

    src = tmp_path / "t.csv"
    _many_csv(src, 20, n=5000, names=[f"c{i}" for i in range(20)])
    out = tmp_path / f"{stem}.hippo"
    assert hippo("compress", src, "--max-error", "1%", "-o", out, "-q").exit_code == 0
    window, count, channels = plot_window(str(out), None, None)
    env = Envelope(count, channels, window=window)
    decode_to_csv(str(out), None, original=str(src), envelope=env)
    fig = decoded_figure(str(out), env, list(range(16)), page=0, pages=2)
    title = fig._suptitle.get_text()
    assert "\n" in title and "[channels 0-15 of 20, page 1 of 2]" in title
    assert _names(title.split(":")[0], out.name)
    assert (ELLIPSIS in title) == (len(stem) > 1)
    _texts_inside(fig)
