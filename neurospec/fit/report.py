"""Report and interpretation of a fitted :class:`~neurospec.GainFit`: the parameter table and
the text for a lab notebook, with what the numbers mean."""

from __future__ import annotations

import numpy as np


def to_frame(fit):
    """Fitted parameters as a DataFrame (see :meth:`neurospec.GainFit.to_frame`)."""
    import pandas as pd

    rows = {
        "g_eff": [fit.g_eff_, fit.g_eff_stderr_, *fit.g_eff_ci_, fit.ci, True],
        "kappa": [fit.kappa_,
                  np.nan if fit.kappa_stderr_ is None else fit.kappa_stderr_,
                  *(fit.kappa_ci_ if fit.kappa_ci_ else (np.nan, np.nan)), fit.ci,
                  fit.model == "reciprocal"],
        "scale": [fit.scale_, np.nan, np.nan, np.nan, fit.ci, fit.scale == "fit"],
    }
    df = pd.DataFrame.from_dict(
        rows, orient="index",
        columns=["estimate", "stderr", "ci_low", "ci_high", "ci_level", "fitted"])
    df.index.name = "parameter"
    df.attrs.update(
        n_neurons=fit.n_neurons_, n_eigenvalues=int(fit._kept.size), alpha=fit.alpha_,
        alpha_eff=fit.alpha_eff_, n_samples_eff=fit.n_samples_eff_, n_dropped=fit.n_dropped_,
        cost=fit.cost_, null_cost=fit.null_cost_, p_value_model=fit.p_value_model_,
        p_value_null=fit.p_value_null_, bootstrap=fit.bootstrap_method_,
        n_boot=int(fit.bootstrap_.size), model=fit.model)
    return df


def sampling_text(fit):
    """One line on the samples behind the fit: N, T, their temporal correlation."""
    T = fit.n_neurons_ / fit.alpha_ if fit.alpha_ > 0 else np.inf
    txt = (f"N = {fit.n_neurons_} neurons, T = {'inf' if not np.isfinite(T) else f'{T:.0f}'} "
           f"samples (alpha = N/T = {fit.alpha_:.4g})")
    if fit.temporal_ is None:
        return txt + ", independent samples"
    m2 = fit.temporal_.second_moment()
    return (txt + f", temporally correlated (E[b^2] = {m2:.3g}: {fit.n_samples_eff_:.1f} effective "
            f"samples, alpha_eff = {fit.alpha_eff_:.4g}), modelled as C (x) W_B")


def null_name(fit):
    """What the null model is, in words."""
    if fit.temporal_ is None:
        return "Marchenko-Pastur null"
    return "null (independent neurons, the data's temporal correlation)"


