"""Covariance eigenvalue spectra of neural activity, with finite-sample corrections.

Activity is always laid out time x neurons, shape ``(n_samples, n_neurons)``.

:class:`CovarianceSpectrum` is a scikit-learn estimator. ``fit`` reads the activity in
one pass over time chunks, so it accepts an in-memory array, a :class:`~neurospec.Recording`,
arrays that do not fit in memory (an ``h5py.Dataset``, a ``numpy.memmap``, an iterator of
chunks) and a ``dask.array`` (reduced with dask). Per chunk it accumulates, in float64,

* the centred Gram matrix, merged across chunks with the pairwise update of Chan, Golub and
  LeVeque (1979) -- numerically stable for large means -- so memory is O(N^2) plus one chunk;
* lagged products ``sum_t x_t,i x_t+k,i`` for lags ``k <= max_lag`` (FFT per chunk, with the
  pairs that straddle chunk borders added exactly), from which the effective number of
  independent samples is estimated.

Finite samples distort the spectrum (the project's science notes, section 4). With
``n`` independent Gaussian samples the sample covariance is Wishart with ``n`` degrees of
freedom (``n - 1`` once the mean is subtracted) and its trace moments obey

    E[(tr C^)^2] = (tr C)^2 + 2 tr C^2 / n,
    E[tr C^2]    = (1 + 1/n) tr C^2 + (tr C)^2 / n,

which :func:`unbiased_trace_moments` inverts exactly. Temporally correlated samples count as
fewer: ``n`` is replaced by the effective number estimated from the autocorrelation
(:func:`effective_sample_size`). Alternatively the spectrum can be cross-validated over time
folds, and :func:`subsample_spectra` gives the dimension against the number of neurons
recorded (and the fraction of time used).
"""

from __future__ import annotations

import numbers
import warnings
from collections.abc import Iterator

import numpy as np
import scipy.fft as sfft
import scipy.linalg as sla
from scipy.linalg import blas
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted, validate_data

from ._memory import check_memory, format_bytes
from ._progress import progress_bar
from .errors import BinSizeError, DataValueError, ParameterError, ShapeError

__all__ = [
    "CovarianceSpectrum",
    "subsample_spectra",
    "participation_ratio",
    "unbiased_trace_moments",
    "effective_sample_size",
    "effective_sample_size_excluding",
    "temporal_spectrum",
    "temporal_spectrum_excluding",
    "unbiased_autocorrelation",
    "SpectrumWarning",
]

#: Sokal's automatic-window constant: sum the squared autocorrelation up to the first lag
#: m with m >= SOKAL_C * tau(m). Squared autocorrelations decay twice as fast as the
#: autocorrelation, so c = 5 leaves a truncation error below e^-10 for exponential decay.
SOKAL_C = 5.0
#: the phrase of the SpectrumWarning that n_samples_eff_ is only an upper bound (GainFit holds
#: this warning back when the modes it drops explain the slow autocorrelation)
_NOT_DECAYED = "the autocorrelation has not decayed"

_CHUNK_BYTES = 64 * 2**20  # target size of one float64 chunk when chunk_size is None
_FFT_BLOCK_BYTES = 16 * 2**20  # complex transform of one column block of a chunk
#: in-memory arrays that are not float64 and larger than this are read in chunks (converted
#: chunk by chunk) instead of being copied to float64 whole
_CONVERT_IN_CHUNKS_BYTES = 256 * 2**20
#: progress="auto" shows a bar when the estimated work exceeds this many flops (~10 s)
_PROGRESS_FLOPS = 5e11


class SpectrumWarning(UserWarning):
    """A spectrum estimate is unreliable (too few effective samples, short max_lag...)."""


# --------------------------------------------------------------------------- threads
_THREADPOOLS = []


def _controller():
    if not _THREADPOOLS:
        from threadpoolctl import ThreadpoolController

        _THREADPOOLS.append(ThreadpoolController())
    return _THREADPOOLS[0]


def _fft_workers():
    """FFT threads: as many as BLAS may use (respects OPENBLAS_NUM_THREADS, threadpool_limits).

    Running FFT threads beside idle-spinning BLAS threads oversubscribes the cores.
    """
    n = [lib.num_threads for lib in _controller().lib_controllers if lib.user_api == "blas"]
    return max(n) if n else 1


def _single_thread():
    """Context limiting BLAS/LAPACK to one thread.

    Small eigenproblems gain nothing from threads, and on a loaded machine multithreaded
    OpenBLAS can be 10-100x slower on them (threads spin waiting for busy cores).
    """
    return _controller().limit(limits=1, user_api="blas")


# --------------------------------------------------------------------------- small formulas
def participation_ratio(eigenvalues):
    """Participation ratio ``(sum lambda)^2 / sum lambda^2`` (raw, no correction).

    Parameters
    ----------
    eigenvalues : array_like, shape (n,)
        Eigenvalues of a covariance or correlation matrix.

    Returns
    -------
    float
        Between 1 and ``n``; NaN if all eigenvalues are zero.
    """
    lam = np.asarray(eigenvalues, dtype=np.float64)
    s2 = np.sum(lam**2)
    return float(np.sum(lam) ** 2 / s2) if s2 > 0 else np.nan


def unbiased_trace_moments(trace, trace_sq, n_dof):
    """Unbiased estimates of ``(tr C)^2`` and ``tr C^2`` from one sample covariance.

    If ``C^ = S / n_dof`` with ``S`` Wishart(``C``, ``n_dof``) -- ``n_dof = T`` for ``T``
    independent zero-mean samples, ``T - 1`` when the sample mean is subtracted -- then

    ``E[A] = a + 2 b / n``, ``E[B] = (1 + 1/n) b + a / n`` with ``A = (tr C^)^2``,
    ``B = tr C^2``, ``a = (tr C)^2``, ``b = tr C^2``, ``n = n_dof``. Solving,

    ``b^ = n (n B - A) / ((n + 2)(n - 1))``,  ``a^ = A - 2 b^ / n``,

    both exactly unbiased (for ``n_dof > 1``).

    Parameters
    ----------
    trace : float or ndarray
        ``tr C^`` of the sample covariance.
    trace_sq : float or ndarray
        ``tr C^2`` of the sample covariance (sum of squared eigenvalues).
    n_dof : float
        Degrees of freedom (effective number of independent samples, minus one if centred).

    Returns
    -------
    a_hat, b_hat : float or ndarray
        Estimates of ``(tr C)^2`` and ``tr C^2`` (arrays broadcast).
    """
    n = float(n_dof)
    A = np.asarray(trace, dtype=np.float64) ** 2
    B = np.asarray(trace_sq, dtype=np.float64)
    b = n * (n * B - A) / ((n + 2.0) * (n - 1.0))
    a = A - 2.0 * b / n
    if a.ndim == 0:
        return float(a), float(b)
    return a, b


def _unbiased_correlation_sq(trace_sq, n_neurons, s4, n_dof):
    """Estimate ``tr R^2`` of a correlation matrix from the sample correlation matrix.

    For a Gaussian pair with correlation rho and ``n`` degrees of freedom,
    ``E[r^2] = rho^2 + (1 - rho^2)(1 - 2 rho^2) / n + O(n^-2)`` (from the exact
    hypergeometric form). Summing over ``i != j`` with ``b = tr R^2 = N + sum rho^2``:
    ``E[tr R^2] = b (1 - 3/n) + (N^2 + 2N + 2 S4) / n``, with ``S4 = sum_{i!=j} rho^4``
    (replaced by its plug-in value; that costs O(n^-2)). The trace of a correlation matrix
    is exactly N, so ``(tr R)^2 = N^2`` needs no correction.
    """
    n = float(n_dof)
    N = float(n_neurons)
    return (trace_sq - (N * N + 2.0 * N + 2.0 * s4) / n) / (1.0 - 3.0 / n)


def _sokal_window(rho2, n, c=SOKAL_C):
    """Integrated squared-autocorrelation time with Sokal's automatic window.

    ``tau(m) = 1 + 2 sum_{k=1}^m (1 - k/n) rho_k^2``; the window is the first ``m`` with
    ``m >= c tau(m)``. Returns ``(tau, m, reached)``; ``reached`` is False when no lag up
    to ``len(rho2) - 1`` satisfies the condition (the sum is then truncated at the last lag).
    """
    K = len(rho2) - 1
    if K < 1:
        return 1.0, 0, True
    k = np.arange(1, K + 1)
    tau = 1.0 + 2.0 * np.cumsum((1.0 - k / n) * rho2[1:])
    ok = np.nonzero(k >= c * tau)[0]
    if ok.size:
        return float(tau[ok[0]]), int(k[ok[0]]), True
    return float(tau[-1]), K, False


def effective_sample_size(autocorrelation, n_samples, c=SOKAL_C):
    """Effective number of independent samples for estimating a covariance.

    For a stationary Gaussian process whose covariance at lag k is ``rho_k C`` (the same
    normalised autocorrelation for every pair of neurons), Bartlett's formula gives
    ``Var(C^_ij) = (C_ii C_jj + C_ij^2) / n_eff`` with

    ``n_eff = n / (1 + 2 sum_{k>=1} (1 - k/n) rho_k^2)``,

    i.e. the sample covariance fluctuates like a Wishart matrix with ``n_eff`` samples.
    For an AR(1) process with coefficient ``a`` this is ``n (1 - a^2) / (1 + a^2)`` --
    note: not ``n (1 - a) / (1 + a)``, which is the effective size for estimating the
    *mean* (it involves ``rho_k``, not ``rho_k^2``). The sum is truncated with Sokal's
    automatic window (first lag ``m >= c tau(m)``).

    Parameters
    ----------
    autocorrelation : array_like, shape (K + 1,)
        Normalised autocorrelation ``rho_0 = 1, rho_1, ..., rho_K``.
    n_samples : int
        Number of samples ``n`` the autocorrelation was estimated from.
    c : float
        Sokal window constant.

    Returns
    -------
    n_eff : float
    tau : float
        ``n / n_eff``, the integrated squared-autocorrelation time (samples).
    window : int
        Last lag included in the sum.
    """
    rho = np.asarray(autocorrelation, dtype=np.float64)
    tau, m, _ = _sokal_window(rho**2, n_samples, c)
    return n_samples / tau, tau, m


