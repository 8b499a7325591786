"""Tests of neurospec.spectrum: bias-corrected covariance spectra, effective sample size,
streaming / dask / Gram paths, cross-validated spectra, subsampling, input validation.

Statistical tolerances are derived in comments from N and T; each test that checks a
correction also checks that the uncorrected value fails the same bound.
"""

import warnings

import numpy as np
import pandas as pd
import pytest
import scipy.signal
from sklearn.utils.estimator_checks import parametrize_with_checks

from neurospec import Recording
from neurospec.errors import (
    BinSizeError,
    DataValueError,
    NeurospecError,
    ParameterError,
    ShapeError,
)
from neurospec.spectrum import (
    CovarianceSpectrum,
    SpectrumWarning,
    effective_sample_size,
    effective_sample_size_excluding,
    participation_ratio,
    subsample_spectra,
    unbiased_trace_moments,
)


@pytest.fixture(autouse=True)
def one_blas_thread():
    # The matrices here are small (N <= 300): threads don't help, and on a shared, loaded
    # machine multithreaded OpenBLAS spins and can make 150 x 150 products 100x slower.
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):
        yield


# --------------------------------------------------------------------------- helpers
def linear_network(n, g, seed):
    """Zero-frequency covariance C = (I-J)^-1 (I-J)^-T of an iid network, and L with C = L L'."""
    rng = np.random.default_rng(seed)
    J = rng.standard_normal((n, n)) * g / np.sqrt(n)
    L = np.linalg.inv(np.eye(n) - J)
    return L @ L.T, L


def power_traces(C):
    ev = np.linalg.eigvalsh(C)
    return [np.sum(ev**k) for k in range(5)]


def pr_sd(C, n_eff):
    """Leading-order standard deviation of the (corrected or raw) PR from n_eff samples.

    With Chat = C + D, to first order dPR/PR = 2 dt/t - dq/q (t = tr, q = tr C^2), and
    dt, dq are sample means of u = |x|^2 - tr C and 2 v = 2(x'Cx - tr C^2), with
    Var u = 2 tr C^2, Var v = 2 tr C^4, Cov(u, v) = 2 tr C^3 for Gaussian x. This gives
    Var(PR)/PR^2 = (8/n)[tr C^2/t^2 - 2 tr C^3/(t tr C^2) + tr C^4/(tr C^2)^2]; the
    second-order fluctuation of tr D^2 adds (2/n)^2. (Checked by simulation: predicted
    0.53 %, observed 0.55 % at N = 300, T = 1500, g = 0.5.)
    """
    t = power_traces(C)
    pr = t[1] ** 2 / t[2]
    rel = 8.0 / n_eff * (t[2] / t[1] ** 2 - 2 * t[3] / (t[1] * t[2]) + t[4] / t[2] ** 2)
    return pr * np.sqrt(rel + (2.0 / n_eff) ** 2)


def ar1(rng, n_samples, n_neurons, a, L=None, burn=400):
    """Stationary AR(1) x_t = a x_{t-1} + sqrt(1-a^2) L z_t: covariance L L', lag-k a^k L L'."""
    z = rng.standard_normal((n_samples + burn, n_neurons))
    if L is not None:
        z = z @ L.T
    x = scipy.signal.lfilter([np.sqrt(1 - a * a)], [1.0, -a], z, axis=0)
    return x[burn:]  # a^burn < 1e-18 for a <= 0.9: the start is forgotten


# --------------------------------------------------------------------------- sklearn API
@parametrize_with_checks([
    CovarianceSpectrum(),
    CovarianceSpectrum(kind="correlation", correction="cv"),
    CovarianceSpectrum(window=2, solver="gram", correction="none", center=False),
])
def test_sklearn_compatible(estimator, check):
    with warnings.catch_warnings():
        # the checks fit on 10-30 random samples: too short to see the autocorrelation decay
        warnings.simplefilter("ignore", SpectrumWarning)
        check(estimator)


