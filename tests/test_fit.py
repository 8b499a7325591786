"""Tests of neurospec.fit: GainFit and window_ladder.

Independent routes used as ground truth:
- the theory's own quantiles (``rank_curve``) of a known spectrum: a "perfect sample" whose
  empirical CDF equals the model CDF at every point, so the CvM minimum is exactly at the truth;
- random matrices: Gaussian samples with covariance ``(I - J)^-1 (I - J)^-T`` for sampled J,
  generated here with plain numpy (not with the fitter's own simulator);
- a discrete-time linear network integrated here for the window ladder.
"""

import math
import warnings

import numpy as np
import pytest

from neurospec.errors import DataValueError, FitError, ParameterError, ShapeError
from neurospec.fit import GainFit, GainFitWarning, WindowConvergenceWarning, window_ladder
from neurospec.theory import LinearSpectrum

# small bootstraps keep the tests fast; the warning that says so is tested below
pytestmark = pytest.mark.filterwarnings("ignore:GainFit. n_boot=")


def linear_activity(n, g, T, rng):
    """T independent samples (time x neurons) with covariance (I - J)^-1 (I - J)^-T."""
    J = rng.standard_normal((n, n)) * (g / math.sqrt(n))
    return np.linalg.solve(np.eye(n) - J, rng.standard_normal((n, T))).T


def sample_eigenvalues(X):
    Xc = X - X.mean(axis=0)
    return np.linalg.eigvalsh(Xc.T @ Xc / (X.shape[0] - 1))


# ------------------------------------------------------------------------------ forward model
@pytest.mark.parametrize("alpha", [0.0, 0.3, 2.0])
def test_table_interpolation_matches_exact_cdf(alpha):
    from neurospec.fit.forward import Model as _Model, Table as _Table

    rng = np.random.default_rng(0)
    m = _Model("iid", alpha, None)
    table = _Table(m)
    worst = 0.0
    for g in rng.uniform(0.03, 0.98, size=8):  # off the nodes: interpolated
        spec = m.spectrum(g)
        lo, hi = spec.support()
        x = np.geomspace(lo * 0.95, hi * 1.05, 300)
        F, log_mean, _ = table.evaluate(m.theta(g), np.log(x))
        worst = max(worst, np.max(np.abs(F - spec.cdf(x))),
                    abs(math.exp(log_mean) / spec.mean() - 1))
    # one CDF step of a 400-eigenvalue spectrum is 2.5e-3; the table must be far below it
    assert worst < 1e-4


@pytest.mark.parametrize("g", [0.05, 0.5, 0.9, 0.97])
@pytest.mark.parametrize("alpha", [0.3, 2.0])
def test_recovers_gain_from_theory_quantiles(g, alpha):
    # quantiles at (i - 1/2)/n make every CvM residual vanish at the truth
    ev = 3.7 * LinearSpectrum(g).sampled(alpha).rank_curve(300)
    if alpha > 1:  # all N eigenvalues, the N - T zeros included
        ev = np.r_[ev, np.zeros(int(round(300 * (alpha - 1))))]
    fit = GainFit(n_boot=0, drop_top=0).fit(ev, alpha=alpha)
    assert abs(fit.g_eff_ - g) < 1e-3
    assert fit.scale_ == pytest.approx(3.7, rel=2e-3)
    assert fit.cost_ < 1e-5
    assert fit.n_dropped_ == 0
    if g >= 0.5:  # the MP null cannot describe a broad spectrum
        assert fit.null_cost_ > 20 * fit.cost_


@pytest.mark.parametrize("options", [dict(cost="ks"), dict(scale="mean")])
def test_other_costs_and_scales(options):
    ev = 2.0 * LinearSpectrum(0.7).sampled(0.3).rank_curve(300)
    fit = GainFit(n_boot=0, drop_top=0, **options).fit(ev, alpha=0.3)
    # "mean" divides by the sample mean of the quantiles, which misses the tail's share of
    # the mean by O(1/n): a small shift in g
    assert abs(fit.g_eff_ - 0.7) < (2e-3 if options.get("cost") == "ks" else 1e-2)


def test_fraction_adds_neuron_subsampling():
    ev = LinearSpectrum(0.6).subsampled(0.5).sampled(0.3).rank_curve(300)
    fit = GainFit(n_boot=0, drop_top=0, fraction=0.5).fit(ev, alpha=0.3)
    assert abs(fit.g_eff_ - 0.6) < 2e-3
    plain = GainFit(n_boot=0, drop_top=0).fit(ev, alpha=0.3)
    # subsampling narrows the spectrum: ignoring it reads g low
    assert plain.g_eff_ < 0.6 - 0.02


