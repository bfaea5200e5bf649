"""``python -m hippo_cli.codec._warm [--times]``: compile codec kernels into numba's cache and
exit, silently. The CLI starts it beside a job that compiles the encoder (numba compiles one
function at a time per process): this process compiles the channel decoder (the writer's
check), then with ``--times`` (a file with a time column) the time encoder, while the job
compiles the channel encoder; the job then loads them from the cache. Last, the Huffman
codec's costing, with which level default estimates whether a long window of samples becomes
several frames (:func:`.container.frame_cuts`; only a window of at least 2^18 samples calls
it). A writer never decodes its times: the time decoder is left to the first job that reads a
timed file. (Also compiling the channel encoder's helpers here, from the last one backwards,
measured no better: the two processes then share two cores with a third of the work
duplicated.)"""

from __future__ import annotations

if __name__ == "__main__":
    import sys

    from .grid import compile_decoder, compile_time_encoder

    compile_decoder(times=False)
    if "--times" in sys.argv[1:]:
        compile_time_encoder()  # modes 0 and 2 (the job compiles the channel encoder first)
    import numpy as np

    from .huffman import shortest

    shortest(np.arange(3.0), 1.0)
