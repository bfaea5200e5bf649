"""The encoder: parameters, emission arithmetic, kernel choice, state snapshot, and the
:class:`HiPPO` class that owns a stream's state."""

from .emission import check_every, count_emitted, emitted_steps, file_steps
from .hippo import HiPPO
from .params import EncoderParams, resolve
from .state import Snapshot
from .stepper import NumericalWarning

__all__ = ["EncoderParams", "HiPPO", "NumericalWarning", "Snapshot", "check_every",
           "count_emitted", "emitted_steps", "file_steps", "resolve"]
