"""Standard INRIA 3DGS PLY: detection, reading and writing."""
from __future__ import annotations

import numpy as np
from plyfile import PlyData, PlyElement

from ..errors import InputFileError
from .scene import SH_COEFFS, SplatScene

REQUIRED = ("x", "y", "z", "f_dc_0", "f_dc_1", "f_dc_2", "opacity", "scale_0", "scale_1", "scale_2",
            "rot_0", "rot_1", "rot_2", "rot_3")


def is_inria_ply(path_or_names) -> bool:
    """True when a PLY file (path) or a list of vertex property names is a 3DGS scene."""
    if isinstance(path_or_names, (list, tuple, set)):
        names = set(path_or_names)
    else:
        try:
            names = set(_vertex_names(path_or_names))
        except OSError:
            return False
    return all(k in names for k in REQUIRED)


def _vertex_names(path):
    names = []
    with open(path, "rb") as f:
        if f.readline().strip() != b"ply":
            return names
        in_vertex = False
        for _ in range(10000):
            line = f.readline()
            if not line:
                break
            tok = line.split()
            if not tok:
                continue
            if tok[0] == b"end_header":
                break
            if tok[0] == b"element":
                in_vertex = len(tok) > 1 and tok[1] == b"vertex"
            elif tok[0] == b"property" and in_vertex and len(tok) >= 3:
                names.append(tok[-1].decode("ascii", "replace"))
    return names


def read_inria_ply(path, *, trim_zero_bands: bool = True, clip_infinite_opacity: bool = True) -> SplatScene:
    """Read an INRIA 3DGS PLY. SH degree comes from the number of f_rest_* properties
    (0, 9, 24 or 45); trailing SH bands that are exactly zero everywhere are dropped
    (decoders that always write 45 f_rest values). An opacity logit of -inf/+inf
    (alpha exactly 0 or 1, written by some converters) becomes -/+30 when
    `clip_infinite_opacity`; every other non-finite value is left for
    `SplatScene.validate()` (and the encoder) to reject."""
    try:
        ply = PlyData.read(str(path))
        v = ply["vertex"].data
    except Exception as e:  # plyfile raises many kinds
        raise InputFileError(f"{path}: not a readable PLY file ({e})") from e
    names = v.dtype.names
    missing = [k for k in REQUIRED if k not in names]
    if missing:
        raise InputFileError(f"{path}: not a 3DGS PLY, missing properties {missing}")
    n = len(v)
    col = lambda k: np.asarray(v[k], np.float32)
    rest = sorted((k for k in names if k.startswith("f_rest_")), key=lambda k: int(k[7:]))
    nrest = len(rest)
    if nrest % 3 or nrest // 3 not in SH_COEFFS.values() or rest != [f"f_rest_{i}" for i in range(nrest)]:
        raise InputFileError(f"{path}: {nrest} f_rest properties do not form SH degree 0-3")
    k = nrest // 3
    sh = np.zeros((n, k, 3), np.float32)
    for c in range(3):
        for j in range(k):
            sh[:, j, c] = col(f"f_rest_{c * k + j}")
    scene = SplatScene(
        positions=np.stack([col("x"), col("y"), col("z")], 1),
        opacity=col("opacity"),
        f_dc=np.stack([col(f"f_dc_{i}") for i in range(3)], 1),
        sh_rest=sh,
        log_scales=np.stack([col(f"scale_{i}") for i in range(3)], 1),
        rotations=np.stack([col(f"rot_{i}") for i in range(4)], 1),
        extra={"format": "inria-ply"},
    )
    if clip_infinite_opacity:
        op = scene.opacity
        inf = np.isinf(op)
        if inf.any():
            op[inf] = np.sign(op[inf]) * 30.0
    if trim_zero_bands:
        deg = scene.sh_degree
        while deg > 0 and not np.any(scene.sh_rest[:, SH_COEFFS[deg - 1]:SH_COEFFS[deg]]):
            deg -= 1
        if deg != scene.sh_degree:
            scene = scene.with_sh_degree(deg)
    return scene


def write_inria_ply(scene: SplatScene, path, *, normals: bool = True) -> None:
    """Write the standard binary little-endian INRIA layout (float32 properties)."""
    n = len(scene)
    k = scene.sh_rest.shape[1]
    fields = ["x", "y", "z"] + (["nx", "ny", "nz"] if normals else []) + [f"f_dc_{i}" for i in range(3)]
    fields += [f"f_rest_{i}" for i in range(3 * k)] + ["opacity"] + [f"scale_{i}" for i in range(3)]
    fields += [f"rot_{i}" for i in range(4)]
    arr = np.zeros(n, dtype=[(f, "<f4") for f in fields])
    for i, a in enumerate("xyz"):
        arr[a] = scene.positions[:, i]
    for i in range(3):
        arr[f"f_dc_{i}"] = scene.f_dc[:, i]
        arr[f"scale_{i}"] = scene.log_scales[:, i]
        for j in range(k):
            arr[f"f_rest_{i * k + j}"] = scene.sh_rest[:, j, i]
    arr["opacity"] = scene.opacity
    for i in range(4):
        arr[f"rot_{i}"] = scene.rotations[:, i]
    PlyData([PlyElement.describe(arr, "vertex")], text=False, byte_order="<").write(str(path))
