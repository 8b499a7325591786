"""suite2p output folders (``suite2p/`` or ``suite2p/planeK/``) and safe reading of pickled ``.npy``.

suite2p writes one folder per imaging plane with

=============================  ==========================================================
``F.npy``                      fluorescence of each ROI, **ROIs x frames** (float32)
``Fneu.npy``                   neuropil fluorescence around each ROI, ROIs x frames
``spks.npy``                   deconvolved activity, ROIs x frames
``iscell.npy``                 ROIs x 2: label (1 = cell) and the classifier's probability
``ops.npy``                    a pickled dict of settings and outputs (suite2p < 1.0):
                               ``fs`` (frame rate per plane, Hz), ``neucoeff`` (neuropil
                               coefficient), ...
``settings.npy`` / ``db.npy``  the same for suite2p >= 1.0 (``settings['fs']``,
                               ``settings['extraction']['neuropil_coefficient']``)
``stat.npy``                   per-ROI dicts (pixels, centre, ...): not needed here and never
                               read
=============================  ==========================================================

:func:`load_suite2p` turns such a folder into a :class:`~neurospec.Recording` (time x
neurons): labelled cells only, neuropil-corrected fluorescence ``F - c * Fneu`` with ``c``
from the settings (0.7, suite2p's default, when they are absent), or the deconvolved
``spks``; the frame rate from the settings (else ``bin_size`` is required); several planes
side by side; constant ROIs (all-equal traces, which suite2p leaves for ROIs it could not
extract) dropped and counted. Every choice, and every default that stood in for a missing
file, is recorded in ``meta["preprocessing"]`` and ``meta["suite2p"]`` and warned about.

``ops.npy``, ``settings.npy``, ``db.npy`` and ``stat.npy`` are pickles, and
``numpy.load(..., allow_pickle=True)`` runs whatever code a crafted file carries.
:func:`read_npy` reads them with a restricted unpickler that admits only numpy arrays, numpy
scalars, dtypes and builtin containers, and refuses anything else with
:class:`~neurospec.errors.UnsafeFileError` before it can run.
"""

from __future__ import annotations

import importlib
import pickle
import re
import warnings
from pathlib import Path

import numpy as np

from ..errors import (
    BinSizeError,
    DataValueError,
    LoaderError,
    NoDataError,
    ParameterError,
    ShapeError,
    UnsafeFileError,
)
from ..recording import check_bin_size

__all__ = [
    "Suite2pWarning",
    "is_suite2p_folder",
    "plane_folders",
    "read_npy",
    "read_settings",
    "open_suite2p",
    "load_suite2p",
    "describe_suite2p",
    "write_suite2p",
    "SIGNALS",
    "DEFAULT_NEUROPIL",
]

#: signals a suite2p folder offers: neuropil-corrected fluorescence or deconvolved activity
SIGNALS = ("F", "spks")
#: suite2p's default neuropil coefficient (used when the folder has no settings)
DEFAULT_NEUROPIL = 0.7
#: settings files, in the order they are looked for (suite2p < 1.0, then >= 1.0)
SETTINGS_FILES = ("ops.npy", "settings.npy", "db.npy")
#: frame counts of planes may differ by this fraction (the trailing frames are cut)
_PLANE_FRAME_TOLERANCE = 0.01


class Suite2pWarning(UserWarning):
    """A suite2p folder lacks a file and a default stood in for it, or planes were trimmed."""


# ====================================================================== safe pickles
def _numpy_attr(names, attr):
    for mod in names:
        try:
            return getattr(importlib.import_module(mod), attr)
        except (ImportError, AttributeError):
            continue
    return None


def _allowed_globals():
    """{(module, name): object} the restricted unpickler may hand to a pickle."""
    import builtins
    import codecs
    import collections

    core = ("numpy._core.multiarray", "numpy.core.multiarray")
    numeric = ("numpy._core.numeric", "numpy.core.numeric")
    table = {}
    for what, mods in (("_reconstruct", core), ("scalar", core), ("_frombuffer", numeric)):
        obj = _numpy_attr(mods, what)
        if obj is not None:
            for m in mods:
                table[(m, what)] = obj
    table[("numpy", "ndarray")] = np.ndarray
    table[("numpy", "dtype")] = np.dtype
    for name in ("dict", "list", "tuple", "set", "frozenset", "bytearray", "bytes", "str",
                 "int", "float", "complex", "bool", "range", "slice"):
        table[("builtins", name)] = getattr(builtins, name)
        table[("__builtin__", name)] = getattr(builtins, name)  # protocol-2 pickles
    table[("_codecs", "encode")] = codecs.encode  # bytes in protocol-2 pickles
    table[("collections", "OrderedDict")] = collections.OrderedDict
    # numpy >= 1.25 pickles some dtypes by their class (numpy.dtypes.Float64DType, ...)
    try:
        import numpy.dtypes as _dtypes

        for name in dir(_dtypes):
            if name.endswith("DType"):
                table[("numpy.dtypes", name)] = getattr(_dtypes, name)
    except ImportError:  # numpy < 1.25
        pass
    return table


