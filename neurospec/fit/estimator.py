"""The :class:`GainFit` estimator: a thin scikit-learn estimator over the fit modules.

It checks its parameters, turns the input (activity, a Recording, a fitted
:class:`~neurospec.CovarianceSpectrum` or bare eigenvalues) into sorted eigenvalues with their
sampling model (N / T and the temporal spectrum), fits on the tables
(:mod:`~neurospec.fit.optimize`), polishes on the exact model with lmfit, fits the null, and
hands the interval to :mod:`~neurospec.fit.bootstrap` and the text to :mod:`~neurospec.fit.report`.
"""

from __future__ import annotations

import math
import warnings
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator

from ..errors import DataValueError, FitError, ParameterError, ShapeError
from . import bootstrap as _boot
from . import report as _report
from .forward import G_CAP, KAPPA_RANGE, Model, null_spectrum, temporal_key
from .optimize import MIN_EIGENVALUES, Engine, cvm, fit_with_drop, ks, lm, targets

__all__ = ["GainFit", "GainFitWarning"]


class GainFitWarning(UserWarning):
    """A fit finished but its result needs care (estimate at a bound, too few replicates...)."""


def _is_fluorescence(meta):
    """Whether a Recording's provenance says calcium (or other indicator) fluorescence."""
    if not meta:
        return False
    s2p = meta.get("suite2p")
    if isinstance(s2p, dict):
        return s2p.get("signal", "F") != "spks"
    series = str(meta.get("series") or "").lower()
    return any(k in series for k in ("ophys", "fluorescence", "roiresponse", "dff", "df/f"))


#: shortest window (in units of tau) the finite-window correction is applied to
_MIN_WINDOW_TAU = 3.0
#: the correction is applied when the data's raw rise from W/2 to W is at least this
#: fraction of the rise linear dynamics predict (a kernel common to all neurons: far less)
_RISE_AGREEMENT = 0.5


def _is_fitted_spectrum(obj):
    return hasattr(obj, "eigenvalues_") and hasattr(obj, "n_features_in_")


