"""Tests of neurospec.io.suite2p: suite2p output folders, the restricted unpickler, orientation.

Folders are written in tmp_path as suite2p writes them (ROIs x frames float32); the real
recording in ../shared/data/real/suite2p/plane0 is read when present (skipped otherwise).
"""

import os
import pickle
import warnings
from pathlib import Path

import numpy as np
import pytest

import neurospec
from neurospec.errors import (
    BinSizeError,
    LoaderError,
    NeurospecError,
    NoDataError,
    ShapeError,
    UnsafeFileError,
)
from neurospec.io.arrays import OrientationWarning
from neurospec.io.suite2p import (
    Suite2pWarning,
    describe_suite2p,
    is_suite2p_folder,
    load_suite2p,
    plane_folders,
    read_npy,
    read_settings,
)

from conftest import REAL_DATA_DIR

REAL_PLANE = REAL_DATA_DIR / "suite2p" / "plane0"


def write_plane(folder, *, n_rois=8, n_frames=400, seed=0, iscell=True, ops=None,
                settings=None, fneu=True, spks=True, constant=(), F=None):
    """A fake suite2p plane folder; returns (F, Fneu, iscell) as written (ROIs x frames)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    if F is None:
        F = rng.normal(100, 5, (n_rois, n_frames)).astype(np.float32)
    Fn = rng.normal(40, 3, F.shape).astype(np.float32)
    for i in constant:
        F[i] = 0.0
    np.save(folder / "F.npy", F)
    if fneu:
        np.save(folder / "Fneu.npy", Fn)
    if spks:
        np.save(folder / "spks.npy", np.abs(rng.normal(0, 1, F.shape)).astype(np.float32))
    labels = None
    if iscell is True:
        labels = np.column_stack([(np.arange(F.shape[0]) % 4 != 3).astype(float),
                                  np.linspace(0.05, 0.95, F.shape[0])])
    elif iscell is not None and iscell is not False:
        labels = np.asarray(iscell, dtype=float)
    if labels is not None:
        np.save(folder / "iscell.npy", labels)
    if ops is not None:
        np.save(folder / "ops.npy", ops)
    if settings is not None:
        np.save(folder / "settings.npy", settings)
    return F, Fn, labels


def quiet_load(path, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Suite2pWarning)
        return neurospec.load(path, **kw)


# ---------------------------------------------------------------------------- the basics
def test_cells_only_neuropil_corrected_time_by_neurons(tmp_path):
    plane = tmp_path / "suite2p" / "plane0"
    F, Fn, ic = write_plane(plane, ops={"fs": 20.0, "neucoeff": 0.6})
    rec = neurospec.load(plane)
    cells = np.flatnonzero(ic[:, 0] == 1)
    assert rec.shape == (400, cells.size)                      # time x neurons
    assert rec.bin_size == pytest.approx(1 / 20)
    np.testing.assert_array_equal(rec.unit_ids, cells)
    np.testing.assert_allclose(rec.activity, (F[cells].astype(float) - 0.6 * Fn[cells]).T)
    s2p = rec.meta["suite2p"]
    assert s2p["planes"][0]["neuropil_coefficient"] == 0.6
    assert "ops.npy" in s2p["planes"][0]["neuropil_source"]
    assert s2p["frame_rate_hz"] == 20.0 and s2p["n_selected"] == cells.size
    assert rec.meta["series"] == "F - 0.6*Fneu" and rec.meta["format"] == "suite2p"
    assert any("labelled cells" in s for s in rec.meta["preprocessing"])
    # the folder above suite2p/ and suite2p/ itself give the same recording
    for p in (tmp_path, tmp_path / "suite2p"):
        np.testing.assert_array_equal(neurospec.load(p).activity, rec.activity)


def test_suite2p_1_settings_and_spks(tmp_path):
    plane = tmp_path / "plane0"
    settings = {"fs": 15.0, "extraction": {"neuropil_coefficient": 0.5}, "tau": 1.0}
    F, Fn, ic = write_plane(plane, settings=settings)
    rec = neurospec.load(plane)
    cells = ic[:, 0] == 1
    np.testing.assert_allclose(rec.activity, (F[cells].astype(float) - 0.5 * Fn[cells]).T)
    assert rec.bin_size == pytest.approx(1 / 15)
    spk = neurospec.load(plane, signal="spks")
    np.testing.assert_allclose(spk.activity, np.load(plane / "spks.npy")[cells].T)
    assert spk.meta["series"] == "spks" and spk.meta["kind"] == "rates"
    assert read_settings(plane)[1] == ["settings.npy"]


def test_threshold_all_rois_and_explicit_neuropil(tmp_path):
    plane = tmp_path / "plane0"
    F, Fn, ic = write_plane(plane, ops={"fs": 10.0, "neucoeff": 0.7})
    rec = neurospec.load(plane, iscell_threshold=0.5, neuropil=0.0)
    keep = ic[:, 1] >= 0.5
    np.testing.assert_allclose(rec.activity, F[keep].T.astype(float))
    assert rec.meta["series"] == "F"
    assert neurospec.load(plane, cells=False).n_neurons == F.shape[0]


def test_missing_files_warn_and_say_which_default(tmp_path):
    plane = tmp_path / "plane0"
    F, Fn, _ = write_plane(plane, iscell=None)  # no iscell, no ops
    with pytest.raises(BinSizeError, match=r"frame rate is unknown.*bin_size.*--bin-size"):
        neurospec.load(plane)
    with pytest.warns(Suite2pWarning) as record:
        rec = neurospec.load(plane, bin_size=0.05)
    text = " ".join(str(w.message) for w in record)
    assert "no iscell.npy" in text and "all 8 ROIs" in text
    assert "0.7" in text and "neuropil" in text
    np.testing.assert_allclose(rec.activity, (F.astype(float) - 0.7 * Fn).T)
    assert rec.meta["suite2p"]["planes"][0]["neuropil_source"].startswith("suite2p's default")
    # a threshold without iscell.npy is an error, not a silent "all ROIs"
    with pytest.raises(LoaderError, match="no iscell.npy"):
        quiet_load(plane, bin_size=0.05, iscell_threshold=0.5)


def test_bad_input_messages(tmp_path):
    plane = tmp_path / "plane0"
    write_plane(plane, ops={"fs": 10.0, "neucoeff": 0.7})
    np.save(plane / "Fneu.npy", np.zeros((8, 399), np.float32))
    with pytest.raises(ShapeError, match=r"F.npy has shape \(8, 400\) but Fneu.npy has \(8, 399\)"):
        neurospec.load(plane)
    np.save(plane / "Fneu.npy", np.zeros((8, 400), np.float32))
    np.save(plane / "iscell.npy", np.zeros((8, 2)))
    with pytest.raises(NoDataError, match=r"cell selection is empty.*--cells all"):
        neurospec.load(plane)
    np.save(plane / "iscell.npy", np.zeros((5, 2)))
    with pytest.raises(ShapeError, match="iscell.npy must hold one row"):
        neurospec.load(plane)
    os.remove(plane / "Fneu.npy")
    with pytest.raises(NoDataError, match=r"no Fneu.npy.*--neuropil 0"):
        neurospec.load(plane, cells=False)
    assert neurospec.load(plane, cells=False, neuropil=0).n_neurons == 8
    with pytest.raises(BinSizeError, match="not a whole number of frames"):
        neurospec.load(plane, cells=False, neuropil=0, bin_size=0.15)
    with pytest.raises(LoaderError, match="orientation does not apply to a suite2p folder"):
        neurospec.load(plane, orientation="neurons_by_time")
    with pytest.raises(NeurospecError, match="signal must be 'F'"):
        neurospec.load(plane, signal="dff")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(LoaderError, match="not a suite2p output"):
        neurospec.load(empty)
    assert not is_suite2p_folder(empty) and plane_folders(empty) == []


def test_constant_rois_dropped_and_counted(tmp_path):
    plane = tmp_path / "plane0"
    F, Fn, ic = write_plane(plane, ops={"fs": 10.0, "neucoeff": 0.7}, constant=(0, 1, 3))  # 3 is not a cell
    rec = neurospec.load(plane)
    s2p = rec.meta["suite2p"]
    # F all-equal: F - c*Fneu would be neuropil only, so these ROIs go too
    assert s2p["n_constant_dropped"] == 2 and s2p["constant_dropped"] == [0, 1]
    assert s2p["n_constant_rois_in_file"] == 3
    assert 0 not in rec.unit_ids and 1 not in rec.unit_ids
    assert rec.meta["dropped_units"] == [0, 1]
    assert any("dropped 2 constant ROIs" in s for s in rec.meta["preprocessing"])
    kept = neurospec.load(plane, drop_constant=False)
    assert kept.n_neurons == rec.n_neurons + 2


def test_bin_size_whole_frames_averages(tmp_path):
    plane = tmp_path / "plane0"
    F, Fn, ic = write_plane(plane, ops={"fs": 10.0, "neucoeff": 0.7}, n_frames=401)
    rec = neurospec.load(plane, bin_size=0.2)
    full = neurospec.load(plane)
    assert rec.n_samples == 200 and rec.bin_size == pytest.approx(0.2)
    np.testing.assert_allclose(rec.activity, full.activity[:400].reshape(200, 2, -1).mean(axis=1))
    part = neurospec.load(plane, time_range=(10.0, 20.0))
    assert part.n_samples == 100 and part.t_start == pytest.approx(10.0)


def test_several_planes_combined(tmp_path):
    root = tmp_path / "suite2p"
    F0, Fn0, ic0 = write_plane(root / "plane0", ops={"fs": 5.0, "neucoeff": 0.7}, n_frames=300, seed=1)
    F1, Fn1, ic1 = write_plane(root / "plane1", ops={"fs": 5.0, "neucoeff": 0.7}, n_frames=301, seed=2)
    write_plane(root / "combined", ops={"fs": 5.0, "neucoeff": 0.7}, n_frames=300, seed=3)  # suite2p's own merge
    with pytest.warns(Suite2pWarning, match=r"cut to the common 300 frames"):
        rec = neurospec.load(root)
    c0, c1 = np.flatnonzero(ic0[:, 0] == 1), np.flatnonzero(ic1[:, 0] == 1)
    assert rec.shape == (300, c0.size + c1.size)
    assert rec.unit_ids[0] == f"plane0:{c0[0]}" and rec.unit_ids[-1] == f"plane1:{c1[-1]}"
    np.testing.assert_allclose(rec.activity[:, c0.size:],
                               (F1[c1, :300].astype(float) - 0.7 * Fn1[c1, :300]).T)
    assert neurospec.load(root, planes=[1]).n_neurons == c1.size
    with pytest.raises(LoaderError, match=r"no plane \[4\]"):
        neurospec.load(root, planes=[4])
    np.save(root / "plane1" / "ops.npy", {"fs": 7.5})
    with pytest.raises(NeurospecError, match="different frame rates"):
        neurospec.load(root)
    desc = describe_suite2p(root)
    assert [p["n_rois"] for p in desc["planes"]] == [8, 8]
    text = neurospec.io.format_description(neurospec.describe(root))
    assert "suite2p output, 2 plane(s)" in text


# ---------------------------------------------------------------------------- security
class _Exploit:
    """Pickles to os.system(<touch marker>): what a crafted ops.npy could carry."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def _save_object(path, obj):
    arr = np.empty((), dtype=object)
    arr[()] = obj
    np.save(path, arr, allow_pickle=True)


