"""Tests of the large-N paths: streamed spectra within two N x N matrices, clear errors when
data do not fit, progress bars, dask.distributed, and the matrix-free (SLQ) spectrum.

Each route is checked against an independent one: exact eigenvalues of an in-memory
covariance (numpy) against the streamed / dask / distributed / matrix-free estimates.
"""

import sys
import time
import tracemalloc
import warnings

import numpy as np
import pytest

import neurospec
import neurospec.spectrum as spectrum_module
from neurospec.errors import ClusterError, InsufficientMemoryError, ParameterError
from neurospec.io import open_lazy
from neurospec.matrixfree import MatrixFreeSpectrum, slq_spectrum
from neurospec.spectrum import CovarianceSpectrum

from _rmt import linear_samples


@pytest.fixture(autouse=True)
def one_blas_thread():
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):
        yield


def exact_eigenvalues(X, center=True):
    X = np.asarray(X, dtype=np.float64)
    Xc = X - X.mean(axis=0) if center else X
    return np.sort(np.linalg.eigvalsh(Xc.T @ Xc / (X.shape[0] - (1 if center else 0))))[::-1]


def ks_nonzero(mf, lam):
    """KS distance between the SLQ CDF and the nonzero exact eigenvalues."""
    lam = np.sort(lam[lam > 1e-10 * lam.max()])
    r = lam.size
    z = 1.0 - r / mf.n_features_in_
    F = (mf.cdf(lam) - z) / (1.0 - z)
    hi = np.arange(1, r + 1) / r
    return max(np.max(np.abs(F - hi)), np.max(np.abs(F - hi + 1.0 / r)))


@pytest.fixture(scope="module")
def network():
    return linear_samples(300, 900, 0.5, seed=3)


# --------------------------------------------------------------------------- streamed, memory
def test_streamed_float32_sources_equal_numpy(tmp_path, network, monkeypatch):
    X32 = network.astype(np.float32)
    ref = exact_eigenvalues(X32)
    path = tmp_path / "x.npy"
    np.save(path, X32)
    with open_lazy(path, bin_size=1.0) as lazy:
        streamed = CovarianceSpectrum(chunk_size=128, progress=False).fit(lazy.data)
    # a large float32 array in memory is read in chunks, not copied to float64 whole
    monkeypatch.setattr(spectrum_module, "_CONVERT_IN_CHUNKS_BYTES", 0)
    chunked = CovarianceSpectrum(chunk_size=100).fit(X32)
    assert chunked.meta_["input"] == "ndarray"
    for est in (streamed, chunked):
        np.testing.assert_allclose(est.eigenvalues_, ref, rtol=1e-9, atol=1e-12 * ref[0])


@pytest.mark.parametrize("kind", ["covariance", "correlation"])
@pytest.mark.parametrize("store", [True, False])
def test_fit_holds_at_most_two_n_by_n_matrices(tmp_path, kind, store):
    # tracemalloc sees numpy's buffers: the peak of fit() on a streamed file must stay within
    # two N x N float64 matrices plus a few chunk-sized buffers (the memory target)
    n, t, rows = 500, 2000, 256
    path = tmp_path / "x.npy"
    np.save(path, np.random.default_rng(0).standard_normal((t, n)).astype(np.float32))
    nn = 8 * n * n
    chunk = 8 * rows * n
    with open_lazy(path, bin_size=1.0) as lazy:
        est = CovarianceSpectrum(kind=kind, chunk_size=rows, store_covariance=store,
                                 max_lag=32, progress=False)
        tracemalloc.start()
        try:
            est.fit(lazy.data)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    budget = (2 if (store or kind == "correlation") else 1) * nn + 5 * chunk
    assert peak <= budget, f"peak {peak / 1e6:.1f} MB > budget {budget / 1e6:.1f} MB"


