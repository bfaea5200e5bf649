"""hippo: online time-series compression with HiPPO (Gu et al., NeurIPS 2020).

Public API::

    transition(measure, N) -> (A, B)              continuous matrices
    discretize(A, B, h, method) -> (Abar, Bbar)   one step of size h
    HiPPO(measure, N, ...)                        online encoder: update / reconstruct / save
    encode(x, max_error) -> bytes                 a .hippo file: every sample within max_error
    decode(data) -> (values, times)               and back
    open_hippo(path) -> HippoFile                 a .hippo file on disk, read frame by frame

Layers, bottom to top (imports only point down): ``errors``/``checks``/``atomic`` ->
``_kernels``, ``discretize``, ``measures`` -> ``engine`` -> ``formats`` -> ``pipelines`` ->
``cli``. Heavy dependencies (numba, scipy, pandas, matplotlib) are imported only when used.
"""

from ._version import __version__
from .discretize import discretize, legs_step_matrices
from .engine import HiPPO, NumericalWarning, Snapshot
from .errors import DataError, HippoError, ParameterError
from .formats.hippo_file import decode, encode, open_hippo
from .measures import MEASURES, eval_basis, transition

__all__ = [
    "MEASURES",
    "DataError",
    "HiPPO",
    "HippoError",
    "NumericalWarning",
    "ParameterError",
    "Snapshot",
    "__version__",
    "decode",
    "discretize",
    "encode",
    "eval_basis",
    "legs_step_matrices",
    "open_hippo",
    "transition",
]
