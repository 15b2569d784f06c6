"""Geometry benchmark (thin wrapper; logic in pcstream.benchmarks.geometry).

    PYTHONPATH=python python3 bench/geometry.py [--files loot,kitti11] [--repeat 3]
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "python"))

from pcstream.benchmarks.geometry import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
