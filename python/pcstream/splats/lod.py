"""Level of detail for splat scenes: representative splats of octree voxels.

Each chosen octree level above the finest carries one representative per
occupied voxel, merged from the splats inside it: position the weighted mean,
covariance moment-matched (children's covariances plus their spread about the
mean), colour and SH the weighted mean, opacity the children's covered area
relative to the representative's (capped). Weights are alpha times the
projected-area proxy (s0*s1*s2)^(2/3).
"""
from __future__ import annotations

import numpy as np

from .scene import SplatScene, logit, sigmoid


def choose_levels(keys: np.ndarray, depth: int, *, ratio: int = 4, min_count: int = 256, max_levels: int = 6) -> list:
    """LoD levels (coarse to fine): the finest level with at most N/ratio voxels, then each
    coarser level with at most 1/ratio of the previous, down to `min_count` voxels."""
    n = len(keys)
    levels, limit = [], n / ratio
    for lvl in range(depth - 1, 0, -1):
        cnt = len(np.unique(keys >> np.uint64(3 * (depth - lvl))))
        if cnt <= limit:
            levels.append(lvl)
            limit = cnt / ratio
            if cnt < min_count or len(levels) >= max_levels:
                break
    return levels[::-1]


def _quat_from_matrix(R: np.ndarray) -> np.ndarray:
    """Rotation matrices (N,3,3) -> quaternions (w,x,y,z)."""
    m = R
    t = m[:, 0, 0] + m[:, 1, 1] + m[:, 2, 2]
    q = np.zeros((len(m), 4))
    c0 = t > 0
    s = np.sqrt(np.maximum(t + 1, 1e-12)) * 2
    q[:, 0] = np.where(c0, 0.25 * s, 0)
    q[:, 1] = np.where(c0, (m[:, 2, 1] - m[:, 1, 2]) / s, 0)
    q[:, 2] = np.where(c0, (m[:, 0, 2] - m[:, 2, 0]) / s, 0)
    q[:, 3] = np.where(c0, (m[:, 1, 0] - m[:, 0, 1]) / s, 0)
    for i, (a, b, c) in enumerate(((0, 1, 2), (1, 2, 0), (2, 0, 1))):
        sel = (~c0) & (m[:, a, a] >= m[:, b, b]) & (m[:, a, a] >= m[:, c, c])
        if i:
            for j in range(i):
                aa, bb, cc = ((0, 1, 2), (1, 2, 0), (2, 0, 1))[j]
                sel &= ~((m[:, aa, aa] >= m[:, bb, bb]) & (m[:, aa, aa] >= m[:, cc, cc]))
        if not sel.any():
            continue
        mm = m[sel]
        s2 = np.sqrt(np.maximum(1 + mm[:, a, a] - mm[:, b, b] - mm[:, c, c], 1e-12)) * 2
        qq = np.zeros((sel.sum(), 4))
        qq[:, 0] = (mm[:, c, b] - mm[:, b, c]) / s2
        qq[:, 1 + a] = 0.25 * s2
        qq[:, 1 + b] = (mm[:, b, a] + mm[:, a, b]) / s2
        qq[:, 1 + c] = (mm[:, c, a] + mm[:, a, c]) / s2
        q[sel] = qq
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    return q


def quat_to_rot(q: np.ndarray) -> np.ndarray:
    """Rotation matrices (N,3,3) of quaternions (N,4) in (w, x, y, z) order, normalised first."""
    q = q / np.maximum(np.linalg.norm(q, axis=1, keepdims=True), 1e-12)
    w, x, y, z = q.T
    return np.stack([
        np.stack([1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)], 1),
        np.stack([2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)], 1),
        np.stack([2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)], 1)], 1)


def merge(scene: SplatScene, group_start: np.ndarray) -> SplatScene:
    """Representatives of contiguous groups of splats (group g = rows group_start[g] ..
    group_start[g+1]-1)."""
    n = len(scene)
    alpha = sigmoid(scene.opacity)
    ls = scene.log_scales.astype(np.float64)
    w = alpha * np.exp(ls.sum(1) * (2.0 / 3.0)) + 1e-30
    W = np.add.reduceat(w, group_start)
    gid = np.repeat(np.arange(len(group_start)), np.diff(np.r_[group_start, n]))

    def wmean(x):
        x = x.reshape(n, -1)
        return np.add.reduceat(x * w[:, None], group_start, axis=0) / W[:, None]

    mu = wmean(scene.positions.astype(np.float64))
    R = quat_to_rot(scene.rotations.astype(np.float64))
    S2 = np.exp(2 * ls)
    cov = (R * S2[:, None, :]) @ R.transpose(0, 2, 1)
    d = scene.positions.astype(np.float64) - mu[gid]
    cov = cov + d[:, :, None] * d[:, None, :]
    C = wmean(cov.reshape(n, 9)).reshape(-1, 3, 3)
    lam, V = np.linalg.eigh(C)
    V = V * np.where(np.linalg.det(V) < 0, -1.0, 1.0)[:, None, None]
    lam = np.maximum(lam, 1e-20)
    rep_ls = 0.5 * np.log(lam)
    rep_q = _quat_from_matrix(V)
    area_children = np.add.reduceat(alpha * np.exp(ls.sum(1) * (2.0 / 3.0)), group_start)
    area_rep = np.exp(rep_ls.sum(1) * (2.0 / 3.0))
    rep_alpha = np.clip(area_children / np.maximum(area_rep, 1e-30), 1e-4, 0.99)
    k = scene.sh_rest.shape[1]
    return SplatScene(
        positions=mu.astype(np.float32), opacity=logit(rep_alpha).astype(np.float32),
        f_dc=wmean(scene.f_dc.astype(np.float64)).astype(np.float32),
        sh_rest=wmean(scene.sh_rest.astype(np.float64)).reshape(len(group_start), k, 3).astype(np.float32),
        log_scales=rep_ls.astype(np.float32), rotations=rep_q.astype(np.float32))
