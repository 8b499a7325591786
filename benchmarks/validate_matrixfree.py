"""Validate the matrix-free spectrum (stochastic Lanczos quadrature) against exact eigenvalues.

Activity of a linear network (iid couplings, gain g, zero-frequency covariance
``(I - J)^-1 (I - J)^-T``, T independent samples) is written as float32 ``.npy`` and read from
disk by both routes:

* exact: ``CovarianceSpectrum().fit`` (N x N covariance, all N eigenvalues);
* matrix-free: ``MatrixFreeSpectrum().fit`` (products X^T (X V), never an N x N array).

Reported: the KS distance between the SLQ CDF and the exact eigenvalues (target < 0.01 at
N = 5000), the error estimate ``cdf_error_`` (should exceed the KS distance), whether the
exact eigenvalues lie in the rigorous band, and ``g_eff`` fitted (``GainFit(alpha=N/n_dof,
n_boot=0)``) to the exact eigenvalues and to the pseudo-eigenvalues (target: within 0.01),
with the approximation error carried into ``g_eff``: the fits of the pseudo-eigenvalues
from half the Lanczos steps and from two halves of the probes.

Run: ``python benchmarks/validate_matrixfree.py [--n 5000] [--t 10000] [--g 0.5]
[--steps 80] [--probes auto] [--data FILE.npy]``
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import warnings

import numpy as np
import scipy.linalg as sla


def linear_network_activity(n, t, g, seed, path):
    """T x N float32 samples x = (I - J)^-1 xi of an iid network, written to ``path``."""
    rng = np.random.default_rng(seed)
    J = rng.standard_normal((n, n)) * (g / np.sqrt(n))
    lu = sla.lu_factor((np.eye(n) - J).T)
    del J
    out = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(t, n))
    step = 4096
    for s in range(0, t, step):
        z = rng.standard_normal((min(step, t - s), n))
        out[s : s + z.shape[0]] = sla.lu_solve(lu, z.T, trans=1).T
    out.flush()
    del out


def ks_distance(cdf_values, n):
    """sup |F(x) - ECDF(x)| over the sorted exact eigenvalues (F evaluated at them)."""
    hi = np.arange(1, n + 1) / n
    return float(max(np.max(np.abs(cdf_values - hi)), np.max(np.abs(cdf_values - hi + 1.0 / n))))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=5000)
    ap.add_argument("--t", type=int, default=10000)
    ap.add_argument("--g", type=float, default=0.5)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--steps", type=int, default=80)
    ap.add_argument("--probes", default="auto")
    ap.add_argument("--data", default=None, help="reuse (or write) this .npy file")
    args = ap.parse_args(argv)

    import neurospec
    from neurospec.io import open_lazy
    from neurospec.matrixfree import MatrixFreeSpectrum

    tmp = None
    path = args.data
    if path is None:
        tmp = tempfile.TemporaryDirectory()
        path = os.path.join(tmp.name, "x.npy")
    if not os.path.exists(path):
        t0 = time.perf_counter()
        linear_network_activity(args.n, args.t, args.g, args.seed, path)
        print(f"wrote {path}: {args.t} x {args.n} float32 in {time.perf_counter() - t0:.0f} s")
    print(f"validate_matrixfree: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")

    with open_lazy(path, bin_size=1.0) as lazy:
        n = lazy.n_neurons
        t0 = time.perf_counter()
        exact = neurospec.CovarianceSpectrum(progress=False).fit(lazy.data)
        t_exact = time.perf_counter() - t0
        probes = args.probes if args.probes == "auto" else int(args.probes)
        t0 = time.perf_counter()
        mf = MatrixFreeSpectrum(n_steps=args.steps, n_probes=probes, random_state=args.seed,
                                progress=False).fit(lazy.data)
        t_mf = time.perf_counter() - t0

    lam = np.sort(exact.eigenvalues_)
    lam_nz = lam[lam > 0]
    r = lam_nz.size
    z = 1.0 - r / n
    F = (mf.cdf(lam_nz) - z) / (1.0 - z)
    ks = ks_distance(F, r)
    Fl = (mf.cdf(lam_nz, bound="lower") - z) / (1 - z)
    Fu = (mf.cdf(lam_nz, bound="upper") - z) / (1 - z)
    mid = (np.arange(r) + 0.5) / r
    inside = float(np.mean((Fl <= mid + 0.5 / r) & (Fu >= mid - 0.5 / r)))

    alpha = n / exact.n_dof_

    def g_of(ev):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return neurospec.GainFit(alpha=alpha, n_boot=0).fit(ev).g_eff_

    g_exact = g_of(exact.eigenvalues_)
    g_mf = g_of(mf.eigenvalues_)
    g_half_steps = g_of(mf.pseudo_eigenvalues(n_steps=args.steps // 2))
    m = mf.n_probes_
    g_a = g_of(mf.pseudo_eigenvalues(probes=slice(0, m // 2)))
    g_b = g_of(mf.pseudo_eigenvalues(probes=slice(m // 2, m)))
    # quadrature (change with half the steps) + about 2 sd of the probe average: the mean of
    # two halves has sd ~ |g_a - g_b| / 2
    g_err = abs(g_mf - g_half_steps) + abs(g_a - g_b)
    g_band = sorted([g_of(mf.pseudo_eigenvalues(bound="upper")),
                     g_of(mf.pseudo_eigenvalues(bound="lower"))])

    print(f"N = {n}, T = {exact.n_samples_}, true g = {args.g}, alpha = N/n_dof = {alpha:.4f}")
    print(f"exact (CovarianceSpectrum): {t_exact:7.1f} s")
    print(f"SLQ ({m} probes x {mf.n_steps_} steps): {t_mf:7.1f} s")
    print(f"KS distance SLQ CDF vs exact eigenvalues: {ks:.4f}  (target < 0.01: "
          f"{'met' if ks < 0.01 else 'NOT met'})")
    print(f"error estimate cdf_error_ = {mf.cdf_error_:.4f} (quadrature {mf.quadrature_error_:.4f}"
          f" + probes {mf.probe_error_:.4f}); covers the KS distance: {mf.cdf_error_ >= ks}")
    print(f"exact eigenvalue CDF inside the rigorous band at {100 * inside:.1f} % of the "
          "eigenvalues")
    print(f"participation ratio: exact {exact.participation_ratio_:.1f}, SLQ "
          f"{mf.participation_ratio_:.1f}")
    print(f"g_eff exact {g_exact:.4f}; from pseudo-eigenvalues {g_mf:.4f} (difference "
          f"{g_mf - g_exact:+.4f}; target |.| < 0.01: "
          f"{'met' if abs(g_mf - g_exact) < 0.01 else 'NOT met'})")
    print(f"  approximation error carried into g_eff: half the steps {g_half_steps:.4f}, probe "
          f"halves {g_a:.4f} / {g_b:.4f} -> error estimate {g_err:.4f}")
    print(f"  g_eff from the rigorous band edges (certain but wide): [{g_band[0]:.4f}, "
          f"{g_band[1]:.4f}]")
    if tmp is not None:
        tmp.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
