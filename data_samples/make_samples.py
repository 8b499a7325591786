"""Regenerate the bundled sample recordings (deterministic: same seed, same files).

    python data_samples/make_samples.py            # writes next to this script
    python data_samples/make_samples.py --out DIR

One tanh rate network (neurospec's simulator, ``RateNetwork``) is recorded three ways, each in a
separate run (its own noise, same couplings):

``tanh_spikes.nwb``
    Spike trains in an NWB ``Units`` table. Each neuron turns its network rate
    ``lambda_i(t) = baseline + rate_scale * (tanh(h_i) + 1)`` (Hz) into spikes as a perfect
    (non-leaky) integrate-and-fire encoder with a random initial phase: a spike each time
    ``int lambda_i dt`` crosses an integer. The spike count of a window is then the integrated
    rate to within one spike. (Poisson spikes at these rates would add a count variance equal to
    the mean count on the diagonal of the covariance: at ~1 spike per time constant that is as
    large as the rate covariance itself and would bias the spectrum toward Marchenko–Pastur.)
``tanh_calcium.nwb``
    Calcium-like fluorescence in ``processing/ophys/Fluorescence/RoiResponseSeries``: every
    neuron's rate ``tanh(h) + 1`` convolved with the same normalised exponential kernel
    ``exp(-t/tau_ca)/tau_ca``, averaged over each camera frame, plus white measurement noise.
    A kernel shared by all neurons multiplies the cross-spectrum at frequency omega by
    ``|K(omega)|^2``, a scalar: at zero frequency by ``K(0)^2 = 1``, so the zero-frequency
    covariance, and its mean-normalised spectrum, are those of the rates. The noise adds
    ``noise_sd^2 * frame`` per neuron at zero frequency (about 1 % of the mean eigenvalue here).
``tanh_rates.npy``
    The rates ``tanh(h)`` themselves, bin-averaged, float32, time x neurons.

Time: the simulator works in units of the neurons' time constant tau; the files are in seconds
with ``tau = TAU`` s. The ground truth (g, sigma, mean-field g_eff, measured g * <phi'(h)>, the
bin size and window to analyse with) is stored in each NWB file's neurospec metadata (``notes``,
restored by ``neurospec.load`` into ``Recording.meta["ground_truth"]``) and, for all three files,
in ``samples.json``; ``README.md`` (written by this script) lists it for people.
"""

from __future__ import annotations

import argparse
import json
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

import neurospec
from neurospec.simulate import RateNetwork
from neurospec.theory import effective_gain

SEED = 20260801
TAU = 0.02  # s, the neurons' time constant
NETWORK = dict(n_neurons=200, g=0.8, sigma=1.0, phi="tanh", dt=0.1)
DURATION = 300.0  # s recorded per file (15000 tau), after the simulator's burn-in
FINE_BIN = 0.01  # s, resolution at which rates are simulated before encoding (0.5 tau)
WINDOW = 2.0  # s = 100 tau: long against the slowest time scale tau / (1 - g_eff) ~ 2.3 tau

SPIKES = dict(bin_size=0.1, baseline=0.0, rate_scale=40.0)  # Hz; mean rate ~ 40 Hz
CALCIUM = dict(frame=0.1, tau_ca=0.1, noise_sd=0.02, baseline=1.0)  # s, s, dF/F, dF/F
RATES = dict(bin_size=0.2)
SPIKE_TIME_QUANTUM = 2.0**-10  # s (~0.98 ms); exactly representable, so gzip compresses well

NOTES_PREFIX = "neurospec-meta:"


def simulate(net, bin_size):
    """One run of ``net`` recorded at ``bin_size`` seconds: (rates (T, N), ground truth)."""
    rec = net.run(DURATION / TAU, bin_size=bin_size / TAU, tau=TAU, progress=False)
    return rec.activity, dict(rec.meta["ground_truth"])


def truth_block(truth, g_eff_mf, **analysis):
    """The ground truth stored with a sample: network, predicted and measured g_eff, analysis."""
    out = {k: truth[k] for k in ("g", "kappa", "phi", "sigma", "dt", "dynamics", "n_neurons",
                                 "couplings", "seed", "run_index", "burn_in", "duration")}
    out.update(
        tau_s=TAU,
        g_eff_meanfield=g_eff_mf,
        measured_g_eff=truth["measured_g_eff"],
        measured_gamma=truth["measured_gamma"],
        g_eff=truth["measured_g_eff"],
        note="g_eff is g * <phi'(h)> measured in this run; g_eff_meanfield is the dynamic "
             "mean-field prediction for an infinite network. Model times (dt, burn_in, duration) "
             "are in units of tau.",
    )
    out.update(analysis)
    return out


