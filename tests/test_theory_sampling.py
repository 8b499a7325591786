"""Tests of neurospec.theory.sampling: finite samples (sampled) and neuron subsampling.

Independent routes used:

- simulation: sample covariances of Gaussian samples x = L z with C = L L^T, L = (I - J)^-1
  for J drawn as in science.md §1 (the zero-frequency covariance of a linear network), and
  principal submatrices of C;
- the exact iid cubic (science.md §4) against the general subordination route;
- moment identities of free probability (free cumulants), which neither route uses.

KS bounds: sample-covariance eigenvalues are random-matrix eigenvalues, rigid like those of
C itself (see test_theory_linear.py): the observed KS distance is 2.3-3.7 / n for n
eigenvalues (n = min(N, T), or M = 300 for the subsets of N = 1200 neurons). The bound 8 / n
leaves a factor ~2; each test also checks that a 20 % wrong alpha (or a wrong fraction)
gives a KS above the bound.
"""

import functools
import math

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from _rmt import draw_couplings, ks_distance

from neurospec.errors import ParameterError
from neurospec.theory import LinearSpectrum, MarchenkoPastur, sampled, subsampled
from neurospec.theory.sampling import SampledSpectrum, SubsampledSpectrum

N = 1000
N_SUB = 1200
FRACTION = 0.25




def bartlett(n, t, rng):
    """Lower-triangular A with A A^T distributed as Z^T Z, Z (t x n) standard normal
    (Bartlett decomposition): the Wishart draw costs O(n^3) instead of O(t n^2)."""
    a = np.tril(rng.standard_normal((n, n)), -1)
    a[np.diag_indices(n)] = np.sqrt(rng.chisquare(t - np.arange(n)))
    return a


@functools.lru_cache(maxsize=None)
def network_factor(n, g, kappa, seed):
    """L = (I - J)^-1, so that the zero-frequency covariance is C = L L^T."""
    rng = np.random.default_rng(seed)
    with threadpool_limits(1):
        return np.linalg.inv(np.eye(n) - draw_couplings(n, g, kappa, rng))


@functools.lru_cache(maxsize=None)
def sample_covariance_eigenvalues(g, kappa, alpha):
    """Non-zero eigenvalues of the sample covariance of T = N / alpha samples of x = L z."""
    L = network_factor(N, g, kappa, 11)
    t = int(round(N / alpha))
    rng = np.random.default_rng([12, int(100 * alpha)])
    with threadpool_limits(1):
        if alpha < 0.25:  # T = 10 N samples: the Wishart matrix by Bartlett's decomposition
            m = L @ bartlett(N, t, rng)
            return np.linalg.eigvalsh(m.T @ m / t)
        x = rng.standard_normal((t, N)) @ L.T  # rows: samples of the network activity
        if t >= N:
            return np.linalg.eigvalsh(x.T @ x / t)
        return np.linalg.eigvalsh(x @ x.T / t)  # the T non-zero eigenvalues (Gram matrix)


SAMPLED_CASES = [(g, k, a) for (g, k) in [(0.5, 0.0), (0.8, 0.0), (0.5, 0.3), (0.5, -0.5)]
                 for a in (0.1, 0.5, 2.0)]


# ---------------------------------------------------------------------------------------
# finite samples against simulation
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("g,kappa,alpha", SAMPLED_CASES)
def test_sampled_against_sample_covariance(g, kappa, alpha):
    ev = sample_covariance_eigenvalues(g, kappa, alpha)
    spec = LinearSpectrum(g, kappa).sampled(alpha)
    assert spec.method == ("polynomial" if kappa == 0 else "subordination")
    n = ev.size
    assert n == min(N, int(round(N / alpha)))
    bound = 8.0 / n
    assert ks_distance(ev, spec) < bound
    assert ks_distance(ev, LinearSpectrum(g, kappa).sampled(1.2 * alpha)) > 1.5 * bound
    # mean: tr(C_hat)/n; for alpha > 1 the mean of the T non-zero eigenvalues is alpha times
    # the population mean. Fluctuations: one top eigenvalue moves the mean by hi / n and the
    # second moment by hi^2 / n (the dominant finite-n effect, see test_theory_linear)
    lo, hi = spec.support()
    assert spec.mean() == pytest.approx(max(alpha, 1) * LinearSpectrum(g, kappa).mean())
    assert np.mean(ev) == pytest.approx(spec.mean(), rel=2 * hi / (spec.mean() * n))
    pr = np.mean(ev) ** 2 / np.mean(ev**2)
    assert pr == pytest.approx(spec.participation_ratio(), rel=hi**2 / (spec.moment(2) * n))
    # edges: Tracy-Widom scale; the sparse x^-5/3 top of g = 0.8 stops up to ~25 % short
    assert ev.min() == pytest.approx(lo, rel=0.12)
    assert ev.max() == pytest.approx(hi, rel=0.3 if g >= 0.8 else 0.1)


