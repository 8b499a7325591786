"""The window ladder: ``g_eff`` against window length, and whether it has converged."""

from __future__ import annotations

import math
import warnings

import numpy as np

from .._progress import progress_bar
from ..errors import ParameterError, ShapeError
from .estimator import GainFit, GainFitWarning

__all__ = ["window_ladder", "WindowConvergenceWarning"]

#: the last two rungs differ significantly when |difference| > this many combined s.e.
_Z_CONVERGED = 2.0


class WindowConvergenceWarning(UserWarning):
    """``g_eff`` still changes with the window length at the longest window available."""


def window_ladder(data, windows=None, *, bin_size=None, min_windows=None, n_boot=50,
                  random_state=None, progress=False, warn=True, **fit_params):
    """Fit ``g_eff`` over a ladder of window lengths and check that it has converged.

    Activity summed over windows that are short against the network's slowest time scale
    (about ``tau / (1 - g_eff)``) has a narrower spectrum than the zero-frequency covariance
    the theory describes, so the fit reads ``g_eff`` low (science.md §4, "Finite windows":
    5.3 % low at W = 10 tau, 1.6 % at W = 30 tau for g = 0.55). Near criticality the bias can
    go either way: for a simulated linear network of N = 400 with g = 0.97 (slowest time scale
    68 tau) windows of 10, 50 and 400 tau read 0.993, 0.928 and 0.967 against 0.964 at zero
    frequency. The estimate should level off with the window; if it still changes between the
    two longest windows the recording allows, a :class:`WindowConvergenceWarning` says so.
    The ladder shows the raw window dependence (``window_correction="none"``): it is the
    diagnostic of what :class:`GainFit`'s finite-window correction has to remove.

    Parameters
    ----------
    data : array_like or Recording
        Activity, shape (n_samples, n_neurons) (time x neurons).
    windows : sequence of int, optional
        Window lengths in bins. Default: powers of two from 1 up to the longest window that
        leaves at least ``min_windows`` windows.
    bin_size : float, optional
        Bin width in seconds (taken from a Recording); adds a ``window_s`` column.
    min_windows : int, optional
        Fewest windows a ladder step may have (default ``N / 2``, i.e. alpha <= 2).
    n_boot : int
        Replicates per step. The ladder compares windows of the *same* network, so the
        uncertainty is the sampling noise only (``bootstrap="samples"``).
    random_state, progress
        As in :class:`GainFit`.
    warn : bool
        Emit :class:`WindowConvergenceWarning` when not converged.
    **fit_params
        Other :class:`GainFit` parameters (``kind``, ``drop_top``, ``model``...).

    Returns
    -------
    pandas.DataFrame
        Columns ``window`` (bins), ``window_s`` (seconds, NaN without a bin size),
        ``n_windows``, ``alpha``, ``g_eff``, ``stderr``, ``ci_low``, ``ci_high``,
        ``n_dropped``. ``attrs["converged"]`` is True/False and ``attrs["message"]`` explains.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.random.default_rng(0).standard_normal((2000, 40))
    >>> df = window_ladder(X, windows=[1, 2], n_boot=0, warn=False)
    >>> list(df.window)
    [1, 2]

    Warns
    -----
    WindowConvergenceWarning
        When the last two steps differ by more than both twice their combined standard
        error (sampling only; a two-sided test at about 5 %) and 1 % of the estimate. The message explains the direction: a rise
        is the classic finite-window bias (short windows read low); a fall is seen near
        criticality (slow modes correlated across windows) and with non-stationary activity.
    """
    import pandas as pd

    from ..recording import Recording

    if isinstance(data, Recording):
        X = data.activity
        bin_size = data.bin_size if bin_size is None else bin_size
    else:
        X = np.asarray(data, dtype=float)
    if X.ndim != 2:
        raise ShapeError(f"window_ladder: activity must be 2-D (n_samples, n_neurons), got shape "
                         f"{X.shape}.")
    T, N = X.shape
    for bad in ("window", "bootstrap", "n_boot", "random_state", "progress", "window_correction"):
        if bad in fit_params:
            raise ParameterError(f"window_ladder: {bad!r} is set by the ladder itself; remove it.")
    if min_windows is None:
        min_windows = max(N // 2, 20)
    if windows is None:
        windows = []
        w = 1
        while T // w >= min_windows:
            windows.append(w)
            w *= 2
        if not windows:
            raise ParameterError(
                f"window_ladder: {T} samples do not give {min_windows} windows even of one bin; "
                "lower min_windows or record longer.")
    windows = sorted({int(w) for w in windows})
    if windows[0] < 1:
        raise ParameterError(f"window_ladder: windows must be positive integers, got {windows}.")
    too_long = [w for w in windows if T // w < 2]
    if too_long:
        raise ParameterError(f"window_ladder: windows {too_long} leave fewer than 2 windows in "
                             f"{T} samples; use shorter windows.")
    rng = np.random.default_rng(random_state)
    rows = []
    bar = progress_bar(len(windows), enabled=progress, desc="window ladder")
    for w in windows:
        bar.update(1)
        gf = GainFit(window=w, bootstrap="samples", n_boot=n_boot, window_correction="none",
                     random_state=rng.integers(2**63), **fit_params)
        with warnings.catch_warnings():
            # the ladder compares estimates; a small n_boot is its own (documented) choice
            warnings.filterwarnings("ignore", message="GainFit: n_boot=", category=GainFitWarning)
            gf.fit(X)
        rows.append(dict(window=w, window_s=(w * bin_size if bin_size else np.nan),
                         n_windows=T // w, alpha=gf.alpha_, g_eff=gf.g_eff_,
                         stderr=gf.g_eff_stderr_, ci_low=gf.g_eff_ci_[0],
                         ci_high=gf.g_eff_ci_[1], n_dropped=gf.n_dropped_))
    bar.close()
    df = pd.DataFrame(rows)
    converged, msg = True, "only one window length: convergence not checked"
    if len(df) >= 2:
        a, b = df.iloc[-2], df.iloc[-1]
        diff = b.g_eff - a.g_eff
        comb = math.sqrt(np.nan_to_num(a.stderr) ** 2 + np.nan_to_num(b.stderr) ** 2)
        rel = abs(diff) / max(abs(b.g_eff), 1e-12)
        between = f"between windows of {int(a.window)} and {int(b.window)} bins"
        if bin_size:
            between += f" ({a.window * bin_size:.4g} and {b.window * bin_size:.4g} s)"
        converged = not (abs(diff) > _Z_CONVERGED * comb and rel > 0.01)
        tscale = 1.0 / max(1.0 - b.g_eff, 1e-6)
        if converged:
            msg = (f"converged: g_eff changed by {diff:+.4f} {between} (combined s.e. {comb:.4f}, "
                   f"{100 * rel:.1f} %)")
        else:
            if diff > 0:
                why = ("It still rises: short windows see the activity above zero frequency, whose "
                       "spectrum is narrower, and read g_eff low (science.md §4, 'Finite "
                       "windows').")
            else:
                why = ("It falls: near criticality short windows can also read g_eff high (the "
                       "slowest modes stay correlated across windows; seen in simulated networks "
                       "with g_eff above 0.95), and slow drifts or state changes "
                       "(non-stationarity) make the estimate window-dependent too.")
            msg = (f"g_eff has not converged: it changed by {diff:+.4f} ({100 * rel:.1f} %, "
                   f"combined s.e. {comb:.4f}) {between}, the longest this recording allows. "
                   f"{why} The network's slowest time scale is about tau / (1 - g_eff) = "
                   f"{tscale:.0f} tau at this estimate (tau: the neurons' time constant, or the "
                   "indicator's decay time for calcium traces), and windows should be several "
                   "times longer. Treat the estimate as window-dependent: record longer, or "
                   "report the ladder.")
            if warn:
                warnings.warn(msg, WindowConvergenceWarning, stacklevel=2)
    df.attrs["converged"] = converged
    df.attrs["message"] = msg
    return df
