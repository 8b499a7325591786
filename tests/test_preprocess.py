"""Tests of neurospec.preprocess: sklearn transformers on arrays and Recordings, with provenance."""

import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.pipeline import Pipeline
from sklearn.utils.estimator_checks import parametrize_with_checks

from neurospec import CovarianceSpectrum, Recording
from neurospec.errors import BinSizeError, DataValueError, NoDataError, ShapeError
from neurospec.preprocess import (
    Detrend,
    DropConstant,
    HighPass,
    PreprocessWarning,
    SelectNeurons,
    SubtractConditionMeans,
    ZScore,
    default_pipeline,
    preprocess,
    read_conditions,
    trial_conditions,
)


@pytest.fixture
def rng():
    return np.random.default_rng(0)


def _expected_failures(est):
    # A temporal filter uses neighbouring samples, so transforming a subset or a shuffled copy
    # is not the same as subsetting the transform; condition means need their labels.
    temporal = {
        "check_methods_subset_invariance": "a temporal filter depends on neighbouring samples",
        "check_methods_sample_order_invariance": "a temporal filter depends on sample order",
    }
    if isinstance(est, (HighPass, Detrend)):
        return temporal
    if isinstance(est, SubtractConditionMeans):
        return {**{k: "each sample needs its condition label" for k in temporal},
                "check_fit_idempotent": "transform of new samples needs their labels"}
    return {}


@parametrize_with_checks([DropConstant(), SelectNeurons(), ZScore(), Detrend(),
                          HighPass(cutoff=5.0, bin_size=1.0), SubtractConditionMeans()],
                         expected_failed_checks=_expected_failures)
def test_sklearn_compatible(estimator, check):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PreprocessWarning)  # 10-30 samples: a short "recording"
        check(estimator)


# ---------------------------------------------------------------------------- Recording in/out
def test_recording_in_recording_out_with_provenance(rng):
    x = rng.normal(size=(500, 6))
    x[:, 2] = 4.0
    rec = Recording(x, bin_size=0.1, unit_ids=np.array([10, 11, 12, 13, 14, 15]),
                    meta={"source": "test"})
    out = DropConstant().fit_transform(rec)
    assert isinstance(out, Recording) and out.n_neurons == 5
    np.testing.assert_array_equal(out.unit_ids, [10, 11, 13, 14, 15])
    assert out.meta["dropped_units"] == [12]
    assert "dropped 1 constant neurons" in out.meta["preprocessing"][-1]
    step = out.meta["pipeline"][-1]
    assert step["step"] == "DropConstant" and step["n_dropped"] == 1 and step["dropped"] == [12]
    assert rec.n_neurons == 6 and "pipeline" not in rec.meta  # the input is untouched
    arr = DropConstant().fit_transform(x)
    assert isinstance(arr, np.ndarray) and arr.shape == (500, 5)
    z = ZScore().fit_transform(out)
    np.testing.assert_allclose(z.activity.std(axis=0), 1.0)
    assert [s["step"] for s in z.meta["pipeline"]] == ["DropConstant", "ZScore"]
    with pytest.raises(DataValueError, match=r"constant.*\[12\].*DropConstant"):
        ZScore().fit(rec)
    with pytest.raises(NoDataError, match="every one of the 2 neurons is constant"):
        DropConstant().fit(np.ones((20, 2)))
    with pytest.raises(ShapeError, match="expecting 5 features"):
        DropConstant().fit(out).transform(rec)


def test_select_neurons(rng):
    rec = Recording(rng.normal(size=(50, 5)), bin_size=1.0, unit_ids=np.array(list("abcde")))
    assert SelectNeurons(ids=["b", "d"]).fit_transform(rec).unit_ids.tolist() == ["b", "d"]
    out = SelectNeurons(quality=[0.1, 0.9, 0.8, 0.3, 0.95], min_quality=0.5).fit_transform(rec)
    assert out.unit_ids.tolist() == ["b", "c", "e"]
    assert "quality >= 0.5" in out.meta["preprocessing"][-1]
    assert SelectNeurons(units=[True, False, True, False, False]).fit_transform(rec).n_neurons == 2
    with pytest.raises(ShapeError, match="not in the data"):
        SelectNeurons(ids=["z"]).fit(rec)
    with pytest.raises(NoDataError, match="keeps none"):
        SelectNeurons(quality=np.zeros(5), min_quality=1).fit(rec)


