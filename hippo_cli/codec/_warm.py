"""``python -m hippo_cli.codec._warm``: compile codec kernels into numba's cache and exit,
silently. The CLI starts it beside a job that compiles the encoder (numba compiles one
function at a time per process): this process compiles the decoder, then the time encoder,
then the channel encoder's helpers from the last one backwards, while the job compiles them
from the first one on; each finds in the cache what the other has finished. A first run on
a machine then costs about half the compile time."""

from __future__ import annotations

if __name__ == "__main__":
    from . import _kernels
    from .grid import compile_decoder, encode_times

    compile_decoder()
    encode_times([0, 1, 2])  # the time encoder (the job compiles the channel encoder first)
    _kernels.compile_from_the_end(_kernels.encode_blocks)  # meets the job halfway
