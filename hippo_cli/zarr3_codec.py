"""hippo in zarr format 3: :class:`HippoZarr3`, the array's serializer (``numcodecs.hippo``).

Format 3 splits a chunk's codecs into filters (array to array), one serializer (array to
bytes) and compressors (bytes to bytes). A compressor sees only bytes, without the chunk's
dtype, so a lossy codec for numbers is a serializer there (as zarr's own ``numcodecs.zfpy``
and ``numcodecs.pcodec`` are)::

    zarr.create_array(store, shape=..., dtype="float32",
                      serializer=HippoZarr3(max_error=0.01), compressors=None)

Its chunks are the same ``.hippo`` files (:mod:`hippo_cli.chunk_codec`) as
:class:`~hippo_cli.numcodecs_codec.HippoCodec` writes in format 2, and the bound means the
same (see :mod:`hippo_cli.numcodecs_codec`). The name follows zarr's for codecs of the
numcodecs family (``numcodecs.<id>``); an installed ``hippo-cli`` registers it through the
``zarr.codecs`` entry point, :func:`register` by hand. This module imports zarr (3 or later).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from zarr.abc.codec import ArrayBytesCodec
from zarr.core.common import parse_named_configuration

from .chunk_codec import CODEC_ID, check_config, chunk_dtype, decode_chunk, encode_chunk

if TYPE_CHECKING:
    from typing import Self

    from zarr.core.array_spec import ArraySpec
    from zarr.core.buffer import Buffer, NDBuffer

ZARR3_NAME = f"numcodecs.{CODEC_ID}"


@dataclass(frozen=True)
class HippoZarr3(ArrayBytesCodec):
    """The zarr 3 serializer coding each chunk as HippoCodec does (same parameters:
    ``max_error`` > 0, ``level`` fast, default or best). Holds only them: thread-safe."""

    is_fixed_size = False

    max_error: float
    level: str

    def __init__(self, *, max_error: float, level: str = "default") -> None:
        max_error, level = check_config(max_error, level)
        object.__setattr__(self, "max_error", max_error)
        object.__setattr__(self, "level", level)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Self:
        _, configuration = parse_named_configuration(data, ZARR3_NAME)
        return cls(**configuration)

    def to_dict(self) -> dict[str, Any]:
        return {"name": ZARR3_NAME,
                "configuration": {"max_error": self.max_error, "level": self.level}}

    def validate(self, *, dtype: Any, **_: Any) -> None:
        chunk_dtype(np.dtype(dtype.to_native_dtype()))  # a ParameterError (a ValueError)

    async def _decode_single(self, chunk_bytes: Buffer, chunk_spec: ArraySpec) -> NDBuffer:
        values = await asyncio.to_thread(decode_chunk, chunk_bytes.to_bytes())
        values = values.astype(chunk_spec.dtype.to_native_dtype(), copy=False)
        return chunk_spec.prototype.nd_buffer.from_ndarray_like(values.reshape(chunk_spec.shape))

    async def _encode_single(self, chunk_array: NDBuffer, chunk_spec: ArraySpec) -> Buffer:
        # C order, as the bytes codec writes a chunk, whatever its order in memory
        flat = np.ravel(chunk_array.as_numpy_array(), order="C")
        data = await asyncio.to_thread(encode_chunk, flat, self.max_error, self.level)
        return chunk_spec.prototype.buffer.from_bytes(data)

    def compute_encoded_size(self, _input_byte_length: int, _chunk_spec: ArraySpec) -> int:
        raise NotImplementedError  # variable: it depends on the values


def register() -> None:
    """Register ``numcodecs.hippo`` with zarr by hand."""
    from zarr.registry import register_codec

    register_codec(ZARR3_NAME, HippoZarr3)
