"""Random rate networks that produce recordings with known ground truth.

:class:`RateNetwork` draws a coupling matrix ``J`` (science.md §1), integrates

- continuous time: ``dh/dt = -h + J phi(h) + sigma xi(t)`` (time in units of the neurons'
  time constant tau; exponential Euler scheme by default, Euler-Maruyama on request), or
- discrete time: ``h[t+1] = J phi(h[t]) + sigma xi[t]``,

for many trials at once, and returns a :class:`~neurospec.recording.Recording` of
bin-averaged rates ``phi(h)`` (or currents ``h``, or Poisson spike counts), with the ground
truth (``g``, ``kappa``, ``phi``, ``sigma``, the measured effective gain
``g <phi'(h)>``...) in ``meta["ground_truth"]``.

Implementation: the trials are integrated together, the state being one
``(n_neurons, n_trials)`` array, so each step is a single matrix-matrix product
``J @ phi(H)``; the step loop runs in numba (:mod:`neurospec._kernels`); bins are
accumulated on the fly (memory ``O(n_neurons * n_bins * n_trials)``, never the fine
trajectory); the noise is drawn inside the loop by a counter-based generator
(:func:`neurospec._kernels.fill_normals`), bit-identical with and without numba's JIT.

Example
-------
>>> from neurospec.simulate import RateNetwork
>>> net = RateNetwork(200, g=0.8, phi="tanh", sigma=1.0, seed=0)
>>> rec = net.run(duration=2000, n_trials=4, bin_size=10.0, progress=False)
>>> rec.shape              # trials stacked along time: 4 x 200 bins, 200 neurons
(800, 200)
>>> rec.meta["ground_truth"]["measured_g_eff"]  # mean-field theory: 0.5558
0.55...
"""

from __future__ import annotations

import math
import numbers
import warnings

import numpy as np

from . import _kernels
from ._progress import progress_bar
from .errors import BinSizeError, ConvergenceError, ParameterError
from .nonlinearities import get_nonlinearity
from .recording import Recording

__all__ = ["RateNetwork", "draw_couplings", "trial_index"]

#: neuron-steps between progress-bar updates (and divergence checks)
_CHUNK_ELEMENTS = 1 << 20
#: continuous-time steps above this dt are refused (first-order schemes inaccurate)
_DT_MAX = 0.5
#: above this dt a warning recommends a smaller step
_DT_WARN = 0.2
#: lowest value of each named nonlinearity (used to turn rates into Poisson intensities)
_PHI_FLOOR = {"tanh": -1.0, "erf": -1.0, "relu": 0.0, "identity": 0.0}


def draw_couplings(n_neurons, g, kappa=0.0, rng=None):
    """Draw a random coupling matrix with gain ``g`` and reciprocal correlation ``kappa``.

    ``J = g [sqrt(1 - |kappa|) X / sqrt(N) + sqrt(|kappa|) A]`` with ``X`` iid standard normal
    and ``A = (Y + sign(kappa) Y^T) / sqrt(2N)`` (science.md §1), so that off-diagonal
    entries have variance ``g^2 / N`` and ``corr(J_ij, J_ji) = kappa``. The diagonal is kept
    as drawn (self-couplings of order ``g / sqrt(N)``; variance ``g^2 (1 + kappa) / N``),
    which does not change the large-N spectra.

    Parameters
    ----------
    n_neurons : int
        N, at least 2.
    g : float
        Gain, > 0.
    kappa : float
        Reciprocal correlation in [-1, 1].
    rng : numpy.random.Generator, int or None
        Random source.

    Returns
    -------
    ndarray, shape (N, N), float64
    """
    n = _check_n(n_neurons)
    g = _check_positive(g, "g")
    kappa = _check_kappa(kappa)
    rng = np.random.default_rng(rng)
    X = rng.standard_normal((n, n))
    if kappa == 0.0:
        return X * (g / math.sqrt(n))
    Y = rng.standard_normal((n, n))
    A = (Y + math.copysign(1.0, kappa) * Y.T) / math.sqrt(2.0 * n)
    return g * (math.sqrt(1.0 - abs(kappa)) / math.sqrt(n) * X + math.sqrt(abs(kappa)) * A)