@pytest.mark.parametrize("fname", ["ops.npy", "settings.npy", "db.npy"])
def test_malicious_pickle_is_refused_and_never_runs(tmp_path, fname):
    plane = tmp_path / "plane0"
    write_plane(plane)
    marker = tmp_path / "pwned"
    _save_object(plane / fname, {"fs": 30.0, "payload": _Exploit(marker)})
    with pytest.raises(UnsafeFileError, match=rf"{fname}: refused to unpickle the global "
                                              r"(posix|os|nt)\.system"):
        neurospec.load(plane)
    assert not marker.exists()
    with pytest.raises(UnsafeFileError):
        read_npy(plane / fname)
    assert not marker.exists()
    # describe reports the refusal instead of running it
    desc = describe_suite2p(plane)
    assert any("refused" in n for n in desc["notes"]) and not marker.exists()


def test_other_dangerous_globals_refused(tmp_path):
    p = tmp_path / "ops.npy"

    class EvalIt:
        def __reduce__(self):
            return (eval, ("__import__('os').getcwd()",))

    _save_object(p, {"x": EvalIt()})
    with pytest.raises(UnsafeFileError, match=r"builtins\.eval"):
        read_npy(p)
    # a raw pickle (protocol 0, GLOBAL opcode) after a valid .npy header of an object array
    raw = tmp_path / "raw.npy"
    _save_object(raw, {"a": 1})
    header_len = len(raw.read_bytes()) - len(pickle.dumps(np.empty((), object), protocol=3))
    body = pickle.dumps(_Exploit(tmp_path / "x2"), protocol=0)
    raw.write_bytes(raw.read_bytes()[:header_len] + body)
    with pytest.raises((UnsafeFileError, LoaderError)):
        read_npy(raw)
    assert not (tmp_path / "x2").exists()