def test_two_stage_eigensolver_equals_numpy(monkeypatch):
    # large matrices go through LAPACK's dsyevd_2stage (found in scipy's OpenBLAS)
    monkeypatch.setattr(spectrum_module, "_TWO_STAGE_MIN_N", 600)
    A = np.random.default_rng(2).standard_normal((700, 700))
    A += A.T
    ref = np.linalg.eigvalsh(A)[::-1]
    B = A.copy()
    lam = spectrum_module._eigvalsh(B)
    np.testing.assert_array_equal(A, B)  # not overwritten unless asked
    np.testing.assert_allclose(lam, ref, rtol=0, atol=1e-12 * abs(ref).max())
    np.testing.assert_allclose(spectrum_module._eigvalsh(B, overwrite=True), ref, rtol=0,
                               atol=1e-12 * abs(ref).max())


def test_gram_path_leaves_input_unchanged():
    X = np.random.default_rng(1).standard_normal((50, 120))
    X0 = X.copy()
    gram = CovarianceSpectrum(solver="gram", kind="correlation").fit(X)
    cov = CovarianceSpectrum(solver="covariance", kind="correlation").fit(X)
    np.testing.assert_array_equal(X, X0)
    np.testing.assert_allclose(gram.eigenvalues_, cov.eigenvalues_, atol=1e-10)
    np.testing.assert_allclose(gram.covariance_, cov.covariance_, atol=1e-12)


def test_too_large_for_memory_names_size_and_path(tmp_path, monkeypatch):
    path = tmp_path / "big.npy"
    np.save(path, np.zeros((400, 300), dtype=np.float32))
    monkeypatch.setenv("NEUROSPEC_MEMORY_LIMIT", "100000")  # 100 kB
    with pytest.raises(InsufficientMemoryError, match=r"400 x 300 samples.*960\.0 kB.*open_lazy"):
        neurospec.load(path, bin_size=1.0)
    with pytest.raises(MemoryError, match=r"300 x 300 float64.*matrixfree"):
        CovarianceSpectrum().fit(np.random.default_rng(0).standard_normal((400, 300)))
    # the matrix-free path needs no N x N matrix and still runs
    mf = MatrixFreeSpectrum(n_steps=10, n_probes=2, random_state=0).fit(
        np.random.default_rng(0).standard_normal((400, 300)))
    assert mf.eigenvalues_.shape == (300,)


def test_progress_bar_can_be_turned_on_and_off(capsys, network):
    CovarianceSpectrum(progress=True).fit(network)
    err = capsys.readouterr().err
    assert "CovarianceSpectrum" in err and "eigenvalues (300 x 300)" in err
    CovarianceSpectrum(progress=False).fit(network)
    CovarianceSpectrum().fit(network)  # "auto": a small problem shows nothing
    assert capsys.readouterr().err == ""
    with pytest.raises(ParameterError, match="progress"):
        CovarianceSpectrum(progress="yes").fit(network)


# --------------------------------------------------------------------------- dask.distributed
@pytest.fixture(scope="module")
def local_cluster():
    distributed = pytest.importorskip("distributed")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                           dashboard_address=None, silence_logs=50)
    try:
        yield cluster
    finally:
        cluster.close()


def test_distributed_cluster_gives_in_memory_eigenvalues(local_cluster, network):
    da = pytest.importorskip("dask.array")
    from neurospec.cluster import connect

    ref = CovarianceSpectrum().fit(network)
    with connect(local_cluster, timeout=30) as client:
        assert len(client.scheduler_info()["workers"]) == 2
        est = CovarianceSpectrum(chunk_size=100).fit(da.from_array(network, chunks=(150, 300)))
        # the work ran on the workers
        assert any("block_moments" in str(k) for k in client.run_on_scheduler(
            lambda dask_scheduler: list(dask_scheduler.task_prefixes)))
        mf = MatrixFreeSpectrum(n_steps=10, n_probes=4, random_state=0).fit(
            da.from_array(network, chunks=(150, 300)))
    np.testing.assert_allclose(est.eigenvalues_, ref.eigenvalues_, rtol=1e-8)
    assert est.n_samples_eff_ == pytest.approx(ref.n_samples_eff_, rel=1e-8)
    mf_np = MatrixFreeSpectrum(n_steps=10, n_probes=4, random_state=0).fit(network)
    np.testing.assert_allclose(mf.eigenvalues_, mf_np.eigenvalues_, rtol=1e-6)