# ---------------------------------------------------------------------------- drift
def test_highpass_removes_photobleaching_keeps_fast_signal(rng):
    dt, n = 0.1, 6000
    t = np.arange(n) * dt
    fast = rng.normal(size=(n, 4))
    bleach = 30 * np.exp(-t / 200.0)[:, None] * [1.0, 2.0, 0.5, 1.5]
    rec = Recording(fast + bleach + 100, bin_size=dt)
    out = HighPass(cutoff=30.0).fit_transform(rec)
    resid = out.activity - out.activity.mean(axis=0)
    # the drift is gone (away from the very start), the fast signal is kept
    assert np.abs(np.polyfit(t[500:], resid[500:], 1)[0]).max() < 2e-4
    assert np.corrcoef(resid[:, 0], fast[:, 0])[0, 1] > 0.99
    np.testing.assert_allclose(out.activity.mean(axis=0), rec.activity.mean(axis=0))
    assert out.meta["pipeline"][-1]["cutoff_s"] == 30.0
    assert "high-pass filtered at 30 s" in out.meta["preprocessing"][-1]
    # array input needs the sampling interval
    with pytest.raises(BinSizeError, match="bin_size"):
        HighPass(cutoff=30.0).fit(rec.activity)
    np.testing.assert_allclose(HighPass(cutoff=30.0, bin_size=dt).fit_transform(rec.activity),
                               out.activity)


def test_highpass_cutoff_checked_against_the_recording(rng):
    rec = Recording(rng.normal(size=(1000, 3)), bin_size=0.1)  # 100 s
    with pytest.raises(BinSizeError, match=r"cutoff 200 s is longer than the recording \(100 s"):
        HighPass(cutoff=200.0).fit(rec)
    with pytest.warns(PreprocessWarning, match="longer than a quarter of the recording"):
        HighPass(cutoff=50.0).fit(rec)
    with pytest.raises(BinSizeError, match="not longer than two samples"):
        HighPass(cutoff=0.15).fit(rec)
    with pytest.raises(BinSizeError, match="disagrees"):
        HighPass(cutoff=10.0, bin_size=0.2).fit(rec)


def test_detrend_linear_and_polynomial(rng):
    t = np.linspace(0, 1, 400)[:, None]
    noise = rng.normal(size=(400, 3))
    x = noise + 5 + 3 * t
    out = Detrend().fit_transform(x)
    np.testing.assert_allclose(out.mean(axis=0), x.mean(axis=0))
    assert np.corrcoef(out[:, 0], noise[:, 0])[0, 1] > 0.99
    assert abs(np.polyfit(t[:, 0], out, 1)[0]).max() < 1e-10
    x2 = noise + 4 * (t - 0.5) ** 2
    out2 = Detrend(order=2).fit_transform(x2)
    assert abs(np.polyfit(t[:, 0], out2, 2)[0]).max() < 1e-8
    np.testing.assert_allclose(out2.mean(axis=0), x2.mean(axis=0))


# ---------------------------------------------------------------------------- conditions
def test_subtract_condition_means(rng):
    y = np.repeat(["left", "right", "up"], 50)
    x = rng.normal(size=(150, 4)) + (y == "right")[:, None] * 10.0
    rec = Recording(x, bin_size=0.1)
    step = SubtractConditionMeans()
    out = step.fit_transform(rec, y)
    for c in ("left", "right", "up"):
        np.testing.assert_allclose(out.activity[y == c].mean(axis=0), 0, atol=1e-12)
    assert step.classes_ == ["left", "right", "up"] and step.counts_.tolist() == [50, 50, 50]
    assert out.meta["dof_removed"] == 3
    assert "subtracted the means of 3 conditions" in out.meta["preprocessing"][-1]
    # transform without labels reuses those of fit (same samples); new labels may be given
    np.testing.assert_allclose(step.transform(rec).activity, out.activity)
    np.testing.assert_allclose(step.transform(x[:50], y[:50]), out.activity[:50])


def test_condition_errors(rng):
    x = rng.normal(size=(10, 3))
    with pytest.raises(ShapeError, match="9 condition labels for 10 samples"):
        SubtractConditionMeans().fit(x, np.zeros(9))
    with pytest.raises(DataValueError, match=r"1 of 2 conditions.*'b' \(1 sample\)"):
        SubtractConditionMeans().fit(x, ["a"] * 9 + ["b"])
    with pytest.raises(DataValueError, match="no condition label"):
        SubtractConditionMeans().fit(x, [1.0] * 9 + [np.nan])
    with pytest.raises(DataValueError, match="not seen by fit"):
        SubtractConditionMeans().fit(x, [0] * 5 + [1] * 5).transform(x, [2] * 10)
    with pytest.raises(DataValueError, match="requires y"):
        SubtractConditionMeans().fit(x)


