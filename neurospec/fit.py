"""Fit random-network theory to a covariance spectrum: the effective gain ``g_eff``.

:class:`GainFit` turns a measured covariance eigenvalue spectrum into the effective gain of the
random linear network that best explains it (``../shared/science.md`` §2-§6), with an
uncertainty that covers the truth at its nominal rate, a model comparison against the
Marchenko-Pastur null (no recurrent structure), and a text report. :func:`window_ladder`
refits over a ladder of window lengths and warns when the estimate has not converged
(science.md §4, "Finite windows").

The forward model
-----------------
The eigenvalues ``lambda`` of the sample covariance of ``N`` neurons are modelled as draws from

    ``sigma^2 x``,  ``x ~ LinearSpectrum(g_eff, kappa)  [.subsampled(fraction)]  .sampled(alpha)``

the zero-frequency spectrum of a linear network (§2-§3), compressed by recording a fraction
of the neurons and distorted by finite samples (``alpha = N / T_eff``, §4). ``sigma^2`` (the
noise variance, ``scale_``) is a free nuisance parameter by default (``scale="fit"``), so only
the *shape* of the spectrum informs ``g_eff``; ``scale="mean"`` instead divides by the mean
(the reference procedure of Hu & Sompolinsky, §6). The free scale is the better estimator: the
mean is dominated by the few largest eigenvalues, which fluctuate strongly from one network
realisation to the next near ``g = 1`` (N = 400, alpha = 0.1: the network-to-network standard
deviation of the estimate is 0.020 with the mean and 0.007 with a fitted scale at g = 0.95,
0.0064 and 0.0033 at g = 0.8; the mean-normalised estimate is also biased up by 0.009 at
g = 0.95).

The cost is the Cramer-von Mises distance between the empirical CDF of the eigenvalues and the
model CDF (``cost="cvm"``, minimised by least squares as a residual vector
``F(lambda_(i) / sigma^2) - (2i - 1) / 2n``), or the Kolmogorov-Smirnov distance
(``cost="ks"``). ``g_eff = 0`` is the Marchenko-Pastur null, so the null is nested in the model.

Speed: model CDFs are tabulated lazily on a grid of ``atanh(g)`` (and ``kappa``) nodes and
interpolated (cubic Lagrange in the parameters, on a support-relative abscissa so that moving
edges stay sharp), so one fit costs a few dozen model constructions and a bootstrap refit a few
milliseconds. The point estimate is then polished with :func:`lmfit.minimize` on the exact
model (``result_``).

Uncertainty
-----------
``bootstrap="network"`` (the default): parametric bootstrap from the fitted model, drawing for
each replicate a *new* coupling matrix with the fitted gain and new Gaussian samples (``T_eff``
of them) and refitting. For N of a few hundred the network-to-network fluctuation of the
spectrum dominates the sampling noise once ``g >~ 0.5`` (N = 400, g = 0.8: standard deviation
of the estimate 0.0036 across networks against 0.0012 for repeated samples of one network at
alpha = 0.1, 0.0050 against 0.0028 at alpha = 0.5), so
an interval for the gain parameter of the random-network model must resample the network.
``bootstrap="samples"``: the population spectrum is held at the fitted theory's quantiles and
only samples are redrawn (uncertainty conditional on this network: what a repeated recording
of the same network would give). ``bootstrap="block"`` (activity input only): random halves
of time blocks longer than the autocorrelation, also conditional on the network and free of
any model of the time course (resampling blocks *with* replacement would duplicate samples and
widen the spectrum beyond the Marchenko-Pastur model; see :meth:`GainFit._half_samples`).
Intervals are basic bootstrap intervals in ``atanh(g)`` (they correct the small finite-N bias
that the bootstrap reproduces, and ``atanh`` stabilises the variance near g = 1);
``ci_method="percentile"`` is available. On simulated linear networks (N = 400, g from 0.2 to
0.95, alpha 0.1 and 0.5) nominal 90 % intervals cover the true g at their nominal rate
(``benchmarks/validate_fit.py``).
"""

from __future__ import annotations

import math
import warnings
from numbers import Integral, Real

import numpy as np

from ._progress import progress_bar
from .errors import DataValueError, FitError, ParameterError, ShapeError

__all__ = ["GainFit", "window_ladder", "WindowConvergenceWarning", "GainFitWarning"]


class GainFitWarning(UserWarning):
    """A fit finished but its result needs care (estimate at a bound, too few replicates...)."""


class WindowConvergenceWarning(UserWarning):
    """``g_eff`` still changes with the window length at the longest window available."""


# --------------------------------------------------------------------------------------------
# constants
# --------------------------------------------------------------------------------------------
#: grid step of the model tables in w = atanh(g) (iid) / atanh(g (1 + kappa)) (reciprocal)
_DW = 0.02
#: grid step in kappa (reciprocal model)
_DKAPPA = 0.05
#: largest g_eff (iid) or g (1 + kappa) (reciprocal) the fit can return
_U_MAX = 0.999
_W_MAX_INDEX = int(math.floor(math.atanh(_U_MAX) / _DW))  # 190 nodes above 0
#: the cap itself: the last table node, tanh(190 * 0.02) = 0.99900
_G_CAP = math.tanh(_W_MAX_INDEX * _DW)
_KAPPA_RANGE = (-0.9, 1.0)
#: number of support-relative abscissae per tabulated model CDF
_NZ = 513
#: threshold of drop_top="auto": outliers lie beyond the fitted upper edge by more than this
#: many times the edge spacing (hi - ppf(1 - 1/n)); calibrated on simulated bulk spectra so that
#: a pure bulk loses its top eigenvalue in < 1 % of draws at g <= 0.8; near g = 1 the top bulk
#: eigenvalue of one network fluctuates far more (z up to ~4 at g = 0.95), see tests/test_fit.py
_DROP_Z = 6.0
_MAX_DROP = 10
#: largest simulated network (N / fraction) of the network bootstrap
_MAX_NETWORK = 2500
_MIN_EIGENVALUES = 10
#: a CvM distance W^2/n above this (RMS CDF error > 0.03) is a gross misfit: retry the search
_GROSS_MISFIT = 1e-3

_Z = 0.5 * (1.0 - np.cos(np.pi * np.arange(_NZ) / (_NZ - 1)))  # clustered at both edges


# --------------------------------------------------------------------------------------------
# forward models
# --------------------------------------------------------------------------------------------
def _model_spectrum(g, kappa, alpha, fraction):
    """The (unnormalised) forward-model spectrum; ``g = 0`` is the Marchenko-Pastur null."""
    from .theory import LinearSpectrum, MarchenkoPastur

    if g <= 1e-9:
        if alpha > 0:
            return MarchenkoPastur(alpha)
        g = 1e-3  # a near point mass: alpha = 0 and g = 0 has no density
    spec = LinearSpectrum(g, kappa=kappa)
    if fraction is not None and fraction < 1:
        spec = spec.subsampled(fraction)
    if alpha > 0:
        spec = spec.sampled(alpha)
    return spec


class _Model:
    """Parametrisation of one forward model (iid or reciprocal) in table coordinates.

    Table coordinates ``theta``: ``(atanh(g),)`` for iid couplings, ``(atanh(g (1 + kappa)),
    kappa)`` for reciprocal ones (the first coordinate measures the distance to instability).
    """

    def __init__(self, model, alpha, fraction):
        self.model = model
        self.alpha = float(alpha)
        self.fraction = fraction
        if model == "iid":
            self.steps = np.array([_DW])
            self.lower = np.array([0])
            self.upper = np.array([_W_MAX_INDEX])
        else:
            self.steps = np.array([_DW, _DKAPPA])
            self.lower = np.array([0, int(round(_KAPPA_RANGE[0] / _DKAPPA))])
            self.upper = np.array([_W_MAX_INDEX, int(round(_KAPPA_RANGE[1] / _DKAPPA))])
        self.dim = self.steps.size

    def natural(self, theta):
        """``(g, kappa)`` from table coordinates."""
        u = math.tanh(max(float(theta[0]), 0.0))
        if self.dim == 1:
            return u, 0.0
        kappa = float(theta[1])
        return u / (1.0 + kappa), kappa

    def theta(self, g, kappa=0.0):
        """Table coordinates from ``(g, kappa)``."""
        u = min(max(g * (1.0 + kappa), 0.0), _G_CAP)
        if self.dim == 1:
            return np.array([math.atanh(u)])
        return np.array([math.atanh(u), kappa])

    def bounds(self):
        return self.lower * self.steps, self.upper * self.steps

    def spectrum(self, g, kappa=0.0):
        return _model_spectrum(g, kappa, self.alpha, self.fraction)


