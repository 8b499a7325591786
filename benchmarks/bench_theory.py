"""Time the theory spectra (neurospec.theory) and check their CDF accuracy.

Prints one table with, for g in {0.5, 0.9, 0.99} (mean-normalised spectra, the scale fits
use), with and without finite sampling (alpha = 0.5):

- ``build``: construct the object and its representation (cold, median over repeats);
- ``pdf 1e4`` / ``cdf 1e4``: evaluate on 10^4 points spanning the support (warm object);
- ``fit step``: what the fitter does per trial g: construct + ``cdf`` on 400 points (cold);
- ``cdf err``: max |CDF - reference| over 25 points spread (in log x) over the support, the
  reference being an independent adaptive quadrature (scipy.integrate.quad, relative tolerance
  1e-13, in the variable v = log x with an edge substitution) of the density computed directly
  from the cubic, without the sine-series representation;
- ``x base``: each time divided by a baseline timed in the same run (``numpy.cov`` of a
  1000 x 100 array), since the machine is shared and noisy.

A second block times the general free-probability route (subordination), which serves
reciprocal couplings and neuron subsampling.

Usage: ``python benchmarks/bench_theory.py [--repeats 15]`` (BLAS limited to one thread).
Targets (issue #3): pdf and cdf on 10^4 points each < 20 ms on one core; CDF accurate to 1e-6
at g = 0.99; the fit step ~2 ms (a whole fit of ~100 trial g < 0.2 s).
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np
from scipy import integrate
from threadpoolctl import threadpool_limits

from neurospec.theory import LinearSpectrum, sampled


def median_time(fn, repeats):
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return float(np.median(times))


def reference_cdf(density, lo, x):
    """Independent CDF: adaptive quadrature of ``density`` on [lo, x] in v = log x' with the
    edge substitution v = mid - half cos(theta) (removes the square-root edge)."""
    vlo, vx = math.log(lo), math.log(x)
    mid, half = (vlo + vx) / 2, (vx - vlo) / 2

    def f(th):
        xv = math.exp(mid - half * math.cos(th))
        return float(density(np.array([xv]))[0]) * xv * half * math.sin(th)

    return integrate.quad(f, 0.0, math.pi, epsabs=1e-15, epsrel=1e-13, limit=500)[0]


def make(g, alpha):
    s = LinearSpectrum(g, normalized=True)
    return s if alpha is None else s.sampled(alpha)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=15)
    args = ap.parse_args(argv)
    with threadpool_limits(1):  # "on one core" (issue #3); also steadier on a shared machine
        run(args.repeats)


def run(rep):

    data = np.random.default_rng(0).standard_normal((1000, 100))
    base = median_time(lambda: np.cov(data, rowvar=False), 4 * rep)
    x400 = np.linspace(0.02, 20.0, 400)

    print(f"baseline numpy.cov(1000 x 100): {base * 1e3:.3f} ms (median of {4 * rep})")
    print()
    hdr = (f"{'g':>5} {'alpha':>6} {'n':>4} {'build ms':>9} {'pdf 1e4 ms':>11} "
           f"{'cdf 1e4 ms':>11} {'fit step ms':>12} {'cdf err':>9} "
           f"{'x base (build/pdf/cdf/fit)':>28}")
    print(hdr)
    print("-" * len(hdr))
    worst = 0.0
    for g in (0.5, 0.9, 0.99):
        for alpha in (None, 0.5):
            t_build = median_time(lambda: make(g, alpha)._rep, rep)
            s = make(g, alpha)
            lo, hi = s.support()
            x = np.exp(np.linspace(math.log(lo), math.log(hi), 10_000))
            t_pdf = median_time(lambda: s.pdf(x), rep)
            t_cdf = median_time(lambda: s.cdf(x), rep)
            t_fit = median_time(lambda: make(g, alpha).cdf(x400), rep)
            xs = np.exp(np.linspace(math.log(lo), math.log(hi), 27)[1:-1])
            ref = np.array([reference_cdf(s._density_inside, lo, xi) for xi in xs])
            err = float(np.max(np.abs(s.cdf(xs) - ref)))
            worst = max(worst, err) if g == 0.99 else worst
            ratios = "/".join(f"{t / base:.1f}" for t in (t_build, t_pdf, t_cdf, t_fit))
            print(f"{g:>5} {('-' if alpha is None else alpha):>6} {s._rep.n:>4} "
                  f"{t_build * 1e3:>9.3f} {t_pdf * 1e3:>11.3f} {t_cdf * 1e3:>11.3f} "
                  f"{t_fit * 1e3:>12.3f} {err:>9.1e} {ratios:>28}")

    print()
    print("general route (subordination on the representation's Stieltjes transform):")
    hdr2 = f"{'spectrum':>48} {'n':>4} {'build ms':>9} {'cdf 1e4 ms':>11} {'x base':>8}"
    print(hdr2)
    print("-" * len(hdr2))
    cases = [
        ("LinearSpectrum(0.9, normalized=True).sampled(0.5)*",
         lambda: sampled(LinearSpectrum(0.9, normalized=True), 0.5, method="subordination")),
        ("LinearSpectrum(0.5, kappa=0.3)", lambda: LinearSpectrum(0.5, 0.3)),
        ("LinearSpectrum(0.5, kappa=0.3).sampled(0.5)",
         lambda: LinearSpectrum(0.5, 0.3).sampled(0.5)),
        ("LinearSpectrum(0.8).subsampled(0.25)", lambda: LinearSpectrum(0.8).subsampled(0.25)),
        ("LinearSpectrum(0.8).subsampled(0.25).sampled(0.5)",
         lambda: LinearSpectrum(0.8).subsampled(0.25).sampled(0.5)),
    ]
    for name, ctor in cases:
        t_build = median_time(lambda: ctor()._rep, max(3, rep // 3))
        s = ctor()
        lo, hi = s.support()
        x = np.exp(np.linspace(math.log(lo), math.log(hi), 10_000))
        t_cdf = median_time(lambda: s.cdf(x), rep)
        print(f"{name:>48} {s._rep.n:>4} {t_build * 1e3:>9.2f} {t_cdf * 1e3:>11.3f} "
              f"{t_build / base:>8.1f}")
    print("* forced method='subordination' (the default for iid is the exact cubic)")
    print()
    print(f"worst CDF error at g = 0.99: {worst:.1e} (target 1e-6)")


if __name__ == "__main__":
    main()
