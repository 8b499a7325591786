"""Checks a reviewer asks for beside a fit of ``g_eff``.

A :class:`~neurospec.GainFit` says which effective gain best explains a covariance spectrum.
The functions here say whether to believe it:

* :func:`shift_control` / :func:`control_fit` -- the **shuffle control**: every neuron's time
  course is shifted circularly by its own random lag. Each neuron keeps its autocorrelation
  (and so the effective number of samples), interactions between neurons are destroyed. The
  control's spectrum should be consistent with the Marchenko-Pastur null and its ``g_eff``
  near 0; the data should differ from it.
* :func:`moment_estimate` -- ``g`` from the bias-corrected participation ratio,
  ``g^2 = 1 - sqrt(PR/N)`` (science.md §2, §6; the same number as Dahmen et al. 2019's
  estimate from the dispersion of covariances), with a parametric-bootstrap interval, and
  :func:`moment_agreement`, which flags a disagreement with the shape fit.
* :func:`split_half` -- fit the first and second halves of a recording and test their
  difference.
* :func:`compare` -- the difference of ``g_eff`` between two conditions with its interval and a
  p-value, from the bootstrap replicates that make each fit's interval.
* :func:`protocol_params` / :func:`protocol_fit` -- presets reproducing published procedures
  (``"hu-sompolinsky"``).
* :func:`run_checks` / :func:`format_checks` -- all of the above for the command line's report.

Every test here reads its verdict at the fit's interval level: two estimates "differ" when the
interval (at level ``ci``) of their difference excludes 0, which is the same as the two-sided
p-value being below ``1 - ci``.
"""

from __future__ import annotations

import copy
import math
import warnings
from dataclasses import dataclass, field
from numbers import Integral

import numpy as np

from .errors import DataValueError, FitError, ParameterError, ShapeError
from ._format import stderr_decimals

__all__ = [
    "shift_control",
    "control_fit",
    "ShiftControl",
    "g_from_participation_ratio",
    "moment_estimate",
    "MomentEstimate",
    "moment_agreement",
    "split_half",
    "SplitHalf",
    "compare",
    "Comparison",
    "PROTOCOLS",
    "protocol_params",
    "protocol_fit",
    "run_checks",
    "format_checks",
]

#: largest g simulated by the moment bootstrap (a network at g = 1 has no stationary state)
_G_SIM_CAP = 0.999
#: most replicate pairs used by :func:`compare` (all pairs below, a random subset above)
_MAX_PAIRS = 250_000


# ------------------------------------------------------------------------------ helpers
def _activity(data, name):
    """``(X, recording or None)`` from an array or a Recording (time x neurons)."""
    from .recording import Recording

    if isinstance(data, Recording):
        return data.activity, data
    try:
        X = np.asarray(data, dtype=float)
    except (TypeError, ValueError):
        raise DataValueError(f"{name}: data must be activity (n_samples, n_neurons) or a "
                             f"Recording; got {type(data).__name__}.") from None
    if X.ndim != 2:
        raise ShapeError(f"{name}: activity must be 2-D (n_samples, n_neurons) = time x neurons, "
                         f"got shape {X.shape}.")
    if X.shape[0] < 4:
        raise ShapeError(f"{name}: {X.shape[0]} samples are too few; need at least 4.")
    return X, None


def _derived_recording(rec, activity, step, **meta):
    """A copy of ``rec`` with new activity and one more provenance step (public API only)."""
    from .recording import Recording

    new_meta = copy.deepcopy(rec.meta)
    new_meta["preprocessing"] = list(new_meta.get("preprocessing", [])) + [step]
    new_meta.update(meta)
    return Recording(activity, rec.bin_size, unit_ids=rec.unit_ids, t_start=rec.t_start,
                     meta=new_meta, spike_times=None)


def _check_level(ci, name):
    if not (isinstance(ci, (int, float)) and 0 < ci < 1):
        raise ParameterError(f"{name}: ci must be a level in (0, 1) such as 0.9, got {ci!r}.")
    return float(ci)


def _check_n_boot(n_boot, name):
    if isinstance(n_boot, bool) or not isinstance(n_boot, (int, np.integer)) or n_boot < 0:
        raise ParameterError(f"{name}: n_boot must be an integer >= 0, got {n_boot!r}.")
    return int(n_boot)


def _fmt_interval(ci, digits=3):
    lo, hi = ci
    if not (np.isfinite(lo) and np.isfinite(hi)):
        return "[no interval]"
    return f"[{lo:.{digits}f}, {hi:.{digits}f}]"


def _p_text(p, floor=None):
    if p is None or not np.isfinite(p):
        return "p = n/a"
    if floor is not None and p <= floor * (1 + 1e-9):
        return f"p <= {floor:.2g}"
    return f"p = {p:.2g}"


#: largest network simulated per replicate of a check (moment estimate, split halves); larger
#: recordings are simulated at this size and the spread rescaled by CHECK_BOOT_N / N
CHECK_BOOT_N = 500
#: split halves of larger recordings fit this many randomly chosen neurons (the same in both
#: halves, ``fraction`` scaled by M / N): two full eigendecompositions would cost more than the
#: whole fit at N = 6000, and a check of stationarity does not need the full precision
SPLIT_MAX_N = 2000


def _fit_gain(data, random_state, fit_params):
    from .fit import GainFit, GainFitWarning

    params = dict(fit_params)
    params.setdefault("random_state", random_state)
    gf = GainFit(**params)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="GainFit: n_boot=", category=GainFitWarning)
        gf.fit(data)
    return gf


# ------------------------------------------------------------------------------ shuffle control
def shift_control(data, random_state=None):
    """Circularly shift each neuron's time course by its own random lag.

    The shifted activity keeps every neuron's values, mean, variance and (up to the one wrap
    point) autocorrelation, hence the effective number of samples a fit infers from it; the
    interactions between neurons are destroyed. Its covariance spectrum is therefore that of
    independent neurons with the recording's own variances and time courses (science.md §4,
    last lines of "Temporally correlated samples"). Of a correlation matrix, a fit should not
    reject the Marchenko-Pastur null and should read ``g_eff`` near 0. Of a covariance matrix,
    unequal variances alone broaden the spectrum (even a linear network's neurons differ in
    variance: N = 80, g = 0.6 gives a control ``g_eff`` of about 0.12 and rejects the null), so
    the control measures what single neurons contribute to ``g_eff``.

    Parameters
    ----------
    data : array_like, shape (n_samples, n_neurons), or Recording
        Activity, time x neurons.
    random_state : int, numpy.random.Generator or None
        Source of the lags (each uniform on ``0 .. n_samples - 1``, independent per neuron).

    Returns
    -------
    ndarray or Recording
        The shifted activity, of the input's type. A Recording records the step (with the
        seed's lags summarised) in ``meta["preprocessing"]`` and the lags in
        ``meta["shift_control"]``; its spike times are dropped (they no longer match).

    Examples
    --------
    >>> import numpy as np
    >>> X = np.arange(12.0).reshape(4, 3)
    >>> Y = shift_control(X, random_state=0)
    >>> sorted(Y[:, 1]) == sorted(X[:, 1])
    True
    """
    X, rec = _activity(data, "shift_control")
    T, N = X.shape
    rng = np.random.default_rng(random_state)
    lags = rng.integers(0, T, size=N)
    # row t of column j takes row (t - lag_j) mod T: one gather for all neurons
    rows = (np.arange(T)[:, None] - lags[None, :]) % T
    Y = np.take_along_axis(X, rows, axis=0)
    if rec is None:
        return Y
    step = (f"shift control: circularly shifted each of {N} neurons by an independent random lag "
            f"(0..{T - 1} samples) to remove interactions and keep autocorrelations")
    return _derived_recording(rec, Y, step, shift_control={"lags": lags.tolist()})


