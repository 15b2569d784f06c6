"""Where the bytes go: bytes per splat of every attribute at a preset (default "spz") on every
scene, plus the entropy floor of the rotations at the preset's precision (the rotation
distribution's differential entropy on SO(3) at the quantiser's cell size, corrected by the
measured non-uniformity and neighbour dependence).

    python bench/splats_bytes.py [--preset spz] [--scenes playbot,...]
Writes bench/results/splats_bytes_<preset>.json.
"""
import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "python"))
sys.path.insert(0, str(ROOT / "bench"))
from splats import SCENES, scene_ply  # noqa: E402
from pcstream import _core  # noqa: E402
from pcstream.splats import codec, read_inria_ply  # noqa: E402


def entropy(x) -> float:
    _, c = np.unique(x, return_counts=True, axis=0)
    p = c / c.sum()
    return float(-(p * np.log2(p)).sum())


def cells(i, r, m):
    c = np.clip(np.floor((r / np.sqrt(0.5) + 1) / 2 * m), 0, m - 1).astype(np.int64)
    return ((i * m + c[:, 0]) * m + c[:, 1]) * m + c[:, 2]


def rotation_floor(rot_sorted: np.ndarray, step: float) -> dict:
    """Bits per splat a rotation coder needs at least with the smallest-three cell size `step`."""
    n = len(rot_sorted)
    idx, rest = codec.smallest_three(rot_sorted)
    big = np.sqrt(np.maximum(1 - (rest ** 2).sum(1), 0))
    # uniform density on the half 3-sphere (volume pi^2); a cell of volume step^3 in the
    # smallest-three coordinates covers step^3 / |q_dropped| of it
    uniform_bits = float(np.mean(np.log2(np.pi ** 2 * big / step ** 3)))
    rng = np.random.default_rng(0)
    u = rng.normal(size=(2_000_000, 4))
    u /= np.linalg.norm(u, axis=1, keepdims=True)
    ui, ur = codec.smallest_three(u)
    m = 16
    cu = np.bincount(cells(ui, ur, m), minlength=4 * m ** 3) / len(u)
    pd = np.bincount(cells(idx, rest, m), minlength=4 * m ** 3) / n
    nz = pd > 0
    nonuniform = float(-np.sum(pd[nz] * np.log2(np.maximum(cu[nz], 1e-12))) + np.sum(pd[nz] * np.log2(pd[nz])))
    m, K = 4, 4 * 4 ** 3
    c = cells(idx, rest, m)
    joint = np.bincount(c[1:] * K + c[:-1], minlength=K * K).reshape(K, K) / (n - 1)
    px, py = joint.sum(1), joint.sum(0)
    nzj = joint > 0
    mi = float(np.sum(joint[nzj] * np.log2(joint[nzj] / (px[:, None] * py[None, :])[nzj])))
    bias = (K - 1) ** 2 / (2 * (n - 1) * np.log(2))
    floor = uniform_bits - nonuniform - max(0.0, mi - bias)
    return {"uniform_bits": uniform_bits, "nonuniformity_gain_bits": nonuniform,
            "neighbour_info_bits": max(0.0, mi - bias), "floor_bits": floor, "floor_bytes": floor / 8}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--preset", default="spz")
    ap.add_argument("--scenes", default=",".join(SCENES))
    ap.add_argument("--scratch", default="/tmp/gs")
    a = ap.parse_args()
    rows = []
    for name in a.scenes.split(","):
        s = read_inria_ply(scene_ply(name, Path(a.scratch)))
        n = len(s)
        parts = {}
        blob = codec.encode(s, a.preset, _parts=parts)
        h = parts["header"]
        ss = s.subset(parts["order"])
        nlev = h["opacity_levels"]
        mats = codec._quantise(ss, h["steps"], nlev, h.get("rot_imp"))
        sides = codec._sides(mats, nlev, len(mats))
        row = {"scene": name, "splats": n, "total": len(blob) / n}
        row["positions"] = len(parts["chunks"][0][1]) / n
        g = {p[0]: p[1:] for t, p in parts["chunks"] if t == b"SPLT"}
        g1 = len(g[1]) / n
        op_alone = len(_core.splat_encode_columns_v2(np.ascontiguousarray(mats[0][:, :1]))) / n
        row["opacity"] = op_alone
        row["dc"] = g1 - op_alone
        sc, ro = codec._unpack_list(g[2], 2, exact=2)
        row["scale"], row["rotation"] = len(sc) / n, len(ro) / n
        for b in range(1, s.sh_degree + 1):
            row[f"sh{b}"] = len(g[2 + b]) / n
        row["entropy_opacity_bytes"] = entropy(mats[0][:, 0]) / 8
        row["rotation_floor"] = rotation_floor(ss.rotations, h["steps"]["rotation"])
        rows.append(row)
        print(f"{name:12s} total {row['total']:.2f} | " + " ".join(
            f"{k} {row[k]:.2f}" for k in ("positions", "opacity", "dc", "scale", "rotation", "sh1", "sh2", "sh3")
            if k in row) + f" | rotation floor {row['rotation_floor']['floor_bytes']:.2f} B"
              f" (uniform {row['rotation_floor']['uniform_bits'] / 8:.2f}), opacity order-0 entropy "
              f"{row['entropy_opacity_bytes']:.2f} B", flush=True)
    (ROOT / "bench" / "results" / f"splats_bytes_{a.preset}.json").write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
