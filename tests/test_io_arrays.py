"""Tests of neurospec.io for array files (.npy, .npz, .csv, .h5/.hdf5, .mat) and lazy reading."""

import tracemalloc

import h5py
import numpy as np
import pandas as pd
import pytest
import scipy.io

from neurospec.errors import (
    AmbiguousSourceError,
    BinSizeError,
    DataValueError,
    FileFormatError,
    LoaderError,
    NoDataError,
    ShapeError,
)
from neurospec.io import TimeMajorView, describe, load, open_lazy
from neurospec.io import arrays as io_arrays


@pytest.fixture
def x():
    return np.random.default_rng(0).normal(size=(400, 7))


# ------------------------------------------------------------------ round trips
def test_npy_round_trip(tmp_path, x):
    path = tmp_path / "x.npy"
    np.save(path, x.astype(np.float32))
    rec = load(path, bin_size=0.02, t_start=1.0)
    np.testing.assert_array_equal(rec.activity, x.astype(np.float32).astype(np.float64))
    assert rec.activity.dtype == np.float64 and rec.activity.flags.c_contiguous
    assert rec.bin_size == 0.02 and rec.t_start == 1.0
    np.testing.assert_array_equal(rec.unit_ids, np.arange(7))
    assert rec.meta["source"] == str(path) and rec.meta["format"] == "npy"
    assert rec.meta["kind"] == "traces"


def test_npy_is_memory_mapped_by_open_lazy(tmp_path, x):
    path = tmp_path / "x.npy"
    np.save(path, x)
    with open_lazy(path, bin_size=0.1) as lazy:
        assert isinstance(lazy.data, TimeMajorView)
        assert isinstance(lazy.data.source, np.memmap)
        assert lazy.shape == (400, 7) and lazy.bin_size == 0.1
        np.testing.assert_array_equal(lazy.data[100:105], x[100:105])
        np.testing.assert_array_equal(np.vstack([b for _, b in lazy.iter_chunks(chunk_rows=64)]), x)
        np.testing.assert_array_equal(lazy.to_recording().activity, x)


def test_npz_keys(tmp_path, x):
    single = tmp_path / "single.npz"
    np.savez(single, rates=x)
    np.testing.assert_array_equal(load(single, bin_size=1.0).activity, x)
    many = tmp_path / "many.npz"
    np.savez(many, rates=x, other=x[:, :3] * 2, labels=np.arange(7))
    with pytest.raises(AmbiguousSourceError, match=r"several 2-D arrays; choose one with key=.*"
                                                   r"'rates' \(400, 7\).*'other' \(400, 3\)"):
        load(many, bin_size=1.0)
    rec = load(many, bin_size=1.0, key="other")
    np.testing.assert_array_equal(rec.activity, x[:, :3] * 2)
    assert rec.meta["series"] == "other"
    with pytest.raises(LoaderError, match=r"no array named 'nope'; it holds: 'rates' \(400, 7\)"):
        load(many, bin_size=1.0, key="nope")


def test_csv_header_ids_and_time_column(tmp_path, x):
    path = tmp_path / "x.csv"
    df = pd.DataFrame(x, columns=[f"{100 + j}" for j in range(7)])
    df.to_csv(path, index=False)
    rec = load(path, bin_size=0.5)
    np.testing.assert_allclose(rec.activity, x, rtol=1e-15, atol=0)  # CSV text round trip
    np.testing.assert_array_equal(rec.unit_ids, np.arange(100, 107))
    # a time column gives the bin size and start time
    timed = tmp_path / "timed.csv"
    df.insert(0, "time", 3.0 + 0.25 * np.arange(400))
    df.to_csv(timed, index=False)
    with pytest.raises(LoaderError, match=r"column 'time' looks like time stamps.*time_column='time'"):
        load(timed, bin_size=0.25)
    rec = load(timed, time_column="time")
    assert rec.bin_size == pytest.approx(0.25) and rec.t_start == 3.0 and rec.n_neurons == 7
    np.testing.assert_allclose(rec.activity, x, rtol=1e-15, atol=0)
    with pytest.raises(BinSizeError, match="disagrees with the time column"):
        load(timed, time_column="time", bin_size=0.1)
    rec = load(timed, time_column=False, bin_size=0.25)  # time treated as a neuron on request
    assert rec.n_neurons == 8
    named = tmp_path / "named.csv"
    pd.DataFrame({"cellA": [1.0, 2.0, 3.0], "label": ["a", "b", "c"]}).to_csv(named, index=False)
    with pytest.raises(DataValueError, match=r"columns \['label'\] hold non-numeric values"):
        load(named, bin_size=1.0)


