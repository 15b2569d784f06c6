"""Stream version 3 (static-table rANS) against version 2 (adaptive binary range coder) in one
run: bytes per splat of every scene at the presets "spz" and "small", decode CPU/wall seconds,
and a check that both versions decode to identical scenes (same quantisation).

    python bench/splats_versions.py [--scenes playbot,...] [--presets spz,small]
Writes bench/results/splats_versions.json.
"""
import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "python"))
sys.path.insert(0, str(ROOT / "bench"))
from _data import timed_cpu_wall as timed  # noqa: E402
from splats import SCENES, scene_ply  # noqa: E402
from pcstream.splats import codec, read_inria_ply  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--scenes", default=",".join(SCENES))
    ap.add_argument("--presets", default="spz,small")
    ap.add_argument("--scratch", default="/tmp/gs")
    a = ap.parse_args()
    res = {"loadavg_before": os.getloadavg()[0], "rows": []}
    print(f"{'scene':12s} {'preset':6s} {'v2 B/splat':>10s} {'v3 B/splat':>10s} {'change':>8s} "
          f"{'v2 dec cpu/wall':>16s} {'v3 dec cpu/wall':>16s}")
    for name in a.scenes.split(","):
        s = read_inria_ply(scene_ply(name, Path(a.scratch)))
        for preset in a.presets.split(","):
            row = {"scene": name, "preset": preset, "splats": len(s)}
            dec = {}
            for v in (2, 3):
                codec.FORMAT_VERSION = v
                blob = codec.encode(s, preset)
                dec[v], c, w = timed(lambda: codec.decode(blob))
                row[f"v{v}"] = {"bytes_per_splat": len(blob) / len(s), "decode_cpu_s": c, "decode_wall_s": w}
            codec.FORMAT_VERSION = 3
            row["identical"] = all(np.array_equal(getattr(dec[2], k), getattr(dec[3], k))
                                   for k in ("positions", "f_dc", "opacity", "log_scales", "rotations", "sh_rest"))
            row["change"] = row["v3"]["bytes_per_splat"] / row["v2"]["bytes_per_splat"] - 1
            res["rows"].append(row)
            print(f"{name:12s} {preset:6s} {row['v2']['bytes_per_splat']:10.3f} {row['v3']['bytes_per_splat']:10.3f} "
                  f"{row['change']:+8.2%} {row['v2']['decode_cpu_s']:7.3f}/{row['v2']['decode_wall_s']:<7.3f} "
                  f"{row['v3']['decode_cpu_s']:7.3f}/{row['v3']['decode_wall_s']:<7.3f}"
                  + ("" if row["identical"] else "  DECODED SCENES DIFFER"))
    res["loadavg_after"] = os.getloadavg()[0]
    (ROOT / "bench" / "results" / "splats_versions.json").write_text(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()
