"""A simulated calcium recording written as a suite2p folder, read back and fitted by default.

The ground truth is a linear rate network (``RateNetwork``, ``phi="identity"``, gain ``g``,
time constant ``tau`` seconds) whose rates are turned into what a two-photon microscope and
suite2p would produce, frame by frame (``frame`` s):

- calcium: rates convolved with a unit-area exponential kernel of ``tau_ca`` (1 s);
- each ROI's fluorescence: its own brightness (baseline 50-150) times a photobleaching decay
  ``1 + 0.3 exp(-t / 600 s)``, plus its own response amplitude (0.5-1.5, arbitrary units)
  times the calcium, plus ``0.7 x`` its neuropil, plus shot noise;
- neuropil ``Fneu``: a slow background shared by all ROIs (each with its own weight) plus
  private noise; three failed ROIs with constant ``F = 0`` that are not cells;
- ``ops.npy`` with the frame rate and ``neucoeff = 0.7``; ``iscell.npy`` labelling the cells.

The folder is then fitted exactly as ``neurospec fit FOLDER --window W`` does (defaults: cells
only, ``F - 0.7 Fneu``, constant ROIs dropped, ``--kind auto`` = correlation matrix,
``--detrend auto`` = high-pass at ``max(60 s, 10 W)``), and the script prints per seed the
estimate, its interval and whether the true ``g`` (``measured_g_eff``) is inside, then the
coverage.

Usage::

    python benchmarks/validate_suite2p.py                  # 20 seeds, g = 0.5
    python benchmarks/validate_suite2p.py --g 0.8 --n-seeds 10
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import warnings
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402


def simulate_calcium_folder(folder, *, n_neurons=60, g=0.5, duration=3000.0, frame=0.1,
                            tau=0.2, tau_ca=1.0, shot=0.3, bleach=0.3, tau_bleach=600.0,
                            seed=0):
    """Write ``folder`` (a suite2p plane folder) from a simulated network; return the true g_eff.

    Parameters
    ----------
    folder : str or Path
        Plane folder to write (``.../suite2p/plane0``).
    n_neurons, g : int, float
        Network size and gain (linear network: g_eff = g).
    duration, frame, tau, tau_ca, tau_bleach : float
        Seconds: recording length, frame interval, network time constant, calcium decay,
        photobleaching decay.
    shot, bleach : float
        Shot-noise standard deviation and photobleaching amplitude (fraction of the baseline).
    seed : int
        Seed of the network and of every noise.

    Returns
    -------
    float
        The simulation's measured g_eff (= g for a linear network).
    """
    from scipy.signal import lfilter

    from neurospec import RateNetwork
    from neurospec.io.suite2p import write_suite2p

    rng = np.random.default_rng(seed)
    net = RateNetwork(n_neurons, g, phi="identity", sigma=1.0, seed=seed)
    rec = net.run(duration / tau, bin_size=frame / tau, tau=tau, progress=False)
    r = rec.activity                                     # frames x neurons
    T, N = r.shape
    a = np.exp(-frame / tau_ca)
    calcium = lfilter([1 - a], [1, -a], r, axis=0)       # unit-area exponential kernel
    t = np.arange(T) * frame
    amplitude = rng.uniform(0.5, 1.5, N) * 5.0
    brightness = rng.uniform(50, 150, N)
    background = lfilter([0.02], [1, -0.98], rng.standard_normal(T))  # slow, shared
    fneu = 40 + 5 * background[:, None] * rng.uniform(0.5, 1.5, N) \
        + 0.2 * rng.standard_normal((T, N))
    drift = 1 + bleach * np.exp(-t / tau_bleach)
    F = (brightness * drift[:, None] + amplitude * calcium + 0.7 * fneu
         + shot * rng.standard_normal((T, N)))
    n_bad = 3                                            # failed ROIs: constant F, not cells
    F_all = np.concatenate([F, np.zeros((T, n_bad))], axis=1).T
    fneu_all = np.concatenate([fneu, 40 + rng.standard_normal((T, n_bad))], axis=1).T
    iscell = np.column_stack([np.r_[np.ones(N), np.zeros(n_bad)],
                              np.r_[rng.uniform(0.5, 1, N), rng.uniform(0, 0.5, n_bad)]])
    write_suite2p(folder, F_all, Fneu=fneu_all, spks=np.clip(F_all - 0.7 * fneu_all, 0, None),
                  iscell=iscell, ops={"fs": 1.0 / frame, "neucoeff": 0.7, "tau": tau_ca})
    return float(rec.meta["ground_truth"]["measured_g_eff"])


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--g", type=float, default=0.5)
    p.add_argument("--neurons", type=int, default=60)
    p.add_argument("--duration", type=float, default=3000.0, help="seconds")
    p.add_argument("--window", type=float, default=10.0, help="seconds")
    p.add_argument("--n-seeds", type=int, default=20)
    p.add_argument("--n-boot", type=int, default=200)
    args = p.parse_args(argv)

    from neurospec.cli import run_fit

    inside = 0
    print(f"g = {args.g}, N = {args.neurons}, {args.duration:g} s at 10 Hz, window "
          f"{args.window:g} s; default pipeline")
    print(" seed   true   g_eff   interval          inside  alpha  kind         time")
    with tempfile.TemporaryDirectory() as tmp:
        for seed in range(args.n_seeds):
            folder = Path(tmp) / f"s{seed}" / "suite2p" / "plane0"
            truth = simulate_calcium_folder(folder, n_neurons=args.neurons, g=args.g,
                                            duration=args.duration, seed=seed)
            t0 = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                rep, _ = run_fit(folder.parent, window=args.window, n_boot=args.n_boot, seed=seed,
                                 checks=False)
            lo, hi = rep["g_eff_ci"]
            ok = lo <= truth <= hi
            inside += ok
            print(f"{seed:5d}  {truth:.3f}  {rep['g_eff']:.3f}  [{lo:.3f}, {hi:.3f}]  "
                  f"{'yes' if ok else 'NO ':>5}  {rep['alpha']:.3f}  {rep['covariance_kind']:<11}"
                  f"  {time.perf_counter() - t0:.1f} s", flush=True)
    print(f"coverage: {inside} of {args.n_seeds} ({100 * inside / args.n_seeds:.0f}%) for a "
          f"nominal {100 * rep['ci_level']:.0f}% interval")
    return 0


if __name__ == "__main__":
    sys.exit(main())
