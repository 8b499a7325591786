"""The observation model (issue 12): temporally correlated samples, dropped modes, correlation
matrices, and the small items (user alpha against the rank, chaos onset).

Theory is checked against random matrices drawn from the separable model itself; the fit
against simulated linear networks with AR(1) noise, where the white (Marchenko-Pastur) model
is known to fail, so each test can fail.
"""

import math
import warnings

import numpy as np
import pytest
from scipy.stats import kstest

from neurospec import CovarianceSpectrum, GainFit
from neurospec.errors import ParameterError
from neurospec.fit.forward import Model
from neurospec.fit.optimize import Engine
from neurospec.theory import LinearSpectrum, TemporalSpectrum, effective_gain, sampled
from neurospec.theory.sampling import CorrelatedSampledSpectrum


def ar1(T, n, a, rng, burn=200):
    a = np.broadcast_to(np.asarray(a, dtype=float), (n,))
    e = rng.standard_normal((T + burn, n)) * np.sqrt(1 - a * a)
    x = np.empty_like(e)
    x[0] = rng.standard_normal(n)
    for t in range(1, T + burn):
        x[t] = a * x[t - 1] + e[t]
    return x[burn:]


def network(n, g, rng):
    while True:
        J = rng.standard_normal((n, n)) * g / math.sqrt(n)
        if np.max(np.linalg.eigvals(J).real) < 0.98:
            return np.linalg.inv(np.eye(n) - J)


def sample_eigs(X):
    Xc = X - X.mean(axis=0)
    ev = np.linalg.eigvalsh(Xc.T @ Xc / (X.shape[0] - 1))
    return ev[ev > 1e-9 * ev.max()]


# ------------------------------------------------------------------------------ temporal theory
def test_ar1_temporal_spectrum_moments():
    ts = TemporalSpectrum.ar1(0.8, 4001)
    assert ts.n_samples == 4000
    assert ts.second_moment() == pytest.approx((1 + 0.64) / (1 - 0.64), rel=2e-3)
    # the correlogram of the exact autocorrelation gives the same spectrum
    est = TemporalSpectrum.from_autocorrelation(0.8 ** np.arange(120), 4001)
    assert est.second_moment() == pytest.approx(ts.second_moment(), rel=2e-3)
    b, w = ts.quadrature(16)
    for k in range(1, 20):  # Gauss: exact up to degree 2 * 16 - 1
        assert w @ b**k == pytest.approx(ts.moment(k), rel=1e-9)


@pytest.mark.parametrize("alpha", [0.3, 2.0])
def test_white_temporal_model_is_marchenko_pastur(alpha):
    p = LinearSpectrum(0.6)
    corr = CorrelatedSampledSpectrum(p, alpha, TemporalSpectrum.white(500))
    mp = sampled(p, alpha)
    lo, hi = mp.support()
    assert corr.support() == pytest.approx((lo, hi), rel=1e-10)
    x = np.geomspace(lo, hi, 60)[1:-1]
    np.testing.assert_allclose(corr.cdf(x), mp.cdf(x), atol=1e-10)


@pytest.mark.parametrize("a, g, alpha", [(0.8, 0.5, 0.3), (0.6, 0.7, 1.5)])
def test_correlated_density_integrates_to_its_moments(a, g, alpha):
    spec = sampled(LinearSpectrum(g), alpha, temporal=TemporalSpectrum.ar1(a, 2000))
    rep = spec._rep  # the density itself, against the closed-form moments
    assert rep.moment(1) == pytest.approx(spec._mean_exact(), rel=1e-6)
    assert rep.moment(2) == pytest.approx(spec._second_moment_exact(), rel=1e-5)


@pytest.mark.parametrize("T", [1200, 300])  # q = N/T < 1, and T < N (rank T - 1)
def test_correlated_model_matches_random_matrices(T):
    rng = np.random.default_rng(3)
    n, g, a = 400, 0.6, 0.8
    ev = np.concatenate([
        (lambda e: e / e.mean())(sample_eigs(ar1(T, n, a, rng) @ network(n, g, rng).T))
        for _ in range(2)])
    ts = TemporalSpectrum.ar1(a, T)
    model = sampled(LinearSpectrum(g), n / (T - 1), temporal=ts).normalize()
    ks_model = kstest(ev, model.cdf).statistic
    white = sampled(LinearSpectrum(g), n / ts.effective_samples()).normalize()
    ks_white = kstest(ev, white.cdf).statistic
    assert ks_model < 0.02
    assert ks_white > 4 * ks_model  # the white model with n_eff gets the shape wrong


# ------------------------------------------------------------------------------ the fit
def test_fit_is_unbiased_under_autocorrelation_where_white_fails():
    rng = np.random.default_rng(5)
    n, g = 200, 0.6
    X = ar1(2000, n, 0.85, rng) @ network(n, g, rng).T
    fit = GainFit(n_boot=0).fit(X)
    assert fit.temporal_ is not None and fit.temporal_.second_moment() > 4
    assert abs(fit.g_eff_ - g) < 0.03
    assert fit.n_samples_eff_ == pytest.approx(1999 * (1 - 0.85**2) / (1 + 0.85**2), rel=0.15)
    white = GainFit(n_boot=0, temporal="white").fit(X)
    assert white.g_eff_ - g > 0.05


