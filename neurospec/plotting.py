"""Figures for covariance spectra: rank plots, densities, CDF diagnostics, subsampling curves.

Every function draws into a matplotlib :class:`~matplotlib.axes.Axes` (a new figure when
``ax=None``) and returns the axes, so panels can be composed and restyled. Eigenvalues are shown
**mean-normalised**, ``x = λ / ⟨λ⟩`` (the mean taken over the modes that are kept, i.e. after
dropping the top ``drop_top`` modes), which is the scale the theory spectra of
:mod:`neurospec.theory` use with ``normalized=True``.

Theory objects are duck-typed: anything with ``pdf``/``cdf``/``ppf`` (a frozen
``scipy.stats`` distribution, :class:`~neurospec.theory.LinearSpectrum`,
:class:`~neurospec.theory.MarchenkoPastur`, a sampled or subsampled spectrum) can be overlaid.
``rank_curve(n)`` is used when present, else the quantile function.

Works under any backend, including the non-interactive ``Agg`` used by the command line.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from .errors import DataValueError, ParameterError, ShapeError
from ._format import stderr_decimals

__all__ = [
    "rank_plot",
    "density_plot",
    "cdf_plot",
    "subsampling_plot",
    "spectrum_figure",
    "theory_rank_curve",
    "empirical_cdf_distances",
    "ladder_plot",
    "split_half_figure",
    "comparison_figure",
]

#: colours: data (near-black), theory curves (a qualitative cycle), null model (grey)
_DATA_COLOR = "0.15"
_THEORY_COLORS = ("#d62728", "#1f77b4", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b")
_NULL_COLOR = "0.45"
_XLABEL_NORM = r"normalised eigenvalue $\lambda/\langle\lambda\rangle$"


# ---------------------------------------------------------------------------- helpers
def _value(obj, name, *args):
    """``obj.name`` whether it is a property or a method (``support`` / ``mean`` / PR)."""
    attr = getattr(obj, name)
    return attr(*args) if callable(attr) else attr


def _get_axes(ax):
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=(5.0, 4.0), layout="constrained")
    return ax


def _eigenvalue_array(eigenvalues, name="eigenvalues"):
    """Validate a 1-D array of eigenvalues (or take ``eigenvalues_`` from a fitted spectrum)."""
    if hasattr(eigenvalues, "eigenvalues_"):
        eigenvalues = eigenvalues.eigenvalues_
    try:
        lam = np.asarray(eigenvalues, dtype=np.float64)
    except (TypeError, ValueError):
        raise DataValueError(
            f"{name}: expected a 1-D array of eigenvalues, got {type(eigenvalues).__name__}."
        ) from None
    if lam.ndim != 1:
        raise ShapeError(
            f"{name}: expected a 1-D array of eigenvalues, got shape {lam.shape}. For a covariance "
            "matrix C pass numpy.linalg.eigvalsh(C); for activity use "
            "neurospec.CovarianceSpectrum().fit(X).eigenvalues_."
        )
    if lam.size < 2:
        raise DataValueError(f"{name}: need at least 2 eigenvalues to plot, got {lam.size}.")
    if not np.all(np.isfinite(lam)):
        raise DataValueError(f"{name}: eigenvalues contain NaN or inf; check the input covariance.")
    scale = np.max(np.abs(lam))
    if np.any(lam < -1e-8 * scale):
        raise DataValueError(
            f"{name}: {int(np.sum(lam < -1e-8 * scale))} eigenvalues are negative (min {lam.min():.3g}); "
            "a covariance matrix is positive semi-definite. Check the input (cross-validated spectra "
            "can be negative: plot their positive part)."
        )
    lam = np.clip(lam, 0.0, None)
    if not np.any(lam > 0):
        raise DataValueError(f"{name}: every eigenvalue is zero; the activity is constant.")
    return np.sort(lam)[::-1]


def _normalise(lam, drop_top, normalize):
    """Split off the top ``drop_top`` modes and divide everything by the mean of the rest."""
    drop_top = int(drop_top)
    if drop_top < 0 or drop_top > lam.size - 2:
        raise ParameterError(
            f"drop_top={drop_top} must be between 0 and n_eigenvalues - 2 = {lam.size - 2}."
        )
    kept = lam[drop_top:]
    scale = kept.mean() if normalize else 1.0
    return lam[:drop_top] / scale, kept / scale


def _theory_items(theory, default_label):
    """Normalise ``theory`` (None, one object, list, or {label: object}) to [(label, obj)]."""
    if theory is None:
        return []
    if isinstance(theory, Mapping):
        items = list(theory.items())
    elif isinstance(theory, (list, tuple)):
        items = [(f"{default_label} {i + 1}" if len(theory) > 1 else default_label, t)
                 for i, t in enumerate(theory)]
    else:
        items = [(getattr(theory, "label", None) or default_label, theory)]
    for label, obj in items:
        if not (hasattr(obj, "pdf") or hasattr(obj, "cdf") or hasattr(obj, "ppf")):
            raise ParameterError(
                f"theory {label!r}: expected a spectrum object with pdf/cdf/ppf (e.g. "
                f"neurospec.theory.LinearSpectrum), got {type(obj).__name__}."
            )
    return items


def theory_rank_curve(theory, n):
    """Theoretical k-th largest of ``n`` eigenvalues, k = 1..n.

    Uses ``theory.rank_curve(n)`` when the object has it, else the quantiles
    ``ppf(1 - (k - 1/2) / n)``.

    Parameters
    ----------
    theory : spectrum object
        Has ``rank_curve(n)`` or ``ppf(q)``.
    n : int
        Number of eigenvalues.

    Returns
    -------
    ndarray, shape (n,)
        Descending.

    Examples
    --------
    >>> from neurospec.plotting import theory_rank_curve
    >>> from neurospec.theory import LinearSpectrum
    >>> [round(float(v), 3) for v in theory_rank_curve(LinearSpectrum(0.5, normalized=True), 5)]
    [2.192, 1.064, 0.665, 0.454, 0.316]
    """
    if hasattr(theory, "rank_curve"):
        curve = np.asarray(theory.rank_curve(int(n)), dtype=np.float64)
    else:
        k = np.arange(1, n + 1)
        curve = np.asarray(theory.ppf(1.0 - (k - 0.5) / n), dtype=np.float64)
    if curve.shape != (n,):
        raise ShapeError(f"rank curve has shape {curve.shape}, expected ({n},).")
    return curve


def _support(theory):
    try:
        lo, hi = _value(theory, "support")
        return float(lo), float(hi)
    except (AttributeError, TypeError, ValueError):
        return None


def _pdf_grid(x_pos, theories, n_grid=600):
    """Log grid covering the data and the supports of the theories."""
    lo, hi = x_pos.min(), x_pos.max()
    for _, t in theories:
        sup = _support(t)
        if sup is not None:
            if sup[0] > 0:
                lo = min(lo, sup[0])
            if np.isfinite(sup[1]):
                hi = max(hi, sup[1])
    lo = max(lo, hi * 1e-8)
    return np.geomspace(lo / 1.05, hi * 1.05, n_grid)


def _tidy_log_axis(ax, which="x"):
    """Readable ticks on a log axis spanning few decades (matplotlib labels crowded minor ticks).

    Over less than 2 decades, major ticks go at 1, 2, 5 x 10^k with plain labels
    ("0.2", "0.5", "1", "2") and minor labels are switched off; wider axes keep the default.
    (Below 2 decades an axis may hold a single power of ten, and matplotlib then labels
    every minor tick in scientific notation, which overlap.)
    """
    from matplotlib import ticker

    axis = ax.xaxis if which == "x" else ax.yaxis
    ax.autoscale_view()
    lo, hi = sorted(axis.get_view_interval())
    if lo <= 0 or hi / lo > 100:
        return
    axis.set_major_locator(ticker.LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    axis.set_major_formatter(ticker.FuncFormatter(lambda v, _: f"{v:g}"))
    axis.set_minor_formatter(ticker.NullFormatter())


def _finish_legend(ax, **kw):
    handles, _ = ax.get_legend_handles_labels()
    if handles:
        ax.legend(frameon=False, fontsize="small", **kw)


# ---------------------------------------------------------------------------- rank plot
def rank_plot(eigenvalues, theory=None, null=None, ax=None, *, drop_top=0, normalize=True,
              label="data", null_label="Marchenko–Pastur null", theory_label="theory",
              markersize=3.0):
    """Log–log plot of normalised eigenvalue against its rank.

    Parameters
    ----------
    eigenvalues : array_like, shape (n,), or fitted CovarianceSpectrum
        Covariance eigenvalues (any order; sorted here). Zeros (e.g. when there are fewer time
        samples than neurons) are left out of the log axes.
    theory : spectrum object, list or dict {label: spectrum}, optional
        Theory spectra on the normalised scale (mean 1), e.g.
        ``LinearSpectrum(g, normalized=True).sampled(alpha)``; each is drawn as its rank curve for
        ``n - drop_top`` eigenvalues at ranks ``drop_top + 1 .. n``.
    null : spectrum object, optional
        Null model (typically ``MarchenkoPastur(alpha)``), drawn dashed grey.
    ax : matplotlib Axes, optional
    drop_top : int
        Number of top modes excluded from the normalisation (e.g. a global mode removed by the
        fit); they are drawn as open markers.
    normalize : bool
        Divide by the mean of the kept eigenvalues (default). ``False`` plots raw eigenvalues.
    label, null_label, theory_label : str
        Legend entries.
    markersize : float

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    Eigenvalues of the sample covariance of a simulated network against the theory and the null:

    >>> from neurospec.simulate import draw_couplings
    >>> from neurospec.theory import LinearSpectrum, MarchenkoPastur
    >>> rng = np.random.default_rng(0)
    >>> J = draw_couplings(200, 0.5, rng=rng)                       # a network with g = 0.5
    >>> X = np.linalg.solve(np.eye(200) - J, rng.standard_normal((200, 2000))).T  # time x neurons
    >>> ev = np.linalg.eigvalsh(np.cov(X, rowvar=False))
    >>> theory = LinearSpectrum(0.5, normalized=True).sampled(alpha=0.1)  # N / T = 0.1
    >>> from neurospec.plotting import rank_plot
    >>> ax = rank_plot(ev, theory, null=MarchenkoPastur(0.1))
    >>> ax.get_xscale(), ax.get_yscale()
    ('log', 'log')
    """
    lam = _eigenvalue_array(eigenvalues)
    dropped, kept = _normalise(lam, drop_top, normalize)
    theories = _theory_items(theory, theory_label)
    ax = _get_axes(ax)
    n = lam.size
    ranks = np.arange(1, n + 1)
    pos = kept > 0
    ax.plot(ranks[drop_top:][pos], kept[pos], "o", ms=markersize, color=_DATA_COLOR, mew=0,
            alpha=0.8, label=label, zorder=3)
    if drop_top:
        ax.plot(ranks[:drop_top], dropped, "o", ms=markersize + 2.5, mfc="none", mec="#d62728",
                mew=1.2, label=f"dropped top mode{'s' if drop_top > 1 else ''} ({drop_top})",
                zorder=4)
    n_kept = kept.size
    for i, (tlabel, t) in enumerate(theories):
        curve = theory_rank_curve(t, n_kept)
        ok = curve > 0
        ax.plot(ranks[drop_top:][ok], curve[ok], "-", lw=1.8,
                color=_THEORY_COLORS[i % len(_THEORY_COLORS)], label=tlabel, zorder=2)
    if null is not None:
        _theory_items(null, null_label)
        curve = theory_rank_curve(null, n_kept)
        ok = curve > 0
        ax.plot(ranks[drop_top:][ok], curve[ok], "--", lw=1.4, color=_NULL_COLOR, label=null_label,
                zorder=1)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("rank $k$")
    ax.set_ylabel(_XLABEL_NORM if normalize else r"eigenvalue $\lambda_k$")
    _tidy_log_axis(ax, "y")
    # eigenvalues descend with rank, so the lower-left corner of a rank plot is always empty
    _finish_legend(ax, loc="lower left")
    return ax


# ---------------------------------------------------------------------------- density
def _log_bins(x_pos, bins):
    if np.ndim(bins) == 0:
        n_bins = int(bins)
        if n_bins < 2:
            raise ParameterError(f"bins={bins!r}: need at least 2 bins.")
        lo, hi = x_pos.min(), x_pos.max()
        if hi <= lo:
            hi = lo * 1.01
        return np.geomspace(lo / 1.0001, hi * 1.0001, n_bins + 1)
    edges = np.asarray(bins, dtype=np.float64)
    if edges.ndim != 1 or edges.size < 3 or np.any(np.diff(edges) <= 0) or edges[0] <= 0:
        raise ParameterError(
            "bins: give a number of log-spaced bins or increasing positive bin edges (>= 3 edges)."
        )
    return edges


def density_plot(eigenvalues, theory=None, null=None, ax=None, *, bins=None, drop_top=0,
                 normalize=True, yscale="log", label="data", null_label="Marchenko–Pastur null",
                 theory_label="theory"):
    """Histogram of normalised eigenvalues in log-spaced bins, with theory densities.

    The histogram is a probability density per unit ``x`` (count / (n_positive · bin width)),
    so it is directly comparable with ``theory.pdf(x)``.

    Parameters
    ----------
    eigenvalues : array_like, shape (n,), or fitted CovarianceSpectrum
    theory : spectrum object, list or dict {label: spectrum}, optional
        Drawn as ``theory.pdf(x)`` on a log grid covering the data and the theory's support.
    null : spectrum object, optional
        Null model, dashed grey.
    ax : matplotlib Axes, optional
    bins : int or array_like, optional
        Number of log-spaced bins (default ``clip(n / 8, 8, 40)``) or explicit positive edges.
    drop_top : int
        Top modes left out of the histogram and of the normalisation.
    normalize : bool
        Divide by the mean of the kept eigenvalues.
    yscale : {"log", "linear"}
    label, null_label, theory_label : str

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> from neurospec.simulate import draw_couplings
    >>> from neurospec.theory import LinearSpectrum, MarchenkoPastur
    >>> rng = np.random.default_rng(0)
    >>> J = draw_couplings(200, 0.5, rng=rng)                       # a network with g = 0.5
    >>> X = np.linalg.solve(np.eye(200) - J, rng.standard_normal((200, 2000))).T  # time x neurons
    >>> ev = np.linalg.eigvalsh(np.cov(X, rowvar=False))
    >>> theory = LinearSpectrum(0.5, normalized=True).sampled(alpha=0.1)  # N / T = 0.1
    >>> from neurospec.plotting import density_plot
    >>> ax = density_plot(ev, theory, null=MarchenkoPastur(0.1))
    >>> ax.get_xscale()
    'log'
    """
    lam = _eigenvalue_array(eigenvalues)
    _, kept = _normalise(lam, drop_top, normalize)
    if yscale not in ("log", "linear"):
        raise ParameterError(f"yscale={yscale!r}: use 'log' or 'linear'.")
    theories = _theory_items(theory, theory_label)
    x_pos = kept[kept > 0]
    if x_pos.size < 2:
        raise DataValueError("eigenvalues: fewer than 2 positive eigenvalues; nothing to histogram.")
    if bins is None:
        bins = int(np.clip(x_pos.size // 8, 8, 40))
    edges = _log_bins(x_pos, bins)
    counts, _ = np.histogram(x_pos, bins=edges)
    density = counts / (x_pos.size * np.diff(edges))
    ax = _get_axes(ax)
    ax.stairs(density, edges, fill=True, color="0.82", label=label, zorder=1)
    ax.stairs(density, edges, color=_DATA_COLOR, lw=0.8, zorder=2)
    grid = _pdf_grid(x_pos, theories + ([("null", null)] if null is not None else []))
    for i, (tlabel, t) in enumerate(theories):
        ax.plot(grid, np.asarray(t.pdf(grid), dtype=np.float64), "-", lw=1.8,
                color=_THEORY_COLORS[i % len(_THEORY_COLORS)], label=tlabel, zorder=3)
    if null is not None:
        _theory_items(null, null_label)
        ax.plot(grid, np.asarray(null.pdf(grid), dtype=np.float64), "--", lw=1.4,
                color=_NULL_COLOR, label=null_label, zorder=2.5)
    ax.set_xscale("log")
    ax.set_yscale(yscale)
    if yscale == "log" and np.any(density > 0):
        # anchor the lower limit to the data: theory densities vanish at the support edges
        ax.set_ylim(bottom=density[density > 0].min() / 4, top=density.max() * 3)
    ax.set_xlabel(_XLABEL_NORM if normalize else r"eigenvalue $\lambda$")
    ax.set_ylabel("probability density")
    _tidy_log_axis(ax, "x")
    if yscale == "log":
        _tidy_log_axis(ax, "y")
    _finish_legend(ax, loc="best")
    return ax


# ---------------------------------------------------------------------------- CDF diagnostics
def empirical_cdf_distances(x, theory):
    """Kolmogorov–Smirnov and Cramér–von Mises distances of a sample from a theory CDF.

    Parameters
    ----------
    x : array_like, shape (n,)
        Sample (e.g. normalised eigenvalues).
    theory : spectrum object with ``cdf``

    Returns
    -------
    ks : float
        ``max |F_n(x) - F(x)|`` over the sample points (both sides of each step).
    cvm : float
        ``W² / n = (1/n) Σ (F(x_(i)) - (2i-1)/(2n))² + 1/(12 n²)``, the mean squared CDF difference.

    Examples
    --------
    >>> from neurospec.simulate import draw_couplings
    >>> from neurospec.theory import LinearSpectrum, MarchenkoPastur
    >>> rng = np.random.default_rng(0)
    >>> J = draw_couplings(200, 0.5, rng=rng)                       # a network with g = 0.5
    >>> X = np.linalg.solve(np.eye(200) - J, rng.standard_normal((200, 2000))).T  # time x neurons
    >>> ev = np.linalg.eigvalsh(np.cov(X, rowvar=False))
    >>> theory = LinearSpectrum(0.5, normalized=True).sampled(alpha=0.1)  # N / T = 0.1
    >>> from neurospec.plotting import empirical_cdf_distances
    >>> ks, cvm = empirical_cdf_distances(ev / ev.mean(), theory)
    >>> bool(ks < 0.05), bool(cvm < 1e-3)
    (True, True)
    """
    x = np.sort(np.asarray(x, dtype=np.float64))
    n = x.size
    F = np.asarray(theory.cdf(x), dtype=np.float64)
    i = np.arange(1, n + 1)
    ks = float(max(np.max(i / n - F), np.max(F - (i - 1) / n)))
    cvm = float(np.mean((F - (2 * i - 1) / (2 * n)) ** 2) + 1.0 / (12 * n * n))
    return ks, cvm


def cdf_plot(eigenvalues, theory, ax=None, *, drop_top=0, normalize=True, null=None,
             label="data", theory_label="theory", null_label="Marchenko–Pastur null"):
    """Empirical CDF of the normalised eigenvalues against the theory CDF (fit diagnostic).

    The Kolmogorov–Smirnov and Cramér–von Mises distances between the two are printed in the
    panel (see :func:`empirical_cdf_distances`).

    Parameters
    ----------
    eigenvalues : array_like, shape (n,), or fitted CovarianceSpectrum
    theory : spectrum object with ``cdf``
        Usually the fitted forward model.
    ax : matplotlib Axes, optional
    drop_top : int
        Top modes left out (and out of the normalisation).
    normalize : bool
    null : spectrum object, optional
        Also draw (dashed) and score a null model.
    label, theory_label, null_label : str

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> from neurospec.simulate import draw_couplings
    >>> from neurospec.theory import LinearSpectrum, MarchenkoPastur
    >>> rng = np.random.default_rng(0)
    >>> J = draw_couplings(200, 0.5, rng=rng)                       # a network with g = 0.5
    >>> X = np.linalg.solve(np.eye(200) - J, rng.standard_normal((200, 2000))).T  # time x neurons
    >>> ev = np.linalg.eigvalsh(np.cov(X, rowvar=False))
    >>> theory = LinearSpectrum(0.5, normalized=True).sampled(alpha=0.1)  # N / T = 0.1
    >>> from neurospec.plotting import cdf_plot
    >>> ax = cdf_plot(ev, theory, null=MarchenkoPastur(0.1))
    >>> ax.get_legend() is not None
    True
    """
    if theory is None:
        raise ParameterError("cdf_plot needs a theory spectrum to compare with (theory=...).")
    lam = _eigenvalue_array(eigenvalues)
    _, kept = _normalise(lam, drop_top, normalize)
    theories = _theory_items(theory, theory_label)
    x = np.sort(kept)
    n = x.size
    ax = _get_axes(ax)
    x_pos = x[x > 0]
    n_zero = n - x_pos.size  # zero eigenvalues sit left of the log axis: the CDF starts at n_zero/n
    ax.step(np.r_[x_pos[0] / 1.05, x_pos], np.arange(n_zero, n + 1) / n, where="post",
            color=_DATA_COLOR, lw=1.4, label=label, zorder=3)
    others = theories + ([(null_label, null)] if null is not None else [])
    grid = _pdf_grid(x_pos, others)
    text = []
    for i, (tlabel, t) in enumerate(others):
        is_null = null is not None and i == len(others) - 1
        ax.plot(grid, np.asarray(t.cdf(grid), dtype=np.float64), "--" if is_null else "-",
                lw=1.4 if is_null else 1.8,
                color=_NULL_COLOR if is_null else _THEORY_COLORS[i % len(_THEORY_COLORS)],
                label=tlabel, zorder=2)
        ks, cvm = empirical_cdf_distances(x, t)
        text.append(f"{tlabel}: KS {ks:.3f}, CvM {cvm:.2e}")
    ax.set_xscale("log")
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel(_XLABEL_NORM if normalize else r"eigenvalue $\lambda$")
    ax.set_ylabel("cumulative probability")
    _tidy_log_axis(ax, "x")
    _finish_legend(ax, loc="upper left")
    ax.text(0.98, 0.04, "\n".join(text), transform=ax.transAxes, ha="right", va="bottom",
            fontsize="x-small", color="0.2")
    return ax


# ---------------------------------------------------------------------------- subsampling
def subsampling_plot(frame, theory=None, ax=None, *, n_total=None, form="pr", columns=None,
                     time_fraction=None, theory_label=None):
    """Participation ratio of random subsets of M neurons against M, with the theory curve.

    The theory is free compression of the full population's spectrum (science.md §4):
    ``1/PR_M = 1/M + 1/PR_N - 1/N``.

    Parameters
    ----------
    frame : pandas.DataFrame
        As returned by :func:`neurospec.subsample_spectra`: columns ``size`` (M), ``draw`` and
        participation ratios (``pr``, and ``pr_corrected`` when available); one row per draw.
    theory : float or spectrum object, optional
        The full population's participation ratio ``PR_N`` (a number), or a spectrum whose
        ``participation_ratio`` is PR/N (e.g. ``LinearSpectrum(g_eff)``).
    ax : matplotlib Axes, optional
    n_total : int, optional
        Full population size N (default: the largest size in ``frame``).
    form : {"pr", "ratio"}
        Plot PR_M (default) or the dimension per neuron PR_M / M.
    columns : sequence of str, optional
        Which PR columns to plot (default: ``pr`` and ``pr_corrected`` where present).
    time_fraction : float, optional
        When ``frame`` also subsamples time (a ``time_fraction`` column with several values),
        the rows to plot; default the largest fraction (the whole recording).
    theory_label : str, optional

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    Participation ratio of random subsets of a simulated population, against free compression:

    >>> from neurospec.simulate import draw_couplings
    >>> from neurospec.theory import LinearSpectrum, MarchenkoPastur
    >>> rng = np.random.default_rng(0)
    >>> J = draw_couplings(200, 0.5, rng=rng)                       # a network with g = 0.5
    >>> X = np.linalg.solve(np.eye(200) - J, rng.standard_normal((200, 2000))).T  # time x neurons
    >>> ev = np.linalg.eigvalsh(np.cov(X, rowvar=False))
    >>> theory = LinearSpectrum(0.5, normalized=True).sampled(alpha=0.1)  # N / T = 0.1
    >>> import neurospec as ns
    >>> from neurospec.plotting import subsampling_plot
    >>> frame = ns.subsample_spectra(X, sizes=[25, 50, 100, 200], n_draws=5, random_state=0,
    ...                              progress=False)
    >>> ax = subsampling_plot(frame, theory=LinearSpectrum(0.5))
    >>> ax.get_xlabel()
    'number of recorded neurons $M$'
    """
    import pandas as pd

    if not isinstance(frame, pd.DataFrame):
        raise DataValueError(
            f"frame: expected the DataFrame returned by subsample_spectra, got {type(frame).__name__}."
        )
    if form not in ("pr", "ratio"):
        raise ParameterError(f"form={form!r}: use 'pr' (PR_M) or 'ratio' (PR_M / M).")
    if columns is None:
        columns = [c for c in ("pr", "pr_corrected") if c in frame.columns]
    missing = [c for c in ["size", *columns] if c not in frame.columns]
    if missing or not columns:
        raise DataValueError(
            f"frame lacks column(s) {missing or ['pr']}; it needs 'size' and participation-ratio "
            f"columns (has {list(frame.columns)}). Use neurospec.subsample_spectra(...)."
        )
    if "time_fraction" in frame.columns and frame["time_fraction"].nunique() > 1:
        fractions = np.sort(frame["time_fraction"].unique())
        chosen = fractions[-1] if time_fraction is None else time_fraction
        if not np.any(np.isclose(fractions, chosen)):
            raise ParameterError(f"time_fraction={time_fraction!r} is not in the frame; it holds "
                                 f"{fractions.tolist()}.")
        frame = frame[np.isclose(frame["time_fraction"].to_numpy(np.float64), chosen)]
    if len(frame) == 0:
        raise DataValueError("frame is empty; nothing to plot.")
    sizes = np.sort(frame["size"].unique()).astype(np.float64)
    N = float(n_total) if n_total is not None else sizes.max()
    ax = _get_axes(ax)
    names = {"pr": "raw PR", "pr_corrected": "bias-corrected PR"}
    markers = ("o", "s", "^", "D")
    for i, col in enumerate(columns):
        y = frame[col].to_numpy(np.float64)
        if form == "ratio":
            y = y / frame["size"].to_numpy(np.float64)
        stats = pd.DataFrame({"size": frame["size"].to_numpy(), "y": y}).groupby("size")["y"]
        mean, sd = stats.mean(), stats.std(ddof=1).fillna(0.0)
        ax.errorbar(mean.index.to_numpy(np.float64), mean.to_numpy(), yerr=sd.to_numpy(),
                    fmt=markers[i % 4], ms=4, capsize=2.5, lw=1,
                    color=_DATA_COLOR if i == 0 else _THEORY_COLORS[1 + i % 5],
                    mfc="none" if col == "pr" and len(columns) > 1 else None,
                    label=f"{names.get(col, col)} (mean ± s.d. over draws)", zorder=3)
    if theory is not None:
        if isinstance(theory, (int, float, np.floating, np.integer)):
            pr_n = float(theory)
        elif hasattr(theory, "participation_ratio"):
            pr_n = float(_value(theory, "participation_ratio")) * N
        else:
            raise ParameterError(
                "theory: give the full population's participation ratio PR_N (a number) or a "
                "spectrum with participation_ratio (PR/N)."
            )
        if not (0 < pr_n <= N):
            raise ParameterError(f"theory: PR_N = {pr_n:g} must lie in (0, N = {N:g}].")
        m = np.linspace(max(1.0, sizes.min() * 0.9), N, 400)
        pr_m = 1.0 / (1.0 / m + 1.0 / pr_n - 1.0 / N)
        ax.plot(m, pr_m / m if form == "ratio" else pr_m, "-", lw=1.8, color=_THEORY_COLORS[0],
                label=theory_label or rf"theory, $1/PR_M = 1/M + 1/PR_N - 1/N$ ($PR_N$={pr_n:.3g})",
                zorder=2)
    ax.set_xlabel("number of recorded neurons $M$")
    ax.set_ylabel("participation ratio $PR_M$" if form == "pr" else "dimension per neuron $PR_M/M$")
    if form == "pr":
        ax.set_ylim(bottom=0)
    else:
        ax.set_ylim(0, 1.05)
    ax.set_xlim(left=0)
    _finish_legend(ax, loc="lower right" if form == "pr" else "upper right")
    return ax


# ---------------------------------------------------------------------------- the CLI figure
def _fit_theory(fit):
    """The fitted forward model and null of a GainFit, built from its public attributes."""
    theory = getattr(fit, "theory_", None)
    null = getattr(fit, "null_", None)
    if theory is None or null is None:
        from .theory import LinearSpectrum, MarchenkoPastur

        alpha = getattr(fit, "alpha_", None)
        if theory is None:
            kappa = getattr(fit, "kappa_", None) or 0.0
            theory = LinearSpectrum(fit.g_eff_, kappa=kappa, normalized=True)
            fraction = getattr(fit, "fraction", None)
            if fraction is not None:
                theory = theory.subsampled(fraction)
            if alpha:
                theory = theory.sampled(alpha)
        if null is None and alpha:
            null = MarchenkoPastur(alpha)
    return theory, null


def _fit_eigenvalues(fit):
    """All eigenvalues the fit saw (descending) and how many top modes it dropped."""
    for name in ("eigenvalues_", "spectrum_"):
        ev = getattr(fit, name, None)
        if ev is not None and hasattr(ev, "eigenvalues_"):
            ev = ev.eigenvalues_
        if ev is not None:
            return np.sort(np.asarray(ev, dtype=np.float64))[::-1], int(getattr(fit, "n_dropped_", 0) or 0)
    raise DataValueError("spectrum_figure: the fit has no eigenvalues_; call GainFit.fit(...) first.")


def _draw_control(ax_rank, ax_dens, control):
    """A control's spectrum (mean-normalised kept eigenvalues) in light grey on both panels."""
    lam, n_dropped = _fit_eigenvalues(control)
    kept = lam[n_dropped:]
    kept = kept[kept > 0]
    x = kept / kept.mean()
    label = rf"shift control: $g_\mathrm{{eff}}$ = {control.g_eff_:.3f}"
    ci = _interval(control)
    if ci is not None:
        label += f" [{ci[0]:.3f}, {ci[1]:.3f}]"
    ax_rank.plot(np.arange(1, x.size + 1), x, "s", ms=2.5, color=_CONTROL_COLOR, mew=0,
                 alpha=0.9, label=label, zorder=1.5)
    edges = np.geomspace(x.min() / 1.02, x.max() * 1.02, int(np.clip(x.size / 8, 8, 40)) + 1)
    ax_dens.hist(x, bins=edges, density=True, histtype="step", color=_CONTROL_COLOR, lw=1.6,
                 label=label, zorder=1.5)
    for ax in (ax_rank, ax_dens):
        _finish_legend(ax, loc="lower left" if ax is ax_rank else "best")


