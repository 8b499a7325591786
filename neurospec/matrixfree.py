"""Covariance spectra past the N x N matrix: stochastic Lanczos quadrature (SLQ).

For N ~ 1e5-1e6 neurons the N x N covariance (80 GB-8 TB in float64) cannot be formed, but
its eigenvalue distribution can still be estimated from matrix-vector products
``C v = X_c^T (X_c v) / (n - 1)``, each one pass over the activity (time x neurons, read in
chunks or reduced with dask), never forming an N x N array.

Method (Golub & Meurant; Lin, Saad & Yang 2016; Chen, Trogdon & Ubaru 2021). For a random
unit vector ``z`` (a normalised Gaussian: uniform on the sphere) the spectral measure
``mu_z = sum_j (u_j . z)^2 delta(lambda_j)`` has expectation the eigenvalue distribution
(ESD) of C. ``k`` Lanczos steps from ``z`` give a k x k tridiagonal matrix whose eigenvalues
``theta`` and squared first eigenvector components ``w`` are the k-point Gauss quadrature of
``mu_z``: exact for polynomial moments of degree < 2k. Averaging over ``m`` probes (run
together, so one pass over the data serves all of them) estimates the ESD.

CDF and its error. Each probe's CDF is interpolated linearly through the points
``(theta_j, w_1 + ... + w_{j-1} + w_j / 2)``; the estimate is the average over probes. Two
errors are reported, and added in ``cdf_error_``:

* quadrature: ``sup |F_k - F_{k/2}|``, the change of the estimate when the second half of the
  Lanczos steps is left out (the k-step error is about half the k/2-step error for the
  O(1/k) convergence of quadrature CDFs, so this over-states it);
* sampling of the probes: for a uniform unit vector, ``mu_z(-inf, x]`` has variance
  ``2 F (1 - F) / (N + 2)``, so the average over m probes deviates from the ESD like a
  Brownian bridge of that variance; ``1.36 sqrt(2 / ((N + 2) m))`` bounds its supremum with
  95 % probability.

A rigorous band is also available (``cdf(x, bound="lower" | "upper")``): by the
Chebyshev-Markov-Stieltjes inequalities each probe's CDF lies between the Gauss weights summed
up to the node before and the node after ``x``; the band adds the probe-sampling bound. It is
wide (about one Gauss weight, ~1.5 / k) but certain.

For the fit. :meth:`MatrixFreeSpectrum.pseudo_eigenvalues` returns N "eigenvalues": the
quantiles of the estimated CDF at ``(i - 0.5) / r`` for the ``r`` nonzero ones (``r`` the rank,
``min(N, n - 1)`` for centred data; the ``N - r`` zero eigenvalues are exact), so
``GainFit(alpha=...).fit(spectrum.pseudo_eigenvalues())`` works unchanged, and
``GainFit().fit(spectrum)`` too (the estimator carries the attributes a fitted
:class:`~neurospec.CovarianceSpectrum` has: ``eigenvalues_`` are the pseudo-eigenvalues,
``n_dof_``, ``temporal_spectrum_``...). To carry the approximation error into ``g_eff``, fit
the pseudo-eigenvalues of ``n_steps // 2`` steps and of two halves of the probes
(``pseudo_eigenvalues(n_steps=..., probes=...)``): ``benchmarks/validate_matrixfree.py``
does this. Validated at N = 5000 against the exact eigenvalues (KS distance and g_eff; see
that script).
"""

from __future__ import annotations

import numbers

import numpy as np
import scipy.linalg as sla
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from ._progress import progress_bar
from .errors import DataValueError, ParameterError
from .spectrum import (
    CovarianceSpectrum,
    _autocorrelation,
    _constant_error,
    _min_error,
    _windowed,
    temporal_spectrum,
    unbiased_trace_moments,
)

__all__ = ["MatrixFreeSpectrum", "slq_spectrum"]