def test_hdf5_datasets(tmp_path, x):
    path = tmp_path / "x.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("session/rates", data=x, chunks=(50, 7))
        f.create_dataset("session/spikes", data=x[:, :2] > 0)
        f.create_dataset("time", data=np.arange(400.0))
    with pytest.raises(AmbiguousSourceError, match=r"choose one with dataset=.*'session/rates' \(400, 7\)"):
        load(path, bin_size=0.1)
    rec = load(path, bin_size=0.1, dataset="/session/rates")
    np.testing.assert_array_equal(rec.activity, x)
    assert rec.meta["series"] == "session/rates"
    single = tmp_path / "single.hdf5"
    with h5py.File(single, "w") as f:
        f["data"] = x.T
    rec = load(single, bin_size=0.1, orientation="neurons_by_time")
    np.testing.assert_array_equal(rec.activity, x)
    with pytest.raises(LoaderError, match=r"no dataset named 'rates'"):
        load(path, bin_size=0.1, dataset="rates")


def test_mat_v5(tmp_path, x):
    path = tmp_path / "x.mat"
    scipy.io.savemat(path, {"activity": x, "fs": np.array([[30.0]])})
    rec = load(path, bin_size=0.1)  # fs is 1 x 1, so 'activity' is the only 2-D variable
    np.testing.assert_array_equal(rec.activity, x)
    scipy.io.savemat(path, {"activity": x, "other": x[:, :2]})
    with pytest.raises(AmbiguousSourceError, match="choose one with variable="):
        load(path, bin_size=0.1)
    np.testing.assert_array_equal(load(path, bin_size=0.1, variable="other").activity, x[:, :2])


def _write_mat73(path, variables):
    """A MATLAB v7.3 file as MATLAB writes it: HDF5 with a 512-byte text header, column-major."""
    with h5py.File(path, "w", userblock_size=512) as f:
        for name, value in variables.items():
            ds = f.create_dataset(name, data=np.asarray(value).T)  # MATLAB's (r, c) -> HDF5 (c, r)
            ds.attrs["MATLAB_class"] = np.bytes_("double")
    header = b"MATLAB 7.3 MAT-file, Platform: GLNXA64, Created on: Mon Jan  1 00:00:00 2024 HDF5 schema 1.00 ."
    with open(path, "r+b") as fh:
        fh.write(header.ljust(116, b" ") + b"\x00" * 8 + b"\x00\x02IM")  # version 2.0, "IM" endianness


def test_mat_v73_is_read_with_h5py(tmp_path, x):
    path = tmp_path / "big.mat"
    _write_mat73(path, {"rates": x, "t": np.arange(400.0)[:, None]})
    with pytest.raises(NotImplementedError):
        scipy.io.loadmat(path)  # why the HDF5 route exists
    rec = load(path, bin_size=0.05, variable="rates")
    np.testing.assert_array_equal(rec.activity, x)  # MATLAB's orientation: time x neurons
    assert any("MATLAB v7.3" in s for s in rec.meta["preprocessing"])
    rec = load(path, bin_size=0.05)  # 't' is a column vector, so 'rates' is the only 2-D variable
    np.testing.assert_array_equal(rec.activity, x)
    rec = load(path, bin_size=0.05, variable="rates", orientation="neurons_by_time")
    np.testing.assert_array_equal(rec.activity, x.T)
    d = describe(path)
    assert {"name": "rates", "shape": (400, 7), "dtype": "float64"} in d["arrays"]