@dataclass
class ShiftControl:
    """The fit of a shift control beside the fit of the data (see :func:`control_fit`).

    Attributes
    ----------
    fit : GainFit
        Fit of the shifted activity.
    g_eff, ci : float, tuple
        Its estimate and interval.
    p_value_null : float
        Goodness-of-fit p-value of the Marchenko-Pastur null on the control.
    null_holds : bool
        ``p_value_null >= 0.05``: the control is consistent with independent neurons.
    comparison : Comparison or None
        Data minus control (when the data's fit was given).
    p_floor : float
        Smallest p-value the control's replicates resolve.

    Examples
    --------
    >>> import numpy as np
    >>> from neurospec.diagnostics import control_fit
    >>> X = np.random.default_rng(0).standard_normal((600, 40))   # independent neurons
    >>> ctl = control_fit(X, random_state=1, n_boot=20)
    >>> type(ctl).__name__, ctl.null_holds
    ('ShiftControl', True)
    """

    fit: object
    g_eff: float
    ci: tuple
    p_value_null: float
    null_holds: bool
    comparison: object = None
    p_floor: float = 0.0

    @property
    def differs(self):
        """Whether the data's ``g_eff`` differs from the control's (None without the data)."""
        return None if self.comparison is None else bool(self.comparison.differ)

    def summary(self):
        """One line for a report.

        Returns
        -------
        str
        """
        txt = (f"shifted data: g_eff = {self.g_eff:.3f} {_fmt_interval(self.ci)}, null "
               f"{_p_text(self.p_value_null, self.p_floor)} -> "
               + ("null holds" if self.null_holds else "null REJECTED on the control: single "
                  "neurons alone (their unequal variances or time courses) make the spectrum "
                  "broader than the null; read g_eff against the control's (kind='correlation' "
                  "removes unequal variances)"))
        if self.comparison is not None:
            c = self.comparison
            txt += (f"; data - control = {c.difference:+.3f} {_fmt_interval(c.difference_ci)}, "
                    f"{_p_text(c.p_value, c.p_floor)} -> data "
                    + ("differ from their control" if c.differ else
                       "do NOT differ from their control"))
        return txt

    def to_dict(self):
        """Plain values for ``report.json``.

        Returns
        -------
        dict
        """
        out = {"g_eff": self.g_eff, "g_eff_ci": list(self.ci),
               "p_value_null": self.p_value_null, "null_holds": self.null_holds,
               "differs": self.differs, "summary": self.summary()}
        if self.comparison is not None:
            out["comparison"] = self.comparison.to_dict()
        return out


def control_fit(data, *, data_fit=None, random_state=None, **fit_params):
    """Fit the shift control of ``data`` (and compare it with the data's fit).

    Parameters
    ----------
    data : array_like or Recording
        Activity, time x neurons (the same activity the data's fit saw).
    data_fit : GainFit, optional
        The data's fit; when given, the difference data - control is tested with
        :func:`compare` (from both fits' bootstrap replicates).
    random_state : int, numpy.random.Generator or None
        Seeds the lags and the control's bootstrap.
    **fit_params
        :class:`~neurospec.GainFit` parameters for the control (use the data fit's:
        ``window``, ``kind``, ``n_boot``...).

    Returns
    -------
    ShiftControl

    Examples
    --------
    >>> import numpy as np
    >>> X = np.random.default_rng(0).standard_normal((600, 40))
    >>> ctl = control_fit(X, random_state=1, n_boot=20)
    >>> ctl.null_holds
    True
    """
    rng = np.random.default_rng(random_state)
    shifted = shift_control(data, random_state=rng)
    cf = _fit_gain(shifted, int(rng.integers(2**63)), fit_params)
    p0 = float(cf.p_value_null_)
    comp = None
    if data_fit is not None:
        comp = compare(data_fit, cf, labels=("data", "shift control"))
    return ShiftControl(fit=cf, g_eff=float(cf.g_eff_), ci=tuple(float(v) for v in cf.g_eff_ci_),
                        p_value_null=p0, null_holds=bool(not (p0 < 0.05)), comparison=comp,
                        p_floor=1.0 / (np.asarray(cf.bootstrap_).size + 1))


# ------------------------------------------------------------------------------ moment estimate
def g_from_participation_ratio(pr, n_neurons, fraction=None):
    """Gain implied by a participation ratio under the iid linear theory.

    ``PR/N = (1 - g^2)^2`` (science.md §2), so ``g^2 = 1 - sqrt(PR/N)``. With a recorded
    fraction ``f = M/N_network`` of the network, ``PR_M/M = 1/(1 + f g^2 (2 - g^2)/(1 - g^2)^2)``
    (§4) is inverted instead: ``g^2 = 1 - 1/sqrt(1 + (M/PR - 1)/f)``. The same number is Dahmen
    et al. (2019)'s ``R^2 = 1 - sqrt(1/(1 + N Delta^2))`` since ``PR/N = 1/(1 + N Delta^2)`` for a
    large network.

    Parameters
    ----------
    pr : float or array_like
        (Bias-corrected) participation ratio.
    n_neurons : int
        Number of neurons N (M when a fraction is given).
    fraction : float, optional
        Recorded fraction of the network, in (0, 1].

    Returns
    -------
    float or ndarray
        ``g`` in [0, 1); 0 where ``PR >= N`` (no broadening), NaN where ``PR`` is NaN or <= 0.

    Examples
    --------
    >>> round(float(g_from_participation_ratio(0.1296 * 400, 400)), 6)
    0.8
    """
    pr = np.asarray(pr, dtype=float)
    n = float(n_neurons)
    f = 1.0 if fraction is None else float(fraction)
    if not 0 < f <= 1:
        raise ParameterError(f"g_from_participation_ratio: fraction must lie in (0, 1], got "
                             f"{fraction!r}.")
    with np.errstate(divide="ignore", invalid="ignore"):
        y = np.maximum(n / pr - 1.0, 0.0) / f
        g2 = 1.0 - 1.0 / np.sqrt(1.0 + y)
        g = np.sqrt(np.clip(g2, 0.0, 1.0))
    g = np.where(np.isfinite(pr) & (pr > 0), g, np.nan)
    return float(g) if g.ndim == 0 else g


def _pr_per_neuron(g, fraction=None):
    """Large-N ``PR/N`` of the iid linear theory: the map :func:`g_from_participation_ratio`
    inverts (``(1 - g^2)^2`` for the whole network)."""
    g2 = g * g
    f = 1.0 if fraction is None else float(fraction)
    return 1.0 / (1.0 + f * g2 * (2.0 - g2) / (1.0 - g2) ** 2)


