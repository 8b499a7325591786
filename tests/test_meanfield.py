"""Dynamic mean-field theory: check values, internal consistency, and simulations.

Independent routes used here:
- science.md §5 check values (noiseless tanh chaos) and the g -> inf limit 1/sqrt(pi - 2);
- the FFT fixed point (which knows nothing of the energy condition) against the energy
  condition and the energy-quadrature profile;
- closed forms of the linear network (identity), with and without reciprocal correlations;
- plain numpy simulations of tanh networks (exponential Euler-Maruyama, trials as columns so
  each step is one matrix-matrix product), continuous and discrete time.
"""

import time

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from neurospec.errors import ConvergenceError, ParameterError
from neurospec.nonlinearities import get_nonlinearity
from neurospec.theory.meanfield import (
    MeanFieldResult,
    effective_gain,
    linear_equivalent_covariance,
    predicted_spectrum,
)


# --------------------------------------------------------------------------------------
# science.md §5 check values
# --------------------------------------------------------------------------------------
def test_noiseless_tanh_chaos_check_values():
    r = effective_gain(2.0)
    assert isinstance(r, MeanFieldResult)
    assert r.delta0 == pytest.approx(1.92481, abs=1e-5)
    assert r.g_eff == pytest.approx(0.97364, abs=1e-5)
    assert r.gamma == pytest.approx(r.g_eff / 2.0)
    assert r.chaotic and r.converged and r.method == "energy"
    assert effective_gain(1.5).g_eff == pytest.approx(0.98686, abs=1e-5)


def test_large_g_limit():
    # g -> inf: Delta0 ~ 2 g^2 (1 - 2/pi) (Phi -> |h|), g_eff -> 1/sqrt(pi - 2)
    r = effective_gain(1000.0)
    assert r.g_eff == pytest.approx(1.0 / np.sqrt(np.pi - 2.0), abs=2e-5)
    assert r.delta0 / 1000.0**2 == pytest.approx(2.0 * (1.0 - 2.0 / np.pi), rel=1e-3)


def test_g_eff_below_one_across_chaotic_regime():
    g = np.array([1.05, 1.2, 1.5, 2.0, 3.0, 5.0, 8.0, 12.0, 20.0])
    ge = np.array([effective_gain(x).g_eff for x in g])
    assert np.all(ge < 1.0) and np.all(ge > 0.9359)
    # g_eff falls monotonically from 1 towards the g -> inf limit
    assert np.all(np.diff(ge) < 0)


def test_quiet_state_below_one():
    r = effective_gain(0.5)
    assert r.delta0 == 0.0 and r.g_eff == 0.5 and not r.chaotic
    assert r.lyapunov == pytest.approx(-0.5)  # quiet fixed point: max Re eig(-1 + J) = g - 1
    assert r.noise_power == 0.0


def test_energy_condition_holds_at_solution():
    # Delta0^2/2 = g^2 Var[ln cosh h] + sigma^4/8 (Var by the nonlinearity's 1-D averages)
    f = get_nonlinearity("tanh")
    for g, s in [(2.0, 0.0), (0.8, 1.0), (3.0, 0.5)]:
        r = effective_gain(g, "tanh", s)
        lhs = 0.5 * r.delta0**2
        rhs = g * g * f.antideriv_var(r.delta0) + s**4 / 8.0
        assert lhs == pytest.approx(rhs, rel=1e-10)


def test_noiseless_profile_solves_second_order_equation():
    # profile from the first integral; check Delta'' = Delta - g^2 C(Delta) by differences
    r = effective_gain(2.0)
    assert r.residual < 1e-5
    assert r.delta[0] == pytest.approx(r.delta0, rel=1e-10)
    assert np.all(np.diff(r.delta) <= 1e-12)  # monotone decay to the plateau 0
    assert abs(r.delta[-1]) < 1e-8 * r.delta0
    assert r.lyapunov > 0


