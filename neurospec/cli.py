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
           "run_fit", "run_batch", "format_fit_report", "format_batch", "batch_figure",
           "cmd_compare", "run_compare", "format_compare",
           "BATCH_COLUMNS", "samples_dir"]

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
    p.add_argument("path", help="data file (.nwb, .npy, .npz, .csv, .h5, .hdf5, .mat) or suite2p "
                                "folder")
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


# ------------------------------------------------------------------ inputs and preprocessing
_SUITE2P_OPTIONS = ("cells", "iscell_threshold", "signal", "neuropil")


def _is_suite2p(path):
    from pathlib import Path

    from .io.suite2p import is_suite2p_folder

    try:
        return Path(str(path)).is_dir() and is_suite2p_folder(path)
    except OSError:
        return False


def _input_options(path, notes, *, orientation=None, **suite2p):
    """Loader options that apply to this input; the others are named in a note."""
    s2p = _is_suite2p(path)
    given = {k: v for k, v in suite2p.items() if v is not None}
    out = {}
    if s2p:
        out.update(given)
        if orientation is not None:
            notes.append(f"--orientation {orientation} not used: a suite2p folder is ROIs x "
                         "frames by construction")
    else:
        if given:
            flags = ", ".join("--" + k.replace("_", "-") for k in given)
            notes.append(f"{flags} not used: {path} is not a suite2p folder")
        is_nwb = str(path).lower().endswith(".nwb")
        if orientation is not None:
            if is_nwb:
                notes.append(f"--orientation {orientation} not used: NWB series are stored time "
                             "first by the NWB standard")
            else:
                out["orientation"] = orientation
    return out


def _loader_notes(rec):
    """What the loader chose that a reader of the report must know (suite2p folders)."""
    s2p = rec.meta.get("suite2p")
    if not s2p:
        return []
    notes = []
    cells = "; ".join(p["cell_selection"] for p in s2p["planes"])
    n_const_file = s2p.get("n_constant_rois_in_file", 0)
    n_sel_const = s2p["n_constant_dropped"]
    notes.append(f"suite2p: {cells}; {n_const_file} of the {s2p['n_rois']} ROIs in the file are "
                 "constant (all-equal traces), "
                 + (f"{n_sel_const} of them selected and dropped" if n_sel_const
                    else "none of them selected"))
    if s2p.get("frame_rate_hz"):
        notes.append(f"frame rate {s2p['frame_rate_hz']:g} Hz from the suite2p settings")
    else:
        notes.append("frame rate not in the folder (no ops.npy/settings.npy): bin size "
                     f"{rec.bin_size:g} s as given; check it is 1 / frame rate")
    for text in rec.meta.get("notes", []):
        if "no ops.npy" in text and not s2p.get("frame_rate_hz"):
            continue  # said above
        notes.append(f"suite2p: {text}")
    return notes


def _conditions_for(rec, path, spec):
    """Condition labels per sample from --conditions (a file, or a column of NWB trials)."""
    from pathlib import Path

    from .errors import LoaderError
    from .preprocess import read_conditions, trial_conditions

    if spec is None or not isinstance(spec, (str, Path)):
        return spec, None
    p = Path(str(spec))
    if p.is_file():
        return read_conditions(p), f"condition labels from {p}"
    if str(path).lower().endswith(".nwb"):
        labels = trial_conditions(rec, path, str(spec), time_locked=True)
        return labels, (f"conditions: trials column {spec!r} x bin within the trial (stimulus-"
                        "locked means); bins between trials are one more condition")
    raise LoaderError(f"--conditions {spec}: no such file, and {path} is not an NWB file with a "
                      "trials table; give a .npy/.csv/.txt file with one label per time bin.")


#: suite2p's default baseline window (s): its own time scale of slow drift
_SUITE2P_WIN_BASELINE = 60.0


def _is_fluorescence(rec):
    s2p = rec.meta.get("suite2p")
    return bool(s2p) and s2p.get("signal") == "F"


def _auto_kind(kind, rec, notes):
    """``kind`` "auto"/None: correlation for suite2p fluorescence, else covariance."""
    if kind not in (None, "auto"):
        return kind
    if _is_fluorescence(rec):
        notes.append("correlation matrix (--kind auto): the ROIs' fluorescence scales (indicator "
                     "expression, brightness) are arbitrary, and a covariance would fit them; "
                     "--kind covariance to override")
        return "correlation"
    return "covariance"


