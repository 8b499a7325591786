"""The :class:`Recording`: neural activity as a time x neurons array with its provenance.

Every loader and the simulator produce a :class:`Recording`; every estimator accepts one.
Activity is always stored with shape ``(n_samples, n_neurons)`` (time x neurons, the
scikit-learn orientation).
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .errors import BinSizeError, DataValueError, NoDataError, ShapeError, SpikeTimesError

__all__ = ["Recording", "bin_spike_times", "check_bin_size", "validate_spike_times"]

#: kinds of activity; they decide how :meth:`Recording.rebin` combines bins
ACTIVITY_KINDS = ("counts", "rates", "traces")


def check_bin_size(bin_size, name=None):
    """Return ``bin_size`` as a positive finite float (seconds).

    Parameters
    ----------
    bin_size : object
        The value to check.
    name : str, optional
        The input it belongs to (a file, a series), put in front of the message.

    Raises
    ------
    BinSizeError
        If it is not a number, or not positive and finite.
    """
    where = f"{name}: " if name else ""
    try:
        value = float(bin_size)
    except (TypeError, ValueError):
        raise BinSizeError(f"{where}bin_size must be a number of seconds, got {bin_size!r}.") from None
    if not np.isfinite(value) or value <= 0:
        raise BinSizeError(f"{where}bin_size must be a positive number of seconds, got {bin_size!r}.")
    return value


def validate_spike_times(spike_times, unit_ids=None, source="spike_times"):
    """Check and normalise a list of per-unit spike-time arrays.

    Parameters
    ----------
    spike_times : sequence of array_like
        One 1-D array of spike times (seconds) per unit.
    unit_ids : array_like, optional
        Unit identifiers, used in error messages only.
    source : str
        Name of the input, used in error messages.

    Returns
    -------
    list of ndarray
        Sorted float64 arrays, one per unit.

    Raises
    ------
    SpikeTimesError
        If a unit's times are not a flat numeric sequence, are NaN/inf, or negative.
    NoDataError
        If no unit is given.
    """
    if isinstance(spike_times, np.ndarray) and spike_times.dtype != object and spike_times.ndim == 1:
        spike_times = [spike_times]  # a single unit given as one flat array
    try:
        n_units = len(spike_times)
    except TypeError:
        raise SpikeTimesError(
            f"{source}: expected a list with one array of spike times (s) per unit, "
            f"got {type(spike_times).__name__}."
        ) from None
    if n_units == 0:
        raise NoDataError(f"{source}: no units given; pass one array of spike times per unit.")
    ids = list(range(n_units)) if unit_ids is None else list(unit_ids)
    out = []
    for uid, st in zip(ids, spike_times):
        try:
            arr = np.asarray(st, dtype=np.float64)
        except (ValueError, TypeError):
            raise SpikeTimesError(
                f"{source}: spike times of unit {uid!r} are ragged or non-numeric; each unit needs "
                "one flat array of spike times in seconds."
            ) from None
        if arr.ndim != 1:
            raise SpikeTimesError(
                f"{source}: spike times of unit {uid!r} have shape {arr.shape}; each unit needs one "
                "flat (1-D) array of spike times in seconds."
            )
        if arr.size and not np.all(np.isfinite(arr)):
            raise SpikeTimesError(
                f"{source}: spike times of unit {uid!r} contain NaN or inf; remove them before loading."
            )
        if arr.size and arr.min() < 0:
            raise SpikeTimesError(
                f"{source}: unit {uid!r} has negative spike times (min {arr.min():g} s); spike times "
                "are seconds from the session start and must be >= 0. Shift them by the session "
                "start time before loading."
            )
        if arr.size > 1 and np.any(np.diff(arr) < 0):
            arr = np.sort(arr)
        out.append(arr)
    return out


def bin_spike_times(spike_times, bin_size, t_start=0.0, t_stop=None):
    """Count spikes in consecutive bins.

    Parameters
    ----------
    spike_times : list of ndarray
        Sorted spike times (s), one array per unit (see :func:`validate_spike_times`).
    bin_size : float
        Bin width in seconds.
    t_start, t_stop : float
        Time range in seconds; bins are ``[t_start + k*bin_size, t_start + (k+1)*bin_size)``
        and only whole bins are kept. ``t_stop`` defaults to the last spike.

    Returns
    -------
    counts : ndarray of float64, shape (n_bins, n_units)
    """
    if t_stop is None:
        t_stop = max((st[-1] for st in spike_times if st.size), default=t_start)
        t_stop = np.nextafter(t_stop, np.inf)  # the last spike falls inside the range
    duration = t_stop - t_start
    bin_size = check_bin_size(bin_size)
    if duration <= 0:
        raise BinSizeError(
            f"time range [{t_start:g}, {t_stop:g}] s is empty; choose t_stop > t_start."
        )
    n_bins = int(np.floor(duration / bin_size + 1e-9))
    if n_bins < 1:
        raise BinSizeError(
            f"bin_size={bin_size:g} s is longer than the recording ({duration:g} s); "
            "choose a smaller bin size."
        )
    edges = t_start + bin_size * np.arange(n_bins + 1)
    counts = np.empty((n_bins, len(spike_times)), dtype=np.float64)
    for j, st in enumerate(spike_times):
        counts[:, j] = np.diff(np.searchsorted(st, edges, side="left"))
    return counts


@dataclass(eq=False)
class Recording:
    """Neural activity binned in time, with unit ids and provenance.

    Parameters
    ----------
    activity : array_like, shape (n_samples, n_neurons)
        Activity, time x neurons (one row per time bin, one column per neuron). Stored as float64.
    bin_size : float
        Bin width (sampling interval) in seconds.
    unit_ids : array_like, shape (n_neurons,), optional
        Identifier of each neuron; defaults to ``0..n_neurons-1``.
    t_start : float
        Time of the start of the first bin, in seconds.
    meta : dict, optional
        Provenance: ``source`` (file), ``series`` (path inside the file), ``kind``
        (``"counts"``, ``"rates"`` or ``"traces"``), ``preprocessing`` (list of what was done,
        including anything removed), and any other key.
    spike_times : list of ndarray, optional
        Spike times (s) of each unit, kept so that :meth:`to_nwb` can write a Units table.

    Raises
    ------
    ShapeError
        If ``activity`` is not 2-D.
    DataValueError
        If ``activity`` is empty or holds NaN/inf.
    BinSizeError
        If ``bin_size`` is not a positive finite number.

    Examples
    --------
    Spike counts of 50 neurons in 1000 bins of 50 ms, summed into windows of 0.5 s:

    >>> import neurospec as ns
    >>> counts = np.random.default_rng(0).poisson(2.0, size=(1000, 50))   # time x neurons
    >>> rec = ns.Recording(counts, bin_size=0.05, meta={"kind": "counts"})
    >>> rec.shape, rec.duration
    ((1000, 50), 50.0)
    >>> windows = rec.rebin(10)
    >>> windows.shape, windows.bin_size
    ((100, 50), 0.5)
    >>> print(rec.summary())                    # doctest: +ELLIPSIS
    Recording: 1000 samples x 50 neurons (time x neurons)
      bin size  : 0.05 s  (duration 50 s, t_start 0 s)
    ...

    :func:`neurospec.load` returns one from a file.
    """

    activity: np.ndarray
    bin_size: float
    unit_ids: np.ndarray | None = None
    t_start: float = 0.0
    meta: dict = field(default_factory=dict)
    spike_times: list | None = None

    def __post_init__(self):
        source = (self.meta or {}).get("source", "activity")
        act = np.asarray(self.activity)
        if act.ndim != 2:
            raise ShapeError(
                f"{source}: activity must be 2-D (n_samples, n_neurons) = time x neurons, got "
                f"shape {act.shape}. For a single neuron use X[:, None]."
            )
        if act.size == 0:
            raise DataValueError(f"{source}: activity is empty (shape {act.shape}).")
        if not np.issubdtype(act.dtype, np.number) or np.iscomplexobj(act):
            raise DataValueError(f"{source}: activity must be real numbers, got dtype {act.dtype}.")
        act = np.ascontiguousarray(act, dtype=np.float64)
        bad = ~np.isfinite(act)
        if bad.any():
            rows, cols = np.nonzero(bad)
            raise DataValueError(
                f"{source}: activity holds {bad.sum()} NaN/inf values (first at sample {rows[0]}, "
                f"neuron column {cols[0]}). Interpolate or drop those samples/neurons first, e.g. "
                "Recording.select_units(...) or slice_time(...)."
            )
        self.activity = act
        self.bin_size = check_bin_size(self.bin_size)
        if self.unit_ids is None:
            self.unit_ids = np.arange(act.shape[1])
        else:
            self.unit_ids = np.asarray(self.unit_ids)
            if self.unit_ids.shape != (act.shape[1],):
                raise ShapeError(
                    f"{source}: {self.unit_ids.size} unit_ids given for {act.shape[1]} neurons "
                    "(activity columns); give one id per column."
                )
        self.t_start = float(self.t_start)
        self.meta = dict(self.meta or {})
        self.meta.setdefault("preprocessing", [])
        self.meta.setdefault("kind", "traces")
        if self.spike_times is not None and len(self.spike_times) != act.shape[1]:
            raise ShapeError(
                f"{source}: {len(self.spike_times)} spike-time arrays for {act.shape[1]} neurons."
            )

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_spike_times(cls, spike_times, bin_size, unit_ids=None, t_start=0.0, t_stop=None,
                         meta=None):
        """Bin spike times into counts.

        Parameters
        ----------
        spike_times : sequence of array_like
            One array of spike times (s) per unit.
        bin_size : float
            Bin width in seconds.
        unit_ids : array_like, optional
            One id per unit.
        t_start, t_stop : float, optional
            Time range in seconds (default: 0 to just after the last spike). Only whole bins are kept.
        meta : dict, optional
            Provenance to store.

        Returns
        -------
        Recording
            Spike counts per bin, ``meta["kind"] == "counts"``.
        """
        meta = dict(meta or {})
        source = meta.get("source", "spike_times")
        spikes = validate_spike_times(spike_times, unit_ids, source=source)
        if all(st.size == 0 for st in spikes):
            raise NoDataError(f"{source}: every unit is empty (no spikes); nothing to bin.")
        bin_size = check_bin_size(bin_size, source)
        in_range = spikes
        if t_stop is not None:
            in_range = [st[(st >= t_start) & (st < t_stop)] for st in spikes]
        elif t_start:
            in_range = [st[st >= t_start] for st in spikes]
        counts = bin_spike_times(in_range, bin_size, t_start, t_stop)
        meta["kind"] = "counts"
        meta.setdefault("preprocessing", []).append(
            f"binned spike times into {counts.shape[0]} bins of {bin_size:g} s from t = {t_start:g} s"
        )
        return cls(counts, bin_size, unit_ids=unit_ids, t_start=t_start, meta=meta,
                   spike_times=in_range)

    # ------------------------------------------------------------------ properties
    @property
    def n_samples(self):
        """Number of time bins."""
        return self.activity.shape[0]

    @property
    def n_neurons(self):
        """Number of neurons (columns)."""
        return self.activity.shape[1]

    @property
    def shape(self):
        """``(n_samples, n_neurons)``."""
        return self.activity.shape

    @property
    def duration(self):
        """Length of the recording in seconds."""
        return self.n_samples * self.bin_size

    @property
    def times(self):
        """Start time (s) of each bin, shape (n_samples,)."""
        return self.t_start + self.bin_size * np.arange(self.n_samples)

    def __array__(self, dtype=None, copy=None):
        return self.activity if dtype is None else self.activity.astype(dtype)

    def __len__(self):
        return self.n_samples

    def __repr__(self):
        return (f"Recording({self.n_samples} samples x {self.n_neurons} neurons, "
                f"bin_size={self.bin_size:g} s, kind={self.meta.get('kind')!r}, "
                f"source={self.meta.get('source', '<memory>')!r})")

    # ------------------------------------------------------------------ transformations
    def _derive(self, activity, step, **changes):
        meta = copy.deepcopy(self.meta)
        meta["preprocessing"] = list(meta.get("preprocessing", [])) + [step]
        kwargs = dict(activity=activity, bin_size=self.bin_size, unit_ids=self.unit_ids,
                      t_start=self.t_start, meta=meta, spike_times=self.spike_times)
        kwargs.update(changes)
        return Recording(**kwargs)

    def select_units(self, units=None, *, ids=None):
        """Keep a subset of neurons.

        Parameters
        ----------
        units : array_like of int or bool, optional
            Column indices, or a boolean mask of length ``n_neurons``.
        ids : array_like, optional
            Unit ids to keep (alternative to ``units``).

        Returns
        -------
        Recording
        """
        if (units is None) == (ids is None):
            raise ValueError("give exactly one of units (indices or mask) or ids.")
        if ids is not None:
            ids = np.atleast_1d(np.asarray(ids))
            lookup = {u: i for i, u in enumerate(self.unit_ids.tolist())}
            missing = [u for u in ids.tolist() if u not in lookup]
            if missing:
                raise ShapeError(f"unit ids {missing[:5]} are not in this recording; "
                                 f"available ids: {self.unit_ids[:10].tolist()}...")
            idx = np.array([lookup[u] for u in ids.tolist()], dtype=int)
        else:
            idx = np.asarray(units)
            if idx.dtype == bool:
                if idx.shape != (self.n_neurons,):
                    raise ShapeError(f"boolean mask has shape {idx.shape}, expected ({self.n_neurons},).")
                idx = np.flatnonzero(idx)
            idx = np.atleast_1d(idx).astype(int)
            if idx.size and (idx.min() < -self.n_neurons or idx.max() >= self.n_neurons):
                raise ShapeError(f"unit indices out of range for {self.n_neurons} neurons.")
        if idx.size == 0:
            raise NoDataError("selection keeps no neuron; check the indices, mask or ids.")
        spikes = None if self.spike_times is None else [self.spike_times[i] for i in idx]
        return self._derive(self.activity[:, idx], f"selected {idx.size} of {self.n_neurons} units",
                            unit_ids=self.unit_ids[idx], spike_times=spikes)

    def drop_silent(self, min_std=0.0):
        """Remove neurons whose activity is constant (e.g. silent units).

        Parameters
        ----------
        min_std : float
            Neurons with standard deviation ``<= min_std`` are removed.

        Returns
        -------
        Recording
            Without those neurons; the removed unit ids are listed in
            ``meta["dropped_units"]`` and ``meta["preprocessing"]``.
        """
        std = self.activity.std(axis=0)
        keep = std > min_std
        if keep.all():
            return self
        if not keep.any():
            raise NoDataError("every neuron is constant (silent); nothing is left to analyse.")
        dropped = self.unit_ids[~keep].tolist()
        out = self.select_units(keep)
        out.meta["preprocessing"][-1] = (
            f"dropped {len(dropped)} constant/silent units (std <= {min_std:g}): {dropped[:20]}"
            + (" ..." if len(dropped) > 20 else "")
        )
        out.meta["dropped_units"] = list(self.meta.get("dropped_units", [])) + dropped
        return out

    def rebin(self, factor):
        """Merge ``factor`` consecutive bins into one.

        Counts are summed; rates and traces are averaged. Trailing bins that do not fill a
        whole new bin are dropped (and reported in ``meta``).

        Parameters
        ----------
        factor : int
            Number of bins to merge (>= 1).

        Returns
        -------
        Recording
            With ``bin_size * factor``.
        """
        if int(factor) != factor or factor < 1:
            raise BinSizeError(f"rebin factor must be a positive integer, got {factor!r}.")
        factor = int(factor)
        n_new = self.n_samples // factor
        if n_new < 1:
            raise BinSizeError(
                f"rebinning by {factor} needs at least {factor} samples; the recording has "
                f"{self.n_samples}. Choose a smaller factor."
            )
        blocks = self.activity[: n_new * factor].reshape(n_new, factor, self.n_neurons)
        merged = blocks.sum(axis=1) if self.meta.get("kind") == "counts" else blocks.mean(axis=1)
        dropped = self.n_samples - n_new * factor
        step = f"rebinned by {factor} to {self.bin_size * factor:g} s bins"
        if dropped:
            step += f" (dropped {dropped} trailing samples)"
        return self._derive(merged, step, bin_size=self.bin_size * factor)

    def zscore(self):
        """Subtract each neuron's mean and divide by its standard deviation.

        Raises
        ------
        DataValueError
            If a neuron is constant (call :meth:`drop_silent` first).
        """
        std = self.activity.std(axis=0)
        if np.any(std == 0):
            bad = self.unit_ids[std == 0].tolist()
            raise DataValueError(f"cannot z-score constant units {bad[:10]}; call drop_silent() first.")
        z = (self.activity - self.activity.mean(axis=0)) / std
        out = self._derive(z, "z-scored each unit")
        out.meta["kind"] = "traces"
        return out

    def slice_time(self, t0=None, t1=None):
        """Keep the bins whose start time lies in ``[t0, t1)`` (seconds)."""
        times = self.times
        t0 = times[0] if t0 is None else t0
        t1 = times[-1] + self.bin_size if t1 is None else t1
        if t1 <= t0:
            raise BinSizeError(f"empty time slice [{t0:g}, {t1:g}) s; need t1 > t0.")
        keep = (times >= t0 - 1e-9 * self.bin_size) & (times < t1 - 1e-9 * self.bin_size)
        if not keep.any():
            raise NoDataError(
                f"no samples in [{t0:g}, {t1:g}) s; the recording spans "
                f"[{times[0]:g}, {times[-1] + self.bin_size:g}) s."
            )
        idx = np.flatnonzero(keep)
        spikes = None
        if self.spike_times is not None:
            lo, hi = times[idx[0]], times[idx[-1]] + self.bin_size
            spikes = [st[(st >= lo) & (st < hi)] for st in self.spike_times]
        return self._derive(self.activity[idx], f"sliced time to [{t0:g}, {t1:g}) s",
                            t_start=times[idx[0]], spike_times=spikes)

    # ------------------------------------------------------------------ reporting
    def summary(self):
        """A short human-readable description (str)."""
        act = self.activity
        lines = [
            f"Recording: {self.n_samples} samples x {self.n_neurons} neurons (time x neurons)",
            f"  bin size  : {self.bin_size:g} s  (duration {self.duration:g} s, t_start {self.t_start:g} s)",
            f"  kind      : {self.meta.get('kind')}",
            f"  source    : {self.meta.get('source', '<memory>')}"
            + (f" [{self.meta['series']}]" if self.meta.get("series") else ""),
            f"  activity  : mean {act.mean():.4g}, std {act.std():.4g}, "
            f"min {act.min():.4g}, max {act.max():.4g}",
        ]
        n_const = int(np.sum(act.std(axis=0) == 0))
        if n_const:
            lines.append(f"  warning   : {n_const} constant units (drop_silent() removes them)")
        for step in self.meta.get("preprocessing", []):
            lines.append(f"  applied   : {step}")
        return "\n".join(lines)

    # ------------------------------------------------------------------ NWB export
    def to_nwb(self, path, *, session_description=None, identifier=None, overwrite=False):
        """Write the recording to an NWB file.

        Spike trains (``spike_times`` present) are written as a Units table; otherwise the
        activity is written as a TimeSeries ``acquisition/activity`` with its sampling rate.
        ``meta`` and the unit ids are stored as JSON in the file's ``notes`` so that
        :func:`neurospec.io.load` restores them.

        Parameters
        ----------
        path : str or Path
            Output ``.nwb`` file.
        session_description, identifier : str, optional
        overwrite : bool
            Replace an existing file.

        Returns
        -------
        Path
        """
        from datetime import datetime, timezone
        from uuid import uuid4

        from pynwb import NWBHDF5IO, NWBFile, TimeSeries

        path = Path(path)
        if path.exists() and not overwrite:
            raise FileExistsError(f"{path} exists; pass overwrite=True to replace it.")
        meta = _jsonable(self.meta)
        meta["unit_ids"] = _jsonable(self.unit_ids.tolist())
        meta["bin_size"] = self.bin_size
        meta["t_start"] = self.t_start
        meta["t_stop"] = self.t_start + self.duration
        nwb = NWBFile(
            session_description=session_description or meta.get("description", "neurospec recording"),
            identifier=identifier or str(uuid4()),
            session_start_time=datetime.now(timezone.utc),
            notes="neurospec-meta:" + json.dumps(meta),
        )
        if self.spike_times is not None:
            # Whole columns at once: add_unit() per unit converts every spike time through
            # Python and takes seconds for a million spikes.
            from hdmf.common import VectorData, VectorIndex
            from pynwb.misc import Units

            trains = [np.asarray(st, dtype=np.float64) for st in self.spike_times]
            spike_times = VectorData(name="spike_times", description="spike times (s)",
                                     data=np.concatenate(trains) if trains else np.empty(0))
            nwb.units = Units(name="units", description="spike trains written by neurospec",
                              id=list(range(len(trains))), columns=[
                spike_times,
                VectorIndex(name="spike_times_index", target=spike_times,
                            data=np.cumsum([st.size for st in trains])),
                VectorData(name="unit_name", description="neurospec unit id",
                           data=[str(u) for u in self.unit_ids.tolist()]),
            ])
        else:
            nwb.add_acquisition(TimeSeries(
                name="activity",
                data=self.activity,
                unit=str(self.meta.get("unit", "a.u.")),
                rate=1.0 / self.bin_size,
                starting_time=self.t_start,
                description="neurospec activity, time x neurons",
            ))
        with NWBHDF5IO(str(path), "w") as io:
            io.write(nwb)
        return path


def _jsonable(obj):
    """Turn numpy scalars/arrays inside ``obj`` into plain Python for JSON."""
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return _jsonable(obj.tolist())
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, (str, int, float, bool)) or obj is None:
        return obj
    return str(obj)
