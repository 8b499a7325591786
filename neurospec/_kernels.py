"""Numba hot loops of the rate-network simulator (private; used by :mod:`neurospec.simulate`).

State layout: the input currents of all trials are one C-contiguous array ``H`` of shape
``(n_neurons, n_trials)``, and ``P = phi(H)`` likewise, so that one integration step is one
matrix-matrix product ``J @ P`` (BLAS ``dgemm``: the coupling matrix is read once per step
for all trials) followed by one fused element-wise pass that applies the update, the
nonlinearity and the bin accumulation. Both dynamics share the update

    h <- a h + b (J phi(h)) + ns z,      z ~ N(0, 1) pre-drawn by the caller,

with ``a = exp(-dt), b = 1 - a, ns = sigma sqrt((1 - a^2)/2)`` (continuous time,
exponential Euler), ``a = 1 - dt, b = dt, ns = sigma sqrt(dt)`` (continuous time,
Euler-Maruyama) and ``a = 0, b = 1, ns = sigma`` (discrete-time map).

The noise is drawn inside the loop by a counter-based generator (SplitMix64 uniforms,
Box-Muller with vectorisable log/sin/cos: :func:`fill_normals`, ~2.4 ns per number against
~8 ns for NumPy's ziggurat), so a seed gives the same random numbers, bit for bit, whether
or not the loops are compiled (:func:`normals_block` is the NumPy version).

:func:`integrate_numpy` is the same scheme written with whole-array NumPy operations: it
runs user-supplied nonlinearities, and it is what :mod:`neurospec.simulate` uses when
``NUMBA_DISABLE_JIT=1`` (the element loops of :func:`integrate` would then run in the
Python interpreter, thousands of times slower). The two agree to rounding; the tests check
this with and without JIT.
"""

from __future__ import annotations

import math

import numpy as np
from numba import config as _numba_config
from numba import njit
from numba.extending import overload

__all__ = [
    "PHI_CODES",
    "RECORD_CODES",
    "JIT_ENABLED",
    "fast_tanh",
    "fast_tanh_array",
    "fast_erf",
    "fast_erf_array",
    "fill_normals",
    "normals_block",
    "integrate",
    "integrate_numpy",
]

#: integer codes of the nonlinearities implemented inside the compiled kernel
PHI_CODES = {"tanh": 0, "erf": 1, "relu": 2, "identity": 3}
#: what is accumulated into bins: phi(h) (rates), h (currents), or the Poisson intensity
RECORD_CODES = {"rates": 0, "currents": 1, "intensity": 2}
#: False when numba's JIT is disabled (NUMBA_DISABLE_JIT=1)
JIT_ENABLED = not _numba_config.DISABLE_JIT

_ERF_A = math.sqrt(math.pi) / 2.0  # erf(a h) has slope 1 at h = 0
_ERF_A2 = _ERF_A * _ERF_A

# error_model="numpy" drops Python's ZeroDivisionError check on float division, which
# would otherwise stop LLVM from vectorising the element loops.
_jit = njit(cache=True, error_model="numpy")


@njit(cache=True, error_model="numpy", inline="always")
def _expm1_taylor(r):
    """``expm1(r)`` for ``|r| <= 0.625``: the degree-18 Taylor polynomial (truncation below
    3e-20), Horner form. Shared by :func:`fast_tanh` and :func:`fast_erf`, which reach larger
    arguments by repeated doubling/squaring."""
    q = 1.5619206968586225e-16
    q = 2.8114572543455206e-15 + r * q
    q = 4.779477332387385e-14 + r * q
    q = 7.647163731819816e-13 + r * q
    q = 1.1470745597729725e-11 + r * q
    q = 1.6059043836821613e-10 + r * q
    q = 2.08767569878681e-09 + r * q
    q = 2.505210838544172e-08 + r * q
    q = 2.755731922398589e-07 + r * q
    q = 2.7557319223985893e-06 + r * q
    q = 2.48015873015873e-05 + r * q
    q = 0.0001984126984126984 + r * q
    q = 0.001388888888888889 + r * q
    q = 0.008333333333333333 + r * q
    q = 0.041666666666666664 + r * q
    q = 0.16666666666666666 + r * q
    q = 0.5 + r * q
    q = 1.0 + r * q
    return r * q