def test_unreachable_scheduler_fails_fast_with_address():
    pytest.importorskip("distributed")
    from neurospec.cluster import connect

    t0 = time.monotonic()
    with pytest.raises(ClusterError, match=r"tcp://127\.0\.0\.1:9.*within 1 s"):
        connect("tcp://127.0.0.1:9", timeout=1)
    assert time.monotonic() - t0 < 30
    with pytest.raises(ParameterError, match="timeout"):
        connect("tcp://127.0.0.1:9", timeout=0)


# --------------------------------------------------------------------------- matrix-free
def test_slq_cdf_matches_exact_eigenvalues_within_its_error(network):
    lam = exact_eigenvalues(network)
    mf = MatrixFreeSpectrum(n_steps=60, random_state=0).fit(network)
    ks = ks_nonzero(mf, lam)
    # probe-sampling error ~ 1.36 sqrt(2 / (N m)) = 0.020 for N = 300, m = 32
    assert ks < mf.cdf_error_
    assert ks < 0.03
    # the exact CDF lies in the rigorous band
    mid = (np.arange(lam.size) + 0.5) / lam.size
    lam_up = np.sort(lam)
    assert np.all(mf.cdf(lam_up, bound="lower") <= mid + 0.5 / lam.size)
    assert np.all(mf.cdf(lam_up, bound="upper") >= mid - 0.5 / lam.size)
    # moments: trace exact, tr C^2 from the quadrature
    assert mf.trace_ == pytest.approx(lam.sum(), rel=1e-10)
    pr = lam.sum() ** 2 / np.sum(lam**2)
    assert mf.participation_ratio_ == pytest.approx(pr, rel=0.03)
    ev = mf.eigenvalues_
    assert ev.shape == (300,) and np.all(np.diff(ev) <= 0)
    assert ev.mean() == pytest.approx(lam.mean(), rel=0.01)  # quadrature scaled to the trace


def test_slq_rank_deficient_windows_and_correlation():
    rng = np.random.default_rng(5)
    X = rng.standard_normal((240, 400)) * rng.uniform(0.5, 2.0, 400)
    for params in ({}, {"kind": "correlation"}, {"window": 2}, {"center": False}):
        ref = CovarianceSpectrum(**params).fit(X)
        mf = MatrixFreeSpectrum(n_steps=80, random_state=1, **params).fit(X)
        assert mf.rank_ == np.count_nonzero(ref.eigenvalues_)
        assert np.count_nonzero(mf.eigenvalues_ == 0) == 400 - mf.rank_  # exact zeros
        assert ks_nonzero(mf, ref.eigenvalues_) < mf.cdf_error_
        assert mf.n_dof_ == pytest.approx(ref.n_dof_, rel=1e-9)


def test_slq_pseudo_eigenvalues_fit_like_exact_ones():
    X = linear_samples(500, 1500, 0.6, seed=11)
    exact = CovarianceSpectrum().fit(X)
    mf = MatrixFreeSpectrum(n_steps=60, random_state=2).fit(X)
    alpha = 500 / exact.n_dof_
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        g_exact = neurospec.GainFit(alpha=alpha, n_boot=0).fit(exact.eigenvalues_).g_eff_
        g_mf = neurospec.GainFit(alpha=alpha, n_boot=0).fit(mf.pseudo_eigenvalues()).g_eff_
        g_spec = neurospec.GainFit(n_boot=0).fit(mf).g_eff_  # the estimator itself
        g_ref_spec = neurospec.GainFit(n_boot=0).fit(exact).g_eff_
    # probe noise at N = 500, m = 32 moves g by ~0.005 (measured over seeds)
    assert abs(g_mf - g_exact) < 0.02
    assert abs(g_spec - g_ref_spec) < 0.02


