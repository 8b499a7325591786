"""How observation distorts a covariance spectrum (science.md §4).

Two observation models, each returning a new :class:`~neurospec.theory.linear.Spectrum`
(so they compose, e.g. ``LinearSpectrum(0.8).subsampled(0.25).sampled(0.5)``):

:func:`sampled`
    finite time samples: the spectrum of the sample covariance of ``T = N / alpha``
    independent samples, the free multiplicative convolution of the true spectrum with
    Marchenko-Pastur(alpha).
:func:`subsampled`
    recording a random fraction ``f = M / N`` of the neurons: the spectrum of an M x M
    principal submatrix, the free compression of the true spectrum (R-transform ``R(f w)``).

Routes
------
``"polynomial"`` (iid couplings, sampled only)
    the exact cubic of science.md §4 for ``s = z G(z) - 1``,
    ``(k+a)^2 s^3 + [2k + 2a + k a (1-1/g^2) + a^2] s^2 + [1 + k (1-1/g^2) + 2a] s + 1 = 0``
    with ``k = g^2 x``, ``a = alpha``, density ``|Im s| / (pi x)``; the support edges are the
    double roots (discriminant roots refined by Newton on the double-root system).
``"subordination"`` (any spectrum)
    the subordination (Silverstein) equations solved on the nodes of the output's
    representation, using the parent's Stieltjes transform ``G``:

    - sampling: ``x = w (1 - a + a w G(w))``, output ``G_S(x) = w G(w) / x``;
    - compression: ``x = w - (1 - f) / G(w)``, output ``G_f(x) = G(w) / f``.

    The support edges are the critical values of these explicit maps ``x(w)`` on the real
    axis outside the parent's support; inside the support, ``w`` is found by Newton's method
    with a homotopy ``x (1 + i y)``, ``y: 1 -> 0`` (vectorised over all nodes).

Convention for ``alpha > 1`` (fewer samples than neurons)
----------------------------------------------------------
The N x N sample covariance then has ``N - T`` zero eigenvalues. The spectrum returned
describes only the ``T`` non-zero eigenvalues: its density is ``alpha`` times the continuous
part of the N x N spectral density (so it integrates to one), and its mean is ``alpha`` times
the parent's mean (e.g. ``alpha / (1 - g^2)`` for an unnormalized iid spectrum). Call
``.normalize()`` on the result for mean 1. ``alpha = 1`` exactly has a hard edge at 0
(density ~ x^-1/2); ``|alpha - 1| < 1e-8`` is evaluated at ``alpha = 1 - 1e-8`` (CDF change
~1e-7 near x = 0, less elsewhere).
"""

from __future__ import annotations

import math

import numpy as np

from neurospec.errors import ConvergenceError, ParameterError
from neurospec.theory.base import Spectrum, _cmatvec, _cubic_roots, _Rep

__all__ = ["sampled", "subsampled", "SampledSpectrum", "SubsampledSpectrum",
           "CorrelatedSampledSpectrum"]

# alpha within this distance of 1 is evaluated at 1 - _ALPHA_GAP: alpha = 1 has a hard edge at
# 0 (density ~ x^-1/2) that the log-variable representation cannot hold; the CDF changes by
# O(sqrt(_ALPHA_GAP)) ~ 1e-7 near 0 and far less elsewhere
_ALPHA_GAP = 1e-8


