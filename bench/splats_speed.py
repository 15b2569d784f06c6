"""Encode/decode CPU time on one scene (default playbot, 500k splats), both position modes
("keys", the default, and "octree"; "keys" also with stream version 2), against our numpy SPZ v4 writer/reader in the same run.
CPU seconds (process_time, all threads) are reported beside wall seconds (best of --repeat)
because the shared machine is usually loaded; the load average is recorded too.

    python bench/splats_speed.py [--scene playbot] [--repeat 3]
Writes bench/results/splats_speed.json.
"""
import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "python"))
sys.path.insert(0, str(ROOT / "bench"))
from splats import scene_ply  # noqa: E402
from pcstream.splats import codec, read_inria_ply, read_spz, write_spz  # noqa: E402


def measure(fn, repeat):
    best_cpu, best_wall, out = 1e9, 1e9, None
    for _ in range(repeat):
        c, w = time.process_time(), time.perf_counter()
        out = fn()
        best_cpu = min(best_cpu, time.process_time() - c)
        best_wall = min(best_wall, time.perf_counter() - w)
    return out, best_cpu, best_wall


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--scene", default="playbot")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--scratch", default="/tmp/gs")
    a = ap.parse_args()
    s = read_inria_ply(scene_ply(a.scene, Path(a.scratch)))
    import os
    res = {"scene": a.scene, "splats": len(s), "cpus": os.cpu_count(), "loadavg_before": os.getloadavg()[0]}
    blob, c, w = measure(lambda: write_spz(s, 4), a.repeat)
    res["spz_v4_numpy_writer"] = {"cpu_s": c, "wall_s": w}
    _, c, w = measure(lambda: read_spz(blob), a.repeat)
    res["spz_v4_numpy_reader"] = {"cpu_s": c, "wall_s": w}
    # "keys_v2": the same encoder writing stream version 2 (adaptive binary range coder), for a
    # same-run before/after comparison with version 3 (static-table rANS).
    for name, mode, version in (("keys", "keys", 3), ("keys_v2", "keys", 2), ("octree", "octree", 3)):
        codec.FORMAT_VERSION = version
        b, ce, we = measure(lambda: codec.encode(s, 0.5, positions=mode), a.repeat)
        _, cd, wd = measure(lambda: codec.decode(b), a.repeat)
        res[name] = {"version": version, "bytes_per_splat": len(b) / len(s), "encode_cpu_s": ce,
                     "encode_wall_s": we, "decode_cpu_s": cd, "decode_wall_s": wd}
    codec.FORMAT_VERSION = 3
    res["loadavg_after"] = os.getloadavg()[0]
    for k, v in res.items():
        print(k, v)
    (ROOT / "bench" / "results" / "splats_speed.json").write_text(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()