def test_slq_bad_input():
    X = np.random.default_rng(0).standard_normal((100, 20))
    with pytest.raises(ParameterError, match="iterator"):
        MatrixFreeSpectrum().fit(iter([X[:50], X[50:]]))
    with pytest.raises(ParameterError, match="n_steps"):
        MatrixFreeSpectrum(n_steps=1).fit(X)
    with pytest.raises(ParameterError, match="n_probes"):
        MatrixFreeSpectrum(n_probes=0).fit(X)
    with pytest.raises(ParameterError, match="bound"):
        slq_spectrum(X, n_steps=5, random_state=0).cdf(1.0, bound="middle")
    Xc = X.copy()
    Xc[:, 3] = 1.0
    with pytest.raises(neurospec.errors.DataValueError, match="constant"):
        MatrixFreeSpectrum(kind="correlation").fit(Xc)


def test_slq_reproducible_and_sklearn_params():
    X = np.random.default_rng(0).standard_normal((200, 50))
    a = MatrixFreeSpectrum(n_steps=20, random_state=4).fit(X)
    b = MatrixFreeSpectrum(n_steps=20, random_state=4).fit(X)
    np.testing.assert_array_equal(a.eigenvalues_, b.eigenvalues_)
    assert MatrixFreeSpectrum(n_steps=7).get_params()["n_steps"] == 7
    assert "slq" in a.meta_["solver"] and sys.modules["neurospec.matrixfree"]


# --------------------------------------------------------------------------- large-N interval
@pytest.fixture(scope="module")
def network_800():
    return CovarianceSpectrum(progress=False).fit(linear_samples(800, 1600, 0.5, seed=14))


def test_reduced_size_bootstrap_matches_full_size(network_800):
    """Replicates at N' = N/2 with deviations rescaled by N'/N estimate the spread of the
    full-size network bootstrap (an unscaled one would be twice as wide)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        full = neurospec.GainFit(n_boot=100, random_state=1).fit(network_800)
        red = neurospec.GainFit(n_boot=100, random_state=1, max_boot_neurons=400).fit(
            network_800)
    assert full.bootstrap_size_ == 800 and red.bootstrap_size_ == 400
    assert red.g_eff_ == full.g_eff_
    ratio = red.g_eff_stderr_ / full.g_eff_stderr_
    assert 0.7 < ratio < 1.4, ratio
    lo, hi = red.g_eff_ci_
    assert lo < red.g_eff_ < hi and hi - lo < 2.5 * (full.g_eff_ci_[1] - full.g_eff_ci_[0])
    # the network is far from independent neurons at either size
    assert red.p_value_null_ < 0.02 and full.p_value_null_ < 0.02


def test_reduced_size_null_accepts_independent_neurons():
    """The null simulated at N' < N (distances rescaled by cost_scale) is calibrated: it does
    not reject independent neurons, and it rejects a coupled network."""
    rng = np.random.default_rng(5)
    pvals = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(4):
            X = rng.standard_normal((1200, 600))
            f = neurospec.GainFit(n_boot=60, random_state=2, max_boot_neurons=200).fit(
                CovarianceSpectrum(progress=False).fit(X))
            assert f.bootstrap_size_ == 200
            pvals.append(f.p_value_null_)
        coupled = neurospec.GainFit(n_boot=60, random_state=2, max_boot_neurons=200).fit(
            CovarianceSpectrum(progress=False).fit(linear_samples(600, 1200, 0.4, seed=9)))
    # four independent recordings: p-values spread over (0, 1], none at the floor
    assert min(pvals) > 1.5 / 61 and np.mean(pvals) > 0.2, pvals
    assert coupled.p_value_null_ < 1.5 / 61


def test_cost_scale_follows_the_log_growth_of_cvm_distances():
    """Independent route: median N^2 W^2 of Marchenko-Pastur spectra (tridiagonal model)
    at N' and N agree once rescaled by cost_scale (and differ by > 10 % without the log)."""
    from neurospec.fit.bootstrap import cost_scale, mp_eigs
    from neurospec.theory import MarchenkoPastur

    mp = MarchenkoPastur(0.5)
    rng = np.random.default_rng(3)

    def median_cost(n):
        out = []
        for _ in range(150):
            ev = np.sort(mp_eigs(n, 2 * n, rng)) / (2 * n)
            F = np.asarray(mp.cdf(ev))
            t = (np.arange(1, n + 1) - 0.5) / n
            out.append(np.mean((F - t) ** 2) + 1 / (12 * n * n))
        return float(np.median(out))

    small, large = median_cost(150), median_cost(1200)
    assert cost_scale(1200, 1200) == 1.0
    assert small * cost_scale(150, 1200) == pytest.approx(large, rel=0.08)
    assert abs(small * (150 / 1200) ** 2 / large - 1) > 0.1