def test_reciprocal_model_recovers_g_and_kappa():
    ev = LinearSpectrum(0.5, kappa=0.3).sampled(0.2).rank_curve(300)
    fit = GainFit(model="reciprocal", n_boot=0, drop_top=0).fit(ev, alpha=0.2)
    assert abs(fit.g_eff_ - 0.5) < 0.01
    assert abs(fit.kappa_ - 0.3) < 0.05
    assert fit.params_["kappa"].vary
    assert fit.g_eff_ * (1 + fit.kappa_) < 1


# ------------------------------------------------------------------------------ random matrices
def test_round_trip_on_random_network():
    rng = np.random.default_rng(1)
    n, g, T = 200, 0.7, 800
    X = linear_activity(n, g, T, rng)
    fit = GainFit(n_boot=100, random_state=2).fit(sample_eigenvalues(X), alpha=n / (T - 1))
    # network-to-network s.d. of the estimate at N = 200, alpha = 0.25 is about 0.008
    assert abs(fit.g_eff_ - g) < 0.03
    assert abs(fit.g_eff_ - g) < 3 * fit.g_eff_stderr_
    assert 0.002 < fit.g_eff_stderr_ < 0.03
    lo, hi = fit.g_eff_ci_
    assert lo < fit.g_eff_ < hi
    assert fit.p_value_null_ == pytest.approx(1 / 101)  # no null spectrum is as far off


@pytest.mark.slow
def test_interval_coverage_small():
    """40 independent networks (N = 80, g = 0.6, alpha = 0.25): nominal 90 % intervals.

    If the true coverage is 90 %, the number of covering intervals is Binomial(40, 0.9):
    P(X <= 31) = 0.04, so >= 32 of 40 fails a calibrated method 4 % of the time (the seed is
    fixed, so the test is deterministic). The spread side is checked separately: the mean
    bootstrap s.e. must match the s.d. of the estimates across networks (the s.d. of 40
    draws is itself uncertain by ~11 %, so 0.75-1.35 allows 2.5 sigma either way).
    """
    rng = np.random.default_rng(11)
    n, g, T = 80, 0.6, 320
    est, se, cover = [], [], 0
    for i in range(40):
        ev = sample_eigenvalues(linear_activity(n, g, T, rng))
        fit = GainFit(n_boot=100, random_state=i).fit(ev, alpha=n / (T - 1))
        est.append(fit.g_eff_)
        se.append(fit.g_eff_stderr_)
        cover += fit.g_eff_ci_[0] <= g <= fit.g_eff_ci_[1]
    assert cover >= 32
    ratio = np.mean(se) / np.std(est, ddof=1)
    assert 0.75 < ratio < 1.35


def test_null_data_is_consistent_with_null():
    rng = np.random.default_rng(5)
    n, T = 150, 600
    X = rng.standard_normal((T, n))  # independent neurons: Marchenko-Pastur
    fit = GainFit(n_boot=100, random_state=0).fit(X)
    assert fit.g_eff_ < 0.15
    assert fit.p_value_null_ > 0.05
    assert fit.g_eff_ci_[0] < 0.05  # the interval reaches down to (nearly) no recurrence
    assert "consistent with independent neurons" in fit.report()


def test_auto_drop_removes_low_rank_modes():
    rng = np.random.default_rng(3)
    n, g, T = 200, 0.5, 1000
    X = linear_activity(n, g, T, rng)
    # two strong shared modes (e.g. a global fluctuation and a movement signal)
    U = np.linalg.qr(rng.standard_normal((n, 2)))[0]
    X = X + (rng.standard_normal((T, 2)) * np.array([12.0, 8.0])) @ U.T
    fit = GainFit(n_boot=0).fit(sample_eigenvalues(X), alpha=n / (T - 1))
    assert fit.n_dropped_ == 2
    assert abs(fit.g_eff_ - g) < 0.03
    assert fit.eigenvalues_[1] > 5 * fit.eigenvalues_[2]
    fixed = GainFit(n_boot=0, drop_top=1).fit(sample_eigenvalues(X), alpha=n / (T - 1))
    assert fixed.n_dropped_ == 1
    assert fixed.cost_ > fit.cost_  # the second mode left in spoils the fit


