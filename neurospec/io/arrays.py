"""Array files (``.npy``, ``.npz``, ``.csv``, ``.h5``/``.hdf5``, ``.mat``) and lazy, chunked reading.

An array file holds activity only; the sampling interval is not stored in it, so every
loader here needs ``bin_size`` (seconds per row). Activity is laid out time x neurons
(one row per time bin, one column per neuron). Use ``orientation="neurons_by_time"`` for
arrays stored the other way round: the default refuses an array that is obviously
transposed rather than guess.

This module also holds the machinery shared with :mod:`neurospec.io.nwb`:
:class:`TimeMajorView` (a lazy time x neurons window on an HDF5 dataset, a memory map or an
in-memory array, read chunk by chunk so that loading costs about one output array of memory)
and :class:`LazyActivity` (what :func:`neurospec.io.open_lazy` returns).
"""

from __future__ import annotations

import copy
import math
import mmap
import re
from pathlib import Path

import numpy as np

from ..errors import (
    AmbiguousSourceError,
    BinSizeError,
    DataValueError,
    FileFormatError,
    LoaderError,
    NoDataError,
    ShapeError,
)
from ..recording import Recording, check_bin_size
from ._timing import timestamp_intervals

__all__ = [
    "ARRAY_SUFFIXES",
    "TimeMajorView",
    "LazyActivity",
    "open_array",
    "load_array",
    "describe_array",
    "OrientationWarning",
]

ARRAY_SUFFIXES = (".npy", ".npz", ".csv", ".h5", ".hdf5", ".mat")
ORIENTATIONS = ("time_by_neurons", "neurons_by_time", "auto")

#: bytes of source data read per chunk (the extra memory a load needs beyond its output)
_CHUNK_BYTES = 32 * 2**20

# "obviously transposed": few rows (< _T_MAX_ROWS) but many more columns (>= _T_MIN_COLS and
# >= _T_RATIO x rows). Recordings have far more time bins than that; a population of a few
# thousand neurons recorded for under a few hundred bins is possible but rare enough that the
# user is asked to confirm it with an explicit orientation.
_T_MAX_ROWS = 500
_T_MIN_COLS = 2000
_T_RATIO = 10
# A milder sign, warned about (never refused): the first axis is at least _W_RATIO times
# shorter than the second, i.e. under a quarter as many time bins as neurons.
_W_RATIO = 4

_TIME_COLUMN_NAMES = {"t", "time", "times", "timestamp", "timestamps", "time_s", "time (s)", "seconds"}


