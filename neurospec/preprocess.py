"""Prepare activity for a spectral fit: scikit-learn transformers that keep the provenance.

Each transformer accepts an array of shape ``(n_samples, n_neurons)`` (time x neurons) or a
:class:`~neurospec.Recording` and returns the same type. On a Recording each step appends a
sentence to ``meta["preprocessing"]`` and a record ``{"step", "params", ...}`` to
``meta["pipeline"]``; ``neurospec fit`` writes both into ``report.json``. They chain in a
:class:`sklearn.pipeline.Pipeline` (see :func:`default_pipeline`).

================================  ===========================================================
:class:`DropConstant`             remove neurons whose activity never changes (count them)
:class:`SelectNeurons`            keep neurons by index, mask, unit id or a quality score
:class:`HighPass`                 remove slow drift / photobleaching slower than ``cutoff`` s
                                  (zero-phase Butterworth, ``scipy.signal.sosfiltfilt``)
:class:`Detrend`                  subtract a per-neuron polynomial of time (``scipy.signal.detrend``)
:class:`SubtractConditionMeans`   noise activity: subtract each condition's mean
                                  (``y`` = condition labels per sample, see :func:`trial_conditions`)
:class:`ZScore`                   standardise each neuron
================================  ===========================================================

What each does to the spectrum the theory describes (science.md §1, §4): the theory is about
the zero-frequency (long-window) covariance. A high-pass filter removes exactly the slowest
fluctuations, so keep any covariance window well below the cutoff (a window ``W`` loses about
``2 W / cutoff`` of its weight; ``neurospec fit`` warns above one tenth). Subtracting condition
means removes one degree of freedom per condition from the samples. Z-scoring turns the
covariance into a correlation matrix (``kind="correlation"``), which re-weights neurons.
"""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.pipeline import Pipeline
from sklearn.utils.validation import check_is_fitted, validate_data

from .errors import BinSizeError, DataValueError, NoDataError, ParameterError, ShapeError
from .recording import Recording

__all__ = [
    "PreprocessWarning",
    "DropConstant",
    "SelectNeurons",
    "HighPass",
    "Detrend",
    "SubtractConditionMeans",
    "ZScore",
    "default_pipeline",
    "preprocess",
    "trial_conditions",
    "read_conditions",
]


class PreprocessWarning(UserWarning):
    """A preprocessing step may distort the spectrum (e.g. a cutoff close to the recording's length)."""


def _samples(n):
    return f"{n} sample" + ("" if n == 1 else "s")


class _Step(TransformerMixin, BaseEstimator):
    """Shared plumbing: arrays or Recordings in, the same type out, provenance on Recordings."""

    def _input(self, X, reset):
        """``(float64 array, Recording or None)``; checks the number of neurons when not reset."""
        if isinstance(X, Recording):
            arr = X.activity
            if reset:
                self.n_features_in_ = arr.shape[1]
                if hasattr(self, "feature_names_in_"):
                    del self.feature_names_in_
            elif arr.shape[1] != self.n_features_in_:
                raise ShapeError(
                    f"X has {arr.shape[1]} features, but {type(self).__name__} is expecting "
                    f"{self.n_features_in_} features as input (it was fitted on "
                    f"{self.n_features_in_} neurons).")
            return arr, X
        arr = validate_data(self, X, dtype=np.float64, reset=reset)
        return arr, None

    def _output(self, rec, arr, text, record=None, keep=None, kind="traces"):
        """Wrap ``arr`` like the input: a new Recording with the step recorded, or the array."""
        if rec is None:
            return arr
        changes = {}
        if keep is not None:
            changes["unit_ids"] = rec.unit_ids[keep]
            changes["spike_times"] = (None if rec.spike_times is None
                                      else [rec.spike_times[i] for i in keep])
        else:
            changes["spike_times"] = None if kind is not None else rec.spike_times
        out = rec._derive(arr, text, **changes)
        if kind is not None:
            out.meta["kind"] = kind
        entry = {"step": type(self).__name__, "params": _plain(self.get_params(deep=False)),
                 "description": text}
        entry.update(_plain(record or {}))
        out.meta["pipeline"] = list(out.meta.get("pipeline", [])) + [entry]
        return out

    def _fit_transform_via_fit(self, X, y=None):
        return self.fit(X, y).transform(X)


def _plain(obj):
    """JSON-friendly copy (numpy -> Python, arrays -> summaries)."""
    if isinstance(obj, dict):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return obj.tolist() if obj.size <= 50 else f"array of shape {obj.shape}"
    if isinstance(obj, np.generic):
        return obj.item()
    if obj is None or isinstance(obj, (str, int, float, bool)):
        return obj
    return repr(obj)


