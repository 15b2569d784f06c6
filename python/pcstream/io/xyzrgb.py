"""Raw float32 x, y, z, r, g, b records (mmdetection3d ScanNet / SUN RGB-D ``.bin``).
Not detected automatically (``.bin`` means KITTI): select it with ``format="xyzrgb"``."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ._common import PointData, check_size

LAYOUT = "xyzrgb .bin: float32 x,y,z,r,g,b per point"


def read(path) -> PointData:
    raw = Path(path).read_bytes()
    n = check_size(path, len(raw), 24, LAYOUT)
    a = np.frombuffer(raw, dtype="<f4").reshape(n, 6)
    return PointData(a[:, :3].copy(), {"rgb": a[:, 3:6].copy()}, {"format": "xyzrgb"})
