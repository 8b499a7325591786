"""Random-matrix helpers shared by the theory tests (an independent route to the spectra)."""

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