def spectrum_figure(fit, *, title=None, figsize=(10.0, 4.2), control=None):
    """Two-panel figure of a fitted spectrum: rank plot and density, with fitted theory and null.

    Parameters
    ----------
    fit : neurospec.GainFit
        A fitted ``GainFit`` (uses ``eigenvalues_``, ``n_dropped_``, ``g_eff_``, ``g_eff_ci_``,
        ``alpha_`` and the fitted theory).
    title : str, optional
        Figure title (default: the estimate with its interval).
    figsize : (float, float)
        Inches.
    control : GainFit or ShiftControl, optional
        The fit of a control (e.g. :func:`neurospec.diagnostics.control_fit` of circularly
        shifted activity), drawn beside the data in light grey (its own kept eigenvalues,
        normalised by their mean).

    Returns
    -------
    matplotlib.figure.Figure
        With two axes, ``fig.axes[0]`` the rank plot and ``fig.axes[1]`` the density.

    Examples
    --------
    The figure ``neurospec fit`` writes, for a fit of the bundled sample:

    >>> import neurospec as ns
    >>> rec = ns.load("data_samples/tanh_spikes.nwb", bin_size=0.1)
    >>> fit = ns.GainFit(window=20, n_boot=0).fit(rec)    # no bootstrap: a quick look
    >>> fig = ns.plotting.spectrum_figure(fit, title="tanh_spikes.nwb")
    >>> len(fig.axes)
    2
    >>> fig.savefig("spectrum.png")                     # doctest: +SKIP
    """
    from matplotlib.figure import Figure

    if getattr(fit, "g_eff_", None) is None:
        raise DataValueError("spectrum_figure: the fit has no g_eff_; call GainFit.fit(...) first.")
    lam, n_dropped = _fit_eigenvalues(fit)
    theory, null = _fit_theory(fit)
    ci = getattr(fit, "g_eff_ci_", None)
    k = stderr_decimals(getattr(fit, "g_eff_stderr_", None))
    fit_label = rf"fit: $g_\mathrm{{eff}}$ = {fit.g_eff_:.{k}f}"
    if ci is not None:
        level = getattr(fit, "ci", None)
        fit_label += f" [{ci[0]:.{k}f}, {ci[1]:.{k}f}]"
        if level:
            fit_label += f" ({100 * level:.0f}% CI)"
    alpha = getattr(fit, "alpha_", None)
    null_label = (rf"Marchenko–Pastur null ($\alpha$ = {alpha:.2f})" if alpha
                  else "Marchenko–Pastur null")
    if getattr(fit, "temporal_", None) is not None and alpha:
        # the null carries the samples' autocorrelation: MP (x) W_B, not MP(alpha)
        null_label = (rf"independent neurons ($\alpha$ = {alpha:.2f}, autocorrelated: "
                      rf"$\alpha_\mathrm{{eff}}$ = {fit.alpha_eff_:.2f})")
    # a plain Figure (not pyplot) so that CLI/library use does not leak figures
    fig = Figure(figsize=figsize, layout="constrained")
    ax_rank, ax_dens = fig.subplots(1, 2)
    rank_plot(lam, {fit_label: theory}, null=null, ax=ax_rank, drop_top=n_dropped,
              null_label=null_label)
    density_plot(lam, {fit_label: theory}, null=null, ax=ax_dens, drop_top=n_dropped,
                 null_label=null_label)
    if control is not None:
        _draw_control(ax_rank, ax_dens, getattr(control, "fit", control))
    ax_rank.set_title("rank plot", fontsize="medium")
    ax_dens.set_title("eigenvalue density", fontsize="medium")
    if title is None:
        n = lam.size
        kind = getattr(fit, "kind_", "covariance") or "covariance"
        title = f"{kind} spectrum of {n} neurons"
        if alpha:
            title += rf" ($\alpha = N/T$ = {alpha:.2f})"
    fig.suptitle(title, fontsize="medium")
    return fig


