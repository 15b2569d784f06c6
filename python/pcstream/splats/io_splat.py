"""antimatter15 `.splat`: 32 bytes per splat (position f32x3, linear scale f32x3, RGBA u8, quaternion u8x4 w,x,y,z)."""
from __future__ import annotations

import numpy as np

from ..errors import InputFileError
from .scene import SH_C0, SplatScene, logit, normalized_rotations, sigmoid


def read_splat(data) -> SplatScene:
    if not isinstance(data, (bytes, bytearray, memoryview)):
        with open(data, "rb") as f:
            data = f.read()
    raw = np.frombuffer(bytes(data), np.uint8)
    if raw.size % 32:
        raise InputFileError(f".splat: {raw.size} bytes is not a multiple of 32")
    n = raw.size // 32
    rec = raw.reshape(n, 32)
    f = rec[:, :24].copy().view("<f4").reshape(n, 6).astype(np.float64)
    if not np.all(np.isfinite(f)):
        raise InputFileError(".splat: non-finite position or scale")
    rgba = rec[:, 24:28].astype(np.float64) / 255.0
    q = normalized_rotations(rec[:, 28:32].astype(np.float64) - 128.0)
    with np.errstate(divide="ignore"):
        ls = np.log(np.maximum(f[:, 3:6], 1e-30))
    return SplatScene(f[:, :3].astype(np.float32), logit(rgba[:, 3]).astype(np.float32),
                      ((rgba[:, :3] - 0.5) / SH_C0).astype(np.float32), np.zeros((n, 0, 3), np.float32),
                      ls.astype(np.float32), q.astype(np.float32), extra={"format": "splat"})


def write_splat(scene: SplatScene) -> bytes:
    """Drops SH bands above degree 0; sorted by nothing (input order)."""
    n = len(scene)
    rec = np.zeros((n, 32), np.uint8)
    f = np.concatenate([scene.positions, np.exp(scene.log_scales.astype(np.float64))], 1).astype("<f4")
    rec[:, :24] = f.view(np.uint8).reshape(n, 24)
    rgba = np.concatenate([0.5 + SH_C0 * scene.f_dc.astype(np.float64), sigmoid(scene.opacity)[:, None]], 1)
    rec[:, 24:28] = np.clip(np.round(rgba * 255), 0, 255).astype(np.uint8)
    q = normalized_rotations(scene.rotations)
    rec[:, 28:32] = np.clip(np.round(q * 128 + 128), 0, 255).astype(np.uint8)
    return rec.tobytes()