def test_auto_drop_keeps_a_pure_bulk():
    rng = np.random.default_rng(4)
    n, T = 200, 800
    dropped = [GainFit(n_boot=0).fit(sample_eigenvalues(linear_activity(n, g, T, rng)),
                                     alpha=n / (T - 1)).n_dropped_
               for g in (0.3, 0.5, 0.7, 0.8) for _ in range(3)]
    assert dropped == [0] * 12


# ------------------------------------------------------------------------------ inputs
def test_input_types_agree():
    from neurospec import CovarianceSpectrum, Recording

    rng = np.random.default_rng(6)
    n, T = 120, 600
    X = linear_activity(n, 0.6, T, rng)
    a = GainFit(n_boot=0).fit(X)
    b = GainFit(n_boot=0).fit(Recording(X, bin_size=0.1))
    c = GainFit(n_boot=0).fit(CovarianceSpectrum().fit(X))
    assert a.g_eff_ == pytest.approx(b.g_eff_, abs=1e-9)
    assert a.g_eff_ == pytest.approx(c.g_eff_, abs=1e-9)
    # independent samples: the effective sample size is close to T
    assert a.alpha_ == pytest.approx(n / (T - 1), rel=0.15)
    d = GainFit(n_boot=0).fit(sample_eigenvalues(X), alpha=a.alpha_)
    assert d.g_eff_ == pytest.approx(a.g_eff_, abs=1e-6)
    e = GainFit(n_boot=0, alpha=0.2).fit(X)  # alpha given overrides the estimate
    assert e.alpha_ == 0.2


def test_more_neurons_than_samples():
    rng = np.random.default_rng(7)
    n, T = 200, 100  # alpha = 2: only T - 1 nonzero eigenvalues
    ev = sample_eigenvalues(linear_activity(n, 0.6, T, rng))
    fit = GainFit(n_boot=0).fit(ev, alpha=n / (T - 1))
    assert fit.eigenvalues_.size == T - 1
    assert abs(fit.g_eff_ - 0.6) < 0.08


def test_bad_inputs_raise_clear_errors():
    ev = LinearSpectrum(0.5).sampled(0.3).rank_curve(100)
    with pytest.raises(ParameterError, match="alpha"):
        GainFit().fit(ev)
    with pytest.raises(ParameterError, match="alpha"):
        GainFit().fit(ev, alpha=-1)
    with pytest.raises(DataValueError, match="negative"):
        GainFit(n_boot=0).fit(np.r_[ev, -1.0], alpha=0.3)
    with pytest.raises(DataValueError, match="NaN"):
        GainFit(n_boot=0).fit(np.r_[ev, np.nan], alpha=0.3)
    with pytest.raises(ShapeError, match="2-D"):
        GainFit().fit(np.ones((3, 4, 5)))
    with pytest.raises(FitError, match="at least"):
        GainFit(n_boot=0).fit(ev[:5], alpha=0.3)
    with pytest.raises(ParameterError, match="block"):
        GainFit(bootstrap="block", n_boot=5).fit(ev, alpha=0.3)
    with pytest.raises(ParameterError, match="window"):
        GainFit(window=4).fit(ev, alpha=0.3)
    with pytest.raises(DataValueError, match="CovarianceSpectrum"):
        GainFit().fit({"not": "data"})
    for bad in (dict(model="chaotic"), dict(cost="l2"), dict(ci=1.5), dict(n_boot=-1),
                dict(drop_top="most"), dict(fraction=2.0), dict(bootstrap="jackknife"),
                dict(kind="precision"), dict(scale="max"), dict(ci_method="bca")):
        with pytest.raises(ParameterError):
            GainFit(**bad).fit(ev, alpha=0.3)


def test_sklearn_conventions():
    from sklearn.base import clone
    from sklearn.exceptions import NotFittedError

    est = GainFit(n_boot=10, ci=0.8)
    assert est.get_params()["ci"] == 0.8
    est.set_params(ci=0.95)
    assert clone(est).ci == 0.95
    with pytest.raises(NotFittedError):
        est.report()
    ev = LinearSpectrum(0.5).sampled(0.3).rank_curve(100)
    assert GainFit(n_boot=0).fit(ev, alpha=0.3).g_eff_ > 0


# ------------------------------------------------------------------------------ outputs
@pytest.fixture(scope="module")
def fitted():
    rng = np.random.default_rng(8)
    X = linear_activity(150, 0.7, 600, rng)
    return GainFit(n_boot=60, random_state=0).fit(X)