def sampled(spectrum, alpha, method="auto", temporal=None):
    """Spectrum of the sample covariance from ``T = N / alpha`` samples.

    Parameters
    ----------
    spectrum : Spectrum
        The true (population) covariance spectrum.
    alpha : float
        ``N / T >= 0``; ``alpha = 0`` (infinitely many samples) returns ``spectrum``. Use an
        *effective* T for temporally correlated samples.
    method : {"auto", "polynomial", "subordination"}
        ``"auto"`` uses the exact cubic for iid :class:`LinearSpectrum` and subordination
        otherwise (always subordination with a non-white ``temporal``).
    temporal : TemporalSpectrum, optional
        Temporal correlation of the samples (:class:`~neurospec.theory.temporal.
        TemporalSpectrum`, the eigenvalues of the T x T correlation B, mean 1). The result
        is then ``spectrum (x) W_B`` with ``W_B = Z^T B Z / T`` and ``alpha = N / T``
        counts *all* T samples (science.md §4, "Temporally correlated samples"). ``None``
        or a white one: independent samples (Marchenko-Pastur).

    Returns
    -------
    Spectrum
        For ``alpha > 1``, the distribution of the T non-zero eigenvalues (mean
        ``alpha * spectrum.mean()``); see the module docstring.

    Examples
    --------
    >>> from neurospec.theory import LinearSpectrum
    >>> from neurospec.theory.temporal import TemporalSpectrum
    >>> s = sampled(LinearSpectrum(0.5), 0.25, temporal=TemporalSpectrum.ar1(0.8, 1601))
    >>> round(s.mean(), 6)  # the mean is unchanged: 1 / (1 - g^2)
    1.333333
    """
    if not isinstance(spectrum, Spectrum):
        raise ParameterError(
            f"sampled: expected a neurospec Spectrum, got {type(spectrum).__name__}.")
    try:
        a = float(alpha)
    except (TypeError, ValueError):
        raise ParameterError(f"sampled: alpha must be a number N/T >= 0, got {alpha!r}.") from None
    if not np.isfinite(a) or a < 0:
        raise ParameterError(
            f"sampled: alpha = N/T must be finite and >= 0, got {alpha!r}.")
    if a == 0:
        return spectrum
    if temporal is not None:
        from neurospec.theory.temporal import TemporalSpectrum

        if not isinstance(temporal, TemporalSpectrum):
            raise ParameterError(
                "sampled: temporal must be a TemporalSpectrum (neurospec.theory.temporal), got "
                f"{type(temporal).__name__}.")
        if not temporal.is_white():
            return CorrelatedSampledSpectrum(spectrum, a, temporal)
    if method not in ("auto", "polynomial", "subordination"):
        raise ParameterError(
            f"sampled: method must be 'auto', 'polynomial' or 'subordination', got {method!r}.")
    iid = spectrum._iid_gain() is not None
    if method == "polynomial" and not iid:
        raise ParameterError(
            "sampled: method='polynomial' exists only for iid couplings (LinearSpectrum with "
            "kappa=0); use method='subordination'.")
    if method == "auto":
        method = "polynomial" if iid else "subordination"
    return SampledSpectrum(spectrum, a, method)


def subsampled(spectrum, fraction):
    """Spectrum of the covariance of a random fraction ``M / N`` of the neurons.

    Free compression: the R-transform of the result is ``R(f w)``. The mean is unchanged
    and ``1 / PR_M = 1 / M + 1 / PR_N - 1 / N``.

    Parameters
    ----------
    spectrum : Spectrum
        Spectrum of the full N x N covariance.
    fraction : float
        ``f = M / N`` in (0, 1]; ``f = 1`` returns ``spectrum``.

    Returns
    -------
    Spectrum
        The spectrum of the recorded neurons' covariance (same mean).

    Examples
    --------
    >>> from neurospec.theory import LinearSpectrum
    >>> s = subsampled(LinearSpectrum(0.5), 0.25)
    >>> round(1 / s.participation_ratio(), 4)  # 1/PR_M = f (1/PR_N - 1) + 1 per neuron
    1.1944
    """
    if not isinstance(spectrum, Spectrum):
        raise ParameterError(
            f"subsampled: expected a neurospec Spectrum, got {type(spectrum).__name__}.")
    try:
        f = float(fraction)
    except (TypeError, ValueError):
        raise ParameterError(
            f"subsampled: fraction must be a number in (0, 1], got {fraction!r}.") from None
    if not (np.isfinite(f) and 0 < f <= 1):
        raise ParameterError(
            f"subsampled: fraction = M/N must lie in (0, 1], got {fraction!r}.")
    if f == 1:
        return spectrum
    return SubsampledSpectrum(spectrum, f)


