#!/usr/bin/env python3
"""Record frozen golden payloads of the attribute codecs (ATTR codec 3 and codec 4).

    PYTHONPATH=python python formats/testvectors/make_attr_vectors.py --record NAME...
    PYTHONPATH=python python formats/testvectors/make_attr_vectors.py --record scan

``scan`` records a scan-order file (GEOM codec 8, ATTR codec 9, some streams inline in
the metadata: ``scan-v1.pcs``, manifest key ``scan_pcs``) and broken variants of it
(``scan-broken-*.pcs``), appended to the manifest's ``broken`` list; every other entry
and file stays as it is.

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


SCAN_NAME = "scan-v1.pcs"


def scan_pulses(steps: int):
    """A deterministic LiDAR-like scan (integer arithmetic only): `steps` pulses of 1-3
    returns. Returns points (int64, n x 3), (return number, number of returns) (uint8,
    n x 2) and GPS times in microseconds (int list). Also the input of the frozen
    codec 8/9 payload test in tests/test_las_scan.py."""
    pts, pulse, t = [], [], []
    x, y, time = 100, 200, 1_000_000
    for k in range(steps):
        nr = 1 + (k * 7) % 3
        x += 37 + (k * 13) % 5
        y += (k * 3) % 4
        time += 9 + (k % 2)
        for r in range(1, nr + 1):
            pts.append((x % 4096 + r, y % 4096, 500 + (k * 11) % 40 - 30 * r))
            pulse.append((r, nr))
            t.append(time)
    return np.asarray(pts, np.int64), np.asarray(pulse, np.uint8), t


def _scan_cloud():
    """scan_pulses(400) with every codec-9 model among its fields (pulse references, a
    constant, symbols, residuals, times)."""
    pts, pulse, t = scan_pulses(400)
    n = len(pts)
    idx = np.arange(n)
    attrs = {"return_number": pulse[:, 0].copy(), "number_of_returns": pulse[:, 1].copy(),
             "withheld": np.zeros(n, np.uint8),
             "classification": ((idx * 5 + pts[:, 2]) % 7).astype(np.uint8),
             "intensity": ((pts[:, 2] * 3 + idx) % 900).astype(np.uint16),
             "rgb": np.stack([(pts[:, 0] * 17) % 65536, (pts[:, 1] * 5) % 65536, (idx * 3) % 65536], 1).astype(np.uint16),
             "gps_time": np.asarray(t, np.float64) * 1e-6}
    return pts, attrs


def _varint_end(b, pos: int) -> int:
    while b[pos] & 0x80:
        pos += 1
    return pos + 1


def record_scan() -> tuple:
    """The scan-order file, what it decodes to, and broken variants (valid container,
    damaged codec-8/9 header, payload or inline payload) with the error code decoding
    them gives (checked here to be a typed pcstream error)."""
    import pcstream
    from pcstream import container, errors

    pts, attrs = _scan_cloud()
    data = pcstream.encode(pts, attrs, codec="scan")
    out = pcstream.decode(data)
    assert np.array_equal(out.xyz, pts)
    md, chunks = container.read_pcs(data)
    assert md["geometry_codec"] == 8
    schema = md["attributes"]
    inline = [a["name"] for a in schema if "inline" in (a.get("params") or {})]
    entry = {"file": SCAN_NAME, "sha256": _sha(data), "points": len(out),
             "xyz_sha256": _sha(np.ascontiguousarray(out.xyz, np.float64).tobytes()),
             "attributes": {k: _sha(np.ascontiguousarray(v).tobytes()) for k, v in out.attributes.items()},
             "inline": inline,
             "what": "pcstream.decode(file) gives these points (float64 xyz, input order) and attribute bytes; "
                     "the 'inline' streams have no ATTR chunk (codec-9 payload in the metadata)"}
    fields = ("type", "codec_id", "codec_version", "payload", "critical", "level_lo", "level_hi", "point_count",
              "decoded_size", "bounds", "stream_id")

    def copy():
        return [container.Chunk(**{k: getattr(c, k) for k in fields}) for c in chunks]

    def chunk_of(kind, pick):
        return [i for i, c in enumerate(chunks) if c.type == kind and pick(c)][0]

    def mutate(index, fn):
        ch = copy()
        ch[index].payload = bytes(fn(bytearray(ch[index].payload)))
        return container.write_pcs(md, ch)

    def header(fn):
        return container.write_pcs(dict(md, geometry_header=bytes(fn(bytearray(md["geometry_header"])))), copy())

    def inline_payload(name, fn):
        sch = [dict(a, params=dict(a.get("params") or {})) for a in schema]
        a = [x for x in sch if x["name"] == name][0]
        a["params"]["inline"] = bytes(fn(bytearray(a["params"]["inline"])))
        return container.write_pcs(dict(md, attributes=sch), copy())

    def setb(off, v):
        def f(b):
            b[off] = v
            return b
        return f

    def model_of(c):
        return c.payload[1]

    geom = chunk_of(b"GEOM", lambda c: True)
    residual = chunk_of(b"ATTR", lambda c: model_of(c) == 3)
    timed = chunk_of(b"ATTR", lambda c: model_of(c) == 4)

    def residual_flags(b):
        pos = _varint_end(b, _varint_end(b, 3))   # version, model, comps, varint n, varint cell
        b[pos + 1] = 0x84                          # predictor, then flags: reserved bits
        return b

    def count_plus_one(b):                         # the low 7 bits of the varint n (at byte 3)
        assert b[3] & 0x7F != 0x7F
        b[3] += 1
        return b

    pulse_name = "return_number"                   # a pulse reference, carried inline
    assert pulse_name in inline
    broken = [
        ("scan-broken-header-version.pcs", "codec-8 geometry header (metadata): version 2", header(setb(0, 2))),
        ("scan-broken-header-flags.pcs", "codec-8 geometry header: reserved flag bit 1", header(setb(2, 0x03))),
        ("scan-broken-header-count.pcs", "codec-8 geometry header: 2^40 points",
         header(lambda b: b[:3] + bytearray(b"\x80\x80\x80\x80\x80\x20"))),
        ("scan-broken-header-trailing.pcs", "codec-8 geometry header: a byte after the point count",
         header(lambda b: b + bytearray(b"\x00"))),
        ("scan-broken-geom-zmode.pcs", "GEOM codec 8: z mode 5", mutate(geom, setb(0, 5))),
        ("scan-broken-geom-cell.pcs", "GEOM codec 8: neighbour cell 0", mutate(geom, setb(1, 0))),
        ("scan-broken-geom-truncated.pcs", "GEOM codec 8: last 3 bytes of the body cut",
         mutate(geom, lambda b: b[:-3])),
        ("scan-broken-geom-empty.pcs", "GEOM codec 8: empty payload", mutate(geom, lambda b: b[:0])),
        ("scan-broken-attr-version.pcs", "ATTR codec 9: payload version 7", mutate(residual, setb(0, 7))),
        ("scan-broken-attr-model.pcs", "ATTR codec 9: model 9", mutate(residual, setb(1, 9))),
        ("scan-broken-attr-components.pcs", "ATTR codec 9: payload claims 2 components",
         mutate(residual, setb(2, 2 if chunks[residual].payload[2] != 2 else 1))),
        ("scan-broken-attr-count.pcs", "ATTR codec 9: point count off by one", mutate(residual, count_plus_one)),
        ("scan-broken-attr-flags.pcs", "ATTR codec 9 residual model: reserved flag bits", mutate(residual, residual_flags)),
        ("scan-broken-attr-truncated.pcs", "ATTR codec 9 time model: last 3 bytes of the body cut",
         mutate(timed, lambda b: b[:-3])),
        ("scan-broken-inline-version.pcs", f"inline codec-9 payload of {pulse_name} (metadata): version 2",
         inline_payload(pulse_name, setb(0, 2))),
        ("scan-broken-inline-pulse.pcs", f"inline codec-9 pulse reference of {pulse_name}: field 2",
         inline_payload(pulse_name, lambda b: b[:-1] + bytearray(b"\x02"))),
    ]
    files = {SCAN_NAME: data}
    bentries = []
    for fname, desc, blob in broken:
        try:
            pcstream.decode(blob)
        except errors.PcsError as exc:
            code = exc.code
        else:
            raise AssertionError(f"{fname}: decodes without error")
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
        if name == "scan":
            f, man["scan_pcs"], scan_broken = record_scan()
            files.update(f)
            keep = [b for b in man.get("broken", []) if not b["file"].startswith("scan-broken-")]
            man["broken"] = keep + scan_broken
            continue
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
        print("vectors:", ", ".join(list(_clouds()) + ["pcs", "scan"]))
        return 0
    for rel, data in sorted(record(args.record).items()):
        (HERE / rel).write_bytes(data)
        print("wrote", rel, len(data), "bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
