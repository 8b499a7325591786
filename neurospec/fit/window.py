"""Finite windows: the bias of a window-summed covariance, and its correction.

The theory describes the zero-frequency covariance ``S(0) = (I - J)^-1 (I - J)^-T``; activity
summed over windows of W (in units of the neurons' time constant tau) has the covariance
``C_W = Cov(int_0^W x dt) / W``, whose spectrum is narrower, so a zero-frequency fit reads g
low (science.md §4: about 5 % at W = 10 tau).

For linear dynamics ``dx/dt = -(I - J) x + xi`` (white noise) ``C_W`` is exact in the
eigenbasis of J (``J = V diag(lambda) V^-1``, ``mu = 1 - lambda``, ``P = V^-1 V^-H``):

    ``C_W = V [P_ab (k_W(mu_a) + conj(k_W(mu_b))) / (mu_a + conj(mu_b))] V^H``,
    ``k_W(mu) = 1/mu - (1 - exp(-mu W)) / (mu^2 W)``

(``k_inf = 1/mu`` gives ``S(0)``). One eigen-decomposition of a random coupling matrix of the
data's size therefore gives, for every gain g (``lambda = g xi``), the spectra of ``S(0)``
and of ``C_W`` of the *same* network; fitting both with the population model maps the
zero-frequency gain g to the gain ``g_W(g)`` a W-window fit reads. The network-to-network
noise of the two fits largely cancels in the difference, which is the bias.

The window in units of tau comes from the data: the integrated autocorrelation time of the
unwindowed activity (in bins), ``sum_k rho_k = tr S(0) / tr C_b`` with ``b`` the bin width in
units of tau, is matched by the model at the fitted gain (``bin_in_tau``).

This is a model of linear (or linear-equivalent) dynamics with white input. Indicator kernels
(calcium) and other filters make the neurons' own time course slower than tau; the estimated
``tau`` then absorbs them, which is right to first order but not beyond: the report says which
tau was used.
"""

from __future__ import annotations

import math

import numpy as np

#: the correction uses random networks of at most this many neurons (O(N^3) per gain)
_N_MAX = 400
#: realisations averaged for the bias curve
_N_REAL = 2
_BASES = {}


def _k(mu, W):
    """``k_W(mu) = 1/mu - (1 - exp(-mu W)) / (mu^2 W)`` (W = inf: ``1/mu``)."""
    if not np.isfinite(W):
        return 1.0 / mu
    return 1.0 / mu + np.expm1(-mu * W) / (mu * mu * W)


def _base(n, seed):
    """Eigen-decomposition of a Ginibre matrix X/sqrt(n) (J = g X), cached."""
    key = (n, seed)
    b = _BASES.get(key)
    if b is None:
        from threadpoolctl import threadpool_limits

        rng = np.random.default_rng(10_007 + seed)
        X = rng.standard_normal((n, n)) / math.sqrt(n)
        with threadpool_limits(limits=1, user_api="blas"):
            xi, V = np.linalg.eig(X)
            Vi = np.linalg.inv(V)
        b = (xi, V, Vi @ Vi.conj().T, V.conj().T @ V)
        if len(_BASES) > 8:
            _BASES.clear()
        _BASES[key] = b
    return b


def window_covariance(g, W, n, seed=0):
    """Exact covariance of linear dynamics with gain ``g`` summed over windows of ``W`` tau
    (per unit time, unit white noise) for one random network of ``n`` neurons.

    Parameters
    ----------
    g : float
        Coupling gain (the network must be stable: ``g max Re xi < 1``).
    W : float
        Window length in units of tau (``inf``: the zero-frequency covariance S(0)).
    n : int
        Number of neurons.
    seed : int
        Which cached random network.

    Returns
    -------
    ndarray, shape (n, n)

    Examples
    --------
    >>> import numpy as np
    >>> C0 = window_covariance(0.5, np.inf, 50)
    >>> round(float(np.trace(C0)) / 50, 1)  # ~ 1 / (1 - g^2)
    1.3
    """
    from threadpoolctl import threadpool_limits

    xi, V, P, _ = _base(int(n), seed)
    mu = 1.0 - g * xi
    if np.min(mu.real) <= 0:
        raise ValueError(f"the random network is unstable at g={g}")
    k = _k(mu, W)
    M = P * (k[:, None] + k.conj()[None, :]) / (mu[:, None] + mu.conj()[None, :])
    with threadpool_limits(limits=1, user_api="blas"):
        C = (V @ M @ V.conj().T).real
    return 0.5 * (C + C.T)


