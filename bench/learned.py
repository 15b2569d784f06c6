"""Learned geometry codec on held-out frames vs the classic codec and G-PCC v23.

    PYTHONPATH=python python3 bench/learned.py [--model PATH] [--threads 2] [--compare] [--files dense/redandblack_vox10_1550.ply ...]
    PYTHONPATH=python python3 bench/learned.py --speed [--model PATH.pcsm] [--speed-threads 1 2]

--speed times only the learned codec (the runtime speed of a given model, e.g. a
freshly trained .pcsm): encode and decode CPU and wall seconds at each thread
count, and the SHA-256 of the bitstream (identical for every thread count and
across runtime changes); writes bench/results/learned_speed.json.

Without --model each file is coded with the shipped model ``learned.choose_model`` picks
by density (what ``pack --codec learned`` does). --compare adds the size of the same
model's version 1 stream (plain model CDFs), version 3 stream (refined, no context
mixing) and mixed stream without the model's context prior (version 5; the same as
the default where the model ships no prior), and of the default stream of the
universal model occ16-v1.

Bits per input point (header + all chunks), encode/decode wall seconds (and decode CPU
seconds of this process, all threads: the shared machine makes wall time noisy), ratios to G-PCC
(reference figures of ../shared/data/README.md) and to the classic codec measured in
the same run. Writes bench/results/learned.json.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _data import data_dir  # noqa: E402

from pcstream import _core, learned  # noqa: E402

GPCC_BPP = {  # G-PCC TMC13 v23 lossless (dense: native 10-bit; LiDAR: 1 mm)
    "dense/loot_vox10_1200.ply": 0.708,
    "dense/redandblack_vox10_1550.ply": 0.829,
    "lidar/semantickitti_11_000000.bin": 20.27,
    "lidar/semantickitti_14_000374.bin": 21.16,
}
HELD_OUT = ("dense/redandblack_vox10_1550.ply", "lidar/semantickitti_14_000374.bin")


def load_points(rel: str) -> tuple[np.ndarray, int]:
    p = data_dir() / rel
    if rel.endswith(".ply"):
        from plyfile import PlyData
        v = PlyData.read(str(p))["vertex"].data
        q = np.round(np.stack([v["x"], v["y"], v["z"]], 1)).astype(np.int64)
        return q, 10
    a = np.fromfile(p, np.float32).reshape(-1, 4)[:, :3].astype(np.float64)
    q = np.round((a - a.min(0)) / 0.001).astype(np.int64)  # 1 mm
    return q, int(q.max()).bit_length()


def speed(model, files, thread_counts, tag: str) -> None:
    """Encode/decode CPU and wall seconds of the learned codec per file and thread count."""
    rows = []
    for rel in files:
        pts, depth = load_points(rel)
        for t in thread_counts:
            t0, c0 = time.perf_counter(), time.process_time()
            enc = learned.encode_geometry(pts, depth, model=model, threads=t)
            t1, c1 = time.perf_counter(), time.process_time()
            payloads = [c.payload for c in enc.chunks]
            dec = learned.decode_geometry(enc.header, payloads, model=model, threads=t)
            t2, c2 = time.perf_counter(), time.process_time()
            assert np.array_equal(dec, pts[enc.order])
            sha = hashlib.sha256(enc.header + b"".join(payloads)).hexdigest()[:16]
            rows.append({"file": rel, "points": len(pts), "depth": depth, "model": model.id, "channels": model.channels,
                         "threads": t, "enc_cpu_s": c1 - c0, "enc_s": t1 - t0, "dec_cpu_s": c2 - c1, "dec_s": t2 - t1,
                         "sha256_16": sha})
            r = rows[-1]
            print(f"{rel:36} {r['channels']:3d} {t:3d} {r['enc_cpu_s']:8.2f} {r['enc_s']:7.2f} {r['dec_cpu_s']:8.2f} "
                  f"{r['dec_s']:7.2f}  {sha}", flush=True)
    out = Path(__file__).resolve().parent / "results" / f"learned_speed{tag}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({"rows": rows}, indent=1))
    print(f"wrote {out}")


def main(argv=None) -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default=None)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--files", nargs="*", default=list(HELD_OUT))
    ap.add_argument("--speed", action="store_true", help="time the learned codec only (see the module doc)")
    ap.add_argument("--speed-threads", type=int, nargs="*", default=[1, 2])
    ap.add_argument("--tag", default="", help="suffix of the --speed JSON file name")
    ap.add_argument("--compare", action="store_true",
                    help="also code each file as version 1 (plain) and 3 (refined) streams and with the universal "
                         "model (sizes only)")
    a = ap.parse_args(argv)
    if a.speed:
        model = learned.load_model(a.model)
        print(f"{'file':36} {'C':>3} {'thr':>3} {'enc cpu':>8} {'enc s':>7} {'dec cpu':>8} {'dec s':>7}  stream sha256")
        speed(model, a.files, a.speed_threads, a.tag)
        return
    rows = []
    def size(e) -> int:
        return len(e.header) + sum(len(c.payload) for c in e.chunks)

    for rel in a.files:
        pts, depth = load_points(rel)
        n = len(pts)
        # the model the codec picks by density (learned.choose_model) unless --model is given
        model = learned.load_model(a.model if a.model else learned.choose_model(pts, depth))
        t0, c0 = time.perf_counter(), time.process_time()
        enc = learned.encode_geometry(pts, depth, model=model, threads=a.threads)
        t1, c1 = time.perf_counter(), time.process_time()
        dec = learned.decode_geometry(enc.header, [c.payload for c in enc.chunks], model=model, threads=a.threads)
        t2, c2 = time.perf_counter(), time.process_time()
        assert np.array_equal(dec, pts[enc.order])
        nbytes = len(enc.header) + sum(len(c.payload) for c in enc.chunks)
        cbytes, cenc, cdec = _core._learned_bench_classic(np.ascontiguousarray(pts, np.uint32), depth)
        bpp, cbpp = 8 * nbytes / n, 8 * cbytes / n
        g = GPCC_BPP.get(rel)
        extra = {}
        if a.compare:
            extra["bpp_unrefined"] = 8 * size(learned.encode_geometry(pts, depth, model=model, threads=a.threads,
                                                                      refine=False)) / n
            extra["bpp_refined"] = 8 * size(learned.encode_geometry(pts, depth, model=model, threads=a.threads,
                                                                    mix=False)) / n
            extra["bpp_no_prior"] = 8 * size(learned.encode_geometry(pts, depth, model=model, threads=a.threads,
                                                                     prior=False)) / n
            extra["bpp_universal_model"] = 8 * size(learned.encode_geometry(
                pts, depth, model=learned.DEFAULT_MODEL_ID, threads=a.threads)) / n
        rows.append({
            **extra,
            "file": rel, "held_out": rel in HELD_OUT, "points": n, "depth": depth, "model": model.id,
            "bpp": bpp, "enc_s": t1 - t0, "dec_s": t2 - t1, "enc_cpu_s": c1 - c0, "dec_cpu_s": c2 - c1, "classic_bpp": cbpp, "classic_enc_s": cenc,
            "classic_dec_s": cdec, "gpcc_bpp": g, "ratio_gpcc": bpp / g if g else None, "ratio_classic": bpp / cbpp,
        })
    hdr = (f"{'file':36} {'model':10} {'points':>8} {'bpp':>8} {'enc s':>7} {'dec s':>7} {'dec cpu':>7} {'classic':>8} "
           f"{'cl.dec':>7} {'G-PCC':>7} {'/G-PCC':>7} {'/classic':>8}" + ("  v1 plain  v3 refined  no prior  universal" if a.compare else ""))
    print(hdr)
    for r in rows:
        g = f"{r['gpcc_bpp']:.3f}" if r["gpcc_bpp"] else "-"
        rg = f"{r['ratio_gpcc']:.3f}" if r["ratio_gpcc"] else "-"
        cmp = (f"  {r['bpp_unrefined']:8.3f}  {r['bpp_refined']:10.3f}  {r['bpp_no_prior']:8.3f}"
               f"  {r['bpp_universal_model']:9.3f}"
               if a.compare else "")
        print(f"{r['file']:36} {r['model']:10} {r['points']:8d} {r['bpp']:8.3f} {r['enc_s']:7.2f} {r['dec_s']:7.2f} "
              f"{r['dec_cpu_s']:7.2f} {r['classic_bpp']:8.3f} {r['classic_dec_s']:7.2f} {g:>7} {rg:>7} "
              f"{r['ratio_classic']:8.3f}{cmp}")
    out = Path(__file__).resolve().parent / "results" / "learned.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({"threads": a.threads, "rows": rows}, indent=1))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
