"""Attribute codec bench (issue 6): lossy colour (RAHT, codec 4) against G-PCC v23 RAHT,
lossless LAS fields (codec 3) against LAZ (lazrs), encode/decode time of an 800k frame.

    PYTHONPATH=python python3 bench/attributes.py [--quick]

Writes bench/results/attributes.json and bench/results/attributes_rd.png, prints tables.
"""
from __future__ import annotations

import argparse
import io
import json
import platform
import resource
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _data import ROOT, data_dir  # noqa: E402

sys.path.insert(0, str(ROOT / "python"))
from pcstream import attributes as A  # noqa: E402

RESULTS = ROOT / "bench" / "results"

# G-PCC TMC13 v23 RAHT, geometry lossless, CTC QP 51..22: (colour bpp, Y-PSNR dB).
GPCC_RAHT = {
    "loot_vox10_1200": [(0.0059, 29.26), (0.0130, 30.72), (0.0373, 32.93), (0.1037, 35.79),
                        (0.2540, 39.29), (0.5473, 42.87)],
    "redandblack_vox10_1550": [(0.0173, 28.71), (0.0416, 30.75), (0.1039, 33.03), (0.2424, 35.70),
                               (0.5621, 38.98), (1.2596, 42.63)],
}
LAZ_ANCHOR = {"autzen_trim": 603_353, "4_6_crop": 110_986}
QUALITIES = [0, 8, 16, 24, 32, 40, 48]


def cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def timed(fn, *args, **kw):
    c, w = cpu(), time.perf_counter()
    out = fn(*args, **kw)
    return out, cpu() - c, time.perf_counter() - w


def ycbcr(rgb):
    rgb = rgb.astype(np.float64)
    y = 0.2126 * rgb[:, 0] + 0.7152 * rgb[:, 1] + 0.0722 * rgb[:, 2]
    return np.stack([y, (rgb[:, 2] - y) / 1.8556, (rgb[:, 0] - y) / 1.5748], 1)


def psnr_ycc(a, b):
    mse = np.mean((ycbcr(a) - ycbcr(b)) ** 2, axis=0)
    return [float(10 * np.log10(255.0 ** 2 / max(m, 1e-12))) for m in mse]


def bd_rate(anchor, test):
    """Bjontegaard delta rate (%) of `test` against `anchor`, lists of (rate, psnr):
    cubic fit of log10(rate) over PSNR, integrated over the common PSNR range."""
    ra, da = np.log10([r for r, _ in anchor]), np.array([d for _, d in anchor])
    rt, dt = np.log10([r for r, _ in test]), np.array([d for _, d in test])
    lo, hi = max(da.min(), dt.min()), min(da.max(), dt.max())
    if hi <= lo:
        return float("nan")
    pa, pt = np.polyint(np.polyfit(da, ra, 3)), np.polyint(np.polyfit(dt, rt, 3))
    avg = ((np.polyval(pt, hi) - np.polyval(pt, lo)) - (np.polyval(pa, hi) - np.polyval(pa, lo))) / (hi - lo)
    return float((10 ** avg - 1) * 100)


def load_ply(path):
    from plyfile import PlyData
    v = PlyData.read(str(path))["vertex"].data
    pts = np.stack([v["x"], v["y"], v["z"]], 1).round().astype(np.int64)
    pts -= pts.min(0)
    rgb = np.stack([v["red"], v["green"], v["blue"]], 1).astype(np.uint8)
    return pts.astype(np.uint32), rgb


def _encode_levels(pts, rgb, depth, his, q):
    return A.encode_attribute_levels(pts, rgb, depth, his, quality=q)


def _decode_levels(pts, chunks, depth):
    return A.decode_attribute_levels(pts, [p for *_, p in chunks], np.uint8, 3, depth)


def _rd(pts, rgb, depth, his, qualities):
    """RD rows of RAHT with the level ranges `his` (None: version 1, one payload)."""
    n = len(pts)
    rows = []
    for q in qualities:
        if his is None:
            (cid, payload), te_cpu, te_wall = timed(A.encode_attribute, pts, rgb, mode="lossy", quality=q)
            out, td_cpu, td_wall = timed(A.decode_attribute, pts, cid, payload, np.uint8, 3)
            size, sizes = len(payload), [len(payload)]
        else:
            chunks, te_cpu, te_wall = timed(_encode_levels, pts, rgb, depth, his, q)
            out, td_cpu, td_wall = timed(_decode_levels, pts, chunks, depth)
            sizes = [len(p) for *_, p in chunks]
            size = sum(sizes)
        y, cb, cr = psnr_ycc(rgb, out)
        rows.append({"quality": q, "bytes": size, "chunk_bytes": sizes, "bpp": size * 8 / n, "psnr_y": y,
                     "psnr_cb": cb, "psnr_cr": cr, "enc_cpu_s": te_cpu, "enc_wall_s": te_wall,
                     "dec_cpu_s": td_cpu, "dec_wall_s": td_wall})
    return rows


