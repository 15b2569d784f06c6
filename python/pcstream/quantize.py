"""Coordinate quantization: float coordinates onto the integer grid the octree codes.

original = q * scale + offset, with q integers in [0, 2**depth). The transform is stored
in the metadata (key ``transform``) so that decoding returns original units.

* integer input: scale 1; offset 0 when the values already fit in [0, 2**21), else the
  per-axis minimum (so 10-bit voxelized frames keep their 10-bit grid);
* float input with ``precision`` (scalar or per axis): q = round((x - origin) / precision)
  shifted to start at 0, i.e. points snap to the grid origin + k * precision;
* float input without ``precision``: inferred when every value is an integer (8i frames
  stored as float) or lies on one regular grid; otherwise an error asks for a precision.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .errors import InvalidArgumentError

#: Largest number of bits per axis the geometry codec accepts.
MAX_BITS = 21


@dataclass
class Quantized:
    q: np.ndarray          # (N,3) int64 in [0, 2**depth)
    scale: np.ndarray      # (3,) float64
    offset: np.ndarray     # (3,) float64
    depth: int             # bits per axis (at least 1)
    exact: bool            # True when dequantize(q) reproduces the input exactly

    def transform(self) -> dict:
        return {"scale": [float(s) for s in self.scale], "offset": [float(o) for o in self.offset]}


def depth_for(qmax: int) -> int:
    """Bits needed to represent 0..qmax (at least 1)."""
    return max(1, int(qmax).bit_length())


def dequantize(q: np.ndarray, transform: dict) -> np.ndarray:
    """Integer (or voxel-centre) coordinates back to original units as float64."""
    scale = np.asarray(transform.get("scale", [1.0, 1.0, 1.0]), dtype=np.float64)
    offset = np.asarray(transform.get("offset", [0.0, 0.0, 0.0]), dtype=np.float64)
    return np.asarray(q, dtype=np.float64) * scale + offset


def _finish(qi: np.ndarray, scale, offset, exact: bool, what: str) -> Quantized:
    if qi.shape[0] == 0:
        return Quantized(qi.astype(np.int64), np.asarray(scale, float), np.asarray(offset, float), 1, exact)
    qmax = int(qi.max())
    depth = depth_for(qmax)
    if depth > MAX_BITS:
        raise InvalidArgumentError(
            f"{what}: the extent needs {depth} bits per axis, at most {MAX_BITS} are supported; "
            f"use a coarser precision")
    return Quantized(qi.astype(np.int64), np.asarray(scale, float), np.asarray(offset, float), depth, exact)


def _check_xyz(xyz) -> np.ndarray:
    xyz = np.asarray(xyz)
    if xyz.ndim != 2 or xyz.shape[1] != 3:
        raise InvalidArgumentError(f"xyz must have shape (N,3), got {xyz.shape}")
    if xyz.dtype.kind not in "fiub":
        raise InvalidArgumentError(f"xyz must be numeric, got dtype {xyz.dtype}")
    if xyz.dtype.kind == "f" and not np.isfinite(xyz).all():
        bad = int((~np.isfinite(xyz).all(axis=1)).sum())
        raise InvalidArgumentError(f"xyz has {bad} points with NaN or infinite coordinates")
    return xyz


def _integer_grid(xi: np.ndarray) -> Quantized:
    lo = xi.min(axis=0)
    hi = xi.max(axis=0)
    if lo.min() >= 0 and hi.max() < (1 << MAX_BITS):
        return _finish(xi, [1.0] * 3, [0.0] * 3, True, "integer coordinates")
    return _finish(xi - lo, [1.0] * 3, lo.astype(np.float64), True, "integer coordinates")


def _infer_step(x: np.ndarray) -> float | None:
    """The spacing of a regular grid holding every value of x, or None."""
    u = np.unique(x)
    if u.size < 2:
        return None
    d = np.diff(u)
    step = float(d.min())
    if step <= 0:
        return None
    k = (u - u[0]) / step
    if np.abs(k - np.round(k)).max() > 1e-4:  # a relative tolerance that admits float32 storage
        return None
    return step


def quantize(xyz, precision=None, *, origin=None) -> Quantized:
    """Map (N,3) coordinates to non-negative integers; see the module docstring."""
    xyz = _check_xyz(xyz)
    if xyz.shape[0] == 0:
        return _finish(np.zeros((0, 3), np.int64), [1.0] * 3, [0.0] * 3, True, "empty")
    if xyz.dtype.kind in "iub":
        return _integer_grid(xyz.astype(np.int64))
    x = xyz.astype(np.float64)
    if precision is None:
        r = np.round(x)
        if np.array_equal(r, x) and np.abs(r).max() < 2.0 ** 52:
            return _integer_grid(r.astype(np.int64))
        # Axes holding a single value fit any grid; the others must share one step.
        varying = [a for a in range(3) if np.unique(xyz[:, a]).size > 1]
        steps = [_infer_step(xyz[:, a]) for a in varying]
        if all(s is not None for s in steps):
            step = min(steps) if steps else 1.0
            lo = x.min(axis=0)
            k = (x - lo) / step
            ki = np.round(k)
            if np.abs(k - ki).max() <= 1e-4 and ki.max() < (1 << MAX_BITS):
                return _finish(ki.astype(np.int64), [step] * 3, lo, True, f"inferred grid step {step:g}")
        raise InvalidArgumentError(
            "coordinates are floats that do not lie on a regular grid: give a precision "
            "(e.g. precision=0.001 for millimetres; --precision on the command line)")
    p = np.broadcast_to(np.asarray(precision, dtype=np.float64), (3,)).copy()
    if not np.all(np.isfinite(p)) or np.any(p <= 0):
        raise InvalidArgumentError(f"precision must be positive, got {precision!r}")
    o = np.zeros(3) if origin is None else np.broadcast_to(np.asarray(origin, np.float64), (3,))
    if x.shape[0] == 0:
        return _finish(np.zeros((0, 3), np.int64), p, o, True, "empty")
    k = (x - o) / p
    kmax = np.abs(k).max()
    if kmax >= 2.0 ** 52:
        raise InvalidArgumentError(f"precision {precision!r} is too fine for coordinates up to {np.abs(x).max():g}")
    qi = np.round(k).astype(np.int64)
    lo = qi.min(axis=0)
    q = qi - lo
    offset = o + lo * p
    exact = bool(np.array_equal(q * p + offset, x))
    ext = (x.max(axis=0) - x.min(axis=0)).max()
    return _finish(q, p, offset, exact, f"precision {precision!r} over an extent of {ext:g}")