def test_moment_estimate_at_reduced_size_matches_full_size(network_800, monkeypatch):
    """The moment estimate's replicates simulated at N' < N (deviation from the large-N PR/N
    scaled by N'/N) give the full-size interval."""
    import neurospec.diagnostics as diag

    full = diag.moment_estimate(network_800, n_boot=80, random_state=3)
    monkeypatch.setattr(diag, "CHECK_BOOT_N", 300)
    red = diag.moment_estimate(network_800, n_boot=80, random_state=3)
    assert red.g == full.g
    assert 0.7 < red.stderr / full.stderr < 1.4, (red.stderr, full.stderr)
    assert red.ci[0] < 0.5 < red.ci[1]
    width = lambda m: m.ci[1] - m.ci[0]  # noqa: E731
    assert 0.6 < width(red) / width(full) < 1.6


@pytest.mark.parametrize("params, fragment", [
    (dict(max_boot_neurons=10), "max_boot_neurons must be an integer >= 50"),
    (dict(max_boot_neurons=500.0), "max_boot_neurons must be an integer >= 50"),
    (dict(progress="sometimes"), "progress must be True, False or 'auto'"),
])
def test_bootstrap_size_and_progress_parameters_are_checked(params, fragment):
    ev = np.linspace(0.5, 2.0, 100)
    with pytest.raises(ParameterError, match=fragment):
        neurospec.GainFit(**params).fit(ev, alpha=0.5)


@pytest.mark.parametrize("n, t", [(300, 301), (300, 300)])
def test_bootstrap_at_alpha_one(n, t):
    """n_dof = N (T = N + 1 centred samples): the replicates' sample factor is a square
    Gaussian matrix, not Bartlett's triangular one (it was once solved as if triangular:
    nonsense spectra, and 'Eigenvalues did not converge' at N = 20,000, T = N)."""
    X = linear_samples(n, t, 0.5, seed=21)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        spec = CovarianceSpectrum(progress=False).fit(X)
        fit = neurospec.GainFit(n_boot=60, random_state=0).fit(spec)
    lo, hi = fit.g_eff_ci_
    assert lo < 0.5 < hi and hi - lo < 0.15, (fit.g_eff_, fit.g_eff_ci_)
    assert 0.0 < fit.g_eff_stderr_ < 0.05


@pytest.mark.parametrize("fraction", [None, 0.3])
def test_large_n_pr_per_neuron_is_the_theory_and_inverts(fraction):
    """The large-N PR/N the reduced moment estimate rescales about: the linear theory's
    (moments of the subsampled spectrum), and what g_from_participation_ratio inverts."""
    from neurospec.diagnostics import _pr_per_neuron, g_from_participation_ratio
    from neurospec.theory import LinearSpectrum

    for g in (0.3, 0.6, 0.9):
        spec = LinearSpectrum(g) if fraction is None else LinearSpectrum(g).subsampled(fraction)
        y = _pr_per_neuron(g, fraction)
        assert y == pytest.approx(spec.participation_ratio(), rel=1e-9)
        assert g_from_participation_ratio(y * 400, 400, fraction) == pytest.approx(g, abs=1e-12)
