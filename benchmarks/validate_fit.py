"""Round trip and interval coverage of GainFit on simulated linear networks.

For each (g, alpha) the script draws ``--n-sims`` independent networks ``J ~ N(0, g^2/N)``
(N = 400 by default), generates ``T = N / alpha`` independent Gaussian samples with covariance
``C = (I - J)^-1 (I - J)^-T``, fits the sample-covariance eigenvalues (``alpha = N / (T - 1)``,
the degrees of freedom of a centred covariance) with the default parametric "network"
bootstrap and prints, per configuration: the mean estimate, its bias and spread across
networks, the mean bootstrap standard error, the coverage of the nominal interval (the
default basic interval in atanh(g), and the percentile interval from the same replicates in
``cov_pctl``), and how often ``|g_hat - g| < 0.02`` and ``|g_hat - g| < 2 se``.

A nominal 90 % interval over 50 simulations covers between 41 and 49 times with probability
0.95 if its true coverage is 90 % (binomial), i.e. the acceptable range 85-95 % of the issue.

Usage::

    python benchmarks/validate_fit.py                      # full table (~1 h on one core)
    python benchmarks/validate_fit.py --n-sims 20 --jobs 2 # quicker look
    python benchmarks/validate_fit.py --input activity     # fit the activity (alpha="auto")
    python benchmarks/validate_fit.py --input dynamics --alpha 0.5 --g 0.5 0.8 0.95 --jobs 2

``--input dynamics`` replaces the Gaussian samples by the simulated dynamics: the linear
network ``dh/dt = -h + J h + xi`` is integrated by :class:`neurospec.simulate.RateNetwork`
(32 trials) and averaged over windows of ``max(100, 8 / (1 - g))`` tau (``--min-window``
instead of 100), ``T`` windows in all, and the activity is fitted with ``alpha="auto"``
(effective sample size from the windows' autocorrelation): the round trip a user's recording
goes through. Couplings whose largest eigenvalue real part exceeds 0.99 (the dynamics would
diverge, or need far longer windows) are redrawn; ``redrawn`` counts them.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import numpy as np  # noqa: E402


def _window_means(J, g, n_windows, rng, min_window=100.0, n_trials=32):
    """Activity of the linear network dh/dt = -h + J h + xi (continuous time, dt = 0.2 tau)
    averaged over windows of max(min_window, 8 / (1 - g)) tau: ``n_windows`` x N, trials
    stacked."""
    from neurospec.simulate import RateNetwork

    W = float(np.ceil(max(min_window, 8.0 / (1.0 - g))))
    net = RateNetwork(couplings=J, phi="identity", sigma=1.0, dt=0.2,
                      seed=int(rng.integers(2**63)))
    per_trial = int(np.ceil(n_windows / n_trials))
    rec = net.run(per_trial * W, n_trials=n_trials, bin_size=W, progress=False)
    return rec.activity


def one_sim(args):
    g, alpha, n, sim, n_boot, ci, input_kind, seed, min_window = args
    import warnings

    from neurospec.fit import GainFit

    rng = np.random.default_rng([seed, int(round(g * 1000)), int(round(alpha * 1000)), sim])
    T = int(round(n / alpha))
    J = rng.standard_normal((n, n)) * (g / np.sqrt(n))
    redrawn = 0
    if input_kind == "dynamics":
        # a finite J can have eigenvalues beyond g (at N = 400, g = 0.95 some reach 1.01):
        # such a linear network diverges, so the dynamics are conditioned on stability
        while np.max(np.linalg.eigvals(J).real) > 0.99:
            J = rng.standard_normal((n, n)) * (g / np.sqrt(n))
            redrawn += 1
        X = _window_means(J, g, T, rng, min_window)
    else:
        Z = rng.standard_normal((n, T))
        X = np.linalg.solve(np.eye(n) - J, Z).T  # samples of (I - J)^-1 (I - J)^-T, time x neurons
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = GainFit(n_boot=n_boot, ci=ci, random_state=rng.integers(2**63))
        if input_kind in ("activity", "dynamics"):
            fit.fit(X)
        else:
            Xc = X - X.mean(axis=0)
            ev = np.linalg.eigvalsh(Xc.T @ Xc / (T - 1))
            fit.fit(ev, alpha=n / (T - 1))
    dt = time.perf_counter() - t0
    lo, hi = fit.g_eff_ci_
    p_lo, p_hi = np.quantile(fit.bootstrap_, [(1 - ci) / 2, (1 + ci) / 2])
    return dict(g=g, alpha=alpha, sim=sim, g_hat=fit.g_eff_, se=fit.g_eff_stderr_, lo=lo, hi=hi,
                covered=lo <= g <= hi, covered_percentile=p_lo <= g <= p_hi,
                n_dropped=fit.n_dropped_, seconds=dt, redrawn=redrawn,
                alpha_used=fit.alpha_, p_null=fit.p_value_null_, p_model=fit.p_value_model_)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--g", type=float, nargs="+", default=[0.2, 0.5, 0.8, 0.95])
    ap.add_argument("--alpha", type=float, nargs="+", default=[0.1, 0.5])
    ap.add_argument("--n", type=int, default=400)
    ap.add_argument("--n-sims", type=int, default=50)
    ap.add_argument("--n-boot", type=int, default=200)
    ap.add_argument("--ci", type=float, default=0.9)
    ap.add_argument("--input", choices=["eigenvalues", "activity", "dynamics"],
                    default="eigenvalues",
                    help="eigenvalues of Gaussian samples (alpha given), the samples themselves "
                         "(alpha='auto'), or a simulated network's window averages (alpha='auto')")
    ap.add_argument("--min-window", type=float, default=100.0,
                    help="--input dynamics: shortest window in tau (default 100)")
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--csv", default=None, help="also write every simulation to this CSV")
    args = ap.parse_args(argv)

    import pandas as pd

    tasks = [(g, a, args.n, s, args.n_boot, args.ci, args.input, args.seed, args.min_window)
             for g in args.g for a in args.alpha for s in range(args.n_sims)]
    t0 = time.perf_counter()
    if args.jobs > 1:
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(args.jobs) as ex:
            rows = list(ex.map(one_sim, tasks, chunksize=1))
    else:
        rows = []
        for i, t in enumerate(tasks):
            rows.append(one_sim(t))
            print(f"\r{i + 1}/{len(tasks)}", end="", file=sys.stderr, flush=True)
        print(file=sys.stderr)
    df = pd.DataFrame(rows)
    if args.csv:
        df.to_csv(args.csv, index=False)
    err = df.g_hat - df.g
    df["within_002"] = err.abs() < 0.02
    df["within_2se"] = err.abs() < 2 * df.se
    tab = df.groupby(["g", "alpha"]).agg(
        n_sims=("g_hat", "size"), mean_g_hat=("g_hat", "mean"), sd_g_hat=("g_hat", "std"),
        mean_se=("se", "mean"), coverage=("covered", "mean"),
        cov_pctl=("covered_percentile", "mean"), within_002=("within_002", "mean"),
        within_2se=("within_2se", "mean"), dropped=("n_dropped", "mean"),
        redrawn=("redrawn", "sum"),
        seconds=("seconds", "median"))
    tab.insert(2, "bias", tab.mean_g_hat - tab.index.get_level_values("g"))
    pd.set_option("display.width", 200)
    print(f"GainFit round trip: N = {args.n}, {args.n_sims} networks per row, input = {args.input}, "
          f"{args.n_boot} bootstrap replicates, nominal {100 * args.ci:.0f} % intervals")
    print(tab.to_string(float_format=lambda v: f"{v:.4f}"))
    lo, hi = _binomial_band(args.n_sims, args.ci)
    print(f"\ncoverage expected in [{lo:.2f}, {hi:.2f}] (central 95 % of Binomial({args.n_sims}, "
          f"{args.ci})) if the intervals are calibrated; total {time.perf_counter() - t0:.0f} s")
    return tab


def _binomial_band(n, p):
    from scipy.stats import binom

    return binom.ppf(0.025, n, p) / n, binom.ppf(0.975, n, p) / n


if __name__ == "__main__":
    main()
