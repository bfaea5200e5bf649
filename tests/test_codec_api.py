"""The codec's public API as a library user meets it: thread-safe (8 threads at once give the
bytes one thread gives), the same bytes whatever the chunking of a stream, only the
``HippoError`` family raised, shapes checked, and a streaming writer whose file equals the
one-call encoding."""

from __future__ import annotations

import io
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import hippo_cli
from hippo_cli import DataError, HippoError, ParameterError
from hippo_cli.codec import HippoWriter, decode, encode, open_hippo
from hippo_cli.codec.container import HippoHeader


def _series(seed: int, n: int = 30_000, C: int = 3) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(n)[:, None]
    return (np.cumsum(rng.standard_normal((n, C)), axis=0) * 0.1
            + np.sin(t / rng.uniform(50, 500, C)) * rng.uniform(1, 5, C))


def test_eight_threads_give_the_bytes_of_one():
    inputs = [(_series(s), 0.01 * (s + 1)) for s in range(16)]
    alone = [encode(x, eps, frame_samples=7000) for x, eps in inputs]
    with ThreadPoolExecutor(8) as pool:
        together = list(pool.map(lambda a: encode(a[0], a[1], frame_samples=7000), inputs))
        decoded = list(pool.map(decode, together))
    assert together == alone
    for (x, eps), (y, _) in zip(inputs, decoded):
        assert np.all(np.abs(y - x) <= eps)


def test_eight_threads_read_one_file_and_write_many(tmp_path):
    x = _series(1, 50_000, 2)
    path = tmp_path / "shared.hippo"
    path.write_bytes(encode(x, 0.05, names=["a", "b"], frame_samples=4096))
    want = decode(path.read_bytes())[0]

    def read_slices(k: int) -> bool:
        with open_hippo(path) as reader:  # each thread its own reader
            return all(np.array_equal(reader.read(a, a + 3000)[0], want[a:a + 3000])
                       for a in range(k * 1000, 50_000, 8000))

    def write(k: int) -> bytes:
        buf = io.BytesIO()
        w = HippoWriter(buf, HippoHeader(["a", "b"], [0.05, 0.05], whole=True),
                        frame_samples=4096)
        for piece in np.array_split(x, 7 + k):
            w.append(piece)
        w.close()
        return buf.getvalue()

    with ThreadPoolExecutor(8) as pool:
        assert all(pool.map(read_slices, range(8)))
        files = list(pool.map(write, range(8)))
    assert len(set(files)) == 1 and files[0] == path.read_bytes()


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(seed=st.integers(0, 2**32 - 1), cuts=st.lists(st.integers(1, 20_000), max_size=6))
def test_any_chunking_of_a_stream_gives_the_same_bytes(seed, cuts):
    x = _series(seed, 20_000, 2)
    header = HippoHeader(["a", "b"], [0.02, 0.3], whole=True)
    one = io.BytesIO()
    w = HippoWriter(one, header, frame_samples=6000)
    w.append(x)
    w.close()
    pieces = io.BytesIO()
    w = HippoWriter(pieces, header, frame_samples=6000)
    for part in np.split(x, sorted(cuts)):
        w.append(part)
    w.close()
    assert pieces.getvalue() == one.getvalue()


@pytest.mark.parametrize("call", [
    lambda: encode("abc", 0.1),
    lambda: encode(np.zeros((2, 2, 2)), 0.1),
    lambda: encode(np.zeros((4, 0)), 0.1),
    lambda: encode(np.zeros(4), [0.1, 0.2]),
    lambda: encode(np.zeros(4), 0.1, times=np.arange(3.0)),
    lambda: encode(np.zeros(4), 0.1, times=np.array([0.0, 1, np.nan, 3])),
    lambda: encode(np.zeros(4), 0.1, names=["a", "b"]),
    lambda: encode(np.zeros(4), "x"),
    lambda: decode(b""),
    lambda: decode(b"\x89HPO\x02"),
    lambda: decode(encode(np.zeros(9), 0.1)[:-3]),
    lambda: open_hippo("/nonexistent/file.hippo"),
])
def test_only_the_hippo_error_family_is_raised(call):
    with pytest.raises(HippoError) as err:
        call()
    assert isinstance(err.value, (DataError, ParameterError))


def test_times_must_match_the_values():
    with pytest.raises(ParameterError, match="one time per sample"):
        encode(np.zeros(5), 0.1, times=np.arange(6.0))


def test_the_package_exports_the_codec():
    x = _series(3, 1000, 1)[:, 0]
    data = hippo_cli.encode(x, 0.1, times=np.arange(1000.0))
    values, times = hippo_cli.decode(data)
    assert values.shape == (1000, 1) and np.array_equal(times, np.arange(1000.0))
    assert hippo_cli.HippoWriter is HippoWriter and hippo_cli.open_hippo is open_hippo