def test_time_locked_conditions_remove_the_psth(rng):
    """8 directions x 20 trials x 30 bins: the stimulus-locked mean is removed, noise is kept."""
    n_dir, n_trials, n_bins, n = 8, 20, 30, 12
    psth = rng.normal(size=(n_dir, n_bins, n)) * 5  # strong stimulus-locked mean
    noise = rng.normal(size=(n_dir * n_trials, n_bins, n))
    dirs = np.repeat(np.arange(n_dir), n_trials)
    x = (psth[dirs] + noise).reshape(-1, n)
    labels = pd.DataFrame({"direction": np.repeat(dirs, n_bins),
                           "bin": np.tile(np.arange(n_bins), n_dir * n_trials)})
    out = SubtractConditionMeans().fit_transform(x, labels)
    expected = (noise - noise.reshape(n_dir, n_trials, n_bins, n).mean(axis=1)[dirs]).reshape(-1, n)
    np.testing.assert_allclose(out, expected, atol=1e-10)
    # a direction-only mean leaves the time course in
    only_dir = SubtractConditionMeans().fit_transform(x, labels["direction"])
    assert only_dir.var() > 5 * out.var()


def test_trial_conditions_from_table_and_nwb(tmp_path):
    rec = Recording(np.random.default_rng(0).normal(size=(12, 2)), bin_size=0.5)
    trials = pd.DataFrame({"start_time": [0.0, 3.0], "stop_time": [2.0, 5.0],
                           "direction": [90, 180]})
    lab = trial_conditions(rec, trials, "direction")
    assert lab["condition"].tolist()[:6] == [90, 90, 90, 90, "between trials", "between trials"]
    assert lab["bin_in_trial"].tolist()[:4] == [0, 1, 2, 3]
    assert lab["bin_in_trial"].tolist()[6:10] == [0, 1, 2, 3]
    with pytest.raises(DataValueError, match=r"no column 'speed'.*\['direction'\]"):
        trial_conditions(rec, trials, "speed")

    from datetime import datetime, timezone

    from pynwb import NWBHDF5IO, NWBFile

    nwb = NWBFile(session_description="t", identifier="t",
                  session_start_time=datetime.now(timezone.utc))
    nwb.add_trial_column(name="direction", description="reach direction")
    for (a, b, d) in ((0.0, 2.0, 90), (3.0, 5.0, 180)):
        nwb.add_trial(start_time=a, stop_time=b, direction=d)
    path = tmp_path / "t.nwb"
    with NWBHDF5IO(str(path), "w") as io:
        io.write(nwb)
    pd.testing.assert_frame_equal(trial_conditions(rec, path, "direction"), lab)


def test_read_conditions(tmp_path):
    np.save(tmp_path / "y.npy", np.array(["a", "b"]))
    assert read_conditions(tmp_path / "y.npy").tolist() == ["a", "b"]
    (tmp_path / "y.txt").write_text("a\nb\n\n")
    assert read_conditions(tmp_path / "y.txt").tolist() == ["a", "b"]
    pd.DataFrame({"d": [1, 2], "t": [0, 1]}).to_csv(tmp_path / "y.csv", index=False)
    assert read_conditions(tmp_path / "y.csv").shape == (2, 2)


# ---------------------------------------------------------------------------- pipelines
def test_default_pipeline_ends_in_a_spectrum(rng):
    x = rng.normal(size=(2000, 8)) + np.linspace(0, 3, 2000)[:, None]
    x[:, 5] = 0.0
    rec = Recording(x, bin_size=0.1)
    pipe = Pipeline(default_pipeline(detrend=20.0, zscore=True).steps
                    + [("spectrum", CovarianceSpectrum())])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pipe.fit(rec)
    assert pipe[-1].n_features_in_ == 7
    out = preprocess(rec, detrend=20.0, zscore=True)
    assert [s["step"] for s in out.meta["pipeline"]] == ["DropConstant", "HighPass", "ZScore"]
    assert out.n_neurons == 7
    y = np.repeat([0, 1], 1000)
    out = preprocess(rec, conditions=y)
    assert out.meta["pipeline"][-1]["n_conditions"] == 2