# --------------------------------------------------------------------------------------
# FFT fixed point against the energy route
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "g, phi, sigma",
    [(0.8, "tanh", 1.0), (2.0, "tanh", 0.3), (2.0, "erf", 1.0), (1.3, "relu", 0.5), (0.6, "identity", 0.7)],
)
def test_fft_fixed_point_matches_energy_profile(g, phi, sigma):
    a = effective_gain(g, phi, sigma, method="fft")
    b = effective_gain(g, phi, sigma, method="energy")
    assert a.method == "fft" and b.method == "energy"
    # FFT: O(dt^2) discretisation of the white-noise kink, dt = 0.025 -> ~2e-5 relative
    assert np.max(np.abs(a.delta - b.delta)) < 1e-4 * a.delta0
    assert a.rate_power == pytest.approx(b.rate_power, rel=2e-4)
    assert a.lyapunov == pytest.approx(b.lyapunov, abs=1e-4)
    # zero-frequency DMFT identity S_h(0) = g^2 S_r(0) + sigma^2 on the FFT profile
    dt = a.tau[1]
    dd = a.delta - a.delta[-1]
    s_h = 2.0 * dt * (dd.sum() - 0.5 * dd[0])
    assert s_h == pytest.approx(g * g * a.rate_power + sigma**2, rel=1e-3)


def test_fft_falls_back_when_marginal():
    # chaos with very weak noise: the iteration is marginal; auto falls back and says so
    r = effective_gain(1.2, "tanh", 0.01)
    assert r.method == "energy" and "FFT" in r.notes
    assert r.g_eff == pytest.approx(effective_gain(1.2, "tanh", 0.01, method="energy").g_eff)
    with pytest.raises(ConvergenceError, match="max_iter|damping"):
        effective_gain(0.8, "tanh", 1.0, method="fft", max_iter=3)


def test_noise_limits():
    # sigma -> 0 in chaos approaches the noiseless state; noise lowers g_eff in chaos
    assert effective_gain(2.0, "tanh", 1e-3).g_eff == pytest.approx(effective_gain(2.0).g_eff, abs=1e-9)
    assert effective_gain(2.0, "tanh", 1.0).g_eff < effective_gain(2.0).g_eff
    # below g = 1, weak noise: nearly linear, g_eff -> g
    assert effective_gain(0.5, "tanh", 1e-3).g_eff == pytest.approx(0.5, abs=1e-6)


# --------------------------------------------------------------------------------------
# linear networks: closed forms
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize("g", [0.3, 0.9])
def test_identity_closed_forms(g):
    s = 0.7
    r = effective_gain(g, "identity", s)
    assert r.g_eff == g and r.gamma == 1.0
    # equal-time variance 1/(2 sqrt(1-g^2)) and zero-frequency power 1/(1-g^2) (science.md §1)
    assert r.delta0 == pytest.approx(s * s / (2.0 * np.sqrt(1.0 - g * g)), rel=1e-10)
    assert r.rate_power == pytest.approx(s * s / (1.0 - g * g), rel=2e-4)
    assert r.noise_power == pytest.approx(s * s, rel=2e-4)
    assert r.lyapunov == pytest.approx(g - 1.0, abs=2e-3)
    rd = effective_gain(g, "identity", s, "discrete")
    assert rd.delta0 == pytest.approx(s * s / (1.0 - g * g), rel=1e-10)
    assert rd.noise_power == pytest.approx(s * s, rel=1e-10)
    # tiny kappa takes the spectral route: same answer
    rk = effective_gain(g, "identity", s, kappa=1e-12)
    assert rk.method == "linear"
    assert rk.delta0 == pytest.approx(r.delta0, rel=1e-4)


def test_identity_reciprocal_matches_science_mean():
    # science.md §3: g = 0.5, kappa = 0.3 -> mean mu = 1.6854, PR/N = 0.41414
    for dyn in ("continuous", "discrete"):
        r = effective_gain(0.5, "identity", 1.0, dyn, kappa=0.3)
        assert r.rate_power == pytest.approx(1.6854, abs=1e-4)
        assert r.participation_ratio() == pytest.approx(0.41414, abs=1e-5)
        assert r.spectrum().mean() == pytest.approx(r.rate_power, rel=1e-6)


