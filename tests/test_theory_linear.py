"""Tests of neurospec.theory.linear: LinearSpectrum, MarchenkoPastur and the Spectrum API.

Independent routes used:

- random matrices: eigenvalues of (I - J)^-1 (I - J)^-T for J drawn as in science.md §1;
- adaptive quadrature (scipy.integrate.quad) of the analytic density, bypassing the
  sine-series representation the class is built on;
- closed forms (moments, PR, support, kappa = +-1 densities, g -> 1 limits).

KS bounds for random matrices. Eigenvalues of random matrices are rigid: the empirical CDF of
one N x N matrix deviates from its limit by O(log N / N) in the bulk (Erdos-Yau-Yin rigidity),
and the edges fluctuate by O(N^-2/3) in position, i.e. O(1/N) in CDF. For N = 1000 we observe
KS ~ 3/N per matrix (0.002-0.004 over all cases here). The bound 8/N = 0.008 leaves a factor
~2 of margin and is still ~5x below the KS of N iid draws (~1.36/sqrt(N) = 0.043); each test
also checks that a 5 % wrong gain gives a KS above the bound, so the test can fail.
"""

import functools
import math

import numpy as np
import pytest
from scipy import integrate, special
from threadpoolctl import threadpool_limits

from _rmt import draw_couplings, ks_distance

from neurospec.errors import ParameterError
from neurospec.theory import LinearSpectrum, MarchenkoPastur
from neurospec.theory.linear import Spectrum, _reciprocal_density

N_RM = 1000
KS_BOUND = 8.0 / N_RM


# ---------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------

def covariance_eigenvalues(j):
    """Eigenvalues of C = (I-J)^-1 (I-J)^-T, i.e. 1 / eig((I-J)^T (I-J))."""
    a = np.eye(j.shape[0]) - j
    return np.sort(1.0 / np.linalg.eigvalsh(a.T @ a))



def quad_log(func, lo, hi):
    """int_lo^hi func(x) dx in v = log x with the edge substitution v = mid - half cos(th),
    by adaptive scipy.integrate.quad (for scalar references)."""
    vlo, vhi = math.log(lo), math.log(hi)
    mid, half = (vlo + vhi) / 2, (vhi - vlo) / 2

    def integrand(th):
        v = mid - half * math.cos(th)
        x = math.exp(v)
        return float(func(np.array([x]))[0]) * x * half * math.sin(th)

    val, err = integrate.quad(integrand, 0.0, math.pi, epsabs=0.0, epsrel=1e-13, limit=400)
    return val


@functools.lru_cache(maxsize=None)
def _legendre(m):
    return special.roots_legendre(m)


def gauss_log(func, lo, hi, n=1500):
    """Same substitution, Gauss-Legendre with n and 2n nodes (vectorised); the two must agree
    to 1e-12, which certifies the value (independent of the class's own sine-series rule)."""
    vlo, vhi = math.log(lo), math.log(hi)
    mid, half = (vlo + vhi) / 2, (vhi - vlo) / 2
    vals = []
    for m in (n, 2 * n):
        t, w = _legendre(m)
        th = (t + 1) * math.pi / 2
        x = np.exp(mid - half * np.cos(th))
        vals.append(np.sum(w * func(x) * x * half * np.sin(th)) * math.pi / 2)
    assert abs(vals[0] - vals[1]) <= 1e-12 * abs(vals[1])
    return vals[1]


RM_CASES = [(0.5, 0.0), (0.8, 0.0), (0.5, 0.3), (0.5, -0.5), (0.45, 1.0), (0.8, -1.0)]


@functools.lru_cache(maxsize=None)
def rm_eigenvalues(g, kappa):
    """Eigenvalues of independent realisations for (g, kappa), N = 1000: two for the cases
    the issue names (iid, kappa = -0.5, 0.3), one for the closed forms (kappa = +-1)."""
    rng = np.random.default_rng([20240601, int(1000 * g), int(1000 * kappa) + 1000])
    n_real = 1 if abs(kappa) == 1 else 2
    with threadpool_limits(1):  # the test machine is shared: avoid BLAS thread contention
        return tuple(covariance_eigenvalues(draw_couplings(N_RM, g, kappa, rng))
                     for _ in range(n_real))