class _RestrictedUnpickler(pickle.Unpickler):
    """Unpickles numpy arrays, numpy scalars, dtypes and builtin containers; nothing else."""

    _table = None

    def __init__(self, file, name):
        super().__init__(file, encoding="latin1")
        self._name = name
        if _RestrictedUnpickler._table is None:
            _RestrictedUnpickler._table = _allowed_globals()

    def find_class(self, module, name):
        obj = self._table.get((module, name))
        if obj is None:
            raise UnsafeFileError(
                f"{self._name}: refused to unpickle the global {module}.{name}: the file holds "
                "Python objects other than numpy arrays, numbers, strings and containers, and "
                "loading them could run code. neurospec reads only those. If you trust the file, "
                "read it yourself with numpy.load(path, allow_pickle=True) and pass what you "
                "need (e.g. bin_size=1/fs, neuropil=<coefficient>)."
            )
        return obj

    def persistent_load(self, pid):
        raise UnsafeFileError(f"{self._name}: refused a pickle with persistent ids ({pid!r}).")


def read_npy(path):
    """Read a ``.npy`` file without ever running code from it.

    Numeric arrays are read with ``allow_pickle=False``; object arrays (pickles such as
    suite2p's ``ops.npy``) with a restricted unpickler that admits only numpy arrays, numpy
    scalars, dtypes and builtin containers (dict, list, tuple, set, str, bytes, numbers).

    Parameters
    ----------
    path : str or Path
        A ``.npy`` file.

    Returns
    -------
    ndarray
        The stored array (for a pickled dict: a 0-d object array; ``.item()`` gives the dict).

    Raises
    ------
    UnsafeFileError
        The pickle refers to anything else (a function, a class): nothing of it has run.
    LoaderError
        The file is not a readable ``.npy`` file.

    Examples
    --------
    >>> import numpy as np, tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "ops.npy"
    >>> np.save(p, {"fs": 30.0, "neucoeff": 0.7})
    >>> read_npy(p).item()["fs"]
    30.0
    """
    from numpy.lib import format as npformat

    path = Path(path)
    name = str(path)
    try:
        f = open(path, "rb")
    except OSError as exc:
        raise LoaderError(f"{name}: cannot open ({exc.strerror or exc}).") from None
    with f:
        try:
            version = npformat.read_magic(f)
            if version == (1, 0):
                shape, fortran, dtype = npformat.read_array_header_1_0(f)
            else:  # 2.0 and 3.0 share the layout (3.0 allows utf-8 in the header)
                shape, fortran, dtype = npformat.read_array_header_2_0(f)
        except (ValueError, OSError, SyntaxError) as exc:
            raise LoaderError(f"{name}: not a readable .npy file ({exc}).") from None
        if not dtype.hasobject:
            f.seek(0)
            try:
                return np.load(f, allow_pickle=False)
            except (ValueError, OSError, EOFError) as exc:
                raise LoaderError(f"{name}: not a readable .npy file ({exc}).") from None
        try:
            obj = _RestrictedUnpickler(f, name).load()
        except UnsafeFileError:
            raise
        except Exception as exc:  # truncated or corrupt pickles raise many types
            raise LoaderError(f"{name}: the pickled content could not be read ({type(exc).__name__}: "
                              f"{exc}).") from None
    if not isinstance(obj, np.ndarray):
        raise LoaderError(f"{name}: holds a pickled {type(obj).__name__}, not a numpy array.")
    return obj


def _as_dict(arr, name):
    obj = arr.item() if arr.ndim == 0 else None
    if not isinstance(obj, dict):
        raise LoaderError(f"{name}: expected a pickled dict (as suite2p saves its settings), got an "
                          f"array of shape {arr.shape} and dtype {arr.dtype}.")
    return obj


