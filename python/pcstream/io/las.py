"""LAS / LAZ reader (laspy; LAZ needs the lazrs backend: ``pip install "pcstream[las]"``).

Coordinates keep the file's integer grid: the reader reports the header scale and offset
as the quantization precision and origin, so packing a LAS file is exact by default."""
from __future__ import annotations

import numpy as np

from ._common import PointData, fail

#: LAS dimensions kept as attributes (name in laspy -> attribute name).
KEEP = {
    "intensity": "intensity",
    "return_number": "return_number",
    "number_of_returns": "number_of_returns",
    "classification": "classification",
    "gps_time": "gps_time",
}


def _import_laspy(path):
    try:
        import laspy
    except ImportError:
        raise fail(path, 'reading LAS/LAZ needs laspy: pip install "pcstream[las]"') from None
    return laspy


def read(path) -> PointData:
    laspy = _import_laspy(path)
    try:
        las = laspy.read(str(path))
    except laspy.errors.LaspyException as exc:
        msg = str(exc)
        if "lazrs" in msg.lower() or "laszip" in msg.lower() or "backend" in msg.lower():
            raise fail(path, f'LAZ decompression needs lazrs: pip install "pcstream[las]" ({msg})') from None
        raise fail(path, f"not a readable LAS/LAZ file ({msg})") from None
    except Exception as exc:
        raise fail(path, f"not a readable LAS/LAZ file ({exc})") from None
    hdr = las.header
    xyz = np.stack([np.asarray(las.x), np.asarray(las.y), np.asarray(las.z)], axis=1).astype(np.float64)
    dims = set(las.point_format.dimension_names)
    attrs = {}
    for dim, name in KEEP.items():
        if dim in dims:
            attrs[name] = np.ascontiguousarray(np.asarray(las[dim]))
    if {"red", "green", "blue"} <= dims:
        attrs["rgb"] = np.stack([np.asarray(las[c]) for c in ("red", "green", "blue")], axis=1)
    source = {
        "format": "las",
        "version": f"{hdr.version.major}.{hdr.version.minor}",
        "point_format": int(las.point_format.id),
        "scales": [float(s) for s in hdr.scales],
        "offsets": [float(o) for o in hdr.offsets],
    }
    return PointData(xyz, attrs, source, precision=np.asarray(hdr.scales, dtype=np.float64),
                     origin=np.asarray(hdr.offsets, dtype=np.float64))