# ----------------------------------------------------------------------------------------
class SampledSpectrum(Spectrum):
    """Sample-covariance spectrum ``parent`` x Marchenko-Pastur(``alpha``); see :func:`sampled`.

    Attributes
    ----------
    parent : Spectrum
    alpha : float
    method : str
        ``"polynomial"`` or ``"subordination"``.
    """

    def __init__(self, parent, alpha, method):
        self.parent = parent
        self.alpha = float(alpha)
        self._a = 1.0 - _ALPHA_GAP if abs(self.alpha - 1.0) < _ALPHA_GAP else self.alpha
        self.method = method
        self.normalized = bool(parent.normalized and self.alpha <= 1)

    def __repr__(self):
        return f"{self.parent!r}.sampled({self.alpha:g})"

    def _mean_exact(self):
        m = self.parent.moment(1)
        return m * max(self.alpha, 1.0)

    def _second_moment_exact(self):
        m1 = self.parent.moment(1)
        m2 = self.parent.moment(2)
        return (m2 + self.alpha * m1 * m1) * max(self.alpha, 1.0)

    def _build_rep(self):
        if self.method == "polynomial":
            try:
                rep = self._build_rep_polynomial()
                # the cubic loses accuracy near alpha = 1 (near-triple root at small x):
                # its raw normalisation is an independent check of the whole density
                if abs(rep.mass_raw - 1.0) < 1e-10:
                    return rep
            except ConvergenceError:
                pass
            self.method = "subordination"
        return _subordination_rep(self.parent, _SamplingMap(self._a))

    def _density_inside(self, x):
        """Density at points inside the support, straight from the chosen route (no series)."""
        x = np.asarray(x, dtype=float)
        if self.method == "polynomial":
            s_out = self.parent._scale  # parent's normalisation; sampling commutes with scaling
            return (_iid_sampled_density(x / s_out, self.parent.g, self._a)
                    * max(self._a, 1.0) / s_out)
        return _subordination_density(self.parent, _SamplingMap(self._a), x)

    # -- exact cubic for iid couplings ---------------------------------------------------
    def _build_rep_polynomial(self):
        p = self.parent
        s_out = p._scale
        lo, hi = _iid_sampled_edges(p.g, self._a)
        return _Rep(lo * s_out, hi * s_out, self._density_inside)


def _iid_cubic(k, g, a):
    """Coefficients (highest first) of the §4 cubic in s at ``k = g^2 x``."""
    e = 1.0 - 1.0 / (g * g)
    return ((k + a) ** 2, 2 * k + 2 * a + e * a * k + a * a, 1.0 + e * k + 2 * a, 1.0)


def _iid_sampled_density(lam, g, a):
    """Continuous part of the N x N sample-covariance density (iid couplings), raw units."""
    lam = np.asarray(lam, dtype=float)
    k = g * g * lam
    A, B, C, D = _iid_cubic(k, g, a)
    r = _cubic_roots(A, B, C, D * np.ones_like(k))
    return np.max(np.abs(r.imag), axis=0) / (np.pi * lam)


def _padd(*terms):
    """Sum of polynomials given as increasing-order coefficient arrays."""
    out = np.zeros(max(t.size for t in terms))
    for t in terms:
        out[: t.size] += t
    return out


def _iid_sampled_edges(g, a):
    """Support edges of the iid sampled spectrum (raw units): double roots of the cubic.

    The discriminant of the cubic in s is a quintic in k = g^2 x with an exact factor k^2
    (at k = 0 the cubic is (1 + s)(1 + a s)^2); the edges are the positive roots of the
    remaining cubic Q(k) bounding the interval where Q < 0 (a complex pair of roots, i.e.
    positive density). Each is then refined by Newton's method on the double-root system
    P = dP/ds = 0 (well conditioned, unlike the discriminant near alpha = 1).
    """
    e = 1.0 - 1.0 / (g * g)
    conv = np.convolve
    A = np.array([a * a, 2 * a, 1.0])
    B = np.array([2 * a + a * a, 2 + e * a])
    C = np.array([1 + 2 * a, e])
    B2, C2 = conv(B, B), conv(C, C)
    disc = _padd(18 * conv(conv(A, B), C), -4 * conv(B2, B), conv(B2, C2),
                 -4 * conv(A, conv(C2, C)), -27 * conv(A, A))
    q = disc[2:]  # increasing order, cubic
    roots = np.roots(q[::-1])
    cand = np.sort(roots[(np.abs(roots.imag) <= 1e-10 * np.abs(roots)) & (roots.real > 0)].real)
    if cand.size < 2:
        raise ConvergenceError(f"no support found for the sampled iid spectrum (g={g}, alpha={a})")
    mids = 0.5 * (cand[:-1] + cand[1:])
    neg = np.nonzero(np.polyval(q[::-1], mids) < 0)[0]
    if neg.size != 1:
        raise ConvergenceError(
            f"sampled iid spectrum (g={g}, alpha={a}): expected one support interval, found "
            f"{neg.size}")
    k_lo = _refine_double_root(float(cand[neg[0]]), g, a)
    k_hi = _refine_double_root(float(cand[neg[0] + 1]), g, a)
    return k_lo / (g * g), k_hi / (g * g)