def _ids(rec, idx):
    return (rec.unit_ids[idx] if rec is not None else np.asarray(idx)).tolist()


def _bin_size(rec, bin_size, who):
    if rec is not None:
        if bin_size is not None and abs(float(bin_size) - rec.bin_size) > 1e-9 * rec.bin_size:
            raise BinSizeError(f"{who}: bin_size={bin_size:g} s disagrees with the Recording's "
                               f"{rec.bin_size:g} s; leave bin_size unset for Recordings.")
        return rec.bin_size
    if bin_size is None:
        raise BinSizeError(f"{who}: an array carries no sampling interval; pass bin_size=<seconds "
                           "per sample>, or give a Recording.")
    from .recording import check_bin_size

    return check_bin_size(bin_size, who)


# ====================================================================== DropConstant
class DropConstant(_Step):
    """Remove neurons whose activity is constant (silent units, failed ROIs).

    A constant neuron adds an exact zero eigenvalue and no information; the spectrum must never
    be fitted with them (suite2p folders often hold dozens). The count and the ids are kept.

    Parameters
    ----------
    min_std : float
        Neurons whose standard deviation is at most this are dropped; ``0`` (default) drops
        exactly constant ones (all values equal).

    Attributes
    ----------
    keep_ : ndarray of int
        Columns kept.
    n_dropped_ : int
        Number of neurons dropped.
    dropped_ : list
        Their unit ids (Recording) or column indices (array).
    n_features_in_ : int

    Examples
    --------
    >>> import numpy as np
    >>> X = np.random.default_rng(0).normal(size=(100, 4)); X[:, 1] = 3.0
    >>> step = DropConstant().fit(X)
    >>> step.n_dropped_, step.transform(X).shape
    (1, (100, 3))
    """

    def __init__(self, min_std=0.0):
        self.min_std = min_std

    def fit(self, X, y=None):
        """Find the constant neurons.

        Parameters
        ----------
        X : array_like of shape (n_samples, n_neurons) or Recording
        y : ignored

        Returns
        -------
        self
        """
        if not (np.isscalar(self.min_std) and float(self.min_std) >= 0):
            raise ParameterError(f"DropConstant: min_std must be a number >= 0, got {self.min_std!r}.")
        arr, rec = self._input(X, reset=True)
        if self.min_std == 0:
            const = arr.max(axis=0) == arr.min(axis=0)
        else:
            const = arr.std(axis=0) <= self.min_std
        if const.all():
            raise NoDataError(
                f"DropConstant: every one of the {arr.shape[1]} neurons is constant over "
                f"{_samples(arr.shape[0])}; nothing is left to analyse. Check the input (a "
                "wrong column, an empty recording).")
        self.keep_ = np.flatnonzero(~const)
        self.n_dropped_ = int(const.sum())
        self.dropped_ = _ids(rec, np.flatnonzero(const))
        return self

    def transform(self, X):
        """Drop the neurons found constant by :meth:`fit`.

        Parameters
        ----------
        X : array_like of shape (n_samples, n_neurons) or Recording

        Returns
        -------
        ndarray or Recording
            Without those neurons.
        """
        check_is_fitted(self, "keep_")
        arr, rec = self._input(X, reset=False)
        n = self.n_dropped_
        what = "exactly constant" if self.min_std == 0 else f"std <= {self.min_std:g}"
        text = (f"dropped {n} constant neurons ({what}) of {self.n_features_in_}: "
                f"{self.dropped_[:20]}{' ...' if n > 20 else ''}" if n else
                f"checked {self.n_features_in_} neurons for constant activity: none")
        out = self._output(rec, arr[:, self.keep_], text,
                           {"n_dropped": n, "dropped": self.dropped_,
                            "n_kept": int(self.keep_.size)},
                           keep=self.keep_, kind=None)
        if rec is not None and n:
            out.meta["dropped_units"] = list(rec.meta.get("dropped_units", [])) + list(self.dropped_)
        return out