def test_outputs(fitted):
    import lmfit

    fit = fitted
    assert isinstance(fit.result_, lmfit.minimizer.MinimizerResult)
    assert fit.params_["g_eff"].min == 0 and fit.params_["g_eff"].max < 1
    assert fit.g_eff_ci_[0] < fit.g_eff_ < fit.g_eff_ci_[1]
    assert fit.bootstrap_.shape == (60,)
    assert fit.g_eff_stderr_ == pytest.approx(np.std(fit.bootstrap_, ddof=1))
    # sigma^2 ~ mean(lambda) / mu(g): the fitted scale follows the bulk's shape, the mean the
    # top modes; d log mu / dg = 2g / (1 - g^2) = 2.7 at g = 0.7 turns the estimate's error
    # (~0.02 at N = 150) into ~5 %, hence 10 %
    kept = fit.eigenvalues_[fit.n_dropped_:]
    mu = 1 / (1 - fit.g_eff_ ** 2)
    assert fit.scale_ == pytest.approx(np.mean(kept) / mu, rel=0.1)
    assert fit.theory_.mean() == pytest.approx(1.0, rel=0.1)  # plotted in mean-1 units
    df = fit.to_frame()
    assert list(df.index) == ["g_eff", "kappa", "scale"]
    assert df.loc["g_eff", "estimate"] == fit.g_eff_
    assert df.attrs["n_neurons"] == 150
    comp = fit.comparison_
    assert comp.shape[0] == 2 and {"cost_cvm", "p_value"} <= set(comp.columns)
    assert comp["cost_cvm"].iloc[1] == fit.null_cost_
    text = fit.report()
    for piece in ("N = 150", "alpha", "g_eff = ", "CI", "Marchenko-Pastur", "dropped top modes",
                  "interpretation"):
        assert piece in text


@pytest.mark.parametrize("kind", ["rank", "cdf", "density"])
def test_plot_returns_axes(fitted, kind):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ax = fitted.plot(kind=kind)
    assert ax.get_lines() or ax.patches
    plt.close(ax.figure)


def test_block_bootstrap_is_conditional_on_the_network():
    rng = np.random.default_rng(9)
    X = linear_activity(120, 0.8, 1200, rng)
    block = GainFit(bootstrap="block", n_boot=40, random_state=0).fit(X)
    network = GainFit(bootstrap="network", n_boot=40, random_state=0).fit(X)
    assert block.block_size_ >= 1
    assert np.isfinite(block.g_eff_stderr_)
    # time resampling cannot see network-to-network variability, which dominates at g = 0.8
    assert block.g_eff_stderr_ < network.g_eff_stderr_


def test_warnings():
    # a spectrum far broader than any stable network's
    ev = np.geomspace(1e-3, 1e5, 200)
    with pytest.warns(GainFitWarning, match="upper bound"):
        fit = GainFit(n_boot=20, drop_top=0, random_state=0).fit(ev, alpha=0.1)
    assert fit.g_eff_ci_[1] == 1.0  # censored at the edge of stability: only a lower limit
    assert "upper bound" in fit.report() and "lower limit" in fit.report()
    near = GainFit(n_boot=0).fit(LinearSpectrum(0.95).sampled(0.1).rank_curve(400), alpha=0.1)
    assert "upper bound" not in near.report() and "g_eff near 1" in near.report()
    with pytest.warns(GainFitWarning, match="n_boot=20"):
        GainFit(n_boot=20, random_state=0).fit(
            LinearSpectrum(0.5).sampled(0.3).rank_curve(100), alpha=0.3)


# ------------------------------------------------------------------------------ window ladder
def ar_network(n, g, T, dt, rng):
    """Discrete-time linear network x[t+1] = x[t] + dt (-x + J x) + sqrt(dt) xi, one bin per step.

    Its zero-frequency covariance is proportional to (I - J)^-1 (I - J)^-T, and its slowest
    mode relaxes in about 1 / (dt (1 - g)) steps.
    """
    J = rng.standard_normal((n, n)) * (g / math.sqrt(n))
    A = np.eye(n) + dt * (J - np.eye(n))
    noise = rng.standard_normal((T, n)) * math.sqrt(dt)
    X = np.empty((T, n))
    x = np.zeros(n)
    for _ in range(int(5 / (dt * (1 - g)))):  # burn in
        x = A @ x + rng.standard_normal(n) * math.sqrt(dt)
    for t in range(T):
        x = A @ x + noise[t]
        X[t] = x
    return X


