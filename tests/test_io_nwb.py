"""Tests of neurospec.io for NWB files: Units spike times, ophys and plain TimeSeries, errors.

Every file is written here with pynwb (independently of the loader) and every loaded number is
compared with an independent route: np.histogram for spike counts, the written arrays for
traces, a direct h5py read for the real file.
"""

import warnings
from datetime import datetime, timezone

import h5py
import numpy as np
import pytest

import neurospec
from neurospec import Recording
from neurospec.errors import (
    AmbiguousSourceError,
    BinSizeError,
    DataValueError,
    LoaderError,
    NoDataError,
    ShapeError,
    SpikeTimesError,
)
from neurospec.io import TimeMajorView, describe, load, open_lazy

pynwb = pytest.importorskip("pynwb")
from pynwb import NWBHDF5IO, NWBFile, TimeSeries  # noqa: E402
from pynwb.ophys import DfOverF, Fluorescence, ImageSegmentation, OpticalChannel  # noqa: E402

pytestmark = pytest.mark.filterwarnings(
    "ignore::DeprecationWarning", "ignore:.*does not share an ancestor.*:UserWarning"
)


# ------------------------------------------------------------------ writers (pynwb only)
def _nwbfile(**kw):
    return NWBFile(session_description="test", identifier="test-id",
                   session_start_time=datetime(2024, 1, 1, tzinfo=timezone.utc), **kw)


