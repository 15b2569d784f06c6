#!/usr/bin/env python3
"""Record the frozen test vectors of the fast octree geometry codec (GEOM codec 11).

    PYTHONPATH=python python formats/testvectors/make_fast_geometry_vectors.py --record
    PYTHONPATH=python python formats/testvectors/make_fast_geometry_vectors.py          # check only

Writes ``fastgeom-v1.0-sphere.pcs`` and ``fastgeom-v1.0-sphere-static.pcs`` (golden: containers
with GEOM codec 11 chunks, every level mode between them), their
manifest ``fast-geometry-manifest.json`` (file hash, decoded points hash, the level and
points after each chunk) and ``fastgeom-broken-*.pcs``: valid containers (CRCs correct)
whose codec-11 header or payload is damaged, each with the typed error a reader raises.
Recorded once and then frozen (tests/test_geometry_fast.py decodes them forever); a codec
change that alters them needs a new codec version and vectors under new names.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
MANIFEST = "fast-geometry-manifest.json"
GOLDEN = "fastgeom-v1.0-sphere.pcs"            # neighbour levels in the adaptive mode (2), deeper ones static (0)
GOLDEN_STATIC = "fastgeom-v1.0-sphere-static.pcs"  # adaptive=False: neighbour levels with 7 tables (mode 1)


def _sha(b: bytes) -> str:
    return hashlib.sha256(b).hexdigest()


def sphere_points() -> np.ndarray:
    """3000 points on a sphere of radius 400 (depth 10) plus 60 exact duplicates; deterministic."""
    rng = np.random.default_rng(20261121)
    v = rng.normal(size=(3000, 3))
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    p = np.floor(v * 400 + 512).astype(np.uint32)
    return np.concatenate([p, p[:60]])


def _varint(b: bytes, pos: int):
    v, s = 0, 0
    while True:
        c = b[pos]
        pos += 1
        v |= (c & 0x7F) << s
        s += 7
        if c < 128:
            return v, pos


def level_records(payload: bytes, K: int) -> list:
    """Offsets of each level record's fields in a chunk payload (formats/geometry-fast.md §3)."""
    lo, hi = payload[0], payload[1]
    pos, out = 2, []
    for level in range(max(lo, 1), hi + 1):
        rec = {"level": level, "mode_at": pos, "mode": payload[pos], "tables": []}
        pos += 1
        if rec["mode"] != 2:
            for _ in range(7 if rec["mode"] == 1 else 1):
                t = {"precision": pos, "p": payload[pos]}
                pos += 1
                if t["p"]:
                    t["k"] = pos
                    k, pos = _varint(payload, pos)
                    for _ in range(k):
                        pos += 1
                        _, pos = _varint(payload, pos)
                rec["tables"].append(t)
        rec["len"] = pos
        ln, pos = _varint(payload, pos)
        rec["data"], rec["end"] = pos, pos + ln
        pos += ln
        out.append(rec)
    return out


