"""Encode/decode CPU and wall time on one scene (default playbot, 500k splats, quality 0.5):
the `.pcs` file through the public API (`container_io.pack` / `unpack`: positions with the
fast octree geometry codec 11, the default, and with the classic codec 1), the stand-alone
SPLT stream (`codec.encode` / `decode`, positions as sorted Morton keys) and our numpy SPZ v4
writer/reader, all in the same run. CPU seconds (process_time, all threads) beside wall
seconds, best of --repeat rounds (rows take turns), because the shared machine is usually loaded; the load average
is recorded too.

    python bench/splats_speed.py [--scene playbot] [--repeat 3]
Writes bench/results/splats_speed.json and prints a markdown table.
"""
import argparse
import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "python"))
sys.path.insert(0, str(ROOT / "bench"))
from _data import timed_cpu_wall as timed  # noqa: E402
from splats import scene_ply  # noqa: E402
from pcstream.splats import codec, container_io, read_inria_ply, read_spz, write_spz  # noqa: E402


ROWS = [  # key, label, encode(scene) -> bytes, decode(bytes) -> scene
    ("pcs_fast", "`.pcs` file, positions GEOM codec 11 (default of `pcstream pack`)",
     lambda s: container_io.pack(s, quality=0.5), container_io.unpack),
    ("pcs_classic", "`.pcs` file, positions GEOM codec 1 (`geometry_codec=1`)",
     lambda s: container_io.pack(s, quality=0.5, geometry_codec=1), container_io.unpack),
    ("keys", "stand-alone SPLT v3 stream, `positions=\"keys\"` (default of `splats.encode`)",
     lambda s: codec.encode(s, 0.5), codec.decode),
    ("spz_v4_numpy", "our numpy SPZ v4 writer / reader", lambda s: write_spz(s, 4), read_spz),
]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--scene", default="playbot")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--scratch", default="/tmp/gs")
    a = ap.parse_args()
    s = read_inria_ply(scene_ply(a.scene, Path(a.scratch)))
    res = {"scene": a.scene, "splats": len(s), "cpus": os.cpu_count(), "loadavg_before": os.getloadavg()[0]}
    # Rows take turns, `repeat` rounds, best time per row: a burst of load on the shared
    # machine then slows one round of every row rather than all rounds of one row.
    best = {key: {"encode_cpu_s": 1e9, "encode_wall_s": 1e9, "decode_cpu_s": 1e9, "decode_wall_s": 1e9}
            for key, *_ in ROWS}
    for _ in range(a.repeat):
        for key, label, enc, dec in ROWS:
            blob, ce, we = timed(lambda: enc(s))
            _, cd, wd = timed(lambda: dec(blob))
            b = best[key]
            for k, v in (("encode_cpu_s", ce), ("encode_wall_s", we), ("decode_cpu_s", cd), ("decode_wall_s", wd)):
                b[k] = min(b[k], v)
            res[key] = {"label": label, "bytes": len(blob), "bytes_per_splat": len(blob) / len(s), **b}
    res["loadavg_after"] = os.getloadavg()[0]
    print(f"{a.scene}, {len(s)} splats; load average {res['loadavg_before']:.2f} -> {res['loadavg_after']:.2f}")
    print("| | encode CPU s | encode wall s | decode CPU s | decode wall s | B/splat |")
    print("|---|---|---|---|---|---|")
    for key, label, _, _ in ROWS:
        r = res[key]
        print(f"| {label} | {r['encode_cpu_s']:.2f} | {r['encode_wall_s']:.2f} | {r['decode_cpu_s']:.2f} | "
              f"{r['decode_wall_s']:.2f} | {r['bytes_per_splat']:.2f} |")
    (ROOT / "bench" / "results" / "splats_speed.json").write_text(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()
