"""The forward model of a measured spectrum and its fast tables (one job: model CDFs).

The eigenvalues ``lambda`` of the sample covariance of ``N`` neurons are modelled as draws from

    ``sigma^2 x``,  ``x ~ LinearSpectrum(g_eff, kappa) [.subsampled(fraction)]
    .sampled(alpha, temporal=B)``

the zero-frequency spectrum of a linear network (science.md §2-§3), compressed by recording a
fraction of the neurons and distorted by ``T = N / alpha`` samples whose temporal correlation
has the spectrum ``B`` (science.md §4: ``C (x) W_B``; Marchenko-Pastur when the samples are
independent). ``g_eff = 0`` is the null of independent neurons (``MP (x) B``).

Model CDFs are tabulated lazily on a grid of ``atanh(g)`` (and ``kappa``) nodes and
interpolated (cubic Lagrange in the parameters, on a support-relative abscissa so that moving
edges stay sharp), so a fit costs a few dozen model constructions and a bootstrap refit a few
milliseconds.
"""

from __future__ import annotations

import math

import numpy as np

from ..errors import FitError

#: grid step of the model tables in w = atanh(g) (iid) / atanh(g (1 + kappa)) (reciprocal)
DW = 0.02
#: grid step in kappa (reciprocal model)
DKAPPA = 0.05
#: largest g_eff (iid) or g (1 + kappa) (reciprocal) the fit can return
U_MAX = 0.999
W_MAX_INDEX = int(math.floor(math.atanh(U_MAX) / DW))  # 190 nodes above 0
#: the cap itself: the last table node, tanh(190 * 0.02) = 0.99900
G_CAP = math.tanh(W_MAX_INDEX * DW)
KAPPA_RANGE = (-0.9, 1.0)
#: number of support-relative abscissae per tabulated model CDF
NZ = 513
#: gain standing in for 0 where a continuous population is needed (a near point mass)
_G_NULL = 1e-3

Z = 0.5 * (1.0 - np.cos(np.pi * np.arange(NZ) / (NZ - 1)))  # clustered at both edges


def temporal_key(temporal):
    """A hashable signature of a temporal spectrum (None for white / absent)."""
    if temporal is None or temporal.is_white():
        return None
    b, p = temporal.quadrature()
    return tuple(np.round(b, 10)) + tuple(np.round(p, 12))


def model_spectrum(g, kappa, alpha, fraction, temporal=None):
    """The (unnormalised) forward-model spectrum; ``g = 0`` is the null of independent neurons.

    Parameters
    ----------
    g, kappa : float
        Gain and reciprocal correlation.
    alpha : float
        ``N / T`` (0: no sampling distortion).
    fraction : float or None
        Recorded fraction of the network.
    temporal : TemporalSpectrum or None
        Temporal correlation of the samples (None or white: independent samples).

    Returns
    -------
    Spectrum
    """
    from ..theory import LinearSpectrum, MarchenkoPastur

    white = temporal is None or temporal.is_white()
    if g <= 1e-9:
        if alpha > 0 and white:
            return MarchenkoPastur(alpha)
        g = _G_NULL  # a near point mass: alpha = 0 or correlated samples need a density
    spec = LinearSpectrum(g, kappa=kappa)
    if fraction is not None and fraction < 1:
        spec = spec.subsampled(fraction)
    if alpha > 0:
        spec = spec.sampled(alpha, temporal=None if white else temporal)
    return spec


def null_spectrum(alpha, temporal=None):
    """The null of independent neurons: Marchenko-Pastur(alpha), ``(x) B`` for correlated
    samples (None when ``alpha = 0``)."""
    if alpha <= 0:
        return None
    return model_spectrum(0.0, 0.0, alpha, None, temporal)


class Model:
    """Parametrisation of one forward model (iid or reciprocal) in table coordinates.

    Table coordinates ``theta``: ``(atanh(g),)`` for iid couplings, ``(atanh(g (1 + kappa)),
    kappa)`` for reciprocal ones (the first coordinate measures the distance to instability).
    """

    def __init__(self, model, alpha, fraction, temporal=None):
        self.model = model
        self.alpha = float(alpha)
        self.fraction = fraction
        self.temporal = None if temporal is None or temporal.is_white() else temporal
        self.temporal_key = temporal_key(self.temporal)
        if model == "iid":
            self.steps = np.array([DW])
            self.lower = np.array([0])
            self.upper = np.array([W_MAX_INDEX])
        else:
            self.steps = np.array([DW, DKAPPA])
            self.lower = np.array([0, int(round(KAPPA_RANGE[0] / DKAPPA))])
            self.upper = np.array([W_MAX_INDEX, int(round(KAPPA_RANGE[1] / DKAPPA))])
        self.dim = self.steps.size

    @property
    def alpha_eff(self):
        """``alpha E[b^2]``: the ratio that sets the second moment of the sampling noise."""
        m2 = 1.0 if self.temporal is None else self.temporal.second_moment()
        return self.alpha * m2

    def natural(self, theta):
        """``(g, kappa)`` from table coordinates."""
        u = math.tanh(max(float(theta[0]), 0.0))
        if self.dim == 1:
            return u, 0.0
        kappa = float(theta[1])
        return u / (1.0 + kappa), kappa

    def theta(self, g, kappa=0.0):
        """Table coordinates from ``(g, kappa)``."""
        u = min(max(g * (1.0 + kappa), 0.0), G_CAP)
        if self.dim == 1:
            return np.array([math.atanh(u)])
        return np.array([math.atanh(u), kappa])

    def bounds(self):
        return self.lower * self.steps, self.upper * self.steps

    def spectrum(self, g, kappa=0.0):
        """The forward-model spectrum at ``(g, kappa)``.

        A temporal spectrum far from white (a slow shared signal the fit has not dropped yet)
        can make the correlated-sample model break into several support intervals, which the
        representation cannot hold; there the model falls back to independent samples with
        the same second moment (``alpha E[b^2]``) and ``fallback`` is set, so the fit can say so.
        """
        spec = model_spectrum(g, kappa, self.alpha, self.fraction, self.temporal)
        if self.temporal is None:
            return spec
        try:
            spec.support()
            return spec
        except (ArithmeticError, ValueError):
            self.fallback = True
            return model_spectrum(g, kappa, self.alpha_eff, self.fraction, None)

    fallback = False


