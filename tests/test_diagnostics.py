"""Tests of neurospec.diagnostics: shuffle control, moment estimate, split halves, comparisons,
protocol presets.

Numbers are checked against independent routes: circular shifts against ``np.roll``, the moment
estimate against the participation ratio computed by hand (and Dahmen et al.'s dispersion
formula, and the free-compression formula for subsampling), the comparison's p-value against
the normal-theory value for Gaussian replicates, and calibration against repeated simulation.
Simulated activity has independent samples (direct sampling from C = (I-J)^-1 (I-J)^-T) so the
tests check this module's logic, not the fit's model of autocorrelation.
"""

import math
import warnings
from types import SimpleNamespace

import numpy as np
import pytest
from scipy import stats

from neurospec import GainFit, Recording
from neurospec.diagnostics import (
    Comparison,
    MomentEstimate,
    compare,
    control_fit,
    format_checks,
    g_from_participation_ratio,
    moment_agreement,
    moment_estimate,
    protocol_fit,
    protocol_params,
    run_checks,
    shift_control,
    split_half,
)
from neurospec.errors import DataValueError, FitError, NeurospecError, ParameterError, ShapeError

from _rmt import linear_samples


@pytest.fixture(autouse=True)
def _quiet_small_boot():
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="GainFit: n_boot=")
        yield


# ---------------------------------------------------------------------------- shift control
def test_shift_control_rolls_each_neuron_by_its_own_lag():
    rng = np.random.default_rng(3)
    X = rng.standard_normal((50, 6))
    Y = shift_control(X, random_state=7)
    lags = np.random.default_rng(7).integers(0, 50, size=6)  # the documented draw
    for j in range(6):
        np.testing.assert_array_equal(Y[:, j], np.roll(X[:, j], lags[j]))
    np.testing.assert_array_equal(shift_control(X, random_state=7), Y)  # reproducible
    assert not np.array_equal(shift_control(X, random_state=8), Y)


def test_shift_control_keeps_autocorrelation_and_removes_interactions():
    rng = np.random.default_rng(0)
    T, N = 4000, 30
    shared = np.zeros(T)
    for t in range(1, T):  # a slow shared AR(1) signal drives every neuron
        shared[t] = 0.9 * shared[t - 1] + rng.standard_normal()
    X = shared[:, None] + 0.5 * rng.standard_normal((T, N))
    Y = shift_control(X, random_state=1)

    def circular_acf(x, k):
        x = x - x.mean()
        return float(np.dot(x, np.roll(x, k)) / np.dot(x, x))

    for j in (0, 17):
        for k in (1, 5):
            assert circular_acf(Y[:, j], k) == pytest.approx(circular_acf(X[:, j], k), abs=1e-12)
    off = ~np.eye(N, dtype=bool)
    assert np.corrcoef(X.T)[off].mean() > 0.8
    assert abs(np.corrcoef(Y.T)[off].mean()) < 0.1


def test_shift_control_of_a_recording_records_provenance():
    X = np.random.default_rng(0).standard_normal((40, 5))
    rec = Recording(X, 0.1, meta={"source": "x.npy", "preprocessing": ["loaded"]})
    out = shift_control(rec, random_state=2)
    assert isinstance(out, Recording)
    assert out.bin_size == 0.1 and out.meta["source"] == "x.npy"
    assert out.meta["preprocessing"][0] == "loaded"
    assert "shift control" in out.meta["preprocessing"][-1]
    assert len(out.meta["shift_control"]["lags"]) == 5
    assert rec.meta["preprocessing"] == ["loaded"]  # the input is untouched
    np.testing.assert_array_equal(out.activity, shift_control(X, random_state=2))


def test_shift_control_rejects_bad_input():
    with pytest.raises(ShapeError, match="2-D"):
        shift_control(np.zeros(10))
    with pytest.raises(NeurospecError):
        shift_control("not activity")