def _refine_double_root(k, g, a, iters=6):
    """Newton on ``P(s, k) = dP/ds(s, k) = 0`` (double root of the cubic) from ``k``.

    Scalar arithmetic (two edges per spectrum: numpy call overhead would dominate). The
    start ``s`` is the double root of a cubic with zero discriminant,
    ``s = (9 A D - B C) / (2 (B^2 - 3 A C))``.
    """
    e = 1.0 - 1.0 / (g * g)
    k0 = k
    A, B, C = (k + a) ** 2, 2 * k + 2 * a + e * a * k + a * a, 1.0 + e * k + 2 * a
    den = 2 * (B * B - 3 * A * C)
    if den == 0:
        return k0
    s = (9 * A - B * C) / den
    dB = 2 + e * a
    for _ in range(iters):
        A, B, C = (k + a) ** 2, 2 * k + 2 * a + e * a * k + a * a, 1.0 + e * k + 2 * a
        P = ((A * s + B) * s + C) * s + 1.0
        Ps = (3 * A * s + 2 * B) * s + C
        Pss = 6 * A * s + 2 * B
        dA = 2 * (k + a)
        Pk = (dA * s + dB) * s * s + e * s
        Psk = (3 * dA * s + 2 * dB) * s + e
        det = Ps * Psk - Pk * Pss
        if det == 0 or not math.isfinite(det):
            break
        s, k = s - (P * Psk - Pk * Ps) / det, k - (Ps * Ps - P * Pss) / det
    # keep the discriminant root if Newton wandered off (should not happen)
    if not math.isfinite(k) or abs(k - k0) > 1e-3 * abs(k0):
        return k0
    return k


# ----------------------------------------------------------------------------------------
class SubsampledSpectrum(Spectrum):
    """Spectrum of a random fraction ``f`` of the neurons of ``parent``; see :func:`subsampled`."""

    def __init__(self, parent, fraction):
        self.parent = parent
        self.fraction = float(fraction)
        self.method = "subordination"
        self.normalized = bool(parent.normalized)

    def __repr__(self):
        return f"{self.parent!r}.subsampled({self.fraction:g})"

    def _mean_exact(self):
        return self.parent.moment(1)

    def _second_moment_exact(self):
        m1 = self.parent.moment(1)
        f = self.fraction
        return f * self.parent.moment(2) + (1 - f) * m1 * m1

    def _build_rep(self):
        return _subordination_rep(self.parent, _CompressionMap(self.fraction))

    def _density_inside(self, x):
        """Density at points inside the support, from the subordination equation (no series)."""
        return _subordination_density(self.parent, _CompressionMap(self.fraction),
                                      np.asarray(x, dtype=float))


# ----------------------------------------------------------------------------------------
class CorrelatedSampledSpectrum(Spectrum):
    """Sample-covariance spectrum of temporally correlated samples; see :func:`sampled`.

    ``parent (x) W_B``: with ``q = alpha = N / T`` and the temporal eigenvalues ``b``
    (mean 1), the subordination map is ``x(w) = w h(delta)``, where ``delta`` solves
    ``phi(delta) = q (1 - w G(w))``, ``h(delta) = E_b[b / (1 + b delta)]`` and
    ``phi = delta h`` (the deterministic equivalent of the separable sample covariance,
    Paul & Silverstein 2009; for ``b = 1`` it reduces to ``x = w (1 - q + q w G(w))``,
    Marchenko-Pastur). The distribution of ``b`` enters through a Gauss rule
    (:meth:`TemporalSpectrum.quadrature`). Moments: mean ``E[x]``, second moment
    ``E[x^2] + q E[b^2] E[x]^2`` (times ``alpha`` for the nonzero eigenvalues when
    ``alpha > 1``).

    Attributes
    ----------
    parent : Spectrum
    alpha : float
    temporal : TemporalSpectrum
    """

    def __init__(self, parent, alpha, temporal):
        self.parent = parent
        self.alpha = float(alpha)
        self.temporal = temporal
        self._a = 1.0 - _ALPHA_GAP if abs(self.alpha - 1.0) < _ALPHA_GAP else self.alpha
        self.method = "subordination"
        self.normalized = bool(parent.normalized and self.alpha <= 1)
        nodes, weights = temporal.quadrature()
        self._map = _CorrelatedSamplingMap(self._a, nodes, weights)

    def __repr__(self):
        return f"{self.parent!r}.sampled({self.alpha:g}, temporal={self.temporal!r})"

    def _mean_exact(self):
        return self.parent.moment(1) * max(self.alpha, 1.0)

    def _second_moment_exact(self):
        m1 = self.parent.moment(1)
        m2 = self.parent.moment(2)
        return (m2 + self.alpha * self._map.m2 * m1 * m1) * max(self.alpha, 1.0)

    def _build_rep(self):
        lo, hi = _correlated_edges(self.parent, self._map)
        return _Rep(lo, hi, self._density_inside)

    def _density_inside(self, x):
        x = np.asarray(x, dtype=float)
        w, G = self._map.solve(self.parent, x, self.parent.moment(1))
        return np.maximum(self._map.density(x, w, G), 0.0)


