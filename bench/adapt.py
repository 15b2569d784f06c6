"""Instance adaptation (--adapt) of the learned geometry codec on out-of-distribution inputs.

    PYTHONPATH=python python3 bench/adapt.py [--steps N] [--threads 2] [--files gs/biker.spz:11 ...]

Inputs (none of them in the model's training set): splat centres of the gs/ scenes,
Kinect frames, airborne LAS; each voxelised to DEPTH bits over its bounding cube (unique
voxels). Per file: bits per point of the learned codec without adaptation, with it
(geometry alone, weights alone, total), the change of the total, whether the encoder kept
the adapted model, encode seconds (plain and adapted) and decode seconds of the adapted
stream (checked bit-exact); CPU seconds of the adapted encode (all threads of this
process: steadier than wall time on a shared machine). Writes bench/results/adapt.json.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _data import data_dir  # noqa: E402

from pcstream import learned, learned_adapt  # noqa: E402

FILES = ["gs/biker.spz:11", "gs/amaebi_test_sh3.spz:11", "gs/guitar.compressed.ply:11",
         "sequences/kinect_3frames/frame_20121214T142255.814212.pcd:10", "indoor/office1.pcd:10",
         "lidar/autzen_trim.las:12", "lidar/4_6_crop.las:11"]


def raw_xyz(rel: str) -> np.ndarray:
    p = data_dir() / rel
    if rel.startswith("gs/"):
        from pcstream import splats
        if rel.endswith(".spz"):
            return splats.load(p).positions.astype(np.float64)
        tool = data_dir().parent / "tools" / "gs_decode.py"     # PlayCanvas / SOG -> INRIA PLY
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "scene.ply"
            subprocess.run([sys.executable, str(tool), str(p), str(out)], check=True, capture_output=True)
            return splats.load(out).positions.astype(np.float64)
    if rel.endswith(".pcd"):
        from pypcd4 import PointCloud
        return PointCloud.from_path(str(p)).numpy()[:, :3].astype(np.float64)
    if rel.endswith(".las"):
        import laspy
        f = laspy.read(str(p))
        return np.stack([f.x, f.y, f.z], 1).astype(np.float64)
    raise ValueError(rel)


def voxelise(xyz: np.ndarray, depth: int) -> np.ndarray:
    xyz = xyz[np.isfinite(xyz).all(1)]
    lo = xyz.min(0)
    ext = float((xyz.max(0) - lo).max()) or 1.0
    q = np.floor((xyz - lo) / ext * ((1 << depth) - 1) + 0.5).astype(np.int64)
    return np.unique(q, axis=0)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--files", nargs="*", default=FILES, help="REL:DEPTH under the shared data folder")
    ap.add_argument("--steps", type=int, default=None, help=f"optimizer steps (default {learned_adapt.DEFAULT_STEPS})")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", default=str(Path(__file__).resolve().parent / "results" / "adapt.json"))
    a = ap.parse_args(argv)
    rows = []
    for spec in a.files:
        rel, depth = spec.rsplit(":", 1)
        depth = int(depth)
        if not (data_dir() / rel).exists():
            print(f"skip {rel}: not found", file=sys.stderr)
            continue
        pts = voxelise(raw_xyz(rel), depth)
        n = len(pts)
        t0 = time.perf_counter()
        plain = learned.encode_geometry(pts, depth, threads=a.threads)
        t_plain = time.perf_counter() - t0
        v1 = learned.encode_geometry(pts, depth, threads=a.threads, refine=False)   # version 1: no refinement
        v1_bytes = len(v1.header) + sum(len(c.payload) for c in v1.chunks)
        t0, c0 = time.perf_counter(), time.process_time()
        e = learned.encode_geometry(pts, depth, threads=a.threads, adapt=True, adapt_steps=a.steps, progress=False)
        t_adapt, c_adapt = time.perf_counter() - t0, time.process_time() - c0
        r = e.report
        t0 = time.perf_counter()
        out = learned.decode_geometry(e.header, [c.payload for c in e.chunks], weights=e.weights, threads=a.threads)
        t_dec = time.perf_counter() - t0
        assert np.array_equal(out, pts[e.order]), rel
        plain_bytes = len(plain.header) + sum(len(c.payload) for c in plain.chunks)
        assert plain_bytes == r.geometry_bytes_unadapted
        kept_bytes = len(e.header) + sum(len(c.payload) for c in e.chunks) + len(e.weights or b"")
        row = {
            "file": rel, "depth": depth, "points": n, "steps": r.steps, "rows": r.rows,
            "tensors": len(r.tensors),
            "unadapted_bpp": 8 * r.geometry_bytes_unadapted / n,
            "adapted_geometry_bpp": 8 * r.geometry_bytes / n,
            "weight_bpp": 8 * r.weight_bytes / n, "weight_bits": 8 * r.weight_bytes,
            "adapted_total_bpp": 8 * (r.geometry_bytes + r.weight_bytes) / n,
            "kept": r.kept, "output_bpp": 8 * kept_bytes / n,
            "change_adapted": (r.geometry_bytes + r.weight_bytes) / r.geometry_bytes_unadapted - 1,
            "change_output": kept_bytes / r.geometry_bytes_unadapted - 1,
            "v1_bpp": 8 * v1_bytes / n, "change_output_vs_v1": kept_bytes / v1_bytes - 1,
            "encode_s_plain": t_plain, "encode_s_adapt": t_adapt, "encode_cpu_s_adapt": c_adapt,
            "decode_s_adapted": t_dec,
        }
        rows.append(row)
        print(f"{rel}: {n} pts, {row['unadapted_bpp']:.3f} -> {row['adapted_total_bpp']:.3f} bpp "
              f"({row['change_adapted']:+.1%}), weights {row['weight_bpp']:.3f} bpp, kept={r.kept}, "
              f"enc {t_plain:.1f}s / {t_adapt:.1f}s", file=sys.stderr, flush=True)
    print("| file | depth | points | v1 (unrefined) bpp | unadapted bpp | adapted geometry bpp | weight bpp (bits) "
          "| adapted total bpp | change | kept | output change | output vs v1 | enc s plain | enc s adapt "
          "| enc CPU s adapt | dec s |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['file']} | {r['depth']} | {r['points']:,} | {r['v1_bpp']:.3f} | {r['unadapted_bpp']:.3f} | "
              f"{r['adapted_geometry_bpp']:.3f} | {r['weight_bpp']:.3f} ({r['weight_bits']:,}) | "
              f"{r['adapted_total_bpp']:.3f} | {r['change_adapted']:+.1%} | {'yes' if r['kept'] else 'no'} | "
              f"{r['change_output']:+.1%} | {r['change_output_vs_v1']:+.1%} | {r['encode_s_plain']:.1f} | {r['encode_s_adapt']:.1f} | "
              f"{r['encode_cpu_s_adapt']:.1f} | "
              f"{r['decode_s_adapted']:.1f} |")
    mean_out = float(np.mean([r["change_output"] for r in rows])) if rows else 0.0
    mean_ad = float(np.mean([r["change_adapted"] for r in rows])) if rows else 0.0
    mean_v1 = float(np.mean([r["change_output_vs_v1"] for r in rows])) if rows else 0.0
    print(f"\nmean change of the output (keep-only-if-better): {mean_out:+.2%}; "
          f"of the adapted streams alone: {mean_ad:+.2%}; output against the version 1 stream: {mean_v1:+.2%}")
    res = {"rows": rows, "mean_change_output": mean_out, "mean_change_adapted": mean_ad,
           "mean_change_output_vs_v1": mean_v1,
           "defaults": {"steps": learned_adapt.DEFAULT_STEPS, "max_rows": learned_adapt.DEFAULT_MAX_ROWS,
                        "layers": list(learned_adapt.DEFAULT_LAYERS), "l1_bits": learned_adapt.L1_BITS,
                        "lr": learned_adapt.LEARNING_RATE},
           "threads": a.threads, "load_average": os.getloadavg()}
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(res, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
