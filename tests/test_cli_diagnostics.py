"""The reviewer's checks on the command line: `neurospec fit --control shift --ladder
--protocol ...` and `neurospec compare A B` (run in-process through ``neurospec.cli.main``)."""

import json

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pandas as pd
import pytest

from neurospec.cli import format_fit_report, main

from _rmt import linear_samples


@pytest.fixture(scope="module")
def arrays(tmp_path_factory):
    d = tmp_path_factory.mktemp("arrays")
    a, b = d / "a.npy", d / "b.npy"
    np.save(a, linear_samples(60, 1200, 0.4, seed=1))
    np.save(b, linear_samples(60, 1200, 0.7, seed=2))
    return a, b


def test_fit_with_control_ladder_and_checks(arrays, tmp_path, capsys):
    out = tmp_path / "out"
    rc = main(["fit", str(arrays[0]), "--bin-size", "0.1", "--n-boot", "30", "--control",
               "shift", "--ladder", "--out", str(out)])
    printed = capsys.readouterr().out
    assert rc == 0, printed
    report = json.loads((out / "report.json").read_text())
    checks = report["checks"]
    assert checks["errors"] == []
    assert checks["control"]["g_eff"] < report["g_eff"] - 0.2
    assert checks["control"]["differs"] is True
    assert checks["moment"]["agree"] is True
    assert checks["moment"]["g"] == pytest.approx(report["g_eff"], abs=0.05)
    sh = checks["split_half"]  # one draw: either verdict is possible, but it must be consistent
    assert sh["agree"] is (sh["difference_ci"][0] <= 0 <= sh["difference_ci"][1])
    assert checks["split_half"]["n_samples"] == [600, 600]
    for label in ("shift control", "moment estimate", "split halves"):
        assert label in printed
    for name in ("spectrum.png", "ladder.png", "split_half.png"):
        assert (out / name).is_file() and (out / name).stat().st_size > 10_000
    assert report["outputs"]["ladder_figure"].endswith("ladder.png")
    assert "ladder.png" in printed
    assert format_fit_report(report).count("split halves") == 1


def test_fit_protocol_hu_sompolinsky(arrays, tmp_path, capsys):
    out = tmp_path / "hs"
    rc = main(["fit", str(arrays[1]), "--bin-size", "0.1", "--n-boot", "20", "--protocol",
               "hu-sompolinsky", "--no-checks", "--no-figure", "--out", str(out), "--json"])
    assert rc == 0
    report = json.loads(capsys.readouterr().out)
    assert report["protocol"] == "hu-sompolinsky"
    assert report["covariance_kind"] == "correlation"
    assert report["n_dropped"] == 1
    assert report["alpha"] == pytest.approx(60 / 1200)  # N/T: samples taken as independent
    assert report["checks"] is None
    assert any("--protocol hu-sompolinsky" in n for n in report["notes"])
    assert not (out / "split_half.png").exists()


def test_compare_two_recordings(arrays, tmp_path, capsys):
    out = tmp_path / "cmp"
    rc = main(["compare", str(arrays[0]), str(arrays[1]), "--bin-size", "0.1", "--n-boot", "40",
               "--labels", "low", "high", "--out", str(out)])
    printed = capsys.readouterr().out
    assert rc == 0, printed
    assert "the two conditions differ" in printed
    table = pd.read_csv(out / "compare.csv", index_col="condition")
    assert list(table.index) == ["low", "high", "low - high"]
    result = json.loads((out / "compare.json").read_text())
    ga, gb = (f["g_eff"] for f in result["fits"])
    assert table.loc["low - high", "g_eff"] == pytest.approx(ga - gb)
    assert result["comparison"]["differ"] is True and ga < gb
    lo, hi = result["comparison"]["difference_ci"]
    assert lo < ga - gb < hi < 0
    assert (out / "compare.png").stat().st_size > 10_000


def test_compare_same_recording_twice_does_not_differ(arrays, tmp_path, capsys):
    rc = main(["compare", str(arrays[0]), str(arrays[0]), "--bin-size", "0.1", "--n-boot", "40",
               "--bootstrap", "samples", "--no-figure", "--out", str(tmp_path / "c"), "--json"])
    assert rc == 0
    result = json.loads(capsys.readouterr().out)
    c = result["comparison"]
    assert c["difference"] == 0.0 and c["differ"] is False and c["p_value"] == 1.0
    assert c["bootstrap"] == ["samples", "samples"]
    assert c["labels"][0] != c["labels"][1]  # same file name: the paths tell them apart


def test_report_prints_as_many_decimals_as_the_standard_error_needs(arrays, tmp_path, capsys):
    """A large recording pins g_eff to ~1e-4: three decimals would print [0.500, 0.500]."""
    from neurospec.cli import _g_eff_text
    from neurospec._format import stderr_decimals

    assert [stderr_decimals(se) for se in (0.05, 0.0011, 0.00021, 3e-5)] == [3, 3, 4, 5]
    assert stderr_decimals(None, float("nan"), -1.0) == 3 and stderr_decimals(1e-12) == 6
    r = dict(g_eff=0.50048, g_eff_ci=[0.50012, 0.50071], g_eff_stderr=0.00021, ci_level=0.9,
             covariance_kind="covariance", model="iid", n_boot=200)
    assert _g_eff_text(r).startswith("0.5005  [0.5001, 0.5007] 90% CI  (s.e. 0.0002;")
    r.update(g_eff_stderr=0.021, g_eff_ci=[0.46, 0.53])
    assert _g_eff_text(r).startswith("0.500  [0.460, 0.530] 90% CI  (s.e. 0.021;")