def test_fit_returns_self_and_attributes():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((400, 12)) + 3.0
    est = CovarianceSpectrum(drop_top=2)
    assert est.fit(X) is est
    assert est.n_features_in_ == 12 and est.n_samples_ == 400 and est.n_windows_ == 400
    assert est.eigenvalues_.shape == (12,) and np.all(np.diff(est.eigenvalues_) <= 0)
    assert est.normalized_.shape == (10,)
    assert est.normalized_.mean() == pytest.approx(1.0, abs=1e-12)
    np.testing.assert_allclose(est.normalized_, est.eigenvalues_[2:] / est.eigenvalues_[2:].mean())
    assert est.participation_ratio_ == pytest.approx(participation_ratio(est.eigenvalues_[2:]))
    assert est.dimension_ == est.participation_ratio_corrected_
    assert est.alpha_ == pytest.approx(12 / est.n_dof_)
    np.testing.assert_allclose(est.mean_, X.mean(axis=0), atol=1e-12)
    np.testing.assert_allclose(est.covariance_, np.cov(X, rowvar=False), atol=1e-12)
    assert est.eigenvalues_cv_ is None
    assert "participation ratio" in est.summary()


# --------------------------------------------------------------------------- exact corrections
@pytest.mark.parametrize("center", [True, False])
def test_unbiased_trace_moments_are_exactly_unbiased(center):
    # Tiny T, where T versus T-1 matters: E[a_hat] = (tr C)^2 and E[b_hat] = tr C^2 exactly.
    rng = np.random.default_rng(1)
    N, T, reps = 4, 7, 40000
    A = rng.standard_normal((N, N))
    C = A @ A.T / N + np.eye(N)
    L = np.linalg.cholesky(C)
    X = rng.standard_normal((reps, T, N)) @ L.T + 2.0  # nonzero mean: centring must remove it
    if center:
        X = X - X.mean(axis=1, keepdims=True)
        S = np.einsum("rti,rtj->rij", X, X) / (T - 1)
        dof = T - 1
    else:
        X = X - 2.0
        S = np.einsum("rti,rtj->rij", X, X) / T
        dof = T
    tr = np.trace(S, axis1=1, axis2=2)
    tr2 = np.sum(S**2, axis=(1, 2))
    a_hat, b_hat = unbiased_trace_moments(tr, tr2, dof)
    a_true, b_true = np.trace(C) ** 2, np.sum(C**2)
    for est, true in [(a_hat, a_true), (b_hat, b_true)]:
        se = est.std() / np.sqrt(reps)
        assert abs(est.mean() - true) < 4 * se, (est.mean(), true, se)
    # The wrong degrees of freedom (T instead of T-1 when centred, and vice versa) is
    # detected by the same bound: the test has the power to see that mistake.
    _, b_wrong = unbiased_trace_moments(tr, tr2, T if center else T - 1)
    assert abs(b_wrong.mean() - b_true) > 4 * b_wrong.std() / np.sqrt(reps)
    # raw B = tr(Chat^2) is biased upwards by (tr C)^2 / dof
    assert tr2.mean() - b_true > 10 * tr2.std() / np.sqrt(reps)


def test_estimator_uses_t_minus_one_dof_when_centred():
    rng = np.random.default_rng(2)
    X = rng.standard_normal((50, 6))
    assert CovarianceSpectrum(n_samples_eff=50).fit(X).n_dof_ == pytest.approx(49)
    assert CovarianceSpectrum(n_samples_eff=50, center=False).fit(X).n_dof_ == pytest.approx(50)
    est = CovarianceSpectrum(n_samples_eff=50).fit(X)
    a, b = unbiased_trace_moments(est.eigenvalues_.sum(), np.sum(est.eigenvalues_**2), 49)
    assert est.participation_ratio_corrected_ == pytest.approx(a / b, rel=1e-12)


def test_correlation_correction_unbiased_to_second_order():
    # Sample correlation matrices: E[tr R^2] = b(1 - 3/n) + (N^2 + 2N + 2 S4)/n + O(N^2/n^2).
    # The estimator's E[b_hat] must match tr R^2 within 4 SE + N^2/n^2 (the neglected order),
    # while the raw tr Rhat^2 is off by ~ N^2/n.
    rng = np.random.default_rng(3)
    N, T, reps = 12, 60, 300
    C, L = linear_network(N, 0.6, seed=4)
    d = np.sqrt(np.diag(C))
    b_true = np.sum((C / np.outer(d, d)) ** 2)
    est = CovarianceSpectrum(kind="correlation", n_samples_eff=T)
    b_hats, raws = [], []
    for _ in range(reps):
        X = rng.standard_normal((T, N)) @ L.T
        est.fit(X)
        b_hats.append(N**2 / est.participation_ratio_corrected_)
        raws.append(np.sum(est.eigenvalues_**2))
    b_hats, raws = np.array(b_hats), np.array(raws)
    n = T - 1
    tol = 4 * b_hats.std() / np.sqrt(reps) + N**2 / n**2
    assert abs(b_hats.mean() - b_true) < tol
    assert raws.mean() - b_true > 5 * tol  # bias about N^2/n = 2.4, tol about 0.3