# ====================================================================== SelectNeurons
class SelectNeurons(_Step):
    """Keep a subset of neurons: by column, mask, unit id, or a quality score.

    Parameters
    ----------
    units : array_like of int or bool, optional
        Column indices, or a boolean mask of length ``n_neurons``.
    ids : array_like, optional
        Unit ids to keep (Recording input; for arrays, ids are the column indices).
    quality : array_like of float, shape (n_neurons,), optional
        A score per neuron (e.g. suite2p's cell probability, an SNR, an isolation distance).
    min_quality : float, optional
        Keep neurons with ``quality >= min_quality`` (needs ``quality``).

    Attributes
    ----------
    keep_ : ndarray of int
        Columns kept (all conditions given must hold).
    n_dropped_ : int

    Examples
    --------
    >>> import numpy as np
    >>> X = np.random.default_rng(0).normal(size=(50, 4))
    >>> SelectNeurons(quality=[0.9, 0.2, 0.8, 0.5], min_quality=0.5).fit_transform(X).shape
    (50, 3)
    """

    def __init__(self, units=None, ids=None, quality=None, min_quality=None):
        self.units = units
        self.ids = ids
        self.quality = quality
        self.min_quality = min_quality

    def fit(self, X, y=None):
        """Decide which neurons to keep.

        Parameters
        ----------
        X : array_like of shape (n_samples, n_neurons) or Recording
        y : ignored

        Returns
        -------
        self
        """
        arr, rec = self._input(X, reset=True)
        n = arr.shape[1]
        keep = np.ones(n, bool)
        why = []
        if self.units is not None:
            u = np.asarray(self.units)
            m = np.zeros(n, bool)
            if u.dtype == bool:
                if u.shape != (n,):
                    raise ShapeError(f"SelectNeurons: mask has shape {u.shape}, expected ({n},).")
                m = u.copy()
            else:
                u = np.atleast_1d(u).astype(int)
                if u.size and (u.min() < -n or u.max() >= n):
                    raise ShapeError(f"SelectNeurons: unit indices out of range for {n} neurons.")
                m[u] = True
            keep &= m
            why.append(f"{int(m.sum())} by index/mask")
        if self.ids is not None:
            ids = np.atleast_1d(np.asarray(self.ids)).tolist()
            have = rec.unit_ids.tolist() if rec is not None else list(range(n))
            missing = [i for i in ids if i not in have]
            if missing:
                raise ShapeError(f"SelectNeurons: unit ids {missing[:5]} are not in the data; ids "
                                 f"there: {have[:10]}{' ...' if len(have) > 10 else ''}.")
            m = np.isin(np.asarray(have, dtype=object), np.asarray(ids, dtype=object))
            keep &= m
            why.append(f"{int(m.sum())} by id")
        if self.min_quality is not None or self.quality is not None:
            if self.quality is None or self.min_quality is None:
                raise ParameterError("SelectNeurons: give both quality (a score per neuron) and "
                                     "min_quality (the threshold).")
            q = np.asarray(self.quality, dtype=np.float64)
            if q.shape != (n,):
                raise ShapeError(f"SelectNeurons: quality has shape {q.shape}; give one score per "
                                 f"neuron ({n}).")
            m = q >= float(self.min_quality)
            keep &= m
            why.append(f"{int(m.sum())} with quality >= {float(self.min_quality):g}")
        if not keep.any():
            raise NoDataError(f"SelectNeurons: the selection keeps none of the {n} neurons "
                              f"({'; '.join(why)}); loosen it.")
        self.keep_ = np.flatnonzero(keep)
        self.n_dropped_ = int(n - self.keep_.size)
        self._why = "; ".join(why) or "all"
        return self

    def transform(self, X):
        """Keep the selected neurons.

        Parameters
        ----------
        X : array_like of shape (n_samples, n_neurons) or Recording

        Returns
        -------
        ndarray or Recording
        """
        check_is_fitted(self, "keep_")
        arr, rec = self._input(X, reset=False)
        text = (f"selected {self.keep_.size} of {self.n_features_in_} neurons "
                f"({getattr(self, '_why', 'all')})")
        return self._output(rec, arr[:, self.keep_], text,
                            {"n_kept": int(self.keep_.size), "n_dropped": self.n_dropped_},
                            keep=self.keep_, kind=None)


