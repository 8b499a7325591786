"""Single-neuron nonlinearities (transfer functions) and their Gaussian averages.

A rate network maps a neuron's input current ``h`` to its rate ``phi(h)``. The simulator
(:mod:`neurospec.simulate`) needs ``phi`` and the mean-field theory
(:mod:`neurospec.theory.meanfield`) needs, in addition, Gaussian averages of ``phi``
and its derivative: for ``h ~ N(0, v)``

- ``<phi>``, ``<phi'>``, ``<phi^2>`` (one-dimensional),
- ``C(c) = E[phi(h1) phi(h2)]`` and ``E[phi'(h1) phi'(h2)]`` for jointly Gaussian
  ``h1, h2`` of variance ``v`` each and covariance ``c`` (two-dimensional),
- ``Var[Phi(h)]`` with ``Phi`` the antiderivative of ``phi`` (energy condition of the
  noiseless chaotic state).

Named nonlinearities (see :data:`NONLINEARITIES`):

``"tanh"``
    ``tanh(h)``; odd, ``phi'(0) = 1``. Gaussian averages are numerical: Gauss-Hermite for
    small variance, adaptive :func:`scipy.integrate.quad` for large variance (a fixed
    Gauss-Hermite rule cannot resolve the unit-width transition of ``tanh`` once the
    standard deviation of ``h`` is large).
``"erf"``
    ``erf(sqrt(pi) h / 2)``, scaled so that ``phi'(0) = 1``; odd. All averages in closed
    form (the arcsine formula ``C(c) = (2/pi) arcsin(a c / (1 + a v))``, ``a = pi/2``).
``"relu"``
    threshold-linear ``max(0, h)``; not odd, ``phi'(h) = 1 if h > 0 else 0``. Closed forms
    (the order-1 arc-cosine kernel).
``"identity"`` (alias ``"linear"``)
    ``h``; the linear network.

User nonlinearities are passed as a :class:`Nonlinearity`, a ``(func, deriv)`` pair of
vectorised callables, or a callable carrying a ``.deriv`` attribute; their Gaussian
averages are computed numerically.

All Gaussian averages here are for zero-mean ``h``: with zero-mean couplings and no
external bias, the ensemble mean of every neuron's input is zero (see
:mod:`neurospec.theory.meanfield` for how the quenched static part is handled).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Callable

import numpy as np
from scipy import integrate, special

from neurospec.errors import ParameterError

__all__ = ["Nonlinearity", "get_nonlinearity", "NONLINEARITIES", "gauss_hermite"]

NONLINEARITIES = ("tanh", "erf", "relu", "identity")
_ALIASES = {"linear": "identity", "threshold-linear": "relu", "threshold_linear": "relu"}

_N_GH_2D = 64


@lru_cache(maxsize=64)
def _gh_cached(n: int):
    x, w = np.polynomial.hermite_e.hermegauss(n)
    w = w / np.sqrt(2.0 * np.pi)
    x.flags.writeable = False
    w.flags.writeable = False
    return x, w


def gauss_hermite(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Nodes and weights for ``E[f(x)]``, ``x ~ N(0, 1)`` (probabilists' Hermite rule).

    Parameters
    ----------
    n : int
        Number of nodes.

    Returns
    -------
    x, w : ndarray, shape (n,)
        Nodes and weights (read-only, cached); ``sum(w * f(x))`` approximates ``E[f(x)]``;
        ``sum(w) == 1``. Reliable up to n = 350.
    """
    return _gh_cached(int(n))


@lru_cache(maxsize=8)
def _gl_cached(n: int):
    x, w = np.polynomial.legendre.leggauss(n)
    x.flags.writeable = False
    w.flags.writeable = False
    return x, w


def _panel_rule(edges: np.ndarray, n: int = 16) -> tuple[np.ndarray, np.ndarray]:
    """Composite Gauss-Legendre nodes and weights on consecutive panels ``edges``."""
    x, w = _gl_cached(n)
    a, b = edges[:-1, None], edges[1:, None]
    half = 0.5 * (b - a)
    return (half * x + 0.5 * (a + b)).ravel(), (half * w).ravel()