def _corrected_pr(kept, n_dof):
    """``(tr C)^2 / tr C^2`` of the kept eigenvalues, both moments Wishart-unbiased."""
    return _pr_from_sums(float(np.sum(kept)), float(np.sum(np.square(kept))), n_dof)


def _pr_from_sums(s1, s2, n_dof):
    """Participation ratio from ``sum lambda`` and ``sum lambda^2`` (unbiased for ``n_dof``)."""
    from .spectrum import unbiased_trace_moments

    if n_dof is None or not np.isfinite(n_dof):
        a, b = s1 * s1, s2
    elif n_dof <= 1:
        return float("nan")
    else:
        a, b = unbiased_trace_moments(s1, s2, n_dof)
    return a / b if (a > 0 and b > 0) else float("nan")


def _one_blas_thread(n):
    """One BLAS thread for the many small products of a bootstrap (N < 1000)."""
    import contextlib

    if n >= 1000:
        return contextlib.nullcontext()
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover
        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


def _bartlett(n, dof, rng):
    """Lower-triangular ``A`` with ``A A^T ~ Wishart_n(I, dof)`` (needs ``dof > n - 1``)."""
    A = np.tril(rng.standard_normal((n, n)), -1)
    A[np.diag_indices(n)] = np.sqrt(rng.chisquare(dof - np.arange(n)))
    return A


def _replicate_traces(g, n, n_total, dof, kind, drop, method, rng, pop=None):
    """Sums of the kept eigenvalues and of their squares for one simulated spectrum."""
    from .simulate import draw_couplings

    if dof is None:
        factor = np.eye(n_total)
    elif dof >= n_total + 1:
        factor = _bartlett(n_total, dof, rng)
    else:
        factor = rng.standard_normal((n_total, max(int(round(dof)), 2)))
    if method == "samples":
        L = np.sqrt(pop)[:, None] * factor
    elif g > 0:
        J = draw_couplings(n_total, g, 0.0, rng)
        L = np.linalg.solve(np.eye(n_total) - J, factor)  # rows of (I - J)^-1 B
    else:
        L = factor
    if n_total > n:
        L = L[rng.choice(n_total, size=n, replace=False)]
    if kind == "correlation":
        L = L / np.sqrt(np.einsum("ij,ij->i", L, L))[:, None]
    G = L.T @ L if L.shape[1] < L.shape[0] else L @ L.T
    if drop:
        ev = np.sort(np.clip(np.linalg.eigvalsh(G), 0.0, None))[::-1][drop:]
        return float(np.sum(ev)), float(np.sum(ev * ev))
    return float(np.trace(G)), float(np.sum(G * G))


@dataclass
class MomentEstimate:
    """``g`` from the bias-corrected participation ratio (see :func:`moment_estimate`).

    Attributes
    ----------
    g : float
        The moment estimate ``sqrt(1 - sqrt(PR/N))``.
    ci : tuple of float
        Bias-corrected percentile bootstrap interval at level ``ci_level``.
    stderr : float
        Bootstrap standard deviation.
    participation_ratio : float
        Bias-corrected participation ratio of the kept eigenvalues.
    n_neurons : int
    n_dof : float or None
        Degrees of freedom of the correction (None: population spectrum).
    n_dropped : int
        Top eigenvalues left out (as the shape fit did).
    fraction : float or None
    kind : str
    ci_level : float
    bootstrap : ndarray
        Replicate estimates.
    bootstrap_method : str

    Examples
    --------
    >>> import numpy as np
    >>> from neurospec.diagnostics import moment_estimate
    >>> rng = np.random.default_rng(0)
    >>> J = 0.6 * rng.standard_normal((200, 200)) / np.sqrt(200)
    >>> X = rng.standard_normal((4000, 200)) @ np.linalg.inv(np.eye(200) - J).T
    >>> m = moment_estimate(X, n_boot=50, random_state=1)
    >>> type(m).__name__, m.n_neurons, bool(m.ci[0] < 0.6 < m.ci[1])
    ('MomentEstimate', 200, True)
    """

    g: float
    ci: tuple
    stderr: float
    participation_ratio: float
    n_neurons: int
    n_dof: object
    n_dropped: int
    fraction: object
    kind: str
    ci_level: float
    bootstrap: np.ndarray = field(repr=False)
    bootstrap_method: str = "network"

    def to_dict(self):
        """Plain values for ``report.json``.

        Returns
        -------
        dict
        """
        return {"g": self.g, "g_ci": list(self.ci), "stderr": self.stderr,
                "participation_ratio_corrected": self.participation_ratio,
                "n_dropped": self.n_dropped, "n_boot": int(self.bootstrap.size),
                "bootstrap": self.bootstrap_method}


