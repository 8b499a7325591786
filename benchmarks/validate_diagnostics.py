"""Calibration of the reviewer's checks (neurospec.diagnostics) on simulated recordings.

Sections (``--section``, default all):

``moment``
    Coverage of the moment estimate's interval (``g^2 = 1 - sqrt(PR/N)``, bias-corrected
    percentile bootstrap) on linear networks sampled directly from
    ``C = (I - J)^-1 (I - J)^-T`` (a new network per seed, independent samples).
``compare``
    ``compare`` of two independent networks: with the same g the p-value should be uniform
    (rejection at the nominal rate), with different g the difference should be detected.
``split``
    ``split_half`` of stationary recordings: how often the halves are declared different
    (nominal: 1 - ci); then of larger ones fitted on a random subset of neurons
    (``--split-subset N,T,M``, default 1500,3000,500: ``max_neurons=M``, fraction M/N).
``trials``
    Trial-structured spike counts with a strong stimulus-locked mean: a tanh ``RateNetwork``
    (N = 100, g = 0.8, sigma = 1; ``g_eff = g <phi'>`` measured in the run), 8 conditions x
    20 trials of 200 tau, Poisson counts in bins of one tau with intensity
    ``baseline + scale (tanh(h) + 1) + m_c,i(t)`` (``m``: cosine tuning, 10-30 x the scale/25,
    sustained over the trial; it is added to the intensity, not fed into the network, so the
    network's g_eff is unchanged). Condition means are removed with
    ``SubtractConditionMeans`` (labels: condition x bin in trial), then ``GainFit(window=50)``.
    Two intensity scales: spikes per time constant ~30 and ~120. Poisson spiking is private
    noise that the theory does not model; it narrows the spectrum and reads g_eff low in
    proportion to its share of the count variance, which the two scales show. A last row
    subtracts the Poisson variance (the mean count) from the diagonal of the window covariance
    before fitting its eigenvalues (a proof of concept, not a library feature).

Usage::

    python benchmarks/validate_diagnostics.py                    # everything (~30 min, 2 cores)
    python benchmarks/validate_diagnostics.py --section moment --n-seeds 40
"""

from __future__ import annotations

import argparse
import math
import os
import time
import warnings

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402


def network_samples(n, t, g, seed):
    """T independent samples of a linear network's zero-frequency activity (iid couplings)."""
    rng = np.random.default_rng(seed)
    J = g * rng.standard_normal((n, n)) / math.sqrt(n)
    return rng.standard_normal((t, n)) @ np.linalg.inv(np.eye(n) - J).T


def _binom_se(p, n):
    return math.sqrt(max(p * (1 - p), 1e-12) / n)


def section_moment(args):
    from neurospec.diagnostics import moment_estimate

    print(f"\n## moment estimate: coverage of the nominal {100 * args.ci:.0f}% interval "
          f"(direct sampling, T = 10 N, {args.n_seeds} networks, n_boot {args.n_boot})")
    print(f"{'N':>5} {'g':>5} {'mean g_hat':>10} {'sd':>7} {'mean s.e.':>9} {'coverage':>9}")
    for n in args.n:
        for g in args.g:
            est, se, cov = [], [], 0
            for s in range(args.n_seeds):
                m = moment_estimate(network_samples(n, 10 * n, g, 1000 + s), n_boot=args.n_boot,
                                    ci=args.ci, random_state=s)
                est.append(m.g)
                se.append(m.stderr)
                cov += m.ci[0] <= g <= m.ci[1]
            c = cov / args.n_seeds
            print(f"{n:>5} {g:>5.2f} {np.mean(est):>10.4f} {np.std(est):>7.4f} "
                  f"{np.mean(se):>9.4f} {c:>6.2f} +- {_binom_se(c, args.n_seeds):.2f}")