def integrate_and_fire(lam, dt, rng):
    """Spike times of perfect integrate-and-fire encoders of the rates ``lam`` (Hz).

    Parameters
    ----------
    lam : ndarray, shape (T, N)
        Rate of each neuron, constant within each bin of ``dt`` seconds.
    dt : float
    rng : numpy.random.Generator
        For the initial phases.

    Returns
    -------
    list of ndarray
        Sorted spike times (s) of each neuron: the times at which ``int_0^t lam`` crosses
        ``m - u`` (m = 1, 2, ...; ``u ~ U(0, 1)`` per neuron), by linear interpolation within bins.
    """
    n_bins, n = lam.shape
    cum = np.vstack([np.zeros((1, n)), np.cumsum(lam * dt, axis=0)])
    edges = dt * np.arange(n_bins + 1)
    phase = rng.random(n)
    out = []
    for i in range(n):
        thresholds = np.arange(1.0 - phase[i], cum[-1, i], 1.0)
        t = np.interp(thresholds, cum[:, i], edges)
        out.append(np.round(t / SPIKE_TIME_QUANTUM) * SPIKE_TIME_QUANTUM)
    return out


def calcium_traces(rates, dt, rng):
    """Fluorescence frames from rates (T, N) at resolution ``dt`` s (see the module docstring)."""
    c = CALCIUM
    decay = np.exp(-dt / c["tau_ca"])
    drive = rates + 1.0  # tanh + 1 >= 0, a firing-rate-like drive
    # exact discretisation of dF/dt = (drive - F)/tau_ca for a drive constant within each bin:
    # a normalised exponential kernel (unit area), so the zero-frequency gain is exactly 1
    F = np.empty_like(drive)
    f = drive[:200].mean(axis=0)
    for k in range(drive.shape[0]):
        f = decay * f + (1.0 - decay) * drive[k]
        F[k] = f
    per = int(round(c["frame"] / dt))
    n_frames = F.shape[0] // per
    frames = F[: n_frames * per].reshape(n_frames, per, -1).mean(axis=1)
    frames = 0.5 * frames  # dF/F scale
    frames += c["noise_sd"] * rng.standard_normal(frames.shape)
    return frames + c["baseline"]


def _nwbfile(description, meta):
    from pynwb import NWBFile

    return NWBFile(
        session_description=description,
        identifier=f"neurospec-sample-{meta['sample']}-{SEED}",
        session_start_time=datetime(2026, 8, 1, tzinfo=timezone.utc),
        notes=NOTES_PREFIX + json.dumps(meta),
        experimenter="neurospec data_samples/make_samples.py",
    )


def write_spikes_nwb(path, spike_times, meta):
    from hdmf.backends.hdf5.h5_utils import H5DataIO
    from pynwb import NWBHDF5IO

    nwb = _nwbfile("tanh rate network, integrate-and-fire spike trains (neurospec sample)", meta)
    nwb.add_unit_column(name="quality", description="curation label (all 'good' in this sample)")
    for st in spike_times:
        nwb.add_unit(spike_times=st, quality="good")
    nwb.units.spike_times.set_data_io(H5DataIO, {"compression": "gzip", "compression_opts": 9,
                                                   "shuffle": True})
    with NWBHDF5IO(str(path), "w") as io:
        io.write(nwb)