class _CorrelatedSamplingMap:
    """``x(w) = w h(delta(tau))``, ``tau = q (1 - w G(w))``, ``phi(delta) = tau`` (see
    :class:`CorrelatedSampledSpectrum`); b-sums over Gauss nodes ``b`` with weights ``p``."""

    def __init__(self, q, b, p):
        self.q = float(q)
        self.b = np.asarray(b, dtype=float)
        self.p = np.asarray(p, dtype=float)
        self.m2 = float(self.p @ self.b ** 2)
        self.bmin, self.bmax = float(self.b.min()), float(self.b.max())

    # -- sums over the temporal spectrum ------------------------------------------------
    def sums(self, d):
        """``h, h', phi, phi'`` at ``delta = d`` (array, real or complex)."""
        d = np.asarray(d)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            r = 1.0 / (1.0 + d[..., None] * self.b)
        rb = r * self.b
        if np.iscomplexobj(r):
            s0, s1, s2 = (_cmatvec(r, self.p), _cmatvec(rb, self.p),
                          _cmatvec(rb * rb, self.p))
            s3 = _cmatvec(rb * r, self.p)
        else:
            s0, s1, s2, s3 = r @ self.p, rb @ self.p, (rb * rb) @ self.p, (rb * r) @ self.p
        return s1, -s2, 1.0 - s0, s3

    def real_delta(self, tau):
        """Real ``delta`` with ``phi(delta) = tau``: the principal branch (right of every
        pole, ``phi`` from -inf to 1) for ``tau < 1``, the left branch (left of every pole,
        ``phi`` from +inf down to 1) for ``tau > 1``; bisection in ``log`` of the distance
        to the nearest pole, then Newton."""
        tau = np.asarray(tau, dtype=float)
        left = tau > 1.0
        lo = np.full(tau.shape, -80.0)
        hi = np.full(tau.shape, 80.0)
        sign = np.where(left, -1.0, 1.0)
        pole = np.where(left, -1.0 / self.bmin, -1.0 / self.bmax)

        def at(s):
            return pole + sign * np.exp(s)

        for _ in range(30):  # log-distance to the pole to ~1e-7, then Newton (quadratic)
            mid = 0.5 * (lo + hi)
            _, _, phi, _ = self.sums(at(mid))
            # principal: phi increases with s; left: phi decreases with s
            up = np.where(left, phi > tau, phi < tau)
            lo = np.where(up, mid, lo)
            hi = np.where(up, hi, mid)
        d = at(0.5 * (lo + hi))
        for _ in range(4):
            _, _, phi, phip = self.sums(d)
            step = (phi - tau) / phip
            d_new = d - step
            ok = np.isfinite(d_new) & (np.abs(step) < 0.5 * np.abs(d - pole))
            d = np.where(ok, d_new, d)
        return np.where(tau == 1.0, np.inf, d)

    # -- the map on the real axis (support edges) -----------------------------------------
    def x(self, w, G):
        tau = self.q * (1.0 - w * G)
        d = self.real_delta(tau)
        h, _, _, _ = self.sums(d)
        return w * np.where(np.isfinite(d), h, 0.0)

    def dx(self, w, G, dG):
        tau = self.q * (1.0 - w * G)
        d = self.real_delta(tau)
        h, hp, _, phip = self.sums(d)
        dtau = -self.q * (G + w * dG)
        return h + w * (hp / phip) * dtau

    def density(self, x, w, G):
        return -np.imag(w * G) / (np.pi * x) * max(self.q, 1.0)

    # -- the map off the real axis: joint Newton on (w, delta) ----------------------------
    def solve(self, parent, x, m1):
        """``w`` (and ``G(w)``) with ``x(w) = x + i0`` for each x inside the support."""
        x = np.asarray(x, dtype=float)
        w, d, G, resid = self._homotopy(parent, x, m1, 8.0, 9)
        redo = ~(resid <= 1e-9)
        if np.any(redo):
            w2, d2, G2, r2 = self._homotopy(parent, x[redo], m1, 2.0, 28)
            w[redo], G[redo], resid[redo] = w2, G2, r2
        if np.any(~np.isfinite(resid)) or np.max(resid) > 1e-9:
            raise ConvergenceError(
                "correlated-sample subordination did not converge (max relative residual "
                f"{np.nanmax(resid):.2e})")
        return w, G

    def _homotopy(self, parent, x, m1, ratio, n_levels):
        """Newton on ``phi(delta) = q (1 - w G(w))``, ``w h(delta) = x (1 + i y)`` for
        ``y = ratio^-k``, then ``y = 0``, carrying ``(w, delta)`` from level to level."""
        q = self.q
        # start far from the spectrum, where w ~ z - q E[b^2] m1 and delta ~ -q m1 / w are
        # accurate, then walk down to the real axis: y from y0 (|z0| >= 10 x the scale of
        # the spectrum) down by factors of ``ratio``
        y0 = np.maximum(1.0, 10.0 * m1 * max(q, 1.0) * (1.0 + q * self.m2) / x)
        n_up = int(math.ceil(math.log(float(y0.max())) / math.log(ratio)))
        levels = [y0 * ratio ** -k for k in range(n_up + n_levels)]
        levels = [np.minimum(lv, ratio ** -(k - n_up)) if k >= n_up else lv
                  for k, lv in enumerate(levels)]
        ys = levels + [np.zeros_like(x)]
        z0 = x * (1 + 1j * ys[0])
        w = z0 - q * self.m2 * m1
        d = -q * m1 / w
        for j, y in enumerate(ys):
            final = j == len(ys) - 1
            tol, max_it = (1e-14, 16) if final else (1e-7, 6)
            z = x * (1 + 1j * y)
            active = np.arange(x.size)
            for _ in range(max_it):
                wa, da, za = w[active], d[active], z[active]
                G, dG = parent._stieltjes(wa, deriv=True)
                h, hp, phi, phip = self.sums(da)
                e1 = phi - q * (1.0 - wa * G)
                e2 = wa * h - za
                a11 = q * (G + wa * dG)
                a12 = phip
                a21 = h
                a22 = wa * hp
                det = a11 * a22 - a12 * a21
                with np.errstate(divide="ignore", invalid="ignore"):
                    sw = (e1 * a22 - a12 * e2) / det
                    sd = (a11 * e2 - a21 * e1) / det
                w_new, d_new = wa - sw, da - sd
                bad = (~np.isfinite(w_new) | ~np.isfinite(d_new) | (w_new.imag < 0)
                       | (d_new.imag < 0))
                for _ in range(8):  # damp steps that leave the upper half planes
                    if not bad.any():
                        break
                    sw = np.where(bad, 0.5 * sw, sw)
                    sd = np.where(bad, 0.5 * sd, sd)
                    w_new, d_new = wa - sw, da - sd
                    bad = (~np.isfinite(w_new) | ~np.isfinite(d_new) | (w_new.imag < 0)
                           | (d_new.imag < 0))
                w_new = np.where(bad, wa, w_new)
                d_new = np.where(bad, da, d_new)
                w[active], d[active] = w_new, d_new
                done = ((np.abs(sw) <= tol * np.abs(wa))
                        & (np.abs(sd) <= tol * (np.abs(da) + 1.0 / self.bmax))) | bad
                active = active[~done]
                if active.size == 0:
                    break
        G = parent._stieltjes(w)
        h, _, phi, _ = self.sums(d)
        r1 = np.abs(phi - q * (1.0 - w * G)) / (np.abs(phi) + q * (1.0 + np.abs(w * G)))
        r2 = np.abs(w * h - x) / (np.abs(w * h) + x)
        return w, d, G, np.maximum(r1, r2)


