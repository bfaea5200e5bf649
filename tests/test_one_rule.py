"""Rules that used to be written in several places (and disagreed) now live in one; these
tests pin the defects that the copies caused."""

from __future__ import annotations

import json

import numpy as np
import pytest
from test_cli import assert_clean_failure, hippo

from hippo_cli import HiPPO, ParameterError
from hippo_cli.formats.coefficients import load_coefficients
from hippo_cli.formats.stream_lines import LineParser
from hippo_cli.formats.timestamps import read_times
from hippo_cli.measures import covered, first_covered, lag
from hippo_cli.measures.registry import MEASURES, SPECS


# ------------------------------------------------------------------ stale messages
def test_missing_theta_names_the_measure():
    with pytest.raises(ParameterError, match="measure 'fout' needs theta"):
        HiPPO("fout", 4)


@pytest.mark.parametrize("key,measure,takers", [("theta", "legs", "legt, lmu, fout"),
                                                ("dt", "legt", "lagt, tlagt, glagt, foud")])
def test_wrong_time_parameter_lists_who_takes_it(key, measure, takers):
    kw = {key: 5.0, **({"theta": 3.0} if measure == "legt" else {})}
    with pytest.raises(ParameterError, match=f"{key} does not apply.*{takers}"):
        HiPPO(measure, 4, **kw)


def test_docstring_names_every_measure_taking_theta_and_dt():
    doc = HiPPO.__doc__
    assert "theta : window measures (legt, lmu, fout" in doc
    assert "dt : fading measures (lagt, tlagt, glagt, foud, legsd" in doc


def test_cli_measure_choices_are_the_registry(tmp_path):
    res = hippo("compress", "--help")
    for name in MEASURES:
        assert name in res.stdout
    assert [s.name for s in SPECS] == list(MEASURES)


def test_measure_choice_is_case_insensitive(tmp_path):
    src = tmp_path / "s.csv"
    src.write_text("v\n" + "\n".join(str(i % 7) for i in range(50)) + "\n")
    res = hippo("compress", src, "--measure", "LegS", "-N", 4, "-q")
    assert res.exit_code == 0, res.stderr


# ------------------------------------------------------------------ one coverage rule
@pytest.mark.parametrize("measure,theta,dt", [("legt", 7.0, None), ("legt", 2.5, None),
                                              ("fout", 1.0, None), ("lagt", None, 1.0),
                                              ("lagt", None, 0.37), ("foud", None, 13.815510558)])
def test_first_covered_agrees_with_the_lag_rule(measure, theta, dt):
    step = 1000
    first = first_covered(measure, step, theta=theta, dt=dt)
    j = np.arange(0, step + 1)
    mask = covered(measure, lag(measure, step - j, theta=theta, dt=dt))
    assert j[mask].min() == max(first, 0) and mask[max(first, 0):].all()


# ------------------------------------------------------------------ one emission rule
def test_coefficient_plot_uses_the_rows_real_steps(tmp_path):
    """A --tolerance file's rows end its blocks; the heatmap's x axis must say so (it used
    to label them 0, 1, 2, ...)."""
    from hippo_cli.pipelines.plot import coefficient_figure

    t = np.arange(500)
    src = tmp_path / "s.csv"
    src.write_text("v\n" + "\n".join(repr(float(v)) for v in np.sin(t / 9) + (t > 250)) + "\n")
    out = tmp_path / "s.npy"
    res = hippo("compress", src, "-N", 4, "--tolerance", 0.05, "-o", out, "-q")
    assert res.exit_code == 0, res.stderr
    ends = json.loads((tmp_path / "s.npy.json").read_text())["block_ends"]
    assert len(ends) > 2 and ends != list(range(len(ends)))
    fig = coefficient_figure(load_coefficients(str(out)))
    mesh = fig.axes[0].collections[0]
    x = mesh.get_coordinates()[0, :, 0]  # cell edges: midpoints between the rows' steps
    mids = (np.array(ends[:-1]) + np.array(ends[1:])) / 2
    np.testing.assert_allclose(x[1:-1], mids)
    res = hippo("reconstruct", out, "--plot-coeffs")
    assert res.exit_code == 0, res.stderr