@_jit
def fast_tanh(x):
    """``tanh(x)`` in branch-free arithmetic that LLVM vectorises (numba's ``np.tanh`` calls
    the scalar libm routine, ~8x slower inside the hot loop).

    ``tanh|x| = -m / (2 + m)`` with ``m = expm1(-2|x|)``; ``expm1`` by scaling and squaring:
    the degree-18 Taylor polynomial :func:`_expm1_taylor` at ``r = -2|x|/64`` (``|r| <= 0.625``,
    truncation below 1e-19), then six doublings ``expm1(2r) = expm1(r) (2 + expm1(r))``, which keep the
    relative accuracy near 0. ``|x|`` is clipped at 20, where ``tanh`` is 1 in float64.
    Maximal error against ``numpy.tanh``: a few ulp (tested). Scalar; see :func:`fast_tanh_array`.
    """
    a = min(abs(x), 20.0)
    q = _expm1_taylor(a * (-2.0 / 64.0))
    q = q * (2.0 + q)
    q = q * (2.0 + q)
    q = q * (2.0 + q)
    q = q * (2.0 + q)
    q = q * (2.0 + q)
    q = q * (2.0 + q)
    return math.copysign(-q / (2.0 + q), x)


@_jit
def fast_tanh_array(x, out):
    """Apply :func:`fast_tanh` element-wise: ``out[i] = tanh(x[i])`` for 1-D arrays."""
    for i in range(x.size):
        out[i] = fast_tanh(x[i])
    return out


