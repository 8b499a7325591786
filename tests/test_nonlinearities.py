"""Nonlinearities: resolution of user input, derivatives, and Gaussian averages.

Closed forms (erf, relu, identity) and the special large-variance rule for tanh are checked
against adaptive quadrature (scipy.integrate.quad / dblquad), an independent route.
"""

import numpy as np
import pytest
from scipy import integrate

from neurospec.errors import ParameterError
from neurospec.nonlinearities import (
    NONLINEARITIES,
    Nonlinearity,
    gauss_hermite,
    get_nonlinearity,
)


def _pdf(h, v):
    return np.exp(-0.5 * h * h / v) / np.sqrt(2.0 * np.pi * v)


def quad_mean(f, v):
    """E[f(h)], h ~ N(0, v), by adaptive quadrature (split at 0 for kinks)."""
    L = 14.0 * np.sqrt(v)
    g = lambda h: float(f(np.array([h]))[0]) * _pdf(h, v)  # noqa: E731
    return sum(integrate.quad(g, a, b, limit=400, epsabs=1e-13, epsrel=1e-12)[0] for a, b in ((-L, 0.0), (0.0, L)))


def quad_cross(f1, f2, v, c):
    """E[f1(h1) f2(h2)] by nested adaptive quadrature over h1 and h2 | h1."""
    rho = c / v
    s = np.sqrt(v * (1.0 - rho * rho))

    def inner(y):
        mu = rho * y
        g = lambda u: float(f2(np.array([u]))[0]) * np.exp(-0.5 * ((u - mu) / s) ** 2) / (np.sqrt(2 * np.pi) * s)  # noqa: E731
        pts = sorted({mu - 12 * s, min(max(0.0, mu - 12 * s), mu + 12 * s), mu + 12 * s})
        return sum(integrate.quad(g, a, b, limit=200, epsabs=1e-12, epsrel=1e-11)[0] for a, b in zip(pts[:-1], pts[1:]) if b > a)

    L = 12.0 * np.sqrt(v)
    g = lambda y: float(f1(np.array([y]))[0]) * inner(y) * _pdf(y, v)  # noqa: E731
    return sum(integrate.quad(g, a, b, limit=200, epsabs=1e-11, epsrel=1e-10)[0] for a, b in ((-L, 0.0), (0.0, L)))


# --------------------------------------------------------------------------------------
# resolving user input
# --------------------------------------------------------------------------------------
def test_named_and_aliases():
    assert set(NONLINEARITIES) == {"tanh", "erf", "relu", "identity"}
    for name in NONLINEARITIES:
        f = get_nonlinearity(name)
        assert isinstance(f, Nonlinearity) and f.name == name
    assert get_nonlinearity("linear").name == "identity"
    assert get_nonlinearity("TANH").name == "tanh"
    assert get_nonlinearity("tanh").odd and get_nonlinearity("erf").odd
    assert not get_nonlinearity("relu").odd


def test_unknown_name_lists_valid_names():
    with pytest.raises(ParameterError, match="tanh, erf, relu, identity"):
        get_nonlinearity("sigmoidish")


def test_bare_callable_without_derivative_is_refused():
    with pytest.raises(ParameterError, match=r"\(func, deriv\)"):
        get_nonlinearity(np.tanh)
    with pytest.raises(ParameterError, match="tuple"):
        get_nonlinearity((np.tanh,))
    with pytest.raises(ParameterError):
        get_nonlinearity(3.0)


def test_non_vectorised_callable_is_refused():
    import math

    with pytest.raises(ParameterError, match="vectorised"):
        get_nonlinearity((math.tanh, lambda h: 1 - math.tanh(h) ** 2))


def test_user_pair_and_deriv_attribute():
    def softsign(h):
        return h / (1.0 + np.abs(h))

    def softsign_d(h):
        return 1.0 / (1.0 + np.abs(h)) ** 2

    f = get_nonlinearity((softsign, softsign_d))
    assert f.name == "softsign" and f.odd
    softsign.deriv = softsign_d
    f2 = get_nonlinearity(softsign)
    assert f2.odd and f2.deriv is softsign_d
    shifted = get_nonlinearity((lambda h: np.tanh(h - 1.0), lambda h: 1.0 / np.cosh(h - 1.0) ** 2))
    assert not shifted.odd
    same = Nonlinearity("mine", np.tanh, lambda h: 1 - np.tanh(h) ** 2, True)
    assert get_nonlinearity(same) is same
    np.testing.assert_allclose(same(np.array([0.3])), np.tanh(0.3))


@pytest.mark.parametrize("name", NONLINEARITIES)
def test_derivative_matches_finite_difference(name):
    f = get_nonlinearity(name)
    h = np.array([-2.3, -0.7, 0.4, 1.1, 3.0])  # away from relu's kink
    eps = 1e-6
    fd = (f.func(h + eps) - f.func(h - eps)) / (2 * eps)
    np.testing.assert_allclose(f.deriv(h), fd, rtol=1e-7, atol=1e-9)


