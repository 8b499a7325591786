"""Covariance eigenvalue spectra of linear random networks (science.md §2-§3).

A *spectrum* here is the limiting (N -> infinity) distribution of the eigenvalues of a
covariance matrix. Every spectrum is a :class:`Spectrum`, which behaves like a frozen
:mod:`scipy.stats` distribution over eigenvalues (``pdf``, ``cdf``, ``ppf``, ``mean``,
``moment``, ``var``, ``support``) and adds ``participation_ratio`` (PR / N),
``rank_curve(n)`` and the observation models ``sampled(alpha)`` (finite time samples) and
``subsampled(fraction)`` (recording a fraction of the neurons), which return new spectra and
compose: ``LinearSpectrum(0.8).subsampled(0.25).sampled(0.5)``.

Concrete spectra:

:class:`LinearSpectrum`
    the zero-frequency covariance ``C = (I - J)^-1 (I - J)^-T`` of a linear network with
    Gaussian couplings of gain ``g`` and reciprocal correlation ``kappa`` (iid for
    ``kappa = 0``).
:class:`MarchenkoPastur`
    the null model: sample covariance of independent unit-variance neurons.

Numerical representation
------------------------
All these densities have square-root edges on a support ``[lo, hi]`` with ``lo > 0`` that can
span many decades (``g -> 1``). A spectrum is therefore stored through the variable
``v = log x``, mapped affinely to ``t = cos(phi)`` in ``[-1, 1]``, as the sine series

    x p(x) = q(v) = sum_k c_k sin((k+1) phi)            (k = 0 .. n-1)

which is the Chebyshev-U expansion ``sqrt(1 - t^2) sum_k c_k U_k(t)`` of a density with
square-root edges. The coefficients come from one discrete sine transform of the density at
the nodes ``phi_j = j pi / (n+1)``; ``n`` doubles until the series has converged (the nodes are
nested). The series converges geometrically (its tail is checked), so that:

- ``cdf`` is the exact antiderivative of the series (a closed form in ``phi``), accurate to
  ~1e-12 even at g = 0.99 where the support spans 7 decades;
- moments ``int x^k p dx`` are trapezoidal sums in ``phi``, which converge geometrically
  because the integrand is smooth and periodic in ``phi``;
- the Stieltjes transform ``G(z) = int p(x) / (z - x) dx`` is evaluated at any complex ``z``,
  including the boundary values on the support, by splitting off the Cauchy singularity in
  ``v`` (evaluated in closed form from the ``U_k`` coefficients, as in Olver & Nadakuditi
  2012) and integrating the smooth remainder with the trapezoidal rule. This is what the
  general free-probability routes of :mod:`neurospec.theory.sampling` are built on.

Evaluation at m points costs O(m n) operations (Clenshaw recurrences) with n typically 63-255,
without any Python loop over points.
"""

from __future__ import annotations

import math

import numpy as np

from neurospec.errors import ConvergenceError, ParameterError
from neurospec.theory.base import (  # noqa: F401  (re-exported: the historical home)
    Spectrum,
    _cubic_roots,
    _positive,
    _quartic_roots,
    _Rep,
    _ScaledSpectrum,
)

__all__ = ["Spectrum", "LinearSpectrum", "MarchenkoPastur"]