# ====================================================================== lazy views
def _release_pages(view):
    """Unmap the file pages behind a read-only memmap slice (``madvise(MADV_DONTNEED)``).

    Pages of a memory-mapped file that were read stay mapped, and count in the process's
    resident memory, until the kernel needs them back: streaming a 3 GB ``.npy`` would show
    3 GB of extra RSS. Releasing each chunk once it is copied keeps the RSS at one chunk; the
    data stay in the page cache, so reading them again costs no disk access. Best effort:
    nothing happens where madvise is unavailable.
    """
    mm = getattr(view, "_mmap", None)
    advice = getattr(mmap, "MADV_DONTNEED", None)
    if mm is None or advice is None or view.size == 0 or not view.flags.c_contiguous:
        return
    try:
        base = np.frombuffer(mm, dtype=np.uint8).ctypes.data
        start = view.ctypes.data - base
        stop = start + view.nbytes
        page = mmap.PAGESIZE
        start -= start % page  # madvise takes whole pages (the partial ones at the ends too)
        length = min(-(-(stop - start) // page) * page, len(mm) - start)
        if length > 0:
            mm.madvise(advice, start, length)
    except (ValueError, OSError, TypeError, BufferError):
        pass


def _check_fits_in_memory(shape, name):
    """Refuse to load what does not fit in memory, naming its size and the streamed paths."""
    from .._memory import available_memory, check_memory, format_bytes

    n_rows, n_cols = int(shape[0]), int(shape[1])
    need = 8 * n_rows * n_cols
    avail = available_memory()
    if avail is None or need <= avail:
        return
    cov = 2 * 8 * n_cols**2
    matrixfree = (
        f" Two {n_cols} x {n_cols} covariance matrices ({format_bytes(cov)}) do not fit either: "
        "neurospec.matrixfree.slq_spectrum(lazy.data) estimates the spectrum from "
        "matrix-vector products instead." if cov > avail else "")
    check_memory(
        need, f"{name}: {n_rows} x {n_cols} samples as float64",
        "Stream it instead of loading it: with neurospec.io.open_lazy(path, ...) as lazy: "
        "CovarianceSpectrum().fit(lazy.data) reads it in chunks (memory: the N x N covariance "
        "plus one chunk); a dask array spreads the work over a cluster." + matrixfree)


class TimeMajorView:
    """A read-only, lazily read time x neurons view of a stored 1-D or 2-D array.

    Slicing by time rows reads only those rows from the source (an ``h5py.Dataset``, a
    ``numpy.memmap`` or an ndarray) and returns a float64 ndarray of shape
    ``(n_rows, n_neurons)``. The view can transpose a neurons x time source, restrict to a
    window of rows and a subset of columns, and merge ``factor`` consecutive source rows into
    one output row (mean, or sum for counts).

    Parameters
    ----------
    source : array-like with ``.shape`` and slicing
        1-D (one channel over time) or 2-D.
    transpose : bool
        The source is stored neurons x time.
    rows : (int, int), optional
        Window ``[start, stop)`` of source time rows (default: all).
    cols : array_like of int, optional
        Source columns (neurons) to keep, in this order.
    factor : int
        Source rows merged into one output row; trailing rows that do not fill one are left out.
    reduce : {"mean", "sum"}
        How merged rows are combined.
    scale, offset : float or array_like of shape (n_neurons,), optional
        Affine conversion ``value * scale + offset`` applied to what is read (e.g. NWB
        ``conversion``/``offset``), per kept column when arrays.

    Attributes
    ----------
    shape : (int, int)
        ``(n_samples, n_neurons)`` of the view (after ``factor``).
    dtype : numpy.dtype
        Always float64 (what slicing returns).

    Examples
    --------
    A neurons x time array read as time x neurons, two rows merged into one:

    >>> from neurospec.io import TimeMajorView
    >>> stored = np.arange(12.0).reshape(2, 6)                # 2 neurons x 6 time bins
    >>> view = TimeMajorView(stored, transpose=True, factor=2)
    >>> view.shape
    (3, 2)
    >>> view[0:2]
    array([[0.5, 6.5],
           [2.5, 8.5]])
    """

    ndim = 2
    dtype = np.dtype(np.float64)

    def __init__(self, source, *, transpose=False, rows=None, cols=None, factor=1, reduce="mean",
                 scale=None, offset=None):
        shape = tuple(int(s) for s in source.shape)
        if len(shape) not in (1, 2):
            raise ShapeError(f"expected a 1-D or 2-D source, got shape {shape}.")
        self.source = source
        self._one_d = len(shape) == 1
        self._transpose = bool(transpose) and not self._one_d
        n_time = shape[0] if self._one_d else (shape[1] if self._transpose else shape[0])
        n_cols_src = 1 if self._one_d else (shape[0] if self._transpose else shape[1])
        r0, r1 = (0, n_time) if rows is None else (int(rows[0]), int(rows[1]))
        if not 0 <= r0 <= r1 <= n_time:
            raise ShapeError(f"row window [{r0}, {r1}) outside the source's {n_time} time rows.")
        self._r0 = r0
        self.factor = int(factor)
        if self.factor < 1:
            raise BinSizeError(f"rebinning factor must be >= 1, got {factor!r}.")
        if reduce not in ("mean", "sum"):
            raise ValueError(f"reduce must be 'mean' or 'sum', got {reduce!r}.")
        self.reduce = reduce
        self._cols = None if cols is None else np.asarray(cols, dtype=np.intp).reshape(-1)
        self._n_cols_src = n_cols_src
        n_cols = n_cols_src if self._cols is None else self._cols.size
        self.n_source_rows = r1 - r0
        self._scale = None if scale is None else np.asarray(scale, dtype=np.float64)
        self._offset = None if offset is None else np.asarray(offset, dtype=np.float64)
        self.shape = ((r1 - r0) // self.factor, n_cols)
        try:
            itemsize = np.dtype(source.dtype).itemsize
        except (AttributeError, TypeError):
            itemsize = 8
        self._itemsize = max(itemsize, 1)

    def __len__(self):
        return self.shape[0]

    def __repr__(self):
        return (f"TimeMajorView(shape={self.shape}, factor={self.factor}, "
                f"transpose={self._transpose}, source={type(self.source).__name__})")

    @property
    def chunk_rows(self):
        """Output rows per chunk so that one chunk of source data is about 32 MiB."""
        per_row = self._n_cols_src * self._itemsize * self.factor
        return max(1, _CHUNK_BYTES // max(per_row, 1))

    def _read(self, i0, i1):
        """Output rows ``[i0, i1)`` as float64, shape (i1 - i0, n_neurons)."""
        f = self.factor
        a, b = self._r0 + i0 * f, self._r0 + i1 * f
        if self._one_d:
            block = np.asarray(self.source[a:b])[:, None]
        elif self._transpose:
            block = np.asarray(self.source[:, a:b]).T
        else:
            block = np.asarray(self.source[a:b])
        if self._cols is not None:
            block = block[:, self._cols]
        mapped = isinstance(self.source, np.memmap) and not self._transpose
        block = block.astype(np.float64, copy=mapped)  # a copy before the pages are let go
        if mapped:
            _release_pages(self.source[a:b])
        if self._scale is not None:
            block = block * self._scale
        if self._offset is not None:
            block = block + self._offset
        if f > 1:
            block = block.reshape(i1 - i0, f, block.shape[1])
            block = block.sum(axis=1) if self.reduce == "sum" else block.mean(axis=1)
        return block

    def __getitem__(self, key):
        col_key = None
        if isinstance(key, tuple):
            if len(key) != 2:
                raise IndexError("index with [rows] or [rows, columns].")
            key, col_key = key
        n = self.shape[0]
        if isinstance(key, (int, np.integer)):
            i = int(key) + n if key < 0 else int(key)
            if not 0 <= i < n:
                raise IndexError(f"row {key} out of range for {n} rows.")
            out = self._read(i, i + 1)[0]
            return out if col_key is None else out[col_key]
        if not isinstance(key, slice):
            raise IndexError("rows must be selected with an int or a slice (start:stop[:step]).")
        start, stop, step = key.indices(n)
        if step < 0:
            raise IndexError("negative steps are not supported; read forwards and reverse.")
        out = self._read(start, max(start, stop))
        if step != 1:
            out = out[::step]
        return out if col_key is None else out[:, col_key]

    def iter_chunks(self, chunk_rows=None):
        """Yield ``(start_row, block)`` pairs covering the view in time order.

        Parameters
        ----------
        chunk_rows : int, optional
            Output rows per block (default: about 32 MiB of source data per block).

        Yields
        ------
        start_row : int
        block : ndarray of float64, shape (rows, n_neurons)
        """
        step = int(chunk_rows or self.chunk_rows)
        for i0 in range(0, self.shape[0], step):
            yield i0, self._read(i0, min(i0 + step, self.shape[0]))

    def read(self, *, name="activity", unit_ids=None, t_start=0.0, bin_size=None):
        """Read the whole view into one float64 array, chunk by chunk.

        The output is allocated once; each chunk is converted and written into it, so peak
        memory is the output plus one chunk.

        Parameters
        ----------
        name : str
            Input name for error messages.
        unit_ids : array_like, optional
            Used to name the neuron of the first NaN/inf in the error message.
        t_start, bin_size : float, optional
            Used to give the time of the first NaN/inf.

        Returns
        -------
        ndarray of float64, shape ``self.shape``

        Raises
        ------
        DataValueError
            If the data hold NaN or inf (the message gives the count and the first location).
        """
        _check_fits_in_memory(self.shape, name)
        out = np.empty(self.shape, dtype=np.float64)
        n_bad, first = 0, None
        for i0, block in self.iter_chunks():
            out[i0:i0 + block.shape[0]] = block
            finite = np.isfinite(block)
            if not finite.all():
                bad = ~finite
                n_bad += int(bad.sum())
                if first is None:
                    r, c = np.argwhere(bad)[0]
                    first = (i0 + int(r), int(c))
        if n_bad:
            r, c = first
            uid = c if unit_ids is None else np.asarray(unit_ids)[c]
            when = f" (t = {t_start + r * bin_size:g} s)" if bin_size else ""
            raise DataValueError(
                f"{name}: {n_bad} NaN/inf values in the activity, the first at sample {r}{when}, "
                f"neuron column {c} (unit {_plain(uid)!r}). Fill or remove them before loading "
                "(e.g. interpolate over gaps), or load only clean units/times with units=... or "
                "time_range=(t0, t1)."
            )
        return out


class LazyActivity:
    """Activity opened without reading it: what :func:`neurospec.io.open_lazy` returns.

    ``data`` is a time x neurons array-like of shape ``(n_samples, n_neurons)`` that reads
    rows on demand (``data[i0:i1]`` gives a float64 ndarray); ``iter_chunks()`` walks the
    whole recording in blocks of rows. Use it as a context manager (or call :meth:`close`) to
    release the file.

    Attributes
    ----------
    data : TimeMajorView or ndarray
        Time x neurons, shape ``(n_samples, n_neurons)``.
    bin_size : float
        Seconds per row.
    t_start : float
        Time (s) of the first row.
    unit_ids : ndarray, shape (n_neurons,)
    meta : dict
        Provenance, as it will appear in the loaded :class:`~neurospec.Recording`.

    Examples
    --------
    >>> import os, tempfile
    >>> from neurospec.io import open_lazy
    >>> path = os.path.join(tempfile.mkdtemp(), "rates.npy")
    >>> np.save(path, np.arange(12.0).reshape(6, 2))          # 6 time bins x 2 neurons
    >>> with open_lazy(path, bin_size=0.5) as lazy:
    ...     print(lazy.shape, lazy.duration)
    ...     print(lazy.data[1:3])                             # reads rows 1 and 2 only
    ...     for start, block in lazy.iter_chunks(chunk_rows=4):
    ...         print(start, block.shape)
    (6, 2) 3.0
    [[2. 3.]
     [4. 5.]]
    0 (4, 2)
    4 (2, 2)
    """

    def __init__(self, data, bin_size, *, t_start=0.0, unit_ids=None, meta=None, closers=()):
        self.data = data
        self.bin_size = float(bin_size)
        self.t_start = float(t_start)
        n = data.shape[1]
        self.unit_ids = np.arange(n) if unit_ids is None else np.asarray(unit_ids)
        if self.unit_ids.shape != (n,):
            raise ShapeError(
                f"{(meta or {}).get('source', 'activity')}: {self.unit_ids.size} unit ids for "
                f"{n} neurons; give one id per neuron (column)."
            )
        self.meta = dict(meta or {})
        self.meta.setdefault("preprocessing", [])
        self._closers = list(closers)

    # ------------------------------------------------------------- array-like surface
    @property
    def shape(self):
        """``(n_samples, n_neurons)``."""
        return tuple(self.data.shape)

    @property
    def n_samples(self):
        return self.shape[0]

    @property
    def n_neurons(self):
        return self.shape[1]

    @property
    def duration(self):
        """Length in seconds."""
        return self.n_samples * self.bin_size

    def iter_chunks(self, chunk_rows=None):
        """Yield ``(start_row, float64 block of shape (rows, n_neurons))`` in time order."""
        if isinstance(self.data, TimeMajorView):
            yield from self.data.iter_chunks(chunk_rows)
            return
        step = int(chunk_rows or max(1, _CHUNK_BYTES // (8 * max(self.n_neurons, 1))))
        for i0 in range(0, self.n_samples, step):
            yield i0, np.asarray(self.data[i0:i0 + step], dtype=np.float64)

    def to_recording(self):
        """Read everything into a :class:`~neurospec.Recording` (one output-sized allocation)."""
        name = self.meta.get("source", "activity")
        if self.meta.get("series"):
            name = f"{name} [{self.meta['series']}]"
        if isinstance(self.data, TimeMajorView):
            act = self.data.read(name=name, unit_ids=self.unit_ids, t_start=self.t_start,
                                 bin_size=self.bin_size)
        else:
            act = np.asarray(self.data, dtype=np.float64)
            _check_finite(act, name, self.unit_ids, self.t_start, self.bin_size)
        return Recording(act, self.bin_size, unit_ids=self.unit_ids, t_start=self.t_start,
                         meta=copy.deepcopy(self.meta),
                         spike_times=getattr(self, "spike_times", None))

    # ------------------------------------------------------------- resources
    def close(self):
        """Release the file (the data can no longer be read)."""
        while self._closers:
            try:
                self._closers.pop()()
            except Exception:  # closing must never mask the real error
                pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __repr__(self):
        return (f"LazyActivity({self.n_samples} samples x {self.n_neurons} neurons, "
                f"bin_size={self.bin_size:g} s, source={self.meta.get('source')!r}"
                + (f", series={self.meta['series']!r}" if self.meta.get("series") else "") + ")")


# ====================================================================== shared helpers
def _plain(x):
    return x.item() if isinstance(x, np.generic) else x


def _check_finite(act, name, unit_ids=None, t_start=0.0, bin_size=None):
    finite = np.isfinite(act)
    if finite.all():
        return
    bad = ~finite
    r, c = (int(v) for v in np.argwhere(bad)[0])
    uid = c if unit_ids is None else np.asarray(unit_ids)[c]
    when = f" (t = {t_start + r * bin_size:g} s)" if bin_size else ""
    raise DataValueError(
        f"{name}: {int(bad.sum())} NaN/inf values in the activity, the first at sample {r}{when}, "
        f"neuron column {c} (unit {_plain(uid)!r}). Fill or remove them before loading (e.g. "
        "interpolate over gaps), or load only clean units/times with units=... or time_range=(t0, t1)."
    )


def _require_bin_size(bin_size, name, what="row"):
    """Validate the bin size (seconds per row) that array files need."""
    if bin_size is None:
        raise BinSizeError(
            f"{name}: bin_size is required for array files (they do not store their sampling "
            f"interval): give the seconds per {what}, e.g. neurospec.load({str(name)!r}, "
            "bin_size=0.05) or `neurospec ... --bin-size 0.05`."
        )
    return check_bin_size(bin_size, name)


class OrientationWarning(UserWarning):
    """An array file may be stored neurons x time: its first axis is much shorter than its second."""


def _norm_orientation(orientation):
    """Accept the command-line spelling too ("neurons-by-time" -> "neurons_by_time")."""
    if isinstance(orientation, str):
        return orientation.strip().lower().replace("-", "_")
    return orientation


def _check_orientation(orientation):
    orientation = _norm_orientation(orientation)
    if orientation is not None and orientation not in ORIENTATIONS:
        raise ShapeError(
            f"orientation must be one of {', '.join(repr(o) for o in ORIENTATIONS)}, got {orientation!r}."
        )


def resolve_orientation(shape, orientation, name, steps=None):
    """Decide whether a stored 2-D array must be transposed to time x neurons.

    Parameters
    ----------
    shape : tuple of int
        Stored shape.
    orientation : {None, "time_by_neurons", "neurons_by_time", "auto"}
        ``None`` is the default: time x neurons, but an obviously transposed array (few rows,
        thousands of columns) raises :class:`ShapeError` instead of being read. ``"auto"``
        takes the longer axis as time and records that in ``steps``.
    name : str
        Input name for messages.
    steps : list, optional
        Preprocessing record to append to.

    Returns
    -------
    bool
        Whether to transpose.
    """
    orientation = _norm_orientation(orientation)
    _check_orientation(orientation)
    shape = tuple(int(s) for s in shape)
    if len(shape) == 1:
        raise ShapeError(
            f"{name}: holds a 1-D array of shape {shape}; neurospec needs a 2-D time x neurons "
            "array (n_samples, n_neurons). If it is one neuron over time, store x[:, None]; if it "
            "is a flattened matrix, reshape it to (n_samples, n_neurons) first."
        )
    if len(shape) != 2:
        raise ShapeError(
            f"{name}: holds a {len(shape)}-D array of shape {shape}; neurospec needs a 2-D time x "
            "neurons array. For trials x time x neurons, stack trials along time first, e.g. "
            "x.reshape(-1, x.shape[-1])."
        )
    rows, cols = shape
    if orientation == "neurons_by_time":
        return True
    if orientation == "time_by_neurons":
        return False
    if orientation == "auto":
        transpose = cols > rows
        if steps is not None:
            steps.append(
                f"orientation='auto': stored shape {shape}; took the longer axis as time "
                f"({'transposed to' if transpose else 'kept as'} time x neurons)"
            )
        return transpose
    if rows < _T_MAX_ROWS and cols >= _T_MIN_COLS and cols >= _T_RATIO * rows:
        raise ShapeError(
            f"{name}: the array has shape {shape} (rows x columns), which looks transposed: "
            f"neurospec reads rows as time bins and columns as neurons, and {rows} time bins of "
            f"{cols} neurons is unusual. If rows are neurons, pass orientation='neurons_by_time' "
            "(`--orientation neurons-by-time`); if the shape is right, pass "
            "orientation='time_by_neurons'."
        )
    return False


def _warn_if_short_first_axis(shape, orientation, name):
    """Warn when a stored matrix read as time x neurons has far fewer rows than columns."""
    rows, cols = (int(s) for s in shape)
    if orientation is None and cols >= _W_RATIO * rows:
        import warnings

        warnings.warn(
            f"{name}: read as {rows} time samples x {cols} neurons (shape {tuple(shape)}, rows = "
            f"time): the first axis is {cols / rows:.1f}x shorter than the second, as when a file "
            "is stored neurons x time (suite2p's F.npy is ROIs x frames). If rows are neurons, "
            "pass orientation='neurons_by_time' (`--orientation neurons-by-time`); if the shape "
            "is right, pass orientation='time_by_neurons' to silence this warning.",
            OrientationWarning, stacklevel=4)


def rows_for_time_range(n_rows, bin_size, t_start, time_range, name):
    """Rows ``[i0, i1)`` whose start times lie in ``[t0, t1)``; the full range if None."""
    if time_range is None:
        return 0, n_rows
    try:
        t0, t1 = (float(t) for t in time_range)
    except (TypeError, ValueError):
        raise BinSizeError(f"{name}: time_range must be a pair (t0, t1) in seconds, got {time_range!r}.") from None
    if not t1 > t0:
        raise BinSizeError(f"{name}: time_range=({t0:g}, {t1:g}) is empty; need t1 > t0 (seconds).")
    eps = 1e-9
    i0 = min(max(int(math.ceil((t0 - t_start) / bin_size - eps)), 0), n_rows)
    i1 = min(max(int(math.ceil((t1 - t_start) / bin_size - eps)), 0), n_rows)
    if i1 <= i0:
        raise NoDataError(
            f"{name}: no samples in time_range=({t0:g}, {t1:g}) s; the data span "
            f"[{t_start:g}, {t_start + n_rows * bin_size:g}) s. Choose a range inside it."
        )
    return i0, i1


def _as_unit_ids(labels):
    """Column labels as unit ids: ints when every label is an integer, else strings."""
    labels = [str(x).strip() for x in labels]
    if labels and all(re.fullmatch(r"[+-]?\d+", x) for x in labels):
        return np.array([int(x) for x in labels])
    return np.array(labels, dtype=object)


def _numeric(arr, name):
    if arr.dtype.kind not in "biuf":
        raise DataValueError(
            f"{name}: holds {arr.dtype} values, not numbers; neurospec needs a numeric time x "
            "neurons array."
        )


def _choose(names, key, option, name, what, shapes):
    """Pick one entry of ``names`` (a candidate list) by ``key`` or uniquely."""
    listing = "; ".join(f"{n!r} {shapes[n]}" for n in shapes) or "none"
    if key is not None:
        if key not in shapes:
            raise LoaderError(
                f"{name}: no {what} named {key!r}; it holds: {listing}. Pass one of these as {option}=..."
            )
        return key
    if len(names) == 1:
        return names[0]
    if not names:
        if shapes:
            raise ShapeError(
                f"{name}: no 2-D numeric {what} (time x neurons) found; it holds: {listing}. "
                f"Reshape the data to (n_samples, n_neurons), or pass {option}=... to pick one."
            )
        raise NoDataError(f"{name}: holds no {what}s; nothing to load.")
    raise AmbiguousSourceError(
        f"{name}: holds several 2-D {what}s; choose one with {option}=...: "
        + "; ".join(f"{n!r} {shapes[n]}" for n in names)
    )


def _finish(path, source, bin_size, *, orientation, time_range, t_start, unit_ids, name, steps,
            meta_extra, closers=(), reduce="mean"):
    """Common tail of the array openers: orientation, time window, ids, meta."""
    try:
        transpose = resolve_orientation(source.shape, orientation, name, steps)
        if len(source.shape) == 2 and not transpose:
            _warn_if_short_first_axis(source.shape, _norm_orientation(orientation), name)
        n_time = source.shape[1] if transpose else source.shape[0]
        n_cols = source.shape[0] if transpose else source.shape[1]
        if transpose:
            steps.append(f"read neurons x time {tuple(source.shape)} as time x neurons")
        i0, i1 = rows_for_time_range(n_time, bin_size, t_start, time_range, name)
        if time_range is not None:
            steps.append(f"kept rows {i0}..{i1 - 1} (time_range={tuple(time_range)} s)")
        view = TimeMajorView(source, transpose=transpose, rows=(i0, i1), reduce=reduce)
        if unit_ids is not None and len(unit_ids) != n_cols:
            raise ShapeError(
                f"{name}: {len(unit_ids)} unit_ids for {n_cols} neurons (columns); give one id "
                "per neuron."
            )
        meta = {"source": str(path), "kind": "traces", "preprocessing": steps, "file_meta": None,
                **meta_extra}
        return LazyActivity(view, bin_size, t_start=t_start + i0 * bin_size, unit_ids=unit_ids,
                            meta=meta, closers=closers)
    except BaseException:
        for c in closers:
            c()
        raise


# ====================================================================== per-format openers
def _open_npy(path, *, bin_size, orientation, time_range, t_start, unit_ids, name):
    try:
        arr = np.load(path, mmap_mode="r", allow_pickle=False)
    except ValueError as exc:
        raise LoaderError(f"{name}: cannot read this .npy file ({exc}); save a numeric array "
                          "with numpy.save.") from None
    _numeric(arr, name)
    return _finish(path, arr, bin_size, orientation=orientation, time_range=time_range,
                   t_start=t_start, unit_ids=unit_ids, name=name, steps=[],
                   meta_extra={"series": None})


def _open_npz(path, *, key=None, bin_size, orientation, time_range, t_start, unit_ids, name):
    try:
        npz = np.load(path, allow_pickle=False)
    except Exception as exc:  # zipfile.BadZipFile, OSError, ValueError
        raise LoaderError(f"{name}: not a readable .npz file ({exc}).") from None
    with npz:
        shapes = {}
        arrays = {}
        for k in npz.files:
            try:
                arrays[k] = npz[k]
            except ValueError:  # object arrays need pickle; never load those
                continue
            shapes[k] = arrays[k].shape
        two_d = [k for k, a in arrays.items() if a.ndim == 2 and a.dtype.kind in "biuf"]
        if key is None and len(arrays) == 1:
            chosen = next(iter(arrays))
        else:
            chosen = _choose(two_d, key, "key", name, "array", shapes)
    arr = arrays[chosen]
    _numeric(arr, f"{name}[{chosen!r}]")
    return _finish(path, arr, bin_size, orientation=orientation, time_range=time_range,
                   t_start=t_start, unit_ids=unit_ids, name=f"{name}[{chosen!r}]", steps=[],
                   meta_extra={"series": chosen})


def _open_csv(path, *, bin_size, orientation, time_range, t_start, unit_ids, name,
              time_column=None, header=True, sep=",", timestamp_tolerance=1e-3):
    import pandas as pd

    try:
        df = pd.read_csv(path, header=0 if header else None, sep=sep)
    except Exception as exc:  # pandas raises several parser error types
        raise LoaderError(f"{name}: not a readable CSV file ({exc}).") from None
    if df.shape[1] == 0 or df.shape[0] == 0:
        raise NoDataError(f"{name}: the CSV holds no data rows/columns.")
    steps = []
    columns = [str(c) for c in df.columns]
    if time_column is None and header:
        guess = [c for c in columns if c.strip().lower() in _TIME_COLUMN_NAMES]
        if guess:
            raise LoaderError(
                f"{name}: column {guess[0]!r} looks like time stamps, not a neuron. Pass "
                f"time_column={guess[0]!r} to use it as the time axis, or time_column=False to "
                "treat it as a neuron."
            )
    times = None
    if time_column not in (None, False):
        key = time_column
        if key not in df.columns:
            if isinstance(key, int) and 0 <= key < df.shape[1]:
                key = df.columns[key]
            else:
                raise LoaderError(
                    f"{name}: no column {time_column!r} for time_column; columns are "
                    f"{columns[:20]}{' ...' if len(columns) > 20 else ''}."
                )
        times = pd.to_numeric(df[key], errors="coerce").to_numpy(dtype=np.float64)
        df = df.drop(columns=[key])
        if df.shape[1] == 0:
            raise NoDataError(f"{name}: only the time column is present; no neuron columns.")
    bad_cols = [str(c) for c in df.columns if not pd.api.types.is_numeric_dtype(df[c])]
    if bad_cols:
        raise DataValueError(
            f"{name}: columns {bad_cols[:10]} hold non-numeric values; each column must be one "
            "neuron's activity (numbers). Remove label columns, or pass time_column=... for a "
            "time column."
        )
    arr = df.to_numpy(dtype=np.float64)
    if times is not None:
        dt, t0 = _regular_interval(times, name, timestamp_tolerance)
        if bin_size is None:
            bin_size = dt
            steps.append(f"bin_size {dt:g} s taken from time column {str(time_column)!r}")
        elif abs(bin_size - dt) > timestamp_tolerance * dt:
            raise BinSizeError(
                f"{name}: bin_size={bin_size:g} s disagrees with the time column "
                f"{str(time_column)!r} (interval {dt:g} s); omit bin_size to use the time column, "
                "or rebin after loading with Recording.rebin(k)."
            )
        t_start = t0
    bin_size = _require_bin_size(bin_size, name)
    if unit_ids is None and header:
        unit_ids = _as_unit_ids(df.columns)
    if orientation in ("neurons_by_time", "auto") and unit_ids is not None and header:
        unit_ids = None  # the header then labels time, not neurons
    return _finish(path, arr, bin_size, orientation=orientation, time_range=time_range,
                   t_start=t_start, unit_ids=unit_ids, name=name, steps=steps,
                   meta_extra={"series": None})


def _regular_interval(times, name, tol):
    """Sampling interval and start of regularly spaced time stamps (error otherwise)."""
    times = np.asarray(times, dtype=np.float64)
    dt, mean_dt, rel_dev = timestamp_intervals(
        times, name, "sort the samples or fix the time column")
    if rel_dev > tol:
        raise DataValueError(
            f"{name}: time stamps are irregular (intervals {dt.min():g}..{dt.max():g} s, mean "
            f"{mean_dt:g} s, relative deviation {rel_dev:.2g} > tolerance {tol:g}); resample "
            "the data onto a regular grid first or raise timestamp_tolerance."
        )
    return mean_dt, float(times[0])


def _hdf5_numeric_datasets(h5, skip=()):
    """{path: dataset} of numeric datasets in an open h5py file (excluding ``skip`` groups)."""
    import h5py

    found = {}

    def visit(path, obj):
        if any(path == s or path.startswith(s + "/") for s in skip):
            return
        if isinstance(obj, h5py.Dataset) and obj.dtype.kind in "biuf":
            found[path] = obj

    h5.visititems(visit)
    return found


def _open_h5py(path, name):
    import h5py

    try:
        return h5py.File(path, "r")
    except OSError as exc:
        raise LoaderError(f"{name}: not a readable HDF5 file ({exc}).") from None


def _open_hdf5(path, *, dataset=None, bin_size, orientation, time_range, t_start, unit_ids, name,
               mat73=False):
    h5 = _open_h5py(path, name)
    try:
        skip = ("#refs#", "#subsystem#") if mat73 else ()
        datasets = _hdf5_numeric_datasets(h5, skip)
        option = "variable" if mat73 else "dataset"
        what = "variable" if mat73 else "dataset"
        # MATLAB writes column-major: h5py sees the reverse of MATLAB's shape
        shapes = {k: (tuple(reversed(d.shape)) if mat73 else d.shape) for k, d in datasets.items()}
        if dataset is not None:
            dataset = str(dataset).strip("/")
        two_d = [k for k, s in shapes.items() if len(s) == 2 and min(s) > 1]
        if dataset is None and len(datasets) == 1:
            chosen = next(iter(datasets))
        else:
            chosen = _choose(two_d, dataset, option, name, what, shapes)
        ds = datasets[chosen]
        steps = []
        extra = {"series": chosen}
        sname = f"{name}[{chosen!r}]"
        if mat73:
            steps.append("MATLAB v7.3 file read with h5py; axes reversed to MATLAB's (rows, columns)")
            if ds.ndim == 2:
                # MATLAB (rows, cols) == h5py (cols, rows): swap the requested orientation
                transpose = resolve_orientation(shapes[chosen], orientation, sname, steps)
                if not transpose:
                    _warn_if_short_first_axis(shapes[chosen], _norm_orientation(orientation), sname)
                orient = "time_by_neurons" if transpose else "neurons_by_time"
                return _finish(path, ds, bin_size, orientation=orient, time_range=time_range,
                               t_start=t_start, unit_ids=unit_ids, name=sname, steps=steps,
                               meta_extra=extra, closers=[h5.close])
        return _finish(path, ds, bin_size, orientation=orientation, time_range=time_range,
                       t_start=t_start, unit_ids=unit_ids, name=sname, steps=steps,
                       meta_extra=extra, closers=[h5.close])
    except BaseException:
        h5.close()
        raise


def _open_mat(path, *, variable=None, bin_size, orientation, time_range, t_start, unit_ids, name):
    import h5py
    import scipy.io

    if h5py.is_hdf5(path):
        return _open_hdf5(path, dataset=variable, bin_size=bin_size, orientation=orientation,
                          time_range=time_range, t_start=t_start, unit_ids=unit_ids, name=name,
                          mat73=True)
    try:
        mat = scipy.io.loadmat(path)
    except Exception as exc:  # scipy raises ValueError/TypeError/MatReadError on corrupt files
        raise LoaderError(f"{name}: not a readable MATLAB .mat file ({exc}).") from None
    arrays = {k: v for k, v in mat.items() if not k.startswith("__") and isinstance(v, np.ndarray)}
    numeric = {k: v for k, v in arrays.items() if v.dtype.kind in "biuf"}
    shapes = {k: v.shape for k, v in arrays.items()}
    two_d = [k for k, v in numeric.items() if v.ndim == 2 and min(v.shape) > 1]
    if variable is None and len(numeric) == 1:
        chosen = next(iter(numeric))
    else:
        chosen = _choose(two_d, variable, "variable", name, "variable", shapes)
    arr = arrays[chosen]
    _numeric(arr, f"{name}[{chosen!r}]")
    return _finish(path, arr, bin_size, orientation=orientation, time_range=time_range,
                   t_start=t_start, unit_ids=unit_ids, name=f"{name}[{chosen!r}]", steps=[],
                   meta_extra={"series": chosen})


# ====================================================================== public entry points
def open_array(path, *, bin_size=None, orientation=None, time_range=None, t_start=0.0,
               unit_ids=None, key=None, dataset=None, variable=None, time_column=None,
               header=True, sep=","):
    """Open an array file without reading it (see :func:`neurospec.io.open_lazy`).

    Parameters
    ----------
    path : str or Path
        ``.npy``, ``.npz``, ``.csv``, ``.h5``/``.hdf5`` or ``.mat`` file.
    bin_size : float
        Seconds per time row. Required (for ``.csv`` it may come from ``time_column``).
    orientation : {None, "time_by_neurons", "neurons_by_time", "auto"}
        How the stored array is laid out. ``None`` (default) means time x neurons but refuses an
        array that looks transposed; ``"auto"`` takes the longer axis as time (recorded in meta).
    time_range : (float, float), optional
        Keep rows whose start time lies in ``[t0, t1)`` seconds.
    t_start : float
        Time (s) of the first row.
    unit_ids : array_like, optional
        One id per neuron (default: CSV header, else ``0..n-1``).
    key : str, optional
        ``.npz``: which array (needed when the file holds several).
    dataset : str, optional
        ``.h5``/``.hdf5``: path of the dataset inside the file (needed when there are several 2-D ones).
    variable : str, optional
        ``.mat``: variable name (needed when there are several 2-D ones).
    time_column : str or int or False, optional
        ``.csv``: column holding time stamps (s); its interval gives ``bin_size``.
    header : bool
        ``.csv``: the first row holds unit ids.
    sep : str
        ``.csv``: field separator.

    Returns
    -------
    LazyActivity
    """
    path = Path(path)
    name = str(path)
    suffix = path.suffix.lower()
    if suffix not in ARRAY_SUFFIXES:
        raise FileFormatError(f"{name}: not an array file ({', '.join(ARRAY_SUFFIXES)}).")
    orientation = _norm_orientation(orientation)
    _check_orientation(orientation)
    if suffix != ".csv":
        bin_size = _require_bin_size(bin_size, name)
    elif bin_size is not None:
        bin_size = _require_bin_size(bin_size, name)
    common = dict(bin_size=bin_size, orientation=orientation, time_range=time_range,
                  t_start=float(t_start), unit_ids=None if unit_ids is None else np.asarray(unit_ids),
                  name=name)
    for opt, value, allowed in (("key", key, ".npz"), ("dataset", dataset, ".h5 .hdf5"),
                                ("variable", variable, ".mat")):
        if value is not None and suffix not in allowed.split():
            raise LoaderError(f"{name}: option {opt}= applies to {allowed} files only, not {suffix}.")
    if time_column is not None and suffix != ".csv":
        raise LoaderError(f"{name}: option time_column= applies to .csv files only.")
    if suffix == ".npy":
        lazy = _open_npy(path, **common)
    elif suffix == ".npz":
        lazy = _open_npz(path, key=key, **common)
    elif suffix == ".csv":
        lazy = _open_csv(path, time_column=time_column, header=header, sep=sep, **common)
    elif suffix in (".h5", ".hdf5"):
        lazy = _open_hdf5(path, dataset=dataset, **common)
    else:
        lazy = _open_mat(path, variable=variable, **common)
    lazy.meta["format"] = suffix.lstrip(".")
    return lazy


def load_array(path, **options):
    """Load an array file into a :class:`~neurospec.Recording` (see :func:`neurospec.io.load`)."""
    with open_array(path, **options) as lazy:
        return lazy.to_recording()


def describe_array(path):
    """What an array file holds: its arrays / datasets / variables with shapes and dtypes.

    Returns
    -------
    dict
        ``{"path", "format", "arrays": [{"name", "shape", "dtype"}], "notes": [...]}``
    """
    path = Path(path)
    name = str(path)
    suffix = path.suffix.lower()
    out = {"path": name, "format": suffix.lstrip("."), "arrays": [], "notes": []}

    def add(n, shape, dtype):
        out["arrays"].append({"name": n, "shape": tuple(int(s) for s in shape), "dtype": str(dtype)})

    if suffix == ".npy":
        try:
            arr = np.load(path, mmap_mode="r", allow_pickle=False)
        except ValueError as exc:
            raise LoaderError(f"{name}: cannot read this .npy file ({exc}).") from None
        add("", arr.shape, arr.dtype)
    elif suffix == ".npz":
        try:
            npz = np.load(path, allow_pickle=False)
        except Exception as exc:
            raise LoaderError(f"{name}: not a readable .npz file ({exc}).") from None
        with npz:
            for k in npz.files:
                try:
                    a = npz[k]
                except ValueError:
                    out["notes"].append(f"{k!r}: object array (not readable without pickle)")
                    continue
                add(k, a.shape, a.dtype)
    elif suffix == ".csv":
        import pandas as pd

        try:
            df = pd.read_csv(path)
        except Exception as exc:
            raise LoaderError(f"{name}: not a readable CSV file ({exc}).") from None
        add("", df.shape, "table")
        cols = [str(c) for c in df.columns]
        out["columns"] = cols
        out["notes"].append(f"columns: {cols[:12]}{' ...' if len(cols) > 12 else ''}")
    elif suffix in (".h5", ".hdf5", ".mat"):
        import h5py

        if suffix == ".mat" and not h5py.is_hdf5(path):
            import scipy.io

            try:
                info = scipy.io.whosmat(path)
            except Exception as exc:
                raise LoaderError(f"{name}: not a readable MATLAB .mat file ({exc}).") from None
            for n, shape, cls in info:
                add(n, shape, cls)
        else:
            mat73 = suffix == ".mat"
            if mat73:
                out["notes"].append("MATLAB v7.3 (HDF5) file; shapes shown as in MATLAB")
            with _open_h5py(path, name) as h5:
                import h5py as _h5py

                def visit(p, obj):
                    if mat73 and (p.startswith("#refs#") or p.startswith("#subsystem#")):
                        return
                    if isinstance(obj, _h5py.Dataset):
                        shape = tuple(reversed(obj.shape)) if mat73 else obj.shape
                        add(p, shape, obj.dtype)

                h5.visititems(visit)
    else:
        raise FileFormatError(f"{name}: not an array file ({', '.join(ARRAY_SUFFIXES)}).")
    return out