def _composite_1d(f: Callable, var: float, refine: int) -> float:
    sd = np.sqrt(var)
    lim = 12.0 * sd
    core = min(10.0, lim)
    # panels <= min(0.5, sd/2) wide where the nonlinearity varies (|h| < 10), <= sd/2 in the tails
    width = min(0.5, 0.5 * sd) / refine
    inner = np.linspace(-core, core, int(np.ceil(2 * core / width)) + 1)
    n_out = int(np.ceil((lim - core) / (0.5 * sd))) * refine
    outer = np.linspace(core, lim, n_out + 1)[1:] if n_out > 0 else np.empty(0)
    edges = np.concatenate([-outer[::-1], inner, outer])
    h, w = _panel_rule(edges)
    dens = np.exp(-0.5 * h * h / var) / np.sqrt(2.0 * np.pi * var)
    return float(np.dot(w * dens, f(h)))


def _gauss_1d(f: Callable, var: float, n: int | None = None) -> float:
    """``E[f(h)]`` for ``h ~ N(0, var)``.

    Error-controlled composite Gauss-Legendre (16 nodes per panel; panels <= min(0.5, sd/2)
    wide for |h| < 10, <= sd/2 beyond, out to 12 sd), refined until two levels agree to 1e-12
    relative, with adaptive :func:`scipy.integrate.quad` as the fallback. (A fixed
    Gauss-Hermite rule converges slowly for tanh-like functions once sd is O(1) and fails
    outright once the Gaussian is wide against the unit-width nonlinearity.)
    """
    var = float(var)
    if var <= 0.0:
        return float(np.asarray(f(np.zeros(1)))[0])
    prev = _composite_1d(f, var, 1)
    for refine in (2, 4):
        cur = _composite_1d(f, var, refine)
        if abs(cur - prev) <= 1e-12 * max(abs(cur), 1e-300) + 1e-15:
            return cur
        prev = cur
    return _quad_1d(f, var)


def _quad_1d(f: Callable, var: float) -> float:
    """``E[f(h)]`` by adaptive quadrature (scipy.integrate.quad), split at 0 and +-10."""
    sd = np.sqrt(var)

    def integrand(h):
        return float(np.asarray(f(np.array([h])))[0]) * np.exp(-0.5 * h * h / var)

    lim = 12.0 * sd
    pts = [-lim, -min(10.0, lim / 2), 0.0, min(10.0, lim / 2), lim]
    total = 0.0
    for a, b in zip(pts[:-1], pts[1:]):
        total += integrate.quad(integrand, a, b, limit=400, epsabs=1e-14, epsrel=1e-12)[0]
    return total / np.sqrt(2.0 * np.pi * var)


def _gauss_cross(f1: Callable, f2: Callable, var: float, cov, n: int | None = None) -> np.ndarray:
    """``E[f1(h1) f2(h2)]`` for jointly Gaussian zero-mean h of variance var, covariance cov.

    Vectorised over ``cov`` with the conditional decomposition
    ``h1 = sqrt|c| z + sqrt(v - |c|) x1``, ``h2 = sign(c) sqrt|c| z + sqrt(v - |c|) x2``
    and a tensor Gauss-Hermite rule in (z, x).
    """
    cov = np.asarray(cov, dtype=float)
    shape = cov.shape
    c = np.clip(cov.ravel(), -var, var)
    x, w = gauss_hermite(n or _N_GH_2D)
    a = np.sqrt(np.abs(c))[:, None, None]              # (m, 1, 1)
    s = np.sqrt(np.maximum(var - np.abs(c), 0.0))[:, None, None]
    sgn = np.where(c < 0, -1.0, 1.0)[:, None, None]
    z = x[None, :, None]                                # outer variable
    xi = x[None, None, :]                               # inner variable
    in1 = f1(a * z + s * xi) @ w                        # (m, nz): E_x f1(.)
    in2 = in1 if (f2 is f1) else None
    if in2 is None or np.any(sgn < 0):
        in2 = f2(sgn * a * z + s * xi) @ w
    out = (in1 * in2) @ w
    return out.reshape(shape)


