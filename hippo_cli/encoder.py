"""The online HiPPO encoder: a stateful object fed chunk by chunk.

``HiPPO`` validates its parameters, owns the state and the step counter, picks the kernel,
and reconstructs. Any split of a stream into ``update`` calls gives the same coefficients as
one call, and ``save``/``load`` resume a stream exactly.
"""

from __future__ import annotations

import io
import json
import os
import tempfile
import warnings
from pathlib import Path

import numpy as np

from . import measures
from ._version import __version__
from .discretize import canonical_method, discretize, method_alpha
from .errors import DataError, ParameterError

STATE_FORMAT = "hippo-state"
STATE_FORMAT_VERSION = 1
LEGS_TIMES = ("natural", "start")
INITS = ("zero", "steady")


#: Timed dense steps: matrices for the distinct step lengths of this many samples at a time.
_TIMED_BLOCK = 4096


def discretize_many(A: np.ndarray, B: np.ndarray, hs: np.ndarray,
                    method: str) -> tuple[np.ndarray, np.ndarray]:
    """(Abar, Bbar) for each step length in hs: shapes (U, N, N), (U, N)."""
    import scipy.linalg

    N = A.shape[0]
    if method == "zoh":
        block = np.zeros((len(hs), N + 1, N + 1))
        block[:, :N, :N] = A * hs[:, None, None]
        block[:, :N, N] = B * hs[:, None]
        E = scipy.linalg.expm(block)
        return np.ascontiguousarray(E[:, :N, :N]), np.ascontiguousarray(E[:, :N, N])
    a = method_alpha(method)
    eye = np.eye(N)
    lhs = eye - a * hs[:, None, None] * A
    rhs = np.concatenate([eye + (1 - a) * hs[:, None, None] * A,
                          (hs[:, None] * B)[:, :, None]], axis=2)
    sol = np.linalg.solve(lhs, rhs)
    return np.ascontiguousarray(sol[:, :, :N]), np.ascontiguousarray(sol[:, :, N])


def time_basis(measure: str, N: int, clock: dict, state_time: float, times: np.ndarray,
               prev_time: float | None, *, theta: float | None, dt: float | None,
               params: dict | None = None) -> np.ndarray:
    """Basis matrix (len(times), N) of a timed stream's state taken at ``state_time``."""
    if measure == "legs":
        def s(t):  # noqa: ANN001, ANN202 - LegS time: the first sample covers delta0
            return t - clock["t0"] + (clock["delta0"] or 1.0)
        before = 0.0 if prev_time is None else s(prev_time)
        st = s(times)
        mid = (np.r_[before, st[:-1]] + st) / 2
        return measures.legendre_basis(N, 2.0 * mid / s(state_time) - 1.0)
    if measure in measures.WINDOW_MEASURES:
        lag = (state_time - times) / theta
    else:
        lag = (state_time - times) * dt
    return measures.basis_at_lag(measure, N, lag, **(params or {}))


class NumericalWarning(RuntimeWarning):
    """The chosen discretisation is unstable: the coefficients are numerically meaningless."""


def _positive_number(name: str, value: object) -> float:
    try:
        v = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ParameterError(f"{name} must be a number, got {value!r}") from None
    if not np.isfinite(v) or v <= 0:
        raise ParameterError(f"{name} must be a finite number > 0, got {value!r}")
    return v


