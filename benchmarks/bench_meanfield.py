"""Time mean-field solves (neurospec.theory.effective_gain) against simple baselines.

Prints, for several (g, phi, sigma, dynamics), the median wall time of a full solve over
repeats, the method used, the number of iterations, and two ratios:
- vs one ``scipy.integrate.quad`` of ``E[phi'(h)]`` (a single adaptive 1-D Gaussian average,
  the cheapest possible "solve");
- vs one complex FFT pair on the solve's own lag grid (the unit of work of the FFT iteration).

Usage: ``python benchmarks/bench_meanfield.py [--repeats 5]``. Target: every solve < 0.5 s.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from scipy import integrate

from neurospec.theory.meanfield import effective_gain

CASES = [
    (2.0, "tanh", 0.0, "continuous"),
    (1.5, "tanh", 0.0, "continuous"),
    (20.0, "tanh", 0.0, "continuous"),
    (0.5, "tanh", 0.2, "continuous"),
    (0.8, "tanh", 1.0, "continuous"),
    (2.0, "tanh", 0.3, "continuous"),
    (2.0, "tanh", 1.0, "continuous"),
    (0.8, "erf", 1.0, "continuous"),
    (1.0, "relu", 1.0, "continuous"),
    (2.0, "tanh", 0.0, "discrete"),
    (0.8, "tanh", 1.0, "discrete"),
]


def median_time(fn, repeats):
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return float(np.median(times)), out


def quad_baseline(var, repeats):
    def one():
        f = lambda h: (1.0 / np.cosh(h) ** 2) * np.exp(-0.5 * h * h / var)  # noqa: E731
        return integrate.quad(f, -12 * np.sqrt(var), 12 * np.sqrt(var))[0] / np.sqrt(2 * np.pi * var)

    return median_time(one, repeats)[0]


def fft_baseline(n, repeats):
    x = np.random.default_rng(0).standard_normal(2 * n)
    return median_time(lambda: np.fft.irfft(np.fft.rfft(x)), repeats)[0]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args(argv)
    effective_gain(0.8, "tanh", 1.0)  # warm caches (quadrature rules)
    t_quad = quad_baseline(2.0, max(args.repeats, 20))
    print(f"baseline: one scipy.integrate.quad of E[tanh'(h)] = {1e3 * t_quad:.3f} ms")
    header = (
        f"{'g':>6} {'phi':>8} {'sigma':>6} {'dynamics':>10} | {'g_eff':>8} {'method':>7} {'iter':>5} "
        f"{'grid':>6} | {'median ms':>9} {'x quad':>7} {'x FFT':>7}"
    )
    print(header)
    print("-" * len(header))
    worst = 0.0
    for g, phi, sigma, dyn in CASES:
        t, r = median_time(lambda: effective_gain(g, phi, sigma, dyn), args.repeats)
        worst = max(worst, t)
        n = r.tau.size
        t_fft = fft_baseline(n, 20)
        print(
            f"{g:6.2f} {phi:>8} {sigma:6.2f} {dyn:>10} | {r.g_eff:8.5f} {r.method:>7} {r.n_iter:5d} "
            f"{n:6d} | {1e3 * t:9.1f} {t / t_quad:7.0f} {t / t_fft:7.0f}"
        )
    print(f"slowest solve: {1e3 * worst:.1f} ms (target < 500 ms)")


if __name__ == "__main__":
    main()