# --------------------------------------------------------------------------- linear networks
N_NET, G_NET = 300, 0.5


@pytest.fixture(scope="module")
def network():
    C, L = linear_network(N_NET, G_NET, seed=5)
    t = power_traces(C)
    return C, L, t[1] ** 2 / t[2]


def test_network_finite_n_pr_close_to_theory(network):
    # PR/N = (1 - g^2)^2 up to O(1/N) finite-size corrections of this one network: for
    # g = 0.5 we measured -0.8 % at N = 400 and -0.3 % at N = 1000 (about -3/N); allow 5/N.
    _, _, pr_n = network
    assert abs(pr_n / N_NET / (1 - G_NET**2) ** 2 - 1) < 5 / N_NET


@pytest.mark.parametrize("temporal", ["independent", "ar1"])
def test_corrected_pr_matches_linear_network(network, temporal):
    C, L, pr_n = network
    rng = np.random.default_rng(6)
    if temporal == "independent":
        T, n_eff_true = 1500, 1500
        X = rng.standard_normal((T, N_NET)) @ L.T
    else:
        a = 0.8  # AR(1): n_eff = T (1 - a^2)/(1 + a^2) = 0.2195 T, about 1500 as above
        T = 6834
        n_eff_true = T * (1 - a * a) / (1 + a * a)
        X = ar1(rng, T, N_NET, a, L)
    est = CovarianceSpectrum().fit(X + 1.0)
    # 4 sigma of the PR's sampling noise (pr_sd, leading order in 1/n) plus the effect of
    # an error in n_eff: dPR/PR = (PR/n) dn/n, with |dn/n| < 3 % (see the AR(1) test).
    sd = pr_sd(C, n_eff_true)
    bound = 4 * sd + pr_n**2 / n_eff_true * 0.03
    assert abs(est.participation_ratio_corrected_ - pr_n) < bound
    # theory value (1-g^2)^2 N, with the finite-N allowance of the test above
    theory = (1 - G_NET**2) ** 2 * N_NET
    assert abs(est.participation_ratio_corrected_ - theory) < bound + 5 * theory / N_NET
    # the raw PR is biased by 1/PR_hat ~ 1/PR + 1/n (about -10 %): far outside the bound
    assert pr_n - est.participation_ratio_ > 3 * bound
    expected_raw = 1 / (1 / pr_n + 1 / n_eff_true)
    assert abs(est.participation_ratio_ - expected_raw) < bound


def test_subsampled_pr_follows_free_compression(network):
    # 1/PR_M = 1/M + 1/PR_N - 1/N for random subsets of M neurons, PR_N the network's own.
    C, L, pr_n = network
    rng = np.random.default_rng(7)
    T = 1500
    X = rng.standard_normal((T, N_NET)) @ L.T
    sizes, n_draws = [50, 100, 200], 20
    df = subsample_spectra(X, sizes=sizes, n_draws=n_draws, random_state=8, progress=False)
    assert len(df) == len(sizes) * n_draws
    for M in sizes:
        sub = df[df["size"] == M]
        formula = 1.0 / (1.0 / M + 1.0 / pr_n - 1.0 / N_NET)
        # exact subsets of this network: how far the formula is from the subset average
        idx = [np.sort(rng.choice(N_NET, M, replace=False)) for _ in range(200)]
        exact = np.array([np.trace(C[np.ix_(i, i)]) ** 2 / np.sum(C[np.ix_(i, i)] ** 2)
                          for i in idx])
        # bound: sampling noise from T (shared by all draws, so not divided by sqrt(draws)),
        # draw-to-draw spread of the subset PR over sqrt(draws), formula error for this C
        sd_t = pr_sd(C[np.ix_(idx[0], idx[0])], T)
        bound = 4 * np.hypot(sd_t, exact.std() / np.sqrt(n_draws)) + abs(exact.mean() - formula)
        assert abs(sub["pr_corrected"].mean() - formula) < bound, (M, bound)
        if M >= 100:  # raw bias 1/(1/PR_M + 1/T) - PR_M: -5 % at M = 100, -9 % at M = 200
            assert formula - sub["pr"].mean() > 2 * bound
        assert np.allclose(sub["n_samples_eff"], T, rtol=0.02)