@dataclass(frozen=True)
class Nonlinearity:
    """A single-neuron transfer function ``phi`` and its derivative.

    Parameters
    ----------
    name : str
        Label used in reports.
    func : callable
        ``phi(h)``, vectorised over numpy arrays (float64 in, float64 out).
    deriv : callable
        ``phi'(h)``, vectorised likewise.
    odd : bool
        Whether ``phi(-h) == -phi(h)``. Odd nonlinearities have ``<phi> = 0`` under a
        zero-mean Gaussian, so the network has no quenched static component.

    Notes
    -----
    The Gaussian-average methods (:meth:`mean`, :meth:`mean_deriv`, :meth:`second_moment`,
    :meth:`cross`, :meth:`cross_deriv`, :meth:`antideriv_var`) take the variance ``var`` of a
    zero-mean Gaussian ``h``; named nonlinearities use closed forms where they exist.
    """

    name: str
    func: Callable = field(repr=False)
    deriv: Callable = field(repr=False)
    odd: bool = False
    # Closed forms keyed by average name ("mean", "mean_deriv", "second_moment", "mean_deriv_sq",
    # "cross", "cross_deriv", "cross_integral"), plus accurate numerical 2-D rules
    # ("cross_num", "cross_deriv_num"); filled for the named nonlinearities only.
    closed: dict = field(default_factory=dict, repr=False, compare=False)
    antideriv: Callable | None = field(default=None, repr=False, compare=False)

    def __call__(self, h):
        return self.func(h)

    # -- one-dimensional averages ------------------------------------------------------
    def mean(self, var: float) -> float:
        """``<phi(h)>`` for ``h ~ N(0, var)``."""
        if "mean" in self.closed:
            return float(self.closed["mean"](var))
        if self.odd:
            return 0.0
        return _gauss_1d(self.func, var)

    def mean_deriv(self, var: float) -> float:
        """``<phi'(h)>`` for ``h ~ N(0, var)`` (the gain factor gamma of the mean-field theory)."""
        if "mean_deriv" in self.closed:
            return float(self.closed["mean_deriv"](var))
        return _gauss_1d(self.deriv, var)

    def second_moment(self, var: float) -> float:
        """``<phi(h)^2>`` for ``h ~ N(0, var)``."""
        if "second_moment" in self.closed:
            return float(self.closed["second_moment"](var))
        return _gauss_1d(lambda h: self.func(h) ** 2, var)

    def mean_deriv_sq(self, var: float) -> float:
        """``<phi'(h)^2>`` for ``h ~ N(0, var)`` (``g^2 <phi'^2> = 1`` marks chaos onset)."""
        if "mean_deriv_sq" in self.closed:
            return float(self.closed["mean_deriv_sq"](var))
        return _gauss_1d(lambda h: self.deriv(h) ** 2, var)

    # -- two-dimensional averages ------------------------------------------------------
    def cross(self, var: float, cov) -> np.ndarray:
        """``E[phi(h1) phi(h2)]``, h jointly Gaussian, zero mean, variance var, covariance cov.

        Vectorised over ``cov`` (any shape, values in ``[-var, var]``).
        """
        if "cross" in self.closed:
            return np.asarray(self.closed["cross"](var, np.asarray(cov, dtype=float)), dtype=float)
        if "cross_num" in self.closed:
            return np.asarray(self.closed["cross_num"](var, np.asarray(cov, dtype=float)), dtype=float)
        return _gauss_cross(self.func, self.func, var, cov, self._n2d(var))

    def cross_deriv(self, var: float, cov) -> np.ndarray:
        """``E[phi'(h1) phi'(h2)]`` (the derivative of :meth:`cross` in ``cov``, by Price's theorem)."""
        if "cross_deriv" in self.closed:
            return np.asarray(self.closed["cross_deriv"](var, np.asarray(cov, dtype=float)), dtype=float)
        if "cross_deriv_num" in self.closed:
            return np.asarray(self.closed["cross_deriv_num"](var, np.asarray(cov, dtype=float)), dtype=float)
        return _gauss_cross(self.deriv, self.deriv, var, cov, self._n2d(var))

    def cross_integral(self, var: float, c0: float, c1: float) -> float:
        """``int_{c0}^{c1} E[phi(h1) phi(h2)](c) dc`` at fixed variance ``var``.

        Closed form for the named nonlinearities; for ``c0 = 0`` and ``c1 = var`` it is
        ``Var[Phi(h)]`` (a one-dimensional integral, by Price's theorem); otherwise
        Gauss-Legendre quadrature in ``c``.
        """
        if "cross_integral" in self.closed:
            F = self.closed["cross_integral"]
            return float(F(var, c1) - F(var, c0))
        if c0 == 0.0 and c1 == var and self.antideriv is not None:
            return self.antideriv_var(var)
        x, w = np.polynomial.legendre.leggauss(64)
        c = 0.5 * (c1 - c0) * x + 0.5 * (c1 + c0)
        return float(0.5 * (c1 - c0) * np.dot(w, self.cross(var, c)))

    def antideriv_var(self, var: float) -> float:
        """``Var[Phi(h)]``, ``Phi(h) = int_0^h phi``, ``h ~ N(0, var)``.

        It equals ``int_0^var C(c) dc`` (Price's theorem: ``d/dc E[Phi Phi] = C(c)``, and at
        ``c = 0`` the two are independent), the quantity in the energy condition
        ``Delta0^2 / 2 = g^2 Var[Phi]`` of noiseless chaos.
        """
        if "cross_integral" in self.closed:
            F = self.closed["cross_integral"]
            return float(F(var, var) - F(var, 0.0))
        if self.antideriv is None:
            x, w = np.polynomial.legendre.leggauss(64)
            c = 0.5 * var * (x + 1.0)
            return float(0.5 * var * np.dot(w, self.cross(var, c)))
        m1 = _gauss_1d(self.antideriv, var)
        m2 = _gauss_1d(lambda h: self.antideriv(h) ** 2, var)
        return m2 - m1 * m1

    def _n2d(self, var: float) -> int:
        # Gauss-Hermite needs more nodes as the Gaussian widens relative to the unit scale
        # of the nonlinearity (tanh's poles sit at distance pi/(2 sqrt(var)) in x); the error
        # is largest at cov -> var: ~1e-9 at var = 2 with 128 nodes, ~1e-6 at var = 8 with 256.
        return int(np.clip(48.0 * (1.0 + np.sqrt(var)), _N_GH_2D, 256))


