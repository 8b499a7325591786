"""Time GainFit on a 400-eigenvalue spectrum, with and without the bootstrap.

Prints medians over repeats, next to a baseline timed in the same run: one
``numpy.linalg.eigvalsh`` of a 400 x 400 symmetric matrix (the cost of computing the spectrum
the fit starts from). "cold" clears the fitter's cache of tabulated model CDFs first, as in a
fresh process; "warm" reuses it, as when many spectra at the same alpha are fitted.

Targets (issues 7, 12): one fit < 0.1 s; with the bootstrap (200 replicates) < 10 s. The
activity rows include the temporally correlated forward model (the activity here is white, so
it reduces to Marchenko-Pastur) and an autocorrelated row (AR(1), a = 0.8) where it does not.

Usage::

    python benchmarks/bench_fit.py            # ~2 min
    python benchmarks/bench_fit.py --quick    # fewer repeats
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
import warnings

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402


def median_time(fn, repeats, setup=None):
    times = []
    for _ in range(repeats):
        if setup is not None:
            setup()
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=400)
    ap.add_argument("--alpha", type=float, default=0.25)
    ap.add_argument("--n-boot", type=int, default=200)
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args(argv)
    if args.quick:
        args.repeats = 3

    from neurospec.fit import GainFit, forward

    warnings.simplefilter("ignore")
    rng = np.random.default_rng(0)
    n, alpha = args.n, args.alpha
    T = int(round(n / alpha))

    def clear():
        forward._ROW_CACHE.clear()

    A = rng.standard_normal((n, n))
    S = A @ A.T
    base = median_time(lambda: np.linalg.eigvalsh(S), max(args.repeats, 20))

    rows = []
    GainFit(n_boot=0).fit(np.linalg.eigvalsh(S), alpha=alpha)  # imports, JIT-free warm-up
    for g in (0.5, 0.9):
        J = rng.standard_normal((n, n)) * (g / np.sqrt(n))
        X = np.linalg.solve(np.eye(n) - J, rng.standard_normal((n, T))).T
        Xc = X - X.mean(axis=0)
        ev = np.linalg.eigvalsh(Xc.T @ Xc / (T - 1))
        a = n / (T - 1)
        rows.append((f"fit, g={g}, cold", median_time(
            lambda: GainFit(n_boot=0).fit(ev, alpha=a), args.repeats, clear)))
        rows.append((f"fit, g={g}, warm", median_time(
            lambda: GainFit(n_boot=0).fit(ev, alpha=a), args.repeats)))
        rows.append((f"fit + {args.n_boot} network bootstrap, g={g}, cold", median_time(
            lambda: GainFit(n_boot=args.n_boot, random_state=1).fit(ev, alpha=a),
            max(1, args.repeats // 2), clear)))
    g = 0.7
    J = rng.standard_normal((n, n)) * (g / np.sqrt(n))
    X = np.linalg.solve(np.eye(n) - J, rng.standard_normal((n, T))).T
    rows.append((f"activity {T}x{n}: spectrum + fit", median_time(
        lambda: GainFit(n_boot=0).fit(X), args.repeats, clear)))
    rows.append((f"activity: fit + {args.n_boot} samples bootstrap", median_time(
        lambda: GainFit(n_boot=args.n_boot, bootstrap="samples", random_state=1).fit(X),
        max(1, args.repeats // 2), clear)))
    rows.append((f"activity: fit + {args.n_boot} block (half-sample) bootstrap", median_time(
        lambda: GainFit(n_boot=args.n_boot, bootstrap="block", random_state=1).fit(X),
        max(1, args.repeats // 2), clear)))

    E = np.empty((T + 100, n))
    E[0] = rng.standard_normal(n)
    for t in range(1, T + 100):
        E[t] = 0.8 * E[t - 1] + 0.6 * rng.standard_normal(n)
    Xar = np.linalg.solve(np.eye(n) - J, E[100:].T).T
    rows.append((f"AR(1) activity {T}x{n}: spectrum + fit (correlated model)", median_time(
        lambda: GainFit(n_boot=0).fit(Xar), max(1, args.repeats // 2), clear)))
    rows.append((f"AR(1) activity: fit + {args.n_boot} network bootstrap", median_time(
        lambda: GainFit(n_boot=args.n_boot, random_state=1).fit(Xar), 1, clear)))

    print(f"GainFit timings, N = {n} eigenvalues, alpha = {alpha}, one BLAS thread "
          f"(median of {args.repeats} repeats; bootstrap rows of {max(1, args.repeats // 2)})")
    print(f"{'case':58s} {'seconds':>9s} {'x eigvalsh':>11s}")
    print(f"{'baseline: numpy.linalg.eigvalsh(400 x 400)':58s} {base:9.4f} {1.0:11.1f}")
    for name, t in rows:
        print(f"{name:58s} {t:9.4f} {t / base:11.1f}")
    print("targets: one fit < 0.1 s, with the bootstrap < 10 s")


if __name__ == "__main__":
    main()