def _calcium_window_note(rec, window, notes):
    """Fluorescence: a covariance of windows shorter than ~10 indicator decays is not the
    zero-frequency one the theory describes; say so with the numbers."""
    if not _is_fluorescence(rec):
        return
    tau = rec.meta["suite2p"].get("tau")
    tau_text = (f"{tau:g} s (suite2p's 'tau')" if tau else "~1 s (suite2p's default 'tau'; "
                "not in the folder)")
    tau = tau or 1.0
    w = window or rec.bin_size
    if w >= 10 * tau:
        return
    n_win = int(rec.duration // (10 * tau))
    notes.append(
        f"calcium: {'--window ' + format(w, 'g') + ' s is' if window else 'single frames of ' + format(w, 'g') + ' s are'} "
        f"shorter than 10 x the indicator's decay time {tau_text}: neighbouring samples share "
        "calcium and the network's slow fluctuations, so this covariance is not the "
        "zero-frequency one and g_eff can read low; use --window >= "
        f"{10 * tau:g} s (this recording holds {n_win} such windows) and check --ladder")


def _auto_cutoff(detrend, rec, window, notes):
    """``--detrend`` auto/none/SECONDS -> a high-pass cutoff in seconds, or None."""
    if detrend in (None, "none", "off", 0):
        return None
    if detrend != "auto":
        return float(detrend)
    if not _is_fluorescence(rec):
        return None
    s2p = rec.meta["suite2p"]
    base = s2p.get("win_baseline") or _SUITE2P_WIN_BASELINE
    cutoff = max(base, 10 * window) if window else base
    why = (f"suite2p's baseline window {base:g} s" if not window or base >= 10 * window
           else f"10 x the {window:g} s window")
    if cutoff > rec.duration / 4:
        notes.append(f"--detrend auto: no high-pass: the recording ({rec.duration:g} s) is shorter "
                     f"than 4 x {cutoff:g} s ({why}), so slow drift and photobleaching stay in the "
                     "spectrum; give --detrend SECONDS to filter anyway")
        return None
    notes.append(f"--detrend auto: high-pass at {cutoff:g} s ({why}) against photobleaching and "
                 "slow drift; --detrend none to keep them")
    return cutoff


def _preprocess(rec, path, prep, notes, window=None):
    """The default pipeline: constant neurons always dropped; optional drift, conditions, z-score."""
    from .preprocess import preprocess

    labels, text = _conditions_for(rec, path, prep.get("conditions"))
    if text:
        notes.append(text)
    n_before = rec.n_neurons
    _calcium_window_note(rec, window, notes)
    prep["detrend"] = _auto_cutoff(prep.get("detrend"), rec, window, notes)
    rec = preprocess(rec, detrend=prep["detrend"], zscore=bool(prep.get("zscore")),
                     conditions=labels)
    dropped = n_before - rec.n_neurons
    if dropped:
        notes.append(f"dropped {dropped} constant neurons (never fitted)")
    if rec.meta.get("dof_removed"):
        notes.append(f"condition means removed {rec.meta['dof_removed']} of {rec.n_samples} "
                     "degrees of freedom (the effective sample size does not subtract them)")
    return rec


def _check_window_against_cutoff(w, bin_size, cutoff, notes):
    import warnings

    if cutoff is None or not w:
        return
    window = w * bin_size
    if window > cutoff / 10:
        warnings.warn(f"--window {window:g} s is longer than a tenth of the --detrend cutoff "
                      f"{cutoff:g} s: the high-pass filter removes about {min(1, 2 * window / cutoff):.0%} "
                      "of what such windows measure and biases g_eff low; use a longer cutoff or "
                      "shorter windows.", UserWarning, stacklevel=2)


def _n_constant_dropped(rec):
    n = 0
    for step in rec.meta.get("pipeline", []):
        if step.get("step") == "DropConstant":
            n += int(step.get("n_dropped", 0))
    s2p = rec.meta.get("suite2p") or {}
    return n + int(s2p.get("n_constant_dropped", 0))


def _suite2p_summary(rec):
    s2p = rec.meta.get("suite2p")
    if not s2p:
        return None
    keep = ("signal", "n_rois", "n_selected", "n_constant_rois_in_file", "n_constant_dropped",
            "frame_rate_hz", "frame_rate_source", "frames_per_bin")
    out = {k: s2p.get(k) for k in keep}
    out["planes"] = [{k: p.get(k) for k in ("plane", "cell_selection", "neuropil_coefficient",
                                           "neuropil_source", "settings_files")}
                     for p in s2p["planes"]]
    return out


def run_fit(path, *, source=None, bin_size=None, window=None, fraction=None,
            kind="auto", n_boot=200, seed=0, ci=0.9, out=None, figure=True,
            load_options=None, ladder=False, cli=False, orientation=None, cells=None,
            iscell_threshold=None, signal=None, neuropil=None, detrend="auto", zscore=False,
            conditions=None, model="iid", drop_top="auto", control=None, protocol="default",
            checks=True, bootstrap="auto", progress=False, stream="auto"):
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
    kind : {"auto", "correlation", "covariance"}
        ``"auto"``: correlation for suite2p fluorescence (arbitrary ROI brightness), else
        covariance.
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
    orientation : {None, "time_by_neurons", "neurons_by_time", "auto"}
        Layout of an array file (see :func:`neurospec.load`); not used for suite2p folders or NWB.
    cells, iscell_threshold, signal, neuropil
        suite2p folders only (see :func:`neurospec.io.suite2p.load_suite2p`): labelled cells
        only (``cells=True``, the loader's default) or every ROI; a cell-probability threshold;
        ``"F"`` (``F - c*Fneu``) or ``"spks"``; the neuropil coefficient ``c``.
    detrend : "auto", "none", float or None
        High-pass cutoff in seconds (:class:`neurospec.preprocess.HighPass`) against slow drift
        and photobleaching. ``"auto"``: for suite2p fluorescence only, at suite2p's baseline
        window (60 s) or 10 x ``window`` if longer, when the recording is at least 4 cutoffs
        long; otherwise none.
    zscore : bool
        Z-score each neuron (:class:`neurospec.preprocess.ZScore`).
    conditions : str, Path, array_like or DataFrame, optional
        Subtract condition means (noise covariance,
        :class:`neurospec.preprocess.SubtractConditionMeans`): labels per sample, a file of them
        (:func:`neurospec.preprocess.read_conditions`) or, for an NWB input, the name of a
        column of its trials table (stimulus-locked means, :func:`~neurospec.preprocess.trial_conditions`).
    model : {"iid", "reciprocal"}
        Couplings of the fitted model (:class:`~neurospec.GainFit`).
    drop_top : "auto" or int
        Top eigenvalues left out of the fit (:class:`~neurospec.GainFit`).
    control : {None, "shift"}
        Also fit the circular-shift control (:func:`neurospec.diagnostics.control_fit`) and say
        whether the data differ from it (``report["checks"]["control"]``; drawn in spectrum.png).
    protocol : {"default", "hu-sompolinsky"}
        Fit with a published procedure's settings (:func:`neurospec.diagnostics.protocol_params`);
        they replace ``kind``, ``model`` and ``drop_top``.
    checks : bool
        Moment estimate beside the shape fit and split-half stability
        (:func:`neurospec.diagnostics.run_checks`; ``report["checks"]``, split_half.png; above
        2000 neurons the halves are fitted on a random 2000 of them).
    bootstrap : str
        :class:`~neurospec.GainFit` bootstrap (``"auto"``: network).
    stream : bool or "auto"
        Read the recording from disk in chunks (:func:`neurospec.io.open_lazy`) instead of
        loading it: the covariance is accumulated chunk by chunk, so memory is the N x N
        matrices plus one chunk. ``"auto"``: only when loading would not fit in memory.
        Preprocessing (``detrend`` other than auto, ``zscore``, ``conditions``), ``control``,
        ``ladder`` and ``protocol`` need the activity in memory and are refused; the split
        halves read their neurons (at most 2000) from disk.
    progress : bool or "auto"
        Progress bars (on stderr) over the covariance estimate and the bootstrap of the fit
        and its checks; ``"auto"`` (the command line's default) shows them for work expected
        to take more than about 10 s.

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
    prep = {"detrend": detrend, "zscore": zscore, "conditions": conditions, "model": model,
            "drop_top": drop_top, "notes": [], "control": control, "protocol": protocol,
            "checks": checks, "bootstrap": bootstrap, "progress": progress,
            "stream": stream, "ladder": ladder}
    options.update(_input_options(path, prep["notes"], orientation=orientation, cells=cells,
                                  iscell_threshold=iscell_threshold, signal=signal,
                                  neuropil=neuropil))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        report, fit = _run_fit(path, options, window, fraction, kind, n_boot, seed, ci, out,
                               figure, ladder, __version__, prep=prep)
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
             __version__, prep=None):
    prep = prep or {}
    notes = list(prep.get("notes", []))
    rec, lazy = _open_input(path, options, prep, notes)
    try:
        return _fit_and_report(path, options, window, fraction, kind, n_boot, seed, ci, out,
                               figure, ladder, __version__, prep, notes, rec, lazy)
    finally:
        if lazy is not None:
            lazy.close()


def _open_input(path, options, prep, notes):
    """``(recording, None)`` loaded into memory, or ``(lazy, lazy)`` opened on disk
    (``--stream``, or when loading would not fit in memory)."""
    from .errors import InsufficientMemoryError, ParameterError
    from .io import load, open_lazy

    stream = prep.get("stream", "auto")
    if stream is True:
        why = "--stream"
    elif stream == "auto":
        try:
            return load(path, **options), None
        except InsufficientMemoryError as exc:
            why = f"the recording does not fit in memory ({' '.join(str(exc).split()[:12])} ...)"
    else:
        return load(path, **options), None
    asked = [flag for flag, on in (
        ("--detrend", prep.get("detrend") not in (None, "auto", "none", "off", 0)),
        ("--zscore", bool(prep.get("zscore"))), ("--conditions", prep.get("conditions") is not None),
        ("--control", prep.get("control") not in (None, "none")), ("--ladder", prep.get("ladder")),
        ("--protocol", (prep.get("protocol") or "default") != "default")) if on]
    if asked:
        raise ParameterError(
            f"{', '.join(asked)} need{'s' if len(asked) == 1 else ''} the activity in memory, but "
            f"{path} is streamed from disk ({why}). Leave {'it' if len(asked) == 1 else 'them'} "
            "out, or run on a machine with more memory without --stream.")
    from .diagnostics import SPLIT_MAX_N

    notes.append(f"streamed from disk in chunks ({why}): the covariance is accumulated in "
                 "float64 and the fit uses its spectrum; constant neurons are not dropped, the "
                 f"split halves read their neurons (at most {SPLIT_MAX_N}) from disk, and the "
                 "finite-window correction and the autocorrelation of the activity left after "
                 "dropped modes need the activity in memory (not run)")
    lazy = open_lazy(path, **options)
    return lazy, lazy


def _fit_and_report(path, options, window, fraction, kind, n_boot, seed, ci, out, figure,
                    ladder, __version__, prep, notes, rec, lazy):
    from pathlib import Path

    notes += _loader_notes(rec)
    recommended = rec.meta.get("recommended") or {}
    if window is None and isinstance(recommended.get("window"), (int, float)):
        window = float(recommended["window"])
        notes.append(f"window {window:g} s taken from the file's metadata (recommended)")
    kind = _auto_kind(kind, rec, notes)
    if lazy is None:
        rec = _preprocess(rec, path, prep, notes, window)
    w = _window_samples(window, rec.bin_size)
    _check_window_against_cutoff(w, rec.bin_size, prep.get("detrend"), notes)
    from .fit import GainFit

    fit_params = dict(model=prep.get("model") or "iid", drop_top=prep.get("drop_top", "auto"),
                      bootstrap=prep.get("bootstrap") or "auto",
                      progress=prep.get("progress", False))
    protocol = prep.get("protocol") or "default"
    if protocol != "default":  # a published procedure's settings (neurospec.diagnostics)
        from .diagnostics import protocol_params

        fit_params.update(protocol_params(protocol, rec, window=w))
        fit_params.pop("window", None)
        kind = fit_params.pop("kind", kind)
        notes.append(f"--protocol {protocol}: " + ", ".join(
            f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
            for k, v in sorted(fit_params.items())) + f", kind={kind}")
    if lazy is None:
        # the activity itself goes to the fit (not a fitted spectrum), so that it can model
        # the samples' autocorrelation after dropped modes and correct the finite-window bias
        fit = GainFit(fraction=fraction, ci=ci, n_boot=n_boot, random_state=seed, window=w,
                      kind=kind, **fit_params).fit(rec)
        spec = fit.spectrum_
    else:
        from .spectrum import CovarianceSpectrum

        spec = CovarianceSpectrum(kind=kind, window=w, store_covariance=False,
                                  progress=fit_params["progress"]).fit(lazy.data)
        fit = GainFit(fraction=fraction, ci=ci, n_boot=n_boot, random_state=seed,
                      kind=kind, **fit_params).fit(spec)

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
    checks, check_objects = None, {}
    if prep.get("checks", True) or prep.get("control") not in (None, "none"):
        from .diagnostics import run_checks

        shared = dict(fit_params, window=w, kind=kind, fraction=fraction, ci=ci)
        if protocol != "default":
            shared.pop("alpha", None)
        # streamed: the split halves read their neurons (at most SPLIT_MAX_N) from disk
        checks, check_objects = run_checks(
            rec if lazy is None else lazy, fit, control=prep.get("control"),
            split=prep.get("checks", True),
            moment=prep.get("checks", True), random_state=seed, fit_params=shared,
            protocol=None if protocol == "default" else protocol)
    ci_lo, ci_hi = (float(v) for v in fit.g_eff_ci_)  # NaN without a bootstrap (n_boot=0)
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
        "alpha_eff": float(getattr(fit, "alpha_eff_", rec.n_neurons / n_eff)),
        "temporal_model": getattr(fit, "temporal_", None) is not None,
        "window_correction": getattr(fit, "window_correction_", None),
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
        "known_g_eff_in_ci": (None if truth_value is None or not (ci_lo <= ci_hi)
                              else bool(ci_lo <= truth_value <= ci_hi)),
        "window_ladder": ladder_report,
        "protocol": protocol,
        "checks": checks,
        "notes": notes,
        "preprocessing": list(rec.meta.get("preprocessing", [])),
        "pipeline": list(rec.meta.get("pipeline", [])),
        "drop_top": prep.get("drop_top", "auto"),
        "n_constant_dropped": _n_constant_dropped(rec),
        "suite2p": _suite2p_summary(rec),
        "outputs": {},
    }
    if out is not None:
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        if figure:
            from .plotting import spectrum_figure

            fig = spectrum_figure(fit, title=f"{Path(str(path)).name}: {kind} spectrum of "
                                             f"{rec.n_neurons} neurons",
                                  control=check_objects.get("control"))
            fig.savefig(out / "spectrum.png", dpi=150)
            report["outputs"]["figure"] = str(out / "spectrum.png")
            _check_figures(out, report, table if ladder else None, check_objects, fit)
        report["outputs"]["report"] = str(out / "report.json")
    return _finite(report), fit


def _check_figures(out, report, ladder_table, check_objects, fit):
    """ladder.png and split_half.png beside spectrum.png (neurospec.plotting)."""
    from matplotlib.figure import Figure

    from .plotting import ladder_plot, split_half_figure

    if ladder_table is not None:
        fig = Figure(figsize=(5.5, 4.0), layout="constrained")
        ladder_plot(ladder_table, ax=fig.subplots())
        fig.savefig(out / "ladder.png", dpi=150)
        report["outputs"]["ladder_figure"] = str(out / "ladder.png")
    if check_objects.get("split_half") is not None:
        fig = split_half_figure(check_objects["split_half"], full=fit)
        fig.savefig(out / "split_half.png", dpi=150)
        report["outputs"]["split_half_figure"] = str(out / "split_half.png")


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


def _num(value, spec=".3f"):
    """A number for the table, or '-' where the report holds none (NaN became null)."""
    return "-" if value is None else format(value, spec)


def _samples_text(r):
    """Effective samples and the alpha the model used (N/T with the autocorrelation modelled,
    or N/n_eff)."""
    text = f"{r['n_samples_eff']:.1f}"
    a_eff = r.get("alpha_eff")
    if r.get("temporal_model"):
        return (text + f"  (N / n_eff = {a_eff:.3f}; the model uses alpha = N / T = "
                f"{r['alpha']:.3f} with the samples' measured autocorrelation)")
    return text + f"  (alpha = N / n_eff = {r['alpha']:.3f})"


def _g_eff_text(r):
    """The g_eff row: estimate with interval, or a point estimate that says it has none."""
    lo, hi = (r.get("g_eff_ci") or [None, None])[:2]
    context = (f"{r['covariance_kind']}, {r['model']} model"
               + (f", fraction {r['fraction']:g}" if r.get("fraction") else ""))
    if r.get("g_eff") is None:
        return f"- (no estimate; {context})"
    if lo is None or hi is None:
        why = ("--n-boot 0: no bootstrap" if not r.get("n_boot") else "the bootstrap gave none")
        return f"{r['g_eff']:.3f}  point estimate, no interval ({why}; {context})"
    from ._format import stderr_decimals

    f = f".{stderr_decimals(r.get('g_eff_stderr'))}f"
    return (f"{r['g_eff']:{f}}  [{lo:{f}}, {hi:{f}}] {100 * r['ci_level']:.0f}% CI  "
            f"(s.e. {_num(r.get('g_eff_stderr'), f)}; {context})")


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
        ("effective samples", _samples_text(r)),
        ("participation ratio", f"raw {r['participation_ratio']:.2f}, corrected "
                                f"{r['participation_ratio_corrected']:.2f}  (PR/N corrected "
                                f"{r['participation_ratio_corrected'] / r['n_neurons']:.3f})"),
        ("g_eff", _g_eff_text(r)),
    ]
    wc = r.get("window_correction")
    if wc:
        rows.append(("window correction",
                     f"windows are {wc['window_tau']:.3g} tau (tau = {wc['tau_bins']:.3g} bins from "
                     f"the autocorrelation): g read {wc['g_window']:.3f} -> zero frequency "
                     f"{wc['g']:.3f}"))
    rows += [
        ("model comparison", _comparison_text(r)),
        ("dropped top modes", f"{r['n_dropped']}"
                              + (f" (--drop-top {r['drop_top']})" if r.get("drop_top") not in
                                 (None, "auto") else "")),
    ]
    for step in r.get("preprocessing", []):
        rows.append(("preprocessing", str(step)))
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
                             f"{_num(row['g_eff'])} +- {_num(row['stderr'])}"))
        if lad.get("message"):
            rows.append(("", str(lad["message"])))
    from .diagnostics import format_checks

    rows += format_checks(r.get("checks"))
    for note in r.get("notes", []):
        rows.append(("note", note))
    outputs = r.get("outputs") or {}
    if outputs:
        rows.append(("wrote", ", ".join(outputs[k] for k in ("report", "figure", "ladder_figure",
                                                             "split_half_figure")
                                        if k in outputs)))
    width = max(len(k) for k, _ in rows)
    lines += [f"  {k:<{width}}  {v}" for k, v in rows]
    return "\n".join(lines)


