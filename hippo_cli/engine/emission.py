"""Which steps produce a row: the one emission rule.

A stream emits the state after each global step k (0-based) with ``(k + 1) % every == 0``.
A finished stream's file also holds the final state when it is not one of them
(:func:`file_steps`).
"""

from __future__ import annotations

import numpy as np

from ..checks import integer_at_least

#: ``every`` above this is refused: a row count, a step and an index must fit in int64.
MAX_EVERY = 1 << 62


def check_every(every: object) -> int:
    """``every`` as an int in [1, 2^62], else :class:`ParameterError`."""
    return integer_at_least("every", every, 1, MAX_EVERY)


def count_emitted(step0: int, L: int, every: int) -> int:
    """How many steps k in [step0, step0 + L) satisfy (k + 1) % every == 0."""
    return (step0 + L) // every - step0 // every


def emitted_steps(step0: int, L: int, every: int) -> np.ndarray:
    """The global steps k in [step0, step0 + L) with (k + 1) % every == 0 (int64)."""
    first = (step0 // every + 1) * every - 1
    return np.arange(first, step0 + L, every, dtype=np.int64)


def needs_final_row(samples: int, every: int) -> bool:
    """Whether a finished stream of ``samples`` adds its final state as an extra row."""
    return samples > 0 and samples % every != 0


def file_steps(every: int, samples: int) -> np.ndarray:
    """The steps of a finished stream's rows: the emitted ones plus the final step."""
    steps = emitted_steps(0, samples, every)
    if needs_final_row(samples, every):
        steps = np.append(steps, samples - 1)
    return steps