_ROW_CACHE = {}
_ROW_CACHE_MAX = 20000  # rows of ~4 kB each


class _Table:
    """Model CDFs on lazily built parameter nodes, interpolated cubically between them.

    Each node stores the CDF of its spectrum at ``_NZ`` abscissae placed on its own support in
    ``log x`` (clustered at both edges). Between nodes the CDF at a point ``x`` is the
    Lagrange combination of the nodes' CDFs at the same *relative* position ``z`` in the
    (interpolated) log-support, so square-root edges that move with the parameters are not
    smeared.
    """

    def __init__(self, model):
        self.model = model
        # rows are shared by every table of the same forward model (bootstrap refits, repeated
        # fits at the same alpha), so a validation study builds each row once
        tag = (model.model, round(model.alpha, 12), model.fraction)
        self.rows = _ROW_CACHE.setdefault(tag, {})
        if sum(len(v) for v in _ROW_CACHE.values()) > _ROW_CACHE_MAX:
            _ROW_CACHE.clear()
            self.rows = _ROW_CACHE.setdefault(tag, {})
        self._last = (None, None)

    def row(self, key):
        r = self.rows.get(key)
        if r is None:
            theta = np.asarray(key, dtype=float) * self.model.steps
            g, kappa = self.model.natural(theta)
            try:
                spec = self.model.spectrum(g, kappa)
                lo, hi = spec.support()
                llo, lhi = math.log(lo), math.log(hi)
                F = np.asarray(spec.cdf(np.exp(llo + _Z * (lhi - llo))), dtype=float)
                mean = float(spec.mean())
            except (ArithmeticError, ValueError) as exc:
                raise FitError(
                    f"GainFit: the forward model could not be evaluated at g={g:.4g}, "
                    f"kappa={kappa:.3g}, alpha={self.model.alpha:.4g} ({exc}). Try model='iid' or "
                    "check alpha."
                ) from exc
            F = np.maximum.accumulate(np.clip(F, 0.0, 1.0))
            F[0], F[-1] = 0.0, 1.0
            r = (llo, lhi, F, math.log(mean))
            self.rows[key] = r
        return r

    def _stencil(self, theta):
        """Integer node keys and tensor-product Lagrange weights around ``theta``."""
        m = self.model
        per_dim = []
        for d in range(m.dim):
            t = float(theta[d]) / m.steps[d]
            if abs(t - round(t)) < 1e-9:
                t = float(round(t))  # exactly on a node: one row, no interpolation
            base = int(math.floor(t)) - 1
            base = min(max(base, m.lower[d]), m.upper[d] - 3)
            s = t - base  # position in node units, nodes at 0, 1, 2, 3
            w = np.array([
                -(s - 1) * (s - 2) * (s - 3) / 6.0,
                s * (s - 2) * (s - 3) / 2.0,
                -s * (s - 1) * (s - 3) / 2.0,
                s * (s - 1) * (s - 2) / 6.0,
            ])
            per_dim.append((base, w))
        if m.dim == 1:
            base, w = per_dim[0]
            return [((base + j,), w[j]) for j in range(4) if w[j] != 0.0]
        (b0, w0), (b1, w1) = per_dim
        return [((b0 + i, b1 + j), w0[i] * w1[j])
                for i in range(4) for j in range(4) if w0[i] * w1[j] != 0.0]

    def _combined(self, theta):
        key = tuple(float(v) for v in theta)
        if self._last[0] == key:
            return self._last[1]
        rows = [(self.row(k), c) for k, c in self._stencil(theta)]
        llo = sum(c * r[0] for r, c in rows)
        lhi = sum(c * r[1] for r, c in rows)
        lmean = sum(c * r[3] for r, c in rows)
        out = (rows, llo, lhi, lmean)
        self._last = (key, out)
        return out

    def evaluate(self, theta, logx):
        """Model CDF at ``exp(logx)`` and the model's log-mean, at parameters ``theta``."""
        rows, llo, lhi, lmean = self._combined(theta)
        z = (logx - llo) / (lhi - llo)
        if len(rows) == 1:
            F = np.interp(z, _Z, rows[0][0][2])
        else:
            F = rows[0][1] * np.interp(z, _Z, rows[0][0][2])
            for r, c in rows[1:]:
                F += c * np.interp(z, _Z, r[2])
        return np.clip(F, 0.0, 1.0), lmean, (llo, lhi)

    def quantile(self, theta, q):
        """Approximate model quantile (log x) at probability ``q`` (used by the drop rule)."""
        st = self._stencil(theta)
        rows = [(self.row(k), c) for k, c in st]
        llo = sum(c * r[0] for r, c in rows)
        lhi = sum(c * r[1] for r, c in rows)
        z = sum(c * np.interp(q, r[2], _Z) for r, c in rows)
        return llo + z * (lhi - llo), lhi


# --------------------------------------------------------------------------------------------
# costs
# --------------------------------------------------------------------------------------------
def _targets(n):
    return (2.0 * np.arange(1, n + 1) - 1.0) / (2.0 * n)


def _cvm(F, n):
    """Cramer-von Mises distance ``W^2 / n`` (mean squared CDF difference, as in plotting)."""
    r = F - _targets(n)
    return float(np.mean(r * r) + 1.0 / (12.0 * n * n))


def _ks(F, n):
    i = np.arange(1, n + 1)
    return float(max(np.max(i / n - F), np.max(F - (i - 1) / n)))


def _lm(fun, p0, lb, ub, max_iter=60, xtol=1e-10):
    """Small projected Levenberg-Marquardt for a few parameters (forward-difference Jacobian).

    ``scipy.optimize.least_squares`` costs milliseconds of overhead per call, which dominates
    a bootstrap refit on the tabulated model; this loop costs a few residual evaluations.
    """
    p = np.clip(np.asarray(p0, dtype=float), lb, ub)
    r = fun(p)
    c = float(r @ r)
    mu = 1e-3
    k = p.size
    for _ in range(max_iter):
        Jac = np.empty((r.size, k))
        for j in range(k):
            h = 1e-6 * max(1.0, abs(p[j]))
            q = p.copy()
            q[j] = q[j] + h if q[j] + h <= ub[j] else q[j] - h
            Jac[:, j] = (fun(q) - r) / (q[j] - p[j])
        A = Jac.T @ Jac
        grad = Jac.T @ r
        d = np.maximum(np.diag(A), 1e-30)
        improved = False
        for _ in range(12):
            try:
                step = -np.linalg.solve(A + mu * np.diag(d), grad)
            except np.linalg.LinAlgError:
                mu *= 10.0
                continue
            p_new = np.clip(p + step, lb, ub)
            r_new = fun(p_new)
            c_new = float(r_new @ r_new)
            if c_new < c:
                moved = np.max(np.abs(p_new - p))
                p, r, c_prev, c = p_new, r_new, c, c_new
                mu = max(mu / 3.0, 1e-12)
                improved = True
                break
            mu *= 4.0
        if not improved or moved < xtol or (c_prev - c) <= 1e-14 * c_prev:
            break
    return p, r