# ====================================================================== HighPass
class HighPass(_Step):
    """Remove fluctuations slower than ``cutoff`` seconds (drift, photobleaching).

    A zero-phase Butterworth high-pass filter (``scipy.signal.butter`` + ``sosfiltfilt``) at
    ``1 / cutoff`` Hz along time, per neuron; each neuron's mean is added back. The filter
    also removes the network's own fluctuations slower than the cutoff: keep the covariance
    window well below it (``neurospec fit`` warns when the window exceeds ``cutoff / 10``).

    Parameters
    ----------
    cutoff : float
        Period in seconds: slower fluctuations are removed. Must be longer than two samples and
        no longer than the recording.
    order : int
        Filter order (applied twice, forwards and backwards).
    bin_size : float, optional
        Seconds per sample, for array input (a Recording carries its own).

    Attributes
    ----------
    bin_size_ : float
        Seconds per sample used at fit.
    n_features_in_ : int

    Warns
    -----
    PreprocessWarning
        The cutoff is longer than a quarter of the recording (few periods fit; the edges of the
        recording are filtered less reliably).

    Examples
    --------
    >>> import numpy as np
    >>> t = np.arange(3000) * 0.1
    >>> X = np.random.default_rng(0).normal(size=(3000, 3)) + np.exp(-t / 100)[:, None] * 5
    >>> Y = HighPass(cutoff=30.0, bin_size=0.1).fit_transform(X)
    >>> bool(abs(np.polyfit(t, Y[:, 0], 1)[0]) < 1e-3)
    True
    """

    def __init__(self, cutoff=None, order=2, bin_size=None):
        self.cutoff = cutoff
        self.order = order
        self.bin_size = bin_size

    def _check(self, n, dt):
        try:
            cutoff = float(self.cutoff)
        except (TypeError, ValueError):
            raise ParameterError(f"HighPass: cutoff must be a period in seconds, got "
                                 f"{self.cutoff!r}.") from None
        if not (np.isfinite(cutoff) and cutoff > 0):
            raise ParameterError(f"HighPass: cutoff must be a positive number of seconds, got "
                                 f"{self.cutoff!r}.")
        if not (isinstance(self.order, (int, np.integer)) and self.order >= 1):
            raise ParameterError(f"HighPass: order must be a positive integer, got {self.order!r}.")
        duration = n * dt
        if cutoff <= 2 * dt:
            raise BinSizeError(f"HighPass: cutoff {cutoff:g} s is not longer than two samples "
                               f"({2 * dt:g} s at {dt:g} s per sample); it would remove everything. "
                               "Give a longer cutoff.")
        if cutoff > duration:
            raise BinSizeError(
                f"HighPass: cutoff {cutoff:g} s is longer than the recording ({duration:g} s, "
                f"{_samples(n)}): no full period of it fits, so the filter cannot tell drift from "
                "signal. Use a shorter cutoff, or Detrend() (a straight line per neuron) for a "
                "drift over the whole recording.")
        padlen = 3 * (2 * (self.order // 2 + self.order % 2) + 1)
        if n <= padlen:
            raise BinSizeError(f"HighPass: needs more than {padlen} samples for an order-"
                               f"{self.order} filter, got {_samples(n)}.")
        return cutoff, duration

    def fit(self, X, y=None):
        """Check the cutoff against the recording.

        Parameters
        ----------
        X : array_like of shape (n_samples, n_neurons) or Recording
        y : ignored

        Returns
        -------
        self
        """
        arr, rec = self._input(X, reset=True)
        dt = _bin_size(rec, self.bin_size, "HighPass")
        cutoff, duration = self._check(arr.shape[0], dt)
        if cutoff > duration / 4:
            warnings.warn(
                f"HighPass: cutoff {cutoff:g} s is longer than a quarter of the recording "
                f"({duration:g} s): only {duration / cutoff:.1f} periods fit and the start and end "
                "are filtered less reliably. A shorter cutoff, or Detrend(), is safer.",
                PreprocessWarning, stacklevel=2)
        self.bin_size_ = dt
        return self

    def transform(self, X):
        """Filter each neuron.

        Parameters
        ----------
        X : array_like of shape (n_samples, n_neurons) or Recording

        Returns
        -------
        ndarray or Recording
            Same shape; each neuron keeps its mean.
        """
        from scipy.signal import butter, sosfiltfilt

        check_is_fitted(self, "bin_size_")
        arr, rec = self._input(X, reset=False)
        dt = self.bin_size_ if rec is None else _bin_size(rec, None, "HighPass")
        cutoff, _ = self._check(arr.shape[0], dt)
        sos = butter(int(self.order), 1.0 / cutoff, btype="highpass", fs=1.0 / dt, output="sos")
        mean = arr.mean(axis=0)
        out = sosfiltfilt(sos, arr - mean, axis=0)
        out += mean - out.mean(axis=0)  # each neuron keeps its mean exactly
        text = (f"high-pass filtered at {cutoff:g} s (Butterworth order {self.order}, zero-phase; "
                "slower drift removed, means kept)")
        return self._output(rec, np.ascontiguousarray(out), text, {"cutoff_s": cutoff})


# ====================================================================== Detrend
class Detrend(_Step):
    """Subtract a polynomial of time from each neuron (slow drift, photobleaching).

    ``order=1`` subtracts a straight line (``scipy.signal.detrend``); higher orders a
    least-squares polynomial. Each neuron's mean is kept. Unlike :class:`HighPass` it removes
    only ``order`` degrees of freedom per neuron, whatever the recording's length.

    Parameters
    ----------
    order : int
        Degree of the polynomial (1: linear).

    Attributes
    ----------
    n_features_in_ : int

    Examples
    --------
    >>> import numpy as np
    >>> X = np.arange(100.0)[:, None] * [1.0, -2.0] + 5
    >>> np.allclose(Detrend().fit_transform(X), X.mean(axis=0))
    True
    """

    def __init__(self, order=1):
        self.order = order

    def fit(self, X, y=None):
        """Check the input.

        Parameters
        ----------
        X : array_like of shape (n_samples, n_neurons) or Recording
        y : ignored

        Returns
        -------
        self
        """
        if not (isinstance(self.order, (int, np.integer)) and self.order >= 1):
            raise ParameterError(f"Detrend: order must be a positive integer, got {self.order!r}.")
        arr, _ = self._input(X, reset=True)
        if arr.shape[0] <= self.order + 1:
            raise BinSizeError(f"Detrend: an order-{self.order} polynomial needs more than "
                               f"{self.order + 1} samples, got {_samples(arr.shape[0])}.")
        self.fitted_ = True
        return self

    def transform(self, X):
        """Subtract each neuron's polynomial trend.

        Parameters
        ----------
        X : array_like of shape (n_samples, n_neurons) or Recording

        Returns
        -------
        ndarray or Recording
        """
        from scipy.signal import detrend

        check_is_fitted(self, "fitted_")
        arr, rec = self._input(X, reset=False)
        n = arr.shape[0]
        if n <= self.order + 1:
            raise BinSizeError(f"Detrend: an order-{self.order} polynomial needs more than "
                               f"{self.order + 1} samples, got {_samples(n)}.")
        mean = arr.mean(axis=0)
        if self.order == 1:
            out = detrend(arr, axis=0, type="linear") + mean
        else:
            t = np.linspace(-1.0, 1.0, n)
            V = np.polynomial.legendre.legvander(t, int(self.order))
            coef, *_ = np.linalg.lstsq(V, arr, rcond=None)
            out = arr - V @ coef + mean
        text = f"detrended each neuron (polynomial of order {self.order} in time; means kept)"
        return self._output(rec, np.ascontiguousarray(out), text, {"order": int(self.order)})


# ====================================================================== conditions
def _condition_codes(y, n_samples, who):
    """Integer code per sample and the condition labels, from 1-D labels or rows of a table."""
    import pandas as pd

    if y is None:
        raise DataValueError(f"{who} requires y to be passed, but the target y is None: give "
                             "the condition of each sample (one label per time bin, or one row of "
                             "labels such as (direction, time in trial)).")
    if isinstance(y, pd.Series):
        y = y.to_numpy()
    if isinstance(y, pd.DataFrame):
        cols = [y[c].to_numpy() for c in y.columns]
    else:
        arr = np.asarray(y, dtype=object) if not isinstance(y, np.ndarray) else y
        if arr.ndim == 1:
            cols = [arr]
        elif arr.ndim == 2:
            cols = [arr[:, j] for j in range(arr.shape[1])]
        else:
            raise ShapeError(f"{who}: y has shape {arr.shape}; give one label per sample (1-D) "
                             "or one row of labels per sample (2-D).")
    n_y = len(cols[0])
    if n_y != n_samples:
        raise ShapeError(f"{who}: {n_y} condition labels for {_samples(n_samples)}; give one "
                         "label per time bin (row of the activity), in the same order.")
    missing = np.zeros(n_samples, bool)
    for c in cols:
        missing |= pd.isna(pd.Series(c)).to_numpy()
    if missing.any():
        first = int(np.flatnonzero(missing)[0])
        raise DataValueError(f"{who}: {int(missing.sum())} samples have no condition label "
                             f"(NaN/None), the first at sample {first}; label every sample or drop "
                             "the unlabelled ones first.")
    if len(cols) == 1:
        codes, uniques = pd.factorize(pd.Series(cols[0]), sort=True)
        labels = [_plain(u) for u in uniques]
    else:
        index = pd.MultiIndex.from_arrays(cols)
        codes, uniques = pd.factorize(index, sort=True)
        labels = [tuple(_plain(v) for v in u) for u in uniques]
    return np.asarray(codes, dtype=np.intp), labels


class SubtractConditionMeans(_Step):
    """Noise activity: subtract from each sample the mean of its condition.

    The covariance of what is left is the *noise* covariance (trial-to-trial variability),
    which the random-network theory describes; a strong stimulus-locked mean would otherwise
    add low-rank modes. For trial-structured data make the condition of a sample the pair
    (stimulus, time bin within the trial), so that the stimulus-locked time course (PSTH) is
    removed, not only its average: :func:`trial_conditions` builds such labels.

    Parameters
    ----------
    min_count : int
        Each condition needs at least this many samples (default 2: with one sample the
        residual is exactly zero).

    Attributes
    ----------
    classes_ : list
        The conditions (labels, or tuples of labels for 2-D ``y``), sorted.
    counts_ : ndarray of int
        Samples per condition.
    means_ : ndarray, shape (n_conditions, n_neurons)
        Mean activity of each condition.
    n_features_in_ : int

    Notes
    -----
    Removing ``K`` condition means removes ``K`` degrees of freedom from the ``T`` samples (and
    scales each condition's covariance by ``1 - 1/n_k``); the provenance records ``K``.
    ``transform(X)`` without ``y`` reuses the labels of :meth:`fit` (same number of samples);
    in a :class:`~sklearn.pipeline.Pipeline` pass ``y`` to ``fit``/``fit_transform``.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> y = np.repeat([0, 1, 2], 40)
    >>> X = rng.normal(size=(120, 5)) + 10 * y[:, None]
    >>> R = SubtractConditionMeans().fit_transform(X, y)
    >>> bool(np.allclose(R[y == 2].mean(axis=0), 0))
    True
    """

    def __init__(self, min_count=2):
        self.min_count = min_count

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        return tags

    def fit(self, X, y=None):
        """Learn the mean of each condition.

        Parameters
        ----------
        X : array_like of shape (n_samples, n_neurons) or Recording
        y : array_like, shape (n_samples,) or (n_samples, k), or DataFrame
            Condition of each sample (a row of several labels is one combined condition).

        Returns
        -------
        self
        """
        if not (isinstance(self.min_count, (int, np.integer)) and self.min_count >= 2):
            raise ParameterError(f"SubtractConditionMeans: min_count must be an integer >= 2, got "
                                 f"{self.min_count!r}.")
        arr, _ = self._input(X, reset=True)
        n = arr.shape[0]
        codes, labels = _condition_codes(y, n, "SubtractConditionMeans")
        counts = np.bincount(codes, minlength=len(labels))
        few = np.flatnonzero(counts < self.min_count)
        if few.size:
            shown = ", ".join(f"{labels[k]!r} ({_samples(int(counts[k]))})" for k in few[:5])
            raise DataValueError(
                f"SubtractConditionMeans: {few.size} of {len(labels)} conditions have fewer than "
                f"{self.min_count} samples ({shown}{' ...' if few.size > 5 else ''}); subtracting "
                "the mean of one sample leaves exactly zero. Merge those conditions with others, "
                "or drop their samples.")
        sums = np.zeros((len(labels), arr.shape[1]))
        np.add.at(sums, codes, arr)
        self.means_ = sums / counts[:, None]
        self.classes_ = labels
        self.counts_ = counts
        self._codes = codes
        return self

    def _codes_for(self, y, n):
        if y is None:
            if n != self._codes.size:
                raise DataValueError(
                    f"SubtractConditionMeans: transform got {_samples(n)} but no labels; the "
                    f"labels of fit cover {_samples(self._codes.size)}. Pass y (one label per "
                    "sample).")
            return self._codes
        codes, labels = _condition_codes(y, n, "SubtractConditionMeans")
        lookup = {lab: k for k, lab in enumerate(self.classes_)}
        unknown = [lab for lab in labels if lab not in lookup]
        if unknown:
            raise DataValueError(f"SubtractConditionMeans: conditions {unknown[:5]} were not seen "
                                 "by fit; their mean is unknown.")
        remap = np.array([lookup[lab] for lab in labels], dtype=np.intp)
        return remap[codes]

    def transform(self, X, y=None):
        """Subtract each sample's condition mean.

        Parameters
        ----------
        X : array_like of shape (n_samples, n_neurons) or Recording
        y : array_like, optional
            Conditions of the samples; default: those given to :meth:`fit`.

        Returns
        -------
        ndarray or Recording
        """
        check_is_fitted(self, "means_")
        arr, rec = self._input(X, reset=False)
        codes = self._codes_for(y, arr.shape[0])
        out = arr - self.means_[codes]
        k = len(self.classes_)
        text = (f"subtracted the means of {k} conditions ({int(self.counts_.min())}.."
                f"{int(self.counts_.max())} samples each): noise activity; removes {k} of "
                f"{arr.shape[0]} degrees of freedom")
        res = self._output(rec, out, text, {"n_conditions": k,
                                            "samples_per_condition": [int(self.counts_.min()),
                                                                      int(self.counts_.max())]})
        if rec is not None:
            res.meta["dof_removed"] = int(rec.meta.get("dof_removed", 0)) + k
        return res

    def fit_transform(self, X, y=None, **fit_params):
        """:meth:`fit` then :meth:`transform` with the same labels.

        Parameters
        ----------
        X : array_like of shape (n_samples, n_neurons) or Recording
        y : array_like
            Conditions of the samples.

        Returns
        -------
        ndarray or Recording
        """
        return self.fit(X, y).transform(X, y)


# ====================================================================== ZScore
class ZScore(_Step):
    """Standardise each neuron (subtract its mean, divide by its standard deviation).

    The covariance of z-scored activity is the correlation matrix: use it when neurons have
    very different noise levels (e.g. raw fluorescence of ROIs of different brightness).

    Attributes
    ----------
    mean_, scale_ : ndarray, shape (n_neurons,)
    n_features_in_ : int

    Examples
    --------
    >>> import numpy as np
    >>> X = np.random.default_rng(0).normal(3, 2, size=(100, 4))
    >>> np.allclose(ZScore().fit_transform(X).std(axis=0), 1)
    True
    """

    def fit(self, X, y=None):
        """Learn each neuron's mean and standard deviation.

        Parameters
        ----------
        X : array_like of shape (n_samples, n_neurons) or Recording
        y : ignored

        Returns
        -------
        self
        """
        arr, rec = self._input(X, reset=True)
        if arr.shape[0] < 2:
            raise DataValueError(f"ZScore: needs at least 2 samples, got {_samples(arr.shape[0])}.")
        scale = arr.std(axis=0)
        zero = scale == 0
        if zero.any():
            raise DataValueError(f"ZScore: {int(zero.sum())} neurons are constant "
                                 f"({_ids(rec, np.flatnonzero(zero))[:10]}); their z-score is "
                                 "undefined. Put DropConstant() first.")
        self.mean_ = arr.mean(axis=0)
        self.scale_ = scale
        return self

    def transform(self, X):
        """Standardise with the fitted means and standard deviations.

        Parameters
        ----------
        X : array_like of shape (n_samples, n_neurons) or Recording

        Returns
        -------
        ndarray or Recording
        """
        check_is_fitted(self, "scale_")
        arr, rec = self._input(X, reset=False)
        return self._output(rec, (arr - self.mean_) / self.scale_, "z-scored each neuron")


# ====================================================================== helpers
def trial_conditions(recording, trials, column, *, time_locked=True,
                     between="between trials"):
    """Condition labels for each time bin from a trials table (an NWB file's or a DataFrame).

    Parameters
    ----------
    recording : Recording
        Gives the bins' times (``recording.times``, bin starts) and ``bin_size``.
    trials : str, Path or pandas.DataFrame
        An NWB file (its ``trials`` table is read) or a table with ``start_time`` and
        ``stop_time`` (seconds) and ``column``.
    column : str
        The trials column that names each trial's condition (e.g. ``"direction"``).
    time_locked : bool
        Make the condition of a bin the pair (value, bin index since the trial's start), so
        that :class:`SubtractConditionMeans` removes the stimulus-locked time course (default);
        ``False``: the value only (one mean per condition).
    between : str
        Label of bins that fall in no trial (one condition of their own).

    Returns
    -------
    pandas.DataFrame
        One row per bin: ``condition`` (and ``bin_in_trial`` when ``time_locked``); pass it as
        ``y`` to :class:`SubtractConditionMeans`.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from neurospec import Recording
    >>> rec = Recording(np.zeros((6, 2)), bin_size=1.0)
    >>> tr = pd.DataFrame({"start_time": [0.0, 3.0], "stop_time": [2.0, 5.0], "dir": ["L", "R"]})
    >>> trial_conditions(rec, tr, "dir")["condition"].tolist()
    ['L', 'L', 'between trials', 'R', 'R', 'between trials']
    """
    import pandas as pd

    if isinstance(trials, pd.DataFrame):
        table = trials
        where = "trials table"
    else:
        from .io.nwb import _open

        io, nwb = _open(trials)
        try:
            if nwb.trials is None or len(nwb.trials) == 0:
                raise DataValueError(f"{trials}: the NWB file has no trials table; give the "
                                     "conditions as a file of labels instead.")
            table = nwb.trials.to_dataframe()
        finally:
            io.close()
        where = f"{trials}: trials table"
    for c in ("start_time", "stop_time"):
        if c not in table.columns:
            raise DataValueError(f"{where} has no {c!r} column.")
    if column not in table.columns:
        cols = [c for c in table.columns if c not in ("start_time", "stop_time")]
        raise DataValueError(f"{where} has no column {column!r}; its columns are {cols}.")
    starts = table["start_time"].to_numpy(dtype=np.float64)
    stops = table["stop_time"].to_numpy(dtype=np.float64)
    order = np.argsort(starts)
    starts, stops = starts[order], stops[order]
    values = table[column].to_numpy()[order]
    if np.any(starts[1:] < stops[:-1] - 1e-12):
        raise DataValueError(f"{where}: trials overlap; each time bin must belong to one trial.")
    t = recording.times + 0.5 * recording.bin_size  # bin centres
    k = np.searchsorted(starts, t, side="right") - 1
    inside = (k >= 0) & (t < stops[np.clip(k, 0, None)])
    cond = np.array([_plain(values[i]) if ok else between for i, ok in zip(k, inside)],
                    dtype=object)
    out = {"condition": cond}
    if time_locked:
        b = np.where(inside, np.floor((t - starts[np.clip(k, 0, None)]) / recording.bin_size), 0)
        out["bin_in_trial"] = b.astype(int)
    return pd.DataFrame(out)


def read_conditions(path):
    """Per-sample condition labels from a file: ``.npy`` (numeric or strings), ``.csv``/``.txt``.

    Parameters
    ----------
    path : str or Path
        ``.npy`` (1-D labels, or 2-D: one row of labels per sample), ``.csv`` (a header line,
        one row per sample; several columns form one combined condition) or ``.txt`` (one label
        per line).

    Returns
    -------
    ndarray or pandas.DataFrame
        For ``y`` of :class:`SubtractConditionMeans`.

    Examples
    --------
    >>> import numpy as np, tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "y.npy"; np.save(p, np.repeat([1, 2], 3))
    >>> read_conditions(p).tolist()
    [1, 1, 1, 2, 2, 2]
    """
    from pathlib import Path

    import pandas as pd

    from .errors import LoaderError

    p = Path(path)
    if not p.is_file():
        raise LoaderError(f"{p}: no such conditions file.")
    suffix = p.suffix.lower()
    if suffix == ".npy":
        try:
            return np.load(p, allow_pickle=False)
        except ValueError as exc:
            raise LoaderError(f"{p}: cannot read the labels ({exc}); save numbers or strings "
                              "(not Python objects) with numpy.save.") from None
    if suffix == ".csv":
        try:
            return pd.read_csv(p)
        except Exception as exc:
            raise LoaderError(f"{p}: not a readable CSV file ({exc}).") from None
    if suffix == ".txt":
        lines = [ln.strip() for ln in p.read_text().splitlines() if ln.strip()]
        return np.array(lines, dtype=object)
    raise LoaderError(f"{p}: conditions must be a .npy, .csv or .txt file of labels (one per sample).")


def default_pipeline(*, detrend=None, detrend_order=None, zscore=False, conditions=False,
                     select=None):
    """The preprocessing ``neurospec fit`` applies, as a scikit-learn Pipeline.

    Parameters
    ----------
    detrend : float, optional
        :class:`HighPass` cutoff in seconds (none by default).
    detrend_order : int, optional
        Add a :class:`Detrend` of this polynomial order.
    zscore : bool
        Add :class:`ZScore` at the end.
    conditions : bool
        Add :class:`SubtractConditionMeans` (pass ``y`` to ``fit_transform``).
    select : SelectNeurons, optional
        A selection step to put after :class:`DropConstant`.

    Returns
    -------
    sklearn.pipeline.Pipeline
        Always starts with :class:`DropConstant` (constant neurons are never fitted).

    Examples
    --------
    >>> import numpy as np
    >>> X = np.random.default_rng(0).normal(size=(200, 5)); X[:, 0] = 1.0
    >>> default_pipeline(zscore=True).fit_transform(X).shape
    (200, 4)
    """
    steps = [("drop_constant", DropConstant())]
    if select is not None:
        steps.append(("select", select))
    if detrend_order:
        steps.append(("detrend", Detrend(order=int(detrend_order))))
    if detrend is not None:
        steps.append(("highpass", HighPass(cutoff=float(detrend))))
    if conditions:
        steps.append(("condition_means", SubtractConditionMeans()))
    if zscore:
        steps.append(("zscore", ZScore()))
    return Pipeline(steps)


def preprocess(recording, *, detrend=None, detrend_order=None, zscore=False, conditions=None):
    """Apply :func:`default_pipeline` to a Recording.

    Parameters
    ----------
    recording : Recording
    detrend, detrend_order, zscore
        As for :func:`default_pipeline`.
    conditions : array_like or DataFrame, optional
        Condition of each sample (adds :class:`SubtractConditionMeans`).

    Returns
    -------
    Recording
        With every step in ``meta["preprocessing"]`` and ``meta["pipeline"]``.

    Examples
    --------
    >>> import numpy as np
    >>> from neurospec import Recording
    >>> rec = Recording(np.random.default_rng(0).normal(size=(3000, 4)), bin_size=0.1)
    >>> preprocess(rec, detrend=30.0).meta["pipeline"][-1]["step"]
    'HighPass'
    """
    if not isinstance(recording, Recording):
        raise DataValueError("preprocess: expects a Recording; for arrays use default_pipeline().")
    pipe = default_pipeline(detrend=detrend, detrend_order=detrend_order, zscore=zscore,
                            conditions=conditions is not None)
    if conditions is not None:
        return pipe.fit_transform(recording, conditions)
    return pipe.fit_transform(recording)