class GainFit(BaseEstimator):
    """Infer the effective gain ``g_eff`` of a random network from its covariance spectrum.

    A scikit-learn-style estimator: parameters are stored by ``__init__`` unchanged and
    checked by :meth:`fit`, which returns ``self``; learned attributes end in ``_``.

    Parameters
    ----------
    model : {"iid", "reciprocal"}
        Couplings of the forward model: iid Gaussian (one shape parameter, ``g_eff``) or with
        reciprocal correlation ``kappa`` (``g_eff`` and ``kappa``; science.md §3). Stability
        ``g (1 + kappa) < 1`` is built into the parametrisation.
    alpha : "auto" or float
        ``N / T`` of the finite-sample distortion. ``"auto"`` (activity or a fitted
        :class:`~neurospec.CovarianceSpectrum`): T is the number of (windowed) samples less
        one for the mean, and their temporal correlation is modelled (``temporal``). Give a
        number when fitting bare eigenvalues (then it is ``N / T_eff`` of independent
        samples unless ``temporal`` is a :class:`~neurospec.theory.TemporalSpectrum`). A
        number that contradicts the data (``alpha > 1`` with more than ``N / alpha`` nonzero
        eigenvalues) is an error. ``0`` means no sampling distortion (a population spectrum).
    temporal : "auto", "white" or TemporalSpectrum
        Temporal correlation of the samples (science.md §4, "Temporally correlated
        samples"): the sample covariance is modelled as ``C (x) W_B``, which is exact for
        the shape (not only the second moment) of the spectrum of autocorrelated samples
        and has the data's rank ``min(N, T - 1)``. ``"auto"``: estimated from the activity's
        autocorrelation (``CovarianceSpectrum.temporal_spectrum_``; with dropped top modes,
        that of the activity with those modes projected out, so a slow shared mode does not
        count), white for bare eigenvalues. ``"white"``: independent samples
        (Marchenko-Pastur). The null model and every bootstrap replicate use the same
        temporal correlation.
    fraction : float or None
        Fraction ``M / N_network`` of the network's neurons that were recorded, when known;
        adds neuron subsampling (free compression, science.md §4) to the forward model.
    drop_top : "auto" or int
        Top eigenvalues (low-rank or global modes, not part of the random-network bulk) left
        out of the fit. The fit is censored at the cut: the kept eigenvalues are compared with
        the lowest quantiles of the model over *all* N (they are the lowest order statistics),
        so dropping bulk eigenvalues does not bias ``g_eff``. ``"auto"`` drops those beyond the fitted upper support edge by more
        than ``6x`` the spacing of the top eigenvalues there, refitting until nothing more is
        dropped (at most 10); an int drops that many.
    cost : {"cvm", "ks"}
        Distance minimised: Cramer-von Mises (``W^2 / n``, the mean squared difference between
        the empirical and model CDFs) or Kolmogorov-Smirnov.
    scale : {"fit", "mean"}
        ``"fit"``: the noise scale ``sigma^2`` is a free parameter (only the spectrum's shape
        informs ``g_eff``; more precise near g = 1). ``"mean"``: eigenvalues are divided by
        their mean (the reference procedure).
    ci : float
        Level of the confidence interval ``g_eff_ci_``, in (0, 1).
    n_boot : int
        Bootstrap replicates (0: no uncertainty; ``g_eff_stderr_`` and ``g_eff_ci_`` are NaN).
    bootstrap : {"auto", "network", "samples", "block"}
        How replicates are made (:mod:`neurospec.fit.bootstrap`): ``"network"`` (new coupling matrix and new
        samples from the fitted model; an interval for the ensemble gain), ``"samples"``
        (new samples only, population spectrum fixed at the fitted theory's quantiles),
        ``"block"`` (random halves of time blocks, activity input only; the spread of the
        half-sample estimates, scaled to the full length). ``"samples"`` and ``"block"`` are
        conditional on the recorded network and omit network-to-network variability, which
        dominates for N of a few hundred once g >~ 0.5. ``"auto"`` is ``"network"``.
    max_boot_neurons : int
        Largest network simulated per network or samples replicate (and for the null's
        p-value). Larger recordings are bootstrapped at this size with the same N/T and
        temporal spectrum, the replicates' deviations scaled by ``max_boot_neurons / N``
        (the estimate fluctuates at O(1/N)) and their distances by
        :func:`~neurospec.fit.bootstrap.cost_scale`; the interval then costs a fixed multiple
        of one eigenproblem of this size. Coverage at N = 1000 and 4000 with the default:
        ``benchmarks/validate_large_n.py``.
    ci_method : {"basic", "percentile"}
        Bootstrap interval: basic (reflected about the estimate, computed in ``atanh(g)``) or
        percentile.
    block_size : "auto" or int
        Block length in (windowed) samples for ``bootstrap="block"``; ``"auto"`` uses
        ``max(3 x integrated autocorrelation time, T^(1/3))`` (at least 4 blocks needed).
    window : int or None
        For activity input: sum activity over non-overlapping windows of this many bins first
        (the long-window covariance the theory describes; see :func:`window_ladder`).
    window_correction : {"auto", "none"}
        ``"auto"``: with activity input and ``window > 1``, remove the finite-window bias
        (windows of 10 tau read g about 5 % low): the window in units of the neurons' time
        constant tau is estimated from the integrated autocorrelation of the unwindowed
        activity, and the exact window covariance of linear dynamics maps the gain read at
        that window to the zero-frequency gain (:mod:`neurospec.fit.window`); the estimate,
        interval and replicates are mapped, ``window_correction_`` records the numbers.
        Iid model only.
    kind : {"covariance", "correlation"}
        For activity input: which matrix to diagonalise. The theory describes the covariance;
        a correlation matrix re-weights neurons by their variance, which in a linear network
        varies with the couplings and biases ``g_eff`` upwards (+0.02 at g = 0.8, N = 400).
        Use ``"correlation"`` only when neurons have very different noise levels, and then
        rely on the bootstrap (which reproduces the normalisation) for the interval.
    random_state : int, numpy.random.Generator or None
        Seed of the bootstrap.
    progress : bool or "auto"
        Show progress bars over the covariance estimate (activity input) and the bootstrap
        replicates. ``"auto"``: only for work expected to take more than about 10 s (for the
        bootstrap, ``n_boot`` x (neurons per replicate)^3 above 200 x 800^3).

    Attributes
    ----------
    g_eff_ : float
        Estimated effective gain.
    g_eff_stderr_ : float
        Bootstrap standard deviation of the estimate.
    g_eff_ci_ : tuple of float
        ``(low, high)`` confidence interval at level ``ci``.
    kappa_ : float
        Estimated reciprocal correlation (``model="reciprocal"``); 0 (fixed) for iid.
    kappa_stderr_, kappa_ci_ : float, tuple or None
        Its uncertainty (reciprocal model only).
    scale_ : float
        Noise scale ``sigma^2`` in eigenvalue units: the data's eigenvalues are modelled as
        ``scale_ * x`` with ``x`` from the unit-noise theory.
    cost_ : float
        Cramer-von Mises distance ``W^2 / n`` of the fit (whatever ``cost`` was minimised).
    ks_ : float
        Kolmogorov-Smirnov distance of the fit.
    null_cost_ : float
        Cramer-von Mises distance of the best Marchenko-Pastur null (same alpha, fitted scale).
    comparison_ : pandas.DataFrame
        One row per model (fitted theory, Marchenko-Pastur null): number of fitted
        parameters, CvM and KS distances, and a parametric-bootstrap goodness-of-fit p-value
        (the fraction of spectra simulated from that model whose distance exceeds the
        observed one; NaN where not computed).
    p_value_null_ : float
        Goodness-of-fit p-value of the null: small values reject "no recurrent structure".
    p_value_model_ : float
        Goodness-of-fit p-value of the fitted theory (``bootstrap`` "network"/"samples").
    n_dropped_ : int
        Number of top eigenvalues left out.
    eigenvalues_ : ndarray
        Nonzero eigenvalues seen by the fit, descending; the first ``n_dropped_`` were dropped.
    alpha_ : float
        ``N / T`` of the forward model (T: samples less one for the mean).
    alpha_eff_ : float
        ``N / n_samples_eff_``: the ratio that sets the sampling noise of the second moment.
    temporal_ : TemporalSpectrum or None
        Temporal spectrum of the samples used by the model (None: independent samples).
    n_neurons_ : int
        Number of neurons N.
    n_samples_eff_ : float or None
        Effective number of samples ``T / E[b^2]`` (Bartlett; T for independent samples).
    bias_correction_ : dict or None
        Correlation matrices (network bootstrap): the finite-N bias of the normalisation by
        each neuron's variance, removed by indirect inference (:mod:`neurospec.fit.bootstrap`):
        ``g_read`` (the fit of the data), ``g`` (the gain whose replicates read it), ``slope``,
        ``median``; None when not needed (the replicates' median within a quarter s.d. of the
        estimate) or not applied.
    window_correction_ : dict or None
        The finite-window correction applied: ``g_window`` (read at the window), ``g``,
        ``slope``, ``window_bins``, ``tau_bins`` (estimated tau), ``window_tau``,
        ``tau_int_bins``; None when not applied.
    window_check_ : dict or None
        The check behind the window correction: the raw rise of g_eff from windows of W/2
        to W that linear dynamics with the estimated tau predict, the data's, and whether the
        correction was applied (it is not when the data rise by less than half the
        prediction, nor for fluorescence traces -- suite2p F, NWB ophys series -- whose
        autocorrelation the indicator sets).
    warnings_ : list of str
        Warnings raised while fitting (also printed by :meth:`report`).
    result_ : lmfit.MinimizerResult
        The final (exact-model) lmfit minimisation.
    params_ : lmfit.Parameters
        Its parameters (``g_eff``, ``log_scale``, ``scale``; ``kappa``, ``stability`` for the
        reciprocal model).
    theory_ : Spectrum
        Fitted forward model in units of ``lambda / mean(kept lambda)`` (what the plots use).
    null_ : Spectrum
        Fitted null (independent neurons: Marchenko-Pastur, or its temporally correlated
        form) in the same units.
    bootstrap_ : ndarray, shape (n_boot,)
        Replicate estimates of ``g_eff``.
    bootstrap_method_ : str
    bootstrap_size_ : int
        Neurons per simulated replicate: N, or ``max_boot_neurons`` for larger recordings
        (network and samples bootstraps; see ``max_boot_neurons``).
    spectrum_ : CovarianceSpectrum or None
        The spectrum estimated from activity input.

    Examples
    --------
    >>> import numpy as np
    >>> from neurospec import GainFit, theory
    >>> ev = theory.LinearSpectrum(0.6).sampled(0.25).rank_curve(400)  # ideal eigenvalues
    >>> fit = GainFit(alpha=0.25, n_boot=0).fit(ev)
    >>> round(fit.g_eff_, 2)
    0.6
    """

    def __init__(self, model="iid", alpha="auto", fraction=None, drop_top="auto", cost="cvm",
                 scale="fit", ci=0.9, n_boot=200, bootstrap="auto", max_boot_neurons=1000,
                 ci_method="basic", block_size="auto", window=None, kind="covariance",
                 temporal="auto", window_correction="auto", random_state=None, progress="auto"):
        self.model = model
        self.alpha = alpha
        self.fraction = fraction
        self.drop_top = drop_top
        self.cost = cost
        self.scale = scale
        self.ci = ci
        self.n_boot = n_boot
        self.bootstrap = bootstrap
        self.max_boot_neurons = max_boot_neurons
        self.ci_method = ci_method
        self.block_size = block_size
        self.window = window
        self.kind = kind
        self.temporal = temporal
        self.window_correction = window_correction
        self.random_state = random_state
        self.progress = progress

    # ---------------------------------------------------------------------------- checks
    def _check_params(self):
        from ..theory.temporal import TemporalSpectrum

        if self.model not in ("iid", "reciprocal"):
            raise ParameterError(f"GainFit: model must be 'iid' or 'reciprocal', got {self.model!r}.")
        if self.cost not in ("cvm", "ks"):
            raise ParameterError(f"GainFit: cost must be 'cvm' or 'ks', got {self.cost!r}.")
        if self.scale not in ("fit", "mean"):
            raise ParameterError(f"GainFit: scale must be 'fit' or 'mean', got {self.scale!r}.")
        if not (isinstance(self.ci, Real) and 0 < self.ci < 1):
            raise ParameterError(f"GainFit: ci must be a level in (0, 1) such as 0.9, got {self.ci!r}.")
        if not (isinstance(self.n_boot, Integral) and not isinstance(self.n_boot, bool)
                and self.n_boot >= 0):
            raise ParameterError(f"GainFit: n_boot must be an integer >= 0, got {self.n_boot!r}.")
        if self.bootstrap not in ("auto", "network", "samples", "block"):
            raise ParameterError(
                "GainFit: bootstrap must be 'auto', 'network', 'samples' or 'block', got "
                f"{self.bootstrap!r}.")
        if self.ci_method not in ("basic", "percentile"):
            raise ParameterError(
                f"GainFit: ci_method must be 'basic' or 'percentile', got {self.ci_method!r}.")
        if self.kind not in ("covariance", "correlation"):
            raise ParameterError(
                f"GainFit: kind must be 'covariance' or 'correlation', got {self.kind!r}.")
        if not (self.temporal in ("auto", "white") or isinstance(self.temporal, TemporalSpectrum)):
            raise ParameterError(
                "GainFit: temporal must be 'auto', 'white' or a neurospec.theory.TemporalSpectrum, "
                f"got {self.temporal!r}.")
        if not (isinstance(self.max_boot_neurons, Integral)
                and not isinstance(self.max_boot_neurons, bool) and self.max_boot_neurons >= 50):
            raise ParameterError(
                "GainFit: max_boot_neurons must be an integer >= 50 (neurons per simulated "
                f"replicate), got {self.max_boot_neurons!r}.")
        if not (isinstance(self.progress, (bool, np.bool_)) or self.progress == "auto"):
            raise ParameterError(
                f"GainFit: progress must be True, False or 'auto', got {self.progress!r}.")
        if self.window_correction not in ("auto", "none"):
            raise ParameterError(
                "GainFit: window_correction must be 'auto' or 'none', got "
                f"{self.window_correction!r}.")
        if not (self.drop_top == "auto" or (isinstance(self.drop_top, Integral)
                                            and not isinstance(self.drop_top, bool)
                                            and self.drop_top >= 0)):
            raise ParameterError(
                f"GainFit: drop_top must be 'auto' or an integer >= 0, got {self.drop_top!r}.")
        if self.fraction is not None and not (isinstance(self.fraction, Real)
                                              and 0 < self.fraction <= 1):
            raise ParameterError(
                f"GainFit: fraction = M/N_network must lie in (0, 1], got {self.fraction!r}.")
        if self.window is not None and not (isinstance(self.window, Integral)
                                            and self.window >= 1):
            raise ParameterError(
                f"GainFit: window must be a positive number of bins or None, got {self.window!r}.")
        if not (self.block_size == "auto" or (isinstance(self.block_size, Integral)
                                              and self.block_size >= 1)):
            raise ParameterError(
                f"GainFit: block_size must be 'auto' or a positive integer, got {self.block_size!r}.")

    @staticmethod
    def _check_alpha(alpha, name):
        try:
            a = float(alpha)
        except (TypeError, ValueError):
            raise ParameterError(f"GainFit: {name} must be 'auto' or a number N/T >= 0, "
                                 f"got {alpha!r}.") from None
        if not (np.isfinite(a) and a >= 0):
            raise ParameterError(f"GainFit: {name} = N/T must be finite and >= 0, got {alpha!r}.")
        return a

    # ---------------------------------------------------------------------------- input
    def _prepare(self, data, alpha, held):
        """Eigenvalues, N, alpha, T, temporal spectrum, kind, activity (or None), spectrum and
        provenance from the input. Warnings of the spectrum that the fit may resolve are
        appended to ``held``."""
        from ..recording import Recording
        from ..spectrum import _NOT_DECAYED, CovarianceSpectrum

        info = {"bin_size": None, "window": None, "n_samples": None, "source": None,
                "input": None}
        activity = None
        kind = self.kind
        if isinstance(data, (Recording, np.ndarray, list, tuple)) or hasattr(data, "__array__"):
            if isinstance(data, Recording):
                X = data.activity
                info.update(bin_size=data.bin_size, source=(data.meta or {}).get("source"),
                            input="Recording")
            else:
                try:
                    X = np.asarray(data, dtype=float)
                except (TypeError, ValueError):
                    raise DataValueError(
                        "GainFit.fit: data must be activity (n_samples, n_neurons), a Recording, a "
                        f"fitted CovarianceSpectrum or 1-D eigenvalues; got {type(data).__name__}."
                    ) from None
                info["input"] = "array"
            if X.ndim == 1:
                if self.window is not None:
                    raise ParameterError(
                        "GainFit: window applies to activity input; these are eigenvalues. "
                        "Set window=None (or pass the activity).")
                return self._from_eigenvalues(X, alpha, info)
            if X.ndim != 2:
                raise ShapeError(
                    f"GainFit.fit: activity must be 2-D (n_samples, n_neurons), got shape {X.shape}.")
            spectrum = CovarianceSpectrum(kind=self.kind, window=self.window,
                                          progress=self.progress)
            # "has not decayed" is held back until the fit knows which modes it drops (a slow
            # dropped mode explains an autocorrelation that does not decay); others pass on
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                spectrum.fit(data)
            for w in caught:
                if _NOT_DECAYED in str(w.message):
                    held.append(w)
                else:
                    warnings.warn(w.message, w.category, stacklevel=3)
            activity = X
            info.update(window=self.window or 1, n_samples=X.shape[0])
        elif _is_fitted_spectrum(data):
            spectrum = data
            if self.window is not None:
                raise ParameterError(
                    "GainFit: window applies to activity input; the CovarianceSpectrum was already "
                    f"fitted with window={getattr(data, 'window', None)!r}. Set window=None.")
            kind = getattr(data, "kind", "covariance")
            info.update(window=getattr(data, "window", None) or 1, input="CovarianceSpectrum",
                        n_samples=getattr(data, "n_samples_", None),
                        bin_size=getattr(data, "bin_size_", None))
            info["source"] = (getattr(data, "meta_", {}) or {}).get("source")
        else:
            raise DataValueError(
                "GainFit.fit: data must be activity (n_samples, n_neurons), a Recording, a fitted "
                f"CovarianceSpectrum or 1-D eigenvalues; got {type(data).__name__}.")
        n = int(spectrum.n_features_in_)
        ev = _boot.nonzero(spectrum.eigenvalues_)
        info.update(n_samples_eff=float(getattr(spectrum, "n_samples_eff_", np.nan)))
        acf = None
        if alpha is None and self.alpha == "auto":
            n_win = int(getattr(spectrum, "n_windows_", 0) or 0)
            centred = bool(getattr(spectrum, "center", True))
            ts = getattr(spectrum, "temporal_spectrum_", None)
            if n_win < 2 or ts is None:  # a spectrum from an older version: effective dof
                dof = float(getattr(spectrum, "n_dof_", None) or spectrum.n_samples_eff_)
                temporal = None
            else:
                dof = float(n_win - 1 if centred else n_win)
                # parameters fitted out of the activity before (condition means): each removes
                # one sample's worth of degrees of freedom, counted in windows
                meta = getattr(spectrum, "meta_", None) or {}
                removed = (meta.get("recording") or {}).get("dof_removed")
                if removed and getattr(spectrum, "n_samples_", None):
                    dof = max(dof - float(removed) * n_win / spectrum.n_samples_, 2.0)
                temporal = self._temporal_choice(ts)
                acf = (spectrum.autocorrelation_, spectrum.autocorrelation_window_)

            a = n / dof
        else:
            a = self._check_alpha(self.alpha if alpha is None else alpha, "alpha")
            dof = n / a if a > 0 else np.inf
            temporal = self._temporal_choice(None)
            self._check_rank(ev, n, a)
        if not (np.isfinite(dof) and dof >= 2) and a != 0:
            raise FitError(
                f"GainFit: the activity has only {dof:.3g} samples; the spectrum cannot "
                "be fitted. Record longer or use shorter windows.")
        return ev, n, a, dof, temporal, acf, kind, activity, spectrum, info

    def _temporal_choice(self, estimated):
        from ..theory.temporal import TemporalSpectrum

        if isinstance(self.temporal, TemporalSpectrum):
            return None if self.temporal.is_white() else self.temporal
        if self.temporal == "white" or estimated is None or estimated.is_white():
            return None
        return estimated

    @staticmethod
    def _check_rank(ev, n, a):
        """A user alpha > 1 allows at most N / alpha nonzero eigenvalues."""
        if a > 1:
            allowed = n / a
            if ev.size > allowed * 1.01 + 1:
                raise ParameterError(
                    f"GainFit: alpha = {a:.4g} means T = N / alpha = {allowed:.1f} samples, which "
                    f"allow at most {allowed:.0f} nonzero eigenvalues, but the data have {ev.size}. "
                    "Temporally correlated samples are not fewer samples: pass the activity (or a "
                    "fitted CovarianceSpectrum) with alpha='auto', or alpha = N / (number of "
                    "samples).")

    def _from_eigenvalues(self, ev, alpha, info):
        if alpha is None:
            alpha = self.alpha
        if isinstance(alpha, str):
            raise ParameterError(
                "GainFit.fit: bare eigenvalues carry no sample count, so alpha cannot be 'auto'. "
                "Pass alpha = N / T_eff (number of neurons over effective number of samples), e.g. "
                "GainFit(alpha=0.1).fit(eigenvalues) or .fit(eigenvalues, alpha=0.1); alpha=0 "
                "fits a population spectrum without sampling noise.")
        a = self._check_alpha(alpha, "alpha")
        ev = np.asarray(ev, dtype=float)
        if not np.all(np.isfinite(ev)):
            raise DataValueError("GainFit.fit: eigenvalues contain NaN or inf.")
        scale = np.max(np.abs(ev)) if ev.size else 0.0
        if np.any(ev < -1e-8 * scale):
            raise DataValueError(
                f"GainFit.fit: {int(np.sum(ev < -1e-8 * scale))} eigenvalues are negative (min "
                f"{ev.min():.3g}); a covariance matrix is positive semi-definite. Pass the raw "
                "(not cross-validated) eigenvalues.")
        n = ev.size
        info.update(input="eigenvalues")
        dof = n / a if a > 0 else np.inf
        evn = _boot.nonzero(np.clip(ev, 0.0, None)) if ev.size else ev
        if evn.size:
            self._check_rank(evn, n, a)
        return (evn, n, a, dof, self._temporal_choice(None), None, self.kind, None, None,
                info)

    # ---------------------------------------------------------------------------- fit
    def fit(self, data, alpha=None):
        """Fit the forward model to a spectrum.

        Parameters
        ----------
        data : array_like, Recording or fitted CovarianceSpectrum
            Activity of shape (n_samples, n_neurons) (time x neurons), a
            :class:`~neurospec.Recording`, a fitted :class:`~neurospec.CovarianceSpectrum`,
            or a 1-D array of all N eigenvalues of an N x N covariance matrix (zeros
            included; then ``alpha`` must be a number).
        alpha : float, optional
            Overrides the ``alpha`` parameter for this call.

        Returns
        -------
        self
        """
        self._check_params()
        held = []
        seen = []
        try:
            with warnings.catch_warnings(record=True) as seen:
                warnings.simplefilter("always")
                try:
                    self._fit(data, alpha, held)
                finally:
                    for w in held:
                        warnings.warn(w.message, w.category, stacklevel=2)
        finally:
            self.warnings_ = []
            for w in seen:  # re-emit outside the recorder, and keep the text for the report
                msg = str(w.message)
                if msg not in self.warnings_:
                    self.warnings_.append(msg)
                warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
        return self

    def _fit(self, data, alpha, held):
        ev, n, a, dof, temporal, acf, kind, activity, spectrum, info = self._prepare(
            data, alpha, held)
        if ev.size < MIN_EIGENVALUES:
            raise FitError(
                f"GainFit: only {ev.size} nonzero eigenvalues; the theory is a large-N limit "
                f"and needs at least {MIN_EIGENVALUES} (record more neurons or more samples).")
        if self.drop_top != "auto" and int(self.drop_top) > ev.size - MIN_EIGENVALUES:
            raise ParameterError(
                f"GainFit: drop_top={int(self.drop_top)} leaves fewer than {MIN_EIGENVALUES} of the "
                f"{ev.size} nonzero eigenvalues; choose a smaller drop_top.")
        self.n_neurons_ = n
        self.spectrum_ = spectrum
        self.kind_ = kind
        self.info_ = info
        rng = np.random.default_rng(self.random_state)

        lam = ev  # ascending, nonzero
        eng = Engine(Model(self.model, a, self.fraction, temporal), self.cost, self.scale)
        k_drop, theta, ls, _ = fit_with_drop(eng, lam, self.drop_top)
        if (k_drop > 0 and activity is not None and alpha is None and self.alpha == "auto"
                and self.temporal == "auto"):
            # the temporal correlation behind the model belongs to what is fitted: the activity
            # without the dropped modes (a slow shared mode would otherwise count)
            temporal_res, decayed, acf_res = self._residual_temporal(activity, kind, k_drop,
                                                                     spectrum)
            if decayed:
                held.clear()
            acf = acf_res
            if temporal_key(temporal_res) != temporal_key(temporal):
                temporal = temporal_res
                eng = Engine(Model(self.model, a, self.fraction, temporal), self.cost, self.scale)
                k_drop, theta, ls, _ = fit_with_drop(eng, lam, self.drop_top)
        mdl = eng.model
        if temporal is not None and acf is not None and np.isfinite(dof):
            m = int(acf[1])
            if dof + 1 < 20 * max(m, 1):
                warnings.warn(
                    f"GainFit: the autocorrelation spans {m} of the {dof + 1:.0f} (windowed) "
                    "samples, so the temporal spectrum the model uses is poorly estimated "
                    "and the interval may be too narrow. Record longer, or sum over longer "
                    "windows (window=...) so that more, less correlated samples remain.",
                    GainFitWarning, stacklevel=4)
        if mdl.fallback:
            warnings.warn(
                "GainFit: the temporal spectrum of the samples is far from white (E[b^2] = "
                f"{temporal.second_moment():.3g}: a slow signal shared by the neurons?) and the "
                "correlated-sample model could not be evaluated at every gain; there the fit used "
                "independent samples with the effective sample size. Remove the slow signal "
                "(detrend, drop_top) or use longer windows.", GainFitWarning, stacklevel=4)
        self.alpha_ = float(a)
        self.temporal_ = temporal
        m2 = 1.0 if temporal is None else temporal.second_moment()
        self.n_samples_eff_ = float(dof / m2) if np.isfinite(dof) else None
        self.alpha_eff_ = float(a * m2)
        self._autocorrelation = acf
        self._engine = eng
        kept = lam[: lam.size - k_drop]
        self.n_dropped_ = int(k_drop)
        self.eigenvalues_ = lam[::-1].copy()
        self._theta_sur = theta
        self._ls_sur = ls
        self._kept = kept
        self._n_total = lam.size

        self._polish(mdl, kept, lam.size, theta, ls)
        self._fit_null(kept, lam.size, a, temporal)

        # displays in mean-normalised units of the kept eigenvalues
        mean_kept = float(np.mean(kept))
        self.theory_ = mdl.spectrum(self.g_eff_, self.kappa_).scaled(self.scale_ / mean_kept)
        self.null_ = (self._null_model.scaled(self._null_scale / mean_kept)
                      if self._null_model is not None else None)

        self.bias_correction_ = None
        _boot.run(self, eng, kept, lam.size, activity, kind, rng, dof, temporal)
        self.window_correction_ = None
        self.window_check_ = None
        if (activity is not None and self.window_correction == "auto" and (self.window or 1) > 1
                and self.model == "iid" and not self._at_upper_bound()):
            if _is_fluorescence(getattr(data, "meta", None)):
                self.window_check_ = dict(applied=False, reason="fluorescence")
                warnings.warn(
                    "GainFit: fluorescence traces: the indicator, not the network, sets their "
                    "autocorrelation, so the window in units of the neurons' time constant is "
                    "unknown and the finite-window correction was not applied; g_eff is the "
                    "window's. Use windows of many indicator decay times and check the ladder.",
                    GainFitWarning, stacklevel=4)
            else:
                self._correct_window(activity)

    def _window_rise(self, activity, g, g_window, W, W_tau, N):
        """``(predicted, observed)`` rise of the raw estimate from windows of W/2 to W: the
        model's at the corrected gain g, and the data's (one more fit, no bootstrap)."""
        from sklearn.base import clone

        from .window import windowed_gain_curve

        g_half_pred = float(windowed_gain_curve([g], W_tau * (W // 2) / W, N)[0])
        rise_pred = g_window - g_half_pred
        half = clone(self).set_params(window=W // 2, n_boot=0, window_correction="none",
                                      progress=False)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            g_half_obs = half.fit(activity).g_eff_
        return float(rise_pred), float(g_window - g_half_obs)

    def _correct_window(self, activity):
        """Remove the finite-window bias (:mod:`neurospec.fit.window`): estimate the window
        in units of tau from the integrated autocorrelation of the unwindowed activity, then
        map the estimate, its interval and the replicates to the zero-frequency gain."""
        from ..spectrum import _residual_autocorrelation, _sokal_window, unbiased_autocorrelation
        from .window import bin_in_tau, correct

        W = int(self.window)
        T, N = activity.shape
        rho = _residual_autocorrelation(activity, np.zeros((N, 0)),
                                        int(min(T - 1, max(256, 64 * W), 8192)))
        _, m, reached = _sokal_window(rho, T)
        rho = unbiased_autocorrelation(rho, T, m)
        tau_int = 1.0 + 2.0 * float(np.sum(rho[1 : m + 1]))
        if not reached:
            warnings.warn(
                "GainFit: the autocorrelation of the unwindowed activity has not decayed, so the "
                "window length in units of the neurons' time constant is unknown and the "
                "finite-window bias was not corrected. Record longer or check for slow drift.",
                GainFitWarning, stacklevel=4)
            return
        g_window = self.g_eff_
        g = g_window
        for _ in range(2):  # tau depends on g, the correction on tau
            b = bin_in_tau(g, tau_int, N)
            if b is None:
                return
            g, slope = correct(g_window, W * b, N)
        W_tau = W * b
        if W_tau < _MIN_WINDOW_TAU:
            warnings.warn(
                f"GainFit: windows of {W} bins are only {W_tau:.1f} tau (tau = {1 / b:.3g} bins "
                "estimated from the autocorrelation, an indicator's decay included): too short "
                f"for the finite-window correction (it would move g_eff from {g_window:.3f} to "
                f"{g:.3f} on the strength of a linear model of the dynamics), so g_eff is the "
                f"window's, biased low. Use windows of at least {_MIN_WINDOW_TAU:g} tau "
                f"({int(math.ceil(_MIN_WINDOW_TAU / b))} bins).", GainFitWarning, stacklevel=4)
            return
        # the model's tau comes from the autocorrelation, which an indicator kernel or any
        # filter common to all neurons lengthens without changing the network's window bias;
        # check the model against the data's own rise between windows of W/2 and W
        rise_pred, rise_obs = self._window_rise(activity, g, g_window, W, W_tau, N)
        if rise_pred > 0 and rise_obs < _RISE_AGREEMENT * rise_pred:
            warnings.warn(
                f"GainFit: linear dynamics with tau = {1 / b:.3g} bins (from the autocorrelation) "
                f"predict g_eff to rise by {rise_pred:.3f} from windows of {W // 2} to {W} bins, "
                f"but the data rise by {rise_obs:.3f}: the autocorrelation is longer than the "
                "network's own time scale (an indicator kernel or another common filter), so the "
                "finite-window correction was not applied; g_eff is the window's. Check the "
                "ladder (window_ladder).", GainFitWarning, stacklevel=4)
            self.window_check_ = dict(rise_predicted=rise_pred, rise_observed=rise_obs,
                                      applied=False)
            return
        self.window_check_ = dict(rise_predicted=rise_pred, rise_observed=rise_obs,
                                  applied=True)

        def mapped(v):
            return float(min(max(g + (v - g_window) / slope, 0.0), 1.0))

        self.g_eff_ = float(g)
        if np.all(np.isfinite(self.g_eff_ci_)):
            self.g_eff_ci_ = (mapped(self.g_eff_ci_[0]), mapped(self.g_eff_ci_[1]))
        if self.bootstrap_.size:
            self.bootstrap_ = np.clip(g + (self.bootstrap_ - g_window) / slope, 0.0, 1.0)
            self.g_eff_stderr_ = float(self.g_eff_stderr_ / slope)
        self.window_correction_ = dict(
            g_window=float(g_window), g=float(g), slope=float(slope), window_bins=W,
            tau_bins=float(1 / b), window_tau=float(W_tau), tau_int_bins=float(tau_int))

    def _residual_temporal(self, activity, kind, k, spectrum):
        """Temporal spectrum of the (windowed) activity with its top ``k`` modes removed,
        whether its autocorrelation decayed, and the autocorrelation itself."""
        import scipy.linalg as sla

        from ..spectrum import temporal_spectrum_excluding

        X = _boot.window_sum(activity, self.window)
        Xc = X - X.mean(axis=0)
        if kind == "correlation":
            sd = Xc.std(axis=0)
            Xc = Xc / np.where(sd > 0, sd, 1.0)
        N = Xc.shape[1]
        with _boot.blas_threads(N):
            _, V = sla.eigh(Xc.T @ Xc, subset_by_index=[N - k, N - 1])
        ts, decayed, rho, m = temporal_spectrum_excluding(Xc, V, spectrum.max_lag,
                                                          return_autocorrelation=True)
        return self._temporal_choice(ts), decayed, (rho, m)

    # -- exact fit -----------------------------------------------------------------------------
    def _polish(self, mdl, kept, n_total, theta, ls):
        import lmfit

        g0, kappa0 = mdl.natural(theta)
        params = lmfit.Parameters()
        if self.model == "iid":
            params.add("g_eff", value=min(g0, G_CAP), min=0.0, max=G_CAP)
            params.add("kappa", value=0.0, vary=False)
        else:
            params.add("kappa", value=kappa0, min=KAPPA_RANGE[0], max=KAPPA_RANGE[1])
            params.add("stability", value=min(g0 * (1 + kappa0), G_CAP), min=0.0, max=G_CAP)
            params.add("g_eff", expr="stability / (1 + kappa)")
        params.add("log_scale", value=ls, vary=self.scale == "fit")
        params.add("scale", expr="exp(log_scale)")
        loglam = np.log(kept)
        n = kept.size
        t = targets(n, n_total)
        lmean = math.log(float(np.mean(kept)))
        cache = {}

        def spec_at(g, kappa):
            key = (round(g, 12), round(kappa, 12))
            s = cache.get(key)
            if s is None:
                s = mdl.spectrum(g, kappa)
                cache[key] = s
            return s

        table = self._engine.table

        def model_cdf(p):
            g = p["g_eff"].value
            kappa = p["kappa"].value
            if mdl.temporal is not None:
                # correlated-sample spectra cost ~0.1 s each: the polish stays on the table,
                # whose interpolation error (< 1e-4 in the CDF) is far below one CDF step
                th = mdl.theta(g, kappa)
                _, lm_, _ = table.evaluate(th, loglam[:1])
                lsc = p["log_scale"].value if self.scale == "fit" else lmean - lm_
                return table.evaluate(th, loglam - lsc)[0], lsc
            s = spec_at(g, kappa)
            lsc = p["log_scale"].value if self.scale == "fit" else lmean - math.log(s.mean())
            return np.asarray(s.cdf(np.exp(loglam - lsc)), dtype=float), lsc

        def residual(p):
            return model_cdf(p)[0] - t

        def scalar(p):
            return ks(model_cdf(p)[0], n, n_total)

        try:
            if self.cost == "cvm":
                res = lmfit.minimize(residual, params, method="least_squares", diff_step=1e-5,
                                     max_nfev=60, x_scale=1.0)
            else:
                res = lmfit.minimize(scalar, params, method="nelder", max_nfev=80)
        except (ArithmeticError, ValueError) as exc:
            raise FitError(f"GainFit: the exact-model fit failed ({exc}).") from exc
        pv = res.params
        # never let the polish end worse than the surrogate's optimum
        F_sur, lsc_sur = model_cdf(params)
        F_fin, lsc_fin = model_cdf(pv)

        def crit(F):
            return cvm(F, n, n_total) if self.cost == "cvm" else ks(F, n, n_total)

        if crit(F_fin) > crit(F_sur) + 1e-15:
            pv = params
            F_fin, lsc_fin = F_sur, lsc_sur
        self.result_ = res
        self.params_ = pv
        self.g_eff_ = float(pv["g_eff"].value)
        self.kappa_ = float(pv["kappa"].value)
        self.scale_ = float(math.exp(lsc_fin))
        self.cost_ = cvm(F_fin, n, n_total)
        self.ks_ = ks(F_fin, n, n_total)
        if self._at_upper_bound():
            warnings.warn(
                f"GainFit: g_eff(1 + kappa) = {self.g_eff_ * (1 + self.kappa_):.4f} is at the "
                f"upper bound {G_CAP:.4f} of the fit: the spectrum is as broad as the model allows. "
                "The network may be at or beyond the edge of stability, or the spectrum is not the "
                "linear theory's (low-rank modes: try drop_top; chaotic dynamics at finite N: "
                "see p_value_model_).",
                GainFitWarning, stacklevel=4)

    def _at_upper_bound(self):
        """Whether the fitted ``g_eff (1 + kappa)`` sits at the cap of the model tables."""
        return self.g_eff_ * (1 + self.kappa_) >= G_CAP * (1 - 1e-6)

    def _fit_null(self, kept, n_total, a, temporal):
        """Null of independent neurons with a fitted scale (a = 0: a point mass)."""
        n = kept.size
        self._null_model = null_spectrum(a, temporal)
        if self._null_model is not None and temporal is not None:
            try:
                self._null_model.support()
            except (ArithmeticError, ValueError):
                # a temporal spectrum far from white can split the null's support: the null
                # then uses independent samples with the same second moment (as the model does)
                self._null_model = null_spectrum(a * temporal.second_moment(), None)
                warnings.warn(
                    "GainFit: the null of independent neurons with the samples' temporal "
                    "correlation could not be evaluated (temporal spectrum far from white, "
                    f"E[b^2] = {temporal.second_moment():.3g}); it uses independent samples with "
                    "the effective sample size instead. Remove slow drifts (detrend) or use "
                    "longer windows.", GainFitWarning, stacklevel=4)
        if self._null_model is None:
            self.null_cost_ = float("nan")
            self.null_ks_ = float("nan")
            self._null_scale = float(np.mean(kept))
            return
        null = self._null_model
        loglam = np.log(kept)
        t = targets(n, n_total)
        l0 = math.log(float(np.mean(kept))) - math.log(null.mean())
        if self.scale == "mean":
            lsc, F = l0, np.asarray(null.cdf(np.exp(loglam - l0)), dtype=float)
        else:
            def fun(q):
                return np.asarray(null.cdf(np.exp(loglam - q[0])), dtype=float) - t

            q, r = lm(fun, [l0], np.array([-np.inf]), np.array([np.inf]))
            lsc, F = float(q[0]), r + t
        self._null_scale = math.exp(lsc)
        self.null_cost_ = cvm(F, n, n_total)
        self.null_ks_ = ks(F, n, n_total)

    # ---------------------------------------------------------------------------- outputs
    def _check_fitted(self):
        if not hasattr(self, "g_eff_"):
            from sklearn.exceptions import NotFittedError

            raise NotFittedError("This GainFit is not fitted yet; call fit(data) first.")

    def to_frame(self):
        """Fitted parameters as a DataFrame (one row per parameter).

        Returns
        -------
        pandas.DataFrame
            Columns ``estimate``, ``stderr``, ``ci_low``, ``ci_high``, ``ci_level``,
            ``fitted`` (False for fixed parameters). ``DataFrame.attrs`` holds the fit's
            context (N, alpha, dropped modes, costs, p-values).

        Examples
        --------
        >>> from neurospec import GainFit, theory
        >>> ev = theory.LinearSpectrum(0.5).sampled(0.2).rank_curve(300)
        >>> GainFit(alpha=0.2, n_boot=0).fit(ev).to_frame().loc["g_eff", "fitted"]
        True
        """
        self._check_fitted()
        return _report.to_frame(self)

    def report(self):
        """A plain-text summary to paste into a lab notebook.

        Returns
        -------
        str

        Examples
        --------
        >>> from neurospec import GainFit, theory
        >>> ev = theory.LinearSpectrum(0.5).sampled(0.2).rank_curve(300)
        >>> print(GainFit(alpha=0.2, n_boot=0).fit(ev).report().splitlines()[0])
        neurospec GainFit
        """
        self._check_fitted()
        return _report.report(self)

    def plot(self, ax=None, kind="rank"):
        """Data against the fitted theory and the null.

        Parameters
        ----------
        ax : matplotlib Axes, optional
        kind : {"rank", "cdf", "density"}
            Rank plot (log-log), empirical vs model CDF, or histogram with densities.

        Returns
        -------
        matplotlib.axes.Axes

        Examples
        --------
        >>> import matplotlib
        >>> matplotlib.use("Agg")
        >>> from neurospec import GainFit, theory
        >>> ev = theory.LinearSpectrum(0.5).sampled(0.2).rank_curve(300)
        >>> ax = GainFit(alpha=0.2, n_boot=0).fit(ev).plot()
        """
        from .. import plotting

        self._check_fitted()
        label = rf"fit: $g_\mathrm{{eff}}$ = {self.g_eff_:.3f}"
        if np.all(np.isfinite(self.g_eff_ci_)):
            label += f" [{self.g_eff_ci_[0]:.3f}, {self.g_eff_ci_[1]:.3f}]"
        theory = {label: self.theory_}
        kw = dict(null=self.null_, drop_top=self.n_dropped_)
        if kind == "rank":
            return plotting.rank_plot(self.eigenvalues_, theory, ax=ax, **kw)
        if kind == "cdf":
            return plotting.cdf_plot(self.eigenvalues_, theory, ax=ax, **kw)
        if kind == "density":
            return plotting.density_plot(self.eigenvalues_, theory, ax=ax, **kw)
        raise ParameterError(f"GainFit.plot: kind must be 'rank', 'cdf' or 'density', got {kind!r}.")

