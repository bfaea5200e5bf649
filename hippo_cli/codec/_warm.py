"""``python -m hippo_cli.codec._warm``: compile codec kernels into numba's cache and exit,
silently. The CLI starts it beside a job that compiles the encoder (numba compiles one
function at a time per process): this process compiles the decoder, then the time encoder,
while the job compiles the channel encoder; the job then loads them from the cache. (Also
compiling the channel encoder's helpers here, from the last one backwards, measured no
better: the two processes then share two cores with a third of the work duplicated.)"""

from __future__ import annotations

if __name__ == "__main__":
    from .grid import compile_decoder, encode_times

    compile_decoder()
    encode_times([0, 1, 2])  # the time encoder (the job compiles the channel encoder first)