@njit(cache=True, error_model="numpy", inline="always")
def fast_erf(x):
    """``erf(x)`` in branch-free arithmetic that LLVM vectorises (numba calls the scalar libm
    ``erf``, ~7x slower inside the hot loop). Absolute error below 2e-15 (tested).

    ``|x| < 1``: Maclaurin series, 19 terms (truncation < 1e-18). ``|x| >= 1``:
    ``erf = 1 - exp(-x^2) f(1/x) / x`` with ``f(u) = x erfcx(x)`` as a degree-24 Chebyshev
    series in ``u = 1/x`` on [1/6, 1] (coefficients: ``numpy.polynomial.chebyshev.
    chebinterpolate`` of ``scipy.special.erfcx``), ``|x|`` clipped at 6 where erf is 1 in
    float64; ``exp`` by scaling and squaring. Both branches are evaluated and selected.
    """
    a = abs(x)
    # -- series for a < 1
    s = min(a, 1.0)
    s2 = s * s
    p = 4.763348040515068e-18
    p = -9.063970842808673e-17 + s2 * p
    p = 1.6342614095367152e-15 + s2 * p
    p = -2.7835162072109212e-14 + s2 * p
    p = 4.4632242632864775e-13 + s2 * p
    p = -6.7113668551641105e-12 + s2 * p
    p = 9.422759064650411e-11 + s2 * p
    p = -1.2290555301717926e-09 + s2 * p
    p = 1.4807192815879218e-08 + s2 * p
    p = -1.6365844691234924e-07 + s2 * p
    p = 1.6462114365889246e-06 + s2 * p
    p = -1.492565035840625e-05 + s2 * p
    p = 0.00012055332981789664 + s2 * p
    p = -0.0008548327023450852 + s2 * p
    p = 0.005223977625442188 + s2 * p
    p = -0.026866170645131252 + s2 * p
    p = 0.11283791670955126 + s2 * p
    p = -0.37612638903183754 + s2 * p
    p = 1.1283791670955126 + s2 * p
    small = s * p
    # -- 1 - exp(-a^2) f(1/a) / a for 1 <= a <= 6
    y = min(max(a, 1.0), 6.0)
    u = 1.0 / y
    t = (u - 0.5833333333333334) * 2.4
    t2 = 2.0 * t
    b1 = 0.0
    b2 = 0.0
    b1, b2 = np.float64(-9.110820015905444e-16) + t2 * b1 - b2, b1
    b1, b2 = np.float64(4.378816353025571e-16) + t2 * b1 - b2, b1
    b1, b2 = np.float64(-1.8794815275511857e-15) + t2 * b1 - b2, b1
    b1, b2 = np.float64(2.507523842238841e-15) + t2 * b1 - b2, b1
    b1, b2 = np.float64(9.631904183012317e-16) + t2 * b1 - b2, b1
    b1, b2 = np.float64(-4.4596067689853026e-14) + t2 * b1 - b2, b1
    b1, b2 = np.float64(2.7775859124484965e-13) + t2 * b1 - b2, b1
    b1, b2 = np.float64(-1.1364387944820735e-12) + t2 * b1 - b2, b1
    b1, b2 = np.float64(3.1125795909445253e-12) + t2 * b1 - b2, b1
    b1, b2 = np.float64(-2.1672040494561916e-12) + t2 * b1 - b2, b1
    b1, b2 = np.float64(-3.7867403256093994e-11) + t2 * b1 - b2, b1
    b1, b2 = np.float64(2.9478911578353356e-10) + t2 * b1 - b2, b1
    b1, b2 = np.float64(-1.341643752346899e-09) + t2 * b1 - b2, b1
    b1, b2 = np.float64(3.819515542622823e-09) + t2 * b1 - b2, b1
    b1, b2 = np.float64(-9.07126875384445e-10) + t2 * b1 - b2, b1
    b1, b2 = np.float64(-6.999918838871827e-08) + t2 * b1 - b2, b1
    b1, b2 = np.float64(5.188227610368061e-07) + t2 * b1 - b2, b1
    b1, b2 = np.float64(-2.2059099608889522e-06) + t2 * b1 - b2, b1
    b1, b2 = np.float64(3.9686957443691205e-06) + t2 * b1 - b2, b1
    b1, b2 = np.float64(2.6743225983699884e-05) + t2 * b1 - b2, b1
    b1, b2 = np.float64(-0.00032014496358246373) + t2 * b1 - b2, b1
    b1, b2 = np.float64(0.0017172451281468526) + t2 * b1 - b2, b1
    b1, b2 = np.float64(-0.002276464574235973) + t2 * b1 - b2, b1
    b1, b2 = np.float64(-0.06627963187965233) + t2 * b1 - b2, b1
    f = np.float64(0.49471361578208073) + t * b1 - b2
    r = y * y * (-1.0 / 64.0)  # exp(-y^2) = exp(r)^64, |r| <= 0.5625
    e = 1.0 + _expm1_taylor(r)
    e = e * e
    e = e * e
    e = e * e
    e = e * e
    e = e * e
    e = e * e
    large = 1.0 - e * f * u
    return math.copysign(large if a >= 1.0 else small, x)



@_jit
def fast_erf_array(x, out):
    """Apply :func:`fast_erf` element-wise: ``out[i] = erf(x[i])`` for 1-D arrays."""
    for i in range(x.size):
        out[i] = fast_erf(x[i])
    return out


# --------------------------------------------------------------------------------------
# Gaussian noise: counter-based SplitMix64 + Box-Muller, vectorisable, bit-reproducible
# --------------------------------------------------------------------------------------
# The noise of step s is a pure function of (key, counter): uniform number i of a run is
# mix(key + i * GAMMA) (SplitMix64, whose sequential outputs pass BigCrush), and pairs of
# uniforms become pairs of normals by Box-Muller. Every operation below is an IEEE basic
# operation (+ - * / sqrt, integer mix) written so that it is valid on numba scalars and on
# NumPy arrays alike; the compiled per-step loop (fill_normals) and the NumPy bulk version
# (normals_block) therefore give bit-identical numbers, with or without JIT.
_GAMMA = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_S11, _S27, _S30, _S31 = np.uint64(11), np.uint64(27), np.uint64(30), np.uint64(31)
_U1, _U2 = np.uint64(1), np.uint64(2)
_INV53 = 2.0**-53
_P32, _P16, _P8, _P4, _P2 = 2.0**-32, 2.0**-16, 2.0**-8, 2.0**-4, 2.0**-2
_SQRT_HALF = math.sqrt(0.5)
_LN2 = math.log(2.0)
_QUARTER_TURN = math.pi / 2.0


