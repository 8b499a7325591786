"""Tests of neurospec.plotting: every figure draws the data and theory it claims to draw.

Theory objects are duck-typed, so most tests use frozen ``scipy.stats`` distributions as
independent stand-ins whose pdf/cdf/ppf are known exactly; the last tests use neurospec's own
theory when it is importable.
"""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from scipy import stats

from neurospec import plotting
from neurospec.errors import DataValueError, ParameterError, ShapeError


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture
def eigs():
    # eigenvalues of a sample covariance: a bulk plus one large (global) mode
    rng = np.random.default_rng(1)
    X = rng.standard_normal((600, 120)) + 2.0 * rng.standard_normal((600, 1))
    return np.linalg.eigvalsh(np.cov(X, rowvar=False))


@pytest.fixture
def theory():
    return stats.lognorm(s=0.6, scale=np.exp(-0.18))  # mean exp(-0.18 + 0.18) = 1


def _line(ax, label):
    for line in ax.get_lines():
        if line.get_label() == label:
            return line
    raise AssertionError(f"no line labelled {label!r}: {[l.get_label() for l in ax.get_lines()]}")


# ---------------------------------------------------------------------------- rank plot
def test_rank_plot_draws_sorted_normalised_data_and_theory(eigs, theory):
    ax = plotting.rank_plot(eigs, theory, null=stats.expon())
    assert isinstance(ax, matplotlib.axes.Axes)
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    data = _line(ax, "data")
    expected = np.sort(eigs)[::-1] / eigs.mean()
    np.testing.assert_allclose(data.get_ydata(), expected, rtol=1e-12)
    np.testing.assert_array_equal(data.get_xdata(), np.arange(1, eigs.size + 1))
    th = _line(ax, "theory")
    k = np.asarray(th.get_xdata())
    np.testing.assert_allclose(th.get_ydata(), theory.ppf(1 - (k - 0.5) / eigs.size), rtol=1e-12)
    null = _line(ax, "Marchenko–Pastur null")
    assert null.get_linestyle() == "--"
    assert ax.get_legend() is not None
    assert "rank" in ax.get_xlabel() and "lambda" in ax.get_ylabel()


def test_rank_plot_drop_top_normalises_by_the_kept_modes(eigs, theory):
    ax = plotting.rank_plot(eigs, {"fit": theory}, drop_top=1)
    lam = np.sort(eigs)[::-1]
    kept_mean = lam[1:].mean()
    np.testing.assert_allclose(_line(ax, "data").get_ydata(), lam[1:] / kept_mean)
    np.testing.assert_array_equal(_line(ax, "data").get_xdata(), np.arange(2, lam.size + 1))
    np.testing.assert_allclose(_line(ax, "dropped top mode (1)").get_ydata(), lam[:1] / kept_mean)
    # theory rank curve for the n - 1 kept eigenvalues
    n = lam.size - 1
    k = np.arange(1, n + 1)
    np.testing.assert_allclose(_line(ax, "fit").get_ydata(), theory.ppf(1 - (k - 0.5) / n))


def test_rank_plot_uses_rank_curve_when_available(eigs):
    class WithRankCurve:
        def pdf(self, x):
            return np.ones_like(x)

        def rank_curve(self, n):
            return np.linspace(5.0, 0.5, n)

    ax = plotting.rank_plot(eigs, WithRankCurve())
    np.testing.assert_allclose(_line(ax, "theory").get_ydata(), np.linspace(5.0, 0.5, eigs.size))


def test_rank_plot_skips_zero_eigenvalues_on_log_axes(theory):
    lam = np.r_[np.zeros(5), np.linspace(0.5, 2.0, 20)]
    ax = plotting.rank_plot(lam, theory)
    y = _line(ax, "data").get_ydata()
    assert y.size == 20 and np.all(y > 0)
    np.testing.assert_allclose(y, np.linspace(0.5, 2.0, 20)[::-1] / lam.mean())


def test_rank_plot_draws_into_given_axes(eigs):
    fig, ax = plt.subplots()
    assert plotting.rank_plot(eigs, ax=ax) is ax
    assert _line(ax, "data").get_ydata().size == eigs.size


def test_rank_plot_raw_scale(eigs):
    ax = plotting.rank_plot(eigs, normalize=False)
    np.testing.assert_allclose(_line(ax, "data").get_ydata(), np.sort(eigs)[::-1])