def _write(nwb, path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with NWBHDF5IO(str(path), "w") as io:
            io.write(nwb)
    return path


def write_units(path, spikes, quality=None, ids=None, series=None):
    nwb = _nwbfile()
    if quality is not None:
        nwb.add_unit_column(name="quality", description="sorting quality")
    for i, st in enumerate(spikes):
        kw = {"quality": quality[i]} if quality is not None else {}
        if ids is not None:
            kw["id"] = ids[i]
        nwb.add_unit(spike_times=np.asarray(st, dtype=float), **kw)
    if series is not None:
        nwb.add_acquisition(series)
    return _write(nwb, path)


def write_ophys(path, fluo, dff=None, roi_ids=(10, 11, 12, 13), rate=30.0, start=2.0):
    nwb = _nwbfile()
    dev = nwb.create_device(name="microscope")
    chan = OpticalChannel(name="green", description="green", emission_lambda=520.0)
    plane = nwb.create_imaging_plane(name="plane", optical_channel=chan, description="V1",
                                     device=dev, excitation_lambda=920.0, indicator="GCaMP6",
                                     location="V1", imaging_rate=rate)
    mod = nwb.create_processing_module(name="ophys", description="calcium imaging")
    seg = ImageSegmentation()
    mod.add(seg)
    ps = seg.create_plane_segmentation(name="PlaneSegmentation", description="rois",
                                       imaging_plane=plane)
    for k, rid in enumerate(roi_ids):
        mask = np.zeros((8, 8))
        mask[k, k] = 1.0
        ps.add_roi(image_mask=mask, id=rid)
    n = len(roi_ids)
    fl = Fluorescence()
    fl.create_roi_response_series(
        name="RoiResponseSeries", data=fluo, unit="lumens", rate=rate, starting_time=start,
        rois=ps.create_roi_table_region(region=list(range(n)), description="all rois"))
    mod.add(fl)
    if dff is not None:
        df = DfOverF()
        df.create_roi_response_series(
            name="RoiResponseSeries", data=dff, unit="1", rate=rate, starting_time=start,
            rois=ps.create_roi_table_region(region=list(range(n)), description="all rois"))
        mod.add(df)
    return _write(nwb, path)


def write_series(path, *series, units=None):
    nwb = _nwbfile()
    for s in series:
        nwb.add_acquisition(s)
    for st in units or []:
        nwb.add_unit(spike_times=st)
    return _write(nwb, path)


# ------------------------------------------------------------------ fixtures
@pytest.fixture(scope="module")
def spikes():
    rng = np.random.default_rng(1)
    return [np.sort(rng.uniform(0, 20, size=n)) for n in (300, 45, 120, 8)]


@pytest.fixture(scope="module")
def units_file(tmp_path_factory, spikes):
    path = tmp_path_factory.mktemp("nwb") / "units.nwb"
    return write_units(path, spikes, quality=["good", "mua", "good", "noise"], ids=[3, 7, 9, 21])


@pytest.fixture(scope="module")
def traces():
    rng = np.random.default_rng(2)
    return rng.normal(size=(301, 4)), rng.normal(size=(301, 4))


@pytest.fixture(scope="module")
def ophys_file(tmp_path_factory, traces):
    path = tmp_path_factory.mktemp("nwb") / "ophys.nwb"
    return write_ophys(path, traces[0], traces[1])


def hist_counts(st, t0, bin_size, n_bins):
    """Independent route: np.histogram with explicit edges."""
    edges = t0 + bin_size * np.arange(n_bins + 1)
    return np.histogram(st, edges)[0]


# ------------------------------------------------------------------ Units
def test_units_counts_are_exact(units_file, spikes):
    rec = load(units_file, bin_size=0.5)
    assert isinstance(rec, Recording)
    assert rec.meta["kind"] == "counts" and rec.meta["series"] == "units"
    assert rec.meta["source"] == str(units_file)
    np.testing.assert_array_equal(rec.unit_ids, [3, 7, 9, 21])
    last = max(st.max() for st in spikes)
    assert rec.n_samples == int(np.floor(last / 0.5)) + 1  # up to the last spike, whole bins
    for j, st in enumerate(spikes):
        np.testing.assert_array_equal(rec.activity[:, j], hist_counts(st, 0.0, 0.5, rec.n_samples))
    # every spike is counted: nothing silently dropped at the end
    np.testing.assert_array_equal(rec.activity.sum(axis=0), [len(s) for s in spikes])
    assert any("last spike" in s for s in rec.meta["preprocessing"])
    assert rec.meta["file_meta"] is None


def test_units_time_range_and_leftover(units_file, spikes):
    rec = load(units_file, bin_size=0.3, time_range=(2.0, 11.0))
    n_bins = int(np.floor(9.0 / 0.3 + 1e-9))
    assert rec.n_samples == n_bins and rec.t_start == 2.0
    for j, st in enumerate(spikes):
        np.testing.assert_array_equal(rec.activity[:, j], hist_counts(st, 2.0, 0.3, n_bins))
    rec2 = load(units_file, bin_size=0.4, time_range=(2.0, 11.0))  # 22 bins, 0.2 s left over
    assert rec2.n_samples == 22
    assert any("did not fill a whole bin" in s for s in rec2.meta["preprocessing"])


@pytest.mark.parametrize("selection, expected", [
    ({"quality": "good"}, [3, 9]),
    ({"quality": ["good", "mua"]}, [3, 7, 9]),
    ({"quality": lambda q: q != "noise", "id": [7, 9, 21]}, [7, 9]),
    ([21, 3], [21, 3]),
    (lambda df: df["quality"] == "mua", [7]),
    (lambda df: df[df["spike_times"].map(len) > 100], [3, 9]),
])
def test_units_selection(units_file, spikes, selection, expected):
    rec = load(units_file, bin_size=1.0, units=selection)
    np.testing.assert_array_equal(rec.unit_ids, expected)
    by_id = dict(zip([3, 7, 9, 21], spikes))
    for j, uid in enumerate(expected):
        np.testing.assert_array_equal(rec.activity[:, j],
                                      hist_counts(by_id[uid], 0.0, 1.0, rec.n_samples))
    assert any("selected" in s for s in rec.meta["preprocessing"])


def test_units_selection_errors(units_file):
    with pytest.raises(LoaderError, match=r"column 'snr'.*columns are \['id', 'quality'\]"):
        load(units_file, bin_size=1.0, units={"snr": 3})
    with pytest.raises(LoaderError, match=r"units \[99\] are not in the Units table; available ids"):
        load(units_file, bin_size=1.0, units=[3, 99])
    with pytest.raises(NoDataError, match="selects no unit"):
        load(units_file, bin_size=1.0, units={"quality": "excellent"})


def test_units_need_bin_size(units_file):
    with pytest.raises(BinSizeError, match=r"bin_size is required.*bin_size=0.05"):
        load(units_file)


def test_units_bin_size_longer_than_recording(units_file):
    with pytest.raises(BinSizeError, match="longer than the recording"):
        load(units_file, bin_size=100.0)
    with pytest.raises(BinSizeError, match="longer than the time range"), pytest.warns(UserWarning):
        load(units_file, bin_size=5.0, time_range=(0, 3))
    with pytest.raises(BinSizeError, match="positive"):
        load(units_file, bin_size=-1)


def test_empty_unit_is_dropped_with_record_and_warning(tmp_path):
    st = [np.array([0.5, 1.5, 2.5]), np.array([]), np.array([0.1, 3.9])]
    path = write_units(tmp_path / "empty.nwb", st, ids=[1, 2, 3])
    with pytest.warns(UserWarning, match=r"dropped 1 units with no spikes: \[2\]"):
        rec = load(path, bin_size=1.0)
    np.testing.assert_array_equal(rec.unit_ids, [1, 3])
    assert rec.meta["dropped_units"] == [2]
    assert any("dropped 1 units with no spikes" in s for s in rec.meta["preprocessing"])
    np.testing.assert_array_equal(rec.activity, [[1, 1], [1, 0], [1, 0], [0, 1]])
    # kept on request, as a zero column
    rec = load(path, bin_size=1.0, keep_empty=True)
    np.testing.assert_array_equal(rec.activity[:, 1], 0)
    assert "dropped_units" not in rec.meta
    # a unit empty only inside the time range is dropped too
    with pytest.warns(UserWarning, match=r"no spikes in time_range=\(1, 3\) s: \[3\]"):
        rec = load(path, bin_size=1.0, time_range=(1, 3), units=[1, 3])
    np.testing.assert_array_equal(rec.unit_ids, [1])


def test_all_units_empty_is_an_error(tmp_path):
    path = write_units(tmp_path / "allempty.nwb", [np.array([]), np.array([])])
    with pytest.raises(NoDataError, match="none of the 2 selected units has spikes"):
        load(path, bin_size=1.0)


def test_negative_spike_times(tmp_path):
    path = write_units(tmp_path / "neg.nwb", [np.array([0.2, 1.0]), np.array([-0.5, 0.3])])
    with pytest.raises(SpikeTimesError, match=r"unit 1 has negative spike times.*Shift them"):
        load(path, bin_size=0.1)


def test_ragged_spike_index(tmp_path):
    path = write_units(tmp_path / "ragged.nwb", [np.array([0.2, 1.0]), np.array([0.5, 0.3, 2.0])])
    with h5py.File(path, "r+") as f:  # corrupt the index: it now points past the data
        f["units/spike_times_index"][-1] = 9
    with pytest.raises(SpikeTimesError, match=r"ragged inconsistently.*5 spike times.*re-export"):
        load(path, bin_size=0.1)


def test_unsorted_spike_times_are_sorted(tmp_path):
    path = write_units(tmp_path / "unsorted.nwb", [np.array([1.2, 0.1, 0.7])])
    rec = load(path, bin_size=0.5)
    np.testing.assert_array_equal(rec.activity[:, 0], [1, 1, 1])


# ------------------------------------------------------------------ ophys series
def test_ophys_auto_is_ambiguous_with_two_series(ophys_file):
    with pytest.raises(AmbiguousSourceError) as err:
        load(ophys_file)
    msg = str(err.value)
    assert "processing/ophys/Fluorescence/RoiResponseSeries" in msg
    assert "processing/ophys/DfOverF/RoiResponseSeries" in msg
    assert "source=" in msg and "\n" not in msg
    with pytest.raises(AmbiguousSourceError, match="matches several series"):
        load(ophys_file, source="RoiResponseSeries")


@pytest.mark.parametrize("source, which", [
    ("processing/ophys/DfOverF/RoiResponseSeries", 1),
    ("/processing/ophys/Fluorescence/RoiResponseSeries", 0),
    ("DfOverF/RoiResponseSeries", 1),
])
def test_ophys_series_values(ophys_file, traces, source, which):
    rec = load(ophys_file, source=source)
    np.testing.assert_array_equal(rec.activity, traces[which])
    assert rec.bin_size == pytest.approx(1 / 30)
    assert rec.t_start == 2.0
    np.testing.assert_array_equal(rec.unit_ids, [10, 11, 12, 13])  # ROI ids
    assert rec.meta["kind"] == "traces"
    assert rec.meta["series"].startswith("processing/ophys/")
    assert rec.meta["series"].endswith(source.strip("/"))


def test_single_ophys_series_is_auto(tmp_path, traces):
    path = write_ophys(tmp_path / "one.nwb", traces[0])
    rec = load(path)
    assert rec.meta["series"] == "processing/ophys/Fluorescence/RoiResponseSeries"
    np.testing.assert_array_equal(rec.activity, traces[0])
    assert "source='auto' chose the only RoiResponseSeries" in rec.meta["preprocessing"][0]


def test_ophys_rebin_averages_whole_multiples(ophys_file, traces):
    src = "DfOverF/RoiResponseSeries"
    rec = load(ophys_file, source=src, bin_size=0.1)  # 3 frames at 30 Hz
    expected = traces[1][:300].reshape(100, 3, 4).mean(axis=1)  # last frame does not fill a bin
    np.testing.assert_allclose(rec.activity, expected, rtol=0, atol=1e-12)
    assert rec.bin_size == pytest.approx(0.1)
    assert any("averaged 3 samples" in s for s in rec.meta["preprocessing"])
    assert any("dropped 1 trailing samples" in s for s in rec.meta["preprocessing"])
    with pytest.raises(BinSizeError, match=r"not a whole number of samples.*0.0333333 s \(1 samples\) "
                                           r"or 0.0666667 s \(2 samples\)"):
        load(ophys_file, source=src, bin_size=0.05)
    with pytest.raises(BinSizeError, match="shorter than the sampling interval"):
        load(ophys_file, source=src, bin_size=0.01)
    with pytest.raises(BinSizeError, match="longer than the recording"):
        load(ophys_file, source=src, bin_size=20.0)


def test_ophys_time_range_and_channel_selection(ophys_file, traces):
    rec = load(ophys_file, source="DfOverF/RoiResponseSeries", time_range=(3.0, 4.0), units=[12, 10])
    # samples i with 2 + i/30 in [3, 4): i = 30..59
    np.testing.assert_array_equal(rec.activity, traces[1][30:60][:, [2, 0]])
    assert rec.t_start == pytest.approx(3.0)
    np.testing.assert_array_equal(rec.unit_ids, [12, 10])
    with pytest.raises(NoDataError, match="no samples in time_range"):
        load(ophys_file, source="DfOverF/RoiResponseSeries", time_range=(50, 60))
    with pytest.raises(LoaderError, match="not channels of this series"):
        load(ophys_file, source="DfOverF/RoiResponseSeries", units=[99])


def test_nan_in_traces_names_count_and_location(tmp_path, traces):
    bad = traces[0].copy()
    bad[17, 2] = np.nan
    bad[40, 1] = np.inf
    bad[41, 1] = np.nan
    path = write_ophys(tmp_path / "nan.nwb", bad)
    with pytest.raises(DataValueError,
                       match=r"3 NaN/inf values.*first at sample 17 \(t = 2.56667 s\), neuron column 2 "
                             r"\(unit 12\)"):
        load(path)


# ------------------------------------------------------------------ plain TimeSeries
def test_timeseries_rate_2d_and_1d(tmp_path):
    rng = np.random.default_rng(3)
    x2 = rng.normal(size=(200, 3))
    x1 = rng.normal(size=150)
    path = write_series(
        tmp_path / "ts.nwb",
        TimeSeries(name="rates", data=x2, unit="Hz", rate=100.0, starting_time=0.5),
        TimeSeries(name="lfp", data=x1, unit="V", rate=50.0),
    )
    with pytest.raises(AmbiguousSourceError, match=r"several TimeSeries") as err:
        load(path)
    assert "'acquisition/rates' (TimeSeries, shape (200, 3), 100 Hz)" in str(err.value)
    assert "'acquisition/lfp' (TimeSeries, shape (150,), 50 Hz)" in str(err.value)
    rec = load(path, source="rates")
    np.testing.assert_array_equal(rec.activity, x2)
    assert rec.bin_size == pytest.approx(0.01) and rec.t_start == 0.5
    np.testing.assert_array_equal(rec.unit_ids, [0, 1, 2])
    rec = load(path, source="acquisition/lfp", bin_size=0.1)
    np.testing.assert_allclose(rec.activity[:, 0], x1.reshape(30, 5).mean(axis=1), atol=1e-12)
    with pytest.raises(LoaderError, match=r"no TimeSeries 'spikes'; series in the file: 'acquisition/lfp'.*'acquisition/rates'"):
        load(path, source="spikes")
    with pytest.raises(NoDataError, match="has no Units table"):
        load(path, source="units")


def test_timeseries_conversion_and_offset(tmp_path):
    raw = np.random.default_rng(8).integers(-100, 100, size=(60, 3)).astype(np.int16)
    path = write_series(tmp_path / "conv.nwb", TimeSeries(name="raw", data=raw, unit="V", rate=20.0,
                                                          conversion=0.5, offset=1.0))
    rec = load(path, bin_size=0.1)
    np.testing.assert_allclose(rec.activity, (raw * 0.5 + 1.0).reshape(30, 2, 3).mean(axis=1),
                               atol=1e-12)
    assert any("conversion factor 0.5" in s for s in rec.meta["preprocessing"])
    assert rec.meta["unit"] == "V"


def test_timeseries_timestamps(tmp_path):
    rng = np.random.default_rng(4)
    x = rng.normal(size=(100, 2))
    regular = 1.0 + 0.02 * np.arange(100)
    jitter = regular + rng.uniform(-0.004, 0.004, size=100)
    path = write_series(tmp_path / "stamps.nwb",
                        TimeSeries(name="reg", data=x, unit="a.u.", timestamps=regular),
                        TimeSeries(name="irr", data=x, unit="a.u.", timestamps=jitter))
    rec = load(path, source="reg")
    np.testing.assert_array_equal(rec.activity, x)
    assert rec.bin_size == pytest.approx(0.02, rel=1e-12) and rec.t_start == 1.0
    assert any("regular timestamps" in s for s in rec.meta["preprocessing"])
    with pytest.raises(DataValueError, match=r"irregular timestamps.*resample=True"):
        load(path, source="irr")
    rec = load(path, source="irr", resample=True, bin_size=0.02)
    grid = jitter[0] + 0.02 * np.arange(rec.n_samples)
    assert grid[-1] <= jitter[-1] < grid[-1] + 0.02
    for j in range(2):
        np.testing.assert_allclose(rec.activity[:, j], np.interp(grid, jitter, x[:, j]), atol=1e-12)
    assert any("resampled" in s for s in rec.meta["preprocessing"])


def test_timeseries_transposed_is_detected(tmp_path):
    x = np.random.default_rng(5).normal(size=(6, 3000))  # channels x time, against the NWB spec
    path = write_series(tmp_path / "tr.nwb", TimeSeries(name="bad", data=x, unit="a.u.", rate=10.0))
    with pytest.raises(ShapeError, match=r"looks transposed.*orientation='neurons_by_time'"):
        load(path)
    rec = load(path, orientation="neurons_by_time")
    np.testing.assert_array_equal(rec.activity, x.T)
    assert rec.shape == (3000, 6)


def test_auto_prefers_units_and_notes_the_rest(tmp_path, spikes):
    path = write_units(tmp_path / "both.nwb", spikes[:2],
                       series=TimeSeries(name="speed", data=np.arange(10.0), unit="m/s", rate=1.0))
    rec = load(path, bin_size=1.0)
    assert rec.meta["series"] == "units"
    assert "also present: acquisition/speed" in rec.meta["preprocessing"][0]
    rec = load(path, source="speed")
    np.testing.assert_array_equal(rec.activity[:, 0], np.arange(10.0))


# ------------------------------------------------------------------ bad files
def test_no_units_no_series(tmp_path):
    path = _write(_nwbfile(), tmp_path / "empty.nwb")
    with pytest.raises(NoDataError, match=r"no Units table and no usable TimeSeries.*neurospec info"):
        load(path)


def test_not_hdf5(tmp_path):
    path = tmp_path / "junk.nwb"
    path.write_bytes(b"this is not an HDF5 file" * 10)
    with pytest.raises(LoaderError, match=f"{path}: not a readable NWB/HDF5 file"):
        load(path, bin_size=0.1)


def test_hdf5_but_not_nwb(tmp_path):
    path = tmp_path / "plain.nwb"
    with h5py.File(path, "w") as f:
        f["x"] = np.zeros((3, 3))
    with pytest.raises(LoaderError, match="not a readable NWB/HDF5 file.*rename it to .h5"):
        load(path)


def test_wrong_option_for_nwb(units_file):
    with pytest.raises(LoaderError, match=r"option key do not apply to .nwb files; options for .nwb are: source"):
        load(units_file, bin_size=1.0, key="x")


# ------------------------------------------------------------------ round trips
def test_round_trip_units_form(tmp_path, spikes):
    rec = Recording.from_spike_times(spikes, 0.25, unit_ids=["a", "b", "c", "d"], t_stop=20.0,
                                     meta={"description": "sim", "truth": {"g": 0.5}})
    path = rec.to_nwb(tmp_path / "rt_units.nwb")
    back = load(path, time_range=(0.0, 20.0))  # bin_size restored from the file
    np.testing.assert_array_equal(back.activity, rec.activity)
    np.testing.assert_array_equal(back.unit_ids, rec.unit_ids)
    assert back.bin_size == 0.25 and back.meta["kind"] == "counts"
    assert back.meta["truth"] == {"g": 0.5} and back.meta["description"] == "sim"
    assert back.meta["file_meta"]["unit_ids"] == ["a", "b", "c", "d"]
    assert any("taken from the file's neurospec metadata" in s for s in back.meta["preprocessing"])
    for a, b in zip(back.spike_times, spikes):
        np.testing.assert_array_equal(a, b)
    # unit ids as stored by neurospec select units
    sub = load(path, bin_size=0.5, units=["c"])
    np.testing.assert_array_equal(sub.activity[:, 0], hist_counts(spikes[2], 0, 0.5, sub.n_samples))


def test_round_trip_timeseries_form(tmp_path):
    x = np.random.default_rng(6).normal(size=(120, 5))
    rec = Recording(x, 0.05, unit_ids=[5, 6, 7, 8, 9], t_start=1.5,
                    meta={"kind": "rates", "note": "hello", "preprocessing": ["z-scored"]})
    path = rec.to_nwb(tmp_path / "rt_ts.nwb")
    back = load(path)
    np.testing.assert_array_equal(back.activity, x)
    np.testing.assert_array_equal(back.unit_ids, [5, 6, 7, 8, 9])
    assert back.bin_size == pytest.approx(0.05) and back.t_start == 1.5
    assert back.meta["kind"] == "rates" and back.meta["note"] == "hello"
    assert back.meta["preprocessing"][0] == "z-scored"
    assert back.meta["series"] == "acquisition/activity"


def test_round_trip_counts_series_rebin_sums(tmp_path):
    counts = np.random.default_rng(7).poisson(2.0, size=(40, 3)).astype(float)
    path = Recording(counts, 0.1, meta={"kind": "counts"}).to_nwb(tmp_path / "c.nwb")
    back = load(path, bin_size=0.4)
    np.testing.assert_allclose(back.activity, counts.reshape(10, 4, 3).sum(axis=1), atol=1e-12)
    assert any("summed 4 samples" in s for s in back.meta["preprocessing"])


# ------------------------------------------------------------------ lazy access
def test_open_lazy_series_reads_rows_on_demand(ophys_file, traces):
    with open_lazy(ophys_file, source="Fluorescence/RoiResponseSeries", bin_size=0.1) as lazy:
        assert isinstance(lazy.data, TimeMajorView)
        assert isinstance(lazy.data.source, h5py.Dataset)  # still on disk
        assert lazy.shape == (100, 4) and lazy.bin_size == pytest.approx(0.1)
        expected = traces[0][:300].reshape(100, 3, 4).mean(axis=1)
        np.testing.assert_allclose(lazy.data[10:20], expected[10:20], atol=1e-12)
        np.testing.assert_allclose(lazy.data[5, 1:3], expected[5, 1:3], atol=1e-12)
        blocks = list(lazy.iter_chunks(chunk_rows=7))
        assert [b[0] for b in blocks] == list(range(0, 100, 7))
        np.testing.assert_allclose(np.vstack([b for _, b in blocks]), expected, atol=1e-12)
        ds = lazy.data.source
    assert not ds.id.valid  # the file was closed on exit


# ------------------------------------------------------------------ describe
def test_describe_ophys(ophys_file):
    d = describe(ophys_file)
    assert d["format"] == "nwb" and d["units"] is None
    paths = {s["path"]: s for s in d["series"]}
    s = paths["processing/ophys/DfOverF/RoiResponseSeries"]
    assert s["shape"] == (301, 4) and s["rate"] == 30.0 and s["ophys"]
    assert s["duration"] == pytest.approx(301 / 30) and s["starting_time"] == 2.0
    assert d["default_source"] is None and "several RoiResponseSeries" in d["default_error"]


def test_describe_units(units_file, spikes):
    d = describe(units_file)
    u = d["units"]
    assert u["n_units"] == 4 and u["n_spikes"] == sum(len(s) for s in spikes)
    assert [r["id"] for r in u["table"]] == [3, 7, 9, 21]
    assert [r["n_spikes"] for r in u["table"]] == [len(s) for s in spikes]
    assert [r["quality"] for r in u["table"]] == ["good", "mua", "good", "noise"]
    assert u["table"][1]["first"] == spikes[1].min() and u["table"][1]["last"] == spikes[1].max()
    assert d["default_source"] == "units"


# ------------------------------------------------------------------ the real file
def _h5_spikes(path):
    with h5py.File(path, "r") as f:
        times = f["units/spike_times"][:]
        index = f["units/spike_times_index"][:].astype(int)
        ids = f["units/id"][:]
    starts = np.concatenate([[0], index[:-1]])
    return ids, [times[a:b] for a, b in zip(starts, index)]


def test_real_nwb_loads_with_its_units(real_nwb_path):
    ids, h5_spikes = _h5_spikes(real_nwb_path)
    assert len(ids) == 3
    rec = load(real_nwb_path, bin_size=0.1)
    assert rec.n_neurons == 3
    np.testing.assert_array_equal(rec.unit_ids, ids)
    np.testing.assert_array_equal(rec.activity.sum(axis=0), [len(s) for s in h5_spikes])
    for j, st in enumerate(h5_spikes):
        np.testing.assert_array_equal(rec.activity[:, j], hist_counts(st, 0.0, 0.1, rec.n_samples))
    assert rec.duration == pytest.approx(np.ceil(max(s.max() for s in h5_spikes) / 0.1) * 0.1)
    # selection by a column of the foreign file, and a time window
    rec = load(real_nwb_path, bin_size=1.0, units={"group": 0}, time_range=(100, 200))
    assert rec.n_samples == 100 and rec.n_neurons == 3
    for j, st in enumerate(h5_spikes):
        np.testing.assert_array_equal(rec.activity[:, j], hist_counts(st, 100.0, 1.0, 100))


def test_real_nwb_described(real_nwb_path):
    ids, h5_spikes = _h5_spikes(real_nwb_path)
    d = describe(real_nwb_path)
    assert d["units"]["n_units"] == 3
    assert [r["n_spikes"] for r in d["units"]["table"]] == [len(s) for s in h5_spikes]
    assert d["series"] == [] and d["epochs"] == 1


def test_public_load_is_neurospec_load(units_file):
    rec = neurospec.load(units_file, bin_size=2.0)
    assert rec.meta["kind"] == "counts"


def test_timeseries_timestamps_must_increase(tmp_path):
    x = np.random.default_rng(6).normal(size=(5, 2))
    stamps = np.array([0.0, 0.1, 0.1, 0.3, 0.4])
    path = write_series(tmp_path / "dup.nwb", TimeSeries(name="dup", data=x, unit="a.u.",
                                                         timestamps=stamps))
    with pytest.raises(DataValueError, match=r"not strictly increasing \(sample 2: 0.1 s after 0.1 s\)"
                                             r"; the file's timestamps are broken"):
        load(path, source="dup")