# ----------------------------------------------------------------------------------------
# linear random network
# ----------------------------------------------------------------------------------------
class LinearSpectrum(Spectrum):
    r"""Zero-frequency covariance spectrum of a linear random network (science.md §2-§3).

    The eigenvalue distribution, as N -> infinity, of ``C = (I - J)^-1 (I - J)^-T`` (unit
    noise, ``D = I``) for Gaussian couplings ``J_ij ~ N(0, g^2/N)`` with reciprocal
    correlation ``kappa = corr(J_ij, J_ji)``.

    Parameters
    ----------
    g : float
        Coupling gain, ``g > 0`` with ``g (1 + kappa) < 1`` (stability).
    kappa : float, default 0
        Reciprocal correlation in [-1, 1]. ``kappa = 0`` (iid couplings) solves a cubic;
        other values a quartic; ``kappa = +1`` (symmetric J, needs ``g < 1/2``) and
        ``kappa = -1`` (antisymmetric J) use closed forms.
    normalized : bool, default False
        If True, eigenvalues are divided by their mean (``x = lambda / mu``), which is the
        scale that fits to mean-normalised data use. Otherwise eigenvalues are in units of
        the noise variance.

    Notes
    -----
    Mean ``mu = 1/(1-g^2)`` and ``PR/N = (1-g^2)^2`` for iid couplings; for ``kappa != 0``
    the closed forms of science.md §3. Near ``g = 1`` the support spans many decades and
    the density decays like ``x^(-5/3)`` in between.

    Examples
    --------
    >>> s = LinearSpectrum(0.5)
    >>> s.support()  # doctest: +ELLIPSIS
    (0.3227..., 7.3438...)
    >>> round(s.participation_ratio(), 6)
    0.5625
    """

    def __init__(self, g, kappa=0.0, normalized=False):
        try:
            g = float(g)
            kappa = float(kappa)
        except (TypeError, ValueError):
            raise ParameterError(
                f"LinearSpectrum: g and kappa must be real numbers, got g={g!r}, "
                f"kappa={kappa!r}.") from None
        if not np.isfinite(g) or g <= 0:
            raise ParameterError(
                f"LinearSpectrum: the gain g must be positive and finite, got g={g!r}. "
                "Allowed: 0 < g < 1/(1 + kappa).")
        if not np.isfinite(kappa) or abs(kappa) > 1:
            raise ParameterError(
                f"LinearSpectrum: the reciprocal correlation kappa must lie in [-1, 1], got "
                f"kappa={kappa!r}.")
        if g * (1.0 + kappa) >= 1.0:
            raise ParameterError(
                f"LinearSpectrum: g={g!r} with kappa={kappa!r} gives an unstable network "
                f"(g (1 + kappa) = {g * (1 + kappa):.6g} >= 1), where the zero-frequency "
                f"covariance does not exist. Allowed: 0 < g < {1 / (1 + kappa):.6g} for this "
                "kappa.")
        self.g = g
        self.kappa = kappa
        self.normalized = bool(normalized)
        self._raw_mean = self._raw_mean_value()
        self._scale = 1.0 / self._raw_mean if self.normalized else 1.0

    def __repr__(self):
        k = f", kappa={self.kappa:g}" if self.kappa != 0 else ""
        nrm = ", normalized=True" if self.normalized else ""
        return f"LinearSpectrum(g={self.g:g}{k}{nrm})"

    # -- closed-form moments --------------------------------------------------------------
    def _raw_mean_value(self):
        g, kappa = self.g, self.kappa
        if kappa == 0:
            return 1.0 / ((1.0 - g) * (1.0 + g))  # (1-g)(1+g): no cancellation near g = 1
        theta = g * g * (1.0 + kappa)
        return (2 * theta - 1 + math.sqrt(1 + 4 * (g * g - theta))) / (2 * (g * g - theta * theta))

    def _raw_pr(self):
        g, kappa = self.g, self.kappa
        if kappa == 0:
            return ((1.0 - g) * (1.0 + g)) ** 2
        theta = g * g * (1.0 + kappa)
        mu = self._raw_mean
        return ((mu * (2 * g * g * mu + 1) - 2 * theta * mu * (theta * mu + 1))
                / ((theta * mu + 1) ** 2 * (g * g * mu + 1)))

    def _mean_exact(self):
        return self._raw_mean * self._scale

    def _iid_gain(self):
        return self.g if self.kappa == 0 else None

    def _second_moment_exact(self):
        m = self._raw_mean * self._scale
        return m * m / self._raw_pr()

    def participation_ratio(self):
        """``PR/N``: ``(1-g^2)^2`` for iid couplings, science.md §3 for ``kappa != 0``."""
        return self._raw_pr()

    # -- support and density ----------------------------------------------------------------
    def _support_edges(self):
        lo, hi = self._raw_support()
        return lo * self._scale, hi * self._scale

    def _raw_support(self):
        g, kappa = self.g, self.kappa
        if kappa == 0:
            # science.md §2; since a^2 - b^2 = 4 (1 - g^2)^3 the lower edge is 2 / (a + b),
            # free of the cancellation in a - b that costs 8 digits at g = 0.9999
            g2 = g * g
            a = 2 + 5 * g2 - g2 * g2 / 4
            b = (g / 4) * (8 + g2) ** 1.5
            return 2.0 / (a + b), (a + b) / (2 * ((1 - g) * (1 + g)) ** 3)
        if kappa == 1:
            return (1 + 2 * g) ** -2, (1 - 2 * g) ** -2
        if kappa == -1:
            return 1.0 / (1 + 4 * g * g), 1.0
        return _reciprocal_edges(g, kappa)

    def _density_inside(self, x):
        s = self._scale
        return self._raw_density(x / s) / s

    # -- kappa = -1: antisymmetric couplings, closed forms ----------------------------------
    # C = (I - J^2)^-1 with J = g A, A antisymmetric with eigenvalues i mu, mu semicircular
    # on [-2, 2]: lambda = 1 / (1 + g^2 mu^2). The density diverges like (1 - lambda)^-1/2 at
    # the upper edge, which the sine-series representation cannot hold, so every quantity
    # is computed from the semicircle instead.
    def _antisym(self):
        return self.kappa == -1.0

    def _build_rep(self):
        if self._antisym():
            raise NotImplementedError("kappa = -1 uses closed forms")  # pragma: no cover
        return super()._build_rep()

    def support(self):
        if self._antisym():
            lo, hi = self._raw_support()
            return lo * self._scale, hi * self._scale
        return super().support()

    def pdf(self, x):
        if not self._antisym():
            return super().pdf(x)
        x = np.asarray(x, dtype=float)
        lo, hi = self.support()
        inside = (x > lo) & (x < hi)
        out = np.zeros(x.shape)
        out[inside] = self._density_inside(x[inside])
        out = np.where(np.isnan(x), np.nan, out)
        return out if out.ndim else float(out)

    def _mu_of(self, x):
        """|mu| at which 1/(1 + g^2 mu^2) equals the raw eigenvalue x / scale."""
        lam = np.asarray(x, dtype=float) / self._scale
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.sqrt(np.maximum(1.0 / lam - 1.0, 0.0)) / self.g

    def cdf(self, x):
        if not self._antisym():
            return super().cdf(x)
        x = np.asarray(x, dtype=float)
        lo, hi = self.support()
        m = np.clip(self._mu_of(np.clip(x, lo, hi)), 0.0, 2.0)
        # P(|mu| >= m) for the semicircle on [-2, 2]
        f = 1.0 - (m * np.sqrt(4.0 - m * m) / (2 * np.pi) + 2.0 * np.arcsin(m / 2.0) / np.pi)
        out = np.where(x <= lo, 0.0, np.where(x >= hi, 1.0, np.clip(f, 0.0, 1.0)))
        out = np.where(np.isnan(x), np.nan, out)
        return out if out.ndim else float(out)

    def ppf(self, q):
        if not self._antisym():
            return super().ppf(q)
        q = np.asarray(q, dtype=float)
        qc = np.clip(q, 0.0, 1.0)
        # solve 2 th + sin(2 th) = pi (1 - q) for th in [0, pi/2], m = 2 sin(th)
        target = np.pi * (1.0 - qc)
        th = np.clip(target / 4.0, 0.0, np.pi / 2)  # 2th + sin 2th ~ 4 th for small th
        th = np.where(target > np.pi / 2, np.pi / 2 - np.cbrt(3 * (np.pi - target) / 4.0), th)
        for _ in range(30):
            f = 2 * th + np.sin(2 * th) - target
            d = 2 + 2 * np.cos(2 * th)
            with np.errstate(divide="ignore", invalid="ignore"):
                th = np.clip(np.where(d > 0, th - f / d, th), 0.0, np.pi / 2)
        m = 2 * np.sin(th)
        out = self._scale / (1.0 + self.g**2 * m * m)
        out = np.where((q < 0) | (q > 1) | np.isnan(q), np.nan, out)
        return out if out.ndim else float(out)

    def _semicircle_nodes(self, n=400):
        j = np.arange(1, n + 1)
        th = j * np.pi / (n + 1)
        mu = 2 * np.cos(th)
        w = 2.0 / (n + 1) * np.sin(th) ** 2  # Gauss rule for sqrt(4-mu^2)/(2 pi)
        return mu, w

    def expect(self, func):
        if not self._antisym():
            return super().expect(func)
        mu, w = self._semicircle_nodes()
        return float(np.sum(w * func(self._scale / (1.0 + self.g**2 * mu * mu))))

    def moment(self, order):
        if not self._antisym() or order in (0, 1, 2):
            return super().moment(order) if not self._antisym() else self._moment_antisym(order)
        return self.expect(lambda x: x**order)

    def _moment_antisym(self, order):
        if order == 0:
            return 1.0
        if order == 1:
            return self._mean_exact()
        return self._second_moment_exact()

    def _stieltjes(self, z, deriv=False):
        if not self._antisym():
            return super()._stieltjes(z, deriv=deriv)
        # G(z) = (1/z) [1 - G_sc(a) / (a z g^2)] with a^2 = (1/zr - 1)/g^2, zr = z/scale,
        # G_sc(a) = (a - sqrt(a-2) sqrt(a+2)) / 2 the semicircle transform (odd in a)
        sc = self._scale
        g2 = self.g**2
        zr = np.asarray(z, dtype=complex) / sc
        a2 = (1.0 / zr - 1.0) / g2
        # boundary values from Im z > 0 correspond to Im a^2 < 0: keep the sign of zero
        a2 = np.array(a2, dtype=complex)  # (x + 1j * -0.0 would lose the sign of zero)
        a2.imag = np.where(a2.imag == 0, -0.0, a2.imag)
        a = np.sqrt(a2)
        root = np.sqrt(a - 2.0) * np.sqrt(a + 2.0)
        gsc = (a - root) / 2.0
        ratio = gsc / a
        G = (1.0 - ratio / (zr * g2)) / zr
        dgsc = (1.0 - a / root) / 2.0
        da = -1.0 / (2.0 * a * zr * zr * g2)
        dratio = (dgsc / a - gsc / (a * a)) * da
        H = -ratio / (zr * g2)
        dH = -dratio / (zr * g2) + ratio / (zr * zr * g2)
        dG = -(1.0 + H) / (zr * zr) + dH / zr
        # far from the support (|z| small in particular, where the closed form cancels) the
        # Gauss rule of the semicircle is exact to round-off: poles at mu = +-a, |a| > 2
        far = np.abs(a / 2 + root / 2) > 1.1
        if np.any(far):
            mu, w = self._semicircle_nodes()
            lam = 1.0 / (1.0 + g2 * mu * mu)
            inv = 1.0 / (zr[far][..., None] - lam)
            G = np.where(far, 0, G)
            dG = np.where(far, 0, dG)
            G[far] = np.sum(w * inv, axis=-1)
            dG[far] = -np.sum(w * inv * inv, axis=-1)
        if not deriv:
            return G / sc
        return G / sc, dG / sc**2

    def _raw_density(self, lam):
        g, kappa = self.g, self.kappa
        if kappa == 0:
            return _iid_density(lam, g)
        if kappa == 1:
            rad = (4 * g * g - 1) * lam - 1 + 2 * np.sqrt(lam)
            return np.sqrt(np.maximum(rad, 0.0)) / (4 * np.pi * g * g * lam * lam)
        if kappa == -1:
            return (np.sqrt(np.maximum((4 * g * g + 1) * lam - 1, 0.0))
                    / (2 * np.pi * g * g * lam * lam * np.sqrt(np.maximum(1 - lam, 0.0))))
        return _reciprocal_density(lam, g, kappa)


