"""nuScenes LIDAR_TOP ``.pcd.bin``: float32 records x, y, z, intensity (0..255), ring (0..31)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ._common import PointData, check_size

LAYOUT = "nuScenes .pcd.bin: float32 x,y,z,intensity,ring per point"


def read(path) -> PointData:
    raw = Path(path).read_bytes()
    n = check_size(path, len(raw), 20, LAYOUT)
    a = np.frombuffer(raw, dtype="<f4").reshape(n, 5)
    ring = a[:, 4]
    # The ring index is a small integer stored as float: keep it as uint8 when that is exact.
    if np.all((ring >= 0) & (ring <= 255) & (ring == np.round(ring))):
        ring = ring.astype(np.uint8)
    else:
        ring = ring.copy()
    return PointData(a[:, :3].copy(), {"intensity": a[:, 3].copy(), "ring": ring}, {"format": "nuscenes"})
