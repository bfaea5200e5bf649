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
