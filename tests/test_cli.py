"""End-to-end tests of the command line: ``python -m neurospec ...`` run as a subprocess.

The bundled samples (data_samples/, made by make_samples.py with known effective gain) are fitted
and the printed interval must contain the sample's measured g_eff; bad inputs must exit with
code 2 and a one-line ``neurospec: error: ...`` message.
"""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from _rmt import linear_samples

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "data_samples"
MANIFEST = json.loads((SAMPLES / "samples.json").read_text())
N_BOOT = "60"  # enough for a 90 % interval's ends to settle to ~0.005; keeps each fit ~ a second


def run_cli(*args, cwd=None, timeout=300):
    env = dict(os.environ, MPLBACKEND="Agg")
    return subprocess.run([sys.executable, "-m", "neurospec", *map(str, args)], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=timeout)


def printed_interval(stdout):
    m = re.search(r"g_eff\s+([0-9.]+)\s+\[([0-9.]+), ([0-9.]+)\]", stdout)
    assert m, stdout
    return tuple(float(v) for v in m.groups())


def assert_error(proc, *fragments):
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    err = proc.stderr.strip()
    assert err.startswith("neurospec: error:") or "error:" in err.splitlines()[-1], err
    for f in fragments:
        assert f in err, err
    assert "Traceback" not in err


