"""NWB files: spike times from the Units table, or any TimeSeries (calcium traces, rates...).

Which data a file offers is chosen with ``source``:

``"auto"`` (default)
    the Units table when it has units; else the single RoiResponseSeries (Fluorescence / DfOverF
    in ``processing/``); else the single usable TimeSeries in ``acquisition/`` or
    ``processing/``; else :class:`~neurospec.errors.AmbiguousSourceError` listing the candidates.
``"units"``
    spike times of the Units table, binned into counts (``bin_size`` required).
a series path or name
    ``"processing/ophys/DfOverF/RoiResponseSeries"``, ``"acquisition/lfp"``, or any unique
    tail of a path such as ``"DfOverF/RoiResponseSeries"`` or ``"lfp"``.

Spike counts are exact: bins are ``[t0 + k*bin_size, t0 + (k+1)*bin_size)`` as in
:meth:`neurospec.Recording.from_spike_times`. Without ``time_range`` the binned range runs
from 0 s (the session start) to the last spike, rounded up to a whole bin, so every spike is
counted. Units with no spikes (in the time range) are dropped with a warning and recorded in
``meta["dropped_units"]`` and ``meta["preprocessing"]`` (``keep_empty=True`` keeps them as zero
columns); when every selected unit is empty :class:`~neurospec.errors.NoDataError` is raised.

Series are read with their own sampling: ``rate`` and ``starting_time``, or ``timestamps``
(regular to within ``timestamp_tolerance`` -> treated as a rate; irregular -> an error, or
linear interpolation onto a regular grid with ``resample=True``). ``bin_size`` for a series
must be a whole multiple ``k`` of its sampling interval; ``k`` consecutive samples are averaged
(summed when the series holds counts written by neurospec). Data are read in chunks of time
rows straight into the float64 output, so loading needs about one output array of memory.
"""

from __future__ import annotations

import json
import math
import sys
import warnings
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from ..errors import (
    AmbiguousSourceError,
    BinSizeError,
    DataValueError,
    LoaderError,
    NoDataError,
    ShapeError,
    SpikeTimesError,
)
from ..recording import ACTIVITY_KINDS, Recording, check_bin_size, validate_spike_times
from ._timing import timestamp_intervals
from .arrays import LazyActivity, TimeMajorView, _plain, resolve_orientation, rows_for_time_range

__all__ = ["NOTES_PREFIX", "open_nwb", "load_nwb", "describe_nwb", "list_sources"]

#: prefix of the JSON metadata that :meth:`neurospec.Recording.to_nwb` writes into ``notes``
NOTES_PREFIX = "neurospec-meta:"

# columns of a Units table that are not per-unit scalars
_RAGGED_UNIT_COLUMNS = {"spike_times", "obs_intervals", "electrodes", "waveforms",
                        "waveform_mean", "waveform_sd", "spike_amplitudes"}


# ====================================================================== opening
def _user_stacklevel():
    """stacklevel for warnings.warn that points at the first caller outside neurospec."""
    package = str(Path(__file__).resolve().parents[1])
    level, frame = 1, sys._getframe(1)
    while frame is not None and frame.f_code.co_filename.startswith(package):
        frame = frame.f_back
        level += 1
    return level