# -------------------------------------------------------------------------------------
# named nonlinearities
# -------------------------------------------------------------------------------------
def _tanh_antideriv(h):
    h = np.abs(np.asarray(h, dtype=float))
    # log cosh h = |h| + log1p(exp(-2|h|)) - log 2, stable for large |h|
    return h + np.log1p(np.exp(-2.0 * h)) - np.log(2.0)


def _tanh_deriv(h):
    return 1.0 / np.cosh(np.clip(h, -350.0, 350.0)) ** 2


# -- tanh at large variance: sign decomposition -------------------------------------------
# tanh = sign + r with r(y) = tanh(y) - sign(y) localised (|r| < 2 e^{-2|y|}). Then
#   E[tanh tanh](c) = (2/pi) arcsin(rho) + E[r(h1) (tanh + sign)(h2)]
# (exchangeability), and the conditional averages of h2 given h1 = y, h2 ~ N(rho y, s^2),
#   E[sign(h2)|y] = erf(rho y / (s sqrt 2)),  E[tanh(h2)|y] = E[sign|y] + int r(u) N(u; rho y, s^2) du,
# need only integrals against the localised r (or Gauss-Hermite in x when s < 1, where
# tanh(mu + s x) is analytic in a wide strip). Accurate (~1e-11) at any variance; used for
# var > 0.5 (a tensor Gauss-Hermite rule is already off by ~5e-8 at var = 3, c = var).
_R_EDGES = np.array([0.0, 0.5, 1.5, 3.0, 6.0, 11.0, 20.0])
_Y_POS, _W_POS = _panel_rule(_R_EDGES, 16)
_Y_R = np.concatenate([-_Y_POS[::-1], _Y_POS])   # nodes on [-20, 20], split at 0
_W_R = np.concatenate([_W_POS[::-1], _W_POS])
_TANH_BIG_VAR = 0.5