def moment_estimate(data, *, drop_top=None, kind=None, window=None, fraction=None, ci=None,
                    n_boot=200, bootstrap=None, random_state=None):
    """Gain from the bias-corrected participation ratio, with a bootstrap interval.

    ``g^2 = 1 - sqrt(PR/N)`` with ``PR = (tr C)^2 / tr C^2`` from Wishart-unbiased estimates of
    both trace moments (science.md §4, §6). Unlike the shape fit it uses only the first two
    moments of the spectrum; the two estimate the same ``g`` when the spectrum has the theory's
    shape, so a disagreement (:func:`moment_agreement`) points at outliers, heterogeneity or
    non-stationarity.

    The interval is a parametric bootstrap at the estimate, built like the shape fit's default:
    each replicate draws a new iid coupling matrix with gain ``g`` (``bootstrap="network"``;
    ``"samples"`` holds the population spectrum at the theory's quantiles), ``n_dof`` Gaussian
    samples of ``C = (I - J)^-1 (I - J)^-T`` (Wishart, which matches the second moments of
    autocorrelated samples through Bartlett's ``n_eff``), the same neuron subsampling, matrix
    kind and dropped top modes as the data, and recomputes the estimate. The interval is the
    bias-corrected percentile interval of the replicates: it corrects the estimator's bias at
    finite N, T (large at small g, and from dropped top modes) and follows its skew near g = 1.
    Calibration on simulated linear networks: ``tests/test_diagnostics.py`` and
    ``benchmarks/validate_diagnostics.py``.

    Parameters
    ----------
    data : GainFit, CovarianceSpectrum, array_like or Recording
        A fitted :class:`~neurospec.GainFit` (its eigenvalues, dropped modes, degrees of freedom,
        kind and fraction are used), a fitted :class:`~neurospec.CovarianceSpectrum`, or
        activity (time x neurons).
    drop_top : int, optional
        Top eigenvalues to leave out; default: those the GainFit dropped, else 0.
    kind : {"covariance", "correlation"}, optional
        Matrix of activity input (default covariance); taken from a fitted input.
    window : int, optional
        Window (bins) for activity input.
    fraction : float, optional
        Recorded fraction of the network (default: the GainFit's).
    ci : float, optional
        Interval level (default: the GainFit's, else 0.9).
    n_boot : int
        Bootstrap replicates (0: no interval).
    bootstrap : {"network", "samples"}, optional
        Default: the GainFit's method when it is one of these, else ``"network"``.
    random_state : int, numpy.random.Generator or None

    Returns
    -------
    MomentEstimate

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> J = 0.6 * rng.standard_normal((200, 200)) / np.sqrt(200)
    >>> X = rng.standard_normal((4000, 200)) @ np.linalg.inv(np.eye(200) - J).T
    >>> m = moment_estimate(X, n_boot=50, random_state=1)
    >>> m.ci[0] < 0.6 < m.ci[1]
    True
    """
    from .spectrum import CovarianceSpectrum

    name = "moment_estimate"
    n_boot = _check_n_boot(n_boot, name)
    fit_like = hasattr(data, "g_eff_") and hasattr(data, "eigenvalues_")
    if fit_like:
        ev = np.asarray(data.eigenvalues_, dtype=float)
        n = int(data.n_neurons_)
        dof = data.n_samples_eff_
        kind = getattr(data, "kind_", None) or kind or "covariance"
        drop = int(data.n_dropped_) if drop_top is None else int(drop_top)
        fraction = getattr(data, "fraction", None) if fraction is None else fraction
        ci = getattr(data, "ci", 0.9) if ci is None else ci
        if bootstrap is None:
            m = getattr(data, "bootstrap_method_", "network")
            bootstrap = m if m in ("network", "samples") else "network"
    else:
        if hasattr(data, "eigenvalues_") and hasattr(data, "n_features_in_"):
            spec = data
        else:
            _activity(data, name)  # validates shape and type
            spec = CovarianceSpectrum(kind=kind or "covariance", window=window).fit(data)
        ev = np.asarray(spec.eigenvalues_, dtype=float)
        n = int(spec.n_features_in_)
        dof = float(getattr(spec, "n_dof_", None) or spec.n_samples_eff_)
        kind = getattr(spec, "kind", kind or "covariance")
        drop = 0 if drop_top is None else int(drop_top)
    ci = _check_level(0.9 if ci is None else ci, name)
    bootstrap = bootstrap or "network"
    if bootstrap not in ("network", "samples"):
        raise ParameterError(f"{name}: bootstrap must be 'network' or 'samples', got "
                             f"{bootstrap!r}.")
    if kind not in ("covariance", "correlation"):
        raise ParameterError(f"{name}: kind must be 'covariance' or 'correlation', got {kind!r}.")
    if fraction is not None and not 0 < fraction <= 1:
        raise ParameterError(f"{name}: fraction must lie in (0, 1], got {fraction!r}.")
    dof = None if dof is None or not np.isfinite(dof) else float(dof)
    ev = np.sort(np.clip(ev, 0.0, None))[::-1]
    if not 0 <= drop <= ev.size - 2:
        raise ParameterError(f"{name}: drop_top={drop} leaves fewer than 2 of {ev.size} "
                             "eigenvalues.")
    kept = ev[drop:]
    pr = _corrected_pr(kept, dof)
    g = g_from_participation_ratio(pr, n, fraction)
    boot = np.empty(0)
    lo = hi = se = float("nan")
    if n_boot and np.isfinite(g):
        rng = np.random.default_rng(random_state)
        # above CHECK_BOOT_N neurons the replicates are simulated at that size, with the same
        # N/T and recorded fraction, and their deviation from the large-N PR/N scaled by N'/N
        # (PR/N is a ratio of linear spectral statistics: its bias and spread are O(1/N))
        n_sim = min(n, CHECK_BOOT_N)
        r = n_sim / n
        dof_sim = dof if dof is None or n_sim == n else dof * r
        n_total = n_sim if fraction is None or fraction >= 1 else int(round(n_sim / fraction))
        pops = {}

        def draw(g_sim):
            """PR / N of one spectrum simulated at gain ``g_sim``."""
            g_sim = min(max(float(g_sim), 0.0), _G_SIM_CAP)
            pop = None
            if bootstrap == "samples":
                pop = pops.get(g_sim)
                if pop is None:
                    from .theory import LinearSpectrum

                    pop = (np.asarray(LinearSpectrum(g_sim).rank_curve(n_total), dtype=float)
                           if g_sim > 1e-6 else np.ones(n_total))
                    pops[g_sim] = pop
            s1, s2 = _replicate_traces(g_sim, n_sim, n_total, dof_sim, kind, drop, bootstrap,
                                       rng, pop)
            y = _pr_from_sums(s1, s2, dof_sim) / n_sim
            if n_sim < n:
                y_inf = _pr_per_neuron(g_sim, fraction)
                y = y_inf + (y - y_inf) * r
            return y

        with _one_blas_thread(n_total):
            if bootstrap == "samples" or n_boot < 40:
                # one population per replicate gain would be tabulated: replicates at g only
                y_boot = np.array([draw(g) for _ in range(n_boot)])
                boot = g_from_participation_ratio(y_boot * n, n, fraction)
                boot = boot[np.isfinite(boot)]
                if boot.size >= 2:
                    se = float(np.std(boot, ddof=1))
                    lo, hi = _bc_interval(g, boot, ci)
            else:
                lo, hi, se, boot = _inverted_interval(g, pr / n, draw, n_boot, ci, rng,
                                                      lambda y: g_from_participation_ratio(
                                                          y * n, n, fraction))
    return MomentEstimate(g=float(g), ci=(lo, hi), stderr=se, participation_ratio=float(pr),
                          n_neurons=n, n_dof=dof, n_dropped=drop, fraction=fraction, kind=kind,
                          ci_level=ci, bootstrap=boot, bootstrap_method=bootstrap)