def test_time_range_on_arrays(tmp_path, x):
    path = tmp_path / "x.npy"
    np.save(path, x)
    rec = load(path, bin_size=0.1, t_start=5.0, time_range=(10.0, 12.0))
    np.testing.assert_array_equal(rec.activity, x[50:70])
    assert rec.t_start == pytest.approx(10.0)


# ------------------------------------------------------------------ orientation
def test_obviously_transposed_array_is_refused(tmp_path):
    x = np.random.default_rng(1).normal(size=(3000, 40))
    path = tmp_path / "t.npy"
    np.save(path, x.T)  # saved neurons x time
    with pytest.raises(ShapeError, match=r"shape \(40, 3000\).*looks transposed.*"
                                         r"orientation='neurons_by_time'"):
        load(path, bin_size=0.01)
    np.testing.assert_array_equal(load(path, bin_size=0.01, orientation="neurons_by_time").activity, x)
    rec = load(path, bin_size=0.01, orientation="auto")
    np.testing.assert_array_equal(rec.activity, x)
    assert any("orientation='auto'" in s for s in rec.meta["preprocessing"])
    # an explicit orientation is obeyed, never second-guessed
    assert load(path, bin_size=0.01, orientation="time_by_neurons").shape == (40, 3000)
    # a wide but plausible recording (T < N, not extreme) is read as given
    wide = tmp_path / "wide.npy"
    np.save(wide, np.ones((600, 2000)))
    assert load(wide, bin_size=0.01).shape == (600, 2000)
    with pytest.raises(ShapeError, match="orientation must be one of"):
        load(path, bin_size=0.01, orientation="sideways")


@pytest.mark.parametrize("shape, match", [
    ((100,), r"1-D array of shape \(100,\).*x\[:, None\]"),
    ((4, 5, 6), r"3-D array.*reshape\(-1, x.shape\[-1\]\)"),
])
def test_bad_dimensions(tmp_path, shape, match):
    path = tmp_path / "bad.npy"
    np.save(path, np.ones(shape))
    with pytest.raises(ShapeError, match=match):
        load(path, bin_size=0.1)


# ------------------------------------------------------------------ bad input
def test_missing_bin_size(tmp_path, x):
    path = tmp_path / "x.npy"
    np.save(path, x)
    with pytest.raises(BinSizeError, match=r"bin_size is required for array files.*bin_size=0.05"):
        load(path)
    with pytest.raises(BinSizeError, match="positive"):
        load(path, bin_size=0)


def test_missing_file(tmp_path):
    with pytest.raises(LoaderError, match=f"{tmp_path / 'nope.npy'}: no such file"):
        load(tmp_path / "nope.npy", bin_size=0.1)


def test_unknown_suffix(tmp_path):
    path = tmp_path / "data.xlsx"
    path.write_text("x")
    with pytest.raises(FileFormatError, match=r"unknown file type '.xlsx'; neurospec reads .nwb, .npy, "
                                              r".npz, .csv, .h5, .hdf5, .mat"):
        load(path)


def test_option_for_another_format(tmp_path, x):
    path = tmp_path / "x.npy"
    np.save(path, x)
    with pytest.raises(LoaderError, match=r"option dataset do not apply to .npy files"):
        load(path, bin_size=0.1, dataset="x")


def test_nan_reported_with_count_and_location(tmp_path, x):
    bad = x.copy()
    bad[123, 4] = np.nan
    bad[300, 0] = -np.inf
    path = tmp_path / "nan.h5"
    with h5py.File(path, "w") as f:
        f["rates"] = bad
    with pytest.raises(DataValueError, match=r"2 NaN/inf values.*first at sample 123 \(t = 12.3 s\), "
                                             r"neuron column 4 \(unit 4\).*Fill or remove"):
        load(path, bin_size=0.1)
    np.save(tmp_path / "nan.npy", bad)
    with pytest.raises(DataValueError, match="2 NaN/inf values"):
        load(tmp_path / "nan.npy", bin_size=0.1)