def _tanh_r(y):
    return np.tanh(y) - np.sign(y)


def _normal_pdf(u, mu, s):
    return np.exp(-0.5 * ((u - mu) / s) ** 2) / (np.sqrt(2.0 * np.pi) * s)


def _cond_mean(func, loc_func, mu, s, sign_part):
    """E[func(mu + s x)], x ~ N(0,1), for arrays mu (..., ny) and s (..., 1).

    ``loc_func`` is the localised part of func (func - sign_part*sign); Gauss-Hermite in x
    where s < 1, quadrature against loc_func on the fixed y-grid where s >= 1.
    """
    x, w = gauss_hermite(64)
    small = (s < 1.0)[..., 0]
    out = np.empty(mu.shape)
    if np.any(small):
        mu_s, s_s = mu[small], s[small]
        out[small] = func(mu_s[..., None] + s_s[..., None] * x) @ w
    if np.any(~small):
        mu_b, s_b = mu[~small], s[~small]
        # int loc(u) N(u; mu, s^2) du on the fixed u-grid, for every (mu, s)
        pdf = _normal_pdf(_Y_R, mu_b[..., None], s_b[..., None])
        loc = pdf @ (loc_func(_Y_R) * _W_R)
        base = special.erf(mu_b / (s_b * np.sqrt(2.0))) if sign_part else 0.0
        out[~small] = base + loc
    return out


def _tanh_cross_big(v, c):
    c = np.asarray(c, dtype=float)
    shape = c.shape
    cc = np.clip(c.ravel(), -v, v)
    sgn = np.sign(cc)
    rho = np.abs(cc)[:, None] / v                              # (m, 1)
    s = np.sqrt(np.maximum(v * (1.0 - rho * rho), 0.0))       # conditional sd
    y = _Y_R[None, :]
    mu = rho * y                                               # (m, ny)
    s_safe = np.maximum(s, 1e-300)
    e_sign = np.where(s > 0, special.erf(mu / (s_safe * np.sqrt(2.0))), np.sign(mu))
    e_tanh = _cond_mean(np.tanh, _tanh_r, mu, s_safe, True)
    e_tanh = np.where(s > 0, e_tanh, np.tanh(mu))
    dens = np.exp(-0.5 * y * y / v) / np.sqrt(2.0 * np.pi * v)
    corr = ((_tanh_r(_Y_R) * _W_R)[None, :] * dens * (e_tanh + e_sign)).sum(axis=1)
    out = sgn * ((2.0 / np.pi) * np.arcsin(rho[:, 0]) + corr)
    return out.reshape(shape)


def _tanh_cross_deriv_big(v, c):
    c = np.asarray(c, dtype=float)
    shape = c.shape
    cc = np.clip(c.ravel(), -v, v)
    rho = cc[:, None] / v
    s = np.sqrt(np.maximum(v * (1.0 - rho * rho), 0.0))
    y = _Y_R[None, :]
    mu = rho * y
    s_safe = np.maximum(s, 1e-300)
    e_d = _cond_mean(_tanh_deriv, _tanh_deriv, mu, s_safe, False)
    e_d = np.where(s > 0, e_d, _tanh_deriv(mu))
    dens = np.exp(-0.5 * y * y / v) / np.sqrt(2.0 * np.pi * v)
    out = ((_tanh_deriv(_Y_R) * _W_R)[None, :] * dens * e_d).sum(axis=1)
    return out.reshape(shape)


def _tanh_cross(v, c):
    if v > _TANH_BIG_VAR:
        return _tanh_cross_big(v, c)
    return _gauss_cross(np.tanh, np.tanh, v, c, int(np.clip(48.0 * (1.0 + np.sqrt(v)), 64, 256)))


def _tanh_cross_deriv(v, c):
    if v > _TANH_BIG_VAR:
        return _tanh_cross_deriv_big(v, c)
    return _gauss_cross(_tanh_deriv, _tanh_deriv, v, c, int(np.clip(48.0 * (1.0 + np.sqrt(v)), 64, 256)))