def _print_warnings(report):
    for text in report.get("warnings", []):
        print(f"neurospec: warning: {text}", file=sys.stderr)


def _fit_kwargs(args):
    """run_fit keyword arguments from the parsed ``neurospec fit`` options (not out/figure)."""
    cells = getattr(args, "cells", None)
    return dict(
        source=args.source, bin_size=args.bin_size, window=args.window, fraction=args.fraction,
        kind=args.kind, n_boot=args.n_boot, seed=args.seed, ci=args.ci, ladder=args.ladder,
        orientation=getattr(args, "orientation", None),
        cells=None if cells is None else cells == "labelled",
        iscell_threshold=getattr(args, "iscell_threshold", None),
        signal=getattr(args, "signal", None), neuropil=getattr(args, "neuropil", None),
        detrend=getattr(args, "detrend", "auto"), zscore=getattr(args, "zscore", False),
        conditions=getattr(args, "conditions", None), model=getattr(args, "model", "iid"),
        drop_top=getattr(args, "drop_top", "auto"), control=getattr(args, "control", None),
        protocol=getattr(args, "protocol", "default"),
        checks=not getattr(args, "no_checks", False),
        progress=False if getattr(args, "no_progress", False) else "auto",
        stream=True if getattr(args, "stream", False) else "auto",
    )