def _correlated_edges(parent, mp):
    """Support edges of ``parent (x) W_B``: the critical values of the real map ``x(w)``.

    Upper edge: the minimum of ``x(w)`` for ``w`` above the parent's support (principal
    branch). Lower edge: the maximum of ``x(w)`` on the part of ``(0, lo)`` where
    ``tau < 1`` (``q < 1``), or on the part of ``(-inf, 0)`` where ``tau > 1`` (``q > 1``,
    left branch: T < N, the nonzero eigenvalues).
    """
    from scipy.optimize import brentq

    lo_p, hi_p = parent.support()

    def edge(grid):
        try:
            return _edge_search(parent, mp, grid)[1]
        except ConvergenceError:
            # no critical point resolved on the grid: the parent's edge is so sharp (g -> 1,
            # tiny q) that the extremum lies within 1e-12 of its first point
            G = parent._stieltjes(np.array([grid[0]], dtype=complex)).real
            return float(mp.x(np.array([grid[0]]), G)[0])

    hi = edge(hi_p * (1 + np.logspace(-12, 4, 97)))

    def tau_minus_1(wr):
        G = parent._stieltjes(np.array([wr], dtype=complex)).real[0]
        return mp.q * (1.0 - wr * G) - 1.0

    if mp.q < 1:
        w1 = lo_p * (1 - 1e-12)
        if tau_minus_1(w1) > 0:
            w1 = brentq(tau_minus_1, 1e-14 * lo_p, w1, xtol=1e-15 * lo_p, rtol=1e-14)
        grid = np.concatenate([w1 * (1 - np.logspace(-12, 0, 97)[:-1]),
                               w1 * np.logspace(-3, -14, 45)])
    else:
        # tau rises from 0 (w -> -inf) to q > 1 (w -> 0-): find where it crosses 1
        a = -lo_p
        while tau_minus_1(a) > 0:
            a *= 4.0
        w1 = brentq(tau_minus_1, a, -1e-300, xtol=1e-15 * abs(a), rtol=1e-14)
        grid = w1 * np.concatenate([1 - np.logspace(-12, 0, 97)[:-1], np.logspace(-3, -14, 45)])
    lo = edge(grid)
    if not (0 < lo < hi):
        raise ConvergenceError(f"correlated-sample spectrum has an invalid support [{lo}, {hi}]")
    return lo, hi


