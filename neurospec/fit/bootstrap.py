"""Bootstrap and intervals: replicate spectra drawn from the fitted model, their refits, the
goodness-of-fit p-values of the model and of the null, and the confidence interval.

``bootstrap="network"`` (the default): parametric bootstrap from the fitted model, drawing for
each replicate a *new* coupling matrix with the fitted gain and new Gaussian samples with the
data's temporal correlation, and refitting. For N of a few hundred the network-to-network
fluctuation of the spectrum dominates the sampling noise once ``g >~ 0.5`` (N = 400, g = 0.8:
standard deviation of the estimate 0.0036 across networks against 0.0012 for repeated samples
of one network at alpha = 0.1, 0.0050 against 0.0028 at alpha = 0.5), so an interval for the
gain parameter of the random-network model must resample the network. ``bootstrap="samples"``:
the population spectrum is held at the fitted theory's quantiles and only samples are redrawn
(uncertainty conditional on this network). ``bootstrap="block"`` (activity input only):
random halves of time blocks longer than the autocorrelation, also conditional on the network
and free of any model of the time course (resampling blocks *with* replacement would duplicate
samples and widen the spectrum beyond the sampling model; see ``half_samples``).

Samples of a replicate: ``T'`` samples with the data's temporal spectrum ``b`` (the
eigenvalues of B, :class:`~neurospec.theory.temporal.TemporalSpectrum`): in the Fourier basis
of B the noise is ``Z diag(sqrt(b))``, Z iid, so the replicate's sample covariance is
``L Z diag(b) Z^T L^T`` (``L = (I - J)^-1``). Independent samples use a Wishart factor from
Bartlett's decomposition. Replicates drop top modes with the same rule as the data and are
censored the same way; the null p-value draws ``MP (x) B`` spectra.

Intervals are basic bootstrap intervals in ``atanh(g)`` (they correct the small finite-N bias
that the bootstrap reproduces, and ``atanh`` stabilises the variance near g = 1);
``ci_method="percentile"`` is available.
"""

from __future__ import annotations

import contextlib
import math
import warnings

import numpy as np

from .._progress import progress_bar
from ..errors import ParameterError
from .forward import G_CAP, NZ, Z, Model
from .optimize import Engine, fit_with_drop, lm, targets

#: largest simulated network (N / fraction) of the network bootstrap
MAX_NETWORK = 2500
#: larger recordings are bootstrapped at this size, the deviations scaled by N' / N and the
#: distances by :func:`cost_scale`: the estimate fluctuates at O(1/N) like a linear spectral
#: statistic (measured, g = 0.6, alpha = 0.25: sd(g) N = 0.81, 1.13, 1.14 at N = 250, 500,
#: 1000; alpha = 0.5: 1.52, 1.43, 1.46, 1.40 at N = 500, 1000, 2000, 4000 from 60, 60, 60, 26
#: networks), the CvM distance at O(log N / N^2) (median W^2 N^2 = 0.51, 0.59, 0.65)
MAX_BOOT_N = 1000


def cost_scale(n_sim, n):
    """Factor from the CvM distance of an ``n_sim``-neuron spectrum to that of ``n`` neurons.

    The distance is an integral of the squared deviation of the eigenvalue counting function,
    whose variance grows like log N (eigenvalue rigidity), so ``N^2 W^2 ~ c (log N + b)``
    rather than a constant. Measured on MP and linear-network spectra (N = 100 ... 600,
    200 replicates each): ``b = 0.7`` matches the median to 2 %; with ``(N'/N)^2`` alone the
    null's p-values at N = 600 from N' = 200 were too small (5 of 24 <= 0.05; 1 with the log).

    Parameters
    ----------
    n_sim : int
        Neurons of the simulated spectrum.
    n : int
        Neurons of the recording.

    Returns
    -------
    float
        ``(n_sim / n)^2 (log n + 0.7) / (log n_sim + 0.7)``; 1 when ``n_sim >= n``.

    Examples
    --------
    >>> round(cost_scale(1000, 4000), 4)
    0.0739
    """
    if n_sim >= n:
        return 1.0
    return (n_sim / n) ** 2 * (math.log(n) + 0.7) / (math.log(n_sim) + 0.7)