def read_settings(folder):
    """The suite2p settings of one plane folder: ``ops.npy``, else ``settings.npy`` / ``db.npy``.

    Parameters
    ----------
    folder : str or Path
        A plane folder (``suite2p/planeK``).

    Returns
    -------
    settings : dict
        The merged dicts (empty when none of the files exists); read with :func:`read_npy`.
    files : list of str
        The files that were read.

    Examples
    --------
    >>> import tempfile, pathlib, numpy as np
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> np.save(d / "ops.npy", {"fs": 15.0})
    >>> read_settings(d)[0]["fs"]
    15.0
    """
    folder = Path(folder)
    merged, files = {}, []
    for fname in SETTINGS_FILES:
        p = folder / fname
        if p.is_file():
            d = _as_dict(read_npy(p), str(p))
            for k, v in d.items():
                merged.setdefault(k, v)
            files.append(fname)
    return merged, files


def _lookup(settings, *paths):
    """First value found along ``paths`` (tuples of keys), also inside nested 'settings'/'ops'."""
    roots = [settings]
    for key in ("settings", "ops"):
        if isinstance(settings.get(key), dict):
            roots.append(settings[key])
    for root in roots:
        for path in paths:
            node = root
            for k in path:
                if not isinstance(node, dict) or k not in node:
                    node = None
                    break
                node = node[k]
            if node is not None:
                return node
    return None


def _number(value):
    try:
        v = float(np.asarray(value).item())
    except (TypeError, ValueError):
        return None
    return v if np.isfinite(v) else None


# ====================================================================== folders
def _has_traces(folder):
    return (folder / "F.npy").is_file() or (folder / "spks.npy").is_file()


def _plane_number(p):
    m = re.fullmatch(r"plane(\d+)", p.name)
    return int(m.group(1)) if m else None


def plane_folders(path):
    """The plane folders of a suite2p output, in plane order.

    Parameters
    ----------
    path : str or Path
        A plane folder (``.../suite2p/plane0``, holding ``F.npy``), a ``suite2p`` folder (holding
        ``plane0``, ``plane1``, ...; the ``combined`` folder is skipped, planes are combined
        here), or the folder above ``suite2p``.

    Returns
    -------
    list of Path
        Empty when the folder is not a suite2p output.

    Examples
    --------
    >>> plane_folders("/nonexistent")
    []
    """
    path = Path(path)
    if not path.is_dir():
        return []
    if _has_traces(path):
        return [path]
    planes = [p for p in path.iterdir() if p.is_dir() and _plane_number(p) is not None
              and _has_traces(p)]
    if planes:
        return sorted(planes, key=_plane_number)
    if (path / "suite2p").is_dir():
        return plane_folders(path / "suite2p")
    return []


def is_suite2p_folder(path):
    """Whether ``path`` is a suite2p output folder that :func:`load_suite2p` can read.

    Examples
    --------
    >>> is_suite2p_folder("/nonexistent")
    False
    """
    return bool(plane_folders(path))


def _load_numeric(path, what):
    try:
        arr = np.load(path, mmap_mode="r", allow_pickle=False)
    except ValueError as exc:
        raise LoaderError(f"{path}: cannot read {what} ({exc}); suite2p saves it as a numeric "
                          ".npy array.") from None
    if arr.dtype.kind not in "biuf":
        raise DataValueError(f"{path}: {what} holds {arr.dtype} values, not numbers.")
    return arr


