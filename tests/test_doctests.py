"""Run the examples in the docstrings of every public module as doctests.

The examples are what the API reference shows (docs/api); they run from the repository root
(so ``data_samples/...`` paths work) with ``np`` and ``ns`` (neurospec) predefined, the
non-interactive matplotlib backend, ``ELLIPSIS`` / ``NORMALIZE_WHITESPACE``, and numpy scalars
written as numpy 1.x wrote them (``True``, ``0.5``).
"""

from __future__ import annotations

import doctest
import importlib
import pkgutil
from pathlib import Path

import numpy as np
import pytest

import neurospec

ROOT = Path(__file__).resolve().parents[1]
#: not library code: the command line is tested end to end by test_cli*.py
SKIP = {"neurospec.cli", "neurospec.__main__"}
MODULES = sorted(
    m.name for m in pkgutil.walk_packages(neurospec.__path__, "neurospec.")
    if m.name not in SKIP and not any(part.startswith("_") for part in m.name.split("."))
) + ["neurospec"]
FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


@pytest.mark.parametrize("module_name", MODULES)
def test_docstring_examples(module_name, monkeypatch):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    monkeypatch.chdir(ROOT)
    module = importlib.import_module(module_name)
    tests = doctest.DocTestFinder(exclude_empty=True).find(
        module, module_name, extraglobs={"np": np, "ns": neurospec, "neurospec": neurospec})
    tests = [t for t in tests if t.examples]
    if not tests:
        pytest.skip(f"{module_name} has no docstring examples")
    runner = doctest.DocTestRunner(optionflags=FLAGS)
    report = []
    # numpy >= 2 writes scalars as np.float64(0.5) / np.True_: examples show them as printed
    # by numpy 1.x (0.5 / True), the way readers use them
    printoptions = np.get_printoptions()
    np.set_printoptions(legacy="1.25")
    try:
        for test in tests:
            result = runner.run(test, out=report.append)
            plt.close("all")
            if result.failed:
                break
    finally:
        np.set_printoptions(**printoptions)
    failed, attempted = runner.summarize(verbose=False)
    assert not failed, "".join(report)[-6000:]
