"""Training data for the occupancy model: real clouds from the shared data folder,
augmentation, voxelisation, and every octree scale cut into pieces (``cloud_samples``).

Held out of training (reported on): ``dense/redandblack_vox10_1550.ply`` and
``lidar/semantickitti_14_000374.bin``.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

HELD_OUT = ("dense/redandblack_vox10_1550.ply", "lidar/semantickitti_14_000374.bin")

# (relative path, kind). Kinds: "dense" (voxelised surfaces), "lidar" (metres), "indoor" (metres).
TRAIN_FILES = [
    ("dense/loot_vox10_1200.ply", "dense"),
    ("dense/soldier_vox10_0690_partial.ply", "dense"),
    ("dense/andrew9_frame0000_cwi_depth9.ply", "dense"),
    ("dense/ricardo9_frame0000_cwi_depth9.ply", "dense"),
    ("dense/sarah9_frame0000_cwi_depth9.ply", "dense"),
    ("dense/bun_zipper.ply", "dense"),
    ("lidar/semantickitti_11_000000.bin", "lidar"),
    ("lidar/kitti_det_000008_fovcrop.bin", "lidar"),
    ("lidar/nuscenes_n008_lidar_top.pcd.bin", "lidar"),
    ("sequences/kitti_raw_5frames/0000000000.bin", "lidar"),
    ("sequences/kitti_raw_5frames/0000000002.bin", "lidar"),
    ("sequences/kitti_raw_5frames/0000000004.bin", "lidar"),
    ("indoor/scannet_scene0000_00.bin", "indoor"),
    ("indoor/scannet_scene0706_00.bin", "indoor"),
    ("indoor/sunrgbd_000017.bin", "indoor"),
]


def default_data_dir() -> Path:
    root = Path(__file__).resolve().parents[3]
    return Path(os.environ.get("PCSTREAM_DATA", root.parent / "shared" / "data"))


def load_xyz(path: Path) -> np.ndarray:
    """float64 (N,3) positions of a PLY, KITTI/nuScenes .bin or indoor .bin file."""
    name = path.name
    if name.endswith(".ply"):
        from plyfile import PlyData
        v = PlyData.read(str(path))["vertex"].data
        return np.stack([v["x"], v["y"], v["z"]], 1).astype(np.float64)
    a = np.fromfile(path, np.float32)
    cols = 5 if name.endswith(".pcd.bin") else 6 if path.parent.name == "indoor" else 4
    a = a.reshape(-1, cols)[:, :3].astype(np.float64)
    return a[np.isfinite(a).all(1)]


@dataclass
class Cloud:
    name: str
    kind: str
    xyz: np.ndarray


def load_training_clouds(data_dir: Path | None = None) -> list[Cloud]:
    d = Path(data_dir) if data_dir else default_data_dir()
    out = []
    for rel, kind in TRAIN_FILES:
        assert rel not in HELD_OUT
        p = d / rel
        if p.exists():
            out.append(Cloud(rel, kind, load_xyz(p)))
    return out


def synthetic_surface(rng: np.random.Generator, n: int = 200_000) -> np.ndarray:
    """Points on a random union of spheres, planes and cylinders in the unit cube."""
    parts = []
    for _ in range(rng.integers(1, 5)):
        m = n // 4
        kind = rng.integers(3)
        c = rng.uniform(0.2, 0.8, 3)
        if kind == 0:
            v = rng.normal(size=(m, 3))
            parts.append(c + rng.uniform(0.05, 0.3) * v / np.linalg.norm(v, axis=1, keepdims=True))
        elif kind == 1:
            a, b = np.linalg.qr(rng.normal(size=(3, 3)))[0][:, :2].T
            uv = rng.uniform(-0.3, 0.3, (m, 2))
            parts.append(c + uv[:, :1] * a + uv[:, 1:] * b)
        else:
            th, h = rng.uniform(0, 2 * np.pi, m), rng.uniform(-0.3, 0.3, m)
            r = rng.uniform(0.05, 0.25)
            parts.append(c + np.stack([r * np.cos(th), r * np.sin(th), h], 1))
    return np.concatenate(parts)


def _rotation(rng: np.random.Generator, upright_axis: int | None) -> np.ndarray:
    if upright_axis is None:
        q, _ = np.linalg.qr(rng.normal(size=(3, 3)))
        return q * np.sign(np.linalg.det(q))
    a = rng.uniform(0, 2 * np.pi)
    c, s = np.cos(a), np.sin(a)
    i, j = [k for k in range(3) if k != upright_axis]
    r = np.eye(3)
    r[i, i], r[i, j], r[j, i], r[j, j] = c, -s, s, c
    return r


def augment_voxelize(cloud: Cloud | None, rng: np.random.Generator) -> tuple[np.ndarray, int]:
    """Random rotation, scale, dropout, noise and grid: (unique int64 points (N,3), depth)."""
    if cloud is None:
        xyz, kind = synthetic_surface(rng), "dense"
    else:
        xyz, kind = cloud.xyz, cloud.kind
    keep = rng.uniform(0.6, 1.0) if rng.uniform() < 0.5 else 1.0
    if keep < 1.0:
        xyz = xyz[rng.uniform(size=len(xyz)) < keep]
    if kind == "dense":
        xyz = xyz @ _rotation(rng, 1 if rng.uniform() < 0.7 else None).T
        ext = (xyz.max(0) - xyz.min(0)).max()
        depth = int(rng.choice([8, 9, 10, 10, 11]))
        step = ext / (2 ** depth - 1) * rng.uniform(1.0, 1.6)
    else:
        xyz = xyz @ _rotation(rng, 2).T
        step = float(np.exp(rng.uniform(np.log(0.001), np.log(0.02 if kind == "lidar" else 0.01))))
    if rng.uniform() < 0.3:
        xyz = xyz + rng.normal(scale=step * rng.uniform(0.2, 1.0), size=xyz.shape)
    q = np.floor((xyz - xyz.min(0)) / step).astype(np.int64)
    depth = max(2, int(q.max()).bit_length())
    return _decode_key(np.unique(_key(q))), depth


def _key(v: np.ndarray) -> np.ndarray:
    return (v[:, 0] << 42) | (v[:, 1] << 21) | v[:, 2]


def _decode_key(k: np.ndarray) -> np.ndarray:
    m = (1 << 21) - 1
    return np.stack([k >> 42, (k >> 21) & m, k & m], 1)


def _unique_level(p: np.ndarray, shift: int) -> tuple[np.ndarray, np.ndarray]:
    """Unique voxels of p >> shift and the index of each point's voxel."""
    v = p >> shift
    _, first, inv = np.unique(_key(v), return_index=True, return_inverse=True)
    return v[first], inv.reshape(-1)


