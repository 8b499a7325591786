"""One progress bar for all long-running loops (simulation, subsampling, bootstrap, ladders)."""

__all__ = ["progress_bar"]


def progress_bar(total=None, *, enabled=True, desc=None, unit="it", leave=False, bar_format=None):
    """A tqdm bar that shows only when ``enabled``.

    ``tqdm.auto`` (a notebook widget where one is available) is imported only for a visible
    bar: importing it in a notebook without ipywidgets prints a warning even when the bar
    is disabled.

    Parameters
    ----------
    total : int, optional
        Number of steps.
    enabled : bool
        Show the bar; when False a silent bar with the same interface is returned.
    desc, unit : str, optional
        Label and step unit shown by tqdm.
    leave : bool
        Keep the finished bar on screen.
    bar_format : str, optional
        tqdm's layout string (e.g. ``"{l_bar}{bar}| {elapsed}<{remaining}"`` for steps of
        unequal cost, where a count and a rate would mislead).

    Returns
    -------
    tqdm.tqdm
        Use ``update(n)`` and ``close()``, or as a context manager.
    """
    if enabled:
        from tqdm.auto import tqdm
    else:
        from tqdm import tqdm
    return tqdm(total=total, disable=not enabled, desc=desc, unit=unit, leave=leave,
                bar_format=bar_format)