def test_sampled_normalized_matches_mean_normalised_data():
    ev = sample_covariance_eigenvalues(0.8, 0.0, 0.5)
    spec = LinearSpectrum(0.8, normalized=True).sampled(0.5)
    assert spec.normalized and spec.mean() == pytest.approx(1.0)
    assert ks_distance(ev / LinearSpectrum(0.8).mean(), spec) < 8.0 / ev.size
    # alpha > 1: the T non-zero eigenvalues have mean alpha (flag off), .normalize() -> 1
    s2 = LinearSpectrum(0.8, normalized=True).sampled(2.0)
    assert not s2.normalized and s2.mean() == pytest.approx(2.0)
    ev2 = sample_covariance_eigenvalues(0.8, 0.0, 2.0)
    assert ks_distance(ev2 / np.mean(ev2), s2.normalize()) < 8.0 / ev2.size


def test_sample_moment_formulas():
    # science.md §4: 1/PR_hat = 1/PR + 1/T, i.e. m2/m1^2 grows by alpha (per neuron)
    base = LinearSpectrum(0.7, 0.2)
    for alpha in (0.05, 0.5):
        s = base.sampled(alpha)
        assert s.moment(2) / s.mean() ** 2 == pytest.approx(
            base.moment(2) / base.mean() ** 2 + alpha, rel=1e-12)


# ---------------------------------------------------------------------------------------
# neuron subsampling against principal submatrices
# ---------------------------------------------------------------------------------------
@functools.lru_cache(maxsize=None)
def subset_eigenvalues(g, kappa):
    L = network_factor(N_SUB, g, kappa, 21)
    rng = np.random.default_rng(22)
    m = int(FRACTION * N_SUB)
    out = []
    with threadpool_limits(1):
        for _ in range(4):
            rows = L[rng.choice(N_SUB, m, replace=False)]
            out.append(np.linalg.eigvalsh(rows @ rows.T))  # C[idx, idx] = L[idx] L[idx]^T
    return tuple(out)


@pytest.mark.parametrize("g,kappa", [(0.8, 0.0), (0.5, 0.3)])
def test_subsampled_against_principal_submatrices(g, kappa):
    base = LinearSpectrum(g, kappa)
    spec = base.subsampled(FRACTION)
    assert isinstance(spec, SubsampledSpectrum)
    evs = subset_eigenvalues(g, kappa)
    m = evs[0].size
    bound = 8.0 / m
    lo, hi = spec.support()
    wrong = base.subsampled(1.2 * FRACTION)
    assert spec.mean() == pytest.approx(base.mean())
    for ev in evs:
        assert ks_distance(ev, spec) < bound
        assert ks_distance(ev, wrong) > 1.5 * bound
        assert np.mean(ev) == pytest.approx(spec.mean(), rel=2 * hi / (spec.mean() * m))
        pr = np.mean(ev) ** 2 / np.mean(ev**2)
        assert pr == pytest.approx(spec.participation_ratio(), rel=hi**2 / (spec.moment(2) * m))
        assert ev.min() == pytest.approx(lo, rel=0.1)
        assert ev.max() == pytest.approx(hi, rel=0.25)
    assert ks_distance(np.concatenate(evs), spec) < bound