@pytest.fixture(scope="module")
def rm_eigs():
    class _Lazy(dict):
        def __missing__(self, key):
            return rm_eigenvalues(*key)

    return _Lazy()


# ---------------------------------------------------------------------------------------
# random-matrix agreement
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("g,kappa", RM_CASES)
def test_random_matrix_cdf(rm_eigs, g, kappa):
    spec = LinearSpectrum(g, kappa)
    evs = rm_eigs[(g, kappa)]
    for ev in evs:
        assert ks_distance(ev, spec) < KS_BOUND
    pooled = np.concatenate(evs)
    assert ks_distance(pooled, spec) < KS_BOUND
    # the test can fail: a 5 % wrong gain is clearly rejected
    g_wrong = g * 0.95
    assert ks_distance(pooled, LinearSpectrum(g_wrong, kappa)) > 1.5 * KS_BOUND


@pytest.mark.parametrize("g,kappa", RM_CASES)
def test_random_matrix_moments_and_edges(rm_eigs, g, kappa):
    spec = LinearSpectrum(g, kappa)
    lo, hi = spec.support()
    # m2 = E[x^2] is dominated by the top of the spectrum: moving one eigenvalue across the
    # top edge changes it by ~hi^2 / N, which sets the finite-N tolerance of PR (2 % at
    # g = 0.5, 20 % at g = 0.8 or symmetric J where hi ~ 100; observed errors are 2-4x
    # smaller); likewise one top eigenvalue moves the mean by hi / N
    pr_tol = hi**2 / (spec.moment(2) * N_RM)
    mean_tol = 2 * hi / (spec.mean() * N_RM)
    for ev in rm_eigs[(g, kappa)]:
        assert np.mean(ev) == pytest.approx(spec.mean(), rel=mean_tol)
        pr = np.mean(ev) ** 2 / np.mean(ev**2)
        assert pr == pytest.approx(spec.participation_ratio(), rel=pr_tol)
        # edges: Tracy-Widom fluctuations O(N^-2/3) ~ 1 % of the edge scale; the top edge of
        # the heavy-tailed spectra (g = 0.8, symmetric J: hi ~ 100 with a density ~ x^-5/3
        # so thin near the top that a finite sample stops well short of it) is reached
        # only to ~25 % at N = 1000; a 5 % wrong g moves hi by 40 % there
        assert ev.min() == pytest.approx(lo, rel=0.04)
        assert ev.max() == pytest.approx(hi, rel=0.3 if hi > 50 else 0.1)
    pooled = np.concatenate(rm_eigs[(g, kappa)])
    assert np.mean(pooled) == pytest.approx(spec.mean(), rel=mean_tol)


def test_random_matrix_normalized_spectrum(rm_eigs):
    ev = np.concatenate(rm_eigs[(0.8, 0.0)])
    spec = LinearSpectrum(0.8, normalized=True)
    assert spec.mean() == pytest.approx(1.0, abs=1e-14)
    assert ks_distance(ev / LinearSpectrum(0.8).mean(), spec) < KS_BOUND


# ---------------------------------------------------------------------------------------
# known values (science.md §2-§3, §7)
# ---------------------------------------------------------------------------------------
def test_known_support_and_pr():
    lo, hi = LinearSpectrum(0.5).support()
    assert round(lo, 6) == 0.322767
    assert round(hi, 6) == 7.343899
    for g, pr in [(0.5, 0.5625), (0.8, 0.1296), (0.9, 0.0361)]:
        assert round(LinearSpectrum(g).participation_ratio(), 6) == pr
        assert LinearSpectrum(g, normalized=True).participation_ratio() == pytest.approx(pr)
    s = LinearSpectrum(0.5, 0.3)
    assert round(s.mean(), 4) == 1.6854
    assert round(s.participation_ratio(), 5) == 0.41414
    # kappa = 0 limit of the reciprocal formulas
    assert LinearSpectrum(0.6, 1e-9).mean() == pytest.approx(1 / (1 - 0.36), rel=1e-8)