# ---------------------------------------------------------------------------- diagnostics
_PAIR_COLORS = ("#1f77b4", "#d62728")
_CONTROL_COLOR = "#9aa0a6"


def _interval(fit):
    ci = getattr(fit, "g_eff_ci_", None)
    if ci is None or not np.all(np.isfinite(ci)):
        return None
    return float(ci[0]), float(ci[1])


def _draw_fit_ranks(ax, fit, color, label, marker="o"):
    """Kept eigenvalues of a fit (mean-normalised) against rank, with its fitted rank curve."""
    lam, n_dropped = _fit_eigenvalues(fit)
    kept = lam[n_dropped:]
    kept = kept[kept > 0]
    x = kept / kept.mean()
    ranks = np.arange(1, x.size + 1)
    ax.plot(ranks, x, marker, ms=2.8, color=color, mew=0, alpha=0.75, label=label, zorder=3)
    theory, _ = _fit_theory(fit)
    curve = theory_rank_curve(theory, x.size)
    ok = curve > 0
    ax.plot(ranks[ok], curve[ok], "-", lw=1.5, color=color, alpha=0.9, zorder=2)


def _forest(ax, rows, xlabel=r"$g_\mathrm{eff}$"):
    """Estimates with intervals, one row each: ``rows`` = [(label, estimate, interval, color)]."""
    y = np.arange(len(rows))[::-1]
    # enough decimals to tell the narrowest interval's ends apart (one digit of its width / 4)
    widths = [(ci[1] - ci[0]) / 4 for _, _, ci, _ in rows if ci is not None]
    k = stderr_decimals(*widths)
    for yi, (label, est, ci, color) in zip(y, rows):
        if ci is not None:
            ax.plot(ci, [yi, yi], "-", lw=2.2, color=color, solid_capstyle="butt")
        ax.plot([est], [yi], "o", ms=6, color=color, zorder=3)
        txt = f"{est:.{k}f}" + (f"  [{ci[0]:.{k}f}, {ci[1]:.{k}f}]" if ci is not None else "")
        ax.annotate(txt, (est, yi), xytext=(0, 7), textcoords="offset points", ha="center",
                    fontsize="small", color=color)
    ax.set_yticks(y, [r[0] for r in rows])
    ax.set_ylim(y.min() - 0.6, y.max() + 0.7)
    ax.margins(x=0.18)  # room for the labels above the ends of the intervals
    ax.set_xlabel(xlabel)
    ax.grid(axis="x", color="0.9", lw=0.8)
    ax.set_axisbelow(True)


