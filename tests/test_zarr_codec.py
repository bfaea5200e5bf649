"""hippo in zarr, numcodecs and xarray (``hippo_cli.numcodecs_codec``, ``hippo_cli.zarr3_codec``),
tested with the real libraries: the configuration round trip and registry, the bound on every
dtype (float32's rounding and integers' included, against a plain numpy check), NaN and inf,
hypothesis round trips, threads against a serial run byte for byte (our pool and zarr's own
threaded I/O), zarr format 2 and 3 arrays reopened in a new process, xarray's to_zarr and
open_zarr with a padded last chunk. Skipped without zarr/numcodecs (an optional extra)."""

from __future__ import annotations

import importlib
import importlib.metadata
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

numcodecs = pytest.importorskip("numcodecs")
zarr = pytest.importorskip("zarr")

import hippo_cli  # noqa: E402
from hippo_cli import DataError, ParameterError  # noqa: E402
from hippo_cli.codec.container import MAGIC  # noqa: E402
from hippo_cli.numcodecs_codec import HippoCodec, register  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
ZARR3 = int(zarr.__version__.split(".")[0]) >= 3
PROPS = settings(max_examples=60, deadline=None,
                 suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
FLOATS = ["float64", "float32", "float16"]
INTEGERS = ["int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64"]

register()  # idempotent; the entry points are tested in a new process below


def zarr3_codec():
    if not ZARR3:
        pytest.skip(f"zarr {zarr.__version__}: format 3 needs zarr >= 3")
    return importlib.import_module("hippo_cli.zarr3_codec")


def signal(kind: str, n: int, seed: int = 0) -> np.ndarray:
    """Real-looking float64 (n,) series: a random walk, a noisy sine, a constant, a walk
    with NaN runs and lone NaN/inf."""
    rng = np.random.default_rng(seed)
    if kind == "walk":
        return np.cumsum(rng.normal(0, 0.3, n)) + 20
    if kind == "sine":
        t = np.arange(n)
        return 5 * np.sin(2 * np.pi * t / 400) + rng.normal(0, 0.05, n)
    if kind == "constant":
        return np.full(n, 3.25)
    if kind == "gappy":
        x = np.cumsum(rng.normal(0, 1.0, n))
        x[n // 3: n // 3 + 50] = np.nan
        x[rng.integers(0, n, 20)] = np.nan
        x[rng.integers(0, n, 3)] = np.inf
        x[rng.integers(0, n, 3)] = -np.inf
        return x
    raise AssertionError(kind)


def assert_within(original: np.ndarray, decoded: np.ndarray, bound: float) -> None:
    """``decoded`` has ``original``'s dtype and shape, its non-finite values bit for bit
    (NaN where NaN was, the same inf), every other value within ``bound`` (in float64)."""
    assert decoded.dtype == original.dtype and decoded.shape == original.shape
    x, y = original.astype(np.float64).ravel(), decoded.astype(np.float64).ravel()
    finite = np.isfinite(x)
    assert np.array_equal(np.isnan(y), np.isnan(x))
    assert np.array_equal(x[np.isinf(x)], y[np.isinf(x)])
    assert np.all(np.isfinite(y[finite]))
    err = np.abs(y[finite] - x[finite])
    assert err.max(initial=0.0) <= bound, f"max error {err.max()} > {bound}"


# ------------------------------------------------------------------------- configuration
@pytest.mark.parametrize("level", ["fast", "default", "best"])
@pytest.mark.parametrize("max_error", [0.01, 2, 2.5e-7])
def test_config_round_trip(max_error, level):
    codec = HippoCodec(max_error=max_error, level=level)
    config = codec.get_config()
    assert config == {"id": "hippo", "max_error": float(max_error), "level": level}
    assert json.loads(json.dumps(config)) == config  # zarr stores it as JSON
    again = numcodecs.get_codec(config)
    assert type(again) is HippoCodec and again == codec
    assert again.get_config() == config
    assert HippoCodec.from_config({k: v for k, v in config.items() if k != "id"}) == codec
    assert "max_error" in repr(codec)


@pytest.mark.parametrize("kwargs, option", [
    ({"max_error": 0}, "max_error"), ({"max_error": -1.0}, "max_error"),
    ({"max_error": float("nan")}, "max_error"), ({"max_error": float("inf")}, "max_error"),
    ({"max_error": True}, "max_error"), ({"max_error": "0.1"}, "max_error"),
    ({"max_error": 0.1, "level": "fastest"}, "level")])
def test_bad_parameters_are_refused(kwargs, option):
    with pytest.raises(ParameterError) as err:
        HippoCodec(**kwargs)
    assert err.value.option == option


# ---------------------------------------------------------------------------- the bound
@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("kind", ["walk", "sine", "constant", "gappy"])
@pytest.mark.parametrize("max_error", [1e-3, 0.05, 1.0])
def test_floats_keep_the_bound_after_the_cast_back(kind, dtype, max_error):
    x = signal(kind, 6000, seed=7).astype(dtype)
    codec = HippoCodec(max_error)
    chunk = codec.encode(x)
    y = codec.decode(chunk)
    assert_within(x, y, max_error)
    # the chunk is a plain .hippo file: the public decoder reads it, and casting its values
    # gives what the codec gives
    values, times = hippo_cli.decode(chunk)
    assert times is None and values.shape == (len(x), 1)
    assert np.array_equal(values[:, 0].astype(dtype), y, equal_nan=True)
    if kind != "gappy" and max_error >= 0.05 and dtype != "float16":
        assert len(chunk) < x.nbytes / 2, "smooth data at a loose bound should compress"


def test_float32_rounding_is_inside_the_bound():
    """Values near 1000 in float32 are 6.1e-5 apart: a value decoded within 1e-4 in float64
    can round further out. The codec codes with less, so the bound holds after the cast;
    coding with the full bound and casting (the naive wrapper) breaks it on this data."""
    rng = np.random.default_rng(3)
    x = (1000 + np.cumsum(rng.normal(0, 1e-3, 20000))).astype(np.float32)
    e = 1e-4
    assert_within(x, HippoCodec(e).decode(HippoCodec(e).encode(x)), e)
    naive = hippo_cli.decode(hippo_cli.encode(x.astype(np.float64), e))[0][:, 0]
    naive_err = np.abs(naive.astype(np.float32).astype(np.float64) - x.astype(np.float64))
    assert naive_err.max() > e  # the test can fail: without the margin the bound breaks


def test_float32_bound_below_its_spacing_is_stored_exactly():
    """At 1e6 float32 values are 0.0625 apart: a bound of 0.01 allows no other float32
    value, so the chunk is stored exactly (bit for bit), not refused."""
    x = (1e6 + np.arange(500) * 0.0625).astype(np.float32)
    y = HippoCodec(0.01).decode(HippoCodec(0.01).encode(x))
    assert np.array_equal(y.view(np.uint32), x.view(np.uint32))


@pytest.mark.parametrize("dtype", INTEGERS)
@pytest.mark.parametrize("max_error", [0.5, 1.0, 3.7])
def test_integers_are_rounded_within_the_whole_bound(dtype, max_error):
    info = np.iinfo(dtype)
    lo, hi = max(info.min, -(2**40)), min(info.max, 2**40)
    rng = np.random.default_rng(11)
    walk = np.cumsum(rng.integers(-3, 4, 3000)) + (int(lo) + int(hi)) // 2
    x = np.clip(walk, lo, hi).astype(dtype)
    x[:3] = [lo, hi, lo]  # the ends of the range: rounding must not step out of it
    y = HippoCodec(max_error).decode(HippoCodec(max_error).encode(x))
    assert y.dtype == x.dtype
    err = np.abs(y.astype(np.float64) - x.astype(np.float64))
    assert err.max() <= np.floor(max_error)
    if max_error < 1:
        assert np.array_equal(x, y)


def test_integers_beyond_float64_precision_are_refused():
    for x in (np.array([0, 2**53 + 1], dtype=np.int64), np.array([-(2**53) - 1], np.int64),
              np.array([2**63 - 1], dtype=np.int64), np.array([2**64 - 1], np.uint64)):
        with pytest.raises(DataError, match="2\\*\\*53"):
            HippoCodec(1.0).encode(x)
    for x in (np.array([0, 2**53, -(2**53)], dtype=np.int64),  # the last exact ones
              np.array([2**53, 1], dtype=np.uint64)):
        assert np.array_equal(HippoCodec(0.5).decode(HippoCodec(0.5).encode(x)), x)


@pytest.mark.parametrize("values", [
    np.array([True, False]), np.array([1 + 2j, 3j]), np.array(["a", "b"]),
    np.array([1, "a"], dtype=object), np.array(["2020-01-01"], dtype="datetime64[s]"),
    np.array([1.0], dtype=np.longdouble)])
def test_other_dtypes_are_refused(values):
    if values.dtype.kind == "f" and values.dtype.itemsize <= 8:
        pytest.skip("longdouble is float64 on this platform")
    with pytest.raises(ParameterError):
        HippoCodec(0.1).encode(values)


def test_shapes_orders_out_and_empty():
    x = signal("walk", 600).reshape(20, 30)
    codec = HippoCodec(0.01)
    for a in (x, np.asfortranarray(x), x.astype(np.float32)):
        y = codec.decode(codec.encode(a))  # flat, in memory order (zarr reshapes it)
        assert_within(a.ravel(order="A"), y, 0.01)
    out = np.empty(600, dtype=np.float32)
    got = codec.decode(codec.encode(x.astype(np.float32)), out=out)
    assert_within(x.astype(np.float32).ravel(), out, 0.01)
    assert np.shares_memory(got, out)
    for dtype in ("float64", "float32", "int16"):
        empty = np.empty(0, dtype=dtype)
        assert_within(empty, codec.decode(codec.encode(empty)), 0.01)
    nans = np.full(100, np.nan, dtype=np.float32)  # a chunk of fill value only
    assert_within(nans, codec.decode(codec.encode(nans)), 0.01)


def test_nan_payloads_and_infinities_come_back_bit_for_bit():
    x = signal("walk", 300)
    odd_nan = np.frombuffer((0x7FF0000000000ABC).to_bytes(8, "little"), "<f8")[0]
    x[[5, 6, 100, 200]] = [odd_nan, -np.nan, np.inf, -np.inf]
    y = HippoCodec(0.1).decode(HippoCodec(0.1).encode(x))
    bad = ~np.isfinite(x)
    assert np.array_equal(y.view(np.uint64)[bad], x.view(np.uint64)[bad])


def test_damaged_or_foreign_chunks_are_data_errors():
    codec = HippoCodec(0.1)
    chunk = codec.encode(signal("walk", 5000))
    for data in (b"", b"not a hippo chunk at all", chunk[: len(chunk) // 2],
                 hippo_cli.encode(np.zeros((5, 2)), 0.1),  # two channels
                 hippo_cli.encode(np.zeros(5), 0.1),  # a channel named "value", not a dtype
                 hippo_cli.encode(np.zeros(5), 0.1, np.arange(5), names=["<f8"])):  # times
        with pytest.raises(DataError):
            codec.decode(data)
    flipped = bytearray(chunk)
    flipped[len(chunk) // 2] ^= 0x40
    with pytest.raises(DataError):
        codec.decode(bytes(flipped))


@PROPS
@given(x=hnp.arrays(st.sampled_from([np.float64, np.float32, np.float16, np.int16, np.uint8,
                                     np.int64]),
                    st.integers(0, 3000),
                    elements={"allow_subnormal": True}),
       max_error=st.sampled_from([1e-6, 0.003, 0.5, 1.0, 7.0]),
       level=st.sampled_from(["fast", "default", "best"]))
def test_hypothesis_round_trip(x, max_error, level):
    codec = HippoCodec(max_error, level)
    if x.dtype == np.int64:  # beyond 2**53 is refused (tested above)
        x = np.clip(x, -(2**53), 2**53)
    chunk = codec.encode(x)
    # level best: a chunk of values is a one-frame file (format version 4, docs/format.md)
    assert level != "best" or len(x) == 0 or chunk[4] == 4
    y = codec.decode(chunk)
    bound = np.floor(max_error) if x.dtype.kind in "iu" else max_error
    assert_within(x, y, bound)


# ------------------------------------------------------------------------------- threads
THREADS_SCRIPT = textwrap.dedent("""
    import hashlib, sys
    from concurrent.futures import ThreadPoolExecutor
    import numpy as np
    from hippo_cli.numcodecs_codec import HippoCodec

    rng = np.random.default_rng(5)
    dtypes = ["float64", "float32", "int32", "float16"]
    chunks = [(np.cumsum(rng.normal(0, 2, 3000)) + 100).astype(dtypes[i % 4])
              for i in range(48)]
    codec = HippoCodec(0.05, level=sys.argv[1])
    # threads first, in a new process: the first calls (numba's loading and compiling) race
    with ThreadPoolExecutor(8) as pool:
        threaded = list(pool.map(codec.encode, chunks))
        decoded = list(pool.map(codec.decode, threaded))
    serial = [codec.encode(c) for c in chunks]
    assert threaded == serial, "threads and serial coded different bytes"
    for d, s in zip(decoded, serial):
        assert np.array_equal(d, codec.decode(s), equal_nan=True)
    print(hashlib.sha256(b"".join(serial)).hexdigest())
""")


def _python(code: str, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]))
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                          timeout=300, env=env, cwd=ROOT)


@pytest.mark.parametrize("level", ["fast", "default"])
def test_one_codec_on_many_threads_codes_what_a_serial_run_codes(level):
    res = _python(THREADS_SCRIPT, level)
    assert res.returncode == 0, res.stderr
    assert len(res.stdout.strip()) == 64


def _stored_chunks(path: Path, zarr_format: int, n_chunks: int) -> list[bytes]:
    names = [str(i) for i in range(n_chunks)]
    return [(path / ("c" if zarr_format == 3 else "") / name).read_bytes() for name in names]


@pytest.mark.parametrize("zarr_format", [2, 3])
def test_zarr_threaded_io_stores_the_serial_bytes(tmp_path, zarr_format):
    """zarr writes and reads chunks on its own pool (async.concurrency chunks at once,
    threading.max_workers threads): every stored chunk equals the serial encode of that
    chunk, the padded last one included, and the read-back equals the serial decode."""
    n, chunk = 41 * 1000 + 333, 1000
    x = signal("gappy", n, seed=2).astype(np.float32)
    codec = HippoCodec(0.02)
    path = tmp_path / "a.zarr"
    with zarr.config.set({"async.concurrency": 16, "threading.max_workers": 8}):
        a = create(path, x, chunk, codec, zarr_format)
        a[:] = x
        back = zarr.open_array(path, mode="r")[:]
    n_chunks = -(-n // chunk)
    padded = np.full(n_chunks * chunk, np.nan if zarr_format == 2 else 0, np.float32)
    padded[:n] = x
    expected = [codec.encode(padded[i * chunk:(i + 1) * chunk]) for i in range(n_chunks)]
    assert _stored_chunks(path, zarr_format, n_chunks) == expected
    serial = np.concatenate([codec.decode(c) for c in expected])[:n]
    assert np.array_equal(back, serial, equal_nan=True)
    assert_within(x, back, 0.02)


def create(path: Path, x: np.ndarray, chunk: int, codec: HippoCodec, zarr_format: int):
    """A zarr array of ``x``'s shape and dtype coded by hippo, in either format (fill value
    NaN in format 2 for floats, as xarray writes, 0 otherwise)."""
    fill = np.nan if zarr_format == 2 and x.dtype.kind == "f" else 0
    if zarr_format == 2:
        if not ZARR3:
            return zarr.open_array(str(path), mode="w", shape=x.shape, chunks=(chunk,),
                                   dtype=x.dtype, compressor=codec, fill_value=fill)
        return zarr.create_array(path, shape=x.shape, chunks=(chunk,), dtype=x.dtype,
                                 compressors=codec, zarr_format=2, fill_value=fill)
    serializer = zarr3_codec().HippoZarr3(max_error=codec.max_error, level=codec.level)
    return zarr.create_array(path, shape=x.shape, chunks=(chunk,), dtype=x.dtype,
                             serializer=serializer, compressors=None, fill_value=fill)


# ------------------------------------------------------------------ zarr, a new process
REOPEN_SCRIPT = textwrap.dedent("""
    import sys
    import numpy as np
    import zarr
    if sys.argv[1] == "register":
        from hippo_cli.numcodecs_codec import register
        register()
    for path in sys.argv[2:]:
        np.save(path + ".npy", zarr.open_array(path, mode="r")[:])
""")


def _arrays(tmp_path: Path) -> tuple[list[Path], list[np.ndarray]]:
    formats = [2, 3] if ZARR3 else [2]
    paths, originals = [], []
    for i, (zarr_format, dtype) in enumerate(
            (f, d) for f in formats for d in ("float64", "float32", "int16")):
        x = (signal("walk", 2500, seed=i) * 10).astype(dtype)
        path = tmp_path / f"v{zarr_format}_{dtype}.zarr"
        create(path, x, 1000, HippoCodec(0.5), zarr_format)[:] = x
        paths.append(path)
        originals.append(x)
    return paths, originals


def _entry_point_installed() -> bool:
    found = {e.name: e.value for e in importlib.metadata.entry_points(group="numcodecs.codecs")}
    return found.get("hippo") == "hippo_cli.numcodecs_codec:HippoCodec"


def test_reopen_in_a_new_process_after_register(tmp_path):
    paths, originals = _arrays(tmp_path)
    res = _python(REOPEN_SCRIPT, "register", *map(str, paths))
    assert res.returncode == 0, res.stderr
    for path, x in zip(paths, originals):
        y = np.load(str(path) + ".npy")
        assert_within(x, y, 0.0 if x.dtype.kind == "i" else 0.5)
        assert (path / ("c/0" if "v3" in path.name else "0")).read_bytes().startswith(MAGIC)
    if not _entry_point_installed():  # without either, the codec is unknown: register works
        res = _python(REOPEN_SCRIPT, "no", str(paths[0]))
        assert res.returncode != 0 and "hippo" in res.stderr


def test_reopen_in_a_new_process_by_the_entry_points(tmp_path):
    if not _entry_point_installed():
        pytest.skip("the installed hippo-cli metadata has no numcodecs.codecs entry point "
                    "'hippo' (install the package, e.g. pip install -e .[test], as CI does)")
    paths, originals = _arrays(tmp_path)
    res = _python(REOPEN_SCRIPT, "no", *map(str, paths))
    assert res.returncode == 0, res.stderr
    for path, x in zip(paths, originals):
        assert_within(x, np.load(str(path) + ".npy"), 0.0 if x.dtype.kind == "i" else 0.5)


def test_entry_points_of_pyproject_are_what_zarr_and_numcodecs_look_up(tmp_path):
    """The entry points exactly as pyproject.toml declares them, in the metadata of a
    stand-in distribution on the new process's path (what an install writes): the arrays
    reopen by the codec's names alone, without register()."""
    tomllib = pytest.importorskip("tomllib")
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    info = tmp_path / "site" / "hippo_zarr_stand_in-0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: hippo-zarr-stand-in\n"
                                   "Version: 0\n", encoding="utf-8")
    (info / "entry_points.txt").write_text("".join(
        f"[{group}]\n" + "".join(f"{name} = {target}\n" for name, target in eps.items())
        for group, eps in project["entry-points"].items()), encoding="utf-8")
    paths, originals = _arrays(tmp_path)
    code = f"import sys; sys.path.insert(0, {str(info.parent)!r})\n" + REOPEN_SCRIPT
    res = _python(code, "no", *map(str, paths))
    assert res.returncode == 0, res.stderr
    for path, x in zip(paths, originals):
        assert_within(x, np.load(str(path) + ".npy"), 0.0 if x.dtype.kind == "i" else 0.5)


def test_pyproject_entry_points_name_the_codecs():
    tomllib = pytest.importorskip("tomllib")
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    entries = project["entry-points"]
    module, _, name = entries["numcodecs.codecs"]["hippo"].partition(":")
    assert getattr(importlib.import_module(module), name) is HippoCodec
    assert HippoCodec.codec_id == "hippo"
    assert "zarr" in project["optional-dependencies"]
    for needed in ("zarr", "numcodecs", "xarray"):
        assert any(d.startswith(needed) for d in project["optional-dependencies"]["test"])
    if ZARR3:
        (key, target), = entries["zarr.codecs"].items()
        module, _, name = target.partition(":")
        cls = getattr(importlib.import_module(module), name)
        assert cls is zarr3_codec().HippoZarr3
        assert cls(max_error=1).to_dict()["name"] == key
        assert zarr.registry.get_codec_class(key) is cls


@pytest.mark.parametrize("zarr_format", [2, 3])
def test_big_endian_arrays(tmp_path, zarr_format):
    x = signal("walk", 2500).astype(">f4")
    path = tmp_path / "be.zarr"
    create(path, x, 1000, HippoCodec(0.01), zarr_format)[:] = x
    y = zarr.open_array(path, mode="r")[:]
    assert_within(x.astype("<f4"), y.astype("<f4"), 0.01)


def test_zarr3_serializer_config_and_refusals(tmp_path):
    HippoZarr3 = zarr3_codec().HippoZarr3
    codec = HippoZarr3(max_error=0.25, level="fast")
    assert HippoZarr3.from_dict(json.loads(json.dumps(codec.to_dict()))) == codec
    with pytest.raises(ParameterError):
        HippoZarr3(max_error=0)
    with pytest.raises(ParameterError):
        zarr.create_array(tmp_path / "b.zarr", shape=(10,), dtype="bool", serializer=codec,
                          compressors=None)
    # a 2-D array in chunks of 2-D blocks, partial at both edges
    x = signal("sine", 97 * 31).reshape(97, 31)
    a = zarr.create_array(tmp_path / "c.zarr", shape=x.shape, chunks=(20, 8), dtype="f8",
                          serializer=codec, compressors=None)
    a[:] = x
    assert_within(x, zarr.open_array(tmp_path / "c.zarr", mode="r")[:], 0.25)


import_check = ("import sys, hippo_cli; "
                "print(sorted({'numcodecs', 'zarr', 'xarray'} & set(sys.modules)))")


def test_import_hippo_cli_imports_no_zarr():
    res = _python(import_check)
    assert res.returncode == 0 and res.stdout.strip() == "[]", res.stdout + res.stderr


# -------------------------------------------------------------------------------- xarray
@pytest.mark.parametrize("zarr_format", [2, 3])
@pytest.mark.parametrize("with_dask", [False, True])
def test_xarray_to_zarr_and_open_zarr(tmp_path, zarr_format, with_dask):
    """NaN in the data and a last chunk xarray/zarr pad (1050 samples in chunks of 200):
    every non-NaN sample within max_error, NaN where NaN was, the dtypes kept."""
    xr = pytest.importorskip("xarray")
    if zarr_format == 3:
        zarr3_codec()
    if with_dask:
        pytest.importorskip("dask.array")
    v = signal("gappy", 1050, seed=4)
    v[np.isinf(v)] = np.nan  # xarray data: NaN gaps
    w = signal("sine", 1050, seed=5).astype(np.float32)
    ds = xr.Dataset({"v": ("time", v), "w": ("time", w)},
                    coords={"time": np.arange(1050)})
    if with_dask:
        ds = ds.chunk({"time": 200})
    if zarr_format == 3:
        HippoZarr3 = zarr3_codec().HippoZarr3
        enc = {name: {"serializer": HippoZarr3(max_error=0.01), "compressors": None,
                      "chunks": (200,)} for name in ("v", "w")}
    else:
        enc = {name: {"compressors": [HippoCodec(0.01)], "chunks": (200,)}
               for name in ("v", "w")}
    store = tmp_path / "ds.zarr"
    ds.to_zarr(store, encoding=enc, zarr_format=zarr_format, consolidated=False)
    back = xr.open_zarr(store, consolidated=False).load()
    assert_within(v, back["v"].values, 0.01)
    assert_within(w, back["w"].values, 0.01)
    last = store / "v" / ("c/5" if zarr_format == 3 else "5")
    assert last.read_bytes().startswith(MAGIC)  # really coded by hippo, padded chunk too