def test_corrupt_files(tmp_path):
    for suffix in (".h5", ".npz", ".mat"):
        path = tmp_path / f"junk{suffix}"
        path.write_bytes(b"\x00garbage" * 50)
        with pytest.raises(LoaderError, match="not a readable"):
            load(path, bin_size=0.1)


def test_non_numeric_and_empty(tmp_path):
    path = tmp_path / "s.npz"
    np.savez(path, names=np.array(["a", "b"]))
    with pytest.raises(DataValueError, match="not numbers"):
        load(path, bin_size=0.1)
    empty = tmp_path / "e.h5"
    with h5py.File(empty, "w") as f:
        f.create_group("nothing")
    with pytest.raises(NoDataError, match="holds no datasets"):
        load(empty, bin_size=0.1)


# ------------------------------------------------------------------ memory
def test_chunked_read_stays_near_output_size(tmp_path, monkeypatch):
    """Loading a float32 HDF5 dataset allocates the float64 output once plus small chunks.

    np.asarray(ds).astype(float64) would need 1.5x the output (float32 copy + float64 copy);
    the chunked reader needs the output + one chunk (forced to 256 KiB here) + the boolean
    finiteness mask Recording builds (1/8 of the output).
    """
    n_t, n_n = 20_000, 100
    path = tmp_path / "big.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("x", data=np.random.default_rng(2).normal(size=(n_t, n_n)).astype(np.float32))
    monkeypatch.setattr(io_arrays, "_CHUNK_BYTES", 256 * 1024)
    out_bytes = n_t * n_n * 8
    tracemalloc.start()
    try:
        rec = load(path, bin_size=0.01)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert rec.shape == (n_t, n_n)
    assert peak < 1.25 * out_bytes, f"peak {peak / out_bytes:.2f}x the output size"
    with h5py.File(path, "r") as f:
        np.testing.assert_array_equal(rec.activity, f["x"][:].astype(np.float64))


# ------------------------------------------------------------------ describe
def test_describe_arrays(tmp_path, x):
    npz = tmp_path / "m.npz"
    np.savez(npz, a=x, b=np.arange(3))
    d = describe(npz)
    assert d["format"] == "npz"
    assert {"name": "a", "shape": (400, 7), "dtype": "float64"} in d["arrays"]
    assert {"name": "b", "shape": (3,), "dtype": str(np.arange(3).dtype)} in d["arrays"]
    h5 = tmp_path / "m.h5"
    with h5py.File(h5, "w") as f:
        f["g/x"] = x
    assert describe(h5)["arrays"] == [{"name": "g/x", "shape": (400, 7), "dtype": "float64"}]


def test_lazy_view_works_with_dask(tmp_path, x):
    """The streaming estimator may hand the lazy view to dask: it needs shape/dtype/ndim/slicing."""
    da = pytest.importorskip("dask.array")
    path = tmp_path / "t.h5"
    with h5py.File(path, "w") as f:
        f["x"] = x.T  # stored neurons x time
    with open_lazy(path, bin_size=0.1, orientation="neurons_by_time") as lazy:
        d = da.from_array(lazy.data, chunks=(64, -1))
        np.testing.assert_allclose((d.T @ d).compute(), x.T @ x, rtol=1e-12)


def test_csv_time_column_must_increase(tmp_path, x):
    timed = tmp_path / "unsorted.csv"
    df = pd.DataFrame(x[:5], columns=[f"{j}" for j in range(7)])
    df.insert(0, "time", [0.0, 0.1, 0.3, 0.2, 0.4])
    df.to_csv(timed, index=False)
    with pytest.raises(DataValueError, match=r"not strictly increasing \(sample 3: 0.2 s after 0.3 s\)"
                                             r"; sort the samples or fix the time column"):
        load(timed, time_column="time")
