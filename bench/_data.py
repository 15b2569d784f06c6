"""Locating the shared benchmark data (same rule as the tests)."""
from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def data_dir() -> Path:
    return Path(os.environ.get("PCSTREAM_DATA", ROOT.parent / "shared" / "data"))
