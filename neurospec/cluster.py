"""Connecting to a dask.distributed cluster, failing fast when it cannot be reached.

Every dask-aware estimator (:class:`~neurospec.CovarianceSpectrum`,
:class:`~neurospec.matrixfree.MatrixFreeSpectrum`) runs on the dask scheduler that is
active when ``fit`` is called: with a ``distributed.Client`` open, on its cluster. Where the
cluster comes from is the user's choice (a ``LocalCluster``, ``dask_jobqueue.SLURMCluster``,
``dask_kubernetes.KubeCluster``, a scheduler started by hand); :func:`connect` only makes
the connection fail with the scheduler's address and the reason, within ``timeout`` seconds,
instead of waiting.
"""

from __future__ import annotations

import asyncio

from .errors import ClusterError, ParameterError

__all__ = ["connect"]


def connect(address, *, timeout=10.0, **client_kwargs):
    """Open a ``distributed.Client`` on a scheduler, or fail within ``timeout`` seconds.

    Parameters
    ----------
    address : str or cluster object
        Scheduler address (``"tcp://10.0.0.5:8786"``, ``"tls://..."``) or a cluster object
        (``LocalCluster``, ``SLURMCluster``, ``KubeCluster``...; its ``scheduler_address``
        is reported on failure).
    timeout : float
        Seconds to wait for the connection.
    **client_kwargs
        Passed to ``distributed.Client`` (e.g. ``security=...``).

    Returns
    -------
    distributed.Client
        Close it (or use it as a context manager) when done.

    Raises
    ------
    ClusterError
        The scheduler could not be reached in time; the message has its address and the
        underlying error.

    Examples
    --------
    >>> from distributed import LocalCluster
    >>> from neurospec.cluster import connect
    >>> with LocalCluster(n_workers=1, processes=False, dashboard_address=None) as cluster:
    ...     with connect(cluster, timeout=20) as client:
    ...         print(client.status)
    running
    """
    try:
        from distributed import Client
    except ImportError:  # pragma: no cover - distributed is in the test extra
        raise ParameterError(
            "neurospec.cluster.connect needs dask.distributed: pip install distributed "
            "(or neurospec[test])."
        ) from None
    if not (isinstance(timeout, (int, float)) and timeout > 0):
        raise ParameterError(f"timeout must be a positive number of seconds, got {timeout!r}.")
    where = getattr(address, "scheduler_address", address)
    try:
        return Client(address, timeout=timeout, **client_kwargs)
    except (OSError, TimeoutError, asyncio.TimeoutError) as exc:
        raise ClusterError(
            f"could not reach the dask scheduler at {where!r} within {timeout:g} s "
            f"({type(exc).__name__}: {exc}). Check that the scheduler is running and that "
            "this machine can reach its address and port (firewall, VPN, the address the "
            "scheduler printed); for a batch cluster, that the scheduler job has started."
        ) from exc