def test_reciprocal_linear_against_simulated_variance():
    # Delta0 of a linear network with kappa = 0.5 against the Lyapunov-equation solutions
    # (I - J) S + S (I - J)^T = I and S = J S J^T + I for sampled J (N = 300: finite-N
    # corrections and trace fluctuations ~1/N; 2 % tolerance)
    from scipy.linalg import solve_continuous_lyapunov, solve_discrete_lyapunov

    g, kappa, N = 0.5, 0.5, 300
    rng = np.random.default_rng(3)
    X = rng.standard_normal((N, N))
    Y = rng.standard_normal((N, N))
    J = g * (np.sqrt(1 - kappa) * X / np.sqrt(N) + np.sqrt(kappa) * (Y + Y.T) / np.sqrt(2 * N))
    S = solve_continuous_lyapunov(J - np.eye(N), -np.eye(N))
    r = effective_gain(g, "identity", 1.0, kappa=kappa)
    assert np.trace(S) / N == pytest.approx(r.delta0, rel=0.02)
    S = solve_discrete_lyapunov(J, np.eye(N))
    r = effective_gain(g, "identity", 1.0, "discrete", kappa=kappa)
    assert np.trace(S) / N == pytest.approx(r.delta0, rel=0.02)


# --------------------------------------------------------------------------------------
# relu and discrete time
# --------------------------------------------------------------------------------------
def test_relu_properties():
    r = effective_gain(1.0, "relu", 1.0)
    f = get_nonlinearity("relu")
    assert r.gamma == 0.5 and r.g_eff == 0.5
    assert r.mean == 0.0 and r.rate_mean == pytest.approx(np.sqrt(r.delta0 / (2 * np.pi)))
    # quenched static field: Delta_inf = g^2 C(Delta_inf; Delta0) > 0
    assert r.delta_inf > 0
    assert r.delta_inf == pytest.approx(float(f.cross(r.delta0, r.delta_inf)), rel=1e-10)
    assert r.delta[-1] == pytest.approx(r.delta_inf, rel=1e-4)
    # relu is homogeneous: Delta scales with sigma^2
    assert effective_gain(1.0, "relu", 2.0).delta0 == pytest.approx(4.0 * r.delta0, rel=1e-9)
    # discrete time: Delta0 = g^2 Delta0 / 2 + sigma^2
    rd = effective_gain(1.2, "relu", 1.0, "discrete")
    assert rd.delta0 == pytest.approx(1.0 / (1.0 - 1.2**2 / 2.0), rel=1e-10)
    with pytest.raises(ParameterError, match="reduce g"):
        effective_gain(1.5, "relu", 1.0)
    with pytest.raises(ParameterError, match="sigma > 0"):
        effective_gain(1.0, "relu", 0.0)


def test_discrete_time_recursion():
    f = get_nonlinearity("tanh")
    r = effective_gain(2.0, "tanh", 0.0, "discrete")
    assert r.delta0 == pytest.approx(4.0 * f.second_moment(r.delta0), rel=1e-12)
    assert np.all(r.delta[1:] == 0.0)  # white at large N for odd phi
    assert r.chaotic and r.lyapunov == pytest.approx(0.5 * np.log(4.0 * f.mean_deriv_sq(r.delta0)))
    q = effective_gain(0.8, "tanh", 0.0, "discrete")
    assert q.delta0 == 0.0 and q.g_eff == 0.8 and not q.chaotic


