"""Per-attribute fidelity of a decoded splat scene against its original.

Splats are matched by position: the codec reorders splats (Morton order), so
both scenes are put in a canonical order (lexicographic on the quantised
centre, then on the attributes) before comparing; `match="order"` compares
index by index when the caller knows the order is unchanged.
"""
from __future__ import annotations

import numpy as np

from ..errors import InvalidArgumentError
from .scene import SH_C0, SplatScene, normalized_rotations, sigmoid


def _psnr(mse: float, peak: float = 1.0) -> float:
    return float("inf") if mse <= 0 else float(10 * np.log10(peak * peak / mse))


def match_order(a: SplatScene, b: SplatScene, cell: float) -> tuple[np.ndarray, np.ndarray]:
    """Permutations pa, pb so that a[pa][i] and b[pb][i] are the same splat (nearest centres,
    ties broken by opacity and colour). `cell` is the position quantisation step."""
    if len(a) != len(b):
        raise InvalidArgumentError(f"scenes differ in splat count ({len(a)} vs {len(b)})")

    def key(s):
        q = np.floor(s.positions.astype(np.float64) / cell + 0.5).astype(np.int64)
        return np.lexsort((np.round(s.f_dc[:, 0] * 4), np.round(sigmoid(s.opacity) * 16), q[:, 2], q[:, 1], q[:, 0]))

    return key(a), key(b)


def fidelity(orig: SplatScene, dec: SplatScene, *, cell: float | None = None, match: str = "position") -> dict:
    """Errors of `dec` against `orig`: position max error, log-scale max error, rotation
    angle (deg) mean and 99th percentile, opacity PSNR after sigmoid, DC colour PSNR on
    0.5 + C0*f_dc, SH-rest PSNR (peak 1) over the bands both scenes have."""
    if match == "position":
        if cell is None:
            cell = 1.0 / 4096
        pa, pb = match_order(orig, dec, cell)
        a, b = orig.subset(pa), dec.subset(pb)
    elif match == "order":
        a, b = orig, dec
    else:
        raise InvalidArgumentError("match must be 'position' or 'order'")
    out = {"splats": len(a)}
    out["position_max_err"] = float(np.abs(a.positions.astype(np.float64) - b.positions).max()) if len(a) else 0.0
    out["log_scale_max_err"] = float(np.abs(a.log_scales.astype(np.float64) - b.log_scales).max()) if len(a) else 0.0
    qa, qb = normalized_rotations(a.rotations), normalized_rotations(b.rotations)
    dot = np.clip(np.abs((qa * qb).sum(1)), 0, 1)
    ang = np.degrees(2 * np.arccos(dot))
    out["rotation_mean_deg"] = float(ang.mean()) if len(a) else 0.0
    out["rotation_p99_deg"] = float(np.percentile(ang, 99)) if len(a) else 0.0
    out["opacity_psnr"] = _psnr(float(np.mean((sigmoid(a.opacity) - sigmoid(b.opacity)) ** 2)))
    ca = 0.5 + SH_C0 * a.f_dc.astype(np.float64)
    cb = 0.5 + SH_C0 * b.f_dc.astype(np.float64)
    out["dc_psnr"] = _psnr(float(np.mean((ca - cb) ** 2)))
    k = min(a.sh_rest.shape[1], b.sh_rest.shape[1])
    if a.sh_rest.shape[1]:
        ra = a.sh_rest.astype(np.float64)
        rb = np.zeros_like(ra)
        rb[:, :k] = b.sh_rest[:, :k]
        out["sh_psnr"] = _psnr(float(np.mean((ra - rb) ** 2)))
    else:
        out["sh_psnr"] = None
    return out


def fidelity_report(orig: SplatScene, dec: SplatScene, **kw) -> str:
    f = fidelity(orig, dec, **kw)
    lines = [f"{k:20s} {v:.6g}" if isinstance(v, float) else f"{k:20s} {v}" for k, v in f.items()]
    return "\n".join(lines)
