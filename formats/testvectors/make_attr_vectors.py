#!/usr/bin/env python3
"""Record frozen golden payloads of the attribute codecs (ATTR codec 3 and codec 4).

    PYTHONPATH=python python formats/testvectors/make_attr_vectors.py --record NAME...

Each vector is a small deterministic synthetic cloud: ``attr-<name>.npz`` holds the
points (uint32 (N, 3), the order the decoder receives them in) and the expected decoded
values, ``attr-<name>*.bin`` the payload(s) exactly as an ATTR chunk stores them, and
``attributes-manifest.json`` says how to decode them. Like the geometry vectors they are
recorded once and then frozen: tests/test_attributes.py decodes them forever, so a codec
change that alters them needs a new codec_version (and new vectors, added under new names).
Without --record the script lists the vectors and checks them against this build.
"""
from __future__ import annotations

import argparse
import hashlib
import io
import json
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
MANIFEST = "attributes-manifest.json"


def _sha(b: bytes) -> str:
    return hashlib.sha256(b).hexdigest()


def _clouds():
    """name -> (points, values, codec mode, options, description); deterministic."""
    rng = np.random.default_rng(61121)
    # A noisy sphere shell of depth 7 with 30 duplicated points, coloured by position.
    d = rng.normal(size=(1500, 3))
    d /= np.linalg.norm(d, axis=1, keepdims=True)
    shell = np.floor((d * 0.45 + 0.5) * 127).astype(np.uint32)
    shell = np.concatenate([shell, shell[:30]])
    shell = shell[np.lexsort(shell.T[::-1])]  # any order shared by encoder and decoder
    rgb = np.clip(shell * 2 + rng.integers(0, 12, shell.shape), 0, 255).astype(np.uint8)
    grey16 = (shell[:, 0].astype(np.uint32) * 400 + shell[:, 2] * 7).astype(np.uint16)
    gps = np.cumsum(rng.random(len(shell))) * 1e-3 + 4.0e5
    sint = (shell[:, 1].astype(np.int32) - 64).astype(np.int16)
    return {
        "c3-rgb": (shell, rgb, "lossless", {}, "codec 3, rgb uint8 x3 on a 1530-point sphere shell (depth 7)"),
        "c3-gps": (shell, gps, "lossless", {}, "codec 3, float64 GPS-like times (residual mode)"),
        "c3-int16": (shell, sint, "lossless", {}, "codec 3, int16 scalar"),
        "c4v1-rgb": (shell, rgb, "lossy", {"quality": 40}, "codec 4 version 1 (one payload), rgb at quality 40"),
        "c4v1-grey16": (shell, grey16, "lossy", {"quality": 30},
                        "codec 4 version 1 (one payload), uint16 scalar at quality 30"),
        "c4v2-rgb": (shell, rgb, "levels", {"quality": 40, "level_his": [3, 5, 7]},
                     "codec 4 version 2: rgb at quality 40 in the level ranges 0-3, 4-5, 6-7"),
        "c4v2-grey16": (shell, grey16, "levels", {"quality": 30, "level_his": [4, 7]},
                        "codec 4 version 2: uint16 scalar at quality 30 in the level ranges 0-4, 5-7"),
    }


PCS_NAME = "attr-v2-levels.pcs"


def _coarse(points, shift):
    """Distinct voxels `shift` levels up, in the order of first appearance."""
    c = np.asarray(points, dtype=np.uint32) >> shift
    _, first = np.unique(c, axis=0, return_index=True)
    return c[np.sort(first)]


