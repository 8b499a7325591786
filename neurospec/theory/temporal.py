"""The temporal correlation of the samples: spectrum of the T x T matrix B (science.md §4).

Every real recording has temporally correlated samples. In the separable model the T x N
activity is ``X = B^{1/2} Z C^{1/2}`` with Z iid: each neuron's time course shares the
T x T temporal correlation ``B`` (normalised to ``tr B / T = 1``). The sample covariance
is then ``C (x) W_B`` with ``W_B = Z^T B Z / T`` (free multiplicative convolution; its
S-transform is ``S_C(u) S_B(q u) / (1 + q u)``, ``q = N / T``; Burda, Jurkiewicz & Waclaw
2005), computed by :func:`neurospec.theory.sampling.sampled` with ``temporal=``.

For a stationary process, B is (close to) circulant and its eigenvalues are the power
spectral density sampled at the Fourier frequencies ``2 pi j / T``. Subtracting each
neuron's mean removes the ``j = 0`` component: a centred recording of T samples has
``T - 1`` nonzero temporal eigenvalues, which is why its sample covariance has rank
``min(N, T - 1)``. A :class:`TemporalSpectrum` holds these ``T' = T - 1`` eigenvalues
(normalised to mean 1). ``B = I`` (independent samples) is :meth:`TemporalSpectrum.white`.

Its second moment ``E[b^2] = sum_k rho_k^2`` (over all lags, Parseval) is Bartlett's
inflation factor: the effective number of samples for the *second* moment of the
spectrum is ``T' / E[b^2]``; the full distribution of ``b`` fixes the *shape*.
"""

from __future__ import annotations

import math

import numpy as np

from neurospec.errors import ParameterError

__all__ = ["TemporalSpectrum"]

#: relative floor of an estimated power spectrum (a tapered autocorrelation can dip below 0)
_PSD_FLOOR = 1e-4
#: a temporal spectrum with E[b^2] - 1 below this is treated as white (independent samples)
_WHITE_TOL = 1e-3
#: number of Gauss quadrature nodes that represent the distribution of b in the theory
_N_NODES = 48


