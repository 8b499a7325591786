"""Random-matrix helpers shared by the tests (an independent route to the spectra and to
simulated activity: nothing here comes from neurospec)."""

import math

import numpy as np
from scipy import stats


def draw_couplings(n, g, kappa, rng):
    """J = g [sqrt(1-|k|) X/sqrt(N) + sqrt(|k|) (Y +- Y^T)/sqrt(2N)] (science.md §1).

    Written here, not taken from neurospec.simulate, so the theory is tested against an
    independent construction of the ensemble.
    """
    x = rng.standard_normal((n, n)) / math.sqrt(n)
    if kappa == 0:
        return g * x
    y = rng.standard_normal((n, n))
    a = (y + math.copysign(1.0, kappa) * y.T) / math.sqrt(2 * n)
    return g * (math.sqrt(1 - abs(kappa)) * x + math.sqrt(abs(kappa)) * a)


def ks_distance(samples, spectrum):
    """Kolmogorov–Smirnov distance between the samples and the spectrum's CDF."""
    return stats.kstest(np.asarray(samples), spectrum.cdf).statistic


def linear_samples(n, t, g, seed, dtype=np.float64):
    """T independent samples (time x neurons) of a linear network's zero-frequency activity
    ``x = (I - J)^-1 xi`` with iid couplings of gain g: covariance ``(I - J)^-1 (I - J)^-T``.

    The couplings are drawn first, then the noise, from ``numpy.random.default_rng(seed)``.
    """
    rng = np.random.default_rng(seed)
    J = g * rng.standard_normal((n, n)) / math.sqrt(n)
    return (rng.standard_normal((t, n)) @ np.linalg.inv(np.eye(n) - J).T).astype(dtype)