def test_windowed_discrete_time_network_matches_exact_window_covariance():
    # Discrete-time linear network x[t+1] = J x[t] + xi[t]: temporally correlated and not
    # separable (each mode has its own time scale). The covariance of window sums / W is
    # C_W = Sigma0 + (1/W) sum_{k=1}^{W-1} (W-k) (J^k Sigma0 + Sigma0 J^k'), Sigma0 the
    # stationary covariance (Sigma0 = J Sigma0 J' + I); C_W -> (I-J)^-1 (I-J)^-T as W grows.
    import scipy.linalg

    rng = np.random.default_rng(20)
    N, g, W, n_windows = 150, 0.5, 20, 1500
    J = rng.standard_normal((N, N)) * g / np.sqrt(N)
    sigma0 = scipy.linalg.solve_discrete_lyapunov(J, np.eye(N))

    def window_cov(w):
        acc, Jk = np.zeros((N, N)), np.eye(N)
        for k in range(1, w):
            Jk = Jk @ J
            acc += (w - k) * (Jk @ sigma0)
        return sigma0 + (acc + acc.T) / w

    C_W = window_cov(W)
    C_inf = np.linalg.inv(np.eye(N) - J)
    C_inf = C_inf @ C_inf.T
    pr = lambda C: np.trace(C) ** 2 / np.sum(C * C)  # noqa: E731
    # finite windows narrow the spectrum (PR too high), by O(1/W) (science.md section 4)
    gap20, gap80 = pr(C_W) / pr(C_inf) - 1, pr(window_cov(80)) / pr(C_inf) - 1
    assert 0 < gap80 < gap20 and gap80 < 0.4 * gap20

    # one independent stretch of W steps per window, each started in the stationary state
    # (all windows integrated together: W matrix products instead of W * n_windows steps)
    x = rng.standard_normal((n_windows, N)) @ np.linalg.cholesky(sigma0).T
    X = np.empty((n_windows, W, N))
    for t in range(W):
        x = x @ J.T + rng.standard_normal((n_windows, N))
        X[:, t] = x
    est = CovarianceSpectrum(window=W).fit(X.reshape(-1, N))
    np.testing.assert_allclose(np.trace(est.covariance_) / np.trace(C_W), 1, atol=0.03)
    assert est.n_samples_eff_ == pytest.approx(n_windows, rel=0.05)  # independent windows
    bound = 4 * pr_sd(C_W, n_windows) + pr(C_W) ** 2 / n_windows * 0.05
    assert abs(est.participation_ratio_corrected_ - pr(C_W)) < bound
    assert pr(C_W) - est.participation_ratio_ > bound  # raw: 1/PR + 1/n, about -5 %


def test_effective_sample_size_formula_for_exact_ar1_autocorrelation():
    T, a = 10**6, 0.8
    n_eff, tau, m = effective_sample_size(a ** np.arange(200), T)
    assert n_eff == pytest.approx(T * (1 - a * a) / (1 + a * a), rel=1e-4)
    assert tau == pytest.approx((1 + a * a) / (1 - a * a), rel=1e-4)
    assert m >= 5 * tau  # Sokal's window


# --------------------------------------------------------------------------- effective samples
@pytest.mark.parametrize("a", [0.5, 0.9])
def test_effective_sample_size_of_ar1(a):
    # For covariance estimation n_eff = T (1-a^2)/(1+a^2) (Bartlett: Var C_ij ~ sum_k rho_k^2).
    # Noise: rho_k averaged over N independent channels has sd <~ sqrt(tau_m/(N T)),
    # tau_m = (1+a)/(1-a); tau = 1 + 2 sum rho_k^2 moves by 4 sum_k rho_k d rho_k, so
    # sd(tau)/tau <= 4 (a/(1-a)) sqrt(tau_m/(N T)) / tau (0.33 % and 1.3 % here; observed
    # over 20 repetitions: 0.18 % and 0.40 %). Tolerance: 4 of those.
    rng = np.random.default_rng(9)
    N, T = 40, 40000
    X = ar1(rng, T, N, a)
    est = CovarianceSpectrum(correction="none").fit(X)
    expected = T * (1 - a * a) / (1 + a * a)
    tau = (1 + a * a) / (1 - a * a)
    tol = 4 * 4 * (a / (1 - a)) * np.sqrt((1 + a) / (1 - a) / (N * T)) / tau
    assert abs(est.n_samples_eff_ / expected - 1) < tol
    # not the effective size for the mean, T (1-a)/(1+a), nor T itself
    assert abs(est.n_samples_eff_ / (T * (1 - a) / (1 + a)) - 1) > 10 * tol
    assert abs(est.n_samples_eff_ / T - 1) > 10 * tol
    np.testing.assert_allclose(est.autocorrelation_[:6], a ** np.arange(6), atol=0.02)
    assert est.integrated_time_ == pytest.approx(T / est.n_samples_eff_)