# ----------------------------------------------------------------------------------------
# subordination machinery
# ----------------------------------------------------------------------------------------
class _SamplingMap:
    """``x(w) = w (1 - a + a w G(w))``; output density ``-Im(w G(w)) / (pi x)``."""

    def __init__(self, a):
        self.a = a

    def x(self, w, G):
        return w * (1 - self.a + self.a * w * G)

    def scale(self, w, G):
        return np.abs(w) * (abs(1 - self.a) + self.a * np.abs(w * G))

    def dx(self, w, G, dG):
        a = self.a
        return 1 - a + 2 * a * w * G + a * w * w * dG

    def start(self, z, m1):
        return z - self.a * m1

    def density(self, x, w, G):
        return -np.imag(w * G) / (np.pi * x) * max(self.a, 1.0)

    def lower_interval(self, lo_parent):
        # lower edge: max of x(w) on (0, lo) for a < 1, on (-inf, 0) for a > 1
        return (0.0, lo_parent) if self.a < 1 else (-np.inf, 0.0)


class _CompressionMap:
    """``x(w) = w - (1 - f) / G(w)``; output density ``-Im G(w) / (pi f)``."""

    def __init__(self, f):
        self.f = f

    def x(self, w, G):
        return w - (1 - self.f) / G

    def scale(self, w, G):
        return np.abs(w) + (1 - self.f) / np.abs(G)

    def dx(self, w, G, dG):
        return 1 + (1 - self.f) * dG / (G * G)

    def start(self, z, m1):
        f = self.f
        return z / f - (1 - f) * m1 / f

    def density(self, x, w, G):
        return -np.imag(G) / (np.pi * self.f)

    def lower_interval(self, lo_parent):
        return (-np.inf, lo_parent)


def _edge_search(parent, mp, grid):
    """Root of ``x'(w)`` on a sorted real grid where it changes sign once; returns (w, x)."""
    from scipy.optimize import brentq  # heavy import, needed by the general route only

    w = np.asarray(grid, dtype=float)
    G, dG = parent._stieltjes(w.astype(complex), deriv=True)
    d = mp.dx(w, G.real, dG.real)
    sign_change = np.nonzero(np.sign(d[:-1]) != np.sign(d[1:]))[0]
    if sign_change.size == 0:
        raise ConvergenceError("could not locate the support edge of the transformed spectrum")

    def f(wr):
        Gs, dGs = parent._stieltjes(np.array([wr], dtype=complex), deriv=True)
        return float(mp.dx(wr, Gs.real[0], dGs.real[0]))

    # the sign change closest to the parent's support (grid is ordered away from it)
    i = sign_change[0]
    wa, wb = w[i], w[i + 1]
    w_star = brentq(f, min(wa, wb), max(wa, wb), xtol=1e-15 * max(abs(wa), abs(wb)), rtol=1e-15,
                    maxiter=200)
    Gs = parent._stieltjes(np.array([w_star], dtype=complex)).real[0]
    return w_star, float(mp.x(w_star, Gs))