def _slug(path, taken):
    """A folder name for one recording's outputs in a batch (unique within ``taken``)."""
    import re
    from pathlib import Path

    p = Path(str(path))
    parts = [p.parent.name, p.name] if p.is_dir() and re.fullmatch(r"plane\d+", p.name) else [p.stem]
    base = re.sub(r"[^A-Za-z0-9_.-]+", "_", "_".join(x for x in parts if x)) or "recording"
    name, k = base, 2
    while name in taken:
        name, k = f"{base}_{k}", k + 1
    taken.add(name)
    return name


#: columns of the batch table (summary.csv), in order
BATCH_COLUMNS = [
    "file", "status", "n_neurons", "n_samples", "bin_size_s", "window_s", "covariance_kind",
    "model", "g_eff", "ci_low", "ci_high", "ci_level", "g_eff_stderr", "alpha", "n_samples_eff",
    "participation_ratio", "participation_ratio_corrected", "pr_per_neuron_corrected",
    "cost", "null_cost", "p_value_null", "p_value_model", "n_dropped", "n_constant_dropped",
    "preprocessing", "n_warnings", "report",
]


def _batch_row(path, report=None, error=None):
    row = {c: None for c in BATCH_COLUMNS}
    row["file"] = str(path)
    if error is not None:
        row["status"] = f"error: {' '.join(str(error).split())}"
        return row
    r = report
    row.update({k: r.get(k) for k in BATCH_COLUMNS if k in r})
    row["status"] = "ok"
    lo, hi = (r.get("g_eff_ci") or [None, None])[:2]
    row["ci_low"], row["ci_high"] = lo, hi
    if r.get("participation_ratio_corrected") is not None and r.get("n_neurons"):
        row["pr_per_neuron_corrected"] = r["participation_ratio_corrected"] / r["n_neurons"]
    row["preprocessing"] = " | ".join(str(x) for x in r.get("preprocessing", []))
    row["n_warnings"] = len(r.get("warnings", []))
    row["report"] = (r.get("outputs") or {}).get("report")
    return row