def reduced(n, dof, temporal, n_sim):
    """The sampling model of a network of ``n_sim`` neurons with the same N/T and the same
    distribution of temporal eigenvalues (quantiles at ``T n_sim / n`` points)."""
    from ..theory.temporal import TemporalSpectrum

    if n_sim >= n:
        return dof, temporal
    dof_s = dof * n_sim / n if np.isfinite(dof) else dof
    if temporal is None:
        return dof_s, None
    m = max(int(round(temporal.n_samples * n_sim / n)), 2)
    return dof_s, TemporalSpectrum(np.quantile(temporal.values, (np.arange(m) + 0.5) / m))


# --------------------------------------------------------------------------------------------
# random matrices
# --------------------------------------------------------------------------------------------
def blas_threads(n):
    """One BLAS thread for the many small eigenproblems of a bootstrap (N < 1000).

    Multithreaded LAPACK on 400 x 400 matrices gains little and, on a machine whose cores are
    busy, can be 20x slower than one thread (measured: eigvalsh 0.30 s vs 0.014 s).
    """
    if n >= 1000:
        return contextlib.nullcontext()
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1, user_api="blas")


_TRIL_CACHE = {}


def _tril_indices(n):
    idx = _TRIL_CACHE.get(n)
    if idx is None:
        idx = np.tril_indices(n, -1)
        _TRIL_CACHE.clear()
        _TRIL_CACHE[n] = idx
    return idx


def bartlett(n, dof, rng):
    """Lower-triangular ``A`` with ``A A^T ~ Wishart_n(I, dof)`` (Bartlett decomposition)."""
    rows, cols = _tril_indices(n)
    A = np.zeros((n, n))
    A[rows, cols] = rng.standard_normal(rows.size)
    A[np.diag_indices(n)] = np.sqrt(rng.chisquare(dof - np.arange(n)))
    return A


def sample_factor(n, dof, rng, temporal=None):
    """``F`` (n x m) with ``F F^T`` the scatter matrix of ``dof`` unit-variance samples:
    Wishart(I, dof) for independent samples, ``Z diag(b) Z^T`` for the temporal spectrum ``b``.
    """
    if temporal is not None:
        # float32 noise: its scatter (an N^2 T product, the cost of a replicate) runs twice as
        # fast and is accumulated to ~1e-7, far below the sampling noise it models
        root = np.sqrt(temporal.values).astype(np.float32)
        return rng.standard_normal((n, temporal.n_samples), dtype=np.float32) * root
    if dof >= n + 1:
        return bartlett(n, dof, rng)
    return rng.standard_normal((n, max(int(round(dof)), 1)))


def eigs_from_factor(F, kind):
    """Nonzero eigenvalues (ascending) of ``F F^T`` (or its correlation form)."""
    if kind == "correlation":
        d = np.sqrt(np.einsum("ij,ij->i", F, F))
        F = F / d[:, None]
    if F.shape[1] < F.shape[0]:
        return np.linalg.eigvalsh((F.T @ F).astype(np.float64))
    return np.linalg.eigvalsh((F @ F.T).astype(np.float64))


def mp_eigs(n, dof, rng):
    """Eigenvalues of an ``n x n`` Wishart(I, dof) via the tridiagonal (Dumitriu-Edelman) model."""
    from scipy.linalg import eigvalsh_tridiagonal

    m = n if dof >= n else int(round(dof))
    big = dof if dof >= n else n
    # B lower bidiagonal, m x m: diag chi_{big - i}, subdiag chi_{m - 1 - i}
    a = np.sqrt(rng.chisquare(big - np.arange(m)))
    b = np.sqrt(rng.chisquare(m - 1 - np.arange(m - 1))) if m > 1 else np.empty(0)
    d = a * a
    d[1:] += b * b
    e = a[:-1] * b
    return eigvalsh_tridiagonal(d, e, check_finite=False)


def nonzero(ev):
    """Drop the numerically zero eigenvalues of a rank-deficient sample covariance."""
    ev = np.sort(np.asarray(ev, dtype=float))
    tol = max(ev[-1], 0.0) * ev.size * np.finfo(float).eps * 10.0
    return ev[ev > tol]


def window_sum(X, window):
    """Sums of ``X`` over non-overlapping windows of ``window`` rows (trailing rows dropped)."""
    if not window or window == 1:
        return X
    n = X.shape[0] // window
    return X[: n * window].reshape(n, window, X.shape[1]).sum(axis=1)