# ====================================================================== one plane
def _select_cells(plane, n_rois, cells, iscell_threshold, notes, warn):
    """Boolean mask of the ROIs to keep, and a description."""
    p = plane / "iscell.npy"
    if iscell_threshold is not None and not (0.0 <= float(iscell_threshold) <= 1.0):
        raise ParameterError(f"iscell_threshold must be a probability in [0, 1], got "
                             f"{iscell_threshold!r}.")
    if not cells and iscell_threshold is None:
        return np.ones(n_rois, bool), f"all {n_rois} ROIs (cells=False: iscell not used)"
    if not p.is_file():
        if iscell_threshold is not None:
            raise LoaderError(f"{plane}: iscell_threshold={iscell_threshold:g} was given but there "
                              "is no iscell.npy to apply it to; pass cells=False (--cells all) to "
                              "use every ROI.")
        warn(f"{plane}: no iscell.npy, so cells cannot be told from other ROIs: using all "
             f"{n_rois} ROIs. Run suite2p's classifier, or pass cells=False (--cells all) to "
             "silence this warning.")
        notes.append("iscell.npy missing: all ROIs used")
        return np.ones(n_rois, bool), f"all {n_rois} ROIs (no iscell.npy)"
    iscell = np.asarray(_load_numeric(p, "iscell"), dtype=np.float64)
    if iscell.ndim == 1:
        iscell = iscell[:, None]
    if iscell.ndim != 2 or iscell.shape[0] != n_rois:
        raise ShapeError(f"{p}: has shape {iscell.shape} but the traces have {n_rois} ROIs; "
                         "iscell.npy must hold one row (label, probability) per ROI.")
    if iscell_threshold is not None:
        if iscell.shape[1] < 2:
            raise ShapeError(f"{p}: has no probability column (shape {iscell.shape}); "
                             "iscell_threshold needs suite2p's (label, probability) rows.")
        keep = iscell[:, 1] >= float(iscell_threshold)
        return keep, (f"{int(keep.sum())} of {n_rois} ROIs with cell probability >= "
                      f"{float(iscell_threshold):g} (iscell[:, 1])")
    keep = iscell[:, 0] == 1
    return keep, f"{int(keep.sum())} of {n_rois} ROIs labelled cells (iscell[:, 0] == 1)"


def _read_plane(plane, *, signal, neuropil, cells, iscell_threshold, warn, notes):
    """Selected traces of one plane, ROIs x frames float64, with what was done."""
    settings, files = read_settings(plane)
    info = {"folder": str(plane), "settings_files": files}
    if not files:
        notes.append(f"{plane.name}: no {'/'.join(SETTINGS_FILES)}")
    fname = "F.npy" if signal == "F" else "spks.npy"
    main = plane / fname
    if not main.is_file():
        other = "spks" if signal == "F" else "F"
        raise NoDataError(f"{plane}: no {fname}, needed for signal={signal!r}; "
                          + (f"use signal={other!r} (--signal {other})."
                             if (plane / f"{other}.npy").is_file() else "is it a suite2p plane folder?"))
    traces = _load_numeric(main, signal)
    if traces.ndim != 2:
        raise ShapeError(f"{main}: has shape {traces.shape}; suite2p saves ROIs x frames (2-D).")
    n_rois, n_frames = traces.shape
    keep, cell_text = _select_cells(plane, n_rois, cells, iscell_threshold, notes, warn)
    n_const_all = 0
    for r0 in range(0, n_rois, 256):  # constant ROIs in the whole file, for the report
        block = np.asarray(traces[r0:r0 + 256])
        n_const_all += int(np.sum(block.max(axis=1) == block.min(axis=1)))
    info.update(n_rois=int(n_rois), n_frames=int(n_frames), n_selected=int(keep.sum()),
                cell_selection=cell_text, n_constant_rois_in_file=n_const_all)
    idx = np.flatnonzero(keep)
    raw = np.asarray(traces[idx])
    # constant in the file itself: a failed ROI (F all-equal) whose F - c*Fneu would be
    # neuropil only; dropped with the ROIs whose final signal is constant
    const_raw = raw.max(axis=1) == raw.min(axis=1) if raw.size else np.zeros(0, bool)
    coeff = None
    if signal == "F":
        coeff_source = "given"
        if neuropil is None:
            coeff = _number(_lookup(settings, ("neucoeff",), ("extraction", "neuropil_coefficient")))
            coeff_source = f"settings ({', '.join(files)})"
            if coeff is None:
                coeff = DEFAULT_NEUROPIL
                coeff_source = "suite2p's default; not in the folder"
                where = ("has no " + "/".join(SETTINGS_FILES)) if not files else \
                    (f"{', '.join(files)} " + ("hold" if len(files) > 1 else "holds")
                        + " no neuropil coefficient")
                warn(f"{plane}: {where}; using suite2p's default neuropil coefficient "
                     f"{DEFAULT_NEUROPIL:g} (F - {DEFAULT_NEUROPIL:g}*Fneu). Pass neuropil=<c> "
                     "(--neuropil C) to choose it, 0 for raw F.")
        else:
            coeff = float(neuropil)
            if not (np.isfinite(coeff) and coeff >= 0):
                raise ParameterError(f"neuropil coefficient must be a number >= 0, got {neuropil!r}.")
        info.update(neuropil_coefficient=coeff, neuropil_source=coeff_source)
        out = raw.astype(np.float64)
        if coeff > 0:
            pneu = plane / "Fneu.npy"
            if not pneu.is_file():
                raise NoDataError(f"{plane}: no Fneu.npy for the neuropil correction F - {coeff:g}*Fneu; "
                                  "pass neuropil=0 (--neuropil 0) to use raw F, or signal='spks'.")
            fneu = _load_numeric(pneu, "Fneu")
            if fneu.shape != traces.shape:
                raise ShapeError(f"{plane}: F.npy has shape {traces.shape} but Fneu.npy has "
                                 f"{fneu.shape}; they must match (ROIs x frames). Were they written "
                                 "by different suite2p runs?")
            out -= coeff * np.asarray(fneu[idx], dtype=np.float64)
    else:
        out = raw.astype(np.float64)
    fs = _number(_lookup(settings, ("fs",)))
    info["fs"] = fs if fs and fs > 0 else None
    info["win_baseline"] = _number(_lookup(settings, ("win_baseline",),
                                           ("dcnv_preprocess", "win_baseline")))
    info["tau"] = _number(_lookup(settings, ("tau",)))  # the indicator's decay time (s)
    return out, idx, const_raw, info