def _iid_density(lam, g):
    """Density of C's eigenvalues, iid couplings: cubic for the Stieltjes transform of W.

    ``w m^3 - 2 w m^2 + (w + 1 - 1/g^2) m - 1 = 0`` with ``w = 1/(g^2 lambda)``;
    ``rho_W = |Im m| / pi`` on the branch of largest ``|Im m|``.
    """
    lam = np.asarray(lam, dtype=float)
    w = 1.0 / (g * g * lam)
    r = _cubic_roots(w, -2.0 * w, w + 1.0 - 1.0 / (g * g), -np.ones_like(w))
    im = np.max(np.abs(r.imag), axis=0)
    return im / np.pi / (g * g * lam * lam)


def _reciprocal_coeffs(y, g, kappa):
    """Quartic of science.md §3 in s (coefficients highest first) at ``y = 1/(g^2 lambda)``."""
    b = 1.0 + kappa
    e2 = 1.0 / (g * g)
    one = np.ones_like(y)
    return (b * b * y, b * (b + 2) * y, y * (2 * kappa + 3) - e2 + b * b, y - e2 + 2 * b, one)


def _reciprocal_root(y, g, kappa):
    """The physical root s(y + i0) of the reciprocal-coupling quartic, vectorised over y.

    The branch is identified by continuation rather than by a rule on the roots (for
    0 < kappa < 1 the support folds and no simple rule holds for all kappa): for
    ``Y = y + i L`` with large ``L`` the physical root is the Stieltjes-like ``s ~ -1/Y``
    (Im s > 0); Newton's method tracks it while ``L`` decreases geometrically to 0, and
    the root of the batched companion-matrix eigenvalues nearest to it is returned.
    """
    y = np.asarray(y, dtype=float)
    b = 1.0 + kappa
    e2 = 1.0 / (g * g)
    big = 1e4 * np.maximum(1.0, y)
    steps = np.concatenate([np.geomspace(1.0, 1e-16, 60), [0.0]])
    Y = y + 1j * big
    s = -1.0 / Y
    for f in steps:
        Y = y + 1j * big * f
        c0, c1 = b * b * Y, b * (b + 2) * Y
        c2, c3 = Y * (2 * kappa + 3) - e2 + b * b, Y - e2 + 2 * b
        for _ in range(2):
            p = (((c0 * s + c1) * s + c2) * s + c3) * s + 1.0
            dp = ((4 * c0 * s + 3 * c1) * s + 2 * c2) * s + c3
            step = p / dp
            s_new = s - step
            bad = ~np.isfinite(s_new) | (s_new.imag < 0)
            s_new = np.where(bad, s - 0.5 * step, s_new)
            s = np.where(~np.isfinite(s_new) | (s_new.imag < 0), s, s_new)
    roots = _quartic_roots(_reciprocal_coeffs(y, g, kappa))
    idx = np.argmin(np.abs(roots - s[None]), axis=0)
    return np.take_along_axis(roots, idx[None], axis=0)[0]


