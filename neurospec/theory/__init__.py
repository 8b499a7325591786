"""Random-network theory of covariance spectra.

- :mod:`neurospec.theory.linear`: :class:`LinearSpectrum` (iid and reciprocal couplings),
  :class:`MarchenkoPastur`.
- :mod:`neurospec.theory.sampling`: how finite samples and neuron subsampling distort a spectrum.
- :mod:`neurospec.theory.temporal`: :class:`TemporalSpectrum`, the temporal correlation of the samples.
- :mod:`neurospec.theory.meanfield`: the effective gain of nonlinear networks.
"""

from importlib import import_module

_LAZY = {
    "TemporalSpectrum": "neurospec.theory.temporal",
    "LinearSpectrum": "neurospec.theory.linear",
    "MarchenkoPastur": "neurospec.theory.linear",
    "sampled": "neurospec.theory.sampling",
    "subsampled": "neurospec.theory.sampling",
    "effective_gain": "neurospec.theory.meanfield",
    "MeanFieldResult": "neurospec.theory.meanfield",
    "linear_equivalent_covariance": "neurospec.theory.meanfield",
    "predicted_spectrum": "neurospec.theory.meanfield",
}

__all__ = sorted(_LAZY)


def __getattr__(name):
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'neurospec.theory' has no attribute {name!r}")


def __dir__():
    return __all__