def test_window_ladder_rises_and_converges():
    rng = np.random.default_rng(10)
    X = ar_network(60, 0.6, 24000, 0.25, rng)  # slowest time ~ 10 steps
    with warnings.catch_warnings():
        warnings.simplefilter("error", WindowConvergenceWarning)
        df = window_ladder(X, windows=[1, 4, 16, 64, 128], n_boot=30, random_state=0)
    assert list(df.columns[:4]) == ["window", "window_s", "n_windows", "alpha"]
    g = df.g_eff.to_numpy()
    assert g[0] < g[-1] - 0.05  # one-step bins read g far too low
    assert abs(g[-1] - 0.6) < 0.05
    assert df.attrs["converged"]


def test_window_ladder_warns_when_too_short():
    rng = np.random.default_rng(12)
    X = ar_network(60, 0.8, 4000, 0.1, rng)  # slowest time ~ 50 steps
    with pytest.warns(WindowConvergenceWarning, match="not converged.*still rises"):
        df = window_ladder(X, windows=[1, 4, 16], n_boot=30, random_state=0)
    assert not df.attrs["converged"]
    with pytest.raises(ParameterError, match="window"):
        window_ladder(X, window=4)


def test_window_ladder_reports_a_fall_and_its_units():
    # fast structure that cancels in windows of 2 (z repeated in pairs, alternating sign):
    # at window 1 it broadens the spectrum, at window 2 it is gone, so g_eff *falls*; the
    # estimate depends on the window either way, and the message says which way and where
    rng = np.random.default_rng(13)
    n, T = 80, 8000
    X = linear_activity(n, 0.5, T, rng)
    Z = np.repeat(linear_activity(n, 0.9, T // 2, rng), 2, axis=0)
    X += Z * np.where(np.arange(T) % 2 == 0, 1.0, -1.0)[:, None]
    with pytest.warns(WindowConvergenceWarning, match="It falls"):
        df = window_ladder(X, windows=[1, 2], n_boot=20, random_state=0, bin_size=0.05)
    assert df.g_eff.iloc[1] < df.g_eff.iloc[0] - 0.02
    assert not df.attrs["converged"]
    assert "1 and 2 bins (0.05 and 0.1 s)" in df.attrs["message"]


def test_dropped_slow_mode_does_not_shrink_effective_samples():
    # independent samples of a linear network plus one strong, slow shared mode (AR(1),
    # correlation time 200 samples): the fit drops the mode, and alpha must be N / T of the
    # bulk it fits, not the much larger value the slow mode's autocorrelation would imply
    rng = np.random.default_rng(14)
    n, g, T = 120, 0.6, 3000
    X = linear_activity(n, g, T, rng)
    a = 0.995
    s = np.zeros(T)
    e = rng.standard_normal(T) * math.sqrt(1 - a * a)
    for t in range(1, T):
        s[t] = a * s[t - 1] + e[t]
    u = rng.standard_normal(n)
    X += 30.0 * np.outer(s, u / np.linalg.norm(u))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the whole-activity autocorrelation warning is resolved
        fit = GainFit(n_boot=0).fit(X)
    assert fit.n_dropped_ >= 1
    assert abs(fit.alpha_ / (n / T) - 1) < 0.1
    assert abs(fit.g_eff_ - g) < 0.04
    clean = GainFit(n_boot=0).fit(X[:, :] - 30.0 * np.outer(s, u / np.linalg.norm(u)))
    assert abs(clean.alpha_ - fit.alpha_) < 0.1 * clean.alpha_


def test_held_spectrum_warning_survives_a_later_error():
    # a random walk never decorrelates (SpectrumWarning, held while the fit decides what it
    # drops); with 5 neurons the fit then fails: the warning must still reach the user
    from neurospec.spectrum import SpectrumWarning

    X = np.cumsum(np.random.default_rng(16).standard_normal((2000, 5)), axis=0)
    with pytest.warns(SpectrumWarning, match="has not decayed"):
        with pytest.raises(FitError, match="nonzero eigenvalues"):
            GainFit(n_boot=0).fit(X)


def test_interpretation_rejects_null_at_the_bootstrap_floor():
    """With n_boot = 30 the smallest p is 1/31 > 0.01; a spectrum far from the null must still
    be reported as rejecting it, not as 'consistent with independent neurons'."""
    rng = np.random.default_rng(7)
    n, t = 200, 1000
    j = 0.7 * rng.standard_normal((n, n)) / np.sqrt(n)
    x = np.linalg.solve(np.eye(n) - j, rng.standard_normal((n, t))).T
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        gf = GainFit(n_boot=30, random_state=0).fit(x)
    assert gf.p_value_null_ == pytest.approx(1 / 31)
    text = gf.report().split('interpretation: ')[1]
    assert "null rejected, p <= 0.032" in text
    assert "consistent with independent neurons" not in text