def _bd(ref, test, key):
    return bd_rate([(r["bpp"], r[key]) for r in ref], [(r["bpp"], r[key]) for r in test])


def bench_colour(name, qualities):
    """RAHT as pcstream.encode writes it (codec 4 version 2, default level ranges: the first
    GEOM chunk's levels 0..depth-5, then the rest), against G-PCC, and the cost of level
    ranges against one payload (version 1) and one chunk per GEOM level range."""
    import zstandard
    from pcstream.attr_levels import level_his
    pts, rgb = load_ply(data_dir() / "dense" / f"{name}.ply")
    n = len(pts)
    depth = max(1, int(pts.max()).bit_length())
    geo = A.default_level_his(depth)
    his = level_his("coarse", geo, depth)
    rows = _rd(pts, rgb, depth, his, qualities)
    v1 = _rd(pts, rgb, depth, None, qualities)
    per_level = _rd(pts, rgb, depth, level_his("geometry", geo, depth), qualities)
    cost = {"default_vs_v1": {k: _bd(v1, rows, k) for k in ("psnr_y", "psnr_cb", "psnr_cr")},
            "geometry_ranges_vs_v1": {k: _bd(v1, per_level, k) for k in ("psnr_y", "psnr_cb", "psnr_cr")}}
    # Speed: best of 3 CPU times at quality 24 (the machine may be shared and loaded).
    enc_t, dec_t = [], []
    for _ in range(3):
        chunks, tc, _w = timed(_encode_levels, pts, rgb, depth, his, 24)
        enc_t.append(tc)
        dec_t.append(timed(_decode_levels, pts, chunks, depth)[1])
    (cid, payload), tl_cpu, tl_wall = timed(A.encode_attribute, pts, rgb)
    back, tld_cpu, _ = timed(A.decode_attribute, pts, cid, payload, np.uint8, 3)
    assert np.array_equal(back, rgb)
    # Same-run speed anchor: zstd level 3 of the raw colour bytes.
    raw = rgb.tobytes()
    _, z_cpu, _ = timed(zstandard.ZstdCompressor(level=3).compress, raw)
    anchor = GPCC_RAHT[name]
    in_range = [r for r in rows if r["psnr_y"] <= anchor[-1][1] + 3]
    return {
        "file": f"dense/{name}.ply", "points": n, "depth": depth, "level_his": his, "rd": rows,
        "rd_v1_one_payload": v1, "rd_geometry_ranges": per_level, "level_range_cost_bd_pct": cost,
        "bd_rate_y_vs_gpcc_raht_pct": bd_rate(anchor, [(r["bpp"], r["psnr_y"]) for r in in_range]),
        "bd_rate_y_vs_gpcc_raht_pct_v1": bd_rate(anchor, [(r["bpp"], r["psnr_y"]) for r in v1
                                                           if r["psnr_y"] <= anchor[-1][1] + 3]),
        "bd_rate_y_vs_gpcc_raht_pct_geometry_ranges": bd_rate(anchor, [(r["bpp"], r["psnr_y"]) for r in per_level
                                                                       if r["psnr_y"] <= anchor[-1][1] + 3]),
        "gpcc_raht": anchor,
        "lossless_bpp": len(payload) * 8 / n, "lossless_enc_cpu_s": tl_cpu, "lossless_dec_cpu_s": tld_cpu,
        "zstd3_raw_colour_cpu_s": z_cpu,
        "enc_cpu_best_of_3_s": min(enc_t), "dec_cpu_best_of_3_s": min(dec_t),
    }


def laz_bytes(las):
    import laspy
    buf = io.BytesIO()
    las.write(buf, do_compress=True, laz_backend=laspy.LazBackend.Lazrs)
    return len(buf.getvalue())