def test_autocorrelation_matches_direct_sums_across_chunk_borders():
    # max_lag larger than the chunk: pairs span several chunks; compare with plain sums.
    rng = np.random.default_rng(10)
    T, N, K = 300, 5, 40
    X = ar1(rng, T, N, 0.7) * rng.uniform(0.5, 2, N) + rng.normal(0, 50, N)  # big means
    Xc = X - X.mean(axis=0)
    direct = np.array([np.sum(Xc[: T - k] * Xc[k:]) for k in range(K + 1)])
    for chunk in (7, 64, 1000):
        est = CovarianceSpectrum(chunk_size=chunk, max_lag=K).fit(X)
        np.testing.assert_allclose(est.autocorrelation_, direct / direct[0], atol=1e-12)
    n_eff, tau, m = effective_sample_size(direct / direct[0], T)
    assert est.n_samples_eff_ == pytest.approx(n_eff, rel=1e-12)
    assert est.autocorrelation_window_ == m


def test_effective_sample_size_excluding_a_slow_mode():
    # AR(1) channels (a = 0.5) plus a strong random-walk-like shared mode along u: the whole
    # activity barely decorrelates, the activity with u projected out is the AR(1) bulk,
    # n_eff = T (1-a^2)/(1+a^2) (tolerance as in test_effective_sample_size_of_ar1, x 2 for
    # the removed direction's share of the noise)
    rng = np.random.default_rng(15)
    N, T, a = 40, 40000, 0.5
    X = ar1(rng, T, N, a)
    u = rng.standard_normal(N)
    u /= np.linalg.norm(u)
    X_u = X - np.outer(X @ u, u)  # bulk orthogonal to u (the test's own reference)
    X_slow = X_u + 20.0 * np.outer(ar1(rng, T, 1, 0.999, burn=8000)[:, 0], u)
    n_all, reached_all = effective_sample_size_excluding(X_slow, np.zeros((N, 0)))
    n_res, reached = effective_sample_size_excluding(X_slow, u[:, None])
    direct = CovarianceSpectrum(correction="none").fit(X_u).n_samples_eff_
    expected = T * (1 - a * a) / (1 + a * a)
    assert reached
    assert n_res == pytest.approx(direct, rel=1e-9)
    assert abs(n_res / expected - 1) < 0.03
    assert n_all < 0.1 * expected  # the slow mode dominates the whole activity
    # no components: the estimator's own n_eff
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est = CovarianceSpectrum(correction="none").fit(X_slow)
    assert n_all == pytest.approx(est.n_samples_eff_, rel=1e-9)
    assert reached_all == (est.autocorrelation_window_ < est.max_lag)


def test_effective_sample_size_white_noise_and_warning():
    rng = np.random.default_rng(11)
    X = rng.standard_normal((5000, 20))
    est = CovarianceSpectrum().fit(X)
    assert 0.98 * 5000 < est.n_samples_eff_ <= 5000
    # a random walk never decorrelates within max_lag: warn that n_eff is an upper bound
    walk = np.cumsum(rng.standard_normal((3000, 5)), axis=0)
    with pytest.warns(SpectrumWarning, match="max_lag"):
        CovarianceSpectrum(max_lag=20).fit(walk)


# --------------------------------------------------------------------------- windows
def test_window_sums_and_recording_input():
    rng = np.random.default_rng(12)
    X = ar1(rng, 1003, 8, 0.6) + 2.0
    rec = Recording(X, bin_size=0.01, meta={"source": "sim"})
    est = CovarianceSpectrum(window=10, chunk_size=33).fit(rec)
    sums = X[:1000].reshape(100, 10, 8).sum(axis=1)
    np.testing.assert_allclose(est.covariance_, np.cov(sums, rowvar=False) / 10, atol=1e-12)
    np.testing.assert_allclose(est.mean_, X[:1000].mean(axis=0), atol=1e-12)
    assert est.n_windows_ == 100 and est.n_samples_ == 1003
    assert est.bin_size_ == 0.01 and est.meta_["recording"]["source"] == "sim"
    # windows 10 >> correlation time (a = 0.6): window sums are nearly independent
    assert est.n_samples_eff_ > 85