def ladder_plot(table, ax=None):
    """``g_eff`` with its interval against the window length (a :func:`window_ladder` table).

    The interval at the longest window is drawn as a horizontal band (green when the ladder
    converged, orange when not): a converged ladder levels off into it; steps whose interval
    misses it are drawn open.

    Parameters
    ----------
    table : pandas.DataFrame
        From :func:`neurospec.window_ladder`: columns ``window``, ``window_s``, ``g_eff``,
        ``ci_low``, ``ci_high``; ``attrs["converged"]`` and ``attrs["message"]``.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame(dict(window=[1, 2, 4], window_s=[0.1, 0.2, 0.4], g_eff=[0.5, 0.55, 0.56],
    ...                       ci_low=[0.48, 0.53, 0.54], ci_high=[0.52, 0.57, 0.58]))
    >>> ax = ladder_plot(t)
    >>> ax.get_xscale()
    'log'
    """
    need = {"window", "g_eff", "ci_low", "ci_high"}
    missing = need - set(getattr(table, "columns", []))
    if missing:
        raise DataValueError(f"ladder_plot: the table lacks columns {sorted(missing)}; pass the "
                             "DataFrame returned by neurospec.window_ladder.")
    if len(table) == 0:
        raise DataValueError("ladder_plot: the ladder table is empty.")
    ax = _get_axes(ax)
    ws = table["window_s"].to_numpy(float) if "window_s" in table else np.full(len(table), np.nan)
    seconds = np.all(np.isfinite(ws))
    x = ws if seconds else table["window"].to_numpy(float)
    g = table["g_eff"].to_numpy(float)
    lo = table["ci_low"].to_numpy(float)
    hi = table["ci_high"].to_numpy(float)
    converged = table.attrs.get("converged")
    band_color = "#2ca02c" if converged in (True, None) else "#ff7f0e"
    if np.isfinite(lo[-1]) and np.isfinite(hi[-1]):
        ax.axhspan(lo[-1], hi[-1], color=band_color, alpha=0.15, lw=0,
                   label=("converged band" if converged in (True, None) else
                          "longest window's interval (not converged)"))
        inside = (hi >= lo[-1]) & (lo <= hi[-1])
    else:
        inside = np.ones(g.size, dtype=bool)
    # intervals as plain segments: a (bias-corrected or bound-limited) estimate may lie outside
    # its own interval, which error bars cannot draw
    ok = np.isfinite(lo) & np.isfinite(hi)
    ax.vlines(x[ok], lo[ok], hi[ok], color=_DATA_COLOR, lw=1.2, zorder=2)
    ax.plot(np.r_[x[ok], x[ok]], np.r_[lo[ok], hi[ok]], "_", ms=7, mew=1.2, color=_DATA_COLOR,
            zorder=2)
    ax.plot(x, g, "-", color=_DATA_COLOR, lw=0.8, alpha=0.6, zorder=2)
    ax.plot(x[inside], g[inside], "o", ms=6, color=_DATA_COLOR, zorder=3,
            label=r"$g_\mathrm{eff}$ (interval overlaps the band)")
    if (~inside).any():
        ax.plot(x[~inside], g[~inside], "o", ms=6, mfc="white", mec=_DATA_COLOR, mew=1.3,
                zorder=3, label="outside the band")
    ax.set_xscale("log")
    ax.set_xticks(x, [f"{v:g}" for v in x])
    ax.minorticks_off()
    ax.set_xlabel("window (s)" if seconds else "window (bins)")
    ax.set_ylabel(r"$g_\mathrm{eff}$")
    if converged is not None:
        ax.set_title("window ladder: " + ("converged" if converged else "NOT converged"),
                     fontsize="medium")
    _finish_legend(ax, loc="best")
    return ax


