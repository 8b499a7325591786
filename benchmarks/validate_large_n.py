"""Coverage of the default interval at large N, where the network bootstrap runs at a reduced
size N' = MAX_BOOT_N and rescales deviations by N'/N (issue 14).

For each N: ``--networks`` independent linear networks (iid couplings of gain g), T = N / alpha
independent Gaussian samples of the zero-frequency activity X = Z (I - J)^-T (formed
explicitly, not through the Wishart factor the bootstrap uses), the user's path
``GainFit(random_state=...).fit(CovarianceSpectrum().fit(X))`` with the defaults (200
replicates, 90 % interval). Reports the bias, the coverage of the truth with its binomial
standard error, the mean bootstrap standard error against the standard deviation of g_hat
across networks, the null p-value, and the time per fit.

Run (one process per N; each uses one BLAS thread unless ``--threads``):
``python benchmarks/validate_large_n.py --sizes 4000 --networks 50 --csv out4000.csv``
"""

from __future__ import annotations

import argparse
import csv
import os
import time
import warnings

import numpy as np


def one_network(N, g, alpha, seed):
    """(g_hat, ci_lo, ci_hi, stderr, p_null, bootstrap size, seconds for the fit)."""
    import neurospec

    rng = np.random.default_rng(seed)
    T = int(round(N / alpha))
    J = rng.standard_normal((N, N)) * (g / np.sqrt(N))
    L = np.linalg.inv(np.eye(N) - J)
    del J
    X = rng.standard_normal((T, N)) @ L.T
    del L
    t0 = time.perf_counter()
    spec = neurospec.CovarianceSpectrum(progress=False).fit(X)
    del X
    fit = neurospec.GainFit(random_state=seed, progress=False).fit(spec)
    dt = time.perf_counter() - t0
    lo, hi = fit.g_eff_ci_
    return dict(N=N, g=g, alpha=alpha, seed=seed, g_hat=fit.g_eff_, lo=lo, hi=hi,
                stderr=fit.g_eff_stderr_, p_null=fit.p_value_null_,
                p_model=fit.p_value_model_, boot_n=fit.bootstrap_size_, seconds=dt)


def summarise(rows, ci=0.9):
    """One line per (N, g, alpha) from per-network rows."""
    out = []
    keys = sorted({(r["N"], r["g"], r["alpha"]) for r in rows})
    for N, g, alpha in keys:
        rs = [r for r in rows if (r["N"], r["g"], r["alpha"]) == (N, g, alpha)]
        gh = np.array([r["g_hat"] for r in rs])
        cover = np.array([r["lo"] <= g <= r["hi"] for r in rs], dtype=float)
        n = len(rs)
        out.append(dict(
            N=N, g=g, alpha=alpha, networks=n, bias=gh.mean() - g,
            bias_se=gh.std(ddof=1) / np.sqrt(n) if n > 1 else float("nan"),
            sd=gh.std(ddof=1) if n > 1 else float("nan"),
            boot_se=float(np.mean([r["stderr"] for r in rs])),
            coverage=cover.mean(), coverage_se=np.sqrt(ci * (1 - ci) / n),
            below=float(np.mean([g < r["lo"] for r in rs])),
            above=float(np.mean([g > r["hi"] for r in rs])),
            p_null_max=float(np.max([r["p_null"] for r in rs])),
            boot_n=int(rs[0]["boot_n"]),
            seconds=float(np.median([r["seconds"] for r in rs]))))
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", default="1000,4000")
    ap.add_argument("--g", type=float, default=0.6)
    ap.add_argument("--alpha", type=float, default=0.5)
    ap.add_argument("--networks", type=int, default=50)
    ap.add_argument("--seed", type=int, default=14000)
    ap.add_argument("--threads", type=int, default=1, help="BLAS threads (default 1)")
    ap.add_argument("--csv", default=None, help="append every network to this CSV")
    ap.add_argument("--summary", nargs="*", default=None,
                    help="only summarise these CSV files (no new fits)")
    args = ap.parse_args(argv)
    warnings.simplefilter("ignore")

    rows = []
    if args.summary is not None:
        for path in args.summary:
            with open(path) as f:
                for r in csv.DictReader(f):
                    rows.append({k: (float(v) if k not in ("N", "seed", "boot_n") else int(v))
                                 for k, v in r.items()})
    else:
        from threadpoolctl import threadpool_limits

        sizes = [int(v) for v in args.sizes.split(",")]
        print(f"validate_large_n: g = {args.g}, alpha = {args.alpha}, {args.networks} networks "
              f"per N, {args.threads} BLAS thread(s), load {os.getloadavg()[0]:.1f}", flush=True)
        with threadpool_limits(args.threads):
            for N in sizes:
                for k in range(args.networks):
                    r = one_network(N, args.g, args.alpha, args.seed + 1000 * N + k)
                    rows.append(r)
                    print(f"N {N} net {k:2d}: g_hat {r['g_hat']:.5f} [{r['lo']:.5f}, "
                          f"{r['hi']:.5f}] se {r['stderr']:.5f} p_null {r['p_null']:.3f} "
                          f"({r['seconds']:.0f} s)", flush=True)
                    if args.csv:
                        new = not os.path.exists(args.csv)
                        with open(args.csv, "a", newline="") as f:
                            w = csv.DictWriter(f, fieldnames=list(r))
                            if new:
                                w.writeheader()
                            w.writerow(r)
    print("| N | N' | g | alpha | networks | bias (s.e.) | sd(g_hat) | mean boot s.e. | "
          "90 % coverage (s.e.) | truth below / above | max p_null | s per fit |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for s in summarise(rows):
        print(f"| {s['N']} | {s['boot_n']} | {s['g']} | {s['alpha']} | {s['networks']} | "
              f"{s['bias']:+.5f} ({s['bias_se']:.5f}) | {s['sd']:.5f} | {s['boot_se']:.5f} | "
              f"{s['coverage']:.2f} ({s['coverage_se']:.2f}) | {s['below']:.2f} / "
              f"{s['above']:.2f} | {s['p_null_max']:.3f} | {s['seconds']:.0f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