# ---------------------------------------------------------------------------- bundled samples
@pytest.mark.parametrize("sample", sorted(MANIFEST))
def test_fit_bundled_sample_contains_known_g_eff(sample, tmp_path):
    entry = MANIFEST[sample]
    known = entry["ground_truth"]["measured_g_eff"]
    args = ["fit", SAMPLES / sample, "--window", entry["window"], "--n-boot", N_BOOT,
            "--out", tmp_path / "out"]
    if sample.endswith(".npy"):
        args += ["--bin-size", entry["bin_size"]]
    proc = run_cli(*args)
    assert proc.returncode == 0, proc.stderr
    g, lo, hi = printed_interval(proc.stdout)
    assert lo <= known <= hi, (sample, known, (lo, g, hi), proc.stdout)
    assert hi - lo < 0.15  # an interval that says something
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert report["g_eff"] == pytest.approx(g, abs=5e-4)
    assert report["g_eff_ci"] == pytest.approx([lo, hi], abs=5e-4)
    assert report["n_neurons"] == entry["ground_truth"]["n_neurons"]
    assert report["window_s"] == pytest.approx(entry["window"])
    png = (tmp_path / "out" / "spectrum.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 20_000
    if sample.endswith(".nwb"):  # the NWB samples carry their truth: printed beside the estimate
        assert "ground truth" in proc.stdout and f"{known:.4f}" in proc.stdout
        assert report["known_g_eff"] == pytest.approx(known)
        assert report["known_g_eff_in_ci"] is True


def test_demo_prints_estimate_and_truth(tmp_path):
    proc = run_cli("demo", "--out", tmp_path / "demo", "--n-boot", N_BOOT)
    assert proc.returncode == 0, proc.stderr
    known = MANIFEST["tanh_spikes.nwb"]["ground_truth"]["measured_g_eff"]
    _, lo, hi = printed_interval(proc.stdout)
    assert lo <= known <= hi
    assert "inside the interval" in proc.stdout
    assert (tmp_path / "demo" / "report.json").is_file()
    assert (tmp_path / "demo" / "spectrum.png").is_file()


def run_main(capsys, *args):
    """The command line in-process (same code path as the console script, no interpreter start)."""
    from neurospec.cli import main

    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def test_fit_json_output_matches_report(tmp_path, capsys):
    code, out, err = run_main(capsys, "fit", SAMPLES / "tanh_calcium.nwb", "--n-boot", "20",
                              "--json", "--no-figure", "--ladder", "--out", tmp_path)
    assert code == 0, err
    printed = json.loads(out)
    assert printed == json.loads((tmp_path / "report.json").read_text())
    assert not (tmp_path / "spectrum.png").exists()
    # the recommended window stored in the file was used and said so
    assert printed["window_s"] == pytest.approx(MANIFEST["tanh_calcium.nwb"]["window"])
    assert any("recommended" in n for n in printed["notes"])
    ladder = printed["window_ladder"]
    assert [r["window"] for r in ladder["rows"]][:3] == [1, 2, 4]  # powers of two, in bins
    assert isinstance(ladder["converged"], bool) and ladder["message"]
    assert any("n_boot=20" in w for w in printed["warnings"])  # warnings are kept in the report
    for key in ("n_samples_eff", "alpha", "participation_ratio", "participation_ratio_corrected",
                "g_eff_stderr", "cost", "null_cost", "n_dropped", "ground_truth"):
        assert key in printed


# ---------------------------------------------------------------------------- simulate
def test_simulate_writes_ground_truth(tmp_path):
    from neurospec import load
    from neurospec.theory import effective_gain

    out = tmp_path / "sim.nwb"
    proc = run_cli("simulate", "--neurons", 60, "--g", 0.8, "--sigma", 1.0, "--duration", 200,
                   "--bin-size", 0.5, "--seed", 3, "--quiet", "--out", out)
    assert proc.returncode == 0, proc.stderr
    rec = load(out)
    truth = rec.meta["ground_truth"]
    assert rec.shape == (400, 60) and rec.bin_size == 0.5
    assert truth["g"] == 0.8 and truth["sigma"] == 1.0 and truth["phi"] == "tanh"
    assert truth["g_eff_meanfield"] == pytest.approx(effective_gain(0.8, "tanh", 1.0).g_eff)
    # measured g<phi'(h)> of a 60-neuron, 200-tau run: within a few percent of mean field
    assert truth["measured_g_eff"] == pytest.approx(truth["g_eff_meanfield"], abs=0.03)
    assert f"{truth['measured_g_eff']:.4f}" in proc.stdout


def test_simulate_is_reproducible_and_refuses_to_overwrite(tmp_path, capsys):
    from neurospec import load

    args = ["simulate", "--neurons", 30, "--g", 0.8, "--duration", 50, "--seed", 3, "--quiet"]
    assert run_main(capsys, *args, "--out", tmp_path / "a.nwb")[0] == 0
    assert run_main(capsys, *args, "--out", tmp_path / "b.nwb")[0] == 0
    np.testing.assert_array_equal(load(tmp_path / "a.nwb").activity,
                                  load(tmp_path / "b.nwb").activity)
    code, _, err = run_main(capsys, *args, "--out", tmp_path / "a.nwb")
    assert code == 2 and "exists" in err and "--overwrite" in err
    code, _, err = run_main(capsys, *args, "--out", tmp_path / "a.h5")
    assert code == 2 and "ending in .nwb" in err


def test_simulate_spikes_then_fit(tmp_path, capsys):
    out = tmp_path / "spikes.nwb"
    code, stdout, err = run_main(capsys, "simulate", "--neurons", 40, "--g", 0.5, "--duration",
                                 300, "--spikes", "--seed", 1, "--quiet", "--out", out)
    assert code == 0, err
    assert "spikes (Units table)" in stdout
    code, stdout, err = run_main(capsys, "fit", out, "--window", 10, "--n-boot", 10,
                                 "--no-figure", "--out", tmp_path)
    assert code == 0, err
    assert "ground truth" in stdout and "g = 0.5" in stdout


# ---------------------------------------------------------------------------- errors
def test_bad_path(tmp_path):
    proc = run_cli("fit", tmp_path / "missing.nwb", "--out", tmp_path)
    assert_error(proc, "missing.nwb", "no such file")
    assert len(proc.stderr.strip().splitlines()) == 1


def test_file_without_usable_data(tmp_path):
    from datetime import datetime, timezone

    from pynwb import NWBHDF5IO, NWBFile

    path = tmp_path / "empty.nwb"
    nwb = NWBFile(session_description="nothing recorded", identifier="empty",
                  session_start_time=datetime(2026, 1, 1, tzinfo=timezone.utc))
    with NWBHDF5IO(str(path), "w") as io:
        io.write(nwb)
    proc = run_cli("fit", path, "--out", tmp_path)
    assert_error(proc, "empty.nwb", "no Units table and no usable TimeSeries")
    assert len(proc.stderr.strip().splitlines()) == 1


def test_bad_option():
    proc = run_cli("fit", SAMPLES / "tanh_rates.npy", "--bogus")
    assert proc.returncode == 2 and "unrecognized arguments: --bogus" in proc.stderr
    assert "usage: neurospec" in proc.stderr


def test_more_bad_input_in_process(tmp_path, capsys):
    sample = SAMPLES / "tanh_rates.npy"
    flat = tmp_path / "flat.npy"
    np.save(flat, np.arange(100.0))
    bin_size = MANIFEST["tanh_rates.npy"]["bin_size"]
    cases = [
        (["fit", sample, "--kind", "spearman"], "invalid choice: 'spearman'"),
        (["fit", sample, "--n-boot", "many"], "invalid int value"),
        (["fit", flat, "--bin-size", 0.1], "1-D"),
        # values the library rejects: the same exit code, a one-line message naming the fix
        (["fit", sample, "--bin-size", bin_size, "--window", 1.5 * bin_size], "not a whole number"),
        (["fit", sample], "bin_size"),
        (["fit", SAMPLES / "tanh_spikes.nwb", "--source", "acquisition/nothing"], "nothing"),
        (["demo", "--sample", "nope.nwb"], "tanh_spikes.nwb"),
        ([], "usage"),
    ]
    for args, fragment in cases:
        code, _, err = run_main(capsys, *args, *(["--out", tmp_path] if args else []))
        assert code == 2, (args, err)
        assert fragment in err, (args, err)
        if "invalid" not in fragment and args:
            assert err.startswith("neurospec: error:") and len(err.strip().splitlines()) == 1


# ---------------------------------------------------------------------------- in-process helpers
def test_window_conversion():
    from neurospec.cli import _window_samples
    from neurospec.errors import BinSizeError

    assert _window_samples(None, 0.1) is None
    assert _window_samples(1.0, 0.1) == 10
    assert _window_samples(0.3, 0.1) == 3  # 0.3 / 0.1 = 2.9999999999999996
    with pytest.raises(BinSizeError, match="whole number"):
        _window_samples(0.25, 0.1)
    with pytest.raises(BinSizeError, match="positive"):
        _window_samples(0.0, 0.1)


def test_samples_dir_env(tmp_path, monkeypatch):
    from neurospec.cli import samples_dir
    assert samples_dir() == SAMPLES
    (tmp_path / "samples.json").write_text("{}")
    monkeypatch.setenv("NEUROSPEC_SAMPLES", str(tmp_path))
    assert samples_dir() == tmp_path


# ---------------------------------------------------------------------------- suite2p, batch, flags
def _suite2p_folder(root, *, fs=10.0, n_rois=12, n_frames=3000, constant=(0,), seed=0):
    """A small fake suite2p plane folder (independent noise ROIs); returns the plane folder."""
    from neurospec.io.suite2p import write_suite2p

    rng = np.random.default_rng(seed)
    F = rng.normal(100, 5, (n_rois, n_frames))
    F[list(constant)] = 0.0
    iscell = np.column_stack([np.ones(n_rois), np.full(n_rois, 0.9)])
    iscell[-1, 0] = 0
    ops = {"neucoeff": 0.7, **({"fs": fs} if fs else {})}
    return write_suite2p(root / "suite2p" / "plane0", F, Fneu=rng.normal(40, 2, F.shape),
                         iscell=iscell, ops=ops)


def test_fit_without_interval_prints_a_point_estimate(tmp_path, capsys):
    x = np.random.default_rng(0).normal(size=(800, 10))
    np.save(tmp_path / "rec.npy", x)
    code, out, err = run_main(capsys, "fit", tmp_path / "rec.npy", "--bin-size", 0.1,
                              "--n-boot", 0, "--no-figure", "--out", tmp_path / "o")
    assert code == 0, err
    assert "Traceback" not in err
    assert re.search(r"g_eff\s+[0-9.]+\s+point estimate, no interval \(--n-boot 0", out), out
    report = json.loads((tmp_path / "o" / "report.json").read_text())
    assert report["g_eff_ci"] == [None, None] and report["known_g_eff_in_ci"] is None


def test_fit_suite2p_folder(tmp_path, capsys):
    plane = _suite2p_folder(tmp_path)
    code, out, err = run_main(capsys, "fit", plane.parent, "--n-boot", 10, "--no-figure",
                              "--out", tmp_path / "o")
    assert code == 0, err
    report = json.loads((tmp_path / "o" / "report.json").read_text())
    assert report["n_neurons"] == 10  # 11 labelled cells, 1 of them constant
    assert report["n_constant_dropped"] == 1 and report["suite2p"]["n_constant_dropped"] == 1
    assert report["covariance_kind"] == "correlation"  # --kind auto for fluorescence
    assert report["suite2p"]["frame_rate_hz"] == 10.0
    assert any("high-pass at 60 s" in n for n in report["notes"])  # 300 s >= 4 x 60 s
    assert [s["step"] for s in report["pipeline"]] == ["DropConstant", "HighPass"]
    assert any("dropped 1 constant ROIs" in s for s in report["preprocessing"])
    assert "preprocessing" in out and "F - 0.7*Fneu" in out
    # no frame rate in the folder: the error names --bin-size
    plane2 = _suite2p_folder(tmp_path / "b", fs=None)
    code, _, err = run_main(capsys, "fit", plane2, "--out", tmp_path / "o2")
    assert code == 2 and "--bin-size" in err and err.startswith("neurospec: error:")
    code, out, err = run_main(capsys, "fit", plane2, "--bin-size", 0.1, "--cells", "all",
                              "--signal", "F", "--neuropil", 0.5, "--detrend", "none",
                              "--kind", "covariance", "--n-boot", 0, "--no-figure",
                              "--out", tmp_path / "o3")
    assert code == 0, err
    report = json.loads((tmp_path / "o3" / "report.json").read_text())
    assert report["n_neurons"] == 11 and report["covariance_kind"] == "covariance"
    assert report["suite2p"]["planes"][0]["neuropil_coefficient"] == 0.5
    assert report["pipeline"][-1]["step"] == "DropConstant"


def test_fit_refuses_a_malicious_ops_file(tmp_path, capsys):
    plane = _suite2p_folder(tmp_path)
    marker = tmp_path / "pwned"

    class Exploit:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    arr = np.empty((), dtype=object)
    arr[()] = {"fs": 10.0, "x": Exploit()}
    np.save(plane / "ops.npy", arr, allow_pickle=True)
    code, _, err = run_main(capsys, "fit", plane, "--out", tmp_path / "o")
    assert code == 2 and "refused to unpickle" in err and "ops.npy" in err
    assert not marker.exists()


def test_orientation_flag_and_warning(tmp_path, capsys):
    x = np.random.default_rng(0).normal(size=(15, 400))  # neurons x time
    np.save(tmp_path / "nt.npy", x)
    code, out, err = run_main(capsys, "fit", tmp_path / "nt.npy", "--bin-size", 0.1, "--n-boot",
                              0, "--no-figure", "--out", tmp_path / "o")
    assert code == 0 and "--orientation neurons-by-time" in err and "(15, 400)" in err
    code, out, err = run_main(capsys, "fit", tmp_path / "nt.npy", "--bin-size", 0.1, "--n-boot",
                              0, "--no-figure", "--orientation", "neurons-by-time",
                              "--out", tmp_path / "o")
    assert code == 0 and "neurons-by-time" not in err
    assert re.search(r"neurons\s+15\b", out) and "400 bins" in out


def test_conditions_detrend_and_model_flags(tmp_path, capsys):
    rng = np.random.default_rng(1)
    y = np.repeat(np.arange(4), 250)
    x = rng.normal(size=(1000, 12)) + 20 * rng.normal(size=(4, 12))[y]
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", y)
    code, out, err = run_main(capsys, "fit", tmp_path / "x.npy", "--bin-size", 0.1,
                              "--conditions", tmp_path / "y.npy", "--detrend", 20, "--zscore",
                              "--drop-top", 0, "--n-boot", 0, "--no-figure", "--no-checks",
                              "--out", tmp_path / "o")
    assert code == 0, err
    report = json.loads((tmp_path / "o" / "report.json").read_text())
    steps = [s["step"] for s in report["pipeline"]]
    assert steps == ["DropConstant", "HighPass", "SubtractConditionMeans", "ZScore"]
    assert report["pipeline"][2]["n_conditions"] == 4 and report["n_dropped"] == 0
    assert any("removed 4 of 1000 degrees of freedom" in n for n in report["notes"])
    np.save(tmp_path / "y.npy", y[:-1])
    code, _, err = run_main(capsys, "fit", tmp_path / "x.npy", "--bin-size", 0.1,
                            "--conditions", tmp_path / "y.npy", "--out", tmp_path / "o")
    assert code == 2 and "999 condition labels for 1000 samples" in err
    code, _, err = run_main(capsys, "fit", tmp_path / "x.npy", "--bin-size", 0.1,
                            "--detrend", 500, "--out", tmp_path / "o")
    assert code == 2 and "longer than the recording" in err
    code, _, err = run_main(capsys, "fit", tmp_path / "x.npy", "--drop-top", "some")
    assert code == 2 and "'auto' or a number" in err


def test_batch_writes_one_table_and_figure(tmp_path, capsys):
    import pandas as pd

    rng = np.random.default_rng(2)
    np.save(tmp_path / "a.npy", rng.normal(size=(600, 12)))
    np.save(tmp_path / "b.npy", rng.normal(size=(600, 13)))
    plane = _suite2p_folder(tmp_path / "s2p")
    out = tmp_path / "results"
    code, stdout, err = run_main(capsys, "fit", tmp_path / "a.npy", tmp_path / "b.npy", plane,
                                 tmp_path / "missing.npy", "--bin-size", 0.1, "--n-boot", 10,
                                 "--no-progress", "--no-checks", "--out", out)
    assert code == 0, err
    table = pd.read_csv(out / "summary.csv")
    assert list(table["status"].str[:5]) == ["ok", "ok", "ok", "error"]
    assert table.loc[2, "n_neurons"] == 10 and table.loc[1, "n_neurons"] == 13
    for col in ("g_eff", "ci_low", "ci_high", "alpha", "participation_ratio_corrected",
                "p_value_null", "preprocessing"):
        assert table.loc[:2, col].notna().all(), col
    assert "no such file" in table.loc[3, "status"]
    assert (out / "summary.png").read_bytes()[:4] == b"\x89PNG"
    assert (out / "a" / "report.json").is_file() and (out / "suite2p_plane0" / "report.json").is_file()
    assert "4 recordings" in stdout and "summary.csv" in stdout
    assert "recordings:" not in err  # --no-progress


@pytest.fixture
def real_suite2p():
    from conftest import REAL_DATA_DIR

    plane = REAL_DATA_DIR / "suite2p" / "plane0"
    if not (plane / "F.npy").is_file():
        pytest.skip(f"real suite2p folder not available at {plane}")
    return plane


def test_fit_real_suite2p_folder(real_suite2p, tmp_path, capsys):
    code, out, err = run_main(capsys, "fit", real_suite2p, "--bin-size", 0.033, "--n-boot", 20,
                              "--no-figure", "--no-checks", "--out", tmp_path)
    assert code == 0, err
    assert re.search(r"neurons\s+20\b", out)
    assert "47 of the 219 ROIs in the file are constant" in out
    assert "default neuropil coefficient 0.7" in err
    assert "--detrend auto: no high-pass" in out  # 66 s is too short for a 60 s cutoff


# ---------------------------------------------------------------------------- streamed input
def _linear_npy(path, n=120, t=1200, g=0.5, seed=4):
    X = linear_samples(n, t, g, seed)
    np.save(path, X.astype(np.float32))
    return X


def test_fit_streamed_equals_in_memory(tmp_path, capsys):
    """--stream reads the file in chunks and fits the spectrum: the same estimate and interval
    as the in-memory path on white samples; no progress bar with --no-progress."""
    path = tmp_path / "lin.npy"
    _linear_npy(path)
    common = ["fit", path, "--bin-size", 1, "--n-boot", 40, "--no-figure", "--json",
              "--no-progress"]
    code, out, err = run_main(capsys, *common, "--out", tmp_path / "mem")
    assert code == 0, err
    mem = json.loads(out)
    code, out, err = run_main(capsys, *common, "--out", tmp_path / "str", "--stream")
    assert code == 0, err
    assert "it/s" not in err and "%|" not in err
    st = json.loads(out)
    assert st["g_eff"] == pytest.approx(mem["g_eff"], abs=1e-6)
    assert st["g_eff_ci"] == pytest.approx(mem["g_eff_ci"], abs=1e-6)
    assert st["n_neurons"] == 120 and st["n_samples"] == 1200
    assert any("streamed from disk" in n and "--stream" in n for n in st["notes"])
    assert st["checks"]["moment"] is not None
    # the split halves read the columns from disk: the same halves as from memory
    for key in ("difference", "p_value", "agree", "n_samples", "neurons_used"):
        assert st["checks"]["split_half"][key] == pytest.approx(mem["checks"]["split_half"][key])
    assert mem["checks"]["split_half"]["n_samples"] == [600, 600]


def test_fit_streams_when_loading_would_not_fit(tmp_path, capsys, monkeypatch):
    path = tmp_path / "lin.npy"
    _linear_npy(path)  # 1200 x 120 float64: 1.15 MB in memory; the covariance 0.12 MB
    monkeypatch.setenv("NEUROSPEC_MEMORY_LIMIT", "600000")
    code, out, err = run_main(capsys, "fit", path, "--bin-size", 1, "--n-boot", 20, "--json",
                              "--no-figure", "--out", tmp_path)
    assert code == 0, err
    rep = json.loads(out)
    assert any("does not fit in memory" in n for n in rep["notes"])
    assert abs(rep["g_eff"] - 0.5) < 0.05
    # nor do the split halves' 120 columns: said in the report, not a crash
    assert rep["checks"]["split_half"] is None
    assert any(e.startswith("split-half") and "memory" in e for e in rep["checks"]["errors"])


def test_fit_streamed_refuses_in_memory_steps(tmp_path, capsys):
    path = tmp_path / "lin.npy"
    _linear_npy(path, n=20, t=200)
    code, _, err = run_main(capsys, "fit", path, "--bin-size", 1, "--stream", "--zscore",
                            "--control", "shift", "--out", tmp_path)
    assert code == 2
    assert "--zscore, --control need the activity in memory" in err and "--stream" in err
