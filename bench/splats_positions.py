"""Position coding of the splat codec on the five bench scenes: bytes and decode CPU time of
the fast octree geometry codec (GEOM codec 11, what `.pcs` splat files use), the classic
octree codec (codec 1) and the sorted Morton keys of stand-alone streams (`POSK`), all on
the same quantised positions (quality 0.5 grid, 1/4096 unit).

    python bench/splats_positions.py [--scenes playbot,biker] [--repeat 3]
Writes bench/results/splats_positions.json.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "python"))
sys.path.insert(0, str(ROOT / "bench"))
from splats import SCENES, scene_ply  # noqa: E402
from pcstream.splats import codec, read_inria_ply  # noqa: E402


def best_cpu(fn, repeat):
    best = 1e9
    for _ in range(repeat):
        c = time.process_time()
        fn()
        best = min(best, time.process_time() - c)
    return best


def positions(s, mode):
    """(position bytes incl. chunk framing, decode function of the positions alone)."""
    parts = {}
    blob = codec.encode(s, 0.5, positions=mode, _parts=parts)
    size = dict(codec.chunk_sizes(blob))["positions"]
    core = codec._core()
    n, depth = len(s), int(parts["header"]["depth"])
    if mode == "keys":
        payload = [p for t, p in parts["chunks"] if t == b"POSK"][0]
        return size, lambda: core.splat_morton_decode(codec._decode_keys(3, payload, n, 3 * depth))
    head, chunks = parts["geometry"]
    payloads = [c[0] for c in chunks]
    if mode == "octree":
        return size, lambda: core.splat_decode_positions(head, payloads, n)
    return size, lambda: codec._decode_fast_geometry(head, payloads, n)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--scenes", default=",".join(SCENES))
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--scratch", default="/tmp/gs")
    a = ap.parse_args()
    res = {"loadavg_before": os.getloadavg()[0], "scenes": {}}
    print("| scene | splats | codec 11 B | codec 1 B | codec 11 vs 1 | keys B | codec 11 / 1 / keys decode CPU s |")
    print("|---|---|---|---|---|---|---|")
    for name in [x for x in a.scenes.split(",") if x]:
        s = read_inria_ply(scene_ply(name, Path(a.scratch)))
        row = {"splats": len(s)}
        for mode in ("octree-fast", "octree", "keys"):
            size, fn = positions(s, mode)
            row[mode] = {"bytes": size, "bytes_per_splat": size / len(s), "decode_cpu_s": best_cpu(fn, a.repeat)}
        res["scenes"][name] = row
        f, c, k = row["octree-fast"], row["octree"], row["keys"]
        print(f"| {name} | {len(s)} | {f['bytes']} | {c['bytes']} | {100 * (f['bytes'] / c['bytes'] - 1):+.2f} % | "
              f"{k['bytes']} | {f['decode_cpu_s']:.3f} / {c['decode_cpu_s']:.3f} / {k['decode_cpu_s']:.3f} |")
    res["loadavg_after"] = os.getloadavg()[0]
    (ROOT / "bench" / "results" / "splats_positions.json").write_text(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()
