"""Number formatting shared by reports, check summaries and figures (no heavy imports, so
that importing :mod:`neurospec.plotting` or :mod:`neurospec.diagnostics` stays fast)."""

from __future__ import annotations

import math


def stderr_decimals(*stderrs, minimum=3, maximum=6):
    """Decimals that show at least one significant digit of the smallest standard error.

    A 20,000-neuron recording pins g_eff to about 1e-4: three decimals would print its interval
    as ``[0.500, 0.500]``.

    Parameters
    ----------
    *stderrs : float or None
        Standard errors (None, NaN and non-positive values are ignored).
    minimum, maximum : int
        Bounds on the number of decimals.

    Returns
    -------
    int

    Examples
    --------
    >>> [stderr_decimals(se) for se in (0.02, 0.0021, 0.0002, None)]
    [3, 3, 4, 3]
    """
    finite = []
    for se in stderrs:
        try:
            se = float(se)
        except (TypeError, ValueError):
            continue
        if math.isfinite(se) and se > 0:
            finite.append(se)
    if not finite:
        return minimum
    return int(min(max(minimum, -math.floor(math.log10(min(finite)))), maximum))