# --------------------------------------------------------------------------------------
# errors, API surface, speed
# --------------------------------------------------------------------------------------
def test_errors():
    with pytest.raises(ParameterError, match="g="):
        effective_gain(0.0)
    with pytest.raises(ParameterError, match="g="):
        effective_gain(float("nan"))
    with pytest.raises(ParameterError, match="sigma"):
        effective_gain(1.0, sigma=-1.0)
    with pytest.raises(ParameterError, match="dynamics"):
        effective_gain(1.0, dynamics="euler")
    with pytest.raises(ParameterError, match="kappa"):
        effective_gain(0.5, kappa=1.5)
    with pytest.raises(ParameterError, match="response-memory"):
        effective_gain(0.8, "tanh", 1.0, kappa=0.2)
    with pytest.raises(ParameterError, match="unstable"):
        effective_gain(1.0, "identity", 1.0)
    with pytest.raises(ParameterError, match="unstable"):
        effective_gain(0.6, "identity", 1.0, kappa=0.8)
    with pytest.raises(ParameterError, match="damping"):
        effective_gain(0.8, "tanh", 1.0, damping=0.0)
    with pytest.raises(ParameterError, match="method"):
        effective_gain(0.8, "tanh", 1.0, method="newton")
    with pytest.raises(ParameterError, match="sigma > 0"):
        effective_gain(2.0, method="fft")
    with pytest.raises(ParameterError, match=r"\(func, deriv\)"):
        effective_gain(0.8, np.tanh, 1.0)
    with pytest.raises(ParameterError, match="phi"):
        effective_gain(0.8, (lambda h: np.tanh(h) + 0.5, lambda h: 1 / np.cosh(h) ** 2), 0.0)
    with pytest.raises(ParameterError, match="square"):
        linear_equivalent_covariance(np.ones((3, 4)))


def test_user_nonlinearity_matches_named():
    mine = (lambda h: np.tanh(h), lambda h: 1.0 / np.cosh(h) ** 2)
    a = effective_gain(0.9, mine, 1.0)
    b = effective_gain(0.9, "tanh", 1.0)
    assert a.g_eff == pytest.approx(b.g_eff, abs=1e-9)
    assert np.max(np.abs(a.delta - b.delta)) < 1e-7


def test_repr_summary_spectrum():
    r = effective_gain(0.8, "tanh", 1.0)
    assert "g_eff=0.5558" in repr(r)
    text = r.summary()
    assert "g_eff" in text and "noise-driven" in text and "PR/N" in text
    spec = r.spectrum()
    assert spec.mean() == pytest.approx(1.0 / (1.0 - r.g_eff**2), rel=1e-8)
    assert r.participation_ratio() == pytest.approx((1 - r.g_eff**2) ** 2)
    assert r.spectrum(absolute=True).mean() == pytest.approx(r.rate_power, rel=1e-8)
    assert predicted_spectrum(0.8, "tanh", 1.0, normalized=True).mean() == pytest.approx(1.0, rel=1e-8)


def test_solve_time():
    # target 0.5 s per solve on one core; generous bound here since the test machine is shared
    cases = [(2.0, "tanh", 0.0), (0.8, "tanh", 1.0), (2.0, "tanh", 0.3), (1.0, "relu", 1.0), (2.0, "tanh", 1.0, "discrete")]
    for c in cases:
        t = time.perf_counter()
        effective_gain(*c)
        assert time.perf_counter() - t < 2.0, c