def effective_sample_size_excluding(X, components, max_lag=256, c=SOKAL_C):
    """Effective sample size of activity with some directions (e.g. dropped top modes) removed.

    The residual ``Y = X_c (I - V V^T)`` (``X_c``: ``X`` with its column means removed) is
    what a spectrum fitted without the top modes describes. Its summed lagged products
    follow from those of ``X_c`` and of the projections ``X_c V`` alone,
    ``sum_t Y_t . Y_t+k = sum_t X_t . X_t+k - sum_t (V^T X_t) . (V^T X_t+k)``, and
    :func:`effective_sample_size` turns their normalised autocorrelation into ``n_eff``. A
    slow shared signal (a drift, a global mode) makes the autocorrelation of ``X`` decay
    slowly and so shrinks ``n_eff`` of the whole activity, although it does not touch the
    residual covariance.

    Parameters
    ----------
    X : ndarray, shape (n_samples, n_features)
        Activity (time x neurons); standardise the columns first for a correlation matrix.
    components : ndarray, shape (n_features, k)
        Orthonormal directions to project out (k may be 0).
    max_lag : int
        Largest lag of the autocorrelation (samples).
    c : float
        Sokal window constant.

    Returns
    -------
    n_eff : float
    reached : bool
        False when the autocorrelation has not decayed within ``max_lag`` (``n_eff`` is then
        an upper bound).
    """
    rho = _residual_autocorrelation(X, components, max_lag)
    n = np.shape(X)[0]
    tau, _, reached = _sokal_window(rho**2, n, c)
    return n / tau, reached


def temporal_spectrum_excluding(X, components, max_lag=256, c=SOKAL_C, center=True,
                                return_autocorrelation=False):
    """Temporal spectrum of activity with some directions (dropped top modes) removed.

    As :func:`effective_sample_size_excluding`, but returns the whole estimated temporal
    spectrum (:func:`temporal_spectrum`) of the residual, which the fit's forward model uses.

    Parameters
    ----------
    X : ndarray, shape (n_samples, n_features)
        Activity (time x neurons); standardise the columns first for a correlation matrix.
    components : ndarray, shape (n_features, k)
        Orthonormal directions to project out.
    max_lag : int
        Largest lag of the autocorrelation (samples).
    c : float
        Sokal window constant.
    center : bool
        Whether the covariance subtracts the mean (``n_samples - 1`` temporal eigenvalues).
    return_autocorrelation : bool
        Also return the residual's autocorrelation and Sokal's window.

    Returns
    -------
    temporal : TemporalSpectrum
    reached : bool
        False when the autocorrelation has not decayed within ``max_lag``.
    autocorrelation, window : ndarray, int
        Only with ``return_autocorrelation``.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.random.default_rng(0).standard_normal((500, 20))
    >>> ts, reached = temporal_spectrum_excluding(X, np.zeros((20, 0)))
    >>> ts.is_white(), reached
    (True, True)
    """
    rho = _residual_autocorrelation(X, components, max_lag)
    n = np.shape(X)[0]
    _, m, reached = _sokal_window(rho**2, n, c)
    ts = temporal_spectrum(rho, n, m, center=center)
    return (ts, reached, rho, m) if return_autocorrelation else (ts, reached)


