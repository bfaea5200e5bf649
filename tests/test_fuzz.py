"""Fuzzing the parsers and loaders with random and mutated bytes: the only allowed failure is
the clean one (a HippoError), nothing hangs, nothing is unpickled.

Examples per test: HIPPO_FUZZ_EXAMPLES (default 600; four tests, a few thousand in CI).
"""

from __future__ import annotations

import io
import json
import os
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hippo_cli import HiPPO, HippoError
from hippo_cli.formats.coefficients import load_coefficients
from hippo_cli.formats.samples import clean_chunks, open_samples
from hippo_cli.formats.stream_lines import LineParser

EXAMPLES = int(os.environ.get("HIPPO_FUZZ_EXAMPLES", "600"))
FUZZ = settings(max_examples=EXAMPLES, deadline=5000, derandomize=False,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

CSV_ALPHABET = st.sampled_from(list(b"0123456789.,-+eE naNif\r\n\t\"';x\xef\xbb\xbf\x00\xff"))
csv_bytes = st.one_of(
    st.binary(max_size=400),
    st.lists(CSV_ALPHABET, max_size=400).map(bytes),
)


def _mutate(data: bytes, flips: list[tuple[int, int]], cut: int | None) -> bytes:
    buf = bytearray(data)
    for pos, val in flips:
        if buf:
            buf[pos % len(buf)] = val
    return bytes(buf[:cut] if cut is not None else buf)


@FUZZ
@given(data=csv_bytes, nan=st.sampled_from(["error", "skip", "hold"]))
def test_fuzz_csv_reader(data, nan):
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "f.csv"
        path.write_bytes(data)
        samples = None
        try:
            samples = open_samples(str(path))
            for block in clean_chunks(samples, nan):
                assert block.dtype == np.float64 and np.all(np.isfinite(block))
        except HippoError:
            pass
        finally:
            # close the reader here: left half-read after an error, it is freed only by the
            # garbage collector (it and its Samples refer to each other), at any moment, and
            # closing it joins the parser threads; when the collector runs inside
            # threading's own locks (a thread starting), that join deadlocks: a run hung so
            close = getattr(samples.source, "close", None) if samples is not None else None
            if close is not None:
                close()


@FUZZ
@given(lines=st.lists(st.one_of(st.binary(max_size=60),
                                st.lists(CSV_ALPHABET, max_size=60).map(bytes)), max_size=20),
       nan=st.sampled_from(["error", "skip", "hold"]))
def test_fuzz_stream_line_parser(lines, nan):
    parser = LineParser(None, nan)
    try:
        x, error = parser.parse([ln.replace(b"\n", b"") for ln in lines])
    except HippoError:
        return
    assert x.ndim == 2 and np.all(np.isfinite(x))
    assert error is None or isinstance(error, HippoError)


def _valid_coefficient_file(folder: Path) -> tuple[bytes, bytes]:
    from typer.testing import CliRunner

    from hippo_cli.cli import app

    np.save(folder / "u.npy", np.sin(np.arange(200) / 10))
    res = CliRunner().invoke(app, ["compress", str(folder / "u.npy"), "-N", "4", "--every",
                                   "20", "-q", "-o", str(folder / "c.npy")])
    assert res.exit_code == 0
    return (folder / "c.npy").read_bytes(), (folder / "c.npy.json").read_bytes()


_TMP = Path(tempfile.mkdtemp(prefix="hippo-fuzz-"))
_NPY, _SIDE = _valid_coefficient_file(_TMP)
_buf = io.BytesIO()
_enc = HiPPO("legt", 4, theta=10)
_enc.update(np.arange(7.0))
_enc.save(_TMP / "s.npz")
_STATE = (_TMP / "s.npz").read_bytes()

flips = st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)), max_size=8)
cuts = st.one_of(st.none(), st.integers(0, 2000))


@FUZZ
@given(npy_flips=flips, npy_cut=cuts, side_flips=flips, side_cut=cuts)
def test_fuzz_coefficient_loader(npy_flips, npy_cut, side_flips, side_cut):
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "c.npy"
        path.write_bytes(_mutate(_NPY, npy_flips, npy_cut))
        Path(d, "c.npy.json").write_bytes(_mutate(_SIDE, side_flips, side_cut))
        try:
            cf = load_coefficients(str(path))
        except HippoError:
            return
        assert cf.coeffs.dtype.kind == "f"
        json.dumps(cf.meta)  # plain JSON data, nothing else


@FUZZ
@given(state_flips=flips, state_cut=cuts)
def test_fuzz_state_loader(state_flips, state_cut):
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "s.npz"
        path.write_bytes(_mutate(_STATE, state_flips, state_cut))
        try:
            enc = HiPPO.load(path)
        except HippoError:
            return
        assert enc.steps >= 0 and np.all(np.isfinite(enc.state))


@pytest.mark.filterwarnings("error")
def test_a_backslash_in_an_npy_header_is_damage_and_warns_nothing(tmp_path):
    """numpy parses an .npy header as a Python literal: a backslash that starts no escape
    sequence made Python's parser warn (SyntaxWarning, found by the fuzz test above). It is
    damage, said in one line, for samples, coefficients and state files alike."""
    bad = _NPY.replace(b"'descr'", b"'d\\pcr'", 1)
    assert bad != _NPY
    (tmp_path / "c.npy").write_bytes(bad)
    (tmp_path / "c.npy.json").write_bytes(_SIDE)
    for load in (lambda: load_coefficients(str(tmp_path / "c.npy")),
                 lambda: open_samples(str(tmp_path / "c.npy"))):
        with pytest.raises(HippoError, match="backslash in the header"):
            load()
    with zipfile.ZipFile(io.BytesIO(_STATE)) as zf:
        members = {name: zf.read(name) for name in zf.namelist()}
    members["meta.npy"] = members["meta.npy"].replace(b"'descr'", b"'d\\pcr'", 1)
    with zipfile.ZipFile(tmp_path / "s.npz", "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    with pytest.raises(HippoError):
        HiPPO.load(tmp_path / "s.npz")