# --------------------------------------------------------------------------- any size
@pytest.fixture(scope="module")
def stream_data():
    rng = np.random.default_rng(13)
    C, L = linear_network(30, 0.5, seed=14)
    return ar1(rng, 2000, 30, 0.5, L) + 10.0


CONFIGS = [
    dict(),
    dict(window=3, kind="correlation", chunk_size=50, max_lag=70),
    dict(correction="cv", n_folds=3, chunk_size=128, drop_top=1),
    dict(center=False, chunk_size=9, max_lag=25),
]


def assert_same_fit(a, b, rtol=1e-10):
    scale = a.eigenvalues_[0]
    np.testing.assert_allclose(b.eigenvalues_, a.eigenvalues_, rtol=0, atol=rtol * scale)
    np.testing.assert_allclose(b.covariance_, a.covariance_, rtol=0,
                               atol=rtol * np.abs(a.covariance_).max())
    np.testing.assert_allclose(b.mean_, a.mean_, rtol=rtol)
    np.testing.assert_allclose(b.autocorrelation_, a.autocorrelation_, rtol=0, atol=rtol)
    for att in ("n_samples_eff_", "participation_ratio_", "participation_ratio_corrected_"):
        assert getattr(b, att) == pytest.approx(getattr(a, att), rel=rtol), att
    if a.eigenvalues_cv_ is not None:
        np.testing.assert_allclose(b.eigenvalues_cv_, a.eigenvalues_cv_, rtol=0, atol=rtol * scale)
    assert (a.n_samples_, a.n_windows_, a.n_features_in_) == (b.n_samples_, b.n_windows_,
                                                              b.n_features_in_)


@pytest.mark.parametrize("params", CONFIGS)
def test_streaming_sources_equal_in_memory(stream_data, params, tmp_path):
    import dask.array as da
    import h5py

    X = stream_data
    ref = CovarianceSpectrum(**{**params, "chunk_size": None}).fit(X)  # one big chunk
    path = tmp_path / "act.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("x", data=X, chunks=(64, X.shape[1]))
    mm = np.lib.format.open_memmap(tmp_path / "act.npy", mode="w+", dtype=np.float64,
                                   shape=X.shape)
    mm[:] = X
    mm.flush()
    mm = np.load(tmp_path / "act.npy", mmap_mode="r")
    with h5py.File(path, "r") as f:
        assert_same_fit(ref, CovarianceSpectrum(**params).fit(f["x"]))
    assert_same_fit(ref, CovarianceSpectrum(**params).fit(mm))
    assert_same_fit(ref, CovarianceSpectrum(**params).fit(da.from_array(X, chunks=(173, 30))))
    if params.get("correction") != "cv":
        chunks = (X[i : i + 111] for i in range(0, len(X), 111))
        assert_same_fit(ref, CovarianceSpectrum(**params).fit(chunks))


def test_float32_hdf5_streams(tmp_path):
    import h5py

    rng = np.random.default_rng(15)
    X = rng.standard_normal((500, 20)).astype(np.float32)
    with h5py.File(tmp_path / "a.h5", "w") as f:
        f["x"] = X
    with h5py.File(tmp_path / "a.h5", "r") as f:
        est = CovarianceSpectrum(chunk_size=64).fit(f["x"])
    np.testing.assert_allclose(est.covariance_, np.cov(X.astype(np.float64), rowvar=False),
                               atol=1e-12)


@pytest.mark.parametrize("kind", ["covariance", "correlation"])
def test_gram_solver_equals_covariance_solver(kind):
    rng = np.random.default_rng(16)
    T, N = 60, 150
    X = rng.standard_normal((T, 20)) @ rng.standard_normal((20, N)) + rng.standard_normal((T, N))
    g = CovarianceSpectrum(kind=kind, solver="gram").fit(X)
    c = CovarianceSpectrum(kind=kind, solver="covariance").fit(X)
    auto = CovarianceSpectrum(kind=kind).fit(X)
    assert auto.meta_["solver"] == "gram" and c.meta_["solver"] == "covariance"
    assert_same_fit(c, g)
    # centred: rank T - 1, the other N - T + 1 eigenvalues are zero
    assert np.all(g.eigenvalues_[T - 1 :] == 0) and g.eigenvalues_[T - 2] > 0


