"""Read recordings from files into :class:`~neurospec.Recording` (time x neurons).

``load(path, **options)`` dispatches on the file suffix:

========================  =====================================================================
suffix                    options (besides ``bin_size``, ``time_range``, ``orientation``)
========================  =====================================================================
``.nwb``                  ``source`` ("auto" | "units" | series path or name), ``units``
                          (ids, ``{column: value}``, callable), ``keep_empty``, ``resample``,
                          ``timestamp_tolerance`` (see :func:`neurospec.io.nwb.load_nwb`)
``.npy``                  ``t_start``, ``unit_ids`` (memory-mapped, read in chunks)
``.npz``                  ``key`` (which array), ``t_start``, ``unit_ids``
``.csv``                  ``time_column``, ``header``, ``sep``, ``t_start``, ``unit_ids``
``.h5`` / ``.hdf5``       ``dataset`` (path inside the file), ``t_start``, ``unit_ids``
``.mat``                  ``variable``, ``t_start``, ``unit_ids`` (v7.3 files are read with h5py)
suite2p folder            ``signal`` ("F" | "spks"), ``neuropil``, ``cells``, ``iscell_threshold``,
                          ``planes``, ``drop_constant`` (see :func:`neurospec.io.suite2p.load_suite2p`;
                          no ``orientation``: suite2p's ROIs x frames is known)
========================  =====================================================================

``bin_size`` is in seconds. For spike times (NWB Units) it is the bin width of the counts and is
required; for array files it is the sampling interval (seconds per row) and is required; for
NWB series it is optional and must be a whole multiple of the sampling interval.

``open_lazy(path, **options)`` takes the same options and returns a :class:`LazyActivity`
whose ``data`` reads time rows on demand (``data[i0:i1]`` -> float64 ``(rows, n_neurons)``;
``iter_chunks()`` walks the whole recording) — for estimators that stream over recordings
larger than memory. ``describe(path)`` returns what a file holds (a dict) and
``format_description`` renders it as the text ``neurospec info`` prints.
"""

from __future__ import annotations

import inspect
import os
from pathlib import Path

from ..errors import FileFormatError, LoaderError
from .arrays import ARRAY_SUFFIXES, LazyActivity, TimeMajorView, describe_array, open_array
from .suite2p import load_suite2p, read_npy, write_suite2p

__all__ = [
    "SUPPORTED_SUFFIXES",
    "load",
    "open_lazy",
    "describe",
    "format_description",
    "LazyActivity",
    "TimeMajorView",
    "load_suite2p",
    "write_suite2p",
    "read_npy",
]

SUPPORTED_SUFFIXES = (".nwb",) + ARRAY_SUFFIXES


def _check_path(path):
    try:
        p = Path(os.fspath(path)).expanduser()
    except TypeError:
        raise LoaderError(f"expected a file path (str or Path), got {type(path).__name__}.") from None
    if not p.exists():
        raise LoaderError(f"{p}: no such file; check the path (relative paths start at {Path.cwd()}).")
    if p.is_dir():
        from .suite2p import is_suite2p_folder

        if is_suite2p_folder(p):
            return p, "suite2p"
        raise LoaderError(
            f"{p}: is a directory but not a suite2p output (no F.npy / spks.npy, no planeK/ "
            "folders); give the path of a data file inside it, or a suite2p/ or suite2p/planeK/ "
            "folder.")
    suffix = p.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise FileFormatError(
            f"{p}: unknown file type {suffix or '(no suffix)'!r}; neurospec reads "
            f"{', '.join(SUPPORTED_SUFFIXES)}. Convert the data to one of these (e.g. numpy.save "
            "of a time x neurons array), or rename the file if its suffix is wrong."
        )
    return p, suffix


def _opener(suffix):
    if suffix == "suite2p":
        from .suite2p import open_suite2p

        return open_suite2p
    if suffix == ".nwb":
        from .nwb import open_nwb

        return open_nwb
    return open_array