class TemporalSpectrum:
    """Eigenvalues ``b_j`` of the temporal correlation of T' samples, normalised to mean 1.

    Parameters
    ----------
    values : array_like, shape (n_samples,)
        The ``T'`` eigenvalues (positive; rescaled to mean 1). For a centred recording of
        T samples, ``T' = T - 1`` (the mean removes the zero frequency).

    Attributes
    ----------
    values : ndarray, shape (n_samples,)
        Sorted ascending, mean 1.
    n_samples : int
        ``T'``.

    Examples
    --------
    >>> ts = TemporalSpectrum.ar1(0.8, 1001)
    >>> ts.n_samples
    1000
    >>> round(ts.second_moment(), 2)  # (1 + a^2) / (1 - a^2) for a long AR(1) process
    4.55
    """

    def __init__(self, values):
        v = np.asarray(values, dtype=float).ravel()
        if v.size < 1 or not np.all(np.isfinite(v)) or np.any(v < 0) or not np.any(v > 0):
            raise ParameterError(
                "TemporalSpectrum: values must be finite, nonnegative and not all zero "
                f"(got {v.size} values).")
        v = np.maximum(v, _PSD_FLOOR * v.mean())
        self.values = np.sort(v / v.mean())
        self.n_samples = int(v.size)
        self._quad = None

    # -- constructors ----------------------------------------------------------------------
    @classmethod
    def white(cls, n_samples):
        """Independent samples, ``B = I``.

        Parameters
        ----------
        n_samples : int
            ``T'``.

        Returns
        -------
        TemporalSpectrum

        Examples
        --------
        >>> TemporalSpectrum.white(10).is_white()
        True
        """
        return cls(np.ones(_count(n_samples, "n_samples")))

    @classmethod
    def from_power_spectrum(cls, psd, n_samples, center=True):
        """Sample a power spectral density at the Fourier frequencies of ``n_samples`` samples.

        Parameters
        ----------
        psd : callable
            ``psd(omega)`` for angular frequencies ``omega`` in [0, 2 pi) (radians per
            sample); any positive scale.
        n_samples : int
            Number of samples T.
        center : bool
            Whether each neuron's mean is subtracted (drops ``omega = 0``: T - 1 values).

        Returns
        -------
        TemporalSpectrum

        Examples
        --------
        >>> import numpy as np
        >>> TemporalSpectrum.from_power_spectrum(lambda w: 1 + 0 * w, 100).n_samples
        99
        """
        T = _count(n_samples, "n_samples")
        j = np.arange(1 if center else 0, T)
        if j.size == 0:
            raise ParameterError("TemporalSpectrum: a centred recording needs at least 2 samples.")
        return cls(np.asarray(psd(2 * np.pi * j / T), dtype=float))

    @classmethod
    def ar1(cls, a, n_samples, center=True):
        """An AR(1) process ``x_t = a x_{t-1} + noise`` (``|a| < 1``).

        Parameters
        ----------
        a : float
            Lag-one autocorrelation.
        n_samples : int
            Number of samples T.
        center : bool
            Drop the zero frequency (mean subtracted).

        Returns
        -------
        TemporalSpectrum

        Examples
        --------
        >>> round(TemporalSpectrum.ar1(0.5, 2001).second_moment(), 2)  # (1 + a^2) / (1 - a^2)
        1.67
        """
        a = float(a)
        if not (np.isfinite(a) and abs(a) < 1):
            raise ParameterError(f"TemporalSpectrum.ar1: need |a| < 1, got a={a!r}.")
        return cls.from_power_spectrum(
            lambda w: (1 - a * a) / (1 - 2 * a * np.cos(w) + a * a), n_samples, center)

    @classmethod
    def from_autocorrelation(cls, rho, n_samples, center=True, max_lag=None):
        """Estimate from a normalised autocorrelation ``rho[0] = 1, rho[1], ...``.

        The power spectrum ``1 + 2 sum_k w_k rho_k cos(omega k)`` (a correlogram with a
        flat-top taper ``w_k``: 1 up to half of ``max_lag``, then a cosine to 0 at
        ``max_lag``, which keeps the low-frequency power that a Bartlett or Parzen window
        would smear out) is sampled at the Fourier frequencies and floored at
        ``1e-4`` of its mean.

        Parameters
        ----------
        rho : array_like, shape (n_lags + 1,)
            Autocorrelation at lags 0, 1, ... (``rho[0]`` = 1).
        n_samples : int
            Number of samples T the autocorrelation was measured on.
        center : bool
            Drop the zero frequency.
        max_lag : int, optional
            Last lag used (default: all given).

        Returns
        -------
        TemporalSpectrum

        Examples
        --------
        >>> import numpy as np
        >>> ts = TemporalSpectrum.from_autocorrelation(0.5 ** np.arange(40), 2001)
        >>> round(ts.second_moment(), 2)
        1.67
        """
        rho = np.asarray(rho, dtype=float).ravel()
        if rho.size < 1 or not np.all(np.isfinite(rho)) or rho[0] <= 0:
            raise ParameterError("TemporalSpectrum: rho must be finite with rho[0] > 0.")
        rho = rho / rho[0]
        T = _count(n_samples, "n_samples")
        M = rho.size - 1 if max_lag is None else int(min(max_lag, rho.size - 1))
        M = min(M, T - 1)
        if M == 0:
            return cls.white(T - 1 if center else T)
        k = np.arange(1, M + 1)
        half = M / 2.0
        taper = np.where(k <= half, 1.0, 0.5 * (1 + np.cos(np.pi * (k - half) / max(M - half, 1))))
        coef = taper * rho[1 : M + 1]
        # 1 + 2 sum_k c_k cos(2 pi j k / T) at every Fourier frequency: one FFT of the
        # symmetric lag sequence
        seq = np.zeros(T)
        seq[0] = 1.0
        seq[1 : M + 1] += coef
        seq[T - M :] += coef[::-1]
        full = np.fft.fft(seq).real
        j = np.arange(1 if center else 0, T)
        return cls(np.maximum(full[j], 0.0))  # floored at 1e-4 of the mean by __init__

    # -- properties ------------------------------------------------------------------------
    def moment(self, order):
        """``E[b^order]`` over the T' eigenvalues.

        Parameters
        ----------
        order : int

        Returns
        -------
        float

        Examples
        --------
        >>> TemporalSpectrum.white(5).moment(2)
        1.0
        """
        return float(np.mean(self.values ** order))

    def second_moment(self):
        """``E[b^2]``, Bartlett's inflation ``1 + 2 sum_k rho_k^2`` of the sampling noise.

        Returns
        -------
        float

        Examples
        --------
        >>> TemporalSpectrum.white(5).second_moment()
        1.0
        """
        return self.moment(2)

    def effective_samples(self):
        """Effective number of samples for the second moment, ``T' / E[b^2]``.

        Returns
        -------
        float

        Examples
        --------
        >>> TemporalSpectrum.white(99).effective_samples()
        99.0
        """
        return self.n_samples / self.second_moment()

    def is_white(self, tol=_WHITE_TOL):
        """Whether ``E[b^2] - 1 < tol`` (independent samples for all practical purposes).

        Parameters
        ----------
        tol : float

        Returns
        -------
        bool

        Examples
        --------
        >>> TemporalSpectrum.ar1(0.5, 100).is_white()
        False
        """
        return self.second_moment() - 1.0 < tol

    def quadrature(self, n_nodes=_N_NODES):
        """Gauss quadrature ``(nodes, weights)`` of the distribution of b.

        ``n_nodes`` Lanczos steps on ``diag(b)`` from the uniform vector: the rule integrates
        polynomials of degree ``2 n_nodes - 1`` exactly, and the Stieltjes-type sums of the
        theory to high accuracy away from the real axis. Exact (all values) when T' is
        small.

        Parameters
        ----------
        n_nodes : int

        Returns
        -------
        nodes, weights : ndarray
            Weights sum to 1; ``sum(weights * nodes) = 1``.

        Examples
        --------
        >>> b, w = TemporalSpectrum.ar1(0.9, 5001).quadrature()
        >>> round(float(w @ b), 12)
        1.0
        """
        if self._quad is not None and self._quad[0] == n_nodes:
            return self._quad[1], self._quad[2]
        v = self.values
        uniq, counts = np.unique(v, return_counts=True)
        if uniq.size <= n_nodes:
            nodes, weights = uniq, counts / v.size
        else:
            nodes, weights = _gauss_from_discrete(uniq, counts / v.size, n_nodes)
        self._quad = (n_nodes, nodes, weights)
        return nodes, weights

    def __repr__(self):
        return (f"TemporalSpectrum(n_samples={self.n_samples}, "
                f"second_moment={self.second_moment():.4g})")


