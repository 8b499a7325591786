"""Tests of neurospec.Recording: validation, binning, transformations, NWB round trip."""

import numpy as np
import pytest

from neurospec import Recording
from neurospec.errors import (
    BinSizeError,
    DataValueError,
    NeurospecError,
    NoDataError,
    ShapeError,
    SpikeTimesError,
)


@pytest.fixture
def rng():
    return np.random.default_rng(0)


def test_activity_is_float64_time_by_neurons(rng):
    x = rng.integers(0, 5, size=(50, 4))
    rec = Recording(x, bin_size=0.1)
    assert rec.activity.dtype == np.float64
    assert rec.shape == (50, 4) and rec.n_samples == 50 and rec.n_neurons == 4
    assert rec.duration == pytest.approx(5.0)
    np.testing.assert_array_equal(rec.unit_ids, np.arange(4))
    np.testing.assert_allclose(rec.times[:3], [0.0, 0.1, 0.2])
    np.testing.assert_array_equal(np.asarray(rec), x)


def test_errors_are_value_errors():
    assert issubclass(NeurospecError, ValueError)
    for cls in (BinSizeError, DataValueError, ShapeError, SpikeTimesError, NoDataError):
        assert issubclass(cls, NeurospecError)


@pytest.mark.parametrize(
    "activity, bin_size, cls, match",
    [
        (np.ones(10), 0.1, ShapeError, "must be 2-D"),
        (np.ones((0, 3)), 0.1, DataValueError, "empty"),
        (np.array([[1.0, np.nan], [0.0, 1.0]]), 0.1, DataValueError, "NaN/inf"),
        (np.array([[1.0, np.inf], [0.0, 1.0]]), 0.1, DataValueError, "first at sample 0"),
        (np.ones((5, 2)), 0.0, BinSizeError, "positive"),
        (np.ones((5, 2)), -1, BinSizeError, "positive"),
        (np.ones((5, 2)), "abc", BinSizeError, "number of seconds"),
    ],
)
def test_bad_activity(activity, bin_size, cls, match):
    with pytest.raises(cls, match=match):
        Recording(activity, bin_size)


def test_unit_id_count_must_match():
    with pytest.raises(ShapeError, match="one id per column"):
        Recording(np.ones((5, 2)), 0.1, unit_ids=[1, 2, 3])


def test_spike_binning_matches_histogram(rng):
    spikes = [np.sort(rng.uniform(0, 10, size=n)) for n in (100, 3, 57)]
    rec = Recording.from_spike_times(spikes, bin_size=0.25, t_start=0.0, t_stop=10.0)
    assert rec.shape == (40, 3) and rec.meta["kind"] == "counts"
    edges = np.arange(41) * 0.25
    for j, st in enumerate(spikes):
        np.testing.assert_array_equal(rec.activity[:, j], np.histogram(st, edges)[0])
    assert any("binned" in s for s in rec.meta["preprocessing"])


def test_spike_binning_edges_are_left_closed():
    rec = Recording.from_spike_times([np.array([0.0, 0.5, 0.999, 1.0])], 0.5, t_stop=1.5)
    np.testing.assert_array_equal(rec.activity[:, 0], [1, 2, 1])


def test_spike_time_time_range():
    st = [np.array([0.1, 1.1, 2.1, 3.1])]
    rec = Recording.from_spike_times(st, 1.0, t_start=1.0, t_stop=3.0)
    np.testing.assert_array_equal(rec.activity[:, 0], [1, 1])
    assert rec.t_start == 1.0
    np.testing.assert_array_equal(rec.spike_times[0], [1.1, 2.1])


@pytest.mark.parametrize(
    "spikes, cls, match",
    [
        ([np.array([0.1, -0.2])], SpikeTimesError, "negative spike times"),
        ([[0.1, [0.2, 0.3]]], SpikeTimesError, "ragged"),
        ([np.ones((2, 2))], SpikeTimesError, "flat"),
        ([np.array([0.1, np.nan])], SpikeTimesError, "NaN"),
        ([], NoDataError, "no units"),
        ([np.array([]), np.array([])], NoDataError, "every unit is empty"),
    ],
)
def test_bad_spike_times(spikes, cls, match):
    with pytest.raises(cls, match=match):
        Recording.from_spike_times(spikes, 0.1)


def test_bin_size_longer_than_recording():
    with pytest.raises(BinSizeError, match="longer than the recording"):
        Recording.from_spike_times([np.array([0.1, 0.5])], bin_size=10.0, t_stop=1.0)


def test_unsorted_spike_times_are_sorted():
    rec = Recording.from_spike_times([np.array([0.7, 0.1, 0.3])], 0.5, t_stop=1.0)
    np.testing.assert_array_equal(rec.activity[:, 0], [2, 1])