def bench_las(name):
    import laspy
    las = laspy.read(str(data_dir() / "lidar" / f"{name}.las"))
    xyz = np.stack([las.X, las.Y, las.Z], 1).astype(np.int64)
    pts = (xyz - xyz.min(0)).astype(np.uint32)
    n = len(pts)
    fields, total = [], 0
    for dim in las.point_format.dimension_names:
        if dim in ("X", "Y", "Z"):
            continue
        v = np.ascontiguousarray(np.asarray(las[dim]))
        (cid, payload), te, _ = timed(A.encode_attribute, pts, v)
        out = A.decode_attribute(pts, cid, payload, v.dtype, 1)
        assert out.tobytes() == v.tobytes(), dim
        fields.append({"name": dim, "dtype": v.dtype.str, "bytes": len(payload), "bits_per_point": len(payload) * 8 / n})
        total += len(payload)
    # Colour as one 3-component attribute (inter-component prediction).
    rgb = np.stack([np.asarray(las.red), np.asarray(las.green), np.asarray(las.blue)], 1)
    cid, payload = A.encode_attribute(pts, rgb)
    assert np.array_equal(A.decode_attribute(pts, cid, payload, rgb.dtype, 3), rgb)
    sep_rgb = sum(f["bytes"] for f in fields if f["name"] in ("red", "green", "blue"))
    total_grouped = total - sep_rgb + len(payload)
    laz = laz_bytes(las)
    res = {"file": f"lidar/{name}.las", "points": n, "fields": fields, "attribute_bytes": total,
           "attribute_bytes_rgb_grouped": total_grouped, "rgb_grouped_bytes": len(payload),
           "laz_bytes_measured": laz, "laz_bytes_reference": LAZ_ANCHOR[name],
           "target_total_bytes": int(0.85 * laz),
           "attribute_bytes_over_target": total_grouped / (0.85 * laz)}
    res.update(pack_las(data_dir() / "lidar" / f"{name}.las"))
    res["pcs_over_laz"] = res["pcs_bytes"] / laz
    return res


def pack_las(path):
    """Whole file through the API (what `pcstream pack` does): classic geometry + one
    lossless ATTR chunk per LAS dimension; round trip checked record by record."""
    import pcstream
    from pcstream.container import PcsReader
    from pcstream.io import read_points

    d = read_points(path)
    out = {}
    for keep_order in (False, True):
        attrs = dict(d.attributes)
        if keep_order:
            attrs["_pcstream_input_order"] = np.arange(len(d), dtype=np.uint32)
        (blob), te, _ = timed(pcstream.encode, d.xyz, attrs, precision=d.precision, origin=d.origin,
                               attribute_codec="auto", source=d.source)
        if keep_order:
            out["keep_order_extra_bytes"] = len(blob) - out["pcs_bytes"]
            continue
        r = PcsReader.open(blob)
        kinds = {}
        for e in r.chunks():
            t = e.type.decode() if isinstance(e.type, bytes) else str(e.type)
            kinds[t] = kinds.get(t, 0) + len(e.payload)
        cloud, td, _ = timed(pcstream.decode, blob)
        # Same multiset of records: sort both by every column.
        def table(xyz, a):
            cols = [np.round((xyz - d.origin) / d.precision).astype(np.int64)]
            cols += [np.asarray(a[k]).reshape(len(xyz), -1).view(np.uint8) for k in sorted(a)]
            return np.unique(np.concatenate([c.astype(np.int64) for c in cols], 1), axis=0, return_counts=True)
        t0, t1 = table(d.xyz, d.attributes), table(cloud.xyz, cloud.attributes)
        assert all(np.array_equal(x, y) for x, y in zip(t0, t1)), "LAS round trip differs"
        out.update({"pcs_bytes": len(blob), "geom_payload_bytes": kinds.get("GEOM", 0),
                    "attr_payload_bytes": kinds.get("ATTR", 0), "pack_cpu_s": te, "unpack_cpu_s": td})
    return out


