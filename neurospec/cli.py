"""The ``neurospec`` command line.

``neurospec info PATH`` prints what a file holds. Further subcommands (``fit``, ``simulate``,
``demo``) plug in the same way: write ``add_<name>_parser(subparsers)`` that creates the
subparser and sets ``func=<handler>``, write the handler ``cmd_<name>(args) -> int``, and append
the adder to :data:`SUBCOMMANDS`. :func:`main` turns every :class:`~neurospec.errors.NeurospecError`
(and a missing or unreadable file) into exit code 2 with a one-line ``neurospec: error: ...``
message on stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from .errors import NeurospecError

__all__ = ["main", "build_parser", "SUBCOMMANDS", "cmd_info", "cmd_fit", "cmd_simulate", "cmd_demo",
           "run_fit", "format_fit_report", "samples_dir"]

EXIT_OK = 0
EXIT_ERROR = 2  # bad input (the same code argparse uses for a bad option)


# ------------------------------------------------------------------ info
def cmd_info(args) -> int:
    """``neurospec info PATH``: print what a file holds."""
    from .io import describe, format_description

    desc = describe(args.path)
    if args.json:
        print(json.dumps(desc, indent=2, default=str))
    else:
        print(format_description(desc, max_units=args.max_units))
    return EXIT_OK


def add_info_parser(subparsers):
    p = subparsers.add_parser(
        "info",
        help="show what a data file holds (units, series, arrays)",
        description="Print what a file holds: for NWB the Units table (spike counts and time span "
                    "per unit) and every TimeSeries (path, shape, rate, duration, unit); for "
                    "array files their arrays/datasets/variables and shapes.",
    )
    p.add_argument("path", help="data file (.nwb, .npy, .npz, .csv, .h5, .hdf5, .mat)")
    p.add_argument("--json", action="store_true", help="print the description as JSON")
    p.add_argument("--max-units", type=int, default=50, metavar="N",
                   help="list at most N units (default 50)")
    p.set_defaults(func=cmd_info)
    return p


# ------------------------------------------------------------------ fit / simulate / demo
# (fit, simulate and demo: the user-facing pipeline; see README.md)

def _finite(x):
    """A JSON-safe plain Python value (NaN/inf -> None, numpy -> Python)."""
    import math

    import numpy as np

    if isinstance(x, dict):
        return {str(k): _finite(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_finite(v) for v in x]
    if isinstance(x, np.ndarray):
        return _finite(x.tolist())
    if isinstance(x, np.generic):
        x = x.item()
    if isinstance(x, float) and not math.isfinite(x):
        return None
    if x is None or isinstance(x, (str, int, float, bool)):
        return x
    return str(x)


def _window_samples(window, bin_size):
    """``--window`` seconds -> a whole number of bins (CovarianceSpectrum counts samples)."""
    from .errors import BinSizeError

    if window is None:
        return None
    if not window > 0:
        raise BinSizeError(f"--window {window:g}: the window must be a positive number of seconds.")
    n = round(window / bin_size)
    if n < 1 or abs(n * bin_size - window) > 1e-6 * window:
        raise BinSizeError(
            f"--window {window:g} s is not a whole number of {bin_size:g} s bins; use a multiple "
            f"of the bin size, e.g. --window {max(n, 1) * bin_size:g}."
        )
    return int(n)


def _ground_truth(meta):
    """The simulator's ground truth stored with a recording (or None)."""
    for source in (meta, meta.get("file_meta") or {}):
        truth = source.get("ground_truth") if isinstance(source, dict) else None
        if isinstance(truth, dict):
            return truth
    return None


def _known_g_eff(truth):
    for key in ("g_eff", "measured_g_eff", "g_eff_meanfield", "predicted_g_eff"):
        value = truth.get(key) if truth else None
        if isinstance(value, (int, float)):
            return key, float(value)
    return None, None


