"""End-to-end cost at large N: load + spectrum + fit + interval, against one numpy eigvalsh.

For each N (default 1000, 2000, 5000, 10000, 20000; ``--max-n`` stops earlier) the activity of
a linear network (iid couplings, g = 0.5, T = ``--t-ratio`` x N independent samples,
zero-frequency covariance) is written as a float32 ``.npy`` (not timed; ``--data-dir`` keeps
the files for later runs). Then, each in its own subprocess so that peak memory is its own:

* ``eigvalsh``: ``numpy.linalg.eigvalsh`` of one random symmetric N x N matrix (the unit);
* ``load``: ``neurospec.load(path, bin_size=1)`` (the whole recording in memory, float64);
* ``spectrum``: ``CovarianceSpectrum().fit(open_lazy(path).data)`` (streamed from disk);
* ``fit``: ``GainFit(n_boot=0).fit(spectrum)`` (point estimate);
* ``interval``: ``GainFit(n_boot=B).fit(spectrum)`` minus the point fit, scaled to the default
  200 replicates when ``--n-boot`` B is smaller (marked ``~``).

Times are medians over ``--repeats`` (N <= 2000; one run above) and are reported as ratios to
the eigvalsh of the same N timed in the same run, so that a busy machine (the numbers move
with other load) affects both alike. Peak RSS is per stage (the largest resident set while it
ran, from /proc/self/statm polled every 20 ms) and the process's ru_maxrss.

Measured (2 cores, idle, 2 BLAS threads): N = 20,000, T = 20,000 (``--t-ratio 1``):
eigvalsh 407 s; load 10.9 s, streamed spectrum 489 s, fit 1.3 s, interval 46 s: 547 s in all
(1.34 x eigvalsh), peak 6.8 GB (two N x N float64: 6.4 GB), g_eff 0.500.

Run: ``python benchmarks/bench_scale.py [--max-n 5000] [--n-boot 20] [--repeats 3]
[--data-dir DIR] [--threads K]``
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time

SIZES = (1000, 2000, 5000, 10000, 20000)


class _Peaks:
    """Largest RSS seen per stage (a polling thread; /proc/self/statm)."""

    def __init__(self):
        self.stage = "start"
        self.peak = {}
        self._page = os.sysconf("SC_PAGE_SIZE")
        threading.Thread(target=self._poll, daemon=True).start()

    def _rss(self):
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * self._page

    def _poll(self):
        while True:
            r = self._rss()
            self.peak[self.stage] = max(self.peak.get(self.stage, 0), r)
            time.sleep(0.02)

    def run(self, stage, func):
        self.stage = stage
        self.peak[stage] = self._rss()
        t0 = time.perf_counter()
        out = func()
        dt = time.perf_counter() - t0
        time.sleep(0.05)
        self.stage = "idle"
        return out, dt


def child(spec):
    import warnings

    import numpy as np

    warnings.simplefilter("ignore")
    peaks = _Peaks()
    out = dict(spec)
    if spec["task"] == "eigvalsh":
        N = spec["N"]
        rng = np.random.default_rng(0)
        A = rng.standard_normal((N, N))
        A += A.T
        times = []
        for _ in range(spec["repeats"]):
            _, dt = peaks.run("eigvalsh", lambda: np.linalg.eigvalsh(A))
            times.append(dt)
        out["times"] = {"eigvalsh": times}
    else:
        import neurospec
        from neurospec.io import open_lazy

        # imports (sklearn, scipy.stats, the fitter: seconds on a busy machine) before timing
        neurospec.CovarianceSpectrum, neurospec.GainFit  # noqa: B018 (lazy attributes)
        import neurospec.fit  # noqa: F401
        import neurospec.theory  # noqa: F401

        path = spec["path"]
        times = {k: [] for k in ("load", "spectrum", "fit", "interval")}
        for _ in range(spec["repeats"]):
            rec, dt = peaks.run("load", lambda: neurospec.load(path, bin_size=1.0))
            times["load"].append(dt)
            del rec
            with open_lazy(path, bin_size=1.0) as lazy:
                spec_, dt = peaks.run("spectrum", lambda: neurospec.CovarianceSpectrum(
                    progress=False).fit(lazy.data))
            times["spectrum"].append(dt)
            fit, dt_fit = peaks.run("fit", lambda: neurospec.GainFit(n_boot=0).fit(spec_))
            times["fit"].append(dt_fit)
            B = spec["n_boot"]
            if B > 0:
                boot, dt = peaks.run("interval", lambda: neurospec.GainFit(
                    n_boot=B, random_state=0).fit(spec_))
                times["interval"].append(max(dt - dt_fit, 0.0) * 200.0 / B)
                out["ci"] = [float(v) for v in boot.g_eff_ci_]
            out["g_eff"] = float(fit.g_eff_)
        out["times"] = times
    out["peak_gb"] = {k: v / 1e9 for k, v in peaks.peak.items() if k not in ("idle", "start")}
    out["maxrss_gb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e9
    print("RESULT " + json.dumps(out), flush=True)


def run_child(spec, threads):
    env = dict(os.environ)
    if threads:
        for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            env[var] = str(threads)
    proc = subprocess.run([sys.executable, __file__, "--child", json.dumps(spec)],
                          capture_output=True, text=True, env=env)
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[7:])
    raise RuntimeError(f"bench_scale child failed for {spec}:\n{proc.stderr[-3000:]}")


def write_activity(path, n, t, g=0.5, seed=0):
    """T x N float32 samples of the zero-frequency activity of a linear network."""
    import numpy as np
    import scipy.linalg as sla

    rng = np.random.default_rng(seed)
    J = rng.standard_normal((n, n)) * (g / np.sqrt(n))
    lu = sla.lu_factor((np.eye(n) - J).T)
    del J
    out = np.lib.format.open_memmap(path + ".tmp.npy", mode="w+", dtype=np.float32,
                                    shape=(t, n))
    step = 4096
    for s in range(0, t, step):
        z = rng.standard_normal((min(step, t - s), n))
        out[s : s + z.shape[0]] = sla.lu_solve(lu, z.T, trans=1).T
    out.flush()
    del out
    os.replace(path + ".tmp.npy", path)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--max-n", type=int, default=20000, help="largest N to run")
    ap.add_argument("--sizes", default=None, help="comma-separated N (overrides the default)")
    ap.add_argument("--t-ratio", type=float, default=2.0, help="T = t_ratio x N samples")
    ap.add_argument("--n-boot", type=int, default=200,
                    help="bootstrap replicates timed for the interval (scaled to 200)")
    ap.add_argument("--repeats", type=int, default=3, help="repeats for N <= 2000 (median)")
    ap.add_argument("--data-dir", default=None, help="keep the generated .npy files here")
    ap.add_argument("--threads", type=int, default=None, help="BLAS threads in the children")
    ap.add_argument("--single-baseline", action="store_true",
                    help="time eigvalsh once before the pipeline (not also after it) for N >= "
                         "5000 (eigvalsh(20000) takes minutes)")
    ap.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        child(json.loads(args.child))
        return 0

    import numpy as np

    sizes = ([int(v) for v in args.sizes.split(",")] if args.sizes
             else [n for n in SIZES if n <= args.max_n])
    load0 = os.getloadavg()[0]
    print(f"bench_scale: {os.cpu_count()} CPUs, load average {load0:.1f} at start; "
          f"T = {args.t_ratio:g} N float32 samples of a linear network (g = 0.5); "
          f"interval: {args.n_boot} replicates" + (" scaled to 200" if args.n_boot < 200 else ""))
    tmp = None
    data_dir = args.data_dir
    if data_dir is None:
        tmp = tempfile.TemporaryDirectory()
        data_dir = tmp.name
    os.makedirs(data_dir, exist_ok=True)
    rows = []
    for N in sizes:
        T = int(round(args.t_ratio * N))
        path = os.path.join(data_dir, f"linear_{N}x{T}.npy")
        if not os.path.exists(path):
            t0 = time.perf_counter()
            write_activity(path, N, T)
            print(f"  wrote {path} in {time.perf_counter() - t0:.0f} s", flush=True)
        reps = args.repeats if N <= 2000 else 1
        base = run_child(dict(task="eigvalsh", N=N, repeats=reps), args.threads)
        res = run_child(dict(task="pipeline", N=N, path=path, repeats=reps,
                             n_boot=args.n_boot), args.threads)
        base_after = run_child(dict(task="eigvalsh", N=N, repeats=1), args.threads) \
            if N >= 5000 and not args.single_baseline else None
        t_eig = float(np.median(base["times"]["eigvalsh"] + (
            base_after["times"]["eigvalsh"] if base_after else [])))
        med = {k: (float(np.median(v)) if v else float("nan")) for k, v in res["times"].items()}
        rows.append((N, T, t_eig, med, res, base))
        print(f"  N = {N}: eigvalsh {t_eig:.1f} s; " + ", ".join(
            f"{k} {v:.1f} s" for k, v in med.items()), flush=True)

    print()
    hdr = (f"{'N':>6} {'T':>6} {'eigvalsh s':>10} {'load':>6} {'spectrum':>8} {'fit':>6} "
           f"{'interval':>9} {'total':>6} {'total s':>8} {'peak GB':>8} {'spectrum GB':>11} "
           f"{'2 NxN GB':>8}  g_eff [CI]")
    print(hdr)
    print("-" * len(hdr))
    for N, T, t_eig, med, res, _ in rows:
        total = sum(v for v in med.values() if v == v)
        approx = "~" if args.n_boot < 200 else " "
        ci = res.get("ci")
        ci_txt = f" [{ci[0]:.3f}, {ci[1]:.3f}]" if ci else ""
        print(f"{N:>6} {T:>6} {t_eig:>10.2f} {med['load'] / t_eig:>6.2f} "
              f"{med['spectrum'] / t_eig:>8.2f} {med['fit'] / t_eig:>6.2f} "
              f"{approx}{med['interval'] / t_eig:>8.2f} {total / t_eig:>6.2f} {total:>8.1f} "
              f"{res['maxrss_gb']:>8.2f} {res['peak_gb'].get('spectrum', float('nan')):>11.2f} "
              f"{16 * N * N / 1e9:>8.2f}  {res.get('g_eff', float('nan')):.3f}{ci_txt}")
    print()
    print("Columns load..total are times divided by one numpy eigvalsh of the same N (random "
          "symmetric matrix) timed in the same run; 'total s' in seconds. peak GB = the "
          "pipeline process's ru_maxrss (load holds T x N float64); spectrum GB = the largest RSS "
          "while the streamed spectrum ran (target: within 2 N x N float64 plus one chunk).")
    print(f"load average at end {os.getloadavg()[0]:.1f}")
    if tmp is not None:
        tmp.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