def record_levels(name) -> dict:
    """Version-2 chunk payloads; expected values after each chunk, for the full-resolution
    points (``expected_k``) and for the voxels at the chunk's level_hi (``coarse_points_k``,
    ``coarse_expected_k``), the latter decoded with the coarse geometry only."""
    from pcstream.attributes import RahtLevelDecoder, encode_attribute_levels

    pts, vals, _, opts, desc = _clouds()[name]
    opts = dict(opts)
    his = opts.pop("level_his")
    depth = 7
    chunks = encode_attribute_levels(pts, vals, depth, his, **opts)
    comps = 1 if vals.ndim == 1 else int(vals.shape[1])
    arrays = {"points": pts}
    full = RahtLevelDecoder(vals.dtype, comps)
    full.set_points(pts, depth)
    files, payloads = {}, []
    for k, (lo, hi, payload) in enumerate(chunks):
        full.feed(payload)
        arrays[f"expected_{k}"] = full.values()
        cp = _coarse(pts, depth - hi) if hi < depth else pts
        part = RahtLevelDecoder(vals.dtype, comps)
        for lo2, hi2, p2 in chunks[:k + 1]:
            part.set_points(cp, hi)
            part.feed(p2)
        arrays[f"coarse_points_{k}"] = cp
        arrays[f"coarse_expected_{k}"] = part.values()
        fname = f"attr-{name}-{k}.bin"
        files[fname] = payload
        payloads.append({"file": fname, "level_lo": lo, "level_hi": hi, "sha256": _sha(payload)})
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    files[f"attr-{name}.npz"] = buf.getvalue()
    entry = {"name": name, "description": desc, "codec_id": 4, "codec_version": 2, "depth": depth,
             "dtype": np.dtype(vals.dtype).newbyteorder("<").str, "components": comps, "payloads": payloads,
             "npz": f"attr-{name}.npz",
             "expected_sha256": _sha(np.ascontiguousarray(arrays[f"expected_{len(chunks) - 1}"]).tobytes())}
    return files, entry


def record_pcs() -> tuple:
    """A whole .pcs file with interleaved GEOM and level-range ATTR chunks (rgb by RAHT in
    every GEOM level range, plus a codec-3 scalar), the attributes decode(level=L) gives,
    and broken variants (valid container, damaged ATTR payload) with their error codes."""
    import pcstream
    from pcstream import container

    pts, rgb, *_ = _clouds()["c4v2-rgb"]
    label = (pts[:, 2] % 5).astype(np.uint8)
    data = pcstream.encode(pts.astype(np.int64), {"rgb": rgb, "label": label}, attribute_codec={"rgb": "raht"},
                           attribute_options={"rgb": {"quality": 40, "levels": "geometry"}})
    r = pcstream.open(data)
    steps = []
    for e in r.chunks:
        if e.type == b"GEOM":
            c = r.decode(level=int(e.level_hi))
            steps.append({"level": c.level, "points": len(c),
                          "attribute_levels": dict(c.attribute_levels),
                          "rgb_sha256": _sha(np.ascontiguousarray(c.attributes["rgb"]).tobytes())
                          if "rgb" in c.attributes else None})
    full = pcstream.decode(data)
    entry = {"file": PCS_NAME, "sha256": _sha(data), "steps": steps,
             "label_sha256": _sha(np.ascontiguousarray(full.attributes["label"]).tobytes()),
             "what": "pcstream.open(file).decode(level=L) for each GEOM level_hi L gives these points, "
                     "attribute_levels and rgb bytes (uint8, decoded order)"}
    md, chunks = container.read_pcs(data)
    attr = [i for i, c in enumerate(chunks) if c.type == b"ATTR" and c.stream_id == 0]

    def mutate(index, fn):
        ch = [container.Chunk(**{k: getattr(c, k) for k in ("type", "codec_id", "codec_version", "payload",
                                                             "critical", "level_lo", "level_hi", "point_count",
                                                             "decoded_size", "bounds", "stream_id")})
              for c in chunks]
        ch[index].payload = fn(bytearray(ch[index].payload))
        return container.write_pcs(md, ch)

    def setb(off, v):
        def f(b):
            b[off] = v
            return bytes(b)
        return f

    broken = [
        ("attr-broken-version.pcs", "first RAHT chunk: payload version 9", mutate(attr[0], setb(0, 9)), 21),
        ("attr-broken-flags.pcs", "first RAHT chunk: reserved chunk flag bit 7", mutate(attr[0], setb(3, 0x81)), 6),
        ("attr-broken-order.pcs", "second RAHT chunk claims level_lo 0", mutate(attr[1], setb(1, 0)), 20),
        ("attr-broken-count.pcs", "first RAHT chunk: voxel count off by one",
         mutate(attr[0], lambda b: bytes(b[:4]) + bytes([b[4] ^ 1]) + bytes(b[5:])), 20),
        ("attr-broken-depth.pcs", "first RAHT chunk: depth 40",
         mutate(attr[0], lambda b: bytes(b[:4]) + bytes(b[4:]).replace(bytes([0, 3, 7]), bytes([0, 3, 40]), 1)), 20),
        ("attr-broken-truncated-body.pcs", "first RAHT chunk: last 3 bytes of the range-coded body cut",
         mutate(attr[0], lambda b: bytes(b[:-3])), 20),
        ("attr-broken-truncated-header.pcs", "second RAHT chunk: only 3 bytes", mutate(attr[1], lambda b: bytes(b[:3])),
         1),
        ("attr-broken-lossless.pcs", "codec-3 chunk: payload version 7",
         mutate([i for i, c in enumerate(chunks) if c.type == b"ATTR" and c.stream_id == 1][0], setb(0, 7)), 21),
    ]
    files = {PCS_NAME: data}
    bentries = []
    for fname, desc, blob, code in broken:
        files[fname] = blob
        bentries.append({"file": fname, "description": desc, "decode_code": code})
    return files, entry, bentries