def batch_figure(table):
    """g_eff with its interval for each recording of a batch (matplotlib Figure)."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt
    import numpy as np

    ok = table[table["status"] == "ok"]
    fig, ax = plt.subplots(figsize=(6.5, 0.45 * max(len(table), 2) + 1.2))
    labels = [str(f) for f in table["file"]]
    y = np.arange(len(table))[::-1]
    for yi, (_, row) in zip(y, table.iterrows()):
        if row["status"] != "ok" or row["g_eff"] is None or np.isnan(float(row["g_eff"])):
            ax.text(0.02, yi, "no fit: " + str(row["status"])[:60], va="center", fontsize=7,
                    color="0.4")
            continue
        g = float(row["g_eff"])
        lo, hi = row["ci_low"], row["ci_high"]
        if lo is not None and hi is not None and np.isfinite(float(lo)) and np.isfinite(float(hi)):
            ax.errorbar(g, yi, xerr=[[g - float(lo)], [float(hi) - g]], fmt="o", color="C0",
                        capsize=3)
        else:
            ax.plot(g, yi, "o", mfc="white", color="C0")  # point estimate without interval
    ax.set_yticks(y)
    ax.set_yticklabels([lab if len(lab) < 40 else "..." + lab[-37:] for lab in labels], fontsize=8)
    ax.set_xlim(0, 1)
    ax.set_xlabel(r"$g_\mathrm{eff}$ (interval: bootstrap CI; open circle: no interval)")
    ax.set_title(f"{len(ok)} of {len(table)} recordings fitted")
    fig.tight_layout()
    return fig


def run_batch(paths, *, out="neurospec-out", figure=True, progress=True, **fit_options):
    """``neurospec fit A B C --out DIR``: fit several recordings, one table and one figure.

    Parameters
    ----------
    paths : sequence of str or Path
        Data files or suite2p folders.
    out : str or Path
        Folder: ``DIR/<recording>/report.json`` (and ``spectrum.png``) per recording,
        ``DIR/summary.csv`` (one row per recording, :data:`BATCH_COLUMNS`) and
        ``DIR/summary.png``.
    figure : bool
        Write the figures.
    progress : bool
        A progress bar over recordings (on stderr).
    **fit_options
        Passed to :func:`run_fit` for every recording.

    Returns
    -------
    table : pandas.DataFrame
        One row per recording; a recording that fails gets ``status = "error: ..."`` and the
        batch goes on.
    reports : list of dict or None

    Examples
    --------
    >>> table, _ = run_batch(["a.nwb", "b.npy"], bin_size=0.1, out="results")  # doctest: +SKIP
    """
    from pathlib import Path

    import pandas as pd

    from ._progress import progress_bar

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    rows, reports, taken = [], [], set()
    with progress_bar(total=len(paths), enabled=progress, desc="recordings", unit="rec") as bar:
        for path in paths:
            sub = out / _slug(path, taken)
            try:
                report, _ = run_fit(path, out=sub, figure=figure, cli=True, **fit_options)
            except NeurospecError as exc:
                rows.append(_batch_row(path, error=exc))
                reports.append(None)
            else:
                rows.append(_batch_row(path, report))
                reports.append(report)
            bar.update(1)
    table = pd.DataFrame(rows, columns=BATCH_COLUMNS)
    for col in ("n_neurons", "n_samples", "n_dropped", "n_constant_dropped", "n_warnings"):
        table[col] = table[col].astype("Int64")  # whole numbers, blank where a fit failed
    table.to_csv(out / "summary.csv", index=False)
    if figure:
        import matplotlib.pyplot as plt

        fig = batch_figure(table)
        fig.savefig(out / "summary.png", dpi=150)
        plt.close(fig)
    return table, reports


def format_batch(table, out):
    """The summary ``neurospec fit A B ...`` prints (str)."""
    lines = [f"neurospec fit: {len(table)} recordings"]
    width = max(len(str(f)) for f in table["file"])
    for _, row in table.iterrows():
        if row["status"] != "ok":
            lines.append(f"  {str(row['file']):<{width}}  {row['status']}")
            continue
        g = _g_eff_text({"g_eff": row["g_eff"], "g_eff_ci": [row["ci_low"], row["ci_high"]],
                         "ci_level": row["ci_level"], "g_eff_stderr": row["g_eff_stderr"],
                         "covariance_kind": row["covariance_kind"], "model": row["model"],
                         "n_boot": 1})
        lines.append(f"  {str(row['file']):<{width}}  N = {row['n_neurons']}, g_eff {g}")
    lines.append(f"  wrote {out}/summary.csv, {out}/summary.png and one folder per recording")
    return "\n".join(lines)


def cmd_fit(args) -> int:
    """``neurospec fit PATH [PATH ...]``: estimate the spectrum, fit g_eff, print and save."""
    paths = args.path if isinstance(args.path, (list, tuple)) else [args.path]
    if len(paths) > 1:
        options = _fit_kwargs(args)
        options.pop("progress")  # one bar over the recordings, none inside each
        table, reports = run_batch(paths, out=args.out, figure=not args.no_figure,
                                   progress=not getattr(args, "no_progress", False), **options)
        if args.json:
            print(json.dumps([r for r in reports], indent=2))
        else:
            for path, r in zip(paths, reports):
                for text in (r or {}).get("warnings", []):
                    print(f"neurospec: warning: {path}: {text}", file=sys.stderr)
            print(format_batch(table, args.out))
        return EXIT_OK if (table["status"] == "ok").any() else EXIT_ERROR
    report, _ = run_fit(paths[0], out=args.out, figure=not args.no_figure, cli=True,
                        **_fit_kwargs(args))
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
    p.add_argument("--kind", choices=("auto", "covariance", "correlation"), default="auto",
                   help="covariance (what the theory describes) or correlation matrix "
                        "(re-weights neurons by their variance and biases g_eff up a little; for "
                        "neurons with very different scales). Default auto: correlation for "
                        "suite2p fluorescence (arbitrary ROI brightness), covariance otherwise")
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
    p.add_argument("--control", choices=("none", "shift"), default=None,
                   help="shift: also fit a control with each neuron's time course circularly "
                        "shifted (keeps autocorrelations, removes interactions), draw it in "
                        "spectrum.png and say whether the data differ from it")
    p.add_argument("--protocol", choices=("default", "hu-sompolinsky"), default="default",
                   help="hu-sompolinsky: Hu & Sompolinsky's procedure (correlation matrix, top PC "
                        "dropped, alpha = N/T, mean-normalised CvM) instead of neurospec's "
                        "defaults; replaces --kind, --model and --drop-top")
    p.add_argument("--no-checks", action="store_true",
                   help="skip the moment estimate and the split-half fits (faster)")


def _detrend_arg(text):
    if text in ("auto", "none"):
        return text
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected auto, none or seconds, got {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"the cutoff must be a positive number of seconds, got {text!r}")
    return value


def _drop_top_arg(text):
    if text == "auto":
        return "auto"
    try:
        k = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected 'auto' or a number of modes, got {text!r}") from None
    if k < 0:
        raise argparse.ArgumentTypeError(f"expected 'auto' or a number >= 0, got {text!r}")
    return k


def _add_input_options(p):
    """Options of `neurospec fit` for the input layout, suite2p folders and preprocessing."""
    g = p.add_argument_group("input layout and suite2p folders")
    g.add_argument("--orientation", choices=("time-by-neurons", "neurons-by-time", "auto"),
                   help="layout of an array file: rows are time (default; a file whose first "
                        "axis is much shorter than its second is warned about) or neurons "
                        "(e.g. a suite2p F.npy, ROIs x frames); auto: the longer axis is time")
    g.add_argument("--cells", choices=("labelled", "all"),
                   help="suite2p: ROIs labelled cells in iscell.npy (default) or all ROIs")
    g.add_argument("--iscell-threshold", type=float, metavar="P",
                   help="suite2p: keep ROIs whose cell probability (iscell[:, 1]) is >= P instead "
                        "of the label")
    g.add_argument("--signal", choices=("F", "spks"),
                   help="suite2p: neuropil-corrected fluorescence F - c*Fneu (default) or the "
                        "deconvolved spks")
    g.add_argument("--neuropil", type=float, metavar="C",
                   help="suite2p: neuropil coefficient c (default: from ops.npy / settings.npy, "
                        "else suite2p's 0.7, with a warning); 0 = raw F")
    g = p.add_argument_group("preprocessing (constant neurons are always dropped)")
    g.add_argument("--detrend", type=_detrend_arg, default="auto", metavar="auto|none|SECONDS",
                   help="high-pass filter: remove drift and photobleaching slower than this "
                        "period (zero-phase Butterworth); keep --window well below it. Default "
                        "auto: suite2p fluorescence only, at 60 s (suite2p's baseline window) or "
                        "10 x --window if longer, when the recording is 4 cutoffs long")
    g.add_argument("--zscore", action="store_true",
                   help="z-score each neuron (covariance of z-scores = correlation matrix)")
    g.add_argument("--conditions", metavar="FILE|COLUMN",
                   help="subtract condition means (noise covariance): a .npy/.csv/.txt file with "
                        "one label (or row of labels) per time bin, or the name of a column of "
                        "the NWB file's trials table (means locked to the trial start)")
    g = p.add_argument_group("model")
    g.add_argument("--model", choices=("iid", "reciprocal"), default="iid",
                   help="couplings of the fitted model: iid (default) or with reciprocal "
                        "correlation kappa (fits g_eff and kappa)")
    g.add_argument("--drop-top", type=_drop_top_arg, default="auto", metavar="auto|K",
                   help="top eigenvalues (low-rank or global modes) left out of the fit: auto "
                        "(default: those beyond the bulk's edge) or a number")
    g.add_argument("--stream", action="store_true",
                   help="read the recording from disk in chunks instead of loading it (memory: "
                        "the N x N covariance plus one chunk; automatic when it does not fit); "
                        "no preprocessing, control or ladder; split halves read at most 2000 "
                        "neurons from disk")
    g.add_argument("--no-progress", action="store_true",
                   help="no progress bars (over a batch's recordings, and over the long "
                        "steps of a large recording: covariance, bootstrap)")


def add_fit_parser(subparsers):
    p = subparsers.add_parser(
        "fit",
        help="fit the effective gain g_eff to a recording's covariance spectrum",
        description="Load a recording, estimate its (bias-corrected) covariance eigenvalue "
                    "spectrum, fit the random-network theory's effective gain g_eff with a "
                    "bootstrap interval, compare with the Marchenko-Pastur null, print a summary "
                    "and write DIR/report.json and DIR/spectrum.png.",
    )
    p.add_argument("path", nargs="+",
                   help="data file (.nwb, .npy, .npz, .csv, .h5, .hdf5, .mat) or suite2p folder "
                        "(suite2p/ or suite2p/planeK/); several: a batch with one summary table "
                        "(DIR/summary.csv) and figure")
    p.add_argument("--source", help="NWB: 'units' or the path/name of a TimeSeries "
                                    "(default: auto; see `neurospec info PATH`)")
    p.add_argument("--bin-size", type=float, metavar="SECONDS",
                   help="spike-count bin (NWB units), seconds per row (array files), or seconds "
                        "per frame of a suite2p folder without a frame rate (1 / fs)")
    _add_fit_options(p, "neurospec-out")
    _add_input_options(p)
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
                        figure=not args.no_figure, ladder=args.ladder, cli=True,
                        control=args.control, protocol=args.protocol,
                        checks=not args.no_checks)
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


# ------------------------------------------------------------------ compare
def run_compare(path_a, path_b, *, labels=None, out=None, figure=True, ci=0.9, **fit_options):
    """``neurospec compare A B``: fit two recordings and test the difference of their g_eff.

    Parameters
    ----------
    path_a, path_b : str or Path
        Recordings (anything ``neurospec fit`` reads).
    labels : (str, str), optional
        Names of the conditions (default: the file names).
    out : str or Path, optional
        Folder for ``compare.csv``, ``compare.json`` and ``compare.png``.
    figure : bool
        Write ``compare.png``.
    ci : float
        Interval level.
    **fit_options
        :func:`run_fit` options shared by both fits (``window``, ``kind``, ``n_boot``,
        ``bootstrap``, preprocessing...).

    Returns
    -------
    result : dict
        What ``compare.json`` holds: both fits' reports and the comparison.
    comparison : neurospec.diagnostics.Comparison
    """
    from pathlib import Path

    from .diagnostics import compare

    fit_options.setdefault("checks", False)
    reports, fits = [], []
    for path in (path_a, path_b):
        report, fit = run_fit(path, out=None, figure=False, ci=ci, cli=True, **fit_options)
        reports.append(report)
        fits.append(fit)
    if labels is None:
        labels = [Path(str(p)).name for p in (path_a, path_b)]
        if labels[0] == labels[1]:
            labels = [str(path_a), str(path_b)]
        if labels[0] == labels[1]:  # the same recording twice
            labels = [f"{labels[0]} (A)", f"{labels[1]} (B)"]
    comp = compare(fits[0], fits[1], labels=tuple(labels), ci=ci)
    result = {"comparison": _finite(comp.to_dict()), "fits": reports, "outputs": {}}
    if out is not None:
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        comp.to_frame().to_csv(out / "compare.csv")
        result["outputs"]["table"] = str(out / "compare.csv")
        if figure:
            from .plotting import comparison_figure

            comparison_figure(comp).savefig(out / "compare.png", dpi=150)
            result["outputs"]["figure"] = str(out / "compare.png")
        result["outputs"]["report"] = str(out / "compare.json")
        (out / "compare.json").write_text(json.dumps(result, indent=2) + "\n")
    return result, comp


def format_compare(result):
    """The table ``neurospec compare`` prints (str)."""
    c = result["comparison"]
    rows = []
    for label, g, ci, rep in zip(c["labels"], c["g_eff"], c["ci"], result["fits"]):
        lo, hi = ci
        rows.append((label, f"g_eff {_num(g)}  [{_num(lo)}, {_num(hi)}]  (N = "
                            f"{rep['n_neurons']}, alpha = {_num(rep['alpha'])}, "
                            f"{c['bootstrap'][len(rows)]} bootstrap)"))
    lo, hi = c["difference_ci"]
    rows.append(("difference", f"{_num(c['difference'], '+.3f')}  [{_num(lo, '+.3f')}, "
                               f"{_num(hi, '+.3f')}] {100 * c['ci_level']:.0f}% CI"))
    p, floor = c["p_value"], c["p_floor"]
    ptxt = "-" if p is None else (f"<= {floor:.2g}" if p <= floor * (1 + 1e-9) else f"{p:.2g}")
    rows.append(("p-value", f"{ptxt}  (g_eff equal; from both fits' bootstrap replicates)"))
    rows.append(("verdict", "the two conditions differ" if c["differ"] else
                 "no detectable difference at this level"))
    outputs = result.get("outputs") or {}
    if outputs:
        rows.append(("wrote", ", ".join(outputs[k] for k in ("table", "report", "figure")
                                        if k in outputs)))
    width = max(len(k) for k, _ in rows)
    return "\n".join([f"neurospec compare: {c['labels'][0]} vs {c['labels'][1]}"]
                     + [f"  {k:<{width}}  {v}" for k, v in rows])


def cmd_compare(args) -> int:
    """``neurospec compare A B``: the difference of g_eff between two recordings."""
    kwargs = _fit_kwargs(args)
    kwargs.pop("ladder", None)
    kwargs.update(control=None, protocol=args.protocol, checks=False, bootstrap=args.bootstrap)
    ci = kwargs.pop("ci")
    result, _ = run_compare(args.a, args.b, labels=args.labels, out=args.out,
                            figure=not args.no_figure, ci=ci, **kwargs)
    for label, rep in zip(result["comparison"]["labels"], result["fits"]):
        for text in rep.get("warnings", []):
            print(f"neurospec: warning: {label}: {text}", file=sys.stderr)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(format_compare(result))
    return EXIT_OK


def add_compare_parser(subparsers):
    p = subparsers.add_parser(
        "compare",
        help="does g_eff differ between two recordings (conditions, epochs)?",
        description="Fit two recordings like `neurospec fit` and report the difference of their "
                    "effective gains with its interval and a p-value from both fits' bootstrap "
                    "replicates; write DIR/compare.csv, DIR/compare.json and DIR/compare.png.",
    )
    p.add_argument("a", help="first recording (file or suite2p folder)")
    p.add_argument("b", help="second recording")
    p.add_argument("--labels", nargs=2, metavar=("A", "B"),
                   help="names of the two conditions (default: the file names)")
    p.add_argument("--source", help="NWB: 'units' or the path/name of a TimeSeries")
    p.add_argument("--bin-size", type=float, metavar="SECONDS",
                   help="seconds per row (array files) or spike-count bin (NWB units)")
    p.add_argument("--bootstrap", choices=("auto", "network", "samples"), default="auto",
                   help="network (auto; two networks/animals from one ensemble) or samples (the "
                        "same neurons recorded twice: conditional on the network, more power)")
    _add_fit_options(p, "neurospec-compare")
    _add_input_options(p)
    p.set_defaults(func=cmd_compare)
    return p


#: functions that each add one subcommand; add yours here
SUBCOMMANDS = [add_info_parser, add_fit_parser, add_simulate_parser, add_demo_parser,
               add_compare_parser]


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
