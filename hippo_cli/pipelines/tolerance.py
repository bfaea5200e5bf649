"""Error-targeted block mode: LegS blocks as long as the reconstruction stays within a
tolerance, decided online with no look-ahead beyond the current block.

Each block restarts a LegS encoder, so its state is the Legendre projection of that block
alone. The block grows (doubling, then bisection) while the reconstruction of every one of its
samples - rebuilt from the state exactly as ``hippo reconstruct`` will - meets the tolerance;
only verified lengths are ever emitted, so the guarantee holds sample by sample (a block of
one sample is exact, so a verified length always exists).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from ..engine import HiPPO
from ..errors import ParameterError

ERRORS = ("max", "rmse")


def _block_error(enc_params: dict, block: np.ndarray, error: str) -> tuple[float, np.ndarray]:
    """Worst channel error of encoding ``block`` (n, C) as one LegS block, and its state."""
    enc = HiPPO(**enc_params)
    enc.update(block)
    state = enc.state  # (C, N)
    n = len(block)
    recon = enc.reconstruct(state, n - 1, np.arange(n))  # (n, C)
    err = recon - block
    if error == "max":
        worst = float(np.max(np.abs(err)))
    else:
        worst = float(np.max(np.sqrt(np.mean(err**2, axis=0))))
    return worst, state


def longest_block(enc_params: dict, buf: np.ndarray, tolerance: float,
                  error: str) -> tuple[int, np.ndarray]:
    """The longest verified prefix length of ``buf`` (n, C) found by doubling then bisection,
    and the LegS state (C, N) that encodes it."""
    best_n, best_state = 1, _block_error(enc_params, buf[:1], error)[1]
    n, bad = 2, None
    while n <= len(buf):  # doubling
        worst, state = _block_error(enc_params, buf[:n], error)
        if worst > tolerance:
            bad = n
            break
        best_n, best_state = n, state
        n *= 2
    if bad is None:
        if best_n == len(buf):
            return best_n, best_state
        worst, state = _block_error(enc_params, buf, error)
        if worst <= tolerance:
            return len(buf), state
        bad = len(buf)
    lo, hi = best_n, bad  # lo verified, hi failed
    while hi - lo > 1:
        mid = (lo + hi) // 2
        worst, state = _block_error(enc_params, buf[:mid], error)
        if worst <= tolerance:
            lo, best_state = mid, state
        else:
            hi = mid
    return lo, best_state


def tolerance_blocks(
    chunks: Iterator[np.ndarray], enc_params: dict, tolerance: float, error: str = "max",
    max_block: int = 65536,
) -> Iterator[tuple[int, np.ndarray]]:
    """Yield (global end step, state (C, N)) per block of a stream of (L, C) chunks.

    Memory is bounded by ``max_block`` samples plus one chunk.
    """
    if enc_params.get("measure") != "legs":
        raise ParameterError("--tolerance works with --measure legs (its blocks are projections)")
    if not tolerance > 0:
        raise ParameterError(f"tolerance must be > 0, got {tolerance}")
    if error not in ERRORS:
        raise ParameterError(f"unknown error {error!r} (choose from max, rmse)")
    if max_block < 1:
        raise ParameterError("max_block must be >= 1")
    buf = None
    offset = 0
    for chunk in chunks:
        buf = chunk if buf is None or not len(buf) else np.concatenate([buf, chunk])
        while len(buf) >= max_block:
            n, state = longest_block(enc_params, buf[:max_block], tolerance, error)
            yield offset + n - 1, state
            buf, offset = buf[n:], offset + n
    while buf is not None and len(buf):
        n, state = longest_block(enc_params, buf[:max_block], tolerance, error)
        yield offset + n - 1, state
        buf, offset = buf[n:], offset + n
