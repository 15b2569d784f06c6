"""SPLT codec (codec id 6): 3D Gaussian splat scenes in seconds, one quality knob, progressive order.

Layout of an encoded scene (this module's own framing, see formats/splats.md):
positions (sorted Morton keys of the quantised centres), then SPLT chunks in
progressive order: opacity + DC colour, scale + rotation, then one chunk per SH
band. Every attribute is quantised with a step derived from the single
``quality`` value, coded in Morton order by the context-adaptive residual coder
of the C++ core (pcstream._core.splat_encode_columns).
"""
from __future__ import annotations

import math

import struct
from dataclasses import dataclass, field

import msgpack
import numpy as np

from ..errors import CorruptPayloadError, InvalidArgumentError, LimitError, TruncatedError, UnsupportedError
from concurrent.futures import ThreadPoolExecutor

from . import lod as lod_mod
from .scene import SH_COEFFS, SplatScene, logit, normalized_rotations, sigmoid

MAGIC = b"PCSPLAT\x00"
FORMAT_VERSION = 3
# v1: one-slice adaptive column coder; v2: sliced (parallel) adaptive coder; v3: sliced static-table rANS
SUPPORTED_VERSIONS = (1, 2, 3)
CODEC_ID = 6
#: Chunk types holding the positions: sorted Morton keys, classic octree (codec 1), fast octree (codec 11).
POSITION_CHUNKS = (b"POSK", b"GEOM", b"GEOF")
MAX_SPLATS = 1 << 27
MAX_DEPTH = 21

# Orthonormal colour decorrelation (luma-like mean, two chroma differences).
_T = np.array([[1, 1, 1], [1, -1, 0], [1, 1, -2]], np.float64)
_T /= np.linalg.norm(_T, axis=1, keepdims=True)
_T32 = np.ascontiguousarray(_T, np.float32)

# Quantisation steps at quality 0.5: about SPZ v4's fidelity on every attribute measure
# (position max error <= 1/8192 at the default grid, log-scale max error 1/32, rotation
# about 0.079 deg mean, DC colour >= 43.7 dB, SH-rest about 29.5 dB; opacity on SPZ's
# 8-bit grid, so 8-bit-quantised sources keep their exact opacity).
BASE_STEPS = {
    "opacity": 1.0 / 255.0,   # sigmoid domain
    "dc": 0.076,              # f_dc, decorrelated colour domain
    "scale": 1.0 / 16.0,      # log scale (SPZ's grid)
    "rotation": 0.00120,      # smallest-three quaternion components
    "sh": 0.135,              # SH rest, decorrelated colour domain (with a 0.1-step dead zone)
}
SH_DEADZONE = 0.1
MIN_POSITION_LEVELS = 2048
# How fast each step grows below quality 0.5 (log2 of the step per unit of 6*(0.5-q)):
# measured render-PSNR cost per byte saved (bench/splats.py --rd): rotations matter
# least for the rendered image, then opacity, scale and positions; DC colour and SH most.
STEP_SLOPES_LOW = {"opacity": 1.67, "dc": 0.33, "scale": 0.98, "rotation": 3.0, "sh": 0.2, "position": 1.1}
# Above 0.5 every step halves per 1/6 of quality (positions stay at the grid the user set).
STEP_SLOPES_HIGH = {"opacity": 1.0, "dc": 1.0, "scale": 1.0, "rotation": 1.0, "sh": 1.0, "position": 0.0}
PRESETS = {"high": 0.65, "spz": 0.5, "small": 0.2}
BAND_SLICES = {1: (0, 3), 2: (3, 8), 3: (8, 15)}
MAX_ROTATION_STEP = 0.5

GROUP_OPDC, GROUP_SCROT = 1, 2  # SH band b has group 2 + b


def steps_for_quality(quality: float) -> dict:
    """Per-attribute quantisation steps from the one quality knob in [0, 1] (0 smallest
    stream, 1 finest). 0.5 is about SPZ v4's fidelity; "position" is the multiplier of
    the default position grid (a power of two, so SPZ-aligned grids stay aligned)."""
    q = float(quality)
    if not (0.0 <= q <= 1.0):
        raise InvalidArgumentError("quality must be in [0, 1]")
    u = 6.0 * (0.5 - q)
    slopes = STEP_SLOPES_LOW if u > 0 else STEP_SLOPES_HIGH
    out = {k: v * 2.0 ** (slopes[k] * u) for k, v in BASE_STEPS.items()}
    out["rotation"] = min(out["rotation"], MAX_ROTATION_STEP)
    out["opacity"] = 1.0 / max(2, int(round(1.0 / out["opacity"])))
    out["position"] = 2.0 ** int(round(slopes["position"] * u)) if u > 0 else 1.0
    return out


@dataclass
class EncodeOptions:
    quality: float = 0.5
    position_step: float | None = None   # default: 1/4096, coarser only if the extent needs > 21 bits
    max_sh_degree: int | None = None
    positions: str = "keys"              # "keys": Morton-delta (fast); "octree-fast": fast octree geometry
                                         # codec (codec 11); "octree": classic geometry codec (codec 1)
    lod: bool = False                    # add representative splats of coarser octree levels
    importance: bool = True              # below quality 0.5: coarser rotations where they matter little
    steps: dict = field(default_factory=dict)  # per-attribute overrides