class HiPPO:
    """Online HiPPO encoder for one or several channels.

    Parameters
    ----------
    measure : ``"legs"`` (the whole history, scale-invariant), a window measure (``"legt"``,
        ``"lmu"``, ``"fout"``: the last theta samples) or a fading one (``"lagt"``,
        ``"tlagt"``, ``"glagt"``, ``"foud"``, ``"legsd"``); see :mod:`hippo_cli.measures`.
    N : number of coefficients (>= 1).
    theta : legt only (required): window length in samples; the step is dt = 1/theta.
    dt : lagt only (default 1.0): step size in the measure's time unit.
    method : ``"bilinear"`` (default), ``"zoh"``, ``"forward"`` (``"euler"``),
        ``"backward"`` (``"backward_diff"``).
    legs_time : legs only. ``"natural"`` (default): step k >= 1 uses tau = k + alpha
        (forward k, bilinear k + 1/2, backward k + 1; zoh exact in log-time).
        ``"start"``: tau = k for every method (the paper's eq. 11, hippo-code's C++).
    init : legt/lagt only. ``"zero"`` (c_{-1} = 0, the published definition) or ``"steady"``
        (c_{-1} = -A^-1 B f_0, as if the signal had always been at its first value).
    alpha, beta : glagt (alpha, beta) and tlagt (beta) parameters (published defaults).
    reset_every : block mode: restart the encoder before every global step k with
        ``k % reset_every == 0``, so each state describes its own block only (with legs: the
        Legendre projection of the block). ``every`` must then divide it.

    State layout: ``state`` is (N,) for a 1-D stream, (C, N) for C channels.
    """

    def __init__(
        self,
        measure: str,
        N: int,
        *,
        theta: float | None = None,
        dt: float | None = None,
        method: str = "bilinear",
        legs_time: str = "natural",
        init: str = "zero",
        reset_every: int | None = None,
        alpha: float | None = None,
        beta: float | None = None,
    ) -> None:
        self.measure = measures.check_measure(measure)
        self.N = measures.check_order(N)
        self.method = canonical_method(method)
        if self.method == "gbt":
            raise ParameterError("the encoder takes forward, backward, bilinear or zoh")
        self._alpha = method_alpha(self.method)
        time_param = measures.TIME_PARAMETER[self.measure]
        if theta is not None and time_param != "theta":
            raise ParameterError(f"theta does not apply to measure {self.measure!r} (legt only)")
        if dt is not None and time_param != "dt":
            raise ParameterError(f"dt does not apply to measure {self.measure!r} (lagt only)")
        self.theta: float | None = None
        self.dt: float | None = None
        if time_param == "theta":
            if theta is None:
                raise ParameterError("measure 'legt' needs theta (the window length in samples)")
            self.theta = _positive_number("theta", theta)
        elif time_param == "dt":
            self.dt = 1.0 if dt is None else _positive_number("dt", dt)
        if legs_time not in LEGS_TIMES:
            raise ParameterError(f"unknown legs_time {legs_time!r} (choose from natural, start)")
        if legs_time != "natural" and self.measure != "legs":
            raise ParameterError(f"legs_time does not apply to measure {self.measure!r}")
        self.legs_time = legs_time
        if init not in INITS:
            raise ParameterError(f"unknown init {init!r} (choose from zero, steady)")
        if init != "zero" and self.measure == "legs":
            raise ParameterError("init does not apply to measure 'legs' (c_0 = f_0 e_0 already)")
        self.init = init
        if reset_every is not None:
            if (isinstance(reset_every, bool) or not isinstance(reset_every, (int, np.integer))
                    or reset_every < 1):
                raise ParameterError(f"reset_every must be an integer >= 1, got {reset_every!r}")
            reset_every = int(reset_every)
        self.reset_every: int | None = reset_every
        self.measure_params = measures.measure_params(self.measure, alpha, beta)
        self._A, self._B = measures.transition(self.measure, self.N, **self.measure_params)
        self._Abar: np.ndarray | None = None
        self._Bbar: np.ndarray | None = None
        if self.measure != "legs":
            h = 1.0 / self.theta if self.theta is not None else self.dt
            self._Abar, self._Bbar = discretize(self._A, self._B, h, self.method)
            radius = float(np.max(np.abs(np.linalg.eigvals(self._Abar))))
            if radius > 1.0 + 1e-12:
                warnings.warn(
                    f"{self.measure} {self.method} with step {h:g} has spectral radius "
                    f"{radius:.4g} > 1: the coefficients blow up and are numerically meaningless",
                    NumericalWarning,
                    stacklevel=2,
                )
        elif self.method == "forward" and self.N > 16:
            warnings.warn(
                f"forward Euler on LegS with N = {self.N} > 16 grows transiently by many orders "
                "of magnitude: the coefficients are numerically meaningless (use bilinear)",
                NumericalWarning,
                stacklevel=2,
            )
        self._steady: np.ndarray | None = None
        if self.init == "steady":
            # least squares: fout's A is singular (its c_1 never moves), the others invertible
            self._steady = -np.linalg.lstsq(self._A, self._B, rcond=None)[0]
        self.reset()

    # ----------------------------------------------------------------- state
    def reset(self) -> None:
        """Forget the stream: zero state, zero steps, channel count unknown again."""
        self._state: np.ndarray | None = None  # kernel layout (N, C)
        self._squeeze = True
        self.steps = 0
        self._clock: dict | None = None  # timed streams: t0, t_last, delta0

    @property
    def channels(self) -> int | None:
        """Number of channels, or None before the first update."""
        return None if self._state is None else self._state.shape[1]

    @property
    def state(self) -> np.ndarray:
        """Current coefficients: shape (N,) for a 1-D stream, (C, N) for C channels (a copy)."""
        if self._state is None:
            return np.zeros(self.N)
        st = self._state.T.copy()
        return st[0] if self._squeeze else st

    def params(self) -> dict:
        """The constructor arguments as a JSON-ready dict (``HiPPO(**params)`` rebuilds it)."""
        p: dict = {"measure": self.measure, "N": self.N, "method": self.method}
        if self.theta is not None:
            p["theta"] = self.theta
        if self.dt is not None:
            p["dt"] = self.dt
        if self.measure == "legs":
            p["legs_time"] = self.legs_time
        else:
            p["init"] = self.init
        if self.reset_every is not None:
            p["reset_every"] = self.reset_every
        p.update(self.measure_params)
        return p

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.params().items())
        return f"HiPPO({args}) at step {self.steps}"

    # ---------------------------------------------------------------- update
    def update(self, x: np.ndarray, every: int = 1, times: np.ndarray | None = None) -> np.ndarray:
        """Feed samples and return the coefficients after the emitted steps.

        Parameters
        ----------
        x : array (L,) for one channel or (L, C) for C independent channels.
        every : emit the state after each global step k with ``(k + 1) % every == 0``.
        times : optional (L,) strictly increasing sample times (then on every call of the
            stream). Each step then uses its own length h = t_k - t_{k-1}: LegS discretises
            its ODE on [s_{k-1}, s_k] with s = t - t_0 + (t_1 - t_0) (so unit-spaced times
            reproduce the sample-indexed run); LegT uses h / theta and LagT h * dt (theta and
            dt in time units). With init="zero", LegT/LagT take the first interval t_1 - t_0
            for the first sample, so a timed stream's first chunk needs two samples.

        Returns
        -------
        float64 array (R, N) for 1-D input or (R, C, N), R = number of emitted steps in
        this chunk (possibly 0). Which global steps they are: :meth:`emitted_steps`.
        """
        every = self._check_every(every)
        if self.reset_every is not None and self.reset_every % every:
            raise ParameterError(f"every ({every}) must divide reset_every ({self.reset_every})")
        arr = np.asarray(x)
        if arr.dtype.kind not in "biuf":
            raise DataError(f"samples must be numbers, got dtype {arr.dtype}")
        if arr.ndim not in (1, 2):
            raise DataError(f"samples must have shape (L,) or (L, C), got {arr.shape}")
        squeeze = arr.ndim == 1
        x2 = np.ascontiguousarray(arr[:, None] if squeeze else arr, dtype=np.float64)
        C = x2.shape[1]
        if C < 1:
            raise DataError("samples have zero channels")
        if self._state is None:
            self._state = np.zeros((self.N, C))
            self._squeeze = squeeze
        elif C != self._state.shape[1] or (squeeze and not self._squeeze):
            raise DataError(
                f"chunk has {C} channel(s) ({'1-D' if squeeze else '2-D'}) but the stream has "
                f"{self._state.shape[1]}"
            )
        L = x2.shape[0]
        R = self.count_emitted(self.steps, L, every)
        out = np.empty((R, C, self.N))
        if L == 0:
            return out[:, 0, :] if self._squeeze else out
        if not np.all(np.isfinite(x2)):
            bad = int(np.argmin(np.isfinite(x2).all(axis=1)))
            raise DataError(f"sample {self.steps + bad} is not finite (NaN or inf)")
        if times is not None or self._clock is not None:
            t = self._check_times(times, L)
            written = self._run_timed(x2, t, every, out)
            assert written == R
            return out[:, 0, :] if self._squeeze else out
        written = 0
        for lo, hi in self._blocks(L):
            local = self.block_step(self.steps)
            if local == 0:  # a stream (or a block) starts: c_{-1} = 0 or the steady state
                self._state[:, :] = 0.0
                if self._steady is not None:
                    self._state[:, :] = np.outer(self._steady, x2[lo])
            written += self._run(x2[lo:hi], every, out[written:], local)
            self.steps += hi - lo
        assert written == R
        return out[:, 0, :] if self._squeeze else out

    # ------------------------------------------------------------ timed steps
    def _check_times(self, times: np.ndarray | None, L: int) -> np.ndarray:
        if times is None:
            raise ParameterError("this stream has sample times: pass times= on every update")
        if self.steps and self._clock is None:
            raise ParameterError("this stream started without times; it cannot take them now")
        if self.reset_every is not None:
            raise ParameterError("sample times and reset_every (block mode) do not combine")
        t = np.asarray(times, dtype=np.float64).reshape(-1)
        if t.shape[0] != L:
            raise DataError(f"{t.shape[0]} times for {L} samples")
        if not np.all(np.isfinite(t)):
            raise DataError("sample times must be finite")
        prev = self._clock["t_last"] if self._clock else -np.inf
        if np.any(np.diff(np.r_[prev, t]) <= 0):
            raise DataError("sample times must be strictly increasing")
        if (self.steps == 0 and L == 1 and self.measure != "legs" and self.init == "zero"):
            raise DataError("the first chunk of a timed legt/lagt stream needs two samples "
                            "(the first interval sets the first step; or use init='steady')")
        return t

    def _run_timed(self, x2: np.ndarray, t: np.ndarray, every: int, out: np.ndarray) -> int:
        """One chunk of a timed stream: per-step lengths from the times, then the kernels."""
        from . import _kernels

        step0, L = self.steps, len(t)
        clock = self._clock or {"t0": float(t[0]), "t_last": None, "delta0": None}
        if clock["delta0"] is None and step0 + L >= 2:
            t1 = t[1 - step0]
            clock["delta0"] = float(t1 - clock["t0"])
        prev = np.r_[clock["t_last"] if step0 else np.nan, t[:-1]]
        h = t - prev  # NaN for the very first sample
        if step0 == 0:
            h[0] = clock["delta0"] if clock["delta0"] is not None else 1.0
        alpha = self._alpha
        if self.measure == "legs":
            s_prev = prev - clock["t0"] + (clock["delta0"] or 1.0)
            with np.errstate(invalid="ignore"):
                if self.method == "zoh":
                    hs = h / s_prev
                    hs = np.log1p(hs) if self.legs_time == "natural" else hs
                else:
                    tau = s_prev + (alpha * h if self.legs_time == "natural" else 0.0)
                    hs = h / tau
            hs = np.where(np.isfinite(hs), hs, 0.0)  # step 0 ignores it
            if self.method == "zoh":
                written = _kernels.legs_zoh(x2, self._state, step0, every, hs, self._norm1(), out)
            else:
                written = _kernels.legs_gbt_steps(x2, self._state, step0, every, alpha, hs, out)
        else:
            if step0 == 0:
                self._state[:, :] = 0.0
                if self._steady is not None:
                    self._state[:, :] = np.outer(self._steady, x2[0])
            hm = h / self.theta if self.theta is not None else h * self.dt  # measure units
            if self.measure == "lagt" and self.method != "zoh":
                written = _kernels.lagt_gbt_steps(x2, self._state, step0, every, alpha, hm, out)
            else:
                written = 0
                for lo in range(0, L, _TIMED_BLOCK):
                    hi = min(L, lo + _TIMED_BLOCK)
                    uniq, idx = np.unique(hm[lo:hi], return_inverse=True)
                    As, Bs = discretize_many(self._A, self._B, uniq, self.method)
                    written += _kernels.lti_dense_indexed(
                        As, Bs, idx.astype(np.int64), x2[lo:hi], self._state, step0 + lo,
                        every, out[written:])
        clock["t_last"] = float(t[-1])
        self._clock = clock
        self.steps += L
        return written

    def _blocks(self, L: int) -> list[tuple[int, int]]:
        """Split the next L samples where a block starts (block mode), else one piece."""
        if self.reset_every is None:
            return [(0, L)]
        K = self.reset_every
        cuts = list(range(-self.steps % K, L, K))
        bounds = [0, *[c for c in cuts if c > 0], L]
        return list(zip(bounds[:-1], bounds[1:]))

    def block_step(self, step):  # noqa: ANN001, ANN201 - int or int array
        """Step within its block (block mode), else the step itself."""
        return step if self.reset_every is None else step % self.reset_every

    def first_covered(self, step):  # noqa: ANN001, ANN201 - int or int array
        """First sample index the state after global ``step`` describes (may be < 0 for
        legt at the start); never before the block start in block mode."""
        local = self.block_step(step)
        start = np.asarray(step) - local
        first = start + measures.first_covered(self.measure, local, theta=self.theta, dt=self.dt)
        return first if np.ndim(first) else int(first)

    def _run(self, x2: np.ndarray, every: int, out: np.ndarray, step0: int) -> int:
        """One kernel call; ``step0`` is the step within the block (the global step without
        block mode). Emission uses it too: every divides reset_every, so it agrees."""
        from . import _kernels  # numba is imported only when samples are encoded

        if self.measure == "legs":
            if self.method == "zoh":
                k = np.maximum(np.arange(step0, step0 + len(x2), dtype=np.float64), 1.0)
                hs = np.log1p(1.0 / k) if self.legs_time == "natural" else 1.0 / k
                return _kernels.legs_zoh(x2, self._state, step0, every, hs, self._norm1(), out)
            alpha = self._alpha
            shift = alpha if self.legs_time == "natural" else 0.0
            return _kernels.legs_gbt(x2, self._state, step0, every, alpha, shift, out)
        if self.measure == "lagt" and self.method != "zoh":
            return _kernels.lagt_gbt(x2, self._state, step0, every, self._alpha, self.dt, out)
        return _kernels.lti_dense(self._Abar, self._Bbar, x2, self._state, step0, every, out)

    def _norm1(self) -> float:
        return float(np.abs(self._A).sum(axis=0).max())

    @staticmethod
    def _check_every(every: int) -> int:
        if isinstance(every, bool) or not isinstance(every, (int, np.integer)) or every < 1:
            raise ParameterError(f"every must be an integer >= 1, got {every!r}")
        return int(every)

    @staticmethod
    def count_emitted(step0: int, L: int, every: int) -> int:
        """How many steps k in [step0, step0 + L) satisfy (k + 1) % every == 0."""
        return (step0 + L) // every - step0 // every

    @staticmethod
    def emitted_steps(step0: int, L: int, every: int) -> np.ndarray:
        """The global steps k in [step0, step0 + L) with (k + 1) % every == 0 (int64)."""
        first = (step0 // every + 1) * every - 1
        return np.arange(first, step0 + L, every, dtype=np.int64)

    # ------------------------------------------------------------ reconstruct
    def default_samples(self, step: int) -> np.ndarray:
        """Sample indices the state after ``step`` covers (see :func:`measures.default_samples`;
        in block mode only the block's own samples)."""
        return np.arange(max(self.first_covered(int(step)), 0), int(step) + 1, dtype=np.int64)

    def reconstruct(
        self, coeffs: np.ndarray, step: int, samples: np.ndarray | None = None
    ) -> np.ndarray:
        """Evaluate the function held by ``coeffs`` (the state after global ``step``).

        Parameters
        ----------
        coeffs : (N,) or (C, N).
        step : global step index (>= 0) after which ``coeffs`` was taken.
        samples : sample indices to evaluate at (default :meth:`default_samples`).

        Returns
        -------
        (M,) for (N,) coefficients, (M, C) for (C, N), M = len(samples).
        """
        c = np.asarray(coeffs, dtype=np.float64)
        if c.ndim not in (1, 2) or c.shape[-1] != self.N:
            raise DataError(f"coefficients must have shape (N,) or (C, N) with N = {self.N}")
        step = int(step)
        if step < 0:
            raise ParameterError(f"step must be >= 0, got {step}")
        if samples is None:
            samples = self.default_samples(step)
        local = self.block_step(step)
        return self.reconstruct_local(c, local, np.asarray(samples) - (step - local))

    def reconstruct_at(self, coeffs: np.ndarray, state_time: float, times: np.ndarray,
                       prev_time: float | None = None) -> np.ndarray:
        """Timed streams: evaluate the state taken after the sample at ``state_time`` at the
        sample times ``times`` (ascending, consecutive samples). LegS places each sample at
        the middle of its interval (s_{j-1}, s_j], which needs the time of the sample before
        ``times[0]``: ``prev_time`` (None: ``times[0]`` is the first sample of the stream).
        Shapes as :meth:`reconstruct`."""
        if self._clock is None:
            raise ParameterError("reconstruct_at needs a timed stream (update with times=)")
        c = np.asarray(coeffs, dtype=np.float64)
        M = time_basis(self.measure, self.N, self._clock, state_time, np.asarray(times, float),
                       prev_time, theta=self.theta, dt=self.dt, params=self.measure_params)
        return M @ c if c.ndim == 1 else M @ c.T

    def reconstruct_local(self, c: np.ndarray, step: int, samples: np.ndarray) -> np.ndarray:
        """As :meth:`reconstruct`, with ``step`` and ``samples`` counted from the start of the
        history the state holds (the stream, or its block). c: (N,) or (C, N)."""
        M = measures.eval_basis(self.measure, self.N, step, samples, theta=self.theta,
                                dt=self.dt, **self.measure_params)
        return M @ c if c.ndim == 1 else M @ c.T

    # ------------------------------------------------------------- save/load
    def save(self, path: str | os.PathLike) -> None:
        """Write parameters, step count and state to an ``.npz`` (atomic replace).

        Arrays only: ``meta`` is a JSON string stored as a unicode array, ``state`` the
        (N, C) float64 state. :meth:`load` never unpickles.
        """
        meta = {
            "format": STATE_FORMAT,
            "format_version": STATE_FORMAT_VERSION,
            "tool_version": __version__,
            "params": self.params(),
            "steps": self.steps,
            "squeeze": self._squeeze,
            "clock": self._clock,
        }
        state = np.zeros((self.N, 0)) if self._state is None else self._state
        buf = io.BytesIO()
        np.savez(buf, meta=np.array(json.dumps(meta)), state=state)
        path = Path(path)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent or ".")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(buf.getvalue())
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    @classmethod
    def load(cls, path: str | os.PathLike) -> HiPPO:
        """Rebuild an encoder saved by :meth:`save`; raises :class:`DataError` if unusable."""
        try:
            with np.load(path, allow_pickle=False) as z:
                meta = json.loads(str(z["meta"][()]))
                state = np.array(z["state"], dtype=np.float64)
        except FileNotFoundError:
            raise DataError(f"{path}: no such state file") from None
        except Exception as err:  # damaged or foreign file: one clean message
            raise DataError(f"{path}: not a hippo state file ({type(err).__name__})") from None
        if not isinstance(meta, dict) or meta.get("format") != STATE_FORMAT:
            raise DataError(f"{path}: not a hippo state file")
        if meta.get("format_version") != STATE_FORMAT_VERSION:
            raise DataError(f"{path}: unsupported state format {meta.get('format_version')!r}")
        params = meta.get("params")
        steps = meta.get("steps")
        if not isinstance(params, dict) or not isinstance(steps, int) or steps < 0:
            raise DataError(f"{path}: corrupt state metadata")
        try:
            enc = cls(**params)
        except (ParameterError, TypeError) as err:
            raise DataError(f"{path}: state settings are invalid ({err})") from None
        if state.ndim != 2 or state.shape[0] != enc.N or not np.all(np.isfinite(state)):
            raise DataError(f"{path}: state array does not match N = {enc.N}")
        if state.shape[1] > 0:
            enc._state = np.ascontiguousarray(state)
            enc._squeeze = bool(meta.get("squeeze", True)) and state.shape[1] == 1
        elif steps != 0:
            raise DataError(f"{path}: corrupt state (steps without a state)")
        clock = meta.get("clock")
        if clock is not None:
            if not isinstance(clock, dict) or not all(
                    isinstance(clock.get(k), (int, float, type(None))) for k in
                    ("t0", "t_last", "delta0")) or clock.get("t0") is None:
                raise DataError(f"{path}: corrupt clock in the state file")
            enc._clock = {k: clock.get(k) for k in ("t0", "t_last", "delta0")}
        enc.steps = steps
        return enc