# ====================================================================== public API
def open_suite2p(path, *, bin_size=None, signal="F", neuropil=None, cells=True,
                 iscell_threshold=None, planes=None, drop_constant=True, time_range=None):
    """Open a suite2p output folder (see :func:`load_suite2p`); returns a ``LazyActivity``.

    Parameters
    ----------
    path : str or Path
        See :func:`load_suite2p`.
    bin_size, signal, neuropil, cells, iscell_threshold, planes, drop_constant, time_range
        See :func:`load_suite2p`.

    Returns
    -------
    LazyActivity
        In memory (suite2p traces are small); ``to_recording()`` gives the Recording.

    Examples
    --------
    >>> with open_suite2p("suite2p/plane0", bin_size=1 / 30) as lazy:   # doctest: +SKIP
    ...     rec = lazy.to_recording()
    """
    from .arrays import LazyActivity, rows_for_time_range

    path = Path(path)
    name = str(path)
    folders = plane_folders(path)
    if not folders:
        raise LoaderError(f"{name}: not a suite2p output folder (no F.npy or spks.npy, no "
                          "planeK/ folders); give a suite2p/ or suite2p/planeK/ folder.")
    if signal not in SIGNALS:
        raise ParameterError(f"signal must be 'F' (neuropil-corrected fluorescence) or 'spks' "
                             f"(deconvolved activity), got {signal!r}.")
    if signal == "spks" and neuropil not in (None, 0, 0.0):
        raise ParameterError("neuropil applies to signal='F' only; suite2p's spks are already "
                             "neuropil-corrected. Leave neuropil unset with signal='spks'.")
    if planes is not None:
        wanted = [int(p) for p in np.atleast_1d(planes)]
        by_number = {(_plane_number(f) if _plane_number(f) is not None else 0): f for f in folders}
        missing = [p for p in wanted if p not in by_number]
        if missing:
            raise LoaderError(f"{name}: no plane {missing}; it holds planes "
                              f"{sorted(by_number)}.")
        folders = [by_number[p] for p in wanted]
    messages = []

    def warn(text):
        messages.append(text)

    steps, notes = [], []
    blocks, ids, plane_info, const_raw = [], [], [], []
    multi = len(folders) > 1
    for k, plane in enumerate(folders):
        out, idx, craw, info = _read_plane(plane, signal=signal, neuropil=neuropil, cells=cells,
                                     iscell_threshold=iscell_threshold, warn=warn, notes=notes)
        pnum = _plane_number(plane)
        pnum = k if pnum is None else pnum
        info["plane"] = pnum
        plane_info.append(info)
        blocks.append(out)
        const_raw.append(craw)
        ids.extend((f"plane{pnum}:{i}" for i in idx) if multi else idx.tolist())
        steps.append(f"{plane.name}: {info['cell_selection']}")
    n_sel = sum(b.shape[0] for b in blocks)
    n_rois = sum(i["n_rois"] for i in plane_info)
    if n_sel == 0:
        hint = ("pass cells=False (--cells all) to use every ROI, or a lower iscell_threshold "
                "(--iscell-threshold P)")
        raise NoDataError(f"{name}: the cell selection is empty (0 of {n_rois} ROIs: "
                          f"{'; '.join(i['cell_selection'] for i in plane_info)}); {hint}.")

    # frame rate
    rates = sorted({round(i["fs"], 9) for i in plane_info if i["fs"]})
    if len(rates) > 1:
        raise DataValueError(f"{name}: the planes have different frame rates {rates} Hz in their "
                             "settings; load them one at a time (planes=[k]).")
    fs = rates[0] if rates else None
    factor = 1
    if fs is None:
        if bin_size is None:
            raise BinSizeError(
                f"{name}: the frame rate is unknown (no ops.npy / settings.npy with 'fs'), so "
                "bin_size is required: give the seconds per frame, 1 / frame rate, e.g. "
                "bin_size=1/30 for 30 Hz imaging (`--bin-size 0.0333`).")
        frame = check_bin_size(bin_size, name)
        fs_source = "bin_size given (no frame rate in the folder)"
    else:
        frame = 1.0 / fs
        fs_source = "settings 'fs'"
        if bin_size is not None:
            b = check_bin_size(bin_size, name)
            factor = int(round(b / frame))
            if factor < 1 or abs(factor * frame - b) > 1e-3 * frame:
                raise BinSizeError(
                    f"{name}: bin_size={b:g} s is not a whole number of frames: the settings give "
                    f"a frame rate of {fs:g} Hz ({frame:g} s per frame). Omit bin_size, or give a "
                    f"multiple of the frame, e.g. {max(factor, 1) * frame:g}.")

    # planes side by side: cut to the shortest
    lengths = [b.shape[1] for b in blocks]
    n_frames = min(lengths)
    if max(lengths) != n_frames:
        if max(lengths) - n_frames > max(2, _PLANE_FRAME_TOLERANCE * max(lengths)):
            raise ShapeError(f"{name}: the planes hold different numbers of frames {lengths}; they "
                             "do not come from one recording. Load them one at a time (planes=[k]).")
        warn(f"{name}: planes hold {lengths} frames; cut to the common {n_frames} frames.")
        steps.append(f"planes cut to their common {n_frames} frames (had {lengths})")
    act = np.concatenate([b[:, :n_frames] for b in blocks], axis=0).T  # time x neurons
    ids = np.asarray(ids, dtype=object if multi else np.int64)
    if signal == "F":
        coeffs = sorted({i["neuropil_coefficient"] for i in plane_info})
        series = ("F" if coeffs == [0.0] else f"F - {'/'.join(f'{c:g}' for c in coeffs)}*Fneu")
        src = {i["neuropil_source"] for i in plane_info}
        steps.append(f"signal {series} (neuropil coefficient: {'; '.join(sorted(src))})")
    else:
        series = "spks"
        steps.append("signal spks (suite2p's deconvolved activity)")
    if multi:
        counts = ", ".join(f"plane{i['plane']} ({i['n_selected']})" for i in plane_info)
        steps.append(f"combined {len(folders)} planes side by side: {counts}")
        if any((f.parent / "combined").is_dir() for f in folders[:1]):
            notes.append("suite2p's combined/ folder was not used: the planes were combined here")

    # constant ROIs
    n_constant = 0
    dropped = []
    if drop_constant:
        const = (np.ptp(act, axis=0) == 0) | np.concatenate(const_raw)
        n_constant = int(const.sum())
        if n_constant:
            dropped = ids[const].tolist()
            if n_constant == act.shape[1]:
                raise NoDataError(f"{name}: every selected ROI is constant (all-equal traces); "
                                  "nothing is left to analyse.")
            act = act[:, ~const]
            ids = ids[~const]
            steps.append(f"dropped {n_constant} constant ROIs (all-equal {signal} traces): "
                         f"{dropped[:20]}{' ...' if n_constant > 20 else ''}")
    if factor > 1:
        n_new = act.shape[0] // factor
        if n_new < 1:
            raise BinSizeError(f"{name}: bin_size is longer than the recording.")
        act = act[:n_new * factor].reshape(n_new, factor, act.shape[1]).mean(axis=1)
        steps.append(f"averaged {factor} frames per bin of {factor * frame:g} s")
    binw = frame * factor
    i0, i1 = rows_for_time_range(act.shape[0], binw, 0.0, time_range, name)
    if time_range is not None:
        act = act[i0:i1]
        steps.append(f"kept bins {i0}..{i1 - 1} (time_range={tuple(time_range)} s)")
    for text in messages:
        warnings.warn(text, Suite2pWarning, stacklevel=3)
    meta = {
        "source": name, "format": "suite2p", "series": series,
        "kind": "rates" if signal == "spks" else "traces",
        "file_meta": None, "preprocessing": steps, "notes": notes,
        "dropped_units": dropped,
        "suite2p": {
            "planes": plane_info, "signal": signal, "n_rois": int(n_rois),
            "n_constant_rois_in_file": int(sum(i["n_constant_rois_in_file"] for i in plane_info)),
            "n_selected": int(n_sel), "n_constant_dropped": n_constant,
            "constant_dropped": dropped, "frame_rate_hz": fs, "frame_rate_source": fs_source,
            "frames_per_bin": factor, "warnings": messages,
            "win_baseline": next((i["win_baseline"] for i in plane_info if i["win_baseline"]),
                                 None),
            "tau": next((i["tau"] for i in plane_info if i["tau"]), None),
        },
    }
    return LazyActivity(np.ascontiguousarray(act), binw, t_start=i0 * binw, unit_ids=ids, meta=meta)


