"""Validate the observation model of the fit: autocorrelated samples, n_eff < N < T, the null on
independent autocorrelated neurons, dropped top modes, finite windows (issue 12 targets).

Every fit uses default settings (``GainFit()`` on the activity), as a user would.

Run (full targets: 50 networks per row, 200 replicates; hours on 2 cores)::

    python benchmarks/validate_observation.py --networks 50 --n-boot 200
    python benchmarks/validate_observation.py --only window --gains 0.3,0.6,0.8 --networks 50

A quicker look::

    python benchmarks/validate_observation.py --networks 8 --n-boot 60 --only ar1,neff

Rows
----
ar1      linear network g, N = 400, T = 4000, each neuron's noise an AR(1) process (a): bias of
         g_eff, coverage of the nominal 90 % interval, rate of p_model < 0.05.
neff     n_eff < N < T: N = 400, T = 800, a = 0.9.
null     independent neurons with AR(1) time courses (a), and with heterogeneous a in
         [0.3, 0.95]: rate of p_null < 0.1, fraction with g_eff < 0.1.
drop     pure bulk N = 300, T = 1200, g = 0.8: mean shift of g_eff for drop_top = 1..5.
window   linear dynamics (Euler steps of dt = 0.1 tau) summed over windows of W tau.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings

import numpy as np


def couplings(n, g, rng):
    while True:
        J = rng.standard_normal((n, n)) * g / np.sqrt(n)
        if np.max(np.linalg.eigvals(J).real) < 0.98:
            return J


def ar1_noise(T, n, a, rng):
    a = np.broadcast_to(np.asarray(a, dtype=float), (n,))
    e = rng.standard_normal((T + 200, n)) * np.sqrt(1 - a * a)
    x = np.empty_like(e)
    x[0] = rng.standard_normal(n)
    for t in range(1, T + 200):
        x[t] = a * x[t - 1] + e[t]
    return x[200:]


def network_activity(n, g, T, a, rng):
    L = np.linalg.inv(np.eye(n) - couplings(n, g, rng)) if g > 0 else np.eye(n)
    return ar1_noise(T, n, a, rng) @ L.T


def fit(X, n_boot, seed, **kw):
    from neurospec import GainFit

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return GainFit(n_boot=n_boot, random_state=seed, **kw).fit(X)


def row(label, gs, fits, truth=None):
    g = np.array([f.g_eff_ for f in fits])
    ci = np.array([f.g_eff_ci_ for f in fits])
    pm = np.array([f.p_value_model_ for f in fits])
    pn = np.array([f.p_value_null_ for f in fits])
    out = f"{label:<34} n={len(fits):3d}  mean g {g.mean():.4f}"
    if truth is not None:
        cover = np.mean((ci[:, 0] <= truth) & (truth <= ci[:, 1]))
        out += (f"  bias {g.mean() - truth:+.4f} (se {g.std(ddof=1) / np.sqrt(g.size):.4f})"
                f"  cover90 {cover:.2f}  p_model<0.05 {np.mean(pm < 0.05):.2f}")
    out += f"  p_null<0.1 {np.mean(pn < 0.1):.2f}  g<0.1 {np.mean(g < 0.1):.2f}"
    print(out, flush=True)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--networks", type=int, default=10)
    ap.add_argument("--n-boot", type=int, default=100)
    ap.add_argument("--only", default="ar1,neff,null,drop,window")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--gains", default="0.3,0.6,0.9", help="g of the ar1 and window rows")
    ap.add_argument("--a", default="0,0.5,0.8,0.9", help="AR(1) coefficients of the ar1 rows")
    ap.add_argument("--windows", default="5,10,20", help="windows (tau) of the window rows")
    ap.add_argument("--window-neurons", type=int, default=300)
    ap.add_argument("--window-count", type=int, default=3000, help="windows per recording")
    args = ap.parse_args(argv)
    which = set(args.only.split(","))
    rng = np.random.default_rng(args.seed)
    R, B = args.networks, args.n_boot
    t0 = time.time()
    if "ar1" in which:
        for g in [float(v) for v in args.gains.split(",")]:
            for a in [float(v) for v in args.a.split(",")]:
                fits = [fit(network_activity(400, g, 4000, a, rng), B, s) for s in range(R)]
                row(f"ar1 g={g} a={a} N=400 T=4000", g, fits, truth=g)
    if "neff" in which:
        fits = [fit(network_activity(400, 0.5, 800, 0.9, rng), B, s) for s in range(R)]
        row("neff g=0.5 a=0.9 N=400 T=800", 0.5, fits, truth=0.5)
    if "null" in which:
        for a in (0.5, 0.8, 0.95):
            fits = [fit(ar1_noise(1000, 200, a, rng), B, s) for s in range(R)]
            row(f"null a={a} N=200 T=1000", 0.0, fits)
        fits = [fit(ar1_noise(1000, 200, rng.uniform(0.3, 0.95, 200), rng), B, s)
                for s in range(R)]
        row("null a~U[0.3,0.95] N=200 T=1000", 0.0, fits)
    if "drop" in which:
        shifts = {k: [] for k in range(1, 6)}
        for s in range(R):
            X = network_activity(300, 0.8, 1200, 0.0, rng)
            g0 = fit(X, 0, s, drop_top=0).g_eff_
            for k in shifts:
                shifts[k].append(fit(X, 0, s, drop_top=k).g_eff_ - g0)
        for k, v in shifts.items():
            v = np.array(v)
            print(f"drop_top={k} N=300 T=1200 g=0.8   mean shift {v.mean():+.4f} "
                  f"(se {v.std(ddof=1) / np.sqrt(v.size):.4f})", flush=True)
    if "window" in which:
        from neurospec import RateNetwork

        for g in [float(v) for v in args.gains.split(",")]:
            for W in [int(v) for v in args.windows.split(",")]:
                fits = []
                for s in range(R):
                    net = RateNetwork(args.window_neurons, g=g, sigma=1.0, phi="identity",
                                      seed=int(rng.integers(2**31)))
                    rec = net.run(args.window_count * W, bin_size=1.0, progress=False)
                    fits.append(fit(rec.activity, B, s, window=W))
                row(f"window g={g} W={W} tau N={args.window_neurons}", g, fits, truth=g)
    print(f"# {time.time() - t0:.0f} s", file=sys.stderr)


if __name__ == "__main__":
    main()
