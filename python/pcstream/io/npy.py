"""NumPy ``.npy``: an (N,3) array of coordinates, or a structured array with fields x, y, z
(other fields become attributes; red/green/blue become ``rgb``)."""
from __future__ import annotations

import numpy as np

from ._common import PointData, fail, stack_xyz


def read(path) -> PointData:
    try:
        a = np.load(str(path), allow_pickle=False)
    except Exception as exc:
        raise fail(path, f"not a readable .npy file ({exc})") from None
    if a.dtype.names:
        names = list(a.dtype.names)
        if not all(c in names for c in "xyz"):
            raise fail(path, f"structured array needs fields x, y, z (has {names})")
        xyz = stack_xyz(path, a["x"], a["y"], a["z"])
        rest = [n for n in names if n not in ("x", "y", "z")]
        attrs = {}
        if all(c in rest for c in ("red", "green", "blue")):
            attrs["rgb"] = np.stack([a[c] for c in ("red", "green", "blue")], axis=1)
            rest = [n for n in rest if n not in ("red", "green", "blue")]
        for n in rest:
            attrs[n] = np.ascontiguousarray(a[n])
        return PointData(xyz, attrs, {"format": "npy"})
    if a.ndim != 2 or a.shape[1] != 3:
        raise fail(path, f"expected an (N,3) array or a structured array, got shape {a.shape}")
    if a.dtype.kind not in "fiu":
        raise fail(path, f"coordinates have unsupported type {a.dtype}")
    return PointData(np.ascontiguousarray(a), {}, {"format": "npy"})


def write(path, xyz: np.ndarray, attributes: dict | None = None) -> None:
    """(N,3) array when there are no attributes, else a structured array."""
    xyz = np.asarray(xyz)
    if not attributes:
        np.save(str(path), xyz)
        return
    fields = [("x", xyz.dtype), ("y", xyz.dtype), ("z", xyz.dtype)]
    for name, arr in attributes.items():
        arr = np.asarray(arr)
        fields.append((name, arr.dtype, arr.shape[1:]) if arr.ndim > 1 else (name, arr.dtype))
    rec = np.empty(xyz.shape[0], dtype=fields)
    rec["x"], rec["y"], rec["z"] = xyz[:, 0], xyz[:, 1], xyz[:, 2]
    for name, arr in attributes.items():
        rec[name] = arr
    np.save(str(path), rec)