def _reciprocal_density(lam, g, kappa):
    """Density of C's eigenvalues for reciprocal correlation kappa (0 < |kappa| < 1)."""
    lam = np.asarray(lam, dtype=float)
    y = 1.0 / (g * g * lam)
    s = _reciprocal_root(y, g, kappa)
    return np.abs(s.imag) / np.pi / (g * g * lam * lam)


def _reciprocal_edges(g, kappa):
    """Support edges (raw lambda units) for 0 < |kappa| < 1.

    The quartic is linear in y: ``y A(s) + B(s) = 0`` with
    ``A = b^2 s^4 + b (b+2) s^3 + (2 kappa + 3) s^2 + s`` and
    ``B = (b^2 - 1/g^2) s^2 + (2b - 1/g^2) s + 1`` (b = 1 + kappa), so ``y(s) = -B/A`` is an
    explicit map and the edges (double roots in s) are its critical values: the real roots
    of the quintic ``h = B' A - B A'``, each polished by Newton's method, give candidate
    edges ``y(s*)`` (better conditioned than the discriminant in y, whose coefficients span
    many orders of magnitude at small g). Candidates beyond the norm bound
    ``y <= (1 + ||J||)^2 / g^2``, ``||J|| <= g (2 sqrt(1-|kappa|) + 2 sqrt(|kappa|))`` are
    spurious branches. The support is the contiguous run of candidate intervals on which
    the physical branch has positive density (inner candidates are folds).
    """
    b = 1.0 + kappa
    e2 = 1.0 / (g * g)
    A = np.array([0.0, 1.0, 2 * kappa + 3, b * (b + 2), b * b])  # increasing order
    B = np.array([1.0, 2 * b - e2, b * b - e2])
    dA = A[1:] * np.arange(1, 5)
    dB = B[1:] * np.arange(1, 3)
    h = np.convolve(dB, A) - np.convolve(B, dA)
    h = h[: np.max(np.nonzero(h)[0]) + 1]
    roots = np.roots(h[::-1])
    sr = roots[np.abs(roots.imag) <= 1e-6 * np.abs(roots)].real
    hp = np.polyder(h[::-1])
    for _ in range(3):  # Newton polish on h (restores accuracy of small roots)
        with np.errstate(divide="ignore", invalid="ignore"):
            step = np.polyval(h[::-1], sr) / np.polyval(hp, sr)
        sr = np.where(np.isfinite(step), sr - step, sr)
    with np.errstate(divide="ignore", invalid="ignore"):
        yc = -np.polyval(B[::-1], sr) / np.polyval(A[::-1], sr)
    ymax = (1 + g * (2 * math.sqrt(1 - abs(kappa)) + 2 * math.sqrt(abs(kappa)))) ** 2 / g**2
    cand = np.unique(np.sort(yc[np.isfinite(yc) & (yc > 0) & (yc < ymax)]))
    pos = np.array([], dtype=int)
    if cand.size >= 2:
        mids = np.sqrt(cand[:-1] * cand[1:])
        pos = np.nonzero(_reciprocal_density(1.0 / (g * g * mids), g, kappa) > 0)[0]
    if cand.size < 2 or pos.size == 0 or np.any(np.diff(pos) != 1):
        raise ConvergenceError(
            f"LinearSpectrum(g={g}, kappa={kappa}): could not identify the support edges")
    y_lo, y_hi = cand[pos[0]], cand[pos[-1] + 1]
    return 1.0 / (g * g * y_hi), 1.0 / (g * g * y_lo)