def test_fewer_effective_samples_than_neurons_but_more_samples():
    # n_eff < N < T: the white model (alpha_eff > 1) predicts a gap the data do not have
    rng = np.random.default_rng(6)
    n, g = 200, 0.5
    X = ar1(400, n, 0.9, rng) @ network(n, g, rng).T
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = GainFit(n_boot=0).fit(X)
    assert fit.alpha_eff_ > 1 > fit.alpha_
    assert abs(fit.g_eff_ - g) < 0.06
    assert not fit._at_upper_bound()


def test_independent_autocorrelated_neurons_keep_the_null():
    rng = np.random.default_rng(7)
    X = ar1(800, 120, 0.7, rng)
    fit = GainFit(n_boot=30, random_state=0).fit(X)
    assert fit.g_eff_ < 0.1
    assert fit.p_value_null_ > 0.05
    assert "consistent with independent neurons" in fit.report()


def test_dropped_bulk_modes_do_not_bias_the_estimate():
    g, alpha, n = 0.8, 0.25, 300
    ev = LinearSpectrum(g).sampled(alpha).rank_curve(n)  # ideal: every residual vanishes
    fits = [GainFit(n_boot=0, drop_top=k).fit(ev, alpha=alpha).g_eff_ for k in (0, 3)]
    assert abs(fits[1] - fits[0]) < 2e-3
    # the same kept eigenvalues fitted as a whole spectrum (no censoring) read g low
    uncensored = GainFit(n_boot=0, drop_top=0).fit(np.sort(ev)[:-3], alpha=alpha).g_eff_
    assert fits[0] - uncensored > 0.005


def test_user_alpha_that_contradicts_the_rank_is_an_error():
    ev = LinearSpectrum(0.5).sampled(0.5).rank_curve(200)
    with pytest.raises(ParameterError, match=r"alpha = 2.*100 nonzero eigenvalues.*200"):
        GainFit(n_boot=0).fit(ev, alpha=2.0)


def test_coarse_start_for_fewer_samples_than_neurons():
    g, alpha, n = 0.7, 2.0, 400
    lam = np.sort(LinearSpectrum(g).sampled(alpha).rank_curve(n))
    eng = Engine(Model("iid", alpha, None), "cvm", "fit")
    theta, _ = eng._coarse(lam, np.log(lam), (2 * np.arange(1, n + 1) - 1) / (2 * n),
                           math.log(lam.mean()), n)
    assert abs(math.tanh(theta[0]) - g) < 0.08


def test_correlation_matrix_counts_samples_from_standardised_activity():
    rng = np.random.default_rng(8)
    T, n = 2000, 200
    X = rng.standard_normal((T, n))
    X[:, :20] = 10.0 * ar1(T, 20, 0.97, rng)  # 20 slow, high-variance neurons
    corr = CovarianceSpectrum(kind="correlation").fit(X)
    cov = CovarianceSpectrum().fit(X)
    assert corr.n_samples_eff_ > 0.5 * T
    assert cov.n_samples_eff_ < 0.2 * T


def test_chaos_onset_is_chaotic_not_quiet():
    r = effective_gain(1.0000001, "tanh", sigma=0.0)
    assert r.chaotic and r.g_eff <= 1.0
    r = effective_gain(1.00001, "tanh", sigma=0.0)  # used to raise
    assert r.chaotic and 0.9999 < r.g_eff <= 1.0
    below = effective_gain(1.01, "tanh", sigma=0.0)
    assert below.g_eff < r.g_eff


# ------------------------------------------------------------------------------ finite windows
def test_window_covariance_matches_frequency_integral():
    # independent route: C_W = int K_W(w) S(w) dw / 2 pi, K_W = (sin(wW/2) / (w/2))^2 / W,
    # S(w) = (1 + iw - J)^-1 (1 + iw - J)^-H, by adaptive quadrature on a small network
    from scipy.integrate import quad_vec

    from neurospec.fit.window import _base, window_covariance

    n, g, W = 12, 0.7, 3.0
    xi, V, _, _ = _base(n, 0)
    J = (g * (V * xi) @ np.linalg.inv(V)).real
    eye = np.eye(n)

    def integrand(u):  # w = tan(u) maps the real line onto (-pi/2, pi/2)
        w = math.tan(u)
        R = np.linalg.inv((1 + 1j * w) * eye - J)
        K = W if w == 0 else (math.sin(w * W / 2) / (w / 2)) ** 2 / W
        return (K * (R @ R.conj().T)).real * (1 + w * w) / (2 * math.pi)

    ref, _ = quad_vec(integrand, -math.pi / 2 + 1e-9, math.pi / 2 - 1e-9, epsabs=1e-10,
                      epsrel=1e-8, limit=2000)
    np.testing.assert_allclose(window_covariance(g, W, n), ref, rtol=1e-5, atol=1e-7)
    L = np.linalg.inv(eye - J)
    np.testing.assert_allclose(window_covariance(g, np.inf, n), L @ L.T, rtol=1e-9, atol=1e-11)


def test_window_bias_curve_and_tau_round_trip():
    from neurospec.fit.window import bin_in_tau, correct, window_trace_ratio, windowed_gain_curve

    n = 120
    assert bin_in_tau(0.6, window_trace_ratio(0.6, 0.5, n), n) == pytest.approx(0.5, rel=1e-4)
    gw = windowed_gain_curve([0.6], 10.0, n)[0]
    assert 0.55 < gw < 0.59  # science.md §4: about 5 % low at W = 10 tau
    g, slope = correct(gw, 10.0, n)
    assert g == pytest.approx(0.6, abs=2e-3) and 0.8 < slope < 1.2
