"""PCL ``.pcd`` reader via pypcd4 (optional). A packed float ``rgb`` field becomes (N,3) uint8."""
from __future__ import annotations

import numpy as np

from ._common import PointData, fail


def read(path) -> PointData:
    try:
        from pypcd4 import PointCloud
    except ImportError:
        raise fail(path, "reading PCD needs pypcd4: pip install pypcd4") from None
    try:
        pc = PointCloud.from_path(str(path))
    except Exception as exc:
        raise fail(path, f"not a readable PCD file ({exc})") from None
    fields = list(pc.fields)
    if not all(c in fields for c in "xyz"):
        raise fail(path, f"PCD file needs fields x, y, z (has {fields})")
    data = pc.pc_data
    xyz = np.stack([data["x"], data["y"], data["z"]], axis=1)
    attrs = {}
    for f in fields:
        if f in ("x", "y", "z") or f.startswith("_"):
            continue
        col = np.asarray(data[f])
        if f in ("rgb", "rgba") and col.dtype.kind in "fu" and col.dtype.itemsize == 4:
            packed = np.ascontiguousarray(col).view(np.uint32)
            attrs["rgb"] = np.stack([(packed >> 16) & 255, (packed >> 8) & 255, packed & 255], axis=1).astype(np.uint8)
        else:
            attrs[f] = np.ascontiguousarray(col)
    return PointData(xyz, attrs, {"format": "pcd"})