def _count(n, name):
    try:
        n_int = int(n)
    except (TypeError, ValueError):
        raise ParameterError(f"TemporalSpectrum: {name} must be a positive integer, got {n!r}.") from None
    if n_int != n or n_int < 1:
        raise ParameterError(f"TemporalSpectrum: {name} must be a positive integer, got {n!r}.")
    return n_int


def _gauss_from_discrete(x, p, k):
    """Gauss rule of ``k`` nodes for the discrete measure ``sum p_i delta(x_i)`` (Lanczos with
    full reorthogonalisation, then the Jacobi matrix's eigen-decomposition)."""
    from scipy.linalg import eigh_tridiagonal

    n = x.size
    V = np.zeros((k, n))
    v = np.sqrt(p)
    a = np.zeros(k)
    b = np.zeros(max(k - 1, 0))
    for i in range(k):
        V[i] = v
        w = x * v
        a[i] = v @ w
        w = w - V[: i + 1].T @ (V[: i + 1] @ w)
        w = w - V[: i + 1].T @ (V[: i + 1] @ w)
        if i == k - 1:
            break
        nb = math.sqrt(max(float(w @ w), 0.0))
        if nb <= 1e-14 * max(abs(a[i]), 1.0):
            a, b = a[: i + 1], b[:i]
            break
        b[i] = nb
        v = w / nb
    nodes, vecs = eigh_tridiagonal(a, b)
    weights = vecs[0] ** 2
    weights = weights / weights.sum()
    nodes = np.maximum(nodes, x.min() * 0.5)
    # restore the exact mean (1) lost to round-off
    nodes = nodes / float(weights @ nodes) * float(p @ x)
    return nodes, weights
