"""Small CPU (numpy) rasteriser for 3D Gaussian splat scenes, for benchmarks only.

Standard 3DGS forward model: EWA projection of each Gaussian's 3D covariance
(R S S^T R^T) through the perspective Jacobian, +0.3 px^2 low-pass dilation,
3-sigma screen footprint, per-pixel front-to-back alpha compositing
(alpha = min(0.99, sigmoid(opacity) * exp(-d^T Sigma^-1 d / 2)), fragments with
alpha < 1/255 skipped), view-dependent colour from SH degree 0-3, black
background. Vectorised over (splat, pixel) fragments and processed in bands
of image rows; slow but fine for 320x240 benchmark renders.

    python bench/rasterizer.py scene.ply out.png [--views 4]
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "python"))

from pcstream.splats.lod import quat_to_rot  # noqa: E402

SH_C0 = 0.28209479177387814
SH_C1 = 0.4886025119029199
SH_C2 = (1.0925484305920792, -1.0925484305920792, 0.31539156525252005, -1.0925484305920792, 0.5462742152960396)
SH_C3 = (-0.5900435899266435, 2.890611442640554, -0.4570457994644658, 0.3731763325901154, -0.4570457994644658,
         1.445305721320277, -0.5900435899266435)


def sh_basis(d: np.ndarray, degree: int) -> np.ndarray:
    """Real SH basis (3DGS sign convention) for unit directions d (N,3): (N, (degree+1)^2)."""
    x, y, z = d[:, 0], d[:, 1], d[:, 2]
    out = [np.full_like(x, SH_C0)]
    if degree >= 1:
        out += [-SH_C1 * y, SH_C1 * z, -SH_C1 * x]
    if degree >= 2:
        xx, yy, zz, xy, yz, xz = x * x, y * y, z * z, x * y, y * z, x * z
        out += [SH_C2[0] * xy, SH_C2[1] * yz, SH_C2[2] * (2 * zz - xx - yy), SH_C2[3] * xz, SH_C2[4] * (xx - yy)]
    if degree >= 3:
        out += [SH_C3[0] * y * (3 * xx - yy), SH_C3[1] * xy * z, SH_C3[2] * y * (4 * zz - xx - yy),
                SH_C3[3] * z * (2 * zz - 3 * xx - 3 * yy), SH_C3[4] * x * (4 * zz - xx - yy),
                SH_C3[5] * z * (xx - yy), SH_C3[6] * x * (xx - 3 * yy)]
    return np.stack(out, 1)


def orbit_cameras(scene, views: int = 4, elevation_deg: float = 20.0, distance: float = 1.0):
    """World-to-camera (R, t) pairs on a circle around the scene's robust centre, camera
    frame x right, y down, z forward (INRIA/COLMAP convention); world 'up' is -y."""
    p = scene.positions.astype(np.float64)
    c = 0.5 * (np.percentile(p, 5, axis=0) + np.percentile(p, 95, axis=0))
    r = np.percentile(np.linalg.norm(p - c, axis=1), 80) * 2.6 * distance
    cams = []
    el = np.radians(elevation_deg)
    for k in range(views):
        az = 2 * np.pi * k / views
        eye = c + r * np.array([np.cos(el) * np.sin(az), -np.sin(el), np.cos(el) * np.cos(az)])
        f = c - eye
        f /= np.linalg.norm(f)
        up = np.array([0.0, -1.0, 0.0])
        right = np.cross(f, up)
        right /= np.linalg.norm(right)
        down = np.cross(f, right)
        R = np.stack([right, down, f])  # rows: camera axes in world
        cams.append((R, -R @ eye))
    return cams


def render(scene, R, t, width: int = 320, height: int = 240, fov_deg: float = 60.0, band: int = 16,
           max_radius: int = 64) -> np.ndarray:
    """Render one view; returns float32 (H, W, 3) in [0, 1]."""
    fx = fy = 0.5 * width / np.tan(np.radians(fov_deg) / 2)
    cx, cy = width / 2, height / 2
    p = scene.positions.astype(np.float64)
    tc = p @ R.T + t
    z = tc[:, 2]
    keep = z > 0.05
    u = fx * tc[:, 0] / np.where(keep, z, 1) + cx
    v = fy * tc[:, 1] / np.where(keep, z, 1) + cy
    keep &= (u > -width) & (u < 2 * width) & (v > -height) & (v < 2 * height)
    idx = np.nonzero(keep)[0]
    tc, z, u, v = tc[idx], z[idx], u[idx], v[idx]
    Rw = quat_to_rot(scene.rotations[idx].astype(np.float64))
    s = np.exp(scene.log_scales[idx].astype(np.float64))
    M = Rw * s[:, None, :]
    cov3 = M @ M.transpose(0, 2, 1)
    J = np.zeros((len(idx), 2, 3))
    J[:, 0, 0] = fx / z
    J[:, 0, 2] = -fx * tc[:, 0] / z ** 2
    J[:, 1, 1] = fy / z
    J[:, 1, 2] = -fy * tc[:, 1] / z ** 2
    T = J @ R
    cov2 = T @ cov3 @ T.transpose(0, 2, 1)
    a = cov2[:, 0, 0] + 0.3
    b = cov2[:, 0, 1]
    c = cov2[:, 1, 1] + 0.3
    det = a * c - b * b
    ok = det > 1e-12
    mid = 0.5 * (a + c)
    lam = mid + np.sqrt(np.maximum(mid * mid - det, 0.1))
    rad = np.minimum(np.ceil(3 * np.sqrt(lam)), max_radius)
    ia, ib, ic = c / det, -b / det, a / det
    # colour
    dirs = p[idx] - (-R.T @ t)
    dirs /= np.maximum(np.linalg.norm(dirs, axis=1, keepdims=True), 1e-12)
    deg = scene.sh_degree
    basis = sh_basis(dirs, deg)
    coeffs = np.concatenate([scene.f_dc[idx][:, None, :].astype(np.float64),
                             scene.sh_rest[idx].astype(np.float64)], 1)
    col = np.clip((basis[:, :, None] * coeffs).sum(1) + 0.5, 0, None)
    op = 1 / (1 + np.exp(-scene.opacity[idx].astype(np.float64)))
    x0 = np.maximum(np.floor(u - rad), 0).astype(np.int64)
    x1 = np.minimum(np.ceil(u + rad), width - 1).astype(np.int64)
    y0 = np.maximum(np.floor(v - rad), 0).astype(np.int64)
    y1 = np.minimum(np.ceil(v + rad), height - 1).astype(np.int64)
    ok &= (x1 >= x0) & (y1 >= y0)
    order = np.argsort(z, kind="stable")
    order = order[ok[order]]
    img = np.zeros((height * width, 3))
    for by in range(0, height, band):
        sel = order[(y0[order] < by + band) & (y1[order] >= by)]
        if not len(sel):
            continue
        yy0 = np.maximum(y0[sel], by)
        yy1 = np.minimum(y1[sel], by + band - 1)
        w = x1[sel] - x0[sel] + 1
        h = yy1 - yy0 + 1
        cnt = w * h
        sid = np.repeat(np.arange(len(sel)), cnt)
        start = np.repeat(np.cumsum(cnt) - cnt, cnt)
        loc = np.arange(len(sid)) - start
        px = x0[sel][sid] + loc % w[sid]
        py = yy0[sid] + loc // w[sid]
        g = sel[sid]
        dx = px + 0.5 - u[g]
        dy = py + 0.5 - v[g]
        power = -0.5 * (ia[g] * dx * dx + 2 * ib[g] * dx * dy + ic[g] * dy * dy)
        alpha = np.minimum(0.99, op[g] * np.exp(np.minimum(power, 0)))
        m = alpha >= 1 / 255
        pix = (py * width + px)[m]
        alpha, g = alpha[m], g[m]
        srt = np.argsort(pix, kind="stable")  # keeps depth order within a pixel
        pix, alpha, g = pix[srt], alpha[srt], g[srt]
        la = np.log1p(-alpha)
        cs = np.cumsum(la)
        first = np.r_[True, pix[1:] != pix[:-1]]
        seg_start = np.maximum.accumulate(np.where(first, np.arange(len(pix)), 0))
        excl = cs - la - (cs[seg_start] - la[seg_start])  # log transmittance before this fragment
        Tr = np.exp(excl)
        wgt = alpha * Tr * (Tr > 1e-4)
        for ch in range(3):
            img[:, ch] += np.bincount(pix, wgt * col[g, ch], minlength=height * width)
    return img.reshape(height, width, 3).astype(np.float32)


def render_views(scene, views: int = 4, cams=None, **kw):
    cams = cams or orbit_cameras(scene, views)
    return [render(scene, R, t, **kw) for R, t in cams]


def render_psnr(orig, dec, views: int = 4, **kw) -> tuple[float, list]:
    """Mean PSNR (peak 1, images clipped to [0,1]) over orbit views of `orig`'s cameras."""
    cams = orbit_cameras(orig, views)
    ps = []
    for R, t in cams:
        a = np.clip(render(orig, R, t, **kw), 0, 1)
        b = np.clip(render(dec, R, t, **kw), 0, 1)
        mse = float(np.mean((a - b) ** 2))
        ps.append(float("inf") if mse == 0 else 10 * np.log10(1 / mse))
    return float(np.mean(ps)), ps


def save_png(img: np.ndarray, path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    plt.imsave(str(path), np.clip(img, 0, 1))


if __name__ == "__main__":
    import argparse
    from pcstream.splats import load
    ap = argparse.ArgumentParser()
    ap.add_argument("scene")
    ap.add_argument("out")
    ap.add_argument("--views", type=int, default=4)
    a = ap.parse_args()
    sc = load(a.scene)
    imgs = render_views(sc, a.views)
    save_png(np.concatenate(imgs, 1), a.out)
