"""Lossless LAS packing: scan-order mode (GEOM codec 8 + ATTR codec 9) against LAZ.

    PYTHONPATH=python python3 bench/las.py [--classic]

For each LAS file: LAZ written by lazrs in this run (the anchor), the .pcs of
`pcstream pack` (scan-order mode, the LAS default), the decode check (same point
records in the same order, every LAS dimension equal), bits per point per field for
ours and the marginal LAZ cost of each field (LAZ size minus the LAZ size with that
field made constant: what LAZ spends on it, inferred). --classic adds the octree mode
(classic geometry, Morton order) and its --keep-order cost. Writes bench/results/las.json.
"""
from __future__ import annotations

import io
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "python"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import laspy  # noqa: E402

import pcstream  # noqa: E402
from pcstream import container  # noqa: E402
from pcstream.io import read_points, write_points  # noqa: E402
from _data import ROOT, data_dir  # noqa: E402

FILES = ["lidar/autzen_trim.las", "lidar/4_6_crop.las"]
TARGET = 0.85
FIELD_GROUPS = {"xyz": ["X", "Y", "Z"], "x": ["X"], "y": ["Y"], "z": ["Z"], "rgb": ["red", "green", "blue"]}


def laz_size(las) -> int:
    buf = io.BytesIO()
    las.write(buf, do_compress=True, laz_backend=laspy.LazBackend.Lazrs)
    return len(buf.getvalue())


def laz_marginals(path, base: int, n: int) -> dict:
    """Bits per point LAZ saves when a field is made constant (its inferred cost)."""
    las0 = laspy.read(str(path))
    names = [d for d in las0.point_format.dimension_names if d not in ("X", "Y", "Z", "red", "green", "blue")]
    groups = dict(FIELD_GROUPS, **{d: [d] for d in names})
    out = {}
    for key, dims in groups.items():
        if not all(d in las0.point_format.dimension_names for d in dims):
            continue
        las = laspy.read(str(path))
        for d in dims:
            a = np.asarray(las[d])
            las[d] = np.full_like(a, a[0])
        out[key] = 8.0 * (base - laz_size(las)) / n
    return out


def pack(data, codec: str, keep_order: bool = False) -> bytes:
    attrs = dict(data.attributes)
    if keep_order:
        attrs["_pcstream_input_order"] = np.arange(len(data), dtype=np.uint32)
    return pcstream.encode(data.xyz, attrs, precision=data.precision, origin=data.origin, codec=codec,
                           source=data.source)


def field_bits(blob: bytes, n: int) -> dict:
    """Bits per point of each stream: GEOM and each attribute (chunk payload or inline bytes)."""
    out = {}
    with container.PcsReader(blob) as r:
        schema = r.metadata.get("attributes", [])
        for i, e in enumerate(r.entries):
            t = e.type if isinstance(e.type, bytes) else e.type.encode()
            if t == b"GEOM":
                out["geometry"] = out.get("geometry", 0.0) + 8.0 * len(r.read_payload(i)) / n
            elif t == b"ATTR":
                out[schema[e.stream_id]["name"]] = 8.0 * len(r.read_payload(i)) / n
        for a in schema:
            if a["name"] not in out:
                out[a["name"]] = 8.0 * len((a.get("params") or {}).get("inline", b"")) / n
    out["container+metadata"] = 8.0 * len(blob) / n - sum(out.values())
    return out


def check_roundtrip(src, blob: bytes, tmp: Path) -> bool:
    cloud = pcstream.decode(blob)
    attrs = dict(cloud.attributes)
    order = attrs.pop("_pcstream_input_order", None)
    xyz = cloud.xyz
    if order is not None:
        perm = np.argsort(order, kind="stable")
        xyz, attrs = xyz[perm], {k: v[perm] for k, v in attrs.items()}
    write_points(tmp, xyz, attrs, source=cloud.metadata.get("source"))
    a, b = laspy.read(str(src)), laspy.read(str(tmp))
    if a.header.point_format.id != b.header.point_format.id or len(a.points) != len(b.points):
        return False
    return all(np.array_equal(np.asarray(a[d]), np.asarray(b[d])) for d in a.point_format.dimension_names)


