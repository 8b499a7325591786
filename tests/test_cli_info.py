"""Tests of the `neurospec info` command and of the CLI's error handling."""

import json
import subprocess
import sys
import warnings
from datetime import datetime, timezone

import h5py
import numpy as np
import pytest

from neurospec.cli import main


def _real_counts(path):
    with h5py.File(path, "r") as f:
        index = f["units/spike_times_index"][:].astype(int)
        ids = f["units/id"][:]
    return ids, np.diff(np.concatenate([[0], index]))


def test_info_real_nwb(real_nwb_path, capsys):
    ids, counts = _real_counts(real_nwb_path)
    assert main(["info", str(real_nwb_path)]) == 0
    out = capsys.readouterr().out
    assert f"Units: 3 units, {counts.sum()} spikes" in out
    for uid, n in zip(ids, counts):  # one row per unit: id then its spike count
        assert any(line.split()[:2] == [str(uid), str(n)] for line in out.splitlines()), (uid, n)
    assert "TimeSeries: none" in out
    assert "bin_size=<seconds>" in out


def test_info_real_nwb_as_subprocess(real_nwb_path):
    ids, counts = _real_counts(real_nwb_path)
    proc = subprocess.run([sys.executable, "-m", "neurospec.cli", "info", "--json", str(real_nwb_path)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    desc = json.loads(proc.stdout)
    assert desc["units"]["n_units"] == 3
    assert [r["n_spikes"] for r in desc["units"]["table"]] == counts.tolist()
    assert [r["id"] for r in desc["units"]["table"]] == ids.tolist()


def test_info_series_file(tmp_path, capsys):
    from pynwb import NWBHDF5IO, NWBFile, TimeSeries

    nwb = NWBFile(session_description="s", identifier="i",
                  session_start_time=datetime(2024, 1, 1, tzinfo=timezone.utc))
    nwb.add_acquisition(TimeSeries(name="rates", data=np.zeros((500, 3)), unit="Hz", rate=50.0,
                                   starting_time=1.0))
    path = tmp_path / "s.nwb"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with NWBHDF5IO(str(path), "w") as io:
            io.write(nwb)
    assert main(["info", str(path)]) == 0
    out = capsys.readouterr().out
    assert "Units: none" in out
    line = next(ln for ln in out.splitlines() if "acquisition/rates" in ln)
    assert "shape (500, 3)" in line and "50 Hz" in line and "duration 10 s" in line and "unit Hz" in line
    assert "source='auto' reads 'acquisition/rates'" in out


def test_info_array_file(tmp_path, capsys):
    path = tmp_path / "a.npz"
    np.savez(path, rates=np.zeros((20, 4)), t=np.arange(20.0))
    assert main(["info", str(path)]) == 0
    out = capsys.readouterr().out
    assert "npz file" in out and "rates" in out and "shape (20, 4)" in out and "shape (20,)" in out
    assert "key='<name>'" in out


@pytest.mark.parametrize("make, match", [
    (lambda p: p / "missing.nwb", "no such file"),
    (lambda p: (p / "x.txt").write_text("1 2 3") and p / "x.txt", "unknown file type '.txt'"),
    (lambda p: (p / "bad.nwb").write_bytes(b"junk" * 100) and p / "bad.nwb",
     "not a readable NWB/HDF5 file"),
])
def test_info_errors_exit_2_with_one_line(tmp_path, capsys, make, match):
    path = make(tmp_path)
    assert main(["info", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("neurospec: error: ") and match in err
    assert err.count("\n") == 1  # one line


def test_bad_usage_exits_2(capsys):
    assert main([]) == 2  # no subcommand: help on stderr
    assert "info" in capsys.readouterr().err
    assert main(["info"]) == 2  # missing PATH (argparse)
    assert main(["info", "x.nwb", "--bogus"]) == 2
    assert main(["--help"]) == 0


def test_console_script_missing_file(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "neurospec.cli", "info", str(tmp_path / "no.npy")],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.startswith("neurospec: error: ") and "no such file" in proc.stderr