# ------------------------------------------------------------------ one timestamp rule
STAMPS = ["2026-01-01T00:00:00", "2026-01-01 00:00:01.5", "2026-01-01T00:00:02Z",
          "2026-01-01T02:00:03+02:00", "12.5", "2026-W01-1", "yesterday", "2026-13-01"]


def test_stream_and_compress_read_times_alike(tmp_path):
    """``2026-W01-1`` used to be a time for ``stream`` and NaN for ``compress -t``: one rule
    (:func:`read_times`) reads a file's time column and a stream's time field."""
    import pandas as pd

    file_values, line_values = [], []
    for stamp in STAMPS:
        times, bad = read_times(pd.Series([stamp], dtype=object))
        file_values.append(np.nan if times is None else times.seconds[0])
        parser = LineParser(None, "error", "t")
        parser.parse([b"t,v"])
        x, err = parser.parse([f"{stamp},1".encode()])
        line_values.append(x[0, -1] if err is None else np.nan)
    file_values, line_values = np.array(file_values), np.array(line_values)
    np.testing.assert_array_equal(file_values, line_values)
    assert np.isnan(file_values[5:]).all() and not np.isnan(file_values[:5]).any()
    assert file_values[3] == file_values[0] + 3  # zones are honoured


def test_week_date_is_refused_by_both_commands(tmp_path):
    src = tmp_path / "w.csv"
    src.write_text("t,v\n2026-W01-1,1\n2026-W01-2,2\n")
    res = hippo("compress", src, "-t", "t", "-N", 2)
    assert_clean_failure(res, 1, "line 2", "not a number or an ISO timestamp")
    res = hippo("stream", "-t", "t", "-N", 2, input=src.read_text())
    assert_clean_failure(res, 1, "line 2", "not a number or an ISO timestamp")


# ------------------------------------------------------------------ public state API
def test_snapshot_restore_and_clone_continue_a_stream_exactly():
    x = np.sin(np.arange(3000) / 40)
    whole = HiPPO("legt", 8, theta=100).update(x, 7)
    a = HiPPO("legt", 8, theta=100)
    first = a.update(x[:1234], 7)
    b = a.clone()
    assert b.steps == 0 and b.channels is None
    b.restore(a.snapshot())
    np.testing.assert_array_equal(np.concatenate([first, b.update(x[1234:], 7)]), whole)
    with pytest.raises(Exception, match="shape"):
        b.restore(type(a.snapshot())(np.zeros((1, 3)), 5))


def test_reconstruct_refuses_samples_outside_the_history():
    enc = HiPPO("legs", 4)
    c = enc.update(np.arange(10.0))[-1]
    with pytest.raises(ParameterError, match="history 0..9"):
        enc.reconstruct(c, 9, np.array([10**6]))


def test_stream_leaves_out_a_timestamp_column_as_compress_does(tmp_path):
    text = "when,v\n2026-01-01T00:00:00,1\n2026-01-01T00:00:01,2\n"
    res = hippo("stream", "-N", 2, input=text)
    assert res.exit_code == 0 and "left out when" in res.stderr
    assert res.stdout.splitlines()[0] == "step,c0,c1"
    src = tmp_path / "s.csv"
    src.write_text(text)
    res = hippo("compress", src, "-N", 2, "-q")
    assert res.exit_code == 0
    res = hippo("stream", "-N", 2, "-t", "when", input=text)
    assert res.exit_code == 0 and res.stdout.splitlines()[0] == "step,time,c0,c1"


def test_metrics_warn_when_a_reconstruction_leaves_the_range():
    from hippo_cli.pipelines.metrics import ErrorMetrics

    truth = np.linspace(0.0, 100.0, 500)[:, None]
    calm = ErrorMetrics(["cpu"])
    calm.add(truth + 1.0, truth)
    assert not any("leaves the original's range" in line for line in calm.lines())
    wild = ErrorMetrics(["cpu"])
    recon = truth.copy()
    recon[250] = -40.0 - 100.0  # a spike far below the data
    wild.add(recon, truth)
    assert any("leaves the original's range by far (-140..100" in line
               for line in wild.lines())
    report = wild.report()[0]
    assert report["max_abs_error"] == 140.0 + truth[250, 0] and report["scored"] == 500