def _check_options(func, options, path, suffix):
    allowed = [n for n, prm in inspect.signature(func).parameters.items()
               if prm.kind == prm.KEYWORD_ONLY]
    if suffix not in (".nwb", "suite2p"):  # array options apply to one suffix each
        per_suffix = {"key": (".npz",), "dataset": (".h5", ".hdf5"), "variable": (".mat",),
                      "time_column": (".csv",), "header": (".csv",), "sep": (".csv",)}
        allowed = [n for n in allowed if suffix in per_suffix.get(n, (suffix,))]
    unknown = sorted(set(options) - set(allowed))
    if suffix == "suite2p" and "orientation" in unknown:
        raise LoaderError(
            f"{path}: orientation does not apply to a suite2p folder: suite2p saves ROIs x "
            "frames and neurospec reads it as such. Leave orientation (--orientation) unset.")
    if unknown:
        raise LoaderError(
            f"{path}: option{'s' if len(unknown) > 1 else ''} {', '.join(unknown)} do not apply to "
            f"{suffix} {'folders' if suffix == 'suite2p' else 'files'}; options for {suffix} "
            f"are: {', '.join(allowed)}."
        )


def open_lazy(path, **options):
    """Open a recording without reading its activity.

    Parameters
    ----------
    path : str or Path
        A file with one of :data:`SUPPORTED_SUFFIXES`.
    **options
        As for :func:`load`.

    Returns
    -------
    LazyActivity
        ``data`` (time x neurons, shape ``(n_samples, n_neurons)``; slicing rows reads them from
        disk as float64), ``bin_size`` (s), ``t_start`` (s), ``unit_ids``, ``meta``,
        ``iter_chunks(chunk_rows=None)``, ``to_recording()`` and ``close()``. Use it as a
        context manager so the file is closed. HDF5/NWB series and ``.npy`` files stay on disk;
        NWB spike times (binned), ``.npz``, ``.csv`` and MATLAB v5 files are in memory.

    Examples
    --------
    Sum a recording's activity chunk by chunk, without holding it in memory:

    >>> import neurospec as ns
    >>> with ns.open_lazy("data_samples/tanh_rates.npy", bin_size=0.1) as lazy:
    ...     total = sum(block.sum(axis=0) for _, block in lazy.iter_chunks(chunk_rows=500))
    ...     print(lazy.shape == (lazy.n_samples, total.size))
    True

    The same for an HDF5 file: ``ns.open_lazy("big.h5", dataset="rates", bin_size=0.01)``.
    """
    p, suffix = _check_path(path)
    func = _opener(suffix)
    _check_options(func, options, p, suffix)
    return func(p, **options)


def load(path, **options):
    """Load a recording from a file into a :class:`~neurospec.Recording`.

    Parameters
    ----------
    path : str or Path
        ``.nwb``, ``.npy``, ``.npz``, ``.csv``, ``.h5``/``.hdf5`` or ``.mat``, or a suite2p
        output folder (``suite2p/`` or ``suite2p/planeK/``).
    bin_size : float
        Seconds. NWB spike times: bin width (required). Arrays: seconds per row (required; a CSV
        ``time_column`` can supply it). NWB series: optional coarser bin, a whole multiple of the
        sampling interval (samples are averaged).
    time_range : (float, float), optional
        Keep ``[t0, t1)`` seconds.
    orientation : {None, "time_by_neurons", "neurons_by_time", "auto"}
        Layout of a stored matrix. Default: time x neurons, and an obviously transposed matrix
        (under 500 rows, thousands of columns) raises :class:`~neurospec.errors.ShapeError`
        instead of being guessed.
    **options
        Per format: see the table in :mod:`neurospec.io`, :func:`neurospec.io.nwb.load_nwb`
        and :func:`neurospec.io.arrays.open_array`.

    Returns
    -------
    Recording
        Activity float64, shape (n_samples, n_neurons); ``meta`` records the source file,
        the series, the kind of activity and every preprocessing step (including anything that
        was left out).

    Raises
    ------
    LoaderError
        Missing or unreadable file, or an option that does not apply to the format.
    FileFormatError
        Unknown suffix.
    NoDataError, AmbiguousSourceError, DataValueError, SpikeTimesError, ShapeError, BinSizeError
        See the messages: each names the input and the fix.

    Examples
    --------
    The bundled sample's spike times, binned into counts of 100 ms:

    >>> import neurospec as ns
    >>> rec = ns.load("data_samples/tanh_spikes.nwb", bin_size=0.1)
    >>> rec.shape, rec.bin_size, rec.meta["kind"]          # time x neurons
    ((3000, 200), 0.1, 'counts')

    An array file, time x neurons, with its sampling interval:

    >>> rates = ns.load("data_samples/tanh_rates.npy", bin_size=0.1)
    >>> rates.n_neurons
    200
    """
    with open_lazy(path, **options) as lazy:
        return lazy.to_recording()