def _sel(b, x, y):
    """``x`` where ``b`` else ``y``: ``numpy.where`` on arrays; a select in compiled code."""
    return np.where(b, x, y)


@overload(_sel, jit_options={"error_model": "numpy"})
def _sel_scalar(b, x, y):
    def impl(b, x, y):
        return x if b else y
    return impl


@njit(cache=True, error_model="numpy", inline="always")
def _normal_pair(key, c):
    """Two independent N(0, 1) numbers from uniforms number ``c`` and ``c + 1`` of ``key``.

    Self-contained (no calls) so that ``_normal_pair.py_func`` is plain NumPy on arrays.
    Uniforms: SplitMix64 ``mix(key + i * GAMMA)``, top 53 bits. ``log u1`` is branch-free:
    ``u1`` is scaled by powers of two into [sqrt(1/2), sqrt(2)), then the atanh series
    ``log u = 2 (s + s^3/3 + ...)``, ``s = (u-1)/(u+1)``, ``|s| <= 0.172``, 13 terms
    (abs. error < 1e-14). ``cos``, ``sin`` of the angle: Taylor series at a quarter of it
    (``|a| <= pi/4``, truncation < 1e-17), then the double-angle formulas twice.
    """
    x0 = key + c * _GAMMA
    x0 = (x0 ^ (x0 >> _S30)) * _M1
    x0 = (x0 ^ (x0 >> _S27)) * _M2
    x0 = x0 ^ (x0 >> _S31)
    x1 = key + (c + _U1) * _GAMMA
    x1 = (x1 ^ (x1 >> _S30)) * _M1
    x1 = (x1 ^ (x1 >> _S27)) * _M2
    x1 = x1 ^ (x1 >> _S31)
    u = ((x0 >> _S11) + _U1) * _INV53      # u1 in (0, 1]
    u2 = (x1 >> _S11) * _INV53              # [0, 1)
    # -- log(u1)
    b = u < _P32
    u = _sel(b, u * 4294967296.0, u)
    k = _sel(b, 32.0, 0.0)
    b = u < _P16
    u = _sel(b, u * 65536.0, u)
    k = k + _sel(b, 16.0, 0.0)
    b = u < _P8
    u = _sel(b, u * 256.0, u)
    k = k + _sel(b, 8.0, 0.0)
    b = u < _P4
    u = _sel(b, u * 16.0, u)
    k = k + _sel(b, 4.0, 0.0)
    b = u < _P2
    u = _sel(b, u * 4.0, u)
    k = k + _sel(b, 2.0, 0.0)
    b = u < 0.5
    u = _sel(b, u * 2.0, u)
    k = k + _sel(b, 1.0, 0.0)
    b = u < _SQRT_HALF
    u = _sel(b, u * 2.0, u)
    k = k + _sel(b, 1.0, 0.0)
    s = (u - 1.0) / (u + 1.0)
    s2 = s * s
    p = 1.0 / 25.0
    p = 1.0 / 23.0 + s2 * p
    p = 1.0 / 21.0 + s2 * p
    p = 1.0 / 19.0 + s2 * p
    p = 1.0 / 17.0 + s2 * p
    p = 1.0 / 15.0 + s2 * p
    p = 1.0 / 13.0 + s2 * p
    p = 1.0 / 11.0 + s2 * p
    p = 1.0 / 9.0 + s2 * p
    p = 1.0 / 7.0 + s2 * p
    p = 1.0 / 5.0 + s2 * p
    p = 1.0 / 3.0 + s2 * p
    p = 1.0 + s2 * p
    r = np.sqrt(-2.0 * (2.0 * s * p - k * _LN2))
    # -- cos and sin of theta = 2 pi u2 - pi
    a = (u2 - 0.5) * _QUARTER_TURN          # theta / 4
    a2 = a * a
    sn = 2.8114572543455206e-15
    sn = -7.647163731819816e-13 + a2 * sn
    sn = 1.6059043836821613e-10 + a2 * sn
    sn = -2.505210838544172e-08 + a2 * sn
    sn = 2.7557319223985893e-06 + a2 * sn
    sn = -0.0001984126984126984 + a2 * sn
    sn = 0.008333333333333333 + a2 * sn
    sn = -0.16666666666666666 + a2 * sn
    sn = a * (1.0 + a2 * sn)
    cs = 4.779477332387385e-14
    cs = -1.1470745597729725e-11 + a2 * cs
    cs = 2.08767569878681e-09 + a2 * cs
    cs = -2.755731922398589e-07 + a2 * cs
    cs = 2.48015873015873e-05 + a2 * cs
    cs = -0.001388888888888889 + a2 * cs
    cs = 0.041666666666666664 + a2 * cs
    cs = -0.5 + a2 * cs
    cs = 1.0 + a2 * cs
    sn2 = 2.0 * sn * cs                     # double angle, twice
    cs2 = (cs - sn) * (cs + sn)
    sn = 2.0 * sn2 * cs2
    cs = (cs2 - sn2) * (cs2 + sn2)
    return r * cs, r * sn


