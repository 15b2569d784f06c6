"""Point cloud file readers and writers.

``read_points(path)`` detects the format from the extension, or from the first bytes
when the extension is unknown, and returns a :class:`PointData` (xyz, attributes, source).
``write_points(path, xyz, attributes)`` writes PLY, NPY or KITTI ``.bin`` by extension.

| format | extensions | reader |
|---|---|---|
| PLY | .ply | plyfile |
| KITTI velodyne | .bin | float32 x,y,z,intensity |
| nuScenes LIDAR_TOP | .pcd.bin | float32 x,y,z,intensity,ring |
| LAS / LAZ | .las .laz (.copc.laz) | laspy (+ lazrs for LAZ) |
| NumPy | .npy | (N,3) or structured with x,y,z |
| PCD | .pcd | pypcd4 |
| raw x,y,z,r,g,b | (format="xyzrgb" only) | float32 records (ScanNet/SUN RGB-D .bin) |
"""
from __future__ import annotations

from pathlib import Path

from ..errors import InputFileError
from . import kitti, las, npy, nuscenes, pcd, ply, xyzrgb
from ._common import PointData, fail, handle_nonfinite

READERS = {"ply": ply.read, "kitti": kitti.read, "nuscenes": nuscenes.read,
           "las": las.read, "npy": npy.read, "pcd": pcd.read, "xyzrgb": xyzrgb.read}
WRITERS = {"ply": ply.write, "npy": npy.write, "kitti": kitti.write}

__all__ = ["PointData", "read_points", "write_points", "detect_format", "READERS", "WRITERS"]


def _by_extension(name: str) -> str | None:
    name = name.lower()
    if name.endswith(".pcd.bin"):
        return "nuscenes"
    for ext, fmt in ((".ply", "ply"), (".bin", "kitti"), (".las", "las"), (".laz", "las"),
                     (".npy", "npy"), (".pcd", "pcd")):
        if name.endswith(ext):
            return fmt
    return None


def _by_content(head: bytes) -> str | None:
    if head.startswith(b"ply\n") or head.startswith(b"ply\r\n"):
        return "ply"
    if head.startswith(b"LASF"):
        return "las"
    if head.startswith(b"\x93NUMPY"):
        return "npy"
    if head.startswith(b"# .PCD") or head.startswith(b"VERSION") or head.startswith(b"FIELDS"):
        return "pcd"
    return None


def detect_format(path) -> str:
    """Format name of a point cloud file (extension first, then magic bytes)."""
    p = Path(path)
    if not p.exists():
        raise InputFileError(f"{p}: no such file")
    if p.is_dir():
        raise InputFileError(f"{p}: is a directory, expected a point cloud file")
    with open(p, "rb") as f:
        head = f.read(16)
    by_content = _by_content(head)
    by_ext = _by_extension(p.name)
    # Magic bytes win over a misleading extension (e.g. a PLY saved as .bin).
    fmt = by_content or by_ext
    if fmt is None:
        raise fail(p, "unknown point cloud format (expected .ply, .bin, .pcd.bin, .las, .laz, .npy or .pcd)")
    return fmt


def read_points(path, *, format: str | None = None, drop_nonfinite: bool = False) -> PointData:
    """Read a point cloud file. NaN/inf coordinates raise InputFileError unless dropped."""
    fmt = format or detect_format(path)
    if fmt not in READERS:
        raise InputFileError(f"{path}: unknown format {fmt!r} (known: {', '.join(READERS)})")
    if not Path(path).is_file():
        raise InputFileError(f"{path}: no such file")
    data = READERS[fmt](path)
    if data.xyz.ndim != 2 or data.xyz.shape[1] != 3:
        raise fail(path, f"coordinates have shape {data.xyz.shape}, expected (N,3)")
    return handle_nonfinite(path, data, drop_nonfinite)


def write_points(path, xyz, attributes: dict | None = None, *, format: str | None = None) -> None:
    """Write points as PLY, NPY or KITTI .bin (chosen by ``format`` or the extension)."""
    fmt = format or _by_extension(Path(path).name)
    if fmt == "nuscenes":
        fmt = None
    if fmt not in WRITERS:
        raise InputFileError(f"{path}: cannot write this format (use .ply, .npy or .bin)")
    WRITERS[fmt](path, xyz, attributes)