# ---------------------------------------------------------------------------- density
def test_density_plot_histogram_is_a_density_and_theory_is_pdf(eigs, theory):
    ax = plotting.density_plot(eigs, theory, null=stats.expon(), bins=20, drop_top=1)
    assert ax.get_xscale() == "log"
    step = [p for p in ax.patches if isinstance(p, matplotlib.patches.StepPatch)][0]
    values, edges = step.get_data()[0], step.get_data()[1]
    assert edges.size == 21
    np.testing.assert_allclose(np.diff(np.log(edges)), np.log(edges[1] / edges[0]))  # log bins
    x = np.sort(eigs)[::-1][1:]
    x = x / x.mean()
    counts = np.array([np.sum((x >= a) & (x < b)) for a, b in zip(edges[:-1], edges[1:])])
    counts[-1] += np.sum(x == edges[-1])
    np.testing.assert_allclose(values, counts / (x.size * np.diff(edges)))
    np.testing.assert_allclose(np.sum(values * np.diff(edges)), 1.0)
    th = _line(ax, "theory")
    np.testing.assert_allclose(th.get_ydata(), theory.pdf(th.get_xdata()), rtol=1e-12)
    # the grid covers the data range
    assert th.get_xdata().min() <= x.min() and th.get_xdata().max() >= x.max()
    null = _line(ax, "Marchenko–Pastur null")
    np.testing.assert_allclose(null.get_ydata(), stats.expon().pdf(null.get_xdata()))


def test_density_plot_grid_covers_theory_support(eigs):
    wide = stats.uniform(loc=0.01, scale=50.0)  # support [0.01, 50.01] well beyond the data
    ax = plotting.density_plot(eigs, wide, drop_top=1)
    x = _line(ax, "theory").get_xdata()
    assert x.min() < 0.0101 and x.max() > 50.0


def test_density_plot_explicit_edges_and_linear_y(eigs, theory):
    edges = np.geomspace(0.1, 10, 9)
    ax = plotting.density_plot(eigs, theory, bins=edges, yscale="linear", drop_top=1)
    step = [p for p in ax.patches if isinstance(p, matplotlib.patches.StepPatch)][0]
    np.testing.assert_allclose(step.get_data()[1], edges)
    assert ax.get_yscale() == "linear"


# ---------------------------------------------------------------------------- CDF
def test_cdf_distances_match_scipy(theory):
    rng = np.random.default_rng(3)
    x = theory.rvs(size=400, random_state=rng) * 1.1  # slightly off, so distances are non-zero
    ks, cvm = plotting.empirical_cdf_distances(x, theory)
    assert ks == pytest.approx(stats.kstest(x, theory.cdf).statistic, rel=1e-12)
    # scipy's statistic is W^2 = n * (mean squared CDF difference)
    assert cvm * x.size == pytest.approx(stats.cramervonmises(x, theory.cdf).statistic, rel=1e-10)


def test_cdf_plot_draws_empirical_and_theory_cdf(eigs, theory):
    ax = plotting.cdf_plot(eigs, theory, drop_top=1, null=stats.expon())
    x = np.sort(np.sort(eigs)[::-1][1:])
    x = x / x.mean()
    data = _line(ax, "data")
    # step: starts at 0 left of the smallest value, reaches 1 at the largest
    np.testing.assert_allclose(data.get_xdata()[1:], x)
    np.testing.assert_allclose(data.get_ydata(), np.arange(0, x.size + 1) / x.size)
    th = _line(ax, "theory")
    np.testing.assert_allclose(th.get_ydata(), theory.cdf(th.get_xdata()))
    texts = " ".join(t.get_text() for t in ax.texts)
    ks, cvm = plotting.empirical_cdf_distances(x, theory)
    assert f"KS {ks:.3f}" in texts and "Marchenko–Pastur null: KS" in texts


def test_cdf_plot_needs_theory(eigs):
    with pytest.raises(ParameterError, match="theory"):
        plotting.cdf_plot(eigs, None)


# ---------------------------------------------------------------------------- subsampling
@pytest.fixture
def frame():
    rng = np.random.default_rng(4)
    rows = []
    for m in (20, 50, 100, 200):
        for d in range(5):
            pr = 1 / (1 / m + 1 / 60 - 1 / 200) * (1 + 0.02 * rng.standard_normal())
            rows.append({"size": m, "draw": d, "pr": pr * 0.9, "pr_corrected": pr})
    return pd.DataFrame(rows)