_TANH = Nonlinearity(
    "tanh", np.tanh, _tanh_deriv, True, {"cross_num": _tanh_cross, "cross_deriv_num": _tanh_cross_deriv}, _tanh_antideriv
)

# erf(a h) with a = sqrt(pi)/2, so that phi'(h) = exp(-a^2 h^2) and phi'(0) = 1.
_A_ERF = np.sqrt(np.pi) / 2.0
_K_ERF = 2.0 * _A_ERF**2  # = pi / 2


def _erf(h):
    return special.erf(_A_ERF * np.asarray(h, dtype=float))


def _erf_deriv(h):
    h = np.asarray(h, dtype=float)
    return np.exp(-(_A_ERF**2) * h * h)


def _erf_antideriv(h):
    h = np.asarray(h, dtype=float)
    return h * special.erf(_A_ERF * h) + (np.exp(-(_A_ERF**2) * h * h) - 1.0) / (_A_ERF * np.sqrt(np.pi))


def _erf_cross(v, c):
    return (2.0 / np.pi) * np.arcsin(_K_ERF * c / (1.0 + _K_ERF * v))


def _erf_cross_integral(v, c):
    # int_0^c (2/pi) arcsin(k u) du = (2/pi) [c arcsin(kc) + (sqrt(1 - k^2 c^2) - 1) / k]
    k = _K_ERF / (1.0 + _K_ERF * v)
    return (2.0 / np.pi) * (c * np.arcsin(k * c) + (np.sqrt(1.0 - (k * c) ** 2) - 1.0) / k)


_ERF = Nonlinearity(
    "erf",
    _erf,
    _erf_deriv,
    True,
    {
        "mean": lambda v: 0.0,
        "mean_deriv": lambda v: 1.0 / np.sqrt(1.0 + _K_ERF * v),
        "second_moment": lambda v: _erf_cross(v, v),
        "mean_deriv_sq": lambda v: 1.0 / np.sqrt(1.0 + 2.0 * _K_ERF * v),
        "cross": _erf_cross,
        # E[exp(-a^2 h1^2 - a^2 h2^2)] = det(I + 2 a^2 Sigma)^(-1/2)
        "cross_deriv": lambda v, c: 1.0 / np.sqrt((1.0 + _K_ERF * v) ** 2 - (_K_ERF * c) ** 2),
        "cross_integral": _erf_cross_integral,
    },
    _erf_antideriv,
)


def _relu(h):
    return np.maximum(np.asarray(h, dtype=float), 0.0)


def _relu_deriv(h):
    return (np.asarray(h, dtype=float) > 0.0).astype(float)


def _relu_antideriv(h):
    h = np.maximum(np.asarray(h, dtype=float), 0.0)
    return 0.5 * h * h


def _rho(v, c):
    return np.clip(c / v, -1.0, 1.0) if v > 0 else np.zeros_like(c)


def _relu_cross(v, c):
    # order-1 arc-cosine kernel (Cho & Saul 2009)
    r = _rho(v, c)
    return v / (2.0 * np.pi) * (np.sqrt(1.0 - r * r) + r * (np.pi - np.arccos(r)))


def _relu_cross_integral(v, c):
    # antiderivative in c of _relu_cross (u = c/v):
    # v^2/(2 pi) [ (u sqrt(1-u^2) + arcsin u)/2 + pi u^2/2 - (u^2/2) arccos u
    #              - (arcsin u - u sqrt(1-u^2))/4 ]
    u = _rho(v, c)
    sq = np.sqrt(1.0 - u * u)
    asn = np.arcsin(u)
    val = 0.5 * (u * sq + asn) + 0.5 * np.pi * u * u - 0.5 * u * u * np.arccos(u) - 0.25 * (asn - u * sq)
    return v * v / (2.0 * np.pi) * val


_RELU = Nonlinearity(
    "relu",
    _relu,
    _relu_deriv,
    False,
    {
        "mean": lambda v: np.sqrt(v / (2.0 * np.pi)),
        "mean_deriv": lambda v: 0.5,
        "second_moment": lambda v: 0.5 * v,
        "mean_deriv_sq": lambda v: 0.5,
        "cross": _relu_cross,
        "cross_deriv": lambda v, c: 0.25 + np.arcsin(_rho(v, c)) / (2.0 * np.pi),
        "cross_integral": _relu_cross_integral,
    },
    _relu_antideriv,
)


