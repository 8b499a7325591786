"""Execute every tutorial notebook (tutorials/*.ipynb) with nbclient; any error fails.

When the documentation tools are installed (the ``test`` extra brings them) the notebooks are
executed once, by the documentation build in ``tests/test_docs.py``, and the execution test here
skips; the checks on the stored notebooks always run.

Each notebook runs in a fresh ``python3`` Jupyter kernel (the one ipykernel installs into this
environment), with the tutorials folder as working directory (the notebooks find the bundled
data relative to it) and the non-interactive matplotlib backend. A missing kernel is a
failure, not a skip: the tutorials are part of what CI checks.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import nbformat
import pytest
from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

TUTORIALS = Path(__file__).resolve().parents[1] / "tutorials"
NOTEBOOKS = sorted(TUTORIALS.glob("[0-9][0-9]_*.ipynb"))
EXPECTED = ("01_quickstart", "02_your_own_data", "03_theory_tour", "04_validation", "05_real_suite2p")
KERNEL = "python3"
#: seconds per cell; every cell is written to take well under a minute on two busy cores
CELL_TIMEOUT = 300
#: the stored notebooks carry no outputs; this bounds what a stray small output may add
MAX_NOTEBOOK_BYTES = 100_000


def _python3_kernel():
    """The ``python3`` kernelspec, checked to run this interpreter (else fail with the fix)."""
    try:
        spec = KernelSpecManager().get_kernel_spec(KERNEL)
    except NoSuchKernel:
        pytest.fail(
            f"no Jupyter kernel named {KERNEL!r} is visible from {sys.executable}; install "
            "ipykernel into this environment (`pip install -e '.[test]'`, or "
            "`python -m ipykernel install --sys-prefix`) so that "
            f"{Path(sys.prefix) / 'share' / 'jupyter' / 'kernels' / KERNEL} exists."
        )
    exe = spec.argv[0]
    # jupyter_client replaces a bare python/python3/python3.X by sys.executable
    bare = {"python", f"python{sys.version_info[0]}",
            f"python{sys.version_info[0]}.{sys.version_info[1]}"}
    if exe not in bare and Path(exe).resolve() != Path(sys.executable).resolve():
        pytest.fail(
            f"the {KERNEL!r} kernel ({spec.resource_dir}) runs {exe}, not the interpreter under "
            f"test ({sys.executable}); remove that kernelspec or reinstall it from this "
            "environment with `python -m ipykernel install --sys-prefix`."
        )
    return spec


def test_every_tutorial_is_collected():
    """The numbered notebooks exist (a missing one would otherwise just not be parametrized)."""
    stems = [p.stem for p in NOTEBOOKS]
    missing = [name for name in EXPECTED if name not in stems]
    assert not missing, f"tutorials missing from {TUTORIALS}: {missing}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_tutorial_stored_clean(path):
    """Stored without outputs: small files, reviewable diffs, nothing stale."""
    assert path.stat().st_size < MAX_NOTEBOOK_BYTES, f"{path.name} is {path.stat().st_size} bytes"
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    assert nb.metadata.get("kernelspec", {}).get("name") == KERNEL
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            images = [o for o in cell.get("outputs", [])
                      if "image/png" in o.get("data", {})]
            assert not images, f"{path.name}: cell {i} stores a figure; clear the outputs"


def _executed_by_docs_build():
    """tests/test_docs.py builds the documentation, which executes every tutorial (with the
    same checks: any error fails, nothing is written next to the notebooks); running them here
    too would double the suite's longest work. NEUROSPEC_EXECUTE_TUTORIALS=1 runs them here
    anyway."""
    if os.environ.get("NEUROSPEC_EXECUTE_TUTORIALS") == "1":
        return False
    from test_docs import docs_tools_missing

    return not docs_tools_missing()


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_tutorial_executes(path, monkeypatch):
    if _executed_by_docs_build():
        pytest.skip("executed by the documentation build (tests/test_docs.py)")
    _python3_kernel()
    # the kernel inherits this environment: non-interactive figures, and one BLAS thread so
    # that two notebooks running side by side (pytest -n 2) do not oversubscribe two cores
    monkeypatch.setenv("MPLBACKEND", "Agg")
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        monkeypatch.setenv(var, "1")
    monkeypatch.setenv("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb, kernel_name=KERNEL, timeout=CELL_TIMEOUT, startup_timeout=120,
        allow_errors=False, resources={"metadata": {"path": str(TUTORIALS)}},
    )
    before = set(os.listdir(TUTORIALS))
    try:
        client.execute()
    except (CellExecutionError, CellTimeoutError, DeadKernelError) as err:
        pytest.fail(f"{path.name} failed:\n{err}", pytrace=False)
    # tutorials write their scratch files to temporary folders, never next to themselves
    assert set(os.listdir(TUTORIALS)) == before
    errors = [json.dumps(o)[:500] for c in nb.cells if c.cell_type == "code"
              for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors, errors
