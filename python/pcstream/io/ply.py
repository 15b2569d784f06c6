"""PLY reader and writer (plyfile): float or integer coordinates, every other vertex
property kept as an attribute; red/green/blue become one (N,3) attribute ``rgb``."""
from __future__ import annotations

import numpy as np

from ._common import PointData, fail, stack_xyz

_RGB = ("red", "green", "blue")
_RGB_ALT = ("r", "g", "b")


def read(path) -> PointData:
    from plyfile import PlyData

    try:
        ply = PlyData.read(str(path))
    except Exception as exc:  # plyfile raises several types for malformed headers/bodies
        raise fail(path, f"not a readable PLY file ({exc})") from None
    if "vertex" not in ply:
        raise fail(path, "PLY file has no 'vertex' element")
    v = ply["vertex"].data
    names = list(v.dtype.names or ())
    missing = [c for c in "xyz" if c not in names]
    if missing:
        raise fail(path, f"PLY vertex element lacks coordinate properties {missing} (has {names})")
    xyz = stack_xyz(path, v["x"], v["y"], v["z"])
    attrs: dict = {}
    rest = [n for n in names if n not in ("x", "y", "z")]
    for trio in (_RGB, _RGB_ALT):
        if all(c in rest for c in trio) and len({v[c].dtype for c in trio}) == 1:
            attrs["rgb"] = np.stack([np.asarray(v[c]) for c in trio], axis=1)
            rest = [n for n in rest if n not in trio]
            break
    skipped = []
    for n in rest:
        col = np.asarray(v[n])
        if col.dtype == object or col.ndim != 1:
            skipped.append(n)  # list properties cannot be per-point scalars
            continue
        attrs[n] = col
    source = {"format": "ply", "ply_format": ply.text and "ascii" or ("binary_" + ply.byte_order.replace("<", "little_endian").replace(">", "big_endian").replace("=", "native"))}
    other = [e.name for e in ply.elements if e.name != "vertex"]
    if other:
        source["ignored_elements"] = other
    if skipped:
        source["ignored_properties"] = skipped
    return PointData(xyz, attrs, source)


def write(path, xyz: np.ndarray, attributes: dict | None = None, *, text: bool = False) -> None:
    """Write points (float64 x,y,z unless integer) and attributes as PLY vertex properties.

    ``rgb`` (N,3) becomes red/green/blue; other (N,k) attributes become name_0..name_{k-1}.
    """
    from plyfile import PlyData, PlyElement

    xyz = np.asarray(xyz)
    n = xyz.shape[0]
    cols = [("x", xyz[:, 0]), ("y", xyz[:, 1]), ("z", xyz[:, 2])]
    for name, arr in (attributes or {}).items():
        arr = np.asarray(arr)
        if arr.ndim == 1:
            cols.append((name, arr))
        elif name == "rgb" and arr.shape[1] == 3:
            cols += [(c, arr[:, i]) for i, c in enumerate(_RGB)]
        else:
            cols += [(f"{name}_{i}", arr[:, i]) for i in range(arr.shape[1])]
    dtype = [(name, col.dtype.newbyteorder("<") if col.dtype.itemsize > 1 else col.dtype) for name, col in cols]
    rec = np.empty(n, dtype=dtype)
    for name, col in cols:
        rec[name] = col
    PlyData([PlyElement.describe(rec, "vertex")], text=text, byte_order="<").write(str(path))