def ci_from_boot(est, boot, level, method):
    """Basic (in atanh) or percentile interval from bootstrap replicates of g."""
    lo_q, hi_q = (1.0 - level) / 2.0, (1.0 + level) / 2.0
    if method == "percentile":
        return float(np.quantile(boot, lo_q)), float(np.quantile(boot, hi_q))
    if method == "plain-basic":  # reciprocal model: g may exceed 1 when kappa < 0
        a, b = np.quantile(boot, [lo_q, hi_q])
        return float(max(2 * est - b, 0.0)), float(2 * est - a)
    w = np.arctanh(np.clip(boot, 0.0, G_CAP))
    w_est = math.atanh(min(max(est, 0.0), G_CAP))
    a, b = np.quantile(w, [lo_q, hi_q])
    lo, hi = 2 * w_est - b, 2 * w_est - a
    return float(math.tanh(max(lo, 0.0))), float(math.tanh(max(hi, 0.0)))


# --------------------------------------------------------------------------------------------
# the bootstrap of a GainFit
# --------------------------------------------------------------------------------------------
def run(fit, eng, kept, n_total, activity, kind, rng, dof, temporal):
    """Replicates, interval and p-values of a fitted :class:`~neurospec.GainFit` (sets its
    ``bootstrap_*``, ``g_eff_stderr_``, ``g_eff_ci_``, ``kappa_*``, ``p_value_*`` and
    ``comparison_``)."""
    import pandas as pd

    method = fit.bootstrap
    if method == "auto":
        method = "network"
    if method == "block" and activity is None:
        raise ParameterError(
            "GainFit: bootstrap='block' resamples time blocks of the activity, but the input "
            "has no activity (eigenvalues or a fitted CovarianceSpectrum). Pass the activity or "
            "use bootstrap='network'.")
    n = fit.n_neurons_
    # network and samples replicates above max_boot_neurons are simulated at that size
    cap = int(fit.max_boot_neurons)
    n_sim = min(n, cap) if method in ("network", "samples") else n
    if method == "network" and fit.fraction is not None and n_sim / fit.fraction > MAX_NETWORK:
        from .estimator import GainFitWarning

        warnings.warn(
            f"GainFit: a network bootstrap would simulate {n_sim / fit.fraction:.0f} neurons "
            f"(N / fraction) per replicate; using bootstrap='samples' instead (conditional on "
            "the network, so the interval is narrower than the ensemble's).",
            GainFitWarning, stacklevel=4)
        method = "samples"
    fit.bootstrap_method_ = method
    B = int(fit.n_boot)
    # the surrogate fit of the data: the reference for replicate deviations
    theta_d, ls_d = fit._theta_sur, fit._ls_sur
    loglam, t, lmean = eng.data(kept, n_total)
    p_d = np.r_[theta_d, ls_d] if fit.scale == "fit" else theta_d
    cost_d = eng.objective(p_d, loglam, t, lmean, n_total)
    g_d, kappa_d = eng.model.natural(theta_d)
    fit.bootstrap_ = np.empty(0)
    fit.bootstrap_kappa_ = np.empty(0)
    boot_cost = np.empty(0)
    fit.p_value_model_ = float("nan")
    fit.p_value_null_ = float("nan")
    if B > 0:
        if B < 50:
            from .estimator import GainFitWarning

            warnings.warn(
                f"GainFit: n_boot={B} replicates give a rough interval; use >= 200 for a "
                "calibrated 90 % interval.", GainFitWarning, stacklevel=4)
        fit.bootstrap_size_ = int(n_sim)
        dof_s, temporal_s = reduced(n, dof, temporal, n_sim)
        r = n_sim / n

        def simulate(b, g, kappa):
            """``b`` replicates at (g, kappa); from a smaller network, deviations from
            (g, kappa) scaled by N'/N and distances by :func:`cost_scale`."""
            gs, ks_, cs = replicates(fit, eng, method, b, n_sim, dof_s, kind, activity, rng,
                                     (theta_d, ls_d), g, kappa, temporal_s)
            if n_sim < n:
                gs = g + (gs - g) * r
                ks_ = kappa + (ks_ - kappa) * r
                cs = cs * cost_scale(n_sim, n)
            return gs, ks_, cs

        with blas_threads(n_sim):
            gs, ks_, cs = simulate(B, g_d, kappa_d)
            if fit.alpha_ > 0:
                fit.p_value_null_ = null_pvalue(fit, kept.size, n, dof, B, rng, kind, temporal,
                                                cap)
            fit.bias_correction_ = None
            if (kind == "correlation" and method == "network" and fit.model == "iid"
                    and not fit._at_upper_bound()):
                gs, ks_, cs = _correct_normalisation_bias(fit, B, g_d, gs, ks_, cs, simulate)
        fit.bootstrap_ = gs
        fit.bootstrap_kappa_ = ks_
        boot_cost = cs
        fit.g_eff_stderr_ = float(np.std(gs, ddof=1))
        # deviations are measured from the surrogate estimate of the data, then applied to
        # the exact estimate (the two differ by the table's interpolation error only)
        shift = fit.g_eff_ - g_d
        bc = getattr(fit, "bias_correction_", None)
        if bc:
            # replicates simulated at the corrected gain g*: the data's estimate is read off
            # their distribution, and the interval for the truth maps through the local
            # slope of E[g_hat](g) (indirect inference)
            qlo, qhi = np.quantile(gs, [(1.0 - fit.ci) / 2.0, (1.0 + fit.ci) / 2.0])
            m, slope, g_star = bc["median"], bc["slope"], bc["g"]
            fit.g_eff_ = float(g_star + shift)
            lo = g_star - (qhi - m) / slope
            hi = g_star + (m - qlo) / slope
            fit.g_eff_stderr_ = float(fit.g_eff_stderr_ / slope)
        else:
            lo, hi = ci_from_boot(g_d, gs, fit.ci,
                                  fit.ci_method if fit.model == "iid" else
                                  ("plain-basic" if fit.ci_method == "basic" else "percentile"))
        fit.g_eff_ci_ = (max(lo + shift, 0.0),
                         min(hi + shift, 1.0) if fit.model == "iid" else hi + shift)
        at_cap = float(np.mean(gs >= G_CAP * (1 - 1e-6)))
        if fit.model == "iid" and (fit._at_upper_bound() or at_cap >= (1.0 - fit.ci) / 2.0):
            # at (or so near that the replicates pile up at) the upper bound the replicates
            # are censored: only a lower limit is informative, the upper one is the edge of
            # stability
            q = float(np.quantile(gs, (1.0 - fit.ci) / 2.0)) + shift
            fit.g_eff_ci_ = (min(q, fit.g_eff_), 1.0)
        elif fit.model == "iid":
            # a reflected interval of a skewed replicate distribution can miss its own
            # estimate; it always contains it
            fit.g_eff_ci_ = (min(fit.g_eff_ci_[0], fit.g_eff_),
                             max(fit.g_eff_ci_[1], fit.g_eff_))
        if fit.model == "reciprocal":
            fit.kappa_stderr_ = float(np.std(ks_, ddof=1))
            q = np.quantile(ks_, [(1 - fit.ci) / 2, (1 + fit.ci) / 2])
            if fit.ci_method == "percentile":
                fit.kappa_ci_ = (float(q[0]), float(q[1]))
            else:
                fit.kappa_ci_ = (float(2 * fit.kappa_ - q[1]), float(2 * fit.kappa_ - q[0]))
        else:
            fit.kappa_stderr_ = None
            fit.kappa_ci_ = None
        if method in ("network", "samples"):
            fit.p_value_model_ = float((1 + np.sum(cs >= cost_d)) / (1 + cs.size))
    else:
        fit.g_eff_stderr_ = float("nan")
        fit.g_eff_ci_ = (float("nan"), float("nan"))
        fit.kappa_stderr_ = None
        fit.kappa_ci_ = None
    fit.bootstrap_costs_ = boot_cost
    name = "linear network (iid)" if fit.model == "iid" else "linear network (reciprocal)"
    k = (1 if fit.model == "iid" else 2) + (1 if fit.scale == "fit" else 0)
    fit.comparison_ = pd.DataFrame(
        {"n_params": [k, 1 if fit.scale == "fit" else 0],
         "cost_cvm": [fit.cost_, fit.null_cost_],
         "ks": [fit.ks_, fit.null_ks_],
         "p_value": [fit.p_value_model_, fit.p_value_null_]},
        index=pd.Index([name, "null (independent neurons)"], name="model"))


