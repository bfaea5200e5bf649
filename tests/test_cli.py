"""The ``hippo`` command through Typer's CliRunner: every command and every bad input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from conftest import smooth_signal
from hippo_cli import HiPPO
from hippo_cli.cli import app

runner = CliRunner()


def hippo(*args: str, input: str | bytes | None = None):
    return runner.invoke(app, [str(a) for a in args], input=input)


def write_csv(path: Path, L: int = 600, header: bool = True, timestamp: bool = True) -> Path:
    a = smooth_signal(L, 0)
    b = smooth_signal(L, 1)
    lines = []
    if header:
        lines.append(("time," if timestamp else "") + "temp,vib")
    for i in range(L):
        stamp = f"2026-01-01T00:00:{i % 60:02d}," if timestamp else ""
        lines.append(f"{stamp}{float(a[i])!r},{float(b[i])!r}")
    path.write_text("\n".join(lines) + "\n")
    return path


def assert_clean_failure(result, code: int, *fragments: str) -> None:
    assert result.exit_code == code, (result.exit_code, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr + result.stdout
    msg = result.stderr.strip().splitlines()
    assert msg, "no message on stderr"
    for fragment in fragments:
        assert fragment in msg[-1], msg


def only_inputs_left(folder: Path, *inputs: Path) -> None:
    """Nothing was written: the folder holds just the inputs (no output, no temporaries)."""
    assert sorted(p.name for p in folder.iterdir()) == sorted(p.name for p in inputs)


# ---------------------------------------------------------------------------- compress
def test_compress_defaults_and_sidecar(tmp_path):
    src = write_csv(tmp_path / "signal.csv")
    data = np.loadtxt(src, delimiter=",", skiprows=1, usecols=(1, 2))
    # first, so that numba is loaded whatever ran before: compress then takes the same
    # kernels, bit for bit (alone, it would take the numpy path for small jobs, equal to
    # 1e-12 only: tests/test_numpy_steps.py)
    want = HiPPO("legs", 16).update(data)
    res = hippo("compress", src, "--measure", "legs", "-N", 16)
    assert res.exit_code == 0, res.stderr
    assert "left out non-numeric column(s): time" in res.stderr
    assert "600 samples x 2 channels -> 600 rows" in res.stderr and "ratio" in res.stderr
    out = tmp_path / "signal.coeffs.npy"
    coeffs = np.load(out)
    assert coeffs.shape == (600, 2, 16) and coeffs.dtype == np.float64
    meta = json.loads((tmp_path / "signal.coeffs.npy.json").read_text())
    assert meta["measure"] == "legs" and meta["N"] == 16 and meta["columns"] == ["temp", "vib"]
    assert meta["samples"] == 600 and meta["every"] == 1 and meta["rows"] == 600
    assert meta["tool_version"] and meta["format_version"] == 1 and meta["input"].endswith("csv")
    np.testing.assert_array_equal(coeffs, want)


def test_compress_every_keeps_final_step(tmp_path):
    src = write_csv(tmp_path / "s.csv", L=605)
    res = hippo("compress", src, "-N", 8, "--every", 100, "--column", "vib", "-o",
                tmp_path / "o.npy", "--quiet")
    assert res.exit_code == 0 and res.stderr == ""
    coeffs = np.load(tmp_path / "o.npy")
    full = HiPPO("legs", 8).update(np.loadtxt(src, delimiter=",", skiprows=1, usecols=2))
    np.testing.assert_array_equal(coeffs, full[[99, 199, 299, 399, 499, 599, 604]])


def test_compress_headerless_stdin_and_npy(tmp_path):
    u = smooth_signal(300, 3)
    text = "\n".join(repr(float(v)) for v in u) + "\n"
    res = hippo("compress", "-", "-N", 8, "--measure", "legt", "--theta", 50, "-o",
                tmp_path / "a.npy", input=text)
    assert res.exit_code == 0, res.stderr
    np.save(tmp_path / "u.npy", np.column_stack([u, 2 * u]))
    res = hippo("compress", tmp_path / "u.npy", "-N", 8, "--measure", "legt", "--theta", 50)
    assert res.exit_code == 0, res.stderr
    a = np.load(tmp_path / "a.npy")
    b = np.load(tmp_path / "u.coeffs.npy")
    want = HiPPO("legt", 8, theta=50).update(u)
    np.testing.assert_array_equal(a, want)
    assert b.shape == (300, 2, 8)
    np.testing.assert_allclose(b[:, 1], 2 * want, rtol=1e-12, atol=1e-14)


def test_compress_float32_and_options(tmp_path):
    src = write_csv(tmp_path / "s.csv")
    res = hippo("compress", src, "--measure", "lagt", "--dt", 0.05, "--method", "zoh",
                "--init", "steady", "--dtype", "float32", "-N", 12, "-o", tmp_path / "f.npy")
    assert res.exit_code == 0, res.stderr
    coeffs = np.load(tmp_path / "f.npy")
    assert coeffs.dtype == np.float32
    data = np.loadtxt(src, delimiter=",", skiprows=1, usecols=(1, 2))
    want = HiPPO("lagt", 12, dt=0.05, method="zoh", init="steady").update(data)
    np.testing.assert_allclose(coeffs, want, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("policy", ["skip", "hold"])
def test_compress_nan_policies(tmp_path, policy):
    src = tmp_path / "g.csv"
    src.write_text("x\n1\n2\n\n4\nnan\n6\n")
    res = hippo("compress", src, "-N", 4, "--nan", policy, "-o", tmp_path / "o.npy")
    assert res.exit_code == 0, res.stderr
    got = np.load(tmp_path / "o.npy")
    seen = [1, 2, 4, 6] if policy == "skip" else [1, 2, 2, 4, 4, 6]
    np.testing.assert_array_equal(got, HiPPO("legs", 4).update(np.array(seen, float)))


def test_compress_replaces_existing_output_only_on_success(tmp_path):
    src = write_csv(tmp_path / "s.csv")
    out = tmp_path / "s.coeffs.npy"
    assert hippo("compress", src, "-N", 4).exit_code == 0
    before = out.read_bytes()
    bad = tmp_path / "bad.csv"
    bad.write_text("temp\n1\n2\nthree\n")
    # without -f the existing output is refused before any work; with it, replaced only
    # when the new run succeeds
    assert_clean_failure(hippo("compress", bad, "-N", 4, "-o", out), 2, "exists", "-f")
    res = hippo("compress", bad, "-N", 4, "-o", out, "-f")
    assert_clean_failure(res, 1, "line 4", "three")
    assert out.read_bytes() == before
    assert not [p for p in tmp_path.iterdir() if "hippo-tmp" in p.name]


# ---------------------------------------------------------------------------- bad input
BAD_COMPRESS = [
    (["-N", "0"], 2, "--order must be >= 1"),
    (["-N", "-5"], 2, "--order must be >= 1"),
    (["--measure", "legt"], 2, "needs theta"),
    (["--measure", "legt", "--theta", "0"], 2, "theta must be"),
    (["--measure", "lagt", "--dt", "-1"], 2, "dt must be"),
    (["--theta", "10"], 2, "theta does not apply"),
    (["--dt", "0.1"], 2, "dt does not apply"),
    (["--init", "steady"], 2, "init does not apply"),
    (["--measure", "lagt", "--legs-time", "start"], 2, "legs_time does not apply"),
    (["--measure", "legx"], 2, "legx"),
    (["--method", "rk4"], 2, "rk4"),
    (["--every", "0"], 2, "every must be"),
    (["--column", "nope"], 1, "no column 'nope'"),
    (["-o", "missing/dir/out.npy"], 1, "no such folder"),
    (["-o", "."], 1, "is a folder"),
    (["-o", "-"], 2, "not stdout"),
]


@pytest.mark.parametrize("args,code,fragment", BAD_COMPRESS)
def test_compress_bad_options(tmp_path, monkeypatch, args, code, fragment):
    monkeypatch.chdir(tmp_path)
    src = write_csv(tmp_path / "s.csv")
    res = hippo("compress", src, *args)
    assert_clean_failure(res, code, fragment)
    only_inputs_left(tmp_path, src)


BAD_DATA = [
    ("empty.csv", "", "no data"),
    ("blank.csv", "\n\n\n", "no data"),
    ("header_only.csv", "a,b\n", "no samples"),
    ("word.csv", "x\n1\n2\nabc\n", "line 4"),
    ("nan.csv", "x\n1\n\n3\n", "line 3"),
    ("nan2.csv", "x,y\n1,2\n3,nan\n", "line 3"),
    ("inf.csv", "x\n1\ninf\n", "infinite"),
    ("ragged.csv", "x,y\n1,2\n3,4,5\n", "the header names 2 columns"),
    ("latin1.csv", "t\xe9mp\n1\n".encode("latin-1"), "not UTF-8"),
    ("binary.csv", b"\x00\x01\x02\x03", "binary"),
    ("text.csv", "name,label\nfoo,bar\n", "no numeric column"),
]


@pytest.mark.parametrize("name,content,fragment", BAD_DATA)
def test_compress_bad_data(tmp_path, name, content, fragment):
    src = tmp_path / name
    src.write_bytes(content.encode() if isinstance(content, str) else content)
    res = hippo("compress", src, "-N", 4)
    assert_clean_failure(res, 1, fragment)
    only_inputs_left(tmp_path, src)


def test_compress_tolerates_bom_crlf_and_spaces(tmp_path):
    src = tmp_path / "w.csv"
    src.write_bytes("\ufeffx, y\r\n1, 2\r\n3, 4\r\n".encode())
    res = hippo("compress", src, "-N", 2, "-o", tmp_path / "o.npy")
    assert res.exit_code == 0, res.stderr
    meta = json.loads((tmp_path / "o.npy.json").read_text())
    assert meta["columns"] == ["x", "y"]
    want = HiPPO("legs", 2).update(np.array([[1.0, 2.0], [3.0, 4.0]]))
    np.testing.assert_array_equal(np.load(tmp_path / "o.npy"), want)


def test_missing_and_folder_inputs(tmp_path):
    assert_clean_failure(hippo("compress", tmp_path / "nope.csv"), 1, "nope.csv")
    # a folder is a set of series (one per file): it needs an output folder, and files
    assert_clean_failure(hippo("compress", tmp_path), 2, "-o FOLDER")
    assert_clean_failure(hippo("compress", tmp_path, "-o", tmp_path / "out"), 1,
                         "no input files")
    assert_clean_failure(hippo("reconstruct", tmp_path / "nope.npy"), 1, "no such file")
    assert_clean_failure(hippo("info", tmp_path / "nope.npy"), 1, "no such file")


@pytest.fixture
def coeff_file(tmp_path):
    src = write_csv(tmp_path / "s.csv", L=400)
    assert hippo("compress", src, "-N", 16, "--every", 50, "-o", tmp_path / "c.npy").exit_code == 0
    return tmp_path / "c.npy"


def test_bad_coefficient_files(tmp_path, coeff_file):
    side = Path(str(coeff_file) + ".json")
    meta = json.loads(side.read_text())
    cases = {}
    p = tmp_path / "trunc.npy"
    p.write_bytes(coeff_file.read_bytes()[:300])
    cases[p] = "not a valid .npy"
    p = tmp_path / "garbage.npy"
    p.write_bytes(b"\x93NUMPY garbage")
    cases[p] = "not a valid .npy"
    p = tmp_path / "obj.npy"
    np.save(p, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    cases[p] = "never unpickles"
    p = tmp_path / "nosidecar.npy"
    np.save(p, np.zeros((8, 2, 16)))
    cases[p] = "no sidecar"
    p = tmp_path / "shape.npy"
    np.save(p, np.zeros((3, 2, 16)))
    Path(str(p) + ".json").write_text(json.dumps(meta))
    cases[p] = "does not match its sidecar"
    p = tmp_path / "types.npy"
    np.save(p, np.load(coeff_file))
    Path(str(p) + ".json").write_text(json.dumps({**meta, "N": "16"}))
    cases[p] = "wrong type"
    p = tmp_path / "badjson.npy"
    np.save(p, np.load(coeff_file))
    Path(str(p) + ".json").write_text("{not json")
    cases[p] = "not valid JSON"
    p = tmp_path / "measure.npy"
    np.save(p, np.load(coeff_file))
    Path(str(p) + ".json").write_text(json.dumps({**meta, "measure": "legt"}))
    cases[p] = "settings are invalid"
    for path, fragment in cases.items():
        for cmd in ("reconstruct", "info"):
            if cmd == "info" and fragment == "settings are invalid":
                continue
            before = sorted(tmp_path.iterdir())
            res = hippo(cmd, path)
            assert_clean_failure(res, 1, fragment)
            assert sorted(tmp_path.iterdir()) == before


# ---------------------------------------------------------------------------- reconstruct
def test_round_trip_equals_library(tmp_path):
    u = smooth_signal(2000, 4)
    np.save(tmp_path / "u.npy", u)
    assert hippo("compress", tmp_path / "u.npy", "-N", 32, "--every", 100).exit_code == 0
    res = hippo("reconstruct", tmp_path / "u.coeffs.npy", "--original", tmp_path / "u.npy")
    assert res.exit_code == 0, res.stderr
    lines = res.stdout.strip().splitlines()
    assert lines[0] == "sample,col0"
    table = np.array([[float(v) for v in ln.split(",")] for ln in lines[1:]])
    enc = HiPPO("legs", 32)
    enc.update(u)
    want = enc.reconstruct(enc.state, 1999)
    np.testing.assert_array_equal(table[:, 0], np.arange(2000))
    np.testing.assert_array_equal(table[:, 1], want)
    err = np.abs(want - u)
    rmse = np.sqrt(np.mean(err**2))
    for fragment in (f"RMSE {rmse:.4g}", f"MAE {np.mean(err):.4g}",
                     f"p99 {np.percentile(err, 99):.4g}", f"RMSE/std {rmse / np.std(u):.4g}",
                     f"max abs error {err.max():.4g}", "over 2000 samples"):
        assert fragment in res.stderr, fragment
    res = hippo("reconstruct", tmp_path / "u.coeffs.npy", "--original", tmp_path / "u.npy",
                "--metrics-json", tmp_path / "m.json", "-o", tmp_path / "r.csv")
    m = json.loads((tmp_path / "m.json").read_text())["metrics"][0]
    assert m["scored"] == 2000 and m["not_covered"] == 0 and not m["p99_estimated"]
    np.testing.assert_allclose([m["rmse"], m["mae"], m["max_abs_error"], m["p99_abs_error"]],
                               [rmse, err.mean(), err.max(), np.percentile(err, 99)],
                               rtol=1e-12)
    res = hippo("reconstruct", tmp_path / "u.coeffs.npy", "--metrics-json", tmp_path / "x")
    assert_clean_failure(res, 2, "--metrics-json needs --original")


def test_reconstruct_step_and_all(tmp_path):
    u = smooth_signal(1000, 5)
    np.save(tmp_path / "u.npy", u)
    args = ["--measure", "legt", "--theta", 100, "-N", 24, "--every", 100, "--init", "steady"]
    assert hippo("compress", tmp_path / "u.npy", *args).exit_code == 0
    c = tmp_path / "u.coeffs.npy"
    enc = HiPPO("legt", 24, theta=100, init="steady")
    rows = enc.update(u, every=100)
    res = hippo("reconstruct", c, "--step", 499, "-o", tmp_path / "r.csv")
    assert res.exit_code == 0, res.stderr
    table = np.loadtxt(tmp_path / "r.csv", delimiter=",", skiprows=1)
    np.testing.assert_array_equal(table[:, 0], np.arange(400, 500))
    np.testing.assert_array_equal(table[:, 1], enc.reconstruct(rows[4], 499))
    assert_clean_failure(hippo("reconstruct", c, "--step", 498), 2, "step 498 has no row",
                         "399 and 499", "--row")
    res = hippo("reconstruct", c, "--all", "-o", tmp_path / "all.csv", "--original",
                tmp_path / "u.npy")
    assert res.exit_code == 0
    table = np.loadtxt(tmp_path / "all.csv", delimiter=",", skiprows=1)
    np.testing.assert_array_equal(table[:, 0], np.arange(1000))
    assert np.sqrt(np.mean((table[:, 1] - u) ** 2)) < 1e-2  # windows tile the signal


def test_reconstruct_all_marks_uncovered_samples_empty(tmp_path):
    np.save(tmp_path / "u.npy", smooth_signal(300, 6))
    args = ["--measure", "legt", "--theta", 50, "-N", 8, "--every", 100]
    assert hippo("compress", tmp_path / "u.npy", *args).exit_code == 0
    res = hippo("reconstruct", tmp_path / "u.coeffs.npy", "--all")
    lines = res.stdout.splitlines()[1:]
    assert len(lines) == 300
    assert lines[0] == "0," and lines[49] == "49," and lines[50] != "50,"


def test_reconstruct_plots(tmp_path, coeff_file):
    res = hippo("reconstruct", coeff_file, "--plot", "--plot-coeffs", "--original",
                tmp_path / "s.csv")
    assert res.exit_code == 0, res.stderr
    assert res.stdout == ""  # plotting without -o writes no CSV
    for name in ("c.coeffs.png", "c.heatmap.png"):  # c.npy: the plot and the heatmap
        png = tmp_path / name
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000
        assert name in res.stderr
    res = hippo("reconstruct", coeff_file, "--plot", "--plot-file", tmp_path / "x.png",
                "-o", "-")
    assert res.exit_code == 0 and (tmp_path / "x.png").exists()
    assert res.stdout.startswith("sample,temp,vib\n")


def test_reconstruct_original_too_short(tmp_path, coeff_file):
    short = write_csv(tmp_path / "short.csv", L=100)
    res = hippo("reconstruct", coeff_file, "--original", short)
    assert_clean_failure(res, 1, "has only 100 samples")


# ---------------------------------------------------------------------------- stream
def test_stream_rows_equal_library():
    u = smooth_signal(50, 7)
    res = hippo("stream", "--measure", "legs", "-N", 8, "--every", 5,
                input="\n".join(map(repr, u.tolist())) + "\n")
    assert res.exit_code == 0, res.stderr
    lines = res.stdout.splitlines()
    assert lines[0] == "step," + ",".join(f"c{n}" for n in range(8))
    table = np.array([[float(v) for v in ln.split(",")] for ln in lines[1:]])
    np.testing.assert_array_equal(table[:, 0], np.arange(4, 50, 5))
    np.testing.assert_array_equal(table[:, 1:], HiPPO("legs", 8).update(u, every=5))


def test_stream_multichannel_header_and_partial_last_line():
    res = hippo("stream", "-N", 2, input="a,b\n1,2\n3,4\n5,6")
    assert res.exit_code == 0, res.stderr
    lines = res.stdout.splitlines()
    assert lines[0] == "step,a_c0,a_c1,b_c0,b_c1" and len(lines) == 4
    want = HiPPO("legs", 2).update(np.array([[1, 2], [3, 4], [5, 6]], float))
    np.testing.assert_array_equal(np.array(lines[3].split(","), float)[1:], want[2].ravel())


def test_stream_state_resumes_exactly(tmp_path):
    u = smooth_signal(60, 8)
    text = [repr(float(v)) for v in u]
    state = tmp_path / "s.npz"
    a = hippo("stream", "-N", 6, "--state", state, input="\n".join(text[:25]) + "\n")
    b = hippo("stream", "-N", 6, "--state", state, "--no-header",
              input="\n".join(text[25:]) + "\n")
    whole = hippo("stream", "-N", 6, "--no-header", input="\n".join(text) + "\n")
    assert a.exit_code == b.exit_code == whole.exit_code == 0
    assert a.stdout.splitlines()[1:] + b.stdout.splitlines() == whole.stdout.splitlines()
    info = hippo("info", state)
    assert info.exit_code == 0 and "60" in info.stdout
    res = hippo("stream", "-N", 7, "--state", state, input="1\n")
    assert_clean_failure(res, 2, "state was made with")


@pytest.mark.parametrize("text,fragment", [
    ("1\nx\n", "line 2: not a number"),
    ("1,2\n3\n", "line 2: 1 values, expected 2"),
    ("1\ninf\n", "line 2: infinite"),
    ("1\n\n", "line 2: empty or NaN"),
])
def test_stream_bad_lines(text, fragment):
    res = hippo("stream", "-N", 2, input=text)
    assert_clean_failure(res, 1, fragment)
    assert res.stdout.splitlines()[1].startswith("0,")  # rows before the bad line were written


def test_stream_nan_hold_and_skip():
    held = hippo("stream", "-N", 3, "--nan", "hold", "--no-header", input="1\n\n3\n")
    skipped = hippo("stream", "-N", 3, "--nan", "skip", "--no-header", input="1\nnan\n3\n")
    assert held.exit_code == skipped.exit_code == 0
    h = np.array([ln.split(",") for ln in held.stdout.splitlines()], float)
    s = np.array([ln.split(",") for ln in skipped.stdout.splitlines()], float)
    np.testing.assert_array_equal(h[:, 1:], HiPPO("legs", 3).update(np.array([1.0, 1.0, 3.0])))
    np.testing.assert_array_equal(s[:, 1:], HiPPO("legs", 3).update(np.array([1.0, 3.0])))


# ---------------------------------------------------------------------------- info, version
def test_info_and_version(coeff_file):
    res = hippo("info", coeff_file)
    assert res.exit_code == 0
    for fragment in ("8, 2, 16", "float64", "legs", "temp, vib", "ratio"):
        assert fragment in res.stdout
    facts = json.loads(hippo("info", coeff_file, "--json").stdout)
    assert facts["kind"] == "coefficients" and facts["shape"] == [8, 2, 16]
    assert facts["columns"] == ["temp", "vib"] and facts["stored_as"] == "float64"
    res = hippo("--version")
    assert res.exit_code == 0 and res.stdout.startswith("hippo ")
    res = hippo("--help")
    assert res.exit_code == 0
    for cmd in ("compress", "reconstruct", "stream", "info"):
        assert cmd in res.stdout