def load_suite2p(path, *, bin_size=None, signal="F", neuropil=None, cells=True,
                 iscell_threshold=None, planes=None, drop_constant=True, time_range=None):
    """Load a suite2p output folder into a :class:`~neurospec.Recording` (time x neurons).

    Parameters
    ----------
    path : str or Path
        ``suite2p/planeK`` (one plane), ``suite2p`` (all its planes, side by side) or the folder
        holding ``suite2p``.
    bin_size : float, optional
        Seconds per bin. Required when the folder has no frame rate (``fs`` in ``ops.npy`` /
        ``settings.npy``); otherwise optional, a whole number of frames (frames are averaged).
    signal : {"F", "spks"}
        ``"F"``: neuropil-corrected fluorescence ``F - c * Fneu``; ``"spks"``: suite2p's
        deconvolved activity.
    neuropil : float, optional
        The coefficient ``c``. Default: ``neucoeff`` (suite2p < 1.0) or
        ``extraction.neuropil_coefficient`` (>= 1.0) from the settings, else 0.7 with a warning.
        ``0`` uses raw F.
    cells : bool
        Keep only ROIs labelled cells (``iscell[:, 0] == 1``; default). ``False`` keeps every ROI.
    iscell_threshold : float, optional
        Keep ROIs whose cell probability ``iscell[:, 1]`` is at least this (instead of the label).
    planes : int or list of int, optional
        Which planes of a multi-plane folder (default all).
    drop_constant : bool
        Drop ROIs whose trace is constant (all-equal; they have no variance to fit) and count
        them in ``meta["suite2p"]["n_constant_dropped"]``.
    time_range : (float, float), optional
        Keep bins whose start lies in ``[t0, t1)`` seconds.

    Returns
    -------
    Recording
        Activity float64 of shape (frames, kept ROIs); ``unit_ids`` are the ROI indices of the
        plane (``"planeK:i"`` for several planes); ``meta["suite2p"]`` records the planes, files,
        cell selection, neuropil coefficient and its source, frame rate and its source, and the
        dropped constant ROIs; ``meta["preprocessing"]`` says it in words.

    Raises
    ------
    BinSizeError
        No frame rate in the folder and no ``bin_size``; or ``bin_size`` not a whole number of
        frames.
    NoDataError
        Empty cell selection, missing ``F.npy``/``Fneu.npy``/``spks.npy``, only constant ROIs.
    ShapeError
        ``F.npy`` and ``Fneu.npy`` (or ``iscell.npy``) that do not match.
    UnsafeFileError
        A settings pickle that holds anything but arrays, numbers, strings and containers.

    Warns
    -----
    Suite2pWarning
        A missing ``iscell.npy`` (all ROIs used) or settings file (default neuropil
        coefficient), or planes cut to a common length.

    Examples
    --------
    >>> import numpy as np, tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp()) / "suite2p" / "plane0"; d.mkdir(parents=True)
    >>> rng = np.random.default_rng(0)
    >>> np.save(d / "F.npy", rng.normal(100, 5, (6, 300)).astype(np.float32))
    >>> np.save(d / "Fneu.npy", rng.normal(50, 2, (6, 300)).astype(np.float32))
    >>> np.save(d / "iscell.npy", np.array([[1, .9], [1, .8], [0, .2], [1, .7], [1, .9], [0, .1]]))
    >>> np.save(d / "ops.npy", {"fs": 30.0, "neucoeff": 0.7})
    >>> rec = load_suite2p(d.parent)
    >>> rec.shape, rec.bin_size == 1 / 30
    ((300, 4), True)
    """
    with open_suite2p(path, bin_size=bin_size, signal=signal, neuropil=neuropil, cells=cells,
                      iscell_threshold=iscell_threshold, planes=planes,
                      drop_constant=drop_constant, time_range=time_range) as lazy:
        return lazy.to_recording()