def test_select_units_by_index_mask_and_id(rng):
    rec = Recording(rng.normal(size=(20, 4)), 0.1, unit_ids=["a", "b", "c", "d"])
    np.testing.assert_array_equal(rec.select_units([0, 2]).activity, rec.activity[:, [0, 2]])
    sub = rec.select_units(np.array([False, True, False, True]))
    np.testing.assert_array_equal(sub.unit_ids, ["b", "d"])
    sub = rec.select_units(ids=["d", "a"])
    np.testing.assert_array_equal(sub.activity, rec.activity[:, [3, 0]])
    with pytest.raises(ShapeError, match="not in this recording"):
        rec.select_units(ids=["z"])
    with pytest.raises(NoDataError):
        rec.select_units(np.zeros(4, bool))


def test_drop_silent_records_what_it_removed(rng):
    x = rng.normal(size=(30, 4))
    x[:, 1] = 0.0
    x[:, 3] = 2.5
    rec = Recording(x, 0.1, unit_ids=[10, 11, 12, 13]).drop_silent()
    np.testing.assert_array_equal(rec.unit_ids, [10, 12])
    assert rec.meta["dropped_units"] == [11, 13]
    assert "dropped 2 constant/silent units" in rec.meta["preprocessing"][-1]
    assert "dropped 2" in rec.summary()


def test_rebin_sums_counts_and_averages_traces():
    x = np.arange(14, dtype=float).reshape(7, 2)
    counts = Recording(x, 0.1, meta={"kind": "counts"}).rebin(3)
    np.testing.assert_array_equal(counts.activity, [[6, 9], [24, 27]])
    assert counts.bin_size == pytest.approx(0.3)
    assert "dropped 1 trailing" in counts.meta["preprocessing"][-1]
    traces = Recording(x, 0.1).rebin(3)
    np.testing.assert_array_equal(traces.activity, [[2, 3], [8, 9]])
    with pytest.raises(BinSizeError):
        Recording(x, 0.1).rebin(8)
    with pytest.raises(BinSizeError):
        Recording(x, 0.1).rebin(1.5)


def test_zscore(rng):
    rec = Recording(rng.normal(3, 2, size=(200, 3)), 0.1).zscore()
    np.testing.assert_allclose(rec.activity.mean(0), 0, atol=1e-12)
    np.testing.assert_allclose(rec.activity.std(0), 1)
    x = np.ones((5, 2))
    x[:, 0] = np.arange(5)
    with pytest.raises(DataValueError, match="drop_silent"):
        Recording(x, 0.1).zscore()


def test_slice_time(rng):
    rec = Recording(rng.normal(size=(100, 2)), 0.1, t_start=5.0)
    sub = rec.slice_time(6.0, 7.0)
    assert sub.n_samples == 10 and sub.t_start == pytest.approx(6.0)
    np.testing.assert_array_equal(sub.activity, rec.activity[10:20])
    with pytest.raises(NoDataError, match="spans"):
        rec.slice_time(100, 200)
    with pytest.raises(BinSizeError):
        rec.slice_time(7, 6)


def test_transformations_do_not_touch_original(rng):
    rec = Recording(rng.normal(size=(10, 3)), 0.1)
    before = rec.activity.copy()
    rec.zscore(), rec.rebin(2), rec.select_units([0])
    np.testing.assert_array_equal(rec.activity, before)
    assert rec.meta["preprocessing"] == []


def test_to_nwb_writes_units_table(tmp_path):
    pynwb = pytest.importorskip("pynwb")
    spikes = [np.array([0.1, 0.2, 1.5]), np.array([0.05, 0.9])]
    rec = Recording.from_spike_times(spikes, 0.5, unit_ids=["a", "b"], t_stop=2.0)
    path = rec.to_nwb(tmp_path / "s.nwb")
    with pynwb.NWBHDF5IO(str(path), "r") as io:
        nwb = io.read()
        df = nwb.units.to_dataframe()
        assert list(df["unit_name"]) == ["a", "b"]
        for got, want in zip(df["spike_times"], spikes):
            np.testing.assert_array_equal(got, want)
        assert nwb.notes.startswith("neurospec-meta:")
    with pytest.raises(FileExistsError):
        rec.to_nwb(path)


def test_to_nwb_writes_timeseries(tmp_path, rng):
    pynwb = pytest.importorskip("pynwb")
    x = rng.normal(size=(40, 3))
    path = Recording(x, 0.05, t_start=1.0).to_nwb(tmp_path / "t.nwb")
    with pynwb.NWBHDF5IO(str(path), "r") as io:
        ts = io.read().acquisition["activity"]
        np.testing.assert_array_equal(ts.data[:], x)
        assert ts.rate == pytest.approx(20.0) and ts.starting_time == pytest.approx(1.0)
