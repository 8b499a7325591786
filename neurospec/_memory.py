"""How much memory this process may still use, and a check before large allocations.

Private helpers shared by the estimators that allocate arrays proportional to the data
(the in-memory loaders, the N x N covariance). The figure is the smaller of the memory the
kernel reports as available (``MemAvailable``: free plus reclaimable cache) and what a
cgroup limit (containers, batch-system jobs) still allows; on systems that expose neither
(and without psutil) the check is skipped rather than guessed.
"""

from __future__ import annotations

import os

from .errors import InsufficientMemoryError

__all__ = ["available_memory", "check_memory", "format_bytes"]


def _meminfo_available():
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def _cgroup_room():
    """Bytes a cgroup (v2 or v1) limit still allows, or None without a limit."""
    pairs = [("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"),
             ("/sys/fs/cgroup/memory/memory.limit_in_bytes",
              "/sys/fs/cgroup/memory/memory.usage_in_bytes")]
    for lim_path, use_path in pairs:
        try:
            with open(lim_path) as f:
                raw = f.read().strip()
            if raw == "max":
                return None
            limit = int(raw)
            if limit >= 2**60:  # v1 reports "no limit" as a huge number
                return None
            with open(use_path) as f:
                used = int(f.read().strip())
            return max(limit - used, 0)
        except (OSError, ValueError):
            continue
    return None


def available_memory():
    """Bytes of memory this process can still allocate without swapping, or None if unknown.

    Returns
    -------
    int or None
        ``min(MemAvailable, cgroup limit - cgroup usage)`` on Linux; psutil's
        ``virtual_memory().available`` elsewhere when psutil is installed; else None.
    """
    env = os.environ.get("NEUROSPEC_MEMORY_LIMIT")  # testing and user override (bytes)
    if env:
        try:
            return int(float(env))
        except ValueError:
            pass
    values = [v for v in (_meminfo_available(), _cgroup_room()) if v is not None]
    if values:
        return min(values)
    try:  # pragma: no cover - non-Linux
        import psutil

        return int(psutil.virtual_memory().available)
    except Exception:  # pragma: no cover
        return None


def format_bytes(n):
    """``1.6e9 -> '1.6 GB'`` (decimal units, as people quote RAM and file sizes)."""
    n = float(n)
    for unit in ("B", "kB", "MB", "GB", "TB", "PB"):
        if abs(n) < 1000 or unit == "PB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000.0
    return f"{n:.1f} PB"  # pragma: no cover


def check_memory(needed, what, fix):
    """Raise :class:`InsufficientMemoryError` if ``needed`` bytes exceed what is available.

    Parameters
    ----------
    needed : int
        Bytes the caller is about to allocate (beyond what it already holds).
    what : str
        What needs them, e.g. ``"X: 40000 x 20000 samples as float64"``.
    fix : str
        The path to use instead (a full sentence).
    """
    avail = available_memory()
    if avail is not None and needed > avail:
        raise InsufficientMemoryError(
            f"{what} need {format_bytes(needed)} of memory, but only {format_bytes(avail)} are "
            f"available. {fix}"
        )