# --------------------------------------------------------------------------------------------
# fitting engine on the table (used for the search, for auto-drop and for bootstrap refits)
# --------------------------------------------------------------------------------------------
class _Engine:
    """Fits sorted eigenvalues with a :class:`_Table` (fast surrogate of the exact model)."""

    def __init__(self, model, cost, scale):
        self.model = model
        self.table = _Table(model)
        self.cost = cost
        self.scale = scale

    # -- objective -------------------------------------------------------------------------
    def residuals(self, p, loglam, t, lmean_data):
        theta = p[: self.model.dim]
        if self.scale == "fit":
            ls = p[self.model.dim]
            F, _, _ = self.table.evaluate(theta, loglam - ls)
        else:
            # log sigma^2 = log mean(data) - log mean(model)
            _, lm, _ = self.table.evaluate(theta, loglam[:1])
            F, _, _ = self.table.evaluate(theta, loglam - (lmean_data - lm))
        return F - t

    def objective(self, p, loglam, t, lmean_data):
        r = self.residuals(p, loglam, t, lmean_data)
        if self.cost == "cvm":
            return float(np.mean(r * r) + 1.0 / (12.0 * t.size ** 2))
        n = t.size
        F = r + t
        return _ks(F, n)

    # -- fit -------------------------------------------------------------------------------
    def fit(self, lam, start=None):
        """Fit ascending eigenvalues ``lam``; returns (theta, log_scale, cost)."""
        from scipy.optimize import minimize

        loglam = np.log(lam)
        n = lam.size
        t = _targets(n)
        lmean = math.log(float(np.mean(lam)))
        lo_b, hi_b = self.model.bounds()
        warm = start is not None
        if start is None:
            start = self._coarse(lam, loglam, t, lmean)
        theta0 = np.clip(np.asarray(start[0], float), lo_b, hi_b)
        p0 = list(theta0)
        if self.scale == "fit":
            ls0 = start[1]
            if ls0 is None:
                # scale matched at the median: the mean can be dominated by one near-critical
                # mode and start the search where every residual is saturated
                lq, _ = self.table.quantile(theta0, 0.5)
                ls0 = float(np.median(loglam)) - float(lq)
            p0.append(ls0)
            lb = np.r_[lo_b, -np.inf]
            ub = np.r_[hi_b, np.inf]
        else:
            lb, ub = lo_b, hi_b
        p0 = np.array(p0, dtype=float)
        if self.cost == "cvm":
            p, _ = _lm(lambda q: self.residuals(q, loglam, t, lmean), p0, lb, ub)
        else:
            obj = lambda q: self.objective(np.clip(q, lb, ub), loglam, t, lmean)  # noqa: E731
            simplex = np.vstack([p0, p0 + np.diag(np.full(p0.size, 0.05))])
            res = minimize(obj, p0, method="Nelder-Mead",
                           options=dict(xatol=1e-5, fatol=1e-9, maxfev=600,
                                        initial_simplex=simplex))
            p = np.clip(res.x, lb, ub)
        theta = p[: self.model.dim]
        if self.scale == "fit":
            ls = float(p[self.model.dim])
        else:
            _, lm, _ = self.table.evaluate(theta, loglam[:1])
            ls = lmean - lm
        cost = self.objective(p, loglam, t, lmean)
        if warm and cost > _GROSS_MISFIT:
            # a warm start can end in a poor local minimum: retry from the coarse search
            cold = self.fit(lam)
            if cold[2] < cost:
                return cold
        return theta, ls, cost

    def _coarse(self, lam, loglam, t, lmean):
        """Starting point: the best of a few nodes spread over the parameter range.

        Nodes are ranked with the scale matched at the median (robust to outlying top
        modes), which costs one table evaluation per node.
        """
        m = self.model
        # participation-ratio (moment) estimate, 1/PR_sampled = 1/PR + alpha (science.md §4)
        pr = float(np.sum(lam) ** 2 / np.sum(lam * lam)) / lam.size
        inv = 1.0 / pr - (m.alpha if m.alpha <= 1 else 1.0)
        g_pr = math.sqrt(max(0.0, 1.0 - 1.0 / math.sqrt(inv))) if inv > 1 else 0.0
        k_nodes = {int(round(math.atanh(g) / _DW))
                   for g in (0.15, 0.4, 0.6, 0.75, 0.87, 0.94, 0.975, 0.992)}
        k_nodes.add(int(round(math.atanh(min(max(g_pr, 0.01), 0.99)) / _DW)))
        lmed = float(np.median(loglam))
        best = None
        for k in sorted(k_nodes):
            theta = np.array([k * _DW] if m.dim == 1 else [k * _DW, 0.0])
            lq, _ = self.table.quantile(theta, 0.5)
            ls = lmed - float(lq)
            if self.scale == "fit":
                c = self.objective(np.r_[theta, ls], loglam, t, lmean)
            else:
                c = self.objective(theta, loglam, t, lmean)
            if best is None or c < best[0]:
                best = (c, theta, ls)
        return best[1], (best[2] if self.scale == "fit" else None)


# --------------------------------------------------------------------------------------------
# simulation of replicate spectra (parametric bootstrap and null)
# --------------------------------------------------------------------------------------------
def _bartlett(n, dof, rng):
    """Lower-triangular ``A`` with ``A A^T ~ Wishart_n(I, dof)`` (Bartlett decomposition)."""
    rows, cols = _tril_indices(n)
    A = np.zeros((n, n))
    A[rows, cols] = rng.standard_normal(rows.size)
    A[np.diag_indices(n)] = np.sqrt(rng.chisquare(dof - np.arange(n)))
    return A


_TRIL_CACHE = {}


def _tril_indices(n):
    idx = _TRIL_CACHE.get(n)
    if idx is None:
        idx = np.tril_indices(n, -1)
        _TRIL_CACHE.clear()
        _TRIL_CACHE[n] = idx
    return idx


def _sample_factor(n, dof, rng):
    """``B`` (n x m) with ``B B^T`` distributed as an n x n Wishart with ``dof`` degrees of freedom."""
    if dof >= n + 1:
        return _bartlett(n, dof, rng)
    return rng.standard_normal((n, max(int(round(dof)), 1)))


def _eigs_from_factor(B, kind):
    """Nonzero eigenvalues (ascending) of ``B B^T`` (or its correlation form)."""
    if kind == "correlation":
        d = np.sqrt(np.einsum("ij,ij->i", B, B))
        B = B / d[:, None]
    if B.shape[1] < B.shape[0]:
        ev = np.linalg.eigvalsh(B.T @ B)
    else:
        ev = np.linalg.eigvalsh(B @ B.T)
    return ev


def _mp_eigs(n, dof, rng):
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


# --------------------------------------------------------------------------------------------
# helpers for inputs
# --------------------------------------------------------------------------------------------
def _blas_threads(n):
    """One BLAS thread for the many small eigenproblems of a bootstrap (N < 1000).

    Multithreaded LAPACK on 400 x 400 matrices gains little and, on a machine whose cores are
    busy, can be 20x slower than one thread (measured: eigvalsh 0.30 s vs 0.014 s).
    """
    import contextlib

    if n >= 1000:
        return contextlib.nullcontext()
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover
        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


def _is_fitted_spectrum(obj):
    return hasattr(obj, "eigenvalues_") and hasattr(obj, "n_features_in_")


def _nonzero(ev):
    """Drop the numerically zero eigenvalues of a rank-deficient sample covariance."""
    ev = np.sort(np.asarray(ev, dtype=float))
    tol = max(ev[-1], 0.0) * ev.size * np.finfo(float).eps * 10.0
    return ev[ev > tol]


def _window_sum(X, window):
    if not window or window == 1:
        return X
    n = X.shape[0] // window
    return X[: n * window].reshape(n, window, X.shape[1]).sum(axis=1)


def _ci_from_boot(est, boot, level, method):
    """Basic (in atanh) or percentile interval from bootstrap replicates of g."""
    lo_q, hi_q = (1.0 - level) / 2.0, (1.0 + level) / 2.0
    if method == "percentile":
        return float(np.quantile(boot, lo_q)), float(np.quantile(boot, hi_q))
    if method == "plain-basic":  # reciprocal model: g may exceed 1 when kappa < 0
        a, b = np.quantile(boot, [lo_q, hi_q])
        return float(max(2 * est - b, 0.0)), float(2 * est - a)
    w = np.arctanh(np.clip(boot, 0.0, _G_CAP))
    w_est = math.atanh(min(max(est, 0.0), _G_CAP))
    a, b = np.quantile(w, [lo_q, hi_q])
    lo, hi = 2 * w_est - b, 2 * w_est - a
    return float(math.tanh(max(lo, 0.0))), float(math.tanh(max(hi, 0.0)))


# --------------------------------------------------------------------------------------------
# the estimator
# --------------------------------------------------------------------------------------------
try:  # scikit-learn's BaseEstimator gives get_params / set_params / clone / repr
    from sklearn.base import BaseEstimator as _Base
except ImportError:  # pragma: no cover
    _Base = object


