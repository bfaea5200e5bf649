"""The online HiPPO encoder: a stateful object fed chunk by chunk.

``HiPPO`` owns the state, the step counter and the clock; it delegates validation to
:mod:`.params`, the discretisation and kernel calls to :mod:`.stepper`, the emission rule to
:mod:`.emission` and the state file to :mod:`.state`. Any split of a stream into ``update``
calls gives the same coefficients as one call, and ``save``/``load`` (or
``snapshot``/``restore``) resume a stream exactly.
"""

from __future__ import annotations

import copy
import os

import numpy as np

from .. import measures
from ..checks import MAX_CHANNELS
from ..errors import DataError, ParameterError
from . import emission
from .params import EncoderParams, resolve
from .state import Snapshot, check_clock, load_state, save_state
from .stepper import Stepper


class HiPPO:
    """Online HiPPO encoder for one or several channels.

    Parameters
    ----------
    measure : ``"legs"`` (the whole history, scale-invariant), a window measure (``"legt"``,
        ``"lmu"``, ``"fout"``: the last theta samples) or a fading one (``"lagt"``,
        ``"tlagt"``, ``"glagt"``, ``"foud"``, ``"legsd"``); see :mod:`hippo_cli.measures`.
    N : number of coefficients (>= 1).
    theta : window measures (legt, lmu, fout; required): window length in samples; the step
        is dt = 1/theta.
    dt : fading measures (lagt, tlagt, glagt, foud, legsd; default 1.0): step size in the
        measure's time unit.
    method : ``"bilinear"`` (default), ``"zoh"``, ``"forward"`` (``"euler"``),
        ``"backward"`` (``"backward_diff"``).
    legs_time : legs only. ``"natural"`` (default): step k >= 1 uses tau = k + alpha
        (forward k, bilinear k + 1/2, backward k + 1; zoh exact in log-time).
        ``"start"``: tau = k for every method (the paper's eq. 11, hippo-code's C++).
    init : all but legs. ``"zero"`` (default: c_{-1} = 0, the published definition) or
        ``"steady"`` (c_{-1} = -A^-1 B f_0, as if the signal had always been at its first
        value).
    alpha, beta : glagt (alpha, beta) and tlagt (beta) parameters (published defaults).
    reset_every : block mode: restart the encoder before every global step k with
        ``k % reset_every == 0``, so each state describes its own block only (with legs: the
        Legendre projection of the block). ``every`` must then divide it.

    State layout: ``state`` is (N,) for a 1-D stream, (C, N) for C channels.

    Limits (refused with :class:`ParameterError` / :class:`DataError`, never overflowing
    later): N <= :func:`hippo_cli.measures.max_order` of the measure and method: 65536 for
    the O(N) kernels (legs, and lagt with a GBT method), 1024 for the dense measures (legt,
    lmu, fout, foud, legsd, tlagt, glagt, and lagt with zoh: N^3 to set up, N^2 per step),
    512 for legs with zoh and for dense measures with forward Euler (both N^3); at most
    4096 channels (``engine.params.MAX_CHANNELS``); theta in [1e-9, 1e15] and dt in
    [1e-15, 1e9]; parameters whose discretisation is not finite are refused. An ``update``
    whose coefficients would overflow (huge values, extreme time steps, an unstable
    method) raises :class:`DataError` naming the samples and leaves the encoder as it was
    before the chunk, so the state is always finite and resumable.
    """

    def __init__(
        self,
        measure: str,
        N: int,
        *,
        theta: float | None = None,
        dt: float | None = None,
        method: str = "bilinear",
        legs_time: str | None = None,
        init: str | None = None,
        reset_every: int | None = None,
        alpha: float | None = None,
        beta: float | None = None,
    ) -> None:
        p = resolve(measure, N, theta=theta, dt=dt, method=method, legs_time=legs_time,
                    init=init, reset_every=reset_every, alpha=alpha, beta=beta)
        self._setup(p, Stepper(p))

    def _setup(self, p: EncoderParams, stepper: Stepper) -> None:
        self._p = p
        self._stepper = stepper
        self.measure, self.N, self.method = p.measure, p.N, p.method
        self.theta, self.dt = p.theta, p.dt
        self.legs_time = p.legs_time or "natural"
        self.init = p.init or "zero"
        self.reset_every = p.reset_every
        self.measure_params = dict(p.measure_params)
        self.reset()

    # ----------------------------------------------------------------- state
    def reset(self) -> None:
        """Forget the stream: zero state, zero steps, channel count unknown again."""
        self._state: np.ndarray | None = None  # kernel layout (N, C)
        self._squeeze = True
        self.steps = 0
        self._clock: dict | None = None  # timed streams: t0, t_last, delta0

    def clone(self) -> HiPPO:
        """A fresh encoder with the same parameters (shares the read-only matrices: cheap)."""
        twin = copy.copy(self)
        twin.reset()
        return twin

    def snapshot(self) -> Snapshot:
        """A copy of everything that changes while the encoder runs."""
        return Snapshot(None if self._state is None else self._state.T.copy(), self.steps,
                        self._squeeze, None if self._clock is None else dict(self._clock))

    def restore(self, snap: Snapshot) -> None:
        """Continue from ``snap`` (as taken by :meth:`snapshot` of an encoder with the same
        parameters); its sizes are checked."""
        steps = snap.steps
        if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 0:
            raise DataError(f"snapshot step count must be an integer >= 0, got {steps!r}")
        if snap.state is None:
            if steps:
                raise DataError("snapshot has steps but no state")
            state = None
        else:
            state = np.asarray(snap.state, dtype=np.float64)
            if (state.ndim != 2 or state.shape[1] != self.N
                    or not 1 <= state.shape[0] <= MAX_CHANNELS):
                raise DataError(f"snapshot state must have shape (C, {self.N}) with 1 <= C <= "
                                f"{MAX_CHANNELS}, got {state.shape}")
            if not np.all(np.isfinite(state)):
                raise DataError("snapshot state is not finite")
            state = np.ascontiguousarray(state.T)
        self._state = state
        self._squeeze = bool(snap.squeeze) and (state is None or state.shape[1] == 1)
        self.steps = int(steps)
        self._clock = check_clock(snap.clock)

    @property
    def channels(self) -> int | None:
        """Number of channels, or None before the first update."""
        return None if self._state is None else self._state.shape[1]

    @property
    def squeezed(self) -> bool:
        """Whether the stream is 1-D (no channel axis)."""
        return self._squeeze

    @property
    def timed(self) -> bool:
        """Whether the stream has sample times."""
        return self._clock is not None

    @property
    def last_time(self) -> float | None:
        """Time of the last sample of a timed stream (else None)."""
        return None if self._clock is None else self._clock["t_last"]

    @property
    def state(self) -> np.ndarray:
        """Current coefficients: shape (N,) for a 1-D stream, (C, N) for C channels (a copy)."""
        if self._state is None:
            return np.zeros(self.N)
        st = self._state.T.copy()
        return st[0] if self._squeeze else st

    def params(self) -> dict:
        """The constructor arguments as a JSON-ready dict (``HiPPO(**params)`` rebuilds it)."""
        return self._p.as_dict()

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
        every = emission.check_every(every)
        if self.reset_every is not None and self.reset_every % every:
            raise ParameterError(f"every ({every}) must divide reset_every ({self.reset_every})")
        arr = np.asarray(x)
        if arr.dtype.kind not in "biuf":
            raise DataError(f"samples must be numbers, got dtype {arr.dtype}")
        if arr.ndim not in (1, 2):
            raise DataError(f"samples must have shape (L,) or (L, C), got {arr.shape}")
        squeeze = arr.ndim == 1
        C = 1 if squeeze else arr.shape[1]
        if C < 1:
            raise DataError("samples have zero channels")
        if C > MAX_CHANNELS:
            raise DataError(f"samples have {C} channels; an encoder holds at most "
                            f"{MAX_CHANNELS}")
        if self._state is not None and (C != self._state.shape[1]
                                        or (squeeze and not self._squeeze)):
            raise DataError(
                f"chunk has {C} channel(s) ({'1-D' if squeeze else '2-D'}) but the stream has "
                f"{self._state.shape[1]}"
            )
        x2 = np.ascontiguousarray(arr[:, None] if squeeze else arr, dtype=np.float64)
        L = x2.shape[0]
        R = emission.count_emitted(self.steps, L, every)
        out = np.empty((R, C, self.N))
        if not np.all(np.isfinite(x2)):
            bad = int(np.argmin(np.isfinite(x2).all(axis=1)))
            raise DataError(f"sample {self.steps + bad} is not finite (NaN or inf)")
        # a chunk that fails (or overflows) leaves everything as it was before it
        before = (None if self._state is None else self._state.copy(), self._squeeze,
                  self.steps, self._clock)
        try:
            if self._state is None:  # the first chunk fixes the channel layout
                self._state = np.zeros((self.N, C))
                self._squeeze = squeeze
            if L == 0:
                return out[:, 0, :] if self._squeeze else out
            t = None if times is None and self._clock is None else self._check_times(times, L)
            self._run(x2, t, every, out)
            if not (np.all(np.isfinite(out)) and np.all(np.isfinite(self._state))):
                raise self._overflow(out, before[2], L, every, x2, t)
        except BaseException:
            self._state, self._squeeze, self.steps, self._clock = before
            raise
        return out[:, 0, :] if self._squeeze else out

    def _run(self, x2: np.ndarray, t: np.ndarray | None, every: int, out: np.ndarray) -> None:
        """Advance the state through the checked chunk ``x2`` (times ``t`` or None)."""
        L = x2.shape[0]
        written = 0
        if t is not None:
            for lo, hi in self._blocks(L):
                local = self.block_step(self.steps)
                if self._clock is None or (local == 0 and self.steps > 0):
                    # a block (block mode) restarts the clock at its first sample, which
                    # stands for the interval since the previous sample, as everywhere
                    before = None if self._clock is None else self._clock["t_last"]
                    self._clock = {"t0": float(t[lo]), "t_last": None,
                                   "delta0": None if before is None else float(t[lo]) - before}
                clock = dict(self._clock)
                self._stepper.run_timed(x2[lo:hi], t[lo:hi], self._state, local, every, clock,
                                        out[written:])
                written += emission.count_emitted(local, hi - lo, every)
                self._clock = clock
                self.steps += hi - lo
            return
        for lo, hi in self._blocks(L):
            local = self.block_step(self.steps)
            if local == 0:  # a stream (or a block) starts: c_{-1} = 0 or the steady state
                self._stepper.start(self._state, x2[lo])
            written += self._stepper.run(x2[lo:hi], self._state, local, every, out[written:])
            self.steps += hi - lo
        assert written == len(out)

    def _overflow(self, out: np.ndarray, step0: int, L: int, every: int, x2: np.ndarray,
                  t: np.ndarray | None) -> DataError:
        """The error of a chunk (samples step0 .. step0 + L - 1) whose coefficients are not
        finite, naming the samples between the last finite emitted row and the first bad
        one."""
        steps = emission.emitted_steps(step0, L, every)
        ok = np.isfinite(out).reshape(len(out), -1).all(axis=1)
        bad = int(np.argmin(ok)) if not ok.all() else len(ok)
        first = step0 if bad == 0 else int(steps[bad - 1]) + 1
        last = int(steps[bad]) if bad < len(ok) else step0 + L - 1
        seg = slice(first - step0, last - step0 + 1)
        big = float(np.max(np.abs(x2[seg])))
        what = f"values up to {big:.3g}"
        if t is not None:
            lo = max(first - step0, 1)
            gaps = np.diff(t[lo - 1:last - step0 + 1])
            if gaps.size:
                what += f", time steps up to {float(np.max(gaps)):.3g}"
        where = f"sample {first}" if first == last else f"samples {first}..{last}"
        if self._stepper.unstable:
            return DataError(f"coefficients overflowed at {where}: the {self.method} "
                             "discretisation is unstable here (use method='bilinear')")
        return DataError(f"coefficients overflowed at {where} ({what} are too large for "
                         f"N = {self.N}; scale the data)")

    def _check_times(self, times: np.ndarray | None, L: int) -> np.ndarray:
        if times is None:
            raise ParameterError("this stream has sample times: pass times= on every update")
        if self.steps and self._clock is None:
            raise ParameterError("this stream started without times; it cannot take them now")
        t = np.asarray(times, dtype=np.float64).reshape(-1)
        if t.shape[0] != L:
            raise DataError(f"{t.shape[0]} times for {L} samples")
        if not np.all(np.isfinite(t)):
            raise DataError("sample times must be finite")
        prev = self._clock["t_last"] if self._clock else -np.inf
        steps = np.diff(np.r_[prev, t])
        if np.any(steps <= 0):
            i = int(np.argmax(steps <= 0))
            before = prev if i == 0 else t[i - 1]
            raise DataError(f"sample times must be strictly increasing: sample "
                            f"{self.steps + i} has time {float(t[i])!r} after "
                            f"{float(before)!r}")
        t0 = self._clock["t0"] if self._clock else float(t[0])
        with np.errstate(over="ignore"):
            too_wide = not np.isfinite(2.0 * (t[-1] - t0))
        if too_wide:
            raise DataError(f"sample times span {t0!r} .. {float(t[-1])!r}: too wide to subtract "
                            "(their differences overflow); shift or rescale the times")
        if self.steps == 0 and L == 1 and self.measure != "legs" and self.init == "zero":
            raise DataError("the first chunk of a timed legt/lagt stream needs two samples "
                            "(the first interval sets the first step; or use init='steady')")
        return t

    def _blocks(self, L: int) -> list[tuple[int, int]]:
        """Split the next L samples where a block starts (block mode), else one piece."""
        if self.reset_every is None:
            return [(0, L)]
        K = self.reset_every
        cuts = list(range(-self.steps % K, L, K))
        bounds = [0, *[c for c in cuts if c > 0], L]
        return list(zip(bounds[:-1], bounds[1:]))

    def block_step(self, step):
        """Step within its block (block mode), else the step itself."""
        return step if self.reset_every is None else step % self.reset_every

    def first_covered(self, step):
        """First sample index the state after global ``step`` describes (may be < 0 for
        window measures at the start); never before the block start in block mode."""
        local = self.block_step(step)
        start = np.asarray(step) - local
        first = start + measures.first_covered(self.measure, local, theta=self.theta, dt=self.dt)
        return first if np.ndim(first) else int(first)

    check_every = staticmethod(emission.check_every)
    count_emitted = staticmethod(emission.count_emitted)
    emitted_steps = staticmethod(emission.emitted_steps)

    # ------------------------------------------------------------ reconstruct
    def default_samples(self, step: int) -> np.ndarray:
        """Sample indices the state after ``step`` covers (in block mode only the block's
        own samples)."""
        return np.arange(max(self.first_covered(int(step)), 0), int(step) + 1, dtype=np.int64)

    def reconstruct(
        self, coeffs: np.ndarray, step: int, samples: np.ndarray | None = None
    ) -> np.ndarray:
        """Evaluate the function held by ``coeffs`` (the state after global ``step``).

        Parameters
        ----------
        coeffs : (N,) or (C, N).
        step : global step index (>= 0) after which ``coeffs`` was taken.
        samples : sample indices to evaluate at (default :meth:`default_samples`); samples
            after ``step`` are outside the history and refused.

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
        samples = np.asarray(samples)
        if samples.size and (samples.max() > step or samples.min() < 0):
            raise ParameterError(f"samples must lie in the history 0..{step} of the state "
                                 f"after step {step}")
        local = self.block_step(step)
        return self.reconstruct_local(c, local, samples - (step - local))

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
        M = measures.eval_basis_at_times(
            self.measure, self.N, state_time, np.asarray(times, float), prev_time,
            origin=(self._clock["t0"], self._clock["delta0"]), theta=self.theta, dt=self.dt,
            **self.measure_params)
        return M @ c if c.ndim == 1 else M @ c.T

    def reconstruct_local(self, c: np.ndarray, step: int, samples: np.ndarray) -> np.ndarray:
        """As :meth:`reconstruct`, with ``step`` and ``samples`` counted from the start of the
        history the state holds (the stream, or its block). c: (N,) or (C, N)."""
        M = measures.eval_basis(self.measure, self.N, step, samples, theta=self.theta,
                                dt=self.dt, **self.measure_params)
        return M @ c if c.ndim == 1 else M @ c.T

    # ------------------------------------------------------------- save/load
    def save(self, path: str | os.PathLike) -> None:
        """Write parameters, step count and state to an ``.npz`` (atomic replace; format in
        :mod:`hippo_cli.engine.state`). :meth:`load` never unpickles."""
        save_state(path, self.params(), self.snapshot())

    @classmethod
    def load(cls, path: str | os.PathLike) -> HiPPO:
        """Rebuild an encoder saved by :meth:`save`; raises :class:`DataError` if unusable."""
        params, snap = load_state(path)
        try:
            enc = cls(**params)
        except (ParameterError, TypeError) as err:
            raise DataError(f"{path}: state settings are invalid ({err})") from None
        try:
            enc.restore(snap)
        except DataError as err:
            raise DataError(f"{path}: {err}") from None
        return enc