def test_cv_spectrum_cancels_independent_noise():
    # Signal in r = 4 directions plus independent noise of variance 1 in all N = 80. The true
    # spectrum: 4 spikes, then 76 eigenvalues equal to 1. With T = 400 (alpha = 0.2) the raw
    # eigenvalues of the noise-only directions spread over the Marchenko-Pastur range
    # [(1-sqrt(a))^2, (1+sqrt(a))^2] = [0.30, 2.09]; the cross-validated ones are the held-out
    # variance along training eigenvectors, whose noise is independent of them, so their
    # excess over the true value 1 is ~0 (each has sd sqrt(2/200) = 0.1 for a 200-sample fold;
    # the mean over 76 directions has sd < 0.02). Signal leaking into these directions is
    # O(r alpha / N) = 0.01.
    rng = np.random.default_rng(17)
    N, T, r = 80, 400, 4
    basis = np.linalg.qr(rng.standard_normal((N, r)))[0]
    X = (rng.standard_normal((T, r)) * np.sqrt([40, 30, 20, 10])) @ basis.T
    X += rng.standard_normal((T, N))
    est = CovarianceSpectrum(correction="cv").fit(X)
    noise_cv, noise_raw = est.eigenvalues_cv_[r:], est.eigenvalues_[r:]
    assert abs(noise_cv.mean() - 1.0) < 0.08
    assert np.abs(noise_cv - 1.0).max() < 0.5  # 5 sd of one direction
    assert noise_raw.max() - noise_raw.min() > 1.2  # MP spread (expected 2.09 - 0.30)
    assert np.abs(noise_raw - 1.0).max() > 0.6
    # the signal spikes are found too (held-out variance of a spike = spike + 1 noise)
    np.testing.assert_allclose(est.eigenvalues_cv_[:r], [41, 31, 21, 11], rtol=0.3)


# --------------------------------------------------------------------------- subsampling API
def test_subsample_spectra_table_and_reproducibility(stream_data):
    X = stream_data
    kw = dict(sizes=[5, 10, 30], n_draws=4, time_fractions=[0.5, 1.0], random_state=3,
              progress=False, quantiles=[0.1, 0.5, 0.9], window=2)
    df = subsample_spectra(X, **kw)
    assert isinstance(df, pd.DataFrame)
    assert list(df.columns) == ["size", "time_fraction", "draw", "n_samples", "pr", "pr_corrected",
                                "n_samples_eff", "alpha", "q_0.1", "q_0.5", "q_0.9"]
    # fraction 0.5: 4 segments x 3 sizes; fraction 1: 4 + 4 + 1 (all neurons once)
    assert len(df) == 12 + 9
    assert set(df[df.time_fraction == 0.5].n_samples) == {500}
    pd.testing.assert_frame_equal(df, subsample_spectra(X, **kw))
    # the full-set row equals CovarianceSpectrum on the same data
    full = df[(df["size"] == 30) & (df.time_fraction == 1.0)].iloc[0]
    est = CovarianceSpectrum(window=2).fit(X)
    assert full.pr_corrected == pytest.approx(est.participation_ratio_corrected_, rel=1e-10)
    assert full.n_samples_eff == pytest.approx(est.n_samples_eff_, rel=1e-10)
    assert full["q_0.5"] == pytest.approx(np.quantile(est.normalized_, 0.5), rel=1e-10)
    # a subset (principal submatrix, its own neurons' autocorrelation) equals a direct fit
    # on those columns; the subset is the first draw of the generator seeded random_state
    for kind, corr in [("covariance", "unbiased"), ("correlation", "unbiased"),
                       ("covariance", "cv")]:
        row = subsample_spectra(X, sizes=[10], n_draws=1, random_state=5, progress=False,
                                quantiles=[0.5], window=2, kind=kind, correction=corr).iloc[0]
        idx = np.sort(np.random.default_rng(5).choice(30, 10, replace=False))
        sub = CovarianceSpectrum(window=2, kind=kind, correction=corr).fit(X[:, idx])
        assert row.pr == pytest.approx(sub.participation_ratio_, rel=1e-10)
        assert row.pr_corrected == pytest.approx(sub.participation_ratio_corrected_, rel=1e-10)
        assert row.n_samples_eff == pytest.approx(sub.n_samples_eff_, rel=1e-10)
        assert row["q_0.5"] == pytest.approx(np.quantile(sub.normalized_, 0.5), rel=1e-10)