class GainFit(_Base):
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
        ``N / T_eff`` of the finite-sample distortion. ``"auto"`` takes the effective number
        of samples estimated from the activity's autocorrelation
        (:class:`~neurospec.CovarianceSpectrum`, ``n_dof_``); when top modes are dropped and
        the activity itself was given, the autocorrelation is that of the activity with the
        dropped modes projected out (:func:`neurospec.spectrum.effective_sample_size_excluding`:
        a slow shared mode no longer shrinks it). Give a number when fitting bare eigenvalues.
        ``0`` means no sampling distortion (a population spectrum).
    fraction : float or None
        Fraction ``M / N_network`` of the network's neurons that were recorded, when known;
        adds neuron subsampling (free compression, science.md §4) to the forward model.
    drop_top : "auto" or int
        Top eigenvalues (low-rank or global modes, not part of the random-network bulk) left
        out of the fit. ``"auto"`` drops those beyond the fitted upper support edge by more
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
        How replicates are made (module docstring): ``"network"`` (new coupling matrix and new
        samples from the fitted model; an interval for the ensemble gain), ``"samples"``
        (new samples only, population spectrum fixed at the fitted theory's quantiles),
        ``"block"`` (random halves of time blocks, activity input only; the spread of the
        half-sample estimates, scaled to the full length). ``"samples"`` and ``"block"`` are
        conditional on the recorded network and omit network-to-network variability, which
        dominates for N of a few hundred once g >~ 0.5. ``"auto"`` is ``"network"``.
    ci_method : {"basic", "percentile"}
        Bootstrap interval: basic (reflected about the estimate, computed in ``atanh(g)``) or
        percentile.
    block_size : "auto" or int
        Block length in (windowed) samples for ``bootstrap="block"``; ``"auto"`` uses
        ``max(3 x integrated autocorrelation time, T^(1/3))`` (at least 4 blocks needed).
    window : int or None
        For activity input: sum activity over non-overlapping windows of this many bins first
        (the long-window covariance the theory describes; see :func:`window_ladder`).
    kind : {"covariance", "correlation"}
        For activity input: which matrix to diagonalise. The theory describes the covariance;
        a correlation matrix re-weights neurons by their variance, which in a linear network
        varies with the couplings and biases ``g_eff`` upwards (+0.02 at g = 0.8, N = 400).
        Use ``"correlation"`` only when neurons have very different noise levels, and then
        rely on the bootstrap (which reproduces the normalisation) for the interval.
    random_state : int, numpy.random.Generator or None
        Seed of the bootstrap.
    progress : bool
        Show a progress bar over bootstrap replicates.

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
        ``N / T_eff`` used.
    n_neurons_ : int
        Number of neurons N.
    n_samples_eff_ : float or None
        Effective number of samples (degrees of freedom) behind ``alpha_``.
    result_ : lmfit.MinimizerResult
        The final (exact-model) lmfit minimisation.
    params_ : lmfit.Parameters
        Its parameters (``g_eff``, ``log_scale``, ``scale``; ``kappa``, ``stability`` for the
        reciprocal model).
    theory_ : Spectrum
        Fitted forward model in units of ``lambda / mean(kept lambda)`` (what the plots use).
    null_ : Spectrum
        Fitted null in the same units.
    bootstrap_ : ndarray, shape (n_boot,)
        Replicate estimates of ``g_eff``.
    bootstrap_method_ : str
    spectrum_ : CovarianceSpectrum or None
        The spectrum estimated from activity input.
    """

    def __init__(self, model="iid", alpha="auto", fraction=None, drop_top="auto", cost="cvm",
                 scale="fit", ci=0.9, n_boot=200, bootstrap="auto", ci_method="basic",
                 block_size="auto", window=None, kind="covariance", random_state=None,
                 progress=False):
        self.model = model
        self.alpha = alpha
        self.fraction = fraction
        self.drop_top = drop_top
        self.cost = cost
        self.scale = scale
        self.ci = ci
        self.n_boot = n_boot
        self.bootstrap = bootstrap
        self.ci_method = ci_method
        self.block_size = block_size
        self.window = window
        self.kind = kind
        self.random_state = random_state
        self.progress = progress

    # ---------------------------------------------------------------------------- checks
    def _check_params(self):
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
        """Eigenvalues, N, alpha, dof, kind, activity (or None) and provenance from the input.

        Warnings of the spectrum that the fit may resolve are appended to ``held``."""
        from .recording import Recording
        from .spectrum import _NOT_DECAYED, CovarianceSpectrum

        info = {"bin_size": None, "window": None, "n_samples": None, "source": None,
                "input": None}
        activity = None
        spectrum = None
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
            spectrum = CovarianceSpectrum(kind=self.kind, window=self.window)
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
        dof = float(getattr(spectrum, "n_dof_", None) or spectrum.n_samples_eff_)
        if alpha is None and self.alpha == "auto":
            a = n / dof
        else:
            a = self._check_alpha(self.alpha if alpha is None else alpha, "alpha")
            dof = n / a if a > 0 else np.inf
        if not (np.isfinite(dof) and dof >= 2) and a != 0:
            raise FitError(
                f"GainFit: the activity has only {dof:.3g} effective samples; the spectrum cannot "
                "be fitted. Record longer or use shorter windows.")
        ev = _nonzero(spectrum.eigenvalues_)
        info.update(n_samples_eff=float(getattr(spectrum, "n_samples_eff_", np.nan)))
        return ev, n, a, dof, kind, activity, spectrum, info

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
        return _nonzero(np.clip(ev, 0.0, None)), n, a, dof, self.kind, None, None, info

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
        try:
            ev, n, a, dof, kind, activity, spectrum, info = self._prepare(data, alpha, held)
            if ev.size < _MIN_EIGENVALUES:
                raise FitError(
                    f"GainFit: only {ev.size} nonzero eigenvalues; the theory is a large-N limit "
                    f"and needs at least {_MIN_EIGENVALUES} (record more neurons or more samples).")
            self.n_neurons_ = n
            self.spectrum_ = spectrum
            self.kind_ = kind
            self.info_ = info
            rng = np.random.default_rng(self.random_state)

            mdl = _Model(self.model, a, self.fraction)
            eng = _Engine(mdl, self.cost, self.scale)
            lam = ev  # ascending, nonzero
            k_drop, theta, ls, sur_cost = self._fit_with_drop(eng, lam)
            if k_drop > 0 and activity is not None and alpha is None and self.alpha == "auto":
                # the effective sample size behind alpha belongs to what is fitted: the activity
                # without the dropped modes (a slow shared mode would otherwise shrink it)
                dof_res, decayed = self._residual_dof(activity, kind, k_drop, spectrum)
                if decayed:
                    held.clear()
                if abs(dof_res - dof) > 1e-3 * dof:
                    dof, a = dof_res, n / dof_res
                    mdl = _Model(self.model, a, self.fraction)
                    eng = _Engine(mdl, self.cost, self.scale)
                    k_drop, theta, ls, sur_cost = self._fit_with_drop(eng, lam)
        finally:
            for w in held:
                warnings.warn(w.message, w.category, stacklevel=2)
        self.alpha_ = float(a)
        self.n_samples_eff_ = float(dof) if np.isfinite(dof) else None
        self._engine = eng
        kept = lam[: lam.size - k_drop]
        self.n_dropped_ = int(k_drop)
        self.eigenvalues_ = lam[::-1].copy()
        self._theta_sur = theta
        self._ls_sur = ls
        self._kept = kept

        # exact polish with lmfit
        self._polish(mdl, kept, theta, ls)

        # null: Marchenko-Pastur with a fitted scale
        self._fit_null(kept, a)

        # displays in mean-normalised units
        from .theory import MarchenkoPastur

        mean_kept = float(np.mean(kept))
        spec = mdl.spectrum(self.g_eff_, self.kappa_)
        self.theory_ = spec.scaled(self.scale_ / mean_kept)
        self.null_ = (MarchenkoPastur(a).scaled(self._null_scale / mean_kept) if a > 0 else None)

        # bootstrap
        self._bootstrap(eng, kept, activity, kind, rng, dof)
        return self

    def _residual_dof(self, activity, kind, k, spectrum):
        """Degrees of freedom of the (windowed) activity with its top ``k`` modes removed, and
        whether its autocorrelation decayed within the spectrum's ``max_lag``."""
        import scipy.linalg as sla

        from .spectrum import effective_sample_size_excluding

        X = _window_sum(activity, self.window)
        Xc = X - X.mean(axis=0)
        if kind == "correlation":
            sd = Xc.std(axis=0)
            Xc = Xc / np.where(sd > 0, sd, 1.0)
        N = Xc.shape[1]
        with _blas_threads(N):
            _, V = sla.eigh(Xc.T @ Xc, subset_by_index=[N - k, N - 1])
        n_eff, decayed = effective_sample_size_excluding(Xc, V, max_lag=spectrum.max_lag)
        n = X.shape[0]
        return n_eff * (n - 1) / n, decayed

    # -- drop top -----------------------------------------------------------------------------
    def _drop_count(self, eng, lam, theta, ls):
        """How many of ascending ``lam`` lie beyond the fitted edge (the auto rule)."""
        n = lam.size
        lq, lhi = eng.table.quantile(theta, 1.0 - 1.0 / n)
        hi = math.exp(lhi + ls)
        spacing = hi - math.exp(lq + ls)
        thr = hi + _DROP_Z * spacing
        return int(np.sum(lam > thr))

    def _fit_with_drop(self, eng, lam, start=None):
        if self.drop_top != "auto":
            k = int(self.drop_top)
            if k > lam.size - _MIN_EIGENVALUES:
                raise ParameterError(
                    f"GainFit: drop_top={k} leaves fewer than {_MIN_EIGENVALUES} of the {lam.size} "
                    "nonzero eigenvalues; choose a smaller drop_top.")
            theta, ls, c = eng.fit(lam[: lam.size - k], start)
            return k, theta, ls, c
        cap = min(_MAX_DROP, lam.size // 10)
        k = 0
        theta, ls, c = eng.fit(lam, start)
        for _ in range(_MAX_DROP + 2):
            kept = lam[: lam.size - k]
            extra = self._drop_count(eng, kept, theta, ls)
            if extra == 0 or k >= cap:
                break
            k = min(k + extra, cap)
            theta, ls, c = eng.fit(lam[: lam.size - k], (theta, ls))
        return k, theta, ls, c

    # -- exact fit -----------------------------------------------------------------------------
    def _polish(self, mdl, kept, theta, ls):
        import lmfit

        g0, kappa0 = mdl.natural(theta)
        u_cap = _G_CAP
        params = lmfit.Parameters()
        if self.model == "iid":
            params.add("g_eff", value=min(g0, u_cap), min=0.0, max=u_cap)
            params.add("kappa", value=0.0, vary=False)
        else:
            params.add("kappa", value=kappa0, min=_KAPPA_RANGE[0], max=_KAPPA_RANGE[1])
            params.add("stability", value=min(g0 * (1 + kappa0), u_cap), min=0.0, max=u_cap)
            params.add("g_eff", expr="stability / (1 + kappa)")
        if self.scale == "fit":
            params.add("log_scale", value=ls)
        else:
            params.add("log_scale", value=ls, vary=False)
        params.add("scale", expr="exp(log_scale)")
        loglam = np.log(kept)
        n = kept.size
        t = _targets(n)
        lmean = math.log(float(np.mean(kept)))
        cache = {}

        def spec_at(g, kappa):
            key = (round(g, 12), round(kappa, 12))
            s = cache.get(key)
            if s is None:
                s = mdl.spectrum(g, kappa)
                cache[key] = s
            return s

        def model_cdf(p):
            g = p["g_eff"].value
            kappa = p["kappa"].value
            s = spec_at(g, kappa)
            if self.scale == "fit":
                lsc = p["log_scale"].value
            else:
                lsc = lmean - math.log(s.mean())
            return np.asarray(s.cdf(np.exp(loglam - lsc)), dtype=float), lsc

        def residual(p):
            F, _ = model_cdf(p)
            return F - t

        def scalar(p):
            F, _ = model_cdf(p)
            return _ks(F, n)

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
        crit = (lambda F: _cvm(F, n)) if self.cost == "cvm" else (lambda F: _ks(F, n))
        if crit(F_fin) > crit(F_sur) + 1e-15:
            pv = params
            F_fin, lsc_fin = F_sur, lsc_sur
        self.result_ = res
        self.params_ = pv
        self.g_eff_ = float(pv["g_eff"].value)
        self.kappa_ = float(pv["kappa"].value)
        self.scale_ = float(math.exp(lsc_fin))
        self.cost_ = _cvm(F_fin, n)
        self.ks_ = _ks(F_fin, n)
        if self._at_upper_bound():
            warnings.warn(
                f"GainFit: g_eff(1 + kappa) = {self.g_eff_ * (1 + self.kappa_):.4f} is at the "
                f"upper bound {u_cap:.4f} of the fit: the spectrum is as broad as the model allows. "
                "The network may be at or beyond the edge of stability, or the spectrum is not the "
                "linear theory's (low-rank modes: try drop_top; chaotic dynamics at finite N: "
                "see p_value_model_).",
                GainFitWarning, stacklevel=3)

    def _at_upper_bound(self):
        """Whether the fitted ``g_eff (1 + kappa)`` sits at the cap of the model tables."""
        return self.g_eff_ * (1 + self.kappa_) >= _G_CAP * (1 - 1e-6)

    def _fit_null(self, kept, a):
        """Marchenko-Pastur null with a fitted scale (a = 0: a point mass, cost from the mean)."""
        from .theory import MarchenkoPastur

        n = kept.size
        t = _targets(n)
        loglam = np.log(kept)
        if a <= 0:
            self.null_cost_ = float("nan")
            self.null_ks_ = float("nan")
            self._null_scale = float(np.mean(kept))
            return
        mp = MarchenkoPastur(a)
        self._mp = mp
        lsc, F = self._null_scale_fit(mp, loglam, t)
        self._null_scale = math.exp(lsc)
        self.null_cost_ = _cvm(F, n)
        self.null_ks_ = _ks(F, n)

    def _null_scale_fit(self, mp, loglam, t):
        lmean = math.log(float(np.mean(np.exp(loglam))))
        l0 = lmean - math.log(mp.mean())
        if self.scale == "mean":
            return l0, np.asarray(mp.cdf(np.exp(loglam - l0)), dtype=float)
        fun = lambda q: np.asarray(mp.cdf(np.exp(loglam - q[0])), dtype=float) - t  # noqa: E731
        q, r = _lm(fun, [l0], np.array([-np.inf]), np.array([np.inf]))
        return float(q[0]), r + t

    # -- bootstrap -------------------------------------------------------------------------------
    def _bootstrap(self, eng, kept, activity, kind, rng, dof):
        import pandas as pd

        method = self.bootstrap
        if method == "auto":
            method = "network"
        if method == "block" and activity is None:
            raise ParameterError(
                "GainFit: bootstrap='block' resamples time blocks of the activity, but the input "
                "has no activity (eigenvalues or a fitted CovarianceSpectrum). Pass the activity or "
                "use bootstrap='network'.")
        n = self.n_neurons_
        if (method == "network" and self.fraction is not None
                and n / self.fraction > _MAX_NETWORK):
            warnings.warn(
                f"GainFit: a network bootstrap would simulate {n / self.fraction:.0f} neurons "
                f"(N / fraction) per replicate; using bootstrap='samples' instead (conditional on "
                "the network, so the interval is narrower than the ensemble's).",
                GainFitWarning, stacklevel=3)
            method = "samples"
        self.bootstrap_method_ = method
        B = int(self.n_boot)
        # the surrogate fit of the data: the reference for replicate deviations
        theta_d, ls_d, cost_d = self._theta_sur, self._ls_sur, None
        loglam = np.log(kept)
        cost_d = eng.objective(np.r_[theta_d, ls_d] if self.scale == "fit" else theta_d, loglam,
                               _targets(kept.size), math.log(float(np.mean(kept))))
        g_d, kappa_d = eng.model.natural(theta_d)
        self.bootstrap_ = np.empty(0)
        self.bootstrap_kappa_ = np.empty(0)
        boot_cost = np.empty(0)
        self.p_value_model_ = float("nan")
        self.p_value_null_ = float("nan")
        if B > 0:
            if B < 50:
                warnings.warn(
                    f"GainFit: n_boot={B} replicates give a rough interval; use >= 200 for a "
                    "calibrated 90 % interval.", GainFitWarning, stacklevel=3)
            with _blas_threads(n):
                gs, ks, cs = self._replicates(eng, method, B, n, dof, kind, activity, rng,
                                              (theta_d, ls_d), g_d, kappa_d)
                if self.alpha_ > 0:
                    self.p_value_null_ = self._null_pvalue(kept.size, n, dof, B, rng)
            self.bootstrap_ = gs
            self.bootstrap_kappa_ = ks
            boot_cost = cs
            self.g_eff_stderr_ = float(np.std(gs, ddof=1))
            # deviations are measured from the surrogate estimate of the data, then applied to
            # the exact estimate (the two differ by the table's interpolation error only)
            shift = self.g_eff_ - g_d
            lo, hi = _ci_from_boot(g_d, gs, self.ci,
                                   self.ci_method if self.model == "iid" else
                                   ("plain-basic" if self.ci_method == "basic" else "percentile"))
            self.g_eff_ci_ = (max(lo + shift, 0.0),
                              min(hi + shift, 1.0) if self.model == "iid" else hi + shift)
            if self.model == "iid" and self._at_upper_bound():
                # at the upper bound the replicates are censored too: only a lower limit is
                # informative, the upper one is the edge of stability
                q = float(np.quantile(gs, (1.0 - self.ci) / 2.0)) + shift
                self.g_eff_ci_ = (min(q, self.g_eff_), 1.0)
            if self.model == "reciprocal":
                self.kappa_stderr_ = float(np.std(ks, ddof=1))
                q = np.quantile(ks, [(1 - self.ci) / 2, (1 + self.ci) / 2])
                if self.ci_method == "percentile":
                    self.kappa_ci_ = (float(q[0]), float(q[1]))
                else:
                    self.kappa_ci_ = (float(2 * self.kappa_ - q[1]), float(2 * self.kappa_ - q[0]))
            else:
                self.kappa_stderr_ = None
                self.kappa_ci_ = None
            if method in ("network", "samples"):
                self.p_value_model_ = float((1 + np.sum(cs >= cost_d)) / (1 + cs.size))
        else:
            self.g_eff_stderr_ = float("nan")
            self.g_eff_ci_ = (float("nan"), float("nan"))
            self.kappa_stderr_ = None
            self.kappa_ci_ = None
        self.bootstrap_costs_ = boot_cost
        name = "linear network (iid)" if self.model == "iid" else "linear network (reciprocal)"
        k = (1 if self.model == "iid" else 2) + (1 if self.scale == "fit" else 0)
        self.comparison_ = pd.DataFrame(
            {"n_params": [k, 1 if self.scale == "fit" else 0],
             "cost_cvm": [self.cost_, self.null_cost_],
             "ks": [self.ks_, self.null_ks_],
             "p_value": [self.p_value_model_, self.p_value_null_]},
            index=pd.Index([name, "Marchenko-Pastur null"], name="model"))

    def _replicates(self, eng, method, B, n, dof, kind, activity, rng, start, g_d, kappa_d):
        """Replicate estimates (g, kappa) and their costs."""
        gs = np.empty(B)
        ks = np.empty(B)
        cs = np.empty(B)
        bar = progress_bar(B, enabled=self.progress, desc="GainFit bootstrap")
        if method == "block":
            self._half_samples(eng, B, n, dof, kind, activity, rng, start, g_d, kappa_d,
                               gs, ks, cs, bar)
            bar.close()
            return gs, ks, cs
        sim = self._simulator(method, n, dof, kind, g_d, kappa_d, rng)
        for b in range(B):
            lam = _nonzero(sim())
            _, theta, _, c = self._fit_with_drop(eng, lam, (start[0], None))
            gs[b], ks[b] = eng.model.natural(theta)
            cs[b] = c
            bar.update(1)
        bar.close()
        return gs, ks, cs

    def _half_samples(self, eng, B, n, dof, kind, activity, rng, start, g_d, kappa_d,
                      gs, ks, cs, bar):
        """Random half-samples of time blocks (``bootstrap="block"``).

        Resampling blocks *with* replacement duplicates samples, which widens a
        high-dimensional sample spectrum beyond what Marchenko-Pastur(alpha) describes (the
        refit would read g low: -0.006 at g = 0.8, alpha = 0.1 and -0.06 at alpha = 0.5 in our
        simulations; El Karoui & Purdom 2018). Instead the blocks are split at random into two
        halves without replacement; each half is an ordinary sample of T/2 samples, described
        exactly by the model at alpha' = N / dof_half, and the half-difference
        ``(g_1 - g_2) / 2`` has the variance of the full-sample estimate when that variance
        scales as 1/T (random-groups variance estimation).
        """
        Xw = _window_sum(activity, self.spectrum_.window or 1)
        T = Xw.shape[0]
        tau = float(getattr(self.spectrum_, "integrated_time_", 1.0) or 1.0)
        if self.block_size == "auto":
            L = int(max(math.ceil(3 * tau), math.ceil(T ** (1 / 3))))
        else:
            L = int(self.block_size)
        n_blocks = T // L
        if n_blocks < 4:
            raise ParameterError(
                f"GainFit: bootstrap='block' needs at least 4 blocks of {L} samples, but the "
                f"(windowed) recording has {T} samples. Use a smaller block_size or "
                "bootstrap='network'.")
        self.block_size_ = L
        T_used = n_blocks * L
        half_rows = (n_blocks // 2) * L
        # degrees of freedom of one centred half, scaled like those of the whole recording
        dof_half = (dof * (half_rows - 1) / max(T_used - 1, 1)) if np.isfinite(dof) else half_rows - 1
        eng_h = _Engine(_Model(self.model, n / dof_half, self.fraction), self.cost, self.scale)
        self._half_engine = eng_h
        blocks = Xw[:T_used].reshape(n_blocks, L, n)

        def spectrum_of(idx):
            Xh = blocks[idx].reshape(-1, n)
            Xh = Xh - Xh.mean(axis=0)
            if kind == "correlation":
                sd = Xh.std(axis=0)
                sd[sd == 0] = 1.0
                Xh = Xh / sd
            if Xh.shape[0] < n:
                return _nonzero(np.linalg.eigvalsh(Xh @ Xh.T))
            return _nonzero(np.linalg.eigvalsh(Xh.T @ Xh))

        for b in range(B):
            perm = rng.permutation(n_blocks)
            half = n_blocks // 2
            res = []
            for idx in (perm[:half], perm[half:2 * half]):
                _, theta, _, c = self._fit_with_drop(eng_h, spectrum_of(idx), (start[0], None))
                res.append((*eng_h.model.natural(theta), c))
            (g1, k1, c1), (g2, k2, c2) = res
            gs[b] = g_d + 0.5 * (g1 - g2)
            ks[b] = kappa_d + 0.5 * (k1 - k2)
            cs[b] = 0.5 * (c1 + c2)
            bar.update(1)

    def _simulator(self, method, n, dof, kind, g, kappa, rng):
        """A function drawing one replicate spectrum from the fitted model."""
        from scipy.linalg import solve_triangular

        from .simulate import draw_couplings

        if not np.isfinite(dof):
            dof_s = None  # alpha = 0: population spectra, no sampling noise
        else:
            dof_s = float(dof)
        f = self.fraction
        if method == "samples":
            from .theory import LinearSpectrum

            if g <= 1e-9:
                pop = np.ones(n)
            else:
                base = LinearSpectrum(g, kappa=kappa)
                if f is not None and f < 1:
                    base = base.subsampled(f)
                pop = np.asarray(base.rank_curve(n), dtype=float)
            sq = np.sqrt(pop)[:, None]

            def draw():
                if dof_s is None:
                    return pop.copy()
                Bf = _sample_factor(n, dof_s, rng)
                return _eigs_from_factor(sq * Bf, "covariance")
            return draw

        n_total = n if f is None or f >= 1 else int(round(n / f))
        eye = np.eye(n_total)

        def draw():
            if g <= 1e-9:
                L = None
            else:
                J = draw_couplings(n_total, g, kappa, rng)
                M = eye - J
            if n_total == n:
                if g <= 1e-9:
                    if dof_s is None:
                        return np.ones(n)
                    return _eigs_from_factor(_sample_factor(n, dof_s, rng), kind)
                if dof_s is None:
                    s = np.linalg.svd(M, compute_uv=False)
                    return np.sort(1.0 / (s * s))
                Bf = _sample_factor(n, dof_s, rng)
                if kind == "covariance" and Bf.shape[0] == Bf.shape[1]:
                    # eig((I-J)^-1 B B^T (I-J)^-T) = 1 / eig(K^T K) with K = B^-1 (I - J):
                    # one triangular solve instead of an LU solve
                    K = solve_triangular(Bf, M, lower=True, check_finite=False)
                    ev = np.linalg.eigvalsh(K.T @ K)
                    return np.sort(1.0 / ev[ev > 0])
                L = np.linalg.solve(M, Bf)  # (I - J)^-1 B: samples of C = (I-J)^-1 (I-J)^-T
                return _eigs_from_factor(L, kind)
            # a random subset of n of the n_total neurons is recorded
            sel = rng.choice(n_total, size=n, replace=False)
            if g <= 1e-9:
                Ls = eye[sel]
            else:
                Ls = np.linalg.solve(M.T, eye[:, sel]).T  # rows of (I - J)^-1
            if dof_s is None:
                return np.linalg.eigvalsh(Ls @ Ls.T)
            Bf = _sample_factor(n_total, dof_s, rng)
            return _eigs_from_factor(Ls @ Bf, kind)
        return draw

    def _null_pvalue(self, n_kept, n, dof, B, rng):
        """Parametric-bootstrap goodness of fit of the Marchenko-Pastur null.

        Null spectra are eigenvalues of Wishart(I, dof) matrices, drawn in O(N^2) from the
        tridiagonal model; each is scored like the data (scale fitted, tabulated MP CDF).
        """
        mp = self._mp
        lo, hi = mp.support()
        llo, lhi = math.log(lo), math.log(hi)
        Fz = np.maximum.accumulate(np.clip(
            np.asarray(mp.cdf(np.exp(llo + _Z * (lhi - llo))), dtype=float), 0.0, 1.0))
        l_mean = math.log(mp.mean())
        costs = np.empty(B)
        for b in range(B):
            ev = _nonzero(_mp_eigs(n, dof, rng))
            if self.n_dropped_:
                ev = ev[: min(ev.size, n_kept)]
            loglam = np.log(ev)
            t = _targets(ev.size)
            l0 = math.log(float(np.mean(ev))) - l_mean

            def fun(q):
                return np.interp((loglam - q[0] - llo) / (lhi - llo), _Z, Fz) - t

            if self.scale == "fit":
                _, r = _lm(fun, [l0], np.array([-np.inf]), np.array([np.inf]))
            else:
                r = fun([l0])
            costs[b] = float(np.mean(r * r) + 1.0 / (12.0 * ev.size ** 2))
        self.null_bootstrap_costs_ = costs
        return float((1 + np.sum(costs >= self.null_cost_)) / (1 + B))

    # ---------------------------------------------------------------------------- outputs
    def _check_fitted(self):
        if not hasattr(self, "g_eff_"):
            from sklearn.exceptions import NotFittedError

            raise NotFittedError("This GainFit is not fitted yet; call fit(data) first.")

    def to_frame(self):
        """Fitted parameters as a DataFrame (one row per parameter).

        Columns: ``estimate``, ``stderr``, ``ci_low``, ``ci_high``, ``ci_level``, ``fitted``
        (False for fixed parameters). ``DataFrame.attrs`` holds the fit's context (N, alpha,
        dropped modes, costs, p-values).
        """
        import pandas as pd

        self._check_fitted()
        rows = {
            "g_eff": [self.g_eff_, self.g_eff_stderr_, *self.g_eff_ci_, self.ci, True],
            "kappa": [self.kappa_,
                      np.nan if self.kappa_stderr_ is None else self.kappa_stderr_,
                      *(self.kappa_ci_ if self.kappa_ci_ else (np.nan, np.nan)), self.ci,
                      self.model == "reciprocal"],
            "scale": [self.scale_, np.nan, np.nan, np.nan, self.ci, self.scale == "fit"],
        }
        df = pd.DataFrame.from_dict(
            rows, orient="index",
            columns=["estimate", "stderr", "ci_low", "ci_high", "ci_level", "fitted"])
        df.index.name = "parameter"
        df.attrs.update(
            n_neurons=self.n_neurons_, n_eigenvalues=int(self._kept.size), alpha=self.alpha_,
            n_samples_eff=self.n_samples_eff_, n_dropped=self.n_dropped_, cost=self.cost_,
            null_cost=self.null_cost_, p_value_model=self.p_value_model_,
            p_value_null=self.p_value_null_, bootstrap=self.bootstrap_method_,
            n_boot=int(self.bootstrap_.size), model=self.model)
        return df

    def report(self):
        """A plain-text summary to paste into a lab notebook."""
        self._check_fitted()
        info = self.info_
        lines = ["neurospec GainFit"]
        src = info.get("source")
        lines.append(f"  data: {info.get('input')}" + (f" from {src}" if src else ""))
        if self.spectrum_ is not None:
            sp = self.spectrum_
            win = info.get("window") or 1
            bs = info.get("bin_size")
            wtxt = f"{win} bin(s)" + (f" = {win * bs:g} s" if bs else "")
            lines.append(f"  {self.kind_} matrix, window {wtxt}, {getattr(sp, 'n_windows_', '?')} "
                         f"windows")
            lines.append(f"  participation ratio: raw {sp.participation_ratio_:.2f}, corrected "
                         f"{sp.participation_ratio_corrected_:.2f}")
        T = self.n_samples_eff_
        lines.append(f"  N = {self.n_neurons_} neurons, T_eff = "
                     f"{'inf' if T is None else f'{T:.1f}'} effective samples, "
                     f"alpha = N/T_eff = {self.alpha_:.4g}")
        if self.fraction is not None:
            lines.append(f"  recorded fraction of the network: {self.fraction:g}")
        lines.append(f"  dropped top modes: {self.n_dropped_}"
                     + (f" (eigenvalues {', '.join(f'{v:.4g}' for v in self.eigenvalues_[:self.n_dropped_])})"
                        if self.n_dropped_ else "")
                     + f" [drop_top={self.drop_top!r}]")
        lo, hi = self.g_eff_ci_
        lines.append(f"  model: {self.model} couplings, cost {self.cost}, scale {self.scale}")
        if self.bootstrap_.size:
            lines.append(f"  g_eff = {self.g_eff_:.4f} +/- {self.g_eff_stderr_:.4f} (bootstrap s.e.), "
                         f"{100 * self.ci:.0f}% CI [{lo:.4f}, {hi:.4f}]")
        else:
            lines.append(f"  g_eff = {self.g_eff_:.4f} (no bootstrap: n_boot=0, no uncertainty)")
        if self.model == "reciprocal":
            kci = self.kappa_ci_ or (np.nan, np.nan)
            kse = np.nan if self.kappa_stderr_ is None else self.kappa_stderr_
            lines.append(f"  kappa = {self.kappa_:.4f} +/- {kse:.4f}, CI [{kci[0]:.4f}, {kci[1]:.4f}]")
        lines.append(f"  noise scale sigma^2 = {self.scale_:.4g} (eigenvalue units)")
        lines.append(f"  uncertainty: {self.bootstrap_method_} bootstrap, {self.bootstrap_.size} "
                     f"replicates, {self.ci_method} interval")
        lines.append(f"  fit distance: CvM {self.cost_:.3g}, KS {self.ks_:.3g} "
                     f"(goodness-of-fit p = {self.p_value_model_:.3g})")
        lines.append(f"  Marchenko-Pastur null: CvM {self.null_cost_:.3g}, KS {self.null_ks_:.3g} "
                     f"(goodness-of-fit p = {self.p_value_null_:.3g})")
        lines.append("  interpretation: " + self._interpretation())
        return "\n".join(lines)

    def _interpretation(self):
        txt = []
        # A bootstrap p-value cannot go below 1/(B+1): at that floor the test rejects as
        # strongly as B replicates allow, even when the floor is above 0.01.
        floor = 1.0 / (self.bootstrap_.size + 1) if self.bootstrap_.size else 0.0

        def rejects(p):
            return p < 0.01 or p <= floor * (1 + 1e-9)

        def p_text(p):
            if p <= floor * (1 + 1e-9):
                return f"p <= {floor:.2g}, the smallest {self.bootstrap_.size} replicates resolve"
            return f"p = {p:.2g}"

        p0 = self.p_value_null_
        if np.isfinite(p0):
            if rejects(p0):
                txt.append("the spectrum is broader than independent neurons would give "
                           f"(null rejected, {p_text(p0)})")
            else:
                txt.append(f"the spectrum is consistent with independent neurons (null p = {p0:.2g}); "
                           "g_eff is not distinguishable from 0 at this sample size")
        pm = self.p_value_model_
        if np.isfinite(pm):
            if rejects(pm):
                txt.append(f"the random-network model does not fit well ({p_text(pm)}): check for "
                           "low-rank modes, short windows, non-random structure, or a network too "
                           "close to the edge of stability for its size")
            else:
                txt.append(f"the random-network model fits (p = {pm:.2g})")
        g = self.g_eff_
        if self.model == "iid" and self._at_upper_bound():
            txt.append("g_eff is at the fit's upper bound: the spectrum is as broad as the model "
                       "allows, so the network is at or beyond the edge of stability, or too close "
                       "to it for the large-N theory at this N (simulated noiseless chaos with up "
                       "to 1600 neurons does this); read it as 'near 1', a lower limit, not a value")
        elif g > 0.9:
            txt.append("g_eff near 1: the network is close to the edge of stability, slow modes "
                       f"of time scale ~1/(1-g_eff) = {1 / (1 - g):.0f} tau dominate; make sure the "
                       "windows are longer than that (window_ladder)")
        return "; ".join(txt) + "."

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
        """
        from . import plotting

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


# --------------------------------------------------------------------------------------------
# window ladder
# --------------------------------------------------------------------------------------------
def window_ladder(data, windows=None, *, bin_size=None, min_windows=None, n_boot=50,
                  random_state=None, progress=False, warn=True, **fit_params):
    """Fit ``g_eff`` over a ladder of window lengths and check that it has converged.

    Activity summed over windows that are short against the network's slowest time scale
    (about ``tau / (1 - g_eff)``) has a narrower spectrum than the zero-frequency covariance
    the theory describes, so the fit reads ``g_eff`` low (science.md §4, "Finite windows":
    5.3 % low at W = 10 tau, 1.6 % at W = 30 tau for g = 0.55). Near criticality the bias can
    go either way: for a simulated linear network of N = 400 with g = 0.97 (slowest time scale
    68 tau) windows of 10, 50 and 400 tau read 0.993, 0.928 and 0.967 against 0.964 at zero
    frequency. The estimate should level off with the window; if it still changes between the
    two longest windows the recording allows, a :class:`WindowConvergenceWarning` says so.

    Parameters
    ----------
    data : array_like or Recording
        Activity, shape (n_samples, n_neurons) (time x neurons).
    windows : sequence of int, optional
        Window lengths in bins. Default: powers of two from 1 up to the longest window that
        leaves at least ``min_windows`` windows.
    bin_size : float, optional
        Bin width in seconds (taken from a Recording); adds a ``window_s`` column.
    min_windows : int, optional
        Fewest windows a ladder step may have (default ``N / 2``, i.e. alpha <= 2).
    n_boot : int
        Replicates per step. The ladder compares windows of the *same* network, so the
        uncertainty is the sampling noise only (``bootstrap="samples"``).
    random_state, progress
        As in :class:`GainFit`.
    warn : bool
        Emit :class:`WindowConvergenceWarning` when not converged.
    **fit_params
        Other :class:`GainFit` parameters (``kind``, ``drop_top``, ``model``...).

    Returns
    -------
    pandas.DataFrame
        Columns ``window`` (bins), ``window_s`` (seconds, NaN without a bin size),
        ``n_windows``, ``alpha``, ``g_eff``, ``stderr``, ``ci_low``, ``ci_high``,
        ``n_dropped``. ``attrs["converged"]`` is True/False and ``attrs["message"]`` explains.

    Warns
    -----
    WindowConvergenceWarning
        When the last two steps differ by more than both their combined standard error
        (sampling only) and 1 % of the estimate. The message explains the direction: a rise
        is the classic finite-window bias (short windows read low); a fall is seen near
        criticality (slow modes correlated across windows) and with non-stationary activity.
    """
    import pandas as pd

    from .recording import Recording

    if isinstance(data, Recording):
        X = data.activity
        bin_size = data.bin_size if bin_size is None else bin_size
    else:
        X = np.asarray(data, dtype=float)
    if X.ndim != 2:
        raise ShapeError(f"window_ladder: activity must be 2-D (n_samples, n_neurons), got shape "
                         f"{X.shape}.")
    T, N = X.shape
    for bad in ("window", "bootstrap", "n_boot", "random_state", "progress"):
        if bad in fit_params:
            raise ParameterError(f"window_ladder: {bad!r} is set by the ladder itself; remove it.")
    if min_windows is None:
        min_windows = max(N // 2, 20)
    if windows is None:
        windows = []
        w = 1
        while T // w >= min_windows:
            windows.append(w)
            w *= 2
        if not windows:
            raise ParameterError(
                f"window_ladder: {T} samples do not give {min_windows} windows even of one bin; "
                "lower min_windows or record longer.")
    windows = sorted({int(w) for w in windows})
    if windows[0] < 1:
        raise ParameterError(f"window_ladder: windows must be positive integers, got {windows}.")
    too_long = [w for w in windows if T // w < 2]
    if too_long:
        raise ParameterError(f"window_ladder: windows {too_long} leave fewer than 2 windows in "
                             f"{T} samples; use shorter windows.")
    rng = np.random.default_rng(random_state)
    rows = []
    bar = progress_bar(len(windows), enabled=progress, desc="window ladder")
    for w in windows:
        bar.update(1)
        gf = GainFit(window=w, bootstrap="samples", n_boot=n_boot,
                     random_state=rng.integers(2**63), **fit_params)
        with warnings.catch_warnings():
            # the ladder compares estimates; a small n_boot is its own (documented) choice
            warnings.filterwarnings("ignore", message="GainFit: n_boot=", category=GainFitWarning)
            gf.fit(X)
        rows.append(dict(window=w, window_s=(w * bin_size if bin_size else np.nan),
                         n_windows=T // w, alpha=gf.alpha_, g_eff=gf.g_eff_,
                         stderr=gf.g_eff_stderr_, ci_low=gf.g_eff_ci_[0],
                         ci_high=gf.g_eff_ci_[1], n_dropped=gf.n_dropped_))
    bar.close()
    df = pd.DataFrame(rows)
    converged, msg = True, "only one window length: convergence not checked"
    if len(df) >= 2:
        a, b = df.iloc[-2], df.iloc[-1]
        diff = b.g_eff - a.g_eff
        comb = math.sqrt(np.nan_to_num(a.stderr) ** 2 + np.nan_to_num(b.stderr) ** 2)
        rel = abs(diff) / max(abs(b.g_eff), 1e-12)
        between = f"between windows of {int(a.window)} and {int(b.window)} bins"
        if bin_size:
            between += f" ({a.window * bin_size:.4g} and {b.window * bin_size:.4g} s)"
        converged = not (abs(diff) > comb and rel > 0.01)
        tscale = 1.0 / max(1.0 - b.g_eff, 1e-6)
        if converged:
            msg = (f"converged: g_eff changed by {diff:+.4f} {between} (combined s.e. {comb:.4f}, "
                   f"{100 * rel:.1f} %)")
        else:
            if diff > 0:
                why = ("It still rises: short windows see the activity above zero frequency, whose "
                       "spectrum is narrower, and read g_eff low (science.md §4, 'Finite "
                       "windows').")
            else:
                why = ("It falls: near criticality short windows can also read g_eff high (the "
                       "slowest modes stay correlated across windows; seen in simulated networks "
                       "with g_eff above 0.95), and slow drifts or state changes "
                       "(non-stationarity) make the estimate window-dependent too.")
            msg = (f"g_eff has not converged: it changed by {diff:+.4f} ({100 * rel:.1f} %, "
                   f"combined s.e. {comb:.4f}) {between}, the longest this recording allows. "
                   f"{why} The network's slowest time scale is about tau / (1 - g_eff) = "
                   f"{tscale:.0f} tau at this estimate (tau: the neurons' time constant, or the "
                   "indicator's decay time for calcium traces), and windows should be several "
                   "times longer. Treat the estimate as window-dependent: record longer, or "
                   "report the ladder.")
            if warn:
                warnings.warn(msg, WindowConvergenceWarning, stacklevel=2)
    df.attrs["converged"] = converged
    df.attrs["message"] = msg
    return df