# ---------------------------------------------------------------- helpers

def _qround(x, step):
    return np.floor(np.asarray(x, np.float64) / step + 0.5).astype(np.int64)


def _deadzone(x, step, theta):
    """Rounding towards zero by `theta` steps (more zeros for near-Laplacian SH coefficients;
    the decoder reconstructs q * step as usual)."""
    x = np.asarray(x, np.float64) / step
    if theta <= 0.5:  # |x| + (0.5 - theta) >= 0: truncation of x +- (0.5 - theta) is the same rounding, faster
        return np.trunc(x + np.copysign(0.5 - theta, x)).astype(np.int64)
    a = np.abs(x) + (0.5 - theta)
    return (np.sign(x) * np.floor(np.maximum(a, 0.0))).astype(np.int64)


def _to_i32(a: np.ndarray, what: str) -> np.ndarray:
    if a.size and (a.min() < -(1 << 30) or a.max() > (1 << 30)):
        raise InvalidArgumentError(f"{what}: quantised values out of range (step too small for the data)")
    return np.ascontiguousarray(a, np.int32)


def _opacity_side(op_q: np.ndarray, nlev: int) -> np.ndarray:
    """Side class from the decoded opacity: 4 classes (contexts for later groups)."""
    return np.minimum(op_q * 4 // max(nlev + 1, 1), 3).astype(np.uint8)


SH_SIDE = 16


def _sh_side(band1_q: np.ndarray, op_side: np.ndarray) -> np.ndarray:
    """Side class of higher SH bands: energy of the splat's decoded band 1 (4 levels) x opacity class."""
    e = np.abs(band1_q).sum(1)
    lvl = np.where(e == 0, 0, np.where(e <= 2, 1, np.where(e <= 6, 2, 3)))
    return (lvl * 4 + op_side).astype(np.uint8)


# Rotation importance (stream version 2). A splat's rotation matters for the rendered image in
# proportion to alpha^2 x projected area x anisotropy^2 (a near-isotropic, small or transparent
# splat looks the same under any rotation), so its rotation step is 2^k times the base step
# with k = clip(round(t - ref), 0, kmax), t = -log2(alpha) - log2(area)/2 - log2(anisotropy) in
# quarter units. Everything is computed from already-decoded integers with exact float
# operations (frexp, products, comparisons; no libm), so encoder and decoder always agree.
_ANISO_NATS = np.array([1.227947, 0.693147, 0.436265, 0.287682, 0.194528, 0.133531, 0.092541, 0.064539,
                        0.0452, 0.031749, 0.022345, 0.015748, 0.01111, 0.007843, 0.00554, 0.003914])[::-1].copy()
_INV_LN2 = 1.4426950408889634
ROT_IMPORTANCE_PERCENTILE = 95.0
MAX_IMPORTANCE_ROT_STEP = 0.25  # largest per-splat rotation step the shifts may reach
MAX_ROT_SHIFT = 24


def _half_log2(x: np.ndarray) -> np.ndarray:
    """floor(2 log2 x) / 2 for x > 0 (exact: frexp and one comparison)."""
    m, e = np.frexp(x)
    return (e - 1) + 0.5 * (m >= 0.7071067811865476)


def _rotation_t(op_q: np.ndarray, scale_q: np.ndarray, nlev: int, scale_step: float) -> np.ndarray:
    """Rotation unimportance t (log2 units, multiples of 1/4) from decoded opacity and log-scale integers."""
    a = np.maximum(op_q.astype(np.float64), 0.5) / nlev          # alpha level 0 counts as half a level
    sq = np.sort(scale_q.astype(np.int64), 1)
    log2_area = np.floor((sq[:, 1] + sq[:, 2]).astype(np.float64) * scale_step * (2.0 * _INV_LN2)) / 2.0
    d = (sq[:, 2] - sq[:, 0]).astype(np.float64) * scale_step     # log-scale spread, nats
    aniso_half = len(_ANISO_NATS) - np.searchsorted(_ANISO_NATS, d, side="left")
    return -_half_log2(a) - 0.5 * log2_area + 0.5 * aniso_half


def _rotation_shift(op_q, scale_q, nlev: int, scale_step: float, imp: dict | None) -> np.ndarray:
    """Per-splat rotation step exponent k (0 without importance)."""
    if not imp:
        return np.zeros(len(op_q), np.int64)
    t = _rotation_t(op_q, scale_q, nlev, scale_step)
    return np.clip(np.floor(t - float(imp["ref"]) + 0.5), 0, int(imp["kmax"])).astype(np.int64)


def rotation_importance(op_q, scale_q, nlev: int, scale_step: float, rot_step: float, quality: float) -> dict | None:
    """Encoder's choice: reference at the 95th percentile of t (the most important 5 % keep the
    base step), shifts up to a rotation step of 1; none at quality >= 0.5 (mean-error fidelity)."""
    if quality >= 0.5 or len(op_q) == 0:
        return None
    t = _rotation_t(op_q, scale_q, nlev, scale_step)
    ref = float(np.floor(np.percentile(t, 100.0 - ROT_IMPORTANCE_PERCENTILE) * 4.0) / 4.0)
    kmax = int(max(0, min(MAX_ROT_SHIFT, math.floor(math.log2(MAX_IMPORTANCE_ROT_STEP / rot_step)))))
    return {"ref": ref, "kmax": kmax} if kmax > 0 else None


def _quantise(s: SplatScene, steps: dict, nlev: int, imp: dict | None = None) -> list:
    """Integer matrices of the coded groups: [opacity+DC (n,4), scale+rotation (n,7), SH band 1.. (n,3*coeffs)]."""
    n = len(s)
    op_q = np.clip(_qround(sigmoid(s.opacity), 1.0 / nlev), 0, nlev)
    dc_q = _qround(s.f_dc.astype(np.float64) @ _T.T, steps["dc"])
    mats = [_to_i32(np.concatenate([op_q[:, None], dc_q], 1), "opacity/colour")]
    idx, rest = smallest_three(s.rotations)
    scale_q = _qround(s.log_scales, steps["scale"])
    kr = _rotation_shift(op_q, scale_q, nlev, steps["scale"], imp)
    rot_q = _qround(rest, steps["rotation"] * np.ldexp(1.0, kr)[:, None])
    mats.append(_to_i32(np.concatenate([scale_q, idx[:, None], rot_q], 1), "scale/rotation"))
    sh = s.sh_rest.astype(np.float64)
    for b in range(1, s.sh_degree + 1):
        a, e = BAND_SLICES[b]
        mats.append(_to_i32(_deadzone(sh[:, a:e] @ _T.T, steps["sh"], SH_DEADZONE).reshape(n, 3 * (e - a)),
                            f"SH band {b}"))
    return mats


def _sides(mats: list, nlev: int, count: int) -> list:
    """(side classes, count) of `count` groups; group i's classes derive only from groups < i
    (mats[0], and mats[2] for groups > 2, must be present)."""
    side = _opacity_side(mats[0][:, 0].astype(np.int64), nlev)
    out = [(None, 1), (side, 4), (side, SH_SIDE)]
    if count > 3:
        out += [(_sh_side(mats[2], side), SH_SIDE)] * (count - 3)
    return out[:count]


def _dequantise(mats: list, steps: dict, nlev: int, n: int, base: SplatScene, imp: dict | None = None) -> SplatScene:
    """Fill `base` (positions set) from the decoded integer groups present in `mats`."""
    scene = base
    if len(mats) >= 1:
        g1 = mats[0]
        op = g1[:, 0]
        if n and (op.min() < 0 or op.max() > nlev):
            raise CorruptPayloadError("splat stream: opacity level out of range")
        scene.opacity = logit(np.arange(nlev + 1) / nlev).astype(np.float32)[op]
        scene.f_dc = _core().splat_dequantise_colour(np.ascontiguousarray(g1[:, 1:4]), 1, float(steps["dc"]),
                                                      _T32).reshape(n, 3)
    if len(mats) >= 2:
        g2 = mats[1]
        scene.log_scales = g2[:, 0:3].astype(np.float32) * np.float32(steps["scale"])
        rsteps = None
        if imp:
            kr = _rotation_shift(mats[0][:, 0], g2[:, 0:3], nlev, float(steps["scale"]), imp)
            rsteps = (float(steps["rotation"]) * np.ldexp(1.0, kr)).astype(np.float32)
        scene.rotations = _core().splat_rotations_from_smallest_three(np.ascontiguousarray(g2[:, 3:7]), rsteps,
                                                                      float(steps["rotation"]))
    bands = []
    for b in range(1, len(mats) - 1):
        a, e = BAND_SLICES[b]
        bands.append(_core().splat_dequantise_colour(mats[1 + b], e - a, float(steps["sh"]), _T32))
    scene.sh_rest = np.concatenate(bands, 1) if bands else np.zeros((n, 0, 3), np.float32)
    return scene


def smallest_three(q_wxyz: np.ndarray):
    """Sign-canonical smallest-three: index of the largest |component| (made positive) and
    the other three components in their original order, each in [-1/sqrt2, 1/sqrt2]."""
    q = normalized_rotations(q_wxyz)
    n = len(q)
    idx = np.argmax(np.abs(q), 1)
    q = q * np.where(q[np.arange(n), idx] < 0, -1.0, 1.0)[:, None]
    keep = np.ones((n, 4), bool)
    keep[np.arange(n), idx] = False
    rest = q[keep].reshape(n, 3)
    return idx, rest


_KEEP = np.array([[1, 2, 3], [0, 2, 3], [0, 1, 3], [0, 1, 2]])


def from_smallest_three(idx: np.ndarray, rest: np.ndarray) -> np.ndarray:
    """Unit quaternions (float32, w >= 0) from the index of the dropped component and the other three."""
    n = len(idx)
    lim = np.float32(np.sqrt(0.5))
    rest = np.clip(rest.astype(np.float32), -lim, lim)
    q = np.empty((n, 4), np.float32)
    rows = np.arange(n)[:, None]
    q[rows, _KEEP[idx]] = rest
    q[np.arange(n), idx] = np.sqrt(np.maximum(np.float32(1) - (rest * rest).sum(1), 0))
    q /= np.sqrt((q * q).sum(1))[:, None]
    q *= np.where(q[:, 0] < 0, np.float32(-1), np.float32(1))[:, None]
    return q


def _core():
    from .. import _core
    return _core


def _encode_columns(version, data, side=None, nside=1, ext=None) -> bytes:
    core = _core()
    if version == 1:
        return core.splat_encode_columns(data, side, nside, ext)
    if version == 2:
        return core.splat_encode_columns_v2(data, side, nside, ext)
    return core.splat_encode_columns_v3(data, side, nside, ext)


def _encode_keys(version, keys) -> bytes:
    core = _core()
    return core.splat_encode_keys(keys) if version < 3 else core.splat_encode_keys_v3(keys)


def _decode_keys(version, payload, n, key_bits) -> np.ndarray:
    core = _core()
    return core.splat_decode_keys(payload, n, key_bits) if version < 3 else core.splat_decode_keys_v3(payload, n, key_bits)


def _decode_columns(version, payload, n, cols, side=None, nside=1, ext=None) -> np.ndarray:
    core = _core()
    if version == 1:
        return core.splat_decode_columns(payload, n, cols, side, nside, ext)
    if version == 2:
        return core.splat_decode_columns_v2(payload, n, cols, side, nside, ext)
    return core.splat_decode_columns_v3(payload, n, cols, side, nside, ext)


# ---------------------------------------------------------------- encoder

def encode(scene: SplatScene, quality: float | str = 0.5, *, return_order: bool = False, _parts: dict | None = None,
           **kw):
    """Encode a scene; returns the self-contained byte stream (see formats/splats.md).

    quality: float in [0, 1] or a preset name ("high", "spz", "small").
    Options: position_step, max_sh_degree, steps (dict of per-attribute step overrides).
    return_order: also return `order` (int64) with decoded[i] == scene[order[i]].
    """
    if isinstance(quality, str):
        if quality not in PRESETS:
            raise InvalidArgumentError(f"unknown preset {quality!r}; presets: {sorted(PRESETS)}")
        quality = PRESETS[quality]
    opts = EncodeOptions(quality=float(quality), **kw)
    scene.validate()
    if opts.max_sh_degree is not None and opts.max_sh_degree < scene.sh_degree:
        scene = scene.with_sh_degree(opts.max_sh_degree)
    n = len(scene)
    if n > MAX_SPLATS:
        raise LimitError(f"{n} splats exceed the encoder limit {MAX_SPLATS}")
    steps = steps_for_quality(opts.quality)
    steps.update(opts.steps)
    if opts.position_step is not None:
        steps.pop("position", None)
    core = _core()

    # Positions: grid aligned to multiples of the step (lossless on SPZ-quantised input).
    pos = scene.positions.astype(np.float64)
    step = opts.position_step
    lo = pos.min(0) if n else np.zeros(3)
    hi = pos.max(0) if n else np.zeros(3)
    extent = float((hi - lo).max()) if n else 0.0
    if step is None:
        # The quality knob may coarsen the default grid, but never below MIN_POSITION_LEVELS
        # steps across the scene (small scenes are already coarse on the 1/4096 grid).
        mult = steps.pop("position", 1.0)
        while mult > 1 and extent / (mult / 4096) < MIN_POSITION_LEVELS:
            mult /= 2
        step = mult / 4096
        while extent / step >= (1 << MAX_DEPTH) - 2:
            step *= 2.0
    if not (step > 0 and np.isfinite(step)):
        raise InvalidArgumentError("position_step must be positive")
    origin = np.floor(lo / step) * step
    qp = _qround(pos - origin, step)
    if n and qp.max() >= (1 << MAX_DEPTH):
        raise InvalidArgumentError(f"position_step {step} too fine for the scene extent ({MAX_DEPTH} bits per axis)")
    depth = max(1, int(qp.max()).bit_length()) if n else 1
    qp = np.ascontiguousarray(qp, np.uint32)
    if opts.positions == "octree":
        ghead, gchunks, order = core.splat_encode_positions(qp, depth)
        geometry = (ghead, list(gchunks))
        chunks = [(b"GEOM", _pack_list([ghead] + [c[0] for c in gchunks]))]
    elif opts.positions == "octree-fast":
        ghead, fchunks, order = core.fast_geometry_encode(qp, depth)
        gchunks = [(p, lo, hi, cnt) for lo, hi, p, cnt in fchunks]
        geometry = (ghead, gchunks)
        chunks = [(b"GEOF", _pack_list([ghead] + [c[0] for c in gchunks]))]
    elif opts.positions == "keys":
        keys = core.splat_morton_codes(qp)
        order = np.argsort(keys, kind="stable")
        chunks = [(b"POSK", _encode_keys(FORMAT_VERSION, keys[order]))]
        geometry = None
    else:
        raise InvalidArgumentError("positions must be 'keys', 'octree-fast' or 'octree'")
    s = scene.subset(order)
    nlev = int(round(1.0 / steps["opacity"]))
    imp = None
    if opts.importance and FORMAT_VERSION >= 2:
        imp = rotation_importance(np.clip(_qround(sigmoid(s.opacity), 1.0 / nlev), 0, nlev),
                                  _qround(s.log_scales, steps["scale"]), nlev, steps["scale"], steps["rotation"],
                                  opts.quality)
    mats = _quantise(s, steps, nlev, imp)
    sides = _sides(mats, nlev, len(mats))

    # Level of detail: representatives of coarser octree voxels, coded before the full scene.
    lod_levels, ext = [], [None] * len(mats)
    if opts.lod and n:
        keys = core.splat_morton_codes(qp[order])
        lod_levels = lod_mod.choose_levels(keys, depth)
        prev_vox, prev_mats, prev_level = None, None, None
        for lvl in lod_levels:
            vk = keys >> np.uint64(3 * (depth - lvl))
            starts = np.flatnonzero(np.r_[True, vk[1:] != vk[:-1]])
            vox = vk[starts]
            rmats = _quantise(lod_mod.merge(s, starts), steps, nlev, imp)
            flat = np.concatenate(rmats, 1)
            pext = None
            if prev_vox is not None:
                pidx = np.searchsorted(prev_vox, vox >> np.uint64(3 * (lvl - prev_level)))
                pext = np.concatenate(prev_mats, 1)[pidx]
            body = _pack_list([_encode_keys(FORMAT_VERSION, vox), _encode_columns(FORMAT_VERSION, flat, None, 1, pext)])
            chunks.insert(len([c for c in chunks if c[0] == b"LODL"]),
                          (b"LODL", bytes([lvl]) + struct.pack("<I", len(vox)) + body))
            prev_vox, prev_mats, prev_level = vox, rmats, lvl
        pidx = np.searchsorted(prev_vox, keys >> np.uint64(3 * (depth - prev_level)))
        ext = [m[pidx] for m in prev_mats]

    def enc(i):
        side, nside = sides[i]
        if i == 1:
            return _group_payload(2, _encode_scale_rotation(mats, side, nside, ext[1], nlev, steps, imp))
        return _group_payload(i + 1, _encode_columns(FORMAT_VERSION, mats[i], side, nside, ext[i]))

    with ThreadPoolExecutor(max_workers=2) as pool:
        payloads = list(pool.map(enc, range(len(mats))))
    chunks += [(b"SPLT", p) for p in payloads]

    header = {
        "v": FORMAT_VERSION, "n": n, "sh": s.sh_degree, "depth": depth, "pos_step": step,
        "origin": [float(x) for x in origin], "quality": opts.quality,
        "steps": {k: float(v) for k, v in steps.items() if k != "position"}, "opacity_levels": nlev, "lod": lod_levels,
    }
    if imp:
        header["rot_imp"] = imp
    hb = msgpack.packb(header)
    out = [MAGIC, struct.pack("<I", len(hb)), hb]
    for typ, payload in chunks:
        out += [typ, struct.pack("<HI", CODEC_ID, len(payload)), payload]
    blob = b"".join(out)
    if _parts is not None:
        _parts.update(header=header, chunks=chunks, geometry=geometry, order=order)
    return (blob, order) if return_order else blob


def _rotation_side(mats: list, scale_q: np.ndarray, nlev: int, steps: dict, imp) -> np.ndarray:
    """Side classes of the rotation columns (v2): rotation step class x opacity class."""
    kr = _rotation_shift(mats[0][:, 0], scale_q, nlev, float(steps["scale"]), imp)
    return (np.minimum(kr, 3) * 4 + _opacity_side(mats[0][:, 0].astype(np.int64), nlev)).astype(np.uint8)


def _encode_scale_rotation(mats, side, nside, ext, nlev, steps, imp) -> bytes:
    """Group 2. v2, v3: log-scales first, then (index, rotation) with contexts from the decoded scales."""
    g = mats[1]
    if FORMAT_VERSION == 1:
        return _encode_columns(1, g, side, nside, ext)
    sc = np.ascontiguousarray(g[:, 0:3])
    ro = np.ascontiguousarray(g[:, 3:7])
    a = _encode_columns(FORMAT_VERSION, sc, side, nside, None if ext is None else np.ascontiguousarray(ext[:, 0:3]))
    b = _encode_columns(FORMAT_VERSION, ro, _rotation_side(mats, sc, nlev, steps, imp), 16,
                        None if ext is None else np.ascontiguousarray(ext[:, 3:7]))
    return _pack_list([a, b])


def _decode_scale_rotation(version, payload, n, g1, side, nside, ext, nlev, steps, imp) -> np.ndarray:
    if version == 1:
        return _decode_columns(1, payload, n, 7, side, nside, ext)
    a, b = _unpack_list(payload, 2, exact=2)
    sc = _decode_columns(version, a, n, 3, side, nside, None if ext is None else np.ascontiguousarray(ext[:, 0:3]))
    ro = _decode_columns(version, b, n, 4, _rotation_side([g1], sc, nlev, steps, imp), 16,
                         None if ext is None else np.ascontiguousarray(ext[:, 3:7]))
    return np.concatenate([sc, ro], 1)


def _pack_list(parts) -> bytes:
    out = [struct.pack("<I", len(parts))]
    for p in parts:
        out += [struct.pack("<I", len(p)), p]
    return b"".join(out)


def _unpack_list(data: bytes, max_parts: int = 64, exact: int | None = None) -> list:
    if len(data) < 4:
        raise TruncatedError("splat stream: geometry chunk truncated")
    (k,) = struct.unpack_from("<I", data, 0)
    if k < 1 or k > max_parts or (exact is not None and k != exact):
        raise CorruptPayloadError(f"splat stream: geometry chunk lists {k} parts")
    p, out = 4, []
    for _ in range(k):
        if p + 4 > len(data):
            raise TruncatedError("splat stream: geometry chunk truncated", p)
        (ln,) = struct.unpack_from("<I", data, p)
        if p + 4 + ln > len(data):
            raise TruncatedError("splat stream: geometry part truncated", p)
        out.append(data[p + 4:p + 4 + ln])
        p += 4 + ln
    if p != len(data):
        raise CorruptPayloadError("splat stream: trailing bytes in geometry chunk", p)
    return out


def _group_payload(group: int, body: bytes) -> bytes:
    return bytes([group]) + body


# ---------------------------------------------------------------- decoder

@dataclass
class _Parsed:
    header: dict
    chunks: list  # (type, payload)
    complete: bool


def _parse(data: bytes, *, allow_partial: bool) -> _Parsed:
    data = bytes(data)
    if data[:8] != MAGIC:
        raise CorruptPayloadError("not a pcstream splat stream (bad magic)", 0)
    if len(data) < 12:
        raise TruncatedError("splat stream: header truncated", len(data))
    (hl,) = struct.unpack_from("<I", data, 8)
    if hl > len(data) - 12:
        raise TruncatedError("splat stream: header truncated", 12)
    try:
        header = msgpack.unpackb(data[12:12 + hl])
    except Exception as e:
        raise CorruptPayloadError(f"splat stream: header unreadable ({e})", 12) from e
    _check_header(header)
    p = 12 + hl
    chunks = []
    complete = True
    while p < len(data):
        if p + 10 > len(data):
            complete = False
            break
        typ = data[p:p + 4]
        codec, ln = struct.unpack_from("<HI", data, p + 4)
        if codec != CODEC_ID:
            raise UnsupportedError(f"splat stream: chunk codec {codec}", p)
        if p + 10 + ln > len(data):
            complete = False
            break
        chunks.append((typ, data[p + 10:p + 10 + ln]))
        p += 10 + ln
    if not complete and not allow_partial:
        raise TruncatedError("splat stream: last chunk truncated", p)
    return _Parsed(header, chunks, complete)


def _require_finite(scene: SplatScene) -> None:
    """Hostile streams can dequantise to inf/NaN: a typed error, never garbage."""
    if not all(np.isfinite(getattr(scene, k)).all()
               for k in ("positions", "f_dc", "log_scales", "sh_rest", "rotations", "opacity")):
        raise CorruptPayloadError("splat stream: decoded values are not finite")


def _check_header(h):
    try:
        ok = (isinstance(h, dict) and h["v"] in SUPPORTED_VERSIONS and 0 <= int(h["n"]) and int(h["sh"]) in SH_COEFFS
              and 1 <= int(h["depth"]) <= MAX_DEPTH and 0 < float(h["pos_step"]) < 1e30 and len(h["origin"]) == 3
              and all(math.isfinite(float(o)) and abs(float(o)) < 1e30 for o in h["origin"])
              and 1 <= int(h["opacity_levels"]) <= 1 << 16
              and all(0 < float(h["steps"][k]) < 1e30 for k in ("dc", "scale", "rotation", "sh"))
              and isinstance(h.get("quality", 0.0), (int, float))
              and isinstance(h.get("lod", []), list)
              and all(isinstance(x, int) and 1 <= x < int(h["depth"]) for x in h.get("lod", []))
              and h.get("lod", []) == sorted(set(h.get("lod", []))))
    except (KeyError, TypeError, ValueError) as e:
        raise CorruptPayloadError(f"splat stream: header field missing or malformed ({e})") from e
    imp = h.get("rot_imp")
    if imp is not None:
        try:
            ok = ok and h["v"] >= 2 and isinstance(imp, dict) and abs(float(imp["ref"])) < 1e6 and (
                isinstance(imp["kmax"], int) and 0 <= imp["kmax"] <= MAX_ROT_SHIFT)
        except (KeyError, TypeError, ValueError) as e:
            raise CorruptPayloadError(f"splat stream: rotation importance malformed ({e})") from e
    if not ok:
        raise CorruptPayloadError("splat stream: header values out of range")
    if int(h["n"]) > MAX_SPLATS:
        raise LimitError(f"splat stream: {h['n']} splats exceed the decoder limit")


def decode(data: bytes, *, max_sh_degree: int | None = None, lod_level: int | None = None) -> SplatScene:
    """Decode a complete stream (all chunks must be present). `lod_level` (index into the
    stream's LoD levels, coarsest first; -1 the finest) returns that level's representatives."""
    parsed = _parse(data, allow_partial=False)
    if lod_level is not None:
        lods = _decode_lods(parsed)
        if not lods:
            raise InvalidArgumentError("stream has no level of detail")
        return lods[lod_level][1]
    return _decode(parsed, max_sh_degree, require_all=True)


def decode_prefix(data: bytes) -> SplatScene:
    """Decode the complete chunks of a stream prefix: the finest complete level of detail
    until the full-resolution positions and opacity/colour are in, then the full scene with
    whatever scale/rotation and SH bands are complete (missing ones get neutral defaults)."""
    parsed = _parse(data, allow_partial=True)
    has_fine = any(t in POSITION_CHUNKS for t, _ in parsed.chunks) and any(
        t == b"SPLT" for t, _ in parsed.chunks)
    if not has_fine:
        lods = _decode_lods(parsed)
        if lods:
            return lods[-1][1]
        raise TruncatedError("splat stream: prefix holds no decodable level yet")
    return _decode(parsed, None, require_all=False)


def lod_levels(data: bytes) -> list:
    """Octree levels of the stream's LoD representatives (coarsest first)."""
    return list(_parse(data, allow_partial=True).header.get("lod", []))


def _decode_lods(parsed: _Parsed) -> list:
    """[(level, scene, int matrices, sorted voxel keys)] for the complete LODL chunks."""
    h = parsed.header
    core = _core()
    depth, deg, nlev = int(h["depth"]), int(h["sh"]), int(h["opacity_levels"])
    widths = [4, 7] + [3 * (BAND_SLICES[b][1] - BAND_SLICES[b][0]) for b in range(1, deg + 1)]
    out = []
    prev = None
    for typ, payload in parsed.chunks:
        if typ != b"LODL":
            continue
        if len(payload) < 5:
            raise CorruptPayloadError("splat stream: LoD chunk truncated")
        lvl = payload[0]
        (cnt,) = struct.unpack_from("<I", payload, 1)
        if not (1 <= lvl < depth) or (prev is not None and lvl <= prev[0]) or cnt > int(h["n"]):
            raise CorruptPayloadError("splat stream: LoD level or count out of range")
        kp, cp = _unpack_list(payload[5:], 2)
        vox = _decode_keys(int(h["v"]), kp, cnt, 3 * lvl)
        if cnt > 1 and np.any(vox[1:] <= vox[:-1]):
            raise CorruptPayloadError("splat stream: LoD voxels not strictly increasing")
        ext = None
        if prev is not None:
            pidx = np.searchsorted(prev[3], vox >> np.uint64(3 * (lvl - prev[0])))
            pidx = np.minimum(pidx, len(prev[3]) - 1)
            ext = np.concatenate(prev[2], 1)[pidx]
        flat = _decode_columns(int(h["v"]), cp, cnt, sum(widths), None, 1, ext)
        mats = np.split(flat, np.cumsum(widths)[:-1], axis=1)
        shift = depth - lvl
        cell = core.splat_morton_decode(vox).astype(np.float64)
        base = SplatScene.empty(cnt, 0)
        with np.errstate(over="ignore", invalid="ignore"):
            base.positions = ((cell * (1 << shift) + ((1 << shift) - 1) / 2.0) * float(h["pos_step"])
                              + np.asarray(h["origin"], np.float64)).astype(np.float32)
            sc = _dequantise([np.ascontiguousarray(m) for m in mats], h["steps"], nlev, cnt, base, h.get("rot_imp"))
        _require_finite(sc)
        sc.extra = {"format": "pcstream-splat", "lod_level": lvl}
        out.append((lvl, sc, mats, vox))
        prev = out[-1]
    return out


def _decode_fast_geometry(header: bytes, payloads: list, max_points: int) -> np.ndarray:
    """Positions of a `GEOF` chunk: the fast octree geometry codec (codec 11)."""
    dec = _core().FastGeometryDecoder(header, max_points)
    for p in payloads:
        dec.feed(p)
    if not dec.done:
        raise TruncatedError("splat positions: geometry chunks missing")
    return dec.points()


def _decode(parsed: _Parsed, max_sh_degree, require_all: bool) -> SplatScene:
    h = parsed.header
    core = _core()
    n, deg, depth = int(h["n"]), int(h["sh"]), int(h["depth"])
    steps = h["steps"]
    nlev = int(h["opacity_levels"])
    ch = [c for c in parsed.chunks if c[0] != b"LODL"]
    lods = _decode_lods(parsed) if h.get("lod") else []
    if require_all and len(lods) != len(h.get("lod") or []):
        raise TruncatedError("splat stream: LoD chunks missing")
    if not ch or ch[0][0] not in POSITION_CHUNKS:
        raise TruncatedError("splat stream: position chunk missing")

    def positions():
        if ch[0][0] == b"POSK":
            return core.splat_morton_decode(_decode_keys(int(h["v"]), ch[0][1], n, 3 * depth))
        parts = _unpack_list(ch[0][1])
        if ch[0][0] == b"GEOF":
            qp = _decode_fast_geometry(parts[0], parts[1:], max(n, 1))
        else:
            qp = core.splat_decode_positions(parts[0], parts[1:], max(n, 1))
        if len(qp) != n:
            raise CorruptPayloadError(f"splat stream: geometry has {len(qp)} points, header says {n}")
        if n and int(qp.max()) >= (1 << depth):
            raise CorruptPayloadError("splat stream: geometry deeper than the header's depth")
        return qp

    qp_future = None
    if lods or ch[0][0] == b"POSK":
        qp = positions()
    else:  # octree positions decode beside the attribute groups, which do not need them (no LoD)
        pool = ThreadPoolExecutor(max_workers=1)
        qp_future = pool.submit(positions)
        pool.shutdown(wait=False)
    groups = {}
    for typ, payload in ch[1:]:
        if typ != b"SPLT" or not payload:
            raise CorruptPayloadError(f"splat stream: unexpected chunk {typ!r}")
        g = payload[0]
        if g != len(groups) + 1 or g > GROUP_SCROT + deg:
            raise CorruptPayloadError(f"splat stream: SPLT group {g} unexpected or out of progressive order")
        groups[g] = payload[1:]
    want = deg if max_sh_degree is None else min(deg, max_sh_degree)
    ngroups = 2 + want
    if require_all and len(groups) < 2 + deg:
        raise TruncatedError("splat stream: attribute chunks missing")
    ext = None
    if lods:
        lvl, _, pm, pvox = lods[-1]
        keys = core.splat_morton_codes(np.ascontiguousarray(qp, np.uint32))
        pidx = np.minimum(np.searchsorted(pvox, keys >> np.uint64(3 * (depth - lvl))), len(pvox) - 1)
        ext = [m[pidx] for m in pm]
    widths = [4, 7] + [3 * (BAND_SLICES[b][1] - BAND_SLICES[b][0]) for b in range(1, deg + 1)]
    count = min(ngroups, len(groups))

    imp = h.get("rot_imp")

    def dec(gi, side, nside):
        if gi == 1:
            return _decode_scale_rotation(int(h["v"]), groups[2], n, mats[0], side, nside,
                                          None if ext is None else ext[1], nlev, steps, imp)
        return _decode_columns(int(h["v"]), groups[gi + 1], n, widths[gi], side, nside,
                               None if ext is None else ext[gi])

    mats = [dec(0, None, 1)] if count else []
    if count > 1:
        # Groups 2 (scale/rotation) and 3 (SH band 1) depend only on group 1: decode them in parallel.
        sides = _sides(mats, nlev, min(3, count))
        with ThreadPoolExecutor(max_workers=2) as pool:
            futs = [pool.submit(dec, gi, *sides[gi]) for gi in range(1, min(3, count))]
            mats += [f.result() for f in futs]
        if count > 3:
            sides = _sides(mats, nlev, count)
            with ThreadPoolExecutor(max_workers=2) as pool:
                futs = [pool.submit(dec, gi, *sides[gi]) for gi in range(3, count)]
                mats += [f.result() for f in futs]
    if qp_future is not None:
        qp = qp_future.result()
    base = SplatScene.empty(n, 0)
    with np.errstate(over="ignore", invalid="ignore"):
        base.positions = (qp.astype(np.float64) * float(h["pos_step"])
                          + np.asarray(h["origin"], np.float64)).astype(np.float32)
        base.log_scales[:] = np.log(float(h["pos_step"]) * 2.0)  # placeholder until scale/rotation arrive
        base.opacity[:] = 0.0
        scene = _dequantise(mats, steps, nlev, n, base, imp)
    _require_finite(scene)
    scene.extra = {"format": "pcstream-splat", "quality": h.get("quality")}
    return scene


def chunk_sizes(data: bytes) -> list:
    """[(name, bytes)] of a stream's parts (header, positions, each SPLT group)."""
    p = _parse(data, allow_partial=False)
    names = {1: "opacity+dc", 2: "scale+rotation", 3: "sh1", 4: "sh2", 5: "sh3"}
    out = [("header", 12 + len(msgpack.packb(p.header)))]
    for typ, payload in p.chunks:
        nm = ("positions" if typ in POSITION_CHUNKS else f"lod{payload[0]}" if typ == b"LODL"
              else names.get(payload[0], "?"))
        out.append((nm, len(payload) + 10))
    return out
