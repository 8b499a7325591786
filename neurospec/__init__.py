"""neurospec: fit random-network theory to the covariance spectra of neural recordings.

Activity arrays are always laid out time x neurons, shape ``(n_samples, n_neurons)``,
as in scikit-learn.
"""

from importlib import import_module

__version__ = "0.1.0"

# Public names, imported on first use so that ``import neurospec`` stays fast
# (pynwb, numba and lmfit are heavy) and each module loads only what it needs.
_LAZY = {
    "Recording": "neurospec.recording",
    "load": "neurospec.io",
    "describe": "neurospec.io",
    "open_lazy": "neurospec.io",
    "CovarianceSpectrum": "neurospec.spectrum",
    "subsample_spectra": "neurospec.spectrum",
    "GainFit": "neurospec.fit",
    "window_ladder": "neurospec.fit",
    "RateNetwork": "neurospec.simulate",
    "NeurospecError": "neurospec.errors",
}
_SUBMODULES = {"theory", "io", "errors", "plotting", "simulate", "spectrum", "fit", "recording",
               "diagnostics", "preprocess"}

__all__ = sorted(set(_LAZY) | _SUBMODULES)


def __getattr__(name):
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    if name in _SUBMODULES:
        return import_module(f"neurospec.{name}")
    raise AttributeError(f"module 'neurospec' has no attribute {name!r}")


def __dir__():
    return __all__