@_jit
def fill_normals(key, counter, Z):
    """Fill the 1-D array ``Z`` (n numbers) with normals from ``counter`` on; return the next.

    Pair p (uniforms ``counter + 2p``, ``+ 2p + 1``) gives ``Z[p]`` and ``Z[p + m]``,
    ``m = ceil(n / 2)``; the counter advances by ``2 m``.
    """
    key = np.uint64(key)
    counter = np.uint64(counter)
    n = Z.size
    m = (n + 1) // 2
    first = Z[:m]
    second = Z[m:]
    for p in range(n - m):
        z0, z1 = _normal_pair(key, counter + np.uint64(2 * p))
        first[p] = z0
        second[p] = z1
    if n % 2 == 1:
        z0, z1 = _normal_pair(key, counter + np.uint64(2 * (m - 1)))
        first[m - 1] = z0
    return counter + np.uint64(2 * m)


if not JIT_ENABLED:
    # Interpreted, the loop works on NumPy uint64 scalars, whose (intended) wrap-around
    # multiplication warns; silence that, keep the loop itself.
    _fill_normals_loop = fill_normals

    def fill_normals(key, counter, Z):  # noqa: F811
        with np.errstate(over="ignore"):
            return _fill_normals_loop(key, counter, Z)

    fill_normals.__doc__ = _fill_normals_loop.__doc__


def normals_block(key, counter, n, n_steps):
    """NumPy version of ``n_steps`` successive :func:`fill_normals` calls (bit-identical).

    Returns
    -------
    Z : ndarray, shape (n_steps, n)
    next_counter : numpy.uint64
    """
    m = (n + 1) // 2
    c = np.uint64(counter) + _U2 * np.arange(n_steps * m, dtype=np.uint64).reshape(n_steps, m)
    with np.errstate(over="ignore"):
        z0, z1 = _normal_pair_array(np.uint64(key), c)
    Z = np.empty((n_steps, n))
    Z[:, :m] = z0
    Z[:, m:] = z1[:, : n - m]
    return Z, np.uint64(counter) + np.uint64(2 * m * n_steps)


def _normal_pair_array(key, c):
    # the same source on NumPy arrays (py_func is the undecorated function)
    return getattr(_normal_pair, "py_func", _normal_pair)(key, c)