_ROW_CACHE = {}
_ROW_CACHE_MAX = 20000  # rows of ~4 kB each


class Table:
    """Model CDFs on lazily built parameter nodes, interpolated cubically between them.

    Each node stores the CDF of its spectrum at ``NZ`` abscissae placed on its own support in
    ``log x`` (clustered at both edges). Between nodes the CDF at a point ``x`` is the
    Lagrange combination of the nodes' CDFs at the same *relative* position ``z`` in the
    (interpolated) log-support, so square-root edges that move with the parameters are not
    smeared.
    """

    def __init__(self, model):
        self.model = model
        # rows are shared by every table of the same forward model (bootstrap refits, repeated
        # fits at the same alpha and temporal spectrum), so a study builds each row once
        tag = (model.model, round(model.alpha, 12), model.fraction, model.temporal_key)
        self.rows = _ROW_CACHE.setdefault(tag, {})
        if sum(len(v) for v in _ROW_CACHE.values()) > _ROW_CACHE_MAX:
            _ROW_CACHE.clear()
            self.rows = _ROW_CACHE.setdefault(tag, {})
        self._last = (None, None)

    def row(self, key):
        r = self.rows.get(key)
        if r is None:
            theta = np.asarray(key, dtype=float) * self.model.steps
            g, kappa = self.model.natural(theta)
            try:
                spec = self.model.spectrum(g, kappa)
                lo, hi = spec.support()
                llo, lhi = math.log(lo), math.log(hi)
                F = np.asarray(spec.cdf(np.exp(llo + Z * (lhi - llo))), dtype=float)
                mean = float(spec.mean())
            except (ArithmeticError, ValueError) as exc:
                raise FitError(
                    f"GainFit: the forward model could not be evaluated at g={g:.4g}, "
                    f"kappa={kappa:.3g}, alpha={self.model.alpha:.4g} ({exc}). Try model='iid' or "
                    "check alpha."
                ) from exc
            F = np.maximum.accumulate(np.clip(F, 0.0, 1.0))
            F[0], F[-1] = 0.0, 1.0
            r = (llo, lhi, F, math.log(mean))
            self.rows[key] = r
        return r

    def _stencil(self, theta):
        """Integer node keys and tensor-product Lagrange weights around ``theta``."""
        m = self.model
        per_dim = []
        for d in range(m.dim):
            t = float(theta[d]) / m.steps[d]
            if abs(t - round(t)) < 1e-9:
                t = float(round(t))  # exactly on a node: one row, no interpolation
            base = int(math.floor(t)) - 1
            base = min(max(base, m.lower[d]), m.upper[d] - 3)
            s = t - base  # position in node units, nodes at 0, 1, 2, 3
            w = np.array([
                -(s - 1) * (s - 2) * (s - 3) / 6.0,
                s * (s - 2) * (s - 3) / 2.0,
                -s * (s - 1) * (s - 3) / 2.0,
                s * (s - 1) * (s - 2) / 6.0,
            ])
            per_dim.append((base, w))
        if m.dim == 1:
            base, w = per_dim[0]
            return [((base + j,), w[j]) for j in range(4) if w[j] != 0.0]
        (b0, w0), (b1, w1) = per_dim
        return [((b0 + i, b1 + j), w0[i] * w1[j])
                for i in range(4) for j in range(4) if w0[i] * w1[j] != 0.0]

    def _combined(self, theta):
        key = tuple(float(v) for v in theta)
        if self._last[0] == key:
            return self._last[1]
        rows = [(self.row(k), c) for k, c in self._stencil(theta)]
        llo = sum(c * r[0] for r, c in rows)
        lhi = sum(c * r[1] for r, c in rows)
        lmean = sum(c * r[3] for r, c in rows)
        out = (rows, llo, lhi, lmean)
        self._last = (key, out)
        return out

    def evaluate(self, theta, logx):
        """Model CDF at ``exp(logx)`` and the model's log-mean, at parameters ``theta``."""
        rows, llo, lhi, lmean = self._combined(theta)
        z = (logx - llo) / (lhi - llo)
        if len(rows) == 1:
            F = np.interp(z, Z, rows[0][0][2])
        else:
            F = rows[0][1] * np.interp(z, Z, rows[0][0][2])
            for r, c in rows[1:]:
                F += c * np.interp(z, Z, r[2])
        return np.clip(F, 0.0, 1.0), lmean, (llo, lhi)

    def quantile(self, theta, q):
        """Approximate model quantile (log x) at probability ``q`` (used by the drop rule)."""
        st = self._stencil(theta)
        rows = [(self.row(k), c) for k, c in st]
        llo = sum(c * r[0] for r, c in rows)
        lhi = sum(c * r[1] for r, c in rows)
        z = sum(c * np.interp(q, r[2], Z) for r, c in rows)
        return llo + z * (lhi - llo), lhi