def window_trace_ratio(g, b, n, seed=0):
    """``tr S(0) / tr C_b``: the integrated autocorrelation time (in bins) of activity
    averaged in bins of ``b`` tau, for gain g (O(n^2): ``tr(V M V^H) = sum M * Q^T``,
    ``Q = V^H V``)."""
    xi, _, P, Q = _base(int(n), seed)
    mu = 1.0 - g * xi
    den = mu[:, None] + mu.conj()[None, :]
    QT = Q.T

    def trace(W):
        k = _k(mu, W)
        return float(np.sum(P * (k[:, None] + k.conj()[None, :]) / den * QT).real)

    return trace(np.inf) / trace(b)


def bin_in_tau(g, tau_int_bins, n):
    """The bin width in units of tau whose model integrated time matches the data's.

    Parameters
    ----------
    g : float
        Gain (zero-frequency).
    tau_int_bins : float
        ``sum_k rho_k`` over all lags of the unwindowed activity's (trace-weighted)
        autocorrelation, in bins.
    n : int
        Neurons of the model network.

    Returns
    -------
    float or None
        ``b`` (bins per tau is ``1/b``); None when the data's integrated time is below 1 bin
        (faster than one bin: no window bias to correct).

    Examples
    --------
    >>> b = bin_in_tau(0.5, window_trace_ratio(0.5, 0.25, 60), 60)
    >>> round(b, 3)
    0.25
    """
    from scipy.optimize import brentq

    n = min(int(n), _N_MAX)
    if not (tau_int_bins > 1.0 + 1e-6):
        return None

    def f(logb):
        return math.log(window_trace_ratio(g, math.exp(logb), n)) - math.log(tau_int_bins)

    lo, hi = math.log(1e-4), math.log(1e4)
    if f(lo) < 0 or f(hi) > 0:
        return None
    return math.exp(brentq(f, lo, hi, xtol=1e-6))


def windowed_gain_curve(gs, W, n):
    """``g_W(g)``: the gain a population fit reads from ``C_W``, minus what it reads from
    ``S(0)`` of the same networks, plus g (the bias curve), averaged over a few networks.

    Parameters
    ----------
    gs : sequence of float
        Zero-frequency gains.
    W : float
        Window in units of tau.
    n : int
        Neurons (at most 400 are simulated).

    Returns
    -------
    ndarray
        ``g_W`` for each g (NaN where a network is unstable).
    """
    from .forward import Model
    from .optimize import Engine

    n = min(int(n), _N_MAX)
    eng = Engine(Model("iid", 0.0, None), "cvm", "fit")
    out = []
    for g in gs:
        diffs = []
        for seed in range(_N_REAL):
            try:
                e0 = np.sort(np.linalg.eigvalsh(window_covariance(g, np.inf, n, seed)))
                eW = np.sort(np.linalg.eigvalsh(window_covariance(g, W, n, seed)))
            except ValueError:
                continue
            g0 = math.tanh(eng.fit(e0)[0][0])
            gw = math.tanh(eng.fit(eW)[0][0])
            diffs.append(gw - g0)
        out.append(g + float(np.mean(diffs)) if diffs else np.nan)
    return np.asarray(out)


def correct(g_window, W, n):
    """The zero-frequency gain whose W-window fit reads ``g_window``, and the local slope.

    Two or three evaluations of the bias curve (secant iteration on ``g_W(g) = g_window``).

    Parameters
    ----------
    g_window : float
        Gain read from W-window data.
    W : float
        Window in units of tau.
    n : int
        Neurons.

    Returns
    -------
    g : float
        Corrected gain.
    slope : float
        ``d g_W / d g`` there (maps interval ends: ``g + (end - g_window) / slope``).

    Examples
    --------
    >>> g, slope = correct(0.55, 10.0, 60)
    >>> g > 0.55
    True
    """
    target = float(g_window)
    cap = 0.97
    ga = min(max(target, 0.02), cap)
    fa = float(windowed_gain_curve([ga], W, n)[0]) - target
    if not np.isfinite(fa):
        return target, 1.0
    gb = min(max(ga - fa, 0.02), cap)
    if abs(gb - ga) < 1e-6:
        return ga, 1.0
    fb = float(windowed_gain_curve([gb], W, n)[0]) - target
    if not np.isfinite(fb) or fb == fa:
        return gb, 1.0
    slope = (fb - fa) / (gb - ga)
    gc = min(max(gb - fb / slope, 0.0), cap)
    if abs(fb) > 1e-3:  # one more secant step
        fc = float(windowed_gain_curve([gc], W, n)[0]) - target
        if np.isfinite(fc) and fc != fb:
            slope = (fc - fb) / (gc - gb)
            gc = min(max(gc - fc / slope, 0.0), cap)
    return gc, max(slope, 0.2)
