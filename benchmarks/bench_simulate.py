"""Speed of neurospec's rate-network simulator.

For N in {200, 1000, 2000} and n_trials in {1, 32} (tanh network, continuous time,
dt = 0.1, bins of 1 tau), prints

- neuron-steps per second of ``RateNetwork.run`` (numba kernel, all trials in one
  matrix-matrix product per step, on-the-fly binning, measured g_eff);
- the same for a plain NumPy Euler-Maruyama loop of the same network producing the same
  output (bin-averaged rates and the g<phi'> statistic), noise drawn per step with
  ``Generator.standard_normal``, one trial as a vector (matrix-vector product), several
  trials as an (N, K) array; and the speed-up (the simulator's default exponential-Euler
  update costs the same operations as Euler-Maruyama, only the constants differ);
- the GFLOP/s achieved by the simulator (2 N^2 K per step for the product J @ phi(H)) and
  the percentage of a bare product of the same shape ((N, N) @ (N, K); a matrix-vector
  product for one trial), called in a compiled loop so that no Python call overhead is
  counted, timed in the same run: the machine's practical limit;
- "bound": the NumPy loop's step time divided by that bare product's time, i.e. the largest
  speed-up any integrator could show if everything but the product were free.

All timings are medians of interleaved repeats (the machine is shared: read the ratios).
BLAS threads are limited with threadpoolctl (``--threads``, default 1) for both NumPy's
and SciPy's OpenBLAS (numba's ``np.dot`` calls SciPy's), so that simulator and reference
run under the same conditions.

Run: ``python benchmarks/bench_simulate.py [--threads 1] [--repeats 5]``
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import scipy.linalg  # noqa: F401  (loads SciPy's BLAS, which numba's np.dot uses)
from numba import njit
from threadpoolctl import threadpool_info, threadpool_limits

from neurospec.simulate import RateNetwork

G, SIGMA, DT, BIN = 1.2, 0.5, 0.1, 1.0
STEPS_PER_BIN = int(round(BIN / DT))
STAT_EVERY = 5


def numpy_loop(J, n_steps, n_trials, rng):
    """Plain NumPy Euler-Maruyama loop; returns bin-averaged rates and g<phi'>."""
    N = J.shape[0]
    shape = (N,) if n_trials == 1 else (N, n_trials)
    h = rng.standard_normal(shape)
    r = np.tanh(h)
    acc = np.zeros(shape)
    bins = []
    dsum, nstat = 0.0, 0
    noise = SIGMA * np.sqrt(DT)
    for t in range(1, n_steps + 1):
        h = h + DT * (-h + J @ r) + noise * rng.standard_normal(shape)
        r = np.tanh(h)
        acc += r
        if t % STAT_EVERY == 0:
            dsum += np.sum(1.0 - r * r)
            nstat += r.size
        if t % STEPS_PER_BIN == 0:
            bins.append(acc / STEPS_PER_BIN)
            acc = np.zeros(shape)
    return np.array(bins), G * dsum / nstat


@njit(cache=True)
def product_loop(J, P, O, reps):
    """``reps`` bare products ``J @ P`` called from compiled code (no Python call overhead;
    a 1-D ``P`` is a dgemv, as the simulator's single-trial step)."""
    for _ in range(reps):
        np.dot(J, P, O)
    return O


def time_call(f, repeat=1):
    t0 = time.perf_counter()
    for _ in range(repeat):
        f()
    return (time.perf_counter() - t0) / repeat


def bench(N, K, repeats, work):
    net = RateNetwork(N, g=G, phi="tanh", sigma=SIGMA, dt=DT, seed=1)
    J = np.array(net.couplings)
    # about `work` multiply-adds in the product per timed call, at least 2 bins
    n_steps = max(2 * STEPS_PER_BIN, int(work / (N * N * K)) // STEPS_PER_BIN * STEPS_PER_BIN)
    n_steps_np = max(STEPS_PER_BIN, n_steps // 2 // STEPS_PER_BIN * STEPS_PER_BIN)
    duration = n_steps * DT
    net.run(duration=BIN, n_trials=K, bin_size=BIN, burn_in=0, progress=False)  # warm-up/compile
    rng = np.random.default_rng(0)
    P = np.tanh(rng.standard_normal((N, K) if K > 1 else N))
    O = np.empty(P.shape)
    n_mm = max(3, int(work / (N * N * K)))
    product_loop(J, P, O, 1)
    t_sim, t_np, t_mm = [], [], []
    for _ in range(repeats):
        t_sim.append(time_call(lambda: net.run(duration=duration, n_trials=K, bin_size=BIN,
                                               burn_in=0, progress=False)) / n_steps)
        t_np.append(time_call(lambda: numpy_loop(J, n_steps_np, K, rng)) / n_steps_np)
        t_mm.append(time_call(lambda: product_loop(J, P, O, n_mm)) / n_mm)
    t_sim, t_np, t_mm = np.median(t_sim), np.median(t_np), np.median(t_mm)
    flops = 2.0 * N * N * K
    return {
        "N": N, "K": K,
        "sim_nsps": N * K / t_sim, "np_nsps": N * K / t_np, "speedup": t_np / t_sim,
        "sim_gflops": flops / t_sim / 1e9, "mm_gflops": flops / t_mm / 1e9,
        "pct": 100.0 * t_mm / t_sim,
        "bound": t_np / t_mm,
        "us_step": t_sim * 1e6,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=1, help="BLAS threads (default 1)")
    parser.add_argument("--repeats", type=int, default=5, help="interleaved repeats (median)")
    parser.add_argument("--work", type=float, default=2e9,
                        help="multiply-adds of J @ phi(H) per timed simulator call")
    args = parser.parse_args()
    with threadpool_limits(args.threads, user_api="blas"):
        libs = sorted({f"{i['internal_api']} {i['version']} ({i['architecture']}, "
                       f"{i['num_threads']} thr)" for i in threadpool_info()
                       if i["user_api"] == "blas"})
        print(f"tanh network, continuous time, g={G}, sigma={SIGMA}, dt={DT}, bins of {BIN} tau; "
              f"BLAS: {'; '.join(libs)}; medians of {args.repeats}")
        head = (f"{'N':>5} {'trials':>6} | {'sim Mn-steps/s':>14} {'numpy Mn-steps/s':>16} "
                f"{'speed-up':>8} {'bound':>6} | {'us/step':>8} {'sim GFLOP/s':>11} "
                f"{'matmul GFLOP/s':>14} {'% of matmul':>11}")
        print(head)
        print("-" * len(head))
        for N in (200, 1000, 2000):
            for K in (1, 32):
                r = bench(N, K, args.repeats, args.work)
                print(f"{N:>5} {K:>6} | {r['sim_nsps'] / 1e6:>14.1f} {r['np_nsps'] / 1e6:>16.1f} "
                      f"{r['speedup']:>7.1f}x {r['bound']:>5.1f}x | {r['us_step']:>8.1f} "
                      f"{r['sim_gflops']:>11.1f} {r['mm_gflops']:>14.1f} {r['pct']:>10.0f}%",
                      flush=True)
        print("bound: NumPy-loop step time / bare product time, the speed-up a simulator would "
              "reach if everything but J @ phi(H) (noise, nonlinearity, binning) were free.")
        print("targets: >= 5x the NumPy loop at N=200, 1 trial; >= 60% of matmul at N=1000, "
              "32 trials")


if __name__ == "__main__":
    main()