def _inverted_interval(g_hat, y_hat, draw, n_boot, level, rng, to_g):
    """Confidence interval for g by inverting the simulated test of each g (Neyman).

    ``draw(g)`` simulates the statistic ``y = PR/N`` at gain ``g``. A quarter of the replicates
    (at least 20) are drawn at ``g_hat`` (their spread in g sets the range and the standard
    error); the rest at gains spread uniformly over ``g_hat +- 4 s.e.``. A location-scale model
    ``log y = m(x) + s(x) eps`` in ``x = log(1 - g^2)`` (``m`` quadratic, ``log s`` linear,
    ``eps`` the empirical standardised residuals, so skew is kept; the theory's ``log y = 2x``
    makes ``m`` nearly linear up to g -> 1) gives the acceptance region of each g; the interval
    is the set of g whose region holds ``y_hat``. Unlike an interval built from replicates at
    ``g_hat`` alone, this follows how bias, spread and skew change with g, which they do
    steeply near g = 1.
    """
    n_pilot = max(20, n_boot // 4)
    y_p = np.array([draw(g_hat) for _ in range(n_pilot)])
    y_p = y_p[np.isfinite(y_p)]
    g_p = to_g(y_p)
    g_p = g_p[np.isfinite(g_p)]
    if g_p.size < 2:
        return float("nan"), float("nan"), float("nan"), g_p
    se = float(np.std(g_p, ddof=1))
    half = 4.0 * se + 0.01
    lo_r, hi_r = max(0.0, g_hat - half), min(_G_SIM_CAP, g_hat + half)
    g_s = rng.uniform(lo_r, hi_r, max(n_boot - n_pilot, 0))
    y_s = np.array([draw(v) for v in g_s])
    G = np.r_[np.full(y_p.size, g_hat), g_s]
    with np.errstate(divide="ignore", invalid="ignore"):
        Y = np.log(np.r_[y_p, y_s])  # log PR/N: its spread hardly changes with g
    ok = np.isfinite(Y)
    G, Y = G[ok], Y[ok]
    y_hat = math.log(y_hat) if y_hat > 0 else -np.inf

    def coord(v):  # log(1 - g^2): log PR/N is nearly linear in it, up to g -> 1
        return np.log1p(-np.square(v)) - math.log1p(-g_hat * g_hat)

    X = np.vander(coord(G), 3)
    loc = np.linalg.lstsq(X, Y, rcond=None)[0]
    e = Y - X @ loc
    Z = np.vander(coord(G), 2)
    scl = np.linalg.lstsq(Z, np.log(np.abs(e) + 1e-12), rcond=None)[0]
    eps = e / np.exp(Z @ scl)
    q_lo, q_hi = np.quantile(eps, [(1.0 - level) / 2.0, (1.0 + level) / 2.0])
    grid = np.linspace(lo_r, hi_r, 1201)
    m = np.vander(coord(grid), 3) @ loc
    s = np.exp(np.vander(coord(grid), 2) @ scl)
    accepted = (m + s * q_lo <= y_hat) & (y_hat <= m + s * q_hi)
    if not accepted.any():  # the model cannot place y_hat: fall back on replicates at g_hat
        lo, hi = _bc_interval(g_hat, g_p, level)
        return lo, hi, se, g_p
    return float(grid[accepted].min()), float(grid[accepted].max()), se, g_p


def _bc_interval(est, boot, level):
    """Bias-corrected percentile interval (Efron 1981) of bootstrap replicates ``boot``.

    ``z0 = Phi^-1(P(g* < est))`` measures the median bias; the interval is the replicates'
    quantiles at ``Phi(2 z0 -+ z)``. It corrects the estimator's bias (large at small g, where
    ``g = sqrt(1 - sqrt(PR/N))`` is steep) and follows its skew, which grows towards g = 1
    (the PR is dominated by a few slow modes there); a basic (reflected) interval under-covers
    there: 0.57-0.70 for nominal 0.90 at g = 0.85-0.9, N = 60-150 in our simulations.
    """
    from scipy.stats import norm

    b = np.sort(np.asarray(boot, dtype=float))
    B = b.size
    if est <= 0:  # at the boundary: the upper percentile of replicates drawn at g = 0
        return 0.0, float(min(np.quantile(b, level), 1.0))
    p = (np.sum(b < est) + 0.5 * np.sum(b == est)) / B
    p = min(max(p, 1.0 / (B + 1)), B / (B + 1.0))
    z0 = norm.ppf(p)
    z = norm.ppf((1.0 + level) / 2.0)
    lo, hi = np.quantile(b, norm.cdf([2 * z0 - z, 2 * z0 + z]))
    return float(max(lo, 0.0)), float(min(hi, 1.0))


def moment_agreement(fit, moment, *, level=None):
    """Whether the moment estimate and the shape fit agree within their errors.

    The test statistic is ``z = (g_moment - g_fit) / sqrt(se_moment^2 + se_fit^2)`` with each
    standard error from its own bootstrap. The two estimates come from the same spectrum and are
    positively correlated, so the variance of their difference is *smaller* than this sum: the
    test is conservative (it flags less often than its level when the theory holds) and flags
    gross departures from the theory's shape -- outlying modes, heterogeneous neurons,
    non-stationarity (science.md §6).

    Parameters
    ----------
    fit : GainFit
        Fitted, with a bootstrap.
    moment : MomentEstimate
    level : float, optional
        Flag when the two-sided p-value is below ``1 - level`` (default: the fit's ``ci``).

    Returns
    -------
    dict
        ``difference`` (moment - fit), ``z``, ``p_value``, ``agree`` (bool or None without
        errors) and ``summary`` (one line).

    Examples
    --------
    >>> import numpy as np
    >>> from neurospec import GainFit
    >>> rng = np.random.default_rng(0)
    >>> J = 0.5 * rng.standard_normal((150, 150)) / np.sqrt(150)
    >>> X = rng.standard_normal((3000, 150)) @ np.linalg.inv(np.eye(150) - J).T
    >>> gf = GainFit(n_boot=50, random_state=0).fit(X)
    >>> moment_agreement(gf, moment_estimate(gf, n_boot=50, random_state=0))["agree"]
    True
    """
    from scipy.stats import norm

    level = _check_level(getattr(fit, "ci", 0.9) if level is None else level, "moment_agreement")
    d = float(moment.g - fit.g_eff_)
    se = math.hypot(float(moment.stderr), float(fit.g_eff_stderr_))
    if not (np.isfinite(se) and se > 0 and np.isfinite(d)):
        return {"difference": d, "z": float("nan"), "p_value": float("nan"), "agree": None,
                "summary": (f"moment estimate g = {moment.g:.3f} vs shape fit "
                            f"{fit.g_eff_:.3f}: no errors to compare (n_boot = 0?)")}
    z = d / se
    p = float(2 * norm.sf(abs(z)))
    agree = bool(p >= 1.0 - level)
    k = stderr_decimals(moment.stderr, fit.g_eff_stderr_)
    txt = (f"moment estimate g = {moment.g:.{k}f} {_fmt_interval(moment.ci, k)} (PR/N = "
           f"{moment.participation_ratio / moment.n_neurons:.3f}) vs shape fit "
           f"{fit.g_eff_:.{k}f}: difference {d:+.{k}f} ({z:+.1f} s.e., p = {p:.2g}) -> "
           + ("agree" if agree else "DISAGREE: the spectrum is not the theory's shape (outlying "
              "modes, heterogeneous neurons or non-stationarity)"))
    return {"difference": d, "z": float(z), "p_value": p, "agree": agree, "summary": txt}


# ------------------------------------------------------------------------------ comparisons
@dataclass
class Comparison:
    """Difference of ``g_eff`` between two fits (see :func:`compare`).

    Attributes
    ----------
    labels : tuple of str
    g_eff : tuple of float
        The two estimates (a, b).
    ci : tuple of tuple
        Their own intervals.
    difference : float
        ``g_a - g_b``.
    difference_ci : tuple of float
        Basic bootstrap interval of the difference at level ``ci_level``.
    p_value : float
        Two-sided p-value of ``g_a = g_b``.
    p_floor : float
        Smallest p-value the replicates resolve, ``1 / (min(B_a, B_b) + 1)``.
    ci_level : float
    differ : bool
        ``p_value < 1 - ci_level`` (the interval of the difference excludes 0).
    replicates : ndarray
        Bootstrap distribution of the difference (pivot ``+ difference``), for plots.
    bootstrap_methods : tuple of str
    fits : tuple
        The two fits.

    Examples
    --------
    >>> import numpy as np
    >>> from neurospec.diagnostics import compare
    >>> def sample(g, seed):
    ...     r = np.random.default_rng(seed)
    ...     J = g * r.standard_normal((100, 100)) / 10
    ...     return r.standard_normal((2000, 100)) @ np.linalg.inv(np.eye(100) - J).T
    >>> c = compare(sample(0.3, 1), sample(0.7, 2), n_boot=50, random_state=0)
    >>> type(c).__name__, bool(c.differ), bool(c.difference < 0)
    ('Comparison', True, True)
    """

    labels: tuple
    g_eff: tuple
    ci: tuple
    difference: float
    difference_ci: tuple
    p_value: float
    p_floor: float
    ci_level: float
    differ: bool
    replicates: np.ndarray = field(repr=False)
    bootstrap_methods: tuple = ("", "")
    fits: tuple = field(default=(None, None), repr=False)

    def summary(self):
        """One line for a report.

        Returns
        -------
        str
        """
        a, b = self.labels
        return (f"g_eff({a}) - g_eff({b}) = {self.difference:+.3f} "
                f"{_fmt_interval(self.difference_ci)} ({100 * self.ci_level:.0f}% CI), "
                f"{_p_text(self.p_value, self.p_floor)} -> "
                + ("differ" if self.differ else "no detectable difference"))

    def to_frame(self):
        """The comparison as a table: one row per condition and one for the difference.

        Returns
        -------
        pandas.DataFrame
            Columns ``g_eff``, ``ci_low``, ``ci_high``, ``p_value`` (difference row only),
            ``bootstrap``; index ``condition``.
        """
        import pandas as pd

        rows = []
        for lab, g, c, m in zip(self.labels, self.g_eff, self.ci, self.bootstrap_methods):
            rows.append(dict(condition=lab, g_eff=g, ci_low=c[0], ci_high=c[1],
                             p_value=np.nan, bootstrap=m))
        rows.append(dict(condition=f"{self.labels[0]} - {self.labels[1]}", g_eff=self.difference,
                         ci_low=self.difference_ci[0], ci_high=self.difference_ci[1],
                         p_value=self.p_value, bootstrap="paired replicates"))
        df = pd.DataFrame(rows).set_index("condition")
        df.attrs.update(ci_level=self.ci_level, differ=self.differ, p_floor=self.p_floor)
        return df

    def to_dict(self):
        """Plain values for ``report.json``.

        Returns
        -------
        dict
        """
        return {"labels": list(self.labels), "g_eff": list(self.g_eff),
                "ci": [list(c) for c in self.ci], "difference": self.difference,
                "difference_ci": list(self.difference_ci), "p_value": self.p_value,
                "p_floor": self.p_floor, "ci_level": self.ci_level, "differ": self.differ,
                "bootstrap": list(self.bootstrap_methods), "summary": self.summary()}


def compare(a, b, *, labels=("A", "B"), ci=None, random_state=None, **fit_params):
    """Difference of ``g_eff`` between two conditions, with its interval and a p-value.

    Each fit's bootstrap replicates ``g*`` describe how its estimate scatters about the truth
    (``g* - median(g*)``; the point estimate of :class:`~neurospec.GainFit` is already
    bias-corrected from the same replicates). For two independent recordings the difference's
    pivot is ``(g*_a - med_a) - (g*_b - med_b)`` over all pairs of replicates; the basic
    interval of the difference is ``d - [q_hi, q_lo]`` of that pivot and the two-sided p-value
    of ``g_a = g_b`` is where that interval starts to exclude 0,
    ``2 min(P(pivot >= d), P(pivot <= d))``, floored at ``1 / (min(B_a, B_b) + 1)``.

    Which variability the test includes is the fits' bootstrap: ``"network"`` (the default)
    for two networks (animals) drawn from one ensemble, ``"samples"``/``"block"`` for the same
    neurons recorded twice (conditional on the network; a network bootstrap there is valid but
    conservative).

    Parameters
    ----------
    a, b : GainFit, array_like or Recording
        Fitted GainFits with bootstrap replicates, or activity to fit with ``GainFit(**fit_params)``.
    labels : (str, str)
        Names of the conditions.
    ci : float, optional
        Level of the difference's interval (default: the fits' ``ci``).
    random_state : int, numpy.random.Generator or None
        Seeds the fits of activity input (and the subset of pairs when there are very many).
    **fit_params
        :class:`~neurospec.GainFit` parameters for activity input.

    Returns
    -------
    Comparison

    Examples
    --------
    >>> import numpy as np
    >>> from neurospec import GainFit
    >>> rng = np.random.default_rng(0)
    >>> def sample(g, seed):
    ...     r = np.random.default_rng(seed)
    ...     J = g * r.standard_normal((100, 100)) / 10
    ...     return r.standard_normal((2000, 100)) @ np.linalg.inv(np.eye(100) - J).T
    >>> c = compare(sample(0.3, 1), sample(0.7, 2), n_boot=50, random_state=0)
    >>> c.differ, c.difference < 0
    (True, True)
    """
    rng = np.random.default_rng(random_state)
    fits = []
    for data in (a, b):
        if hasattr(data, "g_eff_") and hasattr(data, "bootstrap_"):
            fits.append(data)
        else:
            fits.append(_fit_gain(data, int(rng.integers(2**63)), fit_params))
    fa, fb = fits
    if ci is None:
        ci = getattr(fa, "ci", 0.9)
    ci = _check_level(ci, "compare")
    ba, bb = (np.asarray(f.bootstrap_, dtype=float) for f in fits)
    ba, bb = ba[np.isfinite(ba)], bb[np.isfinite(bb)]
    if ba.size < 2 or bb.size < 2:
        raise FitError("compare: both fits need bootstrap replicates (GainFit n_boot >= 2; "
                       f"got {ba.size} and {bb.size}). Refit with n_boot=200.")
    ga, gb = float(fa.g_eff_), float(fb.g_eff_)
    methods = tuple(str(getattr(f, "bootstrap_method_", "?")) for f in fits)
    if len(set(methods)) > 1:
        warnings.warn(f"compare: the fits used different bootstraps {methods}; the difference's "
                      "interval mixes conditional and ensemble variability.", UserWarning,
                      stacklevel=2)
    # each fit's replicate deviations about their own median: GainFit's point estimate is
    # bias-corrected from its replicates, so only their spread and shape are used here
    ea, eb = ba - np.median(ba), bb - np.median(bb)
    if ea.size * eb.size <= _MAX_PAIRS:
        pivot = (ea[:, None] - eb[None, :]).ravel()
    else:
        pivot = rng.choice(ea, _MAX_PAIRS) - rng.choice(eb, _MAX_PAIRS)
    d = ga - gb
    q_lo, q_hi = np.quantile(pivot, [(1 - ci) / 2, (1 + ci) / 2])
    d_ci = (float(d - q_hi), float(d - q_lo))
    floor = 1.0 / (min(ba.size, bb.size) + 1)
    tail = min(np.mean(pivot >= d), np.mean(pivot <= d))
    p = float(min(1.0, max(2.0 * tail, floor)))
    return Comparison(labels=tuple(labels), g_eff=(ga, gb),
                      ci=tuple(tuple(float(v) for v in f.g_eff_ci_) for f in fits),
                      difference=float(d), difference_ci=d_ci, p_value=p, p_floor=floor,
                      ci_level=ci, differ=bool(p < 1.0 - ci), replicates=d + pivot,
                      bootstrap_methods=methods, fits=(fa, fb))


@dataclass
class SplitHalf:
    """Fits of the two halves of a recording and their comparison (see :func:`split_half`).

    Attributes
    ----------
    first, second : GainFit
    comparison : Comparison
        First minus second half.
    neurons : ndarray of int or None
        Columns both halves were fitted on (a random subset of ``max_neurons`` of a larger
        recording, with ``fraction`` scaled by M / N); None: all neurons.
    n_neurons : int or None
        Neurons of the recording.

    Examples
    --------
    >>> import numpy as np
    >>> from neurospec.diagnostics import split_half
    >>> rng = np.random.default_rng(0)
    >>> J = 0.5 * rng.standard_normal((80, 80)) / np.sqrt(80)
    >>> X = rng.standard_normal((3000, 80)) @ np.linalg.inv(np.eye(80) - J).T
    >>> halves = split_half(X, n_boot=50, random_state=1)
    >>> type(halves).__name__, halves.agree
    ('SplitHalf', True)
    """

    first: object
    second: object
    comparison: object
    neurons: object = None
    n_neurons: int | None = None

    @property
    def agree(self):
        """The halves agree: the interval of their difference contains 0."""
        return not self.comparison.differ

    def summary(self):
        """One line for a report.

        Returns
        -------
        str
        """
        c = self.comparison
        k = stderr_decimals(self.first.g_eff_stderr_, self.second.g_eff_stderr_)
        subset = ("" if self.neurons is None else
                  f"{len(self.neurons)} of {self.n_neurons} neurons: ")
        return (subset
                + f"first half {self.first.g_eff_:.{k}f} "
                f"{_fmt_interval(self.first.g_eff_ci_, k)}, second half "
                f"{self.second.g_eff_:.{k}f} {_fmt_interval(self.second.g_eff_ci_, k)}; "
                f"difference {c.difference:+.{k}f} {_fmt_interval(c.difference_ci, k)}, "
                f"{_p_text(c.p_value, c.p_floor)} -> "
                + ("agree" if self.agree else "DISAGREE: the recording is not stationary (or the "
                   "estimate depends on the period)"))

    def to_dict(self):
        """Plain values for ``report.json``.

        Returns
        -------
        dict
        """
        out = self.comparison.to_dict()
        out.update(agree=self.agree, summary=self.summary(),
                   n_neurons=self.n_neurons,
                   neurons_used=(self.n_neurons if self.neurons is None
                                 else len(self.neurons)),
                   n_samples=[int(getattr(f, "info_", {}).get("n_samples") or 0)
                              for f in (self.first, self.second)])
        return out


def _read_columns(lazy, columns):
    """``columns`` (None: all) of a recording opened with :func:`neurospec.io.open_lazy`, read
    chunk by chunk: time x len(columns), float64."""
    from ._memory import check_memory

    T, n = lazy.shape
    m = n if columns is None else len(columns)
    check_memory(8 * T * m, f"split_half: {T} samples x {m} neurons as float64",
                 "Skip the split halves (neurospec fit --no-checks) or pass fewer neurons "
                 "(max_neurons).")
    X = np.empty((T, m))
    for start, block in lazy.iter_chunks():
        X[start:start + block.shape[0]] = block if columns is None else block[:, columns]
    if not np.all(np.isfinite(X)):
        raise DataValueError("split_half: the recording has NaN or infinite values; remove or "
                             "interpolate them before fitting.")
    return X


def split_half(data, *, random_state=None, bootstrap="samples", protocol=None,
               max_neurons=SPLIT_MAX_N, **fit_params):
    """Fit the first and second halves of a recording and test whether they agree.

    Both halves come from the same neurons, so by default the replicates are conditional on the
    network (``bootstrap="samples"``): the test asks whether the two periods differ by more than
    sampling noise. (A ``"network"`` bootstrap would add network-to-network variability the two
    halves do not have, making the test conservative.)

    Parameters
    ----------
    data : array_like, Recording or LazyActivity
        Activity, time x neurons; split at ``n_samples // 2``. A recording opened with
        :func:`neurospec.io.open_lazy` is read chunk by chunk, only the columns fitted.
    random_state : int, numpy.random.Generator or None
    bootstrap : str
        :class:`~neurospec.GainFit` bootstrap of each half.
    protocol : str, optional
        Fit each half with a published procedure's settings (:func:`protocol_params`, with
        ``alpha = N / T`` of the half).
    max_neurons : int or None
        Above this many neurons both halves are fitted on the same random ``max_neurons`` of
        them, as a recording of the fraction ``fraction * max_neurons / N`` of the network
        (default ``SPLIT_MAX_N``, 2000; the estimate is less precise than from all neurons, the
        test stays calibrated). None: all neurons.
    **fit_params
        Other GainFit parameters (``window``, ``kind``, ``n_boot``, ``ci``...).
        ``max_boot_neurons`` defaults to ``CHECK_BOOT_N`` (500) here: a check, not the
        reported interval, so its replicates are simulated at most at that size.

    Returns
    -------
    SplitHalf

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> J = 0.5 * rng.standard_normal((80, 80)) / np.sqrt(80)
    >>> X = rng.standard_normal((3000, 80)) @ np.linalg.inv(np.eye(80) - J).T
    >>> split_half(X, n_boot=50, random_state=1).agree
    True
    """
    if max_neurons is not None and (isinstance(max_neurons, bool)
                                    or not isinstance(max_neurons, Integral) or max_neurons < 50):
        raise ParameterError(f"split_half: max_neurons must be an integer >= 50 or None, "
                             f"got {max_neurons!r}.")
    lazy = hasattr(data, "iter_chunks")
    if lazy:
        T, n = data.shape
    else:
        X, _ = _activity(data, "split_half")
        T, n = X.shape
    rng = np.random.default_rng(random_state)
    neurons = None
    if max_neurons is not None and n > max_neurons:
        neurons = np.sort(rng.choice(n, size=int(max_neurons), replace=False))
        fraction = fit_params.get("fraction")
        fit_params = dict(fit_params, fraction=(1.0 if fraction is None else fraction)
                          * max_neurons / n)
    if lazy:
        X = _read_columns(data, neurons)
    elif neurons is not None:
        X = X[:, neurons]
    h = T // 2
    fits = []
    for part in (X[:h], X[h:2 * h]):
        params = {}
        if protocol not in (None, "default"):
            params = protocol_params(protocol, part, window=fit_params.get("window"))
        params.update(fit_params, bootstrap=bootstrap)
        params.setdefault("max_boot_neurons", CHECK_BOOT_N)
        seed = int(rng.integers(2**63))
        gf = _fit_gain(part, seed, params)
        boot = np.asarray(getattr(gf, "bootstrap_", []), dtype=float)
        if bootstrap != "network" and boot.size >= 2 and not np.std(boot) > 0:
            # degenerate replicates (all equal: seen with bootstrap="samples" on strongly
            # autocorrelated calcium data): the network bootstrap still gives a valid,
            # if conservative, interval
            warnings.warn(f"split_half: the {bootstrap!r} bootstrap of a half gave identical "
                          "replicates; using bootstrap='network' (valid, conservative).",
                          UserWarning, stacklevel=2)
            gf = _fit_gain(part, seed, dict(params, bootstrap="network"))
        fits.append(gf)
    comp = compare(fits[0], fits[1], labels=("first half", "second half"))
    return SplitHalf(first=fits[0], second=fits[1], comparison=comp, neurons=neurons,
                     n_neurons=int(n))


# ------------------------------------------------------------------------------ protocols
#: published procedures as GainFit parameters (``alpha: "N/T"`` is filled in from the data)
PROTOCOLS = {
    "default": {},
    "hu-sompolinsky": {"kind": "correlation", "drop_top": 1, "alpha": "N/T", "scale": "mean",
                       "cost": "cvm", "model": "iid"},
}


def protocol_params(protocol, data=None, *, window=None):
    """GainFit parameters that reproduce a published procedure.

    ``"hu-sompolinsky"`` (Hu & Sompolinsky 2022, science.md §6): correlation matrix of the
    binned activity, top principal component dropped, ``alpha = N / T`` (samples taken as
    independent), eigenvalues divided by their mean (``scale="mean"``), Cramer-von Mises
    distance to the iid theory. neurospec's bootstrap interval and null test come on top.
    ``"default"``: neurospec's own defaults (empty dict).

    Parameters
    ----------
    protocol : {"default", "hu-sompolinsky"}
    data : array_like or Recording, optional
        Activity, needed to set ``alpha = N / T`` (T: number of samples, or of windows).
    window : int, optional
        Window (bins) the fit will use; included in the result.

    Returns
    -------
    dict
        Keyword arguments for :class:`~neurospec.GainFit`.

    Examples
    --------
    >>> import numpy as np
    >>> p = protocol_params("hu-sompolinsky", np.zeros((1200, 300)))
    >>> p["alpha"], p["drop_top"], p["kind"], p["scale"]
    (0.25, 1, 'correlation', 'mean')
    """
    if protocol not in PROTOCOLS:
        raise ParameterError(f"protocol {protocol!r} is not known; choose one of "
                             f"{', '.join(map(repr, PROTOCOLS))}.")
    params = dict(PROTOCOLS[protocol])
    if window is not None:
        params["window"] = window
    if params.get("alpha") == "N/T":
        if data is None:
            raise ParameterError(f"protocol {protocol!r} sets alpha = N/T from the data; pass "
                                 "the activity (data=...).")
        shape = np.shape(data.activity if hasattr(data, "activity") else data)
        if len(shape) != 2:
            raise ShapeError(f"protocol_params: activity must be 2-D, got shape {shape}.")
        T = shape[0] // (window or 1)
        params["alpha"] = shape[1] / T
    return params


def protocol_fit(data, protocol="hu-sompolinsky", **overrides):
    """Fit ``data`` with a published procedure's settings (see :func:`protocol_params`).

    Parameters
    ----------
    data : array_like or Recording
        Activity, time x neurons.
    protocol : str
    **overrides
        GainFit parameters that replace the protocol's or add to them (``n_boot``,
        ``random_state``, ``window``...).

    Returns
    -------
    GainFit
        Fitted.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> J = 0.6 * rng.standard_normal((150, 150)) / np.sqrt(150)
    >>> X = rng.standard_normal((1500, 150)) @ np.linalg.inv(np.eye(150) - J).T
    >>> gf = protocol_fit(X, n_boot=20, random_state=0)
    >>> gf.n_dropped_, round(gf.alpha_, 3)
    (1, 0.1)
    """
    from .fit import GainFit

    params = protocol_params(protocol, data, window=overrides.get("window"))
    params.update(overrides)
    return GainFit(**params).fit(data)


# ------------------------------------------------------------------------------ for the CLI
def run_checks(data, fit, *, control=None, split=True, moment=True, n_boot=None,
               random_state=0, fit_params=None, protocol=None):
    """The reviewer's checks beside a fit, as plain values for a report.

    Parameters
    ----------
    data : array_like or Recording
        The activity the fit saw (before windowing).
    fit : GainFit
        The data's fit.
    control : {None, "shift"}
        Also fit the shift control and compare the data with it.
    split : bool
        Fit the two halves.
    moment : bool
        Moment estimate and its agreement with the fit.
    n_boot : int, optional
        Replicates of the checks (default: the fit's ``n_boot``, at most 100).
    random_state : int
    fit_params : dict, optional
        GainFit parameters the checks share with the fit (``window``, ``kind``, ``fraction``,
        ``ci``, ``drop_top``...).
    protocol : str, optional
        The fit's protocol (:func:`protocol_params`): the halves get ``alpha = N / T`` of their
        own length; the control keeps the fit's.

    Returns
    -------
    checks : dict
        ``{"control": ..., "moment": ..., "split_half": ...}`` (None where not run or failed;
        ``"errors"`` lists what failed and why).
    objects : dict
        The result objects (``ShiftControl``, ``MomentEstimate``, ``SplitHalf``) for figures.

    Examples
    --------
    >>> import numpy as np
    >>> from neurospec import GainFit
    >>> X = np.random.default_rng(0).standard_normal((1000, 40))
    >>> gf = GainFit(n_boot=20, random_state=0).fit(X)
    >>> checks, _ = run_checks(X, gf, n_boot=20, split=False)
    >>> sorted(checks)
    ['control', 'errors', 'moment', 'split_half']
    """
    from .errors import NeurospecError

    params = dict(fit_params or {})
    if n_boot is None:
        n_boot = min(int(getattr(fit, "n_boot", 100)), 100)
    params["n_boot"] = n_boot
    rng = np.random.default_rng(random_state)
    checks = {"control": None, "moment": None, "split_half": None, "errors": []}
    objects = {}
    if moment:
        try:
            m = moment_estimate(fit, n_boot=n_boot, random_state=rng.integers(2**63))
            agreement = moment_agreement(fit, m)
            checks["moment"] = dict(m.to_dict(), **agreement)
            objects["moment"] = m
        except (NeurospecError, np.linalg.LinAlgError) as exc:
            checks["errors"].append(f"moment estimate: {exc}")
    if split:
        try:
            half_params = dict(params)
            half_params.pop("bootstrap", None)  # the halves share one network: "samples"
            if protocol not in (None, "default"):
                half_params.pop("alpha", None)
            sh = split_half(data, random_state=rng.integers(2**63), protocol=protocol,
                            **half_params)
            checks["split_half"] = sh.to_dict()
            objects["split_half"] = sh
        except NeurospecError as exc:
            checks["errors"].append(f"split-half: {exc}")
    if control not in (None, "none"):
        if control != "shift":
            raise ParameterError(f"control {control!r} is not known; use 'shift'.")
        try:
            ctl = control_fit(data, data_fit=fit, random_state=rng.integers(2**63), **params)
            checks["control"] = ctl.to_dict()
            objects["control"] = ctl
        except NeurospecError as exc:
            checks["errors"].append(f"shift control: {exc}")
    return checks, objects


def format_checks(checks):
    """Report rows ``(label, text)`` for the checks of :func:`run_checks`.

    Parameters
    ----------
    checks : dict or None
        ``report["checks"]``.

    Returns
    -------
    list of (str, str)

    Examples
    --------
    >>> format_checks(None)
    []
    """
    if not checks:
        return []
    rows = []
    if checks.get("control"):
        rows.append(("shift control", checks["control"]["summary"]))
    if checks.get("moment"):
        rows.append(("moment estimate", checks["moment"]["summary"]))
    if checks.get("split_half"):
        rows.append(("split halves", checks["split_half"]["summary"]))
    for err in checks.get("errors") or []:
        rows.append(("check failed", err))
    return rows