def test_control_fit_null_holds_and_data_differ():
    X = linear_samples(80, 1600, 0.6, seed=4)
    gf = GainFit(n_boot=60, random_state=0, kind="correlation").fit(X)
    ctl = control_fit(X, data_fit=gf, random_state=1, n_boot=60, kind="correlation")
    assert ctl.fit.kind_ == "correlation"
    assert ctl.null_holds and ctl.p_value_null >= 0.05
    assert ctl.g_eff < 0.2
    assert ctl.differs is True and ctl.comparison.difference > 0.3
    d = ctl.to_dict()
    assert d["null_holds"] and d["differs"] and "differ from their control" in d["summary"]


def test_control_of_a_covariance_sees_unequal_variances():
    # independent neurons with very unequal variances: no interactions, yet a covariance
    # spectrum broader than the null; the control reproduces it, so data ~ control
    rng = np.random.default_rng(6)
    X = rng.standard_normal((1600, 80)) * np.exp(rng.normal(0, 0.6, 80))
    gf = GainFit(n_boot=60, random_state=0).fit(X)
    ctl = control_fit(X, data_fit=gf, random_state=1, n_boot=60)
    assert gf.p_value_null_ < 0.05 and not ctl.null_holds
    assert "REJECTED" in ctl.summary()
    assert ctl.differs is False


# ---------------------------------------------------------------------------- moment estimate
def test_g_from_participation_ratio_inverts_the_theory():
    for g, pr_n in ((0.5, 0.5625), (0.8, 0.1296), (0.9, 0.0361)):  # science.md §7 item 3
        assert g_from_participation_ratio(pr_n * 400, 400) == pytest.approx(g, abs=1e-12)
    np.testing.assert_allclose(g_from_participation_ratio(np.array([0.5625, 0.1296]) * 10, 10),
                               [0.5, 0.8])
    assert g_from_participation_ratio(400.0, 400) == 0.0  # no broadening
    assert g_from_participation_ratio(410.0, 400) == 0.0
    assert math.isnan(g_from_participation_ratio(float("nan"), 400))
    with pytest.raises(ParameterError):
        g_from_participation_ratio(10.0, 20, fraction=1.5)


@pytest.mark.parametrize("g, f", [(0.5, 0.25), (0.8, 0.5), (0.9, 0.1)])
def test_g_from_participation_ratio_with_a_recorded_fraction(g, f):
    # free compression (science.md §4): 1/PR_M = 1/M + 1/PR_N - 1/N, with PR_N/N = (1-g^2)^2
    N = 4000
    M = f * N
    pr_m = 1.0 / (1.0 / M + 1.0 / (N * (1 - g * g) ** 2) - 1.0 / N)
    assert g_from_participation_ratio(pr_m, M, fraction=f) == pytest.approx(g, abs=1e-9)


def test_moment_estimate_equals_dahmen_dispersion_estimate():
    # Dahmen et al. 2019: R^2 = 1 - sqrt(1 / (1 + N Delta^2)), N Delta^2 = N var(c_ij)/mean(c_ii)^2
    N, g = 1500, 0.6
    rng = np.random.default_rng(5)
    J = g * rng.standard_normal((N, N)) / math.sqrt(N)
    A = np.linalg.inv(np.eye(N) - J)
    C = A @ A.T
    off = C[~np.eye(N, dtype=bool)]
    n_delta2 = N * off.var() / np.mean(np.diag(C)) ** 2
    r_dahmen = math.sqrt(1 - math.sqrt(1 / (1 + n_delta2)))
    pr = np.trace(C) ** 2 / np.sum(C * C)
    g_pr = g_from_participation_ratio(pr, N)
    assert g_pr == pytest.approx(r_dahmen, abs=0.01)
    assert g_pr == pytest.approx(g, abs=0.02)


def test_moment_estimate_point_value_matches_a_hand_computation():
    X = linear_samples(60, 500, 0.5, seed=1)
    n = X.shape[0] - 1  # independent samples, centred
    lam = np.linalg.eigvalsh(np.cov(X, rowvar=False))
    A, B = lam.sum() ** 2, np.sum(lam**2)
    b = n * (n * B - A) / ((n + 2) * (n - 1))
    a = A - 2 * b / n
    g_hand = math.sqrt(1 - math.sqrt(a / b / 60))
    from neurospec import CovarianceSpectrum

    spec = CovarianceSpectrum(n_samples_eff=500).fit(X)  # known independent samples
    m = moment_estimate(spec, n_boot=0)
    assert m.g == pytest.approx(g_hand, rel=1e-9)
    assert m.participation_ratio == pytest.approx(spec.participation_ratio_corrected_, rel=1e-9)
    assert m.n_dropped == 0 and math.isnan(m.ci[0]) and m.bootstrap.size == 0