def _identity(h):
    return np.asarray(h, dtype=float)


def _one(h):
    return np.ones_like(np.asarray(h, dtype=float))


_IDENTITY = Nonlinearity(
    "identity",
    _identity,
    _one,
    True,
    {
        "mean": lambda v: 0.0,
        "mean_deriv": lambda v: 1.0,
        "second_moment": lambda v: float(v),
        "mean_deriv_sq": lambda v: 1.0,
        "cross": lambda v, c: np.array(c, dtype=float),
        "cross_deriv": lambda v, c: np.ones_like(np.asarray(c, dtype=float)),
        "cross_integral": lambda v, c: 0.5 * np.asarray(c, dtype=float) ** 2,
    },
    lambda h: 0.5 * np.asarray(h, dtype=float) ** 2,
)

_NAMED = {"tanh": _TANH, "erf": _ERF, "relu": _RELU, "identity": _IDENTITY}


def _check_callable_pair(func, deriv, name):
    probe = np.linspace(-3.0, 3.0, 13)
    for label, f in (("func", func), ("deriv", deriv)):
        try:
            out = np.asarray(f(probe), dtype=float)
        except Exception as exc:  # noqa: BLE001 - report what the user passed
            raise ParameterError(
                f"phi: the {label} of nonlinearity {name!r} failed on a numpy array "
                f"({type(exc).__name__}: {exc}); it must be vectorised, e.g. use np.tanh not math.tanh"
            ) from exc
        if out.shape != probe.shape or not np.all(np.isfinite(out)):
            raise ParameterError(
                f"phi: the {label} of nonlinearity {name!r} must map a float array to a finite "
                f"float array of the same shape (got shape {out.shape})"
            )
    f = np.asarray(func(probe), dtype=float)
    return bool(np.allclose(f, -f[::-1], rtol=1e-12, atol=1e-12))


def get_nonlinearity(phi) -> Nonlinearity:
    """Resolve a nonlinearity specification to a :class:`Nonlinearity`.

    Parameters
    ----------
    phi : str, Nonlinearity, tuple or callable
        A name from :data:`NONLINEARITIES` (``"tanh"``, ``"erf"``, ``"relu"``,
        ``"identity"``; alias ``"linear"``), a :class:`Nonlinearity`, a ``(func, deriv)``
        pair of vectorised callables, or a callable with a ``.deriv`` attribute.

    Returns
    -------
    Nonlinearity

    Raises
    ------
    ParameterError
        Unknown name, or a callable without its derivative.
    """
    if isinstance(phi, Nonlinearity):
        return phi
    if isinstance(phi, str):
        key = _ALIASES.get(phi.lower(), phi.lower())
        if key not in _NAMED:
            raise ParameterError(
                f"phi={phi!r} is not a known nonlinearity; choose one of {', '.join(NONLINEARITIES)} "
                f"(or 'linear'), or pass your own as a (func, deriv) pair"
            )
        return _NAMED[key]
    if isinstance(phi, tuple):
        if len(phi) != 2 or not all(callable(f) for f in phi):
            raise ParameterError("phi: a tuple must be (func, deriv), two vectorised callables")
        func, deriv = phi
        name = getattr(func, "__name__", "custom")
        odd = _check_callable_pair(func, deriv, name)
        return Nonlinearity(name, func, deriv, odd)
    if callable(phi):
        deriv = getattr(phi, "deriv", None)
        name = getattr(phi, "__name__", "custom")
        if deriv is None or not callable(deriv):
            raise ParameterError(
                f"phi: the callable {name!r} has no derivative; pass phi=(func, deriv) with "
                f"deriv the vectorised derivative of func (the mean-field theory needs phi')"
            )
        odd = _check_callable_pair(phi, deriv, name)
        return Nonlinearity(name, phi, deriv, odd)
    raise ParameterError(
        f"phi must be a name ({', '.join(NONLINEARITIES)}), a Nonlinearity, or a (func, deriv) "
        f"pair; got {type(phi).__name__}"
    )
