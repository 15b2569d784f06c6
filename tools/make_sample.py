#!/usr/bin/env python3
"""Generate the sample scene shipped in the package: python/pcstream/data/sample.ply.

A (2,3) torus knot tube voxelized on a 10-bit grid (integer coordinates in 0..1023 stored
as float32, the object centred in the grid like the MPEG 8i frames), coloured by position along the knot and shaded around the tube.
Fully deterministic: running it again writes the same file.

    python tools/make_sample.py [OUT.ply]
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from plyfile import PlyData, PlyElement

OUT = Path(__file__).resolve().parent.parent / "python" / "pcstream" / "data" / "sample.ply"
GRID = 1024          # 10-bit depth
KNOT_P, KNOT_Q = 2, 3
TUBE = 0.035         # tube radius relative to the knot's scale
SPAN = 300           # voxels spanned by the knot, centred in the grid (like the 8i frames)


def knot(t: np.ndarray) -> np.ndarray:
    r = np.cos(KNOT_Q * t) + 2.0
    return np.stack([r * np.cos(KNOT_P * t), r * np.sin(KNOT_P * t), -np.sin(KNOT_Q * t)], axis=1)


def hsv_to_rgb(h, s, v):
    i = np.floor(h * 6.0).astype(int) % 6
    f = h * 6.0 - np.floor(h * 6.0)
    p, q, t = v * (1 - s), v * (1 - s * f), v * (1 - s * (1 - f))
    table = [(v, t, p), (q, v, p), (p, v, t), (p, q, v), (t, p, v), (v, p, q)]
    rgb = np.zeros((h.size, 3))
    for k, (a, b, c) in enumerate(table):
        m = i == k
        rgb[m] = np.stack([a[m], b[m], c[m]], axis=1)
    return rgb


def build() -> tuple[np.ndarray, np.ndarray]:
    nt, nphi = 6000, 260
    t = np.linspace(0, 2 * np.pi, nt, endpoint=False)
    phi = np.linspace(0, 2 * np.pi, nphi, endpoint=False)
    c = knot(t)
    tangent = knot(t + 1e-4) - knot(t - 1e-4)
    tangent /= np.linalg.norm(tangent, axis=1, keepdims=True)
    normal = np.cross(tangent, [0.0, 0.0, 1.0])
    normal /= np.linalg.norm(normal, axis=1, keepdims=True)
    binormal = np.cross(tangent, normal)
    scale = 3.0 + TUBE * 3.0
    ring = np.cos(phi)[None, :, None] * normal[:, None, :] + np.sin(phi)[None, :, None] * binormal[:, None, :]
    surf = (c[:, None, :] + TUBE * 3.0 * ring) / scale          # in [-1, 1]
    grid = np.round(surf * (SPAN / 2) + GRID / 2).reshape(-1, 3).astype(np.int64)
    hue = np.repeat(t / (2 * np.pi), nphi)
    shade = np.tile(0.55 + 0.45 * np.cos(phi - 0.8), nt)
    rgb = np.round(hsv_to_rgb(hue, np.full(hue.size, 0.75), shade) * 255).astype(np.uint8)
    # One point per occupied voxel, keeping the colour of the first sample that hit it.
    key = (grid[:, 0] << 20) | (grid[:, 1] << 10) | grid[:, 2]
    _, first = np.unique(key, return_index=True)
    first.sort()
    return grid[first], rgb[first]


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    out = Path(argv[0]) if argv else OUT
    xyz, rgb = build()
    rec = np.empty(xyz.shape[0], dtype=[("x", "<f4"), ("y", "<f4"), ("z", "<f4"),
                                         ("red", "u1"), ("green", "u1"), ("blue", "u1")])
    rec["x"], rec["y"], rec["z"] = xyz[:, 0], xyz[:, 1], xyz[:, 2]
    rec["red"], rec["green"], rec["blue"] = rgb[:, 0], rgb[:, 1], rgb[:, 2]
    out.parent.mkdir(parents=True, exist_ok=True)
    PlyData([PlyElement.describe(rec, "vertex", comments=["pcstream sample: (2,3) torus knot, 10-bit voxels"])],
            byte_order="<").write(str(out))
    print(f"{out}: {xyz.shape[0]} points, {out.stat().st_size} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