def test_subsampling_plot_means_and_theory(frame):
    ax = plotting.subsampling_plot(frame, theory=60.0)
    eb = [c for c in ax.containers if isinstance(c, matplotlib.container.ErrorbarContainer)]
    assert len(eb) == 2
    lines = {c.get_label(): c.lines[0] for c in eb}
    corrected = [l for lab, l in lines.items() if lab.startswith("bias-corrected")][0]
    np.testing.assert_array_equal(corrected.get_xdata(), [20, 50, 100, 200])
    for m, y in zip(corrected.get_xdata(), corrected.get_ydata()):
        assert y == pytest.approx(frame.loc[frame["size"] == m, "pr_corrected"].mean())
    th = [l for l in ax.get_lines() if l.get_label().startswith("theory")][0]
    m = th.get_xdata()
    np.testing.assert_allclose(th.get_ydata(), 1 / (1 / m + 1 / 60 - 1 / 200))
    assert th.get_ydata()[-1] == pytest.approx(60.0)  # PR_M = PR_N at M = N


def test_subsampling_plot_ratio_form_with_spectrum_theory(frame):
    class Spec:
        participation_ratio = 0.3  # PR/N

    ax = plotting.subsampling_plot(frame, theory=Spec(), form="ratio", n_total=200)
    th = [l for l in ax.get_lines() if l.get_label().startswith("theory")][0]
    m = th.get_xdata()
    np.testing.assert_allclose(th.get_ydata(), 1 / (1 + m / 60 - m / 200))
    assert "PR_M/M" in ax.get_ylabel()


def test_subsampling_plot_bad_frames(frame):
    with pytest.raises(DataValueError, match="size"):
        plotting.subsampling_plot(frame.drop(columns="size"))
    with pytest.raises(DataValueError, match="DataFrame"):
        plotting.subsampling_plot(frame.to_numpy())
    with pytest.raises(ParameterError, match="form"):
        plotting.subsampling_plot(frame, form="log")
    with pytest.raises(ParameterError, match="PR_N"):
        plotting.subsampling_plot(frame, theory=500.0)


# ---------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("func", [plotting.rank_plot, plotting.density_plot])
def test_bad_eigenvalues(func):
    with pytest.raises(ShapeError, match="1-D"):
        func(np.eye(3))
    with pytest.raises(DataValueError, match="NaN"):
        func(np.array([1.0, np.nan, 2.0]))
    with pytest.raises(DataValueError, match="negative"):
        func(np.array([1.0, -0.5, 2.0]))
    with pytest.raises(DataValueError, match="at least 2"):
        func(np.array([1.0]))
    with pytest.raises(DataValueError, match="zero"):
        func(np.zeros(4))
    with pytest.raises(ParameterError, match="drop_top"):
        func(np.arange(1.0, 5.0), drop_top=3)
    with pytest.raises(ParameterError, match="pdf/cdf/ppf"):
        func(np.arange(1.0, 5.0), theory="iid")


def test_bad_bins(eigs):
    with pytest.raises(ParameterError, match="bins"):
        plotting.density_plot(eigs, bins=1)
    with pytest.raises(ParameterError, match="edges"):
        plotting.density_plot(eigs, bins=[-1.0, 1.0, 2.0])


# ---------------------------------------------------------------------------- figure of a fit
class _FakeFit:
    """The public attributes of a fitted GainFit that spectrum_figure reads."""

    def __init__(self, eigenvalues, theory):
        self.eigenvalues_ = eigenvalues
        self.n_dropped_ = 1
        self.g_eff_ = 0.512
        self.g_eff_ci_ = (0.48, 0.55)
        self.ci = 0.9
        self.alpha_ = 0.2
        self.theory_ = theory
        self.null_ = stats.expon()


def test_spectrum_figure_two_panels(eigs, theory, tmp_path):
    fig = plotting.spectrum_figure(_FakeFit(eigs, theory))
    ax_rank, ax_dens = fig.axes
    label = r"fit: $g_\mathrm{eff}$ = 0.512 [0.480, 0.550] (90% CI)"
    lam = np.sort(eigs)[::-1]
    np.testing.assert_allclose(_line(ax_rank, "data").get_ydata(), lam[1:] / lam[1:].mean())
    th = _line(ax_dens, label)
    np.testing.assert_allclose(th.get_ydata(), theory.pdf(th.get_xdata()))
    assert _line(ax_rank, r"Marchenko–Pastur null ($\alpha$ = 0.20)")
    fig.savefig(tmp_path / "f.png")
    assert (tmp_path / "f.png").stat().st_size > 10_000


def test_spectrum_figure_needs_a_fitted_fit():
    class Unfitted:
        g_eff_ = None

    with pytest.raises(DataValueError, match="fit"):
        plotting.spectrum_figure(Unfitted())


