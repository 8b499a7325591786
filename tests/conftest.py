"""Shared, generic pytest fixtures."""

from pathlib import Path

import pytest

#: real recordings provided beside the repository (not bundled: licence and size)
REAL_DATA_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "real"


@pytest.fixture
def real_nwb_path():
    """The real NWB file written by another tool (3 sorted units); skips when it is absent."""
    path = REAL_DATA_DIR / "A8604-211122.nwb"
    if not path.is_file():
        pytest.skip(f"real NWB file not available at {path}")
    return path
