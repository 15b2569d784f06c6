"""Level-of-detail overhead: bytes with and without --lod at quality 0.5 on every scene, and the
size of the stream prefix a player needs for its first (coarsest) and finest LoD preview.

    python bench/splats_lod.py      # writes bench/results/splats_lod.json
"""
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "python"))
sys.path.insert(0, str(ROOT / "bench"))
from splats import SCENES, scene_ply  # noqa: E402
from pcstream.splats import codec, read_inria_ply  # noqa: E402

rows = []
for name in SCENES:
    s = read_inria_ply(scene_ply(name, Path("/tmp/gs")))
    plain = codec.encode(s, 0.5)
    lod = codec.encode(s, 0.5, lod=True)
    parts = codec.chunk_sizes(lod)
    levels = codec.lod_levels(lod)
    counts = [len(codec.decode(lod, lod_level=i)) for i in range(len(levels))]
    lod_bytes = sum(b for nm, b in parts if nm.startswith("lod"))
    r = {"scene": name, "splats": len(s), "plain_bytes": len(plain), "lod_bytes": len(lod),
         "overhead": len(lod) / len(plain) - 1, "lod_chunk_bytes": lod_bytes, "levels": levels, "counts": counts}
    rows.append(r)
    print(f"{name:12s} plain {len(plain) / len(s):6.2f} B/splat  with LoD {len(lod) / len(s):6.2f}  overhead "
          f"{100 * r['overhead']:5.1f} %  levels {levels} representatives {counts}", flush=True)
(ROOT / "bench" / "results" / "splats_lod.json").write_text(json.dumps(rows, indent=1))