def write_calcium_nwb(path, frames, meta):
    from hdmf.backends.hdf5.h5_utils import H5DataIO
    from pynwb import NWBHDF5IO
    from pynwb.ophys import Fluorescence, ImageSegmentation, OpticalChannel

    nwb = _nwbfile("tanh rate network, calcium-like fluorescence traces (neurospec sample)", meta)
    device = nwb.create_device(name="simulated-microscope", description="neurospec simulation")
    plane = nwb.create_imaging_plane(
        name="ImagingPlane", optical_channel=OpticalChannel(name="green", description="GCaMP-like",
                                       emission_lambda=510.0),
        description="simulated plane", device=device, excitation_lambda=920.0,
        imaging_rate=1.0 / CALCIUM["frame"], indicator="simulated GCaMP-like", location="simulated",
    )
    seg = ImageSegmentation()
    ps = seg.create_plane_segmentation(description="one ROI per simulated neuron",
                                       imaging_plane=plane, name="PlaneSegmentation")
    n = frames.shape[1]
    side = int(np.ceil(np.sqrt(n)))
    for i in range(n):
        ps.add_roi(pixel_mask=[(4 * (i % side), 4 * (i // side), 1.0)])
    ophys = nwb.create_processing_module("ophys", "simulated calcium imaging")
    ophys.add(seg)
    rois = ps.create_roi_table_region(region=list(range(n)), description="all ROIs")
    # float32 with the mantissa trimmed to 12 bits (relative step 2.4e-4, ~1/200 of the noise)
    # so that gzip compresses the series; the values stay plain floats
    data = _trim_mantissa(frames.astype(np.float32), 12)
    fluorescence = Fluorescence()
    ophys.add(fluorescence)
    series = fluorescence.create_roi_response_series(
        name="RoiResponseSeries", data=H5DataIO(data, compression="gzip", compression_opts=9,
                                                shuffle=True),
        rois=rois, unit="dF/F", rate=1.0 / CALCIUM["frame"], starting_time=0.0,
        description="calcium-like traces: 0.5 (tanh(h) + 1) convolved with exp(-t/tau_ca)/tau_ca, "
                    "frame-averaged, plus white noise, plus baseline 1",
    )
    with NWBHDF5IO(str(path), "w") as io:
        io.write(nwb)


def _trim_mantissa(x, keep_bits):
    """Round float32 values to ``keep_bits`` mantissa bits (of 23)."""
    drop = 23 - keep_bits
    bits = x.view(np.uint32)
    half = np.uint32(1 << (drop - 1))
    mask = np.uint32(~((1 << drop) - 1) & 0xFFFFFFFF)
    return ((bits + half) & mask).view(np.float32)


def _readme(manifest):
    rows = []
    for name, m in manifest.items():
        t = m["ground_truth"]
        rows.append(
            f"| `{name}` | {m['content']} | {t['n_neurons']} | {t['g']:g} | {t['sigma']:g} | "
            f"{t['g_eff_meanfield']:.4f} | **{t['measured_g_eff']:.4f}** | {m['bin_size']:g} s | "
            f"{m['window']:g} s | `{m['command']}` |"
        )
    return f"""# Bundled sample recordings

Small recordings made by neurospec's own simulator (`neurospec.simulate.RateNetwork`), with known
ground truth, used by `neurospec demo`, the tutorials and the tests. `make_samples.py` regenerates
them exactly (seed {SEED}): `python data_samples/make_samples.py`.

All three come from **one tanh rate network** `dh/dt = -h + J tanh(h) + sigma xi` with
N = {NETWORK['n_neurons']} neurons, `J_ij ~ N(0, g^2/N)`, g = {NETWORK['g']:g}, sigma = {NETWORK['sigma']:g}
(noise-driven regime), time constant tau = {TAU * 1000:g} ms, {DURATION:g} s ({DURATION / TAU:g} tau) per file,
each file a separate run (own noise, same couplings). The effective gain `g_eff = g <phi'(h)>`
is predicted by mean-field theory and measured in each run; **the measured value is the truth a
fit should recover**. Analyse with windows of {WINDOW:g} s = {WINDOW / TAU:g} tau, long against the
network's slowest time scale (~ tau / (1 - g_eff) = 45 ms); shorter windows read g_eff low
(at 1 s = 50 tau the fits of these three files come out 0.001 to 0.016 low). `neurospec fit FILE --ladder`
shows the estimate against the window length. The NWB files store this window as their
recommended one, so `neurospec fit data_samples/tanh_spikes.nwb` uses it without options.

| file | content | N | g | sigma | g_eff (mean field) | g_eff (measured) | bin | window | command |
|---|---|---|---|---|---|---|---|---|---|
{chr(10).join(rows)}

- `tanh_spikes.nwb`: spike trains in the `Units` table (column `quality`, all "good"). Each
  neuron fires as a perfect integrate-and-fire encoder of its rate
  `{SPIKES['baseline']:g} + {SPIKES['rate_scale']:g} (tanh(h) + 1)` Hz (mean ~{SPIKES['baseline'] + SPIKES['rate_scale']:g} Hz), so a window's
  spike count is its integrated rate to within one spike: that count noise (variance ~1/6) is
  0.4 % of the count variance across {WINDOW:g} s windows. Poisson spikes at these rates would
  add a variance equal to the mean count (~{SPIKES['baseline'] + SPIKES['rate_scale']:g} x {WINDOW:g} spikes), 1.8 times the rate-driven
  variance, to the diagonal of the covariance and pull the spectrum toward Marchenko–Pastur
  (g_eff read far too low). Spike times are rounded to 2^-10 s (~1 ms) so that they compress.
- `tanh_calcium.nwb`: `processing/ophys/Fluorescence/RoiResponseSeries`, {1 / CALCIUM['frame']:g} Hz frames:
  `0.5 (tanh(h) + 1)` convolved with `exp(-t/tau_ca)/tau_ca` (tau_ca = {CALCIUM['tau_ca']:g} s), frame-averaged,
  plus white noise (sd {CALCIUM['noise_sd']:g}) and baseline {CALCIUM['baseline']:g}. A kernel shared by all neurons scales
  the zero-frequency covariance by the scalar `K(0)^2 = 1`, so the normalised spectrum is that of
  the rates; the noise adds about 1 % of the mean eigenvalue to the diagonal. The kernel must
  be short against the window: a kernel that spans a sizeable part of a window correlates
  consecutive windows, which the finite-sample model does not describe (with tau_ca = 0.5 s
  and 1 s windows the fit read g_eff = 0.51 instead of 0.556).
- `tanh_rates.npy`: `tanh(h)` averaged in {RATES['bin_size']:g} s bins, float32, shape (time, neurons).
  Arrays carry no metadata: give `--bin-size {RATES['bin_size']:g}`.

The NWB files carry the ground truth in their neurospec metadata (`notes`), restored by
`neurospec.load(...)` as `Recording.meta["ground_truth"]` and printed by `neurospec fit` beside the
estimate; `samples.json` holds it for all three files.
"""


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default=str(Path(__file__).resolve().parent),
                        help="output folder (default: next to this script)")
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    net = RateNetwork(**NETWORK, seed=SEED)
    g_eff_mf = float(effective_gain(NETWORK["g"], phi=NETWORK["phi"], sigma=NETWORK["sigma"]).g_eff)
    rng = np.random.default_rng(np.random.SeedSequence(SEED).spawn(1)[0])
    manifest = {}
    common = {"source": "neurospec data_samples/make_samples.py",
              "neurospec_version": neurospec.__version__}

    # ---- spikes
    rates, truth = simulate(net, FINE_BIN)
    lam = SPIKES["baseline"] + SPIKES["rate_scale"] * (rates + 1.0)
    spikes = integrate_and_fire(lam, FINE_BIN, rng)
    gt = truth_block(truth, g_eff_mf, bin_size=SPIKES["bin_size"], window=WINDOW,
                     encoder="perfect integrate-and-fire, rate = baseline + rate_scale (tanh(h) + 1) Hz",
                     baseline_hz=SPIKES["baseline"], rate_scale_hz=SPIKES["rate_scale"])
    meta = dict(common, sample="tanh_spikes", kind="counts", ground_truth=gt,
                bin_size=SPIKES["bin_size"], t_start=0.0, t_stop=DURATION,
                recommended={"bin_size": SPIKES["bin_size"], "window": WINDOW},
                unit_ids=list(range(len(spikes))))
    write_spikes_nwb(out / "tanh_spikes.nwb", spikes, meta)
    manifest["tanh_spikes.nwb"] = dict(
        content="spike trains (NWB Units)", bin_size=SPIKES["bin_size"], window=WINDOW,
        n_spikes=int(sum(s.size for s in spikes)), ground_truth=gt,
        command=f"neurospec fit data_samples/tanh_spikes.nwb --window {WINDOW:g}")

    # ---- calcium
    rates, truth = simulate(net, FINE_BIN)
    frames = calcium_traces(rates, FINE_BIN, rng)
    gt = truth_block(truth, g_eff_mf, bin_size=CALCIUM["frame"], window=WINDOW,
                     calcium={k: float(v) for k, v in CALCIUM.items()})
    meta = dict(common, sample="tanh_calcium", kind="traces", ground_truth=gt,
                recommended={"bin_size": CALCIUM["frame"], "window": WINDOW})
    write_calcium_nwb(out / "tanh_calcium.nwb", frames, meta)
    manifest["tanh_calcium.nwb"] = dict(
        content="calcium-like traces (NWB ophys RoiResponseSeries)", bin_size=CALCIUM["frame"],
        window=WINDOW, ground_truth=gt,
        command=f"neurospec fit data_samples/tanh_calcium.nwb --window {WINDOW:g}")

    # ---- rates
    rates, truth = simulate(net, RATES["bin_size"])
    gt = truth_block(truth, g_eff_mf, bin_size=RATES["bin_size"], window=WINDOW)
    np.save(out / "tanh_rates.npy", rates.astype(np.float32))
    manifest["tanh_rates.npy"] = dict(
        content="rates tanh(h), time x neurons, float32 (.npy)", bin_size=RATES["bin_size"],
        window=WINDOW, ground_truth=gt,
        command=f"neurospec fit data_samples/tanh_rates.npy --bin-size {RATES['bin_size']:g} "
                f"--window {WINDOW:g}")

    (out / "samples.json").write_text(json.dumps(manifest, indent=2) + "\n")
    (out / "README.md").write_text(_readme(manifest))
    for name, m in manifest.items():
        size = (out / name).stat().st_size / 1e6
        print(f"{name:<18} {size:6.2f} MB  measured g_eff {m['ground_truth']['measured_g_eff']:.4f}  "
              f"(mean field {g_eff_mf:.4f})")


if __name__ == "__main__":
    main()
