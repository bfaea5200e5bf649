"""hippo: online time-series compression with HiPPO (Gu et al., NeurIPS 2020).

Public API::

    transition(measure, N) -> (A, B)              continuous matrices
    discretize(A, B, h, method) -> (Abar, Bbar)   one step of size h
    HiPPO(measure, N, ...)                        online encoder: update / reconstruct / save
    encode(x, max_error, times=None) -> bytes     a .hippo file: every sample within max_error
    decode(data) -> (values, times)               and back
    open_hippo(path) -> HippoReader               a .hippo file on disk: .read(start, stop)
    HippoWriter(fh, header)                       a .hippo stream: .append(), .close()
    to_hippo(frame, path, max_error)              a pandas DataFrame as a .hippo file
    read_hippo(path, start, stop) -> DataFrame    and back (pandas imported on first use)

Layers, bottom to top (imports only point down): ``errors``/``checks``/``atomic`` ->
``_kernels``, ``discretize``, ``measures`` -> ``engine`` -> ``formats`` -> ``pipelines`` ->
``cli``. Heavy dependencies (numba, scipy, pandas, matplotlib) are imported only when used.
"""

from ._version import __version__
from .codec import HippoReader, HippoWriter, decode, encode, open_hippo
from .discretize import discretize, legs_step_matrices
from .engine import HiPPO, NumericalWarning, Snapshot
from .errors import DataError, HippoError, ParameterError
from .measures import MEASURES, eval_basis, transition

#: Public names whose modules import pandas: loaded on first use, so that ``import hippo_cli``
#: stays light (module ``__getattr__``, PEP 562).
_LAZY = {"to_hippo": "frames", "read_hippo": "frames"}


def __getattr__(name: str):
    if name in _LAZY:
        from importlib import import_module

        return getattr(import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "MEASURES",
    "DataError",
    "HiPPO",
    "HippoError",
    "HippoReader",
    "HippoWriter",
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
    "read_hippo",
    "to_hippo",
    "transition",
]
