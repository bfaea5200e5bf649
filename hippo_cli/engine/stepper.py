"""Kernel choice: the discretised system of one parameter set and the calls into
:mod:`hippo_cli._kernels` that advance a state through a chunk of samples.

A :class:`Stepper` holds only read-only matrices, so encoders with equal parameters can
share one (:meth:`hippo_cli.HiPPO.clone`). The state and the clock belong to the encoder.
"""

from __future__ import annotations

import warnings

import numpy as np

from .. import measures
from ..discretize import discretize, discretize_many, legs_clock_time, legs_tau, legs_zoh_step
from ..errors import DataError, ParameterError
from . import blocks, numpy_steps
from .emission import count_emitted
from .params import EncoderParams

#: Timed dense steps: matrices for the distinct step lengths of this many samples at a time.
TIMED_BLOCK = 4096
#: ... and at most this many bytes of them (N = 64: 4096 matrices; N = 1024: 16).
TIMED_BLOCK_BYTES = 128 << 20
#: Timed legs zoh: a step longer than this in log-time is cut to it. The LegS flow without
#: input is a projection of the zero-padded past, so ||expm(H A)||_2 <= e^{-H/2}: past
#: H = 90 the propagated part is below 3e-20 of the state (under the kernel's own 1e-17
#: tolerance), and the step's cost (its Taylor substeps grow as H ||A||_1) stays bounded even
#: for times 1e300 apart (or legs_time="start", whose H = h / s is unbounded).
LEGS_ZOH_MAX_STEP = 90.0
#: Per-sample LegT/LMU (GBT): the O(N) quasiseparable step from this N on (one channel; the
#: dense matvec is as fast below it), and from QS_MIN_ORDER_CHANNELS with several channels
#: (the dense path is one BLAS product per step there). Measured: N = 256, one channel,
#: 2.1 M samples/s against 0.22 dense.
QS_MIN_ORDER = 32
QS_MIN_ORDER_CHANNELS = 64


class NumericalWarning(RuntimeWarning):
    """The chosen discretisation is unstable: the coefficients are numerically meaningless."""