def test_erf_scaling_has_unit_slope():
    f = get_nonlinearity("erf")
    assert f.deriv(np.zeros(1))[0] == pytest.approx(1.0)
    assert f.func(np.array([50.0]))[0] == pytest.approx(1.0)


def test_gauss_hermite_rule():
    x, w = gauss_hermite(40)
    assert w.sum() == pytest.approx(1.0, abs=1e-14)
    assert np.dot(w, x**4) == pytest.approx(3.0, rel=1e-12)
    assert not w.flags.writeable


# --------------------------------------------------------------------------------------
# Gaussian averages against quadrature
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", NONLINEARITIES)
@pytest.mark.parametrize("v", [0.3, 2.5, 40.0])
def test_one_dimensional_averages(name, v):
    f = get_nonlinearity(name)
    assert f.mean(v) == pytest.approx(quad_mean(f.func, v), rel=1e-9, abs=1e-12)
    assert f.mean_deriv(v) == pytest.approx(quad_mean(f.deriv, v), rel=1e-9, abs=1e-12)
    assert f.second_moment(v) == pytest.approx(quad_mean(lambda h: f.func(h) ** 2, v), rel=1e-9)
    assert f.mean_deriv_sq(v) == pytest.approx(quad_mean(lambda h: f.deriv(h) ** 2, v), rel=1e-9)
    m1 = quad_mean(f.antideriv, v)
    m2 = quad_mean(lambda h: f.antideriv(h) ** 2, v)
    assert f.antideriv_var(v) == pytest.approx(m2 - m1 * m1, rel=1e-8)


@pytest.mark.parametrize("name", ["erf", "relu", "identity"])
def test_closed_form_cross_against_dblquad(name):
    f = get_nonlinearity(name)
    v = 1.7
    for c in (-0.9, 1.5):
        assert f.cross(v, c) == pytest.approx(quad_cross(f.func, f.func, v, c), rel=1e-8, abs=1e-11)
        assert f.cross_deriv(v, c) == pytest.approx(quad_cross(f.deriv, f.deriv, v, c), rel=1e-7, abs=1e-10)


@pytest.mark.parametrize("name", ["erf", "relu", "identity", "tanh"])
def test_cross_integral_is_integral_of_cross(name):
    f = get_nonlinearity(name)
    v = 2.2
    for c0, c1 in ((0.0, v), (0.3, 1.9), (-0.5, 0.8)):
        ref = integrate.quad(lambda c: float(f.cross(v, c)), c0, c1, epsabs=1e-12)[0]
        assert f.cross_integral(v, c0, c1) == pytest.approx(ref, rel=1e-8, abs=1e-11)
    # Price's theorem: Var[Phi] = int_0^v C(c) dc
    assert f.antideriv_var(v) == pytest.approx(f.cross_integral(v, 0.0, v), rel=1e-8)


def test_cross_endpoints():
    for name in NONLINEARITIES:
        f = get_nonlinearity(name)
        v = 3.0
        assert f.cross(v, v) == pytest.approx(f.second_moment(v), rel=1e-8)
        assert f.cross(v, 0.0) == pytest.approx(f.mean(v) ** 2, abs=1e-10)
        assert f.cross_deriv(v, 0.0) == pytest.approx(f.mean_deriv(v) ** 2, rel=1e-8)
    # vectorised, keeps shape
    out = get_nonlinearity("tanh").cross(1.0, np.zeros((2, 3)))
    assert out.shape == (2, 3)


@pytest.mark.parametrize("v, rhos", [(0.3, (-0.6, 0.97)), (3.5, (-0.6, 0.97)), (60.0, (0.3,)), (5000.0, (0.9,))])
def test_tanh_cross_against_dblquad(v, rhos):
    # v <= 0.5: tensor Gauss-Hermite; v > 0.5: the sign decomposition (a fixed Gauss-Hermite
    # rule is already off by ~5e-8 at v = 3 and fails at v >> 1)
    f = get_nonlinearity("tanh")
    for rho in rhos:
        c = rho * v
        assert f.cross(v, c) == pytest.approx(quad_cross(f.func, f.func, v, c), rel=1e-8, abs=1e-10)
        if v < 100:
            assert f.cross_deriv(v, c) == pytest.approx(quad_cross(f.deriv, f.deriv, v, c), rel=1e-7, abs=1e-10)


def test_generic_user_path_matches_named_tanh():
    mine = get_nonlinearity((lambda h: np.tanh(h), lambda h: 1.0 / np.cosh(h) ** 2))
    tanh = get_nonlinearity("tanh")
    v = 1.3
    c = np.linspace(-v, v, 9)
    np.testing.assert_allclose(mine.cross(v, c), tanh.cross(v, c), atol=1e-10)
    assert mine.antideriv_var(v) == pytest.approx(tanh.antideriv_var(v), rel=1e-8)
