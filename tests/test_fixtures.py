"""Old files decode to the same bits: the committed fixture of each format version
(``tests/data/fixtures/``, written once by ``make_fixtures.py`` when the version was new)
decodes to the SHA-256 recorded then, within the bound of the input recipe. Version 1 is
checked in ``tests/test_codec.py``."""

from __future__ import annotations

import hashlib
import io
import json
import sys
import zlib
from pathlib import Path

import numpy as np

from hippo_cli import decode, open_hippo

HERE = Path(__file__).parent / "data" / "fixtures"


def _recipe():
    sys.path.insert(0, str(HERE))
    try:
        import make_fixtures
    finally:
        sys.path.remove(str(HERE))
    return make_fixtures


def test_version_2_decodes_to_the_recorded_bits():
    recipe = _recipe()
    meta = json.loads((HERE / "v2.json").read_text())
    values, times = decode((HERE / "v2.hippo").read_bytes())
    assert hashlib.sha256(values.astype("<f8").tobytes()).hexdigest() == meta["decoded_sha256"]
    x, want_times = recipe.signals()
    x = recipe.with_specials(x)
    finite = np.isfinite(x)
    assert np.array_equal(values.view(np.uint64)[~finite], x.view(np.uint64)[~finite])
    assert np.all(np.abs(values[finite] - x[finite]) <= meta["max_error"])
    np.testing.assert_array_equal(times, want_times)
    with open_hippo(HERE / "v2.hippo") as reader:
        assert reader.finished and reader.header.version == 2 and reader.header.whole
        assert [f.samples for f in reader.index] == [5000, 5000, 2000]


def test_version_3_decodes_to_the_recorded_bits():
    """v3.hippo: jittered integer times in the time codec's mode 2 (every frame), decoded to
    the recipe's times exactly and to the recorded values."""
    recipe = _recipe()
    meta = json.loads((HERE / "v3.json").read_text())
    data = (HERE / "v3.hippo").read_bytes()
    values, times = decode(data)
    assert hashlib.sha256(values.astype("<f8").tobytes()).hexdigest() == meta["decoded_sha256"]
    np.testing.assert_array_equal(times, recipe.jittered_times())
    x, _ = recipe.signals()
    x = recipe.with_specials(x)
    finite = np.isfinite(x)
    assert np.array_equal(values.view(np.uint64)[~finite], x.view(np.uint64)[~finite])
    assert np.all(np.abs(values[finite] - x[finite]) <= meta["max_error"])
    with open_hippo(HERE / "v3.hippo") as reader:
        assert reader.finished and reader.header.version == 3 and reader.header.whole
        assert [f.samples for f in reader.index] == [5000, 5000, 2000]
    from test_time_cadence import time_modes

    assert time_modes(data) == [2, 2, 2]


def _decoded_against_recipe(name: str, fifth) -> bytes:
    """Decode fixture ``name`` (v3-stream, v3-fast: the values of v2.hippo, a fifth channel
    from the recipe's function ``fifth``, the times of v1.hippo) and check it against its
    JSON and its recipe: the recorded SHA-256, the times, non-finite values bit for bit, every
    finite one within its bound, and the second decoder bit for bit. Returns the file."""
    import reference_decoder as ref

    meta = json.loads((HERE / f"{name}.json").read_text())
    data = (HERE / f"{name}.hippo").read_bytes()
    values, times = decode(data)
    assert hashlib.sha256(values.astype("<f8").tobytes()).hexdigest() == meta["decoded_sha256"]
    recipe = _recipe()
    x, want_times = recipe.signals()
    x = np.column_stack([recipe.with_specials(x), fifth(recipe)])
    np.testing.assert_array_equal(times, want_times)
    finite = np.isfinite(x)
    assert np.array_equal(values.view(np.uint64)[~finite], x.view(np.uint64)[~finite])
    bounds = np.broadcast_to(meta["max_errors"], x.shape)
    assert np.all(np.abs(values[finite] - x[finite]) <= bounds[finite])
    ref_values, _ = ref.decode(data)
    assert np.array_equal(ref_values.view(np.uint64), values.view(np.uint64))
    return data


def test_a_version_3_stream_of_level_best_decodes_to_the_recorded_bits():
    """v3-stream.hippo: chained frames, the mixing codec and the time codec's mode 3, decoded
    to the recorded values, within the bounds, with the recipe's times; the second decoder
    agrees bit for bit."""
    from hippo_cli.codec import HippoReader

    data = _decoded_against_recipe("v3-stream", lambda recipe: recipe.repeated_levels())
    with HippoReader(io.BytesIO(data), "f") as reader:
        kinds = [reader.frame_kind(info) for info in reader.index]
        flags = [reader._payload(info)[0] for info in reader.index]
    assert kinds == [0, 1, 1, 1, 1] * 2 + [0, 1]  # what the fixture is for: every feature
    assert any(f & 0x20 for f in flags)


def test_a_version_3_file_of_level_fast_decodes_to_the_recorded_bits():
    """v3-fast.hippo: the Huffman codec on grids 0 and 1 beside the grid codec, decoded to the
    recorded values, within the bounds, with the recipe's times; the second decoder agrees bit
    for bit."""
    from hippo_cli.codec import HippoReader
    from hippo_cli.codec.parts import Cursor, read_specials, split_parts

    def codec_byte(part: bytes, specials: bool, n: int) -> int:
        cur = Cursor(part)
        if specials:
            read_specials(cur, n)
        return part[cur.pos]

    data = _decoded_against_recipe("v3-fast", lambda recipe: recipe.noise())
    codecs = set()
    with HippoReader(io.BytesIO(data), "f") as reader:
        assert reader.header.version == 3
        for info in reader.index:
            payload = reader._payload(info)
            if payload[0] & 0x20:  # the frame names its codecs: specials, then the byte
                for part in split_parts(payload[1:], 6)[1:]:
                    codecs.add(codec_byte(part, bool(payload[0] & 0x10), info.samples))
    assert {5, 6} <= codecs  # what the fixture is for: both Huffman grids in a real file


def test_a_version_4_file_of_one_frame_decodes_to_the_recorded_bits():
    """v4.hippo: a whole file of level best in one frame (no header CRC, payload length,
    frame CRC or footer: one CRC-32 at the end), the mixing codec in it, decoded to the
    recorded values, within the bounds, with the recipe's times; the second decoder agrees
    bit for bit."""
    from hippo_cli.codec import HippoReader

    data = _decoded_against_recipe("v4", lambda recipe: recipe.repeated_levels())
    with HippoReader(io.BytesIO(data), "f") as reader:
        assert reader.header.version == 4 and reader.header.whole and reader.finished
        assert [f.samples for f in reader.index] == [12000]
        payload = reader._payload(reader.index[0])
        assert "mixing" in reader.part_codecs(reader.index[0])
    assert payload[0] == 0x30  # a key frame with runs of non-finite values and codec bytes
    assert data[-4:] == zlib.crc32(data[:-4]).to_bytes(4, "little")