def run_fit(path, *, source=None, bin_size=None, window=None, fraction=None,
            kind="covariance", n_boot=200, seed=0, ci=0.9, out=None, figure=True,
            load_options=None, ladder=False, cli=False):
    """Load, estimate, fit: the ``neurospec fit`` pipeline as a function.

    Parameters
    ----------
    path : str or Path
        A data file (see :func:`neurospec.load`).
    source : str, optional
        NWB source (``"units"`` or a series path), passed to :func:`neurospec.load`.
    bin_size : float, optional
        Seconds (spike-count bin, or seconds per row of an array file).
    window : float, optional
        Window in seconds over which activity is summed before the covariance (a whole number
        of bins). Default: the ``recommended`` window stored in the file's neurospec metadata,
        else none.
    fraction : float, optional
        Fraction of the network that was recorded (neuron subsampling in the forward model).
    kind : {"correlation", "covariance"}
    n_boot : int
        Bootstrap resamples for the interval.
    seed : int
        Random seed of the bootstrap.
    ci : float
        Interval level.
    out : str or Path, optional
        Folder for ``report.json`` and ``spectrum.png``.
    figure : bool
        Write ``spectrum.png`` (when ``out`` is given).
    load_options : dict, optional
        Further options for :func:`neurospec.load`.
    ladder : bool
        Also fit over a ladder of window lengths (:func:`neurospec.window_ladder`) to check that
        g_eff has converged with the window; the table goes into ``report["window_ladder"]``.
    cli : bool
        Collect warnings into the report only (the command line prints them itself); otherwise
        they are also re-issued as Python warnings.

    Returns
    -------
    report : dict
        What ``report.json`` holds.
    fit : GainFit
        The fitted estimator.
    """
    from pathlib import Path

    import warnings

    from . import __version__

    options = dict(load_options or {})
    if source is not None:
        options["source"] = source
    if bin_size is not None:
        options["bin_size"] = bin_size
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        report, fit = _run_fit(path, options, window, fraction, kind, n_boot, seed, ci, out,
                               figure, ladder, __version__)
    seen = []
    for w in caught:
        text = " ".join(str(w.message).split())
        if text not in seen:
            seen.append(text)
    report["warnings"] = seen
    if out is not None:
        Path(report["outputs"]["report"]).write_text(json.dumps(report, indent=2) + "\n")
    if not cli:
        for text in seen:
            warnings.warn(text, UserWarning, stacklevel=2)
    return report, fit