# --------------------------------------------------------------------------------------
# fused element-wise update, one loop per nonlinearity (a branch on the nonlinearity
# inside the loop stops vectorisation; numba/LLVM do not unswitch it)
# --------------------------------------------------------------------------------------
@_jit
def _select(mode, p, h, base, scale, lo):
    if mode == 0:
        return p
    if mode == 1:
        return h
    return max(base + scale * (p - lo), 0.0)


@_jit
def _update_tanh(H, P, JP, Z, a, b, ns, mode, acc, base, scale, lo):
    for j in range(H.size):
        h = a * H[j] + b * JP[j] + ns * Z[j]
        p = fast_tanh(h)
        H[j] = h
        P[j] = p
        acc[j] += _select(mode, p, h, base, scale, lo)


# contracting multiply-adds into FMAs shortens fast_erf's dependency chains (~1.6x faster)
@njit(cache=True, error_model="numpy", fastmath={"contract"})
def _update_erf(H, P, JP, Z, a, b, ns, mode, acc, base, scale, lo):
    for j in range(H.size):
        h = a * H[j] + b * JP[j] + ns * Z[j]
        p = fast_erf(_ERF_A * h)
        H[j] = h
        P[j] = p
        acc[j] += _select(mode, p, h, base, scale, lo)


@_jit
def _update_relu(H, P, JP, Z, a, b, ns, mode, acc, base, scale, lo):
    for j in range(H.size):
        h = a * H[j] + b * JP[j] + ns * Z[j]
        p = max(h, 0.0)
        H[j] = h
        P[j] = p
        acc[j] += _select(mode, p, h, base, scale, lo)


@_jit
def _update_identity(H, P, JP, Z, a, b, ns, mode, acc, base, scale, lo):
    for j in range(H.size):
        h = a * H[j] + b * JP[j] + ns * Z[j]
        H[j] = h
        P[j] = h
        acc[j] += _select(mode, h, h, base, scale, lo)


@_jit
def _dphi(code, h, p):
    if code == 0:
        return 1.0 - p * p
    if code == 1:
        return math.exp(-_ERF_A2 * h * h)
    if code == 2:
        return 1.0 if h > 0.0 else 0.0
    return 1.0


@_jit
def _stats(code, H, P, dacc, hacc, h2acc):
    for j in range(H.size):
        h = H[j]
        dacc[j] += _dphi(code, h, P[j])
        hacc[j] += h
        h2acc[j] += h * h