class Stepper:
    """The discretised system of ``params`` and its kernels.

    Attributes: ``A`` (N, N), ``B`` (N,) continuous, ``Abar``/``Bbar`` the fixed-step
    discretisation of the time-invariant measures (all None for legs and for lagt with a
    GBT method, whose O(N) kernels need no matrix: memory stays O(N), unless the block
    engine of :mod:`.blocks` runs, N <= 1024); ``norm1`` =
    ||A||_1; ``steady`` (N,) the state of a constant unit signal for ``init="steady"``
    (else None). Parameters whose
    discretisation is not finite raise :class:`ParameterError`.
    """

    def __init__(self, params: EncoderParams) -> None:
        self.params = params
        self.A: np.ndarray | None = None
        self.B: np.ndarray | None = None
        self.Abar: np.ndarray | None = None
        self.Bbar: np.ndarray | None = None
        self.alpha = params.alpha
        self.steady: np.ndarray | None = None
        self.unstable = False  # a NumericalWarning was given
        self._qs: np.ndarray | None | bool = False  # quasiseparable generators: not built yet
        if params.measure == "legs":
            # O(N) kernels: no dense matrix at all; legs zoh needs only ||A||_1 (in O(N))
            self.norm1 = measures.legs_norm1(params.N)
            if params.method == "forward" and params.N > 16:
                self.unstable = True
                warnings.warn(
                    f"forward Euler on LegS with N = {params.N} > 16 grows transiently by many "
                    "orders of magnitude: the coefficients are numerically meaningless (use "
                    "bilinear)", NumericalWarning, stacklevel=3)
            return
        h = self.fixed_step()
        if params.spec.kernel == "lagt" and params.method != "zoh":
            # O(N) kernel: no dense matrix either. A = I/2 - tril(1): ||A||_1 = N - 1/2, the
            # steady state -A^-1 B = 2 (-1)^n, and forward Euler's I + h A is triangular with
            # eigenvalue 1 - h/2.
            self.norm1 = params.N - 0.5
            if params.init == "steady":
                self.steady = 2.0 * (-1.0) ** np.arange(params.N)
            if params.method == "forward" and abs(1.0 - h / 2) > 1.0 + 1e-12:
                self.unstable = True
                warnings.warn(
                    f"{params.measure} {params.method} with step {h:g} has spectral radius "
                    f"{abs(1.0 - h / 2):.4g} > 1: the coefficients blow up and are numerically "
                    "meaningless", NumericalWarning, stacklevel=3)
            return
        try:
            with np.errstate(all="ignore"):
                self.A, self.B = measures.transition(params.measure, params.N,
                                                     **params.measure_params)
                self.Abar, self.Bbar = discretize(self.A, self.B, h, params.method)
                if params.init == "steady":
                    # least squares: fout's A is singular (its c_1 never moves), the others
                    # invertible
                    self.steady = -np.linalg.lstsq(self.A, self.B, rcond=None)[0]
        except (np.linalg.LinAlgError, ValueError, OverflowError, ZeroDivisionError) as err:
            raise self._no_discretisation(f"{type(err).__name__}: {err}") from None
        mats = [self.A, self.B, self.Abar, self.Bbar]
        if self.steady is not None:
            mats.append(self.steady)
        if not all(np.all(np.isfinite(m)) for m in mats):
            raise self._no_discretisation("it overflows")
        self.norm1 = float(np.abs(self.A).sum(axis=0).max())
        if params.method == "forward":
            # bilinear, backward and zoh are A-stable: they map the spectrum of every
            # registered A (all in Re <= 0) into the closed unit disk, so only forward Euler
            # can blow up (and only its check pays for the eigenvalues).
            radius = float(np.max(np.abs(np.linalg.eigvals(self.Abar))))
            if radius > 1.0 + 1e-12:
                self.unstable = True
                warnings.warn(
                    f"{params.measure} {params.method} with step {h:g} has spectral radius "
                    f"{radius:.4g} > 1: the coefficients blow up and are numerically "
                    "meaningless", NumericalWarning, stacklevel=3)

    def _no_discretisation(self, why: str) -> ParameterError:
        args = ", ".join(f"{k}={v!r}" for k, v in self.params.as_dict().items())
        return ParameterError(f"the parameters {args} give no finite discretisation ({why}); "
                              "use a smaller step or other parameters")

    def fixed_step(self) -> float:
        """The step of a uniformly sampled time-invariant measure, in its own time unit."""
        p = self.params
        return 1.0 / p.theta if p.theta is not None else p.dt

    def start(self, state: np.ndarray, first: np.ndarray) -> None:
        """Set ``state`` (N, C) to c_{-1}: zero, or the steady state of the first sample
        ``first`` (C,)."""
        state[:, :] = 0.0
        if self.steady is not None:
            state[:, :] = np.outer(self.steady, first)

    # ---------------------------------------------------------------- uniform samples
    def run(self, x2: np.ndarray, state: np.ndarray, step0: int, every: int,
            out: np.ndarray) -> int:
        """Advance ``state`` (N, C) through ``x2`` (L, C) whose first sample is step
        ``step0`` of the history; write the emitted rows to ``out`` (R, C, N); return R.

        Time-invariant measures and LegS's exact projection (zoh, natural time) emitting
        every T-th state (:func:`blocks.block_length`) run their full blocks through the
        block engine and only the partial blocks at either
        end through the per-sample kernels, so rows and final state land where they would."""
        p = self.params
        if numpy_steps.applies(p, *x2.shape):  # a small job: no numba start-up
            return self._run_samples(x2, state, step0, every, out)
        kernel = p.spec.kernel
        fast = kernel == "lagt" and p.method != "zoh"  # the O(N) kernel
        legs_exact = kernel == "legs" and p.method == "zoh" and p.legs_time == "natural"
        T = 0 if kernel == "legs" and not legs_exact else blocks.block_length(every, p.N, fast)
        head = min(len(x2), -step0 % T) if T else 0
        nb = (len(x2) - head) // T if T else 0
        if legs_exact:
            ops = blocks.legs_operators(p.N, T) if nb else None
        else:
            ops = self._block_operators(T) if nb else None
        if ops is None:
            return self._run_samples(x2, state, step0, every, out)
        mid = head + nb * T
        written = self._run_samples(x2[:head], state, step0, every, out)
        run = blocks.run_legs_blocks if legs_exact else blocks.run_blocks
        written += run(ops, x2[head:mid], state, step0 + head, every, out[written:])
        return written + self._run_samples(x2[mid:], state, step0 + mid, every, out[written:])

    def _block_operators(self, T: int) -> tuple[np.ndarray, np.ndarray] | None:
        """(Abar^T, K) of the block engine for blocks of T samples (or None: not finite)."""
        p = self.params
        key = (p.measure, p.N, p.method, self.fixed_step(),
               tuple(sorted(p.measure_params.items())))
        return blocks.operators(key, T, self._dense_system)

    def _dense_system(self) -> tuple[np.ndarray, np.ndarray]:
        """The dense (Abar, Bbar), built here for lagt with a GBT method (which has none)."""
        if self.Abar is not None and self.Bbar is not None:
            return self.Abar, self.Bbar
        p = self.params
        with np.errstate(all="ignore"):
            A, B = measures.transition(p.measure, p.N, **p.measure_params)
            return discretize(A, B, self.fixed_step(), p.method)

    def _run_samples(self, x2: np.ndarray, state: np.ndarray, step0: int, every: int,
                     out: np.ndarray) -> int:
        """:meth:`run` one sample at a time (the per-sample kernels)."""
        if len(x2) == 0:
            return 0
        p = self.params
        if numpy_steps.applies(p, *x2.shape):
            Abar, Bbar = (None, None) if p.spec.kernel == "legs" else self._dense_system()
            return numpy_steps.run(p, Abar, Bbar, x2, state, step0, every, out)
        from .. import _kernels  # numba is imported only when samples are encoded

        kernel = p.spec.kernel
        if kernel == "legs":
            if p.method == "zoh":
                k = np.maximum(np.arange(step0, step0 + len(x2), dtype=np.float64), 1.0)
                hs = legs_zoh_step(k, 1.0, p.legs_time)
                return _kernels.legs_zoh(x2, state, step0, every, hs, self.norm1, out)
            shift = legs_tau(0.0, 1.0, self.alpha, p.legs_time)  # tau = k + shift
            return _kernels.legs_gbt(x2, state, step0, every, self.alpha, shift, out)
        if kernel == "lagt" and p.method != "zoh":
            return _kernels.lagt_gbt(x2, state, step0, every, self.alpha, p.dt, out)
        G = self._quasiseparable(x2.shape[1])
        if G is not None:
            return _kernels.lti_qs(G, x2, state, step0, every, out)
        return _kernels.lti_dense(self.Abar, self.Bbar, x2, state, step0, every, out)

    def _quasiseparable(self, C: int) -> np.ndarray | None:
        """The O(N) generators of Abar (:mod:`.quasisep`) when they pay for C channels (the
        dense kernel wins below QS_MIN_ORDER), else None. Built once, on first use."""
        if self.params.N < (QS_MIN_ORDER if C == 1 else QS_MIN_ORDER_CHANNELS):
            return None
        if self._qs is False:
            from .quasisep import qs_generators

            self._qs = qs_generators(self.Abar, self.Bbar)
        return self._qs

    # ------------------------------------------------------------------ timed samples
    def run_timed(self, x2: np.ndarray, t: np.ndarray, state: np.ndarray, step0: int,
                  every: int, clock: dict, out: np.ndarray) -> int:
        """As :meth:`run` for samples at times ``t`` (L,), strictly increasing after
        ``clock["t_last"]``. ``clock`` (t0, t_last, delta0) is updated in place."""
        from .. import _kernels

        p = self.params
        L = len(t)
        if clock["delta0"] is None and step0 + L >= 2:
            clock["delta0"] = float(t[1 - step0] - clock["t0"])
        prev = np.r_[clock["t_last"] if step0 else np.nan, t[:-1]]
        h = t - prev  # NaN for the very first sample
        if step0 == 0:
            h[0] = clock["delta0"] if clock["delta0"] is not None else 1.0
        alpha = self.alpha
        if p.measure == "legs":
            s_prev = legs_clock_time(prev, clock["t0"], clock["delta0"])
            with np.errstate(invalid="ignore", divide="ignore"):
                if p.method == "zoh":
                    hs = legs_zoh_step(s_prev, h, p.legs_time)
                else:
                    hs = h / legs_tau(s_prev, h, alpha, p.legs_time)
            hs = np.where(np.isfinite(hs), hs, 0.0)  # step 0 ignores it
            if p.method == "zoh":
                hs = np.minimum(hs, LEGS_ZOH_MAX_STEP)
            if p.method == "zoh":
                written = _kernels.legs_zoh(x2, state, step0, every, hs, self.norm1, out)
            else:
                written = _kernels.legs_gbt_steps(x2, state, step0, every, alpha, hs, out)
        else:
            if step0 == 0:
                self.start(state, x2[0])
            with np.errstate(over="ignore"):
                hm = h / p.theta if p.theta is not None else h * p.dt  # in the measure's unit
            if p.spec.kernel == "lagt" and p.method != "zoh":
                written = _kernels.lagt_gbt_steps(x2, state, step0, every, alpha, hm, out)
            else:
                written = 0
                block = max(1, min(TIMED_BLOCK, TIMED_BLOCK_BYTES // (8 * p.N * p.N)))
                for lo in range(0, L, block):
                    hi = min(L, lo + block)
                    uniq, idx = np.unique(hm[lo:hi], return_inverse=True)
                    As, Bs = self._timed_matrices(uniq, step0 + lo, step0 + hi - 1, h[lo:hi])
                    written += _kernels.lti_dense_indexed(
                        As, Bs, idx.astype(np.int64), x2[lo:hi], state, step0 + lo, every,
                        out[written:])
        clock["t_last"] = float(t[-1])
        assert written == count_emitted(step0, L, every)
        return written

    def _timed_matrices(self, hm: np.ndarray, first: int, last: int,
                        h: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(Abar, Bbar) of each step length ``hm`` (the measure's unit) of samples
        first..last, whose time steps are ``h``; :class:`DataError` if they are not finite."""
        try:
            with np.errstate(all="ignore"):
                As, Bs = discretize_many(self.A, self.B, hm, self.params.method)
        except (np.linalg.LinAlgError, ValueError, OverflowError):
            As = Bs = np.array([np.nan])
        if not (np.all(np.isfinite(As)) and np.all(np.isfinite(Bs))):
            big = float(np.nanmax(h)) if np.any(np.isfinite(h)) else float("nan")
            raise DataError(f"sample times at samples {first}..{last} give no finite "
                            f"discretisation (time steps up to {big:.3g} are too long for "
                            f"{self.params.measure} {self.params.method}); rescale the times")
        return As, Bs