def test_support_edges_high_precision():
    # science.md §2 formula evaluated in 50-digit decimal arithmetic: (a - b) / den cancels
    # catastrophically in float64 near g = 1, the implementation must not
    from decimal import Decimal, getcontext

    getcontext().prec = 50
    for g in (0.5, 0.99, 0.9999):
        G = Decimal(g)  # the exact binary value of g
        g2 = G * G
        a = 2 + 5 * g2 - g2 * g2 / 4
        b = (G / 4) * (8 + g2) ** Decimal("1.5")
        den = 2 * (1 - g2) ** 3
        lo, hi = LinearSpectrum(g).support()
        assert lo == pytest.approx(float((a - b) / den), rel=1e-13)
        assert hi == pytest.approx(float((a + b) / den), rel=1e-13)


def test_support_edges_are_where_density_vanishes():
    for g, kappa in [(0.5, 0.0), (0.9, 0.0), (0.5, 0.3), (0.5, -0.5), (0.45, 0.99)]:
        s = LinearSpectrum(g, kappa)
        lo, hi = s.support()
        inner = s._density_inside(np.array([lo * (1 + 1e-6), hi * (1 - 1e-6)]))
        outer = s._density_inside(np.array([lo * (1 - 1e-6), hi * (1 + 1e-6)]))
        assert np.all(inner > 0)
        assert np.all(outer < 1e-10 * inner.min())  # round-off only (real roots)


def test_g_to_one_limits():
    s = LinearSpectrum(0.999)
    lo, hi = s.support()
    assert lo == pytest.approx(4 / 27, rel=5e-3)
    assert hi * (1 - 0.999**2) ** 3 == pytest.approx(27 / 4, rel=5e-3)
    # intermediate power law: density (sqrt 3 / 2 pi) x^-5/3 for lo << x << hi
    x = np.array([30.0, 300.0])
    p = s.pdf(x)
    slope = np.log(p[1] / p[0]) / np.log(x[1] / x[0])
    assert slope == pytest.approx(-5 / 3, rel=0.01)
    assert p[0] == pytest.approx(math.sqrt(3) / (2 * math.pi) * 30.0 ** (-5 / 3), rel=0.02)


# ---------------------------------------------------------------------------------------
# quadrature of the analytic density: int p = 1, int x p = mean, int x^2 p = m2 (<= 1e-8)
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("g,kappa", [(0.1, 0.0), (0.5, 0.0), (0.9, 0.0), (0.99, 0.0), (0.9999, 0.0),
                                     (0.5, 0.3), (0.5, -0.5), (0.9, -0.9), (0.45, 0.99),
                                     (0.45, 1.0), (0.97, 0.01)])
def test_quadrature_moments(g, kappa):
    s = LinearSpectrum(g, kappa)
    lo, hi = s.support()
    m0 = gauss_log(s._density_inside, lo, hi)
    m1 = gauss_log(lambda x: x * s._density_inside(x), lo, hi)
    m2 = gauss_log(lambda x: x * x * s._density_inside(x), lo, hi)
    assert abs(m0 - 1) <= 1e-8
    assert abs(m1 / s.mean() - 1) <= 1e-8
    assert abs(m2 / s.moment(2) - 1) <= 1e-8
    # the representation's own quadrature agrees too
    assert abs(s._rep.mass_raw - 1) <= 1e-8
    assert abs(s._rep.moment(1) / s.mean() - 1) <= 1e-8
    assert abs(s._rep.moment(2) / s.moment(2) - 1) <= 1e-8


def test_kappa_minus_one_quadrature():
    s = LinearSpectrum(0.8, -1.0)
    lo, hi = s.support()
    # inverse square-root edge at x = 1: substitute x = hi - u^2 (dx = 2u du, finite integrand)
    umax = math.sqrt(hi - lo)

    def mom(k):
        return integrate.quad(lambda u: (hi - u * u) ** k * s.pdf(hi - u * u) * 2 * u, 0.0,
                              umax, epsabs=0.0, epsrel=1e-13, limit=200)[0]

    assert abs(mom(0) - 1) < 1e-8
    assert abs(mom(1) / s.mean() - 1) < 1e-8
    assert abs(mom(2) / s.moment(2) - 1) < 1e-8
    mu = (-1 + math.sqrt(1 + 4 * 0.64)) / (2 * 0.64)  # science.md §3 at theta = 0
    assert s.mean() == pytest.approx(mu, rel=1e-14)


