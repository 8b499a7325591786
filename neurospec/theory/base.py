"""Shared machinery of every covariance spectrum: the :class:`Spectrum` base class and its
numerical representation (see :mod:`neurospec.theory.linear` for the description of the
log-variable sine-series representation), vectorised polynomial roots, and rescaled spectra.

:mod:`neurospec.theory.linear` (the network spectra) and :mod:`neurospec.theory.sampling`
(observation models) both build on this module and do not import each other.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.fft import dst

from neurospec.errors import ConvergenceError, ParameterError

__all__ = ["Spectrum"]

# ----------------------------------------------------------------------------------------
# polynomial roots, vectorised over evaluation points
# ----------------------------------------------------------------------------------------
def _cubic_roots(a, b, c, d):
    """All three roots of ``a r^3 + b r^2 + c r + d`` for arrays of coefficients.

    Cardano's formula on complex arrays (the cube root taken of the larger of the two
    candidates, which avoids cancellation), followed by one Newton step per root.

    Returns
    -------
    ndarray, complex, shape (3,) + broadcast shape of the coefficients
    """
    a = np.asarray(a, dtype=complex)
    B = b / a
    C = c / a
    D = d / a
    p = C - B * B / 3.0
    q = 2.0 * B**3 / 27.0 - B * C / 3.0 + D
    disc = np.sqrt(q * q / 4.0 + p**3 / 27.0)
    u1 = -q / 2.0 + disc
    u2 = -q / 2.0 - disc
    u = np.where(np.abs(u1) >= np.abs(u2), u1, u2) ** (1.0 / 3.0)
    u = np.where(u == 0, 1e-300, u)  # triple root: u = 0 and p = 0
    rot = np.exp(2j * np.pi / 3.0)
    roots = np.empty((3,) + np.shape(u), dtype=complex)
    for k in range(3):
        uk = u * rot**k
        roots[k] = uk - p / (3.0 * uk) - B / 3.0
    # one Newton step on the monic polynomial improves near-double roots to round-off
    r = roots
    f = ((r + B) * r + C) * r + D
    fp = (3.0 * r + 2.0 * B) * r + C
    with np.errstate(divide="ignore", invalid="ignore"):
        step = np.where(fp != 0, f / fp, 0.0)
    ok = np.isfinite(step) & (np.abs(step) < 0.1 * (np.abs(r) + 1e-300))
    return np.where(ok, r - step, r)


def _poly_newton(coeffs, r, iters=2):
    """Newton-polish roots ``r`` of ``sum_i coeffs[i] r^(deg - i)`` (coeffs broadcast to r)."""
    for _ in range(iters):
        f = np.zeros_like(r)
        fp = np.zeros_like(r)
        for a in coeffs:
            fp = fp * r + f
            f = f * r + a
        with np.errstate(divide="ignore", invalid="ignore"):
            step = np.where(fp != 0, f / fp, 0.0)
        ok = np.isfinite(step) & (np.abs(step) < 0.1 * (np.abs(r) + 1e-300))
        r = np.where(ok, r - step, r)
    return r


def _quartic_roots(coeffs):
    """All four roots of a quartic whose coefficient arrays (highest first) broadcast.

    Batched companion-matrix eigenvalues (one LAPACK call for all points), Newton-polished.
    Returns complex array of shape (4,) + broadcast shape.
    """
    coeffs = np.broadcast_arrays(*[np.asarray(c, dtype=float) for c in coeffs])
    shape = coeffs[0].shape
    a = coeffs[0].ravel()
    comp = np.zeros((a.size, 4, 4))
    comp[:, 1, 0] = comp[:, 2, 1] = comp[:, 3, 2] = 1.0
    for i in range(4):
        comp[:, 0, i] = -coeffs[i + 1].ravel() / a
    roots = np.linalg.eigvals(comp).T.reshape((4,) + shape)
    return _poly_newton([c.astype(complex) for c in coeffs], roots, iters=2)


# ----------------------------------------------------------------------------------------
# the log-variable sine-series representation of a density with square-root edges
# ----------------------------------------------------------------------------------------
def _useries(coef, t):
    """``sum_k coef[k] U_k(t)`` by Clenshaw's recurrence, vectorised over ``t``."""
    b1 = np.zeros_like(t)
    b2 = np.zeros_like(t)
    two_t = 2.0 * t
    for ck in coef[::-1]:
        b1, b2 = ck + two_t * b1 - b2, b1
    return b1