@_jit
def integrate(J, H, P, JP, key, counter, n_steps, Z, code, a, b, ns, mode, base, scale, lo,
              steps_per_bin, out_factor, out, acc, pos, bin_index,
              stat_every, step_count, dacc, hacc, h2acc):
    """Advance all trials by ``n_steps`` steps, binning on the fly.

    Parameters
    ----------
    J : ndarray, shape (N, N)
        Couplings (C-contiguous).
    H, P, JP : ndarray, shape (N, K)
        State ``h``, ``phi(h)`` (updated in place) and a work buffer; C-contiguous.
    key, counter : numpy.uint64
        Noise stream and position in it (see :func:`fill_normals`); each step with
        ``ns != 0`` draws ``N * K`` standard normals.
    n_steps : int
        Number of steps.
    Z : ndarray, shape (N * K,)
        Work buffer for one step's noise (must hold zeros when ``ns == 0``).
    code : int
        Nonlinearity, see :data:`PHI_CODES`.
    a, b, ns : float
        Update coefficients (see the module docstring).
    mode : int
        What bins accumulate, see :data:`RECORD_CODES`; mode 2 accumulates the Poisson
        intensity ``max(base + scale (phi(h) - lo), 0)``.
    base, scale, lo : float
        Intensity parameters (mode 2 only).
    steps_per_bin : int
        Steps per bin.
    out_factor : float
        A finished bin is written as ``acc * out_factor`` (``1/steps_per_bin`` for a
        bin average, ``dt * tau`` for the integrated intensity).
    out : ndarray, shape (K, n_bins, N)
        Output bins (trial, bin, neuron).
    acc : ndarray, shape (N, K)
        Running sum of the current bin (carried across calls).
    pos, bin_index : int
        Steps already in the current bin, and its index in ``out``.
    stat_every : int
        Every ``stat_every``-th step (counted by ``step_count``) adds ``phi'(h)``, ``h`` and
        ``h**2`` to ``dacc``, ``hacc``, ``h2acc`` (shape (N, K)); 0 disables this.
    step_count : int
        Steps taken so far (carried across calls).

    Returns
    -------
    pos, bin_index, step_count, n_stat : int
        Updated counters; ``n_stat`` is the number of statistics samples taken in this call.
    counter : numpy.uint64
        Next position in the noise stream.
    """
    counter = np.uint64(counter)
    Hf = H.reshape(-1)
    Pf = P.reshape(-1)
    JPf = JP.reshape(-1)
    accf = acc.reshape(-1)
    df = dacc.reshape(-1)
    hf = hacc.reshape(-1)
    h2f = h2acc.reshape(-1)
    n_stat = 0
    # one trial: a matrix-vector product (BLAS dgemv is ~25 % faster than dgemm with n = 1)
    single = H.shape[1] == 1
    for _ in range(n_steps):
        if single:
            np.dot(J, Pf, JPf)
        else:
            np.dot(J, P, JP)
        if ns != 0.0:
            counter = fill_normals(key, counter, Z)
        if code == 0:
            _update_tanh(Hf, Pf, JPf, Z, a, b, ns, mode, accf, base, scale, lo)
        elif code == 1:
            _update_erf(Hf, Pf, JPf, Z, a, b, ns, mode, accf, base, scale, lo)
        elif code == 2:
            _update_relu(Hf, Pf, JPf, Z, a, b, ns, mode, accf, base, scale, lo)
        else:
            _update_identity(Hf, Pf, JPf, Z, a, b, ns, mode, accf, base, scale, lo)
        step_count += 1
        if stat_every > 0 and step_count % stat_every == 0:
            _stats(code, Hf, Pf, df, hf, h2f)
            n_stat += 1
        pos += 1
        if pos == steps_per_bin:
            out[:, bin_index, :] = acc.T * out_factor
            acc[:] = 0.0
            pos = 0
            bin_index += 1
    return pos, bin_index, step_count, n_stat, counter


def integrate_numpy(J, H, P, JP, key, counter, n_steps, Z, func, deriv, a, b, ns, mode,
                    base, scale, lo, steps_per_bin, out_factor, out, acc, pos, bin_index,
                    stat_every, step_count, dacc, hacc, h2acc):
    """:func:`integrate` with whole-array NumPy operations and callables ``func``, ``deriv``.

    Same arguments and results as :func:`integrate`, with the nonlinearity given as two
    vectorised callables (``phi`` and ``phi'``) instead of a code. Still one matrix-matrix
    product per step for all trials; the noise of all ``n_steps`` steps is drawn at once
    (:func:`normals_block`, the same numbers as the compiled loop draws).
    """
    N, K = H.shape
    if ns != 0.0:
        noise, counter = normals_block(key, counter, N * K, n_steps)
    else:
        noise = np.zeros((n_steps, N * K))
    n_stat = 0
    with np.errstate(over="ignore", invalid="ignore"):  # divergence is reported by the caller
        for s in range(n_steps):
            np.dot(J, P, out=JP)
            z = noise[s].reshape(N, K)
            H *= a
            H += b * JP
            H += ns * z
            P[...] = func(H)
            if mode == 0:
                acc += P
            elif mode == 1:
                acc += H
            else:
                acc += np.maximum(base + scale * (P - lo), 0.0)
            step_count += 1
            if stat_every > 0 and step_count % stat_every == 0:
                dacc += deriv(H)
                hacc += H
                h2acc += H * H
                n_stat += 1
            pos += 1
            if pos == steps_per_bin:
                out[:, bin_index, :] = acc.T * out_factor
                acc[...] = 0.0
                pos = 0
                bin_index += 1
    return pos, bin_index, step_count, n_stat, np.uint64(counter)
