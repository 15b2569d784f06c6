"""LAS / LAZ reader and LAS writer (laspy; LAZ needs the lazrs backend:
``pip install "pcstream[las]"``).

Coordinates keep the file's integer grid: the reader reports the header scale and offset
as the quantization precision and origin, so packing a LAS file is exact by default.
Every LAS dimension is kept as an attribute under its laspy name (red/green/blue as one
``rgb`` attribute), extra-bytes dimensions included; ``source`` records the point format,
version, scales, offsets and extra dimensions so that :func:`write` restores them."""
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


_RGB = ("red", "green", "blue")


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
    names = list(las.point_format.dimension_names)
    dims = set(names)
    attrs = {}
    for dim in names:
        if dim in ("X", "Y", "Z") or dim in _RGB:
            continue
        attrs[KEEP.get(dim, dim)] = np.ascontiguousarray(np.asarray(las[dim]))
    if set(_RGB) <= dims:
        attrs["rgb"] = np.stack([np.asarray(las[c]) for c in _RGB], axis=1)
    extra = [{"name": d.name, "dtype": np.dtype(d.dtype).str}
             for d in las.point_format.extra_dimensions]
    source = {
        "format": "las",
        "version": f"{hdr.version.major}.{hdr.version.minor}",
        "point_format": int(las.point_format.id),
        "scales": [float(s) for s in hdr.scales],
        "offsets": [float(o) for o in hdr.offsets],
        "extra_dimensions": extra,
    }
    return PointData(xyz, attrs, source, precision=np.asarray(hdr.scales, dtype=np.float64),
                     origin=np.asarray(hdr.offsets, dtype=np.float64))


def write(path, xyz, attributes: dict | None = None, source: dict | None = None) -> None:
    """Write a LAS file. With ``source`` from :func:`read` (the ``source`` metadata of a
    packed LAS file) the point format, version, scales, offsets and extra-bytes
    dimensions are restored, so every dimension round-trips; attributes that are not
    dimensions of the point format become extra-bytes dimensions."""
    laspy = _import_laspy(path)
    xyz = np.asarray(xyz, dtype=np.float64)
    attributes = dict(attributes or {})
    source = source if (source or {}).get("format") == "las" else {}
    fmt = int(source.get("point_format", 3 if "rgb" in attributes else 1))
    version = str(source.get("version", "1.2"))
    hdr = laspy.LasHeader(point_format=fmt, version=version)
    if "scales" in source and "offsets" in source:
        hdr.scales = np.asarray(source["scales"], dtype=np.float64)
        hdr.offsets = np.asarray(source["offsets"], dtype=np.float64)
    else:
        hdr.scales = np.array([0.001, 0.001, 0.001])
        hdr.offsets = np.floor(xyz.min(axis=0)) if len(xyz) else np.zeros(3)
    std = set(hdr.point_format.dimension_names)
    inverse_keep = {v: k for k, v in KEEP.items()}
    extra_types = {e["name"]: e["dtype"] for e in source.get("extra_dimensions", [])}
    for name, arr in attributes.items():
        dim = inverse_keep.get(name, name)
        if name == "rgb" or dim in std:
            continue
        arr = np.asarray(arr)
        dt = np.dtype(extra_types.get(dim, arr.dtype.str))
        if arr.ndim == 2 and arr.shape[1] > 1:
            dt = np.dtype((dt, (arr.shape[1],)))
        hdr.add_extra_dim(laspy.ExtraBytesParams(name=dim, type=dt))
    las = laspy.LasData(hdr)
    # Integer records straight from the grid: x = X * scale + offset.
    for axis, dim in enumerate("XYZ"):
        las[dim] = np.round((xyz[:, axis] - hdr.offsets[axis]) / hdr.scales[axis]).astype(np.int32)
    for name, arr in attributes.items():
        arr = np.asarray(arr)
        if name == "rgb" and set(_RGB) <= std:
            for c, dim in enumerate(_RGB):
                las[dim] = arr[:, c]
            continue
        las[inverse_keep.get(name, name)] = arr
    try:
        las.write(str(path))
    except Exception as exc:  # laspy raises several types (missing LAZ backend, ...)
        raise fail(path, f"could not write LAS/LAZ ({exc})") from None