def split_half_figure(result, full=None, *, figsize=(10.0, 4.0)):
    """The two halves of a recording: their spectra and their estimates with intervals.

    Parameters
    ----------
    result : neurospec.diagnostics.SplitHalf
    full : GainFit, optional
        The fit of the whole recording, drawn as a third row.
    figsize : (float, float)

    Returns
    -------
    matplotlib.figure.Figure
        ``fig.axes[0]``: rank plots of both halves with their fitted theories;
        ``fig.axes[1]``: the estimates with their intervals and the test of the difference.

    Examples
    --------
    >>> import numpy as np
    >>> from neurospec.diagnostics import split_half
    >>> X = np.random.default_rng(0).standard_normal((1200, 40))
    >>> fig = split_half_figure(split_half(X, n_boot=20, random_state=0))
    >>> len(fig.axes)
    2
    """
    from matplotlib.figure import Figure

    first, second, comp = result.first, result.second, result.comparison
    fig = Figure(figsize=figsize, layout="constrained")
    ax_rank, ax_g = fig.subplots(1, 2, width_ratios=(1.15, 1.0))
    for fit, color, label in ((first, _PAIR_COLORS[0], "first half"),
                              (second, _PAIR_COLORS[1], "second half")):
        _draw_fit_ranks(ax_rank, fit, color, label)
    ax_rank.set_xscale("log")
    ax_rank.set_yscale("log")
    ax_rank.set_xlabel("rank $k$")
    ax_rank.set_ylabel(_XLABEL_NORM)
    ax_rank.set_title("spectra (points) and fitted theory (lines)", fontsize="medium")
    _tidy_log_axis(ax_rank, "y")
    _finish_legend(ax_rank, loc="lower left")
    rows = []
    if full is not None:
        rows.append(("whole recording", float(full.g_eff_), _interval(full), _DATA_COLOR))
    rows += [("first half", float(first.g_eff_), _interval(first), _PAIR_COLORS[0]),
             ("second half", float(second.g_eff_), _interval(second), _PAIR_COLORS[1])]
    _forest(ax_g, rows)
    methods = [f"{name}: {getattr(f, 'bootstrap_method_', '?')} bootstrap"
               for name, f in (("whole", full), ("halves", first)) if f is not None]
    ax_g.text(0.5, 0.01, "intervals from the " + "; ".join(methods), transform=ax_g.transAxes,
              ha="center", va="bottom", fontsize="x-small", color="0.35")
    verdict = "agree" if not comp.differ else "DISAGREE"
    ptxt = (f"p <= {comp.p_floor:.2g}" if comp.p_value <= comp.p_floor * (1 + 1e-9)
            else f"p = {comp.p_value:.2g}")
    k = stderr_decimals(*(getattr(f, "g_eff_stderr_", None) for f in (first, second)))
    ax_g.set_title(f"halves {verdict}\ndifference {comp.difference:+.{k}f} "
                   f"[{comp.difference_ci[0]:+.{k}f}, {comp.difference_ci[1]:+.{k}f}], {ptxt}",
                   fontsize="medium")
    subset = getattr(result, "neurons", None)
    fig.suptitle("split-half stability" + ("" if subset is None else
                                           f" ({len(subset)} of {result.n_neurons} neurons)"),
                 fontsize="medium")
    return fig


