"""Tests of neurospec.simulate (RateNetwork) and its numba kernels.

Every statistical tolerance is derived in a comment from the number of independent samples.
The suite also runs with NUMBA_DISABLE_JIT=1 (the simulator then uses its NumPy integrator;
the compiled loops are still executed, interpreted, by the kernel-equivalence tests).
"""

import json
import math
import os
import subprocess
import sys

import numpy as np
import pytest
from scipy import linalg

from neurospec import Recording
from neurospec import _kernels
from neurospec.errors import BinSizeError, ConvergenceError, ParameterError
from neurospec.simulate import RateNetwork, draw_couplings, trial_index


# ----------------------------------------------------------------------------- helpers
def window_cov_exact(A, Q, n):
    """Exact covariance of the mean of n consecutive states of x[t+1] = A x[t] + e, Cov e = Q.

    Stationary covariance S0 (discrete Lyapunov), lag covariances A^k S0, and
    Var(mean) = (1/n^2) [n S0 + sum_{k=1}^{n-1} (n - k) (A^k S0 + S0 A^k^T)].
    """
    S0 = linalg.solve_discrete_lyapunov(A, Q)
    tot = n * S0
    Ak = np.eye(A.shape[0])
    for k in range(1, n):
        Ak = Ak @ A
        M = Ak @ S0
        tot += (n - k) * (M + M.T)
    return tot / n**2


def whitened_error(C_hat, C_ref):
    """||L^-1 C_hat L^-T - I||_F^2 with L L^T = C_ref."""
    L = np.linalg.cholesky(C_ref)
    Li = np.linalg.inv(L)
    M = Li @ C_hat @ Li.T
    return float(np.sum((M - np.eye(len(M))) ** 2))


def linear_window_check(dynamics, g, W, n_trials, bins_per_trial, N=12, sigma=0.7, seed=3,
                        method="exponential"):
    """Simulate a linear network, return (C_hat, exact window covariance, limit, K windows)."""
    net = RateNetwork(N, g=g, phi="identity", sigma=sigma, dynamics=dynamics, seed=seed,
                      method=method)
    J = np.array(net.couplings)
    rec = net.run(W * bins_per_trial, n_trials=n_trials, bin_size=W, record="currents",
                  progress=False)
    X = rec.activity                              # window means, one row per window
    K = X.shape[0]
    C_hat = W * (X.T @ X) / K                     # the mean is known to be 0
    # the scheme h <- a h + b J h + ns z is exactly this VAR(1)
    a, b, ns = net.update_coefficients()
    A = a * np.eye(N) + b * J
    Q = ns**2 * np.eye(N)
    n = int(round(W / net.dt))
    V = W * window_cov_exact(A, Q, n)
    IJ = np.linalg.inv(np.eye(N) - J)
    C_inf = sigma**2 * IJ @ IJ.T                 # (I-J)^-1 D (I-J)^-T, D = sigma^2 I
    return C_hat, V, C_inf, K


# ----------------------------------------------------------------------------- kernels
def test_fast_tanh_matches_numpy():
    x = np.concatenate([np.linspace(-25, 25, 20001), np.logspace(-300, 1.5, 3000),
                        -np.logspace(-300, 1.5, 3000), [0.0, 19.999, 20.0, 1e300, np.inf]])
    y = _kernels.fast_tanh_array(x, np.empty_like(x))
    ref = np.tanh(x)
    assert np.max(np.abs(y - ref)) <= 1e-15             # ~5 ulp of 1 at worst
    tiny = np.abs(x) > 0
    assert np.max(np.abs(y[tiny] - ref[tiny]) / np.abs(ref[tiny])) <= 2e-15  # relative, near 0 too
    assert y[x == 0.0][0] == 0.0 and y[-1] == 1.0