def test_subsampled_then_sampled_against_simulation():
    g, f, alpha = 0.8, FRACTION, 0.5
    L = network_factor(N_SUB, g, 0.0, 21)
    rng = np.random.default_rng(23)
    m = int(f * N_SUB)
    idx = rng.choice(N_SUB, m, replace=False)
    t = int(m / alpha)
    with threadpool_limits(1):
        x = rng.standard_normal((t, N_SUB)) @ L[idx, :].T  # samples of the recorded neurons
        ev = np.linalg.eigvalsh(x.T @ x / t)
    spec = LinearSpectrum(g).subsampled(f).sampled(alpha)
    assert isinstance(spec, SampledSpectrum) and spec.method == "subordination"
    assert ks_distance(ev, spec) < 8.0 / m
    # forgetting the subsampling is clearly rejected
    assert ks_distance(ev, LinearSpectrum(g).sampled(alpha)) > 3 * 8.0 / m


def test_subsampled_pr_formulas():
    # iid closed form (science.md §4): PR_M / M = 1 / (1 + f g^2 (2 - g^2) / (1 - g^2)^2)
    for g in (0.3, 0.8, 0.95):
        for f in (0.1, 0.5):
            s = LinearSpectrum(g, normalized=True).subsampled(f)
            expected = 1 / (1 + f * g * g * (2 - g * g) / (1 - g * g) ** 2)
            assert s.participation_ratio() == pytest.approx(expected, rel=1e-12)
            # and the numerical density of the compressed spectrum has these moments
            assert s._rep.moment(1) == pytest.approx(1.0, rel=1e-9)
            assert s._rep.moment(2) == pytest.approx(s.moment(2), rel=1e-9)
    # general form: 1/PR_M = 1/M + 1/PR_N - 1/N, i.e. m2_f/m1^2 - 1 = f (m2/m1^2 - 1)
    base = LinearSpectrum(0.6, -0.4)
    s = base.subsampled(0.3)
    assert s.moment(2) / s.mean() ** 2 - 1 == pytest.approx(
        0.3 * (base.moment(2) / base.mean() ** 2 - 1), rel=1e-12)


# ---------------------------------------------------------------------------------------
# exact polynomial route against the general subordination route, and free cumulants
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("g", [0.3, 0.8, 0.95, 0.99])
@pytest.mark.parametrize("alpha", [0.1, 0.5, 2.0])
def test_polynomial_matches_subordination(g, alpha):
    base = LinearSpectrum(g, normalized=True)
    exact = sampled(base, alpha, method="polynomial")
    general = sampled(base, alpha, method="subordination")
    assert exact.method == "polynomial" and general.method == "subordination"
    assert np.allclose(exact.support(), general.support(), rtol=1e-9)
    lo, hi = exact.support()
    x = np.exp(np.linspace(math.log(lo), math.log(hi), 200))
    assert np.max(np.abs(exact.cdf(x) - general.cdf(x))) < 1e-9
    x = x[1:-1]  # at the edges themselves the 1e-12 edge difference is a sqrt(1e-12) pdf
    assert np.allclose(exact.pdf(x), general.pdf(x), rtol=1e-6, atol=1e-9 * exact.pdf(x).max())


def _free_cumulants(m1, m2, m3):
    return m1, m2 - m1 * m1, m3 - 3 * m1 * m2 + 2 * m1**3


@pytest.mark.parametrize("base", [LinearSpectrum(0.9), LinearSpectrum(0.5, 0.3),
                                  LinearSpectrum(0.6, -1.0), LinearSpectrum(0.3, 1.0)])
def test_third_moments_from_free_probability(base):
    a1, a2, a3 = base.moment(1), base.moment(2), base.moment(3)
    # free multiplicative convolution with MP(c): m3 = a3 + 3 c a1 a2 + c^2 a1^3
    for c in (0.3, 2.0):
        s = base.sampled(c)
        m3 = (a3 + 3 * c * a1 * a2 + c * c * a1**3) * max(c, 1)
        assert s.moment(3) == pytest.approx(m3, rel=1e-8)
    # free compression: free cumulants k_n -> f^(n-1) k_n
    k1, k2, k3 = _free_cumulants(a1, a2, a3)
    f = 0.25
    s = base.subsampled(f)
    m3 = f * f * k3 + 3 * k1 * f * k2 + k1**3
    assert s.moment(3) == pytest.approx(m3, rel=1e-8)