@contextmanager
def _quiet():
    """Silence pynwb/hdmf deprecation and cached-namespace chatter while reading."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        warnings.filterwarnings("ignore", category=FutureWarning)
        warnings.filterwarnings("ignore", message=".*cached namespace.*")
        warnings.filterwarnings("ignore", message=".*does not share an ancestor.*")
        yield


def _open(path):
    """Open an NWB file for reading; returns ``(io, nwbfile)``."""
    import h5py

    name = str(path)
    if not h5py.is_hdf5(name):
        raise LoaderError(
            f"{name}: not a readable NWB/HDF5 file (no HDF5 signature; it may be corrupt, "
            "truncated or another format). Check the path, or re-export the file as NWB 2 (HDF5)."
        )
    from pynwb import NWBHDF5IO

    io = None
    try:
        with _quiet():
            io = NWBHDF5IO(name, mode="r")
            nwb = io.read()
    except Exception as exc:  # pynwb/hdmf raise many types on a damaged or non-NWB file
        if io is not None:
            try:
                io.close()
            except Exception:
                pass
        msg = " ".join(str(exc).split())[:300]
        raise LoaderError(
            f"{name}: not a readable NWB/HDF5 file ({type(exc).__name__}: {msg}). It is HDF5 "
            "but pynwb cannot read it as NWB; if it is a plain HDF5 file, rename it to .h5 and "
            "load it with dataset=..."
        ) from None
    return io, nwb


def _file_meta(nwb, name):
    """The neurospec metadata stored by :meth:`Recording.to_nwb`, or None."""
    notes = getattr(nwb, "notes", None)
    if isinstance(notes, bytes):
        notes = notes.decode("utf-8", "replace")
    if not isinstance(notes, str) or not notes.startswith(NOTES_PREFIX):
        return None
    try:
        meta = json.loads(notes[len(NOTES_PREFIX):])
    except json.JSONDecodeError as exc:
        warnings.warn(f"{name}: notes hold neurospec metadata that is not valid JSON ({exc}); "
                      "ignored.", UserWarning, stacklevel=_user_stacklevel())
        return None
    return meta if isinstance(meta, dict) else None


# ====================================================================== sources
def _iter_series(nwb):
    """``(path, TimeSeries)`` for every TimeSeries in acquisition/ and processing/."""
    from pynwb import TimeSeries

    def visit(prefix, obj):
        if isinstance(obj, TimeSeries):
            yield prefix, obj
            return
        for child in getattr(obj, "children", ()) or ():
            if isinstance(child, TimeSeries):
                yield f"{prefix}/{child.name}", child

    for name, obj in nwb.acquisition.items():
        yield from visit(f"acquisition/{name}", obj)
    for mname, module in nwb.processing.items():
        for iname, obj in module.data_interfaces.items():
            yield from visit(f"processing/{mname}/{iname}", obj)


def _is_ophys(ts):
    from pynwb.ophys import RoiResponseSeries

    return isinstance(ts, RoiResponseSeries)


def _usable(ts):
    """(usable, reason) of a TimeSeries as time x channels activity."""
    data = ts.data
    shape = getattr(data, "shape", None)
    if shape is None:
        try:
            shape = np.shape(data)
        except Exception:
            return False, "data not array-like"
    dtype = getattr(data, "dtype", None)
    if dtype is None or np.dtype(dtype).kind not in "biuf":
        return False, f"non-numeric data ({dtype})"
    if len(shape) not in (1, 2):
        return False, f"{len(shape)}-D data (images?)"
    if shape[0] < 2:
        return False, "fewer than 2 samples"
    return True, ""


def _units_table(nwb):
    units = getattr(nwb, "units", None)
    if units is None or len(units) == 0:
        return None
    return units


def _series_label(spath, ts):
    shape = tuple(getattr(ts.data, "shape", ()))
    rate = f", {ts.rate:g} Hz" if ts.rate is not None else ", timestamps"
    return f"{spath!r} ({ts.neurodata_type}, shape {shape}{rate})"


def list_sources(nwb):
    """Candidate sources of an open NWB file.

    Returns
    -------
    dict
        ``{"units": Units or None, "ophys": [(path, series)], "other": [(path, series)],
        "unusable": [(path, series, reason)]}``
    """
    out = {"units": _units_table(nwb), "ophys": [], "other": [], "unusable": []}
    for spath, ts in _iter_series(nwb):
        ok, reason = _usable(ts)
        if not ok:
            out["unusable"].append((spath, ts, reason))
        elif _is_ophys(ts):
            out["ophys"].append((spath, ts))
        else:
            out["other"].append((spath, ts))
    return out


def _resolve_source(nwb, source, name):
    """Return ``("units", None, note)`` or ``(path, series, note)``."""
    cands = list_sources(nwb)
    all_series = cands["ophys"] + cands["other"]
    listing = "; ".join(_series_label(p, s) for p, s in all_series) or "none"
    if source is None or source == "auto":
        if cands["units"] is not None:
            others = [p for p, _ in all_series]
            note = "source='auto' chose the Units table" + (
                f" (also present: {', '.join(others)}; pick one with source=...)" if others else "")
            return "units", None, note
        for group, what in ((cands["ophys"], "RoiResponseSeries"), (cands["other"], "TimeSeries")):
            if len(group) == 1:
                spath, ts = group[0]
                return spath, ts, f"source='auto' chose the only {what} {spath!r}"
            if len(group) > 1:
                raise AmbiguousSourceError(
                    f"{name}: holds no Units table and several {what} (candidates); choose one with "
                    f"source='<path>': " + "; ".join(_series_label(p, s) for p, s in group)
                    + f". (`neurospec info {name}` describes them.)"
                )
        unusable = "; ".join(f"{p!r} ({r})" for p, _, r in cands["unusable"])
        raise NoDataError(
            f"{name}: holds no Units table and no usable TimeSeries in acquisition/ or "
            f"processing/, so there is no activity to load"
            + (f" (unusable series: {unusable})" if unusable else "")
            + ". Check that this is the right file (`neurospec info` lists what it holds)."
        )
    if not isinstance(source, str):
        raise LoaderError(f"{name}: source must be 'auto', 'units' or a series path, got {source!r}.")
    if source == "units":
        if cands["units"] is None:
            raise NoDataError(
                f"{name}: has no Units table (or it is empty), so source='units' has nothing to "
                f"load. Series in the file: {listing}. Pass one of them as source=..."
            )
        return "units", None, "source='units'"
    key = source.strip("/")
    everything = all_series + [(p, s) for p, s, _ in cands["unusable"]]
    exact = [(p, s) for p, s in everything if p == key]
    matches = exact or [(p, s) for p, s in everything if p.endswith("/" + key)]
    if not matches:
        raise LoaderError(
            f"{name}: no TimeSeries {source!r}; series in the file: {listing}"
            + ("; or source='units' for the Units table" if cands["units"] is not None else "")
            + "."
        )
    if len(matches) > 1:
        raise AmbiguousSourceError(
            f"{name}: source={source!r} matches several series; give the full path: "
            + "; ".join(_series_label(p, s) for p, s in matches)
        )
    spath, ts = matches[0]
    ok, reason = _usable(ts)
    if not ok:
        raise ShapeError(f"{name}: series {spath!r} cannot be read as activity ({reason}).")
    return spath, ts, f"source={source!r}"


# ====================================================================== meta
def _make_meta(name, series, kind, steps, file_meta):
    reserved = {"unit_ids", "bin_size", "preprocessing", "source", "series", "kind", "file_meta",
                "dropped_units", "t_start", "t_stop"}
    meta = {k: v for k, v in (file_meta or {}).items() if k not in reserved}
    history = list((file_meta or {}).get("preprocessing", []) or [])
    meta.update(source=name, series=series, kind=kind, format="nwb",
                preprocessing=history + steps, file_meta=file_meta)
    return meta


# ====================================================================== units
def _spike_index(table, name):
    """(index, values) of the Units spike_times column, checked for consistency."""
    from hdmf.common import VectorIndex

    if "spike_times" not in table.colnames:
        raise NoDataError(
            f"{name}: the Units table has no spike_times column; nothing to bin. Load a "
            "TimeSeries instead with source=..."
        )
    col = table["spike_times"]
    if not isinstance(col, VectorIndex):
        raise SpikeTimesError(
            f"{name}: Units spike_times is not a ragged (indexed) column as NWB requires; the "
            "table is malformed. Re-export the file with pynwb's Units.add_unit(spike_times=...)."
        )
    index = np.asarray(col.data[:])
    values = col.target.data
    n_units = len(table.id)
    n_values = int(values.shape[0]) if len(values.shape) else 0
    ok = index.ndim == 1 and index.size == n_units and len(values.shape) == 1
    if ok and index.size:
        index = index.astype(np.int64)
        ok = index[0] >= 0 and np.all(np.diff(index) >= 0) and index[-1] == n_values
    if not ok:
        raise SpikeTimesError(
            f"{name}: the Units spike_times are ragged inconsistently (index shape "
            f"{np.shape(index)}, last index {index.reshape(-1)[-1] if index.size else None}, "
            f"{n_values} spike times, data shape {tuple(values.shape)}, {n_units} units): each "
            "unit needs one flat run of spike times. The file is malformed; re-export it."
        )
    return index.astype(np.int64), values


def _unit_frame(table, ids):
    """The Units table as a DataFrame (ragged columns excluded), indexed by unit id."""
    with _quiet():
        df = table.to_dataframe(exclude={c for c in table.colnames if c in _RAGGED_UNIT_COLUMNS},
                                index=True)
    df.index = ids
    df.index.name = "id"
    return df


def _select_units(units, ids, table, name):
    """Row positions selected by ``units`` and a description of the selection."""
    n = len(ids)
    lookup = {}
    for i, u in enumerate(ids.tolist()):
        lookup.setdefault(u, i)
        lookup.setdefault(str(u), i)
    avail = f"available ids: {[_plain(u) for u in ids[:20]]}{' ...' if n > 20 else ''}"
    if units is None:
        return np.arange(n), None
    if callable(units):
        import pandas as pd

        df = _unit_frame(table, ids)
        with _quiet():
            df["spike_times"] = list(table["spike_times"][:]) if n else []
        res = units(df)
        if isinstance(res, pd.DataFrame):
            rows = np.array([df.index.get_loc(u) for u in res.index], dtype=int)
        else:
            res = np.asarray(res)
            if res.dtype == bool:
                if res.shape != (n,):
                    raise LoaderError(f"{name}: units= callable returned a mask of shape {res.shape} "
                                      f"for {n} units; return one bool per row of the DataFrame.")
                rows = np.flatnonzero(res)
            else:
                return _select_units(list(res.reshape(-1)), ids, table, name)[0], "callable"
        desc = f"units selected by a callable: {rows.size} of {n}"
    elif isinstance(units, dict):
        df = _unit_frame(table, ids)
        mask = np.ones(n, dtype=bool)
        for col, want in units.items():
            if col == "id":
                values = df.index.to_series()
            elif col in df.columns:
                values = df[col]
            else:
                raise LoaderError(
                    f"{name}: units={units!r} uses column {col!r}, which the Units table lacks; "
                    f"its columns are {['id'] + list(df.columns)}."
                )
            if callable(want):
                m = np.asarray(want(values), dtype=bool)
            elif isinstance(want, (list, tuple, set, frozenset, np.ndarray)):
                m = values.isin(list(want)).to_numpy()
            else:
                m = (values == want).to_numpy()
            mask &= m
        rows = np.flatnonzero(mask)
        desc = f"units selected by {units!r}: {rows.size} of {n}"
    else:
        sel = np.atleast_1d(np.asarray(units, dtype=object if isinstance(units, (list, tuple)) else None))
        if sel.dtype == bool:
            if sel.shape != (n,):
                raise LoaderError(f"{name}: boolean units= mask has shape {sel.shape}; the table "
                                  f"has {n} units.")
            rows = np.flatnonzero(sel)
        else:
            missing = [u for u in sel.tolist() if u not in lookup]
            if missing:
                raise LoaderError(f"{name}: units {missing[:10]} are not in the Units table; {avail}.")
            rows = np.array([lookup[u] for u in sel.tolist()], dtype=int)
        desc = f"units selected by id: {rows.size} of {n}"
    if rows.size == 0:
        raise NoDataError(
            f"{name}: units={units!r} selects no unit; {avail}. Loosen the selection "
            "(`neurospec info` lists the units and their columns)."
        )
    return rows, desc


def _load_units(name, nwb, *, bin_size, units, time_range, keep_empty, file_meta, note):
    table = nwb.units
    index, values = _spike_index(table, name)
    ids = np.asarray(table.id.data[:])
    steps = [note]
    fm = file_meta or {}
    if isinstance(fm.get("unit_ids"), list) and len(fm["unit_ids"]) == len(ids):
        ids = np.asarray(fm["unit_ids"])
    rows, desc = _select_units(units, ids, table, name)
    if desc:
        steps.append(desc)
    all_times = np.asarray(values[:])
    if all_times.dtype.kind not in "biuf":
        raise SpikeTimesError(f"{name}: Units spike_times hold {all_times.dtype} values, not seconds.")
    starts = np.concatenate([[0], index[:-1]])
    sel_ids = ids[rows]
    spikes = validate_spike_times([all_times[starts[r]:index[r]] for r in rows], sel_ids.tolist(),
                                  source=f"{name} [units]")

    # bin size: required, or the one neurospec stored with the file
    if bin_size is None:
        if isinstance(fm.get("bin_size"), (int, float)):
            bin_size = float(fm["bin_size"])
            steps.append(f"bin_size {bin_size:g} s taken from the file's neurospec metadata")
        else:
            raise BinSizeError(
                f"{name}: bin_size is required to bin the Units spike times into counts: give the "
                f"bin width in seconds, e.g. neurospec.load({name!r}, bin_size=0.05) or "
                "`neurospec fit FILE --bin-size 0.05`."
            )
    bin_size = check_bin_size(bin_size, name)

    # time range
    if time_range is not None:
        try:
            t0, t1 = (float(t) for t in time_range)
        except (TypeError, ValueError):
            raise BinSizeError(f"{name}: time_range must be a pair (t0, t1) in seconds, got "
                               f"{time_range!r}.") from None
        if not t1 > t0:
            raise BinSizeError(f"{name}: time_range=({t0:g}, {t1:g}) is empty; need t1 > t0 (seconds).")
        where = f" in time_range=({t0:g}, {t1:g}) s"
    else:
        t0 = float(fm.get("t_start", 0.0)) if isinstance(fm.get("t_start"), (int, float)) else 0.0
        t1 = float(fm["t_stop"]) if isinstance(fm.get("t_stop"), (int, float)) else None
        where = ""
    n_in = np.array([np.count_nonzero((st >= t0) & ((st < t1) if t1 is not None else True))
                     for st in spikes])
    empty = n_in == 0
    if empty.all():
        raise NoDataError(
            f"{name}: none of the {len(spikes)} selected units has spikes{where}; nothing to bin. "
            "Check units=... and time_range=... (`neurospec info` shows each unit's spike times)."
        )
    dropped = []
    if empty.any():
        empty_ids = [_plain(u) for u in sel_ids[empty]]
        if keep_empty:
            steps.append(f"kept {len(empty_ids)} units with no spikes{where} as zero columns: "
                         f"{empty_ids[:20]}")
        else:
            dropped = empty_ids
            msg = (f"dropped {len(dropped)} units with no spikes{where}: {dropped[:20]}"
                   + (" ..." if len(dropped) > 20 else ""))
            steps.append(msg)
            warnings.warn(f"{name}: {msg} (keep_empty=True keeps them as zero columns).",
                          UserWarning, stacklevel=_user_stacklevel())
            keep = ~empty
            spikes = [st for st, k in zip(spikes, keep) if k]
            sel_ids = sel_ids[keep]

    # end of the binned range
    if t1 is None:
        last = max(st[-1] for st in spikes if st.size)
        span = last - t0
        if bin_size > span:
            raise BinSizeError(
                f"{name}: bin_size={bin_size:g} s is longer than the recording (spikes span "
                f"{t0:g}..{last:g} s = {span:g} s); choose a smaller bin_size."
            )
        n_bins = int(math.floor(span / bin_size)) + 1
        while t0 + n_bins * bin_size <= last:  # guard against rounding at a bin edge
            n_bins += 1
        t_stop = t0 + n_bins * bin_size
        steps.append(f"time range {t0:g} s to the last spike ({last:g} s), rounded up to a whole "
                     f"bin ({t_stop:g} s)")
    else:
        span = t1 - t0
        if bin_size > span:
            raise BinSizeError(
                f"{name}: bin_size={bin_size:g} s is longer than the time range {t0:g}..{t1:g} s "
                f"({span:g} s); choose a smaller bin_size or a longer range."
            )
        n_bins = int(math.floor(span / bin_size + 1e-9))
        t_stop = t0 + n_bins * bin_size
        left = t1 - t_stop
        if left > 1e-9 * bin_size:
            n_left = int(sum(np.count_nonzero((st >= t_stop) & (st < t1)) for st in spikes))
            steps.append(f"the last {left:g} s of the time range ({t_stop:g}..{t1:g} s, "
                         f"{n_left} spikes) did not fill a whole bin and were left out")

    meta = _make_meta(name, "units", "counts", steps, file_meta)
    if dropped:
        meta["dropped_units"] = dropped
    return Recording.from_spike_times(spikes, bin_size, unit_ids=sel_ids, t_start=t0,
                                      t_stop=t_stop, meta=meta)


# ====================================================================== series
def _series_unit_ids(ts, n_ch, spath, file_meta):
    if (spath == "acquisition/activity" and file_meta
            and isinstance(file_meta.get("unit_ids"), list) and len(file_meta["unit_ids"]) == n_ch):
        return np.asarray(file_meta["unit_ids"])
    rois = getattr(ts, "rois", None)
    if rois is not None:
        try:
            idx = np.asarray(rois.data[:], dtype=int)
            table_ids = np.asarray(rois.table.id.data[:])
            if idx.size == n_ch:
                return table_ids[idx]
        except Exception:  # a damaged ROI table still leaves the traces usable
            pass
    return np.arange(n_ch)


def _factor(bin_size, dt, sname, rate_text):
    """Whole number of samples per requested bin."""
    bin_size = check_bin_size(bin_size, sname)
    ratio = bin_size / dt
    k = int(round(ratio))
    if ratio < 1 - 1e-6:
        raise BinSizeError(
            f"{sname}: bin_size={bin_size:g} s is shorter than the sampling interval {dt:g} s "
            f"({rate_text}); a series cannot be made finer. Use a multiple of {dt:g} s, or omit "
            "bin_size to keep the native sampling."
        )
    if abs(ratio - k) > 1e-6 * ratio:
        lo, hi = max(int(math.floor(ratio)), 1), int(math.ceil(ratio))
        raise BinSizeError(
            f"{sname}: bin_size={bin_size:g} s is not a whole number of samples (sampling interval "
            f"{dt:g} s, {rate_text}: {ratio:.4g} samples). Choose {lo * dt:g} s ({lo} samples) or "
            f"{hi * dt:g} s ({hi} samples), or omit bin_size to keep the native sampling."
        )
    return k


def _timing(ts, n_time, sname, tol):
    """(dt, start, timestamps-or-None, description) of a series."""
    if ts.rate is not None:
        rate = float(ts.rate)
        if not math.isfinite(rate) or rate <= 0:
            raise DataValueError(f"{sname}: sampling rate {ts.rate!r} Hz is not positive; fix the file.")
        start = float(ts.starting_time or 0.0)
        return 1.0 / rate, start, None, f"{rate:g} Hz"
    if ts.timestamps is None:
        raise DataValueError(f"{sname}: the series has neither a rate nor timestamps; fix the file.")
    times = np.asarray(ts.timestamps[:], dtype=np.float64)
    if times.ndim != 1 or times.size != n_time:
        raise ShapeError(
            f"{sname}: {times.size} timestamps for {n_time} samples along the time axis; NWB "
            "series are time-first. If the data are stored channels x time, pass "
            "orientation='neurons_by_time'."
        )
    dt, mean_dt, dev = timestamp_intervals(times, sname, "the file's timestamps are broken")
    if dev <= tol:
        return mean_dt, float(times[0]), None, f"regular timestamps, {1 / mean_dt:g} Hz"
    return float(np.median(dt)), float(times[0]), times, (
        f"irregular timestamps (intervals {dt.min():g}..{dt.max():g} s, median {np.median(dt):g} s, "
        f"max relative deviation {dev:.2g})"
    )


def _conversion(ts, n_ch, cols, steps):
    """NWB's affine conversion to the series' unit: data * conversion (* channel_conversion) + offset."""
    conv = getattr(ts, "conversion", 1.0)
    conv = 1.0 if conv is None else float(conv)
    off = getattr(ts, "offset", 0.0)
    off = 0.0 if off is None else float(off)
    scale = None
    chan = getattr(ts, "channel_conversion", None)
    if chan is not None:
        chan = np.asarray(chan[:], dtype=np.float64).reshape(-1)
        if chan.size == n_ch:
            scale = conv * (chan if cols is None else chan[cols])
            steps.append(f"applied conversion {conv:g} x per-channel channel_conversion")
    if scale is None and conv != 1.0:
        scale = conv
        steps.append(f"applied conversion factor {conv:g} (to {getattr(ts, 'unit', '?')})")
    if off != 0.0:
        steps.append(f"applied offset {off:g}")
    return scale, (off if off != 0.0 else None)


def _open_series(name, spath, ts, *, bin_size, units, time_range, orientation, resample,
                 timestamp_tolerance, file_meta, note, closers):
    sname = f"{name} [{spath}]"
    data = ts.data
    shape = tuple(int(s) for s in data.shape)
    steps = [note]
    if len(shape) == 1:
        transpose = False
        steps.append(f"1-D series of {shape[0]} samples read as one channel")
    else:
        transpose = resolve_orientation(shape, orientation, sname, steps)
        if transpose:
            steps.append(f"read channels x time data {shape} as time x channels")
    n_time = shape[0] if (len(shape) == 1 or not transpose) else shape[1]
    n_ch = 1 if len(shape) == 1 else (shape[0] if transpose else shape[1])
    ids = _series_unit_ids(ts, n_ch, spath, file_meta)

    cols = None
    if units is not None:
        if callable(units) or isinstance(units, dict):
            raise LoaderError(
                f"{sname}: units= as a column filter or callable applies to the Units table; for "
                "a series give a list of channel/ROI ids."
            )
        sel = np.atleast_1d(np.asarray(units, dtype=object if isinstance(units, (list, tuple)) else None))
        lookup = {}
        for i, u in enumerate(ids.tolist()):
            lookup.setdefault(u, i)
            lookup.setdefault(str(u), i)
        missing = [u for u in sel.tolist() if u not in lookup]
        if missing:
            raise LoaderError(f"{sname}: ids {missing[:10]} are not channels of this series; "
                              f"ids are {[_plain(u) for u in ids[:20]]}.")
        cols = np.array([lookup[u] for u in sel.tolist()], dtype=int)
        steps.append(f"selected {cols.size} of {n_ch} channels by id")
        ids = ids[cols]

    scale, offset = _conversion(ts, n_ch, cols, steps)

    fm = file_meta or {}
    kind = "traces"
    if spath == "acquisition/activity" and fm.get("kind") in ACTIVITY_KINDS:
        kind = fm["kind"]
    reduce = "sum" if kind == "counts" else "mean"

    dt, start, irregular, timing = _timing(ts, n_time, sname, timestamp_tolerance)
    source = data
    if irregular is not None:
        if not resample:
            raise DataValueError(
                f"{sname}: {timing}, above timestamp_tolerance={timestamp_tolerance:g}. neurospec "
                "needs evenly sampled activity: pass resample=True to interpolate linearly onto a "
                "regular grid (of bin_size, or the median interval), or raise timestamp_tolerance."
            )
        grid_dt = dt if bin_size is None else check_bin_size(bin_size, sname)
        n_grid = int(math.floor((irregular[-1] - irregular[0]) / grid_dt + 1e-9)) + 1
        if n_grid < 2:
            raise BinSizeError(f"{sname}: bin_size={grid_dt:g} s is longer than the series "
                               f"({irregular[-1] - irregular[0]:g} s); choose a smaller bin_size.")
        raw = TimeMajorView(data, transpose=transpose, cols=cols, scale=scale,
                            offset=offset).read(name=sname, unit_ids=ids)
        grid = irregular[0] + grid_dt * np.arange(n_grid)
        source = np.empty((n_grid, raw.shape[1]), dtype=np.float64)
        for j in range(raw.shape[1]):
            source[:, j] = np.interp(grid, irregular, raw[:, j])
        del raw
        steps.append(f"resampled {timing} onto a regular {grid_dt:g} s grid by linear "
                     f"interpolation ({n_grid} samples)")
        transpose, cols, dt, factor, scale, offset = False, None, grid_dt, 1, None, None
    else:
        if ts.rate is None:
            steps.append(f"{timing}: treated as evenly sampled")
        factor = 1 if bin_size is None else _factor(bin_size, dt, sname, timing)

    n_rows = source.shape[0] if (source.ndim == 1 or not transpose) else source.shape[1]
    i0, i1 = rows_for_time_range(n_rows, dt, start, time_range, sname)
    if time_range is not None:
        steps.append(f"kept samples {i0}..{i1 - 1} (time_range={tuple(time_range)} s)")
    n_native = i1 - i0
    n_out = n_native // factor
    if n_out < 1:
        raise BinSizeError(
            f"{sname}: bin_size={factor * dt:g} s is longer than the recording "
            f"({n_native * dt:g} s{' in the time range' if time_range is not None else ''}); "
            "choose a smaller bin_size."
        )
    if factor > 1:
        steps.append(f"{'summed' if reduce == 'sum' else 'averaged'} {factor} samples per bin "
                     f"({dt:g} s -> {factor * dt:g} s)")
        if n_native - n_out * factor:
            steps.append(f"dropped {n_native - n_out * factor} trailing samples that did not fill a bin")
    view = TimeMajorView(source, transpose=transpose, rows=(i0, i0 + n_out * factor), cols=cols,
                         factor=factor, reduce=reduce, scale=scale, offset=offset)
    meta = _make_meta(name, spath, kind, steps, file_meta)
    meta["unit"] = getattr(ts, "unit", None)
    meta["sampling_interval"] = dt
    return LazyActivity(view, factor * dt, t_start=start + i0 * dt, unit_ids=ids, meta=meta,
                        closers=closers)


# ====================================================================== public
def open_nwb(path, *, source="auto", bin_size=None, units=None, time_range=None,
             orientation=None, keep_empty=False, resample=False, timestamp_tolerance=1e-3):
    """Open activity in an NWB file without reading it (see :func:`neurospec.io.open_lazy`).

    A TimeSeries stays on disk (``data`` reads rows on demand; the file stays open until
    :meth:`LazyActivity.close`). Units spike times are binned in memory (counts are needed to
    know anything about them), so for ``source="units"`` ``data`` is an ndarray.

    Parameters are those of :func:`load_nwb`.

    Returns
    -------
    LazyActivity
    """
    name = str(path)
    io, nwb = _open(path)
    try:
        file_meta = _file_meta(nwb, name)
        spath, ts, note = _resolve_source(nwb, source, name)
        if spath == "units":
            rec = _load_units(name, nwb, bin_size=bin_size, units=units, time_range=time_range,
                              keep_empty=keep_empty, file_meta=file_meta, note=note)
            lazy = LazyActivity(rec.activity, rec.bin_size, t_start=rec.t_start,
                                unit_ids=rec.unit_ids, meta=rec.meta)
            lazy.spike_times = rec.spike_times
            io.close()
            return lazy
        return _open_series(name, spath, ts, bin_size=bin_size, units=units, time_range=time_range,
                            orientation=orientation, resample=resample,
                            timestamp_tolerance=timestamp_tolerance, file_meta=file_meta,
                            note=note, closers=[io.close])
    except BaseException:
        io.close()
        raise


def load_nwb(path, *, source="auto", bin_size=None, units=None, time_range=None, orientation=None,
             keep_empty=False, resample=False, timestamp_tolerance=1e-3):
    """Load activity from an NWB file into a :class:`~neurospec.Recording`.

    Parameters
    ----------
    path : str or Path
        The ``.nwb`` file.
    source : str
        ``"auto"`` (default), ``"units"``, or a TimeSeries path / unique name (see the module
        docstring for how ``"auto"`` chooses).
    bin_size : float, optional
        Seconds. Units: the bin width for spike counts (required, except for files written by
        neurospec, which store it). Series: a whole multiple of the sampling interval; that
        many samples are averaged per bin (default: native sampling).
    units : list of ids, dict, callable or bool mask, optional
        Units: ids (``table.id``, or the ids neurospec stored), a dict ``{column: value}``
        (a list/set value means "any of", a callable value tests the column), or a callable on
        the units DataFrame (indexed by id, with a ``spike_times`` column) returning a mask, ids
        or a filtered DataFrame. Series: a list of channel/ROI ids.
    time_range : (float, float), optional
        Keep ``[t0, t1)`` seconds. For spikes, whole bins from ``t0``; the leftover is reported
        in ``meta["preprocessing"]``.
    orientation : {None, "time_by_neurons", "neurons_by_time", "auto"}
        Series only: NWB series are time-first; a series that looks transposed raises
        :class:`~neurospec.errors.ShapeError` unless this is given.
    keep_empty : bool
        Units: keep units without spikes as zero columns instead of dropping them.
    resample : bool
        Series with irregular timestamps: interpolate linearly onto a regular grid (of
        ``bin_size``, or the median interval) instead of raising. Needs memory for two copies.
    timestamp_tolerance : float
        Largest relative deviation of timestamp intervals from their mean that still counts as
        evenly sampled.

    Returns
    -------
    Recording
        ``meta`` holds ``source`` (path), ``series`` ("units" or the series path), ``kind``
        ("counts" or "traces"), ``preprocessing`` (everything done, including anything left
        out), ``file_meta`` (neurospec metadata stored in the file, or None), ``dropped_units``
        (when any) and the restored keys of a file written by :meth:`Recording.to_nwb`.
    """
    with open_nwb(path, source=source, bin_size=bin_size, units=units, time_range=time_range,
                  orientation=orientation, keep_empty=keep_empty, resample=resample,
                  timestamp_tolerance=timestamp_tolerance) as lazy:
        return lazy.to_recording()


def describe_nwb(path):
    """What an NWB file holds.

    Returns
    -------
    dict
        ``path``, ``format`` ("nwb"), ``nwb_version``, ``identifier``, ``session_description``,
        ``session_start_time``, ``neurospec_meta`` (or None), ``units`` (None, or a dict with
        ``n_units``, ``n_spikes``, ``t_first``, ``t_last``, ``columns`` and one row per unit in
        ``table``: id, n_spikes, first, last, rate_hz and scalar columns), ``series`` (one dict
        per TimeSeries: path, type, shape, dtype, unit, rate, starting_time, timing, n_samples,
        n_channels, duration, usable, reason, ophys), ``epochs`` (count or None) and
        ``default_source`` (what ``source="auto"`` picks) or ``default_error``.
    """
    import h5py

    name = str(path)
    io, nwb = _open(path)
    try:
        with h5py.File(name, "r") as f:
            version = f.attrs.get("nwb_version")
        version = version.decode() if isinstance(version, bytes) else version
        out = {
            "path": name,
            "format": "nwb",
            "nwb_version": None if version is None else str(version),
            "identifier": str(nwb.identifier),
            "session_description": str(nwb.session_description),
            "session_start_time": str(nwb.session_start_time),
            "neurospec_meta": _file_meta(nwb, name),
            "units": None,
            "series": [],
            "epochs": None,
        }
        table = _units_table(nwb)
        if table is not None:
            out["units"] = _describe_units(table, name)
        for spath, ts in _iter_series(nwb):
            out["series"].append(_describe_series(spath, ts))
        if nwb.epochs is not None:
            out["epochs"] = len(nwb.epochs)
        try:
            spath, _, note = _resolve_source(nwb, "auto", name)
            out["default_source"] = spath
        except LoaderError as exc:
            out["default_source"] = None
            out["default_error"] = str(exc)
        return out
    finally:
        io.close()


def _describe_units(table, name):
    try:
        index, values = _spike_index(table, name)
        times = np.asarray(values[:], dtype=np.float64)
    except SpikeTimesError as exc:
        return {"n_units": len(table.id), "error": str(exc), "table": [], "columns": []}
    ids = np.asarray(table.id.data[:])
    starts = np.concatenate([[0], index[:-1]])
    scalar_cols = {}
    for col in table.colnames:
        if col in _RAGGED_UNIT_COLUMNS:
            continue
        try:
            obj = table[col]
            data = np.asarray(obj.data[:])
        except Exception:
            continue
        if data.ndim != 1 or data.size != ids.size:
            continue
        if data.dtype.kind == "S":
            data = np.char.decode(data, "utf-8", "replace")
        if data.dtype.kind in "biufUO":
            vals = [v.decode("utf-8", "replace") if isinstance(v, bytes) else _plain(v) for v in data]
            if all(isinstance(v, (str, int, float, bool, np.bool_)) for v in vals):
                scalar_cols[col] = vals
    rows = []
    for i, uid in enumerate(ids.tolist()):
        st = times[starts[i]:index[i]]
        row = {"id": uid, "n_spikes": int(st.size),
               "first": float(st.min()) if st.size else None,
               "last": float(st.max()) if st.size else None}
        span = (row["last"] - row["first"]) if st.size > 1 else 0.0
        row["rate_hz"] = (st.size - 1) / span if span > 0 else None
        for col, vals in scalar_cols.items():
            row[col] = vals[i]
        rows.append(row)
    finite = times[np.isfinite(times)]
    return {
        "n_units": int(ids.size),
        "n_spikes": int(times.size),
        "t_first": float(finite.min()) if finite.size else None,
        "t_last": float(finite.max()) if finite.size else None,
        "n_empty": int(sum(r["n_spikes"] == 0 for r in rows)),
        "columns": list(scalar_cols),
        "table": rows,
    }


def _describe_series(spath, ts):
    data = ts.data
    shape = tuple(int(s) for s in getattr(data, "shape", np.shape(data)))
    ok, reason = _usable(ts)
    info = {
        "path": spath,
        "type": ts.neurodata_type,
        "shape": shape,
        "dtype": str(getattr(data, "dtype", "?")),
        "unit": getattr(ts, "unit", None),
        "description": getattr(ts, "description", None),
        "usable": ok,
        "reason": reason,
        "ophys": _is_ophys(ts),
        "rate": None if ts.rate is None else float(ts.rate),
        "starting_time": None,
        "n_samples": shape[0] if shape else 0,
        "n_channels": (shape[1] if len(shape) == 2 else 1) if shape else 0,
        "duration": None,
        "timing": None,
    }
    n = info["n_samples"]
    if ts.rate is not None:
        info["starting_time"] = float(ts.starting_time or 0.0)
        info["duration"] = n / float(ts.rate) if ts.rate else None
        info["timing"] = f"{float(ts.rate):g} Hz"
    elif ts.timestamps is not None:
        t = np.asarray(ts.timestamps[:], dtype=np.float64)
        if t.size:
            info["starting_time"] = float(t[0])
        if t.size > 1:
            dt = np.diff(t)
            mean_dt = (t[-1] - t[0]) / (t.size - 1)
            info["duration"] = float(t[-1] - t[0] + mean_dt)
            regular = mean_dt > 0 and np.max(np.abs(dt - mean_dt)) <= 1e-3 * mean_dt
            info["timing"] = (f"timestamps, regular ({1 / mean_dt:g} Hz)" if regular
                              else f"timestamps, irregular (intervals {dt.min():g}..{dt.max():g} s)")
            if regular:
                info["rate"] = float(1 / mean_dt)
    return info