def test_benign_pickles_and_numeric_files(tmp_path):
    ops = {"fs": np.float64(30.0), "neucoeff": 0.7, "refImg": np.arange(6.0).reshape(2, 3),
           "names": ["a", "b"], "nested": {"t": (1, 2), "s": {3}}, "flag": np.bool_(True),
           "i": np.int32(3), "bytes": b"xy", "path": "/data/x"}
    p = tmp_path / "ops.npy"
    np.save(p, ops)
    got = read_npy(p).item()
    assert got["fs"] == 30.0 and got["nested"] == {"t": (1, 2), "s": {3}}
    np.testing.assert_array_equal(got["refImg"], ops["refImg"])
    # stat.npy-like: an object array of dicts holding arrays
    stat = np.array([{"med": np.array([3, 4]), "npix": 12}, {"med": np.array([5, 6]), "npix": 9}])
    np.save(tmp_path / "stat.npy", stat)
    got = read_npy(tmp_path / "stat.npy")
    assert got.shape == (2,) and got[1]["npix"] == 9
    x = np.arange(12, dtype=np.float32).reshape(3, 4)
    np.save(tmp_path / "x.npy", x)
    np.testing.assert_array_equal(read_npy(tmp_path / "x.npy"), x)
    (tmp_path / "bad.npy").write_bytes(b"not numpy")
    with pytest.raises(LoaderError, match="not a readable .npy"):
        read_npy(tmp_path / "bad.npy")