def test_identity_sampled_is_marchenko_pastur():
    for alpha in (0.3, 3.0):
        mp = MarchenkoPastur(alpha)
        near_identity = LinearSpectrum(1e-4).sampled(alpha)  # g^2 = 1e-8
        x = np.linspace(*mp.support(), 50)
        assert np.max(np.abs(mp.cdf(x) - near_identity.cdf(x))) < 1e-6
        general = sampled(LinearSpectrum(0.01), alpha, method="subordination")
        assert np.max(np.abs(general.cdf(x) - LinearSpectrum(0.01).sampled(alpha).cdf(x))) < 1e-9


def test_alpha_near_one():
    # alpha = 1 has a hard edge at 0; it is evaluated at 1 - 1e-8 and stays consistent
    base = LinearSpectrum(0.6, normalized=True)
    s1 = base.sampled(1.0)
    assert s1.support()[0] < 1e-12
    x = np.array([1e-4, 0.1, 1.0, 3.0])
    for a in (1 - 1e-4, 1 + 1e-4):
        assert np.max(np.abs(base.sampled(a).cdf(x) - s1.cdf(x))) < 1e-3
    assert s1._rep.moment(1) == pytest.approx(s1.mean(), rel=1e-9)
    assert abs(s1._rep.mass_raw - 1) < 1e-9
    assert MarchenkoPastur(1.0).mean() == pytest.approx(1.0)


# ---------------------------------------------------------------------------------------
# composition, flags, API
# ---------------------------------------------------------------------------------------
def test_composition_and_flags():
    s = LinearSpectrum(0.8, normalized=True).subsampled(0.25).sampled(0.5)
    assert s.normalized and s.mean() == pytest.approx(1.0)
    assert "subsampled(0.25).sampled(0.5)" in repr(s)
    base = LinearSpectrum(0.8)
    assert base.sampled(0) is base and base.subsampled(1.0) is base
    x = np.linspace(0.01, 30, 400)
    f = s.cdf(x)
    assert f.shape == (400,) and np.all(np.diff(f) >= 0) and f[-1] == pytest.approx(1.0)
    assert np.allclose(s.cdf(s.ppf(np.linspace(0, 1, 51))), np.linspace(0, 1, 51), atol=1e-10)
    r = s.rank_curve(100)
    assert r.shape == (100,) and np.all(np.diff(r) < 0)
    # module functions and methods agree
    assert np.allclose(sampled(base, 0.3).cdf(x), base.sampled(0.3).cdf(x), atol=0)
    assert np.allclose(subsampled(base, 0.3).cdf(x), base.subsampled(0.3).cdf(x), atol=0)


def test_hot_path_speed():
    # the fitter builds LinearSpectrum(g, normalized=True).sampled(alpha) and evaluates its CDF
    # on ~400 points for ~30-100 values of g per fit; a generous bound (target ~2 ms each) that
    # a shared, loaded test machine still meets
    import time

    x = np.linspace(0.05, 10, 400)
    t0 = time.perf_counter()
    for g in np.linspace(0.05, 0.98, 50):
        LinearSpectrum(g, normalized=True).sampled(0.4).cdf(x)
    assert time.perf_counter() - t0 < 2.0


@pytest.mark.parametrize("call,match", [
    (lambda: LinearSpectrum(0.5).sampled(-0.1), "alpha"),
    (lambda: LinearSpectrum(0.5).sampled(float("inf")), "alpha"),
    (lambda: LinearSpectrum(0.5).sampled("x"), "alpha"),
    (lambda: LinearSpectrum(0.5, 0.3).sampled(0.5, method="polynomial"), "iid"),
    (lambda: LinearSpectrum(0.5).sampled(0.5, method="magic"), "method"),
    (lambda: LinearSpectrum(0.5).subsampled(0.0), "fraction"),
    (lambda: LinearSpectrum(0.5).subsampled(1.5), "fraction"),
    (lambda: LinearSpectrum(0.5).subsampled(None), "fraction"),
    (lambda: sampled(np.ones(3), 0.5), "Spectrum"),
    (lambda: subsampled("spectrum", 0.5), "Spectrum"),
])
def test_errors(call, match):
    with pytest.raises(ParameterError, match=match):
        call()