# ---------------------------------------------------------------------------- with neurospec's theory
@pytest.fixture(scope="module")
def linear_network_eigs():
    # sample covariance of a linear network x = (I - J)^-1 xi, N = 200, T = 1000 (alpha = 0.2)
    rng = np.random.default_rng(7)
    n, t, g = 200, 1000, 0.6
    J = g * rng.standard_normal((n, n)) / np.sqrt(n)
    X = rng.standard_normal((t, n)) @ np.linalg.inv(np.eye(n) - J).T
    return np.linalg.eigvalsh(np.cov(X, rowvar=False)), g, n / t


def test_overlays_of_linear_spectrum(linear_network_eigs):
    from neurospec.theory import LinearSpectrum, MarchenkoPastur

    lam, g, alpha = linear_network_eigs
    th = LinearSpectrum(g, normalized=True).sampled(alpha)
    mp = MarchenkoPastur(alpha)
    ax = plotting.rank_plot(lam, th, null=mp)
    np.testing.assert_allclose(_line(ax, "theory").get_ydata(), th.rank_curve(lam.size))
    np.testing.assert_allclose(_line(ax, "Marchenko–Pastur null").get_ydata(),
                               mp.rank_curve(lam.size))
    ax = plotting.density_plot(lam, th, null=mp)
    line = _line(ax, "theory")
    np.testing.assert_allclose(line.get_ydata(), th.pdf(line.get_xdata()))
    # the theory describes these data and the null does not: the panel's distances say so
    x = np.sort(lam) / lam.mean()
    ks_th, _ = plotting.empirical_cdf_distances(x, th)
    ks_mp, _ = plotting.empirical_cdf_distances(x, mp)
    assert ks_th < 0.06 < 0.3 < ks_mp  # KS of n = 200 draws: ~0.9/sqrt(200) ≈ 0.06 at 90 %


def test_spectrum_figure_builds_theory_from_fit_attributes(linear_network_eigs):
    from neurospec.theory import LinearSpectrum, MarchenkoPastur

    lam, g, alpha = linear_network_eigs

    class Fit:  # no theory_/null_: spectrum_figure builds them from g_eff_ and alpha_
        eigenvalues_ = lam
        n_dropped_ = 0
        g_eff_ = g
        g_eff_ci_ = (g - 0.02, g + 0.02)
        alpha_ = alpha

    fig = plotting.spectrum_figure(Fit())
    ax_rank, ax_dens = fig.axes
    label = [l.get_label() for l in ax_dens.get_lines() if l.get_label().startswith("fit")][0]
    line = _line(ax_dens, label)
    expected = LinearSpectrum(g, normalized=True).sampled(alpha).pdf(line.get_xdata())
    np.testing.assert_allclose(line.get_ydata(), expected)
    null = _line(ax_rank, r"Marchenko–Pastur null ($\alpha$ = 0.20)")
    np.testing.assert_allclose(null.get_ydata(), MarchenkoPastur(alpha).rank_curve(lam.size))


def test_subsampling_plot_of_subsample_spectra():
    from neurospec import subsample_spectra

    rng = np.random.default_rng(8)
    X = rng.standard_normal((400, 60)) @ (np.eye(60) + 0.3 * rng.standard_normal((60, 60)) / np.sqrt(60))
    frame = subsample_spectra(X, sizes=[10, 30, 60], n_draws=3, time_fractions=[0.5, 1.0],
                              random_state=0, progress=False)
    ax = plotting.subsampling_plot(frame, theory=40.0)
    eb = {c.get_label(): c.lines[0] for c in ax.containers
          if isinstance(c, matplotlib.container.ErrorbarContainer)}
    raw = [l for lab, l in eb.items() if lab.startswith("raw")][0]
    full = frame[frame["time_fraction"] == 1.0]
    for m, y in zip(raw.get_xdata(), raw.get_ydata()):
        assert y == pytest.approx(full.loc[full["size"] == m, "pr"].mean())
    with pytest.raises(ParameterError, match="time_fraction"):
        plotting.subsampling_plot(frame, time_fraction=0.3)


# ---------------------------------------------------------------------------- diagnostics figures
def _ladder_table(converged=True):
    g = np.array([0.45, 0.52, 0.56, 0.58, 0.585])
    t = pd.DataFrame(dict(window=[1, 2, 4, 8, 16], window_s=[0.05, 0.1, 0.2, 0.4, 0.8],
                          g_eff=g, stderr=0.01, ci_low=g - 0.016, ci_high=g + 0.016))
    t.attrs.update(converged=converged, message="")
    return t