# ---------------------------------------------------------------------------- orientation
def test_short_first_axis_array_warns_with_the_fix(tmp_path):
    p = tmp_path / "F.npy"
    np.save(p, np.random.default_rng(0).normal(size=(60, 600)))  # ROIs x frames, as suite2p
    with pytest.warns(OrientationWarning, match=r"shape \(60, 600\).*--orientation "
                                                r"neurons-by-time"):
        rec = neurospec.load(p, bin_size=0.1)
    assert rec.shape == (60, 600)
    with warnings.catch_warnings():
        warnings.simplefilter("error", OrientationWarning)
        assert neurospec.load(p, bin_size=0.1, orientation="neurons-by-time").shape == (600, 60)
        assert neurospec.load(p, bin_size=0.1, orientation="time_by_neurons").shape == (60, 600)
        np.save(p, np.zeros((600, 60)) + np.arange(60))
        neurospec.load(p, bin_size=0.1)  # the usual layout: no warning


# ---------------------------------------------------------------------------- real data
@pytest.fixture
def real_plane():
    if not (REAL_PLANE / "F.npy").is_file():
        pytest.skip(f"real suite2p folder not available at {REAL_PLANE}")
    return REAL_PLANE


def test_real_suite2p_folder(real_plane):
    with pytest.raises(BinSizeError, match="frame rate is unknown"):
        neurospec.load(real_plane)
    with pytest.warns(Suite2pWarning, match="default neuropil coefficient 0.7"):
        rec = neurospec.load(real_plane, bin_size=1 / 30)
    assert rec.shape == (2000, 20)
    assert rec.meta["suite2p"]["n_constant_rois_in_file"] == 47
    allr = quiet_load(real_plane, bin_size=1 / 30, cells=False)
    assert allr.n_neurons == 219 - 47
    assert allr.meta["suite2p"]["n_constant_dropped"] == 47
    assert np.all(allr.activity.std(axis=0) > 0)
    assert plane_folders(real_plane.parent) == [real_plane]
    with pytest.warns(OrientationWarning, match=r"\(219, 2000\)"):
        neurospec.load(real_plane / "F.npy", bin_size=1 / 30)
    stat = read_npy(real_plane / "stat.npy")  # real per-ROI dicts through the safe reader
    assert stat.shape == (219,) and "med" in stat[0]


# ---------------------------------------------------------------------------- end to end
def _validation_module():
    import importlib.util

    path = Path(__file__).resolve().parents[1] / "benchmarks" / "validate_suite2p.py"
    spec = importlib.util.spec_from_file_location("validate_suite2p", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_simulated_calcium_recording_round_trip(tmp_path):
    """Network rates -> calcium (tau 1 s) + brightness, photobleaching, neuropil, shot noise ->
    a suite2p folder -> neurospec's default pipeline: the true g_eff is in the interval."""
    from neurospec.cli import run_fit

    plane = tmp_path / "suite2p" / "plane0"
    truth = _validation_module().simulate_calcium_folder(plane, n_neurons=40, g=0.5,
                                                         duration=1500.0, seed=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        report, _ = run_fit(plane.parent, window=10.0, n_boot=60, seed=0, checks=False)
    lo, hi = report["g_eff_ci"]
    assert lo <= truth <= hi, (truth, report["g_eff"], (lo, hi))
    assert hi - lo < 0.15
    assert report["n_neurons"] == 40  # the three constant non-cells never enter
    assert report["covariance_kind"] == "correlation"
    assert [s["step"] for s in report["pipeline"]] == ["DropConstant", "HighPass"]
    assert report["pipeline"][1]["cutoff_s"] == 100.0  # 10 x the window