@pytest.mark.parametrize("g", [0.5, 0.9, 0.99])
def test_cdf_accuracy_against_quadrature(g):
    s = LinearSpectrum(g, normalized=True)
    lo, hi = s.support()
    x = np.exp(np.linspace(math.log(lo), math.log(hi), 9)[1:-1])
    ref = np.array([quad_log(s._density_inside, lo, xi) for xi in x])
    assert np.max(np.abs(s.cdf(x) - ref)) < 1e-9
    # pdf from the representation against the analytic density
    assert np.allclose(s.pdf(x), s._density_inside(x), rtol=1e-7, atol=0)


# ---------------------------------------------------------------------------------------
# closed forms at kappa = +-1 against the general quartic
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("g,kappa", [(0.3, 1.0), (0.45, 1.0), (0.3, -1.0), (0.9, -1.0)])
def test_closed_forms_match_quartic(g, kappa):
    s = LinearSpectrum(g, kappa)
    lo, hi = s.support()
    if kappa == 1:
        assert (lo, hi) == pytest.approx(((1 + 2 * g) ** -2, (1 - 2 * g) ** -2))
    else:
        assert (lo, hi) == pytest.approx((1 / (1 + 4 * g * g), 1.0))
    x = np.linspace(lo, hi, 13)[1:-1]
    closed = s.pdf(x)
    if kappa == 1:
        quartic = _reciprocal_density(x, g, kappa)
    else:
        # at kappa = -1 (beta = 0) the quartic degenerates to (y - 1/g^2)(s^2 + s) + 1 = 0
        u = 1.0 / (g * g * x) - 1.0 / (g * g)
        root = (-1 + np.sqrt((1 - 4 / u).astype(complex))) / 2
        quartic = np.abs(root.imag) / np.pi / (g * g * x * x)
    assert np.allclose(closed, quartic, rtol=1e-8)
    # and the quartic near kappa = +-1 approaches them
    near = LinearSpectrum(g, 0.9999 * kappa)
    assert np.max(np.abs(near.cdf(x) - s.cdf(x))) < 2e-3


def test_kappa_minus_one_semicircle_forms():
    s = LinearSpectrum(0.7, -1.0)
    q = np.linspace(0, 1, 41)
    assert np.allclose(s.cdf(s.ppf(q)), q, atol=1e-12)
    lo, hi = s.support()
    x = np.linspace(lo, hi, 9)[1:-1]
    ref = [integrate.quad(s.pdf, lo, xi, epsrel=1e-12)[0] for xi in x]
    assert np.allclose(s.cdf(x), ref, atol=1e-10)


# ---------------------------------------------------------------------------------------
# Stieltjes transform (what the free-probability routes are built on)
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("g,kappa", [(0.5, 0.0), (0.95, 0.0), (0.5, 0.3), (0.8, -1.0)])
def test_stieltjes_against_quadrature(g, kappa):
    s = LinearSpectrum(g, kappa)
    lo, hi = s.support()
    z = np.array([0.5 * lo, 2 * hi, -1.0, 1j, lo + 0.1 * (hi - lo) + 0.05j * hi,
                  -1e-6 + 1e-9j])
    if kappa == -1:
        ref = [integrate.quad(lambda x: (s.pdf(x) / (zz - x)).real, lo, hi, limit=400,
                              epsrel=1e-12)[0]
               + 1j * integrate.quad(lambda x: (s.pdf(x) / (zz - x)).imag, lo, hi, limit=400,
                                     epsrel=1e-12)[0] for zz in z]
    else:  # log variable: the support spans decades at g = 0.95
        ref = [quad_log(lambda x: (s.pdf(x) / (zz - x)).real, lo, hi)
               + 1j * quad_log(lambda x: (s.pdf(x) / (zz - x)).imag, lo, hi)
               for zz in z]
    G, dG = s._stieltjes(z, deriv=True)
    assert np.allclose(G, ref, rtol=1e-8, atol=0)
    h = 1e-5 * np.maximum(np.abs(z), 1e-2)
    fd = (s.stieltjes(z + h) - s.stieltjes(z - h)) / (2 * h)
    assert np.allclose(dG, fd, rtol=1e-5)
    # boundary value on the support: -Im G(x + i0) / pi is the density
    x = np.linspace(lo, hi, 7)[1:-1]
    assert np.allclose(-s.stieltjes(x).imag / np.pi, s.pdf(x), rtol=1e-8)