def trial_index(recording):
    """Trial of each row of a simulated recording.

    Parameters
    ----------
    recording : Recording
        Output of :meth:`RateNetwork.run` (uses ``meta["n_trials"]`` and
        ``meta["bins_per_trial"]``).

    Returns
    -------
    ndarray of int, shape (n_samples,)
    """
    meta = recording.meta
    if "n_trials" not in meta or "bins_per_trial" not in meta:
        raise ParameterError(
            "trial_index: this recording has no n_trials/bins_per_trial in its meta; it was not "
            "made by RateNetwork.run (or the keys were removed)."
        )
    idx = np.repeat(np.arange(int(meta["n_trials"])), int(meta["bins_per_trial"]))
    if idx.size != recording.n_samples:
        raise ParameterError(
            f"trial_index: meta says {meta['n_trials']} trials x {meta['bins_per_trial']} bins but "
            f"the recording has {recording.n_samples} samples (it was sliced or rebinned)."
        )
    return idx


class RateNetwork:
    """A random recurrent rate network with a fast, reproducible integrator.

    Parameters
    ----------
    n_neurons : int, optional
        Number of neurons N (>= 2). Required unless ``couplings`` is given.
    g : float, optional
        Coupling gain: ``J_ij ~ N(0, g^2/N)``. Required unless ``couplings`` is given; with
        ``couplings`` it defaults to ``std(J) * sqrt(N)`` and is only reported.
    kappa : float, optional
        Reciprocal correlation ``corr(J_ij, J_ji)`` in [-1, 1] (default 0, iid couplings).
        With ``couplings`` it defaults to the measured off-diagonal correlation.
    phi : str, tuple or Nonlinearity
        Nonlinearity (see :func:`neurospec.nonlinearities.get_nonlinearity`): ``"tanh"``,
        ``"erf"`` (``erf(sqrt(pi) h / 2)``), ``"relu"``, ``"identity"``/``"linear"``, or a
        user ``(func, deriv)`` pair. The named ones run in the compiled kernel; a user
        nonlinearity runs in a NumPy loop (same scheme, still one matrix-matrix product
        per step for all trials, a few times slower for small networks).
    sigma : float
        Noise amplitude (>= 0): white noise of intensity ``sigma^2`` in continuous time
        (increments ``sigma sqrt(dt) N(0, 1)``), or ``sigma N(0, 1)`` per step in discrete time.
    dt : float, optional
        Integration step in units of tau. Default 0.1 (continuous) or 1 (discrete, where dt
        is only the length of one step of the map). Continuous time needs ``dt <= 0.5``;
        above 0.2 a warning is issued.
    dynamics : {"continuous", "discrete"}
    couplings : array_like, shape (N, N), optional
        Your own coupling matrix (square, finite); used as given (copied to float64).
    seed : int, numpy.random.SeedSequence, numpy.random.Generator or None
        Randomness of the couplings and of every :meth:`run`. The same seed gives the same
        couplings and the same sequence of runs (the k-th call of :meth:`run` uses the k-th
        child stream), with or without numba's JIT.
    method : {"exponential", "euler"}, keyword-only
        Continuous-time scheme (see :meth:`update_coefficients`): exponential Euler
        (default; exact for the leak and the noise, so equal-time statistics such as the
        measured ``g <phi'>`` are accurate to O(dt^2)) or Euler-Maruyama (equal-time variance
        too large by ~dt/2). Both are first order in the recurrent input.

    Attributes
    ----------
    couplings : ndarray, shape (N, N)
        ``J`` (read-only view; row i holds the inputs of neuron i).
    n_neurons, g, kappa, sigma, dt, dynamics, method
        As above (resolved values).
    phi : Nonlinearity
    seed : int
        Entropy of the root seed sequence: ``RateNetwork(..., seed=net.seed)`` reproduces
        the network (also when ``seed=None`` was given).

    Raises
    ------
    ParameterError
        Invalid parameter (message names it and the valid range), or a linear network
        (``phi="identity"``) whose couplings make it unstable.

    Examples
    --------
    A noise-driven tanh network with its ground truth, then the fit of its activity:

    >>> import neurospec as ns
    >>> net = ns.RateNetwork(200, g=0.8, sigma=1.0, seed=1)
    >>> rec = net.run(2000, bin_size=1.0, progress=False)   # 2000 time constants, time x neurons
    >>> rec.shape, rec.meta["kind"]
    ((2000, 200), 'rates')
    >>> round(rec.meta["ground_truth"]["measured_g_eff"], 2)   # g <phi'(h)> in this run
    0.56
    >>> rec.to_nwb("sim.nwb")                                  # doctest: +SKIP
    """

    def __init__(self, n_neurons=None, g=None, kappa=None, phi="tanh", sigma=1.0, dt=None,
                 dynamics="continuous", couplings=None, seed=None, *, method="exponential"):
        if method not in ("exponential", "euler"):
            raise ParameterError(
                f"method={method!r} is not known; use 'exponential' (exponential Euler, exact for "
                "the leak and the noise) or 'euler' (Euler-Maruyama)."
            )
        self.method = method
        if dynamics not in ("continuous", "discrete"):
            raise ParameterError(
                f"dynamics={dynamics!r} is not known; use 'continuous' (dh/dt = -h + J phi(h) + "
                "sigma xi) or 'discrete' (h[t+1] = J phi(h[t]) + sigma xi[t])."
            )
        self.dynamics = dynamics
        self.phi = get_nonlinearity(phi)
        self.sigma = _check_nonnegative(sigma, "sigma")
        self.dt = self._check_dt(dt)

        if isinstance(seed, np.random.Generator):
            seed = int(seed.integers(2**63))
        root = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
        self.seed = root.entropy
        couplings_ss, self._run_ss = root.spawn(2)
        self._n_runs = 0

        if couplings is None:
            if n_neurons is None or g is None:
                raise ParameterError(
                    "RateNetwork needs n_neurons and g (or your own couplings=J)."
                )
            self.n_neurons = _check_n(n_neurons)
            self.g = _check_positive(g, "g")
            self.kappa = _check_kappa(0.0 if kappa is None else kappa)
            J = draw_couplings(self.n_neurons, self.g, self.kappa,
                               np.random.default_rng(couplings_ss))
            self._couplings_source = "reciprocal" if self.kappa else "iid"
        else:
            J = self._check_couplings(couplings, n_neurons)
            self.n_neurons = J.shape[0]
            self.g = (float(J.std() * math.sqrt(self.n_neurons)) if g is None
                      else _check_positive(g, "g"))
            self.kappa = _measured_kappa(J) if kappa is None else _check_kappa(kappa)
            self._couplings_source = "user"
        self._J = np.ascontiguousarray(J, dtype=np.float64)
        self._J_view = self._J.view()
        self._J_view.flags.writeable = False

        self._code = self._kernel_code(self.phi)
        self._linear_rate = None
        if self.phi.name == "identity" and self._code is not None:
            self._check_linear_stability()

    # ------------------------------------------------------------------ properties
    @property
    def couplings(self):
        """The coupling matrix ``J``, shape (N, N), float64, read-only."""
        return self._J_view

    def __repr__(self):
        return (f"RateNetwork(n_neurons={self.n_neurons}, g={self.g:g}, kappa={self.kappa:g}, "
                f"phi={self.phi.name!r}, sigma={self.sigma:g}, dt={self.dt:g}, "
                f"dynamics={self.dynamics!r}, method={self.method!r}, seed={self.seed})")

    # ------------------------------------------------------------------ simulation
    def run(self, duration, n_trials=1, bin_size=1.0, burn_in=None, record="rates",
            spikes=False, rate_scale=10.0, baseline=1.0, tau=1.0, progress=True, initial=None):
        """Simulate and return bin-averaged activity as a :class:`Recording`.

        All times (``duration``, ``bin_size``, ``burn_in``) are in units of the neurons'
        time constant tau (steps of the map in discrete time, with dt = 1); ``tau`` only
        converts them to seconds in the returned recording.

        Parameters
        ----------
        duration : float
            Recorded length of each trial (after burn-in). Only whole bins are kept.
        n_trials : int
            Independent trials (independent initial states and noise, same couplings),
            integrated together and stacked along time in the output.
        bin_size : float
            Bin width; a whole multiple of ``dt``. Each output sample is the average over
            the ``bin_size / dt`` steps of its bin.
        burn_in : float, optional
            Time simulated and discarded before recording. Default: 200 for nonlinear
            networks; ``max(20, 10 / (1 - r))`` for linear ones, ``r`` the spectral abscissa
            (continuous) or radius (discrete) of ``J``, i.e. ten of its slowest time constants.
        record : {"rates", "currents"}
            Bin ``phi(h)`` (meta kind ``"rates"``) or ``h`` (kind ``"traces"``).
        spikes : bool
            Emit Poisson spikes with intensity (Hz)
            ``lambda(t) = max(baseline + rate_scale * (phi(h) - phi_min), 0)``, with
            ``phi_min = -1`` for tanh and erf (so ``lambda`` is in ``[baseline,
            baseline + 2 rate_scale]``) and 0 otherwise (relu, identity, user: rectified).
            The activity is then the spike counts per bin (kind ``"counts"``), and the spike
            times are in ``Recording.spike_times`` (so ``Recording.to_nwb`` writes a Units
            table). Counts are exact for the inhomogeneous Poisson process with the
            discretised intensity: ``count ~ Poisson(integral of lambda over the bin)``;
            given its count, spike times are uniform within the bin (the intensity's
            variation inside one bin is not resolved). Trials follow each other in time.
        rate_scale, baseline : float
            Intensity parameters in Hz (spikes only).
        tau : float
            Neuron time constant in seconds: the recording's ``bin_size`` is
            ``bin_size * tau`` seconds and spike rates are per second.
        progress : bool
            Show a tqdm progress bar (in steps).
        initial : array_like, shape (N,) or (n_trials, N), optional
            Initial currents ``h``; default iid N(0, 1) per neuron and trial.

        Returns
        -------
        Recording
            ``activity`` of shape ``(n_trials * n_bins, N)`` (time x neurons, trials stacked
            along time, trial-major). ``meta`` holds ``source`` (``"neurospec.simulate"``),
            ``kind``, ``n_trials``, ``bins_per_trial`` (see :func:`trial_index`), ``record``,
            ``tau``, ``spikes`` (intensity parameters and spike count, or None) and
            ``ground_truth``: ``g, kappa, phi, sigma, dt, dynamics, method`` (``"exponential"``,
            ``"euler"`` or ``"map"``), ``n_neurons, couplings``
            (``"iid"``, ``"reciprocal"`` or ``"user"``), ``seed`` and ``run_index`` (this is the
            run_index-th run of ``RateNetwork(..., seed=seed)``), ``burn_in``, ``duration``,
            ``bin_size`` (model units) and the measured statistics over the recorded period,
            sampled every ``stat_every`` steps (about every tau/2, at least once per bin) for
            all neurons and trials:
            ``measured_gamma`` = mean ``phi'(h)``, ``measured_g_eff`` = ``g * measured_gamma``,
            ``measured_h_mean`` and ``measured_h_var`` (mean and variance of ``h`` over neurons,
            trials and time), ``n_stat_samples``.

        Raises
        ------
        ParameterError, BinSizeError
            Invalid argument.
        ConvergenceError
            The activity diverged (an unstable network, e.g. relu with a large g).
        """
        dt = self.dt
        N = self.n_neurons
        K = _check_int(n_trials, "n_trials", 1)
        duration = _check_positive(duration, "duration")
        bin_size = _check_positive(bin_size, "bin_size", BinSizeError)
        steps_per_bin = int(round(bin_size / dt))
        if steps_per_bin < 1 or abs(steps_per_bin * dt - bin_size) > 1e-6 * bin_size:
            raise BinSizeError(
                f"bin_size={bin_size:g} must be a whole multiple of dt={dt:g} (both in units of "
                f"tau); e.g. bin_size={max(steps_per_bin, 1) * dt:g}."
            )
        n_bins = int(math.floor(duration / bin_size + 1e-9))
        if n_bins < 1:
            raise BinSizeError(
                f"bin_size={bin_size:g} is longer than duration={duration:g}; choose a smaller "
                "bin_size or a longer duration."
            )
        burn_in = (self._default_burn_in() if burn_in is None
                   else _check_nonnegative(burn_in, "burn_in"))
        n_burn = int(round(burn_in / dt))
        if record not in ("rates", "currents"):
            raise ParameterError(f"record={record!r}: use 'rates' (phi(h)) or 'currents' (h).")
        tau = _check_positive(tau, "tau")
        if spikes:
            if record != "rates":
                raise ParameterError(
                    "spikes=True records spike counts from the rates; leave record='rates'."
                )
            rate_scale = _check_positive(rate_scale, "rate_scale")
            baseline = _check_nonnegative(baseline, "baseline")
            mode = _kernels.RECORD_CODES["intensity"]
            out_factor = dt * tau  # Hz x seconds per step -> expected count
        else:
            rate_scale, baseline = 0.0, 0.0
            mode = _kernels.RECORD_CODES[record]
            out_factor = 1.0 / steps_per_bin
        lo = _PHI_FLOOR.get(self.phi.name if self._code is not None else "", 0.0)

        run_ss = self._run_ss.spawn(1)[0]
        run_index = self._n_runs
        self._n_runs += 1
        noise_ss, init_ss, spike_ss = run_ss.spawn(3)
        noise_key = np.uint64(noise_ss.generate_state(1, np.uint64)[0])
        spike_rng = np.random.default_rng(spike_ss)

        H = self._initial_state(initial, K, np.random.default_rng(init_ss))
        P = np.ascontiguousarray(self.phi.func(H), dtype=np.float64)
        JP = np.empty_like(H)
        Z = np.zeros(N * K)
        out = np.empty((K, n_bins, N))
        acc = np.zeros((N, K))
        dacc, hacc, h2acc = np.zeros((N, K)), np.zeros((N, K)), np.zeros((N, K))

        if self.dynamics == "continuous":
            a, b, ns = self.update_coefficients()
            stat_every = max(1, min(int(round(0.5 / dt)), steps_per_bin))
        else:
            a, b, ns = self.update_coefficients()
            stat_every = 1

        n_steps = n_bins * steps_per_bin
        chunk = max(1, _CHUNK_ELEMENTS // (N * K))   # steps between progress updates
        counter = np.uint64(0)

        if self._code is not None and _kernels.JIT_ENABLED:
            def step(n, spb, fac, o, pos, b_i, se, cnt, ctr):
                return _kernels.integrate(
                    self._J, H, P, JP, noise_key, np.uint64(ctr), n, Z, self._code, a, b, ns, mode,
                    baseline, rate_scale, lo, spb, fac, o, acc, pos, b_i, se, cnt,
                    dacc, hacc, h2acc)
        else:
            func, deriv = self.phi.func, self.phi.deriv

            def step(n, spb, fac, o, pos, b_i, se, cnt, ctr):
                return _kernels.integrate_numpy(
                    self._J, H, P, JP, noise_key, np.uint64(ctr), n, Z, func, deriv, a, b, ns, mode,
                    baseline, rate_scale, lo, spb, fac, o, acc, pos, b_i, se, cnt,
                    dacc, hacc, h2acc)

        bar = _progress(n_burn + n_steps, progress)
        try:
            # burn-in: a bin that never completes, no statistics
            scratch = np.empty((K, 1, N))
            done = 0
            while done < n_burn:
                n = min(chunk, n_burn - done)
                counter = step(n, n_burn + 1, 1.0, scratch, done, 0, 0, 0, counter)[4]
                done += n
                self._check_finite(H, done * dt, burn=True)
                bar.update(n)
            acc[...] = 0.0

            pos = bin_i = count = n_stat = 0
            spike_units, spike_times = [], []
            bin_seconds = bin_size * tau
            done = 0
            while done < n_steps:
                n = min(chunk, n_steps - done)
                first_bin = bin_i
                pos, bin_i, count, k, counter = step(n, steps_per_bin, out_factor, out, pos,
                                                     bin_i, stat_every, count, counter)
                n_stat += k
                done += n
                self._check_finite(H, done * dt, burn=False)
                if spikes and bin_i > first_bin:
                    self._draw_spikes(out, first_bin, bin_i, n_bins, bin_seconds, spike_rng,
                                      spike_units, spike_times)
                bar.update(n)
        finally:
            bar.close()

        n_samples_stat = n_stat * N * K
        gamma = float(dacc.sum() / n_samples_stat)
        h_mean = float(hacc.sum() / n_samples_stat)
        h_var = float(h2acc.sum() / n_samples_stat - h_mean**2)
        truth = {
            "g": self.g,
            "kappa": self.kappa,
            "phi": self.phi.name,
            "sigma": self.sigma,
            "dt": dt,
            "dynamics": self.dynamics,
            "method": self.method if self.dynamics == "continuous" else "map",
            "n_neurons": N,
            "couplings": self._couplings_source,
            "seed": self.seed,
            "run_index": run_index,
            "burn_in": n_burn * dt,
            "duration": n_steps * dt,
            "bin_size": bin_size,
            "measured_gamma": gamma,
            "measured_g_eff": self.g * gamma,
            "measured_h_mean": h_mean,
            "measured_h_var": h_var,
            "n_stat_samples": int(n_stat),
            "stat_every": int(stat_every),
        }
        kind = "counts" if spikes else ("rates" if record == "rates" else "traces")
        spike_info = None
        spike_list = None
        if spikes:
            spike_list = _assemble_spikes(spike_units, spike_times, N)
            spike_info = {
                "rate_function": "lambda = max(baseline + rate_scale * (phi(h) - phi_min), 0) Hz",
                "phi_min": lo,
                "rate_scale": rate_scale,
                "baseline": baseline,
                "n_spikes": int(sum(st.size for st in spike_list)),
                "spike_time_model": "Poisson count per bin from the integrated intensity; "
                                    "times uniform within the bin",
            }
        meta = {
            "source": "neurospec.simulate",
            "kind": kind,
            "description": (f"simulated {self.dynamics}-time {self.phi.name} rate network, "
                            f"N={N}, g={self.g:g}, kappa={self.kappa:g}, sigma={self.sigma:g}"),
            "record": "spikes" if spikes else record,
            "n_trials": K,
            "bins_per_trial": n_bins,
            "tau": tau,
            "time_unit": "seconds (model time x tau)",
            "spikes": spike_info,
            "ground_truth": truth,
            "preprocessing": [],
        }
        return Recording(out.reshape(K * n_bins, N), bin_size * tau, t_start=0.0, meta=meta,
                         spike_times=spike_list)

    def update_coefficients(self):
        """Coefficients of the one-step update ``h <- a h + b J phi(h) + ns z``, z ~ N(0, 1).

        - continuous, ``method="exponential"`` (default): ``a = exp(-dt)``, ``b = 1 - a``,
          ``ns = sigma sqrt((1 - a^2) / 2)``: the exact solution over one step of the leak
          and the noise with the recurrent input held fixed. Equal-time statistics (the
          variance of h, hence the measured ``g <phi'(h)>``) are then accurate to O(dt^2)
          in random networks (0.05 % for a linear network with g = 0.55 at dt = 0.1), and
          the zero-frequency covariance of a linear network is ``(dt/2)/tanh(dt/2)`` =
          1 + dt^2/12 times the continuous-time one (+0.08 % at dt = 0.1).
        - continuous, ``method="euler"`` (Euler-Maruyama): ``a = 1 - dt``, ``b = dt``,
          ``ns = sigma sqrt(dt)``. Exact zero-frequency covariance for a linear network, but
          the equal-time variance is too large by about dt/2 (5 % at dt = 0.1).
        - discrete: ``a = 0``, ``b = 1``, ``ns = sigma``.

        Returns
        -------
        a, b, ns : float
        """
        dt = self.dt
        if self.dynamics == "discrete":
            return 0.0, 1.0, self.sigma
        if self.method == "euler":
            return 1.0 - dt, dt, self.sigma * math.sqrt(dt)
        a = math.exp(-dt)
        return a, -math.expm1(-dt), self.sigma * math.sqrt(-math.expm1(-2.0 * dt) / 2.0)

    # ------------------------------------------------------------------ helpers
    def _check_dt(self, dt):
        if dt is None:
            return 0.1 if self.dynamics == "continuous" else 1.0
        dt = _check_positive(dt, "dt")
        if self.dynamics == "continuous":
            if dt > _DT_MAX:
                raise ParameterError(
                    f"dt={dt:g} is too large for a first-order scheme (dt <= {_DT_MAX:g} in "
                    "units of tau; 0.1 or less is accurate)."
                )
            if dt > _DT_WARN:
                warnings.warn(
                    f"dt={dt:g} (units of tau) is coarse for a first-order scheme; use dt <= 0.1 for "
                    "accurate statistics.", RuntimeWarning, stacklevel=3)
        return dt

    @staticmethod
    def _check_couplings(couplings, n_neurons):
        try:
            J = np.array(couplings, dtype=np.float64)
        except (TypeError, ValueError):
            raise ParameterError("couplings must be a real square (N, N) array.") from None
        if J.ndim != 2 or J.shape[0] != J.shape[1]:
            raise ParameterError(f"couplings must be a square (N, N) array, got shape {J.shape}.")
        if J.shape[0] < 2:
            raise ParameterError("couplings: a network needs at least 2 neurons.")
        if not np.all(np.isfinite(J)):
            raise ParameterError("couplings contain NaN or inf; pass finite values.")
        if n_neurons is not None and _check_n(n_neurons) != J.shape[0]:
            raise ParameterError(
                f"n_neurons={n_neurons} does not match couplings of shape {J.shape}; "
                "leave n_neurons out when passing couplings."
            )
        return J

    @staticmethod
    def _kernel_code(nl):
        """Kernel code of a named nonlinearity, None for a user one (NumPy loop)."""
        try:
            named = get_nonlinearity(nl.name)
        except ParameterError:
            return None
        return _kernels.PHI_CODES.get(named.name) if named is nl else None

    def _check_linear_stability(self):
        if self._couplings_source != "user" and self.n_neurons > 1000:
            # Large drawn networks: the eigenvalues fill the ellipse of semi-axes g(1 +- kappa)
            # up to edge fluctuations of a few percent at N > 1000; with a 5 % margin the
            # theory decides and the O(N^3) eigendecomposition is skipped.
            k = self.kappa if self.dynamics == "continuous" else abs(self.kappa)
            r = self.g * (1.0 + k)
            if r < 0.95:
                self._linear_rate = r
                return
        eig = np.linalg.eigvals(self._J)
        if self.dynamics == "continuous":
            r = float(eig.real.max())
            what = "largest real part of the eigenvalues of J"
        else:
            r = float(np.abs(eig).max())
            what = "spectral radius of J"
        if r >= 1.0:
            raise ParameterError(
                f"this linear network (phi='identity', {self.dynamics} time) is unstable: the "
                f"{what} is {r:.4f} >= 1, so activity grows without bound. Lower g (stability "
                "needs g (1 + kappa) < 1 for large N, with margin for small N) or use a "
                "saturating phi."
            )
        self._linear_rate = r

    def _default_burn_in(self):
        if self._linear_rate is not None:
            return float(max(20.0, 10.0 / (1.0 - self._linear_rate)))
        return 200.0

    def _initial_state(self, initial, K, rng):
        N = self.n_neurons
        if initial is None:
            return rng.standard_normal((N, K))
        h0 = np.asarray(initial, dtype=np.float64)
        if h0.shape == (N,):
            h0 = np.repeat(h0[:, None], K, axis=1)
        elif h0.shape == (K, N):
            h0 = h0.T
        else:
            raise ParameterError(
                f"initial must have shape ({N},) or (n_trials, n_neurons) = ({K}, {N}), "
                f"got {h0.shape}."
            )
        if not np.all(np.isfinite(h0)):
            raise ParameterError("initial contains NaN or inf.")
        return np.ascontiguousarray(h0)

    def _check_finite(self, H, t, burn):
        if not np.all(np.isfinite(H)):
            raise ConvergenceError(
                f"the activity diverged (non-finite h) by t = {t:g} tau"
                f"{' of burn-in' if burn else ''}: the network "
                f"(phi={self.phi.name!r}, g={self.g:g}) is unstable. Lower g, or use a saturating "
                "nonlinearity such as 'tanh'."
            )

    @staticmethod
    def _draw_spikes(out, b0, b1, n_bins, bin_seconds, rng, units, times):
        """Replace the integrated intensities of bins [b0, b1) by Poisson counts; draw times."""
        lam = out[:, b0:b1, :]
        counts = rng.poisson(lam)
        out[:, b0:b1, :] = counts
        k, bb, i = np.nonzero(counts)
        c = counts[k, bb, i]
        row = k * n_bins + b0 + bb              # row of the stacked recording
        rep = np.repeat(np.arange(c.size), c)
        times.append((row[rep] + rng.random(rep.size)) * bin_seconds)
        units.append(i[rep])


# ---------------------------------------------------------------------- module helpers
def _assemble_spikes(units, times, n_neurons):
    if units:
        u = np.concatenate(units)
        t = np.concatenate(times)
    else:
        u = np.zeros(0, dtype=np.int64)
        t = np.zeros(0)
    order = np.lexsort((t, u))
    t = t[order]
    bounds = np.concatenate([[0], np.cumsum(np.bincount(u, minlength=n_neurons))])
    return [t[bounds[j]:bounds[j + 1]].copy() for j in range(n_neurons)]


def _progress(total, enabled):
    return progress_bar(total, enabled=enabled, desc="simulating", unit="step")


def _measured_kappa(J):
    iu = np.triu_indices(J.shape[0], 1)
    x, y = J[iu], J.T[iu]
    x = x - x.mean()
    y = y - y.mean()
    den = math.sqrt(float(np.dot(x, x) * np.dot(y, y)))
    return float(np.dot(x, y) / den) if den > 0 else 0.0


def _check_n(n):
    if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 2:
        raise ParameterError(f"n_neurons must be an integer >= 2, got {n!r}.")
    return int(n)


def _check_int(value, name, minimum):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ParameterError(f"{name} must be an integer >= {minimum}, got {value!r}.")
    return int(value)


def _as_float(value, name, exc=ParameterError):
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise exc(f"{name} must be a number, got {value!r}.") from None
    if not math.isfinite(v):
        raise exc(f"{name} must be finite, got {value!r}.")
    return v


def _check_positive(value, name, exc=ParameterError):
    v = _as_float(value, name, exc)
    if v <= 0:
        raise exc(f"{name} must be > 0, got {value!r}.")
    return v


def _check_nonnegative(value, name):
    v = _as_float(value, name)
    if v < 0:
        raise ParameterError(f"{name} must be >= 0, got {value!r}.")
    return v


def _check_kappa(kappa):
    k = _as_float(kappa, "kappa")
    if abs(k) > 1.0:
        raise ParameterError(f"kappa (reciprocal correlation) must lie in [-1, 1], got {kappa!r}.")
    return k
