r"""Dynamic mean-field theory (DMFT): the effective gain of nonlinear random networks.

Model (science.md §5), time in units of the neuronal time constant::

    continuous:  dh/dt = -h + J phi(h) + sigma xi(t)        (xi white, <xi xi'> = delta)
    discrete:    h[t+1] = J phi(h[t]) + sigma xi[t]           (xi iid N(0, 1))

with ``J_ij ~ N(0, g^2/N)`` iid. At large N every input current is a Gaussian process with
zero ensemble mean and autocovariance ``Delta(tau)``, fixed by

    continuous:  (1 - d^2/dtau^2) Delta(tau) = g^2 C_phi(tau) + sigma^2 delta(tau)
    discrete:    Delta(0) = g^2 <phi^2> + sigma^2,   Delta(k) = g^2 C_phi(k)  (k >= 1)

where ``C_phi(tau) = E[phi(h1) phi(h2)]`` for ``h1, h2`` jointly Gaussian with variance
``Delta0 = Delta(0)`` and covariance ``Delta(tau)``. Linear equivalence (Clark 2026) then says
that the zero-frequency rate covariance of the network is that of a linear network with
couplings ``gamma J``, ``gamma = <phi'(h)>``: its spectrum is :class:`LinearSpectrum` at
``g_eff = g gamma``.

How the equations are solved
----------------------------
Continuous time. ``Delta`` obeys Newton's equation ``Delta'' = Delta - g^2 C_phi(Delta)`` of a
particle in a potential, started at ``Delta0`` with velocity ``-sigma^2/2`` (the white-noise
kink) and coming to rest at the plateau ``Delta_inf``. Energy conservation gives two scalar
equations (the *energy condition*) that fix ``Delta0`` and ``Delta_inf`` exactly:

    Delta_inf = g^2 C_phi(Delta_inf; Delta0)                       (rest point)
    int_{Delta_inf}^{Delta0} (c - g^2 C_phi(c; Delta0)) dc = sigma^4 / 8

For odd phi, ``Delta_inf = 0`` and the integral is ``Delta0^2/2 - g^2 Var[Phi(h)]`` with ``Phi``
the antiderivative of phi: for tanh, ``Delta0^2/2 = g^2 Var[ln cosh h] + sigma^4/8`` — a
one-dimensional average, done by error-controlled composite quadrature that resolves the
unit-width nonlinearity under an arbitrarily wide Gaussian (scipy ``quad`` as fallback), so it
is exact at any g (a fixed Gauss-Hermite rule fails at g >~ 10). ``Delta0``, ``gamma`` and
``g_eff`` are always taken from this condition. The profile ``Delta(tau)`` is then computed

- for ``sigma > 0`` (``method="fft"``, default) by damped, Anderson-accelerated fixed-point
  iteration of the full equation on an FFT grid — an independent route whose ``Delta(0)`` must
  agree with the energy condition (checked; disagreement raises :class:`ConvergenceError`).
  With weak noise in the chaotic regime the iteration becomes marginal; ``method="auto"`` then
  falls back to the energy profile and says so in ``notes``;
- for ``sigma = 0`` (chaos; ``method="energy"``) by quadrature of the first integral,
  ``tau(Delta) = int_Delta^Delta0 dy / sqrt(2 W(y))`` (the iteration is marginal there:
  time-translation mode).

The maximal Lyapunov exponent comes from the ground state of ``-d^2 + 1 - g^2 E[phi'phi'](tau)``
on the profile (two-replica linearisation); ``chaotic`` means it is positive.

Discrete time. ``Delta(k)`` for ``k >= 1`` obeys the same self-consistency at every lag, whose
stable solution is the plateau ``Delta_inf`` (zero for odd phi): at large N the fluctuations are
white in discrete time. ``Delta0`` solves ``Delta0 = g^2 <phi^2> + sigma^2`` (root finding).

Non-odd nonlinearities (relu). With zero-mean couplings the ensemble mean of every input is
zero, but ``sum_j J_ij phi_j`` has a time-independent part that differs from neuron to neuron:
a *quenched* Gaussian field across neurons. DMFT carries it as the plateau of the
autocovariance, ``Delta(tau -> inf) = Delta_inf = g^2 C_phi(Delta_inf; Delta0)`` (at least
``g^2 <phi>^2``), so ``h ~ N(0, Delta0)`` over neurons and time, ``mean = 0``, and the mean rate
``<phi> > 0``. Temporal (zero-frequency) covariances exclude the static part: ``rate_power``
integrates ``C_phi(tau) - C_phi(inf)``.

Reciprocal correlations (kappa). For ``kappa != 0`` the single-site DMFT gains a memory term
``g^2 kappa int R(t, s) phi(h(s)) ds`` with ``R`` the response function; for nonlinear phi the
single-site process is then non-Gaussian and has no closed Gaussian solution. neurospec solves
``kappa != 0`` exactly for the linear network (``phi="identity"``: ``R(omega)`` solves a quadratic)
and raises :class:`ParameterError` for nonlinear phi with ``kappa != 0``. The kappa of a result is
passed on to :meth:`MeanFieldResult.spectrum`.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field

import numpy as np
from scipy import optimize
from scipy.linalg import eigh_tridiagonal

from neurospec.errors import ConvergenceError, ParameterError
from neurospec.nonlinearities import Nonlinearity, get_nonlinearity

__all__ = [
    "MeanFieldResult",
    "effective_gain",
    "linear_equivalent_covariance",
    "predicted_spectrum",
]

_DYNAMICS = ("continuous", "discrete")
_CHEB_DEG = 48


# -------------------------------------------------------------------------------------
# result
# -------------------------------------------------------------------------------------
@dataclass
class MeanFieldResult:
    """Solution of the dynamic mean-field equations.

    Attributes
    ----------
    g, sigma, kappa : float
        Coupling gain, noise amplitude, reciprocal correlation (inputs).
    phi : str
        Name of the nonlinearity.
    dynamics : {"continuous", "discrete"}
    g_eff : float
        Effective gain ``g <phi'(h)>`` (dimensionless); the linear-equivalent network has
        couplings ``gamma J``.
    gamma : float
        ``<phi'(h)>``, h ~ N(0, delta0).
    delta0 : float
        ``Delta(0)``, variance of the input current h (over neurons and time).
    delta_inf : float
        Plateau ``Delta(tau -> inf)``: variance across neurons of the quenched static input
        (zero for odd phi).
    mean : float
        Ensemble mean of h (zero: the couplings have zero mean and there is no bias).
    rate_mean : float
        ``<phi(h)>``, the mean rate (nonzero for non-odd phi).
    tau : ndarray, shape (n,)
        Lags (units of the time constant; integer steps in discrete time).
    delta : ndarray, shape (n,)
        ``Delta(tau)``, the autocovariance of h.
    chaotic : bool
        Whether the maximal Lyapunov exponent is positive.
    lyapunov : float
        Maximal Lyapunov exponent (per time constant, or per step in discrete time).
    rate_power : float
        Zero-frequency power of the rate fluctuations ``S_r(0) = int (C_phi(tau) - C_phi(inf)) dtau``
        (sum over lags in discrete time): ``Cov(sum of r over a window) / window length``.
    noise_power : float
        ``D0 = (1 - g_eff^2) S_r(0)``, the effective private-noise power of the linear-equivalent
        network ``C_r(0) = D0 (I - gamma J)^-1 (I - gamma J)^-T``.
    converged : bool
    n_iter : int
        Iterations of the FFT fixed point, or evaluations of the scalar condition (energy
        condition / discrete-time variance condition) for the other methods.
    residual : float
        Final self-consistency residual, relative to ``delta0``.
    method : str
        How the profile was obtained: "fft", "energy", "quiet", "discrete", "linear".
    solve_time : float
        Seconds.
    notes : str
        Anything the solver wants the user to know (e.g. a fallback from "fft" to "energy").

    Examples
    --------
    :func:`effective_gain` returns one:

    >>> from neurospec.theory import effective_gain
    >>> r = effective_gain(0.8, "tanh", sigma=1.0)
    >>> round(r.g_eff, 4), r.chaotic, r.converged
    (0.5558, False, True)
    >>> round(r.participation_ratio(), 4)               # predicted PR / N = (1 - g_eff^2)^2
    0.4776
    >>> print(r.summary())                              # doctest: +ELLIPSIS
    Mean-field solution (continuous time, phi=tanh, method=fft)
      g = 0.8, sigma = 1, kappa = 0
      g_eff = g<phi'> = 0.555831   (gamma = <phi'> = 0.694789)
    ...
    """

    g: float
    phi: str
    sigma: float
    dynamics: str
    kappa: float
    g_eff: float
    gamma: float
    delta0: float
    delta_inf: float
    mean: float
    rate_mean: float
    tau: np.ndarray = field(repr=False)
    delta: np.ndarray = field(repr=False)
    chaotic: bool
    lyapunov: float
    rate_power: float
    noise_power: float
    converged: bool
    n_iter: int
    residual: float
    method: str
    solve_time: float = 0.0
    notes: str = ""

    def spectrum(self, normalized: bool = False, absolute: bool = False):
        """Predicted zero-frequency rate-covariance spectrum, ``LinearSpectrum(g_eff, kappa)``.

        Parameters
        ----------
        normalized : bool
            Mean-1 shape (what fits use).
        absolute : bool
            Scale by :attr:`noise_power`: the eigenvalue distribution of
            ``C_r(0) = D0 (I - gamma J)^-1 (I - gamma J)^-T`` itself (units of rate^2 x time).
        """
        from neurospec.theory.linear import LinearSpectrum

        if normalized and absolute:
            raise ParameterError("spectrum: choose normalized=True or absolute=True, not both")
        spec = LinearSpectrum(self.g_eff, kappa=self.kappa, normalized=normalized)
        if absolute:
            if self.noise_power <= 0:
                raise ParameterError("spectrum: the quiet state has no rate fluctuations (noise_power = 0)")
            spec = spec.scaled(self.noise_power)
        return spec

    def participation_ratio(self) -> float:
        """Predicted ``PR/N`` of the zero-frequency rate covariance (iid: ``(1 - g_eff^2)^2``)."""
        if self.kappa == 0.0:
            return (1.0 - self.g_eff**2) ** 2
        return float(self.spectrum().participation_ratio())

    def summary(self) -> str:
        """A few lines a user can paste into a lab notebook."""
        regime = "chaotic" if self.chaotic else ("quiet" if self.delta0 == 0 else "noise-driven")
        lines = [
            f"Mean-field solution ({self.dynamics} time, phi={self.phi}, method={self.method})",
            f"  g = {self.g:.6g}, sigma = {self.sigma:.6g}, kappa = {self.kappa:.6g}",
            f"  g_eff = g<phi'> = {self.g_eff:.6f}   (gamma = <phi'> = {self.gamma:.6f})",
            f"  Delta0 = {self.delta0:.6g}, Delta_inf = {self.delta_inf:.6g}, <phi> = {self.rate_mean:.6g}",
            f"  regime: {regime} (max Lyapunov exponent {self.lyapunov:+.4g})",
            f"  zero-frequency rate power S_r(0) = {self.rate_power:.6g}, D0 = {self.noise_power:.6g}",
            f"  predicted PR/N = {self.participation_ratio():.6g}",
            f"  converged = {self.converged} after {self.n_iter} iterations, residual {self.residual:.2e}, "
            f"{1e3 * self.solve_time:.1f} ms",
        ]
        return "\n".join(lines)

    def __repr__(self) -> str:
        return (
            f"MeanFieldResult(g={self.g:.6g}, phi={self.phi!r}, sigma={self.sigma:.6g}, "
            f"dynamics={self.dynamics!r}, kappa={self.kappa:.6g}, g_eff={self.g_eff:.6f}, "
            f"gamma={self.gamma:.6f}, delta0={self.delta0:.6g}, chaotic={self.chaotic}, "
            f"converged={self.converged})"
        )


# -------------------------------------------------------------------------------------
# validation
# -------------------------------------------------------------------------------------
def _check_inputs(g, sigma, dynamics, kappa):
    try:
        g = float(g)
        sigma = float(sigma)
        kappa = float(kappa)
    except (TypeError, ValueError) as exc:
        raise ParameterError(f"g, sigma and kappa must be real numbers ({exc})") from exc
    if not np.isfinite(g) or g <= 0:
        raise ParameterError(f"g={g!r}: the coupling gain must be a finite positive number")
    if not np.isfinite(sigma) or sigma < 0:
        raise ParameterError(f"sigma={sigma!r}: the noise amplitude must be finite and >= 0")
    if not np.isfinite(kappa) or abs(kappa) > 1:
        raise ParameterError(f"kappa={kappa!r}: the reciprocal correlation must lie in [-1, 1]")
    if dynamics not in _DYNAMICS:
        raise ParameterError(f"dynamics={dynamics!r}: choose 'continuous' or 'discrete'")
    return g, sigma, kappa


# -------------------------------------------------------------------------------------
# scalar conditions
# -------------------------------------------------------------------------------------
def _plateau(f: Nonlinearity, g: float, v: float) -> float:
    """Stable rest point Delta_inf in [0, v) of u = g^2 C(u; v); raises if none."""
    if v <= 0:
        return 0.0
    if f.odd:
        return 0.0
    q = lambda u: g * g * float(f.cross(v, u)) - u  # noqa: E731
    q0, qv = q(0.0), q(v)
    if q0 <= 0.0:
        return 0.0
    if qv >= 0.0:
        raise ParameterError(
            f"phi={f.name!r}, g={g:.6g}: the mean-field equations have no decaying solution "
            f"(g^2 <phi^2> >= Delta0): activity grows without bound or freezes; reduce g"
        )
    return optimize.brentq(q, 0.0, v, xtol=1e-14 * v, rtol=1e-13)


def _energy(f: Nonlinearity, g: float, sigma: float, v: float) -> float:
    """Energy-condition function divided by v^2 (continuous time)."""
    dinf = _plateau(f, g, v)
    if f.odd and dinf == 0.0:
        integral = 0.5 * v * v - g * g * f.antideriv_var(v)
    else:
        integral = 0.5 * (v * v - dinf * dinf) - g * g * f.cross_integral(v, dinf, v)
    return (integral - sigma**4 / 8.0) / (v * v)


def _discrete(f: Nonlinearity, g: float, sigma: float, v: float) -> float:
    """Discrete-time variance condition divided by v."""
    return (v - g * g * f.second_moment(v) - sigma**2) / v


def _solve_scalar(func, f: Nonlinearity, g: float, sigma: float, what: str):
    """Positive root of func(v) (sign change from - to +) on a log grid, then brentq.

    Returns (v, n_evals) or (0.0, n_evals) if func > 0 everywhere (quiet state).
    """
    n_eval = 0
    grid = np.logspace(-6, 10, 65)
    prev_v, prev_val = None, None
    for v in grid:
        val = func(f, g, sigma, v)
        n_eval += 1
        if not np.isfinite(val):
            raise ConvergenceError(f"{what}: non-finite value at Delta0={v:.3g}; check phi and its derivative")
        if prev_val is not None and prev_val < 0.0 <= val:
            root, info = optimize.brentq(
                lambda x: func(f, g, sigma, x), prev_v, v, xtol=1e-15, rtol=4e-15, full_output=True
            )
            return root, n_eval + info.function_calls
        if prev_val is None and val >= 0.0 and sigma > 0:
            # positive already at tiny Delta0 with noise: the root is smaller still
            lo = v
            while val >= 0.0 and lo > 1e-300:
                lo *= 1e-3
                val = func(f, g, sigma, lo)
                n_eval += 1
            root, info = optimize.brentq(lambda x: func(f, g, sigma, x), lo, v, xtol=1e-300, rtol=4e-15, full_output=True)
            return root, n_eval + info.function_calls
        prev_v, prev_val = v, val
    if prev_val < 0.0:
        raise ParameterError(
            f"phi={f.name!r}, g={g:.6g}, sigma={sigma:.6g}: no stationary state — the input "
            f"variance grows without bound (the network is unstable); reduce g"
        )
    return 0.0, n_eval


# -------------------------------------------------------------------------------------
# profiles
# -------------------------------------------------------------------------------------
def _cross_fn(f: Nonlinearity, v: float, lo: float, deriv: bool = False):
    """Vectorised c -> C(c; v) on [lo, v]: closed form, or a Chebyshev interpolant."""
    key = "cross_deriv" if deriv else "cross"
    if key in f.closed:
        method = f.cross_deriv if deriv else f.cross
        return lambda c: method(v, c)
    method = f.cross_deriv if deriv else f.cross
    lo = min(lo, v - 1e-12 * max(v, 1.0))
    return np.polynomial.Chebyshev.interpolate(lambda c: method(v, c), _CHEB_DEG, domain=[lo, v])


def _grid(tau_max, n_grid, decay, n_max=2**16):
    """Lag grid: ``tau_max`` defaults to 25 decay times (>= 50); spacing 0.025 unless that
    would need more than ``n_max`` points, in which case the grid is coarsened."""
    if tau_max is None:
        tau_max = float(np.clip(25.0 / decay, 50.0, 2.0e4))
    tau_max = float(tau_max)
    if n_grid is None:
        n_grid = int(min(2 ** np.ceil(np.log2(tau_max / 0.025)), n_max))
    n_grid = int(n_grid)
    if n_grid < 64 or not np.isfinite(tau_max) or tau_max <= 0:
        raise ParameterError(f"tau_max={tau_max}, n_grid={n_grid}: need tau_max > 0 and n_grid >= 64")
    return np.arange(n_grid) * (tau_max / n_grid), tau_max / n_grid


class _CrossTable:
    """``C(c; v) = E[phi(h1) phi(h2)]`` for v near d0: tensor Chebyshev table in (v, rho = c/v).

    Closed-form nonlinearities are evaluated directly. Otherwise 7 Chebyshev nodes in
    ``v in [0.9, 1.1] d0`` (v outside is clamped: a converged solution outside the range fails
    the energy check) and a degree-48 Chebyshev series in ``rho in [-0.25, 1]``, sampled on a
    fine uniform rho grid for fast linear interpolation.
    """

    def __init__(self, f, d0, rho_lo=-0.25, n_v=7, deg=_CHEB_DEG):
        self.f = f
        self.closed = "cross" in f.closed
        if self.closed:
            return
        self.v_lo, self.v_hi = 0.9 * d0, 1.1 * d0
        k = np.arange(n_v)
        xv = np.cos(np.pi * (k + 0.5) / n_v)[::-1]
        self.xv = xv
        self.vn = self.v_lo + (self.v_hi - self.v_lo) * (xv + 1.0) / 2.0
        # barycentric weights for Chebyshev points of the first kind
        self.bw = (-1.0) ** k[::-1] * np.sin(np.pi * (k + 0.5) / n_v)[::-1]
        self.rho_lo = rho_lo
        coefs = []
        for v in self.vn:
            P = np.polynomial.Chebyshev.interpolate(lambda r, v=v: f.cross(v, r * v), deg, domain=[rho_lo, 1.0])
            coefs.append(P.coef)
        # values on a fine uniform rho grid (linear interpolation error ~ 1e-9 relative)
        self.rho = np.linspace(rho_lo, 1.0, 8193)
        u = (2.0 * self.rho - (1.0 + rho_lo)) / (1.0 - rho_lo)
        self.vals = np.array([np.polynomial.chebyshev.chebval(u, c) for c in coefs])  # (n_v, 8193)

    def __call__(self, D):
        v = float(D[0])
        if self.closed:
            return self.f.cross(v, np.clip(D, -v, v))
        vc = min(max(v, self.v_lo), self.v_hi)
        x = 2.0 * (vc - self.v_lo) / (self.v_hi - self.v_lo) - 1.0
        diff = x - self.xv
        j = np.argmin(np.abs(diff))
        if abs(diff[j]) < 1e-15:
            row = self.vals[j]
        else:
            lw = self.bw / diff
            row = lw @ self.vals / lw.sum()
        return np.interp(D / vc, self.rho, row)


def _fft_profile(f, g, sigma, d0, dinf, tau, dt, damping, tol, max_iter, anderson_m=10):
    """Damped, Anderson-accelerated fixed-point iteration of (1 - d^2) D = g^2 C(D) + s^2 delta.

    ``Delta0 = D(0)`` is free (the iteration knows nothing of the energy condition), so its
    agreement with the energy-condition ``d0`` at convergence is an independent check.
    """
    n = tau.size
    omega = 2.0 * np.pi * np.fft.rfftfreq(2 * n, dt)
    kern = 1.0 / (1.0 + omega**2)
    noise = 0.5 * sigma**2 * np.exp(-tau)
    lam0 = sigma**2 / (2.0 * max(d0 - dinf, 1e-300))
    x = dinf + (d0 - dinf) * np.exp(-lam0 * tau)
    table = _CrossTable(f, d0)

    def G(D):
        S = g * g * table(D)
        ext = np.concatenate([S, S[-1:], S[:0:-1]])
        return np.fft.irfft(np.fft.rfft(ext) * kern, 2 * n)[:n] + noise

    def valid(D):
        return bool(np.all(np.isfinite(D)) and D[0] > 0)

    m = anderson_m
    Xb = np.zeros((m, n))   # ring buffers of iterate and residual differences
    Fb = np.zeros((m, n))
    k = 0                   # number of stored differences
    x_prev = f_prev = None
    res = np.inf
    scale = max(d0, 1e-300)
    fx = G(x) - x
    best, best_it = np.inf, 0
    for it in range(1, max_iter + 1):
        res = float(np.max(np.abs(fx))) / scale
        if res < tol:
            return x + fx, it, res, True
        if res < 0.5 * best:
            best, best_it = res, it
        elif it - best_it > 30:
            return x, it, res, False  # stagnated (marginal mode): give up early
        if x_prev is not None:
            Xb[k % m] = x - x_prev
            Fb[k % m] = fx - f_prev
            k += 1
        x_prev, f_prev = x, fx
        step = damping * fx
        if k:
            kk = min(k, m)
            Fm, Xm = Fb[:kk], Xb[:kk]
            gram = Fm @ Fm.T
            gram += 1e-14 * np.trace(gram) * np.eye(kk)
            coef = np.linalg.solve(gram, Fm @ fx)
            step = step - coef @ (Xm + damping * Fm)
        x_new = x + step
        if not valid(x_new):
            # Anderson extrapolated out of the valid region: restart from a short damped step
            k = 0
            x_new = x + 0.25 * damping * fx
            if not valid(x_new):
                raise ConvergenceError(
                    f"FFT fixed-point iteration left the valid region (Delta(0) <= 0) at iteration "
                    f"{it}; lower damping (now {damping}) or use method='energy'"
                )
        x = x_new
        fx = G(x) - x
    return x, max_iter, res, False


def _energy_profile(f, g, sigma, d0, dinf, tau, n_nodes=4001):
    """Delta(tau) from the first integral of the DMFT equation.

    ``dDelta/dtau = -sqrt(2 W(Delta))`` with ``W(y) = int_dinf^y (c - g^2 C(c; d0)) dc`` gives
    ``tau(y) = int_y^d0 dy' / sqrt(2 W(y'))``, computed by quadrature on two substitutions that
    remove the end-point singularities: ``y = d0 - span p^2`` near the top (``W ~ (d0 - y)``
    when sigma = 0) and ``y = dinf + span e^{-s}`` near the plateau (``W ~ (y - dinf)^2``,
    logarithmic divergence of tau). Beyond ``u_end`` the exact exponential tail
    ``Delta - dinf ~ e^{-k tau}``, ``k^2 = 1 - g^2 E[phi'phi'](dinf)``, is used.
    """
    from scipy.integrate import cumulative_simpson
    from scipy.interpolate import CubicSpline

    span = d0 - dinf
    C = _cross_fn(f, d0, dinf)
    if isinstance(C, np.polynomial.Chebyshev):
        CI = C.integ(lbnd=dinf)
        W0 = lambda y: 0.5 * (y * y - dinf * dinf) - g * g * CI(y)  # noqa: E731
    else:
        F = f.closed["cross_integral"]
        W0 = lambda y: 0.5 * (y * y - dinf * dinf) - g * g * (F(d0, y) - F(d0, dinf))  # noqa: E731
    # The tabulated C can miss the exact (1-D) energy condition by its quadrature error; a
    # correction vanishing to second order at the plateau makes W(d0) = sigma^4/8 exactly.
    err = float(W0(d0)) - sigma**4 / 8.0

    def W(y):
        return W0(y) - err * ((y - dinf) / span) ** 2

    if sigma == 0.0 and g * g * float(C(d0)) - d0 <= 0:
        raise ConvergenceError(
            "energy profile: Delta''(0) >= 0 at the chaotic solution; the root found is not a "
            "valid autocovariance (check phi)"
        )
    # upper part: p in [0, sqrt(1/2)], y = d0 - span p^2
    p = np.linspace(0.0, np.sqrt(0.5), n_nodes)
    y_up = d0 - span * p * p
    with np.errstate(divide="ignore", invalid="ignore"):
        integ_up = 2.0 * span * p / np.sqrt(2.0 * np.maximum(W(y_up), 0.0))
    if sigma == 0.0:
        # limit p -> 0: W ~ a span p^2 with a = g^2 C(d0) - d0
        a = g * g * float(C(d0)) - d0
        integ_up[0] = 2.0 * span / np.sqrt(2.0 * a * span)
    if not np.all(np.isfinite(integ_up[1:])) or np.any(W(y_up[1:]) <= 0):
        raise ConvergenceError(
            "energy profile: W(Delta) <= 0 inside (Delta_inf, Delta0), so no monotone solution "
            "connects Delta0 to the plateau (check phi)"
        )
    tau_up = cumulative_simpson(integ_up, x=p, initial=0.0)
    # lower part: s in [ln 2, ln(1/u_end)], y = dinf + span e^{-s}. W ~ u^2 there is a
    # difference of O(1) terms: stop where it is still well above round-off.
    for u_end in (1e-6, 1e-5, 1e-4, 1e-3, 1e-2):
        s_ = np.linspace(np.log(2.0), np.log(1.0 / u_end), n_nodes)
        y_lo = dinf + span * np.exp(-s_)
        w_lo = W(y_lo)
        if np.all(w_lo > 0) and w_lo[-1] > 1e-6 * abs(float(W(0.5 * (d0 + dinf)))) * (u_end / 0.5) ** 2:
            break
    else:
        raise ConvergenceError(
            "energy profile: W(Delta) <= 0 near the plateau (numerical cancellation); the state "
            "is too close to the critical point g_eff = 1"
        )
    integ_lo = span * np.exp(-s_) / np.sqrt(2.0 * w_lo)
    tau_lo = tau_up[-1] + cumulative_simpson(integ_lo, x=s_, initial=0.0)
    t_nodes = np.concatenate([tau_up, tau_lo[1:]])
    y_nodes = np.concatenate([y_up, y_lo[1:]])
    A_inf = g * g * float(f.cross_deriv(d0, dinf))
    decay = np.sqrt(max(1.0 - A_inf, 1e-300))
    t_end, y_end = t_nodes[-1], y_nodes[-1]
    out = np.empty_like(tau)
    mid = tau <= t_end
    out[mid] = CubicSpline(t_nodes, y_nodes)(tau[mid])
    late = ~mid
    out[late] = dinf + (y_end - dinf) * np.exp(-decay * (tau[late] - t_end))
    return out, 2 * n_nodes


def _lyapunov_continuous(f, g, d0, tau, delta, dt):
    """Max Lyapunov exponent: ground state E0 of -d^2 + 1 - g^2 E[phi'phi'](Delta(tau)).

    Two-replica distance Q(t, s) obeys (d_t + 1)(d_s + 1) Q = g^2 E[phi'(h(t))phi'(h(s))] Q; the
    growth exponent of sqrt(Q) is lambda = sqrt(1 - E0) - 1 (Schuecker, Goedeke & Helias 2018).
    """
    if d0 == 0.0:
        a0 = float(f.deriv(np.zeros(1))[0]) ** 2
        A = np.full(tau.size, a0)
    else:
        A = _cross_fn(f, d0, min(delta.min(), 0.0), deriv=True)(np.clip(delta, -d0, d0))
    Afull = np.concatenate([A[:0:-1], A])
    diag = 2.0 / dt**2 + 1.0 - g * g * Afull
    off = np.full(Afull.size - 1, -1.0 / dt**2)
    e0 = float(eigh_tridiagonal(diag, off, select="i", select_range=(0, 0), eigvals_only=True)[0])
    return float(np.sqrt(max(1.0 - e0, 0.0)) - 1.0)


def _linear_kappa(g, sigma, kappa, dynamics, tau_max, n_grid):
    """Exact DMFT of the linear network with reciprocal correlation kappa (spectral route).

    Self-energy: R(w) = 1 / (z - g^2 kappa R(w)), z = 1 + i w (continuous) or e^{i w}
    (discrete); S_h(w) = sigma^2 |R|^2 / (1 - g^2 |R|^2).
    """
    if g * (1.0 + kappa) >= 1.0:
        raise ParameterError(
            f"g={g:.6g}, kappa={kappa:.6g}: the linear network is unstable (needs g(1+kappa) < 1)"
        )
    if dynamics == "continuous":
        decay = max(1.0 - g * (1.0 + kappa), 1e-6)
        tau, dt = _grid(tau_max, n_grid, decay)
        n = tau.size
        w = 2.0 * np.pi * np.fft.fftfreq(2 * n, dt)
        z = 1.0 + 1j * w
    else:
        n = 1024 if n_grid is None else int(n_grid)
        tau, dt = np.arange(n, dtype=float), 1.0
        w = 2.0 * np.pi * np.fft.fftfreq(2 * n, 1.0)
        z = np.exp(1j * w)
    b = g * g * kappa
    # root of b R^2 - z R + 1 = 0 that tends to 1/z as b -> 0, in the cancellation-free form
    sq = np.sqrt(z * z - 4.0 * b)
    sq = np.where(np.real(sq / z) < 0, -sq, sq)
    R = 2.0 / (z + sq)
    R2 = np.abs(R) ** 2
    S = sigma**2 * R2 / (1.0 - g * g * R2)
    if dynamics == "continuous":
        # subtract the leading 1/w^2 tail, whose transform is exact, so the remainder decays
        # as 1/w^4 and the finite frequency grid costs O(dt^3) instead of O(dt)
        lead = sigma**2 / (1.0 + w * w)
        delta = np.real(np.fft.ifft(S - lead))[:n] / dt + 0.5 * sigma**2 * np.exp(-tau)
    else:
        delta = np.real(np.fft.ifft(S))[:n] / dt
    return tau, delta, float(S[0])


# -------------------------------------------------------------------------------------
# public API
# -------------------------------------------------------------------------------------
def effective_gain(
    g: float,
    phi="tanh",
    sigma: float = 0.0,
    dynamics: str = "continuous",
    kappa: float = 0.0,
    *,
    method: str = "auto",
    tau_max: float | None = None,
    n_grid: int | None = None,
    damping: float = 0.7,
    tol: float = 1e-9,
    max_iter: int = 500,
) -> MeanFieldResult:
    """Solve the dynamic mean-field theory of a random rate network for its effective gain.

    Parameters
    ----------
    g : float
        Coupling gain, ``J_ij ~ N(0, g^2/N)``; > 0.
    phi : str, Nonlinearity, (func, deriv) or callable with ``.deriv``
        Nonlinearity (see :func:`neurospec.nonlinearities.get_nonlinearity`).
    sigma : float
        Private white-noise amplitude (``sigma xi(t)`` with ``<xi(t) xi(t')> = delta(t - t')``
        in continuous time; ``sigma xi[t]``, ``xi ~ N(0, 1)`` per step in discrete time); >= 0.
    dynamics : {"continuous", "discrete"}
    kappa : float
        Reciprocal correlation ``corr(J_ij, J_ji)``. Only ``phi="identity"`` supports
        ``kappa != 0`` (exact linear DMFT); for nonlinear phi the reciprocal response-memory
        term makes the single-site process non-Gaussian and a :class:`ParameterError` is raised.
    method : {"auto", "fft", "energy"}
        Continuous time: how ``Delta(tau)`` is computed. "auto" uses "fft" for ``sigma > 0`` and
        "energy" for ``sigma = 0``. ``Delta0`` and ``g_eff`` always come from the exact energy
        condition; "fft" re-derives ``Delta(0)`` independently and checks it.
    tau_max : float, optional
        Length of the lag grid (time constants). Default: 25 decay times, at least 50.
    n_grid : int, optional
        Number of grid points (default: spacing 0.025, rounded up to a power of 2).
    damping : float
        Mixing parameter of the fixed-point iteration, in (0, 1].
    tol : float
        Relative tolerance of the fixed-point residual ``max|G(Delta) - Delta| / Delta0``.
    max_iter : int
        Maximum fixed-point iterations.

    Returns
    -------
    MeanFieldResult

    Raises
    ------
    ParameterError
        Invalid parameters, no stationary state (e.g. relu with ``g >= sqrt(2)``, identity with
        ``g >= 1``), nonlinear phi with ``kappa != 0``, or ``sigma = 0`` where the quiet state is
        ill-defined (phi' discontinuous at 0, or phi(0) != 0).
    ConvergenceError
        The iteration did not converge (message says what to change).

    Examples
    --------
    >>> r = effective_gain(2.0)                   # noiseless tanh chaos
    >>> round(r.g_eff, 5), round(r.delta0, 5)
    (0.97364, 1.92481)
    """
    t_start = time.perf_counter()
    g, sigma, kappa = _check_inputs(g, sigma, dynamics, kappa)
    f = get_nonlinearity(phi)
    if not (0.0 < float(damping) <= 1.0):
        raise ParameterError(f"damping={damping!r}: must lie in (0, 1]")
    if method not in ("auto", "fft", "energy"):
        raise ParameterError(f"method={method!r}: choose 'auto', 'fft' or 'energy'")
    is_identity = f.name == "identity" and "cross" in f.closed
    if kappa != 0.0 and not is_identity:
        raise ParameterError(
            f"kappa={kappa:.6g} with phi={f.name!r}: the mean-field theory of nonlinear networks with "
            f"reciprocal couplings has a non-Gaussian response-memory term that neurospec does not "
            f"solve; use kappa=0 for nonlinear phi (or phi='identity' for a linear network). For a "
            f"spectrum with kappa at a given g_eff use LinearSpectrum(g_eff, kappa) directly."
        )

    common = dict(g=g, phi=f.name, sigma=sigma, dynamics=dynamics, kappa=kappa, mean=0.0)

    if is_identity and sigma == 0.0:
        if g * (1.0 + kappa) >= 1.0:
            raise ParameterError(f"g={g:.6g}, kappa={kappa:.6g}: the linear network is unstable (needs g(1+kappa) < 1)")
        tau = np.arange(64, dtype=float)
        return MeanFieldResult(
            **common, g_eff=g, gamma=1.0, delta0=0.0, delta_inf=0.0, rate_mean=0.0, tau=tau,
            delta=np.zeros_like(tau), chaotic=False, lyapunov=(g * (1 + kappa) - 1.0) if dynamics == "continuous"
            else float(np.log(g * (1 + kappa))), rate_power=0.0, noise_power=0.0, converged=True, n_iter=0,
            residual=0.0, method="quiet", solve_time=time.perf_counter() - t_start,
        )

    if is_identity and kappa != 0.0:
        tau, delta, s0 = _linear_kappa(g, sigma, kappa, dynamics, tau_max, n_grid)
        if dynamics == "continuous":
            lyap = float(g * (1.0 + kappa) - 1.0)
        else:
            lyap = float(np.log(g * (1.0 + kappa)))
        return MeanFieldResult(
            **common, g_eff=g, gamma=1.0, delta0=float(delta[0]), delta_inf=0.0, rate_mean=0.0,
            tau=tau, delta=delta, chaotic=False, lyapunov=lyap, rate_power=s0,
            noise_power=sigma**2, converged=True, n_iter=1, residual=0.0, method="linear",
            solve_time=time.perf_counter() - t_start,
        )

    if dynamics == "discrete":
        return _solve_discrete(f, g, sigma, common, t_start)
    return _solve_continuous(f, g, sigma, common, t_start, method, tau_max, n_grid, damping, tol, max_iter)


def _quiet_state(f, g, sigma, common, t_start, dynamics):
    phi0 = float(f.func(np.zeros(1))[0])
    if phi0 != 0.0:
        raise ParameterError(
            f"phi={f.name!r} has phi(0) = {phi0:.3g} != 0, so sigma=0 has no quiet state h = 0 and "
            f"static (frozen) states are not solved; pass sigma > 0"
        )
    eps = 1e-7
    dl, dr = f.deriv(np.array([-eps, eps]))
    if abs(dl - dr) > 1e-5 * max(1.0, abs(dl) + abs(dr)):
        raise ParameterError(
            f"phi={f.name!r}: without noise the network decays to h = 0, where phi' jumps "
            f"({dl:.3g} to {dr:.3g}) so the effective gain is undefined; pass sigma > 0"
        )
    d1 = float(f.deriv(np.zeros(1))[0])
    if dynamics == "continuous" and sigma == 0.0 and 1.0 < g * abs(d1) < 1.0 + _ONSET:
        # just above the onset of chaos the chaotic variance is below the solver's resolution
        return _onset_state(f, g, 0.0, common, t_start)
    if g * abs(d1) >= 1.0 and not np.isclose(g * abs(d1), 1.0):
        raise ConvergenceError(
            f"g={g:.6g}: the quiet state is unstable (g phi'(0) > 1) but no chaotic solution was "
            f"found; check phi"
        )
    lyap = g * abs(d1) - 1.0 if dynamics == "continuous" else float(np.log(max(g * abs(d1), 1e-300)))
    tau = np.arange(64, dtype=float)
    return MeanFieldResult(
        **common, g_eff=g * d1, gamma=d1, delta0=0.0, delta_inf=0.0, rate_mean=0.0, tau=tau,
        delta=np.zeros_like(tau), chaotic=False, lyapunov=lyap, rate_power=0.0, noise_power=0.0,
        converged=True, n_iter=0, residual=0.0, method="quiet", solve_time=time.perf_counter() - t_start,
    )


#: g phi'(0) - 1 below which noiseless continuous-time chaos is treated at its onset
_ONSET = 1e-3


def _onset_state(f, g, d0, common, t_start):
    """Noiseless chaos within ``_ONSET`` of its onset (``g phi'(0) -> 1+``).

    The chaotic variance ``Delta0 ~ (g - 1)`` is tiny and its correlation time diverges like
    ``1 / (g - 1)``, beyond any grid; ``g_eff = g <phi'>`` at the solved ``Delta0`` (1 when it is
    below resolution) is what the spectrum needs, and it tends to 1 from below. The
    autocovariance profile and the Lyapunov exponent (-> 0) are not resolved.
    """
    gamma = f.mean_deriv(d0) if d0 > 0 else float(f.deriv(np.zeros(1))[0])
    g_eff = min(g * gamma, 1.0)
    tau = np.arange(64, dtype=float)
    return MeanFieldResult(
        **common, g_eff=g_eff, gamma=gamma, delta0=d0, delta_inf=0.0, rate_mean=0.0, tau=tau,
        delta=np.full(tau.size, d0), chaotic=True, lyapunov=0.0, rate_power=float("nan"),
        noise_power=float("nan"), converged=True, n_iter=0, residual=0.0, method="onset",
        solve_time=time.perf_counter() - t_start,
    )


def _solve_discrete(f, g, sigma, common, t_start):
    d0, n_eval = _solve_scalar(_discrete, f, g, sigma, "discrete-time variance condition")
    if d0 == 0.0:
        return _quiet_state(f, g, sigma, common, t_start, "discrete")
    dinf = _plateau(f, g, d0)
    gamma = f.mean_deriv(d0)
    g_eff = g * gamma
    A_inf = g * g * float(f.cross_deriv(d0, dinf))  # = g_eff^2 for odd phi
    if A_inf >= 1.0:
        raise ParameterError(
            f"phi={f.name!r}, g={g:.6g}: g^2 E[phi'phi'] = {A_inf:.4g} >= 1 at the plateau, so the "
            f"lagged correlations have no stable solution (no stationary state); reduce g"
        )
    second = f.second_moment(d0)
    resid = abs(d0 - g * g * second - sigma**2) / d0
    cinf = float(f.cross(d0, dinf))
    rate_power = second - cinf
    tau = np.arange(64, dtype=float)
    delta = np.full(tau.size, dinf)
    delta[0] = d0
    lyap = 0.5 * float(np.log(g * g * f.mean_deriv_sq(d0)))
    return MeanFieldResult(
        **common, g_eff=g_eff, gamma=gamma, delta0=d0, delta_inf=dinf, rate_mean=f.mean(d0), tau=tau,
        delta=delta, chaotic=lyap > 0, lyapunov=lyap, rate_power=rate_power,
        noise_power=(1.0 - g_eff**2) * rate_power, converged=True, n_iter=n_eval, residual=resid,
        method="discrete", solve_time=time.perf_counter() - t_start,
    )


def _solve_continuous(f, g, sigma, common, t_start, method, tau_max, n_grid, damping, tol, max_iter):
    d0, n_eval = _solve_scalar(_energy, f, g, sigma, "energy condition")
    if d0 == 0.0:
        return _quiet_state(f, g, sigma, common, t_start, "continuous")
    dinf = _plateau(f, g, d0)
    gamma = f.mean_deriv(d0)
    g_eff = g * gamma
    A_inf = g * g * float(f.cross_deriv(d0, dinf))
    if A_inf >= 1.0:
        raise ParameterError(
            f"phi={f.name!r}, g={g:.6g}, sigma={sigma:.6g}: the plateau of Delta(tau) is not stable "
            f"(g^2 E[phi'phi'] = {A_inf:.4g} >= 1 at lag infinity); no stationary state; reduce g"
        )
    decay = np.sqrt(1.0 - A_inf)
    tau, dt = _grid(tau_max, n_grid, decay)
    auto = method == "auto"
    if auto:
        method = "fft" if sigma > 0 else "energy"
    if method == "fft" and sigma == 0.0:
        raise ParameterError(
            "method='fft' needs sigma > 0: without noise the fixed-point iteration is marginal "
            "(time-translation mode); use method='energy'"
        )
    notes = ""
    if method == "fft":
        try:
            delta, n_iter, resid = _fft_checked(f, g, sigma, d0, dinf, tau, dt, damping, tol, max_iter)
        except ConvergenceError as exc:
            if not auto:
                raise
            # chaotic states with weak noise make the iteration marginal (time-translation mode)
            notes = f"FFT fixed point failed ({exc}); profile from the energy first integral"
            method = "energy"
    if method == "energy":
        try:
            delta, _ = _energy_profile(f, g, sigma, d0, dinf, tau)
        except ConvergenceError:
            d1 = abs(float(f.deriv(np.zeros(1))[0]))
            if sigma == 0.0 and 1.0 < g * d1 < 1.0 + _ONSET:
                return _onset_state(f, g, d0, common, t_start)
            raise
        n_iter = n_eval
        resid = _ode_residual(f, g, d0, dinf, delta, dt)
    Cfn = _cross_fn(f, d0, min(float(delta.min()), dinf))
    Cvals = Cfn(np.clip(delta, -d0, d0))
    # the plateau of the profile itself (the FFT solution's own, within its discretisation
    # error of the exact dinf): a mismatch would otherwise accumulate over the whole grid
    cinf = float(Cvals[-1]) if method == "fft" else float(f.cross(d0, dinf))
    # zero-frequency power of rate fluctuations: 2 * int_0^inf (C - C_inf) (trapezoid + tail)
    dC = Cvals - cinf
    rate_power = float(2.0 * dt * (np.sum(dC) - 0.5 * dC[0]) + 2.0 * dC[-1] / decay)
    lyap = _lyapunov_continuous(f, g, d0, tau, delta, dt)
    return MeanFieldResult(
        **common, g_eff=g_eff, gamma=gamma, delta0=d0, delta_inf=dinf, rate_mean=f.mean(d0), tau=tau,
        delta=delta, chaotic=bool(lyap > 1e-6), lyapunov=lyap, rate_power=rate_power,
        noise_power=(1.0 - g_eff**2) * rate_power, converged=True, n_iter=int(n_iter), residual=float(resid),
        method=method, solve_time=time.perf_counter() - t_start, notes=notes,
    )


def _ode_residual(f, g, d0, dinf, delta, dt):
    """max |Delta'' - Delta + g^2 C(Delta)| / Delta0 by central differences (tau >= 2 dt).

    A check of the profile against the second-order DMFT equation, independent of the first
    integral used to compute it; limited by the O(dt^2) difference error.
    """
    if delta.size < 8:
        return 0.0
    Cfn = _cross_fn(f, d0, min(float(delta.min()), dinf))
    d2 = (delta[2:] - 2.0 * delta[1:-1] + delta[:-2]) / dt**2
    r = d2 - delta[1:-1] + g * g * Cfn(np.clip(delta[1:-1], -d0, d0))
    return float(np.max(np.abs(r[1:])) / d0)


def _fft_checked(f, g, sigma, d0, dinf, tau, dt, damping, tol, max_iter):
    delta, n_iter, resid, ok = _fft_profile(f, g, sigma, d0, dinf, tau, dt, float(damping), tol, int(max_iter))
    if not ok:
        raise ConvergenceError(
            f"FFT fixed-point iteration did not converge ({n_iter} of max_iter={max_iter} "
            f"iterations, residual {resid:.2e} > tol={tol:.1e}); increase max_iter, lower damping "
            f"(now {damping}), or use method='energy'"
        )
    mismatch = abs(delta[0] - d0) / d0
    if mismatch > 2e-3:
        raise ConvergenceError(
            f"the FFT solution Delta(0) = {delta[0]:.6g} disagrees with the energy condition "
            f"Delta0 = {d0:.6g} (relative {mismatch:.1e}); refine the grid (n_grid) or enlarge tau_max"
        )
    tail = abs(delta[tau.size // 2] - dinf) / d0
    if tail > 1e-4:
        raise ConvergenceError(
            f"Delta(tau) has not decayed at tau_max/2 = {tau[tau.size // 2]:.3g} (relative "
            f"{tail:.1e}); increase tau_max"
        )
    return delta, n_iter, max(resid, mismatch)


def predicted_spectrum(g, phi="tanh", sigma=0.0, dynamics="continuous", kappa=0.0, *, normalized=False, **kwargs):
    """``LinearSpectrum(g_eff, kappa)`` for the ensemble of networks with these parameters.

    Parameters
    ----------
    g, phi, sigma, dynamics, kappa
        As in :func:`effective_gain`: coupling gain, nonlinearity, noise amplitude,
        ``"continuous"`` or ``"discrete"`` time, reciprocal correlation.
    normalized : bool, default False
        Return the mean-1 shape instead of the spectrum in units of the rate power.
    **kwargs
        Passed to :func:`effective_gain`.

    Returns
    -------
    LinearSpectrum
        ``LinearSpectrum(g_eff, kappa)``; the eigenvalues of the zero-frequency rate covariance
        are ``noise_power`` times this distribution.

    Examples
    --------
    >>> from neurospec.theory import predicted_spectrum
    >>> s = predicted_spectrum(0.8, "tanh", sigma=1.0, normalized=True)
    >>> type(s).__name__, round(float(s.mean()), 6), round(float(s.participation_ratio()), 4)
    ('LinearSpectrum', 1.0, 0.4776)
    """
    return effective_gain(g, phi, sigma, dynamics, kappa, **kwargs).spectrum(normalized=normalized)


def linear_equivalent_covariance(
    J,
    phi="tanh",
    sigma: float = 0.0,
    dynamics: str = "continuous",
    *,
    g: float | None = None,
    result: MeanFieldResult | None = None,
    **kwargs,
) -> np.ndarray:
    r"""Predicted zero-frequency rate covariance of one concrete network (Clark 2026).

    ``C_r(0) = D0 (I - gamma J)^-1 (I - gamma J)^-T`` with ``gamma = <phi'(h)>`` from the mean
    field at ``g`` and ``D0 = (1 - g_eff^2) S_r(0)``.

    Derivation of D0: split each rate into its linear part and a residual,
    ``r = gamma h + rho`` (Bussgang); at zero frequency ``(I - gamma J) h = J rho + sigma xi``,
    so ``r = (I - gamma J)^-1 (rho + gamma sigma xi)``. With residuals independent across neurons
    (large N), the private noise is ``D0 = S_rho(0) + gamma^2 sigma^2``. DMFT gives
    ``S_rho(0) = S_r(0) - gamma^2 S_h(0)`` and ``S_h(0) = g^2 S_r(0) + sigma^2``, hence
    ``D0 = (1 - g_eff^2) S_r(0)``: the mean of ``D0 (I - gamma J)^-1 (I - gamma J)^-T``'s spectrum,
    ``D0 / (1 - g_eff^2)``, equals the mean-field zero-frequency rate power ``S_r(0)``.

    Parameters
    ----------
    J : array_like, shape (N, N)
        Coupling matrix (``dh/dt = -h + J phi(h) + sigma xi``).
    phi, sigma, dynamics
        As in :func:`effective_gain`.
    g : float, optional
        Gain of the ensemble J was drawn from; default ``std(J) sqrt(N)``.
    result : MeanFieldResult, optional
        A solved mean field to use instead of solving again.
    **kwargs
        Passed to :func:`effective_gain`.

    Returns
    -------
    ndarray, shape (N, N)
        Covariance of rates summed over a long window, divided by the window length (units of
        rate^2 x time constant; per step in discrete time).

    Examples
    --------
    The predicted dimension of one tanh network matches the mean-field ``(1 - g_eff^2)^2``:

    >>> from neurospec.simulate import draw_couplings
    >>> from neurospec.theory import linear_equivalent_covariance
    >>> J = draw_couplings(300, 0.8, rng=np.random.default_rng(0))
    >>> C = linear_equivalent_covariance(J, "tanh", sigma=1.0, g=0.8)
    >>> C.shape
    (300, 300)
    >>> ev = np.linalg.eigvalsh(C)
    >>> round(float(ev.sum() ** 2 / (ev ** 2).sum() / 300), 2)
    0.47
    """
    J = np.asarray(J, dtype=float)
    if J.ndim != 2 or J.shape[0] != J.shape[1] or J.shape[0] < 2:
        raise ParameterError(f"J must be a square (N, N) matrix with N >= 2; got shape {J.shape}")
    if not np.all(np.isfinite(J)):
        raise ParameterError("J contains NaN or inf")
    N = J.shape[0]
    g_hat = float(np.std(J) * np.sqrt(N))
    if g is None:
        g = g_hat
    mean_outlier = abs(float(np.mean(J))) * N
    if mean_outlier > max(0.2, 5.0 * g_hat / np.sqrt(N)):
        warnings.warn(
            f"J has a nonzero mean (N * mean(J) = {mean_outlier:.3g}); the mean-field theory assumes "
            f"zero-mean couplings, so the prediction ignores the resulting outlier mode",
            RuntimeWarning,
            stacklevel=2,
        )
    iu = np.triu_indices(N, 1)
    kappa_hat = float(np.corrcoef(J[iu], J.T[iu])[0, 1])
    kappa = float(kwargs.get("kappa", 0.0) if result is None else result.kappa)
    # sampling sd of the estimate is ~ sqrt(2)/N for iid couplings
    if abs(kappa_hat - kappa) > max(0.05, 6.0 * np.sqrt(2.0) / N):
        warnings.warn(
            f"J has reciprocal correlation corr(J_ij, J_ji) = {kappa_hat:.3f} but the mean field is "
            f"solved with kappa = {kappa:.3g}; for phi='identity' pass kappa=..., for nonlinear "
            f"phi the prediction assumes iid couplings",
            RuntimeWarning,
            stacklevel=2,
        )
    if result is None:
        result = effective_gain(g, phi, sigma, dynamics, **kwargs)
    gamma = result.gamma
    A = np.eye(N) - gamma * J
    M = np.linalg.solve(A, np.eye(N))
    if not np.all(np.isfinite(M)):
        raise ConvergenceError("I - gamma J is singular; the linear-equivalent covariance does not exist")
    return result.noise_power * (M @ M.T)