def _codes(n_parents: int, child_inv: np.ndarray, child_xyz: np.ndarray) -> np.ndarray:
    octant = ((child_xyz[:, 0] & 1) << 2) | ((child_xyz[:, 1] & 1) << 1) | (child_xyz[:, 2] & 1)
    codes = np.zeros(n_parents, np.int64)
    np.bitwise_or.at(codes, child_inv, 1 << octant)
    return codes


def _spread3(x: np.ndarray) -> np.ndarray:
    """Bits of a 21-bit integer spread to every third bit (Morton interleave helper)."""
    x = x.astype(np.uint64) & np.uint64(0x1FFFFF)
    for shift, mask in ((32, 0x1F00000000FFFF), (16, 0x1F0000FF0000FF), (8, 0x100F00F00F00F00F),
                        (4, 0x10C30C30C30C30C3), (2, 0x1249249249249249)):
        x = (x | (x << np.uint64(shift))) & np.uint64(mask)
    return x


def morton_order(v: np.ndarray) -> np.ndarray:
    """Permutation sorting integer points (N,3) < 2^21 by Morton key (x most significant)."""
    key = (_spread3(v[:, 0]) << np.uint64(2)) | (_spread3(v[:, 1]) << np.uint64(1)) | _spread3(v[:, 2])
    return np.argsort(key, kind="stable")


def cloud_samples(points: np.ndarray, depth: int, budget: int, min_voxels: int = 64):
    """Every scale of one voxelised cloud, cut into pieces of at most about `budget` children.

    Returns a list of (parent_xyz, parent_codes, child_xyz, child_codes), one per piece. The
    children of a level are taken in Morton order and cut only between parents, so each
    piece is a compact region whose parents' codes are complete; neighbours outside a piece
    are missing, as in a crop. One augmented cloud thus feeds every level at once, in
    proportion to its voxels (the fine levels, where the bits are, dominate).
    """
    vox = {depth: _decode_key(np.unique(_key(points)))}
    codes = {}
    for t in range(depth - 1, -1, -1):
        parent, inv = _unique_level(vox[t + 1], 1)
        codes[t] = _codes(len(parent), inv, vox[t + 1])
        vox[t] = parent
    out = []
    for t in range(1, depth):
        child = vox[t]
        if len(child) < min_voxels:
            continue
        order = morton_order(child)
        child, ccodes = child[order], codes[t][order]
        pkey = _key(child >> 1)
        starts = np.flatnonzero(np.r_[True, pkey[1:] != pkey[:-1]])   # first child of each parent
        n_pieces = max(1, int(np.ceil(len(child) / budget)))
        cuts = starts[np.searchsorted(starts, np.linspace(0, len(child), n_pieces + 1)[1:-1].astype(np.int64))]
        bounds = np.r_[0, cuts, len(child)]
        for a, b in zip(bounds[:-1], bounds[1:]):
            if b - a < 8:
                continue
            c = child[a:b]
            parent, inv = _unique_level(c, 1)
            out.append((parent, _codes(len(parent), inv, c), c, ccodes[a:b]))
    return out