def test_moment_estimate_from_a_fit_uses_its_dropped_modes():
    X = linear_samples(80, 1200, 0.5, seed=2)
    X = X + 4.0 * np.random.default_rng(9).standard_normal((1200, 1)) * np.ones(80)  # global mode
    gf = GainFit(n_boot=0).fit(X)
    assert gf.n_dropped_ >= 1
    m = moment_estimate(gf, n_boot=40, random_state=0)
    assert m.n_dropped == gf.n_dropped_ and m.kind == "covariance"
    all_modes = moment_estimate(gf, drop_top=0, n_boot=0)
    assert all_modes.g > m.g + 0.2  # the global mode alone makes the spectrum look broad
    assert abs(m.g - 0.5) < 3 * m.stderr and m.stderr < 0.05


def test_moment_estimate_interval_is_calibrated_on_simulated_networks():
    # 30 networks; nominal 90 % -> expect 27 covered (binomial s.d. 1.6). Replicates at g_hat
    # alone (reflected or bias-corrected percentile intervals) covered 0.57-0.80 at g >= 0.6
    # in our runs: bias, spread and skew change with g, which the inverted test follows
    g, N, T = 0.7, 80, 800
    covered, est, se = 0, [], []
    for seed in range(30):
        m = moment_estimate(linear_samples(N, T, g, 100 + seed), n_boot=100, random_state=seed)
        covered += m.ci[0] <= g <= m.ci[1]
        est.append(m.g)
        se.append(m.stderr)
    assert covered >= 22, covered
    assert np.mean(se) == pytest.approx(np.std(est), rel=0.5)


def test_moment_estimate_samples_bootstrap_and_errors():
    X = linear_samples(50, 800, 0.4, seed=3)
    m = moment_estimate(X, n_boot=30, bootstrap="samples", random_state=0)
    assert m.bootstrap_method == "samples" and m.bootstrap.size == 30
    assert m.ci[0] < m.g < m.ci[1]
    with pytest.raises(ParameterError, match="bootstrap"):
        moment_estimate(X, bootstrap="block")
    with pytest.raises(ParameterError, match="drop_top"):
        moment_estimate(X, drop_top=49)
    with pytest.raises(ParameterError, match="n_boot"):
        moment_estimate(X, n_boot=-1)


def test_moment_agreement_logic():
    fit = SimpleNamespace(g_eff_=0.60, g_eff_stderr_=0.03, ci=0.9)
    m = MomentEstimate(g=0.66, ci=(0.6, 0.7), stderr=0.04, participation_ratio=20.0,
                       n_neurons=100, n_dof=1000.0, n_dropped=0, fraction=None,
                       kind="covariance", ci_level=0.9, bootstrap=np.zeros(2))
    out = moment_agreement(fit, m)
    assert out["z"] == pytest.approx(0.06 / 0.05)
    assert out["p_value"] == pytest.approx(2 * stats.norm.sf(1.2))
    assert out["agree"] is True
    m.g = 0.70  # z = 2 -> p = 0.046 < 0.1
    assert moment_agreement(fit, m)["agree"] is False
    assert moment_agreement(fit, m, level=0.99)["agree"] is True
    fit.g_eff_stderr_ = float("nan")
    assert moment_agreement(fit, m)["agree"] is None


