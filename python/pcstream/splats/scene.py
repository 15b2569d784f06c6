"""In-memory 3D Gaussian splat scene (INRIA 3DGS conventions).

Arrays, all float32, N splats:
  positions (N,3)          world coordinates
  opacity (N,)             pre-sigmoid logit
  f_dc (N,3)               SH degree-0 coefficients per colour channel
  sh_rest (N,K,3)          higher SH coefficients, K = (d+1)^2 - 1, coefficient-major
                           (INRIA f_rest_{c*K+k} == sh_rest[:, k, c])
  log_scales (N,3)         natural log of the per-axis standard deviations
  rotations (N,4)          quaternion (w, x, y, z), not necessarily normalised
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..errors import InvalidArgumentError

SH_C0 = 0.28209479177387814
SH_COEFFS = {0: 0, 1: 3, 2: 8, 3: 15}


@dataclass
class SplatScene:
    positions: np.ndarray
    opacity: np.ndarray
    f_dc: np.ndarray
    sh_rest: np.ndarray
    log_scales: np.ndarray
    rotations: np.ndarray
    extra: dict = field(default_factory=dict)  # optional source details (format, flags)

    def __len__(self) -> int:
        return int(self.positions.shape[0])

    @property
    def sh_degree(self) -> int:
        k = self.sh_rest.shape[1]
        for d, kk in SH_COEFFS.items():
            if kk == k:
                return d
        raise InvalidArgumentError(f"sh_rest has {k} coefficients per channel, not a SH degree 0-3 layout")

    def copy(self) -> "SplatScene":
        return SplatScene(self.positions.copy(), self.opacity.copy(), self.f_dc.copy(), self.sh_rest.copy(),
                          self.log_scales.copy(), self.rotations.copy(), dict(self.extra))

    def subset(self, idx) -> "SplatScene":
        return SplatScene(self.positions[idx], self.opacity[idx], self.f_dc[idx], self.sh_rest[idx],
                          self.log_scales[idx], self.rotations[idx], dict(self.extra))

    def with_sh_degree(self, degree: int) -> "SplatScene":
        """Copy truncated (or zero-padded) to SH degree `degree`."""
        k = SH_COEFFS[degree]
        s = self.copy()
        cur = s.sh_rest.shape[1]
        if k <= cur:
            s.sh_rest = np.ascontiguousarray(s.sh_rest[:, :k])
        else:
            pad = np.zeros((len(s), k - cur, 3), np.float32)
            s.sh_rest = np.concatenate([s.sh_rest, pad], 1)
        return s

    def validate(self) -> "SplatScene":
        """Check shapes and finiteness; raises InvalidArgumentError with the offending field."""
        n = len(self)
        shapes = {"positions": (n, 3), "opacity": (n,), "f_dc": (n, 3), "log_scales": (n, 3), "rotations": (n, 4)}
        for name, shp in shapes.items():
            a = getattr(self, name)
            if a.shape != shp:
                raise InvalidArgumentError(f"{name} has shape {a.shape}, expected {shp}")
        if self.sh_rest.ndim != 3 or self.sh_rest.shape[0] != n or self.sh_rest.shape[2] != 3:
            raise InvalidArgumentError(f"sh_rest has shape {self.sh_rest.shape}, expected (N,K,3)")
        self.sh_degree  # noqa: B018 - raises on a bad K
        for name in ("positions", "opacity", "f_dc", "sh_rest", "log_scales", "rotations"):
            a = getattr(self, name)
            bad = ~np.isfinite(a)
            if bad.any():
                i = int(np.argwhere(bad)[0][0])
                raise InvalidArgumentError(f"{name} of splat {i} is not finite (NaN or infinity)")
        return self

    @staticmethod
    def empty(n: int = 0, sh_degree: int = 0) -> "SplatScene":
        q = np.zeros((n, 4), np.float32)
        q[:, 0] = 1
        return SplatScene(np.zeros((n, 3), np.float32), np.zeros(n, np.float32), np.zeros((n, 3), np.float32),
                          np.zeros((n, SH_COEFFS[sh_degree], 3), np.float32), np.zeros((n, 3), np.float32), q)


def normalized_rotations(q: np.ndarray) -> np.ndarray:
    """Unit quaternions with w >= 0; degenerate (zero or non-finite norm) become identity."""
    q = np.asarray(q, np.float64)
    nrm = np.linalg.norm(q, axis=1, keepdims=True)
    ok = (nrm[:, 0] > 1e-12) & np.isfinite(nrm[:, 0])
    out = np.zeros_like(q)
    out[:, 0] = 1.0
    out[ok] = q[ok] / nrm[ok]
    out[out[:, 0] < 0] *= -1
    return out


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-np.asarray(x, np.float64)))


def logit(p):
    p = np.clip(np.asarray(p, np.float64), 1e-7, 1 - 1e-7)
    return np.log(p / (1 - p))