def test_ladder_plot_draws_estimates_band_and_verdict():
    t = _ladder_table()
    ax = plotting.ladder_plot(t)
    assert ax.get_xscale() == "log" and ax.get_xlabel() == "window (s)"
    filled = [ln for ln in ax.lines if ln.get_label().startswith(r"$g_\mathrm{eff}$")][0]
    opened = [ln for ln in ax.lines if ln.get_label() == "outside the band"][0]
    # the band is the longest window's interval [0.569, 0.601]: the first two steps miss it
    np.testing.assert_allclose(opened.get_xdata(), [0.05, 0.1])
    np.testing.assert_allclose(filled.get_ydata(), [0.56, 0.58, 0.585])
    band = ax.patches[0].get_extents()  # display units: compare through the data transform
    lo, hi = ax.transData.inverted().transform([[0, band.y0], [0, band.y1]])[:, 1]
    assert lo == pytest.approx(0.569, abs=1e-6) and hi == pytest.approx(0.601, abs=1e-6)
    assert "converged" in ax.get_title() and "NOT" not in ax.get_title()
    ax2 = plotting.ladder_plot(_ladder_table(False).drop(columns="window_s"))
    assert ax2.get_xlabel() == "window (bins)" and "NOT converged" in ax2.get_title()
    with pytest.raises(DataValueError, match="window_ladder"):
        plotting.ladder_plot(pd.DataFrame(dict(window=[1])))
    # an estimate outside its own interval (bias-corrected, or at the fit's bound) is drawn
    t = _ladder_table()
    t.loc[4, ["g_eff", "ci_low", "ci_high"]] = [0.999, 0.95, 0.99]
    ax3 = plotting.ladder_plot(t)
    segs = ax3.collections[0].get_segments()
    assert segs[-1][:, 1] == pytest.approx([0.95, 0.99])


def _fake_fit(g, lam, boot_sd=0.01, seed=0):
    from types import SimpleNamespace

    rng = np.random.default_rng(seed)
    return SimpleNamespace(
        g_eff_=g, g_eff_ci_=(g - 0.02, g + 0.02), eigenvalues_=np.sort(lam)[::-1], n_dropped_=0,
        theory_=stats.lognorm(s=0.6, scale=np.exp(-0.18)), null_=None, alpha_=0.1, ci=0.9,
        bootstrap_=g + boot_sd * rng.standard_normal(100), bootstrap_method_="samples")


def test_spectrum_figure_draws_a_control_beside_the_data(eigs):
    data = _fake_fit(0.5, eigs)
    ctl_lam = np.random.default_rng(4).uniform(0.5, 1.5, 120)
    ctl = _fake_fit(0.02, ctl_lam)
    fig = plotting.spectrum_figure(data, control=ctl)
    ax_rank, ax_dens = fig.axes
    line = [ln for ln in ax_rank.lines if ln.get_label().startswith("shift control")][0]
    np.testing.assert_allclose(line.get_ydata(), np.sort(ctl_lam)[::-1] / ctl_lam.mean())
    assert "0.020" in line.get_label()
    assert any(p.get_label().startswith("shift control") for p in ax_dens.patches)
    # without a control, nothing grey is added
    fig0 = plotting.spectrum_figure(data)
    assert not any(ln.get_label().startswith("shift control") for ln in fig0.axes[0].lines)


def test_split_half_and_comparison_figures(eigs):
    from neurospec.diagnostics import SplitHalf, compare

    a = _fake_fit(0.50, eigs, seed=1)
    b = _fake_fit(0.60, eigs * np.linspace(0.5, 1.5, eigs.size), seed=2)
    comp = compare(a, b, labels=("before", "after"))
    fig = plotting.comparison_figure(comp)
    ax_rank, ax_g, ax_d = fig.axes
    est = sorted(float(ln.get_xdata()[0]) for ln in ax_g.lines if ln.get_marker() == "o")
    assert est == pytest.approx([0.5, 0.6])
    vlines = sorted(float(ln.get_xdata()[0]) for ln in ax_d.lines)
    assert vlines == pytest.approx(sorted([0.0, comp.difference]))
    assert "differ" in ax_d.get_title()
    assert {ln.get_label() for ln in ax_rank.lines} >= {"before", "after"}
    sh = SplitHalf(first=a, second=b, comparison=comp)
    fig2 = plotting.split_half_figure(sh, full=a)
    labels = [t.get_text() for t in fig2.axes[1].get_yticklabels()]
    assert labels == ["whole recording", "first half", "second half"]
    assert "DISAGREE" in fig2.axes[1].get_title()
    assert fig2.get_suptitle() == "split-half stability"
    sub = SplitHalf(first=a, second=b, comparison=comp, neurons=np.arange(40), n_neurons=90)
    assert plotting.split_half_figure(sub).get_suptitle() == ("split-half stability "
                                                              "(40 of 90 neurons)")