#: sup of a Brownian bridge: P(sup |B| > 1.358) = 5 %
_KS_95 = 1.358
#: progress="auto" shows a bar above this many flops (~10 s)
_PROGRESS_FLOPS = 5e11


def _auto_probes(n_features):
    """Probes so that the probe-sampling error sqrt(2 / (N m)) is about 0.004 (4 to 32)."""
    return int(np.clip(np.ceil(1.25e5 / max(n_features, 1)), 4, 32))


class MatrixFreeSpectrum(BaseEstimator):
    """Eigenvalue distribution of the covariance (or correlation) matrix without forming it.

    Stochastic Lanczos quadrature on products ``C V`` computed as ``X_c^T (X_c V)`` over time
    chunks (or with dask), for recordings with too many neurons for the N x N matrix (see the
    module docstring for the method and its error). Memory: O(N (m + 3)) floats for m probes,
    plus one chunk.

    Parameters
    ----------
    kind : {"covariance", "correlation"}
        Which matrix. ``"correlation"`` standardises each neuron (constant neurons are an
        error).
    window : int or None
        Sum activity over non-overlapping windows of this many samples first (as
        :class:`~neurospec.CovarianceSpectrum`; the matrix is divided by ``window``).
    center : bool
        Subtract each neuron's mean.
    n_probes : int or "auto"
        Random probe vectors m. ``"auto"``: ``ceil(125000 / N)`` clipped to [4, 32], which keeps
        the probe-sampling error near 0.004 (it falls as ``1 / sqrt(N m)``).
    n_steps : int
        Lanczos steps k (passes over the data after the first): the quadrature error of the
        CDF falls as about 1 / k; 80 gives ~0.003 on spectra of linear networks.
    max_lag : int
        Largest lag (windows) of the autocorrelation behind ``n_samples_eff_``.
    chunk_size : int or None
        Samples read per chunk (``None``: about 64 MiB of float64).
    random_state : int, numpy.random.Generator or None
        Seed of the probe vectors.
    progress : bool or "auto"
        Progress bar over the passes through the data (``"auto"``: when long).

    Attributes
    ----------
    eigenvalues_ : ndarray, shape (n_neurons,)
        Pseudo-eigenvalues, descending (:meth:`pseudo_eigenvalues`).
    cdf_error_ : float
        Estimated bound on ``sup_x |F_hat(x) - F(x)|`` against the exact eigenvalue
        distribution: ``quadrature_error_ + probe_error_``.
    quadrature_error_ : float
        ``sup |F_k - F_{k/2}|`` (module docstring).
    probe_error_ : float
        95 % bound on the probe-sampling error, ``1.358 sqrt(2 / ((r + 2) m))``.
    nodes_, weights_ : list of ndarray
        Gauss nodes (ascending) and weights (summing to 1) of each probe, nonzero part.
    n_probes_, n_steps_ : int
        Probes used; largest number of Lanczos steps run (fewer when the Krylov space of the
        data is exhausted, e.g. few samples).
    rank_ : int
        Number of nonzero eigenvalues (``min(N, n_windows - 1)`` when centred).
    trace_ : float
        Exact trace of the matrix (sum of the variances, or N for a correlation matrix).
    participation_ratio_, participation_ratio_corrected_ : float
        ``(tr C)^2 / tr C^2`` with ``tr C^2`` from the quadrature (exact for each probe), raw
        and with the finite-sample correction of :func:`~neurospec.spectrum.unbiased_trace_moments`.
    n_features_in_, n_samples_, n_windows_ : int
        Neurons, input samples, windowed samples (as :class:`~neurospec.CovarianceSpectrum`).
    mean_ : ndarray, shape (n_neurons,)
        Mean activity per sample.
    n_samples_eff_, n_dof_, alpha_, integrated_time_ : float
        Effective sample size and what follows from it (as
        :class:`~neurospec.CovarianceSpectrum`).
    autocorrelation_ : ndarray
        Population autocorrelation (lags in windows).
    autocorrelation_window_ : int
        Sokal's window.
    temporal_spectrum_ : TemporalSpectrum
        Estimated temporal spectrum of the samples (what the fit's forward model uses).
    meta_ : dict
        Provenance (input type, window, ``solver="slq"``, probes, steps).

    Examples
    --------
    >>> import numpy as np
    >>> from neurospec.matrixfree import MatrixFreeSpectrum
    >>> X = np.random.default_rng(0).standard_normal((2000, 300))
    >>> mf = MatrixFreeSpectrum(n_steps=40, random_state=0).fit(X)
    >>> lam = np.linalg.eigvalsh(np.cov(X, rowvar=False))
    >>> F_exact = np.searchsorted(np.sort(lam), 1.0) / lam.size
    >>> bool(abs(mf.cdf(1.0) - F_exact) < mf.cdf_error_)
    True
    """

    #: read by the shared effective-sample-size code (always estimated here)
    n_samples_eff = "auto"

    def __init__(self, kind="covariance", window=None, center=True, n_probes="auto",
                 n_steps=80, max_lag=256, chunk_size=None, random_state=None,
                 progress="auto"):
        self.kind = kind
        self.window = window
        self.center = center
        self.n_probes = n_probes
        self.n_steps = n_steps
        self.max_lag = max_lag
        self.chunk_size = chunk_size
        self.random_state = random_state
        self.progress = progress

    # ------------------------------------------------------------------ checks
    def _helper(self):
        """A CovarianceSpectrum with the same reading parameters (input checks, chunk plan)."""
        return CovarianceSpectrum(kind=self.kind, window=self.window, center=self.center,
                                  max_lag=self.max_lag, chunk_size=self.chunk_size,
                                  store_covariance=False, progress=False)

    def _check_params(self):
        def is_int(v):
            return isinstance(v, numbers.Integral) and not isinstance(v, bool)

        if not (self.n_probes == "auto" or (is_int(self.n_probes) and self.n_probes >= 1)):
            raise ParameterError(
                f"n_probes must be 'auto' or a positive integer, got {self.n_probes!r}.")
        if not is_int(self.n_steps) or self.n_steps < 2:
            raise ParameterError(f"n_steps must be an integer >= 2, got {self.n_steps!r}.")
        if not (isinstance(self.progress, (bool, np.bool_)) or self.progress == "auto"):
            raise ParameterError(f"progress must be True, False or 'auto', got {self.progress!r}.")
        self._helper()._check_params()

    # ------------------------------------------------------------------ fit
    def fit(self, X, y=None):
        """Estimate the eigenvalue distribution of the covariance (or correlation) of ``X``.

        Parameters
        ----------
        X : array_like, Recording, h5py.Dataset, numpy.memmap, TimeMajorView or dask.array
            Activity, shape (n_samples, n_neurons) = time x neurons. It is read ``n_steps + 1``
            times (an iterator, which can be read once, is refused). A dask array is reduced
            with dask at every step (in parallel on a ``distributed`` cluster).
        y : None
            Ignored.

        Returns
        -------
        self
        """
        self._check_params()
        helper = self._helper()
        kind, data, n_rows, n_features, name, meta = helper._prepare_input(X)
        if kind == "iterator":
            raise ParameterError(
                "MatrixFreeSpectrum reads the data n_steps + 1 times; pass an array, memmap, "
                "h5py dataset, neurospec.io.open_lazy(...).data or a dask array, not an "
                "iterator.")
        if n_rows < 2:
            raise _min_error(n_rows, n_features)
        if n_features < 2:
            raise _min_error(n_rows, n_features, "feature")
        self.bin_size_ = getattr(helper, "bin_size_", None)
        W = self.window or 1
        m = _auto_probes(n_features) if self.n_probes == "auto" else int(self.n_probes)
        k = int(self.n_steps)
        blocks, _ = helper._plan(n_rows, n_features)
        bar = self._progress_bar(n_rows // W, n_features, m, k)
        try:
            # pass 1: mean, variances, autocorrelation (no N x N array)
            per_neuron = self.kind == "correlation" and n_features * (self.max_lag + 1) <= 2**26
            folds, _, _, _ = helper._accumulate(kind, data, n_rows, n_features, name,
                                                gram=False, per_neuron=per_neuron)
            total = folds[0]
            n = total.n
            ac = _autocorrelation(self, total, None, name)
            denom = (n - 1 if self.center else n) * W
            diag = (total.m2 if self.center else total.m2 + n * total.mean**2) / denom
            if bar is not None:
                bar.update(1)
            scale_in = None
            if self.kind == "correlation":
                sd = np.sqrt(diag)
                const = np.nonzero(sd <= 1e-12 * max(sd.max(), 1e-300))[0]
                if const.size:
                    raise _constant_error(name, const)
                scale_in = 1.0 / sd
            mean = total.mean if self.center else None
            matvec = self._matvec(kind, data, blocks, n_features, W, mean, denom, scale_in, name)
            rng = np.random.default_rng(self.random_state)
            alphas, betas, k_eff = _lanczos(matvec, n_features, m, k, rng, bar)
        finally:
            if bar is not None:
                bar.close()

        rank = int(min(n_features, n - 1 if self.center else n))
        nodes, weights = _gauss_rules(alphas, betas, k_eff)
        nodes, weights = _drop_null(nodes, weights, rank, n_features)
        self._tri = (alphas, betas, k_eff)
        self.nodes_, self.weights_ = nodes, weights
        self.n_probes_ = m
        self.n_steps_ = int(k_eff.max())
        self.rank_ = rank
        self.n_features_in_ = n_features
        self.n_samples_ = n_rows
        self.n_windows_ = n
        self.mean_ = total.mean / W
        self._grid, self._F = _average_cdf(nodes, weights)
        # errors
        half = [max(2, int(ke) // 2) for ke in k_eff]
        nodes_h, weights_h = _drop_null(*_gauss_rules(alphas, betas, np.asarray(half)), rank,
                                        n_features)
        grid_h, F_h = _average_cdf(nodes_h, weights_h)
        both = np.union1d(self._grid, grid_h)
        self.quadrature_error_ = float(np.max(np.abs(
            np.interp(both, self._grid, self._F, left=0, right=1)
            - np.interp(both, grid_h, F_h, left=0, right=1))))
        self.probe_error_ = float(_KS_95 * np.sqrt(2.0 / ((rank + 2.0) * m)))
        self.cdf_error_ = self.quadrature_error_ + self.probe_error_
        # moments: exact trace, Hutchinson + quadrature for tr C^2 (exact per probe for k >= 2)
        trace = float(n_features) if self.kind == "correlation" else float(np.sum(diag))
        m2_rel = np.mean([np.sum(w * t**2) for t, w in zip(nodes, weights)])
        m1_rel = np.mean([np.sum(w * t) for t, w in zip(nodes, weights)])
        # the probe average of the first moment is not exactly tr/r: rescale so that it is
        # (ratio estimator: the shape of the spectrum is better estimated than its scale)
        fac = (trace / rank) / m1_rel if m1_rel > 0 else 1.0
        trace_sq = float(rank * m2_rel * fac**2)
        self.trace_ = trace
        self._scale_factor = fac
        self.participation_ratio_ = trace**2 / trace_sq if trace_sq > 0 else np.nan
        n_dof = ac["n_dof"]
        if n_dof > 1:
            a_hat, b_hat = unbiased_trace_moments(trace, trace_sq, n_dof)
            self.participation_ratio_corrected_ = (a_hat / b_hat if a_hat > 0 and b_hat > 0
                                                   else np.nan)
        else:
            self.participation_ratio_corrected_ = np.nan
        self.dimension_ = self.participation_ratio_corrected_
        self.n_samples_eff_ = ac["n_eff"]
        self.n_dof_ = n_dof
        self.alpha_ = n_features / n_dof
        self.autocorrelation_ = ac["rho"]
        self.autocorrelation_window_ = ac["window"]
        self.integrated_time_ = n / ac["n_eff"]
        self.temporal_spectrum_ = temporal_spectrum(ac["rho"], n, ac["window"],
                                                    center=self.center)
        self.eigenvalues_ = self.pseudo_eigenvalues()
        meta.update(window=W, n_windows=n, solver="slq", kind=self.kind, n_probes=m,
                    n_steps=self.n_steps_)
        self.meta_ = meta
        return self

    def _progress_bar(self, n_win, n_features, m, k):
        if self.progress is False:
            return None
        flops = 4.0 * n_win * n_features * m * k
        if self.progress == "auto" and flops < _PROGRESS_FLOPS:
            return None
        return progress_bar(k + 1, enabled=True, unit="pass",
                            desc=f"MatrixFreeSpectrum: {n_features} neurons, {m} probes")

    def _matvec(self, kind, data, blocks, n_features, W, mean, denom, scale_in, name):
        """``V -> M V`` for the (scaled) covariance ``M``; one pass over the data."""
        if kind == "dask":
            Y = _dask_windows(data, W, blocks)
            Y = Y.astype(np.float64)
            if mean is not None:
                Y = Y - mean

            def products(V):  # one graph: each block is read once per step
                return np.asarray((Y.T @ (Y @ V)).compute())
        else:
            def products(V):
                acc = np.zeros((n_features, V.shape[1]))
                for _, a, b in blocks:
                    x = _windowed(data[a:b], W, name)
                    yb = x - mean if mean is not None else x
                    acc += yb.T @ (yb @ V)
                return acc

        def matvec(V):
            Vs = V * scale_in[:, None] if scale_in is not None else V
            out = products(Vs) / denom
            if scale_in is not None:
                out *= scale_in[:, None]
            return out

        return matvec

    # ------------------------------------------------------------------ results
    def cdf(self, x, bound=None):
        """Estimated fraction of eigenvalues ``<= x`` (zeros included).

        Parameters
        ----------
        x : float or array_like
            Eigenvalue(s), in the units of ``eigenvalues_``.
        bound : {None, "lower", "upper"}
            ``None``: the estimate. ``"lower"``/``"upper"``: the rigorous
            Chebyshev-Markov-Stieltjes band widened by the 95 % probe-sampling bound.

        Returns
        -------
        float or ndarray
        """
        check_is_fitted(self)
        x = np.asarray(x, dtype=np.float64)
        z = (self.n_features_in_ - self.rank_) / self.n_features_in_
        xs = x / self._scale_factor
        if bound is None:
            F = np.interp(xs, self._grid, self._F, left=0.0, right=1.0)
        elif bound in ("lower", "upper"):
            F = _cms_bound(self.nodes_, self.weights_, xs, bound)
            F = F - self.probe_error_ if bound == "lower" else F + self.probe_error_
            F = np.clip(F, 0.0, 1.0)
        else:
            raise ParameterError(f"bound must be None, 'lower' or 'upper', got {bound!r}.")
        out = z * (x >= 0) + (1.0 - z) * F
        return float(out) if out.ndim == 0 else out

    def pseudo_eigenvalues(self, bound=None, n_steps=None, probes=None):
        """N eigenvalues with the estimated distribution (descending), for the fitter.

        The ``r`` nonzero ones are the quantiles of the estimated CDF of the nonzero part at
        ``(i - 0.5) / r``; the ``N - r`` others are exactly 0.

        Parameters
        ----------
        bound : {None, "lower", "upper"}
            Quantiles of the estimate, or of the lower/upper edge of the rigorous band (a
            lower CDF gives larger eigenvalues).
        n_steps : int, optional
            Use only the first ``n_steps`` Lanczos steps (an error check: compare fits).
        probes : slice or array of int, optional
            Use only these probes (an error check: compare fits of two halves).

        Returns
        -------
        ndarray, shape (n_neurons,)

        Examples
        --------
        >>> import numpy as np
        >>> from neurospec.matrixfree import MatrixFreeSpectrum
        >>> X = np.random.default_rng(1).standard_normal((1000, 200))
        >>> ev = MatrixFreeSpectrum(n_steps=30, random_state=0).fit(X).pseudo_eigenvalues()
        >>> ev.shape, bool(np.all(np.diff(ev) <= 0))
        ((200,), True)
        """
        check_is_fitted(self)
        alphas, betas, k_eff = self._tri
        if n_steps is not None or probes is not None:
            sel = np.arange(alphas.shape[1]) if probes is None else np.arange(alphas.shape[1])[probes]
            ke = k_eff[sel] if n_steps is None else np.minimum(k_eff[sel], int(n_steps))
            nodes, weights = _drop_null(*_gauss_rules(alphas[:, sel], betas[:, sel], ke),
                                        self.rank_, self.n_features_in_)
        else:
            nodes, weights = self.nodes_, self.weights_
        r = self.rank_
        p = (np.arange(r) + 0.5) / r
        if bound is None:
            grid, F = _average_cdf(nodes, weights)
            keep = np.r_[True, np.diff(F) > 0]
            q = np.interp(p, F[keep], grid[keep])
        elif bound in ("lower", "upper"):  # generalised inverse of the (step) band edge
            grid = np.unique(np.concatenate(nodes))
            F = _cms_bound(nodes, weights, grid, bound)
            F = F - self.probe_error_ if bound == "lower" else F + self.probe_error_
            q = grid[np.minimum(np.searchsorted(F, p, side="left"), grid.size - 1)]
        else:
            raise ParameterError(f"bound must be None, 'lower' or 'upper', got {bound!r}.")
        q = q * self._scale_factor
        out = np.zeros(self.n_features_in_)
        out[:r] = q[::-1]
        return out


# --------------------------------------------------------------------------- convenience
def slq_spectrum(X, **params):
    """Fit a :class:`MatrixFreeSpectrum` (stochastic Lanczos quadrature) to ``X``.

    Parameters
    ----------
    X : array_like, Recording, h5py.Dataset, numpy.memmap, TimeMajorView or dask.array
        Activity, time x neurons.
    **params
        Parameters of :class:`MatrixFreeSpectrum`.

    Returns
    -------
    MatrixFreeSpectrum
        Fitted.

    Examples
    --------
    >>> import numpy as np
    >>> from neurospec.matrixfree import slq_spectrum
    >>> X = np.random.default_rng(0).standard_normal((1000, 100))
    >>> slq_spectrum(X, n_steps=20, random_state=0).eigenvalues_.shape
    (100,)
    """
    return MatrixFreeSpectrum(**params).fit(X)


# --------------------------------------------------------------------------- internals
def _dask_windows(X, W, blocks):
    """The windowed dask array of the rows the plan covers (float, time x neurons)."""
    r0, r1 = blocks[0][1], blocks[-1][2]
    Xr = X[r0:r1]
    if W > 1:
        sizes = tuple(b - a for _, a, b in blocks)  # multiples of W
        Xr = Xr.rechunk((sizes, Xr.chunks[1]))
        Xr = Xr.reshape((Xr.shape[0] // W, W, Xr.shape[1]), merge_chunks=False).sum(axis=1)
    return Xr


def _lanczos(matvec, n, m, k, rng, bar=None):
    """m Lanczos recurrences in lockstep from random unit vectors (one matvec per step).

    No reorthogonalisation against old vectors (memory O(n m)): in floating point the Gauss
    quadrature of the spectral measure stays accurate (Knizhnerman 1996; Chen, Trogdon &
    Ubaru 2021); converged extreme eigenvalues reappear as copies that share their weight.
    A recurrence stops when its Krylov space is exhausted (beta ~ 0), e.g. for rank-deficient
    data. Returns ``alphas``, ``betas`` of shape (k, m) and the steps each probe ran.
    """
    Z = rng.standard_normal((n, m))
    Q = Z / np.linalg.norm(Z, axis=0)
    Q_prev = np.zeros_like(Q)
    b_prev = np.zeros(m)
    alphas = np.zeros((k, m))
    betas = np.zeros((k, m))
    k_eff = np.full(m, k)
    active = np.ones(m, dtype=bool)
    scale = 0.0
    for j in range(k):
        Wm = matvec(Q)
        Wm -= b_prev * Q_prev
        a = np.einsum("ij,ij->j", Q, Wm)
        Wm -= a * Q
        a2 = np.einsum("ij,ij->j", Q, Wm)  # local reorthogonalisation ("twice is enough")
        Wm -= a2 * Q
        a = a + a2
        b = np.linalg.norm(Wm, axis=0)
        alphas[j] = np.where(active, a, 0.0)
        betas[j] = np.where(active, b, 0.0)
        scale = max(scale, float(np.max(np.abs(a))) if active.any() else 0.0)
        done = active & (b <= 1e-10 * max(scale, 1e-300))
        k_eff[done] = j + 1
        active &= ~done
        Q_prev = Q
        Q = np.where(active, Wm / np.where(b > 0, b, 1.0), 0.0)
        b_prev = np.where(active, b, 0.0)
        if bar is not None:
            bar.update(1)
        if not active.any():
            break
    return alphas, betas, k_eff


def _gauss_rules(alphas, betas, k_eff):
    """Nodes (ascending) and weights of each probe's Gauss rule."""
    nodes, weights = [], []
    for i in range(alphas.shape[1]):
        ki = int(k_eff[i])
        if ki == 1:
            th, w = alphas[:1, i].copy(), np.ones(1)
        else:
            th, U = sla.eigh_tridiagonal(alphas[:ki, i], betas[: ki - 1, i])
            w = U[0] ** 2
        nodes.append(th)
        weights.append(w / w.sum())
    return nodes, weights


def _drop_null(nodes, weights, rank, n):
    """Remove the atom at zero of rank-deficient data and renormalise (its mass is known
    exactly: (n - rank) / n); clip round-off below zero."""
    out_n, out_w = [], []
    for th, w in zip(nodes, weights):
        th = np.clip(th, 0.0, None)
        if rank < n:
            top = th.max() if th.size else 0.0
            keep = th > 1e-6 * top
            th, w = th[keep], w[keep]
            if not th.size:
                raise DataValueError("every eigenvalue of the matrix is zero; nothing to analyse.")
            w = w / w.sum()
        out_n.append(th)
        out_w.append(w)
    return out_n, out_w


def _average_cdf(nodes, weights):
    """The probe average of the per-probe linear interpolants through the mid-weight points,
    on the union of all nodes (exact there: the average is piecewise linear on it)."""
    grid = np.unique(np.concatenate(nodes))
    F = np.zeros(grid.size)
    for th, w in zip(nodes, weights):
        mid = np.cumsum(w) - 0.5 * w
        F += np.interp(grid, th, mid, left=0.0, right=1.0)
    return grid, F / len(nodes)


def _cms_bound(nodes, weights, x, bound):
    """Probe average of the Chebyshev-Markov-Stieltjes bounds on each probe's CDF at x."""
    out = np.zeros(np.shape(x))
    for th, w in zip(nodes, weights):
        c0 = np.r_[0.0, np.cumsum(w)]
        j = np.searchsorted(th, x, side="right")  # nodes <= x
        out += c0[np.maximum(j - 1, 0)] if bound == "lower" else c0[np.minimum(j + 1, th.size)]
    return out / len(nodes)