def section_compare(args):
    from scipy import stats

    from neurospec import GainFit
    from neurospec.diagnostics import compare

    n, t = 100, 1000
    print(f"\n## compare: two independent networks (N = {n}, T = {t}, network bootstrap, "
          f"n_boot {args.n_boot}, {args.n_seeds} pairs)")
    print(f"{'g_a':>5} {'g_b':>5} {'reject 0.10':>11} {'reject 0.05':>11} {'KS p (uniform)':>14}")

    def fit(g, seed):
        return GainFit(n_boot=args.n_boot, random_state=seed, ci=args.ci).fit(
            network_samples(n, t, g, seed))

    for ga, gb in ((0.6, 0.6), (0.6, 0.65), (0.6, 0.7)):
        ps = []
        for s in range(args.n_seeds):
            fa = fit(ga, 2000 + 2 * s)
            fb = fit(gb, 2001 + 2 * s)
            ps.append(compare(fa, fb, ci=args.ci).p_value)
        ps = np.array(ps)
        ks = stats.kstest(ps, "uniform").pvalue if ga == gb else float("nan")
        print(f"{ga:>5.2f} {gb:>5.2f} {np.mean(ps < 0.10):>11.2f} {np.mean(ps < 0.05):>11.2f} "
              f"{ks:>14.2g}")


def section_split(args):
    from neurospec.diagnostics import split_half

    n, t, g = 100, 2000, 0.6
    print(f"\n## split halves of stationary recordings (N = {n}, T = {t}, g = {g}, samples "
          f"bootstrap, n_boot {args.n_boot}, {args.n_seeds} recordings)")
    diff, ps = [], []
    for s in range(args.n_seeds):
        sh = split_half(network_samples(n, t, g, 3000 + s), n_boot=args.n_boot, ci=args.ci,
                        random_state=s)
        diff.append(not sh.agree)
        ps.append(sh.comparison.p_value)
    r = float(np.mean(diff))
    print(f"declared different: {r:.2f} +- {_binom_se(r, args.n_seeds):.2f} (nominal "
          f"{1 - args.ci:.2f}); p < 0.05: {np.mean(np.array(ps) < 0.05):.2f}")
    # a large recording: both halves fitted on the same random M neurons (fraction M / N)
    n, t, m = (int(v) for v in args.split_subset.split(","))
    print(f"\n## split halves on {m} of {n} neurons (T = {t}, g = {g}, {args.n_seeds} "
          "recordings)")
    diff, ps, d, se = [], [], [], []
    for s in range(args.n_seeds):
        sh = split_half(network_samples(n, t, g, 3500 + s), n_boot=args.n_boot, ci=args.ci,
                        random_state=s, max_neurons=m)
        diff.append(not sh.agree)
        ps.append(sh.comparison.p_value)
        d.append(sh.comparison.difference)
        se.append(math.hypot(sh.first.g_eff_stderr_, sh.second.g_eff_stderr_))
    r = float(np.mean(diff))
    print(f"declared different: {r:.2f} +- {_binom_se(r, args.n_seeds):.2f} (nominal "
          f"{1 - args.ci:.2f}); p < 0.05: {np.mean(np.array(ps) < 0.05):.2f}; sd of the "
          f"difference {np.std(d, ddof=1):.5f} against the bootstrap's {np.mean(se):.5f}")


def trial_counts(seed, *, n=100, g=0.8, n_cond=8, per_cond=20, trial=200, baseline=5.0,
                 scale=25.0, mean_amp=(10.0, 30.0)):
    """Spike counts (bins of one tau) of a tanh network in trials with a condition-locked mean.

    Returns counts (T x N), the condition labels (condition, bin in trial), the rates without
    the mean and the measured g_eff.
    """
    import pandas as pd

    from neurospec import RateNetwork

    K = n_cond * per_cond
    net = RateNetwork(n, g, phi="tanh", sigma=1.0, dt=0.2, seed=seed)
    rec = net.run(trial, n_trials=K, bin_size=1.0, tau=1.0, progress=False)
    truth = float(rec.meta["ground_truth"]["measured_g_eff"])
    rng = np.random.default_rng(seed + 7)
    rate = baseline + scale * (rec.activity + 1.0)
    cond = np.repeat(rng.permutation(np.repeat(np.arange(n_cond), per_cond)), trial)
    b = np.tile(np.arange(trial), K)
    pref = rng.uniform(0, 2 * np.pi, n)
    amp = rng.uniform(*mean_amp, n) * scale / 25.0
    env = np.clip((np.arange(trial) - 10) / 10.0, 0, 1)  # sustained response after onset
    theta = 2 * np.pi * cond / n_cond
    mean = amp[None, :] * np.cos(theta[:, None] - pref[None, :]) * env[b][:, None]
    counts = rng.poisson(np.clip(rate + mean, 0, None)).astype(float)
    y = pd.DataFrame({"condition": cond, "bin_in_trial": b})
    return counts, y, rate, truth


