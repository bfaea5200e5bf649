"""hippo: online time-series compression with HiPPO (Gu et al., NeurIPS 2020).

Public API::

    transition(measure, N) -> (A, B)              continuous matrices
    discretize(A, B, h, method) -> (Abar, Bbar)   one step of size h
    HiPPO(measure, N, ...)                        online encoder: update / reconstruct / save

Layers, bottom to top (imports only point down): ``errors``/``checks``/``atomic`` ->
``_kernels``, ``discretize``, ``measures`` -> ``engine`` -> ``formats`` -> ``pipelines`` ->
``cli``. Heavy dependencies (numba, scipy, pandas, matplotlib) are imported only when used.
"""

from ._version import __version__
from .discretize import discretize, legs_step_matrices
from .engine import HiPPO, NumericalWarning, Snapshot
from .errors import DataError, HippoError, ParameterError
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
    "discretize",
    "eval_basis",
    "legs_step_matrices",
    "transition",
]