# --------------------------------------------------------------------------------------
# simulations
# --------------------------------------------------------------------------------------
def simulate_tanh(N, g, sigma, T, *, dt=0.1, n_trials=8, burn_in=50.0, seed=0, dynamics="continuous", window=None):
    """Plain numpy tanh network; trials are columns, so each step is one matmul.

    Continuous time uses exponential Euler-Maruyama (exact for the leak and the noise over a
    step, input held fixed): h <- a h + (1 - a) J tanh(h) + sigma sqrt((1 - a^2)/2) xi,
    a = exp(-dt). Returns J, the realised gain std(J) sqrt(N), the measured mean of phi'(h)
    and, if ``window`` is given, window-summed rates as (n_windows * n_trials, N).
    """
    rng = np.random.default_rng(seed)
    J = rng.standard_normal((N, N)) * (g / np.sqrt(N))
    h = rng.standard_normal((N, n_trials))
    if dynamics == "continuous":
        a = np.exp(-dt)
        b, q = 1.0 - a, sigma * np.sqrt((1.0 - a * a) / 2.0)
    else:
        dt, a, b, q = 1.0, 0.0, 1.0, sigma
    n_burn, n_steps = int(round(burn_in / dt)), int(round(T / dt))
    per_win = None if window is None else int(round(window / dt))
    sums, acc = [], np.zeros((N, n_trials))
    dsum, count = 0.0, 0
    with threadpool_limits(1):
        for t in range(n_burn + n_steps):
            h = a * h + b * (J @ np.tanh(h)) + q * rng.standard_normal((N, n_trials))
            if t < n_burn:
                continue
            r = np.tanh(h)
            dsum += float(np.mean(1.0 - r * r))
            count += 1
            if per_win is not None:
                acc += r
                if (t - n_burn + 1) % per_win == 0:
                    sums.append(acc * dt)
                    acc = np.zeros((N, n_trials))
    g_hat = float(np.std(J) * np.sqrt(N))
    X = None if window is None else np.stack(sums).transpose(0, 2, 1).reshape(-1, N)
    return J, g_hat, dsum / count, X


@pytest.mark.parametrize(
    "g, sigma, N, tol",
    [
        # quiet: Delta0 ~ 0.02, phi' ~ 1 - Delta0; sampling error < 1e-4, finite-N ~ g Delta0 / N
        (0.5, 0.2, 400, 2e-3),
        # noise-driven: 8 trials x 100 tau x 400 neurons, tau_corr ~ 2 -> SE of mean(phi') ~ 5e-4;
        # finite-N corrections O(1/N) ~ 2.5e-3 relative on Delta0 -> ~1e-3 on g_eff
        (0.8, 1.0, 400, 5e-3),
    ],
)
def test_simulated_g_eff_quiet_and_noise_driven(g, sigma, N, tol):
    J, g_hat, m, _ = simulate_tanh(N, g, sigma, T=100.0, seed=1)
    pred = effective_gain(g_hat, "tanh", sigma).g_eff  # the realised gain of this J
    assert g_hat * m == pytest.approx(pred, abs=tol)


def test_simulated_g_eff_chaotic():
    # Chaos (g = 2, sigma = 0): finite-size effects are larger (measured over many seeds while
    # writing this test: mean offset +0.04 at N = 200, +0.012 at N = 400, ~0.005 at N = 800-1600,
    # realisation spread ~0.01). Three networks of N = 500, T = 150 tau, 4 trials each:
    # tolerance 0.03 on the mean (offset ~0.01 + 3 x 0.01 / sqrt(3)).
    diffs = []
    for seed in range(3):
        J, g_hat, m, _ = simulate_tanh(500, 2.0, 0.0, T=150.0, n_trials=4, seed=seed)
        diffs.append(g_hat * m - effective_gain(g_hat).g_eff)
    assert abs(np.mean(diffs)) < 0.03
    assert max(abs(d) for d in diffs) < 0.06


def _disattenuated_corr(X, P, window):
    """Correlation of off-diagonal sample covariance with P, corrected for sampling noise.

    The split-half correlation of the two halves' covariances estimates their reliability;
    corr(half, P) / sqrt(reliability) is the correlation of P with the noise-free covariance.
    """
    N = P.shape[0]
    iu = np.triu_indices(N, 1)
    h1 = np.cov(X[::2], rowvar=False)[iu] / window
    h2 = np.cov(X[1::2], rowvar=False)[iu] / window
    rel = np.corrcoef(h1, h2)[0, 1]
    rh = 0.5 * (np.corrcoef(h1, P[iu])[0, 1] + np.corrcoef(h2, P[iu])[0, 1])
    raw = np.corrcoef(np.cov(X, rowvar=False)[iu] / window, P[iu])[0, 1]
    return raw, rh / np.sqrt(rel)