def describe(path):
    """What a file holds, so that you know what to ask :func:`load` for.

    Parameters
    ----------
    path : str or Path
        A file with one of :data:`SUPPORTED_SUFFIXES`, or a suite2p folder.

    Returns
    -------
    dict
        For NWB see :func:`neurospec.io.nwb.describe_nwb` (units with spike counts and time
        span; every TimeSeries with path, shape, rate, duration and unit). For arrays see
        :func:`neurospec.io.arrays.describe_array` (arrays / datasets / variables with shapes).

    Examples
    --------
    >>> import neurospec as ns
    >>> desc = ns.describe("data_samples/tanh_spikes.nwb")
    >>> desc["format"], desc["units"]["n_units"]
    ('nwb', 200)
    """
    p, suffix = _check_path(path)
    if suffix == "suite2p":
        from .suite2p import describe_suite2p

        return describe_suite2p(p)
    if suffix == ".nwb":
        from .nwb import describe_nwb

        return describe_nwb(p)
    return describe_array(p)


def _fmt(x, spec="g"):
    return "-" if x is None else format(x, spec)


def format_description(desc, max_units=50):
    """Render :func:`describe`'s dict as readable text (what ``neurospec info`` prints).

    Parameters
    ----------
    desc : dict
        What :func:`describe` returned.
    max_units : int, default 50
        Rows of the units table shown (the rest are counted).

    Returns
    -------
    str
        Several lines, ending with how to load the file.

    Examples
    --------
    >>> import neurospec as ns
    >>> from neurospec.io import format_description
    >>> text = format_description(ns.describe("data_samples/tanh_spikes.nwb"), max_units=2)
    >>> print(text)                                        # doctest: +ELLIPSIS
    data_samples/tanh_spikes.nwb: NWB file (version ...)
    ...
    Units: 200 units, 2398038 spikes, 0 .. 299.999 s
    ...
    Load with: neurospec.load(path, bin_size=<seconds>)  # source='auto' bins the Units ...
    """
    lines = []
    path = desc["path"]
    if desc["format"] == "suite2p":
        lines.append(f"{path}: suite2p output, {len(desc['planes'])} plane(s)")
        for pl in desc["planes"]:
            fs = pl.get("fs")
            c = pl.get("neuropil_coefficient")
            lines.append(
                f"  {pl['folder']}: {pl['n_rois']} ROIs x {pl['n_frames']} frames, "
                f"{'?' if pl['n_cells'] is None else pl['n_cells']} labelled cells, frame rate "
                f"{'unknown (no ops.npy/settings.npy)' if fs is None else f'{fs:g} Hz'}, "
                f"neuropil coefficient {'not stored (0.7 used)' if c is None else f'{c:g}'}")
            lines.append(f"    files: {', '.join(pl['files'])}")
        for n in desc.get("notes", []):
            lines.append(f"  note: {n}")
        need_bin = any(pl.get("fs") is None for pl in desc["planes"])
        lines.append("Load with: neurospec.load(path" + (", bin_size=<seconds per frame>" if need_bin
                                                        else "") + ")  # cells only, F - c*Fneu")
        return "\n".join(lines)
    if desc["format"] != "nwb":
        lines.append(f"{path}: {desc['format']} file")
        if not desc["arrays"]:
            lines.append("  (no arrays)")
        for a in desc["arrays"]:
            label = a["name"] or "(array)"
            lines.append(f"  {label:<30} shape {a['shape']}  {a['dtype']}")
        for n in desc.get("notes", []):
            lines.append(f"  note: {n}")
        option = {"npz": "key", "h5": "dataset", "hdf5": "dataset", "mat": "variable"}.get(desc["format"])
        lines.append("Load with: neurospec.load(path, bin_size=<seconds per row>"
                     + (f", {option}='<name>'" if option else "")
                     + ")  # rows = time bins, columns = neurons")
        return "\n".join(lines)

    lines.append(f"{path}: NWB file (version {desc.get('nwb_version') or '?'})")
    lines.append(f"  session: {desc.get('session_description')!s}  (start {desc.get('session_start_time')})")
    if desc.get("neurospec_meta"):
        keys = ", ".join(sorted(desc["neurospec_meta"]))
        lines.append(f"  written by neurospec; stored metadata: {keys}")
    units = desc.get("units")
    if units is None:
        lines.append("Units: none")
    elif "error" in units:
        lines.append(f"Units: {units['n_units']} units, unreadable: {units['error']}")
    else:
        lines.append(
            f"Units: {units['n_units']} units, {units['n_spikes']} spikes, "
            f"{_fmt(units['t_first'], '.6g')} .. {_fmt(units['t_last'], '.6g')} s"
            + (f", {units['n_empty']} without spikes" if units["n_empty"] else "")
        )
        cols = units["columns"]
        if cols:
            lines.append(f"  columns: {', '.join(cols)}  (select with units={{'{cols[0]}': ...}})")
        header = f"  {'id':>8} {'spikes':>8} {'first (s)':>11} {'last (s)':>11} {'rate (Hz)':>10}"
        header += "".join(f" {c[:12]:>12}" for c in cols[:6])
        lines.append(header)
        for row in units["table"][:max_units]:
            line = (f"  {row['id']!s:>8} {row['n_spikes']:>8d} {_fmt(row['first'], '11.4f'):>11} "
                    f"{_fmt(row['last'], '11.4f'):>11} {_fmt(row['rate_hz'], '10.3f'):>10}")
            line += "".join(f" {str(row[c])[:12]:>12}" for c in cols[:6])
            lines.append(line)
        if len(units["table"]) > max_units:
            lines.append(f"  ... {len(units['table']) - max_units} more units")
    series = desc.get("series", [])
    if not series:
        lines.append("TimeSeries: none")
    else:
        lines.append(f"TimeSeries: {len(series)}")
        for s in series:
            flag = "" if s["usable"] else f"  [not loadable: {s['reason']}]"
            lines.append(
                f"  {s['path']}  ({s['type']})  shape {s['shape']} (time x channels)  "
                f"{s['timing'] or 'no timing'}  start {_fmt(s['starting_time'], '.6g')} s  "
                f"duration {_fmt(s['duration'], '.6g')} s  unit {s['unit']}{flag}"
            )
    if desc.get("epochs") is not None:
        lines.append(f"Epochs: {desc['epochs']}")
    if desc.get("default_source"):
        src = desc["default_source"]
        if src == "units":
            lines.append("Load with: neurospec.load(path, bin_size=<seconds>)  # source='auto' "
                         "bins the Units spike times into counts")
        else:
            lines.append(f"Load with: neurospec.load(path)  # source='auto' reads {src!r}; "
                         "bin_size=<multiple of its sampling interval> to rebin")
    elif desc.get("default_error"):
        lines.append(f"Load with: source='<path>' (auto cannot choose: {desc['default_error']})")
    return "\n".join(lines)
