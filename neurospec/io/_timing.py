"""Checks of time stamps shared by the NWB and array loaders."""

import numpy as np

from ..errors import DataValueError


def timestamp_intervals(times, name, fix):
    """Validate time stamps and measure how regular they are.

    Parameters
    ----------
    times : array_like, shape (n_samples,)
        Time stamps in seconds.
    name : str
        The input they belong to, for messages.
    fix : str
        What the user should do when they are broken, appended to the message.

    Returns
    -------
    dt : ndarray, shape (n_samples - 1,)
        Intervals between samples (s).
    mean_dt : float
        Mean interval (s).
    deviation : float
        Largest relative deviation of an interval from the mean, ``max|dt - mean| / mean``.

    Raises
    ------
    DataValueError
        Fewer than two stamps, NaN/inf, or stamps that are not strictly increasing.
    """
    times = np.asarray(times, dtype=np.float64)
    if times.size < 2:
        raise DataValueError(f"{name}: need at least two time stamps to know the sampling interval.")
    if not np.all(np.isfinite(times)):
        raise DataValueError(f"{name}: time stamps hold NaN/inf; {fix}.")
    dt = np.diff(times)
    if np.any(dt <= 0):
        i = int(np.flatnonzero(dt <= 0)[0])
        raise DataValueError(
            f"{name}: time stamps are not strictly increasing (sample {i + 1}: {times[i + 1]:g} s "
            f"after {times[i]:g} s); {fix}."
        )
    mean_dt = float((times[-1] - times[0]) / (times.size - 1))
    return dt, mean_dt, float(np.max(np.abs(dt - mean_dt)) / mean_dt)