def test_fast_erf_matches_scipy():
    special = pytest.importorskip("scipy.special")
    x = np.concatenate([np.linspace(-8, 8, 40001), np.logspace(-300, 0.9, 3000),
                        -np.logspace(-300, 0.9, 3000),
                        [0.0, 1.0, np.nextafter(1.0, 0.0), 6.0, 1e300, np.inf, -np.inf]])
    y = _kernels.fast_erf_array(x, np.empty_like(x))
    ref = special.erf(x)
    assert np.max(np.abs(y - ref)) <= 2e-15
    nz = x != 0
    assert np.max(np.abs(y[nz] - ref[nz]) / np.abs(ref[nz])) <= 3e-15
    assert y[x == 0.0][0] == 0.0 and y[-2] == 1.0 and y[-1] == -1.0


@pytest.mark.parametrize("n", [1, 2, 7, 64])
def test_noise_loop_and_numpy_versions_bit_identical(n):
    key, c0 = np.uint64(987654321), np.uint64(2**63 + 5)      # counters wrap modulo 2^64
    block, c_end = _kernels.normals_block(key, c0, n, 3)
    z = np.empty(n)
    c = c0
    for s in range(3):
        c = _kernels.fill_normals(key, c, z)
        np.testing.assert_array_equal(z, block[s])
    assert int(c) == int(c_end) == (int(c0) + 3 * 2 * ((n + 1) // 2)) % 2**64


def test_noise_is_standard_normal_and_independent():
    stats = pytest.importorskip("scipy.stats")
    n, steps = 50_001, 20                                       # odd n: the unpaired tail too
    Z, _ = _kernels.normals_block(np.uint64(42), np.uint64(0), n, steps)
    z = Z.ravel()
    assert z.size == n * steps                                  # M = 1e6 numbers
    # moments: sd of the mean 1/sqrt(M) = 0.001, of the variance sqrt(2/M) = 0.0014,
    # of skewness sqrt(6/M) = 0.0024, of excess kurtosis sqrt(24/M) = 0.005; bounds ~5 sd
    assert abs(z.mean()) < 0.005 and abs(z.var() - 1) < 0.007
    assert abs(stats.skew(z)) < 0.012 and abs(stats.kurtosis(z)) < 0.025
    assert stats.kstest(z, "norm").pvalue > 1e-4
    # tails (Box-Muller radius from the log): P(|z| > 3) = 2.70e-3, P(|z| > 4) = 6.33e-5,
    # binomial sd 5.2e-5 and 8e-6
    assert abs(np.mean(np.abs(z) > 3) - 2.6998e-3) < 2.6e-4
    assert abs(np.mean(np.abs(z) > 4) - 6.334e-5) < 4e-5
    # independence: neighbours, Box-Muller partners (p, p + m), successive steps; each sample
    # correlation has sd 1/sqrt(pairs) <= 1/sqrt(5e5): bound 5 sd
    m = (n + 1) // 2
    pairs = [(z[:-1], z[1:]), (Z[:, : n - m].ravel(), Z[:, m:].ravel()),
             (Z[:-1].ravel(), Z[1:].ravel()), (Z[:, : n - m].ravel() ** 2, Z[:, m:].ravel() ** 2)]
    for x, y in pairs:
        assert abs(np.corrcoef(x, y)[0, 1]) < 5 / math.sqrt(x.size)
    # different keys give different streams
    other, _ = _kernels.normals_block(np.uint64(43), np.uint64(0), n, 1)
    assert abs(np.corrcoef(other[0], Z[0])[0, 1]) < 5 / math.sqrt(n)


@pytest.mark.parametrize("phi", ["tanh", "erf", "relu", "identity"])
@pytest.mark.parametrize("dynamics", ["continuous", "discrete"])
def test_kernel_matches_numpy_integrator(phi, dynamics):
    # The compiled loops (interpreted under NUMBA_DISABLE_JIT) and the NumPy integrator
    # implement the same scheme on the same random numbers: results agree to rounding.
    rng = np.random.default_rng(11)
    N, K, n_steps, spb = 7, 3, 53, 5
    nl = RateNetwork(N, g=0.6, phi=phi, seed=0).phi
    J = draw_couplings(N, 0.6, 0.2, rng)
    a, b, ns = (0.9, 0.1, 0.3 * math.sqrt(0.1)) if dynamics == "continuous" else (0.0, 1.0, 0.3)
    H0 = rng.standard_normal((N, K))
    key = np.uint64(77)
    for mode in (0, 1, 2):
        res = []
        for which in ("kernel", "numpy"):
            H = H0.copy()
            P = nl.func(H)
            JP = np.empty_like(H)
            Z = np.zeros(N * K)
            out = np.zeros((K, n_steps // spb + 1, N))
            acc, d, h1, h2 = (np.zeros((N, K)) for _ in range(4))
            args = (a, b, ns, mode, 1.0, 4.0, -1.0, spb, 0.2, out, acc, 0, 0, 2, 0, d, h1, h2)
            if which == "kernel":
                r = _kernels.integrate(J, H, P, JP, key, np.uint64(3), n_steps, Z,
                                       _kernels.PHI_CODES[nl.name], *args)
            else:
                r = _kernels.integrate_numpy(J, H, P, JP, key, np.uint64(3), n_steps, Z,
                                             nl.func, nl.deriv, *args)
            res.append((tuple(int(v) for v in r), H, out, acc, d, h1, h2))
        (rk, *arrk), (rn, *arrn) = res
        assert rk == rn == (n_steps % spb, n_steps // spb, n_steps, n_steps // 2,
                            3 + 2 * 11 * n_steps)
        for u, v in zip(arrk, arrn):
            np.testing.assert_allclose(u, v, rtol=1e-12, atol=1e-12)


# ----------------------------------------------------------------------------- couplings
@pytest.mark.parametrize("kappa", [0.0, 0.5, -0.3, 1.0, -1.0])
def test_coupling_statistics(kappa):
    N, g = 400, 0.7
    J = draw_couplings(N, g, kappa, np.random.default_rng(5))
    off = ~np.eye(N, dtype=bool)
    # M = N(N-1) entries: the variance estimate has relative sd sqrt(2/M) = 0.35 %;
    # corr(J_ij, J_ji) over M/2 pairs has sd (1 - kappa^2)/sqrt(M/2) <= 0.0036. Bounds: ~5 sd.
    assert np.var(J[off]) * N / g**2 == pytest.approx(1.0, abs=0.02)
    iu = np.triu_indices(N, 1)
    assert np.corrcoef(J[iu], J.T[iu])[0, 1] == pytest.approx(kappa, abs=0.02)
    assert abs(J[off].mean()) < 5 * g / N  # sd of the mean: g / N


def test_network_exposes_parameters_and_user_couplings():
    net = RateNetwork(50, g=0.9, kappa=0.3, phi="erf", sigma=0.5, seed=4)
    assert net.couplings.shape == (50, 50) and net.couplings.dtype == np.float64
    assert not net.couplings.flags.writeable
    assert (net.g, net.kappa, net.phi.name, net.sigma, net.dt, net.dynamics) == (
        0.9, 0.3, "erf", 0.5, 0.1, "continuous")
    same = RateNetwork(50, g=0.9, kappa=0.3, seed=4)
    np.testing.assert_array_equal(same.couplings, net.couplings)
    J = draw_couplings(300, 0.8, -0.4, np.random.default_rng(0))
    user = RateNetwork(couplings=J, phi="tanh", seed=1)
    np.testing.assert_array_equal(user.couplings, J)
    assert user.n_neurons == 300
    assert user.g == pytest.approx(J.std() * math.sqrt(300))
    assert user.kappa == pytest.approx(-0.4, abs=0.02)   # 5 sd of the estimate (see above)
    assert RateNetwork(couplings=J, g=0.8, kappa=-0.4).g == 0.8
    assert RateNetwork(10, g=1, dynamics="discrete").dt == 1.0


# ----------------------------------------------------------------------------- linear truth
@pytest.mark.parametrize("dynamics, method", [("continuous", "exponential"),
                                             ("continuous", "euler"), ("discrete", "exponential")])
def test_linear_long_window_covariance(dynamics, method):
    # Linear network (phi = identity): bin means over windows of W tau are the long-window
    # activity; W times their covariance tends to C = (I-J)^-1 D (I-J)^-T, D = sigma^2 I.
    W = 40.0
    C_hat, V, C_inf, K = linear_window_check(dynamics, g=0.35, W=W, n_trials=32,
                                             bins_per_trial=100, method=method)
    N = len(C_hat)
    # (1) exact: the simulated process is a VAR(1) (see linear_window_check); its window-mean
    # covariance V is computed in closed form. Whitened by V, C_hat is a Wishart(I)/K matrix
    # (windows longer than 20 correlation times are nearly independent), so
    # E ||V^-1/2 C_hat V^-1/2 - I||_F^2 = (N^2 + N)/K, with relative sd ~ sqrt(4/(N^2+N)) = 16 %
    # at N = 12; accept [0.6, 1.5] times it (> 2.5 sd). A wrong noise scale, a transposed J or
    # a broken binning changes it by factors (e.g. a 10 % noise error adds ~ 0.04 N / 4).
    ratio = whitened_error(C_hat, V) / ((N * N + N) / K)
    assert 0.6 < ratio < 1.5, ratio
    trace = np.trace(np.linalg.solve(V, C_hat)) / N        # sd sqrt(2/(N K))
    assert trace == pytest.approx(1.0, abs=4 * math.sqrt(2 / (N * K)))
    # (2) the long-window limit. Finite-window bias (deterministic, from the exact V) plus the
    # sampling error of a covariance from K windows: E||C_hat - C||_F^2 = sum_ij
    # (C_ij^2 + C_ii C_jj)/K, i.e. ~ sqrt(2/K) relative per entry; bound = bias + 3 sd.
    bias = np.linalg.norm(V - C_inf) / np.linalg.norm(C_inf)
    assert bias < 0.04                         # W = 40 >> correlation time 1/(1 - 0.35 (..))
    samp = math.sqrt(np.sum(V**2 + np.outer(np.diag(V), np.diag(V))) / K) / np.linalg.norm(V)
    err = np.linalg.norm(C_hat - C_inf) / np.linalg.norm(C_inf)
    assert err < bias + 3 * samp, (err, bias, samp)
    # diagonal: each variance has relative sd sqrt(2/K) = 2.5 % at K = 3200
    np.testing.assert_allclose(np.diag(C_hat), np.diag(C_inf), rtol=bias + 4 * math.sqrt(2 / K))


@pytest.mark.parametrize("method, bias", [("exponential", 0.0), ("euler", 0.05)])
def test_linear_equal_time_variance(method, bias):
    # The measured variance of h (ground truth "measured_h_var") against the continuous-time
    # Lyapunov solution (J - I) S + S (J - I)^T + sigma^2 I = 0. The exponential scheme is
    # exact for leak and noise (0.05 % error here); Euler-Maruyama inflates the variance by
    # ~dt/2 = 5 %. Statistics: 16 trials x 1000 tau, correlation time ~ 2 tau, so each
    # neuron's variance has relative sd ~ sqrt(2 * 2 / 16000) = 1.6 %, and the average over
    # 100 weakly correlated neurons ~ 0.3 %: a 1.5 % tolerance separates the two schemes.
    N, g, sigma = 100, 0.55, 0.8
    net = RateNetwork(N, g=g, phi="identity", sigma=sigma, seed=12, method=method)
    J = np.array(net.couplings)
    S = linalg.solve_continuous_lyapunov(J - np.eye(N), -sigma**2 * np.eye(N))
    gt = net.run(1000, n_trials=16, bin_size=10, progress=False).meta["ground_truth"]
    assert gt["method"] == method
    assert gt["measured_h_var"] / (np.trace(S) / N) == pytest.approx(1.0 + bias, abs=0.015)


# ----------------------------------------------------------------------------- reproducibility
def _short_run(seed, **kw):
    net = RateNetwork(40, g=1.5, phi="tanh", sigma=0.3, seed=seed)
    return net.run(50, n_trials=3, bin_size=1.0, burn_in=10, progress=False, **kw)


def test_same_seed_identical_different_seed_different():
    a, b, c = _short_run(7), _short_run(7), _short_run(8)
    np.testing.assert_array_equal(a.activity, b.activity)
    assert a.meta["ground_truth"] == b.meta["ground_truth"]
    assert not np.allclose(a.activity, c.activity)
    # repeated runs of one network: new noise each time, the same sequence for the same seed
    n1, n2 = RateNetwork(30, g=0.5, seed=2), RateNetwork(30, g=0.5, seed=2)
    r11, r12 = (n1.run(20, progress=False) for _ in range(2))
    r21, r22 = (n2.run(20, progress=False) for _ in range(2))
    np.testing.assert_array_equal(r11.activity, r21.activity)
    np.testing.assert_array_equal(r12.activity, r22.activity)
    assert not np.allclose(r11.activity, r12.activity)
    assert r12.meta["ground_truth"]["run_index"] == 1
    # seed=None is reproducible through the recorded entropy
    n3 = RateNetwork(30, g=0.5)
    np.testing.assert_array_equal(RateNetwork(30, g=0.5, seed=n3.seed).couplings, n3.couplings)
    # a Generator is accepted as seed
    assert RateNetwork(10, g=0.5, seed=np.random.default_rng(3)).seed == \
        RateNetwork(10, g=0.5, seed=np.random.default_rng(3)).seed


@pytest.mark.skipif(not _kernels.JIT_ENABLED, reason="this process already runs without JIT")
def test_same_output_without_jit():
    # Same seed with NUMBA_DISABLE_JIT=1 (NumPy integrator, NumPy BLAS) in a subprocess: the
    # random numbers are identical, so only rounding differs; a non-chaotic network keeps the
    # rounding differences at ~1e-15.
    code = (
        "import numpy as np; from neurospec.simulate import RateNetwork\n"
        "r = RateNetwork(30, g=0.6, phi='tanh', sigma=0.5, seed=9).run(30, n_trials=2, "
        "bin_size=2.0, burn_in=5, progress=False)\n"
        "np.save('out.npy', r.activity); print(r.meta['ground_truth']['measured_g_eff'])\n"
    )
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, NUMBA_DISABLE_JIT="1")
        res = subprocess.run([sys.executable, "-c", code], cwd=tmp, env=env, capture_output=True,
                             text=True, timeout=120)
        assert res.returncode == 0, res.stderr
        nojit = np.load(os.path.join(tmp, "out.npy"))
    jit = RateNetwork(30, g=0.6, phi="tanh", sigma=0.5, seed=9).run(
        30, n_trials=2, bin_size=2.0, burn_in=5, progress=False)
    np.testing.assert_allclose(jit.activity, nojit, rtol=0, atol=1e-10)
    assert float(res.stdout.split()[-1]) == pytest.approx(
        jit.meta["ground_truth"]["measured_g_eff"], abs=1e-10)


def test_user_nonlinearity_matches_named():
    # a user (func, deriv) pair runs in the NumPy loop; for tanh it must agree with the kernel
    deriv = lambda h: 1.0 - np.tanh(h) ** 2  # noqa: E731
    kw = dict(duration=30, n_trials=2, bin_size=1.0, burn_in=5, progress=False)
    named = RateNetwork(25, g=0.6, phi="tanh", sigma=0.5, seed=3).run(**kw)
    user = RateNetwork(25, g=0.6, phi=(np.tanh, deriv), sigma=0.5, seed=3).run(**kw)
    np.testing.assert_allclose(user.activity, named.activity, atol=1e-10)
    assert user.meta["ground_truth"]["phi"] == "tanh"
    assert user.meta["ground_truth"]["measured_g_eff"] == pytest.approx(
        named.meta["ground_truth"]["measured_g_eff"], abs=1e-10)


# ----------------------------------------------------------------------------- binning, meta
def test_binning_trials_and_meta():
    net = RateNetwork(20, g=1.3, phi="tanh", sigma=0.4, seed=5)
    kw = dict(n_trials=3, burn_in=2.0, progress=False, record="currents")
    fine = net.run(12.0, bin_size=0.1, **kw)              # one step per bin
    net2 = RateNetwork(20, g=1.3, phi="tanh", sigma=0.4, seed=5)
    coarse = net2.run(12.0, bin_size=2.0, **kw)           # 20 steps per bin, same noise
    assert fine.shape == (3 * 120, 20) and coarse.shape == (3 * 6, 20)
    # on-the-fly bin averages equal the average of the fine trajectory, trial by trial
    blocks = fine.activity.reshape(3, 6, 20, 20).mean(axis=2).reshape(18, 20)
    np.testing.assert_allclose(coarse.activity, blocks, rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(trial_index(coarse), np.repeat([0, 1, 2], 6))
    m = coarse.meta
    assert m["source"] == "neurospec.simulate" and m["kind"] == "traces"
    assert m["n_trials"] == 3 and m["bins_per_trial"] == 6 and m["record"] == "currents"
    gt = m["ground_truth"]
    for key in ("g", "kappa", "phi", "sigma", "dt", "dynamics", "n_neurons", "seed",
                "measured_g_eff", "measured_gamma"):
        assert key in gt
    assert gt["n_neurons"] == 20 and gt["phi"] == "tanh" and gt["seed"] == 5
    # measured statistics, recomputed from the fine trajectory (one sample per step there)
    h = fine.activity
    gtf = fine.meta["ground_truth"]
    assert gtf["stat_every"] == 1 and gtf["n_stat_samples"] == 120
    assert gtf["measured_g_eff"] == pytest.approx(1.3 * np.mean(1 - np.tanh(h) ** 2), rel=1e-12)
    assert gtf["measured_h_mean"] == pytest.approx(h.mean(), abs=1e-12)
    assert gtf["measured_h_var"] == pytest.approx(h.var(), rel=1e-10)
    rates = RateNetwork(20, g=1.3, phi="tanh", sigma=0.4, seed=5).run(
        12.0, bin_size=0.1, n_trials=3, burn_in=2.0, progress=False)
    np.testing.assert_allclose(rates.activity, np.tanh(h), atol=1e-15)
    assert rates.meta["kind"] == "rates" and rates.bin_size == pytest.approx(0.1)
    assert json.dumps(Recording(rates.activity, 0.1, meta=rates.meta).meta["ground_truth"])


def test_tau_sets_seconds_and_identity_geff():
    rec = RateNetwork(10, g=0.5, phi="identity", seed=1).run(20, bin_size=2.0, tau=0.02,
                                                             progress=False)
    assert rec.bin_size == pytest.approx(0.04) and rec.duration == pytest.approx(0.4)
    assert rec.meta["ground_truth"]["measured_g_eff"] == 0.5     # phi' = 1


def test_tanh_network_measured_gain_matches_mean_field():
    # A noise-driven tanh network (N = 500, g = 0.8, sigma = 1; science.md §4 quotes a
    # measured g<phi'> of 0.553 for such a network) against the dynamic mean-field theory.
    # Over seeds the measured value varies by ~3e-4 (finite N, 1200 tau of 4 trials); the
    # exponential scheme's O(dt^2) error is ~1e-4, while Euler-Maruyama's variance inflation
    # (dt/2) would lower g<phi'> by ~0.006. Tolerance 0.003.
    from neurospec.theory import effective_gain

    mf = effective_gain(0.8, phi="tanh", sigma=1.0)
    gt = RateNetwork(500, g=0.8, phi="tanh", sigma=1.0, seed=0).run(
        300, n_trials=4, bin_size=10, burn_in=50, progress=False).meta["ground_truth"]
    assert gt["measured_g_eff"] == pytest.approx(mf.g_eff, abs=0.003)
    assert gt["measured_g_eff"] == pytest.approx(0.553, abs=0.01)
    assert gt["measured_h_var"] == pytest.approx(mf.delta0, rel=0.01)


# ----------------------------------------------------------------------------- spikes
def test_spike_counts_match_rates_and_times():
    kw = dict(duration=100, n_trials=2, bin_size=0.5, burn_in=10, progress=False, tau=0.1)
    net_r = RateNetwork(15, g=1.2, phi="tanh", sigma=0.5, seed=21)
    net_s = RateNetwork(15, g=1.2, phi="tanh", sigma=0.5, seed=21)
    rates = net_r.run(**kw)
    counts = net_s.run(spikes=True, rate_scale=20.0, baseline=2.0, **kw)
    assert counts.meta["kind"] == "counts" and counts.shape == rates.shape
    assert np.all(counts.activity == np.round(counts.activity)) and counts.activity.min() >= 0
    # the trajectories are identical (spikes use their own stream), so the expected count of
    # each bin is the integral of lambda = baseline + rate_scale (phi + 1): affine in phi,
    # hence (baseline + rate_scale (mean phi + 1)) * bin seconds.
    lam = (2.0 + 20.0 * (rates.activity + 1.0)) * counts.bin_size
    n = lam.size
    # total count: Poisson with mean sum(lam) -> z-score within 4
    z = (counts.activity.sum() - lam.sum()) / math.sqrt(lam.sum())
    assert abs(z) < 4, z
    # dispersion: mean of (c - lam)^2 / lam is 1 with sd ~ sqrt((2 + 1/lam)/n) ~ 1.5 % here
    disp = np.mean((counts.activity - lam) ** 2 / lam)
    assert disp == pytest.approx(1.0, abs=5 * math.sqrt((2 + np.mean(1 / lam)) / n))
    # no bias across neurons either: per-neuron totals (2 x 200 bins x ~4 spikes each)
    per = (counts.activity.sum(0) - lam.sum(0)) / np.sqrt(lam.sum(0))
    assert np.all(np.abs(per) < 4.5)
    # spike times re-bin to exactly the counts; trials follow each other in time
    st = counts.spike_times
    assert len(st) == 15 and counts.meta["spikes"]["n_spikes"] == int(counts.activity.sum())
    assert all(np.all(np.diff(s) >= 0) for s in st)
    edges = np.arange(counts.n_samples + 1) * counts.bin_size
    rebinned = np.stack([np.histogram(s, edges)[0] for s in st], axis=1)
    np.testing.assert_array_equal(rebinned, counts.activity)
    assert max(s.max() for s in st) < counts.duration


def test_spikes_to_nwb_units_table(tmp_path):
    pynwb = pytest.importorskip("pynwb")
    rec = RateNetwork(6, g=0.9, phi="tanh", sigma=0.5, seed=2).run(
        40, n_trials=2, bin_size=1.0, burn_in=5, spikes=True, rate_scale=3.0, baseline=0.5,
        tau=0.05, progress=False)
    path = rec.to_nwb(tmp_path / "sim.nwb")
    with pynwb.NWBHDF5IO(str(path), "r") as io:
        nwb = io.read()
        units = nwb.units
        assert units is not None and len(units) == 6
        for j in range(6):
            np.testing.assert_allclose(units.get_unit_spike_times(j), rec.spike_times[j])
        meta = json.loads(nwb.notes.split(":", 1)[1])
    assert meta["ground_truth"]["g"] == 0.9
    assert meta["ground_truth"]["measured_g_eff"] == pytest.approx(
        rec.meta["ground_truth"]["measured_g_eff"])


# ----------------------------------------------------------------------------- errors
@pytest.mark.parametrize("kwargs, match", [
    (dict(n_neurons=1, g=0.5), "n_neurons"),
    (dict(n_neurons=10.5, g=0.5), "n_neurons"),
    (dict(n_neurons=10, g=0.0), "g must be > 0"),
    (dict(n_neurons=10, g=-1.0), "g must be > 0"),
    (dict(n_neurons=10, g=float("nan")), "g must be finite"),
    (dict(n_neurons=10, g=0.5, kappa=1.5), "kappa"),
    (dict(n_neurons=10, g=0.5, dt=0.0), "dt must be > 0"),
    (dict(n_neurons=10, g=0.5, dt=0.6), "too large"),
    (dict(n_neurons=10, g=0.5, sigma=-1.0), "sigma"),
    (dict(n_neurons=10, g=0.5, dynamics="stochastic"), "dynamics"),
    (dict(n_neurons=10, g=0.5, method="rk4"), "method"),
    (dict(n_neurons=10, g=0.5, phi="sigmoid"), "sigmoid"),
    (dict(n_neurons=10), "needs n_neurons and g"),
    (dict(couplings=np.ones((3, 4))), "square"),
    (dict(couplings=np.full((3, 3), np.nan)), "NaN"),
    (dict(couplings=np.eye(3) * 0.1, n_neurons=4), "does not match"),
    (dict(n_neurons=100, g=1.2, phi="identity"), "unstable"),
    (dict(n_neurons=100, g=0.7, kappa=0.8, phi="identity"), "unstable"),
    (dict(couplings=np.eye(4) * 1.5, phi="linear", dynamics="discrete"), "spectral radius"),
])
def test_bad_network_parameters(kwargs, match):
    with pytest.raises(ParameterError, match=match):
        RateNetwork(**kwargs)


def test_coarse_dt_warns():
    with pytest.warns(RuntimeWarning, match="coarse"):
        RateNetwork(10, g=0.5, dt=0.3)


@pytest.mark.parametrize("kwargs, exc, match", [
    (dict(duration=0.0), ParameterError, "duration"),
    (dict(duration=10, bin_size=0.25), BinSizeError, "multiple of dt"),
    (dict(duration=10, bin_size=20), BinSizeError, "longer than duration"),
    (dict(duration=10, bin_size=-1), BinSizeError, "bin_size"),
    (dict(duration=10, n_trials=0), ParameterError, "n_trials"),
    (dict(duration=10, record="spikes"), ParameterError, "record"),
    (dict(duration=10, spikes=True, record="currents"), ParameterError, "spikes"),
    (dict(duration=10, spikes=True, rate_scale=0), ParameterError, "rate_scale"),
    (dict(duration=10, burn_in=-1), ParameterError, "burn_in"),
    (dict(duration=10, tau=0), ParameterError, "tau"),
    (dict(duration=10, initial=np.zeros(3)), ParameterError, "initial"),
])
def test_bad_run_arguments(kwargs, exc, match):
    net = RateNetwork(8, g=0.5, seed=0)
    with pytest.raises(exc, match=match):
        net.run(progress=False, **kwargs)


def test_initial_state_and_divergence():
    net = RateNetwork(8, g=0.5, phi="identity", sigma=0.0, seed=0)
    h0 = np.linspace(-1, 1, 8)
    a = net.run(1.0, n_trials=2, bin_size=0.1, burn_in=0, initial=h0, record="currents",
                progress=False)
    b = net.run(1.0, n_trials=2, bin_size=0.1, burn_in=0, initial=np.stack([h0, h0]),
                record="currents", progress=False)
    np.testing.assert_array_equal(a.activity, b.activity)   # noiseless: deterministic
    J = np.array(net.couplings)
    ca, cb, _ = net.update_coefficients()
    assert (ca, cb) == (pytest.approx(math.exp(-0.1)), pytest.approx(1 - math.exp(-0.1)))
    np.testing.assert_allclose(a.activity[0], ca * h0 + cb * (J @ h0), rtol=1e-12)
    with pytest.raises(ConvergenceError, match="diverged"):
        RateNetwork(50, g=8.0, phi="relu", sigma=1.0, seed=1).run(200, progress=False)


def test_progress_bar_runs(capsys):
    rec = RateNetwork(10, g=0.5, seed=0).run(5, progress=True)
    assert rec.n_samples == 5