def test_linear_equivalent_covariance_improves_with_N():
    # Discrete-time tanh chaos (g = 3, sigma = 0; g_eff = 0.898, slowest mode ~ 1/(1-g_eff) ~ 10
    # steps): windows of 100 steps, 40 windows x 32 trials. The residuals of linear
    # equivalence are O(1/sqrt N) relative, so the noise-corrected element-wise correlation
    # rises with N (0.94-0.98 at N = 100 and 0.98-0.99 at N = 400 over five seeds).
    W = 100
    c100 = []
    for seed in (0, 1):
        J, g_hat, m, X = simulate_tanh(100, 3.0, 0.0, T=4000, seed=seed, n_trials=32, burn_in=100, dynamics="discrete", window=W)
        P = linear_equivalent_covariance(J, "tanh", 0.0, "discrete")
        c100.append(_disattenuated_corr(X, P, W)[1])
    J, g_hat, m, X = simulate_tanh(400, 3.0, 0.0, T=4000, seed=0, n_trials=32, burn_in=100, dynamics="discrete", window=W)
    res = effective_gain(g_hat, "tanh", 0.0, "discrete")
    P = linear_equivalent_covariance(J, "tanh", 0.0, "discrete", result=res)
    raw400, c400 = _disattenuated_corr(X, P, W)
    assert raw400 > 0.95 and c400 > 0.975
    assert c400 > np.mean(c100)
    # discrete-time g_eff: 32 trials x 4000 steps x 400 neurons, white at lag >= 1
    assert g_hat * m == pytest.approx(res.g_eff, abs=0.01)
    # the scale D0: mean diagonal within 10% (sampling of variances over 1280 windows ~4%)
    C = np.cov(X, rowvar=False) / W
    assert np.mean(np.diag(C)) == pytest.approx(np.mean(np.diag(P)), rel=0.1)


def test_linear_equivalent_covariance_continuous_noise_driven():
    # g = 2, sigma = 2: saturated (Delta0 = 3.4) but non-chaotic, g_eff = 0.78; windows of 30 tau
    # against the slowest time ~4.6 tau. Noise-corrected correlation is ~0.99 at N = 100.
    W = 30.0
    J, g_hat, m, X = simulate_tanh(100, 2.0, 2.0, T=1200.0, dt=0.2, n_trials=32, burn_in=30.0, seed=0, window=W)
    P = linear_equivalent_covariance(J, "tanh", 2.0)
    raw, corrected = _disattenuated_corr(X, P, W)
    assert raw > 0.95 and corrected > 0.97


def test_linear_equivalent_covariance_identity_is_exact():
    rng = np.random.default_rng(0)
    N, g, s = 50, 0.6, 0.8
    J = rng.standard_normal((N, N)) * g / np.sqrt(N)
    P = linear_equivalent_covariance(J, "identity", s)
    M = np.linalg.inv(np.eye(N) - J)
    ref = s * s * M @ M.T
    np.testing.assert_allclose(P, ref, rtol=3e-4)
    with pytest.warns(RuntimeWarning, match="nonzero mean"):
        linear_equivalent_covariance(J + 0.05, "identity", s)


def test_linear_equivalent_covariance_reciprocal_identity():
    # a symmetric-leaning J: warn when kappa is not passed; exact with phi='identity', kappa given
    rng = np.random.default_rng(1)
    N, g, kappa = 200, 0.5, 0.5
    X, Y = rng.standard_normal((N, N)), rng.standard_normal((N, N))
    J = g * (np.sqrt(1 - kappa) * X / np.sqrt(N) + np.sqrt(kappa) * (Y + Y.T) / np.sqrt(2 * N))
    with pytest.warns(RuntimeWarning, match="reciprocal"):
        linear_equivalent_covariance(J, "identity", 1.0)
    P = linear_equivalent_covariance(J, "identity", 1.0, g=g, kappa=kappa)
    M = np.linalg.inv(np.eye(N) - J)
    np.testing.assert_allclose(P, M @ M.T, rtol=1e-10)