def test_subsample_spectra_bad_arguments(stream_data):
    with pytest.raises(ParameterError, match="sizes"):
        subsample_spectra(stream_data, sizes=[1, 40], progress=False)
    with pytest.raises(ParameterError, match="time_fractions"):
        subsample_spectra(stream_data, time_fractions=[0.0], progress=False)
    with pytest.raises(ParameterError, match="solver"):
        subsample_spectra(stream_data, solver="gram", progress=False)
    with pytest.raises(ParameterError, match="iterator"):
        subsample_spectra(iter([stream_data]), progress=False)


# --------------------------------------------------------------------------- bad input
def test_bad_inputs_raise_clear_errors(tmp_path):
    import h5py

    rng = np.random.default_rng(18)
    X = rng.standard_normal((50, 4))
    bad = X.copy()
    bad[7, 2] = np.nan
    with pytest.raises(DataValueError, match=r"NaN or inf.*sample 7, neuron column 2"):
        CovarianceSpectrum().fit(bad)
    bad[7, 2] = np.inf
    with h5py.File(tmp_path / "b.h5", "w") as f:
        f["x"] = bad
    with h5py.File(tmp_path / "b.h5", "r") as f:
        with pytest.raises(DataValueError, match="sample 7"):
            CovarianceSpectrum(chunk_size=5).fit(f["x"])
    import dask.array as da

    for row in (3, 40):  # in the first dask block (which sets the shift) and in a later one
        bad2 = X.copy()
        bad2[row, 1] = np.nan
        with pytest.raises(DataValueError, match=f"sample {row}, neuron column 1"):
            CovarianceSpectrum(chunk_size=10).fit(da.from_array(bad2, chunks=(10, 4)))
    with pytest.raises(ShapeError, match="2D|2-D"):
        CovarianceSpectrum().fit(X[:, 0])
    with pytest.raises(ShapeError, match="1 sample"):
        CovarianceSpectrum().fit(X[:1])
    with pytest.raises(ShapeError, match="1 feature"):
        CovarianceSpectrum().fit(X[:, :1])
    with pytest.raises(BinSizeError, match="longer than the recording"):
        CovarianceSpectrum(window=60).fit(X)
    with pytest.raises(BinSizeError, match="window"):
        CovarianceSpectrum(window=0).fit(X)
    with pytest.raises(ParameterError, match="drop_top"):
        CovarianceSpectrum(drop_top=4).fit(X)
    const = X.copy()
    const[:, 1] = 3.0
    with pytest.raises(DataValueError, match="constant.*drop_silent"):
        CovarianceSpectrum(kind="correlation").fit(const)
    CovarianceSpectrum(kind="covariance").fit(const)  # fine for a covariance
    for params, match in [(dict(kind="cov"), "kind"), (dict(correction="bias"), "correction"),
                          (dict(n_folds=1), "n_folds"), (dict(max_lag=0), "max_lag"),
                          (dict(n_samples_eff=0.5), "n_samples_eff"),
                          (dict(solver="gram", correction="cv"), "cv"),
                          (dict(chunk_size=-2), "chunk_size")]:
        with pytest.raises(ParameterError, match=match):
            CovarianceSpectrum(**params).fit(X)
    with pytest.raises(ParameterError, match="iterator"):
        CovarianceSpectrum(correction="cv").fit(iter([X]))
    with pytest.raises(ParameterError, match="n_folds"):
        CovarianceSpectrum(correction="cv", n_folds=30).fit(X)
    # every error is a NeurospecError and a ValueError
    assert issubclass(DataValueError, NeurospecError) and issubclass(NeurospecError, ValueError)


def test_too_few_samples_to_correct_gives_nan_and_warning():
    rng = np.random.default_rng(19)
    X = rng.standard_normal((3, 50))
    with pytest.warns(SpectrumWarning, match="NaN"):
        est = CovarianceSpectrum(kind="correlation", n_samples_eff=3).fit(X)
    assert np.isnan(est.participation_ratio_corrected_)
    assert np.isfinite(est.participation_ratio_)