def _subordination_edges(parent, mp):
    lo_p, hi_p = parent.support()
    # upper edge: minimum of x(w) on (hi_p, inf); grid ordered away from the support
    grid_hi = hi_p * (1 + np.logspace(-12, 4, 97))
    _, hi = _edge_search(parent, mp, grid_hi)
    a_lo, b_lo = mp.lower_interval(lo_p)
    if a_lo == 0.0:
        grid_lo = b_lo * (1 - np.logspace(-12, 0, 97)[:-1])
        grid_lo = np.concatenate([grid_lo, b_lo * np.logspace(-3, -14, 45)])
    elif b_lo == 0.0:
        grid_lo = -lo_p * np.logspace(-14, 8, 133)
    else:  # (-inf, lo_p): start next to lo_p, then through 0 to large negative values
        grid_lo = np.concatenate([lo_p * (1 - np.logspace(-12, 0, 97)[:-1]),
                                  -lo_p * np.logspace(-8, 8, 97)])
    _, lo = _edge_search(parent, mp, grid_lo)
    if not (0 < lo < hi):
        raise ConvergenceError(f"transformed spectrum has an invalid support [{lo}, {hi}]")
    return lo, hi


def _homotopy(parent, mp, x, m1, ratio, n_levels):
    """Newton's method on ``mp.x(w) = x (1 + i y)`` for y = ratio^-k, k < n_levels, then 0."""
    ys = np.concatenate([ratio ** -np.arange(0, n_levels, dtype=float), [0.0]])
    w = mp.start(x * (1 + 1j * ys[0]), m1)
    for j, y in enumerate(ys):
        final = j == len(ys) - 1
        tol, max_it = (1e-14, 12) if final else (1e-7, 4)
        active = np.arange(x.size)
        for _ in range(max_it):
            wa = w[active]
            G, dG = parent._stieltjes(wa, deriv=True)
            step = (mp.x(wa, G) - x[active] * (1 + 1j * y)) / mp.dx(wa, G, dG)
            # damp steps that would leave the upper half plane
            w_new = wa - step
            bad = ~np.isfinite(w_new) | (w_new.imag < 0)
            w_new = np.where(bad, wa - 0.5 * step, w_new)
            w_new = np.where(~np.isfinite(w_new) | (w_new.imag < 0),
                             wa.real + 0.5j * wa.imag, w_new)
            w[active] = w_new
            done = np.abs(step) <= tol * np.abs(wa)
            active = active[~done]
            if active.size == 0:
                break
    G = parent._stieltjes(w)
    # backward error: residual relative to the size of the terms of the map
    resid = np.abs(mp.x(w, G) - x) / (mp.scale(w, G) + x)
    return w, G, resid


def _solve_subordination(parent, mp, x, m1):
    """Solve ``mp.x(w) = x + i0`` for each x (inside the support) by a homotopy in Im z.

    A coarse homotopy (y = 8^-k) serves almost all points; those that do not converge
    (near a hard-ish edge, alpha ~ 1) are redone with a fine one (y = 2^-k).
    """
    x = np.asarray(x, dtype=float)
    w, G, resid = _homotopy(parent, mp, x, m1, 8.0, 9)
    redo = ~(resid <= 1e-9)
    if np.any(redo):
        w2, G2, r2 = _homotopy(parent, mp, x[redo], m1, 2.0, 28)
        w[redo], G[redo], resid[redo] = w2, G2, r2
    if np.any(~np.isfinite(resid)) or np.max(resid) > 1e-9:
        raise ConvergenceError(
            f"subordination equation did not converge (max relative residual "
            f"{np.nanmax(resid):.2e})")
    return w, G


def _subordination_density(parent, mp, x):
    w, G = _solve_subordination(parent, mp, x, parent.moment(1))
    return np.maximum(mp.density(x, w, G), 0.0)


def _subordination_rep(parent, mp):
    lo, hi = _subordination_edges(parent, mp)
    return _Rep(lo, hi, lambda x: _subordination_density(parent, mp, x))