def section_trials(args):
    from neurospec import GainFit, Recording
    from neurospec.preprocess import SubtractConditionMeans

    window = 50
    print(f"\n## trial-structured spike counts, condition means removed (N = 100, 8 x 20 trials "
          f"of 200 tau, bins of 1 tau, window {window} tau, network bootstrap, n_boot "
          f"{args.n_boot}, {args.n_trial_seeds} seeds per row)")
    print(f"{'spikes/tau':>10} {'input':>26} {'mean g_hat - truth':>18} {'sd':>6} "
          f"{'coverage':>9} {'dropped':>7}")
    for baseline, scale in ((5.0, 25.0), (20.0, 100.0)):
        rows = {"counts, means removed": [], "counts, means kept": [],
                "rates, means removed": [], "counts, Poisson-corrected": []}
        for s in range(args.n_trial_seeds):
            counts, y, rate, truth = trial_counts(100 + s, baseline=baseline, scale=scale)
            removed = SubtractConditionMeans().fit_transform(
                Recording(counts, 1.0, meta={"kind": "counts"}), y)
            rates_removed = SubtractConditionMeans().fit_transform(rate, y)
            for name, data in (("counts, means removed", removed), ("counts, means kept", counts),
                               ("rates, means removed", rates_removed)):
                gf = GainFit(window=window, n_boot=args.n_boot, ci=args.ci,
                             random_state=s).fit(data)
                lo, hi = gf.g_eff_ci_
                rows[name].append((gf.g_eff_ - truth, lo <= truth <= hi, gf.n_dropped_))
            # proof of concept, not in the library: subtract the Poisson variance (the mean
            # count per bin) from the diagonal of the window covariance, fit its eigenvalues
            R = removed.activity
            n_win = R.shape[0] // window
            Xw = R[: n_win * window].reshape(n_win, window, -1).sum(axis=1)
            C = np.cov(Xw, rowvar=False) / window - np.diag(counts.mean(axis=0))
            ev = np.clip(np.linalg.eigvalsh(C), 0, None)
            gf = GainFit(alpha=C.shape[0] / (n_win - 1), n_boot=args.n_boot, ci=args.ci,
                         random_state=s).fit(ev)
            lo, hi = gf.g_eff_ci_
            rows["counts, Poisson-corrected"].append((gf.g_eff_ - truth, lo <= truth <= hi,
                                                      gf.n_dropped_))
        for name, r in rows.items():
            d = np.array([x[0] for x in r])
            c = float(np.mean([x[1] for x in r]))
            k = np.mean([x[2] for x in r])
            print(f"{baseline + scale:>10.0f} {name:>26} {d.mean():>+18.4f} {d.std():>6.4f} "
                  f"{c:>9.2f} {k:>7.1f}")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--section", choices=("all", "moment", "compare", "split", "trials"),
                    default="all")
    ap.add_argument("--n-seeds", type=int, default=40)
    ap.add_argument("--n-trial-seeds", type=int, default=8)
    ap.add_argument("--n-boot", type=int, default=200)
    ap.add_argument("--ci", type=float, default=0.9)
    ap.add_argument("--split-subset", default="1500,3000,500",
                    help="N,T,M of the split halves fitted on M of N neurons")
    ap.add_argument("--n", type=int, nargs="+", default=[100, 200])
    ap.add_argument("--g", type=float, nargs="+", default=[0.3, 0.6, 0.8, 0.9])
    args = ap.parse_args(argv)
    warnings.simplefilter("ignore")
    t0 = time.time()
    for name in ("moment", "compare", "split", "trials"):
        if args.section in ("all", name):
            globals()[f"section_{name}"](args)
    print(f"\n({time.time() - t0:.0f} s)")


if __name__ == "__main__":
    main()