def _correct_normalisation_bias(fit, B, g_d, gs, ks_, cs, simulate):
    """Finite-N bias of correlation matrices, removed by indirect inference.

    Dividing by each neuron's variance re-weights neurons whose variances differ through the
    couplings; at N of a few dozen this reads g_eff far too high (N = 60, g = 0.8: median 0.90,
    a fifth of the fits at the bound), and a reflected (basic) interval around such a biased,
    skewed estimator misses the truth. The network bootstrap reproduces the bias, so the gain
    g* whose replicates' median equals the data's estimate is found by a secant step on
    extra replicates, and the final replicates are drawn at g*. No correction when the
    median is within a quarter standard deviation of the estimate (large N).
    """
    m0 = float(np.median(gs))
    sd = float(np.std(gs, ddof=1))
    if abs(m0 - g_d) <= max(0.25 * sd, 1e-3):
        return gs, ks_, cs
    b_small = max(50, B // 2)
    g0 = g_d
    g1 = float(np.clip(g_d - (m0 - g_d), 0.0, G_CAP * 0.995))
    m1 = float(np.median(simulate(b_small, g1, 0.0)[0]))
    # the slope of E[g_hat](g) comes from medians of a few dozen replicates: kept within a
    # factor 2 of 1 (N = 20 gave anything from 0.2 to 5 otherwise, and intervals with it)
    slope = (m1 - m0) / (g1 - g0) if g1 != g0 else 1.0
    slope = float(np.clip(slope, 0.5, 2.0))
    g2 = float(np.clip(g1 - (m1 - g_d) / slope, 0.0, G_CAP * 0.995))
    gs2, ks2, cs2 = simulate(B, g2, 0.0)
    m2 = float(np.median(gs2))
    if g2 != g1:
        slope = float(np.clip((m2 - m1) / (g2 - g1), 0.5, 2.0))
    g_star = float(np.clip(g2 - (m2 - g_d) / slope, 0.0, G_CAP))
    fit.bias_correction_ = dict(g=g_star, median=m2 + (g_star - g2) * slope, slope=slope,
                                g_read=float(g_d), median_at_estimate=m0)
    # the final replicates, moved to g* along the local slope
    return np.clip(gs2 + (g_star - g2) * slope, 0.0, G_CAP), ks2, cs2


def replicates(fit, eng, method, B, n, dof, kind, activity, rng, start, g_d, kappa_d,
               temporal):
    """Replicate estimates (g, kappa) and their costs."""
    gs = np.empty(B)
    ks_ = np.empty(B)
    cs = np.empty(B)
    show = fit.progress if fit.progress != "auto" else B * float(n) ** 3 > 200 * 800.0 ** 3
    bar = progress_bar(B, enabled=bool(show), desc="GainFit bootstrap")
    if method == "block":
        half_samples(fit, eng, B, n, dof, kind, activity, rng, start, g_d, kappa_d,
                     gs, ks_, cs, bar, temporal)
        bar.close()
        return gs, ks_, cs
    draw = simulator(fit, method, n, dof, kind, g_d, kappa_d, rng, temporal)
    for b in range(B):
        lam = nonzero(draw())
        _, theta, _, c = fit_with_drop(eng, lam, fit.drop_top, (start[0], None))
        gs[b], ks_[b] = eng.model.natural(theta)
        cs[b] = c
        bar.update(1)
    bar.close()
    return gs, ks_, cs


def half_samples(fit, eng, B, n, dof, kind, activity, rng, start, g_d, kappa_d, gs, ks_, cs,
                 bar, temporal):
    """Random half-samples of time blocks (``bootstrap="block"``).

    Resampling blocks *with* replacement duplicates samples, which widens a
    high-dimensional sample spectrum beyond what the sampling model describes (the refit
    would read g low: -0.006 at g = 0.8, alpha = 0.1 and -0.06 at alpha = 0.5 in our
    simulations; El Karoui & Purdom 2018). Instead the blocks are split at random into two
    halves without replacement; each half is an ordinary recording of T/2 samples, described
    by the model at ``alpha' = N / (T/2)`` with the same temporal spectrum, and the
    half-difference ``(g_1 - g_2) / 2`` has the variance of the full-sample estimate when
    that variance scales as 1/T (random-groups variance estimation).
    """
    Xw = window_sum(activity, fit.spectrum_.window or 1)
    T = Xw.shape[0]
    tau = float(getattr(fit.spectrum_, "integrated_time_", 1.0) or 1.0)
    if fit.block_size == "auto":
        L = int(max(math.ceil(3 * tau), math.ceil(T ** (1 / 3))))
    else:
        L = int(fit.block_size)
    n_blocks = T // L
    if n_blocks < 4:
        raise ParameterError(
            f"GainFit: bootstrap='block' needs at least 4 blocks of {L} samples, but the "
            f"(windowed) recording has {T} samples. Use a smaller block_size or "
            "bootstrap='network'.")
    fit.block_size_ = L
    half_rows = (n_blocks // 2) * L
    dof_half = half_rows - 1
    t_half = None
    if temporal is not None:
        # the same process observed for half as long: the temporal spectrum of the fit's
        # autocorrelation at the half's length
        from ..spectrum import temporal_spectrum

        rho, window = fit._autocorrelation
        t_half = temporal_spectrum(rho, half_rows, window)
    eng_h = Engine(Model(fit.model, n / dof_half, fit.fraction, t_half), fit.cost, fit.scale)
    fit._half_engine = eng_h
    blocks = Xw[: n_blocks * L].reshape(n_blocks, L, n)

    def spectrum_of(idx):
        Xh = blocks[idx].reshape(-1, n)
        Xh = Xh - Xh.mean(axis=0)
        if kind == "correlation":
            sd = Xh.std(axis=0)
            sd[sd == 0] = 1.0
            Xh = Xh / sd
        if Xh.shape[0] < n:
            return nonzero(np.linalg.eigvalsh(Xh @ Xh.T))
        return nonzero(np.linalg.eigvalsh(Xh.T @ Xh))

    for b in range(B):
        perm = rng.permutation(n_blocks)
        half = n_blocks // 2
        res = []
        for idx in (perm[:half], perm[half:2 * half]):
            _, theta, _, c = fit_with_drop(eng_h, spectrum_of(idx), fit.drop_top, (start[0], None))
            res.append((*eng_h.model.natural(theta), c))
        (g1, k1, c1), (g2, k2, c2) = res
        gs[b] = g_d + 0.5 * (g1 - g2)
        ks_[b] = kappa_d + 0.5 * (k1 - k2)
        cs[b] = 0.5 * (c1 + c2)
        bar.update(1)


def simulator(fit, method, n, dof, kind, g, kappa, rng, temporal):
    """A function drawing one replicate spectrum from the fitted model."""
    from scipy.linalg import eigh, solve_triangular

    from ..simulate import draw_couplings

    dof_s = float(dof) if np.isfinite(dof) else None  # None: alpha = 0, no sampling noise
    f = fit.fraction
    if method == "samples":
        from ..theory import LinearSpectrum

        if g <= 1e-9:
            pop = np.ones(n)
        else:
            base = LinearSpectrum(g, kappa=kappa)
            if f is not None and f < 1:
                base = base.subsampled(f)
            pop = np.asarray(base.rank_curve(n), dtype=float)
        root = np.sqrt(pop)[:, None]
        if kind == "correlation":
            # a correlation matrix depends on the eigenvectors: the population is the theory's
            # spectrum in a random (Haar) basis, held for all replicates; a diagonal population
            # would be normalised back to the identity
            O, R = np.linalg.qr(rng.standard_normal((n, n)))
            root = (O * np.sign(np.diag(R))) * root.T

        def draw():
            if dof_s is None:
                return pop.copy()
            F = sample_factor(n, dof_s, rng, temporal)
            return eigs_from_factor(root @ F if root.shape[1] == n else root * F, kind)
        return draw

    n_total = n if f is None or f >= 1 else int(round(n / f))
    eye = np.eye(n_total)

    def draw():
        if g > 1e-9:
            M = eye - draw_couplings(n_total, g, kappa, rng)
        if n_total == n:
            if g <= 1e-9:
                if dof_s is None:
                    return np.ones(n)
                return eigs_from_factor(sample_factor(n, dof_s, rng, temporal), kind)
            if dof_s is None:
                s = np.linalg.svd(M, compute_uv=False)
                return np.sort(1.0 / (s * s))
            F = sample_factor(n, dof_s, rng, temporal)
            if kind == "covariance" and temporal is None and dof_s >= n + 1:
                # F is Bartlett's triangular factor (sample_factor), so
                # eig((I-J)^-1 F F^T (I-J)^-T) = 1 / eig(K^T K) with K = F^-1 (I - J):
                # one triangular solve instead of an LU solve. (A square Gaussian F, at
                # dof = N, is not triangular.)
                K = solve_triangular(F, M, lower=True, check_finite=False)
                ev = np.linalg.eigvalsh(K.T @ K)
                return np.sort(1.0 / ev[ev > 0])
            if kind == "covariance" and F.shape[1] > F.shape[0]:
                # eig(M^-1 W M^-T) = eig((M M^T)^-1 W), W = F F^T: the pencil W v = lambda M M^T v
                return eigh((F @ F.T).astype(np.float64), M @ M.T, eigvals_only=True,
                            check_finite=False)
            return eigs_from_factor(np.linalg.solve(M, F), kind)
        # a random subset of n of the n_total neurons is recorded
        sel = rng.choice(n_total, size=n, replace=False)
        Ls = eye[sel] if g <= 1e-9 else np.linalg.solve(M.T, eye[:, sel]).T  # rows of (I-J)^-1
        if dof_s is None:
            return np.linalg.eigvalsh(Ls @ Ls.T)
        return eigs_from_factor(Ls @ sample_factor(n_total, dof_s, rng, temporal), kind)
    return draw


def null_pvalue(fit, n_kept, n, dof, B, rng, kind, temporal, cap=MAX_BOOT_N):
    """Parametric-bootstrap goodness of fit of the null of independent neurons.

    Null spectra are Wishart(I, dof) eigenvalues (tridiagonal model) for independent
    samples, ``Z diag(b) Z^T`` for correlated ones; each is dropped and censored like the
    data and scored with a fitted scale against the tabulated null CDF. Above ``cap``
    neurons the null is simulated at that size with the same N/T and temporal distribution
    and its distances rescaled by :func:`cost_scale`, like the replicates.
    """
    scale = 1.0
    if n > cap:
        # even the O(N^2) tridiagonal model costs 0.26 s at N = 4000 and 6 s at N = 20,000
        # per null draw (more than a whole replicate at N'); Z diag(b) Z^T is O(N^2 T)
        dof, temporal = reduced(n, dof, temporal, cap)
        scale = cost_scale(cap, n)
        n_kept = max(n_kept - n + cap, 1)
        n = cap
    null = fit._null_model
    lo, hi = null.support()
    llo, lhi = math.log(lo), math.log(hi)
    Fz = np.maximum.accumulate(np.clip(
        np.asarray(null.cdf(np.exp(llo + Z * (lhi - llo))), dtype=float), 0.0, 1.0))
    l_mean = math.log(null.mean())
    costs = np.empty(B)
    for b in range(B):
        if temporal is None and kind == "covariance":
            ev = nonzero(mp_eigs(n, dof, rng))
        else:
            ev = nonzero(eigs_from_factor(sample_factor(n, dof, rng, temporal), kind))
        n_tot = ev.size
        ev = ev[: n_tot - fit.n_dropped_] if fit.n_dropped_ else ev
        loglam = np.log(ev)
        t = targets(ev.size, n_tot)
        l0 = math.log(float(np.mean(ev))) - l_mean

        def fun(q):
            return np.interp((loglam - q[0] - llo) / (lhi - llo), Z, Fz) - t

        if fit.scale == "fit":
            _, r = lm(fun, [l0], np.array([-np.inf]), np.array([np.inf]))
        else:
            r = fun([l0])
        costs[b] = float(np.mean(r * r) + 1.0 / (12.0 * n_tot ** 2)) * scale
    fit.null_bootstrap_costs_ = costs
    return float((1 + np.sum(costs >= fit.null_cost_)) / (1 + B))


__all__ = ["run", "cost_scale", "MAX_NETWORK", "MAX_BOOT_N", "NZ"]
