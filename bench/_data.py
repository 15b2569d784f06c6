"""Shared bench helpers: locating the benchmark data (same rule as the tests), timing."""
from __future__ import annotations

import os
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def data_dir() -> Path:
    return Path(os.environ.get("PCSTREAM_DATA", ROOT.parent / "shared" / "data"))


def timed_cpu_wall(fn):
    """(fn(), CPU seconds of this process, wall seconds)."""
    c, w = time.process_time(), time.perf_counter()
    out = fn()
    return out, time.process_time() - c, time.perf_counter() - w