def report(fit):
    """A plain-text summary (see :meth:`neurospec.GainFit.report`)."""
    info = fit.info_
    lines = ["neurospec GainFit"]
    src = info.get("source")
    lines.append(f"  data: {info.get('input')}" + (f" from {src}" if src else ""))
    if fit.spectrum_ is not None:
        sp = fit.spectrum_
        win = info.get("window") or 1
        bs = info.get("bin_size")
        wtxt = f"{win} bin(s)" + (f" = {win * bs:g} s" if bs else "")
        lines.append(f"  {fit.kind_} matrix, window {wtxt}, {getattr(sp, 'n_windows_', '?')} "
                     f"windows")
        lines.append(f"  participation ratio: raw {sp.participation_ratio_:.2f}, corrected "
                     f"{sp.participation_ratio_corrected_:.2f}")
    lines.append("  " + sampling_text(fit))
    if fit.fraction is not None:
        lines.append(f"  recorded fraction of the network: {fit.fraction:g}")
    lines.append(f"  dropped top modes: {fit.n_dropped_}"
                 + (f" (eigenvalues {', '.join(f'{v:.4g}' for v in fit.eigenvalues_[:fit.n_dropped_])};"
                    " fit censored at the cut)" if fit.n_dropped_ else "")
                 + f" [drop_top={fit.drop_top!r}]")
    lo, hi = fit.g_eff_ci_
    lines.append(f"  model: {fit.model} couplings, cost {fit.cost}, scale {fit.scale}")
    if fit.bootstrap_.size:
        lines.append(f"  g_eff = {fit.g_eff_:.4f} +/- {fit.g_eff_stderr_:.4f} (bootstrap s.e.), "
                     f"{100 * fit.ci:.0f}% CI [{lo:.4f}, {hi:.4f}]")
    else:
        lines.append(f"  g_eff = {fit.g_eff_:.4f} (no bootstrap: n_boot=0, no uncertainty)")
    if fit.model == "reciprocal":
        kci = fit.kappa_ci_ or (np.nan, np.nan)
        kse = np.nan if fit.kappa_stderr_ is None else fit.kappa_stderr_
        lines.append(f"  kappa = {fit.kappa_:.4f} +/- {kse:.4f}, CI [{kci[0]:.4f}, {kci[1]:.4f}]")
    bc = getattr(fit, "bias_correction_", None)
    if bc:
        lines.append(f"  correlation-matrix bias: the fit reads {bc['g_read']:.4f}; networks simulated "
                     f"at that gain read {bc['median_at_estimate']:.4f} (normalising by each "
                     f"neuron's variance at N = {fit.n_neurons_}), so the estimate is the gain "
                     f"whose replicates read the data: {bc['g']:.4f}")
    wc = getattr(fit, "window_correction_", None)
    if wc:
        lines.append(f"  finite-window correction: windows of {wc['window_bins']} bins = "
                     f"{wc['window_tau']:.3g} tau (tau = {wc['tau_bins']:.3g} bins, from the "
                     f"integrated autocorrelation {wc['tau_int_bins']:.3g} bins); g read at this "
                     f"window {wc['g_window']:.4f} -> zero frequency {wc['g']:.4f} "
                     "(exact window covariance of linear dynamics)")
    lines.append(f"  noise scale sigma^2 = {fit.scale_:.4g} (eigenvalue units)")
    lines.append(f"  uncertainty: {fit.bootstrap_method_} bootstrap, {fit.bootstrap_.size} "
                 f"replicates, {fit.ci_method} interval")
    lines.append(f"  fit distance: CvM {fit.cost_:.3g}, KS {fit.ks_:.3g} "
                 f"(goodness-of-fit p = {fit.p_value_model_:.3g})")
    lines.append(f"  {null_name(fit)}: CvM {fit.null_cost_:.3g}, KS {fit.null_ks_:.3g} "
                 f"(goodness-of-fit p = {fit.p_value_null_:.3g})")
    lines.append("  interpretation: " + interpretation(fit))
    for w in getattr(fit, "warnings_", []):
        lines.append("  warning: " + w)
    return "\n".join(lines)


def interpretation(fit):
    """What the estimate and the two tests say, in words."""
    txt = []
    # A bootstrap p-value cannot go below 1/(B+1): at that floor the test rejects as
    # strongly as B replicates allow, even when the floor is above 0.01.
    floor = 1.0 / (fit.bootstrap_.size + 1) if fit.bootstrap_.size else 0.0

    def rejects(p):
        return p < 0.01 or p <= floor * (1 + 1e-9)

    def p_text(p):
        if p <= floor * (1 + 1e-9):
            return f"p <= {floor:.2g}, the smallest {fit.bootstrap_.size} replicates resolve"
        return f"p = {p:.2g}"

    p0 = fit.p_value_null_
    if np.isfinite(p0):
        if rejects(p0):
            txt.append("the spectrum is broader than independent neurons would give "
                       f"(null rejected, {p_text(p0)})")
        else:
            txt.append(f"the spectrum is consistent with independent neurons (null p = {p0:.2g}); "
                       "g_eff is not distinguishable from 0 at this sample size")
    pm = fit.p_value_model_
    if np.isfinite(pm):
        if rejects(pm):
            txt.append(f"the random-network model does not fit well ({p_text(pm)}): check for "
                       "low-rank modes, short windows, non-random structure, or a network too "
                       "close to the edge of stability for its size")
        else:
            txt.append(f"the random-network model fits (p = {pm:.2g})")
    g = fit.g_eff_
    if fit.model == "iid" and fit._at_upper_bound():
        txt.append("g_eff is at the fit's upper bound: the spectrum is as broad as the model "
                   "allows, so the network is at or beyond the edge of stability, or too close "
                   "to it for the large-N theory at this N (simulated noiseless chaos with up "
                   "to 1600 neurons does this); read it as 'near 1', a lower limit, not a value")
    elif g > 0.9:
        txt.append("g_eff near 1: the network is close to the edge of stability, slow modes "
                   f"of time scale ~1/(1-g_eff) = {1 / (1 - g):.0f} tau dominate; make sure the "
                   "windows are longer than that (window_ladder)")
    return "; ".join(txt) + "."