def _psi_powers(psi, n):
    """``[psi^1, ..., psi^n]`` for each element of ``psi`` (shape (m, n)), one cumprod."""
    return np.cumprod(np.broadcast_to(psi[:, None], (psi.size, n)), axis=1)


def _cmatvec(m, w):
    """Complex matrix times real vector (a complex BLAS call is far slower here)."""
    return m.real @ w + 1j * (m.imag @ w)


class _Rep:
    """Sine-series representation of ``q(v) = x p(x)``, ``v = log x = c0 + h cos(phi)``.

    Parameters
    ----------
    lo, hi : float
        Support edges (0 < lo < hi), in the spectrum's own units.
    density : callable
        ``density(x)`` -> p(x) for an array of points strictly inside ``(lo, hi)``.
    n0, nmax : int
        Initial and largest number of nodes (of the form 2^m - 1).
    tol : float
        Relative size of the coefficient tail below which the series has converged.
    """

    def __init__(self, lo, hi, density, n0=63, nmax=4095, tol=1e-12, q_nodes=None):
        if not (0 < lo < hi and np.isfinite(hi)):
            raise ConvergenceError(f"invalid spectrum support [{lo!r}, {hi!r}]")
        self.lo, self.hi = float(lo), float(hi)
        self.vlo, self.vhi = math.log(lo), math.log(hi)
        self.c0 = 0.5 * (self.vlo + self.vhi)
        self.h = 0.5 * (self.vhi - self.vlo)
        if q_nodes is not None:  # a ready-made node set (rescaled copies)
            self._set(np.asarray(q_nodes, dtype=float))
            return
        n = n0
        phi = np.arange(1, n + 1) * np.pi / (n + 1)
        q = self._q(density, phi)
        prev_tail = np.inf
        while True:
            c = dst(q, type=1) / (n + 1)
            scale = np.max(np.abs(c))
            if not np.isfinite(scale) or scale == 0:
                raise ConvergenceError("spectral density evaluated to zero or non-finite values")
            tail = np.max(np.abs(c[-max(4, n // 8):])) / scale
            # converged, or the tail has reached the round-off floor of the density itself
            # a tail that stops decreasing below 1e-9 is the round-off floor of the density
            if tail < tol or n >= nmax or (tail < 1e-9 and tail > 0.25 * prev_tail):
                if tail > 1e-7 and n >= nmax:
                    raise ConvergenceError(
                        f"spectral density on [{lo:.4g}, {hi:.4g}] did not resolve with {n} "
                        f"nodes (coefficient tail {tail:.1e})")
                break
            prev_tail = tail
            # nested refinement: the old nodes are the even nodes of the new grid
            n2 = 2 * n + 1
            phi_new = np.arange(1, n2 + 1, 2) * np.pi / (n2 + 1)
            q2 = np.empty(n2)
            q2[1::2] = q
            q2[0::2] = self._q(density, phi_new)
            n, q = n2, q2
        self._set(q)

    def _q(self, density, phi):
        x = np.exp(self.c0 + self.h * np.cos(phi))
        return density(x) * x

    def _set(self, q):
        n = q.size
        self.n = n
        self.phi = np.arange(1, n + 1) * np.pi / (n + 1)
        self.sinphi = np.sin(self.phi)
        self.v = self.c0 + self.h * np.cos(self.phi)
        self.x = np.exp(self.v)
        c = dst(q, type=1) / (n + 1)
        self.mass_raw = self.h * c[0] * np.pi / 2.0
        # normalise: the representation integrates to one exactly
        self.q = q / self.mass_raw
        self.c = c / self.mass_raw
        # CDF coefficients: F(phi) = h [c_0 (pi - phi)/2 + sum_{m>=1} e_m sin(m phi)]
        e = np.zeros(n + 2)
        e[1:n] -= self.c[1:n] / (2.0 * np.arange(1, n))
        e[2:n + 2] += self.c[:n] / (2.0 * np.arange(2, n + 2))
        self.e = e[1:]  # e_m for m = 1..n+1, so sin(m phi) = sin(phi) U_{m-1}(cos phi)
        self.wq = self.h * np.pi / (n + 1) * self.sinphi * self.q  # quadrature weights x density
        self._kc = np.arange(1, n + 1) * self.c  # (k+1) c_k, for the derivative of C(v0)
        self._ppf_table = None

    def rescaled(self, factor):
        """The representation of the distribution of ``factor * x``."""
        r = _Rep.__new__(_Rep)
        r.lo, r.hi = self.lo * factor, self.hi * factor
        r.vlo, r.vhi = math.log(r.lo), math.log(r.hi)
        r.c0, r.h = self.c0 + math.log(factor), self.h
        r._set(self.q * self.mass_raw)
        r.mass_raw = self.mass_raw
        return r

    # -- evaluation -------------------------------------------------------------------
    def _t(self, x):
        with np.errstate(divide="ignore", invalid="ignore"):
            return (np.log(x) - self.c0) / self.h

    def pdf(self, x):
        x = np.asarray(x, dtype=float)
        out = np.zeros(x.shape)
        inside = (x > self.lo) & (x < self.hi)
        if np.any(inside):
            xi = x[inside]
            t = np.clip(self._t(xi), -1.0, 1.0)
            q = np.sqrt(1.0 - t * t) * _useries(self.c, t)
            out[inside] = np.maximum(q, 0.0) / xi
        return np.where(np.isnan(x), np.nan, out)

    def cdf_t(self, t):
        """CDF as a function of ``t`` in [-1, 1] (array)."""
        phi = np.arccos(t)
        s = _useries(self.e, t)
        f = self.h * (self.c[0] * (np.pi - phi) / 2.0 + np.sqrt(1.0 - t * t) * s)
        return f

    def cdf(self, x):
        x = np.asarray(x, dtype=float)
        out = np.where(x >= self.hi, 1.0, 0.0)
        inside = (x > self.lo) & (x < self.hi)
        if np.any(inside):
            t = np.clip(self._t(x[inside]), -1.0, 1.0)
            out[inside] = np.clip(self.cdf_t(t), 0.0, 1.0)
        return np.where(np.isnan(x), np.nan, out)

    def ppf(self, p):
        p = np.asarray(p, dtype=float)
        if self._ppf_table is None:
            m = 8 * (self.n + 1)
            phi_tab = np.linspace(np.pi, 0.0, m + 1)
            f_tab = np.maximum.accumulate(np.clip(self.cdf_t(np.cos(phi_tab)), 0.0, 1.0))
            f_tab[0], f_tab[-1] = 0.0, 1.0
            self._ppf_table = (f_tab, phi_tab)
        f_tab, phi_tab = self._ppf_table
        pc = np.clip(p, 0.0, 1.0)
        idx = np.clip(np.searchsorted(f_tab, pc, side="right") - 1, 0, f_tab.size - 2)
        pa, pb = phi_tab[idx], phi_tab[idx + 1]  # phi decreases with F: bracket [pb, pa]
        fa, fb = f_tab[idx], f_tab[idx + 1]
        with np.errstate(divide="ignore", invalid="ignore"):
            w = np.where(fb > fa, (pc - fa) / (fb - fa), 0.5)
        phi = pa + w * (pb - pa)
        for _ in range(4):  # safeguarded Newton in phi
            t = np.cos(phi)
            f = self.cdf_t(t) - pc
            dens = np.sqrt(1.0 - t * t) * _useries(self.c, t)
            dfdphi = -self.h * dens * np.sin(phi)
            with np.errstate(divide="ignore", invalid="ignore"):
                step = np.where(dfdphi != 0, f / dfdphi, 0.0)
            phi = np.clip(phi - step, pb, pa)
        x = np.exp(self.c0 + self.h * np.cos(phi))
        x = np.where(pc <= 0.0, self.lo, np.where(pc >= 1.0, self.hi, x))
        return np.where((p < 0) | (p > 1) | np.isnan(p), np.nan, x)

    def moment(self, k):
        """``int x^k p(x) dx`` (trapezoidal rule in phi; geometric convergence)."""
        return float(np.sum(self.wq * self.x ** k))

    def expect(self, func):
        return float(np.sum(self.wq * func(self.x)))

    # -- Stieltjes transform ----------------------------------------------------------
    def stieltjes(self, z, deriv=False):
        """``G(z) = int p(x) / (z - x) dx`` for complex ``z`` (Im z >= 0 gives the boundary
        value from above on the support), and optionally ``G'(z)``.

        ``G(z) = [int q(v) r(v - v0) dv + C(v0)] / z`` with ``v0 = log z``,
        ``r(d) = 1/d - 1/(e^d - 1)`` analytic near the real ``v`` axis and ``C(v0) =
        int q(v) / (v0 - v) dv = pi sum_k c_k psi(t0)^(k+1)``, ``psi(t) = t - sqrt(t-1)
        sqrt(t+1)``.
        """
        z = np.asarray(z, dtype=complex)
        shape = z.shape
        z = z.ravel()
        v0 = np.log(z)
        # keep boundary values on the upper side of the cut (log of x + 0j has imag +0.0)
        t0 = (v0 - self.c0) / self.h
        t0 = t0.real + 1j * np.abs(t0.imag)
        sq = np.sqrt(t0 - 1.0) * np.sqrt(t0 + 1.0)
        psi = t0 - sq
        # far from the support (pole outside the Bernstein ellipse where the trapezoidal
        # rule is exact to round-off) the plain quadrature sum is used: it avoids the
        # cancellation of the split form when |z| << lo
        far = np.abs(psi) ** (self.n + 1) < 1e-18
        G = np.empty(z.shape, dtype=complex)
        dG = np.empty(z.shape, dtype=complex) if deriv else None
        if far.any():
            zf = z[far][:, None]
            inv = 1.0 / (zf - self.x[None, :])
            G[far] = _cmatvec(inv, self.wq)
            if deriv:
                dG[far] = -_cmatvec(inv * inv, self.wq)
        near = ~far
        if near.any():
            out = self._stieltjes_split(z[near], v0[near], psi[near], sq[near], deriv)
            if deriv:
                G[near], dG[near] = out
            else:
                G[near] = out
        if deriv:
            return G.reshape(shape), dG.reshape(shape)
        return G.reshape(shape)

    def _stieltjes_split(self, z, v0, psi, sq, deriv):
        powers = _psi_powers(psi, self.n)  # psi^(k+1), k = 0..n-1
        cauchy = np.pi * _cmatvec(powers, self.c)
        d = self.v[None, :] - v0[:, None]
        xj = self.x[None, :]
        zc = z[:, None]
        small = np.abs(d) < 0.1
        any_small = bool(small.any())
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            inv_d = 1.0 / d
            inv_xz = 1.0 / (xj - zc)
            r = inv_d - zc * inv_xz  # 1/d - 1/(e^d - 1), with e^d - 1 = (x_j - z)/z
        if any_small:  # series where the two terms cancel
            ds = d[small]
            d2 = ds * ds
            r[small] = 0.5 - ds / 12.0 + ds * d2 / 720.0 - ds * d2 * d2 / 30240.0
        smooth = _cmatvec(r, self.wq)
        S = smooth + cauchy
        G = S / z
        if not deriv:
            return G
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            rp = xj * zc * inv_xz * inv_xz - inv_d * inv_d
            dpsi = -psi / sq
        if any_small:
            d2 = ds * ds
            rp[small] = -1.0 / 12.0 + d2 / 240.0 - d2 * d2 / 6048.0
        # sum_k (k+1) c_k psi^k = c_0 + sum_{k>=1} (k+1) c_k psi^k
        dsum = self.c[0] + _cmatvec(powers[:, :-1], self._kc[1:])
        dS_dv0 = -_cmatvec(rp, self.wq) + np.pi * dsum * dpsi / self.h
        dG = (dS_dv0 / z - S / z) / z
        return G, dG


# ----------------------------------------------------------------------------------------
# the base class
# ----------------------------------------------------------------------------------------
class Spectrum:
    """A limiting covariance eigenvalue distribution, used like a frozen scipy.stats law.

    Subclasses provide the support and the density inside it (``_support_edges`` and
    ``_density_inside``); the base class builds a converged sine-series representation
    once (lazily, cached) and derives everything else from it. Subclasses may override
    ``_mean_exact`` / ``_second_moment_exact`` with closed forms.

    Attributes
    ----------
    normalized : bool
        True when the distribution has mean 1 by construction.
    """

    normalized: bool = False

    # -- to be provided by subclasses -------------------------------------------------
    def _support_edges(self):  # pragma: no cover - abstract
        raise NotImplementedError

    def _density_inside(self, x):  # pragma: no cover - abstract
        raise NotImplementedError

    def _mean_exact(self):
        return None

    def _iid_gain(self):
        """The gain ``g`` when this is an iid-coupling network spectrum (exact cubic routes of
        the observation models apply), else None."""
        return None

    def _second_moment_exact(self):
        return None

    # -- representation -----------------------------------------------------------------
    @property
    def _rep(self):
        rep = self.__dict__.get("_rep_cache")
        if rep is None:
            rep = self._build_rep()
            self.__dict__["_rep_cache"] = rep
        return rep

    def _build_rep(self):
        lo, hi = self._support_edges()
        return _Rep(lo, hi, self._density_inside)

    # -- scipy.stats-like interface -----------------------------------------------------
    def support(self):
        """Support ``(lo, hi)`` of the density (floats, eigenvalue units)."""
        rep = self._rep
        return rep.lo, rep.hi

    def pdf(self, x):
        """Probability density at ``x`` (array_like, eigenvalue units); 0 outside the support."""
        x = np.asarray(x, dtype=float)
        out = self._rep.pdf(x)
        return out if out.ndim else float(out)

    def cdf(self, x):
        """Cumulative distribution function at ``x`` (array_like)."""
        x = np.asarray(x, dtype=float)
        out = self._rep.cdf(x)
        return out if out.ndim else float(out)

    def sf(self, x):
        """Survival function ``1 - cdf(x)``."""
        return 1.0 - self.cdf(x)

    def ppf(self, q):
        """Quantile function (inverse CDF) at probabilities ``q`` in [0, 1]; NaN outside."""
        q = np.asarray(q, dtype=float)
        out = self._rep.ppf(q)
        return out if out.ndim else float(out)

    def isf(self, q):
        """Inverse survival function, ``ppf(1 - q)``."""
        return self.ppf(1.0 - np.asarray(q, dtype=float))

    def moment(self, order):
        """Raw moment ``E[x^order]`` (closed form where known, else quadrature, ~1e-12)."""
        if order == 0:
            return 1.0
        if order == 1:
            m = self._mean_exact()
            if m is not None:
                return float(m)
        if order == 2:
            m = self._second_moment_exact()
            if m is not None:
                return float(m)
        return self._rep.moment(order)

    def mean(self):
        """Mean eigenvalue."""
        return self.moment(1)

    def var(self):
        """Variance of the eigenvalue distribution."""
        m1 = self.moment(1)
        return self.moment(2) - m1 * m1

    def std(self):
        """Standard deviation of the eigenvalue distribution."""
        return math.sqrt(self.var())

    def expect(self, func):
        """``E[func(x)]`` for a vectorised ``func`` (quadrature on the representation)."""
        return self._rep.expect(func)

    def participation_ratio(self):
        """Participation ratio per neuron, ``PR / N = mean^2 / E[x^2]`` (a number in (0, 1])."""
        m1 = self.moment(1)
        return m1 * m1 / self.moment(2)

    def rank_curve(self, n):
        """Theoretical k-th largest of ``n`` eigenvalues, k = 1..n.

        Uses the quantiles at the mid-points of ``n`` equal-probability bins,
        ``ppf((n - k + 0.5) / n)``.

        Returns
        -------
        ndarray, shape (n,)
            Descending eigenvalues.
        """
        n = int(n)
        if n < 1:
            raise ParameterError(f"rank_curve: n must be a positive integer, got {n}.")
        k = np.arange(1, n + 1)
        return np.asarray(self.ppf((n - k + 0.5) / n), dtype=float)

    def rvs(self, size=None, random_state=None):
        """Independent draws (inverse-CDF sampling); ``random_state`` seeds a Generator."""
        rng = np.random.default_rng(random_state)
        return self.ppf(rng.random(size))

    def stieltjes(self, z):
        """Stieltjes transform ``G(z) = E[1 / (z - x)]`` at complex ``z`` (array_like).

        For real ``z`` inside the support this is the boundary value from the upper half
        plane, ``G(x + i0) = PV - i pi p(x)``.
        """
        return self._stieltjes(np.asarray(z, dtype=complex))

    def _stieltjes(self, z, deriv=False):
        return self._rep.stieltjes(z, deriv=deriv)

    # -- observation models ---------------------------------------------------------------
    def sampled(self, alpha, method="auto", temporal=None):
        """Spectrum of the sample covariance from ``T = N / alpha`` samples (independent, or
        with the temporal correlation ``temporal``).

        See :func:`neurospec.theory.sampling.sampled`.
        """
        from neurospec.theory.sampling import sampled

        return sampled(self, alpha, method=method, temporal=temporal)

    def subsampled(self, fraction):
        """Spectrum of the covariance of a random ``fraction`` M/N of the neurons.

        See :func:`neurospec.theory.sampling.subsampled`.
        """
        from neurospec.theory.sampling import subsampled

        return subsampled(self, fraction)

    def scaled(self, factor):
        """The distribution of ``factor * x`` (``factor > 0``)."""
        factor = _positive(factor, "factor")
        return _ScaledSpectrum(self, factor)

    def normalize(self):
        """This spectrum rescaled to mean 1 (returns self if already normalized)."""
        if self.normalized:
            return self
        out = _ScaledSpectrum(self, 1.0 / self.mean())
        out.normalized = True
        return out

    def __repr__(self):
        return f"<{type(self).__name__}>"


class _ScaledSpectrum(Spectrum):
    """``factor * x`` for x distributed as ``parent``."""

    def __init__(self, parent, factor):
        self.parent = parent
        self.factor = float(factor)
        self.normalized = False

    def _build_rep(self):
        return self.parent._rep.rescaled(self.factor)

    def _mean_exact(self):
        m = self.parent._mean_exact()
        return None if m is None else m * self.factor

    def _second_moment_exact(self):
        m = self.parent._second_moment_exact()
        return None if m is None else m * self.factor**2

    def _stieltjes(self, z, deriv=False):
        # G_s(z) = G(z / s) / s
        s = self.factor
        out = self.parent._stieltjes(np.asarray(z) / s, deriv=deriv)
        if deriv:
            return out[0] / s, out[1] / s**2
        return out / s

    def __repr__(self):
        return f"{self.parent!r}.scaled({self.factor:.6g})"


def _positive(value, name):
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ParameterError(f"{name} must be a positive number, got {value!r}.") from None
    if not (np.isfinite(v) and v > 0):
        raise ParameterError(f"{name} must be a positive finite number, got {value!r}.")
    return v