def plot(colour, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, len(colour), figsize=(6 * len(colour), 4.5))
    for ax, c in zip(np.atleast_1d(axes), colour):
        g = np.array(c["gpcc_raht"])
        ax.plot(g[:, 0], g[:, 1], "s--", label="G-PCC v23 RAHT (Y)")
        ax.plot([r["bpp"] for r in c["rd"]], [r["psnr_y"] for r in c["rd"]], "o-",
                label=f"pcstream RAHT (Y), level ranges {c['level_his']}")
        if "rd_geometry_ranges" in c:
            ax.plot([r["bpp"] for r in c["rd_geometry_ranges"]], [r["psnr_y"] for r in c["rd_geometry_ranges"]],
                    "x-", alpha=0.6, label="pcstream RAHT (Y), one range per GEOM chunk")
        ax.plot([r["bpp"] for r in c["rd"]], [r["psnr_cb"] for r in c["rd"]], ".:", label="pcstream (Cb)")
        ax.plot([r["bpp"] for r in c["rd"]], [r["psnr_cr"] for r in c["rd"]], ".:", label="pcstream (Cr)")
        ax.set_xscale("log")
        ax.set_xlabel("colour bits per point")
        ax.set_ylabel("PSNR (dB, BT.709, peak 255)")
        ax.set_title(f"{Path(c['file']).stem}: BD-rate Y {c['bd_rate_y_vs_gpcc_raht_pct']:+.1f} %")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="fewer quality points")
    ap.add_argument("--colour-only", action="store_true",
                    help="skip the LAS part (keeps the LAS results of the last full run in the JSON)")
    args = ap.parse_args()
    qualities = [0, 16, 32, 48] if args.quick else QUALITIES
    RESULTS.mkdir(parents=True, exist_ok=True)
    colour = [bench_colour(nm, qualities) for nm in GPCC_RAHT]
    if args.colour_only:
        old = RESULTS / "attributes.json"
        las = json.loads(old.read_text()).get("las", []) if old.exists() else []
    else:
        las = [bench_las(nm) for nm in LAZ_ANCHOR]
    res = {"machine": platform.platform(), "python": platform.python_version(), "colour": colour, "las": las}
    (RESULTS / "attributes.json").write_text(json.dumps(res, indent=1))
    plot(colour, RESULTS / "attributes_rd.png")

    print("Lossy colour (RAHT, codec 4), geometry lossless; PSNR per point, BT.709, peak 255")
    print(f"{'file':24} {'q':>3} {'bpp':>8} {'Y dB':>6} {'Cb dB':>6} {'Cr dB':>6} {'enc cpu s':>9} {'dec cpu s':>9}")
    for c in colour:
        for r in c["rd"]:
            print(f"{Path(c['file']).stem:24} {r['quality']:>3} {r['bpp']:8.4f} {r['psnr_y']:6.2f} {r['psnr_cb']:6.2f} "
                  f"{r['psnr_cr']:6.2f} {r['enc_cpu_s']:9.3f} {r['dec_cpu_s']:9.3f}")
        print(f"  BD-rate Y vs G-PCC v23 RAHT: {c['bd_rate_y_vs_gpcc_raht_pct']:+.1f} %; lossless colour "
              f"{c['lossless_bpp']:.3f} bpp; zstd-3 of raw colour (speed anchor) {c['zstd3_raw_colour_cpu_s']:.3f} s cpu")
        cost = c["level_range_cost_bd_pct"]
        print(f"  level ranges {c['level_his']}: BD-rate vs one payload (v1) Y {cost['default_vs_v1']['psnr_y']:+.2f} %, "
              f"Cb {cost['default_vs_v1']['psnr_cb']:+.2f} %, Cr {cost['default_vs_v1']['psnr_cr']:+.2f} %; one range per "
              f"GEOM chunk: Y {cost['geometry_ranges_vs_v1']['psnr_y']:+.2f} % (BD-rate Y vs G-PCC "
              f"{c['bd_rate_y_vs_gpcc_raht_pct_geometry_ranges']:+.1f} %); v1 vs G-PCC {c['bd_rate_y_vs_gpcc_raht_pct_v1']:+.1f} %")
        print(f"  {c['points']} points, quality 24, best of 3: encode {c['enc_cpu_best_of_3_s']:.3f} s cpu, "
              f"decode {c['dec_cpu_best_of_3_s']:.3f} s cpu (target <= 0.5 s each)")
    if args.colour_only:
        return
    print("\nLossless LAS fields (codec 3); per field at codec level, then the whole file")
    for l in las:
        print(f"  {l['file']}: {l['points']} points, LAZ (lazrs) {l['laz_bytes_measured']} B, target total "
              f"<= {l['target_total_bytes']} B")
        for f in l["fields"]:
            print(f"    {f['name']:20} {f['dtype']:4} {f['bytes']:8d} B {f['bits_per_point']:6.2f} bits/pt")
        print(f"    attributes total {l['attribute_bytes']} B (rgb as one attribute: {l['attribute_bytes_rgb_grouped']} B) "
              f"= {l['attribute_bytes_over_target']:.2f} x the 0.85 x LAZ budget")
        print(f"    whole .pcs (classic geometry + ATTR chunks): {l['pcs_bytes']} B = {l['pcs_over_laz']:.2f} x LAZ "
              f"(GEOM payloads {l['geom_payload_bytes']} B, ATTR payloads {l['attr_payload_bytes']} B); "
              f"--keep-order adds {l['keep_order_extra_bytes']} B")


if __name__ == "__main__":
    main()
