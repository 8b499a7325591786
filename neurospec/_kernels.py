"""Numba hot loops of the rate-network simulator (private; used by :mod:`neurospec.simulate`).

State layout: the input currents of all trials are one C-contiguous array ``H`` of shape
``(n_neurons, n_trials)``, and ``P = phi(H)`` likewise, so that one integration step is one
matrix-matrix product ``J @ P`` (BLAS ``dgemm``: the coupling matrix is read once per step
for all trials) followed by one fused element-wise pass that applies the Euler(-Maruyama)
update, the nonlinearity and the bin accumulation. Both dynamics share the update

    h <- a h + b (J phi(h)) + ns z,      z ~ N(0, 1) pre-drawn by the caller,

with ``a = 1 - dt, b = dt, ns = sigma sqrt(dt)`` (continuous time, Euler-Maruyama) and
``a = 0, b = 1, ns = sigma`` (discrete-time map).

The noise ``Z`` is drawn by the caller with a :class:`numpy.random.Generator`, one chunk of
steps at a time, so a seed gives the same random numbers whether or not the loops are
compiled. :func:`integrate_numpy` is the same scheme written with whole-array NumPy
operations: it runs user-supplied nonlinearities, and it is what :mod:`neurospec.simulate`
uses when ``NUMBA_DISABLE_JIT=1`` (the element loops of :func:`integrate` would then run
in the Python interpreter, thousands of times slower). The two agree to rounding; the
tests check this with and without JIT.
"""

from __future__ import annotations

import math

import numpy as np
from numba import config as _numba_config
from numba import njit

__all__ = [
    "PHI_CODES",
    "RECORD_CODES",
    "JIT_ENABLED",
    "fast_tanh",
    "fast_tanh_array",
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


@_jit
def fast_tanh(x):
    """``tanh(x)`` in branch-free arithmetic that LLVM vectorises (numba's ``np.tanh`` calls
    the scalar libm routine, ~8x slower inside the hot loop).

    ``tanh|x| = -m / (2 + m)`` with ``m = expm1(-2|x|)``; ``expm1`` by scaling and squaring:
    a degree-17 Taylor polynomial at ``r = -2|x|/64`` (``|r| <= 0.625``, truncation below
    1e-19), then six doublings ``expm1(2r) = expm1(r) (2 + expm1(r))``, which keep the
    relative accuracy near 0. ``|x|`` is clipped at 20, where ``tanh`` is 1 in float64.
    Maximal error against ``numpy.tanh``: a few ulp (tested). Scalar; see :func:`fast_tanh_array`.
    """
    a = min(abs(x), 20.0)
    r = a * (-2.0 / 64.0)
    q = 2.8114572543455206e-15
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
    q = r * q
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


@_jit
def _update_erf(H, P, JP, Z, a, b, ns, mode, acc, base, scale, lo):
    for j in range(H.size):
        h = a * H[j] + b * JP[j] + ns * Z[j]
        p = math.erf(_ERF_A * h)
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
def integrate(J, H, P, JP, Z, code, a, b, ns, mode, base, scale, lo,
              steps_per_bin, out_factor, out, acc, pos, bin_index,
              stat_every, step_count, dacc, hacc, h2acc):
    """Advance all trials by ``Z.shape[0]`` steps, binning on the fly.

    Parameters
    ----------
    J : ndarray, shape (N, N)
        Couplings (C-contiguous).
    H, P, JP : ndarray, shape (N, K)
        State ``h``, ``phi(h)`` (updated in place) and a work buffer; C-contiguous.
    Z : ndarray, shape (n_steps, N * K)
        Standard normal draws, one row per step.
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
    """
    Hf = H.reshape(-1)
    Pf = P.reshape(-1)
    JPf = JP.reshape(-1)
    accf = acc.reshape(-1)
    df = dacc.reshape(-1)
    hf = hacc.reshape(-1)
    h2f = h2acc.reshape(-1)
    n_stat = 0
    for s in range(Z.shape[0]):
        np.dot(J, P, JP)
        z = Z[s]
        if code == 0:
            _update_tanh(Hf, Pf, JPf, z, a, b, ns, mode, accf, base, scale, lo)
        elif code == 1:
            _update_erf(Hf, Pf, JPf, z, a, b, ns, mode, accf, base, scale, lo)
        elif code == 2:
            _update_relu(Hf, Pf, JPf, z, a, b, ns, mode, accf, base, scale, lo)
        else:
            _update_identity(Hf, Pf, JPf, z, a, b, ns, mode, accf, base, scale, lo)
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
    return pos, bin_index, step_count, n_stat


def integrate_numpy(J, H, P, JP, Z, func, deriv, a, b, ns, mode, base, scale, lo,
                    steps_per_bin, out_factor, out, acc, pos, bin_index,
                    stat_every, step_count, dacc, hacc, h2acc):
    """:func:`integrate` with whole-array NumPy operations and callables ``func``, ``deriv``.

    Same arguments and results as :func:`integrate`, with the nonlinearity given as two
    vectorised callables (``phi`` and ``phi'``) instead of a code. Still one matrix-matrix
    product per step for all trials.
    """
    N, K = H.shape
    n_stat = 0
    with np.errstate(over="ignore", invalid="ignore"):  # divergence is reported by the caller
        return _integrate_numpy(J, H, P, JP, Z, func, deriv, a, b, ns, mode, base, scale, lo,
                                steps_per_bin, out_factor, out, acc, pos, bin_index,
                                stat_every, step_count, dacc, hacc, h2acc, N, K, n_stat)


def _integrate_numpy(J, H, P, JP, Z, func, deriv, a, b, ns, mode, base, scale, lo,
                     steps_per_bin, out_factor, out, acc, pos, bin_index,
                     stat_every, step_count, dacc, hacc, h2acc, N, K, n_stat):
    for s in range(Z.shape[0]):
        np.dot(J, P, out=JP)
        z = Z[s].reshape(N, K)
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
    return pos, bin_index, step_count, n_stat