def describe_suite2p(path):
    """What a suite2p folder holds: planes, files, ROIs, cells, frames, frame rate.

    Parameters
    ----------
    path : str or Path
        As for :func:`load_suite2p`.

    Returns
    -------
    dict
        ``{"path", "format": "suite2p", "planes": [{"folder", "files", "n_rois", "n_frames",
        "n_cells", "fs", "neuropil_coefficient"}], "notes"}``.

    Examples
    --------
    >>> describe_suite2p("suite2p/plane0")["planes"][0]["n_cells"]   # doctest: +SKIP
    20
    """
    folders = plane_folders(path)
    if not folders:
        raise LoaderError(f"{path}: not a suite2p output folder.")
    out = {"path": str(path), "format": "suite2p", "planes": [], "notes": []}
    for plane in folders:
        files = sorted(p.name for p in plane.iterdir() if p.suffix == ".npy")
        entry = {"folder": str(plane), "files": files, "n_rois": None, "n_frames": None,
                 "n_cells": None, "fs": None, "neuropil_coefficient": None}
        main = plane / ("F.npy" if (plane / "F.npy").is_file() else "spks.npy")
        arr = _load_numeric(main, main.stem)
        if arr.ndim == 2:
            entry["n_rois"], entry["n_frames"] = (int(s) for s in arr.shape)
        if (plane / "iscell.npy").is_file():
            ic = np.asarray(_load_numeric(plane / "iscell.npy", "iscell"))
            entry["n_cells"] = int(np.sum((ic[:, 0] if ic.ndim == 2 else ic) == 1))
        try:
            settings, _ = read_settings(plane)
        except LoaderError as exc:  # unsafe or unreadable settings: say so, keep describing
            out["notes"].append(str(exc))
            settings = {}
        entry["fs"] = _number(_lookup(settings, ("fs",)))
        entry["neuropil_coefficient"] = _number(
            _lookup(settings, ("neucoeff",), ("extraction", "neuropil_coefficient")))
        out["planes"].append(entry)
    return out