# ---------------------------------------------------------------------------------------
# Marchenko-Pastur
# ---------------------------------------------------------------------------------------
def test_marchenko_pastur_against_wishart():
    rng = np.random.default_rng(7)
    n = 600
    for alpha in (0.25, 2.0):
        t = int(n / alpha)
        z = rng.standard_normal((t, n))
        with threadpool_limits(1):
            if alpha <= 1:
                ev = np.linalg.eigvalsh(z.T @ z / t)
            else:  # the T non-zero eigenvalues
                ev = np.linalg.eigvalsh(z @ z.T / t)
        mp = MarchenkoPastur(alpha)
        bound = 8.0 / min(n, t)
        assert ks_distance(ev, mp) < bound
        assert ks_distance(ev, MarchenkoPastur(alpha * 1.1)) > bound
        assert np.mean(ev) == pytest.approx(mp.mean(), rel=0.01)
        assert mp.mean() == pytest.approx(max(alpha, 1.0))
        assert mp._rep.moment(2) == pytest.approx(mp.moment(2), rel=1e-12)
    assert MarchenkoPastur(3.0, normalized=True).mean() == pytest.approx(1.0)
    lo, hi = MarchenkoPastur(0.5).support()
    assert (lo, hi) == pytest.approx(((1 - math.sqrt(0.5)) ** 2, (1 + math.sqrt(0.5)) ** 2))


def test_marchenko_pastur_stieltjes_closed_form_matches_representation():
    for alpha in (0.3, 2.5):
        mp = MarchenkoPastur(alpha)
        z = np.array([0.1 + 0.2j, 3.0 + 0.01j, -2.0 + 0j, 10.0 + 1j])
        assert np.allclose(mp._stieltjes(z), mp._rep.stieltjes(z), rtol=1e-10)


# ---------------------------------------------------------------------------------------
# scipy.stats-like API
# ---------------------------------------------------------------------------------------
def test_api_shapes_and_scalars():
    s = LinearSpectrum(0.7, normalized=True)
    assert isinstance(s, Spectrum)
    assert isinstance(s.pdf(1.0), float) and isinstance(s.cdf(1.0), float)
    assert isinstance(s.ppf(0.5), float)
    x = np.linspace(0, 10, 12).reshape(3, 4)
    assert s.pdf(x).shape == (3, 4) and s.cdf(x).shape == (3, 4)
    lo, hi = s.support()
    assert isinstance(lo, float) and isinstance(hi, float)
    assert s.cdf(lo / 2) == 0.0 and s.cdf(2 * hi) == 1.0 and s.pdf(2 * hi) == 0.0
    f = s.cdf(np.linspace(lo, hi, 1000))
    assert np.all(np.diff(f) >= 0)
    assert np.isnan(s.ppf(1.5)) and s.ppf(0.0) == lo and s.ppf(1.0) == hi
    assert s.var() == pytest.approx(s.moment(2) - 1.0)
    assert s.std() == pytest.approx(math.sqrt(s.var()))
    assert s.sf(1.0) == pytest.approx(1 - s.cdf(1.0))
    assert s.expect(lambda x: x) == pytest.approx(1.0, abs=1e-12)
    assert s.moment(3) == pytest.approx(s.expect(lambda x: x**3), rel=1e-12)
    assert "LinearSpectrum(g=0.7" in repr(s)


def test_ppf_inverts_cdf_and_rank_curve():
    for s in (LinearSpectrum(0.99, normalized=True), LinearSpectrum(0.5, 0.3)):
        q = np.linspace(0, 1, 201)
        assert np.allclose(s.cdf(s.ppf(q)), q, atol=1e-11)
        r = s.rank_curve(50)
        assert r.shape == (50,) and np.all(np.diff(r) < 0)
        assert np.allclose(r, s.ppf((50 - np.arange(1, 51) + 0.5) / 50))


