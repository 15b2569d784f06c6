"""Shared test helpers: locating ../shared/data and skipping cleanly without it."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def data_dir() -> Path:
    """Real test data: $PCSTREAM_DATA, else ../shared/data beside the project."""
    return Path(os.environ.get("PCSTREAM_DATA", ROOT.parent / "shared" / "data"))


def data_file(rel: str) -> Path:
    """Path of a file under the shared data folder, or skip the test with the reason."""
    p = data_dir() / rel
    if not p.exists():
        pytest.skip(f"shared data file {p} not present (set PCSTREAM_DATA to the shared/data folder)")
    return p


@pytest.fixture
def shared_data():
    return data_file
