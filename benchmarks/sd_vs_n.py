"""sd(g_hat) and bias against N, across independent networks: the scaling behind a
reduced-size network bootstrap (issue 14).

For each N: ``--reps`` networks with iid couplings of gain g, T = N / alpha independent
zero-frequency samples, ``GainFit(n_boot=0).fit(CovarianceSpectrum().fit(X))``. Prints the
mean, the bias and the standard deviation of g_hat and the log-log slope of sd against N
(-1 if linear spectral statistics fluctuate at O(1/N)).

Measured (2 cores, alpha = 0.5, 30 networks per N):
g = 0.5: N = 250, 500, 1000, 2000: sd 0.0048, 0.0022, 0.0011, 0.0005 (slope -1.11);
bias +0.0038, +0.0014, +0.0006, +0.0001.
g = 0.8: N = 250, 500, 1000: sd 0.0078, 0.0036, 0.0020 (slope -0.98); bias +0.0056,
+0.0025, +0.0010.
g = 0.6 (the large-N coverage check's gain), 60 networks per N, one BLAS thread: N x sd =
1.52, 1.43, 1.46 at N = 500, 1000, 2000 and 1.40 at N = 4000 (26 networks); s.e. about 9 %
each (``--g 0.6 --reps 60 --seed 7000``). An earlier 40-network run read 1.07 at N = 2000:
a low draw.

Run: ``python benchmarks/sd_vs_n.py [--g 0.5] [--alpha 0.5] [--reps 30] [--sizes 250,500,1000]
[--seed 1000]``
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--g", type=float, default=0.5)
    ap.add_argument("--alpha", type=float, default=0.5)
    ap.add_argument("--reps", type=int, default=30)
    ap.add_argument("--sizes", default="250,500,1000")
    ap.add_argument("--seed", type=int, default=1000,
                    help="network r of size N is seeded with seed * N + r")
    args = ap.parse_args(argv)

    import neurospec

    warnings.simplefilter("ignore")
    sizes = [int(v) for v in args.sizes.split(",")]
    sds = []
    print(f"sd_vs_n: g = {args.g}, alpha = {args.alpha}, {args.reps} networks per N")
    for N in sizes:
        T = int(round(N / args.alpha))
        gs = []
        t0 = time.perf_counter()
        for r in range(args.reps):
            rng = np.random.default_rng(args.seed * N + r)
            J = rng.standard_normal((N, N)) * (args.g / np.sqrt(N))
            L = np.linalg.inv(np.eye(N) - J)
            X = rng.standard_normal((T, N)) @ L.T
            spec = neurospec.CovarianceSpectrum(progress=False).fit(X)
            gs.append(neurospec.GainFit(n_boot=0).fit(spec).g_eff_)
        gs = np.asarray(gs)
        sd = gs.std(ddof=1)
        sds.append(sd)
        print(f"N = {N:5d}: mean {gs.mean():.4f}  bias {gs.mean() - args.g:+.4f}  sd {sd:.4f} "
              f"(+- {sd / np.sqrt(2 * (args.reps - 1)):.4f})  N x sd {N * sd:.2f}  "
              f"[{time.perf_counter() - t0:.0f} s]", flush=True)
    if len(sizes) > 1:
        slope = np.polyfit(np.log(sizes), np.log(sds), 1)[0]
        print(f"log-log slope of sd(g_hat) against N: {slope:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