def test_rank_curve_near_critical_power_law():
    # k-th largest ~ (4 pi k / (3 sqrt 3 N))^(-3/2) in the power-law range (science.md §2)
    s = LinearSpectrum(0.999)
    n = 100000
    r = s.rank_curve(n)
    k = np.array([300, 3000])
    pred = (4 * np.pi * k / (3 * math.sqrt(3) * n)) ** -1.5
    assert np.allclose(r[k - 1], pred, rtol=0.05)


def test_rvs_reproducible():
    s = LinearSpectrum(0.6)
    a = s.rvs(2000, random_state=3)
    assert np.array_equal(a, s.rvs(2000, random_state=3))
    assert ks_distance(a, s) < 1.63 / math.sqrt(2000)  # 99 % KS quantile for iid draws


def test_normalized_and_scaled():
    raw = LinearSpectrum(0.7, 0.3)
    nrm = LinearSpectrum(0.7, 0.3, normalized=True)
    mu = raw.mean()
    assert nrm.normalized and not raw.normalized
    assert nrm.mean() == pytest.approx(1.0)
    x = np.linspace(0.1, 5, 9)
    assert np.allclose(nrm.cdf(x), raw.cdf(x * mu), atol=1e-13)
    assert np.allclose(nrm.pdf(x), mu * raw.pdf(x * mu), rtol=1e-10)
    sc = raw.scaled(2.0)
    assert sc.mean() == pytest.approx(2 * mu)
    assert np.allclose(sc.cdf(x), raw.cdf(x / 2), atol=1e-13)
    assert raw.normalize().mean() == pytest.approx(1.0)
    assert np.allclose(raw.normalize().cdf(x), nrm.cdf(x), atol=1e-12)


# ---------------------------------------------------------------------------------------
# errors
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("kwargs,match", [
    (dict(g=0.0), "positive"),
    (dict(g=-0.5), "positive"),
    (dict(g=float("nan")), "positive"),
    (dict(g=1.0), "unstable"),
    (dict(g=1.2), "unstable"),
    (dict(g=0.6, kappa=0.7), "unstable"),
    (dict(g=0.5, kappa=1.0), "unstable"),
    (dict(g=0.5, kappa=1.5), r"\[-1, 1\]"),
    (dict(g=0.5, kappa=-1.01), r"\[-1, 1\]"),
    (dict(g="abc"), "real numbers"),
])
def test_parameter_errors(kwargs, match):
    with pytest.raises(ParameterError, match=match) as exc:
        LinearSpectrum(**kwargs)
    assert isinstance(exc.value, ValueError)


def test_error_message_says_what_is_allowed():
    with pytest.raises(ParameterError, match=r"Allowed: 0 < g < 0\.769231"):
        LinearSpectrum(0.9, kappa=0.3)


def test_other_errors():
    with pytest.raises(ParameterError, match="alpha"):
        MarchenkoPastur(0.0)
    with pytest.raises(ParameterError, match="alpha"):
        MarchenkoPastur(-2.0)
    with pytest.raises(ParameterError, match="positive integer"):
        LinearSpectrum(0.5).rank_curve(0)
    with pytest.raises(ParameterError, match="factor"):
        LinearSpectrum(0.5).scaled(-1)


def test_reciprocal_grid_moments():
    # over the whole stable range (small g, kappa near +-1, g >> 1 for kappa near -1) the
    # density's moments match the closed forms of science.md §3
    for kappa in (-0.99, -0.7, -0.3, -0.01, 0.01, 0.3, 0.7, 0.99):
        gmax = 1 / (1 + kappa)
        for g in (0.03 * gmax, 0.5 * gmax, 0.97 * gmax):
            s = LinearSpectrum(g, kappa)
            r = s._rep
            assert abs(r.mass_raw - 1) < 1e-9
            assert r.moment(1) == pytest.approx(s.mean(), rel=1e-9)
            assert r.moment(2) == pytest.approx(s.moment(2), rel=1e-9)


def test_nan_propagates():
    for s in (LinearSpectrum(0.5), LinearSpectrum(0.5, -1.0), LinearSpectrum(0.5).sampled(0.3)):
        assert np.isnan(s.pdf(np.nan)) and np.isnan(s.cdf(np.nan)) and np.isnan(s.ppf(np.nan))
        assert not np.isnan(s.cdf(np.array([np.nan, 1.0]))[1])