def _run_fit(path, options, window, fraction, kind, n_boot, seed, ci, out, figure, ladder,
             __version__):
    from pathlib import Path

    from .io import load

    rec = load(path, **options)
    notes = []
    recommended = rec.meta.get("recommended") or {}
    if window is None and isinstance(recommended.get("window"), (int, float)):
        window = float(recommended["window"])
        notes.append(f"window {window:g} s taken from the file's metadata (recommended)")
    n_before = rec.n_neurons
    rec = rec.drop_silent()
    if rec.n_neurons < n_before:
        notes.append(f"dropped {n_before - rec.n_neurons} silent/constant neurons")
    w = _window_samples(window, rec.bin_size)
    from .fit import GainFit
    from .spectrum import CovarianceSpectrum

    spec = CovarianceSpectrum(kind=kind, window=w).fit(rec)
    fit = GainFit(fraction=fraction, ci=ci, n_boot=n_boot, random_state=seed).fit(spec)

    if w is None:
        notes.append("no --window: the covariance of single bins is the zero-frequency one only "
                     "if bins are much longer than the network's slowest time scale; check with "
                     "--ladder")
    ladder_report = None
    if ladder:
        from .fit import window_ladder

        table = window_ladder(rec, n_boot=min(n_boot, 50), random_state=seed, kind=kind,
                              warn=False)
        ladder_report = {"converged": table.attrs.get("converged"),
                         "message": table.attrs.get("message"),
                         "rows": table.to_dict(orient="records")}
    ci_lo, ci_hi = (float(v) for v in fit.g_eff_ci_)
    truth = _ground_truth(rec.meta)
    truth_key, truth_value = _known_g_eff(truth)
    n_eff = float(spec.n_samples_eff_)
    comparison = getattr(fit, "comparison_", None)
    if hasattr(comparison, "to_dict"):  # DataFrame: one row per model
        comparison = comparison.reset_index().to_dict(orient="records")
    report = {
        "neurospec_version": __version__,
        "file": str(path),
        "series": rec.meta.get("series"),
        "activity_kind": rec.meta.get("kind"),
        "n_neurons": rec.n_neurons,
        "n_samples": rec.n_samples,
        "bin_size_s": rec.bin_size,
        "duration_s": rec.duration,
        "window_s": None if w is None else w * rec.bin_size,
        "window_bins": w,
        "n_windows": int(getattr(spec, "n_windows_", rec.n_samples // (w or 1))),
        "covariance_kind": kind,
        "n_samples_eff": n_eff,
        "alpha": float(getattr(fit, "alpha_", spec.alpha_)),
        "participation_ratio": float(spec.participation_ratio_),
        "participation_ratio_corrected": float(spec.participation_ratio_corrected_),
        "model": getattr(fit, "model", "iid"),
        "fraction": fraction,
        "g_eff": float(fit.g_eff_),
        "g_eff_stderr": float(fit.g_eff_stderr_),
        "g_eff_ci": [ci_lo, ci_hi],
        "ci_level": ci,
        "n_boot": n_boot,
        "seed": seed,
        "scale": float(fit.scale_),
        "cost": float(fit.cost_),
        "null_cost": float(fit.null_cost_),
        "p_value_null": float(getattr(fit, "p_value_null_", float("nan"))),
        "p_value_model": float(getattr(fit, "p_value_model_", float("nan"))),
        "comparison": comparison,
        "n_dropped": int(fit.n_dropped_),
        "predicted_pr_per_neuron": float((1.0 - fit.g_eff_**2) ** 2),
        "ground_truth": truth,
        "known_g_eff": truth_value,
        "known_g_eff_in_ci": None if truth_value is None else bool(ci_lo <= truth_value <= ci_hi),
        "window_ladder": ladder_report,
        "notes": notes,
        "preprocessing": list(rec.meta.get("preprocessing", [])),
        "outputs": {},
    }
    if out is not None:
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        if figure:
            from .plotting import spectrum_figure

            fig = spectrum_figure(fit, title=f"{Path(str(path)).name}: covariance spectrum of "
                                             f"{rec.n_neurons} neurons")
            fig.savefig(out / "spectrum.png", dpi=150)
            report["outputs"]["figure"] = str(out / "spectrum.png")
        report["outputs"]["report"] = str(out / "report.json")
    return _finite(report), fit


def _comparison_text(report):
    """One line: fit distances of theory and null, their goodness-of-fit p-values, a verdict."""
    cost, null = report["cost"], report["null_cost"]
    n_boot = report.get("n_boot") or 0

    def p_text(p):
        if p is None:
            return ""
        if n_boot and p <= 1.0 / (n_boot + 1) + 1e-12:  # no replicate as extreme: a bound
            return f", p <= {p:.2g}"
        return f", p = {p:.2g}"

    def fmt(v):
        return "-" if v is None else f"{v:.3g}"

    p_model, p_null = report.get("p_value_model"), report.get("p_value_null")
    text = (f"CvM {fmt(cost)} (theory{p_text(p_model)}) vs {fmt(null)} "
            f"(Marchenko-Pastur null{p_text(p_null)})")
    if cost is None or null is None:
        return text
    if p_null is not None and p_null < 0.05:
        verdict = "null rejected: recurrent structure"
    elif cost < null:
        verdict = "theory fits better"
    else:
        verdict = "the null fits as well: no evidence of recurrent structure"
    if p_model is not None and p_model < 0.05:
        verdict += "; the theory itself fits poorly (p < 0.05)"
    return f"{text} -> {verdict}"


def format_fit_report(report):
    """The summary table ``neurospec fit`` prints (str)."""
    r = report
    lines = [f"neurospec fit: {r['file']}" + (f" [{r['series']}]" if r.get("series") else "")]
    rows = [
        ("neurons", f"{r['n_neurons']}"),
        ("samples", f"{r['n_samples']} bins of {r['bin_size_s']:g} s ({r['duration_s']:g} s, "
                    f"{r['activity_kind']})"),
    ]
    if r.get("window_bins"):
        rows.append(("window", f"{r['window_s']:g} s ({r['window_bins']} bins) -> "
                               f"{r['n_windows']} windows"))
    rows += [
        ("effective samples", f"{r['n_samples_eff']:.1f}  (alpha = N / n_eff = {r['alpha']:.3f})"),
        ("participation ratio", f"raw {r['participation_ratio']:.2f}, corrected "
                                f"{r['participation_ratio_corrected']:.2f}  (PR/N corrected "
                                f"{r['participation_ratio_corrected'] / r['n_neurons']:.3f})"),
        ("g_eff", f"{r['g_eff']:.3f}  [{r['g_eff_ci'][0]:.3f}, {r['g_eff_ci'][1]:.3f}] "
                  f"{100 * r['ci_level']:.0f}% CI  (s.e. {r['g_eff_stderr']:.3f}; "
                  f"{r['covariance_kind']}, {r['model']} model"
                  + (f", fraction {r['fraction']:g}" if r.get("fraction") else "") + ")"),
        ("model comparison", _comparison_text(r)),
        ("dropped top modes", f"{r['n_dropped']}"),
    ]
    truth = r.get("ground_truth")
    if truth:
        parts = [f"{k} = {truth[k]:g}" for k in ("g", "sigma") if isinstance(truth.get(k), (int, float))]
        if isinstance(truth.get("phi"), str):
            parts.insert(0, f"phi = {truth['phi']}")
        for key, label in (("g_eff_meanfield", "mean-field g_eff"),
                           ("measured_g_eff", "measured g<phi'>")):
            if isinstance(truth.get(key), (int, float)):
                parts.append(f"{label} = {truth[key]:.4f}")
        rows.append(("ground truth", ", ".join(parts)))
        if r.get("known_g_eff") is not None:
            inside = "inside" if r["known_g_eff_in_ci"] else "OUTSIDE"
            rows.append(("", f"known g_eff {r['known_g_eff']:.4f} is {inside} the interval"))
    lad = r.get("window_ladder")
    if lad:
        rows.append(("window ladder", "window (s)  windows  alpha   g_eff +- s.e."))
        for row in lad["rows"]:
            ws = row.get("window_s")
            ws = row["window"] if ws is None else ws
            rows.append(("", f"{ws:>10g}  {row['n_windows']:>7d}  {row['alpha']:5.2f}   "
                             f"{row['g_eff']:.3f} +- {row['stderr']:.3f}"))
        if lad.get("message"):
            rows.append(("", str(lad["message"])))
    for note in r.get("notes", []):
        rows.append(("note", note))
    outputs = r.get("outputs") or {}
    if outputs:
        rows.append(("wrote", ", ".join(outputs[k] for k in ("report", "figure") if k in outputs)))
    width = max(len(k) for k, _ in rows)
    lines += [f"  {k:<{width}}  {v}" for k, v in rows]
    return "\n".join(lines)


def _print_warnings(report):
    for text in report.get("warnings", []):
        print(f"neurospec: warning: {text}", file=sys.stderr)


def cmd_fit(args) -> int:
    """``neurospec fit PATH``: estimate the spectrum, fit g_eff, print and save the report."""
    report, _ = run_fit(
        args.path, source=args.source, bin_size=args.bin_size, window=args.window,
        fraction=args.fraction, kind=args.kind, n_boot=args.n_boot, seed=args.seed, ci=args.ci,
        out=args.out, figure=not args.no_figure, ladder=args.ladder, cli=True,
    )
    _print_warnings(report)
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(format_fit_report(report))
    return EXIT_OK


def _add_fit_options(p, out_default):
    p.add_argument("--window", type=float, metavar="SECONDS",
                   help="sum activity over windows of this many seconds (a whole number of bins) "
                        "before the covariance: the zero-frequency covariance the theory describes "
                        "needs windows much longer than the network's slowest time scale. "
                        "Default: the file's recommended window, else none")
    p.add_argument("--fraction", type=float, metavar="F",
                   help="fraction of the network that was recorded (0 < F <= 1), if known")
    p.add_argument("--kind", choices=("covariance", "correlation"), default="covariance",
                   help="covariance (default; what the theory describes) or correlation matrix "
                        "(re-weights neurons by their variance and biases g_eff up a little; for "
                        "neurons with very different noise levels)")
    p.add_argument("--ci", type=float, default=0.9, metavar="LEVEL",
                   help="interval level (default 0.9)")
    p.add_argument("--n-boot", type=int, default=200, metavar="N",
                   help="bootstrap resamples for the interval (default 200)")
    p.add_argument("--seed", type=int, default=0, help="random seed of the bootstrap (default 0)")
    p.add_argument("--out", default=out_default, metavar="DIR",
                   help=f"folder for report.json and spectrum.png (default {out_default})")
    p.add_argument("--ladder", action="store_true",
                   help="also fit over a ladder of window lengths and say whether g_eff has "
                        "converged with the window (short windows bias g_eff: low, or near "
                        "criticality either way)")
    p.add_argument("--no-figure", action="store_true", help="do not write spectrum.png")
    p.add_argument("--json", action="store_true",
                   help="print the report as JSON instead of the table")


def add_fit_parser(subparsers):
    p = subparsers.add_parser(
        "fit",
        help="fit the effective gain g_eff to a recording's covariance spectrum",
        description="Load a recording, estimate its (bias-corrected) covariance eigenvalue "
                    "spectrum, fit the random-network theory's effective gain g_eff with a "
                    "bootstrap interval, compare with the Marchenko-Pastur null, print a summary "
                    "and write DIR/report.json and DIR/spectrum.png.",
    )
    p.add_argument("path", help="data file (.nwb, .npy, .npz, .csv, .h5, .hdf5, .mat)")
    p.add_argument("--source", help="NWB: 'units' or the path/name of a TimeSeries "
                                    "(default: auto; see `neurospec info PATH`)")
    p.add_argument("--bin-size", type=float, metavar="SECONDS",
                   help="spike-count bin (NWB units) or seconds per row (array files)")
    _add_fit_options(p, "neurospec-out")
    p.set_defaults(func=cmd_fit)
    return p


def cmd_simulate(args) -> int:
    """``neurospec simulate``: write a simulated recording with its ground truth."""
    from pathlib import Path

    from .errors import ParameterError
    from .simulate import RateNetwork
    from .theory import effective_gain

    out = Path(args.out)
    if out.suffix.lower() != ".nwb":
        raise ParameterError(f"--out {out}: the simulated recording is written as NWB; give a "
                             "file name ending in .nwb.")
    if out.exists() and not args.overwrite:
        raise ParameterError(f"--out {out} exists; pass --overwrite to replace it.")
    net = RateNetwork(args.neurons, args.g, kappa=args.kappa, phi=args.phi, sigma=args.sigma,
                      dt=args.dt, seed=args.seed)
    bin_size = args.tau if args.bin_size is None else args.bin_size
    rec = net.run(args.duration / args.tau, bin_size=bin_size / args.tau, tau=args.tau,
                  spikes=args.spikes, rate_scale=args.rate_scale, baseline=args.baseline,
                  progress=not args.quiet)
    truth = rec.meta["ground_truth"]
    try:
        mf = effective_gain(args.g, phi=args.phi, sigma=args.sigma, kappa=args.kappa)
        truth["g_eff_meanfield"] = float(mf.g_eff)
        truth["chaotic_meanfield"] = bool(getattr(mf, "chaotic", False))
    except NeurospecError as exc:  # e.g. no mean-field theory for this case: say so, keep going
        truth["g_eff_meanfield"] = None
        truth["meanfield_error"] = str(exc)
    truth["g_eff"] = truth["measured_g_eff"]
    truth["tau_s"] = args.tau
    rec.meta["recommended"] = {"bin_size": rec.bin_size}
    out.parent.mkdir(parents=True, exist_ok=True)
    rec.to_nwb(out, overwrite=args.overwrite)
    mf_text = ("-" if truth.get("g_eff_meanfield") is None else f"{truth['g_eff_meanfield']:.4f}")
    what = (f"{sum(len(s) for s in rec.spike_times)} spikes (Units table)" if args.spikes
            else "rates phi(h) as acquisition/activity")
    print(f"neurospec simulate: wrote {out}\n"
          f"  network        N = {args.neurons}, g = {args.g:g}, kappa = {args.kappa:g}, "
          f"phi = {args.phi}, sigma = {args.sigma:g}, seed = {net.seed}\n"
          f"  recording      {args.duration:g} s in {rec.n_samples} bins of {rec.bin_size:g} s "
          f"(tau = {args.tau:g} s): {what}\n"
          f"  ground truth   g_eff mean-field {mf_text}, measured g<phi'> "
          f"{truth['measured_g_eff']:.4f}\n"
          f"  next           neurospec fit {out} --window <seconds, >> tau / (1 - g_eff)>")
    return EXIT_OK


def add_simulate_parser(subparsers):
    p = subparsers.add_parser(
        "simulate",
        help="simulate a random rate network and write an NWB file with its ground truth",
        description="Simulate dh/dt = -h + J phi(h) + sigma xi with J_ij ~ N(0, g^2/N) and write "
                    "the binned rates (or spike trains with --spikes) to an NWB file whose "
                    "metadata holds the ground truth: g, sigma, the mean-field g_eff and the "
                    "measured g<phi'(h)>. Times are in seconds; the neurons' time constant is "
                    "--tau seconds.",
    )
    p.add_argument("--neurons", type=int, required=True, metavar="N", help="number of neurons")
    p.add_argument("--g", type=float, required=True, help="coupling gain g")
    p.add_argument("--kappa", type=float, default=0.0, help="reciprocal correlation (default 0)")
    p.add_argument("--sigma", type=float, default=1.0, help="noise amplitude (default 1)")
    p.add_argument("--phi", default="tanh", choices=("tanh", "erf", "relu", "identity"),
                   help="nonlinearity (default tanh)")
    p.add_argument("--duration", type=float, required=True, metavar="SECONDS",
                   help="recorded duration in seconds")
    p.add_argument("--bin-size", type=float, default=None, metavar="SECONDS",
                   help="bin width in seconds (default: tau)")
    p.add_argument("--tau", type=float, default=1.0, metavar="SECONDS",
                   help="the neurons' time constant in seconds (default 1)")
    p.add_argument("--dt", type=float, default=None, help="integration step in units of tau "
                                                         "(default 0.1)")
    p.add_argument("--spikes", action="store_true",
                   help="write Poisson spike trains (Units table) instead of rates")
    p.add_argument("--rate-scale", type=float, default=10.0, metavar="HZ",
                   help="spikes: rate = baseline + rate_scale (phi(h) + 1) Hz for tanh (default 10)")
    p.add_argument("--baseline", type=float, default=1.0, metavar="HZ",
                   help="spikes: baseline rate in Hz (default 1)")
    p.add_argument("--seed", type=int, default=None, help="random seed (default: fresh)")
    p.add_argument("--out", required=True, metavar="FILE.nwb", help="output NWB file")
    p.add_argument("--overwrite", action="store_true", help="replace --out if it exists")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_simulate)
    return p


def samples_dir():
    """The folder of the bundled sample recordings (``data_samples/`` of the source tree).

    The samples are not installed as package data: they live in the repository, next to the
    package (``neurospec`` is installed editable, ``pip install -e .``). Set the environment
    variable ``NEUROSPEC_SAMPLES`` to use another folder.
    """
    import os
    from pathlib import Path

    from . import __file__ as pkg_file
    from .errors import LoaderError

    env = os.environ.get("NEUROSPEC_SAMPLES")
    candidates = [Path(env)] if env else []
    candidates.append(Path(pkg_file).resolve().parents[1] / "data_samples")
    for c in candidates:
        if (c / "samples.json").is_file():
            return c
    raise LoaderError(
        "the bundled samples (data_samples/samples.json) were not found next to the package "
        f"(looked in {', '.join(str(c) for c in candidates)}). Install neurospec from a clone of "
        "its repository with `pip install -e .`, or set NEUROSPEC_SAMPLES to the data_samples "
        "folder."
    )


def cmd_demo(args) -> int:
    """``neurospec demo``: fit the bundled sample recording."""
    from .errors import LoaderError

    folder = samples_dir()
    manifest = json.loads((folder / "samples.json").read_text())
    if args.sample not in manifest:
        raise LoaderError(f"--sample {args.sample!r} is not a bundled sample; choose one of "
                          f"{', '.join(manifest)}.")
    entry = manifest[args.sample]
    path = folder / args.sample
    bin_size = entry.get("bin_size") if path.suffix.lower() != ".nwb" else None
    report, _ = run_fit(path, bin_size=bin_size, window=entry.get("window"), kind=args.kind,
                        n_boot=args.n_boot, seed=args.seed, ci=args.ci, out=args.out,
                        figure=not args.no_figure, ladder=args.ladder, cli=True)
    _print_warnings(report)
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(f"neurospec demo: bundled sample {args.sample}, {entry.get('content', '')}, "
              "with known ground truth")
        print(format_fit_report(report))
    return EXIT_OK


def add_demo_parser(subparsers):
    p = subparsers.add_parser(
        "demo",
        help="fit the bundled sample recording (known ground truth)",
        description="Run `neurospec fit` on a bundled sample recording (data_samples/), made by "
                    "neurospec's simulator with known effective gain, and print the estimate "
                    "beside the truth.",
    )
    p.add_argument("--sample", default="tanh_spikes.nwb",
                   help="which bundled sample (default tanh_spikes.nwb; see data_samples/README.md)")
    _add_fit_options(p, "neurospec-out")
    p.set_defaults(func=cmd_demo)
    return p


#: functions that each add one subcommand; add yours here
SUBCOMMANDS = [add_info_parser, add_fit_parser, add_simulate_parser, add_demo_parser]


# ------------------------------------------------------------------ entry point
def build_parser():
    """The argparse parser with every registered subcommand."""
    from . import __version__

    parser = argparse.ArgumentParser(
        prog="neurospec",
        description="Fit random-network theory to the covariance spectra of neural recordings.",
    )
    parser.add_argument("--version", action="version", version=f"neurospec {__version__}")
    parser.add_argument("--debug", action="store_true",
                        help="show the full traceback on errors")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for add in SUBCOMMANDS:
        add(subparsers)
    return parser


def _error(message):
    text = " ".join(str(message).split())
    print(f"neurospec: error: {text}", file=sys.stderr)
    return EXIT_ERROR


def main(argv=None) -> int:
    """Run the command line; returns the exit code (0 ok, 2 bad input)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, or a bad option (argparse printed why)
        return int(exc.code or 0) if not isinstance(exc.code, str) else EXIT_ERROR
    if getattr(args, "func", None) is None:
        parser.print_help(sys.stderr)
        return EXIT_ERROR
    try:
        return int(args.func(args) or EXIT_OK)
    except NeurospecError as exc:
        if args.debug:
            raise
        return _error(exc)
    except (FileNotFoundError, IsADirectoryError, PermissionError) as exc:
        if args.debug:
            raise
        return _error(f"{exc.filename or ''}: {exc.strerror or exc}")
    except KeyboardInterrupt:
        print("neurospec: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into e.g. `head`, which closed early
        # Point stdout at devnull so the interpreter's final flush does not fail again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