def comparison_figure(comparison, *, figsize=(13.0, 4.0)):
    """Two conditions: their spectra, their estimates, and the bootstrap of the difference.

    Parameters
    ----------
    comparison : neurospec.diagnostics.Comparison
        From :func:`neurospec.diagnostics.compare`.
    figsize : (float, float)

    Returns
    -------
    matplotlib.figure.Figure
        Three axes: rank plots with fitted theories, estimates with intervals, and the
        distribution of the difference with its interval and 0 marked.

    Examples
    --------
    >>> import numpy as np
    >>> from neurospec.diagnostics import compare
    >>> rng = np.random.default_rng(0)
    >>> c = compare(rng.standard_normal((800, 40)), rng.standard_normal((800, 40)), n_boot=20,
    ...             random_state=0)
    >>> len(comparison_figure(c).axes)
    3
    """
    from matplotlib.figure import Figure

    fa, fb = comparison.fits
    la, lb = comparison.labels
    fig = Figure(figsize=figsize, layout="constrained")
    ax_rank, ax_g, ax_d = fig.subplots(1, 3, width_ratios=(1.1, 1.0, 1.0))
    if fa is not None and fb is not None:
        for fit, color, label in ((fa, _PAIR_COLORS[0], la), (fb, _PAIR_COLORS[1], lb)):
            _draw_fit_ranks(ax_rank, fit, color, label)
        ax_rank.set_xscale("log")
        ax_rank.set_yscale("log")
        _tidy_log_axis(ax_rank, "y")
        _finish_legend(ax_rank, loc="lower left")
    ax_rank.set_xlabel("rank $k$")
    ax_rank.set_ylabel(_XLABEL_NORM)
    ax_rank.set_title("spectra and fitted theory", fontsize="medium")
    rows = [(la, comparison.g_eff[0], tuple(comparison.ci[0]), _PAIR_COLORS[0]),
            (lb, comparison.g_eff[1], tuple(comparison.ci[1]), _PAIR_COLORS[1])]
    rows = [(r[0], r[1], r[2] if np.all(np.isfinite(r[2])) else None, r[3]) for r in rows]
    _forest(ax_g, rows)
    ax_g.set_title(rf"$g_\mathrm{{eff}}$ ({100 * comparison.ci_level:.0f}% CI)",
                   fontsize="medium")
    rep = np.asarray(comparison.replicates, dtype=float)
    rep = rep[np.isfinite(rep)]
    d, (lo, hi) = comparison.difference, comparison.difference_ci
    if rep.size:
        ax_d.hist(rep, bins=min(60, max(10, int(np.sqrt(rep.size) / 4))), density=True,
                  color="0.75", edgecolor="none", label="bootstrap of the difference")
    ax_d.axvspan(lo, hi, color=_THEORY_COLORS[2], alpha=0.18, lw=0,
                 label=f"{100 * comparison.ci_level:.0f}% CI [{lo:+.3f}, {hi:+.3f}]")
    ax_d.axvline(d, color=_THEORY_COLORS[2], lw=2, label=f"difference {d:+.3f}")
    ax_d.axvline(0.0, color="k", lw=1, ls="--", label="no difference")
    ax_d.set_xlabel(rf"$g_\mathrm{{eff}}$({la}) $-$ $g_\mathrm{{eff}}$({lb})")
    ax_d.set_ylabel("density")
    ax_d.set_yticks([])
    p = comparison.p_value
    ptxt = (f"p <= {comparison.p_floor:.2g}" if p <= comparison.p_floor * (1 + 1e-9)
            else f"p = {p:.2g}")
    ax_d.set_title(("differ" if comparison.differ else "no detectable difference") + f" ({ptxt})",
                   fontsize="medium")
    ax_d.legend(frameon=False, fontsize="small", loc="upper center",  # below: never on the data
                bbox_to_anchor=(0.5, -0.2), ncol=2)
    fig.suptitle(f"{la} vs {lb}", fontsize="medium")
    return fig