def broken_variants(md: dict, chunks: list) -> list:
    """[(name, description, error class name, metadata, chunks)]."""
    import copy
    head = bytes(md["geometry_header"])
    depth, K = head[1], head[2]
    out = []

    def variant(name, desc, err, header=None, which=None, payload=None, drop_last=False):
        m = copy.deepcopy(md)
        if header is not None:
            m["geometry_header"] = header
        cs = [copy.copy(c) for c in chunks]
        if which is not None:
            cs[which].payload = payload
        if drop_last:
            cs = cs[:-1]
        out.append((name, desc, err, m, cs))

    def first(pred):
        for ci, c in enumerate(chunks):
            for r in level_records(c.payload, K):
                if pred(r):
                    return ci, r
        raise AssertionError("no such level record")

    variant("header-version", "geometry header version 2", "UnsupportedError", header=bytes([2]) + head[1:])
    variant("header-context-levels", "K = depth + 1", "CorruptPayloadError",
            header=head[:2] + bytes([depth + 1]) + head[3:])
    variant("header-trailing", "a byte after the point count", "CorruptPayloadError", header=head + b"\x00")
    p = bytearray(chunks[0].payload)
    p[level_records(chunks[0].payload, K)[0]["mode_at"]] = 3
    variant("level-mode", "level 1 with mode 3", "CorruptPayloadError", which=0, payload=bytes(p))
    ci, r = first(lambda r: r["mode"] == 0 and r["level"] > K)
    p = bytearray(chunks[ci].payload)
    p[r["mode_at"]] = 1
    variant("mode-beyond-k", f"level {r['level']} > K with the neighbour-table mode", "CorruptPayloadError",
            which=ci, payload=bytes(p))
    ci, r = first(lambda r: r["mode"] != 2 and r["tables"][0]["p"])
    p = bytearray(chunks[ci].payload)
    p[r["tables"][0]["precision"]] = 16
    variant("table-precision", f"first table of level {r['level']} with precision 16", "CorruptPayloadError",
            which=ci, payload=bytes(p))
    p = bytearray(chunks[ci].payload)
    p[r["tables"][0]["precision"]] += 1  # same frequencies, twice the total
    variant("table-sum", f"first table of level {r['level']}: precision raised by one, frequencies no longer "
            "sum to 2^p", "CorruptPayloadError", which=ci, payload=bytes(p))
    p = bytearray(chunks[ci].payload)
    p[r["data"] + 3] |= 0x80  # high byte of the initial state: at or above 2^31
    variant("rans-state", f"level {r['level']}: initial rANS state at or above 2^31", "CorruptPayloadError",
            which=ci, payload=bytes(p))
    ci, r = first(lambda r: r["mode"] == 2 and 2 < r["end"] - r["data"] < 127)
    p = bytearray(chunks[ci].payload)
    del p[r["end"] - 1]
    p[r["len"]] -= 1
    variant("adaptive-short", f"level {r['level']} (adaptive): last data byte removed", "TruncatedError",
            which=ci, payload=bytes(p))
    last = chunks[-1].payload
    p = bytearray(last)
    p[-1] = 0x7F  # duplicate count of the last listed leaf: beyond the point count
    variant("duplicate-count", "last duplicate count too large", "CorruptPayloadError", which=len(chunks) - 1,
            payload=bytes(p))
    variant("truncated-chunk", "last chunk cut in half", "TruncatedError", which=len(chunks) - 1,
            payload=last[:len(last) // 2])
    variant("trailing-bytes", "a byte after the duplicate record", "CorruptPayloadError", which=len(chunks) - 1,
            payload=last + b"\x00")
    p = bytearray(chunks[1].payload)
    p[0] += 1
    variant("level-order", "second chunk starts one level late", "CorruptPayloadError", which=1, payload=bytes(p))
    variant("missing-chunk", "last chunk missing", "TruncatedError", drop_last=True)
    return out


def build() -> tuple:
    import pcstream
    from pcstream.container import read_pcs, write_pcs
    pts = sphere_points()
    # Neighbour contexts on levels 1..6 (the encoder alone would choose fewer on this sparse shape).
    golden = pcstream.encode(pts.astype(np.float64), codec="fast", geometry_options={"context_levels": 6})
    static = pcstream.encode(pts.astype(np.float64), codec="fast",
                             geometry_options={"context_levels": 6, "adaptive": False})
    md, chunks = read_pcs(golden)
    files = {GOLDEN: golden, GOLDEN_STATIC: static}
    broken = []
    for name, desc, err, m, cs in broken_variants(md, chunks):
        fn = f"fastgeom-broken-{name}.pcs"
        files[fn] = write_pcs(m, cs)
        broken.append({"file": fn, "description": desc, "error": err, "sha256": _sha(files[fn])})
    return pts, golden, md, chunks, files, broken


def golden_entry(name: str, data: bytes) -> dict:
    from pcstream.container import read_pcs
    from pcstream.geometry_fast import FastGeometryDecoder
    md, chunks = read_pcs(data)
    head = bytes(md["geometry_header"])
    modes = [r["mode"] for c in chunks for r in level_records(c.payload, head[2])]
    dec = FastGeometryDecoder(head)
    steps = []
    for c in chunks:
        if c.type != b"GEOM":
            continue
        dec.feed(c.payload)
        p = np.ascontiguousarray(dec.points(), "<u4")
        steps.append({"level": dec.level, "points": len(p), "points_sha256": _sha(p.tobytes())})
    return {"file": name, "sha256": _sha(data), "geometry_codec": 11, "codec_version": 1, "depth": head[1],
            "context_levels": head[2], "level_modes": modes, "decoded_points": steps[-1]["points"],
            "points_sha256": steps[-1]["points_sha256"], "steps": steps}


def manifest_for(files: dict, broken: list) -> dict:
    return {
        "what": "each golden file decodes (pcstream.decode) to points_sha256 (uint32 little-endian, C order, "
                "Morton order); feeding its GEOM chunks to pcstream.geometry_fast.FastGeometryDecoder gives "
                "steps[i] after chunk i; level_modes are the modes of its level records; every broken file "
                "fails to decode with its error class",
        "goldens": [golden_entry(n, files[n]) for n in (GOLDEN, GOLDEN_STATIC)],
        "broken": broken,
    }


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--record", action="store_true", help="write the files and the manifest")
    a = ap.parse_args()
    pts, golden, md, chunks, files, broken = build()
    man = manifest_for(files, broken)
    if a.record:
        for fn, data in files.items():
            (HERE / fn).write_bytes(data)
        (HERE / MANIFEST).write_text(json.dumps(man, indent=1) + "\n")
        print(f"wrote {len(files)} files and {MANIFEST}")
        return 0
    old = json.loads((HERE / MANIFEST).read_text())
    same = old == man
    print("vectors match this build" if same else "vectors DIFFER from this build")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