def _residual_autocorrelation(X, components, max_lag):
    """Normalised autocorrelation of ``X_c (I - V V^T)`` (see
    :func:`effective_sample_size_excluding`)."""
    X = np.asarray(X, dtype=np.float64)
    V = np.asarray(components, dtype=np.float64).reshape(X.shape[1], -1)
    n = X.shape[0]
    K = int(min(max_lag, n - 1))
    lags = np.zeros(K + 1)
    mean = X.mean(axis=0)
    step = max(1, 2**24 // (8 * max(n, 1)))  # neurons per FFT block (~16 MB of input)
    for s in range(0, X.shape[1], step):
        lags += _lag_sums_within(X[:, s : s + step] - mean[s : s + step], K, False)
    if V.shape[1]:
        lags -= _lag_sums_within((X - mean) @ V, K, False)
    return lags / lags[0] if lags[0] > 0 else np.r_[1.0, np.zeros(K)]


# --------------------------------------------------------------------------- lagged products
def _lag_sums_within(y, n_lags, per_neuron):
    """``sum_t y[t] * y[t+k]`` for k = 0..n_lags within one block (FFT, zero padded)."""
    L = y.shape[0]
    K = min(n_lags, L - 1)
    shape = (n_lags + 1, y.shape[1]) if per_neuron else (n_lags + 1,)
    out = np.zeros(shape)
    # zero padding to >= L + K samples: circular pairs at distance nfft - k >= L don't exist
    nfft = sfft.next_fast_len(L + K, real=True)
    workers = _fft_workers()
    # neurons in column blocks: the padded transforms of one block stay near _FFT_BLOCK_BYTES
    # (at N = 20,000 a whole chunk's transform would be several chunk-sized temporaries)
    step = max(1, _FFT_BLOCK_BYTES // (16 * nfft))
    power_sum = None
    for s in range(0, y.shape[1], step):
        F = sfft.rfft(y[:, s : s + step], n=nfft, axis=0, workers=workers)
        if per_neuron:
            power = F.real**2
            power += F.imag**2
            del F
            out[: K + 1, s : s + step] = sfft.irfft(power, n=nfft, axis=0,
                                                    workers=workers)[: K + 1]
        else:  # |F|^2 summed over neurons = sum of squares of the (re, im) pairs of each row
            v = F.view(np.float64).reshape(F.shape[0], -1)
            part = np.einsum("ij,ij->i", v, v)
            power_sum = part if power_sum is None else power_sum + part
    if not per_neuron:
        out[: K + 1] = sfft.irfft(power_sum, n=nfft)[: K + 1]
    return out


def _lag_sums_across(tail, head, n_lags, per_neuron):
    """Products of pairs straddling a border: ``tail`` (end of the earlier data) and
    ``head`` (start of the later data); pair distance ``d = (len(tail) - i) + j``."""
    lt, lh = tail.shape[0], head.shape[0]
    n_feat = tail.shape[1] if lt else head.shape[1]
    shape = (n_lags + 1, n_feat) if per_neuron else (n_lags + 1,)
    out = np.zeros(shape)
    if lt == 0 or lh == 0 or n_lags == 0:
        return out
    nfft = sfft.next_fast_len(lt + lh, real=True)
    b = np.zeros((lt + lh, n_feat))
    b[lt:] = head
    cross = np.conj(sfft.rfft(tail, n=nfft, axis=0)) * sfft.rfft(b, n=nfft, axis=0)
    K = min(n_lags, lt + lh - 1)
    if per_neuron:
        out[1 : K + 1] = sfft.irfft(cross, n=nfft, axis=0)[1 : K + 1]
    else:
        out[1 : K + 1] = sfft.irfft(cross.sum(axis=1), n=nfft)[1 : K + 1]
    return out


def _symmetrize_upper(G, block=512):
    """Copy the upper triangle of the square matrix ``G`` onto its lower one, in place.

    Works in column blocks (temporaries of ``block x N``), so it needs no second N x N array.
    """
    n = G.shape[0]
    for j0 in range(0, n, block):
        j1 = min(j0 + block, n)
        D = G[j0:j1, j0:j1]
        iu = np.tril_indices(j1 - j0, -1)
        D[iu] = D.T[iu]
        if j1 < n:
            G[j1:, j0:j1] = G[j0:j1, j1:].T
    return G


class _NonFinite(Exception):
    """Internal: a block holds NaN or inf (located and reported by the caller)."""


class _Moments:
    """Mergeable one-pass statistics of consecutive (windowed) samples.

    ``y = x - shift`` with a common shift (the first block's mean) keeps the lagged sums
    free of cancellation; the Gram matrix is centred per block and merged with Chan's
    update, so neither depends on the size of the mean.

    Attributes: ``n`` samples, ``mean`` (of x), ``gram`` (upper triangle of the centred
    sum of outer products, Fortran order) or None, ``m2`` (centred sums of squares per
    neuron, the diagonal of the gram also without it), ``lag`` (lagged sums of y, population
    total or per neuron), ``ysum``, ``head``/``tail`` (first/last ``n_lags`` rows of y).
    """

    def __init__(self, n_features, shift, n_lags, gram=True, per_neuron=False):
        self.n = 0
        self.n_lags = int(n_lags)
        self.per_neuron = per_neuron
        self.shift = shift
        self.mean = np.zeros(n_features)
        self.gram = np.zeros((n_features, n_features), order="F") if gram else None
        self.m2 = np.zeros(n_features)
        self.lag = np.zeros((n_lags + 1, n_features) if per_neuron else n_lags + 1)
        self.ysum = np.zeros(n_features)
        self.head = np.zeros((0, n_features))
        self.tail = np.zeros((0, n_features))

    def update(self, x):
        """Add a block ``x`` (float64, shape (L, N); not modified).

        Raises :class:`_NonFinite` (before changing any state) if ``x`` holds NaN or inf.
        """
        L = x.shape[0]
        if L == 0:
            return self
        K = self.n_lags
        with np.errstate(invalid="ignore", over="ignore"):  # NaN/inf are reported below
            y = x - self.shift  # the one private copy of the block
            ysum = y.sum(axis=0)
        if not np.isfinite(ysum).all():  # NaN/inf anywhere in the block propagate here
            raise _NonFinite
        self.lag += _lag_sums_within(y, K, self.per_neuron)
        self.lag += _lag_sums_across(self.tail, y[:K], K, self.per_neuron)
        if self.head.shape[0] < K:
            self.head = np.concatenate([self.head, y[: K - self.head.shape[0]]])
        tail = np.concatenate([self.tail, y[-K:]])
        self.tail = tail[tail.shape[0] - min(K, tail.shape[0]):]
        self.ysum += ysum
        ymean = ysum / L
        block_mean = ymean + self.shift
        m2_block = np.einsum("ij,ij->j", y, y) - L * ymean**2  # y is near-centred already
        if self.gram is not None:
            y -= ymean  # centred block
            blas.dsyrk(1.0, y.T, beta=1.0, c=self.gram, trans=0, lower=0, overwrite_c=1)
        n_a = self.n
        n = n_a + L
        delta = block_mean - self.mean
        if self.gram is not None and n_a > 0:
            blas.dsyr(n_a * L / n, delta, a=self.gram, lower=0, overwrite_a=1)
        self.m2 += m2_block + delta**2 * (n_a * L / n)
        self.mean += delta * (L / n)
        self.n = n
        return self

    def merge(self, other, in_place=False):
        """Statistics of ``self`` followed in time by ``other`` (new object).

        ``in_place`` adds ``other.gram`` into ``self.gram`` instead of a new N x N sum (the
        new object then owns it; do not use ``self`` afterwards).
        """
        if other.n == 0:
            return self
        if self.n == 0:
            return other
        out = _Moments.__new__(_Moments)
        out.n_lags, out.per_neuron, out.shift = self.n_lags, self.per_neuron, self.shift
        K = self.n_lags
        n = self.n + other.n
        delta = other.mean - self.mean
        out.mean = self.mean + delta * (other.n / n)
        out.m2 = self.m2 + other.m2 + delta**2 * (self.n * other.n / n)
        if self.gram is not None:
            if in_place and self.gram.flags.f_contiguous:
                out.gram = self.gram
                out.gram += other.gram
            else:
                out.gram = np.asfortranarray(self.gram + other.gram)
            blas.dsyr(self.n * other.n / n, delta, a=out.gram, lower=0, overwrite_a=1)
        else:
            out.gram = None
        out.lag = self.lag + other.lag + _lag_sums_across(self.tail, other.head, K, self.per_neuron)
        out.ysum = self.ysum + other.ysum
        out.head = np.concatenate([self.head, other.head])[:K]
        tail = np.concatenate([self.tail, other.tail])
        out.tail = tail[tail.shape[0] - min(K, tail.shape[0]):]
        out.n = n
        return out

    # ------------------------------------------------------------------ results
    def scatter(self, center, in_place=False):
        """Full symmetric sum of outer products (centred or about zero).

        ``in_place`` fills the lower triangle of ``gram`` itself and hands that array over
        (``gram`` is then None): no second N x N matrix.
        """
        if in_place:
            G, self.gram = self.gram, None
            if not center:
                blas.dsyr(float(self.n), self.mean, a=G, lower=0, overwrite_a=1)
            _symmetrize_upper(G)
            return G
        G = np.triu(self.gram)
        G += np.triu(G, 1).T
        if not center:
            G += self.n * np.outer(self.mean, self.mean)
        return G

    def centred_lag_sums(self):
        """Lag sums of the mean-subtracted series, lags 0..min(n_lags, n - 1).

        ``sum_{t<n-k} (y_t - m)(y_{t+k} - m) = S_k - m.(Y - tail_k) - m.(Y - head_k) + (n-k) m^2``
        with ``Y`` the total, ``tail_k``/``head_k`` the sums of the last/first k rows.
        """
        n = self.n
        K = min(self.n_lags, n - 1)
        m = self.ysum / n
        zero = np.zeros((1, m.size))
        head_k = np.concatenate([zero, np.cumsum(self.head, axis=0)])[: K + 1]
        tail_k = np.concatenate([zero, np.cumsum(self.tail[::-1], axis=0)])[: K + 1]
        k = np.arange(K + 1)
        if self.per_neuron:
            corr = m * (2 * self.ysum - tail_k - head_k) - (n - k)[:, None] * m**2
            return self.lag[: K + 1] - corr
        corr = 2 * m @ self.ysum - tail_k @ m - head_k @ m - (n - k) * (m @ m)
        return self.lag[: K + 1] - corr


# --------------------------------------------------------------------------- input sources
def _is_dask(X):
    return type(X).__module__.split(".")[0] == "dask" and hasattr(X, "to_delayed")


def _is_lazy_array(X):
    """h5py datasets, memmaps, zarr arrays: objects we read by slicing rows."""
    if isinstance(X, np.memmap):
        return True
    if isinstance(X, np.ndarray):
        return False
    try:
        import scipy.sparse as sp

        if sp.issparse(X):
            return False
    except ImportError:  # pragma: no cover
        pass
    has = all(hasattr(X, a) for a in ("shape", "dtype", "__getitem__"))
    return has and not hasattr(X, "columns")  # pandas goes through validate_data


def _convert_in_chunks(X):
    """A large in-memory 2-D numeric array that is not float64 (e.g. float32 data): read it
    in chunks like a memmap instead of copying it to float64 whole."""
    return (isinstance(X, np.ndarray) and not isinstance(X, np.memmap) and X.ndim == 2
            and X.dtype != np.float64 and X.dtype.kind in "fiub"
            and 8 * X.size > _CONVERT_IN_CHUNKS_BYTES)


def _min_error(n_rows, n_features, what="sample"):
    """sklearn's wording ("Found array with 1 sample(s) ..."), which its checks look for."""
    count = n_rows if what == "sample" else n_features
    return ShapeError(
        f"Found array with {count} {what}(s) (shape=({n_rows}, {n_features})) while a minimum "
        "of 2 is required. CovarianceSpectrum needs at least 2 time samples and 2 neurons, "
        "laid out (n_samples, n_neurons) = time x neurons."
    )


def _check_finite(block, start, name):
    if not np.isfinite(block).all():
        bad = ~np.isfinite(block)
        rows, cols = np.nonzero(bad)
        raise DataValueError(
            f"{name} contains {int(bad.sum())} NaN or inf values in samples {start}..."
            f"{start + block.shape[0] - 1} (first at sample {start + rows[0]}, neuron column "
            f"{cols[0]}). Interpolate or drop those samples/neurons before fitting, e.g. with "
            "Recording.slice_time(...) or Recording.select_units(...)."
        )


def _windowed(raw, window, name):
    """``raw`` as float64 (a view when it already is), summed over windows."""
    x = np.asarray(raw, dtype=np.float64)
    if x.ndim != 2:
        raise ShapeError(
            f"{name}: expected 2-D chunks (n_samples, n_neurons), got shape {x.shape}."
        )
    if window > 1:
        with np.errstate(invalid="ignore", over="ignore"):
            x = x.reshape(x.shape[0] // window, window, x.shape[1]).sum(axis=1)
    return x


def _first_shift(x):
    """Common shift of the lagged sums: the first block's mean (NaN/inf are caught later)."""
    with np.errstate(invalid="ignore", over="ignore"):
        return x.mean(axis=0)


def _feed(mom, x, raw, start, name):
    """``mom.update(x)``; on NaN/inf, locate them in ``raw`` (input rows from ``start``)."""
    try:
        return mom.update(x)
    except _NonFinite:
        _check_finite(np.asarray(raw), start, name)
        raise DataValueError(
            f"{name}: samples {start}...{start + len(raw) - 1} overflow to inf when summed "
            "(values near the float64 limit); rescale the activity."
        ) from None


def _block_moments(raw, start, window, name, n_features, shift, n_lags, gram, per_neuron):
    """Moments of one dask block (module level so that dask can ship it to workers)."""
    x = _windowed(raw, window, name)
    return _feed(_Moments(n_features, shift, n_lags, gram, per_neuron), x, raw, start, name)


def _merge2(a, b):
    return a.merge(b, in_place=True)


def _chain_moments(mom, raw, start, window, name):
    """Add one dask block to the moments of the blocks before it in the same chain."""
    return _feed(mom, _windowed(raw, window, name), raw, start, name)


def _dask_parallelism():
    """Threads that will run dask tasks: a distributed client's, else this machine's CPUs."""
    try:
        from distributed import default_client

        return max(1, sum(default_client().nthreads().values()))
    except Exception:
        import os

        return max(1, os.cpu_count() or 1)


# --------------------------------------------------------------------------- estimator
class CovarianceSpectrum(BaseEstimator):
    """Eigenvalue spectrum of the covariance (or correlation) matrix of neural activity.

    Parameters
    ----------
    kind : {"covariance", "correlation"}
        Which matrix to diagonalise. ``"correlation"`` standardises each neuron (constant
        neurons are then an error: drop them with ``Recording.drop_silent``).
    window : int or None
        Sum activity over non-overlapping windows of this many samples before computing
        the covariance (the long-window covariance the theory describes; science.md
        section 1). The trailing partial window is dropped. The covariance of the window
        sums is divided by ``window`` (``C_W = Cov(sum_W x) / W``, science.md section 4), so
        it is in units of (activity)^2 x samples and tends to the zero-frequency spectral
        density for long windows. All sample counts below are then counted in windows.
    drop_top : int
        Number of largest eigenvalues (global or low-rank modes) left out of
        ``normalized_`` and of the participation ratios.
    center : bool
        Subtract the mean of each neuron (``True``) or use second moments about zero (then
        ``kind="correlation"`` is the cosine similarity of the neurons' activity). The
        effective sample size is always estimated from the mean-subtracted activity.
    correction : {"unbiased", "cv", "none"}
        Finite-sample correction of ``participation_ratio_corrected_``:
        ``"unbiased"`` inverts the Wishart trace moments with the effective number of
        samples (:func:`unbiased_trace_moments`; for correlation matrices the analogous
        expansion of ``E[r^2]``); ``"cv"`` computes the cross-validated spectrum
        ``eigenvalues_cv_`` (eigenvectors from all folds but one, variance of the held-out
        fold along them, averaged over folds; Stringer et al. 2019) and its participation
        ratio; ``"none"`` reports the raw value.
    n_folds : int
        Number of contiguous time folds for ``correction="cv"``.
    n_samples_eff : "auto" or float
        Effective number of independent samples (in windows) used by the correction.
        ``"auto"`` estimates it from the autocorrelation of the activity; give a number
        only when it is known (e.g. independent trials).
    max_lag : int
        Largest lag (in windows) of the autocorrelation accumulated for ``n_samples_eff_``.
    solver : {"auto", "covariance", "gram"}
        ``"gram"`` diagonalises the T x T Gram matrix (same nonzero eigenvalues; cheaper
        when there are fewer samples than neurons), ``"covariance"`` the N x N matrix,
        ``"auto"`` picks the Gram matrix when T < N (not with ``correction="cv"``).
    store_covariance : bool
        Keep ``covariance_`` (N x N). Needed by :func:`subsample_spectra`.
    chunk_size : int or None
        Number of samples read per chunk (rounded down to whole windows). ``None`` picks
        about 64 MiB of float64 per chunk.
    progress : bool or "auto"
        Show a progress bar (tqdm) over the chunks read and the eigendecomposition.
        ``"auto"`` shows it when the work is long (estimated above ~10 s: e.g. N >= 5000).
        A dask array shows no bar (dask's own diagnostics or dashboard show its progress).

    Attributes
    ----------
    eigenvalues_ : ndarray, shape (n_neurons,)
        Eigenvalues of the chosen matrix, descending. With fewer samples than neurons the
        trailing ones are exactly zero.
    eigenvalues_cv_ : ndarray, shape (n_neurons,) or None
        Cross-validated eigenvalues (only with ``correction="cv"``), in the order of the
        training eigenvectors (not re-sorted).
    normalized_ : ndarray, shape (n_neurons - drop_top,)
        ``eigenvalues_`` without the top ``drop_top``, divided by their mean (mean 1).
    participation_ratio_ : float
        Raw ``(sum lambda)^2 / sum lambda^2`` of the kept eigenvalues.
    participation_ratio_corrected_ : float
        Bias-corrected participation ratio (see ``correction``); NaN with a warning when
        there are too few effective samples to correct.
    dimension_ : float
        Alias of ``participation_ratio_corrected_``.
    n_samples_ : int
        Number of samples (rows) in the input.
    n_windows_ : int
        Number of (windowed) samples entering the covariance.
    n_samples_eff_ : float
        Effective number of independent (windowed) samples for covariance estimation.
    n_dof_ : float
        Degrees of freedom used by the correction (``n_samples_eff_ * (n - 1) / n`` when
        centred, which is ``n - 1`` for independent samples).
    alpha_ : float
        ``n_features_in_ / n_dof_``: the ratio of neurons to effective degrees of freedom
        (what :class:`~neurospec.GainFit` calls ``alpha_eff_``).
    temporal_spectrum_ : TemporalSpectrum
        Eigenvalues of the temporal correlation of the (windowed, centred) samples,
        estimated from ``autocorrelation_`` (:func:`temporal_spectrum`): what the fit's
        forward model uses for temporally correlated samples.
    autocorrelation_ : ndarray, shape (n_lags + 1,)
        Population-averaged normalised autocorrelation ``tr C(k) / tr C(0)`` (lags in
        windows).
    integrated_time_ : float
        ``n_windows_ / n_samples_eff_`` (windows).
    autocorrelation_window_ : int
        Last lag included in the sum (Sokal's automatic window).
    mean_ : ndarray, shape (n_features_in_,)
        Mean activity per sample.
    covariance_ : ndarray, shape (n_features_in_, n_features_in_) or None
        The covariance matrix (per sample; divided by ``window``).
    n_features_in_ : int
        Number of neurons.
    bin_size_ : float or None
        Bin size in seconds when fitted on a Recording.
    meta_ : dict
        Provenance: the Recording's meta (when given), input type, window, solver used.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.random.default_rng(0).standard_normal((2000, 50))  # independent neurons
    >>> spec = CovarianceSpectrum().fit(X)
    >>> round(spec.participation_ratio_corrected_ / 50, 1)  # ~ 1 after the bias correction
    1.0
    """

    def __init__(self, kind="covariance", window=None, drop_top=0, center=True,
                 correction="unbiased", n_folds=2, n_samples_eff="auto", max_lag=256,
                 solver="auto", store_covariance=True, chunk_size=None, progress="auto"):
        self.kind = kind
        self.window = window
        self.drop_top = drop_top
        self.center = center
        self.correction = correction
        self.n_folds = n_folds
        self.n_samples_eff = n_samples_eff
        self.max_lag = max_lag
        self.solver = solver
        self.store_covariance = store_covariance
        self.chunk_size = chunk_size
        self.progress = progress

    # No sklearn check is skipped or expected to fail: fit validates array-likes with
    # validate_data (streamed inputs get the same messages) and is deterministic, so the
    # default tags apply; they are spelled out here. (sklearn itself skips its array-API
    # check unless SCIPY_ARRAY_API=1 is set; with numpy input that check has nothing to
    # test here, since the estimator has no predict/transform.)
    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        tags.input_tags.sparse = False
        tags.non_deterministic = False
        return tags

    # ------------------------------------------------------------------ validation
    def _check_params(self):
        def is_int(v):
            return isinstance(v, numbers.Integral) and not isinstance(v, bool)

        if self.kind not in ("covariance", "correlation"):
            raise ParameterError(f"kind must be 'covariance' or 'correlation', got {self.kind!r}.")
        if self.correction not in ("unbiased", "cv", "none"):
            raise ParameterError(
                f"correction must be 'unbiased', 'cv' or 'none', got {self.correction!r}."
            )
        if self.window is not None and (not is_int(self.window) or self.window < 1):
            raise BinSizeError(
                f"window must be None or a positive whole number of samples, got {self.window!r}."
            )
        if not is_int(self.drop_top) or self.drop_top < 0:
            raise ParameterError(f"drop_top must be a non-negative integer, got {self.drop_top!r}.")
        if not isinstance(self.center, (bool, np.bool_)):
            raise ParameterError(f"center must be True or False, got {self.center!r}.")
        if not is_int(self.n_folds) or self.n_folds < 2:
            raise ParameterError(f"n_folds must be an integer >= 2, got {self.n_folds!r}.")
        if not (isinstance(self.n_samples_eff, str) and self.n_samples_eff == "auto"):
            v = self.n_samples_eff
            if (not isinstance(v, numbers.Real) or isinstance(v, bool) or not np.isfinite(v)
                    or v <= 1):
                raise ParameterError(
                    "n_samples_eff must be 'auto' or a number of independent samples > 1, "
                    f"got {v!r}."
                )
        if not is_int(self.max_lag) or self.max_lag < 1:
            raise ParameterError(f"max_lag must be a positive integer, got {self.max_lag!r}.")
        if self.solver not in ("auto", "covariance", "gram"):
            raise ParameterError(
                f"solver must be 'auto', 'covariance' or 'gram', got {self.solver!r}."
            )
        if self.solver == "gram" and self.correction == "cv":
            raise ParameterError(
                "correction='cv' needs eigenvectors of the N x N covariance; use solver='auto' "
                "or 'covariance' with it."
            )
        if not isinstance(self.store_covariance, (bool, np.bool_)):
            raise ParameterError(
                f"store_covariance must be True or False, got {self.store_covariance!r}."
            )
        if self.chunk_size is not None and (not is_int(self.chunk_size) or self.chunk_size < 1):
            raise ParameterError(
                f"chunk_size must be None or a positive number of samples, got {self.chunk_size!r}."
            )
        if not (isinstance(self.progress, (bool, np.bool_)) or self.progress == "auto"):
            raise ParameterError(
                f"progress must be True, False or 'auto', got {self.progress!r}."
            )

    def _prepare_input(self, X):
        """Classify X; return (kind, data, n_rows or None, n_features, name, meta)."""
        from .recording import Recording

        if isinstance(X, Recording):
            meta = {"recording": dict(X.meta), "input": "Recording"}
            self.bin_size_ = X.bin_size
            name = str(X.meta.get("source", "Recording"))
            self._forget_feature_names()
            return "array", X.activity, X.n_samples, X.n_neurons, name, meta
        self.bin_size_ = None
        if _convert_in_chunks(X):
            kind = "lazy"
            name = f"X ({X.dtype} array)"
            self._forget_feature_names()
            return kind, X, int(X.shape[0]), int(X.shape[1]), name, {"input": "ndarray"}
        if _is_dask(X) or _is_lazy_array(X):
            kind = "dask" if _is_dask(X) else "lazy"
            name = f"X ({type(X).__name__})"
            if len(X.shape) != 2:
                raise ShapeError(
                    f"{name} has shape {tuple(X.shape)}; expected a 2-D array (n_samples, "
                    "n_neurons) = time x neurons. For one neuron use X[:, None] (but a spectrum "
                    "needs at least 2 neurons)."
                )
            dt = np.dtype(X.dtype)
            if np.issubdtype(dt, np.complexfloating):
                raise DataValueError(f"Complex data not supported: {name} has dtype {dt}.")
            if not (np.issubdtype(dt, np.number) or dt == np.bool_):
                raise DataValueError(
                    f"{name} has non-numeric dtype {dt}; activity must be numbers."
                )
            n_rows, n_features = int(X.shape[0]), int(X.shape[1])
            self._forget_feature_names()
            return kind, X, n_rows, n_features, name, {"input": type(X).__name__}
        if isinstance(X, Iterator):
            self._forget_feature_names()
            return "iterator", X, None, None, "X (chunk iterator)", {"input": "iterator"}
        try:
            Xv = validate_data(self, X, dtype=np.float64, ensure_all_finite=False,
                               ensure_min_samples=2, ensure_min_features=2)
        except ValueError as e:
            msg = str(e)
            hint = (" CovarianceSpectrum expects activity of shape (n_samples, n_neurons) = "
                    "time x neurons.")
            if "NaN" in msg or "inf" in msg or "Complex" in msg:
                raise DataValueError(msg + hint) from e
            raise ShapeError(msg + hint) from e
        return "array", Xv, Xv.shape[0], Xv.shape[1], "X", {"input": type(X).__name__}

    def _forget_feature_names(self):
        if hasattr(self, "feature_names_in_"):
            del self.feature_names_in_

    # ------------------------------------------------------------------ planning
    def _plan(self, n_rows, n_features, row_range=None):
        """Blocks ``(fold, start_row, stop_row)`` aligned to windows and folds."""
        W = self.window or 1
        r0, r1 = (0, n_rows) if row_range is None else row_range
        n_win = (r1 - r0) // W
        if n_win < 2:
            if self.window is not None and r1 - r0 < W:
                raise BinSizeError(
                    f"window={W} samples is longer than the recording ({r1 - r0} samples); "
                    "choose a shorter window."
                )
            raise BinSizeError(
                f"window={W} samples leaves {n_win} window(s) of the {r1 - r0} samples; at least "
                "2 are needed. Choose a shorter window."
            )
        n_folds = self.n_folds if self.correction == "cv" else 1
        if n_win < 2 * n_folds:
            raise ParameterError(
                f"correction='cv' with n_folds={n_folds} needs at least {2 * n_folds} (windowed) "
                f"samples, got {n_win}; use fewer folds or another correction."
            )
        edges = np.round(np.linspace(0, n_win, n_folds + 1)).astype(int)
        cw = max(1, self._chunk_rows(n_features) // W)
        blocks = []
        for f in range(n_folds):
            for s in range(edges[f], edges[f + 1], cw):
                blocks.append((f, r0 + s * W, r0 + min(s + cw, edges[f + 1]) * W))
        return blocks, n_folds

    def _chunk_rows(self, n_features):
        if self.chunk_size is not None:
            return int(self.chunk_size)
        return max(4 * self.max_lag, _CHUNK_BYTES // (8 * max(n_features, 1)), 1)

    # ------------------------------------------------------------------ accumulation
    def _accumulate(self, kind, data, n_rows, n_features, name, row_range=None,
                    gram=True, per_neuron=False, keep_windows=False, bar=None):
        """One pass over the input.

        Returns ``(folds, n_features, windows, n_rows)``: a list of :class:`_Moments` (one
        per time fold; a single one unless correction="cv"), the number of neurons, the
        stacked windowed samples when ``keep_windows`` (Gram solver) else None, and the
        number of input samples read.
        """
        if kind == "iterator":
            return self._accumulate_iterator(data, name, gram, per_neuron, keep_windows)
        W = self.window or 1
        blocks, n_folds = self._plan(n_rows, n_features, row_range)
        if kind == "dask":
            folds, kept = self._accumulate_dask(data, blocks, n_folds, n_features, name, gram,
                                                per_neuron, keep_windows)
            return folds, n_features, kept, n_rows
        folds = [None] * n_folds
        # the Gram solver keeps the windowed samples: one array, filled block by block
        kept = (np.empty((sum((b - a) // W for _, a, b in blocks), n_features))
                if keep_windows else None)
        pos = 0
        for f, a, b in blocks:
            raw = data[a:b]
            x = _windowed(raw, W, name)
            if folds[f] is None:
                shift = folds[0].shift if f else _first_shift(x)
                folds[f] = _Moments(n_features, shift, self.max_lag, gram, per_neuron)
            _feed(folds[f], x, raw, a, name)
            if keep_windows:
                kept[pos : pos + x.shape[0]] = x
            pos += x.shape[0]
            del raw, x
            if bar is not None:
                bar.update((b - a) // W)
        return folds, n_features, kept, n_rows

    def _accumulate_iterator(self, chunks, name, gram, per_neuron, keep_windows):
        W = self.window or 1
        acc, rest, kept, start = None, None, [], 0
        n_features = None
        for chunk in chunks:
            blk = np.asarray(chunk, dtype=np.float64)
            if blk.ndim != 2:
                raise ShapeError(
                    f"{name}: chunk at sample {start} has shape {blk.shape}; each chunk must be "
                    "2-D (n_samples, n_neurons) = time x neurons."
                )
            if n_features is None:
                n_features = blk.shape[1]
                if n_features < 2:
                    raise _min_error(blk.shape[0], n_features, "feature")
                if self.drop_top >= n_features:
                    raise ParameterError(
                        f"drop_top={self.drop_top} leaves no eigenvalue of the {n_features} "
                        f"neurons; choose drop_top < {n_features}."
                    )
            elif blk.shape[1] != n_features:
                raise ShapeError(
                    f"{name}: chunk at sample {start} has {blk.shape[1]} neurons, earlier chunks "
                    f"had {n_features}; all chunks must have the same columns."
                )
            _check_finite(blk, start, name)
            start += blk.shape[0]
            if rest is not None and rest.shape[0]:
                blk = np.concatenate([rest, blk])
            usable = blk.shape[0] // W * W
            rest = blk[usable:]
            if usable == 0:
                continue
            x = blk[:usable]
            if W > 1:
                x = x.reshape(usable // W, W, n_features).sum(axis=1)
            if acc is None:
                acc = _Moments(n_features, _first_shift(x), self.max_lag, gram, per_neuron)
            acc.update(x)  # finite: checked above
            if keep_windows:
                kept.append(np.array(x))
        if n_features is None:
            raise ShapeError(f"{name} yielded no chunks: Found array with 0 sample(s).")
        n_win = 0 if acc is None else acc.n
        if n_win < 2:
            if self.window is not None and start >= 2:
                raise BinSizeError(
                    f"window={W} samples leaves {n_win} window(s) of the {start} samples; at "
                    "least 2 are needed. Choose a shorter window."
                )
            raise _min_error(start, n_features)
        return [acc], n_features, (np.concatenate(kept) if keep_windows else None), start

    def _accumulate_dask(self, X, blocks, n_folds, n_features, name, gram, per_neuron,
                         keep_windows):
        import dask

        W = self.window or 1
        K = self.max_lag
        r0, r1 = blocks[0][1], blocks[-1][2]
        sizes = tuple(b - a for _, a, b in blocks)
        Xr = X[r0:r1].rechunk((sizes, (n_features,)))
        first = Xr.blocks[0].compute()
        shift = _first_shift(_windowed(first, W, name))
        if not np.isfinite(shift).all():  # else every block would fail on the shift
            _check_finite(np.asarray(first), r0, name)
        # each fold's blocks are split into as many contiguous chains as dask has threads; a
        # chain adds its blocks one by one to one set of moments (one N x N sum per chain,
        # not per block), and the chains are merged in time order (in place)
        P = _dask_parallelism()
        part = dask.delayed(_block_moments, pure=True)
        step = dask.delayed(_chain_moments, pure=True)
        per_fold = [[] for _ in range(n_folds)]
        for (f, a, _), blk in zip(blocks, Xr.to_delayed()[:, 0]):
            per_fold[f].append((a, blk))
        leaves = []
        for items in per_fold:
            n_chains = max(1, min(P, len(items)))
            edges = np.round(np.linspace(0, len(items), n_chains + 1)).astype(int)
            chains = []
            for c in range(n_chains):
                group = items[edges[c] : edges[c + 1]]
                a, blk = group[0]
                mom = part(blk, a, W, name, n_features, shift, K, gram, per_neuron)
                for a, blk in group[1:]:
                    mom = step(mom, blk, a, W, name)
                chains.append(mom)
            leaves.append(chains)
        merge = dask.delayed(_merge2, pure=True)
        roots = []
        for level in leaves:
            while len(level) > 1:  # pairwise tree over adjacent blocks keeps time order
                nxt = [merge(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
                if len(level) % 2:
                    nxt.append(level[-1])
                level = nxt
            roots.append(level[0])
        folds = list(dask.compute(*roots))
        kept = None
        if keep_windows:
            kept = np.empty((sum(sz // W for sz in sizes), n_features))
            pos = 0
            for i in range(len(blocks)):
                x = _windowed(Xr.blocks[i].compute(), W, name)
                kept[pos : pos + x.shape[0]] = x
                pos += x.shape[0]
        return folds, kept

    # ------------------------------------------------------------------ fit
    def fit(self, X, y=None):
        """Estimate the spectrum of the covariance (or correlation) matrix of ``X``.

        Parameters
        ----------
        X : array_like, Recording, h5py.Dataset, numpy.memmap, dask.array or iterator
            Activity, shape (n_samples, n_neurons) = time x neurons. Inputs other than
            in-memory arrays are read in chunks of ``chunk_size`` samples, so they never need
            to fit in memory; a dask array is reduced block by block with dask (each block's
            moments, then a pairwise tree of merges, so a worker holds a few N x N partial
            sums at a time); an iterator (e.g. a generator) must yield 2-D chunks with the
            same columns.
        y : None
            Ignored.

        Returns
        -------
        self
        """
        self._check_params()
        kind, data, n_rows, n_features, name, meta = self._prepare_input(X)
        if n_rows is not None:
            if n_rows < 2:
                raise _min_error(n_rows, n_features)
            if n_features < 2:
                raise _min_error(n_rows, n_features, "feature")
            if self.drop_top >= n_features:
                raise ParameterError(
                    f"drop_top={self.drop_top} leaves no eigenvalue of the {n_features} neurons; "
                    f"choose drop_top < {n_features}."
                )
        elif self.correction == "cv":
            raise ParameterError(
                "correction='cv' needs the length of the recording to place the folds; pass an "
                "array, h5py dataset, memmap or dask array instead of an iterator."
            )
        W = self.window or 1
        use_gram = self.solver == "gram" or (
            self.solver == "auto" and self.correction != "cv" and n_rows is not None
            and n_rows // W < n_features
        )
        if n_rows is not None:
            self._check_memory(n_rows // W, n_features, use_gram, name)
        bar = self._progress_bar(kind, n_rows, n_features, use_gram)
        try:
            folds, n_features, windows, n_read = self._accumulate(
                kind, data, n_rows, n_features, name, gram=not use_gram, keep_windows=use_gram,
                per_neuron=self.kind == "correlation", bar=bar,
            )
            total = folds[0]
            for f in folds[1:]:
                total = total.merge(f)
            if bar is not None:
                m = min(total.n, n_features) if use_gram else n_features
                bar.set_description(f"CovarianceSpectrum: eigenvalues ({m} x {m})")
            res = _spectrum(self, total, folds, None, windows=windows, name=name,
                            release=self.correction != "cv")
            del windows
            if bar is not None:
                bar.update(bar.total - bar.n)
        finally:
            if bar is not None:
                bar.close()
        self.n_features_in_ = n_features
        self.n_samples_ = n_read
        self.n_windows_ = total.n
        self.mean_ = total.mean / W
        self.covariance_ = res["covariance"] if self.store_covariance else None
        self.eigenvalues_ = res["eigenvalues"]
        self.eigenvalues_cv_ = res["eigenvalues_cv"]
        self.normalized_ = res["normalized"]
        self.participation_ratio_ = res["pr"]
        self.participation_ratio_corrected_ = res["pr_corrected"]
        self.dimension_ = res["pr_corrected"]
        self.n_samples_eff_ = res["n_samples_eff"]
        self.n_dof_ = res["n_dof"]
        self.alpha_ = n_features / res["n_dof"]
        self.autocorrelation_ = res["autocorrelation"]
        self.temporal_spectrum_ = temporal_spectrum(
            res["autocorrelation"], total.n, res["acf_window"], center=self.center)
        self.integrated_time_ = res["integrated_time"]
        self.autocorrelation_window_ = res["acf_window"]
        meta.update(window=W, n_windows=total.n, solver="gram" if use_gram else "covariance",
                    kind=self.kind, correction=self.correction)
        self.meta_ = meta
        return self

    def _check_memory(self, n_win, n_features, use_gram, name):
        """Refuse (with the size and the path to use) what cannot fit in memory."""
        nn = 8.0 * n_features**2
        if use_gram:
            need = 8.0 * n_win * n_features + max(8.0 * n_win**2, nn if self.store_covariance
                                                   else 0.0)
            what = (f"{name}: the Gram solver's {n_win} x {n_features} windowed samples and "
                    f"{min(n_win, n_features)}-square matrix (float64)")
        else:
            two = self.store_covariance or self.kind == "correlation"
            need = nn * (2 if two else 1) * (self.n_folds if self.correction == "cv" else 1)
            what = (f"{name}: {'two ' if two else 'one '}{n_features} x {n_features} float64 "
                    f"matri{'ces' if two else 'x'} ({format_bytes(nn)} each)")
        fixes = []
        if self.store_covariance:
            fixes.append("store_covariance=False saves one N x N matrix")
        if not use_gram and n_win < n_features:
            fixes.append("solver='gram' works on the T x T matrix")
        fixes.append(
            "past the N x N matrix, neurospec.matrixfree.slq_spectrum estimates the spectrum "
            "from matrix-vector products (memory O(N))")
        check_memory(need, what, "; ".join(fixes).capitalize() + ".")

    def _progress_bar(self, kind, n_rows, n_features, use_gram):
        """A bar over the windowed samples read plus the eigendecomposition, or None.

        One step is one windowed sample (about N^2 flops of accumulation); the
        eigendecomposition of an m x m matrix counts as ``4 m^3 / N^2`` of them (its
        tridiagonal reduction runs at memory speed, a few times slower than the products).
        """
        if self.progress is False or kind in ("dask", "iterator") or n_rows is None:
            return None
        n_win = n_rows // (self.window or 1)
        m = min(n_win, n_features) if use_gram else n_features
        eig_steps = int(np.ceil(4.0 * m**3 / n_features**2)) + (
            int(np.ceil(float(n_win) ** 2 / n_features)) if use_gram else 0)
        flops = float(n_win) * n_features**2 + eig_steps * float(n_features) ** 2
        if self.progress == "auto" and flops < _PROGRESS_FLOPS:
            return None
        return progress_bar(n_win + eig_steps, enabled=True,
                            desc=f"CovarianceSpectrum: reading {n_features} neurons",
                            bar_format="{l_bar}{bar}| {elapsed}<{remaining}")

    def summary(self):
        """Short text summary of the fitted spectrum."""
        check_is_fitted(self)
        unit = f"windows of {self.window} samples" if self.window else "samples"
        return "\n".join([
            f"{self.kind} spectrum of {self.n_features_in_} neurons x {self.n_windows_} {unit}",
            f"effective samples {self.n_samples_eff_:.1f} (integrated time "
            f"{self.integrated_time_:.2f}), alpha = N / n_eff = {self.alpha_:.4f}",
            f"participation ratio raw {self.participation_ratio_:.3f}, corrected "
            f"({self.correction}) {self.participation_ratio_corrected_:.3f}",
        ])


def temporal_spectrum(autocorrelation, n_samples, acf_window, center=True):
    """The temporal spectrum of the samples, estimated from their autocorrelation.

    The correlogram of ``autocorrelation`` up to lag ``M = 2 * acf_window`` (flat-top
    taper, :meth:`~neurospec.theory.temporal.TemporalSpectrum.from_autocorrelation`) sampled
    at the Fourier frequencies of ``n_samples``. When the excess ``E[b^2] - 1``, after
    removing the ``1 / n`` noise floor that every estimated ``rho_k^2`` carries, is below
    1 % (a change of ``alpha`` below 1 %), the samples are treated as independent (white).

    Parameters
    ----------
    autocorrelation : ndarray, shape (n_lags + 1,)
        Normalised autocorrelation, lag 0 first.
    n_samples : int
        Number of (windowed) samples.
    acf_window : int
        Sokal's window (last lag that carries signal).
    center : bool
        Whether the mean was subtracted (drops the zero frequency: ``n_samples - 1`` values).

    Returns
    -------
    TemporalSpectrum

    Examples
    --------
    >>> import numpy as np
    >>> n, a, k = 4000, 0.8, np.arange(100)
    >>> v = (1 + a) / (1 - a) / n  # what subtracting the mean takes from every lag
    >>> rho = (1 - k / n) * (a**k - v) / (1 - v)  # expected sample autocorrelation of AR(1)
    >>> rho[0] = 1.0
    >>> ts = temporal_spectrum(rho, n, 30)
    >>> round(ts.second_moment(), 2)  # (1 + a^2) / (1 - a^2) = 4.56 for AR(1)
    4.55
    """
    from .theory.temporal import TemporalSpectrum

    rho = np.asarray(autocorrelation, dtype=float)
    n = int(n_samples)
    n_out = n - 1 if center else n
    M = int(min(max(2 * int(acf_window), 4), rho.size - 1, n - 1))
    if M < 1:
        return TemporalSpectrum.white(max(n_out, 1))
    excess = 2.0 * float(np.sum(rho[1 : M + 1] ** 2 - 1.0 / n))
    if excess < 0.01:
        return TemporalSpectrum.white(n_out)
    if center:
        rho = unbiased_autocorrelation(rho, n, M)
    return TemporalSpectrum.from_autocorrelation(rho, n, center=center, max_lag=M)


def unbiased_autocorrelation(rho, n_samples, max_lag):
    """Undo the two biases of a centred sample autocorrelation up to ``max_lag``.

    Lag sums over ``n - k`` pairs shrink lag k by ``1 - k/n``, and subtracting the sample mean
    lowers every autocovariance by ``Var(mean) = gamma_0 (1 + 2 sum_k rho_k) / n``; so
    ``E[rho^_k] ~ (1 - k/n) (rho_k - v) / (1 - v)`` with ``v = (1 + 2 sum rho) / n``, inverted
    here (two fixed-point steps for v). For slow processes the second bias is what matters:
    AR(1) with a = 0.8 over n = 1000 samples lowers each rho_k by ~0.009, and the power
    spectrum at low frequencies by ~10 % (a correlogram of 46 lags).

    Parameters
    ----------
    rho : ndarray, shape (n_lags + 1,)
        Sample autocorrelation of centred data, lag 0 first.
    n_samples : int
        Number of samples it was computed from.
    max_lag : int
        Last lag to correct (later lags are returned as given).

    Returns
    -------
    ndarray
        The corrected autocorrelation (``rho[0] = 1``).

    Examples
    --------
    >>> import numpy as np
    >>> r = unbiased_autocorrelation(np.r_[1.0, np.full(10, -0.001)], 1000, 10)
    >>> bool(abs(r[1:]).max() < 1e-4)  # white noise: the centring dip -1/n is removed
    True
    """
    rho = np.array(rho, dtype=float)
    n = int(n_samples)
    M = int(min(max_lag, rho.size - 1, n - 1))
    k = np.arange(1, M + 1)
    raw = rho[1 : M + 1] / (1.0 - k / n)
    v = 0.0
    for _ in range(3):
        fixed = raw * (1.0 - v) + v
        v = float(np.clip((1.0 + 2.0 * np.sum(fixed)) / n, 0.0, 0.5))
    rho[1 : M + 1] = raw * (1.0 - v) + v
    return rho


# --------------------------------------------------------------------------- spectra from moments
def _constant_error(name, const):
    return DataValueError(
        f"{name}: {const.size} neuron(s) are constant (zero variance; first column {const[0]}), "
        "so kind='correlation' is undefined. Drop them first (Recording.drop_silent()) or use "
        "kind='covariance'."
    )


def _matrix_from_moments(est, mom, idx, name, release=False, cache=False, need_cov=True):
    """(covariance, chosen matrix) for neurons ``idx`` (all when None).

    ``cache`` keeps the full scatter matrix on ``mom`` for repeated subsets; ``release``
    hands ``mom.gram`` over (its lower triangle filled in place, no copy). Without
    ``need_cov`` a correlation matrix is made in place of the covariance, which is then
    returned as None. So ``fit`` holds at most two N x N matrices: the covariance and, for
    ``kind="correlation"`` or a kept covariance, the eigensolver's copy.
    """
    W = est.window or 1
    n = mom.n
    S = getattr(mom, "_scatter", None)
    shared = S is not None or cache  # S is (or will be) reused: never scale it in place
    if S is None:
        S = mom.scatter(est.center, in_place=release and not cache)
        if cache:
            mom._scatter = S
    if release:
        mom.gram = None
    if idx is not None:
        cov = S[np.ix_(idx, idx)]
    else:
        cov = S.copy() if shared else S
    del S
    cov /= (n - 1 if est.center else n) * W
    if est.kind == "covariance":
        return cov, cov
    d = np.sqrt(np.diag(cov))
    const = np.nonzero(d <= 1e-12 * max(d.max(), 1e-300))[0]
    if const.size:
        raise _constant_error(name, const)
    if not need_cov:  # the covariance is not kept: scale it into the correlation in place
        cov /= d[:, None]
        cov /= d[None, :]
        return None, cov
    R = cov / d[:, None]
    R /= d[None, :]
    return cov, R


#: eigenvalues of matrices at least this large go through LAPACK's two-stage reduction
_TWO_STAGE_MIN_N = 4000
_TWO_STAGE = []  # [callable or None], found once


def _two_stage_solver():
    """LAPACKE ``dsyevd_2stage`` (eigenvalues only) from the OpenBLAS scipy links, or None.

    The two-stage tridiagonal reduction (dense -> band with level-3 BLAS, band -> tridiagonal
    by bulge chasing) moves most of the O(N^3) work out of the memory-bound level-2 BLAS of
    the one-stage ``dsytrd`` that ``eigh(driver="evd")`` uses: measured 1.3x faster at
    N = 4000 and 1.9x at N = 8000 on 2 cores, no different at N = 3000 (the matrix still
    fits in cache), hence ``_TWO_STAGE_MIN_N``. scipy does not wrap it, so it is looked up in
    the OpenBLAS library scipy loaded (``scipy_LAPACKE_dsyevd_2stage``, LP64) and checked on
    a small matrix; anything unexpected leaves the solver at scipy's ``evd``.
    """
    if _TWO_STAGE:
        return _TWO_STAGE[0]
    solver = None
    try:
        import ctypes

        for lib_info in _controller().info():
            if lib_info.get("internal_api") != "openblas":
                continue
            lib = ctypes.CDLL(lib_info["filepath"])
            for name, itype in (("scipy_LAPACKE_dsyevd_2stage", ctypes.c_int32),
                                ("LAPACKE_dsyevd_2stage", ctypes.c_int32),
                                ("scipy_LAPACKE_dsyevd_2stage64_", ctypes.c_int64),
                                ("LAPACKE_dsyevd_2stage64_", ctypes.c_int64)):
                fn = getattr(lib, name, None)
                if fn is None:
                    continue
                fn.restype = ctypes.c_int
                fn.argtypes = [ctypes.c_int, ctypes.c_char, ctypes.c_char, itype, ctypes.c_void_p,
                               itype, ctypes.c_void_p]

                def solve(A, fn=fn):
                    """Eigenvalues (ascending) of the contiguous symmetric A, destroyed."""
                    n = A.shape[0]
                    w = np.empty(n)
                    info = fn(102, b"N", b"U", n, A.ctypes.data, n, w.ctypes.data)
                    if info != 0:
                        raise np.linalg.LinAlgError(f"dsyevd_2stage failed (info={info})")
                    return w

                test = np.array([[2.0, 1.0, 0.0], [1.0, 2.0, 1.0], [0.0, 1.0, 2.0]])
                expect = np.array([2 - np.sqrt(2), 2.0, 2 + np.sqrt(2)])
                if np.allclose(solve(np.asfortranarray(test)), expect, rtol=1e-12):
                    solver = solve
                    break
            if solver is not None:
                break
    except Exception:  # pragma: no cover - any surprise: use scipy's driver
        solver = None
    _TWO_STAGE.append(solver)
    return solver


def _eigvalsh(M, overwrite=False):
    """Eigenvalues of a symmetric matrix, descending.

    With ``overwrite`` a C-ordered ``M`` is passed as its (equal) transpose, which is
    Fortran-ordered, so LAPACK works in place instead of on a copy. Large matrices use the
    two-stage reduction (:func:`_two_stage_solver`) when it is available.
    """
    if overwrite and M.flags.c_contiguous and not M.flags.f_contiguous:
        M = M.T
    if M.shape[0] <= 512:
        with _single_thread():
            lam = sla.eigh(M, eigvals_only=True, overwrite_a=overwrite, check_finite=False,
                           driver="evd")
        return lam[::-1]
    solver = _two_stage_solver() if M.shape[0] >= _TWO_STAGE_MIN_N else None
    if solver is not None and M.dtype == np.float64:
        A = M if (overwrite and M.flags.f_contiguous) else np.array(M, order="F")
        try:
            return solver(A)[::-1]
        except np.linalg.LinAlgError:
            if A is M:  # destroyed: nothing to fall back on
                raise
    lam = sla.eigh(M, eigvals_only=True, overwrite_a=overwrite, check_finite=False,
                   driver="evd")
    return lam[::-1]


def _offdiag_fourth_power_sum(R):
    """sum_{i != j} R_ij^4 without an extra N x N temporary of the full matrix."""
    s4 = 0.0
    step = max(1, 2**22 // max(R.shape[1], 1))
    for s in range(0, R.shape[0], step):
        blk = R[s : s + step] ** 2
        blk[np.arange(blk.shape[0]), s + np.arange(blk.shape[0])] = 0.0
        s4 += float(np.sum(blk**2))
    return s4


def _autocorrelation(est, total, idx, name, stacklevel=3):
    """Autocorrelation, Sokal window and effective sample size from accumulated moments.

    ``est`` provides ``kind``, ``n_samples_eff``, ``max_lag`` and ``center``. Returns a dict
    with ``rho``, ``tau``, ``window``, ``reached``, ``n_eff`` and ``n_dof``.
    """
    n = total.n
    lags = total.centred_lag_sums()
    if total.per_neuron:
        lags = lags if idx is None else lags[:, idx]
        if est.kind == "correlation":
            # a correlation matrix weighs every neuron equally: the autocorrelation of the
            # standardised activity (a few slow, high-variance neurons must not set n_eff)
            var = lags[0]
            lags = (lags / np.where(var > 0, var, 1.0)).sum(axis=1) * float(np.mean(var))
        else:
            lags = lags.sum(axis=1)
    rho = lags / lags[0] if lags[0] > 0 else np.r_[1.0, np.zeros(lags.size - 1)]
    tau, m, reached = _sokal_window(rho**2, n)
    if not reached and est.n_samples_eff == "auto":
        limit = (f"max_lag={est.max_lag}" if lags.size - 1 == est.max_lag
                 else f"the recording ({n} samples)")
        warnings.warn(
            f"{name}: {_NOT_DECAYED} within {limit} (windowed samples; "
            f"integrated time >= {tau:.1f}); n_samples_eff_ is then an upper bound. Increase "
            "max_lag, record longer, or sum activity over longer windows (window=...).",
            SpectrumWarning, stacklevel=stacklevel,
        )
    n_eff = n / tau if est.n_samples_eff == "auto" else float(est.n_samples_eff)
    n_dof = n_eff * (n - 1) / n if est.center else n_eff
    return dict(rho=rho, tau=tau, window=m, reached=reached, n_eff=n_eff, n_dof=n_dof)


def _spectrum(est, total, folds, idx, windows=None, name="X", release=False, cache=False):
    """Everything the estimator reports, from accumulated moments, for neurons ``idx``."""
    n = total.n
    n_features = total.mean.size if idx is None else len(idx)
    need_s4 = est.kind == "correlation" and est.correction == "unbiased" and est.drop_top == 0
    ac = _autocorrelation(est, total, idx, name, stacklevel=4)
    n_eff, n_dof, rho, m = ac["n_eff"], ac["n_dof"], ac["rho"], ac["window"]

    # --- eigenvalues
    cov, s4 = None, None
    if windows is not None:  # Gram solver: T x T matrix, same nonzero eigenvalues
        # windows are the estimator's own copy: standardised in place (no T x N copy)
        Y, d_scale = _standardized_windows(est, windows, idx, name)
        lam = np.zeros(n_features)
        k = min(Y.shape)
        lam[:k] = _eigvalsh(Y @ Y.T, overwrite=True)[:k]
        if need_s4:
            s4 = 0.0  # sum of r_ij^4 off the diagonal, in row blocks (no N x N matrix)
            step = max(1, 2**22 // max(n_features, 1))
            for s in range(0, n_features, step):
                R = Y[:, s : s + step].T @ Y
                R[np.arange(R.shape[0]), s + np.arange(R.shape[0])] = 0.0
                s4 += float(np.sum((R**2) ** 2))
        if est.store_covariance:  # after the T x T matrix is freed
            cov = Y.T @ Y
            if d_scale is not None:
                cov *= d_scale[:, None]
                cov *= d_scale[None, :]
    else:
        cov, matrix = _matrix_from_moments(est, total, idx, name, release=release, cache=cache,
                                           need_cov=est.store_covariance)
        if need_s4:
            s4 = _offdiag_fourth_power_sum(matrix)
        # the eigensolver may destroy its input unless it is the covariance we keep
        lam = _eigvalsh(matrix, overwrite=matrix is not cov or not est.store_covariance)
    lam = np.clip(lam, 0.0, None)  # a covariance is PSD: negative values are round-off
    lam[n - 1 if est.center else n :] = 0.0  # beyond the rank of the data: exactly zero
    d = est.drop_top
    kept = lam[d:]
    mean_kept = kept.mean()
    if not mean_kept > 0:
        raise DataValueError(
            f"{name}: every neuron is constant (all kept eigenvalues are 0); nothing to analyse."
        )
    normalized = kept / mean_kept
    pr = participation_ratio(kept)

    # --- corrections
    lam_cv = None
    if est.correction == "none":
        pr_corr = pr
    elif est.correction == "cv":
        lam_cv = _cv_spectrum(est, folds, idx, name)
        pr_corr = participation_ratio(lam_cv[d:])
    else:
        pr_corr = _corrected_pr(est, kept, lam, s4, n_features, n_dof, name)
    if np.isfinite(pr_corr) and pr_corr > n_features * (1 + 1e-9):
        warnings.warn(
            f"{name}: the bias-corrected participation ratio {pr_corr:.1f} exceeds the number "
            f"of neurons {n_features}: the finite-sample correction over-corrects (the "
            "effective sample size is too small, e.g. autocorrelated neurons with unequal time "
            "constants). Read it as 'close to N' (nearly independent neurons) and check "
            "n_samples_eff_.", SpectrumWarning, stacklevel=4,
        )
    return dict(
        covariance=cov, eigenvalues=lam, eigenvalues_cv=lam_cv, normalized=normalized, pr=pr,
        pr_corrected=pr_corr, n_samples_eff=n_eff, n_dof=n_dof, autocorrelation=rho,
        integrated_time=n / n_eff, acf_window=m,
    )


def _corrected_pr(est, kept, lam, s4, n_features, n_dof, name):
    correlation = est.kind == "correlation" and est.drop_top == 0
    if n_dof <= (3.0 if correlation else 1.0):
        warnings.warn(
            f"{name}: only {n_dof:.2f} effective degrees of freedom; the participation ratio "
            "cannot be bias-corrected (participation_ratio_corrected_ is NaN). Record longer.",
            SpectrumWarning, stacklevel=4,
        )
        return np.nan
    if correlation:
        a = float(n_features) ** 2
        b = _unbiased_correlation_sq(np.sum(lam**2), n_features, s4, n_dof)
    else:
        a, b = unbiased_trace_moments(np.sum(kept), np.sum(kept**2), n_dof)
    if not (a > 0 and b > 0):
        warnings.warn(
            f"{name}: the finite-sample bias exceeds the signal (corrected trace moments "
            f"a={a:.3g}, b={b:.3g}); participation_ratio_corrected_ is NaN. Record longer or "
            "use longer windows.", SpectrumWarning, stacklevel=4,
        )
        return np.nan
    return a / b


def _standardized_windows(est, windows, idx, name):
    """Windowed samples centred and scaled so that ``Y.T @ Y`` is the covariance, or the
    correlation; returns ``(Y, d)`` with ``d`` the standard deviations divided out (None for
    a covariance). ``windows`` is modified in place when ``idx`` is None."""
    W = est.window or 1
    Y = windows if idx is None else windows[:, idx]
    n = Y.shape[0]
    if est.center:
        Y -= Y.mean(axis=0)
    Y /= np.sqrt((n - 1 if est.center else n) * W)
    d = None
    if est.kind == "correlation":
        d = np.sqrt(np.einsum("ij,ij->j", Y, Y))
        const = np.nonzero(d <= 1e-12 * max(d.max(), 1e-300))[0]
        if const.size:
            raise _constant_error(name, const)
        Y /= d
    return Y, d


def _cv_spectrum(est, folds, idx, name):
    """Held-out variance along training eigenvectors, averaged over folds.

    For fold f, ``u_k`` are the eigenvectors (descending) of the matrix of all other folds
    and ``lambda_cv_k = u_k' M_f u_k`` with ``M_f`` the held-out fold's own matrix. Given the
    training data, ``E[lambda_cv_k] = u_k' M u_k``: the held-out fold's sampling noise is
    independent of u_k, so it does not inflate the top or deflate the bottom of the spectrum.
    """
    out = None
    for f in range(len(folds)):
        train = None
        for g, mom in enumerate(folds):
            if g != f:
                train = mom if train is None else train.merge(mom)
        _, M_train = _matrix_from_moments(est, train, idx, name, cache=True, need_cov=False)
        _, M_test = _matrix_from_moments(est, folds[f], idx, name, cache=True, need_cov=False)
        _, U = sla.eigh(M_train, overwrite_a=True, check_finite=False, driver="evd")
        U = U[:, ::-1]
        lam = np.einsum("ij,ij->j", M_test @ U, U)
        out = lam if out is None else out + lam
    return out / len(folds)


# --------------------------------------------------------------------------- subsampling
def subsample_spectra(X, sizes=None, n_draws=20, time_fractions=None, random_state=None,
                      progress=True, quantiles=(0.05, 0.25, 0.5, 0.75, 0.95), **spectrum_params):
    """Spectra and participation ratios of random subsets of neurons (and of time).

    The covariance of each time segment is accumulated once; every neuron subset uses a
    principal submatrix of it (and the sum of its neurons' lagged products for the
    effective sample size), so a draw costs one M x M eigendecomposition.

    Parameters
    ----------
    X : array_like, Recording, h5py.Dataset, numpy.memmap or dask.array
        Activity, shape (n_samples, n_neurons) = time x neurons.
    sizes : sequence of int, optional
        Subset sizes M (2 <= M <= n_neurons). Default: 8 sizes log-spaced from
        ``min(10, N)`` to ``N``.
    n_draws : int
        With the whole recording (time fraction 1): random neuron subsets per size. With a
        fraction below 1: random contiguous time segments, each with one random neuron
        subset per size. The full set (M = N, fraction 1) is computed once.
    time_fractions : sequence of float in (0, 1], optional
        Fractions of the recording's duration to use. Default ``[1.0]``.
    random_state : int, numpy.random.Generator or None
        Seed for the draws.
    progress : bool
        Show a tqdm progress bar.
    quantiles : sequence of float in [0, 1]
        Quantiles of the normalised eigenvalues (mean 1 after ``drop_top``) to report.
    **spectrum_params
        Parameters of :class:`CovarianceSpectrum` (kind, window, drop_top, center,
        correction, n_folds, n_samples_eff, max_lag, chunk_size).

    Returns
    -------
    pandas.DataFrame
        One row per (time_fraction, draw, size), columns ``size``, ``time_fraction``,
        ``draw``, ``n_samples`` (windowed samples used), ``pr``, ``pr_corrected``,
        ``n_samples_eff``, ``alpha`` (size / n_samples_eff) and ``q_<quantile>``.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.random.default_rng(0).standard_normal((1000, 40))
    >>> df = subsample_spectra(X, sizes=[10, 20], n_draws=3, random_state=0, progress=False)
    >>> sorted(df["size"].unique().tolist())
    [10, 20]
    """
    import pandas as pd

    for bad in ("solver", "store_covariance"):
        if bad in spectrum_params:
            raise ParameterError(f"subsample_spectra does not take {bad!r}: it always works "
                                 "from the N x N covariance.")
    est = CovarianceSpectrum(**spectrum_params)
    est._check_params()
    rng = np.random.default_rng(random_state)
    kind, data, n_rows, n_features, name, _ = est._prepare_input(X)
    if kind == "iterator":
        raise ParameterError("subsample_spectra needs an array, Recording, h5py dataset, memmap "
                             "or dask array (not an iterator): it reads time segments repeatedly.")
    if n_rows < 2:
        raise _min_error(n_rows, n_features)
    if n_features < 2:
        raise _min_error(n_rows, n_features, "feature")
    if sizes is None:
        sizes = np.unique(np.geomspace(min(10, n_features), n_features, 8).round().astype(int))
    sizes = np.atleast_1d(np.asarray(sizes))
    if (sizes.size == 0 or not np.issubdtype(sizes.dtype, np.integer) or sizes.min() < 2
            or sizes.max() > n_features):
        raise ParameterError(
            f"sizes must be integers between 2 and n_neurons={n_features}, got {sizes.tolist()}."
        )
    if est.drop_top >= sizes.min():
        raise ParameterError(
            f"drop_top={est.drop_top} must be smaller than the smallest size {sizes.min()}."
        )
    if not isinstance(n_draws, numbers.Integral) or isinstance(n_draws, bool) or n_draws < 1:
        raise ParameterError(f"n_draws must be a positive integer, got {n_draws!r}.")
    fractions = np.atleast_1d(np.asarray([1.0] if time_fractions is None else time_fractions,
                                         dtype=np.float64))
    if fractions.size == 0 or np.any(~(fractions > 0)) or np.any(fractions > 1):
        raise ParameterError(f"time_fractions must lie in (0, 1], got {fractions.tolist()}.")
    qs = np.atleast_1d(np.asarray(quantiles, dtype=np.float64))
    if np.any(~(qs >= 0)) or np.any(qs > 1):
        raise ParameterError(f"quantiles must lie in [0, 1], got {qs.tolist()}.")

    W = est.window or 1
    n_win = n_rows // W
    full_steps = sum(1 if M == n_features else n_draws for M in sizes)
    total_steps = sum(full_steps if f == 1.0 else n_draws * sizes.size for f in fractions)
    rows = []
    with progress_bar(total_steps, enabled=progress, desc="subsample_spectra", leave=True) as bar:
        for frac in fractions:
            seg_len = int(np.floor(frac * n_win))
            if seg_len < 2:
                raise BinSizeError(
                    f"time_fraction={frac:g} leaves {seg_len} (windowed) samples of {n_win}; "
                    "use a larger fraction."
                )
            segments = [0] if frac == 1.0 else [int(rng.integers(0, n_win - seg_len + 1))
                                                 for _ in range(n_draws)]
            for seg, start in enumerate(segments):
                folds, _, _, _ = est._accumulate(kind, data, n_rows, n_features, name,
                                                 row_range=(start * W, (start + seg_len) * W),
                                                 per_neuron=True)
                total = folds[0]
                for f in folds[1:]:
                    total = total.merge(f)
                for M in sizes:
                    n_sub = 1 if (M == n_features or frac != 1.0) else n_draws
                    for d in range(n_sub):
                        idx = None if M == n_features else np.sort(
                            rng.choice(n_features, int(M), replace=False))
                        with warnings.catch_warnings():
                            warnings.simplefilter("ignore", SpectrumWarning)
                            res = _spectrum(est, total, folds, idx, name=name, cache=True)
                        row = dict(size=int(M), time_fraction=float(frac),
                                   draw=d if frac == 1.0 else seg, n_samples=total.n,
                                   pr=res["pr"], pr_corrected=res["pr_corrected"],
                                   n_samples_eff=res["n_samples_eff"],
                                   alpha=int(M) / res["n_samples_eff"])
                        qv = np.quantile(res["normalized"], qs)
                        row.update({f"q_{q:g}": v for q, v in zip(qs, qv)})
                        rows.append(row)
                        bar.update(1)
    return pd.DataFrame(rows)
