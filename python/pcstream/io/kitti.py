"""KITTI velodyne ``.bin``: float32 records x, y, z, intensity (metres, reflectance 0..1)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ._common import PointData, check_size, fail

LAYOUT = "KITTI .bin: float32 x,y,z,intensity per point"


def read(path) -> PointData:
    raw = Path(path).read_bytes()
    n = check_size(path, len(raw), 16, LAYOUT)
    a = np.frombuffer(raw, dtype="<f4").reshape(n, 4)
    return PointData(a[:, :3].copy(), {"intensity": a[:, 3].copy()}, {"format": "kitti"})


def write(path, xyz: np.ndarray, attributes: dict | None = None) -> None:
    """Write x,y,z,intensity as float32 (intensity 0 when absent); other attributes are dropped."""
    xyz = np.asarray(xyz)
    out = np.zeros((xyz.shape[0], 4), dtype="<f4")
    out[:, :3] = xyz
    inten = (attributes or {}).get("intensity")
    if inten is not None:
        inten = np.asarray(inten)
        if inten.ndim != 1:
            raise fail(path, "intensity must be one value per point to write KITTI .bin")
        out[:, 3] = inten
    out.tofile(str(path))