# ----------------------------------------------------------------------------------------
# Marchenko-Pastur
# ----------------------------------------------------------------------------------------
class MarchenkoPastur(Spectrum):
    """Marchenko-Pastur law: sample covariance spectrum of independent unit-variance neurons.

    ``p(x) = sqrt((x+ - x)(x - x-)) / (2 pi alpha x)``, ``x± = (1 ± sqrt(alpha))^2``, for
    ``alpha = N / T <= 1`` (mean 1). For ``alpha > 1`` only ``T`` of the ``N`` eigenvalues are
    non-zero; this object then describes those ``T`` non-zero eigenvalues, with density
    ``alpha p(x)`` on the same support and mean ``alpha`` (the same convention as
    :meth:`Spectrum.sampled`). With ``normalized=True`` the distribution is rescaled to mean 1
    for every alpha.

    Parameters
    ----------
    alpha : float
        Ratio of neurons to samples, ``alpha = N / T > 0``. Within 1e-8 of 1 it is evaluated
        at ``1 - 1e-8`` (alpha = 1 has a hard edge at 0 that the representation cannot hold).
    normalized : bool, default False
        Rescale to mean 1 (only changes anything for ``alpha > 1``).

    Examples
    --------
    The spectrum of 200 independent neurons observed for 400 samples:

    >>> from neurospec.theory import MarchenkoPastur
    >>> mp = MarchenkoPastur(0.5)
    >>> [round(float(edge), 4) for edge in mp.support()]
    [0.0858, 2.9142]
    >>> round(float(mp.mean()), 6), round(float(mp.participation_ratio()), 4)
    (1.0, 0.6667)
    >>> x = np.random.default_rng(0).standard_normal((400, 200))
    >>> ev = np.linalg.eigvalsh(x.T @ x / 400)
    >>> bool(abs(np.mean(ev <= 1.0) - mp.cdf(1.0)) < 0.03)
    True
    """

    def __init__(self, alpha, normalized=False):
        alpha = _positive(alpha, "MarchenkoPastur: alpha")
        self.alpha = alpha
        # alpha = 1 has a hard edge at 0 (density ~ x^-1/2) that the log-variable
        # representation cannot hold: within 1e-8 of 1 it is evaluated at 1 - 1e-8
        # (CDF change ~1e-7 near 0), as in neurospec.theory.sampling
        if abs(alpha - 1.0) < 1e-8:
            alpha = 1.0 - 1e-8
        self._a = alpha
        self.normalized = bool(normalized) or alpha <= 1
        self._scale = 1.0 / alpha if (normalized and alpha > 1) else 1.0

    def __repr__(self):
        nrm = ", normalized=True" if self.normalized and self.alpha > 1 else ""
        return f"MarchenkoPastur(alpha={self.alpha:g}{nrm})"

    def _support_edges(self):
        r = math.sqrt(self._a)
        return (1 - r) ** 2 * self._scale, (1 + r) ** 2 * self._scale

    def _density_inside(self, x):
        s = self._scale
        lam = x / s
        lo, hi = (1 - math.sqrt(self._a)) ** 2, (1 + math.sqrt(self._a)) ** 2
        p = np.sqrt(np.maximum((hi - lam) * (lam - lo), 0.0)) / (2 * np.pi * self._a * lam)
        return p * max(self._a, 1.0) / s

    def _mean_exact(self):
        return max(self._a, 1.0) * self._scale

    def _second_moment_exact(self):
        # continuous part of E[x^2] = 1 + alpha; for alpha > 1 divide by its mass 1/alpha
        return (1.0 + self._a) * max(self._a, 1.0) * self._scale**2

    def _stieltjes(self, z, deriv=False):
        # N x N MP Stieltjes transform (atom at 0 of mass 1 - 1/alpha when alpha > 1);
        # the non-zero part is alpha * (G - (1 - 1/alpha)/z)
        a = self._a
        s = self._scale
        zz = np.asarray(z, dtype=complex) / s
        lo, hi = (1 - math.sqrt(a)) ** 2, (1 + math.sqrt(a)) ** 2
        root = np.sqrt(zz - lo) * np.sqrt(zz - hi)
        # G_N(z) = (z + a - 1 - sqrt((z-lo)(z-hi))) / (2 a z)  (branch ~ 1/z at infinity)
        gn = (zz + a - 1 - root) / (2 * a * zz)
        dgn = ((1 - (zz - (lo + hi) / 2) / root) * zz - (zz + a - 1 - root)) / (2 * a * zz * zz)
        if a > 1:
            gn = a * (gn - (1 - 1 / a) / zz)
            dgn = a * (dgn + (1 - 1 / a) / (zz * zz))
        if deriv:
            return gn / s, dgn / s**2
        return gn / s
