#!/usr/bin/env python3
"""Record the frozen test vectors of the fast octree geometry codec (GEOM codec 11).

    PYTHONPATH=python python formats/testvectors/make_fast_geometry_vectors.py --record
    PYTHONPATH=python python formats/testvectors/make_fast_geometry_vectors.py          # check only

Writes ``fastgeom-v1.0-sphere.pcs`` (golden: a container with GEOM codec 11 chunks), its
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
GOLDEN = "fastgeom-v1.0-sphere.pcs"


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


def level_fields(payload: bytes, pos: int, ntables: int) -> dict:
    """Offsets of one level record's fields (formats/geometry-fast.md §3)."""
    tables = []
    for _ in range(ntables):
        t = {"precision": pos}
        p = payload[pos]
        pos += 1
        if p:
            t["k"] = pos
            k, pos = _varint(payload, pos)
            for _ in range(k):
                pos += 1
                _, pos = _varint(payload, pos)
        tables.append(t)
    ln_at = pos
    ln, pos = _varint(payload, pos)
    return {"tables": tables, "len": ln_at, "data": pos, "end": pos + ln}


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

    variant("header-version", "geometry header version 2", "UnsupportedError", header=bytes([2]) + head[1:])
    variant("header-context-levels", "K = depth + 1", "CorruptPayloadError",
            header=head[:2] + bytes([depth + 1]) + head[3:])
    variant("header-trailing", "a byte after the point count", "CorruptPayloadError", header=head + b"\x00")
    first = chunks[0].payload
    f0 = level_fields(first, 2, 7 if K >= 1 else 1)
    p = bytearray(first)
    p[f0["tables"][0]["precision"]] = 16
    variant("table-precision", "first table of level 1 with precision 16", "CorruptPayloadError", which=0,
            payload=bytes(p))
    t0 = f0["tables"][0]
    p = bytearray(first)
    p[t0["precision"]] += 1  # same frequencies, twice the total
    variant("table-sum", "first table's precision raised by one: frequencies no longer sum to 2^p",
            "CorruptPayloadError", which=0,
            payload=bytes(p))
    p = bytearray(first)
    p[f0["data"] + 3] |= 0x80  # high byte of the initial state: at or above 2^31
    variant("rans-state", "initial rANS state at or above 2^31", "CorruptPayloadError", which=0, payload=bytes(p))
    last = chunks[-1].payload
    p = bytearray(last)
    p[-1] = 0x7F  # duplicate gap/count of the last listed leaf: beyond the point count
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
    md, chunks = read_pcs(golden)
    files = {GOLDEN: golden}
    broken = []
    for name, desc, err, m, cs in broken_variants(md, chunks):
        fn = f"fastgeom-broken-{name}.pcs"
        files[fn] = write_pcs(m, cs)
        broken.append({"file": fn, "description": desc, "error": err, "sha256": _sha(files[fn])})
    return pts, golden, md, chunks, files, broken


def manifest_for(golden: bytes, md: dict, chunks: list, broken: list) -> dict:
    from pcstream.geometry_fast import FastGeometryDecoder
    dec = FastGeometryDecoder(md["geometry_header"])
    steps = []
    for c in chunks:
        if c.type != b"GEOM":
            continue
        dec.feed(c.payload)
        p = np.ascontiguousarray(dec.points(), "<u4")
        steps.append({"level": dec.level, "points": len(p), "points_sha256": _sha(p.tobytes())})
    return {
        "what": "the golden file decodes (pcstream.decode) to points_sha256 (uint32 little-endian, C order, "
                "Morton order); feeding its GEOM chunks to pcstream.geometry_fast.FastGeometryDecoder gives "
                "steps[i] after chunk i; every broken file fails to decode with its error class",
        "golden": {"file": GOLDEN, "sha256": _sha(golden), "geometry_codec": 11, "codec_version": 1,
                   "depth": int(bytes(md["geometry_header"])[1]), "context_levels": int(bytes(md["geometry_header"])[2]),
                   "decoded_points": steps[-1]["points"], "points_sha256": steps[-1]["points_sha256"],
                   "steps": steps},
        "broken": broken,
    }


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--record", action="store_true", help="write the files and the manifest")
    a = ap.parse_args()
    pts, golden, md, chunks, files, broken = build()
    man = manifest_for(golden, md, chunks, broken)
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