def test_moment_and_shape_fit_agree_on_the_theory_and_not_on_heterogeneous_neurons():
    N, T = 150, 3000
    X = linear_samples(N, T, 0.4, seed=0)
    gf = GainFit(n_boot=60, random_state=0).fit(X)
    assert moment_agreement(gf, moment_estimate(gf, n_boot=60, random_state=0))["agree"]
    # half the neurons with 3x the variance: not the theory's shape; the two estimates part
    Xh = X * np.sqrt(np.where(np.arange(N) < N // 2, 1.0, 3.0))
    gh = GainFit(n_boot=60, random_state=0).fit(Xh)
    out = moment_agreement(gh, moment_estimate(gh, n_boot=60, random_state=0))
    assert out["agree"] is False and "DISAGREE" in out["summary"]


# ---------------------------------------------------------------------------- compare
def fake_fit(g_hat, s, B, rng, method="network"):
    boot = g_hat + s * rng.standard_normal(B)
    return SimpleNamespace(g_eff_=g_hat, bootstrap_=boot, ci=0.9, bootstrap_method_=method,
                           g_eff_ci_=(g_hat - 1.645 * s, g_hat + 1.645 * s))


def test_compare_matches_normal_theory_for_gaussian_replicates():
    rng = np.random.default_rng(0)
    s = 0.02
    a, b = fake_fit(0.60, s, 400, rng), fake_fit(0.55, s, 400, rng)
    c = compare(a, b, labels=("before", "after"))
    sd = s * math.sqrt(2)
    assert c.difference == pytest.approx(0.05)
    assert c.difference_ci[0] == pytest.approx(0.05 - 1.645 * sd, abs=0.006)
    assert c.difference_ci[1] == pytest.approx(0.05 + 1.645 * sd, abs=0.006)
    assert c.p_value == pytest.approx(2 * stats.norm.sf(0.05 / sd), abs=0.02)
    assert c.differ  # p ~ 0.077 < 0.1
    df = c.to_frame()
    assert list(df.index) == ["before", "after", "before - after"]
    assert df.loc["before - after", "p_value"] == pytest.approx(c.p_value)
    assert c.to_dict()["labels"] == ["before", "after"]


def test_compare_p_value_is_uniform_under_equal_gain_and_detects_a_difference():
    # repeated experiments: estimates scatter about the truth with s.d. s, and each fit's
    # replicates scatter about its estimate the same way (what a calibrated bootstrap gives)
    rng = np.random.default_rng(1)
    s, B = 0.03, 100
    p_same, p_diff = [], []
    for _ in range(400):
        ga, gb = 0.5 + s * rng.standard_normal(2)
        p_same.append(compare(fake_fit(ga, s, B, rng), fake_fit(gb, s, B, rng)).p_value)
        gc = 0.65 + s * rng.standard_normal()
        p_diff.append(compare(fake_fit(ga, s, B, rng), fake_fit(gc, s, B, rng)).p_value)
    p_same = np.array(p_same)
    assert 0.06 <= np.mean(p_same < 0.1) <= 0.14
    assert 0.02 <= np.mean(p_same < 0.05) <= 0.08
    assert stats.kstest(p_same, "uniform").pvalue > 0.01
    # 0.15 apart at combined s.d. s sqrt(2): the normal-theory power of the 5 % test
    z = 0.15 / (s * math.sqrt(2))
    power = stats.norm.sf(1.96 - z) + stats.norm.cdf(-1.96 - z)
    assert np.mean(np.array(p_diff) < 0.05) == pytest.approx(power, abs=0.04)


def test_compare_needs_replicates_and_warns_on_mixed_bootstraps():
    rng = np.random.default_rng(2)
    with pytest.raises(FitError, match="n_boot"):
        compare(fake_fit(0.5, 0.01, 1, rng), fake_fit(0.5, 0.01, 50, rng))
    with pytest.warns(UserWarning, match="different bootstraps"):
        compare(fake_fit(0.5, 0.01, 50, rng), fake_fit(0.5, 0.01, 50, rng, method="samples"))
    c = compare(fake_fit(0.5, 0.01, 20, rng), fake_fit(0.9, 0.01, 20, rng))
    assert c.p_value == pytest.approx(1 / 21)  # the floor: no replicate pair is that extreme
    assert "p <= " in c.summary()


def test_compare_fits_activity_and_detects_different_gains():
    a = linear_samples(80, 1600, 0.3, seed=10)
    b = linear_samples(80, 1600, 0.7, seed=11)
    c = compare(a, b, n_boot=60, random_state=0)
    assert isinstance(c, Comparison) and c.differ and c.difference < -0.3
    assert c.difference_ci[0] < c.difference < c.difference_ci[1] < 0
    same = compare(linear_samples(80, 1600, 0.5, seed=12), linear_samples(80, 1600, 0.5, 13),
                   n_boot=60, random_state=0)
    assert not same.differ and same.difference_ci[0] < 0 < same.difference_ci[1]


# ---------------------------------------------------------------------------- split halves
def test_split_half_fits_the_two_halves():
    X = linear_samples(60, 1200, 0.5, seed=20)
    sh = split_half(X, n_boot=40, random_state=0)
    assert sh.agree and sh.first.info_["n_samples"] == 600
    assert sh.first.bootstrap_method_ == "samples"
    # point estimates equal those of independent fits of the two halves
    assert sh.first.g_eff_ == pytest.approx(GainFit(n_boot=0).fit(X[:600]).g_eff_, abs=1e-9)
    assert sh.second.g_eff_ == pytest.approx(GainFit(n_boot=0).fit(X[600:]).g_eff_, abs=1e-9)
    assert sh.comparison.difference == pytest.approx(sh.first.g_eff_ - sh.second.g_eff_)
    d = sh.to_dict()
    assert d["agree"] and d["n_samples"] == [600, 600] and "agree" in d["summary"]


def test_split_half_flags_a_non_stationary_recording():
    X = np.vstack([linear_samples(60, 800, 0.3, seed=21), linear_samples(60, 800, 0.75, 22)])
    sh = split_half(Recording(X, 0.05), n_boot=40, random_state=0)
    assert not sh.agree and sh.comparison.difference < -0.3
    assert "DISAGREE" in sh.summary()


def test_split_half_of_a_large_recording_fits_a_subset_of_neurons():
    # independent route: the halves' point estimates equal plain GainFits of the same columns
    # with fraction = M / N, and (the number the subset must get right) read the network's g;
    # the same columns fitted as a whole network (fraction 1) read it far too low
    X = linear_samples(400, 4000, 0.6, seed=23)
    sh = split_half(X, n_boot=40, random_state=0, max_neurons=150)
    cols = sh.neurons
    assert cols.shape == (150,) and np.all(np.diff(cols) > 0) and sh.n_neurons == 400
    assert sh.first.fraction == pytest.approx(150 / 400)
    ref = GainFit(n_boot=0, fraction=150 / 400).fit(X[:2000, cols])
    assert sh.first.g_eff_ == pytest.approx(ref.g_eff_, abs=1e-9)
    for half in (sh.first, sh.second):
        assert abs(half.g_eff_ - 0.6) < 0.02
    assert GainFit(n_boot=0).fit(X[:2000, cols]).g_eff_ < 0.5
    d = sh.to_dict()
    assert d["n_neurons"] == 400 and d["neurons_used"] == 150
    assert sh.summary().startswith("150 of 400 neurons")
    # a fraction the user gave is scaled by M / N; below the limit all neurons are used
    sub = split_half(X[:, :200], n_boot=20, random_state=0, max_neurons=100, fraction=0.5)
    assert sub.first.fraction == pytest.approx(0.25)
    full = split_half(X[:, :100], n_boot=20, random_state=0, max_neurons=100)
    assert full.neurons is None and full.to_dict()["neurons_used"] == 100


def test_split_half_reads_the_columns_of_a_lazy_recording(tmp_path):
    from neurospec.io import open_lazy

    X = linear_samples(120, 1600, 0.5, seed=24)
    np.save(tmp_path / "x.npy", X)
    with open_lazy(tmp_path / "x.npy", bin_size=1.0) as lazy:
        sh = split_half(lazy, n_boot=20, random_state=3, max_neurons=60)
    ref = split_half(X, n_boot=20, random_state=3, max_neurons=60)
    np.testing.assert_array_equal(sh.neurons, ref.neurons)
    assert sh.first.g_eff_ == pytest.approx(ref.first.g_eff_, abs=1e-12)
    assert sh.comparison.p_value == pytest.approx(ref.comparison.p_value)
    X[5, 7] = np.nan
    np.save(tmp_path / "nan.npy", X)
    with open_lazy(tmp_path / "nan.npy", bin_size=1.0) as lazy, \
            pytest.raises(DataValueError, match="NaN"):
        split_half(lazy, n_boot=20, max_neurons=None)


@pytest.mark.parametrize("bad", [10, 2.5, True, "all"])
def test_split_half_rejects_a_bad_max_neurons(bad):
    with pytest.raises(ParameterError, match="max_neurons"):
        split_half(np.zeros((200, 60)), max_neurons=bad)


# ---------------------------------------------------------------------------- protocols
def test_protocol_params_hu_sompolinsky():
    X = np.zeros((1200, 300))
    p = protocol_params("hu-sompolinsky", X)
    assert p == dict(kind="correlation", drop_top=1, alpha=0.25, scale="mean", cost="cvm",
                     model="iid")
    assert protocol_params("hu-sompolinsky", X, window=4)["alpha"] == 300 / 300
    assert protocol_params("default") == {}
    with pytest.raises(ParameterError, match="not known"):
        protocol_params("hs")
    with pytest.raises(ParameterError, match="data"):
        protocol_params("hu-sompolinsky")


def test_protocol_fit_reproduces_the_reference_settings():
    X = linear_samples(100, 1000, 0.6, seed=30)
    gf = protocol_fit(X, n_boot=20, random_state=0)
    assert gf.kind_ == "correlation" and gf.n_dropped_ == 1 and gf.scale == "mean"
    assert gf.alpha_ == pytest.approx(0.1)
    # the reference divides by the mean: the fitted theory is on the mean-normalised scale
    ref = GainFit(kind="correlation", drop_top=1, alpha=0.1, scale="mean", n_boot=20,
                  random_state=0).fit(X)
    assert gf.g_eff_ == pytest.approx(ref.g_eff_, abs=1e-9)
    assert abs(gf.g_eff_ - 0.6) < 0.1


# ---------------------------------------------------------------------------- report helpers
def test_run_checks_and_format_checks():
    X = linear_samples(60, 1200, 0.5, seed=40)
    gf = GainFit(n_boot=30, random_state=0).fit(X)
    checks, objects = run_checks(X, gf, control="shift", n_boot=30)
    assert set(objects) == {"moment", "split_half", "control"}
    assert checks["errors"] == []
    assert checks["moment"]["agree"] in (True, False)
    rows = dict(format_checks(checks))
    assert set(rows) == {"shift control", "moment estimate", "split halves"}
    assert "null" in rows["shift control"]
    with pytest.raises(ParameterError, match="control"):
        run_checks(X, gf, control="phase", split=False, moment=False)
    # a check that cannot run is reported, not raised
    checks, _ = run_checks(X[:6], gf, split=True, moment=False, n_boot=5)
    assert checks["split_half"] is None and checks["errors"][0].startswith("split-half")


def test_split_half_falls_back_to_the_network_bootstrap(monkeypatch):
    import neurospec.diagnostics as diag

    calls = []

    def fake_fit_gain(part, seed, params):
        calls.append(params["bootstrap"])
        rng = np.random.default_rng(seed % 2**32)
        boot = (np.zeros(20) if params["bootstrap"] == "samples"  # degenerate replicates
                else 0.5 + 0.01 * rng.standard_normal(20))
        return SimpleNamespace(g_eff_=0.5, g_eff_ci_=(0.48, 0.52), bootstrap_=boot, ci=0.9,
                               bootstrap_method_=params["bootstrap"],
                               info_={"n_samples": part.shape[0]})

    monkeypatch.setattr(diag, "_fit_gain", fake_fit_gain)
    with pytest.warns(UserWarning, match="identical replicates"):
        sh = diag.split_half(np.zeros((100, 5)), n_boot=20)
    assert calls == ["samples", "network", "samples", "network"]
    assert sh.first.bootstrap_method_ == "network" and sh.agree


def test_split_half_summary_has_the_digits_of_its_standard_errors():
    from neurospec.diagnostics import SplitHalf

    NS = SimpleNamespace
    comp = NS(difference=-0.00041, difference_ci=(-0.0011, 0.00032), differ=False,
              p_value=0.4, p_floor=0.01)
    half = NS(g_eff_=0.50012, g_eff_ci_=(0.4997, 0.5006), g_eff_stderr_=0.00027)
    text = SplitHalf(first=half, second=half, comparison=comp).summary()
    assert text.startswith("first half 0.5001 [0.4997, 0.5006]")
    assert "difference -0.0004 [-0.0011, 0.0003]" in text