def main(argv=None) -> int:
    classic = "--classic" in (argv or sys.argv[1:])
    results = {"files": [], "target_ratio": TARGET}
    tmp = Path("/tmp") / f"pcstream_bench_las_{int(time.time())}.las"
    for rel in FILES:
        src = data_dir() / rel
        if not src.exists():
            print(f"skip {rel}: not present under {data_dir()}")
            continue
        las = laspy.read(str(src))
        n = len(las.points)
        t0 = time.process_time()
        laz = laz_size(las)
        t_laz = time.process_time() - t0
        data = read_points(src)
        t0 = time.process_time()
        blob = pack(data, "scan")
        t_enc = time.process_time() - t0
        t0 = time.process_time()
        pcstream.decode(blob)
        t_dec = time.process_time() - t0
        ok = check_roundtrip(src, blob, tmp)
        row = {"file": rel, "points": n, "laz_bytes": laz, "pcs_bytes": len(blob), "ratio": len(blob) / laz,
               "target_bytes": int(TARGET * laz), "equal_records_same_order": ok,
               "pcs_bits_per_point": 8.0 * len(blob) / n, "laz_bits_per_point": 8.0 * laz / n,
               "cpu_s": {"laz_encode": t_laz, "pcs_encode": t_enc, "pcs_decode": t_dec},
               "fields_bpp": field_bits(blob, n), "laz_marginal_bpp": laz_marginals(src, laz, n)}
        if classic:
            for keep in (False, True):
                b = pack(data, "classic", keep_order=keep)
                row["classic_keep_order_bytes" if keep else "classic_bytes"] = len(b)
                row["classic_keep_order_ok" if keep else "classic_ok"] = check_roundtrip(src, b, tmp) if keep else None
        results["files"].append(row)
    tmp.unlink(missing_ok=True)

    print("| file | points | LAZ (lazrs) bytes | pcs bytes | pcs / LAZ | target | records equal, same order |")
    print("|---|---|---|---|---|---|---|")
    for r in results["files"]:
        print(f"| {Path(r['file']).name} | {r['points']:,} | {r['laz_bytes']:,} | {r['pcs_bytes']:,} | "
              f"**{r['ratio']:.3f}** | <= {TARGET} ({r['target_bytes']:,}) | {r['equal_records_same_order']} |")
    if classic:
        print("\n| file | classic octree bytes (x LAZ) | classic + --keep-order bytes (x LAZ) |")
        print("|---|---|---|")
        for r in results["files"]:
            print(f"| {Path(r['file']).name} | {r['classic_bytes']:,} ({r['classic_bytes'] / r['laz_bytes']:.3f}) | "
                  f"{r['classic_keep_order_bytes']:,} ({r['classic_keep_order_bytes'] / r['laz_bytes']:.3f}) |")
    for r in results["files"]:
        print(f"\n{Path(r['file']).name}: bits per point, ours vs. LAZ marginal (inferred)")
        print("| field | pcs | LAZ |")
        print("|---|---|---|")
        lm = r["laz_marginal_bpp"]
        f = r["fields_bpp"]
        print(f"| x, y, z (geometry + pulse channel) | {f['geometry']:.2f} | {lm.get('xyz', float('nan')):.2f} |")
        for k, v in f.items():
            if k == "geometry":
                continue
            ref = lm.get({"rgb": "rgb"}.get(k, k))
            print(f"| {k} | {v:.3f} | {'' if ref is None else f'{ref:.2f}'} |")
        print(f"| **total** | **{r['pcs_bits_per_point']:.2f}** | **{r['laz_bits_per_point']:.2f}** |")
    out = ROOT / "bench" / "results" / "las.json"
    out.write_text(json.dumps(results, indent=2))
    print(f"\nwrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