def record(names) -> dict:
    from pcstream.attributes import decode_attribute, encode_attribute

    files = {}
    man_path = HERE / MANIFEST
    man = json.loads(man_path.read_text()) if man_path.exists() else {"vectors": []}
    man["what"] = ("decode each payload with pcstream.attributes.decode_attribute(points, codec_id, payload, "
                   "dtype, components) (codec_version 1) or, for chunked codec 4 version 2, feed the chunks in "
                   "order to pcstream.attributes.RahtLevelDecoder; the result must equal 'expected' of the npz")
    vectors = {v["name"]: v for v in man["vectors"]}
    clouds = _clouds()
    for name in names:
        if name == "pcs":
            f, man["pcs"], man["broken"] = record_pcs()
            files.update(f)
            continue
        pts, vals, mode, opts, desc = clouds[name]
        if mode == "levels":
            f, vectors[name] = record_levels(name)
            files.update(f)
            continue
        cid, payload = encode_attribute(pts, vals, mode=mode, **opts)
        out = decode_attribute(pts, cid, payload, vals.dtype, 1 if vals.ndim == 1 else vals.shape[1])
        buf = io.BytesIO()
        np.savez_compressed(buf, points=pts, expected=out)
        files[f"attr-{name}.npz"] = buf.getvalue()
        files[f"attr-{name}.bin"] = payload
        vectors[name] = {"name": name, "description": desc, "codec_id": cid, "codec_version": 1,
                         "dtype": np.dtype(vals.dtype).newbyteorder("<").str,
                         "components": 1 if vals.ndim == 1 else int(vals.shape[1]),
                         "payloads": [{"file": f"attr-{name}.bin", "sha256": _sha(payload)}],
                         "npz": f"attr-{name}.npz", "expected_sha256": _sha(np.ascontiguousarray(out).tobytes())}
    man["vectors"] = [vectors[k] for k in sorted(vectors)]
    files[MANIFEST] = (json.dumps(man, indent=1) + "\n").encode()
    return files


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--record", nargs="+", metavar="NAME", help="record these vectors (overwrites them)")
    args = ap.parse_args(argv)
    if not args.record:
        print("vectors:", ", ".join(list(_clouds()) + ["pcs"]))
        return 0
    for rel, data in sorted(record(args.record).items()):
        (HERE / rel).write_bytes(data)
        print("wrote", rel, len(data), "bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