def write_suite2p(folder, F, *, Fneu=None, spks=None, iscell=None, ops=None):
    """Write a suite2p-style plane folder (for tests, examples and simulated data).

    Parameters
    ----------
    folder : str or Path
        The plane folder to create (e.g. ``out/suite2p/plane0``).
    F : array_like, shape (n_rois, n_frames)
        Fluorescence, **ROIs x frames** as suite2p saves it (stored float32).
    Fneu, spks : array_like, shape (n_rois, n_frames), optional
        Neuropil fluorescence and deconvolved activity.
    iscell : array_like, shape (n_rois, 2) or (n_rois,), optional
        Label (1 = cell) and probability per ROI.
    ops : dict, optional
        Settings saved as ``ops.npy`` (e.g. ``{"fs": 30.0, "neucoeff": 0.7}``).

    Returns
    -------
    Path
        The folder.

    Examples
    --------
    >>> import numpy as np, tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp()) / "suite2p" / "plane0"
    >>> F = np.random.default_rng(0).normal(100, 5, (3, 200))
    >>> write_suite2p(d, F, Fneu=F * 0.5, iscell=np.ones((3, 2)), ops={"fs": 10.0}).name
    'plane0'
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    F = np.asarray(F)
    if F.ndim != 2:
        raise ShapeError(f"write_suite2p: F must be ROIs x frames (2-D), got shape {F.shape}.")
    np.save(folder / "F.npy", F.astype(np.float32))
    for name, arr in (("Fneu", Fneu), ("spks", spks)):
        if arr is not None:
            arr = np.asarray(arr)
            if arr.shape != F.shape:
                raise ShapeError(f"write_suite2p: {name} has shape {arr.shape}, F {F.shape}.")
            np.save(folder / f"{name}.npy", arr.astype(np.float32))
    if iscell is not None:
        ic = np.asarray(iscell, dtype=np.float64)
        if ic.shape[0] != F.shape[0]:
            raise ShapeError(f"write_suite2p: iscell has {ic.shape[0]} rows for {F.shape[0]} ROIs.")
        np.save(folder / "iscell.npy", ic)
    if ops is not None:
        np.save(folder / "ops.npy", dict(ops), allow_pickle=True)
    return folder
