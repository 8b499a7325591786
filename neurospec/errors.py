"""Exceptions raised by neurospec.

Every error is a :class:`NeurospecError`, itself a :class:`ValueError`, so
``except ValueError`` keeps working in user code. Each message names the
offending input and says what to do about it.
"""

__all__ = [
    "NeurospecError",
    "LoaderError",
    "FileFormatError",
    "UnsafeFileError",
    "NoDataError",
    "AmbiguousSourceError",
    "DataValueError",
    "SpikeTimesError",
    "ShapeError",
    "BinSizeError",
    "ParameterError",
    "ConvergenceError",
    "FitError",
    "InsufficientMemoryError",
    "ClusterError",
]


class NeurospecError(ValueError):
    """Base class of every error neurospec raises on purpose.

    It is a :class:`ValueError`; each subclass names one kind of bad input, and every message
    names the offending input and the fix.

    Examples
    --------
    >>> import neurospec as ns
    >>> try:
    ...     ns.load("no_such_file.nwb")
    ... except ns.NeurospecError as err:
    ...     print(type(err).__name__, "-", err)           # doctest: +ELLIPSIS
    LoaderError - no_such_file.nwb: no such file; check the path ...
    """


class LoaderError(NeurospecError):
    """A file could not be read (missing, unreadable, corrupt)."""


class FileFormatError(LoaderError):
    """The file's suffix or internal layout is not one neurospec reads."""


class UnsafeFileError(LoaderError):
    """A file (e.g. a pickled ``.npy``) holds objects whose loading could run code; refused."""


class NoDataError(LoaderError):
    """The file holds no usable activity (no units, no series, empty unit...)."""


class AmbiguousSourceError(LoaderError):
    """Several data sources are present and the user must choose one."""


class DataValueError(NeurospecError):
    """Activity values are unusable (NaN, inf, empty)."""


class SpikeTimesError(DataValueError):
    """Spike times are ragged, negative, unsorted or otherwise malformed."""


class ShapeError(NeurospecError):
    """An array has the wrong number of dimensions or an implausible orientation."""


class BinSizeError(NeurospecError):
    """A bin size or window is not positive or is longer than the recording."""


class ParameterError(NeurospecError):
    """A model parameter is out of its valid range."""


class ConvergenceError(NeurospecError, RuntimeError):
    """A numerical solver did not converge or no solution exists."""


class FitError(NeurospecError, RuntimeError):
    """A spectral fit could not be carried out."""


class InsufficientMemoryError(NeurospecError, MemoryError):
    """Data or a matrix would not fit in the memory available; the message names the path
    that needs less (streamed, Gram or matrix-free)."""


class ClusterError(NeurospecError, ConnectionError):
    """A dask.distributed scheduler could not be reached (the message gives its address)."""
